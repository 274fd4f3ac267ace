#!/usr/bin/env python3
"""Scrapes running exporters once a second for a fixed time and reports their cost.

    measure.py --duration 60 --warmup 3 \
        --process agent=PID,http://127.0.0.1:P1/metrics \
        --process node_exporter=PID,http://127.0.0.1:P2/metrics \
        [--process read_floor=PID] [--markdown FILE]

A process given without a URL is measured but not scraped. A process named with --tree
NAME is measured with its descendants (Netdata runs helpers): its CPU is the utime, stime,
cutime and cstime of it and every live descendant, its peak RSS the sum of their VmHWM.
The first process is compared with each of the others.

CPU time is utime + stime of /proc/PID/stat (all threads) over the measured window, which
starts after `warmup` seconds of scraping (start-up is left out); peak RSS is VmHWM of
/proc/PID/status at the end (start-up included). The processes are scraped in the same
loop, one after the other, once per second.
"""
import argparse
import os
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def tree_pids(pid):
    """pid and its live descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pid):
    total = 0.0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK
    return total


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def scrape(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read()
            return r.status, len(body), body
    except Exception as e:  # an exporter that stops answering is reported, not fatal
        return str(e), 0, b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--process", action="append", required=True,
                    help="NAME=PID[,URL] (repeatable)")
    ap.add_argument("--markdown", help="write the result table here too")
    ap.add_argument("--tree", action="append", default=[],
                    help="NAME of a --process measured with its descendants (repeatable)")
    a = ap.parse_args()
    procs = []
    for spec in a.process:
        name, rest = spec.split("=", 1)
        pid, _, url = rest.partition(",")
        procs.append({"name": name, "pid": int(pid), "url": url, "ok": 0, "failed": 0,
                      "bytes": 0, "series": 0, "tree": name in a.tree})

    def cpu(p):
        return tree_cpu_seconds(p["pid"]) if p["tree"] else cpu_seconds(p["pid"])

    def kib(p, key):
        pids = tree_pids(p["pid"]) if p["tree"] else [p["pid"]]
        total = 0
        for q in pids:
            try:
                total += status_kib(q, key)
            except OSError:
                pass
        return total

    def tick(count):
        for p in procs:
            if not p["url"]:
                continue
            status, size, body = scrape(p["url"])
            if not count:
                continue
            if status == 200:
                p["ok"] += 1
                p["bytes"] += size
                p["series"] = sum(1 for ln in body.splitlines() if ln and not ln.startswith(b"#"))
            else:
                p["failed"] += 1

    start = time.monotonic()
    while time.monotonic() - start < a.warmup:
        tick(False)
        time.sleep(1)
    cpu0 = {p["name"]: cpu(p) for p in procs}
    t0 = time.monotonic()
    next_at = t0
    while True:
        tick(True)
        next_at += 1
        if next_at - t0 > a.duration:
            break
        time.sleep(max(0, next_at - time.monotonic()))
    elapsed = time.monotonic() - t0
    for p in procs:
        p["cpu"] = cpu(p) - cpu0[p["name"]]
        p["hwm"] = kib(p, "VmHWM") / 1024
        p["rss"] = kib(p, "VmRSS") / 1024
        p["threads"] = status_kib(p["pid"], "Threads")

    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    lines = [
        f"Window {elapsed:.1f} s after {a.warmup:.0f} s of warm-up, scraped once a second; "
        f"load average at the end: {load}.",
        "",
        "| process | CPU s | % of one core | peak RSS (VmHWM) MiB | RSS at end MiB | scrapes ok "
        "| series per scrape | bytes per scrape |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in procs:
        per = p["bytes"] / p["ok"] if p["ok"] else 0
        scraped = (f"{p['ok']}" + (f" ({p['failed']} failed)" if p["failed"] else "") +
                   f" | {p['series']} | {per:.0f}") if p["url"] else "- | - | -"
        lines.append(
            f"| {p['name']} | {p['cpu']:.2f} | {100 * p['cpu'] / elapsed:.2f}% | {p['hwm']:.1f} "
            f"| {p['rss']:.1f} | {scraped} |")
    x = procs[0]
    if len(procs) > 1:
        lines.append("")
    for y in procs[1:]:
        cpu_ratio = x["cpu"] / y["cpu"] if y["cpu"] else float("inf")
        rss_ratio = x["hwm"] / y["hwm"] if y["hwm"] else float("inf")
        lines.append(f"{x['name']} / {y['name']}: CPU x{cpu_ratio:.2f}, peak RSS x{rss_ratio:.2f}.")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    return 0 if all(p["ok"] > 0 for p in procs if p["url"]) else 1


if __name__ == "__main__":
    sys.exit(main())
