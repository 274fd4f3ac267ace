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
variants=${VARIANTS:-"default: open8192:--max-open-files=8192 cpu10:--container-cpu-every=10"}
work_name=jostle-real-variants
# shellcheck source=agent_real/setup.sh
. "$here/agent_real/setup.sh"
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
