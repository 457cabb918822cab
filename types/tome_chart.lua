---@meta tome.chart
-- luacheck: ignore
-- Type definitions of tome.chart (lua/tome/chart.lua) for
-- lua-language-server: charts drawn with text, returned as strings
-- without a final newline.

---@class tome.chart.options
---@field width? integer   columns (default: COLUMNS, else the terminal's, else 80)
---@field ascii? boolean   '#' instead of Unicode blocks (default: when the locale is not UTF-8)
---@field color? boolean   ANSI colours (default: standard output is a terminal and NO_COLOR is unset)
---@field title? string    a first line

---@class tome.chart.barsoptions: tome.chart.options
---@field sort? "value"|"label"|"none"  row order (default "value"; "none" keeps a list's order)
---@field top? integer|false  rows kept, the rest folded into "(N others)" (default 20; false: all)
---@field others? boolean  false drops the others row
---@field percent? boolean show each row's share of the total
---@field format? string|fun(x: number): string  how values are written

---@class tome.chart.sparkoptions: tome.chart.options
---@field min? number  the value drawn lowest (default: the smallest)
---@field max? number  the value drawn highest (default: the largest)

---@class tome.chart.histoptions: tome.chart.barsoptions
---@field bins? integer    about how many bins (default 10; exactly with min/max or nice = false)
---@field min? number      the first edge (values below get a "< min" row)
---@field max? number      the last edge (values above get a "> max" row)
---@field edges? number[]  explicit increasing edges
---@field log? boolean     bins even on a log scale (values must be above 0)
---@field nice? boolean    round edges (default: when min and max are not given)
---@field field? integer   for a map or view: the column of each line (default 1)
---@field sep? string      for a map or view: the separator (default: blanks, as awk)

---@class tome.chart.timelineoptions: tome.chart.options
---@field bucket? integer|string  seconds, or "second", "minute", "5m", "hour", "day", "week" (at least; coarser when it does not fit)
---@field height? integer  rows of the bars (default 10)
---@field what? string     what is counted, for the title (default "events")
---@field peak? boolean    false: no peak mark

---@class tome.chart
---@overload fun(t: table, opts?: tome.chart.barsoptions): string
local chart = {}

--- Horizontal bars of a table of counts ({[label] = count}), of a list of
--- {label, value} pairs, or of a list of numbers (labelled 1, 2, ...).
--- Values must be finite numbers >= 0.
---@param t table
---@param opts? tome.chart.barsoptions
---@return string
function chart.bars(t, opts) end

--- A one-line sparkline (eight levels) of a list of finite numbers.
---@param list number[]
---@param opts? tome.chart.sparkoptions
---@return string
function chart.spark(list, opts) end

--- A histogram of a list of numbers, of an iterator's values (false ones
--- are skipped and counted), or of a column of a map or view.
---@param values number[]|fun(): (number|false|nil)|tome.view|tome.map
---@param opts? tome.chart.histoptions
---@return string
function chart.hist(values, opts) end

--- Events per time bucket as columns with a time axis, the peak marked.
--- Times are seconds since the epoch (shown in UTC) or strings in the
--- common log format ("10/Oct/2026:13:55:36 +0000") or ISO 8601, taken as
--- written; from a list or an iterator (false values are skipped).
---@param times (number|string)[]|fun(): (number|string|false|nil)
---@param opts? tome.chart.timelineoptions
---@return string
function chart.timeline(times, opts) end

--- What the REPL's ":chart EXPR" draws: bars for a table, a string as it is.
---@param x table|string
---@param opts? tome.chart.barsoptions
---@return string
function chart.show(x, opts) end

return chart
