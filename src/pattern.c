/*
** pattern.c -- Lua 5.4 pattern matching over (ptr, len).
**
** The semantics are those of lstrlib.c (the manual's section 6.4.1 leaves
** many corner cases to the implementation, and we must agree with it on
** all of them): the same backtracking order, the same points where the
** recursion depth is counted (so "pattern too complex" fires on the same
** patterns), and errors raised lazily, when the matcher first reaches
** the malformed part, so a malformed tail that is never reached raises
** nothing, as in the string library.
**
** What differs is the memory discipline.  The string library reads the
** '\0' that ends every Lua string in a few places (the byte after the
** pattern, the byte at the end of the subject).  Here every such read
** goes through pat_byte() or an explicit bound check, which answer 0
** where the string library would have read its terminator: the same
** answers without touching a byte outside the ranges.
*/
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "pattern.h"
#include "scan.h"

/* Every error of the engine goes through here: a binding that searches
** under a SIGBUS guard leaves it first (ms->leave), so that a Lua error
** never unwinds past a guard and leaves it dead on the thread's chain. */
static void pat_leave(tm_pat *ms) {
  if (ms->leave != NULL) ms->leave(ms);
}
#define PAT_ERROR(ms, ...) (pat_leave(ms), luaL_error((ms)->L, __VA_ARGS__))

#define PCHAR_ESC '%'
#define SPECIALS "^$*+?.([%-"

#define uchar(c) ((unsigned char)(c))

/* fast-path kinds (tm_pat.fast) */
#define FAST_UNKNOWN 0   /* not analysed yet */
#define FAST_NONE    1   /* try every position */
#define FAST_PREFIX  2   /* a match holds pfx[0 .. pfxlen) at offset pfxoff */
#define FAST_FIRST   3   /* a match starts with a byte in first[] */
#define FAST_RUNLIT  4   /* a match is a run of first[] bytes, then pfx */

/* subjects shorter than this are searched without analysing the pattern:
** the analysis would cost more than it saves */
#define ANALYSE_MIN 64

#define pat_end(ms) ((ms)->pat + (ms)->patlen)
#define src_end(ms) ((ms)->src + (ms)->srclen)


/* {====== classes and sets ====== */

/* Byte p of a pattern ending at pe, or 0 at its end (where lstrlib reads
** the '\0' terminating the Lua string: same answer, no read). */
static int byte_at(const char *p, const char *pe) {
  return p < pe ? uchar(*p) : 0;
}

static int pat_byte(const tm_pat *ms, const char *p) {
  return byte_at(p, pat_end(ms));
}

/* Whether c is in class %cl (cl a letter of acdglpsuwxz, either case);
** -1 when cl names no class, so that "%cl" stands for cl itself.  The
** ctype functions of the current locale, as the string library uses. */
static int class_test(int c, int cl) {
  int r;
  switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = (c == 0); break;   /* deprecated, still in 5.4 */
    default: return -1;
  }
  r = (r != 0);
  return isupper(cl) ? !r : r;
}

/* c against an escape %cl: a class, or the character cl itself */
static int class_match(int c, int cl) {
  int r = class_test(c, cl);
  return r < 0 ? (c == cl) : r;
}

/* Whether c is in the set [ ... ] starting at p ('[') whose closing ']'
** is at ec.  The set was delimited by class_end, so every byte read here
** lies in [p, ec]. */
static int set_match(int c, const char *p, const char *ec) {
  int in = 1;
  if (p[1] == '^') {
    in = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == PCHAR_ESC) {
      p++;
      if (class_match(c, uchar(*p)))
        return in;
    }
    else if (p[1] == '-' && p + 2 < ec) {
      p += 2;
      if (uchar(p[-2]) <= c && c <= uchar(*p))
        return in;
    }
    else if (uchar(*p) == c)
      return in;
  }
  return !in;
}

/* The end of the single-character class at p (< pe), or NULL when it is
** malformed (an escape with nothing after it, a set without its ']').
** As in lstrlib, the first byte of a set (after an optional '^') is
** taken literally, so "[]]" is the set of ']'. */
static const char *class_end(const char *p, const char *pe) {
  int c = uchar(*p++);
  if (c == PCHAR_ESC)
    return p < pe ? p + 1 : NULL;
  if (c != '[')
    return p;
  if (byte_at(p, pe) == '^')
    p++;
  do {
    if (p >= pe)
      return NULL;
    c = uchar(*p++);
    if (c == PCHAR_ESC && p < pe)
      p++;  /* skip the escaped byte (e.g. "%]") */
  } while (byte_at(p, pe) != ']');
  return p + 1;
}

static const char *item_end(tm_pat *ms, const char *p) {
  const char *ep = class_end(p, pat_end(ms));
  if (ep == NULL) {
    if (*p == PCHAR_ESC)
      PAT_ERROR(ms, "malformed pattern (ends with '%%')");
    PAT_ERROR(ms, "malformed pattern (missing ']')");
  }
  return ep;
}

/* byte c against the single-character class [p, ep) */
static int item_match(int c, const char *p, const char *ep) {
  switch (*p) {
    case '.': return 1;
    case PCHAR_ESC: return class_match(c, uchar(p[1]));
    case '[': return set_match(c, p, ep - 1);
    default: return uchar(*p) == c;
  }
}

static int set_has(const unsigned char *set, int c) {
  return (set[c >> 3] >> (c & 7)) & 1;
}

/* The compiled set of the item at p, or NULL (see compile_items). */
static const unsigned char *compiled(const tm_pat *ms, const char *p) {
  size_t off = (size_t)(p - ms->pat);
  if (ms->nsets == 0 || off >= TM_PAT_SETMAP || ms->setof[off] == 0)
    return NULL;
  return ms->sets[ms->setof[off] - 1];
}

/* The set that the next subject byte must be in for do_match(ms, s, p)
** to have any chance, or NULL when there is no such set or when the call
** might raise before failing (see compile_items).  The depth test: the
** call and one nested call per capture mark before the item each take a
** level, and do_match raises "pattern too complex" at level 0. */
static const unsigned char *needed(const tm_pat *ms, const char *p) {
  size_t off = (size_t)(p - ms->pat);
  if (ms->nsets == 0 || off >= TM_PAT_SETMAP || ms->need[off] == 0 ||
      ms->depth <= ms->needmarks[off])
    return NULL;
  return ms->sets[ms->need[off] - 1];
}

/* Whether s (in the subject or at its end) can begin what set requires. */
static int can_start(const tm_pat *ms, const unsigned char *set,
                     const char *s) {
  return s < src_end(ms) && set_has(set, uchar(*s));
}

/* the subject byte at s (if any) against [p, ep) */
static int single(const tm_pat *ms, const char *s, const char *p,
                  const char *ep) {
  const unsigned char *set;
  if (s >= src_end(ms))
    return 0;
  if ((set = compiled(ms, p)) != NULL)
    return set_has(set, uchar(*s));
  return item_match(uchar(*s), p, ep);
}
/* }====== */


/* {====== the matcher ====== */

static const char *do_match(tm_pat *ms, const char *s, const char *p);

/* %bxy at s, p pointing at x */
static const char *match_balance(tm_pat *ms, const char *s, const char *p) {
  const char *se = src_end(ms);
  int open, close, depth = 1;
  if (pat_end(ms) - p < 2)
    PAT_ERROR(ms, "malformed pattern (missing arguments to '%%b')");
  if (s >= se || *s != *p)
    return NULL;
  open = uchar(p[0]);
  close = uchar(p[1]);
  while (++s < se) {
    int c = uchar(*s);
    if (c == close) {
      if (--depth == 0)
        return s + 1;
    }
    else if (c == open)
      depth++;
  }
  return NULL;  /* the subject ends out of balance */
}

/* %f[set] at s, p pointing at the '['; the end of the set or NULL */
static const char *match_frontier(tm_pat *ms, const char *s, const char *p) {
  const char *ep;
  int prev, cur;
  if (pat_byte(ms, p) != '[')
    PAT_ERROR(ms, "missing '[' after '%%f' in pattern");
  ep = item_end(ms, p);
  /* outside the subject counts as '\0' on both sides */
  prev = (s == ms->src) ? 0 : uchar(s[-1]);
  cur = (s < src_end(ms)) ? uchar(*s) : 0;
  if (!set_match(prev, p, ep - 1) && set_match(cur, p, ep - 1))
    return ep;
  return NULL;
}

/* back-reference %l (l the digit's byte) at s */
static const char *match_backref(tm_pat *ms, const char *s, int l) {
  size_t len;
  const char *cs;
  l -= '1';
  if (l < 0 || l >= ms->level || ms->cap[l].len == TM_PAT_CAP_UNFINISHED)
    PAT_ERROR(ms, "invalid capture index %%%d", l + 1);
  /* a position capture's length converts to a huge size: never matches */
  len = (size_t)ms->cap[l].len;
  cs = ms->src + ms->cap[l].start;
  if ((size_t)(src_end(ms) - s) >= len && memcmp(cs, s, len) == 0)
    return s + len;
  return NULL;
}

/* Greedy repetition: the longest run first, then shorter ones.  Each
** attempt is a recursive call, as in lstrlib (it counts toward the
** depth limit). */
static const char *max_expand(tm_pat *ms, const char *s, const char *p,
                              const char *ep) {
  size_t i = 0;
  const unsigned char *set, *need;
  if (*p == '.')
    i = (size_t)(src_end(ms) - s);
  else if ((set = compiled(ms, p)) != NULL) {
    size_t n = (size_t)(src_end(ms) - s);
    while (i < n && set_has(set, uchar(s[i])))
      i++;
  }
  else
    while (single(ms, s + i, p, ep))
      i++;
  need = needed(ms, ep + 1);
  for (;;) {
    /* the string library calls do_match here whatever the next byte;
    ** skipping a call that fails at its first item, without raising,
    ** changes nothing but the time */
    if (need == NULL || can_start(ms, need, s + i)) {
      const char *r = do_match(ms, s + i, ep + 1);
      if (r != NULL)
        return r;
    }
    if (i == 0)
      return NULL;
    i--;
  }
}

/* Lazy repetition: the shortest run first. */
static const char *min_expand(tm_pat *ms, const char *s, const char *p,
                              const char *ep) {
  const unsigned char *need = needed(ms, ep + 1);
  for (;;) {
    if (need == NULL || can_start(ms, need, s)) {  /* see max_expand */
      const char *r = do_match(ms, s, ep + 1);
      if (r != NULL)
        return r;
    }
    if (!single(ms, s, p, ep))
      return NULL;
    s++;
  }
}

static const char *open_capture(tm_pat *ms, const char *s, const char *p,
                                ptrdiff_t what) {
  const char *r;
  int l = ms->level;
  if (l >= TM_PAT_MAXCAPTURES)
    PAT_ERROR(ms, "too many captures");
  ms->cap[l].start = (size_t)(s - ms->src);
  ms->cap[l].len = what;
  ms->level = l + 1;
  if ((r = do_match(ms, s, p)) == NULL)
    ms->level--;  /* undo */
  return r;
}

static const char *close_capture(tm_pat *ms, const char *s, const char *p) {
  const char *r;
  int l = ms->level - 1;
  while (l >= 0 && ms->cap[l].len != TM_PAT_CAP_UNFINISHED)
    l--;
  if (l < 0)
    PAT_ERROR(ms, "invalid pattern capture");
  ms->cap[l].len = (s - ms->src) - (ptrdiff_t)ms->cap[l].start;
  if ((r = do_match(ms, s, p)) == NULL)
    ms->cap[l].len = TM_PAT_CAP_UNFINISHED;  /* undo */
  return r;
}

/* A single-character class at p with its optional quantifier.  Returns
** 1 to go on with the rest of the pattern at (*ps, *pp) (the tail calls
** of lstrlib, done as a loop), 0 when *ps holds the final result. */
static int match_item(tm_pat *ms, const char **ps, const char **pp) {
  const char *s = *ps, *p = *pp;
  size_t off = (size_t)(p - ms->pat);
  const char *ep = (ms->nsets != 0 && off < TM_PAT_SETMAP &&
                    ms->ilen[off] != 0) ? p + ms->ilen[off]
                                        : item_end(ms, p);
  int q = pat_byte(ms, ep);
  if (!single(ms, s, p, ep)) {
    if (q == '*' || q == '?' || q == '-') {  /* may match empty */
      *pp = ep + 1;
      return 1;
    }
    *ps = NULL;
    return 0;
  }
  switch (q) {
    case '?': {
      const unsigned char *need = needed(ms, ep + 1);
      if (need == NULL || can_start(ms, need, s + 1)) {  /* see max_expand */
        const char *r = do_match(ms, s + 1, ep + 1);
        if (r != NULL) {
          *ps = r;
          return 0;
        }
      }
      *pp = ep + 1;
      return 1;
    }
    case '+': *ps = max_expand(ms, s + 1, p, ep); return 0;
    case '*': *ps = max_expand(ms, s, p, ep); return 0;
    case '-': *ps = min_expand(ms, s, p, ep); return 0;
    default:
      *ps = s + 1;
      *pp = ep;
      return 1;
  }
}

static const char *do_match(tm_pat *ms, const char *s, const char *p) {
  const char *pe = pat_end(ms);
  if (ms->depth-- == 0)
    PAT_ERROR(ms, "pattern too complex");
  while (s != NULL && p != pe) {
    int c = uchar(*p);
    if (c == '(') {
      if (pat_byte(ms, p + 1) == ')')
        s = open_capture(ms, s, p + 2, TM_PAT_CAP_POSITION);
      else
        s = open_capture(ms, s, p + 1, TM_PAT_CAP_UNFINISHED);
      break;
    }
    if (c == ')') {
      s = close_capture(ms, s, p + 1);
      break;
    }
    if (c == '$' && p + 1 == pe) {  /* '$' anchors only at the end */
      if (s != src_end(ms))
        s = NULL;
      break;
    }
    if (c == PCHAR_ESC) {
      int d = pat_byte(ms, p + 1);
      if (d == 'b') {
        s = match_balance(ms, s, p + 2);
        p += 4;
        continue;
      }
      if (d == 'f') {
        const char *ep = match_frontier(ms, s, p + 2);
        if (ep == NULL)
          s = NULL;
        p = ep;
        continue;
      }
      if (d >= '0' && d <= '9') {
        s = match_backref(ms, s, d);
        p += 2;
        continue;
      }
    }
    if (!match_item(ms, &s, &p))
      break;
  }
  ms->depth++;
  return s;
}
/* }====== */


/* {====== fast paths ====== */

/* The byte a single-character class at p..ep stands for, or -1 when it
** is not a single literal byte. */
static int literal_byte(const char *p, const char *ep) {
  if (ep - p == 1)
    return (*p == '.' || *p == '[') ? -1 : uchar(*p);
  if (ep - p == 2 && *p == PCHAR_ESC && class_test(0, uchar(p[1])) < 0)
    return uchar(p[1]);
  return -1;
}

/* A literal run being collected by tm_pat_required. */
typedef struct litrun {
  char cur[TM_PAT_PREFIX_MAX];
  size_t curlen, bestlen, cap;
  int full;   /* cur is full: later bytes of this run are not added */
  char *best;
} litrun;

static void run_add(litrun *r, int b) {
  if (r->curlen < r->cap && !r->full)
    r->cur[r->curlen++] = (char)b;
  else
    r->full = 1;  /* the first cap bytes are still required */
}

static void run_end(litrun *r) {
  if (r->curlen > r->bestlen) {
    memcpy(r->best, r->cur, r->curlen);
    r->bestlen = r->curlen;
  }
  r->curlen = 0;
  r->full = 0;
}

/* Depth of recursion above which a walked item might make the matcher
** raise "pattern too complex" (each quantified item and each capture
** boundary nests one call; TM_PAT_MAXCCALLS is 200). */
#define REQ_MAXDEPTH 150

/* The walk behind tm_pat_required, over a pattern without its anchor. */
static size_t required(const char *p, const char *pe, char *buf,
                       size_t cap) {
  int opened = 0, unclosed = 0, depth = 0;
  litrun r;
  r.curlen = r.bestlen = 0;
  r.full = 0;
  r.best = buf;
  r.cap = cap < TM_PAT_PREFIX_MAX ? cap : TM_PAT_PREFIX_MAX;
  while (p < pe && depth < REQ_MAXDEPTH) {
    const char *ep;
    int c = uchar(*p), q, b;
    if (c == '(') {  /* captures consume nothing: the run goes on */
      if (++opened > TM_PAT_MAXCAPTURES)
        break;
      depth++;
      if (byte_at(p + 1, pe) == ')')
        p += 2;
      else {
        unclosed++;
        p++;
      }
      continue;
    }
    if (c == ')') {
      if (unclosed-- == 0)
        break;
      depth++;
      p++;
      continue;
    }
    if (c == '$' && p + 1 == pe)
      break;
    if (c == PCHAR_ESC) {
      int d = byte_at(p + 1, pe);
      if (d == 'b') {
        if (pe - p < 4)
          break;
        run_end(&r);
        p += 4;
        continue;
      }
      if (d == 'f') {
        if (byte_at(p + 2, pe) != '[' || (ep = class_end(p + 2, pe)) == NULL)
          break;
        run_end(&r);
        p = ep;
        continue;
      }
      if (d >= '0' && d <= '9')
        break;  /* a back-reference may raise */
    }
    if ((ep = class_end(p, pe)) == NULL)
      break;
    q = byte_at(ep, pe);
    b = literal_byte(p, ep);
    if (q == '*' || q == '?' || q == '-' || q == '+') {
      if (q == '+' && b >= 0)
        run_add(&r, b);  /* once for sure, then maybe more of it */
      run_end(&r);
      depth++;
      p = ep + 1;
      continue;
    }
    if (b >= 0)
      run_add(&r, b);
    else
      run_end(&r);
    p = ep;
  }
  run_end(&r);
  return r.bestlen;
}

size_t tm_pat_required(const char *pat, size_t patlen, char *buf,
                       size_t cap) {
  int anchor = patlen > 0 && pat[0] == '^';
  return required(pat + anchor, pat + patlen, buf, cap);
}

/* {------ compiled items ------ */

/* One step of the walk below: what do_match finds at a pattern offset. */
enum { TOK_ITEM, TOK_MARK, TOK_OTHER };
typedef struct token {
  size_t off;
  int kind;       /* TOK_ITEM: a single-character item; TOK_MARK: a capture
                  ** mark that cannot raise; TOK_OTHER: anything else */
  int q;          /* an item's quantifier byte (0 for none) */
  int set;        /* an item's set, or -1 */
} token;

/* The set index of the item [p, ep): one compiled before for the same
** item text, or a new one; -1 when the sets are all taken. */
static int item_set(tm_pat *ms, const token *tk, int ntk, const char *p,
                    const char *ep) {
  unsigned char set[32];
  int i, b;
  size_t n = (size_t)(ep - p);
  for (i = 0; i < ntk; i++)
    if (tk[i].kind == TOK_ITEM && tk[i].set >= 0 &&
        ms->ilen[tk[i].off] == n && memcmp(ms->pat + tk[i].off, p, n) == 0)
      return tk[i].set;
  memset(set, 0, sizeof set);
  if ((b = literal_byte(p, ep)) >= 0)
    set[b >> 3] = (unsigned char)(1u << (b & 7));
  else
    for (b = 0; b < 256; b++)
      if (item_match(b, p, ep))
        set[b >> 3] |= (unsigned char)(1u << (b & 7));
  for (i = 0; i < ms->nsets; i++)
    if (memcmp(ms->sets[i], set, sizeof set) == 0)
      return i;
  if (ms->nsets == TM_PAT_MAXSETS)
    return -1;
  memcpy(ms->sets[ms->nsets], set, sizeof set);
  return ms->nsets++;
}

/* Walk the pattern item by item as do_match parses it, so that every
** offset reached is one where do_match may be called (or single() with
** an item's start), up to TM_PAT_SETMAP; the walk stops at anything
** malformed.  For the items: a 256-bit set (one lookup instead of
** parsing the class at each test) and the item's length (no class_end).
** Built with the ctype tables of the locale at analysis time (the string
** library reads them at each test; a script that changes the locale in
** a gsub replacement function would see the difference).
**
** For every offset, "need": the set the next subject byte must be in
** when do_match starts there -- when the first item that consumes a byte
** is a single-character item that must match once (no quantifier, or
** '+'), reached only through capture marks that cannot raise (at most
** TM_PAT_MAXCAPTURES openings; closings of open captures: whether they
** can raise depends only on the pattern, which has no alternatives).
** do_match then fails at that item without raising when the byte is not
** in the set, so the matcher's loops (max_expand, min_expand, '?') skip
** such calls.  Nothing here raises. */
static void compile_items(tm_pat *ms) {
  const char *p = ms->pat, *pe = pat_end(ms);
  token tk[TM_PAT_SETMAP];
  int ntk = 0, opened = 0, unclosed = 0, i, nset = -1, marks = 0;
  memset(ms->setof, 0, sizeof ms->setof);
  memset(ms->ilen, 0, sizeof ms->ilen);
  memset(ms->need, 0, sizeof ms->need);
  ms->nsets = 0;
  while (p < pe && (size_t)(p - ms->pat) < TM_PAT_SETMAP) {
    const char *ep;
    token *t = &tk[ntk++];
    int c = uchar(*p);
    t->off = (size_t)(p - ms->pat);
    t->kind = TOK_OTHER;
    t->set = -1;
    if (c == '(') {
      if (opened++ < TM_PAT_MAXCAPTURES)
        t->kind = TOK_MARK;
      if (pat_byte(ms, p + 1) == ')')
        p += 2;  /* a position capture: opened and closed at once */
      else {
        unclosed++;
        p++;
      }
      continue;
    }
    if (c == ')') {
      if (unclosed > 0) {
        t->kind = TOK_MARK;
        unclosed--;
      }
      p++;
      continue;
    }
    if (c == '$' && p + 1 == pe)
      break;
    if (c == PCHAR_ESC) {
      int d = pat_byte(ms, p + 1);
      if (d == 'b') {
        p += 4;
        continue;
      }
      if (d == 'f') {
        if (byte_at(p + 2, pe) != '[' || (ep = class_end(p + 2, pe)) == NULL)
          break;
        p = ep;
        continue;
      }
      if (d >= '0' && d <= '9') {
        p += 2;
        continue;
      }
    }
    if ((ep = class_end(p, pe)) == NULL)
      break;
    t->kind = TOK_ITEM;
    t->q = pat_byte(ms, ep);
    if (ep - p <= 255 && (t->set = item_set(ms, tk, ntk - 1, p, ep)) >= 0) {
      ms->setof[t->off] = (unsigned char)(t->set + 1);
      ms->ilen[t->off] = (unsigned char)(ep - p);
    }
    p = ep;
    if (t->q != 0 && strchr("*+?-", t->q) != NULL)
      p++;
  }
  /* need, from the last token back: the first consuming item decides */
  for (i = ntk - 1; i >= 0; i--) {
    const token *t = &tk[i];
    if (t->kind == TOK_ITEM && t->set >= 0 &&
        (t->q == 0 || strchr("*?-", t->q) == NULL)) {
      nset = t->set;
      marks = 0;
    }
    else if (t->kind == TOK_MARK && nset >= 0 && marks < 255)
      marks++;
    else
      nset = -1;
    if (nset >= 0) {
      ms->need[t->off] = (unsigned char)(nset + 1);
      ms->needmarks[t->off] = (unsigned char)marks;
    }
  }
}
/* }------ */

/* Any "%<digit>" in the pattern, even after "%%", counts as a
** back-reference here. */
static int has_backref(const tm_pat *ms) {
  const char *q, *pe = pat_end(ms);
  for (q = ms->pat; q + 1 < pe; q++)
    if (*q == PCHAR_ESC && isdigit(uchar(q[1])))
      return 1;
  return 0;
}

/* Whether a failed attempt lets the search skip a run (see tm_pat_next):
** the pattern starts with a single-character item under '+', '*' or '-'
** and has no back-reference (then what follows the run succeeds or fails
** by its position alone). */
static int run_skips(tm_pat *ms) {
  const char *p = ms->pat, *pe = pat_end(ms), *ep;
  int c;
  if (p >= pe)
    return 0;
  c = uchar(*p);
  if (c == '(' || c == ')' || (c == '$' && p + 1 == pe))
    return 0;
  if (c == PCHAR_ESC &&
      (pat_byte(ms, p + 1) == 'b' || pat_byte(ms, p + 1) == 'f'))
    return 0;
  if ((ep = class_end(p, pe)) == NULL || ep >= pe || *ep == '\0' ||
      strchr("*+-", *ep) == NULL)
    return 0;
  if (has_backref(ms))
    return 0;
  ms->runep = ep;
  return 1;
}

static void first_from_item(tm_pat *ms, const char *p, const char *ep) {
  int c;
  memset(ms->first, 0, sizeof ms->first);
  for (c = 0; c < 256; c++)
    if (item_match(c, p, ep))
      ms->first[c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* The pattern starts with the class item [p, ep) under the quantifier q
** ('+', '*' or '-'), after capture openings and closings that cannot
** raise (opened, unclosed: their counts); what follows may be a literal:
** "%d+%.", "(%w+)=", "[%w_]*%(".  When the literal's first byte is not in
** the class, a match can start only in the run of class bytes that ends
** right where the literal lies (see candidate), so the literal is what
** the search looks for.  Sets FAST_RUNLIT with the class in first[] and
** the literal in pfx; 0 when the pattern has no such shape. */
static int run_literal(tm_pat *ms, const char *p, const char *ep, int q,
                       int opened, int unclosed) {
  const char *pe = pat_end(ms), *r = ep + 1;
  size_t n = 0;
  while (r < pe && n < TM_PAT_PREFIX_MAX) {
    const char *e2;
    int c = uchar(*r), q2, b;
    if (c == '(') {  /* marks consume nothing: the literal goes on */
      if (opened++ == TM_PAT_MAXCAPTURES)
        break;
      if (pat_byte(ms, r + 1) == ')')
        r += 2;
      else {
        unclosed++;
        r++;
      }
      continue;
    }
    if (c == ')') {
      if (unclosed-- == 0)
        break;
      r++;
      continue;
    }
    if (c == '$' && r + 1 == pe)
      break;
    if (c == PCHAR_ESC) {
      int d = pat_byte(ms, r + 1);
      if (d == 'b' || d == 'f' || (d >= '0' && d <= '9'))
        break;
    }
    if ((e2 = class_end(r, pe)) == NULL || (b = literal_byte(r, e2)) < 0)
      break;
    q2 = pat_byte(ms, e2);
    if (q2 == '*' || q2 == '?' || q2 == '-')
      break;  /* may match empty */
    ms->pfx[n++] = (char)b;
    if (q2 == '+')
      break;  /* once for sure, then who knows */
    r = e2;
  }
  if (n == 0)
    return 0;
  first_from_item(ms, p, ep);
  if (set_has(ms->first, uchar(ms->pfx[0])))
    return 0;  /* the run could swallow the literal */
  ms->pfxlen = n;
  ms->runq = q;
  ms->fast = FAST_RUNLIT;
  return 1;
}

/* Look at the start of the pattern for what every match must hold at a
** fixed distance from its start: a literal run at offset pfxoff (after
** pfxoff single-byte items such as "%s" or "."), or else a set of first
** bytes.  A position is skipped only when the string library's matcher
** would fail there without raising: the items walked over (single-byte
** classes without quantifiers, at most TM_PAT_MAXCAPTURES capture
** openings, closings of open captures) cannot raise, and the match fails
** at the first literal that differs.  Nothing here raises: a malformed
** pattern just gets no fast path. */
static void analyse(tm_pat *ms) {
  const char *p = ms->pat, *pe = pat_end(ms);
  int opened = 0, unclosed = 0;
  size_t k = 0;  /* offset in a match of the item at p */
  ms->fast = FAST_NONE;
  ms->pfxlen = ms->pfxoff = 0;
  ms->reqlen = 0;
  while (p < pe && ms->pfxlen < TM_PAT_PREFIX_MAX) {
    const char *ep;
    int c = uchar(*p), q, b;
    if (c == '(') {
      if (opened == TM_PAT_MAXCAPTURES)
        break;
      opened++;
      if (pat_byte(ms, p + 1) == ')')
        p += 2;
      else {
        unclosed++;
        p++;
      }
      continue;
    }
    if (c == ')') {
      if (unclosed == 0)
        break;
      unclosed--;
      p++;
      continue;
    }
    if (c == '$' && p + 1 == pe)
      break;
    if (c == PCHAR_ESC) {
      int d = pat_byte(ms, p + 1);
      if (d == 'b') {
        if (ms->pfxlen == 0 && pe - p >= 4) {
          ms->pfx[ms->pfxlen++] = p[2];  /* %bxy starts with x */
          ms->pfxoff = k;
        }
        break;
      }
      if (d == 'f' || (d >= '0' && d <= '9'))
        break;
    }
    if ((ep = class_end(p, pe)) == NULL)
      break;
    q = pat_byte(ms, ep);
    b = literal_byte(p, ep);
    if (k == 0 && b < 0 && *p != '.' && (q == '*' || q == '+' || q == '-') &&
        run_literal(ms, p, ep, q, opened, unclosed))
      break;
    if (q == '*' || q == '?' || q == '-')
      break;  /* may match empty */
    if (b >= 0) {
      if (ms->pfxlen == 0)
        ms->pfxoff = k;
      ms->pfx[ms->pfxlen++] = (char)b;
    }
    else if (ms->pfxlen > 0)
      break;  /* the run ended */
    else if (k == 0 && *p != '.') {
      first_from_item(ms, p, ep);
      ms->fast = FAST_FIRST;
    }
    if (q == '+')
      break;  /* the offsets of what follows vary */
    k++;
    p = ep;
  }
  if (ms->fast == FAST_RUNLIT)
    ;  /* the literal is searched for already */
  else if (ms->pfxlen > 0)
    ms->fast = FAST_PREFIX;
  else
    ms->reqlen = required(ms->pat, pat_end(ms), ms->req, TM_PAT_PREFIX_MAX);
  compile_items(ms);
  ms->litskip = ms->fast == FAST_RUNLIT && !has_backref(ms);
  ms->runskip = run_skips(ms);
}

/* The first occurrence of lit[0..n) (n >= 1, n <= srclen - pos) at or
** after pos: through the binding's seek when it has one. */
static size_t seek_literal(tm_pat *ms, size_t pos, const char *lit,
                           size_t n) {
  const char *hit;
  if (ms->seek != NULL)
    return ms->seek(ms, pos, lit, n);
  hit = tm_find(ms->src + pos, ms->srclen - pos, lit, n);
  return hit != NULL ? (size_t)(hit - ms->src) : TM_PAT_NONE;
}

/* Tell the binding that no match starts before pos any more, once per
** TM_PAT_STEP. */
static void notify(tm_pat *ms, size_t pos) {
  if (ms->passed != NULL && pos >= ms->mark) {
    ms->mark = (pos / TM_PAT_STEP + 1) * TM_PAT_STEP;
    ms->passed(ms, pos);
  }
}

#define REQ_SLACK 4096

/* Whether the required literal (if any) still occurs at or after pos:
** a match starting at pos would contain it. */
static int required_ahead(tm_pat *ms, size_t pos) {
  size_t at;
  /* Searched again only once pos is REQ_SLACK past the last occurrence:
  ** a common literal (a '.') would otherwise be searched for at every
  ** occurrence.  The check only saves futile attempts, so a few KiB of
  ** them at the end of the subject cost less than that. */
  if (ms->reqlen == 0 || (ms->reqnext != TM_PAT_NONE &&
                          ms->reqnext + REQ_SLACK >= pos))
    return 1;
  if (ms->reqlen > ms->srclen - pos)
    return 0;
  at = seek_literal(ms, pos, ms->req, ms->reqlen);
  if (at == TM_PAT_NONE)
    return 0;
  ms->reqnext = at;
  return 1;
}

/* The first position >= pos (pos <= srclen) where a match may start, or
** srclen + 1 when there is none. */
static size_t candidate(tm_pat *ms, size_t pos) {
  const char *s = ms->src;
  size_t n = ms->srclen;
  switch (ms->fast) {
    case FAST_PREFIX: {
      size_t at = ms->pfxoff, hit;  /* where the run lies in a match */
      if (at > n - pos || ms->pfxlen > n - pos - at)
        return n + 1;
      hit = seek_literal(ms, pos + at, ms->pfx, ms->pfxlen);
      return hit != TM_PAT_NONE ? hit - at : n + 1;
    }
    case FAST_RUNLIT:
      /* A match starting at q runs over class bytes to some j, where the
      ** literal must lie; the literal's first byte is not in the class,
      ** so j is the end of the run from q.  For the first occurrence j
      ** at or after pos, the first possible start is the start of the
      ** run ending at j (not before pos); every position before it either
      ** starts no run of the class or starts one that ends where the
      ** literal is not.  With '+' the run is not empty. */
      for (size_t at = pos;;) {
        size_t j, q;
        if (ms->pfxlen > n - at)
          return n + 1;
        if ((j = seek_literal(ms, at, ms->pfx, ms->pfxlen)) == TM_PAT_NONE)
          return n + 1;
        q = j;
        while (q > pos && set_has(ms->first, uchar(s[q - 1])))
          q--;
        if (q < j || ms->runq != '+') {
          ms->litat = j;
          return q;
        }
        at = j + 1;
      }
    case FAST_FIRST:
      for (;;) {  /* up to the next mark at a time, to report progress */
        size_t lim = ms->passed != NULL && ms->mark < n ? ms->mark : n;
        while (pos < lim && !set_has(ms->first, uchar(s[pos])))
          pos++;
        if (pos < lim || lim == n)
          break;
        notify(ms, pos);
      }
      return pos < n ? pos : n + 1;  /* the end cannot start a match */
    default:
      return pos;
  }
}
/* }====== */


/* {====== searching ====== */

void tm_pat_init(tm_pat *ms, lua_State *L, const char *src, size_t srclen,
                 const char *pat, size_t patlen, int anchorable) {
  ms->L = L;
  ms->src = src;
  ms->srclen = srclen;
  ms->anchor = anchorable && patlen > 0 && pat[0] == '^';
  ms->pat = pat + ms->anchor;
  ms->patlen = patlen - (size_t)ms->anchor;
  ms->refresh = NULL;
  ms->leave = NULL;
  ms->ud = NULL;
  ms->seek = NULL;
  ms->passed = NULL;
  ms->mark = 0;
  ms->runskip = 0;
  ms->litskip = 0;
  ms->reuse = 0;
  ms->nsets = 0;
  ms->level = 0;
  ms->depth = TM_PAT_MAXCCALLS;
  ms->fast = FAST_UNKNOWN;
  ms->pfxlen = 0;
  ms->reqlen = 0;
  ms->reqnext = TM_PAT_NONE;
}

void tm_pat_subject(tm_pat *ms, const char *src, size_t srclen) {
  ms->src = src;
  ms->srclen = srclen;
  ms->level = 0;
  ms->reqnext = TM_PAT_NONE;  /* the only subject-dependent fact kept */
  ms->reuse = 1;
}

int tm_pat_match_at(tm_pat *ms, size_t pos, size_t *end) {
  const char *r;
  ms->level = 0;
  ms->depth = TM_PAT_MAXCCALLS;
  r = do_match(ms, ms->src + pos, ms->pat);
  if (r == NULL)
    return 0;
  *end = (size_t)(r - ms->src);
  return 1;
}

int tm_pat_next(tm_pat *ms, size_t from, size_t last, size_t *start,
                size_t *end) {
  size_t pos = from, n = ms->srclen;
  if (from > n)
    return 0;
  if (ms->fast == FAST_UNKNOWN && (ms->reuse || n - from >= ANALYSE_MIN))
    analyse(ms);
  if (ms->anchor) {
    if (tm_pat_match_at(ms, from, end) && *end != last) {
      *start = from;
      return 1;
    }
    return 0;
  }
  for (;;) {
    if (ms->fast > FAST_NONE && (pos = candidate(ms, pos)) > n)
      return 0;
    notify(ms, pos);
    if (!required_ahead(ms, pos))
      return 0;
    if (tm_pat_match_at(ms, pos, end)) {
      if (*end != last) {
        *start = pos;
        return 1;
      }
    }
    else if (ms->litskip) {
      /* Failing at pos, the attempt tried the rest of the pattern at the
      ** literal (and with '-' or '*' before it); a start in (pos, litat]
      ** would run to the same literal and fail the same way, there being
      ** no back-reference to make the outcome depend on the start. */
      pos = ms->litat;
    }
    else if (ms->runskip) {
      /* The pattern is c+R, c*R or c-R.  Failing at pos, it tried R at
      ** every position from pos (+1 for c+) to the end r of the run of
      ** c's, and failed at each; a start in (pos, r] would try R at some
      ** of those same positions again, and R's outcome depends on its
      ** position only (no back-reference), so they all fail too.  The
      ** item cannot raise: do_match parsed it at pos. */
      size_t r = pos;
      const unsigned char *set = compiled(ms, ms->pat);
      if (set != NULL)
        while (r < n && set_has(set, uchar(ms->src[r])))
          r++;
      else
        while (single(ms, ms->src + r, ms->pat, ms->runep))
          r++;
      pos = r;
    }
    if (pos++ == n)
      return 0;
  }
}

int tm_pat_find(tm_pat *ms, size_t init, size_t *start, size_t *end) {
  return tm_pat_next(ms, init, TM_PAT_NONE, start, end);
}

int tm_pat_isplain(const char *p, size_t lp) {
  size_t i;
  for (i = 0; i < lp; i++)
    if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
      return 0;
  return 1;
}

size_t tm_pat_posrelat(lua_Integer init, size_t len) {
  if (init > 0)
    return (size_t)init - 1;
  if (init == 0 || init < -(lua_Integer)len)
    return 0;
  return len - (size_t)(-(init + 1)) - 1;  /* -init <= len: no overflow */
}
/* }====== */


/* {====== pushing results ====== */

/* Capture i of the match [s, e) on the stack: the whole match when there
** are no captures and i is 0. */
static void push_one(tm_pat *ms, int i, size_t s, size_t e) {
  lua_State *L = ms->L;
  if (i >= ms->level) {
    if (i != 0)
      PAT_ERROR(ms, "invalid capture index %%%d", i + 1);
    lua_pushlstring(L, ms->src + s, e - s);
    return;
  }
  if (ms->cap[i].len == TM_PAT_CAP_UNFINISHED)
    PAT_ERROR(ms, "unfinished capture");
  if (ms->cap[i].len == TM_PAT_CAP_POSITION)
    lua_pushinteger(L, (lua_Integer)ms->cap[i].start + 1);
  else
    lua_pushlstring(L, ms->src + ms->cap[i].start, (size_t)ms->cap[i].len);
}

int tm_pat_push_captures(tm_pat *ms, size_t start, size_t end, int whole) {
  int i, n = (ms->level == 0 && whole) ? 1 : ms->level;
  if (!lua_checkstack(ms->L, n))
    PAT_ERROR(ms, "stack overflow (too many captures)");
  for (i = 0; i < n; i++) {
    /* the string pushed before may have run a finalizer (a GC step) that
    ** moved or closed the subject: the binding finds it again */
    if (i > 0 && ms->refresh != NULL) ms->refresh(ms);
    push_one(ms, i, start, end);
  }
  return n;
}

int tm_pat_push_find(tm_pat *ms, size_t init, int find) {
  size_t b, e;
  if (!tm_pat_find(ms, init, &b, &e)) {
    luaL_pushfail(ms->L);
    return 1;
  }
  if (find) {
    lua_pushinteger(ms->L, (lua_Integer)b + 1);
    lua_pushinteger(ms->L, (lua_Integer)e);
  }
  return 2 * find + tm_pat_push_captures(ms, b, e, !find);
}

/* A replacement string: '%' followed by a digit stands for a capture
** (%0 the whole match), "%%" for '%'; anything else after '%' raises. */
static void add_string_repl(tm_pat *ms, luaL_Buffer *b, size_t s, size_t e,
                            int ridx) {
  lua_State *L = ms->L;
  size_t l;
  const char *r = lua_tolstring(L, ridx, &l), *re = r + l, *p;
  while ((p = memchr(r, PCHAR_ESC, (size_t)(re - r))) != NULL) {
    int d;
    luaL_addlstring(b, r, (size_t)(p - r));
    d = (p + 1 < re) ? uchar(p[1]) : 0;
    if (d == PCHAR_ESC)
      luaL_addchar(b, PCHAR_ESC);
    else if (d == '0') {
      luaL_prepbuffsize(b, e - s);  /* may run a finalizer: see above */
      if (ms->refresh != NULL) ms->refresh(ms);
      luaL_addlstring(b, ms->src + s, e - s);
    }
    else if (isdigit(d)) {
      if (ms->refresh != NULL) ms->refresh(ms);
      push_one(ms, d - '1', s, e);
      luaL_addvalue(b);  /* a string, or a position as an integer */
    }
    else
      PAT_ERROR(ms, "invalid use of '%c' in replacement string", PCHAR_ESC);
    r = p + 2;
  }
  luaL_addlstring(b, r, (size_t)(re - r));
}

int tm_pat_add_repl(tm_pat *ms, luaL_Buffer *b, size_t start, size_t end,
                    int ridx) {
  lua_State *L = ms->L;
  switch (lua_type(L, ridx)) {
    case LUA_TFUNCTION: {
      int n;
      lua_pushvalue(L, ridx);
      n = tm_pat_push_captures(ms, start, end, 1);
      pat_leave(ms);  /* Lua code may raise: refresh comes after it */
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      push_one(ms, 0, start, end);
      pat_leave(ms);  /* __index may run Lua code */
      lua_gettable(L, ridx);
      break;
    default:  /* a string or a number */
      add_string_repl(ms, b, start, end, ridx);
      return 1;
  }
  if (ms->refresh != NULL)
    ms->refresh(ms);
  if (!lua_toboolean(L, -1)) {  /* nil or false: keep the original */
    lua_pop(L, 1);
    luaL_addlstring(b, ms->src + start, end - start);
    return 0;
  }
  if (!lua_isstring(L, -1))
    return PAT_ERROR(ms, "invalid replacement value (a %s)",
                      luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}
/* }====== */
