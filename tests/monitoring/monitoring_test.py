#!/usr/bin/env python3
"""The chart's dashboards and rules against a real Prometheus.

A real jostle-agent samples a fixture host (tests/fixtures/hosts/cgroup_v2_systemd's pods and
cgroups, tests/fixtures/procfs/normal_host's node files) whose counters this script advances
while it runs: the node's CPU is 95 % busy, one pod is throttled, the network moves. A real
jostle-collector takes the agent's batches and result uploads of several CI runs (JUnit, with
failures and a flaky rerun, on the fixture node, so the collector judges them), and tells two
webhooks: one answers, one refuses connections. A real Prometheus (Debian's) on loopback
scrapes both every second, the collector with the read token, and loads helm/jostle/rules.

Then every query of every panel of helm/jostle/dashboards/*.json, with the dashboards'
variables as a newcomer first sees them (All) and the variable queries themselves, goes
through Prometheus's HTTP API: all must parse, every variable query must list values, and
every query must return data except those in NO_DATA_YET, each of which names the series it
waits for; those series must be absent from the collector's /metrics (when they appear, the
query must return data too). At least 80 % must return data. Every rule must evaluate without
error, and JostleWebhookFailing must fire. collector/api/METRICS.md must name the families the
collector exposes.

Usage: monitoring_test.py REPO_DIR BIN_DIR
Exit 77 (skipped) when prometheus is not installed; 1 instead when JOSTLE_REQUIRE_REAL is set.
"""
import glob
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

REPO, BIN = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CHART = os.path.join(REPO, "helm", "jostle")
PROMETHEUS = shutil.which("prometheus")
NODE = "fixture-node"
TOKENS = {"agent": "agent-token-monitoring", "ci": "ci-token-monitoring",
          "read": "read-token-monitoring"}
# Pods of the fixture host (their UIDs are in its cgroup names) as the kubelet's log dirs
# name them, so the agent gives them namespaces without a Kubernetes API.
PODS = {"0b5c1d2e-1111-4a4a-8b8b-000000000001": ("ci", "runner-1"),
        "0b5c1d2e-2222-4a4a-8b8b-000000000002": ("ci", "runner-2"),
        "0b5c1d2e-3333-4a4a-8b8b-000000000003": ("batch", "nightly")}
THROTTLED_POD = ("sys/fs/cgroup/kubepods.slice/"
                 "kubepods-pod0b5c1d2e_1111_4a4a_8b8b_000000000001.slice")

# Queries allowed to return no data now, by a substring of the query, with the series they
# wait for: each must be absent from the collector's /metrics (checked).
NO_DATA_YET = {
    "jostle_ci_pipeline_duration_seconds": "pipeline durations come with run identity (CI "
                                           "analytics, collector/api/METRICS.md)",
    "jostle_ci_job_duration_seconds": "job durations come with run identity (CI analytics)",
    "jostle_ci_jobs_total": "job outcomes come with run identity (CI analytics)",
    "jostle_ci_timing_violations_total": "timing violations need test sizes (CI analytics)",
    'size!=""': "test sizes come with the CI analytics (label size of "
                "jostle_ci_test_duration_seconds)",
    'test!=""': "the per-test label is opt-in and not yet offered (collector/api/METRICS.md)",
}
# The series each NO_DATA_YET key stands for, as /metrics would show it.
NO_DATA_SERIES = {'size!=""': 'jostle_ci_test_duration_seconds_count{size=',
                  'test!=""': 'jostle_ci_test_duration_seconds_count{test='}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def skip(reason):
    if os.environ.get("JOSTLE_REQUIRE_REAL", "0") not in ("", "0"):
        sys.exit(f"a real part this test needs is missing (JOSTLE_REQUIRE_REAL is set): {reason}")
    print("SKIP:", reason)
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, token=None, timeout=5):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


def wait_until(fn, what, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if fn():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return check(False, what)


# --- the fixture host, with counters that move ------------------------------------------------
class FixtureHost:
    """A copy of the fixture trees; tick() advances the node's and one pod's counters in place
    (the agent keeps some files open, so they are rewritten, not replaced)."""

    def __init__(self, root):
        self.root = root
        shutil.copytree(os.path.join(REPO, "tests/fixtures/procfs/normal_host"), root, symlinks=True)
        shutil.copytree(os.path.join(REPO, "tests/fixtures/hosts/cgroup_v2_systemd"), root,
                        symlinks=True, dirs_exist_ok=True)
        for uid, (ns, name) in PODS.items():
            os.makedirs(os.path.join(root, "var/log/pods", f"{ns}_{name}_{uid}"))
        self.t = 0
        self.stat = open(os.path.join(root, "proc/stat")).read().split("\n")
        self.cpu_stat = open(os.path.join(root, THROTTLED_POD, "cpu.stat")).read()

    def write(self, rel, text):
        with open(os.path.join(self.root, rel), "r+" if os.path.exists(
                os.path.join(self.root, rel)) else "w") as f:
            f.write(text)
            f.truncate()

    def tick(self):
        self.t += 1
        t = self.t
        # 2 CPUs, USER_HZ 100, a tick per 0.25 s: 50 jiffies, 95 % of them busy (user).
        busy, idle = 4705 + 48 * t, 1016582 + 2 * t
        lines = list(self.stat)
        lines[0] = f"cpu  {busy} 356 5845 {idle} 4352 0 209 12 0 0"
        self.write("proc/stat", "\n".join(lines))
        for res, share in (("cpu", 0.3), ("memory", 0.02), ("io", 0.05)):
            some = int(83451000 + share * 250000 * t)
            self.write(f"proc/pressure/{res}",
                       f"some avg10=1.52 avg60=0.87 avg300=0.33 total={some}\n"
                       f"full avg10=0.00 avg60=0.00 avg300=0.00 total={some // 4}\n")
        rx, tx = 111 + 25_000_000 * t, 222 + 12_000_000 * t
        dev = ("Inter-|   Receive                                                |  Transmit\n"
               " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
               "packets errs drop fifo colls carrier compressed\n"
               "    lo:       0        0    0    0    0     0          0         0        0"
               "        0    0    0    0     0       0          0\n"
               f"  eth0: {rx} {1 + 20000 * t}    0 {t // 4}    0     0          0         0 "
               f"{tx} {2 + 9000 * t}    0    0    0     0       0          0\n")
        snmp = ("Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
                "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
                f"Tcp: 1 200 120000 -1 1 0 0 0 1 {10 + 900 * t} {11 + 1000 * t} {t * 3} 0 0 0\n")
        for d in ("proc", "proc/1"):
            self.write(f"{d}/net/dev", dev)
            self.write(f"{d}/net/snmp", snmp)
        # Pod runner-1: 0.5 cores, throttled in 40 % of its periods.
        self.write(os.path.join(THROTTLED_POD, "cpu.stat"),
                   f"usage_usec {1000123 + 125000 * t}\nuser_usec 600000\nsystem_usec 400123\n"
                   f"nr_periods {100 + 3 * t}\nnr_throttled {10 + (6 * t) // 5}\n"
                   f"throttled_usec {5000 + 20000 * t}\nnr_bursts 0\nburst_usec 0\n")


# --- CI results ---------------------------------------------------------------------------------
def junit(run, start_s):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_s))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="{run}" tests="4" failures="1" errors="0" skipped="1"
 timestamp="{stamp}+00:00" time="2.2">
<testcase classname="tests.api" name="test_ok" time="0.4"/>
<testcase classname="tests.api" name="test_slow_io" time="1.2"><failure message="timeout">slow</failure></testcase>
<testcase classname="tests.api" name="test_retry" time="0.3"><failure message="x">x</failure></testcase>
<testcase classname="tests.api" name="test_retry" time="0.3"/>
<testcase classname="tests.api" name="test_skip" time="0"><skipped/></testcase>
</testsuite></testsuites>"""


def upload(collector, run, job, start_s):
    url = (f"{collector}/api/v1/runs/{run}/results?job={job}&node={NODE}"
           f"&pod=ci/runner-1")
    req = urllib.request.Request(url, data=junit(run, start_s).encode(), method="POST")
    req.add_header("Authorization", "Bearer " + TOKENS["ci"])
    req.add_header("Content-Type", "application/xml")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        Hook.received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


# --- dashboards ---------------------------------------------------------------------------------
def panel_queries(board):
    for p in board["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t


def fill(expr, range_s):
    expr = expr.replace("$__rate_interval", "4s").replace("$__interval", "1s")
    expr = expr.replace("$__range", f"{range_s}s")
    # Every variable at its default, All: its allValue.
    return re.sub(r"\$\{?(node|namespace|job|branch)\}?", ".*", expr)


def label_values(prom, definition):
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", definition)
    match = fill(m.group(1), 60)
    url = (f"{prom}/api/v1/label/{m.group(2)}/values?" +
           urllib.parse.urlencode({"match[]": match}))
    return json.loads(http_get(url))["data"]


def run_query(prom, expr, instant, range_s):
    now = time.time()
    if instant:
        url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": now})
    else:
        url = f"{prom}/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": expr, "start": now - range_s, "end": now, "step": 1})
    try:
        body = json.loads(http_get(url))
    except urllib.error.HTTPError as e:
        return None, e.read().decode()
    values = []
    for series in body["data"]["result"]:
        values += [v for _, v in series.get("values", [series.get("value", [0, "NaN"])])]
    return [v for v in values if v not in ("NaN", "+Inf", "-Inf")], None


def check_dashboards(prom, metrics_text, range_s):
    total = with_data = 0
    for path in sorted(glob.glob(os.path.join(CHART, "dashboards", "*.json"))):
        board = json.load(open(path))
        name = os.path.basename(path)
        for v in board["templating"]["list"]:
            if v["type"] == "query":
                vals = label_values(prom, v["definition"])
                check(vals, f"{name}: variable {v['name']} ({v['definition']}) lists no values")
        for title, t in panel_queries(board):
            total += 1
            expr = fill(t["expr"], range_s)
            values, error = run_query(prom, expr, t.get("instant", False), range_s)
            if not check(error is None, f"{name} '{title}' {t['refId']}: does not parse: {error}"):
                continue
            waits = [k for k in NO_DATA_YET if k in t["expr"]]
            if values:
                with_data += 1
            elif waits:
                for k in waits:
                    series = NO_DATA_SERIES.get(k, k)
                    check(series not in metrics_text,
                          f"{name} '{title}': {series} is exposed now, yet the query "
                          "returns nothing")
                print(f"  no data yet: {name} '{title}' {t['refId']}: {NO_DATA_YET[waits[0]]}")
            else:
                check(False, f"{name} '{title}' {t['refId']}: no data for {expr}")
    share = with_data / total if total else 0
    print(f"dashboards: {with_data} of {total} queries return data ({share:.0%})")
    check(share >= 0.8, f"only {share:.0%} of the dashboards' queries return data (need 80 %)")


def check_metrics_doc(metrics_text):
    """collector/api/METRICS.md names every family /metrics has as "now", and only those."""
    doc = open(os.path.join(REPO, "collector", "api", "METRICS.md")).read()
    rows = re.findall(r"^\| `(jostle_[a-z_]+)` \| \w+ \|[^|]*\| (now|planned)", doc, re.M)
    now = {n for n, status in rows if status == "now"}
    planned = {n for n, status in rows if status == "planned"}
    exposed = set(re.findall(r"^# TYPE (\S+) ", metrics_text, re.M))
    check(now == exposed, "METRICS.md's 'now' families and /metrics differ: only in the doc "
          f"{sorted(now - exposed)}, only exposed {sorted(exposed - now)}")
    check(not planned & exposed, f"METRICS.md marks {sorted(planned & exposed)} planned, but "
          "the collector exposes them: mark them now")


def check_rules(prom):
    groups = json.loads(http_get(f"{prom}/api/v1/rules"))["data"]["groups"]
    files = sorted(glob.glob(os.path.join(CHART, "rules", "*.yaml")))
    check(len({g["file"] for g in groups}) == len(files),
          f"Prometheus loaded {len(groups)} groups from {len(files)} rule files")
    for g in groups:
        for r in g["rules"]:
            check(r["health"] == "ok", f"rule {r['name']}: {r['health']} {r.get('lastError')}")
    wait_until(lambda: any(a["labels"]["alertname"] == "JostleWebhookFailing" and
                           a["state"] == "firing" for a in json.loads(
                               http_get(f"{prom}/api/v1/alerts"))["data"]["alerts"]),
               "JostleWebhookFailing fires after a delivery failed", seconds=20)


def main():
    if not PROMETHEUS:
        skip("prometheus is not installed (scripts/install-deps.sh installs Debian's)")
    work = tempfile.mkdtemp(prefix="jostle-monitoring-")
    procs = []
    try:
        host = FixtureHost(os.path.join(work, "host"))
        host.tick()
        with open(os.path.join(work, "tokens"), "w") as f:
            f.write("".join(f"{scope} {tok}\n" for scope, tok in TOKENS.items()))
        for scope in ("agent", "read"):
            with open(os.path.join(work, scope + "-token"), "w") as f:
                f.write(TOKENS[scope] + "\n")
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        cport, aport, pport = free_port(), free_port(), free_port()
        collector = f"http://127.0.0.1:{cport}"
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "jostle-collector"), "serve", f"--db={work}/jostle.db",
             f"--listen=127.0.0.1:{cport}", f"--token-file={work}/tokens",
             f"--webhook=http://127.0.0.1:{hook.server_address[1]}/hook",
             f"--webhook=http://127.0.0.1:{free_port()}/refused",
             "--alert-delay=0s", "--alert-max-wait=3s", "--log-level=warn"],
            stderr=open(f"{work}/collector.log", "w")))
        wait_until(lambda: http_get(collector + "/healthz"), "collector answers /healthz")
        env = dict(os.environ)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "jostle-agent"), f"--node-name={NODE}", "--interval=500ms",
             f"--proc-root={host.root}/proc", f"--sys-root={host.root}/sys",
             f"--cgroup-root={host.root}/sys/fs/cgroup", "--kube=auto",
             f"--pod-log-dir={host.root}/var/log/pods", f"--collector={collector}",
             f"--token-file={work}/agent-token", f"--spool-dir={work}/spool",
             "--batch-ticks=1", f"--listen=127.0.0.1:{aport}", "--log-level=warn"],
            env=env, stderr=open(f"{work}/agent.log", "w")))
        rules = sorted(glob.glob(os.path.join(CHART, "rules", "*.yaml")))
        with open(f"{work}/prometheus.yml", "w") as f:
            json.dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": rules,
                "scrape_configs": [
                    {"job_name": "jostle-agent",
                     "static_configs": [{"targets": [f"127.0.0.1:{aport}"]}]},
                    {"job_name": "jostle-collector",
                     "authorization": {"credentials_file": f"{work}/read-token"},
                     "static_configs": [{"targets": [f"127.0.0.1:{cport}"]}]}]}, f)
        procs.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={work}/prometheus.yml",
             f"--storage.tsdb.path={work}/tsdb", f"--web.listen-address=127.0.0.1:{pport}"],
            stdout=subprocess.DEVNULL, stderr=open(f"{work}/prometheus.log", "w")))
        prom = f"http://127.0.0.1:{pport}"
        wait_until(lambda: http_get(prom + "/-/ready"), "prometheus becomes ready")
        started = time.monotonic()

        def up():
            r = json.loads(http_get(prom + "/api/v1/query?query=up"))["data"]["result"]
            return len(r) == 2 and all(s["value"][1] == "1" for s in r)

        # Results of a run every two seconds, as CI jobs upload them, while the counters move.
        runs = 0
        next_upload = 0.0
        deadline = time.monotonic() + 60

        def ready():
            metrics = http_get(collector + "/metrics", TOKENS["read"])
            return (up() and "jostle_ci_failures_total{" in metrics and
                    'result="failed"} 1' in metrics and 'result="delivered"}' in metrics and
                    time.monotonic() - started >= 10)

        while time.monotonic() < deadline:
            host.tick()
            if time.monotonic() >= next_upload:
                runs += 1
                for job in ("unit", "e2e"):
                    upload(collector, f"run-{runs}", job, time.time() - 3)
                next_upload = time.monotonic() + 2
            try:
                if ready():
                    break
            except OSError:
                pass
            time.sleep(0.25)
        check(up(), "Prometheus scrapes the agent and the collector (with its token): up == 1")
        metrics = http_get(collector + "/metrics", TOKENS["read"])
        check("jostle_ci_failures_total{" in metrics,
              "the collector judged the uploaded runs (jostle_ci_failures_total)")
        check('result="delivered"}' in metrics and 'result="failed"} 1' in metrics,
              "webhook deliveries were counted, delivered and failed")
        for _ in range(8):  # a few more scrapes with the counters moving
            host.tick()
            time.sleep(0.25)
        range_s = max(10, int(time.monotonic() - started))
        check_metrics_doc(metrics)
        check_dashboards(prom, metrics, range_s)
        check_rules(prom)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if failures:
            for log in ("collector.log", "agent.log", "prometheus.log"):
                path = os.path.join(work, log)
                if os.path.exists(path):
                    print(f"--- {log}\n" + open(path).read()[-3000:])
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("monitoring: dashboards and rules hold against a real Prometheus")


if __name__ == "__main__":
    main()
