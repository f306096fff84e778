#!/usr/bin/env python3
"""Publish-to-event latency across replicas (bench/team.sh): SSE subscribers on replicas B
and C, 200 publishes through replica A one after another; for each, the time from sending the
publish to the `published` event arriving at each subscriber. Prints p50, p99 and max."""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

TOKEN, A, B, C = sys.argv[1:5]
COUNT = 200
arrivals = {B: {}, C: {}}
ready = threading.Barrier(3)


def subscribe(base):
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request("GET", "/v1/events", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    ready.wait()
    kind, data = None, None
    while True:
        line = resp.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and kind == "published" and data:
            version = json.loads(data).get("version")
            arrivals[base][version] = time.perf_counter()
            if len(arrivals[base]) >= COUNT:
                return
            kind, data = None, None
        elif line == "":
            kind, data = None, None


threads = [threading.Thread(target=subscribe, args=(b,), daemon=True) for b in (B, C)]
for t in threads:
    t.start()
ready.wait()
time.sleep(0.5)
url = urlparse(A)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
sent = {}
for _ in range(COUNT):
    start = time.perf_counter()
    conn.request("POST", "/v1/config/cursor/default/publish", headers={"Authorization": f"Bearer {TOKEN}"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 201, body
    sent[body["version"]] = start
    time.sleep(0.02)
for t in threads:
    t.join(timeout=30)
for base, name in ((B, "B"), (C, "C")):
    lat = sorted((arrivals[base][v] - s) * 1000 for v, s in sent.items() if v in arrivals[base])
    missing = COUNT - len(lat)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"  subscriber on {name}: {len(lat)} events, missing {missing}; p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms")
