-- Writes a seed corpus for decode_fuzz into the directory arg[1]: value
-- bodies in the layout of src/codec.h, behind the mode byte 1 (framed
-- by the target), plus a few raw headers behind the mode byte 0.
local dir = assert(arg[1], "usage: lua5.4 fuzz/decode_seeds.lua DIR")
local function int(i) return "\3" .. string.pack("<i8", i) end
local function flt(x) return "\4" .. string.pack("<d", x) end
local function str(s)
  if #s < 256 then return "\5" .. string.char(#s) .. s end
  return "\6" .. string.pack("<I8", #s) .. s
end
local function tab(n, h, ...)
  return "\7" .. string.pack("<I8I8", n, h) .. table.concat({ ... })
end
local BODIES = {
  "\0", "\1", "\2", int(0), int(-1), int(math.maxinteger), flt(0.5),
  flt(-0.0), flt(1 / 0), str(""), str("abc\0"), str(("x"):rep(300)),
  tab(0, 0), tab(3, 0, int(1), str("b"), "\2"),
  tab(1, 2, int(7), str("k"), flt(1.5), "\2", tab(0, 1, str("x"), "\0")),
  tab(1, 0, tab(1, 0, tab(1, 0, tab(0, 0)))),
  tab(0, 1, tab(0, 0), str("table key")),
}
local RAW = { "\27TOM", "\27TOM\1\0\0\0", "\27TOM\2\0\0\0" .. ("\0"):rep(16) }
local n = 0
local function put(bytes)
  n = n + 1
  local f = assert(io.open(string.format("%s/seed%03d", dir, n), "wb"))
  f:write(bytes)
  f:close()
end
for _, b in ipairs(BODIES) do put("\1" .. b) end
for _, r in ipairs(RAW) do put("\0" .. r) end
print(n .. " seeds written to " .. dir)
