#!/usr/bin/env bash
# A collector outage at 1 Hz with 100 pods: jostle-agent samples a fake node (100 pods x 5
# containers, bench/agent_process/fake_host.py, on tmpfs) every second and ships to a port
# where nothing listens for OUTAGE seconds; then a collector stand-in starts there and
# records every tick (bench/agent_outage/outage.py). Reports the ticks lost, the spool's
# peak size and how long the spool took to drain.
#
# Usage: bench/agent_outage.sh [BUILD_DIR]        (default: build-release)
# Env:   OUTAGE=600 PODS=100 CONTAINERS=5 SPOOL_MAX=256MiB
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build-release}
[[ $build = /* ]] || build=$repo/$build
agent=$build/bin/jostle-agent
[[ -x $agent ]] || { echo "no $agent: build the jostle-agent target first" >&2; exit 2; }

work=$(mktemp -d /dev/shm/jostle-agent-outage.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
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
collector_port=$(free_port)
agent_port=$(free_port)
mkdir -p "$work/spool"
"$agent" --cgroup-root "$root/sys/fs/cgroup" --proc-root "$root/proc" --kube off \
  --interval 1s --batch-ticks 10 --collector "http://127.0.0.1:$collector_port" \
  --spool-dir "$work/spool" --spool-max "${SPOOL_MAX:-256MiB}" \
  --listen "127.0.0.1:$agent_port" --log-level warn 2>"$work/agent.log" &
pids+=($!)
python3 "$here/agent_outage/outage.py" --port "$collector_port" \
  --agent-metrics "http://127.0.0.1:$agent_port/metrics" --spool-dir "$work/spool" \
  --outage "${OUTAGE:-600}"
tail -5 "$work/agent.log" >&2
