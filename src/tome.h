/*
** tome.h -- the public embedding API of tome.
**
** tome maps files into memory and hands them to Lua 5.4 as objects that
** behave like a Lua string and a Lua file handle at once.  Link with
** build/libtome.a (and Lua 5.4); see README.md.
*/
#ifndef TOME_H
#define TOME_H

#include <stddef.h>
#include "lua.h"

#define TOME_VERSION "tome 0.1.0"

/* Open the module: pushes the table `tome` (use with luaL_requiref). */
int luaopen_tome(lua_State *L);

/* Push a read-only (or writable) view over memory the caller owns;
** release(ctx) runs once no Lua object refers to it any more (it may be
** NULL). */
void tome_pushbuffer(lua_State *L, const void *data, size_t len, int writable,
                     void (*release)(void *ctx), void *ctx);

/* The bytes of a map or view at stack index idx (raises a Lua error
** otherwise, and for a closed map).  The pointer is valid until the map
** is closed or resized. */
const char *tome_checkbytes(lua_State *L, int idx, size_t *len);

/* Register the Lua modules compiled into the library (tome.*) in
** package.preload, and `tome` itself.  The host calls this once. */
void tome_preload(lua_State *L);

#endif
