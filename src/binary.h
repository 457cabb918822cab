/*
** binary.h -- string.pack / string.unpack semantics over a bounded byte
** range.  Never reads outside [data, data + len) ("z" included).
*/
#ifndef TOME_BINARY_H
#define TOME_BINARY_H

#include <stddef.h>
#include "lua.h"

/* As string.unpack(fmt, s, pos) where s is data[0..len): 'pos' is the raw
** Lua argument (1-based, negative from the end) and 'posarg' the stack
** index to name in argument errors.  Pushes the values and the position
** after them; returns how many values it pushed.  Raises the same errors
** as string.unpack. */
int tm_unpack(lua_State *L, const char *fmt, const char *data, size_t len,
              lua_Integer pos, int posarg);

/* As string.pack: the format is at stack index 'fmtarg' and the values
** follow it.  Pushes the packed string; raises string.pack's errors. */
void tm_pack(lua_State *L, int fmtarg);

/* As string.packsize for the format at stack index 'fmtarg'. */
lua_Integer tm_packsize(lua_State *L, int fmtarg);

#endif
