-- traffic.lua -- requests per minute over web server access logs (the
-- Apache/nginx "common" or "combined" format) as a timeline, the busiest
-- minute marked.
--
--   tome traffic.lua [-b BUCKET] access.log [more.log ...]
--
-- BUCKET is "minute" (the default), "10s", "5m", "hour", "day"..., or
-- "auto" to let the width choose.  The times are read as they are
-- written (the zone offset is ignored); the logs need not be in order.
-- When the minutes of a long log do not fit the terminal's width, a
-- coarser bucket is chosen and the title says which.
local tome = require "tome"
local chart = require "tome.chart"

local function usage()
  io.stderr:write("usage: tome traffic.lua [-b BUCKET] LOG...\n")
  os.exit(2)
end

local bucket, first = "minute", 1
if arg[1] == "-b" then
  bucket, first = arg[2] or usage(), 3
end
if not arg[first] then usage() end

-- the time is the 4th blank-separated field: "[10/Oct/2026:13:55:36";
-- v:fields hands it over without splitting the rest of the line
local maps = {}
for k = first, #arg do maps[#maps + 1] = assert(tome.open(arg[k])) end
local function times()
  local i, iter = 0, nil
  return function()
    while true do
      if iter then
        local t = iter()
        if t ~= nil then return t end
      end
      i = i + 1
      if not maps[i] then return nil end
      iter = maps[i]:fields(" ", 4)
    end
  end
end

local opts = { what = "requests", bucket = bucket ~= "auto" and bucket or nil }
print(chart.timeline(times(), opts))
