-- rewrite.lua -- a file rewritten with a Lua pattern substitution,
-- streamed from the mapping into a new file: unchanged stretches are
-- written without a copy, and the output appears only when complete.
--
--   tome rewrite.lua PATTERN REPLACEMENT input [output]
--
-- PATTERN and REPLACEMENT are those of string.gsub (%1 ... in the
-- replacement).  Without output, input is replaced, safely: the new
-- text goes to a temporary file renamed over input at the end.  The
-- number of replacements goes to standard error.  For instance, to
-- blank the last two bytes of every IPv4 address in a web log:
--
--   tome rewrite.lua '%f[%d](%d+%.%d+)%.%d+%.%d+%f[^%d.]' '%1.0.0' \
--        access.log anon.log
--
-- (The pattern runs over the whole file, not line by line: "^" anchors
-- at the start of the file, and "." and "-" may cross newlines.)
local tome = require "tome"

local pattern, repl, input = arg[1], arg[2], arg[3]
local output = arg[4] or input
if not (pattern and repl and input) then
  io.stderr:write("usage: tome rewrite.lua PATTERN REPLACEMENT INPUT [OUTPUT]\n")
  os.exit(2)
end

local m <close> = assert(tome.open(input))
local w = assert(tome.output(output))
local ok, n = pcall(m.gsub, m, pattern, repl, nil, w)
if not ok then
  w:abort()                     -- leaves no file behind
  io.stderr:write("rewrite: ", tostring(n), "\n")
  os.exit(1)
end
assert(w:close())
io.stderr:write(("%d replacements\n"):format(n))
