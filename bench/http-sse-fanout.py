"""Opens N subscribers to /v1/events, measures the server's resident memory before and after,
then publishes through the REST API and measures how long the `published` event takes to reach
every subscriber (one epoll loop, so the client adds little). Standard library only; loopback
only; bounded in time.

usage: http-sse-fanout.py PORT TOKEN SERVER_PID N
"""

import selectors
import socket
import sys
import time

PORT, TOKEN, PID, N = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
REQ = (
    f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAuthorization: Bearer {TOKEN}\r\n"
    "Accept: text/event-stream\r\n\r\n"
).encode()


def rss_kb() -> int:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def publish() -> int:
    body = b'{"changelog": "bench"}'
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(
        f"POST /v1/config/cursor/default/publish HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    )
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1])


def main() -> None:
    base = rss_kb()
    sel = selectors.EpollSelector()
    socks = []
    for i in range(N):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(REQ)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, {"buf": b"", "open": False, "got": None})
        socks.append(s)
        if i % 500 == 499:
            time.sleep(0.02)
    # Wait until every stream answered 200 (and drain the first comment).
    opened = 0
    deadline = time.monotonic() + 60
    while opened < N and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            st = key.data
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            st["buf"] += data
            if not st["open"] and b"\r\n\r\n" in st["buf"]:
                assert b" 200 " in st["buf"].split(b"\r\n")[0], st["buf"][:200]
                st["open"] = True
                st["buf"] = b""
                opened += 1
    time.sleep(1.0)
    for key in list(sel.get_map().values()):
        try:
            key.fileobj.recv(65536)
        except BlockingIOError:
            pass
    held = rss_kb()
    print(f"subscribers open: {opened}/{N}")
    print(
        f"server RSS: {base} KiB before, {held} KiB with {opened} subscribers: "
        f"{(held - base) / max(opened, 1):.1f} KiB per subscriber"
    )
    t0 = time.monotonic()
    status = publish()
    t1 = time.monotonic()
    assert status == 201, status
    got = 0
    lat = []
    deadline = time.monotonic() + 30
    while got < opened and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            st = key.data
            if st["got"] is not None:
                try:
                    key.fileobj.recv(65536)
                except BlockingIOError:
                    pass
                continue
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            st["buf"] += data
            if b"event: published" in st["buf"]:
                st["got"] = time.monotonic()
                lat.append((st["got"] - t0) * 1000)
                got += 1
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p / 100))] if lat else float("nan")

    print(f"publish request took {(t1 - t0) * 1000:.1f} ms")
    print(
        f"event received by {got}/{opened} subscribers; from the start of the publish request: "
        f"p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms, max {lat[-1] if lat else 0:.1f} ms"
    )
    for s in socks:
        s.close()
    ok = got == opened == N
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


main()
