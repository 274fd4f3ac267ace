#!/usr/bin/env python3
"""A real jostle-collector on a 20 MiB tmpfs, fed sample batches over loopback until the
volume is full:

- the WAL stays bounded (an eighth of the free space at start, so 2.5 MiB here; the 64 MiB
  autocheckpoint used to fill the volume with WAL);
- /readyz turns 503 with a reason (free space below --min-free-space, or failing writes)
  while /healthz stays 200;
- /metrics shows the store's size, WAL and free space;
- 300 refused uploads log a handful of lines, not two each.

Needs root (mount -t tmpfs): exits 77 (skip) without it, 1 when JOSTLE_REQUIRE_REAL is set.
Usage: small_volume_test.py BUILD_BIN_DIR
"""
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN = "agent-token-volume-1"


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def batch(seq, now_ns, pods=60, ticks=10):
    samples = []
    for t in range(ticks):
        wall = now_ns - 12 * 3600 * 10**9 + (seq * ticks + t) * 10**9
        cgroups = []
        for c in range(pods):
            entry = {"s": c}
            if t == 0:
                entry |= {"scope": "pod", "id": f"uid-{seq}-{c}", "path": f"/kubepods/pod{seq}-{c}",
                          "pod_uid": f"uid-{seq}-{c}", "namespace": "ci", "pod": f"runner-{seq}-{c}"}
            entry |= {"cpu_usage_us": seq * 1000 + t, "mem_usage_bytes": 1 << 20,
                      "mem_working_set_bytes": 1 << 19}
            cgroups.append(entry)
        samples.append({"wall_ns": wall, "mono_ns": wall - now_ns + 10**12,
                        "node": {"cpu_busy_us": seq, "cpu_total_us": 4 * seq, "cpus": 4},
                        "cgroups": cgroups})
    return gzip.compress(json.dumps({
        "wire_version": 2, "node": "node-volume", "boot_id": "b", "agent_start_ns": now_ns,
        "seq": seq, "agent_version": "test", "interval_ns": 10**9, "host": {},
        "samples": samples}).encode())


def skip(reason):
    if os.environ.get("JOSTLE_REQUIRE_REAL", "") not in ("", "0"):
        print(f"a real part this test needs is missing (JOSTLE_REQUIRE_REAL is set): {reason}")
        sys.exit(1)
    print(f"skipped: {reason}")
    sys.exit(77)


def main():
    bin_dir = sys.argv[1]
    work = tempfile.mkdtemp(prefix="jostle-small-volume-")
    vol = os.path.join(work, "vol")
    os.makedirs(vol)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", vol],
                      stderr=subprocess.DEVNULL).returncode != 0:
        shutil.rmtree(work)
        skip("cannot mount a tmpfs (needs root)")
    collector = None
    try:
        with open(os.path.join(work, "tokens"), "w") as f:
            f.write(f"agent,read {TOKEN}\n")
        os.chmod(os.path.join(work, "tokens"), 0o600)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        log = open(os.path.join(work, "collector.log"), "w")
        collector = subprocess.Popen(
            [f"{bin_dir}/jostle-collector", "serve", "--db", f"{vol}/jostle.db",
             "--listen", f"127.0.0.1:{port}", "--token-file", f"{work}/tokens",
             "--min-free-space", "3MiB"], stderr=log)
        for _ in range(200):
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        assert request(port, "GET", "/readyz")[0] == 200

        now_ns = time.time_ns()
        wal = f"{vol}/jostle.db-wal"
        max_wal = 0
        refused = None
        deadline = time.monotonic() + 180
        seq = 0
        while time.monotonic() < deadline:
            status, body = request(port, "POST", "/api/v1/samples", batch(seq, now_ns),
                                   {"Content-Type": "application/json",
                                    "Content-Encoding": "gzip"})
            seq += 1
            if os.path.exists(wal):
                max_wal = max(max_wal, os.path.getsize(wal))
            if status != 200:
                refused = (status, body)
                break
            # Readiness turns false before the disk is full: stop there.
            if request(port, "GET", "/readyz")[0] == 503:
                break
        # Fill what is left, so writes fail for real.
        while refused is None and time.monotonic() < deadline:
            status, body = request(port, "POST", "/api/v1/samples", batch(seq, now_ns),
                                   {"Content-Type": "application/json",
                                    "Content-Encoding": "gzip"})
            seq += 1
            if os.path.exists(wal):
                max_wal = max(max_wal, os.path.getsize(wal))
            if status != 200:
                refused = (status, body)
        assert refused, f"{seq} batches stored on a 20 MiB volume without a refusal"
        assert refused[0] in (503, 413, 500), refused
        assert max_wal <= 4 << 20, f"WAL reached {max_wal} bytes on a 20 MiB volume"

        status, body = request(port, "GET", "/readyz")
        assert status == 503, (status, body)
        reason = json.loads(body)["detail"]
        assert "free" in reason or "failing" in reason, reason
        assert request(port, "GET", "/healthz")[0] == 200

        status, metrics = request(port, "GET", "/metrics")
        assert status == 200
        for name in ("jostle_collector_store_bytes", "jostle_collector_store_wal_bytes",
                     "jostle_collector_store_free_bytes"):
            assert re.search(rf"^{name} \d+$", metrics, re.M), name
        assert re.search(r"^jostle_collector_ready 0$", metrics, re.M)

        log.flush()
        before = open(os.path.join(work, "collector.log")).read().count("POST /api/v1/samples")
        for i in range(300):
            request(port, "POST", "/api/v1/samples", batch(seq + i, now_ns),
                    {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        collector.terminate()
        collector.wait(timeout=30)
        collector = None
        text = open(os.path.join(work, "collector.log")).read()
        lines = text.count("POST /api/v1/samples") - before
        assert lines <= 10, f"300 refused uploads logged {lines} lines"
        print(f"small volume: {seq} batches until refused with {refused[0]}; WAL at most "
              f"{max_wal} bytes; /readyz: {reason}; 300 refusals logged {lines} line(s)")
    except AssertionError:
        print(open(os.path.join(work, "collector.log")).read()[-3000:], file=sys.stderr)
        raise
    finally:
        if collector is not None:
            collector.kill()
            collector.wait()
        subprocess.run(["umount", "-l", vol])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
