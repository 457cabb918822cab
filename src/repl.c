/*
** repl.c -- the interactive loop of the tome command: read a chunk
** (continuing lines until it is complete), run it, print its results.
**
** Line editing and history come from libedit's readline interface when
** the build found it (TOME_HAVE_EDITLINE) and standard input is a
** terminal; otherwise lines are read plainly from stdin.
*/
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

typedef struct repl {
  lua_State *L;
  tm_docall_fn docall;
  int edit;        /* reading through the line editor? */
  int histidx;     /* stack index of the history file's path, or 0 */
} repl;


/* {====== history ====== */

/* History lives in ~/.tome_history; without HOME there is none. */
static void repl_history_open(repl *r) {
  r->histidx = 0;
#ifdef TOME_HAVE_EDITLINE
  const char *home = getenv("HOME");
  if (!r->edit || home == NULL || *home == '\0')
    return;
  lua_pushfstring(r->L, "%s/%s", home, REPL_HISTFILE);
  r->histidx = lua_gettop(r->L);
  using_history();
  stifle_history(REPL_HISTMAX);
  read_history(lua_tostring(r->L, r->histidx));  /* missing file: fine */
#endif
}

/* Remember a complete chunk.  The file is rewritten at once so that a
** session ended by os.exit or a signal keeps what was typed. */
static void repl_history_add(repl *r, const char *chunk) {
#ifdef TOME_HAVE_EDITLINE
  if (!r->edit || chunk[0] == '\0')
    return;
  add_history(chunk);
  if (r->histidx != 0)
    write_history(lua_tostring(r->L, r->histidx));
#else
  (void)r; (void)chunk;
#endif
}
/* }====== */


/* {====== reading ====== */

/* Push the prompt: _PROMPT / _PROMPT2 when they convert to strings. */
static const char *repl_pushprompt(lua_State *L, int first) {
  lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2");
  const char *p = lua_tostring(L, -1);
  if (p == NULL) {
    lua_pop(L, 1);
    p = lua_pushstring(L, first ? REPL_PROMPT : REPL_PROMPT2);
  }
  return p;
}

/* A line from plain stdin, without its newline; 0 at end of input. */
static int repl_plainline(lua_State *L, const char *prompt) {
  luaL_Buffer b;
  int c, any = 0;
  fputs(prompt, stdout);
  fflush(stdout);
  luaL_buffinit(L, &b);
  while ((c = getchar()) != EOF && c != '\n') {
    luaL_addchar(&b, (char)c);
    any = 1;
  }
  luaL_pushresult(&b);
  if (c == EOF && !any) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* Push the next line (first line of a chunk or a continuation); returns
** 0, pushing nothing, at the end of input. */
static int repl_getline(repl *r, int first) {
  lua_State *L = r->L;
  const char *prompt = repl_pushprompt(L, first);
  int ok;
#ifdef TOME_HAVE_EDITLINE
  if (r->edit) {
    char *line = readline(prompt);
    ok = (line != NULL);
    if (ok) {
      lua_pushstring(L, line);
      free(line);
    }
  } else
#endif
    ok = repl_plainline(L, prompt);
  lua_remove(L, ok ? -2 : -1);   /* the prompt */
  return ok;
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

/* Try the line as an expression ("return " .. line), so that values
** print without '='.  Leaves the function and returns 1, or leaves the
** stack as it was. */
static int repl_tryexpr(lua_State *L) {
  size_t len;
  const char *code;
  lua_pushliteral(L, "return ");
  lua_pushvalue(L, -2);
  lua_concat(L, 2);
  code = lua_tolstring(L, -1, &len);
  if (luaL_loadbuffer(L, code, len, REPL_CHUNKNAME) == LUA_OK) {
    lua_remove(L, -2);  /* the code */
    return 1;
  }
  lua_pop(L, 2);        /* the message and the code */
  return 0;
}

/* Compile the line on top as statements, reading more lines while the
** chunk is incomplete.  Replaces the line by the whole chunk and pushes
** the function or the error message. */
static int repl_statements(repl *r) {
  lua_State *L = r->L;
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, code, len, REPL_CHUNKNAME);
    if (!repl_incomplete(L, status) || !repl_getline(r, 0))
      return status;
    lua_remove(L, -2);              /* the message */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);               /* chunk .. "\n" .. next line */
  }
}

/* Read and compile one chunk.  Pushes the function (LUA_OK) or an error
** message (a Lua error status); returns -1, pushing nothing, at the end
** of input. */
static int repl_read(repl *r) {
  lua_State *L = r->L;
  int status;
  if (!repl_getline(r, 1))
    return -1;
  if (lua_tostring(L, -1)[0] == '=') {  /* "=expr", as in Lua 5.1 */
    lua_pushliteral(L, "return ");
    lua_pushstring(L, lua_tostring(L, -2) + 1);
    lua_concat(L, 2);
    lua_remove(L, -2);
  }
  if (repl_tryexpr(L))
    status = LUA_OK;
  else
    status = repl_statements(r);
  repl_history_add(r, lua_tostring(L, -2));
  lua_remove(L, -2);                    /* the chunk's text */
  return status;
}
/* }====== */


/* {====== evaluating and printing ====== */

/* Print the values above 'mark' with the global print. */
static void repl_print(lua_State *L, int mark) {
  int n = lua_gettop(L) - mark;
  if (n <= 0)
    return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, mark + 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    fprintf(stderr, "error calling 'print' (%s)\n", lua_tostring(L, -1));
    fflush(stderr);
  }
}

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

void tm_repl(lua_State *L, tm_docall_fn docall) {
  repl r;
  int base = lua_gettop(L), mark;
  r.L = L;
  r.docall = docall;
#ifdef TOME_HAVE_EDITLINE
  r.edit = isatty(STDIN_FILENO);
#else
  r.edit = 0;
#endif
  repl_history_open(&r);
  mark = lua_gettop(L);
  for (;;) {
    int status = repl_read(&r);
    if (status == -1)
      break;
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      repl_print(L, mark);
    else
      repl_error(L);
    lua_settop(L, mark);
  }
  lua_settop(L, base);
  fputc('\n', stdout);
  fflush(stdout);
}
/* }====== */
