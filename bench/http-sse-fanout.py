"""Opens N subscribers to /v1/events, measures the server's resident memory before and after,
then publishes through the REST API and measures how long the `published` event takes to reach
every subscriber. Standard library only; loopback only; bounded in time.

usage: http-sse-fanout.py PORT TOKEN SERVER_PID N
"""

import asyncio
import json
import sys
import time

PORT, TOKEN, PID, N = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def rss_kb() -> int:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def request(method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    w.write(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    data = await r.read()
    w.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


async def subscriber(ready: asyncio.Event, got: list, opened: list):
    r, w = await asyncio.open_connection("127.0.0.1", PORT, limit=1 << 16)
    w.write(
        f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await r.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], head
    opened.append(1)
    while True:
        line = await r.readline()
        if not line:
            return
        if line.startswith(b"event: published"):
            got.append(time.monotonic())
            w.close()
            return


async def main():
    base = rss_kb()
    got, opened = [], []
    ready = asyncio.Event()
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(subscriber(ready, got, opened)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + 60
    while len(opened) < N and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    held = rss_kb()
    print(f"subscribers open: {len(opened)}/{N}")
    print(f"server RSS: {base} KiB before, {held} KiB with {len(opened)} subscribers: "
          f"{(held - base) / max(len(opened), 1):.1f} KiB per subscriber")
    t0 = time.monotonic()
    status, body = await request("POST", "/v1/config/cursor/default/publish", b'{"changelog": "bench"}')
    t1 = time.monotonic()
    assert status == 201, (status, body)
    deadline = time.monotonic() + 30
    while len(got) < len(opened) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    lat = sorted((g - t0) * 1000 for g in got)
    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p / 100))]
    print(f"publish request took {(t1 - t0) * 1000:.1f} ms")
    print(f"event received by {len(got)}/{len(opened)} subscribers; from the publish request: "
          f"p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms, max {lat[-1]:.1f} ms")
    for t in tasks:
        t.cancel()
    ok = len(got) == len(opened) == N
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


asyncio.run(main())
