#!/usr/bin/env python3
"""Creates (and removes) real Kubernetes-shaped cgroups on this machine, for benchmarks.

    pods.py create --pods 100 --containers 5 [--cgroup-root /sys/fs/cgroup] [--top jostle-bench]
    pods.py destroy [--cgroup-root /sys/fs/cgroup] [--top jostle-bench]

Layout, the cgroupfs driver's: <hierarchy>/<top>/kubepods/burstable/pod<uid>/<container id>
in every hierarchy a pod's cgroups live in: on cgroup v2 the one tree (cpu and memory enabled
down to the containers); on v1 and hybrid hosts each of the cpu, cpuacct and memory mounts
and, on hybrid hosts, unified/ (PSI). Each container holds one sleeping process; the
processes of a pod share a network namespace of their own (unshare -n, then nsenter), as a
pod's containers do. `create` prints nothing and returns once every process is in its
cgroups; `destroy` kills the processes and removes the directories, leaves first. Needs root.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import uuid

V1_CONTROLLERS = ("cpu", "cpuacct", "memory")


def hierarchies(root):
    """The mounts a pod's cgroups go in, and whether the host is v2."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return [root], True
    out, seen = [], set()
    for name in V1_CONTROLLERS:
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        out.append(path)
    unified = os.path.join(root, "unified")
    if os.path.exists(os.path.join(unified, "cgroup.controllers")):
        out.append(unified)
    return out, False


def enable_controllers(path):
    """cgroup v2: lets the children of `path` have cpu and memory."""
    try:
        with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
            f.write("+cpu +memory")
    except OSError as e:
        print(f"{path}: cannot enable cpu and memory for children: {e}", file=sys.stderr)


def create(a):
    mounts, v2 = hierarchies(a.cgroup_root)
    if not mounts:
        sys.exit(f"{a.cgroup_root}: no cgroup hierarchy with cpu, cpuacct or memory")
    base = os.path.join(a.top, "kubepods", "burstable")
    for m in mounts:
        path = m
        for part in base.split("/"):
            path = os.path.join(path, part)
            os.makedirs(path, exist_ok=True)
            if v2:
                enable_controllers(os.path.dirname(path))
        if v2:
            enable_controllers(path)
    for p in range(a.pods):
        uid = str(uuid.UUID(int=(0xB0 << 120) | p))
        ids = ["%064x" % ((p << 16) | c | (0xC0 << 248)) for c in range(a.containers)]
        netns_pid = None
        for cid in ids:
            dirs = [os.path.join(m, base, "pod" + uid, cid) for m in mounts]
            for d in dirs:
                os.makedirs(d, exist_ok=True)
                if v2 and d == dirs[0]:
                    enable_controllers(os.path.dirname(d))
            if netns_pid is None:
                cmd = ["unshare", "--net", "sleep", "infinity"]
            else:
                cmd = ["nsenter", f"--net=/proc/{netns_pid}/ns/net", "sleep", "infinity"]
            proc = subprocess.Popen(cmd, start_new_session=True)
            pid = proc.pid
            if netns_pid is None:
                # unshare execs sleep in the new namespace: wait until it has.
                for _ in range(100):
                    if os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                        break
                    time.sleep(0.01)
                netns_pid = pid
            for d in dirs:
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(pid))


def destroy(a):
    mounts, _ = hierarchies(a.cgroup_root)
    for m in mounts:
        top = os.path.join(m, a.top)
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in os.walk(top):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    for line in f:
                        try:
                            os.kill(int(line), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
            except OSError:
                pass
    for m in mounts:
        top = os.path.join(m, a.top)
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            for _ in range(200):  # a killed process leaves its cgroup a moment later
                try:
                    os.rmdir(dirpath)
                    break
                except OSError:
                    time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["create", "destroy"])
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--containers", type=int, default=5)
    ap.add_argument("--cgroup-root", default="/sys/fs/cgroup")
    ap.add_argument("--top", default="jostle-bench")
    a = ap.parse_args()
    create(a) if a.action == "create" else destroy(a)


if __name__ == "__main__":
    main()
