-- spec/install_spec.lua -- `make install` into a staging directory
-- (DESTDIR), then what a user does with the result: run the installed
-- command, load the installed module from a stock lua5.4, read the man
-- page, build a C program with pkg-config; `make uninstall` removes it
-- all.  And the rockspec: `luarocks make` on a copy of the tree.

local H = require "spec.helpers"
local q = H.shell_quote

local BUILD = os.getenv("TOME_BUILD") or "build"
local PREFIX = "/usr/local"

local have = H.have

local sh = H.sh

-- make in the source tree, without what an enclosing make passes down
-- (its command-line variables would reach this one)
local function make(args)
  return sh("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s " .. args)
end

local function exists(p)
  return os.execute("test -e " .. q(p)) == true
end

-- A sanitizer build (make test's second pass) needs the ASan runtime
-- loaded first in programs that were not built with it.
local function sanitized()
  local out = H.run("nm " .. q(BUILD .. "/libtome.a") .. " 2>/dev/null")
  return out:find("__asan_", 1, true) ~= nil
end
local SAN = sanitized()
local SANFLAGS = SAN and "-fsanitize=address,undefined" or ""
local function preload()
  if not SAN then return "" end
  local lib = H.run("cc -print-file-name=libasan.so"):gsub("%s+$", "")
  return "LD_PRELOAD=" .. q(lib) .. " "
end

describe("make install", function()
  local dest, root

  setup(function()
    dest = H.tmpname()
    root = dest .. PREFIX
  end)
  teardown(H.cleanup)

  local FILES = {
    "/bin/tome", "/lib/lua/5.4/tome.so", "/lib/libtome.a",
    "/include/tome.h", "/share/man/man1/tome.1", "/lib/pkgconfig/tome.pc",
  }

  it("installs everything under DESTDIR and PREFIX", function()
    local out, err, code = make(("install BUILD=%s DESTDIR=%s PREFIX=%s")
      :format(q(BUILD), q(dest), PREFIX))
    assert.are.equal(0, code, out .. err)
    for _, f in ipairs(FILES) do
      assert.is_true(exists(root .. f), "missing " .. PREFIX .. f)
    end
    assert.is_true(os.execute("test -x " .. q(root .. "/bin/tome")) == true)
    -- nothing outside the prefix
    local others = H.run("cd " .. q(dest) .. " && find . -type f | grep -v '^./usr/local/'")
    assert.are.equal("", others)
  end)

  it("installs a command that runs", function()
    local out, err, code = sh(q(root .. "/bin/tome")
      .. [[ -e 'local m = tome.wrap("a\nb\n") print(tome.version, m:count("\n"))']])
    assert.are.equal(0, code, err)
    assert.matches("^tome %d+%.%d+%.%d+\t2\n$", out)
    local help, _, hcode = sh(q(root .. "/bin/tome") .. " -h")
    assert.are.equal(0, hcode)
    assert.matches("usage: [^\n]*tome %[options%]", help)
  end)

  it("installs a module that a stock lua5.4 requires", function()
    if not have("lua5.4") then
      pending("lua5.4 is not installed")
      return
    end
    local cpath = root .. "/lib/lua/5.4/?.so"
    local code_text = ([[
      package.cpath = %q
      local tome = require "tome"
      assert(package.searchpath("tome", package.cpath))
      local m = tome.wrap("x\ny\nz")
      local n = 0
      for l in m:lines() do n = n + #l end
      print(tome.version, tome.type(m), n)
    ]]):format(cpath)
    local out, err, code = sh(preload() .. "lua5.4 -e " .. q(code_text))
    assert.are.equal(0, code, err)
    assert.matches("^tome %S+\tmap\t3\n$", out)
  end)

  it("installs a man page", function()
    local page = H.readfile(root .. "/share/man/man1/tome.1")
    -- a comment first ('\" t: the page has a table for tbl)
    assert.matches("^['.]\\\"", page)
    assert.matches("\n%.TH TOME 1 ", page)
    for _, opt in ipairs { "\\%-n", "\\%-p", "\\%-F", "\\%-m", "begin", "progress" } do
      assert.matches(opt, page)
    end
    if have("groff") then
      local _, err, code = sh("groff -t -man -ww -z " .. q(root .. "/share/man/man1/tome.1"))
      assert.are.equal(0, code)
      assert.are.equal("", err)
    end
  end)

  it("installs a pkg-config file that builds an embedding program", function()
    local pc = H.readfile(root .. "/lib/pkgconfig/tome.pc")
    assert.matches("\nprefix=" .. PREFIX:gsub("%p", "%%%0") .. "\n", pc)
    assert.matches("\nVersion: " .. H.tome.version:match("^tome (.*)$"):gsub("%p", "%%%0")
      .. "\n", pc)
    assert.matches("\nLibs: %-L${libdir} %-ltome[ \n]", pc)
    if not (have("pkg-config") and have("cc")) then
      pending("pkg-config or cc missing")
      return
    end
    -- the flags a user gets, pointed at the staging directory
    local flags, err, code = sh(("PKG_CONFIG_PATH=%s pkg-config --cflags "
      .. "--libs tome"):format(q(root .. "/lib/pkgconfig")))
    assert.are.equal(0, code, err)
    assert.matches("%-I" .. PREFIX .. "/include", flags)
    assert.matches("%-L" .. PREFIX .. "/lib", flags)
    assert.matches("%-ltome", flags)
    flags = flags:gsub("%-([IL])" .. PREFIX, "-%1" .. root):gsub("\n", " ")
    local csrc = H.tmpname(".c")
    local f = assert(io.open(csrc, "w"))
    f:write([[
#include <stdio.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "tome.h"
int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "tome", luaopen_tome, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, "local m = tome.wrap('a,b,c') "
                       "print('embedded', m:count(','))") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_close(L);
  return 0;
}
]])
    f:close()
    local exe = H.tmpname()
    local _, cerr, ccode = sh(("cc %s -o %s %s %s"):format(SANFLAGS, q(exe),
      q(csrc), flags))
    assert.are.equal(0, ccode, cerr)
    local out
    out, err, code = sh(q(exe))
    assert.are.equal(0, code, err)
    assert.are.equal("embedded\t2\n", out)
  end)

  it("is undone by make uninstall", function()
    local out, err, code = make(("uninstall DESTDIR=%s PREFIX=%s")
      :format(q(dest), PREFIX))
    assert.are.equal(0, code, out .. err)
    for _, f in ipairs(FILES) do
      assert.is_false(exists(root .. f), "left behind: " .. PREFIX .. f)
    end
    assert.are.equal("", H.run("find " .. q(dest) .. " -type f"))
  end)
end)

describe("the Lua tools, as typed at the top of the tree", function()
  teardown(H.cleanup)

  -- a copy of the tree as git has it (luarocks builds in place)
  local function copy_tree()
    local copy = H.tmpname()
    local _, err, code = sh(("mkdir -p %s && git ls-files -z | "
      .. "xargs -0 cp --parents -t %s"):format(q(copy), q(copy)))
    assert.are.equal(0, code, err)
    return copy
  end

  it("luarocks make builds and installs the rock into ./lua_modules", function()
    if not have("luarocks") then
      pending("luarocks is not installed (apt-get install luarocks)")
      return
    end
    if SAN then
      pending("built once, in the normal pass of make test")
      return
    end
    local copy = copy_tree()
    local out, err, code = sh(("cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
      .. "luarocks make"):format(q(copy)))
    assert.are.equal(0, code, out .. err)
    assert.matches("tome %d+%.%d+%.%d+%-%d+ is now installed in .*lua_modules "
      .. "%(license: MIT%)", out)
    local tree = copy .. "/lua_modules"
    assert.is_true(exists(tree .. "/lib/lua/5.4/tome.so"))
    assert.is_true(exists(tree .. "/bin/tome"))
    -- `luarocks path` of the project, then a stock lua5.4
    out, err, code = sh(("cd %s && eval \"$(luarocks path)\" && cd / && "
      .. "lua5.4 -e %s"):format(q(copy), q('print(require("tome").wrap("ab"):len())')))
    assert.are.equal(0, code, err)
    assert.are.equal("2\n", out)
  end)

  it("busted runs the specs with the tome host (.busted)", function()
    if not have("busted") then
      pending("busted is not installed (apt-get install lua-busted)")
      return
    end
    if SAN then
      pending("run once, in the normal pass of make test")
      return
    end
    -- a spec that only passes under tome's Lua 5.4 host, run by plain
    -- busted from the top of this tree (which uses build/tome)
    local spec = H.tmpname("_spec.lua")
    local f = assert(io.open(spec, "w"))
    f:write([[
describe("the host", function()
  it("is tome's", function()
    assert.are.equal("Lua 5.4", _VERSION)
    assert.matches("^tome ", tome.version)
  end)
end)
]])
    f:close()
    local out, err, code = sh("busted -o TAP " .. q(spec))
    assert.are.equal(0, code, out .. err)
    assert.matches("ok 1 %- the host is tome's", out)
  end)
end)
