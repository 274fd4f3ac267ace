"""Synchronous writes with a latency budget against their quiet-machine time: small writes,
each followed by fsync, in a scratch file beside the test run."""
import os
import time


def _fsync_writes(path, count, size=64 * 1024):
    block = os.urandom(size)
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(count):
            os.write(fd, block)
            os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(path)
    return time.perf_counter() - t0


def test_io_journal(budget, tmp_path):
    budget.check(_fsync_writes(tmp_path / "journal", 200))


def test_io_snapshot(budget, tmp_path):
    budget.check(_fsync_writes(tmp_path / "snapshot", 200))
