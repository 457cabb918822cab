---@meta tome_host
-- luacheck: ignore
-- Globals of the `tome` command, for lua-language-server: add this file
-- to the workspace library only for scripts and chunks that the command
-- runs (see types/tome.lua).

---The first file mapped with -m PATH.
---@type tome.map
m = nil

---Every file mapped with -m, in order.
---@type tome.map[]
M = {}

---In -n/-p chunks: the current line, without its newline.  With -p,
---what it holds after the chunk is printed (nil or false: nothing).
---@type string|nil
line = nil

---In -n/-p chunks: the line number over all the files.
---@type integer
NR = 0

---In -n/-p chunks: the line number within the current file.
---@type integer
FNR = 0

---In -n/-p chunks: the current file's name ("-" for standard input).
---@type string
FILE = ""

---In -n/-p chunks that use them (or with -F): the fields of the line,
---split on runs of blanks or on -F's separator.
---@type string[]
F = {}

---The number of fields, #F.
---@type integer
NF = 0
