-- tome.records -- LPeg over the records of a map or view.
--
-- LPeg matches Lua strings only (and, in 1.0.2, subjects under 4 GiB), so
-- a big file is matched one record at a time: each line becomes a short
-- string, and with a literal prefilter only the lines that contain the
-- literal ever do (v:grep finds them with the scan room's fast search).
--
--   local records = require "tome.records"
--   for ip, status in records.each(m, grammar, '" 5') do ... end
--
-- records.each(v, patt [, prefilter])
--   An iterator over the lines of v (as v:lines() splits them) on which
--   lpeg.match(patt, line) succeeds (patt: an LPeg pattern, or anything
--   lpeg.P takes); each step returns what lpeg.match returned: the
--   pattern's captures, or the position after the match when it has
--   none.  The line's start position in v is passed to the match as an
--   extra argument, so lpeg.Carg(1) captures it.  With
--   'prefilter' (a plain string), only the lines containing it are
--   matched.  A match whose first value is nil (an lpeg.Cc(nil)) is
--   skipped like a failure.

local lpeg = require "lpeg"
local tome = require "tome"

local match = lpeg.match

local records = {}

function records.each(v, patt, prefilter)
  local vt = tome.type(v)
  -- (a closed map goes on, for v:lines() to raise the usual message)
  if vt ~= "map" and vt ~= "view" and vt ~= "closed map" then
    error(("bad argument #1 to 'each' (map or view expected, got %s)")
      :format(vt or type(v)), 2)
  end
  -- anything lpeg.match takes (a string is a literal, as in LPeg);
  -- converted once, not once per line
  local ok, p = pcall(lpeg.P, patt)
  if not ok then
    error(("bad argument #2 to 'each' (lpeg pattern expected, got %s)")
      :format(type(patt)), 2)
  end
  patt = p
  if prefilter ~= nil and type(prefilter) ~= "string" then
    error(("bad argument #3 to 'each' (string expected, got %s)")
      :format(type(prefilter)), 2)
  end
  local nextline
  if prefilter then nextline = v:grep(prefilter, true)
  else nextline = v:lines() end

  -- A line that does not match goes straight on to the next one through
  -- proper tail calls, so a long run of misses uses no stack.
  local step
  local function deliver(first, ...)
    if first ~= nil then return first, ... end
    return step()
  end
  step = function()
    local line, pos = nextline()
    if line == nil then return nil end
    return deliver(match(patt, line, 1, pos))
  end
  return step
end

return records
