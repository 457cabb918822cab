-- spec/tally_spec.lua -- v:tally([sep, col]): how often each value of a
-- column (or each whole line) occurs, against a model built with the
-- string library (io.lines' split, awk's blanks or string.find plain).
local H = require "spec.helpers"
local tome = require "tome"

-- what v:tally(sep, col) should give for the bytes s (sep nil: lines)
local function model(s, sep, col)
  local t = {}
  for _, l in ipairs(H.lines_model(s, false, 1)) do
    local key = l[1]
    if sep then
      local fs = H.fields_model(l[1], sep)
      local k = col > 0 and col or #fs + col + 1
      -- negative columns see the first 1024 fields only, as v:fields
      key = k >= 1 and (col > 0 or k <= 1024) and fs[k] or nil
    end
    if key then t[key] = (t[key] or 0) + 1 end
  end
  return t
end

local function same_counts(got, want, what)
  for k, n in pairs(want) do
    if got[k] ~= n or math.type(got[k]) ~= "integer" then
      error(("%s: %q counted %s, want %d  [TOME_SEED=%d]"):format(what, k,
        tostring(got[k]), n, H.seed), 2)
    end
  end
  for k, n in pairs(got) do
    if want[k] == nil then
      error(("%s: %q counted %s, want none  [TOME_SEED=%d]"):format(what, k,
        tostring(n), H.seed), 2)
    end
  end
end

describe("tally", function()
  after_each(H.cleanup)

  it("counts whole lines as io.lines splits them", function()
    for _, s in ipairs { "", "\n", "a", "a\nb\na", "a\nb\na\n", "\n\n\nx\n",
                         "x\r\nx\nx\r\n", "\0\n\0\n" } do
      same_counts(tome.wrap(s):tally(), model(s), ("lines of %q"):format(s))
    end
  end)

  it("counts a column split as fields splits it", function()
    local s = "a b  c\n\t1 2.5  -3 x \n\n   \nlast\n12 0x1F 1e3 .5 5. - +7" ..
              "\nid,amount,x\n1,2.50,\n,,\n3,-4,z,extra\nno sep\n7,1e2,q"
    local v = tome.wrap(s)
    for _, sep in ipairs { " ", ",", ",,", "e", "\t" } do
      for _, col in ipairs { 1, 2, 3, 5, -1, -2, -4 } do
        same_counts(v:tally(sep, col), model(s, sep, col),
          ("sep %q col %d"):format(sep, col))
      end
    end
  end)

  it("agrees with the model on random text, maps and views", function()
    local r = H.rng("tally random")
    for round = 1, 12 do
      local parts = {}
      for i = 1, r:int(0, 3000) do
        parts[i] = r:from(round % 2 == 0 and "ab ,\t" or "abc,  ;;\n",
                          r:int(0, 12))
      end
      local s = table.concat(parts, r:from("\n\n,", 1))
      local p = H.tmpfile(s)
      for _, sub in ipairs(H.subjects(r, s, p)) do
        same_counts(sub.v:tally(), model(sub.s), sub.name .. " lines")
        for _, sep in ipairs { " ", ",", ";;" } do
          local col = r:int(1, 2) == 1 and r:int(1, 4) or -r:int(1, 4)
          same_counts(sub.v:tally(sep, col), model(sub.s, sep, col),
            ("%s sep %q col %d"):format(sub.name, sep, col))
        end
      end
    end
  end)

  it("keeps long keys apart and counts many distinct ones", function()
    local parts, want = {}, {}
    for i = 1, 20000 do
      local key = ("k%d"):format(i % 7001) .. ("x"):rep(i % 40)
      parts[i] = "f " .. key
      want[key] = (want[key] or 0) + 1
    end
    local s = table.concat(parts, "\n")
    same_counts(tome.wrap(s):tally(" ", 2), want, "distinct keys")
  end)

  it("reads large files through the pread and the mapped paths", function()
    local r = H.rng("tally paths")
    local parts = {}
    for i = 1, 20000 do
      parts[i] = ("%d.%d %s"):format(r:int(1, 50), r:int(1, 9),
                                     r:from("xyz", r:int(0, 30)))
    end
    local s = table.concat(parts, "\n") .. "\n"
    local p = H.tmpfile(s)
    local want1, want2 = model(s, " ", 1), model(s, " ", -1)
    for _, tune in ipairs { { 1, 4096, 0 }, { 1, 100, 0 }, { 1, 4096, 8192 } } do
      local old = { tome._tune(table.unpack(tune)) }
      local m <close> = assert(tome.open(p))
      local ok, err = pcall(function()
        same_counts(m:tally(" ", 1), want1, "pread/steps col 1")
        same_counts(m:tally(" ", -1), want2, "pread/steps col -1")
        same_counts(m:view(7, -9):tally(), model(s:sub(7, -9)), "view lines")
      end)
      tome._tune(table.unpack(old))
      assert(ok, err)
    end
  end)

  it("merges across tome.parallel workers", function()
    local parts = {}
    for i = 1, 50000 do parts[i] = ("%d %d"):format(i % 97, i % 13) end
    local s = table.concat(parts, "\n")
    local p = H.tmpfile(s)
    local got = tome.parallel(p, function(v) return v:tally(" ", 1) end,
      { workers = 2, chunks = 7, reduce = function(a, b)
        for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
        return a
      end })
    same_counts(got, model(s, " ", 1), "parallel")
  end)

  it("checks its arguments", function()
    local v = tome.wrap("a b\n")
    assert.has_error(function() v:tally("", 1) end,
      "bad argument #1 to 'tally' (empty separator)")
    assert.has_error(function() v:tally(" ") end,
      "bad argument #2 to 'tally' (number expected, got no value)")
    assert.has_error(function() v:tally(" ", 0) end,
      "bad argument #2 to 'tally' (column out of range)")
    assert.has_error(function() v:tally(" ", 1025) end,
      "bad argument #2 to 'tally' (column out of range)")
    local m = tome.wrap("x")
    m:close()
    assert.has_error(function() m:tally() end, "attempt to use a closed map")
  end)
end)
