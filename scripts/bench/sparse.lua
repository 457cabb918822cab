-- a sparse file larger than memory: tome sparse.lua FILE
-- count, lines from an init near the end, rfind, views and unpack at
-- offsets far above 4 GiB (see scripts/bench/sparse.sh, which makes FILE)
local tome = require "tome"
local m <close> = assert(tome.open(arg[1]))
local GiB = 1024 ^ 3
local t0 = os.clock()
print(("size            %.1f GiB"):format(#m / GiB))
print(("lines (count)   %d"):format(m:count("\n")))
local last = {}
for line, pos in m:lines("l", #m - 60) do
  last[#last + 1] = ("%d: %q"):format(pos, line:gsub("%z+", "<NULs>"))
end
print("last lines      " .. table.concat(last, " | "))
local s = m:rfind("middle")
print(("rfind middle    %d (%.2f GiB)"):format(s, s / GiB))
local v = m:view(s, s + 31)
print(("view            %q at %d"):format(v:sub(1, -1), v:offset()))
print(("unpack          %q"):format((m:unpack("z", s))))
print(("grep end        %s"):format((m:view(#m - GiB):grep("end marker")())))
print(("cpu             %.2f s"):format(os.clock() - t0))
