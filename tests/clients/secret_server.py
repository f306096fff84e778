"""A stdio MCP server that offers its tool only to a client that gave it the exact secret.

`python3 secret_server.py SHA256` reads newline-delimited JSON-RPC on stdin. `tools/list`
answers with the tool `secret_ok` only when the sha256 of the environment variable
SECRET_TOKEN equals SHA256, else with no tools, so a missing, empty, literal `${VAR}` or
otherwise wrong value fails the real-client tests (tests/real_clients.rs). The expected value
itself never appears in any file: only its hash is in the catalog entry's args.
"""
import hashlib
import json
import os
import sys

expected = sys.argv[1]
received = os.environ.get("SECRET_TOKEN", "")
matches = hashlib.sha256(received.encode()).hexdigest() == expected
print(f"secret_server: secret {'matches' if matches else 'does not match'}", file=sys.stderr)

TOOL = {
    "name": "secret_ok",
    "description": "Present only when the server received its exact secret.",
    "inputSchema": {"type": "object", "properties": {}},
}

for line in sys.stdin:
    if not line.strip():
        continue
    message = json.loads(line)
    if "id" not in message:
        continue  # a notification
    method = message.get("method")
    if method == "initialize":
        version = message.get("params", {}).get("protocolVersion", "2025-06-18")
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "secret-server", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL] if matches else []}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "ok"}]}
    elif method == "ping":
        result = {}
    else:
        reply = {"jsonrpc": "2.0", "id": message["id"],
                 "error": {"code": -32601, "message": f"unknown method {method}"}}
        print(json.dumps(reply), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
