#!/usr/bin/env bash
# MCP over stdio: process start to the `initialize` response, and tools/call round trips of the
# read tools (release build). Results go into docs/BENCHMARKS.md, "MCP over stdio".
#   bench/mcp-stdio.sh              # as is
#   bench/mcp-stdio.sh --isolated   # client and server at real-time priority (chrt -f 50, needs
#                                   # root), so other jobs on a shared machine do not add their
#                                   # scheduling delays to the tail
set -euo pipefail
cd "$(dirname "$0")/.."
rt=()
if [ "${1:-}" = "--isolated" ]; then
  rt=(chrt -f 50)
  shift
fi
cargo build --release --bin mcp-orch
bin="${CARGO_TARGET_DIR:-target}/release/mcp-orch"
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp "$bin" "$copy/mcp-orch"   # a private copy: a concurrent build cannot swap it mid-run
"${rt[@]}" python3 bench/mcp-stdio.py "$copy/mcp-orch" "$@"
