-- top_ips.lua, plus the same clients drawn as a bar chart (on standard
-- error, so that standard output can be checked against the peers'):
-- what charting adds to the query.  tome top_ips_chart.lua FILE
local chart = require "tome.chart"
local counts = dofile((arg[0]:match("^(.*)/") or ".") .. "/top_ips.lua")
io.stderr:write(chart.bars(counts, { top = 10, width = 80 }), "\n")
