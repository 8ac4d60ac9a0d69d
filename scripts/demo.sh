#!/usr/bin/env bash
# The main job, end to end: installs the Debian packages, builds, starts cairn-server on the
# embedded RocksDB store (a fresh data directory), runs the hello example's worker, starts a
# workflow, and prints its result and history. Stops what it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh

data_dir=$(mktemp -d /tmp/cairn-demo-XXXXXX)
port_file="$data_dir.port"
server_pid=""
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$data_dir" "$port_file"
}
trap cleanup EXIT

echo "== starting cairn-server (data dir $data_dir)"
./build/server/cairn-server --data-dir "$data_dir" --listen 127.0.0.1:0 --port-file "$port_file" \
  --log-level warn &
server_pid=$!
for _ in $(seq 1 300); do
  [ -s "$port_file" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "cairn-server exited during start-up"; exit 1; }
  sleep 0.1
done
[ -s "$port_file" ] || { echo "cairn-server did not start within 30 s"; exit 1; }
address="127.0.0.1:$(cat "$port_file")"
echo "== cairn-server is serving on $address"

echo "== starting the hello worker"
./build/examples/hello/hello worker --address "$address" &
worker_pid=$!

echo "== running workflow hello.greet"
./build/examples/hello/hello run --address "$address" --name "Ada" --punctuation "!"
