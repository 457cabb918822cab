-- the 10 most frequent clients, on all cores: tome top_ips_parallel.lua
-- FILE [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
-- one chunk per worker: each chunk sends back a table of every client it
-- saw, so fewer chunks mean fewer tables to move and merge
local workers = math.tointeger(arg[2]) or tome.cpus()
local counts = tome.parallel(arg[1], function(v)
  return v:tally(" ", 1)
end, { workers = workers, chunks = workers, reduce = function(a, b)
  for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
  return a
end })
dofile((arg[0]:match("^(.*)/") or ".") .. "/top10.lua")(counts)
