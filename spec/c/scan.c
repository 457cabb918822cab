/*
** spec/c/scan.c -- differential tests of the scan room against naive
** reference implementations, on random data from small alphabets (so that
** matches, newlines and NUL bytes are everywhere).
**
**   spec_scan [SEED]       run the tests (the seed is printed; pass it back
**                          to replay a failure)
**   spec_scan --bench N    time tm_count_byte (and friends) over N MiB
**
** The cursor functions run (a) over memory and (b) over a temporary file
** through pread, with tiny buffers handed in (cap 1, 2, 3, 7, 64) so that
** matches and lines straddle window boundaries all the time.
**
** White box: the file includes src/scan.c itself, so that the portable
** paths (word-at-a-time count, scalar rfind) are tested on this AVX2
** machine too.  Linking then takes nothing from libtome.a's scan.o.
*/
#include "../../src/scan.c"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* {====== helpers ====== */

#include "harness.h"

#define NONE SIZE_MAX
static ssize_t sgn(size_t x) { return x == NONE ? -1 : (ssize_t)x; }

typedef struct alphabet { const char *s; size_t n; } alphabet;
static const alphabet alphabets[] = {
  { "ab\n\0", 4 },
  { "abc \n\r\0x", 8 },
  { "a\n", 2 },
  { "aaaaaaaaaaaaaaab\n", 17 },  /* long runs: the SIMD filter misfires */
  { NULL, 256 },                   /* any byte */
};
#define NALPHA (sizeof alphabets / sizeof alphabets[0])

static char pick(const alphabet *a) {
  return a->s ? a->s[below(a->n)] : (char)below(256);
}
static void fill(char *p, size_t n, const alphabet *a) {
  for (size_t i = 0; i < n; i++) p[i] = pick(a);
}

/* a needle: from the alphabet, or cut out of the data (so it occurs) */
static size_t needle(char *nd, const char *d, size_t n, const alphabet *a) {
  size_t nn, k = below(10);
  if (k < 4 || n < 6) {
    nn = 1 + below(5);
    fill(nd, nn, a);
  } else if (k < 8) {
    nn = 1 + below(5);
    memcpy(nd, d + below(n - nn + 1), nn);
  } else {
    nn = 6 + below(35);
    if (nn > n) nn = n;
    memcpy(nd, d + below(n - nn + 1), nn);
  }
  return nn;
}
/* }====== */

/* {====== reference implementations ====== */

static size_t ref_count_byte(const char *p, size_t n, int c) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += (unsigned char)p[i] == (unsigned char)c;
  return k;
}
static size_t ref_find(const char *h, size_t hn, const char *nd, size_t nn) {
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, nd, nn) == 0) return i;
  return NONE;
}
static size_t ref_rfind(const char *h, size_t hn, const char *nd, size_t nn) {
  for (size_t i = hn + 1; i-- > 0;)
    if (i + nn <= hn && memcmp(h + i, nd, nn) == 0) return i;
  return NONE;
}
static size_t ref_count(const char *h, size_t hn, const char *nd, size_t nn) {
  size_t k = 0, i = 0;
  while (i + nn <= hn) {
    if (memcmp(h + i, nd, nn) == 0) { k++; i += nn; }
    else i++;
  }
  return k;
}
/* end of the line starting at pos (the newline's position, or n) */
static size_t ref_eol(const char *d, size_t n, size_t pos) {
  while (pos < n && d[pos] != '\n') pos++;
  return pos;
}
/* }====== */

/* {====== memory functions ====== */

static void test_count_byte(const char *d, size_t n, int c) {
  size_t want = ref_count_byte(d, n, c);
  size_t got = tm_count_byte(d, n, c), sw = count_swar(d, n, c);
  CHECK(got == want, "count_byte n=%zu c=%d: %zu, want %zu", n, c, got, want);
  CHECK(sw == want, "count_swar n=%zu c=%d: %zu, want %zu", n, c, sw, want);
#if TM_HAVE_AVX2
  if (has_avx2()) {
    size_t av = count_avx2(d, n, c);
    CHECK(av == want, "count_avx2 n=%zu c=%d: %zu, want %zu", n, c, av, want);
  }
#endif
}

static void test_search(const char *h, size_t hn, const char *nd, size_t nn) {
  size_t f = ref_find(h, hn, nd, nn), r = ref_rfind(h, hn, nd, nn);
  size_t k = ref_count(h, hn, nd, nn), gk = tm_count(h, hn, nd, nn);
  const char *gf = tm_find(h, hn, nd, nn), *gr = tm_rfind(h, hn, nd, nn);
  size_t at = gf ? (size_t)(gf - h) : NONE;
  CHECK(at == f, "find hn=%zu nn=%zu: %zd, want %zd", hn, nn, sgn(at),
        sgn(f));
  at = gr ? (size_t)(gr - h) : NONE;
  CHECK(at == r, "rfind hn=%zu nn=%zu: %zd, want %zd", hn, nn, sgn(at),
        sgn(r));
  CHECK(gk == k, "count hn=%zu nn=%zu: %zu, want %zu", hn, nn, gk, k);
  if (nn >= 2 && hn >= nn) {
    const char *sr = rfind_scalar(h, hn, nd, nn);
    CHECK((sr ? (size_t)(sr - h) : NONE) == r, "rfind_scalar hn=%zu nn=%zu",
          hn, nn);
  }
}

static void test_memory(const char *d, size_t n, const alphabet *a) {
  for (int t = 0; t < 12; t++) {
    size_t i = t == 0 ? 0 : below(n + 1);
    size_t j = t == 0 ? n : i + below(n - i + 1);
    test_count_byte(d + i, j - i, (unsigned char)pick(a));
    if (t == 1) test_count_byte(d + i, j - i, -1);  /* c as a negative int */
  }
  for (int t = 0; t < 30; t++) {
    char nd[64];
    size_t nn = needle(nd, d, n, a);
    size_t i = below(4) ? 0 : below(n + 1);
    size_t j = below(4) ? n : i + below(n - i + 1);
    if (nn == 0) continue;
    test_search(d + i, j - i, nd, nn);
  }
}
/* }====== */

/* {====== cursor ====== */

typedef struct fixture {
  const char *d;     /* the range's bytes */
  size_t n;
  const alphabet *a;
  int fd;            /* a temporary file holding them at foff */
  off_t foff;
} fixture;

typedef struct config { int file; size_t cap; } config;
static const config configs[] = {
  { 0, 0 }, { 1, 0 }, { 1, 1 }, { 1, 2 }, { 1, 3 }, { 1, 7 }, { 1, 64 },
};
#define NCONFIG (sizeof configs / sizeof configs[0])

static int temp_file(void) {
  char path[] = "/tmp/tome_scan_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); exit(1); }
  unlink(path);
  return fd;
}
static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { perror("write"); exit(1); }
    p += w; n -= (size_t)w;
  }
}
/* the data at a random offset, with random bytes before and after */
static void fixture_file(fixture *fx) {
  char junk[16];
  size_t pre = below(10), post = below(3) ? below(10) : 0;
  fill(junk, sizeof junk, &alphabets[NALPHA - 1]);
  fx->fd = temp_file();
  write_all(fx->fd, junk, pre);
  write_all(fx->fd, fx->d, fx->n);
  write_all(fx->fd, junk, post);
  fx->foff = (off_t)pre;
}

static void src_open(tm_src *s, const fixture *fx, const config *c) {
  char *buf = c->cap ? malloc(c->cap) : NULL;
  if (c->file)
    tm_src_init(s, NULL, fx->fd, fx->foff, fx->n, buf, c->cap);
  else
    tm_src_init(s, fx->d, -1, 0, fx->n, buf, c->cap);
}

static void check_get(tm_src *s, const fixture *fx) {
  size_t pos = below(fx->n + 1), need = below(2 * s->cap + 10), av = 0;
  const char *w = tm_src_get(s, pos, need, &av);
  size_t rest = fx->n - pos, want = need < rest ? need : rest;
  CHECK(w != NULL, "get pos=%zu: err %d", pos, s->err);
  if (w == NULL) return;
  CHECK(av >= want && av <= rest, "get pos=%zu need=%zu: avail %zu", pos,
        need, av);
  CHECK(memcmp(w, fx->d + pos, av) == 0, "get pos=%zu: wrong bytes", pos);
  pos = below(fx->n + 1);  /* now backwards: pos is the end */
  w = tm_src_get_back(s, pos, need, &av);
  want = need < pos ? need : pos;
  CHECK(w != NULL, "get_back end=%zu: err %d", pos, s->err);
  if (w == NULL) return;
  CHECK(av >= want && av <= pos, "get_back end=%zu need=%zu: avail %zu", pos,
        need, av);
  CHECK(memcmp(w, fx->d + pos - av, av) == 0, "get_back end=%zu: bytes", pos);
}

/* random from/to, sometimes reversed or past the end */
static void pick_range(const fixture *fx, size_t *from, size_t *to) {
  *from = below(3) ? 0 : below(fx->n + 2);
  *to = below(3) ? fx->n : below(fx->n + 2);
  if (*to > fx->n) *to = fx->n;
}

static void check_find(tm_src *s, const fixture *fx) {
  char nd[64];
  size_t nn = needle(nd, fx->d, fx->n, fx->a), from, to, at = NONE, want;
  uint64_t k = 0;
  int r;
  pick_range(fx, &from, &to);
  /* find */
  want = from <= to ? ref_find(fx->d + from, to - from, nd, nn) : NONE;
  if (want != NONE) want += from;
  r = tm_src_find(s, from, to, nd, nn, &at);
  CHECK(r >= 0, "src_find: err %d", s->err);
  if (r != 1) at = NONE;
  CHECK(at == want, "src_find [%zu,%zu) nn=%zu: %zd, want %zd", from, to, nn,
        sgn(at), sgn(want));
  /* rfind */
  want = from <= to ? ref_rfind(fx->d + from, to - from, nd, nn) : NONE;
  if (want != NONE) want += from;
  r = tm_src_rfind(s, from, to, nd, nn, &at);
  CHECK(r >= 0, "src_rfind: err %d", s->err);
  if (r != 1) at = NONE;
  CHECK(at == want, "src_rfind [%zu,%zu) nn=%zu: %zd, want %zd", from, to,
        nn, sgn(at), sgn(want));
  /* count */
  want = from <= to ? ref_count(fx->d + from, to - from, nd, nn) : 0;
  r = tm_src_count(s, from, to, nd, nn, &k);
  CHECK(r == 1, "src_count: r %d err %d", r, s->err);
  CHECK(k == want, "src_count [%zu,%zu) nn=%zu: %zu, want %zu", from, to, nn,
        (size_t)k, want);
}

/* walk lines from pos for at most 'steps' lines */
static void walk_lines(tm_src *s, const fixture *fx, size_t pos,
                       size_t steps) {
  for (; steps > 0; steps--) {
    const char *line = NULL;
    size_t n = 0, next = 0, eol;
    int r = tm_src_line(s, pos, &line, &n, &next);
    if (pos >= fx->n) {
      CHECK(r == 0, "line at end %zu: r %d", pos, r);
      return;
    }
    eol = ref_eol(fx->d, fx->n, pos);
    CHECK(r == 1, "line at %zu: r %d err %d", pos, r, s->err);
    if (r != 1) return;
    CHECK(n == eol - pos, "line at %zu: n %zu, want %zu", pos, n, eol - pos);
    CHECK(n != eol - pos || memcmp(line, fx->d + pos, n) == 0, "line bytes");
    CHECK(n != eol - pos || eol == fx->n || line[n] == '\n', "newline");
    CHECK(next == (eol < fx->n ? eol + 1 : fx->n), "line at %zu: next %zu",
          pos, next);
    pos = next;
  }
}

static void walk_fields(tm_src *s, const fixture *fx, size_t pos,
                        size_t steps) {
  char sep[4];
  size_t sn = 1 + below(3);
  fill(sep, sn, fx->a);
  for (; steps > 0; steps--) {
    const char *fd = NULL;
    size_t n = 0, next = 0, k, wn, wnext;
    int r = tm_src_field(s, pos, sep, sn, &fd, &n, &next);
    if (pos > fx->n) {
      CHECK(r == 0, "field past end %zu: r %d", pos, r);
      return;
    }
    k = ref_find(fx->d + pos, fx->n - pos, sep, sn);
    wn = k == NONE ? fx->n - pos : k;
    wnext = k == NONE ? fx->n + 1 : pos + k + sn;
    CHECK(r == 1, "field at %zu: r %d err %d", pos, r, s->err);
    if (r != 1) return;
    CHECK(n == wn && next == wnext, "field at %zu sn=%zu: n %zu next %zu, "
          "want %zu %zu", pos, sn, n, next, wn, wnext);
    CHECK(n != wn || memcmp(fd, fx->d + pos, n) == 0, "field bytes");
    CHECK(n != wn || k == NONE || memcmp(fd + n, sep, sn) == 0, "separator");
    pos = next;
  }
}

/* the reference grep: walk the lines one by one */
static size_t ref_grep(const fixture *fx, size_t from, const char *nd,
                       size_t nn) {
  size_t ls = from;
  if (memchr(nd, '\n', nn) != NULL) return NONE;
  while (ls < fx->n) {
    size_t eol = ref_eol(fx->d, fx->n, ls);
    if (ref_find(fx->d + ls, eol - ls, nd, nn) != NONE) return ls;
    ls = eol + 1;
  }
  return NONE;
}

static void walk_grep(tm_src *s, const fixture *fx, size_t from,
                      size_t steps) {
  char nd[64];
  size_t nn = needle(nd, fx->d, fx->n, fx->a);
  for (; steps > 0; steps--) {
    const char *line = NULL;
    size_t st = 0, n = 0, next = 0, want = ref_grep(fx, from, nd, nn), eol;
    int r = tm_src_grep(s, from, nd, nn, &st, &line, &n, &next);
    CHECK(r >= 0, "grep from %zu: err %d", from, s->err);
    CHECK((r == 1 ? st : NONE) == want, "grep from %zu nn=%zu: %zd, want "
          "%zd", from, nn, r == 1 ? sgn(st) : -1, sgn(want));
    if (r != 1 || st != want) return;
    eol = ref_eol(fx->d, fx->n, st);
    CHECK(n == eol - st && memcmp(line, fx->d + st, n) == 0, "grep line");
    CHECK(next == (eol < fx->n ? eol + 1 : fx->n), "grep next %zu", next);
    from = next;
  }
}

/* a random line start (0 or just after a newline) */
static size_t line_start(const fixture *fx) {
  size_t p = below(fx->n + 1);
  while (p > 0 && fx->d[p - 1] != '\n') p--;
  return p;
}

static void test_cursor(const fixture *fx, const config *c, int ops) {
  tm_src s;
  src_open(&s, fx, c);
  /* whole walks first, then random operations on the same cursor */
  walk_lines(&s, fx, 0, NONE);
  walk_fields(&s, fx, 0, NONE);
  walk_grep(&s, fx, 0, NONE);
  for (int t = 0; t < ops; t++) {
    if (t % 8 == 7) {  /* back to a tiny buffer now and then */
      tm_src_done(&s);
      CHECK(s.buf == NULL && s.cap == 0, "done keeps the buffer");
      src_open(&s, fx, c);
    }
    switch (below(5)) {
      case 0: check_get(&s, fx); break;
      case 1: case 2: check_find(&s, fx); break;
      case 3: walk_lines(&s, fx, line_start(fx), 1 + below(20)); break;
      default:
        if (below(2)) walk_fields(&s, fx, below(fx->n + 2), 1 + below(10));
        else walk_grep(&s, fx, line_start(fx), 1 + below(5));
    }
  }
  CHECK(s.err == 0, "err left %d", s.err);
  tm_src_done(&s);
}

static void test_fixture(const char *d, size_t n, const alphabet *a,
                         int ops) {
  fixture fx = { d, n, a, -1, 0 };
  fixture_file(&fx);
  for (size_t c = 0; c < NCONFIG; c++) test_cursor(&fx, &configs[c], ops);
  close(fx.fd);
}
/* }====== */

/* {====== edge cases and errors ====== */

static void test_empty(void) {
  tm_src s;
  const char *p = NULL;
  size_t at = 7, n = 7, next = 7, av = 7;
  uint64_t k = 7;
  context = "empty";
  CHECK(tm_count_byte(NULL, 0, 'a') == 0, "count_byte empty");
  CHECK(tm_find(NULL, 0, "a", 1) == NULL, "find empty");
  CHECK(tm_rfind(NULL, 0, "ab", 2) == NULL, "rfind empty");
  CHECK(tm_count(NULL, 0, "ab", 2) == 0, "count empty");
  CHECK(tm_find("abc", 3, "", 0) != NULL, "empty needle");
  tm_src_init(&s, NULL, -1, 0, 0, NULL, 0);
  CHECK(tm_src_find(&s, 0, 0, "a", 1, &at) == 0, "src_find empty");
  CHECK(tm_src_find(&s, 0, 0, "", 0, &at) == 1 && at == 0, "empty needle");
  CHECK(tm_src_rfind(&s, 0, 0, "a", 1, &at) == 0, "src_rfind empty");
  CHECK(tm_src_count(&s, 0, 0, "a", 1, &k) == 1 && k == 0, "count empty");
  CHECK(tm_src_line(&s, 0, &p, &n, &next) == 0, "line empty");
  CHECK(tm_src_field(&s, 0, ",", 1, &p, &n, &next) == 1 && n == 0 &&
        next == 1, "field empty");
  CHECK(tm_src_field(&s, 1, ",", 1, &p, &n, &next) == 0, "field past end");
  CHECK(tm_src_grep(&s, 0, "a", 1, &at, &p, &n, &next) == 0, "grep empty");
  CHECK(tm_src_get(&s, 0, 5, &av) != NULL && av == 0, "get empty");
  CHECK(tm_src_get_back(&s, 0, 5, &av) != NULL && av == 0, "get_back empty");
  CHECK(s.err == 0, "empty err");
  CHECK(tm_src_get(&s, 1, 1, &av) == NULL && s.err == EINVAL, "get past end");
  s.err = 0;
  CHECK(tm_src_count(&s, 0, 0, "", 0, &k) == -1 && s.err == EINVAL,
        "count empty needle");
  s.err = 0;
  CHECK(tm_src_field(&s, 0, "", 0, &p, &n, &next) == -1 && s.err == EINVAL,
        "field empty separator");
  tm_src_done(&s);
}

/* A few hand-picked lines: CRLF kept, empty lines, no final newline,
** grep skipping lines and a needle with a newline. */
static void test_lines_by_hand(void) {
  static const char d[] = "a\r\n\n\nfoo bar\r\nlast";
  tm_src s;
  const char *p;
  size_t n, next, st;
  context = "by hand";
  tm_src_init(&s, d, -1, 0, sizeof d - 1, NULL, 0);
  CHECK(tm_src_line(&s, 0, &p, &n, &next) == 1 && n == 2 && next == 3 &&
        memcmp(p, "a\r", 2) == 0, "crlf line");
  CHECK(tm_src_line(&s, 3, &p, &n, &next) == 1 && n == 0 && next == 4,
        "empty line");
  CHECK(tm_src_line(&s, 14, &p, &n, &next) == 1 && n == 4 &&
        next == sizeof d - 1, "last line");
  CHECK(tm_src_grep(&s, 0, "bar", 3, &st, &p, &n, &next) == 1 && st == 5 &&
        n == 8 && next == 14, "grep");
  CHECK(tm_src_grep(&s, 0, "r\nl", 3, &st, &p, &n, &next) == 0,
        "grep newline needle");
  CHECK(tm_src_grep(&s, 6, "bar", 3, &st, &p, &n, &next) == 1 && st == 6,
        "grep from mid-line");
  tm_src_done(&s);
}

/* counters that would wrap after 255 rounds: all bytes equal */
static void test_count_big(void) {
  size_t n = 300007;
  char *d = malloc(n);
  context = "count big";
  memset(d, 'a', n);
  test_count_byte(d, n, 'a');
  test_count_byte(d + 3, n - 3, 'a');
  memset(d, 0xff, n);
  test_count_byte(d, n, 0xff);
  test_count_byte(d, n, -1);
  for (size_t i = 0; i < n; i++) d[i] = (char)(i * 7 % 256);
  test_count_byte(d + 1, n - 1, 0);
  free(d);
}

/* a file shorter than the range: TM_ETRUNC, and other read errors */
static void test_errors(void) {
  char d[5000];
  size_t n, next, at, av;
  const char *p;
  uint64_t k;
  tm_src s;
  int fd = temp_file(), dfd;
  context = "errors";
  fill(d, sizeof d, &alphabets[1]);
  write_all(fd, d, sizeof d);
  for (size_t c = 1; c < NCONFIG; c++) {
    size_t len = sizeof d + 1 + below(100);
    char *buf = configs[c].cap ? malloc(configs[c].cap) : NULL;
    tm_src_init(&s, NULL, fd, 0, len, buf, configs[c].cap);
    CHECK(tm_src_count(&s, 0, len, "a", 1, &k) == -1 && s.err == TM_ETRUNC,
          "count past eof (cap %zu): err %d", configs[c].cap, s.err);
    s.err = 0;
    CHECK(tm_src_rfind(&s, 0, len, "zz", 2, &at) == -1 && s.err == TM_ETRUNC,
          "rfind past eof: err %d", s.err);
    s.err = 0;
    CHECK(tm_src_get(&s, len - 1, 1, &av) == NULL && s.err == TM_ETRUNC,
          "get past eof: err %d", s.err);
    /* the start of the range still reads when the window fits the file */
    s.err = 0;
    if (configs[c].cap > 0) {
      p = tm_src_get(&s, 0, 1, &av);
      CHECK(p != NULL && memcmp(p, d, av) == 0, "get before eof: err %d",
            s.err);
    }
    tm_src_done(&s);
    /* the range starts past the end of the file */
    tm_src_init(&s, NULL, fd, (off_t)sizeof d + 10, 10, NULL, 0);
    CHECK(tm_src_line(&s, 0, &p, &n, &next) == -1 && s.err == TM_ETRUNC,
          "line past eof");
    tm_src_done(&s);
  }
  close(fd);
  dfd = open("/", O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    tm_src_init(&s, NULL, dfd, 0, 100, NULL, 0);
    CHECK(tm_src_find(&s, 0, 100, "a", 1, &at) == -1 && s.err == EISDIR,
          "directory: err %d", s.err);
    tm_src_done(&s);
    close(dfd);
  }
}

/* Windows are re-used: a request inside the window reads nothing, and
** the bytes a new window shares with the old one are kept, not read again
** (seen here by changing the file underneath). */
static void test_reuse(void) {
  char d[64], *x = d + 32;
  const char *w, *w2;
  size_t av;
  tm_src s;
  int fd = temp_file();
  context = "reuse";
  for (int i = 0; i < 32; i++) d[i] = (char)('a' + i % 26);
  memset(x, 'X', 32);
  write_all(fd, d, 32);
  tm_src_init(&s, NULL, fd, 0, 32, malloc(8), 8);
  w = tm_src_get(&s, 0, 1, &av);                     /* window [0, 8) */
  CHECK(w != NULL && av == 8 && memcmp(w, d, 8) == 0, "first window");
  w2 = tm_src_get(&s, 3, 5, &av);
  CHECK(w2 == w + 3 && av == 5, "inside the window: same bytes");
  CHECK(pwrite(fd, x, 32, 0) == 32, "pwrite");
  w = tm_src_get(&s, 4, 6, &av);                     /* window [4, 12) */
  CHECK(w != NULL && av == 8 && memcmp(w, d + 4, 4) == 0 &&
        memcmp(w + 4, x, 4) == 0, "forward: head kept, tail read");
  w = tm_src_get_back(&s, 8, 8, &av);                /* window [0, 8) */
  CHECK(w != NULL && av == 8 && memcmp(w, x, 4) == 0 &&
        memcmp(w + 4, d + 4, 4) == 0, "backward: tail kept, head read");
  w2 = tm_src_get_back(&s, 5, 2, &av);
  CHECK(w2 == w && av == 5, "inside the window, backward");
  tm_src_done(&s);
  close(fd);
}

/* A line far longer than the buffer handed in comes back whole; the
** buffer can be taken back before tm_src_done and handed to the next. */
static void test_long_line(void) {
  size_t n = 100000, ln, next, av;
  char *d = malloc(n), *buf;
  const char *p;
  tm_src s;
  int fd = temp_file();
  context = "long line";
  memset(d, 'x', n);
  d[n - 1] = '\n';
  d[10] = '\n';
  write_all(fd, d, n);
  tm_src_init(&s, NULL, fd, 0, n, malloc(3), 3);
  CHECK(tm_src_line(&s, 11, &p, &ln, &next) == 1 && ln == n - 12 &&
        next == n && memcmp(p, d + 11, ln) == 0, "long line");
  CHECK(s.cap >= n - 11, "buffer grew to %zu", s.cap);
  buf = s.buf;  /* take it back */
  av = s.cap;
  s.buf = NULL;
  tm_src_done(&s);
  tm_src_init(&s, NULL, fd, 0, n, buf, av);
  CHECK(tm_src_line(&s, 0, &p, &ln, &next) == 1 && ln == 10 && next == 11,
        "reused buffer");
  tm_src_done(&s);
  close(fd);
  free(d);
}
/* }====== */

/* {====== bench ====== */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef size_t (*count_fn)(const char *, size_t, int);

/* GB/s of f over p[0..n), repeated for about a third of a second */
static double rate(count_fn f, const char *p, size_t n, size_t *sink) {
  count_fn volatile fv = f;  /* the compiler may not merge the calls */
  double t0 = now(), t;
  size_t bytes = 0;
  do {
    for (int i = 0; i < 8; i++) { *sink += fv(p, n, '\n'); bytes += n; }
    t = now() - t0;
  } while (t < 0.3);
  return (double)bytes / t / 1e9;
}
static size_t memchr_count(const char *p, size_t n, int c) {
  size_t k = 0;
  const char *e = p + n, *q;
  while ((q = memchr(p, c, (size_t)(e - p))) != NULL) { k++; p = q + 1; }
  return k;
}
static size_t find_rare(const char *p, size_t n, int c) {
  (void)c;
  return tm_find(p, n, "rare needle", 11) != NULL;
}
static size_t memmem_rare(const char *p, size_t n, int c) {
  (void)c;
  return memmem(p, n, "rare needle", 11) != NULL;
}
static size_t rfind_rare(const char *p, size_t n, int c) {
  (void)c;
  return tm_rfind(p, n, "rare needle", 11) != NULL;
}

static int bench(size_t mib) {
  static const char words[] = "the quick brown fox GET /index.html 200 ";
  size_t n = mib << 20, sink = 0, small = (size_t)128 << 10;
  char *p = malloc(n ? n : 1);
  if (p == NULL) { perror("malloc"); return 1; }
  for (size_t i = 0; i < n; i++)
    p[i] = below(60) == 0 ? '\n' : words[below(sizeof words - 1)];
  if (n < small) small = n;
#if TM_HAVE_AVX2
  printf("avx2 available: %s\n", has_avx2() ? "yes" : "no");
#endif
  printf("count_byte  %4zu MiB: %6.2f GB/s\n", mib,
         rate(tm_count_byte, p, n, &sink));
  printf("count_byte   128 KiB: %6.2f GB/s (in cache)\n",
         rate(tm_count_byte, p, small, &sink));
  printf("count_swar  %4zu MiB: %6.2f GB/s\n", mib,
         rate(count_swar, p, n, &sink));
  printf("memchr loop %4zu MiB: %6.2f GB/s\n", mib,
         rate(memchr_count, p, n, &sink));
  printf("tm_find     %4zu MiB: %6.2f GB/s (11-byte needle, absent)\n", mib,
         rate(find_rare, p, n, &sink));
  printf("memmem      %4zu MiB: %6.2f GB/s (same)\n", mib,
         rate(memmem_rare, p, n, &sink));
  printf("tm_rfind    %4zu MiB: %6.2f GB/s (same)\n", mib,
         rate(rfind_rare, p, n, &sink));
  {  /* the cursor over a file in the page cache: pread, default buffer */
    int fd = temp_file();
    uint64_t k = 0;
    double t0, t;
    write_all(fd, p, n);
    t0 = now();
    for (int i = 0; i < 4; i++) {
      tm_src s;
      tm_src_init(&s, NULL, fd, 0, n, NULL, 0);
      if (tm_src_count(&s, 0, n, "\n", 1, &k) != 1) perror("src_count");
      sink += (size_t)k;
      tm_src_done(&s);
    }
    t = now() - t0;
    printf("src_count   %4zu MiB: %6.2f GB/s (file via pread)\n", mib,
           4.0 * (double)n / t / 1e9);
    close(fd);
  }
  free(p);
  return sink == 42;  /* keeps the calls alive */
}
/* }====== */

int main(int argc, char **argv) {
  uint64_t seed;
  char *d;
  if (argc >= 3 && strcmp(argv[1], "--bench") == 0) {
    rng = 1;
    return bench((size_t)strtoull(argv[2], NULL, 10));
  }
  seed = argc >= 2 ? strtoull(argv[1], NULL, 0)
                   : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
  rng = seed;
  printf("spec_scan: seed %llu\n", (unsigned long long)seed);
  fflush(stdout);

  test_empty();
  test_lines_by_hand();
  test_count_big();
  test_errors();
  test_long_line();
  test_reuse();

  d = malloc(20000);
  {
    static const size_t sizes[] = { 0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128,
                                    129, 4095, 4096, 4097, 8192 };
    const size_t nfixed = sizeof sizes / sizeof sizes[0];
    char ctx[64];
    for (size_t t = 0; t < nfixed + 24; t++) {
      size_t n = t < nfixed ? sizes[t] : below(t % 3 ? 600 : 20000);
      const alphabet *a = &alphabets[below(NALPHA)];
      snprintf(ctx, sizeof ctx, "n=%zu alphabet %d", n, (int)(a - alphabets));
      context = ctx;
      fill(d, n, a);
      test_memory(d, n, a);
      test_fixture(d, n, a, n > 5000 ? 12 : 40);
    }
  }
  free(d);
  if (failures) {
    fprintf(stderr, "spec_scan: %d failure(s), seed %llu\n", failures,
            (unsigned long long)seed);
    return 1;
  }
  printf("spec_scan: ok\n");
  return 0;
}
