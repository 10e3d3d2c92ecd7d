#!/usr/bin/env bash
# Benchmarks sio against Node's socket.io: builds the release preset, then runs the matrix (bench/run.py).
# Usage: bench/run.sh [--quick] [--reps N] [--out FILE] [--only TEXT]
# On a shared machine, hold the build lock for the whole run: flock /tmp/sio-build.lock bench/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/deps.sh --bench # libbenchmark-dev, Node, bench/node/node_modules (npm ci), when missing
if [[ ! -f build/release/build.ninja ]]; then
  cmake --preset release -DSIO_BUILD_BENCH=ON >/dev/null
fi
cmake --build --preset release --target sio_bench_server sio_loadgen
exec python3 bench/run.py --build-dir "$root/build/release" "$@"
