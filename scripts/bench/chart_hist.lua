-- chart.hist of 10 million numbers: builds the list, prints its length,
-- then draws its histogram on standard error (unless the second argument
-- is "nochart": the same run without the chart, to time the difference).
--   tome chart_hist.lua [N [nochart]]
local chart = require "tome.chart"
local n = math.tointeger(tonumber(arg[1] or "")) or 10000000
local v = {}
for i = 1, n do v[i] = (i * 7919) % 100003 end
print(#v .. " values")
if arg[2] ~= "nochart" then
  io.stderr:write(chart.hist(v, { width = 60 }), "\n")
end
