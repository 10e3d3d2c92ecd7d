#!/usr/bin/env bash
# Smoke run of the benchmark programs (CTest, label `bench`): every load-generator scenario with tiny sizes
# against one server; no timing assertion.
# Usage: smoke.sh LOADGEN LABEL SERVER_COMMAND...   (the server gets `--port 0` appended)
# Exits 77 (skipped) when the Node peer cannot run here.
set -euo pipefail
loadgen=$1 label=$2
shift 2
if [[ $label == node ]]; then
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIPPED: node not found (install Node.js >= 20)"; exit 77
  fi
  if [[ ! -d $(dirname "$2")/node_modules/socket.io ]]; then
    echo "SKIPPED: $(dirname "$2")/node_modules missing (run tools/deps.sh --bench)"; exit 77
  fi
fi
exec 3< <(exec "$@" --port 0)
if ! read -r -t 20 -u 3 line || [[ ! $line =~ ^listening\ ([0-9]+)\ pid\ ([0-9]+)$ ]]; then
  echo "FAILED: the server did not print 'listening <port> pid <pid>' (got: ${line:-nothing})"; exit 1
fi
port=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
run() {
  echo "+ sio_loadgen $*"
  "$loadgen" "$@" --port "$port" --pid "$pid" --label "$label" --timeout 30
}
run conn --n 50
run conn --n 20 --rooms 3
run echo --clients 4 --duration 1
run bcast --clients 20 --count 10 --rounds 2
run bcast --clients 20 --count 1 --rounds 20
run room-bcast --clients 20 --count 5 --rounds 2
run churn --parallel 4 --duration 1 --max 200
run echo-conn --n 50 --echo-thread 1
run poll-conn --n 20
run poll-echo --clients 4 --duration 1
run poll-bcast --clients 20 --count 10 --rounds 2
kill -TERM "$pid"
trap - EXIT
if ! timeout 10 tail --pid="$pid" -f /dev/null; then
  echo "FAILED: the server did not exit within 10 s of SIGTERM"; kill -KILL "$pid"; exit 1
fi
echo "OK: $label"
