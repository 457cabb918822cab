-- Embedding: the C example program built against libtome.a, and tome.so
-- loaded by a stock lua5.4.  Run from the repository root; TOME_BUILD
-- names the build directory (default "build").
local BUILD = os.getenv("TOME_BUILD") or "build"

-- run a shell command; returns its output and whether it exited 0
local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")   -- "*a": also under a Lua 5.1 busted
  local ok = p:close()
  return out, ok == true or ok == 0
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A sanitizer build's library needs the sanitizer runtimes at link time,
-- and first in line at load time.
local function sanitized()
  local _, ok = sh("nm " .. q(BUILD .. "/libtome.a") .. " | grep -q __asan_")
  return ok
end

local function preload_sanitizers()
  local libs = {}
  for _, name in ipairs { "libasan.so", "libubsan.so" } do
    local path = sh("cc -print-file-name=" .. name):gsub("%s+$", "")
    if path:find("/") then libs[#libs + 1] = path end
  end
  local opts = os.getenv("ASAN_OPTIONS")
  opts = (opts and opts ~= "") and opts .. ":detect_leaks=0" or "detect_leaks=0"
  return "LD_PRELOAD=" .. q(table.concat(libs, " ")) ..
         " ASAN_OPTIONS=" .. q(opts) .. " "
end

describe("embedding", function()
  local SAN = sanitized()

  it("the C example builds against libtome.a and runs", function()
    local exe = BUILD .. "/embed_example"
    local cc = table.concat({
      "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror",
      SAN and "-fsanitize=address,undefined" or "",
      "-I/usr/include/lua5.4 -Isrc -o", q(exe), "scripts/embed_example.c",
      q(BUILD .. "/libtome.a"), "-llua5.4 -lz -lzstd -llzma -lbz2 -lm -ldl -lpthread",
    }, " ")
    local out, ok = sh(cc)
    assert.is_true(ok, "compiling the example failed:\n" .. out)
    out, ok = sh(q(exe))
    assert.is_true(ok, "the example failed:\n" .. out)
    assert.matches("lines 3\n", out, 1, true)
    assert.matches('needle at 34: "needle"', out, 1, true)
    assert.not_matches("FAIL", out, 1, true)
    assert.matches("all good", out, 1, true)
    local _, ntext = out:gsub("release text\n", "")
    local _, nscratch = out:gsub("release scratch\n", "")
    assert.equals(1, ntext)
    assert.equals(1, nscratch)
  end)

  it("tome.so loads into a stock lua5.4", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write("one\ntwo\nthree")
    f:close()
    local code = ([[
      package.cpath = %q .. "/?.so;" .. package.cpath
      local tome = require "tome"
      local m = assert(tome.open(%q))
      local n = 0
      for _ in m:lines() do n = n + 1 end
      local w = tome.wrap("a\nb\n")
      print(tome.version, tome.type(m), #m, n, m:count("\n"), #w, m:sub(5, 7))
      m:close()
      print(tome.type(m))
    ]]):format(BUILD, path)
    local out, ok = sh((SAN and preload_sanitizers() or "") ..
                       "lua5.4 -e " .. q(code))
    os.remove(path)
    assert.is_true(ok, "lua5.4 failed:\n" .. out)
    assert.matches("^tome %S+\tmap\t13\t3\t2\t4\ttwo\nclosed map\n$", out)
  end)
end)
