-- report.lua -- a short report on a web server access log in the
-- Apache/nginx "combined" format:
--
--   tome scripts/report.lua access.log
--
-- prints the number of requests, the bytes sent, the status codes, the
-- top 10 paths and the top 5 clients.  The file is mapped, not read: the
-- loop costs what it touches.  Copy it and change the pattern to fit your
-- own log format.
local tome = require "tome"

local path = arg[1]
if not path then
  io.stderr:write("usage: tome report.lua ACCESS_LOG\n")
  os.exit(2)
end
local m <close> = assert(tome.open(path))

-- 203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 200 2326 ...
-- captures: client, path (without its query string), status, bytes
local LINE = '^(%S+) %S+ %S+ %[[^%]]*%] "%u+ ([^%s?]*)%S* [^"]*" (%d+) (%S+)'

local requests, bytes, skipped = 0, 0, 0
local statuses, paths, clients = {}, {}, {}

for line in m:lines() do
  local ip, p, status, size = line:match(LINE)
  if ip then
    requests = requests + 1
    bytes = bytes + (tonumber(size) or 0)   -- Apache writes "-" for none
    statuses[status] = (statuses[status] or 0) + 1
    paths[p] = (paths[p] or 0) + 1
    clients[ip] = (clients[ip] or 0) + 1
  elseif line ~= "" then
    skipped = skipped + 1
  end
end

-- the n keys of a table of counts with the highest counts (ties by key)
local function top(counts, n)
  local keys = {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  for i = #keys, n + 1, -1 do keys[i] = nil end
  return keys
end

local function human(n)
  local units, i = { "B", "KB", "MB", "GB", "TB" }, 1
  while n >= 1024 and i < #units do n, i = n / 1024, i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

local function pct(n) return 100 * n / math.max(requests, 1) end

print(("%s: %s"):format(path, human(#m)))
print(("requests  %d"):format(requests))
print(("bytes     %d (%s)"):format(bytes, human(bytes)))
if skipped > 0 then print(("skipped   %d unparsed lines"):format(skipped)) end

print("\nstatus")
local codes = {}
for code in pairs(statuses) do codes[#codes + 1] = code end
table.sort(codes)
for _, code in ipairs(codes) do
  print(("  %s %10d  %5.1f%%"):format(code, statuses[code], pct(statuses[code])))
end

print("\ntop paths")
for i, p in ipairs(top(paths, 10)) do
  print(("  %2d %8d  %s"):format(i, paths[p], p))
end

print("\ntop clients")
for i, ip in ipairs(top(clients, 5)) do
  print(("  %2d %8d  %s"):format(i, clients[ip], ip))
end
