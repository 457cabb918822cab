-- slow_requests.lua -- the requests above a threshold, from web server
-- access logs in the Apache/nginx "common" or "combined" format.
--
--   tome slow_requests.lua THRESHOLD access.log [more.log ...]
--
-- The measure is the response time when the log has one as its last
-- field (nginx's $request_time, Apache's %D or %T appended to the
-- format), else the response size in bytes (the field after the
-- status).  Prints "file:line: value request" for every request above
-- THRESHOLD, in file order.
local tome = require "tome"

local threshold = tonumber(arg[1])
if not threshold or not arg[2] then
  io.stderr:write("usage: tome slow_requests.lua THRESHOLD LOG...\n")
  os.exit(2)
end

-- "GET /path HTTP/1.1" 200 2326 ... 0.153
local REQUEST = '"([^"\n]*)" %d%d%d (%S+)'
local TIME = " (%d+%.?%d*)$"

for k = 2, #arg do
  local path = arg[k]
  local m <close> = assert(tome.open(path))
  local lineno = 0
  for line in m:lines() do
    lineno = lineno + 1
    local request, size = line:match(REQUEST)
    if request then
      local measure = line:match(TIME) or size
      local value = tonumber(measure)
      if value and value > threshold then
        print(("%s:%d: %s %s"):format(path, lineno, measure, request))
      end
    end
  end
end
