/*
** lmap.c -- the Lua types map and view: argument checking, index
** clamping, pushing results, iterators, the file-handle methods.  Thin:
** every byte-level loop calls scan.c, binary.c or pattern.c.
**
** A view never caches an address: it holds its map (user value 1), an
** offset and a length, and derives the address on every call, so a
** closed or shrunk map gives an error instead of a use-after-unmap.
*/
#include "lmap.h"
#include "source.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "binary.h"
#include "progress.h"
#include "scan.h"
#include "tome.h"

static const char *const mode_names[] = {"r", "r+", "c"};

/* {====================================================================
** Reading: length, bytes, slices, views
** ===================================================================== */

static int map_len(lua_State *L) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);
  lua_pushinteger(L, (lua_Integer)r.len);
  return 1;
}

/* v[i]: the byte at i; anything else is a method name */
static void touched(tm_map *m, size_t off, size_t len);

static int map_index(lua_State *L) {
  lua_Integer i;
  int isnum;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    i = lua_tointegerx(L, 2, &isnum);
    tm_range r;
    tm_l_range(L, 1, &r);
    if (!isnum) return 0;
    if (i < 0) i += (lua_Integer)r.len + 1;
    if (i < 1 || i > (lua_Integer)r.len) return 0;
    unsigned char c;
    tm_l_copy(L, &r, (char *)&c, tm_range_ptr(&r) + (i - 1), 1);
    touched(r.map, r.off + (size_t)i - 1, 1);
    lua_pushinteger(L, c);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

static int map_byte(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  lua_Integer rawi = luaL_optinteger(L, 2, 1);
  size_t i = tm_l_startpos(rawi, r.len);
  /* as string.byte: j defaults to i as given, before clamping */
  size_t j = tm_l_endpos(luaL_optinteger(L, 3, rawi), r.len);
  if (i > j) return 0;
  if (j - i >= (size_t)INT_MAX) return luaL_error(L, "string slice too long");
  int n = (int)(j - i) + 1;
  luaL_checkstack(L, n, "string slice too long");
  unsigned char small[64];
  unsigned char *buf = small;
  if ((size_t)n > sizeof small) {
    size_t len = r.len;
    buf = (unsigned char *)lua_newuserdatauv(L, (size_t)n, 0);
    tm_l_range(L, 1, &r);  /* a finalizer may have run: look again */
    if (r.len != len) return luaL_error(L, "the map changed size");
  }
  tm_l_copy(L, &r, (char *)buf, tm_range_ptr(&r) + (i - 1), (size_t)n);
  touched(r.map, r.off + i - 1, (size_t)n);
  /* a large copy stays below the results on the stack */
  for (int k = 0; k < n; k++) lua_pushinteger(L, buf[k]);
  return n;
}

static int map_sub(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  size_t i = tm_l_startpos(luaL_checkinteger(L, 2), r.len);
  size_t j = tm_l_endpos(luaL_optinteger(L, 3, -1), r.len);
  if (i > j) lua_pushliteral(L, "");
  else {
    tm_l_pushbytes(L, &r, tm_range_ptr(&r) + (i - 1), j - i + 1);
    touched(r.map, r.off + i - 1, j - i + 1);
  }
  return 1;
}

static int map_view(lua_State *L) {
  tm_range r;
  size_t from, to;
  tm_l_scanrange(L, 1, &r);   /* a view touches no byte */
  tm_l_subrange(L, 2, 3, r.len, &from, &to);
  tm_l_pushmapof(L, 1);
  tm_l_pushview(L, lua_gettop(L), r.off + from, to - from);
  return 1;
}

static int map_offset(lua_State *L) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);
  lua_pushinteger(L, (lua_Integer)r.off + 1);
  return 1;
}

static int map_map(lua_State *L) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);
  tm_l_pushmapof(L, 1);
  return 1;
}

/* "2.0 GB", "512 bytes" */
static void pushsize(lua_State *L, size_t n) {
  static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
  if (n < 1024) {
    lua_pushfstring(L, "%I bytes", (lua_Integer)n);
    return;
  }
  double x = (double)n / 1024;
  int u = 0;
  while (x >= 1024 && u < 4) {
    x /= 1024;
    u++;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f %s", x, units[u]);
  lua_pushstring(L, buf);
}

static int map_tostring(lua_State *L) {
  tm_map *m = tm_l_tomap(L, 1);
  if (m != NULL) {
    lua_getiuservalue(L, 1, 1);
    const char *name = lua_tostring(L, -1);
    if (m->closed) {
      lua_pushfstring(L, "tome.map: %s (closed)", name);
      return 1;
    }
    pushsize(L, m->mp.len);
    lua_pushfstring(L, "tome.map: %s %s %s%s", name, lua_tostring(L, -1),
                    mode_names[m->mp.mode],
                    m->lazy != NULL ? " (decompressed on demand)" : "");
    return 1;
  }
  tm_view *v = (tm_view *)luaL_checkudata(L, 1, TM_VIEW_MT);
  if (v->closed || v->map->closed)
    lua_pushliteral(L, "tome.view: (closed)");
  else
    lua_pushfstring(L, "tome.view: %I bytes at %I", (lua_Integer)v->len,
                    (lua_Integer)v->off + 1);
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** Plain search: find, rfind, count, lineno
** ===================================================================== */

/* One scan of [from, to) with the shared cursor, guarded for mapped
** bytes: find (op 'f'), rfind ('r') or count ('c'). */
static int guarded_scan(lua_State *L, const tm_range *r, int op,
                        size_t from, size_t to, const char *nd, size_t nn,
                        size_t *at, uint64_t *count) {
  tm_src *s = tm_l_scanbegin(L, r);
  tm_guard g;
  int rc;
  if (!tm_guard_enter(&g)) {
    tm_l_scanend(L, r, s, 0);
    return tm_l_fault(L, r->map);
  }
  rc = op == 'c' ? tm_src_count(s, from, to, nd, nn, count)
     : op == 'r' ? tm_src_rfind(s, from, to, nd, nn, at)
                 : tm_src_find(s, from, to, nd, nn, at);
  tm_guard_leave(&g);
  tm_l_scanend(L, r, s, rc);
  return rc;
}

static int guarded_find(lua_State *L, const tm_range *r, int back,
                        size_t from, size_t to, const char *nd, size_t nn,
                        size_t *at) {
  return guarded_scan(L, r, back ? 'r' : 'f', from, to, nd, nn, at, NULL);
}

static int guarded_count(lua_State *L, const tm_range *r, size_t from,
                         size_t to, const char *nd, size_t nn,
                         uint64_t *count) {
  return guarded_scan(L, r, 'c', from, to, nd, nn, NULL, count);
}

/* Pattern methods live in lmatch.c; this is the plain half of find. */
int tm_l_plainfind(lua_State *L, const tm_range *r, const char *nd,
                   size_t nn, size_t init) {
  size_t at;
  if (nn == 0) {
    lua_pushinteger(L, (lua_Integer)init);
    lua_pushinteger(L, (lua_Integer)init - 1);
    return 2;
  }
  if (nn > r->len - (init - 1)) {
    luaL_pushfail(L);
    return 1;
  }
  if (guarded_find(L, r, 0, init - 1, r->len, nd, nn, &at) <= 0) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)at + 1);
  lua_pushinteger(L, (lua_Integer)(at + nn));
  return 2;
}

static int map_rfind(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  size_t nn, at;
  const char *nd = luaL_checklstring(L, 2, &nn);
  lua_Integer init = luaL_optinteger(L, 3, (lua_Integer)r.len + 1);
  if (init < 0) init += (lua_Integer)r.len + 1;
  if (init < 1) {
    luaL_pushfail(L);
    return 1;
  }
  if (init > (lua_Integer)r.len + 1) init = (lua_Integer)r.len + 1;
  size_t start = (size_t)init - 1;          /* latest 0-based start */
  if (nn == 0) {
    lua_pushinteger(L, init);
    lua_pushinteger(L, init - 1);
    return 2;
  }
  size_t to = nn > r.len - start ? r.len : start + nn;
  if (nn > to || guarded_find(L, &r, 1, 0, to, nd, nn, &at) <= 0) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)at + 1);
  lua_pushinteger(L, (lua_Integer)(at + nn));
  return 2;
}

static int map_count(lua_State *L) {
  tm_range r;
  size_t nn, from, to;
  uint64_t n = 0;
  tm_l_scanrange(L, 1, &r);   /* guarded_count scans with the cursor */
  const char *nd = luaL_checklstring(L, 2, &nn);
  luaL_argcheck(L, nn > 0, 2, "empty string");
  tm_l_subrange(L, 3, 4, r.len, &from, &to);
  tm_progress *pg = tm_l_progress(L);
  if (pg != NULL && nn == 1) {
    /* one byte never straddles two pieces: count piece by piece, and
    ** show how far it got */
    const size_t piece = (size_t)1 << 26;
    tm_progress_start(pg, to - from);
    for (size_t at = from; at < to; at += piece) {
      uint64_t k = 0;
      size_t end = to - at > piece ? at + piece : to;
      guarded_count(L, &r, at, end, nd, nn, &k);
      n += k;
      tm_progress_update(pg, end - from);
    }
    tm_progress_end(pg);
  } else if (to - from >= nn) {
    guarded_count(L, &r, from, to, nd, nn, &n);
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int map_lineno(lua_State *L) {
  tm_range r;
  uint64_t n = 0;
  tm_l_scanrange(L, 1, &r);   /* guarded_count scans with the cursor */
  lua_Integer pos = luaL_checkinteger(L, 2);
  if (pos < 0) pos += (lua_Integer)r.len + 1;
  luaL_argcheck(L, pos >= 1 && pos <= (lua_Integer)r.len + 1, 2,
                "position out of range");
  if (pos > 1) guarded_count(L, &r, 0, (size_t)pos - 1, "\n", 1, &n);
  lua_pushinteger(L, (lua_Integer)n + 1);
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** Iterators: lines, split, grep.  State in a userdata (so its buffer is
** freed by __gc), the map anchored in its user value, the needle in an
** upvalue of the closure.
** ===================================================================== */

#define ITER_MT "tome.iter"

enum { IT_LINES, IT_SPLIT, IT_GREP, IT_FIELDS };

#define MAXCOLS 16       /* columns one fields() call can select */
#define MAXSPLIT 1024    /* fields kept per line for negative columns */

typedef struct tm_iter {
  tm_src src;
  tm_map *map;
  size_t off, len;      /* the range iterated, in map offsets */
  size_t pos;           /* next range position (0-based) */
  int what, fmt, done;
  tm_progress *progress;  /* the state's, when it is on */
  size_t reported;        /* pos at the last progress report */
  int ncol, awk;          /* fields: the columns, blank splitting */
  int cols[MAXCOLS];
  size_t want;            /* fields worth splitting out per line */
} tm_iter;

static int iter_gc(lua_State *L) {
  tm_iter *it = (tm_iter *)luaL_checkudata(L, 1, ITER_MT);
  tm_src_done(&it->src);
  it->done = 1;
  return 0;
}


static void iter_range(lua_State *L, tm_iter *it, tm_range *r) {
  tm_l_iterrange(L, it->map, it->off, it->len, &it->src, r);
}

static int iter_finish(lua_State *L, tm_iter *it) {
  if (it->progress != NULL) tm_progress_end(it->progress);
  tm_src_done(&it->src);
  it->done = 1;
  lua_pushnil(L);
  return 1;
}

/* Push one record found by the iterator, and its 1-based start. */
static int iter_push(lua_State *L, tm_iter *it, const tm_range *r,
                     const char *p, size_t start, size_t n, size_t nl) {
  if (it->fmt == 'v') {
    lua_getiuservalue(L, lua_upvalueindex(1), 1);
    tm_l_pushview(L, lua_gettop(L), it->off + start, n);
    lua_remove(L, -2);
  } else {
    size_t k = it->fmt == 'L' ? n + nl : n;
    if (it->src.fd >= 0) lua_pushlstring(L, p, k);  /* our own buffer */
    else tm_l_pushbytes(L, r, p, k);
  }
  lua_pushinteger(L, (lua_Integer)start + 1);
  return 2;
}

/* A record yielded as a view is never read: only its end is searched
** for, window by window, so a record of any length costs one window of
** memory (tm_src_line and tm_src_field hold the record whole).  1, or -1
** (s->err). */
static int record_end(tm_src *s, size_t pos, size_t len, const char *sep,
                      size_t sn, int split, size_t *n, size_t *next) {
  size_t at;
  int rc = tm_src_find(s, pos, len, sep, sn, &at);
  if (rc < 0) return -1;
  if (rc == 0) {
    *n = len - pos;
    *next = split ? len + 1 : len;  /* split: the last field is done */
  } else {
    *n = at - pos;
    *next = at + sn;
  }
  return 1;
}

static int iter_step(lua_State *L) {
  tm_iter *it = (tm_iter *)lua_touserdata(L, lua_upvalueindex(1));
  tm_range r;
  const char *p = NULL;
  size_t n = 0, next = 0, start = it->pos, nn = 0;
  const char *nd = NULL;
  int rc;
  if (it->done) {
    lua_pushnil(L);
    return 1;
  }
  iter_range(L, it, &r);
  if (it->what != IT_LINES) nd = lua_tolstring(L, lua_upvalueindex(2), &nn);
  if (it->pos >= it->len + (it->what == IT_SPLIT))
    return iter_finish(L, it);
  tm_guard g;
  if (!tm_guard_enter(&g)) return tm_l_fault(L, it->map);
  if (it->fmt == 'v' && it->what != IT_GREP)
    rc = record_end(&it->src, it->pos, it->len,
                    it->what == IT_LINES ? "\n" : nd,
                    it->what == IT_LINES ? 1 : nn, it->what == IT_SPLIT,
                    &n, &next);
  else switch (it->what) {
    case IT_LINES: rc = tm_src_line(&it->src, it->pos, &p, &n, &next); break;
    case IT_SPLIT:
      rc = tm_src_field(&it->src, it->pos, nd, nn, &p, &n, &next);
      break;
    default:
      rc = tm_src_grep(&it->src, it->pos, nd, nn, &start, &p, &n, &next);
      break;
  }
  tm_guard_leave(&g);
  if (rc < 0) return tm_l_srcerror(L, it->map, it->src.err);
  if (rc == 0) return iter_finish(L, it);
  it->pos = next;
  if (it->progress != NULL && next - it->reported >= TM_PROGRESS_STEP) {
    it->reported = next;
    tm_progress_update(it->progress, next);
  }
  /* the separator after the record: a newline, or sep for split */
  size_t after = it->what == IT_SPLIT ? nn : 1;
  size_t end = start + n;
  size_t nl = end < it->len ? (after < it->len - end ? after : it->len - end)
                            : 0;
  return iter_push(L, it, &r, p, start, n, nl);
}

/* {======  fields  ====== */

static const double pow10s[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                                1e15};

/* Push the number the bytes spell, exactly as tonumber would convert
** them, or false.  Plain decimals of up to 15 digits are converted here:
** an integer below 10^15 divided by a power of ten, both exact doubles,
** rounds correctly, as strtod does. */
static void pushnumber(lua_State *L, const char *p, size_t n) {
  size_t i = 0, nd = 0, fd = 0;
  uint64_t v = 0;
  int neg = 0;
  if (i < n && (p[i] == '-' || p[i] == '+')) neg = p[i++] == '-';
  for (; i < n && p[i] >= '0' && p[i] <= '9' && nd < 19; i++, nd++)
    v = v * 10 + (uint64_t)(p[i] - '0');
  if (i == n && nd > 0 && nd <= 18) {
    lua_pushinteger(L, neg ? -(lua_Integer)v : (lua_Integer)v);
    return;
  }
  if (i < n && p[i] == '.' && nd <= 15) {
    for (i++; i < n && p[i] >= '0' && p[i] <= '9' && nd < 16; i++, nd++)
      v = v * 10 + (uint64_t)(p[i] - '0'), fd++;
    if (i == n && nd > 0 && nd <= 15) {
      double x = (double)v / pow10s[fd];
      lua_pushnumber(L, neg ? -x : x);
      return;
    }
  }
  char buf[128];  /* anything else: the general conversion */
  if (n < sizeof buf && memchr(p, '\0', n) == NULL) {
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (lua_stringtonumber(L, buf) != 0) return;
  }
  lua_pushboolean(L, 0);
}

/* Push the selected columns of the line p[0..n) at range position start
** (runs under the caller's guard: reads mapped bytes). */
static int push_fields(lua_State *L, tm_iter *it, const char *p, size_t n,
                       size_t start, const char *sep, size_t sn) {
  tm_span sp[MAXSPLIT];
  /* negative columns need the count of all fields, the others only
  ** the fields up to the last one asked for */
  size_t nf = tm_split(p, n, it->awk ? NULL : sep, sn, sp, it->want,
                       it->want == MAXSPLIT);
  size_t kept = nf < it->want ? nf : it->want;
  for (int c = 0; c < it->ncol; c++) {
    int col = it->cols[c];
    size_t k = col > 0 ? (size_t)col - 1 : nf - (size_t)(-col);
    if (col < 0 && (size_t)(-col) > nf) k = kept;  /* before the first */
    if (k >= kept) {
      lua_pushboolean(L, 0);  /* no such field: false, so the loop goes on */
      continue;
    }
    if (c > 0 && it->src.fd < 0) {
      /* the line lies in the map's memory, and the string pushed before
      ** may have run a finalizer that closed or moved it */
      tm_range r;
      tm_l_iterrange(L, it->map, it->off, it->len, &it->src, &r);
      p = tm_range_ptr(&r) + start;
    }
    const char *f = p + sp[k].start;
    switch (it->fmt) {
      case 'n': pushnumber(L, f, sp[k].len); break;
      case 'v':
        lua_getiuservalue(L, lua_upvalueindex(1), 1);
        tm_l_pushview(L, lua_gettop(L), it->off + start + sp[k].start,
                      sp[k].len);
        lua_remove(L, -2);
        break;
      default: lua_pushlstring(L, f, sp[k].len); break;
    }
  }
  return it->ncol;
}

static int fields_step(lua_State *L) {
  tm_iter *it = (tm_iter *)lua_touserdata(L, lua_upvalueindex(1));
  tm_range r;
  const char *p = NULL, *sep = NULL;
  size_t n = 0, next = 0, sn = 0, start = it->pos;
  int rc, k = 0;
  if (it->done) {
    lua_pushnil(L);
    return 1;
  }
  iter_range(L, it, &r);
  if (it->pos >= it->len) return iter_finish(L, it);
  if (!it->awk) sep = lua_tolstring(L, lua_upvalueindex(2), &sn);
  luaL_checkstack(L, it->ncol + 4, "too many columns");
  tm_guard g;
  if (!tm_guard_enter(&g)) return tm_l_fault(L, it->map);
  rc = tm_src_line(&it->src, it->pos, &p, &n, &next);
  if (rc > 0) k = push_fields(L, it, p, n, start, sep, sn);
  tm_guard_leave(&g);
  if (rc < 0) return tm_l_srcerror(L, it->map, it->src.err);
  if (rc == 0) return iter_finish(L, it);
  it->pos = next;
  if (it->progress != NULL && next - it->reported >= TM_PROGRESS_STEP) {
    it->reported = next;
    tm_progress_update(it->progress, next);
  }
  return k;
}
/* }====== */

static const char *const fmt_names[] = {"l", "L", "v", NULL};

/* Build the iterator closure for the map/view at 1. */
static tm_iter *newiter(lua_State *L, int what, int fmtarg, size_t init,
                        int needlearg, lua_CFunction step) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);   /* the iterators read through it->src */
  int fmt = fmt_names[luaL_checkoption(L, fmtarg, "l", fmt_names)][0];
  if (what == IT_SPLIT && fmt == 'L')
    luaL_argerror(L, fmtarg, "invalid option 'L' for split");
  tm_iter *it = (tm_iter *)lua_newuserdatauv(L, sizeof(tm_iter), 1);
  memset(it, 0, sizeof *it);
  it->done = 1;  /* until set up */
  luaL_setmetatable(L, ITER_MT);
  tm_l_pushmapof(L, 1);
  lua_setiuservalue(L, -2, 1);
  it->map = r.map;
  it->off = r.off;
  it->len = r.len;
  it->pos = init;
  it->what = what;
  it->fmt = fmt;
  tm_l_srcsetup(L, &it->src, &r);
  it->progress = tm_l_progress(L);
  it->reported = init;
  if (it->progress != NULL) tm_progress_start(it->progress, r.len);
  it->done = 0;
  if (needlearg) lua_pushvalue(L, needlearg);
  else lua_pushnil(L);
  lua_pushcclosure(L, step, 2);
  return it;
}

static int map_lines(lua_State *L) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);
  lua_Integer init = luaL_optinteger(L, 3, 1);
  size_t start = tm_l_startpos(init, r.len);
  newiter(L, IT_LINES, 2, start - 1, 0, iter_step);
  return 1;
}

static int map_split(lua_State *L) {
  size_t sn;
  luaL_checklstring(L, 2, &sn);
  luaL_argcheck(L, sn > 0, 2, "empty separator");
  newiter(L, IT_SPLIT, 3, 0, 2, iter_step);
  return 1;
}

/* v:fields(sep, col [, col ...] [, fmt]): per line, the selected
** columns (negative ones count from the last); sep " " splits on runs of
** blanks as awk does.  fmt "l" strings, "n" numbers, "v" views; a column
** the line lacks, or "n" of something that is not a number, is false. */
static int map_fields(lua_State *L) {
  static const char *const ffmts[] = {"l", "n", "v", NULL};
  size_t sn;
  int top = lua_gettop(L), fmt = 'l', ncol = 0, cols[MAXCOLS];
  size_t want = 0;
  const char *sep = luaL_checklstring(L, 2, &sn);
  luaL_argcheck(L, sn > 0, 2, "empty separator");
  if (top >= 3 && lua_type(L, top) == LUA_TSTRING)
    fmt = ffmts[luaL_checkoption(L, top--, NULL, ffmts)][0];
  for (int a = 3; a <= top; a++) {
    lua_Integer c = luaL_checkinteger(L, a);
    luaL_argcheck(L, c != 0 && c >= -MAXSPLIT && c <= MAXSPLIT, a,
                  "column out of range");
    luaL_argcheck(L, ncol < MAXCOLS, a, "too many columns");
    cols[ncol++] = (int)c;
    size_t w = c > 0 ? (size_t)c : MAXSPLIT;
    if (w > want) want = w;
  }
  luaL_argcheck(L, ncol > 0, 3, "column number expected");
  lua_settop(L, 2);
  /* the format was checked above: newiter sees none and takes "l" */
  tm_iter *it = newiter(L, IT_FIELDS, 3, 0, 2, fields_step);
  it->fmt = fmt;
  it->awk = sn == 1 && sep[0] == ' ';
  it->ncol = ncol;
  memcpy(it->cols, cols, sizeof cols);
  it->want = want;
  return 1;
}

int tm_l_plaingrep(lua_State *L) {
  size_t nn;
  luaL_checklstring(L, 2, &nn);
  lua_settop(L, 2);
  if (nn == 0) newiter(L, IT_LINES, 3, 0, 0, iter_step);  /* every line */
  else newiter(L, IT_GREP, 3, 0, 2, iter_step);
  return 1;
}

/* }==================================================================== */

/* {====================================================================
** Binary: unpack, pack
** ===================================================================== */

/* {======  random reads in bounded memory  ====== */
/* Random reads (v[i], byte, sub, unpack) touch the mapping directly.  So
** that a loop over a huge file does not keep all of it resident, each map
** remembers the two HOT_STEP-sized steps it read last; reading a third
** drops the least recent one from the resident set (the page cache keeps
** it: reading it again costs a minor fault).  Reads longer than a step
** (a big sub) are dropped as soon as they are copied.  Only for large
** file maps that are not copy-on-write (tm_map_advise refuses those). */
#define HOT_STEP ((size_t)16 << 20)

static void touched(tm_map *m, size_t off, size_t len) {
  if (m->mp.kind != TM_KIND_FILE || m->mp.len < 4 * HOT_STEP) return;
  if (len > HOT_STEP) {
    tm_map_advise(&m->mp, TM_ADV_DONTNEED, off, len);
    return;
  }
  size_t step = off / HOT_STEP + 1;  /* 0: none */
  if (step == m->hot[0]) return;
  if (step != m->hot[1] && m->hot[1] != 0)
    tm_map_advise(&m->mp, TM_ADV_DONTNEED, (m->hot[1] - 1) * HOT_STEP,
                  HOT_STEP);
  m->hot[1] = m->hot[0];
  m->hot[0] = step;
}
/* }====== */

/* unpack's errors are raised out of its guard (mapping.h) */
static void unpack_leave(void *g) {
  tm_guard_leave((tm_guard *)g);
}

static int map_unpack(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  const char *fmt = luaL_checkstring(L, 2);
  lua_Integer pos = luaL_optinteger(L, 3, 1);
  int n;
  tm_guard g;
  if (!tm_guard_enter(&g)) return tm_l_fault(L, r.map);
  n = tm_unpackx(L, fmt, tm_range_ptr(&r), r.len, pos, 3, unpack_leave, &g);
  tm_guard_leave(&g);
  if (pos >= 1 && (size_t)pos <= r.len)
    touched(r.map, r.off + (size_t)pos - 1, 1);
  return n;
}

static void write_at(lua_State *L, const tm_range *r, size_t pos,
                     const char *src, size_t n) {
  tm_l_checkwritable(L, r);
  if (pos > r->len || n > r->len - pos)
    luaL_error(L, "write past the end of the map (%I bytes): use resize "
               "to make room", (lua_Integer)r->len);
  if (n == 0) return;
  tm_guard g;
  if (!tm_guard_enter(&g)) {
    tm_l_fault(L, r->map);
    return;
  }
  memmove(tm_range_ptr(r) + pos, src, n);
  tm_guard_leave(&g);
}

static int map_pack(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  lua_Integer pos = luaL_checkinteger(L, 2);
  tm_l_checkwritable(L, &r);
  if (pos < 0) pos += (lua_Integer)r.len + 1;
  luaL_argcheck(L, pos >= 1, 2, "position out of range");
  tm_pack(L, 3);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  write_at(L, &r, (size_t)pos - 1, s, n);
  lua_settop(L, 1);
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** The file-handle methods: read, seek, write, close
** ===================================================================== */

/* Like file:read("n"): the longest prefix that looks like a numeral
** (at most 200 characters), then lua_stringtonumber on it. */
#define MAXNUMERAL 200

typedef struct numreader {
  const char *p;
  size_t n, k;          /* bytes available, next byte */
  char buf[MAXNUMERAL + 1];
  size_t blen;
  int overflow;
} numreader;

static int nr_peek(numreader *nr) {
  return nr->k < nr->n ? (unsigned char)nr->p[nr->k] : -1;
}

/* accept the next byte if it is one of 'set' */
static int nr_accept(numreader *nr, const char *set) {
  int c = nr_peek(nr);
  if (c <= 0 || strchr(set, c) == NULL) return 0;
  if (nr->blen >= MAXNUMERAL) {
    nr->overflow = 1;
    return 0;
  }
  nr->buf[nr->blen++] = (char)c;
  nr->k++;
  return 1;
}

static int nr_digits(numreader *nr, int hex) {
  int count = 0;
  while (nr_accept(nr, hex ? "0123456789abcdefABCDEF" : "0123456789"))
    count++;
  return count;
}

static int read_number(lua_State *L, numreader *nr) {
  int hex = 0, count = 0;
  while (nr_peek(nr) >= 0 && strchr(" \t\n\v\f\r", nr_peek(nr)) &&
         nr_peek(nr) != 0)
    nr->k++;
  nr_accept(nr, "+-");
  if (nr_accept(nr, "0")) {
    if (nr_accept(nr, "xX")) hex = 1;
    else count = 1;
  }
  count += nr_digits(nr, hex);
  if (nr_accept(nr, "."))
    count += nr_digits(nr, hex);
  if (count > 0 && nr_accept(nr, hex ? "pP" : "eE")) {
    nr_accept(nr, "+-");
    nr_digits(nr, 0);
  }
  nr->buf[nr->blen] = '\0';
  if (!nr->overflow && lua_stringtonumber(L, nr->buf) != 0) return 1;
  return 0;
}

static int read_one_at(lua_State *L, const tm_range *r, int arg,
                       size_t *cur);

/* One format of read; returns 0 on failure (nothing pushed).  What it
** read counts as a random read (touched), so that a read loop over a
** huge file keeps two steps resident, not all it has read. */
static int read_one(lua_State *L, const tm_range *r, int arg, size_t *cur) {
  size_t from = *cur;
  int ok = read_one_at(L, r, arg, cur);
  if (*cur > from && from < r->len)
    touched(r->map, r->off + from, *cur - from);
  return ok;
}

static int read_one_at(lua_State *L, const tm_range *r, int arg,
                       size_t *cur) {
  const char *base = tm_range_ptr(r);
  size_t avail = *cur < r->len ? r->len - *cur : 0;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer k = luaL_checkinteger(L, arg);
    if (k < 0) k = 0;
    if (avail == 0) return 0;
    size_t n = (uint64_t)k < avail ? (size_t)k : avail;
    tm_l_pushbytes(L, r, base + *cur, n);
    *cur += n;
    return 1;
  }
  const char *f = luaL_checkstring(L, arg);
  if (*f == '*') f++;
  switch (*f) {
    case 'n': {
      numreader nr;
      tm_guard g;
      int ok;
      memset(&nr, 0, sizeof nr);
      nr.p = base + (avail ? *cur : 0);
      nr.n = avail;
      if (!tm_guard_enter(&g)) return tm_l_fault(L, r->map);
      ok = read_number(L, &nr);
      tm_guard_leave(&g);
      *cur += nr.k;
      return ok;
    }
    case 'l': case 'L': {
      const char *p, *nl = NULL;
      tm_guard g;
      if (avail == 0) return 0;
      p = base + *cur;
      if (!tm_guard_enter(&g)) return tm_l_fault(L, r->map);
      nl = tm_find(p, avail, "\n", 1);
      tm_guard_leave(&g);
      size_t n = nl ? (size_t)(nl - p) : avail;
      size_t adv = nl ? n + 1 : n;
      tm_l_pushbytes(L, r, p, *f == 'L' ? adv : n);
      *cur += adv;
      return 1;
    }
    case 'a':
      tm_l_pushbytes(L, r, base + (avail ? *cur : 0), avail);
      *cur += avail;
      return 1;
    default:
      return luaL_argerror(L, arg, "invalid format");
  }
}

static int map_read(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  int nargs = lua_gettop(L) - 1, n;
  size_t cur = *r.cursor;
  if (nargs == 0) {
    lua_pushliteral(L, "l");
    nargs = 1;
  }
  luaL_checkstack(L, nargs + LUA_MINSTACK, "too many arguments");
  for (n = 0; n < nargs; n++) {
    if (!read_one(L, &r, 2 + n, &cur)) {
      luaL_pushfail(L);
      n++;
      break;
    }
  }
  *r.cursor = cur;
  return n;
}

static int map_seek(lua_State *L) {
  static const char *const modes[] = {"set", "cur", "end", NULL};
  tm_range r;
  tm_l_range(L, 1, &r);
  int op = luaL_checkoption(L, 2, "cur", modes);
  lua_Integer off = luaL_optinteger(L, 3, 0);
  lua_Integer base = op == 0 ? 0 : op == 1 ? (lua_Integer)*r.cursor
                                           : (lua_Integer)r.len;
  if ((off > 0 && base > LUA_MAXINTEGER - off) || base + off < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(EINVAL));
    lua_pushinteger(L, EINVAL);
    return 3;
  }
  *r.cursor = (size_t)(base + off);
  lua_pushinteger(L, base + off);
  return 1;
}

static int map_write(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  int top = lua_gettop(L);
  size_t total = 0, cur = *r.cursor;
  tm_l_checkwritable(L, &r);
  /* convert everything first, so a bad argument writes nothing */
  for (int a = 2; a <= top; a++) {
    size_t n;
    if (tm_l_isbytes(L, a)) {
      tm_range s;
      tm_l_range(L, a, &s);
      n = s.len;
    } else if (lua_type(L, a) == LUA_TNUMBER) {
      if (lua_isinteger(L, a))
        lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, a));
      else {
        char buf[64];
        snprintf(buf, sizeof buf, LUA_NUMBER_FMT, lua_tonumber(L, a));
        lua_pushstring(L, buf);
      }
      lua_replace(L, a);
      lua_tolstring(L, a, &n);
    } else {
      luaL_checklstring(L, a, &n);
    }
    total += n;
  }
  if (cur > r.len || total > r.len - cur)
    return luaL_error(L, "write past the end of the map (%I bytes): use "
                      "resize to make room", (lua_Integer)r.len);
  for (int a = 2; a <= top; a++) {
    size_t n;
    if (tm_l_isbytes(L, a)) {
      tm_range s;
      tm_l_range(L, a, &s);
      tm_guard g;
      /* either side may be the truncated file: name the file mapping */
      if (!tm_guard_enter(&g))
        return tm_l_fault(L, r.map->mp.kind == TM_KIND_FILE ? r.map : s.map);
      memmove(tm_range_ptr(&r) + cur, tm_range_ptr(&s), s.len);
      tm_guard_leave(&g);
      n = s.len;
    } else {
      const char *p = lua_tolstring(L, a, &n);
      write_at(L, &r, cur, p, n);
    }
    cur += n;
  }
  *r.cursor = cur;
  lua_settop(L, 1);
  return 1;
}

static void map_release(tm_map *m) {
  tm_lazy_free(m->lazy);   /* (set before the map is open) */
  m->lazy = NULL;
  if (m->closed) return;
  m->closed = 1;
  if (!m->borrowed) tm_map_close(&m->mp);
  if (m->release != NULL) {
    void (*rel)(void *) = m->release;
    m->release = NULL;
    rel(m->ctx);
  }
}

static int map_close(lua_State *L) {
  tm_map *m = tm_l_tomap(L, 1);
  if (m != NULL) {
    tm_l_forgetlazy(L, m->lazy);
    map_release(m);  /* closing twice is harmless, as with <close> */
  } else {
    tm_view *v = (tm_view *)luaL_checkudata(L, 1, TM_VIEW_MT);
    v->closed = 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: idempotent, never raise */
static int map_gc(lua_State *L) {
  tm_map *m = tm_l_tomap(L, 1);
  if (m != NULL) {
    tm_l_forgetlazy(L, m->lazy);
    map_release(m);
  }
  return 0;
}

static int view_close(lua_State *L) {
  tm_view *v = tm_l_toview(L, 1);
  if (v != NULL) v->closed = 1;
  return 0;
}
/* }==================================================================== */

/* {====================================================================
** Writing: v[i] = b, resize, flush, advise
** ===================================================================== */

static int map_newindex(lua_State *L) {
  tm_range r;
  tm_l_range(L, 1, &r);
  int isnum;
  lua_Integer i = lua_tointegerx(L, 2, &isnum);
  if (!isnum || lua_type(L, 2) != LUA_TNUMBER)
    return luaL_error(L, "a map is indexed by integer positions");
  tm_l_checkwritable(L, &r);
  lua_Integer b = luaL_checkinteger(L, 3);
  luaL_argcheck(L, b >= 0 && b <= 255, 3, "byte value out of range (0-255)");
  if (i < 0) i += (lua_Integer)r.len + 1;
  if (i < 1 || i > (lua_Integer)r.len)
    return luaL_error(L, "position %I out of range (1 to %I): use resize "
                      "to grow a map", lua_tointeger(L, 2),
                      (lua_Integer)r.len);
  char c = (char)b;
  write_at(L, &r, (size_t)i - 1, &c, 1);
  return 0;
}

static tm_map *checkmap(lua_State *L) {
  tm_map *m = (tm_map *)luaL_checkudata(L, 1, TM_MAP_MT);
  if (m->closed) tm_l_closederror(L);
  return m;
}


/* the map itself, or the failure */
static int fileresult(lua_State *L, int err, const char *what) {
  if (err != 0) return tm_l_ioerror(L, what, err);
  lua_settop(L, 1);
  return 1;
}

static int map_resize(lua_State *L) {
  tm_map *m = checkmap(L);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "size must be non-negative");
  if (!m->mp.writable) return luaL_error(L, "attempt to resize a read-only map");
  if (m->mp.kind == TM_KIND_EXTERN)
    return luaL_error(L, "cannot resize memory lent by the host program");
  if (m->borrowed)
    return luaL_error(L, "cannot resize a map inside tome.parallel");
  if ((uint64_t)n > SIZE_MAX) return fileresult(L, EFBIG, "resize");
  int e = tm_map_resize(&m->mp, (size_t)n);
  if (e == EFAULT) return tm_l_fault(L, m);
  return fileresult(L, e, "resize");
}

static int map_flush(lua_State *L) {
  tm_map *m = checkmap(L);
  size_t from, to;
  tm_l_subrange(L, 2, 3, m->mp.len, &from, &to);
  int e = tm_map_sync(&m->mp, from, to - from);
  if (e == EFAULT) return tm_l_fault(L, m);  /* its pages are gone */
  return fileresult(L, e, "flush");
}

static int map_advise(lua_State *L) {
  static const char *const hints[] = {"normal", "sequential", "random",
                                      "willneed", "dontneed", NULL};
  tm_map *m = checkmap(L);
  int h = luaL_checkoption(L, 2, NULL, hints);
  size_t from, to;
  tm_l_subrange(L, 3, 4, m->mp.len, &from, &to);
  return fileresult(L, tm_map_advise(&m->mp, h, from, to - from), "advise");
}
/* }==================================================================== */

/* {====================================================================
** The module functions: open, create, wrap, type, and the C API
** ===================================================================== */


static int openresult(lua_State *L, tm_map *m, int err, const char *path) {
  if (err != 0) return tm_l_ioerror(L, path, err);
  m->closed = 0;
  return 1;
}

/* tome.open's third argument: { decompress =, memory =, tmpdir =,
** workers = } */
static void open_opts(lua_State *L, int idx, tm_source_opts *o) {
  memset(o, 0, sizeof *o);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "decompress") != LUA_TNIL)
    o->raw = !lua_toboolean(L, -1);
  if (lua_getfield(L, idx, "memory") != LUA_TNIL) {
    lua_Integer n = lua_tointeger(L, -1);
    luaL_argcheck(L, lua_isinteger(L, -1) && n > 0, idx,
                  "opts.memory must be a positive integer (bytes)");
    o->memory = (uint64_t)n > SIZE_MAX ? SIZE_MAX : (size_t)n;
  }
  if (lua_getfield(L, idx, "tmpdir") != LUA_TNIL)
    o->tmpdir = luaL_checkstring(L, -1);   /* kept alive by the table */
  if (lua_getfield(L, idx, "workers") != LUA_TNIL) {
    lua_Integer n = lua_tointeger(L, -1);
    luaL_argcheck(L, lua_isinteger(L, -1) && n >= 1 && n <= 1024, idx,
                  "opts.workers must be 1 to 1024");
    o->workers = (int)n;
  }
  lua_pop(L, 4);
}

static int t_open(lua_State *L) {
  static const char *const modes[] = {"r", "r+", "c", NULL};
  tm_source_opts o;
  tm_source_info info;
  if (lua_type(L, 1) != LUA_TSTRING) luaL_typeerror(L, 1, "string");
  const char *path = lua_tostring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  int md;
  for (md = 0; modes[md] && strcmp(modes[md], mode) != 0; md++) {}
  if (modes[md] == NULL)
    return luaL_argerror(L, 2, lua_pushfstring(L, "invalid mode '%s' "
                         "(expected \"r\", \"r+\" or \"c\")", mode));
  open_opts(L, 3, &o);
  o.defer = 1;   /* scans stream a large zstd file (lhelp.h) */
  tm_guard_install();
  lua_pushfstring(L, "\"%s\"", strcmp(path, "-") == 0 ? "(stdin)" : path);
  tm_map *m = tm_l_newmap(L, lua_tostring(L, -1));
  int err = tm_source_open(&m->mp, path, md, &o, &info);
  m->lazy = info.lazy;
  if (err != 0 && info.msg[0] != '\0') {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, info.msg);
    lua_pushinteger(L, err);
    return 3;
  }
  if (err == 0 && info.fmt != TM_FMT_PLAIN) {
    /* tostring says where the bytes came from */
    lua_pushfstring(L, "\"%s\" (decompressed %s)",
                    strcmp(path, "-") == 0 ? "(stdin)" : path,
                    tm_format_name(info.fmt));
    lua_setiuservalue(L, -2, 1);
  }
  return openresult(L, m, err, path);
}

static int t_create(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer size = luaL_checkinteger(L, 2);
  luaL_argcheck(L, size >= 0, 2, "size must be non-negative");
  tm_guard_install();
  lua_pushfstring(L, "\"%s\"", path);
  tm_map *m = tm_l_newmap(L, lua_tostring(L, -1));
  if ((uint64_t)size > SIZE_MAX) return openresult(L, m, EFBIG, path);
  const char *why;
  int err = tm_map_create(&m->mp, path, (size_t)size, &why);
  if (err != 0 && why != NULL) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, why);
    lua_pushinteger(L, err);
    return 3;
  }
  return openresult(L, m, err, path);
}

static int t_wrap(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  tm_map *m = tm_l_newmap(L, "(string)");
  int e = tm_map_heap(&m->mp, s, n);
  if (e != 0) return luaL_error(L, "not enough memory");
  m->closed = 0;
  return 1;
}

static int t_type(lua_State *L) {
  tm_map *m = tm_l_tomap(L, 1);
  if (m != NULL) lua_pushstring(L, m->closed ? "closed map" : "map");
  else if (tm_l_toview(L, 1) != NULL) lua_pushliteral(L, "view");
  else luaL_pushfail(L);
  return 1;
}

/* tome.progress(on): show the progress of long scans on stderr (only
** when it is a terminal); returns whether it will show. */
static int t_progress(lua_State *L) {
  tm_state *st = tm_l_state(L);
  tm_progress_end(&st->progress);
  lua_pushboolean(L, tm_progress_enable(&st->progress,
                                        lua_toboolean(L, 1)));
  return 1;
}

/* tome._tune(pread_min [, block [, step]]): for the specs, to drive the
** pread path with small files and tiny windows, or (step > 0) the mapped
** walk in tiny steps instead of pread.  Returns the previous values. */
static int t_tune(lua_State *L) {
  tm_state *st = tm_l_state(L);
  lua_Integer pm = luaL_optinteger(L, 1, (lua_Integer)st->pread_min);
  lua_Integer bl = luaL_optinteger(L, 2, (lua_Integer)st->block);
  lua_Integer sp = luaL_optinteger(L, 3, (lua_Integer)st->step);
  luaL_argcheck(L, pm >= 0, 1, "negative size");
  luaL_argcheck(L, bl >= 1, 2, "block must be positive");
  luaL_argcheck(L, sp >= 0, 3, "negative step");
  lua_pushinteger(L, (lua_Integer)st->pread_min);
  lua_pushinteger(L, (lua_Integer)st->block);
  lua_pushinteger(L, (lua_Integer)st->step);
  st->pread_min = (size_t)pm;
  st->step = (size_t)sp;
  if ((size_t)bl != st->block) {
    free(st->spare);
    st->spare = NULL;
    st->sparecap = 0;
  }
  st->block = (size_t)bl;
  return 3;
}

void tome_pushbuffer(lua_State *L, const void *data, size_t len, int writable,
                     void (*release)(void *ctx), void *ctx) {
  tm_map *m = tm_l_newmap(L, "(buffer)");
  tm_map_extern(&m->mp, data, len, writable);
  m->release = release;
  m->ctx = ctx;
  m->closed = 0;
  tm_l_pushview(L, lua_gettop(L), 0, len);
  lua_remove(L, -2);
}


const char *tome_checkbytes(lua_State *L, int idx, size_t *len) {
  tm_range r;
  tm_l_range(L, idx, &r);
  if (len != NULL) *len = r.len;
  return r.len > 0 ? tm_range_ptr(&r) : "";
}
/* }==================================================================== */

/* {====================================================================
** Registration
** ===================================================================== */

static const luaL_Reg methods[] = {
  {"len", map_len}, {"byte", map_byte}, {"sub", map_sub},
  {"view", map_view}, {"offset", map_offset}, {"map", map_map},
  {"rfind", map_rfind}, {"count", map_count},
  {"lineno", map_lineno}, {"lines", map_lines}, {"split", map_split},
  {"fields", map_fields}, {"unpack", map_unpack}, {"pack", map_pack},
  {"read", map_read}, {"seek", map_seek}, {"write", map_write},
  {"close", map_close}, {NULL, NULL}
};

static const luaL_Reg map_only[] = {
  {"resize", map_resize}, {"flush", map_flush}, {"advise", map_advise},
  {NULL, NULL}
};

/* metatable 'name' with __index over a methods table, which is left on
** the stack (the other rooms add their methods to it) */
static void newtype(lua_State *L, const char *name, int withmap) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  if (withmap) luaL_setfuncs(L, map_only, 0);
  lua_pushvalue(L, -1);
  lua_insert(L, -3);
  lua_pushcclosure(L, map_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, map_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, map_len);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, map_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, withmap ? map_gc : view_close);
  lua_setfield(L, -2, "__close");
  if (withmap) {
    lua_pushcfunction(L, map_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

static const luaL_Reg funcs[] = {
  {"open", t_open}, {"create", t_create}, {"wrap", t_wrap},
  {"type", t_type}, {"progress", t_progress}, {"_tune", t_tune},
  {NULL, NULL}
};

void tm_l_openmap(lua_State *L) {
  newtype(L, TM_MAP_MT, 1);
  newtype(L, TM_VIEW_MT, 0);
  tm_l_methodtables(L, -2, -1);
  lua_pop(L, 2);
  luaL_newmetatable(L, ITER_MT);
  lua_pushcfunction(L, iter_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  tm_l_state(L);
  luaL_setfuncs(L, funcs, 0);
}
/* }==================================================================== */
