#!/usr/bin/env python3
"""The chart's monitoring files, without servers: promtool check rules on every rule file,
promtool test rules (tests/monitoring/rules*_test.yaml) with a firing and a silent case for
every alert, amtool check-config on the Alertmanager example, and the dashboards' JSON: this
tree's build_dashboards.py output, and the structure of a current Grafana dashboard (a
datasource variable every panel and query uses, the node/namespace/job/branch variables,
every $variable a query uses defined, unique panel ids and refIds, panels inside the grid).
Grafana itself is not packaged here: the rendering is not checked.

Usage: static_checks.py REPO_DIR
Exit 77 (skipped) when promtool or amtool is missing; 1 instead when JOSTLE_REQUIRE_REAL is set.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

REPO = os.path.abspath(sys.argv[1])
CHART = os.path.join(REPO, "helm", "jostle")
HERE = os.path.join(REPO, "tests", "monitoring")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def tool(name):
    path = shutil.which(name)
    if not path:
        reason = f"{name} is not installed (scripts/install-deps.sh installs it)"
        if os.environ.get("JOSTLE_REQUIRE_REAL", "0") not in ("", "0"):
            sys.exit(f"a real part this test needs is missing (JOSTLE_REQUIRE_REAL is set): {reason}")
        print("SKIP:", reason)
        sys.exit(77)
    return path


def run(*cmd, cwd=None):
    r = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
    check(r.returncode == 0, " ".join(cmd) + " failed:\n" + r.stdout + r.stderr)
    return r.stdout


promtool, amtool = tool("promtool"), tool("amtool")
rule_files = sorted(glob.glob(os.path.join(CHART, "rules", "*.yaml")))
check(len(rule_files) >= 2, f"rule files in helm/jostle/rules: {rule_files}")
for f in rule_files:
    run(promtool, "check", "rules", f)
tests = sorted(glob.glob(os.path.join(HERE, "rules*_test.yaml")))
run(promtool, "test", "rules", *tests, cwd=HERE)

# Every alert: labelled, annotated, and tested both firing and silent.
fires, silent = set(), set()
for t in tests:
    for case in yaml.safe_load(open(t))["tests"]:
        for a in case.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else silent).add(a["alertname"])
for f in rule_files:
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            if "alert" not in r:
                check(r["record"].startswith("jostle:"), f"recording rule {r['record']} is "
                      "named level:metric:operations with level jostle")
                continue
            name = r["alert"]
            check(name.startswith("Jostle"), f"alert {name} starts with Jostle")
            check(r.get("labels", {}).get("severity") in ("critical", "warning", "info"),
                  f"alert {name} has a severity label")
            check({"summary", "description"} <= set(r.get("annotations", {})),
                  f"alert {name} has summary and description annotations")
            check(name in fires, f"alert {name}: no promtool test where it fires")
            check(name in silent, f"alert {name}: no promtool test where it stays silent")

out = run(amtool, "check-config", os.path.join(CHART, "examples", "alertmanager-slack.yaml"))
check("SUCCESS" in out, "amtool check-config on examples/alertmanager-slack.yaml")

# README's plain scrape_configs: the job names the rules expect, the collector's token, and
# promtool check config on it (Debian's Prometheus is built without Kubernetes service
# discovery, so that part is swapped for a static target before the check).
readme = open(os.path.join(REPO, "README.md")).read()
m = re.search(r"```yaml\n(rule_files:.*?)```", readme, re.S)
if check(m, "README has a scrape_configs example"):
    conf = yaml.safe_load(m.group(1))
    jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
    check(set(jobs) == {"jostle-agent", "jostle-collector"},
          f"README's scrape jobs are jostle-agent and jostle-collector: {sorted(jobs)}")
    check("credentials_file" in jobs.get("jostle-collector", {}).get("authorization", {}),
          "README's collector job sends a token")
    for j in conf["scrape_configs"]:
        if j.pop("kubernetes_sd_configs", None) is not None:
            j["static_configs"] = [{"targets": ["127.0.0.1:9101"]}]
    conf["rule_files"] = rule_files
    with open(os.path.join(os.environ.get("TMPDIR", "/tmp"),
                           f"jostle-readme-prometheus-{os.getpid()}.yml"), "w") as f:
        yaml.safe_dump(conf, f)
    run(promtool, "check", "config", "--syntax-only", f.name)
    os.unlink(f.name)

run(sys.executable, os.path.join(CHART, "dashboards", "build_dashboards.py"), "--check")
wanted_vars = {"ci-infrastructure.json": {"datasource", "node", "namespace"},
               "ci-health.json": {"datasource", "node", "job", "branch"}}
boards = sorted(glob.glob(os.path.join(CHART, "dashboards", "*.json")))
check({os.path.basename(b) for b in boards} == set(wanted_vars),
      f"the dashboards are {sorted(wanted_vars)}")
for path in boards:
    name = os.path.basename(path)
    d = json.load(open(path))
    check(d.get("schemaVersion", 0) >= 36 and d.get("uid") and d.get("title"),
          f"{name}: uid, title and a current schemaVersion")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    check(wanted_vars.get(name, set()) <= set(variables), f"{name}: variables {sorted(variables)}")
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          f"{name}: a Prometheus datasource variable")
    for v in variables.values():
        if v["type"] == "query":
            check(v["datasource"]["uid"] == "${datasource}" and
                  re.fullmatch(r"label_values\(.+,\s*\w+\)", v["definition"]),
                  f"{name}: variable {v['name']} is a label_values query on $datasource")
    ids = [p["id"] for p in d["panels"]]
    check(len(ids) == len(set(ids)), f"{name}: panel ids are unique")
    for p in d["panels"]:
        g = p["gridPos"]
        check(0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, f"{name} '{p['title']}': "
              "inside the 24-column grid")
        if p["type"] == "row":
            continue
        check(p.get("datasource", {}).get("uid") == "${datasource}",
              f"{name} '{p['title']}': uses $datasource")
        refs = [t["refId"] for t in p["targets"]]
        check(refs and len(refs) == len(set(refs)), f"{name} '{p['title']}': unique refIds")
        for t in p["targets"]:
            check(t.get("datasource", {}).get("uid") == "${datasource}" and t.get("expr"),
                  f"{name} '{p['title']}' {t['refId']}: an expr on $datasource")
            for used in re.findall(r"\$\{?(\w+)", t["expr"]):
                check(used.startswith("__") or used in variables,
                      f"{name} '{p['title']}': ${used} is no variable of the dashboard")

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print(f"monitoring files: {len(rule_files)} rule files, {len(fires)} alerts tested both ways, "
      f"{len(boards)} dashboards, the Alertmanager example")
