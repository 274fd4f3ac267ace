"""CPU-bound work with a latency budget: wall time may exceed CPU time by 1.6x (plus a small
constant) before the test fails, which is what happens when the CPU is taken away (a
neighbour, or a CPU limit)."""
import hashlib
import time

FACTOR = 1.6
SLACK_S = 0.05


def _within_budget(rounds):
    wall0, cpu0 = time.perf_counter(), time.process_time()
    digest = b"jostle"
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    budget = cpu * FACTOR + SLACK_S
    assert wall <= budget, f"took {wall:.3f}s wall for {cpu:.3f}s of CPU (budget {budget:.3f}s)"


def test_cpu_checkout():
    _within_budget(500_000)


def test_cpu_search():
    _within_budget(500_000)


def test_cpu_login():
    _within_budget(500_000)
