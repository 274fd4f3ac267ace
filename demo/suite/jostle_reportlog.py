"""Writes pytest's report-log JSON lines (the format of the pytest-reportlog plugin), with
exact per-test wall-clock times.

Loaded with `-p jostle_reportlog --jostle-report-log=FILE` with this directory on
PYTHONPATH. Every TestReport line carries "start" and "stop": the wall-clock time
(seconds since the Unix epoch, time.time()) at which its phase (setup, call, teardown)
began and ended. Newer pytest versions put these in their reports themselves; pytest 7.2
(Debian 12) does not, so they are taken here from the CallInfo of each phase. jostle folds
the phases of one test into one execution from the setup's start to the teardown's stop.
"""
import json
import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--jostle-report-log", default=None, help="report-log output file")


class _Writer:
    def __init__(self, config, path):
        self.config = config
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self.out = open(path, "w", encoding="utf-8")

    def _emit(self, obj):
        self.out.write(json.dumps(obj, default=str) + "\n")
        self.out.flush()

    def pytest_sessionstart(self):
        self._emit({"pytest_version": pytest.__version__, "$report_type": "SessionStart"})

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        # CallInfo.start/stop: time.time() around the phase.
        if getattr(report, "start", None) is None:
            report.start = call.start
        if getattr(report, "stop", None) is None:
            report.stop = call.stop

    def pytest_runtest_logreport(self, report):
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        for key in ("start", "stop"):
            if key not in data and getattr(report, key, None) is not None:
                data[key] = getattr(report, key)
        self._emit(data)

    def pytest_collectreport(self, report):
        self._emit(self.config.hook.pytest_report_to_serializable(config=self.config, report=report))

    def pytest_sessionfinish(self, exitstatus):
        self._emit({"exitstatus": int(exitstatus), "$report_type": "SessionFinish"})
        self.out.close()


def pytest_configure(config):
    path = config.getoption("--jostle-report-log")
    if path:
        config.pluginmanager.register(_Writer(config, path), "jostle-report-log-writer")
