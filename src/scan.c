/*
** scan.c -- byte-level search over (ptr, len) and the cursor that walks a
** range in memory or through pread windows.  See scan.h for the contract.
**
** The fast paths live here and nowhere else:
**  - counting a byte: AVX2 (chosen at run time) or word-at-a-time;
**  - finding a literal: memchr for one byte; for longer needles an AVX2
**    filter on two of the needle's bytes, with glibc's memmem as the
**    fallback (no AVX2, short haystacks, or a filter that keeps matching
**    where the needle does not);
**  - finding backwards: memrchr, or the same AVX2 filter run from the end.
** No Lua and no global state: the CPU check is libgcc's, read-only here.
*/
#include "scan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -DTM_NO_SIMD builds (and tests) the portable paths only */
#if !defined(TM_NO_SIMD) && defined(__GNUC__) && \
    (defined(__x86_64__) || defined(__i386__))
#define TM_HAVE_AVX2 1
#include <immintrin.h>
#define TM_AVX2 __attribute__((target("avx2")))
/* libgcc fills its CPU model in a constructor: nothing to initialise */
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
#else
#define TM_HAVE_AVX2 0
#endif

#define ONES  UINT64_C(0x0101010101010101)
#define LOW7  UINT64_C(0x7f7f7f7f7f7f7f7f)

/* {====== counting a byte ====== */

static size_t count_bytes_loop(const char *p, size_t n, int c) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += (unsigned char)p[i] == (unsigned char)c;
  return k;
}

/* Word-at-a-time.  For x = word ^ pattern, ((x & 0x7f..) + 0x7f..) | x
** has the high bit of a byte set exactly when that byte of x is non-zero
** (the addition never carries out of a byte), so the complement's high
** bits mark the matches without false positives.  Matches are summed in
** eight 8-bit counters, folded before any can pass 255. */
static size_t count_swar(const char *p, size_t n, int c) {
  const uint64_t pat = ONES * (unsigned char)c;
  size_t total = 0, i = 0;
  while (n - i >= 8) {
    size_t words = (n - i) / 8;
    uint64_t acc = 0;
    if (words > 255) words = 255;
    for (; words > 0; words--, i += 8) {
      uint64_t w, x, t;
      memcpy(&w, p + i, 8);
      x = w ^ pat;
      t = ((x & LOW7) + LOW7) | x;
      acc += (~t >> 7) & ONES;
    }
    /* 8 lanes of <= 255 -> 4 lanes of <= 510 -> their sum in the top lane */
    acc = (acc & UINT64_C(0x00ff00ff00ff00ff))
        + ((acc >> 8) & UINT64_C(0x00ff00ff00ff00ff));
    total += (size_t)((acc * UINT64_C(0x0001000100010001)) >> 48);
  }
  return total + count_bytes_loop(p + i, n - i, c);
}

#if TM_HAVE_AVX2
TM_AVX2 static uint64_t sum_lanes(__m256i v) {
  return (uint64_t)_mm256_extract_epi64(v, 0)
       + (uint64_t)_mm256_extract_epi64(v, 1)
       + (uint64_t)_mm256_extract_epi64(v, 2)
       + (uint64_t)_mm256_extract_epi64(v, 3);
}

/* A compare gives 0xff (-1) per matching byte; subtracting it adds one to
** an 8-bit counter.  Four independent counters (128 bytes a round) keep
** two loads a cycle busy; after at most 255 rounds, _mm256_sad_epu8 sums
** each counter's bytes into 64-bit lanes before they can wrap. */
TM_AVX2 static size_t count_avx2(const char *p, size_t n, int c) {
  const __m256i pat = _mm256_set1_epi8((char)c);
  const __m256i zero = _mm256_setzero_si256();
  __m256i total = zero, a;
  size_t i = 0;
  while (n - i >= 128) {
    size_t rounds = (n - i) / 128;
    __m256i a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    if (rounds > 255) rounds = 255;
    for (; rounds > 0; rounds--, i += 128) {
      const __m256i *q = (const __m256i *)(const void *)(p + i);
      __m256i v0 = _mm256_loadu_si256(q), v1 = _mm256_loadu_si256(q + 1);
      __m256i v2 = _mm256_loadu_si256(q + 2), v3 = _mm256_loadu_si256(q + 3);
      a0 = _mm256_sub_epi8(a0, _mm256_cmpeq_epi8(pat, v0));
      a1 = _mm256_sub_epi8(a1, _mm256_cmpeq_epi8(pat, v1));
      a2 = _mm256_sub_epi8(a2, _mm256_cmpeq_epi8(pat, v2));
      a3 = _mm256_sub_epi8(a3, _mm256_cmpeq_epi8(pat, v3));
    }
    total = _mm256_add_epi64(total, _mm256_sad_epu8(a0, zero));
    total = _mm256_add_epi64(total, _mm256_sad_epu8(a1, zero));
    total = _mm256_add_epi64(total, _mm256_sad_epu8(a2, zero));
    total = _mm256_add_epi64(total, _mm256_sad_epu8(a3, zero));
  }
  a = zero;  /* at most three more blocks: no wrap */
  for (; n - i >= 32; i += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    a = _mm256_sub_epi8(a, _mm256_cmpeq_epi8(pat, v));
  }
  total = _mm256_add_epi64(total, _mm256_sad_epu8(a, zero));
  return (size_t)sum_lanes(total) + count_swar(p + i, n - i, c);
}
#endif

size_t tm_count_byte(const char *p, size_t n, int c) {
#if TM_HAVE_AVX2
  if (n >= 64 && has_avx2()) return count_avx2(p, n, c);
#endif
  return n > 0 ? count_swar(p, n, c) : 0;  /* p may be NULL when n == 0 */
}
/* }====== */

/* {====== literal search ====== */

/* How common each byte is in the files tome is for, as a rank from 0
** (rarest) to 255 (most common): the bytes ordered by their mean share in
** four samples of equal weight (a combined-format access log, a CSV
** export, English prose with some UTF-8, C headers).  The SIMD filter
** compares the two rarest bytes of the needle at their offsets; the
** rarer they are, the fewer false candidates to verify.  Derived once,
** offline; only the order matters. */
static const unsigned char byte_rank[256] = {
   55, 31,  7, 11,  8,  0, 19, 12,130,182,236, 21, 49,159, 77, 99,
   68, 38, 40, 39, 17,  4, 35, 51, 14,  5,  3,147, 79, 20, 18, 47,
  255,160,232,186,152,156,171,172,212,213,199,187,247,228,241,239,
  253,252,246,231,226,234,235,223,219,220,230,196,177,180,176,166,
  173,206,189,204,194,217,191,200,195,205,174,192,208,202,210,214,
  211,167,203,224,229,193,181,188,190,179,197,184,170,183,157,240,
  164,244,218,242,233,254,222,216,225,249,178,215,238,221,243,248,
  237,175,245,250,251,227,198,209,201,207,185,169,165,168,154, 81,
  161,126,115,110, 28, 41,116,107, 53, 87, 78,104, 16,112, 54, 74,
   22, 70,102, 84,139, 75,  1, 15,135,144, 44,106,148,145, 69, 96,
   72,143,158, 36,137,105, 93,127,151,153, 89,138, 60,129,100, 94,
  103,134,119,133, 97,113,150,149,128, 23,123,141,142,136,131,101,
   26, 61,155,163,121,140, 24, 27, 56, 25, 45, 92, 34, 57, 90,125,
  146,132, 64, 48, 10, 85, 13, 91,  2, 66,120, 95, 29, 65, 73,111,
  122,124,162, 83, 76, 62, 67, 42, 32,117,  6, 33, 50, 98,109,114,
   30, 37, 43,108, 71, 88,118, 46,  9, 80, 63, 86, 58, 59, 82, 52,
};

/* a needle (nn >= 2) prepared for the SIMD filter */
typedef struct finder {
  const char *nd;
  size_t nn;
  size_t o1, o2;  /* the two offsets the filter compares (o1 != o2) */
} finder;

static void finder_init(finder *f, const char *nd, size_t nn) {
  size_t i, o1 = 0, o2 = 1;
  for (i = 1; i < nn; i++)
    if (byte_rank[(unsigned char)nd[i]] < byte_rank[(unsigned char)nd[o1]])
      o1 = i;
  o2 = (o1 == 0) ? 1 : 0;
  for (i = 0; i < nn; i++)
    if (i != o1 &&
        byte_rank[(unsigned char)nd[i]] < byte_rank[(unsigned char)nd[o2]])
      o2 = i;
  f->nd = nd; f->nn = nn; f->o1 = o1; f->o2 = o2;
}

/* Backwards without SIMD: memrchr on the last byte, then compare the
** rest.  O(hn * nn) at worst (a haystack full of the last byte), linear
** in practice. */
static const char *rfind_scalar(const char *h, size_t hn, const char *nd,
                                size_t nn) {
  const unsigned char last = (unsigned char)nd[nn - 1];
  size_t e = hn;  /* candidate last-byte positions lie in [nn-1, e) */
  while (e >= nn) {
    const char *q = memrchr(h + nn - 1, last, e - (nn - 1));
    const char *st;
    if (q == NULL) return NULL;
    st = q - (nn - 1);
    if (memcmp(st, nd, nn - 1) == 0) return st;
    e = (size_t)(q - h);
  }
  return NULL;
}

#if TM_HAVE_AVX2
/* Candidates i..i+31 whose bytes at o1 and o2 match the needle's. */
TM_AVX2 static unsigned filter32(const finder *f, const char *h, __m256i b1,
                                 __m256i b2) {
  __m256i e1 = _mm256_cmpeq_epi8(b1,
      _mm256_loadu_si256((const __m256i *)(const void *)(h + f->o1)));
  __m256i e2 = _mm256_cmpeq_epi8(b2,
      _mm256_loadu_si256((const __m256i *)(const void *)(h + f->o2)));
  return (unsigned)_mm256_movemask_epi8(_mm256_and_si256(e1, e2));
}

/* Forward, hn >= nn.  Every 32 candidate starts are filtered at once and
** the survivors compared in full.  When false candidates keep coming
** (more than one per 8 bytes scanned, past a small allowance), the needle
** is a bad fit for the filter: memmem (two-way, linear) takes the rest.
** The last < 32 candidates go to memmem too. */
TM_AVX2 static const char *find_avx2(const finder *f, const char *h,
                                     size_t hn) {
  const __m256i b1 = _mm256_set1_epi8(f->nd[f->o1]);
  const __m256i b2 = _mm256_set1_epi8(f->nd[f->o2]);
  size_t i = 0, misses = 0;
  /* two blocks a round: one branch per 64 bytes while nothing matches */
  while (hn - i >= f->nn + 63) {
    uint64_t m = filter32(f, h + i, b1, b2) |
                 (uint64_t)filter32(f, h + i + 32, b1, b2) << 32;
    while (m != 0) {
      size_t k = (size_t)__builtin_ctzll(m);
      if (memcmp(h + i + k, f->nd, f->nn) == 0) return h + i + k;
      if (++misses > 64 + i / 8) return memmem(h + i, hn - i, f->nd, f->nn);
      m &= m - 1;
    }
    i += 64;
  }
  while (hn - i >= f->nn + 31) {  /* all 32 candidates fit */
    unsigned m = filter32(f, h + i, b1, b2);
    while (m != 0) {
      size_t k = (size_t)__builtin_ctz(m);
      if (memcmp(h + i + k, f->nd, f->nn) == 0) return h + i + k;
      if (++misses > 64 + i / 8) return memmem(h + i, hn - i, f->nd, f->nn);
      m &= m - 1;
    }
    i += 32;
  }
  return memmem(h + i, hn - i, f->nd, f->nn);
}

/* Backward, hn >= nn: the same filter over blocks taken from the end. */
TM_AVX2 static const char *rfind_avx2(const finder *f, const char *h,
                                      size_t hn) {
  const __m256i b1 = _mm256_set1_epi8(f->nd[f->o1]);
  const __m256i b2 = _mm256_set1_epi8(f->nd[f->o2]);
  size_t top = hn - f->nn + 1;  /* candidates [0, top) are left */
  while (top >= 32) {
    size_t i = top - 32;
    unsigned m = filter32(f, h + i, b1, b2);
    while (m != 0) {
      size_t k = 31 - (size_t)__builtin_clz(m);
      if (memcmp(h + i + k, f->nd, f->nn) == 0) return h + i + k;
      m &= ~(1u << k);
    }
    top = i;
  }
  return rfind_scalar(h, top + f->nn - 1, f->nd, f->nn);
}
#endif

/* first occurrence of a prepared needle in h[0..hn) */
static const char *finder_find(const finder *f, const char *h, size_t hn) {
  if (hn < f->nn) return NULL;
#if TM_HAVE_AVX2
  if (hn >= f->nn + 31 && has_avx2()) return find_avx2(f, h, hn);
#endif
  return memmem(h, hn, f->nd, f->nn);
}

const char *tm_find(const char *h, size_t hn, const char *nd, size_t nn) {
  finder f;
  if (nn == 0) return h;
  if (hn < nn) return NULL;
  if (nn == 1) return memchr(h, (unsigned char)nd[0], hn);
  finder_init(&f, nd, nn);
  return finder_find(&f, h, hn);
}

const char *tm_rfind(const char *h, size_t hn, const char *nd, size_t nn) {
  if (nn == 0) return hn > 0 ? h + hn : h;  /* h may be NULL when hn == 0 */
  if (hn < nn) return NULL;
  if (nn == 1) return memrchr(h, (unsigned char)nd[0], hn);
#if TM_HAVE_AVX2
  if (hn >= nn + 31 && has_avx2()) {
    finder f;
    finder_init(&f, nd, nn);
    return rfind_avx2(&f, h, hn);
  }
#endif
  return rfind_scalar(h, hn, nd, nn);
}

/* Non-overlapping occurrences in h[0..hn), left to right; *end gets the
** offset just after the last one (0 when there is none). */
static size_t count_in(const finder *f, const char *h, size_t hn,
                       size_t *end) {
  size_t k = 0, at = 0;
  const char *q;
  while ((q = finder_find(f, h + at, hn - at)) != NULL) {
    k++;
    at = (size_t)(q - h) + f->nn;
  }
  *end = at;
  return k;
}

size_t tm_count(const char *h, size_t hn, const char *nd, size_t nn) {
  finder f;
  size_t end;
  if (nn == 0 || hn < nn) return 0;
  if (nn == 1) return tm_count_byte(h, hn, (unsigned char)nd[0]);
  finder_init(&f, nd, nn);
  return count_in(&f, h, hn, &end);
}
/* }====== */

/* {====== fields ====== */

static size_t split_blanks(const char *p, size_t n, tm_span *out,
                           size_t max, int all) {
  size_t i = 0, k = 0;
  while (all || k < max) {
    while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
    if (i == n) return k;
    size_t b = i;
    while (i < n && p[i] != ' ' && p[i] != '\t') i++;
    if (k < max) {
      out[k].start = b;
      out[k].len = i - b;
    }
    k++;
  }
  return k;
}

size_t tm_split(const char *p, size_t n, const char *sep, size_t sn,
                tm_span *out, size_t max, int all) {
  size_t pos = 0, k = 0;
  if (sep == NULL) return split_blanks(p, n, out, max, all);
  while (all || k < max) {
    const char *q = pos < n ? tm_find(p + pos, n - pos, sep, sn) : NULL;
    size_t end = q ? (size_t)(q - p) : n;
    if (k < max) {
      out[k].start = pos;
      out[k].len = end - pos;
    }
    k++;
    if (q == NULL) return k;
    pos = end + sn;
  }
  return k;
}

int tm_column(const char *p, size_t n, const char *sep, size_t sn, int col,
              size_t *start, size_t *len) {
  if (col < 0) {  /* all the fields are needed to count from the last */
    tm_span sp[TM_SPLIT_MAX];
    size_t nf = tm_split(p, n, sep, sn, sp, TM_SPLIT_MAX, 1);
    size_t kept = nf < TM_SPLIT_MAX ? nf : TM_SPLIT_MAX;
    size_t back = (size_t)(-(long)col);
    if (col == 0 || back > nf || nf - back >= kept) return 0;
    *start = sp[nf - back].start;
    *len = sp[nf - back].len;
    return 1;
  }
  if (col == 0) return 0;
  if (sep == NULL) {  /* awk's blanks, as split_blanks */
    size_t i = 0;
    for (int k = 1;; k++) {
      while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
      if (i == n) return 0;
      size_t b = i;
      while (i < n && p[i] != ' ' && p[i] != '\t') i++;
      if (k == col) { *start = b; *len = i - b; return 1; }
    }
  }
  size_t pos = 0;  /* as tm_split: k separators give k + 1 fields */
  for (int k = 1;; k++) {
    const char *q = pos < n ? tm_find(p + pos, n - pos, sep, sn) : NULL;
    size_t end = q ? (size_t)(q - p) : n;
    if (k == col) { *start = pos; *len = end - pos; return 1; }
    if (q == NULL) return 0;
    pos = end + sn;
  }
}
/* }====== */

/* {====== cursor: windows ====== */

/* what tm_src_get returns for an empty request (never NULL: NULL is an
** error) */
static const char empty_range[1] = "";

#define TM_OFF_MAX \
  ((off_t)(((uintmax_t)1 << (sizeof(off_t) * CHAR_BIT - 1)) - 1))

static int src_fail(tm_src *s, int err) {
  s->err = err;
  return 0;
}

void tm_src_init(tm_src *s, const char *mem, int fd, off_t foff, size_t len,
                 char *buf, size_t cap) {
  s->mem = mem;
  s->fd = fd;
  s->foff = foff;
  s->len = len;
  s->buf = buf;
  s->cap = buf != NULL ? cap : 0;
  s->wpos = s->wlen = 0;
  s->err = 0;
  s->step = 0;
  s->released = 0;
  s->release = NULL;
  s->ud = NULL;
  s->readat = NULL;
  s->rd = NULL;
  s->rdfree = NULL;
}

void tm_src_steps(tm_src *s, size_t step,
                  void (*release)(tm_src *s, size_t from, size_t to),
                  void *ud) {
  s->step = step;
  s->release = release;
  s->ud = ud;
  s->released = 0;
}

/* A window of memory: up to the end of pos's step (or further when more
** is needed); the steps wholly behind pos are released.  A cursor sent
** back (tome.parallel's CSV cut counts quotes behind the separator it
** found) releases again from where it went back to, not only beyond the
** furthest point it had reached. */
static const char *mem_step(tm_src *s, size_t pos, size_t need,
                            size_t *avail) {
  size_t rest = s->len - pos, wend = (pos / s->step + 1) * s->step - pos;
  size_t n = wend < rest ? wend : rest, base = pos / s->step * s->step;
  if (need > n) {  /* to the end of the step that holds pos + need */
    size_t far = need < rest ? need : rest;
    n = (pos + far + s->step - 1) / s->step * s->step - pos;
    if (n > rest) n = rest;
  }
  if (s->release != NULL && base > s->released) {
    s->release(s, s->released, base);
    s->released = base;
  } else if (base < s->released) {
    s->released = base;
  }
  *avail = n;
  return s->mem + pos;
}

void tm_src_finish(tm_src *s) {
  if (s->release != NULL && s->len > s->released) {
    s->release(s, s->released, s->len);
    s->released = s->len;
  }
}

void tm_src_done(tm_src *s) {
  tm_src_finish(s);
  if (s->rdfree != NULL && s->rd != NULL) s->rdfree(s->rd);
  s->rd = NULL;
  free(s->buf);
  s->buf = NULL;
  s->cap = 0;
  s->wpos = s->wlen = 0;
}

/* Read range bytes [pos, pos + n) into dst.  Retries on EINTR and after
** partial reads; end of file before n bytes is TM_ETRUNC. */
static int src_read(tm_src *s, char *dst, size_t pos, size_t n) {
  if (s->readat != NULL)
    return n == 0 || s->readat(s, dst, n, (uint64_t)s->foff + pos);
  while (n > 0) {
    size_t ask = n > (size_t)SSIZE_MAX ? (size_t)SSIZE_MAX : n;
    ssize_t r;
    if (s->foff < 0 || (uintmax_t)pos > (uintmax_t)(TM_OFF_MAX - s->foff))
      return src_fail(s, EOVERFLOW);
    r = pread(s->fd, dst, ask, s->foff + (off_t)pos);
    if (r < 0) {
      if (errno == EINTR) continue;
      return src_fail(s, errno);
    }
    if (r == 0) return src_fail(s, TM_ETRUNC);
    dst += r; pos += (size_t)r; n -= (size_t)r;
  }
  return 1;
}

/* Make the buffer hold at least 'need' bytes: TM_SRC_BLOCK to start with,
** then doubling.  realloc keeps the window's bytes at the start. */
static int src_grow(tm_src *s, size_t need) {
  size_t cap = s->cap > 0 ? s->cap : TM_SRC_BLOCK;
  char *b;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) { cap = need; break; }
    cap *= 2;
  }
  b = realloc(s->buf, cap);
  if (b == NULL) return src_fail(s, ENOMEM);
  s->buf = b;
  s->cap = cap;
  return 1;
}

/* Load the window [ns, ne) (ne - ns <= cap).  Bytes the old window shares
** with the new one are moved, not read again: forward walks keep the
** head of the new window, backward walks its tail. */
static int src_fill(tm_src *s, size_t ns, size_t ne) {
  size_t os = s->wpos, oe = s->wpos + s->wlen;
  size_t ks = ns > os ? ns : os, ke = ne < oe ? ne : oe;
  if (s->wlen > 0 && ks < ke)
    memmove(s->buf + (ks - ns), s->buf + (ks - os), ke - ks);
  else
    ks = ke = ns;
  s->wlen = 0;  /* invalid until both reads succeed */
  if (!src_read(s, s->buf, ns, ks - ns)) return 0;
  if (!src_read(s, s->buf + (ke - ns), ke, ne - ke)) return 0;
  s->wpos = ns;
  s->wlen = ne - ns;
  return 1;
}

const char *tm_src_get(tm_src *s, size_t pos, size_t need, size_t *avail) {
  size_t rest, ne;
  if (pos > s->len) { src_fail(s, EINVAL); return NULL; }
  rest = s->len - pos;
  if (rest == 0) { *avail = 0; return empty_range; }
  if (s->fd < 0 && s->step > 0) return mem_step(s, pos, need, avail);
  if (s->fd < 0) { *avail = rest; return s->mem + pos; }
  if (need > rest) need = rest;
  if (need == 0) need = 1;
  if (pos >= s->wpos && pos - s->wpos < s->wlen &&
      need <= s->wlen - (pos - s->wpos)) {
    *avail = s->wpos + s->wlen - pos;
    return s->buf + (pos - s->wpos);
  }
  if ((s->buf == NULL || need > s->cap) && !src_grow(s, need)) return NULL;
  ne = pos + (rest < s->cap ? rest : s->cap);
  if (!src_fill(s, pos, ne)) return NULL;
  *avail = ne - pos;
  return s->buf;
}

/* Backward over memory in steps: a window from the start of the step
** that holds end - need up to end.  wpos + wlen keeps the top of what
** the backward walk may hold; the steps wholly above end's are released
** as the walk passes below them. */
static const char *mem_step_back(tm_src *s, size_t end, size_t need,
                                 size_t *avail) {
  size_t lo = need < end ? end - need : 0, ns = lo / s->step * s->step;
  size_t above = (end + s->step - 1) / s->step * s->step;
  size_t hi = s->wpos + s->wlen;
  if (s->release != NULL && hi > above) {
    s->release(s, above, hi);
    hi = above;
  }
  if (end > hi) hi = end;
  s->wpos = ns;
  s->wlen = hi - ns;
  *avail = end - ns;
  return s->mem + ns;
}

const char *tm_src_get_back(tm_src *s, size_t end, size_t need,
                            size_t *avail) {
  size_t ns;
  if (end > s->len) { src_fail(s, EINVAL); return NULL; }
  if (end == 0) { *avail = 0; return empty_range; }
  if (s->fd < 0 && s->step > 0) return mem_step_back(s, end, need, avail);
  if (s->fd < 0) { *avail = end; return s->mem; }
  if (need > end) need = end;
  if (need == 0) need = 1;
  if (end >= s->wpos && end - s->wpos <= s->wlen &&
      end - s->wpos >= need) {
    *avail = end - s->wpos;
    return s->buf;
  }
  if ((s->buf == NULL || need > s->cap) && !src_grow(s, need)) return NULL;
  ns = end - (end < s->cap ? end : s->cap);
  if (!src_fill(s, ns, end)) return NULL;
  *avail = end - ns;
  return s->buf;
}
/* }====== */

/* {====== cursor: searching ====== */

/* Windows overlap by nn - 1 bytes, so a match that straddles two windows
** is whole in the second.  Over memory the first window is the whole
** range and these are the plain memory functions. */
int tm_src_find(tm_src *s, size_t from, size_t to, const char *nd, size_t nn,
                size_t *at) {
  size_t p = from;
  if (to > s->len) to = s->len;
  if (from > to) return 0;
  if (nn == 0) { *at = from; return 1; }
  while (to - p >= nn) {
    size_t avail, m;
    const char *w = tm_src_get(s, p, nn, &avail), *q;
    if (w == NULL) return -1;
    m = avail < to - p ? avail : to - p;
    q = tm_find(w, m, nd, nn);
    if (q != NULL) { *at = p + (size_t)(q - w); return 1; }
    if (m == to - p) break;
    p += m - (nn - 1);
  }
  return 0;
}

int tm_src_rfind(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, size_t *at) {
  size_t e;
  if (to > s->len) to = s->len;
  if (from > to) return 0;
  if (nn == 0) { *at = to; return 1; }
  e = to;
  while (e - from >= nn) {
    size_t avail, m;
    const char *w = tm_src_get_back(s, e, nn, &avail), *q;
    if (w == NULL) return -1;
    m = avail < e - from ? avail : e - from;
    w += avail - m;  /* now range byte e - m */
    q = tm_rfind(w, m, nd, nn);
    if (q != NULL) { *at = e - m + (size_t)(q - w); return 1; }
    if (m == e - from) break;
    e -= m - (nn - 1);
  }
  return 0;
}

/* Non-overlapping, left to right: after the window, the next one starts
** at the end of the last match or nn - 1 bytes before the window's end,
** whichever is later (no match starts in between). */
int tm_src_count(tm_src *s, size_t from, size_t to, const char *nd,
                 size_t nn, uint64_t *count) {
  finder f;
  uint64_t total = 0;
  size_t p = from;
  if (nn == 0) { src_fail(s, EINVAL); return -1; }
  *count = 0;
  if (to > s->len) to = s->len;
  if (from > to || to - from < nn) return 1;
  if (s->fd < 0 && s->step == 0) {
    *count = tm_count(s->mem + from, to - from, nd, nn);
    return 1;
  }
  if (nn >= 2) finder_init(&f, nd, nn);
  while (to - p >= nn) {
    size_t avail, m, end, next;
    const char *w = tm_src_get(s, p, nn, &avail);
    if (w == NULL) return -1;
    m = avail < to - p ? avail : to - p;
    if (nn == 1) {
      total += tm_count_byte(w, m, (unsigned char)nd[0]);
      p += m;
      continue;
    }
    total += count_in(&f, w, m, &end);
    if (m == to - p) break;
    next = p + m - (nn - 1);
    p = p + end > next ? p + end : next;
  }
  *count = total;
  return 1;
}

/* The record starting at 'pos' and ending before the next separator:
** returns 1 when a separator ends it (*n excludes it), 0 when it runs to
** the end of the range, -1 on error.  The window is asked for one byte
** more than was searched each round, so the buffer doubles as needed and
** the search resumes where it stopped (less sn - 1 bytes). */
static int src_record(tm_src *s, size_t pos, const char *sep, size_t sn,
                      const char **rec, size_t *n) {
  size_t done = 0, need = 1;
  for (;;) {
    size_t avail, skip = done > sn - 1 ? done - (sn - 1) : 0;
    const char *w = tm_src_get(s, pos, need, &avail), *q;
    if (w == NULL) return -1;
    q = tm_find(w + skip, avail - skip, sep, sn);
    if (q != NULL) { *rec = w; *n = (size_t)(q - w); return 1; }
    if (avail == s->len - pos) { *rec = w; *n = avail; return 0; }
    done = avail;
    need = avail + 1;
  }
}

int tm_src_line(tm_src *s, size_t pos, const char **line, size_t *n,
                size_t *next) {
  int r;
  if (pos >= s->len) return 0;
  r = src_record(s, pos, "\n", 1, line, n);
  if (r < 0) return -1;
  *next = r ? pos + *n + 1 : s->len;
  return 1;
}

int tm_src_field(tm_src *s, size_t pos, const char *sep, size_t sn,
                 const char **field, size_t *n, size_t *next) {
  int r;
  if (sn == 0) { src_fail(s, EINVAL); return -1; }
  if (pos > s->len) return 0;
  r = src_record(s, pos, sep, sn, field, n);
  if (r < 0) return -1;
  *next = r ? pos + *n + sn : s->len + 1;
  return 1;
}

/* tm_src_grep for a cursor that must not go back (a decompressor): each
** window after the first starts after the last newline of the one before,
** so the line around a match is always in the window.  2 when a window
** holds no newline at all (then the caller goes on as usual). */
static int grep_forward(tm_src *s, size_t from, const char *nd, size_t nn,
                        size_t *start) {
  size_t p = from, need = nn;
  for (;;) {
    size_t avail;
    const char *w = tm_src_get(s, p, need, &avail), *q, *nl;
    if (w == NULL) return -1;
    q = tm_find(w, avail, nd, nn);
    if (q != NULL) {
      nl = memrchr(w, '\n', (size_t)(q - w));
      *start = nl != NULL ? p + (size_t)(nl - w) + 1 : p;
      return 1;
    }
    if (avail == s->len - p) return 0;
    nl = memrchr(w, '\n', avail);
    if (nl == NULL) {
      /* the rest of a window: load a whole one from p; a whole window
      ** without a newline: the usual way */
      if (avail >= s->cap) return 2;
      need = avail + 1;
      continue;
    }
    p += (size_t)(nl - w) + 1;
    need = nn;
  }
}

int tm_src_grep(tm_src *s, size_t from, const char *nd, size_t nn,
                size_t *start, const char **line, size_t *n, size_t *next) {
  size_t at, nl;
  int r;
  if (from >= s->len) return 0;
  if (nn > 0 && memchr(nd, '\n', nn) != NULL) return 0;
  if (s->readat != NULL && nn > 0) {
    r = grep_forward(s, from, nd, nn, start);
    if (r < 2) return r <= 0 ? r : tm_src_line(s, *start, line, n, next);
  }
  r = tm_src_find(s, from, s->len, nd, nn, &at);
  if (r <= 0) return r;
  r = tm_src_rfind(s, from, at, "\n", 1, &nl);
  if (r < 0) return -1;
  *start = r ? nl + 1 : from;
  return tm_src_line(s, *start, line, n, next);
}
/* }====== */
