/*
** lwriter.h -- writers: tome.output(path) (atomic: temp file + rename on
** close), tome.stdout, tome.stderr.  Buffered; views are written straight
** from the mapping.
*/
#ifndef TOME_LWRITER_H
#define TOME_LWRITER_H

#include <stddef.h>
#include "lua.h"
#include "lhelp.h"

#define TM_WRITER_MT "tome.writer"

typedef struct tm_writer tm_writer;

/* The open writer at idx; raises for anything else or a closed writer. */
tm_writer *tm_w_check(lua_State *L, int idx);
/* Append n bytes at p.  'r' is the range p lies in when p points into a
** map (so the copy is guarded), or NULL for ordinary memory.  Returns 0
** or an errno value (the error is also kept for close to report). */
int tm_w_write(lua_State *L, tm_writer *w, const tm_range *r, const char *p,
               size_t n);
/* Mark w as taken by a streaming operation (gsub into w): while taken,
** close() refuses, and an operation that fails half-way leaves it taken,
** so close() then discards the partial output instead of committing it.
** tm_w_release ends a successful operation. */
void tm_w_take(tm_writer *w);
void tm_w_release(tm_writer *w);
/* Push nil, "path: message", errno for err; returns 3. */
int tm_w_fail(lua_State *L, tm_writer *w, int err);

/* adds output, stdout, stderr to the table on top */
void tm_l_openwriter(lua_State *L);

#endif
