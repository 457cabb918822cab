-- spec/product_spec.lua -- what ships around the code agrees with itself:
-- one version everywhere (set in src/tome.h, repeated by
-- scripts/version.sh in the files that cannot read it), one licence
-- (LICENSE, the rockspec, debian/copyright), the Debian build
-- dependencies and tome.pc following the Makefile.  The packages
-- themselves are built, linted, installed and tried by `make deb-check`
-- (scripts/debcheck.sh), a stage of make test.

local H = require "spec.helpers"
local q = H.shell_quote
local sh = H.sh

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function version_of(dir)
  return read(dir .. "/src/tome.h"):match('\n#define TOME_VERSION "tome ([^"]+)"')
end

-- the versions repeated in the files that cannot read src/tome.h
local function repeated(dir)
  local out = {}
  local specs = H.run("cd " .. q(dir) .. " && ls tome-*.rockspec")
  out.rockspec_files = {}
  for name in specs:gmatch("%S+") do
    out.rockspec_files[#out.rockspec_files + 1] = name
    local text = read(dir .. "/" .. name)
    out.rockspec_name = name:match("^tome%-(.+)%-1%.rockspec$")
    out.rockspec = text:match('\nversion = "([^"]+)%-1"')
    out.rockspec_tag = text:match('\n  tag = "v([^"]+)"')
  end
  out.changelog = read(dir .. "/debian/changelog"):match("^tome %(([^)]+)%)")
  out.man = read(dir .. "/doc/tome.1"):match('\n%.TH TOME 1 "[^"]*" "tome ([^"]+)"')
  return out
end

-- a Makefile variable's words (continuation lines joined)
local function makevar(text, name)
  local value = text:match("\n" .. name .. "%s*:=%s*(.-[^\\])\n")
  assert(value, name .. " not found in the Makefile")
  local words = {}
  for w in value:gsub("\\\n", " "):gmatch("%S+") do words[#words + 1] = w end
  return words
end

describe("the version", function()
  teardown(H.cleanup)
  local V = version_of(".")

  it("is set once, in src/tome.h, and read from there by the build", function()
    assert.matches("^%d+%.%d+%.%d+$", V)
    assert.are.equal("tome " .. V, H.tome.version)
    local out, _, code = sh(q(H.tome_bin()) .. " -v")
    assert.are.equal(0, code)
    assert.are.equal("tome " .. V .. "  ", out:sub(1, #V + 7))
    local made = sh("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s version")
    assert.are.equal(V .. "\n", made)
  end)

  it("is repeated right in the rockspec, debian/changelog and the man page",
     function()
    local r = repeated(".")
    assert.are.same({ "tome-" .. V .. "-1.rockspec" }, r.rockspec_files)
    assert.are.equal(V, r.rockspec)
    assert.are.equal(V, r.rockspec_tag)
    assert.are.equal(V, r.changelog)
    assert.are.equal(V, r.man)
  end)

  it("changes everywhere with scripts/version.sh", function()
    local copy = H.tmpname()
    local _, err, code = sh(("mkdir -p %s && cp -r src doc debian scripts "
      .. "tome-*.rockspec %s/"):format(q(copy), q(copy)))
    assert.are.equal(0, code, err)
    local out
    out, err, code = sh(("sh %s/scripts/version.sh 12.34.56"):format(q(copy)))
    assert.are.equal(0, code, err)
    assert.matches("-> 12.34.56", out, 1, true)
    assert.are.equal("12.34.56", version_of(copy))
    local r = repeated(copy)
    assert.are.same({ "tome-12.34.56-1.rockspec" }, r.rockspec_files)
    assert.are.equal("12.34.56", r.rockspec)
    assert.are.equal("12.34.56", r.rockspec_tag)
    assert.are.equal("12.34.56", r.changelog)
    assert.are.equal("12.34.56", r.man)
    -- the older entries stay below the new one
    local log = read(copy .. "/debian/changelog")
    assert.matches("\n %-%- [^\n]+>  %a%a%a, %d%d %a%a%a %d%d%d%d [%d:]+ [+-]%d%d%d%d\n",
      log)
    assert.matches("\ntome %(" .. V:gsub("%p", "%%%0") .. "%)", log)
    -- a malformed version is refused and changes nothing
    _, err, code = sh(("sh %s/scripts/version.sh 1.2"):format(q(copy)))
    assert.are_not.equal(0, code)
    assert.matches("not a version", err)
    assert.are.equal("12.34.56", version_of(copy))
  end)
end)

describe("the licence", function()
  local function words(s)
    return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
  end

  it("is MIT, by the tome authors, the same in every place", function()
    local license = read("LICENSE")
    assert.matches("^MIT License\n", license)
    assert.matches("\nCopyright %(c%) %d%d%d%d the tome authors\n", license)
    local grant = license:match("\n(Permission is hereby granted.*)$")
    assert.truthy(grant)
    local rockspec = read(H.run("ls tome-*.rockspec"):match("%S+"))
    assert.matches('\n  license = "MIT",', rockspec, 1, true)
    -- Debian calls this licence Expat
    local copyright = read("debian/copyright")
    assert.matches("\nFiles: %*\nCopyright: %d%d%d%d the tome authors\nLicense: Expat\n",
      copyright)
    local text = copyright:match("\nLicense: Expat\n( Permission.*)$")
    assert.truthy(text)
    text = text:gsub("\n %.\n", "\n\n"):gsub("\n ", "\n")
    assert.are.equal(words(grant), words(text))
  end)
end)

describe("the Debian packaging", function()
  local makefile = read("Makefile")
  local control = read("debian/control")

  it("build-depends on (or recommends) every package DEB_PKGS names", function()
    local listed = {}
    for field in control:gmatch("\n[%w%-]*Depends:(.-)\n%S") do
      for p in field:gmatch("[%w%.%+%-]+") do listed[p] = true end
    end
    for field in control:gmatch("\nRecommends:([^\n]*)") do
      for p in field:gmatch("[%w%.%+%-]+") do listed[p] = true end
    end
    -- the compiler and libc are build-essential
    local implied = { gcc = true, ["libc6-dev"] = true }
    for _, p in ipairs(makevar(makefile, "DEB_PKGS")) do
      assert(implied[p] or listed[p], p .. " is missing from debian/control "
        .. "(Build-Depends, or a package's Depends or Recommends)")
    end
  end)

  it("links C programs with what libtome.a needs (tome.pc)", function()
    local pc = read("tome.pc.in")
    local libs = pc:match("\nLibs:([^\n]*)") .. " "
    for _, l in ipairs(makevar(makefile, "SRC_LIBS")) do
      assert(libs:find(" " .. l .. " ", 1, true), l .. " is missing from Libs "
        .. "in tome.pc.in")
    end
    assert.is_nil(pc:match("\nLibs%.private:"), "a static library needs its "
      .. "libraries in Libs")
  end)

  it("describes three packages: tome, lua-tome, libtome-dev", function()
    local pkgs = {}
    for p in control:gmatch("\nPackage: (%S+)") do pkgs[#pkgs + 1] = p end
    assert.are.same({ "tome", "lua-tome", "libtome-dev" }, pkgs)
    assert.matches("\ndebhelper%-compat %(= 13%)", "\n" .. control:match(
      "Build%-Depends: (.-)\n%S"))
    assert.matches("^usr/lib/%*/lua/5%.4/tome%.so\n$", read("debian/lua-tome.install"))
  end)
end)
