#!/usr/bin/env bash
# The main job, end to end: the support agent (examples/support-agent/README.md) on the stack it
# runs on.
#
# Installs the Debian packages and builds; starts cairn-server on the embedded RocksDB store (a
# fresh data directory) and a cairn-deploy-worker; `cairnctl stack apply
# examples/support-agent/stack.yaml --auto-approve` stands up, as one durable deploy, two model
# endpoint tiers (the repo's deterministic OpenAI-compatible endpoint), the HAProxy router in
# front of them, the Redis response cache and the knowledge-base index (built from
# examples/support-agent/kb). The support-agent worker reads the router config, the Redis address
# and the index from the stack's outputs and answers the tickets in
# examples/support-agent/tickets.json — one answer is not confident enough and waits for a
# person, approved here with `cairnctl approval approve` — then answers the batch again to show
# the cache. Prints per ticket the answer, tier, tokens, cost and cache hit, and the totals; the
# stack is destroyed at exit. Everything listens on loopback and is stopped on exit.
#
#   ./scripts/demo.sh            the support agent on its provisioned stack (the README's main job)
#   ./scripts/demo.sh --direct   the same agent with no deploy: the script itself starts a
#                                redis-server and three endpoint tiers, and the agent ingests the
#                                knowledge base
#   ./scripts/demo.sh --hello    the smallest program instead: the hello workflow and its history
# (--stack, the former name of the default, is still accepted.)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | --stack | --direct | --hello) ;;
  *) echo "usage: $0 [--direct | --hello]  (no flag: the support agent on its stack)" >&2; exit 2 ;;
esac
# CAIRN_DEMO_SETUP=0: packages and build already there (the suite's run of this script).
if [ "${CAIRN_DEMO_SETUP:-1}" != 0 ]; then
  ./scripts/install-deps.sh
  ./scripts/build.sh
fi

work=$(mktemp -d /tmp/cairn-demo-XXXXXX)
pids=()
stack_applied=
cleanup() {
  local p rc=$? destroyed=0
  if [ -n "$stack_applied" ]; then
    # Destroy before the worker and the server stop: the deploy worker deletes what it made.
    echo "== destroying the stack: cairnctl stack destroy --stack support-agent --auto-approve"
    ./build/cli/cairnctl stack destroy --stack support-agent --auto-approve --timeout 2m \
      || { destroyed=1; echo "the destroy did not finish; the deploy worker's log:" >&2;
           cat "$work/deploy-worker.log" >&2; }
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
  if [ "$rc" = 0 ] && [ "$destroyed" != 0 ]; then
    exit 1
  fi
}
trap cleanup EXIT

# wait_port_file <file> <pid> <what>: waits until <file> holds a port (the process wrote it once
# serving); fails when the process exits first or 30 s pass.
wait_port_file() {
  for _ in $(seq 1 300); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || { echo "$3 exited during start-up; its log:" >&2; cat "$work/$3.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$3 did not start within 30 s; its log:" >&2
  cat "$work/$3.log" >&2
  exit 1
}

echo "== starting cairn-server (data dir $work/data)"
./build/server/cairn-server --data-dir "$work/data" --listen 127.0.0.1:0 \
  --port-file "$work/server.port" --log-level warn >"$work/cairn-server.log" 2>&1 &
pids+=($!)
address="127.0.0.1:$(wait_port_file "$work/server.port" "${pids[-1]}" cairn-server)"
export CAIRN_ADDRESS=$address
echo "   serving on $address"

if [ "${1:-}" = "--hello" ]; then
  echo "== starting the hello worker"
  ./build/examples/hello/hello worker --address "$address" &
  pids+=($!)
  echo "== running workflow hello.greet"
  ./build/examples/hello/hello run --address "$address" --name "Ada" --punctuation "!"
  exit 0
fi

mode=${1:-}
if [ "$mode" = "" ] || [ "$mode" = "--stack" ]; then
  echo "== starting cairn-deploy-worker (provider state in $work/deploy-state)"
  ./build/deploy/cairn-deploy-worker --address "$address" --state-dir "$work/deploy-state" \
    --model-endpoint ./build/ai/cairn-model-endpoint \
    >"$work/deploy-worker.log" 2>&1 &
  pids+=($!)
  echo "== cairnctl stack apply examples/support-agent/stack.yaml --auto-approve"
  stack_applied=1
  ./build/cli/cairnctl stack apply examples/support-agent/stack.yaml --auto-approve --by demo \
    --timeout 5m
  ./build/cli/cairnctl stack status --stack support-agent -o json >"$work/stack.json"
  ./build/cli/cairnctl stack status --stack support-agent

  agent=./build/examples/support-agent/support-agent
  common=(--address "$address" --stack-outputs "$work/stack.json")
  echo "== starting the support-agent worker (router config and Redis from the stack's outputs)"
  # No --index-dir: the worker searches the index the stack's kb resource built.
  "$agent" worker "${common[@]}" --blob-dir "$work/blobs" \
    --invoices examples/support-agent/invoices.json >"$work/worker.log" 2>&1 &
  pids+=($!)
  worker_pid=${pids[-1]}
else

# free_port: a loopback TCP port nothing listens on (for redis-server, which cannot pick one).
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2
  exit 1
}

redis_port=$(free_port)
echo "== starting redis-server (the response cache) on 127.0.0.1:$redis_port"
printf 'bind 127.0.0.1\nport %s\nsave ""\nappendonly no\nmaxmemory 64mb\nmaxmemory-policy allkeys-lru\ndir %s\n' \
  "$redis_port" "$work" >"$work/redis.conf"
redis-server "$work/redis.conf" >"$work/redis-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
  sleep 0.1
done

declare -A tier_url
for tier in economy:lumen-small:8192 standard:lumen-medium:16384 premium:lumen-large:131072; do
  IFS=: read -r name model context <<<"$tier"
  echo "== starting model endpoint $name (model $model, context $context tokens)"
  ./build/ai/cairn-model-endpoint --listen 127.0.0.1:0 --port-file "$work/$name.port" \
    --model "$model" --context-window "$context" >"$work/endpoint-$name.log" 2>&1 &
  pids+=($!)
  tier_url[$name]="http://127.0.0.1:$(wait_port_file "$work/$name.port" "${pids[-1]}" "endpoint-$name")/v1"
done

# The router config: the shipped one with this run's endpoint addresses.
sed -e "s|\${ECONOMY_URL}|${tier_url[economy]}|" -e "s|\${STANDARD_URL}|${tier_url[standard]}|" \
  -e "s|\${PREMIUM_URL}|${tier_url[premium]}|" examples/support-agent/router.yaml >"$work/router.yaml"

agent=./build/examples/support-agent/support-agent
common=(--address "$address" --router-config "$work/router.yaml" --redis "127.0.0.1:$redis_port")
echo "== starting the support-agent worker"
"$agent" worker "${common[@]}" --index-dir "$work/index" --blob-dir "$work/blobs" \
  --invoices examples/support-agent/invoices.json >"$work/worker.log" 2>&1 &
pids+=($!)
worker_pid=${pids[-1]}
fi

if [ -n "$stack_applied" ]; then
  echo "== the knowledge base index: built by the stack's kb resource (cairnctl stack status)"
else
  echo "== ingesting the knowledge base (examples/support-agent/kb)"
  "$agent" ingest "${common[@]}" --kb-dir examples/support-agent/kb
fi

# approve_pending <pass>: waits for the tickets of the pass to finish, approving each answer that
# waits for a person through cairnctl, as a support lead would.
run_pass() {
  local pass=$1 tickets_pid
  "$agent" tickets "${common[@]}" --tickets examples/support-agent/tickets.json --pass "$pass" \
    --summary "$work/pass$pass.json" &
  tickets_pid=$!
  while kill -0 "$tickets_pid" 2>/dev/null; do
    kill -0 "$worker_pid" 2>/dev/null || { echo "the worker exited; its log:"; cat "$work/worker.log"; exit 1; }
    for wf in $(./build/cli/cairnctl approval list -o json 2>/dev/null \
                | sed -n 's/.*"workflow_id": *"\([^"]*\)".*/\1/p'); do
      echo "== $wf waits for approval:"
      ./build/cli/cairnctl approval show -w "$wf"
      echo "== approving it as support-lead: cairnctl approval approve -w $wf --by support-lead"
      ./build/cli/cairnctl approval approve -w "$wf" --by support-lead \
        --comment "checked against the contract"
    done
    sleep 0.5
  done
  wait "$tickets_pid"
}

echo "== pass 1: answering the tickets"
run_pass 1
echo "== pass 2: the same tickets again (answers come from the response cache)"
run_pass 2
"$agent" totals --summary "$work/pass1.json" --summary "$work/pass2.json"
