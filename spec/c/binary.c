/*
** spec/c/binary.c -- differential test of src/binary.c against Lua 5.4's
** string.unpack, string.pack and string.packsize.
**
** Usage: build/spec_binary [seed [iterations]]
**
** The C functions below expose tm_unpack / tm_pack / tm_packsize to a Lua
** driver (the chunk DRIVER further down), which runs hand-picked cases
** and then random formats, data and positions, calling both our function
** and the string library under pcall and comparing:
**   - success or failure;
**   - on success, the number of results and each result: same Lua type
**     and subtype, integers and strings equal, floats equal bit for bit
**     (compared through string.pack("<d"), so NaN and -0.0 count);
**   - on failure, the whole message after (a) dropping any "file:line: "
**     prefix and (b) replacing the function name in "bad argument #N to
**     'NAME'" by '?'.  The argument number is compared too, after mapping
**     string.unpack's numbering to the one our contract promises (see
**     binary.h): our wrapper takes (s, fmt, pos) with posarg = 3, so the
**     format (#1 for string.unpack) must be named #2, the data (#2) and
**     the position (#3) #3.  tm_pack is checked with fmtarg 1 (numbers
**     unchanged) and fmtarg 2 (every number + 1).
** Unpacked bytes are copied to a malloc'd block of exactly their size (so
** ASan flags any read at or past the end) and, separately, to the end of
** a readable page followed by a PROT_NONE page (so even the plain build
** crashes on an over-read).  Exits 1 on any mismatch; prints the seed.
*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "binary.h"

/* {====== guard region ====== */

/* Bytes copied here end exactly where a PROT_NONE page starts. */
typedef struct {
  char *base;     /* start of the readable part */
  size_t room;    /* readable bytes before the guard page */
} guard_region;

static int guard_open(guard_region *g, size_t room) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t readable = (room + page - 1) / page * page;
  char *p = mmap(NULL, readable + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 0;
  if (mprotect(p + readable, page, PROT_NONE) != 0)
    return 0;
  g->base = p;
  g->room = readable;
  return 1;
}

/* }====== */


/* {====== functions for the driver ====== */

/* The malloc'd copy is owned by a userdata so that it is freed even when
** tm_unpack raises. */
typedef struct { char *p; } owned_copy;

static int copy_gc(lua_State *L) {
  owned_copy *c = lua_touserdata(L, 1);
  free(c->p);
  c->p = NULL;
  return 0;
}

static const char *exact_copy(lua_State *L, const char *s, size_t len) {
  owned_copy *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->p = NULL;
  if (luaL_newmetatable(L, "spec_binary.copy")) {
    lua_pushcfunction(L, copy_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  c->p = malloc(len);
  if (c->p == NULL && len > 0)
    luaL_error(L, "out of memory");
  if (len > 0)
    memcpy(c->p, s, len);
  lua_replace(L, 1);  /* keep it alive in place of s (already copied) */
  return c->p;
}

/* Call tm_unpack over 'data' with the arguments (s, fmt [, pos]) at 1..3,
** checking that it pushed exactly what it said. */
static int call_unpack(lua_State *L, const char *data, size_t len) {
  const char *fmt = luaL_checkstring(L, 2);
  lua_Integer pos = luaL_optinteger(L, 3, 1);
  int top, n;
  lua_settop(L, 3);
  top = lua_gettop(L);
  n = tm_unpack(L, fmt, data, len, pos, 3);
  if (lua_gettop(L) != top + n)
    return luaL_error(L, "SPEC: tm_unpack returned %d but pushed %d", n,
                      lua_gettop(L) - top);
  return n;
}

/* unpack(s, fmt [, pos]) over an exact malloc'd copy of s */
static int l_unpack(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  return call_unpack(L, exact_copy(L, s, len), len);
}

/* unpackg(s, fmt [, pos]) over a copy that ends at a PROT_NONE page */
static int l_unpackg(lua_State *L) {
  guard_region *g = lua_touserdata(L, lua_upvalueindex(1));
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char *at;
  if (len > g->room)
    return luaL_error(L, "SPEC: string too long for the guard region");
  at = g->base + g->room - len;
  memcpy(at, s, len);
  return call_unpack(L, at, len);
}

/* unpacknull(s, fmt [, pos]): s must be empty; passes data == NULL */
static int l_unpacknull(lua_State *L) {
  size_t len;
  luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len == 0, 1, "SPEC: must be empty");
  return call_unpack(L, NULL, 0);
}

/* pack(fmt, ...) with fmtarg 1; pack2(x, fmt, ...) with fmtarg 2 */
static int pack_at(lua_State *L, int fmtarg) {
  int top = lua_gettop(L);
  tm_pack(L, fmtarg);
  if (lua_gettop(L) != top + 1 || !lua_isstring(L, -1))
    return luaL_error(L, "SPEC: tm_pack did not push one string");
  return 1;
}
static int l_pack(lua_State *L) { return pack_at(L, 1); }
static int l_pack2(lua_State *L) { return pack_at(L, 2); }

static int l_packsize(lua_State *L) {
  int top = lua_gettop(L);
  lua_Integer n = tm_packsize(L, 1);
  if (lua_gettop(L) != top)
    return luaL_error(L, "SPEC: tm_packsize changed the stack");
  lua_pushinteger(L, n);
  return 1;
}

static void register_functions(lua_State *L, guard_region *g) {
  static const luaL_Reg fns[] = {
    {"unpack", l_unpack}, {"unpacknull", l_unpacknull},
    {"pack", l_pack}, {"pack2", l_pack2}, {"packsize", l_packsize},
    {NULL, NULL}
  };
  luaL_newlib(L, fns);
  lua_pushlightuserdata(L, g);
  lua_pushcclosure(L, l_unpackg, 1);
  lua_setfield(L, -2, "unpackg");
  lua_setglobal(L, "B");
}

/* }====== */


/* {====== the Lua driver ====== */

static const char DRIVER[] =
"local SEED, ITER = ...\n"
"math.randomseed(SEED)\n"
"local R = math.random\n"
"local failures, checks = 0, 0\n"
"local outcomes = {}  -- how often the oracle succeeded, per function\n"
"local function tally(name, r)\n"
"  local k = name .. (r.ok and ' ok' or ' error')\n"
"  outcomes[k] = (outcomes[k] or 0) + 1\n"
"end\n"
"\n"
"local function show(v)\n"
"  if type(v) == 'string' then return string.format('%q', v) end\n"
"  if math.type(v) == 'float' then return string.format('%a', v) end\n"
"  return tostring(v)\n"
"end\n"
"local function showres(r)\n"
"  local t = {}\n"
"  for i = 1, r.n do t[#t + 1] = show(r[i]) end\n"
"  return (r.ok and 'ok: ' or 'error: ') .. table.concat(t, ', ')\n"
"end\n"
"local function res(ok, ...)\n"
"  return { ok = ok, n = select('#', ...), ... }\n"
"end\n"
"\n"
"-- error text: no 'file:line: ' prefix, no function name, and the\n"
"-- argument number passed through argmap (oracle number -> ours)\n"
"local function normerr(msg, argmap)\n"
"  if type(msg) ~= 'string' then return msg end\n"
"  msg = msg:gsub('^[^\\n:]*:%d+: ', '')\n"
"  return (msg:gsub(\"^bad argument #(%d+) to '[^']*'\", function(k)\n"
"    k = tonumber(k)\n"
"    return 'bad argument #' .. (argmap and argmap(k) or k) .. \" to '?'\"\n"
"  end))\n"
"end\n"
"\n"
"local function same(a, b, argmap)\n"
"  if a.ok ~= b.ok then return false end\n"
"  if not a.ok then return normerr(a[1]) == normerr(b[1], argmap) end\n"
"  if a.n ~= b.n then return false end\n"
"  for i = 1, a.n do\n"
"    local x, y = a[i], b[i]\n"
"    if type(x) ~= type(y) or math.type(x) ~= math.type(y) then\n"
"      return false\n"
"    end\n"
"    if math.type(x) == 'float' then\n"
"      if string.pack('<d', x) ~= string.pack('<d', y) then return false end\n"
"    elseif x ~= y then return false end\n"
"  end\n"
"  return true\n"
"end\n"
"\n"
"local function fail(what, args, got, want)\n"
"  failures = failures + 1\n"
"  if failures <= 20 then\n"
"    local t = {}\n"
"    for i = 1, args.n do t[#t + 1] = show(args[i]) end\n"
"    print(string.format('MISMATCH %s(%s)\\n  tome:   %s\\n  string: %s',\n"
"      what, table.concat(t, ', '), showres(got), showres(want)))\n"
"  end\n"
"end\n"
"\n"
"-- unpack: the oracle numbers fmt #1, data #2, pos #3; our wrapper takes\n"
"-- (s, fmt, pos) with posarg 3 and promises fmt -> #2, data/pos -> #3\n"
"local function unpack_map(k) return k == 1 and 2 or 3 end\n"
"\n"
"local function check_unpack(fmt, s, pos)\n"
"  local want = res(pcall(string.unpack, fmt, s, pos))\n"
"  tally('unpack', want)\n"
"  local args = { n = 3, fmt, s, pos }\n"
"  local got = res(pcall(B.unpack, s, fmt, pos))\n"
"  checks = checks + 1\n"
"  if not same(got, want, unpack_map) then fail('unpack', args, got, want) end\n"
"  if #s <= 65536 then\n"
"    got = res(pcall(B.unpackg, s, fmt, pos))\n"
"    checks = checks + 1\n"
"    if not same(got, want, unpack_map) then\n"
"      fail('unpack[guard]', args, got, want)\n"
"    end\n"
"  end\n"
"  if s == '' then\n"
"    got = res(pcall(B.unpacknull, s, fmt, pos))\n"
"    checks = checks + 1\n"
"    if not same(got, want, unpack_map) then\n"
"      fail('unpack[NULL]', args, got, want)\n"
"    end\n"
"  end\n"
"  return want\n"
"end\n"
"\n"
"local function check_pack(fmt, ...)\n"
"  local want = res(pcall(string.pack, fmt, ...))\n"
"  tally('pack', want)\n"
"  local args = table.pack(fmt, ...)\n"
"  local got = res(pcall(B.pack, fmt, ...))\n"
"  checks = checks + 1\n"
"  if not same(got, want) then fail('pack', args, got, want) end\n"
"  got = res(pcall(B.pack2, 'x', fmt, ...))\n"
"  checks = checks + 1\n"
"  if not same(got, want, function(k) return k + 1 end) then\n"
"    fail('pack[fmtarg 2]', args, got, want)\n"
"  end\n"
"  return want\n"
"end\n"
"\n"
"local function check_packsize(fmt)\n"
"  local want = res(pcall(string.packsize, fmt))\n"
"  tally('packsize', want)\n"
"  local got = res(pcall(B.packsize, fmt))\n"
"  checks = checks + 1\n"
"  if not same(got, want) then fail('packsize', {n = 1, fmt}, got, want) end\n"
"  return want\n"
"end\n"
"\n"
"-- {====== hand-picked cases ======\n"
"local mi, ma = math.mininteger, math.maxinteger\n"
"local bytes16 = '\\1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\11\\12\\13\\14\\15\\16'\n"
"local ff = ('\\255'):rep(16)\n"
"local simple = { 'b', 'B', 'h', 'H', 'l', 'L', 'j', 'J', 'T', 'i', 'I',\n"
"  'f', 'd', 'n', 's', 'z', 'x', 'c0', 'c1', 'c5', ' ', '!', 'Xi4', 'Xh' }\n"
"for n = 1, 16 do\n"
"  simple[#simple + 1] = 'i' .. n; simple[#simple + 1] = 'I' .. n\n"
"  simple[#simple + 1] = 's' .. n; simple[#simple + 1] = '!' .. n\n"
"end\n"
"local datas = { '', 'a', 'abc', bytes16, ff, ('\\0'):rep(16),\n"
"  '\\128' .. ('\\0'):rep(15), ('\\0'):rep(15) .. '\\128',\n"
"  '\\255\\255\\255\\255\\255\\255\\255\\255\\0',\n"
"  '\\0\\0\\0\\0\\0\\0\\0\\128\\255', '\\255\\0\\0\\0\\0\\0\\0\\0\\128',\n"
"  'hello\\0world\\0', 'no terminator', '\\3abc', '\\3ab',\n"
"  '\\0\\0\\0\\0\\0\\0\\0\\3abcdef' }\n"
"for _, e in ipairs { '', '<', '>', '=', '!8', '<!4', '>!16', '!2' } do\n"
"  for _, o in ipairs(simple) do\n"
"    for _, s in ipairs(datas) do\n"
"      check_unpack(e .. o, s, 1)\n"
"      check_unpack(e .. o, s, -1)\n"
"      check_unpack(e .. 'b' .. o .. o, s, 2)  -- aligned after a byte\n"
"    end\n"
"    check_packsize(e .. o)\n"
"    check_packsize(e .. 'b' .. o .. 'b' .. o)\n"
"  end\n"
"end\n"
"-- positions, including the extremes\n"
"for _, s in ipairs { '', 'x', 'abcdef' } do\n"
"  for _, pos in ipairs { mi, mi + 1, -100, -#s - 2, -#s - 1, -#s, -1, 0,\n"
"      1, #s, #s + 1, #s + 2, ma, ma - 1 } do\n"
"    check_unpack('', s, pos); check_unpack('b', s, pos)\n"
"    check_unpack('z', s, pos); check_unpack('c0', s, pos)\n"
"  end\n"
"  check_unpack('b', s, nil)\n"
"end\n"
"-- errors and limits\n"
"local bad = { 'i0', 'i17', 'I0', 'I17', 's0', 's17', '!0', '!17',\n"
"  'i99999999999', 'c99999999999', 'c', 'cx', 'q', '%', '9', 'X', 'Xc1',\n"
"  'Xz', 'Xx', 'X<', 'X!4', 'XX', 'Xc', 'Xs', 'X ', '!3i4', '!8i3', '!6i4',\n"
"  '!16i12', 'i3', 'c2147483647', 'c2147483646', 'c2147483639c9',\n"
"  '!8c2147483639d', 'c2147483639c8', 'z\\0b', '<i4\\0i4', 'bz', 'b s1 z' }\n"
"for _, f in ipairs(bad) do\n"
"  for _, s in ipairs(datas) do check_unpack(f, s, 1) end\n"
"  check_packsize(f)\n"
"  if not f:find('c%d%d%d%d%d') then  -- would pad gigabytes\n"
"    check_pack(f, 1, 2, 3)\n"
"    check_pack(f, 'a', 'b')\n"
"  end\n"
"end\n"
"-- 'z' up to the very end of the range (the guard page must not fault)\n"
"for _, n in ipairs { 0, 1, 4095, 4096, 4097, 8192 } do\n"
"  local s = ('a'):rep(n)\n"
"  check_unpack('z', s, 1); check_unpack('z', s, -1); check_unpack('s1', s)\n"
"  check_unpack('z', s .. '\\0', 1); check_unpack('c' .. n, s, 1)\n"
"  check_unpack('c' .. (n + 1), s, 1); check_unpack('zz', s .. '\\0', 1)\n"
"end\n"
"-- pack of every option, in range and out of range\n"
"for _, e in ipairs { '', '<', '>', '!8', '>!4' } do\n"
"  for n = 1, 16 do\n"
"    for _, v in ipairs { 0, 1, -1, 127, 128, -128, -129, 255, 256, 65535,\n"
"        65536, -32768, -32769, 2^31 - 1, 2^31, -2^31, -2^31 - 1,\n"
"        0xffffffff, 0x100000000, mi, ma, 3.0, 1.5, '10', 'x', {}, nil } do\n"
"      check_pack(e .. 'i' .. n, v); check_pack(e .. 'I' .. n, v)\n"
"      check_pack(e .. 'b i' .. n .. ' b', 1, v, 2)\n"
"    end\n"
"    for _, s in ipairs { '', 'a', ('x'):rep(255), ('x'):rep(256),\n"
"        ('y'):rep(65536), 'a\\0b', 12 } do\n"
"      check_pack(e .. 's' .. n, s)\n"
"    end\n"
"  end\n"
"  for _, o in ipairs { 'b', 'B', 'h', 'H', 'l', 'L', 'j', 'J', 'T', 'i',\n"
"      'I' } do\n"
"    for _, v in ipairs { 0, -1, 1, mi, ma, 200, -200, 70000 } do\n"
"      check_pack(e .. o, v)\n"
"    end\n"
"  end\n"
"  for _, o in ipairs { 'f', 'd', 'n' } do\n"
"    for _, v in ipairs { 0.0, -0.0, 1.5, -2.25, 1 / 0, -1 / 0, 0 / 0,\n"
"        1e300, -1e300, 1e-300, 3.4028235677973366e38, 2^-149, 2^-150, 7,\n"
"        mi, '2.5', 'x', nil } do\n"
"      local ok, p = pcall(string.pack, e .. o, v)\n"
"      check_pack(e .. o, v)\n"
"      if ok then check_unpack(e .. o, p, 1) end\n"
"    end\n"
"  end\n"
"  for _, s in ipairs { '', 'a', 'abc', 'abcd', 'a\\0', 10 } do\n"
"    check_pack(e .. 'z', s); check_pack(e .. 'c3', s)\n"
"    check_pack(e .. 'c0', s)\n"
"  end\n"
"  check_pack(e .. 'x'); check_pack(e .. 'bXi4'); check_pack(e .. 'bXi4i4', 1)\n"
"  check_pack(e .. 'b!2Xj', 1); check_pack(e .. 'bxXd d', 1, 2)\n"
"  check_pack(e .. 'jj', 1); check_pack(e .. 'z j', 'a')\n"
"end\n"
"-- }======\n"
"\n"
"-- {====== random formats, values, data and positions ======\n"
"local fixed = { 'b', 'B', 'h', 'H', 'l', 'L', 'j', 'J', 'T', 'f', 'd',\n"
"  'n', 'z', 'x' }\n"
"local function rsize(lo, hi)\n"
"  local r = R(100)\n"
"  if r <= 3 then return tostring(({ 0, 17, 99 })[R(3)]) end\n"
"  if r <= 30 then return '' end\n"
"  return tostring(R(lo, hi))\n"
"end\n"
"-- one option: its text and the kind of value it takes (nil: none)\n"
"local function roption(allow_x)\n"
"  local r = R(100)\n"
"  if r <= 30 then\n"
"    local o = fixed[R(#fixed)]\n"
"    local kind = ({ f = 'float', d = 'float', n = 'float', z = 'z',\n"
"      x = false })[o]\n"
"    if kind == nil then kind = o:match('%l') and 'int' or 'uint' end\n"
"    return o, kind or nil, o\n"
"  elseif r <= 50 then\n"
"    local o = R(2) == 1 and 'i' or 'I'\n"
"    local n = rsize(1, 16)\n"
"    return o .. n, o == 'i' and 'int' or 'uint', o, tonumber(n)\n"
"  elseif r <= 58 then\n"
"    local n = rsize(1, 8)\n"
"    return 's' .. n, 's', 's', tonumber(n)\n"
"  elseif r <= 66 then\n"
"    local n = R(20) == 1 and '' or tostring(R(0, 10))\n"
"    return 'c' .. n, 'c', 'c', tonumber(n)\n"
"  elseif r <= 74 then\n"
"    return ({ '<', '>', '=', ' ' })[R(4)]\n"
"  elseif r <= 82 then\n"
"    local n = R(3) == 1 and '' or rsize(1, 16)\n"
"    return '!' .. n\n"
"  elseif r <= 97 and allow_x then\n"
"    return 'X' .. (roption(false))\n"
"  elseif r <= 97 then\n"
"    return 'x'\n"
"  else\n"
"    return ({ 'q', '%', '\\0', 'X', '7', 'Y' })[R(6)]\n"
"  end\n"
"end\n"
"\n"
"local function rbytes(n)\n"
"  local t = {}\n"
"  for i = 1, n do\n"
"    local r = R(10)\n"
"    t[i] = r <= 3 and 0 or r <= 5 and 255 or R(0, 255)\n"
"  end\n"
"  return string.char(table.unpack(t))\n"
"end\n"
"\n"
"local function rint(kind, n)\n"
"  local r = R(100)\n"
"  if r <= 4 then return ({ 1.5, '12', 'x', 2^63, -0.0 })[R(5)] end\n"
"  if r <= 10 then return ({ mi, ma, -1, 0 })[R(4)] end\n"
"  n = n or 8\n"
"  if n < 1 or n >= 8 then return R(mi, ma) end\n"
"  local bits = 8 * n\n"
"  if kind == 'int' then\n"
"    local lim = 1 << (bits - 1)\n"
"    return R(-lim - (r <= 15 and 2 or 0), lim - 1 + (r <= 15 and 2 or 0))\n"
"  end\n"
"  return R(r <= 15 and -2 or 0, (1 << bits) - 1 + (r <= 15 and 2 or 0))\n"
"end\n"
"\n"
"local function rvalue(kind, n)\n"
"  if R(60) == 1 then return nil end\n"
"  if kind == 'int' or kind == 'uint' then return rint(kind, n) end\n"
"  if kind == 'float' then\n"
"    local r = R(10)\n"
"    if r == 1 then\n"
"      return ({ 0 / 0, 1 / 0, -1 / 0, -0.0, 1e300, 2^-149, 7, '1.25' })[R(8)]\n"
"    end\n"
"    return (R() - 0.5) * 2.0^R(-60, 60)\n"
"  end\n"
"  local s = rbytes(R(0, 12))\n"
"  if kind == 'z' then\n"
"    if R(8) > 1 then s = s:gsub('%z', 'a') end\n"
"    return s\n"
"  end\n"
"  if kind == 'c' and n and R(3) > 1 then return s:sub(1, n) end\n"
"  if kind == 's' and R(20) == 1 then return s:rep(30) end\n"
"  return s\n"
"end\n"
"\n"
"local function rformat()\n"
"  local parts, values = {}, { n = 0 }\n"
"  for _ = 1, R(0, 8) do\n"
"    local text, kind, _, n = roption(true)\n"
"    parts[#parts + 1] = text\n"
"    if kind then\n"
"      values.n = values.n + 1\n"
"      values[values.n] = rvalue(kind, n)\n"
"    end\n"
"  end\n"
"  if R(30) == 1 then values.n = math.max(0, values.n - 1) end\n"
"  return table.concat(parts), values\n"
"end\n"
"\n"
"local function rpos(len)\n"
"  local r = R(14)\n"
"  if r == 1 then return nil end\n"
"  if r <= 8 then return ({ 1, 0, -1, len, len + 1, len + 2, -len,\n"
"    -len - 1, -len - 2, mi, ma })[R(11)] end\n"
"  return R(-len - 3, len + 3)\n"
"end\n"
"\n"
"for _ = 1, ITER do\n"
"  local fmt, values = rformat()\n"
"  local packed = check_pack(fmt, table.unpack(values, 1, values.n))\n"
"  check_packsize(fmt)\n"
"  local s\n"
"  if packed.ok then s = packed[1] else s = rbytes(R(0, 40)) end\n"
"  -- unpack what was packed, then damaged variants of it\n"
"  check_unpack(fmt, s, 1)\n"
"  local prefix = rbytes(R(0, 9))\n"
"  check_unpack(fmt, prefix .. s, #prefix + 1)\n"
"  for _ = 1, 3 do\n"
"    local t, r = s, R(4)\n"
"    if r == 1 and #t > 0 then t = t:sub(1, R(0, #t - 1))\n"
"    elseif r == 2 then t = t .. rbytes(R(1, 6))\n"
"    elseif r == 3 and #t > 0 then\n"
"      local i = R(#t)\n"
"      t = t:sub(1, i - 1) .. rbytes(1) .. t:sub(i + 1)\n"
"    else t = rbytes(R(0, 40)) end\n"
"    check_unpack(fmt, t, rpos(#t))\n"
"  end\n"
"end\n"
"-- }======\n"
"\n"
"local t = {}\n"
"for k, v in pairs(outcomes) do t[#t + 1] = k .. ' ' .. v end\n"
"table.sort(t)\n"
"print('spec_binary: oracle outcomes: ' .. table.concat(t, ', '))\n"
"print(string.format('spec_binary: %d checks, %d mismatches', checks,\n"
"  failures))\n"
"return failures\n";

/* }====== */


int main(int argc, char **argv) {
  lua_State *L;
  guard_region g;
  unsigned long seed;
  lua_Integer iterations = 5000;
  int failures;
  if (argc > 1)
    seed = strtoul(argv[1], NULL, 0);
  else
    seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
  if (argc > 2)
    iterations = strtol(argv[2], NULL, 0);
  printf("spec_binary: seed %lu (rerun: build/spec_binary %lu)\n", seed,
         seed);
  fflush(stdout);
  if (!guard_open(&g, 65536)) {
    perror("spec_binary: mmap");
    return 1;
  }
  L = luaL_newstate();
  if (L == NULL)
    return 1;
  luaL_openlibs(L);
  register_functions(L, &g);
  if (luaL_loadbuffer(L, DRIVER, sizeof DRIVER - 1, "=driver") != LUA_OK) {
    fprintf(stderr, "spec_binary: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)seed);
  lua_pushinteger(L, iterations);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    fprintf(stderr, "spec_binary: %s\n", lua_tostring(L, -1));
    return 1;
  }
  failures = (int)lua_tointeger(L, -1);
  lua_close(L);
  return failures == 0 ? 0 : 1;
}
