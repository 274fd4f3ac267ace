"""A small HTTP/1.1 server for the http_client tests. Prints "PORT <n>" and serves:

GET  /status/<code>     answers <code> with body "status <code>"
GET  /headers           echoes the request headers as JSON; sets "X-Jostle-Test: yes"
POST /echo (any method) echoes {"method", "body", "content_type"} as JSON
GET  /peer              the client's source port (same port = connection reused)
GET  /stream?n=N        a chunked body of N lines "line i\n", flushed one by one
GET  /big?bytes=N       a body of N bytes
GET  /stall             sends headers and one chunk, then never sends more

With "--tls CERT KEY" it serves https with that certificate.
"""
import json
import socketserver
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body, content_type="text/plain", extra=()):
        data = body.encode() if isinstance(body, str) else body
        if code in (204, 304):
            data = b""  # these answers have no body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _handle(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/status/"):
            code = int(url.path.split("/")[2])
            self._send(code, "status %d" % code)
        elif url.path == "/headers":
            self._send(200, json.dumps({k.lower(): v for k, v in self.headers.items()}),
                       "application/json", [("X-Jostle-Test", "yes")])
        elif url.path == "/echo":
            self._send(200, json.dumps({"method": self.command, "body": body.decode(),
                                        "content_type": self.headers.get("Content-Type", "")}),
                       "application/json")
        elif url.path == "/peer":
            self._send(200, str(self.client_address[1]))
        elif url.path == "/stream":
            n = int(query.get("n", ["3"])[0])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                self._chunk(b"line %d\n" % i)
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/big":
            self._send(200, b"x" * int(query.get("bytes", ["0"])[0]))
        elif url.path == "/stall":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b"first\n")
            time.sleep(3600)
        else:
            self._send(404, "no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":  # --tls CERT KEY: serve https
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
