# Writes the three workflow.json files of this folder (python3 examples/n8n/generate.py): one
# place for the shape every MCP Client node shares. The JSON files are what n8n imports.
import json, os
OUT = os.path.dirname(os.path.abspath(__file__))
URL = "={{ ($env.MCP_ORCH_URL || 'http://127.0.0.1:8000') + '/mcp' }}"
CRED = {"httpBearerAuth": {"id": "mcpOrchBearer", "name": "mcp-orch"}}

def mcp(id_, name, tool, json_input, pos, **extra):
    node = {
        "id": id_, "name": name, "type": "@n8n/n8n-nodes-langchain.mcpClient", "typeVersion": 1.1,
        "position": pos,
        "parameters": {"serverTransport": "httpStreamable", "endpointUrl": URL, "authentication": "bearerAuth",
                       "tool": {"__rl": True, "mode": "id", "value": tool}, "inputMode": "json",
                       "jsonInput": json_input, "options": {"timeout": 120000}},
        "credentials": CRED,
    }
    node.update(extra)
    return node

def code(id_, name, js, pos, **extra):
    n = {"id": id_, "name": name, "type": "n8n-nodes-base.code", "typeVersion": 2, "position": pos,
         "parameters": {"mode": "runOnceForAllItems", "jsCode": js}}
    n.update(extra)
    return n

def iff(id_, name, left, pos, op="true"):
    return {"id": id_, "name": name, "type": "n8n-nodes-base.if", "typeVersion": 2.2, "position": pos,
            "parameters": {"conditions": {"options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
                                          "conditions": [{"id": id_ + "-c", "leftValue": left, "rightValue": "",
                                                          "operator": {"type": "boolean", "operation": op, "singleValue": True}}],
                                          "combinator": "and"}, "options": {}}}

def link(*pairs):
    conns = {}
    for a, b, *rest in pairs:
        out = rest[0] if rest else 0
        c = conns.setdefault(a, {"main": []})
        while len(c["main"]) <= out:
            c["main"].append([])
        c["main"][out].append({"node": b, "type": "main", "index": 0})
    return conns

def workflow(id_, name, nodes, conns, note):
    return {"id": id_, "name": name, "active": False, "settings": {"executionOrder": "v1"},
            "meta": {"templateCredsSetupCompleted": False}, "pinData": {},
            "nodes": nodes, "connections": conns, "tags": [], "description": note}

# ---- Onboard Engineer -------------------------------------------------------------------
request_js = r"""// One engineer's request: the client and the catalog servers to give it, from the webhook's
// JSON body, else from ONBOARD_CLIENT / ONBOARD_SERVERS (comma-separated), else the defaults.
const body = $input.first().json.body ?? {};
const servers = body.servers ?? ($env.ONBOARD_SERVERS ?? 'memory,time').split(',');
return [{ json: {
  client_id: body.client_id ?? $env.ONBOARD_CLIENT ?? 'cursor',
  profile_id: body.profile_id ?? $env.ONBOARD_PROFILE ?? 'default',
  servers: servers.map((s) => s.trim()).filter((s) => s !== ''),
} }];"""
per_server_js = r"""// One item per server, so the next step adds each.
const req = $input.first().json;
return req.servers.map((server_id) => ({ json: { client_id: req.client_id, profile_id: req.profile_id, server_id } }));"""
report_js = r"""const req = $('Request').first().json;
const deployed = $input.first().json.structuredContent;
return [{ json: {
  client_id: req.client_id,
  profile_id: req.profile_id,
  servers: req.servers,
  status: deployed.status,
  version: deployed.version ?? null,
  path: deployed.config_path ?? null,
} }];"""
onboard_nodes = [
    {"id": "manual", "name": "Run by hand", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
    {"id": "webhook", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 200],
     "webhookId": "6b0f1d0e-5c39-4d2e-9a61-0b6f8f7e2a11",
     "parameters": {"httpMethod": "POST", "path": "onboard-engineer", "responseMode": "lastNode", "options": {}}},
    code("request", "Request", request_js, [220, 100]),
    code("per-server", "One item per server", per_server_js, [440, 100]),
    mcp("add", "Add to draft", "add_server_to_config",
        "={{ JSON.stringify({ client_id: $json.client_id, profile_id: $json.profile_id, server_id: $json.server_id, if_exists: 'keep' }) }}", [660, 100]),
    mcp("validate", "Validate", "validate_config",
        "={{ JSON.stringify({ client_id: $('Request').first().json.client_id, profile_id: $('Request').first().json.profile_id }) }}",
        [880, 100], executeOnce=True),
    iff("valid", "Valid?", "={{ $json.structuredContent.valid }}", [1100, 100]),
    {"id": "invalid", "name": "Stop with the errors", "type": "n8n-nodes-base.stopAndError", "typeVersion": 1, "position": [1320, 260],
     "parameters": {"errorMessage": "={{ 'the draft is not valid: ' + $json.structuredContent.errors.map((e) => e.code + ' at ' + e.path + ': ' + e.message).join('; ') }}"}},
    # apply_config publishes only when the draft changed, so a second run adds no release.
    mcp("apply", "Publish and deploy", "apply_config",
        "={{ JSON.stringify({ client_id: $('Request').first().json.client_id, profile_id: $('Request').first().json.profile_id, changelog: 'onboarding (n8n)', confirm: true }) }}",
        [1320, 0]),
    code("report", "Report", report_js, [1540, 0]),
]
onboard = workflow("mcpOrchOnboard", "mcp-orch: Onboard Engineer", onboard_nodes, link(
    ("Run by hand", "Request"), ("Webhook", "Request"), ("Request", "One item per server"),
    ("One item per server", "Add to draft"), ("Add to draft", "Validate"), ("Validate", "Valid?"),
    ("Valid?", "Publish and deploy", 0), ("Valid?", "Stop with the errors", 1), ("Publish and deploy", "Report")),
    "Adds catalog servers to a client's draft, validates it, and publishes and deploys it; stops with the validation errors when the draft is invalid.")

# ---- Environment Config -----------------------------------------------------------------
env_request_js = r"""// Which client, and the profile to switch it to (dev, staging, prod, ...): the webhook's JSON
// body, else ENV_CLIENT / ENV_PROFILE.
const body = $input.first().json.body ?? {};
return [{ json: {
  client_id: body.client_id ?? $env.ENV_CLIENT ?? 'cursor',
  profile_id: body.profile_id ?? $env.ENV_PROFILE ?? 'prod',
} }];"""
others_js = r"""// The client's other profiles deployed into the same file: switching means taking their servers out.
const req = $('Request').first().json;
const plan = $('Plan').first().json.structuredContent;
const targets = $input.first().json.structuredContent.targets;
return targets
  .filter((t) => t.client_id === req.client_id && t.profile_id !== req.profile_id)
  .filter((t) => t.deployed_at && t.path === plan.config_path)
  .map((t) => ({ json: { client_id: t.client_id, profile_id: t.profile_id } }));"""
env_report_js = r"""const req = $('Request').first().json;
const plan = $('Plan').first().json.structuredContent;
const deployed = $('Deploy').first().json.structuredContent;
const removed = $('Take the other profile out').all()
  .filter((i) => i.json.structuredContent)
  .map((i) => i.json.structuredContent.profile_id);
return [{ json: {
  client_id: req.client_id,
  profile_id: req.profile_id,
  status: deployed.status,
  version: deployed.version ?? null,
  plan: plan.plan,
  profiles_taken_out: removed,
} }];"""
env_nodes = [
    {"id": "manual", "name": "Run by hand", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
    {"id": "webhook", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 200],
     "webhookId": "1c7e3a52-8d44-4b1f-b7e0-2f9a4c6d8e31",
     "parameters": {"httpMethod": "POST", "path": "environment-config", "responseMode": "lastNode", "options": {}}},
    code("request", "Request", env_request_js, [220, 100]),
    mcp("plan", "Plan", "deploy_config",
        "={{ JSON.stringify({ client_id: $json.client_id, profile_id: $json.profile_id }) }}", [440, 100]),
    mcp("status", "Status", "config_status",
        "={{ JSON.stringify({ client_id: $('Request').first().json.client_id }) }}", [660, 100]),
    code("others", "Other profiles in the file", others_js, [880, 100]),
    mcp("undeploy", "Take the other profile out", "undeploy_config",
        "={{ JSON.stringify({ client_id: $json.client_id, profile_id: $json.profile_id, confirm: true }) }}", [1100, 100],
        alwaysOutputData=True),
    mcp("deploy", "Deploy", "deploy_config",
        "={{ JSON.stringify({ client_id: $('Request').first().json.client_id, profile_id: $('Request').first().json.profile_id, confirm: true }) }}",
        [1320, 100], executeOnce=True),
    code("report", "Report", env_report_js, [1540, 100]),
]
envcfg = workflow("mcpOrchEnvironment", "mcp-orch: Environment Config", env_nodes, link(
    ("Run by hand", "Request"), ("Webhook", "Request"), ("Request", "Plan"), ("Plan", "Status"),
    ("Status", "Other profiles in the file"), ("Other profiles in the file", "Take the other profile out"),
    ("Take the other profile out", "Deploy"), ("Deploy", "Report")),
    "Switches a client to another profile: shows the plan, takes the other profiles' servers out of the file, deploys the chosen profile's release and reports what changed.")

# ---- Health Monitor ---------------------------------------------------------------------
targets_js = r"""// Every (client, profile) with a draft or a deploy, with its drift.
const status = $input.first().json.structuredContent;
return status.targets.map((t) => ({ json: { client_id: t.client_id, profile_id: t.profile_id, drift: t.drift } }));"""
summary_js = r"""// What drifted and which servers failed their probe; nothing when all is well.
const targets = $('One item per target').all().map((i) => i.json);
const health = $input.all().map((i) => i.json);
const drifted = targets.filter((t) => t.drift === 'drifted').map((t) => `${t.client_id}/${t.profile_id}`);
const failing = [];
health.forEach((h, n) => {
  const t = targets[n];
  const report = h.structuredContent;
  if (!report) {
    failing.push({ client_id: t.client_id, profile_id: t.profile_id, server: null, error: h.error?.message ?? 'no answer' });
    return;
  }
  for (const p of report.probes ?? []) {
    if (!p.ok) failing.push({ client_id: t.client_id, profile_id: t.profile_id, server: p.name, error_code: p.error_code, error: p.error });
  }
});
return [{ json: { checked_at: new Date().toISOString(), targets: targets.length, drifted, failing, problems: drifted.length + failing.length } }];"""
health_nodes = [
    {"id": "manual", "name": "Run by hand", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
    {"id": "schedule", "name": "Every 15 minutes", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2, "position": [0, 200],
     "parameters": {"rule": {"interval": [{"field": "minutes", "minutesInterval": 15}]}}},
    mcp("status", "Drift", "config_status", "{}", [220, 100]),
    code("targets", "One item per target", targets_js, [440, 100]),
    mcp("health", "Probe the draft's servers", "check_server_health",
        "={{ JSON.stringify({ client_id: $json.client_id, profile_id: $json.profile_id, timeout_secs: 20 }) }}", [660, 100],
        onError="continueRegularOutput"),
    code("summary", "Summary", summary_js, [880, 100]),
    {"id": "problems", "name": "Anything wrong?", "type": "n8n-nodes-base.if", "typeVersion": 2.2, "position": [1100, 100],
     "parameters": {"conditions": {"options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2},
                                   "conditions": [{"id": "p1", "leftValue": "={{ $json.problems }}", "rightValue": 0,
                                                   "operator": {"type": "number", "operation": "gt"}}],
                                   "combinator": "and"}, "options": {}}},
    {"id": "post", "name": "Post the summary", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "position": [1320, 0],
     "parameters": {"method": "POST", "url": "={{ $env.HEALTH_WEBHOOK_URL }}", "sendBody": True, "specifyBody": "json",
                    "jsonBody": "={{ JSON.stringify($json) }}", "options": {}}},
]
health = workflow("mcpOrchHealth", "mcp-orch: Health Monitor", health_nodes, link(
    ("Run by hand", "Drift"), ("Every 15 minutes", "Drift"), ("Drift", "One item per target"),
    ("One item per target", "Probe the draft's servers"), ("Probe the draft's servers", "Summary"),
    ("Summary", "Anything wrong?"), ("Anything wrong?", "Post the summary", 0)),
    "On a schedule, checks every client's deployed file for drift and probes its draft's servers; posts a summary to HEALTH_WEBHOOK_URL when anything drifted or failed.")

for name, wf in [("onboard-engineer", onboard), ("environment-config", envcfg), ("health-monitor", health)]:
    os.makedirs(f"{OUT}/{name}", exist_ok=True)
    with open(f"{OUT}/{name}/workflow.json", "w") as f:
        json.dump(wf, f, indent=2)
        f.write("\n")
print("ok")
