/*
** spec/c/guard.c -- a Lua error raised inside a SIGBUS-guarded region
** (a malformed pattern, an unpack error, a replacement function that
** fails, a closed writer in a streaming gsub...) must not leave a dead
** guard on the thread: after each, tm_guard_top() is NULL again, and an
** embedding program that reads tome_checkbytes' pointer of a file that
** was truncated meanwhile dies of a plain SIGBUS (with a dead guard left,
** the handler would jump into a frame that no longer exists).
**
** Usage: build/spec_guard.  Exits 1 on any failure.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "mapping.h"
#include "tome.h"

static int failures = 0;

/* Each snippet must raise (under pcall, from Lua) an error containing
** 'want', from inside a guarded region. */
static const struct { const char *code, *want; } cases[] = {
  {"m:find('(%')", "malformed pattern (ends with '%')"},
  {"m:match('[a')", "malformed pattern (missing ']')"},
  {"for _ in m:gmatch('%b') do end", "missing arguments to '%b'"},
  {"m:find('%f')", "missing '[' after '%f' in pattern"},
  {"m:match('(a)%2')", "invalid capture index %2"},
  {"m:gsub('a', '%2')", "invalid capture index %2"},
  {"m:gsub('a', '%x')", "invalid use of '%' in replacement string"},
  {"m:gsub('a', function() error('boom') end)", "boom"},
  {"m:gsub('a', setmetatable({}, {__index = function() error('idx') end}))",
   "idx"},
  {"m:gsub('a', function() return {} end)", "invalid replacement value"},
  {"m:match('(a')", "unfinished capture"},
  {"for _ in m:grep('(a', false) do end", "unfinished capture"},
  {"for _ in m:grep('%', false) do end", "malformed pattern"},
  {"m:unpack('i17')", "integral size (17) out of limits"},
  {"m:unpack('c')", "missing size for format option 'c'"},
  {"m:unpack('y')", "invalid format option 'y'"},
  {"m:unpack('!3i4')", "not power of 2"},
  {"m:unpack('Xc1')", "invalid next option for option 'X'"},
  {"m:unpack('z')", "unfinished string for format 'z'"},
  {"m:unpack('i4', #m - 1)", "data string too short"},
  {"m:unpack('i4', #m + 2)", "initial position out of string"},
  {"m:unpack('i16')", "16-byte integer does not fit into Lua Integer"},
  {"local p = os.tmpname() local w = tome.output(p) "
   "m:gsub('a', function() w:close() end, nil, w)",
   "attempt to use a closed writer"},
  {"local c = tome.open(path, 'c') "
   "c:gsub('a', function() c:resize(1) end)",
   "the map changed size"},
  {"local c = tome.open(path, 'c') "
   "c:gsub('a', function() c:close() end)",
   "attempt to use a closed map"},
};

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    failures++;
  }
}

int main(void) {
  char path[] = "/tmp/spec_guard_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  /* three pages of 'a's: no NUL, no newline, so 'z' and i16 fail */
  char buf[3 * 4096];
  memset(buf, 'a', sizeof buf);
  if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "tome", luaopen_tome, 1);
  lua_pop(L, 1);
  lua_pushstring(L, path);
  lua_setglobal(L, "path");
  if (luaL_dostring(L, "m = assert(tome.open(path))") != LUA_OK) {
    fprintf(stderr, "FAIL: %s\n", lua_tostring(L, -1));
    return 1;
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char what[512];
    int st = luaL_loadstring(L, cases[i].code);
    if (st == LUA_OK) st = lua_pcall(L, 0, 0, 0);
    const char *msg = st != LUA_OK ? lua_tostring(L, -1) : "(no error)";
    snprintf(what, sizeof what, "%s: raised %s, want %s", cases[i].code,
             msg ? msg : "?", cases[i].want);
    check(st != LUA_OK && msg != NULL && strstr(msg, cases[i].want), what);
    snprintf(what, sizeof what, "%s: a dead guard is left on the thread",
             cases[i].code);
    check(tm_guard_top() == NULL, what);
    lua_settop(L, 0);
  }

  /* The embedder's read of a truncated file: a plain SIGBUS death. */
  lua_getglobal(L, "m");
  size_t len;
  const char *bytes = tome_checkbytes(L, -1, &len);
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) {
    if (ftruncate(fd, 0) != 0) _exit(3);
    volatile char c = bytes[len - 1];
    (void)c;
    _exit(0);   /* not reached: the read faults */
  }
  int status = 0;
  waitpid(child, &status, 0);
  check(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
        "reading a truncated file outside any guard dies of SIGBUS");
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS))
    fprintf(stderr, "  child status: %s %d\n",
            WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  lua_close(L);
  close(fd);
  unlink(path);
  if (failures == 0) printf("guard: %zu cases, all good\n",
                            sizeof cases / sizeof cases[0] + 1);
  return failures != 0;
}
