/*
** pattern.h -- our own engine for Lua 5.4 pattern semantics over
** (ptr, len).  It gives exactly what string.find / match / gmatch / gsub
** give (the same matches, captures and error messages, the same
** "pattern too complex" limit), but never reads a byte outside the
** subject [src, src + srclen) or the pattern [pat, pat + patlen): neither
** needs a trailing '\0' (a mapping ending at a page boundary has none).
**
** Captures are offsets into the subject, not Lua values; the helpers at
** the end push them (and gsub replacements) to Lua.  Errors are raised
** with luaL_error on ms->L.
**
** Typical use (string.find semantics; the binding checks the arguments):
**
**   size_t init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), len);
**   if (init > len) -> fail
**   if (plain || tm_pat_isplain(p, lp)) -> plain search (this matters:
**       string.find("a)", ")") is a plain search and finds 2, 2, while
**       string.match raises "invalid pattern capture")
**   tm_pat_init(&ms, L, s, len, p, lp, 1);
**   if (tm_pat_find(&ms, init, &b, &e))
**     push b + 1, e, then tm_pat_push_captures(&ms, b, e, 0)
**
** gmatch (no anchor: tm_pat_init(..., 0), init clamped to len + 1 when
** past the end):  state pos = init, last = TM_PAT_NONE;  each step:
**   if (pos > len || !tm_pat_next(&ms, pos, last, &b, &e)) -> done
**   pos = last = e;  return tm_pat_push_captures(&ms, b, e, 1);
**
** gsub (tm_pat_init(..., 1); n counts replacements, max_n the limit;
** string.gsub reads max_n = luaL_optinteger(L, 4, len + 1) before its
** luaL_argexpected on the replacement, which decides which error a call
** with two bad arguments raises):
**   pos = 0, last = TM_PAT_NONE;
**   while (n < max_n && tm_pat_next(&ms, pos, last, &b, &e)) {
**     copy [pos, b) unchanged;  n++;  tm_pat_add_repl(&ms, &buf, b, e, 3);
**     pos = last = e;  if (ms.anchor) break;
**   }
**   copy [pos, len) unchanged.
**
** grep over lines (string.find(line, pat) on each): tm_pat_required gives
** a literal every match contains, so lines without it can be skipped
** unseen; tm_pat_init once, then tm_pat_subject(&ms, line, n) and
** tm_pat_find(&ms, 0, ...) per candidate line (plus
** tm_pat_push_captures, popped, to raise "unfinished capture" as
** string.find does).
**
** No global state: one tm_pat per search, on the C stack or in a
** userdata; any number of them in any number of threads.
*/
#ifndef TOME_PATTERN_H
#define TOME_PATTERN_H

#include <stddef.h>
#include "lua.h"
#include "lauxlib.h"

#define TM_PAT_MAXCAPTURES 32     /* LUA_MAXCAPTURES */
#define TM_PAT_MAXCCALLS   200    /* recursion limit ("pattern too complex") */

/* tm_pat_cap.len markers */
#define TM_PAT_CAP_UNFINISHED ((ptrdiff_t)-1)
#define TM_PAT_CAP_POSITION   ((ptrdiff_t)-2)

/* "no previous match" for tm_pat_next */
#define TM_PAT_NONE ((size_t)-1)

/* longest literal kept for the memchr/memmem fast paths */
#define TM_PAT_PREFIX_MAX 32
/* single-character items (%d, [a-z], 'x', '.') compiled to bit sets for
** long or repeated searches: at most this many distinct sets, for items
** at pattern offsets below TM_PAT_SETMAP */
#define TM_PAT_MAXSETS 16
#define TM_PAT_SETMAP 64
/* a long search calls passed() at least this often (bytes) */
#define TM_PAT_STEP ((size_t)16 << 20)

typedef struct tm_pat_cap {
  size_t start;     /* offset in the subject */
  ptrdiff_t len;    /* length, or TM_PAT_CAP_POSITION / _UNFINISHED */
} tm_pat_cap;

typedef struct tm_pat {
  /* Public.  src and L may be re-pointed between calls (for example a
  ** gmatch step running in another coroutine, or a view whose mapping
  ** moved), as long as srclen and the bytes stay the same: nothing
  ** else keeps the subject's address. */
  lua_State *L;
  const char *src;
  size_t srclen;
  const char *pat;   /* the pattern without its anchor */
  size_t patlen;
  int anchor;        /* the pattern began with '^' (and anchoring is on) */
  /* Optional (NULL by default): called by tm_pat_add_repl after Lua code
  ** ran (a replacement function, a table's __index), and by the pushes of
  ** captures after an allocation (which may run a finalizer), before the
  ** subject is read again.  It must re-point src or raise (for instance when the
  ** function closed the map).  ud is for its use. */
  void (*refresh)(struct tm_pat *ms);
  /* Optional (NULL by default): called before the engine raises an error
  ** and before it runs Lua code (refresh is called after that code), so
  ** that a binding can leave its SIGBUS guard: a Lua error must never
  ** unwind past a live guard (see mapping.h). */
  void (*leave)(struct tm_pat *ms);
  void *ud;
  /* Optional (NULL by default), for subjects that are long mappings:
  ** seek(ms, pos, lit, n) returns the first occurrence of lit[0..n)
  ** (n >= 1) lying wholly in the subject at or after pos, or TM_PAT_NONE,
  ** and the search uses it instead of reading src for the literal fast
  ** paths (a binding can read a file through pread there, and release
  ** what it passed); it may raise.  passed(ms, pos) is called as the
  ** search moves on: no match will start before pos any more; at least
  ** every TM_PAT_STEP bytes of a long search, whatever the fast path. */
  size_t (*seek)(struct tm_pat *ms, size_t pos, const char *lit, size_t n);
  void (*passed)(struct tm_pat *ms, size_t pos);
  /* Results of the last successful match (valid until the next call). */
  int level;                          /* number of captures */
  tm_pat_cap cap[TM_PAT_MAXCAPTURES];
  /* Private. */
  int depth;                          /* calls left before "too complex" */
  int fast;                           /* fast-path kind, see pattern.c */
  size_t pfxlen, pfxoff;
  char pfx[TM_PAT_PREFIX_MAX];        /* literal at pfxoff in every match */
  unsigned char first[32];            /* bytes that can start a match */
  size_t reqlen;
  char req[TM_PAT_PREFIX_MAX];        /* literal inside every match */
  size_t reqnext;                     /* where it occurs next, if known */
  size_t mark;                        /* next passed() call at this pos */
  int runskip, litskip;               /* see tm_pat_next in pattern.c */
  int runq;                           /* quantifier of the leading run */
  size_t litat;                       /* where candidate() found pfx */
  const char *runep;                  /* end of the leading item */
  int reuse;                          /* retargeted: always analyse */
  int nsets;                          /* compiled items, see compile_items */
  unsigned char setof[TM_PAT_SETMAP]; /* item offset -> 1 + set */
  unsigned char ilen[TM_PAT_SETMAP];  /* item offset -> item length */
  unsigned char need[TM_PAT_SETMAP];  /* offset -> 1 + set of next byte */
  unsigned char needmarks[TM_PAT_SETMAP]; /* captures passed before it */
  unsigned char sets[TM_PAT_MAXSETS][32];
} tm_pat;

/* Prepare a search.  With anchorable != 0 (find, match, gsub) a leading
** '^' anchors the pattern; with 0 (gmatch) it is an ordinary character,
** as in string.gmatch.  Raises nothing: malformed patterns raise when a
** match is first attempted, exactly where the string library does. */
void tm_pat_init(tm_pat *ms, lua_State *L, const char *src, size_t srclen,
                 const char *pat, size_t patlen, int anchorable);

/* Point ms at another subject, keeping the analysis of the pattern (its
** fast paths): for matching one pattern against many lines, where a
** tm_pat_init per line would analyse the pattern again each time.  A
** retargeted pattern is analysed at its first search whatever the
** subject's length (a one-off search of a short subject is not). */
void tm_pat_subject(tm_pat *ms, const char *src, size_t srclen);

/* The first match starting at or after init (0-based, init <= srclen):
** 1 with [*start, *end) and the captures in ms, or 0.  An anchored
** pattern is tried at init only. */
int tm_pat_find(tm_pat *ms, size_t init, size_t *start, size_t *end);

/* The gmatch/gsub step: as tm_pat_find from 'from', but a match that
** ends at 'last' (the end of the previous match, TM_PAT_NONE for none)
** is ignored and the search goes on at the next position.  So an empty
** match right where the previous match ended is skipped (Lua 5.4). */
int tm_pat_next(tm_pat *ms, size_t from, size_t last, size_t *start,
                size_t *end);

/* One attempt at pos (<= srclen), without fast paths: 1 and *end, or 0. */
int tm_pat_match_at(tm_pat *ms, size_t pos, size_t *end);

/* Push the captures of the last match [start, end) as string.find /
** match do: strings (lua_pushlstring from the subject), position
** captures as integers.  With no captures, pushes the whole match when
** 'whole' is set (match, gmatch) and nothing otherwise (find).  Returns
** the number of values pushed; raises "unfinished capture".  Call it only
** while ms->src is valid (the map is open). */
int tm_pat_push_captures(tm_pat *ms, size_t start, size_t end, int whole);
/* string.find (find = 1: start, end, captures) or string.match (find =
** 0: captures or the whole match) from range position init: pushes the
** results, or fail when there is no match; returns how many.  Same
** conditions as tm_pat_push_captures. */
int tm_pat_push_find(tm_pat *ms, size_t init, int find);

/* gsub's replacement for the match [start, end) into b, the value at
** stack index ridx being a string, number, table or function (the caller
** has checked the type): %0-%9 and %% in strings, the first capture as
** the key of a table, all captures as the function's arguments; false or
** nil keeps the original text.  Raises as string.gsub does.  Returns 1
** when the text changed (string.gsub's internal "changed" flag).  ridx
** must not be a pseudo-index or relative (use lua_absindex). */
int tm_pat_add_repl(tm_pat *ms, luaL_Buffer *b, size_t start, size_t end,
                    int ridx);

/* A literal that every match of the pattern contains (the longest run of
** literal items found walking the pattern from its start, up to cap
** bytes, at most TM_PAT_PREFIX_MAX), copied to buf; returns its length,
** 0 when there is none.  A leading '^' is taken as an anchor (as in
** find, match, gsub and grep; not for gmatch).  The walk stops
** before anything that could raise (malformed items, back-references,
** too many captures or nested quantifiers), so a subject or line
** without the literal fails to match exactly as the string library
** fails: without raising.  For prefilters (v:grep): only lines holding
** the literal need to be matched. */
size_t tm_pat_required(const char *pat, size_t patlen, char *buf,
                       size_t cap);

/* 1 when p has none of the special characters ^$*+?.([%- (then
** string.find does a plain search). */
int tm_pat_isplain(const char *p, size_t lp);

/* string.find's init: the 0-based start for a subject of len bytes;
** a result > len means "past the end" (find and match fail; gmatch
** yields nothing). */
size_t tm_pat_posrelat(lua_Integer init, size_t len);

#endif
