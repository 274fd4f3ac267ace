#!/usr/bin/env bash
# The main job: installs what it needs, builds, and shows jostle at work on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
echo "== jostle-agent --once on $(hostname) ==" >&2
./build-release/bin/jostle-agent --once --output - --kube off
