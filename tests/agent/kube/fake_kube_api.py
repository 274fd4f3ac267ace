"""A fake Kubernetes API server for the pod directory tests: the pods resource of core/v1
with LIST and WATCH, answering with the real API's JSON shapes. Standard library only.

Prints "PORT <n>" on its first stdout line. The test scripts it through /_control/*:

POST /_control/event     {"type": "ADDED|MODIFIED|DELETED", "object": <Pod>}: the next
                         resourceVersion is stamped on the pod, the state changes, and open
                         watches get the event. Answers {"resourceVersion": "<rv>"}.
POST /_control/bookmark  the resourceVersion moves on (changes elsewhere in the cluster)
                         and open watches get a BOOKMARK carrying it.
POST /_control/compact   {"below": N, "mode": "event"|"http", "silent_pods": [<Pod>...]}:
                         the resourceVersion jumps to at least N and history older than N is
                         gone. silent_pods are added without any watch event (lost
                         events). A watch positioned before N gets, in "event" mode, an
                         ERROR event with a 410 Expired Status (open watches too); in "http"
                         mode open watches end and new ones are answered 410 Gone.
POST /_control/token     body = the bearer token required from now on ("" = none).
POST /_control/end_watches   open watches end cleanly (as after timeoutSeconds).
POST /_control/drop_watches  open watch connections are cut mid-stream.
GET  /_control/requests  every API request so far: [{"path", "query", "authorization"}].
"""
import json
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = threading.Condition()
RV = [100]
PODS = {}            # uid -> Pod (with kind/apiVersion)
LOG = []             # [(rv, node or None, line)]: the watch history
COMPACTED = [0, "event"]
TOKEN = [""]
END_GEN = [0]
DROP_GEN = [0]
REQUESTS = []


def status_json(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure", "message": message, "reason": reason,
                       "code": code})


def pod_node(pod):
    return pod.get("spec", {}).get("nodeName")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body, content_type="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    # ---- control -------------------------------------------------------------------
    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        body = self._body()
        with STATE:
            if url.path == "/_control/event":
                event = json.loads(body)
                pod = event["object"]
                RV[0] += 1
                pod.setdefault("kind", "Pod")
                pod.setdefault("apiVersion", "v1")
                pod["metadata"]["resourceVersion"] = str(RV[0])
                uid = pod["metadata"]["uid"]
                if event["type"] == "DELETED":
                    PODS.pop(uid, None)
                else:
                    PODS[uid] = pod
                LOG.append((RV[0], pod_node(pod),
                            json.dumps({"type": event["type"], "object": pod})))
            elif url.path == "/_control/bookmark":
                RV[0] += 1
                LOG.append((RV[0], None, json.dumps({"type": "BOOKMARK", "object": {
                    "kind": "Pod", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(RV[0]), "creationTimestamp": None},
                    "spec": {"containers": None}, "status": {}}})))
            elif url.path == "/_control/compact":
                spec = json.loads(body)
                for pod in spec.get("silent_pods", []):
                    RV[0] += 1
                    pod.setdefault("kind", "Pod")
                    pod.setdefault("apiVersion", "v1")
                    pod["metadata"]["resourceVersion"] = str(RV[0])
                    PODS[pod["metadata"]["uid"]] = pod
                RV[0] = max(RV[0], int(spec["below"]))
                COMPACTED[0] = int(spec["below"])
                COMPACTED[1] = spec.get("mode", "event")
                LOG[:] = [e for e in LOG if e[0] >= COMPACTED[0]]
            elif url.path == "/_control/token":
                TOKEN[0] = body.decode().strip()
            elif url.path == "/_control/end_watches":
                END_GEN[0] += 1
            elif url.path == "/_control/drop_watches":
                DROP_GEN[0] += 1
            else:
                self._send(404, status_json(404, "NotFound", "no control " + url.path))
                return
            STATE.notify_all()
            rv = RV[0]
        self._send(200, json.dumps({"resourceVersion": str(rv)}))

    # ---- API -----------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/_control/requests":
            with STATE:
                self._send(200, json.dumps(REQUESTS))
            return
        with STATE:
            REQUESTS.append({"path": url.path, "query": query,
                             "authorization": self.headers.get("Authorization", "")})
            token = TOKEN[0]
        if token and self.headers.get("Authorization", "") != "Bearer " + token:
            self._send(401, status_json(401, "Unauthorized", "Unauthorized"))
            return
        if url.path != "/api/v1/pods":
            self._send(404, status_json(404, "NotFound", "the server could not find the "
                                        "requested resource"))
            return
        node = None
        selector = query.get("fieldSelector", "")
        if selector.startswith("spec.nodeName="):
            node = selector[len("spec.nodeName="):]
        if query.get("watch") in ("1", "true"):
            self._watch(node, query)
        else:
            self._list(node)

    def _list(self, node):
        with STATE:
            items = []
            for pod in PODS.values():
                if node is not None and pod_node(pod) != node:
                    continue
                item = dict(pod)
                item.pop("kind", None)
                item.pop("apiVersion", None)
                items.append(item)
            body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                               "metadata": {"resourceVersion": str(RV[0])}, "items": items})
        self._send(200, body)

    def _watch(self, node, query):
        timeout = float(query.get("timeoutSeconds", "1800"))
        deadline = time.monotonic() + timeout
        with STATE:
            rv_text = query.get("resourceVersion", "")
            pos = int(rv_text) if rv_text not in ("", "0") else RV[0]
            end_gen, drop_gen = END_GEN[0], DROP_GEN[0]
            if pos < COMPACTED[0] and COMPACTED[1] == "http":
                self._send(410, status_json(410, "Gone", "too old resource version: %d (%d)"
                                            % (pos, COMPACTED[0])))
                return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                lines = []
                finish = None
                with STATE:
                    if DROP_GEN[0] != drop_gen:
                        finish = "drop"
                    elif END_GEN[0] != end_gen or time.monotonic() >= deadline:
                        finish = "end"
                    elif pos < COMPACTED[0]:
                        if COMPACTED[1] == "event":
                            lines.append(json.dumps({"type": "ERROR", "object": json.loads(
                                status_json(410, "Expired", "too old resource version: %d (%d)"
                                            % (pos, COMPACTED[0])))}))
                        finish = "end"
                    else:
                        for rv, event_node, line in LOG:
                            if rv > pos:
                                if event_node is None or node is None or event_node == node:
                                    lines.append(line)
                                pos = rv
                        if not lines:
                            STATE.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
                            continue
                for line in lines:
                    self._chunk(line + "\n")
                if finish == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if finish == "end":
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
