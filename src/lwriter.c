/*
** lwriter.c -- writers.  tome.output(path) writes into a temporary file
** in the same directory and renames it over 'path' only when close()
** succeeds, so readers never see half a file; abort(), an error or the
** garbage collector leave neither the target nor the temporary file.
** A device, a FIFO or /dev/stdout is written straight through instead
** (replace.c decides, and does the OS side of it all).
** tome.stdout / tome.stderr go through C's stdio streams so their output
** stays in order with print and io.write.
*/
#include "lwriter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "replace.h"

#define WBUF ((size_t)1 << 16)   /* output buffer */

struct tm_writer {
  tm_replace rep;    /* tome.output: where the bytes go (rep.fd) */
  FILE *fp;          /* the stdio stream (tome.stdout/stderr), or NULL */
  char *buf;         /* pending bytes, for tome.output */
  size_t n;
  int err;           /* first write error, reported by close */
  int open;
  int taken;         /* a streaming gsub is writing (or failed to finish) */
  char *path;        /* the path as given, for messages */
};

/* {====== low level ====== */

static int write_fd(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int flushbuf(tm_writer *w) {
  int e = 0;
  if (w->n > 0) e = write_fd(w->rep.fd, w->buf, w->n);
  w->n = 0;
  return e;
}

/* Append bytes: to the stream, or through the buffer; a large piece goes
** straight from its memory (a mapping, for views) to the file. */
static int append(lua_State *L, tm_writer *w, const tm_range *r,
                  const char *p, size_t n) {
  if (w->fp != NULL) {
    if (r != NULL && r->map->mp.kind == TM_KIND_FILE) {
      /* fwrite of a mapping would fault inside stdio; copy in pieces */
      char tmp[1 << 14];
      while (n > 0) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        tm_l_copy(L, r, tmp, p, k);
        if (fwrite(tmp, 1, k, w->fp) != k) return errno ? errno : EIO;
        p += k;
        n -= k;
      }
      return 0;
    }
    return fwrite(p, 1, n, w->fp) == n ? 0 : (errno ? errno : EIO);
  }
  if (n >= WBUF) {
    int e = flushbuf(w);
    /* the kernel reports a truncated mapping as EFAULT, never SIGBUS */
    return e ? e : write_fd(w->rep.fd, p, n);
  }
  if (w->n + n > WBUF) {
    int e = flushbuf(w);
    if (e) return e;
  }
  if (r != NULL) tm_l_copy(L, r, w->buf + w->n, p, n);
  else memcpy(w->buf + w->n, p, n);
  w->n += n;
  return 0;
}

int tm_w_write(lua_State *L, tm_writer *w, const tm_range *r, const char *p,
               size_t n) {
  if (w->err) return w->err;
  int e = append(L, w, r, p, n);
  if (e) w->err = e;
  return e;
}

void tm_w_take(tm_writer *w) {
  w->taken++;
}

void tm_w_release(tm_writer *w) {
  if (w->taken > 0) w->taken--;
}

int tm_w_fail(lua_State *L, tm_writer *w, int err) {
  return tm_l_ioerror(L, w->path ? w->path : "(stream)", err);
}

/* Drop everything: the temporary file goes, the target is untouched. */
static void discard(tm_writer *w) {
  tm_rep_discard(&w->rep);
  free(w->buf);
  free(w->path);
  w->buf = w->path = NULL;
  w->open = 0;
}

/* Finish: flush, then replace the target (or close the special file). */
static int commit(tm_writer *w) {
  int e = w->err;
  if (!e) e = flushbuf(w);
  if (e) return e;
  return tm_rep_commit(&w->rep);
}
/* }====== */

/* {====== methods ====== */

static tm_writer *towriter(lua_State *L, int idx) {
  return (tm_writer *)luaL_checkudata(L, idx, TM_WRITER_MT);
}

tm_writer *tm_w_check(lua_State *L, int idx) {
  tm_writer *w = towriter(L, idx);
  if (!w->open) luaL_error(L, "attempt to use a closed writer");
  return w;
}

static int w_write(lua_State *L) {
  tm_writer *w = tm_w_check(L, 1);
  int top = lua_gettop(L);
  for (int a = 2; a <= top; a++) {
    int e;
    size_t n;
    if (tm_l_isbytes(L, a)) {
      tm_range r;
      tm_l_range(L, a, &r);
      e = tm_w_write(L, w, &r, tm_range_ptr(&r), r.len);
      /* write(2) from a truncated mapping fails with EFAULT */
      if (e == EFAULT && r.map->mp.kind == TM_KIND_FILE)
        return tm_l_fault(L, r.map);
    } else if (lua_type(L, a) == LUA_TNUMBER) {
      char buf[64];
      if (lua_isinteger(L, a))
        n = (size_t)snprintf(buf, sizeof buf, LUA_INTEGER_FMT,
                             (LUAI_UACINT)lua_tointeger(L, a));
      else
        n = (size_t)snprintf(buf, sizeof buf, LUA_NUMBER_FMT,
                             (LUAI_UACNUMBER)lua_tonumber(L, a));
      e = tm_w_write(L, w, NULL, buf, n);
    } else {
      const char *s = luaL_checklstring(L, a, &n);
      e = tm_w_write(L, w, NULL, s, n);
    }
    if (e) return tm_w_fail(L, w, e);
  }
  lua_settop(L, 1);
  return 1;
}

static int w_close(lua_State *L) {
  tm_writer *w = tm_w_check(L, 1);
  int e;
  if (w->taken > 0) {
    /* a gsub into w is running (its replacement closes w) or failed
    ** half-way: its output is incomplete, never commit it */
    if (w->fp == NULL) discard(w);
    luaL_pushfail(L);
    lua_pushliteral(L, "writer not closed: a gsub streaming into it did "
                    "not finish");
    lua_pushinteger(L, ECANCELED);
    return 3;
  }
  if (w->fp != NULL) {
    e = w->err;
    if (fflush(w->fp) != 0 && !e) e = errno;
    w->err = e;
    if (e) return tm_w_fail(L, w, e);
    lua_pushboolean(L, 1);   /* the standard streams stay usable */
    return 1;
  }
  e = commit(w);
  if (e) {
    tm_w_fail(L, w, e);
    discard(w);
    return 3;
  }
  discard(w);
  lua_pushboolean(L, 1);
  return 1;
}

static int w_abort(lua_State *L) {
  tm_writer *w = towriter(L, 1);
  if (w->fp == NULL) discard(w);
  return 0;
}

static int w_flush(lua_State *L) {
  tm_writer *w = tm_w_check(L, 1);
  int e = w->err;
  if (!e) e = w->fp ? (fflush(w->fp) ? errno : 0) : flushbuf(w);
  if (e) return tm_w_fail(L, w, w->err = e);
  lua_settop(L, 1);
  return 1;
}

/* __close: commit when the scope ends normally, abort on an error */
static int w_toclose(lua_State *L) {
  tm_writer *w = towriter(L, 1);
  if (!w->open || w->fp != NULL) return 0;
  if (!lua_isnil(L, 2)) {
    discard(w);
    return 0;
  }
  lua_settop(L, 1);
  if (w_close(L) == 3) {  /* close failed: say so */
    lua_pushvalue(L, -2);
    return lua_error(L);
  }
  return 0;
}

static int w_gc(lua_State *L) {
  tm_writer *w = towriter(L, 1);
  if (w->fp == NULL) discard(w);
  return 0;
}

static int w_tostring(lua_State *L) {
  tm_writer *w = towriter(L, 1);
  if (w->fp != NULL)
    lua_pushfstring(L, "tome.writer: %s",
                    w->fp == stdout ? "stdout" : "stderr");
  else if (!w->open) lua_pushliteral(L, "tome.writer: (closed)");
  else lua_pushfstring(L, "tome.writer: \"%s\"%s", w->path,
                       w->rep.through ? " (written through)" : "");
  return 1;
}
/* }====== */

/* {====== constructors ====== */

static tm_writer *newwriter(lua_State *L) {
  tm_writer *w = (tm_writer *)lua_newuserdatauv(L, sizeof(tm_writer), 0);
  memset(w, 0, sizeof *w);
  w->rep.fd = w->rep.dirfd = -1;
  luaL_setmetatable(L, TM_WRITER_MT);
  return w;
}

static int t_output(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *why;
  tm_writer *w = newwriter(L);
  w->buf = malloc(WBUF);
  w->path = malloc(strlen(path) + 1);
  if (w->buf == NULL || w->path == NULL) {
    discard(w);
    return luaL_error(L, "not enough memory");
  }
  strcpy(w->path, path);
  int e = tm_rep_open(&w->rep, path, &why);
  if (e == ENOMEM) {
    discard(w);
    return luaL_error(L, "not enough memory");
  }
  if (e) {
    discard(w);
    if (why == NULL) return tm_l_ioerror(L, path, e);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, why);
    lua_pushinteger(L, e);
    return 3;
  }
  w->open = 1;
  return 1;
}

static void stdwriter(lua_State *L, FILE *fp, const char *name) {
  tm_writer *w = newwriter(L);
  w->fp = fp;
  w->open = 1;
  lua_setfield(L, -2, name);
}

static const luaL_Reg wmethods[] = {
  {"write", w_write}, {"close", w_close}, {"abort", w_abort},
  {"flush", w_flush}, {NULL, NULL}
};

void tm_l_openwriter(lua_State *L) {
  luaL_newmetatable(L, TM_WRITER_MT);
  luaL_newlib(L, wmethods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, w_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, w_toclose);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, w_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_pushcfunction(L, t_output);
  lua_setfield(L, -2, "output");
  stdwriter(L, stdout, "stdout");
  stdwriter(L, stderr, "stderr");
}
/* }====== */
