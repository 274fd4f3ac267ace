#!/usr/bin/env python3
"""Times GET /api/v1/ci-metrics' computation (CiAnalytics::GetCiMetrics through
`jostle stats --db`) over a generated history: DAYS days of RUNS runs a day, each with 4 jobs
of TESTS/4 tests (one attempt each, 3 % failed, 1 % passed on a rerun), on two branches.

The database is made by `jostle ingest` (today's schema) and filled with plain SQL inserts
into its tables; then `jostle stats --db DB --since 30d` runs REPEAT times (one process each,
so the figure includes start-up and opening the file) and the wall times are printed.

Usage: ci_metrics.py BUILD_BIN_DIR [DAYS RUNS TESTS [REPEAT]]   (default 30 200 2000 3)
"""
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

DAY = 86400 * 10**9


def main():
    bin_dir = sys.argv[1]
    days, runs_a_day, tests = (int(a) for a in (sys.argv[2:5] or (30, 200, 2000)))
    repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    work = tempfile.mkdtemp(prefix="jostle-bench-ci-metrics-")
    db = os.path.join(work, "jostle.db")
    seed = os.path.join(work, "seed.json")
    with open(seed, "w") as f:
        json.dump({"format": "jostle-results/v1", "tests": [
            {"id": "seed::t", "attempts": [{"outcome": "passed", "duration_s": 1}]}]}, f)
    subprocess.run([f"{bin_dir}/jostle", "--log-level", "warn", "ingest", "--no-ci-env", "--db",
                    db, "--run", "seed", seed], check=True)
    rng = random.Random(1)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now = time.time_ns()
    start_fill = time.time()
    execution_count = 0
    per_job = tests // 4
    for d in range(days):
        rows = []
        for r in range(runs_a_day):
            t0 = now - (days - d) * DAY + r * (DAY // runs_a_day)
            run_id = d * runs_a_day + r + 10
            commit = f"{rng.getrandbits(40):010x}"
            branch = "main" if r % 3 else f"feature/{r % 17}"
            conn.execute(
                "INSERT INTO runs(id, name, first_upload_ns, last_upload_ns, commit_sha, branch, "
                "default_branch, on_default, pr, provider, first_start_ns, last_end_ns) "
                "VALUES(?, ?, ?, ?, ?, ?, 'main', ?, '', 'bench', ?, ?)",
                (run_id, f"run-{run_id}", t0 + 1800 * 10**9, t0 + 1800 * 10**9, commit, branch,
                 1 if branch == "main" else 0, t0, t0 + 1700 * 10**9))
            for j in range(4):
                upload_id = run_id * 4 + j
                failed = 0
                t = t0
                for k in range(per_job):
                    test_id = f"tests/test_m{(j * per_job + k) // 20}.py::test_{j * per_job + k}"
                    dur = 0.05 + rng.random() * 1.5
                    x = rng.random()
                    attempts = [("failed", 0)] if x < 0.03 else (
                        [("failed", 0), ("passed", 0)] if x < 0.04 else [("passed", 0)])
                    failed += attempts[-1][0] == "failed"
                    for a, (outcome, _) in enumerate(attempts):
                        rows.append((upload_id, run_id, f"job-{j}", test_id, "", "", "", "", None,
                                     a, outcome, t, dur, 0, "", "", "node-1", "", "",
                                     1 if a == len(attempts) - 1 else 0, t))
                        t += int(dur * 1e9)
                conn.execute(
                    "INSERT INTO uploads(id, run_id, job, pod_namespace, pod_name, node, source, "
                    "format, producer, warnings, received_ns, tests, failed, shard_index, "
                    "shard_total, attempt, url, exit_code, digest) VALUES(?, ?, ?, '', '', "
                    "'node-1', 'bench', 'jostle-json', 'bench', '[]', ?, ?, ?, NULL, NULL, 1, '', "
                    "NULL, '')", (upload_id, run_id, f"job-{j}", t0 + 1800 * 10**9, per_job,
                                  failed))
        conn.executemany(
            "INSERT INTO executions(upload_id, run_id, job, test_id, suite, classname, name, file, "
            "line, attempt, outcome, start_ns, duration_s, timing_approximate, message, details, "
            "node, pod_namespace, pod_name, final, time_ns) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
        execution_count += len(rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    fill_s = time.time() - start_fill
    size = os.path.getsize(db)
    print(f"history: {days} days x {runs_a_day} runs x {tests} tests = {execution_count} "
          f"executions, {size / 2**20:.0f} MiB, filled in {fill_s:.0f} s")
    times = []
    for _ in range(repeat):
        t = time.time()
        out = subprocess.run([f"{bin_dir}/jostle", "--log-level", "warn", "stats", "--db", db,
                              "--since", f"{days + 1}d"], check=True, capture_output=True,
                             text=True).stdout
        times.append(time.time() - t)
    m = json.loads(out)
    print(f"jostle stats --db (GetCiMetrics, SQLite): {', '.join(f'{s:.2f}' for s in times)} s; "
          f"runs {m['runs']}, jobs {m['jobs']}, test_runs {m['test_runs']}, "
          f"flaky {len(m['flaky'])}")
    subprocess.run(["rm", "-rf", work], check=True)


if __name__ == "__main__":
    main()
