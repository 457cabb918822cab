/*
** ltally.h -- v:tally (ltally.c): how often each value of a column, or
** each whole line, occurs, counted in C.
*/
#ifndef TOME_LTALLY_H
#define TOME_LTALLY_H

#include "lua.h"

/* adds tally to the map and view types */
void tm_l_opentally(lua_State *L);

#endif
