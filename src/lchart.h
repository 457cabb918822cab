/*
** lchart.h -- the C helpers of tome.chart, as the private table
** tome._chart (see lchart.c).
*/
#ifndef TOME_LCHART_H
#define TOME_LCHART_H

#include "lua.h"

/* set field _chart of the table on top of the stack */
void tm_l_openchart(lua_State *L);

#endif
