/*
** gen_csv.c -- a deterministic generator of a sales-like CSV file, for the
** benchmarks.
**
**   gen_csv [-s SEED] SIZE [FILE]
**
** SIZE is a byte count with an optional suffix K, M or G (powers of 1024).
** The output (FILE, or standard output) is exactly SIZE bytes of complete
** rows when SIZE >= 4096 (the last row's note is padded to land on the
** size), the same bytes on every run for the same SIZE and SEED (default
** 1).  The header and a row:
**
**   id,ts,user,amount,qty,country,category,note
**   17,2026-10-10T00:00:05Z,user4821,123.45,3,DE,books,"gift wrap please"
**
** No field contains a comma or a newline, so `awk -F,` splits it right:
** $4 is the amount (two decimals), $5 the quantity (an integer).  Users,
** countries and categories are drawn with a Zipf-like skew; ids increase
** by one and timestamps never decrease.
*/
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GEN_NAME "gen_csv"
#include "gen_common.h"

/* {====== vocabulary ====== */

static const char *const countries[] = {
  "US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "IT", "NL", "PL",
  "SE", "AU", "MX", "KR", "CH", "BE", "AT", "NO", "DK", "FI", "IE", "PT",
  "CZ", "NZ", "AR", "ZA", "SG", "JO",
};
#define NCOUNTRIES (sizeof countries / sizeof countries[0])

static const char *const categories[] = {
  "books", "electronics", "garden", "toys", "grocery", "clothing", "sports",
  "beauty", "music", "tools", "office", "pets",
};
#define NCATEGORIES (sizeof categories / sizeof categories[0])

static const char *const words[] = {
  "gift", "wrap", "please", "fast", "shipping", "leave", "at", "door",
  "call", "before", "delivery", "fragile", "handle", "with", "care", "second",
  "floor", "no", "invoice", "needed", "birthday", "present", "back", "gate",
  "ring", "twice", "office", "hours", "only", "thanks", "reorder", "same",
  "as", "last", "time", "priority", "customer", "express", "weekend",
};
#define NWORDS (sizeof words / sizeof words[0])

#define NUSERS 200000
/* }====== */

/* {====== one row ====== */

typedef struct {
  rng r;
  uint64_t id;
  time_t now, stamped;
  char stamp[32];       /* "2026-10-10T00:00:05Z" */
  size_t stamplen;
} gen;

static void make_stamp(gen *g) {
  struct tm tm;
  gmtime_r(&g->now, &tm);
  pen w = { g->stamp };
  put_uint(&w, (uint64_t)tm.tm_year + 1900); *w.p++ = '-';
  put_2digits(&w, tm.tm_mon + 1); *w.p++ = '-';
  put_2digits(&w, tm.tm_mday); *w.p++ = 'T';
  put_2digits(&w, tm.tm_hour); *w.p++ = ':';
  put_2digits(&w, tm.tm_min); *w.p++ = ':';
  put_2digits(&w, tm.tm_sec); *w.p++ = 'Z';
  g->stamplen = (size_t)(w.p - g->stamp);
  g->stamped = g->now;
}

/* Amounts are skewed: most orders are small, a few are large.  Written in
** cents as integer digits so no floating-point formatting is involved. */
static void put_amount(gen *g, pen *w) {
  double u = rng_unit(&g->r);
  uint64_t cents = 99 + (uint64_t)(u * u * u * 250000.0);
  put_uint(w, cents / 100);
  *w->p++ = '.';
  put_2digits(w, (int)(cents % 100));
}

/* One row into 'row'; returns its length and the offset of the note's
** closing quote (where padding may go). */
static size_t make_row(gen *g, char *row, size_t *noteend) {
  pen w = { row };
  if (rng_unit(&g->r) < 0.3) g->now++;
  if (g->now != g->stamped) make_stamp(g);
  put_uint(&w, ++g->id); *w.p++ = ',';
  memcpy(w.p, g->stamp, g->stamplen); w.p += g->stamplen; *w.p++ = ',';
  put_str(&w, "user"); put_uint(&w, 1 + rng_zipf(&g->r, NUSERS));
  *w.p++ = ',';
  put_amount(g, &w); *w.p++ = ',';
  put_uint(&w, 1 + rng_zipf(&g->r, 12)); *w.p++ = ',';
  put_str(&w, countries[rng_zipf(&g->r, NCOUNTRIES)]); *w.p++ = ',';
  put_str(&w, categories[rng_zipf(&g->r, NCATEGORIES)]); *w.p++ = ',';
  *w.p++ = '"';
  size_t nwords = rng_unit(&g->r) < 0.4 ? 0 : 1 + rng_below(&g->r, 6);
  for (size_t i = 0; i < nwords; i++) {
    if (i) *w.p++ = ' ';
    put_str(&w, words[rng_below(&g->r, NWORDS)]);
  }
  *noteend = (size_t)(w.p - row);
  put_str(&w, "\"\n");
  return (size_t)(w.p - row);
}

/* Lengthen the row by k bytes inside the note. */
static size_t pad_row(char *row, size_t len, size_t noteend, size_t k) {
  memmove(row + noteend + k, row + noteend, len - noteend);
  memset(row + noteend, 'z', k);
  return len + k;
}
/* }====== */

/* {====== main ====== */

#define MAXROW 512    /* longer than any unpadded row */


static void usage(void) {
  fprintf(stderr, "usage: gen_csv [-s SEED] SIZE[K|M|G] [FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  static const char header[] = "id,ts,user,amount,qty,country,category,note\n";
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
  o.buf = malloc(o.cap);
  if (!o.buf) { fprintf(stderr, "gen_csv: out of memory\n"); return 1; }
  gen g = { { seed * 0x2545F4914F6CDD1Du + 11 }, 0, 0, -1, "", 0 };
  struct tm start = { .tm_year = 2026 - 1900, .tm_mon = 9, .tm_mday = 10 };
  g.now = timegm(&start);

  uint64_t left = size;
  if (left >= sizeof header - 1) {
    out_put(&o, header, sizeof header - 1);
    left -= sizeof header - 1;
  }
  char row[2 * MAXROW];
  while (left > 0) {
    size_t noteend, len = make_row(&g, row, &noteend);
    if (left < len || left - len < MAXROW) {
      /* the last row: stretch it to land exactly on the size */
      if (left < len || left > sizeof row) break;
      len = pad_row(row, len, noteend, (size_t)left - len);
    }
    out_put(&o, row, len);
    left -= len;
  }
  out_flush(&o);
  free(o.buf);
  if (o.fd != 1 && fclose(stdout) != 0) { perror("gen_csv: close"); return 1; }
  return 0;
}
/* }====== */
