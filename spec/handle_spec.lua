-- spec/handle_spec.lua -- a map (or view) as a file handle: read, seek,
-- write at the cursor, close, <close>.  The oracle is io.open on the same
-- bytes: the same sequence of calls must give the same results.

local H = require "spec.helpers"
local tome = H.tome

-- the outcome of a seek: the position, or (nil, errno) on failure; the
-- message only has to be a string
local function seek_outcome(res, what)
  if res[1] == nil then
    assert(type(res[2]) == "string", what .. ": seek failed without message")
    return table.pack(nil, res[3])
  end
  return table.pack(res[1])
end

local number_tokens = { "12", "-3", "+7", "0x1F", "0X1f", "1e5", "1E+2",
  "3.25", ".5", "5.", "0x.8p1", "0x1P-2", "1e", "0x", "-", "+", ".", "e5",
  "inf", "nan", "12abc", "99999999999999999999", "9223372036854775807",
  "9223372036854775808", "-0", "0x7fffffffffffffff", "1..2", "--1",
  " ", "  ", "\t", "\n", "\r\n", "\v", "abc", "x", "\0", "1\0", "00012",
  ("1"):rep(210) }

local function numeric_text(r, n)
  local t = {}
  for k = 1, n do t[k] = r:pick(number_tokens) end
  return table.concat(t)
end

local function random_format(r, size)
  local k = r:int(1, 9)
  if k == 1 then return "l"
  elseif k == 2 then return "L"
  elseif k == 3 then return "n"
  elseif k == 4 then return r:chance(0.8) and "a" or "n"
  elseif k == 5 then return 0
  elseif k == 6 then return r:int(1, 5)
  elseif k == 7 then return r:int(1, size + 2)
  elseif k == 8 then return r:pick { 4095, 4096, 4097, size + 100 }
  else return r:pick { "l", "L" } end
end

-- Replay random reads and seeks on a tome handle and on a file opened by
-- io.open holding the same bytes.
local function differential(r, v, path, steps, what)
  local f = assert(io.open(path, "rb"))
  local size = H.filesize(path)
  for step = 1, steps do
    local ctx = ("%s, step %d"):format(what, step)
    if r:chance(0.25) then
      local whence = r:pick { "set", "cur", "end" }
      local off = r:chance(0.8) and r:int(-size - 3, size + 3) or nil
      if r:chance(0.1) then whence, off = nil, nil end
      local got, want
      if whence == nil then
        got, want = table.pack(v:seek()), table.pack(f:seek())
      else
        got = table.pack(v:seek(whence, off))
        want = table.pack(f:seek(whence, off))
      end
      ctx = ("%s: seek(%s, %s)"):format(ctx, tostring(whence), tostring(off))
      H.same(seek_outcome(got, ctx), seek_outcome(want, ctx), ctx)
    else
      local fmts = {}
      for k = 1, r:int(1, 3) do fmts[k] = random_format(r, size) end
      local shown = {}
      for k, x in ipairs(fmts) do shown[k] = string.format("%q", x) end
      ctx = ("%s: read(%s)"):format(ctx, table.concat(shown, ", "))
      H.same(table.pack(v:read(table.unpack(fmts))),
             table.pack(f:read(table.unpack(fmts))), ctx)
    end
    H.same(table.pack(v:seek()), table.pack(f:seek()), ctx .. ", then seek()")
  end
  f:close()
end

describe("read and seek", function()
  teardown(H.cleanup)

  for _, fx in ipairs(H.fixtures()) do
    if #fx.bytes < 100000 then
      it("behave as file:read / file:seek on " .. fx.name, function()
        local r = H.rng("handle " .. fx.name)
        local p = H.tmpfile(fx.bytes)
        differential(r, assert(tome.open(p)), p, 60, "map")
        differential(r, tome.wrap(fx.bytes), p, 60, "wrap")
        -- a view: compared with a file holding the view's bytes
        local m = assert(tome.open(p))
        for _ = 1, 2 do
          local i, j = r:index(#fx.bytes), r:index(#fx.bytes)
          local vp = H.tmpfile(fx.bytes:sub(i, j))
          differential(r, m:view(i, j), vp, 40,
            ("view(%d, %d)"):format(i, j))
        end
      end)
    end
  end

  it("read a 1 MB line as file:read does", function()
    local r = H.rng("handle 1MB")
    local fx
    for _, x in ipairs(H.fixtures()) do
      if x.name == "1 MB line" then fx = x end
    end
    local p = H.tmpfile(fx.bytes)
    local m = assert(tome.open(p))
    local f = assert(io.open(p, "rb"))
    for _, fmts in ipairs { { "l" }, { "l" }, { "l" } } do
      H.same(table.pack(m:read(table.unpack(fmts))),
             table.pack(f:read(table.unpack(fmts))), "1 MB line")
    end
    m:seek("set", 10)
    f:seek("set", 10)
    H.same(table.pack(m:read("L", 5, "a")), table.pack(f:read("L", 5, "a")),
      "1 MB line, read(L, 5, a)")
    m:seek("set", 0)
    differential(r, m, p, 20, "1 MB map")
    f:close()
  end)

  it("read numbers (\"n\") as file:read does", function()
    local r = H.rng("handle numbers")
    for trial = 1, 12 do
      local text = numeric_text(r, r:int(1, 60))
      local p = H.tmpfile(text)
      local m = assert(tome.open(p))
      local f = assert(io.open(p, "rb"))
      for step = 1, 80 do
        local fmt = r:chance(0.8) and "n" or r:pick { "l", 1, "n", "n" }
        local what = ("numbers %d (%q), step %d: read(%q)"):format(trial,
          text, step, fmt)
        H.same(table.pack(m:read(fmt)), table.pack(f:read(fmt)), what)
        H.same(table.pack(m:seek()), table.pack(f:seek()), what .. " seek()")
      end
      f:close()
    end
  end)

  it("reads numbers at the very end of a view", function()
    local m = tome.wrap("123456 789")
    local v = m:view(1, 3)           -- "123", followed by more digits
    assert.equal(123, v:read("n"))
    assert.is_nil(v:read("n"))
    assert.equal(12, m:view(1, 2):read("n"))
    local w = m:view(5, 9)           -- "56 78"
    assert.same({ 56, 78 }, { w:read("n", "n") })
    local x = tome.wrap("0x10 2.5 -7 999"):view(1, 11)
    assert.same({ 16, 2.5, -7 }, { x:read("n", "n", "n") })
    assert.equal("integer", math.type(tome.wrap("16"):read("n")))
    assert.equal("float", math.type(tome.wrap("16.0"):read("n")))
  end)

  it("reads with several formats and stops at the first failure", function()
    local v = tome.wrap("one\ntwo\n3 rest")
    assert.same({ "one", "two\n", 3, " r" }, { v:read("l", "L", "n", 2) })
    assert.same({ "est" }, { v:read("a") })
    local t = table.pack(v:read("l", "l"))
    assert.equal(1, t.n)
    assert.is_nil(t[1])
    assert.equal("", v:read("a"))
    assert.is_nil(v:read(0))
    assert.is_nil(v:read(1))
    v:seek("set", 0)
    assert.equal("", v:read(0))
    assert.equal("one", v:read())    -- default "l"
    -- a huge count reads what is there (file:read would try to allocate it)
    assert.equal("two\n3 rest", v:read(1 << 40))
    v:seek("set", 4)
    assert.equal("two\n3 rest", v:read(math.maxinteger))
  end)

  it("seeks as file:seek does (0-based, beyond the end allowed)", function()
    local v = tome.wrap("0123456789")
    assert.equal(0, v:seek())
    assert.equal(10, v:seek("end"))
    assert.equal(3, v:seek("set", 3))
    assert.equal(5, v:seek("cur", 2))
    assert.equal("5", v:read(1))
    assert.equal(20, v:seek("set", 20))
    assert.equal("", v:read("a"))
    assert.is_nil(v:read("l"))
    assert.equal(20, v:seek("cur"))
    assert.equal(8, v:seek("end", -2))
    local got = table.pack(v:seek("set", -1))
    assert.is_nil(got[1])
    assert.is_string(got[2])
    assert.equal(22, got[3])           -- EINVAL, as file:seek
    assert.equal(8, v:seek())          -- a failed seek does not move
    got = table.pack(v:seek("cur", -9))
    assert.is_nil(got[1])
    assert.is_nil(v:seek("end", math.mininteger))
    assert.equal(5, v:seek("set", 5))
    assert.is_nil(v:seek("cur", math.maxinteger))   -- no wrap-around
    assert.equal(5, v:seek())
    H.raises("bad argument #1 to 'seek'", function() v:seek("middle") end)
    H.raises("bad argument #2 to 'seek'", function() v:seek("set", "x") end)
  end)

  it("keeps one cursor per map and per view", function()
    local m = tome.wrap("abcdef\nghij\n")
    local v1 = m:view(3)
    local v2 = m:view(3)
    assert.equal("ab", m:read(2))
    assert.equal("cd", v1:read(2))
    assert.equal("cdef", v2:read("l"))
    assert.equal("cd", m:read(2))
    assert.equal("ef", v1:read("l"))
    assert.equal(2, m:seek("set", 2))
    assert.equal(4, v1:seek("cur", -1))
    assert.equal(5, v2:seek())
    local w = m:view(8)
    assert.equal(0, w:seek())
    assert.equal("ghij\n", w:read("a"))
    -- lines() does not move a cursor
    for _ in m:lines() do end
    assert.equal(2, m:seek())
  end)

  it("rejects bad formats as file:read does", function()
    local v = tome.wrap("abc")
    local f = io.tmpfile()
    for _, fmt in ipairs { "x", "*x", {}, true } do
      -- not tail calls, so that the error names the method
      local want = H.error_of(function() local _ = f:read(fmt) end)
      local got = H.error_of(function() local _ = v:read(fmt) end)
      assert.truthy(got:find("bad argument #1 to 'read'", 1, true), got)
      assert.truthy(want:find("bad argument #1 to 'read'", 1, true), want)
    end
    f:close()
  end)
end)

describe("write at the cursor", function()
  teardown(H.cleanup)

  -- random writes that stay inside the map, applied to a tome map and to
  -- a copy of the file opened with io.open(..., "r+b")
  it("writes what file:write writes", function()
    local r = H.rng("write differential")
    for trial = 1, 8 do
      local size = r:pick { 1, 10, 100, 4096, 5000 }
      local bytes = r:bytes(size)
      local p, copy = H.tmpfile(bytes), H.tmpfile(bytes)
      local m = assert(tome.open(p, "r+"))
      local f = assert(io.open(copy, "r+b"))
      for step = 1, 40 do
        local pos = r:int(0, size)
        assert.equal(pos, m:seek("set", pos))
        assert.equal(pos, f:seek("set", pos))
        local args, text = {}, {}
        for k = 1, r:int(1, 3) do
          local a = r:pick { "s", "s", "i", "f" }
          if a == "s" then a = r:bytes(r:int(0, 6))
          elseif a == "i" then
            a = r:pick { 0, 7, -12, math.maxinteger, math.mininteger }
          else
            a = r:pick { 1.0, 0.5, -2.25, 1e100, 2.0 ^ 63, 1 / 3, -0.0 }
          end
          args[k] = a
          text[k] = type(a) == "number" and H.num2str(a) or a
        end
        local all = table.concat(text)
        local what = ("trial %d step %d: write at %d of %d bytes"):format(
          trial, step, pos, #all)
        if pos + #all > size then
          H.raises("resize", function() m:write(table.unpack(args)) end)
          break
        end
        assert.equal(m, m:write(table.unpack(args)), what)
        assert(f:write(table.unpack(args)))
        H.same(table.pack(m:seek()), table.pack(f:seek()), what)
      end
      f:close()
      local want = H.readfile(copy)
      if m:sub(1, -1) ~= want then
        error(("trial %d: map differs from file:write  [TOME_SEED=%d]")
          :format(trial, H.seed))
      end
      assert.is_true(m:close())
      assert.equal(want, H.readfile(p))
    end
  end)

  it("formats numbers as file:write does", function()
    for _, x in ipairs { 1.0, 0.1, -0.0, 1e300, 2.0 ^ 53, 123456789012345.0,
                         42, -1, math.maxinteger, math.mininteger } do
      local want = H.num2str(x)
      local w = tome.wrap((" "):rep(40))
      w:write(x)
      assert.equal(want, w:sub(1, #want))
      assert.equal(#want, w:seek())
    end
  end)

  it("writes views and returns the handle", function()
    local w = tome.wrap("..........")
    local src = tome.wrap("hello")
    assert.equal(w, w:write("ab", 1, src:view(2, 3)))
    assert.equal("ab1el.....", w:sub(1, -1))
    local v = w:view(6, 8)
    assert.equal(v, v:write("XY"))
    assert.equal("ab1elXY...", w:sub(1, -1))
    assert.equal(2, v:seek())
    H.raises("resize", function() v:write("123") end)
    assert.equal(".", w:sub(9, 9))    -- nothing written past the view
    H.raises("bad argument #1 to 'write'", function() w:write({}) end)
  end)

  it("refuses to write past the end", function()
    local w = tome.wrap("abc")
    w:seek("set", 3)
    H.raises("resize", function() w:write("x") end)
    w:seek("set", 100)
    H.raises("resize", function() w:write("x") end)
    assert.equal("abc", w:sub(1, -1))
    w:seek("set", 3)
    assert.equal(w, w:write(""))      -- nothing to write: fine
  end)

  it("refuses to write to a read-only map", function()
    local m = assert(tome.open(H.tmpfile("read only")))
    H.raises("read-only", function() m:write("x") end)
    H.raises("read-only", function() m:view(2):write("x") end)
    assert.equal("read only", m:sub(1, -1))
  end)
end)

describe("close", function()
  teardown(H.cleanup)

  it("returns true and may be called twice", function()
    local m = assert(tome.open(H.tmpfile("abc")))
    assert.is_true(m:close())
    assert.equal("closed map", tome.type(m))
    assert.is_true(m:close())
    local w = tome.wrap("x")
    assert.is_true(w:close())
    assert.is_true(w:close())
  end)

  it("of a view drops only the view", function()
    local m = tome.wrap("abcdef")
    local v = m:view(2, 4)
    v:close()
    assert.equal("map", tome.type(m))
    assert.equal("abcdef", m:sub(1, -1))
    assert.equal("cd", m:view(3, 4):sub(1, -1))
  end)

  it("happens at the end of a <close> block", function()
    local p = H.tmpfile("to be closed\n")
    local saved, sv
    do
      local m <close> = assert(tome.open(p))
      saved, sv = m, m:view(1, 2)
      assert.equal("to", sv:sub(1, -1))
    end
    assert.equal("closed map", tome.type(saved))
    H.raises("attempt to use a closed map", function() return saved:sub(1) end)
    H.raises("attempt to use a closed map", function() return sv:sub(1) end)
    -- also on the way out of an error
    local ok = pcall(function()
      local m <close> = assert(tome.open(p))
      saved = m
      error("boom")
    end)
    assert.is_false(ok)
    assert.equal("closed map", tome.type(saved))
  end)
end)
