-- the sum of the 4th column (amount) of a CSV file with a header line:
-- tome csv_sum.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local body = m:view((m:find("\n", 1, true) or #m) + 1)   -- after the header
local sum = 0
for amount in body:fields(",", 4, "n") do sum = sum + (amount or 0) end
print(("%.2f"):format(sum))
