#!/usr/bin/env bash
# The benchmarks (the `make bench` of this project): installs the Debian packages, builds in
# Release with the benchmarks into ./build-bench, then cairn-bench runs every workload of docs/performance.md
# on fresh cairn-server processes and the micro-benchmarks, and writes bench/results/report.json
# and bench/results/report.md. Extra arguments go to cairn-bench (see --help), e.g.
#   ./scripts/bench.sh --repeats 5 --w4-runs 1000000
#   ./scripts/bench.sh --only w1a w1b
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_BENCH=ON -DCAIRN_BUILD_TESTS=OFF \
  >/dev/null
cmake --build build-bench -j"$jobs"
./build-bench/bench/cairn-bench --bin-dir build-bench --out bench/results "$@"
