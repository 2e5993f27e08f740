/*
 * Differential libFuzzer target: src/propagation.c and src/httpsem.c against their references
 * (prop-ref.c and httpsem-ref.c: the same files before their per-request paths were rewritten
 * for speed, compiled under ref__* names). Every function of both files runs on the input, in
 * both versions, and any difference aborts: return values, output bytes up to and including
 * the terminator (the bytes a caller may read), lengths, and pointers into the input.
 *
 * Random bytes rarely make a valid traceparent or a URL worth escaping, so besides the input
 * read as a whole and as '\n'-separated lines (header blocks "name: value", URL fields), the
 * input also edits well-formed templates: pairs of bytes (position, byte) overwrite bytes of a
 * valid traceparent, Host header or request target, and more bytes say how the result is cut,
 * extended or padded. That puts the fast paths for the common shapes and their edges (a byte
 * that is not lower-case hex, a length one off, a port of 65536) under test.
 *
 * The portable build of the current propagation.c (prop-portable.c: no SSE2) runs too, and must
 * agree with both.
 *
 * otelp__http_url_full_split, which httpsem.c added since, must give what the reference's
 * otelp__http_url_full and otelp__http_target_split give.
 *
 * Every range is copied into a heap buffer of exactly its length (no terminator), and every
 * output buffer is allocated at exactly its capacity, so ASan reports any read or write past
 * either end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz-headers.h"
#include "prop-ref.h"

#define ALL_PROPS \
	(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE | OTELP_PROP_B3 | OTELP_PROP_B3MULTI)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static char *xmalloc(size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* Reads the input from the front, then zeros once it is used up. */
struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* Bytes an edit may put in a template: the ones the parsers decide on, and raw ones. */
static char edit_byte(uint8_t b)
{
	static const char pick[32] = "0189afAFgG-: \t@[]%?#&;=/.,*\r\n";

	return (b & 0x80) ? pick[b & 31] : (char)b;
}

/* Up to `edits` (position, byte) pairs from r applied to buf[0..n). */
static void apply_edits(struct reader *r, char *buf, size_t n, unsigned edits)
{
	for (unsigned i = 0; i < edits && n; i++) {
		uint8_t pos = take(r), b = take(r);

		buf[pos % n] = edit_byte(b);
	}
}

/* ---- propagation ---- */

static void same_ctx(const struct otelp_ctx *a, const struct otelp_ctx *b)
{
	CHECK(memcmp(a->trace_id, b->trace_id, 16) == 0);
	CHECK(memcmp(a->span_id, b->span_id, 8) == 0);
	CHECK(a->flags == b->flags);
	CHECK(a->remote == b->remote);
	CHECK(a->valid == b->valid);
	CHECK(a->b3_debug == b->b3_debug);
	CHECK(a->span == b->span);
}

static void diff_traceparent(const char *v, size_t n)
{
	struct otelp_ctx a, b, c;
	char *p = copy_exact(v, n);
	int r;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	memset(&c, 0x33, sizeof(c));
	r = otelp__traceparent_parse(p, n, &a);
	CHECK(r == ref__traceparent_parse(p, n, &b));
	CHECK(r == port__traceparent_parse(p, n, &c));
	same_ctx(&a, &b);
	same_ctx(&a, &c);
	free(p);
}

static void diff_b3_single(const char *v, size_t n)
{
	struct otelp_ctx a, b, c;
	char *p = copy_exact(v, n);
	int r;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	memset(&c, 0x33, sizeof(c));
	r = otelp__b3_single_parse(p, n, &a);
	CHECK(r == ref__b3_single_parse(p, n, &b));
	CHECK(r == port__b3_single_parse(p, n, &c));
	same_ctx(&a, &b);
	same_ctx(&a, &c);
	free(p);
}

/* tracestate and baggage with the output buffer at capacity cap (NULL for 0). */
static void diff_lists(const char *v, size_t n, size_t cap)
{
	char *a = cap ? xmalloc(cap) : NULL, *b = cap ? xmalloc(cap) : NULL;
	char *c = cap ? xmalloc(cap) : NULL;
	int r = otelp__tracestate_parse(v, n, a, cap);
	size_t s;

	CHECK(r == ref__tracestate_parse(v, n, b, cap));
	CHECK(r == port__tracestate_parse(v, n, c, cap));
	if (cap) {
		CHECK(memcmp(a, b, r >= 0 ? (size_t)r + 1 : 1) == 0);
		CHECK(memcmp(a, c, r >= 0 ? (size_t)r + 1 : 1) == 0);
	}
	s = otelp__baggage_parse(v, n, a, cap);
	CHECK(s == ref__baggage_parse(v, n, b, cap));
	CHECK(s == port__baggage_parse(v, n, c, cap));
	if (cap) {
		CHECK(memcmp(a, b, s + 1) == 0);
		CHECK(memcmp(a, c, s + 1) == 0);
	}
	free(a);
	free(b);
	free(c);
}

static void same_extracted(const struct otelp_extracted *a, const struct otelp_extracted *b)
{
	same_ctx(&a->ctx, &b->ctx);
	CHECK(a->tracestate_len == b->tracestate_len);
	CHECK(a->tracestate_len <= OTELP_TRACESTATE_MAX);
	CHECK(memcmp(a->tracestate, b->tracestate, a->tracestate_len + 1) == 0);
	CHECK(a->baggage_len == b->baggage_len);
	CHECK(a->baggage_len <= OTELP_BAGGAGE_MAX);
	CHECK(memcmp(a->baggage, b->baggage, a->baggage_len + 1) == 0);
}

static void diff_extract(unsigned props, const struct otelp_header *h, size_t n)
{
	static struct otelp_extracted a, b, c;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	memset(&c, 0x33, sizeof(c));
	otelp__extract(props, h, n, &a);
	ref__extract(props, h, n, &b);
	port__extract(props, h, n, &c);
	same_extracted(&a, &b);
	same_extracted(&a, &c);
}

static void diff_b3_multi(const struct lines *l)
{
	const struct otelp_header *h = l->h;
	const char *v[4];
	size_t len[4];
	struct otelp_ctx a, b, c;
	int r;

	for (int i = 0; i < 4; i++) {
		v[i] = (size_t)i < l->n ? h[i].value : NULL;
		len[i] = (size_t)i < l->n ? h[i].value_len : 0;
	}
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	memset(&c, 0x33, sizeof(c));
	r = otelp__b3_multi_parse(v[0], len[0], v[1], len[1], v[2], len[2], v[3], len[3], &a);
	CHECK(r == ref__b3_multi_parse(v[0], len[0], v[1], len[1], v[2], len[2], v[3], len[3], &b));
	CHECK(r ==
	      port__b3_multi_parse(v[0], len[0], v[1], len[1], v[2], len[2], v[3], len[3], &c));
	same_ctx(&a, &b);
	same_ctx(&a, &c);
}

static void diff_inject(unsigned props, const struct otelp_ctx *c, const char *ts, size_t tsl,
                        const char *bg, size_t bgl, size_t small)
{
	enum { BIG = OTELP_TRACESTATE_MAX + OTELP_BAGGAGE_MAX + 1024 };
	size_t caps[4] = {BIG, 0, 0, small};
	size_t r = 0;

	for (int i = 0; i < 4; i++) {
		size_t cap = caps[i];
		char *a = cap ? xmalloc(cap) : NULL, *b = cap ? xmalloc(cap) : NULL;
		char *p = cap ? xmalloc(cap) : NULL;
		size_t ra = otelp__inject_headers(props, c, ts, tsl, bg, bgl, a, cap);

		CHECK(ra == ref__inject_headers(props, c, ts, tsl, bg, bgl, b, cap));
		CHECK(ra == port__inject_headers(props, c, ts, tsl, bg, bgl, p, cap));
		CHECK(ra <= cap);
		if (ra) {
			CHECK(memcmp(a, b, ra) == 0);
			CHECK(memcmp(a, p, ra) == 0);
		}
		if (i == 0) { /* then exactly the size needed, and one byte less */
			r = ra;
			caps[1] = r;
			caps[2] = r ? r - 1 : 0;
		}
		free(a);
		free(b);
		free(p);
	}

	char fa[OTELP_TRACEPARENT_LEN], fb[OTELP_TRACEPARENT_LEN], fp[OTELP_TRACEPARENT_LEN];

	if (!c)
		return;
	otelp__traceparent_format(c, fa);
	ref__traceparent_format(c, fb);
	port__traceparent_format(c, fp);
	CHECK(memcmp(fa, fb, sizeof(fa)) == 0);
	CHECK(memcmp(fa, fp, sizeof(fa)) == 0);
}

static const char *const names[] = {
    "traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled",
    "x-b3-flags",  "true",       "false",   "",   "traceparentx"};

static void diff_names(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t k = 0; k <= n && k < 16; k++) {
			bool r = otelp__header_name_is(s, k, names[i]);

			CHECK(r == ref__header_name_is(s, k, names[i]));
			CHECK(r == port__header_name_is(s, k, names[i]));
		}
		CHECK(otelp__header_name_is(s, n, names[i]) == ref__header_name_is(s, n, names[i]));
	}
	CHECK(otelp__header_name_is(NULL, 0, "b3") == ref__header_name_is(NULL, 0, "b3"));
	CHECK(otelp__header_name_is(s, n, NULL) == ref__header_name_is(s, n, NULL));
}

#define TP_TEMPLATE "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/*
 * A traceparent made from the template: edited, then cut or extended, version changed, with
 * OWS around; parsed directly and extracted with tracestate and baggage headers.
 */
static void traceparent_variant(struct reader *r, unsigned props)
{
	char buf[160];
	size_t n = sizeof(TP_TEMPLATE) - 1, pre = 0;
	uint8_t how = take(r), edits = take(r) % 5;

	if (how & 1) { /* OWS first */
		pre = 1 + (how >> 6);
		memset(buf, (how & 2) ? ' ' : '\t', pre);
	}
	memcpy(buf + pre, TP_TEMPLATE, n);
	if (how & 4) { /* another version */
		static const char *const versions[] = {"01", "fe", "ff", "0A",
		                                       "cc", "10", "0g", "-0"};

		memcpy(buf + pre, versions[(how >> 3) & 7], 2);
	}
	apply_edits(r, buf + pre, n, edits);
	n += pre;
	if (how & 0x40) { /* a tail */
		uint8_t tl = take(r) % 48;

		for (uint8_t i = 0; i < tl && n < sizeof(buf) - 4; i++)
			buf[n++] =
			    i == 0 ? ((how & 0x80) ? '-' : edit_byte(take(r))) : edit_byte(take(r));
	} else if (how & 0x80) { /* cut */
		n -= take(r) % 8;
	}
	if (how & 0x20) { /* OWS last */
		uint8_t k = 1 + (how & 2);

		for (uint8_t i = 0; i < k; i++)
			buf[n++] = (how & 8) ? ' ' : '\t';
	}
	diff_traceparent(buf, n);

	struct otelp_header h[4];
	char *tp = copy_exact(buf, n);
	static const char ts[] = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7,,";
	static const char bg[] = "k1=v1;p, k2 = v%202 ,bad";
	size_t nh = 0;

	h[nh++] = (struct otelp_header){"Traceparent", 11, tp, n};
	if (how & 0x10)
		h[nh++] = (struct otelp_header){"tracestate", 10, ts, sizeof(ts) - 1};
	if (how & 0x08)
		h[nh++] = (struct otelp_header){"baggage", 7, bg, sizeof(bg) - 1};
	diff_extract(ALL_PROPS, h, nh);
	diff_extract(props, h, nh);
	free(tp);
}

static void propagation(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned props = size ? data[0] & 0x0f : 0;
	size_t small = size ? data[0] % 80 : 0;
	struct reader r = {data, size};
	struct lines l;

	diff_traceparent(in, size);
	diff_b3_single(in, size);
	diff_names(in, size);
	diff_lists(in, size, OTELP_BAGGAGE_MAX + 1);
	diff_lists(in, size, OTELP_TRACESTATE_MAX + 1);
	diff_lists(in, size, small);
	diff_lists(in, size, 0);

	split_headers(in, size, &l, true);
	diff_b3_multi(&l);
	diff_extract(ALL_PROPS, l.h, l.n);
	diff_extract(props, l.h, l.n);
	diff_extract(props, NULL, l.n);
	diff_extract(props, l.h, 0);
	for (size_t i = 0; i < l.n; i++) {
		if (l.h[i].value) {
			diff_traceparent(l.h[i].value, l.h[i].value_len);
			diff_b3_single(l.h[i].value, l.h[i].value_len);
		}
	}

	/* Whatever was extracted, and a context drawn from the input, injected again. */
	static struct otelp_extracted ex;
	struct otelp_ctx c;

	otelp__extract(ALL_PROPS, l.h, l.n, &ex);
	diff_inject(props, &ex.ctx, ex.tracestate, ex.tracestate_len, ex.baggage, ex.baggage_len,
	            small);
	diff_inject(ALL_PROPS, &ex.ctx, ex.tracestate, ex.tracestate_len, ex.baggage,
	            ex.baggage_len, small);
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 16; i++)
		c.trace_id[i] = take(&r);
	for (int i = 0; i < 8; i++)
		c.span_id[i] = take(&r);
	c.flags = take(&r);
	uint8_t bits = take(&r);
	c.valid = !(bits & 1);
	c.remote = bits & 2;
	c.b3_debug = bits & 4;
	if (bits & 8)
		memset(c.trace_id, 0, (bits & 16) ? 16 : 8);
	if (bits & 32)
		memset(c.span_id, 0, 8);
	size_t tsl = take(&r) % (r.n + 1);
	const char *ts = (const char *)r.p;
	size_t bgl = r.n - tsl;
	const char *bg = ts + tsl;
	char *tsc = copy_exact(ts, tsl), *bgc = copy_exact(bg, bgl);

	diff_inject(props, &c, tsc, tsl, bgc, bgl, small);
	diff_inject(bits >> 4, &c, (bits & 64) ? NULL : tsc, tsl, (bits & 128) ? NULL : bgc, bgl,
	            small);
	diff_inject(props, NULL, tsc, tsl, bgc, bgl, small);
	free(tsc);
	free(bgc);

	/* Templates edited by the input. */
	r.p = data;
	r.n = size;
	for (int i = 0; i < 4 && r.n; i++)
		traceparent_variant(&r, props);

	free_headers(&l);
}

/* ---- httpsem ---- */

static bool within(const char *p, size_t pl, const char *base, size_t n)
{
	return p && base && p >= base && (size_t)(p - base) <= n && pl <= n - (size_t)(p - base);
}

/* A range into the input must be the same pointer; a literal (outside it) the same bytes. */
static void same_range(const char *a, size_t al, const char *b, size_t bl, const char *base,
                       size_t n)
{
	CHECK(al == bl);
	CHECK((a == NULL) == (b == NULL));
	if (!a)
		return;
	if (within(a, al, base, n) || within(b, bl, base, n))
		CHECK(a == b);
	else
		CHECK(memcmp(a, b, al) == 0);
}

static void diff_host_port(const char *v, size_t n)
{
	const char *ha = v, *hb = v;
	size_t la = 7, lb = 7;
	int pa = -3, pb = -3;

	CHECK(otelp__http_host_port(v, n, &ha, &la, &pa) ==
	      ref__http_host_port(v, n, &hb, &lb, &pb));
	CHECK(ha == hb && la == lb && pa == pb);
	/* Every output is optional. */
	CHECK(otelp__http_host_port(v, n, NULL, NULL, NULL) ==
	      ref__http_host_port(v, n, NULL, NULL, NULL));
}

static void diff_target(const char *t, size_t n)
{
	const char *pa = t, *pb = t, *qa = t, *qb = t, *aa = t, *ab = t;
	size_t pla = 9, plb = 9, qla = 9, qlb = 9, ala = 9, alb = 9;

	otelp__http_target_split(t, n, &pa, &pla, &qa, &qla, &aa, &ala);
	ref__http_target_split(t, n, &pb, &plb, &qb, &qlb, &ab, &alb);
	same_range(pa, pla, pb, plb, t, n);
	same_range(qa, qla, qb, qlb, t, n);
	same_range(aa, ala, ab, alb, t, n);
	otelp__http_target_split(t, n, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void diff_url(const char *scheme, const char *h, size_t hn, const char *t, size_t tn,
                     size_t small)
{
	size_t big = 4 * (hn + tn) + 128;
	size_t caps[5] = {big, 0, 1, small, 0};
	size_t whole = 0;

	for (int i = 0; i < 5; i++) {
		size_t cap = caps[i];
		char *a = cap ? xmalloc(cap) : NULL, *b = cap ? xmalloc(cap) : NULL;
		size_t ra = otelp__http_url_full(scheme, h, hn, t, tn, a, cap);

		CHECK(ra == ref__http_url_full(scheme, h, hn, t, tn, b, cap));
		if (cap)
			CHECK(memcmp(a, b, ra + 1) == 0);

		/* Both in one: url.full as above, the parts as target_split gives them. */
		const char *pa = t, *pb = t, *qa = t, *qb = t, *aa = t, *ab = t;
		size_t pla = 9, plb = 9, qla = 9, qlb = 9, ala = 9, alb = 9;

		CHECK(otelp__http_url_full_split(scheme, h, hn, t, tn, a, cap, &pa, &pla, &qa, &qla,
		                                 &aa, &ala) == ra);
		if (cap)
			CHECK(memcmp(a, b, ra + 1) == 0);
		ref__http_target_split(t, tn, &pb, &plb, &qb, &qlb, &ab, &alb);
		same_range(pa, pla, pb, plb, t, tn);
		same_range(qa, qla, qb, qlb, t, tn);
		same_range(aa, ala, ab, alb, t, tn);
		CHECK(otelp__http_url_full_split(scheme, h, hn, t, tn, a, cap, NULL, NULL, NULL,
		                                 NULL, NULL, NULL) == ra);
		if (i == 0) {
			whole = ra;
			caps[4] = whole; /* cut by exactly one byte */
		}
		free(a);
		free(b);
	}
	(void)whole;
}

static void diff_query(const char *q, size_t n, size_t small)
{
	size_t caps[3] = {4 * n + 128, small, 0};

	for (int i = 0; i < 3; i++) {
		size_t cap = caps[i];
		char *a = cap ? xmalloc(cap) : NULL, *b = cap ? xmalloc(cap) : NULL;
		size_t ra = otelp__http_query_redact(q, n, a, cap);

		CHECK(ra == ref__http_query_redact(q, n, b, cap));
		if (cap)
			CHECK(memcmp(a, b, ra + 1) == 0);
		free(a);
		free(b);
	}
}

static void diff_route(const char *p, size_t n, size_t small)
{
	size_t caps[3] = {4 * n + 16, small, 0};

	for (int i = 0; i < 3; i++) {
		size_t cap = caps[i];
		char *a = cap ? xmalloc(cap) : NULL, *b = cap ? xmalloc(cap) : NULL;
		size_t ra = otelp__http_route(p, n, a, cap);

		CHECK(ra == ref__http_route(p, n, b, cap));
		if (cap)
			CHECK(memcmp(a, b, ra + 1) == 0);
		free(a);
		free(b);
	}
}

static void diff_small(const char *v, size_t n)
{
	const char *ma = otelp__http_method_known(v, n), *mb = ref__http_method_known(v, n);
	const char *xa = v, *xb = v;
	size_t xla = 5, xlb = 5;

	CHECK((ma == NULL) == (mb == NULL));
	if (ma)
		CHECK(strcmp(ma, mb) == 0);
	CHECK(otelp__http_xff_first(v, n, &xa, &xla) == ref__http_xff_first(v, n, &xb, &xlb));
	CHECK(xa == xb && xla == xlb);
	CHECK(otelp__http_header_sensitive(v, n) == ref__http_header_sensitive(v, n));
}

static void diff_list(const char *in, const char *probe, size_t pn, size_t small)
{
	for (int mode = 0; mode < 4; mode++) {
		bool lower = mode & 1, paths = mode & 2;
		char a[512], b[512];
		size_t caps[2] = {sizeof(a), small};

		for (int i = 0; i < 2; i++) {
			int ra = otelp__http_list_normalize(in, a, caps[i], lower, paths);

			CHECK(ra == ref__http_list_normalize(in, b, caps[i], lower, paths));
			if (caps[i])
				CHECK(strcmp(a, b) == 0);
		}
		CHECK(otelp__http_path_ignored(a, probe, pn) ==
		      ref__http_path_ignored(a, probe, pn));
		CHECK(otelp__http_header_listed(a, probe, pn) ==
		      ref__http_header_listed(a, probe, pn));
	}
	CHECK(otelp__http_path_ignored(in, probe, pn) == ref__http_path_ignored(in, probe, pn));
	CHECK(otelp__http_header_listed(in, probe, pn) == ref__http_header_listed(in, probe, pn));
}

static const char *const schemes[] = {"http", "https", "ws", "wss", "HTTP", "ftp", "", NULL};

/* A Host header and a target made from templates, edited by the input, cut or extended. */
static void url_variant(struct reader *r)
{
	static const char *const hosts[] = {
	    "127.0.0.1:8080", "example.com",     "[::1]:443", "h:0",   "h:65535",
	    "h:65536",        "h:00080",         "u:p@h",     "h:",    "[fe80::1%25eth0]",
	    "localhost:80",   "Example.COM:443", "[::1]x",    "h:1:2", "xn--bcher-kva.ch:9",
	    "h:999999999999"};
	static const char *const targets[] = {"/ping",
	                                      "/a/b?x=1&sig=abc#frag",
	                                      "/p?Signature=s;X-Amz-Credential=c&sig&sig=",
	                                      "http://u:p@Example.com:80/p?q=1",
	                                      "HTTPS://h:443",
	                                      "https://[::1]:8443/x?AWSAccessKeyId=k",
	                                      "*",
	                                      "h:443",
	                                      "u@h:443",
	                                      "ws://h:80?",
	                                      "/caf\xc3\xa9 x?q=\x01\x7f",
	                                      "//h/p",
	                                      "http://@h/",
	                                      "http://h:99999/",
	                                      "/p?x-goog-signature=a&X-Goog-Signature=b",
	                                      ""};
	uint8_t how = take(r), which = take(r);
	char hb[96], tb[128];
	size_t hn = strlen(hosts[which & 15]), tn = strlen(targets[which >> 4]);

	memcpy(hb, hosts[which & 15], hn);
	memcpy(tb, targets[which >> 4], tn);
	apply_edits(r, hb, hn, how & 3);
	apply_edits(r, tb, tn, (how >> 2) & 3);
	if (how & 0x10) {
		uint8_t k = take(r) % 16;

		for (uint8_t i = 0; i < k && hn < sizeof(hb); i++)
			hb[hn++] = edit_byte(take(r));
	}
	if (how & 0x20) {
		uint8_t k = take(r) % 32;

		for (uint8_t i = 0; i < k && tn < sizeof(tb); i++)
			tb[tn++] = edit_byte(take(r));
	}
	if (how & 0x40)
		hn -= hn ? take(r) % (hn + 1) : 0;

	char *h = copy_exact(hb, hn), *t = copy_exact(tb, tn);
	size_t small = take(r) % 64;

	diff_host_port(h, hn);
	diff_target(t, tn);
	diff_url(schemes[take(r) & 7], (how & 0x80) ? NULL : h, hn, t, tn, small);
	diff_url(schemes[take(r) & 7], h, hn, t, tn, small);
	free(h);
	free(t);
}

#define FIELDS 4

static void httpsem(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *whole = copy_exact(in, size);
	char *field[FIELDS] = {NULL};
	size_t len[FIELDS] = {0}, nf = 0, i = 0, small = size ? data[0] % 48 : 0;
	const char *scheme = schemes[size ? (data[0] >> 5) : 0];
	struct reader r = {data, size};
	char *list;

	while (nf < FIELDS && i <= size) {
		const char *nl = i < size ? memchr(in + i, '\n', size - i) : NULL;
		size_t n = nl ? (size_t)(nl - (in + i)) : size - i;

		field[nf] = copy_exact(in + i, n);
		len[nf++] = n;
		i += n + 1;
	}
	for (; nf < FIELDS; nf++)
		field[nf] = copy_exact("", 0);

	diff_small(whole, size);
	diff_small(field[0], len[0]);
	diff_host_port(whole, size);
	diff_host_port(field[0], len[0]);
	diff_host_port(NULL, 0);
	diff_target(whole, size);
	diff_target(field[1], len[1]);
	diff_target(NULL, 0);
	diff_url(scheme, field[0], len[0], field[1], len[1], small);
	diff_url(scheme, whole, size, whole, size, small);
	diff_url(scheme, NULL, 0, whole, size, small);
	diff_url(scheme, whole, size, NULL, 0, small);
	diff_query(whole, size, small);
	diff_query(field[1], len[1], small);
	diff_route(whole, size, small);
	diff_route(field[1], len[1], small);

	list = xmalloc(len[2] + 1);
	memcpy(list, field[2], len[2]);
	list[len[2]] = '\0';
	diff_list(list, field[3], len[3], small);

	for (int k = 0; k < 4 && r.n; k++)
		url_variant(&r);

	free(list);
	for (i = 0; i < FIELDS; i++)
		free(field[i]);
	free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	propagation(data, size);
	httpsem(data, size);
	return 0;
}
