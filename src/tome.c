/*
** tome.c -- luaopen_tome and the public embedding API; registers the Lua
** modules compiled in from lua/ in package.preload.
*/
#include "tome.h"

#include <string.h>

#include "lauxlib.h"
#include "codec.h"
#include "lchart.h"
#include "ljob.h"
#include "lmap.h"
#include "lmatch.h"
#include "lrecords.h"
#include "lparallel.h"
#include "lsource.h"
#include "ltally.h"
#include "luasrc.h"
#include "lwriter.h"

static void preload_embedded(lua_State *L);
static int preload_all(lua_State *L);

/* also from a stock lua5.4 (tome.so), require "tome.records" then works */
int luaopen_tome(lua_State *L) {
  preload_embedded(L);
  lua_newtable(L);
  tm_l_openmap(L);       /* the types first: the others add methods */
  tm_l_openmatch(L);
  tm_l_opentally(L);
  tm_l_openrecords(L);
  tm_l_openwriter(L);
  tm_l_opensource(L);
  tm_l_openparallel(L, preload_all);
  tm_l_opencodec(L);
  tm_l_openchart(L);     /* tome._chart, for tome.chart */
  tm_l_openjob(L);
  lua_pushliteral(L, TOME_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}

/* package.preload loader of a compiled-in Lua module (upvalue: its
** index in tm_luafiles) */
static int load_embedded(lua_State *L) {
  const tm_luafile *f = &tm_luafiles[lua_tointeger(L, lua_upvalueindex(1))];
  lua_pushfstring(L, "=[tome] %s", f->name);
  if (luaL_loadbuffer(L, f->src, f->len, lua_tostring(L, -1)) != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, f->name);
  lua_call(L, 1, 1);
  return 1;
}

/* The compiled-in Lua modules (tome.repl, tome.records...) go into
** package.preload, unless something there already has the name. */
static void preload_embedded(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (int i = 0; tm_luafiles[i].name != NULL; i++) {
    if (lua_getfield(L, -1, tm_luafiles[i].name) == LUA_TNIL) {
      lua_pushinteger(L, i);
      lua_pushcclosure(L, load_embedded, 1);
      lua_setfield(L, -3, tm_luafiles[i].name);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

void tome_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_tome);
  lua_setfield(L, -2, "tome");
  lua_pop(L, 1);
  preload_embedded(L);
}

/* tome.parallel's workers register tome in their new states with this */
static int preload_all(lua_State *L) {
  tome_preload(L);
  return 0;
}
