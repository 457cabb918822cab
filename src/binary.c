/*
** binary.c -- string.pack / string.unpack semantics over a bounded byte
** range.
**
** The semantics (options, alignment rules, limits and the exact error
** messages) are those of Lua 5.4's string.pack, string.unpack and
** string.packsize (manual section 6.4.2).  The difference that matters
** is that the unpacked bytes need not be a Lua string: they may be the
** tail of a memory-mapped file with no '\0' after them, so nothing here
** ever looks at data[len] or beyond ("z" uses memchr over the range).
*/

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "binary.h"


/* {====== limits ====== */

/* largest size an integer option ('i', 'I', 's', '!') may ask for */
#define TM_MAXINTSIZE 16

/* bits in a byte, and bytes in a lua_Integer */
#define TM_NB CHAR_BIT
#define TM_SZINT ((int)sizeof(lua_Integer))

/* Sizes and counts in a format are kept in an int (as Lua does), so the
** largest number a format may spell is bounded by INT_MAX (or by
** SIZE_MAX on a machine where size_t is narrower than int). */
#define TM_MAXSIZE \
  (sizeof(size_t) < sizeof(int) ? (size_t)-1 : (size_t)INT_MAX)

/* what 'x' and alignment padding write */
#define TM_PADBYTE 0x00

/* a union that holds any of the three floating formats */
typedef union {
  float f;
  double d;
  lua_Number n;
  char bytes[sizeof(lua_Number) > sizeof(double) ? sizeof(lua_Number)
                                                 : sizeof(double)];
} tm_floatbuf;

/* }====== */


/* {====== machine properties ====== */

/* 1 when the machine stores the least significant byte first. */
static int native_little(void) {
  const unsigned int one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* The default for '!' without a number: the strictest alignment a
** native type needs.  Lua computes it from LUAI_MAXALIGN (luaconf.h), so
** we do too, to agree with string.pack on every platform. */
static int native_maxalign(void) {
#if defined(LUAI_MAXALIGN)
  struct probe { char c; union { LUAI_MAXALIGN; } u; };
#else
  struct probe { char c; union { lua_Number n; double u; void *s;
                                 lua_Integer i; long l; } u; };
#endif
  return (int)offsetof(struct probe, u);
}

/* }====== */


/* {====== format parsing ====== */

typedef enum {
  K_INT,       /* signed integer */
  K_UINT,      /* unsigned integer */
  K_FLOAT,     /* C float */
  K_NUMBER,    /* lua_Number */
  K_DOUBLE,    /* C double */
  K_CHAR,      /* fixed-size string */
  K_STRING,    /* string preceded by its length */
  K_ZSTR,      /* zero-terminated string */
  K_PADDING,   /* one byte of padding */
  K_PADALIGN,  /* padding up to an alignment */
  K_NOP        /* no data: endianness, alignment, spaces */
} tm_kind;

/* The state of a walk over a format. */
typedef struct {
  lua_State *L;
  const char *fmt;  /* the next character to read */
  int little;       /* current endianness */
  int maxalign;     /* current maximum alignment */
  int fmtarg;       /* argument named by argument errors on the format */
  void (*leave)(void *ud);  /* called before raising (tm_unpackx) */
  void *ud;
} tm_format;

/* Before any error: a caller that unpacks under a SIGBUS guard leaves it
** (a Lua error must never unwind past a live guard, see mapping.h). */
static void fleave(const tm_format *f) {
  if (f->leave != NULL) f->leave(f->ud);
}
#define FCHECK(f, cond, arg, msg) \
  ((void)((cond) || (fleave(f), luaL_argerror((f)->L, (arg), (msg)))))

/* One option of a format, with the padding that must precede it. */
typedef struct {
  tm_kind kind;
  int size;      /* bytes of data (the length prefix for K_STRING) */
  int ntoalign;  /* padding bytes before it */
} tm_item;

static void format_init(tm_format *f, lua_State *L, const char *fmt,
                        int fmtarg) {
  f->L = L;
  f->fmt = fmt;
  f->little = native_little();
  f->maxalign = 1;
  f->fmtarg = fmtarg;
  f->leave = NULL;
  f->ud = NULL;
}

static int is_digit(int c) {
  return '0' <= c && c <= '9';
}

/* Read the decimal number at the cursor, or return 'dflt' if there is
** none.  Digits stop being consumed once one more could overflow the
** limit; those left over are then read as the next option (and rejected
** as "invalid format option"), which is what Lua does. */
static int read_count(tm_format *f, int dflt) {
  int n = 0;
  if (!is_digit(*f->fmt))
    return dflt;
  do {
    n = n * 10 + (*f->fmt++ - '0');
  } while (is_digit(*f->fmt) && n <= ((int)TM_MAXSIZE - 9) / 10);
  return n;
}

/* A size for an integral option: 1..TM_MAXINTSIZE. */
static int read_intsize(tm_format *f, int dflt) {
  int n = read_count(f, dflt);
  if (n > TM_MAXINTSIZE || n <= 0)
    fleave(f), luaL_error(f->L, "integral size (%d) out of limits [1,%d]", n,
               TM_MAXINTSIZE);
  return n;
}

/* Options whose size is fixed by the C type they name. */
static int fixed_option(int c, int *size, tm_kind *kind) {
  switch (c) {
    case 'b': *size = sizeof(char); *kind = K_INT; return 1;
    case 'B': *size = sizeof(char); *kind = K_UINT; return 1;
    case 'h': *size = sizeof(short); *kind = K_INT; return 1;
    case 'H': *size = sizeof(short); *kind = K_UINT; return 1;
    case 'l': *size = sizeof(long); *kind = K_INT; return 1;
    case 'L': *size = sizeof(long); *kind = K_UINT; return 1;
    case 'j': *size = sizeof(lua_Integer); *kind = K_INT; return 1;
    case 'J': *size = sizeof(lua_Integer); *kind = K_UINT; return 1;
    case 'T': *size = sizeof(size_t); *kind = K_UINT; return 1;
    case 'f': *size = sizeof(float); *kind = K_FLOAT; return 1;
    case 'n': *size = sizeof(lua_Number); *kind = K_NUMBER; return 1;
    case 'd': *size = sizeof(double); *kind = K_DOUBLE; return 1;
    case 'x': *size = 1; *kind = K_PADDING; return 1;
    case 'z': *size = 0; *kind = K_ZSTR; return 1;
    case 'X': *size = 0; *kind = K_PADALIGN; return 1;
    default: return 0;
  }
}

/* Read one option (and its number, if any) and return its kind; *size
** gets its size in bytes, 0 for the options that carry no data. */
static tm_kind read_option(tm_format *f, int *size) {
  int c = (unsigned char)*f->fmt++;
  tm_kind kind;
  *size = 0;
  if (fixed_option(c, size, &kind))
    return kind;
  switch (c) {
    case 'i': *size = read_intsize(f, sizeof(int)); return K_INT;
    case 'I': *size = read_intsize(f, sizeof(int)); return K_UINT;
    case 's': *size = read_intsize(f, sizeof(size_t)); return K_STRING;
    case 'c':
      *size = read_count(f, -1);
      if (*size == -1)
        fleave(f), luaL_error(f->L, "missing size for format option 'c'");
      return K_CHAR;
    case ' ': break;
    case '<': f->little = 1; break;
    case '>': f->little = 0; break;
    case '=': f->little = native_little(); break;
    case '!': f->maxalign = read_intsize(f, native_maxalign()); break;
    default: fleave(f); luaL_error(f->L, "invalid format option '%c'", c);
  }
  return K_NOP;
}

/* Padding needed after 'offset' bytes to reach a multiple of 'align'
** (a power of 2). */
static int pad_to(size_t offset, int align) {
  return (int)(((size_t)align - (offset & ((size_t)align - 1)))
               & ((size_t)align - 1));
}

/* Read the next item of the format; 'offset' is where it would start
** (bytes from the beginning of the packed data), which decides the
** padding.  An option aligns to its own size, capped by '!'; 'X' takes
** the size of the option after it (consuming that option) and moves
** nothing else; fixed strings never align. */
static void next_item(tm_format *f, size_t offset, tm_item *it) {
  int align;
  it->kind = read_option(f, &it->size);
  align = it->size;
  if (it->kind == K_PADALIGN) {
    if (*f->fmt == '\0' || read_option(f, &align) == K_CHAR || align == 0)
      fleave(f), luaL_argerror(f->L, f->fmtarg,
                               "invalid next option for option 'X'");
  }
  if (align <= 1 || it->kind == K_CHAR) {
    it->ntoalign = 0;
    return;
  }
  if (align > f->maxalign)
    align = f->maxalign;
  if ((align & (align - 1)) != 0)
    fleave(f), luaL_argerror(f->L, f->fmtarg,
                  "format asks for alignment not power of 2");
  it->ntoalign = pad_to(offset, align);
}

/* }====== */


/* {====== byte order ====== */

/* Byte k of an integer (k = 0 the least significant) sits at this index
** of its 'size' bytes in the given byte order. */
static int byte_index(int k, int size, int little) {
  return little ? k : size - 1 - k;
}

/* Copy n bytes, reversing them when 'little' is not the machine's order:
** turns a native float into packed bytes and back. */
static void copy_ordered(char *dst, const char *src, size_t n, int little) {
  size_t i;
  if (little == native_little()) {
    memcpy(dst, src, n);
    return;
  }
  for (i = 0; i < n; i++)
    dst[i] = src[n - 1 - i];
}

/* }====== */


/* {====== unpack ====== */

/* The integer in the 'size' bytes at p.  Sizes below a lua_Integer are
** zero- or sign-extended; bytes beyond a lua_Integer must only extend
** the sign (or be zero for unsigned), or the value does not fit. */
static lua_Integer read_int(const tm_format *f, const unsigned char *p,
                            int size, int little, int issigned) {
  lua_Unsigned v = 0;
  int used = size < TM_SZINT ? size : TM_SZINT;
  int k;
  for (k = 0; k < used; k++)
    v |= (lua_Unsigned)p[byte_index(k, size, little)] << (k * TM_NB);
  if (size < TM_SZINT && issigned) {
    lua_Unsigned sign = (lua_Unsigned)1 << (size * TM_NB - 1);
    v = (v ^ sign) - sign;
  }
  else if (size > TM_SZINT) {
    int ext = (issigned && (lua_Integer)v < 0) ? UCHAR_MAX : 0;
    for (k = TM_SZINT; k < size; k++) {
      if (p[byte_index(k, size, little)] != ext)
        fleave(f), luaL_error(f->L, "%d-byte integer does not fit into "
                              "Lua Integer",
                   size);
    }
  }
  return (lua_Integer)v;
}

/* Push the float of kind 'kind' stored in the bytes at p. */
static void push_float(lua_State *L, const char *p, tm_kind kind,
                       int size, int little) {
  tm_floatbuf u;
  copy_ordered(u.bytes, p, (size_t)size, little);
  if (kind == K_FLOAT)
    lua_pushnumber(L, (lua_Number)u.f);
  else if (kind == K_DOUBLE)
    lua_pushnumber(L, (lua_Number)u.d);
  else
    lua_pushnumber(L, u.n);
}

/* The 0-based offset where unpacking starts: string.unpack's reading of
** its 'pos' (0 counts as 1, negatives count from the end and clip to the
** start).  May exceed len; the caller rejects that. */
static size_t start_offset(lua_Integer pos, size_t len) {
  if (pos > 0)
    return (size_t)((lua_Unsigned)pos - 1);
  if (pos == 0)
    return 0;
  else {
    /* -(pos + 1) cannot overflow, even for LUA_MININTEGER */
    size_t back = (size_t)(-(pos + 1)) + 1;
    return back > len ? 0 : len - back;
  }
}

/* Unpack one data-carrying item at data[*at..], pushing its value and
** advancing *at past it.  The caller has checked that its fixed part
** (it->size bytes) is inside the range. */
static void unpack_item(lua_State *L, const tm_format *f, const tm_item *it,
                        const char *data, size_t len, size_t *at,
                        int dataarg) {
  const char *p = data + *at;
  switch (it->kind) {
    case K_INT: case K_UINT:
      lua_pushinteger(L, read_int(f, (const unsigned char *)p, it->size,
                                  f->little, it->kind == K_INT));
      break;
    case K_FLOAT: case K_NUMBER: case K_DOUBLE:
      push_float(L, p, it->kind, it->size, f->little);
      break;
    case K_CHAR:
      lua_pushlstring(L, p, (size_t)it->size);
      break;
    case K_STRING: {
      size_t n = (size_t)read_int(f, (const unsigned char *)p, it->size,
                                  f->little, 0);
      FCHECK(f, n <= len - *at - (size_t)it->size, dataarg,
             "data string too short");
      lua_pushlstring(L, p + it->size, n);
      *at += n;
      break;
    }
    case K_ZSTR: {
      /* bounded: the range has no '\0' after it to stop strlen */
      const char *nul = memchr(p, '\0', len - *at);
      FCHECK(f, nul != NULL, dataarg, "unfinished string for format 'z'");
      lua_pushlstring(L, p, (size_t)(nul - p));
      *at += (size_t)(nul - p) + 1;
      break;
    }
    default:
      break;
  }
  *at += (size_t)it->size;
}

static int carries_value(tm_kind kind) {
  return kind != K_PADDING && kind != K_PADALIGN && kind != K_NOP;
}

int tm_unpackx(lua_State *L, const char *fmt, const char *data, size_t len,
               lua_Integer pos, int posarg, void (*leave)(void *ud),
               void *ud) {
  tm_format f;
  size_t at = start_offset(pos, len);
  int n = 0;
  if (data == NULL)  /* allowed when len == 0; avoids NULL + 0 */
    data = "";
  format_init(&f, L, fmt, posarg > 1 ? posarg - 1 : posarg);
  f.leave = leave;
  f.ud = ud;
  FCHECK(&f, at <= len, posarg, "initial position out of string");
  while (*f.fmt != '\0') {
    tm_item it;
    next_item(&f, at, &it);
    /* both terms are at most INT_MAX: the sum cannot wrap */
    FCHECK(&f, (size_t)it.ntoalign + (size_t)it.size <= len - at, posarg,
           "data string too short");
    at += (size_t)it.ntoalign;
    if (!lua_checkstack(L, 2))
      fleave(&f), luaL_error(L, "stack overflow (too many results)");
    if (carries_value(it.kind)) {
      n++;
      unpack_item(L, &f, &it, data, len, &at, posarg);
    }
    else
      at += (size_t)it.size;
  }
  lua_pushinteger(L, (lua_Integer)at + 1);
  return n + 1;
}

int tm_unpack(lua_State *L, const char *fmt, const char *data, size_t len,
              lua_Integer pos, int posarg) {
  return tm_unpackx(L, fmt, data, len, pos, posarg, NULL, NULL);
}

/* }====== */


/* {====== pack ====== */

/* Append the low 'size' bytes of v, sign-extended with 0xff beyond a
** lua_Integer when 'negative'. */
static void add_int(luaL_Buffer *b, lua_Unsigned v, int size, int little,
                    int negative) {
  char *out = luaL_prepbuffsize(b, (size_t)size);
  int k;
  for (k = 0; k < size; k++) {
    unsigned char byte;
    if (k < TM_SZINT)
      byte = (unsigned char)(v >> (k * TM_NB));
    else
      byte = negative ? UCHAR_MAX : 0;
    out[byte_index(k, size, little)] = (char)byte;
  }
  luaL_addsize(b, (size_t)size);
}

static void add_padding(luaL_Buffer *b, size_t n) {
  while (n-- > 0)
    luaL_addchar(b, TM_PADBYTE);
}

static void pack_int(lua_State *L, luaL_Buffer *b, const tm_format *f,
                     const tm_item *it, int arg) {
  lua_Integer v = luaL_checkinteger(L, arg);
  if (it->size < TM_SZINT) {
    if (it->kind == K_INT) {
      lua_Integer lim = (lua_Integer)1 << (it->size * TM_NB - 1);
      luaL_argcheck(L, -lim <= v && v < lim, arg, "integer overflow");
    }
    else
      luaL_argcheck(L, (lua_Unsigned)v <
                           ((lua_Unsigned)1 << (it->size * TM_NB)),
                    arg, "unsigned overflow");
  }
  add_int(b, (lua_Unsigned)v, it->size, f->little,
          it->kind == K_INT && v < 0);
}

static void pack_float(lua_State *L, luaL_Buffer *b, const tm_format *f,
                       const tm_item *it, int arg) {
  tm_floatbuf u;
  lua_Number x = luaL_checknumber(L, arg);
  char *out = luaL_prepbuffsize(b, (size_t)it->size);
  if (it->kind == K_FLOAT)
    u.f = (float)x;
  else if (it->kind == K_DOUBLE)
    u.d = (double)x;
  else
    u.n = x;
  copy_ordered(out, u.bytes, (size_t)it->size, f->little);
  luaL_addsize(b, (size_t)it->size);
}

/* Pack one string option; returns the bytes it added beyond it->size
** (the string after a length prefix, the zero-terminated string). */
static size_t pack_string(lua_State *L, luaL_Buffer *b, const tm_format *f,
                          const tm_item *it, int arg) {
  size_t n;
  const char *s = luaL_checklstring(L, arg, &n);
  switch (it->kind) {
    case K_CHAR:
      luaL_argcheck(L, n <= (size_t)it->size, arg,
                    "string longer than given size");
      luaL_addlstring(b, s, n);
      add_padding(b, (size_t)it->size - n);
      return 0;
    case K_STRING:
      luaL_argcheck(L, it->size >= (int)sizeof(size_t) ||
                           n < ((size_t)1 << (it->size * TM_NB)),
                    arg, "string length does not fit in given size");
      add_int(b, (lua_Unsigned)n, it->size, f->little, 0);
      luaL_addlstring(b, s, n);
      return n;
    default:  /* K_ZSTR */
      luaL_argcheck(L, memchr(s, '\0', n) == NULL, arg,
                    "string contains zeros");
      luaL_addlstring(b, s, n);
      luaL_addchar(b, '\0');
      return n + 1;
  }
}

void tm_pack(lua_State *L, int fmtarg) {
  tm_format f;
  luaL_Buffer b;
  size_t total = 0;  /* bytes so far: decides the alignment padding */
  int arg;
  fmtarg = lua_absindex(L, fmtarg);
  format_init(&f, L, luaL_checkstring(L, fmtarg), fmtarg);
  arg = fmtarg;
  /* The buffer may keep a box on the stack; the nil above the values
  ** makes a missing value read as nil rather than as that box (and so
  ** gives string.pack's "got nil"). */
  lua_pushnil(L);
  luaL_buffinit(L, &b);
  while (*f.fmt != '\0') {
    tm_item it;
    next_item(&f, total, &it);
    total += (size_t)it.ntoalign + (size_t)it.size;
    add_padding(&b, (size_t)it.ntoalign);
    if (it.kind == K_PADDING)
      add_padding(&b, 1);
    if (!carries_value(it.kind))
      continue;
    arg++;
    if (it.kind == K_INT || it.kind == K_UINT)
      pack_int(L, &b, &f, &it, arg);
    else if (it.kind == K_FLOAT || it.kind == K_NUMBER ||
             it.kind == K_DOUBLE)
      pack_float(L, &b, &f, &it, arg);
    else
      total += pack_string(L, &b, &f, &it, arg);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2);  /* the nil */
}

lua_Integer tm_packsize(lua_State *L, int fmtarg) {
  tm_format f;
  size_t total = 0;
  fmtarg = lua_absindex(L, fmtarg);
  format_init(&f, L, luaL_checkstring(L, fmtarg), fmtarg);
  while (*f.fmt != '\0') {
    tm_item it;
    size_t room;
    next_item(&f, total, &it);
    luaL_argcheck(L, it.kind != K_STRING && it.kind != K_ZSTR, fmtarg,
                  "variable-length format");
    room = (size_t)it.ntoalign + (size_t)it.size;
    luaL_argcheck(L, room <= TM_MAXSIZE && total <= TM_MAXSIZE - room,
                  fmtarg, "format result too large");
    total += room;
  }
  return (lua_Integer)total;
}

/* }====== */
