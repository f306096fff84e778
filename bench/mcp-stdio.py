#!/usr/bin/env python3
"""MCP over stdio: (1) process start to the `initialize` response, (2) tools/call round trips
of the read tools on one session. Standard library only; talks raw newline-delimited JSON-RPC,
so no client library cost is measured.

Usage: bench/mcp-stdio.py BIN [--starts N] [--calls N]
(bench/mcp-stdio.sh builds the release binary and runs this.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def row(name: str, ms: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(ms):.3f} | {pct(ms, 95):.3f} | {pct(ms, 99):.3f} "
        f"| {max(ms):.3f} | {len(ms)} |"
    )


class Session:
    def __init__(self, binary: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [binary, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert self.proc.stdin and self.proc.stdout
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self.next_id = 1

    def send(self, msg: dict) -> None:
        self.stdin.write((json.dumps(msg) + "\n").encode())
        self.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            msg = json.loads(self.stdout.readline())
            if msg.get("id") == rid:
                return msg

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=10)


def fixture() -> dict[str, str]:
    root = Path(tempfile.mkdtemp(prefix="mcp-orch-bench-"))
    (root / "home").mkdir()
    cursor = root / "cursor.json"
    cursor.write_text(json.dumps({"mcpServers": {"handmade": {"command": "node", "args": ["s.js"]}}}))
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(root / "home"),
            "MCP_ORCH_HOME": str(root / "orch"),
            "MCP_ORCH_CLIENT_PATH_CURSOR": str(cursor),
            "MCP_ORCH_LOG": "error",
        }
    )
    return env


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    env = fixture()

    # Prepare some state so the read tools have something to read.
    s = Session(args.binary, env)
    s.request("initialize", INIT["params"])
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    for server, extra in [("filesystem", {"params": {"path": "/srv"}}), ("memory", {}), ("time", {})]:
        r = s.request("tools/call", {"name": "add_server_to_config", "arguments": {"server_id": server, "client_id": "cursor", **extra}})
        assert not r["result"]["isError"], r
    s.request("tools/call", {"name": "initialize_keys", "arguments": {}})
    r = s.request("tools/call", {"name": "publish_config", "arguments": {"client_id": "cursor"}})
    assert not r["result"]["isError"], r
    r = s.request("tools/call", {"name": "deploy_config", "arguments": {"client_id": "cursor", "confirm": True}})
    assert not r["result"]["isError"], r
    s.close()

    # (1) process start -> initialize response
    starts: list[float] = []
    line = (json.dumps(INIT) + "\n").encode()
    for _ in range(args.starts):
        t0 = time.perf_counter()
        proc = subprocess.Popen([args.binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        assert proc.stdin and proc.stdout
        proc.stdin.write(line)
        proc.stdin.flush()
        reply = proc.stdout.readline()
        starts.append((time.perf_counter() - t0) * 1000)
        assert b'"serverInfo"' in reply, reply
        proc.stdin.close()
        proc.wait(timeout=10)

    # (2) tools/call round trips on one session
    calls = {
        "list_clients": {},
        "list_profiles": {"client_id": "cursor"},
        "list_available_servers": {"search_query": "git", "transport_filter": "stdio"},
        "describe_server": {"server_id": "github"},
        "view_draft_config": {"client_id": "cursor"},
        "validate_config": {"client_id": "cursor"},
        "diff_config": {"client_id": "cursor"},
        "get_config": {"client_id": "cursor"},
        "get_config_history": {"client_id": "cursor"},
        "config_status": {"client_id": "cursor"},
    }
    s = Session(args.binary, env)
    s.request("initialize", INIT["params"])
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    results: dict[str, list[float]] = {}
    for name, arguments in calls.items():
        params = {"name": name, "arguments": arguments}
        for _ in range(50):  # warm-up
            s.request("tools/call", params)
        ms = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            r = s.request("tools/call", params)
            ms.append((time.perf_counter() - t0) * 1000)
        assert not r["result"]["isError"], r
        results[name] = ms
    s.close()

    print("| Measurement | median ms | p95 ms | p99 ms | max ms | runs |")
    print("|---|---|---|---|---|---|")
    print(row("process start → `initialize` response", starts))
    every: list[float] = []
    for name, ms in results.items():
        print(row(f"tools/call `{name}`", ms))
        every += ms
    print(row("tools/call, all read tools above", every))


if __name__ == "__main__":
    main()
