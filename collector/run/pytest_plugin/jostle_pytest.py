"""jostle's pytest plugin: a report-log (the JSON lines of the pytest-reportlog plugin) in
which every TestReport carries "start" and "stop", the wall-clock time (seconds since the
Unix epoch) at which its phase (setup, call, teardown) began and ended, for every test and
every rerun (pytest-rerunfailures' "rerun" attempts included). jostle folds a test's phases
into one execution from its setup's start to its teardown's stop, so each test's window is
exact instead of rebuilt from a suite timestamp and durations.

`jostle run` loads it into every pytest its command starts, without a change to the project:
it writes this file to a directory of its own, puts that on PYTHONPATH, sets
PYTEST_PLUGINS=jostle_pytest and JOSTLE_PYTEST_REPORT_DIR, and each pytest session writes
its log there. Anywhere else (a CI job that uploads to a collector):

    jostle pytest-plugin > jostle_pytest.py
    PYTHONPATH=. pytest -p jostle_pytest --jostle-report-log=report-log.jsonl ...

Standard library and pytest only. Under pytest-xdist only the controller writes: the workers'
reports reach it with their times.
"""
import json
import os
import time

import pytest


def pytest_addoption(parser):
    parser.addoption("--jostle-report-log", default=None, metavar="FILE",
                     help="write a report-log with exact per-phase times to FILE (jostle)")


class _ReportLog:
    def __init__(self, config, path):
        self.config = config
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.out = open(path, "w", encoding="utf-8")

    def _emit(self, obj):
        self.out.write(json.dumps(obj, default=str) + "\n")
        self.out.flush()

    def pytest_sessionstart(self):
        self._emit({"pytest_version": pytest.__version__, "$report_type": "SessionStart"})

    def pytest_runtest_logreport(self, report):
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        for key in ("start", "stop"):
            if key not in data and getattr(report, key, None) is not None:
                data[key] = getattr(report, key)
        self._emit(data)

    def pytest_collectreport(self, report):
        self._emit(self.config.hook.pytest_report_to_serializable(config=self.config,
                                                                  report=report))

    def pytest_sessionfinish(self, exitstatus):
        self._emit({"exitstatus": int(exitstatus), "$report_type": "SessionFinish"})
        self.out.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # CallInfo.start and .stop are time.time() around the phase; pytest versions that stamp
    # their reports themselves keep theirs. Runs where the test runs (an xdist worker too).
    outcome = yield
    report = outcome.get_result()
    if getattr(report, "start", None) is None:
        report.start = call.start
    if getattr(report, "stop", None) is None:
        report.stop = call.stop


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller writes
        return
    path = config.getoption("--jostle-report-log")
    directory = os.environ.get("JOSTLE_PYTEST_REPORT_DIR")
    if not path and directory:
        path = os.path.join(directory, "pytest-%d-%d.jsonl" % (os.getpid(), time.time_ns()))
    if path:
        config.pluginmanager.register(_ReportLog(config, path), "jostle-report-log")
