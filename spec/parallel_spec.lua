-- spec/parallel_spec.lua -- tome.parallel: chunks, order, results,
-- reduce, separators, the upvalue error, worker errors.
local H = require "spec.helpers"
local tome = require "tome"

local function numbers_file(n)
  local t = {}
  for i = 1, n do t[i] = tostring(i) end
  return H.tmpfile(table.concat(t, "\n") .. "\n")
end

describe("tome.parallel", function()
  after_each(H.cleanup)

  it("runs fn on chunks that cover the source exactly, in order", function()
    local path = numbers_file(20000)
    local m = assert(tome.open(path))
    for _, workers in ipairs { 1, 2, 3 } do
      local parts = tome.parallel(m, function(v)
        return { off = v:offset(), len = #v, text = v:sub(1, -1) }
      end, { workers = workers, chunks = 7 })
      assert.is_true(parts.n >= 1 and parts.n <= 7)
      local pos, text = 1, {}
      for i = 1, parts.n do
        assert.are.equal(pos, parts[i].off)
        pos = pos + parts[i].len
        text[i] = parts[i].text
        -- every chunk ends just after a separator (the file ends with one)
        assert.are.equal("\n", parts[i].text:sub(-1))
      end
      assert.are.equal(#m + 1, pos)
      assert.are.equal(H.readfile(path), table.concat(text))
    end
  end)

  it("folds the results in chunk order with reduce", function()
    local m = assert(tome.open(numbers_file(50000)))
    local sum = tome.parallel(m, function(v)
      local s = 0
      for line in v:lines() do s = s + tonumber(line) end
      return s
    end, { reduce = function(a, b) return a + b end })
    assert.are.equal(50000 * 50001 // 2, sum)
    -- order: concatenating first lines must give increasing numbers
    local firsts = tome.parallel(m, function(v)
      return v:match("^(%d+)")
    end, { chunks = 5, reduce = function(a, b) return a .. "," .. b end })
    local prev = 0
    for n in firsts:gmatch("%d+") do
      assert.is_true(tonumber(n) > prev)
      prev = tonumber(n)
    end
  end)

  it("cuts after opts.sep, never inside a record", function()
    local recs = {}
    for i = 1, 3000 do recs[i] = ("rec%d;x"):format(i) end
    local m = tome.wrap(table.concat(recs, "||"))
    local counts = tome.parallel(m, function(v)
      local n = 0
      for f in v:split("||") do
        if f ~= "" then
          assert(f:match("^rec%d+;x$"), "cut record: " .. f)
          n = n + 1
        end
      end
      return n
    end, { sep = "||", chunks = 9, reduce = function(a, b) return a + b end })
    assert.are.equal(3000, counts)
  end)

  it("accepts a path and a view", function()
    local path = numbers_file(1000)
    local n = tome.parallel(path, function(v) return v:count("\n") end,
      { reduce = function(a, b) return a + b end })
    assert.are.equal(1000, n)
    local m = assert(tome.open(path))
    local v = m:view(m:find("500\n", 1, true), -1)
    local lines = tome.parallel(v, function(w) return w:count("\n") end,
      { reduce = function(a, b) return a + b end, chunks = 3 })
    assert.are.equal(501, lines)
    local got = table.pack(tome.parallel(path .. ".missing", function() end))
    assert.are.equal(3, got.n)
    assert.is_nil(got[1])
    assert.are.equal(path .. ".missing: No such file or directory", got[2])
    assert.are.equal(2, got[3])
  end)

  it("moves nil, booleans, numbers, strings and nested tables", function()
    local m = tome.wrap("a\nb\n")
    local r = tome.parallel(m, function()
      return { 1, 2.5, "s\0z", true, false, { nested = { deep = "yes" } },
               [10] = math.maxinteger, [-1] = math.mininteger,
               inf = math.huge }
    end, { chunks = 1 })
    assert.are.equal(1, r.n)
    local t = r[1]
    assert.are.equal(1, t[1])
    assert.are.equal(2.5, t[2])
    assert.is_true(math.type(t[1]) == "integer")
    assert.are.equal("s\0z", t[3])
    assert.are.equal(true, t[4])
    assert.are.equal(false, t[5])
    assert.are.equal("yes", t[6].nested.deep)
    assert.are.equal(math.maxinteger, t[10])
    assert.are.equal(math.mininteger, t[-1])
    assert.are.equal(math.huge, t.inf)
    local nils = tome.parallel(tome.wrap(("a\n"):rep(100)),
      function() return nil end, { chunks = 2 })
    assert.are.equal(2, nils.n)
    assert.is_nil(nils[1])
  end)

  it("passes opts.arg to every call", function()
    local m = tome.wrap(("x\n"):rep(100))
    local r = tome.parallel(m, function(v, arg)
      return v:count(arg.what) * arg.k
    end, { arg = { what = "x", k = 2 }, reduce = function(a, b)
      return a + b end })
    assert.are.equal(200, r)
  end)

  it("refuses functions that capture locals, naming the upvalue", function()
    local m = tome.wrap("a\n")
    local captured = 5
    assert.has_error(function()
      tome.parallel(m, function() return captured end)
    end, "tome.parallel: the function captures the local variable "
      .. "'captured' (upvalue 1); workers run in their own Lua states, "
      .. "which see neither this state's locals nor its globals: pass data "
      .. "with opts.arg (fn gets it as its second argument)")
    H.raises("Lua function expected", tome.parallel, m, print)
  end)

  it("raises a worker's error with the chunk's byte range", function()
    local m = tome.wrap(("line\n"):rep(1000))
    local ok, err = pcall(tome.parallel, m, function(v)
      if v:offset() > 1 then error("boom at " .. v:offset()) end
      return 1
    end, { chunks = 4, workers = 2 })
    assert.is_false(ok)
    local a, b = err:match("^tome%.parallel: error in the chunk %[(%d+), (%d+)%]: ")
    assert.is_truthy(a, err)
    assert.matches("boom at " .. a, err, 1, true)
    assert.is_true(tonumber(b) >= tonumber(a))
  end)

  it("refuses results that cannot cross states", function()
    local m = tome.wrap("a\n")
    H.raises("result: function cannot be encoded",
      tome.parallel, m, function() return print end)
    H.raises("result.list[2]: userdata cannot be encoded",
      tome.parallel, m, function(v) return { list = { 1, v } } end)
    H.raises("result[1]: a cycle (this table is also result)",
      tome.parallel, m, function() local t = {} t[1] = t return t end)
    H.raises("tome.parallel: opts.arg.f: function cannot be encoded",
      tome.parallel, m, function() end, { arg = { f = print } })
  end)

  it("checks its options", function()
    local m = tome.wrap("a\n")
    local f = function() end
    H.raises("opts.workers must be 1 to 1024", tome.parallel, m, f,
      { workers = 0 })
    H.raises("opts.sep must be a non-empty string", tome.parallel, m, f,
      { sep = "" })
    H.raises("opts.workers must be an integer", tome.parallel, m, f,
      { workers = "x" })
  end)

  it("gives nil (reduce) or an empty list for an empty source", function()
    local m = tome.wrap("")
    assert.is_nil(tome.parallel(m, function() return 1 end,
      { reduce = function(a, b) return a + b end }))
    assert.are.equal(0, tome.parallel(m, function() return 1 end).n)
  end)

  it("lets workers read through the pread path of a large file", function()
    local path = numbers_file(300000)   -- about 2 MB: above the pread cut
    local m = assert(tome.open(path))
    local n = tome.parallel(m, function(v)
      local k = 0
      for _ in v:lines() do k = k + 1 end
      return k
    end, { reduce = function(a, b) return a + b end })
    assert.are.equal(300000, n)
  end)
end)
