#!/usr/bin/env python3
"""Deploy benchmarks (issue 3), against the release binary in a temp HOME.

1. Sequential deploys: 100 runs alternating `deploy` (v2) and `rollback --to v1` into one
   Cursor file; wall time of each whole process (start, verify, merge, backup, fsync'd write,
   audit append). Reports p50/p95/p99.
2. 100 concurrent deploys into one file: 100 profiles pinned to the same file, each publishing a
   different server; all 100 `mcp-orch deploy` processes start at once. Reports p50/p95/max and
   checks that all 100 entries landed.
3. The same 100 deploys sent at once to one `mcp-orch serve --http` process (REST), where the
   per-file writer queue turns concurrent deploys into few writes.
4. Publish of a 500-server draft, whole process.
5. `mcp-orch apply` of one client, whole process, 100 runs: half with a changed draft (validate,
   publish, deploy), half with nothing new to publish (deploy of the latest release).
6. Memory: the peak RSS of one `mcp-orch deploy` into a 50 MB `~/.claude.json` (Claude Code
   keeps per-project history there), against the file's size.

Run: python3 bench/deploy.py   (builds the release binary first)
"""
import http.client, json, os, statistics, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
subprocess.run(["cargo", "build", "--release", "--bin", "mcp-orch", "-q"], cwd=ROOT, check=True)
target = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, capture_output=True, check=True).stdout)["target_directory"]
BIN = os.path.join(target, "release", "mcp-orch")


_made = []


def _mkdtemp():
    """A temp home, removed when the benchmark ends (a 50 MB client file and its backups add up)."""
    path = tempfile.mkdtemp()
    _made.append(path)
    return path


import atexit, shutil
atexit.register(lambda: [shutil.rmtree(p, ignore_errors=True) for p in _made])


def env_for(home):
    return {"PATH": os.environ["PATH"], "HOME": home, "MCP_ORCH_HOME": os.path.join(home, "state"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"), "NO_COLOR": "1"}


def run(env, *args):
    out = subprocess.run([BIN, "--json", *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        sys.exit(f"{args} failed: {out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def timed(env, *args):
    start = time.perf_counter()
    run(env, *args)
    return (time.perf_counter() - start) * 1000


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def sequential():
    home = _mkdtemp()
    env = env_for(home)
    os.makedirs(os.path.join(home, ".cursor"))
    with open(os.path.join(home, ".cursor", "mcp.json"), "w") as f:
        f.write('{\n  "mcpServers": {\n    "mine": { "command": "x" }\n  },\n  "other": true\n}\n')
    run(env, "keys", "init")
    run(env, "draft", "add", "memory", "--client", "cursor")
    v1 = run(env, "publish", "--client", "cursor")["results"][0]["artifact_id"]
    run(env, "draft", "add", "sequential-thinking", "--client", "cursor")
    run(env, "publish", "--client", "cursor")
    times = []
    for i in range(100):
        if i % 2 == 0:
            times.append(timed(env, "deploy", "--client", "cursor", "--yes"))
        else:
            times.append(timed(env, "rollback", "--client", "cursor", "--to", v1, "--yes"))
    return times


def shared_file(n):
    """A home with n Cursor profiles pinned to one file, each with one published server."""
    home = _mkdtemp()
    env = env_for(home)
    shared = os.path.join(home, "shared-mcp.json")
    with open(shared, "w") as f:
        f.write('{\n  "mcpServers": {}\n}\n')
    run(env, "keys", "init")
    for i in range(n):
        run(env, "profiles", "create", f"p{i}", "--client", "cursor", "--path", shared)
        run(env, "draft", "add", "memory", "--client", "cursor", "--profile", f"p{i}", "--name", f"s{i}")
        run(env, "publish", "--client", "cursor", "--profile", f"p{i}")
    return env, shared


def missing_from(shared, n):
    with open(shared) as f:
        landed = json.load(f)["mcpServers"]
    return [f"s{i}" for i in range(n) if f"s{i}" not in landed]


def concurrent(n=100):
    env, shared = shared_file(n)
    # One thread spawns all n processes back to back (posix_spawn, output to /dev/null) and
    # reaps them as they end: each latency runs from just before its spawn to its exit, with no
    # harness threads competing with the deploys for the two cores.
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    started = {}
    for i in range(n):
        argv = [BIN, "--json", "deploy", "--client", "cursor", "--profile", f"p{i}", "--yes"]
        t = time.perf_counter()
        started[os.posix_spawn(BIN, argv, env, file_actions=actions)] = t
    times = []
    while started:
        pid, status = os.wait()
        times.append((time.perf_counter() - started.pop(pid)) * 1000)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"deploy (pid {pid}) failed with {status}")
    return times, missing_from(shared, n)


def concurrent_http(n=100):
    """n concurrent deploys through one `serve --http` process (REST), each on its own
    keep-alive connection, all sent at once."""
    env, shared = shared_file(n)
    token = run(env, "token", "create", "--scope", "write")["token"]
    server = subprocess.Popen([BIN, "serve", "--http", "--port", "0", "--rate-limit", "0"], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stderr:
            if "listening on" in line:
                port = int(line.split("127.0.0.1:")[1].split()[0])
                break
        conns = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(n)]
        for c in conns:
            c.connect()
        go = threading.Barrier(n)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def deploy(i):
            go.wait()
            start = time.perf_counter()
            conns[i].request("POST", f"/v1/config/cursor/p{i}/deploy", body="{}", headers=headers)
            response = conns[i].getresponse()
            body = response.read()
            took = (time.perf_counter() - start) * 1000
            if response.status != 200:
                sys.exit(f"deploy p{i}: HTTP {response.status} {body!r}")
            return took

        with ThreadPoolExecutor(max_workers=n) as pool:
            times = list(pool.map(deploy, range(n)))
    finally:
        server.terminate()
        server.wait()
    return times, missing_from(shared, n)


def publish500():
    home = _mkdtemp()
    env = env_for(home)
    run(env, "keys", "init")
    state = os.path.join(home, "state")
    servers = {f"server-{i}": {"server_id": "memory", "transport": "stdio", "command": "npx",
                               "args": ["-y", "@modelcontextprotocol/server-memory"],
                               "env": {"LOG_LEVEL": "info", "API_TOKEN": {"secret": "API_TOKEN"}}} for i in range(500)}
    os.makedirs(os.path.join(state, "drafts", "cursor"), exist_ok=True)
    with open(os.path.join(state, "drafts", "cursor", "default.json"), "w") as f:
        json.dump({"client": "cursor", "profile": "default", "servers": servers, "revision": 1}, f)
    subprocess.run([BIN, "secrets", "set", "API_TOKEN"], env=env, input="t0ken-value\n", text=True, check=True, capture_output=True)
    return [timed(env, "publish", "--client", "cursor") for _ in range(10)]


def apply_runs():
    home = _mkdtemp()
    env = env_for(home)
    run(env, "keys", "init")
    run(env, "draft", "add", "memory", "--client", "cursor")
    changed, unchanged = [], []
    for i in range(50):
        # Untimed: the draft changes, so the timed apply validates, publishes and deploys.
        if i % 2 == 0:
            run(env, "draft", "add", "time", "--client", "cursor")
        else:
            run(env, "draft", "remove", "time", "--client", "cursor")
        changed.append(timed(env, "apply", "--client", "cursor", "--yes"))
        unchanged.append(timed(env, "apply", "--client", "cursor", "--yes"))
    return changed, unchanged


def big_file_memory(mb=50):
    home = _mkdtemp()
    env = env_for(home)
    env["CLAUDE_CONFIG_DIR"] = os.path.join(home, ".claude-config")
    os.makedirs(env["CLAUDE_CONFIG_DIR"])
    path = os.path.join(env["CLAUDE_CONFIG_DIR"], ".claude.json")
    project = {"allowedTools": [], "history": [{"display": "x" * 200, "pastedContents": {}} for _ in range(50)]}
    doc = {"numStartups": 1, "projects": {}, "mcpServers": {}}
    size = 0
    i = 0
    while size < mb * 1024 * 1024:
        doc["projects"][f"/src/project-{i}"] = project
        i += 1
        size += 14_600
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    size = os.path.getsize(path)
    run(env, "keys", "init")
    run(env, "draft", "add", "memory", "--client", "claude-code")
    run(env, "publish", "--client", "claude-code")
    start = time.perf_counter()
    child = subprocess.Popen([BIN, "--json", "deploy", "--client", "claude-code", "--yes"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    took = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("the deploy into the large file failed")
    peak_kib = usage.ru_maxrss
    return size, peak_kib * 1024, took


mem_size, mem_peak, mem_took = big_file_memory()
print(f"deploy into a {mem_size / 1e6:.1f} MB ~/.claude.json: peak RSS {mem_peak / 1e6:.1f} MB ({mem_peak / mem_size:.1f}x the file), {mem_took:.0f} ms")
changed, unchanged = apply_runs()
print(f"apply, draft changed (validate + publish + deploy), 50 runs: p50 {pct(changed, 50):.1f} ms, p95 {pct(changed, 95):.1f} ms, max {max(changed):.1f} ms")
print(f"apply, nothing new to publish, 50 runs: p50 {pct(unchanged, 50):.1f} ms, p95 {pct(unchanged, 95):.1f} ms, max {max(unchanged):.1f} ms")
seq = sequential()
print(f"sequential deploy (100 runs): p50 {pct(seq, 50):.1f} ms, p95 {pct(seq, 95):.1f} ms, p99 {pct(seq, 99):.1f} ms")
conc, missing = concurrent()
print(f"100 concurrent `mcp-orch deploy` processes into one file: p50 {pct(conc, 50):.1f} ms, p95 {pct(conc, 95):.1f} ms, max {max(conc):.1f} ms, landed {100 - len(missing)}/100")
conc_http, missing_http = concurrent_http()
missing += missing_http
print(f"100 concurrent deploys into one file through the HTTP API: p50 {pct(conc_http, 50):.1f} ms, p95 {pct(conc_http, 95):.1f} ms, max {max(conc_http):.1f} ms, landed {100 - len(missing_http)}/100")
pub = publish500()
print(f"publish a 500-server draft (whole process, 10 runs): median {statistics.median(pub):.1f} ms")
if missing:
    sys.exit(f"lost deploys: {missing}")
