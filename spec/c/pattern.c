/*
** spec/c/pattern.c -- differential test of the pattern engine
** (src/pattern.c) against Lua 5.4's string.find / match / gmatch / gsub.
**
** A test module runs our engine over a copy of each subject (and
** pattern) in a buffer of exactly its length, so ASan flags any read
** past the end; a second module places them at the very end of a page
** followed by a PROT_NONE page, so any such read crashes even without
** ASan.  The driver (Lua, below) compares both modules with the string
** library on hand-written cases, on every malformed pattern, and on
** random patterns built from a grammar over small alphabets.
**
**   build/spec_pattern [seed [cases]]      (default: a time seed, 25000)
**
** The Lua driver is kept as a C string so that the test is one file.
**
** Prints the seed; exits 1 on any mismatch.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "pattern.h"

/* {====== buffers of exactly the subject's length ====== */

#define BOX "tp.box"
#define POOL_MAX 64

/* Mappings for page-end copies are recycled: an mmap, mprotect and
** munmap per call would cost more than the matching. */
typedef struct pool {
  size_t n;
  struct { char *mem; size_t len; } free[POOL_MAX];
} pool;

typedef struct box {
  char *mem;       /* malloc'd, or the mapping */
  size_t maplen;   /* 0 when malloc'd */
  pool *pool;
} box;

static void box_free(box *b) {
  if (b->maplen > 0) {
    pool *pl = b->pool;
    if (pl->n < POOL_MAX) {
      pl->free[pl->n].mem = b->mem;
      pl->free[pl->n++].len = b->maplen;
    }
    else
      munmap(b->mem, b->maplen);
  }
  else
    free(b->mem);
  b->mem = NULL;
  b->maplen = 0;
}

static int box_gc(lua_State *L) {
  box_free(luaL_checkudata(L, 1, BOX));
  return 0;
}

/* give the boxes at stack indices i and i + 1 back early (a call that
** raises leaves them to the garbage collector) */
static void box_release(lua_State *L, int i) {
  box_free(lua_touserdata(L, i));
  box_free(lua_touserdata(L, i + 1));
}

/* a mapping of len bytes whose last page is PROT_NONE */
static char *guarded_map(lua_State *L, pool *pl, size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), i;
  void *m;
  for (i = 0; i < pl->n; i++)
    if (pl->free[i].len == len) {
      char *mem = pl->free[i].mem;
      pl->free[i] = pl->free[--pl->n];
      return mem;
    }
  m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
           -1, 0);
  if (m == MAP_FAILED)
    luaL_error(L, "mmap failed");
  if (mprotect((char *)m + len - page, page, PROT_NONE) != 0)
    luaL_error(L, "mprotect failed");
  return m;
}

/* Push a box holding a copy of s[0..len) and return the copy.  mode 0
** (bit 0 clear): malloc(len) (ASan sees any byte past it); mode 1: the
** copy ends exactly where a PROT_NONE page begins. */
static const char *box_copy(lua_State *L, int mode, const char *s,
                            size_t len) {
  pool *pl = lua_touserdata(L, lua_upvalueindex(2));
  box *b = lua_newuserdatauv(L, sizeof *b, 0);
  char *data;
  b->mem = NULL;
  b->maplen = 0;
  b->pool = pl;
  luaL_setmetatable(L, BOX);
  if ((mode & 1) == 0) {
    b->mem = malloc(len > 0 ? len : 1);
    if (b->mem == NULL)
      luaL_error(L, "out of memory");
    /* a zero-length subject still gets a one-byte block: point past it
    ** so that reading data[0] is an overflow */
    data = len > 0 ? b->mem : b->mem + 1;
  }
  else {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t maplen = ((len + page - 1) / page + 1) * page;
    b->mem = guarded_map(L, pl, maplen);
    b->maplen = maplen;
    data = b->mem + maplen - page - len;
  }
  memcpy(data, s, len);
  return data;
}
/* }====== */


/* {====== the test module: string.* semantics over our engine ====== */

#define MODE(L) ((int)lua_tointeger(L, lua_upvalueindex(1)))
/* mode bit 1: the search is analysed (and its fast paths and compiled
** items used) whatever the subject's length, as for a pattern retargeted
** with tm_pat_subject; without it, subjects under 64 bytes are not */
#define ANALYSED(L) ((MODE(L) & 2) != 0)

static int find_aux(lua_State *L, int find) {
  size_t ls, lp, init, b, e;
  const char *s0 = luaL_checklstring(L, 1, &ls);
  const char *p0 = luaL_checklstring(L, 2, &lp);
  const char *s, *p;
  int boxes;
  init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), ls);
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  boxes = lua_gettop(L) + 1;
  s = box_copy(L, MODE(L), s0, ls);
  p = box_copy(L, MODE(L), p0, lp);
  if (find && (lua_toboolean(L, 4) || tm_pat_isplain(p, lp))) {
    const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
    if (hit != NULL) {
      lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
      lua_pushinteger(L, (lua_Integer)(hit - s + lp));
      box_release(L, boxes);
      return 2;
    }
  }
  else {
    tm_pat ms;
    tm_pat_init(&ms, L, s, ls, p, lp, 1);
    if (ANALYSED(L))
      tm_pat_subject(&ms, s, ls);
    if (tm_pat_find(&ms, init, &b, &e)) {
      int n = 0;
      if (find) {
        lua_pushinteger(L, (lua_Integer)b + 1);
        lua_pushinteger(L, (lua_Integer)e);
        n = 2;
      }
      n += tm_pat_push_captures(&ms, b, e, !find);
      box_release(L, boxes);
      return n;
    }
  }
  box_release(L, boxes);
  luaL_pushfail(L);
  return 1;
}

static int t_find(lua_State *L) { return find_aux(L, 1); }
static int t_match(lua_State *L) { return find_aux(L, 0); }

typedef struct gmstate {
  tm_pat ms;
  size_t pos, last;
} gmstate;

static int gmatch_step(lua_State *L) {
  gmstate *g = lua_touserdata(L, lua_upvalueindex(1));
  size_t b, e;
  g->ms.L = L;
  if (!tm_pat_next(&g->ms, g->pos, g->last, &b, &e))
    return 0;
  g->pos = g->last = e;
  return tm_pat_push_captures(&g->ms, b, e, 1);
}

static int t_gmatch(lua_State *L) {
  size_t ls, lp, init;
  const char *s0 = luaL_checklstring(L, 1, &ls);
  const char *p0 = luaL_checklstring(L, 2, &lp);
  const char *s, *p;
  gmstate *g;
  init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), ls);
  if (init > ls)
    init = ls + 1;
  g = lua_newuserdatauv(L, sizeof *g, 0);
  s = box_copy(L, MODE(L), s0, ls);
  p = box_copy(L, MODE(L), p0, lp);
  tm_pat_init(&g->ms, L, s, ls, p, lp, 0);
  if (ANALYSED(L))
    tm_pat_subject(&g->ms, s, ls);
  g->pos = init;
  g->last = TM_PAT_NONE;
  lua_pushcclosure(L, gmatch_step, 3);  /* the state and both boxes */
  return 1;
}

static int t_gsub(lua_State *L) {
  size_t ls, lp, pos = 0, last = TM_PAT_NONE, b, e;
  const char *s0 = luaL_checklstring(L, 1, &ls);
  const char *p0 = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3), changed = 0;
  lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
  const char *s, *p;
  int boxes;
  tm_pat ms;
  luaL_Buffer buf;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                   tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  boxes = lua_gettop(L) + 1;
  s = box_copy(L, MODE(L), s0, ls);
  p = box_copy(L, MODE(L), p0, lp);
  luaL_buffinit(L, &buf);
  tm_pat_init(&ms, L, s, ls, p, lp, 1);
  if (ANALYSED(L))
    tm_pat_subject(&ms, s, ls);
  while (n < max_n && tm_pat_next(&ms, pos, last, &b, &e)) {
    luaL_addlstring(&buf, s + pos, b - pos);
    n++;
    changed |= tm_pat_add_repl(&ms, &buf, b, e, 3);
    pos = last = e;
    if (ms.anchor)
      break;
  }
  if (!changed)
    lua_pushvalue(L, 1);
  else {
    luaL_addlstring(&buf, s + pos, ls - pos);
    luaL_pushresult(&buf);
  }
  lua_pushinteger(L, n);
  box_release(L, boxes);
  return 2;
}

/* findeach(p, s1, s2, ...): string.find(si, p) for each subject with one
** tm_pat retargeted with tm_pat_subject, as a grep over lines does; a
** list of "b e" strings (false when there is no match) */
static int t_findeach(lua_State *L) {
  size_t lp, ls, b, e;
  int i, n = lua_gettop(L);
  const char *p0 = luaL_checklstring(L, 1, &lp);
  const char *p = box_copy(L, MODE(L), p0, lp);
  tm_pat ms;
  tm_pat_init(&ms, L, "", 0, p, lp, 1);
  lua_createtable(L, n - 1, 0);
  for (i = 2; i <= n; i++) {
    const char *s0 = luaL_checklstring(L, i, &ls);
    const char *s = box_copy(L, MODE(L), s0, ls);
    tm_pat_subject(&ms, s, ls);
    if (tm_pat_find(&ms, 0, &b, &e)) {
      lua_pop(L, tm_pat_push_captures(&ms, b, e, 0));  /* may raise */
      lua_pushfstring(L, "%d %d", (int)b + 1, (int)e);
    }
    else
      lua_pushboolean(L, 0);
    lua_rawseti(L, -3, i - 1);
    lua_pop(L, 1);  /* the box */
  }
  return 1;
}

/* tm_pat_required over a copy of the pattern */
static int t_required(lua_State *L) {
  size_t lp, n;
  const char *p0 = luaL_checklstring(L, 1, &lp);
  char buf[TM_PAT_PREFIX_MAX];
  const char *p = box_copy(L, MODE(L), p0, lp);
  n = tm_pat_required(p, lp, buf, (size_t)luaL_optinteger(L, 2, sizeof buf));
  lua_pushlstring(L, buf, n);
  return 1;
}

static void push_module(lua_State *L, int mode, pool *pl) {
  static const luaL_Reg fns[] = {
    {"find", t_find}, {"match", t_match}, {"gmatch", t_gmatch},
    {"gsub", t_gsub}, {"required", t_required},
    {"findeach", t_findeach}, {NULL, NULL}
  };
  lua_newtable(L);
  lua_pushinteger(L, mode);
  lua_pushlightuserdata(L, pl);
  luaL_setfuncs(L, fns, 2);
}
/* }====== */


/* The fuzz target (fuzz/pattern_fuzz.c) includes this file for the test
** module above, without what follows. */
/* Lua shared with fuzz/pattern_fuzz.c: fmt(r) shows a packed outcome
** (with the show() defined before it), same(a, b) compares two of them. */
#define FMT_AND_SAME \
  "local function fmt(r)\n" \
  "  local t = {}\n" \
  "  for i = 1, r.n do t[i] = show(r[i]) end\n" \
  "  return (r.ok and \"\" or \"error: \") .. table.concat(t, \", \")\n" \
  "end\n" \
  "local function same(a, b)\n" \
  "  if a.ok ~= b.ok or a.n ~= b.n then return false end\n" \
  "  for i = 1, a.n do\n" \
  "    if math.type(a[i]) ~= math.type(b[i]) or a[i] ~= b[i] then\n" \
  "      return false\n" \
  "    end\n" \
  "  end\n" \
  "  return true\n" \
  "end\n"

#ifndef PATTERN_SPEC_NO_MAIN

/* {====== C-level checks of the small helpers ====== */

static int c_checks(void) {
  static const struct { lua_Integer init; size_t len, want; } pr[] = {
    {1, 5, 0}, {0, 5, 0}, {-1, 5, 4}, {-5, 5, 0}, {-6, 5, 0}, {5, 5, 4},
    {6, 5, 5}, {7, 5, 6}, {LUA_MININTEGER, 5, 0}, {0, 0, 0}, {-1, 0, 0},
    {LUA_MAXINTEGER, 3, (size_t)LUA_MAXINTEGER - 1},
  };
  int bad = 0;
  size_t i;
  for (i = 0; i < sizeof pr / sizeof pr[0]; i++)
    if (tm_pat_posrelat(pr[i].init, pr[i].len) != pr[i].want) {
      printf("posrelat(%lld, %zu) = %zu, want %zu\n", (long long)pr[i].init,
             pr[i].len, tm_pat_posrelat(pr[i].init, pr[i].len), pr[i].want);
      bad++;
    }
  if (!tm_pat_isplain("abc\0)]", 6) || tm_pat_isplain("a\0.", 3) ||
      tm_pat_isplain("-", 1) || !tm_pat_isplain("", 0)) {
    printf("tm_pat_isplain is wrong\n");
    bad++;
  }
  return bad;
}
/* }====== */

/* {====== the driver (Lua) ====== */

static const char driver[] =
  "-- the differential driver: T (malloc'd copies), Q (page-end copies),\n"
  "-- A (malloc'd copies, every search analysed: compiled items, fast\n"
  "-- paths even on short subjects)\n"
  "local T, Q, seed, ncases, A = ...\n"
  "math.randomseed(seed)\n"
  "local R = math.random\n"
  "local fails, compared = 0, 0\n"
  "local MODS = {T, Q, A}\n"
  "\n"
  "local function pk(ok, ...)\n"
  "  local r = {ok = ok, n = select(\"#\", ...), ...}\n"
  "  if not ok and type(r[1]) == \"string\" then\n"
  "    -- argument errors name the function: string.gsub vs the test module's\n"
  "    r[1] = r[1]:gsub(\"^(bad argument #%d+ to )'[^']*'\", \"%1'f'\")\n"
  "    -- where the error was raised from is not the engine's business\n"
  "    r[1] = r[1]:gsub(\"^driver:%d+: \", \"\")\n"
  "  end\n"
  "  return r\n"
  "end\n"
  "\n"
  "local function show(v)\n"
  "  if type(v) == \"string\" then\n"
  "    return (string.format(\"%q\", v):gsub(\"\\\\\\n\", \"\\\\n\"))\n"
  "  end\n"
  "  return math.type(v) == \"float\" and string.format(\"%.17g\", v) or tostring(v)\n"
  "end\n"
  "\n"
  FMT_AND_SAME
  "\n"
  "local function report(what, args, want, got)\n"
  "  fails = fails + 1\n"
  "  if fails <= 20 then\n"
  "    local t = {}\n"
  "    for i = 1, args.n do t[i] = show(args[i]) end\n"
  "    print(string.format(\"MISMATCH %s(%s)\\n  string: %s\\n  ours:   %s\",\n"
  "      what, table.concat(t, \", \"), fmt(want), fmt(got)))\n"
  "  end\n"
  "end\n"
  "\n"
  "local function compare(what, f, g, ...)\n"
  "  compared = compared + 1\n"
  "  local want, got = pk(pcall(f, ...)), pk(pcall(g, ...))\n"
  "  if not same(want, got) then report(what, pk(true, ...), want, got) end\n"
  "end\n"
  "\n"
  "-- all the matches of gmatch as one string (or the error)\n"
  "local function gmatch_all(gm)\n"
  "  return function(s, p, init)\n"
  "    local out, it = {}, gm(s, p, init)\n"
  "    for _ = 1, 300 do\n"
  "      local r = pk(true, it())\n"
  "      if r.n == 0 then break end\n"
  "      out[#out + 1] = fmt(r)\n"
  "    end\n"
  "    return table.concat(out, \" | \")\n"
  "  end\n"
  "end\n"
  "local gmatch_lua = gmatch_all(string.gmatch)\n"
  "local gmatch_ours = {}\n"
  "for i, M in ipairs(MODS) do gmatch_ours[i] = gmatch_all(M.gmatch) end\n"
  "\n"
  "local function run_find(s, p, init, plain)\n"
  "  for i, M in ipairs(MODS) do\n"
  "    compare(\"find\", string.find, M.find, s, p, init, plain)\n"
  "    compare(\"match\", string.match, M.match, s, p, init)\n"
  "    compare(\"gmatch\", gmatch_lua, gmatch_ours[i], s, p, init)\n"
  "  end\n"
  "end\n"
  "\n"
  "local function run_gsub(s, p, repl, n)\n"
  "  for _, M in ipairs(MODS) do\n"
  "    compare(\"gsub\", string.gsub, M.gsub, s, p, repl, n)\n"
  "  end\n"
  "end\n"
  "\n"
  "-- {====== replacements ======\n"
  "local REPL_STRINGS = {\"x\", \"%0\", \"%1\", \"<%1|%2>\", \"%%\", \"%\", \"%a\", \"\",\n"
  "  \"[%0]\", \"%9\", \"%3-%1\", \"a%\", \"%2\", 7, 1.5, \"%\\0\"}\n"
  "local REPL_TABLE = {a = \"A\", ab = \"AB\", [\"\"] = \"E\", b = false, c = 3,\n"
  "  [1] = \"one\", [2] = 2.5, [3] = {}, [\"(\"] = true}\n"
  "local REPL_FUNCS = {\n"
  "  function(...) return table.concat({...}, \",\") end,\n"
  "  function() return nil end,\n"
  "  function() return false end,\n"
  "  function(a) return #tostring(a) end,\n"
  "  function() return {} end,\n"
  "  function(a, b) return b end,\n"
  "}\n"
  "local function rrepl()\n"
  "  local r = R(10)\n"
  "  if r <= 5 then return REPL_STRINGS[R(#REPL_STRINGS)]\n"
  "  elseif r <= 7 then return REPL_TABLE\n"
  "  elseif r == 8 then return true  -- a bad type\n"
  "  else return REPL_FUNCS[R(#REPL_FUNCS)] end\n"
  "end\n"
  "local LIMITS = {false, false, false, -1, 0, 1, 2, 3, math.maxinteger,\n"
  "  math.mininteger, 2.0, \"1\"}\n"
  "local function rlimit()\n"
  "  local n = LIMITS[R(#LIMITS)]\n"
  "  if n == false then return nil end\n"
  "  return n\n"
  "end\n"
  "-- }======\n"
  "\n"
  "local function run_all(s, p, init, plain)\n"
  "  run_find(s, p, init, plain)\n"
  "  run_gsub(s, p, rrepl(), rlimit())\n"
  "end\n"
  "\n"
  "-- {====== hand-written cases ======\n"
  "local SUBJECTS = {\"\", \"a\", \"aaa\", \"hello world\", \"  x = 10, y = 20  \",\n"
  "  \"THE (quick) fox\", \"f(a(b)c)d)\", \"a\\0b\\0c\", \"a.b-c%d[e]f^g$h\",\n"
  "  \"one two  three\", \"[[x]] ]]\", \"\\0\", \"aXbXc\", \"0x1F 0XzZ 123abc\",\n"
  "  \"\\t\\n\\r\\v\\f !~\\127\\128\\255\", \"abcabcabc\", \"((()))\", \"))((\",\n"
  "  \"alo alo\", \"x==y, z==x\", \"foxfox\", \"1.22.333.4 GET 10.0.0.1x 5.\",\n"
  "  \"a=b cc=dd e= =f\", \"f(x) g_1(y) (z)\", \"12..3...4.\", \"ab  cd  \"}\n"
  "local PATTERNS = {\n"
  "  -- literals, '.', anchors\n"
  "  \"\", \"a\", \"aa\", \"x\", \"o w\", \".\", \"..\", \"^a\", \"^h\", \"a$\", \"c$\", \"^$\", \"$\",\n"
  "  \"^\", \"a$b\", \"^^\", \"$$\", \"b^\", \"%^\", \"%$\", \".$\", \"^.-$\", \"^(.-)$\",\n"
  "  -- classes\n"
  "  \"%a\", \"%A+\", \"%c\", \"%C+\", \"%d+\", \"%D\", \"%g+\", \"%G\", \"%l+\", \"%L\", \"%p+\",\n"
  "  \"%P\", \"%s+\", \"%S+\", \"%u\", \"%U*\", \"%w+\", \"%W\", \"%x+\", \"%X\", \"%z\", \"%Z+\",\n"
  "  \"%q\", \"%Q\", \"%.\", \"%%\", \"%]\", \"%-\", \"%(\", \"%)\",\n"
  "  -- sets\n"
  "  \"[abc]\", \"[^abc]+\", \"[a-c]+\", \"[c-a]\", \"[%a_][%w_]*\", \"[%d%s]+\", \"[]]\",\n"
  "  \"[^]]+\", \"[]a]\", \"[a-]\", \"[-a]\", \"[%]]\", \"[%-]\", \"[a%-z]\", \"[^%s]+\",\n"
  "  \"[\\0]\", \"[^\\0]+\", \"[a-%]]\", \"[%%]\", \"[%a-z]\", \"[.]\", \"[^^]\", \"[\\0-a]+\",\n"
  "  -- quantifiers\n"
  "  \"a*\", \"a+\", \"a-\", \"a?\", \".*\", \".+\", \".-\", \".?\", \"a*b\", \"a-b\", \"a?b\",\n"
  "  \"x*\", \"x+\", \"x-\", \"x?\", \"a**\", \"a++\", \"*a\", \"+\", \"-\", \"?\", \"a.-c\",\n"
  "  \"%s*(%S+)%s*\", \"^%s*(.-)%s*$\", \"(%w+)%s*=%s*(%w+)\",\n"
  "  -- captures\n"
  "  \"(a)\", \"(a)(b)\", \"()\", \"()a()\", \"(()a)\", \"((a)(b))\", \"(a*(.)%w(%s*))\",\n"
  "  \"(h)(e)(l)(l)(o)\", \"(.)%1\", \"(a)%1\", \"(%w+) %1\", \"()(%w+)()\",\n"
  "  \"(.-)%1\", \"(%a)(%a)%2%1\",\n"
  "  -- %b and %f\n"
  "  \"%b()\", \"%b((\", \"%b))\", \"%bab\", \"%b[]\", \"(%b())\", \"%b()%b()\",\n"
  "  \"%f[%w]%w+\", \"%f[%W]\", \"%f[%a]\", \"%f[^%z]\", \"%f[%z]\", \"%f[a]\", \"%f[^a]\",\n"
  "  \"%f[%S].-%f[%s].-%f[%S]\", \"%f[%l]%a+\",\n"
  "  -- odd\n"
  "  \"a\\0b\", \"\\0\", \"%z+\", \".%z.\", \"[%z]\", \"%Z\",\n"
  "  -- literals after fixed-width items, literals inside (fast paths)\n"
  "  \"a.c\", \"l.o w\", \"b%zc\", \"x = %d+\", \"a%.b\", \"e.l\", \"%a?fox\", \".-fox\",\n"
  "  \"(%a)(%a)x\", \"%s%a+%s\", \"%d%d%d\",\n"
  "  -- a run of a class, then a literal (the search looks for the literal)\n"
  "  \"%d+%.%d+%.%d+%.%d+\", \"(%d+)%.(%d+)\", \"%d*%.\", \"%d-%.\", \"%a+=\",\n"
  "  \"(%w+)=(%w*)\", \"[%w_]*%(\", \"%a-x\", \"%S+ \", \"[^%s]*  \", \"%l+()o\",\n"
  "  \"%d+%.+\", \"%a+(%a)\", \"(%a+)%1\", \"%d+a*b\", \"%x+0\", \"[ab]+a\",\n"
  "}\n"
  "local MALFORMED = {\n"
  "  \"%\", \"a%\", \"[a\", \"[^\", \"[\", \"[%\", \"[%]\", \"[a-\", \"[^]\", \"[]\", \"%f\", \"%fa\",\n"
  "  \"%f[a\", \"%f\", \"a%f\", \"%b\", \"%ba\", \"a%b\", \"(\", \")\", \"a)\", \"%1\", \"(%1)\",\n"
  "  \"%0\", \"(a)%2\", \"()%1\", \"(()\", \"(()%1\", \"((a)%2)\", \"(a%1)\",\n"
  "  string.rep(\"(\", 33) .. \"a\", string.rep(\"()\", 33), string.rep(\"()\", 32),\n"
  "  string.rep(\"(a)\", 32), string.rep(\"(a)\", 33), \"[\" .. string.rep(\"a\", 20),\n"
  "  \"%g%\", \"[a]%\", \"[a]]\", \"(.\", \"(.)%\", string.rep(\"a?\", 198),\n"
  "  string.rep(\"a?\", 199), string.rep(\"a?\", 200), string.rep(\"a?\", 250),\n"
  "  string.rep(\".-\", 210), string.rep(\"(.*)\", 40), string.rep(\".*\", 201),\n"
  "  string.rep(\"a*\", 201), \"^\" .. string.rep(\"a-\", 201) .. \"$\",\n"
  "  -- raising before a literal that the subject lacks (fast paths must not\n"
  "  -- skip the error)\n"
  "  string.rep(\"(\", 33) .. \"xy\", string.rep(\"()\", 33) .. \"xy\",\n"
  "  string.rep(\".-\", 210) .. \"xy\", string.rep(\"(.)\", 40) .. \"xy\", \"%1xy\",\n"
  "  \")xy\", \"[axy\", \"%bxy\", \"%fxy\", \"%f[xy\", \"(.)%2xy\", \"(x)%1y\",\n"
  "  string.rep(\"c-\", 140) .. \"xy\", string.rep(\"(.-)\", 80) .. \"xy\",\n"
  "  -- raising in the rest of the pattern after a repetition (the matcher\n"
  "  -- must not skip the call because the next byte is not an x)\n"
  "  \"a*\" .. string.rep(\"(\", 33) .. \"xy\", \"a-\" .. string.rep(\"()\", 33) .. \"xy\",\n"
  "  \"a?\" .. string.rep(\"(\", 33) .. \"xy\", \"a*)xy\", \"a-)xy\", \"a?)xy\", \"(a*))xy\",\n"
  "}\n"
  "\n"
  "local function hand_written()\n"
  "  local k = 0\n"
  "  for _, s in ipairs(SUBJECTS) do\n"
  "    for _, p in ipairs(PATTERNS) do\n"
  "      for _, init in ipairs{1, 2, -1, #s, #s + 1} do\n"
  "        run_find(s, p, init)\n"
  "      end\n"
  "      run_find(s, p, nil, true)\n"
  "      -- a rotating share of the replacements and limits for each pair\n"
  "      for _ = 1, 3 do\n"
  "        k = k + 1\n"
  "        run_gsub(s, p, REPL_STRINGS[k % #REPL_STRINGS + 1])\n"
  "      end\n"
  "      run_gsub(s, p, REPL_TABLE)\n"
  "      run_gsub(s, p, REPL_FUNCS[k % #REPL_FUNCS + 1])\n"
  "      run_gsub(s, p, \"<%0>\", LIMITS[k % #LIMITS + 1] or nil)\n"
  "    end\n"
  "  end\n"
  "  -- long subjects (the fast paths start at 64 bytes), the interesting\n"
  "  -- part at either end\n"
  "  local fill = string.rep(\"~\", 70)\n"
  "  for i, s in ipairs(SUBJECTS) do\n"
  "    for _, long in ipairs{fill .. s, s .. fill, fill .. s .. fill} do\n"
  "      for _, p in ipairs(PATTERNS) do\n"
  "        run_find(long, p, i % 3 == 0 and -#s - 2 or nil)\n"
  "        run_gsub(long, p, \"<%0>\")\n"
  "      end\n"
  "    end\n"
  "  end\n"
  "  local deep = string.rep(\"a\", 300)\n"
  "  local MSUBJ = {\"\", \"a\", \"aa\", \"ab\", \"abc(a)\", deep, deep .. \"b\",\n"
  "    string.rep(\"b\", 100), string.rep(\"x\", 70) .. \"y\"}\n"
  "  for _, s in ipairs(MSUBJ) do\n"
  "    for _, p in ipairs(MALFORMED) do\n"
  "      for _, init in ipairs{1, 2, -1, #s + 1, #s + 2} do\n"
  "        run_find(s, p, init)\n"
  "      end\n"
  "      run_gsub(s, p, \"x\")\n"
  "      run_gsub(s, p, \"%1\")\n"
  "      run_gsub(s, p, REPL_FUNCS[1])\n"
  "      run_gsub(s, p, \"x\", 0)\n"
  "    end\n"
  "  end\n"
  "end\n"
  "-- }======\n"
  "\n"
  "-- {====== random patterns ======\n"
  "local SUBJ_CHARS = {\"a\", \"b\", \"a\", \"b\", \"a\", \"b\", \"c\", \"\\0\", \" \", \"(\", \")\",\n"
  "  \"1\", \"A\", \"%\", \"]\", \"-\", \".\"}\n"
  "local function rsubject()\n"
  "  local len = R(8) == 1 and R(64, 300) or R(0, 24)\n"
  "  local t = {}\n"
  "  for i = 1, len do t[i] = SUBJ_CHARS[R(#SUBJ_CHARS)] end\n"
  "  return table.concat(t)\n"
  "end\n"
  "\n"
  "local LITS = {\"a\", \"b\", \"a\", \"b\", \"c\", \"A\", \"1\", \" \", \"\\0\", \"%%\", \"%(\",\n"
  "  \"%)\", \"%.\", \"%[\", \"%]\", \"%-\", \"]\", \"-\", \"%a\", \"%d\", \"%s\", \"%w\", \"%A\",\n"
  "  \"%z\", \"%p\", \"%S\", \"%x\", \"%u\", \"%l\", \"%C\", \"%q\", \"%Z\"}\n"
  "local SET_PARTS = {\"a\", \"b\", \"a-b\", \"%a\", \"%d\", \"%s\", \"%]\", \"-\", \"%%\",\n"
  "  \"\\0\", \"b-a\", \"(\", \"%W\", \"^\"}\n"
  "local QUANTS = {\"*\", \"+\", \"-\", \"?\"}\n"
  "local PAIRS = {\"()\", \"ab\", \"ba\", \"aa\", \"(b\", \"\\0a\"}\n"
  "\n"
  "local function rset()\n"
  "  local t = {\"[\"}\n"
  "  if R(3) == 1 then t[#t + 1] = \"^\" end\n"
  "  if R(10) == 1 then t[#t + 1] = \"]\" end\n"
  "  for _ = 1, R(3) do t[#t + 1] = SET_PARTS[R(#SET_PARTS)] end\n"
  "  t[#t + 1] = \"]\"\n"
  "  return table.concat(t)\n"
  "end\n"
  "\n"
  "local rseq\n"
  "local ncap = 0  -- captures opened so far in the pattern being built\n"
  "local function ritem(depth)\n"
  "  local r = R(100)\n"
  "  local single\n"
  "  if r <= 36 then single = LITS[R(#LITS)]\n"
  "  elseif r <= 48 then single = \".\"\n"
  "  elseif r <= 60 then single = rset()\n"
  "  elseif r <= 78 and depth < 3 then\n"
  "    ncap = ncap + 1\n"
  "    return \"(\" .. rseq(depth + 1) .. \")\"\n"
  "  elseif r <= 82 then\n"
  "    ncap = ncap + 1\n"
  "    return \"()\"\n"
  "  elseif r <= 86 then return \"%b\" .. PAIRS[R(#PAIRS)]\n"
  "  elseif r <= 90 then return \"%f\" .. rset()\n"
  "  elseif r <= 95 and (ncap > 0 or R(8) == 1) then\n"
  "    -- mostly captures that exist (they may still be open)\n"
  "    return \"%\" .. (R(8) == 1 and R(0, 3) or R(1, math.max(1, ncap)))\n"
  "  else single = LITS[R(#LITS)] end\n"
  "  if R(10) <= 4 then single = single .. QUANTS[R(#QUANTS)] end\n"
  "  return single\n"
  "end\n"
  "\n"
  "function rseq(depth)\n"
  "  local t = {}\n"
  "  for i = 1, R(0, 4) do t[i] = ritem(depth) end\n"
  "  return table.concat(t)\n"
  "end\n"
  "\n"
  "local GARBAGE = {\"a\", \"b\", \"%\", \"[\", \"]\", \"(\", \")\", \"^\", \"$\", \"*\", \"+\",\n"
  "  \"-\", \"?\", \".\", \"%b\", \"%f\", \"%1\", \"\\0\"}\n"
  "local function rpattern()\n"
  "  if R(25) == 1 then\n"
  "    local t = {}\n"
  "    for i = 1, R(8) do t[i] = GARBAGE[R(#GARBAGE)] end\n"
  "    return table.concat(t)\n"
  "  end\n"
  "  ncap = 0\n"
  "  local p = rseq(0)\n"
  "  if R(5) == 1 then p = \"^\" .. p end\n"
  "  if R(5) == 1 then p = p .. \"$\" end\n"
  "  return p\n"
  "end\n"
  "\n"
  "local function rinit(len)\n"
  "  local r = R(14)\n"
  "  if r == 1 then return nil\n"
  "  elseif r == 2 then return 0\n"
  "  elseif r == 3 then return len\n"
  "  elseif r == 4 then return len + 1\n"
  "  elseif r == 5 then return len + 2\n"
  "  elseif r == 6 then return math.maxinteger\n"
  "  elseif r == 7 then return math.mininteger\n"
  "  elseif r == 8 then return -R(len + 3)\n"
  "  elseif r <= 10 then return 1\n"
  "  else return R(-len - 2, len + 2) end\n"
  "end\n"
  "\n"
  "-- tm_pat_required: every match holds the literal, and a subject\n"
  "-- without it fails to match without raising\n"
  "local function check_required(s, p)\n"
  "  local req = T.required(p, R(4) == 1 and R(0, 3) or nil)\n"
  "  if req == \"\" then return end\n"
  "  compared = compared + 1\n"
  "  local r = pk(pcall(string.find, s, p))\n"
  "  local ok\n"
  "  if s:find(req, 1, true) == nil then\n"
  "    ok = r.ok and r[1] == nil\n"
  "  else\n"
  "    ok = not (r.ok and r[1] and not s:sub(r[1], r[2]):find(req, 1, true))\n"
  "  end\n"
  "  if not ok then report(\"required=\" .. show(req), pk(true, s, p), r, r) end\n"
  "end\n"
  "\n"
  "-- one tm_pat over many subjects (tm_pat_subject), as grep does\n"
  "local function findeach_lua(p, ...)\n"
  "  local out = {}\n"
  "  for i = 1, select(\"#\", ...) do\n"
  "    local b, e = string.find((select(i, ...)), p)\n"
  "    out[i] = b and (b .. \" \" .. e) or \"-\"\n"
  "  end\n"
  "  return table.concat(out, \",\")\n"
  "end\n"
  "local function findeach_ours(M)\n"
  "  return function(p, ...)\n"
  "    local out = M.findeach(p, ...)\n"
  "    for i = 1, #out do out[i] = out[i] or \"-\" end\n"
  "    return table.concat(out, \",\")\n"
  "  end\n"
  "end\n"
  "local FINDEACH = {findeach_ours(T), findeach_ours(Q)}\n"
  "local function check_findeach(p)\n"
  "  if not p:find(\"[%^%$%*%+%?%.%(%[%%%-]\") then return end  -- plain\n"
  "  local subjects = {}\n"
  "  for i = 1, R(1, 6) do subjects[i] = rsubject() end\n"
  "  for i = 1, 2 do\n"
  "    compare(\"findeach\", findeach_lua, FINDEACH[i], p, table.unpack(subjects))\n"
  "  end\n"
  "end\n"
  "\n"
  "local function random_cases(n)\n"
  "  for i = 1, n do\n"
  "    local s, p = rsubject(), rpattern()\n"
  "    run_all(s, p, rinit(#s), R(20) == 1 or nil)\n"
  "    check_required(s, p)\n"
  "    if i % 4 == 0 then check_findeach(p) end\n"
  "    if i % 2000 == 0 then collectgarbage() end\n"
  "  end\n"
  "end\n"
  "-- }======\n"
  "\n"
  "hand_written()\n"
  "collectgarbage()\n"
  "random_cases(ncases)\n"
  "print(string.format(\"pattern: %d comparisons, %d mismatches\", compared, fails))\n"
  "return fails\n"
  ;
/* }====== */

static void pool_drain(pool *pl) {
  while (pl->n > 0) {
    pl->n--;
    munmap(pl->free[pl->n].mem, pl->free[pl->n].len);
  }
}

int main(int argc, char **argv) {
  unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 10)
                                : (unsigned long)time(NULL);
  lua_Integer ncases = argc > 2 ? strtoll(argv[2], NULL, 10) : 25000;
  lua_State *L = luaL_newstate();
  pool pl;
  int bad = c_checks();
  printf("pattern: seed %lu (replay: %s %lu %lld)\n", seed, argv[0], seed,
         (long long)ncases);
  fflush(stdout);
  luaL_openlibs(L);
  luaL_newmetatable(L, BOX);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, driver, sizeof driver - 1, "=driver") != LUA_OK) {
    printf("%s\n", lua_tostring(L, -1));
    return 1;
  }
  pl.n = 0;
  push_module(L, 0, &pl);
  push_module(L, 1, &pl);
  lua_pushinteger(L, (lua_Integer)seed);
  lua_pushinteger(L, ncases);
  push_module(L, 2, &pl);
  if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
    printf("driver error: %s\n", lua_tostring(L, -1));
    return 1;
  }
  bad += (int)lua_tointeger(L, -1);
  lua_close(L);
  pool_drain(&pl);
  return bad != 0;
}

#endif
