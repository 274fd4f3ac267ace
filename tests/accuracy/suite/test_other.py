"""Failures that are not the machine's: a genuine bug, a random flake, and a passing test."""
import os
import random


def test_bug_rounding():
    def round_price(cents):
        return int(cents)  # rounds half down: the bug
    assert round_price(10.5) == 11


def test_flaky_order():
    # Fails with probability ACC_FLAKE_P, from a seed the driver gives per run: random, but
    # the same for a rerun of the same run.
    rng = random.Random(os.environ.get("ACC_FLAKE_SEED", "0"))
    assert rng.random() >= float(os.environ.get("ACC_FLAKE_P", "0.3")), "order lost"


def test_parse_order_id():
    assert int("00042") == 42


def test_new_bug():
    # A genuine bug that appears in the runs given ACC_NEW_BUG=1 (no history of failing).
    assert os.environ.get("ACC_NEW_BUG") != "1", "KeyError: 'currency'"
