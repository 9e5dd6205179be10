-- wrk script of the load test: cycles through the requests listed in the file named by the environment
-- variable FINCREDIT_WRK_REQUESTS (one request a line: METHOD<TAB>PATH<TAB>TOKEN<TAB>JSON BODY, the last
-- two may be empty). Counts 2xx answers, collects the disclosure ids of the answers (when
-- FINCREDIT_WRK_IDS names a file, written at the end) and prints one JSON line of results:
--   wrk -t1 -c16 -d30s -s bench/load/mix.lua --latency http://127.0.0.1:8000
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  ok = 0
  ids = {}
  collect = os.getenv("FINCREDIT_WRK_IDS") ~= nil
  for line in io.lines(os.getenv("FINCREDIT_WRK_REQUESTS")) do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
  n = math.random(#requests)
end

function request()
  n = n % #requests + 1
  return requests[n]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if collect then
      local id = body:match('"disclosure":{"id":"([%w%-]+)"')
      if id then ids[#ids + 1] = id end
    end
  end
end

function done(summary, latency, requests)
  local total_ok = 0
  local out = os.getenv("FINCREDIT_WRK_IDS")
  local f = out and io.open(out, "w")
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    if f then
      for _, id in ipairs(thread:get("ids")) do f:write(id, "\n") end
    end
  end
  if f then f:close() end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"ok":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, total_ok, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
