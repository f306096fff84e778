#!/usr/bin/env bash
# Team mode on PostgreSQL (docs/BENCHMARKS.md, "Team mode"), everything on loopback on this
# machine: a throwaway PostgreSQL 15 cluster, three `serve --http` replicas sharing it, a
# release for each of the 14 clients.
#   event   publish through replica A -> the event at SSE subscribers on B and C (200 publishes)
#   get     GET /v1/team/releases/cursor/default/1: one replica, then all three (wrk, 10 s)
#   pull    `mcp-orch pull` of the 14 clients into a fresh developer home (5 runs), then an
#           up-to-date pull
# Needs PostgreSQL 15's server programs (scripts/install-tools.sh), wrk and python3.
#   bench/team.sh [CASE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet --bin mcp-orch
BIN=$PWD/target/$PROFILE/mcp-orch
PG_BIN=${MCP_ORCH_PG_BIN:-/usr/lib/postgresql/15/bin}
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(event get pull)
WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# PostgreSQL with the settings of the test clusters (tests/it/pg.rs).
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK/pg -c fsync=off -c synchronous_commit=off" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres orch
export MCP_ORCH_STORE=postgres://postgres@127.0.0.1:$PORT/orch

# Replica homes: A makes the keys, the root and the releases; B and C get its keys.
home() { echo "$WORK/$1"; }
orch() { local h; h=$(home "$1"); shift; HOME=$h/home MCP_ORCH_HOME=$h/state "$BIN" "$@"; }
for r in a b c; do mkdir -p "$(home $r)/home"; done
orch a keys init --json >/dev/null
orch a team init --json >"$WORK/root.json"
for r in b c; do cp -rp "$(home a)/state/keys" "$(home a)/state/trust.json" "$(home a)/state/audit.key" "$(home $r)/state/" 2>/dev/null \
  || { mkdir -p "$(home $r)/state"; cp -rp "$(home a)/state/keys" "$(home a)/state/trust.json" "$(home a)/state/audit.key" "$(home $r)/state/"; }; done
CLIENTS=$(orch a clients --json | python3 -c 'import json,sys; print(" ".join(c["client_id"] for c in json.load(sys.stdin)["clients"]))')
for c in $CLIENTS; do
  orch a draft add memory --client "$c" --json >/dev/null
  orch a publish --client "$c" --json >/dev/null
done
TOKEN=$(orch a token create --scope write --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
FINGERPRINT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fingerprint"])' "$WORK/root.json")

declare -A URLS
for r in a b c; do
  HOME=$(home $r)/home MCP_ORCH_HOME=$(home $r)/state "$BIN" serve --http --port 0 --rate-limit 0 2>"$WORK/$r.err" &
  PIDS+=($!)
  for _ in $(seq 200); do grep -q 'listening on' "$WORK/$r.err" 2>/dev/null && break; sleep 0.05; done
  URLS[$r]=http://$(grep -o '127.0.0.1:[0-9]*' "$WORK/$r.err" | head -1)
done
echo "clients: $(echo "$CLIENTS" | wc -w); replicas: ${URLS[a]} ${URLS[b]} ${URLS[c]}"

for case in "${CASES[@]}"; do
  case $case in
    event)
      echo "== publish through A -> event at subscribers on B and C"
      python3 bench/team-events.py "$TOKEN" "${URLS[a]}" "${URLS[b]}" "${URLS[c]}"
      ;;
    get)
      path=/v1/team/releases/cursor/default/1
      curl -sf -H "Authorization: Bearer $TOKEN" "${URLS[a]}$path" >/dev/null
      echo "== GET $path through one replica (wrk -t2 -c64 10 s)"
      wrk -t2 -c64 -d3s -H "Authorization: Bearer $TOKEN" "${URLS[a]}$path" >/dev/null
      wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer $TOKEN" "${URLS[a]}$path" | grep -E '^(Requests/sec| +(50|99)%)'
      echo "== the same through three replicas (three wrk -t1 -c22 at once, 10 s)"
      WRKS=()
      for r in a b c; do
        wrk -t1 -c22 -d10s --latency -H "Authorization: Bearer $TOKEN" "${URLS[$r]}$path" >"$WORK/wrk-$r" &
        WRKS+=($!)
      done
      wait "${WRKS[@]}"
      for r in a b c; do grep -E '^Requests/sec' "$WORK/wrk-$r" | sed "s/^/  $r: /"; done
      awk '/^Requests\/sec/ {s+=$2} END {printf "  total: %.0f req/s\n", s}' "$WORK"/wrk-a "$WORK"/wrk-b "$WORK"/wrk-c
      ;;
    pull)
      echo "== pull of $(echo "$CLIENTS" | wc -w) clients into a fresh developer home (5 runs)"
      for i in 1 2 3 4 5; do
        d=$WORK/dev$i; mkdir -p "$d/home"
        pins=()
        for c in $CLIENTS; do
          v=MCP_ORCH_CLIENT_PATH_$(echo "$c" | tr 'a-z-' 'A-Z_')
          pins+=("$v=$d/files/$c.conf")
        done
        dev() { env -u MCP_ORCH_STORE "${pins[@]}" HOME=$d/home MCP_ORCH_HOME=$d/state "$BIN" "$@"; }
        dev remote add team "${URLS[a]}" --token "$TOKEN" --root "$FINGERPRINT" --json >/dev/null
        start=$(date +%s%N)
        dev pull --json >"$d/report.json"
        end=$(date +%s%N)
        deployed=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(c["status"]=="deployed" for c in r["channels"]))' "$d/report.json")
        start2=$(date +%s%N)
        dev pull --json >/dev/null
        end2=$(date +%s%N)
        echo "  run $i: $(( (end - start) / 1000000 )) ms ($deployed deployed); up to date: $(( (end2 - start2) / 1000000 )) ms"
      done
      ;;
    *) echo "unknown case $case" >&2; exit 2 ;;
  esac
done
