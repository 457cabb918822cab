-- the 10 most frequent clients, on all cores: tome top_ips_parallel.lua
-- FILE [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
local counts = tome.parallel(arg[1], function(v)
  return v:tally(" ", 1)
end, { workers = math.tointeger(arg[2]), reduce = function(a, b)
  for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
  return a
end })
local ips = {}
for ip in pairs(counts) do ips[#ips + 1] = ip end
table.sort(ips, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
for i = 1, math.min(10, #ips) do print(counts[ips[i]], ips[i]) end
