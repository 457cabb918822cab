/*
** lmap.h -- the Lua types map and view (lmap.c), for the rooms above
** them: what the pattern methods (lmatch.c) reuse of the plain ones.
*/
#ifndef TOME_LMAP_H
#define TOME_LMAP_H

#include <stddef.h>
#include "lua.h"
#include "lhelp.h"

/* The plain half of find: [init-1, len) of r, init already clamped
** (1..len+1); pushes the results. */
int tm_l_plainfind(lua_State *L, const tm_range *r, const char *nd,
                   size_t nn, size_t init);
/* grep(s [, plain]) on the map or view at 1, plain: pushes the iterator. */
int tm_l_plaingrep(lua_State *L);

/* makes the types, registers their core methods, and adds open, create,
** wrap, type, progress, _tune to the table on top */
void tm_l_openmap(lua_State *L);

#endif
