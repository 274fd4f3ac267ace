#!/usr/bin/env python3
"""Load for bench/report_memory.sh: --concurrent clients fetch the report of --run at once
(formats from --formats, cycled), each retrying after a 503 for as long as its Retry-After
says, and read each body through; meanwhile one client probes /healthz every --probe-every
seconds on a fresh connection and a sampler reads the collector's VmRSS every 20 ms.

Prints one JSON object: per fetch its format, status, bytes, seconds and 503s seen; the
probes' count, failures and latency percentiles; the collector's peak RSS during the load
(the sampler's maximum, and VmHWM after clear_refs was reset to the load's start when the
kernel allows it)."""
import argparse
import http.client
import json
import threading
import time


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def fetch(port, token, run, fmt, out):
    busy = 0
    started = time.monotonic()
    while True:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        c.request("GET", f"/api/v1/runs/{run}/report?format={fmt}",
                  headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        if r.status == 503:
            busy += 1
            wait = float(r.getheader("Retry-After", "1"))
            r.read()
            c.close()
            time.sleep(wait)
            continue
        size = 0
        while True:
            piece = r.read(1 << 16)
            if not piece:
                break
            size += len(piece)
        c.close()
        out.append({"format": fmt, "status": r.status, "bytes": size, "busy_503": busy,
                    "seconds": round(time.monotonic() - started, 2)})
        return


def probe(port, stop, latencies, failures):
    while not stop.is_set():
        started = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
        except OSError:
            ok = False
        latencies.append(time.monotonic() - started)
        if not ok:
            failures.append(1)
        stop.wait(ARGS.probe_every)


def sample(pid, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid, "VmRSS"))
        stop.wait(0.02)


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else None


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--formats", default="json,html,md,json")
    p.add_argument("--concurrent", type=int, default=4)
    p.add_argument("--probe-every", type=float, default=0.02)
    ARGS = p.parse_args()
    base = rss_kib(ARGS.pid, "VmRSS")
    try:
        with open(f"/proc/{ARGS.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    stop = threading.Event()
    latencies, failures, peak, fetches = [], [], [0], []
    helpers = [threading.Thread(target=probe, args=(ARGS.port, stop, latencies, failures)),
               threading.Thread(target=sample, args=(ARGS.pid, stop, peak))]
    for t in helpers:
        t.start()
    formats = ARGS.formats.split(",")
    clients = [threading.Thread(target=fetch, args=(ARGS.port, ARGS.token, ARGS.run,
                                                    formats[i % len(formats)], fetches))
               for i in range(ARGS.concurrent)]
    started = time.monotonic()
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    seconds = time.monotonic() - started
    stop.set()
    for t in helpers:
        t.join()
    print(json.dumps({
        "fetches": fetches,
        "load_seconds": round(seconds, 2),
        "rss_before_mib": round(base / 1024, 1),
        "rss_peak_sampled_mib": round(peak[0] / 1024, 1),
        "vm_hwm_mib": round(rss_kib(ARGS.pid, "VmHWM") / 1024, 1) if hwm_reset else None,
        "healthz": {"probes": len(latencies), "failed": len(failures),
                    "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
                    "max_ms": pct(latencies, 1.0)},
    }, indent=2))


if __name__ == "__main__":
    main()
