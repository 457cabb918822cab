/*
** gen_common.h -- what the data generators (gen_log.c, gen_csv.c) share:
** a seeded random generator, a buffered writer and a line builder.
** Included once by each program, which defines GEN_NAME first.
*/
#ifndef GEN_COMMON_H
#define GEN_COMMON_H

/* {====== random numbers ====== */

/* splitmix64: tiny, fast and good enough for synthetic data; the whole
** generator state is this one word, so a seed fixes every byte. */
typedef struct { uint64_t s; } rng;

static uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* uniform in [0, n) */
static size_t rng_below(rng *r, size_t n) {
  return (size_t)(rng_unit(r) * (double)n);
}

/* Zipf-like index in [0, n): x = (n+1)^u is log-uniform on [1, n+1), so
** P(index = k) falls off as about 1/(k+1), the s = 1 Zipf law, without a
** table. */
static size_t rng_zipf(rng *r, size_t n) {
  size_t k = (size_t)pow((double)(n + 1), rng_unit(r)) - 1;
  return k < n ? k : n - 1;
}
/* }====== */

/* {====== output buffer ====== */

typedef struct {
  int fd;
  char *buf;
  size_t len, cap;
} outbuf;

static void out_flush(outbuf *o) {
  size_t done = 0;
  while (done < o->len) {
    ssize_t w = write(o->fd, o->buf + done, o->len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      perror(GEN_NAME ": write");
      exit(1);
    }
    done += (size_t)w;
  }
  o->len = 0;
}

static void out_put(outbuf *o, const char *p, size_t n) {
  if (o->len + n > o->cap) out_flush(o);
  memcpy(o->buf + o->len, p, n);
  o->len += n;
}
/* }====== */

/* {====== line builder ====== */

typedef struct { char *p; } pen;   /* write position in a line buffer */

static void put_str(pen *w, const char *s) {
  size_t n = strlen(s);
  memcpy(w->p, s, n);
  w->p += n;
}

static void put_uint(pen *w, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *w->p++ = tmp[--n];
}

static void put_2digits(pen *w, int v) {
  *w->p++ = (char)('0' + v / 10);
  *w->p++ = (char)('0' + v % 10);
}
/* }====== */

/* {====== sizes ====== */

static int parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return 0;
  unsigned shift = 0;
  switch (*end) {
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  }
  if (*end || v > (UINT64_MAX >> shift)) return 0;
  *out = (uint64_t)v << shift;
  return 1;
}
/* }====== */

#endif
