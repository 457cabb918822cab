/*
** binary.h -- string.pack / string.unpack semantics over a bounded byte
** range.  Never reads outside [data, data + len) ("z" included).
*/
#ifndef TOME_BINARY_H
#define TOME_BINARY_H

#include <stddef.h>
#include "lua.h"

/* As string.unpack(fmt, s, pos) where s is data[0..len): 'pos' is the raw
** Lua argument (1-based, negative from the end, 0 counts as 1) and
** 'posarg' the stack index of pos.  Pushes the values and the position
** after them; returns how many values it pushed.  'data' may be NULL when
** len is 0.  Raises string.unpack's errors with the same messages.
** Argument errors name 'posarg' (bad position, data too short,
** unfinished "z"), except the two about the format itself (alignment not
** a power of 2, bad option after 'X'), which name posarg - 1: the format
** sits just before the position in v:unpack(fmt, pos). */
int tm_unpack(lua_State *L, const char *fmt, const char *data, size_t len,
              lua_Integer pos, int posarg);
/* The same, calling leave(ud) before it raises any error (a caller that
** reads data under a SIGBUS guard leaves the guard there: mapping.h). */
int tm_unpackx(lua_State *L, const char *fmt, const char *data, size_t len,
               lua_Integer pos, int posarg, void (*leave)(void *ud),
               void *ud);

/* As string.pack: the format is at stack index 'fmtarg' and the values
** follow it (up to the top).  Pushes the packed string; raises
** string.pack's errors, naming fmtarg for the format and fmtarg + k for
** the k-th value. */
void tm_pack(lua_State *L, int fmtarg);

/* As string.packsize for the format at stack index 'fmtarg' (pushes
** nothing; errors name fmtarg). */
lua_Integer tm_packsize(lua_State *L, int fmtarg);

#endif
