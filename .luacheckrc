-- luacheck configuration (run: luacheck lua spec scripts)
std = "lua54"
max_line_length = 100

-- Scripts run by the tome host: the `tome` module is preloaded as a global,
-- and `tome -m` / `tome -n` / `tome -p` chunks see the globals the host
-- sets (a -p chunk may assign `line`, the line then printed).
read_globals = { "tome", "m", "M", "NR", "FNR", "FILE" }
globals = { "line", "F", "NF" }

files["spec"] = { std = "+busted" }
