-- wrk script for the Portcullis load benchmark.
--   wrk -t1 -cN -d15s --latency -s bench/wrk/portcullis.lua URL -- DATA_FILE SCENARIO OFFSET [RATE [N]]
-- DATA_FILE is what `portcullis-bench generate` wrote; SCENARIO one of create, create_cel, approve, tasks, tasks_mixed,
-- queue, queue_requester, get, authzen, healthz; OFFSET skips items an earlier run consumed (creates, approvals);
-- RATE (requests/s), when given, paces every connection so that all N (16 unless given) together offer about that
-- rate.
-- done() prints one JSON line with throughput, latency percentiles (µs) and errors.

local tokens, approvers, creates, approvals, gets, requesters, mixed, evaluations = {}, {}, {}, {}, {}, {}, {}, {}
local creates_cel = {}
local admin, scenario, offset, rate, connections = nil, nil, 0, nil, 16
local counter = 0

local function load(path)
  for line in io.lines(path) do
    local kind, a, b, c = line:match("^(%S+) (%S+) ?(%S*) ?(%S*)$")
    if kind == "token" then tokens[tonumber(a)] = b
    elseif kind == "admin" then admin = tonumber(a)
    elseif kind == "approver" then approvers[#approvers + 1] = tonumber(a)
    elseif kind == "mixed" then mixed[#mixed + 1] = tonumber(a)
    elseif kind == "create" then creates[#creates + 1] = { user = tonumber(a), flow = b, duration = c }
    elseif kind == "create_cel" then creates_cel[#creates_cel + 1] = { user = tonumber(a), flow = b, duration = c }
    elseif kind == "approve" then approvals[#approvals + 1] = { id = a, user = tonumber(b) }
    elseif kind == "get" then gets[#gets + 1] = a
    elseif kind == "authzen" then evaluations[#evaluations + 1] = { user = a, group = b }
    elseif kind == "requester" then requesters[#requesters + 1] = line:sub(11)
    end
  end
end

function init(args)
  load(args[1])
  scenario = args[2]
  offset = tonumber(args[3] or "0")
  rate = args[4] and tonumber(args[4]) or nil
  connections = tonumber(args[5] or "16")
  math.randomseed(os.time())
end

function delay()
  if rate then
    -- Whole milliseconds (what wrk waits), drawn evenly around the mean from half to one and a half of it,
    -- so that the connections do not fall into step and offer their requests in bursts.
    local mean = math.floor(connections * 1000 / rate + 0.5)
    local spread = math.floor(mean / 2)
    return math.random(mean - spread, mean + spread)
  end
  return 0
end

local function auth(user)
  return { ["Authorization"] = "Bearer " .. tokens[user], ["Content-Type"] = "application/json" }
end

local function urlencode(text)
  return (text:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  counter = counter + 1
  local n = offset + counter
  if scenario == "create" or scenario == "create_cel" then
    -- create_cel: through the flows with conditions (auto_approve_if, required_if).
    local list = scenario == "create" and creates or creates_cel
    local item = list[(n - 1) % #list + 1]
    local body
    if item.duration ~= "" and item.duration ~= "-" then
      body = string.format('{"flow_id":"%s","reason":"Benchmark request %d","duration_seconds":%s}', item.flow, n, item.duration)
    else
      body = string.format('{"flow_id":"%s","reason":"Benchmark request %d"}', item.flow, n)
    end
    return wrk.format("POST", "/v1/access-requests", auth(item.user), body)
  elseif scenario == "approve" then
    local item = approvals[(n - 1) % #approvals + 1]
    return wrk.format("POST", "/v1/access-requests/" .. item.id .. "/approve", auth(item.user), "{}")
  elseif scenario == "tasks" then
    return wrk.format("GET", "/v1/me/tasks", auth(approvers[(n - 1) % #approvers + 1]))
  elseif scenario == "tasks_mixed" then
    -- Action Required of people with approvals and fulfilment tasks waiting on them.
    return wrk.format("GET", "/v1/me/tasks", auth(mixed[(n - 1) % #mixed + 1]))
  elseif scenario == "queue" then
    return wrk.format("GET", "/v1/access-requests", auth(admin))
  elseif scenario == "queue_requester" then
    local who = requesters[(n - 1) % #requesters + 1]
    return wrk.format("GET", "/v1/access-requests?requester=" .. urlencode(who), auth(admin))
  elseif scenario == "get" then
    return wrk.format("GET", "/v1/access-requests/" .. gets[(n - 1) % #gets + 1], auth(admin))
  elseif scenario == "authzen" then
    -- An AuthZEN evaluation by a PEP (here the admin, who may ask about anyone): a member's permit.
    local item = evaluations[(n - 1) % #evaluations + 1]
    local body = string.format(
      '{"subject":{"type":"user","id":"%s"},"resource":{"type":"group","id":"%s"},"action":{"name":"member"}}',
      item.user, item.group)
    return wrk.format("POST", "/access/v1/evaluation", auth(admin), body)
  else
    return wrk.format("GET", "/healthz")
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
