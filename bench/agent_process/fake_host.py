#!/usr/bin/env python3
"""A fake Kubernetes node for whole-process agent benchmarks.

    fake_host.py make ROOT [--pods 100] [--containers 5]
    fake_host.py bump ROOT [--period 1.0]     # until killed

`make` lays out ROOT/sys/fs/cgroup as a cgroup v2 host with the systemd driver (burstable
pods, each with `containers` container scopes, so 1 + containers cgroups per pod), and
ROOT/proc with one process per pod (own ns/net symlink and net/dev) plus proc/1/ns/net.
Every cgroup has cgroup.procs, cpu.stat, cpu.max, memory.current, memory.max,
memory.stat, memory.events and cpu/memory/io.pressure, with the same contents as
bench/agent/cgroup_cycle_bench.cpp's generated host.

`bump` rewrites cpu.stat, memory.current and the three PSI files of every cgroup, and each
pod's net/dev, every `period` seconds with counters that have moved, so the agent reads
changing values. Files are rewritten in place (see rewrite()), as the agent keeps them
open and re-reads them at offset 0.
"""
import argparse
import os
import sys
import time

MEMSTAT_KEYS = (
    "anon file kernel kernel_stack pagetables percpu sock shmem file_mapped file_dirty "
    "file_writeback anon_thp inactive_anon active_anon inactive_file active_file unevictable "
    "slab_reclaimable slab_unreclaimable slab workingset_refault_anon workingset_refault_file "
    "workingset_activate_anon workingset_activate_file pgfault pgmajfault pgrefill pgscan "
    "pgsteal pgactivate pgdeactivate pglazyfree thp_fault_alloc"
).split()

NETDEV_HEAD = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def rewrite(path, text):
    # In place, keeping the inode, so descriptors kept open by the agent see the new text.
    # One pwrite over the old text, then a truncate to the new length: a reader never sees
    # the empty file that truncate-then-write would show it (the counters only grow, so the
    # new text is rarely shorter than the old).
    data = text.encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def cpu_stat(n, t):
    usage = n * 1000 + 1 + t * (n % 7 + 1) * 10000
    throttled = 3 + t * (n % 2)
    return (f"usage_usec {usage}\nuser_usec {usage // 2}\nsystem_usec {usage // 4}\n"
            f"nr_periods {100 + t * 10}\nnr_throttled {throttled}\n"
            f"throttled_usec {4000 + throttled * 1000}\nnr_bursts 0\nburst_usec 0\n")


def psi(n, t):
    some = 12345 + t * (n % 5) * 1000
    full = 678 + t * (n % 3) * 100
    return (f"some avg10=0.00 avg60=0.00 avg300=0.00 total={some}\n"
            f"full avg10=0.00 avg60=0.00 avg300=0.00 total={full}\n")


def net_dev(p, t):
    rx, tx = 99999 + t * 1500 * (p % 4 + 1), 88888 + t * 900
    return (NETDEV_HEAD + "    lo:  1000  10 0 0 0 0 0 0  1000  10 0 0 0 0 0 0\n"
            f"  eth0: {rx} {999 + t} 0 1 0 0 0 0 {tx} {888 + t} 0 2 0 0 0 0\n")


def cgroups(root, pods, containers):
    """(path, index) of every pod and container cgroup, and (pid dir, pod) of each pod."""
    cg = os.path.join(root, "sys/fs/cgroup")
    qos = os.path.join(cg, "kubepods.slice/kubepods-burstable.slice")
    out, procs = [], []
    for p in range(pods):
        uid = f"{p:08x}_1111_4a4a_8b8b_{p:012x}"
        pod = os.path.join(qos, f"kubepods-burstable-pod{uid}.slice")
        out.append((pod, p, ""))
        pid = 100000 + p
        for c in range(containers):
            cid = f"{p:056x}{c:08x}"
            out.append((os.path.join(pod, f"cri-containerd-{cid}.scope"), p * containers + c,
                        f"{pid}\n" if c == 0 else ""))
        procs.append((os.path.join(root, "proc", str(pid)), p))
    return out, procs


def make(root, pods, containers):
    cg = os.path.join(root, "sys/fs/cgroup")
    os.makedirs(cg, exist_ok=True)
    write(os.path.join(cg, "cgroup.controllers"), "cpu io memory pids\n")
    os.makedirs(os.path.join(root, "proc/1/ns"), exist_ok=True)
    if not os.path.islink(os.path.join(root, "proc/1/ns/net")):
        os.symlink("net:[4026531993]", os.path.join(root, "proc/1/ns/net"))
    dirs, procs = cgroups(root, pods, containers)
    for d, n, pids in dirs:
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "cgroup.procs"), pids)
        write(os.path.join(d, "cpu.stat"), cpu_stat(n, 0))
        write(os.path.join(d, "cpu.max"), "200000 100000\n")
        write(os.path.join(d, "memory.current"), f"{n * 4096 + 1048576}\n")
        write(os.path.join(d, "memory.max"), "max\n")
        write(os.path.join(d, "memory.stat"), "".join(f"{k} {n * 7 + 4096}\n" for k in MEMSTAT_KEYS))
        write(os.path.join(d, "memory.events"),
              "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
        for f in ("cpu.pressure", "memory.pressure", "io.pressure"):
            write(os.path.join(d, f), psi(n, 0))
    for proc, p in procs:
        os.makedirs(os.path.join(proc, "ns"), exist_ok=True)
        os.makedirs(os.path.join(proc, "net"), exist_ok=True)
        link = os.path.join(proc, "ns/net")
        if not os.path.islink(link):
            os.symlink(f"net:[{4026532000 + p}]", link)
        write(os.path.join(proc, "net/dev"), net_dev(p, 0))
    write(os.path.join(root, "layout"), f"{pods} {containers}\n")


def bump(root, period):
    pods, containers = (int(x) for x in open(os.path.join(root, "layout")).read().split())
    dirs, procs = cgroups(root, pods, containers)
    t = 0
    while True:
        time.sleep(period)
        t += 1
        for d, n, _ in dirs:
            rewrite(os.path.join(d, "cpu.stat"), cpu_stat(n, t))
            rewrite(os.path.join(d, "memory.current"), f"{n * 4096 + 1048576 + (t % 50) * 4096}\n")
            for f in ("cpu.pressure", "memory.pressure", "io.pressure"):
                rewrite(os.path.join(d, f), psi(n, t))
        for proc, p in procs:
            rewrite(os.path.join(proc, "net/dev"), net_dev(p, t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("make", "bump"))
    ap.add_argument("root")
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--containers", type=int, default=5)
    ap.add_argument("--period", type=float, default=1.0)
    a = ap.parse_args()
    if a.mode == "make":
        make(a.root, a.pods, a.containers)
    else:
        try:
            bump(a.root, a.period)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
