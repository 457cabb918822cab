/*
** lrecords.h -- records as objects (lrecords.c): v:csv([opts]) and
** v:jsonl([opts]) on maps and views.
*/
#ifndef TOME_LRECORDS_H
#define TOME_LRECORDS_H

#include "lua.h"

/* adds csv and jsonl to the map and view types */
void tm_l_openrecords(lua_State *L);

#endif
