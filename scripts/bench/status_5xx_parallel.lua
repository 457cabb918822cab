-- lines with a 5xx status, on all cores: tome status_5xx_parallel.lua FILE
-- [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
local n = tome.parallel(arg[1], function(v)
  local k = 0
  for _ in v:grep('" 5%d%d ', false) do k = k + 1 end
  return k
end, { workers = math.tointeger(arg[2]), reduce = function(a, b)
  return a + b end })
print(n)
