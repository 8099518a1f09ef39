-- wrk script: POST round-robin over the JSON bodies in $BODIES_FILE (one per line), each
-- thread starting at its own offset.
local bodies, i = {}, 0
local f = assert(io.open(assert(os.getenv("BODIES_FILE"), "BODIES_FILE"), "r"))
for line in f:lines() do bodies[#bodies + 1] = line end
f:close()

function setup(thread)
  i = i + 97
  thread:set("i", i)
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, bodies[i])
end
