/*
** lmatch.c -- the search methods of maps and views: find (the plain half
** is lmap.c's), match, gmatch, gsub (into a string or streamed into a
** writer) and grep (plain, or with a pattern).  The engine is
** pattern.c; this file checks arguments, guards the reads of mapped bytes
** and pushes results, as lmap.c does.
*/
#include "lmatch.h"

#include <errno.h>
#include <string.h>

#include "lauxlib.h"
#include "lmap.h"
#include "lwriter.h"
#include "pattern.h"
#include "progress.h"
#include "scan.h"

/* Where the subject of a pattern method is, to find it again after Lua
** code ran (a replacement function, a finalizer run by an allocation):
** the map or view at stack index idx, expected to be len bytes long. */
typedef struct subj_ctx {
  lua_State *L;
  int idx;
  tm_guard *g;
  size_t len;
  struct long_subj *ls;  /* the long-subject cursor, or NULL */
} subj_ctx;

static void ls_repoint(struct long_subj *ls, const char *src);

/* Before the engine raises or runs Lua code: out of the guard, so that
** no error unwinds past it (mapping.h). */
static void leave_subject(tm_pat *ms) {
  tm_guard_leave(((subj_ctx *)ms->ud)->g);
}

/* After Lua code ran (or an allocation that may have run a finalizer):
** the map may have been closed or resized, or its mapping moved.  The
** checks may raise, so they run outside the guard; then it is the
** innermost guard again. */
static void refresh_subject(tm_pat *ms) {
  subj_ctx *cx = (subj_ctx *)ms->ud;
  tm_range r;
  tm_guard_leave(cx->g);
  tm_l_range(cx->L, cx->idx, &r);
  if (r.len != cx->len)
    luaL_error(cx->L, "the map changed size during a pattern search");
  ms->src = tm_range_ptr(&r);
  if (cx->ls != NULL) ls_repoint(cx->ls, ms->src);
  tm_guard_reset(cx->g);
}

static void watch_subject(tm_pat *ms, subj_ctx *cx, lua_State *L, int idx,
                          tm_guard *g, size_t len) {
  cx->L = L;
  cx->idx = idx;
  cx->g = g;
  cx->len = len;
  cx->ls = NULL;
  ms->refresh = refresh_subject;
  ms->leave = leave_subject;
  ms->ud = cx;
}

/* {====================================================================
** Long subjects: a pattern search over a large range of a file finds its
** literal candidates through a scan cursor (pread into a reused buffer,
** or the mapping in steps released behind it), so a fresh file is read
** at read() speed; and the mapping the matcher touched is released
** behind the search, so the resident set stays bounded whatever the size
** of the file.  Releasing never changes a result: a released page that
** is read again comes back from the page cache.
** ===================================================================== */

#define LONG_SUBJ ((size_t)1 << 20)   /* shorter subjects: plain memory */
#define RELEASE_MIN ((size_t)16 << 20)  /* release at least this much */

typedef struct long_subj {
  tm_src src;
  int active;        /* the cursor is set up */
  tm_map *map;
  size_t off;        /* the range's offset in its map */
  size_t released;   /* range bytes before this were released */
  const size_t *keep;  /* gsub: its unwritten stretch starts here */
} long_subj;

static size_t ls_seek(tm_pat *ms, size_t pos, const char *lit, size_t n) {
  subj_ctx *cx = (subj_ctx *)ms->ud;
  long_subj *ls = cx->ls;
  size_t at;
  int rc = tm_src_find(&ls->src, pos, ms->srclen, lit, n, &at);
  if (rc < 0) {   /* raised out of the guard (mapping.h) */
    leave_subject(ms);
    tm_l_srcerror(cx->L, ls->map, ls->src.err);
  }
  return rc > 0 ? at : TM_PAT_NONE;
}

/* No match starts before pos any more: drop the mapped pages behind it
** (one byte before a match may still be read, by %f). */
static void ls_passed(tm_pat *ms, size_t pos) {
  long_subj *ls = ((subj_ctx *)ms->ud)->ls;
  size_t upto = pos > 0 ? pos - 1 : 0;
  if (ls->keep != NULL && *ls->keep < upto) upto = *ls->keep;
  if (upto < ls->released || upto - ls->released < RELEASE_MIN) return;
  tm_map_advise(&ls->map->mp, TM_ADV_DONTNEED, ls->off + ls->released,
                upto - ls->released);
  ls->released = upto;
}

/* Set up ls for the range r when it is long enough to matter, and hook
** it to ms (whose ud is already the subj_ctx cx). */
static void ls_setup(lua_State *L, long_subj *ls, const tm_range *r,
                     tm_pat *ms, subj_ctx *cx) {
  const tm_mapping *mp = &r->map->mp;
  cx->ls = NULL;
  if (mp->kind != TM_KIND_FILE || mp->fd < 0 || r->len < LONG_SUBJ) return;
  if (!ls->active) {
    tm_l_srcsetup(L, &ls->src, r);
    ls->active = 1;
    ls->map = r->map;
    ls->off = r->off;
    ls->released = 0;
    ls->keep = NULL;
  }
  if (ls->src.fd < 0) ls->src.mem = tm_range_ptr(r);  /* may have moved */
  cx->ls = ls;
  ms->seek = ls_seek;
  ms->passed = ls_passed;
}

static void ls_repoint(long_subj *ls, const char *src) {
  if (ls->src.fd < 0) ls->src.mem = src;
}

static void ls_done(long_subj *ls) {
  if (!ls->active) return;
  tm_src_done(&ls->src);
  ls->active = 0;
}

/* find and gsub keep their long_subj in a userdata, freed by __gc if the
** search raises */
#define LONG_MT "tome.longsubject"

static int ls_gc(lua_State *L) {
  ls_done((long_subj *)lua_touserdata(L, 1));
  return 0;
}

static long_subj *ls_new(lua_State *L) {
  long_subj *ls = (long_subj *)lua_newuserdatauv(L, sizeof *ls, 0);
  memset(ls, 0, sizeof *ls);
  if (luaL_newmetatable(L, LONG_MT)) {
    lua_pushcfunction(L, ls_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return ls;
}
/* }==================================================================== */

/* {====================================================================
** find (with a pattern) and match
** ===================================================================== */

/* string.find (find = 1, plain searches were done by the caller) and
** string.match (find = 0) on the map or view at 1. */
static int find_aux(lua_State *L, int find) {
  tm_range r;
  tm_pat ms;
  size_t lp;
  int n;
  tm_l_range(L, 1, &r);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), r.len);
  if (init > r.len) {
    luaL_pushfail(L);
    return 1;
  }
  long_subj *ls = r.len >= LONG_SUBJ ? ls_new(L) : NULL;
  tm_l_range(L, 1, &r);  /* the allocation may have run a finalizer */
  tm_pat_init(&ms, L, tm_range_ptr(&r), r.len, p, lp, 1);
  tm_guard g;
  subj_ctx cx;
  watch_subject(&ms, &cx, L, 1, &g, r.len);
  if (ls != NULL) ls_setup(L, ls, &r, &ms, &cx);
  if (!tm_guard_enter(&g)) return tm_l_fault(L, r.map);
  n = tm_pat_push_find(&ms, init, find);
  tm_guard_leave(&g);
  if (ls != NULL) {
    ls_done(ls);
    lua_remove(L, -n - 1);  /* the long_subj under the results */
  }
  return n;
}

/* find: plain (lmap.c) unless the needle has pattern specials */
static int map_find(lua_State *L) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);   /* plain: the cursor; find_aux: tm_l_range */
  size_t nn;
  const char *nd = luaL_checklstring(L, 2, &nn);
  size_t init = tm_l_startpos(luaL_optinteger(L, 3, 1), r.len);
  if (init > r.len + 1) {
    luaL_pushfail(L);
    return 1;
  }
  if (lua_toboolean(L, 4) || tm_pat_isplain(nd, nn))
    return tm_l_plainfind(L, &r, nd, nn, init);
  return find_aux(L, 1);
}

static int map_match(lua_State *L) {
  return find_aux(L, 0);
}
/* }==================================================================== */

/* {====================================================================
** gmatch: the state (position, last match end, the prepared pattern)
** lives in a userdata upvalue; the subject is re-resolved at each step.
** ===================================================================== */

typedef struct gm_state {
  long_subj ls;    /* first: the userdata's __gc is ls_gc */
  tm_pat ms;
  size_t pos, last, len;
  tm_progress *progress;
  size_t reported;
} gm_state;

static int gmatch_step(lua_State *L) {
  gm_state *gm = (gm_state *)lua_touserdata(L, lua_upvalueindex(3));
  tm_range r;
  size_t b, e;
  int n = 0;
  tm_l_range(L, lua_upvalueindex(1), &r);
  if (r.len != gm->len)
    return luaL_error(L, "the map changed size during gmatch");
  gm->ms.L = L;
  gm->ms.src = tm_range_ptr(&r);
  if (gm->pos > gm->len) return 0;
  tm_guard g;
  subj_ctx cx;
  watch_subject(&gm->ms, &cx, L, lua_upvalueindex(1), &g, gm->len);
  ls_setup(L, &gm->ls, &r, &gm->ms, &cx);
  if (!tm_guard_enter(&g)) return tm_l_fault(L, r.map);
  if (tm_pat_next(&gm->ms, gm->pos, gm->last, &b, &e)) {
    gm->pos = gm->last = e;
    n = tm_pat_push_captures(&gm->ms, b, e, 1);
  } else {
    gm->pos = gm->len + 1;  /* done */
  }
  tm_guard_leave(&g);
  if (n == 0) ls_done(&gm->ls);
  if (gm->progress != NULL) {
    if (n == 0) tm_progress_end(gm->progress);
    else if (e - gm->reported >= TM_PROGRESS_STEP) {
      gm->reported = e;
      tm_progress_update(gm->progress, e);
    }
  }
  return n;
}

static int map_gmatch(lua_State *L) {
  tm_range r;
  size_t lp;
  tm_l_range(L, 1, &r);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), r.len);
  lua_settop(L, 2);
  gm_state *gm = (gm_state *)lua_newuserdatauv(L, sizeof(gm_state), 0);
  memset(&gm->ls, 0, sizeof gm->ls);
  if (luaL_newmetatable(L, LONG_MT)) {
    lua_pushcfunction(L, ls_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  tm_l_range(L, 1, &r);  /* the allocations may have run a finalizer */
  if (init > r.len) init = r.len + 1;
  /* the pattern string stays alive as upvalue 2 */
  tm_pat_init(&gm->ms, L, tm_range_ptr(&r), r.len, p, lp, 0);
  gm->pos = init;
  gm->last = TM_PAT_NONE;
  gm->len = r.len;
  gm->progress = tm_l_progress(L);
  gm->reported = init;
  if (gm->progress != NULL) tm_progress_start(gm->progress, r.len);
  lua_pushcclosure(L, gmatch_step, 3);
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** gsub: into a string, or streamed into a writer
** ===================================================================== */

/* Add [from, to) of the subject unchanged: to the buffer, or to the
** writer at stack index 5.  The writer is used outside the guard: it is
** checked anew (the replacement function may have closed it, which
** raises) and guards its own reads of the subject.  Returns 0 or the
** errno of a failed write (the writer keeps it too). */
static int gs_keep(lua_State *L, tm_pat *ms, luaL_Buffer *b, int towriter,
                   const tm_range *r, size_t from, size_t to) {
  if (to <= from) return 0;
  if (!towriter) {
    /* make room first: the allocation may run a finalizer that closes
    ** or resizes the map, so the subject is found again after it */
    luaL_prepbuffsize(b, to - from);
    if (ms->refresh != NULL) ms->refresh(ms);
    luaL_addlstring(b, ms->src + from, to - from);
    return 0;
  }
  leave_subject(ms);
  tm_writer *w = tm_w_check(L, 5);
  int e = tm_w_write(L, w, r, ms->src + from, to - from);
  if (e == EFAULT && r->map->mp.kind == TM_KIND_FILE) tm_l_fault(L, r->map);
  tm_guard_reset(((subj_ctx *)ms->ud)->g);
  return e;
}

/* The replacement text of one match goes through b; with a writer, b is
** emptied into it after every match, so memory stays small. */
static int gs_flush(lua_State *L, tm_pat *ms, luaL_Buffer *b, int towriter) {
  if (!towriter || luaL_bufflen(b) == 0) return 0;
  leave_subject(ms);
  tm_writer *w = tm_w_check(L, 5);
  int e = tm_w_write(L, w, NULL, luaL_buffaddr(b), luaL_bufflen(b));
  luaL_buffsub(b, (int)luaL_bufflen(b));
  tm_guard_reset(((subj_ctx *)ms->ud)->g);
  return e;
}

/* The loop; *err gets the errno of a failed write into the writer. */
static lua_Integer gs_loop(lua_State *L, tm_pat *ms, luaL_Buffer *b,
                           int towriter, const tm_range *r,
                           lua_Integer maxn, int *err) {
  size_t pos = 0, last = TM_PAT_NONE, s, e, reported = 0;
  lua_Integer n = 0;
  subj_ctx *cx = (subj_ctx *)ms->ud;
  if (cx->ls != NULL) cx->ls->keep = &pos;  /* still to be copied */
  tm_progress *pg = tm_l_progress(L);
  if (pg != NULL) tm_progress_start(pg, ms->srclen);
  *err = 0;
  while (n < maxn && tm_pat_next(ms, pos, last, &s, &e)) {
    if ((*err = gs_keep(L, ms, b, towriter, r, pos, s)) != 0) break;
    n++;
    tm_pat_add_repl(ms, b, s, e, 3);
    if ((*err = gs_flush(L, ms, b, towriter)) != 0) break;
    pos = last = e;
    if (ms->anchor) break;
    if (pg != NULL && pos - reported >= TM_PROGRESS_STEP) {
      reported = pos;
      tm_progress_update(pg, pos);
    }
  }
  if (*err == 0) *err = gs_keep(L, ms, b, towriter, r, pos, ms->srclen);
  if (pg != NULL) tm_progress_end(pg);
  if (cx->ls != NULL) cx->ls->keep = NULL;
  return n;
}

static int map_gsub(lua_State *L) {
  tm_range r;
  size_t lp;
  tm_l_range(L, 1, &r);
  const char *p = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                   tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  lua_Integer maxn = luaL_optinteger(L, 4, (lua_Integer)r.len + 1);
  tm_writer *w = lua_isnoneornil(L, 5) ? NULL : tm_w_check(L, 5);
  tm_pat ms;
  luaL_Buffer b;
  subj_ctx cx;
  tm_guard g;
  lua_Integer n;
  int err = 0;
  lua_settop(L, 5);
  long_subj *ls = ls_new(L);  /* at 6, below the buffer */
  luaL_buffinit(L, &b);
  tm_l_range(L, 1, &r);  /* the allocations may have run a finalizer */
  tm_pat_init(&ms, L, tm_range_ptr(&r), r.len, p, lp, 1);
  watch_subject(&ms, &cx, L, 1, &g, r.len);
  ls_setup(L, ls, &r, &ms, &cx);
  if (!tm_guard_enter(&g)) return tm_l_fault(L, r.map);
  if (w != NULL) tm_w_take(w);  /* released only if all went well */
  n = gs_loop(L, &ms, &b, w != NULL, &r, maxn, &err);
  tm_guard_leave(&g);
  ls_done(ls);
  if (w != NULL) {
    tm_w_release(w);
    /* the output failed (a full disk): nil, msg, errno, as file:write;
    ** the writer keeps the error and close() reports it too */
    if (err != 0) return tm_w_fail(L, w, err);
    lua_pushinteger(L, n);
    return 1;
  }
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}
/* }==================================================================== */

/* {====================================================================
** grep with a pattern: the lines on which string.find(line, pat) would
** succeed.  When the pattern starts with a literal, only the lines that
** contain it are tried (scan.c finds them); other lines are never turned
** into strings.
** ===================================================================== */

typedef struct gp_state {
  tm_src src;
  tm_map *map;
  size_t off, len, pos;
  int done;
  size_t pfxlen;
  char pfx[TM_PAT_PREFIX_MAX];
  tm_progress *progress;
  size_t reported;
  int msinit;     /* ms holds the analysed pattern */
  tm_pat ms;
} gp_state;

#define GREP_MT "tome.grepiter"

static int gp_gc(lua_State *L) {
  gp_state *gp = (gp_state *)lua_touserdata(L, 1);
  tm_src_done(&gp->src);
  gp->done = 1;
  return 0;
}

/* Next candidate line at or after gp->pos: 1, 0 (no more) or -1. */
static int gp_candidate(gp_state *gp, size_t *start, const char **line,
                        size_t *n, size_t *next) {
  if (gp->pfxlen > 0)
    return tm_src_grep(&gp->src, gp->pos, gp->pfx, gp->pfxlen, start, line,
                       n, next);
  *start = gp->pos;
  return tm_src_line(&gp->src, gp->pos, line, n, next);
}

/* An engine error leaves the step's guard first (mapping.h). */
static void gp_leave(tm_pat *ms) {
  tm_guard_leave((tm_guard *)ms->ud);
}

/* Try the lines until one matches; 1 with the line, 0 at the end, -1
** when the cursor failed, -2 for an unfinished capture (the caller
** raises those once out of the guard g). */
static int gp_search(lua_State *L, gp_state *gp, const char *p, size_t lp,
                     tm_guard *g, size_t *start, const char **line,
                     size_t *n) {
  size_t next, b, e;
  tm_pat *ms = &gp->ms;
  while (gp->pos < gp->len) {
    int rc = gp_candidate(gp, start, line, n, &next);
    if (rc <= 0) return rc;
    gp->pos = next;
    /* analysed once (its fast paths kept), then pointed at each line */
    if (!gp->msinit) tm_pat_init(ms, L, *line, *n, p, lp, 1);
    else tm_pat_subject(ms, *line, *n);
    gp->msinit = 1;
    ms->L = L;
    ms->leave = gp_leave;   /* this step's guard */
    ms->ud = g;
    if (tm_pat_find(ms, 0, &b, &e)) {
      /* as string.find would, when it pushes the captures */
      for (int i = 0; i < ms->level; i++)
        if (ms->cap[i].len == TM_PAT_CAP_UNFINISHED) return -2;
      return 1;
    }
  }
  return 0;
}

static int grep_step(lua_State *L) {
  gp_state *gp = (gp_state *)lua_touserdata(L, lua_upvalueindex(1));
  size_t lp, start = 0, n = 0;
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  const char *line = NULL;
  tm_range r;
  int found;
  if (gp->done) return 0;
  tm_l_iterrange(L, gp->map, gp->off, gp->len, &gp->src, &r);
  tm_guard g;
  if (!tm_guard_enter(&g)) return tm_l_fault(L, gp->map);
  found = gp_search(L, gp, p, lp, &g, &start, &line, &n);
  tm_guard_leave(&g);
  if (found == -1) return tm_l_srcerror(L, gp->map, gp->src.err);
  if (found == -2) return luaL_error(L, "unfinished capture");
  if (found) {  /* a mapped line is copied under its own guard */
    if (gp->src.fd >= 0) lua_pushlstring(L, line, n);
    else tm_l_pushbytes(L, &r, line, n);
  }
  if (!found) {
    if (gp->progress != NULL) tm_progress_end(gp->progress);
    tm_src_done(&gp->src);
    gp->done = 1;
    return 0;
  }
  if (gp->progress != NULL && gp->pos - gp->reported >= TM_PROGRESS_STEP) {
    gp->reported = gp->pos;
    tm_progress_update(gp->progress, gp->pos);
  }
  lua_pushinteger(L, (lua_Integer)start + 1);
  return 2;
}

static int pattern_grep(lua_State *L) {
  tm_range r;
  size_t lp;
  tm_l_scanrange(L, 1, &r);   /* lines come through gp->src */
  const char *p = luaL_checklstring(L, 2, &lp);
  /* as string.find: no special character, a plain search */
  if (tm_pat_isplain(p, lp)) return tm_l_plaingrep(L);
  gp_state *gp = (gp_state *)lua_newuserdatauv(L, sizeof(gp_state), 1);
  memset(gp, 0, sizeof *gp);
  gp->done = 1;
  if (luaL_newmetatable(L, GREP_MT)) {
    lua_pushcfunction(L, gp_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, 1);  /* keep the map (or view) alive */
  lua_setiuservalue(L, -2, 1);
  gp->map = r.map;
  gp->off = r.off;
  gp->len = r.len;
  /* a literal that every match holds: only lines with it are tried
  ** (tm_pat_required stops before anything that could raise, so a line
  ** without it fails to match, as string.find fails, without raising) */
  gp->pfxlen = tm_pat_required(p, lp, gp->pfx, TM_PAT_PREFIX_MAX);
  /* a newline in it can never be inside one line */
  if (memchr(gp->pfx, '\n', gp->pfxlen) != NULL) gp->pos = gp->len;
  tm_l_srcsetup(L, &gp->src, &r);
  gp->progress = tm_l_progress(L);
  if (gp->progress != NULL) tm_progress_start(gp->progress, r.len);
  gp->done = 0;
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, grep_step, 2);
  return 1;
}
/* }==================================================================== */

/* grep: plain unless plain is exactly false (grep(s, nil) stays plain) */
static int map_grep(lua_State *L) {
  luaL_checkstring(L, 2);
  if (lua_type(L, 3) == LUA_TBOOLEAN && !lua_toboolean(L, 3))
    return pattern_grep(L);
  return tm_l_plaingrep(L);
}

void tm_l_openmatch(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"find", map_find}, {"match", map_match}, {"gmatch", map_gmatch},
    {"gsub", map_gsub}, {"grep", map_grep}, {NULL, NULL}
  };
  tm_l_addmethods(L, methods, 0);
}
