-- requests per status code in a combined-format access log (awk's $9),
-- as "status<TAB>count" lines: tome status_hist.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local counts = m:tally(" ", 9)
local codes = {}
for code in pairs(counts) do codes[#codes + 1] = code end
table.sort(codes)
for _, code in ipairs(codes) do print(code, counts[code]) end
