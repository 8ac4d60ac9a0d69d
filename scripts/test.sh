#!/usr/bin/env bash
# Sets up and runs every test: installs the Debian packages, builds, and runs the unit and
# end-to-end suites with ctest (end-to-end tests start real cairn-server processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh -DCAIRN_BUILD_BENCH=ON  # the benchmarks too: the suite runs a smoke pass of the harness
cd build
ctest --output-on-failure -j2 --timeout 300 "$@"
