#!/usr/bin/env bash
# Installs what building and testing sio needs on Debian 12, skipping what is already there.
# Usage: tools/deps.sh [--test|--bench]   (--test adds the npm packages of the interop tests and of the
# benchmark's Node peer; --bench only the latter, bench/node)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(g++ cmake ninja-build ccache pkg-config lld
          libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libboost-test1.81-dev libssl-dev zlib1g-dev libhiredis-dev libmsgpuck-dev libbenchmark-dev
          nodejs npm) # npm fetches the official browser client that libsio embeds (client/)
mode="${1:-}"
if [[ $mode == --test ]]; then
  packages+=(clang libclang-rt-14-dev redis-server redis-tools chromium
            python3-socketio python3-requests python3-websocket
            prometheus) # promtool checks the /metrics scrape (metrics_test)
fi
if [[ $mode == --bench ]]; then
  packages+=(redis-server) # the cross-server runs (bench/own_servers.py) start a throwaway Redis
fi

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from outside apt (a newer Node); a working command is enough.
  if [[ $p == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "sio: installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${missing[@]}"
fi

# npm ci in folder $1 unless its node_modules already match the committed lock file.
npm_install() {
  local dir="$1" stamp="$1/node_modules/.sio-lock-stamp"
  if [[ ! -f "$stamp" ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}

# The official browser client (socket.io-client dist/), embedded into libsio at build time.
npm_install "$root/client"

if [[ $mode == --test || $mode == --bench ]]; then
  # The reference server of the benchmarks (socket.io + native bufferutil, utf-8-validate).
  npm_install "$root/bench/node"
fi

if [[ $mode == --test ]]; then
  # The official JavaScript clients (and playwright-core for the browser test), pinned by the lock file.
  npm_install "$root/test/interop"
fi
