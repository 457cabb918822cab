/*
** host.c -- the `tome` command.
**
** A drop-in for the lua 5.4 standalone interpreter: the same options
** (-e -l -i -v -E -W -- -), the same `arg` table, LUA_INIT_5_4 /
** LUA_INIT, errors reported as "tome: message" with a traceback and exit
** status 1, Ctrl-C interrupting a running chunk.  On top of that the
** `tome` module is preloaded (and set as a global), -m maps files into
** the globals m and M, and -n / -p run a chunk for every line of files,
** as awk and perl -n do.
**
** Written from the reference manual's description of `lua` (section 7)
** and by comparing with the lua5.4 binary, not from lua.c.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "repl.h"
#include "tome.h"

#define PROGNAME   "tome"
#define INIT_VAR   "LUA_INIT"
#define INIT_VAR_V INIT_VAR "_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR


/* {====== messages ====== */

static void host_usage(FILE *out) {
  fputs(
  "usage: " PROGNAME " [options] [script [args]]\n"
  "       " PROGNAME " [options] -n|-p chunk [file...]\n"
  "Available options are:\n"
  "  -e stat   execute string 'stat'\n"
  "  -i        enter interactive mode after executing 'script'\n"
  "  -l mod    require library 'mod' into global 'mod'\n"
  "  -l g=mod  require library 'mod' into global 'g'\n"
  "  -v        show version information\n"
  "  -E        ignore environment variables\n"
  "  -W        turn warnings on\n"
  "  -m path   map 'path' read-only before running anything: the first\n"
  "            into global 'm', all of them into the list 'M'\n"
  "  -n chunk  run 'chunk' for every line of the files (standard input\n"
  "            when none or '-'), with globals line, NR, FNR, FILE\n"
  "  -p chunk  as -n, and print 'line' after each run\n"
  "  -F sep    with -n/-p: split each line into the list F (and NF = #F)\n"
  "            at the plain separator 'sep' ('\\t' is a tab; ' ' means\n"
  "            runs of blanks, as without -F when the chunk uses F or NF)\n"
  "  --begin chunk  with -n/-p: run 'chunk' before the first line\n"
  "  --end chunk    with -n/-p: run 'chunk' after the last line\n"
  "  --progress     show the progress of long scans on standard error\n"
  "  --shard K/N|auto  run shard K of N of a tome.job script (0-based;\n"
  "                 auto: from TOME_SHARD or Slurm's variables)\n"
  "  --partial DIR  with --shard: write the shard's part into DIR\n"
  "  --reduce DIR   fold the parts in DIR and finish the tome.job script\n"
  "  -h, --help     show this help\n"
  "  --        stop handling options\n"
  "  -         stop handling options and execute stdin\n"
  "            (with -n/-p: read the lines from stdin)\n", out);
  fflush(out);
}

static void host_version(void) {
  fputs(TOME_VERSION "  " LUA_COPYRIGHT "\n", stdout);
  fflush(stdout);
}

/* "tome: msg" on standard error (msg may hold any bytes). */
static void host_message(const char *msg, size_t len) {
  fputs(PROGNAME ": ", stderr);
  fwrite(msg, 1, len, stderr);
  fputc('\n', stderr);
  fflush(stderr);
}

/* Report the error message on top, if status is an error, and pop it. */
static int host_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    if (msg == NULL) {
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, -1));
      len = strlen(msg);
      lua_remove(L, -2);
    }
    host_message(msg, len);
    lua_pop(L, 1);
  }
  return status == LUA_OK;
}
/* }====== */


/* {====== Ctrl-C ====== */

/*
** A signal handler receives no context, so the one state it interrupts
** must be reachable through a static: this is the only mutable static
** of the program (the library rooms have none).  It is written once, in
** main, before any handler is installed, and only read afterwards; the
** host runs a single lua_State per process, so one slot is enough.
*/
static lua_State *volatile host_sigstate;

/* The hook the handler sets: raise at the next thing Lua does. */
static void host_stophook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/*
** The handler only calls lua_sethook, which Lua allows from a signal
** handler (it stores a few word-sized fields that the interpreter
** checks before every event).  SA_RESETHAND puts the default action
** back at once, so a second Ctrl-C kills a process stuck where no hook
** runs (inside a long C call).
*/
static void host_onsigint(int sig) {
  (void)sig;
  lua_sethook(host_sigstate, host_stophook,
              LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

/* Catch SIGINT while a chunk runs.  Without SA_RESTART a read blocked
** on a terminal returns at once, and the hook fires right after it. */
static void host_sigarm(struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = host_onsigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, old);
}

static void host_sigdisarm(lua_State *L, const struct sigaction *old) {
  sigaction(SIGINT, old, NULL);
  /* a Ctrl-C that came as the call ended must not hit the next one */
  if (lua_gethook(L) == host_stophook)
    lua_sethook(L, NULL, 0, 0);
}
/* }====== */


/* {====== running chunks ====== */

/* The message handler: the error as a string, plus a traceback.  An
** object with a __tostring that gives a string is shown as that alone. */
static int host_msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Call the function below nargs arguments with the message handler,
** Ctrl-C armed.  Also the REPL's way to run chunks. */
static int host_docall(lua_State *L, int nargs, int nres) {
  struct sigaction old;
  int status, base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, host_msghandler);
  lua_insert(L, base);
  host_sigarm(&old);
  status = lua_pcall(L, nargs, nres, base);
  host_sigdisarm(L, &old);
  lua_remove(L, base);
  return status;
}

static int host_dostring(lua_State *L, const char *s, const char *name) {
  int status = luaL_loadbuffer(L, s, strlen(s), name);
  if (status == LUA_OK)
    status = host_docall(L, 0, 0);
  return host_report(L, status);
}

static int host_dofile(lua_State *L, const char *path) {
  int status = luaL_loadfile(L, path);
  if (status == LUA_OK)
    status = host_docall(L, 0, 0);
  return host_report(L, status);
}

/* -l mod and -l g=mod: g = require(mod). */
static int host_require(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  size_t glen = eq ? (size_t)(eq - spec) : strlen(spec);
  int status;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  status = host_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_pushglobaltable(L);
    lua_pushlstring(L, spec, glen);
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    lua_pop(L, 2);
  }
  return host_report(L, status);
}
/* }====== */


/* {====== options ====== */

enum {
  OPT_E = 1,        /* -e seen: no REPL by default */
  OPT_I = 2,        /* -i */
  OPT_V = 4,        /* -v (and -i) */
  OPT_NOENV = 8,    /* -E */
  OPT_PRINT = 16,   /* -p */
  OPT_PROGRESS = 32,
  OPT_HELP = 64
};

/* The options that act, in the order given. */
typedef struct host_act {
  char opt;             /* 'e', 'l', 'W' or 'm' */
  const char *val;
} host_act;

typedef struct host_opts {
  int argc;
  char **argv;
  int script;           /* argv index of the script, or of the first file
                           with -n/-p; argc when there is none */
  int literal;          /* "--" came just before the script */
  unsigned flags;
  const char *chunk;    /* -n / -p */
  const char *sep;      /* -F */
  const char *begin, *end;
  const char *shard, *partial, *reduce;   /* tome.job's modes */
  int nact;
  host_act *act;        /* argc entries */
  char err[160];        /* why the command line is wrong */
} host_opts;

static int opt_fail(host_opts *o, const char *fmt, const char *what) {
  snprintf(o->err, sizeof o->err, fmt, what);
  return 0;
}

/*
** The argument of the option at argv[*i]: glued to it ("-eSTAT", "-F,")
** or the next word.  lua refuses a next word that starts with '-' for
** -e and -l ('strict'); tome's own options take any word (-m -, -F -).
*/
static const char *opt_value(host_opts *o, int *i, size_t glue, int strict) {
  const char *a = o->argv[*i];
  const char *next;
  if (a[glue] != '\0')
    return a + glue;
  next = o->argv[*i + 1];
  if (next == NULL || (strict && next[0] == '-')) {
    opt_fail(o, "'%s' needs argument", a);
    return NULL;
  }
  (*i)++;
  return next;
}

/* --begin CHUNK, --begin=CHUNK (and --end) */
static const char *opt_longvalue(host_opts *o, int *i, size_t namelen) {
  const char *a = o->argv[*i];
  if (a[namelen] == '=')
    return a + namelen + 1;
  if (a[namelen] != '\0') {
    opt_fail(o, "unrecognized option '%s'", a);
    return NULL;
  }
  return opt_value(o, i, namelen, 0);
}

static int opt_act(host_opts *o, char opt, const char *val) {
  o->act[o->nact].opt = opt;
  o->act[o->nact].val = val;
  o->nact++;
  return 1;
}

/* A flag option must stand alone ("-vi" is not "-v -i", as in lua). */
static int opt_flag(host_opts *o, const char *a, unsigned flags) {
  if (a[2] != '\0')
    return opt_fail(o, "unrecognized option '%s'", a);
  o->flags |= flags;
  return 1;
}

static int opt_loop(host_opts *o, int *i, unsigned flags) {
  const char *v = opt_value(o, i, 2, 0);
  if (v == NULL)
    return 0;
  if (o->chunk != NULL)
    return opt_fail(o, "only one -n or -p chunk (at '%s')", o->argv[*i]);
  o->chunk = v;
  o->flags |= flags;
  return 1;
}

static int opt_long(host_opts *o, int *i) {
  const char *a = o->argv[*i];
  if (strcmp(a, "--help") == 0)
    o->flags |= OPT_HELP;
  else if (strcmp(a, "--progress") == 0)
    o->flags |= OPT_PROGRESS;
  else if (strncmp(a, "--begin", 7) == 0)
    return (o->begin = opt_longvalue(o, i, 7)) != NULL;
  else if (strncmp(a, "--end", 5) == 0)
    return (o->end = opt_longvalue(o, i, 5)) != NULL;
  else if (strncmp(a, "--shard", 7) == 0)
    return (o->shard = opt_longvalue(o, i, 7)) != NULL;
  else if (strncmp(a, "--partial", 9) == 0)
    return (o->partial = opt_longvalue(o, i, 9)) != NULL;
  else if (strncmp(a, "--reduce", 8) == 0)
    return (o->reduce = opt_longvalue(o, i, 8)) != NULL;
  else
    return opt_fail(o, "unrecognized option '%s'", a);
  return 1;
}

/* One option at argv[*i] (it starts with '-' and is not "-" or "--"). */
static int opt_one(host_opts *o, int *i) {
  const char *a = o->argv[*i], *v;
  switch (a[1]) {
  case '-': return opt_long(o, i);
  case 'e':
    o->flags |= OPT_E;
    return (v = opt_value(o, i, 2, 1)) != NULL && opt_act(o, 'e', v);
  case 'l': return (v = opt_value(o, i, 2, 1)) != NULL && opt_act(o, 'l', v);
  case 'm': return (v = opt_value(o, i, 2, 0)) != NULL && opt_act(o, 'm', v);
  case 'W': return opt_flag(o, a, 0) && opt_act(o, 'W', NULL);
  case 'i': return opt_flag(o, a, OPT_I | OPT_V);
  case 'v': return opt_flag(o, a, OPT_V);
  case 'E': return opt_flag(o, a, OPT_NOENV);
  case 'h': return opt_flag(o, a, OPT_HELP);
  case 'n': return opt_loop(o, i, 0);
  case 'p': return opt_loop(o, i, OPT_PRINT);
  case 'F': return (o->sep = opt_value(o, i, 2, 0)) != NULL;
  default:  return opt_fail(o, "unrecognized option '%s'", a);
  }
}

/* Parse argv into o (o->act must hold argc entries); 0 on a bad
** command line, with the reason in o->err. */
static int host_parse(host_opts *o) {
  int i;
  for (i = 1; i < o->argc; i++) {
    const char *a = o->argv[i];
    if (a[0] != '-' || a[1] == '\0')
      break;                             /* the script, or "-" */
    if (strcmp(a, "--") == 0) {
      i++;
      o->literal = 1;
      break;
    }
    if (!opt_one(o, &i))
      return 0;
  }
  o->script = i < o->argc ? i : o->argc;
  if (o->chunk == NULL && (o->sep || o->begin || o->end))
    return opt_fail(o, "%s", "-F, --begin and --end need -n or -p");
  if (o->sep != NULL && o->sep[0] == '\0')
    return opt_fail(o, "%s", "-F needs a separator");
  if ((o->shard || o->partial || o->reduce) &&
      (o->chunk != NULL || o->script >= o->argc))
    return opt_fail(o, "%s", "--shard, --partial and --reduce need a job "
                    "script");
  if (!o->shard != !o->partial)
    return opt_fail(o, "%s", "--shard and --partial go together");
  if (o->reduce && o->shard)
    return opt_fail(o, "%s", "--reduce and --shard are two steps: give one");
  return 1;
}
/* }====== */


/* {====== the state: arg, -m, LUA_INIT, -e -l -W, the script ====== */

/*
** arg[0] is the script, the words before it go to negative indices and
** its arguments to 1..n.  Without a script everything is at 0 and up,
** as lua does; with -n/-p the files are arg[1..n].
*/
static void host_argtable(lua_State *L, const host_opts *o) {
  int base = 0, i;
  if (o->chunk != NULL)
    base = o->script - 1;
  else if (o->script < o->argc)
    base = o->script;
  lua_createtable(L, o->argc - base - 1 > 0 ? o->argc - base - 1 : 0,
                  base + 1);
  for (i = 0; i < o->argc; i++) {
    lua_pushstring(L, o->argv[i]);
    lua_rawseti(L, -2, (lua_Integer)i - base);
  }
  lua_setglobal(L, "arg");
}

/* Push package.loaded.tome's field 'name'. */
static void host_tomefield(lua_State *L, const char *name) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "tome");
  lua_remove(L, -2);
  if (!lua_istable(L, -1))
    luaL_error(L, "the tome module is not loaded");
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* "tome: path: reason" for a file tome.open refused; the message on top
** usually names the path already. */
static void host_fileerror(lua_State *L, const char *path) {
  size_t plen = strlen(path);
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL)
    msg = "cannot open";
  if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
    lua_pushstring(L, msg);
  else
    lua_pushfstring(L, "%s: %s", path, msg);
  host_report(L, LUA_ERRRUN);
}

/* -m PATH: tome.open(PATH) into the list M, the first also into m. */
static int host_maps(lua_State *L, const host_opts *o) {
  lua_Integer n = 0;
  int i;
  for (i = 0; i < o->nact; i++) {
    if (o->act[i].opt != 'm')
      continue;
    if (n == 0)
      lua_newtable(L);                   /* M */
    host_tomefield(L, "open");
    lua_pushstring(L, o->act[i].val);
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2)) {
      host_fileerror(L, o->act[i].val);
      return 0;
    }
    lua_pop(L, 1);
    if (n == 0) {
      lua_pushvalue(L, -1);
      lua_setglobal(L, "m");
    }
    lua_rawseti(L, -2, ++n);
  }
  if (n > 0)
    lua_setglobal(L, "M");
  return 1;
}

/* LUA_INIT_5_4, else LUA_INIT: a chunk, or "@file". */
static int host_luainit(lua_State *L) {
  const char *name = "=" INIT_VAR_V;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=" INIT_VAR;
    init = getenv(name + 1);
  }
  if (init == NULL)
    return 1;
  if (init[0] == '@')
    return host_dofile(L, init + 1);
  return host_dostring(L, init, name);
}

/* -e, -l and -W, in the order given. */
static int host_runargs(lua_State *L, const host_opts *o) {
  int i;
  for (i = 0; i < o->nact; i++) {
    const host_act *a = &o->act[i];
    if (a->opt == 'e' && !host_dostring(L, a->val, "=(command line)"))
      return 0;
    if (a->opt == 'l' && !host_require(L, a->val))
      return 0;
    if (a->opt == 'W')
      lua_warning(L, "@on", 0);
  }
  return 1;
}

/* Push arg[1..#arg], the script's '...'; returns how many. */
static int host_pushargs(lua_State *L) {
  lua_Integer n, i;
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  n = luaL_len(L, -1);
  if (n < 0)
    n = 0;
  if (n > INT_MAX - 3)
    luaL_error(L, "too many arguments to script");
  luaL_checkstack(L, (int)n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, -(int)i, i);
  lua_remove(L, -(int)i);
  return (int)n;
}

/*
** --shard/--partial/--reduce: tome.job (src/ljob.c, lua/tome/job.lua)
** finds them in the registry under "tome.jobmode" and marks the table
** used; a script that never calls tome.job is an error then, rather
** than a run over all of the input in every shard.
*/
static void host_jobmode(lua_State *L, const host_opts *o) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, o->shard);
  lua_setfield(L, -2, "shard");
  lua_pushstring(L, o->partial);
  lua_setfield(L, -2, "partial");
  lua_pushstring(L, o->reduce);
  lua_setfield(L, -2, "reduce");
  lua_pushstring(L, o->argv[o->script]);
  lua_setfield(L, -2, "script");
  lua_setfield(L, LUA_REGISTRYINDEX, "tome.jobmode");
}

static int host_jobdone(lua_State *L) {
  static const char msg[] =
    "--shard/--reduce: the script did not call tome.job";
  int used;
  lua_getfield(L, LUA_REGISTRYINDEX, "tome.jobmode");
  lua_getfield(L, -1, "used");
  used = lua_toboolean(L, -1);
  lua_pop(L, 2);
  if (!used)
    host_message(msg, sizeof msg - 1);
  return used;
}

static int host_script(lua_State *L, const host_opts *o) {
  const char *path = o->argv[o->script];
  int status;
  if (strcmp(path, "-") == 0 && !o->literal)
    path = NULL;                          /* standard input */
  status = luaL_loadfile(L, path);
  if (status == LUA_OK) {
    int n = host_pushargs(L);
    status = host_docall(L, n, 0);
  }
  return host_report(L, status);
}
/* }====== */


/* {====== one-liners: -n, -p ====== */

/* Fixed stack slots of lp_body (see there). */
enum {
  LP_OPTS = 1, LP_CHUNK, LP_BEGIN, LP_END,
  LP_G, LP_OPEN, LP_SEP,
  LP_KLINE, LP_KNR, LP_KFNR, LP_KFILE, LP_KF, LP_KNF
};

typedef struct lp_state {
  const host_opts *o;
  lua_Integer nr, fnr;
  int split;            /* build F and NF? */
  const char *sep;      /* NULL: on runs of blanks */
  size_t seplen;
} lp_state;

/* _G[key] = the value on top (popped).  Raw: these are the loop's own. */
static void lp_set(lua_State *L, int key) {
  lua_pushvalue(L, key);
  lua_insert(L, -2);
  lua_rawset(L, LP_G);
}

static int lp_isblank(char c) {
  return c == ' ' || c == '\t';
}

/* Push the fields of p[0..len) as a list; returns their number.  Awk's
** rule for blanks: leading and trailing ones make no field; and, as in
** awk, an empty line has no fields at all. */
static lua_Integer lp_split(lua_State *L, const lp_state *s,
                            const char *p, size_t len) {
  const char *end = p + len;
  lua_Integer n = 0;
  lua_createtable(L, 8, 0);
  if (s->sep == NULL) {
    for (;;) {
      const char *q;
      while (p < end && lp_isblank(*p)) p++;
      if (p == end) break;
      for (q = p; q < end && !lp_isblank(*q); q++) {}
      lua_pushlstring(L, p, (size_t)(q - p));
      lua_rawseti(L, -2, ++n);
      p = q;
    }
  } else if (len > 0) {
    for (;;) {
      const char *q = memmem(p, (size_t)(end - p), s->sep, s->seplen);
      if (q == NULL) q = end;
      lua_pushlstring(L, p, (size_t)(q - p));
      lua_rawseti(L, -2, ++n);
      if (q == end) break;
      p = q + s->seplen;
    }
  }
  return n;
}

/* -p: print the global line (nil or false print nothing). */
static void lp_print(lua_State *L) {
  lua_pushvalue(L, LP_KLINE);
  if (lua_rawget(L, LP_G) != LUA_TNIL && lua_toboolean(L, -1)) {
    size_t len;
    const char *p = luaL_tolstring(L, -1, &len);
    fwrite(p, 1, len, stdout);
    putc('\n', stdout);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* One line (on top, popped): set the globals, run the chunk. */
static void lp_line(lua_State *L, lp_state *s) {
  s->nr++;
  s->fnr++;
  if (s->split) {
    size_t len;
    const char *p = lua_tolstring(L, -1, &len);
    lua_Integer nf = lp_split(L, s, p, len);
    lp_set(L, LP_KF);
    lua_pushinteger(L, nf);
    lp_set(L, LP_KNF);
  }
  lp_set(L, LP_KLINE);
  lua_pushinteger(L, s->nr);
  lp_set(L, LP_KNR);
  lua_pushinteger(L, s->fnr);
  lp_set(L, LP_KFNR);
  lua_pushvalue(L, LP_CHUNK);
  lua_call(L, 0, 0);
  if (s->o->flags & OPT_PRINT)
    lp_print(L);
}

/* The buffer getline fills, boxed so that an error frees it. */
typedef struct lp_buf {
  char *p;
  size_t cap;
} lp_buf;

static int lp_buf_free(lua_State *L) {
  lp_buf *b = (lp_buf *)lua_touserdata(L, 1);
  free(b->p);
  b->p = NULL;
  b->cap = 0;
  return 0;
}

static lp_buf *lp_newbuf(lua_State *L) {
  lp_buf *b = (lp_buf *)lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  b->cap = 0;
  if (luaL_newmetatable(L, "tome.host.linebuf")) {
    lua_pushcfunction(L, lp_buf_free);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

static int lp_noop(lua_State *L) {
  (void)L;
  return 0;
}

/*
** Standard input that is not a regular file (a pipe, a terminal) is
** read line by line as it arrives, so `tail -f log | tome -n ...` works.
** A Ctrl-C while getline waits makes it fail with EINTR: calling any
** function then lets the hook the handler set raise "interrupted!".
*/
static int lp_stream(lua_State *L, lp_state *s) {
  lp_buf *b = lp_newbuf(L);
  int ok = 1;
  for (;;) {
    ssize_t n;
    errno = 0;
    n = getline(&b->p, &b->cap, stdin);
    if (n < 0) {
      if (ferror(stdin) && errno == EINTR) {
        clearerr(stdin);
        lua_pushcfunction(L, lp_noop);
        lua_call(L, 0, 0);
        continue;
      }
      if (ferror(stdin)) {
        lua_pushfstring(L, "-: %s", strerror(errno));
        host_report(L, LUA_ERRRUN);
        clearerr(stdin);
        ok = 0;
      }
      break;
    }
    if (n > 0 && b->p[n - 1] == '\n')
      n--;
    lua_pushlstring(L, b->p, (size_t)n);
    lp_line(L, s);
  }
  lua_pushcfunction(L, lp_buf_free);
  lua_insert(L, -2);
  lua_call(L, 1, 0);
  return ok;
}

/* Call the method 'name' of the object on top with no arguments,
** keeping the object; pushes nres results. */
static void lp_method(lua_State *L, const char *name, int nres) {
  lua_getfield(L, -1, name);
  lua_pushvalue(L, -2);
  lua_call(L, 1, nres);
}

/* The lines of a map, through its own lines() iterator. */
static void lp_maplines(lua_State *L, lp_state *s) {
  lp_method(L, "lines", 3);             /* iterator, state, control */
  for (;;) {
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    lua_replace(L, -2);                 /* the new control value */
    lua_pushvalue(L, -1);
    lp_line(L, s);
  }
  lua_pop(L, 3);
  lp_method(L, "close", 0);
}

static int lp_stdin_is_file(void) {
  struct stat st;
  return fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
}

/* Run the chunk over the lines of one file; 0 if it could not be read
** (reported, and the loop goes on). */
static int lp_file(lua_State *L, lp_state *s, const char *path) {
  s->fnr = 0;
  lua_pushstring(L, path);
  lp_set(L, LP_KFILE);
  if (strcmp(path, "-") == 0 && !lp_stdin_is_file())
    return lp_stream(L, s);
  lua_pushvalue(L, LP_OPEN);
  lua_pushstring(L, path);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) {
    host_fileerror(L, path);
    lua_pop(L, 2);
    return 0;
  }
  lua_pop(L, 1);
  lp_maplines(L, s);
  lua_pop(L, 1);
  return 1;
}

/* Does the chunk's text use the name (as a whole word)? */
static int lp_mentions(const char *src, const char *name) {
  size_t n = strlen(name);
  const char *p;
  if (src == NULL)
    return 0;
  for (p = strstr(src, name); p != NULL; p = strstr(p + 1, name)) {
    int before = (p > src) && (p[-1] == '_' || isalnum((unsigned char)p[-1]));
    int after = p[n] == '_' || isalnum((unsigned char)p[n]);
    if (!before && !after)
      return 1;
  }
  return 0;
}

/*
** Splitting every line into a fresh table costs more than the rest of
** the loop, so without -F it is done only when the chunk (or --end)
** names F or NF.  A function defined elsewhere (-e, -l) that reads F
** needs -F ' '.
*/
static int lp_wantsfields(const host_opts *o) {
  return o->sep != NULL ||
         lp_mentions(o->chunk, "F") || lp_mentions(o->chunk, "NF") ||
         lp_mentions(o->end, "F") || lp_mentions(o->end, "NF");
}

/* -F's separator: "\t" is a tab and "\\" a backslash, as awk reads it;
** " " means runs of blanks.  Pushes it (or nil for blanks). */
static void lp_pushsep(lua_State *L, const char *sep) {
  luaL_Buffer b;
  if (sep == NULL || strcmp(sep, " ") == 0) {
    lua_pushnil(L);
    return;
  }
  luaL_buffinit(L, &b);
  for (; *sep; sep++) {
    if (sep[0] == '\\' && sep[1] == 't') { luaL_addchar(&b, '\t'); sep++; }
    else if (sep[0] == '\\' && sep[1] == '\\') { luaL_addchar(&b, '\\'); sep++; }
    else luaL_addchar(&b, *sep);
  }
  luaL_pushresult(&b);
}

static void lp_runopt(lua_State *L, int idx) {
  if (!lua_isnil(L, idx)) {
    lua_pushvalue(L, idx);
    lua_call(L, 0, 0);
  }
}

/*
** The whole loop, run under host_docall so that an error anywhere
** reports with a traceback.  Arguments: the options, the chunk, the
** --begin and --end functions (or nil).  Returns the number of files
** that could not be read.
*/
static int lp_body(lua_State *L) {
  static const char *const keys[] = {"line", "NR", "FNR", "FILE", "F", "NF"};
  lp_state s;
  lua_Integer bad = 0;
  int i;
  s.o = (const host_opts *)lua_touserdata(L, LP_OPTS);
  s.nr = s.fnr = 0;
  lua_settop(L, LP_END);
  lua_pushglobaltable(L);                          /* LP_G */
  host_tomefield(L, "open");                       /* LP_OPEN */
  lp_pushsep(L, s.o->sep);                         /* LP_SEP */
  for (i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++)
    lua_pushstring(L, keys[i]);
  s.sep = lua_tolstring(L, LP_SEP, &s.seplen);
  s.split = lp_wantsfields(s.o);
  lua_pushinteger(L, 0);
  lp_set(L, LP_KNR);
  lua_pushinteger(L, 0);
  lp_set(L, LP_KFNR);
  lp_runopt(L, LP_BEGIN);
  if (s.o->script >= s.o->argc)
    bad += !lp_file(L, &s, "-");
  for (i = s.o->script; i < s.o->argc; i++)
    bad += !lp_file(L, &s, s.o->argv[i]);
  lp_runopt(L, LP_END);
  fflush(stdout);
  lua_pushinteger(L, bad);
  return 1;
}

/* Compile an optional chunk (nil when absent). */
static int lp_load(lua_State *L, const char *src, const char *name) {
  if (src == NULL) {
    lua_pushnil(L);
    return LUA_OK;
  }
  return luaL_loadbuffer(L, src, strlen(src), name);
}

/* -n / -p: compile the chunks once, then run the loop.  Returns 1, 0
** when some file could not be read, -1 on an error (reported). */
static int host_loop(lua_State *L, const host_opts *o) {
  int status, top = lua_gettop(L);
  lua_pushcfunction(L, lp_body);
  lua_pushlightuserdata(L, (void *)o);
  status = lp_load(L, o->chunk, "=(command line)");
  if (status == LUA_OK)
    status = lp_load(L, o->begin, "=(--begin)");
  if (status == LUA_OK)
    status = lp_load(L, o->end, "=(--end)");
  if (status != LUA_OK) {
    host_report(L, status);
    lua_settop(L, top);
    return -1;
  }
  status = host_docall(L, 4, 1);
  if (status != LUA_OK) {
    host_report(L, status);
    return -1;
  }
  status = lua_tointeger(L, -1) == 0;
  lua_pop(L, 1);
  return status;
}
/* }====== */


/* {====== main ====== */

/* Open the libraries and tome: the global tome = require "tome". */
static void host_openlibs(lua_State *L, const host_opts *o) {
  if (o->flags & OPT_NOENV) {        /* package then ignores LUA_PATH... */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  tome_preload(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "tome");
  lua_call(L, 1, 1);
  lua_setglobal(L, "tome");
  if (o->flags & OPT_PROGRESS) {
    host_tomefield(L, "progress");
    if (lua_isfunction(L, -1)) {
      lua_pushboolean(L, 1);
      lua_call(L, 1, 0);
    } else
      lua_pop(L, 1);
  }
}

static int host_interactive(lua_State *L) {
  tm_repl(L, host_docall);
  return 1;
}

/* Everything, run protected: returns true when the exit status is 0. */
static int host_pmain(lua_State *L) {
  const host_opts *o = (const host_opts *)lua_touserdata(L, 1);
  int ok = 1, script = o->script < o->argc;
  luaL_checkversion(L);
  if (o->flags & OPT_V)
    host_version();
  host_openlibs(L, o);
  host_argtable(L, o);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!host_maps(L, o))
    return 0;
  if (!(o->flags & OPT_NOENV) && !host_luainit(L))
    return 0;
  if (!host_runargs(L, o))
    return 0;
  if (o->chunk != NULL) {
    ok = host_loop(L, o);
    if (ok < 0)
      return 0;
  } else if (o->shard || o->reduce) {
    host_jobmode(L, o);
    if (!host_script(L, o) || !host_jobdone(L))
      return 0;
  } else if (script && !host_script(L, o))
    return 0;
  if (o->flags & OPT_I)
    host_interactive(L);
  else if (!script && o->chunk == NULL && !(o->flags & (OPT_E | OPT_V))) {
    if (isatty(STDIN_FILENO)) {
      host_version();
      host_interactive(L);
    } else if (!host_dofile(L, NULL))
      return 0;
  }
  lua_pushboolean(L, ok);
  return 1;
}

int main(int argc, char **argv) {
  host_opts o;
  lua_State *L;
  int status, ok;
  memset(&o, 0, sizeof o);
  o.argc = argc;
  o.argv = argv;
  o.act = (host_act *)calloc((size_t)(argc > 0 ? argc : 1), sizeof *o.act);
  if (o.act == NULL) {
    host_message("not enough memory", 17);
    return EXIT_FAILURE;
  }
  if (!host_parse(&o)) {
    host_message(o.err, strlen(o.err));
    host_usage(stderr);
    free(o.act);
    return EXIT_FAILURE;
  }
  if (o.flags & OPT_HELP) {
    host_usage(stdout);
    free(o.act);
    return EXIT_SUCCESS;
  }
  L = luaL_newstate();
  if (L == NULL) {
    host_message("cannot create state: not enough memory", 38);
    free(o.act);
    return EXIT_FAILURE;
  }
  host_sigstate = L;              /* before any handler can run */
  lua_pushcfunction(L, host_pmain);
  lua_pushlightuserdata(L, &o);
  status = lua_pcall(L, 1, 1, 0);
  ok = status == LUA_OK && lua_toboolean(L, -1);
  host_report(L, status);
  lua_close(L);
  free(o.act);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
/* }====== */
