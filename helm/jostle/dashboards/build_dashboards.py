#!/usr/bin/env python3
"""Writes the chart's Grafana dashboards, ci-infrastructure.json and ci-health.json, from the
panel lists below (one place per panel: title, unit, queries). The JSON files are what the
chart ships (ConfigMaps for Grafana's dashboard sidecar) and what users import by hand;
tests/monitoring checks that they are this script's output, that their structure is a
current Grafana dashboard's, and runs every query against a real Prometheus.

Metric names and labels: collector/api/METRICS.md (collector) and
agent/metrics/prometheus.h (agent).

Usage: build_dashboards.py [--check]     (--check: exit 1 when a file is not up to date)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39  # Grafana 10.4 / 11

# Selectors shared by the panels.
NODE = 'node=~"$node"'
POD = 'scope="pod",node=~"$node",namespace=~"$namespace"'
CONTAINER = 'scope="container",node=~"$node",namespace=~"$namespace"'
JOB = 'ci_job=~"$job",branch=~"$branch"'
CONTENDED = 'verdict=~"contention|contention-possible"'
PODS_ON_NODE = 'scope="pod",' + NODE
BRANCH = 'branch=~"$branch"'
SIZED = 'size!="",' + BRANCH
FAILED_JOBS = JOB + ',result="failure"'


def q(expr, legend="", instant=False, fmt=None):
    t = {"expr": expr, "legendFormat": legend}
    if instant:
        t["instant"] = True
        t["range"] = False
    else:
        t["range"] = True
    if fmt:
        t["format"] = fmt
    return t


def panel(kind, title, description, targets, unit="short", w=12, h=8, stack=False, **extra):
    return {"type": kind, "title": title, "description": description, "targets": targets,
            "unit": unit, "w": w, "h": h, "stack": stack, **extra}


def ts(*a, **k):
    return panel("timeseries", *a, **k)


def stat(*a, **k):
    k.setdefault("w", 6)
    k.setdefault("h", 4)
    return panel("stat", *a, **k)


def bars(*a, **k):
    return panel("bargauge", *a, **k)


def table(*a, **k):
    return panel("table", *a, **k)


def rate(metric, sel, window="$__rate_interval"):
    return f"rate({metric}{{{sel}}}[{window}])"


def inc(metric, sel, window="$__range"):
    return f"increase({metric}{{{sel}}}[{window}])"


def ratio(num, den):
    return f"{num}\n/\n{den}"


# --- CI infrastructure: the agents' series -------------------------------------------------
INFRA = [
    ("CPU", [
        ts("Node CPU busy", "Busy share of each node's CPU time (/proc/stat).",
           [q(ratio(f"sum by (node) ({rate('jostle_node_cpu_busy_seconds_total', NODE)})",
                    f"sum by (node) ({rate('jostle_node_cpu_seconds_total', NODE)})"),
              "{{node}}")], unit="percentunit", max=1),
        ts("CPU cores by namespace", "CPU cores used by the pods of each namespace, summed "
           "over the selected nodes.",
           [q(f"sum by (namespace) ({rate('jostle_container_cpu_usage_seconds_total', POD)})",
              "{{namespace}}")], stack=True),
        ts("Pod CPU against node capacity", "CPU cores used by all pods on each node, and the "
           "node's online CPUs.",
           [q(f"sum by (node) ({rate('jostle_container_cpu_usage_seconds_total', PODS_ON_NODE)})",
              "{{node}} pods"),
            q(f"max by (node) (jostle_node_cpus{{{NODE}}})", "{{node}} CPUs")]),
        ts("CPU pressure by node", "Share of time some task waited for CPU "
           "(/proc/pressure/cpu some); the attribution counts >= 20 % as contended.",
           [q(f"max by (node) ({rate('jostle_node_pressure_cpu_some_seconds_total', NODE)})",
              "{{node}}")], unit="percentunit"),
        ts("Load per CPU", "1-minute load average over online CPUs.",
           [q(ratio(f"max by (node) (jostle_node_load1{{{NODE}}})",
                    f"max by (node) (jostle_node_cpus{{{NODE}}})"), "{{node}}")]),
    ]),
    ("Memory", [
        ts("Node memory used", "1 - MemAvailable / MemTotal per node.",
           [q(ratio(f"1 - max by (node) (jostle_node_memory_available_bytes{{{NODE}}})",
                    f"max by (node) (jostle_node_memory_total_bytes{{{NODE}}})"), "{{node}}")],
           unit="percentunit", max=1),
        ts("Memory working set by namespace", "Working set (usage minus inactive file) of the "
           "pods of each namespace.",
           [q(f"sum by (namespace) (jostle_container_memory_working_set_bytes{{{POD}}})",
              "{{namespace}}")], unit="bytes", stack=True),
        ts("Memory by node", "Memory in use (MemTotal - MemAvailable) and installed, per node.",
           [q(f"max by (node) (jostle_node_memory_total_bytes{{{NODE}}} - "
              f"jostle_node_memory_available_bytes{{{NODE}}})", "{{node}} used"),
            q(f"max by (node) (jostle_node_memory_total_bytes{{{NODE}}})", "{{node}} total")],
           unit="bytes"),
        ts("Memory pressure by node", "Share of time some / all tasks stalled on memory "
           "(/proc/pressure/memory); the attribution counts some >= 10 % or full >= 5 %.",
           [q(f"max by (node) ({rate('jostle_node_pressure_memory_some_seconds_total', NODE)})",
              "{{node}} some"),
            q(f"max by (node) ({rate('jostle_node_pressure_memory_full_seconds_total', NODE)})",
              "{{node}} full")], unit="percentunit"),
        bars("Pods nearest their memory limit", "Working set over memory limit, the ten "
             "highest pods (pods without a limit are left out).",
             [q("topk(10, max by (namespace, pod) (" + ratio(
                 f"jostle_container_memory_working_set_bytes{{{POD}}}",
                 f"jostle_container_memory_limit_bytes{{{POD}}}") + "))",
                "{{namespace}}/{{pod}}", instant=True)], unit="percentunit", max=1),
        bars("OOM kills by namespace", "OOM kills in the pods of each namespace over the "
             "dashboard's time range.",
             [q(f"sum by (namespace) ({inc('jostle_container_oom_kills_total', POD)})",
                "{{namespace}}", instant=True)]),
    ]),
    ("I/O and pod pressure", [
        ts("I/O pressure by node", "Share of time some / all tasks stalled on I/O "
           "(/proc/pressure/io); the attribution counts some >= 20 %.",
           [q(f"max by (node) ({rate('jostle_node_pressure_io_some_seconds_total', NODE)})",
              "{{node}} some"),
            q(f"max by (node) ({rate('jostle_node_pressure_io_full_seconds_total', NODE)})",
              "{{node}} full")], unit="percentunit"),
        ts("Pressure in pods", "PSI some of the ten most stalled pods, per resource "
           "(cgroup v2 *.pressure files).",
           [q(f"topk(10, {rate('jostle_container_pressure_cpu_some_seconds_total', POD)})",
              "cpu {{namespace}}/{{pod}}"),
            q(f"topk(10, {rate('jostle_container_pressure_memory_some_seconds_total', POD)})",
              "memory {{namespace}}/{{pod}}"),
            q(f"topk(10, {rate('jostle_container_pressure_io_some_seconds_total', POD)})",
              "io {{namespace}}/{{pod}}")], unit="percentunit"),
    ]),
    ("Network", [
        ts("Network utilisation", "Receive and transmit rate over link speed, per node and "
           "interface (interfaces without a speed are left out); >= 80 % counts as contended.",
           [q("max by (node, interface) (" + ratio(
               rate("jostle_node_network_receive_bytes_total", NODE),
               f"jostle_node_network_speed_bytes{{{NODE}}}") + ")", "{{node}} {{interface}} rx"),
            q("max by (node, interface) (" + ratio(
                rate("jostle_node_network_transmit_bytes_total", NODE),
                f"jostle_node_network_speed_bytes{{{NODE}}}") + ")",
              "{{node}} {{interface}} tx")], unit="percentunit"),
        ts("Network throughput by node", "Bytes per second over all interfaces.",
           [q(f"sum by (node) ({rate('jostle_node_network_receive_bytes_total', NODE)})",
              "{{node}} rx"),
            q(f"sum by (node) ({rate('jostle_node_network_transmit_bytes_total', NODE)})",
              "{{node}} tx")], unit="Bps"),
        ts("Drops and errors by node", "Packets dropped or in error per second, all "
           "interfaces; the attribution counts any drop as contended.",
           [q(f"sum by (node) ({rate('jostle_node_network_receive_drops_total', NODE)})",
              "{{node}} rx drops"),
            q(f"sum by (node) ({rate('jostle_node_network_transmit_drops_total', NODE)})",
              "{{node}} tx drops"),
            q(f"sum by (node) ({rate('jostle_node_network_receive_errors_total', NODE)} + "
              f"{rate('jostle_node_network_transmit_errors_total', NODE)})", "{{node}} errors")],
           unit="pps"),
        ts("TCP retransmits", "Retransmitted over sent TCP segments (/proc/net/snmp); the "
           "attribution counts >= 2 % as contended.",
           [q(ratio(f"sum by (node) ({rate('jostle_node_tcp_retransmitted_segments_total', NODE)})",
                    f"sum by (node) ({rate('jostle_node_tcp_out_segments_total', NODE)})"),
              "{{node}}")], unit="percentunit"),
        ts("Pod network by namespace", "Bytes per second in the pods' own network "
           "namespaces (hostNetwork pods are left out).",
           [q(f"sum by (namespace) ({rate('jostle_pod_network_receive_bytes_total', POD)})",
              "{{namespace}} rx"),
            q(f"sum by (namespace) ({rate('jostle_pod_network_transmit_bytes_total', POD)})",
              "{{namespace}} tx")], unit="Bps"),
        ts("Pod network drops by namespace", "Packets dropped per second in the pods' network "
           "namespaces.",
           [q(f"sum by (namespace) ({rate('jostle_pod_network_receive_drops_total', POD)} + "
              f"{rate('jostle_pod_network_transmit_drops_total', POD)})", "{{namespace}}")],
           unit="pps"),
    ]),
    ("CPU throttling", [
        ts("Throttled periods per pod", "Share of CFS periods in which the pod was throttled, "
           "the twenty most throttled pods; the attribution counts >= 25 % as contended "
           "(own-limit).",
           [q("topk(20, " + ratio(
               f"sum by (namespace, pod) ({rate('jostle_container_cpu_cfs_throttled_periods_total', POD)})",
               f"sum by (namespace, pod) ({rate('jostle_container_cpu_cfs_periods_total', POD)})")
              + ")", "{{namespace}}/{{pod}}")], unit="percentunit", max=1),
        ts("Throttled time per container", "Seconds per second each container spent "
           "throttled, the twenty highest.",
           [q("topk(20, sum by (namespace, pod, container) ("
              f"{rate('jostle_container_cpu_cfs_throttled_seconds_total', CONTAINER)}))",
              "{{namespace}}/{{pod}}/{{container}}")]),
        ts("Pod CPU against its limit", "CPU cores used over the CPU limit, the twenty "
           "highest pods with a limit.",
           [q("topk(20, " + ratio(
               f"sum by (namespace, pod) ({rate('jostle_container_cpu_usage_seconds_total', POD)})",
               f"sum by (namespace, pod) (jostle_container_cpu_limit_cores{{{POD}}})") + ")",
              "{{namespace}}/{{pod}}")], unit="percentunit"),
    ]),
    ("jostle agents and collector", [
        ts("Age of the newest sample", "Per node: seconds since the agent's newest sample, "
           "and since the newest sample the collector stored (JostleNodeSamplesStale alerts "
           "over 2 minutes).",
           [q(f"time() - max by (node) (jostle_agent_last_sample_timestamp_seconds{{{NODE}}})",
              "{{node}} agent"),
            q("time() - max by (node) "
              f"(jostle_collector_node_last_sample_timestamp_seconds{{{NODE}}})",
              "{{node}} collector")], unit="s"),
        ts("Agent spool and drops", "Bytes waiting in each agent's spool, and batches it "
           "dropped (spool full).",
           [q(f"max by (node) (jostle_agent_spool_bytes{{{NODE}}})", "{{node}} spool"),
            q(f"sum by (node) ({inc('jostle_agent_batches_dropped_total', NODE, '$__rate_interval')})",
              "{{node}} dropped")], unit="bytes"),
        ts("Agent sampling time", "Time the agent took to read its last sample.",
           [q(f"max by (node) (jostle_agent_sample_duration_seconds{{{NODE}}})", "{{node}}")],
           unit="s"),
        ts("Collector ingest", "Sample rows stored per second, and the 99th percentile time "
           "to decode and commit a batch.",
           [q("sum(rate(jostle_collector_sample_rows_total[$__rate_interval]))", "rows/s"),
            q("histogram_quantile(0.99, sum by (le) "
              "(rate(jostle_collector_ingest_seconds_bucket[$__rate_interval])))",
              "p99 commit (s)")]),
        ts("Collector errors", "Requests not stored, by kind and reason, and requests "
           "refused for their token.",
           [q("sum by (kind, reason) (rate(jostle_collector_ingest_errors_total[$__rate_interval]))",
              "{{kind}} {{reason}}"),
            q("sum by (reason) (rate(jostle_collector_auth_failures_total[$__rate_interval]))",
              "auth {{reason}}")], unit="reqps"),
        ts("Collector store", "Whether the store answers, the size of its database file and "
           "WAL, and the free space of its volume.",
           [q("min(jostle_collector_store_ready)", "ready"),
            q("max(jostle_collector_store_bytes)", "database"),
            q("max(jostle_collector_store_wal_bytes)", "WAL"),
            q("min(jostle_collector_store_free_bytes)", "free")], unit="bytes"),
    ]),
]

# --- CI health: the collector's jostle_ci_* series -----------------------------------------
FAILED = 'outcome=~"failed|error"'
RUN = 'outcome!="skipped"'


def pain(window):
    return ratio(f"sum({inc('jostle_ci_tests_total', JOB + ',' + FAILED, window)})",
                 f"sum({inc('jostle_ci_tests_total', JOB + ',' + RUN, window)})")


def machine_share(window):
    return ratio(f"sum({inc('jostle_ci_failures_total', CONTENDED + ',' + NODE, window)})",
                 f"sum({inc('jostle_ci_failures_total', NODE, window)})")


def pipeline_quantile(p, window):
    return (f"histogram_quantile({p}, sum by (le) "
            f"({inc('jostle_ci_pipeline_duration_seconds_bucket', BRANCH, window)}))")


def mean(metric, sel, window, by=""):
    group = f" by ({by})" if by else ""
    return ratio(f"sum{group} ({inc(metric + '_sum', sel, window)})",
                 f"sum{group} ({inc(metric + '_count', sel, window)})")


HEALTH = [
    ("Pipelines", [
        stat("Pipeline time", "Mean time from a run's first test start to its last test end "
             "over the time range.",
             [q(mean("jostle_ci_pipeline_duration_seconds", BRANCH, "$__range"),
                instant=True)], unit="s"),
        stat("Pain level", "Failed tests over tests run (skipped left out) over the time "
             "range.", [q(pain("$__range"), instant=True)], unit="percentunit"),
        stat("Failures that were the machine", "Share of failed tests judged contention or "
             "contention-possible over the time range.",
             [q(machine_share("$__range"), instant=True)], unit="percentunit"),
        stat("Flaky rate", "Tests that failed and then passed on a rerun, over tests run.",
             [q(ratio(f"sum({inc('jostle_ci_flaky_tests_total', JOB)})",
                      f"sum({inc('jostle_ci_tests_total', JOB + ',' + RUN)})"), instant=True)],
             unit="percentunit"),
        ts("Pipeline time and its evolution", "p50 and p90 of pipeline time per hour, and the "
           "mean of the same hour a week before.",
           [q(pipeline_quantile(0.5, "1h"), "p50"), q(pipeline_quantile(0.9, "1h"), "p90"),
            q(mean("jostle_ci_pipeline_duration_seconds", BRANCH, "1h")
              .replace("[1h])", "[1h] offset 7d)"), "mean a week before")], unit="s", w=12),
        ts("Pain level over time", "Failed tests over tests run.",
           [q(pain("$__rate_interval"), "pain level")], unit="percentunit", w=12),
    ]),
    ("Jobs", [
        table("Time and failure rate per job", "Per CI job over the time range: mean job "
              "time, share of job runs that failed, share of its tests that failed, flaky "
              "tests.",
              [q(mean("jostle_ci_job_duration_seconds", JOB, "$__range", "ci_job"), instant=True,
                 fmt="table"),
               q(ratio(f"sum by (ci_job) ({inc('jostle_ci_jobs_total', FAILED_JOBS)})",
                       f"sum by (ci_job) ({inc('jostle_ci_jobs_total', JOB)})"), instant=True,
                 fmt="table"),
               q(ratio(f"sum by (ci_job) ({inc('jostle_ci_tests_total', JOB + ',' + FAILED)})",
                       f"sum by (ci_job) ({inc('jostle_ci_tests_total', JOB + ',' + RUN)})"),
                 instant=True, fmt="table"),
               q(f"sum by (ci_job) ({inc('jostle_ci_flaky_tests_total', JOB)})", instant=True,
                 fmt="table")], w=24),
        ts("Job time (p90)", "90th percentile of each job's time per hour.",
           [q("histogram_quantile(0.9, sum by (ci_job, le) "
              f"({inc('jostle_ci_job_duration_seconds_bucket', JOB, '1h')}))", "{{ci_job}}")],
           unit="s"),
        ts("Test failure rate per job", "Failed tests over tests run, per CI job.",
           [q(ratio(f"sum by (ci_job) ({inc('jostle_ci_tests_total', JOB + ',' + FAILED, '$__rate_interval')})",
                    f"sum by (ci_job) ({inc('jostle_ci_tests_total', JOB + ',' + RUN, '$__rate_interval')})"),
              "{{ci_job}}")], unit="percentunit"),
    ]),
    ("Tests", [
        table("Slowest tests", "Mean duration of the slowest tests over the time range; needs "
              "the per-test label (collector/api/METRICS.md).",
              [q("topk(20, " + mean("jostle_ci_test_duration_seconds", 'test!=""', "$__range",
                                    "test") + ")", instant=True, fmt="table")], unit="s"),
        ts("Flaky rate per job", "Flaky tests over tests run, per CI job.",
           [q(ratio(f"sum by (ci_job) ({inc('jostle_ci_flaky_tests_total', JOB, '$__rate_interval')})",
                    f"sum by (ci_job) ({inc('jostle_ci_tests_total', JOB + ',' + RUN, '$__rate_interval')})"),
              "{{ci_job}}")], unit="percentunit"),
        panel("heatmap", "Test durations", "Distribution of test durations (last attempt).",
              [q("sum by (le) "
                 f"({inc('jostle_ci_test_duration_seconds_bucket', BRANCH, '$__rate_interval')})",
                 "{{le}}", fmt="heatmap")], unit="s"),
        ts("Test duration quantiles", "p50 and p95 of test durations, by outcome.",
           [q("histogram_quantile(0.5, sum by (outcome, le) "
              f"({rate('jostle_ci_test_duration_seconds_bucket', BRANCH)}))",
              "p50 {{outcome}}"),
            q("histogram_quantile(0.95, sum by (outcome, le) "
              f"({rate('jostle_ci_test_duration_seconds_bucket', BRANCH)}))",
              "p95 {{outcome}}")], unit="s"),
        bars("Test size distribution", "Tests run by size over the time range.",
             [q("sum by (size) "
                f"({inc('jostle_ci_test_duration_seconds_count', SIZED)})",
                "{{size}}", instant=True)]),
        ts("Timing violations", "Tests slower than their size's limit, by size.",
           [q(f"sum by (size) ({inc('jostle_ci_timing_violations_total', JOB, '$__rate_interval')})",
              "{{size}}")]),
        ts("Tests by outcome", "Tests run per outcome of their last attempt.",
           [q(f"sum by (outcome) ({inc('jostle_ci_tests_total', JOB, '$__rate_interval')})",
              "{{outcome}}")], stack=True),
    ]),
    ("The machine", [
        ts("Failures by verdict", "Failed tests of judged runs by verdict.",
           [q(f"sum by (verdict) ({inc('jostle_ci_failures_total', NODE, '$__rate_interval')})",
              "{{verdict}}")], stack=True),
        bars("Contended failures by resource", "Failures judged contention or "
             "contention-possible over the time range, by the most severe resource.",
             [q(f"sum by (resource) ({inc('jostle_ci_failures_total', CONTENDED + ',' + NODE)})",
                "{{resource}}", instant=True)]),
        bars("Contended failures by node", "Failures judged contention or contention-possible "
             "over the time range, by node.",
             [q(f"sum by (node) ({inc('jostle_ci_failures_total', CONTENDED + ',' + NODE)})",
                "{{node}}", instant=True)]),
        ts("Share of failures that were the machine", "Per interval.",
           [q(machine_share("$__rate_interval"), "share")], unit="percentunit"),
    ]),
    ("Collector", [
        ts("Result uploads", "Uploads stored and rejected per second.",
           [q("sum by (result) (rate(jostle_collector_result_uploads_total[$__rate_interval]))",
              "{{result}}")], unit="reqps"),
        ts("Webhook deliveries", "Alert deliveries per target and result.",
           [q("sum by (target, result) "
              "(increase(jostle_collector_webhook_deliveries_total[$__rate_interval]))",
              "{{target}} {{result}}")]),
        ts("Age of the newest sample per node", "Seconds since the collector's newest sample "
           "of each node.",
           [q("time() - max by (node) "
              f"(jostle_collector_node_last_sample_timestamp_seconds{{{NODE}}})", "{{node}}")],
           unit="s"),
    ]),
]


def var_datasource():
    return {"type": "datasource", "name": "datasource", "label": "Data source",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
            "options": []}


def var_query(name, label, query):
    return {"type": "query", "name": name, "label": label, "datasource": DS,
            "definition": query, "query": {"query": query, "refId": f"{name}-variable"},
            "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "sort": 1, "hide": 0, "regex": ""}


def var_custom(name, label, values, description):
    opts = [{"selected": True, "text": "All", "value": "$__all"}] + [
        {"selected": False, "text": v, "value": v} for v in values]
    return {"type": "custom", "name": name, "label": label, "description": description,
            "query": ",".join(values), "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": opts, "hide": 0}


def grafana_panel(p, pid, x, y):
    targets = []
    for i, t in enumerate(p["targets"]):
        targets.append({"datasource": DS, "refId": chr(ord("A") + i), "editorMode": "code",
                        **t})
    defaults = {"unit": p["unit"]}
    if "max" in p:
        defaults["max"] = p["max"]
        defaults["min"] = 0
    out = {"id": pid, "type": p["type"], "title": p["title"], "description": p["description"],
           "datasource": DS, "gridPos": {"h": p["h"], "w": p["w"], "x": x, "y": y},
           "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []}}
    if p["type"] == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                              "showPoints": "never", "spanNulls": False,
                              "stacking": {"mode": "normal" if p["stack"] else "none",
                                           "group": "A"}}
        out["options"] = {"legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
    elif p["type"] == "stat":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "colorMode": "value", "graphMode": "none", "textMode": "auto"}
    elif p["type"] == "bargauge":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "orientation": "horizontal", "displayMode": "gradient"}
    elif p["type"] == "table":
        out["options"] = {"showHeader": True}
        out["transformations"] = [{"id": "merge", "options": {}}]
    elif p["type"] == "heatmap":
        out["options"] = {"calculate": False, "yAxis": {"unit": p["unit"]},
                          "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges"}}
    return out


def dashboard(uid, title, description, sections, variables, tags):
    panels, pid, y = [], 1, 0
    for row_title, row_panels in sections:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid += 1
        y += 1
        x, row_h = 0, 0
        for p in row_panels:
            if x + p["w"] > 24:
                x, y = 0, y + row_h
                row_h = 0
            panels.append(grafana_panel(p, pid, x, y))
            pid += 1
            x += p["w"]
            row_h = max(row_h, p["h"])
        y += row_h
    return {
        "uid": uid, "title": title, "description": description, "tags": tags,
        "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": True,
        "graphTooltip": 1, "timezone": "browser", "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"}, "timepicker": {},
        "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [], "templating": {"list": variables}, "panels": panels,
    }


def build():
    node = var_query("node", "Node", "label_values(jostle_node_cpus, node)")
    infra = dashboard(
        "jostle-ci-infrastructure", "jostle / CI infrastructure",
        "CPU, memory, pressure, network and throttling of the CI nodes and their pods, from "
        "jostle-agent; and the health of the agents and the collector.",
        INFRA,
        [var_datasource(), node,
         var_query("namespace", "Namespace",
                   'label_values(jostle_container_cpu_usage_seconds_total{scope="pod",'
                   'node=~"$node"}, namespace)')],
        ["jostle", "ci"])
    health = dashboard(
        "jostle-ci-health", "jostle / CI health",
        "Pipeline and job time, pain level, failure and flaky rates, test durations and sizes, "
        "timing violations, and the share of failures that were the machine, from "
        "jostle-collector.",
        HEALTH,
        [var_datasource(),
         var_query("job", "CI job", "label_values(jostle_ci_tests_total, ci_job)"),
         var_custom("branch", "Branch", ["default", "other"],
                    "The run's branch: the repository's default branch, or any other"),
         var_query("node", "Node", "label_values(jostle_collector_node_last_sample_timestamp_"
                   "seconds, node)")],
        ["jostle", "ci"])
    return {"ci-infrastructure.json": infra, "ci-health.json": health}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in build().items():
        text = json.dumps(board, indent=2) + "\n"
        path = os.path.join(HERE, name)
        if check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("not up to date (run helm/jostle/dashboards/build_dashboards.py): " +
                 ", ".join(stale))


if __name__ == "__main__":
    main()
