-- spec/job_spec.lua -- tome.job and the shard protocol: the same job file
-- run plainly, with 1 and 2 workers, and as N = 1..8 shards under
-- `xargs -P` (the README's recipe) gives byte-identical output, equal to
-- a model computed with the string library; the edge cases of the
-- ranges; and every way --reduce refuses parts (missing, duplicated,
-- stale, corrupt, from two runs, with a gap or an overlap).
local H = require "spec.helpers"
local tome = require "tome"

local q = H.shell_quote
local TOME = H.tome_bin()

-- {====== jobs, data and models ======

-- Counts lines by their first word, plus the totals of lines and bytes:
-- a result that any split into chunks or shards must give exactly.
local HIST = [[
local W = math.tointeger(tonumber(os.getenv("JOB_WORKERS") or ""))
return tome.job{
  workers = W,
  sep = os.getenv("JOB_SEP"),
  map = function(v, a)
    local t = { ["#lines"] = 0, ["#bytes"] = 0 }
    local it = a.sep and v:split(a.sep) or v:lines()
    for line in it do
      if line ~= "" or not a.sep then   -- split: a chunk's last field is empty
        local k = line:match("^%S*")
        t[k] = (t[k] or 0) + 1
        t["#lines"] = t["#lines"] + 1
        t["#bytes"] = t["#bytes"] + #line
      end
    end
    return t
  end,
  arg = { sep = os.getenv("JOB_SEP") },
  reduce = function(a, b)
    for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
    return a
  end,
  finish = function(t)
    t = t or {}
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do print(k, t[k]) end
  end,
}
]]

-- Prints the lines that contain "k1" (through print, io.write,
-- io.stdout, io.output() and tome.stdout in turn) and counts them.
local PRINT = [[
return tome.job{
  workers = math.tointeger(tonumber(os.getenv("JOB_WORKERS") or "")),
  map = function(v, a)
    local n = 0
    for line in v:lines() do
      if line:find(a.want, 1, true) then
        n = n + 1
        local k = n % 5
        if k == 0 then print(line)
        elseif k == 1 then io.write(line, "\n")
        elseif k == 2 then io.stdout:write(line, "\n")
        elseif k == 3 then io.output():write(line, "\n")
        else tome.stdout:write(v:view(1, 0), line, "\n") end
      end
    end
    return n
  end,
  arg = { want = "k1" },
  reduce = function(a, b) return a + b end,
  finish = function(n) print("matched", n) end,
}
]]

-- What HIST prints for these file contents (records split per file, as
-- io.lines splits them, or at a plain separator).
local function hist_model(contents, sep)
  local t, any = { ["#lines"] = 0, ["#bytes"] = 0 }, false
  for _, s in ipairs(contents) do
    local recs = {}
    if sep then   -- the job skips empty records there
      for _, f in ipairs(H.split_model(s, sep)) do
        if f[1] ~= "" then recs[#recs + 1] = f[1] end
      end
    else
      for _, l in ipairs(H.lines_model(s, false, 1)) do recs[#recs + 1] = l[1] end
    end
    for _, r in ipairs(recs) do
      any = true
      local k = r:match("^%S*")
      t[k] = (t[k] or 0) + 1
      t["#lines"] = t["#lines"] + 1
      t["#bytes"] = t["#bytes"] + #r
    end
  end
  local keys, out = {}, {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = k .. "\t" .. t[k] .. "\n" end
  -- a job over nothing has no chunk, so finish gets nil and prints nothing
  if not any and #table.concat(contents) == 0 then return "" end
  return table.concat(out)
end

local function print_model(contents)
  local out, n = {}, 0
  for _, s in ipairs(contents) do
    for _, l in ipairs(H.lines_model(s, false, 1)) do
      if l[1]:find("k1", 1, true) then
        n = n + 1
        out[#out + 1] = l[1] .. "\n"
      end
    end
  end
  -- no chunk at all: the fold is nil
  local total = #table.concat(contents) == 0 and "nil" or tostring(n)
  return table.concat(out) .. "matched\t" .. total .. "\n"
end

-- n random lines "kD payload" (D a digit), lengths up to 'maxlen'
local function random_lines(r, n, maxlen)
  local t = {}
  for i = 1, n do
    t[i] = ("k%d %s"):format(r:int(0, 9), r:from("abc xyz\r", r:int(0, maxlen)))
  end
  return table.concat(t, "\n") .. "\n"
end

local function script(text)
  local p = H.tmpname(".lua")
  local f = assert(io.open(p, "wb"))
  f:write(text)
  f:close()
  return p
end

local function files_of(contents)
  local paths = {}
  for i, s in ipairs(contents) do paths[i] = H.tmpfile(s) end
  return paths
end

local function args(list)
  local t = {}
  for i, x in ipairs(list) do t[i] = q(x) end
  return table.concat(t, " ")
end
-- }======

-- {====== running ======

local function run(cmd)
  local out, err, code = H.sh(cmd)
  return out, err, code
end

-- a plain run; env is a prefix such as "JOB_WORKERS=1"
local function plain(job, files, env)
  local out, err, code = run(("%s %s %s %s"):format(env or "", q(TOME),
    q(job), args(files)))
  assert(code == 0, "plain run failed: " .. err)
  return out
end

-- N shards in parallel with xargs -P, then the reduce
local function sharded(job, files, n, env)
  local dir = H.tmpname(".parts")
  env = env or ""
  local out, err, code = run(("seq 0 %d | %s xargs -P %d -I{} %s --shard {}/%d "
    .. "--partial %s %s %s && %s %s --reduce %s %s %s"):format(n - 1, env, n,
    q(TOME), n, q(dir), q(job), args(files), env, q(TOME), q(dir), q(job),
    args(files)))
  return out, err, code, dir
end

local function shard(job, files, k, n, dir, env)
  return run(("%s %s --shard %d/%d --partial %s %s %s"):format(env or "",
    q(TOME), k, n, q(dir), q(job), args(files)))
end

local function reduce(job, files, dir)
  return run(("%s --reduce %s %s %s"):format(q(TOME), q(dir), q(job),
    args(files)))
end

-- The same output everywhere: plainly (default workers, 1, 2) and as
-- N = 1..maxn shards.
local function all_agree(job, files, want, maxn, what)
  for _, env in ipairs { "", "JOB_WORKERS=1", "JOB_WORKERS=2" } do
    local got = plain(job, files, env)
    assert(got == want, ("%s, plain %s: got %q, want %q  [TOME_SEED=%d]")
      :format(what, env, got:sub(1, 300), want:sub(1, 300), H.seed))
  end
  for n = 1, maxn do
    local out, err, code = sharded(job, files, n)
    assert(code == 0, ("%s, N = %d: %s"):format(what, n, err))
    assert(out == want, ("%s, N = %d: got %q, want %q  [TOME_SEED=%d]")
      :format(what, n, out:sub(1, 300), want:sub(1, 300), H.seed))
  end
end

local function decompresses()
  local p = H.tmpname(".gz")
  if not H.have("gzip") then return false end
  os.execute(("printf 'a\\nb\\n' | gzip > %s"):format(q(p)))
  local m = tome.open(p)
  return m ~= nil and m:sub(1, -1) == "a\nb\n"
end
-- }======

describe("tome.job", function()
  after_each(H.cleanup)

  it("gives the same output plainly, on 1 and 2 workers and as 1..8 shards",
    function()
    local r = H.rng("job mixed inputs")
    local contents = {
      random_lines(r, 3000, 120),
      "",
      random_lines(r, 200, 40) .. "k1 " .. ("L"):rep(100000) .. "\n"
        .. random_lines(r, 200, 40),
      "k1 no trailing newline\nk2 x\r\nk1 last",
    }
    local files = files_of(contents)
    all_agree(script(HIST), files, hist_model(contents), 8, "histogram")
    all_agree(script(PRINT), files, print_model(contents), 8, "printing")
  end)

  it("keeps what map prints in order across rounds of a big input", function()
    -- 20 MB: several rounds of tome.parallel calls (4 MiB per worker at
    -- first); grep gives the expected lines
    local parts = {}
    for i = 1, 2000 do
      parts[i] = ("k1 %d\nk2 %s\n"):format(i, ("y"):rep(i % 50)) .. ("k3 "
        .. ("x"):rep(40) .. "\n"):rep(240)
    end
    local big = table.concat(parts)
    local f = { H.tmpfile(big) }
    local want = H.run("grep -F k1 " .. q(f[1]))
      .. ("matched\t%d\n"):format(2000)
    assert.is_true(#big > 20e6)
    local job = script(PRINT)
    assert.are.equal(want, plain(job, f, "JOB_WORKERS=1"))
    assert.are.equal(want, plain(job, f, "JOB_WORKERS=2"))
    for n = 2, 3 do
      local out, err, code = sharded(job, f, n)
      assert.are.equal(0, code, err)
      assert.are.equal(want, out)
    end
  end)

  it("takes compressed inputs among plain ones", function()
    if not decompresses() then
      pending("tome.open does not decompress yet")
      return
    end
    local r = H.rng("job compressed")
    local contents = { random_lines(r, 500, 60), random_lines(r, 800, 30),
                       "", random_lines(r, 50, 10) }
    local files = files_of(contents)
    local gz = H.tmpname(".gz")
    os.execute(("gzip -nc %s > %s"):format(q(files[2]), q(gz)))
    files[2] = gz
    all_agree(script(HIST), files, hist_model(contents), 5, "compressed")
  end)

  it("handles an empty input, more shards than records, records longer "
    .. "than a shard, no trailing newline", function()
    local hist = script(HIST)
    local cases = {
      { name = "empty", contents = { "" } },
      { name = "empty list", contents = { "", "" } },
      { name = "3 records", contents = { "k1 a\nk2 b\nk3 c\n" } },
      { name = "1 record, no newline", contents = { "k7 alone" } },
      { name = "long record", contents = {
          "k1 a\n" .. "k2 " .. ("z"):rep(200000) .. "\nk3 c\nk1 d" } },
      { name = "newlines only", contents = { ("\n"):rep(5) } },
    }
    for _, c in ipairs(cases) do
      all_agree(hist, files_of(c.contents), hist_model(c.contents), 8, c.name)
    end
  end)

  it("cuts at the job's own separator", function()
    local recs = {}
    for i = 1, 3000 do recs[i] = ("k%d rec%d\n"):format(i % 7, i) end
    local contents = { table.concat(recs, "||"), "k1 x||k2 y" }
    local files = files_of(contents)
    local want = hist_model(contents, "||")
    for n = 1, 5 do
      local out, err, code = sharded(script(HIST), files, n, "JOB_SEP='||'")
      assert.are.equal(0, code, err)
      assert.are.equal(want, out)
    end
    assert.are.equal(want, plain(script(HIST), files, "JOB_SEP='||'"))
  end)

  it("runs plainly in a Lua state as tome.parallel over the inputs, "
    .. "then finish", function()
    local r = H.rng("job in process")
    local contents = { random_lines(r, 2000, 80), "", random_lines(r, 300, 9) }
    local files = files_of(contents)
    local map = function(v)
      local n, b = 0, 0
      for l in v:lines() do n, b = n + 1, b + #l end
      return { n = n, b = b }
    end
    local red = function(a, b) return { n = a.n + b.n, b = a.b + b.b } end
    local got = tome.job { input = files, map = map, reduce = red }
    for _, w in ipairs { 1, 2 } do
      local acc
      for _, p in ipairs(files) do
        local x = tome.parallel(p, map, { workers = w, reduce = red })
        if x then acc = acc and red(acc, x) or x end
      end
      assert.are.same(acc, got)
    end
    -- finish gets the fold, and its value is returned
    assert.are.equal(got.n, tome.job { input = files, map = map, reduce = red,
                                        finish = function(t) return t.n end })
    -- without reduce: the list of the chunks' results, in order
    local list = tome.job { input = files[1], map = map, workers = 2 }
    local n = 0
    for i = 1, list.n do n = n + list[i].n end
    assert.are.equal(select(2, contents[1]:gsub("\n", "")), n)
    -- a map or a view is an input too
    local m = assert(tome.open(files[1]))
    assert.are.same(tome.job { input = m:view(1, 100000), map = map,
                               reduce = red },
                    tome.parallel(m:view(1, 100000), map, { reduce = red }))
  end)

  it("checks the job it is given", function()
    local f = H.tmpfile("a\n")
    local map = function() return 1 end
    local function err(spec) return tostring(select(2, pcall(tome.job, spec))) end
    local captured = 1
    assert.matches("tome.job: map captures the local variable 'captured' "
      .. "(upvalue 1)", err { input = f, map = function() return captured end },
      1, true)
    assert.matches("map must be a function (got nil)", err { input = f }, 1, true)
    assert.matches("reduce must be a function", err { input = f, map = map,
      reduce = 3 }, 1, true)
    assert.matches("sep must be a non-empty string", err { input = f, map = map,
      sep = "" }, 1, true)
    assert.matches("workers must be an integer from 1 to 1024",
      err { input = f, map = map, workers = 0 }, 1, true)
    assert.matches("tome.job: arg.f: function cannot be encoded",
      err { input = f, map = map, arg = { f = print } }, 1, true)
    assert.matches("unknown field 'redcue'", err { input = f, map = map,
      redcue = map }, 1, true)
    assert.matches("input[2] is a number", err { input = { f, 5 }, map = map },
      1, true)
    assert.matches("No such file or directory",
      err { input = f .. ".missing", map = map }, 1, true)
    assert.matches("expects a table", err(nil), 1, true)
  end)

  it("names the input and the bytes where map failed", function()
    local f = H.tmpfile(("ok\n"):rep(5000) .. "boom\n" .. ("ok\n"):rep(5000))
    local ok, e = pcall(tome.job, { input = f, map = function(v)
      if v:find("boom", 1, true) then error("found the bomb") end
      return 1
    end, workers = 2 })
    assert.is_false(ok)
    e = tostring(e)
    local a, b = e:match("^tome%.job: map failed on .-, bytes %[(%d+), (%d+)%]: ")
    assert.is_truthy(a, e)
    assert.matches("found the bomb", e, 1, true)
    local pos = 15001   -- where "boom" starts
    assert.is_true(tonumber(a) <= pos and tonumber(b) >= pos + 4, e)
    -- a shard that fails leaves no part (nor a temporary file) behind
    local job = script([[return tome.job{ map = function(v)
      if v:find("boom", 1, true) then error("found the bomb") end
      return 1 end, reduce = function(x, y) return x + y end }]])
    local dir = H.tmpname(".parts")
    local _, err, code = shard(job, { f }, 0, 1, dir)
    assert.are.equal(1, code)
    assert.matches("found the bomb", err, 1, true)
    assert.are.equal("", (H.run("ls -A " .. q(dir))))
  end)
end)

describe("tome --shard / --reduce", function()
  after_each(H.cleanup)

  local function setup3()
    local r = H.rng("job parts")
    local contents = { random_lines(r, 400, 50), random_lines(r, 300, 50) }
    local files = files_of(contents)
    local job = script(PRINT)
    local dir = H.tmpname(".parts")
    for k = 0, 2 do
      local _, err, code = shard(job, files, k, 3, dir)
      assert(code == 0, err)
    end
    return job, files, dir, print_model(contents)
  end

  local function refused(job, files, dir, text)
    local out, err, code = reduce(job, files, dir)
    assert.are.equal(1, code, out)
    assert.are.equal("", out)
    assert.matches(text, err, 1, true)
    -- the job's own errors come without a traceback
    assert.is_nil(err:find("stack traceback", 1, true), err)
  end

  local function rewrite(path, f)
    local s = H.readfile(path)
    local w = assert(io.open(path, "wb"))
    w:write(f(s))
    w:close()
  end

  it("reduces the parts it checked; a retried shard changes nothing", function()
    local job, files, dir, want = setup3()
    assert.are.equal(want, (reduce(job, files, dir)))
    -- parts copied elsewhere (new times) are still the same parts
    local copy = H.tmpname(".copy")
    os.execute(("cp -r %s %s"):format(q(dir), q(copy)))
    assert.are.equal(want, (reduce(job, files, copy)))
    local _, err, code = shard(job, files, 1, 3, dir)
    assert.are.equal(0, code, err)
    assert.are.equal(want, (reduce(job, files, dir)))
  end)

  it("refuses missing parts, naming them", function()
    local job, files, dir = setup3()
    os.remove(dir .. "/part-1")
    refused(job, files, dir, "--reduce " .. dir .. ": 1 of 3 parts missing: "
      .. "part-1 (did a shard fail?)")
    os.remove(dir .. "/part-0")
    refused(job, files, dir, "2 of 3 parts missing: part-0, part-1")
    os.remove(dir .. "/part-2")
    refused(job, files, dir, "no part-K there")
  end)

  it("refuses a duplicated part and parts of two runs", function()
    local job, files, dir = setup3()
    os.execute(("cp %s/part-0 %s/part-2"):format(q(dir), q(dir)))
    refused(job, files, dir, dir .. "/part-2 holds shard 0 of 3 (a copy of part-0?)")
    local _, err, code = shard(job, files, 1, 4, dir)
    assert.are.equal(0, code, err)
    refused(job, files, dir, dir .. "/part-1 belongs to a run of 4 shards, "
      .. "part-0 to one of 3")
  end)

  it("refuses stale parts: another script, arg, or changed inputs", function()
    local job, files, dir = setup3()
    local f = assert(io.open(job, "ab"))
    f:write("-- edited\n")
    f:close()
    refused(job, files, dir, dir .. "/part-0 is stale: it was written by "
      .. "another version of the job script")
    job, files, dir = setup3()
    f = assert(io.open(files[2], "ab"))
    f:write("k1 appended\n")
    f:close()
    refused(job, files, dir, dir .. "/part-0 is stale: input 2 was " .. files[2])
    job, files, dir = setup3()
    os.execute("touch -d '2001-01-01' " .. q(files[1]))
    refused(job, files, dir, "is stale: input 1 was " .. files[1])
    job, files, dir = setup3()
    refused(job, { files[1] }, dir, "was written for 2 inputs, this run names 1")
    refused(job, { files[2], files[1] }, dir, "is stale: input 1 was " .. files[1])
    -- the arg is part of the job
    local hist = script(HIST)
    dir = H.tmpname(".parts")
    assert.are.equal(0, select(3, shard(hist, files, 0, 1, dir)))
    local _, err, code = run(("JOB_SEP=';' %s --reduce %s %s %s"):format(
      q(TOME), q(dir), q(hist), args(files)))
    assert.are.equal(1, code)
    assert.matches("it was written with another arg, sep or reduce", err, 1, true)
  end)

  it("refuses damaged parts and outputs", function()
    local job, files, dir = setup3()
    rewrite(dir .. "/part-1", function(s)
      return s:sub(1, 40) .. string.char((s:byte(41) + 1) % 256) .. s:sub(42)
    end)
    refused(job, files, dir, dir .. "/part-1 is damaged: corrupt data: "
      .. "checksum mismatch")
    rewrite(dir .. "/part-1", function(s) return s:sub(1, 30) end)
    refused(job, files, dir, dir .. "/part-1 is damaged: corrupt data: truncated")
    rewrite(dir .. "/part-1", function() return "hello" end)
    refused(job, files, dir, "part-1 is damaged: not tome-encoded data")
    rewrite(dir .. "/part-1", function() return tome.encode { 1, 2 } end)
    refused(job, files, dir, dir .. "/part-1 is not a tome part")
    job, files, dir = setup3()
    local f = assert(io.open(dir .. "/out-2", "ab"))
    f:write("extra\n")
    f:close()
    refused(job, files, dir, dir .. "/out-2 is stale or damaged")
    job, files, dir = setup3()
    rewrite(dir .. "/out-1", function(x) return "#" .. x:sub(2) end)   -- same size
    refused(job, files, dir, dir .. "/out-1 is stale or damaged")
    job, files, dir = setup3()
    os.remove(dir .. "/out-2")
    refused(job, files, dir, dir .. "/out-2 is missing")
  end)

  it("refuses parts whose ranges do not chain, or from another tome", function()
    local job, files, dir = setup3()
    local function edit(k, f)
      rewrite(dir .. "/part-" .. k, function(s)
        local p = tome.decode(s)
        f(p)
        return tome.encode(p)
      end)
    end
    edit(1, function(p) p.from = p.from + 1 end)
    refused(job, files, dir, dir .. "/part-1 covers bytes [")
    refused(job, files, dir, "(a gap)")
    edit(1, function(p) p.from = p.from - 2 end)
    refused(job, files, dir, "(an overlap)")
    job, files, dir = setup3()
    edit(2, function(p) p.to = p.to - 1 end)
    refused(job, files, dir, ": the parts end at byte ")
    job, files, dir = setup3()
    edit(0, function(p) p.tome = "tome 9.9.9" end)
    refused(job, files, dir, dir .. "/part-0 was written by tome 9.9.9, this is "
      .. tome.version)
  end)

  it("refuses parts whose fields are not what a shard writes", function()
    -- parts that decode (a valid checksum) but were not written by a
    -- shard: a clear error, never a Lua error from the reduce's checks
    -- nor a search for a billion parts
    local job, files, dir = setup3()
    for _, c in ipairs {
      { 0, "n", 1000000000, "n is 1000000000, not an integer from 1 to 1000000" },
      { 1, "n", 2.5, "n is 2.5, not an integer" },
      { 1, "k", "1", "k is 1, not an integer from 0 to 2" },
      { 2, "from", "x", "from is x, not an integer from 0 to " },
      { 1, "total", nil, "total is nil, not an integer >= 0" },
      { 1, "out", "x", "out is x, not an integer >= 0" },
      { 1, "inputs", nil, "inputs is not a list" },
      { 1, "inputs", { 5 }, "inputs[1] is not an input" },
      { 1, "inputs", { { name = "a", size = "big" } },
        "inputs[1].size is not an integer" },
      { 1, "script", false, "script is not a string" },
      { 1, "have", 1, "have is not a boolean" },
    } do
      local path = ("%s/part-%d"):format(dir, c[1])
      local was = H.readfile(path)
      rewrite(path, function(s)
        local p = tome.decode(s)
        p[c[2]] = c[3]
        return tome.encode(p)
      end)
      refused(job, files, dir, path .. " is damaged: " .. c[4])
      rewrite(path, function() return was end)
    end
  end)

  it("finds its shard in the environment only with --shard auto", function()
    local f = { H.tmpfile("k1 a\nk2 b\n") }
    local job = script(HIST)
    local function part_of(env)
      local dir = H.tmpname(".parts")
      local _, err, code = run(("%s %s --shard auto --partial %s %s %s"):format(
        env, q(TOME), q(dir), q(job), args(f)))
      assert(code == 0, err)
      local name = H.run("ls " .. q(dir)):match("part%-%d+")
      local p = tome.decode(H.readfile(dir .. "/" .. name))
      return name, p.k, p.n
    end
    assert.are.same({ "part-2", 2, 5 }, { part_of("TOME_SHARD=2/5") })
    assert.are.same({ "part-2", 2, 4 }, { part_of(
      "SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_STEP=2 "
      .. "SLURM_ARRAY_TASK_COUNT=4") })
    assert.are.same({ "part-1", 1, 3 }, { part_of("SLURM_PROCID=1 SLURM_NTASKS=3") })
    assert.are.same({ "part-0", 0, 2 }, { part_of(
      "TOME_SHARD=0/2 SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2") })
    local _, err, code = run(("env -u TOME_SHARD -u SLURM_ARRAY_TASK_ID "
      .. "-u SLURM_PROCID %s --shard auto --partial %s %s %s"):format(q(TOME),
      q(H.tmpname()), q(job), args(f)))
    assert.are.equal(1, code)
    assert.matches("--shard auto: no TOME_SHARD=K/N", err, 1, true)
    _, err = run(("TOME_SHARD=3/3 %s --shard auto --partial %s %s %s"):format(
      q(TOME), q(H.tmpname()), q(job), args(f)))
    assert.matches("TOME_SHARD=3/3: the shard must be K/N with 0 <= K < N",
      err, 1, true)
    -- without --shard, Slurm's variables change nothing
    local out = plain(job, f, "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 "
      .. "SLURM_PROCID=1 SLURM_NTASKS=4 TOME_SHARD=1/4")
    assert.are.equal(hist_model { "k1 a\nk2 b\n" }, out)
  end)

  it("refuses what makes no sense on the command line", function()
    local job = script(HIST)
    local f = H.tmpfile("k1\n")
    local function err_of(opts, file)
      local _, err, code = run(("%s %s %s"):format(q(TOME), opts, file or ""))
      assert.are.equal(1, code)
      return err
    end
    assert.matches("--shard and --partial go together",
      err_of("--shard 0/2 " .. q(job)), 1, true)
    assert.matches("--shard and --partial go together",
      err_of("--partial d " .. q(job)), 1, true)
    assert.matches("--reduce and --shard are two steps",
      err_of("--reduce d --shard 0/2 --partial d " .. q(job)), 1, true)
    assert.matches("need a job script", err_of("--reduce d -e 'x=1'"), 1, true)
    assert.matches("need a job script", err_of("--reduce d -n 'x=1'", q(f)), 1, true)
    assert.matches("the shard must be K/N", err_of(("--shard 2 --partial %s %s %s")
      :format(q(H.tmpname()), q(job), q(f))), 1, true)
    assert.matches("standard input cannot be sharded",
      err_of(("--shard 0/2 --partial %s %s"):format(q(H.tmpname()), q(job))),
      1, true)
    local plainjob = script("print('not a job')")
    assert.matches("--shard/--reduce: the script did not call tome.job",
      err_of(("--shard 0/2 --partial %s %s %s"):format(q(H.tmpname()),
        q(plainjob), q(f))), 1, true)
    local twice = script(
      "tome.job{ map = function() end } tome.job{ map = function() end }")
    assert.matches("called twice", err_of(("--shard 0/1 --partial %s %s %s")
      :format(q(H.tmpname()), q(twice), q(f))), 1, true)
    local dir = H.tmpfile("a file, not a directory")
    assert.matches("--partial " .. dir .. ": ",
      err_of(("--shard 0/1 --partial %s %s %s"):format(q(dir), q(job), q(f))),
      1, true)
  end)

  it("reads standard input when run plainly without files", function()
    local r = H.rng("job stdin")
    local s = random_lines(r, 500, 30)
    local out, err, code = H.sh(q(TOME) .. " " .. q(script(HIST)), s)
    assert.are.equal(0, code, err)
    assert.are.equal(hist_model { s }, out)
  end)
end)
