"""A small suite in the shape of a real service's tests.

Three tests have latency budgets: they do a fixed amount of work and fail when it takes
much longer in wall-clock time than it took on the CPU, which is what happens when a
neighbour takes the CPU away. One test has a genuine bug and fails every time.
"""
import hashlib
import time

# Wall time may exceed CPU time by this factor (plus a small constant) before a budget test
# fails. On a quiet machine the ratio is close to 1.
BUDGET_FACTOR = 1.6
BUDGET_SLACK_S = 0.05


def _work(rounds):
    digest = b"jostle"
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


def _assert_within_budget(rounds):
    wall0, cpu0 = time.perf_counter(), time.process_time()
    _work(rounds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    budget = cpu * BUDGET_FACTOR + BUDGET_SLACK_S
    assert wall <= budget, f"took {wall:.3f}s wall for {cpu:.3f}s of CPU (budget {budget:.3f}s)"


def test_checkout_latency_budget():
    _assert_within_budget(600_000)


def test_search_latency_budget():
    _assert_within_budget(600_000)


def test_login_latency_budget():
    _assert_within_budget(600_000)


def test_price_rounding():
    # The genuine bug: rounds half down instead of half up.
    def round_price(cents):
        return int(cents)
    assert round_price(10.5) == 11


def test_parse_order_id():
    assert int("00042") == 42
