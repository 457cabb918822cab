-- spec/memory_spec.lua -- every scan method runs in bounded memory: the
-- file-backed resident set (RssFile in /proc/self/status) grows by less
-- than 64 MB while a method walks a 128 MiB sparse file, where keeping
-- what the scan passed would hold the whole file.  Each method is run
-- both through pread windows and through the mapping in steps (as when
-- the page cache holds large folios); its results are checked too.
-- The benchmark's rss_* rows measure the same on a 4 GiB file.
local H = require "spec.helpers"
local tome = require "tome"

local MiB = 1024 * 1024
local SIZE = 128 * MiB
local LIMIT = 64 * MiB

local function rss_file()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match("RssFile:%s*(%d+)")
  return kb and tonumber(kb) * 1024
end

-- holes, with a log-like line at the end of every MiB; and one made of
-- holes only (a single line of 128 MiB)
local LINE = '10.1.2.3 - - [x] "GET /a HTTP/1.1" 503 77 "-" "zz7qq"'
local function sparse(lines)
  local p = H.tmpname(".sparse")
  local f = assert(io.open(p, "wb"))
  assert(f:seek("set", SIZE - 1))
  assert(f:write("\0"))
  if lines then
    for k = 1, SIZE // MiB do
      assert(f:seek("set", k * MiB - #LINE - 1))
      assert(f:write(LINE, "\n"))
    end
  end
  assert(f:close())
  return p
end

-- the process's peak resident set (VmHWM), reset first where the kernel
-- lets /proc/self/clear_refs do it (writing 5): one-shot methods (count,
-- rfind...) release what they walked before they return, so only the
-- peak shows what they held
local function status(field)
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match(field .. ":%s*(%d+)")
  return kb and tonumber(kb) * 1024
end
local function reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if not f then return false end
  local ok = f:write("5")
  ok = f:close() and ok
  return ok and true or false
end

-- run fn, sampling RssFile when it calls peek() and once after it, and
-- the peak of the whole resident set over it where it can be reset; the
-- growth over the value before it ran
local function growth(fn)
  collectgarbage()
  -- not under AddressSanitizer: its quarantine keeps freed memory
  -- resident, so the whole process's peak says nothing of the file's
  local peak = not os.getenv("ASAN_OPTIONS") and reset_peak()
  local before, top = rss_file(), 0
  local rss0 = status("VmRSS")
  local function peek()
    local now = rss_file()
    if now - before > top then top = now - before end
  end
  local result = fn(peek)
  peek()
  if peak and rss0 then
    local hwm = status("VmHWM")
    if hwm and hwm - rss0 > top then top = hwm - rss0 end
  end
  return top, result
end

local function each(it, peek)
  local n = 0
  for _ in it do
    n = n + 1
    if n % 16 == 0 then peek() end
  end
  return n
end

local N = SIZE // MiB
local IP = "%d+%.%d+%.%d+%.%d+"
local METHODS = {
  { "count", function(m) return m:count("\n") end, N },
  { "lines", function(m, peek) return each(m:lines(), peek) end, N },
  { "fields", function(m, peek) return each(m:fields(" ", 8), peek) end, N },
  { "split", function(m, peek) return each(m:split("\n"), peek) end, N + 1 },
  { "grep", function(m, peek) return each(m:grep("GET /"), peek) end, N },
  { "grep pattern",
    function(m, peek) return each(m:grep('" 5%d%d ', false), peek) end, N },
  { "find pattern", function(m) return m:find("zz%dqx") end, nil },
  { "rfind", function(m) return m:rfind("zz7qx") end, nil },
  { "rfind of the last line", function(m) return m:rfind("\n", -2) end,
    SIZE - 1024 * 1024 },
  { "match", function(m) return m:match('(%d)qq"\n$') end, "7" },
  { "gmatch", function(m, peek) return each(m:gmatch(IP), peek) end, N },
  { "gsub to a writer", function(m)
      local p = H.tmpname(".out")
      local w = assert(tome.output(p))
      local n = m:gsub(IP, "x", nil, w)
      assert(w:close())
      assert(H.filesize(p) == SIZE - N * (#"10.1.2.3" - 1))
      os.remove(p)
      return n
    end, N },
  { "unpack loop", function(m, peek)
      local s = 0
      for pos = 1, #m - 3, 4096 do
        s = s + m:unpack("<I4", pos)
        if pos % (4 * MiB) == 1 then peek() end
      end
      return s == 0  -- the sampled positions all lie in holes
    end, true },
  { "read loop", function(m, peek)
      return each(function() return m:read("l") end, peek)
    end, N },
  { "byte loop", function(m, peek)
      local s = 0
      for pos = 1, #m, 4096 do
        s = s + m[pos]
        if pos % (4 * MiB) == 1 then peek() end
      end
      return s == 0  -- the sampled positions all lie in holes
    end, true },
  { "tally", function(m)
      local t = m:tally(" ", 8)
      return t["503"]
    end, N },
  { "parallel", function(_, _, path)
      return tome.parallel(path, function(v) return v:count("\n") end,
        { workers = 2, reduce = function(a, b) return a + b end })
    end, N },
  -- the chunks are cut in this state (its tuning): with opts.quote the
  -- cut counts quotes behind each separator it finds
  { "parallel, CSV cut", function(m)
      return tome.parallel(m, function(v) return v:count("\n") end,
        { workers = 2, chunks = 16, quote = '"',
          reduce = function(a, b) return a + b end })
    end, N },
}

describe("memory", function()
  after_each(H.cleanup)
  if not rss_file() then
    it("needs /proc/self/status (skipped)", function() end)
    return
  end

  -- pread windows (the default for a file read back as 4 KiB pages), and
  -- the mapping walked in 4 MiB steps
  for _, mode in ipairs { { "pread", { 1 } }, { "mapped", { 1, nil, 4 * MiB } } }
  do
    it("holds less than 64 MB on a 128 MiB file, " .. mode[1], function()
      local p = sparse(true)
      local old = { tome._tune(table.unpack(mode[2])) }
      local ok, err = pcall(function()
        for _, t in ipairs(METHODS) do
          local m <close> = assert(tome.open(p))
          local top, got = growth(function(peek) return t[2](m, peek, p) end)
          assert(got == t[3], ("%s: got %s, want %s"):format(t[1],
            tostring(got), tostring(t[3])))
          assert(top < LIMIT, ("%s (%s): RssFile grew by %.1f MB"):format(
            t[1], mode[1], top / 1e6))
        end
      end)
      tome._tune(table.unpack(old))
      assert(ok, err)
    end)
  end

  it("yields views of a 128 MiB line without holding it", function()
    local p = sparse(false)
    for _, mode in ipairs { { 1 }, { 1, nil, 4 * MiB } } do
      local old = { tome._tune(table.unpack(mode)) }
      local ok, err = pcall(function()
        local m <close> = assert(tome.open(p))
        for _, it in ipairs { function() return m:lines("v") end,
                              function() return m:split("x", "v") end } do
          local n = 0
          local top = growth(function()
            for v in it() do
              n = n + 1
              assert(#v == SIZE and v:offset() == 1)
            end
          end)
          assert(n == 1, n)
          assert(top < LIMIT, ("RssFile grew by %.1f MB"):format(top / 1e6))
        end
      end)
      tome._tune(table.unpack(old))
      assert(ok, err)
    end
  end)
end)
