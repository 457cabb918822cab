-- status_histogram.lua -- how many requests got each HTTP status, from
-- web server access logs in the Apache/nginx "common" or "combined"
-- format.
--
--   tome status_histogram.lua access.log [more.log ...]
--
-- prints one line per status, in status order: the status, the count,
-- the share of all requests and a bar.  Lines that do not parse are
-- counted apart and reported on standard error.
local tome = require "tome"

if not arg[1] then
  io.stderr:write("usage: tome status_histogram.lua LOG...\n")
  os.exit(2)
end

-- 203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 2326
-- the status is the first field after the quoted request
local STATUS = '^[^\n]-%] "[^"\n]*" (%d%d%d) '

local counts, total, bad = {}, 0, 0
for k = 1, #arg do
  local m <close> = assert(tome.open(arg[k]))
  for _, pos in m:lines("v") do
    local status = m:match(STATUS, pos)
    if status then
      counts[status] = (counts[status] or 0) + 1
      total = total + 1
    else
      bad = bad + 1
    end
  end
end

local statuses, most = {}, 0
for s, c in pairs(counts) do
  statuses[#statuses + 1] = s
  most = math.max(most, c)
end
table.sort(statuses)
for _, s in ipairs(statuses) do
  local c = counts[s]
  print(("%s %9d %6.2f%% %s"):format(s, c, 100 * c / total,
                                    ("#"):rep(math.ceil(40 * c / most))))
end
if bad > 0 then
  io.stderr:write(("%d lines without a status were skipped\n"):format(bad))
end
