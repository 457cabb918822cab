/*
** replace.c -- the OS room of writers: what a target path is, the
** temporary file beside it, the replacement sequence, and the registry
** of open temporary files that signal handlers and exit() clean up.
** No Lua.
*/
#include "replace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#define MAXLINKS 40     /* as the kernel's path walk */
#define RANDLEN 6       /* random characters in a temporary name */
#define PIDROOM 10      /* room kept for the pid in a temporary name */

/* {====================================================================
** The registry of open temporary files
**
** Signals and exit() end the whole process, so this is the one place
** where state is process-wide on purpose.  A signal handler may run at
** any moment, on any thread, so it may take no lock: slots live in a
** list that only grows (a slot is reused, never freed), and each slot is
** a seqlock: its writer makes 'seq' odd while it changes the fields, and
** the handler copies the fields and uses them only if 'seq' was even and
** unchanged around the copy.  A name is registered before its file is
** created and unregistered after it is renamed or removed, so a signal
** at any point finds every file that may exist (unlinking a name that
** does not exist yet, or any more, is harmless).
** ===================================================================== */

typedef struct tm_tmpslot {
  atomic_uint seq;            /* odd while the fields below change */
  atomic_int taken;           /* owned by an open writer */
  int live;                   /* 'name' in 'dirfd' must go on exit */
  pid_t pid;                  /* the process that created it (not a
                                 child that inherited the registry) */
  int dirfd;
  char name[NAME_MAX + 1];
  struct tm_tmpslot *next;    /* set before publication, never changed */
} tm_tmpslot;

static _Atomic(tm_tmpslot *) slots;

static tm_tmpslot *slot_take(void) {
  tm_tmpslot *s;
  for (s = atomic_load(&slots); s != NULL; s = s->next) {
    int free_ = 0;
    if (atomic_compare_exchange_strong(&s->taken, &free_, 1)) return s;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  atomic_init(&s->seq, 0);
  atomic_init(&s->taken, 1);
  s->dirfd = -1;
  tm_tmpslot *head = atomic_load(&slots);
  do {
    s->next = head;
  } while (!atomic_compare_exchange_weak(&slots, &head, s));
  return s;
}

static void slot_set(tm_tmpslot *s, int dirfd, const char *name) {
  atomic_fetch_add(&s->seq, 1);
  s->dirfd = dirfd;
  s->pid = getpid();
  snprintf(s->name, sizeof s->name, "%s", name);
  s->live = 1;
  atomic_fetch_add(&s->seq, 1);
}

static void slot_unset(tm_tmpslot *s) {
  atomic_fetch_add(&s->seq, 1);
  s->live = 0;
  atomic_fetch_add(&s->seq, 1);
}

static void slot_release(tm_tmpslot *s) {
  slot_unset(s);
  atomic_store(&s->taken, 0);
}

/* Unlink every temporary file this process has open.  Async-signal-safe:
** atomics, getpid, memcpy and unlinkat only. */
static void remove_live(void) {
  pid_t me = getpid();
  for (tm_tmpslot *s = atomic_load(&slots); s != NULL; s = s->next) {
    unsigned a = atomic_load(&s->seq);
    if (a & 1) continue;
    int live = s->live, dirfd = s->dirfd;
    pid_t pid = s->pid;
    char name[sizeof s->name];
    memcpy(name, s->name, sizeof name);
    if (atomic_load(&s->seq) != a || !live || pid != me) continue;
    name[sizeof name - 1] = '\0';
    unlinkat(dirfd, name, 0);
  }
}

/* }==================================================================== */

/* {====================================================================
** Signals and exit
**
** Installed once, when the first temporary file is made.  A signal whose
** disposition was "ignore" stays ignored (a shell's background job, a
** program that handles EPIPE itself).  One that had a handler (the tome
** host's or lua.c's Ctrl-C, an embedding program's) goes on to that
** handler, which may well not end the process, so nothing is removed:
** the writers unwind and clean up as Lua objects.  A previous one-shot
** handler (SA_RESETHAND) is called once; after it, as when the default
** action was in place, the temporary files are removed and the signal
** is raised again with the default action, so the process ends as it
** would have, with the same exit status.  exit() (os.exit without
** closing the state) removes them through atexit.
** ===================================================================== */

static const int fatal_sigs[] = {SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGXFSZ};
#define NFATAL ((int)(sizeof fatal_sigs / sizeof fatal_sigs[0]))

/* written once, under pthread_once, before any handler is installed */
static struct sigaction prev_sa[NFATAL];
static int installed[NFATAL];
static atomic_int resethand_ran[NFATAL];

static int is_function(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) ||
         (sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN);
}

static void on_fatal(int sig, siginfo_t *si, void *uc) {
  int saved = errno, i;
  for (i = 0; i < NFATAL && fatal_sigs[i] != sig; i++) {}
  if (i == NFATAL) return;
  const struct sigaction *p = &prev_sa[i];
  if (is_function(p) && !((p->sa_flags & SA_RESETHAND) &&
                          atomic_exchange(&resethand_ran[i], 1))) {
    if (p->sa_flags & SA_SIGINFO) p->sa_sigaction(sig, si, uc);
    else p->sa_handler(sig);
    errno = saved;
    return;
  }
  remove_live();
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  raise(sig);   /* blocked until this handler returns, then fatal */
  errno = saved;
}

static void on_exit_remove(void) {
  remove_live();
}

static void install_once(void) {
  for (int i = 0; i < NFATAL; i++) {
    struct sigaction old, sa;
    if (sigaction(fatal_sigs[i], NULL, &old) != 0) continue;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;
    prev_sa[i] = old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    if (is_function(&old)) {
      /* keep the previous handler's behaviour: restarting calls or not
      ** (a Ctrl-C handler wants a blocked read interrupted), its mask */
      sa.sa_mask = old.sa_mask;
      sa.sa_flags = (old.sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
    } else {
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_SIGINFO | SA_RESTART;
    }
    installed[i] = sigaction(fatal_sigs[i], &sa, NULL) == 0;
  }
  atexit(on_exit_remove);
}

static void install(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;  /* set-once */
  pthread_once(&once, install_once);
}

/* When tome.so is unloaded (dlclose at the end of a lua_State that
** required it), put back the handlers that were there before ours, so
** that no signal jumps into unmapped code. */
__attribute__((destructor)) static void uninstall(void) {
  for (int i = 0; i < NFATAL; i++) {
    struct sigaction now;
    if (!installed[i] || sigaction(fatal_sigs[i], NULL, &now) != 0)
      continue;
    if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fatal)
      sigaction(fatal_sigs[i], &prev_sa[i], NULL);
  }
}
/* }==================================================================== */

/* {====================================================================
** What the target is
**
** The path is walked one component at a time from a directory
** descriptor, as the kernel walks it, so that every symbolic link met on
** the way (not only the last one) can be checked: a link that another
** user owns in a sticky world-writable directory (/tmp) is not followed,
** the rule fs.protected_symlinks applies (many systems run without it).
** Everything after the walk works relative to the directory descriptor,
** so a directory renamed or replaced meanwhile cannot redirect the file.
** ===================================================================== */

static const char PLANTED[] = "not following a symbolic link that "
  "another user owns in a sticky world-writable directory";

/* the kernel's rule: follow a link owned by us or by the directory's
** owner, or one in a directory that is not sticky and world-writable */
static int planted(int dirfd, const struct stat *link) {
  struct stat d;
  if (fstat(dirfd, &d) != 0) return 1;
  if ((d.st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH)) return 0;
  return link->st_uid != geteuid() && link->st_uid != d.st_uid;
}

static int on_procfs(int dirfd) {
  struct statfs fs;
  return fstatfs(dirfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

/* The kernel's own file systems, whose "regular" files are its settings
** (/proc/sys, /sys, cgroups): nothing can be created or renamed there, a
** write is how they are set. */
static int on_pseudofs(int dirfd) {
  static const unsigned long kinds[] = {PROC_SUPER_MAGIC, SYSFS_MAGIC,
    CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
    SECURITYFS_MAGIC};
  struct statfs fs;
  if (fstatfs(dirfd, &fs) != 0) return 0;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if ((unsigned long)fs.f_type == kinds[i]) return 1;
  return 0;
}

/* Replace the walk's remaining path by the link's target followed by
** what came after the link ('after', NULL for the last component). */
static int splice_link(int *dirfd, char **rest, const char *target,
                  const char *after) {
  size_t tl = strlen(target), al = after ? strlen(after) : 0;
  char *n = malloc(tl + al + 2);
  if (n == NULL) return ENOMEM;
  memcpy(n, target, tl);
  n[tl] = '\0';
  if (after != NULL) {
    n[tl] = '/';
    memcpy(n + tl + 1, after, al + 1);
  }
  if (target[0] == '/') {
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) { int e = errno; free(n); return e; }
    close(*dirfd);
    *dirfd = fd;
  }
  free(*rest);
  *rest = n;
  return 0;
}

static int follow(int *dirfd, char **rest, const char *name,
                  const char *after) {
  char target[PATH_MAX];
  ssize_t k = readlinkat(*dirfd, name, target, sizeof target);
  if (k < 0) return errno;
  if (k == 0) return ENOENT;
  if ((size_t)k >= sizeof target) return ENAMETOOLONG;
  target[k] = '\0';
  return splice_link(dirfd, rest, target, after);
}

static int enter_dir(int *dirfd, const char *name) {
  int fd = openat(*dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                  O_CLOEXEC);
  if (fd < 0) return errno == ELOOP ? EAGAIN : errno;  /* swapped: retry */
  close(*dirfd);
  *dirfd = fd;
  return 0;
}

/* What open_through opens: a device or FIFO; a /proc link; a file of
** the kernel's (on_pseudofs). */
enum { THROUGH_SPECIAL, THROUGH_LINK, THROUGH_KERNEL };

/* A device, FIFO, /proc link or kernel setting: opened for writing, as
** the shell's '>' opens it (a FIFO waits for its reader).  A /proc link
** (/dev/stdout, /proc/self/fd/1) is opened through by the kernel, which
** alone knows where it leads; a regular file reached that way is
** truncated, as '>' truncates it. */
static int open_through(tm_replace *r, int dirfd, const char *name,
                        int what) {
  int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC;
  struct stat st;
  flags |= what == THROUGH_LINK ? O_TRUNC : O_NOFOLLOW;
  int fd = openat(dirfd, name, flags);
  if (fd < 0) return errno == ELOOP && what != THROUGH_LINK ? EAGAIN : errno;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return e; }
  if (S_ISREG(st.st_mode) && what == THROUGH_SPECIAL) {  /* replaced: again */
    close(fd);
    return EAGAIN;
  }
  r->fd = fd;
  r->through = 1;
  return 0;
}

/* The last component, 'name' in 'dirfd', exists or not. */
static int decide(tm_replace *r, int dirfd, const char *name,
                  const struct stat *st, int missing) {
  if (r->inplace && !missing && !S_ISREG(st->st_mode))
    return S_ISDIR(st->st_mode) ? EISDIR : ESPIPE;  /* a map cannot reach it */
  if (!r->inplace && !missing && S_ISREG(st->st_mode) && on_pseudofs(dirfd))
    return open_through(r, dirfd, name, THROUGH_KERNEL);
  if (missing || S_ISREG(st->st_mode)) {
    r->exists = !missing;
    if (!missing) r->st = *st;
    r->name = strdup(name);
    if (r->name == NULL) return ENOMEM;
    /* a descriptor we can fsync and list; O_PATH if the directory
    ** cannot be read (then neither is done) */
    r->dirfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->dirfd < 0) r->dirfd = dup(dirfd);
    return r->dirfd < 0 ? errno : 0;
  }
  if (S_ISDIR(st->st_mode)) return EISDIR;
  if (S_ISSOCK(st->st_mode)) return ENXIO;   /* as open(2) says */
  return open_through(r, dirfd, name, THROUGH_SPECIAL);
}

/* Walk 'path'; fills r (dirfd and name, or fd for a special file). */
static int walk(tm_replace *r, const char *path, const char **why) {
  int links = 0, e = 0;
  char *rest = strdup(path);
  int dirfd = open(path[0] == '/' ? "/" : ".",
                   O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rest == NULL || dirfd < 0) {
    e = rest == NULL ? ENOMEM : errno;
    goto done;
  }
  for (size_t at = 0;;) {
    char name[NAME_MAX + 1];
    struct stat st;
    const char *p = rest + at;
    while (*p == '/') p++;
    size_t n = strcspn(p, "/");
    const char *after = p + n;
    while (*after == '/') after++;
    int last = p[n] == '\0';
    if (n == 0 || (!last && *after == '\0')) { e = EISDIR; break; }
    if (n > NAME_MAX) { e = ENAMETOOLONG; break; }
    memcpy(name, p, n);
    name[n] = '\0';
    at = (size_t)(after - rest);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
      if (last) { e = EISDIR; break; }
      if (name[1] == '.' && (e = enter_dir(&dirfd, name)) != 0) break;
      continue;
    }
    int missing = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0;
    if (missing && (errno != ENOENT || !last)) { e = errno; break; }
    if (!missing && S_ISLNK(st.st_mode)) {
      if (++links > MAXLINKS) { e = ELOOP; break; }
      if (planted(dirfd, &st)) {
        *why = PLANTED;
        e = EACCES;
        break;
      }
      if (last && !r->inplace && on_procfs(dirfd)) {
        e = open_through(r, dirfd, name, THROUGH_LINK);
        break;
      }
      /* the walk goes on over the link's target */
      if ((e = follow(&dirfd, &rest, name, last ? NULL : after)) != 0)
        break;
      at = 0;
      continue;
    }
    if (last) {
      e = decide(r, dirfd, name, &st, missing);
      break;
    }
    if (!S_ISDIR(st.st_mode)) { e = ENOTDIR; break; }
    if ((e = enter_dir(&dirfd, name)) != 0) break;
  }
done:
  if (dirfd >= 0) close(dirfd);
  free(rest);
  return e;
}
/* }==================================================================== */

/* {====================================================================
** Temporary names
** ===================================================================== */

/* The part of a temporary name that stands for the target's name: the
** name itself, or, when ".NAME.tome-PID-XXXXXX" would not fit the file
** system's limit, a prefix of it (cut between UTF-8 characters) with
** '~' and a hash of the whole name, so the stale ones of this target
** are still told apart from those of a name with the same prefix. */
static char *name_key(const char *name, long namemax) {
  size_t n = strlen(name), fixed = 1 + 6 + PIDROOM + 1 + RANDLEN;
  char *k = malloc(n + 10);
  if (k == NULL) return NULL;
  if (n + fixed <= (size_t)namemax) {
    memcpy(k, name, n + 1);
    return k;
  }
  uint32_t h = 2166136261u;   /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)name[i]) * 16777619u;
  size_t keep = (size_t)namemax > fixed + 9 ? (size_t)namemax - fixed - 9 : 0;
  while (keep > 0 && ((unsigned char)name[keep] & 0xC0) == 0x80) keep--;
  snprintf(k, n + 10, "%.*s~%08x", (int)keep, name, (unsigned)h);
  return k;
}

static long name_max(int dirfd) {
  long nm = fpathconf(dirfd, _PC_NAME_MAX);
  return nm <= 0 || nm > NAME_MAX ? NAME_MAX : nm;
}

static void random_chars(char *out, int n) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char b[16];
  if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
    /* no entropy yet: a name, not a secret (O_EXCL decides) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
                 (uint64_t)(uintptr_t)out;
    for (size_t i = 0; i < sizeof b; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      b[i] = (unsigned char)x;
    }
  }
  for (int i = 0; i < n; i++) out[i] = digits[b[i] % (sizeof digits - 1)];
  out[n] = '\0';
}

/* Is 'entry' ".KEY.tome-PID-XXXXXX"?  Then *pid is PID. */
static int is_tmpname(const char *entry, const char *key, pid_t *pid) {
  size_t kl = strlen(key);
  if (entry[0] != '.' || strncmp(entry + 1, key, kl) != 0) return 0;
  const char *p = entry + 1 + kl;
  if (strncmp(p, ".tome-", 6) != 0) return 0;
  p += 6;
  long v = 0;
  int nd = 0;
  for (; *p >= '0' && *p <= '9' && nd <= PIDROOM; p++, nd++)
    v = v * 10 + (*p - '0');
  if (nd == 0 || nd > PIDROOM || *p != '-' || v <= 0 || v > INT_MAX)
    return 0;
  p++;
  for (int i = 0; i < RANDLEN; i++, p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) return 0;
  if (*p != '\0') return 0;
  *pid = (pid_t)v;
  return 1;
}

/* Create the temporary file: mode 0600 from the open call (nobody else
** may open it while it holds data and has not its final mode), O_EXCL
** and O_NOFOLLOW (nothing planted under the name is ever opened), and
** locked, so that a cleaner knows it is in use. */
static int create_tmp(tm_replace *r) {
  char tmp[NAME_MAX + 1], rnd[RANDLEN + 1];
  char *key = name_key(r->name, name_max(r->dirfd));
  int e = EEXIST;
  if (key == NULL || (r->slot = slot_take()) == NULL) {
    free(key);
    return ENOMEM;
  }
  for (int tries = 0; tries < 100 && e == EEXIST; tries++) {
    random_chars(rnd, RANDLEN);
    snprintf(tmp, sizeof tmp, ".%s.tome-%ld-%s", key, (long)getpid(), rnd);
    slot_set(r->slot, r->dirfd, tmp);   /* before the file exists */
    r->fd = openat(r->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                   O_NOCTTY | O_CLOEXEC, 0600);
    e = r->fd >= 0 ? 0 : errno;
    if (e) slot_unset(r->slot);
  }
  free(key);
  if (e) return e;
  (void)flock(r->fd, LOCK_EX | LOCK_NB);   /* fails only where unsupported */
  r->tmp = strdup(tmp);
  return r->tmp == NULL ? ENOMEM : 0;
}

/* Is process pid running?  A zombie is not (its files are closed; where
** nothing reaps it, as in some containers, it would stay "alive"). */
static int running(pid_t pid) {
  char path[64], buf[256];
  if (kill(pid, 0) != 0 && errno != EPERM) return 0;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 1;
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');   /* after "pid (comm)" */
  return !(p != NULL && p[1] == ' ' && p[2] == 'Z');
}

/* Remove the temporary files of our target that a killed writer left:
** its process is gone (the pid in the name) and nobody holds its lock
** (a process in another pid namespace sharing the directory still does).
** Only regular files, checked to be the same file when unlinked. */
static void clean_stale(tm_replace *r) {
  char *key = name_key(r->name, name_max(r->dirfd));
  int fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *ent;
  if (d == NULL) {
    if (fd >= 0) close(fd);
    free(key);
    return;
  }
  while (key != NULL && (ent = readdir(d)) != NULL) {
    struct stat a, b;
    pid_t pid;
    if (!is_tmpname(ent->d_name, key, &pid)) continue;
    if (running(pid)) continue;
    if (fstatat(r->dirfd, ent->d_name, &a, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(a.st_mode))
      continue;
    int f = openat(r->dirfd, ent->d_name, O_RDONLY | O_NOFOLLOW |
                   O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f < 0) continue;
    if (fstat(f, &b) == 0 && b.st_ino == a.st_ino && b.st_dev == a.st_dev &&
        flock(f, LOCK_EX | LOCK_NB) == 0)
      unlinkat(r->dirfd, ent->d_name, 0);
    close(f);
  }
  closedir(d);
  free(key);
}
/* }==================================================================== */

/* {====================================================================
** Open, commit, discard
** ===================================================================== */

/* The process's umask, without umask(2) (which would change it for every
** thread while we look); 022 where /proc cannot tell. */
static mode_t current_umask(void) {
  char buf[2048];
  mode_t um = 022;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return um;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return um;
  buf[n] = '\0';
  const char *p = strstr(buf, "\nUmask:");
  if (p != NULL) um = (mode_t)strtol(p + 7, NULL, 8) & 0777;
  return um;
}

int tm_rep_open(tm_replace *r, const char *path, const char **why) {
  int e;
  memset(r, 0, sizeof *r);
  r->fd = r->dirfd = -1;
  *why = NULL;
  if (path[0] == '\0') return ENOENT;
  if (path[strlen(path) - 1] == '/') return EISDIR;
  for (int tries = 0; tries < 3; tries++) {
    e = walk(r, path, why);
    if (e != EAGAIN) break;   /* a component was swapped during the walk */
    tm_rep_discard(r);
  }
  if (e != 0 || r->through) {
    if (e) tm_rep_discard(r);
    return e;
  }
  install();
  r->newmode = 0666 & ~current_umask();
  e = create_tmp(r);
  if (e) tm_rep_discard(r);
  return e;
}

/* The access ACL of the file being replaced goes to the new one, as
** sed -i copies it: without it the group bits of the mode (which hold
** the ACL's mask) would become the owning group's own rights, more than
** its ACL entry gave it, and the named users and groups would lose theirs.
** The old file is reached through an O_PATH descriptor checked against
** st (never a name that may have been swapped).  0 when it has none or
** the file system has no ACLs; an errno value when it has one that cannot
** be copied (the replacement then fails: a file with looser rights than
** the old one is worse than no replacement). */
#define ACL_XATTR "system.posix_acl_access"
static int copy_acl(tm_replace *r) {
  char proc[64], small[256], *buf = small;
  struct stat st;
  int e = 0;
  int fd = openat(r->dirfd, r->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;                  /* gone: nothing to keep */
  if (fstat(fd, &st) != 0 || st.st_dev != r->st.st_dev ||
      st.st_ino != r->st.st_ino) {
    close(fd);
    return 0;
  }
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  ssize_t n = getxattr(proc, ACL_XATTR, buf, sizeof small);
  if (n < 0 && errno == ERANGE) {
    n = getxattr(proc, ACL_XATTR, NULL, 0);
    buf = n > 0 ? malloc((size_t)n) : NULL;
    n = buf != NULL ? getxattr(proc, ACL_XATTR, buf, (size_t)n) : -1;
    if (buf == NULL) errno = ENOMEM;
  }
  if (n < 0)
    e = errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP
        ? 0 : errno;
  else if (fsetxattr(r->fd, ACL_XATTR, buf, (size_t)n, 0) != 0)
    e = errno;
  if (buf != small) free(buf);
  close(fd);
  return e;
}

/* Owner, group and mode of the new file.  An existing file keeps its
** owner and group where the caller may give them (root, or the owner
** keeping a group it belongs to), as sed -i does, then its mode, set
** after fchown (which clears set-id bits); set-uid and set-gid stay only
** if both owner and group were kept, so no set-id file is ever handed to
** a new owner; its ACL, if any, is copied (copy_acl).  A new file gets
** 0666 less the umask. */
static int final_mode(tm_replace *r) {
  struct stat now;
  if (!r->exists)
    return fchmod(r->fd, r->newmode) == 0 ? 0 : errno;
  if (fchown(r->fd, r->st.st_uid, r->st.st_gid) != 0)
    (void)fchown(r->fd, (uid_t)-1, r->st.st_gid);
  if (fstat(r->fd, &now) != 0) return errno;
  mode_t mode = r->st.st_mode & 07777;
  if (now.st_uid != r->st.st_uid || now.st_gid != r->st.st_gid)
    mode &= ~(mode_t)(S_ISUID | S_ISGID);
  int e = copy_acl(r);
  if (e != 0) return e;
  return fchmod(r->fd, mode) == 0 ? 0 : errno;
}

/* The replacement, in the order that makes each step safe:
**   1. final owner, group and mode, only now that the data is complete
**      (until here the file was 0600 and ours);
**   2. fsync the file: its data and inode reach the disk before any
**      name points at it, so a crash never shows a new name with
**      missing blocks;
**   3. renameat over the target: atomic, a reader sees the old file or
**      the new one;
**   4. fsync the directory: the rename itself survives a power cut, so
**      close() returning true means the new file is there for good;
**   5. remove stale temporary files of this target (killed writers). */
int tm_rep_commit(tm_replace *r) {
  int e = 0;
  if (r->through) {
    if (close(r->fd) != 0) e = errno;
    r->fd = -1;
    tm_rep_discard(r);
    return e;
  }
  e = final_mode(r);
  if (!e && fsync(r->fd) != 0) e = errno;
  if (!e && renameat(r->dirfd, r->tmp, r->dirfd, r->name) != 0) e = errno;
  if (!e) {
    free(r->tmp);
    r->tmp = NULL;   /* renamed: nothing to unlink */
    slot_unset(r->slot);
    /* EINVAL: a file system that cannot sync directories */
    if (fsync(r->dirfd) != 0 && errno != EINVAL && errno != EBADF)
      e = errno;
    else
      clean_stale(r);
  }
  tm_rep_discard(r);
  return e;
}

/* The file the walk found (r->dirfd, r->name), opened read-write;
** EAGAIN when it changed since the walk looked (walk again). */
static int open_inplace(tm_replace *r, int create) {
  int flags = O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
  struct stat st;
  if (!r->exists && !create) return ENOENT;
  r->fd = openat(r->dirfd, r->name, r->exists ? flags
                 : flags | O_CREAT | O_EXCL, 0666);
  if (r->fd < 0) {
    int e = errno;
    return e == ELOOP || (r->exists ? e == ENOENT : e == EEXIST) ? EAGAIN : e;
  }
  if (fstat(r->fd, &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? EISDIR : ESPIPE;
  r->st = st;
  return 0;
}

int tm_rep_openrw(tm_replace *r, const char *path, int create,
                  const char **why) {
  int e = ENOENT;
  *why = NULL;
  for (int tries = 0; tries < 3; tries++) {
    memset(r, 0, sizeof *r);
    r->fd = r->dirfd = -1;
    r->inplace = 1;
    if (path[0] == '\0') break;
    e = walk(r, path, why);
    if (e == 0) e = open_inplace(r, create);
    if (e != EAGAIN) break;   /* else something was swapped meanwhile */
    tm_rep_discard(r);
  }
  if (e != 0) tm_rep_discard(r);
  return e;
}

void tm_rep_uncreate(tm_replace *r) {
  struct stat now;
  if (r->exists || r->fd < 0 || r->dirfd < 0 || r->name == NULL) return;
  /* by name, so only if the name is still this file */
  if (fstatat(r->dirfd, r->name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
      now.st_dev == r->st.st_dev && now.st_ino == r->st.st_ino)
    unlinkat(r->dirfd, r->name, 0);
}

void tm_rep_discard(tm_replace *r) {
  if (r->tmp != NULL && r->dirfd >= 0) unlinkat(r->dirfd, r->tmp, 0);
  if (r->slot != NULL) slot_release(r->slot);
  if (r->fd >= 0) close(r->fd);
  if (r->dirfd >= 0) close(r->dirfd);
  free(r->tmp);
  free(r->name);
  r->tmp = r->name = NULL;
  r->slot = NULL;
  r->fd = r->dirfd = -1;
}
/* }==================================================================== */
