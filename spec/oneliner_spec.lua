-- spec/oneliner_spec.lua -- the -n / -p loops as awk and perl users
-- use them: expressions as patterns, errors that name FILE:LINE, -F in
-- all its forms, --header, -0, --rs, --in-place, the final newline, the
-- prefilter and the loop's string methods (against the string library),
-- and the same answers as mawk and perl on generated logs.

local H = require "spec.helpers"
local q = H.shell_quote

local TOME = H.tome_bin()
local sh = H.sh
local have = H.have

-- errors start with argv[0]: read it as "tome"
local function tome(args, input)
  local out, err, code = sh(q(TOME) .. " " .. args, input)
  local p = TOME:gsub("%p", "%%%0")
  return out, (err:gsub("^" .. p .. ": ", "tome: ")), code
end

local function ok(args, input)
  local out, err, code = tome(args, input)
  assert.are.equal("", err)
  assert.are.equal(0, code)
  return out
end

-- a small access log: every field an awk user would reach for
local function make_log(r, n)
  local paths = { "/", "/index.html", "/api/v1/items", "/static/app.js",
                  "/admin/debug", "/search?q=x" }
  local agents = { "curl/8.0", "Mozilla/5.0 (X11; Linux)", "Googlebot/2.1" }
  local t = {}
  for i = 1, n do
    local fmt = '%d.%d.%d.%d - - [10/Oct/2026:00:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d "-" "%s"'
    t[i] = fmt:format(
      r:int(1, 9), r:int(0, 3), r:int(0, 2), r:int(1, 5), i // 60 % 60, i % 60,
      r:chance(0.7) and "GET" or "POST", paths[r:int(1, #paths)],
      ({ 200, 200, 200, 304, 404, 500, 503 })[r:int(1, 7)], r:int(0, 99999),
      agents[r:int(1, #agents)])
  end
  return table.concat(t, "\n") .. "\n"
end

describe("one-liners", function()
  after_each(H.cleanup)

  describe("an expression prints the records where it is true", function()
    it("as an awk pattern does", function()
      local f = H.tmpfile("GET /a\nPOST /b\nGET /c\nput\n")
      assert.are.equal("GET /a\nGET /c\n", ok("-n 'line:find\"GET\"' " .. q(f)))
      assert.are.equal("POST /b\n", ok("-n 'NR == 2' " .. q(f)))
      assert.are.equal("GET /c\n", ok("-n 'line:match(\"/(c)\")' " .. q(f)))
      assert.are.equal("", ok("-n 'nil' " .. q(f)))
      assert.are.equal("", ok("-n 'false' " .. q(f)))
      assert.are.equal("put\n", ok("-n 'NR > 3 and 0' " .. q(f)))  -- 0 is true
      assert.are.equal("POST /b\n", ok("-F ' ' -n 'F[1] == \"POST\"' " .. q(f)))
    end)

    it("but a call that returns a file or nothing prints once", function()
      local f = H.tmpfile("a\nb\n")
      assert.are.equal("a\nb\n", ok("-n 'io.write(line, \"\\n\")' " .. q(f)))
      assert.are.equal("a\nb\n", ok("-n 'print(line)' " .. q(f)))
      assert.are.equal("a\nb\n", ok("-n 'io.stdout:write(line, \"\\n\")' " .. q(f)))
    end)

    it("ends every printed record, even the last unended one", function()
      assert.are.equal("ab\ncd\n", ok("-n 'true'", "ab\ncd"))
      if have("mawk") then
        assert.are.equal(sh("printf 'ab\\ncd' | mawk 1"), ok("-n 'true'", "ab\ncd"))
      end
    end)
  end)

  describe("errors", function()
    it("name the file, the line number and the chunk's position", function()
      local f = H.tmpfile("a\nb\nc\n")
      local _, err, code = tome("-n 'if NR == 3 then local x; x() end' " .. q(f))
      assert.are.equal(1, code)
      assert.are.equal("tome: " .. f .. ":3: (command line):1: attempt to call a nil value " ..
                       "(local 'x')", err:match("^[^\n]*"))
      assert.matches("\nstack traceback:\n", err)
      _, err = tome("-n 'if FNR == 2 then error(\"bad\") end'", "x\ny\n")
      assert.are.equal("tome: stdin:2: (command line):1: bad", err:match("^[^\n]*"))
      -- paragraphs and CSV records report the line they start on
      _, err = tome("--rs '' -n 'if NR == 2 then error(\"p\") end'", "\n\na\nb\n\n\nc\nd\n")
      assert.are.equal("tome: stdin:7: (command line):1: p", err:match("^[^\n]*"))
      _, err = tome("-F csv -n 'if NR == 3 then error(F[1]) end'", 'a\n"b\nb",1\nc,2\n')
      assert.are.equal("tome: stdin:4: (command line):1: c", err:match("^[^\n]*"))
      -- a multi-line chunk: the line within the chunk
      _, err = tome("-n 'local y = 1\nif NR == 2 then y = y + {} end' " .. q(f))
      assert.matches("^tome: " .. f:gsub("%p", "%%%0") .. ":2: %(command line%):2: attempt to " ..
                     "perform arithmetic on a table value", err)
      -- --begin and --end have no record
      _, err = tome("--end 'error(\"e\")' -n '' " .. q(f))
      assert.are.equal("tome: (--end):1: e", err:match("^[^\n]*"))
    end)

    it("reports JSON that does not decode at its line", function()
      local _, err, code = tome("-F json -n 'print(F.a)'", '{"a":1}\n{"a":\n')
      assert.are.equal(1, code)
      assert.matches("^tome: stdin:2: ", err)
    end)
  end)

  describe("-F", function()
    it("a plain separator; one character is always plain", function()
      assert.are.equal("3\ta|b\n", ok("-F '|' -n 'print(NF, F[1] .. \"|\" .. F[2])'", "a|b|c\n"))
      assert.are.equal("2\tb\n", ok("-F . -n 'print(NF, F[2])'", "a.b\n"))
      assert.are.equal("3\t\n", ok("-F '::' -n 'print(NF, F[2])'", "a::::c\n"))
    end)

    it("a Lua pattern when it has specials", function()
      assert.are.equal("4\ta b c d\n",
        ok("-F '[,;]' -n 'print(NF, table.concat(F, \" \"))'", "a,b;c,d\n"))
      assert.are.equal("3\tx y z\n",
        ok("-F '%s*=%s*' -n 'print(NF, table.concat(F, \" \"))'", "x = y=  z\n"))
      if have("gawk") then   -- a regex FS, as awk splits on it
        local input = "1, 2;3 ,, 4\n;a;\n\n"
        local want = sh("gawk -F '[,;]' '{ s = \"\"; for (i = 1; i <= NF; i++) " ..
                        "s = s \"<\" $i \">\"; print NF, s }'",
                        input)
        local got = ok("-F '[,;]' -n 'local s = \"\" " ..
                       "for i = 1, NF do s = s .. \"<\" .. F[i] .. \">\" end " ..
                       "print(NF .. \" \" .. s)'", input)
        assert.are.equal(want, got)
      end
    end)

    it("csv and tsv read RFC 4180 records", function()
      local input = 'id,name,note\r\n1,"Smith, J.","said ""hi""\nthen left"\r\n2,,x\r\n'
      local out = ok("-F csv -n 'print(NR, NF, F[2], F[3])'", input)
      assert.are.equal('1\t3\tname\tnote\n2\t3\tSmith, J.\tsaid "hi"\nthen left\n3\t3\t\tx\n', out)
      out = ok("-F tsv -n 'print(NF, F[2])'", 'a\t"b\tc"\td\n')
      assert.are.equal("3\tb\tc\n", out)
      local _, err, code = tome("-F csv -n 'print(F[1])'", 'a\n"open,\n')
      assert.are.equal(1, code)
      assert.matches("^tome: stdin:2: unterminated quoted field", err)
    end)

    it("json decodes each line into F", function()
      -- (lua-cjson makes every number a float)
      local out = ok("-F json -n 'print(F.name, F.n + 1, NF)'",
                     '{"name":"a","n":1}\n{"name":"b","n":41.5}\n')
      assert.are.equal("a\t2.0\t0\nb\t42.5\t0\n", out)
      out = ok("-F json -n 'print(NF, F[3])'", '[1,2,"x"]\n')
      assert.are.equal("3\tx\n", out)
    end)

    it("F is reused only when the chunk reads literal fields", function()
      -- a chunk that keeps F gets a fresh table per record
      local out = ok("--begin 't = {}' -n 't[NR] = F' --end 'print(t[1][1], t[2][1], #t[1])'",
                     "a b\nc d e\n")
      assert.are.equal("a\tc\t2\n", out)
      -- literal indexes, missing fields are nil, a field past NF too
      out = ok("-n 'print(F[2], F[3], F[10])'", "a b c\nd\n")
      assert.are.equal("b\tc\tnil\nnil\tnil\tnil\n", out)
    end)
  end)

  describe("--header", function()
    it("names the fields from each file's first record, which is not run", function()
      local a = H.tmpfile("id,total\n1,10\n2,32\n")
      local b = H.tmpfile("total,id\n5,3\n")
      local out = ok("-F , --header -n 'print(FNR, NR, F.id, F.total, F[1])' " ..
                     q(a) .. " " .. q(b))
      assert.are.equal("1\t1\t1\t10\t1\n2\t2\t2\t32\t2\n1\t3\t3\t5\t5\n", out)
      out = ok("-F csv --header --begin 's = 0' -n 's = s + F.total' --end 'print(s)' " .. q(a))
      assert.are.equal("42\n", out)
      -- the whole table has both
      out = ok("-F csv --header -n 'local t = F print(t.id, t[2], #t)' " .. q(a))
      assert.are.equal("1\t10\t2\n2\t32\t2\n", out)
      -- -p keeps the header in the output
      out = ok("-F , --header -p 'line = F.total' " .. q(a))
      assert.are.equal("id,total\n10\n32\n", out)
    end)
  end)

  describe("record separators", function()
    it("-0 reads NUL-ended records, as find -print0 writes them", function()
      local out = ok("-0 -n 'io.write(NR, \":\", line, \"\\n\")'", "a b\0c\nd\0e")
      assert.are.equal("1:a b\n2:c\nd\n3:e\n", out)
      assert.are.equal("A B\0C\nD\0E", ok("-0 -p 'line = line:upper()'", "a b\0c\nd\0e"))
      if have("find") and have("xargs") then
        local dir = H.tmpname()
        os.execute("mkdir -p " .. q(dir .. "/x y") .. " && touch " .. q(dir .. "/x y/f 1"))
        local got = sh("find " .. q(dir) .. " -print0 | " .. q(TOME) .. " -0 -n 'line:find\"f 1\"'")
        assert.are.equal(dir .. "/x y/f 1\0", got)
      end
    end)

    it("--rs takes any separator, and '' means paragraphs", function()
      assert.are.equal("a|b|c|\n",
                       ok("--rs ';;' -n 'io.write(line, \"|\")' --end 'print()'", "a;;b;;c"))
      local input = "\n\npara one\nline two\n\n\n\npara two\n\nthree\n\n"
      local out = ok("--rs '' -n 'print(NR .. \"[\" .. line .. \"]\" .. NF)'", input)
      assert.are.equal("1[para one\nline two]4\n2[para two]2\n3[three]1\n", out)
      if have("mawk") then
        local awk = sh("mawk 'BEGIN { RS = \"\" } { print NR \"[\" $0 \"]\" NF }'", input)
        assert.are.equal(awk, out)
      end
      -- -p gives the separators back as they were
      assert.are.equal(input:gsub("^\n+", ""), ok("--rs '' -p ''", input))
    end)
  end)

  describe("-p", function()
    it("never adds a final newline the input did not have, as perl -p", function()
      for _, input in ipairs { "a\nb", "a\nb\n", "", "\n", "x" } do
        local out = ok("-p 'line = line .. \"!\"'", input)
        if have("perl") then
          assert.are.equal(sh("perl -pe 's/$/!/'", input), out)
        end
        assert.are.equal((input:gsub("\n", "!\n"):gsub("([^\n])$", "%1!")), out)
      end
    end)
  end)

  describe("--in-place", function()
    it("replaces each file by the output, with an optional backup", function()
      local a = H.tmpfile("one\ntwo\n")
      local b = H.tmpfile("three")
      assert.are.equal("", ok("--in-place -p 'line = line:upper()' " .. q(a) .. " " .. q(b)))
      assert.are.equal("ONE\nTWO\n", H.readfile(a))
      assert.are.equal("THREE", H.readfile(b))
      ok("--in-place=.bak -p 'line = NR .. line' " .. q(a))
      assert.are.equal("1ONE\n2TWO\n", H.readfile(a))
      assert.are.equal("ONE\nTWO\n", H.readfile(a .. ".bak"))
      os.remove(a .. ".bak")
      -- with -n only what the chunk prints (print and io.write) is kept;
      -- --begin and --end still write to standard output
      local out = ok("--in-place --begin 'print(\"begin\")' -n 'if NR == 2 then print(line) " ..
                     "io.write(\"w\\n\") end' --end 'print(\"end\")' " .. q(a))
      assert.are.equal("begin\nend\n", out)
      assert.are.equal("2TWO\nw\n", H.readfile(a))
    end)

    it("keeps the backup of what a link points to", function()
      local dir = H.tmpname()
      os.execute("mkdir " .. q(dir))
      local f = assert(io.open(dir .. "/t", "w"))
      f:write("old\n")
      f:close()
      os.execute("ln -s t " .. q(dir .. "/l") .. " && chmod 640 " .. q(dir .. "/t"))
      ok("--in-place=.bak -p 'line = \"new\"' " .. q(dir .. "/l"))
      assert.are.equal("new\n", H.readfile(dir .. "/l"))
      assert.are.equal("new\n", H.readfile(dir .. "/t"))
      assert.are.equal("old\n", H.readfile(dir .. "/l.bak"))
      -- a second run replaces the old backup
      ok("--in-place=.bak -p 'line = line .. \"2\"' " .. q(dir .. "/l"))
      assert.are.equal("new\n", H.readfile(dir .. "/l.bak"))
      assert.are.equal("new2\n", H.readfile(dir .. "/t"))
    end)

    it("leaves the file as it was when the chunk fails, and refuses stdin", function()
      local dir = H.tmpname()
      os.execute("mkdir " .. q(dir))
      local a = dir .. "/f"
      local fh = assert(io.open(a, "w"))
      fh:write("x\ny\n")
      fh:close()
      local before = sh("ls -a " .. q(dir))
      local _, err, code = tome("--in-place -p 'if NR == 2 then error(\"no\") end' " .. q(a))
      assert.are.equal(1, code)
      assert.matches(":2: %(command line%):1: no", err)
      assert.are.equal("x\ny\n", H.readfile(a))
      assert.are.equal(before, sh("ls -a " .. q(dir)))
      _, err, code = tome("--in-place -p ''", "a\n")
      assert.are.equal(1, code)
      assert.matches("needs files", err)
      _, err, code = tome("--in-place -p '' /nonexistent/f " .. q(a))
      assert.are_not.equal(0, code)
      assert.matches("/nonexistent/f: No such file or directory", err)
      assert.are.equal("x\ny\n", H.readfile(a))
    end)
  end)

  describe("inputs", function()
    it("reads plain, gzip, zstd, xz and bzip2 files alike (FILE, FNR, NR)", function()
      local plain = H.tmpfile("p1\np2\n")
      local files, want = { plain }, { ("1 1 %s p1"):format(plain), ("2 2 %s p2"):format(plain) }
      local nr = 2
      for _, z in ipairs { { "gzip", ".gz" }, { "zstd", ".zst" }, { "xz", ".xz" },
                           { "bzip2", ".bz2" } } do
        if have(z[1]) then
          local src = H.tmpfile(z[1] .. " a\n" .. z[1] .. " b")   -- no final newline
          local dst = H.tmpname(z[2])
          os.execute(z[1] .. " -c < " .. q(src) .. " > " .. q(dst))
          files[#files + 1] = dst
          want[#want + 1] = ("%d 1 %s %s a"):format(nr + 1, dst, z[1])
          want[#want + 1] = ("%d 2 %s %s b"):format(nr + 2, dst, z[1])
          nr = nr + 2
        end
      end
      local args = {}
      for i, f in ipairs(files) do args[i] = q(f) end
      local out = ok("-n 'print(NR .. \" \" .. FNR .. \" \" .. FILE .. \" \" .. line)' " ..
                     table.concat(args, " "))
      assert.are.equal(table.concat(want, "\n") .. "\n", out)
      if have("gzip") then      -- and from a pipe, and through -p
        out = sh("printf 'x\\ny' | gzip -c | " .. q(TOME) .. " -p 'line = line .. \"!\"'")
        assert.are.equal("x!\ny!", out)
        local _, err, code = tome("-n 'print(line)' " .. q(H.tmpfile("\31\139\8\0garbage")))
        assert.are_not.equal(0, code)
        assert.matches("^tome: [^\n]+", err)
      end
    end)
  end)

  describe("variables", function()
    it("are globals for functions defined elsewhere, and stay after the loop", function()
      local f = H.tmpfile("a b\nc d\n")
      local out = ok("-e 'function show() return NR .. \":\" .. line .. \":\" .. F[2] end' " ..
                     "-n 'print(show())' " .. q(f))
      assert.are.equal("1:a b:b\n2:c d:d\n", out)
      out = ok("-e 'function up() line = line:upper() end' -p 'up()' " .. q(f))
      assert.are.equal("A B\nC D\n", out)
      out = ok("-n '' --end 'print(NR, FNR, FILE == arg[1])' " .. q(f))
      assert.are.equal("2\t2\ttrue\n", out)
      -- an undefined global still reads as nil, and can be set
      out = ok("-n 'c = (c or 0) + 1' --end 'print(c, undefined_one)' " .. q(f))
      assert.are.equal("2\tnil\n", out)
    end)

    it("print goes through the loop's buffer but lines still arrive as they come", function()
      -- the second line is written 1.5 s after the first: the first must
      -- be out long before
      local out = sh("(echo a; sleep 1.5; echo b) | " .. q(TOME) .. " -n 'print(line)' | " ..
        "{ read x; t1=$(date +%s%N); read y; t2=$(date +%s%N); " ..
        "echo $x$y $(( (t2 - t1) / 1000000 )); }")
      local xy, ms = out:match("^(%S+) (%d+)")
      assert.are.equal("ab", xy)
      assert.is_true(tonumber(ms) > 700, "the first line came late: " .. out)
      out = sh("(echo a; sleep 1.5; echo b) | " .. q(TOME) .. " -p '' | " ..
        "{ read x; t1=$(date +%s%N); read y; t2=$(date +%s%N); echo $(( (t2 - t1) / 1000000 )); }")
      assert.is_true(tonumber(out) > 700, "the first line came late: " .. out)
    end)
  end)

  describe("the prefilter and the string methods", function()
    -- the same chunk written so that the prefilter cannot recognise it
    -- (parentheses around line) must give the same output
    local chunks = {
      { "-n", 'line:find"GET"', '(line):find"GET"' },
      { "-n", 'line:find("/admin/debug", 1, true)', '(line):find("/admin/debug", 1, true)' },
      { "-n", 'line:match"\\" 5%d%d "', '(line):match"\\" 5%d%d "' },
      { "-n", 'if line:find"Googlebot" then n = (n or 0) + 1 end',
        'if (line):find"Googlebot" then n = (n or 0) + 1 end',
        "--end 'print(n, NR)'" },
      { "-n", 'if line:find("POST", 1, true) then print(NR, F[1]) end',
        'if (line):find("POST", 1, true) then print(NR, F[1]) end' },
      { "-p", 'if line:find"zz" then line = "x" end', 'if (line):find"zz" then line = "x" end' },
      { "-p", 'if line:find"404" then line = line:upper() end',
        'if (line):find"404" then line = line:upper() end' },
      -- literals with escapes: their values, as Lua reads them
      { "-n", 'if line:find("\\" 5%d%d ") then n = (n or 0) + 1 end',
        'if (line):find("\\" 5%d%d ") then n = (n or 0) + 1 end',
        "--end 'print(n, NR)'" },
      { "-n", 'line:find("\\x47ET /", 1, true)', '(line):find("\\x47ET /", 1, true)' },
      { "-n", 'line:find("\\71ET")', '(line):find("\\71ET")' },
      { "-n", 'line:find"\\""', '(line):find"\\""' },
      { "-n", 'line:find("G\\z  ET")', '(line):find("G\\z  ET")' },
    }
    it("skips records without the literal and counts them all", function()
      local log = H.tmpfile(make_log(H.rng("prefilter"), 3000) .. "last GET line")
      for _, c in ipairs(chunks) do
        local extra = c[4] or ""
        local fast = ok(c[1] .. " " .. q(c[2]) .. " " .. extra .. " " .. q(log))
        local slow = ok(c[1] .. " " .. q(c[3]) .. " " .. extra .. " " .. q(log))
        assert.are.equal(slow, fast, c[2])
      end
    end)

    it("line:find, match and gsub give what string.find, match and gsub give", function()
      local r = H.rng("loopstrings")
      local pats = { "%d+", "(%a+)=(%d*)", "^%s*(.-)%s*$", "[aeiou]", "()x()", "a-b",
                     "%f[%w]%w+", "(h)(.)%2", "", "x*", "[^%s]+$", "%b()" }
      local lines = {}
      for i = 1, 300 do
        local t = {}
        for k = 1, r:int(0, 30) do
          t[k] = string.char(({ 97, 98, 120, 104, 61, 32, 40, 41, 49, 50, 101 })[r:int(1, 11)])
        end
        lines[i] = table.concat(t)
      end
      local f = H.tmpfile(table.concat(lines, "\n") .. "\n")
      for _, p in ipairs(pats) do
        local code = ([[
          local p = %q
          local function show(...) local t = table.pack(...)
            for i = 1, t.n do t[i] = tostring(t[i]) end
            return table.concat(t, ",") end
          io.write(show(line:find(p)), "|", show(string.find(line, p)), "\n")
          io.write(show(line:find(p, 3)), "|", show(string.find(line, p, 3)), "\n")
          io.write(show(line:match(p)), "|", show(string.match(line, p)), "\n")
          io.write(show(line:gsub(p, "<%%0>")), "|", show(string.gsub(line, p, "<%%0>")), "\n")
          io.write(show(line:gsub(p, string.upper, 2)), "|",
                   show(string.gsub(line, p, string.upper, 2)), "\n")
        ]]):format(p)
        local out = ok("-n " .. q(code) .. " " .. q(f))
        for l in out:gmatch("[^\n]+") do
          local a, b = l:match("^(.-)|(.*)$")
          assert.are.equal(b, a, p)
        end
      end
      -- errors read as the string library's
      local _, err = tome("-n 'line:find(\"(\")'", "x\n")
      assert.matches("unfinished capture", err)
      _, err = tome("-n 'line:gsub(\"%\", \"\")'", "x\n")
      assert.matches("malformed pattern %(ends with '%%'%)", err)
      _, err = tome("-n 'line:gsub(\"x\", true)'", "x\n")
      assert.matches("bad argument #2 to 'gsub' %(string/function/table expected, " ..
                     "got boolean%)", err)
      -- and the string table is put back after the loop (-i: the REPL
      -- then runs), with the loop's variables as plain globals
      local out = ok("-e '_PROMPT = \"\"' -i -n 'x = line' " .. q(f),
        "print(('').find == string.find, getmetatable(_G), NR, rawget(_G, 'FNR'), line == x)\n")
      assert.matches("true\tnil\t300\t300\ttrue\n", out)
    end)
  end)

  describe("-p 'line = line:gsub(PAT, REPL)' in C", function()
    -- the records of text through f, as -p writes them (the last one
    -- without a newline keeps none)
    local function each_record(text, f)
      local out, pos = {}, 1
      while pos <= #text do
        local e = text:find("\n", pos, true)
        out[#out + 1] = f(text:sub(pos, (e or #text + 1) - 1)) .. (e and "\n" or "")
        pos = (e or #text) + 1
      end
      return table.concat(out)
    end
    local function random_text(r, n)
      local t = {}
      for i = 1, n do
        local k = r:int(1, 10)
        if k == 1 then t[i] = ""
        elseif k <= 3 then t[i] = r:from("abx HTTP/1.2 ", r:int(0, 12)) .. "HTTP/1.1" ..
                                 r:from("x()%.\r ", r:int(0, 6))
        else t[i] = r:from("HTTP/1.2 abx()%.\r\0", r:int(0, 40)) end
        if r:chance(0.2) then t[i] = t[i] .. "\r" end         -- CRLF
      end
      return table.concat(t, "\n")
    end
    local function chunk(p, r) return ("line = line:gsub(%q, %q)"):format(p, r) end
    -- the same, written so that it is not recognised: the general way
    local function slow(p, r) return "local _ = 0 " .. chunk(p, r) end
    local pairs_ = {
      { "HTTP/[%d.]+", "HTTP" }, { "%d+", "<%0>" }, { "^H", "^" }, { "x$", "$" },
      { "^", ">" }, { "$", "<" }, { "(%d)(%.?)", "%2%1" }, { ".", "%%" },
      { "()x()", "%1-%2" }, { "", "-" }, { "x*", "[%0]" }, { "%f[%w]%w+", "(%1)" },
      { "%b()", "B" }, { "[%]x]", "!" }, { "%s+$", "" }, { "\r$", "" },
      { "[^%d]+", "%0%0" }, { "a-b", "_" }, { "T?P", "%1" }, { "(H)(T+)", "%2%1%0" },
      { "%%", "pct" }, { "\0", "NUL" }, { "HTTP", "%1%1" }, { "^(H)(.-)(%d)$", "%3%2%1" },
      { "[%a]+", "" }, { "(h)(.)%2", "b" }, { "1.1", "" },
    }

    it("gives what string.gsub gives, the general way's output", function()
      local r = H.rng("gsubfast")
      local texts = { random_text(r, 400), random_text(r, 400) .. "\n", "", "\n",
                      "HTTP/1.1", "x\r\n\r\nHTTP/2.0\n" }
      for ti, text in ipairs(texts) do
        local f = H.tmpfile(text)
        for _, pr in ipairs(pairs_) do
          local p, rp = pr[1], pr[2]
          local want = each_record(text, function(l) return (l:gsub(p, rp)) end)
          local what = ("text %d, %q -> %q"):format(ti, p, rp)
          assert.are.equal(want, ok("-p " .. q(chunk(p, rp)) .. " " .. q(f)), what)
          assert.are.equal(want, ok("-p " .. q(slow(p, rp)) .. " " .. q(f)), what)
        end
      end
    end)

    it("over records that cross the reads (a file of 1 MB)", function()
      local r = H.rng("gsubfastbig")
      local text = random_text(r, 50000)
      local f = H.tmpfile(text)
      for _, pr in ipairs { { "HTTP/[%d.]+", "HTTP" }, { "(%d)%.(%d)", "%2,%1" }, { "x", "yy" } } do
        local p, rp = pr[1], pr[2]
        local want = each_record(text, function(l) return (l:gsub(p, rp)) end)
        assert.are.equal(want, ok("-p " .. q(chunk(p, rp)) .. " " .. q(f)), p)
      end
      -- and over files read into the same buffer
      local f1, f2 = H.tmpfile("abcdefghij\n"), H.tmpfile("HTTP/1.1 x\n")
      assert.are.equal("abcdefghij\nHTTP x\nabcdefghij\n",
        ok("-p " .. q(chunk("HTTP/[%d.]+", "HTTP")) .. " " .. q(f1) .. " " .. q(f2) ..
           " " .. q(f1)))
    end)

    it("leaves line, NR and FILE as the chunk leaves them, for --end", function()
      local f1 = H.tmpfile("HTTP/1.1 a\nHTTP/2 b\n")
      local f2 = H.tmpfile("c HTTP/1.0\nd HTTP/9.9")
      local e = "--end 'print(line, NR, FNR, FILE == " .. ("%q"):format(f2) .. ")' "
      local c = '"HTTP/[%d.]+", "H"'
      local want = "H a\nH b\nc H\nd H" .. "d H\t4\t2\ttrue\n"
      assert.are.equal(want,
        ok("-p 'line = line:gsub(" .. c .. ")' " .. e .. q(f1) .. " " .. q(f2)))
      assert.are.equal(want, ok("-p 'local _ line = line:gsub(" .. c .. ")' " .. e ..
                                q(f1) .. " " .. q(f2)))
      -- an empty last file keeps the line of the one before
      local f3 = H.tmpfile("")
      assert.are.equal("H a\nH b\nH b\t2\n",
        ok("-p 'line = line:gsub(" .. c .. ")' --end 'print(line, NR)' " .. q(f1) .. " " .. q(f3)))
      -- a function of -e reads the global line at the end
      assert.are.equal("H a\nH b\nH b\n",
        ok("-e 'function show() print(line) end' -p 'line = line:gsub(" .. c .. ")' " ..
           "--end 'show()' " .. q(f1)))
      -- --end reading F: the fields of the last record (the general way)
      assert.are.equal("H a\nH b\nb\n",
        ok("-p 'line = line:gsub(" .. c .. ")' --end 'print(F[2])' " .. q(f1)))
    end)

    it("chunks of another shape, or a replaced gsub, run as written", function()
      local text = "a1b22\nHTTP/1.1 x\n\n333\nlast 4"
      local f = H.tmpfile(text)
      local function each(fn) return each_record(text, fn) end
      assert.are.equal(each(function(l) return (l:gsub("%d", "N", 1)) end),
        ok("-p 'line = line:gsub(\"%d\", \"N\", 1)' " .. q(f)))
      assert.are.equal(each(function(l) return (l:gsub("%d+", function(d) return #d end)) end),
        ok("-p 'line = line:gsub(\"%d+\", function(d) return #d end)' " .. q(f)))
      assert.are.equal(text, ok("-p 'x = line:gsub(\"%d\", \"N\")' " .. q(f)))
      local nr = 0
      assert.are.equal(each(function(l) nr = nr + 1; return nr .. "\n" .. (l:gsub("%d", "N")) end),
        ok("-p 'line = line:gsub(\"%d\", \"N\") print(NR)' " .. q(f)))
      for _, c in ipairs { "line = line:gsub(\"%d\", \"N\");", "line=line:gsub('%d','N')",
                           " line = line:gsub( \"%d\" , \"N\" ) ; ",
                           "line = line:gsub(\"%d\", \"N\") --[[c]]",
                           "line = line:gsub(\"%\\100\", \"\\78\")" } do
        assert.are.equal(each(function(l) return (l:gsub("%d", "N")) end),
          ok("-p " .. q(c) .. " " .. q(f)), c)
      end
      -- --begin replaces the loop's gsub: that one runs
      assert.are.equal(each(function() return "Z" end),
        ok("--begin 'getmetatable(\"\").__index.gsub = function() return \"Z\" end' " ..
           "-p 'line = line:gsub(\"%d\", \"N\")' " .. q(f)))
      -- --in-place
      local g = H.tmpfile(text)
      ok("--in-place -p 'line = line:gsub(\"(%d)\", \"<%1>\")' " .. q(g))
      assert.are.equal(each(function(l) return (l:gsub("(%d)", "<%1>")) end), H.readfile(g))
    end)

    it("patterns and replacements that raise raise as string.gsub does", function()
      local f = H.tmpfile("ab\nx [y\n")
      for _, pr in ipairs { { "%", "" }, { "[x", "" }, { "x", "%2" }, { "x", "%z" },
                            { "x", "%" }, { "(x", "%1" }, { "x)", "" }, { "%b", "" },
                            { "%fx", "" }, { "(.)%2", "" } } do
        local _, err1, code1 = tome("-p " .. q(chunk(pr[1], pr[2])) .. " " .. q(f))
        local _, err2, code2 = tome("-p " .. q(slow(pr[1], pr[2])) .. " " .. q(f))
        local want = select(2, pcall(string.gsub, "x [y", pr[1], pr[2]))
        assert.are.equal(1, code1, pr[1])
        assert.are.equal(code2, code1, pr[1])
        assert.are.equal(err2, err1, pr[1])
        assert.matches(f .. ":", err1, 1, true)
        assert.matches(tostring(want):gsub("^.-: ", ""), err1, 1, true)
      end
    end)
  end)

  describe("the same answers as mawk and perl", function()
    local cases = {
      { "count lines matching a literal",
        "--begin n=0 -n 'if line:find(\"Googlebot\", 1, true) then n = n + 1 end' " ..
        "--end 'print(n)' FILE",
        "mawk '/Googlebot/ { n++ } END { print n + 0 }' FILE" },
      { "sum a column", "--begin s=0 -n 's = s + F[10]' --end 'print(s)' FILE",
        "mawk '{ s += $10 } END { print s }' FILE" },
      { "print a field of matching lines",
        "-n 'if line:find(\"POST\", 1, true) then print(F[1]) end' FILE",
        "mawk '/POST/ { print $1 }' FILE" },
      { "lines between two times",
        "-n 'F[4] >= \"[10/Oct/2026:00:10:00\" and F[4] < \"[10/Oct/2026:00:20:00\"' FILE",
        "mawk '$4 >= \"[10/Oct/2026:00:10:00\" && $4 < \"[10/Oct/2026:00:20:00\"' FILE" },
      { "top values of a field",
        "-n 'c = c or {}; c[F[9]] = (c[F[9]] or 0) + 1' " ..
        "--end 'for k, v in pairs(c) do print(v, k) end' FILE | sort",
        "mawk '{ c[$9]++ } END { for (k in c) print c[k] \"\\t\" k }' FILE | sort" },
      { "an expression as a pattern", "-n 'F[9] == \"404\"' FILE", "mawk '$9 == \"404\"' FILE" },
      { "a pattern with captures", "-n 'local a, b = line:match(\"^(%S+).-\\\" (%d+)\") " ..
        "if b == \"500\" then print(a) end' FILE",
        "mawk '$9 == 500 { print $1 }' FILE" },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        if not have("mawk") then pending("mawk is not installed") return end
        local log = q(H.tmpfile(make_log(H.rng(c[1]), 2000)))
        local want = sh((c[3]:gsub("FILE", log)))
        local got = sh(q(TOME) .. " " .. c[2]:gsub("FILE", log))
        assert.are.equal(want, got)
        assert.are_not.equal("", want)
      end)
    end

    it("-p with a gsub as sed -E and perl -pe", function()
      local log = H.tmpfile(make_log(H.rng("gsub"), 2000) .. "no newline HTTP/1.0")
      local got = sh(q(TOME) .. " -p 'line = line:gsub(\"HTTP/[%d.]+\", \"HTTP\")' " .. q(log))
      if have("sed") then
        assert.are.equal(sh("sed -E 's#HTTP/[0-9.]+#HTTP#g' " .. q(log)), got)
      end
      if have("perl") then
        assert.are.equal(sh("perl -pe 's#HTTP/[0-9.]+#HTTP#g' " .. q(log)), got)
      end
    end)
  end)
end)
