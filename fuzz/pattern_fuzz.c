/*
** fuzz/pattern_fuzz.c -- libFuzzer target: our pattern engine
** (src/pattern.c) against Lua 5.4's string.find / match / gmatch / gsub
** in the same lua_State.  Any difference in results or error messages
** aborts; so does any sanitizer report.  See fuzz/README.md.
**
** Input layout (all bytes are used; short inputs are padded with zeros):
**   byte 0   bits 0-1: gsub replacement (0 a string from the input,
**            1 a function, 2 a table, 3 "%2%1"); bits 2-4: gsub's limit
**            n; bit 5: find's plain flag; bit 6: run gmatch to the end;
**            bit 7: every search analysed (as a pattern retargeted with
**            tm_pat_subject: compiled items and fast paths even on
**            subjects under 64 bytes)
**   byte 1   init code (see init_for)
**   byte 2   pattern length (capped by what is left)
**   byte 3   replacement length (kind 0 only)
**   then the pattern, the replacement, and the rest is the subject.
**
** The subject and the pattern are copied into buffers of exactly their
** length (the test module of spec/c/pattern.c, included below), so ASan
** sees any read past either.
*/
#define PATTERN_SPEC_NO_MAIN
#include "../spec/c/pattern.c"

#include <stdint.h>

/* The comparison, in Lua: returns nil, or a description of the
** difference. */
static const char checker[] =
  "local T0, A = ...\n"
  "local TS = {[false] = T0, [true] = A}\n"
  "local function pk(ok, ...)\n"
  "  local r = {ok = ok, n = select('#', ...), ...}\n"
  "  if not ok and type(r[1]) == 'string' then\n"
  "    r[1] = r[1]:gsub(\"^(bad argument #%d+ to )'[^']*'\", '%1f')\n"
  "  end\n"
  "  return r\n"
  "end\n"
  "local function show(v)\n"
  "  if type(v) == 'string' then return string.format('%q', v) end\n"
  "  return tostring(v)\n"
  "end\n"
  FMT_AND_SAME
  "local function gm_all(gm, steps)\n"
  "  return function(s, p, init)\n"
  "    local out, it = {}, gm(s, p, init)\n"
  "    for _ = 1, steps do\n"
  "      local r = pk(true, it())\n"
  "      if r.n == 0 then break end\n"
  "      out[#out + 1] = fmt(r)\n"
  "    end\n"
  "    return table.concat(out, ' | ')\n"
  "  end\n"
  "end\n"
  "local function gms(M)\n"
  "  return {[false] = {gm_all(string.gmatch, 4), gm_all(M.gmatch, 4)},\n"
  "    [true] = {gm_all(string.gmatch, 1e9), gm_all(M.gmatch, 1e9)}}\n"
  "end\n"
  "local GMS = {[false] = gms(T0), [true] = gms(A)}\n"
  "local function cmp(what, f, g, ...)\n"
  "  local a, b = pk(pcall(f, ...)), pk(pcall(g, ...))\n"
  "  if same(a, b) then return nil end\n"
  "  local t = table.pack(...)\n"
  "  for i = 1, t.n do t[i] = show(t[i]) end\n"
  "  return string.format('%s(%s)\\n  string: %s\\n  ours:   %s', what,\n"
  "    table.concat(t, ', ', 1, t.n), fmt(a), fmt(b))\n"
  "end\n"
  "return function(s, p, init, plain, repl, n, all, analysed)\n"
  "  local T, GM = TS[analysed], GMS[analysed]\n"
  "  return cmp('find', string.find, T.find, s, p, init, plain)\n"
  "    or cmp('match', string.match, T.match, s, p, init)\n"
  "    or cmp('gmatch', GM[all][1], GM[all][2], s, p, init)\n"
  "    or cmp('gsub', string.gsub, T.gsub, s, p, repl, n)\n"
  "end\n";

/* the replacement function and table of kinds 1 and 2 */
static const char repls[] =
  "return function(...)\n"
  "  local t = table.pack(...)\n"
  "  if t[1] == 'b' then return false end\n"
  "  for i = 1, t.n do t[i] = tostring(t[i]) end\n"
  "  return table.concat(t, ',', 1, t.n)\n"
  "end, {a = 'A', ab = 1, b = false, [''] = '<>', [1] = 'one', [2] = {}}\n";

/* libFuzzer gives no context pointer: the state lives for the process */
static lua_State *FL;
static pool fpool;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FL = luaL_newstate();
  luaL_openlibs(FL);
  luaL_newmetatable(FL, BOX);
  lua_pushcfunction(FL, box_gc);
  lua_setfield(FL, -2, "__gc");
  lua_pop(FL, 1);
  fpool.n = 0;
  if (luaL_loadbuffer(FL, checker, sizeof checker - 1, "=checker") != LUA_OK)
    abort();
  push_module(FL, 0, &fpool);
  push_module(FL, 2, &fpool);
  lua_call(FL, 2, 1);  /* stack: [1] = check */
  if (luaL_loadbuffer(FL, repls, sizeof repls - 1, "=repls") != LUA_OK)
    abort();
  lua_call(FL, 0, 2);  /* [2] = function, [3] = table */
  return 0;
}

/* byte 1: the init argument, biased toward the edges of the subject */
static void push_init(lua_State *L, int code, size_t len) {
  lua_Integer n = (lua_Integer)len;
  switch (code % 16) {
    case 0: lua_pushnil(L); return;
    case 1: lua_pushinteger(L, 0); return;
    case 2: lua_pushinteger(L, n); return;
    case 3: lua_pushinteger(L, n + 1); return;
    case 4: lua_pushinteger(L, n + 2); return;
    case 5: lua_pushinteger(L, LUA_MAXINTEGER); return;
    case 6: lua_pushinteger(L, LUA_MININTEGER); return;
    case 7: lua_pushinteger(L, -n - 1); return;
    default: lua_pushinteger(L, (lua_Integer)(code / 16) - 4); return;
  }
}

static void push_limit(lua_State *L, int code) {
  static const lua_Integer lim[] = {0, -1, 1, 2, 3, LUA_MAXINTEGER};
  if (code < 2)
    lua_pushnil(L);
  else
    lua_pushinteger(L, lim[code - 2]);
}

/* Backtracking is exponential in the number of quantifiers, in Lua as in
** our engine: skip inputs that could take seconds (the spec covers the
** depth limit with hand-written patterns). */
static int too_slow(const uint8_t *p, size_t lp, size_t ls) {
  double cost = (double)ls + 1;
  size_t i;
  for (i = 0; i < lp; i++)
    if (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?')
      cost *= (double)ls + 1;
  return cost > 4e6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t hdr[4] = {0, 0, 0, 0};
  size_t i, lp, lr, ls;
  const uint8_t *p, *r, *s;
  int top = lua_gettop(FL);
  for (i = 0; i < 4 && i < size; i++)
    hdr[i] = data[i];
  data += i;
  size -= i;
  lp = hdr[2] < size ? hdr[2] : size;
  p = data;
  data += lp;
  size -= lp;
  lr = (hdr[0] & 3) == 0 ? (hdr[3] < size ? hdr[3] : size) : 0;
  r = data;
  s = data + lr;
  ls = size - lr;
  if (too_slow(p, lp, ls))
    return -1;  /* keep it out of the corpus */
  lua_pushvalue(FL, 1);
  lua_pushlstring(FL, (const char *)s, ls);
  lua_pushlstring(FL, (const char *)p, lp);
  push_init(FL, hdr[1], ls);
  lua_pushboolean(FL, hdr[0] & 32);
  switch (hdr[0] & 3) {
    case 0: lua_pushlstring(FL, (const char *)r, lr); break;
    case 1: lua_pushvalue(FL, 2); break;
    case 2: lua_pushvalue(FL, 3); break;
    default: lua_pushliteral(FL, "%2%1"); break;
  }
  push_limit(FL, (hdr[0] >> 2) & 7);
  lua_pushboolean(FL, hdr[0] & 64);
  lua_pushboolean(FL, hdr[0] & 128);
  if (lua_pcall(FL, 8, 1, 0) != LUA_OK) {
    fprintf(stderr, "checker failed: %s\n", lua_tostring(FL, -1));
    abort();
  }
  if (!lua_isnil(FL, -1)) {
    fprintf(stderr, "MISMATCH %s\n", lua_tostring(FL, -1));
    abort();
  }
  lua_settop(FL, top);
  return 0;
}
