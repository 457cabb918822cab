-- spec/codec_spec.lua -- tome.encode / tome.decode: the layout byte for
-- byte (against a model built with string.pack), round trips of random
-- values, errors naming the path to what cannot be encoded, and the
-- decoder on truncated, damaged and hostile bytes.
local H = require "spec.helpers"
local tome = require "tome"

-- {====== a model of the layout (see src/codec.h) ======

local K1, K2 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F

local function rotl(x, r) return (x << r) | (x >> (64 - r)) end
local function mix(h, w) return rotl(h ~ (w * K2), 31) * K1 end

-- tm_codec_sum
local function sum(s)
  local n = #s
  local h0, h1, h2, h3 = K1, K2, ~K1, ~K2
  local i = 1
  while n - (i - 1) >= 32 do
    local a, b, c, d = string.unpack("<i8i8i8i8", s, i)
    h0, h1, h2, h3 = mix(h0, a), mix(h1, b), mix(h2, c), mix(h3, d)
    i = i + 32
  end
  local x = rotl(h0, 1) + rotl(h1, 7) + rotl(h2, 12) + rotl(h3, 18)
  while n - (i - 1) >= 8 do
    x = mix(x, (string.unpack("<i8", s, i)))
    i = i + 8
  end
  if i <= n then
    local tail = s:sub(i) .. ("\0"):rep(8 - (n - i + 1))
    x = mix(x, (string.unpack("<i8", tail)))
  end
  x = x ~ n
  x = x ~ (x >> 33); x = x * K2
  x = x ~ (x >> 29); x = x * K1
  return x ~ (x >> 32)
end

local function framed(body, version)
  return "\27TOM" .. string.char(version or 1, 0, 0, 0)
    .. string.pack("<I8i8", #body, sum(body)) .. body
end

local B = {}  -- bodies of single values
function B.int(i) return "\3" .. string.pack("<i8", i) end
function B.flt(x) return "\4" .. string.pack("<d", x) end
function B.str(s)
  if #s < 256 then return "\5" .. string.char(#s) .. s end
  return "\6" .. string.pack("<I8", #s) .. s
end
function B.tab(n, h, ...) return "\7" .. string.pack("<I8I8", n, h)
  .. table.concat({ ... }) end
-- }======

-- deep equality (NaN equal to NaN, integer and float kept apart)
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if a ~= a then return b ~= b end
    return math.type(a) == math.type(b) and a == b
      and (a ~= 0 or 1 / a == 1 / b)         -- -0.0 stays -0.0
  end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if type(k) ~= "table" and not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if type(k) ~= "table" and a[k] == nil then return false end
  end
  return true
end

-- a random value: scalars, strings with NULs, nested tables with
-- array parts, holes and keys of every encodable kind
local function random_value(r, depth)
  local k = r:int(1, depth > 3 and 7 or 10)
  if k == 1 then return nil
  elseif k == 2 then return r:chance(0.5)
  elseif k == 3 then
    return r:pick { 0, 1, -1, math.maxinteger, math.mininteger,
                    r:int(-1000000, 1000000), r:next() }
  elseif k == 4 then
    return r:pick { 0.5, -0.0, 1 / 0, -1 / 0, 0 / 0, 2 ^ 53, 5e-324,
                    r:int(-10 ^ 6, 10 ^ 6) / 7 }
  elseif k <= 7 then
    return r:bytes(r:pick { 0, 1, 3, 255, 256, r:int(0, 600) })
  end
  local t = {}
  for i = 1, r:int(0, 6) do t[i] = random_value(r, depth + 1) end
  for _ = 1, r:int(0, 5) do
    local key = r:pick { r:bytes(r:int(0, 8)), r:int(-5, 50), true, false,
                         r:int(1, 1000) / 8 }
    t[key] = random_value(r, depth + 1)
  end
  if r:chance(0.1) then t[{ r:int(1, 9) }] = "table key" end
  return t
end

describe("tome.encode / tome.decode", function()
  it("lays out scalars as the header and little-endian fields", function()
    for _, case in ipairs {
      { nil, "\0" }, { false, "\1" }, { true, "\2" },
      { 0, B.int(0) }, { -2, B.int(-2) },
      { math.maxinteger, B.int(math.maxinteger) },
      { math.mininteger, B.int(math.mininteger) },
      { 0.5, B.flt(0.5) }, { -0.0, B.flt(-0.0) }, { 1 / 0, B.flt(1 / 0) },
      { "", B.str("") }, { "a\0b", B.str("a\0b") },
      { ("x"):rep(255), B.str(("x"):rep(255)) },
      { ("y"):rep(256), B.str(("y"):rep(256)) },
      { ("z"):rep(70000), B.str(("z"):rep(70000)) },
    } do
      local v, body = case[1], case[2]
      assert.are.equal(framed(body), tome.encode(v))
      assert.is_true(same(v, tome.decode(framed(body))))
    end
  end)

  it("lays out tables as the array part, then key/value pairs", function()
    assert.are.equal(framed(B.tab(0, 0)), tome.encode {})
    assert.are.equal(framed(B.tab(3, 0, B.int(1), B.str("b"), "\2")),
      tome.encode { 1, "b", true })
    assert.are.equal(framed(B.tab(0, 1, B.str("k"), B.flt(1.5))),
      tome.encode { k = 1.5 })
    -- a hole ends the array part; later integer keys are pairs
    assert.are.equal(framed(B.tab(1, 1, B.int(7), B.int(3), B.int(9))),
      tome.encode { 7, nil, 9 })
    assert.are.equal(framed(B.tab(1, 0, B.tab(0, 1, "\2", "\1"))),
      tome.encode { { [true] = false } })
    -- and the decoder reads hand-made tables, duplicate keys included
    local t = tome.decode(framed(B.tab(2, 2, B.int(1), B.int(2),
      B.int(2), B.str("two"), B.str("x"), B.tab(0, 0))))
    assert.is_true(same({ 1, "two", x = {} }, t))
  end)

  it("round-trips random values", function()
    local r = H.rng("codec round trip")
    for i = 1, 400 do
      local v = random_value(r, 0)
      local s = tome.encode(v)
      local back = tome.decode(s)
      if not same(v, back) then
        error(("round trip %d differs [TOME_SEED=%d]"):format(i, H.seed))
      end
      -- an encoding of the copy decodes to the same value again
      assert.is_true(same(v, tome.decode(tome.encode(back))))
    end
  end)

  it("names the path to what cannot be encoded", function()
    local ud = io.stdout
    local co = coroutine.create(print)
    H.raises("tome.encode: value: function cannot be encoded (only nil, "
      .. "booleans, numbers, strings and tables of them)", tome.encode, print)
    H.raises("tome.encode: result.list[3]: function cannot be encoded",
      tome.encode, { list = { 1, 2, print } }, "result")
    H.raises('value["a key"][2].x: userdata cannot be encoded',
      tome.encode, { ["a key"] = { 1, { x = ud } } })
    H.raises("value[true][1.5]: thread cannot be encoded",
      tome.encode, { [true] = { [1.5] = co } })
    H.raises('value["\\10"]: function', tome.encode, { ["\n"] = print })
    H.raises("value.t: a table key that is a function cannot be encoded",
      tome.encode, { t = { [print] = 1 } })
    H.raises("value[<table key>].f: function", tome.encode,
      { [{ f = print }] = 1 })
    local t = { a = { b = {} } }
    t.a.b.c = t.a
    H.raises("value.a.b.c: a cycle (this table is also value.a)",
      tome.encode, t)
    -- a shared table that is no cycle is fine (it is copied)
    local shared = { 1 }
    local two = tome.decode(tome.encode { shared, shared })
    assert.is_true(same({ { 1 }, { 1 } }, two))
    local deep = {}
    local d = deep
    for _ = 1, 100 do d.x = {} d = d.x end
    H.raises("tables nested deeper than 100 levels", tome.encode, deep)
    local ok99 = {}
    d = ok99
    for _ = 1, 99 do d.x = {} d = d.x end
    assert.is_table(tome.decode(tome.encode(ok99)))
    H.raises("bad argument #1 to 'tome.encode' (value expected)", tome.encode)
  end)

  it("refuses what is not its encoding, naming why", function()
    local good = tome.encode { 1, "two", { three = 3 } }
    H.raises("tome.decode: not tome-encoded data", tome.decode, "")
    H.raises("not tome-encoded data", tome.decode, "hello world")
    H.raises("corrupt data: truncated header", tome.decode, good:sub(1, 10))
    H.raises("corrupt data: truncated (", tome.decode, good:sub(1, -2))
    H.raises("corrupt data: 1 more bytes than the header says",
      tome.decode, good .. "x")
    H.raises("corrupt data: checksum mismatch", tome.decode,
      good:sub(1, -2) .. string.char((good:byte(-1) + 1) % 256))
    H.raises("encoded in format version 2; this tome reads version 1 "
      .. "(written by a newer tome?)", tome.decode, framed("\0", 2))
    H.raises("reserved header bytes are set", tome.decode,
      "\27TOM\1\0\1\0" .. good:sub(9))
    H.raises("bad argument #1 to 'tome.decode' (string expected",
      tome.decode, {})
  end)

  it("refuses hostile bodies that carry a valid checksum", function()
    local function bad(body, msg)
      H.raises("tome.decode: corrupt data: " .. msg, tome.decode, framed(body))
    end
    bad("", "truncated value at byte 24")
    bad("\8", "unknown type tag at byte 24")
    bad("\255", "unknown type tag at byte 24")
    bad("\3\1\2", "truncated number at byte 24")
    bad("\5\9abc", "truncated string at byte 24")
    bad("\6" .. string.pack("<I8", -1) .. "abc", "truncated string at byte 24")
    bad("\7" .. string.pack("<I8I8", -1, 0), "table counts larger than the data")
    bad("\7" .. string.pack("<I8I8", 0, 2) .. "\2\2\2",
      "table counts larger than the data")
    bad(B.tab(0, 1, "\0", "\2"), "nil table key at byte 41")
    bad(B.tab(0, 1, B.flt(0 / 0), "\2"), "NaN table key at byte 41")
    bad(B.tab(1, 0, "\2") .. "\2", "bytes after the value at byte 42")
    bad(B.tab(1, 1, "\2", "\2"), "truncated value at byte 43")
    -- 101 nested tables
    bad(("\7" .. string.pack("<I8I8", 1, 0)):rep(101) .. "\0",
      "tables nested deeper than 100 levels")
    local ok = ("\7" .. string.pack("<I8I8", 1, 0)):rep(100) .. "\0"
    assert.is_table(tome.decode(framed(ok)))
  end)

  it("allocates for hostile table counts no more than the input allows",
     function()
    -- 99 nested tables, each claiming as many values as bytes are left
    -- after it (within the checks) and failing at the end: sized from
    -- the counts at every level, they held 250 MB for 70 KB of input
    local left, body = 70000, {}
    for i = 1, 99 do
      left = left - 17
      body[i] = B.tab(left, left // 2)
    end
    body[100] = ("\0"):rep(left)
    local s = framed(table.concat(body))
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    local ok, err = pcall(tome.decode, s)
    local grew = collectgarbage("count") - before
    collectgarbage("restart")
    assert.is_false(ok)
    assert.matches("truncated value", err, 1, true)
    assert(grew < 8 * 1024, ("decoding %d bytes allocated %.0f MB"):format(
      #s, grew / 1024))
  end)

  it("never crashes on any prefix or any damaged byte", function()
    local r = H.rng("codec damage")
    for _ = 1, 30 do
      local s = tome.encode(random_value(r, 0))
      local body = s:sub(25)
      for cut = 0, #s - 1, math.max(1, #s // 40) do
        assert.is_false(pcall(tome.decode, s:sub(1, cut)))
      end
      -- damage the body and give it a valid checksum: an error or a
      -- value, never a crash; without the new checksum, always an error
      for _ = 1, 20 do
        local p = r:int(1, math.max(1, #body))
        local d = body:sub(1, p - 1) .. string.char(r:int(0, 255))
          .. body:sub(p + 1)
        local ok, err = pcall(tome.decode, framed(d))
        assert.is_true(ok or err:find("corrupt data", 1, true) ~= nil, err)
        if d ~= body then
          assert.is_false(pcall(tome.decode, s:sub(1, 24) .. d))
        end
      end
    end
  end)
end)
