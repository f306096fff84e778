"""Drives `mcp-orch serve` over stdio with the official Python SDK (mcp==2.3.0) and checks every
tool (a success and an error each), every resource and template, the prompts, logging, progress,
and that a change made by the CLI in another process reaches a subscribed client as
`notifications/resources/updated`.

Usage: py_client.py BIN            (MODE=legacy: initialize handshake, 2025-11-25;
                                    MODE=auto: server/discover, 2026-07-28)

Everything runs in a fresh temporary HOME / MCP_ORCH_HOME. Prints one line per check and a
closing `N passed, M failed` line; exits 1 when a check failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import anyio
import jsonschema
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

warnings.simplefilter("ignore")

BIN = sys.argv[1]
MODE = os.environ.get("MODE", "legacy")
# Who the audit log names for calls over stdio: the client of the session (the SDK says "mcp"
# in its initialize; a 2026-07-28 session has no initialize).
STDIO_ACTOR = "mcp:stdio:mcp" if MODE == "legacy" else "mcp:stdio"
NOTIFY_TIMEOUT = 10.0

TOOLS = [
    "list_clients",
    "list_profiles",
    "get_config",
    "diff_config",
    "list_available_servers",
    "describe_server",
    "add_server_to_config",
    "remove_server_from_config",
    "view_draft_config",
    "clear_draft_config",
    "publish_config",
    "initialize_keys",
    "validate_config",
    "deploy_config",
    "apply_config",
    "undeploy_config",
    "get_config_history",
    "get_audit_log",
    "config_status",
    "rollback_config",
    "check_server_health",
    "import_client_config",
]
TEMPLATES = [
    "server://{server_id}",
    "config://{client_id}/{profile_id}/draft",
    "config://{client_id}/{profile_id}/latest",
    "config://{client_id}/{profile_id}/deployed",
    "audit://{client_id}/{profile_id}",
]
READ_ONLY = {
    "list_clients",
    "list_profiles",
    "get_config",
    "diff_config",
    "list_available_servers",
    "describe_server",
    "view_draft_config",
    "validate_config",
    "get_config_history",
    "get_audit_log",
    "config_status",
}
DESTRUCTIVE = {
    "remove_server_from_config",
    "clear_draft_config",
    "deploy_config",
    "rollback_config",
    "apply_config",
    "undeploy_config",
}
IDEMPOTENT = READ_ONLY | {
    "clear_draft_config",
    "import_client_config",
    "deploy_config",
    "rollback_config",
    "apply_config",
    "undeploy_config",
    "check_server_health",
}
# Tools that reach outside mcp-orch (they start the configured servers).
OPEN_WORLD = {"check_server_health"}

passed = 0
failed = 0


def check(name: str, ok: bool, detail: object = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {MODE} {name}")
    else:
        failed += 1
        print(f"FAIL {MODE} {name}: {detail}")


def eq(name: str, got: object, want: object) -> None:
    check(name, got == want, f"got {got!r}, want {want!r}")


def make_fixture() -> tuple[dict[str, str], Path]:
    root = Path(tempfile.mkdtemp(prefix="mcp-orch-py-"))
    home = root / "home"
    home.mkdir()
    cursor = root / "cursor" / "mcp.json"
    cursor.parent.mkdir()
    cursor.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "handmade": {
                        "command": "node",
                        "args": ["server.js"],
                        "env": {"API_TOKEN": "s3cr3t-token-value"},
                    }
                }
            },
            indent=2,
        )
        + "\n"
    )
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "MCP_ORCH_HOME": str(root / "orch"),
            "MCP_ORCH_CLIENT_PATH_CURSOR": str(cursor),
            "MCP_ORCH_CLIENT_PATH_VSCODE": str(root / "vscode" / "mcp.json"),
            "MCP_ORCH_CLIENT_PATH_CLAUDE_CODE": str(root / "claude" / ".claude.json"),
            "MCP_ORCH_LOG": "error",
        }
    )
    return env, root


# Each tool's outputSchema, from tools/list: every result (answer or tool error) is checked
# against it, so a shape that drifts from its declared schema fails here.
OUTPUT_SCHEMAS: dict[str, dict] = {}


async def call(c: Client, name: str, args: dict | None = None):
    r = await c.call_tool(name, args or {})
    schema = OUTPUT_SCHEMAS.get(name)
    if schema is not None and r.structured_content is not None:
        try:
            jsonschema.Draft202012Validator(schema).validate(r.structured_content)
        except jsonschema.ValidationError as e:
            check(f"{name} result matches its outputSchema", False, e.message)
    return r.is_error, r.structured_content, r


def error_of(sc: dict) -> tuple:
    return (sc.get("code"), sorted(sc.keys()))


async def check_tools(c: Client, env: dict[str, str], root: Path) -> None:
    listed = (await c.list_tools()).tools
    eq("tools/list names", [t.name for t in listed], TOOLS)
    for t in listed:
        a = t.annotations
        eq(
            f"annotations {t.name}",
            (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint),
            (t.name in READ_ONLY, t.name in DESTRUCTIVE, t.name in IDEMPOTENT, t.name in OPEN_WORLD),
        )
        check(f"schema {t.name} is an object", t.input_schema.get("type") == "object", t.input_schema)
        out = t.output_schema or {}
        check(f"output schema {t.name} is an object", out.get("type") == "object", out)
        OUTPUT_SCHEMAS[t.name] = out
        # The schema says something: an empty object is neither an answer nor an error.
        check(
            f"output schema {t.name} refuses an empty object",
            not jsonschema.Draft202012Validator(out).is_valid({}),
        )
        check(f"description {t.name}", bool(t.description))
    add = next(t for t in listed if t.name == "add_server_to_config")
    props = add.input_schema["properties"]
    eq("add schema properties", sorted(props), ["client_id", "env_vars", "if_exists", "params", "profile_id", "secret_delivery", "server_id", "server_name"])
    eq("add schema required", add.input_schema.get("required"), ["server_id"])
    eq("add schema client default", props["client_id"].get("default"), "claude-desktop")
    eq("add schema profile default", props["profile_id"].get("default"), "default")
    check("add schema describes params", "Parameter values" in props["params"].get("description", ""), props["params"])

    # list_clients
    err, sc, r = await call(c, "list_clients")
    check("list_clients ok", not err, sc)
    ids = [x["client_id"] for x in sc["clients"]]
    check("list_clients has cursor and claude-desktop", {"cursor", "claude-desktop"} <= set(ids), ids)
    eq("list_clients count", sc["count"], len(ids))
    cur = next(x for x in sc["clients"] if x["client_id"] == "cursor")
    eq("list_clients cursor", (cur["detected"], cur["server_count"], cur["config_location"], cur["available_profiles"]),
       (True, 1, env["MCP_ORCH_CLIENT_PATH_CURSOR"], ["default"]))
    eq("list_clients text is the JSON", json.loads(r.content[0].text), sc)
    err, sc, _ = await call(c, "list_clients", {"bogus": 1})
    eq("list_clients error", (err, sc["code"], sc["field"]), (True, "INVALID_ARGUMENTS", "bogus"))

    # list_profiles
    err, sc, _ = await call(c, "list_profiles", {"client_id": "cursor"})
    eq("list_profiles ok", (err, sc["client_id"], sc["count"], [p["profile_id"] for p in sc["profiles"]]),
       (False, "cursor", 1, ["default"]))
    eq("list_profiles target", sc["profiles"][0]["target_path"], env["MCP_ORCH_CLIENT_PATH_CURSOR"])
    err, sc, _ = await call(c, "list_profiles", {"client_id": "nope"})
    eq("list_profiles error", (err, sc["code"], sc["field"], sc["details"]["client"]), (True, "UNKNOWN_CLIENT", "client_id", "nope"))
    eq("error body keys", sorted(sc), ["code", "details", "field", "hint", "message", "next"])
    eq("error next steps", sc["next"], [{"op": "list_clients"}])
    check("error hint names the tool", "`list_clients` tool" in sc["hint"], sc["hint"])
    err, sc, _ = await call(c, "list_profiles", {})
    eq("list_profiles missing argument", (err, sc["code"], sc["field"]), (True, "INVALID_ARGUMENTS", "client_id"))

    # list_available_servers: search and transport together
    err, sc, _ = await call(c, "list_available_servers", {"search_query": "github"})
    ids = [s["server_id"] for s in sc["servers"]]
    check("search github finds both transports", {"github", "github-remote"} <= set(ids), ids)
    err, sc, _ = await call(c, "list_available_servers", {"search_query": "github", "transport_filter": "http"})
    eq("search + transport_filter together", (err, all(s["transport"] == "http" for s in sc["servers"]), "github-remote" in [s["server_id"] for s in sc["servers"]], "github" in [s["server_id"] for s in sc["servers"]]),
       (False, True, True, False))
    eq("search filter echoed", (sc["search_query"], sc["transport_filter"], sc["count"]), ("github", "http", len(sc["servers"])))
    check("transport_counts counts the text matches", sc["transport_counts"]["stdio"] >= 1 and sc["transport_counts"]["http"] >= 1, sc["transport_counts"])
    err, sc, _ = await call(c, "list_available_servers", {"transport_filter": "carrier-pigeon"})
    eq("list_available_servers error", (err, sc["code"], sc["field"]), (True, "INVALID_TRANSPORT", "transport_filter"))

    # describe_server
    err, sc, _ = await call(c, "describe_server", {"server_id": "filesystem"})
    eq("describe_server ok", (err, sc["server_id"], sc["transport"]["type"], sc["transport"]["command"], [p["name"] for p in sc["parameters"]]),
       (False, "filesystem", "stdio", "npx", ["path"]))
    eq("describe_server usage example", sc["usage_example"], {"tool": "add_server_to_config", "arguments": {"server_id": "filesystem", "params": {"path": "~/Documents"}}})
    err, sc, _ = await call(c, "describe_server", {"server_id": "githb"})
    eq("describe_server error", (err, sc["code"], sc["field"], sc["details"]),
       (True, "UNKNOWN_SERVER", "server_id", {"server_id": "githb", "suggestions": ["github", "github-remote"]}))

    # add_server_to_config: object and JSON-string params, secret env
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "filesystem", "client_id": "cursor", "params": {"path": "/srv/code"}})
    eq("add object params", (err, sc["status"], sc["server_name"], sc["server_count"], sc["server"]["args"][-1]),
       (False, "added", "filesystem", 1, "/srv/code"))
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "filesystem", "client_id": "cursor", "server_name": "fs2", "params": "{\"path\": \"/srv/other\"}"})
    eq("add JSON-string params", (err, sc["server_name"], sc["server_count"], sc["servers"]), (False, "fs2", 2, ["filesystem", "fs2"]))
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "github", "client_id": "cursor", "env_vars": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_examplevalue123"}})
    eq("add secret env", (err, sc["stored_secrets"], sc["server"]["env"]), (False, ["cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"], {"GITHUB_PERSONAL_ACCESS_TOKEN": {"secret": "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"}}))
    check("secret value never returned", "ghp_examplevalue123" not in json.dumps(sc), sc)
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "filesystem", "client_id": "cursor", "server_name": "fs3"})
    eq("add missing param error", (err, sc["code"], sc["field"]), (True, "MISSING_REQUIRED_PARAM", "params.path"))
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "filesystem", "client_id": "cursor", "params": {"path": "/x"}})
    eq("add duplicate error", (err, sc["code"], sc["field"]), (True, "DUPLICATE_NAME", "server_name"))
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "filesystem", "client_id": "cursor", "server_name": "fs4", "params": "{not json"})
    eq("add bad JSON string error", (err, sc["code"], sc["field"]), (True, "INVALID_ARGUMENTS", "params"))
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "time"})
    eq("add defaults to claude-desktop/default", (err, sc["client_id"], sc["profile_id"]), (False, "claude-desktop", "default"))

    # view_draft_config
    err, sc, _ = await call(c, "view_draft_config", {"client_id": "cursor"})
    eq("view_draft ok", (err, sc["servers"], sc["server_count"], sc["revision"]), (False, ["filesystem", "fs2", "github"], 3, 3))
    err, sc, _ = await call(c, "view_draft_config", {"client_id": "cursor", "profile_id": "nope"})
    eq("view_draft error", (err, sc["code"], sc["field"]), (True, "UNKNOWN_PROFILE", "profile_id"))

    # remove_server_from_config
    err, sc, _ = await call(c, "remove_server_from_config", {"server_name": "fs2", "client_id": "cursor"})
    eq("remove ok", (err, sc["status"], sc["servers"]), (False, "removed", ["filesystem", "github"]))
    err, sc, _ = await call(c, "remove_server_from_config", {"server_name": "fs2", "client_id": "cursor"})
    eq("remove error", (err, sc["code"], sc["field"], sc["details"]), (True, "SERVER_NOT_IN_DRAFT", "server_name", {"client": "cursor", "profile": "default", "name": "fs2"}))

    # validate_config
    err, sc, _ = await call(c, "validate_config", {"client_id": "cursor"})
    eq("validate ok", (err, sc["client_id"], sc["profile_id"], sc["server_count"], sorted(sc)),
       (False, "cursor", "default", 2, ["client_id", "errors", "profile_id", "server_count", "valid", "warnings"]))
    err, sc, _ = await call(c, "validate_config", {"client_id": "cursor", "profile_id": "../etc"})
    eq("validate error", (err, sc["code"]), (True, "UNKNOWN_PROFILE"))

    # diff_config: draft and local_payload
    err, sc, _ = await call(c, "diff_config", {"client_id": "cursor"})
    eq("diff draft", (err, sc["source"], sc["status"], sc["diff"]["servers_added"], sc["summary"]["added_count"], sc["path"]),
       (False, "draft", "outdated", ["filesystem", "github"], 2, env["MCP_ORCH_CLIENT_PATH_CURSOR"]))
    check("diff unified text", "+++ b/" in sc["unified_diff"], sc["unified_diff"])
    payload = {"mcpServers": {"handmade": {"command": "node", "args": ["server.js"], "env": {"API_TOKEN": "s3cr3t-token-value"}}}}
    err, sc, _ = await call(c, "diff_config", {"client_id": "cursor", "local_payload": payload})
    eq("diff local_payload same as file", (err, sc["source"], sc["status"], sc["diff"]["servers_unchanged"]), (False, "local_payload", "up-to-date", ["handmade"]))
    err, sc, _ = await call(c, "diff_config", {"client_id": "cursor", "local_payload": json.dumps({"handmade": {"command": "deno", "args": ["server.js"]}})})
    eq("diff local_payload string, modified", (err, sc["status"], [m["server_id"] for m in sc["diff"]["servers_modified"]]), (False, "diverged", ["handmade"]))
    check("diff masks secrets", "s3cr3t-token-value" not in json.dumps(sc), sc)
    err, sc, _ = await call(c, "diff_config", {"client_id": "cursor", "local_payload": [1, 2]})
    eq("diff error", (err, sc["code"]), (True, "INVALID_ARGUMENTS"))

    # import_client_config
    err, sc, _ = await call(c, "import_client_config", {"client_id": "cursor"})
    eq("import ok", (err, sc["status"], sc["imported"], sc["secrets_moved"], sc["server_count"]), (False, "imported", ["handmade"], ["cursor/default/API_TOKEN"], 3))
    err, sc, _ = await call(c, "import_client_config", {"client_id": "vscode", "profile_id": "default"})
    eq("import of a missing file imports nothing", (err, sc["imported"], sc["skipped"], sc["server_count"]), (False, [], [], 0))
    Path(env["MCP_ORCH_CLIENT_PATH_VSCODE"]).parent.mkdir(parents=True, exist_ok=True)
    Path(env["MCP_ORCH_CLIENT_PATH_VSCODE"]).write_text("{ not json")
    err, sc, _ = await call(c, "import_client_config", {"client_id": "vscode", "profile_id": "default"})
    eq("import of a broken file", (err, sc["code"], sc["details"]["path"]), (True, "CONFIG_PARSE_ERROR", env["MCP_ORCH_CLIENT_PATH_VSCODE"]))
    err, sc, _ = await call(c, "import_client_config", {"client_id": "nope"})
    eq("import unknown client", (err, sc["code"]), (True, "UNKNOWN_CLIENT"))

    # clear_draft_config
    err, sc, _ = await call(c, "clear_draft_config", {"client_id": "claude-desktop"})
    eq("clear ok", (err, sc["status"], sc["previous_count"]), (False, "cleared", 1))
    err, sc, _ = await call(c, "clear_draft_config", {"client_id": "claude-desktop", "profile_id": "ghost"})
    eq("clear error", (err, sc["code"]), (True, "UNKNOWN_PROFILE"))

    # an unknown tool is a protocol error
    try:
        await c.call_tool("no_such_tool", {})
        check("unknown tool is a JSON-RPC error", False, "no error raised")
    except MCPError as e:
        eq("unknown tool is a JSON-RPC error", e.code, -32602)


async def check_resources(c: Client) -> None:
    listed = [r.uri for r in (await c.list_resources()).resources]
    eq("resources/list", listed, ["capabilities://server", "capabilities://clients", "server://registry", "config://claude-desktop/default/draft", "config://cursor/default/draft", "config://vscode/default/draft"])
    templates = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
    eq("resources/templates/list", templates, TEMPLATES)

    async def read(uri: str):
        res = await c.read_resource(uri)
        eq(f"mime {uri}", res.contents[0].mime_type, "application/json")
        return json.loads(res.contents[0].text)

    caps = await read("capabilities://server")
    eq("capabilities://server", (caps["name"], caps["tools"], caps["resource_templates"], caps["prompts"]),
       ("mcp-orch", TOOLS, TEMPLATES, ["setup_client", "troubleshoot_config", "migrate_config"]))
    clients = await read("capabilities://clients")
    cur = next(x for x in clients["clients"] if x["client_id"] == "cursor")
    eq("capabilities://clients", (cur["config_format"], cur["profiles"], clients["count"] == len(clients["clients"])), ("json", ["default"], True))
    reg = await read("server://registry")
    eq("server://registry", (reg["count"], len(reg["servers"]), "filesystem" in [s["id"] for s in reg["servers"]]), (len(reg["servers"]), reg["count"], True))
    fs = await read("server://filesystem")
    eq("server://{server_id}", (fs["id"], fs["transport"], fs["command"]), ("filesystem", "stdio", "npx"))
    draft = await read("config://cursor/default/draft")
    eq("config://…/draft", (draft["client_id"], draft["servers"], sorted(draft["payload"])), ("cursor", ["filesystem", "github", "handmade"], ["filesystem", "github", "handmade"]))
    check("draft resource holds no secret value", "s3cr3t-token-value" not in json.dumps(draft) and "ghp_examplevalue123" not in json.dumps(draft), draft)
    for uri, code in [("server://nope", -32002), ("config://nope/default/draft", -32002), ("bogus://x", -32002)]:
        try:
            await c.read_resource(uri)
            check(f"read {uri} fails", False, "no error")
        except MCPError as e:
            # 2026-07-28 turns resource-not-found into invalid params
            want = -32602 if MODE != "legacy" else code
            eq(f"read {uri} fails", e.code, want)
            if uri == "server://nope":
                eq("resource error data", e.data["code"], "UNKNOWN_SERVER")


async def check_prompts(c: Client) -> None:
    prompts = (await c.list_prompts()).prompts
    eq("prompts/list", [p.name for p in prompts], ["setup_client", "troubleshoot_config", "migrate_config"])
    eq("prompt args", [[(a.name, bool(a.required)) for a in p.arguments] for p in prompts],
       [[("client_id", True), ("profile_id", False), ("goal", False)], [("client_id", True), ("profile_id", False), ("symptom", False)], [("client_id", True), ("profile_id", False)]])
    r = await c.get_prompt("setup_client", {"client_id": "cursor", "goal": "work on GitHub issues"})
    text = r.messages[0].content.text
    check("setup_client text", "My goal: work on GitHub issues" in text and "list_available_servers" in text and "the draft holds 3 server(s)" in text, text)
    r = await c.get_prompt("troubleshoot_config", {"client_id": "cursor", "symptom": "github fails"})
    text = r.messages[0].content.text
    check("troubleshoot_config text", "validation of the draft" in text and "What I see: github fails" in text, text)
    r = await c.get_prompt("migrate_config", {"client_id": "cursor"})
    text = r.messages[0].content.text
    check("migrate_config text", "import_client_config" in text and "holds 1 server(s)" in text, text)
    for name, args in [("setup_client", {}), ("migrate_config", {"client_id": "nope"}), ("no_prompt", {})]:
        try:
            await c.get_prompt(name, args)
            check(f"prompt {name} {args} fails", False, "no error")
        except MCPError as e:
            eq(f"prompt {name} {args} fails", e.code, -32602)


def on_disk(env: dict[str, str]) -> dict:
    path = Path(env["MCP_ORCH_CLIENT_PATH_CLAUDE_CODE"])
    return json.loads(path.read_text()) if path.exists() else {}


async def check_workflow(c: Client, env: dict[str, str]) -> None:
    """search, add, validate, publish, deploy with confirm, status, rollback — through MCP alone,
    checked against the client's file on disk."""
    cc = {"client_id": "claude-code"}
    err, sc, _ = await call(c, "list_available_servers", {"search_query": "memory", "transport_filter": "stdio"})
    check("workflow: search finds memory", "memory" in [x["server_id"] for x in sc["servers"]], sc)
    err, sc, _ = await call(c, "add_server_to_config", {"server_id": "memory", **cc})
    eq("workflow: add memory", (err, sc["server_count"]), (False, 1))
    err, sc, _ = await call(c, "validate_config", cc)
    eq("workflow: validate", (err, sc["valid"], sc["errors"]), (False, True, []))

    err, sc, _ = await call(c, "publish_config", {"changelog": "memory", **cc})
    eq("publish without a key", (err, sc["code"]), (True, "KEY_NOT_FOUND"))
    err, sc, _ = await call(c, "initialize_keys", {})
    eq("initialize_keys", (err, sc["status"], sc["key"]["algorithm"]), (False, "initialized", "ed25519"))
    err, sc, _ = await call(c, "initialize_keys", {})
    eq("initialize_keys twice", (err, sc["code"]), (True, "KEY_EXISTS"))
    err, sc, _ = await call(c, "publish_config", {"changelog": "memory", **cc})
    eq("publish v1", (err, sc["status"], sc["version"], sc["servers"], sc["changelog"]), (False, "published", 1, ["memory"], "memory"))
    v1 = sc["artifact_id"]
    err, sc, _ = await call(c, "publish_config", {"client_id": "claude-code", "profile_id": "nope"})
    eq("publish error", (err, sc["code"]), (True, "UNKNOWN_PROFILE"))

    err, sc, _ = await call(c, "deploy_config", cc)
    eq("deploy without confirm is a dry run", (err, sc["status"], sc["dry_run"], sc["changed"], sc["plan"]["diff"]["servers_added"]), (False, "dry_run", True, False, ["memory"]))
    eq("dry run writes nothing", on_disk(env), {})
    err, sc, _ = await call(c, "deploy_config", {**cc, "confirm": True})
    eq("deploy with confirm", (err, sc["status"], sc["version"], sc["changed"], sc["config_path"]), (False, "deployed", 1, True, env["MCP_ORCH_CLIENT_PATH_CLAUDE_CODE"]))
    eq("file on disk after deploy", sorted(on_disk(env).get("mcpServers", {})), ["memory"])
    err, sc, _ = await call(c, "deploy_config", {"client_id": "windsurf", "confirm": True})
    eq("deploy error", (err, sc["code"]), (True, "ARTIFACT_NOT_FOUND"))

    err, sc, _ = await call(c, "config_status", cc)
    t = sc["targets"][0]
    eq("status in sync", (err, t["drift"], t["deployed_version"], t["latest_version"], sc["drift_detected"]), (False, "in_sync", 1, 1, False))
    err, sc, _ = await call(c, "config_status", {"profile_id": "default"})
    eq("status error", (err, sc["code"], sc["field"]), (True, "INVALID_ARGUMENTS", "profile_id"))

    await call(c, "add_server_to_config", {"server_id": "time", **cc})
    err, sc, _ = await call(c, "publish_config", {"changelog": "time", **cc})
    eq("publish v2", (err, sc["version"], sc["servers"]), (False, 2, ["memory", "time"]))
    v2 = sc["artifact_id"]
    err, sc, _ = await call(c, "deploy_config", {**cc, "confirm": True})
    eq("deploy v2", (err, sc["version"]), (False, 2))
    eq("file on disk after deploy v2", sorted(on_disk(env)["mcpServers"]), ["memory", "time"])

    err, sc, _ = await call(c, "rollback_config", cc)
    eq("rollback without confirm is a dry run", (err, sc["status"], sc["version"], sc["plan"]["diff"]["servers_removed"]), (False, "dry_run", 1, ["time"]))
    eq("rollback dry run writes nothing", sorted(on_disk(env)["mcpServers"]), ["memory", "time"])
    err, sc, _ = await call(c, "rollback_config", {**cc, "confirm": True})
    eq("rollback with confirm", (err, sc["status"], sc["version"], sc["artifact_id"]), (False, "rolled_back", 1, v1))
    eq("file on disk after rollback", sorted(on_disk(env)["mcpServers"]), ["memory"])
    err, sc, _ = await call(c, "rollback_config", {**cc, "steps": 5, "confirm": True})
    eq("rollback error", (err, sc["code"]), (True, "NO_EARLIER_ARTIFACT"))
    err, sc, _ = await call(c, "config_status", cc)
    eq("status after rollback", (sc["targets"][0]["deployed_version"], sc["targets"][0]["latest_version"]), (1, 2))

    err, sc, _ = await call(c, "get_config", cc)
    eq("get_config latest", (err, sc["version"], sc["artifact_id"], sc["verified"], sorted(sc["payload"]["entries"])), (False, 2, v2, True, ["memory", "time"]))
    err, sc, _ = await call(c, "get_config", {**cc, "artifact_id": v1[:12]})
    eq("get_config by prefix", (err, sc["version"]), (False, 1))
    err, sc, _ = await call(c, "get_config", {**cc, "artifact_id": "0" * 12})
    eq("get_config error", (err, sc["code"]), (True, "ARTIFACT_NOT_FOUND"))
    err, sc, _ = await call(c, "get_config_history", cc)
    eq("history", (err, [r["version"] for r in sc["releases"]], sc["total"]), (False, [2, 1], 2))
    err, sc, _ = await call(c, "get_config_history", {**cc, "limit": 1})
    eq("history limit", [r["version"] for r in sc["releases"]], [2])
    err, sc, _ = await call(c, "get_config_history", {**cc, "limit": -1})
    eq("history error", (err, sc["code"], sc["field"]), (True, "INVALID_ARGUMENTS", "limit"))
    err, sc, _ = await call(c, "get_audit_log", {**cc, "verify": True})
    eq("audit log", (err, [r["action"] for r in sc["records"]], [r["actor"] for r in sc["records"]][-1], sc["verification"]["ok"]),
       (False, ["publish", "publish", "publish", "deploy", "publish", "deploy", "rollback", "rollback"], STDIO_ACTOR, True))
    eq("audit records failures with their code", [r.get("error_code") for r in sc["records"]][:3], ["KEY_NOT_FOUND", None, "UNKNOWN_PROFILE"])
    err, sc, _ = await call(c, "get_audit_log", {"client_id": "nope"})
    eq("audit error", (err, sc["code"]), (True, "UNKNOWN_CLIENT"))

    async def read(uri: str):
        return json.loads((await c.read_resource(uri)).contents[0].text)

    latest = await read("config://claude-code/default/latest")
    eq("config://…/latest", (latest["version"], latest["verified"]), (2, True))
    deployed = await read("config://claude-code/default/deployed")
    eq("config://…/deployed", (deployed["deployed_version"], deployed["drift"], deployed["owned"]), (1, "in_sync", ["memory"]))
    audit = await read("audit://claude-code/default")
    eq("audit://…", (audit["count"], audit["records"][-1]["action"]), (7, "rollback"))
    try:
        await c.read_resource("config://windsurf/default/latest")
        check("latest of an unpublished target fails", False, "no error")
    except MCPError as e:
        eq("latest of an unpublished target fails", e.data["code"], "ARTIFACT_NOT_FOUND")


async def check_elicitation(env: dict[str, str]) -> None:
    """deploy_config without `confirm` asks the user through elicitation (legacy sessions)."""
    answers = ["decline", "accept"]
    asked: list[str] = []

    async def on_elicit(ctx, params):
        import mcp_types as types
        asked.append(params.message)
        action = answers.pop(0)
        return types.ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)

    server = StdioServerParameters(command=BIN, args=["serve"], env=env)
    async with Client(server, mode="legacy", cache=None, elicitation_callback=on_elicit) as c:
        cc = {"client_id": "claude-code"}
        err, sc, _ = await call(c, "deploy_config", cc)
        eq("elicitation declined", (err, sc["status"], sorted(on_disk(env)["mcpServers"])), (False, "cancelled", ["memory"]))
        err, sc, _ = await call(c, "deploy_config", cc)
        eq("elicitation accepted", (err, sc["status"], sc["confirmed_by"], sc["version"]), (False, "deployed", "elicitation", 2))
        eq("file after elicited deploy", sorted(on_disk(env)["mcpServers"]), ["memory", "time"])
        check("the question shows the plan", len(asked) == 2 and "into " + env["MCP_ORCH_CLIENT_PATH_CLAUDE_CODE"] in asked[0] and "add: [time]" in asked[0], asked)
        err, sc, _ = await call(c, "rollback_config", {**cc, "confirm": False})
        eq("explicit confirm false never asks", (err, sc["status"], len(asked)), (False, "dry_run", 2))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=30)


async def check_notifications_legacy(env: dict[str, str], client: str = "windsurf") -> None:
    """resources/subscribe + notifications/resources/updated after a CLI change."""
    got: list[tuple[str, str]] = []
    event = anyio.Event()
    logs: list = []
    progress: list = []

    async def on_message(msg) -> None:
        root = getattr(msg, "root", msg)
        method = getattr(root, "method", None)
        if method == "notifications/resources/updated":
            got.append(("updated", root.params.uri))
        elif method == "notifications/resources/list_changed":
            got.append(("list_changed", ""))
        if any(k == "updated" and u == f"config://{client}/default/draft" for k, u in got) and any(k == "list_changed" for k, _ in got):
            event.set()

    async def on_log(params) -> None:
        logs.append(params)

    server = StdioServerParameters(command=BIN, args=["serve"], env=env)
    async with Client(server, mode="legacy", cache=None, message_handler=on_message, logging_callback=on_log) as c:
        await c.set_logging_level("info")
        await c.subscribe_resource(f"config://{client}/default/draft")
        try:
            await c.subscribe_resource("bogus://x")
            check("subscribe to an unknown URI fails", False, "no error")
        except MCPError as e:
            eq("subscribe to an unknown URI fails", e.code, -32002)
        proc = cli(env, "draft", "add", "memory", "--client", client)
        eq("CLI draft add exit code", proc.returncode, 0)
        with anyio.move_on_after(NOTIFY_TIMEOUT):
            await event.wait()
        check("resources/updated for the CLI change", ("updated", f"config://{client}/default/draft") in got, got)
        check("resources/list_changed for the new draft", ("list_changed", "") in got, got)
        check("no update for unsubscribed URIs", all(u in ("", f"config://{client}/default/draft") for _, u in got), got)
        with anyio.move_on_after(NOTIFY_TIMEOUT):
            while not logs:
                await anyio.sleep(0.05)
        check("state change logged", any(getattr(l, "logger", None) == "mcp-orch" for l in logs), logs)

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append((p, total, message))

        r = await c.call_tool("validate_config", {"client_id": client}, progress_callback=on_progress)
        eq("validate with progress", r.is_error, False)
        eq("progress notifications", progress, [(0.0, 2.0, "validate_config: started"), (2.0, 2.0, "validate_config: done")])
        # The catalog overlay changes on disk: the registry is updated and reloaded.
        got.clear()
        await c.subscribe_resource("server://registry")
        Path(env["MCP_ORCH_HOME"], "catalog.toml").write_text(
            '[[servers]]\nid = "acme-tools"\nname = "Acme Tools"\ndescription = "Internal tools"\n'
            'transport = "stdio"\ncommand = "acme-mcp"\n'
        )
        with anyio.move_on_after(NOTIFY_TIMEOUT):
            while ("updated", "server://registry") not in got or ("list_changed", "") not in got:
                await anyio.sleep(0.05)
        check("resources/updated for a catalog change", ("updated", "server://registry") in got, got)
        check("resources/list_changed for a catalog change", ("list_changed", "") in got, got)
        err, sc, _ = await call(c, "describe_server", {"server_id": "acme-tools"})
        eq("the changed catalog is reloaded", (err, sc["display_name"], sc["source"]), (False, "Acme Tools", "user"))
        await c.unsubscribe_resource(f"config://{client}/default/draft")
        got.clear()
        proc = cli(env, "draft", "remove", "memory", "--client", client)
        eq("CLI draft remove exit code", proc.returncode, 0)
        await anyio.sleep(1.0)
        check("no update after unsubscribe", not any(k == "updated" for k, _ in got), got)


async def check_notifications_modern(env: dict[str, str], client: str = "cline") -> None:
    """subscriptions/listen (2026-07-28) + resources/updated after a CLI change."""
    server = StdioServerParameters(command=BIN, args=["serve"], env=env)
    async with Client(server, mode="auto", cache=None) as c:
        eq("negotiated modern protocol", c.protocol_version, "2026-07-28")
        seen: list = []
        async with c.listen(resource_subscriptions=[f"config://{client}/default/draft"], resources_list_changed=True) as sub:
            proc = cli(env, "draft", "add", "memory", "--client", client)
            eq("CLI draft add exit code", proc.returncode, 0)
            with anyio.move_on_after(NOTIFY_TIMEOUT):
                async for ev in sub:
                    seen.append(type(ev).__name__ + ":" + getattr(ev, "uri", ""))
                    if any(s.startswith("ResourceUpdated:") for s in seen) and any(s.startswith("ResourcesListChanged") for s in seen):
                        break
        check("listen: ResourceUpdated for the CLI change", f"ResourceUpdated:config://{client}/default/draft" in seen, seen)
        check("listen: ResourcesListChanged for the new draft", "ResourcesListChanged:" in seen, seen)


async def main() -> int:
    env, root = make_fixture()
    server = StdioServerParameters(command=BIN, args=["serve"], env=env)
    try:
        async with Client(server, mode=MODE, cache=None) as c:
            want = "2025-11-25" if MODE == "legacy" else "2026-07-28"
            eq("protocol version", c.protocol_version, want)
            eq("server name", c.server_info.name if c.server_info else None, "mcp-orch")
            caps = c.server_capabilities
            eq("resources capability", (caps.resources.subscribe, caps.resources.list_changed), (True, True))
            check("tools and prompts capabilities", caps.tools is not None and caps.prompts is not None, caps)
            await check_tools(c, env, root)
            await check_resources(c)
            await check_prompts(c)
            await check_workflow(c, env)
        if MODE == "legacy":
            await check_elicitation(env)
            await check_notifications_legacy(env)
        else:
            await check_notifications_modern(env)
    except Exception:  # a crash is a failure, never a skip
        traceback.print_exc()
        check("no exception", False, "see traceback")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
