-- peer for sum_bytes.lua: stock Lua with io.lines
local sum = 0
for line in io.lines(arg[1]) do
  sum = sum + (tonumber(line:match('" %d+ (%d+)')) or 0)
end
print(sum)
