-- top_ips.lua, plus the same clients drawn as a bar chart (on standard
-- error, so that standard output can be checked against the peers'):
-- what charting adds to the query.  tome top_ips_chart.lua FILE
local tome = require "tome"
local chart = require "tome.chart"
local m <close> = assert(tome.open(arg[1]))
local counts = {}
for ip in m:fields(" ", 1) do counts[ip] = (counts[ip] or 0) + 1 end
local ips = {}
for ip in pairs(counts) do ips[#ips + 1] = ip end
table.sort(ips, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
for i = 1, math.min(10, #ips) do print(counts[ips[i]], ips[i]) end
io.stderr:write(chart.bars(counts, { top = 10, width = 80 }), "\n")
