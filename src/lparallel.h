/*
** lparallel.h -- tome.parallel (lparallel.c).
*/
#ifndef TOME_LPARALLEL_H
#define TOME_LPARALLEL_H

#include "lua.h"
#include "lhelp.h"

/* adds parallel to the module table on top; 'preload' registers tome in
** each worker's new state (the module passes its own, so that this room
** does not call back into tome.c) */
void tm_l_openparallel(lua_State *L, lua_CFunction preload);

#endif
