-- top_ips.lua -- the clients that sent the most requests, from web
-- server access logs (any format whose first field is the client
-- address: Apache and nginx "common" and "combined" both are).
--
--   tome top_ips.lua [-n N] access.log [more.log ...]
--
-- prints N lines (10 by default) "count address", the most frequent
-- first (ties in address order).  The files are mapped, not read: the
-- loop costs what it touches.
local tome = require "tome"

local function usage()
  io.stderr:write("usage: tome top_ips.lua [-n N] LOG...\n")
  os.exit(2)
end

local n, first = 10, 1
if arg[1] == "-n" then
  n = math.tointeger(tonumber(arg[2])) or usage()
  first = 3
end
if not arg[first] then usage() end

local counts = {}
for k = first, #arg do
  local m <close> = assert(tome.open(arg[k]))
  -- each line's first blank-separated field, without copying the line
  for _, pos in m:lines("v") do
    local ip = m:match("^[^ \n]+", pos)
    if ip then counts[ip] = (counts[ip] or 0) + 1 end
  end
end

local ips = {}
for ip in pairs(counts) do ips[#ips + 1] = ip end
table.sort(ips, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
for k = 1, math.min(n, #ips) do
  print(("%7d %s"):format(counts[ips[k]], ips[k]))
end
