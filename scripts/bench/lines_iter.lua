-- iterate over every line of a file: tome lines_iter.lua FILE
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local n, bytes = 0, 0
for line in m:lines() do n, bytes = n + 1, bytes + #line end
print(n, bytes)
