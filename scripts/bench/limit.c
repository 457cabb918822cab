/*
** limit.c -- what the hardware allows for a scan: count the newlines of a
** file with pread into a reused buffer and AVX2 compares, in T threads
** that each take every T-th block.  The benchmark's yardstick for the
** memory-speed tasks (count lines, parallel scans).  Not part of tome.
**
**   limit FILE [THREADS [BLOCK_KIB]]      prints the number of newlines
*/
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2")))
static uint64_t count_avx2(const char *p, size_t n) {
  const __m256i nl = _mm256_set1_epi8('\n');
  uint64_t k = 0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
    uint64_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, nl)) |
        (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, nl))
        << 32;
    k += (uint64_t)__builtin_popcountll(m);
  }
  for (; i < n; i++) k += p[i] == '\n';
  return k;
}
static uint64_t count(const char *p, size_t n) {
  if (__builtin_cpu_supports("avx2")) return count_avx2(p, n);
  uint64_t k = 0;
  for (size_t i = 0; i < n; i++) k += p[i] == '\n';
  return k;
}
#else
static uint64_t count(const char *p, size_t n) {
  uint64_t k = 0;
  for (size_t i = 0; i < n; i++) k += p[i] == '\n';
  return k;
}
#endif

typedef struct job {
  int fd, id, threads;
  size_t block;
  uint64_t lines;
  int err;
} job;

static void *run(void *arg) {
  job *j = arg;
  char *buf = malloc(j->block);
  if (buf == NULL) { j->err = 1; return NULL; }
  for (off_t off = (off_t)j->id * (off_t)j->block;;
       off += (off_t)j->threads * (off_t)j->block) {
    ssize_t r = pread(j->fd, buf, j->block, off);
    if (r < 0) { j->err = 1; break; }
    if (r == 0) break;
    j->lines += count(buf, (size_t)r);
  }
  free(buf);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: limit FILE [THREADS [BLOCK_KIB]]\n");
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  size_t block = (argc > 3 ? (size_t)atol(argv[3]) : 1024) << 10;
  if (threads < 1 || threads > 64 || block == 0) return 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  job jobs[64];
  pthread_t tid[64];
  uint64_t total = 0;
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job){ fd, i, threads, block, 0, 0 };
    if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0) return 1;
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    if (jobs[i].err) { perror("limit"); return 1; }
    total += jobs[i].lines;
  }
  printf("%llu\n", (unsigned long long)total);
  return 0;
}
