-- requests per status code, on all cores: tome status_hist_parallel.lua
-- FILE [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
local counts = tome.parallel(arg[1], function(v)
  return v:tally(" ", 9)
end, { workers = math.tointeger(arg[2]), reduce = function(a, b)
  for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
  return a
end })
local codes = {}
for code in pairs(counts) do codes[#codes + 1] = code end
table.sort(codes)
for _, code in ipairs(codes) do print(code, counts[code]) end
