-- the 10 most frequent clients, on all cores: tome top_ips_parallel.lua
-- FILE [WORKERS]  (default: one worker per CPU)
local tome = require "tome"
-- one chunk per worker: each chunk sends back a table of every client it
-- saw, so fewer chunks mean fewer tables to move and merge
local workers = math.tointeger(arg[2]) or tome.cpus()
local counts = tome.parallel(arg[1], function(v)
  return v:tally(" ", 1)
end, { workers = workers, chunks = workers, reduce = function(a, b)
  for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
  return a
end })
-- the 10 largest counts, kept in order as the table is walked (ties by
-- address), without sorting every address
local top = {}
local function before(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end
for ip in pairs(counts) do
  if #top < 10 or before(ip, top[#top]) then
    local i = #top < 10 and #top + 1 or #top
    while i > 1 and before(ip, top[i - 1]) do
      top[i] = top[i - 1]
      i = i - 1
    end
    top[i] = ip
  end
end
for _, ip in ipairs(top) do print(counts[ip], ip) end
