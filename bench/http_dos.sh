#!/usr/bin/env bash
# Tokenless denial of service: a real jostle-collector on loopback, SLOW slow-header
# connections from 127.0.0.1 (reconnecting whenever one is closed) while CLIENTS other
# clients (127.0.0.2 ...) probe /healthz and /readyz (bench/http_dos/slow_clients.py, the
# attacker and the clients in two processes). Prints the clients' success rate and latency
# percentiles, then the attacker's connection counts.
#
# Usage: bench/http_dos.sh [BUILD_DIR] [-- EXTRA SERVE FLAGS]   (default: build)
# Env:   SLOW=2000 CLIENTS=8 RUN_SECONDS=30 PERIOD=0.1
#        COLLECTOR=path: another jostle-collector binary (the peer, e.g. an older build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
[[ $# -gt 0 ]] && shift
[[ ${1:-} == -- ]] && shift
bin=${COLLECTOR:-$build/bin/jostle-collector}
[[ -x $bin ]] || { echo "no $bin: build the jostle-collector target first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/jostle-dos-bench.XXXXXX")
pid=
attacker=
cleanup() {
  if [[ -n $attacker ]] && kill -0 "$attacker" 2>/dev/null; then kill "$attacker" || true; fi
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

ulimit -n 20000
token=bench-read-token-$$
echo "read $token" > "$work/tokens"
chmod 600 "$work/tokens"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$work/bench.db" --listen "127.0.0.1:$port" --token-file "$work/tokens" \
  --log-level error "$@" 2>"$work/collector.log" &
pid=$!
for _ in $(seq 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/collector.log" >&2; exit 1; }

seconds=${RUN_SECONDS:-30}
warmup=5  # the attack is in place before the clients start
python3 "$here/http_dos/slow_clients.py" --role attacker --port "$port" --slow "${SLOW:-2000}" \
  --seconds $((seconds + warmup)) > "$work/attacker.json" &
attacker=$!
sleep "$warmup"
python3 "$here/http_dos/slow_clients.py" --role clients --port "$port" --token "$token" \
  --clients "${CLIENTS:-8}" --seconds "$seconds" --period "${PERIOD:-0.1}"
wait "$attacker"
attacker=
cat "$work/attacker.json"
kill -TERM "$pid"
wait "$pid" || { echo "collector exited with $?" >&2; tail -20 "$work/collector.log" >&2; exit 1; }
pid=
