#!/usr/bin/env python3
"""Contention scenarios with known truth, on this machine, for `jostle run`.

Each scenario builds real cgroups beneath this process's own (in every hierarchy it is in),
puts real load in them (stress-ng, dd, fsync loops), and runs the pytest suite in
tests/accuracy/suite under `jostle run` several times into one database: quiet runs first
(the history), then runs under load. Every failed test of every run is compared with the
truth the scenario states (machine-caused or not; which resource; which culprit) and scored:

  contention precision  failures called `contention` that were the machine / all `contention`
  recall                machine-caused failures called `contention` or `contention-possible`
                        / all machine-caused failures
  culprit accuracy      machine-caused failures called either, whose first culprit is the
                        one the scenario names / those failures
  not-machine contention  genuine bugs and random flakes called `contention` (goal: 0)

Usage: accuracy.py --jostle BUILD/bin/jostle [--scenario NAME]... [--json FILE] [--list]
                   [--work DIR] [--quick]
Exit: 0 when the scenarios ran and every --require goal is met; 1 when a goal is not met, on
an error of the harness or jostle, or (with JOSTLE_REQUIRE_REAL=1) when a real part is
missing; 77 when none could run here (no root, no stress-ng/pytest, or not quiet).
A scenario whose quiet runs were not quiet (other processes used more than --quiet-limit of
the CPU, measured from /proc/stat less jostle's own children) is skipped with the reason.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUITE = os.path.join(HERE, "suite")
CGROUP_ROOT = "/sys/fs/cgroup"
PYTHON = "/usr/bin/python3"

CPU_TESTS = ["test_cpu_checkout", "test_cpu_search", "test_cpu_login"]
IO_TESTS = ["test_io_journal", "test_io_snapshot"]
MEMORY_TESTS = ["test_memory_cache_warmup", "test_memory_index_build"]
BUG = "test_bug_rounding"
FLAKE = "test_flaky_order"


def say(*args):
    print("accuracy:", *args, file=sys.stderr, flush=True)


class Skip(Exception):
    """The scenario cannot give a valid measurement here; the message says why."""


# --- cgroups ---------------------------------------------------------------------------


def own_hierarchies():
    """(mount dir, own path, v2?) for each hierarchy of /proc/self/cgroup jostle samples."""
    out = []
    v2_only = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if not controllers:
                mount = CGROUP_ROOT if v2_only else os.path.join(CGROUP_ROOT, "unified")
                if os.path.exists(os.path.join(mount, "cgroup.controllers")):
                    out.append((mount, path, True))
                continue
            names = controllers.split(",")
            if not {"cpu", "cpuacct", "memory", "blkio"} & set(names):
                continue
            mount = os.path.join(CGROUP_ROOT, controllers)
            if os.path.isdir(mount):
                out.append((mount, path, False))
    return out


class Cgroup:
    """One cgroup at <own>/REL in every hierarchy this process is in; removed by remove()."""

    def __init__(self, rel):
        self.rel = rel
        self.name = os.path.basename(rel)
        self.dirs = []  # (dir, v2?)
        for mount, own, v2 in own_hierarchies():
            d = os.path.join(mount + (own if own != "/" else ""), rel)
            try:
                os.mkdir(d)
            except FileExistsError:
                pass
            except OSError as e:
                self.remove()
                raise Skip(f"cannot create cgroup {d}: {e.strerror}")
            self.dirs.append((d, v2))
        if not self.dirs:
            raise Skip("no cpu, memory or v2 cgroup hierarchy under " + CGROUP_ROOT)

    def _write(self, file, value):
        done = False
        for d, _ in self.dirs:
            p = os.path.join(d, file)
            if os.path.exists(p):
                with open(p, "w", encoding="ascii") as f:
                    f.write(value + "\n")
                done = True
        return done

    def set_cpu_weight(self, times_default):
        if not (self._write("cpu.shares", str(1024 * times_default)) or
                self._write("cpu.weight", str(100 * times_default))):
            raise Skip(f"no CPU weight file in cgroup {self.rel}")

    def set_cpu_limit(self, cores):
        period = 100000
        if not (self._write("cpu.cfs_period_us", str(period)) and
                self._write("cpu.cfs_quota_us", str(int(cores * period)))):
            if not self._write("cpu.max", f"{int(cores * period)} {period}"):
                raise Skip(f"no CPU quota file in cgroup {self.rel}")

    def set_memory_limit(self, nbytes):
        if not (self._write("memory.limit_in_bytes", str(nbytes)) or
                self._write("memory.max", str(nbytes))):
            raise Skip(f"no memory limit file in cgroup {self.rel}")

    def enter(self):
        """For preexec_fn: moves the calling process into this cgroup everywhere."""
        for d, _ in self.dirs:
            with open(os.path.join(d, "cgroup.procs"), "w", encoding="ascii") as f:
                f.write(str(os.getpid()) + "\n")

    def cpu_usage_s(self):
        for d, v2 in self.dirs:
            try:
                if not v2 and os.path.exists(os.path.join(d, "cpuacct.usage")):
                    with open(os.path.join(d, "cpuacct.usage"), encoding="ascii") as f:
                        return int(f.read()) / 1e9
                with open(os.path.join(d, "cpu.stat"), encoding="ascii") as f:
                    for line in f:
                        k, v = line.split()
                        if k == "usage_usec":
                            return int(v) / 1e6
            except OSError:
                continue
        return None

    def remove(self):
        for d, _ in reversed(self.dirs):
            # Children first (jostle run's own cgroups beneath an enclosing one).
            for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
                parent = os.path.dirname(sub)
                try:
                    with open(os.path.join(sub, "cgroup.procs"), encoding="ascii") as f:
                        pids = f.read().split()
                    for pid in pids:
                        try:
                            with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                                f.write(pid + "\n")
                        except OSError:
                            pass
                except OSError:
                    continue
                self._rmdir(sub)
        self.dirs = []

    @staticmethod
    def _rmdir(path, timeout_s=10.0):
        """rmdir, polled while a process that could not be moved (exiting, or in
        uninterruptible IO) still holds the cgroup; says so when it never empties."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if time.monotonic() >= deadline:
                    say(f"cgroup {path} not removed: {e}")
                    return
                time.sleep(0.1)


class Load:
    """A load command in a cgroup, its whole process group stopped by stop()."""

    def __init__(self, cgroup, argv, cwd, ready_cpu_s=0.5, files=()):
        self.cgroup = cgroup
        self.ready_cpu_s = ready_cpu_s
        self.files = files  # scratch files the load writes, deleted by stop()
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=cgroup.enter)

    def wait_busy(self, timeout=20):
        """Until its cgroup used ready_cpu_s of CPU since now (the load is running)."""
        cpu_s = self.ready_cpu_s
        start = self.cgroup.cpu_usage_s() or 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"load {self.argv} exited with {self.proc.returncode}")
            if (self.cgroup.cpu_usage_s() or 0) - start >= cpu_s:
                return
            time.sleep(0.05)
        raise RuntimeError(f"load {self.argv} used no CPU in {timeout} s")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for path in self.files:
            if os.path.exists(path):
                os.unlink(path)


# --- measuring quiet ---------------------------------------------------------------------


def machine_ticks():
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v)


def children_ticks():
    t = os.times()
    return (t.children_user + t.children_system) * os.sysconf("SC_CLK_TCK")


# --- runs --------------------------------------------------------------------------------


class Scenario:
    """A named setup with runs and the truth of each failure.

    runs: list of dicts {"load": callable(scenario) -> [Load] or None, "env": {...},
          "results": "reportlog" | "junit", "reruns": 0, "stop_load_on_failure": False}
    truth(run_index, test_name) -> None (not machine-caused) or
          {"resource": "cpu"|"memory"|"io", "culprit": substring of the culprit name or
           "own-limit"}.
    """

    def __init__(self, name, doc, tests, runs, truth, setup=None, cgroups=None,
                 enclosing=None):
        self.name, self.doc, self.tests, self.runs, self.truth = name, doc, tests, runs, truth
        self.setup = setup or (lambda s: None)
        self.cgroups = cgroups or []       # relative names of neighbour cgroups to sample
        self.enclosing = enclosing         # callable(scenario) -> Cgroup jostle runs in, or None
        self.cg = {}                       # name -> Cgroup, made by setup


def flake_seed(fails):
    """A seed for test_flaky_order that makes it fail (fails=True) or pass at p = 0.3."""
    for n in range(10000):
        seed = str(n)
        if (random.Random(seed).random() < 0.3) == fails:
            return seed
    raise AssertionError("no seed")


def run_once(args, scenario, work, db, index, run, enclosing):
    name = f"{scenario.name}-{index}"
    run_dir = os.path.join(work, name)
    os.makedirs(run_dir)
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(run.get("env", {}))
    tests = [f"{SUITE}/{t}" for t in scenario.tests]
    pytest = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", SUITE]
    junit_only = run.get("results", "reportlog") == "junit"
    if junit_only:
        pytest += ["--junitxml=junit.xml", "-o", "junit_family=xunit2"]
    if run.get("reruns"):
        pytest += [f"--reruns={run['reruns']}",
                   f"--reruns-delay={run.get('reruns_delay', 3)}"]
    pytest += tests
    cmd = [args.jostle, "run", "--db", db, "--report-dir", os.path.join(run_dir, "report"),
           "--run-id", name, "--job", scenario.name, "--quiet"]
    if junit_only:
        cmd.append("--no-pytest-plugin")  # start times rebuilt from the JUnit XML
    for c in scenario.cgroups:
        cmd += ["--cgroup", c]
    cmd += ["--"] + pytest
    loads = []
    try:
        if run.get("load"):
            loads = run["load"](scenario)
            for load in loads:
                load.wait_busy()
                env.update(getattr(load, "env", dict)())
        busy0, total0 = machine_ticks()
        own0 = children_ticks()
        with open(os.path.join(run_dir, "jostle-run.log"), "w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, cwd=run_dir, env=env, stdout=log, stderr=log,
                                    preexec_fn=enclosing.enter if enclosing else None)
            if run.get("stop_load_on_failure"):
                watch_first_failure(proc, loads)
            rc = proc.wait(600)
        busy1, total1 = machine_ticks()
        own1 = children_ticks()
    finally:
        for load in loads:
            load.stop()
    others = max(0.0, ((busy1 - busy0) - (own1 - own0)) / max(1, total1 - total0))
    report_path = os.path.join(run_dir, "report", "report.json")
    if rc not in (0, 1) or not os.path.exists(report_path):
        with open(os.path.join(run_dir, "jostle-run.log"), encoding="utf-8") as f:
            sys.stderr.write(f.read())
        raise RuntimeError(f"{name}: jostle run exited with {rc} (expected 0 or 1)")
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    if report["summary"]["tests"] == 0:
        raise RuntimeError(f"{name}: no test results in the report; see {run_dir}/jostle-run.log")
    return report, others


def watch_first_failure(proc, loads):
    """Stops the loads as soon as a report-log of jostle's pytest plugin (in the scratch
    directory jostle run made, found through the pytest process's environment) shows a
    failed call phase."""
    logs = None
    while proc.poll() is None:
        logs = logs or plugin_log_dir(proc.pid)
        try:
            for line in read_logs(logs):
                ev = json.loads(line)
                if ev.get("$report_type") == "TestReport" and ev.get("when") == "call" \
                        and ev.get("outcome") in ("failed", "rerun"):
                    for load in loads:
                        load.stop()
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)


def plugin_log_dir(jostle_pid):
    """JOSTLE_PYTEST_REPORT_DIR of a child of `jostle_pid`, or None while there is none."""
    try:
        with open(f"/proc/{jostle_pid}/task/{jostle_pid}/children", encoding="ascii") as f:
            children = f.read().split()
        for child in children:
            with open(f"/proc/{child}/environ", "rb") as f:
                for entry in f.read().split(b"\0"):
                    if entry.startswith(b"JOSTLE_PYTEST_REPORT_DIR="):
                        return entry.split(b"=", 1)[1].decode()
    except OSError:
        pass
    return None


def read_logs(directory):
    if not directory or not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            yield from f


def judged(report):
    """(name, entry) for every judged failure: the failures, and flaky tests' failed tries."""
    for f in report.get("failures", []):
        yield f["name"], f
    for f in report.get("flaky", []):
        yield f["name"], f


def run_scenario(args, scenario):
    work = os.path.join(args.work, scenario.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    db = os.path.join(work, "jostle.db")
    rows = []
    made = []
    try:
        scenario.setup(scenario)
        made = list(scenario.cg.values())
        enclosing = scenario.enclosing(scenario) if scenario.enclosing else None
        calib = os.path.join(work, "baseline.json")
        for index, run in enumerate(scenario.runs):
            env = dict(run.get("env", {}))
            if run.get("calibrate"):
                env["ACC_CALIBRATE"] = calib
            else:
                env["ACC_BASELINE"] = calib
            run = dict(run, env=env)
            report, others = run_once(args, scenario, work, db, index, run, enclosing)
            if not run.get("load") and others > args.quiet_limit:
                raise Skip(f"run {index} was to be quiet, but other processes used "
                           f"{others:.0%} of the CPU (limit {args.quiet_limit:.0%})")
            for name, f in judged(report):
                truth = scenario.truth(index, name)
                culprits = f.get("culprits") or []
                top = culprits[0] if culprits else None
                rows.append({
                    "scenario": scenario.name, "run": index, "test": name,
                    "verdict": f["verdict"], "resource": f.get("resource"),
                    "culprit": (top["kind"] + ":" + top["name"]) if top else None,
                    "timing": f.get("timing"), "flaky": f.get("flaky", False),
                    "decided_by": (f.get("evidence") or {}).get("decided_by"),
                    "truth": truth,
                    "culprit_right": bool(truth and top and culprit_matches(truth, top)),
                })
    finally:
        for cg in reversed(made):
            cg.remove()
    return rows


def culprit_matches(truth, top):
    if truth["culprit"] == "own-limit":
        return top["kind"] == "own-limit" and truth.get("where", "") in top["name"] + \
            top.get("detail", "")
    return top["kind"] != "own-limit" and truth["culprit"] in top["name"]


def score(rows):
    called = [r for r in rows if r["verdict"] == "contention"]
    machine = [r for r in rows if r["truth"]]
    found = [r for r in machine if r["verdict"] in ("contention", "contention-possible")]
    return {
        "judged": len(rows),
        "machine_caused": len(machine),
        "contention": len(called),
        "contention_right": sum(1 for r in called if r["truth"]),
        "precision": (sum(1 for r in called if r["truth"]) / len(called)) if called else None,
        "recall": (len(found) / len(machine)) if machine else None,
        "culprit_accuracy": (sum(1 for r in found if r["culprit_right"]) / len(found))
        if found else None,
        "not_machine_contention": sum(1 for r in called if not r["truth"]),
        "not_machine_possible": sum(1 for r in rows if not r["truth"] and
                                    r["verdict"] == "contention-possible"),
    }


# --- scenarios ---------------------------------------------------------------------------


def cg_setup(*specs):
    """setup() making one cgroup per (key, rel, configure(cg)) beneath our own."""
    def setup(s):
        for key, rel, configure in specs:
            cg = Cgroup(rel)
            s.cg[key] = cg
            configure(cg)
    return setup


def stress_cpu(key, workers):
    def load(s):
        return [Load(s.cg[key], ["stress-ng", "--cpu", str(workers), "--timeout", "600s",
                                 "--quiet"], "/")]
    return load


def quiet(n, calibrate_first=True, **extra):
    return [dict(extra, calibrate=(calibrate_first and i == 0)) for i in range(n)]


def cpu_truth(culprit, loaded_from, where=""):
    def truth(index, name):
        if index >= loaded_from and name in CPU_TESTS:
            return {"resource": "cpu", "culprit": culprit, "where": where}
        return None
    return truth


def scenarios(quick):
    suffix = str(os.getpid())
    nproc = os.cpu_count() or 1
    q = 2 if quick else 4    # quiet runs (history)
    n = 1 if quick else 3    # loaded runs
    out = []

    burner = "acc-burner-" + suffix
    out.append(Scenario(
        "cpu-neighbour",
        "stress-ng --cpu NPROC in a sibling cgroup with 10x the CPU weight",
        ["test_cpu.py", "test_other.py"],
        quiet(q) + [dict(load=stress_cpu("burner", nproc)) for _ in range(n)],
        cpu_truth(burner, q),
        setup=cg_setup(("burner", burner, lambda c: c.set_cpu_weight(10))),
        cgroups=[burner]))

    heavy, light = "acc-heavy-" + suffix, "acc-light-" + suffix

    def two_loads(s):
        return [Load(s.cg["heavy"], ["stress-ng", "--cpu", str(nproc), "--timeout", "600s",
                                     "--quiet"], "/"),
                Load(s.cg["light"], ["stress-ng", "--cpu", "1", "--cpu-load", "30",
                                     "--timeout", "600s", "--quiet"], "/")]
    out.append(Scenario(
        "two-neighbours",
        "a heavy neighbour (NPROC workers, 10x weight) and a light one (one worker at 30%)",
        ["test_cpu.py", "test_other.py"],
        quiet(q) + [dict(load=two_loads) for _ in range(n)],
        cpu_truth(heavy, q),
        setup=cg_setup(("heavy", heavy, lambda c: c.set_cpu_weight(10)),
                       ("light", light, lambda c: c.set_cpu_weight(1))),
        cgroups=[heavy, light]))

    enc = "acc-job-" + suffix
    out.append(Scenario(
        "enclosing-cpu-limit",
        "jostle run inside a job cgroup limited to 0.3 cores (a runner's --cpus), set after "
        "the quiet runs",
        ["test_cpu.py", "test_other.py"],
        quiet(q) + [dict(load=limit_job(0.3)) for _ in range(n)],
        cpu_truth("own-limit", q, where=enc),
        setup=cg_setup(("job", enc, lambda c: None)),
        enclosing=lambda s: s.cg["job"]))

    # The suite limits its own cgroup (the one jostle run made for it) in conftest.py.
    out.append(Scenario(
        "own-cpu-limit",
        "the test command's own cgroup limited to 0.3 cores (a pod at its CPU limit)",
        ["test_cpu.py", "test_other.py"],
        quiet(q) + [dict(env={"ACC_OWN_CPU_LIMIT": "0.3"}) for _ in range(n)],
        cpu_truth("own-limit", q),
    ))

    memjob, cache = "acc-memjob-" + suffix, "cache"
    out.append(Scenario(
        "memory-page-cache-neighbour",
        "a page-cache-heavy neighbour (re-reading a 640 MiB file of its own) sharing a "
        "768 MiB memory limit with the tests",
        ["test_memory.py", "test_other.py"],
        quiet(q) + [dict(load=page_cache_neighbour(memjob)) for _ in range(n)],
        lambda i, t: {"resource": "memory", "culprit": cache}
        if i >= q and t in MEMORY_TESTS else None,
        setup=cg_setup(("job", memjob, lambda c: c.set_memory_limit(768 << 20)),
                       ("cache", memjob + "/" + cache, lambda c: None)),
        cgroups=[cache], enclosing=lambda s: s.cg["job"]))

    io = "acc-io-" + suffix
    out.append(Scenario(
        "io-neighbour",
        "a neighbour writing 4 MiB O_DIRECT blocks from two processes in a loop",
        ["test_io.py", "test_other.py"],
        quiet(q) + [dict(load=io_neighbour("io")) for _ in range(n)],
        lambda i, t: {"resource": "io", "culprit": io} if i >= q and t in IO_TESTS else None,
        setup=cg_setup(("io", io, lambda c: None)),
        cgroups=[io]))

    # A random flake that passes every quiet run by chance and fails under a CPU burner.
    flaker = "acc-flake-burner-" + suffix
    flake_quiet = 4 if quick else 8
    runs = [dict(calibrate=(i == 0), env={"ACC_FLAKE_SEED": flake_seed(False)})
            for i in range(flake_quiet)]
    runs += [dict(load=stress_cpu("burner", nproc), env={"ACC_FLAKE_SEED": flake_seed(True)})]
    out.append(Scenario(
        "random-flake",
        "a test failing at random (p = 0.3) that passed its quiet runs by chance, then "
        "failed beside a CPU burner",
        ["test_other.py::test_flaky_order", "test_other.py::test_parse_order_id"],
        runs, lambda i, t: None,
        setup=cg_setup(("burner", flaker, lambda c: c.set_cpu_weight(10))),
        cgroups=[flaker]))

    # A failure that ends before the load starts: the bug runs first, then a test starts
    # the burner, then the CPU tests run under it (JUnit: reconstructed start times).
    early = "acc-early-burner-" + suffix
    out.append(Scenario(
        "failure-before-load",
        "a genuine bug that fails and ends before a burner starts; CPU tests under the "
        "burner after it (pytest JUnit, start times reconstructed)",
        ["test_other.py::test_bug_rounding", "test_load.py::test_start_burner", "test_cpu.py"],
        quiet(q, results="junit") +
        [dict(results="junit", load=burner_started_by_the_suite("burner")) for _ in range(n)],
        lambda i, t: {"resource": "cpu", "culprit": early}
        if i >= q and t in CPU_TESTS else None,
        setup=cg_setup(("burner", early, lambda c: c.set_cpu_weight(10))),
        cgroups=[early]))

    # Reruns shift reconstructed JUnit windows: pytest's JUnit has no per-test start, so
    # starts are rebuilt from the suite's timestamp and the durations, which leave out the
    # reruns' delays; a new bug that runs after the burner stopped is placed back into it.
    shift = "acc-shift-burner-" + suffix
    out.append(Scenario(
        "reruns-shift-junit-windows",
        "CPU tests fail and are rerun (2 s delays) beside a burner the suite starts and stops; "
        "a new genuine bug runs after it stopped (pytest JUnit, start times reconstructed)",
        ["test_load.py::test_start_burner", "test_cpu.py", "test_load.py::test_stop_burner",
         "test_other.py::test_new_bug"],
        quiet(q, results="junit") +
        [dict(results="junit", reruns=1, reruns_delay=2, env={"ACC_NEW_BUG": "1"},
              load=burner_started_by_the_suite("burner")) for _ in range(n)],
        lambda i, t: {"resource": "cpu", "culprit": shift}
        if i >= q and t in CPU_TESTS else None,
        setup=cg_setup(("burner", shift, lambda c: c.set_cpu_weight(10))),
        cgroups=[shift]))

    # A node-level signal the test never felt: a new bug in CPU-only code fails while an
    # unrelated cgroup saturates the disk.
    unfelt = "acc-unfelt-io-" + suffix
    out.append(Scenario(
        "unfelt-io-neighbour",
        "a new genuine bug in CPU-only code fails while an unrelated cgroup saturates the disk",
        ["test_other.py::test_new_bug", "test_other.py::test_parse_order_id"],
        quiet(q) + [dict(load=io_neighbour("io"), env={"ACC_NEW_BUG": "1"}) for _ in range(n)],
        lambda i, t: None,
        setup=cg_setup(("io", unfelt, lambda c: None)),
        cgroups=[unfelt]))

    rerun = "acc-rerun-burner-" + suffix
    out.append(Scenario(
        "rerun-passes",
        "CPU tests fail beside a burner that stops at the first failure; the rerun "
        "(pytest-rerunfailures, 3 s later) passes in a clear window",
        ["test_cpu.py"],
        quiet(q) + [dict(load=stress_cpu("burner", nproc), reruns=1, reruns_delay=3,
                         stop_load_on_failure=True) for _ in range(n)],
        cpu_truth(rerun, q),
        setup=cg_setup(("burner", rerun, lambda c: c.set_cpu_weight(10))),
        cgroups=[rerun]))
    return out


def limit_job(cores):
    """A 'load' that is no process: the job cgroup's CPU limit, lifted when stopped."""
    class Limit:
        def __init__(self, cg):
            self.cg = cg
            cg.set_cpu_limit(cores)

        def wait_busy(self):
            pass

        def stop(self):
            self.cg._write("cpu.cfs_quota_us", "-1") or self.cg._write("cpu.max", "max 100000")
    return lambda s: [Limit(s.cg["job"])]


def burner_started_by_the_suite(key):
    """A 'load' the suite itself starts (test_load.py): the driver only passes the cgroup and
    stops what the suite started once the run is over."""
    class Started:
        def __init__(self, s):
            self.cg = s.cg[key]
            self.pidfile = os.path.join(tempfile.gettempdir(), f"acc-burner-{os.getpid()}.pid")
            if os.path.exists(self.pidfile):
                os.unlink(self.pidfile)

        def env(self):
            return {"ACC_START_BURNER": ":".join(os.path.join(d, "cgroup.procs")
                                                  for d, _ in self.cg.dirs),
                    "ACC_BURNER_PIDFILE": self.pidfile}

        def wait_busy(self):
            pass

        def stop(self):
            try:
                with open(self.pidfile, encoding="ascii") as f:
                    os.killpg(int(f.read()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
    return lambda s: [Started(s)]


def page_cache_neighbour(memjob):
    """Writes a 640 MiB file of its own (its pages charged to its cgroup) and reads it again
    and again: a page-cache working set that, beside the tests', does not fit the limit."""
    def load(s):
        path = os.path.join(tempfile.gettempdir(), f"acc-cache-{os.getpid()}.bin")
        script = (f"rm -f {path}; dd if=/dev/zero of={path} bs=1M count=640 status=none; "
                  f"while :; do cat {path} > /dev/null; done")
        return [Load(s.cg["cache"], ["/bin/sh", "-c", script], "/", ready_cpu_s=1.0,
                     files=[path])]
    return load


def io_neighbour(key):
    """Two writers of 4 MiB O_DIRECT blocks in a loop: the disk's queue is theirs."""
    def load(s):
        base = os.path.join(tempfile.gettempdir(), f"acc-io-{os.getpid()}")
        writers = [f"while :; do dd if=/dev/zero of={base}.{i} bs=4M count=64 oflag=direct "
                   f"status=none; done" for i in range(2)]
        script = " & ".join(writers) + " & wait"
        return [Load(s.cg[key], ["/bin/sh", "-c", script], "/", ready_cpu_s=0.05,
                     files=[f"{base}.{i}" for i in range(2)])]
    return load


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jostle", required=True, help="the jostle binary")
    ap.add_argument("--scenario", action="append", default=[], help="run only these")
    ap.add_argument("--work", default=None, help="where runs go (default: a temp dir)")
    ap.add_argument("--json", default=None, help="write every judged failure and the scores")
    ap.add_argument("--quick", action="store_true", help="fewer runs per scenario")
    ap.add_argument("--quiet-limit", type=float, default=0.25)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--require", default="",
                    help="goals for the total, e.g. precision=0.97,recall=0.95,culprit=0.95,"
                         "not_machine_contention=0: exit 1 when one is not met")
    args = ap.parse_args()
    args.jostle = os.path.abspath(args.jostle)
    all_scenarios = scenarios(args.quick)
    if args.list:
        for s in all_scenarios:
            print(f"{s.name}: {s.doc}")
        return 0
    missing = "" if os.geteuid() == 0 else "needs root to create cgroups"
    for tool in ("stress-ng", "dd"):
        if not missing and shutil.which(tool) is None:
            missing = f"{tool} is not installed"
    if not missing and subprocess.run([PYTHON, "-c", "import pytest, pytest_rerunfailures"],
                                      capture_output=True).returncode != 0:
        missing = "python3-pytest or python3-pytest-rerunfailures is not installed"
    if missing:
        # Under JOSTLE_REQUIRE_REAL (CI) a missing real part fails instead of skipping.
        say("cannot run here: " + missing)
        return 1 if os.environ.get("JOSTLE_REQUIRE_REAL", "0") not in ("", "0") else 77
    chosen = [s for s in all_scenarios if not args.scenario or s.name in args.scenario]
    unknown = set(args.scenario) - {s.name for s in all_scenarios}
    if unknown:
        say("unknown scenario(s): " + ", ".join(sorted(unknown)))
        return 2
    args.work = args.work or tempfile.mkdtemp(prefix="jostle-accuracy-")
    os.makedirs(args.work, exist_ok=True)
    rows, skipped = [], {}
    for s in chosen:
        say(f"scenario {s.name}: {s.doc}")
        try:
            got = run_scenario(args, s)
        except Skip as e:
            say(f"scenario {s.name} skipped: {e}")
            skipped[s.name] = str(e)
            continue
        rows += got
        sc = score(got)
        say(f"scenario {s.name}: {json.dumps(sc)}")
    total = score(rows)
    per = {s.name: score([r for r in rows if r["scenario"] == s.name]) for s in chosen
           if s.name not in skipped}
    print(json.dumps({"total": total, "scenarios": per, "skipped": skipped}, indent=2))
    for r in rows:
        if (r["verdict"] == "contention") != bool(r["truth"]) or \
                (r["truth"] and not r["culprit_right"]):
            say("miss: " + json.dumps(r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"total": total, "scenarios": per, "skipped": skipped, "rows": rows}, f,
                      indent=2)
    if len(skipped) == len(chosen):
        return 77
    unmet = unmet_goals(total, args.require)
    for u in unmet:
        say("goal not met: " + u)
    return 1 if unmet else 0


def unmet_goals(total, require):
    """The goals of --require that `total` misses (fractions at least, counts at most)."""
    keys = {"precision": "precision", "recall": "recall", "culprit": "culprit_accuracy",
            "not_machine_contention": "not_machine_contention"}
    unmet = []
    for goal in filter(None, require.split(",")):
        name, _, value = goal.partition("=")
        key = keys.get(name)
        if key is None:
            raise SystemExit(f"--require: unknown goal {name!r} (one of {', '.join(keys)})")
        got, want = total[key], float(value)
        if key == "not_machine_contention":
            if got > want:
                unmet.append(f"{name}: {got} > {want:g}")
        elif got is not None and got < want:
            unmet.append(f"{name}: {got:.3f} < {want:g}")
    return unmet


if __name__ == "__main__":
    sys.exit(main())
