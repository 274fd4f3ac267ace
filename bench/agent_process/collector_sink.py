#!/usr/bin/env python3
"""A stand-in for jostle-collector's POST /api/v1/samples: answers 200 to every POST after
reading its body, and counts batches and bytes (printed at exit). For
bench/agent_process.sh SINK=collector, so the agent's shipper path (gzip, POST) is measured;
its own CPU is not part of the agent's figures.

    collector_sink.py PORT_FILE
"""
import http.server
import os
import signal
import socketserver
import sys

batches = 0
body_bytes = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global batches, body_bytes
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        batches += 1
        body_bytes += n
        reply = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def main():
    socketserver.ThreadingTCPServer.daemon_threads = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.server_address[1]))

    def stop(*_):
        print(f"collector sink: {batches} batches, {body_bytes} gzip bytes", file=sys.stderr,
              flush=True)
        os._exit(0)  # handler threads may sit in a keep-alive read

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
