-- count the lines of a file: tome count_lines.lua FILE
-- (the same as `wc -l FILE`: the number of newline bytes)
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
print(m:count("\n"))
