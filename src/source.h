/*
** source.h -- where bytes come from: compressed files, pipes and other
** streams.  No Lua here.
**
** Three things live in this room:
**
**   - format detection by magic bytes (never by file name): gzip, zstd,
**     xz, bzip2, or plain bytes;
**
**   - the streaming reader, tm_reader: open a path or a descriptor and
**     read its bytes (decompressed when the magic bytes say so) in one
**     pass, as a stream, in bounded memory and without a temporary file.
**     `tome -n`/`-p` and scripts read their inputs through it;
**
**   - tm_source_open: the bytes of a path as a tm_mapping (mapping.h).
**     Plain regular files are mapped as they are; compressed files,
**     pipes, FIFOs and other streams are read through a tm_reader and
**     spilled: the first TM_SPILL_MEMORY bytes (64 MiB) stay in memory,
**     beyond that everything goes to an unlinked temporary file under
**     $TMPDIR (O_TMPFILE where the file system has it), which is then
**     mapped, so memory stays bounded whatever the size.  Multi-member
**     gzip files and multi-frame zstd files are decompressed by several
**     threads at once.
**
** Errors are errno values plus, for what errno cannot say (corrupt or
** truncated compressed data), a message that names the byte offset in
** the compressed input where decompression failed.  Corrupt and truncated
** data are EILSEQ.  Nothing here is global: two threads may use two
** readers (or open two sources) at the same time.
*/
#ifndef TOME_SOURCE_H
#define TOME_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mapping.h"

/* {====================================================================
** Formats
** ===================================================================== */

enum { TM_FMT_PLAIN = 0, TM_FMT_GZIP, TM_FMT_ZSTD, TM_FMT_XZ, TM_FMT_BZIP2 };

/* The longest prefix tm_format_sniff may need to decide. */
#define TM_SNIFF_MAX 10

/* The format of bytes that start with p[0..n).  Returns TM_FMT_*, or -1
** when n < TM_SNIFF_MAX bytes are not enough to decide (they are a prefix
** of some magic number): read more, or, at the end of the input, take
** them as plain. */
int tm_format_sniff(const void *p, size_t n);
/* "gzip", "zstd", "xz", "bzip2"; "plain" for TM_FMT_PLAIN. */
const char *tm_format_name(int fmt);
/* }==================================================================== */

/* {====================================================================
** The streaming reader
**
**   tm_reader *r;
**   int e = tm_reader_open(&r, path, 0);          // "-": standard input
**   if (e != 0) ...report "path: strerror(e)"...
**   const char *rec; size_t n; int rc;
**   while ((rc = tm_reader_record(r, "\n", 1, &rec, &n)) > 0)
**     ...rec[0..n) is a line, with its "\n" unless it is the last line...
**   if (rc < 0 && tm_reader_errno(r) == EINTR) ...a signal: call again...
**   if (rc < 0) ...report tm_reader_error(r): "path: what, at byte N"...
**   tm_reader_close(r);
**
** The format is decided on the first read, from the first bytes of the
** stream, so opening never blocks on a pipe and a plain stream is handed
** out as it arrives: a record is returned as soon as its separator has
** been read (`tail -f log | tome -n ...` sees every line at once).  A
** compressed stream is decompressed whole as zcat/zstdcat/xzcat/bzcat
** would: concatenated gzip members and bzip2 streams, several zstd frames
** (and skippable frames), several xz streams and their padding.  Trailing
** NUL bytes after gzip data are ignored (as gzip does); any other bytes
** after the compressed data, a corrupt stream and a stream that ends
** early are errors (EILSEQ), never a short result that looks fine.
**
** Memory: one input buffer and one output buffer (about 1 MiB each; the
** output buffer grows to hold the longest record asked for), plus the
** decompressor's own state (zstd frames are limited to 128 MiB windows,
** as zstd itself does by default; xz uses several threads while the
** decoder stays within 64 MiB).
**
** Errors are sticky: after one, every call returns -1 again, except
** EINTR (a signal interrupted a blocking read: nothing was lost, call
** again; the host uses this to let Ctrl-C through).
** ===================================================================== */

typedef struct tm_reader tm_reader;

/* flags */
enum { TM_READ_RAW = 1,     /* never decompress: the bytes as they are */
       TM_READ_PREAD = 2 };  /* read with pread from offset 0, so the
                                descriptor may be shared (its offset is
                                never used nor moved) */

/* Open 'path' ("-" is standard input, read from where it stands and never
** closed) for reading.  Returns 0 and *out, or an errno value (ENOMEM,
** what open(2) says, EISDIR for a directory). */
int tm_reader_open(tm_reader **out, const char *path, unsigned flags);
/* The same over an open descriptor; 'name' is used in messages.  The
** descriptor is closed by tm_reader_close when 'own' is nonzero. */
int tm_reader_fdopen(tm_reader **out, int fd, int own, const char *name,
                     unsigned flags);

/* The next bytes of the stream, in the reader's own buffer: sets *p and
** returns how many (> 0, valid until the next call on r), 0 at the end,
** -1 on an error.  Returns as soon as some bytes are there. */
ptrdiff_t tm_reader_next(tm_reader *r, const char **p);
/* Copy up to n bytes into buf, as read(2) does: > 0, 0 at the end, -1. */
ptrdiff_t tm_reader_read(tm_reader *r, void *buf, size_t n);
/* The next record: the bytes up to and including the next occurrence of
** sep[0..seplen) (seplen >= 1), or the last bytes of the stream without
** one.  Sets *rec, *len (valid until the next call on r) and returns 1;
** 0 at the end; -1 on an error. */
int tm_reader_record(tm_reader *r, const char *sep, size_t seplen,
                     const char **rec, size_t *len);

/* The error: an errno value (0 when none) and "name: what went wrong". */
int tm_reader_errno(const tm_reader *r);
const char *tm_reader_error(const tm_reader *r);
/* TM_FMT_* of the stream; TM_FMT_PLAIN until the first read decided. */
int tm_reader_format(const tm_reader *r);
/* Bytes handed out so far (decompressed), and bytes read from the
** descriptor so far (compressed): for progress displays, with the size
** of a regular file (fstat) as the total. */
uint64_t tm_reader_tell(const tm_reader *r);
uint64_t tm_reader_consumed(const tm_reader *r);
/* Free everything (closes the descriptor if owned).  NULL is fine. */
void tm_reader_close(tm_reader *r);
/* }==================================================================== */

/* {====================================================================
** Maps of any source: tome.open
** ===================================================================== */

/* Bytes kept in memory before a stream spills into a temporary file. */
#define TM_SPILL_MEMORY ((size_t)64 << 20)

typedef struct tm_source_opts {
  int raw;          /* nonzero: never decompress (opts.decompress = false) */
  size_t memory;    /* spill threshold; 0 means TM_SPILL_MEMORY */
  int workers;      /* decompression threads; 0: the number of CPUs */
  const char *tmpdir;  /* NULL: $TMPDIR, or /tmp when unset or empty */
  int defer;        /* nonzero: a large zstd file may be deferred (below) */
} tm_source_opts;

typedef struct tm_lazy tm_lazy;

typedef struct tm_source_info {
  int fmt;          /* TM_FMT_* of the input (TM_FMT_PLAIN if not known) */
  int spilled;      /* the bytes are in an unlinked temporary file */
  int workers;      /* threads that decompressed (1 if sequential) */
  char msg[256];    /* on failure: what went wrong without the path, or ""
                       when strerror(errno) says it all */
  tm_lazy *lazy;    /* a deferred file (see below), or NULL */
} tm_source_info;

/* Map the bytes of 'path' ("-" is standard input) with 'mode' (TM_MODE_*).
** Compressed files (unless opts->raw) and streams are read as described
** at the top; a compressed file refuses "r+" and "c" (EROFS), a stream
** refuses "r+" (ESPIPE) unless it is an empty regular file.  Returns 0,
** or an errno value with info->msg set when there is more to say.  'o'
** may be NULL for the defaults. */
int tm_source_open(tm_mapping *m, const char *path, int mode,
                   const tm_source_opts *o, tm_source_info *info);
/* }==================================================================== */

/* {====================================================================
** Deferred compressed files
**
** Decompressing a large file into a spill costs as much as writing its
** bytes into fresh page cache; a forward scan needs none of that.  With
** opts->defer, a zstd file whose frame headers give every frame's
** content size, and whose total is above the memory limit (opts->memory,
** else 16 MiB), is not decompressed by tm_source_open: it returns 0 with
** info->lazy set and m a read-only memory map of length 'total' whose
** base is NULL (no byte of it may be touched).  The caller then either
**   - streams: tm_lazy_stream gives a decoder of its own that reads
**     decompressed bytes at any offset (forward is cheap; going back
**     further than its history restarts from the start), or
**   - materialises: tm_lazy_fill decompresses everything into m as
**     tm_source_open would have (a spill file), then tm_lazy_free.
** Errors of streams are found while reading: corrupt or truncated data
** (EILSEQ, the message names the file and the compressed byte offset,
** as the reader's do), and the file changed since it was opened (EIO).
** ===================================================================== */

/* Decompress the whole file into m (closed first).  0, or an errno value
** with info->msg set as for tm_source_open. */
int tm_lazy_fill(tm_lazy *z, tm_mapping *m, tm_source_info *info);
/* The path it was opened with. */
const char *tm_lazy_path(const tm_lazy *z);
/* Free it (closes its descriptor).  NULL is fine. */
void tm_lazy_free(tm_lazy *z);

typedef struct tm_zstream tm_zstream;
/* A decoder over z's file (it keeps a descriptor of its own, so it
** outlives z).  0, or an errno value (no memory, no descriptor); a file
** that changed since z was opened is the decoder's first error. */
int tm_zstream_open(tm_zstream **out, const tm_lazy *z);
/* Decompressed bytes [pos, pos + n) into dst: 0, or an errno value with
** tm_zstream_error saying what (sticky). */
int tm_zstream_read(tm_zstream *d, char *dst, size_t n, uint64_t pos);
const char *tm_zstream_error(const tm_zstream *d);
/* The file this stream decodes, as a lazy handle's identity. */
int tm_zstream_of(const tm_zstream *d, const tm_lazy *z);
void tm_zstream_free(tm_zstream *d);
/* }==================================================================== */

#endif
