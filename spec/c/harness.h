/*
** spec/c/harness.h -- what the C spec programs share: the seeded random
** generator (splitmix64; the program prints its seed so that a failure
** can be replayed), CHECK, which reports the line and the current
** context and gives up after 20 failures, and the count of checks made.
**
** A spec program is one thread with one seed: the state here is plain
** statics, one copy per program that includes this file.
*/
#ifndef TOME_SPEC_HARNESS_H
#define TOME_SPEC_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng;
static int failures, checks;
static const char *context = "";   /* what is being checked, for FAIL lines */

static uint64_t rnd(void) {  /* splitmix64 */
  uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void fail(int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "FAIL line %d [%s]: ", line, context);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (++failures >= 20) {
    fprintf(stderr, "too many failures\n");
    exit(1);
  }
}
#define CHECK(c, ...) \
  do { checks++; if (!(c)) fail(__LINE__, __VA_ARGS__); } while (0)

#endif
