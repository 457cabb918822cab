-- the 10 most frequent clients of a combined-format access log, as
-- "count<TAB>ip" lines: tome top_ips.lua FILE.  Returns the counts (for
-- top_ips_chart.lua).
local tome = require "tome"
local here = arg[0]:match("^(.*)/") or "."
local m <close> = assert(tome.open(arg[1]))
local counts = m:tally(" ", 1)
dofile(here .. "/top10.lua")(counts)
return counts
