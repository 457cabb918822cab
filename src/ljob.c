/*
** ljob.c -- the C half of tome.job: the entry point, which loads the Lua
** half (lua/tome/job.lua, compiled in) and hands it the job, how the
** command was asked to run it (--shard, --partial, --reduce: a table the
** host leaves in the registry), and the few things the shard protocol
** needs that Lua lacks: a file's size and modification time to the
** nanosecond, mkdir, and checksums of strings and files.
*/
#include "ljob.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lauxlib.h"
#include "codec.h"

/* stat(path) -> {size =, mtime =, mtimens =, kind =} or nil, msg, errno */
static int j_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return luaL_fileresult(L, 0, path);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_nsec);
  lua_setfield(L, -2, "mtimens");
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" :
                    S_ISDIR(st.st_mode) ? "directory" : "other");
  lua_setfield(L, -2, "kind");
  return 1;
}

/* mkdir(path): true when the directory exists afterwards */
static int j_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  int err;
  if (mkdir(path, 0777) == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  err = errno;
  if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  errno = err;
  return luaL_fileresult(L, 0, path);
}

static void push_hex(lua_State *L, uint64_t x) {
  char hex[24];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)x);
  lua_pushstring(L, hex);
}

/* sum(s): codec.c's checksum of s, as 16 hex digits */
static int j_sum(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  push_hex(L, tm_codec_sum(s, n));
  return 1;
}

#define SUMBLOCK ((size_t)1 << 20)

/* sumfile(path) -> checksum, size: codec.c's checksum of each 1 MiB
** block, chained (acc = sum(acc .. sum(block)), little-endian), so a
** file of any size is summed in constant memory; or nil, msg, errno */
static int j_sumfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return luaL_fileresult(L, 0, path);
  char *buf = malloc(SUMBLOCK);
  if (buf == NULL) {
    fclose(f);
    errno = ENOMEM;
    return luaL_fileresult(L, 0, path);
  }
  uint64_t acc = 0;
  lua_Integer total = 0;
  size_t n;
  while ((n = fread(buf, 1, SUMBLOCK, f)) > 0) {
    unsigned char pair[16];
    uint64_t h = tm_codec_sum(buf, n);
    for (int i = 0; i < 8; i++) {
      pair[i] = (unsigned char)(acc >> (8 * i));
      pair[8 + i] = (unsigned char)(h >> (8 * i));
    }
    acc = tm_codec_sum(pair, sizeof pair);
    total += (lua_Integer)n;
  }
  int err = ferror(f) ? errno : 0;
  fclose(f);
  free(buf);
  if (err != 0) {
    errno = err;
    return luaL_fileresult(L, 0, path);
  }
  push_hex(L, acc);
  lua_pushinteger(L, total);
  return 2;
}

/* tome.job(spec): require("tome.job")(spec, mode, helpers) */
static int t_job(lua_State *L) {
  lua_settop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "tome.job");
  lua_call(L, 1, 1);
  lua_pushvalue(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, TM_JOBMODE_KEY);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_call(L, 3, LUA_MULTRET);
  return lua_gettop(L) - 1;
}

void tm_l_openjob(lua_State *L) {
  static const luaL_Reg helpers[] = {
    {"stat", j_stat},
    {"mkdir", j_mkdir},
    {"sum", j_sum},
    {"sumfile", j_sumfile},
    {NULL, NULL}
  };
  luaL_newlib(L, helpers);
  lua_pushcclosure(L, t_job, 1);
  lua_setfield(L, -2, "job");
}
