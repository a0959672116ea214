-- wrk script for bench/webhook.sh: each wrk thread cycles through its own file of pre-signed
-- deliveries ("<signature> <body>" per line, written by webhook.sh), so every request carries
-- a valid X-Hook-Signature over a distinct event. WRK_BODIES: file prefix (thread n reads
-- <prefix>.<n>); WRK_DELAY_MS > 0 makes every connection wait that long between requests
-- (a fixed offered rate of connections * 1000 / WRK_DELAY_MS requests/s). The requests are
-- formatted once in init(), so wrk spends its CPU on the wire rather than in Lua (it shares
-- the machine with the gateway and Redis).
local prefix = os.getenv("WRK_BODIES")
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local reqs, n, i = {}, 0, 0

function init(args)
  for line in io.lines(prefix .. "." .. tid) do
    n = n + 1
    local sp = line:find(" ", 1, true)
    reqs[n] = wrk.format("POST", nil, { ["X-Hook-Signature"] = line:sub(1, sp - 1),
                                        ["Content-Type"] = "application/json" }, line:sub(sp + 1))
  end
end

function request()
  i = i % n + 1
  return reqs[i]
end

if delay_ms > 0 then
  function delay() return delay_ms end
end
