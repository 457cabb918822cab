-- report.lua [--markdown] RESULTS_DIR -- the benchmark's one table, from
-- RESULTS_DIR/bench.tsv (written by scripts/bench.sh): one row per tool,
-- task and cache state, with tome's row carrying the goal, the ratio it
-- is judged on (tome's time over the fastest peer the goal names) and
-- whether it is met.  --markdown gives the README's table (one row per
-- task and state) under the run's header lines.
--   report.lua --readme DIR README.md   replaces the README's table (the
--   lines between its "bench table" markers) with DIR/table.md
if arg[1] == "--readme" then
  local dir, readme = arg[2], arg[3]
  local f = assert(io.open(dir .. "/table.md"))
  local tbl = f:read("a")
  f:close()
  f = assert(io.open(readme))
  local text = f:read("a")
  f:close()
  local BEGIN, END = "<!-- bench table: make bench-readme -->",
                     "<!-- end of bench table -->"
  local a, b = text:find(BEGIN, 1, true)
  local c = text:find(END, 1, true)
  assert(a and c and c > b, readme .. ": no bench table markers")
  f = assert(io.open(readme, "w"))
  f:write(text:sub(1, b), "\n", tbl, text:sub(c))
  f:close()
  return
end
local markdown = arg[1] == "--markdown"
local dir = arg[markdown and 2 or 1] or error("usage: report.lua [--markdown] DIR")

local function split(line, sep)
  local t, at = {}, 1
  while true do
    local i = line:find(sep, at, true)
    t[#t + 1] = line:sub(at, (i or 0) - 1)
    if not i then return t end
    at = i + #sep
  end
end

-- the groups (task, state) in the order they ran, with their tools
local groups, byname = {}, {}
for line in io.lines(dir .. "/bench.tsv") do
  local f = split(line, "\t")
  local key = f[1] .. "\0" .. f[2]
  local g = byname[key]
  if not g then
    g = { task = f[1], state = f[2], what = f[3], size = tonumber(f[6]),
          goal = f[9], tools = {} }
    byname[key] = g
    groups[#groups + 1] = g
  end
  g.tools[#g.tools + 1] = { name = f[4], time = tonumber(f[5]),
                            rss = (tonumber(f[7]) or 0) / 1024, check = f[8] }
end

-- judge a group: fills g.tome, g.ratio, g.vs, g.met, g.goaltext
local function judge(g)
  for _, t in ipairs(g.tools) do if t.name == "tome" then g.tome = t end end
  if not g.tome or g.goal == "" then return end
  local limit = g.goal:match("^rss<=([%d.]+)")
  if limit then
    g.goaltext = ("RSS <= %s MB"):format(limit)
    g.met = g.tome.check ~= "failed" and g.tome.rss * 1024 * 1024 / 1e6
            <= tonumber(limit)
    return
  end
  local parts = split(g.goal, "|")
  local want = tonumber(parts[1]:match("^<=([%d.]+)"))
  local names = {}
  for i = 2, #parts do names[parts[i]] = true end
  local best
  for _, t in ipairs(g.tools) do
    if t ~= g.tome and t.time and (names[t.name] or
       (#parts == 1 and t.check ~= "-"))  -- no yardstick unless named
       and t.check ~= "failed" and (not best or t.time < best.time) then
      best = t
    end
  end
  g.goaltext = ("<= %s"):format(parts[1]:sub(3))
  if not best then return end
  g.vs = best
  g.ratio = g.tome.time / best.time
  g.met = g.ratio <= want and g.tome.check ~= "failed"
  for _, t in ipairs(g.tools) do
    if t.check == "differs" then g.met = false end
  end
end
for _, g in ipairs(groups) do judge(g) end

local function yesno(g)
  if g.met == nil then return "-" end
  return g.met and "yes" or "no"
end

local function gbs(g, t)
  if not t.time or t.time <= 0 or not g.size then return "" end
  return ("%.2f"):format(g.size / t.time / 1e9)
end

if not markdown then
  local fmt = "%-22s %-7s %-24s %8s %7s %6s %8s %-7s %-14s %s\n"
  io.write(fmt:format("task", "state", "tool", "time s", "GB/s", "ratio",
                      "RSS MiB", "output", "goal", "met"))
  for _, g in ipairs(groups) do
    for i, t in ipairs(g.tools) do
      local ratio, goal, met = "", "", ""
      if t == g.tome then
        ratio = g.ratio and ("%.2f"):format(g.ratio) or ""
        goal = g.goaltext and (g.vs and g.goaltext .. " " .. g.vs.name
                               or g.goaltext) or ""
        met = yesno(g)
      elseif g.tome and t.time and t.time > 0 then
        ratio = ("%.2f"):format(g.tome.time / t.time)
      end
      io.write(fmt:format(i == 1 and g.task or "", i == 1 and g.state or "",
                          t.name, t.time and ("%.3f"):format(t.time) or "-",
                          gbs(g, t), ratio, ("%.1f"):format(t.rss), t.check,
                          goal, met))
    end
  end
  return
end

-- markdown: the run's header, then one row per task and state
local h = io.open(dir .. "/header.txt")
if h then
  for line in h:lines() do io.write(line, "  \n") end
  h:close()
end
io.write("\n| task | state | tome | vs | ratio | goal | tome RSS | met | other peers (ratio) |\n")
io.write("|---|---|---|---|---|---|---|---|---|\n")
for _, g in ipairs(groups) do
  local t = g.tome or {}
  local others = {}
  for _, o in ipairs(g.tools) do
    if o ~= g.tome and o ~= g.vs and o.time and t.time then
      others[#others + 1] = ("%s %.2f"):format(o.name, t.time / o.time)
    end
  end
  io.write(("| %s | %s | %s | %s | %s | %s | %.1f MB | %s | %s |\n"):format(
    g.what, g.state, t.time and ("%.3f s"):format(t.time) or "-",
    g.vs and ("%s %.3f s"):format(g.vs.name, g.vs.time) or "-",
    g.ratio and ("%.2f"):format(g.ratio) or "-", g.goaltext or "-",
    (t.rss or 0) * 1024 * 1024 / 1e6, yesno(g), table.concat(others, ", ")))
end
