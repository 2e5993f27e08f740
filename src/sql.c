/*
 * SQL sanitizer and summarizer for PostgreSQL spans: see sql.h.
 *
 * Design: one small lexer (lex()) cuts the text into tokens the way PostgreSQL's scanner does
 * (scan.l), and three consumers walk the tokens once, left to right:
 *
 *  - otelp__sql_sanitize() copies every token verbatim except literals, which become `?`, and
 *    comments, which are dropped;
 *  - otelp__sql_summary() feeds the significant tokens to a small state machine that writes
 *    operations and their targets;
 *  - otelp__sql_comment_at() only looks at where the text ends.
 *
 * The sanitizer, which runs on every plain-text statement an application sends, does not call
 * lex() but has its own loop that cuts the same tokens with the same scanners, only faster
 * (see "Sanitizer" below); the unit tests and the fuzz target's differential check against the
 * former lex()-based sanitizer (tests/fuzz/sql-ref.c) hold it to the same results.
 *
 * The lexer is context free except for one bit, given by the caller: whether a `+` or `-`
 * directly followed by a digit is the sign of a number. It reads q[i..n) and never past n: a
 * quote, dollar quote or block comment that is not closed runs to the end of the text (and is
 * flagged `open`). Every scan moves forward; the only search, for the closing tag of a dollar
 * quote, compares at `$` bytes only and a failed comparison never spans another `$` (tags hold
 * no `$`), so the whole pass is linear whatever the input.
 *
 * Literals (replaced by `?`): '...' strings ('' inside), E'...' (backslash escapes), B'...',
 * X'...', N'...', U&'...', dollar-quoted strings ($$...$$, $tag$...$tag$), numbers (12, 1.5e-3,
 * .5, 0x1F, 0o17, 0b101, 1_000) with their sign when it is unary, and TRUE / FALSE. A sign is
 * unary unless the token before it ends an operand: an identifier, a quoted identifier, a
 * positional parameter, `)` or `]`; after a literal it is taken as part of the next number, as
 * the semantic conventions' test vectors want (`99+100` -> `??`). NULL is kept: it holds no
 * data. Typed literals keep their type (`DATE '2024-01-01'` -> `DATE ?`, `'1'::int` ->
 * `?::int`). Kept as is: identifiers (c3po is not a number), "quoted identifiers", positional
 * parameters ($1), operators and whitespace. Standard conforming strings are assumed (the
 * default since PostgreSQL 9.1): in '...' a backslash is an ordinary character.
 *
 * Comments are dropped without trace (`a -- x` + newline + `b` -> `a` + newline + `b`), except
 * that a block comment between two non-blank bytes becomes one space, so that removing it
 * never joins two tokens into a different one (`-`, a comment, `-x` must not become the line
 * comment `--x`). With that, the output never holds a literal or a comment, is never longer
 * than the input, and sanitizing it again changes nothing (the fuzz target checks all three).
 * Tokens kept as they are are not copied one by one but as runs, between two replaced ones.
 * A result cut at cap drops a UTF-8 sequence the cut left incomplete.
 *
 * Summary: `{operation} {target} ...` in query order, each copied as written (no case
 * normalization), joined by single spaces, at most OTELP_SQL_SUMMARY_MAX bytes, cut only
 * between tokens (after the first token that does not fit nothing more is added). The first
 * keyword of each statement (the text may hold several, separated by `;`) says how the rest
 * is read:
 *  - queries (SELECT, INSERT, UPDATE, DELETE, MERGE, WITH, VALUES, and the query after
 *    EXPLAIN, PREPARE, DECLARE or COPY (...)): every SELECT, INSERT, UPDATE, DELETE and MERGE
 *    is an operation (not UPDATE in FOR UPDATE / DO UPDATE, not MERGE's THEN INSERT, not the
 *    SELECT right after UNION, as the test vectors want), and the table after FROM, JOIN,
 *    USING, INTO, UPDATE and after each comma of a FROM list is a target. A target is a name,
 *    possibly qualified (a.b, "s"."t"), written only after an operation; a name followed by
 *    `(` after FROM is a function, not a table. FROM only counts at a parenthesis level where
 *    a query has started, so EXTRACT(YEAR FROM d) has no target;
 *  - CREATE, ALTER, DROP, REFRESH, REINDEX: the operation with its object type and name
 *    (`CREATE TABLE t`, `DROP INDEX IF EXISTS i` -> `DROP INDEX i`), then nothing more from
 *    that statement (a view's query or a function's body is not what the statement does);
 *  - TRUNCATE, LOCK, VACUUM, ANALYZE, CLUSTER, CALL, EXECUTE, COPY, TABLE: the operation and
 *    one name;
 *  - every other PostgreSQL command (BEGIN, COMMIT, SET, SHOW...): the operation only.
 * A statement starting with anything else (garbage) adds nothing, so that the summary keeps a
 * low cardinality. A plain '...' string is taken as a target in a FROM list, as in the
 * conventions' example (`FROM "song list", 'artists'` -> `SELECT "song list" 'artists'`).
 *
 * No allocation, no global state (the tables below are constant), no locks.
 */
#include "common.h"
#include "sql.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------
 * Characters
 */

enum {
	C_SPACE = 1,
	C_IDSTART = 2, /* may start an identifier */
	C_IDCHAR = 4,  /* may continue one ($ too, as in PostgreSQL) */
	C_DIGIT = 8,
};

static const unsigned char cclass[256] = {
    [' '] = C_SPACE,
    ['\t'] = C_SPACE,
    ['\n'] = C_SPACE,
    ['\r'] = C_SPACE,
    ['\f'] = C_SPACE,
    ['\v'] = C_SPACE,
    ['0' ... '9'] = C_DIGIT | C_IDCHAR,
    ['A' ... 'Z'] = C_IDSTART | C_IDCHAR,
    ['a' ... 'z'] = C_IDSTART | C_IDCHAR,
    ['_'] = C_IDSTART | C_IDCHAR,
    ['$'] = C_IDCHAR,
    /* PostgreSQL takes every non-ASCII byte as a letter. */
    [0x80 ... 0xff] = C_IDSTART | C_IDCHAR,
};

static inline bool is_space(unsigned char c)
{
	return cclass[c] & C_SPACE;
}

static inline bool is_digit(unsigned char c)
{
	return cclass[c] & C_DIGIT;
}

static inline bool is_idchar(unsigned char c)
{
	return cclass[c] & C_IDCHAR;
}

/* A dollar quote's tag is an identifier without `$`. */
static inline bool is_tagchar(unsigned char c)
{
	return (cclass[c] & C_IDCHAR) && c != '$';
}

/* ------------------------------------------------------------------------------------------
 * Lexer
 */

enum tkind {
	TK_SPACE,
	TK_LINE_COMMENT,  /* -- up to the end of the line, the newline excluded */
	TK_BLOCK_COMMENT, /* nested, as in PostgreSQL */
	TK_WORD,          /* identifier or keyword */
	TK_QIDENT,        /* "quoted identifier", U&"..." */
	TK_STRING,        /* every kind of quoted string */
	TK_DOLLAR,        /* $tag$...$tag$ */
	TK_NUMBER,
	TK_PARAM, /* $1 */
	TK_OP,    /* any other single byte: operators, punctuation */
};

struct tok {
	size_t start, end;
	unsigned char kind;
	bool open;  /* quote / comment not closed: runs to the end of the text */
	bool plain; /* TK_STRING: a plain '...' (no prefix) */
};

/* A number starts at s[j] (after a possible sign). */
static inline bool number_at(const unsigned char *s, size_t n, size_t j)
{
	return j < n && (is_digit(s[j]) || (s[j] == '.' && j + 1 < n && is_digit(s[j + 1])));
}

static size_t digits(const unsigned char *s, size_t n, size_t j)
{
	while (j < n && (is_digit(s[j]) || s[j] == '_'))
		j++;
	return j;
}

static inline int base_digit(unsigned char base, unsigned char c)
{
	switch (base) {
	case 'x':
		return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
	case 'o':
		return c >= '0' && c <= '7';
	default:
		return c == '0' || c == '1';
	}
}

/* The end of the number starting at s[j]. */
static size_t scan_number(const unsigned char *s, size_t n, size_t j)
{
	if (s[j] == '0' && j + 2 < n) {
		unsigned char b = s[j + 1] | 0x20;

		/* 0x1F, 0o17, 0b101, also 0x_1F (PostgreSQL 16). */
		if ((b == 'x' || b == 'o' || b == 'b') &&
		    (base_digit(b, s[j + 2]) ||
		     (s[j + 2] == '_' && j + 3 < n && base_digit(b, s[j + 3])))) {
			j += 3;
			while (j < n && (base_digit(b, s[j]) || s[j] == '_'))
				j++;
			return j;
		}
	}
	j = digits(s, n, j);
	/* "1..5" is 1 followed by "..", as in PostgreSQL. */
	if (j < n && s[j] == '.' && !(j + 1 < n && s[j + 1] == '.'))
		j = digits(s, n, j + 1);
	if (j < n && (s[j] | 0x20) == 'e') {
		size_t k = j + 1;

		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < n && is_digit(s[k]))
			j = digits(s, n, k);
	}
	return j;
}

/*
 * Byte searches, for the end of a quoted string or name or of a comment: 8 bytes a step on
 * little-endian machines (a zero byte of x ^ c*ONES marks a c; of the bytes flagged, the lowest
 * is always a true one), the last few one by one. Most such searches in SQL are short (a name,
 * a value): they cost a few instructions where a call to memchr costs dozens; past 64 bytes,
 * the search for one byte value is left to memchr.
 */
#ifndef SQL_SWAR /* (-DSQL_SWAR=0 tries the byte-by-byte way on any machine) */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SQL_SWAR 1
#else
#define SQL_SWAR 0
#endif
#endif
#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

#if SQL_SWAR
static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * The bytes of x that are 0, flagged by their high bit. A borrow may flag a byte above a true
 * 0 too, never below: the lowest flag is exact.
 */
static inline uint64_t zero_bytes(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/*
 * s[j..n) as one word when fewer than 8 bytes are left (j < n, n >= 8): the text's last 8
 * bytes, shifted so that s[j] is the lowest. The bytes shifted in are 0: never a match for a
 * non-zero byte value.
 */
#define LAST_BYTES(s, n, j) (load64((s) + (n)-8) >> 8 * ((j) + 8 - (n)))

/* find1() past its first 8 bytes: 56 more, then memchr. */
static size_t __attribute__((noinline))
find1_far(const unsigned char *s, size_t n, size_t j, unsigned char c)
{
	for (int k = 0; k < 7 && n - j >= 8; k++, j += 8) {
		uint64_t m = zero_bytes(load64(s + j) ^ (ONES * c));

		if (m)
			return j + ((unsigned)__builtin_ctzll(m) >> 3);
	}
	if (n - j >= 8) {
		const unsigned char *p = memchr(s + j, c, n - j);

		return p ? (size_t)(p - s) : n;
	}
	if (j < n) {
		uint64_t m = zero_bytes(LAST_BYTES(s, n, j) ^ (ONES * c));

		return m ? j + ((unsigned)__builtin_ctzll(m) >> 3) : n;
	}
	return n;
}
#endif

/* The first k >= j with s[k] == c (c != 0), or n. */
static inline size_t find1(const unsigned char *s, size_t n, size_t j, unsigned char c)
{
#if SQL_SWAR
	if (n - j >= 8) {
		uint64_t m = zero_bytes(load64(s + j) ^ (ONES * c));

		if (m)
			return j + ((unsigned)__builtin_ctzll(m) >> 3);
		return find1_far(s, n, j + 8, c);
	}
	if (n >= 8) {
		if (j >= n)
			return n;
		uint64_t m = zero_bytes(LAST_BYTES(s, n, j) ^ (ONES * c));

		return m ? j + ((unsigned)__builtin_ctzll(m) >> 3) : n;
	}
#endif
	while (j < n && s[j] != c)
		j++;
	return j;
}

/* The first k >= j with s[k] == a or s[k] == b (a, b != 0), or n. */
static inline size_t find2(const unsigned char *s, size_t n, size_t j, unsigned char a,
                           unsigned char b)
{
#if SQL_SWAR
	for (; n - j >= 8; j += 8) {
		uint64_t x = load64(s + j),
		         m = zero_bytes(x ^ (ONES * a)) | zero_bytes(x ^ (ONES * b));

		if (m)
			return j + ((unsigned)__builtin_ctzll(m) >> 3);
	}
	if (n >= 8) {
		if (j >= n)
			return n;
		uint64_t x = LAST_BYTES(s, n, j),
		         m = zero_bytes(x ^ (ONES * a)) | zero_bytes(x ^ (ONES * b));

		return m ? j + ((unsigned)__builtin_ctzll(m) >> 3) : n;
	}
#endif
	while (j < n && s[j] != a && s[j] != b)
		j++;
	return j;
}

/* A string whose opening quote is s[j]: '' is a quote; with esc, so is \'. */
static void scan_string(const unsigned char *s, size_t n, size_t j, bool esc, struct tok *t)
{
	t->kind = TK_STRING;
	j++;
	for (;;) {
		j = esc ? find2(s, n, j, '\'', '\\') : find1(s, n, j, '\'');
		if (j >= n) {
			t->end = n;
			t->open = true;
			return;
		}
		if (s[j] == '\\') {
			/* The escaped byte may be the last one. */
			j += 2;
			if (j > n)
				j = n;
			continue;
		}
		if (j + 1 < n && s[j + 1] == '\'') {
			j += 2;
			continue;
		}
		t->end = j + 1;
		return;
	}
}

/* A quoted identifier whose opening quote is s[j]; "" is a quote. */
static inline __attribute__((always_inline)) void scan_qident(const unsigned char *s, size_t n,
                                                              size_t j, struct tok *t)
{
	t->kind = TK_QIDENT;
	j++;
	for (;;) {
		j = find1(s, n, j, '"');
		if (j == n) {
			t->end = n;
			t->open = true;
			return;
		}
		if (j + 1 < n && s[j + 1] == '"') {
			j += 2;
			continue;
		}
		t->end = j + 1;
		return;
	}
}

/*
 * The dollar-quoted string whose opening delimiter is s[i..i+len) ("$$" or "$tag$"): the body
 * runs to the next occurrence of the same delimiter. Compared only where a `$` is, byte by byte
 * and stopping at the first difference: bytes matched after a `$` are tag bytes, never `$`, so
 * the next candidate lies past them and no byte is compared twice against the same candidate.
 */
static void scan_dollar(const unsigned char *s, size_t n, size_t i, size_t len, struct tok *t)
{
	size_t j = i + len;

	t->kind = TK_DOLLAR;
	while (j < n) {
		size_t k;

		j = find1(s, n, j, '$');
		if (j == n)
			break;
		if (n - j < len)
			break;
		for (k = 1; k < len && s[j + k] == s[i + k]; k++)
			;
		if (k == len) {
			t->end = j + len;
			return;
		}
		j += k;
	}
	t->end = n;
	t->open = true;
}

static void scan_block_comment(const unsigned char *s, size_t n, size_t j, struct tok *t)
{
	size_t depth = 1;

	t->kind = TK_BLOCK_COMMENT;
	j += 2;
	while ((j = find2(s, n, j, '*', '/')) < n) {
		if (s[j] == '*' && j + 1 < n && s[j + 1] == '/') {
			j += 2;
			if (--depth == 0) {
				t->end = j;
				return;
			}
		} else if (s[j] == '/' && j + 1 < n && s[j + 1] == '*') {
			j += 2;
			depth++;
		} else {
			j++;
		}
	}
	t->end = n;
	t->open = true;
}

/*
 * The token starting at q[i] (i < n); sign: a `+` / `-` before a digit is a number's sign.
 * Inlined in each of its three callers: it runs once per token, and a call per token (with the
 * token written to memory) cost as much as the lexing itself.
 */
static inline __attribute__((always_inline)) void lex(const char *q, size_t n, size_t i, bool sign,
                                                      struct tok *t)
{
	const unsigned char *s = (const unsigned char *)q;
	unsigned char c = s[i];
	size_t j;

	t->start = i;
	t->open = false;
	t->plain = false;
	switch (c) {
	case '-':
		if (i + 1 < n && s[i + 1] == '-') {
			/* PostgreSQL ends a line comment at \n or \r. */
			j = find2(s, n, i + 2, '\n', '\r');
			t->kind = TK_LINE_COMMENT;
			t->end = j;
			t->open = j == n;
			return;
		}
		/* fall through */
	case '+':
		if (sign && number_at(s, n, i + 1)) {
			t->kind = TK_NUMBER;
			t->end = scan_number(s, n, i + 1);
			return;
		}
		break;
	case '/':
		if (i + 1 < n && s[i + 1] == '*') {
			scan_block_comment(s, n, i, t);
			return;
		}
		break;
	case '\'':
		scan_string(s, n, i, false, t);
		t->plain = true;
		return;
	case '"':
		scan_qident(s, n, i, t);
		return;
	case '.':
		if (number_at(s, n, i)) {
			t->kind = TK_NUMBER;
			t->end = scan_number(s, n, i);
			return;
		}
		break;
	case '$':
		j = i + 1;
		if (j < n && is_digit(s[j])) {
			while (j < n && is_digit(s[j]))
				j++;
			t->kind = TK_PARAM;
			t->end = j;
			return;
		}
		if (j < n && is_tagchar(s[j])) /* not a digit: handled above */
			while (j < n && is_tagchar(s[j]))
				j++;
		if (j < n && s[j] == '$') {
			scan_dollar(s, n, i, j + 1 - i, t);
			return;
		}
		break; /* a lone `$`: not valid SQL, an operator byte for us */
	default:
		if (is_space(c)) {
			for (j = i + 1; j < n && is_space(s[j]); j++)
				;
			t->kind = TK_SPACE;
			t->end = j;
			return;
		}
		if (is_digit(c)) {
			t->kind = TK_NUMBER;
			t->end = scan_number(s, n, i);
			return;
		}
		if (cclass[c] & C_IDSTART) {
			for (j = i + 1; j < n && is_idchar(s[j]); j++)
				;
			if (j == i + 1 && j < n) {
				unsigned char l = c | 0x20;

				/* E'..' (escapes), B'..', X'..', N'..'. */
				if (s[j] == '\'' &&
				    (l == 'e' || l == 'b' || l == 'x' || l == 'n')) {
					scan_string(s, n, j, l == 'e', t);
					return;
				}
				/* U&'..', U&"..". */
				if (l == 'u' && s[j] == '&' && j + 1 < n) {
					if (s[j + 1] == '\'') {
						scan_string(s, n, j + 1, false, t);
						return;
					}
					if (s[j + 1] == '"') {
						scan_qident(s, n, j + 1, t);
						return;
					}
				}
			}
			t->kind = TK_WORD;
			t->end = j;
			return;
		}
		break;
	}
	t->kind = TK_OP;
	t->end = i + 1;
}

static inline bool tok_op(const char *q, const struct tok *t, char c)
{
	return t->kind == TK_OP && q[t->start] == c;
}

/* ------------------------------------------------------------------------------------------
 * Keywords
 */

enum kwid {
	K_NONE,
	K_OTHER, /* known, no specific rule */
	K_ALL,
	K_ALTER,
	K_AS,
	K_ATOMIC,
	K_BEGIN,
	K_CASE,
	K_COPY,
	K_CREATE,
	K_DELETE,
	K_DISTINCT,
	K_DO,
	K_END,
	K_EXCEPT,
	K_FALSE,
	K_FOR,
	K_FROM,
	K_INSERT,
	K_INTERSECT,
	K_INTO,
	K_JOIN,
	K_KEY,
	K_MERGE,
	K_ON,
	K_SELECT,
	K_TABLE,
	K_TEMP, /* TEMP, TEMPORARY, UNLOGGED: SELECT INTO TEMP TABLE t */
	K_THEN,
	K_TRUE,
	K_UNION,
	K_UPDATE,
	K_USING,
};

/* What the first keyword of a statement makes of it. */
enum cmd {
	CMD_NONE,   /* not a command */
	CMD_QUERY,  /* SELECT, INSERT...: read as a query, the keyword itself included */
	CMD_WITH,   /* read as a query, nothing written for the keyword */
	CMD_PREFIX, /* written, then the rest is read as a query (EXPLAIN, PREPARE...) */
	CMD_DDL,    /* written with the object type and name */
	CMD_NAME,   /* written with one name */
	CMD_OTHER,  /* written alone */
};

enum {
	F_NOTNAME = 1 << 0,  /* never a table name */
	F_EXPR = 1 << 1,     /* an expression may follow: a sign after it is unary */
	F_ENDFROM = 1 << 2,  /* ends a FROM list */
	F_TSKIP = 1 << 3,    /* skipped before a target (FROM ONLY t, JOIN LATERAL (...)) */
	F_DDLMOD = 1 << 4,   /* skipped before the object type (CREATE OR REPLACE ...) */
	F_DDLTYPE2 = 1 << 5, /* an object type of two words (MATERIALIZED VIEW) */
	F_DDLSKIP = 1 << 6,  /* skipped before the object name (IF NOT EXISTS) */
	F_NAMESKIP = 1 << 7, /* skipped before the name of CMD_NAME (TRUNCATE TABLE t) */
};

struct kw {
	char name[16]; /* zero-padded: compared 8 bytes at a time */
	unsigned char len;
	unsigned char id;  /* enum kwid */
	unsigned char cmd; /* enum cmd */
	unsigned char flags;
};

/* clang-format off */
#define KW(s, id, cmd, fl) {s, sizeof(s) - 1, id, cmd, fl}
#define O K_OTHER

/* Grouped by first letter, by length in each group; only letters A-Z, at most 12 of them. */
static const struct kw kw_a[] = {
	KW("AS", K_AS, 0, F_NOTNAME),
	KW("ALL", K_ALL, 0, F_NOTNAME | F_EXPR),
	KW("AND", O, 0, F_NOTNAME | F_EXPR),
	KW("ANY", O, 0, F_NOTNAME | F_EXPR),
	KW("ABORT", O, CMD_OTHER, 0),
	KW("ALTER", K_ALTER, CMD_DDL, F_NOTNAME),
	KW("ATOMIC", K_ATOMIC, 0, 0),
	KW("ANALYZE", O, CMD_NAME, F_NAMESKIP),
};
static const struct kw kw_b[] = {
	KW("BY", O, 0, F_NOTNAME | F_EXPR),
	KW("BEGIN", K_BEGIN, CMD_OTHER, 0),
	KW("BETWEEN", O, 0, F_NOTNAME | F_EXPR),
};
static const struct kw kw_c[] = {
	KW("CALL", O, CMD_NAME, 0),
	KW("CASE", K_CASE, 0, F_NOTNAME | F_EXPR),
	KW("COPY", K_COPY, CMD_NAME, 0),
	KW("CLOSE", O, CMD_OTHER, 0),
	KW("CROSS", O, 0, F_NOTNAME),
	KW("COMMIT", O, CMD_OTHER, 0),
	KW("CREATE", K_CREATE, CMD_DDL, F_NOTNAME),
	KW("CLUSTER", O, CMD_NAME, 0),
	KW("COMMENT", O, CMD_OTHER, 0),
	KW("CLUSTERED", O, 0, F_DDLMOD),
	KW("CHECKPOINT", O, CMD_OTHER, 0),
	KW("CONCURRENTLY", O, 0, F_DDLSKIP | F_NAMESKIP),
};
static const struct kw kw_d[] = {
	KW("DO", K_DO, CMD_OTHER, F_NOTNAME),
	KW("DROP", O, CMD_DDL, F_NOTNAME),
	KW("DELETE", K_DELETE, CMD_QUERY, F_NOTNAME),
	KW("DECLARE", O, CMD_PREFIX, 0),
	KW("DEFAULT", O, 0, F_NOTNAME | F_EXPR),
	KW("DISCARD", O, CMD_OTHER, 0),
	KW("DISTINCT", K_DISTINCT, 0, F_NOTNAME | F_EXPR),
	KW("DEALLOCATE", O, CMD_OTHER, 0),
};
static const struct kw kw_e[] = {
	KW("END", K_END, CMD_OTHER, F_NOTNAME),
	KW("ELSE", O, 0, F_NOTNAME | F_EXPR),
	KW("EXEC", O, CMD_NAME, 0),
	KW("EXCEPT", K_EXCEPT, 0, F_NOTNAME),
	KW("EXISTS", O, 0, F_DDLSKIP),
	KW("EXECUTE", O, CMD_NAME, 0),
	KW("EXPLAIN", O, CMD_PREFIX, 0),
};
static const struct kw kw_f[] = {
	KW("FOR", K_FOR, 0, F_NOTNAME | F_ENDFROM),
	KW("FROM", K_FROM, 0, F_NOTNAME),
	KW("FULL", O, 0, F_NOTNAME | F_NAMESKIP),
	KW("FALSE", K_FALSE, 0, F_NOTNAME),
	KW("FETCH", O, CMD_OTHER, F_NOTNAME | F_ENDFROM),
	KW("FREEZE", O, 0, F_NAMESKIP),
	KW("FOREIGN", O, 0, F_DDLTYPE2),
};
static const struct kw kw_g[] = {
	KW("GRANT", O, CMD_OTHER, 0),
	KW("GROUP", O, 0, F_NOTNAME | F_ENDFROM),
	KW("GLOBAL", O, 0, F_DDLMOD),
};
static const struct kw kw_h[] = {
	KW("HAVING", O, 0, F_NOTNAME | F_EXPR | F_ENDFROM),
};
static const struct kw kw_i[] = {
	KW("IF", O, 0, F_DDLSKIP),
	KW("IN", O, 0, F_NOTNAME | F_EXPR),
	KW("IS", O, 0, F_NOTNAME | F_EXPR),
	KW("INTO", K_INTO, 0, F_NOTNAME),
	KW("ILIKE", O, 0, F_NOTNAME | F_EXPR),
	KW("INNER", O, 0, F_NOTNAME),
	KW("IMPORT", O, CMD_OTHER, 0),
	KW("INSERT", K_INSERT, CMD_QUERY, F_NOTNAME),
	KW("INTERSECT", K_INTERSECT, 0, F_NOTNAME),
};
static const struct kw kw_j[] = {
	KW("JOIN", K_JOIN, 0, F_NOTNAME),
};
static const struct kw kw_k[] = {
	KW("KEY", K_KEY, 0, 0),
};
static const struct kw kw_l[] = {
	KW("LEFT", O, 0, F_NOTNAME),
	KW("LIKE", O, 0, F_NOTNAME | F_EXPR),
	KW("LOAD", O, CMD_OTHER, 0),
	KW("LOCK", O, CMD_NAME, 0),
	KW("LIMIT", O, 0, F_NOTNAME | F_EXPR | F_ENDFROM),
	KW("LOCAL", O, 0, F_DDLMOD),
	KW("LISTEN", O, CMD_OTHER, 0),
	KW("LATERAL", O, 0, F_NOTNAME | F_TSKIP),
};
static const struct kw kw_m[] = {
	KW("MOVE", O, CMD_OTHER, 0),
	KW("MERGE", K_MERGE, CMD_QUERY, F_NOTNAME),
	KW("MATERIALIZED", O, 0, F_DDLTYPE2),
};
static const struct kw kw_n[] = {
	KW("NOT", O, 0, F_NOTNAME | F_EXPR | F_DDLSKIP),
	KW("NOTIFY", O, CMD_OTHER, 0),
	KW("NATURAL", O, 0, F_NOTNAME),
	KW("NONCLUSTERED", O, 0, F_DDLMOD),
};
static const struct kw kw_o[] = {
	KW("ON", K_ON, 0, F_NOTNAME | F_EXPR),
	KW("OR", O, 0, F_NOTNAME | F_EXPR | F_DDLMOD),
	KW("ONLY", O, 0, F_NOTNAME | F_TSKIP | F_DDLSKIP | F_NAMESKIP),
	KW("ORDER", O, 0, F_NOTNAME | F_ENDFROM),
	KW("OFFSET", O, 0, F_NOTNAME | F_EXPR | F_ENDFROM),
};
static const struct kw kw_p[] = {
	KW("PREPARE", O, CMD_PREFIX, 0),
	KW("PROCEDURAL", O, 0, F_DDLMOD),
};
static const struct kw kw_r[] = {
	KW("RESET", O, CMD_OTHER, 0),
	KW("RIGHT", O, 0, F_NOTNAME),
	KW("RETURN", O, 0, F_NOTNAME | F_EXPR),
	KW("REVOKE", O, CMD_OTHER, 0),
	KW("REFRESH", O, CMD_DDL, 0),
	KW("REINDEX", O, CMD_DDL, 0),
	KW("RELEASE", O, CMD_OTHER, 0),
	KW("REPLACE", O, 0, F_DDLMOD),
	KW("REASSIGN", O, CMD_OTHER, 0),
	KW("ROLLBACK", O, CMD_OTHER, 0),
	KW("RECURSIVE", O, 0, F_DDLMOD),
	KW("RETURNING", O, 0, F_NOTNAME | F_EXPR | F_ENDFROM),
};
static const struct kw kw_s[] = {
	KW("SET", O, CMD_OTHER, F_NOTNAME | F_ENDFROM),
	KW("SHOW", O, CMD_OTHER, 0),
	KW("START", O, CMD_OTHER, 0),
	KW("SELECT", K_SELECT, CMD_QUERY, F_NOTNAME | F_EXPR | F_ENDFROM),
	KW("SECURITY", O, CMD_OTHER, 0),
	KW("SAVEPOINT", O, CMD_OTHER, 0),
};
static const struct kw kw_t[] = {
	KW("TO", O, 0, F_EXPR),
	KW("TEMP", K_TEMP, 0, F_DDLMOD),
	KW("THEN", K_THEN, 0, F_NOTNAME | F_EXPR),
	KW("TRUE", K_TRUE, 0, F_NOTNAME),
	KW("TABLE", K_TABLE, CMD_NAME, F_NAMESKIP),
	KW("TRUSTED", O, 0, F_DDLMOD),
	KW("TRUNCATE", O, CMD_NAME, 0),
	KW("TEMPORARY", K_TEMP, 0, F_DDLMOD),
};
static const struct kw kw_u[] = {
	KW("UNION", K_UNION, 0, F_NOTNAME),
	KW("USING", K_USING, 0, F_NOTNAME),
	KW("UNIQUE", O, 0, F_DDLMOD),
	KW("UPDATE", K_UPDATE, CMD_QUERY, F_NOTNAME),
	KW("UNLISTEN", O, CMD_OTHER, 0),
	KW("UNLOGGED", K_TEMP, 0, F_DDLMOD),
};
static const struct kw kw_v[] = {
	KW("VACUUM", O, CMD_NAME, 0),
	KW("VALUES", O, CMD_PREFIX, F_NOTNAME | F_ENDFROM),
	KW("VERBOSE", O, 0, F_NAMESKIP),
};
static const struct kw kw_w[] = {
	KW("WHEN", O, 0, F_NOTNAME | F_EXPR),
	KW("WITH", O, CMD_WITH, F_NOTNAME | F_EXPR),
	KW("WHERE", O, 0, F_NOTNAME | F_EXPR | F_ENDFROM),
	KW("WINDOW", O, 0, F_NOTNAME | F_ENDFROM),
};
/* clang-format on */

#undef O

static const struct {
	const struct kw *k;
	unsigned char n;
} kw_index[26] = {
#define L(c, a) [c - 'A'] = {a, sizeof(a) / sizeof(a[0])}
    L('A', kw_a), L('B', kw_b), L('C', kw_c), L('D', kw_d), L('E', kw_e), L('F', kw_f),
    L('G', kw_g), L('H', kw_h), L('I', kw_i), L('J', kw_j), L('K', kw_k), L('L', kw_l),
    L('M', kw_m), L('N', kw_n), L('O', kw_o), L('P', kw_p), L('R', kw_r), L('S', kw_s),
    L('T', kw_t), L('U', kw_u), L('V', kw_v), L('W', kw_w),
#undef L
};

/*
 * The keyword p[0..len) (any case), or NULL. Most words are names, not keywords: the bucket of
 * their first letter rarely has a keyword of their length, and then they are not even
 * upper-cased.
 */
static const struct kw *kw_find(const char *p, size_t len)
{
	unsigned char f = (unsigned char)p[0] & ~0x20;

	/* (No keyword starts with Q, X, Y or Z: no bucket to add to.) */
	if (len < 2 || len > 12 || f < 'A' || f > 'Z' || !kw_index[f - 'A'].n)
		return NULL;

	const struct kw *k = kw_index[f - 'A'].k, *end = k + kw_index[f - 'A'].n;
	char up[16] = {0};
	uint64_t u0 = 0, u1 = 0;
	bool upper = false;

	for (; k < end && k->len <= len; k++) {
		uint64_t k0, k1;

		if (k->len != len)
			continue;
		if (!upper) {
			for (size_t i = 0; i < len; i++) {
				unsigned char c = (unsigned char)p[i] & ~0x20;

				if (c < 'A' || c > 'Z')
					return NULL;
				up[i] = (char)c;
			}
			memcpy(&u0, up, 8);
			memcpy(&u1, up + 8, 8);
			upper = true;
		}
		memcpy(&k0, k->name, 8);
		memcpy(&k1, k->name + 8, 8);
		if (k0 == u0 && k1 == u1)
			return k;
	}
	return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Output
 */

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

/* ------------------------------------------------------------------------------------------
 * Sanitizer
 *
 * The tokens of lex(), read with less work per byte and per token (the pgbench -S statement
 * costs about 700 instructions instead of 1 550):
 *  - one table (sclass) says what a byte starts, and one indirect jump goes there;
 *  - a name is scanned four bytes a step without a bound when it starts before the text's last
 *    byte that is not an identifier character (safe); after it, a name runs to the end;
 *  - TRUE and FALSE are told by their first letter (their own class), length and one 4-byte
 *    comparison, without the keyword table (still asked for a sign after a word, which is
 *    rare); single letters are looked at as string prefixes only before ' or &;
 *  - the next name, a quoted name or an operator byte after a name, an operator byte (with
 *    one space), a dot or a quoted name are read on without going back to the jump;
 *  - what is written and hashed (struct san) is out of the loop, in functions of their own, so
 *    that the loop keeps its registers; runs kept as they are are copied, and the shape's
 *    chunks hashed, without a call for their last few bytes.
 * Tokens end where lex() ends them; a token starts only before stop, as with lex() (once the
 * output overflows nothing after matters, so where exactly the loop stops does not either).
 */

/* What the last significant token was, for the sign rule. */
enum prev {
	PV_VALUE,   /* start, literal, operator: a sign after it is unary */
	PV_OPERAND, /* quoted identifier, parameter, ) or ]: a sign after it is binary */
	PV_WORD,    /* binary unless the word is a keyword an expression follows (SELECT, AND...) */
};

/* What a byte starts, at the start of a token. */
enum {
	S_OP, /* an operator byte and nothing more: , ( = ; and every byte not below */
	S_SPACE,
	S_WORD,    /* a name or keyword: a letter, _ or a non-ASCII byte */
	S_WORD_TF, /* the same, starting with t or f: maybe TRUE or FALSE */
	S_DIGIT,
	S_QUOTE,  /* ' */
	S_DQUOTE, /* " */
	S_MINUS,
	S_PLUS,
	S_SLASH,
	S_DOT,
	S_DOLLAR,
	S_CLOSE, /* ) and ]: a sign after them is binary */
};

static const unsigned char sclass[256] = {
    /* clang-format off */
    [' '] = S_SPACE,
    ['\t'] = S_SPACE,
    ['\n'] = S_SPACE,
    ['\r'] = S_SPACE,
    ['\f'] = S_SPACE,
    ['\v'] = S_SPACE,
    ['0' ... '9'] = S_DIGIT,
    ['A' ... 'E'] = S_WORD,
    ['F'] = S_WORD_TF,
    ['G' ... 'S'] = S_WORD,
    ['T'] = S_WORD_TF,
    ['U' ... 'Z'] = S_WORD,
    ['a' ... 'e'] = S_WORD,
    ['f'] = S_WORD_TF,
    ['g' ... 's'] = S_WORD,
    ['t'] = S_WORD_TF,
    ['u' ... 'z'] = S_WORD,
    ['_'] = S_WORD,
    [0x80 ... 0xff] = S_WORD,
    ['\''] = S_QUOTE,
    ['"'] = S_DQUOTE,
    ['-'] = S_MINUS,
    ['+'] = S_PLUS,
    ['/'] = S_SLASH,
    ['.'] = S_DOT,
    ['$'] = S_DOLLAR,
    [')'] = S_CLOSE,
    [']'] = S_CLOSE,
    /* clang-format on */
};

/* The end of the identifier characters from s[j]. */
static inline size_t idchars(const unsigned char *s, size_t n, size_t j)
{
	for (; n - j >= 4; j += 4) {
		if (!is_idchar(s[j]))
			return j;
		if (!is_idchar(s[j + 1]))
			return j + 1;
		if (!is_idchar(s[j + 2]))
			return j + 2;
		if (!is_idchar(s[j + 3]))
			return j + 3;
	}
	while (j < n && is_idchar(s[j]))
		j++;
	return j;
}

/* The same, knowing that a byte that is not an identifier character comes before the end. */
static inline size_t idchars_to_end(const unsigned char *s, size_t j)
{
	for (;; j += 4) {
		if (!is_idchar(s[j]))
			return j;
		if (!is_idchar(s[j + 1]))
			return j + 1;
		if (!is_idchar(s[j + 2]))
			return j + 2;
		if (!is_idchar(s[j + 3]))
			return j + 3;
	}
}

/*
 * scan_number(s, n, j): the common cases, digits and maybe a fraction (12, 19.99), without it.
 * A number goes on past its first digits only with one of _ . e E, or x o b (any case) after
 * a 0 (.5 starts with one), and past a fraction only with _ e E.
 */
static inline size_t number_end(const unsigned char *s, size_t n, size_t j)
{
	size_t k = j;

	while (k < n && is_digit(s[k]))
		k++;
	if (k < n && s[k] == '.' && k > j && k + 1 < n && is_digit(s[k + 1])) {
		for (k += 2; k < n && is_digit(s[k]); k++)
			;
		if (k < n && (s[k] == '_' || (s[k] | 0x20) == 'e'))
			return scan_number(s, n, j);
		return k;
	}
	if (k < n) {
		unsigned char l = s[k] | 0x20;

		/* '_' | 0x20 is 0x7f, '.' | 0x20 is '.': a few other bytes go the long way too. */
		if (l == 0x7f || l == '.' || l == 'e' || l == 'x' || l == 'o' || l == 'b')
			return scan_number(s, n, j);
	}
	return k;
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The name at s[word] is a keyword an expression follows (SELECT, AND...): a sign after it is
 * unary. */
static bool expr_follows(const unsigned char *s, size_t n, size_t word)
{
	const struct kw *k = kw_find((const char *)s + word, idchars(s, n, word + 1) - word);

	return k && (k->flags & F_EXPR);
}

/* TRUE or FALSE, in any case (what kw_find() would say, without it). */
static inline bool is_bool(const unsigned char *p, size_t len)
{
	/* x | 0x20 is a lower-case letter exactly when x is that letter in either case. */
	if (len == 4)
		return (load32(p) | 0x20202020u) == load32((const unsigned char *)"true");
	return len == 5 && (p[0] | 0x20) == 'f' &&
	       (load32(p + 1) | 0x20202020u) == load32((const unsigned char *)"alse");
}

/* The sanitizer's output and shape, out of the loop that reads the tokens. */
struct san {
	const unsigned char *s;
	size_t n;
	char *out;
	size_t cap, len;
	/* Tokens kept as they are pile up in q[keep..), copied at once before a replaced one. */
	size_t keep;
	/* The shape: every byte but the insides of literals, q[hashed..) not mixed in yet. */
	size_t hashed;
	uint64_t h;
	bool full;
};

/*
 * The first offset where no token may start any more, now that q[..keep) is done: where
 * q[keep..) would no longer fit after what was written (once what is kept overflows, the rest
 * changes nothing), or n.
 */
static inline size_t san_stop(const struct san *z)
{
	size_t room = z->cap - z->len;

	return room >= z->n - z->keep ? z->n : z->keep + room + 1;
}

/*
 * The token q[start..end) replaced by rep (0: by nothing), after the kept run before it.
 * Returns the new stop (0 once the output is full).
 */
static inline __attribute__((always_inline)) size_t replace(struct san *z, size_t start, size_t end,
                                                            char rep)
{
	size_t run = start - z->keep;

	if (run > z->cap - z->len) {
		otelp__copy_short(z->out + z->len, z->s + z->keep, z->cap - z->len);
		z->len = z->cap;
		z->full = true;
		return 0;
	}
	otelp__copy_short(z->out + z->len, z->s + z->keep, run);
	z->len += run;
	if (rep) {
		if (z->len == z->cap) {
			z->full = true;
			return 0;
		}
		z->out[z->len++] = rep;
	}
	z->keep = end;
	return san_stop(z);
}

/* The same, out of line: the loop that reads the tokens keeps its registers. */
static size_t san_replace(struct san *z, size_t start, size_t end, char rep)
{
	return replace(z, start, end, rep);
}

/*
 * A number, a dollar-quoted or a prefixed string at q[start..end), replaced: only its kind and
 * first byte (prefix letter, sign, digit) count in the shape, not its insides.
 */
static size_t san_literal(struct san *z, uint64_t *shape, size_t start, size_t end, unsigned kind,
                          bool open, unsigned char first)
{
	if (shape) {
		z->h = otelp__hash_bytes_within(z->h, z->s, z->n, z->hashed, start);
		z->h = otelp__hash_mix(z->h, (uint64_t)kind << 16 | (uint64_t)open << 8 |
		                                 (is_digit(first) ? '0' : first));
		z->hashed = end;
	}
	return replace(z, start, end, '?');
}

/* The rest of the text kept, up to i (n unless the output is full); the result. */
static size_t san_finish(struct san *z, size_t i, uint64_t *shape)
{
	if (!z->full)
		replace(z, i, i, 0);
	if (z->full) {
		if (shape)
			*shape = 0;
		return otelp__utf8_cut(z->out, z->len);
	}
	/* Read to its end (i == n): it has a shape. */
	if (shape)
		*shape = otelp__hash_bytes_within(z->h, z->s, z->n, z->hashed, z->n) | 1;
	return z->len;
}

/* A block comment at q[start..end): a space only between two non-blank bytes. */
static size_t san_block_comment(struct san *z, size_t start, size_t end)
{
	const unsigned char *s = z->s;
	bool before = start > z->keep ? !is_space(s[start - 1])
	                              : z->len && !is_space((unsigned char)z->out[z->len - 1]);

	return san_replace(z, start, end, before && end < z->n && !is_space(s[end]) ? ' ' : 0);
}

size_t otelp__sql_sanitize(const char *q, size_t n, char *out, size_t cap)
{
	return otelp__sql_sanitize_shape(q, n, out, cap, 0, NULL);
}

size_t otelp__sql_sanitize_shape(const char *q, size_t n, char *out, size_t cap, uint64_t seed,
                                 uint64_t *shape)
{
	char none[1];
	struct san z = {(const unsigned char *)q, n, out, cap, 0, 0, 0, seed, false};

	/* No null pointer arithmetic below, even with nothing to read or write. */
	if (!q) {
		z.s = (const unsigned char *)"";
		z.n = 0;
	}
	if (!out) {
		z.out = none;
		z.cap = 0;
	}

	const unsigned char *s = z.s;
	size_t i = 0, word = 0, stop = san_stop(&z);
	enum prev prev = PV_VALUE;
	struct tok t;

	n = z.n;
	/*
	 * safe: the text's last byte that is not an identifier character. A name that starts
	 * before it ends before it, without a bound to check; after it, a name runs to the end.
	 */
	size_t safe = n;

	while (safe > 0 && is_idchar(s[safe - 1]))
		safe--;
	if (safe > 0)
		safe--;

	/* wstop: before it, a name may follow a name without going through the switch. */
	size_t wstop = stop < safe ? stop : safe;
#define SET_STOP(v) (stop = (v), wstop = stop < safe ? stop : safe)

	/*
	 * What each byte class starts, as label addresses: one indirect jump per token instead of
	 * a switch's range check and table (the loop runs once per token).
	 */
	static const void *const start[] = {
	    [S_OP] = &&op,           [S_SPACE] = &&space, [S_WORD] = &&name,
	    [S_WORD_TF] = &&name_tf, [S_DIGIT] = &&digit, [S_QUOTE] = &&quote,
	    [S_DQUOTE] = &&dquote,   [S_MINUS] = &&minus, [S_PLUS] = &&plus,
	    [S_SLASH] = &&slash,     [S_DOT] = &&dot,     [S_DOLLAR] = &&dollar,
	    [S_CLOSE] = &&close,
	};

	while (i < stop) {
		size_t j;

		goto *start[sclass[s[i]]];
	space:
		for (i++; i < n && is_space(s[i]); i++)
			;
		continue;
	name_tf:
		if (otelp_unlikely(i >= safe))
			goto last_word;
	word_tf:
		/* s[j] is a byte of the text: j <= safe < n. */
		j = idchars_to_end(s, i + 1);
		if (otelp_unlikely(j - i - 4 <= 1) && is_bool(s + i, j - i)) {
			SET_STOP(san_replace(&z, i, j, '?'));
			prev = PV_VALUE;
			i = j;
			continue;
		}
		goto word_end;
	name:
		if (otelp_unlikely(i >= safe))
			goto last_word;
	word:
		j = idchars_to_end(s, i + 1);
		/* j made opaque: the compiler would keep every byte the scan read. */
		__asm__("" : "+r"(j));
	word_end:
		word = i;
		prev = PV_WORD;
		if (s[j] == ' ') {
			i = j + 1;
			/* Names separated by one space: no switch between them. */
			if (i < wstop) {
				if (sclass[s[i]] == S_WORD)
					goto word;
				if (sclass[s[i]] == S_WORD_TF)
					goto word_tf;
			}
			continue;
		}
		if (otelp_unlikely(j == i + 1) && (s[j] == '\'' || s[j] == '&')) {
			unsigned char l = s[i] | 0x20;

			t.open = false;
			/* E'..' (escapes), B'..', X'..', N'..'. */
			if (s[j] == '\'' && (l == 'e' || l == 'b' || l == 'x' || l == 'n')) {
				scan_string(s, n, j, l == 'e', &t);
				goto prefixed;
			}
			/* U&'..', U&"..". */
			if (l == 'u' && s[j] == '&' && j + 1 < n) {
				if (s[j + 1] == '\'') {
					scan_string(s, n, j + 1, false, &t);
					goto prefixed;
				}
				if (s[j + 1] == '"') {
					scan_qident(s, n, j + 1, &t);
					j = i;
					i = t.end;
					goto qident;
				}
			}
		}
		i = j;
		/* A name and an operator byte (a comma, a parenthesis...): no switch. */
		if (sclass[s[i]] == S_OP)
			goto op;
		if (sclass[s[i]] == S_DOT)
			goto dot;
		continue;
	last_word:
		/* After safe, a name runs to the end of the text. */
		if (is_bool(s + i, n - i)) {
			SET_STOP(san_replace(&z, i, n, '?'));
			prev = PV_VALUE;
		} else {
			prev = PV_WORD;
			word = i;
		}
		i = n;
		continue;
	prefixed:
		SET_STOP(san_literal(&z, shape, i, t.end, TK_STRING, t.open, s[i]));
		prev = PV_VALUE;
		i = t.end;
		continue;
	digit:
		j = number_end(s, n, i);
		goto number;
	dot:
		if (i + 1 < n && is_digit(s[i + 1])) {
			j = scan_number(s, n, i);
			goto number;
		}
		prev = PV_VALUE;
		i++;
		/* A qualified name: t.c, "t"."c". */
		if (i < wstop && sclass[s[i]] == S_WORD)
			goto word;
		if (i < stop && s[i] == '"')
			goto dquote;
		continue;
	minus:
		if (i + 1 < n && s[i + 1] == '-') {
			/* PostgreSQL ends a line comment at \n or \r. */
			j = find2(s, n, i + 2, '\n', '\r');
			SET_STOP(san_replace(&z, i, j, 0));
			i = j;
			continue;
		}
		/* fall through */
	plus:
		if (number_at(s, n, i + 1) &&
		    (prev == PV_VALUE || (prev == PV_WORD && expr_follows(s, n, word)))) {
			j = number_end(s, n, i + 1);
			goto number;
		}
		prev = PV_VALUE;
		i++;
		continue;
	slash:
		if (i + 1 < n && s[i + 1] == '*') {
			scan_block_comment(s, n, i, &t);
			SET_STOP(san_block_comment(&z, i, t.end));
			i = t.end;
			continue;
		}
		prev = PV_VALUE;
		i++;
		continue;
	quote:
		/*
		 * A plain '...' may be a target of the summary (in a FROM list): its bytes
		 * count in the shape.
		 */
		scan_string(s, n, i, false, &t);
		SET_STOP(san_replace(&z, i, t.end, '?'));
		prev = PV_VALUE;
		i = t.end;
		continue;
	dquote:
		t.open = false;
		scan_qident(s, n, i, &t);
		j = i;
		i = t.end;
	qident:
		/* Unclosed, it would swallow the rest of the text, whatever that holds. */
		if (otelp_unlikely(t.open)) {
			SET_STOP(san_replace(&z, j, i, '?'));
			prev = PV_VALUE;
			continue;
		}
		prev = PV_OPERAND;
		/* "t"."c", "c", "c" = ...: no switch. */
		if (i < stop) {
			if (sclass[s[i]] == S_DOT)
				goto dot;
			if (sclass[s[i]] == S_OP)
				goto op;
		}
		continue;
	dollar:
		j = i + 1;
		if (j < n && is_digit(s[j])) {
			while (j < n && is_digit(s[j]))
				j++;
			i = j;
			prev = PV_OPERAND;
			continue;
		}
		while (j < n && is_tagchar(s[j]))
			j++;
		if (j < n && s[j] == '$') {
			t.open = false;
			scan_dollar(s, n, i, j + 1 - i, &t);
			SET_STOP(san_literal(&z, shape, i, t.end, TK_DOLLAR, t.open, '$'));
			prev = PV_VALUE;
			i = t.end;
			continue;
		}
		/* a lone `$`: not valid SQL, an operator byte for us */
		prev = PV_VALUE;
		i++;
		continue;
	close:
		prev = PV_OPERAND;
		i++;
		continue;
	op:
		prev = PV_VALUE;
		i++;
		i += i < n && s[i] == ' ';
		/* `, name`, `(name`, `= name`: no switch. */
		if (i < wstop && sclass[s[i]] == S_WORD)
			goto word;
		if (i < stop && s[i] == '"')
			goto dquote;
		continue;
	number:
		SET_STOP(san_literal(&z, shape, i, j, TK_NUMBER, false, s[i]));
		prev = PV_VALUE;
		i = j;
	}
#undef SET_STOP
	return san_finish(&z, i, shape);
}

/* ------------------------------------------------------------------------------------------
 * Summary
 */

enum mode {
	M_START,    /* before a statement's first token */
	M_QUERY,    /* in a query */
	M_DDL_TYPE, /* after CREATE / ALTER / DROP: modifiers, then the object type */
	M_DDL_NAME, /* after the object type: IF NOT EXISTS, then the name */
	M_NAME,     /* after a CMD_NAME command: the name */
	M_SKIP,     /* nothing more from this statement */
};

enum expect {
	E_NONE,
	E_FROM,       /* a table after FROM, JOIN, USING, a FROM list's comma */
	E_TABLE,      /* a table after UPDATE */
	E_INTO,       /* a table after INTO */
	E_INTO_TABLE, /* after INTO TEMP: TABLE, then the table */
};

struct summ {
	const char *q;
	size_t n;
	struct out o;
	enum mode mode;
	enum expect expect;
	unsigned char prev_kw; /* enum kwid of the last significant token */
	bool setop;            /* just after UNION / INTERSECT / EXCEPT [ALL] [(] */
	bool copy;             /* M_NAME of COPY: ( starts a query */
	bool body;             /* M_SKIP of CREATE / ALTER: BEGIN ... END may hold `;` */
	unsigned block;        /* BEGIN ... END depth in such a body */
	size_t depth;          /* parenthesis level */
	uint64_t query;        /* per level (the last bit for every level >= 63): a query began */
	uint64_t from;         /* per level: in a FROM list */
	/* A target being read: q[ps..pe), a name and maybe more `.name` parts. */
	bool pend, pend_dot, pend_from, pend_skip;
	size_t ps, pe, dot_end;
};

static inline uint64_t level_bit(size_t depth)
{
	return (uint64_t)1 << (depth < 63 ? depth : 63);
}

/* Write one token, after a space, if it fits whole; otherwise write nothing more, ever. */
static void emit(struct summ *s, size_t start, size_t len)
{
	size_t need = len + (s->o.len ? 1 : 0);

	if (s->o.full || need > s->o.cap - s->o.len) {
		s->o.full = true;
		return;
	}
	if (s->o.len)
		s->o.p[s->o.len++] = ' ';
	memcpy(s->o.p + s->o.len, s->q + start, len);
	s->o.len += len;
}

static void statement_reset(struct summ *s)
{
	s->mode = M_START;
	s->expect = E_NONE;
	s->setop = s->copy = s->body = false;
	s->block = 0;
	s->depth = 0;
	s->query = s->from = 0;
}

/* Whether t can be a target; from: after FROM, where the conventions take a '...' too. */
static bool name_like(const struct tok *t, const struct kw *k, bool from)
{
	switch (t->kind) {
	case TK_WORD:
		return !(k && (k->flags & F_NOTNAME));
	case TK_QIDENT:
		return !t->open;
	case TK_STRING:
		return from && t->plain && !t->open;
	default:
		return false;
	}
}

static void pending_start(struct summ *s, const struct tok *t, bool from, bool skip)
{
	s->pend = true;
	s->pend_dot = false;
	s->pend_from = from;
	s->pend_skip = skip;
	s->ps = t->start;
	s->pe = t->end;
}

/*
 * The token after a target decides: after FROM, a name followed by ( is a function. A target
 * never comes first: without an operation before it (garbage, or INTO in an odd place) the
 * summary stays empty.
 */
static void pending_end(struct summ *s, bool paren)
{
	if (!(s->pend_from && paren) && s->o.len > 0)
		emit(s, s->ps, s->pe - s->ps);
	s->pend = false;
	if (s->pend_skip)
		s->mode = M_SKIP;
}

static void query_token(struct summ *s, const struct tok *t, const struct kw *k)
{
	const char *q = s->q;
	unsigned char id = k ? k->id : K_NONE;
	uint64_t bit = level_bit(s->depth);
	bool keep_setop = false;

	if (s->expect != E_NONE) {
		if (k && (k->flags & F_TSKIP))
			return;
		/* SELECT ... INTO TEMP TABLE t: temp is a fine table name elsewhere. */
		if (s->expect == E_INTO && id == K_TEMP) {
			s->expect = E_INTO_TABLE;
			return;
		}
		if (s->expect == E_INTO_TABLE && id == K_TABLE) {
			s->expect = E_INTO;
			return;
		}
		bool from = s->expect == E_FROM;

		s->expect = E_NONE;
		if (name_like(t, k, from)) {
			pending_start(s, t, from, false);
			s->setop = false;
			return;
		}
	}
	if (tok_op(q, t, '(')) {
		s->depth++;
		bit = level_bit(s->depth);
		s->query &= ~bit;
		s->from &= ~bit;
		keep_setop = true;
	} else if (tok_op(q, t, ')')) {
		if (s->depth > 0)
			s->depth--;
	} else if (tok_op(q, t, ',')) {
		if (s->from & bit)
			s->expect = E_FROM;
	} else if (k) {
		switch (id) {
		case K_SELECT:
			s->query |= bit;
			s->from &= ~bit;
			/*
			 * The test vectors: `A UNION SELECT B` is `SELECT A B`. Unless nothing was
			 * written yet (WITH t AS (VALUES (1) UNION SELECT ...)).
			 */
			if (!s->setop || s->o.len == 0)
				emit(s, t->start, t->end - t->start);
			break;
		case K_INSERT:
			/* MERGE's THEN INSERT is part of the MERGE. */
			if (s->prev_kw == K_THEN)
				break;
			s->query |= bit;
			emit(s, t->start, t->end - t->start);
			break;
		case K_MERGE:
			s->query |= bit;
			emit(s, t->start, t->end - t->start);
			break;
		case K_UPDATE:
			/* FOR [NO KEY] UPDATE, DO UPDATE, ON UPDATE, MERGE's THEN UPDATE. */
			if (s->prev_kw == K_FOR || s->prev_kw == K_KEY || s->prev_kw == K_DO ||
			    s->prev_kw == K_ON || s->prev_kw == K_THEN)
				break;
			s->query |= bit;
			emit(s, t->start, t->end - t->start);
			s->expect = E_TABLE;
			break;
		case K_DELETE:
			if (s->prev_kw == K_ON || s->prev_kw == K_THEN)
				break;
			s->query |= bit;
			emit(s, t->start, t->end - t->start);
			break;
		case K_FROM:
			/* Not IS DISTINCT FROM, not EXTRACT(x FROM y). */
			if ((s->query & bit) && s->prev_kw != K_DISTINCT) {
				s->from |= bit;
				s->expect = E_FROM;
			}
			break;
		case K_JOIN:
		case K_USING:
			if (s->query & bit)
				s->expect = E_FROM;
			break;
		case K_INTO:
			s->expect = E_INTO;
			break;
		case K_UNION:
		case K_INTERSECT:
		case K_EXCEPT:
			s->setop = keep_setop = true;
			s->from &= ~bit;
			break;
		case K_ALL:
		case K_DISTINCT:
			keep_setop = true;
			break;
		default:
			if (k->flags & F_ENDFROM)
				s->from &= ~bit;
			break;
		}
	}
	if (!keep_setop)
		s->setop = false;
}

static void statement_first(struct summ *s, const struct tok *t, const struct kw *k)
{
	if (tok_op(s->q, t, '(')) {
		s->mode = M_QUERY;
		query_token(s, t, k);
		return;
	}
	switch (k ? k->cmd : CMD_NONE) {
	case CMD_QUERY:
		s->mode = M_QUERY;
		query_token(s, t, k);
		break;
	case CMD_WITH:
		s->mode = M_QUERY;
		break;
	case CMD_PREFIX:
		emit(s, t->start, t->end - t->start);
		s->mode = M_QUERY;
		break;
	case CMD_DDL:
		emit(s, t->start, t->end - t->start);
		s->mode = M_DDL_TYPE;
		s->body = k->id == K_CREATE || k->id == K_ALTER;
		break;
	case CMD_NAME:
		emit(s, t->start, t->end - t->start);
		s->mode = M_NAME;
		s->copy = k->id == K_COPY;
		break;
	case CMD_OTHER:
		emit(s, t->start, t->end - t->start);
		s->mode = M_SKIP;
		break;
	default:
		s->mode = M_SKIP;
		break;
	}
}

/*
 * A function or trigger body in the statement (BEGIN ATOMIC ... END in PostgreSQL, AS BEGIN
 * ... END elsewhere) holds `;` that do not end it.
 */
static void body_token(struct summ *s, const struct kw *k)
{
	unsigned char id = k ? k->id : K_NONE;

	if ((id == K_ATOMIC && s->prev_kw == K_BEGIN) || (id == K_BEGIN && s->prev_kw == K_AS) ||
	    (id == K_CASE && s->block > 0))
		s->block++;
	else if (id == K_END && s->block > 0)
		s->block--;
}

static void summary_token(struct summ *s, const struct tok *t)
{
	const char *q = s->q;
	const struct kw *k = NULL;

	if (s->pend) {
		/* a.b."c": parts written together, nothing between them. */
		if (!s->pend_dot && t->start == s->pe && tok_op(q, t, '.')) {
			s->pend_dot = true;
			s->dot_end = t->end;
			return;
		}
		if (s->pend_dot && t->start == s->dot_end &&
		    (t->kind == TK_WORD || (t->kind == TK_QIDENT && !t->open))) {
			s->pe = t->end;
			s->pend_dot = false;
			return;
		}
		pending_end(s, tok_op(q, t, '('));
		if (s->o.full)
			return;
	}
	/*
	 * Keywords matter everywhere except in a skipped statement without a body and in
	 * qualified names: o.id, t.from (any keyword may follow a dot), s.t.
	 */
	if (t->kind == TK_WORD && (s->mode != M_SKIP || s->body) &&
	    !(t->start > 0 && q[t->start - 1] == '.') &&
	    !(t->end + 1 < s->n && q[t->end] == '.' &&
	      (cclass[(unsigned char)q[t->end + 1]] & C_IDSTART)))
		k = kw_find(q + t->start, t->end - t->start);
	if (s->mode == M_SKIP && s->body)
		body_token(s, k);
	if (tok_op(q, t, ';') && s->block == 0) {
		statement_reset(s);
		s->prev_kw = K_NONE;
		return;
	}
	switch (s->mode) {
	case M_START:
		statement_first(s, t, k);
		break;
	case M_QUERY:
		query_token(s, t, k);
		break;
	case M_DDL_TYPE:
		if (t->kind != TK_WORD) {
			s->mode = M_SKIP;
		} else if (!(k && (k->flags & F_DDLMOD))) {
			emit(s, t->start, t->end - t->start);
			if (!(k && (k->flags & F_DDLTYPE2)))
				s->mode = M_DDL_NAME;
		}
		break;
	case M_DDL_NAME:
	case M_NAME:
		if (k && (k->flags & (s->mode == M_NAME ? F_NAMESKIP : F_DDLSKIP)))
			break;
		if (s->mode == M_NAME && s->copy && tok_op(q, t, '(')) {
			/* COPY (query) TO ... */
			s->mode = M_QUERY;
			query_token(s, t, k);
		} else if (name_like(t, k, false)) {
			pending_start(s, t, false, true);
		} else {
			s->mode = M_SKIP;
		}
		break;
	case M_SKIP:
		break;
	}
	s->prev_kw = k ? k->id : K_NONE;
}

size_t otelp__sql_summary(const char *q, size_t n, char *out, size_t cap)
{
	struct summ s;
	struct tok t;

	memset(&s, 0, sizeof(s));
	s.q = q;
	s.n = n;
	s.o.p = out;
	s.o.cap = out ? (cap < OTELP_SQL_SUMMARY_MAX ? cap : OTELP_SQL_SUMMARY_MAX) : 0;
	if (!q)
		n = 0;
	for (size_t i = 0; i < n && !s.o.full; i = t.end) {
		lex(q, n, i, false, &t);
		if (t.kind != TK_SPACE && t.kind != TK_LINE_COMMENT && t.kind != TK_BLOCK_COMMENT)
			summary_token(&s, &t);
	}
	if (s.pend && !s.o.full)
		pending_end(&s, false);
	return s.o.len;
}

/* ------------------------------------------------------------------------------------------
 * SQL commenter
 */

bool otelp__sql_comment_at(const char *q, size_t n, size_t *at, bool *in_line_comment)
{
	size_t i = 0, sig_end = 0, before_semi = 0;
	bool semi_last = false, line = false;
	struct tok t;

	if (!q)
		n = 0;
	if (at)
		*at = n;
	if (in_line_comment)
		*in_line_comment = false;
	while (i < n) {
		lex(q, n, i, false, &t);
		if (t.open) {
			/* Only a line comment can be left open at the end: it ends at the newline.
			 */
			if (t.kind != TK_LINE_COMMENT)
				return false;
			line = true;
		}
		if (t.kind != TK_SPACE) {
			/* Comments count: a comment before `;` stays before it. */
			semi_last = tok_op(q, &t, ';');
			if (semi_last)
				before_semi = sig_end;
			/* A line comment reaches past its newline: nothing may go before that. */
			sig_end = t.kind == TK_LINE_COMMENT && t.end < n ? t.end + 1 : t.end;
		}
		i = t.end;
	}
	if (line) {
		if (in_line_comment)
			*in_line_comment = true;
	} else if (semi_last && at) {
		*at = before_semi;
	}
	return true;
}
