-- wrk script: tools/call list_available_servers over Streamable HTTP (/mcp). TOKEN and SESSIONS
-- (comma-separated session ids, one per simulated client) come from the environment
-- (bench/http.sh sets them); requests rotate over the sessions.
wrk.method = "POST"
wrk.path = "/mcp"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_available_servers","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"

local sessions = {}
for id in string.gmatch(os.getenv("SESSIONS") or "", "[^,]+") do
  table.insert(sessions, id)
end
local n = 0
request = function()
  n = n + 1
  wrk.headers["Mcp-Session-Id"] = sessions[(n % #sessions) + 1]
  return wrk.format()
end

-- No `response` callback: with one, wrk copies every 36 KB body into Lua, and the load
-- generator, which shares the two cores with the server, becomes the bottleneck. bench/http.sh
-- checks the body of the same request once before the run; here non-2xx answers count as errors.

done = function(summary, latency, requests)
  io.write(string.format("requests %d  errors(socket) %d  non-2xx %d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status, summary.errors.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
