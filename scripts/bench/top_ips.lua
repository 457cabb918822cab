-- the 10 most frequent clients of a combined-format access log, as
-- "count<TAB>ip" lines: tome top_ips.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local counts = m:tally(" ", 1)
local ips = {}
for ip in pairs(counts) do ips[#ips + 1] = ip end
table.sort(ips, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
for i = 1, math.min(10, #ips) do print(counts[ips[i]], ips[i]) end
