#!/usr/bin/env bash
# Installs the Debian packages jostle needs to build, test and run its demo.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang
  libboost-dev nlohmann-json3-dev libspdlog-dev libpugixml-dev libcli11-dev
  libcurl4-openssl-dev libsqlite3-dev sqlite3 zlib1g-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl stress-ng python3 python3-pytest python3-pytest-rerunfailures
  prometheus prometheus-node-exporter chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
