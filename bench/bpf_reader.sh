#!/usr/bin/env bash
# The BPF cgroup reader trial (bench/bpf_reader): builds the iterator with clang and bpftool
# and its loader with g++ and libbpf in a scratch directory, creates PODS x CONTAINERS real pod
# cgroups (agent_real/pods.py), and compares the iterator with the files' read floor on the
# cgroup v2 tree (unified/ on a hybrid host): values per cgroup and CPU per pass.
#
#   bench/bpf_reader.sh [PASSES]      (root; packages clang, bpftool, libbpf-dev; kernel >= 6.1
#                                      with BTF)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
passes=${1:-2000}
[[ $(id -u) = 0 ]] || { echo "needs root (creates cgroups, loads BPF)" >&2; exit 2; }
for tool in clang bpftool g++; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install clang bpftool)" >&2; exit 2; }
done
[[ -r /sys/kernel/btf/vmlinux ]] || { echo "needs a kernel with BTF (/sys/kernel/btf/vmlinux)" >&2; exit 2; }
[[ -r /usr/include/bpf/libbpf.h ]] || { echo "needs libbpf-dev" >&2; exit 2; }

work=$(mktemp -d /tmp/jostle-bpf-reader.XXXXXX)
cleanup() { python3 "$here/agent_real/pods.py" destroy; rm -rf "$work"; }
trap cleanup EXIT
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$work/vmlinux.h"
clang -O2 -g -Wall -target bpf -D__TARGET_ARCH_x86 -I"$work" \
  -c "$here/bpf_reader/cgroup_cpu.bpf.c" -o "$work/cgroup_cpu.bpf.o"
bpftool gen skeleton "$work/cgroup_cpu.bpf.o" name cgroup_cpu_bpf >"$work/cgroup_cpu.skel.h"
g++ -O2 -std=c++20 -Wall -Wextra -I"$work" "$here/bpf_reader/trial.cpp" -o "$work/trial" -lbpf

python3 "$here/agent_real/pods.py" create --pods "${PODS:-100}" --containers "${CONTAINERS:-5}"
root=/sys/fs/cgroup
[[ -e $root/cgroup.controllers ]] || root=/sys/fs/cgroup/unified
echo "kernel $(uname -r); $(nproc) cores; tree $root/jostle-bench"
"$work/trial" "$root/jostle-bench" "$passes"
