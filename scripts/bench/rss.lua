-- rss.lua METHOD FILE -- one scan method over a large file, for the
-- benchmark's memory rows (peak RSS, measured by the caller):
--   tome rss.lua count|lines|fields|grep|... FILE
--   tome rss.lua create FILE SIZE LINES    makes the sparse test file: holes,
--                                          with a line of LINES at the end of
--                                          every MiB (lines of about 1 MiB)
local tome = require "tome"

local method, path = arg[1], arg[2]
if method == "create" then
  local size, MiB = math.tointeger(arg[3]), 1024 * 1024
  local f = assert(io.open(path, "wb"))
  assert(f:seek("set", size - 1))
  assert(f:write("\0"))
  local k = 1
  for line in io.lines(arg[4]) do
    if k * MiB > size then break end
    assert(f:seek("set", k * MiB - #line - 1))
    assert(f:write(line, "\n"))
    k = k + 1
  end
  assert(f:close())
  return
end

local m <close> = assert(tome.open(path))
local IP = "%d+%.%d+%.%d+%.%d+"
local function each(it)
  local n = 0
  for _ in it do n = n + 1 end
  return n
end
local run = {
  count = function() return m:count("\n") end,
  lines = function() return each(m:lines()) end,
  lines_v = function() return each(m:lines("v")) end,
  split_v = function() return each(m:split("\n", "v")) end,
  fields = function() return each(m:fields(" ", 2)) end,
  grep = function() return each(m:grep("GET /")) end,
  grep_pattern = function() return each(m:grep('" 5%d%d ', false)) end,
  find_pattern = function() return m:find("zz%dqq") end,
  match = function() return m:match("zz(%d)qq") end,
  gmatch = function() return each(m:gmatch(IP)) end,
  gsub_writer = function()
    return m:gsub(IP, "x", nil, tome.stdout)
  end,
  unpack = function()
    local s = 0
    for pos = 1, #m - 3, 4096 do s = s + m:unpack("<I4", pos) end
    return s
  end,
  parallel = function()
    return tome.parallel(path, function(v) return v:count("\n") end,
      { workers = 2, reduce = function(a, b) return a + b end })
  end,
  tally = function()
    local n = 0
    for _ in pairs(m:tally(" ", 9)) do n = n + 1 end
    return n
  end,
}
local f = run[method] or error("unknown method " .. tostring(method))
io.stderr:write(method, ": ", tostring(f()), "\n")
