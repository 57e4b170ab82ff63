-- wrk script for bench/http.py: authenticated requests to the ServiceDesk API, and one
-- parseable result line at the end.
--
--   WRK_MODE=MODE wrk -t2 -c16 -d10s -s bench/wrk/api.lua http://127.0.0.1:PORT/path -- TOKEN [IDS]
--
-- MODE comes from the environment because wrk decides before init() whether the script builds
-- each request itself (a global request() function, needed only by post_message):
--   get            GET the URL's path (TOKEN may be "-" for none)
--   create_ticket  POST /api/tickets, a new ticket each time (no Idempotency-Key)
--   post_message   POST /api/messages, a public reply, round-robin over IDS (comma-separated
--                  ticket ids), each thread starting at a different place in the list
--
-- done() prints, on one line:
--   WRK_RESULT requests=N duration_us=N bytes=N p50_us=N p90_us=N p99_us=N max_us=N
--     mean_us=N non2xx=N connect=N read=N write=N timeout=N
-- where non2xx is wrk's "Non-2xx or 3xx responses" (status >= 400) and connect ... timeout
-- its socket errors.

local mode = os.getenv("WRK_MODE") or "get"
local ids = {}
local next_index = 1
local threads_started = 0

function setup(thread)
  -- Runs in wrk's main Lua state, once per thread, before that thread's init().
  threads_started = threads_started + 1
  thread:set("thread_number", threads_started)
end

local function split_ids(text)
  local list = {}
  for id in string.gmatch(text or "", "%d+") do
    list[#list + 1] = id
  end
  return list
end

function init(args)
  local token = args[1]
  if token and token ~= "-" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  wrk.headers["Accept"] = "application/json"
  if mode == "create_ticket" then
    wrk.method = "POST"
    wrk.path = "/api/tickets"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '{"title": "Benchmark: laptop docking station not detected", '
      .. '"description": "The docking station stopped detecting the external monitors '
      .. 'after this morning\'s update. Reconnecting the cable does not help.", '
      .. '"category": "hardware", "priority": "low"}'
  elseif mode == "post_message" then
    wrk.method = "POST"
    wrk.path = "/api/messages"
    wrk.headers["Content-Type"] = "application/json"
    ids = split_ids(args[2])
    if #ids == 0 then
      error("post_message needs a comma-separated list of ticket ids")
    end
    -- Spread the threads over the list so that they do not queue on the same ticket's lock.
    local number = tonumber(rawget(_G, "thread_number")) or 1
    next_index = ((number - 1) * math.floor(#ids / 2)) % #ids + 1
  elseif mode ~= "get" then
    error("unknown mode " .. tostring(mode))
  end
end

if mode == "post_message" then
  -- Only this mode needs a different body each time; a global request() makes wrk build every
  -- request in Lua, so the other modes leave it undefined and send one prebuilt request.
  request = function()
    local id = ids[next_index]
    next_index = next_index % #ids + 1
    local body = '{"ticket_id": ' .. id .. ', "body": "Benchmark reply: we are looking '
      .. 'into it and will update this ticket within the hour."}'
    return wrk.format("POST", "/api/messages", nil, body)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "mean_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    math.floor(latency.mean), errors.status, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
