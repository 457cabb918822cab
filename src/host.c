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
** and by comparing with the lua5.4 binary, not from lua.c.  Messages
** start with the name the program was invoked by (argv[0]), as lua's
** do.  The -n / -p loops are in oneliner.c.
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

#include "oneliner.h"
#include "repl.h"
#include "tome.h"

#define PROGNAME   "tome"       /* when argv[0] is missing or empty */
#define INIT_VAR   "LUA_INIT"
#define INIT_VAR_V INIT_VAR "_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR


/* {====== messages ====== */

/*
** The name errors and the usage start with: argv[0] as the program was
** invoked (/usr/local/bin/tome, or lua through a link named lua), as
** lua's messages do.  Set once in main before anything runs; the host is
** one process with one Lua state, so a static is enough.
*/
static const char *host_progname = PROGNAME;

static void host_usage(FILE *out) {
  const char *p = host_progname;
  fprintf(out,
  "usage: %s [options] [script [args]]\n"
  "       %s [options] -n|-p chunk [file...]\n", p, p);
  fputs(
  "Available options are:\n"
  "  -e stat   execute string 'stat'\n"
  "  -i        enter interactive mode after executing 'script'\n"
  "  -l mod    require library 'mod' into global 'mod'\n"
  "  -l g=mod  require library 'mod' into global 'g'\n"
  "  -v, --version  show version information\n"
  "  -E        ignore environment variables\n"
  "  -W        turn warnings on\n"
  "  -m path   map 'path' read-only before running anything: the first\n"
  "            into global 'm', all of them into the list 'M'\n"
  "  -n chunk  run 'chunk' for every line of the files (standard input\n"
  "            when none or '-'), with line, NR, FNR, FILE (and F, NF);\n"
  "            a chunk that is an expression prints the lines where it\n"
  "            is true, as an awk pattern does\n"
  "  -p chunk  as -n, and print 'line' after each run, as perl -p\n"
  "  -F sep    with -n/-p: split each line into the list F (and NF = #F):\n"
  "            ' ' runs of blanks (the default when the chunk uses F),\n"
  "            a plain separator ('\\t' is a tab), a Lua pattern when it\n"
  "            has specials ('[,;]'), csv or tsv (RFC 4180 records),\n"
  "            json (each line decoded into F)\n"
  "  --header  with -n/-p: the first record of each file names the\n"
  "            fields (F.total as well as F[4]); it is not run\n"
  "  -0        with -n/-p: records end with NUL bytes (find -print0)\n"
  "  --rs sep  with -n/-p: records end with 'sep'; '' is paragraph mode\n"
  "  --in-place  with -n/-p: replace each file by the output, atomically\n"
  "            (--in-place=suffix keeps the original as file.suffix)\n"
  "  --begin chunk  with -n/-p: run 'chunk' before the first record\n"
  "  --end chunk    with -n/-p: run 'chunk' after the last record\n"
  "  --progress     show the progress of long scans on standard error\n"
  "  --shard K/N|auto  run shard K of N of a tome.job script (0-based;\n"
  "                 auto: from TOME_SHARD or Slurm's variables)\n"
  "  --partial DIR  with --shard: write the shard's part into DIR\n"
  "  --reduce DIR   fold the parts in DIR and finish the tome.job script\n"
  "  -h, --help     show this help\n"
  "  --        stop handling options\n"
  "  -         stop handling options and execute stdin\n"
  "            (with -n/-p: read the records from stdin)\n", out);
  fflush(out);
}

static void host_version(void) {
  fputs(TOME_VERSION "  " LUA_COPYRIGHT "\n", stdout);
  fflush(stdout);
}

/* "progname: msg" on standard error (msg may hold any bytes). */
static void host_message(const char *msg, size_t len) {
  fputs(host_progname, stderr);
  fputs(": ", stderr);
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
  } else if (tm_ol_where(L)) {         /* in a -n/-p loop: FILE:LINE: */
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    msg = lua_tostring(L, -1);
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
  OPT_HELP = 16
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
  tm_ol_opts loop;      /* -n / -p and the options that go with them */
  const char *shard, *partial, *reduce;   /* tome.job's modes */
  const char *loopopt;  /* the first loop option seen (for a message) */
  int nact;
  host_act *act;        /* argc entries */
  char err[160];        /* why the command line is wrong */
} host_opts;

static int opt_fail(host_opts *o, const char *fmt, const char *what) {
  snprintf(o->err, sizeof o->err, fmt, what);
  return 0;
}

static int opt_act(host_opts *o, char opt, const char *val) {
  o->act[o->nact].opt = opt;
  o->act[o->nact].val = val;
  o->nact++;
  return 1;
}

/* What each option does with its value (NULL for a flag).  'a' is the
** word as given, for messages. */
typedef int (*opt_fn)(host_opts *o, const char *a, const char *val);

static int opt_e(host_opts *o, const char *a, const char *v) {
  (void)a;
  o->flags |= OPT_E;
  return opt_act(o, 'e', v);
}
static int opt_l(host_opts *o, const char *a, const char *v) {
  (void)a;
  return opt_act(o, 'l', v);
}
static int opt_m(host_opts *o, const char *a, const char *v) {
  (void)a;
  return opt_act(o, 'm', v);
}
static int opt_W(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  return opt_act(o, 'W', NULL);
}
static int opt_i(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  o->flags |= OPT_I | OPT_V;
  return 1;
}
static int opt_v(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  o->flags |= OPT_V;
  return 1;
}
static int opt_E(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  o->flags |= OPT_NOENV;
  return 1;
}
static int opt_help(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  o->flags |= OPT_HELP;
  return 1;
}
static int opt_progress(host_opts *o, const char *a, const char *v) {
  (void)a; (void)v;
  o->loop.progress = 1;
  return 1;
}

static int opt_chunk(host_opts *o, const char *a, const char *v) {
  if (o->loop.chunk != NULL)
    return opt_fail(o, "only one -n or -p chunk (at '%s')", v);
  o->loop.chunk = v;
  o->loop.print = a[1] == 'p';
  return 1;
}

/* The options that only mean something with -n / -p. */
static int opt_loopopt(host_opts *o, const char *a) {
  if (o->loopopt == NULL)
    o->loopopt = a;
  return 1;
}
static int opt_F(host_opts *o, const char *a, const char *v) {
  if (v[0] == '\0')
    return opt_fail(o, "%s", "-F needs a separator");
  o->loop.fs = v;
  return opt_loopopt(o, a);
}
static int opt_rs(host_opts *o, const char *a, const char *v) {
  if (o->loop.rs != NULL)
    return opt_fail(o, "only one record separator (at '%s')", a);
  o->loop.rs = v;
  o->loop.rslen = strlen(v);
  return opt_loopopt(o, a);
}
static int opt_0(host_opts *o, const char *a, const char *v) {
  (void)v;
  return opt_rs(o, a, "\\0");
}
static int opt_header(host_opts *o, const char *a, const char *v) {
  (void)v;
  o->loop.header = 1;
  return opt_loopopt(o, a);
}
static int opt_inplace(host_opts *o, const char *a, const char *v) {
  o->loop.inplace = v != NULL ? v : "";
  return opt_loopopt(o, a);
}
static int opt_begin(host_opts *o, const char *a, const char *v) {
  o->loop.begin = v;
  return opt_loopopt(o, a);
}
static int opt_end(host_opts *o, const char *a, const char *v) {
  o->loop.end = v;
  return opt_loopopt(o, a);
}

/* tome.job's modes (lua/tome/job.lua) */
static int opt_shard(host_opts *o, const char *a, const char *v) {
  (void)a;
  o->shard = v;
  return 1;
}
static int opt_partial(host_opts *o, const char *a, const char *v) {
  (void)a;
  o->partial = v;
  return 1;
}
static int opt_reduce(host_opts *o, const char *a, const char *v) {
  (void)a;
  o->reduce = v;
  return 1;
}

/* How an option takes its value. */
enum {
  ARG_NONE,       /* a flag, standing alone ("-vi" is not "-v -i", as in lua) */
  ARG_STRICT,     /* glued ("-eSTAT") or the next word, which must not
                     start with '-' (lua's -e and -l) */
  ARG_ANY,        /* glued, --name=value, or the next word, any word
                     (-m -, -F ' ', --rs '') */
  ARG_OPTIONAL    /* --name, or --name=value only */
};

typedef struct host_optdef {
  const char *name;     /* "-e" (one letter) or "--begin" */
  int arg;
  opt_fn set;
} host_optdef;

/* Every option; to add one, add a line (and its opt_ function). */
static const host_optdef host_optdefs[] = {
  /* lua's */
  {"-e", ARG_STRICT, opt_e},
  {"-l", ARG_STRICT, opt_l},
  {"-i", ARG_NONE, opt_i},
  {"-v", ARG_NONE, opt_v},
  {"-E", ARG_NONE, opt_E},
  {"-W", ARG_NONE, opt_W},
  /* tome's */
  {"--version", ARG_NONE, opt_v},
  {"-h", ARG_NONE, opt_help},
  {"--help", ARG_NONE, opt_help},
  {"-m", ARG_ANY, opt_m},
  {"--progress", ARG_NONE, opt_progress},
  /* the loops */
  {"-n", ARG_ANY, opt_chunk},
  {"-p", ARG_ANY, opt_chunk},
  {"-F", ARG_ANY, opt_F},
  {"-0", ARG_NONE, opt_0},
  {"--rs", ARG_ANY, opt_rs},
  {"--header", ARG_NONE, opt_header},
  {"--in-place", ARG_OPTIONAL, opt_inplace},
  {"--begin", ARG_ANY, opt_begin},
  {"--end", ARG_ANY, opt_end},
  /* tome.job */
  {"--shard", ARG_ANY, opt_shard},
  {"--partial", ARG_ANY, opt_partial},
  {"--reduce", ARG_ANY, opt_reduce},
  {NULL, 0, NULL}
};

/* Does argv word a name option d?  Sets *glued to its glued value
** ("-eSTAT", "--rs=x"), or NULL. */
static int opt_matches(const host_optdef *d, const char *a,
                       const char **glued) {
  size_t n = strlen(d->name);
  *glued = NULL;
  if (strncmp(a, d->name, n) != 0)
    return 0;
  if (a[n] == '\0')
    return 1;
  if (d->name[1] != '-') {              /* -X: anything after is glued */
    *glued = a + n;
    return 1;
  }
  if (a[n] == '=') {
    *glued = a + n + 1;
    return 1;
  }
  return 0;
}

/* One option at argv[*i] (it starts with '-' and is not "-" or "--"). */
static int opt_one(host_opts *o, int *i) {
  const char *a = o->argv[*i], *v;
  const host_optdef *d;
  for (d = host_optdefs; d->name != NULL; d++)
    if (opt_matches(d, a, &v))
      break;
  if (d->name == NULL || (v != NULL && d->arg == ARG_NONE))
    return opt_fail(o, "unrecognized option '%s'", a);
  if (v == NULL && (d->arg == ARG_STRICT || d->arg == ARG_ANY)) {
    const char *next = o->argv[*i + 1];
    if (next == NULL || (d->arg == ARG_STRICT && next[0] == '-'))
      return opt_fail(o, "'%s' needs argument", a);
    v = next;
    (*i)++;
  }
  return d->set(o, a, v);
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
  if (o->loop.chunk == NULL && o->loopopt != NULL)
    return opt_fail(o, "'%s' needs -n or -p", o->loopopt);
  if ((o->shard || o->partial || o->reduce) &&
      (o->loop.chunk != NULL || o->script >= o->argc))
    return opt_fail(o, "%s", "--shard, --partial and --reduce need a job "
                    "script");
  if (!o->shard != !o->partial)
    return opt_fail(o, "%s", "--shard and --partial go together");
  if (o->reduce && o->shard)
    return opt_fail(o, "%s", "--reduce and --shard are two steps: give one");
  o->loop.files = o->argv + o->script;
  o->loop.nfiles = o->argc - o->script;
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
  if (o->loop.chunk != NULL)
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


/* {====== one-liners: -n, -p (oneliner.c) ====== */

/* -n / -p: compile the chunks once, then run the loop.  Returns 1, 0
** when some file could not be read, -1 on an error (reported). */
static int host_loop(lua_State *L, const host_opts *o) {
  int status, top = lua_gettop(L);
  lua_pushcfunction(L, tm_ol_run);
  lua_pushlightuserdata(L, (void *)&o->loop);
  status = tm_ol_compile(L, &o->loop);
  if (status != LUA_OK) {
    host_report(L, status);
    lua_settop(L, top);
    return -1;
  }
  status = host_docall(L, 2, 1);
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
  lua_getglobal(L, "print");            /* the loops know it (oneliner.h) */
  lua_setfield(L, LUA_REGISTRYINDEX, TM_OL_PRINT);
  tome_preload(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "tome");
  lua_call(L, 1, 1);
  lua_setglobal(L, "tome");
  if (o->loop.progress) {
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
  if (o->loop.chunk != NULL) {
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
  else if (!script && o->loop.chunk == NULL &&
           !(o->flags & (OPT_E | OPT_V))) {
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
  if (argv[0] != NULL && argv[0][0] != '\0')
    host_progname = argv[0];
  /* a pipe gets output in large writes (a terminal stays line-buffered) */
  if (!isatty(STDOUT_FILENO))
    setvbuf(stdout, NULL, _IOFBF, (size_t)1 << 16);
  o.argc = argc;
  o.loop.report = host_message;
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
