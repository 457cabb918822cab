/*
** lsource.h -- tome.lines and tome.chunks (lsource.c): inputs read as
** streams through source.h's tm_reader.
*/
#ifndef TOME_LSOURCE_H
#define TOME_LSOURCE_H

#include "lua.h"

/* adds lines and chunks to the module table on top */
void tm_l_opensource(lua_State *L);

#endif
