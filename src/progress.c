/*
** progress.c -- the progress line of long scans (see progress.h).
*/
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL 0.25     /* seconds between redraws */
#define QUIET 0.5         /* scans shorter than this show nothing */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tm_progress_enable(tm_progress *p, int on) {
  memset(p, 0, sizeof *p);
  p->on = on && isatty(STDERR_FILENO);
  return p->on;
}

void tm_progress_start(tm_progress *p, uint64_t total) {
  if (!p->on) return;
  p->t0 = now();
  p->next = p->t0 + QUIET;
  p->total = total;
}

/* "1.2 GB" into buf */
static void human(char *buf, size_t n, double x) {
  static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (x >= 1024 && u < 4) {
    x /= 1024;
    u++;
  }
  snprintf(buf, n, u == 0 ? "%.0f %s" : "%.1f %s", x, units[u]);
}

void tm_progress_update(tm_progress *p, uint64_t done) {
  if (!p->on) return;
  double t = now();
  if (t < p->next) return;
  p->next = t + INTERVAL;
  double el = t - p->t0, rate = el > 0 ? (double)done / el : 0;
  char d[32], tot[32], r[32], line[160];
  human(d, sizeof d, (double)done);
  human(tot, sizeof tot, (double)p->total);
  human(r, sizeof r, rate);
  double pct = p->total ? 100.0 * (double)done / (double)p->total : 100.0;
  int left = rate > 0 && p->total > done
                 ? (int)((double)(p->total - done) / rate + 0.5) : 0;
  int n = snprintf(line, sizeof line,
                   "\r\033[K%s / %s  %3.0f%%  %s/s  %d:%02d left", d, tot,
                   pct, r, left / 60, left % 60);
  if (n > 0) {
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line
                                                ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  p->shown = 1;
}

void tm_progress_end(tm_progress *p) {
  if (!p->shown) return;
  ssize_t w = write(STDERR_FILENO, "\r\033[K", 4);
  (void)w;
  p->shown = 0;
}
