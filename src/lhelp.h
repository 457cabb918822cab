/*
** lhelp.h -- what every Lua binding uses, below the types: the map and
** view structures, resolving a map or view into a range of its map,
** string.sub clamping, guarded access to mapped bytes, scan cursors,
** errors for faults and I/O failures, new userdata, and the method tables
** the binding rooms (lmap.c, lmatch.c, ...) add their methods to.
**
** The rooms above it: lmap.c (the types and their core methods),
** lwriter.c (writers), lmatch.c (pattern methods, uses both), lparallel.c
** (tome.parallel), then tome.c (the module) and the host.
*/
#ifndef TOME_LHELP_H
#define TOME_LHELP_H

#include <stddef.h>
#include <stdlib.h>
#include "lua.h"
#include "lauxlib.h"
#include "mapping.h"
#include "progress.h"
#include "scan.h"
#include "source.h"

#define TM_MAP_MT  "tome.map"
#define TM_VIEW_MT "tome.view"

/* {======  the objects  ====== */
typedef struct tm_map {
  tm_mapping mp;
  int closed;
  size_t cursor;                 /* file-handle position (0-based) */
  void (*release)(void *ctx);    /* tome_pushbuffer's callback */
  void *ctx;
  int borrowed;                  /* another state owns the mapping */
  size_t hot[2];                 /* lmap.c: steps random reads touched */
  /* a deferred compressed file (source.h): mp.base is NULL, mp.len its
  ** decompressed length.  tm_l_range decompresses it into mp first;
  ** cursor scans (tm_l_scanrange) stream it instead. */
  tm_lazy *lazy;
  char zerr[320];                /* the last stream error (TM_EREADAT) */
} tm_map;

typedef struct tm_view {
  tm_map *map;                   /* anchored by user value 1 */
  size_t off, len;
  size_t cursor;
  int closed;
} tm_view;

/* What a map or a view stands for right now: a range of its map. */
typedef struct tm_range {
  tm_map *map;
  size_t off, len;
  size_t *cursor;
  int mapidx;                    /* stack index of the map's userdata, or 0 */
} tm_range;

/* Address of range byte 0 (derive it anew after any Lua call).  An empty
** map has no memory: it gets an address that is never read or written
** (no byte lies in the range), so that adding 0 to it is defined. */
static inline char *tm_range_ptr(const tm_range *r) {
  if (r->map->lazy != NULL) abort();   /* never: see tm_l_scanrange */
  return r->map->mp.base != NULL ? r->map->mp.base + r->off : (char *)"";
}
/* }====== */

/* {======  per-state settings (one per lua_State, in its registry)  ====== */
typedef struct tm_state {
  size_t pread_min;   /* ranges at least this long are read with pread */
  size_t block;       /* pread window size */
  size_t step;        /* > 0: walk file ranges mapped, in such steps */
  tm_src src;         /* the cursor of the non-iterator scans */
  char *spare;        /* their buffer, kept between calls */
  size_t sparecap;
  /* one-shot scans of a deferred map keep its decoder, and the window
  ** the last one left in the spare buffer, for the next one (a loop of
  ** finds goes on where the last find stopped) */
  tm_zstream *zs;
  tm_lazy *zslazy;    /* whose (compared by identity, then by tm_zstream_of) */
  size_t zsfoff, zslen, zswpos, zswlen;
  tm_progress progress;  /* tome.progress(true) */
} tm_state;

tm_state *tm_l_state(lua_State *L);
/* The state's progress display when tome.progress(true) is on, or NULL. */
tm_progress *tm_l_progress(lua_State *L);
/* }====== */

/* {======  checking and resolving  ====== */
/* The map or view at idx, or NULL (open or not). */
tm_map *tm_l_tomap(lua_State *L, int idx);
tm_view *tm_l_toview(lua_State *L, int idx);
/* Is idx a map or a view (open or not)? */
int tm_l_isbytes(lua_State *L, int idx);
/* Check that idx holds an open map or a usable view and describe it;
** raises "attempt to use a closed map" and the like.  A deferred map is
** decompressed first (raising on failure), so tm_range_ptr is valid. */
void tm_l_range(lua_State *L, int idx, tm_range *r);
/* The same, but a deferred map stays deferred: only for code that reads
** the bytes through a scan cursor (tm_l_srcsetup, tm_l_scanbegin) and
** never through tm_range_ptr or mp.base. */
void tm_l_scanrange(lua_State *L, int idx, tm_range *r);
/* Decompress a deferred map now (nothing when it is not deferred). */
void tm_l_materialise(lua_State *L, tm_map *m);
/* Drop the state's decoder of the deferred file z, if it has one (when
** z's map closes). */
void tm_l_forgetlazy(lua_State *L, const tm_lazy *z);
/* Push the map userdata of the map or view at idx. */
void tm_l_pushmapof(lua_State *L, int idx);
/* Raise unless r's map is writable. */
void tm_l_checkwritable(lua_State *L, const tm_range *r);
/* Raise "attempt to use a closed map". */
int tm_l_closederror(lua_State *L);
/* }====== */

/* {======  positions, clamped as the string library clamps them  ====== */
/* a start position (string.sub's i, string.find's init): 1.. */
size_t tm_l_startpos(lua_Integer pos, size_t len);
/* an end position (string.sub's j): 0..len */
size_t tm_l_endpos(lua_Integer pos, size_t len);
/* [i, j] from arguments ai, aj (defaults 1, -1) as a 0-based half-open
** range [*from, *to); empty ranges are placed at min(i-1, len). */
void tm_l_subrange(lua_State *L, int ai, int aj, size_t len, size_t *from,
                   size_t *to);
/* }====== */

/* {======  guarded access to mapped bytes  ====== */
/* Push a copy of n bytes at p (inside r's map) as a Lua string, guarded
** against SIGBUS when the bytes are a mapped file. */
void tm_l_pushbytes(lua_State *L, const tm_range *r, const char *p, size_t n);
/* Copy n bytes at p (inside r's map) to dst, guarded. */
void tm_l_copy(lua_State *L, const tm_range *r, char *dst, const char *p,
               size_t n);
/* Raise the error for a fault on r's map (a truncated file). */
int tm_l_fault(lua_State *L, const tm_map *map);
/* An I/O failure, as io.open reports it: pushes nil, "what: strerror",
** errno; returns 3. */
int tm_l_ioerror(lua_State *L, const char *what, int err);
/* }====== */

/* {======  scan cursors (scan.h)  ====== */
/* Set up a scan cursor over r: pread for large ranges of files, memory
** otherwise, or the mapping in released steps when the page cache holds
** large folios.  The cursor allocates its own buffer. */
void tm_l_srcsetup(lua_State *L, tm_src *s, const tm_range *r);
/* The state's shared cursor for one-shot scans (find, count...), with
** its reused buffer; tm_l_scanend takes the buffer back and raises when
** rc < 0. */
tm_src *tm_l_scanbegin(lua_State *L, const tm_range *r);
void tm_l_scanend(lua_State *L, const tm_range *r, tm_src *s, int rc);
/* An iterator's step: check that the range [off, off+len) it walks is
** still inside its open map, describe it in r and point src at it. */
void tm_l_iterrange(lua_State *L, tm_map *map, size_t off, size_t len,
                    tm_src *src, tm_range *r);
/* Raise the error of a failed cursor (err from tm_src). */
int tm_l_srcerror(lua_State *L, const tm_map *map, int err);
/* }====== */

/* {======  new objects  ====== */
/* A new map userdata named 'name' (for tostring), closed until its
** mapping is filled in and 'closed' is cleared. */
tm_map *tm_l_newmap(lua_State *L, const char *name);
/* Push a new view of [off, off+len) of the map at stack index mapidx. */
void tm_l_pushview(lua_State *L, int mapidx, size_t off, size_t len);
/* Push a view of [off, off+len) over a mapping another lua_State owns
** (tome.parallel's workers): closing it never unmaps, and it cannot be
** resized.  The owner must keep the mapping alive meanwhile. */
void tm_l_pushborrowed(lua_State *L, const tm_mapping *mp, size_t off,
                       size_t len);
/* }====== */

/* {======  method tables  ====== */
/* lmap.c: remember the types' method tables (at the given indices). */
void tm_l_methodtables(lua_State *L, int maptable, int viewtable);
/* Add methods to maps and views (or to maps only). */
void tm_l_addmethods(lua_State *L, const luaL_Reg *fns, int maponly);
/* }====== */

#endif
