#!/usr/bin/env python3
"""Overhead of the secret launcher (`mcp-orch run`) and of the stdio bridge (`mcp-orch connect`).

Usage: python3 bench/launcher-bridge.py [--binary target/release/mcp-orch] [--runs 200]

Launcher: the time from spawning a stdio MCP server to its `initialize` answer, started
directly and through the launcher (which opens the secret store, fills one `{secret:KEY}`
placeholder and execs the server). The server is `mcp-orch serve` itself, a fast-starting
stdio server, so the difference is the launcher's own cost.

Bridge: the round trip of one `tools/call` (`list_available_servers`, answered from memory) to
`mcp-orch serve --http`, sent directly over Streamable HTTP (one keep-alive connection, one
session) and sent over stdio to `mcp-orch connect`, which relays it over its own session.

Everything runs on loopback, in a temp state directory. Prints medians and p95 in ms.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bench", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(i):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "list_available_servers", "arguments": {"search_query": "git"}}}


def pct(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name, samples):
    return f"{name:<34} p50 {statistics.median(samples):7.3f} ms   p95 {pct(samples, 0.95):7.3f} ms   (n={len(samples)})"


def time_to_initialize(argv, env):
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    assert b'"result"' in line, line
    proc.stdin.close()
    proc.wait()
    return elapsed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sse_answer(body, wanted_id):
    for line in body.decode().splitlines():
        if line.startswith("data:") and line[5:].strip():
            message = json.loads(line[5:])
            if message.get("id") == wanted_id:
                return message
    raise AssertionError(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/mcp-orch")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    state = tempfile.mkdtemp(prefix="mcp-orch-bench-")
    env = {"PATH": os.environ["PATH"], "HOME": state, "MCP_ORCH_HOME": state}
    run = lambda *a, **kw: subprocess.run([binary, "--home", state, *a], check=True,
                                          capture_output=True, env=env, **kw)
    run("secrets", "set", "BENCH_TOKEN", "--client", "cursor", input=b"bench-secret-value")

    # Launcher.
    serve = [binary, "--home", state, "serve"]
    launched = [binary, "--home", state, "run", "bench", "--env",
                "BENCH_TOKEN={secret:cursor/default/BENCH_TOKEN}", "--", *serve]
    for argv in (serve, launched):  # warm the page cache
        time_to_initialize(argv, env)
    direct, via = [], []
    for _ in range(args.runs):
        direct.append(time_to_initialize(serve, env))
        via.append(time_to_initialize(launched, env))
    print(summary("stdio server, direct", direct))
    print(summary("stdio server, through `run`", via))
    print(f"{'launcher overhead (p50 difference)':<34} {statistics.median(via) - statistics.median(direct):7.3f} ms")

    # Bridge.
    token = json.loads(run("--json", "token", "create", "--name", "bench", "--scope", "read").stdout)["token"]
    port = free_port()
    server = subprocess.Popen([binary, "--home", state, "serve", "--http", "--port", str(port), "--rate-limit", "0"],
                              stderr=subprocess.PIPE, env={**env, "MCP_ORCH_LOG": "error"})
    for line in server.stderr:
        if b"listening on" in line:
            break
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream"}
        conn.request("POST", "/mcp", json.dumps(INIT), headers)
        response = conn.getresponse()
        session = response.getheader("mcp-session-id")
        response.read()
        headers = {**headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
        conn.request("POST", "/mcp", json.dumps(INITIALIZED), headers)
        conn.getresponse().read()
        direct = []
        for i in range(1, args.runs * 5 + 1):
            started = time.perf_counter()
            conn.request("POST", "/mcp", json.dumps(call(i)), headers)
            answer = sse_answer(conn.getresponse().read(), i)
            direct.append((time.perf_counter() - started) * 1000)
            assert not answer["result"]["isError"], answer

        bridge = subprocess.Popen(
            [binary, "--home", state, "connect", f"http://127.0.0.1:{port}/mcp",
             "--header", f"Authorization: Bearer {token}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        send = lambda m: (bridge.stdin.write((json.dumps(m) + "\n").encode()), bridge.stdin.flush())
        send(INIT)
        assert b'"result"' in bridge.stdout.readline()
        send(INITIALIZED)
        via = []
        for i in range(1, args.runs * 5 + 1):
            started = time.perf_counter()
            send(call(i))
            answer = json.loads(bridge.stdout.readline())
            via.append((time.perf_counter() - started) * 1000)
            assert answer["id"] == i and not answer["result"]["isError"], answer
        bridge.stdin.close()
        bridge.wait()
        print(summary("tools/call, direct HTTP", direct))
        print(summary("tools/call, through `connect`", via))
        print(f"{'bridge overhead (p50 difference)':<34} {statistics.median(via) - statistics.median(direct):7.3f} ms")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
