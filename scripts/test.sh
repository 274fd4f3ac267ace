#!/usr/bin/env bash
# Builds jostle and runs every test suite (README's test command): the dev preset (warnings
# as errors) with every CTest test, then the suites labelled `sanitize` (parsers, codec,
# store, fuzz corpus replays) again under the asan preset (AddressSanitizer + UBSan).
# Arguments go to the dev run's ctest. JOSTLE_ASAN=0 leaves the asan run out.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev -j "$(nproc)" "$@"
if [ "${JOSTLE_ASAN:-1}" != "0" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan --target jostle_sanitize_tests
  ctest --preset asan -j "$(nproc)"
fi
