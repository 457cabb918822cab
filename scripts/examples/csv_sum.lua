-- csv_sum.lua -- the sum of a numeric column of CSV files, computed on
-- all CPUs at once (tome.parallel).
--
--   tome csv_sum.lua COLUMN data.csv [more.csv ...]
--
-- COLUMN is a name from the header line (the first line of each file) or
-- a 1-based number; the header line is skipped either way.  Prints
-- "file<TAB>sum<TAB>rows" for each file, then the total when there are
-- several files.  Sums of whole numbers are printed exactly, others with
-- two decimals.  Cells that are not numbers are skipped and counted on
-- standard error.  For simple CSV: no commas or newlines inside quoted
-- cells.
local tome = require "tome"

local column = arg[1]
if not column or not arg[2] then
  io.stderr:write("usage: tome csv_sum.lua COLUMN FILE.csv...\n")
  os.exit(2)
end

-- The worker: runs in its own Lua state on a chunk of whole lines, so it
-- may use no local variable of this script; what it needs comes in
-- 'col' (opts.arg).  Only the first chunk holds the header line.
local function sum_chunk(v, col)
  local sum, rows, bad = 0, 0, 0
  local init = 1
  if v:offset() == 1 then init = (v:find("\n", 1, true) or #v) + 1 end
  for line in v:lines("l", init) do
    local k, cell = 0, nil
    for field in line:gmatch("([^,]*),?") do
      k = k + 1
      if k == col then cell = field break end
    end
    local x = tonumber(cell)
    if x then sum, rows = sum + x, rows + 1 else bad = bad + 1 end
  end
  return { sum = sum, rows = rows, bad = bad }
end

local function add(a, b)
  return { sum = a.sum + b.sum, rows = a.rows + b.rows, bad = a.bad + b.bad }
end

-- the column's number, from the header of the map m
local function column_number(m)
  local n = math.tointeger(tonumber(column))
  if n then return n end
  local header = m:match("^[^\r\n]*") or ""
  local k = 0
  for name in header:gmatch("([^,]*),?") do
    k = k + 1
    if name == column or name == '"' .. column .. '"' then return k end
  end
  io.stderr:write(("csv_sum: no column %q in the header %q\n"):format(
    column, header))
  os.exit(1)
end

local function show(x)
  if math.type(x) == "integer" then return ("%d"):format(x) end
  return ("%.2f"):format(x)
end

local total = { sum = 0, rows = 0, bad = 0 }
for k = 2, #arg do
  local m <close> = assert(tome.open(arg[k]))
  local r = tome.parallel(m, sum_chunk, { reduce = add, arg = column_number(m) })
  r = r or { sum = 0, rows = 0, bad = 0 }        -- an empty file
  print(("%s\t%s\t%d"):format(arg[k], show(r.sum), r.rows))
  total = add(total, r)
end
if #arg > 2 then print(("total\t%s\t%d"):format(show(total.sum), total.rows)) end
if total.bad > 0 then
  io.stderr:write(("%d cells were not numbers\n"):format(total.bad))
end
