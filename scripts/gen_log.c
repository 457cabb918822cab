/*
** gen_log.c -- a deterministic generator of web access logs in the
** Apache/nginx "combined" format, for the demo and the benchmarks.
**
**   gen_log [-s SEED] SIZE [FILE]
**
** SIZE is a byte count with an optional suffix K, M or G (powers of 1024).
** The output (FILE, or standard output) is exactly SIZE bytes of complete
** lines when SIZE >= 4096 (the last line carries a padded query string to
** land on the size), and the same bytes on every run for the same SIZE and
** SEED (default 1).  A line looks like
**
**   203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /path HTTP/1.1" 200 2326 "referer" "user-agent"
**
** What the benchmarks rely on:
**  - client IPs, paths and user agents are drawn with a Zipf-like skew
**    (a few are very frequent, most are rare);
**  - statuses are mostly 200, some 304/404/30x, and 500/502/503 on about
**    0.5% of the lines;
**  - timestamps never decrease (a time range can be binary-searched);
**  - the literal "/admin/debug" appears only in the path of about one line
**    in 100,000 (a rare literal for grep);
**  - fields are separated by single spaces up to the quoted referer, so
**    awk's $1 (IP), $7 (path), $9 (status) and $10 (bytes) work.
*/
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GEN_NAME "gen_log"
#include "gen_common.h"

/* {====== the vocabulary ====== */

static const char *const words[] = {
  "alpha", "amber", "anchor", "apple", "arrow", "aspen", "atlas", "autumn",
  "badge", "basil", "beacon", "birch", "bloom", "breeze", "bridge", "cable",
  "canyon", "cedar", "cinder", "cloud", "clover", "comet", "coral", "crane",
  "delta", "dune", "eagle", "ember", "falcon", "fern", "flint", "forest",
  "garnet", "glacier", "harbor", "hazel", "indigo", "island", "jasper",
  "juniper", "kestrel", "lagoon", "lantern", "lilac", "maple", "meadow",
  "mesa", "nimbus", "oasis", "onyx", "orchid", "pebble", "pine", "prairie",
  "quartz", "raven", "reef", "river", "sage", "sierra", "spruce", "summit",
  "thistle", "timber", "tundra", "valley", "willow", "zephyr",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const agents[] = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.2651.74",
  "curl/8.5.0",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "python-requests/2.32.3",
  "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
  "Go-http-client/1.1",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Wget/1.21.4",
  "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
  "Prometheus/2.53.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
};
#define NAGENTS (sizeof agents / sizeof agents[0])

static const char *const sites[] = {
  "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
  "https://news.ycombinator.com/", "https://t.co/", "https://www.reddit.com/",
  "https://github.com/", "https://l.facebook.com/",
};
#define NSITES (sizeof sites / sizeof sites[0])

static const char *const resources[] = {
  "users", "orders", "products", "carts", "sessions", "reviews", "search",
};
#define NRES (sizeof resources / sizeof resources[0])

static const char *const imgext[] = { "png", "jpg", "webp", "svg", "gif" };
/* }====== */

/* {====== pools of clients and pages ====== */

enum { K_PAGE, K_STATIC, K_API };

typedef struct {
  char path[128];
  int kind;
  unsigned size;     /* typical body size in bytes */
} page;

#define NIPS   50000
#define NPAGES 4000

typedef struct {
  uint32_t ips[NIPS];
  page pages[NPAGES];
} pools;

static void hex(pen *w, rng *r, int n) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < n; i++) *w->p++ = digits[rng_next(r) & 15];
}

static const char *word(rng *r) { return words[rng_below(r, NWORDS)]; }

/* A random page of the site; its kind decides the status mix. */
static void make_page(page *pg, rng *r) {
  pen w = { pg->path };
  switch (rng_below(r, 8)) {
  case 0:
    put_str(&w, "/static/js/"); put_str(&w, word(r)); *w.p++ = '.';
    hex(&w, r, 8); put_str(&w, ".js");
    pg->kind = K_STATIC; pg->size = 20000 + (unsigned)rng_below(r, 180000);
    break;
  case 1:
    put_str(&w, "/images/"); put_str(&w, word(r)); *w.p++ = '-';
    put_uint(&w, rng_below(r, 1000)); *w.p++ = '.';
    put_str(&w, imgext[rng_below(r, 5)]);
    pg->kind = K_STATIC; pg->size = 2000 + (unsigned)rng_below(r, 400000);
    break;
  case 2: case 3:
    put_str(&w, "/api/v1/"); put_str(&w, resources[rng_below(r, NRES)]);
    *w.p++ = '/'; put_uint(&w, 1 + rng_below(r, 99999));
    pg->kind = K_API; pg->size = 80 + (unsigned)rng_below(r, 4000);
    break;
  case 4:
    put_str(&w, "/blog/"); put_uint(&w, 2019 + rng_below(r, 8)); *w.p++ = '/';
    put_2digits(&w, 1 + (int)rng_below(r, 12)); *w.p++ = '/';
    put_str(&w, word(r)); *w.p++ = '-'; put_str(&w, word(r)); *w.p++ = '-';
    put_str(&w, word(r));
    pg->kind = K_PAGE; pg->size = 8000 + (unsigned)rng_below(r, 40000);
    break;
  case 5:
    put_str(&w, "/products/"); put_str(&w, word(r)); *w.p++ = '-';
    put_uint(&w, rng_below(r, 10000));
    pg->kind = K_PAGE; pg->size = 12000 + (unsigned)rng_below(r, 30000);
    break;
  case 6:
    put_str(&w, "/search?q="); put_str(&w, word(r));
    put_str(&w, "&page="); put_uint(&w, 1 + rng_below(r, 20));
    pg->kind = K_PAGE; pg->size = 9000 + (unsigned)rng_below(r, 20000);
    break;
  default:
    put_str(&w, "/docs/"); put_str(&w, word(r)); *w.p++ = '/';
    put_str(&w, word(r)); put_str(&w, ".html");
    pg->kind = K_PAGE; pg->size = 5000 + (unsigned)rng_below(r, 60000);
    break;
  }
  *w.p = '\0';
}

/* The most visited pages come first: the Zipf draw favours low indices. */
static const struct { const char *path; int kind; unsigned size; } fixed[] = {
  { "/", K_PAGE, 14872 },
  { "/static/css/main.4f9c2a1e.css", K_STATIC, 48211 },
  { "/static/js/app.7b3d90c2.js", K_STATIC, 231877 },
  { "/favicon.ico", K_STATIC, 5430 },
  { "/api/v1/health", K_API, 17 },
  { "/index.html", K_PAGE, 14872 },
  { "/login", K_PAGE, 6120 },
  { "/robots.txt", K_STATIC, 112 },
  { "/api/v1/events", K_API, 42 },
  { "/about", K_PAGE, 9050 },
  { "/sitemap.xml", K_STATIC, 80512 },
  { "/feed.xml", K_STATIC, 30077 },
};
#define NFIXED (sizeof fixed / sizeof fixed[0])

static void make_pools(pools *pl, rng *r) {
  for (size_t i = 0; i < NIPS; i++) {
    uint32_t a;
    do a = (uint32_t)rng_next(r); while ((a >> 24) == 0 || (a >> 24) >= 224);
    pl->ips[i] = a;
  }
  for (size_t i = 0; i < NPAGES; i++) {
    page *pg = &pl->pages[i];
    if (i < NFIXED) {
      strcpy(pg->path, fixed[i].path);
      pg->kind = fixed[i].kind;
      pg->size = fixed[i].size;
    } else
      make_page(pg, r);
  }
}
/* }====== */

/* {====== one line ====== */

static const char *const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

typedef struct {
  rng r;
  pools *pl;
  time_t now;
  time_t stamped;       /* the second 'stamp' was made for */
  char stamp[40];       /* "[10/Oct/2026:13:55:36 +0000]" */
  size_t stamplen;
} gen;

static void make_stamp(gen *g) {
  struct tm tm;
  gmtime_r(&g->now, &tm);
  pen w = { g->stamp };
  *w.p++ = '[';
  put_2digits(&w, tm.tm_mday); *w.p++ = '/';
  put_str(&w, months[tm.tm_mon]); *w.p++ = '/';
  put_uint(&w, (uint64_t)tm.tm_year + 1900); *w.p++ = ':';
  put_2digits(&w, tm.tm_hour); *w.p++ = ':';
  put_2digits(&w, tm.tm_min); *w.p++ = ':';
  put_2digits(&w, tm.tm_sec);
  put_str(&w, " +0000]");
  g->stamplen = (size_t)(w.p - g->stamp);
  g->stamped = g->now;
}

static void put_ip(pen *w, uint32_t a) {
  put_uint(w, a >> 24); *w->p++ = '.';
  put_uint(w, (a >> 16) & 255); *w->p++ = '.';
  put_uint(w, (a >> 8) & 255); *w->p++ = '.';
  put_uint(w, a & 255);
}

/* status for a request to pg, and the body size that goes with it */
static int pick_status(gen *g, const page *pg, unsigned *bytes) {
  double u = rng_unit(&g->r);
  unsigned jitter = (unsigned)rng_below(&g->r, 200);
  if (u < 0.005) {                        /* server errors, ~0.5% */
    *bytes = 150 + jitter;
    return u < 0.003 ? 500 : u < 0.0042 ? 502 : 503;
  }
  u = rng_unit(&g->r);
  if (u < 0.035) { *bytes = 150 + jitter; return 404; }
  if (u < 0.045) { *bytes = 160 + jitter % 40; return 301 + (u < 0.04); }
  if (u < 0.048) { *bytes = 120 + jitter; return 403; }
  if (pg->kind == K_STATIC && u < 0.25) { *bytes = 0; return 304; }
  if (pg->kind == K_PAGE && u < 0.07) { *bytes = 0; return 304; }
  /* 200: the page's size, give or take 10% (dynamic pages vary) */
  unsigned spread = pg->size / 10 + 1;
  *bytes = pg->size - spread / 2 + (unsigned)rng_below(&g->r, spread);
  return 200;
}

static const char *pick_method(gen *g, const page *pg) {
  unsigned v = (unsigned)rng_below(&g->r, 100);
  if (pg->kind == K_API)
    return v < 70 ? "GET" : v < 88 ? "POST" : v < 95 ? "PUT" : "DELETE";
  return v < 97 ? "GET" : v < 99 ? "HEAD" : "POST";
}

static const char *pick_proto(gen *g) {
  unsigned v = (unsigned)rng_below(&g->r, 100);
  return v < 70 ? "HTTP/1.1" : v < 98 ? "HTTP/2.0" : "HTTP/1.0";
}

static void put_referer(gen *g, pen *w) {
  unsigned v = (unsigned)rng_below(&g->r, 100);
  *w->p++ = '"';
  if (v < 35)
    *w->p++ = '-';
  else if (v < 80) {
    put_str(w, "https://www.example.com");
    put_str(w, g->pl->pages[rng_zipf(&g->r, NPAGES)].path);
  } else
    put_str(w, sites[rng_zipf(&g->r, NSITES)]);
  *w->p++ = '"';
}

/* Time moves on by about one second per 20 lines, more slowly at night:
** 1 GB (4.5 million lines) spans about three days. */
static void tick(gen *g) {
  int hour = (int)((g->now / 3600) % 24);
  double p = (hour >= 1 && hour < 7) ? 0.15 : 0.04;
  if (rng_unit(&g->r) < p) g->now++;
}

/* One line into 'line'; returns its length and the offset just after the
** path (where padding may go). */
static size_t make_line(gen *g, char *line, size_t *pathend) {
  pen w = { line };
  tick(g);
  if (g->now != g->stamped) make_stamp(g);
  put_ip(&w, g->pl->ips[rng_zipf(&g->r, NIPS)]);
  put_str(&w, " - - ");
  memcpy(w.p, g->stamp, g->stamplen); w.p += g->stamplen;
  const page *pg = &g->pl->pages[rng_zipf(&g->r, NPAGES)];
  put_str(&w, " \""); put_str(&w, pick_method(g, pg)); *w.p++ = ' ';
  if (rng_unit(&g->r) < 1e-5) {         /* the rare literal */
    put_str(&w, "/admin/debug?cmd=");
    put_str(&w, word(&g->r));
  } else
    put_str(&w, pg->path);
  *pathend = (size_t)(w.p - line);
  *w.p++ = ' '; put_str(&w, pick_proto(g)); put_str(&w, "\" ");
  unsigned bytes;
  put_uint(&w, (uint64_t)pick_status(g, pg, &bytes)); *w.p++ = ' ';
  put_uint(&w, bytes); *w.p++ = ' ';
  put_referer(g, &w);
  put_str(&w, " \""); put_str(&w, agents[rng_zipf(&g->r, NAGENTS)]);
  put_str(&w, "\"\n");
  return (size_t)(w.p - line);
}

/* Lengthen the line by k bytes with a query string after the path. */
static size_t pad_line(char *line, size_t len, size_t pathend, size_t k) {
  if (k == 0) return len;
  memmove(line + pathend + k, line + pathend, len - pathend);
  line[pathend] = memchr(line, '?', pathend) ? '&' : '?';
  memset(line + pathend + 1, 'p', k - 1);
  return len + k;
}
/* }====== */

/* {====== main ====== */

#define MAXLINE 1024    /* longer than any unpadded line */


static void usage(void) {
  fprintf(stderr, "usage: gen_log [-s SEED] SIZE[K|M|G] [FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  uint64_t seed = 1, size;
  int opt;
  while ((opt = getopt(argc, argv, "s:")) != -1) {
    if (opt != 's' || !parse_size(optarg, &seed)) usage();
  }
  if (optind >= argc || argc - optind > 2 || !parse_size(argv[optind], &size))
    usage();
  outbuf o = { 1, NULL, 0, (size_t)1 << 20 };
  if (argc - optind == 2) {
    if (!freopen(argv[optind + 1], "wb", stdout)) {
      perror(argv[optind + 1]);
      return 1;
    }
    o.fd = fileno(stdout);
  }
  pools *pl = malloc(sizeof *pl);
  o.buf = malloc(o.cap);
  if (!pl || !o.buf) { fprintf(stderr, "gen_log: out of memory\n"); return 1; }
  gen g = { { seed * 0x2545F4914F6CDD1Du + 7 }, pl, 0, -1, "", 0 };
  make_pools(pl, &g.r);
  struct tm start = { .tm_year = 2026 - 1900, .tm_mon = 9, .tm_mday = 10 };
  g.now = timegm(&start);

  char line[2 * MAXLINE];
  uint64_t left = size;
  while (left > 0) {
    size_t pathend, len = make_line(&g, line, &pathend);
    if (left - len < MAXLINE || left < len) {
      /* The last line: stretch it to land exactly on the size (or, for a
      ** tiny size, stop before a line that does not fit). */
      if (left < len || left > sizeof line) break;
      len = pad_line(line, len, pathend, (size_t)left - len);
    }
    out_put(&o, line, len);
    left -= len;
  }
  out_flush(&o);
  free(o.buf);
  free(pl);
  if (o.fd != 1 && fclose(stdout) != 0) { perror("gen_log: close"); return 1; }
  return 0;
}
/* }====== */
