#!/usr/bin/env bash
# jostle-agent with different flags side by side in one run on real cgroups of this machine,
# next to the read floor: which schedule or budget change buys how much CPU. The cgroups are
# those of bench/agent_real_cgroups.sh (bench/agent_real/pods.py); every agent runs at 1 Hz
# with --output /dev/null and its /metrics scraped once a second by measure.py.
# Needs root. Builds nothing.
#
# Usage: bench/agent_real_variants.sh [BUILD_DIR]          (default: build-release)
# Env:   DURATION=60 PODS=100 CONTAINERS=5 OUT=<file for the Markdown table>
#        VARIANTS="default: open8192:--max-open-files=8192 cpu10:--container-cpu-every=10"
#        (name:flags, flags comma-separated; the first variant is the one the others are set
#        against)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build-release}
[[ $build = /* ]] || build=$repo/$build
agent=$build/bin/jostle-agent
floor_bin=$build/bin/bench_read_floor
[[ $(id -u) = 0 ]] || { echo "needs root (creates cgroups)" >&2; exit 2; }
[[ -x $agent && -x $floor_bin ]] || { echo "build jostle-agent and bench_read_floor first" >&2; exit 2; }
variants=${VARIANTS:-"default: open8192:--max-open-files=8192 cpu10:--container-cpu-every=10"}

work=$(mktemp -d /dev/shm/jostle-real-variants.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
  python3 "$here/agent_real/pods.py" destroy
  rm -rf "$work"
}
trap cleanup EXIT
python3 "$here/agent_real/pods.py" create --pods "${PODS:-100}" --containers "${CONTAINERS:-5}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
measured=()
for v in $variants; do
  name=${v%%:*}
  IFS=, read -r -a flags <<<"${v#*:}"
  port=$(free_port)
  "$agent" --cgroup-root /sys/fs/cgroup --proc-root /proc --kube off --interval 1s \
    --listen "127.0.0.1:$port" --output /dev/null --log-level warn "${flags[@]}" \
    >/dev/null 2>"$work/$name.log" &
  pids+=($!)
  measured+=(--process "$name=$!,http://127.0.0.1:$port/metrics")
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
"$floor_bin" --cgroup-root /sys/fs/cgroup --proc-root /proc >/dev/null 2>"$work/floor.log" &
pids+=($!)
measured+=(--process "read_floor=$!")

args=(--duration "${DURATION:-60}" "${measured[@]}")
[[ -n ${OUT:-} ]] && args+=(--markdown "$OUT")
python3 "$here/agent_process/measure.py" "${args[@]}"
