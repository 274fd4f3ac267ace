#!/usr/bin/env bash
# Accuracy of jostle's verdicts over contention scenarios with known truth, on this machine
# (tests/accuracy/accuracy.py: real cgroups, stress-ng, dd, fsync loops, pytest under
# `jostle run`): contention precision, recall, culprit accuracy and how many genuine bugs or
# random flakes were called `contention`, per scenario and in total. Needs root and a quiet
# machine; takes a few minutes.
#
# Usage: bench/accuracy.sh [BUILD_DIR] [accuracy.py options, e.g. --scenario cpu-neighbour]
#        (default BUILD_DIR: build-release)
# Env:   OUT=<file for the JSON with every judged failure>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build-release}
[[ $build = /* ]] || build=$repo/$build
shift || true
[[ -x $build/bin/jostle ]] || { echo "no $build/bin/jostle: build the jostle target first" >&2; exit 2; }
exec /usr/bin/python3 "$repo/tests/accuracy/accuracy.py" --jostle "$build/bin/jostle" \
  ${OUT:+--json "$OUT"} "$@"
