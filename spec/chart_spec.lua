-- spec/chart_spec.lua -- tome.chart: the drawings checked exactly (golden
-- strings for fixed inputs), the counts against plain Lua models on
-- random data, the C helpers against the Lua fallbacks, the environment
-- (locale, COLUMNS, NO_COLOR) through the host, and ":chart" in the REPL
-- in a real terminal (tmux).

local H = require "spec.helpers"
local q = H.shell_quote
local chart = require "tome.chart"

local TOME = H.tome_bin()

-- options with plain glyphs or ASCII, no colour, a fixed width
local function U(t)
  local o = { ascii = false, color = false }
  for k, v in pairs(t or {}) do o[k] = v end
  return o
end
local function A(t)
  local o = U(t)
  o.ascii = true
  return o
end

local function lines(...) return table.concat({ ... }, "\n") end

-- the width of a line on a terminal, for the lines of these specs
-- (CJK ideographs and kana take two columns, combining marks none)
local function cols(s)
  local n = 0
  for _, c in utf8.codes(s) do
    if c >= 0x3000 and c <= 0x9FFF then n = n + 2
    elseif c >= 0x300 and c <= 0x36F then n = n + 0
    else n = n + 1 end
  end
  return n
end

-- chart.lua loaded again without the C helpers (tome._chart hidden), to
-- compare its Lua fallbacks with them
local function pure_chart()
  local T = H.tome
  local saved = T._chart
  T._chart = nil
  package.loaded["tome.chart"] = nil
  local ok, mod = pcall(require, "tome.chart")
  T._chart = saved
  package.loaded["tome.chart"] = chart
  assert(ok, mod)
  return mod
end

describe("tome.chart", function()
  it("is preloaded in the host and callable as chart(t)", function()
    assert.is_function(package.preload["tome.chart"])
    for _, f in ipairs { "bars", "spark", "hist", "timeline", "show" } do
      assert.are.equal("function", type(chart[f]), f)
    end
    assert.are.equal(chart.bars({ a = 1 }, U { width = 10 }),
                     chart({ a = 1 }, U { width = 10 }))
  end)

  describe("bars", function()
    it("fills the width: label, value, then the bar", function()
      local s = chart.bars({ a = 8, b = 4, c = 1 }, U { width = 20 })
      assert.are.equal(lines(
        "a 8 ████████████████",
        "b 4 ████████",
        "c 1 ██"), s)
      for l in s:gmatch("[^\n]+") do assert.is_true(cols(l) <= 20) end
      local s40 = chart.bars({ a = 8, b = 4, c = 1 }, U { width = 40 })
      assert.are.equal(36, cols(s40:match("^[^\n]+")) - 4)
    end)

    it("rounds to the nearest eighth of a column, at least one eighth", function()
      -- one column of bar: value / 10 * 8 eighths, rounded half up
      local s = chart.bars({ { "a", 10 }, { "b", 6 }, { "c", 5 }, { "d", 1 },
                             { "e", 0.1 }, { "f", 0 }, { "g", 9.4 },
                             { "h", 8.1 } }, U { width = 5 })
      assert.are.equal(lines(
        "a  10 █",     -- 8 eighths
        "b   6 ▋",     -- 4.8 -> 5
        "c   5 ▌",     -- 4.0 -> 4
        "d   1 ▏",     -- 0.8 -> 1
        "e 0.1 ▏",     -- 0.08 -> 0, shown as 1
        "f   0",       -- nothing at all
        "g 9.4 █",     -- 7.52 -> 8
        "h 8.1 ▊"), s) -- 6.48 -> 6
      -- every partial block, in order: 1/8 .. 7/8, then a full block
      local t = {}
      for k = 1, 8 do t[k] = { tostring(k), k } end
      assert.are.equal(lines("1 1 ▏", "2 2 ▎", "3 3 ▍", "4 4 ▌", "5 5 ▋",
                             "6 6 ▊", "7 7 ▉", "8 8 █"),
                       chart.bars(t, U { width = 5 }))
      -- 17 columns, 4/5 of them: 108.8 eighths -> 109 = 13 full + 5/8
      assert.are.equal(lines("a 5 █████████████████", "b 4 █████████████▋"),
                       chart.bars({ a = 5, b = 4 }, U { width = 21 }))
    end)

    it("keeps the top N and folds the rest into an others row", function()
      local t = { a = 5, b = 4, c = 3, d = 2, e = 1 }
      assert.are.equal(lines(
        "a          5 █████████████████",
        "b          4 █████████████▋",
        "(3 others) 6 ████████████████»"),   -- beyond the scale: cut
        chart.bars(t, U { width = 30, top = 2 }))
      assert.are.equal(lines("a 5 ██████████", "b 4 ████████"),
                       chart.bars(t, U { width = 14, top = 2, others = false }))
      -- the top 3 sorted by label, the others still last
      assert.are.equal(lines(
        "b          5 █████████████████",
        "c          3 ██████████▎",     -- 81.6 eighths -> 82
        "d          4 █████████████▋",  -- 108.8 -> 109
        "(2 others) 3 ██████████▎"),
        chart.bars({ a = 1, b = 5, c = 3, d = 4, e = 2 },
                   U { width = 30, top = 3, sort = "label" }))
      -- ties by label; labels that are numbers compare as numbers
      assert.are.equal(lines("9  2 ██", "10 2 ██", "x  2 ██"),
        chart.bars({ [10] = 2, [9] = 2, x = 2 }, U { width = 7 }))
    end)

    it("shows shares with percent, a title, and a list in its order", function()
      assert.are.equal(lines(
        "statuses",
        "200 5123  83.1% ##########",
        "304  800  13.0% ##",
        "404  233   3.8% #",
        "500   12   0.2% #"),
        chart.bars({ ["200"] = 5123, ["304"] = 800, ["404"] = 233,
                     ["500"] = 12 },
                   A { width = 26, percent = true, title = "statuses" }))
      assert.are.equal(lines("z 1 ###", "a 3 #########", "m 2 ######"),
        chart.bars({ { "z", 1 }, { "a", 3 }, { "m", 2 } }, A { width = 13 }))
      assert.are.equal(lines("1 5 #####", "2 3 ###"),
                       chart.bars({ 5, 3 }, A { width = 9 }))
      assert.are.equal(lines("1 5 #####", "2 3 ###"),
        chart.bars({ 5, 3 }, A { width = 9, sort = "label" }))
      assert.are.equal(lines("b 5 #####", "a 3 ###"),
        chart.bars({ { "a", 3 }, { "b", 5 } }, A { width = 9, sort = "value" }))
    end)

    it("draws empty input, one value and all-equal values", function()
      assert.are.equal("(no data)", chart.bars({}, U { width = 10 }))
      assert.are.equal("x 3 ██████", chart.bars({ x = 3 }, U { width = 10 }))
      assert.are.equal(lines("a 2 ██████", "b 2 ██████", "c 2 ██████"),
                       chart.bars({ c = 2, b = 2, a = 2 }, U { width = 10 }))
      assert.are.equal(lines("a 0", "b 0"),
                       chart.bars({ a = 0, b = 0 }, U { width = 10 }))
    end)

    it("reads a table with key 1 but other keys too as counts", function()
      -- counts keyed by small numbers, or t[1] beside names: none is lost
      -- (read as a list, ipairs stopped at the first hole)
      assert.are.equal(lines("1 5 #####", "7 3 ###", "2 1 #"),
                       chart.bars({ [1] = 5, [2] = 1, [7] = 3 },
                                  A { width = 9 }))
      assert.are.equal(lines("1    5 #####", "x    3 ###", "true 2 ##"),
                       chart.bars({ [1] = 5, x = 3, [true] = 2 },
                                  A { width = 12 }))
      -- a list stays a list, in its order
      assert.are.equal(lines("1 2 ##", "2 5 #####"),
                       chart.bars({ 2, 5 }, A { width = 9 }))
    end)

    it("measures UTF-8 labels by display width and cuts them so", function()
      assert.are.equal(lines(
        "日本 4 █████████████",
        "e\u{301}x   3 █████████▊",  -- e + U+0301: one column
        "é    2 ██████▌",
        "ab   1 ███▎"),
        chart.bars({ ["日本"] = 4, ["é"] = 2, ab = 1, ["e\u{301}x"] = 3 },
                   U { width = 20 }))
      assert.are.equal(lines(
        "日本語のテキスト… 4 ██████████",
        "short             2 █████"),
        chart.bars({ ["日本語のテキストです"] = 4, short = 2 }, U { width = 30 }))
      -- control characters and bytes that are not UTF-8 are escaped
      assert.are.equal(lines("a\\10b 2 ############", "\\255  1 ######"),
        chart.bars({ ["a\nb"] = 2, ["\255"] = 1 }, A { width = 20 }))
    end)

    it("refuses negative, NaN, infinite and non-number values", function()
      local function err(t)
        return H.error_of(chart.bars, t, U { width = 20 })
      end
      -- the message points at the caller's line
      assert.matches('^spec/chart_spec%.lua:%d+: chart%.bars: value of "a" is '
                     .. 'negative %(%-1%)$',
                     H.error_of(function() local s = chart.bars({ a = -1 }) return s end))
      assert.matches('^chart%.bars: value of "a" is negative %(%-1%)$',
                     err({ a = -1 }))
      assert.matches('chart%.bars: value of "n" is NaN$', err({ n = 0 / 0 }))
      assert.matches('chart%.bars: value of "i" is not finite %(inf%)$',
                     err({ i = math.huge }))
      assert.matches('chart%.bars: value of "s" is a string, not a number$',
                     err({ s = "12" }))
      assert.matches('chart%.bars: value of "b" is negative %(%-0%.5%)$',
                     err({ { "a", 1 }, { "b", -0.5 } }))
      assert.matches("chart%.bars: entry 2 is a string", err({ 1, "x" }))
      assert.matches("chart%.bars: table of counts expected, got nil",
                     H.error_of(chart.bars))
      assert.matches("chart%.bars: opts%.width must be a positive integer",
                     H.error_of(chart.bars, { a = 1 }, { width = 0 }))
      assert.matches('chart%.bars: opts%.sort must be "value", "label" or "none"',
                     H.error_of(chart.bars, { a = 1 }, { sort = "size" }))
      assert.matches("chart%.bars: opts%.top must be a positive integer or false",
                     H.error_of(chart.bars, { a = 1 }, { top = 0 }))
    end)

    it("keeps the same top N as a sort of all rows (random tables)", function()
      local r = H.rng("chart top")
      for round = 1, 40 do
        local t, n = {}, r:int(0, 300)
        for _ = 1, n do t["k" .. r:int(1, 1000)] = r:int(0, 50) end
        local top = r:int(1, 25)
        -- the model: every row sorted by value (ties by label), cut
        local rows, total = {}, 0
        for k, v in pairs(t) do rows[#rows + 1] = { k, v } total = total + v end
        table.sort(rows, function(a, b)
          if a[2] ~= b[2] then return a[2] > b[2] end
          return a[1] < b[1]
        end)
        local want, rest = {}, 0
        for i, e in ipairs(rows) do
          if i <= top then want[#want + 1] = e[1] .. " " .. e[2]
          else rest = rest + e[2] end
        end
        if #rows > top then
          want[#want + 1] = ("(%d others) %d"):format(#rows - top, rest)
        end
        local got = {}
        local s = chart.bars(t, A { width = 200, top = top })
        if #rows == 0 then
          assert.are.equal("(no data)", s)
        else
          for l in s:gmatch("[^\n]+") do
            got[#got + 1] = l:gsub(" +", " "):gsub(" #*>?$", "")
          end
          assert.are.same(want, got, ("round %d [TOME_SEED=%d]"):format(
            round, H.seed))
        end
      end
    end)

    it("colours the bars only when asked (or on a terminal)", function()
      local s = chart.bars({ a = 2, b = 1 }, { width = 8, ascii = true,
                                              color = true })
      assert.are.equal(lines("a 2 \27[36m####\27[0m", "b 1 \27[36m##\27[0m"), s)
      assert.is_nil(chart.bars({ a = 1 }, { width = 8 }):find("\27", 1, true))
    end)
  end)

  describe("spark", function()
    it("draws a list as one line of eight levels", function()
      assert.are.equal("▁▂▃▄▅▆▇█", chart.spark({ 0, 1, 2, 3, 4, 5, 6, 7 }, U()))
      assert.are.equal("_.-~=+*#", chart.spark({ 0, 1, 2, 3, 4, 5, 6, 7 }, A()))
      -- rounded to the nearest level; negatives are fine
      assert.are.equal("▁▅█", chart.spark({ -10, 0, 10 }, U()))
      assert.are.equal("▁▁█", chart.spark({ 0, 0.7, 10 }, U()))
      assert.are.equal("▁▂█", chart.spark({ 0, 0.8, 10 }, U()))
      -- a fixed scale
      assert.are.equal("████", chart.spark({ 3, 3, 3, 3 }, U { min = 0 }))
      assert.are.equal("▁▅", chart.spark({ 0, 5 }, U { max = 10 }))  -- 3.5 -> 4
    end)

    it("draws empty input, one value and all-equal values", function()
      assert.are.equal("", chart.spark({}, U()))
      assert.are.equal("▄", chart.spark({ 5 }, U()))
      assert.are.equal("▄▄▄", chart.spark({ 3, 3, 3 }, U()))
    end)

    it("refuses NaN, infinite and non-number values", function()
      assert.matches("^spec/chart_spec%.lua:%d+: chart%.spark: value 2 is NaN$",
                     H.error_of(function() local s = chart.spark { 1, 0 / 0 } return s end))
      assert.matches("chart%.spark: value 1 is not finite %(%-inf%)$",
                     H.error_of(chart.spark, { -math.huge }))
      assert.matches("chart%.spark: value 3 is a boolean, not a number$",
                     H.error_of(chart.spark, { 1, 2, true }))
    end)
  end)

  describe("hist", function()
    it("bins numbers on round edges, the last bin closed", function()
      -- 33 columns of bar: 66, 132, 198, 264 eighths
      assert.are.equal(lines(
        "[ 1,  2) 1 ████████▎",
        "[ 2,  3) 2 ████████████████▌",
        "[ 3,  4) 3 ████████████████████████▊",
        "[ 4,  5) 4 █████████████████████████████████",
        "[ 5,  6) 0",
        "[ 6,  7) 0",
        "[ 7,  8) 0",
        "[ 8,  9) 0",
        "[ 9, 10] 1 ████████▎"),
        chart.hist({ 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 10 }, U { width = 44 }))
      -- 0.3 lies on an edge: it belongs to [0.3, ...), not below it
      assert.are.equal(lines(
        "[ 0.1, 0.15) 1 ██████████",
        "[0.15,  0.2) 0",
        "[ 0.2, 0.25) 1 ██████████",
        "[0.25,  0.3) 0",
        "[ 0.3, 0.35] 2 ████████████████████"),
        chart.hist({ 0.1, 0.2, 0.3, 0.35 }, U { width = 35 }))
    end)

    it("takes a bin count with min and max, or explicit edges", function()
      local v = { 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 10 }
      assert.are.equal(lines(
        "[0, 2) 1 #####",
        "[2, 4) 5 #########################",
        "[4, 6] 4 ####################",
        "> 6    1 #####"),
        chart.hist(v, A { width = 34, bins = 3, min = 0, max = 6 }))
      assert.are.equal(lines(
        "< 2    1 #####",
        "[2, 4) 5 #########################",
        "[4, 8] 4 ####################",
        "> 8    1 #####"),
        chart.hist(v, A { width = 34, edges = { 2, 4, 8 } }))
      assert.are.equal(lines(
        "[ 1,  4) 6 ##############################",
        "[ 4,  7) 4 ####################",
        "[ 7, 10] 1 #####"),
        chart.hist(v, A { width = 41, bins = 3, nice = false }))
    end)

    it("bins any finite range: whole integers, huge, tiny, one ulp wide",
       function()
      -- the width hi - lo used to overflow (integers wrap around, floats
      -- become inf) or underflow to 0, and round edges collapsed into
      -- one ("[1, 1)" nine times, then the largest value "> 1")
      assert.are.equal(lines(
        "[-1e+19,      0) 1 ######",
        "[     0,  1e+19] 2 ############"),
        chart.hist({ math.mininteger, 0, math.maxinteger },
                   A { width = 31, bins = 2 }))
      assert.are.equal(lines(
        "[-1e+308,       0) 1 ######",
        "[      0,  1e+308] 2 ############"),
        chart.hist({ -1e308, 1e308, 0 }, A { width = 33, bins = 2 }))
      assert.are.equal("[                 1, 1.0000000000000002] 3 "
        .. ("#"):rep(17), chart.hist({ 1, 1 + 2^-52, 1 }, A { width = 60 }))
      assert.are.equal("[5e-324, 1e-323] 2 " .. ("#"):rep(14),
        chart.hist({ 5e-324, 1e-323 }, A { width = 33 }))
      -- whatever the range, every value lies in a bin, none outside
      local r = H.rng("chart hist extremes")
      local ends = { math.mininteger, math.maxinteger, -1e308, 1e308, 0, 1,
                     1 + 2^-52, 5e-324, -5e-324, 2^53, 2^53 + 2, 1e-300 }
      for _ = 1, 200 do
        local v = {}
        for i = 1, r:int(2, 6) do v[i] = r:pick(ends) end
        for _, bins in ipairs { 1, 3, 10 } do
          for _, nice in ipairs { true, false } do
            local d = chart.hist(v, A { width = 80, bins = bins, nice = nice })
            local n = 0
            for line in d:gmatch("[^\n]+") do
              assert(line:sub(1, 1) == "[", d)
              n = n + tonumber(line:match("[%])] (%d+)"))
            end
            assert.are.equal(#v, n, d)
          end
        end
      end
    end)

    it("uses a log scale on request", function()
      local v = { 3, 40, 500, 6000, 70000, 1 }
      assert.are.equal(lines(
        "[     1,     10) 2 ##########",
        "[    10,    100) 1 #####",
        "[   100,   1000) 1 #####",
        "[  1000,  10000) 1 #####",
        "[ 10000, 100000] 1 #####"),
        chart.hist(v, A { width = 29, log = true }))
      -- few decades: 1-2-5 steps
      assert.are.equal(lines(
        "[ 1,  2) 1 #####",
        "[ 2,  5) 2 ##########",
        "[ 5, 10) 0",
        "[10, 20] 1 #####"),
        chart.hist({ 1, 3, 4, 20 }, A { width = 21, log = true }))
      -- more decades than bins: every k-th decade (600 rows before)
      assert.are.equal(lines(
        "[1e-300, 1e-200) 1 ##########",
        "[1e-200, 1e-100) 0",
        "[1e-100,      1) 0",
        "[     1, 1e+100) 1 ##########",
        "[1e+100, 1e+200) 0",
        "[1e+200, 1e+300] 1 ##########"),
        chart.hist({ 1e-300, 1e300, 5 }, A { width = 29, log = true,
                                             bins = 6 }))
      -- powers of ten beyond the doubles: the ends themselves, never inf
      -- or 0 (a bin [1e+308, inf] before)
      local r = H.rng("chart log extremes")
      local ends = { 5e-324, 1e-310, 1e-300, 1, 1 + 2^-52, 7, 1e300, 1e308,
                     1.5e308, math.maxinteger }
      for _ = 1, 100 do
        local vs = {}
        for i = 1, r:int(2, 5) do vs[i] = r:pick(ends) end
        for _, bins in ipairs { 1, 4, 10 } do
          for _, nice in ipairs { true, false } do
            local d = chart.hist(vs, A { width = 80, bins = bins, nice = nice,
                                         log = true })
            local n, rows = 0, 0
            for line in d:gmatch("[^\n]+") do
              assert(line:sub(1, 1) == "[" and not line:find("inf"), d)
              n = n + tonumber(line:match("[%])] (%d+)"))
              rows = rows + 1
            end
            assert.are.equal(#vs, n, d)
            assert(rows <= 2 * bins + 4, d)
          end
        end
      end
      assert.matches("chart%.hist: a log scale needs values above 0 %(the "
                     .. "smallest is 0%)$",
                     H.error_of(chart.hist, { 0, 1 }, { log = true }))
    end)

    it("reads an iterator, or a column of a map or view", function()
      local words = ("1 x 3 5 y"):gmatch("%S+")
      local function numbers()
        local w = words()
        if w == nil then return nil end
        return tonumber(w) or false
      end
      local want = lines(
        "[1, 2) 1 ##########",
        "[2, 3) 0",
        "[3, 4) 1 ##########",
        "[4, 5] 1 ##########",
        "(2 values were not numbers)")
      assert.are.equal(want, chart.hist(numbers, A { width = 19 }))
      assert.are.equal(want:gsub("%d", { ["1"] = "5", ["2"] = "6",
        ["3"] = "7", ["4"] = "8", ["5"] = "9" }):gsub("%((%d) values",
        "(2 values"):gsub("%] 5 ", "] 1 "):gsub("%) 5 ", ") 1 ")
        :gsub("%) 6 ", ") 0 "),
        chart.hist(tome.wrap("5\nabc\n7\n\n9\n"), A { width = 19 }))
      local m = tome.wrap("a,5\nb,25\nc,15\n")
      assert.are.equal(chart.hist({ 5, 25, 15 }, A { width = 30, bins = 2 }),
        chart.hist(m, A { width = 30, bins = 2, field = 2, sep = "," }))
    end)

    it("draws empty input, one value and all-equal values", function()
      assert.are.equal("(no data)", chart.hist({}, U { width = 20 }))
      assert.are.equal("(no data)", chart.hist(tome.wrap(""), U { width = 20 }))
      assert.are.equal("[7, 7] 1 ███████████", chart.hist({ 7 }, U { width = 20 }))
      assert.are.equal("[0.3, 0.3] 1 ██████████",
                       chart.hist({ 0.3 }, U { width = 23 }))
      assert.are.equal("[4, 4] 3 ███████████",
                       chart.hist({ 4, 4, 4 }, U { width = 20 }))
      -- the one value shown exactly, not rounded to one digit
      assert.are.equal("[0.42, 0.42] 2 ██████████",
                       chart.hist({ 0.42, 0.42 }, U { width = 25 }))
    end)

    it("refuses NaN, infinite and non-number values", function()
      assert.matches("^spec/chart_spec%.lua:%d+: chart%.hist: value 2 is NaN$",
                     H.error_of(function() local s = chart.hist { 1, 0 / 0, 3 } return s end))
      assert.matches("chart%.hist: value 3 is not finite %(inf%)$",
                     H.error_of(chart.hist, { 1, 2, math.huge }))
      assert.matches("chart%.hist: value 2 is a string, not a number$",
                     H.error_of(chart.hist, { 1, "2" }))
      assert.matches("chart%.hist: opts%.edges must be increasing numbers$",
                     H.error_of(chart.hist, { 1 }, { edges = { 1, 1 } }))
      assert.matches("chart%.hist: opts%.min is above opts%.max$",
                     H.error_of(chart.hist, { 1 }, { min = 2, max = 1 }))
    end)

    it("counts as a plain Lua loop does, with and without C (random)", function()
      local r = H.rng("chart hist")
      local pure = pure_chart()
      for round = 1, 30 do
        local v = {}
        local scale = r:pick { 1, 10, 1000, 0.01 }
        for i = 1, r:int(1, 500) do
          v[i] = r:chance(0.5) and r:int(-50, 50) * scale
            or (r:int(0, 1000000) / 1000 - 500) * scale
        end
        local opts = A { width = 60, bins = r:int(1, 20) }
        if r:chance(0.3) then opts.min, opts.max = -100 * scale, 100 * scale end
        local s = chart.hist(v, opts)
        assert.are.equal(s, pure.hist(v, opts), ("round %d [TOME_SEED=%d]")
          :format(round, H.seed))
        -- the model: each value in the row whose edges hold it
        local rows = {}
        for l in s:gmatch("[^\n]+") do
          local a, b, close, c = l:match("^%[ *([^,]+), *([^%])]+)([%])]) +(%d+)")
          if a then
            rows[#rows + 1] = { tonumber(a), tonumber(b), close, tonumber(c),
                                text = l }
          end
        end
        local total = 0
        for _, row in ipairs(rows) do
          local n = 0
          for _, x in ipairs(v) do
            local lo_ok = x >= row[1] or math.abs(x - row[1]) < 1e-9 * scale
            if lo_ok and (x < row[2] or (row[3] == "]" and x <= row[2])) then
              n = n + 1
            end
          end
          if not opts.min then assert.are.equal(n, row[4], row.text) end
          total = total + row[4]
        end
        if not opts.min then assert.are.equal(#v, total) end
      end
    end)
  end)

  describe("timeline", function()
    local T0 = 1791637200            -- 2026-10-10 13:00:00 UTC
    local function per_minute(counts)
      local ts = {}
      for m, n in ipairs(counts) do
        for k = 1, n do ts[#ts + 1] = T0 + (m - 1) * 60 + k end
      end
      return ts
    end

    it("counts events per bucket, with a time axis and the peak", function()
      local ts = per_minute { 3, 5, 8, 16, 4, 0, 1, 2 }
      -- 32 eighths for 16: 6, 10, 16, 32, 8, 0, 2, 4; 3 columns each;
      -- the peak's text does not fit beside its mark: below it
      assert.are.equal(lines(
        "events per minute, 2026-10-10 13:00 to 13:07",
        "16 ┤         ███",
        "   │         ███",
        "   │   ▂▂▂██████",
        "   │▆▆▆████████████   ▂▂▂▄▄▄",
        " 0 └────────────────────────",
        "    13:00          13:05",
        "              ▲",
        "peak 16 at 13:03"),
        chart.timeline(ts, U { width = 30, height = 4, bucket = "minute" }))
      -- ASCII: whole rows (3 of 16 on 4 rows: 0.75 -> 1), at least one
      assert.are.equal(lines(
        "requests per minute, 2026-10-10 13:00 to 13:07",
        "16 +         ###",
        "   |         ###",
        "   |      ######",
        "   |###############   ######",
        " 0 +------------------------",
        "    13:00          13:05",
        "              ^",
        "peak 16 at 13:03"),
        chart.timeline(ts, A { width = 30, height = 4, bucket = "1m",
                               what = "requests" }))
    end)

    it("chooses the bucket from the span and the width", function()
      local ts = per_minute { 3, 5, 8, 16, 4, 0, 1, 2 }
      -- 8 minutes in 25 columns: 30-second buckets
      assert.matches("^events per 30 seconds, ",
                     chart.timeline(ts, U { width = 30, height = 2 }))
      assert.matches("^events per 5 minutes, ",
                     chart.timeline(ts, U { width = 6, height = 2 }))
      -- a given bucket that does not fit widens by a round factor (to a
      -- round size of the ladder only when that is a multiple of it)
      assert.matches("^events per 35 seconds, ",
                     chart.timeline(ts, U { width = 30, height = 2,
                                            bucket = 7 }))
      assert.matches("^events per 5 minutes, ",
                     chart.timeline(ts, U { width = 6, height = 2,
                                            bucket = "minute" }))
      local days = {}
      for d = 0, 9 do
        for k = 1, d + 1 do days[#days + 1] = T0 + d * 86400 + k * 1000 end
      end
      -- 24 eighths for 10: 2, 5, 7, 10, 12, 14, 17, 19, 22, 24; labels
      -- every 7 days (a round step that leaves room for a date)
      assert.are.equal(lines(
        "events per day, 2026-10-10 to 2026-10-19",
        "10 ┤                        ▁▁▁▁▃▃▃▃▆▆▆▆████",
        "   │            ▂▂▂▂▄▄▄▄▆▆▆▆████████████████",
        "   │▂▂▂▂▅▅▅▅▇▇▇▇████████████████████████████",
        " 0 └────────────────────────────────────────",
        "    2026-10-10          2026-10-15",
        "                   peak 10 at 2026-10-19 ▲"),
        chart.timeline(days, U { width = 56, height = 3, bucket = "day" }))
      assert.matches("^events per 6 hours, 2026%-10%-10 12:00 to 2026%-10%-19 "
                     .. "15:46\n", chart.timeline(days, U { width = 60,
                                                         height = 3 }))
    end)

    it("reads log and ISO times from strings, as written", function()
      local strs = { "10/Oct/2026:13:00:01 +0000", "[10/Oct/2026:13:00:59 +0200]",
                     "2026-10-10T13:01:00", "2026-10-10 13:02:30.5",
                     "1791637380" }
      assert.are.equal(lines(
        "events per minute, 2026-10-10 13:00 to 13:03",
        "2 ┤████",
        "  │████▄▄▄▄▄▄▄▄▄▄▄▄",
        "  │████████████████",
        "0 └────────────────",
        "   13:00   13:02",
        "    ▲ peak 2 at 13:00"),   -- the middle of a 4-column bucket
        chart.timeline(strs, U { width = 40, height = 3, bucket = "minute" }))
      local i = 0
      local it = function() i = i + 1 return strs[i] end
      assert.are.equal(chart.timeline(strs, U { width = 40 }),
                       chart.timeline(it, U { width = 40 }))
      assert.matches('chart%.timeline: cannot read a time in "yesterday" %(value 2%)$',
        H.error_of(chart.timeline, { T0, "yesterday" }))
      -- numbers that are no date the C library can show: a clear error
      -- (os.date raised "date result cannot be represented")
      for _, t in ipairs { { 2^62, 2^62 + 100 }, { 0, 1e17 }, { -2^60 } } do
        assert.matches("^chart%.timeline: time %-?%d+ is beyond the dates "
                       .. "this system can show$",
                       H.error_of(chart.timeline, t, U { width = 40 }))
      end
    end)

    it("draws empty input, one value and all-equal values", function()
      assert.are.equal("(no data)", chart.timeline({}, U { width = 40 }))
      assert.are.equal("(no data)",
                       chart.timeline(function() return nil end, U { width = 40 }))
      local one = lines(
        "events per second, 2026-10-10 13:00 to 13:00",
        "1 ┤████",
        "  │████",
        "0 └────",
        "   13:00:30",
        "    ▲ peak 1 at 13:00:30")
      assert.are.equal(one, chart.timeline({ T0 + 30 }, U { width = 40,
                                                             height = 2 }))
      assert.are.equal(one:gsub("1 ┤", "3 ┤"):gsub("peak 1", "peak 3"),
        chart.timeline({ T0 + 30, T0 + 30, T0 + 30.5 },
                       U { width = 40, height = 2 }))
    end)

    it("refuses NaN, infinite and non-time values", function()
      assert.matches("^spec/chart_spec%.lua:%d+: chart%.timeline: value 2 is NaN$",
                     H.error_of(function()
                       local s = chart.timeline { T0, 0 / 0 } return s end))
      assert.matches("chart%.timeline: value 1 is not finite %(inf%)$",
                     H.error_of(chart.timeline, { math.huge }))
      assert.matches("chart%.timeline: value 2 is a boolean, not a number$",
                     H.error_of(chart.timeline, { T0, true }))
      assert.matches("chart%.timeline: opts%.bucket must be seconds or a unit",
                     H.error_of(chart.timeline, { T0 }, { bucket = "fortnight" }))
    end)

    it("gives the same drawing with and without C", function()
      local pure = pure_chart()
      local r = H.rng("chart timeline")
      for _ = 1, 10 do
        local ts = {}
        for i = 1, r:int(1, 2000) do ts[i] = T0 + r:int(-100000, 100000) end
        local o = U { width = r:int(20, 120), height = r:int(1, 12) }
        assert.are.equal(chart.timeline(ts, o), pure.timeline(ts, o))
      end
    end)
  end)

  describe("show", function()
    it("draws a table as bars and passes a drawing through", function()
      assert.are.equal(chart.bars({ a = 2 }, A { width = 9 }),
                       chart.show({ a = 2 }, A { width = 9 }))
      assert.are.equal("drawn", chart.show("drawn"))
      assert.matches("chart%.show: cannot chart a number",
                     H.error_of(chart.show, 5))
    end)
  end)
end)

-- {====== the environment, through the host ======

describe("tome.chart in the host", function()
  teardown(H.cleanup)

  -- run 'code' in the host with environment assignments 'env'
  local function run(env, code)
    local out, err, status = H.sh(("env -u LC_ALL -u LC_CTYPE -u LANG "
      .. "-u COLUMNS -u NO_COLOR %s %s -e %s"):format(env, q(TOME), q(code)))
    assert.are.equal(0, status, err)
    return out
  end
  local BARS = 'io.write(require("tome.chart").bars({a = 2, b = 1}))'

  it("falls back to ASCII unless the locale says UTF-8", function()
    assert.are.equal("a 2 ##", run("COLUMNS=6", BARS):match("^[^\n]+"))
    assert.are.equal("a 2 ██", run("COLUMNS=6 LANG=C.UTF-8", BARS)
                     :match("^[^\n]+"))
    assert.are.equal("a 2 ██", run("COLUMNS=6 LC_CTYPE=en_US.utf8 LANG=C", BARS)
                     :match("^[^\n]+"))
    -- LC_ALL wins over the others
    assert.are.equal("a 2 ##", run("COLUMNS=6 LC_ALL=C LANG=C.UTF-8", BARS)
                     :match("^[^\n]+"))
  end)

  it("takes the width from COLUMNS, 80 without a terminal", function()
    local out = run("COLUMNS=25", BARS)
    assert.are.equal(25, #out:match("^[^\n]+"))
    out = run("", BARS)
    assert.are.equal(80, #out:match("^[^\n]+"))
  end)

  it("writes no colour into a pipe", function()
    assert.is_nil(run("COLUMNS=20", BARS):find("\27", 1, true))
  end)
end)
-- }======

-- {====== the example scripts ======

describe("the chart examples in scripts/examples", function()
  teardown(H.cleanup)

  -- tome scripts/examples/NAME.lua ARGS..., ASCII, 60 columns
  local function example(name, ...)
    local words = {}
    for i, a in ipairs { ... } do words[i] = q(a) end
    return H.sh(("env -u LC_ALL -u LC_CTYPE LANG=C COLUMNS=60 %s %s %s")
      :format(q(TOME), q("scripts/examples/" .. name .. ".lua"),
              table.concat(words, " ")))
  end

  local function gen_log(size, seed)
    local gen = TOME:match("^(.*)/[^/]+$") .. "/gen_log"
    local p = H.tmpname(".log")
    assert(os.execute(("%s -s %d %s %s"):format(q(gen), seed, size, q(p))))
    return p
  end

  it("status_chart.lua draws every status with its count and share", function()
    local log, log2 = gen_log("200K", 7), gen_log("60K", 8)
    local out, err, code = example("status_chart", log, log2)
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    local want, total = {}, 0
    for _, p in ipairs { log, log2 } do
      for l in io.lines(p) do
        local f = {}
        for w in l:gmatch("%S+") do f[#f + 1] = w end
        want[f[9]] = (want[f[9]] or 0) + 1     -- awk's $9
        total = total + 1
      end
    end
    local head, rest = out:match("^([^\n]*)\n(.*)\n$")
    assert.are.equal(("%d requests by status"):format(total), head)
    local got, order, most = {}, {}, 0
    for s in pairs(want) do order[#order + 1] = s end
    table.sort(order)
    for _, c in pairs(want) do most = math.max(most, c) end
    local k = 0
    for l in rest:gmatch("[^\n]+") do
      k = k + 1
      local st, c, pct, bar = l:match("^(%d%d%d) +(%d+) +([%d.]+)%% (#+)$")
      assert.is_truthy(st, "bad line: " .. l)
      assert.are.equal(order[k], st)
      got[st] = tonumber(c)
      assert.are.equal(("%.1f"):format(100 * got[st] / total), pct)
      -- 60 columns: "200 ", the counts, " 100.0% ", then the bars
      local cells = 60 - 4 - #tostring(most) - 8
      assert.are.equal(math.max(1, math.floor(got[st] / most * cells + 0.5)),
                       #bar)
    end
    assert.are.same(want, got)
  end)

  it("traffic.lua draws requests per minute, the peak marked", function()
    -- minutes 12:00 .. 12:09 with these counts, written out of order
    local per = { 2, 3, 5, 4, 9, 3, 2, 1, 0, 2 }
    local rows = {}
    for m, n in ipairs(per) do
      for k = 1, n do
        rows[#rows + 1] = ('10.0.0.%d - - [10/Oct/2026:12:%02d:%02d +0000] '
          .. '"GET / HTTP/1.1" 200 5 "-" "curl/8.5.0"'):format(k, m - 1, k * 5)
      end
    end
    rows[#rows + 1] = ""                 -- a blank line: no time
    table.sort(rows, function(a, b) return a:reverse() < b:reverse() end)
    local p = H.tmpfile(table.concat(rows, "\n") .. "\n")
    local out, err, code = example("traffic", p)
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    local ls = {}
    for l in out:gmatch("[^\n]*") do ls[#ls + 1] = l end
    assert.are.equal("requests per minute, 2026-10-10 12:00 to 12:09", ls[1])
    -- the heights of the 10 columns (4 characters each) in 10 rows
    local heights = {}
    for m = 1, 10 do heights[m] = 0 end
    for r = 2, 11 do
      local bars = ls[r]:sub(4)
      for m = 1, 10 do
        local cell = bars:sub(4 * m - 3, 4 * m)
        if cell == "####" then heights[m] = heights[m] + 1
        else assert.is_true(cell == "" or cell == "    ", ls[r]) end
      end
    end
    for m, n in ipairs(per) do
      local h = n == 0 and 0 or math.max(1, math.floor(n / 9 * 10 + 0.5))
      assert.are.equal(h, heights[m], "minute " .. (m - 1))
    end
    assert.are.equal("0 +" .. ("-"):rep(40), ls[12])
    assert.are.equal("   12:00   12:02   12:04   12:06   12:08", ls[13])
    -- under the middle of the 5th column
    assert.are.equal((" "):rep(3 + 16 + 1) .. "^ peak 9 at 12:04", ls[14])
    assert.are.equal("(1 values were not times)", ls[15])
    -- a bucket of 5 minutes: 14 and 8 requests
    out = example("traffic", "-b", "5m", p)
    assert.matches("^requests per 5 minutes, .*peak 23 at 12:00", out)
    local _
    _, err, code = example("traffic")
    assert.are.equal(2, code)
    assert.matches("usage", err)
  end)
end)
-- }======

-- {====== :chart in the REPL, in a terminal ======

if not H.have("tmux") then
  describe(":chart in the REPL", function()
    pending("tmux is not installed: the terminal specs are skipped")
  end)
  return
end

describe(":chart in the REPL", function()
  local sock

  local function tmux(rest)
    return H.run(("tmux -f /dev/null -S %s %s 2>&1"):format(q(sock), rest))
  end

  -- the screen (with colours when 'escapes'), once it shows 'text' n times
  local function wait(text, n, escapes)
    local deadline = os.time() + 10
    local scr
    repeat
      scr = tmux("capture-pane -p -J" .. (escapes and " -e" or ""))
      local _, k = scr:gsub(text:gsub("%p", "%%%0"), "")
      if k >= (n or 1) then return scr end
      os.execute("sleep 0.05")
    until os.time() > deadline
    error(("timed out waiting for %q; the screen:\n%s"):format(text, scr))
  end

  local function start(env)
    sock = H.tmpname(".tmux")
    local home = H.tmpname()
    assert(os.execute("mkdir -p " .. q(home)))
    local cmd = ("env -u COLUMNS -u NO_COLOR HOME=%s LANG=C.UTF-8 %s %s"):format(
      q(home), env or "", q(TOME))
    local out, ok = tmux(("new-session -d -x 50 -y 30 %s"):format(q(cmd)))
    assert(ok, out)
    wait("> ")
  end

  local function line(text)
    tmux("send-keys -l " .. q(text))
    tmux("send-keys Enter")
  end

  after_each(function()
    tmux("kill-server")
    H.cleanup()
  end)

  it("charts a counts table at the terminal's width, in colour", function()
    start()
    line('counts = {["200"] = 80, ["404"] = 20, ["500"] = 5}')
    line(":chart counts")
    local scr = wait("500  5 ")
    -- 50 columns: label 3 + value 2 + 2 blanks, 43 for the bar
    assert.matches("\n> :chart counts\n200 80 " .. ("█"):rep(43) .. "\n404 20 "
      .. ("█"):rep(10) .. "▊\n500  5 ██▊\n", scr)
    scr = tmux("capture-pane -p -e")
    assert.matches("\27%[36m█", scr)
    -- an expression over lines, and errors as a chunk's
    line(":chart {x = 1,")
    line("y = 3}")
    wait("y 3 ")
    line(":chart 42")
    wait("chart.show: cannot chart a number")
    line("1 + 1")
    wait("\n2\n")
  end)

  it("has no colour under NO_COLOR", function()
    start("NO_COLOR=1")
    line(":chart {a = 1}")
    wait("a 1 ")
    assert.is_nil(tmux("capture-pane -p -e"):find("\27[36m", 1, true))
  end)
end)
-- }======
