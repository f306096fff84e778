#!/usr/bin/env bash
# Throughput of `tools/call list_available_servers` over `/mcp` (docs/BENCHMARKS.md, section
# "Throughput"), loopback only, each case `wrk -t2 -c100` for 10 s after a 3 s warm-up:
#   ceiling     the raw axum ceiling: the same answer's bytes from memory (examples/axum_ceiling.rs)
#   stateless   2026-07-28 requests without a session
#   one         one session shared by the 100 connections
#   hundred     100 sessions (two tokens: one token may hold 64)
# Needs wrk (Debian) and python3; builds the release binary and the example (PROFILE=profiling
# for a build with symbols, to run perf against).
#   bench/http-throughput.sh [CASE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet --bin mcp-orch --example axum_ceiling
BIN=$PWD/target/$PROFILE/mcp-orch
CEILING=$PWD/target/$PROFILE/examples/axum_ceiling
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(ceiling stateless one hundred)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export HOME=$WORK/home MCP_ORCH_HOME=$WORK/state
mkdir -p "$HOME"

# Starts a server in the background; sets URL and SRV.
start() {
  "$@" 2>"$WORK/err" &
  SRV=$!
  PIDS+=("$SRV")
  for _ in $(seq 100); do grep -q 'listening on' "$WORK/err" 2>/dev/null && break; sleep 0.05; done
  URL=http://$(grep -o '127.0.0.1:[0-9]*' "$WORK/err" | head -1)
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$SRV/status"; }
tok() { "$BIN" token create --scope read --name "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
post() { # token session version body
  curl -sf -D "$WORK/headers" -X POST "$URL/mcp" -H "Authorization: Bearer $1" ${2:+-H "Mcp-Session-Id: $2"} \
    -H "MCP-Protocol-Version: $3" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -d "$4"
}
open_session() { # token
  local init='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
  post "$1" "" 2025-11-25 "$init" >/dev/null
  local s
  s=$(awk -F': ' 'tolower($1)=="mcp-session-id" {print $2}' "$WORK/headers" | tr -d '\r')
  post "$1" "$s" 2025-11-25 '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  echo "$s"
}
run() { # name
  echo "== $1"
  wrk -t2 -c100 -d3s -s bench/http-tools-call.lua "$URL" >/dev/null
  wrk -t2 -c100 -d10s -s bench/http-tools-call.lua "$URL" | grep -E '^(Requests/sec|requests|p50|p99 |p99.9)'
}

TOKEN_A=$(tok a)
TOKEN_B=$(tok b)
start "$BIN" serve --http --port 0 --rate-limit 0
sleep 1
curl -sf "$URL/health" >/dev/null
echo "== idle RSS: $(rss) KiB (after start and one /health)"
MCP=$SRV URL_MCP=$URL
SESSION=$(open_session "$TOKEN_A")
post "$TOKEN_A" "$SESSION" 2025-11-25 \
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_available_servers","arguments":{}}}' \
  >"$WORK/answer"
grep -q '"structuredContent"' "$WORK/answer" && grep -q '"count":51' "$WORK/answer" \
  && ! grep -q '"isError":true' "$WORK/answer" \
  || { echo "tools/call did not answer with the catalog: $(head -c 300 "$WORK/answer")" >&2; exit 1; }
echo "one answer: $(wc -c <"$WORK/answer") bytes (the catalog as structuredContent and as text)"

for case in "${CASES[@]}"; do
  SRV=$MCP URL=$URL_MCP
  case $case in
    ceiling)
      start "$CEILING" "$WORK/answer"
      TOKEN=none run "raw axum ceiling: the same bytes from memory"
      kill "$SRV"
      ;;
    stateless)
      VERSION=2026-07-28 SESSIONS= TOKEN=$TOKEN_A run "stateless (2026-07-28, no session)"
      ;;
    one)
      SESSIONS=$SESSION TOKEN=$TOKEN_A run "one shared session"
      ;;
    hundred)
      SESSIONS= TOKENS=
      for i in $(seq 100); do
        t=$TOKEN_A; [ $((i % 2)) = 0 ] && t=$TOKEN_B
        SESSIONS=$SESSIONS$(open_session "$t"), TOKENS=$TOKENS$t,
      done
      SESSIONS=$SESSIONS TOKENS=$TOKENS run "100 sessions (50 per token)"
      ;;
    *) echo "unknown case $case" >&2; exit 2 ;;
  esac
done
SRV=$MCP
echo "== RSS after the load: $(rss) KiB"
