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
 *
 * Differential check against sql-ref.c (src/sql.c before its sanitizer was rewritten for
 * speed, included here under other names): for every input, the same return value, output
 * bytes and shape from otelp__sql_sanitize_shape (seeds 0, 42 and one drawn from the input,
 * with and without a shape, capacities 0 with and without a buffer, 1 to 8, around n/2 and n,
 * and a few drawn from the input) and from otelp__sql_sanitize, otelp__sql_summary and
 * otelp__sql_comment_at. The shapes key the summary cache: they must not change.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

/* The reference, as ref__sql_*. */
#define otelp__sql_sanitize       ref__sql_sanitize
#define otelp__sql_sanitize_shape ref__sql_sanitize_shape
#define otelp__sql_summary        ref__sql_summary
#define otelp__sql_comment_at     ref__sql_comment_at
size_t otelp__sql_sanitize(const char *q, size_t n, char *out, size_t cap);
size_t otelp__sql_sanitize_shape(const char *q, size_t n, char *out, size_t cap, uint64_t seed,
                                 uint64_t *shape);
size_t otelp__sql_summary(const char *q, size_t n, char *out, size_t cap);
bool otelp__sql_comment_at(const char *q, size_t n, size_t *at, bool *in_line_comment);
#include "sql-ref.c"
#undef otelp__sql_sanitize
#undef otelp__sql_sanitize_shape
#undef otelp__sql_summary
#undef otelp__sql_comment_at

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

/* One sanitizer call against the reference's, both into buffers of exactly cap bytes. */
static void diff_sanitize(const char *q, size_t n, size_t cap, bool buffer, uint64_t seed,
                          bool with_shape)
{
	char *o = buffer ? xmalloc(cap) : NULL, *r = buffer ? xmalloc(cap) : NULL;
	uint64_t h = 7, rh = 7;
	size_t l = otelp__sql_sanitize_shape(q, n, o, cap, seed, with_shape ? &h : NULL);
	size_t rl = ref__sql_sanitize_shape(q, n, r, cap, seed, with_shape ? &rh : NULL);

	CHECK(l == rl);
	CHECK(l <= cap);
	CHECK(l == 0 || memcmp(o, r, l) == 0);
	CHECK(h == rh);
	if (seed == 0 && !with_shape) {
		l = otelp__sql_sanitize(q, n, o, cap);
		CHECK(l == rl);
		CHECK(l == 0 || memcmp(o, r, l) == 0);
	}
	free(r);
	free(o);
}

static void check_reference(const char *q, size_t n)
{
	/* Drawn from the input (FNV-1a), so that a failure reproduces. */
	uint64_t x = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		x = (x ^ (unsigned char)q[i]) * 0x100000001b3ull;
	const uint64_t seeds[] = {0, 42, x ^ (x >> 31)};

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		uint64_t seed = seeds[s];

		diff_sanitize(q, n, 0, false, seed, true);
		diff_sanitize(q, n, 0, true, seed, true);
		diff_sanitize(q, n, n + 1, true, seed, false);
		for (size_t c = 1; c <= 8; c++)
			diff_sanitize(q, n, c, true, seed, true);
		for (size_t c = n / 2 > 2 ? n / 2 - 2 : 0; c <= n / 2 + 2; c++)
			diff_sanitize(q, n, c, true, seed, true);
		for (size_t c = n > 4 ? n - 4 : 0; c <= n + 2; c++)
			diff_sanitize(q, n, c, true, seed, true);
		for (int k = 0; k < 4; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			diff_sanitize(q, n, (size_t)(x >> 33) % (n + 2), true, seed, k & 1);
		}
	}

	char s1[OTELP_SQL_SUMMARY_MAX], s2[OTELP_SQL_SUMMARY_MAX];
	const size_t scaps[] = {0, 1, 7, 64, OTELP_SQL_SUMMARY_MAX};

	for (size_t c = 0; c < sizeof(scaps) / sizeof(scaps[0]); c++) {
		size_t l1 = otelp__sql_summary(q, n, s1, scaps[c]);
		size_t l2 = ref__sql_summary(q, n, s2, scaps[c]);

		CHECK(l1 == l2 && (l1 == 0 || memcmp(s1, s2, l1) == 0));
	}

	size_t at1 = 1, at2 = 2;
	bool lc1 = false, lc2 = true;

	CHECK(otelp__sql_comment_at(q, n, &at1, &lc1) == ref__sql_comment_at(q, n, &at2, &lc2));
	CHECK(at1 == at2 && lc1 == lc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = copy_exact((const char *)data, size);
	const size_t caps[] = {0, 1, 2, 5, 16, 64, 255, size / 2, size, size + 1};
	char summary[OTELP_SQL_SUMMARY_MAX];

	check_reference(q, size);
	check_sanitize(q, size, caps, sizeof(caps) / sizeof(caps[0]));
	size_t sl = check_summary(q, size, caps, sizeof(caps) / sizeof(caps[0]), summary);

	check_comment_at(q, size, summary, sl);
	check_shape(q, size, summary, sl);
	free(q);
	return 0;
}
