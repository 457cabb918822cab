/*
** oneliner.c -- the -n / -p loops of the tome command, at awk speed.
**
** The chunk is compiled once, wrapped as a function whose variables
** line, NR, FNR, FILE, F and NF are upvalues shared with --begin and
** --end (lua_upvaluejoin), so the loop sets them with lua_setupvalue and
** the chunk reads them as fast as locals.  Only what the chunk uses is
** made per record: no Lua string for a chunk that never reads 'line',
** no field table for one that never reads F, and when F is only ever
** indexed by literal numbers or names (F[10], F.total) one table is
** reused and only those fields are made.  Each FILE is read through one
** input function into one buffer (records never copied), and output
** goes through stdout's buffer, without the flush per call that Lua's
** print does (the loop's own print replaces it while it runs).
**
** The variables stay reachable as globals from functions defined
** elsewhere (-e, -l): while the loop runs, _G gets a metatable whose
** __index / __newindex forward those six names to the loop (when _G
** has no metatable of its own); afterwards they are plain globals.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"

#include "csv.h"
#include "oneliner.h"
#include "pattern.h"
#include "progress.h"
#include "scan.h"
#include "source.h"

/* the loop's variables, in the order of the holder's upvalues */
enum { V_LINE = 1, V_NR, V_FNR, V_FILE, V_F, V_NF, V_LAST = V_NF };
static const char *const ol_names[] = {
  NULL, "line", "NR", "FNR", "FILE", "F", "NF"
};
#define USES(v) (1u << (v))

/* The holder: a function that names the six variables, so that the
** chunks can share its upvalues; the loop reads and writes them there. */
static const char ol_holder_src[] =
  "local line, NR, FNR, FILE, F, NF "
  "return function() return line, NR, FNR, FILE, F, NF end";
/* What goes before a chunk's text (on its first line: the line numbers
** of errors stay those of the text), and after it. */
static const char ol_pre[] =
  "local line, NR, FNR, FILE, F, NF; return function(...) ";
static const char ol_post[] = "\nend";

#define OL_BUFSIZE  ((size_t)256 << 10)  /* read size; grows for long records */
#define OL_OUTSIZE  ((size_t)64 << 10)   /* in-place output, per write */
#define OL_MAXKEYS  32                   /* literal F keys kept sparse */
#define OL_REGKEY   "tome.oneliner"      /* the running loop's state */
#define OL_NPAT     4                    /* patterns kept compiled */

enum { RS_BYTE, RS_STRING, RS_PARA, RS_CSV };
enum { FS_BLANKS, FS_PLAIN, FS_PATTERN, FS_CSV, FS_JSON };

/* the user values of the state userdata */
enum { UV_NAMES = 1, UV_AUX, UV_WRITER, UV_SAVED, UV_HOLDER, UV_PATS,
       UV_COUNT = UV_PATS };

/* stack slots of tm_ol_run */
enum { S_OPTS = 1, S_PROG, S_STATE, S_HOLDER, S_CHUNK, S_BEGIN, S_END,
       S_FTAB };

/* A literal key of F found in the chunk's text: F[idx] or F.name. */
typedef struct ol_key {
  lua_Integer idx;       /* 1-based column; 0 for a name */
  const char *name;      /* points into the chunk's text */
  size_t namelen;
  lua_Integer col;       /* the column the name has in this file, or 0 */
} ol_key;

typedef struct ol_span {
  size_t start, len;     /* in the record */
  size_t rawstart, rawlen;
  int copy;              /* CSV: unquote the raw bytes */
} ol_span;

/* A pattern the string methods compiled (its string is anchored in the
** state's UV_PATS table, so the pointer stays its own). */
typedef struct ol_patslot {
  const char *p;
  size_t lp;
  int anchorable;
  tm_pat ms;
} ol_patslot;

/* Where a literal of the rewrite's pattern occurs next in the buffer:
** searched from 'from' to the end of the bytes read when 'fills' was
** current; hit is NULL when it does not occur there. */
typedef struct ol_gseekc {
  const char *lit, *from, *hit;
  size_t n;
  unsigned fills;
} ol_gseekc;

typedef struct ol_state {
  const tm_ol_opts *o;
  int closed;
  /* the input */
  int fd, isstdin, isreg, eof;
  tm_reader *rd;         /* compressed files and streams, else NULL */
  char *buf;
  size_t cap, beg, end, scan;
  tm_csv_scan csv;
  int strict;            /* an unterminated CSV quote is an error */
  int err;               /* errno of a failed read */
  /* record separator */
  int rskind;
  char *rs;
  size_t rslen;
  /* the current record */
  const char *rec, *sep;
  size_t reclen, seplen;
  int inrecord;
  lua_Integer nr, fnr, lineno, lines;
  const char *file;
  /* fields */
  int fskind;
  char *fs;
  size_t fslen;
  tm_pat pat;
  int sparse, nkeys;
  ol_key keys[OL_MAXKEYS];
  lua_Integer maxcol;    /* sparse: the fields worth splitting out */
  ol_span *spans;
  size_t nspans;
  char *scratch;
  size_t scratchcap;
  /* what the chunks use (USES bits) */
  unsigned uses, enduses;
  int expr, line_dirty;
  /* output */
  int inplace;           /* a file is being rewritten: output to obuf */
  char *obuf;
  size_t olen;
  /* progress */
  tm_progress progress;
  uint64_t done, reported;
  int gproxy;            /* _G's metatable is ours */
  /* the prefilter: records without this literal cannot do anything */
  char filter[TM_PAT_PREFIX_MAX];
  size_t filterlen;
  /* compiled patterns of the string methods, by pattern string */
  ol_patslot pats[OL_NPAT];
  int patnext;
  int strmeta;           /* the string metatable's __index is ours */
  /* the rewrite in C: the chunk is line = line:gsub(PAT, REPL) */
  int gsub;              /* PAT and REPL passed ol_gsub_safe */
  int gsubon;            /* and this file's line:gsub is still ours */
  int gsublast;          /* the last record went through ol_gsub_record */
  int gcaps;             /* captures of PAT */
  tm_pat gpat;
  const char *grepl;     /* REPL (anchored in the prog table) */
  size_t lrepl;
  char *gbuf;            /* the record rewritten, then its separator */
  size_t gcap, glen, gline;
  unsigned fills;        /* ol_fill calls: the buffer moved or grew */
  ol_gseekc gseek[2];    /* the pattern's literal searches (ol_gseek) */
} ol_state;


/* {====== compiling ====== */

/* Load the text as the body of a function with the six upvalues; push
** that function.  With allowexpr, a text that is an expression becomes
** "return text" (*expr = 1).  The text alone is compiled first so that
** a syntax error reads as it would without the wrapper. */
static int ol_load(lua_State *L, const char *text, const char *name,
                   int allowexpr, int *expr) {
  luaL_Buffer b;
  int status;
  *expr = 0;
  if (allowexpr) {
    lua_pushfstring(L, "return %s", text);
    status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), name);
    lua_pop(L, 2);
    *expr = status == LUA_OK;
  }
  if (!*expr) {
    status = luaL_loadbuffer(L, text, strlen(text), name);
    if (status != LUA_OK)
      return status;
    lua_pop(L, 1);
  }
  luaL_buffinit(L, &b);
  luaL_addstring(&b, ol_pre);
  if (*expr)
    luaL_addstring(&b, "return ");
  luaL_addstring(&b, text);
  luaL_addstring(&b, ol_post);
  luaL_pushresult(&b);
  status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), name);
  lua_remove(L, -2);
  if (status == LUA_OK)
    status = lua_pcall(L, 0, 1, 0);
  return status;
}

/* Join the upvalues of the function on top that name a loop variable
** with the holder's (at hidx); returns which ones it uses. */
static unsigned ol_join(lua_State *L, int hidx) {
  unsigned uses = 0;
  int f = lua_gettop(L), i, v;
  for (i = 1;; i++) {
    const char *up = lua_getupvalue(L, f, i);
    if (up == NULL)
      break;
    lua_pop(L, 1);
    for (v = V_LINE; v <= V_LAST; v++)
      if (strcmp(up, ol_names[v]) == 0) {
        lua_upvaluejoin(L, f, i, hidx, v);
        uses |= USES(v);
      }
  }
  return uses;
}

/* Load one optional chunk into prog[field], joined to the holder. */
static int ol_loadinto(lua_State *L, int prog, const char *text,
                       const char *name, const char *field, int allowexpr) {
  int status, expr;
  char key[32];
  if (text == NULL)
    return LUA_OK;
  status = ol_load(L, text, name, allowexpr, &expr);
  if (status != LUA_OK)
    return status;
  lua_getfield(L, prog, "holder");
  lua_insert(L, -2);
  lua_pushinteger(L, (lua_Integer)ol_join(L, lua_gettop(L) - 1));
  snprintf(key, sizeof key, "%s_uses", field);
  lua_setfield(L, prog, key);
  lua_setfield(L, prog, field);
  lua_pop(L, 1);                         /* the holder */
  if (expr) {
    lua_pushboolean(L, 1);
    lua_setfield(L, prog, "expr");
  }
  return LUA_OK;
}

static size_t ol_filter_of(lua_State *L, const char *text, int expr,
                           char *lit);
static void ol_gsub_of(lua_State *L, const char *text, int prog);

int tm_ol_compile(lua_State *L, const tm_ol_opts *o) {
  int prog, status;
  lua_newtable(L);
  prog = lua_gettop(L);
  status = luaL_loadbuffer(L, ol_holder_src, sizeof ol_holder_src - 1,
                           "=(tome)");
  if (status == LUA_OK)
    status = lua_pcall(L, 0, 1, 0);
  if (status != LUA_OK)
    goto fail;
  lua_setfield(L, prog, "holder");
  status = ol_loadinto(L, prog, o->chunk, "=(command line)", "chunk",
                       !o->print);
  if (status == LUA_OK) {
    char lit[TM_PAT_PREFIX_MAX];
    size_t n;
    lua_getfield(L, prog, "expr");
    n = ol_filter_of(L, o->chunk, lua_toboolean(L, -1), lit);
    lua_pop(L, 1);
    if (n > 0) {
      lua_pushlstring(L, lit, n);
      lua_setfield(L, prog, "filter");
    }
    if (o->print)
      ol_gsub_of(L, o->chunk, prog);
  }
  if (status == LUA_OK)
    status = ol_loadinto(L, prog, o->begin, "=(--begin)", "begin", 0);
  if (status == LUA_OK)
    status = ol_loadinto(L, prog, o->end, "=(--end)", "end", 0);
  if (status == LUA_OK)
    return LUA_OK;
fail:
  lua_remove(L, prog);
  return status;
}
/* }====== */


/* {====== which fields the chunks read ====== */

static int ol_isname(int c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* The level of a long bracket at p ("[==[" gives 2), or -1. */
static int ol_longbracket(const char *p) {
  int level = 0;
  if (*p != '[')
    return -1;
  for (p++; *p == '='; p++)
    level++;
  return *p == '[' ? level : -1;
}

/* Skip a long string or comment whose bracket of 'level' starts at p. */
static const char *ol_skiplong(const char *p, int level) {
  p += level + 2;
  for (; *p; p++) {
    int k = 0;
    if (*p != ']')
      continue;
    while (p[1 + k] == '=') k++;
    if (k == level && p[1 + k] == ']')
      return p + k + 2;
  }
  return p;
}

static const char *ol_skipstring(const char *p) {
  char q = *p++;
  for (; *p && *p != q; p++)
    if (*p == '\\' && p[1] != '\0')
      p++;
  return *p ? p + 1 : p;
}

static const char *ol_skipspace(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

static int ol_addkey(ol_state *s, lua_Integer idx, const char *name,
                     size_t len) {
  int i;
  for (i = 0; i < s->nkeys; i++)
    if (s->keys[i].idx == idx && s->keys[i].namelen == len &&
        (len == 0 || memcmp(s->keys[i].name, name, len) == 0))
      return 1;
  if (s->nkeys == OL_MAXKEYS)
    return 0;
  s->keys[s->nkeys].idx = idx;
  s->keys[s->nkeys].name = name;
  s->keys[s->nkeys].namelen = len;
  s->keys[s->nkeys].col = 0;
  s->nkeys++;
  return 1;
}

/* F at p (just after the name) is read as F[123] or F.name: add the key
** and return 1; anything else (F alone, #F, F[i]) returns 0. */
static int ol_fkey(ol_state *s, const char *p) {
  p = ol_skipspace(p);
  if (p[0] == '.' && p[1] != '.') {
    const char *n = ol_skipspace(p + 1), *e = n;
    if (!(ol_isname((unsigned char)*n) && !(*n >= '0' && *n <= '9')))
      return 0;
    while (ol_isname((unsigned char)*e)) e++;
    return ol_addkey(s, 0, n, (size_t)(e - n));
  }
  if (p[0] == '[') {
    lua_Integer v = 0;
    const char *d = ol_skipspace(p + 1), *e = d;
    while (*e >= '0' && *e <= '9' && v < 1000000)
      v = v * 10 + (*e++ - '0');
    if (e == d || v == 0 || *ol_skipspace(e) != ']')
      return 0;
    return ol_addkey(s, v, NULL, 0);
  }
  return 0;
}

/*
** Is F only ever read as F[number] or F.name in this text?  A light
** lexer: strings and comments are skipped, names after '.' or ':' are
** fields, not the variable.  A wrong "no" only costs speed (F is then
** a fresh table of all the fields).
*/
static int ol_sparse_ok(ol_state *s, const char *src) {
  const char *p = src;
  int prev = 0, prev2 = 0;               /* the last two tokens' ends */
  if (src == NULL)
    return 1;
  while (*p) {
    int lvl;
    if (*p == '-' && p[1] == '-') {      /* comment */
      p += 2;
      if ((lvl = ol_longbracket(p)) >= 0)
        p = ol_skiplong(p, lvl);
      else
        while (*p && *p != '\n') p++;
      continue;
    }
    if (*p == '"' || *p == '\'') {
      p = ol_skipstring(p);
      prev2 = prev; prev = '"';
      continue;
    }
    if ((lvl = ol_longbracket(p)) >= 0) {
      p = ol_skiplong(p, lvl);
      prev2 = prev; prev = '"';
      continue;
    }
    if (ol_isname((unsigned char)*p)) {
      const char *b = p;
      while (ol_isname((unsigned char)*p)) p++;
      if (p - b == 1 && *b == 'F' && !(prev == '.' && prev2 != '.') &&
          prev != ':' && !ol_fkey(s, p))
        return 0;
      prev2 = prev; prev = 'a';
      continue;
    }
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      prev2 = prev;
      prev = (unsigned char)*p;
    }
    p++;
  }
  return 1;
}

/*
** The prefilter.  A chunk that is a search of line for a literal
**   line:find "text"      line:find("text", 1, true)      line:match "p"
** or a statement that does something only when such a search succeeds
**   if line:find "text" then ... end
** does nothing on a record without the literal (or without the literal
** every match of the pattern contains, pattern.c's tm_pat_required).
** Those records are then skipped in bulk, as grep skips lines: counted,
** printed unchanged by -p, never made into strings.
*/

/* Match a word at p (not followed by a name character). */
static const char *ol_word(const char *p, const char *w) {
  size_t n = strlen(w);
  if (strncmp(p, w, n) != 0 || ol_isname((unsigned char)p[n]))
    return NULL;
  return p + n;
}

/* A short string literal on one line at p: its text between the quotes
** (*esc: it has escapes, its value is for Lua to say: ol_filter_of).
** '\z' and an escaped line break are not taken. */
static const char *ol_strlit(const char *p, const char **lit, size_t *len,
                             int *esc) {
  char q = *p;
  const char *e;
  if (q != '"' && q != '\'')
    return NULL;
  *esc = 0;
  for (e = p + 1; *e && *e != q; e++) {
    if (*e == '\n')
      return NULL;
    if (*e == '\\') {
      if (e[1] == '\0' || e[1] == '\n' || e[1] == '\r' || e[1] == 'z')
        return NULL;
      *esc = 1;
      e++;  /* the escaped character is never the closing quote */
    }
  }
  if (*e != q)
    return NULL;
  *lit = p + 1;
  *len = (size_t)(e - p - 1);
  return e + 1;
}

/* line:find(...) / line:match(...) at p, as described above: returns
** the end of the call, with the literal (or pattern) and whether it is
** searched plainly. */
static const char *ol_search(const char *p, const char **lit, size_t *len,
                             int *plain, int *esc) {
  int find;
  p = ol_skipspace(p);
  if ((p = ol_word(p, "line")) == NULL)
    return NULL;
  p = ol_skipspace(p);
  if (*p++ != ':')
    return NULL;
  p = ol_skipspace(p);
  if (ol_word(p, "find") != NULL) {
    find = 1;
    p += 4;
  } else if (ol_word(p, "match") != NULL) {
    find = 0;
    p += 5;
  } else
    return NULL;
  p = ol_skipspace(p);
  *plain = 0;
  if (*p != '(')
    return ol_strlit(p, lit, len, esc);
  if ((p = ol_strlit(ol_skipspace(p + 1), lit, len, esc)) == NULL)
    return NULL;
  p = ol_skipspace(p);
  if (find && *p == ',') {               /* , 1 [, true] */
    p = ol_skipspace(p + 1);
    if (*p++ != '1')
      return NULL;
    p = ol_skipspace(p);
    if (*p == ',') {
      const char *t = ol_word(ol_skipspace(p + 1), "true");
      if (t == NULL)
        return NULL;
      *plain = 1;
      p = ol_skipspace(t);
    }
  }
  return *p == ')' ? p + 1 : NULL;
}

/* Is the text from p only blanks (and semicolons)? */
static int ol_rest_empty(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';')
    p++;
  return *p == '\0';
}

/* The literal every record must hold for the chunk to do anything, into
** lit (TM_PAT_PREFIX_MAX bytes); returns its length, 0 for none. */
static size_t ol_filter_of(lua_State *L, const char *text, int expr,
                           char *lit) {
  const char *p = ol_skipspace(text), *pat, *e;
  size_t lp, n;
  int plain, ok, esc;
  if (!expr) {                           /* if SEARCH then BODY end */
    const char *t, *body;
    if ((p = ol_word(p, "if")) == NULL)
      return 0;
    if ((p = ol_search(p, &pat, &lp, &plain, &esc)) == NULL)
      return 0;
    if ((t = ol_word(ol_skipspace(p), "then")) == NULL)
      return 0;
    body = t;
    e = body + strlen(body);
    while (e > body && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
                        e[-1] == '\r' || e[-1] == ';'))
      e--;
    if (e - body < 3 || strncmp(e - 3, "end", 3) != 0 ||
        ol_isname((unsigned char)e[-4]))
      return 0;
    /* the body between then and the last end must be a block on its
    ** own: then that end closes this if, and there is no else */
    ok = luaL_loadbuffer(L, body, (size_t)(e - 3 - body), "=body") == LUA_OK;
    lua_pop(L, 1);
    if (!ok)
      return 0;
  } else {
    if ((e = ol_search(p, &pat, &lp, &plain, &esc)) == NULL ||
        !ol_rest_empty(e))
      return 0;
  }
  if (esc) {  /* the literal's value, as Lua reads it ("\" 5%d%d ") */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return ");
    luaL_addlstring(&b, pat - 1, lp + 2);  /* with its quotes */
    luaL_pushresult(&b);
    ok = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1),
                         "=literal") == LUA_OK &&
         lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING;
    if (!ok) {
      lua_pop(L, 2);
      return 0;
    }
    pat = lua_tolstring(L, -1, &lp);
  }
  if (!plain && !tm_pat_isplain(pat, lp))
    n = tm_pat_required(pat, lp, lit, TM_PAT_PREFIX_MAX);
  else if (lp > 0 && lp <= TM_PAT_PREFIX_MAX) {
    memcpy(lit, pat, lp);
    n = lp;
  } else
    n = 0;
  if (esc)
    lua_pop(L, 2);  /* the value and the text it was read from */
  return n;
}
/* }====== */


/* {====== the rewrite in C: recognising it ====== */

/*
** A -p chunk that is exactly
**   line = line:gsub("PAT", "REPL")
** (string literals) rewrites each record in C, without a Lua string or a
** call per record: the same engine (pattern.c) finds the same matches
** gsub finds, the replacement is expanded as string.gsub expands it, and
** the result goes straight to the output.  It is taken only where the
** outcome cannot differ from running the chunk:
**  - PAT and REPL cannot raise (ol_gsub_safe, ol_repl_safe): a pattern
**    that is malformed, has back-references, too many captures, or is
**    long enough to be "too complex", or a replacement with an invalid
**    '%', goes the general way, which raises where string.gsub raises;
**  - line:gsub is still the loop's own (--begin may have replaced it)
**    and no hook is set (Ctrl-C sets one: those records run the chunk);
**  - --end does not read F or NF (the general way makes them per record
**    for it).  line is set at the end of each file to the last record's
**    rewrite, as the chunk would have left it.
** A match cannot span two records: the engine sees one record at a
** time.  Only the search for the pattern's literal looks further, over
** the bytes read (ol_gseek), and takes a hit only inside the record.
*/

/* "line = line:gsub(LIT, LIT)" at text: the values of the literals into
** prog.gsub_pat and prog.gsub_repl. */
static void ol_gsub_of(lua_State *L, const char *text, int prog) {
  const char *p = ol_skipspace(text), *pat, *repl, *e1, *e2;
  size_t lp, lr;
  int esc;
  if ((p = ol_word(p, "line")) == NULL)
    return;
  p = ol_skipspace(p);
  if (*p++ != '=' || *p == '=')
    return;
  if ((p = ol_word(ol_skipspace(p), "line")) == NULL)
    return;
  p = ol_skipspace(p);
  if (*p++ != ':')
    return;
  if ((p = ol_word(ol_skipspace(p), "gsub")) == NULL)
    return;
  p = ol_skipspace(p);
  if (*p++ != '(')
    return;
  if ((e1 = ol_strlit(ol_skipspace(p), &pat, &lp, &esc)) == NULL)
    return;
  p = ol_skipspace(e1);
  if (*p++ != ',')
    return;
  if ((e2 = ol_strlit(ol_skipspace(p), &repl, &lr, &esc)) == NULL)
    return;
  p = ol_skipspace(e2);
  if (*p++ != ')' || !ol_rest_empty(p))
    return;
  /* the literals' values, as Lua reads them */
  lua_pushfstring(L, "return %s, %s", lua_pushlstring(L, pat - 1, lp + 2),
                  lua_pushlstring(L, repl - 1, lr + 2));
  lua_remove(L, -2);
  lua_remove(L, -2);
  if (luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1),
                      "=literal") != LUA_OK) {
    lua_pop(L, 2);
    return;
  }
  lua_remove(L, -2);
  if (lua_pcall(L, 0, 2, 0) != LUA_OK) {
    lua_pop(L, 1);
    return;
  }
  lua_setfield(L, prog, "gsub_repl");
  lua_setfield(L, prog, "gsub_pat");
}

/* The end of a character class whose body starts at p (after '['), as
** the string library finds it; NULL where it would raise. */
static const char *ol_classend(const char *p, const char *e) {
  if (p < e && *p == '^')
    p++;
  for (;;) {                             /* the first ']' is a member */
    if (p >= e)
      return NULL;
    if (*p++ == '%') {
      if (p >= e)
        return NULL;
      p++;
    }
    if (p < e && *p == ']')
      return p + 1;
  }
}

/* Can a match of pat never raise, whatever the subject?  Then *ncap is
** its number of captures.  Every '%' escapes something, classes are
** closed, %b has its two characters, %f its class, no back-reference,
** captures balanced and at most 32, and short enough that the
** recursion stays far below "pattern too complex" (each level takes
** at least one byte of the pattern). */
static int ol_gsub_safe(const char *p, size_t lp, int *ncap) {
  const char *e = p + lp;
  int open = 0, level = 0;
  if (lp > 64)
    return 0;
  if (p < e && *p == '^')
    p++;
  while (p < e) {
    char c = *p++;
    if (c == '(') {
      if (level == TM_PAT_MAXCAPTURES)
        return 0;
      level++;
      if (p < e && *p == ')')            /* a position capture */
        p++;
      else
        open++;
    } else if (c == ')') {
      if (open-- == 0)
        return 0;
    } else if (c == '%') {
      if (p >= e)
        return 0;
      c = *p++;
      if (c == 'b') {
        if (e - p < 2)
          return 0;
        p += 2;
      } else if (c == 'f') {
        if (p >= e || *p != '[' || (p = ol_classend(p + 1, e)) == NULL)
          return 0;
      } else if (c >= '0' && c <= '9')
        return 0;
    } else if (c == '[') {
      if ((p = ol_classend(p, e)) == NULL)
        return 0;
    }
  }
  *ncap = level;
  return open == 0;
}

/* Can the replacement never raise: '%' only before '%' or a digit that
** names a capture (%1 is the whole match when there is none)? */
static int ol_repl_safe(const char *r, size_t lr, int ncap) {
  size_t i;
  for (i = 0; i < lr; i++) {
    int c;
    if (r[i] != '%')
      continue;
    if (++i == lr)
      return 0;
    c = (unsigned char)r[i];
    if (c == '%' || c == '0')
      continue;
    if (c < '1' || c > '9' || (c - '1' >= ncap && !(c == '1' && ncap == 0)))
      return 0;
  }
  return 1;
}

/* }====== */


/* {====== output ====== */

static void ol_flushout(lua_State *L, ol_state *s) {
  if (s->olen == 0)
    return;
  lua_getiuservalue(L, S_STATE, UV_WRITER);
  lua_getfield(L, -1, "write");
  lua_insert(L, -2);
  lua_pushlstring(L, s->obuf, s->olen);
  s->olen = 0;
  lua_call(L, 2, 0);
}

/* Write n bytes of output: to standard output, or while a file is
** rewritten in place, to its writer (through obuf). */
static void ol_write(lua_State *L, ol_state *s, const char *p, size_t n) {
  if (!s->inplace) {
    fwrite_unlocked(p, 1, n, stdout);
    return;
  }
  if (s->olen + n > OL_OUTSIZE)
    ol_flushout(L, s);
  if (n >= OL_OUTSIZE) {
    lua_getiuservalue(L, S_STATE, UV_WRITER);
    lua_getfield(L, -1, "write");
    lua_insert(L, -2);
    lua_pushlstring(L, p, n);
    lua_call(L, 2, 0);
    return;
  }
  memcpy(s->obuf + s->olen, p, n);
  s->olen += n;
}

/* The state, from a C function's first upvalue. */
static ol_state *ol_upstate(lua_State *L) {
  return (ol_state *)lua_touserdata(L, lua_upvalueindex(1));
}

/* ol_write from a function that runs on another stack (print): the
** writer is found through the state userdata, its upvalue. */
static void ol_writeup(lua_State *L, ol_state *s, const char *p, size_t n) {
  if (!s->inplace) {
    fwrite_unlocked(p, 1, n, stdout);
    return;
  }
  if (s->olen + n > OL_OUTSIZE || n >= OL_OUTSIZE) {
    lua_getiuservalue(L, lua_upvalueindex(1), UV_WRITER);
    lua_getfield(L, -1, "write");
    lua_insert(L, -2);
    if (s->olen > 0) {
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_pushlstring(L, s->obuf, s->olen);
      s->olen = 0;
      lua_call(L, 2, 0);
    }
    if (n >= OL_OUTSIZE) {
      lua_pushlstring(L, p, n);
      lua_call(L, 2, 0);
      return;
    }
    lua_pop(L, 2);
  }
  memcpy(s->obuf + s->olen, p, n);
  s->olen += n;
}

/* print, as the base library's, without a flush per call. */
static int ol_print(lua_State *L) {
  ol_state *s = ol_upstate(L);
  int n = lua_gettop(L), i;
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *p = luaL_tolstring(L, i, &len);
    if (i > 1)
      ol_writeup(L, s, "\t", 1);
    ol_writeup(L, s, p, len);
    lua_pop(L, 1);
  }
  ol_writeup(L, s, "\n", 1);
  return 0;
}

/* io.write while files are rewritten in place: into the file being
** rewritten, else the original io.write. */
static int ol_iowrite(lua_State *L) {
  ol_state *s = ol_upstate(L);
  int n = lua_gettop(L), i;
  if (!s->inplace) {
    lua_getiuservalue(L, lua_upvalueindex(1), UV_SAVED);
    lua_getfield(L, -1, "iowrite");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
  }
  for (i = 1; i <= n; i++) {
    char num[64];
    size_t len;
    const char *p;
    if (lua_type(L, i) == LUA_TNUMBER) {
      len = (size_t)(lua_isinteger(L, i)
        ? snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, i))
        : snprintf(num, sizeof num, LUA_NUMBER_FMT, lua_tonumber(L, i)));
      p = num;
    } else
      p = luaL_checklstring(L, i, &len);
    ol_writeup(L, s, p, len);
  }
  lua_getiuservalue(L, lua_upvalueindex(1), UV_WRITER);
  return 1;
}
/* }====== */


/* {====== globals that reach the loop ====== */

static int ol_varof(lua_State *L, int idx) {
  size_t len;
  const char *k;
  int v;
  if (lua_type(L, idx) != LUA_TSTRING)
    return 0;
  k = lua_tolstring(L, idx, &len);
  for (v = V_LINE; v <= V_LAST; v++)
    if (strcmp(k, ol_names[v]) == 0 && strlen(ol_names[v]) == len)
      return v;
  return 0;
}

static void ol_pushfields(lua_State *L, ol_state *s, int sidx);

/* _G.__index: the loop's variables; what the chunk does not use is
** made when asked for (line, F, NF of the current record). */
static int ol_gindex(lua_State *L) {
  ol_state *s = (ol_state *)lua_touserdata(L, lua_upvalueindex(1));
  int v = ol_varof(L, 2);
  if (v == 0 || s->closed)
    return 0;
  if (v == V_NR || v == V_FNR) {
    lua_pushinteger(L, v == V_NR ? s->nr : s->fnr);
    return 1;
  }
  if (s->inrecord && !(s->uses & USES(v))) {
    if (v == V_LINE && !s->line_dirty) {
      lua_pushlstring(L, s->rec, s->reclen);
      return 1;
    }
    if (v == V_F || v == V_NF) {
      ol_pushfields(L, s, lua_upvalueindex(1));
      if (v == V_NF)
        lua_pushinteger(L, (lua_Integer)luaL_len(L, -1));
      return 1;
    }
  }
  lua_getiuservalue(L, lua_upvalueindex(1), UV_HOLDER);
  lua_getupvalue(L, -1, v);
  return 1;
}

static int ol_gnewindex(lua_State *L) {
  ol_state *s = (ol_state *)lua_touserdata(L, lua_upvalueindex(1));
  int v = ol_varof(L, 2);
  if (v == 0 || s->closed) {
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
  }
  lua_getiuservalue(L, lua_upvalueindex(1), UV_HOLDER);
  lua_pushvalue(L, 3);
  lua_setupvalue(L, -2, v);
  if (v == V_LINE)
    s->line_dirty = 1;
  return 0;
}

/* next() over _G and then the loop's variables that have a value
** (pairs(_G) lists them, as it listed them when they were globals). */
static int ol_gnext(lua_State *L) {
  int v = ol_varof(L, 2), raw = 0;
  lua_settop(L, 2);
  if (v != 0) {              /* one of ours, unless _G holds it itself */
    lua_pushvalue(L, 2);
    raw = lua_rawget(L, 1) != LUA_TNIL;
    lua_pop(L, 1);
  }
  if (v == 0 || raw) {
    if (lua_next(L, 1))
      return 2;
    v = 0;
  }
  for (v++; v <= V_LAST; v++) {
    lua_settop(L, 0);
    lua_pushglobaltable(L);
    lua_pushstring(L, ol_names[v]);
    lua_pushvalue(L, lua_upvalueindex(1));  /* __index's upvalue */
    lua_pushcclosure(L, ol_gindex, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    if (!lua_isnil(L, -1))
      return 2;
  }
  return 0;
}

static int ol_gpairs(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, ol_gnext, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* Give _G the forwarding metatable, when it has none. */
static void ol_proxy_on(lua_State *L, ol_state *s) {
  lua_pushglobaltable(L);
  if (lua_getmetatable(L, -1)) {
    lua_pop(L, 2);
    return;
  }
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, S_STATE);
  lua_pushcclosure(L, ol_gindex, 1);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, S_STATE);
  lua_pushcclosure(L, ol_gnewindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, S_STATE);
  lua_pushcclosure(L, ol_gpairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  s->gproxy = 1;
}

/* The end: plain globals again, holding the last values. */
static void ol_proxy_off(lua_State *L, ol_state *s, int sidx) {
  int v;
  if (!s->gproxy)
    return;
  s->gproxy = 0;
  lua_pushglobaltable(L);
  lua_pushnil(L);
  lua_setmetatable(L, -2);
  lua_getiuservalue(L, sidx, UV_HOLDER);
  for (v = V_LINE; v <= V_LAST; v++) {
    lua_getupvalue(L, -1, v);
    lua_setfield(L, -3, ol_names[v]);
  }
  lua_pop(L, 2);
}
/* }====== */


/* {====== string methods ====== */

/*
** While the loop runs, line:find, line:match and line:gsub (methods of
** every string) use pattern.c, which gives exactly what the string
** library gives (its spec and fuzz target compare them) and keeps each
** pattern's analysis -- its literal prefix or required literal, found
** with memchr/memmem -- across calls: the per-line searches of a
** one-liner then skip most bytes instead of trying every position.
** Plain searches are memmem.  The originals come back when the loop
** ends.
*/

/* The compiled pattern for the string at pidx, pointed at src. */
static tm_pat *ol_pattern(lua_State *L, int pidx, const char *src,
                          size_t srclen, int anchorable) {
  ol_state *s = (ol_state *)lua_touserdata(L, lua_upvalueindex(1));
  size_t lp;
  const char *p = lua_tolstring(L, pidx, &lp);
  ol_patslot *slot;
  int i;
  for (i = 0; i < OL_NPAT; i++) {
    slot = &s->pats[i];
    if (slot->p == p && slot->lp == lp && slot->anchorable == anchorable) {
      tm_pat_subject(&slot->ms, src, srclen);
      slot->ms.L = L;
      return &slot->ms;
    }
  }
  i = s->patnext;
  s->patnext = (i + 1) % OL_NPAT;
  slot = &s->pats[i];
  lua_getiuservalue(L, lua_upvalueindex(1), UV_PATS);
  lua_pushvalue(L, pidx);                /* keep the pattern alive */
  lua_rawseti(L, -2, i + 1);
  lua_pop(L, 1);
  slot->p = p;
  slot->lp = lp;
  slot->anchorable = anchorable;
  tm_pat_init(&slot->ms, L, src, srclen, p, lp, anchorable);
  return &slot->ms;
}

/* string.find (find = 1) and string.match (find = 0). */
static int ol_sfind_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = tm_pat_posrelat(luaL_optinteger(L, 3, 1), ls);
  tm_pat *ms;
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || tm_pat_isplain(p, lp))) {
    const char *q = (const char *)memmem(s + init, ls - init, p, lp);
    if (q == NULL) {
      luaL_pushfail(L);
      return 1;
    }
    lua_pushinteger(L, (lua_Integer)(q - s) + 1);
    lua_pushinteger(L, (lua_Integer)(q - s + (ptrdiff_t)lp));
    return 2;
  }
  ms = ol_pattern(L, 2, s, ls, 1);
  return tm_pat_push_find(ms, init, find);
}

static int ol_sfind(lua_State *L) {
  return ol_sfind_aux(L, 1);
}

static int ol_smatch(lua_State *L) {
  return ol_sfind_aux(L, 0);
}

/* string.gsub: the original string comes back when nothing changed. */
static int ol_sgsub(lua_State *L) {
  size_t srcl, pos = 0, last = TM_PAT_NONE, b, e;
  const char *src = luaL_checklstring(L, 1, &srcl);
  int tr = lua_type(L, 3), changed = 0;
  lua_Integer maxn, n = 0;
  luaL_Buffer buf;
  tm_pat *ms;
  luaL_checkstring(L, 2);
  maxn = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                   tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  luaL_buffinit(L, &buf);
  ms = ol_pattern(L, 2, src, srcl, 1);
  while (n < maxn && tm_pat_next(ms, pos, last, &b, &e)) {
    luaL_addlstring(&buf, src + pos, b - pos);
    n++;
    changed |= tm_pat_add_repl(ms, &buf, b, e, 3);
    pos = last = e;
    if (ms->anchor)
      break;
  }
  if (!changed)
    lua_pushvalue(L, 1);
  else {
    luaL_addlstring(&buf, src + pos, srcl - pos);
    luaL_pushresult(&buf);
  }
  lua_pushinteger(L, n);
  return 2;
}

/* Point the string metatable's __index at a copy of the string table
** with these three, when it is the string table. */
static void ol_strings_on(lua_State *L, ol_state *s) {
  static const luaL_Reg fns[] = {
    {"find", ol_sfind}, {"match", ol_smatch}, {"gsub", ol_sgsub}, {NULL, NULL}
  };
  int mt;
  lua_pushliteral(L, "");
  if (!lua_getmetatable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  mt = lua_gettop(L);
  lua_getfield(L, mt, "__index");
  lua_getglobal(L, "string");
  if (!lua_istable(L, -1) || !lua_rawequal(L, -1, -2)) {
    lua_settop(L, mt - 2);
    return;
  }
  lua_getiuservalue(L, S_STATE, UV_SAVED);  /* to put it back */
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "strindex");
  lua_pop(L, 1);
  lua_newtable(L);                       /* the copy */
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushvalue(L, S_STATE);
  luaL_setfuncs(L, fns, 1);
  lua_createtable(L, 0, 1);              /* later additions to string */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_setfield(L, mt, "__index");
  lua_settop(L, mt - 2);
  lua_createtable(L, OL_NPAT, 0);
  lua_setiuservalue(L, S_STATE, UV_PATS);
  s->strmeta = 1;
}

/* Put the string table back (sidx: the state userdata). */
static void ol_strings_off(lua_State *L, ol_state *s, int sidx) {
  if (!s->strmeta)
    return;
  s->strmeta = 0;
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_getiuservalue(L, sidx, UV_SAVED);
    lua_getfield(L, -1, "strindex");
    lua_setfield(L, -3, "__index");
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}
/* }====== */


/* {====== the state: set-up and clean-up ====== */

static void ol_closefile(ol_state *s) {
  if (s->rd != NULL)
    tm_reader_close(s->rd);              /* closes fd unless stdin */
  else if (s->fd >= 0 && !s->isstdin)
    close(s->fd);
  s->rd = NULL;
  s->fd = -1;
}

/* __close and __gc: free everything, put print, io.write and _G back. */
static int ol_state_close(lua_State *L) {
  ol_state *s = (ol_state *)lua_touserdata(L, 1);
  if (s->closed)
    return 0;
  ol_closefile(s);
  if (lua_getiuservalue(L, 1, UV_SAVED) == LUA_TTABLE) {
    if (lua_getfield(L, -1, "print") != LUA_TNIL)
      lua_setglobal(L, "print");
    else
      lua_pop(L, 1);
    if (lua_getfield(L, -1, "iowrite") != LUA_TNIL) {
      lua_getglobal(L, "io");
      if (lua_istable(L, -1)) {
        lua_insert(L, -2);
        lua_setfield(L, -2, "write");
      } else
        lua_pop(L, 1);
      lua_pop(L, 1);
    } else
      lua_pop(L, 1);
  }
  lua_pop(L, 1);
  ol_proxy_off(L, s, 1);
  ol_strings_off(L, s, 1);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, OL_REGKEY);
  s->closed = 1;
  if (s->progress.on)
    tm_progress_end(&s->progress);
  free(s->buf);
  free(s->spans);
  free(s->scratch);
  free(s->gbuf);
  s->gbuf = NULL;
  free(s->obuf);
  free(s->rs);
  free(s->fs);
  s->buf = s->scratch = s->obuf = s->rs = s->fs = NULL;
  s->spans = NULL;
  return 0;
}

static void *ol_alloc(lua_State *L, size_t n) {
  void *p = malloc(n > 0 ? n : 1);
  if (p == NULL)
    luaL_error(L, "not enough memory");
  return p;
}

/* A separator as the shell gives it: "\t", "\n", "\r", "\0" and "\\"
** are escapes, as awk reads -F.  Returns a malloc'ed copy. */
static char *ol_unescape(lua_State *L, const char *src, size_t n,
                         size_t *len) {
  char *out = (char *)ol_alloc(L, n + 1);
  size_t i, k = 0;
  for (i = 0; i < n; i++) {
    char c = src[i];
    if (c == '\\' && i + 1 < n) {
      switch (src[i + 1]) {
        case 't': c = '\t'; i++; break;
        case 'n': c = '\n'; i++; break;
        case 'r': c = '\r'; i++; break;
        case '0': c = '\0'; i++; break;
        case '\\': c = '\\'; i++; break;
        default: break;
      }
    }
    out[k++] = c;
  }
  out[k] = '\0';
  *len = k;
  return out;
}

/* -F: which splitting, and its separator. */
static void ol_setup_fs(lua_State *L, ol_state *s) {
  const char *fs = s->o->fs;
  if (fs == NULL || strcmp(fs, " ") == 0) {
    s->fskind = FS_BLANKS;
    return;
  }
  if (strcmp(fs, "csv") == 0 || strcmp(fs, "tsv") == 0) {
    s->fskind = FS_CSV;
    s->fs = ol_unescape(L, fs[0] == 'c' ? "," : "\t", 1, &s->fslen);
    return;
  }
  if (strcmp(fs, "json") == 0) {
    s->fskind = FS_JSON;
    return;
  }
  s->fs = ol_unescape(L, fs, strlen(fs), &s->fslen);
  /* one character is always itself (awk's rule); longer text with a
  ** pattern special is a Lua pattern */
  s->fskind = (s->fslen > 1 && !tm_pat_isplain(s->fs, s->fslen))
              ? FS_PATTERN : FS_PLAIN;
}

static void ol_setup_rs(lua_State *L, ol_state *s) {
  const tm_ol_opts *o = s->o;
  if (s->fskind == FS_CSV) {
    if (o->rs != NULL)
      luaL_error(L, "-F %s reads records by RFC 4180: --rs and -0 do not "
                 "apply", o->fs);
    s->rskind = RS_CSV;
    s->rs = ol_unescape(L, "\n", 1, &s->rslen);
    return;
  }
  if (o->rs == NULL)
    s->rs = ol_unescape(L, "\n", 1, &s->rslen);
  else
    s->rs = ol_unescape(L, o->rs, o->rslen, &s->rslen);
  s->rskind = s->rslen == 0 ? RS_PARA : s->rslen == 1 ? RS_BYTE : RS_STRING;
}

/* cjson.decode for -F json, kept as the state's aux value. */
static void ol_setup_json(lua_State *L, ol_state *s) {
  if (s->fskind != FS_JSON)
    return;
  if (s->o->header)
    luaL_error(L, "--header does not apply to -F json");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)
    luaL_error(L, "-F json needs lua-cjson: %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "decode");
  lua_remove(L, -2);
  lua_setiuservalue(L, S_STATE, UV_AUX);
}

/* Our print instead of the original while the loop runs; io.write too
** when files are rewritten in place. */
static void ol_setup_output(lua_State *L, ol_state *s) {
  lua_newtable(L);                       /* the saved originals */
  lua_getglobal(L, "print");
  lua_getfield(L, LUA_REGISTRYINDEX, TM_OL_PRINT);
  if (!lua_isnil(L, -1) && lua_rawequal(L, -1, -2)) {
    lua_setfield(L, -3, "print");
    lua_pop(L, 1);
    lua_pushvalue(L, S_STATE);
    lua_pushcclosure(L, ol_print, 1);
    lua_setglobal(L, "print");
  } else
    lua_pop(L, 2);
  if (s->o->inplace != NULL) {
    s->obuf = (char *)ol_alloc(L, OL_OUTSIZE);
    if (lua_getglobal(L, "io") == LUA_TTABLE) {
      lua_getfield(L, -1, "write");
      lua_setfield(L, -3, "iowrite");
      lua_pushvalue(L, S_STATE);
      lua_pushcclosure(L, ol_iowrite, 1);
      lua_setfield(L, -2, "write");
    }
    lua_pop(L, 1);
  }
  lua_setiuservalue(L, S_STATE, UV_SAVED);
}

static ol_state *ol_newstate(lua_State *L, const tm_ol_opts *o) {
  ol_state *s = (ol_state *)lua_newuserdatauv(L, sizeof *s, UV_COUNT);
  memset(s, 0, sizeof *s);
  s->o = o;
  s->fd = -1;
  s->closed = 1;                         /* nothing to undo yet */
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, ol_state_close);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__close");
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  s->closed = 0;
  return s;
}
/* }====== */


/* {====== reading records ====== */

/* Trigger the hook a Ctrl-C set (see host.c): any call does. */
static int ol_noop(lua_State *L) {
  (void)L;
  return 0;
}

/*
** The one input function: up to n bytes of the current file into p, as
** read(2).  Every FILE is read through it: plain regular files with
** read(2) itself, compressed files (gzip, zstd, xz, bzip2, known by
** their magic bytes) and streams (pipes, terminals) through source.h's
** streaming reader, which decompresses as it goes, without a temporary
** file, and hands out what a pipe has as soon as it arrives.
*/
static ssize_t ol_read(ol_state *s, char *p, size_t n) {
  ptrdiff_t got;
  if (s->rd == NULL)
    return read(s->fd, p, n);
  got = tm_reader_read(s->rd, p, n);
  if (got < 0)
    errno = tm_reader_errno(s->rd);
  return (ssize_t)got;
}

/* Make room and read more input; 0 on a read error (s->eof is set and
** errno tells). */
static int ol_fill(lua_State *L, ol_state *s) {
  size_t avail = s->end - s->beg;
  ssize_t got;
  s->fills++;                            /* the bytes move, or more come */
  if (s->beg > 0) {
    memmove(s->buf, s->buf + s->beg, avail);
    s->beg = 0;
    s->end = avail;
  }
  if (s->end == s->cap) {                /* a record longer than buf */
    size_t ncap = s->cap * 2;
    char *nb = (char *)realloc(s->buf, ncap);
    if (ncap < s->cap || nb == NULL)
      luaL_error(L, "not enough memory for a record of %zu bytes", s->cap);
    s->buf = nb;
    s->cap = ncap;
  }
  /* whoever waits for these lines (tail -f | tome -n) sees the output
  ** so far before the loop blocks */
  if (!s->isreg)
    fflush(stdout);
  for (;;) {
    got = ol_read(s, s->buf + s->end, s->cap - s->end);
    if (got >= 0 || errno != EINTR)
      break;
    lua_pushcfunction(L, ol_noop);
    lua_call(L, 0, 0);
  }
  if (got <= 0) {
    s->eof = 1;
    return got == 0;
  }
  s->end += (size_t)got;
  s->done += (uint64_t)got;
  if (s->progress.on && s->done - s->reported >= TM_PROGRESS_STEP) {
    s->reported = s->done;
    tm_progress_update(&s->progress,
                       s->rd != NULL ? tm_reader_consumed(s->rd) : s->done);
  }
  return 1;
}

/* Take the record [0, n) of the unread bytes, then seplen bytes of
** separator. */
static int ol_take(ol_state *s, size_t n, size_t seplen) {
  s->rec = s->buf + s->beg;
  s->reclen = n;
  s->sep = s->rec + n;
  s->seplen = seplen;
  s->beg += n + seplen;
  s->scan = 0;
  return 1;
}

/* Paragraph mode (--rs ''): records are separated by blank lines;
** newlines before the first record and after the last are no record. */
static int ol_next_para(ol_state *s, int *more) {
  char *b = s->buf + s->beg;
  size_t avail = s->end - s->beg, e;
  const char *q;
  if (s->scan == 0) {
    size_t k = 0;
    while (k < avail && b[k] == '\n') k++;
    if (k == avail && !s->eof) {
      *more = 1;
      return 0;
    }
    s->beg += k;
    s->lines += (lua_Integer)k;
    b += k;
    avail -= k;
  }
  q = s->scan + 1 < avail
      ? (const char *)memmem(b + s->scan, avail - s->scan, "\n\n", 2) : NULL;
  if (q != NULL) {
    for (e = (size_t)(q - b) + 2; e < avail && b[e] == '\n'; e++) {}
    if (e < avail || s->eof)
      return ol_take(s, (size_t)(q - b), e - (size_t)(q - b));
    s->scan = (size_t)(q - b);
    *more = 1;
    return 0;
  }
  s->scan = avail > 1 ? avail - 1 : 0;
  if (!s->eof) {
    *more = 1;
    return 0;
  }
  if (avail == 0)
    return 0;
  return ol_take(s, avail - (b[avail - 1] == '\n'), b[avail - 1] == '\n');
}

static const char *ol_filename(const ol_state *s);

/* A CSV record: ends at LF or CRLF outside quotes. */
static int ol_next_csv(lua_State *L, ol_state *s, int *more) {
  const char *b = s->buf + s->beg;
  size_t avail = s->end - s->beg, reclen, eol, at;
  if (tm_csv_record(b, avail, s->fs[0], &s->csv, &reclen, &eol)) {
    tm_csv_begin(&s->csv);
    return ol_take(s, reclen, eol);
  }
  if (!s->eof) {
    *more = 1;
    return 0;
  }
  if (avail == 0)
    return 0;
  if (s->strict && tm_csv_open_quote(&s->csv, &at))
    luaL_error(L, "%s:%I: unterminated quoted field (its quote is byte %I "
               "of the record)", ol_filename(s), s->lines + 1,
               (lua_Integer)at + 1);
  tm_csv_begin(&s->csv);
  return ol_take(s, avail, 0);
}

/* The next record of the current file into s->rec: 1, 0 at its end, or
** -1 when it cannot be read (s->err says why). */
static int ol_next(lua_State *L, ol_state *s) {
  for (;;) {
    char *b = s->buf + s->beg;
    size_t avail = s->end - s->beg;
    int more = 0, rc;
    const char *q = NULL;
    switch (s->rskind) {
      case RS_BYTE:
        q = (const char *)memchr(b + s->scan, s->rs[0], avail - s->scan);
        if (q != NULL)
          return ol_take(s, (size_t)(q - b), 1);
        s->scan = avail;
        break;
      case RS_STRING:
        if (avail >= s->scan + s->rslen)
          q = (const char *)memmem(b + s->scan, avail - s->scan, s->rs,
                                   s->rslen);
        if (q != NULL)
          return ol_take(s, (size_t)(q - b), s->rslen);
        if (avail >= s->rslen)
          s->scan = avail - s->rslen + 1;
        break;
      case RS_PARA:
        rc = ol_next_para(s, &more);
        if (rc || !more)
          return rc;
        goto fill;
      default:
        rc = ol_next_csv(L, s, &more);
        if (rc || !more)
          return rc;
        goto fill;
    }
    if (s->eof) {
      if (avail == 0)
        return 0;
      return ol_take(s, avail, 0);
    }
  fill:
    if (!ol_fill(L, s)) {
      s->err = errno;
      return -1;
    }
  }
}
/* }====== */


/* {====== fields ====== */

static void ol_needspans(lua_State *L, ol_state *s, size_t n) {
  if (n <= s->nspans)
    return;
  n = n < 64 ? 64 : n * 2;
  ol_span *ns = (ol_span *)realloc(s->spans, n * sizeof *ns);
  if (ns == NULL)
    luaL_error(L, "not enough memory");
  s->spans = ns;
  s->nspans = n;
}

static int ol_isblank(char c) {
  return c == ' ' || c == '\t' || c == '\n';
}

/* Add a field span (when k < max); returns k + 1. */
static size_t ol_span_add(lua_State *L, ol_state *s, size_t k, size_t max,
                          size_t start, size_t len) {
  if (k < max) {
    ol_needspans(L, s, k + 1);
    s->spans[k].start = s->spans[k].rawstart = start;
    s->spans[k].len = s->spans[k].rawlen = len;
    s->spans[k].copy = 0;
  }
  return k + 1;
}

/* Split the record p[0..n) into s->spans: at most max fields kept;
** with all, counts every field (the return value), else stops at max. */
static size_t ol_split(lua_State *L, ol_state *s, const char *p, size_t n,
                       size_t max, int all) {
  size_t k = 0, pos = 0;
  if (n == 0)
    return 0;                            /* an empty record: no field */
  switch (s->fskind) {
    case FS_BLANKS:
      while (all || k < max) {
        size_t b;
        while (pos < n && ol_isblank(p[pos])) pos++;
        if (pos == n)
          break;
        for (b = pos; pos < n && !ol_isblank(p[pos]); pos++) {}
        k = ol_span_add(L, s, k, max, b, pos - b);
      }
      return k;
    case FS_PLAIN:
      while (all || k < max) {
        const char *q = s->fslen == 1
          ? (const char *)memchr(p + pos, s->fs[0], n - pos)
          : (const char *)memmem(p + pos, n - pos, s->fs, s->fslen);
        size_t e = q != NULL ? (size_t)(q - p) : n;
        k = ol_span_add(L, s, k, max, pos, e - pos);
        if (q == NULL)
          break;
        pos = e + s->fslen;
      }
      return k;
    case FS_PATTERN: {
      size_t from = 0, last = TM_PAT_NONE, b, e;
      tm_pat_subject(&s->pat, p, n);
      s->pat.L = L;
      while ((all || k < max) && pos <= n &&
             tm_pat_next(&s->pat, pos, last, &b, &e)) {
        if (e == b) {                    /* empty matches split nothing */
          pos = b + 1;
          continue;
        }
        k = ol_span_add(L, s, k, max, from, b - from);
        from = pos = last = e;
      }
      if (all || k < max)
        k = ol_span_add(L, s, k, max, from, n - from);
      return k;
    }
    default: {                           /* FS_CSV */
      tm_csv_field f;
      while ((all || k < max) && tm_csv_next(p, n, s->fs[0], &pos, &f)) {
        if (k < max) {
          ol_needspans(L, s, k + 1);
          s->spans[k].start = f.start;
          s->spans[k].len = f.len;
          s->spans[k].rawstart = f.rawstart;
          s->spans[k].rawlen = f.rawlen;
          s->spans[k].copy = f.copy;
        }
        k++;
      }
      return k;
    }
  }
}

/* Push field k (0-based) of the record, as split into s->spans. */
static void ol_pushspan(lua_State *L, ol_state *s, const char *p, size_t k) {
  const ol_span *sp = &s->spans[k];
  if (sp->copy) {
    size_t len;
    if (s->scratchcap < sp->rawlen) {
      char *nb = (char *)realloc(s->scratch, sp->rawlen);
      if (nb == NULL)
        luaL_error(L, "not enough memory");
      s->scratch = nb;
      s->scratchcap = sp->rawlen;
    }
    len = tm_csv_unquote(p + sp->rawstart, sp->rawlen, s->fs[0], s->scratch);
    lua_pushlstring(L, s->scratch, len);
  } else
    lua_pushlstring(L, p + sp->start, sp->len);
}

/* A fresh table of all the fields of the current record (and their
** names, with --header); sidx is the state userdata's stack index. */
static void ol_pushfields(lua_State *L, ol_state *s, int sidx) {
  size_t nf, k;
  const char *p = s->rec;
  if (s->fskind == FS_JSON) {
    lua_getiuservalue(L, sidx, UV_AUX);
    lua_pushlstring(L, s->rec, s->reclen);
    lua_call(L, 1, 1);
    return;
  }
  nf = ol_split(L, s, p, s->reclen, SIZE_MAX, 1);
  lua_createtable(L, nf > INT_MAX ? INT_MAX : (int)nf,
                  s->o->header ? (int)(nf > 64 ? 64 : nf) : 0);
  for (k = 0; k < nf; k++) {
    ol_pushspan(L, s, p, k);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  if (!s->o->header)
    return;
  if (lua_getiuservalue(L, sidx, UV_NAMES) == LUA_TTABLE) {
    for (k = 0; k < nf; k++) {
      if (lua_rawgeti(L, -1, (lua_Integer)k + 1) == LUA_TSTRING) {
        lua_rawgeti(L, -3, (lua_Integer)k + 1);
        lua_rawset(L, -4);
      } else
        lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

/* The sparse F: only the literal keys of the chunk, in one table. */
static lua_Integer ol_sparsefields(lua_State *L, ol_state *s) {
  const char *p = s->rec;
  int all = (s->uses & USES(V_NF)) != 0, i;
  size_t nf = ol_split(L, s, p, s->reclen, (size_t)s->maxcol, all);
  size_t kept = nf < (size_t)s->maxcol ? nf : (size_t)s->maxcol;
  for (i = 0; i < s->nkeys; i++) {
    const ol_key *key = &s->keys[i];
    lua_Integer col = key->idx > 0 ? key->idx : key->col;
    if (col > 0 && (size_t)col <= kept)
      ol_pushspan(L, s, p, (size_t)col - 1);
    else
      lua_pushnil(L);
    if (key->idx > 0)
      lua_rawseti(L, S_FTAB, key->idx);
    else {
      lua_pushlstring(L, key->name, key->namelen);
      lua_insert(L, -2);
      lua_rawset(L, S_FTAB);
    }
  }
  return (lua_Integer)nf;
}

/* Set F and NF for the current record. */
static void ol_fields(lua_State *L, ol_state *s) {
  lua_Integer nf;
  if (s->sparse) {
    nf = ol_sparsefields(L, s);
    lua_pushvalue(L, S_FTAB);            /* the same table throughout */
    lua_setupvalue(L, S_HOLDER, V_F);
  } else {
    ol_pushfields(L, s, S_STATE);
    nf = (s->uses & USES(V_NF)) ? (lua_Integer)luaL_len(L, -1) : 0;
    lua_setupvalue(L, S_HOLDER, V_F);
  }
  if (s->uses & USES(V_NF)) {
    lua_pushinteger(L, nf);
    lua_setupvalue(L, S_HOLDER, V_NF);
  }
}

/* --header: the names of this file's columns, from its first record;
** the literal names of the chunk get their columns (the last of equal
** names wins, as in Python's DictReader). */
static void ol_header(lua_State *L, ol_state *s) {
  size_t nf = ol_split(L, s, s->rec, s->reclen, SIZE_MAX, 1), k;
  int i;
  lua_createtable(L, (int)(nf > INT_MAX ? INT_MAX : nf), 0);
  for (k = 0; k < nf; k++) {
    ol_pushspan(L, s, s->rec, k);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  s->maxcol = 0;
  for (i = 0; i < s->nkeys; i++) {
    ol_key *key = &s->keys[i];
    lua_Integer c = key->idx;
    if (c == 0) {
      key->col = 0;
      for (k = nf; k > 0 && key->col == 0; k--) {
        size_t len;
        const char *nm;
        lua_rawgeti(L, -1, (lua_Integer)k);
        nm = lua_tolstring(L, -1, &len);
        if (len == key->namelen && memcmp(nm, key->name, len) == 0)
          key->col = (lua_Integer)k;
        lua_pop(L, 1);
      }
      c = key->col;
    }
    if (c > s->maxcol)
      s->maxcol = c;
  }
  lua_setiuservalue(L, S_STATE, UV_NAMES);
}
/* }====== */


/* {====== the rewrite in C: running it ====== */

/* The pattern's literal searches (pattern.h's seek): over all the bytes
** read, once, rather than over each record again; a hit counts only
** when it lies in the record. */
static size_t ol_gseek(tm_pat *ms, size_t pos, const char *lit, size_t n) {
  ol_state *s = (ol_state *)ms->ud;
  ol_gseekc *c = &s->gseek[lit == ms->req];
  const char *at = ms->src + pos, *end = s->buf + s->end;
  if (c->lit != lit || c->n != n || c->fills != s->fills || at < c->from ||
      (c->hit != NULL && at > c->hit)) {
    c->lit = lit;
    c->n = n;
    c->fills = s->fills;
    c->from = at;
    c->hit = tm_find(at, (size_t)(end - at), lit, n);
  }
  if (c->hit == NULL || (size_t)(c->hit - ms->src) + n > ms->srclen)
    return TM_PAT_NONE;
  return (size_t)(c->hit - ms->src);
}

/* Append n bytes to the rewritten record. */
static void ol_gput(lua_State *L, ol_state *s, const char *p, size_t n) {
  if (n > s->gcap - s->glen) {
    size_t ncap = s->gcap * 2 > s->glen + n ? s->gcap * 2 : s->glen + n;
    char *nb = (char *)realloc(s->gbuf, ncap);
    if (nb == NULL || ncap < s->glen)
      luaL_error(L, "not enough memory");
    s->gbuf = nb;
    s->gcap = ncap;
  }
  memcpy(s->gbuf + s->glen, p, n);
  s->glen += n;
}

/* REPL for the match [b, e) of src, as string.gsub expands it. */
static void ol_grepl(lua_State *L, ol_state *s, const char *src, size_t b,
                     size_t e) {
  const char *r = s->grepl, *end = r + s->lrepl, *q;
  tm_pat *ms = &s->gpat;
  while ((q = (const char *)memchr(r, '%', (size_t)(end - r))) != NULL) {
    int c = (unsigned char)q[1], l;
    ol_gput(L, s, r, (size_t)(q - r));
    r = q + 2;
    if (c == '%')
      ol_gput(L, s, "%", 1);
    else if (c == '0' || (l = c - '1') >= ms->level)
      ol_gput(L, s, src + b, e - b);     /* %0; %1 without captures */
    else if (ms->cap[l].len == TM_PAT_CAP_POSITION) {
      char num[32];
      int k = snprintf(num, sizeof num, LUA_INTEGER_FMT,
                       (LUA_INTEGER)ms->cap[l].start + 1);
      ol_gput(L, s, num, (size_t)k);
    } else
      ol_gput(L, s, src + ms->cap[l].start, (size_t)ms->cap[l].len);
  }
  ol_gput(L, s, r, (size_t)(end - r));
}

/* One record the C way: string.gsub's loop (see pattern.h), then the
** record's separator, as ol_printline writes them. */
static void ol_gsub_record(lua_State *L, ol_state *s) {
  tm_pat *ms = &s->gpat;
  const char *src = s->rec;
  size_t n = s->reclen, pos = 0, last = TM_PAT_NONE, b, e;
  s->nr++;
  s->fnr++;
  s->glen = 0;
  ms->L = L;
  tm_pat_subject(ms, src, n);
  while (tm_pat_next(ms, pos, last, &b, &e)) {
    ol_gput(L, s, src + pos, b - pos);
    ol_grepl(L, s, src, b, e);
    pos = last = e;
    if (ms->anchor)
      break;
  }
  ol_gput(L, s, src + pos, n - pos);
  s->gline = s->glen;
  ol_gput(L, s, s->sep, s->seplen);
  ol_write(L, s, s->gbuf, s->glen);
  s->gsublast = 1;
}

/* Does the chunk's line:gsub still reach ol_sgsub?  (At the start of
** each file: --begin has run.) */
static int ol_gsub_ours(lua_State *L, ol_state *s) {
  int top = lua_gettop(L), ours = 0;
  if (!s->gsub || !s->strmeta)
    return 0;
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1) &&
      lua_getfield(L, -1, "__index") == LUA_TTABLE) {
    lua_getfield(L, -1, "gsub");
    if (lua_tocfunction(L, -1) == ol_sgsub &&
        lua_getupvalue(L, -1, 1) != NULL)
      ours = lua_touserdata(L, -1) == (void *)s;
  }
  lua_settop(L, top);
  return ours;
}

/* After a file: line holds the last record's rewrite, as the chunk
** leaves it. */
static void ol_gsub_done(lua_State *L, ol_state *s) {
  if (!s->gsublast)
    return;
  s->gsublast = 0;
  lua_pushlstring(L, s->gbuf, s->gline);
  lua_setupvalue(L, S_HOLDER, V_LINE);
}

/* Take the C way when the chunk was recognised and it is safe. */
static void ol_setup_gsub(lua_State *L, ol_state *s) {
  size_t lp, lr;
  const char *pat, *repl;
  int ncap = 0;
  lua_getfield(L, S_PROG, "gsub_pat");
  lua_getfield(L, S_PROG, "gsub_repl");
  pat = lua_tolstring(L, -2, &lp);
  repl = lua_tolstring(L, -1, &lr);
  if (pat != NULL && repl != NULL && s->o->print && s->strmeta &&
      !(s->enduses & (USES(V_F) | USES(V_NF))) &&
      ol_gsub_safe(pat, lp, &ncap) && ol_repl_safe(repl, lr, ncap)) {
    s->gsub = 1;
    s->gcaps = ncap;
    s->grepl = repl;     /* both stay in the prog table (S_PROG) */
    s->lrepl = lr;
    tm_pat_init(&s->gpat, L, "", 0, pat, lp, 1);
    s->gpat.seek = ol_gseek;
    s->gpat.ud = s;
    s->gcap = 4096;
    s->gbuf = (char *)ol_alloc(L, s->gcap);
  }
  lua_pop(L, 2);
}
/* }====== */


/* {====== the loop ====== */

static lua_Integer ol_countnl(const char *p, size_t n) {
  lua_Integer c = 0;
  const char *e = p + n;
  while ((p = (const char *)memchr(p, '\n', (size_t)(e - p))) != NULL) {
    c++;
    p++;
  }
  return c;
}

/* The record's separator for output: the one it had, or for the last
** record without one, nothing (-p) or the usual one (an expression). */
static void ol_outsep(lua_State *L, ol_state *s, int always) {
  if (s->seplen > 0)
    ol_write(L, s, s->sep, s->seplen);
  else if (always)
    ol_write(L, s, s->rskind == RS_PARA ? "\n" : s->rs,
             s->rskind == RS_PARA ? 1 : s->rslen);
}

/* -p: print line as the chunk left it (nil or false: nothing). */
static void ol_printline(lua_State *L, ol_state *s) {
  if ((s->uses & USES(V_LINE)) || s->line_dirty) {
    size_t len;
    const char *p;
    int t = lua_getupvalue(L, S_HOLDER, V_LINE) ? lua_type(L, -1) : LUA_TNIL;
    if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
      lua_pop(L, 1);
      return;
    }
    p = t == LUA_TSTRING ? lua_tolstring(L, -1, &len)
                         : luaL_tolstring(L, -1, &len);
    ol_write(L, s, p, len);
    lua_pop(L, t == LUA_TSTRING ? 1 : 2);
    if (s->line_dirty && !(s->uses & USES(V_LINE))) {
      lua_pushnil(L);
      lua_setupvalue(L, S_HOLDER, V_LINE);
      s->line_dirty = 0;
    }
  } else
    ol_write(L, s, s->rec, s->reclen);
  ol_outsep(L, s, 0);
}

/* One record: set the variables, run the chunk, print. */
static void ol_record(lua_State *L, ol_state *s) {
  unsigned uses = s->uses;
  s->nr++;
  s->fnr++;
  s->inrecord = 1;
  if (uses & USES(V_LINE)) {
    lua_pushlstring(L, s->rec, s->reclen);
    lua_setupvalue(L, S_HOLDER, V_LINE);
  }
  if (uses & USES(V_NR)) {
    lua_pushinteger(L, s->nr);
    lua_setupvalue(L, S_HOLDER, V_NR);
  }
  if (uses & USES(V_FNR)) {
    lua_pushinteger(L, s->fnr);
    lua_setupvalue(L, S_HOLDER, V_FNR);
  }
  if (uses & (USES(V_F) | USES(V_NF)))
    ol_fields(L, s);
  lua_pushvalue(L, S_CHUNK);
  if (s->expr) {
    int t;
    lua_call(L, 0, 1);
    t = lua_type(L, -1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER ||
        (t == LUA_TBOOLEAN && lua_toboolean(L, -1))) {
      ol_write(L, s, s->rec, s->reclen);
      ol_outsep(L, s, 1);
    }
    lua_pop(L, 1);
  } else
    lua_call(L, 0, 0);
  if (s->o->print)
    ol_printline(L, s);
  s->inrecord = 0;
}

static void ol_report(ol_state *s, const char *path, const char *what) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: %s", path, what);
  s->o->report(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* Is the regular file at fd compressed?  Its first bytes say, read where
** it stands without moving it. */
static int ol_compressed(int fd) {
  char magic[TM_SNIFF_MAX];
  off_t at = lseek(fd, 0, SEEK_CUR);
  ssize_t got = at < 0 ? -1 : pread(fd, magic, sizeof magic, at);
  return got > 0 && tm_format_sniff(magic, (size_t)got) > TM_FMT_PLAIN;
}

/* Open one file (or standard input) for reading; 0 when it cannot be
** (reported). */
static int ol_open(ol_state *s, const char *path) {
  struct stat st;
  int e;
  s->isstdin = strcmp(path, "-") == 0;
  s->rd = NULL;
  s->fd = s->isstdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (s->fd < 0) {
    ol_report(s, path, strerror(errno));
    return 0;
  }
  if (fstat(s->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ol_report(s, path, strerror(S_ISDIR(st.st_mode) ? EISDIR : errno));
    ol_closefile(s);
    return 0;
  }
  s->isreg = S_ISREG(st.st_mode);
  if (!s->isreg || ol_compressed(s->fd)) {
    e = tm_reader_fdopen(&s->rd, s->fd, !s->isstdin, path, 0);
    if (e != 0) {
      ol_report(s, path, strerror(e));
      ol_closefile(s);
      return 0;
    }
  }
  s->beg = s->end = s->scan = 0;
  s->eof = 0;
  tm_csv_begin(&s->csv);
  if (s->progress.on) {
    s->done = s->reported = 0;
    tm_progress_start(&s->progress, s->isreg ? (uint64_t)st.st_size : 0);
  }
  return 1;
}

/* --in-place: the writer that will replace the file. */
static int ol_inplace_begin(lua_State *L, ol_state *s, const char *path) {
  char msg[512];
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "tome");
  lua_getfield(L, -1, "output");
  lua_pushstring(L, path);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) {
    int n = snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1));
    s->o->report(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    lua_pop(L, 4);
    return 0;
  }
  lua_pop(L, 1);
  lua_setiuservalue(L, S_STATE, UV_WRITER);
  lua_pop(L, 2);
  s->olen = 0;
  s->inplace = 1;
  return 1;
}

/* Keep the original as path .. suffix: a hard link to what path names
** (through a symbolic link, as the writer writes through it), so that
** the file is never missing; a copy where links cannot be made.  An old
** backup is removed first; a link or file planted at bak meanwhile makes
** both fail (O_EXCL), and a copy never gets set-id bits. */
static int ol_backup(const char *path, const char *bak) {
  char buf[1 << 16];
  struct stat st;
  int in, out, ok = 1;
  ssize_t n;
  if (unlink(bak) != 0 && errno != ENOENT)
    return 0;
  if (linkat(AT_FDCWD, path, AT_FDCWD, bak, AT_SYMLINK_FOLLOW) == 0)
    return 1;
  if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  if (fstat(in, &st) != 0 ||
      (out = open(bak, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  st.st_mode & 0777)) < 0) {
    close(in);
    return 0;
  }
  while (ok && (n = read(in, buf, sizeof buf)) > 0)
    ok = write(out, buf, (size_t)n) == n;
  ok = ok && n == 0;
  close(in);
  return close(out) == 0 && ok;
}

/* The file could not be read to its end: leave it as it was. */
static void ol_inplace_abort(lua_State *L, ol_state *s) {
  s->inplace = 0;
  s->olen = 0;
  lua_getiuservalue(L, S_STATE, UV_WRITER);
  lua_getfield(L, -1, "abort");
  lua_insert(L, -2);
  lua_call(L, 1, 0);
  lua_pushnil(L);
  lua_setiuservalue(L, S_STATE, UV_WRITER);
}

/* The file is done: make the backup, then put the new text in place. */
static int ol_inplace_end(lua_State *L, ol_state *s, const char *path) {
  char msg[512];
  int ok;
  ol_flushout(L, s);
  s->inplace = 0;
  if (s->o->inplace[0] != '\0') {
    lua_pushfstring(L, "%s%s", path, s->o->inplace);
    ok = ol_backup(path, lua_tostring(L, -1));
    if (!ok) {
      int n = snprintf(msg, sizeof msg, "%s: cannot make the backup: %s",
                       lua_tostring(L, -1), strerror(errno));
      s->o->report(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
      lua_pop(L, 1);
      ol_inplace_abort(L, s);
      return 0;
    }
    lua_pop(L, 1);
  }
  lua_getiuservalue(L, S_STATE, UV_WRITER);
  lua_getfield(L, -1, "close");
  lua_insert(L, -2);
  lua_call(L, 1, 2);
  ok = lua_toboolean(L, -2);
  if (!ok) {
    int n = snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1));
    s->o->report(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  lua_setiuservalue(L, S_STATE, UV_WRITER);
  return ok;
}

/* n bytes of whole records at b (the unread bytes' start) that the
** prefilter passes over: counted, printed unchanged by -p. */
static void ol_skipped(lua_State *L, ol_state *s, const char *b, size_t n) {
  lua_Integer c = (lua_Integer)tm_count_byte(b, n, (unsigned char)s->rs[0]);
  s->nr += c;
  s->fnr += c;
  s->lines += s->rs[0] == '\n' ? c : ol_countnl(b, n);
  if (s->o->print)
    ol_write(L, s, b, n);
  s->beg += n;
  s->scan = 0;
}

/* Skip the records that lack the prefilter's literal (ol_filter_of).
** Returns 1 when the next record holds it, 0 at the end of the file, -1
** when the file cannot be read. */
static int ol_skip(lua_State *L, ol_state *s) {
  for (;;) {
    const char *b = s->buf + s->beg, *q = NULL, *ls;
    size_t avail = s->end - s->beg;
    if (avail >= s->filterlen)
      q = (const char *)memmem(b, avail, s->filter, s->filterlen);
    if (q != NULL) {
      ls = (const char *)memrchr(b, s->rs[0], (size_t)(q - b));
      ol_skipped(L, s, b, ls != NULL ? (size_t)(ls - b) + 1 : 0);
      return 1;
    }
    ls = avail > 0 ? (const char *)memrchr(b, s->rs[0], avail) : NULL;
    if (ls != NULL)
      ol_skipped(L, s, b, (size_t)(ls - b) + 1);
    if (s->eof) {
      avail = s->end - s->beg;
      if (avail > 0) {                   /* the last record, unended */
        if (s->o->print)
          ol_write(L, s, s->buf + s->beg, avail);
        s->nr++;
        s->fnr++;
        s->lines += ol_countnl(s->buf + s->beg, avail);
        s->beg = s->end;
      }
      return 0;
    }
    if (!ol_fill(L, s)) {
      s->err = errno;
      return -1;
    }
  }
}

/* The prefilter applies when the records are lines (or end with one
** byte) the literal does not hold, --end does not look at the last
** record, and line's methods are the loop's own. */
static void ol_setup_filter(lua_State *L, ol_state *s) {
  size_t n;
  const char *lit;
  lua_getfield(L, S_PROG, "filter");
  lit = lua_tolstring(L, -1, &n);
  if (lit != NULL && n <= sizeof s->filter && s->rskind == RS_BYTE &&
      memchr(lit, s->rs[0], n) == NULL && s->strmeta &&
      !(s->enduses & (USES(V_LINE) | USES(V_F) | USES(V_NF)))) {
    memcpy(s->filter, lit, n);
    s->filterlen = n;
  }
  lua_pop(L, 1);
}

/* The current file as errors name it. */
static const char *ol_filename(const ol_state *s) {
  return strcmp(s->file, "-") == 0 ? "stdin" : s->file;
}

/* Report a failed read of the current file ("path: reason"; the
** reader's message says where compressed data went wrong). */
static void ol_readerror(ol_state *s, int err) {
  const char *m = s->rd != NULL ? tm_reader_error(s->rd) : NULL;
  if (m != NULL && *m != '\0')
    s->o->report(m, strlen(m));
  else
    ol_report(s, s->file, strerror(err));
}

/* Every record of one file; 0 if it could not be read (reported). */
static int ol_file(lua_State *L, ol_state *s, const char *path) {
  int ok = 1, head = s->o->header, rc;
  s->file = path;
  s->fnr = 0;
  s->lines = 0;
  if (!ol_open(s, path))
    return 0;
  lua_pushstring(L, path);
  lua_setupvalue(L, S_HOLDER, V_FILE);
  s->gsubon = ol_gsub_ours(L, s);
  if (s->o->inplace != NULL && !ol_inplace_begin(L, s, path)) {
    ol_closefile(s);
    return 0;
  }
  for (;;) {
    if (s->filterlen > 0 && !head && (rc = ol_skip(L, s)) <= 0)
      break;
    if ((rc = ol_next(L, s)) <= 0)
      break;
    s->lineno = s->lines + 1;
    if (head) {                  /* --header: the first record names */
      head = 0;
      ol_header(L, s);
      if (s->o->print) {
        ol_write(L, s, s->rec, s->reclen);
        ol_outsep(L, s, 0);
      }
    } else if (s->gsubon && lua_gethookmask(L) == 0)
      ol_gsub_record(L, s);
    else {
      ol_record(L, s);
      s->gsublast = 0;
    }
    if (s->rskind == RS_BYTE && s->rs[0] == '\n')
      s->lines += 1;
    else
      s->lines += ol_countnl(s->rec, s->reclen) +
                  ol_countnl(s->sep, s->seplen);
  }
  ol_gsub_done(L, s);
  if (rc < 0) {
    ol_readerror(s, s->err);
    ok = 0;
  }
  ol_closefile(s);
  if (s->progress.on)
    tm_progress_end(&s->progress);
  if (s->o->inplace != NULL) {
    if (ok)
      ok = ol_inplace_end(L, s, path);
    else
      ol_inplace_abort(L, s);
  }
  return ok;
}

static void ol_runopt(lua_State *L, int idx) {
  if (!lua_isnil(L, idx)) {
    lua_pushvalue(L, idx);
    lua_call(L, 0, 0);
  }
}

/* Set up the state: separators, fields, output, the globals. */
static ol_state *ol_setup(lua_State *L, const tm_ol_opts *o) {
  ol_state *s;
  lua_Integer chunkuses, enduses;
  s = ol_newstate(L, o);
  lua_toclose(L, S_STATE);
  s->strict = 1;
  lua_getfield(L, S_PROG, "holder");              /* S_HOLDER */
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, S_STATE, UV_HOLDER);
  lua_getfield(L, S_PROG, "chunk");               /* S_CHUNK */
  lua_getfield(L, S_PROG, "begin");               /* S_BEGIN */
  lua_getfield(L, S_PROG, "end");                 /* S_END */
  lua_getfield(L, S_PROG, "chunk_uses");
  chunkuses = lua_tointeger(L, -1);
  lua_getfield(L, S_PROG, "end_uses");
  enduses = lua_tointeger(L, -1);
  lua_getfield(L, S_PROG, "expr");
  s->expr = lua_toboolean(L, -1);
  lua_pop(L, 3);
  s->uses = (unsigned)(chunkuses | enduses);
  s->enduses = (unsigned)enduses;
  ol_setup_fs(L, s);
  ol_setup_rs(L, s);
  ol_setup_json(L, s);
  if (s->fskind == FS_PATTERN) {
    tm_pat_init(&s->pat, L, "", 0, s->fs, s->fslen, 0);
  }
  /* F sparse: only literal keys in the chunk and --end */
  s->sparse = s->fskind != FS_JSON && (s->uses & USES(V_F)) &&
              ol_sparse_ok(s, o->chunk) && ol_sparse_ok(s, o->end) &&
              s->nkeys > 0;
  if (s->sparse) {
    int i;
    for (i = 0; i < s->nkeys; i++)
      if (s->keys[i].idx > s->maxcol)
        s->maxcol = s->keys[i].idx;
  }
  lua_createtable(L, 0, 0);                       /* S_FTAB */
  s->cap = OL_BUFSIZE;
  s->buf = (char *)ol_alloc(L, s->cap);
  if (o->progress)
    tm_progress_enable(&s->progress, 1);
  ol_setup_output(L, s);
  ol_proxy_on(L, s);
  ol_strings_on(L, s);
  ol_setup_filter(L, s);
  ol_setup_gsub(L, s);
  lua_pushvalue(L, S_STATE);
  lua_setfield(L, LUA_REGISTRYINDEX, OL_REGKEY);
  return s;
}

int tm_ol_run(lua_State *L) {
  const tm_ol_opts *o = (const tm_ol_opts *)lua_touserdata(L, S_OPTS);
  ol_state *s;
  lua_Integer bad = 0;
  int i;
  lua_settop(L, S_PROG);
  if (o->inplace != NULL) {
    if (o->nfiles == 0)
      luaL_error(L, "--in-place needs files to rewrite");
    for (i = 0; i < o->nfiles; i++)
      if (strcmp(o->files[i], "-") == 0)
        luaL_error(L, "--in-place cannot rewrite standard input");
  }
  s = ol_setup(L, o);
  lua_pushinteger(L, 0);
  lua_setupvalue(L, S_HOLDER, V_NR);
  lua_pushinteger(L, 0);
  lua_setupvalue(L, S_HOLDER, V_FNR);
  ol_runopt(L, S_BEGIN);
  if (o->nfiles == 0)
    bad += !ol_file(L, s, "-");
  for (i = 0; i < o->nfiles; i++)
    bad += !ol_file(L, s, o->files[i]);
  lua_pushinteger(L, s->nr);
  lua_setupvalue(L, S_HOLDER, V_NR);
  lua_pushinteger(L, s->fnr);
  lua_setupvalue(L, S_HOLDER, V_FNR);
  ol_runopt(L, S_END);
  fflush(stdout);
  lua_pushinteger(L, bad);                /* (S_STATE closes on return) */
  return 1;
}

int tm_ol_where(lua_State *L) {
  ol_state *s;
  if (lua_getfield(L, LUA_REGISTRYINDEX, OL_REGKEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return 0;
  }
  s = (ol_state *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (s->closed || !s->inrecord)
    return 0;
  if (s->rskind == RS_BYTE && s->rs[0] == '\0')
    lua_pushfstring(L, "%s: record %I: ", ol_filename(s), s->fnr);
  else
    lua_pushfstring(L, "%s:%I: ", ol_filename(s), s->lineno);
  return 1;
}
/* }====== */
