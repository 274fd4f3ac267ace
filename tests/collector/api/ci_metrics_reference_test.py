#!/usr/bin/env python3
"""GET /api/v1/ci-metrics and /api/v1/tests/flaky of a real jostle-collector, checked against
this script's own computation over the same uploads (not against anything the collector
computes).

Generates (seeded) 14 runs over the last 20 days on two branches, with shared commits, a
sharded `unit` job (some jobs retried as CI attempt 2), a `lint` job with an exit code, tests
that fail, pass on retry and are skipped; uploads them over loopback as jostle JSON results
(one file twice, which must change nothing), waits until the collector has judged every run
with a failure (no samples: every verdict no-data), then compares every figure of
ci-metrics (unfiltered, branch=main, job=unit, bucket=week) and tests/flaky.

Usage: ci_metrics_reference_test.py BUILD_BIN_DIR
"""
import datetime
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN = "ci,read token-reference-1"
DAY = 86400 * 10**9
FAILED = ("failed", "error")


def request(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Authorization": "Bearer token-reference-1",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def rfc3339(ns):
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ns // 10**6) % 1000:03d}Z"


def parse_time(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000) * 10**6


# One upload: run, identity, job, shard, attempt, exit, tests = [(id, [(outcome, start, dur)])].
def generate(now_ns):
    rng = random.Random(20261204)
    commits = [f"{rng.getrandbits(32):08x}" for _ in range(5)]
    uploads = []
    for r in range(14):
        run = f"run-{r:02d}"
        branch = "main" if r % 3 else "feature/x"
        start = now_ns - (20 - r * 1.4) * DAY + rng.randrange(0, 3600) * 10**9
        start = int(start) // 10**9 * 10**9
        identity = {"commit": rng.choice(commits[:3] if branch == "main" else commits[3:]),
                    "branch": branch, "default_branch": "main"}
        t = start
        for shard in (1, 2):
            for attempt in ((1, 2) if r % 4 == 1 and shard == 1 else (1,)):
                tests = []
                for k in range(8 * (shard - 1), 8 * shard):
                    attempts = []
                    for _ in range(rng.choice((1, 1, 1, 2))):
                        outcome = rng.choices(["passed", "failed", "error", "skipped"],
                                              [75, 15, 3, 7])[0]
                        dur = rng.randrange(1, 40) * 0.25
                        attempts.append((outcome, t, dur))
                        t += int(dur * 1e9) + 250 * 10**6
                        if outcome == "passed":
                            break
                    tests.append((f"tests/test_m{k % 5}.py::test_{k}", attempts))
                uploads.append({"run": run, "identity": identity, "job": "unit",
                                "shard": (shard, 2), "attempt": attempt, "exit": None,
                                "tests": tests})
        lint_dur = rng.randrange(4, 20) * 0.25
        uploads.append({"run": run, "identity": identity, "job": "lint", "shard": None,
                        "attempt": 1, "exit": 1 if r % 5 == 2 else 0,
                        "tests": [("lint::ruff", [("passed", t, lint_dur)])]})
    return uploads


def body_of(u):
    return json.dumps({"format": "jostle-results/v1", "producer": "reference", "tests": [
        {"id": tid, "attempts": [{"outcome": o, "start": rfc3339(s), "duration_s": d}
                                 for o, s, d in attempts]} for tid, attempts in u["tests"]]})


def post(port, u):
    q = {"job": u["job"], "attempt": str(u["attempt"]), **u["identity"]}
    if u["shard"]:
        q["shard"] = f"{u['shard'][0]}/{u['shard'][1]}"
    if u["exit"] is not None:
        q["exit"] = str(u["exit"])
    status, body = request(port, "POST", f"/api/v1/runs/{u['run']}/results?" +
                           urllib.parse.urlencode(q), body_of(u).encode())
    assert status == 200, body
    return json.loads(body)


def percentile(values, p):
    values = sorted(values)
    return values[max(1, math.ceil(p * len(values))) - 1]


def bucket_of(t, week):
    day = t // DAY
    if week:
        day = (day + 3) // 7 * 7 - 3
    return day * DAY


def reference(uploads, since_ns, branch="", job="", week=False, limit=100):
    """Every figure of ci-metrics, from the generated uploads."""
    runs = {}
    for u in uploads:
        for tid, attempts in u["tests"]:
            runs.setdefault(u["run"], []).extend(s for _, s, _ in attempts)
    run_start = {r: min(s) for r, s in runs.items()}
    kept = [u for u in uploads if run_start[u["run"]] >= since_ns and
            (not branch or u["identity"]["branch"] == branch) and (not job or u["job"] == job)]
    test_runs = {}  # (run, job, test) -> attempts in upload order
    for u in kept:
        for tid, attempts in u["tests"]:
            test_runs.setdefault((u["run"], u["job"], tid), []).extend(attempts)
    per_run = {}
    for (run, _, _), attempts in test_runs.items():
        p = per_run.setdefault(run, {"tests": 0, "failed": 0, "starts": [], "ends": []})
        p["tests"] += 1
        p["failed"] += attempts[-1][0] in FAILED
        p["starts"] += [s for _, s, _ in attempts]
        p["ends"] += [s + int(d * 1e9) for _, s, d in attempts]
    durations, pain = {}, {}
    for run, p in per_run.items():
        b = bucket_of(run_start[run], week)
        durations.setdefault(b, []).append((max(p["ends"]) - min(p["starts"])) / 1e9)
        pain.setdefault(b, []).append((p["tests"], p["failed"]))
    out = {"runs": len(per_run), "test_runs": len(test_runs)}
    out["pipeline_duration"] = {b: (len(v), percentile(v, .5), percentile(v, .9), max(v))
                                for b, v in durations.items()}
    out["pain_level"] = {b: (len(v), sum(t for t, _ in v), sum(f for _, f in v),
                             sum(f / t for t, f in v) / len(v), max(f / t for t, f in v))
                         for b, v in pain.items()}
    jobs = {}
    for u in kept:
        key = (u["run"], u["job"], u["shard"], u["attempt"])
        j = jobs.setdefault(key, {"failed": False, "starts": [], "ends": []})
        j["failed"] |= any(a[-1][0] in FAILED for _, a in u["tests"]) or (u["exit"] or 0) != 0
        for _, attempts in u["tests"]:
            j["starts"] += [s for _, s, _ in attempts]
            j["ends"] += [s + int(d * 1e9) for _, s, d in attempts]
    out["jobs"] = len(jobs)
    job_d, job_f = {}, {}
    for (run, name, _, _), j in jobs.items():
        b = bucket_of(run_start[run], week)
        job_d.setdefault(name, {}).setdefault(b, []).append(
            (max(j["ends"]) - min(j["starts"])) / 1e9)
        job_f.setdefault(name, {}).setdefault(b, []).append(j["failed"])
    out["job_duration"] = {
        n: ((len(a := sum(by.values(), [])), percentile(a, .5), percentile(a, .9), max(a)),
            {b: (len(v), percentile(v, .5), percentile(v, .9), max(v)) for b, v in by.items()})
        for n, by in job_d.items()}
    out["job_failure_rate"] = {
        n: ((len(a := sum(by.values(), [])), sum(a), sum(a) / len(a)),
            {b: (len(v), sum(v), sum(v) / len(v)) for b, v in by.items()})
        for n, by in job_f.items()}
    rates = {}
    for (_, _, tid), attempts in test_runs.items():
        if attempts[-1][0] != "skipped":
            r = rates.setdefault(tid, [0, 0])
            r[0] += 1
            r[1] += attempts[-1][0] in FAILED
    failing = sorted(((tid, n, f) for tid, (n, f) in rates.items() if f),
                     key=lambda x: (-x[2] / x[1], -x[2], x[0]))
    out["test_failure_rate"] = [(tid, n, f, f / n) for tid, n, f in failing][:limit]
    passed = {}
    for u in kept:
        for tid, attempts in u["tests"]:
            for o, _, d in attempts:
                if o == "passed":
                    passed.setdefault(tid, {}).setdefault(
                        bucket_of(run_start[u["run"]], week), []).append(d)
    means = {tid: (len(a := sum(by.values(), [])), sum(a) / len(a), max(a), by)
             for tid, by in passed.items()}
    slow = sorted(means.items(), key=lambda x: -x[1][1])[:10]
    out["slowest"] = [(tid, m[1], m[2], m[0]) for tid, m in slow]
    by_time = sorted(means.items(), key=lambda x: -x[1][1] * x[1][0])[:limit]
    out["test_duration"] = {tid: (m[0], m[1], m[2], {b: (len(v), sum(v) / len(v))
                                                     for b, v in m[3].items()})
                            for tid, m in by_time}
    commit_of = {u["run"]: u["identity"]["commit"] or "run:" + u["run"] for u in uploads}
    finals = {}
    for (run, _, tid), attempts in test_runs.items():
        if attempts[-1][0] != "skipped":
            finals.setdefault((tid, commit_of[run]), set()).add(
                "failed" if attempts[-1][0] in FAILED else attempts[-1][0])
    flaky = {}
    for (run, _, tid), attempts in test_runs.items():
        last = attempts[-1][0]
        if last == "skipped":
            continue
        retried = last == "passed" and any(o in FAILED for o, _, _ in attempts[:-1])
        mixed = {"failed", "passed"} <= finals[(tid, commit_of[run])]
        f = flaky.setdefault(tid, {"runs": 0, "flaky": 0, "commits": set(), "retry": 0})
        f["runs"] += 1
        f["retry"] += retried
        if retried or mixed:
            f["flaky"] += 1
            f["commits"].add(commit_of[run])
    ranked = sorted(((tid, f) for tid, f in flaky.items() if f["flaky"]),
                    key=lambda x: (-x[1]["flaky"], -x[1]["flaky"] / x[1]["runs"], x[0]))
    out["flaky"] = [(tid, f["runs"], f["flaky"], f["flaky"] / f["runs"], len(f["commits"]),
                     f["retry"]) for tid, f in ranked][:limit]
    out["failures"] = {b: sum(f for _, f in v) for b, v in pain.items()}
    return out


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def check(name, got, want, problems):
    if isinstance(want, float) or isinstance(got, float):
        ok = close(float(got), float(want))
    else:
        ok = got == want
    if not ok:
        problems.append(f"{name}: collector {got!r}, reference {want!r}")


def compare(m, ref, problems, label):
    p = lambda name: f"{label} {name}"  # noqa: E731
    check(p("runs"), m["runs"], ref["runs"], problems)
    check(p("jobs"), m["jobs"], ref["jobs"], problems)
    check(p("test_runs"), m["test_runs"], ref["test_runs"], problems)
    got = {parse_time(b["bucket"]): (b["count"], b["p50_s"], b["p90_s"], b["max_s"])
           for b in m["pipeline_duration"]}
    check(p("pipeline_duration buckets"), sorted(got), sorted(ref["pipeline_duration"]), problems)
    for b, want in ref["pipeline_duration"].items():
        for k, v in enumerate(want):
            check(p(f"pipeline_duration[{b}][{k}]"), got.get(b, (0,) * 4)[k], v, problems)
    got = {parse_time(b["bucket"]): (b["runs"], b["tests"], b["failed"], b["mean"], b["max"])
           for b in m["pain_level"]}
    for b, want in ref["pain_level"].items():
        for k, v in enumerate(want):
            check(p(f"pain_level[{b}][{k}]"), got.get(b, (0,) * 5)[k], v, problems)
    check(p("pain_level buckets"), len(got), len(ref["pain_level"]), problems)
    for j in m["job_duration"]:
        want = ref["job_duration"].get(j["job"])
        if want is None:
            problems.append(p(f"job_duration: unexpected job {j['job']}"))
            continue
        for k, key in enumerate(("count", "p50_s", "p90_s", "max_s")):
            check(p(f"job_duration[{j['job']}].{key}"), j[key], want[0][k], problems)
        for b in j["buckets"]:
            w = want[1][parse_time(b["bucket"])]
            for k, key in enumerate(("count", "p50_s", "p90_s", "max_s")):
                check(p(f"job_duration[{j['job']}][{b['bucket']}].{key}"), b[key], w[k], problems)
    check(p("job_duration jobs"), sorted(j["job"] for j in m["job_duration"]),
          sorted(ref["job_duration"]), problems)
    for j in m["job_failure_rate"]:
        want = ref["job_failure_rate"][j["job"]]
        for k, key in enumerate(("jobs", "failed", "rate")):
            check(p(f"job_failure_rate[{j['job']}].{key}"), j[key], want[0][k], problems)
        for b in j["buckets"]:
            w = want[1][parse_time(b["bucket"])]
            for k, key in enumerate(("jobs", "failed", "rate")):
                check(p(f"job_failure_rate[{j['job']}][{b['bucket']}].{key}"), b[key], w[k],
                      problems)
    check(p("test_failure_rate"), [(t["test"], t["runs"], t["failed"]) for t in
                                   m["test_failure_rate"]],
          [(t, n, f) for t, n, f, _ in ref["test_failure_rate"]], problems)
    for t, want in zip(m["test_failure_rate"], ref["test_failure_rate"]):
        check(p(f"test_failure_rate[{t['test']}].rate"), t["rate"], want[3], problems)
    check(p("slowest"), [t["test"] for t in m["slowest"]], [t[0] for t in ref["slowest"]],
          problems)
    for t, want in zip(m["slowest"], ref["slowest"]):
        check(p(f"slowest[{t['test']}]"), (t["runs"], round(t["mean_s"], 9), t["max_s"]),
              (want[3], round(want[1], 9), want[2]), problems)
    check(p("test_duration tests"), sorted(t["test"] for t in m["test_duration"]),
          sorted(ref["test_duration"]), problems)
    for t in m["test_duration"]:
        want = ref["test_duration"].get(t["test"])
        if want is None:
            continue
        check(p(f"test_duration[{t['test']}].runs"), t["runs"], want[0], problems)
        check(p(f"test_duration[{t['test']}].mean_s"), t["mean_s"], want[1], problems)
        for b in t["buckets"]:
            w = want[3][parse_time(b["bucket"])]
            check(p(f"test_duration[{t['test']}][{b['bucket']}]"), (b["runs"], round(b["mean_s"], 9)),
                  (w[0], round(w[1], 9)), problems)
    check(p("flaky"), [(t["test"], t["runs"], t["flaky_runs"], t["commits"], t["passed_on_retry"])
                       for t in m["flaky"]],
          [(t, n, f, c, r) for t, n, f, _, c, r in ref["flaky"]], problems)
    for t, want in zip(m["flaky"], ref["flaky"]):
        check(p(f"flaky[{t['test']}].rate"), t["rate"], want[3], problems)
        check(p(f"flaky[{t['test']}].contended"), t["contended"], 0, problems)
    check(p("last_jobs"), len(m["last_jobs"]), min(100, ref["jobs"]), problems)
    starts = [parse_time(j["start"]) for j in m["last_jobs"]]
    check(p("last_jobs newest first"), starts, sorted(starts, reverse=True), problems)
    # No samples: every judged failure is no-data, so no bucket's pain was contention.
    got = {parse_time(c["bucket"]): (c["failures"], c["judged"], c["contention"], c["share"])
           for c in m["contention_share"]}
    for b, failures in ref["failures"].items():
        want = (failures, failures, 0, 0.0 if failures else None)
        check(p(f"contention_share[{b}]"), got.get(b), want, problems)


def main():
    bin_dir = sys.argv[1]
    work = tempfile.mkdtemp(prefix="jostle-ci-metrics-")
    with open(os.path.join(work, "tokens"), "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(os.path.join(work, "tokens"), 0o600)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(work, "collector.log"), "w")
    collector = subprocess.Popen(
        [f"{bin_dir}/jostle-collector", "serve", "--db", f"{work}/jostle.db",
         "--listen", f"127.0.0.1:{port}", "--token-file", f"{work}/tokens",
         "--alert-delay", "100ms"], stderr=log)
    try:
        for _ in range(400):
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        now_ns = time.time_ns()
        uploads = generate(now_ns)
        for u in uploads:
            post(port, u)
        again = post(port, uploads[3])  # a retried upload: acknowledged, stored once
        assert again["already_stored"] is True, again

        failing_runs = {u["run"] for u in uploads if any(
            a[-1][0] in FAILED or any(o in FAILED for o, _, _ in a) for _, a in u["tests"])}
        problems = []
        full = reference(uploads, now_ns - 30 * DAY)
        total = sum(full["failures"].values())
        deadline = time.time() + 60
        while True:  # until the collector has judged every run with a failure
            status, body = request(port, "GET", "/api/v1/ci-metrics?since=30d")
            assert status == 200, body
            m = json.loads(body)
            judged = sum(c["judged"] for c in m["contention_share"])
            if judged >= total or time.time() > deadline:
                break
            time.sleep(0.1)
        compare(m, full, problems, "since=30d")
        for query, kwargs in (("since=30d&branch=main", {"branch": "main"}),
                              ("since=30d&job=unit", {"job": "unit"}),
                              ("since=30d&bucket=week", {"week": True}),
                              ("since=9d&limit=5", {"limit": 5})):
            since = now_ns - (9 if "9d" in query else 30) * DAY
            status, body = request(port, "GET", "/api/v1/ci-metrics?" + query)
            assert status == 200, body
            compare(json.loads(body), reference(uploads, since, **kwargs), problems, query)
        status, body = request(port, "GET", "/api/v1/tests/flaky?since=30d&branch=main")
        assert status == 200, body
        want = reference(uploads, now_ns - 30 * DAY, branch="main")["flaky"]
        check("tests/flaky branch=main",
              [(t["test"], t["runs"], t["flaky_runs"], t["commits"]) for t in
               json.loads(body)["tests"]], [(t, n, f, c) for t, n, f, _, c, _ in want], problems)
        if not full["flaky"] or not full["test_failure_rate"] or len(failing_runs) < 3:
            problems.append("the generated uploads have too few failures to test anything")
        if problems:
            print("\n".join(problems[:40]))
            print(f"{len(problems)} differences; collector log in {work}/collector.log")
            return 1
        print(f"ci-metrics and tests/flaky match the reference: {full['runs']} runs, "
              f"{full['jobs']} jobs, {full['test_runs']} test runs, {len(full['flaky'])} flaky "
              f"tests, {total} judged failures")
        shutil.rmtree(work, ignore_errors=True)
        return 0
    finally:
        collector.terminate()
        collector.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
