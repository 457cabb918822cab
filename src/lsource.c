/*
** lsource.c -- tome.lines and tome.chunks: any input (a path or "-",
** compressed or not) read once, as a stream, through source.c's
** tm_reader: bounded memory and no temporary file, for scripts that read
** a compressed log from start to end.
**
**   for line in tome.lines("app.log.gz") do ... end
**   for v, pos in tome.chunks("app.log.zst") do n = n + v:count("\n") end
**
** A chunk is a map over the stream's own buffer, valid until the next
** step: the step closes it (its views then raise "attempt to use a closed
** map"), so that one buffer serves the whole stream.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lhelp.h"
#include "lsource.h"
#include "source.h"

#define STREAM_MT "tome.stream"
#define CHUNK_SIZE ((size_t)4 << 20)

typedef struct stream {
  tm_reader *r;
  int keepnl;              /* lines: "L" */
  char *buf;               /* chunks: buf[0, len) read, of cap */
  size_t len, cap, used;   /* used: bytes of the last chunk */
  size_t size;             /* the chunk size asked for */
  uint64_t pos;            /* stream offset of buf[0] */
  char sep[64];
  size_t seplen;
  int eof;
} stream;

/* The last chunk's map (the stream's user value) lives in the stream's
** buffer: closed before the buffer moves or goes. */
static void close_chunk(lua_State *L, int idx) {
  if (lua_getiuservalue(L, idx, 1) == LUA_TUSERDATA) {
    tm_map *old = tm_l_tomap(L, -1);
    if (old != NULL) old->closed = 1;
  }
  lua_pop(L, 1);
}

static int stream_gc(lua_State *L) {
  stream *s = (stream *)luaL_checkudata(L, 1, STREAM_MT);
  close_chunk(L, 1);   /* a loop left by break, or the stream collected */
  tm_reader_close(s->r);
  s->r = NULL;
  free(s->buf);
  s->buf = NULL;
  return 0;
}

static int stream_tostring(lua_State *L) {
  stream *s = (stream *)luaL_checkudata(L, 1, STREAM_MT);
  lua_pushstring(L, s->r ? "tome.stream" : "tome.stream (closed)");
  return 1;
}

/* A new stream over path (index 1) with opts (index optidx, or 0). */
static stream *newstream(lua_State *L, int optidx) {
  const char *path = luaL_checkstring(L, 1);
  unsigned flags = 0;
  if (optidx && !lua_isnoneornil(L, optidx)) {
    luaL_checktype(L, optidx, LUA_TTABLE);
    if (lua_getfield(L, optidx, "decompress") != LUA_TNIL &&
        !lua_toboolean(L, -1))
      flags |= TM_READ_RAW;
    lua_pop(L, 1);
  }
  stream *s = (stream *)lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  if (luaL_newmetatable(L, STREAM_MT)) {
    lua_pushcfunction(L, stream_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, stream_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, stream_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
  int e = tm_reader_open(&s->r, path, flags);
  if (e != 0) luaL_error(L, "%s: %s", path, strerror(e));
  return s;
}

static void raise_read(lua_State *L, stream *s) {
  lua_pushstring(L, tm_reader_error(s->r));
  tm_reader_close(s->r);
  s->r = NULL;
  lua_error(L);
}

/* {====== tome.lines ====== */

static int lines_step(lua_State *L) {
  stream *s = (stream *)lua_touserdata(L, lua_upvalueindex(1));
  const char *p;
  size_t n;
  int rc;
  if (s->r == NULL) return luaL_error(L, "attempt to use a closed stream");
  while ((rc = tm_reader_record(s->r, "\n", 1, &p, &n)) < 0 &&
         tm_reader_errno(s->r) == EINTR) {}
  if (rc < 0) raise_read(L, s);
  if (rc == 0) {
    tm_reader_close(s->r);   /* as io.lines closes at the end */
    s->r = NULL;
    lua_pushnil(L);
    return 1;
  }
  if (!s->keepnl && n > 0 && p[n - 1] == '\n') n--;
  lua_pushlstring(L, p, n);
  return 1;
}

/* tome.lines(path [, fmt [, opts]]): as io.lines, over any input */
static int t_lines(lua_State *L) {
  static const char *const fmts[] = {"l", "L", NULL};
  int fmt = luaL_checkoption(L, 2, "l", fmts);
  stream *s = newstream(L, 3);
  s->keepnl = fmt == 1;
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, lines_step, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, -4);    /* the stream, closed when the loop ends */
  return 4;
}
/* }====== */

/* {====== tome.chunks ====== */

/* The end of the last separator in buf[0, len), or 0. */
static size_t last_sep(const stream *s) {
  if (s->len < s->seplen) return 0;
  if (s->seplen == 1) {
    const char *p = memrchr(s->buf, (unsigned char)s->sep[0], s->len);
    return p ? (size_t)(p - s->buf) + 1 : 0;
  }
  for (size_t k = s->len - s->seplen + 1; k-- > 0;)
    if (memcmp(s->buf + k, s->sep, s->seplen) == 0) return k + s->seplen;
  return 0;
}

/* Read until buf holds at least 'size' bytes or the stream ends. */
static void fill(lua_State *L, stream *s, size_t want) {
  while (!s->eof && s->len < want) {
    if (s->len == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : s->size;
      char *nb = cap > s->cap ? realloc(s->buf, cap) : NULL;
      if (nb == NULL) luaL_error(L, "not enough memory");
      s->buf = nb;
      s->cap = cap;
    }
    ptrdiff_t n = tm_reader_read(s->r, s->buf + s->len, s->cap - s->len);
    if (n < 0 && tm_reader_errno(s->r) == EINTR) continue;
    if (n < 0) raise_read(L, s);
    if (n == 0) s->eof = 1;
    s->len += (size_t)n;
  }
}

static int chunks_step(lua_State *L) {
  stream *s = (stream *)lua_touserdata(L, lua_upvalueindex(1));
  close_chunk(L, lua_upvalueindex(1));   /* its bytes are about to move */
  if (s->r == NULL) return luaL_error(L, "attempt to use a closed stream");
  if (s->used > 0) memmove(s->buf, s->buf + s->used, s->len - s->used);
  s->len -= s->used;
  s->pos += s->used;
  s->used = 0;
  size_t end = 0;
  for (;;) {
    fill(L, s, s->len < s->size ? s->size : s->len + 1);
    end = last_sep(s);
    if (end > 0 || s->eof) break;
  }
  if (end == 0) end = s->len;     /* the end: the last bytes, if any */
  if (end == 0) {
    tm_reader_close(s->r);
    s->r = NULL;
    lua_pushnil(L);
    return 1;
  }
  s->used = end;
  tm_map *m = tm_l_newmap(L, "(chunk of a stream)");
  tm_map_extern(&m->mp, s->buf, end, 0);
  m->borrowed = 1;
  m->closed = 0;
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, lua_upvalueindex(1), 1);
  lua_pushinteger(L, (lua_Integer)s->pos + 1);
  return 2;
}

/* tome.chunks(path [, opts]): maps of about opts.size bytes of whole
** records (ending after opts.sep), one after the other */
static int t_chunks(lua_State *L) {
  size_t seplen = 1;
  const char *sep = "\n";
  lua_Integer size = (lua_Integer)CHUNK_SIZE;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "sep") != LUA_TNIL) {
      sep = lua_tolstring(L, -1, &seplen);
      luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING && seplen > 0 &&
                    seplen <= 64, 2, "opts.sep must be a string of 1 to 64 "
                    "bytes");
    }
    if (lua_getfield(L, 2, "size") != LUA_TNIL) {
      size = lua_tointeger(L, -1);
      luaL_argcheck(L, lua_isinteger(L, -1) && size > 0 &&
                    size <= ((lua_Integer)1 << 40), 2,
                    "opts.size must be a positive integer (bytes)");
    }
  }
  stream *s = newstream(L, 2);
  memcpy(s->sep, sep, seplen);
  s->seplen = seplen;
  s->size = (size_t)size;
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, chunks_step, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, -4);
  return 4;
}
/* }====== */

void tm_l_opensource(lua_State *L) {
  lua_pushcfunction(L, t_lines);
  lua_setfield(L, -2, "lines");
  lua_pushcfunction(L, t_chunks);
  lua_setfield(L, -2, "chunks");
}
