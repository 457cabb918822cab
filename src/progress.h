/*
** progress.h -- one line on standard error while a long scan runs:
** bytes done / total, percent, rate, time left.  Refreshed at most four
** times a second, erased at the end, and only when standard error is a
** terminal.  No Lua; one tm_progress per lua_State (no globals).
*/
#ifndef TOME_PROGRESS_H
#define TOME_PROGRESS_H

#include <stdint.h>

typedef struct tm_progress {
  int on;            /* asked for, and stderr is a terminal */
  int shown;         /* a line is on the screen */
  double t0;         /* when the current scan started */
  double next;       /* not before this time again */
  uint64_t total;    /* the current scan's size */
} tm_progress;

/* Ask for it (on != 0) or not; returns whether it will show. */
int tm_progress_enable(tm_progress *p, int on);
/* A scan of 'total' bytes starts (resets the clock). */
void tm_progress_start(tm_progress *p, uint64_t total);
/* 'done' of the current scan's bytes are done; draws when due. */
void tm_progress_update(tm_progress *p, uint64_t done);
/* The scan ended: erase the line. */
void tm_progress_end(tm_progress *p);

/* Scans report every this many bytes (cheap enough to check per record). */
#define TM_PROGRESS_STEP ((uint64_t)1 << 16)

#endif
