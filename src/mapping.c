/*
** mapping.c -- the OS room: open, mmap/munmap, the read-into-memory
** fallback, resize, msync, madvise, and the SIGBUS guard.  No Lua.
*/
#include "mapping.h"
#include "replace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static void init_empty(tm_mapping *m) {
  m->base = NULL;
  m->len = m->cap = 0;
  m->fd = -1;
  m->kind = 0;
  m->mode = TM_MODE_R;
  m->writable = 0;
}

static size_t page_size(void) {
  long ps = sysconf(_SC_PAGESIZE);
  return ps > 0 ? (size_t)ps : 4096;
}

/* {====== heap copies (pipes, /proc, tome.wrap) ====== */

/* The most a map may take in memory: the machine's memory and swap.  A
** larger request cannot succeed, so it is refused before the allocator
** sees it (a sanitizer's allocator would abort on it). */
static int heap_fits(size_t n) {
  struct sysinfo si;
  if (sysinfo(&si) != 0) return n <= SIZE_MAX / 2;
  uint64_t unit = si.mem_unit ? si.mem_unit : 1;
  uint64_t total = ((uint64_t)si.totalram + si.totalswap) * unit;
  return (uint64_t)n <= total;
}

/* Read everything from fd into a malloc'd buffer.  Used for what mmap
** cannot map: pipes, FIFOs, terminals, character devices, /proc files
** (which report size 0). */
static int read_all(tm_mapping *m, int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return ENOMEM;
  for (;;) {
    if (len == cap) {
      char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
      if (nb == NULL) { free(buf); return ENOMEM; }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      return e;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  m->base = buf;
  m->len = len;
  m->cap = cap;
  m->kind = TM_KIND_HEAP;
  return 0;
}

int tm_map_heap(tm_mapping *m, const void *data, size_t len) {
  init_empty(m);
  m->base = malloc(len > 0 ? len : 1);
  if (m->base == NULL) return ENOMEM;
  if (len > 0) memcpy(m->base, data, len);
  m->len = len;
  m->cap = len > 0 ? len : 1;
  m->kind = TM_KIND_HEAP;
  m->mode = TM_MODE_COW;
  m->writable = 1;
  return 0;
}

void tm_map_adopt(tm_mapping *m, char *buf, size_t len, size_t cap,
                  int mode) {
  init_empty(m);
  m->base = buf;
  m->len = len;
  m->cap = cap;
  m->kind = TM_KIND_HEAP;
  m->mode = mode == TM_MODE_COW ? TM_MODE_COW : TM_MODE_R;
  m->writable = mode == TM_MODE_COW;
}

void tm_map_extern(tm_mapping *m, const void *data, size_t len,
                   int writable) {
  init_empty(m);
  m->base = (char *)data;
  m->len = m->cap = len;
  m->kind = TM_KIND_EXTERN;
  m->mode = writable ? TM_MODE_RW : TM_MODE_R;
  m->writable = writable != 0;
}
/* }====== */

/* {====== files ====== */

static int map_file(tm_mapping *m, size_t len) {
  if (len == 0) {
    m->base = NULL;
    m->len = m->cap = 0;
    return 0;
  }
  int prot = PROT_READ | (m->mode != TM_MODE_R ? PROT_WRITE : 0);
  int flags = m->mode == TM_MODE_COW ? MAP_PRIVATE : MAP_SHARED;
  void *p = mmap(NULL, len, prot, flags, m->fd, 0);
  if (p == MAP_FAILED) return errno;
  m->base = p;
  m->len = m->cap = len;
  return 0;
}

/* Read what cannot be mapped; "r+" needs a mapping that reaches the file,
** so it takes only a truly empty regular file (kept open for resize). */
static int read_instead(tm_mapping *m, int fd, const struct stat *st,
                        int mode) {
  int e = read_all(m, fd);
  if (e == 0 && mode == TM_MODE_RW) {
    if (m->len > 0 || !S_ISREG(st->st_mode)) {
      free(m->base);
      init_empty(m);
      close(fd);
      return ENOTSUP;
    }
    free(m->base);
    m->base = NULL;
    m->cap = 0;
    m->fd = fd;
    m->kind = TM_KIND_FILE;
    return 0;
  }
  close(fd);
  return e;
}

int tm_map_fd(tm_mapping *m, int fd, int mode) {
  struct stat st;
  init_empty(m);
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return e; }
  if (S_ISDIR(st.st_mode)) { close(fd); return EISDIR; }
  m->mode = mode;
  m->writable = mode != TM_MODE_R;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if ((uintmax_t)st.st_size > SIZE_MAX) { close(fd); return EFBIG; }
    m->fd = fd;
    m->kind = TM_KIND_FILE;
    int e = map_file(m, (size_t)st.st_size);
    if (e == 0) return 0;
    m->fd = -1;
    m->kind = 0;
    /* sysfs and some other file systems say "regular" but refuse mmap */
    if (e != ENODEV && e != EINVAL && e != EACCES) { close(fd); return e; }
    if (lseek(fd, 0, SEEK_SET) != 0) { e = errno; close(fd); return e; }
  }
  /* Everything else is read: pipes, devices, and regular files that say
  ** size 0 but may have content anyway, as /proc files do. */
  return read_instead(m, fd, &st, mode);
}

int tm_map_open(tm_mapping *m, const char *path, int mode) {
  init_empty(m);
  if (strcmp(path, "-") == 0) {
    if (mode == TM_MODE_RW) return ESPIPE;  /* nothing to write back to */
    int fd = dup(STDIN_FILENO);
    if (fd < 0) return errno;
    /* standard input already read from (`read x; tome -n ...`): what is
    ** left of it, as cat or awk would see it */
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at > 0) {
      struct stat st;
      if (fstat(fd, &st) != 0) { int e = errno; close(fd); return e; }
      m->mode = mode;
      m->writable = mode != TM_MODE_R;
      return read_instead(m, fd, &st, mode);
    }
    return tm_map_fd(m, fd, mode);
  }
  if (mode == TM_MODE_RW) {
    /* as writers open theirs (no planted link; writes cannot reach a
    ** pipe or a device, and opening a FIFO for writing too would make us
    ** wait for our own end-of-file) */
    tm_replace r;
    const char *why;
    int e = tm_rep_openrw(&r, path, 0, &why);
    int fd = r.fd;
    r.fd = -1;
    tm_rep_discard(&r);
    return e != 0 ? e : tm_map_fd(m, fd, mode);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  return tm_map_fd(m, fd, mode);
}

/* Create or reuse 'path' as 'size' zero bytes.  The path is opened as
** writers open theirs (replace.h: no planted symbolic link is followed,
** only a regular file will do).  Everything that can fail (a size the
** file system refuses: EFBIG; an impossible mapping: ENOMEM) is tried
** before the old contents are thrown away, and a file this call created
** is removed again when it fails. */
int tm_map_create(tm_mapping *m, const char *path, size_t size,
                  const char **why) {
  tm_replace r;
  init_empty(m);
  *why = NULL;
  if (size > (uintmax_t)INT64_MAX) return EFBIG;
  int e = tm_rep_openrw(&r, path, 1, why);
  if (e != 0) return e;
  int fd = r.fd;
  off_t old = r.st.st_size;
  /* grow first: the file system says now whether it takes that size */
  if ((off_t)size > old && ftruncate(fd, (off_t)size) != 0) {
    e = errno;
    goto fail;
  }
  m->fd = fd;
  m->kind = TM_KIND_FILE;
  m->mode = TM_MODE_RW;
  m->writable = 1;
  if ((e = map_file(m, size)) != 0) {
    if ((off_t)size > old) (void)ftruncate(fd, old);
    goto fail;
  }
  r.fd = -1;   /* the map's now */
  tm_rep_discard(&r);
  /* only now: zero bytes, as a fresh file */
  if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)size) != 0) {
    e = errno;
    tm_map_close(m);
    return e;
  }
  return 0;
fail:
  tm_rep_uncreate(&r);
  tm_rep_discard(&r);   /* closes fd */
  init_empty(m);
  return e;
}

off_t tm_map_filesize(const tm_mapping *m) {
  struct stat st;
  if (m->kind != TM_KIND_FILE || m->fd < 0 || fstat(m->fd, &st) != 0)
    return -1;
  return st.st_size;
}

/* A fault on a file that still covers the address: the kernel could not
** give the page.  For a writable shared map that is almost always a page
** the file system could not allocate (a sparse file on a full disk, a
** quota); asking it to allocate that page (without changing the size)
** gives the kernel's own answer.  Otherwise the page could not be read. */
static int alloc_error(const tm_mapping *m, size_t off) {
  size_t ps = page_size();
  off &= ~(ps - 1);
  if (m->mode != TM_MODE_RW) return EIO;
  if (fallocate(m->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)ps) != 0) {
    if (errno != EOPNOTSUPP && errno != ENOSYS) return errno;
    struct statvfs vs;
    if (fstatvfs(m->fd, &vs) == 0 &&
        (geteuid() == 0 ? vs.f_bfree : vs.f_bavail) == 0)
      return ENOSPC;
  }
  return EIO;
}

int tm_map_faulterr(const tm_mapping *m, const void *addr) {
  off_t now = tm_map_filesize(m);
  if (now < 0 || m->len == 0) return 0;
  if (addr != NULL && m->base != NULL && (const char *)addr >= m->base &&
      (const char *)addr < m->base + m->len) {
    size_t off = (size_t)((const char *)addr - m->base);
    return (uintmax_t)now <= off ? 0 : alloc_error(m, off);
  }
  /* the address unknown: truncated if any byte of the map is gone */
  return (uintmax_t)now < m->len ? 0 : alloc_error(m, m->len - 1);
}
/* }====== */

/* {====== resize ====== */

/* A heap (or copy-on-write, once it grows) map lives in malloc'd memory. */
static int resize_heap(tm_mapping *m, size_t n) {
  if (!heap_fits(n)) return ENOMEM;
  char *nb = realloc(m->base, n > 0 ? n : 1);
  if (nb == NULL) return ENOMEM;
  if (n > m->len) memset(nb + m->len, 0, n - m->len);
  m->base = nb;
  m->len = n;
  m->cap = n > 0 ? n : 1;
  return 0;
}

/* Change the mapping of a file to n bytes (the file already has them). */
static int remap(tm_mapping *m, size_t n) {
  if (n == 0) {
    if (m->base != NULL) munmap(m->base, m->cap);
    m->base = NULL;
    m->len = m->cap = 0;
    return 0;
  }
  if (m->base == NULL) return map_file(m, n);
  void *p = mremap(m->base, m->cap, n, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return errno;
  m->base = p;
  m->len = m->cap = n;
  return 0;
}

/* Growing a "c" map cannot extend the file, so its bytes move to memory:
** a private copy that no longer depends on the file. */
static int cow_to_heap(tm_mapping *m, size_t n) {
  char *nb = heap_fits(n) ? malloc(n > 0 ? n : 1) : NULL;
  if (nb == NULL) return ENOMEM;
  size_t keep = m->len < n ? m->len : n;
  if (keep > 0) {
    /* the file may have shrunk under the private mapping */
    tm_guard g;
    if (!tm_guard_enter(&g)) {
      free(nb);
      return EFAULT;
    }
    memcpy(nb, m->base, keep);
    tm_guard_leave(&g);
  }
  if (n > keep) memset(nb + keep, 0, n - keep);
  if (m->base != NULL) munmap(m->base, m->cap);
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
  m->base = nb;
  m->len = n;
  m->cap = n > 0 ? n : 1;
  m->kind = TM_KIND_HEAP;
  return 0;
}

int tm_map_resize(tm_mapping *m, size_t n) {
  if (!m->writable) return EACCES;
  if (n == m->len) return 0;
  switch (m->kind) {
    case TM_KIND_HEAP: return resize_heap(m, n);
    case TM_KIND_EXTERN: return ENOTSUP;
    case TM_KIND_FILE:
      if (m->mode == TM_MODE_COW) {
        if (n > m->len) return cow_to_heap(m, n);
        return remap(m, n);
      }
      if (n > (uintmax_t)INT64_MAX) return EFBIG;
      /* shrink the mapping before the file, grow the file before it */
      if (n < m->len) {
        int e = remap(m, n);
        if (e != 0) return e;
        return ftruncate(m->fd, (off_t)n) == 0 ? 0 : errno;
      }
      if (ftruncate(m->fd, (off_t)n) != 0) return errno;
      return remap(m, n);
    default: return EBADF;
  }
}
/* }====== */

/* {====== sync, advise, close ====== */

/* Round [off, off+len) out to whole pages inside the mapping. */
static void page_range(const tm_mapping *m, size_t off, size_t len,
                       char **start, size_t *n) {
  size_t ps = page_size();
  if (off > m->len) off = m->len;
  if (len > m->len - off) len = m->len - off;
  size_t a = off & ~(ps - 1);
  *start = m->base + a;
  *n = off + len - a;
}

int tm_map_sync(tm_mapping *m, size_t off, size_t len) {
  if (m->kind != TM_KIND_FILE || m->base == NULL || m->mode != TM_MODE_RW)
    return 0;
  char *p;
  size_t n;
  page_range(m, off, len, &p, &n);
  if (n == 0) return 0;
  if (msync(p, n, MS_SYNC) != 0) return errno;
  /* msync says nothing of pages the file lost: if it now ends before the
  ** range, what was written there is gone, and that is no success */
  off_t now = tm_map_filesize(m);
  size_t end = (size_t)(p - m->base) + n;
  if (end > m->len) end = m->len;
  if (now >= 0 && (uintmax_t)now < end) return EFAULT;
  return 0;
}

int tm_map_advise(tm_mapping *m, int hint, size_t off, size_t len) {
  static const int advice[] = {MADV_NORMAL, MADV_SEQUENTIAL, MADV_RANDOM,
                               MADV_WILLNEED, MADV_DONTNEED};
  if (hint < 0 || hint > TM_ADV_DONTNEED) return EINVAL;
  /* only file mappings take advice; for memory it means nothing (and
  ** DONTNEED would throw away private data) */
  if (m->kind != TM_KIND_FILE || m->base == NULL) return 0;
  /* DONTNEED on a private mapping drops our changes: refuse to lose data */
  if (hint == TM_ADV_DONTNEED && m->mode == TM_MODE_COW) return 0;
  char *p;
  size_t n;
  page_range(m, off, len, &p, &n);
  if (n == 0) return 0;
  return madvise(p, n, advice[hint]) == 0 ? 0 : errno;
}

/* FilePmdMapped of this process in kB, or -1 */
static long pmd_mapped_kb(void) {
  char buf[4096];
  long kb = -1;
  int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char *p = strstr(buf, "FilePmdMapped:");
  if (p != NULL) kb = strtol(p + sizeof "FilePmdMapped:" - 1, NULL, 10);
  return kb;
}

#define PMD_SIZE_ ((uintptr_t)2 << 20)

int tm_map_largefolios(tm_mapping *m, size_t off, size_t len) {
  if (m->kind != TM_KIND_FILE || m->base == NULL || m->mode == TM_MODE_COW
      || off > m->len || len > m->len - off)
    return 0;
  /* a block in the middle: readahead starts a file with small folios
  ** and only grows them as it goes */
  uintptr_t a = ((uintptr_t)(m->base + off + len / 2)) & ~(PMD_SIZE_ - 1);
  if (a < (uintptr_t)(m->base + off)) return 0;
  if (a + PMD_SIZE_ > (uintptr_t)(m->base + off + len)) return 0;
  /* unmap the block first, so the touch below maps it anew */
  if (madvise((void *)a, PMD_SIZE_, MADV_DONTNEED) != 0) return 0;
  long before = pmd_mapped_kb();
  if (before < 0) return 0;
  tm_guard g;
  if (!tm_guard_enter(&g)) {  /* truncated: let the scan say so */
    (void)tm_guard_faultaddr();
    return 0;
  }
  (void)*(volatile const char *)a;
  tm_guard_leave(&g);
  long after = pmd_mapped_kb();
  madvise((void *)a, PMD_SIZE_, MADV_DONTNEED);
  return after - before >= (long)(PMD_SIZE_ >> 10);
}

void tm_map_close(tm_mapping *m) {
  switch (m->kind) {
    case TM_KIND_FILE:
      if (m->base != NULL) munmap(m->base, m->cap);
      break;
    case TM_KIND_HEAP:
      free(m->base);
      break;
    default: break;
  }
  if (m->fd >= 0) close(m->fd);
  init_empty(m);
}
/* }====== */

/* {====== SIGBUS guard ====== */

/* The innermost guard of this thread.  Per thread by design: a fault is
** synchronous, so the handler runs on the thread that touched the page
** and must jump into that thread's frame. */
static _Thread_local tm_guard *guard_top;
/* where this thread's last caught fault was, for telling its cause */
static _Thread_local void *fault_addr;

static void on_sigbus(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  tm_guard *g = guard_top;
  if (g != NULL) {
    guard_top = g->prev;
    fault_addr = info != NULL ? info->si_addr : NULL;
    /* SA_NODEFER keeps SIGBUS unblocked, so jumping without restoring
    ** the signal mask (sigsetjmp(.., 0), cheap) is safe. */
    siglongjmp(g->jb, 1);
  }
  /* a fault outside any guard: die of it as if we were not here */
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_once(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
}

void tm_guard_install(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;  /* set-once, not state */
  pthread_once(&once, install_once);
}

void tm_guard_push_(tm_guard *g) {
  g->prev = guard_top;
  guard_top = g;
}

void tm_guard_reset(tm_guard *g) {
  guard_top = g;
}

void tm_guard_leave(tm_guard *g) {
  guard_top = g->prev;
}

tm_guard *tm_guard_top(void) {
  return guard_top;
}

void *tm_guard_faultaddr(void) {
  void *a = fault_addr;
  fault_addr = NULL;
  return a;
}
/* }====== */
