#!/usr/bin/env bash
# Reports in bounded memory: a real jostle-collector on loopback holds one run of FAILURES
# failed tests (one JUnit upload, bench/report_memory/make_junit.py); CONCURRENT clients
# then fetch its report at once (json, html, md, json, ...; a 503 is retried after its
# Retry-After) while /healthz is probed every 20 ms. Prints the collector's peak RSS during
# the fetches, the /healthz latency percentiles and what each fetch got
# (bench/report_memory/load.py).
#
# Usage: bench/report_memory.sh [BUILD_DIR] [-- EXTRA SERVE FLAGS]   (default: build)
# Env:   FAILURES=120000 TESTS=125000 CONCURRENT=4 FORMATS=json,html,md,json
#        COLLECTOR=path: another jostle-collector binary (e.g. an older build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
[[ $# -gt 0 ]] && shift
[[ ${1:-} == -- ]] && shift
bin=${COLLECTOR:-$build/bin/jostle-collector}
[[ -x $bin ]] || { echo "no $bin: build the jostle-collector target first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/jostle-report-memory.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token=bench-token-$$
echo "ci,read $token" > "$work/tokens"
chmod 600 "$work/tokens"
python3 "$here/report_memory/make_junit.py" --tests "${TESTS:-125000}" \
  --failures "${FAILURES:-120000}" "$work/junit.xml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$work/bench.db" --listen "127.0.0.1:$port" --token-file "$work/tokens" \
  --max-body 64MiB --log-level warn "$@" 2>"${COLLECTOR_LOG:-$work/collector.log}" &
pid=$!
for _ in $(seq 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/collector.log" >&2; exit 1; }
echo "junit: $(du -h "$work/junit.xml" | cut -f1)" >&2
curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/xml' \
  --data-binary "@$work/junit.xml" "http://127.0.0.1:$port/api/v1/runs/bench-run/results?job=unit" >&2
echo >&2
python3 "$here/report_memory/load.py" --port "$port" --pid "$pid" --token "$token" \
  --run bench-run --concurrent "${CONCURRENT:-4}" --formats "${FORMATS:-json,html,md,json}"
kill -TERM "$pid"
wait "$pid" || { echo "collector exited with $?" >&2; tail -20 "$work/collector.log" >&2; exit 1; }
pid=
