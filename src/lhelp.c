/*
** lhelp.c -- what every Lua binding of tome uses, below the types: the
** per-state settings and scan buffer, checking and resolving maps and
** views into ranges, string.sub clamping, guarded copies of mapped bytes,
** scan cursors, fault and I/O error results, new map and view userdata,
** and the method tables the binding rooms add their methods to.
**
** A view never caches an address: it holds its map (user value 1), an
** offset and a length, and derives the address on every call, so a
** closed or shrunk map gives an error instead of a use-after-unmap.
*/
#include "lhelp.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"

#define STATE_KEY "tome.state"
#define METHODS_KEY "tome.methods"   /* registry: {map = t, view = t} */

/* {====================================================================
** Per-state settings and the reused scan buffer.  One per lua_State (in
** its registry), so two states in two threads share nothing.
** ===================================================================== */

/* Below this, faulting the mapping in costs less than a read system call
** per window; above it, pread through the page cache wins (see scan.h). */
#define PREAD_MIN ((size_t)1 << 20)
/* ranges at least this long are probed for large folios (tm_map_largefolios)
** and, when they have them, walked through the mapping in steps */
#define MAPPED_MIN ((size_t)64 << 20)
#define MAPPED_STEP ((size_t)16 << 20)

static int state_gc(lua_State *L) {
  tm_state *st = (tm_state *)lua_touserdata(L, 1);
  tm_progress_end(&st->progress);
  free(st->spare);
  st->spare = NULL;
  st->sparecap = 0;
  tm_zstream_free(st->zs);
  st->zs = NULL;
  return 0;
}

tm_state *tm_l_state(lua_State *L) {
  tm_state *st;
  if (lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY) == LUA_TUSERDATA) {
    st = (tm_state *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return st;
  }
  lua_pop(L, 1);
  st = (tm_state *)lua_newuserdatauv(L, sizeof(tm_state), 0);
  memset(st, 0, sizeof *st);
  st->pread_min = PREAD_MIN;
  st->block = TM_SRC_BLOCK;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  return st;
}
/* }==================================================================== */

/* {====================================================================
** Checking and resolving maps and views
** ===================================================================== */

tm_map *tm_l_tomap(lua_State *L, int idx) {
  return (tm_map *)luaL_testudata(L, idx, TM_MAP_MT);
}

tm_view *tm_l_toview(lua_State *L, int idx) {
  return (tm_view *)luaL_testudata(L, idx, TM_VIEW_MT);
}

int tm_l_isbytes(lua_State *L, int idx) {
  return tm_l_tomap(L, idx) != NULL || tm_l_toview(L, idx) != NULL;
}

int tm_l_closederror(lua_State *L) {
  return luaL_error(L, "attempt to use a closed map");
}

/* The state's one-shot decoder goes with the deferred file z it decodes
** (its descriptor would keep a deleted file's blocks until the state
** closes).  Never creates the state: safe in finalizers. */
void tm_l_forgetlazy(lua_State *L, const tm_lazy *z) {
  if (z == NULL) return;
  if (lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY) == LUA_TUSERDATA) {
    tm_state *st = (tm_state *)lua_touserdata(L, -1);
    if (st->zslazy == z) {
      tm_zstream_free(st->zs);
      st->zs = NULL;
      st->zslazy = NULL;
      st->zswlen = 0;
    }
  }
  lua_pop(L, 1);
}

/* A deferred map becomes an ordinary (spilled) one: tm_l_range does this
** before anyone may touch mp.base. */
void tm_l_materialise(lua_State *L, tm_map *m) {
  tm_mapping mp;
  tm_source_info info;
  if (m->lazy == NULL) return;
  memset(&mp, 0, sizeof mp);
  mp.fd = -1;
  int e = tm_lazy_fill(m->lazy, &mp, &info);
  if (e != 0)
    luaL_error(L, "%s: %s", tm_lazy_path(m->lazy),
               info.msg[0] != '\0' ? info.msg : strerror(e));
  tm_map_close(&m->mp);     /* nothing mapped: for form's sake */
  m->mp = mp;
  tm_l_forgetlazy(L, m->lazy);
  tm_lazy_free(m->lazy);
  m->lazy = NULL;
}

void tm_l_range(lua_State *L, int idx, tm_range *r) {
  tm_l_scanrange(L, idx, r);
  if (r->map->lazy != NULL) {
    tm_l_materialise(L, r->map);
    tm_l_scanrange(L, idx, r);
  }
}

void tm_l_scanrange(lua_State *L, int idx, tm_range *r) {
  tm_map *m = tm_l_tomap(L, idx);
  if (m != NULL) {
    if (m->closed) tm_l_closederror(L);
    r->map = m;
    r->off = 0;
    r->len = m->mp.len;
    r->cursor = &m->cursor;
    r->mapidx = lua_absindex(L, idx);
    return;
  }
  tm_view *v = tm_l_toview(L, idx);
  if (v == NULL) {
    luaL_typeerror(L, idx, "tome map or view");
    return;
  }
  if (v->closed) luaL_error(L, "attempt to use a closed view");
  if (v->map->closed) tm_l_closederror(L);
  if (v->off > v->map->mp.len || v->len > v->map->mp.len - v->off)
    luaL_error(L, "view [%I, %I] lies outside its map (%I bytes): the map "
               "was resized", (lua_Integer)v->off + 1,
               (lua_Integer)(v->off + v->len), (lua_Integer)v->map->mp.len);
  r->map = v->map;
  r->off = v->off;
  r->len = v->len;
  r->cursor = &v->cursor;
  r->mapidx = 0;
}

/* Push the map userdata of the map or view at idx. */
void tm_l_pushmapof(lua_State *L, int idx) {
  if (tm_l_tomap(L, idx) != NULL) lua_pushvalue(L, idx);
  else lua_getiuservalue(L, idx, 1);
}

void tm_l_checkwritable(lua_State *L, const tm_range *r) {
  if (!r->map->mp.writable)
    luaL_error(L, "attempt to write to a read-only map");
}

/* A fault is a truncated file, unless the file still covers the byte:
** then the kernel could not give the page (a full disk under a writable
** map of a sparse file), and saying "truncated" would be false. */
int tm_l_fault(lua_State *L, const tm_map *map) {
  int err = tm_map_faulterr(&map->mp, tm_guard_faultaddr());
  if (err == ENOSPC || err == EDQUOT)
    return luaL_error(L, "mapped file: %s: the file system could not "
                      "allocate a page for it", strerror(err));
  if (err != 0) return luaL_error(L, "mapped file: %s", strerror(err));
  off_t now = tm_map_filesize(&map->mp);
  if (now >= 0)
    return luaL_error(L, "file truncated while mapped: it has %I bytes now, "
                      "the map %I", (lua_Integer)now,
                      (lua_Integer)map->mp.len);
  return luaL_error(L, "file truncated while mapped");
}
/* }==================================================================== */

/* {====================================================================
** Positions, clamped as the string library clamps them
** ===================================================================== */

/* a start position (string.sub's i, string.find's init): 1.. */
size_t tm_l_startpos(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  if (pos == 0) return 1;
  if (pos < -(lua_Integer)len) return 1;
  return len + (size_t)pos + 1;
}

/* an end position (string.sub's j): 0..len */
size_t tm_l_endpos(lua_Integer pos, size_t len) {
  if (pos > (lua_Integer)len) return len;
  if (pos >= 0) return (size_t)pos;
  if (pos < -(lua_Integer)len) return 0;
  return len + (size_t)pos + 1;
}

/* [i, j] from arguments ai, aj (defaults 1, -1) as a 0-based half-open
** range [*from, *to); empty ranges are placed at min(i-1, len). */
void tm_l_subrange(lua_State *L, int ai, int aj, size_t len, size_t *from,
                     size_t *to) {
  size_t i = tm_l_startpos(luaL_optinteger(L, ai, 1), len);
  size_t j = tm_l_endpos(luaL_optinteger(L, aj, -1), len);
  if (i > j) {
    *from = *to = (i - 1 < len ? i - 1 : len);
    return;
  }
  *from = i - 1;
  *to = j;
}
/* }==================================================================== */

/* {====================================================================
** Guarded access to mapped bytes
** ===================================================================== */

void tm_l_copy(lua_State *L, const tm_range *r, char *dst, const char *p,
               size_t n) {
  tm_guard g;
  if (n == 0) return;
  if (!tm_guard_enter(&g)) {
    tm_l_fault(L, r->map);
    return;
  }
  memcpy(dst, p, n);
  tm_guard_leave(&g);
}

void tm_l_pushbytes(lua_State *L, const tm_range *r, const char *p,
                    size_t n) {
  if (n == 0 || r->map->mp.kind != TM_KIND_FILE) {
    lua_pushlstring(L, p, n);
    return;
  }
  /* copy under the guard into a buffer first: a fault must never happen
  ** half-way through one of Lua's own functions */
  tm_map *m = r->map;
  size_t at = r->off + (size_t)(p - tm_range_ptr(r));
  luaL_Buffer b;
  char *d = luaL_buffinitsize(L, &b, n);
  /* that allocation may have run a finalizer that closed or resized the
  ** map: find the bytes again */
  if (m->closed) tm_l_closederror(L);
  if (at > m->mp.len || n > m->mp.len - at)
    luaL_error(L, "the map shrank while it was being read");
  tm_l_copy(L, r, d, m->mp.base + at, n);
  luaL_pushresultsize(&b, n);
}

void tm_l_pushview(lua_State *L, int mapidx, size_t off, size_t len) {
  tm_map *m = tm_l_tomap(L, mapidx);
  tm_view *v = (tm_view *)lua_newuserdatauv(L, sizeof(tm_view), 1);
  v->map = m;
  v->off = off;
  v->len = len;
  v->cursor = 0;
  v->closed = 0;
  lua_pushvalue(L, mapidx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, TM_VIEW_MT);
}
/* }==================================================================== */

/* {====================================================================
** Scanning through a cursor (scan.c): memory for small ranges and
** memory-only maps, pread for large ranges of files.
** ===================================================================== */

static int use_pread(const tm_state *st, const tm_range *r) {
  const tm_mapping *mp = &r->map->mp;
  return mp->kind == TM_KIND_FILE && mp->fd >= 0 && mp->mode != TM_MODE_COW
         && r->len >= st->pread_min;
}

/* A mapped scan drops what it has walked, a step at a time, so that
** scanning a file never grows the resident set with the file. */
static void release_behind(tm_src *s, size_t from, size_t to) {
  tm_map *m = (tm_map *)s->ud;
  tm_map_advise(&m->mp, TM_ADV_DONTNEED, (size_t)s->foff + from, to - from);
}

/* {======  deferred maps: the cursor reads through a decoder  ====== */

/* the window size of a streamed cursor */
#define LAZY_BLOCK ((size_t)1 << 20)
/* what a decoder costs, about (windows, buffers, decoder state) */
#define LAZY_KB 8192

static int lazy_readat(tm_src *s, char *dst, size_t n, uint64_t off) {
  tm_map *m = (tm_map *)s->ud;
  tm_zstream *d = (tm_zstream *)s->rd;
  if (d == NULL) {   /* lazy_open said why */
    s->err = TM_EREADAT;
    return 0;
  }
  if (tm_zstream_read(d, dst, n, off) == 0) return 1;
  snprintf(m->zerr, sizeof m->zerr, "%s", tm_zstream_error(d));
  s->err = TM_EREADAT;
  return 0;
}

/* A decoder for the deferred map m, or NULL with the reason in m->zerr
** (no memory, no descriptor left). */
static tm_zstream *lazy_open(tm_map *m) {
  tm_zstream *d = NULL;
  int e = tm_zstream_open(&d, m->lazy);
  if (e != 0)
    snprintf(m->zerr, sizeof m->zerr, "%s: cannot decompress: %s",
             tm_lazy_path(m->lazy), strerror(e));
  return d;
}

static void lazy_free(void *rd) {
  tm_zstream_free((tm_zstream *)rd);
}

/* A cursor over a range of the deferred map r->map, decoding with d (NULL:
** it could not be had, the first read says so). */
static void lazy_setup(tm_src *s, const tm_state *st, const tm_range *r,
                       tm_zstream *d, char *buf, size_t cap) {
  /* tome._tune's block, for the specs; else large windows */
  size_t want = st->block != TM_SRC_BLOCK ? st->block : LAZY_BLOCK;
  if (buf == NULL || cap < want) {
    char *nb = realloc(buf, want);
    if (nb != NULL) {
      buf = nb;
      cap = want;
    }
  }
  /* fd: not read (readat is); >= 0 so that the cursor is not memory */
  tm_src_init(s, NULL, 0, (off_t)r->off, r->len, buf, cap);
  s->readat = lazy_readat;
  s->rd = d;
  s->ud = r->map;
}
/* }====== */

/* Large ranges of files are read with pread, unless the page cache holds
** them in large folios (read back from disk): then the mapping is faster
** still, walked in steps that are released behind the scan. */
static void src_setup(tm_src *s, const tm_state *st, const tm_range *r,
                      char *buf, size_t cap) {
  int viafd = use_pread(st, r);
  int mapped = viafd && (st->step > 0 || (r->len >= MAPPED_MIN &&
               tm_map_largefolios(&r->map->mp, r->off, r->len)));
  if (mapped) viafd = 0;
  tm_src_init(s, viafd ? NULL : tm_range_ptr(r), viafd ? r->map->mp.fd : -1,
              (off_t)r->off, r->len, buf, cap);
  if (mapped)
    tm_src_steps(s, st->step > 0 ? st->step : MAPPED_STEP, release_behind,
                 r->map);
}

tm_progress *tm_l_progress(lua_State *L) {
  tm_state *st = tm_l_state(L);
  return st->progress.on ? &st->progress : NULL;
}

void tm_l_srcsetup(lua_State *L, tm_src *s, const tm_range *r) {
  if (r->map->lazy != NULL) {   /* a decoder of its own, freed with s */
    tm_zstream *d = lazy_open(r->map);
    lazy_setup(s, tm_l_state(L), r, d, NULL, 0);
    s->rdfree = lazy_free;
    /* the collector does not see the decoder's memory (some MB): tell
    ** it, so that a loop that leaves iterators behind collects them.
    ** (Last: a finalizer run here finds the cursor complete.) */
    lua_gc(L, LUA_GCSTEP, LAZY_KB);
    return;
  }
  src_setup(s, tm_l_state(L), r, NULL, 0);
}

int tm_l_srcerror(lua_State *L, const tm_map *map, int err) {
  if (err == TM_ETRUNC) return tm_l_fault(L, map);
  if (err == TM_EREADAT) return luaL_error(L, "%s", map->zerr);
  return luaL_error(L, "read error: %s", strerror(err));
}

/* The shared cursor of the one-shot scans, with the spare buffer. */
tm_src *tm_l_scanbegin(lua_State *L, const tm_range *r) {
  tm_state *st = tm_l_state(L);
  if (r->map->lazy != NULL) {
    /* the state's decoder, kept from the last scan when it decodes the
    ** same file; and the window that scan left, for the same range */
    int same = st->zs != NULL && st->zslazy == r->map->lazy &&
               tm_zstream_of(st->zs, r->map->lazy);
    if (!same) {
      tm_zstream_free(st->zs);
      st->zs = NULL;
      st->zswlen = 0;
      st->zs = lazy_open(r->map);
      st->zslazy = r->map->lazy;
    }
    int keep = same && st->zswlen > 0 && st->zsfoff == r->off &&
               st->zslen == r->len && st->spare != NULL &&
               st->sparecap >= st->zswlen;
    lazy_setup(&st->src, st, r, st->zs, st->spare, st->sparecap);
    if (keep) {
      st->src.wpos = st->zswpos;
      st->src.wlen = st->zswlen;
    }
    st->zswlen = 0;
    st->spare = NULL;
    st->sparecap = 0;
    return &st->src;
  }
  st->zswlen = 0;   /* the spare buffer is about to hold other bytes */
  if (st->spare == NULL && use_pread(st, r)) {
    st->spare = malloc(st->block);
    st->sparecap = st->spare ? st->block : 0;
  }
  src_setup(&st->src, st, r, st->spare, st->sparecap);
  st->spare = NULL;
  st->sparecap = 0;
  return &st->src;
}

/* Take the buffer back; raise if the scan failed. */
void tm_l_scanend(lua_State *L, const tm_range *r, tm_src *s, int rc) {
  tm_state *st = tm_l_state(L);
  int err = s->err;
  tm_src_finish(s);
  if (s->readat != NULL && s->rdfree == NULL && err == 0) {
    st->zsfoff = (size_t)s->foff;    /* the window stays for the next scan */
    st->zslen = s->len;
    st->zswpos = s->wpos;
    st->zswlen = s->wlen;
  }
  s->rd = NULL;        /* the state's decoder stays the state's */
  s->readat = NULL;
  st->spare = s->buf;
  st->sparecap = s->cap;
  s->buf = NULL;
  s->cap = 0;
  if (rc >= 0) return;
  tm_l_srcerror(L, r->map, err);
}
/* }==================================================================== */


/* Check the iterated range is still there, point the cursor at it. */
void tm_l_iterrange(lua_State *L, tm_map *map, size_t off, size_t len,
                    tm_src *src, tm_range *r) {
  if (map->closed) tm_l_closederror(L);
  if (off > map->mp.len || len > map->mp.len - off)
    luaL_error(L, "iterated range lies outside its map: the map was resized");
  r->map = map;
  r->off = off;
  r->len = len;
  r->cursor = NULL;
  r->mapidx = 0;
  if (src->fd < 0) src->mem = tm_range_ptr(r);
}

int tm_l_ioerror(lua_State *L, const char *what, int err) {
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", what, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

/* A new map userdata, closed until 'mp' is filled in and opened. */
tm_map *tm_l_newmap(lua_State *L, const char *name) {
  tm_map *m = (tm_map *)lua_newuserdatauv(L, sizeof(tm_map), 1);
  memset(m, 0, sizeof *m);
  m->closed = 1;
  m->mp.fd = -1;
  luaL_setmetatable(L, TM_MAP_MT);
  lua_pushstring(L, name);
  lua_setiuservalue(L, -2, 1);
  return m;
}

void tm_l_pushborrowed(lua_State *L, const tm_mapping *mp, size_t off,
                       size_t len) {
  tm_map *m = tm_l_newmap(L, "(parallel)");
  m->mp = *mp;
  m->borrowed = 1;
  m->closed = 0;
  tm_l_pushview(L, lua_gettop(L), off, len);
  lua_remove(L, -2);
}


/* {====================================================================
** Method tables: lmap.c makes the types; each binding room adds its
** methods with tm_l_addmethods from its own opener.
** ===================================================================== */

void tm_l_methodtables(lua_State *L, int maptable, int viewtable) {
  maptable = lua_absindex(L, maptable);
  viewtable = lua_absindex(L, viewtable);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, maptable);
  lua_setfield(L, -2, "map");
  lua_pushvalue(L, viewtable);
  lua_setfield(L, -2, "view");
  lua_setfield(L, LUA_REGISTRYINDEX, METHODS_KEY);
}

void tm_l_addmethods(lua_State *L, const luaL_Reg *fns, int maponly) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, METHODS_KEY) != LUA_TTABLE)
    luaL_error(L, "tome: the map and view types are not registered yet");
  lua_getfield(L, -1, "map");
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
  if (!maponly) {
    lua_getfield(L, -1, "view");
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
/* }==================================================================== */
