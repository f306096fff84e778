-- wrk script: tools/call list_available_servers over Streamable HTTP (/mcp). From the
-- environment (bench/http-throughput.sh sets them): TOKEN, or TOKENS (comma-separated, one
-- per session); SESSIONS (comma-separated session ids, requests rotate over them; empty for
-- stateless requests); VERSION (the MCP-Protocol-Version header, 2025-11-25 by default).
-- Every request carries its own JSON-RPC id: ids must be unique within a session, and a
-- session that gets the same id twice at once answers only one of the two.
wrk.method = "POST"
wrk.path = "/mcp"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = os.getenv("VERSION") or "2025-11-25"
-- From 2026-07-28 on a request names its method in headers and carries the revision, the
-- client's capabilities and identity in `_meta`: no session is needed.
local meta = ""
if wrk.headers["MCP-Protocol-Version"] >= "2026-07-28" then
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = "list_available_servers"
  meta = ',"_meta":{"io.modelcontextprotocol/protocolVersion":"' .. wrk.headers["MCP-Protocol-Version"]
    .. '","io.modelcontextprotocol/clientCapabilities":{},'
    .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}'
end

local function split(list)
  local items = {}
  for item in string.gmatch(list or "", "[^,]+") do
    table.insert(items, item)
  end
  return items
end

local sessions = split(os.getenv("SESSIONS"))
local tokens = split(os.getenv("TOKENS") or os.getenv("TOKEN"))
local threads = 0
first_id = 0 -- global: setup() sets it in each thread

-- Each thread numbers its requests from its own offset, so ids never repeat across threads.
function setup(thread)
  thread:set("first_id", threads * 1000000000)
  threads = threads + 1
end

local n = 0
request = function()
  n = n + 1
  local k = (n % math.max(#sessions, 1)) + 1
  if #sessions > 0 then
    wrk.headers["Mcp-Session-Id"] = sessions[k]
  end
  wrk.headers["Authorization"] = "Bearer " .. tokens[((k - 1) % #tokens) + 1]
  local body = string.format(
    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"list_available_servers","arguments":{}%s}}',
    first_id + n, meta)
  return wrk.format(nil, nil, nil, body)
end

-- No `response` callback: with one, wrk copies every 38 KB body into Lua, and the load
-- generator, which shares the two cores with the server, becomes the bottleneck. The script
-- checks the body of the same request once before the run; here non-2xx answers count as errors.

done = function(summary, latency, requests)
  io.write(string.format("requests %d  errors(socket) %d  non-2xx %d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status, summary.errors.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
