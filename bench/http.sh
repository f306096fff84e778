#!/usr/bin/env bash
# HTTP benchmarks for docs/BENCHMARKS.md (section "HTTP"). Loopback only, bounded in time.
# Needs a release build (cargo build --release), wrk (Debian) and python3.
#   bench/http.sh            # all three
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/release/mcp-orch}
WORK=$(mktemp -d)
SRV=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export HOME=$WORK/home MCP_ORCH_HOME=$WORK/state
mkdir -p "$HOME"
ulimit -n "$(ulimit -Hn)"   # 5,000 subscribers need more than the usual 1,024 descriptors
tok() { "$BIN" token create --scope "$1" --name "$2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
TOKEN=$(tok admin bench)
export TOKEN

"$BIN" serve --http --port 0 --rate-limit 0 --max-connections 8000 --max-streams 8000 2>"$WORK/err" &
SRV=$!
for _ in $(seq 100); do grep -q 'listening on' "$WORK/err" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o '127.0.0.1:[0-9]*' "$WORK/err" | head -1 | cut -d: -f2)
URL=http://127.0.0.1:$PORT
rss() { awk '/VmRSS/ {print $2}' "/proc/$SRV/status"; }

sleep 1
curl -sf "$URL/health" >/dev/null
echo "== idle RSS: $(rss) KiB (after start and one /health)"

echo "== tools/call list_available_servers over /mcp, 100 connections (64 sessions, one token's cap), 10 s (bench/http-throughput.sh for the other cases)"
INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
SESSIONS=
for _ in $(seq 64); do
  S=$(curl -sf -D - -o /dev/null -X POST "$URL/mcp" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$INIT" \
    | awk -F': ' 'tolower($1)=="mcp-session-id" {print $2}' | tr -d '\r')
  curl -sf -o /dev/null -X POST "$URL/mcp" -H "Authorization: Bearer $TOKEN" -H "Mcp-Session-Id: $S" \
    -H 'MCP-Protocol-Version: 2025-11-25' -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  SESSIONS=$SESSIONS$S,
done
export SESSIONS
S1=${SESSIONS%%,*}
BODY=$(curl -sf -X POST "$URL/mcp" -H "Authorization: Bearer $TOKEN" -H "Mcp-Session-Id: $S1" \
  -H 'MCP-Protocol-Version: 2025-11-25' -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_available_servers","arguments":{}}}')
case $BODY in
  *'"structuredContent"'*'"count":51'*) ;;
  *) echo "tools/call did not answer with the catalog: $BODY" >&2; exit 1 ;;
esac
case $BODY in *'"isError":true'*) echo "tools/call failed: $BODY" >&2; exit 1 ;; esac
echo "the answer carries the 51 servers (${#BODY} bytes)"
wrk -t2 -c100 -d3s -s bench/http-tools-call.lua "$URL" >/dev/null   # warm-up
wrk -t2 -c100 -d10s --latency -s bench/http-tools-call.lua "$URL"
echo "RSS under load: $(rss) KiB"

echo "== 5000 /v1/events subscribers, then one publish through the REST API"
"$BIN" keys init >/dev/null
curl -sf -o /dev/null -X POST "$URL/v1/config/cursor/default/draft/add" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"server_id": "memory"}'
sleep 0.5
python3 bench/http-sse-fanout.py "$PORT" "$TOKEN" "$SRV" "${SUBSCRIBERS:-5000}"
