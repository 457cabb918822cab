-- count the requests that failed with a 5xx status in a combined-format
-- access log: tome status_5xx.lua FILE
-- (the same as grep -c '" 5[0-9][0-9] ' FILE)
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local n = 0
for _ in m:grep('" 5%d%d ', false) do n = n + 1 end
print(n)
