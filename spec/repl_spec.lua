-- spec/repl_spec.lua -- the REPL in a real terminal: tmux runs the host
-- in a pane; send-keys types, capture-pane reads the screen.
--
-- Each test starts its own tmux server on a socket of its own (tmux -S
-- with a fresh temporary path) and kills it at the end, so runs in
-- parallel do not meet.  HOME is a fresh directory (the history file
-- goes there).

local H = require "spec.helpers"
local q = H.shell_quote

local TOME = H.tome_bin()

local have = H.have

-- {====== the Lua half: tome.repl ======

describe("tome.repl", function()
  local R = require "tome.repl"
  local show = R.show

  describe("show", function()
    it("prints scalars as Lua would read them back", function()
      assert.are.equal("42", show(42))
      assert.are.equal("-0.5", show(-0.5))
      assert.are.equal("1.0", show(1.0))
      assert.are.equal("nil", show(nil))
      assert.are.equal("false", show(false))
      assert.are.equal('"a\\"b\\\\c\\n\\t"', show('a"b\\c\n\t'))
      -- a decimal escape before a digit keeps three digits
      assert.are.equal('"\\0001\\1x"', show("\0" .. "1\1x"))
      local s = "\0" .. "1\1x\200\n"
      assert.are.equal(s, load("return " .. show(s))())
      -- valid UTF-8 stays readable, other high bytes are escaped
      assert.are.equal('"h\195\169llo"', show("h\195\169llo"))
      assert.are.equal('"\\255\\254"', show("\255\254"))
      -- top-level strings are never cut
      assert.are.equal(1002, #show(("x"):rep(1000)))
    end)

    it("prints tables on one line when they fit, keys sorted", function()
      assert.are.equal("{}", show({}))
      assert.are.equal('{ 1, "two", { x = 1 }, n = 3, [true] = false }',
                       show({ 1, "two", { x = 1 }, n = 3, [true] = false }))
      assert.are.equal('{ [-1] = 0, [1.5] = 2, [10] = 3, a = 1, ["and"] = 2, '
                       .. '["b c"] = 3 }',
        show({ a = 1, ["and"] = 2, ["b c"] = 3, [10] = 3, [1.5] = 2, [-1] = 0 }))
    end)

    it("marks cycles, bounds depth, entries and string lengths", function()
      local t = { name = "t" }
      t.self = t
      t.kids = { { up = t } }
      assert.are.equal('{ kids = { { up = <cycle> } }, name = "t", self = <cycle> }',
                       show(t))
      local shared = { 1 }
      assert.are.equal("{ { 1 }, { 1 } }", show({ shared, shared }))
      assert.are.equal("{ { { { {...} } } } }", show({ { { { { { 1 } } } } } }))
      local big = {}
      for i = 1, 150 do big[i] = i end
      local out = show(big)
      assert.matches("%.%.%.%(50 more%)", out)
      assert.matches("\n  1, 2, 3, ", out)             -- lists fill lines
      for line in out:gmatch("[^\n]+") do assert.is_true(#line <= 78) end
      local long = show({ s = ("y"):rep(500) })
      assert.matches('"' .. ("y"):rep(200) .. '"%.%.%.%(500 bytes%)', long)
    end)

    it("breaks wide tables into indented lines", function()
      local w = {}
      for i = 1, 12 do w["key" .. i] = ("v"):rep(i) end
      local out = show({ w = w })
      assert.matches('^{\n  w = {\n    key1 = "v",\n    key10 = "vvvvvvvvvv",\n', out)
      assert.matches('\n  },\n}$', out)
    end)

    it("describes maps, views, writers and objects with __tostring", function()
      local m = tome.wrap("hello\n")
      assert.are.equal(tostring(m), show(m))
      assert.are.equal("{ tome.view: 2 bytes at 2 }", show({ m:view(2, 3) }))
      assert.are.equal(tostring(tome.stdout), show(tome.stdout))
      assert.are.equal("OBJ", show(setmetatable({}, {
        __tostring = function() return "OBJ" end })))
      assert.are.equal("<table: __tostring failed>", show(setmetatable({}, {
        __tostring = function() error("no") end })))
      -- no metamethod runs on plain tables
      assert.are.equal("{ a = 1 }", show(setmetatable({ a = 1 }, {
        __index = function() error("no") end,
        __pairs = function() error("no") end })))
    end)

    it("prints results separated by tabs, strings as they are", function()
      -- R.print writes to io.stdout: run it in the host
      local res = H.run(("%s -e %s"):format(q(TOME), q(
        'require("tome.repl").print(1, "a", nil, {2, "b"})')))
      assert.are.equal('1\ta\tnil\t{ 2, "b" }\n', res)
    end)
  end)

  describe("complete", function()
    local names = {}
    local function global(k, v)
      rawset(_G, k, v)
      names[#names + 1] = k
    end
    after_each(function()
      for _, k in ipairs(names) do rawset(_G, k, nil) end
    end)

    it("completes globals and keywords", function()
      assert.are.same({ "print" }, R.complete("prin"))
      assert.are.same({ "function" }, R.complete("functio"))
      assert.are.same({ "rawequal", "rawget", "rawlen", "rawset" },
                      R.complete("raw"))
      assert.are.same({}, R.complete("1ab"))
      assert.are.same({}, R.complete("nosuchname"))
    end)

    it("completes fields of tables", function()
      assert.are.same({ "string.find", "string.format" }, R.complete("string.f"))
      assert.are.same({ "package.loaded.string" },
                      R.complete("package.loaded.stri"))
      assert.are.same({}, R.complete("nosuch.x"))
      assert.are.same({}, R.complete("string..f"))
      -- names starting with "_" only when asked for
      global("spec_t", { _hidden = 1, shown = 2 })
      assert.are.same({ "spec_t.shown" }, R.complete("spec_t."))
      assert.are.same({ "spec_t._hidden" }, R.complete("spec_t._"))
    end)

    it("completes methods of maps, views, writers and strings", function()
      global("spec_m", tome.wrap("abc"))
      assert.are.same({ "spec_m:lineno", "spec_m:lines" }, R.complete("spec_m:li"))
      assert.are.same({ "spec_m:resize" }, R.complete("spec_m:resi"))
      global("spec_v", spec_m:view(1, 2))  -- luacheck: ignore
      assert.are.same({ "spec_v:split" }, R.complete("spec_v:sp"))
      assert.are.same({}, R.complete("spec_v:resi"))   -- maps only
      assert.are.same({ "tome.stdout:write" }, R.complete("tome.stdout:wr"))
      global("spec_s", "text")
      assert.are.same({ "spec_s:upper" }, R.complete("spec_s:up"))
      -- ':' offers functions only
      global("spec_t", { f = print, x = 1 })
      assert.are.same({ "spec_t:f" }, R.complete("spec_t:"))
    end)
  end)
end)
-- }======

if not have("tmux") then
  describe("the REPL in a terminal", function()
    pending("tmux is not installed (apt-get install tmux): REPL specs skipped")
  end)
  return
end

-- Line editing, history and completion need the host built with libedit.
local function has_editline()
  local out = H.run("ldd " .. q(TOME) .. " 2>/dev/null")
  return out:find("libedit", 1, true) ~= nil
end
local EDITLINE = has_editline()

local function sleep(s) os.execute("sleep " .. s) end

-- {====== a terminal ======

local Term = {}
Term.__index = Term

-- Start 'tome ARGS' in a new tmux server with HOME = home.  The server's
-- socket is a fresh temporary path (tmux -S), removed with the others.
local function term(args, home)
  local self = setmetatable({ sock = H.tmpname(".tmux") }, Term)
  local cmd = ("env HOME=%s LANG=C.UTF-8 %s %s"):format(q(home), q(TOME),
                                                       args or "")
  local out, ok = self:tmux(("new-session -d -x 100 -y 40 %s"):format(q(cmd)))
  assert(ok, "tmux new-session failed: " .. out)
  self:wait("> ")
  return self
end

function Term:tmux(rest)
  return H.run(("tmux -f /dev/null -S %s %s 2>&1"):format(q(self.sock), rest))
end

-- the screen, its lines joined where the terminal wrapped them
function Term:screen()
  return (self:tmux("capture-pane -p -J"))
end

-- type text as it is (no key names)
function Term:type(text)
  self:tmux("send-keys -l " .. q(text))
end

-- press keys by tmux name: "Enter", "Tab", "C-c", "C-d", "Up"
function Term:press(...)
  for _, k in ipairs { ... } do self:tmux("send-keys " .. k) end
end

function Term:line(text)
  self:type(text)
  self:press("Enter")
end

-- Wait until the screen shows 'text' 'count' times (a Lua pattern when
-- 'pattern', else plain text); returns the screen, or fails with it.
-- (The screen has no tabs: the terminal turned them into blanks.)
local function wait(self, text, count, pattern)
  count = count or 1
  local deadline = os.time() + 10
  local scr
  repeat
    scr = self:screen()
    local n, pos = 0, 1
    while true do
      local _, e = scr:find(text, pos, not pattern)
      if not e then break end
      n, pos = n + 1, e + 1
    end
    if n >= count then return scr end
    sleep(0.05)
  until os.time() > deadline
  error(("timed out waiting for %q (x%d); the screen:\n%s"):format(
    text, count, scr:gsub("\n+$", "\n")), 3)
end

function Term:wait(text, count) return wait(self, text, count, false) end
function Term:wait_match(pat, count) return wait(self, pat, count, true) end

-- Has the program left (and with it the session)?
function Term:gone(timeout)
  local deadline = os.time() + (timeout or 10)
  repeat
    local _, alive = self:tmux("has-session")
    if not alive then return true end
    sleep(0.05)
  until os.time() > deadline
  return false
end

function Term:kill()
  self:tmux("kill-server")
end
-- }======

describe("the REPL in a terminal", function()
  local t, home

  before_each(function()
    home = H.tmpname()
    assert(os.execute("mkdir -p " .. q(home)))
  end)

  after_each(function()
    if t then t:kill() end
    t = nil
    H.cleanup()
  end)

  it("prints an expression without = or return", function()
    t = term("", home)
    t:line("6 * 7 + 1000")
    local scr = t:wait("\n1042\n")
    assert.matches("> 6 %* 7 %+ 1000\n1042\n", scr)
    t:line('"a" .. "b", nil, 2.5, {"c"}')
    t:wait_match('\nab +nil +2%.5 +{ "c" }\n')
  end)

  it("prints tables readably, and maps by their description", function()
    t = term("", home)
    t:line('{1, "two", {x = 1}, n = 3, [true] = false}')
    t:wait('{ 1, "two", { x = 1 }, n = 3, [true] = false }\n')
    t:line("c = {} c.self = c c.list = {1, 2}")
    t:line("c")
    t:wait("{ list = { 1, 2 }, self = <cycle> }\n")
    -- too wide for a line: one entry a line, nested ones indented
    t:line('w = {} for i = 1, 12 do w["key" .. i] = ("v"):rep(i) end')
    t:line("w")
    local scr = t:wait("\n}\n")
    assert.matches('\n{\n  key1 = "v",\n  key10 = "vvvvvvvvvv",\n', scr)
    t:line('tome.wrap("hello")')
    t:wait("tome.map: ")
    assert.matches("\ntome%.map: [^\n]*5 bytes", t:screen())
  end)

  it("continues a multi-line function definition", function()
    t = term("", home)
    t:line("function twice(x)")
    t:wait(">> ")
    t:line("  return x * 2")
    t:wait(">> ", 2)
    t:line("end")
    t:line("twice(21)")
    local scr = t:wait("\n42\n")
    assert.matches(">> end\n> twice%(21%)\n42\n", scr)
    -- an expression may continue too
    t:line("{")
    t:line("7, 8,")
    t:line("}")
    t:wait("{ 7, 8 }\n")
  end)

  it("keeps the history across runs", function()
    if not EDITLINE then
      pending("the host was built without libedit: no history")
      return
    end
    t = term("", home)
    t:line("marker = 424242")
    t:line("marker + 1")
    t:wait("424243")
    t:press("C-d")
    assert.is_true(t:gone())
    t:kill()
    assert.matches("marker", H.readfile(home .. "/.tome_history"))
    t = term("", home)
    t:press("Up", "Up", "Enter")        -- marker = 424242, again
    t:wait("> marker = 424242\n")
    t:line("marker * 2")
    t:wait("\n848484\n")
  end)

  it("completes a method name of a map, fields and globals with TAB", function()
    if not EDITLINE then
      pending("the host was built without libedit: no completion")
      return
    end
    local path = H.tmpfile("alpha\nbeta\n")
    os.execute("chmod 644 " .. q(path))
    t = term("-m " .. q(path), home)
    t:type("m:spl")
    t:press("Tab")
    t:wait("> m:split")
    t:press("C-u")                      -- clear the line
    t:type("m:li")
    t:press("Tab")                      -- lineno and lines: up to "line"
    t:wait("> m:line")
    t:type("s")
    t:line('("v")()')
    t:wait("tome.view: 5 bytes at 1")
    t:type("string.fo")
    t:press("Tab")
    t:type("('%d', 5)")
    t:press("Enter")
    t:wait('> string.format(\'%d\', 5)\n5\n')
    t:type("coll")
    t:press("Tab")
    t:type("('count') > 0")
    t:press("Enter")
    t:wait("> collectgarbage('count') > 0\ntrue\n")
  end)

  it("returns to the prompt when Ctrl-C interrupts a running chunk", function()
    t = term("", home)
    t:line("while true do end")
    sleep(0.3)
    t:press("C-c")
    t:wait("interrupted!")
    t:line("1000 + 337")
    t:wait("\n1337\n")
  end)

  it("stops tome.parallel's workers on one Ctrl-C and returns to the prompt", function()
    t = term("", home)
    -- two workers spinning in Lua: only the hook can stop them
    t:line("tome.parallel(tome.wrap(('x\\n'):rep(100)), function() while true do end end, " ..
           "{ workers = 2, chunks = 2 })")
    sleep(0.5)
    t:press("C-c")
    t:wait("interrupted!")
    t:line("1000 + 337")
    t:wait("\n1337\n")
    -- and the next parallel run works
    t:line("tome.parallel(tome.wrap('a\\nb\\n'), function(v) return #v end, " ..
           "{ reduce = function(a, b) return a + b end })")
    t:wait("\n4\n")
  end)

  it("cancels the line being typed with Ctrl-C and leaves with Ctrl-D", function()
    t = term("", home)
    t:type("this is not lua")
    t:press("C-c")
    t:line("for i = 1, 2 do")
    t:wait(">> ")
    t:press("C-c")                      -- drops the unfinished chunk too
    t:line("'still ' .. 'here'")
    local scr = t:wait('\nstill here\n')
    assert.not_matches("syntax error", scr)
    assert.not_matches("unexpected symbol", scr)
    t:press("C-d")
    assert.is_true(t:gone())
  end)
end)
