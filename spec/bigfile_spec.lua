-- spec/bigfile_spec.lua -- offsets above 4 GiB, on a sparse file that
-- takes a few KB on disk: positions, views, searches, lines, unpack.
local H = require "spec.helpers"
local tome = require "tome"

local GiB = 1024 * 1024 * 1024
local SIZE = 5 * GiB + 12345
local MID = 4 * GiB + 777           -- a line well above 2^32
local HEAD = "first line\nsecond line\n"
local MIDTEXT = "middle marker 4GiB\nnext\n"
local TAIL = "\nlast line one\nlast line two"

local function sparse_file()
  local p = H.tmpname()
  local f = assert(io.open(p, "wb"))
  assert(f:write(HEAD))
  assert(f:seek("set", MID - 1))
  assert(f:write(MIDTEXT))
  assert(f:seek("set", SIZE - #TAIL))
  assert(f:write(TAIL))
  assert(f:close())
  return p
end

describe("a sparse file above 4 GiB", function()
  local path, m
  setup(function()
    path = sparse_file()
    m = assert(tome.open(path))
  end)
  teardown(function()
    if m then m:close() end
    H.cleanup()
  end)

  it("has the right length and bytes at high positions", function()
    assert.are.equal(SIZE, #m)
    assert.are.equal(("m"):byte(), m[MID])
    assert.are.equal(0, m[MID - 1])
    assert.are.equal(("o"):byte(), m[-1])
    assert.are.equal(MIDTEXT, m:sub(MID, MID + #MIDTEXT - 1))
    assert.are.equal(TAIL, m:sub(-#TAIL))
  end)

  it("makes views above 4 GiB that know their offset", function()
    local v = m:view(MID, MID + 17)
    assert.are.equal(MID, v:offset())
    assert.are.equal("middle marker 4GiB", v:sub(1, -1))
    local w = v:view(8, 13)
    assert.are.equal(MID + 7, w:offset())
    assert.are.equal("marker", w:sub(1, -1))
    assert.are.equal(m, w:map())
  end)

  it("finds, rfinds and counts above 4 GiB", function()
    local s, e = m:find("marker", MID - 100, true)
    assert.are.equal(MID + 7, s)
    assert.are.equal(MID + 12, e)
    s, e = m:rfind("last line")
    assert.are.equal(SIZE - #"last line two" + 1, s)
    assert.are.equal(s + 8, e)
    s = m:rfind("marker", MID + 100)
    assert.are.equal(MID + 7, s)
    assert.are.equal(2, m:count("\n", MID, MID + 4096))
    local tail = m:view(SIZE - 4096)
    assert.are.equal(2, tail:count("\n"))
  end)

  it("iterates lines from an init near the end", function()
    local got = {}
    for line, pos in m:lines("l", SIZE - #TAIL + 2) do
      got[#got + 1] = { line, pos }
    end
    assert.are.same({ { "last line one", SIZE - #TAIL + 2 },
                      { "last line two", SIZE - #TAIL + 16 } }, got)
    local vs = {}
    for line in m:view(MID):lines("v") do
      vs[#vs + 1] = line
      if #vs == 2 then break end
    end
    assert.are.equal(MID, vs[1]:offset())
    assert.are.equal("next", vs[2]:sub(1, -1))
  end)

  it("greps and matches above 4 GiB", function()
    local n = 0
    for line, pos in m:view(MID - 10, MID + 100):grep("marker") do
      -- the view starts in the hole: its first line has ten NULs
      assert.are.equal(("\0"):rep(10) .. "middle marker 4GiB", line)
      assert.are.equal(1, pos)
      n = n + 1
    end
    assert.are.equal(1, n)
    assert.are.equal("4GiB", m:match("marker (%w+)", MID))
  end)

  it("unpacks at offsets above 4 GiB", function()
    local a, b, nextpos = m:unpack("c6 c6", MID)
    assert.are.equal("middle", a)
    assert.are.equal(" marke", b)
    assert.are.equal(MID + 12, nextpos)
    local z = m:unpack("z", MID + 7)
    assert.are.equal("marker 4GiB\nnext\n", z)
  end)

  it("writes at offsets above 4 GiB through r+", function()
    local w = assert(tome.open(path, "r+"))
    w[MID] = ("M"):byte()
    w:pack(MID + 1, "c5", "IDDLE")
    w:close()
    local f = assert(io.open(path, "rb"))
    f:seek("set", MID - 1)
    assert.are.equal("MIDDLE marker", f:read(13))
    f:close()
  end)
end)
