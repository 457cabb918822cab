/*
** lparallel.c -- tome.parallel(src, fn [, opts]): fn(view) on chunks of
** src in worker threads, one lua_State each.  Chunks end just after a
** separator, so no record is cut.  fn travels as bytecode (lua_dump), so
** it may not capture locals; results travel in codec.c's encoding (nil,
** booleans, numbers, strings and tables of them) and are rebuilt in the
** caller's state, in chunk order.
*/
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lualib.h"
#include "codec.h"
#include "lparallel.h"
#include "progress.h"
#include "scan.h"

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  return tm_buf_add((tm_buf *)ud, p, n) ? 0 : 1;
}

/* {====================================================================
** The job: chunks, workers, results
** ===================================================================== */

typedef struct chunk {
  size_t input;         /* which input (job.inputs) */
  size_t off, len;      /* in map offsets */
  tm_buf result;         /* encoded result, or the error message */
  int failed;
} chunk;

/* One source: a copy of the caller's mapping (borrowed), the range of it
** to cover, and its name (fn's third argument). */
typedef struct input {
  tm_mapping mp;
  size_t off, len;
  char *name;           /* the path, or NULL */
  char *display;        /* what tostring shows of its map */
} input;

typedef struct job {
  input *inputs;
  size_t ninputs;
  lua_CFunction preload;  /* registers tome in a worker's state */
  tm_buf code;           /* fn as bytecode */
  tm_buf arg;            /* opts.arg, encoded */
  chunk *chunks;
  size_t nchunks;
  pthread_mutex_t lock;
  size_t next;          /* next chunk to take (under lock) */
  int stop;             /* an error happened: take no more (under lock) */
  pthread_cond_t changed;  /* a chunk finished or a worker left */
  size_t running;       /* workers still running (under lock) */
  lua_State **states;   /* the workers' states, NULL when none (lock) */
  size_t nstates;
  int interrupted;      /* Ctrl-C: the workers were stopped */
  uint64_t done;        /* bytes of finished chunks (under lock) */
} job;

static int take(job *jb, size_t *k) {
  int ok;
  pthread_mutex_lock(&jb->lock);
  ok = !jb->stop && jb->next < jb->nchunks;
  if (ok) *k = jb->next++;
  pthread_mutex_unlock(&jb->lock);
  return ok;
}

static void fail(job *jb, chunk *c, const char *msg) {
  c->result.n = 0;
  tm_buf_add(&c->result, msg, strlen(msg));
  c->failed = 1;
  pthread_mutex_lock(&jb->lock);
  jb->stop = 1;
  pthread_mutex_unlock(&jb->lock);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)",
                                         luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Run fn on one chunk in the worker's state. */
static void run_chunk(lua_State *L, job *jb, chunk *c) {
  int base = lua_gettop(L);
  const input *in = &jb->inputs[c->input];
  lua_pushcfunction(L, traceback);
  lua_pushvalue(L, 1);                    /* fn */
  tm_l_pushborrowed(L, &in->mp, c->off, c->len);
  tm_l_pushmapof(L, -1);                  /* the borrowed map says whose */
  lua_pushstring(L, in->display);
  lua_setiuservalue(L, -2, 1);
  lua_pop(L, 1);
  if (jb->arg.n == 0) lua_pushnil(L);
  else if (!tm_decode(L, jb->arg.p, jb->arg.n)) {
    fail(jb, c, lua_tostring(L, -1));
    lua_settop(L, base);
    return;
  }
  if (in->name != NULL) lua_pushstring(L, in->name);
  else lua_pushnil(L);
  if (lua_pcall(L, 3, 1, base + 1) != LUA_OK)
    fail(jb, c, lua_tostring(L, -1));
  else if (!tm_encode(L, -1, &c->result, "result"))
    fail(jb, c, lua_tostring(L, -1));
  lua_settop(L, base);
}

static void *work(job *jb, size_t slot);

/* What a worker thread is given: the job and its slot in jb->states. */
typedef struct worker_arg {
  job *jb;
  size_t slot;
} worker_arg;

/* Every way out of a worker says so, for the waiting caller. */
static void *worker(void *ud) {
  worker_arg *wa = (worker_arg *)ud;
  job *jb = wa->jb;
  work(jb, wa->slot);
  pthread_mutex_lock(&jb->lock);
  jb->running--;
  pthread_cond_signal(&jb->changed);
  pthread_mutex_unlock(&jb->lock);
  return NULL;
}

/* Record a worker's state where an interrupt can reach it (or take it
** away, st == NULL, before it is closed). */
static void enlist(job *jb, size_t slot, lua_State *st) {
  pthread_mutex_lock(&jb->lock);
  if (slot < jb->nstates) jb->states[slot] = st;
  pthread_mutex_unlock(&jb->lock);
}

static void *work(job *jb, size_t slot) {
  size_t k;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    if (take(jb, &k)) fail(jb, &jb->chunks[k], "not enough memory");
    return NULL;
  }
  enlist(jb, slot, L);
  luaL_openlibs(L);
  lua_pushcfunction(L, jb->preload);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "tome");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) lua_setglobal(L, "tome");
  else lua_pop(L, 1);
  /* the function, loaded once; load sets its first upvalue (_ENV) to
  ** this state's globals */
  if (luaL_loadbufferx(L, jb->code.p, jb->code.n, "=parallel", "b")
      != LUA_OK) {
    if (take(jb, &k)) fail(jb, &jb->chunks[k], lua_tostring(L, -1));
    enlist(jb, slot, NULL);
    lua_close(L);
    return NULL;
  }
  while (take(jb, &k)) {
    run_chunk(L, jb, &jb->chunks[k]);
    pthread_mutex_lock(&jb->lock);
    jb->done += jb->chunks[k].len;
    pthread_cond_signal(&jb->changed);
    pthread_mutex_unlock(&jb->lock);
  }
  enlist(jb, slot, NULL);
  lua_close(L);
  return NULL;
}
/* }==================================================================== */

/* {====================================================================
** tome.parallel
** ===================================================================== */

/* The CPUs this process may run on: its affinity mask (which taskset,
** cpusets and Slurm's task/affinity narrow, while sysconf counts every
** CPU of the node), capped by SLURM_CPUS_PER_TASK when Slurm sets it
** (with task/none a 1-CPU task still sees every CPU). */
static long cpus(void) {
  long n = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  const char *s = getenv("SLURM_CPUS_PER_TASK");
  if (s != NULL) {
    char *end;
    long k = strtol(s, &end, 10);
    if (end != s && *end == '\0' && k > 0 && k < n) n = k;
  }
  if (n > 1024) n = 1024;
  return n > 0 ? n : 1;
}

static int t_cpus(lua_State *L) {
  lua_pushinteger(L, cpus());
  return 1;
}

/* fn may have no upvalue but _ENV: locals cannot cross states. */
static void check_upvalues(lua_State *L, int idx) {
  const char *name;
  luaL_argexpected(L, lua_type(L, idx) == LUA_TFUNCTION &&
                   !lua_iscfunction(L, idx), idx, "Lua function");
  for (int i = 1; (name = lua_getupvalue(L, idx, i)) != NULL; i++) {
    lua_pop(L, 1);
    if (strcmp(name, "_ENV") != 0)
      luaL_error(L, "tome.parallel: the function captures the local "
                 "variable '%s' (upvalue %d); workers run in their own Lua "
                 "states, which see neither this state's locals nor its "
                 "globals: pass data with opts.arg (fn gets it as its "
                 "second argument)", *name ? name : "?", i);
  }
}

static int optfield_int(lua_State *L, int opts, const char *k,
                        lua_Integer def, lua_Integer *out) {
  if (opts == 0 || lua_getfield(L, opts, k) == LUA_TNIL) {
    if (opts) lua_pop(L, 1);
    *out = def;
    return 0;
  }
  int ok;
  *out = lua_tointegerx(L, -1, &ok);
  if (!ok) luaL_error(L, "tome.parallel: opts.%s must be an integer", k);
  lua_pop(L, 1);
  return 1;
}

/* With opts.quote (CSV): is the separator that ends at 'end' outside
** quotes?  *odd keeps the parity of the quotes in [0, *counted); RFC 4180
** quotes come in pairs ('""' inside a field too), so a position is
** outside quoted fields when the count before it is even.  Moves 'end'
** on to the next separator until it is; returns 0 on a read error. */
static int cut_outside(tm_src *s, size_t len, const char *sep, size_t sn,
                       char quote, size_t *counted, int *odd, size_t *end) {
  for (;;) {
    uint64_t n = 0;
    size_t at;
    if (tm_src_count(s, *counted, *end, &quote, 1, &n) < 0) return 0;
    *odd ^= (int)(n & 1);
    *counted = *end;
    if (!*odd || *end >= len) return 1;
    int rc = tm_src_find(s, *end, len, sep, sn, &at);
    if (rc < 0) return 0;
    *end = rc > 0 ? at + sn : len;
  }
}

/* Cut [0, len) of the range into at most 'want' chunks of about len/want
** bytes, each ending just after a separator (outside quotes when quote
** is not 0), or at the end; returns how many (reads through s, so the
** caller guards it). */
static size_t cut(tm_src *s, size_t len, size_t roff, const char *sep,
                  size_t sn, char quote, size_t want, chunk *cs) {
  size_t step = len / want + 1, pos = 0, k = 0, counted = 0;
  int odd = 0;
  while (pos < len && k < want) {
    size_t end = len, at;
    if (len - pos > step && k + 1 < want) {
      int rc = tm_src_find(s, pos + step - 1, len, sep, sn, &at);
      if (rc < 0) return 0;
      if (rc > 0) end = at + sn;
      if (quote && !cut_outside(s, len, sep, sn, quote, &counted, &odd,
                                &end))
        return 0;
    }
    cs[k].off = roff + pos;
    cs[k].len = end - pos;
    k++;
    pos = end;
  }
  return k;
}

/* Cut one input into at most 'want' chunks at cs; sets *count. */
static int make_chunks(lua_State *L, const tm_range *r, const char *sep,
                       size_t sn, char quote, size_t want, chunk *cs,
                       size_t *count) {
  tm_src s;
  tm_l_srcsetup(L, &s, r);
  tm_guard g;
  if (!tm_guard_enter(&g)) {
    tm_src_done(&s);
    return tm_l_fault(L, r->map);
  }
  *count = cut(&s, r->len, r->off, sep, sn, quote, want, cs);
  tm_guard_leave(&g);
  int err = s.err;
  tm_src_done(&s);
  if (err == TM_ETRUNC) return tm_l_fault(L, r->map);
  return err;
}

/* __gc of the job userdata: whatever way t_parallel leaves (results,
** a worker's error, an error in reduce), nothing leaks. */
static int job_gc(lua_State *L) {
  job *jb = (job *)lua_touserdata(L, 1);
  if (jb->chunks != NULL)
    for (size_t i = 0; i < jb->nchunks; i++) free(jb->chunks[i].result.p);
  free(jb->chunks);
  if (jb->inputs != NULL)
    for (size_t i = 0; i < jb->ninputs; i++) {
      free(jb->inputs[i].name);
      free(jb->inputs[i].display);
    }
  free(jb->inputs);
  jb->inputs = NULL;
  jb->ninputs = 0;
  free(jb->states);
  jb->states = NULL;
  free(jb->code.p);
  free(jb->arg.p);
  jb->chunks = NULL;
  jb->code.p = jb->arg.p = NULL;
  jb->nchunks = 0;
  return 0;
}

/* The hook a worker gets when the caller is interrupted: raise at the
** next thing its Lua code does. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/*
** Wait for the workers, showing progress (pg may be NULL).  The caller's
** state L runs no Lua code meanwhile, so a Ctrl-C -- which the host (or
** lua.c) turns into a hook set on L -- would wait for the whole job:
** when a hook appears on L, the workers are stopped the same way (a hook
** that raises "interrupted!" in each of their states) and no chunk is
** started any more.  lua_sethook is what lua.c's signal handler calls on
** a running state too.
*/
static void watch(job *jb, tm_progress *pg, lua_State *L) {
  lua_Hook before = lua_gethook(L);
  pthread_mutex_lock(&jb->lock);
  while (jb->running > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += pg != NULL ? 250000000L : 50000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&jb->changed, &jb->lock, &ts);
    if (pg != NULL) tm_progress_update(pg, jb->done);
    if (!jb->interrupted && lua_gethook(L) != before) {
      jb->interrupted = jb->stop = 1;
      for (size_t i = 0; i < jb->nstates; i++)
        if (jb->states[i] != NULL)
          lua_sethook(jb->states[i], stop_hook,
                      LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE |
                      LUA_MASKCOUNT, 1);
    }
  }
  pthread_mutex_unlock(&jb->lock);
}

/* Start the workers and wait for them all. */
static int run_workers(job *jb, size_t nworkers, tm_progress *pg,
                       uint64_t total, lua_State *L) {
  pthread_t *ts = calloc(nworkers, sizeof *ts);
  worker_arg *wa = calloc(nworkers, sizeof *wa);
  size_t started = 0;
  jb->states = calloc(nworkers, sizeof *jb->states);
  if (ts == NULL || wa == NULL || jb->states == NULL) {
    free(ts);
    free(wa);
    return ENOMEM;
  }
  jb->nstates = nworkers;
  jb->running = nworkers;
  for (; started < nworkers; started++) {
    wa[started].jb = jb;
    wa[started].slot = started;
    if (pthread_create(&ts[started], NULL, worker, &wa[started]) != 0) break;
  }
  pthread_mutex_lock(&jb->lock);
  jb->running -= nworkers - started;
  pthread_mutex_unlock(&jb->lock);
  if (started == 0) {
    free(ts);
    free(wa);
    return EAGAIN;
  }
  if (pg != NULL) tm_progress_start(pg, total);
  watch(jb, pg, L);
  if (pg != NULL) tm_progress_end(pg);
  for (size_t i = 0; i < started; i++) pthread_join(ts[i], NULL);
  free(ts);
  free(wa);
  return 0;
}

/* Push chunk i's result (encoded by the worker). */
static void push_result(lua_State *L, job *jb, size_t i) {
  if (!tm_decode(L, jb->chunks[i].result.p, jb->chunks[i].result.n))
    luaL_error(L, "tome.parallel: %s", lua_tostring(L, -1));
}

/* Results back in the caller: a list, or folded with opts.reduce. */
static int push_results(lua_State *L, job *jb, int reduce) {
  if (reduce) {
    if (jb->nchunks == 0) {
      lua_pushnil(L);
      return 1;
    }
    push_result(L, jb, 0);
    for (size_t i = 1; i < jb->nchunks; i++) {
      lua_pushvalue(L, reduce);
      lua_insert(L, -2);
      push_result(L, jb, i);
      lua_call(L, 2, 1);
    }
    return 1;
  }
  lua_createtable(L, (int)jb->nchunks, 1);
  for (size_t i = 0; i < jb->nchunks; i++) {
    push_result(L, jb, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_pushinteger(L, (lua_Integer)jb->nchunks);
  lua_setfield(L, -2, "n");
  return 1;
}

/* The name of a map for fn's third argument: the path it was opened
** from ("-" for standard input), from what tostring shows of it
** ("\"path\"" or "\"path\" (decompressed gzip)"); NULL for strings and
** buffers. */
static char *input_name(const char *display) {
  const char *end = strrchr(display, '"');
  if (display[0] != '"' || end == display) return NULL;
  if (end - display == 8 && strncmp(display, "\"(stdin)\"", 9) == 0)
    return strdup("-");
  return strndup(display + 1, (size_t)(end - display - 1));
}

/* The inputs of a list that tome.open reads into memory (compressed
** files, pipes) share this much of it, none more than INPUT_MEMORY (a
** single input's default); beyond it they spill into temporary files:
** a list of a thousand compressed logs costs page cache, not memory. */
#define LIST_MEMORY ((lua_Integer)64 << 20)
#define INPUT_MEMORY ((lua_Integer)16 << 20)

/* All the inputs of a list are open at once: when the descriptors run
** out under the soft limit, raise it to the hard one (as a shell's
** `ulimit -n unlimited` would, where allowed); 1 if it was raised. */
static int raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return 0;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* tome.open(path) for the path on top, replaced by what it returns (3
** values); for a list, with the memory left in *budget. */
static void open_path(lua_State *L, int islist, lua_Integer *budget) {
  int path = lua_gettop(L);
  for (int tries = 0;; tries++) {
    lua_getfield(L, lua_upvalueindex(1), "open");
    lua_pushvalue(L, path);
    if (islist) {
      lua_pushliteral(L, "r");
      lua_createtable(L, 0, 1);
      lua_pushinteger(L, *budget < 1 ? 1 : *budget < INPUT_MEMORY ? *budget
                         : INPUT_MEMORY);
      lua_setfield(L, -2, "memory");
    }
    lua_call(L, islist ? 3 : 1, 3);
    if (tries > 0 || !lua_isnil(L, -3) || lua_tointeger(L, -1) != EMFILE ||
        !raise_nofile())
      break;
    lua_pop(L, 3);
  }
  lua_remove(L, path);
  if (islist && !lua_isnil(L, -3)) {
    tm_range r;
    tm_l_range(L, -3, &r);
    if (r.map->mp.kind == TM_KIND_HEAP) *budget -= (lua_Integer)r.len;
  }
}

/* Replace src (index 1) by a list of its inputs, with every path opened
** (tome.open, upvalue 1); a table that is not a map or view is a list.
** Returns 0, or 3 with nil, msg, errno pushed when a path cannot be
** opened.  Leaves the list at index 1 and a list of the paths (or
** false) at index 4 (opts is moved to 3 if missing). */
static int open_inputs(lua_State *L, int *islist) {
  lua_settop(L, 3);
  *islist = lua_type(L, 1) == LUA_TTABLE;
  lua_newtable(L);                              /* 4: the paths */
  lua_newtable(L);                              /* 5: the inputs */
  lua_Integer n = 1, budget = LIST_MEMORY;
  if (*islist) n = (lua_Integer)lua_rawlen(L, 1);
  else lua_pushvalue(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    if (*islist) lua_rawgeti(L, 1, i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, 4, i);
      open_path(L, *islist, &budget);
      if (lua_isnil(L, -3)) return 3;
      lua_pop(L, 2);
    } else if (!tm_l_isbytes(L, -1)) {
      return luaL_error(L, "tome.parallel: %s %I is a %s (expected a "
                        "path, a map or a view)", *islist ? "input" :
                        "argument", i, luaL_typename(L, -1));
    } else {
      lua_pushboolean(L, 0);
      lua_rawseti(L, 4, i);
    }
    lua_rawseti(L, 5, i);
  }
  lua_replace(L, 1);
  return 0;
}

/* Describe every input in jb->inputs: a copy of its mapping, its range
** and its names.  Runs no Lua code (the ranges stay valid). */
static void resolve_inputs(lua_State *L, job *jb, size_t n) {
  for (size_t i = 0; i < n; i++) {
    tm_range r;
    input *in = &jb->inputs[i];
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    tm_l_range(L, -1, &r);
    in->mp = r.map->mp;
    in->off = r.off;
    in->len = r.len;
    lua_pop(L, 1);
  }
}

/* Names first (strings are made, so Lua may run a finalizer). */
static int name_inputs(lua_State *L, job *jb, size_t n) {
  jb->inputs = calloc(n > 0 ? n : 1, sizeof *jb->inputs);
  if (jb->inputs == NULL) return ENOMEM;
  jb->ninputs = n;
  for (size_t i = 0; i < n; i++) {
    input *in = &jb->inputs[i];
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    tm_l_pushmapof(L, -1);
    lua_getiuservalue(L, -1, 1);
    const char *display = lua_tostring(L, -1);
    in->display = strdup(display != NULL ? display : "?");
    if (lua_rawgeti(L, 4, (lua_Integer)i + 1) == LUA_TSTRING)
      in->name = strdup(lua_tostring(L, -1));
    else
      in->name = input_name(in->display ? in->display : "");
    lua_pop(L, 4);
    if (in->display == NULL) return ENOMEM;
  }
  return 0;
}

/* Cut every input into its share of 'want' chunks (at least one each
** when it is not empty): a chunk never spans two inputs. */
static int cut_inputs(lua_State *L, job *jb, const char *sep, size_t sn,
                      char quote, size_t want, uint64_t *total) {
  size_t room = 0;
  *total = 0;
  for (size_t i = 0; i < jb->ninputs; i++) *total += jb->inputs[i].len;
  size_t *share = calloc(jb->ninputs > 0 ? jb->ninputs : 1, sizeof *share);
  if (share == NULL) return ENOMEM;
  for (size_t i = 0; i < jb->ninputs; i++) {
    size_t len = jb->inputs[i].len;
    double w = *total > 0 ? (double)len / (double)*total * (double)want : 0;
    share[i] = len == 0 ? 0 : jb->ninputs == 1 ? want
               : w < 1.5 ? 1 : (size_t)(w + 0.5);
    room += share[i];
  }
  jb->chunks = calloc(room > 0 ? room : 1, sizeof *jb->chunks);
  if (jb->chunks == NULL) { free(share); return ENOMEM; }
  for (size_t i = 0; i < jb->ninputs; i++) {
    tm_range r;
    size_t got = 0;
    if (share[i] == 0) continue;
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    tm_l_range(L, -1, &r);
    lua_pop(L, 1);
    int err = make_chunks(L, &r, sep, sn, quote, share[i],
                          jb->chunks + jb->nchunks, &got);
    if (err != 0) { free(share); return err; }
    for (size_t k = 0; k < got; k++) jb->chunks[jb->nchunks + k].input = i;
    jb->nchunks += got;
  }
  free(share);
  return 0;
}

/* A worker's error, raised in the caller with the chunk's range (and,
** for a list, the input's name). */
static int chunk_error(lua_State *L, const job *jb, const chunk *c,
                       int islist) {
  const input *in = &jb->inputs[c->input];
  size_t from = c->off - in->off + 1;
  lua_pushfstring(L, "tome.parallel: error in the chunk [%I, %I]",
                  (lua_Integer)from, (lua_Integer)(from + c->len - 1));
  if (islist) lua_pushfstring(L, " of %s: ", in->display);
  else lua_pushliteral(L, ": ");
  lua_pushlstring(L, c->result.p, c->result.n);
  lua_concat(L, 3);
  return lua_error(L);
}

static int t_parallel(lua_State *L) {
  int reduce = 0, islist;
  lua_Integer nw, nchunks;
  size_t sn = 1;
  const char *sep = "\n";
  int nret = open_inputs(L, &islist);
  if (nret != 0) return nret;
  int opts = lua_istable(L, 3) ? 3 : 0;
  size_t ninputs = (size_t)lua_rawlen(L, 1);
  /* Everything that can run Lua code (metamethods of opts, a finalizer
  ** run by an allocation) comes first: the sources may be closed or
  ** resized by it, so they are resolved last, right before they are cut. */
  check_upvalues(L, 2);
  luaL_argcheck(L, lua_isnoneornil(L, 3) || opts, 3, "table expected");
  optfield_int(L, opts, "workers", cpus(), &nw);
  if (nw < 1 || nw > 1024)
    return luaL_error(L, "tome.parallel: opts.workers must be 1 to 1024");
  optfield_int(L, opts, "chunks", nw * 4, &nchunks);
  if (nchunks < 1 || nchunks > (1 << 20))
    return luaL_error(L, "tome.parallel: opts.chunks must be 1 to 1048576");
  if (opts && lua_getfield(L, opts, "sep") != LUA_TNIL) {
    sep = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &sn) : NULL;
    if (sep == NULL || sn == 0)
      return luaL_error(L, "tome.parallel: opts.sep must be a non-empty "
                        "string");
  }
  char quote = 0;   /* opts.quote: cut only outside quoted fields (CSV) */
  if (opts && lua_getfield(L, opts, "quote") != LUA_TNIL) {
    size_t qn = 0;
    const char *qs = lua_type(L, -1) == LUA_TSTRING
                     ? lua_tolstring(L, -1, &qn) : NULL;
    if (qs == NULL || qn != 1)
      return luaL_error(L, "tome.parallel: opts.quote must be one character "
                        "(the CSV quote, '\"')");
    quote = qs[0];
  }
  if (opts && lua_getfield(L, opts, "reduce") != LUA_TNIL) {
    luaL_argexpected(L, lua_isfunction(L, -1), 3, "function as opts.reduce");
    reduce = lua_gettop(L);
  }
  int argidx = 0;
  if (opts && lua_getfield(L, opts, "arg") != LUA_TNIL) argidx = lua_gettop(L);
  job *jb = (job *)lua_newuserdatauv(L, sizeof(job), 0);
  memset(jb, 0, sizeof *jb);
  if (luaL_newmetatable(L, "tome.job")) {
    lua_pushcfunction(L, job_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  jb->preload = lua_tocfunction(L, lua_upvalueindex(2));
  lua_pushvalue(L, 2);
  if (lua_dump(L, dump_writer, &jb->code, 0) != 0)
    return luaL_error(L, "not enough memory");
  lua_pop(L, 1);
  if (argidx && !tm_encode(L, argidx, &jb->arg, "opts.arg"))
    return luaL_error(L, "tome.parallel: %s", lua_tostring(L, -1));
  int err = name_inputs(L, jb, ninputs);
  uint64_t total = 0;
  if (err == 0) {
    resolve_inputs(L, jb, ninputs);
    err = cut_inputs(L, jb, sep, sn, quote, (size_t)nchunks, &total);
  }
  if (err == 0) {
    pthread_mutex_init(&jb->lock, NULL);
    pthread_cond_init(&jb->changed, NULL);
    err = run_workers(jb, (size_t)nw, tm_l_progress(L), total, L);
    pthread_cond_destroy(&jb->changed);
    pthread_mutex_destroy(&jb->lock);
  }
  if (err != 0) return luaL_error(L, "tome.parallel: %s", strerror(err));
  if (jb->interrupted) return luaL_error(L, "interrupted!");
  for (size_t i = 0; i < jb->nchunks; i++)
    if (jb->chunks[i].failed)
      return chunk_error(L, jb, &jb->chunks[i], islist);
  return push_results(L, jb, reduce);
}
/* }==================================================================== */

void tm_l_openparallel(lua_State *L, lua_CFunction preload) {
  lua_pushvalue(L, -1);
  lua_pushcfunction(L, preload);
  lua_pushcclosure(L, t_parallel, 2);
  lua_setfield(L, -2, "parallel");
  lua_pushcfunction(L, t_cpus);
  lua_setfield(L, -2, "cpus");
}
