/*
** codec.h -- the portable encoding of results (tome.encode/tome.decode):
** nil, booleans, numbers, strings and tables of them, in a versioned,
** fixed little-endian layout, so that a partial result written on one
** machine is read on another.  The decoder takes untrusted bytes: every
** length is checked against what is left, nesting is bounded, and any
** inconsistency is an error, never a read outside the input.
**
** Layout (all integers little-endian):
**   header  "\x1bTOM"  magic
**           u8         format version (TM_CODEC_VERSION)
**           u8[3]      reserved, zero
**           u64        body length
**           u64        checksum of the body (tm_codec_sum)
**   body    one value:
**     0x00 nil   0x01 false   0x02 true
**     0x03 integer  i64
**     0x04 float    IEEE 754 binary64
**     0x05 string   u8 length, bytes      (short strings)
**     0x06 string   u64 length, bytes
**     0x07 table    u64 n, u64 h, then the values of keys 1..n, then h
**                   key/value pairs (no nil or NaN key)
*/
#ifndef TOME_CODEC_H
#define TOME_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "lua.h"

#define TM_CODEC_VERSION 1
#define TM_CODEC_HEADER 24
/* tables nested deeper than this are refused both ways */
#define TM_CODEC_MAXDEPTH 100

/* A growable byte buffer (malloc'd; the owner frees it). */
typedef struct tm_buf {
  char *p;
  size_t n, cap;
} tm_buf;

/* Append n bytes; 0 when out of memory (b unchanged). */
int tm_buf_add(tm_buf *b, const void *src, size_t n);
void tm_buf_free(tm_buf *b);

/* Encode the value at idx, header included, appending to b.  Returns 1,
** or 0 with a message pushed that names the path to the bad value from
** 'root' ("result.list[3]: function cannot be encoded ..."); b then
** holds partial bytes the caller discards.  Uses a few stack slots per
** nesting level; raises only when Lua itself runs out of memory. */
int tm_encode(lua_State *L, int idx, tm_buf *b, const char *root);

/* Decode the encoded value in [p, p+n): pushes it and returns 1, or
** pushes a message ("corrupt data: ... at byte K") and returns 0.
** p must stay valid and unchanged during the call. */
int tm_decode(lua_State *L, const char *p, size_t n);

/* The checksum of the header: a 64-bit hash of n bytes (not
** cryptographic: it catches damage, not forgery). */
uint64_t tm_codec_sum(const void *p, size_t n);

/* tome.encode and tome.decode into the module table on top. */
void tm_l_opencodec(lua_State *L);

#endif
