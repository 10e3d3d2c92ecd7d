#!/usr/bin/env bash
# Soak run (not a CI test): many WebSocket clients for a long time against the release sio_bench_server,
# which broadcasts every second; prints the server's RSS and live heap, deliveries, errors and drops per
# minute (bench/soak.py; docs/performance.md, "Soak").
# Usage: bench/soak.sh [--no-build] [--clients N] [--minutes M] [soak.py options...]
#   defaults: 19000 clients, 30 minutes, a broadcast every 1 s, 5 % of the clients reconnecting per minute,
#   1 % never reading. Short check: bench/soak.sh --clients 2000 --minutes 3
# The build takes the shared build lock (/tmp/sio-build.lock); the run itself does not hold it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=1
if [[ ${1:-} == --no-build ]]; then
  build=0
  shift
fi
if ((build)); then
  tools/deps.sh --bench
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
  if [[ ! -f build/release/build.ninja ]]; then
    cmake --preset release >/dev/null
  fi
  flock /tmp/sio-build.lock cmake --build --preset release -j2 --target sio_bench_server sio_loadgen
fi
exec python3 bench/soak.py --build-dir "$root/build/release" "$@"
