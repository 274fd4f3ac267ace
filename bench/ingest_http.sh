#!/usr/bin/env bash
# HTTP sample ingest benchmark: a real jostle-collector on loopback, 50 concurrent agents
# POSTing gzip-compressed batches (bench/ingest_http/load.py), SQLite file on local disk.
# Reports sample rows/s (wall) and the collector's CPU time (utime+stime from /proc).
#
# Usage: bench/ingest_http.sh [BUILD_DIR]      (default: build)
# Env:   AGENTS=50 BATCHES=30 TICKS=10 CGROUPS=50 THREADS=4 DB_DIR=<tmp dir>
#        WIRE_VERSION=2 (identities once per batch, as jostle-agent sends; 1: in every sample)
#        COLLECTOR_CPU=0 LOAD_CPU=1: pin the collector and the load generator to those CPUs
#        (taskset), so the collector has exactly one core and the load generator another
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
bin=$build/bin/jostle-collector
[[ -x $bin ]] || { echo "no $bin: build the jostle-collector target first" >&2; exit 2; }

work=$(mktemp -d "${DB_DIR:-${TMPDIR:-/tmp}}/jostle-ingest-bench.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token=bench-agent-token-$$
echo "agent $token" > "$work/tokens"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pin_collector=() pin_load=()
[[ -n ${COLLECTOR_CPU:-} ]] && pin_collector=(taskset -c "$COLLECTOR_CPU")
[[ -n ${LOAD_CPU:-} ]] && pin_load=(taskset -c "$LOAD_CPU")
"${pin_collector[@]}" "$bin" serve --db "$work/bench.db" --listen "127.0.0.1:$port" --token-file "$work/tokens" \
  --threads "${THREADS:-4}" --log-level warn 2>"$work/collector.log" &
pid=$!
for _ in $(seq 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/collector.log" >&2; exit 1; }

"${pin_load[@]}" python3 "$here/ingest_http/load.py" --url "http://127.0.0.1:$port" --token "$token" \
  --pid "$pid" --agents "${AGENTS:-50}" --batches "${BATCHES:-30}" --ticks "${TICKS:-10}" \
  --cgroups "${CGROUPS:-50}" --wire-version "${WIRE_VERSION:-2}"
status=$?
kill -TERM "$pid"
wait "$pid" || { echo "collector exited with $?" >&2; cat "$work/collector.log" >&2; exit 1; }
pid=
exit $status
