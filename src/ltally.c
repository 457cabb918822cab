/*
** ltally.c -- v:tally([sep, col]): a table {value = count} of the values
** of one column of every line (split as v:fields splits: sep " " is awk's
** runs of blanks, any other sep a plain separator; negative columns count
** from the last field), or of the whole lines when no column is given.
** Lines without that column are not counted.  The lines are walked with
** a scan cursor (scan.c) and counted in C (tally.c): no Lua string is
** made per line, only one per distinct value at the end.  Results of
** tome.parallel workers merge by adding counts.
*/
#include "ltally.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lauxlib.h"
#include "lhelp.h"
#include "scan.h"
#include "tally.h"

#define TALLY_MT "tome.tally"

/* the counts and the cursor, in a userdata so that an error frees them */
typedef struct tally_ud {
  tm_tally t;
  tm_src src;
} tally_ud;

static int tally_gc(lua_State *L) {
  tally_ud *u = (tally_ud *)lua_touserdata(L, 1);
  tm_tally_free(&u->t);
  tm_src_done(&u->src);
  return 0;
}

/* Count the lines of r into u; 0, ENOMEM, or -1 (u->src.err). */
static int count_lines(tally_ud *u, const tm_range *r, const char *sep,
                       size_t sn, int col, tm_progress *pg) {
  size_t pos = 0, reported = 0;
  while (pos < r->len) {
    const char *p;
    size_t n, next, fs, fl;
    int rc = tm_src_line(&u->src, pos, &p, &n, &next);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (col == 0) {
      if (tm_tally_add(&u->t, p, n)) return ENOMEM;
    } else if (tm_column(p, n, sep, sn, col, &fs, &fl)) {
      if (tm_tally_add(&u->t, p + fs, fl)) return ENOMEM;
    }
    pos = next;
    if (pg != NULL && pos - reported >= TM_PROGRESS_STEP) {
      reported = pos;
      tm_progress_update(pg, pos);
    }
  }
  return 0;
}

/* count_lines under the SIGBUS guard: 0 ok, ENOMEM, -1 read error, or
** -2 after a fault (a truncated file) */
static int guarded_count(tally_ud *u, const tm_range *r, const char *sep,
                         size_t sn, int col, tm_progress *pg) {
  tm_guard g;
  int rc;
  if (!tm_guard_enter(&g)) return -2;
  rc = count_lines(u, r, sep, sn, col, pg);
  tm_guard_leave(&g);
  return rc;
}

static int map_tally(lua_State *L) {
  tm_range r;
  size_t sn = 0;
  const char *sep = NULL;
  int col = 0, rc, err;
  tm_l_scanrange(L, 1, &r);   /* lines come through u->src */
  if (!lua_isnoneornil(L, 2) || !lua_isnoneornil(L, 3)) {
    sep = luaL_checklstring(L, 2, &sn);
    luaL_argcheck(L, sn > 0, 2, "empty separator");
    lua_Integer c = luaL_checkinteger(L, 3);
    luaL_argcheck(L, c != 0 && c >= -TM_SPLIT_MAX && c <= TM_SPLIT_MAX, 3,
                  "column out of range");
    col = (int)c;
    if (sn == 1 && sep[0] == ' ') sep = NULL;  /* awk's blanks */
  }
  lua_settop(L, 3);  /* the separator string stays alive at 2 */
  tally_ud *u = (tally_ud *)lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  tm_tally_init(&u->t);
  if (luaL_newmetatable(L, TALLY_MT)) {
    lua_pushcfunction(L, tally_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  tm_l_scanrange(L, 1, &r);  /* the allocation may have run a finalizer */
  tm_l_srcsetup(L, &u->src, &r);
  tm_progress *pg = tm_l_progress(L);
  if (pg != NULL) tm_progress_start(pg, r.len);
  rc = guarded_count(u, &r, sep, sn, col, pg);
  if (pg != NULL) tm_progress_end(pg);
  if (rc == -2) return tm_l_fault(L, r.map);
  err = u->src.err;
  tm_src_done(&u->src);
  if (rc < 0) return tm_l_srcerror(L, r.map, err);
  if (rc == 0) rc = tm_tally_flush(&u->t);
  if (rc > 0) return luaL_error(L, "not enough memory");
  lua_createtable(L, 0, u->t.used < INT_MAX ? (int)u->t.used : INT_MAX);
  size_t it = 0, n;
  const char *key;
  uint64_t count;
  while (tm_tally_next(&u->t, &it, &key, &n, &count)) {
    lua_pushlstring(L, key, n);
    lua_pushinteger(L, (lua_Integer)count);
    lua_rawset(L, -3);
  }
  tm_tally_free(&u->t);
  return 1;
}

void tm_l_opentally(lua_State *L) {
  static const luaL_Reg methods[] = {{"tally", map_tally}, {NULL, NULL}};
  tm_l_addmethods(L, methods, 0);
}
