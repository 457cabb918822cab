-- spec/scanpath_spec.lua -- the three ways a scan reads a file (through
-- the mapping whole, with pread in windows, through the mapping in steps
-- released behind it) give the same answers as the string library.
local H = require "spec.helpers"
local tome = require "tome"

local MODES = {
  { "mapping, one window", 1 << 62, 1 << 18, 0 },
  { "pread, 7-byte windows", 0, 7, 0 },
  { "pread, 64-byte windows", 0, 64, 0 },
  { "mapped steps of 5 bytes", 0, 1 << 18, 5 },
  { "mapped steps of 64 bytes", 0, 1 << 18, 64 },
}

local function with_mode(mode, f)
  local a, b, c = tome._tune(mode[2], mode[3], mode[4])
  local ok, err = pcall(f)
  tome._tune(a, b, c)
  assert(ok, err)
end

local function lines_of(it)
  local out = {}
  for l, p in it do out[#out + 1] = { l, p } end
  return out
end

describe("scan paths", function()
  after_each(H.cleanup)

  for _, mode in ipairs(MODES) do
    it("agree with the string library: " .. mode[1], function()
      local r = H.rng("scan paths " .. mode[1])
      for _ = 1, 12 do
        local s = r:from("ab\n\0x", r:int(0, 700))
        local path = H.tmpfile(s)
        local m = assert(tome.open(path))
        with_mode(mode, function()
          for _ = 1, 8 do
            local x = r:from("ab\nx", r:int(1, 3))
            local what = ("%q in %d bytes [TOME_SEED=%d]"):format(x, #s,
              H.seed)
            assert.are.equal(H.count_model(s, x), m:count(x), "count " .. what)
            assert.are.same({ s:find(x, 1, true) }, { m:find(x, 1, true) },
              "find " .. what)
            local last = r:int(1, #s + 1)
            assert.are.same({ H.rfind_model(s, x, last) },
              { m:rfind(x, last) }, "rfind " .. what)
            assert.are.same(H.grep_model(s, x), lines_of(m:grep(x)),
              "grep " .. what)
            assert.are.same(H.split_model(s, x), lines_of(m:split(x)),
              "split " .. what)
          end
          assert.are.same(H.lines_model(s, false, 1), lines_of(m:lines()))
          assert.are.same(H.lines_model(s, true, 1), lines_of(m:lines("L")))
          local pos = r:int(1, #s + 1)
          assert.are.equal(H.lineno_model(s, pos), m:lineno(pos))
        end)
        m:close()
      end
    end)
  end

  it("keep lines that cross steps whole, however long", function()
    local long = ("y"):rep(3000)
    local s = "a\n" .. long .. "\nb\n" .. long
    local m = assert(tome.open(H.tmpfile(s)))
    with_mode({ "", 0, 1 << 18, 16 }, function()
      assert.are.same(H.lines_model(s, false, 1), lines_of(m:lines()))
      assert.are.equal(2, m:count(long))
      assert.are.same({ { long, 3 } }, lines_of(m:view(1, 3003):grep("y")))
    end)
  end)
end)
