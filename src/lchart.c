/*
** lchart.c -- the C helpers of tome.chart (lua/tome/chart.lua), in the
** private table tome._chart:
**
**   termwidth()                the columns of the terminal on standard
**                              output (or error), or nil
**   isatty(fd)                 is the descriptor a terminal?
**   width(s)                   the columns UTF-8 text takes on a terminal
**   range(list)                lo, hi, integral: one pass over a list of
**                              numbers; nil, i at the first that is not a
**                              finite number
**   bin(list, edges)           counts per bin, below, above
**   buckets(list, step, b0, n) counts of floor(x) // step - b0 + 1 in 1..n
**
** chart.lua has a Lua version of each, so the module also works without
** them; these make 10 million values a matter of milliseconds.
**
** Nothing here is global: the UTF-8 locale that width() consults is
** created once per Lua state and kept as an upvalue (freed by __gc), and
** selected for the calling thread only (uselocale), so two states in two
** threads do not meet and the program's own locale is never changed.
*/
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "lua.h"
#include "lauxlib.h"

#include "lchart.h"

#define LOCALE_MT "tome.chart.locale"


/* {====== the terminal ====== */

static int chart_termwidth(lua_State *L) {
  static const int fds[] = {STDOUT_FILENO, STDERR_FILENO};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    struct winsize ws;
    if (ioctl(fds[i], TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      lua_pushinteger(L, ws.ws_col);
      return 1;
    }
  }
  lua_pushnil(L);
  return 1;
}

static int chart_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= INT32_MAX, 1, "bad descriptor");
  lua_pushboolean(L, isatty((int)fd));
  return 1;
}
/* }====== */


/* {====== display width ====== */

typedef struct chart_locale {
  locale_t loc;        /* C.UTF-8 for LC_CTYPE, or (locale_t)0 */
} chart_locale;

static int locale_gc(lua_State *L) {
  chart_locale *cl = (chart_locale *)luaL_checkudata(L, 1, LOCALE_MT);
  if (cl->loc != (locale_t)0) {
    freelocale(cl->loc);
    cl->loc = (locale_t)0;
  }
  return 0;
}

/*
** Decode one UTF-8 sequence at s[0..n) (n >= 1) into *cp; returns its
** length, or 0 when it is not valid UTF-8 (overlong forms, surrogates
** and values above U+10FFFF included).
*/
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  uint32_t c = s[0], min;
  size_t len, i;
  if (c < 0x80) { *cp = c; return 1; }
  if (c >= 0xC2 && c <= 0xDF) { len = 2; c &= 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; c &= 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; c &= 0x07; min = 0x10000; }
  else return 0;
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

/*
** The columns of s: wide (East Asian) characters take 2, combining marks
** and other zero-width characters 0, as the C library's wcwidth says
** under C.UTF-8; what it does not know, and bytes that are not UTF-8,
** take 1.  Without that locale every character takes 1.
*/
static int chart_width(lua_State *L) {
  size_t n, i = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  chart_locale *cl = (chart_locale *)lua_touserdata(L, lua_upvalueindex(1));
  locale_t old = (locale_t)0;
  lua_Integer cols = 0;
  if (cl->loc != (locale_t)0)
    old = uselocale(cl->loc);
  while (i < n) {
    uint32_t cp;
    size_t len = utf8_decode(s + i, n - i, &cp);
    if (len == 0) {
      cols++;
      i++;
      continue;
    }
    i += len;
    if (cl->loc != (locale_t)0 && cp >= 0x80) {
      int w = wcwidth((wchar_t)cp);
      cols += w >= 0 ? w : 1;
    } else {
      cols++;
    }
  }
  if (cl->loc != (locale_t)0)
    uselocale(old);
  lua_pushinteger(L, cols);
  return 1;
}
/* }====== */


/* {====== lists of numbers ====== */

/* Element i of the table at 1 as a double, or 0 (with *ok = 0) when it
** is not a number. */
static double chart_num(lua_State *L, lua_Integer i, int *ok, int *isint) {
  double x = 0;
  int t = lua_rawgeti(L, 1, i);
  *ok = t == LUA_TNUMBER;
  *isint = 0;
  if (*ok) {
    if (lua_isinteger(L, -1)) {
      x = (double)lua_tointeger(L, -1);
      *isint = 1;
    } else {
      x = lua_tonumber(L, -1);
    }
  }
  lua_pop(L, 1);
  return x;
}

/* range(list): lo, hi (the values themselves, integers stay integers),
** and whether all are integral; or nil, i for the first element that is
** not a finite number.  An empty list gives math.huge, -math.huge, true
** as the Lua version does. */
static int chart_range(lua_State *L) {
  lua_Integer n, i, ilo = 0, ihi = 0;
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  int integral = 1;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (lua_Integer)lua_rawlen(L, 1);
  for (i = 1; i <= n; i++) {
    int ok, isint;
    double x = chart_num(L, i, &ok, &isint);
    if (!ok || isnan(x) || isinf(x)) {
      lua_pushnil(L);
      lua_pushinteger(L, i);
      return 2;
    }
    if (x < lo) { lo = x; ilo = i; }
    if (x > hi) { hi = x; ihi = i; }
    if (integral && !isint && x != floor(x)) integral = 0;
  }
  if (n == 0) {
    lua_pushnumber(L, HUGE_VAL);
    lua_pushnumber(L, -HUGE_VAL);
  } else {
    lua_rawgeti(L, 1, ilo);
    lua_rawgeti(L, 1, ihi);
  }
  lua_pushboolean(L, integral);
  return 3;
}

/* the index of the last edge <= x in e[0..nb] (e[0] <= x <= e[nb]),
** at most nb - 1: the last bin is closed */
static size_t chart_find(const double *e, size_t nb, double x) {
  size_t a = 0, b = nb - 1;
  while (a < b) {
    size_t mid = (a + b + 1) / 2;
    if (e[mid] <= x) a = mid; else b = mid - 1;
  }
  return a;
}

/* bin(list, edges): a list of the counts of the bins [e1, e2), ...,
** [e(n), e(n+1)] (the last one closed), then the counts below e1 and
** above e(n+1).  Edges must increase; values must be numbers. */
static int chart_bin(lua_State *L) {
  lua_Integer n, i;
  size_t ne, k;
  double *e;
  lua_Integer *cnt, below = 0, above = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  ne = lua_rawlen(L, 2);
  luaL_argcheck(L, ne >= 2 && ne < ((size_t)1 << 24), 2, "2 or more edges");
  /* in userdata, so that an error below leaks nothing */
  e = (double *)lua_newuserdatauv(L, ne * sizeof *e, 0);
  cnt = (lua_Integer *)lua_newuserdatauv(L, ne * sizeof *cnt, 0);
  for (k = 0; k < ne; k++) {
    lua_rawgeti(L, 2, (lua_Integer)k + 1);
    e[k] = luaL_checknumber(L, -1);
    lua_pop(L, 1);
    luaL_argcheck(L, k == 0 || e[k] >= e[k - 1], 2, "edges must not decrease");
    cnt[k] = 0;
  }
  n = (lua_Integer)lua_rawlen(L, 1);
  for (i = 1; i <= n; i++) {
    int ok, isint;
    double x = chart_num(L, i, &ok, &isint);
    if (!ok || isnan(x))
      return luaL_error(L, "value %I is not a number", (LUAI_UACINT)i);
    if (x < e[0]) below++;
    else if (x > e[ne - 1]) above++;
    else cnt[chart_find(e, ne - 1, x)]++;
  }
  lua_createtable(L, (int)(ne - 1), 0);
  for (k = 0; k + 1 < ne; k++) {
    lua_pushinteger(L, cnt[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_pushinteger(L, below);
  lua_pushinteger(L, above);
  return 3;
}

/* floor(a / b) for b > 0 */
static int64_t chart_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* buckets(list, step, b0, n): counts[k] of the values x with
** floor(x) // step == b0 + k - 1, k in 1..n (values are checked numbers
** whose floors fit an integer; others are skipped). */
static int chart_buckets(lua_State *L) {
  lua_Integer n, i, step, b0, nb, *cnt, k;
  luaL_checktype(L, 1, LUA_TTABLE);
  step = luaL_checkinteger(L, 2);
  b0 = luaL_checkinteger(L, 3);
  nb = luaL_checkinteger(L, 4);
  luaL_argcheck(L, step > 0, 2, "step must be positive");
  luaL_argcheck(L, nb >= 1 && nb < ((lua_Integer)1 << 26), 4, "bad count");
  cnt = (lua_Integer *)lua_newuserdatauv(L, (size_t)nb * sizeof *cnt, 0);
  memset(cnt, 0, (size_t)nb * sizeof *cnt);
  n = (lua_Integer)lua_rawlen(L, 1);
  for (i = 1; i <= n; i++) {
    int ok, isint;
    double x = chart_num(L, i, &ok, &isint);
    if (!ok || !(x >= -9.0e18 && x <= 9.0e18))
      continue;
    k = chart_floordiv((int64_t)floor(x), step) - b0;
    if (k >= 0 && k < nb) cnt[k]++;
  }
  lua_createtable(L, (int)nb, 0);
  for (k = 0; k < nb; k++) {
    lua_pushinteger(L, cnt[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}
/* }====== */


static const luaL_Reg chart_funcs[] = {
  {"termwidth", chart_termwidth}, {"isatty", chart_isatty},
  {"range", chart_range}, {"bin", chart_bin}, {"buckets", chart_buckets},
  {NULL, NULL}
};

/* Set field _chart of the table on top (the tome module). */
void tm_l_openchart(lua_State *L) {
  chart_locale *cl;
  lua_newtable(L);
  luaL_setfuncs(L, chart_funcs, 0);
  cl = (chart_locale *)lua_newuserdatauv(L, sizeof *cl, 0);
  cl->loc = (locale_t)0;
  if (luaL_newmetatable(L, LOCALE_MT)) {
    lua_pushcfunction(L, locale_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  cl->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  lua_pushcclosure(L, chart_width, 1);
  lua_setfield(L, -2, "width");
  lua_setfield(L, -2, "_chart");
}
