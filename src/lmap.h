/*
** lmap.h -- the Lua types map and view, for the other bindings
** (writers, parallel, the pattern methods).
*/
#ifndef TOME_LMAP_H
#define TOME_LMAP_H

#include <stddef.h>
#include "lua.h"
#include "mapping.h"

#define TM_MAP_MT  "tome.map"
#define TM_VIEW_MT "tome.view"

typedef struct tm_map {
  tm_mapping mp;
  int closed;
  size_t cursor;                 /* file-handle position (0-based) */
  void (*release)(void *ctx);    /* tome_pushbuffer's callback */
  void *ctx;
  int borrowed;                  /* another state owns the mapping */
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

/* Check that idx holds an open map or a usable view and describe it;
** raises "attempt to use a closed map" and the like. */
void tm_l_range(lua_State *L, int idx, tm_range *r);
/* Is idx a map or a view (open or not)? */
int tm_l_isbytes(lua_State *L, int idx);
/* Address of range byte 0 (derive it anew after any Lua call).  An empty
** map has no memory: it gets an address that is never read or written
** (no byte lies in the range), so that adding 0 to it is defined. */
static inline char *tm_range_ptr(const tm_range *r) {
  return r->map->mp.base != NULL ? r->map->mp.base + r->off : (char *)"";
}
/* Push a copy of n bytes at p (inside r's map) as a Lua string, guarded
** against SIGBUS when the bytes are a mapped file. */
void tm_l_pushbytes(lua_State *L, const tm_range *r, const char *p, size_t n);
/* Copy n bytes at p (inside r's map) to dst, guarded. */
void tm_l_copy(lua_State *L, const tm_range *r, char *dst, const char *p,
               size_t n);
/* An I/O failure, as io.open reports it: pushes nil, "what: strerror",
** errno; returns 3. */
int tm_l_ioerror(lua_State *L, const char *what, int err);
/* Raise the error for a fault on r's map (a truncated file). */
int tm_l_fault(lua_State *L, const tm_map *map);
/* Push a new view of [off, off+len) of the map at stack index mapidx. */
void tm_l_pushview(lua_State *L, int mapidx, size_t off, size_t len);

/* Set up a scan cursor over r: pread for large ranges of files, memory
** otherwise (see scan.h).  The cursor allocates its own buffer. */
struct tm_src;
void tm_l_srcsetup(lua_State *L, struct tm_src *s, const tm_range *r);
/* An iterator's step: check that the range [off, off+len) it walks is
** still inside its open map, describe it in r and point src at it. */
void tm_l_iterrange(lua_State *L, tm_map *map, size_t off, size_t len,
                    struct tm_src *src, tm_range *r);
/* Raise the error of a failed cursor (err from tm_src). */
int tm_l_srcerror(lua_State *L, const tm_map *map, int err);

/* The state's progress display when tome.progress(true) is on, or NULL. */
struct tm_progress;
struct tm_progress *tm_l_progress(lua_State *L);

/* Push a view of [off, off+len) over a mapping another lua_State owns
** (tome.parallel's workers): closing it never unmaps, and it cannot be
** resized.  The owner must keep the mapping alive meanwhile. */
void tm_l_pushborrowed(lua_State *L, const tm_mapping *mp, size_t off,
                       size_t len);

/* registers the types and their methods in the table on top */
void tm_l_openmap(lua_State *L);

#endif
