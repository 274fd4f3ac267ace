#!/usr/bin/env bash
# The main job (README's first command), as root on a fresh Debian 12 machine: installs what
# jostle needs, builds the release preset, and runs the demo scenario (demo/run-demo.sh):
# a small test suite on a quiet machine, then twice beside a CPU burner in a sibling
# cgroup; prints where report.html is and what it says.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
JOSTLE_BIN="$PWD/build-release/bin" exec ./demo/run-demo.sh "$@"
