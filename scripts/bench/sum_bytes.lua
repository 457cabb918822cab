-- total bytes sent, from a combined-format access log (awk's $10, the
-- field after the status): tome sum_bytes.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local sum = 0
for bytes in m:fields(" ", 10, "n") do sum = sum + (bytes or 0) end
print(sum)
