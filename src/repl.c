/*
** repl.c -- the interactive loop of the tome command: read a chunk
** (continuing lines until it is complete), run it, print its results.
**
** Line editing, history and tab completion come from libedit's readline
** interface when the build found it (TOME_HAVE_EDITLINE) and standard
** input is a terminal; otherwise lines are read plainly from stdin.
** What is clearer in Lua -- the pretty-printer and the completion
** candidates -- is in lua/tome/repl.lua (the module "tome.repl").
*/
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"

#include "repl.h"

#ifdef TOME_HAVE_EDITLINE
#include <editline/readline.h>
#endif

#define REPL_PROMPT    "> "
#define REPL_PROMPT2   ">> "
#define REPL_CHUNKNAME "=stdin"
#define REPL_HISTFILE  ".tome_history"
#define REPL_HISTMAX   1000
#define REPL_MODULE    "tome.repl"

/* what reading a line gave */
enum { LINE_EOF, LINE_OK, LINE_CANCEL };

/* what reading a chunk gave, besides a Lua status (all >= 0) */
#define REPL_CANCEL (-1)   /* Ctrl-C: nothing to run */
#define REPL_EOF    (-2)   /* the end of input: leave */

typedef struct repl {
  lua_State *L;
  tm_docall_fn docall;
  int edit;        /* reading through the line editor? */
  int histidx;     /* stack index of the history file's path, or 0 */
  int modidx;      /* stack index of the tome.repl module, or 0 */
  int chart;       /* the chunk came as ":chart EXPR" */
} repl;


/* {====== Ctrl-C ====== */

/*
** While the REPL waits for a line, SIGINT has a handler that does
** nothing: installed without SA_RESTART, its only effect is that the
** blocked read fails with EINTR, which readline (and the plain reader)
** report, and the line is cancelled.  So the handler shares no state
** with anyone.  While a chunk runs, the host's own handler replaces this
** one (docall) and interrupts the chunk.
*/
static void repl_onsigint(int sig) {
  (void)sig;
}

static void repl_sigcatch(struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = repl_onsigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, old);
}
/* }====== */


/* {====== the Lua half (tome.repl) ====== */

static int repl_requiremod(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, REPL_MODULE);
  lua_call(L, 1, 1);
  return 1;
}

/* Load tome.repl and keep it on the stack; without it (a broken
** package.preload) the REPL still works, printing with 'print'. */
static void repl_loadmod(repl *r) {
  lua_State *L = r->L;
  lua_pushcfunction(L, repl_requiremod);
  if (lua_pcall(L, 0, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    r->modidx = lua_gettop(L);
    return;
  }
  lua_pop(L, 1);
  r->modidx = 0;
}
/* }====== */


/* {====== history and completion (libedit) ====== */

#ifdef TOME_HAVE_EDITLINE

/*
** readline calls the completion function with no room for a context
** pointer, so the REPL that is reading has to be found through a
** variable.  It is set only around the call to readline, and
** thread-local so that REPLs in two threads (each with its own state)
** would not see each other's.
*/
static _Thread_local repl *repl_reading;

/* History lives in ~/.tome_history; without HOME there is none. */
static void repl_history_open(repl *r) {
  const char *home = getenv("HOME");
  r->histidx = 0;
  if (!r->edit || home == NULL || *home == '\0')
    return;
  lua_pushfstring(r->L, "%s/%s", home, REPL_HISTFILE);
  r->histidx = lua_gettop(r->L);
  using_history();
  stifle_history(REPL_HISTMAX);
  read_history(lua_tostring(r->L, r->histidx));  /* missing file: fine */
}

/* Remember a complete chunk, unless it repeats the last one.  The file
** is rewritten at once so that a session ended by os.exit or a signal
** keeps what was typed. */
static void repl_history_add(repl *r, const char *chunk) {
  HIST_ENTRY *last;
  if (!r->edit || chunk[0] == '\0')
    return;
  last = history_get(history_base + history_length - 1);
  if (last != NULL && last->line != NULL && strcmp(last->line, chunk) == 0)
    return;
  add_history(chunk);
  if (r->histidx != 0)
    write_history(lua_tostring(r->L, r->histidx));
}

/* Protected part of the completion: tome.repl.complete(text). */
static int repl_callcomplete(lua_State *L) {
  const char *text = (const char *)lua_touserdata(L, 1);
  lua_getfield(L, 2, "complete");
  lua_pushstring(L, text);
  lua_call(L, 1, 1);
  luaL_checktype(L, -1, LUA_TTABLE);
  return 1;
}

/* The length of the common prefix of the strings 1..n of the list on
** top (all of them strings). */
static size_t repl_common(lua_State *L, lua_Integer n) {
  size_t len, common;
  const char *first;
  lua_Integer i;
  lua_rawgeti(L, -1, 1);
  first = lua_tolstring(L, -1, &common);
  for (i = 2; i <= n; i++) {
    size_t k = 0;
    const char *s;
    lua_rawgeti(L, -2, i);
    s = lua_tolstring(L, -1, &len);
    while (k < common && k < len && s[k] == first[k]) k++;
    common = k;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return common;
}

/*
** The matches in readline's form: a malloc'ed array of malloc'ed
** strings, [0] the text that replaces the word (the common prefix),
** then the candidates, then NULL.  A single match stands alone.  Two
** spare NULLs: libedit looks at [2] to recognise a single match.
*/
static char **repl_matches(lua_State *L, lua_Integer n) {
  size_t common = repl_common(L, n);
  lua_Integer i, first = (n == 1) ? 1 : 0;
  char **m;
  if ((size_t)n > SIZE_MAX / sizeof *m - 3)
    return NULL;
  m = (char **)calloc((size_t)n + 3, sizeof *m);
  if (m == NULL)
    return NULL;
  for (i = first; i <= n; i++) {
    size_t len;
    const char *s;
    lua_rawgeti(L, -1, i == 0 ? 1 : i);
    s = lua_tolstring(L, -1, &len);
    if (i == 0)
      len = common;
    m[i - first] = strndup(s, len);
    lua_pop(L, 1);
    if (m[i - first] == NULL) {          /* out of memory: no matches */
      char **p;
      for (p = m; *p != NULL; p++) free(*p);
      free(m);
      return NULL;
    }
  }
  return m;
}

/* Are the entries 1..n of the list on top all strings? */
static int repl_allstrings(lua_State *L, lua_Integer n) {
  lua_Integer i;
  int ok = 1;
  for (i = 1; i <= n && ok; i++) {
    ok = lua_rawgeti(L, -1, i) == LUA_TSTRING;
    lua_pop(L, 1);
  }
  return ok;
}

/* readline's completion hook: the candidates come from tome.repl. */
static char **repl_complete(const char *text, int start, int end) {
  repl *r = repl_reading;
  lua_State *L;
  char **m = NULL;
  int top;
  (void)start; (void)end;
  rl_attempted_completion_over = 1;     /* never complete file names */
  if (r == NULL || r->modidx == 0 || !lua_checkstack(r->L, 4))
    return NULL;
  L = r->L;
  top = lua_gettop(L);
  lua_pushcfunction(L, repl_callcomplete);
  lua_pushlightuserdata(L, (void *)text);
  lua_pushvalue(L, r->modidx);
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n > 0 && repl_allstrings(L, n))
      m = repl_matches(L, n);
  }
  lua_settop(L, top);
  return m;
}

/* Blanks, operators and brackets end a word; '.' and ':' do not, so
** that "string.fo" and "m:li" reach the completion whole.  (libedit
** only reads this string.) */
#define REPL_BREAKS " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#"

/*
** libedit decodes multibyte input with the C library, and decides at
** its initialisation whether the terminal speaks UTF-8: so the user's
** LC_CTYPE is in force while it starts and while it reads (UTF-8 text
** then comes through whole).  The previous one (pushed) is put back
** after, so that Lua code still runs in the locale it chose.
*/
static void repl_userlocale(lua_State *L) {
  lua_pushstring(L, setlocale(LC_CTYPE, NULL));
  setlocale(LC_CTYPE, "");
}

static void repl_oldlocale(lua_State *L) {
  setlocale(LC_CTYPE, lua_tostring(L, -1));
  lua_pop(L, 1);
}

static void repl_editor_init(repl *r) {
  if (!r->edit)
    return;
  rl_readline_name = "tome";      /* for "tome:" lines in ~/.editrc */
  rl_catch_signals = 0;       /* Ctrl-C is ours (see repl_onsigint) */
  rl_attempted_completion_function = repl_complete;
  rl_completer_word_break_characters = (char *)REPL_BREAKS;
  rl_completion_append_character = '\0';
  repl_userlocale(r->L);
  rl_initialize();
  repl_oldlocale(r->L);
}

/* A line through readline. */
static int repl_editline(repl *r, const char *prompt) {
  lua_State *L = r->L;
  char *line;
  int err;
  repl_userlocale(L);
  repl_reading = r;
  errno = 0;
  line = readline(prompt);
  err = errno;
  repl_reading = NULL;
  repl_oldlocale(L);
  if (line == NULL)
    return err == EINTR ? LINE_CANCEL : LINE_EOF;
  lua_pushstring(L, line);
  free(line);
  return LINE_OK;
}

#else /* no line editor */

static void repl_history_open(repl *r) { r->histidx = 0; }
static void repl_history_add(repl *r, const char *chunk) {
  (void)r; (void)chunk;
}
static void repl_editor_init(repl *r) { (void)r; }
static int repl_editline(repl *r, const char *prompt) {
  (void)r; (void)prompt;
  return LINE_EOF;
}

#endif
/* }====== */


/* {====== reading ====== */

/* tostring(_PROMPT or _PROMPT2), run protected (a __tostring may fail). */
static int repl_tostring(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

/* Push the prompt: tostring(_PROMPT / _PROMPT2) when they are set, as
** lua converts them (a table with __tostring works); the default when
** they are nil or their conversion fails. */
static const char *repl_pushprompt(lua_State *L, int first) {
  if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") != LUA_TNIL) {
    lua_pushcfunction(L, repl_tostring);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
      return lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  return lua_pushstring(L, first ? REPL_PROMPT : REPL_PROMPT2);
}

/* A line from plain stdin, without its newline.  A Ctrl-C while it
** waits (getchar fails with EINTR) cancels the line.  The line is
** echoed after the prompt, as lua (built with readline) shows input
** that does not come from a terminal. */
static int repl_plainline(lua_State *L, const char *prompt) {
  luaL_Buffer b;
  int c, any = 0;
  fputs(prompt, stdout);
  fflush(stdout);
  luaL_buffinit(L, &b);
  errno = 0;
  while ((c = getchar()) != EOF && c != '\n') {
    luaL_addchar(&b, (char)c);
    any = 1;
  }
  luaL_pushresult(&b);
  if (c == EOF && ferror(stdin) && errno == EINTR) {
    clearerr(stdin);
    lua_pop(L, 1);
    return LINE_CANCEL;
  }
  if (c == EOF && !any) {
    lua_pop(L, 1);
    return LINE_EOF;
  }
  {
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
  return LINE_OK;
}

/* Push the next line (first line of a chunk or a continuation) and
** return LINE_OK, or push nothing and return LINE_EOF / LINE_CANCEL. */
static int repl_getline(repl *r, int first) {
  lua_State *L = r->L;
  const char *prompt = repl_pushprompt(L, first);
  int res;
  if (r->edit)
    res = repl_editline(r, prompt);
  else
    res = repl_plainline(L, prompt);
  lua_remove(L, res == LINE_OK ? -2 : -1);   /* the prompt */
  if (res == LINE_CANCEL) {                  /* the next prompt on its line */
    fputc('\n', stdout);
    fflush(stdout);
  }
  return res;
}

/* Is this the error of a chunk that merely ends too soon?  The parser
** says so by naming <eof> as the token it stopped at. */
static int repl_incomplete(lua_State *L, int status) {
  static const char mark[] = "<eof>";
  const size_t n = sizeof mark - 1;
  size_t len;
  const char *msg;
  if (status != LUA_ERRSYNTAX)
    return 0;
  msg = lua_tolstring(L, -1, &len);
  return len >= n && memcmp(msg + len - n, mark, n) == 0;
}

/* Compile the text on top as an expression ("return " .. text), so
** that values print without '='.  Pushes the function and returns 1, or
** pushes nothing and returns 0; *incomplete tells whether the
** expression only lacked its end. */
static int repl_tryexpr(lua_State *L, int *incomplete) {
  size_t len;
  const char *code;
  int status;
  lua_pushliteral(L, "return ");
  lua_pushvalue(L, -2);
  lua_concat(L, 2);
  code = lua_tolstring(L, -1, &len);
  status = luaL_loadbuffer(L, code, len, REPL_CHUNKNAME);
  *incomplete = repl_incomplete(L, status);
  if (status == LUA_OK) {
    lua_remove(L, -2);  /* the code */
    return 1;
  }
  lua_pop(L, 2);        /* the message and the code */
  return 0;
}

/*
** Compile the text on top, as an expression if it is one, else as
** statements, reading more lines while the chunk is incomplete as
** either (an expression may span lines too, as in "{" ... "}").  The
** text becomes the whole chunk; pushes the function (LUA_OK), an error
** message (a Lua error status), or nothing (REPL_CANCEL: Ctrl-C).
*/
static int repl_compile(repl *r) {
  lua_State *L = r->L;
  for (;;) {
    size_t len;
    const char *code;
    int status, more, exprmore;
    if (repl_tryexpr(L, &exprmore))
      return LUA_OK;
    code = lua_tolstring(L, -1, &len);
    status = luaL_loadbuffer(L, code, len, REPL_CHUNKNAME);
    if (status == LUA_OK || !(exprmore || repl_incomplete(L, status)))
      return status;
    more = repl_getline(r, 0);
    if (more == LINE_EOF)
      return status;                /* reported as the syntax error */
    lua_remove(L, more == LINE_OK ? -2 : -1);      /* the message */
    if (more == LINE_CANCEL)
      return REPL_CANCEL;
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);               /* chunk .. "\n" .. next line */
  }
}

/* ":chart EXPR" (the line on top): the text becomes EXPR, whose values
** go through tome.chart's show before they are printed. */
#define REPL_CHART ":chart"
static int repl_ischart(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  size_t n = sizeof REPL_CHART - 1;
  if (strncmp(line, REPL_CHART, n) != 0 || (line[n] != ' ' && line[n] != '\0'))
    return 0;
  lua_pushstring(L, line + n + (line[n] == ' '));
  lua_replace(L, -2);
  return 1;
}

/* Read and compile one chunk.  Pushes the function (LUA_OK) or an error
** message (a Lua error status); returns REPL_CANCEL or REPL_EOF,
** pushing nothing. */
static int repl_read(repl *r) {
  lua_State *L = r->L;
  int status = repl_getline(r, 1);
  if (status != LINE_OK)
    return status == LINE_CANCEL ? REPL_CANCEL : REPL_EOF;
  if (lua_tostring(L, -1)[0] == '=') {  /* "=expr", as in Lua 5.1 */
    lua_pushliteral(L, "return ");
    lua_pushstring(L, lua_tostring(L, -2) + 1);
    lua_concat(L, 2);
    lua_remove(L, -2);
  }
  r->chart = repl_ischart(L);
  status = repl_compile(r);
  if (status == REPL_CANCEL) {
    lua_pop(L, 1);                      /* the unfinished chunk */
    return REPL_CANCEL;
  }
  if (r->chart) {                       /* remembered as typed */
    lua_pushfstring(L, REPL_CHART " %s", lua_tostring(L, -2));
    lua_replace(L, -3);
  }
  repl_history_add(r, lua_tostring(L, -2));
  lua_remove(L, -2);                    /* the chunk's text */
  return status;
}
/* }====== */


/* {====== evaluating and printing ====== */

/* The REPL reports errors without the program's name, as lua does. */
static void repl_error(lua_State *L) {
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  if (msg == NULL) {
    msg = "(error object is not a string)";
    len = strlen(msg);
  }
  fwrite(msg, 1, len, stderr);
  fputc('\n', stderr);
  fflush(stderr);
}

/* Is the global print the one the base library made?  (The host keeps
** it in the registry.) */
static int repl_stockprint(lua_State *L) {
  int stock;
  lua_getglobal(L, "print");
  lua_getfield(L, LUA_REGISTRYINDEX, TM_REPL_PRINT);
  stock = !lua_isnil(L, -1) && lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return stock;
}

/*
** Print the values above 'mark' through the global print, as lua does:
** while it is the stock one, tome.repl.print shows them readably
** (tables, maps); a print of the user's own gets the values as they
** are.  Run like a chunk, so that a huge table can be interrupted.  _
** keeps the first value for the next line.
*/
static void repl_print(repl *r, int mark) {
  lua_State *L = r->L;
  int n = lua_gettop(L) - mark;
  int stock, status;
  if (n <= 0)
    return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_pushvalue(L, mark + 1);
  lua_setglobal(L, "_");
  stock = r->modidx != 0 && repl_stockprint(L);
  if (stock)
    lua_getfield(L, r->modidx, "print");
  else
    lua_getglobal(L, "print");
  lua_insert(L, mark + 1);
  /* the user's print is called as lua calls it (its error without a
  ** traceback); the printer under Ctrl-C, as a chunk */
  status = stock ? r->docall(L, n, 0) : lua_pcall(L, n, 0, 0);
  if (status != LUA_OK) {
    lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1));
    repl_error(L);
  }
}

/* Replace the values above 'mark' by tome.chart.show(values...), run
** like a chunk (its errors are reported as the chunk's). */
static int repl_callchart(lua_State *L) {
  int n = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "tome.chart");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "show");
  lua_replace(L, -2);
  lua_insert(L, 1);
  lua_call(L, n, 1);
  return 1;
}

static int repl_chart(repl *r, int mark) {
  lua_pushcfunction(r->L, repl_callchart);
  lua_insert(r->L, mark + 1);
  return r->docall(r->L, lua_gettop(r->L) - mark - 1, 1);
}

void tm_repl(lua_State *L, tm_docall_fn docall) {
  repl r;
  struct sigaction oldint;
  int base = lua_gettop(L), mark;
  r.L = L;
  r.docall = docall;
#ifdef TOME_HAVE_EDITLINE
  r.edit = isatty(STDIN_FILENO);
#else
  r.edit = 0;
#endif
  repl_loadmod(&r);
  repl_editor_init(&r);
  repl_history_open(&r);
  repl_sigcatch(&oldint);
  mark = lua_gettop(L);
  for (;;) {
    int status = repl_read(&r);
    if (status == REPL_CANCEL)
      continue;
    if (status == REPL_EOF)
      break;
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK && r.chart)
      status = repl_chart(&r, mark);
    if (status == LUA_OK)
      repl_print(&r, mark);
    else
      repl_error(L);
    lua_settop(L, mark);
  }
  sigaction(SIGINT, &oldint, NULL);
  lua_settop(L, base);
  fputc('\n', stdout);
  fflush(stdout);
}
/* }====== */
