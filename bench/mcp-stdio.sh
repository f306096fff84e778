#!/usr/bin/env bash
# MCP over stdio: process start to the `initialize` response, and tools/call round trips of the
# read tools (release build). Results go into docs/BENCHMARKS.md, "MCP over stdio".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mcp-orch
bin="${CARGO_TARGET_DIR:-target}/release/mcp-orch"
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp "$bin" "$copy/mcp-orch"   # a private copy: a concurrent build cannot swap it mid-run
python3 bench/mcp-stdio.py "$copy/mcp-orch" "$@"
