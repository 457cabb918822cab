-- rewrite a file with a pattern replacement, streamed into a writer:
-- tome gsub_writer.lua FILE PATTERN REPL [OUT]  (standard output when no
-- OUT is given)
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local w = arg[4] and assert(tome.output(arg[4])) or tome.stdout
assert(m:gsub(arg[2], arg[3], nil, w))
if arg[4] then assert(w:close()) end
