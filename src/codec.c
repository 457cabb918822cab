/*
** codec.c -- the portable encoding of results: tome.encode, tome.decode,
** and what tome.parallel uses to move results between Lua states.  The
** layout is in codec.h.
**
** Bytes are written and read one at a time through shifts, so the
** layout is little-endian on any host; floats travel as the bits of an
** IEEE 754 double (lua_Number is a double in every Lua tome builds
** with, which the static assertions below check).
*/
#include "codec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"

_Static_assert(sizeof(lua_Number) == 8, "lua_Number must be a double");
_Static_assert(sizeof(lua_Integer) == 8, "lua_Integer must be 64 bits");

enum { T_NIL, T_FALSE, T_TRUE, T_INT, T_FLT, T_SSTR, T_LSTR, T_TABLE };

static const char magic[4] = {'\x1b', 'T', 'O', 'M'};

/* {====================================================================
** Bytes: the buffer, little-endian integers, the checksum
** ===================================================================== */

/* Make room for n more bytes; 0 when out of memory. */
static int buf_reserve(tm_buf *b, size_t n) {
  if (n <= b->cap - b->n) return 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->n < n) {
    if (cap > SIZE_MAX / 2) return 0;
    cap *= 2;
  }
  char *np = realloc(b->p, cap);
  if (np == NULL) return 0;
  b->p = np;
  b->cap = cap;
  return 1;
}

int tm_buf_add(tm_buf *b, const void *src, size_t n) {
  if (!buf_reserve(b, n)) return 0;
  if (n > 0) memcpy(b->p + b->n, src, n);
  b->n += n;
  return 1;
}

void tm_buf_free(tm_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

static void put64(unsigned char *p, uint64_t x) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
  return x;
}

static uint64_t rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL

static uint64_t mix(uint64_t h, uint64_t w) {
  return rotl(h ^ (w * K2), 31) * K1;
}

/* Four independent lanes over 32-byte blocks (so the multiplications
** overlap), then the rest a word at a time, then the length. */
uint64_t tm_codec_sum(const void *data, size_t n) {
  const unsigned char *s = (const unsigned char *)data;
  uint64_t h0 = K1, h1 = K2, h2 = ~K1, h3 = ~K2, x;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    h0 = mix(h0, get64(s + i));
    h1 = mix(h1, get64(s + i + 8));
    h2 = mix(h2, get64(s + i + 16));
    h3 = mix(h3, get64(s + i + 24));
  }
  x = rotl(h0, 1) + rotl(h1, 7) + rotl(h2, 12) + rotl(h3, 18);
  for (; n - i >= 8; i += 8) x = mix(x, get64(s + i));
  if (i < n) {
    uint64_t w = 0;
    for (size_t k = 0; i + k < n; k++) w |= (uint64_t)s[i + k] << (8 * k);
    x = mix(x, w);
  }
  x ^= (uint64_t)n;
  x ^= x >> 33;
  x *= K2;
  x ^= x >> 29;
  x *= K1;
  x ^= x >> 32;
  return x;
}
/* }==================================================================== */

/* {====================================================================
** Encoding
** ===================================================================== */

/* One table on the way down to the value being encoded, and the key
** under which the walk went on (for the path in error messages). */
typedef struct level {
  int tab;              /* stack index of the table */
  int key;              /* stack index of the key, or 0: an array index */
  lua_Integer ikey;     /* the array index when key == 0 */
  int inkey;            /* the walk is inside a key that is a table */
} level;

typedef struct enc {
  lua_State *L;
  tm_buf *b;
  const char *root;
  int depth;
  level lv[TM_CODEC_MAXDEPTH];
} enc;

#define ENC_NOMEM (-1)

static int enc_bytes(enc *e, const void *p, size_t n) {
  return tm_buf_add(e->b, p, n) ? 1 : ENC_NOMEM;
}

static int enc_tag64(enc *e, int tag, uint64_t x) {
  unsigned char t[9];
  t[0] = (unsigned char)tag;
  put64(t + 1, x);
  return enc_bytes(e, t, 9);
}

static int isalpha_(unsigned char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Is s a name that reads well after a dot? */
static int isident(const char *s, size_t n) {
  if (n == 0 || n > 60 || !isalpha_((unsigned char)s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!isalpha_((unsigned char)s[i]) && !(s[i] >= '0' && s[i] <= '9'))
      return 0;
  return 1;
}

/* Push "[key]" or ".name" for the key at stack index k. */
static void push_keypart(lua_State *L, int k) {
  switch (lua_type(L, k)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, k, &n);
      if (isident(s, n)) {
        lua_pushfstring(L, ".%s", s);
        return;
      }
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      luaL_addstring(&b, "[\"");
      for (size_t i = 0; i < n && i < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
          luaL_addchar(&b, '\\');
          luaL_addchar(&b, (char)c);
        } else if (c < 32 || c == 127) {
          char esc[8];
          snprintf(esc, sizeof esc, "\\%u", (unsigned)c);
          luaL_addstring(&b, esc);
        } else
          luaL_addchar(&b, (char)c);
      }
      luaL_addstring(&b, n > 40 ? "...\"]" : "\"]");
      luaL_pushresult(&b);
      return;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, k))
        lua_pushfstring(L, "[%I]", (LUAI_UACINT)lua_tointeger(L, k));
      else
        lua_pushfstring(L, "[%f]", (LUAI_UACNUMBER)lua_tonumber(L, k));
      return;
    case LUA_TBOOLEAN:
      lua_pushstring(L, lua_toboolean(L, k) ? "[true]" : "[false]");
      return;
    default:
      lua_pushfstring(L, "[<%s key>]", luaL_typename(L, k));
      return;
  }
}

/* Push the path from the root down 'depth' levels. */
static void push_path(enc *e, int depth) {
  lua_State *L = e->L;
  lua_pushstring(L, e->root);
  for (int i = 0; i < depth; i++) {
    const level *l = &e->lv[i];
    if (l->inkey)
      lua_pushliteral(L, "[<table key>]");
    else if (l->key == 0)
      lua_pushfstring(L, "[%I]", (LUAI_UACINT)l->ikey);
    else
      push_keypart(L, l->key);
    lua_concat(L, 2);
  }
}

/* Push "path: what" and fail. */
static int enc_fail(enc *e, const char *what, const char *arg) {
  push_path(e, e->depth);
  lua_pushfstring(e->L, what, arg);
  lua_concat(e->L, 2);
  return 0;
}

static int enc_value(enc *e, int idx);

/* A key must be one that decodes to the same key. */
static int enc_key(enc *e, int k) {
  int t = lua_type(e->L, k);
  if (t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TBOOLEAN)
    return enc_value(e, k);
  if (t == LUA_TTABLE) {
    e->lv[e->depth - 1].inkey = 1;
    int r = enc_value(e, k);
    e->lv[e->depth - 1].inkey = 0;
    return r;
  }
  e->depth--;              /* name the table that holds the key */
  enc_fail(e, ": a table key that is a %s cannot be encoded",
           luaL_typename(e->L, k));
  e->depth++;
  return 0;
}

static int enc_table(enc *e, int idx) {
  lua_State *L = e->L;
  for (int i = 0; i < e->depth; i++)
    if (lua_rawequal(L, e->lv[i].tab, idx)) {
      enc_fail(e, ": a cycle (this table is also ", "");
      push_path(e, i);
      lua_pushliteral(L, ")");
      lua_concat(L, 3);
      return 0;
    }
  if (e->depth >= TM_CODEC_MAXDEPTH)
    return enc_fail(e, ": tables nested deeper than %s levels", "100");
  luaL_checkstack(L, 6, "tables nested too deep");
  size_t at = e->b->n;
  unsigned char hd[17] = {T_TABLE};
  if (!tm_buf_add(e->b, hd, sizeof hd)) return ENC_NOMEM;
  level *l = &e->lv[e->depth++];
  l->tab = idx;
  l->key = 0;
  l->inkey = 0;
  lua_Integer narr = 0, nhash = 0;
  int r = 1;
  /* (on a failure, values and keys stay on the stack: tm_encode drops
  ** them with the rest) */
  /* the array part: keys 1..n, values only */
  for (;;) {
    if (lua_rawgeti(L, idx, narr + 1) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    l->ikey = ++narr;
    if ((r = enc_value(e, -1)) != 1) goto out;
    lua_pop(L, 1);
  }
  /* the rest: key/value pairs */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_Integer k;
    if (lua_isinteger(L, -2) && (k = lua_tointeger(L, -2)) >= 1 &&
        k <= narr) {
      lua_pop(L, 1);
      continue;
    }
    l->key = lua_absindex(L, -2);
    if ((r = enc_key(e, -2)) != 1 || (r = enc_value(e, -1)) != 1) goto out;
    lua_pop(L, 1);
    nhash++;
  }
  put64((unsigned char *)e->b->p + at + 1, (uint64_t)narr);
  put64((unsigned char *)e->b->p + at + 9, (uint64_t)nhash);
out:
  e->depth--;
  return r;
}

static int enc_value(enc *e, int idx) {
  lua_State *L = e->L;
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TNIL: {
      unsigned char t = T_NIL;
      return enc_bytes(e, &t, 1);
    }
    case LUA_TBOOLEAN: {
      unsigned char t = lua_toboolean(L, idx) ? T_TRUE : T_FALSE;
      return enc_bytes(e, &t, 1);
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        return enc_tag64(e, T_INT, (uint64_t)lua_tointeger(L, idx));
      else {
        lua_Number x = lua_tonumber(L, idx);
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        return enc_tag64(e, T_FLT, bits);
      }
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      int r;
      if (n < 256) {
        unsigned char t[2] = {T_SSTR, (unsigned char)n};
        r = enc_bytes(e, t, 2);
      } else
        r = enc_tag64(e, T_LSTR, (uint64_t)n);
      return r == 1 ? enc_bytes(e, s, n) : r;
    }
    case LUA_TTABLE:
      return enc_table(e, idx);
    default:
      return enc_fail(e, ": %s cannot be encoded (only nil, booleans, "
                      "numbers, strings and tables of them)",
                      luaL_typename(L, idx));
  }
}

int tm_encode(lua_State *L, int idx, tm_buf *b, const char *root) {
  enc e;
  int top = lua_gettop(L), r;
  size_t at = b->n;
  unsigned char hd[TM_CODEC_HEADER] = {0};
  idx = lua_absindex(L, idx);
  e.L = L;
  e.b = b;
  e.root = root;
  e.depth = 0;
  memcpy(hd, magic, sizeof magic);
  hd[4] = TM_CODEC_VERSION;
  if (!tm_buf_add(b, hd, sizeof hd)) r = ENC_NOMEM;
  else r = enc_value(&e, idx);
  if (r == ENC_NOMEM) {
    lua_settop(L, top);
    lua_pushfstring(L, "%s: not enough memory to encode it", root);
    return 0;
  }
  if (r == 0) {            /* the message is on top, above leftovers */
    lua_copy(L, -1, top + 1);
    lua_settop(L, top + 1);
    return 0;
  }
  size_t body = b->n - at - TM_CODEC_HEADER;
  unsigned char *h = (unsigned char *)b->p + at;
  put64(h + 8, (uint64_t)body);
  put64(h + 16, tm_codec_sum(h + TM_CODEC_HEADER, body));
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** Decoding (untrusted bytes)
** ===================================================================== */

typedef struct dec {
  lua_State *L;
  const unsigned char *start, *p, *end;
  int depth;
  size_t budget;          /* table slots still to be preallocated */
  const char *err;        /* what is wrong */
  size_t errat;           /* at which byte of the input */
} dec;

static int dec_fail(dec *d, const unsigned char *at, const char *what) {
  d->err = what;
  d->errat = (size_t)(at - d->start);
  return 0;
}

static size_t dec_left(const dec *d) {
  return (size_t)(d->end - d->p);
}

static int dec_value(dec *d);

/* Keys 1..n, then h pairs; the counts are checked against what is left
** (a value takes at least one byte) before anything is allocated.  The
** tables are sized from their counts, within a budget of one slot per
** byte of the body for the whole decoding: the counts of genuine data
** never add up to more (every value takes a byte), while nested tables
** that each claim what is left would otherwise preallocate that much
** again at every level (100 levels: 250 MB for 70 KB of input). */
static int prealloc(dec *d, uint64_t n) {
  size_t k = n < 65536 ? (size_t)n : 65536;
  if (k > d->budget) k = d->budget;
  d->budget -= k;
  return (int)k;
}

static int dec_table(dec *d, const unsigned char *at) {
  lua_State *L = d->L;
  if (dec_left(d) < 16) return dec_fail(d, at, "truncated table");
  uint64_t n = get64(d->p), h = get64(d->p + 8);
  d->p += 16;
  if (n > dec_left(d) || h > dec_left(d) / 2)
    return dec_fail(d, at, "table counts larger than the data");
  if (d->depth >= TM_CODEC_MAXDEPTH)
    return dec_fail(d, at, "tables nested deeper than 100 levels");
  if (!lua_checkstack(L, 4))
    return dec_fail(d, at, "no room on the Lua stack");
  int na = prealloc(d, n);
  lua_createtable(L, na, prealloc(d, h));
  d->depth++;
  for (uint64_t i = 1; i <= n; i++) {
    if (!dec_value(d)) return 0;
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  for (uint64_t i = 0; i < h; i++) {
    const unsigned char *k = d->p;
    if (!dec_value(d)) return 0;
    if (lua_isnil(L, -1)) return dec_fail(d, k, "nil table key");
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) !=
        lua_tonumber(L, -1))
      return dec_fail(d, k, "NaN table key");
    if (!dec_value(d)) return 0;
    lua_rawset(L, -3);
  }
  d->depth--;
  return 1;
}

static int dec_value(dec *d) {
  lua_State *L = d->L;
  const unsigned char *at = d->p;
  if (d->p >= d->end) return dec_fail(d, at, "truncated value");
  int tag = *d->p++;
  switch (tag) {
    case T_NIL: lua_pushnil(L); return 1;
    case T_FALSE: lua_pushboolean(L, 0); return 1;
    case T_TRUE: lua_pushboolean(L, 1); return 1;
    case T_INT: case T_FLT: {
      if (dec_left(d) < 8) return dec_fail(d, at, "truncated number");
      uint64_t x = get64(d->p);
      d->p += 8;
      if (tag == T_INT) {
        /* two's complement back to a signed value, without relying on
        ** an implementation-defined conversion */
        lua_Integer i = x <= (uint64_t)LUA_MAXINTEGER
          ? (lua_Integer)x : -(lua_Integer)(~x) - 1;
        lua_pushinteger(L, i);
      } else {
        lua_Number f;
        memcpy(&f, &x, sizeof f);
        lua_pushnumber(L, f);
      }
      return 1;
    }
    case T_SSTR: case T_LSTR: {
      uint64_t n;
      if (tag == T_SSTR) {
        if (dec_left(d) < 1) return dec_fail(d, at, "truncated string");
        n = *d->p++;
      } else {
        if (dec_left(d) < 8) return dec_fail(d, at, "truncated string");
        n = get64(d->p);
        d->p += 8;
      }
      if (n > dec_left(d)) return dec_fail(d, at, "truncated string");
      lua_pushlstring(L, (const char *)d->p, (size_t)n);
      d->p += n;
      return 1;
    }
    case T_TABLE:
      return dec_table(d, at);
    default:
      return dec_fail(d, at, "unknown type tag");
  }
}

/* The header; 1 when the body may be parsed. */
static int dec_header(dec *d, size_t n) {
  const unsigned char *s = d->start;
  if (n < sizeof magic || memcmp(s, magic, sizeof magic) != 0) {
    lua_pushliteral(d->L, "not tome-encoded data (no \\27TOM header)");
    return 0;
  }
  if (n < TM_CODEC_HEADER) {
    lua_pushliteral(d->L, "corrupt data: truncated header");
    return 0;
  }
  if (s[4] != TM_CODEC_VERSION) {
    lua_pushfstring(d->L, "encoded in format version %d; this tome reads "
                    "version %d%s", (int)s[4], TM_CODEC_VERSION,
                    s[4] > TM_CODEC_VERSION ? " (written by a newer tome?)"
                                            : "");
    return 0;
  }
  if (s[5] | s[6] | s[7]) {
    lua_pushliteral(d->L, "corrupt data: reserved header bytes are set");
    return 0;
  }
  uint64_t body = get64(s + 8);
  if (body != n - TM_CODEC_HEADER) {
    if (body > n - TM_CODEC_HEADER)
      lua_pushfstring(d->L, "corrupt data: truncated (%I of %I bytes)",
                      (LUAI_UACINT)n,
                      (LUAI_UACINT)(body + TM_CODEC_HEADER));
    else
      lua_pushfstring(d->L, "corrupt data: %I more bytes than the header says",
                      (LUAI_UACINT)(n - TM_CODEC_HEADER - body));
    return 0;
  }
  if (get64(s + 16) != tm_codec_sum(s + TM_CODEC_HEADER, (size_t)body)) {
    lua_pushliteral(d->L, "corrupt data: checksum mismatch");
    return 0;
  }
  return 1;
}

int tm_decode(lua_State *L, const char *p, size_t n) {
  dec d;
  int top = lua_gettop(L);
  d.L = L;
  d.start = d.p = (const unsigned char *)p;
  d.end = d.start + n;
  d.depth = 0;
  d.budget = n;
  d.err = NULL;
  d.errat = 0;
  if (!dec_header(&d, n)) return 0;
  d.p += TM_CODEC_HEADER;
  if (dec_value(&d) && d.p != d.end)
    dec_fail(&d, d.p, "bytes after the value");
  if (d.err != NULL) {
    lua_settop(L, top);
    lua_pushfstring(L, "corrupt data: %s at byte %I", d.err,
                    (LUAI_UACINT)d.errat);
    return 0;
  }
  return 1;
}
/* }==================================================================== */

/* {====================================================================
** tome.encode, tome.decode
** ===================================================================== */

/* The buffer lives in a userdata, so that an error (out of memory in
** Lua) never leaks it. */
static int buf_gc(lua_State *L) {
  tm_buf_free((tm_buf *)lua_touserdata(L, 1));
  return 0;
}

static tm_buf *newbuf(lua_State *L) {
  tm_buf *b = (tm_buf *)lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, "tome.codecbuf")) {
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

/* tome.encode(v [, name]): name is the root of paths in errors */
static int t_encode(lua_State *L) {
  const char *root = luaL_optstring(L, 2, "value");
  luaL_checkany(L, 1);
  lua_settop(L, 2);
  tm_buf *b = newbuf(L);
  if (!tm_encode(L, 1, b, root))
    return luaL_error(L, "tome.encode: %s", lua_tostring(L, -1));
  lua_pushlstring(L, b->p, b->n);
  tm_buf_free(b);
  return 1;
}

static int t_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!tm_decode(L, s, n))
    return luaL_error(L, "tome.decode: %s", lua_tostring(L, -1));
  return 1;
}

void tm_l_opencodec(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"encode", t_encode},
    {"decode", t_decode},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
/* }==================================================================== */
