/*
** lmatch.c -- the pattern methods of maps and views (find with a
** pattern, match, gmatch, gsub, grep with a pattern), over pattern.c.
** Placeholder until the pattern engine lands (issue 3).
*/
#include "lauxlib.h"
#include "lmap.h"

static int notyet(lua_State *L) {
  return luaL_error(L, "Lua patterns over maps are not available yet "
                    "(use plain search)");
}

int tm_l_patternfind(lua_State *L, int find) { (void)find; return notyet(L); }
int tm_l_patterngrep(lua_State *L) { return notyet(L); }
int tm_l_match(lua_State *L) { return notyet(L); }
int tm_l_gmatch(lua_State *L) { return notyet(L); }
int tm_l_gsub(lua_State *L) { return notyet(L); }
