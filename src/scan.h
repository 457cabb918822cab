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
**
** Buffer ownership: a buffer handed to tm_src_init must come from malloc;
** from then on the cursor owns it (it may realloc it, so s->buf and
** s->cap change) and tm_src_done frees s->buf and sets it to NULL.  To
** keep the buffer for another cursor, take s->buf and s->cap and set
** s->buf = NULL before calling tm_src_done.
**
** Pointers returned by the cursor (windows, lines, fields) stay valid
** only until the next call on the same cursor.  Over memory they point
** into the range itself and nothing is copied.
*/
#ifndef TOME_SCAN_H
#define TOME_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* {====== memory ====== */

/* number of bytes equal to (unsigned char)c in p[0..n) (AVX2 chosen at
** run time, else word-at-a-time) */
size_t tm_count_byte(const char *p, size_t n, int c);
/* first occurrence of needle in h[0..hn), or NULL (memchr for nn == 1;
** an AVX2 filter falling back to memmem otherwise).  nn == 0 gives h. */
const char *tm_find(const char *h, size_t hn, const char *nd, size_t nn);
/* last occurrence of needle lying wholly in h[0..hn), or NULL (memrchr
** for nn == 1).  nn == 0 gives h + hn.  Worst case O(hn * nn), linear on
** anything but pathological repetitive input. */
const char *tm_rfind(const char *h, size_t hn, const char *nd, size_t nn);
/* number of non-overlapping occurrences scanning left to right (nn >= 1;
** nn == 0 gives 0) */
size_t tm_count(const char *h, size_t hn, const char *nd, size_t nn);
/* One field of a record: [start, start + len) inside it. */
typedef struct tm_span {
  size_t start, len;
} tm_span;

/* Split the record p[0..n) into fields, storing at most 'max' of them in
** out.  Returns how many fields there are when 'all' is set (the split
** then runs to the end of the record), else stops after max fields and
** returns at most max.  With sep == NULL the fields are runs of
** non-blanks, as awk splits on its default FS (blanks at both ends
** ignored, an empty record has no field); otherwise they lie between
** plain separators (sn >= 1), so k separators give k + 1 fields. */
size_t tm_split(const char *p, size_t n, const char *sep, size_t sn,
                tm_span *out, size_t max, int all);
/* Fields that tm_column looks at for a negative column (as v:fields). */
#define TM_SPLIT_MAX 1024
/* Column col of the record p[0..n), split as tm_split splits it: col > 0
** counts from the first field, col < 0 from the last (among the first
** TM_SPLIT_MAX fields, as v:fields does).  1 with the field at
** [*start, *start + *len), or 0 when the record has no such column. */
int tm_column(const char *p, size_t n, const char *sep, size_t sn, int col,
              size_t *start, size_t *len);
/* }====== */

/* {====== cursor over a range ====== */

#define TM_ETRUNC (-1)  /* the file ended before the range did */

typedef struct tm_src {
  const char *mem;   /* range in memory (may be NULL when fd >= 0 or len 0) */
  int fd;            /* >= 0: read the range with pread from offset foff */
  off_t foff;        /* file offset of range position 0 */
  size_t len;        /* length of the range */
  char *buf;         /* pread buffer, malloc'd, owned by the cursor (see
                        above); NULL until the first read */
  size_t cap;        /* its size: the window size */
  size_t wpos, wlen; /* buffered window: range [wpos, wpos + wlen) */
  int err;           /* 0, an errno, or TM_ETRUNC after a failure; set by
                        the failing call, never cleared by the cursor */
  /* memory walked in steps (see tm_src_steps): 0 for one whole window */
  size_t step;
  size_t released;   /* range bytes before this were handed to release */
  void (*release)(struct tm_src *s, size_t from, size_t to);
  void *ud;          /* for release */
  /* instead of pread: read range bytes [off - foff, ...) from elsewhere
  ** (a decompressor); returns 1, or 0 with s->err set (TM_EREADAT: the
  ** owner of rd knows why).  rdfree(rd) runs in tm_src_done. */
  int (*readat)(struct tm_src *s, char *dst, size_t n, uint64_t off);
  void *rd;
  void (*rdfree)(void *rd);
} tm_src;

#define TM_EREADAT (-2)  /* s->readat failed */

/* Block size used for pread windows (and the initial buffer size when
** none is handed in). */
#define TM_SRC_BLOCK ((size_t)1 << 18)

/* Set up a cursor. fd < 0 means memory (mem[0..len), never copied).
** buf/cap may be NULL/0 (TM_SRC_BLOCK is allocated on the first read). */
void tm_src_init(tm_src *s, const char *mem, int fd, off_t foff, size_t len,
                 char *buf, size_t cap);
/* Pointer to range byte 'pos' (<= len) such that at least
** min(need, len - pos) bytes are contiguous there; *avail gets how many
** are (at least that, possibly up to the end of the window; over memory,
** len - pos).  pos == len gives a non-NULL pointer with *avail 0.
** A request inside the current window reads nothing; otherwise a new
** window [pos, pos + min(cap, len - pos)) is loaded, keeping the bytes it
** shares with the old one, and the buffer doubles first if need > cap.
** Returns NULL and sets s->err on a read error (errno; EINTR is retried),
** when the file ends before the window does (TM_ETRUNC: the window may
** reach past the bytes asked for, up to cap), when memory runs out
** (ENOMEM) or when pos > len (EINVAL). */
const char *tm_src_get(tm_src *s, size_t pos, size_t need, size_t *avail);
/* Like tm_src_get, but the window ends at 'end' (exclusive, <= len)
** and holds at least min(need, end) bytes before it; returns a pointer to
** byte end - *avail (over memory: *avail = end, the pointer is mem).
** end == 0 gives a non-NULL pointer with *avail 0.  Used for backward
** search; a new window is [end - min(cap, end), end) (over the mapping in
** steps: from the start of the step holding end - need, releasing the
** steps above end that the previous window reached). */
const char *tm_src_get_back(tm_src *s, size_t end, size_t need,
                            size_t *avail);

/* Each of these returns 1 (found / done), 0 (not found), or -1 (s->err).
** 'to' beyond len is taken as len; from > to is an empty range.  They
** carry nn - 1 bytes from one window to the next, so matches straddling
** window boundaries are found; over memory they are one call to the
** memory functions above. */

/* first occurrence of needle starting at or after 'from' and ending at
** or before 'to'; *at gets its position (nn == 0: *at = from) */
int tm_src_find(tm_src *s, size_t from, size_t to, const char *nd, size_t nn,
                size_t *at);
/* last occurrence starting at >= from and ending at <= to (nn == 0:
** *at = to) */
int tm_src_rfind(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, size_t *at);
/* non-overlapping occurrences in [from, to), left to right; 1 or -1
** (nn == 0 is EINVAL).  A 1-byte needle is tm_count_byte per window. */
int tm_src_count(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, uint64_t *count);
/* The line that starts at 'pos': *line points at its bytes in a
** window, *n gets its length without the newline ('\r' is kept), *next
** the position after its newline (or len when the last line has none).
** Lines of any length are returned whole (the buffer grows), and the
** newline, when there is one, is in the window too (*line)[*n].  Returns
** 0 when pos >= len (no more lines). */
int tm_src_line(tm_src *s, size_t pos, const char **line, size_t *n,
                size_t *next);
/* The field that starts at 'pos' (<= len) ending before the next
** separator 'sep' (sn >= 1, else EINVAL): like tm_src_line; *next is the
** position after the separator, or len + 1 when the field ends at the
** end; the separator, when there is one, follows the field in the
** window.  pos == len gives the empty last field; pos > len returns 0, so
** n separators give n + 1 fields. */
int tm_src_field(tm_src *s, size_t pos, const char *sep, size_t sn,
                 const char **field, size_t *n, size_t *next);
/* The first line starting at or after 'from' (a line start) that
** contains needle (nn >= 1; a needle containing a newline never matches):
** *start gets the line's start, the rest as tm_src_line.  Finds the
** needle first, then the line around it (its start is the last newline
** before the match, but not before 'from'), so lines that do not match
** are never walked one by one.  nn == 0 matches the line at 'from'.
** Returns 0 when from >= len. */
int tm_src_grep(tm_src *s, size_t from, const char *nd, size_t nn,
                size_t *start, const char **line, size_t *n, size_t *next);
/* Free s->buf (unless the caller took it back and set it to NULL) and
** set it to NULL; the cursor can then be set up again. */
void tm_src_done(tm_src *s);

/* Walk a memory range in windows of 'step' bytes (no copy) and call
** release(s, from, to) for every whole step the walk has left behind, so
** the caller can drop those pages from its resident set while a long scan
** runs.  Searches carry matches across steps as they do across pread
** windows.  Backward searches see the whole range. */
void tm_src_steps(tm_src *s, size_t step,
                  void (*release)(tm_src *s, size_t from, size_t to),
                  void *ud);
/* The walk is over: release what is left (tm_src_done does it too). */
void tm_src_finish(tm_src *s);
/* }====== */

#endif
