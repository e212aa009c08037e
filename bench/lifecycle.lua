-- wrk script for bench/sockets_lifecycle.sh: every connection runs full socket lifecycles against Sockpit,
--   create (POST /v1/sockets, inet stream)  -> 201, id parsed from the body
--   connect (POST .../connect, 127.0.0.1:ECHO_PORT) -> 200
--   send (POST .../send, 64 bytes utf8)    -> 200, bytes_sent 64
--   receive (POST .../receive, max_bytes 64, timeout_ms 1000) -> 200, repeated until the 64 bytes are back
--   close (DELETE /v1/sockets/{id})        -> 204: one lifecycle completed
-- and done() prints the totals as "lifecycle KEY VALUE" lines that the shell script parses.
--
-- Usage: wrk -tN -cN -s bench/lifecycle.lua http://127.0.0.1:PORT -- ECHO_PORT [unique]
--   unique: every send carries a different 64-byte payload (by default all sends carry the same one)
--
-- wrk's request() and response() callbacks are not told which connection they serve, and each wrk thread
-- has one Lua state for all of its connections. So the lifecycle state lives in the thread's Lua state and
-- the script needs exactly one connection per thread (wrk -t equal to -c); the script checks it where it
-- can: a response for a step other than the one just requested is counted as "interleaved".
--
-- Anything unexpected (a status other than the step's, a short send, a receive that times out or sees EOF)
-- is counted per step and status; the lifecycle is then abandoned (its socket closed when it has an id) and a
-- new one starts. Counters are globals so that done() can read them with thread:get().

local ffi_ok, ffi = pcall(require, "ffi")
local now_us
if ffi_ok then
    pcall(ffi.cdef, [[
        typedef struct { long tv_sec; long tv_nsec; } lifecycle_timespec;
        int clock_gettime(int clk_id, lifecycle_timespec *tp);
    ]])
    local ts = ffi.new("lifecycle_timespec")
    now_us = function()
        ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
        return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
    end
else
    now_us = function() return 0 end
end

local STEPS = { "create", "connect", "send", "receive", "close" }
local EXPECTED = { create = 201, connect = 200, send = 200, receive = 200, close = 204 }
local JSON = { ["Content-Type"] = "application/json" }
local PAYLOAD = string.rep("0123456789abcdef", 4) -- 64 bytes, nothing to escape

local create_request, connect_body, send_body, receive_body
local unique = false -- "unique" as the second argument: every send carries a different payload
local sends = 0
local step = "create" -- the step whose request goes out next
local in_flight = nil -- the step whose response is awaited
local sent_at = 0
local id = nil
local received = 0

-- Counters (globals, read by done() through thread:get).
lifecycles = 0
unexpected = 0 -- responses not as the step expects (any status, any step)
unexpected_detail = "" -- "step:status=count ..." built at the end of the thread
extra_receives = 0 -- receives beyond the first (the echo came back in pieces)
mismatched = 0 -- echoed bytes that differ from what was sent
interleaved = 0 -- a response without a request in flight (more than one connection per thread)
requests = 0
responses = 0
step_count = {}
step_us = {}
local detail = {}
for _, s in ipairs(STEPS) do step_count[s] = 0; step_us[s] = 0 end

function init(args)
    local port = tonumber(args[1] or "")
    if port == nil then error("lifecycle.lua: pass the echo port: wrk ... URL -- ECHO_PORT") end
    create_request = wrk.format("POST", "/v1/sockets", JSON, '{"family":"inet","type":"stream"}')
    connect_body = string.format('{"address":{"host":"127.0.0.1","port":%d},"timeout_ms":1000}', port)
    send_body = '{"data":"' .. PAYLOAD .. '","encoding":"utf8"}'
    unique = args[2] == "unique"
    receive_body = '{"max_bytes":64,"timeout_ms":1000}'
end

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

function request()
    -- wrk calls request() once more in the first thread before connecting, to check the request's syntax
    -- (script_verify_request): that one call finds a request "in flight" and no response yet.
    if in_flight ~= nil and not (requests == 1 and responses == 0) then interleaved = interleaved + 1 end
    in_flight = step
    requests = requests + 1
    sent_at = now_us()
    if step == "create" then return create_request end
    local path = "/v1/sockets/" .. id
    if step == "connect" then return wrk.format("POST", path .. "/connect", JSON, connect_body) end
    if step == "send" then
        if unique then
            -- 16 hex digits of this thread's send count, then 48 bytes: no two sends of a thread share a body.
            sends = sends + 1
            PAYLOAD = string.format("%016x", sends) .. string.rep("0123456789abcdef", 3)
            send_body = '{"data":"' .. PAYLOAD .. '","encoding":"utf8"}'
        end
        return wrk.format("POST", path .. "/send", JSON, send_body)
    end
    if step == "receive" then return wrk.format("POST", path .. "/receive", JSON, receive_body) end
    return wrk.format("DELETE", path)
end

local function fail(s, status)
    unexpected = unexpected + 1
    local key = s .. ":" .. tostring(status)
    detail[key] = (detail[key] or 0) + 1
    unexpected_detail = ""
    for k, v in pairs(detail) do unexpected_detail = unexpected_detail .. k .. "=" .. v .. " " end
    -- Abandon the lifecycle; close its socket when there is one (a failed close starts afresh).
    if id ~= nil and s ~= "close" then step = "close" else step = "create"; id = nil end
end

function response(status, headers, body)
    local s = in_flight
    in_flight = nil
    responses = responses + 1
    if s == nil then interleaved = interleaved + 1; return end
    step_count[s] = step_count[s] + 1
    step_us[s] = step_us[s] + (now_us() - sent_at)
    if status ~= EXPECTED[s] then return fail(s, status) end
    if s == "create" then
        id = string.match(body, '"id"%s*:%s*"([^"]+)"')
        if id == nil then return fail(s, "no-id") end
        step = "connect"
    elseif s == "connect" then
        step = "send"
    elseif s == "send" then
        if tonumber(string.match(body, '"bytes_sent"%s*:%s*(%d+)')) ~= 64 then return fail(s, "short") end
        received = 0
        step = "receive"
    elseif s == "receive" then
        local n = tonumber(string.match(body, '"bytes"%s*:%s*(%d+)')) or 0
        if n == 64 and received == 0 then
            if string.match(body, '"data"%s*:%s*"([^"]*)"') ~= PAYLOAD then mismatched = mismatched + 1 end
        end
        received = received + n
        if received >= 64 then
            step = "close"
        elseif string.find(body, '"eof"%s*:%s*true') then
            return fail(s, "eof")
        elseif string.find(body, '"timed_out"%s*:%s*true') then
            return fail(s, "timed-out")
        else
            extra_receives = extra_receives + 1 -- the echo is not all back yet: receive again
        end
    else -- close
        lifecycles = lifecycles + 1
        id = nil
        step = "create"
    end
end

function done(summary, latency, requests_)
    local total = { lifecycles = 0, unexpected = 0, extra_receives = 0, mismatched = 0, interleaved = 0, responses = 0 }
    local count, us, details = {}, {}, {}
    for _, s in ipairs(STEPS) do count[s] = 0; us[s] = 0 end
    for _, t in ipairs(threads) do
        for k in pairs(total) do total[k] = total[k] + (t:get(k) or 0) end
        local c, u = t:get("step_count"), t:get("step_us")
        for _, s in ipairs(STEPS) do count[s] = count[s] + (c[s] or 0); us[s] = us[s] + (u[s] or 0) end
        local d = t:get("unexpected_detail")
        if d ~= nil and d ~= "" then table.insert(details, d) end
    end
    for _, k in ipairs({ "lifecycles", "responses", "unexpected", "extra_receives", "mismatched", "interleaved" }) do
        io.write(string.format("lifecycle %s %d\n", k, total[k]))
    end
    -- Mean client-side latency of each step (request written to response parsed), in microseconds.
    for _, s in ipairs(STEPS) do
        io.write(string.format("lifecycle step_%s %d %.1f\n", s, count[s], count[s] > 0 and us[s] / count[s] or 0))
    end
    io.write("lifecycle unexpected_detail " .. (#details > 0 and table.concat(details, " ") or "-") .. "\n")
    io.write(string.format("lifecycle clock %s\n", ffi_ok and "monotonic" or "none"))
end
