-- spec/writer_spec.lua -- writers: tome.output(path) is atomic (nothing
-- at the path before close, the old contents until then, nothing left
-- after abort, an error in a <close> scope or garbage collection, and no
-- temporary file left behind in any case); w:write takes strings, numbers
-- (formatted as file:write formats them) and views; tome.stdout and
-- tome.stderr keep their order with print and io.write.

local H = require "spec.helpers"
local tome = H.tome

-- a fresh empty directory (removed by H.cleanup)
local function tmpdir()
  local d = H.tmpname(".dir")
  assert(os.execute("mkdir " .. H.shell_quote(d)))
  return d
end

-- the names in directory d, sorted, as one string ("a b c")
local function listing(d)
  local out = H.run("ls -A " .. H.shell_quote(d))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, " ")
end

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

-- what file:write writes for the same arguments
local function file_write_model(...)
  local p = H.tmpname(".model")
  local f = assert(io.open(p, "wb"))
  assert(f:write(...))
  f:close()
  return H.readfile(p)
end

describe("tome.output", function()
  teardown(H.cleanup)

  it("shows nothing at the path until close, then the whole contents",
     function()
    local d = tmpdir()
    local p = d .. "/out.txt"
    local w = assert(tome.output(p))
    w:write("hello, ")
    w:write("world\n")
    assert.is_false(exists(p))
    assert(w:flush() == w, "flush returns the writer")
    assert.is_false(exists(p))
    -- while open, the data lives in one hidden temporary file beside it
    local during = listing(d)
    assert.is_truthy(during:match("^%.[^ ]+$"), "one temporary file: "
                     .. during)
    assert.equal(true, w:close())
    assert.equal("hello, world\n", H.readfile(p))
    assert.equal("out.txt", listing(d))
  end)

  it("keeps an existing file's old contents until close", function()
    local d = tmpdir()
    local p = d .. "/data"
    local f = assert(io.open(p, "wb"))
    f:write("old contents\n")
    f:close()
    local w = assert(tome.output(p))
    w:write(("new "):rep(50000))       -- more than the buffer
    w:flush()
    assert.equal("old contents\n", H.readfile(p))
    assert.equal(true, w:close())
    assert.equal(("new "):rep(50000), H.readfile(p))
    assert.equal("data", listing(d))
  end)

  it("gives a new file the usual mode (0666 minus the umask)", function()
    local d = tmpdir()
    local p = d .. "/moded"
    local w = assert(tome.output(p))
    w:write("x")
    assert(w:close())
    local um = tonumber((H.run("umask"):match("%d+")), 8)
    local mode = tonumber((H.run("stat -c %a " .. H.shell_quote(p))
                           :match("%d+")), 8)
    assert.equal(0x1b6 & ~um, mode)     -- 0x1b6 == 0666
  end)

  it("leaves nothing after abort", function()
    local d = tmpdir()
    local p = d .. "/aborted"
    local w = assert(tome.output(p))
    w:write(("x"):rep(100000))
    w:abort()
    assert.is_false(exists(p))
    assert.equal("", listing(d))
    w:abort()                           -- twice is harmless
    H.raises("closed writer", w.write, w, "x")
    H.raises("closed writer", w.close, w)
    H.raises("closed writer", w.flush, w)
    -- and an existing file keeps its contents
    local q = H.tmpfile("keep me")
    w = assert(tome.output(q))
    w:write("replacement")
    w:abort()
    assert.equal("keep me", H.readfile(q))
  end)

  it("commits at the end of a <close> scope", function()
    local d = tmpdir()
    local p = d .. "/scoped"
    do
      local w <close> = assert(tome.output(p))
      w:write("scoped\n")
      assert.is_false(exists(p))
    end
    assert.equal("scoped\n", H.readfile(p))
    assert.equal("scoped", listing(d))
  end)

  it("leaves nothing after an error inside a <close> scope", function()
    local d = tmpdir()
    local p = d .. "/failed"
    local ok, err = pcall(function()
      local w <close> = assert(tome.output(p))
      w:write("half of it")
      error("boom")
    end)
    assert.is_false(ok)
    assert.matches("boom", tostring(err))
    assert.is_false(exists(p))
    assert.equal("", listing(d))
    -- an existing file is left as it was
    local f = assert(io.open(p, "wb"))
    f:write("before")
    f:close()
    ok = pcall(function()
      local w <close> = assert(tome.output(p))
      w:write("after")
      error({ "a table error" })
    end)
    assert.is_false(ok)
    assert.equal("before", H.readfile(p))
    assert.equal("failed", listing(d))
    -- a streaming gsub that fails half-way
    local m <close> = tome.wrap(("line\n"):rep(100000))
    ok, err = pcall(function()
      local w <close> = assert(tome.output(p))
      local calls = 0
      m:gsub("line", function()        -- after some 300 KB went out
        calls = calls + 1
        if calls == 60000 then error("replacement failed") end
      end, nil, w)
    end)
    assert.is_false(ok)
    assert.matches("replacement failed", tostring(err))
    assert.equal("before", H.readfile(p))
    assert.equal("failed", listing(d))
  end)

  it("leaves nothing after garbage collection of an unclosed writer",
     function()
    local d = tmpdir()
    local p = d .. "/collected"
    local q = d .. "/existing"
    local f = assert(io.open(q, "wb"))
    f:write("still here")
    f:close()
    -- the writers live only in these calls' frames
    local function drop(path)
      local w = assert(tome.output(path))
      w:write(("data "):rep(20000))
    end
    drop(p)
    drop(q)
    collectgarbage()
    collectgarbage()
    assert.is_false(exists(p))
    assert.equal("still here", H.readfile(q))
    assert.equal("existing", listing(d))
  end)

  it("raises on any use after close, and close only once", function()
    local p = H.tmpname(".closed")
    local w = assert(tome.output(p))
    assert.equal(true, w:close())
    H.raises("closed writer", w.write, w, "x")
    H.raises("closed writer", w.close, w)
    H.raises("closed writer", w.flush, w)
    w:abort()                           -- harmless, and the file stays
    assert.equal("", H.readfile(p))
    local m <close> = tome.wrap("abc")
    H.raises("closed writer", m.gsub, m, "a", "b", nil, w)
  end)

  it("returns nil, message, errno when the directory is missing", function()
    local d = tmpdir()
    local p = d .. "/no/such/dir/file"
    local w, msg, code = tome.output(p)
    assert.is_nil(w)
    assert.equal("string", type(msg))
    assert.truthy(msg:find(p, 1, true), "the message names the path")
    assert.truthy(msg:find("No such file or directory", 1, true), msg)
    assert.equal(2, code)               -- ENOENT
    -- the same triple as io.open
    local _, imsg, icode = io.open(p, "w")
    assert.equal(imsg, msg)
    assert.equal(icode, code)
    assert.equal("", listing(d))
  end)

  it("returns nil, message, errno when the directory is not writable",
     function()
    if H.is_root() then return end      -- root writes anywhere
    local d = tmpdir()
    assert(os.execute("chmod 555 " .. H.shell_quote(d)))
    local w, msg, code = tome.output(d .. "/x")
    os.execute("chmod 755 " .. H.shell_quote(d))
    assert.is_nil(w)
    assert.truthy(msg:find("Permission denied", 1, true), msg)
    assert.equal(13, code)              -- EACCES
  end)

  it("refuses a directory as io.open does", function()
    local d = tmpdir()
    for _, p in ipairs { d, d .. "/", d .. "/.", d .. "/sub/.." } do
      if p:find("sub") then os.execute("mkdir " .. H.shell_quote(d .. "/sub")) end
      local w, msg, code = tome.output(p)
      assert.is_nil(w)
      local _, imsg, icode = io.open(p, "w")
      assert.equal(imsg, msg)
      assert.equal(icode, code)
    end
    assert.equal("sub", listing(d))
  end)

  it("close returns nil, message, errno when the rename fails", function()
    local d = tmpdir()
    local p = d .. "/adir"
    local w = assert(tome.output(p))
    assert(os.execute("mkdir " .. H.shell_quote(p)))  -- there meanwhile
    w:write("cannot replace a directory")
    local ok, msg, code = w:close()
    assert.is_nil(ok)
    assert.equal("string", type(msg))
    assert.truthy(msg:find(p, 1, true), msg)
    assert.equal("integer", math.type(code))
    assert.equal("adir", listing(d))    -- no temporary file left
    H.raises("closed writer", w.write, w, "x")
  end)

  it("reports write errors as nil, message, errno, and leaves nothing",
     function()
    -- a file size limit (with SIGXFSZ ignored) makes write(2) fail: EFBIG
    local d = tmpdir()
    local script = H.tmpfile(([[
      local d = %q
      local w = assert(tome.output(d .. "/big"))
      local ok, msg, code = w:write(("x"):rep(2000000))  -- straight through
      print(ok, msg, code)
      print(w:write("more"))                -- the error sticks
      print(w:close())
      w = assert(tome.output(d .. "/small"))
      w:write(("y"):rep(3000))              -- buffered: fails at close
      print(w:close())
      print(pcall(function()
        local w3 <close> = assert(tome.output(d .. "/scoped"))
        w3:write(("z"):rep(3000))
      end))
    ]]):format(d))
    local out, ok = H.run("sh -c " .. H.shell_quote("trap '' XFSZ; ulimit -f 1; "
      .. H.shell_quote(H.tome_bin()) .. " " .. H.shell_quote(script)))
    assert(ok, out)
    local big = d .. "/big: File too large\t27"
    assert.equal(table.concat({
      "nil\t" .. big, "nil\t" .. big, "nil\t" .. big,
      "nil\t" .. d .. "/small: File too large\t27",
      "false\t" .. d .. "/scoped: File too large", "" }, "\n"), out)
    assert.equal("", listing(d))
  end)

  it("refuses bad arguments", function()
    H.raises("bad argument #1", tome.output)
    H.raises("bad argument #1", tome.output, {})
    local w = assert(tome.output(H.tmpname(".bad")))
    for _, x in ipairs { {}, true, print } do
      H.raises("bad argument #1 to 'write'", function() w:write(x) end)
    end
    H.raises("bad argument #1 to 'write'", function() w:write(nil) end)
    w:abort()
  end)

  it("lets two writers race for one path: the last close wins", function()
    local d = tmpdir()
    local p = d .. "/raced"
    local a = assert(tome.output(p))
    local b = assert(tome.output(p))
    a:write("first")
    b:write("second")
    assert(a:close())
    assert.equal("first", H.readfile(p))
    assert(b:close())
    assert.equal("second", H.readfile(p))
    assert.equal("raced", listing(d))
  end)
end)

describe("w:write", function()
  teardown(H.cleanup)

  -- write the arguments with a fresh writer and return the file's bytes
  local function written(...)
    local p = H.tmpname(".w")
    local w = assert(tome.output(p))
    local r = w:write(...)
    assert(rawequal(r, w), "write returns the writer")
    assert(w:close())
    return H.readfile(p)
  end

  it("writes strings and several arguments, and chains", function()
    assert.equal("", written())
    assert.equal("abc", written("abc"))
    assert.equal("a\0b\r\n", written("a", "\0", "b", "\r\n"))
    assert.equal("", written(""))
    local p = H.tmpname(".chain")
    local w = assert(tome.output(p))
    w:write("a"):write("b", "c"):write():write("d")
    assert(w:close())
    assert.equal("abcd", H.readfile(p))
  end)

  it("formats numbers as file:write does", function()
    local nums = { 0, 1, -1, 42, math.maxinteger, math.mininteger, 1.5,
      -0.0, 0.0, 100.0, 2^53, 2^63, 0.1, 1 / 3, 1e300, -1e-300, 1 / 0,
      -1 / 0, 123456789012345.0, 3.14159265358979 }
    for _, x in ipairs(nums) do
      assert.equal(file_write_model(x), written(x), "number " .. tostring(x))
      assert.equal(H.num2str(x), written(x))
    end
    assert.equal(file_write_model(1, " ", 2.5, "\n", -7),
                 written(1, " ", 2.5, "\n", -7))
    -- NaN: whatever file:write writes for it
    local nan = 0 / 0
    assert.equal(file_write_model(nan), written(nan))
  end)

  it("writes views: maps, views, views of views, empty and mid-map",
     function()
    local r = H.rng("writer views")
    local P = H.page_size()
    local bytes = r:bytes(3 * P + 123)
    local path = H.tmpfile(bytes)
    local m <close> = assert(tome.open(path))
    local wrap <close> = tome.wrap(bytes)
    assert.equal(bytes, written(m))
    assert.equal(bytes, written(wrap))
    assert.equal("", written(m:view(#bytes + 1)))
    for _ = 1, 40 do
      local i, j = r:index(#bytes), r:index(#bytes)
      local v = m:view(i, j)
      local s = bytes:sub(i, j)
      local i2, j2 = r:index(#s), r:index(#s)
      assert(written(v) == s, "view " .. i .. ", " .. j)
      assert(written("<", v, v:view(i2, j2), ">", wrap:view(i, j)) ==
             "<" .. s .. s:sub(i2, j2) .. ">" .. s, "mixed arguments")
    end
    -- the page-multiple fixture, through to its last byte
    for _, fx in ipairs(H.fixtures()) do
      if fx.name == "page multiple" then
        local pm <close> = assert(tome.open(H.tmpfile(fx.bytes)))
        assert(written(pm) == fx.bytes)
        assert(written(pm:view(-1), pm:view(-P - 1)) ==
               fx.bytes:sub(-1) .. fx.bytes:sub(-P - 1))
      end
    end
  end)

  it("writes the same bytes as a model, whatever the mix of pieces",
     function()
    -- pieces of every size around the 64 KB buffer, from strings, numbers
    -- and views, into one file
    local r = H.rng("writer mix")
    local big = r:bytes(300000)
    local m <close> = assert(tome.open(H.tmpfile(big)))
    local p = H.tmpname(".mix")
    local w = assert(tome.output(p))
    local model = {}
    for _ = 1, 300 do
      local k = r:int(1, 10)
      local n = r:pick { 0, 1, 7, 4096, 65535, 65536, 65537, 100000,
                         r:int(0, 3000) }
      if k <= 4 then
        local i = r:int(1, #big - n + 1)
        w:write(m:view(i, i + n - 1))
        model[#model + 1] = big:sub(i, i + n - 1)
      elseif k <= 7 then
        local s = r:bytes(math.min(n, 5000))
        w:write(s)
        model[#model + 1] = s
      elseif k == 8 then
        local x = r:pick { r:int(-1000, 1000), r:int(0, 1000) / 8, 1e15 }
        w:write(x)
        model[#model + 1] = H.num2str(x)
      else
        w:flush()
      end
    end
    assert(w:close())
    local want = table.concat(model)
    local got = H.readfile(p)
    if got ~= want then
      local k = 1
      while got:byte(k) == want:byte(k) do k = k + 1 end
      error(("the file differs from the model at byte %d (%d vs %d bytes)"
        .. "  [TOME_SEED=%d]"):format(k, #got, #want, H.seed))
    end
  end)

  it("raises for a view of a closed map, and writes nothing of it",
     function()
    local m = assert(tome.open(H.tmpfile("some bytes")))
    local v = m:view(2, 5)
    m:close()
    local p = H.tmpname(".closedmap")
    local w = assert(tome.output(p))
    w:write("before ")
    H.raises("attempt to use a closed map", w.write, w, v)
    H.raises("attempt to use a closed map", w.write, w, m)
    -- the writer still works
    w:write("after")
    assert(w:close())
    assert.equal("before after", H.readfile(p))
  end)

  it("writes a tome.wrap that changed after the view was made", function()
    local m <close> = tome.wrap("abcdef")
    local v = m:view(2, 4)
    m[3] = 88   -- 'X'
    assert.equal("bXd", written(v))
  end)
end)

describe("tome.stdout and tome.stderr", function()
  teardown(H.cleanup)

  local function run_script(src, redirect)
    local p = H.tmpname(".lua")
    local f = assert(io.open(p, "wb"))
    f:write(src)
    f:close()
    local data = H.tmpfile(("line of data\n"):rep(3000))
    return H.run(H.shell_quote(H.tome_bin()) .. " " .. H.shell_quote(p) ..
                 " " .. H.shell_quote(data) .. " " .. (redirect or ""))
  end

  it("keep their order with print, io.write and io.stdout", function()
    local out, ok = run_script([[
      local m = assert(tome.open(arg[1]))
      print("1")
      assert(tome.stdout:write("2", 3, "\n") == tome.stdout)
      io.write("4\n")
      tome.stdout:write(m:view(1, 13))
      io.stdout:write("5\n")
      tome.stdout:write(m:view(14, 26), m)   -- a whole map: 39000 bytes
      print("6")
      tome.stdout:flush()
      assert(m:gsub("data", "DATA", 2, tome.stdout) == 2)
      print("7")
      assert(tome.stdout:close() == true)
      print("8")
    ]])
    assert(ok, out)
    local lines = ("line of data\n"):rep(3000)
    local want = "1\n23\n4\nline of data\n5\nline of data\n" .. lines ..
      "6\n" .. lines:gsub("data", "DATA", 2) .. "7\n8\n"
    assert(out == want, "stdout order:\n" .. out:sub(1, 200))
  end)

  it("stderr keeps its order with io.stderr", function()
    local out, ok = run_script([[
      local m = assert(tome.open(arg[1]))
      io.stderr:write("a")
      tome.stderr:write("b", 2, m:view(1, 4))
      io.stderr:write("c")
      tome.stderr:write("d\n")
      io.stdout:write("out\n")
    ]], "2>&1 >/dev/null")
    assert(ok, out)
    assert.equal("ab2linecd\n", out)
  end)

  it("are writers with their own description", function()
    assert.truthy(tostring(tome.stdout):find("stdout", 1, true))
    assert.truthy(tostring(tome.stderr):find("stderr", 1, true))
    local w = assert(tome.output(H.tmpname(".desc")))
    assert.truthy(tostring(w):find("tome.writer", 1, true))
    w:abort()
  end)
end)
