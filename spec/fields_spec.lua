-- spec/fields_spec.lua -- v:fields(sep, col... [, fmt]): per line, the
-- selected columns, against a model built with the string library.
local H = require "spec.helpers"
local tome = require "tome"

local function model(s, sep, cols, fmt)
  local rows = {}
  for _, l in ipairs(H.lines_model(s, false, 1)) do
    local fs, row = H.fields_model(l[1], sep), { n = #cols }
    for c, col in ipairs(cols) do
      local k = col > 0 and col or #fs + col + 1
      local f = k >= 1 and fs[k] or nil
      if f == nil then row[c] = false
      elseif fmt == "n" then row[c] = tonumber(f) or false
      else row[c] = f end
    end
    rows[#rows + 1] = row
  end
  return rows
end

local function collect(v, sep, cols, fmt)
  local rows = {}
  local args = { table.unpack(cols) }
  if fmt then args[#args + 1] = fmt end
  local it = v:fields(sep, table.unpack(args))
  while true do
    local r = table.pack(it())
    if r[1] == nil then break end
    if fmt == "v" then
      for k = 1, r.n do
        if r[k] then r[k] = r[k]:sub(1, -1) end
      end
    end
    rows[#rows + 1] = r
  end
  return rows
end

local function same_rows(got, want, what)
  assert(#got == #want, ("%s: %d rows, want %d  [TOME_SEED=%d]"):format(
    what, #got, #want, H.seed))
  for i = 1, #want do
    for c = 1, want[i].n do
      local g, w = got[i][c], want[i][c]
      if not (g == w or (g ~= g and w ~= w)) or math.type(g) ~= math.type(w)
      then
        error(("%s: row %d col %d: got %s (%s), want %s (%s)  "
          .. "[TOME_SEED=%d]"):format(what, i, c, tostring(g),
          math.type(g) or type(g), tostring(w), math.type(w) or type(w),
          H.seed), 2)
      end
    end
  end
end

describe("fields", function()
  after_each(H.cleanup)

  it("splits on runs of blanks for ' ', as awk does", function()
    local s = "a b  c\n\t1 2.5  -3 x \n\n   \nlast\n12 0x1F 1e3 .5 5. - +7"
    local v = tome.wrap(s)
    for _, cols in ipairs { { 1 }, { 2 }, { 1, 3 }, { -1 }, { -2, 1 },
                            { 5 }, { 3, -1, 2 } } do
      for _, fmt in ipairs { false, "l", "n", "v" } do
        same_rows(collect(v, " ", cols, fmt or nil),
          model(s, " ", cols, fmt ~= "v" and fmt or "l"),
          ("cols %s fmt %s"):format(table.concat(cols, ","), tostring(fmt)))
      end
    end
  end)

  it("splits on a plain separator: k separators give k + 1 fields",
    function()
    local s = "id,amount,x\n1,2.50,\n,,\n3,-4,z,extra\nno sep\n7,1e2,q"
    local v = tome.wrap(s)
    for _, sep in ipairs { ",", ",,", "e" } do
      for _, cols in ipairs { { 1 }, { 2 }, { 3 }, { -1 }, { 2, 1, -2 } } do
        for _, fmt in ipairs { "l", "n" } do
          same_rows(collect(v, sep, cols, fmt), model(s, sep, cols, fmt),
            ("sep %q cols %s fmt %s"):format(sep, table.concat(cols, ","),
              fmt))
        end
      end
    end
  end)

  it("converts numbers exactly as tonumber does", function()
    local r = H.rng("fields numbers")
    local parts = {}
    for i = 1, 3000 do
      local kind = r:int(1, 6)
      local x
      if kind == 1 then x = tostring(r:int(-10 ^ 15, 10 ^ 15))
      elseif kind == 2 then
        x = ("%d.%0" .. r:int(1, 9) .. "d"):format(r:int(-99999, 99999),
          r:int(0, 999999999) % 10 ^ r:int(1, 9))
      elseif kind == 3 then x = ("%.17g"):format(r:int(1, 10 ^ 9) / 7)
      elseif kind == 4 then x = r:from("0123456789.-+eExX ", r:int(1, 8))
      elseif kind == 5 then x = tostring(r:int(0, 99)) .. "." .. tostring(
        r:int(0, 10 ^ 12))
      else x = ("9"):rep(r:int(15, 21)) end
      parts[i] = x:gsub("[,\n]", "")
    end
    local s = table.concat(parts, "\n")
    same_rows(collect(tome.wrap(s), ",", { 1 }, "n"),
      model(s, ",", { 1 }, "n"), "numbers")
  end)

  it("agrees with the model on random data, through pread windows too",
    function()
    local r = H.rng("fields random")
    local s = r:from("ab1. ,\t\n", 6000)
    local path = H.tmpfile(s)
    local m = assert(tome.open(path))
    local old_min, old_block = tome._tune(0, 61)
    local ok, err = pcall(function()
      for _ = 1, 20 do
        local sep = r:pick { " ", ",", ", ", "." }
        local cols = {}
        for c = 1, r:int(1, 4) do
          cols[c] = r:int(-4, 5)
          if cols[c] == 0 then cols[c] = 1 end
        end
        local fmt = r:pick { "l", "n", "v" }
        same_rows(collect(m, sep, cols, fmt),
          model(s, sep, cols, fmt == "v" and "l" or fmt),
          ("sep %q cols %s fmt %s"):format(sep, table.concat(cols, ","), fmt))
      end
    end)
    tome._tune(old_min, old_block)
    m:close()
    assert(ok, err)
  end)

  it("works on views, and yields views of the map", function()
    local m = tome.wrap("skip me\nx 1 y\nz 2 w\n")
    local v = m:view(9)
    local got = {}
    for a, b in v:fields(" ", 3, 2, "v") do
      got[#got + 1] = { a:sub(1, -1), b:offset() }
    end
    assert.are.same({ { "y", 11 }, { "w", 17 } }, got)
  end)

  it("checks its arguments", function()
    local m = tome.wrap("a\n")
    H.raises("empty separator", m.fields, m, "", 1)
    H.raises("column number expected", m.fields, m, " ")
    H.raises("column out of range", m.fields, m, " ", 0)
    H.raises("invalid option 'x'", m.fields, m, " ", 1, "x")
    H.raises("too many columns", m.fields, m, " ", 1, 2, 3, 4, 5, 6, 7, 8,
      9, 10, 11, 12, 13, 14, 15, 16, 17)
    m:close()
    H.raises("attempt to use a closed map", m.fields, m, " ", 1)
  end)
end)
