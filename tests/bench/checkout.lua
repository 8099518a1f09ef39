-- wrk script: POST /api/seats/checkout over one license ($LICENSE_TOKEN, product "ide"),
-- for $USERS distinct users in turn (default 2000), so the license's object grants,
-- refreshes and denies.
local token = assert(os.getenv("LICENSE_TOKEN"), "LICENSE_TOKEN")
local users = tonumber(os.getenv("USERS") or "2000")
local threads = 0
local n = 0

function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end

function request()
  n = n + 1
  local user = "user-" .. ((n + (offset or 0)) % users)
  return wrk.format("POST", "/api/seats/checkout", { ["Content-Type"] = "application/json" },
    '{"license":"' .. token .. '","product":"ide","user":"' .. user .. '","host":"h"}')
end
