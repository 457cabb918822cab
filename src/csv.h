/*
** csv.h -- an RFC 4180 record scanner over (ptr, len).  No Lua.
**
** The grammar is that of RFC 4180 as the common readers apply it
** (Python's csv module with its default dialect, strict=False):
**   - records end at LF or CRLF outside quotes; a lone CR is data;
**   - a field that starts with '"' is quoted: separators, CR and LF
**     inside it are data, '""' stands for one '"';
**   - text after the closing quote is kept as it is ("ab"c is abc);
**   - a '"' inside an unquoted field is an ordinary character;
**   - an empty record (an empty line) has no fields at all;
**   - a quoted field still open at the end of the input is malformed
**     (the caller decides: an error, or the rest of the input as data).
** The separator is one byte (',' or '\t' usually), never '"', CR or LF.
**
** Two levels: tm_csv_record finds where a record ends (resumable, for
** input that arrives in blocks), tm_csv_next walks the fields of one
** record already delimited.  Neither allocates; unquoting writes into a
** caller's buffer of at least the field's raw length.
*/
#ifndef TOME_CSV_H
#define TOME_CSV_H

#include <stddef.h>

/* Where a record scan stopped (for tm_csv_record to resume). */
typedef struct tm_csv_scan {
  size_t pos;      /* bytes of the record already scanned */
  int state;       /* private: where the scan is in the grammar */
  size_t quote;    /* private: the open quoted field's first byte */
} tm_csv_scan;

/* Start scanning a new record. */
void tm_csv_begin(tm_csv_scan *sc);

/*
** Find the end of the record that starts at p (p[0..n) is the input
** available from the record's start; sc says how far an earlier call
** got over the same bytes).  Returns 1 when the record ends in p:
** *reclen is its length without the line end, *eol the length of the
** line end (1 for LF, 2 for CRLF).  Returns 0 when it does not end
** within n bytes: call again with more bytes (the same start), or, at
** the end of the input, take the rest as the last record, checking
** tm_csv_open_quote first.
*/
int tm_csv_record(const char *p, size_t n, char sep, tm_csv_scan *sc,
                  size_t *reclen, size_t *eol);

/* After tm_csv_record returned 0 over the whole input: is a quoted
** field still open (a malformed record)?  Then *where is the offset of
** its opening quote from the record's start. */
int tm_csv_open_quote(const tm_csv_scan *sc, size_t *where);

/* One field of a record r[0..n) (no line end in it). */
typedef struct tm_csv_field {
  size_t start, len;   /* the field's text, when it needs no unquoting */
  size_t rawstart, rawlen;  /* the raw bytes, quotes included */
  int copy;            /* 1: unquote rawstart/rawlen with tm_csv_unquote */
} tm_csv_field;

/*
** The field that starts at *pos (0 before the first one): returns 1 and
** fills f, moving *pos past the field and its separator; returns 0
** when there are no more fields.  The fields of "a,,b" are "a", "",
** "b"; of "a," "a" and ""; an empty record has none.  *pos starts at
** 0; after the last field it is n + 1.  An unterminated quoted field
** runs to the end of r.
*/
int tm_csv_next(const char *r, size_t n, char sep, size_t *pos,
                 tm_csv_field *f);

/* The text of a quoted field (raw bytes p[0..n), opening quote first)
** into out (room for n bytes): quotes dropped, '""' made '"'.
** Returns the length written. */
size_t tm_csv_unquote(const char *p, size_t n, char sep, char *out);

/* The number of fields of the record r[0..n). */
size_t tm_csv_count(const char *r, size_t n, char sep);

#endif
