-- wrk script for bench/sustained.sh and bench/probe_rate.sh: probes as fast as each connection allows.
--   POST /v1/probes BODY -> 201 with the result
-- done() prints "probe KEY VALUE" lines (probes answered 201, other statuses) for the shell script.
--
-- Usage: wrk -tN -cN -s bench/probe_load.lua http://127.0.0.1:PORT -- BODY
--   BODY: the probe request, e.g. {"kind":"tcp","target":"127.0.0.1","ports":8080,"timeout_ms":1000}
local body
local JSON = { ["Content-Type"] = "application/json" }
ok = 0
other = 0

function init(args)
    body = args[1] or '{"kind":"tcp","target":"127.0.0.1","ports":9,"timeout_ms":1000}'
end

function request()
    return wrk.format("POST", "/v1/probes", JSON, body)
end

function response(status, headers, text)
    if status == 201 then ok = ok + 1 else other = other + 1 end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
    local total_ok, total_other = 0, 0
    for _, thread in ipairs(threads) do
        total_ok = total_ok + thread:get("ok")
        total_other = total_other + thread:get("other")
    end
    print("probe ok " .. total_ok)
    print("probe other " .. total_other)
end
