-- spec/examples_spec.lua -- the example scripts of scripts/examples/ run
-- as a user runs them (tome SCRIPT ARGS...) on generated data, each
-- output checked against the same computation done in plain Lua
-- (io.lines and the string library) on the same files.

local H = require "spec.helpers"
local q = H.shell_quote

local TOME = H.tome_bin()
local EXAMPLES = "scripts/examples/"

-- {====== tools ======

local function executable(p)
  return os.execute("test -x " .. q(p)) == true
end

-- The data generators: built by make next to the host; compiled here
-- into a temporary file when they are missing.
local function generator(name)
  local dir = TOME:match("^(.*)/[^/]+$")
  for _, p in ipairs { dir .. "/" .. name, "build/" .. name } do
    if executable(p) then return p end
  end
  local out = H.tmpname()
  assert(os.execute(("cc -std=c11 -D_GNU_SOURCE -O2 -o %s scripts/%s.c -lm")
    :format(q(out), name)), "cannot compile scripts/" .. name .. ".c")
  return out
end

local sh = H.sh

-- tome scripts/examples/NAME.lua ARGS... (each argument quoted)
local function example(name, ...)
  local words = {}
  for i, a in ipairs { ... } do words[i] = q(a) end
  return sh(("%s %s %s"):format(q(TOME), q(EXAMPLES .. name .. ".lua"),
                               table.concat(words, " ")))
end

-- a temporary file with these bytes, readable by the host
local function datafile(bytes)
  return H.tmpfile(bytes)
end

local function lines_of(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

-- the blank-separated fields of a line (as awk splits them)
local function fields(line)
  local t = {}
  for f in line:gmatch("%S+") do t[#t + 1] = f end
  return t
end

-- Generated data, made once for the whole file: two logs and a CSV.
local data = {}
local function setup_data()
  if data.log then return end
  local gen_log, gen_csv = generator("gen_log"), generator("gen_csv")
  data.log = H.tmpname(".log")
  assert(os.execute(("%s -s 7 200K %s"):format(q(gen_log), q(data.log))))
  data.log2 = H.tmpname(".log")
  assert(os.execute(("%s -s 8 60K %s"):format(q(gen_log), q(data.log2))))
  data.csv = H.tmpname(".csv")
  assert(os.execute(("%s -s 3 150K %s"):format(q(gen_csv), q(data.csv))))
  data.csv2 = H.tmpname(".csv")
  assert(os.execute(("%s -s 4 20K %s"):format(q(gen_csv), q(data.csv2))))
end
-- }======

describe("the examples in scripts/examples", function()
  -- the data outlives each test: H.cleanup() runs once, at the end
  setup(setup_data)
  teardown(H.cleanup)

  describe("top_ips.lua", function()
    -- counts of the first field, the top n (ties by address)
    local function model(paths, n)
      local counts = {}
      for _, p in ipairs(paths) do
        for l in io.lines(p) do
          local ip = l:match("^%S+")
          if ip then counts[ip] = (counts[ip] or 0) + 1 end
        end
      end
      local ips = {}
      for ip in pairs(counts) do ips[#ips + 1] = ip end
      table.sort(ips, function(a, b)
        if counts[a] ~= counts[b] then return counts[a] > counts[b] end
        return a < b
      end)
      local out = {}
      for k = 1, math.min(n, #ips) do
        out[k] = ("%7d %s"):format(counts[ips[k]], ips[k])
      end
      return table.concat(out, "\n") .. "\n"
    end

    it("prints the ten most frequent clients", function()
      local out, err, code = example("top_ips", data.log)
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.are.equal(model({ data.log }, 10), out)
      assert.are.equal(10, select(2, out:gsub("\n", "")))
    end)

    it("takes -n and several files", function()
      local out, _, code = example("top_ips", "-n", "25", data.log, data.log2)
      assert.are.equal(0, code)
      assert.are.equal(model({ data.log, data.log2 }, 25), out)
    end)

    it("says how to use it", function()
      local _, err, code = example("top_ips")
      assert.are.equal(2, code)
      assert.matches("usage", err)
    end)
  end)

  describe("status_histogram.lua", function()
    it("counts every status, in status order", function()
      local out, err, code = example("status_histogram", data.log, data.log2)
      assert.are.equal(0, code)
      assert.are.equal("", err)
      local want, total = {}, 0
      for _, p in ipairs { data.log, data.log2 } do
        for l in io.lines(p) do
          local s = fields(l)[9]    -- awk's $9 in the combined format
          want[s] = (want[s] or 0) + 1
          total = total + 1
        end
      end
      local got, order = {}, {}
      for l in out:gmatch("[^\n]+") do
        local s, c, pct, bar = l:match("^(%d%d%d) +(%d+) +([%d.]+)%% (#+)$")
        assert.is_truthy(s, "bad line: " .. l)
        got[s] = tonumber(c)
        order[#order + 1] = s
        assert.is_true(math.abs(tonumber(pct) - 100 * got[s] / total) < 0.01)
        assert.is_true(#bar >= 1 and #bar <= 40)
      end
      assert.are.same(want, got)
      local sorted = { table.unpack(order) }
      table.sort(sorted)
      assert.are.same(sorted, order)
      assert.is_true(#order >= 5)     -- 200, 304, 404, ... all present
    end)

    it("reports the lines it cannot read", function()
      local p = datafile('1.2.3.4 - - [10/Oct/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5\n'
        .. "garbage\n"
        .. '1.2.3.4 - - [10/Oct/2026:00:00:01 +0000] "GET /x HTTP/1.1" 404 5\n')
      local out, err, code = example("status_histogram", p)
      assert.are.equal(0, code)
      assert.matches("^200 +1 +50%.00%% #+\n404 +1 +50%.00%% #+\n$", out)
      assert.matches("1 lines without a status", err)
    end)
  end)

  describe("slow_requests.lua", function()
    it("lists the requests above a size when the log has no time", function()
      local threshold = 100000
      local out, err, code = example("slow_requests", tostring(threshold),
                                     data.log)
      assert.are.equal(0, code)
      assert.are.equal("", err)
      local want = {}
      for n, l in ipairs(lines_of(data.log)) do
        local f = fields(l)
        local size = tonumber(f[10])
        if size and size > threshold then
          local request = l:match('"([^"]*)"')
          want[#want + 1] = ("%s:%d: %s %s\n"):format(data.log, n, f[10],
                                                    request)
        end
      end
      assert.is_true(#want > 0)
      assert.are.equal(table.concat(want), out)
    end)

    it("uses a response time in the last field when there is one", function()
      local rows, want = {}, {}
      local times = { "0.012", "1.500", "0.499", "2", "0.7", "0.5" }
      for n, t in ipairs(times) do
        rows[n] = ('10.0.0.%d - - [10/Oct/2026:00:00:%02d +0000] '
          .. '"GET /p%d HTTP/1.1" 200 %d "-" "curl/8.5.0" %s'):format(
          n, n, n, 999999, t)
        if tonumber(t) > 0.5 then
          want[#want + 1] = ("%%s:%d: %s GET /p%d HTTP/1.1\n"):format(n, t, n)
        end
      end
      local p = datafile(table.concat(rows, "\n") .. "\n")
      local out, _, code = example("slow_requests", "0.5", p)
      assert.are.equal(0, code)
      assert.are.equal(table.concat(want):gsub("%%s", (p:gsub("%%", "%%%%"))),
                       out)
    end)
  end)

  describe("csv_sum.lua", function()
    -- the sum of column col (a number) over the rows after the header
    local function model(path, col)
      local sum, rows, first = 0, 0, true
      for l in io.lines(path) do
        if not first then
          local cells = {}
          for c in (l .. ","):gmatch("([^,]*),") do cells[#cells + 1] = c end
          local x = tonumber(cells[col])
          if x then sum, rows = sum + x, rows + 1 end
        end
        first = false
      end
      return sum, rows
    end

    local function show(x)
      if math.type(x) == "integer" then return ("%d"):format(x) end
      return ("%.2f"):format(x)
    end

    it("sums a column named in the header", function()
      local out, err, code = example("csv_sum", "amount", data.csv)
      assert.are.equal(0, code)
      assert.are.equal("", err)
      local sum, rows = model(data.csv, 4)
      assert.is_true(rows > 100)
      assert.are.equal(("%s\t%s\t%d\n"):format(data.csv, show(sum), rows), out)
    end)

    it("sums a column given by number, over several files", function()
      local out, _, code = example("csv_sum", "5", data.csv, data.csv2)
      assert.are.equal(0, code)
      local s1, r1 = model(data.csv, 5)
      local s2, r2 = model(data.csv2, 5)
      assert.are.equal("integer", math.type(s1))
      assert.are.equal(("%s\t%d\t%d\n%s\t%d\t%d\ntotal\t%d\t%d\n"):format(
        data.csv, s1, r1, data.csv2, s2, r2, s1 + s2, r1 + r2), out)
    end)

    it("skips cells that are not numbers and says so", function()
      local p = datafile("name,qty\na,1\nb,x\nc,2\nd,\n")
      local out, err, code = example("csv_sum", "qty", p)
      assert.are.equal(0, code)
      assert.are.equal(p .. "\t3\t2\n", out)
      assert.matches("2 cells were not numbers", err)
      local _, err2, code2 = example("csv_sum", "price", p)
      assert.are.equal(1, code2)
      assert.matches('no column "price"', err2)
    end)
  end)

  describe("time_range.lua", function()
    local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                     Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

    -- "[10/Oct/2026:00:00:03" -> "2026-10-10T00:00:03"
    local function iso(line)
      local d, mon, y, hms = line:match("%[(%d+)/(%a+)/(%d+):([%d:]+)")
      return ("%s-%02d-%sT%s"):format(y, MONTHS[mon], d, hms)
    end

    -- the lines with from <= time < to, as text
    local function model(lines, from, to)
      local out = {}
      for _, l in ipairs(lines) do
        local t = iso(l)
        if t >= from and t < to then out[#out + 1] = l .. "\n" end
      end
      return table.concat(out)
    end

    it("extracts ranges by binary search, edges included", function()
      local lines = lines_of(data.log)
      local times = {}
      for i, l in ipairs(lines) do times[i] = iso(l) end
      local n = #lines
      assert.is_true(times[1] < times[n])   -- the log spans some seconds
      local ranges = {
        { times[n // 3], times[2 * n // 3] },
        { times[1], times[2] },               -- from the first line
        { "2000-01-01T00:00:00", times[n // 2] }, -- from before the log
        { times[n // 2], "2100-01-01" },      -- to after the log
        { times[n], "2100-01-01" },           -- the last second only
        { "2100-01-01", "2200-01-01" },       -- after the log: nothing
        { times[n // 2], times[n // 2] },     -- empty range
      }
      for _, r in ipairs(ranges) do
        local out, err, code = example("time_range", r[1], r[2], data.log)
        assert.are.equal(0, code)
        assert.are.equal("", err)
        local want = model(lines, r[1], r[2])
        assert.are.equal(want, out, ("range [%s, %s)"):format(r[1], r[2]))
      end
    end)

    it("reads dates without seconds, tiny and empty files", function()
      local one = '1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1'
      local p1 = datafile(one)                -- no final newline
      local p0 = datafile("")
      local out, _, code = example("time_range", "2026-10-10 13:55",
                                   "2026-10-10T13:56", p1, p0)
      assert.are.equal(0, code)
      assert.are.equal(one .. "\n", out)
      out = example("time_range", "2026-10-10T13:55:37", "2026-10-11", p1)
      assert.are.equal("", out)
      local _, err
      _, err, code = example("time_range", "yesterday", "today", p1)
      assert.are.equal(2, code)
      assert.matches("usage", err)
    end)
  end)

  describe("rewrite.lua", function()
    local IP = "%f[%d](%d+%.%d+)%.%d+%.%d+%f[^%d.]"

    it("rewrites into a new file as string.gsub would", function()
      local src = H.readfile(data.log)
      local want, n = src:gsub(IP, "%1.0.0")
      assert.is_true(n > 100)
      local dst = H.tmpname(".log")
      local out, err, code = example("rewrite", IP, "%1.0.0", data.log, dst)
      assert.are.equal(0, code)
      assert.are.equal("", out)
      assert.are.equal(("%d replacements\n"):format(n), err)
      assert.is_true(want == H.readfile(dst), "output differs from gsub")
      assert.is_true(src == H.readfile(data.log), "input changed")
    end)

    it("rewrites a file in place, and leaves nothing on an error", function()
      local text = "colour\nthe colour of colours\n"
      local p = datafile(text)
      local _, err, code = example("rewrite", "colour", "color", p)
      assert.are.equal(0, code)
      assert.are.equal("3 replacements\n", err)
      assert.are.equal((text:gsub("colour", "color")), H.readfile(p))
      local dst = H.tmpname()
      _, err, code = example("rewrite", "[o", "x", p, dst)
      assert.are.equal(1, code)
      assert.matches("rewrite: ", err)
      assert.is_nil(io.open(dst))
      local dir = dst:match("^(.*)/")
      local leftovers = H.run("ls -a " .. q(dir) .. " | grep -c "
        .. q(dst:match("([^/]+)$")))
      assert.are.equal("0\n", leftovers)
    end)
  end)
end)
