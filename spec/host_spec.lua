-- spec/host_spec.lua -- the `tome` command run as a user runs it: the
-- options it shares with lua5.4 (compared with lua5.4 itself), -m, -h,
-- usage errors, the -n/-p/-F/--begin/--end one-liners, exit statuses.

local H = require "spec.helpers"
local q = H.shell_quote

local TOME = H.tome_bin()

local have = H.have
local LUA = have("lua5.4") and "lua5.4" or nil

-- Messages start with the program's name as invoked (argv[0], here the
-- full path of the build): read it as "tome" in the comparisons.
local function progname_as_tome(s)
  local p = TOME:gsub("%p", "%%%0")
  return (s:gsub("^" .. p .. ": ", "tome: "):gsub("\n" .. p .. ": ", "\ntome: ")
           :gsub("usage: " .. p .. " ", "usage: tome "))
end

local function sh(cmd, input)
  local out, err, code = H.sh(cmd, input)
  return progname_as_tome(out), progname_as_tome(err), code
end

-- the command line: the host followed by shell words
local function tome(args, input) return sh(q(TOME) .. " " .. args, input) end
local function lua(args, input) return sh(LUA .. " " .. args, input) end

-- A file of Lua code (readable by anyone: a tmpfile is 0600).
local function script(code)
  local p = H.tmpfile(code)
  os.execute("chmod 644 " .. q(p))
  return p
end

-- Error output names the program: make lua5.4's read like ours.
local function as_tome(s)
  return (s:gsub("lua5%.4: ", "tome: "))
end

-- The host and lua5.4 must agree on stdout, stderr and status.
local function same_as_lua(args, input)
  local out, err, code = tome(args, input)
  if LUA then
    local lout, lerr, lcode = lua(args, input)
    -- the banner (-v, -i) names tome first
    assert.are.equal(lout, (out:gsub("^tome %S+  (Lua 5)", "%1")))
    assert.are.equal(as_tome(lerr), err)
    assert.are.equal(lcode, code)
  end
  return out, err, code
end

describe("the tome host", function()
  after_each(H.cleanup)

  describe("lua-compatible options", function()
    it("-e runs chunks in order, glued or not", function()
      local out, err, code = same_as_lua("-e 'x=1' -e 'print(x + 1)' '-eprint(3)'")
      assert.are.equal("2\n3\n", out)
      assert.are.equal("", err)
      assert.are.equal(0, code)
    end)

    it("has the tome module as a global and lpeg loadable", function()
      local out, _, code = tome([[-e 'print(tome == require "tome",
        type(tome.open), type(require "lpeg".match), tome.version)']])
      assert.are.equal(0, code)
      assert.matches("^true\tfunction\tfunction\ttome %d", out)
    end)

    it("-l mod and -l g=mod", function()
      local dir = H.tmpname()
      os.execute("mkdir -p " .. q(dir))
      local f = assert(io.open(dir .. "/hmod.lua", "w"))
      f:write("return { answer = 42 }\n")
      f:close()
      os.execute("chmod -R a+rX " .. q(dir))
      local env = "LUA_PATH=" .. q(dir .. "/?.lua;;") .. " "
      local out, _, code = sh(env .. q(TOME) ..
        " -l hmod -l g=hmod -lstring -e 'print(hmod.answer, g.answer, string == g)'")
      assert.are.equal(0, code)
      assert.are.equal("42\t42\tfalse\n", out)
      out = same_as_lua("-l s=string -e 'print(s == string)'")
      assert.are.equal("true\n", out)
    end)

    it("-l of a missing module fails with status 1", function()
      local _, err, code = same_as_lua("-l nosuch_module_xyz -e 'print(1)'")
      assert.are.equal(1, code)
      assert.matches("^tome: module 'nosuch_module_xyz' not found", err)
    end)

    it("-v prints tome's and Lua's versions", function()
      local out, _, code = tome("-v")
      assert.are.equal(0, code)
      assert.matches("^tome %d+%.%d+%.%d+", out)
      if LUA then
        local lout = lua("-v")
        assert.truthy(out:find(lout, 1, true))
      end
      out = tome("-v -e 'print(1)'")
      assert.matches("\n1\n$", out)
    end)

    it("-W turns warnings on", function()
      local _, err = same_as_lua("-W -e 'warn(\"hi\")'")
      assert.are.equal("Lua warning: hi\n", err)
      _, err = same_as_lua("-e 'warn(\"hi\")'")
      assert.are.equal("", err)
    end)

    it("LUA_INIT_5_4, LUA_INIT, @file and -E", function()
      local init = script("print('from file')\n")
      local out = sh("LUA_INIT='print(1)' " .. q(TOME) .. " -e 'print(2)'")
      assert.are.equal("1\n2\n", out)
      out = sh("LUA_INIT_5_4='print(54)' LUA_INIT='print(1)' " .. q(TOME) .. " -e ''")
      assert.are.equal("54\n", out)
      out = sh("LUA_INIT=@" .. q(init) .. " " .. q(TOME) .. " -e ''")
      assert.are.equal("from file\n", out)
      out = sh("LUA_INIT='print(1)' " .. q(TOME) .. " -E -e 'print(2)'")
      assert.are.equal("2\n", out)
      local err, code
      out, err, code = sh("LUA_INIT='error(\"x\")' " .. q(TOME) .. " -e 'print(2)'")
      assert.are.equal("", out)
      assert.matches("^tome: LUA_INIT:1: x\nstack traceback:", err)
      assert.are.equal(1, code)
    end)

    it("-E ignores LUA_PATH and LUA_CPATH", function()
      local cmd = "LUA_PATH='/nowhere/?.lua' LUA_CPATH='/nowhere/?.so' %s -E " ..
        "-e 'print(package.path:find(\"nowhere\") ~= nil, " ..
        "package.cpath:find(\"nowhere\") ~= nil)'"
      local out = sh(cmd:format(q(TOME)))
      assert.are.equal("false\tfalse\n", out)
      out = sh(cmd:gsub(" %-E", ""):format(q(TOME)))
      assert.are.equal("true\ttrue\n", out)
      if LUA then
        assert.are.equal(sh(cmd:format(LUA)), sh(cmd:format(q(TOME))))
      end
    end)

    it("builds the arg table as lua does", function()
      local code = "for i = -4, #arg do io.write(i, '=', tostring(arg[i]), ' ') end " ..
                   "print('|', ...)"
      local s = script(code)
      -- the output with the program's own name replaced by PROG
      local function check(args, input)
        local out, err, st = tome(args, input)
        assert.are.equal("", err)
        assert.are.equal(0, st)
        out = out:gsub(TOME:gsub("%p", "%%%0"), "PROG")
        if LUA then
          local lout = lua(args, input):gsub("lua5%.4", "PROG")
          assert.are.equal(lout, out)
        end
        return out
      end
      assert.are.equal("-4=nil -3=PROG -2=-e -1=x=1 0=" .. s .. " 1=a 2=b c |\ta\tb c\n",
                       check("-e 'x=1' " .. q(s) .. " a 'b c'"))
      assert.are.equal("-4=nil -3=nil -2=PROG -1=-- 0=" .. s .. " 1=-x |\t-x\n",
                       check("-- " .. q(s) .. " -x"))
      assert.are.equal("-4=nil -3=nil -2=nil -1=PROG 0=- 1=x 2=y |\tx\ty\n",
                       check("- x y", code))
      -- no script: everything at 0 and up
      assert.matches("^%-4=nil %-3=nil %-2=nil %-1=nil 0=PROG 1=%-W 2=%-e 3=",
                     check("-W -e " .. q(code)))
    end)

    it("'--' stops options and '-' reads the script from stdin", function()
      local out = same_as_lua("-", "print('stdin', ...)")
      assert.are.equal("stdin\n", out)
      out = same_as_lua("- 1 2", "print(...)")
      assert.are.equal("1\t2\n", out)
      out = same_as_lua("--", "print(5)")           -- no script: stdin again
      assert.are.equal("5\n", out)
      out = same_as_lua("-e 'x=5' --", "print(x)")  -- not after -e
      assert.are.equal("", out)
    end)

    it("runs standard input as a chunk when it is not a terminal", function()
      local out, _, code = same_as_lua("", "print(1 + 1)")
      assert.are.equal("2\n", out)
      assert.are.equal(0, code)
    end)

    it("reports errors with a traceback and status 1", function()
      local s = script("local function f() error('boom') end\nf()\n")
      local out, err, code = same_as_lua(q(s))
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("^tome: [^\n]*:1: boom\nstack traceback:\n", err)
      assert.matches("in local 'f'", err)
    end)

    it("reports non-string error objects as lua does", function()
      local _, err, code = same_as_lua("-e 'error({})'")
      assert.are.equal(1, code)
      assert.matches("^tome: %(error object is a table value%)\nstack traceback", err)
      _, err = same_as_lua("-e 'error(setmetatable({}, {__tostring = " ..
                           "function() return \"OBJ\" end}))'")
      assert.are.equal("tome: OBJ\n", err)
      _, err = same_as_lua("-e 'error(42)'")
      assert.matches("^tome: 42\nstack traceback", err)
      _, err = same_as_lua("-e 'error()'")
      assert.matches("^tome: %(error object is a nil value%)", err)
    end)

    it("reports syntax errors and missing scripts", function()
      local _, err, code = same_as_lua("-e 'x='")
      assert.are.equal(1, code)
      assert.are.equal("tome: (command line):1: unexpected symbol near <eof>\n", err)
      _, err, code = same_as_lua("/nonexistent/script.lua")
      assert.are.equal(1, code)
      assert.matches("^tome: cannot open /nonexistent/script.lua", err)
    end)

    it("exits with os.exit's status; a script's return does not count", function()
      for _, c in ipairs { { "0", 0 }, { "3", 3 }, { "true", 0 }, { "false", 1 } } do
        local _, _, code = same_as_lua("-e 'os.exit(" .. c[1] .. ")'")
        assert.are.equal(c[2], code)
      end
      local _, _, code = same_as_lua(q(script("return 7")))
      assert.are.equal(0, code)
      _, _, code = same_as_lua(q(script("return false")))
      assert.are.equal(0, code)
    end)

    it("stops a running chunk on SIGINT with 'interrupted!'", function()
      local s = script("local function spin()\n  while true do end\nend\nspin()\n")
      -- a background job ignores SIGINT; the host catches it anyway, as lua
      local cmd = "%s %s & p=$!; sleep 0.3; kill -INT $p; wait $p; echo status=$?"
      local out, err = sh(cmd:format(q(TOME), q(s)))
      assert.are.equal("status=1\n", out)
      assert.matches("^tome: [^\n]*interrupted!\nstack traceback:\n", err)
      assert.matches("in local 'spin'", err)
      out, err = sh(cmd:format(q(TOME), "-n 'while true do end' " .. q(s)))
      assert.are.equal("status=1\n", out)
      assert.matches("interrupted!", err)
      -- waiting for lines on a pipe
      out, err = sh(("sleep 1 | %s -n 'print(line)' & p=$!; sleep 0.3; kill -INT $p; " ..
                     "wait $p; echo status=$?"):format(q(TOME)))
      assert.are.equal("status=1\n", out)
      assert.matches("interrupted!", err)
    end)

    it("-i reads, evaluates and prints (expressions without '=')", function()
      local banner = tome("-v")
      local input = "1 + 1\nx = 3\nx, 'a'\nfunction f()\nreturn 9\nend\nf()\n=x\n"
      local out, _, code = tome("-i -e '_PROMPT = \"\" _PROMPT2 = \"\"'", input)
      assert.are.equal(0, code)
      -- input that is not a terminal is echoed, as lua (with readline) does
      assert.are.equal(banner .. "1 + 1\n2\nx = 3\nx, 'a'\n3\ta\nfunction f()\nreturn 9\n" ..
                       "end\nf()\n9\n=x\n3\n\n", out)
      if LUA then
        local lout = lua("-i -e '_PROMPT = \"\" _PROMPT2 = \"\"'", input)
        assert.are.equal(lout:gsub("^[^\n]*\n", ""), out:gsub("^[^\n]*\n", ""))
      end
      local err
      out, err = tome("-i", "error('x')\nprint('still here')\n")
      assert.matches("^stdin:1: x\nstack traceback:", err)
      assert.truthy(out:find("still here", 1, true))
    end)

    it("-i prints results through the global print, as lua does", function()
      -- print = nil: lua's message, and the REPL goes on
      local _, err, code = same_as_lua("-e 'print = nil' -i", "10\nio.stderr:write('ok\\n')\n")
      assert.are.equal(0, code)
      assert.are.equal("error calling 'print' (attempt to call a nil value)\nok\n" ..
                       "error calling 'print' (attempt to call a nil value)\n", err)
      -- a print of the user's own gets the values themselves
      local out = same_as_lua("-e 'print = function(...) io.write(\"P:\", select(\"#\", ...), " ..
        "\" \", type((...)), \"\\n\") end _PROMPT = \"\"' -i", "1, {}\n{}\n")
      assert.matches("P:2 number\n", out)
      assert.matches("P:1 table\n", out)
      -- the stock print: tables shown readably
      out = tome("-e '_PROMPT = \"\"' -i", "{ 1, x = 2 }\n")
      assert.matches("{ 1, x = 2 }\n", out)
    end)

    it("-i converts _PROMPT and _PROMPT2 with tostring", function()
      local prompt = "local C = 0; _PROMPT = setmetatable({}, {__tostring = function () " ..
                     "C = C + 1; return C end}) _PROMPT2 = 2.5"
      local out = same_as_lua("-e " .. q(prompt) .. " -i", " --\na = \n2\n")
      assert.truthy(out:find("\n1 --\n2a = \n2.52\n3\n", 1, true), out)
      -- a failing __tostring gives the default prompt, not an error
      out = tome("-e '_PROMPT = setmetatable({}, {__tostring = error})' -i", "x = 1\n")
      assert.truthy(out:find("\n> x = 1\n", 1, true), out)
    end)

    it("-i keeps the last result in _", function()
      local out = tome("-e '_PROMPT = \"\"' -i", "40 + 2\n_ + 1\nx = 5\n_, 'b'\n")
      assert.truthy(out:find("\n40 + 2\n42\n_ + 1\n43\nx = 5\n_, 'b'\n43\tb\n", 1, true), out)
    end)

    it("names itself as invoked (argv[0]), as lua does", function()
      local dir = H.tmpname()
      os.execute("mkdir " .. q(dir) .. " && ln -s " .. q(TOME) .. " " .. q(dir .. "/lua"))
      local _, err, code = H.sh(q(dir .. "/lua") .. " -e 'error(\"x\")'")
      assert.are.equal(1, code)
      assert.matches("^" .. (dir .. "/lua"):gsub("%p", "%%%0") .. ": %(command line%):1: x\n", err)
      _, err = H.sh("PATH=" .. q(dir) .. ":$PATH lua -x")
      assert.matches("^lua: unrecognized option '%-x'\nusage: lua %[options%]", err)
      _, err = H.sh(q(TOME) .. " -x")
      assert.are.equal(TOME .. ": unrecognized option '-x'", err:match("^[^\n]*"))
    end)

    it("--version is -v", function()
      local out, _, code = tome("--version")
      assert.are.equal(0, code)
      assert.are.equal(tome("-v"), out)
      assert.matches("^tome %d+%.%d+%.%d+  Lua 5%.4", out)
    end)
  end)

  describe("tome's own options", function()
    it("-m maps files into m and M", function()
      local a = H.tmpfile("hello\nworld\n")
      local b = H.tmpfile("xyz")
      local out, err, code = tome("-m " .. q(a) .. " -m" .. q(b) ..
        " -e 'print(tome.type(m), #m, #M, M[1] == m, #M[2], m:sub(1, 5))'")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("map\t12\t2\ttrue\t3\thello\n", out)
      -- mapped before LUA_INIT and -e run, and seen by a script
      out = sh("LUA_INIT='print(#m)' " .. q(TOME) .. " -m " .. q(a) .. " " ..
               q(script("print(m:sub(7, 11))")))
      assert.are.equal("12\nworld\n", out)
    end)

    it("-m of a missing file says why and exits 1", function()
      local out, err, code = tome("-m /nonexistent/x.log -e 'print(1)'")
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.are.equal("tome: /nonexistent/x.log: No such file or directory\n", err)
    end)

    it("-h and --help print the usage", function()
      for _, o in ipairs { "-h", "--help" } do
        local out, err, code = tome(o)
        assert.are.equal(0, code)
        assert.are.equal("", err)
        assert.matches("^usage: tome %[options%] %[script %[args%]%]", out)
        assert.truthy(out:find("-n chunk", 1, true))
      end
    end)

    it("rejects unknown options and missing arguments with the usage", function()
      for _, c in ipairs {
        { "-x", "tome: unrecognized option '-x'" },
        { "--nope", "tome: unrecognized option '--nope'" },
        { "-vx", "tome: unrecognized option '-vx'" },
        { "-e", "tome: '-e' needs argument" },
        { "-e -x", "tome: '-e' needs argument" },
        { "-l", "tome: '-l' needs argument" },
        { "-m", "tome: '-m' needs argument" },
        { "-n", "tome: '-n' needs argument" },
        { "--begin", "tome: '--begin' needs argument" },
        { "-F , -e 1", "tome: '-F' needs -n or -p" },
        { "--begin 1 -F ,", "tome: '--begin' needs -n or -p" },
        { "--header", "tome: '--header' needs -n or -p" },
        { "-0 --rs x -n 1", "tome: only one record separator (at '--rs')" },
        { "--in-place=x", "tome: '--in-place=x' needs -n or -p" },
        { "--header=1 -n 1", "tome: unrecognized option '--header=1'" },
        { "--endx 1", "tome: unrecognized option '--endx'" },
        { "-n 1 -p 2", "tome: only one -n or -p chunk (at '2')" },
        { "-F '' -n 1", "tome: -F needs a separator" },
      } do
        local out, err, code = tome(c[1])
        assert.are.equal("", out)
        assert.are.equal(1, code)
        assert.are.equal(c[2], err:match("^[^\n]*"))
        assert.matches("\nusage: tome ", err)
      end
      if LUA then   -- the first line as lua5.4 words it
        for _, o in ipairs { "-x", "-vx", "-e", "-e -x", "--nope" } do
          local _, lerr, lcode = lua(o)
          local _, err, code = tome(o)
          assert.are.equal(lcode, code)
          assert.are.equal(as_tome(lerr):match("^[^\n]*"), err:match("^[^\n]*"))
        end
      end
    end)
  end)

  describe("one-liners", function()
    local f1, f2
    before_each(function()
      f1 = H.tmpfile("a b  c\n  d\te \nlast")
      f2 = H.tmpfile("x,y,z\n\n1,,2,\n")
    end)

    it("-n runs the chunk per line with line, NR, FNR, FILE", function()
      local out, err, code = tome("-n 'print(NR, FNR, FILE, line)' " .. q(f1) .. " " .. q(f2))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(table.concat({
        "1\t1\t" .. f1 .. "\ta b  c",
        "2\t2\t" .. f1 .. "\t  d\te ",
        "3\t3\t" .. f1 .. "\tlast",
        "4\t1\t" .. f2 .. "\tx,y,z",
        "5\t2\t" .. f2 .. "\t",
        "6\t3\t" .. f2 .. "\t1,,2,", "" }, "\n"), out)
    end)

    it("reads standard input (a pipe, a file, '-') among the files", function()
      local out = tome("-n 'print(FILE, FNR, line)'", "p\nq\n")
      assert.are.equal("-\t1\tp\n-\t2\tq\n", out)
      out = sh("printf 'p\\nq' | " .. q(TOME) .. " -n 'print(NR, FILE, line)' " ..
               q(f2) .. " - " .. q(f2))
      assert.are.equal(("1\t%s\tx,y,z\n2\t%s\t\n3\t%s\t1,,2,\n4\t-\tp\n5\t-\tq\n" ..
        "6\t%s\tx,y,z\n7\t%s\t\n8\t%s\t1,,2,\n"):format(f2, f2, f2, f2, f2, f2), out)
      out = tome("-n 'io.write(line, \";\")' - " .. q(f1), "s\r\nt\n")
      assert.are.equal("s\r;t;a b  c;  d\te ;last;", out)
    end)

    it("-p prints line after the chunk, as it was left", function()
      local out = tome("-p 'line = line:upper()' " .. q(f1))
      assert.are.equal("A B  C\n  D\tE \nLAST", out)
      out = tome("-p 'if NR % 2 == 0 then line = nil end' " .. q(f1) .. " " .. q(f2))
      assert.are.equal("a b  c\nlast\n", out)
      out = tome("-p 'line = #line'", "abc\n\nxy")
      assert.are.equal("3\n0\n2", out)
    end)

    it("-F splits into F and NF on a plain separator", function()
      local out = tome("-F, -n 'print(NF, table.concat(F, \"|\"))' " .. q(f2))
      assert.are.equal("3\tx|y|z\n0\t\n4\t1||2|\n", out)
      out = tome("-F '::' -n 'print(NF, F[2])'", "a::b::c\n::\n")
      assert.are.equal("3\tb\n2\t\n", out)
      out = tome("-F '\\t' -n 'print(NF, F[1])'", "a b\tc\n")
      assert.are.equal("2\ta b\n", out)
    end)

    it("splits on runs of blanks, as awk, without -F or with -F ' '", function()
      local want = "3\ta|b|c\n2\td|e\n1\tlast\n"
      local out = tome("-n 'print(NF, table.concat(F, \"|\"))' " .. q(f1))
      assert.are.equal(want, out)
      out = tome("-F ' ' -n 'print(NF, table.concat(F, \"|\"))' " .. q(f1))
      assert.are.equal(want, out)
      if have("awk") then
        local awk = sh("awk '{ s = $1; for (i = 2; i <= NF; i++) s = s \"|\" $i; " ..
                       "print NF \"\\t\" s }' " .. q(f1))
        assert.are.equal(awk, out)
      end
    end)

    it("--begin and --end run once around the lines", function()
      local out, err, code = tome("--begin 'n = 0; print(\"begin\", NR)' " ..
        "-n 'n = n + #line' --end 'print(\"end\", n, NR, FNR, FILE)' " ..
        q(f1) .. " " .. q(f2))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(("begin\t0\nend\t26\t6\t3\t%s\n"):format(f2), out)
      out = tome("--end 'print(NR)' -n ''")
      assert.are.equal("0\n", out)
      out = tome("--begin=x=1 -n 'x = x + 1' --end='print(x)'", "a\nb\n")
      assert.are.equal("3\n", out)
    end)

    it("runs -e and -l before the loop and sees the files in arg", function()
      local out = tome("-e 'k = 10' -n 'print(k + NR, #arg, arg[1])' " .. q(f2))
      assert.are.equal(("11\t1\t%s\n12\t1\t%s\n13\t1\t%s\n"):format(f2, f2, f2), out)
    end)

    it("reports a bad file, goes on, and exits non-zero", function()
      local out, err, code = tome("-n 'print(FILE, line)' " .. q(f2) ..
        " /nonexistent/file " .. q(f1) .. " /")
      assert.are_not.equal(0, code)
      assert.matches("^tome: /nonexistent/file: No such file or directory\n", err)
      assert.matches("\ntome: /: [^\n]+\n$", err)
      local lines = 0
      for _ in out:gmatch("\n") do lines = lines + 1 end
      assert.are.equal(6, lines)
    end)

    it("stops at an error in the chunk with a traceback", function()
      local out, err, code = tome("-n 'print(line); if NR == 2 then error(\"bad \" .. NR) end' " ..
                                  q(f1))
      local _
      assert.are.equal("a b  c\n  d\te \n", out)
      assert.are.equal(1, code)
      assert.are.equal("tome: " .. f1 .. ":2: (command line):1: bad 2\nstack traceback:\n",
                       err:match("^[^\n]*\n[^\n]*\n"))
      _, err, code = tome("-n 'x =' " .. q(f1))
      assert.are.equal(1, code)
      assert.matches("^tome: %(command line%):1: unexpected symbol near <eof>", err)
      _, err, code = tome("--end 'error(\"e\")' -n '' " .. q(f1))
      assert.are.equal(1, code)
      assert.matches("^tome: %(%-%-end%):1: e\n", err)
    end)

    it("os.exit in a chunk keeps the output printed so far", function()
      local out, _, code = tome("-p 'if NR == 2 then os.exit(4) end' " .. q(f1))
      assert.are.equal("a b  c\n", out)
      assert.are.equal(4, code)
    end)
  end)
end)
