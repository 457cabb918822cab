-- tome.job -- one job, three ways to run it, the same result:
--
--   tome job.lua files...                      plainly, on all cores
--   tome --shard K/N --partial DIR job.lua files...   shard K of N
--   tome --reduce DIR job.lua files...         fold the N parts, finish
--
-- A script states its job once:
--
--   return tome.job{ input = paths_or_views, map = function(view, arg) end,
--                    reduce = function(a, b) end, finish = function(r) end,
--                    arg = ..., sep = "\n", workers = n }
--
-- The inputs are treated as one concatenation.  Shard K of N owns the
-- records whose first byte falls in [K*T/N, (K+1)*T/N) of it (T: the
-- total length); a record starts at the start of an input or just after
-- a separator, so each boundary is found by one short search from the
-- cut, and shards agree on it without talking to each other.  Inside a
-- run (plain or shard), the range is processed in rounds: each round
-- hands a stretch of one input to tome.parallel, the map's results are
-- folded in order and what it printed is written in order (to standard
-- output, or DIR/out-K), so memory stays bounded by a round.
--
-- A part (DIR/part-K, written through the atomic writer) holds the
-- shard's folded result and what identifies the run: the script's
-- checksum, arg and sep, N, K, the byte range, each input's name, size,
-- modification time and length.  --reduce checks all of that before it
-- folds anything.

-- The function the workers run.  It travels to each worker's Lua state
-- as bytecode, so it is defined before any local of this file: its only
-- upvalue is _ENV.  It loads the user's map (bytecode in a.code) once per
-- state, captures what map prints, and returns {o = output, r = result
-- encoded, e = error, p = first byte, l = length}.
local function worker(v, a)
  local J = rawget(_G, "__tome_job")
  if J == nil or J.code ~= a.code then
    J = { code = a.code, out = {} }
    J.fn = assert(load(a.code, "=map", "b"))
    local function put(s)
      local o = J.out
      o[#o + 1] = s
    end
    local function str(x, k, fname)
      local mt = math.type(x)
      if mt == "integer" then return string.format("%d", x)
      elseif mt == "float" then return string.format("%.14g", x)
      elseif type(x) == "string" then return x
      elseif tome.type(x) == "map" or tome.type(x) == "view" then
        return x:sub(1, -1)
      end
      error(("bad argument #%d to '%s' (string expected, got %s)")
        :format(k, fname, type(x)), 3)
    end
    local function writer(name)
      return function(self, ...)
        for k = 1, select("#", ...) do put(str((select(k, ...)), k, name)) end
        return self
      end
    end
    local file = setmetatable({}, {
      __index = {
        write = writer("write"),
        flush = function(self) return self end,
        setvbuf = function() return true end,
        close = function() return nil, "cannot close standard file" end,
      },
      __name = "FILE*",
      __tostring = function() return "file (tome.job's captured output)" end,
    })
    local w = setmetatable({}, {
      __index = {
        write = writer("write"),
        flush = function(self) return self end,
        close = function() return true end,
        abort = function() end,
      },
      __tostring = function() return "tome.writer: captured output" end,
    })
    local output = io.output
    -- (rawset: these are the worker state's own globals, replaced on
    -- purpose)
    rawset(_G, "print", function(...)
      local n = select("#", ...)
      local t = { ... }
      for k = 1, n do t[k] = tostring(t[k]) end
      put(table.concat(t, "\t", 1, n) .. "\n")
    end)
    rawset(io, "write", function(...) return file:write(...) end)
    rawset(io, "stdout", file)
    rawset(io, "output", function(f)
      if f == nil then return file end
      return output(f)
    end)
    rawset(tome, "stdout", w)
    rawset(_G, "__tome_job", J)
  end
  J.out = {}
  local res = { p = v:offset(), l = #v }
  local ok, r = xpcall(J.fn, debug.traceback, v, a.arg)
  if ok then
    ok, r = pcall(tome.encode, r, "result")
    if ok then res.r = r end
  end
  if not ok then res.e = tostring(r) end
  res.o = table.concat(J.out)
  J.out = {}
  return res
end

local tome = require "tome"

local PART_VERSION = 1
-- bytes of the first round per worker; rounds that print nothing double
local ROUND_START = 4 << 20
local ROUND_MAX = 1 << 30

-- The job's own errors (a bad spec, a missing or stale part...) are
-- raised as an object whose tostring is the message, so that the command
-- shows the message alone, without a traceback through this file.
local Failure = { __tostring = function(e) return e.msg end }

local function fail(fmt, ...)
  error(setmetatable({ msg = "tome.job: " .. fmt:format(...) }, Failure), 0)
end

-- {====== checking the job ======

local function check_map(f)
  if type(f) ~= "function" then
    fail("map must be a function (got %s)", type(f))
  end
  for i = 1, math.huge do
    local name = debug.getupvalue(f, i)
    if name == nil then break end
    if name ~= "_ENV" then
      fail("map captures the local variable '%s' (upvalue %d); it runs in "
        .. "a Lua state of its own in each worker (and on each machine), "
        .. "so pass data with arg or use globals", name, i)
    end
  end
end

local function check_spec(spec)
  if type(spec) ~= "table" then
    fail("expects a table {input =, map =, reduce =, finish =, arg =, sep =}")
  end
  check_map(spec.map)
  for _, k in ipairs { "reduce", "finish" } do
    if spec[k] ~= nil and type(spec[k]) ~= "function" then
      fail("%s must be a function (got %s)", k, type(spec[k]))
    end
  end
  local sep = spec.sep
  if sep == nil then sep = "\n" end
  if type(sep) ~= "string" or sep == "" then
    fail("sep must be a non-empty string")
  end
  local w = spec.workers
  if w ~= nil and (math.type(w) ~= "integer" or w < 1 or w > 1024) then
    fail("workers must be an integer from 1 to 1024")
  end
  local ok, err = pcall(tome.encode, spec.arg, "arg")
  if not ok then fail("%s", (tostring(err):gsub("^tome%.encode: ", ""))) end
  for k in pairs(spec) do
    if not ({ input = 1, map = 1, reduce = 1, finish = 1, arg = 1, sep = 1,
              workers = 1 })[k] then
      fail("unknown field '%s' (input, map, reduce, finish, arg, sep, "
        .. "workers)", tostring(k))
    end
  end
  return sep
end
-- }======

-- {====== inputs ======

-- A canonical text of a value (sorted keys), for the run's identity.
local function canon(v)
  local t = math.type(v) or type(v)
  if t == "integer" then return ("i%d"):format(v)
  elseif t == "float" then return ("f%a"):format(v)
  elseif t == "string" then return ("s%d:%s"):format(#v, v)
  elseif t == "table" then
    local items = {}
    for k, x in pairs(v) do items[#items + 1] = canon(k) .. "=" .. canon(x) end
    table.sort(items)
    return "{" .. table.concat(items, ",") .. "}"
  end
  return tostring(v)
end

-- The inputs as the job names them: spec.input (a path, a map or view,
-- or a list of them), else the script's arguments, else standard input.
local function input_list(spec)
  local list = spec.input
  if list == nil then
    list = {}
    local a = rawget(_G, "arg")
    if type(a) == "table" then
      for i = 1, #a do list[i] = a[i] end
    end
    if #list == 0 then list[1] = "-" end
  elseif type(list) == "string" or tome.type(list) then
    list = { list }
  elseif type(list) ~= "table" then
    fail("input must be a path, a map or view, or a list of them (got %s)",
      type(list))
  end
  for i = 1, #list do
    local x = list[i]
    if type(x) ~= "string" and tome.type(x) ~= "map"
      and tome.type(x) ~= "view" then
      fail("input[%d] is a %s: give paths, maps or views", i,
        tome.type(x) or type(x))
    end
  end
  return list
end

-- What identifies an input between the shards and the reduce.  A file:
-- its name, size and modification time (it is not read again).  A map
-- or view has no file name to check: the name of its map, its offset
-- and length, and a checksum of its first and last 64 KiB.
local function path_id(x, C)
  if x == "-" then return { name = "-" } end
  local st, err = C.stat(x)
  if not st then fail("%s", err) end
  return { name = x, size = st.size, mtime = st.mtime, mtimens = st.mtimens }
end

local function view_id(x, C)
  local n = #x
  local sample = n <= 131072 and x:sub(1, -1)
    or x:sub(1, 65536) .. x:sub(-65536)
  local name = tostring(x:map()):match('^tome%.map: "(.-)"') or "?"
  return { name = name, off = x:offset(), len = n, sum = C.sum(sample) }
end

local function input_ids(list, C)
  local ids = {}
  for i, x in ipairs(list) do
    ids[i] = type(x) == "string" and path_id(x, C) or view_id(x, C)
  end
  return ids
end

-- Open the inputs: a list of {name =, v = map or view, id =}.
local function open_inputs(spec, C, sharded)
  local out = {}
  for i, x in ipairs(input_list(spec)) do
    local e = { name = tostring(x) }
    if type(x) == "string" then
      if x == "-" and sharded then
        fail("standard input cannot be sharded: give files")
      end
      e.id = path_id(x, C)
      local m, err = tome.open(x)
      if not m then fail("%s", err) end
      e.v = m
      e.id.len = #m
    else
      e.v, e.id = x, view_id(x, C)
    end
    out[i] = e
  end
  return out
end
-- }======

-- {====== ranges ======

-- The bases of the inputs in the concatenation, and its length.
local function layout(inputs)
  local base = 0
  for _, e in ipairs(inputs) do
    e.base = base
    base = base + #e.v
  end
  return base
end

-- The first record start at or after position s of input e (0-based,
-- local): s itself at the input's start, else just after the first
-- separator that ends at or after s, else the input's end.
local function record_start(e, s, sep)
  local n = #e.v
  if s <= 0 then return 0 end
  if s >= n then return n end
  local _, b = e.v:find(sep, math.max(1, s - #sep + 1), true)
  return b or n
end

-- The same in the concatenation (absolute positions).
local function abs_record_start(inputs, total, s, sep)
  if s >= total then return total end
  for _, e in ipairs(inputs) do
    local n = #e.v
    if s < e.base + n then
      return e.base + record_start(e, s - e.base, sep)
    end
  end
  return total
end

-- Shard k's range [from, to) of the concatenation.
local function shard_range(inputs, total, k, n, sep)
  local function cut(i)
    if i == 0 then return 0 end
    if i == n then return total end
    -- i * total // n without overflow for any total below 2^62
    local q, r = total // n, total % n
    return abs_record_start(inputs, total, q * i + (r * i) // n, sep)
  end
  return cut(k), cut(k + 1)
end
-- }======

-- {====== running a range ======

local function new_fold(reduce)
  local F = { have = false, chunks = 0 }
  if not reduce then F.acc = { n = 0 } end
  function F.add(r)
    F.chunks = F.chunks + 1
    if not reduce then
      F.acc.n = F.acc.n + 1
      F.acc[F.acc.n] = r
    elseif F.have then
      F.acc = reduce(F.acc, r)
    else
      F.acc, F.have = r, true
    end
  end
  -- another fold's value (a part), in order
  function F.merge(value, have)
    if not reduce then
      for i = 1, value.n do
        F.acc.n = F.acc.n + 1
        F.acc[F.acc.n] = value[i]
      end
    elseif have then
      if F.have then F.acc = reduce(F.acc, value)
      else F.acc, F.have = value, true end
    end
  end
  return F
end

-- The stretches of the inputs that [from, to) of the concatenation
-- covers: {e = input, a = first byte, b = end} (0-based, in the input).
local function pieces_of(inputs, from, to)
  local out = {}
  for _, e in ipairs(inputs) do
    local a = math.max(from, e.base) - e.base
    local b = math.min(to, e.base + #e.v) - e.base
    if b > a then out[#out + 1] = { e = e, a = a, b = b } end
  end
  return out
end

-- Run map over [from, to) of the concatenation: the results into fold,
-- what map printed to emit(s), in order.  Each round hands tome.parallel
-- a list of stretches (whole small inputs, or a big one cut at a record
-- start) of about 'round' bytes.
local function run_range(J, inputs, from, to, fold, emit)
  local workers = J.spec.workers or tome.cpus()
  local opts = { workers = workers, chunks = workers * 4, sep = J.sep,
                 arg = { code = string.dump(J.spec.map), arg = J.spec.arg } }
  local round = ROUND_START * workers
  local pieces = pieces_of(inputs, from, to)
  local i, at = 1, pieces[1] and pieces[1].a
  while i <= #pieces do
    local list, parts, budget = {}, {}, round
    while i <= #pieces and budget > 0 do
      local pc = pieces[i]
      local c = pc.b
      if c - at > budget then
        c = math.min(pc.b, record_start(pc.e, at + budget, J.sep))
      end
      list[#list + 1] = pc.e.v:view(at + 1, c)
      parts[#parts + 1] = { e = pc.e, a = at, b = c }
      budget = budget - (c - at)
      if c < pc.b then at = c
      else
        i = i + 1
        at = pieces[i] and pieces[i].a
      end
    end
    local res = tome.parallel(list, worker, opts)
    -- the chunks tile the stretches in order: find each one's input
    local printed, j, pos = false, 1, parts[1].a
    for k = 1, res.n do
      local r, part = res[k], parts[j]
      local e = part.e
      local off0 = e.v:offset() - 1
      assert(r.p - 1 - off0 == pos, "tome.job: chunks out of order")
      if r.o ~= "" then
        emit(r.o)
        printed = true
      end
      if r.e then
        fail("map failed on %s, bytes [%d, %d]: %s", e.name, pos + 1,
          pos + r.l, r.e)
      end
      fold.add(tome.decode(r.r))
      pos = pos + r.l
      if pos >= part.b and parts[j + 1] then
        j = j + 1
        pos = parts[j].a
      end
    end
    if not printed and round < ROUND_MAX then round = round * 2 end
  end
end
-- }======

-- {====== modes ======

local function plain(J)
  local inputs = open_inputs(J.spec, J.C, false)
  local total = layout(inputs)
  local fold = new_fold(J.spec.reduce)
  run_range(J, inputs, 0, total, fold, function(s) io.stdout:write(s) end)
  if J.spec.finish then return J.spec.finish(fold.acc) end
  return fold.acc
end

-- K/N from --shard's value, or from the environment for "auto".
local function shard_spec(s)
  local function num(x) return math.tointeger(tonumber(x)) end
  local source = "--shard " .. s
  if s == "auto" then
    local id = os.getenv("SLURM_ARRAY_TASK_ID")
    if os.getenv("TOME_SHARD") then
      s = os.getenv("TOME_SHARD")
      source = "TOME_SHARD=" .. s
    elseif id then
      local k, min = num(id), num(os.getenv("SLURM_ARRAY_TASK_MIN") or "0")
      local step = num(os.getenv("SLURM_ARRAY_TASK_STEP") or "1")
      local count = num(os.getenv("SLURM_ARRAY_TASK_COUNT") or "")
      source = "SLURM_ARRAY_TASK_ID=" .. id
      if not (k and min and step and count) or step < 1
        or (k - min) % step ~= 0 then
        fail("--shard auto: cannot read the shard from Slurm's array "
          .. "variables (SLURM_ARRAY_TASK_ID, _MIN, _STEP, _COUNT)")
      end
      s = ("%d/%d"):format((k - min) // step, count)
    elseif os.getenv("SLURM_PROCID") and os.getenv("SLURM_NTASKS") then
      s = os.getenv("SLURM_PROCID") .. "/" .. os.getenv("SLURM_NTASKS")
      source = "SLURM_PROCID/SLURM_NTASKS"
    else
      fail("--shard auto: no TOME_SHARD=K/N, no Slurm array task "
        .. "(SLURM_ARRAY_TASK_ID) and no Slurm step (SLURM_PROCID, "
        .. "SLURM_NTASKS) in the environment")
    end
  end
  local k, n = s:match("^(%d+)/(%d+)$")
  k, n = num(k), num(n)
  if not k or not n or n < 1 or k >= n or n > 1000000 then
    fail("%s: the shard must be K/N with 0 <= K < N <= 1000000", source)
  end
  return k, n
end

-- What identifies the run (the same in every shard and in the reduce).
local function identity(J, ids)
  return {
    tome = tome.version, script = J.scriptsum, arg = J.C.sum(canon(J.spec.arg)),
    sep = J.sep, reduce = J.spec.reduce ~= nil, inputs = ids,
  }
end

local function script_sum(J)
  local path = J.mode.script
  if path == nil or path == "-" then
    fail("a sharded job needs its script in a file")
  end
  local f, err = io.open(path, "rb")
  if not f then fail("%s", err) end
  local s = f:read("a")
  f:close()
  return J.C.sum(s)
end

local function dirpath(dir, name, k)
  return ("%s/%s-%d"):format(dir, name, k)
end

local function shard(J)
  local k, n = shard_spec(J.mode.shard)
  local dir = J.mode.partial
  J.scriptsum = script_sum(J)
  local inputs = open_inputs(J.spec, J.C, true)
  local total = layout(inputs)
  local made, merr = J.C.mkdir(dir)
  if not made then fail("--partial %s: %s", dir, merr) end
  local from, to = shard_range(inputs, total, k, n, J.sep)
  local fold = new_fold(J.spec.reduce)
  local outpath, out, outbytes = dirpath(dir, "out", k), nil, 0
  run_range(J, inputs, from, to, fold, function(s)
    if not out then
      local err
      out, err = tome.output(outpath)
      if not out then fail("%s", err) end
    end
    out:write(s)
    outbytes = outbytes + #s
  end)
  local ids = {}
  for i, e in ipairs(inputs) do ids[i] = e.id end
  local part = identity(J, ids)
  part.format, part.version = "tome.part", PART_VERSION
  part.k, part.n, part.from, part.to, part.total = k, n, from, to, total
  part.chunks, part.have, part.result = fold.chunks, fold.have, fold.acc
  part.out = outbytes
  if out then
    local okc, errc = out:close()
    if not okc then fail("%s: %s", outpath, errc) end
    local sum, err = J.C.sumfile(outpath)
    if not sum then fail("%s", err) end
    part.outsum = sum
  end
  local bytes = tome.encode(part, "part")
  local path = dirpath(dir, "part", k)
  local w, werr = tome.output(path)
  if not w then fail("%s", werr) end
  w:write(bytes)
  local okc, errc = w:close()
  if not okc then fail("%s: %s", path, errc) end
  return true
end

-- {====== reduce: read and check the parts ======

-- A part that decodes (its checksum holds) but whose fields are not
-- what a shard writes is refused before anything reads them: N from a
-- bad part would otherwise make the reduce look for a billion files.
local function check_fields(path, p)
  local function bad(what)
    fail("%s is damaged: %s", path, what)
  end
  local function count(f, min, max)
    local x = p[f]
    if math.type(x) ~= "integer" or x < min or (max and x > max) then
      bad(("%s is %s, not an integer%s"):format(f, tostring(x),
        max and (" from %d to %d"):format(min, max) or
        (" >= %d"):format(min)))
    end
  end
  count("n", 1, 1000000)
  count("k", 0, p.n - 1)
  count("total", 0)
  count("from", 0, p.total)
  count("to", 0, p.total)
  count("out", 0)
  for _, f in ipairs { "tome", "script", "arg", "sep" } do
    if type(p[f]) ~= "string" then bad(f .. " is not a string") end
  end
  for _, f in ipairs { "reduce", "have" } do
    if type(p[f]) ~= "boolean" then bad(f .. " is not a boolean") end
  end
  if p.out > 0 and type(p.outsum) ~= "string" then
    bad("outsum is not a string")
  end
  if type(p.inputs) ~= "table" then bad("inputs is not a list") end
  for i, id in ipairs(p.inputs) do
    if type(id) ~= "table" or type(id.name) ~= "string" then
      bad(("inputs[%d] is not an input"):format(i))
    end
    for _, f in ipairs { "size", "mtime", "mtimens", "off", "len" } do
      if id[f] ~= nil and math.type(id[f]) ~= "integer" then
        bad(("inputs[%d].%s is not an integer"):format(i, f))
      end
    end
  end
  if not p.reduce and (type(p.result) ~= "table"
                       or math.type(p.result.n) ~= "integer") then
    bad("result is not a list of chunk results")
  end
end

local function read_part(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, part = pcall(tome.decode, s)
  if not ok then
    fail("%s is damaged: %s", path, (tostring(part):gsub("^tome%.decode: ", "")))
  end
  if type(part) ~= "table" or part.format ~= "tome.part" then
    fail("%s is not a tome part", path)
  end
  if part.version ~= PART_VERSION then
    fail("%s has part format %s; this tome reads %d", path,
      tostring(part.version), PART_VERSION)
  end
  check_fields(path, part)
  return part
end

local function describe_id(id)
  if id.size then
    return ("%s (%d bytes, modified %s.%09dZ)"):format(id.name, id.size,
      os.date("!%Y-%m-%dT%H:%M:%S", id.mtime), id.mtimens)
  elseif id.off then
    return ("a view of %s (%d bytes at %d, checksum %s)"):format(id.name,
      id.len, id.off, id.sum)
  end
  return id.name
end

-- Is part p of the same run as 'want' (this script, arg, inputs)?
local function check_same(path, p, want)
  if p.tome ~= want.tome then
    fail("%s was written by %s, this is %s: run every shard and the "
      .. "reduce with the same tome", path, tostring(p.tome), want.tome)
  end
  if p.script ~= want.script then
    fail("%s is stale: it was written by another version of the job "
      .. "script (checksum %s, now %s)", path, tostring(p.script), want.script)
  end
  if p.arg ~= want.arg or p.sep ~= want.sep or p.reduce ~= want.reduce then
    fail("%s is stale: it was written with another arg, sep or reduce",
      path)
  end
  if #p.inputs ~= #want.inputs then
    fail("%s was written for %d inputs, this run names %d", path,
      #p.inputs, #want.inputs)
  end
  for i, id in ipairs(want.inputs) do
    local was = p.inputs[i]
    for _, f in ipairs { "name", "size", "mtime", "mtimens", "off", "len",
                         "sum" } do
      if id[f] ~= nil and was[f] ~= id[f] then
        fail("%s is stale: input %d was %s, it is now %s", path, i,
          describe_id(was), describe_id(id))
      end
    end
  end
end

local function find_parts(dir)
  local first
  for k = 0, 4095 do
    first = read_part(dirpath(dir, "part", k))
    if first then break end
  end
  if not first then
    fail("--reduce %s: no part-K there (a shard writes DIR/part-K with "
      .. "--shard K/N --partial DIR)", dir)
  end
  local n = first.n
  local parts, missing = {}, {}
  for k = 0, n - 1 do
    local path = dirpath(dir, "part", k)
    local p = read_part(path)
    if not p then missing[#missing + 1] = "part-" .. k
    else
      if p.n ~= n then
        fail("%s belongs to a run of %d shards, part-%d to one of %d "
          .. "(parts of two runs in %s?)", path, p.n, first.k, n, dir)
      end
      if p.k ~= k then
        fail("%s holds shard %d of %d (a copy of part-%d?)", path, p.k, n, p.k)
      end
      parts[k] = p
    end
  end
  if #missing > 0 then
    fail("--reduce %s: %d of %d parts missing: %s (did a shard fail?)", dir,
      #missing, n, table.concat(missing, ", ", 1, math.min(#missing, 20))
      .. (#missing > 20 and ", ..." or ""))
  end
  return parts, n
end

local function check_chain(dir, parts, n, total)
  local at = 0
  for k = 0, n - 1 do
    local p = parts[k]
    if p.total ~= total then
      fail("%s/part-%d saw %d bytes of input, there are %d now", dir, k,
        p.total, total)
    end
    if p.from ~= at then
      fail("%s/part-%d covers bytes [%d, %d) but the parts before it end at "
        .. "%d (%s)", dir, k, p.from, p.to, at, p.from > at and "a gap"
        or "an overlap")
    end
    if p.to < p.from then
      fail("%s/part-%d has a negative range", dir, k)
    end
    at = p.to
  end
  if at ~= total then
    fail("%s: the parts end at byte %d, the inputs have %d", dir, at, total)
  end
end

local function check_out(J, dir, k, p)
  local path = dirpath(dir, "out", k)
  if p.out == 0 then return nil end
  local st = J.C.stat(path)
  if not st then
    fail("%s is missing (part-%d says the shard printed %d bytes)", path, k,
      p.out)
  end
  local sum, size = J.C.sumfile(path)
  if not sum then fail("%s", size) end
  if size ~= p.out or sum ~= p.outsum then
    fail("%s is stale or damaged: %d bytes (checksum %s), part-%d says %d "
      .. "(checksum %s)", path, size, sum, k, p.out, tostring(p.outsum))
  end
  return path
end

local function reduce(J)
  local dir = J.mode.reduce
  J.scriptsum = script_sum(J)
  local parts, n = find_parts(dir)
  -- the inputs are checked by name, size and time, not read again
  local want = identity(J, input_ids(input_list(J.spec), J.C))
  for k = 0, n - 1 do
    check_same(dirpath(dir, "part", k), parts[k], want)
  end
  for k = 1, n - 1 do
    for i, id in ipairs(parts[k].inputs) do
      if id.len ~= parts[0].inputs[i].len then
        fail("%s/part-%d saw input %d at %d bytes, part-0 at %d", dir, k, i,
          id.len, parts[0].inputs[i].len)
      end
    end
  end
  check_chain(dir, parts, n, parts[0].total)
  local outs = {}
  for k = 0, n - 1 do outs[k] = check_out(J, dir, k, parts[k]) end
  -- all checked: the output in order, then the fold
  for k = 0, n - 1 do
    if outs[k] then
      local m = assert(tome.open(outs[k]))
      if #m > 0 then tome.stdout:write(m) end
      m:close()
    end
  end
  local fold = new_fold(J.spec.reduce)
  for k = 0, n - 1 do
    fold.merge(parts[k].result, parts[k].have)
    parts[k] = nil
  end
  if J.spec.finish then return J.spec.finish(fold.acc) end
  return fold.acc
end
-- }======

return function(spec, mode, C)
  local J = { spec = spec, mode = mode or {}, C = C }
  J.sep = check_spec(spec)
  if mode then
    if mode.used then
      fail("called twice in one run of --shard or --reduce")
    end
    mode.used = true
    if mode.reduce then return reduce(J) end
    if mode.shard then return shard(J) end
  end
  return plain(J)
end
