#!/usr/bin/env bash
# Whole-process cost of jostle-agent next to Debian's prometheus-node-exporter, in the same
# run: a fake node with 100 pods x 5 containers (cgroup v2, systemd driver) on tmpfs whose
# counters move once a second, the agent sampling it at 1 Hz with /metrics scraped once a
# second, node_exporter (default collectors, this machine's /proc and /sys) scraped once a
# second. When BUILD_DIR has bench_read_floor, it runs too: it only preads the files the
# agent reads every tick, once a second (what the reads alone cost). Reports CPU seconds
# (utime+stime) over the window, peak RSS (VmHWM) and ratios as a Markdown table. Builds
# nothing.
#
# Usage: bench/agent_process.sh [BUILD_DIR]          (default: build-release)
# Env:   DURATION=60 PODS=100 CONTAINERS=5 OUT=<file for the Markdown table>
#        NODE_EXPORTER=/usr/bin/prometheus-node-exporter
#        AGENT_ARGS="--container-cpu-every 10"   (extra jostle-agent flags, split on spaces)
#        SINK=output      batches to --output /dev/null (default)
#        SINK=collector   batches POSTed (gzip) to collector_sink.py, a 200-answering stand-in
#        SINK=both        both at once
#        SMAPS=<file>     copy the agent's /proc/PID/smaps there at the end of the window
#
# The fake node's proc root holds the pods' processes (ns/net, net/dev) and links to this
# machine's /proc/{stat,meminfo,loadavg,pressure,sys,1/net}, so the agent reads both node
# and pod files as it would on a real node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build-release}
[[ $build = /* ]] || build=$repo/$build
agent=$build/bin/jostle-agent
exporter=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
[[ -x $agent ]] || { echo "no $agent: build the jostle-agent target first" >&2; exit 2; }
[[ -x $exporter ]] || { echo "no $exporter (Debian: prometheus-node-exporter)" >&2; exit 2; }

work=$(mktemp -d /dev/shm/jostle-agent-process.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
  if [[ -s $work/sink.log ]]; then cat "$work/sink.log" >&2; fi
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/host
python3 "$here/agent_process/fake_host.py" make "$root" --pods "${PODS:-100}" \
  --containers "${CONTAINERS:-5}"
for f in stat meminfo loadavg pressure sys; do ln -s "/proc/$f" "$root/proc/$f"; done
ln -s /proc/1/net "$root/proc/1/net"
python3 "$here/agent_process/fake_host.py" bump "$root" --period 1 &
pids+=($!)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
agent_port=$(free_port)
exporter_port=$(free_port)

sink_args=()
case ${SINK:-output} in
  output) sink_args=(--output /dev/null) ;;
  collector | both)
    python3 "$here/agent_process/collector_sink.py" "$work/sink.port" 2>"$work/sink.log" &
    pids+=($!)
    for _ in $(seq 50); do [[ -s $work/sink.port ]] && break; sleep 0.1; done
    sink_args=(--collector "http://127.0.0.1:$(cat "$work/sink.port")")
    [[ $SINK = both ]] && sink_args+=(--output /dev/null)
    ;;
  *) echo "SINK: output, collector or both" >&2; exit 2 ;;
esac
"$agent" --cgroup-root "$root/sys/fs/cgroup" --proc-root "$root/proc" --kube off \
  --interval 1s --listen "127.0.0.1:$agent_port" "${sink_args[@]}" --log-level warn \
  ${AGENT_ARGS:-} 2>"$work/agent.log" &
agent_pid=$!
pids+=($agent_pid)
floor=()
if [[ -x $build/bin/bench_read_floor ]]; then
  "$build/bin/bench_read_floor" --cgroup-root "$root/sys/fs/cgroup" --proc-root "$root/proc" \
    2>"$work/floor.log" &
  pids+=($!)
  floor=(--process "read_floor=$!")
fi
"$exporter" --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn \
  2>"$work/exporter.log" &
exporter_pid=$!
pids+=($exporter_pid)

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$agent_port/metrics" >/dev/null 2>&1 &&
    curl -fsS "http://127.0.0.1:$exporter_port/metrics" >/dev/null 2>&1 && break
  sleep 0.1
done

args=(--duration "${DURATION:-60}"
      --process "jostle-agent=$agent_pid,http://127.0.0.1:$agent_port/metrics"
      --process "node_exporter=$exporter_pid,http://127.0.0.1:$exporter_port/metrics"
      "${floor[@]}")
[[ -n ${OUT:-} ]] && args+=(--markdown "$OUT")
status=0
python3 "$here/agent_process/measure.py" "${args[@]}" || status=$?
[[ -n ${SMAPS:-} ]] && cp "/proc/$agent_pid/smaps" "$SMAPS"
echo "sink: ${SINK:-output}" >&2
if [[ -s $work/floor.log ]]; then cat "$work/floor.log" >&2; fi
if [[ -s $work/agent.log ]]; then echo "agent log:" >&2; cat "$work/agent.log" >&2; fi
exit $status
