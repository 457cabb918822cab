-- peer for lines_iter.lua: stock Lua with io.lines
local n, bytes = 0, 0
for line in io.lines(arg[1]) do n, bytes = n + 1, bytes + #line end
print(n, bytes)
