-- spec/source_spec.lua -- compressed files, pipes and FIFOs as maps:
-- tome.open against zcat/zstdcat/xzcat/bzcat byte for byte, every read
-- method on a decompressed map against the same method on a plain map of
-- the same bytes, the bad inputs, and streams that spill into $TMPDIR.

local H = require "spec.helpers"
local tome = H.tome
local q = H.shell_quote

local TOOLS = {
  { name = "gzip", z = "gzip -c", cat = "zcat" },
  { name = "zstd", z = "zstd -q -c", cat = "zstdcat -q" },
  { name = "xz", z = "xz -1 -c", cat = "xzcat" },
  { name = "bzip2", z = "bzip2 -c", cat = "bzcat" },
}
for _, t in ipairs(TOOLS) do t.have = H.have(t.name) end

local function shell(cmd)
  local out, err, code = H.sh(cmd)
  assert(code == 0, cmd .. " failed: " .. err)
  return out
end

-- the compressed form of the file 'plain' (extra tool options 'opts')
local function compress(t, plain, opts)
  local p = H.tmpname("." .. t.name)
  shell(("%s %s < %s > %s"):format(t.z, opts or "", q(plain), q(p)))
  return p
end

-- what the tool's own decompressor makes of 'comp'
local function reference(t, comp)
  return shell(("%s < %s"):format(t.cat, q(comp)))
end

-- a generated access log of about 'size' bytes (the demo's generator)
local function genlog(size, seed)
  local gen = H.tome_bin():gsub("tome$", "gen_log")
  local p = H.tmpname(".log")
  shell(("%s -s %d %d %s"):format(q(gen), seed or 1, size, q(p)))
  return p
end

local function each_tool(f)
  for _, t in ipairs(TOOLS) do
    if t.have then f(t) else pending(t.name .. " is not installed") end
  end
end

local function host(script, redir, env)
  local sp = H.tmpfile(script)
  return H.sh(("%s%s %s %s"):format(env or "", q(H.tome_bin()), q(sp),
    redir or ""))
end

describe("compressed files", function()
  teardown(H.cleanup)

  it("open as the decompressed bytes, exactly as the tool's cat prints them",
     function()
    local r = H.rng("compressed roundtrip")
    each_tool(function(t)
      local inputs = { genlog(300000, r:int(1, 1000)) }
      for _, n in ipairs { 0, 1, 5000, 200000 } do
        inputs[#inputs + 1] = H.tmpfile(r:bytes(n))
      end
      for _, plain in ipairs(inputs) do
        local comp = compress(t, plain)
        local want = reference(t, comp)
        assert.are.equal(H.readfile(plain), want)
        local m = assert(tome.open(comp))
        assert.are.equal(#want, #m)
        assert.is_true(m:sub(1, -1) == want, t.name .. ": bytes differ")
        assert.matches("(decompressed " .. t.name .. ")", tostring(m), 1,
          true)
        m:close()
        -- the magic bytes decide, not the name
        local renamed = H.tmpname(".txt")
        shell(("cp %s %s"):format(q(comp), q(renamed)))
        assert.is_true(assert(tome.open(renamed)):sub(1, -1) == want)
      end
    end)
  end)

  it("read several members, frames and streams whole, as the tools do",
     function()
    local r = H.rng("concatenated")
    each_tool(function(t)
      local cat = H.tmpname("." .. t.name)
      for _ = 1, r:int(2, 5) do
        local part = compress(t, H.tmpfile(r:bytes(r:int(0, 70000))),
                              r:pick { "-1", "-3", "" })
        shell(("cat %s >> %s"):format(q(part), q(cat)))
      end
      local want = reference(t, cat)
      assert.is_true(assert(tome.open(cat)):sub(1, -1) == want, t.name)
    end)
  end)

  it("decompress many members or frames in several threads, exactly",
     function()
    local r = H.rng("parallel decompression")
    for _, t in ipairs { TOOLS[1], TOOLS[2] } do
      if not t.have then return pending(t.name .. " missing") end
      -- pieces of random (incompressible) and log bytes, some empty; the
      -- random ones hold a gzip header that gzip -1 stores as it is,
      -- which looks like the start of a member
      local cat = H.tmpname("." .. t.name)
      local hdr = "\31\139\8\0\0\0\0\0\0\3"
      for k = 1, 10 do
        local bytes = k % 3 == 0 and "" or k % 2 == 0
          and r:noise(r:int(350000, 450000)) .. hdr .. r:noise(1000)
          or H.readfile(genlog(r:int(100000, 400000), k))
        local part = compress(t, H.tmpfile(bytes), "-1")
        shell(("cat %s >> %s"):format(q(part), q(cat)))
      end
      assert.is_true(H.filesize(cat) > 1048576)
      local want = reference(t, cat)
      for _, o in ipairs { { workers = 1 }, { workers = 2 },
                           { workers = 3, memory = 1000 },
                           { workers = 2, memory = 1 << 30 } } do
        local m = assert(tome.open(cat, "r", o))
        assert.is_true(m:sub(1, -1) == want, t.name .. " " .. o.workers)
      end
      -- damage in a later piece is found, with its offset
      local bytes = H.readfile(cat)
      local k = #bytes - r:int(100, 5000)
      for _, bad in ipairs { bytes:sub(1, k),
          bytes:sub(1, k - 1) .. string.char(bytes:byte(k) ~ 1) ..
          bytes:sub(k + 1) } do
        local got = table.pack(tome.open(H.tmpfile(bad), "r",
                                         { workers = 2 }))
        assert.are.equal(3, got.n)
        assert.matches("byte offset %d+", got[2])
        assert.are.equal(84, got[3])
      end
    end
  end)

  it("answer every read method as a plain map of the same bytes", function()
    local r = H.rng("methods on compressed")
    local plain = genlog(400000, 7)
    local p = assert(tome.open(plain))
    local s = p:sub(1, -1)
    each_tool(function(t)
      local m = assert(tome.open(compress(t, plain)))
      local function same(what, f)
        H.same(table.pack(pcall(f, m)), table.pack(pcall(f, p)),
               t.name .. " " .. what)
      end
      same("len", function(v) return #v, v:len() end)
      for _ = 1, 30 do
        local i, j = r:int(-#s - 5, #s + 5), r:int(-#s - 5, #s + 5)
        same("sub", function(v) return v:sub(i, j) end)
        local k = i + r:int(0, 5)
        same("byte", function(v) return v:byte(i, k) end)
        same("index", function(v) return v[i] end)
        same("view", function(v) return v:view(i, j):sub(1, -1) end)
        same("unpack", function(v)
          return v:unpack("<I4 i2 z", math.max(1, i % #s)) end)
        same("lineno", function(v) return v:lineno(math.max(1, j % #s)) end)
      end
      for _, pat in ipairs { "GET", " 50%d ", "(%d+)%.(%d+)%.", "zzz",
                             "HTTP/1.1\" 404" } do
        local init = r:int(1, #s)
        same("find " .. pat, function(v) return v:find(pat, init) end)
        same("find plain " .. pat,
             function(v) return v:find(pat, init, true) end)
        same("match " .. pat, function(v) return v:match(pat, init) end)
        same("gmatch " .. pat, function(v)
          local n, last = 0, nil
          for a in v:gmatch(pat) do n, last = n + 1, a end
          return n, last
        end)
        same("count " .. pat, function(v) return v:count(pat) end)
        same("rfind " .. pat, function(v) return v:rfind(pat) end)
      end
      same("gsub", function(v) return v:view(1, 50000):gsub("%d", "#") end)
      same("count lines", function(v) return v:count("\n") end)
      same("lines", function(v)
        local n, sum = 0, 0
        for l, at in v:lines("L") do n, sum = n + #l, sum + at end
        return n, sum
      end)
      same("grep", function(v)
        local n = 0
        for l in v:grep("\" 500 ") do n = n + #l end
        return n
      end)
      same("fields", function(v)
        local sum = 0
        for b in v:fields(" ", 10, "n") do sum = sum + (b or 0) end
        return sum
      end)
      same("split", function(v)
        local n = 0
        for f in v:split("\"", "v") do n = n + #f end
        return n
      end)
      local at = r:int(0, #s)
      same("read/seek", function(v)
        v:seek("set", at)
        local a, b, c = v:read("l", 10, "L")
        return a, b, c, v:seek("cur"), v:seek("end", -3), v:read("a")
      end)
      same("parallel", function(v)
        return tome.parallel(v, function(c) return c:count("\n") end,
          { workers = 2, chunks = 7, reduce = function(a, b)
            return a + b end })
      end)
      H.raises("read-only", function() m[1] = 65 end)
      m:close()
    end)
  end)

  it("refuse r+ and c; decompress = false gives the raw bytes", function()
    each_tool(function(t)
      local comp = compress(t, H.tmpfile("raw bytes\n"))
      for _, mode in ipairs { "r+", "c" } do
        local got = table.pack(tome.open(comp, mode))
        assert.are.equal(3, got.n)
        assert.is_nil(got[1])
        assert.matches(comp .. ": " .. t.name .. " data opens read-only",
          got[2], 1, true)
        assert.are.equal(30, got[3])   -- EROFS
      end
      local m = assert(tome.open(comp, "r", { decompress = false }))
      assert.is_true(m:sub(1, -1) == H.readfile(comp))
      assert.not_matches("decompressed", tostring(m))
      m = assert(tome.open(comp, "c", { decompress = false }))
      m[1] = 0
      assert.are.equal(0, m[1])
    end)
    local p = H.tmpfile("x")
    H.raises("bad argument #3", function() tome.open(p, "r", 5) end)
    H.raises("opts.memory", function() tome.open(p, "r", { memory = 0 }) end)
    H.raises("opts.workers", function() tome.open(p, "r", { workers = 0 })
      end)
  end)

  it("name the file and the byte offset when the data is bad", function()
    local r = H.rng("bad compressed")
    each_tool(function(t)
      local plain = genlog(100000, 3)
      local comp = H.readfile(compress(t, plain))
      local function bad(bytes, what)
        local p = H.tmpfile(bytes)
        local got = table.pack(tome.open(p))
        assert.are.equal(3, got.n, t.name .. " " .. what)
        assert.is_nil(got[1])
        assert.matches(p .. ": ", got[2], 1, true)
        assert.matches("byte offset %d+", got[2])
        assert.matches(t.name, got[2], 1, true)
        assert.are.equal(84, got[3], got[2])    -- EILSEQ
        return got[2]
      end
      for _ = 1, 3 do
        bad(comp:sub(1, r:int(12, #comp - 1)), "truncated")
      end
      local k = r:int(#comp // 4, #comp * 3 // 4)
      bad(comp:sub(1, k - 1) .. string.char(comp:byte(k) ~ 0x5a) ..
          comp:sub(k + 1), "corrupt")
      bad(comp .. "trailing garbage", "garbage after")
      bad(comp:sub(1, 10) .. ("not compressed at all\n"):rep(5),
          "magic then text")
    end)
    -- a name says nothing: plain text called .gz is plain text
    local p = H.tmpname(".gz")
    local f = assert(io.open(p, "wb"))
    f:write("not gzip\n")
    f:close()
    assert.are.equal("not gzip\n", assert(tome.open(p)):sub(1, -1))
  end)

  it("refuse headers that lie about sizes, without harm", function()
    -- zstd frames of raw blocks (RFC 8878) whose headers claim sizes
    -- that add up past 2^64: the sizes a parallel decompression would
    -- place the frames by wrap around to 16 bytes
    local function frame(size, payload)
      local t = { "\40\181\47\253", string.char(3 << 6, 0x50),
                  string.pack("<i8", size) }
      for i = 1, #payload, 131072 do
        local piece = payload:sub(i, i + 131071)
        t[#t + 1] = string.pack("<I3", #piece << 3 |
          (i + 131072 > #payload and 1 or 0)) .. piece
      end
      return table.concat(t)
    end
    local p = H.tmpfile(frame(math.mininteger, ("A"):rep(1 << 20)) ..
                        frame(math.mininteger + 16, ("B"):rep(16)))
    local out, err, code = host([[
      print(tome.open(arg[1], "r", { workers = 2 }))]], q(p))
    assert.are.equal(0, code, err)
    assert.matches("^nil\t" .. p:gsub("%p", "%%%0") ..
      ": corrupt zstd data at byte offset %d+: [^\n]+\t84\n$", out)
  end)

  it("decompress countless tiny members or frames in bounded memory",
     function()
    -- a million members of 2 bytes each: the pieces that threads share
    -- are kept few, and the file is let go of as it is walked
    for _, t in ipairs { TOOLS[1], TOOLS[2] } do
      if not t.have then return pending(t.name .. " missing") end
      -- (zstd says a frame's size when it compresses a file, not a pipe)
      local one = H.tmpname()
      local x = H.tmpfile("x\n")
      shell(("%s %s > %s"):format(t.z, q(x), q(one)))
      local p = H.tmpfile(H.readfile(one):rep(1000000))
      local out, err, code = host([[
        local m = assert(tome.open(arg[1], "r", { workers = 2 }))
        local hwm
        for l in io.lines("/proc/self/status") do
          hwm = hwm or tonumber(l:match("^VmHWM:%s*(%d+)"))
        end
        print(#m, m:count("x\n"), hwm // 1024)]], q(p))
      assert.are.equal(0, code, err)
      local len, n, mb = out:match("^(%d+)\t(%d+)\t(%d+)\n$")
      assert.are.equal("2000000", len, out)
      assert.are.equal("1000000", n, out)
      -- (AddressSanitizer keeps freed memory in quarantine: no bound there)
      if not os.getenv("ASAN_OPTIONS") then
        assert.is_true(tonumber(mb) < 40, t.name .. ": peak RSS " .. mb ..
          " MB")
      end
      os.remove(p)
    end
  end)

  it("open gzip data that holds gzip headers, whatever size precedes them",
     function()
    if not H.is_root() or not TOOLS[1].have then
      return pending("needs root (to mount a small tmpfs) and gzip")
    end
    -- random bytes with gzip headers in them (gzip stores random bytes as
    -- they are), each after four bytes that a member's size would be: a
    -- parallel decompression must not take them at their word, not even
    -- to reserve room in a temporary directory that the real bytes fit
    local r = H.rng("gzip headers in data")
    local dir = H.tmpname(".tmpfs")
    assert(os.execute("mkdir " .. q(dir)))
    if not os.execute(("mount -t tmpfs -o size=8m tmpfs %s 2>/dev/null")
                      :format(q(dir))) then
      return pending("cannot mount a tmpfs here")
    end
    local ok, msg = pcall(function()
      for _, size in ipairs { 0xfffffff0, 50000000 } do
        local parts = {}
        for k = 1, 12 do
          parts[k] = r:noise(100000) .. string.pack("<I4", size) ..
            "\31\139\8\0\0\0\0\0\0\3"
        end
        local plain = H.tmpfile(table.concat(parts))
        local comp = compress(TOOLS[1], plain, "-1")
        assert.is_true(H.filesize(comp) > 1048576)
        for _, nw in ipairs { 1, 2 } do
          local m, err = tome.open(comp, "r", { workers = nw, tmpdir = dir })
          assert.is_truthy(m, err)
          assert.is_true(m:sub(1, -1) == H.readfile(plain))
          m:close()
        end
      end
    end)
    collectgarbage()
    os.execute("umount " .. q(dir))
    assert(ok, msg)
  end)

  it("never give wrong bytes for a file that changes while it is read",
     function()
    if not TOOLS[1].have then return pending("gzip missing") end
    -- two versions of a file; a background job rewrites it in place
    -- while tome decompresses it: the map holds one version whole, or
    -- the open fails (corrupt data, or "changed while ... decompressed")
    local a = H.readfile(genlog(3000000, 11))
    local b = H.readfile(genlog(3000000, 12))
    local za = H.readfile(compress(TOOLS[1], H.tmpfile(a), "-1"))
    local zb = H.readfile(compress(TOOLS[1], H.tmpfile(b), "-1"))
    local pa, pb = H.tmpfile(za), H.tmpfile(zb)
    local p = H.tmpfile(za)
    for k = 1, 8 do
      shell(("cp %s %s"):format(q(k % 2 == 1 and pa or pb), q(p)))
      assert(os.execute(("(sleep 0.0%d; cat %s > %s) &"):format(k,
        q(k % 2 == 1 and pb or pa), q(p))))
      local m, msg, err = tome.open(p, "r", { workers = 1 })
      if m then
        local s = m:sub(1, -1)
        assert.is_true(s == a or s == b, "a map of mixed bytes")
      else
        assert.is_true(err == 84 or err == 5, msg)
        assert.matches(p, msg, 1, true)
      end
      os.execute("sleep 0.2")
    end
  end)

  it("read through the host: tome -m and scripts over many files",
     function()
    if not TOOLS[1].have then return pending("gzip missing") end
    local a = H.tmpfile("one\ntwo\n")
    local b = compress(TOOLS[1], H.tmpfile("three\nfour\n"))
    local out, err, code = H.sh(("%s -m %s -e %s"):format(q(H.tome_bin()),
      q(b), q("io.write(m:sub(1, -1))")))
    assert.are.equal(0, code, err)
    assert.are.equal("three\nfour\n", out)
    out, err, code = host([[
      local n = 0
      for _, p in ipairs(arg) do n = n + tome.open(p):count("\n") end
      print(n)]], q(a) .. " " .. q(b))
    assert.are.equal(0, code, err)
    assert.are.equal("4\n", out)
  end)
end)

describe("streams", function()
  teardown(H.cleanup)

  -- the descriptors of this process that point at deleted files in 'dir'
  local function spilled_in(dir)
    local out = H.run("ls -l /proc/$PPID/fd 2>/dev/null")
    local n = 0
    for l in out:gmatch("[^\n]+") do
      if l:find(dir, 1, true) and l:find("(deleted)", 1, true) then
        n = n + 1
      end
    end
    return n
  end

  it("keep small pipes in memory and spill large ones into $TMPDIR",
     function()
    local r = H.rng("pipe spill")
    local dir = H.tmpname(".d")
    assert(os.execute("mkdir " .. q(dir)))
    for _, n in ipairs { 0, 1, 999, 1000, 1001, 300000 } do
      local bytes = r:bytes(n)
      local p = H.tmpfile(bytes)
      local fifo = H.tmpname(".fifo")
      assert(os.execute("mkfifo " .. q(fifo)))
      assert(os.execute(("cat %s > %s &"):format(q(p), q(fifo))))
      local m = assert(tome.open(fifo, "r", { memory = 1000, tmpdir = dir }))
      assert.are.equal(n, #m)
      assert.is_true(m:sub(1, -1) == bytes)
      assert.are.equal(n > 1000 and 1 or 0, spilled_in(dir), n)
      m:close()
      assert.are.equal(0, spilled_in(dir))
      assert.are.equal("", H.run("ls -A " .. q(dir)))
    end
  end)

  it("spill standard input beyond 64 MB, in bounded memory", function()
    -- 70 MB through a pipe: the map holds it all, resident memory stays
    -- near the 64 MB kept in memory (the rest is in the temporary file)
    local line = ("0123456789"):rep(9) .. "\n"
    local p = H.tmpname()
    local f = assert(io.open(p, "wb"))
    for k = 1, 70 * 1024 * 1024 // #line do
      f:write(k % 100000 == 0 and ("x"):rep(90) .. "\n" or line)
    end
    f:close()
    local out, err, code = host([[
      local m = assert(tome.open("-"))
      local hwm
      for l in io.lines("/proc/self/status") do
        hwm = hwm or tonumber(l:match("^VmHWM:%s*(%d+)"))
      end
      print(#m, m:count("\n"), m:count("xxxxxxxxxx"), hwm // 1024)
      m = assert(tome.open("-"))
      print(#m)]], nil, "cat " .. q(p) .. " | ")
    assert.are.equal(0, code, err)
    local len, lines, xs, mb, again = out:match(
      "^(%d+)\t(%d+)\t(%d+)\t(%d+)\n(%d+)\n$")
    assert.are.equal(H.filesize(p), tonumber(len), out)
    assert.are.equal(70 * 1024 * 1024 // #line, tonumber(lines))
    assert.are.equal(9 * (70 * 1024 * 1024 // #line // 100000),
      tonumber(xs))
    -- (AddressSanitizer keeps freed memory in quarantine: no bound there)
    if not os.getenv("ASAN_OPTIONS") then
      assert.is_true(tonumber(mb) < 64 + 40, "peak RSS " .. mb .. " MB")
    end
    assert.are.equal("0", again)   -- standard input was consumed
  end)

  it("decompress compressed pipes; c maps of plain streams are writable",
     function()
    if not TOOLS[2].have then return pending("zstd missing") end
    local plain = genlog(200000, 5)
    local comp = compress(TOOLS[2], plain)
    for _, how in ipairs { "cat %s | ", "" } do
      local redir = how == "" and "< " .. q(comp) or nil
      local out, err, code = host([[
        local m = assert(tome.open("-"))
        print(tostring(m), #m)]], redir, how:format(q(comp)))
      assert.are.equal(0, code, err)
      assert.matches('"(stdin)" (decompressed zstd)', out, 1, true)
      assert.matches("\t" .. H.filesize(plain) .. "\n", out, 1, true)
      out, err, code = host([[
        local t = table.pack(tome.open("-", "c"))
        print(t.n, t[1], t[2], t[3])]],
        redir, how:format(q(comp)))
      assert.are.equal(0, code, err)
      assert.are.equal("3\tnil\t-: zstd data opens read-only (mode \"r\"); "
        .. "open it with decompress = false for the raw bytes\t30\n", out)
    end
    local out, err, code = host([[
      local m = assert(tome.open("-", "c"))
      m[1] = 33
      print(m:sub(1, -1))]], nil, "printf abc | ")
    assert.are.equal(0, code, err)
    assert.are.equal("!bc\n", out)
  end)

  it("fail cleanly when $TMPDIR is full, leaving nothing behind", function()
    if not H.is_root() or not H.have("xz") then
      return pending("needs root (to mount a small tmpfs) and xz")
    end
    local dir = H.tmpname(".tmpfs")
    assert(os.execute("mkdir " .. q(dir)))
    if not os.execute(("mount -t tmpfs -o size=1m tmpfs %s 2>/dev/null")
                      :format(q(dir))) then
      return pending("cannot mount a tmpfs here")
    end
    local ok, msg = pcall(function()
      -- an xz bomb: 32 MB of zeros in a few KB
      local bomb = H.tmpname(".xz")
      shell(("head -c 33554432 /dev/zero | xz -c > %s"):format(q(bomb)))
      assert.is_true(H.filesize(bomb) < 20000)
      local got = table.pack(tome.open(bomb, "r", { tmpdir = dir }))
      assert.are.equal(3, got.n)
      assert.is_nil(got[1])
      assert.matches(bomb, got[2], 1, true)
      assert.matches(dir, got[2], 1, true)
      assert.are.equal(28, got[3], got[2])          -- ENOSPC
      -- the same through $TMPDIR and the host
      local _, err, code = host("assert(tome.open(arg[1]))", q(bomb),
        "TMPDIR=" .. q(dir) .. " ")
      assert.are_not.equal(0, code)
      assert.matches("No space left on device", err, 1, true)
      collectgarbage()
      assert.are.equal("", H.run("ls -A " .. q(dir)))
      local used = H.run("df -k --output=used " .. q(dir)):match("(%d+)%s*$")
      assert.are.equal("0", used)
    end)
    os.execute("umount " .. q(dir))
    assert(ok, msg)
  end)
end)

describe("tome.parallel over a list of inputs", function()
  teardown(H.cleanup)

  local function concat(a, b) return a .. b end

  it("covers every input in order, never spanning two", function()
    local r = H.rng("parallel list")
    local inputs, want, names = {}, {}, {}
    for k = 1, 9 do
      local bytes = r:bytes(r:pick { 0, 1, 100, 5000, 70000 })
      local p = H.tmpfile(bytes)
      local src = p
      local t = TOOLS[(k % #TOOLS) + 1]
      if k % 3 == 0 and t.have then src = compress(t, p) end
      if k == 4 then src = assert(tome.open(p)) end
      if k == 5 then src = assert(tome.open(p)):view(1, -1) end
      inputs[k], want[k] = src, bytes
      names[k] = type(src) == "string" and src or p
    end
    for _, nw in ipairs { 1, 2, 3 } do
      local all = tome.parallel(inputs, function(v) return v:sub(1, -1) end,
        { workers = nw, chunks = r:int(1, 40), reduce = concat })
      assert.is_true(all == table.concat(want), "bytes in input order")
      -- each chunk knows its input: its name, its map's description
      local got = tome.parallel(inputs, function(v, _, name)
        return { name = name, off = v:offset(), len = #v,
                 desc = tostring(v:map()) }
      end, { workers = nw, chunks = r:int(1, 40), sep = "\n" })
      local k, at = 1, 1
      for i = 1, got.n do
        local c = got[i]
        while #want[k] == 0 or at > #want[k] do k, at = k + 1, 1 end
        assert.are.equal(names[k], c.name, "chunk " .. i)
        assert.matches(names[k], c.desc, 1, true)
        assert.are.equal(at, c.off, "chunk " .. i .. " starts where the "
          .. "last one ended")
        at = at + c.len
        assert.is_true(at - 1 <= #want[k], "a chunk spans two inputs")
      end
    end
  end)

  it("keeps every worker busy on many small files", function()
    local files, total = {}, 0
    local dir = H.tmpname(".d")
    assert(os.execute("mkdir " .. q(dir)))
    for k = 1, 300 do
      files[k] = dir .. "/f" .. k
      local f = assert(io.open(files[k], "wb"))
      f:write(("line " .. k .. "\n"):rep(k % 7 + 1))
      f:close()
      total = total + k % 7 + 1
    end
    local n = tome.parallel(files, function(v) return v:count("\n") end,
      { workers = 2, reduce = function(a, b) return a + b end })
    assert.are.equal(total, n)
    local list = tome.parallel(files, function(_, _, name) return name end,
      { workers = 2 })
    assert.are.equal(300, list.n)
    for k = 1, 300 do assert.are.equal(files[k], list[k]) end
    local none = tome.parallel({}, function() end)
    assert.are.equal(0, none.n)
    assert.is_nil(tome.parallel({}, function() end,
      { reduce = function(a, b) return a + b end }))
  end)

  it("keeps memory bounded and opens more inputs than the soft fd limit",
     function()
    if not TOOLS[1].have then return pending("gzip missing") end
    -- 24 compressed inputs of 15 MB each: each alone would stay in
    -- memory, together they spill into temporary files
    local plain = H.tmpfile(("0123456789abcd\n"):rep(1000000))
    local comp = compress(TOOLS[1], plain)
    local list = {}
    for k = 1, 24 do list[k] = comp end
    local out, err, code = host([[
      local list = {}
      for k = 2, #arg do list[#list + 1] = arg[k] end
      local n = tome.parallel(list, function(v) return v:count("\n") end,
        { workers = 2, reduce = function(a, b) return a + b end })
      local hwm
      for l in io.lines("/proc/self/status") do
        hwm = hwm or tonumber(l:match("^VmHWM:%s*(%d+)"))
      end
      print(n, hwm // 1024)]], "x " .. table.concat(list, " "))
    assert.are.equal(0, code, err)
    local n, mb = out:match("^(%d+)\t(%d+)\n$")
    assert.are.equal(tostring(24 * 1000000), n, out)
    if not os.getenv("ASAN_OPTIONS") then
      assert.is_true(tonumber(mb) < 160, "peak RSS " .. mb .. " MB")
    end
    -- 300 inputs under a soft limit of 200 descriptors (the hard one
    -- is higher): the soft limit is raised, as far as the hard one
    local hard = tonumber((H.run("ulimit -Hn")))
    if hard and hard < 400 then
      return pending("the hard limit on descriptors is below 400")
    end
    local dir = H.tmpname(".d")
    assert(os.execute("mkdir " .. q(dir)))
    for k = 1, 300 do
      local f = assert(io.open(dir .. "/f" .. k, "wb"))
      f:write(("x\n"):rep(k))
      f:close()
    end
    out, err, code = host([[
      local list = {}
      for k = 1, 300 do list[k] = arg[1] .. "/f" .. k end
      print(tome.parallel(list, function(v) return v:count("\n") end,
        { workers = 2, reduce = function(a, b) return a + b end }))]],
      q(dir), "ulimit -Sn 200; ")
    assert.are.equal(0, code, err)
    assert.are.equal(tostring(300 * 301 // 2) .. "\n", out)
  end)

  it("returns nil, msg, errno naming an input that cannot be read", function()
    local a, b = H.tmpfile("a\n"), H.tmpfile("b\n")
    local missing = H.tmpname(".missing")
    local dir = H.tmpname(".d")
    assert(os.execute("mkdir " .. q(dir)))
    local function fn(v) return #v end
    local got = table.pack(tome.parallel({ a, missing, b }, fn))
    H.same(got, table.pack(nil, missing .. ": No such file or directory", 2),
      "missing")
    got = table.pack(tome.parallel({ a, dir, b }, fn))
    H.same(got, table.pack(nil, dir .. ": Is a directory", 21), "directory")
    if TOOLS[1].have then
      local bad = H.tmpfile(H.readfile(compress(TOOLS[1], a)):sub(1, 15))
      got = table.pack(tome.parallel({ a, b, bad }, fn))
      assert.are.equal(3, got.n)
      assert.matches(bad .. ": truncated gzip data", got[2], 1, true)
      assert.are.equal(84, got[3])
    end
    H.raises("input 2 is a number", function()
      tome.parallel({ a, 5 }, fn) end)
    local msg = H.raises("tome.parallel: error in the chunk [1, 2] of \"" ..
      b .. "\": ", function()
        tome.parallel({ a, b }, function(v)
          if v:find("b") then error("boom") end end)
      end)
    assert.matches("boom", msg, 1, true)
  end)
end)

describe("tome.lines and tome.chunks", function()
  teardown(H.cleanup)

  local function io_lines(p, fmt)
    local t = {}
    for l in io.lines(p, fmt) do t[#t + 1] = l end
    return t
  end

  it("read any input as io.lines reads the plain file", function()
    local r = H.rng("stream lines")
    local plains = { genlog(200000, 21), H.tmpfile(r:bytes(70000)),
                     H.tmpfile(""), H.tmpfile("no newline"),
                     H.tmpfile("a\n\nb\r\n") }
    for _, plain in ipairs(plains) do
      local srcs = { plain }
      for _, t in ipairs(TOOLS) do
        if t.have then srcs[#srcs + 1] = compress(t, plain) end
      end
      for _, src in ipairs(srcs) do
        for _, fmt in ipairs { "l", "L" } do
          local got = {}
          for l in tome.lines(src, fmt) do got[#got + 1] = l end
          assert.are.same(io_lines(plain, fmt), got, src .. " " .. fmt)
        end
        local raw = {}
        for l in tome.lines(src, "L", { decompress = false }) do
          raw[#raw + 1] = l
        end
        assert.is_true(table.concat(raw) == H.readfile(src))
      end
    end
  end)

  it("cut any input into maps of whole records", function()
    local r = H.rng("stream chunks")
    local plain = genlog(300000, 22)
    local bytes = H.readfile(plain)
    local srcs = { plain }
    for _, t in ipairs(TOOLS) do
      if t.have then srcs[#srcs + 1] = compress(t, plain) end
    end
    for _, src in ipairs(srcs) do
      for _, o in ipairs { {}, { size = 1 }, { size = r:int(100, 50000) },
                           { size = 5000, sep = "HTTP/" } } do
        local parts, at, last = {}, 1, nil
        for v, pos in tome.chunks(src, o) do
          assert.are.equal("map", tome.type(v))
          assert.are.equal(at, pos)
          local s = v:sub(1, -1)
          local sep = o.sep or "\n"
          if pos + #s <= #bytes then
            assert.are.equal(sep, s:sub(-#sep), "a chunk ends after sep")
          end
          assert.are.equal(select(2, s:gsub("\n", "")), v:count("\n"))
          parts[#parts + 1] = s
          at = at + #s
          last = v
        end
        assert.is_true(table.concat(parts) == bytes, src)
        if last then
          H.raises("closed map", function() return last:sub(1, 1) end)
        end
      end
    end
    local n = 0
    for _ in tome.chunks(H.tmpfile("")) do n = n + 1 end
    assert.are.equal(0, n)
  end)

  it("raise for inputs that cannot be read, and close when left", function()
    H.raises("No such file or directory", function()
      return tome.lines(H.tmpname(".missing")) end)
    H.raises("No such file or directory", function()
      return tome.chunks(H.tmpname(".missing")) end)
    H.raises("bad argument #2", function()
      return tome.chunks(H.tmpfile("x"), { size = 0 }) end)
    H.raises("bad argument #2", function()
      return tome.lines(H.tmpfile("x"), "n") end)
    if TOOLS[2].have then
      local comp = H.readfile(compress(TOOLS[2], genlog(100000, 23)))
      local bad = H.tmpfile(comp:sub(1, #comp // 2))
      local msg = H.raises("truncated zstd data", function()
        for _ in tome.lines(bad) do end end)
      assert.matches(bad, msg, 1, true)
      assert.matches("byte offset %d+", msg)
      H.raises("truncated zstd data", function()
        for _ in tome.chunks(bad, { size = 1000 }) do end end)
    end
    -- a chunk kept after its loop was left (break, an error) or after
    -- its stream was collected is closed: its bytes were the stream's
    local p = genlog(50000, 24)
    local last
    for v in tome.chunks(p, { size = 1000 }) do  -- luacheck: ignore 512
      last = v
      break
    end
    H.raises("closed map", function() return last:sub(1, 10) end)
    assert.is_false(pcall(function()
      for v in tome.chunks(p, { size = 1000 }) do
        last = v
        error("left")
      end
    end))
    H.raises("closed map", function() return last:sub(1, 10) end)
    local step = tome.chunks(p, { size = 1000 })
    last = step()
    step = nil  -- luacheck: ignore 311 (let the stream be collected)
    collectgarbage()
    collectgarbage()
    H.raises("closed map", function() return last:sub(1, 10) end)
    local out, err, code = host([[
      local n = 0
      for line in tome.lines("-") do n = n + #line end
      for v in tome.chunks(arg[1]) do
        n = n + v:count("\n")
        break
      end
      print(n)]], H.tmpfile("abc\nde\n") .. " < " ..
      q(H.tmpfile("xyz\n12\n")))
    assert.are.equal(0, code, err)
    assert.are.equal("7\n", out)
  end)
end)

-- A zstd file whose frames say their sizes (the zstd command writes it
-- when it compresses a named file), larger than the memory limit, is not
-- decompressed by tome.open: scans stream it through a decoder of their
-- own, anything else decompresses it first.  { memory = 1000 } makes
-- small files behave as large ones do.
describe("deferred zstd maps", function()
  teardown(H.cleanup)
  local zstd = TOOLS[2]

  local function zst(plain)
    local p = H.tmpname(".zst")
    shell(("zstd -q -f -c %s > %s"):format(q(plain), q(p)))
    return p
  end

  local function ondemand(m)
    return tostring(m):find("on demand", 1, true) ~= nil
  end

  local workers   -- 1: streams decode in place, else in a thread
  local function deferred(comp)
    local m = assert(tome.open(comp, "r", { memory = 1000,
                                           workers = workers }))
    assert.is_true(ondemand(m), tostring(m))
    return m
  end

  -- an iterator's steps as one string
  local function steps(...)
    local t = {}
    for a, b, c in ... do
      t[#t + 1] = ("%s|%s|%s"):format(tostring(a), tostring(b), tostring(c))
    end
    return table.concat(t, "\n")
  end

  local plain, comp, s
  local function setup()
    if not plain then
      plain = genlog(1500000, 31)
      s = H.readfile(plain)
      comp = zst(plain)
    end
  end

  it("scan the stream, exactly as the plain map and the string functions",
     function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local p = assert(tome.open(plain))
    -- default windows, then tiny ones: many windows, lines across them
    for round, block in ipairs { false, 4096, 61, false } do
      workers = round == 4 and 1 or nil
      local old = block and table.pack(tome._tune(nil, block))
      local m = deferred(comp)
      assert.are.equal(#s, #m)
      assert.are.equal(select(2, s:gsub("\n", "")), m:count("\n"))
      assert.are.equal(p:count('" 5'), m:count('" 5'))
      assert.are.equal(p:count("\n", 1000, 700000), m:count("\n", 1000, 700000))
      assert.are.equal(p:lineno(900000), m:lineno(900000))
      -- a loop of finds goes on where the last one stopped
      local init, k = 1, 0
      repeat
        local a, b = m:find("POST", init, true)
        local c, d = s:find("POST", init, true)
        assert.are.equal(c, a)
        assert.are.equal(d, b)
        init, k = (b or 0) + 1, k + 1
      until not a
      assert.is_true(k > 10)
      -- a scan that starts late, then one from the start (the decoder
      -- restarts), then the same again
      for _ = 1, 2 do
        assert.are.equal(p:count("GET", 1200000), m:count("GET", 1200000))
        assert.are.equal(p:count("GET"), m:count("GET"))
      end
      assert.are.equal(steps(p:lines()), steps(m:lines()))
      assert.are.equal(steps(p:lines("L", 777777)), steps(m:lines("L", 777777)))
      assert.are.equal(steps(p:grep("HTTP/1.0")), steps(m:grep("HTTP/1.0")))
      assert.are.equal(steps(p:grep('" 5%d%d ', false)),
                       steps(m:grep('" 5%d%d ', false)))
      assert.are.equal(steps(p:split(" - ")), steps(m:split(" - ")))
      assert.are.equal(steps(p:fields(" ", 1, 9, -1)),
                       steps(m:fields(" ", 1, 9, -1)))
      assert.are.same(p:tally(" ", 9), m:tally(" ", 9))
      local function rows(it)
        local t = {}
        for row in it do t[#t + 1] = table.concat(row, "\1") end
        return t
      end
      assert.are.same(rows(p:csv { sep = " " }), rows(m:csv { sep = " " }))
      -- a view of it, scanned: also streamed
      local v, w = m:view(300001, 900000), p:view(300001, 900000)
      assert.are.equal(w:count("\n"), v:count("\n"))
      assert.are.equal(steps(w:lines()), steps(v:lines()))
      -- two iterators at once, each with its own decoder
      local i1, i2 = m:lines(), m:grep("GET", true)
      local j1, j2 = p:lines(), p:grep("GET", true)
      for _ = 1, 3000 do
        assert.are.same({ j1() }, { i1() })
        assert.are.same({ j2() }, { i2() })
      end
      assert.is_true(ondemand(m), "a scan decompressed the map")
      m:close()
      if old then tome._tune(old[1], old[2], old[3]) end
    end
    workers = nil
  end)

  it("decompress first for everything that reads the bytes in memory",
     function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local p = assert(tome.open(plain))
    local function each(f)
      local m = deferred(comp)
      local it = m:lines()          -- begun before, ends after
      assert.are.equal(p:sub(1, 100), it():sub(1, 100) .. "")
      f(m)
      assert.is_false(ondemand(m), tostring(m))
      local n = 1
      for _ in it do n = n + 1 end
      assert.are.equal(p:count("\n"), n)
      assert.are.equal(p:count("\n"), m:count("\n"))
      m:close()
    end
    each(function(m) assert.are.equal(s:sub(1000, 5000), m:sub(1000, 5000)) end)
    each(function(m) assert.are.equal(s:byte(-1), m[-1]) end)
    each(function(m) assert.are.equal(s:byte(77), m:byte(77)) end)
    each(function(m) assert.are.same({ p:rfind("GET") }, { m:rfind("GET") }) end)
    each(function(m) assert.are.same({ s:find("(%d+)%.(%d+)") },
                                     { m:find("(%d+)%.(%d+)") }) end)
    each(function(m) assert.are.equal(s:match("%[([^]]+)%]", 9000),
                                      m:match("%[([^]]+)%]", 9000)) end)
    each(function(m)
      local a, b = 0, 0
      for _ in s:gmatch("GET") do a = a + 1 end
      for _ in m:gmatch("GET") do b = b + 1 end
      assert.are.equal(a, b)
    end)
    each(function(m) assert.are.equal(s:sub(10, 20), m:read(20):sub(10)) end)
    each(function(m) assert.are.equal(s:sub(2, 9), m:view(2, 9):sub(1, -1)) end)
    each(function(m)
      assert.are.equal(p:count("\n"), tome.parallel(m, function(v)
        return v:count("\n") end, { workers = 2,
        reduce = function(a, b) return a + b end }))
    end)
    each(function(m)
      assert.are.equal(select(2, s:gsub("GET", "")), select(2, m:gsub("GET", "")))
    end)
    -- a view made before the bytes were decompressed works after
    local m = deferred(comp)
    local v = m:view(5, 50)
    assert.are.equal(s:sub(5, 50), v:sub(1, -1))
    assert.are.equal(s:sub(1, 10), m:sub(1, 10))
    m:close()
    -- and small files are decompressed at once, as before
    assert.is_false(ondemand(assert(tome.open(comp))))
  end)

  it("raise for damaged data found while scanning, with the byte offset",
     function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local bytes = H.readfile(comp)
    local r = H.rng("deferred zstd damage")
    local found
    for _ = 1, 20 do
      local at = r:int(#bytes // 4, 3 * #bytes // 4)
      local bad = H.tmpfile(bytes:sub(1, at - 1) ..
        string.char(bytes:byte(at) ~ 0x55) .. bytes:sub(at + 1))
      local m, err = tome.open(bad, "r", { memory = 1000 })
      if not m then
        assert.matches("byte offset %d+", err)   -- a frame header
      else
        local ok, msg = pcall(m.count, m, "\n")
        assert.is_false(ok, "damage at " .. at .. " went unseen")
        assert.matches(bad, msg, 1, true)
        assert.matches("corrupt zstd data at byte offset %d+", msg)
        H.raises("byte offset", function() for _ in m:lines() do end end)
        H.raises("byte offset", function()
          for _ in m:grep('" 5%d%d ', false) do end end)
        H.raises("byte offset", function() return m:sub(1, 10) end)
        found = true
        break
      end
    end
    assert.is_true(found)
    -- a file that changes while it is read
    local changed = H.tmpfile(bytes)
    local m = deferred(changed)
    local f = assert(io.open(changed, "ab"))
    f:write("x")
    f:close()
    H.raises("changed", function() return m:count("\n") end)
  end)

  it("raise when no decoder can be had (no descriptor left)", function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local out, err, code = host([[
      local m = assert(tome.open(arg[1], "r", { memory = 1000 }))
      collectgarbage("stop")
      local its, ok, msg = {}, true, nil
      for i = 1, 200 do
        ok, msg = pcall(function() its[i] = m:lines(); return its[i]() end)
        if not ok then break end
      end
      print(ok, msg)]], q(comp), "ulimit -n 64; ")
    assert.are.equal(0, code, err)
    assert.matches("^false\t[^\n]*" .. comp:gsub("%p", "%%%0") ..
      ": cannot decompress: Too many open files\n$", out)
  end)

  it("raise a clean error for a map closed during a scan", function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local m = deferred(comp)
    local it, g, f = m:lines(), m:grep('" 5%d%d ', false), m:fields(" ", 1)
    it(); g(); f()
    m:close()
    H.raises("closed map", it)
    H.raises("closed map", g)
    H.raises("closed map", f)
    H.raises("closed map", function() return m:count("\n") end)
    assert.matches("closed", tostring(m))
  end)

  it("let go of the file when the map closes (no descriptor is kept)",
     function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    -- the descriptors of this process that point at comp
    local function held()
      local f = assert(io.popen('ls -l /proc/"$PPID"/fd 2>/dev/null'))
      local out = f:read("a")
      f:close()
      local n = 0
      for _ in out:gmatch(comp:gsub("%p", "%%%0")) do n = n + 1 end
      return n
    end
    collectgarbage()
    collectgarbage()   -- the maps of the other tests let go of theirs
    local before = held()
    for _, close in ipairs { true, false } do
      (function()
        local m = deferred(comp)
        assert.are.equal(select(2, s:gsub("\n", "")), m:count("\n"))
        assert.is_true(held() > before)
        if close then m:close() end
      end)()
      collectgarbage()   -- the map not closed is collected
      assert.are.equal(before, held())
    end
    -- decompressed (sub), then closed: nothing is kept either
    local m = deferred(comp)
    m:count("\n")
    assert.are.equal(s:sub(5, 50), m:sub(5, 50))
    m:close()
    assert.are.equal(before, held())
  end)

  it("stream a file of several frames too; decompress it at once when "
     .. "it must", function()
    if not zstd.have then return pending("zstd missing") end
    setup()
    local multi = H.tmpname(".zst")
    shell(("head -c 700000 %s | zstd -q -c > %s; tail -c +700001 %s | "
      .. "zstd -q -c >> %s"):format(q(plain), q(multi), q(plain), q(multi)))
    -- piped through zstd, the frames say no size: decompressed at open
    local m = assert(tome.open(multi, "r", { memory = 1000, workers = 2 }))
    assert.is_false(ondemand(m))
    assert.is_true(m:sub(1, -1) == s)
    m:close()
    shell(("head -c 700000 %s > %s.a; tail -c +700001 %s > %s.b; "
      .. "zstd -q -c %s.a > %s; zstd -q -c %s.b >> %s; rm -f %s.a %s.b")
      :format(q(plain), q(multi), q(plain), q(multi), q(multi), q(multi),
              q(multi), q(multi), q(multi), q(multi)))
    m = assert(tome.open(multi, "r", { memory = 1000, workers = 2 }))
    assert.is_true(ondemand(m))
    assert.are.equal(select(2, s:gsub("\n", "")), m:count("\n"))
    local p = assert(tome.open(plain))
    assert.are.equal(steps(p:lines()), steps(m:lines()))
    p:close()
    m:close()
    m = assert(tome.open(multi, "r", { memory = 1000, workers = 3 }))
    assert.is_true(ondemand(m))
    assert.is_true(m:sub(1, -1) == s)     -- three threads, into the spill
    assert.is_false(ondemand(m))
    assert.are.equal(select(2, s:gsub("\n", "")), m:count("\n"))
    m:close()
  end)

  it("scan a large file in bounded memory, without decompressing it",
     function()
    if not zstd.have then return pending("zstd missing") end
    -- (beyond 8 MB a thread decodes ahead: this checks that way too)
    local big = genlog(24 << 20, 32)
    local bigz = zst(big)
    local out, err, code = host([[
      local m = assert(tome.open(arg[1]))
      local p = assert(tome.open(arg[2]))
      local n, g, h = m:count("\n"), 0, 0
      for _ in m:grep('" 5%d%d ', false) do g = g + 1 end
      for _ in p:grep('" 5%d%d ', false) do h = h + 1 end
      local it = p:lines()
      for l in m:lines() do n = n - 1; assert(l == it()) end
      local hwm
      for l in io.lines("/proc/self/status") do
        hwm = hwm or tonumber(l:match("^VmHWM:%s*(%d+)"))
      end
      print(n, g == h and g > 0, m:count("\n") == p:count("\n"),
            tostring(m):find("on demand", 1, true) ~= nil,
            hwm // 1024)]], q(bigz) .. " " .. q(big))
    assert.are.equal(0, code, err)
    local n, g, c, lazy, mb =
      out:match("^(%d+)\t(%a+)\t(%a+)\t(%a+)\t(%d+)\n$")
    assert.are.equal("0", n, out)
    assert.are.equal("true", g, out)
    assert.are.equal("true", c, out)
    assert.are.equal("true", lazy, out)
    os.remove(big)
    -- (AddressSanitizer keeps freed memory in quarantine: no bound there)
    if not os.getenv("ASAN_OPTIONS") then
      assert.is_true(tonumber(mb) < 40, "peak RSS " .. mb .. " MB")
    end
    os.remove(bigz)
  end)
end)
