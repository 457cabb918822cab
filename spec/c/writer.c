/*
** spec/c/writer.c -- tome's writers inside an embedding program: the
** signal handlers that remove temporary files must not break the
** program's own handling of signals.
**   - a handler the program had is called instead (and the temporary
**     file stays: the program may well go on);
**   - a one-shot handler (SA_RESETHAND) is called once, and the next
**     signal ends the process as the default action would, with the
**     temporary files removed and the same exit status;
**   - an ignored SIGPIPE stays ignored;
**   - exit() removes the temporary files, but only of the process that
**     made them (not of a child that inherited the registry by fork);
**   - writers of several lua_States in several threads are all removed;
**   - tome.so unloaded (lua_close of the state that required it) puts
**     the previous handlers back: no signal jumps into unmapped code.
** Each case that ends a process runs in a child.  Exits 1 on failure.
*/
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "tome.h"

static int failures = 0;
static char dir[] = "/tmp/spec_writer_XXXXXX";

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    failures++;
  }
}

/* temporary files of tome in dir */
static int temps(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while (d != NULL && (e = readdir(d)) != NULL)
    if (e->d_name[0] == '.' && strstr(e->d_name, ".tome-") != NULL) n++;
  if (d != NULL) closedir(d);
  return n;
}

static lua_State *newstate(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "tome", luaopen_tome, 1);
  lua_pop(L, 1);
  lua_pushstring(L, dir);
  lua_setglobal(L, "dir");
  return L;
}

static void run(lua_State *L, const char *code) {
  if (luaL_dostring(L, code) != LUA_OK) {
    fprintf(stderr, "FAIL: %s: %s\n", code, lua_tostring(L, -1));
    exit(1);
  }
}

/* run f in a child; returns its wait status */
static int in_child(void (*f)(void)) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    f();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

static int killed_by(int st, int sig) {
  return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

static const char OPEN2[] =
  "a = assert(tome.output(dir .. '/a')) a:write(('x'):rep(100000)) "
  "b = assert(tome.output(dir .. '/b')) b:write('y')";

/* {====== cases run in children (each the first to make a writer) ====== */

static volatile sig_atomic_t hups;
static void on_hup(int sig) { (void)sig; hups++; }

static void resethand_child(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hup;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGHUP, &sa, NULL);
  lua_State *L = newstate();
  run(L, OPEN2);
  raise(SIGHUP);               /* the program's handler, once */
  if (hups != 1 || temps() != 2) _exit(10 + temps());
  raise(SIGHUP);               /* now the default: the process ends */
  _exit(3);
}

static void exit_child(void) {
  lua_State *L = newstate();
  run(L, OPEN2);
  exit(0);                     /* os.exit(0) does exactly this */
}

static void *thread_writer(void *arg) {
  lua_State *L = newstate();
  run(L, (const char *)arg);
  return L;                    /* left open: the process will be killed */
}

static void threads_child(void) {
  pthread_t t[3];
  static const char *code[3] = {
    "w = assert(tome.output(dir .. '/t1')) w:write(('1'):rep(70000))",
    "w = assert(tome.output(dir .. '/t2')) w:write(('2'):rep(10))",
    "w = assert(tome.output(dir .. '/t3')) w:write(('3'):rep(70000)) "
    "v = assert(tome.output(dir .. '/t4'))",
  };
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, thread_writer, (void *)code[i]);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  if (temps() != 4) _exit(10 + temps());
  raise(SIGTERM);
  _exit(3);
}

/* tome.so loaded by require, as lua5.4 loads it, then unloaded */
static char so_path[4096];

static void dlclose_child(void) {
  struct sigaction now;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushstring(L, so_path);
  lua_setglobal(L, "so");
  lua_pushstring(L, dir);
  lua_setglobal(L, "dir");
  run(L, "local open = package.loadlib(so, 'luaopen_tome') "
         "assert(open, 'cannot load ' .. so) "
         "package.preload.tome = open "
         "local t = require 'tome' "
         "local w = assert(t.output(dir .. '/so')) w:write('so') "
         "assert(w:close())");
  sigaction(SIGTERM, NULL, &now);
  if (now.sa_handler == SIG_DFL) _exit(20);   /* ours was never there */
  lua_close(L);                               /* dlclose(tome.so) */
  sigaction(SIGTERM, NULL, &now);
  if (now.sa_handler != SIG_DFL) _exit(21);
  raise(SIGTERM);
  _exit(3);
}
/* }====== */

/* {====== cases run in this process ====== */

static volatile sig_atomic_t terms;
static void on_term(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)si; (void)uc;
  terms++;
}

static void program_handlers(void) {
  struct sigaction sa, now;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_term;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  lua_State *L = newstate();
  run(L, OPEN2);
  check(temps() == 2, "two writers open, two temporary files");
  raise(SIGTERM);
  check(terms == 1, "the program's SIGTERM handler was called");
  check(temps() == 2, "its writers go on after the program's handler");
  sigaction(SIGPIPE, NULL, &now);
  check(now.sa_handler == SIG_IGN, "an ignored SIGPIPE stays ignored");
  run(L, "local ok, msg, code = a:close() assert(ok, msg) "
         "assert(b:close())");
  check(temps() == 0, "closed writers leave no temporary file");
  /* a child that inherited the registry exits: our files stay */
  run(L, OPEN2);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) exit(0);
  waitpid(pid, NULL, 0);
  check(temps() == 2, "a forked child's exit() leaves the parent's files");
  run(L, "a:abort() b:abort()");
  check(temps() == 0, "abort removes them");
  lua_close(L);
}
/* }====== */

int main(int argc, char **argv) {
  (void)argc;
  if (mkdtemp(dir) == NULL) { perror("mkdtemp"); return 1; }
  /* tome.so beside this program (build/spec_writer -> build/tome.so) */
  ssize_t n = readlink("/proc/self/exe", so_path, sizeof so_path - 16);
  if (n <= 0) { strncpy(so_path, argv[0], sizeof so_path - 16); n = 0; }
  else so_path[n] = '\0';
  char *slash = strrchr(so_path, '/');
  strcpy(slash ? slash + 1 : so_path, "tome.so");

  int st = in_child(resethand_child);
  check(killed_by(st, SIGHUP), "the second SIGHUP ends the process");
  check(temps() == 0, "... and removes its temporary files");
  st = in_child(exit_child);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit(0) keeps its status");
  check(temps() == 0, "exit() removes the temporary files");
  st = in_child(threads_child);
  check(killed_by(st, SIGTERM), "SIGTERM ends a process with threads");
  check(temps() == 0, "... and removes every state's temporary files");
  if (access(so_path, R_OK) == 0) {
    st = in_child(dlclose_child);
    check(killed_by(st, SIGTERM), "after dlclose(tome.so), SIGTERM is the "
          "default again");
    if (!killed_by(st, SIGTERM))
      fprintf(stderr, "  status %d (%s)\n", WIFEXITED(st) ?
              WEXITSTATUS(st) : WTERMSIG(st), so_path);
  }
  program_handlers();
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  if (failures == 0) printf("writer: embedding cases, all good\n");
  return failures != 0;
}
