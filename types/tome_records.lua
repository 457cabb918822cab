---@meta tome.records
-- luacheck: ignore
-- Type definitions of the compiled-in module tome.records (LPeg over the
-- lines of a map or view), for lua-language-server: see types/tome.lua.

---@class tome.records
local records = {}

---Iterate over the lines of `v` on which lpeg.match(patt, line)
---succeeds; each step returns what lpeg.match returned (the captures, or
---the position after the match).  The line's start position in `v` is
---passed as an extra argument (lpeg.Carg(1)).  With `prefilter` (a plain
---string), only the lines that contain it are matched.
---@param v tome.view
---@param patt any  # an LPeg pattern, or anything lpeg.P takes
---@param prefilter? string
---@return fun(): any, ...
function records.each(v, patt, prefilter) end

return records
