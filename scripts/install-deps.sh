#!/usr/bin/env bash
# Installs the Debian packages Cairn builds and tests with. Idempotent; needs root or sudo.
set -euo pipefail
packages=(
  build-essential cmake ccache pkg-config
  librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-context-dev libspdlog-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev zlib1g-dev
  libcurl4-openssl-dev libhiredis-dev libyaml-cpp-dev libhnswlib-dev prometheus-cpp-dev
  libhowardhinnant-date-dev libcpp-httplib-dev redis-server haproxy tzdata
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install-deps: done"
