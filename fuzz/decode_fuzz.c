/*
** fuzz/decode_fuzz.c -- libFuzzer target: tome.decode's decoder
** (src/codec.c) on untrusted bytes.  It must never read outside the
** input (the bytes are copied into a buffer of exactly their length, so
** ASan sees any overrun), never crash, and whatever it accepts must
** encode again and decode to a value that encodes to the same length.
** See fuzz/README.md.
**
** Input layout: byte 0 chooses the mode.
**   even: the rest is given to the decoder as it is (headers, lengths,
**         checksums: almost always refused early);
**   odd:  the rest is a body, framed with a correct header and
**         checksum, so that the value parser itself is exercised.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lualib.h"
#include "../src/codec.h"

static lua_State *L;

static void put64(unsigned char *p, uint64_t x) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(x >> (8 * i));
}

/* Decode exactly n bytes from a buffer of exactly that size. */
static int decode_copy(const unsigned char *src, size_t n) {
  char *buf = malloc(n ? n : 1);
  if (buf == NULL) abort();
  if (n) memcpy(buf, src, n);
  int ok = tm_decode(L, buf, n);
  free(buf);
  return ok;
}

static void fail(const char *what) {
  fprintf(stderr, "decode_fuzz: %s: %s\n", what,
          lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
  }
  if (size == 0) return 0;
  lua_settop(L, 0);
  int ok;
  if (data[0] & 1) {
    size_t n = size - 1;
    unsigned char *f = malloc(TM_CODEC_HEADER + n);
    if (f == NULL) abort();
    memcpy(f, "\x1bTOM\x01\0\0\0", 8);
    put64(f + 8, n);
    put64(f + 16, tm_codec_sum(data + 1, n));
    memcpy(f + TM_CODEC_HEADER, data + 1, n);
    ok = decode_copy(f, TM_CODEC_HEADER + n);
    free(f);
  } else
    ok = decode_copy(data + 1, size - 1);
  if (!ok) {
    if (!lua_isstring(L, -1)) fail("no message");
    lua_settop(L, 0);
    return 0;
  }
  /* accepted: it encodes again, and that decodes and encodes alike */
  tm_buf a = {0}, b = {0};
  if (!tm_encode(L, 1, &a, "value")) fail("re-encoding failed");
  if (!tm_decode(L, a.p, a.n)) fail("decoding our own encoding failed");
  if (!tm_encode(L, -1, &b, "value")) fail("re-encoding failed (2)");
  if (a.n != b.n) fail("encodings differ in length");
  tm_buf_free(&a);
  tm_buf_free(&b);
  lua_settop(L, 0);
  static unsigned runs;
  if (++runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
