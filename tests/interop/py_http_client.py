"""Drives `mcp-orch serve --http` with the official Python SDK (mcp==2.3.0) over a transport:

  py_http_client.py http  URL WRITE_TOKEN [READ_TOKEN]   Streamable HTTP at URL (/mcp)
  py_http_client.py sse   URL WRITE_TOKEN [READ_TOKEN]   2024-11-05 HTTP+SSE at URL (/mcp/sse)
  py_http_client.py stdio CMD_JSON                       a stdio command (mcp-remote in front of
                                                         the server), given as a JSON list

MODE=legacy (initialize handshake) or MODE=auto (2026-07-28 when the server offers it) for http.
Checks the tool list, a read tool, a write tool and the draft it changed, a resource, and, with
a read-only token, that publish is refused with INSUFFICIENT_SCOPE. Prints one line per check
and a closing `N passed, M failed` line; exits 1 when a check failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
import warnings

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

warnings.simplefilter("ignore")

MODE = os.environ.get("MODE", "legacy")
LABEL = ""
passed = 0
failed = 0


def check(name: str, ok: bool, detail: object = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def server_for(kind: str, target: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if kind == "http":
        return streamable_http_client(
            target, http_client=httpx2.AsyncClient(headers=headers, timeout=30)
        )
    if kind == "sse":
        return sse_client(target, headers=headers, timeout=30)
    cmd = json.loads(target)
    return StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))


async def main() -> None:
    kind, target = sys.argv[1], sys.argv[2]
    write = sys.argv[3] if len(sys.argv) > 3 else None
    read = sys.argv[4] if len(sys.argv) > 4 else None
    mode = MODE if kind == "http" else "legacy"
    global LABEL
    LABEL = os.environ.get("LABEL", f"memory-{kind}-{mode}")
    async with Client(server_for(kind, target, write), mode=mode) as c:
        tools = [t.name for t in (await c.list_tools()).tools]
        check("tools/list has the 22 tools", len(tools) == 22 and "deploy_config" in tools, tools)
        r = await c.call_tool("list_available_servers", {"search_query": "git"})
        servers = (r.structured_content or {}).get("servers", [])
        check(
            "list_available_servers finds git",
            not r.is_error and servers and servers[0]["server_id"] == "git",
            r,
        )
        r = await c.call_tool(
            "add_server_to_config",
            {"server_id": "memory", "client_id": "cursor", "server_name": LABEL},
        )
        check("add_server_to_config succeeds", not r.is_error, r)
        r = await c.call_tool("view_draft_config", {"client_id": "cursor"})
        names = json.dumps(r.structured_content)
        check("the draft holds the added server", LABEL in names, names)
        r = await c.call_tool("describe_server", {"server_id": "no-such-server"})
        check(
            "an unknown server is a tool error with a code",
            r.is_error and (r.structured_content or {}).get("code") == "UNKNOWN_SERVER",
            r,
        )
        res = await c.read_resource("capabilities://server")
        text = res.contents[0].text
        check("capabilities://server reads", json.loads(text)["name"] == "mcp-orch", text[:200])
    if read:
        async with Client(server_for(kind, target, read), mode=mode) as c:
            r = await c.call_tool("list_clients", {})
            check("a read token may read", not r.is_error, r)
            r = await c.call_tool("publish_config", {"client_id": "cursor"})
            check(
                "a read token may not publish",
                r.is_error and (r.structured_content or {}).get("code") == "INSUFFICIENT_SCOPE",
                r,
            )
            r = await c.call_tool("deploy_config", {"client_id": "cursor", "confirm": True})
            check(
                "a read token may not deploy",
                r.is_error and (r.structured_content or {}).get("code") == "INSUFFICIENT_SCOPE",
                r,
            )


try:
    asyncio.run(main())
except Exception:  # noqa: BLE001 - report, then fail
    traceback.print_exc()
    failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
