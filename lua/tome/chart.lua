-- tome.chart -- charts drawn with text, for the REPL and for scripts.
--
--   chart.bars(t [, opts])          horizontal bars of a table of counts
--   chart.spark(list [, opts])      a one-line sparkline
--   chart.hist(values [, opts])     a histogram of numbers
--   chart.timeline(times [, opts])  events per time bucket, as columns
--   chart.show(x [, opts])          what the REPL's ":chart EXPR" draws
--
-- Each returns the drawing as a string without a final newline: print it,
-- or write it anywhere.  Bars use Unicode eighth blocks for precision
-- below one character, or '#' when the locale (LC_ALL, LC_CTYPE, LANG) is
-- not UTF-8 or opts.ascii is true.  The width is opts.width, else
-- COLUMNS, else the terminal's, else 80.  Colour only when opts.color
-- says so or, when it is nil, when standard output is a terminal and
-- NO_COLOR is unset.
--
-- The C helpers (terminal size, display width of UTF-8 text, binning of
-- long lists) come from the tome module (src/lchart.c) when it has them;
-- without them the same results are computed in Lua.

local M = {}

local core
do
  local ok, tome = pcall(require, "tome")
  if ok and type(tome) == "table" then core = rawget(tome, "_chart") end
end

local floor, huge = math.floor, math.huge
local concat = table.concat

-- Errors about the caller's data or options are raised as a Fail object
-- wherever they are found, and turned into a message naming the
-- function, at the caller's line, by the public entry point.
local Fail = {}
local function fail(fmt, ...)
  error(setmetatable({ msg = fmt:format(...) }, Fail), 0)
end

-- {====== the environment ======

-- Does the locale say UTF-8?  The first of LC_ALL, LC_CTYPE, LANG that is
-- set and not empty decides, as setlocale(LC_CTYPE, "") would.
local function locale_utf8()
  local v = os.getenv("LC_ALL")
  if v == nil or v == "" then v = os.getenv("LC_CTYPE") end
  if v == nil or v == "" then v = os.getenv("LANG") end
  return v ~= nil and v:lower():find("utf%-?8") ~= nil
end

local function terminal_width()
  local cols = math.tointeger(tonumber(os.getenv("COLUMNS") or ""))
  if cols and cols > 0 then return cols end
  if core then
    cols = core.termwidth()
    if cols and cols > 0 then return cols end
  end
  return 80
end

local function want_color()
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  if os.getenv("TERM") == "dumb" then return false end
  return core ~= nil and core.isatty(1)
end

-- the settings every drawing starts from
local function context(fname, opts)
  if opts ~= nil and type(opts) ~= "table" then
    fail("options must be a table, got %s", type(opts))
  end
  opts = opts or {}
  local ctx = { fname = fname, opts = opts }
  if opts.ascii ~= nil then ctx.ascii = opts.ascii and true or false
  else ctx.ascii = not locale_utf8() end
  if opts.color ~= nil then ctx.color = opts.color and true or false
  else ctx.color = want_color() end
  local w = opts.width
  if w ~= nil and (math.type(w) ~= "integer" or w < 1) then
    fail("opts.width must be a positive integer")
  end
  ctx.width = w or terminal_width()
  return ctx
end

-- The public function 'fname': body(ctx, x) with the context of opts;
-- a Fail becomes "fname: message" at the caller's line, anything else
-- (an error in a user's iterator) passes unchanged.
local function public(fname, body)
  return function(x, opts)
    local ok, res = pcall(function() return body(context(fname, opts), x) end)
    if ok then return res end
    if getmetatable(res) == Fail then error(fname .. ": " .. res.msg, 2) end
    error(res, 0)
  end
end
-- }======

-- {====== text ======

-- The width of s on a terminal (UTF-8: wide characters count 2,
-- combining marks 0).  Without the C helper, one column per character.
local function dwidth(s)
  if not s:find("[\128-\255]") then return #s end
  if core then return core.width(s) end
  return utf8.len(s) or #s
end

-- Labels come from data: control characters and bytes that are not
-- UTF-8 are shown as escapes, so that they cannot move the cursor or
-- break the alignment.
local function clean(s)
  s = s:gsub("%c", function(c) return ("\\%d"):format(c:byte()) end)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local ok, bad = utf8.len(s, i)
    if ok then out[#out + 1] = s:sub(i) break end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = ("\\%d"):format(s:byte(bad))
    i = bad + 1
  end
  return concat(out)
end

-- s cut to at most w columns, with an ellipsis when it was cut
local function cut(s, w, ascii)
  if dwidth(s) <= w then return s end
  local ell = ascii and "..." or "\u{2026}"
  local room = w - dwidth(ell)
  if room < 1 then return s:sub(1, math.max(w, 0)) end
  local out, used = {}, 0
  for _, cp in utf8.codes(s) do
    local ch = utf8.char(cp)
    local cw = dwidth(ch)
    if used + cw > room then break end
    out[#out + 1] = ch
    used = used + cw
  end
  return concat(out) .. ell
end

local function padr(s, w) return s .. (" "):rep(w - dwidth(s)) end
local function padl(s, w) return (" "):rep(w - dwidth(s)) .. s end

-- a number as the value column shows it
local function fmtnum(x, fmt)
  if type(fmt) == "function" then return tostring(fmt(x)) end
  if type(fmt) == "string" then return fmt:format(x) end
  if math.type(x) == "integer" then return ("%d"):format(x) end
  if x == floor(x) and math.abs(x) < 2^53 then return ("%d"):format(x) end
  return ("%.6g"):format(x)
end

local function label_of(k)
  if math.type(k) == "float" then return fmtnum(k) end
  return clean(tostring(k))
end

local SGR = { bar = "\27[36m", peak = "\27[1;31m", dim = "\27[2m",
              off = "\27[0m" }
local function paint(ctx, what, s)
  if not ctx.color or s == "" then return s end
  return SGR[what] .. s .. SGR.off
end
-- }======

-- {====== checking values ======

local function describe(x)
  if x ~= x then return "NaN" end
  return tostring(x)
end

-- Fail unless x is a finite number (and >= 0 when 'counts'); 'what'
-- names it in the message.
local function check_value(x, what, counts)
  if type(x) ~= "number" then
    fail("%s is a %s, not a number", what, type(x))
  elseif x ~= x then
    fail("%s is NaN", what)
  elseif x == huge or x == -huge then
    fail("%s is not finite (%s)", what, describe(x))
  elseif counts and x < 0 then
    fail("%s is negative (%s)", what, describe(x))
  end
  return x
end
-- }======

-- {====== horizontal bars ======

local EIGHTHS = { "\u{258F}", "\u{258E}", "\u{258D}", "\u{258C}", "\u{258B}",
                  "\u{258A}", "\u{2589}" }
local FULL = "\u{2588}"

-- A bar of value v where 'scale' fills 'cells' columns: in eighths of a
-- column, rounded to the nearest; a value above zero shows at least one
-- eighth.  A value beyond the scale is cut, its last column a '»'.
local function hbar(ctx, v, scale, cells)
  if v <= 0 or scale <= 0 or cells <= 0 then return "" end
  if v > scale then
    return (ctx.ascii and "#" or FULL):rep(cells - 1)
      .. (ctx.ascii and ">" or "\u{BB}")
  end
  if ctx.ascii then
    local n = floor(v / scale * cells + 0.5)
    return ("#"):rep(math.max(n, 1))
  end
  local e = floor(v / scale * (cells * 8) + 0.5)
  if e < 1 then e = 1 end
  local part = e % 8
  return FULL:rep(e // 8) .. (part > 0 and EIGHTHS[part] or "")
end

-- Draw rows { label, value, others = bool } as aligned lines
--   label  value [share] bar
-- scaled so that the largest value of the rows that are not 'others'
-- fills the bar column.
local function draw_rows(ctx, rows, total)
  local opts = ctx.opts
  local lines = {}
  if opts.title then lines[1] = clean(tostring(opts.title)) end
  local lw, vw, scale = 0, 0, 0
  for _, r in ipairs(rows) do
    r.vtext = fmtnum(r.value, opts.format)
    lw = math.max(lw, dwidth(r.label))
    vw = math.max(vw, dwidth(r.vtext))
    if not r.others and r.value > scale then scale = r.value end
  end
  if scale == 0 then
    for _, r in ipairs(rows) do scale = math.max(scale, r.value) end
  end
  local pw = opts.percent and 7 or 0          -- " 100.0%"
  -- the bar column gets what is left, but never less than a quarter of
  -- the width (or 10 columns): long labels are cut to make room
  local minbar = math.max(10, ctx.width // 4)
  local fixed = vw + pw + 2
  if lw + fixed + minbar > ctx.width then
    lw = math.min(lw, math.max(ctx.width - fixed - minbar, 4))
  end
  local cells = math.max(ctx.width - lw - fixed, 1)
  for _, r in ipairs(rows) do
    local label = padr(cut(r.label, lw, ctx.ascii), lw)
    local share = ""
    if pw > 0 then
      share = " " .. padl(("%.1f%%"):format(total > 0 and
                                            100 * r.value / total or 0), 6)
    end
    local bar = paint(ctx, r.others and "dim" or "bar",
                      hbar(ctx, r.value, scale, cells))
    local line = label .. " " .. padl(r.vtext, vw) .. share
    lines[#lines + 1] = line .. (bar ~= "" and " " .. bar or "")
  end
  return concat(lines, "\n")
end

-- Labels compare as numbers when both read as numbers ("9" < "10"),
-- else as strings.
local function label_less(a, b)
  local na, nb = tonumber(a), tonumber(b)
  if na and nb and na ~= nb then return na < nb end
  return a < b
end

local function by_value(a, b)
  if a.value ~= b.value then return a.value > b.value end
  return label_less(a.label, b.label)
end

-- The rows of a list of {label, value} pairs or of plain numbers
-- (labelled 1, 2, ...), in the list's order.
local function list_rows(t)
  local rows = {}
  for i, e in ipairs(t) do
    local label, value
    if type(e) == "table" then
      label, value = e[1], e[2]
      if label == nil then
        fail("entry %d has no label ({label, value} expected)", i)
      end
    elseif type(e) == "number" then
      label, value = i, e
    else
      fail("entry %d is a %s ({label, value} or a number expected)", i,
           type(e))
    end
    label = label_of(label)
    check_value(value, ("value of %q"):format(label), true)
    rows[i] = { label = label, value = value, order = i }
  end
  return rows
end

-- Insert row r into 'kept' (sorted by by_value), keeping at most 'top'
-- rows; returns the row that fell off the end, if any.
local function keep(kept, r, top)
  local i = #kept
  kept[i + 1] = r
  while i >= 1 and by_value(r, kept[i]) do
    kept[i + 1], kept[i] = kept[i], r
    i = i - 1
  end
  if #kept > top then return table.remove(kept) end
end

-- One pass over a table of label = count: the 'top' largest rows (all
-- when top is false) and the sum and number of the others.  Only the
-- candidates become rows, so a table of many labels costs little more
-- than the pass.
local function map_rows(t, top)
  local kept, total, rest, nrest = {}, 0, 0, 0
  local floorv = -1            -- below this, a value cannot be kept
  for k, v in pairs(t) do
    if type(v) ~= "number" or not (v >= 0 and v < huge) then
      check_value(v, ("value of %q"):format(label_of(k)), true)
    end
    total = total + v
    if not top then
      kept[#kept + 1] = { label = label_of(k), value = v }
    elseif v < floorv then
      rest, nrest = rest + v, nrest + 1
    else
      local out = keep(kept, { label = label_of(k), value = v }, top)
      if out then
        rest, nrest = rest + out.value, nrest + 1
        floorv = kept[top].value
      end
    end
  end
  return kept, total, rest, nrest
end

local function check_bars_opts(opts, is_list)
  local order = opts.sort
  if order == nil then order = is_list and "none" or "value" end
  if order ~= "value" and order ~= "label" and order ~= "none" then
    fail('opts.sort must be "value", "label" or "none"')
  end
  local top = opts.top
  if top == nil then top = 20 end
  if top and (math.type(top) ~= "integer" or top < 1) then
    fail("opts.top must be a positive integer or false")
  end
  return order, top
end

-- Is t a list (keys 1..n, nothing else)?  A table of counts whose keys
-- are small numbers ({[1] = 5, [2] = 3, [7] = 1}) or that has t[1] among
-- other keys is a table of counts: read as a list, it lost what ipairs
-- does not reach.
local function list_like(t)
  if rawget(t, 1) == nil then return false end
  local n, max = 0, 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
    if k > max then max = k end
  end
  return n == max
end

M.bars = public("chart.bars", function(ctx, t)
  if type(t) ~= "table" then
    fail("table of counts expected, got %s", type(t))
  end
  local is_list = list_like(t)
  local order, top = check_bars_opts(ctx.opts, is_list)
  local kept, total, rest, nrest
  if is_list then
    local rows = list_rows(t)
    total, rest, nrest = 0, 0, 0
    for _, r in ipairs(rows) do total = total + r.value end
    kept = rows
    if top and #rows > top then
      table.sort(rows, by_value)
      kept = {}
      for i, r in ipairs(rows) do
        if i <= top then kept[i] = r
        else rest, nrest = rest + r.value, nrest + 1 end
      end
    end
  else
    kept, total, rest, nrest = map_rows(t, top)
  end
  if #kept == 0 then return "(no data)" end
  if order == "value" then
    table.sort(kept, by_value)
  elseif order == "label" or not is_list then
    table.sort(kept, function(a, b) return label_less(a.label, b.label) end)
  else
    table.sort(kept, function(a, b) return a.order < b.order end)
  end
  if nrest > 0 and ctx.opts.others ~= false then
    kept[#kept + 1] = { label = ("(%d others)"):format(nrest), value = rest,
                        others = true }
  end
  return draw_rows(ctx, kept, total)
end)
-- }======

-- {====== sparkline ======

local LEVELS = { "\u{2581}", "\u{2582}", "\u{2583}", "\u{2584}", "\u{2585}",
                 "\u{2586}", "\u{2587}", "\u{2588}" }
local ASCII_LEVELS = { "_", ".", "-", "~", "=", "+", "*", "#" }

M.spark = public("chart.spark", function(ctx, list)
  if type(list) ~= "table" then
    fail("list of numbers expected, got %s", type(list))
  end
  local n = #list
  if n == 0 then return "" end
  local lo, hi = huge, -huge
  for i = 1, n do
    local x = check_value(list[i], ("value %d"):format(i), false)
    if x < lo then lo = x end
    if x > hi then hi = x end
  end
  if ctx.opts.min then lo = ctx.opts.min end
  if ctx.opts.max then hi = ctx.opts.max end
  local glyphs = ctx.ascii and ASCII_LEVELS or LEVELS
  local out = {}
  for i = 1, n do
    local k = 4                        -- all equal: the middle
    if hi > lo then
      k = floor((list[i] - lo) / (hi - lo) * 7 + 0.5) + 1
      if k < 1 then k = 1 elseif k > 8 then k = 8 end
    end
    out[i] = glyphs[k]
  end
  return paint(ctx, "bar", concat(out))
end)
-- }======

-- {====== histogram ======

-- 1, 2 or 5 times a power of ten, the smallest not below x (> 0)
local function nice_step(x)
  local p = 10 ^ floor(math.log(x, 10))
  for _, m in ipairs { 1, 2, 5, 10 } do
    if m * p >= x * (1 - 1e-12) then return m * p end
  end
  return 10 * p
end

-- Are 'edges' finite, strictly increasing from at most lo to at least hi?
local function covers(edges, lo, hi)
  if edges[1] > lo or edges[#edges] < hi then return false end
  if edges[1] == -huge or edges[#edges] == huge then return false end
  for i = 2, #edges do
    if edges[i] <= edges[i - 1] then return false end
  end
  return true
end

-- The edges of n bins over [lo, hi] (lo < hi): n equal bins, or about n
-- bins of a round width (1, 2 or 5 times a power of ten; at least 1 for
-- integer data) starting at a multiple of it.  The width is computed as
-- hi / n - lo / n, which neither overflows (the integers' whole range,
-- floats near the largest) nor wraps around; where a round width cannot
-- tell the ends apart (a range of a few units in the last place), equal
-- bins are used, and equal bins that round to the same double are one.
local function linear_edges(lo, hi, n, nice, integral)
  local edges = {}
  local span = hi / n - lo / n         -- inf when one bin spans > 1.8e308
  local w = nice and span >= 2.3e-308 and span < huge and nice_step(span)
  if w and w < huge then   -- (normal doubles, a finite round width)
    if integral and w < 1 then w = 1 end
    -- k * w carries the error of w (3 * 0.05 is not 0.15): each edge is
    -- the double nearest to its decimal value, and the ends are checked
    -- (beyond the largest double: huge, which covers() refuses)
    local function edge(k)
      local e = tonumber(("%.12g"):format(k * w)) or huge
      return math.tointeger(e) or e
    end
    local first, last = floor(lo / w + 1e-9), math.ceil(hi / w - 1e-9)
    if edge(first) > lo then first = first - 1 end
    if edge(last) < hi then last = last + 1 end
    if last == first then last = first + 1 end
    for k = first, last do edges[#edges + 1] = edge(k) end
    if covers(edges, lo, hi) then return edges end
    edges = {}
  end
  edges[1] = lo
  for k = 1, n - 1 do
    local e = lo + span * k
    if e > edges[#edges] and e < hi then edges[#edges + 1] = e end
  end
  edges[#edges + 1] = hi
  return edges
end

-- The edges of n bins over [lo, hi] (0 < lo < hi), even on a log scale;
-- nice ones are powers of ten around the range (every k-th decade when
-- it spans more than n of them), or the 1-2-5 steps when it spans too
-- few decades for about n bins.  Powers of ten beyond the doubles (1e309,
-- 1e-324) give way to hi and lo themselves; equal bins that round to the
-- same double are one, as on a linear scale.
local function log_edges(lo, hi, n, nice)
  local edges = {}
  if nice then
    local d0, d1 = floor(math.log(lo, 10)), math.ceil(math.log(hi, 10))
    if d1 == d0 then d1 = d0 + 1 end
    local per = math.max(1, math.ceil((d1 - d0) / n))
    local steps = (per > 1 or (d1 - d0) * 2 >= n) and { 1 } or { 1, 2, 5 }
    local all = {}
    for d = d0 - d0 % per, d1 + per - 1, per do
      for _, m in ipairs(steps) do
        local e = m * 10.0 ^ d
        if e > 0 and e < huge then all[#all + 1] = e end
      end
    end
    -- keep the last edge <= lo, up to the first edge >= hi
    for i, e in ipairs(all) do
      local nxt = all[i + 1]
      if (nxt == nil or nxt > lo) and (#edges == 0 or edges[#edges] < hi) then
        edges[#edges + 1] = math.tointeger(e) or e
      end
    end
    if edges[1] > lo then table.insert(edges, 1, lo) end
    if edges[#edges] < hi then edges[#edges + 1] = hi end
    if covers(edges, lo, hi) then return edges end
    edges = {}
  end
  local a, b = math.log(lo, 10), math.log(hi, 10)
  edges[1] = lo
  for k = 1, n - 1 do
    local e = 10 ^ (a + (b - a) * k / n)
    if e > edges[#edges] and e < hi then edges[#edges + 1] = e end
  end
  edges[#edges + 1] = hi
  return edges
end

-- The shortest "%.Ng" that tells all edges apart ("%d" for integers);
-- a bin of one value ([0.42, 0.42]: all values equal) shows the value
-- itself, exactly.
local function edge_format(edges)
  local allint = true
  for _, e in ipairs(edges) do
    if not (e == floor(e) and math.abs(e) < 1e15) then allint = false end
  end
  if allint then return "%d" end
  for p = 1, 16 do
    local fmt, seen, ok = "%." .. p .. "g", {}, true
    for i, e in ipairs(edges) do
      local s = fmt:format(e)
      if seen[s] and e ~= edges[i - 1] then ok = false break end
      if e == edges[i - 1] and tonumber(s) ~= e then ok = false break end
      seen[s] = true
    end
    if ok then return fmt end
  end
  return "%.17g"
end

-- {------ the values: a list, an iterator, or a map or view ------

-- The smallest and largest value of a list, and whether all are
-- integers; nil and the index of the first value that is not a finite
-- number.
local function list_range_lua(list)
  local lo, hi, integral = huge, -huge, true
  local ok, bad = pcall(function()
    for i = 1, #list do
      local x = list[i]
      if x ~= x or x == huge or x == -huge then return i end
      if x < lo then lo = x end
      if x > hi then hi = x end
      if integral and x % 1 ~= 0 then integral = false end
    end
  end)
  if not ok or bad then                  -- something not a number: find it
    for i = 1, #list do
      local x = list[i]
      if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        return nil, i
      end
    end
  end
  return lo, hi, integral
end

-- Counts of the values of a list in the bins of 'edges' (increasing; the
-- last bin is closed): counts[1..#edges-1], then how many fell below and
-- above.  The values were checked.
local function list_bin_lua(list, edges)
  local nb = #edges - 1
  local counts = {}
  for k = 1, nb do counts[k] = 0 end
  local below, above = 0, 0
  local lo, hi = edges[1], edges[nb + 1]
  for i = 1, #list do
    local x = list[i]
    if x < lo then below = below + 1
    elseif x > hi then above = above + 1
    else
      local a, b = 1, nb               -- the last edge <= x, by bisection
      while a < b do
        local mid = (a + b + 1) // 2
        if edges[mid] <= x then a = mid else b = mid - 1 end
      end
      counts[a] = counts[a] + 1
    end
  end
  return counts, below, above
end

local list_range = core and core.range or list_range_lua
local list_bin = core and core.bin or list_bin_lua

-- The values as a list.  A list is checked as it is; an iterator's
-- values (false ones skipped: v:fields gives false for what is not a
-- number) are gathered; a map or view gives opts.field (default 1) of
-- each line split on opts.sep (default: blanks, as awk splits), read in
-- C with v:fields.  Returns the list, its range and whether all values
-- are integers.
local function gather(ctx, values)
  local list = values
  local tv = type(values)
  local tome = package.loaded.tome
  if tv ~= "table" then
    local iter = values
    if type(tome) == "table" and tome.type and tome.type(values) then
      local col = ctx.opts.field or 1
      if math.type(col) ~= "integer" or col == 0 then
        fail("opts.field must be a column number")
      end
      iter = values:fields(ctx.opts.sep or " ", col, "n")
    elseif tv ~= "function" then
      fail("list of numbers, iterator or view expected, got %s", tv)
    end
    list = {}
    local n, skipped = 0, 0
    for x in iter do
      if x then n = n + 1; list[n] = x else skipped = skipped + 1 end
    end
    ctx.skipped = skipped
  end
  local lo, hi, integral = list_range(list)
  if lo == nil then check_value(list[hi], ("value %d"):format(hi), false) end
  return list, lo, hi, integral
end
-- }------

local function check_edges(edges)
  if type(edges) ~= "table" or #edges < 2 then
    fail("opts.edges must be a list of at least 2 numbers")
  end
  for i, e in ipairs(edges) do
    if type(e) ~= "number" or e ~= e or (i > 1 and e <= edges[i - 1]) then
      fail("opts.edges must be increasing numbers")
    end
  end
end

local function hist_edges(ctx, lo, hi, integral)
  local opts = ctx.opts
  if opts.edges then
    check_edges(opts.edges)
    return opts.edges
  end
  local n = opts.bins or 10
  if math.type(n) ~= "integer" or n < 1 then
    fail("opts.bins must be a positive integer")
  end
  if opts.min ~= nil then lo = check_value(opts.min, "opts.min") end
  if opts.max ~= nil then hi = check_value(opts.max, "opts.max") end
  if lo > hi then fail("opts.min is above opts.max") end
  if opts.log and lo <= 0 then
    fail("a log scale needs values above 0 (the smallest is %s)",
         fmtnum(lo))
  end
  if lo == hi then return { lo, hi } end
  local nice = opts.nice
  if nice == nil then nice = opts.min == nil and opts.max == nil end
  if opts.log then return log_edges(lo, hi, n, nice) end
  return linear_edges(lo, hi, n, nice, integral)
end

M.hist = public("chart.hist", function(ctx, values)
  ctx.skipped = 0
  local list, lo, hi, integral = gather(ctx, values)
  if #list == 0 then return "(no data)" end
  local edges = hist_edges(ctx, lo, hi, integral)
  local counts, below, above = list_bin(list, edges)
  local fmt = edge_format(edges)
  local texts, w = {}, 0
  for i, e in ipairs(edges) do
    texts[i] = fmt:format(e)
    w = math.max(w, #texts[i])
  end
  local rows, total = {}, #list
  local nb = #edges - 1
  if below > 0 then
    rows[#rows + 1] = { label = "< " .. texts[1], value = below }
  end
  for k = 1, nb do
    rows[#rows + 1] = {
      label = ("[%s, %s%s"):format(padl(texts[k], w), padl(texts[k + 1], w),
                                   k == nb and "]" or ")"),
      value = counts[k] }
  end
  if above > 0 then
    rows[#rows + 1] = { label = "> " .. texts[nb + 1], value = above }
  end
  local out = draw_rows(ctx, rows, total)
  if ctx.skipped > 0 then
    out = out .. ("\n(%d values were not numbers)"):format(ctx.skipped)
  end
  return out
end)
-- }======

-- {====== timeline ======

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function epoch(y, mo, d, h, mi, s)
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s
end

-- A time as seconds since the epoch: a number as it is, or a string in
-- the common log format ("10/Oct/2026:13:55:36 +0000"), ISO 8601
-- ("2026-10-10T13:55:36", "2026-10-10 13:55"), or digits.  Times are
-- taken as written: a zone offset is ignored.
local function parse_time(s)
  local d, mon, y, h, mi, sec =
    s:match("^%[?(%d%d?)/(%a%a%a)/(%d%d%d%d):(%d%d):(%d%d):(%d%d)")
  if d and MONTHS[mon] then
    return epoch(tonumber(y), MONTHS[mon], tonumber(d), tonumber(h),
                 tonumber(mi), tonumber(sec))
  end
  local mo
  y, mo, d, h, mi, sec =
    s:match("^(%d%d%d%d)-(%d%d)-(%d%d)[T ](%d%d):(%d%d):?(%d*%.?%d*)")
  if y then
    return epoch(tonumber(y), tonumber(mo), tonumber(d), tonumber(h),
                 tonumber(mi), tonumber(sec) or 0)
  end
  y, mo, d = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if y then return epoch(tonumber(y), tonumber(mo), tonumber(d), 0, 0, 0) end
  return tonumber(s)
end

-- the bucket sizes an automatic choice picks from, and their names
local LADDER = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                 7200, 10800, 21600, 43200, 86400, 172800, 604800 }
local UNITS = { s = 1, sec = 1, second = 1, seconds = 1,
                m = 60, min = 60, minute = 60, minutes = 60,
                h = 3600, hour = 3600, hours = 3600,
                d = 86400, day = 86400, days = 86400,
                w = 604800, week = 604800, weeks = 604800 }

local function bucket_size(b)
  if math.type(b) == "integer" and b > 0 then return b end
  if type(b) == "string" then
    local n, unit = b:match("^(%d*)%s*(%a+)$")
    local u = unit and UNITS[unit:lower()]
    n = n == "" and 1 or math.tointeger(tonumber(n))
    if u and n and n > 0 then return n * u end
  end
  return nil
end

local function bucket_name(step)
  local names = { { 604800, "week" }, { 86400, "day" }, { 3600, "hour" },
                  { 60, "minute" }, { 1, "second" } }
  for _, p in ipairs(names) do
    if step % p[1] == 0 then
      local k = step // p[1]
      if k == 1 then return p[2] end
      return ("%d %ss"):format(k, p[2])
    end
  end
end

-- Count the times (false ones are skipped: v:fields gives false for a
-- missing field).  Returns the first and last second, how many there
-- are, how many were skipped, and tally(step, b0, n): the counts of
-- the buckets b0 .. b0 + n - 1 of 'step' seconds.  A list of numbers
-- goes to the C helper in two passes; anything else is counted per
-- second in one pass.
local function count_times(times)
  if type(times) == "table" and core then
    local lo, hi = core.range(times)
    if lo and lo ~= huge then
      return floor(lo), floor(hi), #times, 0, function(step, b0, nb)
        return core.buckets(times, step, b0, nb)
      end
    end
  end
  local per, first, last, n, skipped = {}, huge, -huge, 0, 0
  -- the value t, seen 'run' times in a row, the first time as value i
  local function add(t, i, run)
    if t == false then
      skipped = skipped + run
      return
    end
    local x = t
    if type(t) == "string" then x = parse_time(t) end
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
      if type(t) == "string" then
        fail("cannot read a time in %q (value %d)", t, i)
      end
      check_value(t, ("value %d"):format(i), false)
    end
    local sec = floor(x)
    per[sec] = (per[sec] or 0) + run
    if sec < first then first = sec end
    if sec > last then last = sec end
    n = n + run
  end
  -- a log's times repeat line after line: each run is read once
  local prev, run, i = nil, 0, 0
  local function each(t)
    i = i + 1
    if run > 0 and t == prev then
      run = run + 1
    else
      if run > 0 then add(prev, i - run, run) end
      prev, run = t, 1
    end
  end
  if type(times) == "table" then
    for k = 1, #times do
      local t = times[k]
      if run > 0 and t == prev then run = run + 1 else each(t) end
      i = k
    end
  elseif type(times) == "function" then
    for t in times do
      if run > 0 and t == prev then run, i = run + 1, i + 1 else each(t) end
    end
  else
    fail("list or iterator of times expected, got %s", type(times))
  end
  if run > 0 then add(prev, i - run + 1, run) end
  return first, last, n, skipped, function(step, b0, nb)
    local counts = {}
    for k = 1, nb do counts[k] = 0 end
    for sec, c in pairs(per) do
      local k = sec // step - b0 + 1
      counts[k] = counts[k] + c
    end
    return counts
  end
end

-- The bucket size: 'min' (opts.bucket) when its buckets fit 'cols'
-- columns, else the smallest that fits of the ladder's sizes that are
-- multiples of 'min' and of 'min' times 2, 5, 10, 20, 50... (7 seconds
-- widen to 70, not to the ladder's first multiple of 7, a week), else
-- whole days doubled until they fit.
local function choose_step(first, last, cols, min)
  local function fits(l) return last // l - first // l + 1 <= cols end
  if min and fits(min) then return min end
  local best
  if min then
    local k = 1
    while min * k < 86400 * 7 do
      for _, m in ipairs { 2, 5, 10 } do
        if not best and fits(min * k * m) then best = min * k * m end
      end
      if best then break end
      k = k * 10
    end
  end
  for _, l in ipairs(LADDER) do
    if best and l >= best then break end
    if (not min or (l > min and l % min == 0)) and fits(l) then return l end
  end
  if best then return best end
  local l = (min == nil or 86400 % min == 0) and math.max(min or 0, 86400)
    or min
  while not fits(l) do l = l * 2 end
  return l
end

local VBLOCKS = { "\u{2581}", "\u{2582}", "\u{2583}", "\u{2584}", "\u{2585}",
                  "\u{2586}", "\u{2587}", "\u{2588}" }

-- the glyph of a column of e eighths in the row whose bottom is at
-- eighth 'base'
local function vcell(ctx, e, base)
  local k = e - base
  if k <= 0 then return " " end
  if ctx.ascii then return k >= 4 and "#" or " " end
  if k >= 8 then return VBLOCKS[8] end
  return VBLOCKS[k]
end

-- a time as UTC text; a time the C library cannot turn into a date
-- (beyond the year 2^31) is the caller's error, not a failure in os.date
local function date(fmt, t)
  local ok, s = pcall(os.date, "!" .. fmt, t)
  if not ok then
    fail("time %s is beyond the dates this system can show", fmtnum(t))
  end
  return s
end

-- the labels of the time axis: a start time every 'every' seconds (a
-- round number from the ladder) that leaves room for the text
local function axis_labels(first, step, nb, colw, fmt, plotw)
  local lw = #date(fmt, first)
  local every
  for _, l in ipairs(LADDER) do
    if l >= step and l % step == 0 and (l // step) * colw >= lw + 2 then
      every = l
      break
    end
  end
  every = every or step * math.ceil((lw + 2) / colw)
  -- the first bucket always has one; two labels are 2 columns apart
  local line, col = {}, -2
  for k = 0, nb - 1 do
    local t = first + k * step
    if k == 0 or t % every == 0 then
      local at = k * colw
      local text = date(fmt, t)
      if at >= col + 2 and at + #text <= plotw then
        line[#line + 1] = (" "):rep(at - math.max(col, 0)) .. text
        col = at + #text
      end
    end
  end
  return concat(line)
end

M.timeline = public("chart.timeline", function(ctx, times)
  local opts = ctx.opts
  local first, last, n, skipped, tally = count_times(times)
  if n == 0 then return "(no data)" end
  local height = opts.height or 10
  if math.type(height) ~= "integer" or height < 1 then
    fail("opts.height must be a positive integer")
  end
  -- the y axis labels, then the room left for columns
  local step
  if opts.bucket ~= nil then
    step = bucket_size(opts.bucket)
    if not step then
      fail('opts.bucket must be seconds or a unit such as "minute", "5m", '
           .. '"hour", "day" (got %s)', tostring(opts.bucket))
    end
  end
  -- the y labels' width depends on the peak, the peak on the bucket
  -- size, the bucket size on the room left: try until it settles
  local yw, plotw, counts, nb, peak, peakk, s, b0 = 1
  for _ = 1, 4 do
    plotw = math.max(ctx.width - yw - 2, 1)
    local s2 = choose_step(first, last, plotw, step)
    if s2 ~= s then
      s = s2
      b0 = first // s
      nb = last // s - b0 + 1
      counts = tally(s, b0, nb)
    end
    peak, peakk = 0, 1
    for k = 1, nb do
      if counts[k] > peak then peak, peakk = counts[k], k end
    end
    if #fmtnum(peak) <= yw then break end
    yw = #fmtnum(peak)
  end
  step, first = s, b0 * s
  local colw = math.max(1, math.min(plotw // nb, 4))
  local fmt = step >= 86400 and "%Y-%m-%d"
    or (last - first >= 86400 and "%m-%d %H:%M")
    or (step < 60 and "%H:%M:%S") or "%H:%M"
  local lines = {}
  local what = opts.what or "events"
  local tfmt = step >= 86400 and "%Y-%m-%d" or "%Y-%m-%d %H:%M"
  local t1, t2 = date(tfmt, first), date(tfmt, last)
  if step < 86400 and t2:sub(1, 10) == t1:sub(1, 10) then t2 = t2:sub(12) end
  lines[1] = opts.title and clean(tostring(opts.title))
    or ("%s per %s, %s to %s"):format(what, bucket_name(step), t1, t2)
  local ax = ctx.ascii and { "+", "|", "+", "-", "^" }
    or { "\u{2524}", "\u{2502}", "\u{2514}", "\u{2500}", "\u{25B2}" }
  local eighths = {}
  for k = 1, nb do
    local c = counts[k]
    -- eighths of a row, rounded (whole rows in ASCII); never 0 for c > 0
    local unit = ctx.ascii and 1 or 8
    local e = peak > 0 and floor(c / peak * height * unit + 0.5) or 0
    if c > 0 and e < 1 then e = 1 end
    e = e * (8 // unit)
    eighths[k] = e
  end
  for row = 1, height do
    local base = (height - row) * 8
    local cells = {}
    for k = 1, nb do
      local g = vcell(ctx, eighths[k], base):rep(colw)
      if g:find("%S") then
        g = paint(ctx, (k == peakk and opts.peak ~= false) and "peak" or "bar",
                  g)
      end
      cells[k] = g
    end
    local left = row == 1 and padl(fmtnum(peak), yw) .. " " .. ax[1]
      or (" "):rep(yw + 1) .. ax[2]
    lines[#lines + 1] = (left .. concat(cells)):gsub("%s+$", "")
  end
  lines[#lines + 1] = padl("0", yw) .. " " .. ax[3] .. ax[4]:rep(nb * colw)
  local labels = axis_labels(first, step, nb, colw, fmt,
                             ctx.width - yw - 2)
  if labels ~= "" then
    lines[#lines + 1] = (" "):rep(yw + 2) .. labels
  end
  if opts.peak ~= false then
    local at = yw + 2 + (peakk - 1) * colw + (colw - 1) // 2
    local pfmt = step < 60 and "%H:%M:%S" or "%H:%M"
    if step >= 86400 then pfmt = "%Y-%m-%d"
    elseif last - first >= 86400 then pfmt = "%Y-%m-%d " .. pfmt end
    local when = date(pfmt, first + (peakk - 1) * step)
    local text = ("peak %s at %s"):format(fmtnum(peak), when)
    -- the mark under the peak's column, the text beside it where it fits
    local mark = paint(ctx, "peak", ax[5])
    if at + 2 + #text <= ctx.width then
      lines[#lines + 1] = (" "):rep(at) .. mark .. " " .. text
    elseif at >= #text + 1 then
      lines[#lines + 1] = (" "):rep(at - #text - 1) .. text .. " " .. mark
    else
      lines[#lines + 1] = (" "):rep(at) .. mark
      lines[#lines + 1] = text
    end
  end
  if skipped > 0 then
    lines[#lines + 1] = ("(%d values were not times)"):format(skipped)
  end
  return concat(lines, "\n")
end)
-- }======

-- {====== show ======

-- What the REPL's ":chart EXPR" draws: a drawing as it is, bars for a
-- table (of label = count, of {label, value} pairs, or of numbers).
M.show = public("chart.show", function(ctx, x)
  if type(x) == "string" then return x end
  if type(x) ~= "table" then
    fail("cannot chart a %s (a table of counts expected; chart.hist and "
         .. "chart.timeline draw numbers and times)", type(x))
  end
  return M.bars(x, ctx.opts)
end)

setmetatable(M, { __call = function(_, ...) return M.show(...) end })
-- }======

return M
