-- spec/writer_safety_spec.lua -- tome.output as root and as a second user
-- (nobody, through setpriv): what the target may be (devices, FIFOs,
-- sockets, /dev/stdout, symbolic links, planted links, names near
-- NAME_MAX), what the new file gets (0600 until complete, owner, group,
-- mode, set-id bits, the directory synced), that signals, exit and kill -9
-- leave nothing behind, and that a full disk (a 1 MB tmpfs mounted here)
-- is reported as such.  Most of it needs root: as another user those
-- tests are pending.

local H = require "spec.helpers"
local tome = H.tome
local q = H.shell_quote

local ROOT = H.is_root()
local NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups -- "
local TMPPAT = "^%.(.*)%.tome%-(%d+)%-[a-z0-9][a-z0-9][a-z0-9][a-z0-9]"
  .. "[a-z0-9][a-z0-9]$"

local function sh(cmd)
  local out, err, code = H.sh(cmd)
  return out, code, err
end

local function must(cmd)
  local out, code, err = sh(cmd)
  assert(code == 0, ("%s: exit %s\n%s%s"):format(cmd, tostring(code), out,
                                                   err))
  return out
end

-- stat -c FMT of p (without the newline), nil when it fails
local function stat(p, fmt)
  local out, code = sh("stat -c " .. q(fmt) .. " " .. q(p))
  if code ~= 0 then return nil end
  return (out:gsub("\n$", ""))
end

local function tmpdir(mode)
  local d = H.tmpname(".dir")
  must("mkdir " .. q(d) .. " && chmod " .. (mode or "755") .. " " .. q(d))
  return d
end

local function listing(d)
  local names = {}
  for name in must("ls -A " .. q(d)):gmatch("[^\n]+") do
    names[#names + 1] = name
  end
  table.sort(names)
  return table.concat(names, " ")
end

-- the temporary files (by our naming) in d: a list of names
local function temps(d)
  local t = {}
  for name in listing(d):gmatch("%S+") do
    if name:match(TMPPAT) then t[#t + 1] = name end
  end
  return t
end

local function writefile(p, s)
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
end

-- a Lua script readable by everyone; returns its path
local function script(src)
  local p = H.tmpname(".lua")
  writefile(p, src)
  must("chmod 644 " .. q(p))
  return p
end

local function tome_cmd(path, ...)
  local t = { q(H.tome_bin()), q(path) }
  for _, a in ipairs { ... } do t[#t + 1] = q(a) end
  return table.concat(t, " ")
end

local function need_root()
  if not ROOT then
    pending("needs root (make test runs as root)")
    return false
  end
  return true
end

describe("tome.output: what the target may be", function()
  teardown(H.cleanup)

  it("writes a character device straight through and leaves it a device",
     function()
    if not need_root() then return end
    local d = tmpdir()
    local dev = d .. "/null"
    must("mknod " .. q(dev) .. " c 1 3")
    local w = assert(tome.output(dev))
    assert.truthy(tostring(w):find("written through", 1, true), tostring(w))
    w:write(("data "):rep(100000))
    assert.equal(true, w:close())
    assert.equal("character special file 1,3",
                 stat(dev, "%F %t,%T"))
    assert.equal("null", listing(d))
    -- abort and garbage collection leave it as it is too
    w = assert(tome.output(dev))
    w:write("x")
    w:abort()
    assert.equal("character special file", stat(dev, "%F"))
  end)

  it("writes a FIFO straight through: its reader gets the data", function()
    local d = tmpdir()
    local fifo, got = d .. "/fifo", H.tmpname(".got")
    must("mkfifo " .. q(fifo))
    -- a reader in the background; opening for writing waits for it
    must("( cat " .. q(fifo) .. " > " .. q(got) .. " & )")
    local w = assert(tome.output(fifo))
    assert.truthy(tostring(w):find("written through", 1, true))
    local data = ("line of data\n"):rep(20000)
    w:write(data)
    assert.equal(true, w:close())
    for _ = 1, 500 do
      if H.filesize(got) == #data then break end
      os.execute("sleep 0.02")
    end
    assert(H.readfile(got) == data, "the reader got the data")
    assert.equal("fifo", stat(fifo, "%F"))
    assert.equal("fifo", listing(d))
  end)

  it("refuses a socket as io.open does", function()
    if not H.have("cc") then return pending("needs cc") end
    local d = tmpdir()
    local sock = d .. "/sock"
    local src = H.tmpname(".c")
    local exe = H.tmpname(".exe")
    writefile(src, [[
      #include <string.h>
      #include <sys/socket.h>
      #include <sys/un.h>
      int main(int argc, char **argv) {
        struct sockaddr_un a;
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        (void)argc;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
        return bind(s, (struct sockaddr *)&a, sizeof a) != 0;
      }]])
    must("cc -o " .. q(exe) .. " -x c " .. q(src) .. " && " .. q(exe) .. " "
         .. q(sock))
    assert.equal("socket", stat(sock, "%F"))
    local w, msg, code = tome.output(sock)
    assert.is_nil(w)
    local _, imsg, icode = io.open(sock, "w")
    assert.equal(imsg, msg)
    assert.equal(icode, code)
    assert.equal("socket", stat(sock, "%F"))
    assert.equal("sock", listing(d))
  end)

  it("writes /dev/stdout and /proc/self/fd/1 straight through", function()
    -- a link made as /dev/stdout is made (the real one is left alone: a
    -- writer that replaced it would break the machine)
    local d = tmpdir()
    must("ln -s /proc/self/fd/1 " .. q(d .. "/stdout"))
    local s = script([[
      local w = assert(tome.output(arg[1]))
      io.stderr:write(tostring(w), "\n")
      w:write("through ", arg[1], "\n")
      assert(w:close())
    ]])
    for _, p in ipairs { d .. "/stdout", "/dev/fd/1", "/proc/self/fd/1" } do
      -- into a pipe
      local out, code, err = sh(tome_cmd(s, p) .. " | cat")
      assert.equal(0, code)
      assert.equal("through " .. p .. "\n", out)
      assert.truthy(err:find("written through", 1, true), err)
      -- into a file the shell opened: the same file gets the bytes
      local f = H.tmpname(".out")
      writefile(f, "old contents, longer than the new ones\n")
      local ino = stat(f, "%i")
      must(tome_cmd(s, p) .. " > " .. q(f))
      assert.equal("through " .. p .. "\n", H.readfile(f))
      assert.equal(ino, stat(f, "%i"))
    end
    assert.equal("symbolic link", stat(d .. "/stdout", "%F"))
    assert.equal("stdout", listing(d))
  end)

  it("writes the kernel's settings (/proc, /sys files) straight through",
     function()
    -- nothing can be created beside them: replacing cannot work, and the
    -- shell's '>' writes them in place.  /proc/self/comm (the process's
    -- name) is one that any user may set.
    local s = script([[
      local w = assert(tome.output("/proc/self/comm"))
      io.stderr:write(tostring(w), "\n")
      w:write("tome-", arg[1])
      assert(w:close())
      io.write(io.open("/proc/self/comm"):read("a"))
    ]])
    for _, who in ipairs { "", ROOT and NOBODY or nil } do
      local out, code, err = sh(who .. tome_cmd(s, "spec"))
      assert.equal(0, code, err)
      assert.equal("tome-spec\n", out)
      assert.truthy(err:find('"/proc/self/comm" (written through)', 1, true),
        err)
    end
  end)

  it("follows an ordinary symbolic link and replaces its target, keeping"
     .. " the link", function()
    local d = tmpdir()
    local target, link = d .. "/target", d .. "/link"
    writefile(target, "old")
    must("ln -s target " .. q(link))
    local w = assert(tome.output(link))
    w:write("new")
    assert(w:close())
    assert.equal("new", H.readfile(target))
    assert.equal("symbolic link", stat(link, "%F"))
    assert.equal("target", must("readlink " .. q(link)):gsub("\n", ""))
    assert.equal("link target", listing(d))
    -- a dangling link: its target is created; a chain of links
    must("ln -s sub/made " .. q(d .. "/dangling") .. " && mkdir "
         .. q(d .. "/sub") .. " && ln -s link " .. q(d .. "/chain")
         .. " && ln -s " .. q(d .. "/chain") .. " " .. q(d .. "/sub/abs"))
    w = assert(tome.output(d .. "/dangling"))
    w:write("made")
    assert(w:close())
    assert.equal("made", H.readfile(d .. "/sub/made"))
    w = assert(tome.output(d .. "/sub/abs"))
    w:write("through three links")
    assert(w:close())
    assert.equal("through three links", H.readfile(target))
    -- tome.create follows links as io.open(p, "w") does (a dangling one
    -- makes its target), and removes the file it made when it fails
    must("ln -s sub/created " .. q(d .. "/dangling2"))
    local m = assert(tome.create(d .. "/dangling2", 3))
    m:write("abc")
    m:close()
    assert.equal("abc", H.readfile(d .. "/sub/created"))
    must("ln -s sub/never " .. q(d .. "/dangling3"))
    assert.is_nil(tome.create(d .. "/dangling3", math.maxinteger))
    assert.is_nil(io.open(d .. "/sub/never"))
    assert.equal("symbolic link", stat(d .. "/dangling3", "%F"))
    os.remove(d .. "/dangling2")
    os.remove(d .. "/dangling3")
    os.remove(d .. "/sub/created")
    assert.equal("symbolic link", stat(d .. "/chain", "%F"))
    -- a loop of links: as io.open says
    must("ln -s loop2 " .. q(d .. "/loop1") .. " && ln -s loop1 "
         .. q(d .. "/loop2"))
    local _, msg, code = tome.output(d .. "/loop1")
    local _, imsg, icode = io.open(d .. "/loop1", "w")
    assert.equal(imsg, msg)
    assert.equal(icode, code)
    assert.same({}, temps(d))
    assert.same({}, temps(d .. "/sub"))
  end)

  it("does not follow a link another user planted in a sticky"
     .. " world-writable directory", function()
    if not need_root() then return end
    local sticky = tmpdir("1777")
    local victim = tmpdir() .. "/victim"
    writefile(victim, "precious\n")
    must(NOBODY .. "ln -s " .. q(victim) .. " " .. q(sticky .. "/planted"))
    assert.equal("65534", stat(sticky .. "/planted", "%u"))
    local w, msg, code = tome.output(sticky .. "/planted")
    assert.is_nil(w)
    assert.equal(sticky .. "/planted: not following a symbolic link that "
      .. "another user owns in a sticky world-writable directory", msg)
    assert.equal(13, code)                 -- EACCES
    assert.equal("precious\n", H.readfile(victim))
    assert.equal("planted", listing(sticky))
    -- nor by tome.create (which would zero the victim) or an "r+" map
    local m
    m, msg, code = tome.create(sticky .. "/planted", 4)
    assert.is_nil(m)
    assert.equal(sticky .. "/planted: not following a symbolic link that "
      .. "another user owns in a sticky world-writable directory", msg)
    assert.equal(13, code)
    m, msg, code = tome.open(sticky .. "/planted", "r+")
    assert.is_nil(m)
    assert.equal(sticky .. "/planted: not following a symbolic link that "
      .. "another user owns in a sticky world-writable directory", msg)
    assert.equal(13, code)
    assert.equal("precious\n", H.readfile(victim))
    -- reading through it is no harm
    assert.equal("precious\n", assert(tome.open(sticky .. "/planted")):sub(1))
    -- nor as a directory on the way to the file
    local vdir = tmpdir()
    must(NOBODY .. "ln -s " .. q(vdir) .. " " .. q(sticky .. "/dirlink"))
    w, msg, code = tome.output(sticky .. "/dirlink/file")
    assert.is_nil(w)
    assert.truthy(msg:find("not following a symbolic link", 1, true), msg)
    assert.equal(13, code)
    assert.equal("", listing(vdir))
  end)

  it("follows the links the kernel's rule allows", function()
    if not need_root() then return end
    -- ours in a sticky directory
    local sticky = tmpdir("1777")
    local t1 = tmpdir() .. "/t1"
    must("ln -s " .. q(t1) .. " " .. q(sticky .. "/mine"))
    local w = assert(tome.output(sticky .. "/mine"))
    w:write("1")
    assert(w:close())
    assert.equal("1", H.readfile(t1))
    -- another user's, in a world-writable directory that is not sticky
    local open = tmpdir("777")
    must(NOBODY .. "ln -s " .. q(t1) .. " " .. q(open .. "/theirs"))
    w = assert(tome.output(open .. "/theirs"))
    w:write("2")
    assert(w:close())
    assert.equal("2", H.readfile(t1))
    -- tome.create and "r+" follow them too
    local m = assert(tome.create(sticky .. "/mine", 2))
    m[1], m[2] = 53, 54
    m:close()
    assert.equal("56", H.readfile(t1))
    m = assert(tome.open(open .. "/theirs", "r+"))
    m[1] = 55
    m:close()
    assert.equal("76", H.readfile(t1))
    -- the directory owner's, in their sticky directory
    local owned = tmpdir("1777")
    must("chown 65534 " .. q(owned))
    must(NOBODY .. "ln -s " .. q(t1) .. " " .. q(owned .. "/owners"))
    w = assert(tome.output(owned .. "/owners"))
    w:write("3")
    assert(w:close())
    assert.equal("3", H.readfile(t1))
    -- and nobody follows its own link in a sticky directory
    local t2d = tmpdir("777")
    must(NOBODY .. "ln -s " .. q(t2d .. "/t2") .. " " .. q(sticky .. "/own"))
    local s = script([[
      local w = assert(tome.output(arg[1])) w:write("4") assert(w:close())
    ]])
    must(NOBODY .. tome_cmd(s, sticky .. "/own"))
    assert.equal("4", H.readfile(t2d .. "/t2"))
    assert.equal("65534", stat(t2d .. "/t2", "%u"))
  end)

  it("accepts the same names as io.open, up to NAME_MAX", function()
    local d = tmpdir()
    for _, n in ipairs { 200, 231, 232, 240, 254, 255 } do
      local name = ("n"):rep(n - 4) .. "\u{e9}.x"   -- a 2-byte character
      name = name:sub(1, n)
      local p = d .. "/" .. name
      local w = assert(tome.output(p))
      w:write(("%d bytes"):format(#name))
      -- while open, its temporary file fits the name limit too
      local t = temps(d)
      assert.equal(1, #t, "one temporary file for " .. #name)
      assert(#t[1] <= 255, #t[1])
      assert(w:close())
      assert.equal(("%d bytes"):format(#name), H.readfile(p))
      assert.equal(1, select(2, listing(d):gsub("%S+", "")))
      os.remove(p)
    end
    local p = d .. "/" .. ("x"):rep(256)
    local w, msg, code = tome.output(p)
    assert.is_nil(w)
    local _, imsg, icode = io.open(p, "w")
    assert.equal(imsg, msg)
    assert.equal(icode, code)
    assert.equal("", listing(d))
  end)
end)

describe("tome.output: what the new file gets", function()
  teardown(H.cleanup)

  -- trace the system calls of a tome script; returns the lines
  local function trace(src, ...)
    local log = H.tmpname(".strace")
    must("strace -f -y -o " .. q(log) .. " -e trace=openat,fchmod,fchown,"
         .. "fsync,rename,renameat,renameat2 " .. tome_cmd(script(src), ...))
    local lines = {}
    for l in H.readfile(log):gmatch("[^\n]+") do lines[#lines + 1] = l end
    return lines
  end

  it("is 0600 from its open call until it is complete", function()
    local d = tmpdir()
    local p = d .. "/shared"
    writefile(p, "old")
    must("chmod 644 " .. q(p))
    local w = assert(tome.output(p))
    w:write("secret")
    w:flush()
    local t = temps(d)
    assert.equal(1, #t)
    assert.equal("600", stat(d .. "/" .. t[1], "%a"))
    assert(w:close())
    assert.equal("644", stat(p, "%a"))
    -- and from the open call itself, not fchmod'ed after it
    if not H.have("strace") then return pending("needs strace") end
    local lines = trace([[
      local w = assert(tome.output(arg[1])) w:write("x") assert(w:close())
    ]], d .. "/traced")
    local created
    for _, l in ipairs(lines) do
      if l:find("O_CREAT", 1, true) and l:find(".traced.tome-", 1, true) then
        created = l
      end
    end
    assert(created, "the temporary file's open call:\n"
           .. table.concat(lines, "\n"))
    assert.truthy(created:find("O_EXCL", 1, true), created)
    assert.truthy(created:find(", 0600) = ", 1, true), created)
  end)

  it("gives a new file 0666 less the umask", function()
    local d = tmpdir()
    local s = script([[
      local w = assert(tome.output(arg[1])) w:write("x") assert(w:close())
    ]])
    for um, want in pairs { ["002"] = "664", ["077"] = "600",
                            ["022"] = "644", ["0"] = "666" } do
      local p = d .. "/u" .. um
      must("umask " .. um .. " && " .. tome_cmd(s, p))
      assert.equal(want, stat(p, "%a"), "umask " .. um)
    end
  end)

  it("keeps an existing file's owner, group and mode", function()
    if not need_root() then return end
    local d = tmpdir()
    local p = d .. "/theirs"
    writefile(p, "old")
    must("chown 65534:65534 " .. q(p) .. " && chmod 640 " .. q(p))
    local w = assert(tome.output(p))
    w:write("new")
    assert(w:close())
    assert.equal("new", H.readfile(p))
    assert.equal("65534:65534 640", stat(p, "%u:%g %a"))
    -- a second user rewriting its own file, in its own directory
    local nd = tmpdir()
    must("chown 65534:65534 " .. q(nd))
    local s = script([[
      local w = assert(tome.output(arg[1])) w:write(arg[2]) assert(w:close())
    ]])
    must(NOBODY .. "sh -c " .. q("echo old > " .. q(nd .. "/mine")
         .. " && chmod 604 " .. q(nd .. "/mine")))
    must(NOBODY .. tome_cmd(s, nd .. "/mine", "rewritten"))
    assert.equal("rewritten", H.readfile(nd .. "/mine"))
    assert.equal("65534:65534 604", stat(nd .. "/mine", "%u:%g %a"))
    -- someone else's file in that directory: the owner cannot be kept
    -- (the group can: nobody's group); set-gid goes with the owner
    writefile(nd .. "/roots", "root's")
    must("chown 0:65534 " .. q(nd .. "/roots") .. " && chmod 2664 "
         .. q(nd .. "/roots"))
    must(NOBODY .. tome_cmd(s, nd .. "/roots", "nobody's now"))
    assert.equal("65534:65534 664", stat(nd .. "/roots", "%u:%g %a"))
  end)

  it("keeps an existing file's ACL, as sed -i does", function()
    if not need_root() then return end
    local d = tmpdir()
    local p = d .. "/acl"
    writefile(p, "old")
    -- the owning group may only read; nobody (a named user) may write:
    -- the mode's group bits show the mask (rw), not the group's right
    local _, code = sh("setfacl -m u:nobody:rw-,g::r-- " .. q(p))
    if code ~= 0 then
      pending("no ACLs on this file system")
      return
    end
    local acl = must("getfacl -cp " .. q(p))
    assert.matches("user:nobody:rw%-", acl)
    local w = assert(tome.output(p))
    w:write("new")
    assert(w:close())
    assert.equal("new", H.readfile(p))
    assert.equal(acl, must("getfacl -cp " .. q(p)))
    assert.equal("664", stat(p, "%a"))
    -- and the named user can still write it, while the group could not
    -- gain write access through the mask
    must(NOBODY .. "sh -c " .. q("printf more >> " .. q(p)))
    assert.equal("newmore", H.readfile(p))
    -- the same through a gsub streamed into the file (tome -p --in-place
    -- goes through the same writer)
    local m = assert(tome.open(p))
    local out = assert(tome.output(p))
    assert(out:write((m:gsub("more", "less"))))
    m:close()
    assert(out:close())
    assert.equal("newless", H.readfile(p))
    assert.equal(acl, must("getfacl -cp " .. q(p)))
    -- a file without an ACL gets none
    local plain = d .. "/plain"
    writefile(plain, "x")
    must("chmod 640 " .. q(plain))
    w = assert(tome.output(plain))
    w:write("y")
    assert(w:close())
    assert.equal("user::rw-\ngroup::r--\nother::---\n\n",
                 must("getfacl -cp " .. q(plain)))
    assert.equal("640", stat(plain, "%a"))
  end)

  it("hands set-uid and set-gid bits to no new owner", function()
    if not need_root() then return end
    local d = tmpdir()
    -- root rewriting a user's set-uid program: it stays the user's
    local p = d .. "/userprog"
    writefile(p, "#!/bin/sh\n")
    must("chown 65534:65534 " .. q(p) .. " && chmod 4755 " .. q(p))
    local w = assert(tome.output(p))
    w:write("#!/bin/sh\necho new\n")
    assert(w:close())
    assert.equal("65534:65534 4755", stat(p, "%u:%g %a"))
    -- root rewriting its own set-uid/set-gid program keeps both
    local r = d .. "/rootprog"
    writefile(r, "x")
    must("chmod 6755 " .. q(r))
    w = assert(tome.output(r))
    w:write("y")
    assert(w:close())
    assert.equal("0:0 6755", stat(r, "%u:%g %a"))
    -- a second user rewriting root's set-uid file it may replace: the new
    -- file is the user's, without the bits
    must("chmod 777 " .. q(d) .. " && chmod 6777 " .. q(r))
    local s = script([[
      local w = assert(tome.output(arg[1])) w:write("z") assert(w:close())
    ]])
    must(NOBODY .. tome_cmd(s, r))
    assert.equal("z", H.readfile(r))
    assert.equal("65534:65534 777", stat(r, "%u:%g %a"))
  end)

  it("syncs the file, renames it, then syncs the directory", function()
    if not H.have("strace") then return pending("needs strace") end
    local d = tmpdir()
    local lines = trace([[
      local w = assert(tome.output(arg[1])) w:write("x") assert(w:close())
    ]], d .. "/durable")
    local at = {}
    for k, l in ipairs(lines) do
      if l:find("fsync(", 1, true) and l:find(".durable.tome-", 1, true) then
        at.filesync = at.filesync or k
      elseif l:find("rename", 1, true) and l:find("durable", 1, true) then
        at.rename = at.rename or k
      elseif l:find("fsync(" .. d:match("[^/]+$") .. ">)", 1, true) or
             l:find("fsync%(%d+<" .. d:gsub("%p", "%%%0") .. ">%)") then
        at.dirsync = k
      end
    end
    local all = table.concat(lines, "\n")
    assert(at.filesync and at.rename and at.dirsync, all)
    assert(at.filesync < at.rename and at.rename < at.dirsync, all)
  end)
end)

describe("tome.output: nothing left behind", function()
  teardown(H.cleanup)

  -- two open writers (one flushed, one still buffered), then 'how'
  local WRITER = [[
    local dir, how, ready = arg[1], arg[2], arg[3]
    local a = assert(tome.output(dir .. "/a"))
    a:write(("x"):rep(200000))
    a:flush()
    local b = assert(tome.output(dir .. "/b"))
    b:write("y")
    assert(io.open(ready, "w")):close()
    if how == "exit" then os.exit(3)
    elseif how == "exitclose" then os.exit(4, true)
    elseif how == "error" then error("failed")
    elseif how == "pipe" then
      while true do io.write(("z"):rep(4096)) io.flush() end
    end
    while true do end
  ]]

  -- run the writer script in the background, send 'sig' once it is
  -- ready; returns the exit status the shell reports
  local function run_and_signal(cmd, sig, ready)
    local out = must(("%s & pid=$!; n=0; while [ ! -e %s ] && [ $n -lt 6000 ]"
      .. "; do sleep 0.01; n=$((n+1)); done; [ -e %s ] || echo never ready;"
      .. " kill -%s $pid; wait $pid; echo $?"):format(cmd, q(ready),
                                                      q(ready), sig))
    assert(not out:find("never ready", 1, true), cmd .. ": never ready")
    return tonumber(out:match("(%d+)%s*$"))
  end

  it("is removed on SIGTERM, SIGINT, SIGHUP, SIGPIPE, os.exit and errors",
     function()
    local s = script(WRITER)
    local cases = {
      { "TERM", 143 }, { "HUP", 129 }, { "INT", 1 },
      { "exit", 3 }, { "exitclose", 4 }, { "error", 1 }, { "pipe", 141 },
    }
    for _, c in ipairs(cases) do
      local how, want = c[1], c[2]
      local d = tmpdir()
      local ready = H.tmpname(".ready")
      local status
      if how == "pipe" then
        local st = H.tmpname(".status")
        must(("{ %s; echo $? > %s; } | head -c 10 > /dev/null"):format(
          tome_cmd(s, d, how, ready), q(st)))
        status = tonumber(H.readfile(st):match("%d+"))
      elseif #how > 4 or how == "exit" then
        local _, code = sh(tome_cmd(s, d, how, ready))
        status = code
      else
        status = run_and_signal(tome_cmd(s, d, "loop", ready), how, ready)
      end
      assert.equal(want, status, how)
      assert.equal("", listing(d), how .. " left: " .. listing(d))
    end
  end)

  it("is removed on SIGTERM and exit in a stock lua5.4 with tome.so",
     function()
    local build = H.tome_bin():gsub("/tome$", "")
    if build:find("asan", 1, true) then
      return pending("tome.so of the sanitizer build needs its runtime")
    end
    local s = script(("package.cpath = %q .. '/?.so;' .. package.cpath\n"
      .. "tome = require 'tome'\n"):format(build) .. WRITER)
    local d = tmpdir()
    local ready = H.tmpname(".ready")
    local status = run_and_signal("lua5.4 " .. q(s) .. " " .. q(d)
      .. " loop " .. q(ready), "TERM", ready)
    assert.equal(143, status)
    assert.equal("", listing(d))
    local _, code = sh("lua5.4 " .. q(s) .. " " .. q(d) .. " exit "
                       .. q(H.tmpname(".ready")))
    assert.equal(3, code)
    assert.equal("", listing(d))
  end)

  it("left by kill -9 is removed by the next writer of the same path",
     function()
    local d = tmpdir()
    local long = ("L"):rep(240)
    local s = script([[
      local w = assert(tome.output(arg[1]))
      w:write(("x"):rep(300000))
      w:flush()
      assert(io.open(arg[2], "w")):close()
      while true do end
    ]])
    local function killed(name)
      local ready = H.tmpname(".ready")
      run_and_signal(tome_cmd(s, d .. "/" .. name, ready), "KILL", ready)
    end
    for _ = 1, 4 do killed("out") end
    killed(long)
    killed("other")
    assert.equal(6, #temps(d), listing(d))
    -- a writer of 'out' still running: its file is in use
    local ready = H.tmpname(".ready")
    must(tome_cmd(s, d .. "/out", ready) .. " > /dev/null 2>&1 & echo $! > "
         .. q(ready .. ".pid"))
    for _ = 1, 6000 do
      if io.open(ready) then break end
      os.execute("sleep 0.01")
    end
    assert(io.open(ready), "the live writer never got ready")
    local live = tonumber(H.readfile(ready .. ".pid"):match("%d+"))
    -- names that only look like ours: a process that is alive (init), a
    -- pid no process can have, a symbolic link
    writefile(d .. "/.out.tome-1-aaaaaa", "init's?")
    writefile(d .. "/.out.tome-2147480000-bbbbbb", "nobody's")
    must("ln -s /etc/passwd " .. q(d .. "/.out.tome-2147480001-cccccc"))
    assert.equal(10, #temps(d))
    local w = assert(tome.output(d .. "/out"))
    w:write("done")
    assert(w:close())
    local left = {}
    for _, t in ipairs(temps(d)) do left[#left + 1] = t:match(TMPPAT) end
    table.sort(left)
    -- gone: the 4 killed writers of out and the dead pid's file; the long
    -- name's temporary files carry a shortened name and its hash
    local key = temps(d)[1]:match(TMPPAT)
    assert.equal(231, #key)
    assert.equal(long:sub(1, 222), key:sub(1, 222))
    assert.truthy(key:match("~%x%x%x%x%x%x%x%x$"), key)
    assert.same({ key, "other", "out", "out", "out" }, left)
    assert.truthy(listing(d):find(".out.tome-" .. live .. "-", 1, true))
    must("kill -9 " .. live)
    os.execute("sleep 0.1")
    w = assert(tome.output(d .. "/" .. long))
    w:write("long")
    assert(w:close())
    w = assert(tome.output(d .. "/out"))
    w:write("again")
    assert(w:close())
    left = {}
    for _, t in ipairs(temps(d)) do left[#left + 1] = t:match(TMPPAT) end
    table.sort(left)
    assert.same({ "other", "out", "out" }, left)  -- init's and the link
    assert.equal("symbolic link", stat(d .. "/.out.tome-2147480001-cccccc",
                                       "%F"))
    assert.equal("again", H.readfile(d .. "/out"))
  end)
end)

describe("a full disk (a 1 MB tmpfs)", function()
  local mnt
  setup(function()
    if not ROOT then return end
    mnt = H.tmpname(".tmpfs")
    must("mkdir " .. q(mnt))
    -- if this fails, the machine does not let root mount: say so
    must("mount -t tmpfs -o size=1m tmpfs " .. q(mnt))
  end)
  teardown(function()
    if mnt then os.execute("umount " .. q(mnt)) end
    H.cleanup()
  end)
  local function fill_free()
    os.execute("rm -rf " .. q(mnt) .. "/* " .. q(mnt) .. "/.[!.]*")
  end

  it("a streaming gsub returns nil, message, errno; close reports it too",
     function()
    if not need_root() then return end
    fill_free()
    local src <close> = tome.wrap(("some line of text\n"):rep(200000))
    local p = mnt .. "/out"
    local w = assert(tome.output(p))
    local ok, msg, code = src:gsub("line", "LINE", nil, w)
    assert.is_nil(ok)
    assert.equal(p .. ": No space left on device", msg)
    assert.equal(28, code)
    local cok, cmsg, ccode = w:close()
    assert.is_nil(cok)
    assert.equal(msg, cmsg)
    assert.equal(28, ccode)
    assert.equal("", listing(mnt))
    -- a replacement function, and a file map as the source
    local big = H.tmpfile(("another line\n"):rep(150000))
    local m <close> = assert(tome.open(big))
    w = assert(tome.output(p))
    ok, msg, code = m:gsub("(%w+) line", function(a) return a:upper() end,
                           nil, w)
    assert.is_nil(ok)
    assert.equal(p .. ": No space left on device", msg)
    assert.equal(28, code)
    assert.equal(nil, (w:close()))
    assert.equal("", listing(mnt))
    -- plain writes said so already
    w = assert(tome.output(p))
    ok, msg, code = w:write(("x"):rep(2000000))
    assert.same({ nil, p .. ": No space left on device", 28 },
                { ok, msg, code })
    w:abort()
    assert.equal("", listing(mnt))
  end)

  it("a write into a map of a sparse file says no space is left",
     function()
    if not need_root() then return end
    fill_free()
    local p = mnt .. "/sparse"
    local m <close> = assert(tome.create(p, 8 * 1024 * 1024))
    m:write("hello")
    m:seek("set", 4096)
    local err = H.error_of(function() m:write(("x"):rep(2 * 1024 * 1024)) end)
    assert.truthy(err:find("No space left on device", 1, true), err)
    assert.falsy(err:find("truncated", 1, true), err)
    assert.equal(8 * 1024 * 1024, #m)
    -- what was written before is there (a tmpfs allocates a page even to
    -- read a hole, so reading the rest would say the same)
    assert.equal("hello", m:sub(1, 5))
    -- past the free space after a resize: the same
    assert(m:resize(16 * 1024 * 1024))
    err = H.error_of(function() m[16 * 1024 * 1024] = 65 end)
    assert.truthy(err:find("No space left on device", 1, true), err)
    err = H.error_of(function() m:pack(9 * 1024 * 1024, "i4", 7) end)
    assert.truthy(err:find("No space left on device", 1, true), err)
  end)

  it("tome.create past what the file system takes leaves the file as it"
     .. " was", function()
    if not need_root() then return end
    fill_free()
    for _, dir in ipairs { mnt, tmpdir() } do
      local p = dir .. "/keep"
      writefile(p, "keep me\n")
      local m, msg, code = tome.create(p, math.maxinteger)
      assert.is_nil(m)
      assert.equal("string", type(msg))
      assert.truthy(code == 27 or code == 12, msg)   -- EFBIG, ENOMEM
      assert.equal("keep me\n", H.readfile(p))
      -- a new file is not left behind either
      local n = dir .. "/new"
      assert.is_nil(tome.create(n, math.maxinteger))
      assert.is_nil(io.open(n))
    end
  end)
end)

describe("maps: impossible sizes and lost pages", function()
  teardown(H.cleanup)

  it("resize(math.maxinteger) of a memory map fails cleanly", function()
    local m <close> = tome.wrap("abc")
    local ok, msg, code = m:resize(math.maxinteger)
    assert.is_nil(ok)
    assert.equal("resize: Cannot allocate memory", msg)
    assert.equal(12, code)
    assert.equal("abc", m:sub(1))
    local c <close> = assert(tome.open(H.tmpfile("abc"), "c"))
    ok, msg, code = c:resize(math.maxinteger)
    assert.is_nil(ok)
    assert.equal("resize: Cannot allocate memory", msg)
    assert.equal(12, code)
    assert.equal("abc", c:sub(1))
  end)

  it("flush after the file was truncated does not report success",
     function()
    local p = H.tmpfile(("x"):rep(100000))
    local m <close> = assert(tome.open(p, "r+"))
    m:write("abc")
    assert.equal(m, m:flush())
    writefile(p, "")
    H.raises("file truncated while mapped", m.flush, m)
    -- a range still inside the file is fine
    writefile(p, ("y"):rep(5000))
    assert.equal(m, m:flush(1, 100))
    H.raises("file truncated while mapped", m.flush, m, 1, 90000)
  end)
end)
