/*
** csv.c -- the RFC 4180 record scanner (see csv.h for the grammar).
**
** Both walks jump with memchr: outside quotes to the next LF (then look
** back for quotes that open a field), inside quotes to the next '"'.
** Plain records (no quotes) cost one memchr for the line end and one
** for a quote, whatever their number of fields.
*/
#include <string.h>

#include "csv.h"

/* scan states */
enum {
  CS_START,     /* at the start of a field */
  CS_FIELD,     /* inside an unquoted field */
  CS_QUOTED,    /* inside a quoted field */
  CS_CLOSED     /* just after the quote that closed a quoted field */
};

void tm_csv_begin(tm_csv_scan *sc) {
  sc->pos = 0;
  sc->state = CS_START;
  sc->quote = 0;
}

/* Does the '"' at q open a quoted field?  Everything in [from, q) was
** read outside quotes, so a separator there is a real one. */
static int csv_opens(const char *p, size_t from, size_t q, int state,
                     char sep) {
  if (q == from)
    return state == CS_START;
  return p[q - 1] == sep;
}

/* Outside quotes from sc->pos: find the LF that ends the record, unless
** a quote that opens a field comes first.  Returns 1 (the end), 0 (the
** bytes ran out), or 2 (a quoted field opened: sc is inside it). */
static int csv_unquoted(const char *p, size_t n, char sep, tm_csv_scan *sc,
                        size_t *reclen, size_t *eol) {
  size_t from = sc->pos, lim = n, q;
  const char *nl = (const char *)memchr(p + from, '\n', n - from);
  if (nl != NULL)
    lim = (size_t)(nl - p);
  for (q = from; q < lim; q++) {
    const char *dq = (const char *)memchr(p + q, '"', lim - q);
    if (dq == NULL)
      break;
    q = (size_t)(dq - p);
    if (csv_opens(p, from, q, sc->state, sep)) {
      sc->state = CS_QUOTED;
      sc->quote = q;
      sc->pos = q + 1;
      return 2;
    }
  }
  if (nl == NULL) {
    /* the fields so far: the state at n is that of the last byte */
    if (n > from)
      sc->state = p[n - 1] == sep ? CS_START : CS_FIELD;
    sc->pos = n;
    return 0;
  }
  *eol = (lim > 0 && p[lim - 1] == '\r') ? 2 : 1;
  *reclen = lim + 1 - *eol;
  return 1;
}

/* Inside quotes: find the closing quote and what follows it.  Returns
** as csv_unquoted; 2 means the scan goes on outside quotes. */
static int csv_quoted(const char *p, size_t n, char sep, tm_csv_scan *sc,
                      size_t *reclen, size_t *eol) {
  for (;;) {
    size_t k = sc->pos;
    if (sc->state == CS_QUOTED) {
      const char *dq = (const char *)memchr(p + k, '"', n - k);
      if (dq == NULL) {
        sc->pos = n;
        return 0;
      }
      k = (size_t)(dq - p) + 1;
      sc->state = CS_CLOSED;
      sc->pos = k;
    }
    /* CS_CLOSED: the byte after the quote decides */
    if (k >= n)
      return 0;
    if (p[k] == '"') {                  /* "" : a quote inside */
      sc->state = CS_QUOTED;
      sc->pos = k + 1;
      continue;
    }
    if (p[k] == '\n') {
      *reclen = k;
      *eol = 1;
      return 1;
    }
    if (p[k] == '\r') {
      if (k + 1 >= n)
        return 0;                       /* CR LF, or a CR as data? */
      if (p[k + 1] == '\n') {
        *reclen = k;
        *eol = 2;
        return 1;
      }
    }
    sc->state = p[k] == sep ? CS_START : CS_FIELD;
    sc->pos = k + 1;
    return 2;
  }
}

int tm_csv_record(const char *p, size_t n, char sep, tm_csv_scan *sc,
                  size_t *reclen, size_t *eol) {
  for (;;) {
    int rc;
    if (sc->state == CS_QUOTED || sc->state == CS_CLOSED)
      rc = csv_quoted(p, n, sep, sc, reclen, eol);
    else
      rc = csv_unquoted(p, n, sep, sc, reclen, eol);
    if (rc != 2)
      return rc;
  }
}

int tm_csv_open_quote(const tm_csv_scan *sc, size_t *where) {
  if (sc->state != CS_QUOTED)
    return 0;
  *where = sc->quote;
  return 1;
}

int tm_csv_next(const char *r, size_t n, char sep, size_t *pos,
                 tm_csv_field *f) {
  size_t s = *pos, k, e;
  const char *q;
  int escaped = 0;
  if (n == 0 || s > n)
    return 0;
  f->rawstart = s;
  f->copy = 0;
  if (s == n || r[s] != '"') {          /* unquoted (or empty last) */
    q = s < n ? (const char *)memchr(r + s, sep, n - s) : NULL;
    e = q != NULL ? (size_t)(q - r) : n;
    f->start = s;
    f->len = f->rawlen = e - s;
    *pos = e + 1;
    return 1;
  }
  for (k = s + 1;; k += 2) {            /* quoted: find the closing quote */
    q = (const char *)memchr(r + k, '"', n - k);
    if (q == NULL) {                    /* unterminated: the rest */
      f->rawlen = n - s;
      f->copy = 1;
      *pos = n + 1;
      return 1;
    }
    k = (size_t)(q - r);
    if (k + 1 < n && r[k + 1] == '"') {
      escaped = 1;
      continue;
    }
    break;
  }
  k++;                                  /* after the closing quote */
  if (k == n || r[k] == sep) {
    f->start = s + 1;
    f->len = k - 1 - (s + 1);
    f->rawlen = k - s;
    f->copy = escaped;
    *pos = k + 1;
    return 1;
  }
  q = (const char *)memchr(r + k, sep, n - k);  /* text after the quote */
  e = q != NULL ? (size_t)(q - r) : n;
  f->rawlen = e - s;
  f->copy = 1;
  *pos = e + 1;
  return 1;
}

size_t tm_csv_unquote(const char *p, size_t n, char sep, char *out) {
  size_t i = 1, o = 0;
  (void)sep;
  while (i < n) {
    const char *q = (const char *)memchr(p + i, '"', n - i);
    size_t k = q != NULL ? (size_t)(q - p) : n;
    memcpy(out + o, p + i, k - i);
    o += k - i;
    if (q == NULL)
      return o;                         /* unterminated */
    if (k + 1 < n && p[k + 1] == '"') {
      out[o++] = '"';
      i = k + 2;
      continue;
    }
    /* closed: what follows is kept as it is */
    memcpy(out + o, p + k + 1, n - k - 1);
    return o + n - k - 1;
  }
  return o;
}

size_t tm_csv_count(const char *r, size_t n, char sep) {
  size_t pos = 0, c = 0;
  tm_csv_field f;
  while (tm_csv_next(r, n, sep, &pos, &f))
    c++;
  return c;
}
