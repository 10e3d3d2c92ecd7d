#!/usr/bin/env bash
# Profiles sio_bench_server (release build) under one load-generator scenario with perf, and prints the
# hottest functions (self time; with PROFILE_CALLGRAPH=1 also inclusive time from DWARF call chains, which
# makes `perf report` take minutes).
# Usage: bench/profile.sh OUT_PREFIX SCENARIO [sio_loadgen options...]
#   e.g. bench/profile.sh /tmp/bcast bcast --clients 1000 --count 100 --rounds 2
# Needs `perf` (apt-get install linux-perf). Writes OUT_PREFIX.data and OUT_PREFIX.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bench
out=$1
shift
exec 3< <(exec "$bin/sio_bench_server" --port 0)
read -r -t 20 -u 3 line
[[ $line =~ ^listening\ ([0-9]+)\ pid\ ([0-9]+)$ ]] || { echo "bad server line: $line"; exit 1; }
port=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
graph=()
[[ ${PROFILE_CALLGRAPH:-0} == 1 ]] && graph=(--call-graph dwarf,16384)
perf record -q -F 1999 "${graph[@]}" -p "$pid" -o "$out.data" 2>/dev/null &
perf_pid=$!
sleep 1 # let perf attach (the profile only; no measurement depends on it)
"$bin/sio_loadgen" "$@" --port "$port" --pid "$pid" --label sio
kill -INT "$perf_pid"
wait "$perf_pid" || true
kill -TERM "$pid"
python3 "$root/bench/perf_summary.py" "$out.data" 30 > "$out.txt"
cat "$out.txt"
