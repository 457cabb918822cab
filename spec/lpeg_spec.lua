-- spec/lpeg_spec.lua -- LPeg on records.  LPeg matches Lua strings only,
-- so tome feeds it lines: every line of a generated access log (combined
-- log format) is parsed with an LPeg grammar and with the `re` module,
-- and both parses are checked against a string.match parse of the same
-- line.  Then tome.records.each, the iterator that does this with an
-- optional literal prefilter.

local H = require "spec.helpers"
local tome = H.tome
local lpeg = require "lpeg"

local P, R, S, V, C, Ct, Carg, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.V,
  lpeg.C, lpeg.Ct, lpeg.Carg, lpeg.Cc

-- {====== a generated access log ======

-- The log is the same on every run: its generator has a fixed state.
local function fixed_rng()
  local r = H.rng("access log")
  r.st = 0x2545F4914F6CDD1D
  return r
end

local AGENTS = {
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/128.0",
  "curl/8.5.0", "-", "Googlebot/2.1 (+http://www.google.com/bot.html)",
  [[Weird \"quoted\" agent]], "Prometheus/2.53.0", [[a \"b\" \\]],
}
local PATHS = { "/", "/index.html", "/api/v1/items", "/api/v1/items/42",
  "/static/app.js", "/search?q=tome&page=2", "/login", "/a%20b",
  "/products/forest-5984?ref=x", "/favicon.ico" }
local METHODS = { "GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE" }
local STATUSES = { 200, 200, 200, 200, 301, 304, 404, 403, 500, 502, 503 }
local MONTHS = { "Jan", "Feb", "Mar", "Oct", "Nov", "Dec" }

local function gen_line(r)
  local k = r:int(1, 100)
  if k == 1 then return "" end                           -- junk lines
  if k == 2 then return "garbage without any structure" end
  if k == 3 then return '1.2.3.4 - - [x] "GET /only-two" 200 1 "-" "-"' end
  if k == 4 then return '1.2.3.4 - - [x] "GET / HTTP/1.1" 20 1 "-" "-"' end
  local ip = r:chance(0.1) and "2001:db8::" .. r:int(1, 9999)
             or ("%d.%d.%d.%d"):format(r:int(1, 255), r:int(0, 255),
                                       r:int(0, 255), r:int(1, 254))
  local user = r:chance(0.1) and r:pick { "alice", "bob", "x-y" } or "-"
  local time = ("%02d/%s/2026:%02d:%02d:%02d %s"):format(r:int(1, 28),
    r:pick(MONTHS), r:int(0, 23), r:int(0, 59), r:int(0, 59),
    r:pick { "+0000", "-0700", "+0530" })
  local bytes = r:chance(0.1) and "-" or tostring(r:int(0, 99999))
  local referer = r:chance(0.5) and "-"
                  or "https://example.com" .. r:pick(PATHS)
  local line = ('%s - %s [%s] "%s %s %s" %d %s "%s" "%s"'):format(ip, user,
    time, r:pick(METHODS), r:pick(PATHS),
    r:pick { "HTTP/1.0", "HTTP/1.1", "HTTP/2.0" }, r:pick(STATUSES), bytes,
    referer, r:pick(AGENTS))
  if k == 5 then line = line .. "\r" end                 -- a CRLF line
  return line
end

local function gen_log(n)
  local r = fixed_rng()
  local t = {}
  for k = 1, n do t[k] = gen_line(r) end
  return table.concat(t, "\n") .. "\n"
end
-- }======

-- {====== three parsers of one line ======

-- the fields as a table, numbers as integers; bytes is false for "-"
local function record(ip, ident, user, time, method, path, proto, status,
                      bytes, referer, agent)
  return { ip = ip, ident = ident, user = user, time = time, method = method,
           path = path, proto = proto,
           status = math.tointeger(tonumber(status)),
           bytes = bytes ~= "-" and math.tointeger(tonumber(bytes)),
           referer = referer,
           agent = agent }
end

-- 1. string.match, the reference
local LINE = '^(%S+) (%S+) (%S+) %[([^%]]*)%] "(%S+) (%S+) (%S+)" (%d%d%d) ' ..
             '(%S+) "(.-)" "(.-)"$'
local function parse_match(line)
  local f = table.pack(line:match(LINE))
  if f[1] == nil then return nil end
  if f[9] ~= "-" and not f[9]:find("^%d+$") then return nil end
  -- a quoted field ends at the first quote that is not escaped: without
  -- its escape pairs, it has no quote and no lone final backslash
  for _, x in ipairs { f[10], f[11] } do
    local rest = x:gsub("\\.", "")
    if rest:find('"') or rest:find("\\$") then return nil end
  end
  return record(table.unpack(f, 1, 11))
end

-- 2. an LPeg grammar
local sp = P" "
local field = C((1 - sp) ^ 1)
local digit = R"09"
local quoted = P'"' * C((P"\\" * 1 + (1 - S'"\\')) ^ 0) * P'"'
local GRAMMAR = P {
  "line",
  line = field * sp * field * sp * field * sp *
         "[" * C((1 - P"]") ^ 0) * "]" * sp *
         P'"' * field * sp * field * sp * C((1 - S'" ') ^ 1) * P'"' * sp *
         C(digit * digit * digit) * sp * C(digit ^ 1 + "-") * sp *
         V"referer" * sp * quoted * -1,
  referer = quoted,
}
local function parse_lpeg(line)
  local f = table.pack(GRAMMAR:match(line))
  if f[1] == nil then return nil end
  return record(table.unpack(f, 1, 11))
end

-- 3. the re module, with named fields in a table capture
local re = require "re"
local RE = re.compile([==[
  line    <- {| ip ' ' ident ' ' user ' [' time '] "' request '" '
               status ' ' bytes ' ' referer ' ' agent |} !.
  ip      <- {:ip: %S+ :}
  ident   <- {:ident: %S+ :}
  user    <- {:user: %S+ :}
  time    <- {:time: [^]]* :}
  request <- {:method: %S+ :} ' ' {:path: %S+ :} ' ' {:proto: [^" ]+ :}
  status  <- {:status: %d^3 -> tonumber :}
  bytes   <- {:bytes: %d+ -> tonumber / '-' -> nobytes :}
  referer <- {:referer: quoted :}
  agent   <- {:agent: quoted :}
  quoted  <- '"' { ('\' . / [^"\])* } '"'
]==], { tonumber = function(x) return math.tointeger(tonumber(x)) end,
        nobytes = function() return false end })
local function parse_re(line)
  return RE:match(line)
end
-- }======

local FIELDS = { "ip", "ident", "user", "time", "method", "path", "proto",
                 "status", "bytes", "referer", "agent" }

local function same_record(a, b, what)
  if a == nil or b == nil then
    if a ~= b then
      error(("%s: one parser accepts the line, the other does not (%s, %s)")
        :format(what, tostring(a), tostring(b)), 2)
    end
    return
  end
  for _, k in ipairs(FIELDS) do
    if a[k] ~= b[k] or math.type(a[k]) ~= math.type(b[k]) then
      error(("%s: field %s: %q vs %q"):format(what, k, tostring(a[k]),
                                              tostring(b[k])), 2)
    end
  end
end

describe("LPeg on the lines of a map", function()
  local log = gen_log(3000)
  local path = H.tmpfile(log)
  teardown(H.cleanup)

  it("loads lpeg and re under the tome host", function()
    assert.equal("table", type(lpeg))
    assert.equal("function", type(lpeg.match))
    assert.equal("table", type(re))
    assert.equal("function", type(re.compile))
    assert.equal(3, re.find("ab123", "[0-9]+"))
  end)

  it("parse every line of an access log like string.match does", function()
    local m <close> = assert(tome.open(path))
    local n, parsed, codes = 0, 0, {}
    for line in m:lines() do
      n = n + 1
      local want = parse_match(line)
      local what = ("line %d %q"):format(n, line)
      same_record(parse_lpeg(line), want, "lpeg, " .. what)
      same_record(parse_re(line), want, "re, " .. what)
      if want then
        parsed = parsed + 1
        codes[want.status] = true
      end
    end
    assert.equal(3000, n)
    -- the log has junk lines, and enough variety to mean something
    assert(parsed > 2800 and parsed < 3000, "parsed " .. parsed)
    assert(codes[200] and codes[404] and codes[503])
  end)

  it("scripts/lpeg_report.lua counts the statuses string.match counts",
     function()
    local want, n = {}, 0
    for _, l in ipairs(H.lines_model(log, false, 1)) do
      -- the script also takes lines with more after the agent (a CR here)
      local rec = parse_match((l[1]:gsub("\r$", "")))
      if rec then
        want[rec.status] = (want[rec.status] or 0) + 1
        n = n + 1
      end
    end
    local out, ok = H.run(H.shell_quote(H.tome_bin()) ..
      " scripts/lpeg_report.lua -n 3 " .. H.shell_quote(path) .. " 2>&1")
    assert(ok, out)
    assert.truthy(out:find((" %d requests"):format(n), 1, true),
      ("%d requests expected: %s"):format(n, out:sub(1, 100)))
    local got = {}
    for st, c in out:gmatch("\n(%d%d%d) +(%d+) ") do
      got[math.tointeger(tonumber(st))] = math.tointeger(tonumber(c))
    end
    assert.same(want, got)
    -- with a prefilter: the 5xx lines only
    out, ok = H.run(H.shell_quote(H.tome_bin()) ..
      " scripts/lpeg_report.lua -g '\" 5' " .. H.shell_quote(path))
    assert(ok, out)
    got = {}
    for st, c in out:gmatch("\n(%d%d%d) +(%d+) ") do
      got[math.tointeger(tonumber(st))] = math.tointeger(tonumber(c))
    end
    assert.same({ [500] = want[500], [502] = want[502], [503] = want[503] },
                got)
  end)

  it("parse the lines of views as well (positions relative to the view)",
     function()
    local m <close> = assert(tome.open(path))
    local r = H.rng("lpeg views")
    for _ = 1, 20 do
      local i = r:int(1, #log)
      local j = math.min(#log, i + r:int(0, 20000))
      local v = m:view(i, j)
      local s = log:sub(i, j)
      local model = H.lines_model(s, false, 1)
      local k = 0
      for line, pos in v:lines() do
        k = k + 1
        assert(line == model[k][1] and pos == model[k][2])
        same_record(parse_lpeg(line), parse_match(line), "lpeg, view line")
        same_record(parse_re(line), parse_match(line), "re, view line")
      end
      assert.equal(#model, k)
    end
  end)
end)

describe("tome.records.each", function()
  local records = require "tome.records"
  local log = gen_log(3000)
  local path = H.tmpfile(log)
  teardown(H.cleanup)

  it("yields what lpeg.match returns on each matching line, in order",
     function()
    local m <close> = assert(tome.open(path))
    local want = {}
    for _, l in ipairs(H.lines_model(log, false, 1)) do
      local rec = parse_match(l[1])
      if rec then want[#want + 1] = { l[2], rec } end
    end
    local k = 0
    for ip, ident, user, time, method, rpath, proto, status, bytes, referer,
        agent in records.each(m, GRAMMAR) do
      k = k + 1
      same_record(record(ip, ident, user, time, method, rpath, proto, status,
                         bytes, referer, agent), want[k][2], "record " .. k)
    end
    assert.equal(#want, k)
    -- Carg(1) is the line's start
    k = 0
    for pos, ip in records.each(m, Carg(1) * GRAMMAR) do
      k = k + 1
      assert.equal(want[k][1], pos)
      assert.equal(want[k][2].ip, ip)
    end
    assert.equal(#want, k)
    -- a table capture per line
    k = 0
    for t in records.each(m, Ct(GRAMMAR)) do
      k = k + 1
      same_record(record(table.unpack(t, 1, 11)), want[k][2], "table " .. k)
    end
    assert.equal(#want, k)
  end)

  it("matches only the lines holding the prefilter literal", function()
    local m <close> = assert(tome.open(path))
    local lines = H.lines_model(log, false, 1)
    -- 5xx responses: the literal '" 5' narrows, the grammar decides
    local S5 = lpeg.Cmt(GRAMMAR, function(_, i, ...)
      local status = select(8, ...)
      if status:byte(1) ~= 53 then return false end   -- '5'
      return i, status
    end) * Carg(1)
    for _, pre in ipairs { '" 5', "POST", "never there", "" } do
      local want = {}
      for _, l in ipairs(lines) do
        local rec = parse_match(l[1])
        if l[1]:find(pre, 1, true) and rec and rec.status >= 500 then
          want[#want + 1] = { tostring(rec.status), l[2] }
        end
      end
      local got = {}
      for status, pos in records.each(m, S5, pre) do
        got[#got + 1] = { status, pos }
      end
      assert.same(want, got)
      if pre == '" 5' then assert(#got > 100, "enough 5xx lines") end
    end
  end)

  it("works on views, with positions relative to the view", function()
    local m <close> = assert(tome.open(path))
    local r = H.rng("records views")
    for _ = 1, 10 do
      local i = r:int(1, #log)
      local v = m:view(i, i + r:int(0, 30000))
      local s = v:sub(1, -1)
      local want = {}
      for _, l in ipairs(H.lines_model(s, false, 1)) do
        if l[1]:find("GET", 1, true) then
          local a = l[1]:find('"GET ', 1, true)
          if a then want[#want + 1] = { a, l[2] } end
        end
      end
      local patt = P {
        lpeg.Cp() * '"GET ' + 1 * V(1),
      } * Carg(1)
      local got = {}
      for a, pos in records.each(v, patt, "GET") do got[#got + 1] = { a, pos } end
      assert.same(want, got)
    end
  end)

  it("gives the same records through small pread windows", function()
    if not tome._tune then return end   -- no knob in this build
    local m <close> = assert(tome.open(path))
    local function all(pre)
      local out = {}
      for pos, ip, status in records.each(m, Carg(1) * C((1 - sp) ^ 1) * sp *
                                          (1 - P'" ') ^ 0 * '" ' * C(digit ^ 3),
                                          pre) do
        out[#out + 1] = { pos, ip, status }
      end
      return out
    end
    local want, want5 = all(), all('" 5')
    assert(#want > 2800 and #want5 > 100)
    local old_min, old_block = tome._tune(0, 61)
    local ok, err = pcall(function()
      for _, block in ipairs { 5, 61, 1000 } do
        tome._tune(0, block)
        assert.same(want, all())
        assert.same(want5, all('" 5'))
      end
    end)
    tome._tune(old_min, old_block)
    assert(ok, err)
  end)

  it("yields end positions for patterns without captures", function()
    local v <close> = tome.wrap("abc\nxabc\nab\nabcabc\n")
    local got = {}
    for e in records.each(v, P"abc") do got[#got + 1] = e end
    assert.same({ 4, 4 }, got)
    got = {}
    for e in records.each(v, "ab") do got[#got + 1] = e end  -- lpeg.P("ab")
    assert.same({ 3, 3, 3 }, got)
  end)

  it("skips a match whose first value is nil", function()
    local v <close> = tome.wrap("a1\nb2\na3\n")
    local got = {}
    for x, y in records.each(v, P"a" * Cc(nil) * C(digit) + P"b" *
                                C(digit) * Cc"B") do
      got[#got + 1] = tostring(x) .. tostring(y)
    end
    assert.same({ "2B" }, got)
  end)

  it("runs through a long run of misses without growing the stack",
     function()
    local v <close> = tome.wrap(("miss\n"):rep(200000) .. "hit\n")
    local got = {}
    for x, pos in records.each(v, C"hit" * Carg(1)) do
      got[#got + 1] = { x, pos }
    end
    assert.same({ { "hit", 200000 * 5 + 1 } }, got)
  end)

  it("yields nothing on an empty view, and refuses bad arguments",
     function()
    local v <close> = tome.wrap("")
    for _ in records.each(v, P(1) ^ 0) do error("an empty view has no line") end
    H.raises("bad argument #1 to 'each'", records.each, "a string", P"a")
    H.raises("bad argument #1 to 'each'", records.each, nil, P"a")
    H.raises("bad argument #2 to 'each'", records.each, v, nil)
    H.raises("bad argument #2 to 'each'", records.each, v, {})
    H.raises("bad argument #3 to 'each'", records.each, v, P"a", {})
    local m = assert(tome.open(path))
    local iter = records.each(m, P"1")
    m:close()
    H.raises("attempt to use a closed map", iter)
    H.raises("attempt to use a closed map", records.each, m, P"1")
  end)
end)
