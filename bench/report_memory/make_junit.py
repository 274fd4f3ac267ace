#!/usr/bin/env python3
"""Writes one JUnit XML file of --tests test cases of which --failures fail (the first ones
of each module pass, the rest fail with a short assertion message), in --modules modules,
like a large pytest run's junit.xml. Usage: make_junit.py --tests N --failures F OUT."""
import argparse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tests", type=int, default=125000)
    p.add_argument("--failures", type=int, default=120000)
    p.add_argument("--modules", type=int, default=500)
    p.add_argument("out")
    a = p.parse_args()
    passing = a.tests - a.failures
    with open(a.out, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>'
                f'<testsuite name="pytest" tests="{a.tests}" failures="{a.failures}" '
                'timestamp="2026-12-04T10:00:00">\n')
        for i in range(a.tests):
            module = i % a.modules
            cls = f"tests.load.test_module_{module:04d}"
            head = (f'<testcase classname="{cls}" name="test_case_{i:06d}" '
                    f'file="tests/load/test_module_{module:04d}.py" time="0.004"')
            if i < passing:
                f.write(head + "/>\n")
            else:
                f.write(head + f'><failure message="AssertionError: assert {i} == {i + 1}">'
                        f"tests/load/test_module_{module:04d}.py:{i % 400 + 10}: AssertionError"
                        "</failure></testcase>\n")
        f.write("</testsuite></testsuites>\n")


if __name__ == "__main__":
    main()
