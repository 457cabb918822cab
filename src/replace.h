/*
** replace.h -- the OS room of writers: decide what a target path is,
** create the temporary file beside it, replace the target the way the
** safest file-replacing tools do, and keep a process-wide registry of the
** temporary files still open so that signals and exit() remove them.
** No Lua here.  Functions return 0 or an errno value.
**
** Temporary files are named ".NAME.tome-PID-XXXXXX" in the target's
** directory (NAME shortened to "PREFIX~HASH" when the whole name would
** not fit the file system's name limit); while a writer is open it holds
** an flock() on its file.  A writer that replaces its target removes the
** temporary files of the same target that nobody holds and whose process
** is gone (left by kill -9 or a power cut).
*/
#ifndef TOME_REPLACE_H
#define TOME_REPLACE_H

#include <sys/stat.h>
#include <sys/types.h>

struct tm_tmpslot;

typedef struct tm_replace {
  int fd;          /* where the bytes go: the temporary file, or the
                      special file itself (through); -1 when closed */
  int dirfd;       /* the directory of the target (and the temporary
                      file), -1 for a special file */
  int inplace;     /* tm_rep_openrw: only a regular file, opened as it is */
  int through;     /* 1: a device, FIFO, /proc/self/fd/N or a kernel
                      setting (/proc/sys, /sys), written straight
                      through (no temporary file, no rename) */
  int exists;      /* replacing an existing regular file, described by st */
  struct stat st;
  mode_t newmode;  /* the mode a new file gets: 0666 less the umask */
  char *name;      /* the target's name in dirfd */
  char *tmp;       /* the temporary file's name in dirfd, or NULL */
  struct tm_tmpslot *slot;  /* its entry in the registry */
} tm_replace;

/* Decide what 'path' is and open the way to write it:
**   - missing, or an existing regular file: a temporary file, mode 0600
**     from its creation, locked, beside the target;
**   - a character or block device, a FIFO, a /proc symbolic link such
**     as /dev/stdout, or a file of the kernel's own file systems (/proc,
**     /sys, cgroups): the file itself, opened for writing;
**   - a directory (or a name ending in '/'): EISDIR; a socket: ENXIO.
** Symbolic links are followed, except one that another user owns in a
** sticky world-writable directory (the fs.protected_symlinks rule):
** then EACCES, with *why set to a sentence saying so (else *why = NULL). */
int tm_rep_open(tm_replace *r, const char *path, const char **why);
/* Finish: the new file gets the old owner, group and mode (where the
** caller may), is synced, renamed over the target, and the directory
** is synced.  Closes everything, whatever the result. */
int tm_rep_commit(tm_replace *r);
/* Drop everything: the temporary file goes, the target is untouched.
** Idempotent. */
void tm_rep_discard(tm_replace *r);

/* Open 'path' read-write, to be changed in place (tome.create, tome.open's
** "r+"), walking it as tm_rep_open does: a symbolic link that another
** user owns in a sticky world-writable directory is not followed (EACCES,
** *why).  Only a regular file will do (a device, FIFO or socket: ESPIPE;
** a directory: EISDIR); with 'create' a missing one is made (mode 0666
** less the umask), else ENOENT.  On success r->fd is the file, r->st
** describes it and r->exists says whether it was there before;
** tm_rep_uncreate removes it again if this call made it, tm_rep_discard
** closes what is left (set r->fd to -1 first to keep the file open). */
int tm_rep_openrw(tm_replace *r, const char *path, int create,
                  const char **why);
void tm_rep_uncreate(tm_replace *r);

#endif
