#!/usr/bin/env bash
# Installs the Debian packages citytwin needs, only those that are missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config curl
  libcaf-dev capnproto libcapnp-dev libzmq3-dev cppzmq-dev prometheus-cpp-dev doctest-dev
  libssl-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev
  # clang's libFuzzer, ASan and UBSan, for the fuzz targets (tests/fuzz) that `make test` runs.
  clang libclang-rt-14-dev
)
# promtool and prometheus (from Debian's prometheus package) check the metrics, rules, scrape
# configuration and dashboard queries in the tests. They are only unpacked into .deps/, so that no
# Prometheus service is installed or started on the machine. `make test` fails the checks that need
# them when they are missing; ctest alone reports those checks as skipped.
ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 && return 0
  [ -x .deps/prometheus/usr/bin/promtool ] && [ -x .deps/prometheus/usr/bin/prometheus ] && return 0
  mkdir -p .deps
  (cd .deps && rm -f prometheus_*.deb && apt-get download prometheus >/dev/null 2>&1) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd .deps && apt-get download prometheus >/dev/null 2>&1) || {
      echo "citytwin: could not download the prometheus package; make test will fail the" \
        "promtool and prometheus checks (ctest alone reports them skipped)" >&2
      return 0
    }
  }
  dpkg-deb -x .deps/prometheus_*.deb .deps/prometheus
  rm -f .deps/prometheus_*.deb
}

# etcd (Debian's etcd-server, and etcdctl from etcd-client) for the cluster tests, which start
# their own instances on unix sockets with temporary data directories. Unpacked into .deps/ like
# Prometheus: installing the package would enable an etcd service on 127.0.0.1:2379.
ensure_etcd() {
  [ -x .deps/etcd/usr/bin/etcd ] && [ -x .deps/etcd/usr/bin/etcdctl ] && return 0
  mkdir -p .deps
  (cd .deps && rm -f etcd-*.deb && apt-get download etcd-server etcd-client >/dev/null 2>&1) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd .deps && apt-get download etcd-server etcd-client >/dev/null 2>&1) || {
      echo "citytwin: could not download the etcd-server and etcd-client packages; make test" \
        "will fail the cluster checks that need etcd (ctest alone reports them skipped)" >&2
      return 0
    }
  }
  for deb in .deps/etcd-server_*.deb .deps/etcd-client_*.deb; do
    dpkg-deb -x "$deb" .deps/etcd
  done
  rm -f .deps/etcd-*.deb
}

# The validators of the deploy/ checks (Kubernetes schemas and types, the compose-spec schema, a
# YAML parser: tests/deploy/package.json), installed by `npm ci` from the committed lockfile into
# .deps/deploy-checks. node and npm come from Debian's nodejs and npm when the machine has none.
ensure_deploy_checks() {
  local dir=.deps/deploy-checks
  if [ -d "$dir/node_modules" ] && cmp -s tests/deploy/package-lock.json "$dir/package-lock.json"; then
    return 0
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm \
      >/dev/null 2>&1 || {
      echo "citytwin: could not install nodejs and npm; make test will fail the deploy/ checks" \
        "(ctest alone reports them skipped)" >&2
      return 0
    }
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  cp tests/deploy/package.json tests/deploy/package-lock.json "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) || {
    rm -rf "$dir/node_modules"
    echo "citytwin: npm ci of the deploy/ validators failed; make test will fail the deploy/" \
      "checks (ctest alone reports them skipped)" >&2
    return 0
  }
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_promtool
  ensure_etcd
  ensure_deploy_checks
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
ensure_etcd
ensure_deploy_checks
