-- Writes a seed corpus for pattern_fuzz into the directory arg[1]:
-- one input per (pattern, subject) pair below, in the target's layout
-- (4 header bytes, the pattern, the replacement, the subject).
local dir = assert(arg[1], "usage: lua5.4 fuzz/seeds.lua DIR")
local PATTERNS = {"a", "^a", "a$", "%a+", "[%w_]+", "[^%s]+", "(a)(b)",
  "()a()", "(.)%1", "%b()", "%f[%w]%w+", ".-b", "a*", "a?b", "[]]",
  "%s*(.-)%s*$", "(%w+)=(%w+)", "%z", "[a-c]+", "((a)b)"}
local SUBJECTS = {"", "a", "aab", "a(b)c", "x = 1, y = 2", "ab\0ab",
  "  trim  ", "THE (quick) fox"}
local n = 0
for i, p in ipairs(PATTERNS) do
  for j, s in ipairs(SUBJECTS) do
    n = n + 1
    local repl = (i + j) % 2 == 0 and "<%1>" or "%0%0"
    local hdr = string.char((i * 7 + j) % 128, (i + j * 3) % 256, #p, #repl)
    local f = assert(io.open(string.format("%s/seed%03d", dir, n), "wb"))
    f:write(hdr, p, repl, s)
    f:close()
  end
end
print(n .. " seeds written to " .. dir)
