#!/usr/bin/env bash
# Installs what is missing, builds the examples (release) and runs the main example.
# Usage: tools/run-example.sh [example]   (default: chat, on http://localhost:3000; PORT=3000 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-chat}
cd "$root"
tools/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target "$example"
exec "build/release/examples/$example"
