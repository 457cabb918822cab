/*
** tally.h -- counting distinct byte strings (v:tally): an open-addressing
** hash table whose keys live in one growing arena.  No Lua: the binding
** (ltally.c) walks the records and pushes the result.  Memory grows with
** the number of distinct keys, never with the input.
*/
#ifndef TOME_TALLY_H
#define TOME_TALLY_H

#include <stddef.h>
#include <stdint.h>

/* 32 bytes: keys of up to 16 bytes live in the slot itself (zero
** padded), longer ones in the arena, as their length then their bytes */
typedef struct tm_tally_slot {
  uint32_t tag;        /* bits of the hash, never 0; 0: an empty slot */
  uint32_t len;        /* the key's length, UINT32_MAX for longer keys */
  uint64_t count;
  union {
    char in[16];
    size_t off;        /* in the arena */
  } key;
} tm_tally_slot;

#define TM_TALLY_BATCH 16

typedef struct tm_tally {
  tm_tally_slot *slots;
  size_t cap, used;    /* cap is a power of two, or 0 */
  char *arena;
  size_t alen, acap;
  /* short keys waiting for their slots to come into the cache */
  size_t npend;
  struct { uint64_t w[2], h; uint32_t len; } pend[TM_TALLY_BATCH];
} tm_tally;

void tm_tally_init(tm_tally *t);
/* Add one to the count of key[0..n); 0, or ENOMEM (nothing changed).
** Short keys are copied and counted in batches: call tm_tally_flush
** before reading the counts. */
int tm_tally_add(tm_tally *t, const char *key, size_t n);
/* Count what is waiting; 0 or ENOMEM. */
int tm_tally_flush(tm_tally *t);
/* Walk the keys (after tm_tally_flush): *it starts at 0; returns 0 when
** done. */
int tm_tally_next(const tm_tally *t, size_t *it, const char **key, size_t *n,
                  uint64_t *count);
void tm_tally_free(tm_tally *t);

#endif
