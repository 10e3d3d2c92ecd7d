#!/usr/bin/env bash
# The chat as a cluster: one redis-server and N chat processes (default 2) on ports 3000, 3001, ...
# Open http://localhost:3000 and http://localhost:3001 in two windows: they share one chat.
# Usage: examples/cluster_chat/run.sh [processes]   Env: REDIS_PORT (6380), BASE_PORT (3000), ADAPTER
# ("redis"; "sharded" for the sharded Redis adapter; "streams" for the Redis streams adapter with
# connection state recovery).   E.g. ADAPTER=streams examples/cluster_chat/run.sh
# Installs what is missing (apt, npm), builds the release preset; Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-2}
redis_port=${REDIS_PORT:-6380}
base_port=${BASE_PORT:-3000}
cd "$root"
tools/deps.sh
if ! command -v redis-server >/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server
fi
cmake --preset release >/dev/null
cmake --build --preset release --target cluster_chat

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
for ((i = 0; i < count; i++)); do
  PORT=$((base_port + i)) REDIS_PORT=$redis_port build/release/examples/cluster_chat &
  pids+=($!)
done
wait -n "${pids[@]}"
