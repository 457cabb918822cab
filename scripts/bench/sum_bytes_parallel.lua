-- total bytes sent (awk's $10) on all cores: tome sum_bytes_parallel.lua
-- FILE [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
local sum = tome.parallel(arg[1], function(v)
  local s = 0
  for bytes in v:fields(" ", 10, "n") do s = s + (bytes or 0) end
  return s
end, { workers = math.tointeger(arg[2]), reduce = function(a, b)
  return a + b end })
print(sum)
