-- time_range.lua -- the lines of a sorted web server log (Apache/nginx
-- "common" or "combined" format) whose time is in [FROM, TO), found by
-- binary search over the mapping: the work is a few dozen probes plus
-- the lines printed, however big the log.
--
--   tome time_range.lua FROM TO access.log [more.log ...]
--
-- FROM and TO are "YYYY-MM-DDTHH:MM:SS" (or with a blank for the "T";
-- the seconds, minutes and hours may be left out).  The times of the
-- log are taken as they are written, whatever their zone.  Lines must
-- be in time order, as a server writes them.
local tome = require "tome"

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- "YYYY-MM-DD[THH[:MM[:SS]]]" as a number YYYYMMDDHHMMSS
local function parse_arg(s)
  local y, mo, d, rest = (s or ""):match("^(%d%d%d%d)-(%d%d)-(%d%d)(.*)$")
  if not y then return nil end
  local h, mi, sec = rest:match("^[T ](%d%d):?(%d?%d?):?(%d?%d?)$")
  if rest ~= "" and not h then return nil end
  local function n(x) return tonumber(x ~= "" and x or "0") or 0 end
  return ((((n(y) * 100 + n(mo)) * 100 + n(d)) * 100 + n(h)) * 100
          + n(mi)) * 100 + n(sec)
end

local from, to = parse_arg(arg[1]), parse_arg(arg[2])
if not from or not to or not arg[3] then
  io.stderr:write("usage: tome time_range.lua FROM TO LOG...\n",
                  "  FROM, TO: YYYY-MM-DDTHH:MM:SS\n")
  os.exit(2)
end

-- [10/Oct/2026:13:55:36 +0000], looked for in the line at pos only
local STAMP = "^[^\n]-%[(%d%d)/(%a%a%a)/(%d%d%d%d):(%d%d):(%d%d):(%d%d)"

-- the time of the line that starts at pos, as parse_arg gives it; a
-- line without one counts as early (it is passed over)
local function time_at(m, pos)
  local d, mon, y, h, mi, s = m:match(STAMP, pos)
  if not d or not MONTHS[mon] then return -1 end
  return ((((tonumber(y) * 100 + MONTHS[mon]) * 100 + tonumber(d)) * 100
          + tonumber(h)) * 100 + tonumber(mi)) * 100 + tonumber(s)
end

-- the start of the first line that starts at or after pos (#m + 1 if none)
local function line_at_or_after(m, pos)
  if pos <= 1 then return 1 end
  local nl = m:find("\n", pos - 1, true)
  return nl and nl + 1 or #m + 1
end

-- The start of the first line whose time is >= t.  The positions p for
-- which "the line at or after p is that late (or there is none)" form a
-- suffix of [1, #m + 1]: bisect for its first position.
local function first_at_or_after(m, t)
  local lo, hi = 1, #m + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    local s = line_at_or_after(m, mid)
    if s > #m or time_at(m, s) >= t then hi = mid else lo = mid + 1 end
  end
  return line_at_or_after(m, lo)
end

local out = tome.stdout
for k = 3, #arg do
  local m <close> = assert(tome.open(arg[k]))
  local start = first_at_or_after(m, from)
  -- the lines are written as views: straight from the mapping
  for v, pos in m:lines("v", start) do
    if time_at(m, pos) >= to then break end
    out:write(v, "\n")
  end
end
