-- count the lines that contain a literal: tome rare_literal.lua FILE [TEXT]
-- (the same as `grep -c -F TEXT FILE`)
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local n = 0
for _ in m:grep(arg[2] or "/admin/debug") do n = n + 1 end
print(n)
