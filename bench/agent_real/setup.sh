# Shared set-up of the real-cgroup agent benches (sourced; $here is the bench directory and
# $work_name names the scratch directory): the build's binaries, root, a scratch directory
# in /dev/shm, PODS x CONTAINERS real pod cgroups (agent_real/pods.py), a cleanup on exit
# that stops every pid in $pids and removes them, and free_port.
repo=$(cd "$here/.." && pwd)
build=${1:-build-release}
[[ $build = /* ]] || build=$repo/$build
agent=$build/bin/jostle-agent
floor_bin=$build/bin/bench_read_floor
[[ $(id -u) = 0 ]] || { echo "needs root (creates cgroups)" >&2; exit 2; }
[[ -x $agent ]] || { echo "no $agent: build the jostle-agent target first" >&2; exit 2; }
[[ -x $floor_bin ]] || { echo "no $floor_bin: build bench_read_floor first" >&2; exit 2; }

work=$(mktemp -d "/dev/shm/$work_name.XXXXXX")
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
