#!/usr/bin/env bash
# Installs the Debian packages citytwin needs, only those that are missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config curl
  libcaf-dev capnproto libcapnp-dev libzmq3-dev cppzmq-dev prometheus-cpp-dev doctest-dev
  libssl-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
)
# promtool (from Debian's prometheus package) checks the metrics, rules and scrape configuration in
# the tests. Only the tool is unpacked into .deps/, so that no Prometheus service is installed or
# started on the machine.
ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  [ -x .deps/prometheus/usr/bin/promtool ] && return 0
  mkdir -p .deps
  (cd .deps && rm -f prometheus_*.deb && apt-get download prometheus >/dev/null 2>&1) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd .deps && apt-get download prometheus >/dev/null 2>&1) || {
      echo "citytwin: could not download the prometheus package; promtool checks will be skipped" >&2
      return 0
    }
  }
  dpkg-deb -x .deps/prometheus_*.deb .deps/prometheus
  rm -f .deps/prometheus_*.deb
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_promtool
  exit 0
fi
echo "citytwin: installing missing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "citytwin: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
ensure_promtool
