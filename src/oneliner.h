/*
** oneliner.h -- the -n / -p loops of the tome command (src/oneliner.c),
** used by the host (src/host.c).  Not part of the library.
*/
#ifndef TOME_ONELINER_H
#define TOME_ONELINER_H

#include <stddef.h>
#include "lua.h"

/* What the command line asked for. */
typedef struct tm_ol_opts {
  const char *chunk;        /* -n / -p */
  const char *begin, *end;  /* --begin, --end (or NULL) */
  int print;                /* -p */
  const char *fs;           /* -F (NULL: blanks, when the chunk uses F) */
  const char *rs;           /* --rs (NULL: lines); "" paragraphs */
  size_t rslen;             /* -0 gives rs = "" with rslen 1: a NUL */
  int header;               /* --header */
  const char *inplace;      /* --in-place[=SUFFIX]: "" or the suffix */
  int progress;             /* --progress */
  char **files;             /* the files ("-" is standard input) */
  int nfiles;               /* 0: standard input */
  /* how a file that cannot be read is reported ("path: reason") */
  void (*report)(const char *msg, size_t len);
} tm_ol_opts;

/* The registry field where the host keeps the original 'print' (the
** loops print faster through their own while the user has not
** replaced it). */
#define TM_OL_PRINT "tome.host.print"

/* Compile the chunks.  Pushes the program (one value) and returns
** LUA_OK, or pushes the error message and returns its status. */
int tm_ol_compile(lua_State *L, const tm_ol_opts *o);

/* Run the program: a lua_CFunction taking the options (a light
** userdata) and the program; returns the number of files that could
** not be read (each reported through opts->report).  To be
** called through the host's docall (errors get a traceback). */
int tm_ol_run(lua_State *L);

/* For the message handler: while a record is being handled, push
** "FILE:LINE: " (where the error happened) and return 1; else 0. */
int tm_ol_where(lua_State *L);

#endif
