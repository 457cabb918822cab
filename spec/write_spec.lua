-- spec/write_spec.lua -- writable maps ("r+", "c", tome.create,
-- tome.wrap): v[i] = b, pack, resize, flush, advise; read-only maps
-- refusing all of it; "c" leaving the file alone; "r+" reaching it.

local H = require "spec.helpers"
local tome = H.tome

-- the writable kinds of map over 'bytes'; each { m = map, name, path }
local function writable_maps(bytes)
  local list = {}
  local p1 = H.tmpfile(bytes)
  list[#list + 1] = { m = assert(tome.open(p1, "r+")), name = "r+",
                      path = p1 }
  local p2 = H.tmpfile(bytes)
  list[#list + 1] = { m = assert(tome.open(p2, "c")), name = "c", path = p2 }
  list[#list + 1] = { m = tome.wrap(bytes), name = "wrap" }
  local p3 = H.tmpname(".created")
  local c = assert(tome.create(p3, #bytes))
  c:write(bytes)
  c:seek("set", 0)
  list[#list + 1] = { m = c, name = "create", path = p3 }
  return list
end

-- replace byte at position pos (1-based, already resolved) in s
local function poke(s, pos, b)
  return s:sub(1, pos - 1) .. string.char(b) .. s:sub(pos + 1)
end

describe("v[i] = b", function()
  teardown(H.cleanup)

  it("writes single bytes, negative positions from the end", function()
    local r = H.rng("index write")
    for _, size in ipairs { 1, 2, 100, 4095, 4096, 4097 } do
      local bytes = r:bytes(size)
      for _, w in ipairs(writable_maps(bytes)) do
        local m, model = w.m, bytes
        -- on the map and through views
        for _ = 1, 40 do
          local i = r:int(-size, size)
          if i == 0 then i = 1 end
          local b = r:int(0, 255)
          local target, base = m, 0
          if r:chance(0.3) then
            local a = r:int(1, size)
            target, base = m:view(a), a - 1
            i = r:int(1, size - a + 1)
            if r:chance(0.5) then i = i - (size - a + 1) - 1 end
          end
          target[i] = b
          local pos = i > 0 and base + i or size + i + 1
          model = poke(model, pos, b)
          assert.equal(b, m[pos])
        end
        if m:sub(1, -1) ~= model then
          error(("%s %d: bytes differ from the model  [TOME_SEED=%d]")
            :format(w.name, size, H.seed))
        end
      end
    end
  end)

  it("accepts integral floats, refuses bad values and positions", function()
    local w = tome.wrap("abcd")
    w[2.0] = 66
    w[3] = 67.0
    assert.equal("aBCd", w:sub(1, -1))
    H.raises("resize", function() w[5] = 1 end)
    H.raises("resize", function() w[math.maxinteger] = 1 end)
    assert.has_error(function() w[0] = 1 end)
    assert.has_error(function() w[-5] = 1 end)
    assert.has_error(function() w[math.mininteger] = 1 end)
    assert.has_error(function() w[1] = 256 end)
    assert.has_error(function() w[1] = -1 end)
    assert.has_error(function() w[1] = "x" end)
    assert.has_error(function() w[1] = 1.5 end)
    assert.has_error(function() w[1] = nil end)
    assert.has_error(function() w.foo = 1 end)
    assert.has_error(function() w[1.5] = 1 end)
    assert.equal("aBCd", w:sub(1, -1))
    local v = w:view(2, 3)
    H.raises("resize", function() v[3] = 1 end)
    assert.equal("aBCd", w:sub(1, -1))
  end)
end)

describe("pack", function()
  teardown(H.cleanup)

  it("writes string.pack's bytes in place", function()
    local r = H.rng("pack")
    local cases = {
      { "<i4", -5 }, { ">I2", 513 }, { "z", "hi" }, { "s1", "abc" },
      { "<d", 2.5 }, { "b", -1 }, { "B", 255 }, { "c3", "xyz" },
      { "<i4 >I2", 1, 2 }, { "j", math.mininteger }, { "n", 1 / 3 },
      { "xx", nil },
    }
    for _, w in ipairs(writable_maps(r:bytes(64))) do
      local m = w.m
      local model = m:sub(1, -1)
      for _ = 1, 30 do
        local case = r:pick(cases)
        local fmt = case[1]
        local data = string.pack(fmt, table.unpack(case, 2, 3))
        local pos = r:int(1, 64 - #data + 1)
        local target, base = m, 0
        if r:chance(0.3) then
          target, base = m:view(pos), pos - 1
          pos = 1
        end
        target:pack(pos, fmt, table.unpack(case, 2, 3))
        local at = base + pos
        model = model:sub(1, at - 1) .. data .. model:sub(at + #data)
        assert.equal(model, m:sub(1, -1))
        -- and it reads back with unpack
        local got = table.pack(target:unpack(fmt, pos))
        local want = table.pack(string.unpack(fmt, data))
        want[want.n] = want[want.n] + pos - 1
        H.same(got, want, w.name .. " unpack after pack " .. fmt)
      end
    end
  end)

  it("refuses to write past the end", function()
    local w = tome.wrap("abcd")
    H.raises("resize", function() w:pack(3, "i4", 1) end)
    H.raises("resize", function() w:pack(5, "b", 1) end)
    H.raises("resize", function() w:view(1, 2):pack(1, "i4", 1) end)
    assert.equal("abcd", w:sub(1, -1))
    w:pack(1, "i4", 0)
    assert.equal("\0\0\0\0", w:sub(1, -1))
  end)
end)

describe("resize", function()
  teardown(H.cleanup)

  it("grows with zero bytes and shrinks, file and mapping", function()
    local P = H.page_size()
    for _, w in ipairs(writable_maps("0123456789")) do
      local m = w.m
      for _, n in ipairs { 20, P, P + 1, 3 * P, 5, 0, 7, 2 * P } do
        local before = m:sub(1, -1)
        m:resize(n)
        assert.equal(n, #m)
        local want = (before .. ("\0"):rep(n)):sub(1, n)
        if m:sub(1, -1) ~= want then
          error(("%s: resize(%d) has the wrong bytes"):format(w.name, n))
        end
        if w.name == "r+" or w.name == "create" then
          assert.equal(n, H.filesize(w.path))
          assert.equal(want, H.readfile(w.path))
        end
        if n > 0 then
          m[n] = 65                -- the whole new range is writable
          assert.equal(65, m[-1])
        end
      end
      if w.name == "c" then
        assert.equal("0123456789", H.readfile(w.path))
      end
    end
  end)

  it("makes views outside the new size raise, never crash", function()
    local P = H.page_size()
    for _, w in ipairs(writable_maps(("x"):rep(3 * P))) do
      local m = w.m
      local inside = m:view(1, 10)
      local outside = m:view(2 * P + 1, 2 * P + 10)
      local across = m:view(P - 5, P + 5)
      local deep = outside:view(2, 3)
      m:resize(P)
      assert.equal(("x"):rep(10), inside:sub(1, -1))
      for _, v in ipairs { outside, deep } do
        assert.has_error(function() local _ = v:sub(1, -1) end)
        assert.has_error(function() local _ = v[1] end)
        assert.has_error(function() local _ = v:find("x", 1, true) end)
        assert.has_error(function() local _ = v:count("x") end)
        assert.has_error(function() local _ = v:read("a") end)
        assert.has_error(function() for _ in v:lines() do end end)
      end
      -- a view across the new end: an error or its remaining bytes
      local ok, s = pcall(across.sub, across, 1, -1)
      if ok then assert.equal(("x"):rep(6), s) end
      -- grown back, nothing breaks
      m:resize(3 * P)
      assert.equal(("x"):rep(10), inside:sub(1, -1))
      local ok2, s2 = pcall(outside.sub, outside, 1, -1)
      if ok2 then assert.equal(("\0"):rep(10), s2) end
    end
  end)

  it("refuses read-only maps and bad sizes", function()
    local m = assert(tome.open(H.tmpfile("abc")))
    H.raises("read-only", function() m:resize(10) end)
    H.raises("read-only", function() m:resize(1) end)
    assert.equal("abc", m:sub(1, -1))
    local w = tome.wrap("abc")
    assert.has_error(function() w:resize(-1) end)
    assert.has_error(function() w:resize("x") end)
    assert.has_error(function() w:resize() end)
    assert.equal("abc", w:sub(1, -1))
  end)
end)

describe("flush", function()
  teardown(H.cleanup)

  it("syncs all or part of a map", function()
    for _, w in ipairs(writable_maps(("y"):rep(10000))) do
      local m = w.m
      m[1] = 65
      m[9000] = 66
      assert.truthy(m:flush())
      assert.truthy(m:flush(1, 10))
      assert.truthy(m:flush(8000))
      assert.truthy(m:flush(-5, -1))
      if w.name == "r+" or w.name == "create" then
        local s = H.readfile(w.path)
        assert.equal("A", s:sub(1, 1))
        assert.equal("B", s:sub(9000, 9000))
      end
    end
    assert.truthy(assert(tome.open(H.tmpfile("ro"))):flush())
  end)
end)

describe("advise", function()
  teardown(H.cleanup)

  it("takes the five hints and never changes the bytes", function()
    local bytes = H.rng("advise"):bytes(3 * H.page_size() + 7)
    local maps = writable_maps(bytes)
    maps[#maps + 1] = { m = assert(tome.open(H.tmpfile(bytes))), name = "r" }
    for _, w in ipairs(maps) do
      local m = w.m
      local model = bytes
      if w.name ~= "r" then
        -- private changes ("c", wrap) must survive "dontneed" too
        m[1], m[-1], m[5000] = 1, 2, 3
        model = poke(poke(poke(model, 1, 1), #model, 2), 5000, 3)
      end
      for _, hint in ipairs { "normal", "sequential", "random", "willneed",
                              "dontneed" } do
        assert.truthy(m:advise(hint))
        assert.truthy(m:advise(hint, 100, 5000))
        assert.truthy(m:advise(hint, -10))
        if m:sub(1, -1) ~= model then
          error(("%s: advise(%q) changed the bytes"):format(w.name, hint))
        end
      end
      H.raises("invalid option", function() m:advise("sometimes") end)
      assert.has_error(function() m:advise() end)
    end
  end)
end)

describe("read-only maps", function()
  teardown(H.cleanup)

  it("raise on every write", function()
    local p = H.tmpfile("read only bytes")
    local m = assert(tome.open(p))
    local v = m:view(3, 8)
    for _, t in ipairs { m, v } do
      H.raises("read-only", function() t[1] = 65 end)
      H.raises("read-only", function() t:write("x") end)
      H.raises("read-only", function() t:pack(1, "b", 1) end)
    end
    H.raises("read-only", function() m:resize(3) end)
    assert.equal("read only bytes", m:sub(1, -1))
    assert.equal("read only bytes", H.readfile(p))
    -- the same for a read-only stdin-like map read into memory
    local proc = assert(tome.open("/proc/version"))
    H.raises("read-only", function() proc[1] = 65 end)
  end)
end)

describe("mode \"c\"", function()
  teardown(H.cleanup)

  it("is writable and leaves the file unchanged", function()
    local p = H.tmpfile(("abc\n"):rep(2000))
    local m = assert(tome.open(p, "c"))
    m[1] = 65
    m:seek("set", 4)
    m:write("XYZ")
    m:pack(9, "<i4", 0x41424344)
    assert.equal("Abc\nXYZ\nDCBA", m:sub(1, 12))
    m:flush()
    local other = assert(tome.open(p))
    assert.equal("abc\nabc\nabc\n", other:sub(1, 12))
    assert.is_true(m:close())
    assert.equal(("abc\n"):rep(2000), H.readfile(p))
  end)
end)

describe("mode \"r+\"", function()
  teardown(H.cleanup)

  it("writes reach the file", function()
    local p = H.tmpfile(("abc\n"):rep(2000))
    local m = assert(tome.open(p, "r+"))
    local seen = assert(tome.open(p))        -- another map of the file
    m[1] = 65
    m:seek("set", 4)
    m:write("XYZ")
    m:pack(9, "<i4", 0x41424344)
    m[-1] = 33
    assert.equal("Abc\nXYZ\nDCBA", seen:sub(1, 12))
    assert.equal(33, seen[-1])
    m:flush()
    local s = H.readfile(p)
    assert.equal("Abc\nXYZ\nDCBA", s:sub(1, 12))
    assert.equal("!", s:sub(-1))
    assert.is_true(m:close())
    assert.equal(s, H.readfile(p))
    assert.equal(8000, #s)
  end)
end)
