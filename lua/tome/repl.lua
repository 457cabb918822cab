-- tome.repl -- the Lua half of the REPL (src/repl.c does the terminal):
--
--   repl.show(x)        a readable rendering of any value, as a string
--   repl.print(...)     what the REPL prints for a chunk's results
--   repl.complete(word) the completions of 'word' for the TAB key
--   repl.options        limits of the rendering; change them at will:
--                       require("tome.repl").options.depth = 8

local M = {}

M.options = {
  depth = 4,      -- nesting shown; deeper tables print as {...}
  items = 100,    -- entries shown per table; the rest are counted
  string = 200,   -- bytes shown of a string inside a table
  width = 78,     -- a table that fits in this many columns stays on a line
  indent = "  ",
}

-- {====== rendering ======

local reserved = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  reserved[w] = true
end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
    and not reserved[k]
end

local escapes = {
  ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\v"] = "\\v",
}

local function escape_byte(c, nextc)
  -- a decimal escape before a digit needs its three digits
  local fmt = (nextc ~= "" and nextc:match("%d")) and "\\%03d" or "\\%d"
  return fmt:format(c:byte()) .. nextc
end

-- Bytes above 127 stay as they are when they form valid UTF-8 (so text
-- in any script reads as text), else each becomes a decimal escape.
local function escape_high(run)
  if utf8.len(run) then return run end
  return (run:gsub(".", function(c) return ("\\%d"):format(c:byte()) end))
end

-- s as a Lua string literal; beyond 'limit' bytes it is cut, and the
-- literal says how long the string was.
local function quote(s, limit)
  local tail = ""
  if limit and #s > limit then
    tail = ("...(%d bytes)"):format(#s)
    s = s:sub(1, limit)
  end
  s = s:gsub('([%c"\\])(%d?)', function(c, d)
    local e = escapes[c]
    if e then return e .. d end
    return escape_byte(c, d)
  end)
  s = s:gsub("[\128-\255]+", escape_high)
  return '"' .. s .. '"' .. tail
end

-- Anything that is not a plain table, on one line.  Objects with a
-- __tostring (maps, views, writers, class instances) are described by
-- it; an error there is shown rather than raised.
local function scalar(x, limit)
  local t = type(x)
  if t == "string" then return quote(x, limit) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(x) end
  local ok, s = pcall(tostring, x)
  if ok and type(s) == "string" then return s end
  return ("<%s: __tostring failed>"):format(t)
end

local function has_tostring(t)
  local mt = getmetatable(t)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

-- Order of the keys that are not in the array part: numbers (by value),
-- strings (by bytes), booleans, then everything else by its description.
local rank = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ra, rb = rank[type(a)] or 4, rank[type(b)] or 4
  if ra ~= rb then return ra < rb end
  if ra == 1 or ra == 2 then return a < b end
  if ra == 3 then return (not a) and b end
  return scalar(a) < scalar(b)
end

-- the array part: 1..n with no nil in between
local function array_len(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return n
end

local render

local function key_text(k, opts, seen, depth)
  if is_name(k) then return k end
  if type(k) == "table" and not has_tostring(k) then
    return "[" .. render(k, opts, seen, depth, "") .. "]"
  end
  return "[" .. scalar(k, opts.string) .. "]"
end

-- The entries of t as strings, at most opts.items of them, plus a note
-- of how many were left out; and how many of them are positional.
local function entries(t, opts, seen, depth, inner)
  local out, n = {}, array_len(t)
  local shown = math.min(n, opts.items)
  for i = 1, shown do
    out[i] = render(rawget(t, i), opts, seen, depth, inner)
  end
  local keys = {}
  for k in next, t do
    if math.type(k) ~= "integer" or k < 1 or k > n then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  local left = n - shown
  for _, k in ipairs(keys) do
    if #out >= opts.items then
      left = left + 1
    else
      local kt = key_text(k, opts, seen, depth)
      out[#out + 1] = kt .. " = " .. render(rawget(t, k), opts, seen, depth,
                                            inner)
    end
  end
  if left > 0 then out[#out + 1] = ("...(%d more)"):format(left) end
  return out, shown
end

-- The lines of a table too wide for one: positional entries share lines
-- up to the width (a list of numbers stays compact), the others have a
-- line each.
local function fill(items, npos, room)
  local lines, cur = {}, nil
  for i, item in ipairs(items) do
    local short = i <= npos and not item:find("\n", 1, true)
    if short and cur and #cur + #item + 3 <= room then
      cur = cur .. ", " .. item
    else
      if cur then lines[#lines + 1] = cur end
      cur = nil
      if short then cur = item else lines[#lines + 1] = item end
    end
  end
  if cur then lines[#lines + 1] = cur end
  return lines
end

-- One value.  'seen' holds the tables on the path from the top: meeting
-- one again is a cycle.  'indent' is the indentation of the line the
-- value starts on, used for the width and the nested lines.
function render(x, opts, seen, depth, indent)
  if type(x) ~= "table" or has_tostring(x) then
    return scalar(x, depth > 0 and opts.string or nil)
  end
  if seen[x] then return "<cycle>" end
  if next(x) == nil then return "{}" end
  if depth >= opts.depth then return "{...}" end
  seen[x] = true
  local inner = indent .. opts.indent
  local items, npos = entries(x, opts, seen, depth + 1, inner)
  seen[x] = nil
  local line = "{ " .. table.concat(items, ", ") .. " }"
  if #indent + #line <= opts.width and not line:find("\n", 1, true) then
    return line
  end
  local lines = fill(items, npos, opts.width - #inner)
  return "{\n" .. inner .. table.concat(lines, ",\n" .. inner) .. ",\n"
    .. indent .. "}"
end

function M.show(x)
  return render(x, M.options, {}, 0, "")
end

-- Strings among the results print as they are, as lua prints them (the
-- text of m:sub(...) reads as text); inside tables they are quoted.
function M.print(...)
  local n = select("#", ...)
  if n == 0 then return end
  local parts = table.pack(...)
  for i = 1, n do
    if type(parts[i]) ~= "string" then parts[i] = M.show(parts[i]) end
  end
  io.stdout:write(table.concat(parts, "\t"), "\n")
  io.stdout:flush()
end
-- }======

-- {====== completion ======

local keywords = {}
for w in pairs(reserved) do keywords[#keywords + 1] = w end

local function callable(x)
  if type(x) == "function" then return true end
  local mt = getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

-- The table behind an __index: itself, or for a C closure (tome's maps
-- and views look their methods up that way) a table among its upvalues.
local function index_table(idx)
  if type(idx) == "table" then return idx end
  if type(idx) ~= "function" then return nil end
  for i = 1, 4 do
    local name, v = debug.getupvalue(idx, i)
    if name == nil then break end
    if type(v) == "table" then return v end
  end
  return nil
end

-- Add to 'out' the names x.name (or x:name, when 'methods') can reach:
-- x's own keys, then those of the __index chain.
local function add_names(x, methods, out)
  local hops = 0
  while x ~= nil and hops < 8 do
    if type(x) == "table" then
      for k, v in next, x do
        if is_name(k) and (not methods or callable(v)) then out[k] = true end
      end
    end
    local mt = getmetatable(x)
    if type(mt) ~= "table" then break end
    x = index_table(rawget(mt, "__index"))
    hops = hops + 1
  end
end

-- The value of a dotted path "a.b.c" from the globals, or nil.  Fields
-- are read as the program would read them (metamethods included), but
-- an error only means that there is nothing to complete.
local function resolve(path)
  local x = _G
  for name in path:gmatch("[^.]+") do
    local ok, v = pcall(function() return x[name] end)
    if not ok or v == nil then return nil end
    x = v
  end
  return x
end

-- The completions of 'word' (the text before the cursor, from the last
-- blank or operator): globals and keywords, "a.b.fi" fields, "m:li"
-- methods.  Returns a sorted list of whole words.
function M.complete(word)
  local names, prefix, part = {}, "", word
  local path, sep, last = word:match("^([%a_][%w_.]*)([.:])([%w_]*)$")
  if path then
    if path:find("..", 1, true) or path:sub(-1) == "." then return {} end
    local x = resolve(path)
    if x == nil then return {} end
    add_names(x, sep == ":", names)
    prefix, part = path .. sep, last
  elseif word == "" or word:match("^[%a_][%w_]*$") then
    add_names(_G, false, names)
    for _, k in ipairs(keywords) do names[k] = true end
  else
    return {}
  end
  -- names that start with "_" are private by habit: offered only when
  -- the word starts so too
  local private = part:sub(1, 1) == "_"
  local out = {}
  for k in pairs(names) do
    if k:sub(1, #part) == part and (private or k:sub(1, 1) ~= "_") then
      out[#out + 1] = prefix .. k
    end
  end
  table.sort(out)
  return out
end
-- }======

return M
