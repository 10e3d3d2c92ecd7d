#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test of one preset.
# Usage: tools/test.sh [debug|release|asan|tsan|fuzz]   (default: debug)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-debug}
cd "$root"
tools/deps.sh --test

jobs=$(nproc)
# ccache: let the consumption test's rebuild of the library (another folder) hit the cache.
export CCACHE_NOHASHDIR=true
started=$(date +%s)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
built=$(date +%s)

if [[ $preset == fuzz ]]; then
  # A short run of each libFuzzer target from its seed corpus (bounded; copies so the seeds stay clean).
  for target in engineio_packet engineio_payload engineio_v3_payload socketio_decoder socketio_msgpack socketio_v4_query ws_frame redis_resp redis_msgpack redis_wire; do
    work=$(mktemp -d)
    cp fuzz/corpus/$target/* "$work/"
    "build/fuzz/fuzz/fuzz_$target" -max_total_time="${SIO_FUZZ_SECONDS:-30}" -max_len=4096 "$work"
    rm -rf "$work"
  done
  exit 0
fi

# The install/add_subdirectory consumption tests rebuild the library: run them in the plain presets only.
exclude=()
[[ $preset == asan || $preset == tsan ]] && exclude=(-LE consume)
ctest --preset "$preset" -j "$jobs" "${exclude[@]}"
finished=$(date +%s)
# The budget: on 2 cores with an empty compiler cache, the debug build plus every test within 8 minutes
# (.ci/run, which adds the sanitizer builds and the fuzzers, within 45).
budget=""
[[ $preset == debug ]] && budget=" (budget for a cold debug build plus every test on 2 cores: 480 s)"
echo "sio: $preset build $((built - started)) s, tests $((finished - built)) s, total $((finished - started)) s$budget"
