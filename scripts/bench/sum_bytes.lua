-- total bytes sent, from a combined-format access log (the field after
-- the status): tome sum_bytes.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local sum = 0
for line in m:lines() do
  sum = sum + (tonumber(line:match('" %d+ (%d+)')) or 0)
end
print(sum)
