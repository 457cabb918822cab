-- csv_column.lua FILE [WORKERS] -- the sum of the amount column of a CSV
-- with a header, read as RFC 4180 records (quoted fields and all) with
-- v:csv{columns = ...}: one worker, or tome.parallel with WORKERS, whose
-- chunks end only between records (opts.quote).
local path, workers = arg[1], tonumber(arg[2] or "1")
local m = assert(tome.open(path))

local function sum(v)
  local s = 0
  -- the first chunk starts with the header
  local opts = { columns = { 4 }, format = "n" }
  local first = v:offset() == 1
  for amount in v:csv(opts) do
    if first then first = false else s = s + (amount or 0) end
  end
  return s
end

local total
if workers <= 1 then
  total = sum(m)
else
  total = tome.parallel(m, sum, { workers = workers, quote = '"',
                                  reduce = function(a, b) return a + b end })
end
print(string.format("%.2f", total))
