#!/usr/bin/env bash
# Cost of jostle-agent on real cgroups of this machine, side by side in one run with what
# the reads alone cost (bench_read_floor), Debian's prometheus-node-exporter and, when
# installed (Debian package netdata), Netdata with only its cgroups plugin at its 1 s default.
#
# bench/agent_real/pods.py creates PODS x CONTAINERS real cgroups (cgroupfs driver layout
# under <hierarchy>/jostle-bench/kubepods/burstable/) with one sleeping process per container
# and a network namespace per pod; the agent, the read floor and Netdata read this machine's
# /sys/fs/cgroup and /proc. jostle-agent runs at 1 Hz with --output /dev/null, its /metrics
# scraped once a second; node_exporter and Netdata's Prometheus endpoint are scraped once a
# second too. measure.py reports CPU (utime+stime; Netdata with its helpers) and peak RSS
# over the window; then the number of cgroups and series each delivers is counted.
# Needs root. Builds nothing.
#
# Usage: bench/agent_real_cgroups.sh [BUILD_DIR]          (default: build-release)
# Env:   DURATION=60 PODS=100 CONTAINERS=5 OUT=<file for the Markdown table>
#        AGENT_ARGS="--container-cpu-every 10"   (extra jostle-agent flags)
#        NETDATA=/usr/sbin/netdata  NODE_EXPORTER=/usr/bin/prometheus-node-exporter
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exporter=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
netdata=${NETDATA:-/usr/sbin/netdata}
[[ -x $exporter ]] || { echo "no $exporter (Debian: prometheus-node-exporter)" >&2; exit 2; }
work_name=jostle-real-cgroups
# shellcheck source=agent_real/setup.sh
. "$here/agent_real/setup.sh"
agent_port=$(free_port)
exporter_port=$(free_port)
netdata_port=$(free_port)

"$agent" --cgroup-root /sys/fs/cgroup --proc-root /proc --kube off --interval 1s \
  --listen "127.0.0.1:$agent_port" --output /dev/null --log-level warn ${AGENT_ARGS:-} \
  2>"$work/agent.log" &
agent_pid=$!
pids+=($agent_pid)
"$floor_bin" --cgroup-root /sys/fs/cgroup --proc-root /proc 2>"$work/floor.log" &
floor_pid=$!
pids+=($floor_pid)
"$exporter" --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn \
  2>"$work/exporter.log" &
exporter_pid=$!
pids+=($exporter_pid)

measured=(--process "jostle-agent=$agent_pid,http://127.0.0.1:$agent_port/metrics"
          --process "read_floor=$floor_pid"
          --process "node_exporter=$exporter_pid,http://127.0.0.1:$exporter_port/metrics")
netdata_url=
if [[ -x $netdata ]]; then
  mkdir -p "$work/netdata/"{cache,lib,log,run}
  unified=no
  [[ -e /sys/fs/cgroup/cgroup.controllers ]] && unified=yes
  sed -e "s|@WORK@|$work/netdata|g" -e "s|@PORT@|$netdata_port|g" -e "s|@UNIFIED@|$unified|g" \
    "$here/agent_real/netdata.conf.in" >"$work/netdata/netdata.conf"
  "$netdata" -D -c "$work/netdata/netdata.conf" 2>"$work/netdata.log" &
  netdata_pid=$!
  pids+=($netdata_pid)
  netdata_url="http://127.0.0.1:$netdata_port"
  measured+=(--process "netdata=$netdata_pid,$netdata_url/api/v1/allmetrics?format=prometheus"
             --tree netdata)
fi

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$agent_port/metrics" >/dev/null 2>&1 &&
    curl -fsS "http://127.0.0.1:$exporter_port/metrics" >/dev/null 2>&1 && break
  sleep 0.1
done
# Netdata names each new cgroup with a helper script: wait until its charts stop changing.
netdata_charts() {
  curl -fsS "$netdata_url/api/v1/charts" 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("charts", {})))' 2>/dev/null ||
    echo 0
}
if [[ -n $netdata_url ]]; then
  last=-1 same=0
  for _ in $(seq 120); do
    now=$(netdata_charts)
    if [[ $now -gt 0 && $now = "$last" ]]; then same=$((same + 1)); else same=0; fi
    [[ $same -ge 5 ]] && break
    last=$now
    sleep 2
  done
fi

args=(--duration "${DURATION:-60}" "${measured[@]}")
[[ -n ${OUT:-} ]] && args+=(--markdown "$OUT")
status=0
python3 "$here/agent_process/measure.py" "${args[@]}" || status=$?

# What each delivers: cgroups and series (jostle: cgroups with a CPU series; Netdata: its
# cgroup_* chart types, their charts and dimensions).
curl -fsS "http://127.0.0.1:$agent_port/metrics" -o "$work/agent.metrics" || true
python3 "$here/agent_real/delivered.py" jostle "$work/agent.metrics"
if [[ -n $netdata_url ]]; then
  curl -fsS "$netdata_url/api/v1/charts" -o "$work/netdata.charts" || true
  python3 "$here/agent_real/delivered.py" netdata "$work/netdata.charts"
fi
cat "$work/floor.log" >&2
if [[ -s $work/agent.log ]]; then echo "agent log (first lines):" >&2; head -5 "$work/agent.log" >&2; fi
exit $status
