-- spec/records_spec.lua -- v:csv and v:jsonl, against Python's csv and
-- json modules on the same random bytes (every field equal), in memory
-- and through the pread path with tiny windows; the options, the errors,
-- and tome.parallel cutting CSV only between records.

local H = require "spec.helpers"
local q = H.shell_quote
local cjson_ok, cjson = pcall(require, "cjson")

local PY = H.have("python3")

-- A random CSV text: plain, empty and quoted fields holding separators,
-- quotes, LF and CRLF; CRLF or LF line ends; an empty line now and then;
-- text after a closing quote and quotes inside unquoted fields (read as
-- Python reads them, strict=False).
local function random_csv(r, sep, rows)
  local alpha = { "a", "b", "x", "1", "2", ".", " ", "é" }
  local function plain()
    local t = {}
    for i = 1, r:int(0, 6) do t[i] = alpha[r:int(1, #alpha)] end
    return table.concat(t)
  end
  local function field()
    local k = r:int(1, 10)
    if k <= 4 then return plain() end
    if k == 5 then return "" end
    if k == 6 then return plain() .. '"' .. plain() end    -- a quote inside
    local inner = {}
    for i = 1, r:int(0, 5) do
      inner[i] = ({ plain(), sep, '""', "\n", "\r\n", "," , "\t" })[r:int(1, 7)]
    end
    local f = '"' .. table.concat(inner) .. '"'
    if k == 10 then f = f .. plain():gsub('"', "") end        -- text after
    return f
  end
  local out = {}
  for i = 1, rows do
    if r:chance(0.05) then
      out[i] = ""
    else
      local fs = {}
      for k = 1, r:int(1, 6) do fs[k] = field() end
      out[i] = table.concat(fs, sep)
    end
    out[i] = out[i] .. (r:chance(0.5) and "\r\n" or "\n")
  end
  if r:chance(0.5) then out[#out] = out[#out]:gsub("\r?\n$", "") end
  return table.concat(out)
end

-- Python's rows of a file, through JSON.
local function python_csv(path, sep)
  local py = ("import csv, json, sys\n" ..
    "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='latin-1'), " ..
    "delimiter='%s'))\n" ..
    "sys.stdout.write(json.dumps(rows))\n"):format(sep == "\t" and "\\t" or sep)
  local out, err, code = H.sh("python3 -c " .. q(py) .. " " .. q(path))
  assert(code == 0, err)
  -- latin-1 in, \u escapes out: back to the same bytes
  local rows = cjson.decode(out)
  for _, row in ipairs(rows) do
    for k, f in ipairs(row) do
      row[k] = f:gsub("[\192-\255][\128-\191]", function(c)
        local cp = utf8.codepoint(c)
        return cp < 256 and string.char(cp) or c
      end)
    end
  end
  return rows
end

local function tome_rows(m, opts)
  local rows = {}
  for r in m:csv(opts) do rows[#rows + 1] = r end
  return rows
end

local function same_rows(want, got, seed)
  assert.are.equal(#want, #got, "rows, seed " .. seed)
  for i = 1, #want do
    assert.are.equal(#want[i], #got[i], ("fields of row %d, seed %s"):format(i, seed))
    for k = 1, #want[i] do
      assert.are.equal(want[i][k], got[i][k], ("row %d field %d, seed %s"):format(i, k, seed))
    end
  end
end

describe("v:csv", function()
  after_each(H.cleanup)

  it("reads what Python's csv module reads, field for field", function()
    if not (PY and cjson_ok) then pending("python3 or lua-cjson missing") return end
    for round = 1, 12 do
      local r = H.rng("csv" .. round)
      local sep = round % 3 == 0 and "\t" or ","
      local text = random_csv(r, sep, r:int(1, 300))
      local path = H.tmpfile(text)
      local want = python_csv(path, sep)
      local m = assert(tome.open(path))
      same_rows(want, tome_rows(m, { sep = sep, strict = false }), H.seed)
      -- through pread in tiny windows, and on a view that is a copy
      local old_min, old_block = tome._tune(0, 7)
      local ok, e = pcall(function()
        same_rows(want, tome_rows(assert(tome.open(path)), { sep = sep, strict = false }),
                  H.seed)
      end)
      tome._tune(old_min, old_block)
      assert(ok, e)
      same_rows(want, tome_rows(tome.wrap(text), { sep = sep, strict = false }), H.seed)
      m:close()
    end
  end)

  it("gives the record's start as the second value", function()
    local text = 'a,b\n"x\ny",z\r\nlast'
    local got = {}
    for r, pos in tome.wrap(text):csv() do got[#got + 1] = pos .. ":" .. r[1] end
    assert.are.same({ "1:a", "5:x\ny", "14:last" }, got)
    -- an empty line is a record without fields, as in Python
    local n = {}
    for r in tome.wrap("a\n\nb\n"):csv() do n[#n + 1] = #r end
    assert.are.same({ 1, 0, 1 }, n)
  end)

  it("names fields with opts.header", function()
    local m = tome.wrap('id,total,note\n1,10,"x, y"\n2,32,\n')
    local got = {}
    for r in m:csv { header = true } do
      got[#got + 1] = r.id .. "=" .. r.total .. "=" .. r.note .. "=" .. r[2] .. "=" .. #r
    end
    assert.are.same({ "1=10=x, y=10=3", "2=32==32=3" }, got)
  end)

  it("returns the columns asked for as values, as numbers with format n", function()
    local m = tome.wrap('id,total,note\n1,10.5,"a,b"\n2,x\n3,7,z\n')
    local got = {}
    for note, id, total in m:csv { header = true, columns = { "note", 1, "total" } } do
      got[#got + 1] = tostring(note) .. "|" .. id .. "|" .. tostring(total)
    end
    assert.are.same({ "a,b|1|10.5", "false|2|x", "z|3|7" }, got)
    got = {}
    for total, id in m:csv { header = true, columns = { 2, 1 }, format = "n" } do
      got[#got + 1] = tostring(total) .. "|" .. tostring(id)
    end
    -- not a number: false, so that the loop goes on
    assert.are.same({ "10.5|1", "false|2", "7|3" }, got)
  end)

  it("raises on an unterminated quote with its line and byte, unless strict = false", function()
    local m = tome.wrap('a,b\nc,"d\ne,f\n')
    local ok, e = pcall(function() for _ in m:csv() do end end)
    assert.is_false(ok)
    assert.matches("csv: unterminated quoted field at line 2 %(the quote is at byte 7%)", e)
    local last
    for r in m:csv { strict = false } do last = r end
    assert.are.same({ "c", "d\ne,f\n" }, last)
  end)

  it("checks its options", function()
    local m = tome.wrap("a\n")
    assert.matches("unknown option 'colums'", select(2, pcall(m.csv, m, { colums = { 1 } })))
    assert.matches("opts.sep must be one byte", select(2, pcall(m.csv, m, { sep = ";;" })))
    assert.matches("opts.sep must be one byte", select(2, pcall(m.csv, m, { sep = '"' })))
    assert.matches("names need opts.header", select(2, pcall(m.csv, m, { columns = { "x" } })))
    assert.matches("opts.header must be a boolean", select(2, pcall(m.csv, m, { header = 1 })))
    assert.matches("invalid option 'x'", select(2, pcall(m.csv, m, { format = "x" })))
    local ok, e = pcall(function()
      for _ in tome.wrap("a,b\n1,2\n"):csv { header = true, columns = { "c" } } do end
    end)
    assert.is_false(ok)
    assert.matches("no column named in opts.columns%[1%]", e)
    local c = tome.wrap("a\n")
    c:close()
    assert.matches("attempt to use a closed map", select(2, pcall(c.csv, c)))
  end)
end)

describe("v:jsonl", function()
  after_each(H.cleanup)

  it("decodes what Python's json module decodes, line by line", function()
    if not (PY and cjson_ok) then pending("python3 or lua-cjson missing") return end
    local r = H.rng("jsonl")
    local lines = {}
    local function value(depth)
      local k = r:int(1, depth > 2 and 4 or 6)
      if k == 1 then return tostring(r:int(-1000, 1000)) end
      if k == 2 then return ('"s%d\\n\\"\\u00e9"'):format(r:int(0, 99)) end
      if k == 3 then return ({ "true", "false", "null" })[r:int(1, 3)] end
      if k == 4 then return ("%d.%d"):format(r:int(0, 99), r:int(0, 99)) end
      local t = {}
      for i = 1, r:int(0, 4) do
        t[i] = k == 5 and value(depth + 1) or ('"k%d": %s'):format(i, value(depth + 1))
      end
      return k == 5 and "[" .. table.concat(t, ",") .. "]" or "{" .. table.concat(t, ", ") .. "}"
    end
    for i = 1, 400 do lines[i] = r:chance(0.03) and "" or value(0) end
    local path = H.tmpfile(table.concat(lines, "\n") .. "\n")
    -- Python's values, one line each, read back with cjson: the same
    -- Lua values as ours (numbers compared as numbers)
    local py = "import json, sys\n" ..
      "for l in open(sys.argv[1]):\n" ..
      "  if l.strip(): print(json.dumps(json.loads(l)))\n"
    local want = {}
    for l in H.sh("python3 -c " .. q(py) .. " " .. q(path)):gmatch("[^\n]+") do
      want[#want + 1] = cjson.decode(l)
    end
    local got = {}
    for v, n in tome.open(path):jsonl() do got[#got + 1] = { v = v, n = n } end
    local function same(a, b, where)
      assert.are.equal(type(a), type(b), where)
      if type(a) == "table" then
        for k, x in pairs(a) do same(x, b[k], where .. "." .. tostring(k)) end
        for k in pairs(b) do assert.is_not_nil(a[k], where .. "." .. tostring(k)) end
      elseif type(a) == "number" then
        assert.is_true(a == b, where)
      else
        assert.are.equal(a, b, where)
      end
    end
    assert.are.equal(#want, #got)
    for i = 1, #want do same(want[i], got[i].v, "line " .. got[i].n) end
    -- line numbers count the blank lines too
    local n = 0
    for i, l in ipairs(lines) do
      if l ~= "" then n = n + 1; assert.are.equal(i, got[n].n) end
    end
  end)

  it("raises on a bad line with its number, or yields false, why, n", function()
    local m = tome.wrap('{"a":1}\n\n{"a":\n[2]\n')
    local ok, e = pcall(function() for _ in m:jsonl() do end end)
    assert.is_false(ok)
    assert.matches("jsonl: line 3: ", e)
    local seen = {}
    for v, why, n in m:jsonl { strict = false } do
      seen[#seen + 1] = v and ("ok:" .. why) or ("bad:" .. n .. ":" .. type(why))
    end
    assert.are.same({ "ok:1", "bad:3:string", "ok:4" }, seen)
    assert.matches("unknown option 'strikt'", select(2, pcall(m.jsonl, m, { strikt = false })))
  end)
end)

describe("tome.parallel over CSV", function()
  after_each(H.cleanup)

  it("with opts.quote, cuts chunks only between records", function()
    -- records whose quoted fields hold many newlines: any cut after a
    -- newline inside one would split a record
    local r = H.rng("pcsv")
    local rows, sum = {}, 0
    for i = 1, 3000 do
      local v = r:int(1, 1000)
      sum = sum + v
      rows[i] = ('%d,"line one\nline two\n""quoted""\n",%d'):format(i, v)
    end
    local m = tome.wrap(table.concat(rows, "\n") .. "\n")
    local function total(view)
      local s, n = 0, 0
      for _, v in view:csv { columns = { 1, 3 }, format = "n" } do
        s = s + v
        n = n + 1
      end
      return { s = s, n = n }
    end
    for _, workers in ipairs { 1, 2, 3 } do
      local got = tome.parallel(m, total, { workers = workers, chunks = 37, quote = '"',
        reduce = function(a, b) return { s = a.s + b.s, n = a.n + b.n } end })
      assert.are.equal(sum, got.s)
      assert.are.equal(3000, got.n)
    end
    -- without it, chunks cut inside quotes and records break
    local ok = pcall(tome.parallel, m, total, { workers = 2, chunks = 37,
      reduce = function(a, b) return { s = a.s + b.s, n = a.n + b.n } end })
    assert.is_false(ok)
    assert.matches("opts.quote must be one character",
                   select(2, pcall(tome.parallel, m, total, { quote = "''" })))
  end)

  it("tells how to pass data when the function captures a local", function()
    local x = 1
    local ok, e = pcall(tome.parallel, tome.wrap("a\n"), function() return x end)
    assert.is_false(ok)
    assert.matches("pass data with opts.arg", e)
    assert.matches("see neither this state's locals nor its globals", e)
  end)
end)
