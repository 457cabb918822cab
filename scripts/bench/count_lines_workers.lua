-- count the lines of a (compressed) file, decompressing with a given
-- number of threads: tome count_lines_workers.lua FILE WORKERS
local tome = require "tome"
local m <close> = assert(tome.open(arg[1], "r",
  { workers = math.tointeger(arg[2]) }))
print(m:count("\n"))
