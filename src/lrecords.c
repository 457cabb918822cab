/*
** lrecords.c -- records as objects: v:csv([opts]) reads RFC 4180 records
** (the scanner is csv.c), v:jsonl([opts]) JSON Lines decoded with
** Debian's lua-cjson.  Both walk their map or view with a scan cursor
** (pread windows or the mapping, as lines() does), copy one record at a
** time into their own buffer, and make Lua values only of what is asked
** for: with opts.columns, v:csv returns those columns as values and
** makes no table at all.
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "csv.h"
#include "lhelp.h"
#include "lrecords.h"

#define REC_MT      "tome.records"
#define REC_MAXCOLS 32          /* columns one csv() call can select */

enum { REC_CSV, REC_JSONL };
enum { UV_MAP = 1, UV_NAMES, UV_DECODE, UV_COUNT = UV_DECODE };

typedef struct rec_iter {
  tm_src src;
  tm_map *map;
  size_t off, len;      /* the range walked, in map offsets */
  size_t pos;           /* the next record's range position (0-based) */
  int kind, done;
  char sep;
  int strict, header, numbers;
  int ncol;             /* columns mode: how many; 0 for tables */
  lua_Integer cols[REC_MAXCOLS];  /* 1-based, 0 for a name not found */
  lua_Integer maxcol;
  lua_Integer lineno;   /* jsonl: the line number of the last line */
  char *buf;            /* the current record */
  size_t cap;
  char *tmp;            /* an unquoted field */
  size_t tmpcap;
  tm_csv_field *fs;     /* columns mode: the fields up to maxcol */
  lua_Integer nfs;      /* its size */
  tm_progress *progress;
  size_t reported;
} rec_iter;

/* {====== the iterator object ====== */

static int rec_gc(lua_State *L) {
  rec_iter *it = (rec_iter *)luaL_checkudata(L, 1, REC_MT);
  tm_src_done(&it->src);
  free(it->buf);
  free(it->tmp);
  free(it->fs);
  it->buf = it->tmp = NULL;
  it->fs = NULL;
  it->done = 1;
  return 0;
}

static void *rec_grow(lua_State *L, char **p, size_t *cap, size_t n) {
  if (n > *cap) {
    size_t ncap = n < 256 ? 256 : n + n / 2;
    char *np = (char *)realloc(*p, ncap);
    if (np == NULL)
      luaL_error(L, "not enough memory for a record of %zu bytes", n);
    *p = np;
    *cap = ncap;
  }
  return *p;
}

static int rec_finish(lua_State *L, rec_iter *it) {
  if (it->progress != NULL)
    tm_progress_end(it->progress);
  tm_src_done(&it->src);
  it->done = 1;
  lua_pushnil(L);
  return 1;
}

static void rec_progress(rec_iter *it) {
  if (it->progress != NULL && it->pos - it->reported >= TM_PROGRESS_STEP) {
    it->reported = it->pos;
    tm_progress_update(it->progress, it->pos);
  }
}

/* The 1-based line number of range position pos (for messages). */
static lua_Integer rec_lineno(lua_State *L, rec_iter *it, size_t pos) {
  uint64_t n = 0;
  tm_guard g;
  if (pos == 0)
    return 1;
  if (!tm_guard_enter(&g))
    return tm_l_fault(L, it->map);
  if (tm_src_count(&it->src, 0, pos, "\n", 1, &n) < 0)
    n = 0;
  tm_guard_leave(&g);
  return (lua_Integer)n + 1;
}

/* Copy n range bytes at pos into the record buffer (guarded: they may
** be mapped). */
static int rec_copy(lua_State *L, rec_iter *it, size_t pos, size_t n) {
  size_t avail;
  const char *p;
  tm_guard g;
  rec_grow(L, &it->buf, &it->cap, n + 1);
  if (!tm_guard_enter(&g))
    return tm_l_fault(L, it->map);
  p = tm_src_get(&it->src, pos, n, &avail);
  if (p != NULL)
    memcpy(it->buf, p, n);
  tm_guard_leave(&g);
  if (p == NULL)
    return tm_l_srcerror(L, it->map, it->src.err);
  return 1;
}
/* }====== */


/* {====== csv ====== */

/* One try at the end of the record at it->pos with the window of at
** least 'need' bytes there: 1 found (*reclen, *eol), 0 not yet, 2 the
** range ends first (the rest is the record), -1 a read error.  Under a
** guard: the bytes may be mapped. */
static int csv_scan(lua_State *L, rec_iter *it, tm_csv_scan *sc, size_t need,
                    size_t *avail, size_t *reclen, size_t *eol) {
  const char *p;
  int rc;
  tm_guard g;
  if (!tm_guard_enter(&g))
    return tm_l_fault(L, it->map);
  p = tm_src_get(&it->src, it->pos, need, avail);
  if (p == NULL)
    rc = -1;
  else if (tm_csv_record(p, *avail, it->sep, sc, reclen, eol))
    rc = 1;
  else
    rc = *avail >= it->len - it->pos ? 2 : 0;
  tm_guard_leave(&g);
  return rc;
}

/*
** The next record: its bytes into it->buf, *n its length without the line
** end; the iterator moves past it.  A quote still open at the end of the
** range is an error unless opts.strict is false (then the rest is the
** record, as Python's csv module reads it).
*/
static void csv_next(lua_State *L, rec_iter *it, size_t *n) {
  tm_csv_scan sc;
  size_t need = 4096, avail = 0, reclen = 0, eol = 0, at;
  int rc;
  tm_csv_begin(&sc);
  while ((rc = csv_scan(L, it, &sc, need, &avail, &reclen, &eol)) == 0)
    need = avail * 2;
  if (rc < 0)
    tm_l_srcerror(L, it->map, it->src.err);
  if (rc == 2) {                         /* the last record, unended */
    if (it->strict && tm_csv_open_quote(&sc, &at))
      luaL_error(L, "csv: unterminated quoted field at line %I (the quote "
                 "is at byte %I)", rec_lineno(L, it, it->pos),
                 (lua_Integer)(it->pos + at + 1));
    reclen = avail;
    eol = 0;
  }
  rec_copy(L, it, it->pos, reclen);
  *n = reclen;
  it->pos += reclen + eol;
}

/* Push one field of the record in it->buf. */
static void csv_push(lua_State *L, rec_iter *it, const tm_csv_field *f,
                     int numbers) {
  const char *p = it->buf + f->start;
  size_t n = f->len;
  if (f->copy) {
    rec_grow(L, &it->tmp, &it->tmpcap, f->rawlen + 1);
    n = tm_csv_unquote(it->buf + f->rawstart, f->rawlen, it->sep, it->tmp);
    p = it->tmp;
  }
  if (numbers) {
    char num[64];
    if (n < sizeof num && memchr(p, '\0', n) == NULL) {
      memcpy(num, p, n);
      num[n] = '\0';
      if (lua_stringtonumber(L, num) != 0)
        return;
    }
    lua_pushboolean(L, 0);               /* not a number */
  } else
    lua_pushlstring(L, p, n);
}

/* The first record of the range names the columns (opts.header). */
static void csv_header(lua_State *L, rec_iter *it) {
  size_t n, pos = 0;
  lua_Integer k = 0;
  tm_csv_field f;
  int i;
  csv_next(L, it, &n);
  lua_newtable(L);
  while (tm_csv_next(it->buf, n, it->sep, &pos, &f)) {
    csv_push(L, it, &f, 0);
    lua_rawseti(L, -2, ++k);
  }
  /* columns named in opts.columns (kept as strings in the names table's
  ** hash part by csv_columns) get their numbers: the last equal name */
  for (i = 0; i < it->ncol; i++) {
    if (it->cols[i] > 0)
      continue;
    lua_getiuservalue(L, lua_upvalueindex(1), UV_NAMES);
    lua_rawgeti(L, -1, -it->cols[i]);    /* the name asked for */
    it->cols[i] = 0;
    for (lua_Integer c = k; c > 0; c--) {
      lua_rawgeti(L, -3, c);
      if (lua_rawequal(L, -1, -2)) {
        it->cols[i] = c;
        lua_pop(L, 1);
        break;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (it->cols[i] == 0)
      luaL_error(L, "csv: no column named in opts.columns[%d] in the header",
                 i + 1);
    if (it->cols[i] > it->maxcol)
      it->maxcol = it->cols[i];
  }
  lua_setiuservalue(L, lua_upvalueindex(1), UV_NAMES);
}

/* opts.columns: the selected columns, values instead of a table. */
static int csv_columns(lua_State *L, rec_iter *it, size_t start, size_t n) {
  size_t pos = 0;
  lua_Integer k = 0;
  tm_csv_field f;
  int i;
  (void)start;
  if (it->nfs < it->maxcol) {            /* names are known after the header */
    tm_csv_field *nf = (tm_csv_field *)realloc(it->fs, (size_t)it->maxcol *
                                               sizeof *nf);
    if (nf == NULL)
      luaL_error(L, "not enough memory");
    it->fs = nf;
    it->nfs = it->maxcol;
  }
  while (k < it->maxcol && tm_csv_next(it->buf, n, it->sep, &pos, &f))
    it->fs[k++] = f;
  luaL_checkstack(L, it->ncol, "too many columns");
  for (i = 0; i < it->ncol; i++) {
    if (it->cols[i] <= k)
      csv_push(L, it, &it->fs[it->cols[i] - 1], it->numbers);
    else
      lua_pushboolean(L, 0);           /* no such field: the loop goes on */
  }
  return it->ncol;
}

/* A table of all the fields (and their names, with opts.header). */
static int csv_table(lua_State *L, rec_iter *it, size_t start, size_t n) {
  size_t pos = 0;
  lua_Integer k = 0;
  tm_csv_field f;
  lua_createtable(L, 8, 0);
  while (tm_csv_next(it->buf, n, it->sep, &pos, &f)) {
    csv_push(L, it, &f, it->numbers);
    lua_rawseti(L, -2, ++k);
  }
  if (it->header) {
    lua_getiuservalue(L, lua_upvalueindex(1), UV_NAMES);
    for (lua_Integer c = 1; c <= k; c++) {
      if (lua_rawgeti(L, -1, c) == LUA_TSTRING) {
        lua_rawgeti(L, -3, c);
        lua_rawset(L, -4);
      } else
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, (lua_Integer)start + 1);
  return 2;
}

static int csv_step(lua_State *L) {
  rec_iter *it = (rec_iter *)lua_touserdata(L, lua_upvalueindex(1));
  tm_range r;
  size_t n, start;
  if (it->done) {
    lua_pushnil(L);
    return 1;
  }
  tm_l_iterrange(L, it->map, it->off, it->len, &it->src, &r);
  if (it->header == 1) {                 /* names first */
    it->header = 2;
    if (it->pos < it->len)
      csv_header(L, it);
  }
  if (it->pos >= it->len)
    return rec_finish(L, it);
  start = it->pos;
  csv_next(L, it, &n);
  rec_progress(it);
  return it->ncol > 0 ? csv_columns(L, it, start, n)
                      : csv_table(L, it, start, n);
}
/* }====== */


/* {====== jsonl ====== */

static int rec_blank(const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return 0;
  return 1;
}

/* cjson.decode(line), protected. */
static int jsonl_decode(lua_State *L) {
  lua_call(L, 1, 1);
  return 1;
}

/*
** The next non-blank line, decoded: the value and its line number.  A
** line that does not decode raises "jsonl: line N: why", or with
** opts.strict = false yields false, why, N (false, not nil, so that a
** for loop goes on to the next line).
*/
static int jsonl_step(lua_State *L) {
  rec_iter *it = (rec_iter *)lua_touserdata(L, lua_upvalueindex(1));
  tm_range r;
  const char *line = NULL;
  size_t n = 0, next = 0;
  int rc;
  if (it->done) {
    lua_pushnil(L);
    return 1;
  }
  tm_l_iterrange(L, it->map, it->off, it->len, &it->src, &r);
  for (;;) {
    tm_guard g;
    if (it->pos >= it->len)
      return rec_finish(L, it);
    if (!tm_guard_enter(&g))
      return tm_l_fault(L, it->map);
    rc = tm_src_line(&it->src, it->pos, &line, &n, &next);
    tm_guard_leave(&g);
    if (rc < 0)
      return tm_l_srcerror(L, it->map, it->src.err);
    if (rc == 0)
      return rec_finish(L, it);
    rec_copy(L, it, it->pos, n);
    it->pos = next;
    it->lineno++;
    if (!rec_blank(it->buf, n))
      break;
  }
  rec_progress(it);
  lua_pushcfunction(L, jsonl_decode);
  lua_getiuservalue(L, lua_upvalueindex(1), UV_DECODE);
  lua_pushlstring(L, it->buf, n);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    const char *why = lua_tostring(L, -1);
    if (it->strict)
      return luaL_error(L, "jsonl: line %I: %s", it->lineno,
                        why ? why : "cannot decode");
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    lua_pushinteger(L, it->lineno);
    return 3;
  }
  lua_pushinteger(L, it->lineno);
  return 2;
}
/* }====== */


/* {====== options and set-up ====== */

static const char *const csv_keys[] = {"sep", "header", "columns", "format",
                                       "strict", NULL};
static const char *const jsonl_keys[] = {"strict", NULL};

/* Unknown keys in opts are errors: a misspelt option would otherwise
** be ignored without a word. */
static void rec_checkkeys(lua_State *L, int opts, const char *const *keys,
                          const char *what) {
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    int i, known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING)
      for (i = 0; keys[i] != NULL; i++)
        known |= strcmp(lua_tostring(L, -1), keys[i]) == 0;
    if (!known) {
      lua_pushvalue(L, -1);
      luaL_error(L, "%s: unknown option '%s'", what,
                 luaL_tolstring(L, -1, NULL));
    }
  }
}

static int rec_optbool(lua_State *L, int opts, const char *k, int dflt) {
  int t = lua_getfield(L, opts, k), v = dflt;
  if (t != LUA_TNIL) {
    if (t != LUA_TBOOLEAN)
      luaL_argerror(L, 2, lua_pushfstring(L, "opts.%s must be a boolean", k));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* opts.columns: numbers, or names (negative indices into a list kept
** as the names table until the header gives their numbers). */
static void csv_opt_columns(lua_State *L, rec_iter *it, int opts) {
  lua_Integer i, n;
  if (lua_getfield(L, opts, "columns") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  luaL_argexpected(L, lua_istable(L, -1), 2, "opts.columns a list");
  n = luaL_len(L, -1);
  luaL_argcheck(L, n >= 1 && n <= REC_MAXCOLS, 2,
                "opts.columns must list 1 to 32 columns");
  lua_newtable(L);                       /* the names asked for */
  for (i = 1; i <= n; i++) {
    int t = lua_geti(L, -2, i);
    if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1
        && lua_tointeger(L, -1) <= 1000000) {
      it->cols[i - 1] = lua_tointeger(L, -1);
      if (it->cols[i - 1] > it->maxcol)
        it->maxcol = it->cols[i - 1];
      lua_pop(L, 1);
    } else if (t == LUA_TSTRING) {
      luaL_argcheck(L, it->header, 2, "opts.columns: names need opts.header");
      lua_rawseti(L, -2, i);
      it->cols[i - 1] = -i;
    } else
      luaL_argerror(L, 2, "opts.columns: a column is a number from 1 or a "
                    "name");
  }
  lua_setiuservalue(L, -3, UV_NAMES);    /* (the iterator is below) */
  lua_pop(L, 1);
  it->ncol = (int)n;
}

static void csv_opts(lua_State *L, rec_iter *it, int opts) {
  static const char *const formats[] = {"l", "n", NULL};
  it->sep = ',';
  it->strict = 1;
  if (opts == 0)
    return;
  rec_checkkeys(L, opts, csv_keys, "csv");
  if (lua_getfield(L, opts, "sep") != LUA_TNIL) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    luaL_argcheck(L, s != NULL && n == 1 && s[0] != '"' && s[0] != '\r' &&
                  s[0] != '\n', 2,
                  "opts.sep must be one byte, not a quote or a line end");
    it->sep = s[0];
  }
  lua_pop(L, 1);
  it->header = rec_optbool(L, opts, "header", 0);
  it->strict = rec_optbool(L, opts, "strict", 1);
  if (lua_getfield(L, opts, "format") != LUA_TNIL)
    it->numbers = luaL_checkoption(L, -1, NULL, formats) == 1;
  lua_pop(L, 1);
  csv_opt_columns(L, it, opts);
}

/* A new iterator over the map or view at 1, with the options at 2. */
static rec_iter *rec_new(lua_State *L, int kind) {
  tm_range r;
  rec_iter *it;
  tm_l_scanrange(L, 1, &r);   /* records come through it->src */
  if (!lua_isnoneornil(L, 2))
    luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  it = (rec_iter *)lua_newuserdatauv(L, sizeof *it, UV_COUNT);
  memset(it, 0, sizeof *it);
  it->done = 1;                          /* until set up */
  luaL_setmetatable(L, REC_MT);
  tm_l_pushmapof(L, 1);
  lua_setiuservalue(L, -2, UV_MAP);
  it->kind = kind;
  it->map = r.map;
  it->off = r.off;
  it->len = r.len;
  return it;
}

static void rec_start(lua_State *L, rec_iter *it, lua_CFunction step) {
  tm_range r;
  tm_l_scanrange(L, 1, &r);              /* (options ran no code, but) */
  tm_l_srcsetup(L, &it->src, &r);
  it->progress = tm_l_progress(L);
  if (it->progress != NULL)
    tm_progress_start(it->progress, r.len);
  it->done = 0;
  lua_pushcclosure(L, step, 1);
}

/* v:csv([opts]) */
static int map_csv(lua_State *L) {
  rec_iter *it = rec_new(L, REC_CSV);
  csv_opts(L, it, lua_isnil(L, 2) ? 0 : 2);
  rec_start(L, it, csv_step);
  return 1;
}

/* v:jsonl([opts]) */
static int map_jsonl(lua_State *L) {
  rec_iter *it = rec_new(L, REC_JSONL);
  it->strict = 1;
  if (!lua_isnil(L, 2)) {
    rec_checkkeys(L, 2, jsonl_keys, "jsonl");
    it->strict = rec_optbool(L, 2, "strict", 1);
  }
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)
    return luaL_error(L, "jsonl needs lua-cjson: %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "decode");
  lua_remove(L, -2);
  lua_setiuservalue(L, -2, UV_DECODE);
  rec_start(L, it, jsonl_step);
  return 1;
}
/* }====== */

void tm_l_openrecords(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"csv", map_csv}, {"jsonl", map_jsonl}, {NULL, NULL}
  };
  if (luaL_newmetatable(L, REC_MT)) {
    lua_pushcfunction(L, rec_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  tm_l_addmethods(L, methods, 0);
}
