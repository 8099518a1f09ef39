-- wrk script: POST each request of $REQUESTS_FILE once, in turn — one per line,
-- `<Authorization>\t<DPoP>\t<Idempotency-Key>\t<JSON body>` (a field may be empty) — for
-- requests that may not repeat (a DPoP proof is single-use). Threads take interleaved
-- lines (thread k of n: lines k, k + n, ...); a thread that runs out starts over, and the
-- repeats then show as non-2xx answers, so the file must hold more than a run sends.
local lines = {}
local f = assert(io.open(assert(os.getenv("REQUESTS_FILE"), "REQUESTS_FILE"), "r"))
for line in f:lines() do lines[#lines + 1] = line end
f:close()

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("first", threads)
end

-- Formatted in init, once wrk has set the Host header (it is not set while the script
-- loads); each thread keeps its own lines only.
local requests, n = {}, 0
function init(args)
  local step = tonumber(os.getenv("WRK_THREADS") or "2")
  for at = first, #lines, step do
    local auth, dpop, key, body = lines[at]:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Content-Type"] = "application/json" }
    if auth ~= "" then headers["Authorization"] = auth end
    if dpop ~= "" then headers["DPoP"] = dpop end
    if key ~= "" then headers["Idempotency-Key"] = key end
    requests[#requests + 1] = wrk.format("POST", nil, headers, body)
  end
  lines = nil
end

function request()
  n = n + 1
  return requests[(n - 1) % #requests + 1]
end
