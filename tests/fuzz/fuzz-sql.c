/*
 * libFuzzer target for src/sql.c.
 *
 * The input is the SQL text, copied into a heap buffer of exactly its length (no NUL) so that
 * ASan reports any read past its end. Every output buffer is also allocated at exactly its
 * capacity. All three functions run on it; what is checked (abort on violation):
 *
 * otelp__sql_sanitize, for capacities 0 (NULL buffer), 1, 2, 5, 16, 64, 255, n/2, n and n + 1:
 *  - the length returned is at most the capacity, and the whole result is never longer than
 *    the input (a literal becomes one `?`, a comment at most one space);
 *  - a cut result is a prefix of the whole one, at most 3 bytes shorter than the capacity
 *    (what a cut may drop is an incomplete UTF-8 sequence, never more);
 *  - sanitizing the whole result again gives it back unchanged: it holds no literal and no
 *    comment left to replace. This holds for any input because the lexer reads the output the
 *    way it read the input: every literal became `?`, which is read as an operator byte and,
 *    like a literal, lets a following sign be unary; a removed block comment leaves a space
 *    wherever dropping it could have joined two tokens.
 *
 * otelp__sql_summary, for the same capacities:
 *  - at most min(capacity, OTELP_SQL_SUMMARY_MAX) bytes;
 *  - a cut summary is a prefix of the whole one, cut between tokens (empty, or followed by a
 *    space in the whole one).
 * Not checked: that the summary of the sanitized text equals that of the text. It does not hold
 * in general, and should not: a plain '...' in a FROM list is a target (the conventions'
 * example), gone once sanitized, and so is an unclosed "identifier".
 *
 * otelp__sql_sanitize_shape:
 *  - the same output as otelp__sql_sanitize; a shape (non-zero) exactly when not cut;
 *  - one shape, one summary: the text with every digit changed (d -> d+1 mod 10), and the
 *    text with every letter's case swapped, when they have the text's shape, have its summary
 *    too (the summaries kept by shape, sqlcache.c, rely on this).
 *
 * otelp__sql_comment_at:
 *  - the offset is at most n; bytes after it are blanks around exactly one `;`, or none;
 *  - *in_line_comment only with the offset at the end of the text;
 *  - when it says a comment may go there, inserting the block comment COMMENT there (after a
 *    newline when in a line comment) leaves the summary unchanged, and the sanitized text too
 *    but for one blank (the space a removed comment may leave, or that newline): the comment
 *    really is a comment, outside every quote, and ends nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

#define COMMENT "/*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/"

static char *xmalloc(size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static char *copy_exact(const char *s, size_t n)
{
	char *p = xmalloc(n);

	if (n)
		memcpy(p, s, n);
	return p;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void check_sanitize(const char *q, size_t n, const size_t *caps, size_t ncaps)
{
	size_t fcap = n + 1;
	char *full = xmalloc(fcap);
	size_t fl = otelp__sql_sanitize(q, n, full, fcap);

	CHECK(fl <= n);
	for (size_t c = 0; c < ncaps; c++) {
		size_t cap = caps[c];
		char *o = cap ? xmalloc(cap) : NULL;
		size_t r = otelp__sql_sanitize(q, n, o, cap);

		CHECK(r <= cap);
		CHECK(r <= fl);
		CHECK(r == fl || r + 3 >= (cap < fl ? cap : fl));
		CHECK(r == 0 || memcmp(o, full, r) == 0);
		free(o);
	}

	/* Idempotent, on an exactly sized copy of the result. */
	char *again = copy_exact(full, fl), *twice = xmalloc(fl + 1);
	size_t tl = otelp__sql_sanitize(again, fl, twice, fl + 1);

	CHECK(tl == fl);
	CHECK(fl == 0 || memcmp(twice, full, fl) == 0);
	free(twice);
	free(again);
	free(full);
}

static size_t check_summary(const char *q, size_t n, const size_t *caps, size_t ncaps, char *full)
{
	size_t fl = otelp__sql_summary(q, n, full, OTELP_SQL_SUMMARY_MAX);

	CHECK(fl <= OTELP_SQL_SUMMARY_MAX);
	for (size_t c = 0; c < ncaps; c++) {
		size_t cap = caps[c];
		char *o = cap ? xmalloc(cap) : NULL;
		size_t r = otelp__sql_summary(q, n, o, cap);

		CHECK(r <= cap && r <= OTELP_SQL_SUMMARY_MAX);
		CHECK(r <= fl);
		CHECK(r == 0 || memcmp(o, full, r) == 0);
		CHECK(r == 0 || r == fl || full[r] == ' ');
		free(o);
	}
	return fl;
}

static void check_comment_at(const char *q, size_t n, const char *summary, size_t sl)
{
	size_t at = 12345;
	bool lc = true;

	if (!otelp__sql_comment_at(q, n, &at, &lc)) {
		CHECK(at <= n);
		return;
	}
	CHECK(at <= n);
	CHECK(!lc || at == n);
	if (at < n) {
		size_t semis = 0;

		for (size_t i = at; i < n; i++) {
			CHECK(q[i] == ';' || blank(q[i]));
			semis += q[i] == ';';
		}
		CHECK(semis == 1);
	}

	size_t cl = sizeof(COMMENT) - 1, n2 = n + cl + (lc ? 1 : 0);
	char *q2 = xmalloc(n2), *p = q2;

	memcpy(p, q, at);
	p += at;
	if (lc)
		*p++ = '\n';
	memcpy(p, COMMENT, cl);
	p += cl;
	memcpy(p, q + at, n - at);

	char s2[OTELP_SQL_SUMMARY_MAX];
	size_t s2l = otelp__sql_summary(q2, n2, s2, sizeof(s2));

	CHECK(s2l == sl && memcmp(s2, summary, sl) == 0);

	/* Sanitized, the comment is gone: at most a blank more than without it. */
	char *t1 = xmalloc(n + 1), *t2 = xmalloc(n2 + 1);
	size_t t1l = otelp__sql_sanitize(q, n, t1, n + 1),
	       t2l = otelp__sql_sanitize(q2, n2, t2, n2 + 1);
	size_t d = 0;

	while (d < t1l && d < t2l && t1[d] == t2[d])
		d++;
	if (t2l == t1l) {
		CHECK(d == t1l);
	} else {
		CHECK(t2l == t1l + 1);
		CHECK(t2[d] == ' ' || t2[d] == '\n');
		CHECK(memcmp(t2 + d + 1, t1 + d, t1l - d) == 0);
	}
	free(t2);
	free(t1);
	free(q2);
}

static uint64_t shape_of(const char *q, size_t n)
{
	char *o = xmalloc(n + 1);
	uint64_t shape = 7;
	size_t l = otelp__sql_sanitize_shape(q, n, o, n + 1, 42, &shape), l0;
	char *o0 = xmalloc(n + 1);

	l0 = otelp__sql_sanitize(q, n, o0, n + 1);
	CHECK(l == l0 && memcmp(o, o0, l) == 0);
	CHECK(shape != 0);
	free(o0);
	free(o);
	return shape;
}

static void check_shape(const char *q, size_t n, const char *summary, size_t sl)
{
	uint64_t shape = shape_of(q, n), cut = 7;
	char small[4];

	if (n > sizeof(small)) {
		otelp__sql_sanitize_shape(q, n, small, sizeof(small), 42, &cut);
		/* Cut unless the sanitized text is that short. */
		char *o = xmalloc(n + 1);
		if (otelp__sql_sanitize(q, n, o, n + 1) > sizeof(small))
			CHECK(cut == 0);
		free(o);
	}
	for (int m = 0; m < 2; m++) {
		char *v = copy_exact(q, n);
		char s2[OTELP_SQL_SUMMARY_MAX];

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)v[i];
			if (m == 0 && c >= '0' && c <= '9')
				v[i] = (char)('0' + (c - '0' + 1) % 10);
			else if (m == 1 && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
				v[i] = (char)(c ^ 0x20);
		}
		if (shape_of(v, n) == shape) {
			size_t l2 = otelp__sql_summary(v, n, s2, sizeof(s2));
			CHECK(l2 == sl && memcmp(s2, summary, sl) == 0);
		}
		free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = copy_exact((const char *)data, size);
	const size_t caps[] = {0, 1, 2, 5, 16, 64, 255, size / 2, size, size + 1};
	char summary[OTELP_SQL_SUMMARY_MAX];

	check_sanitize(q, size, caps, sizeof(caps) / sizeof(caps[0]));
	size_t sl = check_summary(q, size, caps, sizeof(caps) / sizeof(caps[0]), summary);

	check_comment_at(q, size, summary, sl);
	check_shape(q, size, summary, sl);
	free(q);
	return 0;
}
