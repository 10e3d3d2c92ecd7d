#!/usr/bin/env bash
# Installs what building and testing sio needs on Debian 12, skipping what is already there.
# Usage: tools/deps.sh [--test]   (--test adds the npm packages of the interop tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(g++ cmake ninja-build ccache pkg-config
          libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libboost-test1.81-dev libssl-dev zlib1g-dev libhiredis-dev libmsgpuck-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(clang libclang-rt-14-dev nodejs npm redis-server)
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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" == "--test" ]]; then
  # The official JavaScript clients, pinned by the committed lock file.
  dir="$root/test/interop"
  stamp="$dir/node_modules/.sio-lock-stamp"
  if [[ ! -f "$stamp" ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
fi
