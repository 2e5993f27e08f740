/*
 * libFuzzer target for src/redisq.c.
 *
 * Input: byte 0 chooses the path (bit 0), the mode of the small-capacity run (bits 1-2), the
 * argvlen form (bit 3) and the argument type pattern (bits 4-5); bytes 1-2 are a small capacity;
 * the rest is the payload.
 *
 * argv path: the payload is cut into arguments (a length byte, then that many bytes; binary),
 * each an exact heap copy. Checked against a model: raw text = arguments joined by spaces,
 * facts (argc, name, SELECT index, subscribe) computed here independently, every mode agreeing
 * on the facts, any capacity giving a prefix of the full text and nothing written past it.
 *
 * Format path: the payload up to its first NUL is a hiredis format, the rest seeds the values.
 * A va_list can only be built by a call, so the call is fixed: 48 slots whose types follow one
 * of three 6-type patterns (char *, (void *, size_t), int, long, long long, double). The format
 * is rewritten so that its k-th consuming conversion matches slot k's type ("%s" becomes "%d" on
 * an int slot; flags, width and precision are kept, width and precision cut to 3 digits so that
 * snprintf stays fast); "%%", literal bytes, invalid specs and specs that run into the end of
 * the format are kept as they are. A format with more conversions than slots has its extra
 * ones turned into "%%". So the va_list is always consumed with the types it was built with.
 * The rewritten format is then interpreted here (hiredis' rules, re-implemented independently,
 * printing conversions with snprintf) into arguments, and redisq must agree: same validity,
 * raw text = those arguments joined, and every mode equal to the argv path on them.
 *
 * The fast path (otelp__redisq_fast_fmt/_argv + _text), whenever it takes a command, must give
 * exactly what the general path gave: facts, text length and bytes, in every mode and at the
 * small capacity too.
 *
 * A failed invariant calls abort().
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redisq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define MAXA      2048 /* arguments (a format of FMT_CAP bytes makes at most 1024) */
#define MODEL_CAP (1u << 19)
#define FMT_CAP   2048
#define NSLOTS    48
#define LONGCONV  511 /* a printf conversion longer than this may cut one byte short of cap */

/* ---- the model's arguments ---- */

struct model {
	int argc;
	size_t off[MAXA];
	size_t len[MAXA];
	size_t used;
	bool ok;
	bool longconv;
	bool touched;
	char *buf; /* MODEL_CAP */
};

static void m_begin(struct model *m)
{
	if (!m->touched) {
		CHECK(m->argc < MAXA);
		m->off[m->argc] = m->used;
		m->len[m->argc] = 0;
		m->argc++;
		m->touched = true;
	}
}

static void m_add(struct model *m, const void *p, size_t n)
{
	m_begin(m);
	CHECK(m->used + n <= MODEL_CAP);
	if (n)
		memcpy(m->buf + m->used, p, n);
	m->used += n;
	m->len[m->argc - 1] += n;
}

static size_t m_join(const struct model *m, char *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < m->argc; i++) {
		if (i) {
			CHECK(n < cap);
			out[n++] = ' ';
		}
		CHECK(n + m->len[i] <= cap);
		memcpy(out + n, m->buf + m->off[i], m->len[i]);
		n += m->len[i];
	}
	return n;
}

/* ---- independent facts ---- */

static bool ci_eq(const char *p, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != lit[i])
			return false;
	}
	return true;
}

static long want_db(int argc, char *const *argv, const size_t *len)
{
	if (argc != 2 || !ci_eq(argv[0], len[0], "SELECT"))
		return -1;
	const char *p = argv[1];
	size_t n = len[1];
	if (n == 0 || n > 10 || (p[0] == '0' && n > 1))
		return -1;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= INT_MAX ? (long)v : -1;
}

static bool want_sub(const char *p, size_t n)
{
	return ci_eq(p, n, "SUBSCRIBE") || ci_eq(p, n, "PSUBSCRIBE") || ci_eq(p, n, "SSUBSCRIBE") ||
	       ci_eq(p, n, "MONITOR");
}

static void check_facts(const struct otelp_redisq *q, int argc, char *const *argv,
                        const size_t *len)
{
	CHECK(q->argc == argc);
	size_t nl = len[0] < 63 ? len[0] : 63;
	CHECK(q->name_len == nl);
	CHECK(memcmp(q->name, argv[0], nl) == 0 && q->name[nl] == '\0');
	CHECK(q->select_db == want_db(argc, argv, len));
	CHECK(q->subscribe == want_sub(argv[0], len[0]));
}

static void same_facts(const struct otelp_redisq *a, const struct otelp_redisq *b)
{
	CHECK(a->argc == b->argc && a->name_len == b->name_len);
	CHECK(memcmp(a->name, b->name, a->name_len + 1) == 0);
	CHECK(a->select_db == b->select_db && a->subscribe == b->subscribe);
}

/* The fast path took the command: the same as the general path (q, text) at capacity cap. */
static void same_as_fast(const struct otelp_redisq_args *a, const struct otelp_redisq *q,
                         const char *text, size_t cap)
{
	CHECK(a->argc == q->argc && a->len[0] == q->name_len && a->len[0] >= 1);
	CHECK(memcmp(a->arg[0], q->name, q->name_len) == 0);
	CHECK(a->select_db == q->select_db && a->subscribe == q->subscribe);
	CHECK(a->text_len <= cap && a->text_len == q->text_len);
	char *t = malloc(a->text_len ? a->text_len : 1);
	otelp__redisq_fast_text(a, t);
	CHECK(a->text_len == 0 || memcmp(t, text, a->text_len) == 0);
	free(t);
}

static void check_zeroed(const struct otelp_redisq *q)
{
	CHECK(q->argc == 0 && q->name_len == 0 && q->name[0] == '\0' && q->text_len == 0);
	CHECK(q->select_db == -1 && !q->subscribe);
}

/* The argv path in all three modes with a big capacity; texts in full[mode], lengths in fl. */
static void argv_all(int argc, char *const *argv, const size_t *len, bool use_len, char **full,
                     size_t big, size_t *fl, struct otelp_redisq *q)
{
	for (int m = 0; m < 3; m++) {
		bool ok = otelp__redisq_argv(argc, (const char *const *)argv, use_len ? len : NULL,
		                             (enum otelp_redisq_mode)m, full[m], big, &q[m]);
		CHECK(ok == (argc >= 1));
		if (!ok) {
			check_zeroed(&q[m]);
			continue;
		}
		check_facts(&q[m], argc, argv, len);
		CHECK(q[m].text_len <= big);
		fl[m] = q[m].text_len;
	}
	if (argc < 1)
		return;
	CHECK(fl[OTELP_REDISQ_NONE] == 0);
	/* sanitized: the name first, then each argument either as is or "?" */
	CHECK(fl[OTELP_REDISQ_SANITIZED] >= len[0]);
	CHECK(memcmp(full[OTELP_REDISQ_SANITIZED], argv[0], len[0]) == 0);
	size_t raw = fl[OTELP_REDISQ_RAW];
	CHECK(fl[OTELP_REDISQ_SANITIZED] <= raw + (size_t)argc);
}

/* ---- argv path ---- */

static void fuzz_argv(uint8_t ctl, size_t small, const uint8_t *p, size_t n)
{
	static char *argv[MAXA];
	static size_t len[MAXA];
	bool use_len = ctl & 8;
	int argc = 0;

	while (n && argc < MAXA) {
		size_t l = p[0];
		p++;
		n--;
		if (l > n)
			l = n;
		if (!use_len) {
			const uint8_t *z = memchr(p, 0, l);
			size_t sl = z ? (size_t)(z - p) : l;
			argv[argc] = malloc(sl + 1);
			memcpy(argv[argc], p, sl);
			argv[argc][sl] = '\0';
			len[argc] = sl;
		} else {
			argv[argc] = malloc(l ? l : 1);
			memcpy(argv[argc], p, l);
			len[argc] = l;
		}
		argc++;
		p += l;
		n -= l;
	}

	/* raw: the bytes and argc - 1 spaces; sanitized: at most one more byte per argument */
	size_t total = 2 * (size_t)argc;
	for (int i = 0; i < argc; i++)
		total += len[i];
	size_t big = total + 16;
	char *full[3];
	size_t fl[3] = {0, 0, 0};
	struct otelp_redisq q[3];
	for (int m = 0; m < 3; m++)
		full[m] = malloc(big);
	argv_all(argc, argv, len, use_len, full, big, fl, q);
	for (int m = 0; m < 3 && argc >= 1; m++) {
		struct otelp_redisq_args a;
		if (otelp__redisq_fast_argv(argc, (const char *const *)argv, use_len ? len : NULL,
		                            (enum otelp_redisq_mode)m, big, &a))
			same_as_fast(&a, &q[m], full[m], big);
	}
	if (argc >= 1) {
		/* raw = joined */
		char *want = malloc(big);
		size_t wl = 0;
		for (int i = 0; i < argc; i++) {
			if (i)
				want[wl++] = ' ';
			memcpy(want + wl, argv[i], len[i]);
			wl += len[i];
		}
		CHECK(fl[OTELP_REDISQ_RAW] == wl && memcmp(full[OTELP_REDISQ_RAW], want, wl) == 0);
		free(want);

		/* a small capacity: an exact heap buffer, a prefix */
		int m = (ctl >> 1) & 3;
		if (m > 2)
			m = 0;
		char *t = malloc(small ? small : 1);
		struct otelp_redisq qs;
		CHECK(otelp__redisq_argv(argc, (const char *const *)argv, use_len ? len : NULL,
		                         (enum otelp_redisq_mode)m, t, small, &qs));
		same_facts(&qs, &q[m]);
		size_t w = small < fl[m] ? small : fl[m];
		CHECK(qs.text_len == w && memcmp(t, full[m], w) == 0);
		struct otelp_redisq_args a;
		if (otelp__redisq_fast_argv(argc, (const char *const *)argv, use_len ? len : NULL,
		                            (enum otelp_redisq_mode)m, small, &a))
			same_as_fast(&a, &qs, t, small);
		free(t);
	}
	for (int m = 0; m < 3; m++)
		free(full[m]);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

/* ---- format path ---- */

enum slot { S_STR, S_BIN, S_INT, S_LONG, S_LLONG, S_DBL };

static const enum slot patterns[3][6] = {
    {S_STR, S_BIN, S_INT, S_LONG, S_LLONG, S_DBL},
    {S_INT, S_DBL, S_STR, S_LLONG, S_BIN, S_LONG},
    {S_DBL, S_INT, S_INT, S_STR, S_LONG, S_BIN},
};

struct vals {
	const char *s[NSLOTS];
	char *bp[NSLOTS];
	size_t bn[NSLOTS];
	int i[NSLOTS];
	long l[NSLOTS];
	long long q[NSLOTS];
	double d[NSLOTS];
};

static const char *const strs[] = {
    "",       " ",    "a b",       "key",      "%s",         "SELECT",
    "select", "AUTH", "1",         "0",        "2147483647", "01",
    "EVAL",   "HSET", "SUBSCRIBE", "\x80\xff", "  x  ",      "12345678901234567890123456",
};

static uint64_t rng(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static char longstr[700];

static void make_vals(struct vals *v, const uint8_t *p, size_t n)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++)
		s = (s ^ p[i]) * 0x100000001b3ull;
	if (!s)
		s = 1;
	if (!longstr[0]) {
		memset(longstr, 'x', sizeof(longstr) - 1);
	}
	for (int k = 0; k < NSLOTS; k++) {
		uint64_t r = rng(&s);
		size_t ns = sizeof(strs) / sizeof(strs[0]);
		v->s[k] = r % (ns + 1) == ns ? longstr : strs[r % (ns + 1)];
		r = rng(&s);
		size_t bl = n ? (size_t)(r % (n < 64 ? n + 1 : 65)) : 0;
		size_t from = n && bl < n ? (size_t)((r >> 16) % (n - bl + 1)) : 0;
		if (bl == 0 && (r & (1ull << 40))) {
			v->bp[k] = NULL;
		} else {
			v->bp[k] = malloc(bl ? bl : 1);
			if (bl)
				memcpy(v->bp[k], p + from, bl);
		}
		v->bn[k] = bl;
		r = rng(&s);
		v->i[k] = (r & 3) == 0 ? (int)(r >> 8) % 20 : (int)(r >> 8);
		r = rng(&s);
		v->l[k] = (r & 3) == 0 ? (long)((r >> 8) % 20) : (long)r;
		r = rng(&s);
		v->q[k] = (long long)r;
		r = rng(&s);
		if (r & 1) {
			memcpy(&v->d[k], &r, sizeof(double));
		} else {
			v->d[k] = (double)(int64_t)(r >> 20) / 1024.0;
		}
	}
}

static bool is_int_conv(char c)
{
	return c && strchr("diouxX", c) != NULL;
}

static bool is_dbl_conv(char c)
{
	return c && strchr("eEfFgGaA", c) != NULL;
}

/* Rewrite in[0..n) (no NUL inside) into out so the k-th conversion matches pattern slot k. */
static size_t rewrite(const char *in, size_t n, const enum slot *pat, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	int k = 0;

	/* out is big enough: each conversion at most doubles, plus 3 bytes at the end */
#define EMIT(ch)                    \
	do {                        \
		CHECK(o + 1 < cap); \
		out[o++] = (ch);    \
	} while (0)

	while (i < n) {
		char c = in[i];
		if (c != '%' || i + 1 == n) {
			EMIT(c);
			i++;
			continue;
		}
		char nx = in[i + 1];
		if (nx == '%' || k >= NSLOTS) {
			EMIT('%');
			EMIT('%');
			i += 2;
			continue;
		}
		enum slot t = pat[k % 6];
		if (nx == 's' || nx == 'b') {
			static const char *const plain[] = {"%s", "%b", "%d", "%ld", "%lld", "%f"};
			for (const char *x = plain[t]; *x; x++)
				EMIT(*x);
			k++;
			i += 2;
			continue;
		}
		/* a printf spec: flags, width and precision (cut to 3 digits) */
		static char spec[FMT_CAP + 16];
		size_t sl = 0;
		size_t j = i + 1;
		spec[sl++] = '%';
		while (j < n && strchr("#0-+ ", in[j]))
			spec[sl++] = in[j++];
		for (int d = 0; j < n && in[j] >= '0' && in[j] <= '9'; j++, d++)
			if (d < 3)
				spec[sl++] = in[j];
		if (j < n && in[j] == '.') {
			spec[sl++] = in[j++];
			for (int d = 0; j < n && in[j] >= '0' && in[j] <= '9'; j++, d++)
				if (d < 3)
					spec[sl++] = in[j];
		}
		if (j == n) {
			/* the spec runs into the end; long ones consume an int */
			if (sl + 1 >= 14 && t != S_INT) {
				/* make it end with a conversion of the slot's type (or an invalid
				 * one) */
				for (size_t x = 0; x < sl; x++)
					EMIT(spec[x]);
				if (t == S_LONG || t == S_LLONG)
					EMIT('l');
				if (t == S_LLONG)
					EMIT('l');
				EMIT(t == S_DBL ? 'f' : (t == S_STR || t == S_BIN) ? 'y' : 'd');
				k++;
				i = j;
				continue;
			}
			for (size_t x = 0; x < sl; x++)
				EMIT(spec[x]);
			k++;
			i = j;
			continue;
		}
		/* the input's conversion */
		size_t mj = j;
		int mod = 0; /* 0 none, 1 h, 2 hh, 3 l, 4 ll */
		if (in[mj] == 'h' && mj + 1 < n && in[mj + 1] == 'h') {
			mod = 2;
			mj += 2;
		} else if (in[mj] == 'h') {
			mod = 1;
			mj += 1;
		} else if (in[mj] == 'l' && mj + 1 < n && in[mj + 1] == 'l') {
			mod = 4;
			mj += 2;
		} else if (in[mj] == 'l') {
			mod = 3;
			mj += 1;
		}
		char cv = mj < n ? in[mj] : '\0';
		bool valid = mod == 0 ? (is_int_conv(cv) || is_dbl_conv(cv)) : is_int_conv(cv);
		if (!valid) {
			/* kept as is: invalid; nothing after it is consumed */
			for (size_t x = 0; x < sl; x++)
				EMIT(spec[x]);
			i = j;
			k = NSLOTS;
			continue;
		}
		i = mj + 1;
		if (t == S_STR || t == S_BIN) {
			EMIT('%');
			EMIT(t == S_STR ? 's' : 'b');
			k++;
			continue;
		}
		for (size_t x = 0; x < sl; x++)
			EMIT(spec[x]);
		if (t == S_DBL) {
			EMIT(is_dbl_conv(cv) ? cv : "eEfFgGaA"[(unsigned char)cv % 8]);
		} else {
			char ic = is_int_conv(cv) ? cv : "diouxX"[(unsigned char)cv % 6];
			if (t == S_INT) {
				if (mod == 1 || mod == 2)
					EMIT('h');
				if (mod == 2)
					EMIT('h');
			} else {
				EMIT('l');
				if (t == S_LLONG)
					EMIT('l');
			}
			EMIT(ic);
		}
		k++;
	}
	out[o] = '\0';
	return o;
#undef EMIT
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* hiredis' rules on the rewritten format, with the values of pattern pat. */
static void interpret(const char *f, const enum slot *pat, const struct vals *v, struct model *m)
{
	static char tmp[8192];
	const char *c = f;
	int k = 0;

	m->argc = 0;
	m->used = 0;
	m->ok = true;
	m->longconv = false;
	m->touched = false;
	while (*c) {
		if (*c != '%' || c[1] == '\0') {
			if (*c == ' ')
				m->touched = false;
			else
				m_add(m, c, 1);
			c++;
			continue;
		}
		if (c[1] == '%') {
			m_add(m, "%", 1);
			c += 2;
			continue;
		}
		if (c[1] == 's' || c[1] == 'b') {
			CHECK(k < NSLOTS && pat[k % 6] == (c[1] == 's' ? S_STR : S_BIN));
			if (c[1] == 's')
				m_add(m, v->s[k], strlen(v->s[k]));
			else
				m_add(m, v->bp[k], v->bn[k]);
			k++;
			c += 2;
			continue;
		}
		const char *p = c + 1;
		while (*p && strchr("#0-+ ", *p))
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		enum slot t;
		if (*p == '\0' || is_int_conv(*p)) {
			t = S_INT;
		} else if (is_dbl_conv(*p)) {
			t = S_DBL;
		} else if (p[0] == 'h' && p[1] == 'h' && is_int_conv(p[2])) {
			t = S_INT;
			p += 2;
		} else if (p[0] == 'h' && is_int_conv(p[1])) {
			t = S_INT;
			p += 1;
		} else if (p[0] == 'l' && p[1] == 'l' && is_int_conv(p[2])) {
			t = S_LLONG;
			p += 2;
		} else if (p[0] == 'l' && is_int_conv(p[1])) {
			t = S_LONG;
			p += 1;
		} else {
			m->ok = false;
			return;
		}
		size_t l = (size_t)(p + 1 - c);
		if (*p == '\0' && l < 14) {
			m->ok = false; /* hiredis would read past the end */
			return;
		}
		CHECK(k < NSLOTS && pat[k % 6] == t);
		m_begin(m);
		if (l >= 14) {
			k++;
			c += 2;
			continue;
		}
		char spec[16];
		memcpy(spec, c, l);
		spec[l] = '\0';
		int r;
		switch (t) {
		case S_INT:
			r = snprintf(tmp, sizeof(tmp), spec, v->i[k]);
			break;
		case S_LONG:
			r = snprintf(tmp, sizeof(tmp), spec, v->l[k]);
			break;
		case S_LLONG:
			r = snprintf(tmp, sizeof(tmp), spec, v->q[k]);
			break;
		default:
			r = snprintf(tmp, sizeof(tmp), spec, v->d[k]);
			break;
		}
		CHECK(r < (int)sizeof(tmp));
		if (r > 0)
			m_add(m, tmp, (size_t)r);
		if (r > LONGCONV)
			m->longconv = true;
		k++;
		c = p + 1;
	}
}
#pragma GCC diagnostic pop

static bool call_va(const char *fmt, enum otelp_redisq_mode mode, char *text, size_t cap,
                    struct otelp_redisq *q, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, q);
	ok = otelp__redisq_fmt(fmt, ap, mode, text, cap, q);
	va_end(ap);
	return ok;
}

static bool call_fast_va(const char *fmt, enum otelp_redisq_mode mode, size_t cap,
                         struct otelp_redisq_args *a, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, a);
	ok = otelp__redisq_fast_fmt(fmt, ap, mode, cap, a);
	va_end(ap);
	return ok;
}

#define A_S(k) v->s[k]
#define A_B(k) (const void *)v->bp[k], v->bn[k]
#define A_I(k) v->i[k]
#define A_L(k) v->l[k]
#define A_Q(k) v->q[k]
#define A_D(k) v->d[k]
#define P0(j) \
	A_S(6 * j), A_B(6 * j + 1), A_I(6 * j + 2), A_L(6 * j + 3), A_Q(6 * j + 4), A_D(6 * j + 5)
#define P1(j) \
	A_I(6 * j), A_D(6 * j + 1), A_S(6 * j + 2), A_Q(6 * j + 3), A_B(6 * j + 4), A_L(6 * j + 5)
#define P2(j) \
	A_D(6 * j), A_I(6 * j + 1), A_I(6 * j + 2), A_S(6 * j + 3), A_L(6 * j + 4), A_B(6 * j + 5)
#define ALL(P) P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7)

static bool call_fmt(int pat, const char *fmt, const struct vals *v, enum otelp_redisq_mode mode,
                     char *text, size_t cap, struct otelp_redisq *q)
{
	switch (pat) {
	case 0:
		return call_va(fmt, mode, text, cap, q, ALL(P0));
	case 1:
		return call_va(fmt, mode, text, cap, q, ALL(P1));
	default:
		return call_va(fmt, mode, text, cap, q, ALL(P2));
	}
}

static bool call_fast(int pat, const char *fmt, const struct vals *v, enum otelp_redisq_mode mode,
                      size_t cap, struct otelp_redisq_args *a)
{
	switch (pat) {
	case 0:
		return call_fast_va(fmt, mode, cap, a, ALL(P0));
	case 1:
		return call_fast_va(fmt, mode, cap, a, ALL(P1));
	default:
		return call_fast_va(fmt, mode, cap, a, ALL(P2));
	}
}

static void fuzz_fmt(uint8_t ctl, size_t small, const uint8_t *p, size_t n)
{
	static char in[FMT_CAP], fmt[3 * FMT_CAP];
	static struct model m;
	static char *argv[MAXA];
	struct vals v;
	int pat = (ctl >> 4) & 3;

	if (pat > 2)
		pat = 0;
	if (!m.buf)
		m.buf = malloc(MODEL_CAP);
	const uint8_t *z = memchr(p, 0, n);
	size_t fl_in = z ? (size_t)(z - p) : n;
	if (fl_in >= FMT_CAP)
		fl_in = FMT_CAP - 1;
	memcpy(in, p, fl_in);
	const uint8_t *rest = z ? z + 1 : p + n;
	make_vals(&v, rest, (size_t)(p + n - rest));
	rewrite(in, fl_in, patterns[pat], fmt, sizeof(fmt));
	interpret(fmt, patterns[pat], &v, &m);

	bool want_ok = m.ok && m.argc >= 1;
	size_t big = m.used + 2 * (size_t)m.argc + 16;
	char *full[3], *afull[3];
	size_t fl[3] = {0, 0, 0}, afl[3] = {0, 0, 0};
	struct otelp_redisq q[3], aq[3];
	for (int md = 0; md < 3; md++) {
		full[md] = malloc(big);
		afull[md] = malloc(big);
		bool ok = call_fmt(pat, fmt, &v, (enum otelp_redisq_mode)md,
		                   md == OTELP_REDISQ_NONE ? NULL : full[md],
		                   md == OTELP_REDISQ_NONE ? 0 : big, &q[md]);
		CHECK(ok == want_ok);
		if (!ok)
			check_zeroed(&q[md]);
		else
			fl[md] = q[md].text_len;
		struct otelp_redisq_args a;
		if (call_fast(pat, fmt, &v, (enum otelp_redisq_mode)md, big, &a)) {
			CHECK(ok);
			same_as_fast(&a, &q[md], full[md], big);
		}
	}
	if (want_ok) {
		CHECK(m.argc < MAXA);
		for (int i = 0; i < m.argc; i++) {
			argv[i] = malloc(m.len[i] ? m.len[i] : 1);
			memcpy(argv[i], m.buf + m.off[i], m.len[i]);
		}
		for (int md = 0; md < 3; md++)
			check_facts(&q[md], m.argc, argv, m.len);
		/* raw = the model's arguments joined */
		char *want = malloc(big);
		size_t wl = m_join(&m, want, big);
		CHECK(fl[OTELP_REDISQ_RAW] == wl && memcmp(full[OTELP_REDISQ_RAW], want, wl) == 0);
		free(want);
		/* the argv path on the model's arguments: the same in every mode */
		argv_all(m.argc, argv, m.len, true, afull, big, afl, aq);
		for (int md = 0; md < 3; md++) {
			same_facts(&q[md], &aq[md]);
			CHECK(fl[md] == afl[md] && memcmp(full[md], afull[md], fl[md]) == 0);
		}
		/* a small capacity: a prefix (one byte short only inside a long conversion) */
		int md = (ctl >> 1) & 3;
		if (md > 2)
			md = 0;
		char *t = malloc(small ? small : 1);
		struct otelp_redisq qs;
		CHECK(call_fmt(pat, fmt, &v, (enum otelp_redisq_mode)md, t, small, &qs));
		same_facts(&qs, &q[md]);
		size_t w = small < fl[md] ? small : fl[md];
		CHECK(qs.text_len <= w && memcmp(t, full[md], qs.text_len) == 0);
		CHECK(qs.text_len == w || (m.longconv && qs.text_len + 1 == w));
		struct otelp_redisq_args a;
		if (call_fast(pat, fmt, &v, (enum otelp_redisq_mode)md, small, &a))
			same_as_fast(&a, &qs, t, small);
		free(t);
		for (int i = 0; i < m.argc; i++)
			free(argv[i]);
	}
	for (int md = 0; md < 3; md++) {
		free(full[md]);
		free(afull[md]);
	}
	for (int k = 0; k < NSLOTS; k++)
		free(v.bp[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t ctl = data[0];
	size_t small = (size_t)data[1] | ((size_t)(data[2] & 3) << 8);
	if (ctl & 1)
		fuzz_fmt(ctl, small, data + 3, size - 3);
	else
		fuzz_argv(ctl, small, data + 3, size - 3);
	return 0;
}
