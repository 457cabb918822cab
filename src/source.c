/*
** source.c -- where bytes come from: format detection, the streaming
** reader (decompressing gzip, zstd, xz and bzip2 with Debian's
** libraries), spilling streams into unlinked temporary files, and maps
** of any source.  No Lua.  See source.h for the contracts.
*/
#include "source.h"
#include "scan.h"
#include "replace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>


/* {====================================================================
** Formats
** ===================================================================== */

typedef struct magic {
  int fmt;
  size_t n;
  const unsigned char *b;
} magic;

/* bzip2: "BZh", a level digit, then the magic of a block (pi) or of the
** end of the stream (sqrt(pi)): ten bytes, so that text starting with
** "BZh9" is not taken for bzip2. */
static int sniff_bzip2(const unsigned char *p, size_t n) {
  static const unsigned char blk[] = {0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
  static const unsigned char eos[] = {0x17, 0x72, 0x45, 0x38, 0x50, 0x90};
  size_t k;
  if (n > 0 && p[0] != 'B') return 0;
  if (n > 1 && p[1] != 'Z') return 0;
  if (n > 2 && p[2] != 'h') return 0;
  if (n > 3 && (p[3] < '1' || p[3] > '9')) return 0;
  for (k = 4; k < n && k < 10; k++)
    if (p[k] != blk[k - 4]) break;
  if (k < n && k < 10) {
    for (k = 4; k < n && k < 10; k++)
      if (p[k] != eos[k - 4]) return 0;
  }
  return n >= 10 ? 1 : -1;
}

/* zstd: a frame, or a skippable frame (0x184D2A50..5F, little-endian) */
static int sniff_zstd(const unsigned char *p, size_t n) {
  static const unsigned char frame[] = {0x28, 0xb5, 0x2f, 0xfd};
  static const unsigned char skip[] = {0x50, 0x2a, 0x4d, 0x18};
  int f = 1, s = 1;
  for (size_t k = 0; k < n && k < 4; k++) {
    if (p[k] != frame[k]) f = 0;
    if ((k == 0 ? (p[k] & 0xf0) : p[k]) != skip[k]) s = 0;
  }
  if (!f && !s) return 0;
  return n >= 4 ? 1 : -1;
}

static int sniff_bytes(const unsigned char *p, size_t n,
                       const unsigned char *m, size_t mn) {
  for (size_t k = 0; k < n && k < mn; k++)
    if (p[k] != m[k]) return 0;
  return n >= mn ? 1 : -1;
}

int tm_format_sniff(const void *data, size_t n) {
  static const unsigned char gz[] = {0x1f, 0x8b};
  static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
  const unsigned char *p = (const unsigned char *)data;
  int undecided = 0, r;
  if ((r = sniff_bytes(p, n, gz, sizeof gz)) > 0) return TM_FMT_GZIP;
  undecided |= r < 0;
  if ((r = sniff_zstd(p, n)) > 0) return TM_FMT_ZSTD;
  undecided |= r < 0;
  if ((r = sniff_bytes(p, n, xz, sizeof xz)) > 0) return TM_FMT_XZ;
  undecided |= r < 0;
  if ((r = sniff_bzip2(p, n)) > 0) return TM_FMT_BZIP2;
  undecided |= r < 0;
  return undecided ? -1 : TM_FMT_PLAIN;
}

const char *tm_format_name(int fmt) {
  static const char *const names[] = {"plain", "gzip", "zstd", "xz",
                                      "bzip2"};
  return fmt >= 0 && fmt <= TM_FMT_BZIP2 ? names[fmt] : "plain";
}
/* }==================================================================== */

/* {====================================================================
** Decoders: one interface over the four libraries
**
** dec_step consumes input from *in (advancing it) and writes at most
** 'room' bytes at 'out'.  It returns D_OK (some progress, or none without
** more input), D_END (a gzip member, bzip2 stream or zstd frame ended;
** the input may end here) or D_ERR (d->why says what the library said;
** d->err is EILSEQ or ENOMEM).
** ===================================================================== */

enum { D_OK, D_END, D_ERR };

typedef struct dec {
  int fmt;
  int live;
  int err;
  const char *why;
  union {
    z_stream z;
    ZSTD_DCtx *zd;
    lzma_stream x;
    bz_stream b;
  } u;
} dec;

/* Memory the xz decoder may use for threads; beyond it, one thread. */
#define XZ_THREAD_MEMORY ((uint64_t)64 << 20)

static int ncpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (n > 64 ? 64 : (int)n) : 1;
}

static int xz_init(dec *d, int threads) {
  lzma_stream init = LZMA_STREAM_INIT;
  lzma_ret rc;
  d->u.x = init;
  if (threads > 1) {
    lzma_mt mt;
    memset(&mt, 0, sizeof mt);
    mt.flags = LZMA_CONCATENATED;
    mt.threads = (uint32_t)threads;
    mt.memlimit_threading = XZ_THREAD_MEMORY;
    mt.memlimit_stop = UINT64_MAX;
    rc = lzma_stream_decoder_mt(&d->u.x, &mt);
  } else {
    rc = lzma_stream_decoder(&d->u.x, UINT64_MAX, LZMA_CONCATENATED);
  }
  return rc == LZMA_OK ? 0 : ENOMEM;
}

static int dec_init(dec *d, int fmt, int threads) {
  memset(d, 0, sizeof *d);
  d->fmt = fmt;
  switch (fmt) {
    case TM_FMT_GZIP:
      if (inflateInit2(&d->u.z, 15 + 16) != Z_OK) return ENOMEM;
      break;
    case TM_FMT_ZSTD:
      d->u.zd = ZSTD_createDCtx();
      if (d->u.zd == NULL) return ENOMEM;
      break;
    case TM_FMT_XZ:
      if (xz_init(d, threads) != 0) return ENOMEM;
      break;
    case TM_FMT_BZIP2:
      if (BZ2_bzDecompressInit(&d->u.b, 0, 0) != BZ_OK) return ENOMEM;
      break;
    default: return EINVAL;
  }
  d->live = 1;
  return 0;
}

static void dec_end(dec *d) {
  if (!d->live) return;
  switch (d->fmt) {
    case TM_FMT_GZIP: inflateEnd(&d->u.z); break;
    case TM_FMT_ZSTD: ZSTD_freeDCtx(d->u.zd); break;
    case TM_FMT_XZ: lzma_end(&d->u.x); break;
    case TM_FMT_BZIP2: BZ2_bzDecompressEnd(&d->u.b); break;
    default: break;
  }
  d->live = 0;
}

/* Ready for the next gzip member or bzip2 stream. */
static int dec_reset(dec *d) {
  if (d->fmt == TM_FMT_GZIP)
    return inflateReset(&d->u.z) == Z_OK ? 0 : ENOMEM;
  if (d->fmt == TM_FMT_BZIP2) {
    BZ2_bzDecompressEnd(&d->u.b);
    memset(&d->u.b, 0, sizeof d->u.b);
    if (BZ2_bzDecompressInit(&d->u.b, 0, 0) != BZ_OK) {
      d->live = 0;
      return ENOMEM;
    }
  }
  return 0;
}

static int dec_fail(dec *d, int err, const char *why) {
  d->err = err;
  d->why = why;
  return D_ERR;
}

/* the libraries take unsigned int sizes */
#define UCAP(n) ((n) > UINT_MAX ? UINT_MAX : (unsigned)(n))

static int step_gzip(dec *d, const unsigned char **in, size_t *inn,
                     unsigned char *out, size_t room, size_t *made) {
  z_stream *z = &d->u.z;
  z->next_in = (unsigned char *)*in;
  z->avail_in = UCAP(*inn);
  z->next_out = out;
  z->avail_out = UCAP(room);
  int rc = inflate(z, Z_NO_FLUSH);
  size_t used = (size_t)(z->next_in - *in);
  *in += used;
  *inn -= used;
  *made = (size_t)(z->next_out - out);
  switch (rc) {
    case Z_OK: case Z_BUF_ERROR: return D_OK;
    case Z_STREAM_END: return D_END;
    case Z_MEM_ERROR: return dec_fail(d, ENOMEM, "out of memory");
    case Z_NEED_DICT: return dec_fail(d, EILSEQ, "needs a dictionary");
    default: return dec_fail(d, EILSEQ, z->msg ? z->msg : "corrupt data");
  }
}

static int step_zstd(dec *d, const unsigned char **in, size_t *inn,
                     unsigned char *out, size_t room, size_t *made) {
  ZSTD_inBuffer ib = {*in, *inn, 0};
  ZSTD_outBuffer ob = {out, room, 0};
  size_t rc = ZSTD_decompressStream(d->u.zd, &ob, &ib);
  *in += ib.pos;
  *inn -= ib.pos;
  *made = ob.pos;
  if (ZSTD_isError(rc)) {
    if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation)
      return dec_fail(d, ENOMEM, "out of memory");
    if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge)
      return dec_fail(d, EILSEQ, "the frame needs a window larger than "
                      "128 MiB (zstd --long=31 data)");
    return dec_fail(d, EILSEQ, ZSTD_getErrorName(rc));
  }
  return rc == 0 ? D_END : D_OK;
}

static int step_xz(dec *d, const unsigned char **in, size_t *inn,
                   unsigned char *out, size_t room, size_t *made, int eof) {
  lzma_stream *x = &d->u.x;
  x->next_in = *in;
  x->avail_in = *inn;
  x->next_out = out;
  x->avail_out = room;
  lzma_ret rc = lzma_code(x, eof ? LZMA_FINISH : LZMA_RUN);
  size_t used = (size_t)(x->next_in - *in);
  *in += used;
  *inn -= used;
  *made = (size_t)(x->next_out - out);
  switch (rc) {
    case LZMA_OK: return D_OK;
    case LZMA_STREAM_END: return D_END;
    case LZMA_BUF_ERROR: return D_OK;   /* no progress: the caller decides */
    case LZMA_MEM_ERROR: case LZMA_MEMLIMIT_ERROR:
      return dec_fail(d, ENOMEM, "out of memory");
    case LZMA_FORMAT_ERROR: return dec_fail(d, EILSEQ, "not in xz format");
    case LZMA_OPTIONS_ERROR:
      return dec_fail(d, EILSEQ, "unsupported xz options");
    default: return dec_fail(d, EILSEQ, "corrupt data");
  }
}

static int step_bzip2(dec *d, const unsigned char **in, size_t *inn,
                      unsigned char *out, size_t room, size_t *made) {
  bz_stream *b = &d->u.b;
  b->next_in = (char *)*in;
  b->avail_in = UCAP(*inn);
  b->next_out = (char *)out;
  b->avail_out = UCAP(room);
  int rc = BZ2_bzDecompress(b);
  size_t used = (size_t)((const unsigned char *)b->next_in - *in);
  *in += used;
  *inn -= used;
  *made = (size_t)((unsigned char *)b->next_out - out);
  switch (rc) {
    case BZ_OK: return D_OK;
    case BZ_STREAM_END: return D_END;
    case BZ_MEM_ERROR: return dec_fail(d, ENOMEM, "out of memory");
    case BZ_DATA_ERROR_MAGIC: return dec_fail(d, EILSEQ, "bad magic");
    default: return dec_fail(d, EILSEQ, "corrupt data");
  }
}

static int dec_step(dec *d, const unsigned char **in, size_t *inn,
                    unsigned char *out, size_t room, size_t *made, int eof) {
  switch (d->fmt) {
    case TM_FMT_GZIP: return step_gzip(d, in, inn, out, room, made);
    case TM_FMT_ZSTD: return step_zstd(d, in, inn, out, room, made);
    case TM_FMT_XZ: return step_xz(d, in, inn, out, room, made, eof);
    default: return step_bzip2(d, in, inn, out, room, made);
  }
}
/* }==================================================================== */

/* {====================================================================
** The streaming reader
** ===================================================================== */

#define IN_SIZE  ((size_t)256 << 10)
#define OUT_SIZE ((size_t)1 << 20)

enum { ST_SNIFF, ST_PLAIN, ST_IN, ST_AFTER, ST_DONE };

struct tm_reader {
  int fd, own;
  unsigned flags;
  char *name;
  int state;
  int fmt;
  int threads;             /* for xz */
  int eof;                 /* the descriptor said end of file */
  /* compressed input: in[inpos, inlen), in[0] at offset inbase */
  unsigned char *in;
  size_t inpos, inlen;
  uint64_t inbase;
  dec d;
  int stuck;               /* steps at the end of input without progress */
  /* bytes ready: buf[beg, end) of cap */
  char *buf;
  size_t beg, end, cap;
  size_t scanned;          /* record search resumes at beg + scanned */
  uint64_t told;           /* bytes handed out */
  uint64_t consumed;       /* bytes read from fd */
  int err, intr;
  char *msg;
};

static int rd_seterr(tm_reader *r, int err, const char *fmt, ...) {
  char detail[256];
  va_list ap;
  if (fmt == NULL) {
    snprintf(detail, sizeof detail, "%s", strerror(err));
  } else {
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
  }
  size_t n = strlen(r->name) + strlen(detail) + 3;
  free(r->msg);
  r->msg = malloc(n);
  if (r->msg != NULL) snprintf(r->msg, n, "%s: %s", r->name, detail);
  r->err = err;
  r->state = ST_DONE;
  return -1;
}

int tm_reader_fdopen(tm_reader **out, int fd, int own, const char *name,
                     unsigned flags) {
  tm_reader *r = calloc(1, sizeof *r);
  *out = NULL;
  if (r == NULL) return ENOMEM;
  r->fd = fd;
  r->own = own;
  r->flags = flags;
  r->threads = ncpus();
  r->name = strdup(name != NULL ? name : "?");
  r->cap = OUT_SIZE;
  r->buf = malloc(r->cap);
  if (r->name == NULL || r->buf == NULL) {
    r->own = 0;                     /* the caller keeps fd on failure */
    tm_reader_close(r);
    return ENOMEM;
  }
  r->state = ST_SNIFF;
  *out = r;
  return 0;
}

int tm_reader_open(tm_reader **out, const char *path, unsigned flags) {
  int fd, own = 1;
  struct stat st;
  *out = NULL;
  if (strcmp(path, "-") == 0) {
    fd = STDIN_FILENO;
    own = 0;
  } else {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
  }
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (own) close(fd);
    return EISDIR;
  }
  int e = tm_reader_fdopen(out, fd, own, path, flags);
  if (e != 0 && own) close(fd);
  return e;
}

void tm_reader_close(tm_reader *r) {
  if (r == NULL) return;
  dec_end(&r->d);
  if (r->own && r->fd >= 0) close(r->fd);
  free(r->in);
  free(r->buf);
  free(r->name);
  free(r->msg);
  free(r);
}

int tm_reader_errno(const tm_reader *r) {
  return r->err ? r->err : r->intr ? EINTR : 0;
}

const char *tm_reader_error(const tm_reader *r) {
  if (r->err == 0 && r->intr) return "interrupted";
  if (r->err == 0) return NULL;
  return r->msg != NULL ? r->msg : strerror(r->err);
}

int tm_reader_format(const tm_reader *r) { return r->fmt; }
uint64_t tm_reader_tell(const tm_reader *r) { return r->told; }
uint64_t tm_reader_consumed(const tm_reader *r) { return r->consumed; }

/* read(2) once into [p, p+n): > 0, 0 at the end, -1 (EINTR is not
** sticky: r->intr says so) */
static ssize_t rd_sys(tm_reader *r, void *p, size_t n) {
  ssize_t got = (r->flags & TM_READ_PREAD)
                ? pread(r->fd, p, n, (off_t)r->consumed) : read(r->fd, p, n);
  if (got < 0) {
    if (errno == EINTR) {
      r->intr = 1;
      return -1;
    }
    return rd_seterr(r, errno, NULL);
  }
  if (got == 0) r->eof = 1;
  r->consumed += (uint64_t)got;
  return got;
}

/* Make room at buf's end: move the pending bytes to the front, or grow
** when they fill the buffer (a record longer than the buffer). */
static int rd_room(tm_reader *r) {
  if (r->beg > 0 && (r->end == r->cap || r->beg >= r->cap / 2)) {
    memmove(r->buf, r->buf + r->beg, r->end - r->beg);
    r->end -= r->beg;
    r->beg = 0;
  }
  if (r->end < r->cap) return 0;
  if (r->cap > SIZE_MAX / 2) return rd_seterr(r, ENOMEM, NULL);
  char *nb = realloc(r->buf, r->cap * 2);
  if (nb == NULL) return rd_seterr(r, ENOMEM, NULL);
  r->buf = nb;
  r->cap *= 2;
  return 0;
}

/* Refill the compressed input buffer; -1 on error or EINTR. */
static int rd_input(tm_reader *r) {
  if (r->inpos > 0) {
    memmove(r->in, r->in + r->inpos, r->inlen - r->inpos);
    r->inbase += r->inpos;
    r->inlen -= r->inpos;
    r->inpos = 0;
  }
  if (r->inlen == IN_SIZE || r->eof) return 0;
  ssize_t got = rd_sys(r, r->in + r->inlen, IN_SIZE - r->inlen);
  if (got < 0) return -1;
  r->inlen += (size_t)got;
  return 0;
}

/* The first bytes decide the format.  They are read into buf; for a
** compressed stream they move to the input buffer. */
static int rd_sniff(tm_reader *r) {
  int fmt;
  for (;;) {
    size_t have = r->end - r->beg;
    fmt = (r->flags & TM_READ_RAW) ? TM_FMT_PLAIN
          : tm_format_sniff(r->buf + r->beg, have);
    if (fmt >= 0) break;
    if (r->eof) { fmt = TM_FMT_PLAIN; break; }
    ssize_t got = rd_sys(r, r->buf + r->end, TM_SNIFF_MAX - have);
    if (got < 0) return -1;
    r->end += (size_t)got;
  }
  r->fmt = fmt;
  if (fmt == TM_FMT_PLAIN) {
    r->state = ST_PLAIN;
    return 0;
  }
  r->in = malloc(IN_SIZE);
  if (r->in == NULL) return rd_seterr(r, ENOMEM, NULL);
  memcpy(r->in, r->buf + r->beg, r->end - r->beg);
  r->inlen = r->end - r->beg;
  r->beg = r->end = 0;
  int e = dec_init(&r->d, fmt, r->threads);
  if (e != 0) return rd_seterr(r, e, NULL);
  r->state = ST_IN;
  return 0;
}

static int rd_corrupt(tm_reader *r) {
  uint64_t at = r->inbase + r->inpos;
  if (r->d.err != EILSEQ) return rd_seterr(r, r->d.err, NULL);
  return rd_seterr(r, EILSEQ, "corrupt %s data at byte offset %llu: %s",
                   tm_format_name(r->fmt), (unsigned long long)at, r->d.why);
}

/* After a gzip member or a bzip2 stream: the end, NUL padding, another
** member, or garbage.  0 to go on, -1 on error. */
static int rd_after(tm_reader *r) {
  for (;;) {
    size_t have = r->inlen - r->inpos;
    const unsigned char *p = r->in + r->inpos;
    if (have == 0) {
      if (r->eof) { r->state = ST_DONE; return 0; }
      if (rd_input(r) < 0) return -1;
      continue;
    }
    if (r->fmt == TM_FMT_ZSTD || r->fmt == TM_FMT_XZ) {
      r->state = ST_IN;   /* the library reads what follows itself */
      return 0;
    }
    /* NUL padding (tar blocks, dd): skipped, as gzip does */
    size_t z = 0;
    while (z < have && p[z] == 0) z++;
    if (z > 0) { r->inpos += z; continue; }
    int fmt = tm_format_sniff(p, have);
    if (fmt < 0 && !r->eof && have < TM_SNIFF_MAX) {
      if (rd_input(r) < 0) return -1;
      continue;
    }
    if (fmt != r->fmt)
      return rd_seterr(r, EILSEQ, "unexpected bytes after the %s data at "
                       "byte offset %llu", tm_format_name(r->fmt),
                       (unsigned long long)(r->inbase + r->inpos));
    int e = dec_reset(&r->d);
    if (e != 0) return rd_seterr(r, e, NULL);
    r->state = ST_IN;
    return 0;
  }
}

/* Decompress into buf[end, cap): > 0 bytes made, 0 at the end, -1. */
static ssize_t rd_decode_to(tm_reader *r, unsigned char *dst, size_t room) {
  for (;;) {
    if (r->state == ST_AFTER) {
      if (rd_after(r) < 0) return -1;
      if (r->state == ST_DONE) return 0;
    }
    if (r->inpos == r->inlen && !r->eof && rd_input(r) < 0) return -1;
    const unsigned char *p = r->in + r->inpos;
    size_t n = r->inlen - r->inpos, made;
    int atend = r->eof && r->inpos == r->inlen;
    int rc = dec_step(&r->d, &p, &n, dst, room, &made, r->eof);
    size_t used = (size_t)(p - (r->in + r->inpos));
    r->inpos += used;
    if (rc == D_ERR) return rd_corrupt(r);
    if (rc == D_END) r->state = ST_AFTER;
    r->stuck = (made == 0 && used == 0 && rc == D_OK) ? r->stuck + 1 : 0;
    if (made > 0) return (ssize_t)made;
    if (atend && r->stuck >= 2)
      return rd_seterr(r, EILSEQ, "truncated %s data: the input ends at "
                       "byte offset %llu, inside the compressed stream",
                       tm_format_name(r->fmt),
                       (unsigned long long)(r->inbase + r->inpos));
    if (r->inpos == r->inlen && !r->eof && rd_input(r) < 0) return -1;
  }
}

static ssize_t rd_decode(tm_reader *r) {
  ssize_t got = rd_decode_to(r, (unsigned char *)r->buf + r->end,
                             r->cap - r->end);
  if (got > 0) r->end += (size_t)got;
  return got;
}

/* Add bytes at buf's end: > 0, 0 at the end, -1. */
static ssize_t rd_fill(tm_reader *r) {
  r->intr = 0;
  if (r->state == ST_SNIFF) {
    if (rd_sniff(r) < 0) return -1;
    if (r->end > r->beg) return (ssize_t)(r->end - r->beg);
  }
  if (r->state == ST_DONE) return r->err ? -1 : 0;
  if (rd_room(r) < 0) return -1;
  if (r->state == ST_PLAIN) {
    if (r->eof) { r->state = ST_DONE; return 0; }
    ssize_t got = rd_sys(r, r->buf + r->end, r->cap - r->end);
    if (got <= 0) {
      if (got == 0) r->state = ST_DONE;
      return got;
    }
    r->end += (size_t)got;
    return got;
  }
  return rd_decode(r);
}

ptrdiff_t tm_reader_next(tm_reader *r, const char **p) {
  if (r->err) return -1;
  if (r->end == r->beg) {
    r->beg = r->end = 0;
    ssize_t got = rd_fill(r);
    if (got <= 0) return got;
  }
  size_t n = r->end - r->beg;
  *p = r->buf + r->beg;
  r->beg = r->end;
  r->scanned = 0;
  r->told += n;
  return (ptrdiff_t)n;
}

ptrdiff_t tm_reader_read(tm_reader *r, void *buf, size_t n) {
  if (r->err) return -1;
  if (n == 0) return 0;
  if (r->end == r->beg && n >= 4096 &&
      (r->state == ST_IN || r->state == ST_AFTER)) {
    /* nothing buffered: decompress straight into the caller's buffer */
    r->intr = 0;
    ssize_t got = rd_decode_to(r, buf, n);
    if (got > 0) r->told += (uint64_t)got;
    return got;
  }
  if (r->end == r->beg) {
    r->beg = r->end = 0;
    ssize_t got = rd_fill(r);
    if (got <= 0) return got;
  }
  size_t k = r->end - r->beg;
  if (k > n) k = n;
  memcpy(buf, r->buf + r->beg, k);
  r->beg += k;
  r->scanned = 0;
  r->told += k;
  return (ptrdiff_t)k;
}

static const char *find_sep(const char *p, size_t n, const char *sep,
                            size_t sn) {
  if (sn == 1) return memchr(p, (unsigned char)sep[0], n);
  return memmem(p, n, sep, sn);
}

int tm_reader_record(tm_reader *r, const char *sep, size_t seplen,
                     const char **rec, size_t *len) {
  if (r->err) return -1;
  if (seplen == 0) return rd_seterr(r, EINVAL, NULL);
  for (;;) {
    size_t have = r->end - r->beg;
    size_t from = r->scanned;
    const char *hit = find_sep(r->buf + r->beg + from, have - from, sep,
                               seplen);
    if (hit != NULL) {
      size_t n = (size_t)(hit - (r->buf + r->beg)) + seplen;
      *rec = r->buf + r->beg;
      *len = n;
      r->beg += n;
      r->scanned = 0;
      r->told += n;
      return 1;
    }
    /* a separator may straddle what we have and what comes next */
    r->scanned = have >= seplen ? have - seplen + 1 : 0;
    ssize_t got = rd_fill(r);
    if (got < 0) return -1;
    if (got == 0) {
      if (r->end == r->beg) return 0;
      *rec = r->buf + r->beg;
      *len = r->end - r->beg;
      r->told += *len;
      r->beg = r->end;
      r->scanned = 0;
      return 1;
    }
  }
}
/* }==================================================================== */

/* {====================================================================
** Spilling: memory first, then an unlinked temporary file
** ===================================================================== */

/* Bytes of a decompressed file kept in memory before spilling: small,
** so that a scan of a large compressed log stays in tens of MB. */
#define SPILL_DECOMPRESSED ((size_t)16 << 20)

typedef struct spill {
  char *mem;
  size_t len, cap, limit;
  int fd;                  /* the temporary file, once spilled */
  uint64_t size;
  const char *dir;
  int err;
  char msg[256];
} spill;

static const char *tmp_dir(const tm_source_opts *o) {
  const char *d = o->tmpdir;
  if (d == NULL || *d == '\0') d = getenv("TMPDIR");
  return d != NULL && *d != '\0' ? d : "/tmp";
}

/* An unlinked file in dir, readable by us only: O_TMPFILE never gives it
** a name; where the file system lacks it, a fresh name removed at once. */
static int tmp_open(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  size_t n = strlen(dir) + sizeof "/.tome-spill-XXXXXX";
  char *p = malloc(n);
  if (p == NULL) { errno = ENOMEM; return -1; }
  snprintf(p, n, "%s/.tome-spill-XXXXXX", dir);
  fd = mkostemp(p, O_CLOEXEC);
  if (fd >= 0) unlink(p);
  int e = errno;
  free(p);
  errno = e;
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return ENOSPC;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void spill_init(spill *s, size_t limit, const char *dir) {
  memset(s, 0, sizeof *s);
  s->limit = limit;
  s->fd = -1;
  s->dir = dir;
}

static int spill_fail(spill *s, int err) {
  s->err = err;
  snprintf(s->msg, sizeof s->msg, "cannot spill into a temporary file in "
           "%s after %llu bytes: %s", s->dir, (unsigned long long)s->size,
           strerror(err));
  return err;
}

/* The bytes in memory move to a new temporary file. */
static int spill_to_file(spill *s) {
  s->fd = tmp_open(s->dir);
  if (s->fd < 0) return spill_fail(s, errno);
  int e = write_all(s->fd, s->mem, s->len);
  free(s->mem);
  s->mem = NULL;
  s->len = s->cap = 0;
  return e != 0 ? spill_fail(s, e) : 0;
}

static int spill_add(spill *s, const char *p, size_t n) {
  if (s->fd < 0 && n > s->limit - s->len) {
    int e = spill_to_file(s);
    if (e != 0) return e;
  }
  if (s->fd >= 0) {
    int e = write_all(s->fd, p, n);
    if (e != 0) return spill_fail(s, e);
    s->size += n;
    return 0;
  }
  if (n > s->cap - s->len) {
    size_t cap = s->cap ? s->cap : (size_t)1 << 16;
    while (cap - s->len < n) cap *= 2;
    if (cap > s->limit) cap = s->limit;
    char *nb = realloc(s->mem, cap);
    if (nb == NULL) return spill_fail(s, ENOMEM);
    s->mem = nb;
    s->cap = cap;
  }
  memcpy(s->mem + s->len, p, n);
  s->len += n;
  s->size += n;
  return 0;
}

static void spill_discard(spill *s) {
  free(s->mem);
  s->mem = NULL;
  if (s->fd >= 0) close(s->fd);   /* unlinked: the bytes go with it */
  s->fd = -1;
}

/* Hand the bytes to m (read-only, or private and writable for "c"). */
static int spill_map(spill *s, tm_mapping *m, int mode) {
  if (s->fd >= 0) {
    int fd = s->fd;
    s->fd = -1;
    return tm_map_fd(m, fd, mode);
  }
  if (s->mem == NULL) {
    s->mem = malloc(1);
    if (s->mem == NULL) return ENOMEM;
    s->cap = 1;
  }
  tm_map_adopt(m, s->mem, s->len, s->cap, mode);
  s->mem = NULL;
  return 0;
}
/* }==================================================================== */

/* {====================================================================
** Maps of any source
** ===================================================================== */

static const char *rd_detail(const tm_reader *r) {
  const char *msg = tm_reader_error(r);
  size_t n = strlen(r->name);
  if (msg != NULL && strncmp(msg, r->name, n) == 0 && msg[n] == ':')
    return msg + n + 2;
  return msg != NULL ? msg : "";
}

/* Read the whole stream of r into a spill, then map it. */
static int read_spilled(tm_reader *r, tm_mapping *m, int mode, size_t limit,
                        const char *dir, tm_source_info *info) {
  spill s;
  const char *p;
  ptrdiff_t n;
  int e = 0;
  spill_init(&s, limit, dir);
  while ((n = tm_reader_next(r, &p)) != 0) {
    if (n > 0 && mode != TM_MODE_R && tm_reader_format(r) != TM_FMT_PLAIN) {
      e = EROFS;
      snprintf(info->msg, sizeof info->msg, "%s data opens read-only (mode "
               "\"r\"); open it with decompress = false for the raw bytes",
               tm_format_name(tm_reader_format(r)));
      break;
    }
    if (n < 0) {
      if (tm_reader_errno(r) == EINTR) continue;
      e = tm_reader_errno(r);
      snprintf(info->msg, sizeof info->msg, "%s", rd_detail(r));
      break;
    }
    if ((e = spill_add(&s, p, (size_t)n)) != 0) {
      snprintf(info->msg, sizeof info->msg, "%s", s.msg);
      break;
    }
  }
  info->fmt = tm_reader_format(r);
  info->spilled = s.fd >= 0;
  if (e == 0) e = spill_map(&s, m, mode);
  spill_discard(&s);
  return e;
}

/* Decompressing and spilling overlap: a thread decompresses into a ring
** of buffers while the caller writes them to the spill (both take about
** as long for zstd, and the page cache copy is not free). */
#define NSLOT 4
#define SLOT_SIZE ((size_t)1 << 20)

typedef struct pipeline {
  tm_reader *r;
  char *buf[NSLOT];
  size_t len[NSLOT];
  size_t head, tail;       /* slots filled, slots written (under lock) */
  int done, stop;          /* the producer ended; the consumer gave up */
  pthread_mutex_t lock;
  pthread_cond_t cv;
} pipeline;

static void *producer(void *ud) {
  pipeline *pl = (pipeline *)ud;
  for (;;) {
    pthread_mutex_lock(&pl->lock);
    while (pl->head - pl->tail == NSLOT && !pl->stop)
      pthread_cond_wait(&pl->cv, &pl->lock);
    int stop = pl->stop;
    size_t k = pl->head % NSLOT;
    pthread_mutex_unlock(&pl->lock);
    if (stop) break;
    size_t got = 0;
    ptrdiff_t n = 1;
    while (got < SLOT_SIZE &&
           (n = tm_reader_read(pl->r, pl->buf[k] + got, SLOT_SIZE - got)) != 0) {
      if (n < 0) {
        if (tm_reader_errno(pl->r) == EINTR) continue;
        break;
      }
      got += (size_t)n;
    }
    pthread_mutex_lock(&pl->lock);
    pl->len[k] = got;
    if (got > 0) pl->head++;
    if (n <= 0) pl->done = 1;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->lock);
    if (n <= 0) break;
  }
  pthread_mutex_lock(&pl->lock);
  pl->done = 1;
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->lock);
  return NULL;
}

/* read_spilled with the decompression in a thread of its own; -1 when
** the thread cannot be had (then do it without). */
static int read_piped(tm_reader *r, tm_mapping *m, size_t limit,
                      const char *dir, tm_source_info *info) {
  pipeline pl;
  pthread_t t;
  spill s;
  sigset_t all, old;
  int e = 0;
  memset(&pl, 0, sizeof pl);
  pl.r = r;
  for (int i = 0; i < NSLOT; i++)
    if ((pl.buf[i] = malloc(SLOT_SIZE)) == NULL) e = ENOMEM;
  pthread_mutex_init(&pl.lock, NULL);
  pthread_cond_init(&pl.cv, NULL);
  sigfillset(&all);             /* signals go to the caller's thread */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (e == 0 && pthread_create(&t, NULL, producer, &pl) != 0) e = -1;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e == 0) {
    spill_init(&s, limit, dir);
    for (;;) {
      pthread_mutex_lock(&pl.lock);
      while (pl.head == pl.tail && !pl.done)
        pthread_cond_wait(&pl.cv, &pl.lock);
      int empty = pl.head == pl.tail;
      size_t k = pl.tail % NSLOT;
      pthread_mutex_unlock(&pl.lock);
      if (empty) break;
      e = spill_add(&s, pl.buf[k], pl.len[k]);
      pthread_mutex_lock(&pl.lock);
      pl.tail++;
      if (e != 0) pl.stop = 1;
      pthread_cond_broadcast(&pl.cv);
      pthread_mutex_unlock(&pl.lock);
      if (e != 0) {
        snprintf(info->msg, sizeof info->msg, "%s", s.msg);
        break;
      }
    }
    pthread_join(t, NULL);
    if (e == 0 && tm_reader_errno(r) != 0) {
      e = tm_reader_errno(r);
      snprintf(info->msg, sizeof info->msg, "%s", rd_detail(r));
    }
    info->fmt = tm_reader_format(r);
    info->spilled = s.fd >= 0;
    if (e == 0) e = spill_map(&s, m, TM_MODE_R);
    spill_discard(&s);
  }
  for (int i = 0; i < NSLOT; i++) free(pl.buf[i]);
  pthread_cond_destroy(&pl.cv);
  pthread_mutex_destroy(&pl.lock);
  return e;
}

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int changed(tm_source_info *info) {
  snprintf(info->msg, sizeof info->msg, "the file changed while it was "
           "being decompressed");
  return EIO;
}

/* e, or EIO (m closed) when e is 0 but fd is no longer the file st
** describes: a map made of its bytes may mix two versions. */
static int unchanged(tm_mapping *m, int fd, const struct stat *st, int e,
                     tm_source_info *info) {
  struct stat after;
  if (e != 0 || (fstat(fd, &after) == 0 && same_file(st, &after))) return e;
  tm_map_close(m);
  return changed(info);
}

/* {====================================================================
** Parallel decompression of files made of independent pieces
**
** A gzip file of several members (bgzip, concatenated files) and a zstd
** file of several frames (pzstd, concatenated files) can be decompressed
** piece by piece in several threads, each piece written at its own
** offset, when the size of every piece is known beforehand:
**   - zstd frames say their decompressed size in their header, and the
**     library walks the frames (ZSTD_findFrameCompressedSize);
**   - a gzip member ends with ISIZE, its size modulo 2^32, just before
**     the next member's header.  Members are found by their headers
**     (1f 8b 08, sane flags); a header that is only compressed bytes by
**     chance, a member of 4 GiB or more, padding or garbage show up as a
**     piece that does not end where it should or is not of its size, and
**     then everything is done again sequentially (which also reports real
**     errors properly).
** ===================================================================== */

typedef struct piece {
  size_t in, inlen;        /* compressed bytes in the file */
  uint64_t out, outlen;    /* where its bytes go, how many */
} piece;

typedef struct pjob {
  int fmt;
  const unsigned char *base;  /* the compressed file, mapped */
  size_t size;
  piece *ps;
  size_t n, cap;
  size_t minpiece;         /* smaller pieces are merged with the next */
  int fd;                  /* the output: a file, or ... */
  char *mem;               /* ... memory */
  pthread_mutex_t lock;
  size_t next;             /* next piece to take (under lock) */
  int failed;              /* a piece went wrong (under lock) */
  int err;                 /* an error that is not about the data */
} pjob;

/* 0, ENOMEM, or -1 when the sizes cannot be true (they would overflow a
** file offset: a header that lies, to be decompressed sequentially). */
static int add_piece(pjob *j, size_t in, size_t inlen, uint64_t outlen) {
  uint64_t out = j->n ? j->ps[j->n - 1].out + j->ps[j->n - 1].outlen : 0;
  if (outlen > (uint64_t)INT64_MAX - out) return -1;
  if (j->n > 0 && j->ps[j->n - 1].inlen < j->minpiece) {
    /* a small piece takes the next one in (the walks are contiguous) */
    j->ps[j->n - 1].inlen += inlen;
    j->ps[j->n - 1].outlen += outlen;
    return 0;
  }
  if (j->n == j->cap) {
    size_t cap = j->cap ? j->cap * 2 : 64;
    piece *np = realloc(j->ps, cap * sizeof *np);
    if (np == NULL) return ENOMEM;
    j->ps = np;
    j->cap = cap;
  }
  j->ps[j->n++] = (piece){in, inlen, out, outlen};
  return 0;
}

/* the least compressed bytes of a piece, if the file has enough */
#define PIECE_MIN ((size_t)64 << 10)

/* how far a walk over the compressed file goes before it lets go */
#define RELEASE_STEP ((size_t)16 << 20)

/* Drop mapped pages of [a, b) from memory (they stay in the page cache):
** resident memory stays small however big the compressed file. */
static void release(const unsigned char *base, size_t a, size_t b) {
  size_t ps = 4096;
  a = (a + ps - 1) & ~(ps - 1);
  b &= ~(ps - 1);
  if (b > a) madvise((void *)(base + a), b - a, MADV_DONTNEED);
}

/* The size of the zstd frame (or skippable frame) at p, walking its
** block headers as RFC 8878 lays them out (only the headers are
** touched); 0 if it is not well formed within n bytes. */
static size_t zstd_frame_size(const unsigned char *base, size_t from,
                              size_t n) {
  const unsigned char *p = base + from;
  size_t released = 0;
  static const unsigned char did[] = {0, 1, 2, 4};
  if (n >= 8 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d &&
      p[3] == 0x18) {
    uint64_t len = (uint64_t)p[4] | (uint64_t)p[5] << 8 |
                   (uint64_t)p[6] << 16 | (uint64_t)p[7] << 24;
    return len <= n - 8 ? (size_t)len + 8 : 0;
  }
  if (n < 6 || p[0] != 0x28 || p[1] != 0xb5 || p[2] != 0x2f || p[3] != 0xfd)
    return 0;
  unsigned fhd = p[4], fcs = fhd >> 6, single = (fhd >> 5) & 1;
  size_t at = 5 + (single ? 0 : 1) + did[fhd & 3] +
              (fcs == 0 ? single : fcs == 1 ? 2 : fcs == 2 ? 4 : 8);
  for (;;) {
    if (at + 3 > n) return 0;
    unsigned b = p[at] | (unsigned)p[at + 1] << 8 | (unsigned)p[at + 2] << 16;
    unsigned type = (b >> 1) & 3;
    size_t len = type == 1 ? 1 : b >> 3;
    if (type == 3 || len > n - at - 3) return 0;
    at += 3 + len;
    if (b & 1) break;
    if (at - released >= RELEASE_STEP) {   /* a long frame: let go */
      release(base, from + released, from + at);
      released = at;
    }
  }
  if (fhd & 4) at += 4;            /* the content checksum */
  return at <= n ? at : 0;
}

static int zstd_pieces(pjob *j) {
  size_t pos = 0, released = 0;
  while (pos < j->size) {
    size_t n = zstd_frame_size(j->base, pos, j->size - pos);
    if (n == 0) return -1;
    unsigned long long out = ZSTD_getFrameContentSize(j->base + pos, n);
    if (out == ZSTD_CONTENTSIZE_UNKNOWN || out == ZSTD_CONTENTSIZE_ERROR)
      return -1;
    int e = add_piece(j, pos, n, out);
    if (e != 0) return e;
    pos += n;
    if (pos - released >= RELEASE_STEP) {
      release(j->base, released, pos);
      released = pos;
    }
  }
  release(j->base, released, pos);
  return 0;
}

static int gzip_header(const unsigned char *p, size_t n) {
  return n >= 10 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 &&
         (p[3] & 0xe0) == 0 && (p[8] == 0 || p[8] == 2 || p[8] == 4) &&
         (p[9] <= 13 || p[9] == 255);
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* The next gzip header after pos (at least 18 bytes after start: the
** smallest member), or NULL; looks through the file in steps, letting go
** of what it has passed. */
static const unsigned char *next_header(pjob *j, size_t start, size_t pos,
                                        size_t *released) {
  while (pos + 10 <= j->size) {
    /* checked before the search too: members close together return at
    ** once, and a walk over countless of them lets go of them all the same */
    if (pos - *released >= RELEASE_STEP) {
      release(j->base, *released, pos);
      *released = pos;
    }
    size_t end = j->size - pos > RELEASE_STEP ? pos + RELEASE_STEP : j->size;
    /* scan.c's search (a vector filter on two of the needle's bytes):
    ** glibc's memmem stops at every 0x1f of the compressed bytes, and
    ** this walk runs before any thread starts */
    const unsigned char *hit = (const unsigned char *)tm_find(
        (const char *)j->base + pos, end - pos, "\x1f\x8b\x08", 3);
    if (hit == NULL) {
      pos = end > pos + 2 ? end - 2 : end;
      if (end == j->size) return NULL;
    } else {
      size_t at = (size_t)(hit - j->base);
      if (at >= start + 18 && gzip_header(hit, j->size - at)) return hit;
      pos = at + 1;
    }
  }
  return NULL;
}

static int gzip_pieces(pjob *j) {
  size_t start = 0, released = 0;
  if (!gzip_header(j->base, j->size)) return -1;
  for (;;) {
    const unsigned char *hit;
    size_t end, from = start + 1;
    uint32_t isize;
    for (;;) {
      hit = next_header(j, start, from, &released);
      end = hit ? (size_t)(hit - j->base) : j->size;
      if (end < start + 18) return -1;
      isize = le32(j->base + end - 4);
      /* deflate makes at most 1032 bytes of one: a larger size is not a
      ** member's, so that header is data that looks like one (and its
      ** size would only cost disk space): look further */
      if ((uint64_t)isize <= (uint64_t)(end - start) * 1032) break;
      if (hit == NULL) return -1;
      from = end + 1;
    }
    int e = add_piece(j, start, end - start, isize);
    if (e != 0) return e;
    if (hit == NULL) break;
    start = end;
  }
  release(j->base, released, j->size);
  return 0;
}

/* Decompress one piece (one or more whole members or frames): exactly
** inlen bytes in, exactly outlen out. */
static int run_piece(pjob *j, dec *d, const piece *pc, char *buf,
                     size_t cap) {
  const unsigned char *in = j->base + pc->in;
  size_t inn = pc->inlen;
  uint64_t done = 0;
  int rc = D_END;
  while (!(rc == D_END && inn == 0)) {
    if (rc == D_END && dec_reset(d) != 0) return ENOMEM;  /* next member */
    char *out = j->mem ? j->mem + pc->out + done : buf;
    size_t room = j->mem ? (size_t)(pc->outlen - done) : cap;
    size_t made = 0;
    unsigned char spare;
    rc = dec_step(d, &in, &inn, room ? (unsigned char *)out : &spare,
                  room ? room : 1, &made, 1);
    if (rc == D_ERR || made > pc->outlen - done) return -1;
    if (!j->mem && made > 0) {
      const char *p = buf;
      size_t left = made;
      off_t at = (off_t)(pc->out + done);
      while (left > 0) {
        ssize_t w = pwrite(j->fd, p, left, at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : ENOSPC;
        p += w;
        left -= (size_t)w;
        at += w;
      }
    }
    done += made;
    if (rc != D_END && made == 0 && inn == 0) return -1;
  }
  return inn == 0 && done == pc->outlen ? 0 : -1;
}

/* run_piece, with a fault (the file shrank under us) as EIO */
static int guarded_piece(pjob *j, dec *d, const piece *pc, char *buf,
                         size_t cap) {
  tm_guard g;
  if (!tm_guard_enter(&g)) return EIO;
  int e = run_piece(j, d, pc, buf, cap);
  tm_guard_leave(&g);
  return e;
}

/* the pieces of the file at j->base, guarded likewise (-1 on a fault) */
static int guarded_pieces(pjob *j) {
  tm_guard g;
  if (!tm_guard_enter(&g)) return -1;
  int e = j->fmt == TM_FMT_ZSTD ? zstd_pieces(j) : gzip_pieces(j);
  tm_guard_leave(&g);
  return e;
}

static void *pworker(void *ud) {
  pjob *j = (pjob *)ud;
  dec d;
  size_t cap = OUT_SIZE;
  char *buf = j->mem ? NULL : malloc(cap);
  int e = dec_init(&d, j->fmt, 1);
  if (e == 0 && !j->mem && buf == NULL) e = ENOMEM;
  for (;;) {
    size_t k;
    pthread_mutex_lock(&j->lock);
    if (e > 0 && j->err == 0) j->err = e;
    if (e < 0) j->failed = 1;
    k = j->next++;
    int stop = j->failed || j->err || k >= j->n;
    pthread_mutex_unlock(&j->lock);
    if (stop) break;
    e = guarded_piece(j, &d, &j->ps[k], buf, cap);
    release(j->base, j->ps[k].in, j->ps[k].in + j->ps[k].inlen);
  }
  dec_end(&d);
  free(buf);
  return NULL;
}

/* Decompress the pieces with 'nw' threads into s (a file at fd, or the
** memory at mem).  0, -1 to go sequential, or an errno value. */
static int run_pieces(pjob *j, int nw) {
  pthread_t ts[64];
  int started = 0;
  sigset_t all, old;
  pthread_mutex_init(&j->lock, NULL);
  sigfillset(&all);             /* signals go to the caller's thread */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (; started < nw && started < 64; started++)
    if (pthread_create(&ts[started], NULL, pworker, j) != 0) break;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (started == 0) pworker(j);
  for (int i = 0; i < started; i++) pthread_join(ts[i], NULL);
  pthread_mutex_destroy(&j->lock);
  if (j->err > 0) return j->err;
  return j->failed ? -1 : 0;
}

/* Map the compressed file fd of 'size' bytes and find its pieces into j
** (the caller unmaps j->base and frees j->ps).  0, -1 (not made of
** pieces; j->base is NULL when the file could not be mapped), or an
** errno value. */
static int map_pieces(pjob *j, int fd, size_t size, int fmt) {
  memset(j, 0, sizeof *j);
  j->fmt = fmt;
  j->fd = -1;
  j->size = size;
  /* a file of countless tiny members or frames: pieces of at least 64 KiB
  ** (and at most 65536 of them) keep the table small and the locking and
  ** releasing per piece cheap */
  j->minpiece = size / 65536 > PIECE_MIN ? size / 65536 : PIECE_MIN;
  void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return -1;
  j->base = p;
  tm_guard_install();
  return guarded_pieces(j);
}

/* The decompressed size of the pieces found. */
static uint64_t pieces_total(const pjob *j) {
  return j->n ? j->ps[j->n - 1].out + j->ps[j->n - 1].outlen : 0;
}

/* 0 with m filled, -1 when the file is not for this path (go on
** sequentially), or an errno value with info->msg set. */
static int open_parallel(tm_mapping *m, int fd, const struct stat *st,
                         int fmt, const tm_source_opts *o,
                         tm_source_info *info) {
  int nw = o->workers > 0 ? o->workers : ncpus();
  size_t limit = o->memory ? o->memory : SPILL_DECOMPRESSED;
  if (nw < 2 || (fmt != TM_FMT_GZIP && fmt != TM_FMT_ZSTD) ||
      (uint64_t)st->st_size > SIZE_MAX || st->st_size < (off_t)(1 << 20))
    return -1;
  pjob j;
  int e = map_pieces(&j, fd, (size_t)st->st_size, fmt);
  if (j.base == NULL) return -1;
  uint64_t total = pieces_total(&j);
  if (e == 0 && j.n < 2) e = -1;
  if (e == 0 && total > SIZE_MAX) e = -1;
  if (e == 0 && total <= limit) {
    j.mem = malloc(total > 0 ? (size_t)total : 1);
    if (j.mem == NULL) e = ENOMEM;
  } else if (e == 0) {
    const char *dir = tmp_dir(o);
    j.fd = tmp_open(dir);
    if (j.fd < 0) e = errno;
    /* the whole size at once: a bomb fails here, before any work */
    else if ((e = posix_fallocate(j.fd, 0, (off_t)total)) == EOPNOTSUPP ||
             e == EINVAL)
      e = ftruncate(j.fd, (off_t)total) == 0 ? 0 : errno;
    /* but gzip sizes are guesses (a header may be data that looks like
    ** one, with any four bytes before it as the size): they never fail
    ** a file; the sequential way finds out what really fits */
    if (e > 0 && fmt == TM_FMT_GZIP) e = -1;
    if (e > 0)
      snprintf(info->msg, sizeof info->msg, "cannot spill into a temporary "
               "file in %s (%llu bytes): %s", dir, (unsigned long long)total,
               strerror(e));
  }
  if (e == 0) e = run_pieces(&j, j.n < (size_t)nw ? (int)j.n : nw);
  munmap((void *)j.base, j.size);
  free(j.ps);
  if (e == 0) {
    info->workers = nw;
    info->spilled = j.fd >= 0;
    if (j.fd >= 0) return tm_map_fd(m, j.fd, TM_MODE_R);
    tm_map_adopt(m, j.mem, (size_t)total, total > 0 ? (size_t)total : 1,
                 TM_MODE_R);
    return 0;
  }
  free(j.mem);
  if (j.fd >= 0) close(j.fd);
  if (e == EIO)
    changed(info);
  else if (e > 0 && info->msg[0] == '\0')
    snprintf(info->msg, sizeof info->msg, "%s", strerror(e));
  return e;
}
/* }==================================================================== */

/* {====================================================================
** Deferred compressed files (source.h)
** ===================================================================== */

struct tm_lazy {
  int fd;
  struct stat st;
  uint64_t total;          /* decompressed bytes, from the frame headers */
  char *path;
  char *tmpdir;            /* NULL: the default */
  size_t memory;
  int workers;
};

/* The decompressed size of a zstd file whose frames all say theirs
** (only the headers are read).  0 and *total, or -1. */
static int zstd_total(int fd, const struct stat *st, uint64_t *total) {
  if (st->st_size <= 0 || (uint64_t)st->st_size > SIZE_MAX) return -1;
  pjob j;
  int e = map_pieces(&j, fd, (size_t)st->st_size, TM_FMT_ZSTD);
  if (j.base == NULL) return -1;
  *total = pieces_total(&j);
  munmap((void *)j.base, j.size);
  free(j.ps);
  return e == 0 ? 0 : -1;
}

void tm_lazy_free(tm_lazy *z) {
  if (z == NULL) return;
  if (z->fd >= 0) close(z->fd);
  free(z->path);
  free(z->tmpdir);
  free(z);
}

/* Defer the zstd file fd (ours on success) when it is worth it: 0 with m
** and info->lazy set, or -1 (decompress it now). */
static int open_lazy(tm_mapping *m, int fd, const struct stat *st,
                     const tm_source_opts *o, const char *path,
                     tm_source_info *info) {
  size_t limit = o->memory ? o->memory : SPILL_DECOMPRESSED;
  uint64_t total;
  /* several frames too: decompressing them at once into the spill
  ** (open_parallel, which tm_lazy_fill still uses) took 5.9-7.0 s for
  ** 2 GB in 4 frames here, streaming them 1.6 s: writing 2 GB of new page
  ** cache is what costs, on this VM about 1 s per GB */
  if (!o->defer || info->fmt != TM_FMT_ZSTD ||
      zstd_total(fd, st, &total) || total <= limit ||
      total > SIZE_MAX)
    return -1;
  tm_lazy *z = calloc(1, sizeof *z);
  if (z == NULL) return -1;
  z->fd = fd;
  z->st = *st;
  z->total = total;
  z->path = strdup(path);
  z->tmpdir = o->tmpdir != NULL ? strdup(o->tmpdir) : NULL;
  z->memory = o->memory;
  z->workers = o->workers;
  if (z->path == NULL || (o->tmpdir != NULL && z->tmpdir == NULL)) {
    z->fd = -1;
    tm_lazy_free(z);
    return -1;
  }
  memset(m, 0, sizeof *m);
  m->fd = -1;
  m->kind = TM_KIND_HEAP;
  m->mode = TM_MODE_R;
  m->len = (size_t)total;
  info->lazy = z;
  return 0;
}

static int decompress_fd(tm_mapping *m, int fd, const struct stat *st,
                         const tm_source_opts *o, const char *path,
                         tm_source_info *info);

int tm_lazy_fill(tm_lazy *z, tm_mapping *m, tm_source_info *info) {
  tm_source_opts o;
  memset(&o, 0, sizeof o);
  o.memory = z->memory;
  o.workers = z->workers;
  o.tmpdir = z->tmpdir;
  memset(info, 0, sizeof *info);
  info->fmt = TM_FMT_ZSTD;
  info->workers = 1;
  tm_map_close(m);
  int fd = dup(z->fd);
  if (fd < 0) return errno;
  int e = decompress_fd(m, fd, &z->st, &o, z->path, info);
  if (e == 0 && m->len != z->total) {
    tm_map_close(m);
    snprintf(info->msg, sizeof info->msg, "the file changed since it was "
             "opened: %llu bytes decompressed, %llu expected",
             (unsigned long long)m->len, (unsigned long long)z->total);
    e = EIO;
  }
  return e;
}

/* The stream: a tm_reader reading with pread from a descriptor of its
** own, and the last HIST bytes it made, so that a cursor going back a
** little (to the start of a line) does not restart the decoder. */
#define HIST ((size_t)64 << 10)

/* With two cores or more, a thread decodes ahead into a ring of slots
** while the scan runs (as zstdcat | wc do): the reader is the thread's
** then (producer, as for read_piped), and the scan copies out of the
** slots. */
/* ... once a scan has gone this far: short scans (an iterator left after
** a few lines) never start a thread nor take the slots' memory */
#define ZTHREAD_AFTER ((uint64_t)8 << 20)

struct tm_zstream {
  int fd;
  struct stat st;
  uint64_t total;
  char *path;
  tm_reader *r;
  uint64_t made;           /* decompressed bytes handed out so far */
  char *hist;              /* the bytes [made - hlen, made) */
  size_t hlen;
  int err;
  char msg[320];
  /* the decoding thread */
  int threads;             /* wanted: 1 none, else one */
  int running;             /* th was started (and not joined) */
  int launched;            /* it was, since the last (re)start */
  pthread_t th;
  pipeline ring;           /* its slots; ring.r is r while it runs */
  size_t soff;             /* bytes taken from slot ring.tail % NSLOT */
};

static int zs_fail(tm_zstream *d, int err, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (d->err == 0) {
    d->err = err;
    snprintf(d->msg, sizeof d->msg, "%s: %s", d->path, what);
  }
  return d->err;
}

static int zs_check(tm_zstream *d) {
  struct stat now;
  if (fstat(d->fd, &now) != 0) return zs_fail(d, errno, "%s",
                                               strerror(errno));
  if (!same_file(&d->st, &now))
    return zs_fail(d, EIO, "the file changed while it was being "
                   "decompressed");
  return 0;
}

/* Stop and join the thread; the reader is ours again. */
static void zs_join(tm_zstream *d) {
  if (!d->running) return;
  pthread_mutex_lock(&d->ring.lock);
  d->ring.stop = 1;
  pthread_cond_broadcast(&d->ring.cv);
  pthread_mutex_unlock(&d->ring.lock);
  pthread_join(d->th, NULL);
  d->running = 0;
}

/* Start the thread (when wanted and possible: else decode in place). */
static void zs_launch(tm_zstream *d) {
  sigset_t all, old;
  d->ring.r = d->r;
  d->ring.head = d->ring.tail = d->soff = 0;
  d->ring.done = d->ring.stop = 0;
  d->launched = 1;
  if (d->threads == 1) return;
  for (int i = 0; i < NSLOT; i++)
    if (d->ring.buf[i] == NULL &&
        (d->ring.buf[i] = malloc(SLOT_SIZE)) == NULL)
      return;
  sigfillset(&all);             /* signals go to the caller's thread */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  d->running = pthread_create(&d->th, NULL, producer, &d->ring) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* (Re)start decoding from the first byte. */
static int zs_start(tm_zstream *d) {
  zs_join(d);
  tm_reader_close(d->r);
  d->r = NULL;
  d->made = 0;
  d->hlen = 0;
  if (zs_check(d) != 0) return d->err;
  int e = tm_reader_fdopen(&d->r, d->fd, 0, d->path, TM_READ_PREAD);
  if (e != 0) return zs_fail(d, e, "%s", strerror(e));
  d->launched = 0;
  return 0;
}

int tm_zstream_open(tm_zstream **out, const tm_lazy *z) {
  tm_zstream *d = calloc(1, sizeof *d);
  *out = NULL;
  if (d == NULL) return ENOMEM;
  d->fd = dup(z->fd);
  d->st = z->st;
  d->total = z->total;
  d->path = strdup(z->path);
  d->hist = malloc(HIST);
  d->threads = z->workers == 1 || ncpus() < 2 ? 1 : 2;
  pthread_mutex_init(&d->ring.lock, NULL);
  pthread_cond_init(&d->ring.cv, NULL);
  int e = d->fd < 0 ? errno : 0;
  if (e == 0 && (d->path == NULL || d->hist == NULL)) e = ENOMEM;
  if (e != 0) {
    tm_zstream_free(d);
    return e;
  }
  zs_start(d);   /* its failure (the file changed) is d's first error */
  *out = d;
  return 0;
}

void tm_zstream_free(tm_zstream *d) {
  if (d == NULL) return;
  zs_join(d);
  for (int i = 0; i < NSLOT; i++) free(d->ring.buf[i]);
  pthread_cond_destroy(&d->ring.cv);
  pthread_mutex_destroy(&d->ring.lock);
  tm_reader_close(d->r);
  if (d->fd >= 0) close(d->fd);
  free(d->path);
  free(d->hist);
  free(d);
}

const char *tm_lazy_path(const tm_lazy *z) { return z->path; }

const char *tm_zstream_error(const tm_zstream *d) {
  return d->err ? d->msg : NULL;
}

int tm_zstream_of(const tm_zstream *d, const tm_lazy *z) {
  return d->err == 0 && d->total == z->total && same_file(&d->st, &z->st);
}

/* The next decoded bytes, up to n at dst: > 0, 0 at the end of the
** stream, -1 on an error of the reader (EINTR retried). */
static ptrdiff_t zs_next(tm_zstream *d, char *dst, size_t n) {
  if (!d->launched && d->made >= ZTHREAD_AFTER) zs_launch(d);
  if (!d->running) {
    for (;;) {
      ptrdiff_t got = tm_reader_read(d->r, dst, n);
      if (got < 0 && tm_reader_errno(d->r) == EINTR) continue;
      return got;
    }
  }
  pthread_mutex_lock(&d->ring.lock);
  while (d->ring.head == d->ring.tail && !d->ring.done)
    pthread_cond_wait(&d->ring.cv, &d->ring.lock);
  int empty = d->ring.head == d->ring.tail;
  size_t k = d->ring.tail % NSLOT, have = d->ring.len[k] - d->soff;
  pthread_mutex_unlock(&d->ring.lock);
  if (empty) {   /* the thread ended: the reader says how */
    zs_join(d);
    return tm_reader_errno(d->r) != 0 ? -1 : 0;
  }
  size_t c = n < have ? n : have;
  memcpy(dst, d->ring.buf[k] + d->soff, c);
  d->soff += c;
  if (d->soff == d->ring.len[k]) {
    pthread_mutex_lock(&d->ring.lock);
    d->ring.tail++;
    d->soff = 0;
    pthread_cond_broadcast(&d->ring.cv);
    pthread_mutex_unlock(&d->ring.lock);
  }
  return (ptrdiff_t)c;
}

/* The reader's error as d's (the file changed: that first). */
static void zs_readerr(tm_zstream *d) {
  if (zs_check(d) != 0) return;
  const char *msg = tm_reader_error(d->r);
  size_t k = strlen(d->path);
  if (msg != NULL && strncmp(msg, d->path, k) == 0 && msg[k] == ':')
    msg += k + 2;
  zs_fail(d, tm_reader_errno(d->r) ? tm_reader_errno(d->r) : EIO, "%s",
          msg ? msg : "read error");
}

/* Decode up to n bytes at dst: > 0, or 0 with d->err set. */
static size_t zs_decode(tm_zstream *d, char *dst, size_t n) {
  ptrdiff_t got = zs_next(d, dst, n);
  if (got > 0) {
    d->made += (uint64_t)got;
    return (size_t)got;
  }
  if (got < 0) {
    zs_readerr(d);
    return 0;
  }
  /* bad data in a file that changed: say that it changed */
  if (zs_check(d) != 0) return 0;
  zs_fail(d, EILSEQ, "truncated zstd data: it ends after %llu bytes, "
          "its header says %llu", (unsigned long long)d->made,
          (unsigned long long)d->total);
  return 0;
}

/* Keep the last HIST bytes made: the history before, then 'n' bytes
** just made at p. */
static void zs_keep(tm_zstream *d, const char *p, size_t n) {
  if (n >= HIST) {
    memcpy(d->hist, p + n - HIST, HIST);
    d->hlen = HIST;
    return;
  }
  size_t keep = d->hlen < HIST - n ? d->hlen : HIST - n;
  memmove(d->hist, d->hist + d->hlen - keep, keep);
  memcpy(d->hist + keep, p, n);
  d->hlen = keep + n;
}

/* At the end: the stream must end there too (which also checks the
** frame's checksum), and the file must be the one opened. */
static int zs_end(tm_zstream *d) {
  char c;
  ptrdiff_t got = zs_next(d, &c, 1);
  if (got > 0) {
    d->made++;
    if (zs_check(d) != 0) return d->err;
    return zs_fail(d, EILSEQ, "the zstd data holds more bytes than its "
                   "header says (%llu)", (unsigned long long)d->total);
  }
  if (got < 0) {
    zs_readerr(d);
    return d->err;
  }
  return zs_check(d);
}

int tm_zstream_read(tm_zstream *d, char *dst, size_t n, uint64_t pos) {
  if (d->err) return d->err;
  if (pos > d->total || n > d->total - pos)
    return zs_fail(d, EINVAL, "read beyond the end (%llu bytes)",
                   (unsigned long long)d->total);
  uint64_t end = pos + n;
  while (pos < end) {
    if (pos < d->made && d->made - pos <= d->hlen) {   /* history */
      size_t back = (size_t)(d->made - pos);
      size_t k = back < end - pos ? back : (size_t)(end - pos);
      memcpy(dst, d->hist + d->hlen - back, k);
      dst += k;
      pos += k;
    } else if (pos < d->made) {   /* further back: from the start */
      if (zs_start(d) != 0) return d->err;
    } else if (pos > d->made) {   /* skip ahead, keeping the history */
      uint64_t gap = pos - d->made;
      size_t k = zs_decode(d, d->hist, gap < HIST ? (size_t)gap : HIST);
      if (k == 0) return d->err;
      d->hlen = k;
    } else {                      /* straight into dst */
      size_t want = (size_t)(end - pos);
      size_t k = 0;
      while (k < want) {
        size_t got = zs_decode(d, dst + k, want - k);
        if (got == 0) return d->err;
        k += got;
      }
      zs_keep(d, dst, k);
      dst += k;
      pos += k;
    }
  }
  if (end == d->total && d->made == d->total) return zs_end(d);
  return 0;
}
/* }==================================================================== */

/* A compressed regular file: decompress it whole (fd is ours), unless it
** is deferred. */
static int open_compressed(tm_mapping *m, int fd, const struct stat *st,
                           const tm_source_opts *o, const char *path,
                           tm_source_info *info) {
  if (o->defer && open_lazy(m, fd, st, o, path, info) == 0) return 0;
  return decompress_fd(m, fd, st, o, path, info);
}

static int decompress_fd(tm_mapping *m, int fd, const struct stat *st,
                         const tm_source_opts *o, const char *path,
                         tm_source_info *info) {
  tm_reader *r;
  int e = open_parallel(m, fd, st, info->fmt, o, info);
  if (e >= 0) {
    e = unchanged(m, fd, st, e, info);
    close(fd);
    return e;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) { e = errno; close(fd); return e; }
  e = tm_reader_fdopen(&r, fd, 1, path, 0);
  if (e != 0) { close(fd); return e; }
  if (o->workers > 0) r->threads = o->workers;   /* xz's threads */
  size_t limit = o->memory ? o->memory : SPILL_DECOMPRESSED;
  e = -1;
  if (o->workers != 1 && ncpus() > 1)
    e = read_piped(r, m, limit, tmp_dir(o), info);
  if (e < 0) e = read_spilled(r, m, TM_MODE_R, limit, tmp_dir(o), info);
  e = unchanged(m, fd, st, e, info);
  tm_reader_close(r);
  return e;
}

/* Opening as tm_map_open does: "-" is standard input; "r+" needs a file
** its writes can reach, opened as writers open theirs (replace.h: no
** planted symbolic link is followed; a pipe or device is ESPIPE, and
** opening a FIFO for writing would make us wait for our own end). */
static int source_fd(const char *path, int mode, int *fd, int *isstdin,
                     tm_source_info *info) {
  *isstdin = strcmp(path, "-") == 0;
  if (*isstdin) {
    if (mode == TM_MODE_RW) return ESPIPE;
    *fd = dup(STDIN_FILENO);
    return *fd < 0 ? errno : 0;
  }
  if (mode == TM_MODE_RW) {
    tm_replace r;
    const char *why;
    int e = tm_rep_openrw(&r, path, 0, &why);
    *fd = r.fd;
    r.fd = -1;
    tm_rep_discard(&r);
    if (why != NULL) snprintf(info->msg, sizeof info->msg, "%s", why);
    return e;
  }
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  return *fd < 0 ? errno : 0;
}

int tm_source_open(tm_mapping *m, const char *path, int mode,
                   const tm_source_opts *o, tm_source_info *info) {
  static const tm_source_opts defaults;
  struct stat st;
  int fd = -1, isstdin;
  if (o == NULL) o = &defaults;
  memset(info, 0, sizeof *info);
  info->workers = 1;
  memset(m, 0, sizeof *m);
  m->fd = -1;
  int e = source_fd(path, mode, &fd, &isstdin, info);
  if (e != 0) return e;
  if (fstat(fd, &st) != 0) { e = errno; close(fd); return e; }
  if (S_ISDIR(st.st_mode)) { close(fd); return EISDIR; }
  /* standard input already read from (`read x; tome -n ...`): what is
  ** left of it, as cat or awk would see it */
  off_t at = isstdin ? lseek(fd, 0, SEEK_CUR) : 0;
  if (S_ISREG(st.st_mode) && st.st_size > 0 && at <= 0) {
    unsigned char head[TM_SNIFF_MAX];
    ssize_t n = o->raw ? 0 : pread(fd, head, sizeof head, 0);
    int fmt = n > 0 ? tm_format_sniff(head, (size_t)n) : TM_FMT_PLAIN;
    if (fmt > TM_FMT_PLAIN) {
      info->fmt = fmt;
      if (mode != TM_MODE_R) {
        close(fd);
        snprintf(info->msg, sizeof info->msg, "%s data opens read-only "
                 "(mode \"r\"); open it with decompress = false for the "
                 "raw bytes", tm_format_name(fmt));
        return EROFS;
      }
      return open_compressed(m, fd, &st, o, path, info);
    }
    return tm_map_fd(m, fd, mode);
  }
  if (mode == TM_MODE_RW) return tm_map_fd(m, fd, mode);
  /* pipes, FIFOs, devices, /proc files: read as a stream, spilled */
  tm_reader *r;
  e = tm_reader_fdopen(&r, fd, 1, path, o->raw ? TM_READ_RAW : 0);
  if (e != 0) { close(fd); return e; }
  e = read_spilled(r, m, mode, o->memory ? o->memory : TM_SPILL_MEMORY,
                   tmp_dir(o), info);
  tm_reader_close(r);
  return e;
}
/* }==================================================================== */
