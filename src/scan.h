/*
** scan.h -- byte-level search over (ptr, len): literal find and rfind,
** counting, line boundaries.  The fast paths (SIMD, memchr, memmem) live
** here and nowhere else.  No Lua.
**
** Two layers:
**  - plain functions over memory (ptr, len);
**  - a cursor (tm_src) that walks a range either directly in memory or,
**    for large ranges of a file, through the page cache with pread into a
**    reused buffer.  Faulting a mapping page by page is 6-17x slower than
**    read() when the page cache holds 4 KiB pages (a freshly written
**    file), and pread never raises SIGBUS on a truncated file: a short
**    read is reported as TM_ETRUNC instead.
**
** Positions in the cursor API are 0-based offsets inside the range.
*/
#ifndef TOME_SCAN_H
#define TOME_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* {====== memory ====== */

/* number of bytes equal to c in p[0..n) (AVX2 / word-at-a-time) */
size_t tm_count_byte(const char *p, size_t n, int c);
/* first occurrence of needle (nn >= 1) in h[0..hn), or NULL */
const char *tm_find(const char *h, size_t hn, const char *nd, size_t nn);
/* last occurrence of needle (nn >= 1) lying wholly in h[0..hn), or NULL */
const char *tm_rfind(const char *h, size_t hn, const char *nd, size_t nn);
/* number of non-overlapping occurrences (nn >= 1) scanning left to right */
size_t tm_count(const char *h, size_t hn, const char *nd, size_t nn);
/* }====== */

/* {====== cursor over a range ====== */

#define TM_ETRUNC (-1)  /* the file ended before the range did */

typedef struct tm_src {
  const char *mem;   /* range in memory (may be NULL when fd >= 0 or len 0) */
  int fd;            /* >= 0: read the range with pread from offset foff */
  off_t foff;        /* file offset of range position 0 */
  size_t len;        /* length of the range */
  char *buf;         /* pread buffer, malloc'd; may be handed in (with cap)
                        and is handed back in tm_src_done's caller's fields */
  size_t cap;
  size_t wpos, wlen; /* buffered window: range [wpos, wpos + wlen) */
  int err;           /* 0, an errno, or TM_ETRUNC after a failure */
} tm_src;

/* Block size used for pread windows (and the initial buffer size). */
#define TM_SRC_BLOCK ((size_t)1 << 18)

/* Set up a cursor. fd < 0 means memory. buf/cap may be NULL/0. */
void tm_src_init(tm_src *s, const char *mem, int fd, off_t foff, size_t len,
                 char *buf, size_t cap);
/* Pointer to range byte 'pos' (< len) such that at least
** min(need, len - pos) bytes are contiguous there; *avail gets how many
** are (at least that, possibly up to the end of the window).  Returns NULL
** and sets s->err on a read error, on short read (TM_ETRUNC) or when
** memory runs out (ENOMEM). */
const char *tm_src_get(tm_src *s, size_t pos, size_t need, size_t *avail);
/* Like tm_src_get, but the window ends at 'end' (exclusive, <= len,
** > 0) and holds at least min(need, end) bytes before it; returns a
** pointer to byte end - *avail. Used for backward search. */
const char *tm_src_get_back(tm_src *s, size_t end, size_t need,
                            size_t *avail);

/* Each of these returns 1 (found / done), 0 (not found), or -1 (s->err). */

/* first occurrence of needle starting at or after 'from' and ending at
** or before 'to' (to <= len); *at gets its position */
int tm_src_find(tm_src *s, size_t from, size_t to, const char *nd, size_t nn,
                size_t *at);
/* last occurrence starting at >= from and ending at <= to */
int tm_src_rfind(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, size_t *at);
/* non-overlapping occurrences in [from, to); always 1 or -1 */
int tm_src_count(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, uint64_t *count);
/* The line that starts at 'pos' (< len): *line points at its bytes in a
** window, *n gets its length without the newline, *next the position
** after its newline (or len when the last line has none).  Lines of any
** length are returned whole (the buffer grows). */
int tm_src_line(tm_src *s, size_t pos, const char **line, size_t *n,
                size_t *next);
/* The field that starts at 'pos' (<= len) ending before the next
** separator 'sep' (sn >= 1): like tm_src_line; *next is the position
** after the separator, or len + 1 when the field ends at the end. */
int tm_src_field(tm_src *s, size_t pos, const char *sep, size_t sn,
                 const char **field, size_t *n, size_t *next);
/* The first line starting at or after 'from' (a line start) that
** contains needle (nn >= 1; a needle containing a newline never matches):
** *start gets the line's start, the rest as tm_src_line.  Finds the
** needle first, then the line around it, so lines that do not match are
** never walked one by one. */
int tm_src_grep(tm_src *s, size_t from, const char *nd, size_t nn,
                size_t *start, const char **line, size_t *n, size_t *next);
/* Release the buffer (if the caller did not take it back). */
void tm_src_done(tm_src *s);
/* }====== */

#endif
