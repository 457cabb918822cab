/*
** repl.h -- the interactive loop of the tome command (src/repl.c), used
** by the host (src/host.c).  Not part of the library.
*/
#ifndef TOME_REPL_H
#define TOME_REPL_H

#include "lua.h"

/* Call the function below 'nargs' arguments on top of the stack the way
** the host runs every chunk (a message handler that adds a traceback,
** Ctrl-C armed); returns a Lua status and leaves 'nres' results or the
** error message. */
typedef int (*tm_docall_fn)(lua_State *L, int nargs, int nres);

/* The registry field where the host keeps the base library's print:
** results go through tome.repl's readable printer while the global
** print is that one, through the user's own print otherwise. */
#define TM_REPL_PRINT "tome.host.print"

/* Read, evaluate and print until the end of input.  Chunks are run with
** 'docall'; the stack is left as it was found. */
void tm_repl(lua_State *L, tm_docall_fn docall);

#endif
