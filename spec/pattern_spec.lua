-- spec/pattern_spec.lua -- Lua patterns over maps and views: v:find (with
-- a pattern), v:match, v:gmatch, v:gsub and v:grep(pat, false), each
-- compared with the string library on the same bytes (v:sub(1, -1)).
--
-- Hundreds of random patterns (captures, position captures, every class
-- and its complement, sets with ranges and '^', the four quantifiers, %b,
-- %f, back-references, anchors) run over random views of mapped files:
-- short views in the middle of a map (the bytes after them must never be
-- read), views ending at the end of a file whose size is a multiple of
-- the page size, with random init values.  Malformed patterns must raise
-- the string library's message.  TOME_SEED replays a run.

local H = require "spec.helpers"
local tome = H.tome

-- {====== comparing outcomes ======

-- an error message without its "chunk:line: " prefix, and without the
-- function's name in "bad argument" messages (string.find is found as
-- 'string.find', a method of a view under pcall as '?')
local function strip(msg)
  msg = tostring(msg):gsub("^[^\n]-:%d+: ", "")
  return (msg:gsub("^(bad argument #%d+ to )'[^']*'", "%1'?'"))
end

-- pcall f(...): { ok = true, vals = packed results } or { ok = false,
-- err = message }
local function outcome(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then return { ok = false, err = strip(r[2]) } end
  return { ok = true, vals = table.pack(table.unpack(r, 2, r.n)) }
end

local function describe_outcome(o)
  if o.ok then return H.show(o.vals) end
  return "error " .. ("%q"):format(o.err)
end

-- the two outcomes must be the same results or the same error
local function agree(got, want, what)
  local same = got.ok == want.ok
  if same and not got.ok then same = got.err == want.err end
  if same and got.ok then
    same = pcall(H.same, got.vals, want.vals, what)
  end
  if not same then
    error(("%s:\n  tome   %s\n  string %s\n  [TOME_SEED=%d]"):format(what,
      describe_outcome(got), describe_outcome(want), H.seed), 2)
  end
end

-- every step of gm(subject, p, init) (a gmatch), and its error if any
local function gmatch_steps(gm, subject, p, init)
  local steps = {}
  local ok, err = pcall(function()
    local iter = gm(subject, p, init)
    while true do
      local r = table.pack(iter())
      if r[1] == nil then return end
      steps[#steps + 1] = r
      if #steps > 1000000 then error("runaway gmatch") end
    end
  end)
  return { steps = steps, ok = ok, err = not ok and strip(err) or nil }
end

local function agree_steps(got, want, what)
  local n = math.max(#got.steps, #want.steps)
  for k = 1, n do
    local a, b = got.steps[k], want.steps[k]
    if a == nil or b == nil then
      error(("%s: step %d: tome %s, string %s  [TOME_SEED=%d]"):format(what,
        k, a and H.show(a) or "(end)", b and H.show(b) or "(end)", H.seed), 2)
    end
    H.same(a, b, ("%s: step %d"):format(what, k))
  end
  if got.ok ~= want.ok or got.err ~= want.err then
    error(("%s: tome ends with %s, string with %s  [TOME_SEED=%d]"):format(
      what, got.ok and "success" or ("%q"):format(got.err),
      want.ok and "success" or ("%q"):format(want.err), H.seed), 2)
  end
end

local function q(s) return (("%q"):format(s):gsub("\n", "n")) end
-- }======

-- {====== random subjects ======

-- The bytes of subjects: letters (some in runs), digits, blanks, line
-- ends, NUL, the pattern specials, brackets for %b, high bytes.
local ALPHABET = "aaabbbcxyzzAB019 \t\n\r\0()[]%-.^$*+?\"\200\255"

local function subject_bytes(r, n)
  local parts, len = {}, 0
  while len < n do
    local piece
    local k = r:int(1, 10)
    if k <= 6 then piece = r:from(ALPHABET, r:int(1, 12))
    elseif k == 7 then piece = r:pick { "a", "b", "x", " ", "0" }:rep(r:int(2, 9))
    elseif k == 8 then piece = "(" .. r:from("ab()", r:int(0, 6)) .. ")"
    elseif k == 9 then piece = r:from("abc", r:int(1, 4)) .. "\n"
    else piece = r:from("0123456789", r:int(1, 5)) end
    parts[#parts + 1] = piece
    len = len + #piece
  end
  return table.concat(parts):sub(1, n)
end

-- a random view of map m (whose bytes are 'bytes'), at most about maxlen
-- bytes long unless 'edges' picks the whole map; returns v, i, j
local function random_view(r, m, bytes, maxlen)
  local n = #bytes
  local k = r:int(1, 10)
  local i, j
  if k == 1 then                       -- edge indices (0, +-n, huge...)
    i, j = r:index(n), r:index(n)
    if #bytes:sub(i, j) > maxlen * 4 then i = math.max(1, n - maxlen) end
  elseif k <= 6 then                   -- mid-map: bytes follow the view
    i = r:int(1, math.max(1, n - 1))
    j = math.min(n - 1, i + r:int(0, maxlen))
  elseif k <= 8 then                   -- ending at the map's end
    i = math.max(1, n - r:int(0, maxlen))
    j = r:pick { -1, n, n + 7, math.maxinteger }
  else                                 -- negative indices
    i = -r:int(1, math.min(n, maxlen + 1))
    j = -r:int(1, math.max(1, -i))
  end
  return m:view(i, j), i, j
end
-- }======

-- {====== random patterns ======

-- %z (NUL) is deprecated but still there in 5.4; %q is the letter q
local CLASSES = "adswxpclguADSWXPCLGUzZq"
local SPECIAL = "^$*+?.([%-)"

local function pickchar(r, s)
  local k = r:int(1, #s)
  return s:sub(k, k)
end

-- one subject character as a pattern literal
local function literal(r)
  local c = pickchar(r, ALPHABET)
  if SPECIAL:find(c, 1, true) then
    -- '^' and '$' in the middle are plain characters; sometimes say so
    -- unescaped (the generator never puts them first or last)
    if (c == "^" or c == "$") and r:chance(0.3) then return c, true end
    return "%" .. c
  end
  if not c:find("%w") and r:chance(0.2) then return "%" .. c end
  return c
end

-- a character inside a set
local function setchar(r)
  local c = pickchar(r, ALPHABET)
  if c == "]" or c == "%" or c == "-" or c == "^" then return "%" .. c end
  return c
end

local function set(r)
  local t = { "[" }
  if r:chance(0.3) then t[#t + 1] = "^" end
  local k = r:int(1, 12)
  if k == 1 then t[#t + 1] = "]" end          -- ']' first is a member
  if k == 2 then t[#t + 1] = "-" end          -- so is a leading '-'
  for _ = 1, r:int(1, 4) do
    local e = r:int(1, 6)
    if e <= 2 then t[#t + 1] = setchar(r)
    elseif e <= 4 then                         -- a range (maybe reversed)
      t[#t + 1] = pickchar(r, "abcxyz0189AZ") .. "-" ..
                  pickchar(r, "abcxyz0189AZ")
    else t[#t + 1] = "%" .. pickchar(r, CLASSES) end
  end
  if k == 3 then t[#t + 1] = "-" end          -- and a trailing one
  t[#t + 1] = "]"
  return table.concat(t)
end

-- a single-character class
local function single(r)
  local k = r:int(1, 10)
  if k <= 4 then return (literal(r))
  elseif k == 5 then return "."
  elseif k <= 7 then return "%" .. pickchar(r, CLASSES)
  else return set(r) end
end

-- st: { caps = captures opened, closed = list of closed capture
-- indices, quants = unbounded quantifiers left, maxcaps }
local function sequence(r, st, depth)
  local t = {}
  for _ = 1, r:int(1, depth == 0 and 5 or 3) do
    local k = r:int(1, 20)
    if k <= 12 then
      local item = single(r)
      if r:chance(0.45) then
        local qn = pickchar(r, "*+-?")
        if qn ~= "?" then
          if st.quants > 0 then st.quants = st.quants - 1 else qn = "?" end
        end
        item = item .. qn
      end
      t[#t + 1] = item
    elseif k <= 14 and depth < 3 and st.caps < st.maxcaps then
      st.caps = st.caps + 1
      local idx = st.caps
      t[#t + 1] = "(" .. sequence(r, st, depth + 1) .. ")"
      st.closed[#st.closed + 1] = idx
    elseif k == 15 and st.caps < st.maxcaps then
      st.caps = st.caps + 1
      st.closed[#st.closed + 1] = st.caps
      t[#t + 1] = "()"
    elseif k == 16 then
      t[#t + 1] = "%b" .. r:pick { "()", "[]", "ab", "xx", "\"\"", "a)" }
    elseif k == 17 then
      t[#t + 1] = "%f" .. set(r)
    elseif k >= 18 and k <= 19 and #st.closed > 0 then
      t[#t + 1] = "%" .. r:pick(st.closed)
    else
      t[#t + 1] = (literal(r))
    end
  end
  return table.concat(t)
end

-- A valid pattern.  'quants' bounds the unbounded quantifiers (* + -),
-- which cost a power of the subject's length each.  Returns the pattern
-- and its number of captures.
local function random_pattern(r, quants)
  local st = { caps = 0, closed = {}, quants = quants or 3,
               maxcaps = r:int(0, 5) }
  local p = sequence(r, st, 0)
  if r:chance(0.2) then p = "^" .. p end
  if r:chance(0.2) then p = p .. "$" end
  return p, st.caps
end

-- A pattern that is probably malformed: a valid one, broken.  Whether it
-- raises, and where, is for the string library to say.
local function malformed_pattern(r)
  local p = random_pattern(r, 2)
  local at = r:int(0, #p)
  local function insert(x) return p:sub(1, at) .. x .. p:sub(at + 1) end
  local k = r:int(1, 14)
  if k == 1 then return p .. "%"
  elseif k == 2 then return insert(")")
  elseif k == 3 then return insert("(")
  elseif k == 4 then return p .. "[" .. r:from("ab%", r:int(0, 3))
  elseif k == 5 then return p .. r:pick { "%b", "%ba", "%b(" }
  elseif k == 6 then return insert(r:pick { "%f", "%fa", "%f(", "%f%a" })
  elseif k == 7 then return insert("%" .. r:int(0, 9))
  elseif k == 8 then return insert(("()"):rep(r:int(30, 34)))
  elseif k == 9 then return p .. r:pick { "[]", "[^]", "[a%", "[%", "[^" }
  elseif k == 10 then return p:sub(1, at)              -- cut anywhere
  elseif k == 11 then return insert("%" .. pickchar(r, "abcxyzBX019"))
  elseif k == 12 then return insert("[]" .. r:from("ab]", r:int(0, 2)))
  elseif k == 13 then return insert(("(a)"):rep(r:int(1, 3)) .. "%" ..
                                   r:int(1, 5))
  else return insert(r:pick { "%", "(", ")", "[", "]" }) end
end
-- }======

-- {====== gsub replacements ======

-- a replacement string: text, %0-%9 (valid ones mostly), %%
local function repl_string(r, ncaps)
  local t = {}
  for _ = 1, r:int(0, 5) do
    local k = r:int(1, 10)
    if k <= 3 then t[#t + 1] = r:from("<>xy-\n", r:int(1, 3))
    elseif k <= 5 then t[#t + 1] = "%0"
    elseif k <= 7 then t[#t + 1] = "%" .. r:int(1, math.max(1, ncaps))
    elseif k == 8 then t[#t + 1] = "%%"
    elseif k == 9 and r:chance(0.3) then        -- invalid, most of them
      t[#t + 1] = r:pick { "%" .. r:int(ncaps + 1, 9), "%x", "%", "%-" }
    else t[#t + 1] = "." end
  end
  return table.concat(t)
end

-- A replacement value, and a fresh copy of it for the other side (the
-- function and the table record their calls, so the two logs can be
-- compared).  Pure functions of their arguments, so both sides agree.
local function repl_value(r, ncaps)
  local k = r:int(1, 10)
  if k <= 4 then
    local s = repl_string(r, ncaps)
    return function() return s end
  elseif k == 5 then
    local x = r:pick { 7, -3, 2.5, 1e100, math.mininteger, -0.0 }
    return function() return x end
  elseif k <= 7 then
    local bad = r:chance(0.05)
    return function(log)
      local fixed = { a = "A", b = false, ["()"] = "<parens>", [1] = "one",
                      [3] = 3.5 }
      return setmetatable(fixed, { __index = function(_, key)
        log[#log + 1] = table.pack("index", key)
        local h = #tostring(key) % 5
        if h == 0 then return nil
        elseif h == 1 then return false
        elseif h == 2 then return "[" .. tostring(key) .. "]"
        elseif h == 3 then return bad and {} or 42
        else return 0.25 end
      end })
    end
  else
    local bad = r:chance(0.05)
    return function(log)
      return function(...)
        log[#log + 1] = table.pack(...)
        local a = ...
        local h = (#tostring(a) + select("#", ...)) % 6
        if h == 0 then return nil
        elseif h == 1 then return false
        elseif h == 2 then return "{" .. tostring(a) .. "}", "ignored"
        elseif h == 3 then return select("#", ...)
        elseif h == 4 then return bad and {} or 1.5
        else return tostring(a):upper() end
      end
    end
  end
end

local function random_limit(r)
  local k = r:int(1, 20)
  if k <= 8 then return nil
  elseif k <= 16 then return r:int(-1, 4)
  elseif k == 17 then return math.maxinteger
  elseif k == 18 then return 2.0
  elseif k == 19 then return "3" end     -- converted, as string.gsub does
  return 2.5                             -- an error, as in string.gsub
end
-- }======

-- {====== the differential check ======

-- v:find/match/gmatch/gsub against string.* on s = v:sub(1, -1), for
-- pattern p, init, a replacement maker and a limit
local function check_all(v, s, p, init, mkrepl, n, what)
  local tag = ("%s, pattern %s, init %s"):format(what, q(p), tostring(init))
  agree(outcome(v.find, v, p, init), outcome(string.find, s, p, init),
        "find: " .. tag)
  if #p % 3 == 0 then   -- an explicit plain = false is a pattern search
    agree(outcome(v.find, v, p, init, false),
          outcome(string.find, s, p, init, false), "find(false): " .. tag)
  end
  agree(outcome(v.match, v, p, init), outcome(string.match, s, p, init),
        "match: " .. tag)
  agree_steps(gmatch_steps(v.gmatch, v, p, init),
              gmatch_steps(string.gmatch, s, p, init), "gmatch: " .. tag)
  if mkrepl then
    local log1, log2 = {}, {}
    local r1, r2 = mkrepl(log1), mkrepl(log2)
    tag = ("%s, repl %s, n %s"):format(tag, type(r1) == "string" and q(r1)
      or type(r1), tostring(n))
    agree(outcome(v.gsub, v, p, r1, n), outcome(string.gsub, s, p, r2, n),
          "gsub: " .. tag)
    if #log1 ~= #log2 then
      error(("gsub: %s: %d calls of the replacement, string.gsub made %d"
        .. "  [TOME_SEED=%d]"):format(tag, #log1, #log2, H.seed))
    end
    for k = 1, #log1 do H.same(log1[k], log2[k], "gsub call " .. k .. ": "
                               .. tag) end
  end
end

-- a random init for a subject of len bytes (nil: the default)
local function random_init(r, len)
  if r:chance(0.3) then return nil end
  return r:index(len)
end
-- }======

describe("patterns", function()
  local r0 = H.rng("pattern files")
  local P = H.page_size()
  local text = subject_bytes(r0, 3000)
  local text_path = H.tmpfile(text)
  -- a page multiple: letters and blanks, then a final 'w'
  local page = r0:from("xyz x", 2 * P - 1) .. "w"
  local page_path = H.tmpfile(page)

  teardown(H.cleanup)

  local function check_view(r, m, bytes, maxlen, count, quants)
    -- the same bytes in memory (as pipes and special files are read)
    local w = tome.wrap(bytes)
    for _ = 1, count do
      local v, i, j = random_view(r, r:chance(0.2) and w or m, bytes, maxlen)
      local s = v:sub(1, -1)
      assert(s == bytes:sub(i, j), "v:sub(1, -1) is the bytes of the view")
      local long = #s > 400
      local p, ncaps = random_pattern(r, long and 1 or quants)
      local what = ("view(%d, %d) of %d bytes"):format(i, j, #bytes)
      check_all(v, s, p, random_init(r, #s), repl_value(r, ncaps),
                random_limit(r), what)
    end
  end

  it("agree with the string library on random views of a text file",
     function()
    local r = H.rng("random patterns / text")
    local m <close> = assert(tome.open(text_path))
    check_view(r, m, text, 120, 700, 3)
  end)

  it("agree on views ending at the end of a page-multiple file", function()
    local r = H.rng("random patterns / page")
    local m <close> = assert(tome.open(page_path))
    assert.equal(0, #m % P)
    check_view(r, m, page, 300, 100, 2)
    -- patterns that fail only at the very end: an engine that read the
    -- byte after the view (there is none: the next page) would see it
    local ends = { "w.", "w%z", "w%c", "w[%z%c]", "w\0", "w%Z", "ww", "w%w",
      "w%f[%c]", "w%f[^%c]", "x-w.", "[xyz ]*q", "w()$", "w$", "%f[%c]",
      "w%bw.", "%bxw", "(w)%1", "w?%s*$", "w[^w]", "[^q]-\0", ".-$", "w.?$",
      "(w*)(.?)$" }
    for _, p in ipairs(ends) do
      for _, k in ipairs { 1, 2, 17, 300, P + 1, #page } do
        local v = m:view(-k)
        local s = v:sub(1, -1)
        -- (some of these patterns cost the square of the length: on the
        -- long view, search near the end only)
        local inits = k <= 300 and { 1, -1, -2, #s, #s + 1 } or { -1, -2 }
        for _, init in ipairs(inits) do
          check_all(v, s, p, init, k <= 300 and function() return "<%0>" end,
                    nil, ("last %d bytes of a page multiple"):format(k))
        end
      end
    end
  end)

  it("never read the bytes after a view that ends mid-map", function()
    local r = H.rng("pattern view ends")
    local m <close> = assert(tome.open(text_path))
    for _ = 1, 300 do
      local j = r:int(2, #text - 2)
      local i = math.max(1, j - r:int(0, 20))
      local v = m:view(i, j)
      local s = text:sub(i, j)
      -- the pattern needs the bytes after the view (escaped literally,
      -- through a set, or as a frontier) to match at its end
      local nxt = text:sub(j + 1, j + 1)
      local last = text:sub(j, j)
      local function lit(c) return c:find("%w") and c or "%" .. c end
      local function inset(c) return "[" .. lit(c) .. "]" end
      for _, p in ipairs { lit(last) .. lit(nxt), lit(last) .. inset(nxt),
                           lit(last) .. ".", lit(last) .. "%f[^" .. lit(nxt)
                           .. "]" .. lit(nxt), "%f[" .. lit(nxt) .. "]$",
                           lit(last) .. lit(nxt) .. "?$",
                           "%b" .. last .. nxt } do
        check_all(v, s, p, nil, nil, nil, ("view(%d, %d)"):format(i, j))
      end
    end
  end)

  it("never read the bytes before a view that starts mid-map", function()
    local r = H.rng("pattern view starts")
    local m <close> = assert(tome.open(text_path))
    for _ = 1, 300 do
      local i = r:int(2, #text - 30)
      local j = i + r:int(0, 20)
      local v = m:view(i, j)
      local s = text:sub(i, j)
      local prev, first = text:sub(i - 1, i - 1), text:sub(i, i)
      local function lit(c) return c:find("%w") and c or "%" .. c end
      -- the frontier at the start sees '\0' before the subject, as
      -- string.find does, not the map's previous byte
      for _, p in ipairs { "%f[" .. lit(first) .. "]", "%f[^" .. lit(prev)
                           .. "]", "%f[%w]", "%f[%W]", "%f[%z]", "%f[^%c]",
                           "^" .. lit(first), lit(prev) .. lit(first),
                           "%f[" .. lit(first) .. "]" .. lit(first) .. "+" } do
        check_all(v, s, p, r:pick { 1, 2, -#s }, nil, nil,
                  ("view(%d, %d)"):format(i, j))
      end
    end
  end)

  it("agree when a literal, an anchor or a class starts the pattern",
     function()
    -- the fast paths: candidates found by a literal search (memchr,
    -- memmem; prefixes longer than the engine keeps, too), a first-byte
    -- set, or a single anchored attempt, over long subjects
    local r = H.rng("pattern fast paths")
    local m <close> = assert(tome.open(text_path))
    local pm <close> = assert(tome.open(page_path))
    for round = 1, 150 do
      local bytes, map = text, m
      if round % 4 == 0 then bytes, map = page, pm end
      local a = r:int(1, #bytes - 1)
      local piece = bytes:sub(a, a + r:pick { 1, 1, 2, 3, 5, 8, 33, 40 } - 1)
      local lit = piece:gsub("[%^%$%*%+%?%.%(%)%[%]%%%-]", "%%%0")
      local heads = { lit, lit, lit, "^" .. lit, lit .. "?", lit .. "*",
        "(" .. lit .. ")", "%d", "%a", "[xyz]", "[^xyz ]", "%s%S", "%f[%w]",
        "%bxy", "()" .. lit, "." .. lit, "(" .. lit .. ")%1" }
      local head = r:pick(heads)
      local tail = r:chance(0.3) and "" or (random_pattern(r, 1))
      local p = head .. tail
      local v, i, j = map, 1, #bytes
      if r:chance(0.5) then
        i, j = r:int(1, #bytes), r:pick { -1, #bytes - r:int(1, 100) }
        v = map:view(i, j)
      end
      local s = v:sub(1, -1)
      local what = ("view(%d, %d) of %d bytes"):format(i, j, #bytes)
      check_all(v, s, p, random_init(r, #s),
                r:chance(0.5) and function() return "<%0>" end, nil, what)
    end
  end)

  it("agree on small files and empty views", function()
    local r = H.rng("random patterns / small")
    for _, n in ipairs { 0, 1, 2, 5 } do
      local bytes = subject_bytes(r, n)
      local m <close> = assert(tome.open(H.tmpfile(bytes)))
      for _ = 1, 30 do
        local p, ncaps = random_pattern(r)
        check_all(m, bytes, p, random_init(r, n), repl_value(r, ncaps),
                  random_limit(r), ("a map of %d bytes"):format(n))
        local v = m:view(n + 1)
        check_all(v, "", p, random_init(r, 0), repl_value(r, ncaps),
                  random_limit(r), "an empty view")
      end
    end
  end)

  it("handle init as string.find does (negative, 0, len, len + 1, huge)",
     function()
    local r = H.rng("pattern init")
    local m <close> = assert(tome.open(text_path))
    for _ = 1, 60 do
      local v, i, j = random_view(r, m, text, 60)
      local s = v:sub(1, -1)
      local p = random_pattern(r, 2)
      local len = #s
      for _, init in ipairs { -len - 1, -len, -1, 0, 1, len, len + 1, len + 2,
                              math.maxinteger, math.mininteger, 2.0 } do
        check_all(v, s, p, init, nil, nil, ("view(%d, %d)"):format(i, j))
      end
      for _, init in ipairs { 1.5, "x", "2", {} } do
        agree(outcome(v.find, v, p, init), outcome(string.find, s, p, init),
              ("find, bad init %s"):format(tostring(init)))
        agree(outcome(v.match, v, p, init), outcome(string.match, s, p, init),
              ("match, bad init %s"):format(tostring(init)))
      end
    end
  end)

  it("treat '^' as a plain character in gmatch, an anchor elsewhere",
     function()
    local m <close> = tome.wrap("^a^ab a ^^a")
    local s = m:sub(1, -1)
    for _, p in ipairs { "^a", "^^", "^", "^(a)", "(^a)", "a^", "^$", "$" } do
      for _, init in ipairs { 1, 2, 4, -1, 12, 13 } do
        check_all(m, s, p, init, function() return "[%0]" end, nil, "wrap")
      end
    end
  end)

  it("do a plain search in find when the pattern has no specials",
     function()
    local m <close> = tome.wrap("xa)y]z a) a]")
    local s = m:sub(1, -1)
    for _, p in ipairs { "a)", ")", "]", "a]", "y]z", "" } do
      agree(outcome(m.find, m, p), outcome(string.find, s, p), "find " .. q(p))
      agree(outcome(m.match, m, p), outcome(string.match, s, p),
            "match " .. q(p))
    end
  end)

  it("raise the string library's message on every malformed pattern",
     function()
    local m <close> = tome.wrap("abc()[]%% ab)x\0ba")
    local s = m:sub(1, -1)
    local list = { "%", "abc%", "[a", "[^", "[]", "[^]", "[a%", "[%", "[%]",
      "%b", "%ba", "%f", "%fa", "%f%a", "%1", "%0", "(%1)", "(a)%2", "%9",
      ")", "a)(", "(", "(a", "((a)", "a(()", ("()"):rep(33), ("(a?)"):rep(33),
      "[a-", "%b(", "a[", "x*%", "(()%3)", "%f[a" }
    for _, p in ipairs(list) do
      -- each one must raise here (the subject reaches the broken part)
      local want = outcome(string.match, s, p)
      if want.ok then want = outcome(string.find, s, p) end
      if want.ok then want = outcome(string.gsub, s, p, "x") end
      assert(not want.ok, "the list holds only malformed patterns: " .. q(p))
      check_all(m, s, p, nil, function() return "x" end, nil, "wrap")
      check_all(m, s, p, nil, function() return "%1" end, nil, "wrap")
    end
    -- and random broken patterns raise (or not) as the string library
    local r = H.rng("malformed patterns")
    local t <close> = assert(tome.open(text_path))
    local raised = 0
    for _ = 1, 400 do
      local v, i, j = random_view(r, t, text, 80)
      local sv = v:sub(1, -1)
      local p = malformed_pattern(r)
      if not pcall(string.gsub, sv, p, "x") then raised = raised + 1 end
      check_all(v, sv, p, random_init(r, #sv), repl_value(r, 2),
                random_limit(r), ("view(%d, %d)"):format(i, j))
    end
    assert(raised > 30, ("many random broken patterns raise (%d do)")
      :format(raised))
  end)

  it("have the string library's limits: depth and 32 captures", function()
    local m <close> = tome.wrap(("a"):rep(300))
    local s = m:sub(1, -1)
    for k = 180, 210 do
      check_all(m, s, ("a?"):rep(k), nil, nil, nil, k .. " x 'a?'")
      check_all(m, s, ("(a)"):rep(math.min(k - 170, 40)), nil, nil, nil,
                "captures")
    end
    for k = 28, 36 do
      check_all(m, s, ("()"):rep(k), nil, function() return "%9" end, nil,
                k .. " position captures")
    end
    -- a deep chain of nested captures and optional items
    for k = 95, 105 do
      check_all(m, s, ("a?"):rep(k) .. "(" .. ("a?"):rep(k) .. ")", nil, nil,
                nil, "nested")
    end
  end)

  it("gsub: string, table and function replacements, and the limit",
     function()
    local m <close> = tome.wrap("hello world, abc (x(y)) 42 a\0b")
    local s = m:sub(1, -1)
    local cases = {
      { "(%w+)", "%1-%1" }, { "%w+", "%0 %0" }, { "(l)(l)", "%2%1%%" },
      { "()(o)()", "%1%2%3" }, { "%s", "%%" }, { "", "-" }, { "x*", "<%0>" },
      { "(h)(e)(l)(l)(o)( )(w)(o)(r)", "%9%8%7%6%5%4%3%2%1%0" },
      { "%w+", { hello = "HI", world = false, abc = 3, [42] = "no" } },
      { "%d+", { ["42"] = 4.5 } }, { "(%w)%w*", { h = "H", a = "A" } },
      { "%w+", function(w) return #w > 3 and w:upper() or nil end },
      { "(%w)(%w*)", function(a, b) return b .. a end },
      { "()%w+()", function(a, b) return b - a end },
      { "%b()", function(x) return x == "(x(y))" and false or "!" end },
      { "%f[%w]%w+", "<%0>" }, { "^h", "H" }, { "$", "!" }, { "^", ">" },
      { "%w+$", "END" }, { "a%z?", "A" },
    }
    for _, c in ipairs(cases) do
      for _, n in ipairs { 0, 1, 2, 3, -1, 100, 1.0 } do
        agree(outcome(m.gsub, m, c[1], c[2], n),
              outcome(string.gsub, s, c[1], c[2], n),
              ("gsub(%s, %s, %s)"):format(q(c[1]), tostring(c[2]), n))
      end
      agree(outcome(m.gsub, m, c[1], c[2]), outcome(string.gsub, s, c[1], c[2]),
            ("gsub(%s, %s)"):format(q(c[1]), tostring(c[2])))
    end
    -- errors in the replacement, as string.gsub raises them
    local bad = { { "%w+", "%2" }, { "(%w+)", "%3" }, { "o", "%" },
      { "o", "%x" }, { "o", "%-" }, { "o", {} , "table value" },
      { "(o)", function() return {} end }, { "o", true }, { "o", nil },
      { "o", function() error("boom") end }, { "o", "x", 1.5 },
      { "o", "x", "z" }, { "(o", "%1" }, { "(o", "x" }, { "()o", "%1" } }
    for _, c in ipairs(bad) do
      local repl = c[2]
      if c[3] == "table value" then repl = { o = {} } end
      local n = c[3] ~= "table value" and c[3] or nil
      agree(outcome(m.gsub, m, c[1], repl, n),
            outcome(string.gsub, s, c[1], repl, n),
            ("gsub(%s, %s, %s)"):format(q(c[1]), tostring(repl), tostring(n)))
    end
  end)

  it("gsub streams into a writer: the file holds what string.gsub returns",
     function()
    local r = H.rng("gsub into writers")
    local m <close> = assert(tome.open(text_path))
    for round = 1, 60 do
      local v, i, j = random_view(r, m, text, round % 6 == 0 and 3000 or 200)
      local s = v:sub(1, -1)
      local p, ncaps = random_pattern(r, #s > 400 and 1 or 2)
      local mk = repl_value(r, ncaps)
      local n = random_limit(r)
      local want = outcome(string.gsub, s, p, mk({}), n)
      local path = H.tmpname(".gsub")
      local w = assert(tome.output(path))
      local got = outcome(v.gsub, v, p, mk({}), n, w)
      local what = ("gsub(%s, ..., %s, w) on view(%d, %d)"):format(q(p),
        tostring(n), i, j)
      if not want.ok then
        agree(got, want, what)
        w:abort()
      else
        assert(got.ok, what .. ": " .. tostring(got.err))
        H.same(got.vals, table.pack(want.vals[2]), what .. ": the count only")
        assert(w:close())
        local out = H.readfile(path)
        if out ~= want.vals[1] then
          error(("%s: the file holds %s, string.gsub gave %s  [TOME_SEED=%d]")
            :format(what, q(out:sub(1, 80)), q(want.vals[1]:sub(1, 80)),
                    H.seed))
        end
      end
    end
    -- the whole page-multiple file, replacements all along it
    local pm <close> = assert(tome.open(page_path))
    for _, c in ipairs { { "x", "XX" }, { "%s+", "" }, { "w$", "W\n" },
                         { "(y)(z?)", "%2%1" }, { "q", "never" } } do
      local path = H.tmpname(".gsub")
      local w = assert(tome.output(path))
      local cnt = pm:gsub(c[1], c[2], nil, w)
      assert(w:close())
      local ws, wn = page:gsub(c[1], c[2])
      assert.equal(wn, cnt)
      assert(H.readfile(path) == ws, "page multiple: gsub " .. c[1])
    end
  end)

  it("gsub raises, never crashes, when the replacement closes the map",
     function()
    local path = H.tmpfile("one two three four\n")
    local m = assert(tome.open(path))
    local ok, err = pcall(m.gsub, m, "%w+", function(x)
      if x == "two" then m:close() end
      return x:upper()
    end)
    assert.is_false(ok)
    assert.matches("closed map", tostring(err))
    local m2 = assert(tome.open(path))
    local w = assert(tome.output(H.tmpname(".gsub")))
    ok, err = pcall(m2.gsub, m2, "%w+", function(x)
      if x == "three" then m2:close() end
      return x
    end, nil, w)
    assert.is_false(ok)
    assert.matches("closed map", tostring(err))
    w:abort()
  end)

  it("gmatch steps in any coroutine; a yield in gsub fails as string.gsub",
     function()
    local m <close> = tome.wrap("one two three")
    local iter = m:gmatch("%a+")
    assert.equal("one", coroutine.wrap(function() return iter() end)())
    assert.equal("two", coroutine.wrap(function() return iter() end)())
    assert.equal("three", iter())
    assert.is_nil(iter())
    local function yielding(subject)
      local co = coroutine.create(function()
        return subject:gsub("%a+", function(x) coroutine.yield(x) end)
      end)
      local r = table.pack(coroutine.resume(co))
      if not r[1] then r[2] = strip(r[2]) end
      return r
    end
    H.same(yielding(m), yielding(m:sub(1, -1)), "yield inside gsub")
  end)

  it("raise, never crash, when the map is closed or resized meanwhile",
     function()
    local path = H.tmpfile("alpha beta\ngamma delta\nepsilon\n")
    local m = assert(tome.open(path))
    local gm = m:gmatch("%a+")
    local gp = m:grep("%a+", false)
    assert.equal("alpha", gm())
    assert.equal("alpha beta", gp())
    m:close()
    H.raises("attempt to use a closed map", gm)
    H.raises("attempt to use a closed map", gp)
    -- a writable map that shrinks between two steps
    local w = tome.wrap("alpha beta\ngamma delta\nepsilon\n")
    gm = w:gmatch("%a+")
    gp = w:grep("%a", false)
    local v = w:view(12)
    local gv = v:gmatch("%a+")
    assert.equal("alpha", gm())
    assert.equal("alpha beta", gp())
    assert.equal("gamma", gv())
    w:resize(5)
    assert.has_error(gm)
    assert.has_error(gp)
    assert.has_error(gv)
    -- and a gsub whose replacement shrinks or closes its own map
    local w2 = tome.wrap("one two three four")
    assert.has_error(function()
      w2:gsub("%a+", function(x) if x == "two" then w2:resize(4) end end)
    end)
  end)

  describe("grep(pat, false)", function()
    -- many short lines, some empty, some with CR, NUL and specials
    local r1 = H.rng("grep lines")
    local lines = {}
    for k = 1, 3000 do
      local n = r1:pick { 0, 1, 3, 8, 20, 40 }
      lines[k] = subject_bytes(r1, n):gsub("\n", "")
      if r1:chance(0.1) then lines[k] = lines[k] .. "\r" end
    end
    local data = table.concat(lines, "\n")
    local data_path = H.tmpfile(data)

    -- the lines of s where string.find(line, p) succeeds, and the error
    -- string.find raises first, if any
    local function model(s, p)
      local out = {}
      for _, l in ipairs(H.lines_model(s, false, 1)) do
        local ok, found = pcall(string.find, l[1], p)
        if not ok then return { list = out, err = strip(found) } end
        if found then out[#out + 1] = l end
      end
      return { list = out }
    end

    local function run(v, p)
      local out = {}
      local ok, err = pcall(function()
        for line, pos in v:grep(p, false) do
          out[#out + 1] = { line, pos }
          if #out > 1000000 then error("runaway grep") end
        end
      end)
      return { list = out, err = not ok and strip(err) or nil }
    end

    local function compare(got, want, what)
      for k = 1, math.max(#got.list, #want.list) do
        local a, b = got.list[k], want.list[k]
        if not a or not b or a[1] ~= b[1] or a[2] ~= b[2] then
          error(("%s: match %d: tome %s, string.find %s  [TOME_SEED=%d]")
            :format(what, k, a and H.show(a) or "(none)",
                    b and H.show(b) or "(none)", H.seed), 2)
        end
      end
      if got.err ~= want.err then
        error(("%s: tome ends with %s, string.find with %s  [TOME_SEED=%d]")
          :format(what, tostring(got.err), tostring(want.err), H.seed), 2)
      end
    end

    it("yields exactly the lines string.find accepts, with their starts",
       function()
      local r = H.rng("grep random patterns")
      local m <close> = assert(tome.open(data_path))
      for round = 1, 200 do
        local p = round % 5 == 0 and malformed_pattern(r)
                  or random_pattern(r, 2)
        local v, s, what = m, data, "map"
        if round % 3 == 0 then
          local i = r:int(1, #data)
          local j = r:pick { -1, math.min(#data, i + r:int(0, 5000)) }
          v, s = m:view(i, j), data:sub(i, j)
          what = ("view(%d, %d)"):format(i, j)
        end
        compare(run(v, p), model(s, p), ("grep(%s) on %s"):format(q(p), what))
      end
    end)

    it("prefilters literal prefixes without changing the answer", function()
      local r = H.rng("grep literal patterns")
      local m <close> = assert(tome.open(data_path))
      for _ = 1, 150 do
        -- a piece of some line, then a random tail
        local l = lines[r:int(1, #lines)]
        local a = r:int(1, math.max(1, #l))
        local piece = l:sub(a, a + r:int(0, 5))
        local lit = piece:gsub("[%^%$%*%+%?%.%(%)%[%]%%%-]", "%%%0")
        local p = lit .. (r:chance(0.5) and random_pattern(r, 1) or "")
        if r:chance(0.2) then p = "^" .. p end
        compare(run(m, p), model(data, p), ("grep(%s)"):format(q(p)))
      end
    end)

    it("gives the same lines through small pread windows", function()
      if not tome._tune then return end   -- no knob in this build
      local r = H.rng("grep pread windows")
      -- lines longer than the windows, too
      local big = data .. "\n" .. r:from("abx()", 500) .. "\nend"
      local m <close> = assert(tome.open(H.tmpfile(big)))
      local old_min, old_block = tome._tune(0, 61)
      local ok, err = pcall(function()
        for _, block in ipairs { 3, 61, 4096 } do
          tome._tune(0, block)
          for _ = 1, 12 do
            local p = random_pattern(r, 2)
            local i = r:int(1, #big)
            local v, s = m, big
            if r:chance(0.5) then v, s = m:view(i), big:sub(i) end
            compare(run(v, p), model(s, p),
                    ("grep(%s), block %d"):format(q(p), block))
          end
        end
      end)
      tome._tune(old_min, old_block)
      assert(ok, err)
    end)

    it("matches empty lines, anchors and CR as string.find does", function()
      local m <close> = tome.wrap("a\n\nb\r\n\r\n x\nlast")
      local s = m:sub(1, -1)
      for _, p in ipairs { "^$", "", "x*", "^", "$", "\r$", "%s", "^%s*$",
                           "t$", "^l", ".", "\n", "[\n]", "a%f[%z]",
                           "%f[%w]%w+$" } do
        compare(run(m, p), model(s, p), ("grep(%s)"):format(q(p)))
      end
    end)

    it("searches plainly when the pattern has no special characters",
       function()
      -- string.find("xa)y", "a)") is a plain search: 2, 3
      local m <close> = tome.wrap("xa)y\nzz\na]b\nab)\n")
      local s = m:sub(1, -1)
      for _, p in ipairs { "a)", ")", "a]", "b)" } do
        compare(run(m, p), model(s, p), ("grep(%s)"):format(q(p)))
      end
    end)

    it("raises where string.find raises, even after a literal prefix",
       function()
      -- string.find("ab", "ab)c%d") raises "invalid pattern capture":
      -- a prefilter must not skip the lines where the error is reached
      for _, subject in ipairs { "zz\nab\nab)c1\n", "zz\nab\n", "x0y\n" } do
        local m <close> = tome.wrap(subject)
        local s = m:sub(1, -1)
        for _, p in ipairs { "ab)c%d", "ab(", "ab%", "ab[", "b)%d", "0).*",
                             "ab)", "ab]%d" } do
          compare(run(m, p), model(s, p), ("grep(%s) on %s"):format(q(p),
                  q(subject)))
        end
      end
    end)
  end)
end)
