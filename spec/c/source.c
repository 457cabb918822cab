/*
** spec/c/source.c -- the source room against the command-line tools:
** every stream is compressed with gzip, zstd, xz or bzip2, decompressed
** by zcat, zstdcat, xzcat or bzcat, and read through tm_reader (in
** pieces, by read(2)-like calls of random sizes, as records) and through
** tm_source_open; the bytes must be the same, byte for byte.  Then the
** bad inputs: truncated and corrupt streams, bytes after the end, plain
** text that looks like a magic number, pipes that spill, a $TMPDIR that
** does not exist.
**
**   spec_source [SEED]     (the seed is printed; pass it back to replay)
**
** Skips (with a line saying so) when a tool is missing.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "harness.h"

/* {====== helpers ====== */

static char ctxbuf[512];
static char dir[256];

static void setctx(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctxbuf, sizeof ctxbuf, fmt, ap);
  context = ctxbuf;
  va_end(ap);
}

static void put(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

static char *get(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) { perror(path); exit(2); }
  size_t cap = 1 << 16, len = 0;
  char *p = malloc(cap);
  size_t k;
  while ((k = fread(p + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) p = realloc(p, cap *= 2);
  }
  fclose(f);
  *n = len;
  return p;
}

static int sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *path_of(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}
/* }====== */

/* {====== the tools ====== */

typedef struct tool {
  int fmt;
  const char *name, *compress, *decompress, *ext;
  int have;
} tool;

static tool tools[] = {
  { TM_FMT_GZIP, "gzip", "gzip -c", "zcat", "gz", 0 },
  { TM_FMT_ZSTD, "zstd", "zstd -q -c", "zstdcat -q", "zst", 0 },
  { TM_FMT_XZ, "xz", "xz -1 -c", "xzcat", "xz", 0 },
  { TM_FMT_BZIP2, "bzip2", "bzip2 -1 -c", "bzcat", "bz2", 0 },
};
#define NTOOLS (sizeof tools / sizeof tools[0])

/* Compress 'plain' with the tool (extra options appended) into 'out'. */
static void compress(const tool *t, const char *opts, const char *plain,
                     const char *out) {
  if (sh("%s %s < '%s' > '%s'", t->compress, opts, plain, out) != 0) {
    fprintf(stderr, "%s failed\n", t->compress);
    exit(2);
  }
}

/* What the tool's own decompressor makes of 'in' (the reference). */
static char *reference(const tool *t, const char *in, size_t *n) {
  const char *out = path_of("ref.out");
  if (sh("%s < '%s' > '%s' 2>/dev/null", t->decompress, in, out) != 0) {
    fprintf(stderr, "%s failed on %s\n", t->decompress, in);
    exit(2);
  }
  return get(out, n);
}
/* }====== */

/* {====== data ====== */

/* random bytes, log-like lines, or long runs: what compressors meet */
static char *make_data(size_t n, int kind) {
  static const char *const words[] = {
    "GET", "POST", "/index.html", "200", "404", "500", "HTTP/1.1", "-",
    "Mozilla/5.0", "\"", "[10/Oct/2026:13:55:36 +0000]", "curl/8.5",
  };
  char *p = malloc(n > 0 ? n : 1);
  size_t i = 0;
  switch (kind) {
    case 0:
      for (; i < n; i++) p[i] = (char)below(256);
      break;
    case 1:
      while (i < n) {
        const char *w = words[below(sizeof words / sizeof words[0])];
        for (; *w && i < n; w++) p[i++] = *w;
        if (i < n) p[i++] = below(6) == 0 ? '\n' : ' ';
      }
      break;
    default:
      for (; i < n; i++) p[i] = below(1000) == 0 ? '\n' : 'a';
      break;
  }
  return p;
}
/* }====== */

/* {====== reading ====== */

/* Read the whole stream with one of the three calls. */
static char *read_all(tm_reader *r, int how, size_t *n, int *err) {
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  static const char *const seps[] = {"\n", "ab", "\n\n", "aaa"};
  const char *sep = seps[below(4)];
  *err = 0;
  for (;;) {
    const char *p;
    ptrdiff_t k;
    size_t want = 1 + below(below(2) ? 10 : 100000);
    char tmp[100000];
    if (how == 0) {
      k = tm_reader_next(r, &p);
    } else if (how == 1) {
      k = tm_reader_read(r, tmp, want);
      p = tmp;
    } else {
      size_t rl;
      int rc = tm_reader_record(r, sep, strlen(sep), &p, &rl);
      k = rc > 0 ? (ptrdiff_t)rl : rc;
      if (rc > 0) {
        /* a record ends with the separator, except the last one */
        const char *hit = memmem(p, rl, sep, strlen(sep));
        CHECK(hit == NULL || hit + strlen(sep) == p + rl,
              "record of %zu bytes holds the separator inside", rl);
      }
    }
    if (k < 0) { *err = tm_reader_errno(r); break; }
    if (k == 0) break;
    while (cap - len < (size_t)k) out = realloc(out, cap *= 2);
    memcpy(out + len, p, (size_t)k);
    len += (size_t)k;
  }
  *n = len;
  return out;
}

static char *read_path(const char *path, unsigned flags, int how, size_t *n,
                       int *err, int *fmt) {
  tm_reader *r;
  int e = tm_reader_open(&r, path, flags);
  if (e != 0) { *err = e; *n = 0; return NULL; }
  char *out = read_all(r, how, n, err);
  if (*err == 0) CHECK(tm_reader_tell(r) == *n, "tell says %llu, read %zu",
                       (unsigned long long)tm_reader_tell(r), *n);
  if (fmt) *fmt = tm_reader_format(r);
  tm_reader_close(r);
  return out;
}

static void same(const char *what, const char *a, size_t an, const char *b,
                 size_t bn) {
  size_t i = 0;
  while (i < an && i < bn && a[i] == b[i]) i++;
  CHECK(an == bn && i == an, "%s: %zu bytes vs %zu of the reference, first "
        "difference at %zu", what, an, bn, i);
}

/* Read 'path' every way and compare with ref[0..rn). */
static void check_reads(const char *path, int fmt, const char *ref,
                        size_t rn) {
  for (int how = 0; how < 3; how++) {
    size_t n;
    int err, got;
    char *out = read_path(path, 0, how, &n, &err, &got);
    CHECK(err == 0, "read way %d: error %d", how, err);
    CHECK(got == fmt, "format %d, expected %d", got, fmt);
    if (err == 0) same(how == 0 ? "next" : how == 1 ? "read" : "record",
                       out, n, ref, rn);
    free(out);
  }
  tm_mapping m;
  tm_source_info info;
  tm_source_opts o = {0, below(2) ? 0 : 1 + below(100000), 0, NULL, 0};
  int e = tm_source_open(&m, path, TM_MODE_R, &o, &info);
  CHECK(e == 0, "tm_source_open: %s (%s)", strerror(e), info.msg);
  if (e == 0) {
    CHECK(info.fmt == fmt, "source format %d, expected %d", info.fmt, fmt);
    CHECK(!m.writable, "a decompressed map is writable");
    same("map", m.base, m.len, ref, rn);
    tm_map_close(&m);
  }
}
/* }====== */

/* {====== the specs ====== */

static void spec_sniff(void) {
  static const struct { const char *b; size_t n; int fmt; } cases[] = {
    { "\x1f\x8b\x08", 3, TM_FMT_GZIP },
    { "\x1f\x8b", 2, TM_FMT_GZIP },
    { "\x1f", 1, -1 },
    { "\x1fx", 2, TM_FMT_PLAIN },
    { "\x28\xb5\x2f\xfd", 4, TM_FMT_ZSTD },
    { "\x5e\x2a\x4d\x18", 4, TM_FMT_ZSTD },       /* a skippable frame */
    { "\x28\xb5\x2f", 3, -1 },
    { "\xfd" "7zXZ\0", 6, TM_FMT_XZ },
    { "\xfd" "7zXY\0", 6, TM_FMT_PLAIN },
    { "BZh91AY&SY", 10, TM_FMT_BZIP2 },
    { "BZh1\x17\x72\x45\x38\x50\x90", 10, TM_FMT_BZIP2 },
    { "BZh9 is not bzip2", 17, TM_FMT_PLAIN },
    { "BZh9", 4, -1 },
    { "BZh0", 4, TM_FMT_PLAIN },
    { "hello", 5, TM_FMT_PLAIN },
    { "", 0, -1 },
  };
  setctx("sniff");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK(tm_format_sniff(cases[i].b, cases[i].n) == cases[i].fmt,
          "case %zu: %d, expected %d", i,
          tm_format_sniff(cases[i].b, cases[i].n), cases[i].fmt);
  CHECK(strcmp(tm_format_name(TM_FMT_ZSTD), "zstd") == 0, "name");
}

/* Every tool on data of many sizes and kinds. */
static void spec_roundtrip(void) {
  static const size_t sizes[] = {0, 1, 10, 4095, 65536, (1 << 20) - 1,
                                 (1 << 20) + 1, 3 << 20};
  for (size_t t = 0; t < NTOOLS; t++) {
    if (!tools[t].have) continue;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      int kind = sizes[s] > (1 << 20) ? 1 : (int)below(3);
      setctx("%s, %zu bytes of kind %d", tools[t].name, sizes[s], kind);
      char *data = make_data(sizes[s], kind);
      char *plain = path_of("data"), *comp = path_of("data.c");
      put(plain, data, sizes[s]);
      compress(&tools[t], "", plain, comp);
      size_t rn;
      char *ref = reference(&tools[t], comp, &rn);
      same("tool round trip", ref, rn, data, sizes[s]);
      check_reads(comp, tools[t].fmt, ref, rn);
      free(ref);
      free(data);
    }
  }
}

/* Several members, frames or streams in one file, read whole. */
static void spec_concatenated(void) {
  for (size_t t = 0; t < NTOOLS; t++) {
    if (!tools[t].have) continue;
    setctx("%s, concatenated", tools[t].name);
    char cat[512];
    snprintf(cat, sizeof cat, "%s", path_of("cat.c"));
    unlink(cat);
    int parts = 2 + (int)below(4);
    for (int i = 0; i < parts; i++) {
      size_t n = below(4) == 0 ? 0 : below(200000);
      char *data = make_data(n, (int)below(3));
      put(path_of("part"), data, n);
      compress(&tools[t], "", path_of("part"), path_of("part.c"));
      sh("cat '%s' >> '%s'", path_of("part.c"), cat);
      free(data);
    }
    size_t rn;
    char *ref = reference(&tools[t], cat, &rn);
    check_reads(cat, tools[t].fmt, ref, rn);
    free(ref);
  }
}

/* Files of several gzip members or zstd frames go to several threads.
** A gzip header inside a member's stored bytes, after four bytes that
** cannot be the size of what comes before it, is passed over (still
** several threads); after four bytes that could be, it is taken for a
** member, which then does not end where it should, and the file goes
** back to one thread.  Either way the bytes are right. */
static void spec_parallel(void) {
  static const char *const fakes[] = {"plain pieces",
    "a fake header after an impossible size",
    "a fake header after a possible size"};
  for (size_t t = 0; t < 2; t++) {
    if (!tools[t].have) continue;
    for (int fake = 0; fake < 3; fake++) {
      setctx("%s in threads, %s", tools[t].name, fakes[fake]);
      char cat[512];
      snprintf(cat, sizeof cat, "%s", path_of("par.c"));
      unlink(cat);
      for (int i = 0; i < 4; i++) {
        size_t n = 300000 + below(100000);
        char *data = make_data(n, 0);
        if (fake && i == 1)
          memcpy(data + n / 2, fake == 1
                 ? "\xff\xff\xff\xff\x1f\x8b\x08\0\0\0\0\0\0\x03"
                 : "\xe8\x03\0\0\x1f\x8b\x08\0\0\0\0\0\0\x03", 14);
        put(path_of("part"), data, n);
        /* zstd records the size in the frame when it reads a file */
        sh("%s -1 '%s' > '%s'", tools[t].compress, path_of("part"),
           path_of("part.c"));
        sh("cat '%s' >> '%s'", path_of("part.c"), cat);
        free(data);
      }
      size_t rn;
      char *ref = reference(&tools[t], cat, &rn);
      for (int mem = 0; mem < 2; mem++) {
        tm_mapping m;
        tm_source_info info;
        tm_source_opts o = {0, mem ? (size_t)1 << 30 : 1000, 2, dir, 0};
        int e = tm_source_open(&m, cat, TM_MODE_R, &o, &info);
        CHECK(e == 0, "open: %s", info.msg);
        if (e != 0) continue;
        same("threads", m.base, m.len, ref, rn);
        CHECK(info.workers == (fake == 2 && t == 0 ? 1 : 2), "workers %d",
              info.workers);
        CHECK(info.spilled == !mem, "spilled %d", info.spilled);
        tm_map_close(&m);
      }
      free(ref);
    }
  }
}

/* Read a stream that must fail; the message names the file and what. */
static void expect_error(const char *path, const char *what, int err) {
  for (int how = 0; how < 3; how++) {
    tm_reader *r;
    size_t n;
    int e;
    CHECK(tm_reader_open(&r, path, 0) == 0, "open");
    free(read_all(r, how, &n, &e));
    const char *msg = tm_reader_error(r);
    CHECK(e == err, "way %d: errno %d, expected %d (%s)", how, e, err,
          msg ? msg : "no message");
    CHECK(msg != NULL && strstr(msg, path) != NULL &&
          strstr(msg, what) != NULL, "way %d: message '%s' lacks '%s' or "
          "the path", how, msg ? msg : "(null)", what);
    /* errors stick */
    const char *p;
    CHECK(tm_reader_next(r, &p) == -1, "a second call after an error");
    tm_reader_close(r);
  }
  tm_mapping m;
  tm_source_info info;
  int e = tm_source_open(&m, path, TM_MODE_R, NULL, &info);
  CHECK(e == err && strstr(info.msg, what) != NULL,
        "tm_source_open: %d '%s'", e, info.msg);
  if (e == 0) tm_map_close(&m);
}

static void spec_bad(void) {
  for (size_t t = 0; t < NTOOLS; t++) {
    if (!tools[t].have) continue;
    const tool *tl = &tools[t];
    size_t n = 50000 + below(200000), cn;
    char *data = make_data(n, 1 + (int)below(2));
    put(path_of("bad"), data, n);
    compress(tl, "", path_of("bad"), path_of("bad.c"));
    char *comp = get(path_of("bad.c"), &cn);
    char *bad = path_of("bad.x");
    /* cut anywhere after the magic: truncated (or corrupt) */
    for (int k = 0; k < 6; k++) {
      size_t cut = TM_SNIFF_MAX + below(cn - TM_SNIFF_MAX);
      setctx("%s cut at %zu of %zu", tl->name, cut, cn);
      put(bad, comp, cut);
      tm_reader *r;
      size_t got;
      int e;
      tm_reader_open(&r, bad, 0);
      free(read_all(r, (int)below(3), &got, &e));
      const char *msg = tm_reader_error(r);
      CHECK(e == EILSEQ, "errno %d: %s", e, msg ? msg : "no error");
      CHECK(msg && strstr(msg, bad) && strstr(msg, "byte offset"),
            "message: %s", msg ? msg : "(null)");
      tm_reader_close(r);
    }
    /* one byte changed in the middle: the checksums see it */
    setctx("%s corrupt", tl->name);
    memcpy(bad, bad, 0);
    char *cc = malloc(cn);
    memcpy(cc, comp, cn);
    cc[cn / 2] ^= 0x55;
    put(bad, cc, cn);
    expect_error(bad, "byte offset", EILSEQ);
    /* garbage after the end */
    setctx("%s trailing garbage", tl->name);
    memcpy(cc, comp, cn);
    cc = realloc(cc, cn + 7);
    memcpy(cc + cn, "garbage", 7);
    put(bad, cc, cn + 7);
    expect_error(bad, "byte offset", EILSEQ);
    /* the magic number, then nonsense */
    setctx("%s magic then nonsense", tl->name);
    memcpy(cc + TM_SNIFF_MAX, "this is not compressed at all", 29);
    put(bad, cc, TM_SNIFF_MAX + 29);
    expect_error(bad, "byte offset", EILSEQ);
    free(cc);
    free(comp);
    free(data);
  }
  /* gzip: NUL padding after the data is ignored, as gzip does */
  if (tools[0].have) {
    setctx("gzip NUL padding");
    size_t cn, rn;
    put(path_of("pad"), "padded\n", 7);
    compress(&tools[0], "", path_of("pad"), path_of("pad.gz"));
    char *comp = get(path_of("pad.gz"), &cn);
    comp = realloc(comp, cn + 512);
    memset(comp + cn, 0, 512);
    put(path_of("pad.gz"), comp, cn + 512);
    char *ref = reference(&tools[0], path_of("pad.gz"), &rn);
    check_reads(path_of("pad.gz"), TM_FMT_GZIP, ref, rn);
    free(ref);
    free(comp);
  }
}

/* Plain text read as it is; raw bytes of a compressed file. */
static void spec_plain_and_raw(void) {
  static const char *const texts[] = {"", "B", "BZh9", "BZh9 is not bzip2\n",
                                      "\x1f", "\xfd" "7zX", "plain\ntext"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    setctx("plain text %zu", i);
    put(path_of("plain"), texts[i], strlen(texts[i]));
    check_reads(path_of("plain"), TM_FMT_PLAIN, texts[i], strlen(texts[i]));
  }
  if (tools[0].have) {
    setctx("raw");
    put(path_of("raw"), "raw bytes\n", 10);
    compress(&tools[0], "", path_of("raw"), path_of("raw.gz"));
    size_t cn, n;
    int err, fmt;
    char *comp = get(path_of("raw.gz"), &cn);
    char *out = read_path(path_of("raw.gz"), TM_READ_RAW, (int)below(3), &n,
                          &err, &fmt);
    CHECK(err == 0 && fmt == TM_FMT_PLAIN, "raw: %d %d", err, fmt);
    same("raw", out, n, comp, cn);
    tm_mapping m;
    tm_source_info info;
    tm_source_opts o = {1, 0, 0, NULL, 0};
    CHECK(tm_source_open(&m, path_of("raw.gz"), TM_MODE_R, &o, &info) == 0,
          "raw map");
    same("raw map", m.base, m.len, comp, cn);
    tm_map_close(&m);
    CHECK(tm_source_open(&m, path_of("raw.gz"), TM_MODE_RW, NULL, &info)
          == EROFS && strstr(info.msg, "read-only"), "r+: %s", info.msg);
    CHECK(tm_source_open(&m, path_of("raw.gz"), TM_MODE_COW, NULL, &info)
          == EROFS, "c");
    free(out);
    free(comp);
  }
}

/* A pipe: memory up to the limit, then an unlinked temporary file. */
static void spec_pipe(void) {
  static const size_t sizes[] = {0, 1, 99999, 100000, 100001, 1 << 20};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    for (int compressed = 0; compressed < 2; compressed++) {
      if (compressed && !tools[1].have) continue;
      setctx("pipe of %zu bytes, %s", sizes[s],
             compressed ? "zstd" : "plain");
      char *data = make_data(sizes[s], (int)below(3));
      put(path_of("pipe"), data, sizes[s]);
      const char *src = path_of("pipe");
      if (compressed) {
        compress(&tools[1], "", src, path_of("pipe.zst"));
        src = path_of("pipe.zst");
      }
      size_t n;
      char *bytes = get(src, &n);
      int fds[2];
      if (pipe(fds) != 0) { perror("pipe"); exit(2); }
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        for (size_t at = 0; at < n;) {
          ssize_t w = write(fds[1], bytes + at, n - at);
          if (w <= 0) _exit(1);
          at += (size_t)w;
        }
        _exit(0);
      }
      close(fds[1]);
      char name[64];
      snprintf(name, sizeof name, "/dev/fd/%d", fds[0]);
      tm_mapping m;
      tm_source_info info;
      tm_source_opts o = {0, 100000, 0, dir, 0};
      int e = tm_source_open(&m, name, TM_MODE_R, &o, &info);
      close(fds[0]);
      waitpid(pid, NULL, 0);
      CHECK(e == 0, "open: %s %s", strerror(e), info.msg);
      if (e == 0) {
        same("pipe map", m.base, m.len, data, sizes[s]);
        CHECK(info.spilled == (sizes[s] > 100000), "spilled %d",
              info.spilled);
        CHECK(m.kind == (info.spilled ? TM_KIND_FILE : TM_KIND_HEAP),
              "kind %d", m.kind);
        tm_map_close(&m);
      }
      free(bytes);
      free(data);
    }
  }
  /* a $TMPDIR that is not there: a clear error */
  setctx("pipe, missing tmpdir");
  int fds[2];
  if (pipe(fds) != 0) exit(2);
  char big[4096];
  memset(big, 'x', sizeof big);
  if (write(fds[1], big, sizeof big) != (ssize_t)sizeof big) exit(2);
  close(fds[1]);
  char name[64];
  snprintf(name, sizeof name, "/dev/fd/%d", fds[0]);
  tm_mapping m;
  tm_source_info info;
  tm_source_opts o = {0, 1000, 0, "/nonexistent/tome", 0};
  int e = tm_source_open(&m, name, TM_MODE_R, &o, &info);
  close(fds[0]);
  CHECK(e == ENOENT && strstr(info.msg, "/nonexistent/tome"),
        "missing tmpdir: %d %s", e, info.msg);
}
/* }====== */

/* {====== deferred zstd files ====== */

/* Reads at random positions and sizes (forward mostly, sometimes back a
** little, within the history, or far, which restarts the decoder) must
** give the reference's bytes. */
static void lazy_reads(tm_lazy *z, const char *ref, size_t rn) {
  tm_zstream *d;
  int e = tm_zstream_open(&d, z);
  CHECK(e == 0, "tm_zstream_open: %s", strerror(e));
  if (e != 0) return;
  char *buf = malloc(1 << 20);
  uint64_t pos = 0;
  for (int k = 0; k < 300; k++) {
    size_t n = below(4) == 0 ? below(1 << 20) : below(70000);
    int how = (int)below(10);
    if (how == 0) pos = below(rn + 1);                       /* anywhere */
    else if (how == 1 && pos > 0) pos -= below(pos < 90000 ? pos : 90000);
    if (n > rn - pos) n = rn - (size_t)pos;
    e = tm_zstream_read(d, buf, n, pos);
    CHECK(e == 0, "read %zu at %llu: %s", n, (unsigned long long)pos,
          tm_zstream_error(d) ? tm_zstream_error(d) : strerror(e));
    if (e != 0) break;
    CHECK(memcmp(buf, ref + pos, n) == 0, "read %zu at %llu differs", n,
          (unsigned long long)pos);
    pos += n;
  }
  e = tm_zstream_read(d, buf, 1, rn);
  CHECK(e == EINVAL, "a read beyond the end: %d", e);
  free(buf);
  tm_zstream_free(d);
}

/* 1: streams decode in place; 0: in a thread of their own */
static int lazy_workers;

/* Open 'comp' deferred: 1 with *m and *z, or 0 (not deferred). */
static int lazy_open(const char *comp, size_t memory, tm_mapping *m,
                     tm_lazy **z, tm_source_info *info, int sound) {
  tm_source_opts o = {0, memory, lazy_workers, NULL, 1};
  int e = tm_source_open(m, comp, TM_MODE_R, &o, info);
  CHECK(e == 0 || !sound, "tm_source_open: %s (%s)", strerror(e),
        info->msg);
  /* damaged headers: not deferred, the error comes at once */
  CHECK(e == 0 || e == EILSEQ, "tm_source_open: %s", strerror(e));
  *z = info->lazy;
  if (e != 0 || *z == NULL) {
    if (e == 0) tm_map_close(m);
    return 0;
  }
  return 1;
}

/* zstd writes the content size when it reads a named file (not stdin) */
static void zstd_file(const char *plain, const char *out) {
  if (sh("zstd -q -f -c '%s' > '%s'", plain, out) != 0) {
    fprintf(stderr, "zstd failed\n");
    exit(2);
  }
}

static void spec_lazy(void) {
  const tool *t = &tools[1];
  if (!t->have) return;
  char *plain = path_of("lazy"), *comp = path_of("lazy.zst");
  char *part = path_of("lazy.part");
  /* more than 8 MB: the decoding thread starts after that */
  size_t n = (9 << 20) + below(100000);
  char *data = make_data(n, 1);
  for (int multi = 0; multi < 2; multi++) {
    setctx("deferred zstd, %s, workers %d",
           multi ? "several frames" : "one frame", lazy_workers);
    put(plain, data, n);
    if (!multi) zstd_file(plain, comp);
    else {   /* frames of random sizes, one of them empty */
      sh("rm -f '%s'", comp);
      for (size_t at = 0, k = 0; at <= n; k++) {
        size_t len = k == 1 ? 0 : below(n / 3) + 1;
        if (len > n - at) len = n - at;
        put(plain, data + at, len);
        zstd_file(plain, part);
        sh("cat '%s' >> '%s'", part, comp);
        at += len > 0 ? len : (at == n);
      }
    }
    size_t rn;
    char *ref = reference(t, comp, &rn);
    same("tool round trip", ref, rn, data, n);
    tm_mapping m;
    tm_source_info info;
    tm_lazy *z;
    /* small: decompressed at once, as before */
    CHECK(!lazy_open(comp, 0, &m, &z, &info, 1) || rn > (16 << 20),
          "a small file was deferred");
    if (lazy_open(comp, 1000, &m, &z, &info, 1)) {
      CHECK(m.base == NULL && m.len == rn && !m.writable,
            "deferred map: base %p, %zu bytes of %zu", (void *)m.base,
            m.len, rn);
      lazy_reads(z, ref, rn);
      lazy_reads(z, ref, rn);
      int e = tm_lazy_fill(z, &m, &info);
      CHECK(e == 0, "tm_lazy_fill: %s (%s)", strerror(e), info.msg);
      if (e == 0) same("filled map", m.base, m.len, ref, rn);
      tm_lazy_free(z);
      tm_map_close(&m);
    } else {
      CHECK(0, "not deferred");
    }
    free(ref);
  }
  /* damage in the middle: found while reading, with its offset */
  setctx("deferred zstd, corrupt");
  put(plain, data, n);
  zstd_file(plain, comp);
  size_t cn;
  char *c = get(comp, &cn);
  int found = 0;
  for (int k = 0; k < 20 && !found; k++) {
    char *bad = malloc(cn);
    memcpy(bad, c, cn);
    size_t at = cn / 4 + below(cn / 2);
    bad[at] ^= (char)(1 + below(255));
    put(comp, bad, cn);
    free(bad);
    tm_mapping m;
    tm_source_info info;
    tm_lazy *z;
    if (!lazy_open(comp, 1000, &m, &z, &info, 0)) continue;  /* a header */
    tm_zstream *d;
    char *buf = malloc(1 << 16);
    int e = tm_zstream_open(&d, z);
    for (uint64_t pos = 0; e == 0 && pos < n; pos += 1 << 16) {
      size_t k2 = n - pos < (1 << 16) ? (size_t)(n - pos) : 1 << 16;
      e = tm_zstream_read(d, buf, k2, pos);
    }
    if (e != 0) {   /* (a flip in a literal may go unseen without checksum) */
      found = 1;
      CHECK(e == EILSEQ, "corrupt: errno %d", e);
      CHECK(strstr(tm_zstream_error(d), "byte offset") != NULL &&
            strstr(tm_zstream_error(d), comp) != NULL,
            "corrupt: '%s'", tm_zstream_error(d));
      /* sticky */
      CHECK(tm_zstream_read(d, buf, 1, 0) == e, "the error is not sticky");
    }
    free(buf);
    tm_zstream_free(d);
    tm_lazy_free(z);
    tm_map_close(&m);
  }
  CHECK(found, "no damage was ever found");
  /* a file that changes under the stream: an error at the end */
  setctx("deferred zstd, changed");
  put(comp, c, cn);
  {
    tm_mapping m;
    tm_source_info info;
    tm_lazy *z;
    if (lazy_open(comp, 1000, &m, &z, &info, 1)) {
      tm_zstream *d;
      char *buf = malloc(n);
      int e = tm_zstream_open(&d, z);
      CHECK(e == 0, "tm_zstream_open: %d", e);
      sh("printf x >> '%s'", comp);
      if (e == 0) e = tm_zstream_read(d, buf, n, 0);
      CHECK(e == EIO && strstr(tm_zstream_error(d), "changed") != NULL,
            "changed: %d '%s'", e, e ? tm_zstream_error(d) : "");
      free(buf);
      tm_zstream_free(d);
      tm_lazy_free(z);
      tm_map_close(&m);
    }
  }
  free(c);
  free(data);
}
/* }====== */

int main(int argc, char **argv) {
  uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10)
                           : (uint64_t)time(NULL) ^ (uint64_t)getpid();
  rng = seed;
  printf("spec_source: seed %llu\n", (unsigned long long)seed);
  fflush(stdout);
  snprintf(dir, sizeof dir, "%s/tome-spec-source-XXXXXX",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(dir) == NULL) { perror("mkdtemp"); return 2; }
  for (size_t t = 0; t < NTOOLS; t++) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1",
             tools[t].name);
    tools[t].have = sh("%s", cmd) == 0;
    if (!tools[t].have) printf("  skipped: %s is not installed\n",
                               tools[t].name);
  }
  spec_sniff();
  spec_roundtrip();
  spec_concatenated();
  spec_parallel();
  spec_bad();
  spec_plain_and_raw();
  spec_pipe();
  for (lazy_workers = 0; lazy_workers < 2; lazy_workers++) spec_lazy();
  sh("rm -rf '%s'", dir);
  printf("spec_source: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
