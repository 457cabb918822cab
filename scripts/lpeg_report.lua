-- lpeg_report.lua -- a status / path report on a web server access log,
-- parsed with an LPeg grammar:
--
--   tome scripts/lpeg_report.lua [-n N] [-g LITERAL] access.log
--
-- -n N        show the top N paths (default 10)
-- -g LITERAL  only the lines containing LITERAL (plain text), for example
--             -g '" 5' for the 5xx responses: v:grep finds them at memory
--             speed and only those lines are ever parsed
--
-- LPeg matches Lua strings, so the file is matched one line at a time:
-- tome.records.each(m, grammar [, literal]) runs the grammar on each line
-- of the map (each line a short string, never the whole file) and yields
-- the captures of the lines that match.  The grammar takes the Common Log
-- Format, with or without the "combined" referer and user agent (and
-- anything after them, as nginx may add).
local tome = require "tome"
local lpeg = require "lpeg"
local records = require "tome.records"

local P, R, S, C, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc

-- {====== arguments ======
local function usage()
  io.stderr:write("usage: tome lpeg_report.lua [-n N] [-g LITERAL] ",
                  "ACCESS_LOG\n")
  os.exit(2)
end

local top_n, literal, path = 10, nil, nil
do
  local k = 1
  while arg[k] do
    local a = arg[k]
    if a == "-n" then
      top_n = math.tointeger(tonumber(arg[k + 1]))
      if not top_n or top_n < 0 then usage() end
      k = k + 2
    elseif a == "-g" then
      literal = arg[k + 1]
      if not literal or literal == "" then usage() end
      k = k + 2
    elseif path == nil and a:sub(1, 1) ~= "-" then
      path, k = a, k + 1
    else
      usage()
    end
  end
end
if not path then usage() end
-- }======

-- {====== the grammar ======
-- 203.0.113.9 - frank [10/Oct/2026:13:55:36 +0000] "GET /a?b=1 HTTP/1.1"
--   200 2326 "http://example.com/start" "Mozilla/5.0 (X11)"
-- captures: method, path (without its query string), status, bytes
local sp      = P" "
local token   = (1 - sp) ^ 1
local digit   = R"09"
local quoted  = P'"' * (P"\\" * 1 + (1 - S'"\\')) ^ 0 * P'"'
local time    = P"[" * (1 - P"]") ^ 0 * P"]"
local method  = C(R"AZ" ^ 1)
local upath   = C((1 - S"? \"") ^ 1) * (1 - S' "') ^ 0
local request = P'"' * method * sp * upath * sp * (1 - S'" ') ^ 1 * P'"'
local status  = C(digit * digit * digit)
local bytes   = C(digit ^ 1) / tonumber + P"-" * Cc(0)
-- (LPeg's repetitions never give back what they matched, so the end is
-- written to accept what may follow the agent: more fields, or a CR)
local ending  = sp + P"\r" ^ -1 * -P(1)
local LINE    = token * sp * token * sp * token * sp * time * sp *
                request * sp * status * sp * bytes *
                (sp * quoted * sp * quoted) ^ -1 * ending
-- }======

local m <close> = assert(tome.open(path))

local requests, total_bytes = 0, 0
local statuses, classes, paths = {}, {}, {}

for meth, p, st, size in records.each(m, LINE, literal) do
  requests = requests + 1
  total_bytes = total_bytes + size
  statuses[st] = (statuses[st] or 0) + 1
  local class = st:sub(1, 1) .. "xx"
  classes[class] = (classes[class] or 0) + 1
  local e = paths[p]
  if not e then
    e = { n = 0, bytes = 0, c4 = 0, c5 = 0, methods = {} }
    paths[p] = e
  end
  e.n = e.n + 1
  e.bytes = e.bytes + size
  if class == "4xx" then e.c4 = e.c4 + 1
  elseif class == "5xx" then e.c5 = e.c5 + 1 end
  e.methods[meth] = true
end

-- {====== printing ======
local function human(n)
  local units, i = { "B", "KB", "MB", "GB", "TB" }, 1
  while n >= 1024 and i < #units do n, i = n / 1024, i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

local function pct(n) return 100 * n / math.max(requests, 1) end

local function sorted_keys(t, before)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, before)
  return keys
end

local lines = m:count("\n")
if #m > 0 and m[-1] ~= 10 then lines = lines + 1 end
print(("%s: %s, %d lines, %d requests%s, %s sent"):format(path, human(#m),
  lines, requests, literal and (" on lines holding %q"):format(literal)
  or "", human(total_bytes)))

print(("\n%-6s %10s %7s"):format("status", "requests", "share"))
for _, st in ipairs(sorted_keys(statuses)) do
  print(("%-6s %10d %6.1f%%"):format(st, statuses[st], pct(statuses[st])))
end
local parts = {}
for _, c in ipairs(sorted_keys(classes)) do
  parts[#parts + 1] = ("%s %.1f%%"):format(c, pct(classes[c]))
end
print("classes  " .. table.concat(parts, "  "))

local order = sorted_keys(paths, function(a, b)
  if paths[a].n ~= paths[b].n then return paths[a].n > paths[b].n end
  return a < b
end)
local ROW = "%-40s %10s %7s %7s %10s  %s"
print("\n" .. ROW:format(("top %d paths"):format(math.min(top_n, #order)),
                        "requests", "4xx", "5xx", "sent", "methods"))
for k = 1, math.min(top_n, #order) do
  local p = order[k]
  local e = paths[p]
  local shown = #p > 40 and p:sub(1, 37) .. "..." or p
  print(ROW:format(shown, e.n, e.c4, e.c5,
    human(e.bytes), table.concat(sorted_keys(e.methods), ",")))
end
-- }======
