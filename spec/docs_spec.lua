-- spec/docs_spec.lua -- the documentation cannot drift from the code.
--
-- What exists is read from the running module and the command: the
-- fields of `tome`, the methods and metamethods of maps, views and
-- writers, the tables of the compiled-in modules (tome.records...), the
-- options `tome -h` lists, the globals the command sets, the environment
-- variables the C and Lua sources read, and the C API in src/tome.h.
-- What is documented is read from three places:
--
--   doc/reference.md   the names in the code spans of its `###` headings
--                      (one heading per name, each with an example)
--   doc/tome.1         the names in the tag lines of its .TP entries
--   types/*.lua        function definitions, ---@field lines of the
--                      module classes, the command's globals
--
-- Each name must be in each place that covers its kind, and each name
-- found there must exist.  Names that start with "_" are private.  To
-- add a public name: a `### \`v:name(args)\`` heading with an example in
-- doc/reference.md, a .TP entry in doc/tome.1, a definition in types/.

local H = require "spec.helpers"
local tome = H.tome

local q = H.shell_quote

-- {====== what exists ======

-- The methods behind a metatable's __index: the table itself, or for a
-- C __index (integer positions first, then methods) a table among its
-- upvalues.
local function methods_of(mt)
  local idx = rawget(mt, "__index")
  if type(idx) == "table" then return idx end
  if type(idx) == "function" then
    for i = 1, 16 do
      local name, v = debug.getupvalue(idx, i)
      if name == nil then break end
      if type(v) == "table" then return v end
    end
  end
  error("cannot find the methods of " .. tostring(rawget(mt, "__name")))
end

-- How the reference writes each metamethod that users see, by the kind
-- of object ("v" maps and views, "w" writers).  __gc and __name are not
-- the user's business; a metamethod missing here fails the spec, so a
-- new one gets a form (and a heading) when it is added.
local FORMS = {
  v = {
    __index = "v[i]", __newindex = "v[i] = byte", __len = "#v",
    __tostring = "tostring(v)", __close = "local v <close>",
  },
  w = { __tostring = "tostring(w)", __close = "local w <close>" },
}
local HIDDEN_META = { __gc = true, __name = true, __metatable = true }

-- The environment variables of stock lua, which the command honours.
local LUA_ENV = { "LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_PATH_5_4",
                  "LUA_CPATH", "LUA_CPATH_5_4" }

local function private(name)
  return type(name) ~= "string" or name:sub(1, 1) == "_"
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function lines_of(text)
  local out = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- The compiled-in modules, by the name their functions go by:
-- "tome.records" -> "records".
local function submodules()
  local subs = {}
  for name in pairs(package.preload) do
    local alias = type(name) == "string" and name:match("^tome%.([%a_][%w_]*)$")
    if alias then subs[alias] = name end
  end
  return subs
end

-- The options `tome -h` lists ("  -e stat  ...", "  -h, --help  ...").
local function host_options(usage)
  local opts = {}
  for _, l in ipairs(lines_of(usage)) do
    local first = l:match("^  (%-%S*)")
    if first then
      opts[first:gsub(",$", "")] = true
      for more in l:gmatch(",%s+(%-[^%s,]*)") do opts[more] = true end
    end
  end
  return opts
end

-- The globals the command adds: with -m, and in a -n chunk that uses F.
local function host_globals(bin)
  local dump = "for k in pairs(_G) do io.write(k, ' ') end"
  local file = H.tmpfile("a b\n")
  local base = H.run(q(bin) .. " -e " .. q(dump))
  local withm = H.run(q(bin) .. " -m " .. q(file) .. " -e " .. q(dump))
  local withn = H.run(q(bin) .. " -n " .. q("local _ = F " .. dump) .. " "
    .. q(file))
  local known, out = {}, {}
  for k in base:gmatch("%S+") do known[k] = true end
  for k in (withm .. " " .. withn):gmatch("%S+") do
    if not known[k] and not private(k) then out[k] = true end
  end
  return out
end

-- getenv("NAME") in the C sources, os.getenv("NAME") in the Lua ones.
local function env_vars()
  local out = {}
  for _, v in ipairs(LUA_ENV) do out[v] = true end
  local files = H.run("ls src/*.c src/*.h lua/tome/*.lua 2>/dev/null")
  for path in files:gmatch("%S+") do
    local text = readfile(path) or ""
    for v in text:gmatch("getenv%s*%(%s*\"([%w_]+)\"") do out[v] = true end
  end
  return out
end

-- The public C API: functions declared and macros defined in tome.h.
local function capi()
  local text = (readfile("src/tome.h") or ""):gsub("/%*.-%*/", "")
  local out = {}
  for name in text:gmatch("([%a_][%w_]*)%(") do
    if name ~= "defined" and not name:find("^lua_") then out[name] = true end
  end
  for name in text:gmatch("#define%s+([%a_][%w_]*)") do
    if name ~= "TOME_H" then out[name] = true end
  end
  return out
end

-- Every public name, as the documentation writes it, with its kind:
--   module  tome.open      sub      records.each    meta  #v
--   view    v:lines        option   -n              env   HOME
--   map     m:resize       global   NR              capi  tome_pushbuffer
--   writer  w:write
local function actual()
  local A = {}
  local function add(kind, name) A[name] = kind end
  for k in pairs(tome) do
    if not private(k) then add("module", "tome." .. k) end
  end
  local m = tome.wrap("x")
  local mapmt, viewmt = getmetatable(m), getmetatable(m:view())
  local writermt = getmetatable(tome.stdout)
  local vm, mm = methods_of(viewmt), methods_of(mapmt)
  for k in pairs(vm) do
    if not private(k) then add("view", "v:" .. k) end
  end
  for k in pairs(mm) do
    if not private(k) and vm[k] == nil then add("map", "m:" .. k) end
  end
  for k in pairs(methods_of(writermt)) do
    if not private(k) then add("writer", "w:" .. k) end
  end
  local unknown = {}
  for _, t in ipairs { { "v", mapmt }, { "v", viewmt }, { "w", writermt } } do
    for k in pairs(t[2]) do
      if type(k) == "string" and k:find("^__") and not HIDDEN_META[k] then
        local form = FORMS[t[1]][k]
        if form then add("meta", form)
        elseif not (k == "__index" and type(t[2][k]) == "table") then
          unknown[#unknown + 1] = ("%s of %s"):format(k, t[2].__name)
        end
      end
    end
  end
  for alias, name in pairs(submodules()) do
    add("submodule", name)
    local ok, mod = pcall(require, name)
    if ok and type(mod) == "table" then
      for k in pairs(mod) do
        if not private(k) then add("sub", alias .. "." .. k) end
      end
    end
  end
  local bin = H.tome_bin()
  for o in pairs(host_options(H.run(q(bin) .. " -h"))) do add("option", o) end
  -- a long option the command parses but its usage forgets counts too
  for o in (readfile("src/host.c") or ""):gmatch('"(%-%-%a[%w%-]*)') do
    add("option", o)
  end
  for g in pairs(host_globals(bin)) do add("global", g) end
  for v in pairs(env_vars()) do add("env", v) end
  for c in pairs(capi()) do add("capi", c) end
  return A, unknown
end
-- }======

-- {====== what is documented ======

-- The name a piece of documentation text denotes (a code span of a
-- heading, a word of a man page tag): its canonical form, or nil.
local META_FORMS = {}
for _, forms in pairs(FORMS) do
  for _, f in pairs(forms) do META_FORMS[f] = true end
end

local function canonical(s, subs)
  s = s:gsub("^%s+", ""):gsub("%s+$", "")
  if META_FORMS[s] then return s end
  local name = s:match("^tome%.[%a_][%w_]*")
  if name then return name end
  name = s:match("^[vmw]:[%a_][%w_]*")
  if name then return name end
  local alias, field = s:match("^([%a_][%w_]*)%.([%a_][%w_]*)")
  if alias and subs[alias] then return alias .. "." .. field end
  name = s:match("^%-%-?[%w%-]*")
  if name then return name end
  name = s:match("^[%a_][%w_]*%f[^%w_]")
  if name and (s == name or s:sub(#name + 1, #name + 1) == "(") then
    return name
  end
  return nil
end

-- doc/reference.md: every code span of every "###" heading names one
-- thing.  Returns the names (with their line numbers), the spans that
-- name nothing recognisable, and the headings without an example (a
-- fenced code block before the next heading).
local function from_reference(text, subs)
  local names, odd, bare = {}, {}, {}
  local heading, example, headline
  local function close()
    if heading and not example then bare[#bare + 1] = headline end
  end
  local infence = false
  for n, l in ipairs(lines_of(text)) do
    if l:find("^```") then
      infence = not infence
      if heading then example = true end
    elseif not infence and l:find("^#") then
      close()
      heading, example, headline = nil, false, nil
      if l:find("^###%s") then
        for span in l:gmatch("`([^`]+)`") do
          local c = canonical(span, subs)
          if c then names[c] = names[c] or n
          else odd[#odd + 1] = ("line %d: `%s`"):format(n, span) end
          heading, headline = true, ("line %d: %s"):format(n, l)
        end
      end
    end
  end
  close()
  return names, odd, bare
end

-- A man page line as text: escapes resolved, font macros and quotes gone.
local function detroff(l)
  l = l:gsub("^%.%a+%s*", "")
  l = l:gsub("\\%-", "-"):gsub("\\%(aq", "'"):gsub("\\%(dq", '"')
  l = l:gsub("\\f[BIRP]", ""):gsub("\\&", ""):gsub("\\e", "\\")
  l = l:gsub('"', "")
  return l
end

-- doc/tome.1: the tag lines of every .TP entry (.TQ adds more).  In OPTIONS the words
-- that start with "-" are options, in ENVIRONMENT the upper-case words
-- are variables, in a section titled "Globals" the words are globals;
-- anywhere, tome.x, v:x, m:x, w:x and records.x are module names.
local function from_man(text, subs)
  local names = {}
  local section, tagnext = "", false
  for n, l in ipairs(lines_of(text)) do
    if l:find("^%.S[HS]%s") then
      section = detroff(l):upper()
    elseif l:find("^%.T[PQ]") then
      tagnext = true
    elseif tagnext and not l:find("^%.\\\"") then
      tagnext = false
      local tag = detroff(l)
      for w in tag:gmatch("[^%s,]+") do
        local c
        if section == "OPTIONS" then
          c = w:match("^%-%-?[%w%-]*")
        elseif section == "ENVIRONMENT" then
          c = w:match("^[A-Z][A-Z0-9_]*$")
        elseif section:find("GLOBALS") then
          c = w:match("^[%a_][%w_]*$")
        end
        if not c then
          c = w:match("^tome%.[%a_][%w_]*") or w:match("^[vmw]:[%a_][%w_]*")
          local alias, field = w:match("^([%a_][%w_]*)%.([%a_][%w_]*)")
          if not c and alias and subs[alias] then c = alias .. "." .. field end
        end
        if c then names[c] = names[c] or n end
      end
    end
  end
  return names
end

-- types/*.lua: `function tome.x(`, `function view:x(` (map:, writer:),
-- `function records.x(`, ---@field lines of the classes tomelib (the
-- module) and tome.<submodule>, and top-level `name = ` (the command's
-- globals, in types/tome_host.lua).
local TYPE_VARS = { tome = "tome.", view = "v:", map = "m:", writer = "w:" }

local function from_types(files, subs)
  local names = {}
  for path, text in pairs(files) do
    local class
    for n, l in ipairs(lines_of(text)) do
      local where = path .. ":" .. n
      local c = l:match("^%-%-%-@class%s+([%w_.]+)")
      if c then class = c
      elseif not l:find("^%-%-%-") then class = nil end
      local var, fn = l:match("^function%s+([%a_][%w_]*)[.:]([%a_][%w_]*)%s*%(")
      local prefix = var and (TYPE_VARS[var] or (subs[var] and var .. "."))
      if prefix then names[prefix .. fn] = names[prefix .. fn] or where end
      local field = l:match("^%-%-%-@field%s+([%a_][%w_]*)")
      if field and class then
        local sub = class:match("^tome%.([%a_][%w_]*)$")
        if class == "tomelib" then names["tome." .. field] = where
        elseif sub and subs[sub] then names[sub .. "." .. field] = where end
      end
      local global = l:match("^([%a_][%w_]*)%s*=")
      if global and global ~= "tome" and not TYPE_VARS[global] then
        names[global] = names[global] or where
      end
    end
  end
  return names
end

-- Which places must document which kinds of names.
local NEEDS = {
  reference = { module = true, view = true, map = true, writer = true,
                sub = true, meta = true, option = true, global = true,
                env = true, capi = true },
  man = { module = true, view = true, map = true, writer = true, sub = true,
          option = true, global = true, env = true },
  types = { module = true, view = true, map = true, writer = true,
            sub = true, global = true },
}
local WHERE = { reference = "doc/reference.md", man = "doc/tome.1",
                types = "types/" }

local function sorted(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The list of problems (empty: no drift).
local function check(A, docs)
  local out = {}
  for _, place in ipairs { "reference", "man", "types" } do
    local doc = docs[place]
    for _, name in ipairs(sorted(A)) do
      if NEEDS[place][A[name]] and doc[name] == nil then
        out[#out + 1] = ("%s (%s) is missing from %s"):format(name, A[name],
          WHERE[place])
      end
    end
    for _, name in ipairs(sorted(doc)) do
      if A[name] == nil then
        out[#out + 1] = ("%s is documented in %s (at %s) but does not exist")
          :format(name, WHERE[place], tostring(doc[name]))
      end
    end
  end
  return out
end

local function documented(subs, texts)
  texts = texts or {}
  local ref = texts.reference or readfile("doc/reference.md") or ""
  local man = texts.man or readfile("doc/tome.1") or ""
  local types = texts.types
  if not types then
    types = {}
    for path in H.run("ls types/*.lua 2>/dev/null"):gmatch("%S+") do
      types[path] = readfile(path)
    end
  end
  local refnames, odd, bare = from_reference(ref, subs)
  return { reference = refnames, man = from_man(man, subs),
           types = from_types(types, subs) }, odd, bare
end
-- }======

describe("the documentation", function()
  local A, unknown, subs
  setup(function()
    A, unknown = actual()
    subs = submodules()
  end)
  teardown(H.cleanup)

  it("sees the module, the objects and the command as they are", function()
    -- a check that found nothing to check would pass vacuously
    local want = {
      ["tome.open"] = "module", ["tome.version"] = "module",
      ["v:lines"] = "view", ["m:resize"] = "map", ["w:close"] = "writer",
      ["records.each"] = "sub", ["#v"] = "meta", ["-n"] = "option",
      ["--progress"] = "option", ["NR"] = "global", ["m"] = "global",
      ["LUA_INIT"] = "env", ["HOME"] = "env",
      ["tome_pushbuffer"] = "capi", ["TOME_VERSION"] = "capi",
    }
    for name, kind in pairs(want) do
      assert.are.equal(kind, A[name], name)
    end
    assert.are.same({}, unknown,
      "metamethods without a documented form: add them to FORMS")
  end)

  it("names every public name in the reference, the man page and types/, "
     .. "and nothing else", function()
    local docs = documented(subs)
    local problems = check(A, docs)
    assert(#problems == 0, "\n" .. table.concat(problems, "\n"))
  end)

  it("has reference headings that name something, each with an example",
     function()
    local _, odd, bare = documented(subs)
    assert(#odd == 0, "heading code spans that name nothing known:\n"
      .. table.concat(odd, "\n"))
    assert(#bare == 0, "headings without an example:\n"
      .. table.concat(bare, "\n"))
  end)

  it("fails when a method is added without documentation", function()
    local vm = methods_of(getmetatable(tome.wrap("x"):view()))
    vm.undocumented_method = function() end
    local ok, B = pcall(actual)
    vm.undocumented_method = nil
    assert(ok, B)
    local problems = table.concat(check(B, documented(subs)), "\n")
    for _, place in ipairs { "doc/reference.md", "doc/tome.1", "types/" } do
      local want = "v:undocumented_method (view) is missing from " .. place
      assert.matches(want, problems, 1, true)
    end
  end)

  it("fails when a documented name does not exist", function()
    local docs = documented(subs, {
      reference = "### `v:nosuch(x)`\n```lua\nv:nosuch(1)\n```\n",
      man = ".SH OPTIONS\n.TP\n.BI \\-\\-nosuch \" x\"\n",
      types = { ["types/x.lua"] = "function writer:nosuch() end\n" },
    })
    local problems = table.concat(check(A, docs), "\n")
    assert.matches("v:nosuch is documented in doc/reference.md", problems, 1, true)
    assert.matches("--nosuch is documented in doc/tome.1", problems, 1, true)
    assert.matches("w:nosuch is documented in types/", problems, 1, true)
  end)
end)
