-- spec/open_spec.lua -- making maps: tome.open (modes, "-", pipes, FIFOs,
-- /proc, empty files, failures), tome.create, tome.wrap, tome.type,
-- tome.version, tostring.

local H = require "spec.helpers"
local tome = H.tome
local q = H.shell_quote

-- run a Lua script with the tome host; 'redir' is shell text appended to
-- the command (e.g. "< file"); returns stdout, success
local function host(script, redir, prefix)
  local sp = H.tmpfile(script)
  os.execute("chmod 644 " .. q(sp))   -- tmpfiles are 0600; a child may drop root
  return H.run(("%s%s %s %s 2>&1"):format(prefix or "", q(H.tome_bin()),
    q(sp), redir or ""))
end

local function host_available()
  local f = io.open(H.tome_bin(), "rb")
  if f then f:close() return true end
  return false
end

describe("tome.open", function()
  teardown(H.cleanup)

  it("maps a file read-only by default", function()
    local p = H.tmpfile("hello\nworld\n")
    local m = assert(tome.open(p))
    assert.equal("map", tome.type(m))
    assert.equal(12, #m)
    assert.equal("hello\nworld\n", m:sub(1, -1))
    H.raises("read-only", function() m[1] = 65 end)
    assert.equal("hello\nworld\n", H.readfile(p))
    local m2 = assert(tome.open(p, "r"))
    assert.equal("hello\nworld\n", m2:sub(1, -1))
    H.raises("read-only", function() m2:write("x") end)
  end)

  it("opens in modes r+ and c", function()
    local p = H.tmpfile("abc")
    local rw = assert(tome.open(p, "r+"))
    assert.equal("map", tome.type(rw))
    assert.equal("abc", rw:sub(1, -1))
    local c = assert(tome.open(p, "c"))
    assert.equal("abc", c:sub(1, -1))
    c[1] = 120
    assert.equal("xbc", c:sub(1, -1))
    assert.equal("abc", H.readfile(p))
    rw[1] = 65
    assert.equal("Abc", H.readfile(p))
  end)

  it("rejects an invalid mode", function()
    local p = H.tmpfile("abc")
    for _, mode in ipairs { "x", "w", "rw", "", "r+x", "a" } do
      H.raises("invalid mode", function() return tome.open(p, mode) end)
    end
  end)

  it("raises on a path that is not a string", function()
    H.raises("bad argument #1", function() return tome.open(123) end)
    H.raises("bad argument #1", function() return tome.open({}) end)
    H.raises("bad argument #1", function() return tome.open(nil) end)
    H.raises("bad argument #1", function() return tome.open() end)
  end)

  it("maps an empty file as length 0", function()
    local p = H.tmpfile("")
    for _, mode in ipairs { "r", "r+", "c" } do
      local m = assert(tome.open(p, mode))
      assert.equal("map", tome.type(m))
      assert.equal(0, #m)
      assert.equal("", m:sub(1, -1))
      assert.is_nil(m[1])
      assert.equal(0, m:count("\n"))
      assert.equal(0, #H.collect(m:lines()))
      assert.same({ 1, 0 }, { m:find("", 1, true) })
      assert.is_nil(m:find("a", 1, true))
      assert.equal("", m:read("a"))
      assert.is_nil(m:read("l"))
      assert.equal(0, m:seek("end"))
      assert.equal(0, #m:view())
      assert.is_true(m:close())
    end
  end)

  it("returns nil, msg, errno for a missing file", function()
    local p = H.tmpname()
    for _, mode in ipairs { "r", "r+", "c" } do
      local got = table.pack(tome.open(p, mode))
      local want = table.pack(io.open(p, "rb"))
      assert.equal(3, got.n)
      assert.is_nil(got[1])
      assert.equal(want[2], got[2])
      assert.equal(2, got[3])
      assert.is_nil(io.open(p, "rb"), "r+ must not create the file")
    end
    local got = table.pack(tome.open("/etc/passwd/not-a-dir"))
    assert.is_nil(got[1])
    assert.is_string(got[2])
    assert.equal(20, got[3])       -- ENOTDIR
  end)

  it("returns nil, msg, errno for a directory", function()
    local d = H.tmpname(".d")
    assert(os.execute("mkdir " .. q(d)))
    for _, mode in ipairs { "r", "r+", "c" } do
      local got = table.pack(tome.open(d, mode))
      assert.equal(3, got.n)
      assert.is_nil(got[1])
      assert.is_string(got[2])
      assert.truthy(got[2]:find(d, 1, true), got[2])
      assert.equal("integer", math.type(got[3]))
      assert.equal(21, got[3])     -- EISDIR
    end
  end)

  -- root reads any file (CAP_DAC_OVERRIDE), so as root the check runs the
  -- host in a child process with its privileges dropped to nobody
  it("returns nil, msg, errno without permission", function()
    local p = H.tmpfile("secret\n")
    local ro = H.tmpfile("read only\n")
    assert(os.execute("chmod 000 " .. q(p)))
    assert(os.execute("chmod 444 " .. q(ro)))
    if not H.is_root() then
      local got = table.pack(tome.open(p))
      assert.is_nil(got[1])
      assert.truthy(got[2]:find(p, 1, true), got[2])
      assert.equal(13, got[3])
      got = table.pack(tome.open(ro, "r+"))
      assert.is_nil(got[1])
      assert.equal(13, got[3])
      assert.equal("read only\n", assert(tome.open(ro)):sub(1, -1))
      return
    end
    local has_setpriv = select(2, H.run("command -v setpriv"))
    if not has_setpriv or not host_available() then
      pending("running as root without setpriv or the host: " ..
              "permissions cannot be denied")
      return
    end
    local out, ok = host(([[
      local tome = require "tome"
      local function show(...) print(select("#", ...), ...) end
      show(tome.open(%q))
      show(tome.open(%q, "r+"))
      show(tome.open(%q, "c"))
      local m = tome.open(%q)
      print(m and m:sub(1, -1):gsub("\n", "") or "no map")
    ]]):format(p, ro, ro, ro), "",
      "setpriv --reuid=65534 --regid=65534 --clear-groups ")
    assert.is_true(ok, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(("3\tnil\t%s: Permission denied\t13"):format(p), lines[1])
    assert.equal(("3\tnil\t%s: Permission denied\t13"):format(ro), lines[2])
    assert.truthy(lines[3]:find("^1\ttome%.map: "), lines[3])
    assert.equal("read only", lines[4])
  end)

  it("reads /proc files and character devices into memory", function()
    for _, p in ipairs { "/proc/self/cmdline", "/proc/version",
                         "/proc/self/maps" } do
      local m = assert(tome.open(p))
      assert.equal("map", tome.type(m))
      local want = H.readfile(p)
      if p ~= "/proc/self/maps" then      -- maps changes as we allocate
        assert.equal(want, m:sub(1, -1))
      end
      assert.truthy(#m > 0)
      assert.equal(m:sub(1, -1), m:read("a"))
      assert.equal(H.count_model(m:sub(1, -1), "\n"), m:count("\n"))
    end
    local null = assert(tome.open("/dev/null"))
    assert.equal(0, #null)
    assert.equal("", null:sub(1, -1))
  end)

  it("reads a FIFO into memory", function()
    local r = H.rng("fifo")
    local data = r:bytes(300000)
    local src = H.tmpfile(data)
    local fifo = H.tmpname(".fifo")
    assert(os.execute("mkfifo " .. q(fifo)))
    -- the writer blocks in open() until we open the FIFO; paths go in as
    -- arguments, and timeout keeps a failed run from leaving it behind
    assert(os.execute(("timeout 20 sh -c 'exec cat \"$0\" > \"$1\"' %s %s &")
      :format(q(src), q(fifo))))
    local m = assert(tome.open(fifo))
    assert.equal("map", tome.type(m))
    assert.equal(#data, #m)
    assert.equal(data, m:sub(1, -1))
    assert.equal(H.count_model(data, "\n"), m:count("\n"))
    assert.equal(data:sub(-5), m:view(-5):sub(1, -1))
  end)

  describe("with \"-\" (standard input)", function()
    local script = [[
      local tome = require "tome"
      local m = assert(tome.open("-"))
      io.write(tome.type(m), " ", #m, " ", m:count("\n"), "\n", m:sub(1, -1))
    ]]

    local function check(data, how)
      if not host_available() then
        pending("no host at " .. H.tome_bin())
        return
      end
      local src = H.tmpfile(data)
      local redir = how == "file" and ("< " .. q(src))
                 or how == "pipe" and ""
                 or "< /dev/null"
      local prefix = how == "pipe" and ("cat " .. q(src) .. " | ") or ""
      local out, ok = host(script, redir, prefix)
      assert.is_true(ok, out)
      local head, rest = out:match("^([^\n]*)\n(.*)$")
      local want = how == "null" and "" or data
      assert.equal(("map %d %d"):format(#want, H.count_model(want, "\n")),
        head)
      assert.equal(want, rest)
    end

    it("reads a redirected file", function()
      check("one\ntwo\nthree", "file")
    end)
    it("reads a pipe", function()
      check("a pipe\nof lines\n", "pipe")
    end)
    it("reads a large pipe", function()
      check(H.rng("big pipe"):bytes(700000), "pipe")
    end)
    it("reads an empty pipe", function()
      check("", "pipe")
    end)
    it("reads /dev/null", function()
      check("", "null")
    end)
  end)
end)

describe("tome.create", function()
  teardown(H.cleanup)

  it("creates a file of zero bytes, mapped r+", function()
    local p = H.tmpname(".new")
    local m = assert(tome.create(p, 10000))
    assert.equal("map", tome.type(m))
    assert.equal(10000, #m)
    assert.equal(("\0"):rep(10000), m:sub(1, -1))
    assert.equal(10000, H.filesize(p))
    m[1] = 65
    m[-1] = 66
    m:flush()
    local s = H.readfile(p)
    assert.equal("A", s:sub(1, 1))
    assert.equal("B", s:sub(-1))
    assert.is_true(m:close())
  end)

  it("truncates an existing file", function()
    local p = H.tmpfile(("x"):rep(5000))
    local m = assert(tome.create(p, 10))
    assert.equal(("\0"):rep(10), m:sub(1, -1))
    assert.equal(10, H.filesize(p))
    m:close()
    local z = assert(tome.create(p, 0))
    assert.equal(0, #z)
    assert.equal(0, H.filesize(p))
  end)

  it("returns nil, msg, errno when it cannot create", function()
    local got = table.pack(tome.create("/nonexistent-dir/x/y", 10))
    assert.is_nil(got[1])
    assert.is_string(got[2])
    assert.equal(2, got[3])
  end)

  it("raises on bad arguments", function()
    local p = H.tmpname(".new")
    H.raises("bad argument", function() return tome.create(p, -1) end)
    H.raises("bad argument", function() return tome.create(p, "x") end)
    H.raises("bad argument", function() return tome.create(p) end)
    H.raises("bad argument", function() return tome.create({}, 1) end)
  end)
end)

describe("tome.wrap", function()
  it("maps a private, writable copy of a string", function()
    local s = "some\0bytes\n"
    local w = tome.wrap(s)
    assert.equal("map", tome.type(w))
    assert.equal(#s, #w)
    assert.equal(s, w:sub(1, -1))
    w[1] = 83
    assert.equal("Some\0bytes\n", w:sub(1, -1))
    assert.equal("some\0bytes\n", s)
    local other = tome.wrap(s)
    assert.equal(s, other:sub(1, -1))
    assert.equal(0, #tome.wrap(""))
    H.raises("bad argument #1", function() return tome.wrap({}) end)
    H.raises("bad argument #1", function() return tome.wrap() end)
  end)
end)

describe("tome.type", function()
  it("tells maps, views and closed maps from everything else", function()
    local m = tome.wrap("abc")
    local v = m:view(2)
    assert.equal("map", tome.type(m))
    assert.equal("view", tome.type(v))
    assert.equal("view", tome.type(v:view(1, 1)))
    m:close()
    assert.equal("closed map", tome.type(m))
    assert.equal("view", tome.type(v))
    for _, x in ipairs { "abc", 1, 2.5, true, {}, print, io.stdout,
                         coroutine.create(print) } do
      assert.is_nil(tome.type(x))
    end
    assert.is_nil(tome.type(nil))
    assert.is_nil((tome.type()))
  end)
end)

describe("tome.version", function()
  it("is a string such as 'tome 0.1.0'", function()
    assert.is_string(tome.version)
    assert.truthy(tome.version:match("^tome %d+%.%d+%.%d+"), tome.version)
  end)
end)

describe("tostring", function()
  teardown(H.cleanup)
  it("describes maps of every kind and views", function()
    local p = H.tmpfile("CONTENTS OF THE FILE")
    for _, m in ipairs { assert(tome.open(p)), assert(tome.open(p, "r+")),
                         assert(tome.open(p, "c")), tome.wrap("CONTENTS"),
                         assert(tome.create(H.tmpname(), 3)) } do
      local s = tostring(m)
      assert.equal(1, s:find("tome.map: ", 1, true), s)
      assert.is_nil(s:find("CONTENTS", 1, true), s)
      local v = tostring(m:view(2, 3))
      assert.equal(1, v:find("tome.view: ", 1, true), v)
      assert.is_nil(v:find("ONT", 1, true), v)
      m:close()
      assert.is_string(tostring(m))          -- even closed, no error
    end
  end)
end)
