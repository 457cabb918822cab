/*
** lmatch.h -- the pattern methods of maps and views (lmatch.c): find,
** match, gmatch, gsub (into a string or a writer) and grep.
*/
#ifndef TOME_LMATCH_H
#define TOME_LMATCH_H

#include "lua.h"

/* adds find, match, gmatch, gsub, grep to the map and view types */
void tm_l_openmatch(lua_State *L);

#endif
