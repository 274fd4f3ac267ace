#!/usr/bin/env python3
"""jostle-agent killed with SIGKILL loses at most the tick in flight, and a collector that
refuses the agent's token loses nothing.

Real processes over loopback: jostle-agent samples this machine (--interval 200ms,
--batch-ticks 10, --spool-dir) and ships to a collector stand-in that decodes every gzip
batch and records its ticks.

1. Crash: when the agent's /metrics counts 15 ticks or more (the second batch half built),
   it is killed with SIGKILL. Every tick it had counted by then must reach the collector,
   from the journal of the batch in progress, once a new agent starts on the same spool.
2. Refused token: the collector answers 401 until the token file holds the new token;
   no tick taken meanwhile is lost once it does.

Usage: agent_crash_test.py BUILD_BIN_DIR
"""
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


class Collector:
    """POST /api/v1/samples: 200 and the batch's ticks recorded, or 401 for a bad token."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ticks = {}  # agent_start_ns -> set of wall_ns
        self.batches = 0
        self.refused = 0
        self.token = ""  # required "Bearer ..." value; empty: any
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    ok = not outer.token or self.headers.get("Authorization") == outer.token
                    if ok:
                        batch = json.loads(gzip.decompress(body))
                        got = outer.ticks.setdefault(batch["agent_start_ns"], set())
                        got.update(s["wall_ns"] for s in batch["samples"])
                        outer.batches += 1
                    else:
                        outer.refused += 1
                reply = b'{"stored":true}' if ok else b'{"error":"unauthenticated"}'
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        socketserver.ThreadingTCPServer.daemon_threads = True
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def snapshot(self):
        with self.lock:
            return {k: set(v) for k, v in self.ticks.items()}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metric(port, name):
    """The value of `name` on the agent's /metrics, or None while it does not answer."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return None
    m = re.search(rf"^{name}{{[^}}]*}} (\S+)$", text.decode(), re.M)
    return float(m.group(1)) if m else None


def poll(what, condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_agent(bin_dir, collector, work, port, log):
    return subprocess.Popen(
        [f"{bin_dir}/jostle-agent", "--kube", "off", "--interval", "200ms", "--batch-ticks", "10",
         "--collector", collector.url, "--token-file", f"{work}/token",
         "--spool-dir", f"{work}/spool", "--listen", f"127.0.0.1:{port}",
         "--node-name", "crash-node", "--log-level", "info"],
        stdout=subprocess.DEVNULL, stderr=log)


def crash(bin_dir, work):
    collector = Collector()
    with open(f"{work}/token", "w") as f:
        f.write("agent-token-1\n")
    log = open(f"{work}/agent1.log", "w")
    port = free_port()
    agent = start_agent(bin_dir, collector, work, port, log)
    try:
        counted = poll("15 ticks", lambda: (metric(port, "jostle_agent_samples_total") or 0) >= 15
                       and metric(port, "jostle_agent_samples_total"))
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait()
    finally:
        if agent.poll() is None:
            agent.kill()
    first = poll("the first agent's first batch", lambda: collector.snapshot())
    assert len(first) == 1, first.keys()
    start1 = next(iter(first))
    delivered_live = len(first[start1])

    # A new agent on the same spool sends what the killed one had recorded.
    log2 = open(f"{work}/agent2.log", "w")
    port2 = free_port()
    agent2 = start_agent(bin_dir, collector, work, port2, log2)
    try:
        poll("the recovered batch", lambda: len(collector.snapshot().get(start1, ())) >= counted)
        recovered = poll("the recovered counter",
                         lambda: metric(port2, "jostle_agent_batches_recovered_total"))
        assert recovered == 1, recovered
        poll("the new agent's ticks", lambda: len(collector.snapshot()) == 2)
    finally:
        agent2.send_signal(signal.SIGTERM)
        agent2.wait(timeout=30)
    got = collector.snapshot()[start1]
    walls = sorted(got)
    steps = [b - a for a, b in zip(walls, walls[1:])]
    # Consecutive ticks of one agent, none missing in the middle.
    assert max(steps) < 3 * 200_000_000, f"a gap of {max(steps) / 1e9:.3f} s among {len(walls)}"
    print(f"crash: {int(counted)} ticks counted before SIGKILL, {delivered_live} delivered live, "
          f"{len(got)} after the restart")


def refused_token(bin_dir, work):
    collector = Collector()
    collector.token = "Bearer new-token-2"
    shutil.rmtree(f"{work}/spool", ignore_errors=True)
    with open(f"{work}/token", "w") as f:
        f.write("old-token-1\n")
    log = open(f"{work}/agent3.log", "w")
    port = free_port()
    agent = start_agent(bin_dir, collector, work, port, log)
    try:
        poll("two refused batches", lambda: collector.refused >= 2)
        assert (metric(port, "jostle_agent_batches_unauthorized_total") or 0) >= 2
        with open(f"{work}/token.tmp", "w") as f:
            f.write("new-token-2\n")
        os.rename(f"{work}/token.tmp", f"{work}/token")
        counted = metric(port, "jostle_agent_samples_total")
        # Every tick counted before the rotation arrives (batches of 10: up to 9 may still
        # be in the batch being built, so wait for one more batch).
        need = (int(counted) // 10) * 10
        poll("the spooled batches", lambda: sum(len(v) for v in collector.snapshot().values())
             >= need, seconds=90)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
    got = collector.snapshot()
    walls = sorted(next(iter(got.values())))
    assert len(walls) >= need
    steps = [b - a for a, b in zip(walls, walls[1:])]
    assert max(steps) < 3 * 200_000_000, f"a gap of {max(steps) / 1e9:.3f} s"
    print(f"refused token: {collector.refused} answers 401, then {len(walls)} ticks delivered")


def main():
    bin_dir = sys.argv[1]
    work = tempfile.mkdtemp(prefix="jostle-agent-crash-")
    try:
        crash(bin_dir, work)
        refused_token(bin_dir, work)
    except AssertionError:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                print(f"--- {name}", file=sys.stderr)
                print(open(os.path.join(work, name)).read()[-3000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
