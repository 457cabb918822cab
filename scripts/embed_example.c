/*
** embed_example.c -- how a C program embeds tome and hands its own memory
** to Lua without a copy.
**
**   cc -std=c11 -I/usr/include/lua5.4 -Isrc scripts/embed_example.c \
**      build/libtome.a -llua5.4 -lm -ldl -lpthread -o embed_example
**
** It opens tome in a fresh Lua state, pushes two buffers it owns (one
** read-only, one writable) as views, runs a Lua snippet over them, reads
** the results back with tome_checkbytes, and checks that each buffer's
** release callback runs exactly once: the first when the garbage collector
** finds no Lua object using it, the second when the state is closed.
** Prints what it sees; exits 1 if anything is off.
*/
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
#include "tome.h"

/* What the program knows about a buffer it lent to Lua. */
typedef struct {
  const char *name;
  int releases;     /* how many times release() ran */
} loan;

static void release(void *ctx) {
  loan *l = ctx;
  l->releases++;
  printf("release %s\n", l->name);
}

/* prints the outcome; returns 1 for a failure, to be added up */
static int check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  return !ok;
}

/* The snippet gets (text, scratch) as views.  It counts lines, finds a
** word, returns a view of that word, writes into the writable buffer and
** keeps a reference to it in a global (so only lua_close releases it). */
static const char snippet[] =
  "local text, scratch = ...\n"
  "assert(tome.type(text) == 'view' or tome.type(text) == 'map')\n"
  "local lines = 0\n"
  "for _ in text:lines() do lines = lines + 1 end\n"
  "assert(lines == text:count('\\n') + (text[-1] == 10 and 0 or 1))\n"
  "local i, j = text:find('needle', 1, true)\n"
  "scratch[1] = string.byte('H')\n"
  "scratch:seek('set', 1)\n"
  "scratch:write('ELLO')\n"
  "keep = scratch\n"
  "return lines, i, text:view(i, j)\n";

static const char text[] =
  "the first line\n"
  "a haystack with a needle in it\n"
  "the last line, without a newline";

/* runs the snippet over our buffers; returns the number of failures */
static int run(lua_State *L, loan *ltext, loan *lscratch, char *scratch,
                size_t scratchlen) {
  if (luaL_loadstring(L, snippet) != LUA_OK) {
    printf("FAIL load: %s\n", lua_tostring(L, -1));
    return 1;
  }
  tome_pushbuffer(L, text, sizeof text - 1, 0, release, ltext);
  tome_pushbuffer(L, scratch, scratchlen, 1, release, lscratch);
  if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
    printf("FAIL run: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer lines = lua_tointeger(L, -3);
  lua_Integer at = lua_tointeger(L, -2);
  size_t len;
  const char *word = tome_checkbytes(L, -1, &len);
  printf("lines %lld\n", (long long)lines);
  printf("needle at %lld: \"%.*s\"\n", (long long)at, (int)len, word);
  int bad = check(lines == 3, "three lines");
  bad += check(len == 6 && memcmp(word, "needle", 6) == 0,
               "the word came back");
  /* the view's bytes are our own buffer's bytes: no copy was made */
  bad += check(word == text + at - 1,
               "zero copy (the pointer is into our buffer)");
  bad += check(memcmp(scratch, "HELLO", 5) == 0, "Lua wrote into our buffer");
  lua_pop(L, 3);
  return bad;
}

int main(void) {
  char scratch[16] = "..............";
  loan ltext = { "text", 0 }, lscratch = { "scratch", 0 };

  lua_State *L = luaL_newstate();
  if (!L) return 1;
  luaL_openlibs(L);
  luaL_requiref(L, "tome", luaopen_tome, 1);   /* also sets global tome */
  lua_pop(L, 1);

  int bad = run(L, &ltext, &lscratch, scratch, sizeof scratch - 2);

  /* Nothing refers to the text any more: a full collection releases it. */
  lua_gc(L, LUA_GCCOLLECT);
  lua_gc(L, LUA_GCCOLLECT);
  bad += check(ltext.releases == 1,
               "text released once after collection");
  bad += check(lscratch.releases == 0, "scratch still in use (global keep)");

  lua_close(L);
  bad += check(ltext.releases == 1, "text released exactly once");
  bad += check(lscratch.releases == 1,
               "scratch released exactly once, at close");

  printf("%s\n", bad ? "FAILED" : "all good");
  return bad ? 1 : 0;
}
