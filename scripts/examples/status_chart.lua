-- status_chart.lua -- the HTTP statuses of web server access logs (the
-- Apache/nginx "common" or "combined" format) as a bar chart: one bar per
-- status, in status order, with its count and its share.
--
--   tome status_chart.lua access.log [more.log ...]
--
-- The chart fits the terminal (or COLUMNS); bars are drawn with Unicode
-- blocks under a UTF-8 locale, '#' otherwise.  Lines without a status are
-- counted apart and reported on standard error.
local tome = require "tome"
local chart = require "tome.chart"

if not arg[1] then
  io.stderr:write("usage: tome status_chart.lua LOG...\n")
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

print(chart.bars(counts, { sort = "label", percent = true,
                           title = ("%d requests by status"):format(total) }))
if bad > 0 then
  io.stderr:write(("%d lines without a status were skipped\n"):format(bad))
end
