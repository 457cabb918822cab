/*
** mapping.h -- the OS room: open, map, resize, sync, advise, and the
** per-thread guard that turns SIGBUS (a file truncated under a mapping)
** into an error.  No Lua here.  Functions return 0 or an errno value.
*/
#ifndef TOME_MAPPING_H
#define TOME_MAPPING_H

#include <setjmp.h>
#include <stddef.h>
#include <sys/types.h>

/* access modes */
enum { TM_MODE_R = 0,      /* read-only mapping of a file */
       TM_MODE_RW = 1,     /* "r+": MAP_SHARED, writes reach the file */
       TM_MODE_COW = 2 };  /* "c": MAP_PRIVATE, writable, file unchanged */

/* where the bytes live */
enum { TM_KIND_FILE = 1,   /* mmap of a regular file (or empty file) */
       TM_KIND_HEAP = 2,   /* malloc'd copy: pipes, /proc, tome.wrap */
       TM_KIND_EXTERN = 3  /* memory owned by an embedding program */ };

typedef struct tm_mapping {
  char *base;     /* first byte; NULL when nothing is mapped */
  size_t len;     /* bytes visible */
  size_t cap;     /* bytes mapped or allocated at base */
  int fd;         /* the open file for TM_KIND_FILE, else -1 */
  int kind;
  int mode;
  int writable;
} tm_mapping;

/* Open and map 'path' ("-" is standard input).  Files that cannot be
** mapped (pipes, character devices, /proc files) are read into memory. */
int tm_map_open(tm_mapping *m, const char *path, int mode);
/* Map an open descriptor (a regular file; anything else is read into
** memory as tm_map_open does).  Takes ownership of fd: it is closed on
** failure and by tm_map_close. */
int tm_map_fd(tm_mapping *m, int fd, int mode);
/* Take a malloc'd buffer of 'cap' bytes holding 'len' bytes as a heap
** map: read-only for TM_MODE_R, private and writable for TM_MODE_COW. */
void tm_map_adopt(tm_mapping *m, char *buf, size_t len, size_t cap,
                  int mode);
/* Create or truncate 'path' with 'size' zero bytes, mapped read-write.
** On failure an existing file is left as it was; *why is a sentence
** for what errno cannot say (a planted symbolic link, see replace.h), or
** NULL. */
int tm_map_create(tm_mapping *m, const char *path, size_t size,
                  const char **why);
/* A private, writable copy of 'len' bytes at 'data' (tome.wrap). */
int tm_map_heap(tm_mapping *m, const void *data, size_t len);
/* Memory the caller owns (tome_pushbuffer); never freed by us. */
void tm_map_extern(tm_mapping *m, const void *data, size_t len, int writable);
/* Grow or shrink; the base may move.  EFAULT: the file behind a "c" map
** was truncated, so its bytes could not be copied (nothing changed). */
int tm_map_resize(tm_mapping *m, size_t n);
/* msync [off, off+len) (rounded out to pages); no-op for memory maps.
** EFAULT: the file now ends before the range (its pages were lost). */
int tm_map_sync(tm_mapping *m, size_t off, size_t len);
/* madvise [off, off+len) with one of the hints below. */
enum { TM_ADV_NORMAL, TM_ADV_SEQUENTIAL, TM_ADV_RANDOM, TM_ADV_WILLNEED,
       TM_ADV_DONTNEED };
int tm_map_advise(tm_mapping *m, int hint, size_t off, size_t len);
/* Does the page cache hold [off, off+len) of a file map in large folios
** that the kernel maps whole (2 MiB at a time)?  Then scanning through the
** mapping is as fast as memory, faster than read(); when the file was
** freshly written it sits in 4 KiB pages and every page faults.  Touches
** one 2 MiB-aligned block in the middle of the range and asks /proc/self/smaps_rollup
** whether it came in as one PMD mapping.  1 yes, 0 no or unknown. */
int tm_map_largefolios(tm_mapping *m, size_t off, size_t len);
/* Unmap / free / close; idempotent. */
void tm_map_close(tm_mapping *m);
/* Current size of the file behind a file map (for reporting truncation);
** returns -1 when unknown. */
off_t tm_map_filesize(const tm_mapping *m);
/* Why touching the file map m at addr (NULL: unknown) faulted: 0 when the
** file now ends before it (truncated while mapped), else an errno for a
** file that still covers it: ENOSPC or EDQUOT (a writable map of a sparse
** file on a full file system: no page could be allocated), EIO. */
int tm_map_faulterr(const tm_mapping *m, const void *addr);

/* {====================================================================
** SIGBUS guard.  Usage, around code that touches mapped bytes and calls
** nothing that can raise a Lua error or otherwise leave the frame:
**
**   tm_guard g;
**   if (tm_guard_enter(&g)) { ...touch bytes...; tm_guard_leave(&g); }
**   else { ...a fault happened: g is already popped; report it... }
**
** Code under a guard that must raise (an engine's error, a replacement
** function that runs Lua code) leaves the guard first (tm_guard_leave;
** tm_guard_reset makes it the innermost again after Lua code returned):
** an error that unwinds past a live guard leaves it dead on the thread,
** and a later fault outside any guard (an embedder reading
** tome_checkbytes' pointer) would jump into a frame that is gone.  The
** pattern engine and tm_unpackx take a 'leave' hook for that.
**
** The guard is per thread: the handler jumps to the innermost guard of
** the thread that faulted.  Guards nest.
** ===================================================================== */
typedef struct tm_guard {
  sigjmp_buf jb;
  struct tm_guard *prev;
} tm_guard;

void tm_guard_install(void);   /* idempotent; thread-safe */
void tm_guard_push_(tm_guard *g);
void tm_guard_leave(tm_guard *g);
/* Make g (live, in a frame still running) the innermost guard again:
** after Lua code ran inside g's region (a gsub replacement function),
** an error caught by a pcall in there may have left a dead guard on top. */
void tm_guard_reset(tm_guard *g);
/* The innermost guard of this thread (NULL: none); for checks and tests. */
tm_guard *tm_guard_top(void);
/* The address of the last fault a guard of this thread caught, or NULL
** (reading it clears it: it describes one fault). */
void *tm_guard_faultaddr(void);
/* pushes g, then returns nonzero on the first pass and 0 after a fault */
#define tm_guard_enter(g) (tm_guard_push_(g), sigsetjmp((g)->jb, 0) == 0)
/* }==================================================================== */

#endif
