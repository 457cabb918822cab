/* luasrc.h -- the Lua files compiled into the binaries (see Makefile) */
#ifndef TOME_LUASRC_H
#define TOME_LUASRC_H
#include <stddef.h>
typedef struct tm_luafile {
  const char *name;   /* module name, e.g. "tome.repl" */
  const char *src;
  size_t len;
} tm_luafile;
extern const tm_luafile tm_luafiles[];
#endif
