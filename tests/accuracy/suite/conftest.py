"""Shared by the accuracy suite's tests: each test's quiet-machine time for the budgets.

ACC_CALIBRATE=FILE: tests record how long their work took (seconds, by test name) into FILE.
ACC_BASELINE=FILE: tests read those times back; a budget is BUDGET_FACTOR times the slowest
quiet time plus a small slack.
"""
import json
import os

import pytest

BUDGET_FACTOR = 2.5
BUDGET_SLACK_S = 0.05


class Budget:
    def __init__(self, name):
        self.name = name
        self.calibrate = os.environ.get("ACC_CALIBRATE")
        baseline = os.environ.get("ACC_BASELINE")
        self.quiet_s = None
        if baseline and os.path.exists(baseline):
            with open(baseline, encoding="utf-8") as f:
                self.quiet_s = json.load(f).get(name)

    def check(self, took_s):
        if self.calibrate:
            times = {}
            if os.path.exists(self.calibrate):
                with open(self.calibrate, encoding="utf-8") as f:
                    times = json.load(f)
            times[self.name] = max(times.get(self.name, 0.0), took_s)
            with open(self.calibrate, "w", encoding="utf-8") as f:
                json.dump(times, f)
            return
        if self.quiet_s is None:
            return
        budget = self.quiet_s * BUDGET_FACTOR + BUDGET_SLACK_S
        assert took_s <= budget, (f"took {took_s:.3f}s, quiet {self.quiet_s:.3f}s "
                                  f"(budget {budget:.3f}s)")


@pytest.fixture
def budget(request):
    return Budget(request.node.name)


def _own_cgroup_file(controller_file):
    """The path of `controller_file` in this process's own cgroup, v1 cpu or v2, or None."""
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        for mount in ([f"/sys/fs/cgroup/{controllers}"] if controllers else
                      ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]):
            p = os.path.join(mount + (path if path != "/" else ""), controller_file)
            if (not controllers or "cpu" in controllers.split(",")) and os.path.exists(p):
                return p
    return None


def pytest_sessionstart(session):
    # ACC_OWN_CPU_LIMIT=CORES: the suite limits the cgroup it runs in (the one `jostle run`
    # made for it), as a pod's container at its CPU limit is.
    cores = os.environ.get("ACC_OWN_CPU_LIMIT")
    if not cores:
        return
    quota = int(float(cores) * 100000)
    v1 = _own_cgroup_file("cpu.cfs_quota_us")
    if v1:
        with open(v1, "w", encoding="ascii") as f:
            f.write(f"{quota}\n")
        return
    v2 = _own_cgroup_file("cpu.max")
    if v2:
        with open(v2, "w", encoding="ascii") as f:
            f.write(f"{quota} 100000\n")
        return
    raise pytest.UsageError("ACC_OWN_CPU_LIMIT: no cpu.cfs_quota_us or cpu.max in own cgroup")
