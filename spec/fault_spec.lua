-- spec/fault_spec.lua -- what must raise and never crash: closed maps and
-- their views, a file truncated under its mapping, indexes out of range,
-- bad arguments (with the messages the string and io libraries give).

local H = require "spec.helpers"
local tome = H.tome

local CLOSED = "attempt to use a closed map"

-- every way to touch the bytes or the state of v (a map or a view);
-- each function is a statement call, not a tail call, so errors name it
local function uses(v)
  return {
    ["#"] = function() local _ = #v end,
    ["[i]"] = function() local _ = v[1] end,
    ["[i] = b"] = function() v[1] = 65 end,
    byte = function() local _ = v:byte(1) end,
    sub = function() local _ = v:sub(1, -1) end,
    len = function() local _ = v:len() end,
    view = function() local _ = v:view(1, 2) end,
    find = function() local _ = v:find("b", 1, true) end,
    rfind = function() local _ = v:rfind("b") end,
    count = function() local _ = v:count("\n") end,
    lines = function() for _ in v:lines() do end end,
    split = function() for _ in v:split(",") do end end,
    grep = function() for _ in v:grep("b") do end end,
    lineno = function() local _ = v:lineno(1) end,
    unpack = function() local _ = v:unpack("b") end,
    offset = function() local _ = v:offset() end,
    read = function() local _ = v:read("l") end,
    seek = function() local _ = v:seek("set", 1) end,
    write = function() local _ = v:write("x") end,
    pack = function() local _ = v:pack(1, "b", 1) end,
  }
end

local function map_uses(m)
  local t = uses(m)
  t.resize = function() m:resize(10) end
  t.flush = function() local _ = m:flush() end
  t.advise = function() local _ = m:advise("normal") end
  return t
end

local function check_all_raise(list, text, what)
  for name, f in pairs(list) do
    local ok, err = pcall(f)
    if ok then
      error(("%s: %s did not raise"):format(what, name), 2)
    end
    if not tostring(err):find(text, 1, true) then
      error(("%s: %s raised %q, not %q"):format(what, name, tostring(err),
        text), 2)
    end
  end
end

describe("a closed map", function()
  teardown(H.cleanup)

  local function makers()
    local p = H.tmpfile("abc,def\nghi\n")
    return {
      r = function() return assert(tome.open(p)) end,
      ["r+"] = function() return assert(tome.open(p, "r+")) end,
      c = function() return assert(tome.open(p, "c")) end,
      wrap = function() return tome.wrap("abc,def\nghi\n") end,
      proc = function() return assert(tome.open("/proc/version")) end,
    }
  end

  it("and its views raise on every use", function()
    for kind, make in pairs(makers()) do
      local m = make()
      local v = m:view(2, 8)
      local vv = v:view(2)
      local it_lines = m:lines()
      local it_view = v:split(",")
      assert.is_true(m:close())
      assert.equal("closed map", tome.type(m))
      assert.equal("view", tome.type(v))
      check_all_raise(map_uses(m), CLOSED, kind .. " map")
      check_all_raise(uses(v), CLOSED, kind .. " view")
      check_all_raise(uses(vv), CLOSED, kind .. " view of a view")
      -- iterators made before the close
      H.raises(CLOSED, function() local _ = it_lines() end)
      H.raises(CLOSED, function() local _ = it_view() end)
      -- still harmless: close again, tostring, type, garbage collection
      assert.is_true(m:close())
      assert.is_string(tostring(m))
      assert.is_string(tostring(v))
      pcall(v.close, v)
    end
    collectgarbage()
    collectgarbage()
  end)

  it("is what a view's map() gives, if it does not raise", function()
    local m = tome.wrap("abc")
    local v = m:view(1, 2)
    m:close()
    local ok, got = pcall(v.map, v)
    if ok then assert.equal("closed map", tome.type(got)) end
  end)
end)

describe("a file truncated while mapped", function()
  teardown(H.cleanup)

  local function truncate(path, size, how)
    if how == "truncate" then
      assert(os.execute(("truncate -s %d %s"):format(size,
        H.shell_quote(path))))
    else
      assert(size == 0)
      assert(io.open(path, "wb")):close()
    end
  end

  local function trunc_error(f)
    local ok, err = pcall(f)
    if ok then error("touching the missing part did not raise", 2) end
    err = tostring(err)
    if not err:lower():find("trunc", 1, true) then
      error(("the error does not say truncated: %q"):format(err), 2)
    end
  end

  for _, mode in ipairs { "r", "r+", "c" } do
    it(("raises on the missing part, mode %q"):format(mode), function()
      local P = H.page_size()
      local r = H.rng("truncate " .. mode)
      local bytes = r:bytes(4 * P)
      local p = H.tmpfile(bytes)
      local m = assert(tome.open(p, mode))
      local head = m:view(1, P)
      local tail = m:view(2 * P + 1, 3 * P)
      -- touch everything once so the pages are mapped in
      assert.equal(bytes, m:sub(1, -1))
      truncate(p, P, "truncate")
      -- the part that remains still reads
      assert.equal(bytes:sub(1, P), m:sub(1, P))
      assert.equal(bytes:sub(1, P), head:sub(1, -1))
      assert.equal(bytes:byte(10), m[10])
      assert.equal(bytes:byte(P), m:byte(P))
      -- the missing part raises, and we go on
      trunc_error(function() local _ = m[2 * P + 5] end)
      trunc_error(function() local _ = m:byte(3 * P) end)
      trunc_error(function() local _ = m:sub(P + 1, P + 10) end)
      trunc_error(function() local _ = m:sub(1, -1) end)
      trunc_error(function() local _ = tail:sub(1, -1) end)
      trunc_error(function() local _ = tail[1] end)
      trunc_error(function() local _ = m:find("\255\254\253\252", 1, true) end)
      trunc_error(function() local _ = m:rfind("\255\254\253\252") end)
      trunc_error(function() local _ = m:count("\255\254\253\252") end)
      trunc_error(function() local _ = m:count("\n") end)
      trunc_error(function() for _ in m:lines() do end end)
      trunc_error(function() for _ in m:split("\255\254\253") do end end)
      trunc_error(function() for _ in m:grep("\255\254\253") do end end)
      trunc_error(function() local _ = m:lineno(3 * P) end)
      trunc_error(function() local _ = m:unpack("i4", 3 * P) end)
      trunc_error(function() m:seek("set", 0); local _ = m:read("a") end)
      if mode ~= "r" then
        trunc_error(function() m[3 * P] = 65 end)
        trunc_error(function() m:seek("set", 2 * P); m:write("abc") end)
      end
      -- the part that remains still reads after all those errors
      assert.equal(bytes:sub(1, P), m:sub(1, P))
      assert.equal(bytes:sub(P - 9, P), m:view(P - 9, P):sub(1, -1))
      assert.is_true(m:close())
    end)
  end

  it("raises when the whole file is gone", function()
    local P = H.page_size()
    local p = H.tmpfile(("line\n"):rep(P))
    local m = assert(tome.open(p))
    assert.equal(P, m:count("\n"))
    truncate(p, 0, "reopen")
    trunc_error(function() local _ = m[1] end)
    trunc_error(function() local _ = m:sub(1, 5) end)
    trunc_error(function() local _ = m:count("\n") end)
    trunc_error(function() for _ in m:lines() do end end)
    -- the process goes on: new maps work
    local w = tome.wrap("still alive")
    assert.equal("alive", w:sub(-5))
    assert.is_true(m:close())
  end)
end)

describe("indexes out of range", function()
  it("give nil for v[i] and clamp for sub and view", function()
    local v = tome.wrap("abcdef"):view(2, 5)     -- "bcde"
    for _, i in ipairs { 0, 5, -5, 100, -100, math.maxinteger,
                         math.mininteger } do
      assert.is_nil(v[i])
    end
    assert.equal("bcde", v:sub(math.mininteger, math.maxinteger))
    assert.equal("", v:sub(math.maxinteger, math.mininteger))
    assert.equal("", v:sub(math.maxinteger))
    assert.equal("bcde", v:view(math.mininteger):sub(1, -1))
    assert.equal(0, #v:view(math.maxinteger))
    assert.equal(0, #v:view(3, 2))
    assert.same({}, { v:byte(math.maxinteger, math.maxinteger) })
    assert.same({ 98, 99, 100, 101 }, { v:byte(math.mininteger,
                                               math.maxinteger) })
    assert.is_nil(v:find("b", math.maxinteger, true))
    assert.same({ 1, 1 }, { v:find("b", math.mininteger, true) })
    assert.equal(0, v:count("b", math.maxinteger))
    assert.equal(1, v:count("b", math.mininteger, math.maxinteger))
    assert.equal(0, #H.collect(v:lines("l", math.maxinteger)))
    assert.equal(1, #H.collect(v:lines("l", math.mininteger)))
    assert.has_error(function() local _ = v:unpack("b", math.maxinteger) end)
    assert.has_error(function() local _ = v:unpack("b", 6) end)
    H.raises("out of range", function() local _ = v:lineno(6) end)
    H.raises("out of range", function() local _ = v:lineno(0) end)
  end)
end)

describe("bad arguments", function()
  teardown(H.cleanup)

  -- the same call on a string and on a map must give the same message
  local function same_error(call)
    local s = "abcdef"
    local v = tome.wrap(s)
    local want = H.error_of(call, s)
    local got = H.error_of(call, v)
    assert.equal(want, got)
  end

  it("give the string library's messages", function()
    same_error(function(x) local _ = x:sub("x") end)
    same_error(function(x) local _ = x:sub(1.5) end)
    same_error(function(x) local _ = x:sub() end)
    same_error(function(x) local _ = x:sub(1, {}) end)
    same_error(function(x) local _ = x:byte({}) end)
    same_error(function(x) local _ = x:byte(1, "y") end)
    same_error(function(x) local _ = x:byte(2 ^ 63) end)
    same_error(function(x) local _ = x:find(nil) end)
    same_error(function(x) local _ = x:find("a", "b") end)
    same_error(function(x) local _ = x:find("a", 1.5, true) end)
  end)

  it("give the io library's messages", function()
    local f = assert(io.tmpfile())
    f:write("abc\n")
    f:seek("set", 0)
    local v = tome.wrap("abc\n")
    local calls = {
      function(x) local _ = x:read("x") end,
      function(x) local _ = x:read({}) end,
      function(x) local _ = x:read("l", "q") end,
      function(x) local _ = x:seek("nowhere") end,
      function(x) local _ = x:seek("set", "x") end,
      function(x) local _ = x:seek("set", 1.5) end,
      function(x) local _ = x:write({}) end,
      function(x) local _ = x:write(true) end,
    }
    for k, call in ipairs(calls) do
      local want = H.error_of(call, f)
      local got = H.error_of(call, v)
      assert.equal(want, got, "call " .. k)
    end
    f:close()
  end)

  it("raise clear errors in the rest of the API", function()
    local v = tome.wrap("abc\ndef\n")
    local cases = {
      { "empty", function() local _ = v:count("") end },
      { "bad argument #1 to 'count'", function() local _ = v:count(nil) end },
      { "bad argument #2 to 'count'", function() local _ = v:count("a", "x") end },
      { "bad argument #1 to 'rfind'", function() local _ = v:rfind({}) end },
      { "bad argument #2 to 'rfind'", function() local _ = v:rfind("a", "x") end },
      { "bad argument #1 to 'view'", function() local _ = v:view("x") end },
      { "bad argument #2 to 'view'", function() local _ = v:view(1, {}) end },
      { "bad argument #1 to 'lines'", function() local _ = v:lines("x") end },
      { "bad argument #2 to 'lines'", function() local _ = v:lines("l", "x") end },
      { "bad argument #1 to 'split'", function() local _ = v:split(nil) end },
      { "empty", function() local _ = v:split("") end },
      { "bad argument #1 to 'unpack'", function() local _ = v:unpack({}) end },
      { "bad argument #2 to 'unpack'", function() local _ = v:unpack("i4", "z") end },
      { "out of limits", function() local _ = v:unpack("i17") end },
      { "out of string", function() local _ = v:unpack("i4", 10) end },
      { "too short", function() local _ = v:unpack("i4", 7) end },
      { "bad argument #2 to 'split'", function() local _ = v:split(",", "x") end },
      { "bad argument #1 to 'grep'", function() local _ = v:grep(nil) end },
      { "bad argument #1 to 'lineno'", function() local _ = v:lineno("x") end },
      { "bad argument #1 to 'lineno'", function() local _ = v:lineno() end },
      { "bad argument #1 to 'pack'", function() local _ = v:pack("x", "b", 1) end },
      { "bad argument #2 to 'pack'", function() local _ = v:pack(1, {}, 1) end },
      { "bad argument #1 to 'resize'", function() v:resize("x") end },
      { "bad argument #1 to 'advise'", function() v:advise("x") end },
      { "bad argument #1 to 'flush'", function() v:flush("x") end },
      { "invalid mode", function() local _ = tome.open("/dev/null", "rw") end },
      { "bad argument #1 to 'open'", function() local _ = tome.open({}) end },
      { "bad argument #1", function() local _ = tome.open(123) end },
      { "bad argument #1 to 'wrap'", function() local _ = tome.wrap() end },
      { "bad argument #2 to 'create'", function()
          local _ = tome.create(H.tmpname(), "big") end },
    }
    for _, case in ipairs(cases) do
      H.raises(case[1], case[2])
    end
  end)

  it("raise, never crash, when a method gets the wrong self", function()
    local m = tome.wrap("abc")
    local names = {}
    for _, k in ipairs { "byte", "sub", "len", "view", "find", "rfind",
      "count", "lines", "split", "grep", "lineno", "unpack", "offset", "map",
      "read", "seek", "write", "close", "pack", "resize", "flush",
      "advise" } do
      names[#names + 1] = k
    end
    local selves = { "abc", 1, nil, {}, io.stdout, true, print }
    for _, name in ipairs(names) do
      local f = m[name]
      if f ~= nil then
        assert.is_function(f, name)
        for k = 1, 7 do
          local ok = pcall(f, selves[k], 1, 2)
          assert.is_false(ok, name)
        end
      end
    end
    -- the metamethods too
    local mt = getmetatable(m)
    if type(mt) == "table" then
      for _, mm in ipairs { "__index", "__newindex", "__len", "__tostring",
                            "__close", "__gc" } do
        local f = rawget(mt, mm)
        if type(f) == "function" then
          pcall(f, "abc", 1, 2)
          pcall(f, {}, 1, 2)
          pcall(f, nil)
        end
      end
    end
  end)
end)
