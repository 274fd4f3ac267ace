#!/usr/bin/env python3
"""Collector outage for bench/agent_outage.sh: the agent ships to PORT, where nothing
listens for --outage seconds; then a collector stand-in starts there, decodes every gzip
batch and records its ticks, until every tick the agent counted before the collector came
back has arrived (or --drain seconds pass). Polls the agent's /metrics once a second for
the spool's size. Prints one JSON object.

    outage.py --port PORT --agent-metrics URL --spool-dir DIR [--outage 600] [--drain 600]
"""
import argparse
import gzip
import http.server
import json
import os
import re
import socketserver
import threading
import time
import urllib.request


def metric(url, name):
    try:
        text = urllib.request.urlopen(url, timeout=2).read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def du(path):
    total = 0
    for name in os.listdir(path):
        try:
            total += os.stat(os.path.join(path, name)).st_size
        except OSError:
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--agent-metrics", required=True)
    ap.add_argument("--spool-dir", required=True)
    ap.add_argument("--outage", type=float, default=600)
    ap.add_argument("--drain", type=float, default=600)
    args = ap.parse_args()

    start = time.monotonic()
    first_count = None
    peak_metric = peak_dir = 0
    while time.monotonic() - start < args.outage:
        n = metric(args.agent_metrics, "jostle_agent_samples_total")
        if first_count is None and n is not None:
            first_count = n
        peak_metric = max(peak_metric, metric(args.agent_metrics, "jostle_agent_spool_bytes") or 0)
        peak_dir = max(peak_dir, du(args.spool_dir))
        time.sleep(1)
    counted = metric(args.agent_metrics, "jostle_agent_samples_total")
    dropped = metric(args.agent_metrics, "jostle_agent_batches_dropped_total")

    lock = threading.Lock()
    walls = set()
    batches = [0, 0]  # batches, gzip bytes

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            batch = json.loads(gzip.decompress(body))
            with lock:
                walls.update(s["wall_ns"] for s in batch["samples"])
                batches[0] += 1
                batches[1] += len(body)
            reply = b'{"stored":true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *a):
            pass

    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    back = time.monotonic()
    # Ticks counted before the collector came back, less the batch still being built
    # (up to --batch-ticks - 1 ticks, shipped when it completes).
    while time.monotonic() - back < args.drain:
        with lock:
            if len(walls) >= counted:
                break
        time.sleep(0.5)
    drained_s = time.monotonic() - back
    with lock:
        got = sorted(walls)
    gaps = [b - a for a, b in zip(got, got[1:])]
    print(json.dumps({
        "outage_s": args.outage,
        "ticks_counted_at_end_of_outage": counted,
        "ticks_received": len(got),
        "ticks_lost": max(0, int(counted) - len(got)) if counted else None,
        "largest_gap_s": round(max(gaps) / 1e9, 3) if gaps else None,
        "batches_dropped_by_agent": dropped,
        "spool_peak_bytes_metric": int(peak_metric),
        "spool_peak_bytes_on_disk": peak_dir,
        "batches_received": batches[0],
        "gzip_bytes_received": batches[1],
        "drain_s": round(drained_s, 1),
    }))


if __name__ == "__main__":
    main()
