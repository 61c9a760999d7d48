-- wrk: each request carries the next token of $WRK_TOKENS (one per line),
-- so the load is spread over many users and organizations.
local tokens = {}
local i = 0
local file = os.getenv("WRK_TOKENS")
for line in io.lines(file) do
  if line ~= "" then tokens[#tokens + 1] = line end
end
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body == "" then body = nil end

request = function()
  i = i % #tokens + 1
  local headers = {}
  if body then
    headers["Content-Type"] = "application/json"
    return wrk.format(method, nil, headers, (body:gsub("{{token}}", tokens[i])))
  end
  headers["Authorization"] = "Bearer " .. tokens[i]
  return wrk.format(method, nil, headers, nil)
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
