-- spec/read_spec.lua -- the read methods of maps and views, each compared
-- with the string (or io) function on the same bytes.
--
-- Every subject is a map, a tome.wrap, a random view (some ending mid-map)
-- or a view of a view; 's' is the bytes it must behave like.

local H = require "spec.helpers"
local tome = H.tome

-- both calls must succeed with the same results, or both fail
local function agree(got, want, what)
  if got[1] ~= want[1] then
    error(("%s: tome %s, string %s  [TOME_SEED=%d]"):format(what,
      H.show(got), H.show(want), H.seed), 2)
  end
  if got[1] then H.same(got, want, what) end
end

local function iterations(n)
  return n > 100000 and 6 or 25
end

-- a needle for s; on big subjects one with few matches (a long piece of
-- s, a newline, or something absent), so the Lua models stay fast
local function needle(r, s, allow_empty)
  if #s <= 100000 then return r:needle(s, allow_empty) end
  local k = r:int(1, 4)
  if k == 1 then return "\n" end
  if k == 2 then return "\255\254zq" end
  local n = r:int(6, 20)
  local p = r:int(1, #s - n + 1)
  return s:sub(p, p + n - 1)
end

describe("read", function()
  teardown(H.cleanup)

  local path_cache = {}
  local function path_of(fx)
    if not path_cache[fx] then path_cache[fx] = H.tmpfile(fx.bytes) end
    return path_cache[fx]
  end

  -- run body(sub, r) on every subject of every fixture
  local function each_subject(tag, body)
    for _, fx in ipairs(H.fixtures()) do
      it(tag .. " on " .. fx.name, function()
        local r = H.rng(tag .. " / " .. fx.name)
        for _, sub in ipairs(H.subjects(r, fx.bytes, path_of(fx))) do
          body(sub, r, fx)
        end
      end)
    end
  end

  describe("#v, len, v[i]", function()
    each_subject("length and indexing", function(sub, r)
      local v, s = sub.v, sub.s
      local n = #s
      assert.equal(n, #v)
      assert.equal(n, v:len())
      for _ = 1, iterations(n) * 2 do
        local i = r:index(n)
        local want = (s:byte(i))      -- nil outside, as v[i]
        local got = v[i]
        if got ~= want then
          error(("%s [%d]: got %s want %s  [TOME_SEED=%d]"):format(
            sub.name, i, tostring(got), tostring(want), H.seed))
        end
      end
      assert.is_nil(v[0])
      assert.is_nil(v[n + 1])
      assert.is_nil(v[-n - 1])
      assert.is_nil(v[math.maxinteger])
      assert.is_nil(v[math.mininteger])
      if n >= 2 then
        assert.equal(s:byte(2), v[2.0])
        assert.equal(s:byte(-2), v[-2.0])
        assert.equal(s:byte(n), v[-1])
      end
    end)

    it("looks up methods for non-integer keys", function()
      local v = tome.wrap("hello")
      assert.is_function(v.len)
      assert.is_function(v["sub"])
      assert.equal(v.sub, v:view().sub)
      assert.is_nil(v.no_such_method)
      assert.is_nil(v[1.5])
      assert.is_nil(v[true])
      assert.equal(5, v.len(v))
    end)
  end)

  describe("byte", function()
    each_subject("byte(i, j)", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) do
        local i, j = r:range(#s)
        agree(H.try(v.byte, v, i, j), H.try(s.byte, s, i, j),
          ("%s:byte(%d, %d)"):format(sub.name, i, j))
      end
      agree(H.try(v.byte, v), H.try(s.byte, s), sub.name .. ":byte()")
      agree(H.try(v.byte, v, nil, 3), H.try(s.byte, s, nil, 3),
        sub.name .. ":byte(nil, 3)")
    end)

    -- byte(i) is byte(i, i): nothing at all outside (0 included)
    each_subject("byte(i)", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) do
        local i = r:index(#s)
        agree(H.try(v.byte, v, i), H.try(s.byte, s, i),
          ("%s:byte(%d)"):format(sub.name, i))
      end
    end)

    it("fails cleanly on a slice too long for the stack", function()
      local s = ("x"):rep(2000000)
      local v = tome.wrap(s)
      local ok = pcall(v.byte, v, 1, -1)
      assert.equal(pcall(s.byte, s, 1, -1), ok)
      assert.is_false(ok)
    end)
  end)

  describe("sub and view", function()
    each_subject("sub", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) do
        local i, j = r:index(#s), r:index(#s)
        agree(H.try(v.sub, v, i, j), H.try(s.sub, s, i, j),
          ("%s:sub(%d, %d)"):format(sub.name, i, j))
        agree(H.try(v.sub, v, i), H.try(s.sub, s, i),
          ("%s:sub(%d)"):format(sub.name, i))
      end
      assert.equal(s, v:sub(1))
      assert.equal(s, v:sub(1, -1))
    end)

    each_subject("view", function(sub, r)
      local v, s = sub.v, sub.s
      local n = #s
      for _ = 1, iterations(n) do
        local i, j = r:index(n), r:index(n)
        local w = v:view(i, j)
        local want = s:sub(i, j)
        assert.equal("view", tome.type(w))
        assert.equal(#want, #w)
        if w:sub(1, -1) ~= want then
          error(("%s:view(%d, %d) has the wrong bytes  [TOME_SEED=%d]")
            :format(sub.name, i, j, H.seed))
        end
        -- one level deeper: a view of a view is a view of the same map
        local i2, j2 = r:index(#want), r:index(#want)
        local w2 = w:view(i2, j2)
        assert.equal(want:sub(i2, j2), w2:sub(1, -1))
        assert.equal(v:map(), w2:map())
        if #want > 0 then
          local start = H.posrelat(i, n)
          assert.equal(v:offset() + start - 1, w:offset())
          if #w2 > 0 then
            assert.equal(w:offset() + H.posrelat(i2, #want) - 1, w2:offset())
          end
        end
        assert.equal(s:sub(i), v:view(i):sub(1, -1))
      end
      assert.equal(s, v:view():sub(1, -1))
    end)

    it("map and offset", function()
      local m = tome.wrap("0123456789")
      assert.equal(1, m:offset())
      assert.equal(m, m:map())
      local w = m:view(3, 8)
      assert.equal(3, w:offset())
      assert.equal(m, w:map())
      local w2 = w:view(2, -2)
      assert.equal("3456", w2:sub(1, -1))
      assert.equal(4, w2:offset())
      assert.equal(m, w2:map())
      assert.equal("map", tome.type(w2:map()))
    end)

    it("a view keeps its map alive", function()
      local p = H.tmpfile("keep me alive\n")
      local w = assert(tome.open(p)):view(6, 7)
      local w2 = tome.wrap("another one"):view(1, 7)
      for _ = 1, 3 do collectgarbage() end
      assert.equal("me", w:sub(1, -1))
      assert.equal("another", w2:sub(1, -1))
      assert.equal("map", tome.type(w:map()))
    end)
  end)

  describe("find (plain)", function()
    each_subject("find plain", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) do
        local x = needle(r, s, true)
        local init = r:chance(0.25) and nil or r:index(#s)
        agree(H.try(v.find, v, x, init, true),
          H.try(s.find, s, x, init, true),
          ("%s:find(%q, %s, true)"):format(sub.name, x, tostring(init)))
        if init == nil then
          -- only the needle: letters and no pattern characters
          local y = r:from("abc", r:int(1, 3))
          agree(H.try(v.find, v, y), H.try(s.find, s, y),
            ("%s:find(%q)"):format(sub.name, y))
        else
          -- a pattern with no special characters is found plainly
          local y = x:gsub("[%^%$%*%+%?%.%(%)%[%]%%%-]", "")
          agree(H.try(v.find, v, y, init), H.try(s.find, s, y, init),
            ("%s:find(%q, %d)"):format(sub.name, y, init))
        end
      end
    end)

    it("never reads past the end of a page-sized file", function()
      local P = H.page_size()
      for _, size in ipairs { P, 2 * P, 4 * P } do
        local bytes = ("ab"):rep(size // 2)
        local m = assert(tome.open(H.tmpfile(bytes)))
        local w = tome.wrap(bytes)
        for _, v in ipairs { m, w, m:view(P // 2), w:view(-3) } do
          assert.is_nil(v:find("abc", 1, true))
          assert.is_nil(v:find("bb", 1, true))
          assert.is_nil(v:find("b\0", 1, true))
          assert.is_nil(v:find("abc"))
          assert.is_nil(v:rfind("ba\0"))
          assert.is_nil(v:rfind("aa"))
          assert.equal(0, v:count("abc"))
          assert.equal(0, v:count("\n"))
          assert.equal(1, #H.collect(v:lines()))
          assert.equal(0, #H.collect(v:grep("abc")))
          assert.equal(1, #H.collect(v:split("\n")))
          assert.equal(1, v:lineno(#v + 1))
          assert.is_false(pcall(v.unpack, v, "z", #v - 1))
          assert.same({ #v - 1, #v }, { v:find("ab", -2, true) })
        end
      end
    end)
  end)

  describe("rfind", function()
    each_subject("rfind", function(sub, r)
      local v, s = sub.v, sub.s
      local n = #s
      for _ = 1, iterations(n) do
        local x = needle(r, s, false)
        local init, last
        local k = r:int(1, 5)
        if k == 1 or n == 0 then init, last = nil, n
        elseif k == 2 then init = r:int(1, n); last = init
        elseif k == 3 then init = r:int(-n, -1); last = n + init + 1
        elseif k == 4 then init = n + r:int(0, 3); last = n
        else init, last = math.maxinteger, n end
        local want = table.pack(H.rfind_model(s, x, last))
        if want[1] == nil then want = table.pack(nil) end
        local got = table.pack(v:rfind(x, init))
        if got[1] == nil then got = table.pack(nil) end
        H.same(got, want, ("%s:rfind(%q, %s)"):format(sub.name, x,
          tostring(init)))
      end
    end)

    it("finds overlapping candidates from the right", function()
      local v = tome.wrap("aaaa")
      assert.same({ 3, 4 }, { v:rfind("aa") })
      assert.same({ 2, 3 }, { v:rfind("aa", 2) })
      assert.same({ 1, 2 }, { v:rfind("aa", 1) })
      assert.same({ 3, 4 }, { v:rfind("aa", -2) })
      assert.is_nil(v:rfind("aaaaa"))
      assert.same({ 1, 1 }, { v:view(2, 3):rfind("a", 1) })
      assert.same({ 2, 3 }, { tome.wrap("xabab"):view(1, 4):rfind("ab") })
    end)
  end)

  describe("count", function()
    each_subject("count", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) do
        local x = needle(r, s, false)
        local k = r:int(1, 3)
        local i, j
        if k >= 2 then i = r:index(#s) end
        if k == 3 then j = r:index(#s) end
        local want = H.count_model(s:sub(i or 1, j or -1), x)
        local got = v:count(x, i, j)
        if got ~= want or math.type(got) ~= "integer" then
          error(("%s:count(%q, %s, %s) = %s, want %d  [TOME_SEED=%d]")
            :format(sub.name, x, tostring(i), tostring(j), tostring(got),
              want, H.seed))
        end
      end
      assert.equal(H.count_model(s, "\n"), v:count("\n"))
    end)

    it("counts non-overlapping occurrences", function()
      local v = tome.wrap("aaaaa\n\n\nabab")
      assert.equal(2, v:count("aa"))
      assert.equal(3, v:count("\n"))
      assert.equal(1, v:count("\n\n"))
      assert.equal(2, v:count("ab"))
      assert.equal(1, v:count("aa", 2, 4))
      assert.equal(0, v:count("aa", 5))
      assert.equal(0, v:count("zz"))
    end)
  end)

  describe("lines", function()
    local function check_lines(sub, fmt, init, what)
      local v, s = sub.v, sub.s
      local got
      if init == nil and fmt == nil then got = H.collect(v:lines())
      else got = H.collect(v:lines(fmt, init)) end
      local want = H.lines_model(s, fmt == "L", init)
      if #got ~= #want then
        error(("%s: %d lines, want %d  [TOME_SEED=%d]"):format(what, #got,
          #want, H.seed))
      end
      -- plain comparisons in the loop: busted's asserts are slow here
      local map, base = v:map(), v:offset()
      for k, g in ipairs(got) do
        local line, pos = g[1], g[2]
        local wline, wpos = want[k][1], want[k][2]
        local ok = true
        if fmt == "v" then
          ok = tome.type(line) == "view" and line:map() == map
               and (#wline == 0 or line:offset() == base + wpos - 1)
          line = ok and line:sub(1, -1)
        end
        if not ok or line ~= wline or pos ~= wpos
           or math.type(pos) ~= "integer" then
          H.same(table.pack(line, pos), table.pack(wline, wpos),
            ("%s: line %d (or its view)"):format(what, k))
        end
      end
      return got
    end

    each_subject("lines", function(sub, r)
      for _, fmt in ipairs { "l", "L", "v" } do
        check_lines(sub, fmt, nil, ("%s:lines(%q)"):format(sub.name, fmt))
        for _ = 1, 2 do
          local init = r:index(#sub.s)
          check_lines(sub, fmt, init, ("%s:lines(%q, %d)"):format(sub.name,
            fmt, init))
        end
      end
      check_lines(sub, nil, nil, sub.name .. ":lines()")
      -- it does not move the cursor, so it can run twice
      assert.equal(0, sub.v:seek())
      check_lines(sub, "L", nil, sub.name .. ":lines('L') again")
      assert.equal(0, sub.v:seek())
    end)

    for _, fx in ipairs(H.fixtures()) do
      it("splits as io.lines does: " .. fx.name, function()
        local p = path_of(fx)
        local m = assert(tome.open(p))
        for _, fmt in ipairs { "l", "L" } do
          local want = {}
          for line in io.lines(p, fmt) do want[#want + 1] = line end
          local got = {}
          for line in m:lines(fmt) do got[#got + 1] = line end
          assert.equal(#want, #got)
          for k = 1, #want do
            if got[k] ~= want[k] then
              error(("line %d differs from io.lines(%q)"):format(k, fmt))
            end
          end
        end
      end)
    end

    it("keeps \\r and needs no final newline", function()
      local v = tome.wrap("a\r\nb\r\n\r\nc")
      local got = {}
      for l, pos in v:lines() do got[#got + 1] = { l, pos } end
      assert.same({ { "a\r", 1 }, { "b\r", 4 }, { "\r", 7 }, { "c", 9 } },
        got)
      assert.equal(0, #H.collect(tome.wrap(""):lines()))
      assert.equal(0, #H.collect(tome.wrap("abc"):lines("l", 4)))
      assert.same({ "bc", 2 }, { tome.wrap("abc"):lines("l", 2)() })
      assert.same({ "c", 3 }, { tome.wrap("abc"):lines("l", -1)() })
    end)
  end)

  describe("split", function()
    each_subject("split", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, 3 do
        local sep = needle(r, s, false)
        for _, fmt in ipairs { "none", "l", "v" } do
          local got
          if fmt == "none" then got = H.collect(v:split(sep))
          else got = H.collect(v:split(sep, fmt)) end
          local want = H.split_model(s, sep)
          local what = ("%s:split(%q, %s)"):format(sub.name, sep, fmt)
          if #got ~= #want then
            error(("%s: %d fields, want %d  [TOME_SEED=%d]"):format(what,
              #got, #want, H.seed))
          end
          for k, g in ipairs(got) do
            local field = g[1]
            if fmt == "v" then
              assert.equal("view", tome.type(field))
              field = field:sub(1, -1)
            end
            H.same(table.pack(field, g[2]),
              table.pack(want[k][1], want[k][2]), what .. " field " .. k)
          end
        end
      end
    end)

    it("gives n + 1 fields for n separators", function()
      local function fields(s, sep)
        local out = {}
        for f, pos in tome.wrap(s):split(sep) do out[#out + 1] = { f, pos } end
        return out
      end
      assert.same({ { "", 1 } }, fields("", ","))
      assert.same({ { "", 1 }, { "", 2 } }, fields(",", ","))
      assert.same({ { "a", 1 }, { "b", 3 }, { "", 5 } }, fields("a,b,", ","))
      assert.same({ { "a", 1 }, { "b", 4 } }, fields("a::b", "::"))
      assert.same({ { "", 1 }, { ":a", 3 } }, fields(":::a", "::"))
      assert.same({ { "abc", 1 } }, fields("abc", "x"))
    end)
  end)

  describe("grep (plain)", function()
    each_subject("grep", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, 4 do
        local x = needle(r, s, false)
        local want = H.grep_model(s, x)
        for _, plain in ipairs { "default", true } do
          local got
          if plain == "default" then got = H.collect(v:grep(x))
          else got = H.collect(v:grep(x, true)) end
          local what = ("%s:grep(%q, %s)"):format(sub.name, x, tostring(plain))
          if #got ~= #want then
            error(("%s: %d lines, want %d  [TOME_SEED=%d]"):format(what,
              #got, #want, H.seed))
          end
          for k, g in ipairs(got) do
            H.same(table.pack(g[1], g[2]),
              table.pack(want[k][1], want[k][2]), what .. " line " .. k)
          end
        end
      end
    end)

    it("yields the line and its start", function()
      local v = tome.wrap("one\ntwo.x\r\nthree\ntwo\n")
      local got = {}
      for l, pos in v:grep("two") do got[#got + 1] = { l, pos } end
      assert.same({ { "two.x\r", 5 }, { "two", 18 } }, got)
      assert.equal(1, #H.collect(v:grep(".")))    -- plain by default
      assert.equal(0, #H.collect(v:grep("o\nt")))  -- never across lines
    end)
  end)

  describe("lineno", function()
    each_subject("lineno", function(sub, r)
      local v, s = sub.v, sub.s
      local n = #s
      local positions = { 1, n + 1 }
      for _ = 1, iterations(n) do positions[#positions + 1] = r:int(1, n + 1) end
      for _, pos in ipairs(positions) do
        local got, want = v:lineno(pos), H.lineno_model(s, pos)
        if got ~= want then
          error(("%s:lineno(%d) = %s, want %d  [TOME_SEED=%d]"):format(
            sub.name, pos, tostring(got), want, H.seed))
        end
      end
      -- negative positions count from the end, as everywhere
      for _ = 1, 3 do
        if n == 0 then break end
        local k = r:int(1, n)
        assert.equal(H.lineno_model(s, n - k + 1), v:lineno(-k))
      end
      for _, pos in ipairs { 0, n + 2, -n - 1, math.maxinteger,
                             math.mininteger } do
        local msg = H.error_of(v.lineno, v, pos)
        assert.truthy(msg:find("out of range", 1, true), msg)
      end
    end)

    it("numbers lines from 1", function()
      local v = tome.wrap("ab\ncd\n\nef")
      local want = { 1, 1, 1, 2, 2, 2, 3, 4, 4, 4 }
      for pos = 1, #v + 1 do assert.equal(want[pos], v:lineno(pos)) end
      assert.equal(1, tome.wrap(""):lineno(1))
    end)
  end)

  describe("unpack", function()
    local items = { "b", "B", "h", "H", "i3", "I5", "i4", "I4", "l", "L",
      "j", "J", "T", "f", "d", "n", "s1", "s2", "z", "<i2", ">I8", "=i4",
      "!4i4", "x", "i16", "I9", "c3", "c0", "<d", ">f", "Xi4", "!8Xd", " " }

    each_subject("unpack", function(sub, r)
      local v, s = sub.v, sub.s
      for _ = 1, iterations(#s) * 2 do
        local parts = {}
        for k = 1, r:int(1, 3) do parts[k] = r:pick(items) end
        local fmt = table.concat(parts)
        local pos
        if r:chance(0.8) then
          pos = r:chance(0.7) and r:int(1, #s + 1) or r:index(#s)
        end
        agree(H.try(v.unpack, v, fmt, pos), H.try(string.unpack, fmt, s, pos),
          ("%s:unpack(%q, %s)"):format(sub.name, fmt, tostring(pos)))
      end
    end)

    it("reads numbers and strings at a position", function()
      local data = string.pack("<i4 >I2 z s1 d", -5, 513, "hi", "abc", 2.5)
      local v = tome.wrap("xx" .. data)
      assert.same({ -5, 513, "hi", "abc", 2.5, #data + 3 },
        { v:unpack("<i4 >I2 z s1 d", 3) })
      assert.same({ -5, 5 }, { v:view(3):unpack("<i4") })
      assert.has_error(function() tome.wrap("abc"):unpack("z") end)
      assert.has_error(function() v:unpack("i4", #v - 2) end)
    end)
  end)

  describe("tostring", function()
    it("describes, never shows the contents", function()
      local p = H.tmpfile("SECRET-CONTENT-xyz\n")
      local m = assert(tome.open(p))
      local s = tostring(m)
      assert.equal(1, s:find("tome.map: ", 1, true), s)
      assert.is_nil(s:find("SECRET", 1, true), s)
      local w = m:view(3, 9)
      local t = tostring(w)
      assert.equal(1, t:find("tome.view: ", 1, true), t)
      assert.is_nil(t:find("CRET", 1, true), t)
      assert.equal(1, tostring(tome.wrap("SECRET")):find("tome.map: ", 1,
        true))
      assert.is_nil(tostring(tome.wrap("SECRET")):find("SECRET", 1, true))
    end)
  end)
end)
