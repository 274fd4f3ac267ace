#!/usr/bin/env python3
"""Load generator for bench/ingest_http.sh: N concurrent agents POST gzip sample batches.

Every agent has its own node name and keep-alive connection and sends its batches in seq
order, as jostle-agent's shipper does. Payloads are built and compressed before the clock
starts, so the figure is the collector's, not this script's. Prints one JSON object.
"""
import argparse
import gzip
import http.client
import json
import os
import threading
import time
import urllib.parse


def make_batch(node, seq, ticks, cgroups, base_ns, wire_version):
    samples = []
    for t in range(ticks):
        wall = base_ns + (seq * ticks + t) * 1_000_000_000
        cg = []
        for c in range(cgroups):
            # Version 2 writes each cgroup's identity once per batch (series references).
            entry = {"s": c} if wire_version >= 2 else {}
            if wire_version < 2 or t == 0:
                entry.update({
                    "scope": "pod", "id": f"uid-{node}-{c}",
                    "path": f"/kubepods/burstable/pod{c}", "pod_uid": f"uid-{node}-{c}",
                    "namespace": f"ns-{c % 7}", "pod": f"pod-{c}", "qos": "burstable"})
            cg.append(entry | {
                "cpu_usage_us": 1_000_000 * seq + 1000 * t + c,
                "cpu_periods": 10 * seq + t, "cpu_throttled_periods": seq,
                "cpu_throttled_us": 100 * seq, "cpu_limit_cores": 2.0,
                "mem_usage_bytes": 200_000_000 + c, "mem_working_set_bytes": 150_000_000 + c,
                "mem_limit_bytes": 1 << 30, "oom_kills": 0,
                "psi_cpu": {"some_us": 1000 * seq + t, "full_us": 10 * seq},
                "psi_memory": {"some_us": 5 * seq, "full_us": 1 * seq},
                "psi_io": {"some_us": 7 * seq, "full_us": 2 * seq},
                "net": {"if": "*", "rx_bytes": 1000 * seq, "rx_packets": seq, "rx_errors": 0,
                        "rx_drops": 0, "tx_bytes": 900 * seq, "tx_packets": seq,
                        "tx_errors": 0, "tx_drops": 0},
            })
        samples.append({
            "wall_ns": wall, "mono_ns": wall - base_ns + 10_000,
            "node": {
                "cpu_busy_us": 4_000_000 * seq + t, "cpu_total_us": 8_000_000 * seq + t,
                "cpus": 8, "mem_total_bytes": 32 << 30, "mem_available_bytes": 16 << 30,
                "psi_cpu": {"some_us": seq * 100}, "psi_memory": {"some_us": 1, "full_us": 0},
                "psi_io": {"some_us": 2, "full_us": 1},
                "net": [{"if": "eth0", "rx_bytes": seq, "rx_packets": seq, "rx_errors": 0,
                         "rx_drops": 0, "tx_bytes": seq, "tx_packets": seq, "tx_errors": 0,
                         "tx_drops": 0, "speed_mbps": 10000}],
                "tcp_out_segs": 1000 * seq, "tcp_retrans_segs": seq,
                "load1": 1.5, "load5": 1.2, "load15": 1.0,
            },
            "cgroups": cg,
        })
    return {"wire_version": wire_version, "node": node, "boot_id": "b0075eed-0000-4000-8000-000000000000",
            "agent_start_ns": base_ns, "seq": seq, "agent_version": "bench",
            "interval_ns": 1_000_000_000, "host": {}, "samples": samples}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--pid", type=int, required=True, help="collector pid, for its CPU time")
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--batches", type=int, default=30, help="batches per agent")
    p.add_argument("--ticks", type=int, default=10, help="samples per batch")
    p.add_argument("--cgroups", type=int, default=50, help="cgroup readings per sample")
    p.add_argument("--wire-version", type=int, default=2,
                   help="2: identities once per batch, as jostle-agent sends; 1: in every sample")
    a = p.parse_args()

    base_ns = (int(time.time()) - 3600) * 1_000_000_000
    payloads = []
    for i in range(a.agents):
        node = f"bench-node-{i:03d}"
        # Compact, members in EncodeBatch's order: the text jostle-agent sends.
        payloads.append([gzip.compress(json.dumps(
            make_batch(node, s, a.ticks, a.cgroups, base_ns, a.wire_version), separators=(",", ":")).encode(), 6)
            for s in range(a.batches)])
    rows_per_batch = a.ticks * (1 + a.cgroups)
    wire_bytes = sum(len(b) for agent in payloads for b in agent)

    url = urllib.parse.urlparse(a.url)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if a.token:
        headers["Authorization"] = "Bearer " + a.token
    errors = []
    stored = [0] * a.agents
    start_gate = threading.Barrier(a.agents + 1)

    def agent(i):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        start_gate.wait()
        for body in payloads[i]:
            conn.request("POST", "/api/v1/samples", body=body, headers=headers)
            r = conn.getresponse()
            text = r.read()
            if r.status != 200:
                errors.append(f"{r.status} {text[:200]!r}")
                return
            if json.loads(text).get("stored"):
                stored[i] += 1
        conn.close()

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(a.agents)]
    for t in threads:
        t.start()
    cpu0 = cpu_seconds(a.pid)
    t0 = time.monotonic()
    start_gate.wait()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(a.pid) - cpu0
    batches = sum(stored)
    rows = batches * rows_per_batch
    print(json.dumps({
        "agents": a.agents, "batches_stored": batches, "rows_per_batch": rows_per_batch,
        "rows": rows, "wire_mib": round(wire_bytes / 2**20, 1), "wall_s": round(wall, 2),
        "rows_per_s": round(rows / wall), "collector_cpu_s": round(cpu, 2),
        "collector_cores": round(cpu / wall, 2),
        "rows_per_collector_cpu_s": round(rows / cpu) if cpu > 0 else None,
        "errors": errors[:5]}))
    return 1 if errors or batches != a.agents * a.batches else 0


if __name__ == "__main__":
    raise SystemExit(main())
