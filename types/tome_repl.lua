---@meta tome.repl
-- luacheck: ignore
-- Type definitions of the compiled-in module tome.repl (the REPL's
-- printer and completion), for lua-language-server: see types/tome.lua.

---@class tome.repl.options
---@field depth integer   # nesting shown (4)
---@field items integer   # entries shown per table (100)
---@field string integer  # bytes shown of a string inside a table (200)
---@field width integer   # columns a table may take on one line (78)
---@field indent string   # one level of indentation ("  ")

---@class tome.repl
---@field options tome.repl.options  # the printer's limits (may be changed)
local repl = {}

---The text the REPL prints for `x`: tables readably, maps and views by
---their description.
---@param x any
---@return string
---@nodiscard
function repl.show(x) end

---Print the arguments as the REPL prints results: strings as they are,
---the rest through repl.show, separated by tabs.
---@param ... any
function repl.print(...) end

---The completions of `word` (globals, keywords, a.b. fields, x: methods),
---sorted.
---@param word string
---@return string[]
---@nodiscard
function repl.complete(word) end

return repl
