/*
** ljob.h -- the C half of tome.job (ljob.c); the Lua half is
** lua/tome/job.lua.
*/
#ifndef TOME_LJOB_H
#define TOME_LJOB_H

#include "lua.h"

/* The registry field where the command leaves how a job script is to
** run: a table {shard = "K/N"|"auto", partial = DIR, reduce = DIR,
** script = path}; tome.job sets its field 'used'. */
#define TM_JOBMODE_KEY "tome.jobmode"

/* adds job to the module table on top */
void tm_l_openjob(lua_State *L);

#endif
