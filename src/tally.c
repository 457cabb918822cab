/*
** tally.c -- counting distinct byte strings.  See tally.h.
**
** Linear probing over a power-of-two table kept at most 3/4 full.  Slots
** are 32 bytes, two to a cache line, and hold keys of up to 16 bytes
** themselves (IP addresses, status codes, words), so a probe usually
** touches one line of memory: the tag (32 bits of the hash) rules out
** most other keys before any byte is compared.  Keys are read with memcpy:
** they lie anywhere, unaligned, up to the end of a mapping.
*/
#include "tally.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define M1 UINT64_C(0x9e3779b97f4a7c15)
#define M2 UINT64_C(0xbf58476d1ce4e5b9)
#define M3 UINT64_C(0x94d049bb133111eb)
#define SHORT 16

static uint64_t mix(uint64_t h) {
  h ^= h >> 31;
  h *= M3;
  h ^= h >> 29;
  return h;
}

/* a key of up to 16 bytes as two zero-padded words */
static void short_words(const char *p, size_t n, uint64_t w[2]) {
  char b[SHORT] = {0};
  memcpy(b, p, n);
  memcpy(w, b, SHORT);
}

static uint64_t hash_key(const char *p, size_t n) {
  uint64_t h = M1 ^ ((uint64_t)n * M2), w[2];
  while (n > SHORT) {
    memcpy(w, p, SHORT);
    h = mix((h ^ w[0]) * M2) ^ w[1];
    p += SHORT;
    n -= SHORT;
  }
  short_words(p, n, w);
  return mix(mix((h ^ w[0]) * M2) ^ w[1]);
}

static uint32_t tag_of(uint64_t h) {
  uint32_t t = (uint32_t)(h >> 32);
  return t != 0 ? t : 1;
}

void tm_tally_init(tm_tally *t) {
  memset(t, 0, sizeof *t);
}

void tm_tally_free(tm_tally *t) {
  free(t->slots);
  free(t->arena);
  tm_tally_init(t);
}

/* where a slot's key bytes are, and their length */
static const char *slot_key(const tm_tally *t, const tm_tally_slot *s,
                            size_t *n) {
  size_t len;
  if (s->len <= SHORT) {
    *n = s->len;
    return s->key.in;
  }
  memcpy(&len, t->arena + s->key.off, sizeof len);
  *n = len;
  return t->arena + s->key.off + sizeof len;
}

/* Move every key into a table of 'cap' slots (the hashes are computed
** again: slots keep only their tags). */
static int rehash(tm_tally *t, size_t cap) {
  tm_tally_slot *s = calloc(cap, sizeof *s);
  if (s == NULL) return ENOMEM;
  for (size_t i = 0; i < t->cap; i++) {
    size_t n;
    if (t->slots[i].tag == 0) continue;
    const char *k = slot_key(t, &t->slots[i], &n);
    size_t j = (size_t)hash_key(k, n) & (cap - 1);
    while (s[j].tag != 0) j = (j + 1) & (cap - 1);
    s[j] = t->slots[i];
  }
  free(t->slots);
  t->slots = s;
  t->cap = cap;
  return 0;
}

/* Copy a long key into the arena (doubling it as needed): its length,
** then its bytes; *off gets where. */
static int keep(tm_tally *t, const char *key, size_t n, size_t *off) {
  size_t need = sizeof n + n;
  if (n > SIZE_MAX - sizeof n) return ENOMEM;
  if (need > t->acap - t->alen) {
    size_t cap = t->acap > 0 ? t->acap : 4096;
    while (need > cap - t->alen) {
      if (cap > SIZE_MAX / 2) return ENOMEM;
      cap *= 2;
    }
    char *a = realloc(t->arena, cap);
    if (a == NULL) return ENOMEM;
    t->arena = a;
    t->acap = cap;
  }
  memcpy(t->arena + t->alen, &n, sizeof n);
  memcpy(t->arena + t->alen + sizeof n, key, n);
  *off = t->alen;
  t->alen += need;
  return 0;
}

/* Make room for one more key: the table stays at most 3/4 full. */
static int room(tm_tally *t) {
  if (t->used + 1 <= t->cap / 4 * 3) return 0;
  if (t->cap > SIZE_MAX / 2 / sizeof(tm_tally_slot)) return ENOMEM;
  return rehash(t, t->cap > 0 ? t->cap * 2 : 64);
}

/* Count a short key given as its zero-padded words. */
static int add_short(tm_tally *t, const uint64_t w[2], uint64_t h,
                     uint32_t len) {
  uint32_t tag = tag_of(h);
  size_t j;
  if (room(t)) return ENOMEM;
  for (j = (size_t)h & (t->cap - 1); t->slots[j].tag != 0;
       j = (j + 1) & (t->cap - 1)) {
    tm_tally_slot *s = &t->slots[j];
    uint64_t v[2];
    if (s->tag != tag || s->len != len) continue;
    memcpy(v, s->key.in, SHORT);
    if (v[0] == w[0] && v[1] == w[1]) {
      s->count++;
      return 0;
    }
  }
  tm_tally_slot *s = &t->slots[j];
  memcpy(s->key.in, w, SHORT);
  s->tag = tag;
  s->len = len;
  s->count = 1;
  t->used++;
  return 0;
}

static int add_long(tm_tally *t, const char *key, size_t n, uint64_t h) {
  uint32_t tag = tag_of(h);
  size_t j;
  if (room(t)) return ENOMEM;
  for (j = (size_t)h & (t->cap - 1); t->slots[j].tag != 0;
       j = (j + 1) & (t->cap - 1)) {
    tm_tally_slot *s = &t->slots[j];
    size_t kn;
    if (s->tag != tag || s->len != UINT32_MAX) continue;
    const char *k = slot_key(t, s, &kn);
    if (kn == n && memcmp(k, key, n) == 0) {
      s->count++;
      return 0;
    }
  }
  tm_tally_slot *s = &t->slots[j];
  if (keep(t, key, n, &s->key.off)) return ENOMEM;
  s->tag = tag;
  s->len = UINT32_MAX;
  s->count = 1;
  t->used++;
  return 0;
}

int tm_tally_flush(tm_tally *t) {
  size_t i;
  for (i = 0; i < t->npend; i++) {
    if (add_short(t, t->pend[i].w, t->pend[i].h, t->pend[i].len)) {
      /* keep what is still waiting */
      memmove(t->pend, t->pend + i, (t->npend - i) * sizeof t->pend[0]);
      t->npend -= i;
      return ENOMEM;
    }
  }
  t->npend = 0;
  return 0;
}

/* A batch of short keys is hashed first and their slots prefetched, so
** that the cache misses of a large table overlap instead of following
** one another. */
int tm_tally_add(tm_tally *t, const char *key, size_t n) {
  uint64_t h = hash_key(key, n);
  if (n > SHORT) return add_long(t, key, n, h);
  if (t->npend == TM_TALLY_BATCH && tm_tally_flush(t)) return ENOMEM;
  short_words(key, n, t->pend[t->npend].w);
  t->pend[t->npend].h = h;
  t->pend[t->npend].len = (uint32_t)n;
  t->npend++;
  if (t->cap > 0) __builtin_prefetch(&t->slots[(size_t)h & (t->cap - 1)]);
  return 0;
}

int tm_tally_next(const tm_tally *t, size_t *it, const char **key, size_t *n,
                  uint64_t *count) {
  for (; *it < t->cap; (*it)++) {
    const tm_tally_slot *s = &t->slots[*it];
    if (s->tag == 0) continue;
    *key = slot_key(t, s, n);
    *count = s->count;
    (*it)++;
    return 1;
  }
  return 0;
}
