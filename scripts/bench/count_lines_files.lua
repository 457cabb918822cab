-- count the lines of many files with tome.parallel over the list:
-- tome count_lines_files.lua WORKERS FILE...
local tome = require "tome"
local files = table.move(arg, 2, #arg, 1, {})
local n = assert(tome.parallel(files, function(v) return v:count("\n") end,
  { workers = math.tointeger(arg[1]),
    reduce = function(a, b) return a + b end }))
print(n)
