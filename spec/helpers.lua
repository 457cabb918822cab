-- spec/helpers.lua -- shared tools for the busted specs.
--
-- * a seeded random generator per test (TOME_SEED replays a run: every
--   generator is derived from the seed and the test's own name, so one
--   spec file run alone draws the same numbers as in the full run);
-- * temporary files with given bytes, removed by H.cleanup();
-- * fixtures (sizes 0, 1, 4095, 4096, 4097, 8192, CRLF, no final newline,
--   a 1 MB line, an exact multiple of the page size);
-- * models: what the string and io libraries say a method must return;
-- * comparison of multiple results (table.pack) with readable failures.

local tome = require "tome"

local H = {}
H.tome = tome

-- {====== seed ======

-- The seed is chosen once per process.  busted insulates each spec file
-- (it restores _G and package.loaded afterwards), so it is kept in the
-- registry, which busted does not touch.
local function choose_seed()
  local reg = debug.getregistry()
  if reg.tome_spec_seed == nil then
    local env = os.getenv("TOME_SEED")
    local seed = env and math.tointeger(tonumber(env))
    if not seed then
      -- os.time has one-second resolution; mix in the clock and an
      -- address so two runs in the same second still differ
      local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
      seed = (os.time() * 1000003 + math.floor(os.clock() * 1e6) + addr)
        % 1000000007
    end
    reg.tome_spec_seed = seed
    io.stderr:write(("tome specs: TOME_SEED=%d\n"):format(seed))
  end
  return reg.tome_spec_seed
end

H.seed = choose_seed()
-- }======

-- {====== random generator ======

-- xorshift64 over Lua integers (wrapping arithmetic, logical >>): the same
-- numbers on every machine, independent of math.random.
local Rng = {}
Rng.__index = Rng

local function fnv1a(s)
  local h = -3750763034362895579  -- 14695981039346656037 as a signed int
  for k = 1, #s do
    h = (h ~ s:byte(k)) * 1099511628211
  end
  return h
end

-- H.rng(name): a generator for the test called 'name'.
function H.rng(name)
  local st = fnv1a(tostring(name)) ~ (H.seed * -7046029254386353131)
  if st == 0 then st = 1 end
  return setmetatable({ st = st, name = name }, Rng)
end

function Rng:next()
  local s = self.st
  s = s ~ (s << 13)
  s = s ~ (s >> 7)
  s = s ~ (s << 17)
  self.st = s
  return s
end

-- an integer in [a, b] (b - a must be below 2^62)
function Rng:int(a, b)
  return a + (self:next() >> 1) % (b - a + 1)
end

function Rng:chance(p)
  return self:int(0, 999999) < p * 1000000
end

function Rng:pick(list)
  return list[self:int(1, #list)]
end

-- A byte biased towards what breaks parsers: NUL, '\n', '\r', and a few
-- letters (so that random needles are found), else anything.
function Rng:byte()
  local k = self:int(1, 100)
  if k <= 10 then return 10
  elseif k <= 13 then return 13
  elseif k <= 18 then return 0
  elseif k <= 48 then return self:pick { 97, 98, 99 }
  else return self:int(0, 255) end
end

-- the string of the n byte values t[1..n]
local function chars(t, n)
  local out = {}
  for k = 1, n, 4096 do
    out[#out + 1] = string.char(table.unpack(t, k, math.min(n, k + 4095)))
  end
  return table.concat(out)
end

-- n random bytes (as above)
function Rng:bytes(n)
  local t = {}
  for k = 1, n do t[k] = self:byte() end
  return chars(t, n)
end

-- n bytes drawn uniformly: incompressible (compressors store them as
-- they are)
function Rng:noise(n)
  local t = {}
  for k = 1, n do t[k] = self:int(0, 255) end
  return chars(t, n)
end

-- n bytes drawn from the string 'alphabet'
function Rng:from(alphabet, n)
  local t = {}
  for k = 1, n do
    local c = self:int(1, #alphabet)
    t[k] = alphabet:sub(c, c)
  end
  return table.concat(t)
end

-- An index for a subject of length len, biased to the edges: 0, +-len,
-- +-(len +- 1), +-1, math.maxinteger, math.mininteger, then anything in
-- [-len - 2, len + 2].
function Rng:index(len)
  local k = self:int(1, 14)
  if k == 1 then return 0
  elseif k == 2 then return len + self:int(-1, 1)
  elseif k == 3 then return -len + self:int(-1, 1)
  elseif k == 4 then return self:pick { 1, -1, 2, -2 }
  elseif k == 5 then
    return self:pick { math.maxinteger, math.mininteger,
                       math.maxinteger - 1, math.mininteger + 1 }
  else return self:int(-len - 2, len + 2) end
end

-- A pair i, j; usually a short range so byte() stays cheap on big subjects.
function Rng:range(len)
  local i = self:index(len)
  -- wide ranges push one value per byte: rarer on big subjects
  if self:chance(len > 100000 and 0.15 or 0.5) then
    return i, self:index(len)
  end
  local p = self:int(1, math.max(len, 1))
  return p, p + self:int(-2, 40)
end

-- A needle for searches in s: often a piece of s (so it is found),
-- sometimes random bytes, a newline, CRLF, or an empty string.
function Rng:needle(s, allow_empty)
  local k = self:int(1, 10)
  if k <= 5 and #s > 0 then
    local n = self:int(1, math.min(#s, self:pick { 1, 2, 3, 8, 20 }))
    local p = self:int(1, #s - n + 1)
    return s:sub(p, p + n - 1)
  elseif k == 6 then return "\n"
  elseif k == 7 then return "\r\n"
  elseif k == 8 and allow_empty then return ""
  elseif k == 9 then return "\255\254zq\0"
  else return self:bytes(self:int(1, 3)) end
end
-- }======

-- {====== files ======

local created = {}

-- a fresh path (nothing there yet); removed by H.cleanup()
function H.tmpname(suffix)
  local p = os.tmpname()
  os.remove(p)
  p = p .. (suffix or "")
  created[#created + 1] = p
  return p
end

-- a temporary file holding 'bytes'; returns its path
function H.tmpfile(bytes)
  local p = H.tmpname()
  local f = assert(io.open(p, "wb"))
  assert(f:write(bytes))
  assert(f:close())
  return p
end

function H.readfile(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function H.filesize(p)
  local f = assert(io.open(p, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

-- remove every temporary file (and directory) made so far
function H.cleanup()
  for k = #created, 1, -1 do
    os.execute("rm -rf '" .. created[k] .. "' 2>/dev/null")
    created[k] = nil
  end
end

function H.shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local page
function H.page_size()
  if not page then
    local f = io.popen("getconf PAGESIZE 2>/dev/null")
    page = f and math.tointeger(tonumber(f:read("a"))) or 4096
    if f then f:close() end
  end
  return page
end

-- absolute path of the tome host of the build under test
function H.tome_bin()
  local dir = os.getenv("TOME_BUILD") or "build"
  if dir:sub(1, 1) ~= "/" then
    local pwd = os.getenv("PWD")
    if not pwd then
      local f = io.popen("pwd")
      pwd = f:read("l")
      f:close()
    end
    dir = pwd .. "/" .. dir
  end
  return dir .. "/tome"
end

-- run 'cmd' in the shell; returns its standard output and whether it
-- exited with status 0
function H.run(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("a")
  local ok = f:close()
  return out, ok == true
end

-- Run shell text 'cmd' with standard input from a file holding 'input'
-- (or /dev/null); returns stdout, stderr and the exit status.
function H.sh(cmd, input)
  local errf = H.tmpname()
  local inf = input and H.tmpfile(input) or "/dev/null"
  local p = assert(io.popen(("( %s ) <%s 2>%s"):format(cmd,
    H.shell_quote(inf), H.shell_quote(errf))))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errf, "rb")
  local err = f and f:read("a") or ""
  if f then f:close() end
  return out, err, code
end

-- is the command 'cmd' installed?
function H.have(cmd)
  return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

function H.is_root()
  local out = H.run("id -u")
  return out:match("^0%s") ~= nil
end
-- }======

-- {====== fixtures ======

-- Deterministic fixture contents (they depend on the seed only).
-- Returns a list of { name = ..., bytes = ... }.
local fixtures
function H.fixtures()
  if fixtures then return fixtures end
  local r = H.rng("fixtures")
  local P = H.page_size()
  fixtures = {}
  local function add(name, bytes) fixtures[#fixtures + 1] =
    { name = name, bytes = bytes } end
  for _, n in ipairs { 0, 1, 2, 17, 4095, 4096, 4097, 8192 } do
    add(("random %d bytes"):format(n), r:bytes(n))
  end
  add("a lone newline", "\n")
  add("newlines only", ("\n"):rep(300))
  add("CRLF text", ("line one\r\nline two\r\n\r\nlast\r\n"):rep(20))
  add("no final newline", "alpha\nbeta\n\ngamma")
  add("NULs", "\0\0a\0\n\0b\n\0")
  -- one line of 1 MB (letters, no newline inside), then a short line
  add("1 MB line", r:from("abcdefghij", 1048576) .. "\nshort tail")
  -- an exact multiple of the page size, ending without a newline, with
  -- letters only, so that searches for absent things run to the last byte
  add("page multiple", r:from("xyz", 2 * P - 1) .. "w")
  return fixtures
end

-- The subjects to test on a fixture: the map of the file, a tome.wrap of
-- the same bytes, random views (some ending mid-map), views of views.
-- Each is { v = map or view, s = the expected bytes, name = ... }.
function H.subjects(r, bytes, path)
  local list = {}
  local m = assert(tome.open(path))
  list[#list + 1] = { v = m, s = bytes, name = "map" }
  list[#list + 1] = { v = tome.wrap(bytes), s = bytes, name = "wrap" }
  local n = #bytes
  for _ = 1, 3 do
    local i, j = r:index(n), r:index(n)
    list[#list + 1] = { v = m:view(i, j), s = bytes:sub(i, j),
                        name = ("view(%d, %d)"):format(i, j) }
  end
  if n > 2 then
    local i, j = r:int(1, n // 2), r:int(n // 2, n - 1)
    local v = m:view(i, j)
    local s = bytes:sub(i, j)
    list[#list + 1] = { v = v, s = s,
                        name = ("view(%d, %d) mid-map"):format(i, j) }
    local i2, j2 = r:index(#s), r:index(#s)
    list[#list + 1] = { v = v:view(i2, j2), s = s:sub(i2, j2),
      name = ("view(%d, %d):view(%d, %d)"):format(i, j, i2, j2) }
  end
  return list
end
-- }======

-- {====== models (what the string / io libraries say) ======

-- string.find's handling of init
function H.posrelat(init, len)
  if init == nil then return 1 end
  if init > 0 then return init end
  if init == 0 or init < -len then return 1 end
  return len + init + 1
end

-- list of { line, start } as io.lines would split s from position init
function H.lines_model(s, keep, init)
  local out = {}
  local pos = H.posrelat(init, #s)
  while pos <= #s do
    local e = s:find("\n", pos, true)
    if not e then
      out[#out + 1] = { s:sub(pos), pos }
      break
    end
    out[#out + 1] = { s:sub(pos, keep and e or e - 1), pos }
    pos = e + 1
  end
  return out
end

-- list of { field, start }: n separators give n + 1 fields
function H.split_model(s, sep)
  local out, pos = {}, 1
  while true do
    local a, b = s:find(sep, pos, true)
    if not a then
      out[#out + 1] = { s:sub(pos), pos }
      return out
    end
    out[#out + 1] = { s:sub(pos, a - 1), pos }
    pos = b + 1
  end
end

-- the fields of one line as v:fields and v:tally split it: awk-style runs
-- of blanks for " ", else plain separators (n of them give n + 1 fields)
function H.fields_model(line, sep)
  local out = {}
  if sep == " " then
    for f in line:gmatch("[^ \t]+") do out[#out + 1] = f end
  else
    for _, f in ipairs(H.split_model(line, sep)) do out[#out + 1] = f[1] end
  end
  return out
end

-- list of { line, start } for the lines (without newline) containing x
function H.grep_model(s, x)
  local out = {}
  for _, l in ipairs(H.lines_model(s, false, 1)) do
    if l[1]:find(x, 1, true) then out[#out + 1] = l end
  end
  return out
end

-- number of non-overlapping plain occurrences of x (#x > 0)
function H.count_model(s, x)
  local n, pos = 0, 1
  while true do
    local _, b = s:find(x, pos, true)
    if not b then return n end
    n, pos = n + 1, b + 1
  end
end

-- last plain occurrence of x (#x > 0) starting at or before 'last'
-- (a resolved position >= 1); returns start, end or nil
function H.rfind_model(s, x, last)
  local L = math.min(#s, last + #x - 1)
  if L < #x then return nil end
  local a = s:sub(1, L):reverse():find(x:reverse(), 1, true)
  if not a then return nil end
  local p = L - a - #x + 2
  return p, p + #x - 1
end

-- the 1-based line number of position pos (1 <= pos <= #s + 1)
function H.lineno_model(s, pos)
  return H.count_model(s:sub(1, pos - 1), "\n") + 1
end

-- what file:write writes for a number
function H.num2str(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  return string.format("%.14g", x)
end
-- }======

-- {====== comparing ======

local function show1(x)
  if type(x) == "string" then
    local s = x
    if #s > 60 then s = s:sub(1, 60) end
    s = string.format("%q", s):gsub("\\\n", "\\n"):gsub("\r", "\\r")
    if #x > 60 then s = s .. ("...(%d bytes)"):format(#x) end
    return s
  elseif math.type(x) == "float" then
    return string.format("%.17g (float)", x)
  end
  return tostring(x)
end

-- a readable rendering of a table.pack result
function H.show(t)
  local parts = {}
  for k = 1, t.n or #t do parts[k] = show1(t[k]) end
  return "(" .. table.concat(parts, ", ") .. ")"
end

local function same1(a, b)
  if a ~= a and b ~= b then return true end          -- NaN
  if math.type(a) ~= math.type(b) then return false end
  return a == b
end

-- compare two table.pack results (count, values and integer/float kind);
-- on mismatch raise an error naming 'what' and the seed
function H.same(got, want, what)
  local ok = (got.n == want.n)
  if ok then
    for k = 1, got.n do
      if not same1(got[k], want[k]) then ok = false break end
    end
  end
  if not ok then
    error(("%s: got %s, want %s  [TOME_SEED=%d]"):format(
      what or "results", H.show(got), H.show(want), H.seed), 2)
  end
end

-- pcall f(...) and pack the outcome: { n, ok, results... }
function H.try(f, ...)
  return table.pack(pcall(f, ...))
end

-- the error message of f(...), which must fail
function H.error_of(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then
    error(("expected an error, got %s  [TOME_SEED=%d]"):format(
      H.show(table.pack(table.unpack(r, 2, r.n))), H.seed), 2)
  end
  return tostring(r[2])
end

-- f(...) must raise an error whose message contains 'text' (plain)
function H.raises(text, f, ...)
  local msg = H.error_of(f, ...)
  if not msg:find(text, 1, true) then
    error(("error %q does not contain %q"):format(msg, text), 2)
  end
  return msg
end

-- collect an iterator's steps: a list of packed step results
function H.collect(iter, state, ctl)
  local out = {}
  while true do
    local r = table.pack(iter(state, ctl))
    if r[1] == nil then break end
    out[#out + 1] = r
    ctl = r[1]
    if #out > 10000000 then error("runaway iterator") end
  end
  return out
end
-- }======

return H
