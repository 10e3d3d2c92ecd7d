#!/usr/bin/env bash
# Memory per idle connection, each measurement on a freshly started server (an RSS difference means
# nothing on a server that already freed thousands of connections: malloc reuses that memory).
# Usage: bench/memory.sh [REPS]   (release build of sio_bench_server and sio_loadgen; Node when installed)
# Prints one JSON line per run, then the median bytes per connection of each scenario and server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bench
reps=${1:-3}
servers=(sio)
if command -v node >/dev/null && [[ -d $root/bench/node/node_modules/socket.io ]]; then servers+=(node); fi
scenarios=("conn --n 10000" "conn --n 10000 --rooms 10" "poll-conn --n 2000")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((rep = 1; rep <= reps; rep++)); do
  for scenario in "${scenarios[@]}"; do
    for label in "${servers[@]}"; do
      if [[ $label == sio ]]; then cmd=("$bin/sio_bench_server"); else cmd=(node "$root/bench/node/server.mjs"); fi
      exec 3< <(exec "${cmd[@]}" --port 0)
      read -r -t 20 -u 3 line
      [[ $line =~ ^listening\ ([0-9]+)\ pid\ ([0-9]+)$ ]] || { echo "bad server line: $line" >&2; exit 1; }
      port=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
      # shellcheck disable=SC2086 # the scenario's words are its arguments
      out=$("$bin/sio_loadgen" $scenario --port "$port" --pid "$pid" --label "$label" --timeout 120)
      kill -TERM "$pid"
      timeout 15 tail --pid="$pid" -f /dev/null || kill -KILL "$pid"
      echo "$out"
      echo "$label|$scenario|$out" >>"$results"
    done
  done
done
python3 - "$results" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, scenario, js = line.rstrip("\n").split("|", 2)
    r = json.loads(js)
    rows.setdefault((scenario, label), []).append(r.get("bytes_per_conn", r.get("bytes_per_session")))
print(f"\n{'scenario':28} {'server':6} {'bytes per connection (median)':>30}  runs")
for (scenario, label), v in rows.items():
    print(f"{scenario:28} {label:6} {statistics.median(v):30.0f}  {', '.join(f'{x:.0f}' for x in v)}")
EOF
