-- wrk script for bench/sustained.sh: single-port TCP probes as fast as each connection allows.
--   POST /v1/probes {"kind":"tcp","target":"127.0.0.1","ports":PORT} -> 201 with the result
-- done() prints "probe KEY VALUE" lines (probes answered 201, other statuses) for the shell script.
--
-- Usage: wrk -tN -cN -s bench/probe_load.lua http://127.0.0.1:PORT -- TARGET_PORT
local body
local JSON = { ["Content-Type"] = "application/json" }
ok = 0
other = 0

function init(args)
    local port = args[1] or "9"
    body = '{"kind":"tcp","target":"127.0.0.1","ports":' .. port .. ',"timeout_ms":1000}'
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
