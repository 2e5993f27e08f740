/*
 * Unit tests for src/http1.c: request and response heads, every body framing, pipelining,
 * interim responses, the HEAD override, end of stream, truncated lines, size limits, malformed
 * input, opaque (sendfile) body bytes and the classification of a connection's first bytes.
 *
 * Every piece of input handed to the parser is first copied into a heap buffer of exactly its
 * length, so that under ASan a read past the end of a call's buffer fails the test. Most
 * streams are parsed twice or more, whole and cut into pieces, and must give the same events.
 */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define MAX_EV  1100
#define REC_STR 80

#define REQ OTELP_H1_REQUEST
#define RES OTELP_H1_RESPONSE

/*
 * For the loops that run once per byte: ck_assert() reports every passing check to the
 * runner, which would dominate the run time of the byte-at-a-time tests.
 */
#define QUICK_ASSERT(x)                                                            \
	do {                                                                       \
		if (!(x))                                                          \
			ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #x); \
	} while (0)

/* One event as seen by the caller, with its strings copied (they die at the next step). */
struct rec {
	enum otelp_h1_ev type;
	char a[REC_STR], b[REC_STR]; /* method / name, target / value (their first bytes) */
	size_t a_len, b_len;
	int status, minor;
	bool truncated;
	uint64_t line_start, line_end, value_start;
	enum otelp_h1_body body; /* p->body at HEADERS_DONE */
	uint64_t content_length;
};

struct run {
	struct otelp_h1 p;
	int override; /* a body framing to set at every HEADERS_DONE, or -1 */
	int n;
	struct rec ev[MAX_EV];
};

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	QUICK_ASSERT(p != NULL);
	if (n)
		memcpy(p, s, n);
	return p;
}

/* Set by the "-batch" test cases: heads may come as OTELP_H1_HEAD events. */
static bool batch_mode;

static void batch_on(void)
{
	batch_mode = true;
}

static struct run *run_new(enum otelp_h1_kind kind)
{
	struct run *r = malloc(sizeof(*r));

	ck_assert_ptr_nonnull(r);
	memset(r, 0x5a, sizeof(*r)); /* init must set everything it relies on */
	otelp__h1_init(&r->p, kind);
	ck_assert(!r->p.batch);
	r->p.batch = batch_mode;
	r->override = -1;
	r->n = 0;
	return r;
}

static void copy_str(char *dst, size_t *dst_len, const char *s, size_t n)
{
	*dst_len = n;
	if (n > REC_STR - 1)
		n = REC_STR - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

static void record_one(struct run *r, const struct otelp_h1_event *ev);

/* A HEAD event is recorded as the START_LINE, HEADER and HEADERS_DONE events it stands for. */
static void record(struct run *r, const struct otelp_h1_event *ev)
{
	struct otelp_h1_event e;

	if (ev->type != OTELP_H1_HEAD) {
		record_one(r, ev);
		return;
	}
	QUICK_ASSERT(r->p.batch && ev->n_fields <= OTELP_H1_HEAD_FIELDS);
	e = *ev;
	e.type = OTELP_H1_START_LINE;
	e.line_start = ev->start_line_start;
	e.line_end = ev->start_line_end;
	record_one(r, &e);
	for (size_t i = 0; i < ev->n_fields; i++) {
		const struct otelp_h1_field *f = &ev->fields[i];

		e.type = OTELP_H1_HEADER;
		e.name = f->name;
		e.name_len = f->name_len;
		e.value = f->value;
		e.value_len = f->value_len;
		e.line_start = f->line_start;
		e.line_end = f->line_end;
		e.value_start = f->value_start;
		record_one(r, &e);
	}
	e = *ev;
	e.type = OTELP_H1_HEADERS_DONE;
	record_one(r, &e);
}

static void record_one(struct run *r, const struct otelp_h1_event *ev)
{
	struct rec *e;

	QUICK_ASSERT(r->n < MAX_EV);
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e)); /* whole arrays are compared */
	e->type = ev->type;
	if (ev->type == OTELP_H1_START_LINE && r->p.kind == REQ) {
		copy_str(e->a, &e->a_len, ev->method, ev->method_len);
		copy_str(e->b, &e->b_len, ev->target, ev->target_len);
	} else if (ev->type == OTELP_H1_HEADER) {
		copy_str(e->a, &e->a_len, ev->name, ev->name_len);
		copy_str(e->b, &e->b_len, ev->value, ev->value_len);
	}
	/* Only what the event's type carries (http1.h); the other fields are unspecified. */
	if (ev->type == OTELP_H1_START_LINE) {
		e->status = ev->status;
		e->minor = ev->version_minor;
	}
	if (ev->type == OTELP_H1_START_LINE || ev->type == OTELP_H1_HEADER)
		e->truncated = ev->truncated;
	if (ev->type == OTELP_H1_START_LINE || ev->type == OTELP_H1_HEADER ||
	    ev->type == OTELP_H1_HEADERS_DONE) {
		e->line_start = ev->line_start;
		e->line_end = ev->line_end;
	}
	if (ev->type == OTELP_H1_HEADER)
		e->value_start = ev->value_start;
	if (ev->type == OTELP_H1_HEADERS_DONE) {
		e->body = r->p.body;
		e->content_length = r->p.content_length;
	}
}

/* Feed one call's worth of bytes (NULL: opaque), stepping until NEED_MORE or ERROR. */
static enum otelp_h1_ev feed_one(struct run *r, const char *s, size_t n)
{
	char *buf = s ? exact(s, n) : NULL;
	struct otelp_h1_event ev;
	size_t off = 0;

	for (;;) {
		uint64_t pos = r->p.pos;
		size_t used = otelp__h1_step(&r->p, buf ? buf + off : NULL, n - off, &ev);

		QUICK_ASSERT(used <= n - off);
		QUICK_ASSERT(r->p.pos == pos + used);
		off += used;
		if (ev.type == OTELP_H1_NEED_MORE) {
			QUICK_ASSERT(off == n);
			break;
		}
		record(r, &ev);
		if (ev.type == OTELP_H1_ERROR) {
			QUICK_ASSERT(r->p.dead && r->p.error != NULL);
			break;
		}
		if ((ev.type == OTELP_H1_HEADERS_DONE || ev.type == OTELP_H1_HEAD) &&
		    r->override >= 0)
			otelp__h1_set_body(&r->p, (enum otelp_h1_body)r->override);
	}
	free(buf);
	return ev.type;
}

/* Feed s in pieces of chunk bytes (0: whole). */
static void feed(struct run *r, const char *s, size_t n, size_t chunk)
{
	size_t off = 0;

	if (chunk == 0)
		chunk = n ? n : 1;
	do {
		size_t k = n - off < chunk ? n - off : chunk;

		if (feed_one(r, s + off, k) == OTELP_H1_ERROR)
			return;
		off += k;
	} while (off < n);
}

static struct run *parse_n(enum otelp_h1_kind kind, const char *s, size_t n, size_t chunk)
{
	struct run *r = run_new(kind);

	feed(r, s, n, chunk);
	return r;
}

static struct run *parse(enum otelp_h1_kind kind, const char *s)
{
	return parse_n(kind, s, strlen(s), 0);
}

static void assert_same(const struct run *a, const struct run *b)
{
	ck_assert_int_eq(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		const struct rec *x = &a->ev[i], *y = &b->ev[i];

		if (x->type != y->type || x->a_len != y->a_len || x->b_len != y->b_len ||
		    memcmp(x->a, y->a, sizeof(x->a)) != 0 ||
		    memcmp(x->b, y->b, sizeof(x->b)) != 0 || x->status != y->status ||
		    x->minor != y->minor || x->truncated != y->truncated ||
		    x->line_start != y->line_start || x->line_end != y->line_end ||
		    x->value_start != y->value_start || x->body != y->body ||
		    x->content_length != y->content_length)
			ck_abort_msg("event %d differs (type %d/%d, \"%s\"/\"%s\")", i, x->type,
			             y->type, x->b, y->b);
	}
	ck_assert_uint_eq(a->p.pos, b->p.pos);
	ck_assert_int_eq(a->p.dead, b->p.dead);
	ck_assert_int_eq(a->p.idle, b->p.idle);
}

/* Parse whole, one byte per call and in a few odd piece sizes: all the same. */
static struct run *parse_all_ways(enum otelp_h1_kind kind, const char *s, size_t n)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64};
	struct run *whole = parse_n(kind, s, n, 0);

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct run *r = parse_n(kind, s, n, chunks[i]);

		assert_same(whole, r);
		free(r);
	}
	return whole;
}

static struct run *parse_ways(enum otelp_h1_kind kind, const char *s)
{
	return parse_all_ways(kind, s, strlen(s));
}

/* ---- event checks ---- */

static void ev_type(const struct run *r, int i, enum otelp_h1_ev type)
{
	ck_assert_int_lt(i, r->n);
	ck_assert_int_eq(r->ev[i].type, type);
}

static void ev_request(const struct run *r, int i, const char *method, const char *target,
                       int minor)
{
	ev_type(r, i, OTELP_H1_START_LINE);
	ck_assert_str_eq(r->ev[i].a, method);
	ck_assert_uint_eq(r->ev[i].a_len, strlen(method));
	ck_assert_str_eq(r->ev[i].b, target);
	ck_assert_uint_eq(r->ev[i].b_len, strlen(target));
	ck_assert_int_eq(r->ev[i].minor, minor);
	ck_assert(!r->ev[i].truncated);
}

static void ev_status(const struct run *r, int i, int status, int minor)
{
	ev_type(r, i, OTELP_H1_START_LINE);
	ck_assert_int_eq(r->ev[i].status, status);
	ck_assert_int_eq(r->ev[i].minor, minor);
}

static void ev_header(const struct run *r, int i, const char *name, const char *value)
{
	ev_type(r, i, OTELP_H1_HEADER);
	ck_assert_str_eq(r->ev[i].a, name);
	ck_assert_uint_eq(r->ev[i].a_len, strlen(name));
	ck_assert_str_eq(r->ev[i].b, value);
	ck_assert_uint_eq(r->ev[i].b_len, strlen(value));
	ck_assert(!r->ev[i].truncated);
}

static void ev_done(const struct run *r, int i, enum otelp_h1_body body)
{
	ev_type(r, i, OTELP_H1_HEADERS_DONE);
	ck_assert_int_eq(r->ev[i].body, body);
}

static void ev_offsets(const struct run *r, int i, uint64_t start, uint64_t end)
{
	ck_assert_uint_eq(r->ev[i].line_start, start);
	ck_assert_uint_eq(r->ev[i].line_end, end);
}

/* Step through s up to its first HEADERS_DONE, not beyond (feed_one would go on). */
static void step_to_headers_done(struct otelp_h1 *p, const char *s)
{
	struct otelp_h1_event ev;
	size_t off = 0, n = strlen(s);

	do {
		off += otelp__h1_step(p, s + off, n - off, &ev);
		ck_assert_int_ne(ev.type, OTELP_H1_NEED_MORE);
		ck_assert_int_ne(ev.type, OTELP_H1_ERROR);
	} while (ev.type != OTELP_H1_HEADERS_DONE && ev.type != OTELP_H1_HEAD);
}

/* The stream ends in an error, whatever the pieces. */
static void expect_error_n(enum otelp_h1_kind kind, const char *s, size_t n)
{
	static const size_t chunks[] = {0, 1, 5};

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct run *r = parse_n(kind, s, n, chunks[i]);
		struct otelp_h1_event ev;

		ck_assert_msg(r->n > 0 && r->ev[r->n - 1].type == OTELP_H1_ERROR,
		              "no error for \"%.*s\"", (int)(n > 200 ? 200 : n), s);
		ck_assert(r->p.dead);
		ck_assert_ptr_nonnull(r->p.error);
		ck_assert_uint_eq(otelp__h1_step(&r->p, "GET", 3, &ev), 0);
		ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
		ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
		free(r);
	}
}

static void expect_error(enum otelp_h1_kind kind, const char *s)
{
	expect_error_n(kind, s, strlen(s));
}

/* The stream parses without error (its last event is not ERROR). */
static void expect_ok(enum otelp_h1_kind kind, const char *s)
{
	struct run *r = parse_ways(kind, s);

	ck_assert_msg(!r->p.dead, "error \"%s\" for \"%s\"", r->p.error, s);
	free(r);
}

/* ---- requests ---- */

START_TEST(req_simple_get)
{
	static const char s[] = "GET /index.html?q=1 HTTP/1.1\r\n"
	                        "Host: example.com\r\n"
	                        "User-Agent: t/1\r\n"
	                        "\r\n";
	struct run *r = parse_ways(REQ, s);

	ck_assert_int_eq(r->n, 5);
	ev_request(r, 0, "GET", "/index.html?q=1", 1);
	ev_offsets(r, 0, 0, 30);
	ev_header(r, 1, "Host", "example.com");
	ev_offsets(r, 1, 30, 49);
	ck_assert_uint_eq(r->ev[1].value_start, 36);
	ev_header(r, 2, "User-Agent", "t/1");
	ev_offsets(r, 2, 49, 66);
	ck_assert_uint_eq(r->ev[2].value_start, 61);
	ev_done(r, 3, OTELP_H1_BODY_NONE);
	ev_offsets(r, 3, 66, 68);
	ev_type(r, 4, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.pos, sizeof(s) - 1);
	ck_assert_uint_eq(r->p.messages, 1);
	ck_assert(r->p.idle);
	ck_assert(!r->p.dead);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);
}
END_TEST

START_TEST(req_content_length)
{
	static const char s[] = "POST /submit HTTP/1.1\r\n"
	                        "Content-Length: 11\r\n"
	                        "\r\n"
	                        "hello world";
	struct run *r = parse_ways(REQ, s);

	ck_assert_int_eq(r->n, 4);
	ev_request(r, 0, "POST", "/submit", 1);
	ev_header(r, 1, "Content-Length", "11");
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[2].content_length, 11);
	ev_type(r, 3, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.pos, sizeof(s) - 1);
	ck_assert(r->p.idle);
	free(r);
}
END_TEST

START_TEST(req_body_waits_for_bytes)
{
	struct run *r = run_new(REQ);
	struct otelp_h1_event ev;
	const char *head = "PUT /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n";

	ck_assert_int_eq(feed_one(r, head, strlen(head)), OTELP_H1_NEED_MORE);
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_int_eq(r->n, 3);
	ck_assert(!r->p.idle);
	/* Two body bytes: no event, all consumed. */
	ck_assert_uint_eq(otelp__h1_step(&r->p, "ab", 2, &ev), 2);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
	ck_assert(r->p.dead);
	free(r);
}
END_TEST

START_TEST(req_chunked_ext_trailers)
{
	static const char s[] = "POST /up HTTP/1.1\r\n"
	                        "Transfer-Encoding: chunked\r\n"
	                        "\r\n"
	                        "5;name=value;x=\"q;\"\r\n"
	                        "hello\r\n"
	                        "0000A \t; ext\r\n"
	                        "0123456789\r\n"
	                        "b\r\n"
	                        "\r\n\r\n\r\n\r\n\r\n\r\r\n"
	                        "0;last\r\n"
	                        "Expires: never\r\n"
	                        "Content-Length: 99\r\n"
	                        "\r\n"
	                        "GET /next HTTP/1.1\r\n\r\n";
	struct run *r = parse_ways(REQ, s);

	ck_assert_int_eq(r->n, 7);
	ev_request(r, 0, "POST", "/up", 1);
	ev_header(r, 1, "Transfer-Encoding", "chunked");
	ev_done(r, 2, OTELP_H1_BODY_CHUNKED);
	/* The trailer fields give no event and do not frame anything. */
	ev_type(r, 3, OTELP_H1_MESSAGE_DONE);
	ev_request(r, 4, "GET", "/next", 1);
	ck_assert_uint_eq(r->ev[4].line_start, sizeof(s) - 1 - 22);
	ev_done(r, 5, OTELP_H1_BODY_NONE);
	ev_type(r, 6, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.messages, 2);
	ck_assert_uint_eq(r->p.pos, sizeof(s) - 1);
	free(r);
}
END_TEST

START_TEST(req_chunk_sizes)
{
	expect_ok(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	               "1\r\nx\r\n"
	               "00002\r\nyy\r\n"
	               "fFfFfFfFfFfFfFf;a\r\n"); /* large but valid: waits for the data */
	expect_ok(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	               "ffffffffffffffff\r\n");
	expect_ok(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	               "000000000000000000000000000001\r\nz\n0\n\n");
}
END_TEST

START_TEST(req_chunked_errors)
{
	static const char h[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char *bad[] = {
	    "\r\n",                  /* no size */
	    "g\r\n",                 /* not hex */
	    "-1\r\n",                /* sign */
	    "0x5\r\n",               /* prefix */
	    "5 6\r\n",               /* two numbers */
	    "5\r\nhelloX\r\n",       /* data longer than the size */
	    "5\r\nhello\rX",         /* CR not followed by LF */
	    "10000000000000000\r\n", /* 2^64 */
	    "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
	    "5\r\nhello\r\n0\r\n folded: trailer\r\n\r\n",
	    "3\r\nabc\r\n0\r\r\n\r\n",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", h, bad[i]);
		expect_error(REQ, buf);
	}
}
END_TEST

START_TEST(req_http10_and_methods)
{
	struct run *r = parse_ways(REQ, "OPTIONS * HTTP/1.0\r\n\r\n"
	                                "M-SEARCH * HTTP/1.1\r\nMan: \"ssdp:discover\"\r\n\r\n"
	                                "CONNECT example.com:443 HTTP/1.1\r\n\r\n"
	                                "get http://a/b?c#d HTTP/1.1\r\n\r\n");

	ev_request(r, 0, "OPTIONS", "*", 0);
	ev_request(r, 3, "M-SEARCH", "*", 1);
	ev_header(r, 4, "Man", "\"ssdp:discover\"");
	ev_request(r, 7, "CONNECT", "example.com:443", 1);
	ev_request(r, 10, "get", "http://a/b?c#d", 1);
	ck_assert_int_eq(r->n, 13);
	ck_assert_uint_eq(r->p.messages, 4);
	free(r);
}
END_TEST

START_TEST(req_pipelined)
{
	static const char s[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	                        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
	                        "DELETE /c HTTP/1.1\r\nHost: h\r\n\r\n";
	struct run *r = parse_ways(REQ, s);
	uint64_t second = strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");

	ck_assert_int_eq(r->n, 13);
	ev_request(r, 0, "GET", "/a", 1);
	ev_header(r, 1, "Host", "h");
	ev_done(r, 2, OTELP_H1_BODY_NONE);
	ev_type(r, 3, OTELP_H1_MESSAGE_DONE);
	ev_request(r, 4, "POST", "/b", 1);
	ev_offsets(r, 4, second, second + 18);
	ev_header(r, 5, "Host", "h");
	ev_header(r, 6, "Content-Length", "3");
	ev_done(r, 7, OTELP_H1_BODY_LENGTH);
	ev_type(r, 8, OTELP_H1_MESSAGE_DONE);
	ev_request(r, 9, "DELETE", "/c", 1);
	ck_assert_uint_eq(r->ev[9].line_start, sizeof(s) - 1 - 31);
	ev_type(r, 12, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.messages, 3);
	free(r);
}
END_TEST

START_TEST(every_split_point)
{
	static const char s[] = "HTTP/1.1 100 Continue\r\n\r\n"
	                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	                        "Content-Length: 5\r\n\r\n"
	                        "4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n"
	                        "HTTP/1.0 304 Not Modified\nETag: \"x\"\n\n"
	                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	size_t n = sizeof(s) - 1;
	struct run *whole = parse_n(RES, s, n, 0);

	ck_assert(!whole->p.dead);
	ck_assert_int_eq(whole->n, 16);
	for (size_t k = 0; k <= n; k++) {
		struct run *r = run_new(RES);

		feed_one(r, s, k);
		feed_one(r, s + k, n - k);
		assert_same(whole, r);
		free(r);
	}
	free(whole);
}
END_TEST

/* ---- responses ---- */

START_TEST(res_keep_alive_pair)
{
	static const char s[] = "HTTP/1.1 200 OK\r\n"
	                        "Content-Type: text/plain\r\n"
	                        "Content-Length: 5\r\n"
	                        "\r\n"
	                        "hello"
	                        "HTTP/1.1 404 Not Found\r\n"
	                        "Content-Length: 0\r\n"
	                        "\r\n";
	struct run *r = parse_ways(RES, s);

	ck_assert_int_eq(r->n, 9);
	ev_status(r, 0, 200, 1);
	ev_header(r, 1, "Content-Type", "text/plain");
	ev_header(r, 2, "Content-Length", "5");
	ev_done(r, 3, OTELP_H1_BODY_LENGTH);
	ev_type(r, 4, OTELP_H1_MESSAGE_DONE);
	ev_status(r, 5, 404, 1);
	ev_offsets(r, 5, 69, 93);
	ev_done(r, 7, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[7].content_length, 0);
	ev_type(r, 8, OTELP_H1_MESSAGE_DONE);
	ck_assert_int_eq(r->p.status, 404);
	ck_assert(r->p.idle);
	free(r);
}
END_TEST

START_TEST(res_status_lines)
{
	struct run *r = parse_ways(RES, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
	                                "HTTP/1.0 599 \r\nContent-Length: 0\r\n\r\n"
	                                "HTTP/1.1 999 Any reason, even \x01\xff!\r\n"
	                                "Content-Length: 0\r\n\r\n");

	ev_status(r, 0, 200, 1);
	ev_status(r, 4, 599, 0);
	ev_status(r, 8, 999, 1);
	ck_assert(!r->p.dead);
	free(r);
}
END_TEST

START_TEST(res_until_close)
{
	static const char s[] =
	    "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body bytes\r\n\r\nHTTP/1.1";
	struct run *r = parse_ways(RES, s);

	ck_assert_int_eq(r->n, 3);
	ev_done(r, 2, OTELP_H1_BODY_UNTIL_CLOSE);
	ck_assert_uint_eq(r->p.pos, sizeof(s) - 1);
	ck_assert(!r->p.idle);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);
	ck_assert(!r->p.dead);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);
}
END_TEST

START_TEST(res_interim_then_final)
{
	static const char s[] = "HTTP/1.1 100 Continue\r\n\r\n"
	                        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
	                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	struct run *r = parse_ways(RES, s);

	ck_assert_int_eq(r->n, 11);
	ev_status(r, 0, 100, 1);
	ev_done(r, 1, OTELP_H1_BODY_NONE);
	ev_type(r, 2, OTELP_H1_MESSAGE_DONE);
	ev_status(r, 3, 103, 1);
	ev_header(r, 4, "Link", "</s.css>; rel=preload");
	ev_done(r, 5, OTELP_H1_BODY_NONE);
	ev_type(r, 6, OTELP_H1_MESSAGE_DONE);
	ev_status(r, 7, 200, 1);
	ev_done(r, 9, OTELP_H1_BODY_LENGTH);
	ev_type(r, 10, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.messages, 3);
	free(r);
}
END_TEST

START_TEST(res_no_body_statuses)
{
	/* 204 and 304 have no body whatever their headers say; the next response follows. */
	static const char s[] = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
	                        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
	                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
	struct run *r = parse_ways(RES, s);

	ck_assert_int_eq(r->n, 12);
	ev_done(r, 2, OTELP_H1_BODY_NONE);
	ev_type(r, 3, OTELP_H1_MESSAGE_DONE);
	ev_done(r, 6, OTELP_H1_BODY_NONE);
	ev_status(r, 8, 101, 1);
	ev_done(r, 10, OTELP_H1_BODY_NONE);
	ev_type(r, 11, OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);
	free(r);
}
END_TEST

START_TEST(res_head_override)
{
	/* The response to HEAD announces a length it does not send. */
	static const char s[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
	                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct run *r = run_new(RES);
	struct run *plain;

	r->override = OTELP_H1_BODY_NONE;
	feed(r, s, sizeof(s) - 1, 0);
	ck_assert_int_eq(r->n, 8);
	ev_done(r, 2, OTELP_H1_BODY_LENGTH); /* what the parser chose before the override */
	ev_type(r, 3, OTELP_H1_MESSAGE_DONE);
	ev_status(r, 4, 200, 1);
	ev_type(r, 7, OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);
	free(r);

	/* Without the override, the second head is swallowed as body bytes. */
	plain = parse(RES, s);
	ck_assert_int_eq(plain->n, 3);
	ck_assert(!plain->p.idle);
	free(plain);
}
END_TEST

START_TEST(set_body_overrides)
{
	static const char req[] = "POST / HTTP/1.1\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	struct run *r = run_new(REQ);
	struct otelp_h1_event ev;

	/* Chunked forced on a request without framing. */
	r->override = OTELP_H1_BODY_CHUNKED;
	feed(r, req, sizeof(req) - 1, 0);
	ck_assert_int_eq(r->n, 3);
	ev_type(r, 2, OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);
	/* Outside HEADERS_DONE it changes nothing. */
	otelp__h1_set_body(&r->p, OTELP_H1_BODY_UNTIL_CLOSE);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);

	/* Until-close forced on a request. */
	r = run_new(REQ);
	r->override = OTELP_H1_BODY_UNTIL_CLOSE;
	feed(r, req, sizeof(req) - 1, 0);
	ck_assert_int_eq(r->n, 2);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_MESSAGE_DONE);
	free(r);

	/* An unknown framing value is refused at the next step. */
	r = run_new(REQ);
	step_to_headers_done(&r->p, "POST / HTTP/1.1\r\n\r\n");
	otelp__h1_set_body(&r->p, (enum otelp_h1_body)42);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 0, &ev), 0);
	ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
	free(r);
}
END_TEST

START_TEST(framing_choice)
{
	struct run *r;

	/* Transfer-Encoding wins over Content-Length, in either order. */
	r = parse(REQ,
	          "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_CHUNKED);
	free(r);
	r = parse(REQ,
	          "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\nContent-Length: 3\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_CHUNKED);
	free(r);
	/* The last coding of the combined list decides. */
	r = parse(RES, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	               "Transfer-Encoding: gzip\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_UNTIL_CLOSE);
	free(r);
	r = parse(RES, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
	               "transfer-encoding: x ,\t Chunked , ,\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_CHUNKED);
	free(r);
	r = parse(RES,
	          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_CHUNKED);
	free(r);
	/* A response with an encoding but no chunked ends at close; a request cannot. */
	r = parse(RES, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\n");
	ev_done(r, 3, OTELP_H1_BODY_UNTIL_CLOSE);
	free(r);
	expect_error(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	expect_error(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
	expect_error(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n");
	/* Content-Length in a response. */
	r = parse(RES, "HTTP/1.1 500 Oops\r\ncontent-LENGTH: 007\r\n\r\n");
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[2].content_length, 7);
	free(r);
	/* A request with neither has no body, even if bytes follow (they start a message). */
	r = parse(REQ, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(r->n, 6);
	free(r);
}
END_TEST

START_TEST(content_length_values)
{
	struct run *r;
	static const char *bad[] = {"",
	                            " ",
	                            "abc",
	                            "-1",
	                            "+5",
	                            "5 5",
	                            "5, 5",
	                            "0x10",
	                            "1e3",
	                            "18446744073709551616",
	                            "000000000000000000000000018446744073709551616",
	                            "99999999999999999999999"};
	char buf[256];

	r = parse(REQ, "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n");
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[2].content_length, UINT64_MAX);
	free(r);
	/* The overflow check starts at the 20th digit: leading zeros and 19 nines are fine. */
	r = parse(REQ,
	          "POST / HTTP/1.1\r\nContent-Length: 000000000000000000000000018446744073709551615"
	          "\r\n\r\n");
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[2].content_length, UINT64_MAX);
	free(r);
	r = parse(REQ, "POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n");
	ev_done(r, 2, OTELP_H1_BODY_LENGTH);
	ck_assert_uint_eq(r->ev[2].content_length, 9999999999999999999ull);
	free(r);
	/* Identical duplicates are fine, leading zeros included. */
	r = parse_ways(REQ, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length:003 \r\n"
	                    "\r\nabc");
	ev_done(r, 3, OTELP_H1_BODY_LENGTH);
	ev_type(r, 4, OTELP_H1_MESSAGE_DONE);
	free(r);
	expect_error(REQ, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
	expect_error(RES, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
		expect_error(REQ, buf);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad[i]);
		expect_error(RES, buf);
	}
}
END_TEST

/* ---- lines ---- */

START_TEST(bare_lf_offsets)
{
	static const char s[] = "GET / HTTP/1.1\nHost: a\r\nX: y\n\n";
	struct run *r = parse_ways(REQ, s);

	ck_assert_int_eq(r->n, 5);
	ev_request(r, 0, "GET", "/", 1);
	ev_offsets(r, 0, 0, 15);
	ev_header(r, 1, "Host", "a");
	ev_offsets(r, 1, 15, 24);
	ck_assert_uint_eq(r->ev[1].value_start, 21);
	ev_header(r, 2, "X", "y");
	ev_offsets(r, 2, 24, 29);
	ck_assert_uint_eq(r->ev[2].value_start, 27);
	/* The blank line is its bare LF. */
	ev_done(r, 3, OTELP_H1_BODY_NONE);
	ev_offsets(r, 3, 29, 30);
	free(r);
}
END_TEST

START_TEST(event_pointers)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	char *buf = exact(s, sizeof(s) - 1);
	struct otelp_h1 p;
	struct otelp_h1_event ev;
	size_t off;

	/* A line that lies whole in the caller's buffer is not copied. */
	otelp__h1_init(&p, REQ);
	off = otelp__h1_step(&p, buf, sizeof(s) - 1, &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_START_LINE);
	ck_assert_ptr_eq(ev.method, buf);
	ck_assert_ptr_eq(ev.target, buf + 4);
	otelp__h1_step(&p, buf + off, sizeof(s) - 1 - off, &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_HEADER);
	ck_assert_ptr_eq(ev.name, buf + 16);
	ck_assert_ptr_eq(ev.value, buf + 22);

	/* A line split across calls is given from the parser's own copy. */
	otelp__h1_init(&p, REQ);
	ck_assert_uint_eq(otelp__h1_step(&p, buf, 16, &ev), 16);
	ck_assert_uint_eq(otelp__h1_step(&p, buf + 16, 3, &ev), 3);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	ck_assert_uint_eq(otelp__h1_step(&p, buf + 19, sizeof(s) - 1 - 19, &ev), 31 - 19);
	ck_assert_int_eq(ev.type, OTELP_H1_HEADER);
	ck_assert_ptr_eq(ev.name, p.line);
	ck_assert_ptr_eq(ev.value, p.line + 6);
	ck_assert_uint_eq(ev.value_len, 7);
	ck_assert_mem_eq(ev.value, "example", 7);
	ck_assert_uint_eq(ev.line_start, 16);
	ck_assert_uint_eq(ev.line_end, 31);
	ck_assert_uint_eq(ev.value_start, 22);
	ck_assert_uint_eq(p.pos, 31);
	free(buf);
}
END_TEST

START_TEST(value_trimming)
{
	static const char s[] = "GET / HTTP/1.1\r\n"
	                        "A:  \t a b \t \r\n"
	                        "B:\r\n"
	                        "C:   \r\n"
	                        "D:x\r\n"
	                        "\r\n";
	struct run *r = parse_ways(REQ, s);

	ev_header(r, 1, "A", "a b");
	ck_assert_uint_eq(r->ev[1].value_start, 16 + 6);
	ev_header(r, 2, "B", "");
	ck_assert_uint_eq(r->ev[2].value_start, 30 + 2);
	ev_header(r, 3, "C", "");
	ck_assert_uint_eq(r->ev[3].value_start, 34 + 5);
	ev_header(r, 4, "D", "x");
	ck_assert_uint_eq(r->ev[4].value_start, 41 + 2);
	ev_done(r, 5, OTELP_H1_BODY_NONE);
	ev_offsets(r, 5, 46, 48);
	free(r);
}
END_TEST

START_TEST(leading_empty_lines)
{
	static const char s[] = "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n\r\n";
	struct run *r = run_new(REQ);

	feed_one(r, s, 2);
	ck_assert_int_eq(r->n, 0);
	ck_assert(r->p.idle);
	feed_one(r, s + 2, 1);
	ck_assert(r->p.idle);
	feed_one(r, s + 3, 1); /* a lone CR: a line has begun */
	ck_assert(!r->p.idle);
	feed_one(r, s + 4, sizeof(s) - 5);
	ck_assert_int_eq(r->n, 3);
	ev_request(r, 0, "GET", "/", 1);
	ev_offsets(r, 0, 5, 21);
	ck_assert(r->p.idle);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);
}
END_TEST

START_TEST(nul_bytes)
{
	static const char s[] =
	    "POST /n HTTP/1.1\r\nX-Nul: a\0b\r\nContent-Length: 3\r\n\r\n\0\0\0";
	struct run *r = parse_all_ways(REQ, s, sizeof(s) - 1);

	ck_assert_int_eq(r->n, 5);
	ev_type(r, 1, OTELP_H1_HEADER);
	ck_assert_uint_eq(r->ev[1].b_len, 3);
	ck_assert_mem_eq(r->ev[1].b, "a\0b", 3);
	ev_type(r, 4, OTELP_H1_MESSAGE_DONE);
	free(r);
	expect_error_n(REQ, "POST /n HTTP/1.1\r\nX\0: a\r\n\r\n", 27);
	expect_error_n(REQ, "GET /\0 HTTP/1.1\r\n\r\n", 19);
	expect_error_n(REQ, "G\0T / HTTP/1.1\r\n\r\n", 18);
	expect_error_n(REQ, "\0\r\n", 3);
}
END_TEST

START_TEST(header_line_64k)
{
	size_t big = 64 * 1024, n;
	char *s = malloc(big + 256);
	struct run *r;

	ck_assert_ptr_nonnull(s);
	n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nCookie: ");
	memset(s + n, 'v', big);
	n += big;
	n += (size_t)sprintf(s + n, "\r\nHost: h\r\n\r\n");
	r = parse_all_ways(REQ, s, n);
	ck_assert_int_eq(r->n, 5);
	ev_type(r, 1, OTELP_H1_HEADER);
	ck_assert(r->ev[1].truncated);
	ck_assert_str_eq(r->ev[1].a, "Cookie");
	/* The value is what fits the first OTELP_H1_LINE_MAX bytes of the line. */
	ck_assert_uint_eq(r->ev[1].b_len, OTELP_H1_LINE_MAX - 8);
	ck_assert_uint_eq(r->ev[1].value_start, 16 + 8);
	ev_offsets(r, 1, 16, 16 + 8 + big + 2);
	ev_header(r, 2, "Host", "h");
	ev_done(r, 3, OTELP_H1_BODY_NONE);
	free(r);
	free(s);
}
END_TEST

START_TEST(truncation_boundary)
{
	/* Lines of LINE_MAX - 1 .. LINE_MAX + 2 content bytes, with CRLF and with bare LF. */
	for (int eol = 0; eol < 2; eol++) {
		for (size_t want = OTELP_H1_LINE_MAX - 1; want <= OTELP_H1_LINE_MAX + 2; want++) {
			char *s = malloc(want + 64);
			size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nX: ");
			struct run *r;

			memset(s + n, 'a', want - 3);
			n += want - 3;
			n += (size_t)sprintf(s + n, "%s\r\n", eol ? "\n" : "\r\n");
			r = parse_all_ways(REQ, s, n);
			ck_assert_int_eq(r->n, 4);
			ck_assert_int_eq(r->ev[1].truncated, want > OTELP_H1_LINE_MAX);
			ck_assert_uint_eq(r->ev[1].b_len,
			                  (want > OTELP_H1_LINE_MAX ? OTELP_H1_LINE_MAX : want) -
			                      3);
			ev_done(r, 2, OTELP_H1_BODY_NONE);
			free(r);
			free(s);
		}
	}
}
END_TEST

START_TEST(long_request_line)
{
	size_t n, t = 5000;
	char *s = malloc(t + 256);
	struct run *r;

	ck_assert_ptr_nonnull(s);
	n = (size_t)sprintf(s, "GET /");
	memset(s + n, 'p', t);
	n += t;
	n += (size_t)sprintf(s + n, " HTTP/1.0\r\nHost: h\r\n\r\n");
	r = parse_all_ways(REQ, s, n);
	ck_assert_int_eq(r->n, 4);
	ev_type(r, 0, OTELP_H1_START_LINE);
	ck_assert(r->ev[0].truncated);
	ck_assert_str_eq(r->ev[0].a, "GET");
	ck_assert_uint_eq(r->ev[0].b_len, OTELP_H1_LINE_MAX - 4);
	ck_assert_int_eq(r->ev[0].minor, 0);
	ev_header(r, 1, "Host", "h");
	free(r);

	/* The version is still checked at the end of a long line. */
	memcpy(s + 5 + t, " HTTP/2.0", 9);
	expect_error_n(REQ, s, n);
	memcpy(s + 5 + t, " HTTP/1.1", 9);
	s[5 + t - 3] = '\r';
	expect_error_n(REQ, s, n);
	free(s);

	/* Version straddling the LINE_MAX boundary. */
	for (size_t k = 0; k < 12; k++) {
		size_t target = OTELP_H1_LINE_MAX - 14 + k;

		s = malloc(target + 64);
		n = (size_t)sprintf(s, "GET ");
		memset(s + n, 'x', target);
		n += target;
		n += (size_t)sprintf(s + n, " HTTP/1.1\r\n\r\n");
		r = parse_all_ways(REQ, s, n);
		ck_assert_int_eq(r->n, 3);
		ev_type(r, 0, OTELP_H1_START_LINE);
		ck_assert_int_eq(r->ev[0].truncated, 4 + target + 9 > OTELP_H1_LINE_MAX);
		ck_assert_uint_eq(r->ev[0].b_len,
		                  target < OTELP_H1_LINE_MAX - 4 ? target : OTELP_H1_LINE_MAX - 4);
		free(r);
		free(s);
	}
}
END_TEST

START_TEST(many_headers)
{
	size_t n = 0;
	char *s = malloc(1000 * 32 + 64);
	struct run *r;

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(s + n, "X-H%d: value %d\r\n", i, i);
	n += (size_t)sprintf(s + n, "Content-Length: 0\r\n\r\n");
	r = parse_all_ways(RES, s, n);
	ck_assert_int_eq(r->n, 1004);
	ev_header(r, 1, "X-H0", "value 0");
	ev_header(r, 1000, "X-H999", "value 999");
	ev_done(r, 1002, OTELP_H1_BODY_LENGTH);
	ev_type(r, 1003, OTELP_H1_MESSAGE_DONE);
	free(r);
	free(s);
}
END_TEST

/* A head of exactly total bytes: one start line, filler headers, the blank line. */
static char *head_of(size_t total, size_t *len)
{
	char *s = malloc(total);
	size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");

	while (total - n > 2) {
		size_t line = total - n - 2 < 1000 ? total - n - 2 : 1000;

		if (line < 5) { /* too short for a header: lengthen the previous one */
			memmove(s + n - 2 + line, s + n - 2, 2);
			memset(s + n - 2, 'z', line);
			n += line;
			continue;
		}
		memcpy(s + n, "F: ", 3);
		memset(s + n + 3, 'y', line - 5);
		memcpy(s + n + line - 2, "\r\n", 2);
		n += line;
	}
	memcpy(s + n, "\r\n", 2);
	*len = n + 2;
	return s;
}

START_TEST(head_limit)
{
	size_t n;
	char *s = head_of(OTELP_H1_HEAD_MAX, &n);
	struct run *r;

	ck_assert_uint_eq(n, OTELP_H1_HEAD_MAX);
	r = parse_all_ways(REQ, s, n);
	ck_assert(!r->p.dead);
	ev_type(r, r->n - 1, OTELP_H1_MESSAGE_DONE);
	free(r);
	free(s);

	s = head_of(OTELP_H1_HEAD_MAX + 1, &n);
	ck_assert_uint_eq(n, OTELP_H1_HEAD_MAX + 1);
	expect_error_n(REQ, s, n);
	free(s);

	/* A head that never ends a line. */
	s = malloc(OTELP_H1_HEAD_MAX + 10);
	memset(s, 'A', OTELP_H1_HEAD_MAX + 10);
	expect_error_n(REQ, s, OTELP_H1_HEAD_MAX + 10);
	r = parse_n(REQ, s, OTELP_H1_HEAD_MAX, 0);
	ck_assert(!r->p.dead);
	ck_assert_int_eq(r->n, 0);
	free(r);
	free(s);
}
END_TEST

START_TEST(bad_start_lines)
{
	static const char *req[] = {
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET /  HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1 \r\n\r\n",
	    " GET / HTTP/1.1\r\n\r\n",
	    "GET /a b HTTP/1.1\r\n\r\n",
	    "GET HTTP/1.1\r\n\r\n",
	    "GET /\r\n\r\n",
	    "GET / HTTP/1.2\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / http/1.1\r\n\r\n",
	    "GET / HTTP/1.1x\r\n\r\n",
	    "G(T / HTTP/1.1\r\n\r\n",
	    "GET\t/ HTTP/1.1\r\n\r\n",
	    "GET /\x7f HTTP/1.1\r\n\r\n",
	    "GET /\t HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\r\n\r\n",
	    "GET \r/ HTTP/1.1\r\n\r\n",
	    "\x16\x03\x01\x02\x01\n",
	    "HTTP/1.1 200 OK\r\n\r\n",
	};
	static const char *res[] = {
	    "HTTP/1.1 99 Low\r\n\r\n",   "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 2000\r\n\r\n",
	    "HTTP/1.1 20\r\n\r\n",       "HTTP/1.1 200OK\r\n\r\n",   "HTTP/1.1  200 OK\r\n\r\n",
	    "HTTP/1.2 200 OK\r\n\r\n",   "HTTP/2 200\r\n\r\n",       "http/1.1 200 OK\r\n\r\n",
	    "HTTP/1.1 2x0 OK\r\n\r\n",   "GET / HTTP/1.1\r\n\r\n",   "HTTP/1.1\r\n\r\n",
	    "HTTP/1.1 200 O\rK\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		expect_error(REQ, req[i]);
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		expect_error(RES, res[i]);
}
END_TEST

START_TEST(bad_header_lines)
{
	static const char *bad[] = {
	    "Host : a\r\n",     /* space before the colon */
	    "Host a\r\n",       /* no colon */
	    ": a\r\n",          /* empty name */
	    "Ho(st: a\r\n",     /* not a tchar */
	    " X: folded\r\n",   /* whitespace at the start of the first field */
	    "X: a\r\n\tb\r\n",  /* obs-fold */
	    "X: a\r\n  b\r\n",  /* obs-fold */
	    "X: a\rb\r\n",      /* bare CR */
	    "X: a\r \r\n",      /* bare CR */
	    "X: a\r\r\n",       /* CR CR LF */
	    "\r\r\n",           /* a CR alone is not an empty line */
	    "X\xc3\xa9: a\r\n", /* non-ASCII name */
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
		expect_error(REQ, buf);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n", bad[i]);
		expect_error(RES, buf);
	}
	/* A truncated line without its colon in the kept part. */
	{
		size_t n = 2 * OTELP_H1_LINE_MAX;
		char *s = malloc(n + 32);

		memcpy(s, "GET / HTTP/1.1\r\n", 16);
		memset(s + 16, 'N', n);
		memcpy(s + 16 + n, ": v\r\n\r\n", 7);
		expect_error_n(REQ, s, n + 23);
		free(s);
	}
}
END_TEST

START_TEST(truncated_framing_header)
{
	size_t n = OTELP_H1_LINE_MAX + 100;
	char *s = malloc(n + 64);
	size_t k = (size_t)sprintf(s, "POST / HTTP/1.1\r\nContent-Length: ");

	memset(s + k, '0', n);
	k += n;
	k += (size_t)sprintf(s + k, "1\r\n\r\nx");
	expect_error_n(REQ, s, k);
	k = (size_t)sprintf(s, "POST / HTTP/1.1\r\nTransfer-Encoding: ");
	memset(s + k, ' ', n);
	k += n;
	k += (size_t)sprintf(s + k, "chunked\r\n\r\n");
	expect_error_n(REQ, s, k);
	free(s);
}
END_TEST

/* ---- errors and end of stream ---- */

START_TEST(error_is_sticky)
{
	struct run *r = parse(REQ, "GET / HTTP/9.9\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	struct otelp_h1_event ev;
	uint64_t pos = r->p.pos;

	ck_assert_int_eq(r->n, 1);
	ev_type(r, 0, OTELP_H1_ERROR);
	ck_assert(r->p.dead);
	ck_assert(!r->p.idle);
	ck_assert_str_eq(r->p.error, "unsupported version");
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(otelp__h1_step(&r->p, "GET / HTTP/1.1\r\n", 16, &ev), 0);
		ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
		ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 5, &ev), 0);
		ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
	}
	ck_assert_uint_eq(r->p.pos, pos);
	otelp__h1_set_body(&r->p, OTELP_H1_BODY_NONE);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
	free(r);
}
END_TEST

START_TEST(eof_semantics)
{
	struct run *r;

	/* Nothing at all, or between messages: fine. */
	r = run_new(REQ);
	ck_assert(r->p.idle);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);
	/* Inside a start line, a head, a length body, a chunked body, trailers. */
	static const char *cut[] = {
	    "GET / HT",
	    "GET / HTTP/1.1\r\n",
	    "GET / HTTP/1.1\r\nHost: x",
	    "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nx",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n",
	};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		r = parse(REQ, cut[i]);
		ck_assert(!r->p.dead);
		ck_assert(!r->p.idle);
		ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
		ck_assert(r->p.dead);
		ck_assert_ptr_nonnull(r->p.error);
		free(r);
	}
	/* A head whose empty body was not stepped to yet is complete. */
	r = run_new(RES);
	feed_one(r, "HTTP/1.1 204 No Content\r\n\r\n", 27);
	ck_assert_int_eq(r->n, 3); /* the feeder stepped to MESSAGE_DONE */
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_NEED_MORE);
	free(r);
	r = run_new(RES);
	step_to_headers_done(&r->p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	ck_assert(!r->p.idle);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);
	free(r);
	r = run_new(RES);
	step_to_headers_done(&r->p, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n");
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
	free(r);
}
END_TEST

/* ---- opaque (sendfile) body bytes ---- */

START_TEST(opaque_length_body)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	struct run *r = run_new(RES);
	struct otelp_h1_event ev;

	feed_one(r, head, sizeof(head) - 1);
	ck_assert_int_eq(r->n, 3);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 60, &ev), 60);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	/* More than the rest of the body: consumed up to its end only. */
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 50, &ev), 40);
	ck_assert_int_eq(ev.type, OTELP_H1_MESSAGE_DONE);
	ck_assert_uint_eq(r->p.pos, sizeof(head) - 1 + 100);
	ck_assert(r->p.idle);
	/* The 10 left over are not body: error. */
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 10, &ev), 0);
	ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
	ck_assert(r->p.dead);
	free(r);

	/* Opaque bytes in a head are an error; none at all are nothing. */
	r = run_new(REQ);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 0, &ev), 0);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	ck_assert_int_eq(feed_one(r, NULL, 4), OTELP_H1_ERROR);
	free(r);
	r = run_new(REQ);
	feed_one(r, "GET / HTTP/1.1\r\n", 16);
	ck_assert_int_eq(feed_one(r, NULL, 4), OTELP_H1_ERROR);
	free(r);
}
END_TEST

START_TEST(opaque_chunk_and_close)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct run *r = run_new(RES);
	struct otelp_h1_event ev;

	feed_one(r, head, sizeof(head) - 1);
	feed_one(r, "a\r\n", 3);
	ck_assert_int_eq(feed_one(r, NULL, 4), OTELP_H1_NEED_MORE);
	ck_assert_int_eq(feed_one(r, NULL, 6), OTELP_H1_NEED_MORE);
	ck_assert_int_eq(feed_one(r, "\r\n0\r\n\r\n", 7), OTELP_H1_NEED_MORE);
	ev_type(r, r->n - 1, OTELP_H1_MESSAGE_DONE);
	ck_assert(r->p.idle);

	/* Opaque bytes running past a chunk's data: the framing after it is unseen. */
	feed_one(r, head, sizeof(head) - 1);
	feed_one(r, "4\r\n", 3);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 10, &ev), 4);
	ck_assert_int_eq(ev.type, OTELP_H1_ERROR);
	free(r);

	/* Until close: everything goes. */
	r = run_new(RES);
	feed_one(r, "HTTP/1.0 200 OK\r\n\r\nabc", 22);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, 1u << 30, &ev), 1u << 30);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	ck_assert_uint_eq(r->p.pos, 22 + (1u << 30));
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_MESSAGE_DONE);
	free(r);

	/* Right after HEADERS_DONE: the framing is resolved first. */
	r = run_new(REQ);
	feed_one(r, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 38);
	ck_assert_int_eq(feed_one(r, NULL, 3), OTELP_H1_NEED_MORE);
	ev_type(r, r->n - 1, OTELP_H1_MESSAGE_DONE);
	free(r);
}
END_TEST

START_TEST(huge_length_body)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n";
	struct run *r = run_new(RES);
	struct otelp_h1_event ev;

	feed_one(r, head, sizeof(head) - 1);
	ck_assert_uint_eq(otelp__h1_step(&r->p, NULL, (size_t)1 << 62, &ev), (size_t)1 << 62);
	ck_assert_int_eq(ev.type, OTELP_H1_NEED_MORE);
	ck_assert_int_eq(otelp__h1_eof(&r->p), OTELP_H1_ERROR);
	free(r);
}
END_TEST

/* ---- classification ---- */

static int cls_req(const char *s, size_t n)
{
	char *p = exact(s, n);
	int r = otelp__h1_classify_request(p, n);

	free(p);
	return r;
}

static int cls_res(const char *s, size_t n)
{
	char *p = exact(s, n);
	int r = otelp__h1_classify_response(p, n);

	free(p);
	return r;
}

#define CREQ(s) cls_req(s, sizeof(s) - 1)
#define CRES(s) cls_res(s, sizeof(s) - 1)

/* Only the wanted fields give events; the framing fields still act when not wanted. */
START_TEST(wanted_fields)
{
	static const char s[] = "POST /x HTTP/1.1\r\nAccept: */*\r\nHost: h\r\n"
	                        "Content-Length: 2\r\nX-Long-Name-Of-Thirty-Two-Bytes!: v\r\n\r\nab"
	                        "GET / HTTP/1.1\r\nhost: g\r\n\r\n";
	struct otelp_h1 p;
	struct otelp_h1_event ev;
	size_t off = 0, n = sizeof(s) - 1;
	char names[128] = "";

	otelp__h1_init(&p, REQ);
	ck_assert_uint_eq(p.want, UINT32_MAX);
	p.want = otelp__h1_want_bit(4) | otelp__h1_want_bit(31);
	for (;;) {
		off += otelp__h1_step(&p, s + off, n - off, &ev);
		if (ev.type == OTELP_H1_NEED_MORE)
			break;
		ck_assert_int_ne(ev.type, OTELP_H1_ERROR);
		if (ev.type == OTELP_H1_HEADER)
			strncat(names, ev.name, ev.name_len);
		if (ev.type == OTELP_H1_HEADERS_DONE && p.messages == 1) {
			ck_assert_int_eq(p.body, OTELP_H1_BODY_LENGTH);
			ck_assert_uint_eq(p.content_length, 2);
		}
	}
	ck_assert_str_eq(names, "HostX-Long-Name-Of-Thirty-Two-Bytes!host");
	ck_assert_uint_eq(p.messages, 2);
	ck_assert(p.idle);
	/* None wanted. */
	otelp__h1_init(&p, REQ);
	p.want = 0;
	off = 0;
	do {
		off += otelp__h1_step(&p, s + off, n - off, &ev);
		ck_assert_int_ne(ev.type, OTELP_H1_HEADER);
	} while (ev.type != OTELP_H1_NEED_MORE);
	ck_assert_uint_eq(p.messages, 2);
}
END_TEST

/*
 * batch: a head that lies whole in one buffer is one HEAD event with its wanted fields; one
 * that does not (cut, or with more wanted fields than a HEAD carries) gives the events one by
 * one, and so does a parser without batch.
 */
START_TEST(head_events)
{
	static const char s[] = "GET /a?b HTTP/1.1\r\nHost: h:8\r\nAccept: */*\r\n"
	                        "User-Agent: u a\r\n\r\n";
	struct otelp_h1 p;
	struct otelp_h1_event ev;
	size_t n = sizeof(s) - 1, used;
	char many[1024] = "GET / HTTP/1.1\r\n";

	otelp__h1_init(&p, REQ);
	p.batch = true;
	p.want = otelp__h1_want_bit(4) | otelp__h1_want_bit(10);
	used = otelp__h1_step(&p, s, n, &ev);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(ev.type, OTELP_H1_HEAD);
	ck_assert_uint_eq(ev.method_len, 3);
	ck_assert(memcmp(ev.target, "/a?b", 4) == 0 && ev.target_len == 4);
	ck_assert_int_eq(ev.version_minor, 1);
	ck_assert_uint_eq(ev.start_line_start, 0);
	ck_assert_uint_eq(ev.start_line_end, 19);
	ck_assert_uint_eq(ev.n_fields, 2);
	ck_assert(ev.fields[0].name_len == 4 && memcmp(ev.fields[0].value, "h:8", 3) == 0);
	ck_assert_uint_eq(ev.fields[0].line_start, 19);
	ck_assert_uint_eq(ev.fields[0].value_start, 25);
	ck_assert(ev.fields[1].value_len == 3 && memcmp(ev.fields[1].value, "u a", 3) == 0);
	ck_assert_uint_eq(ev.line_start, n - 2);
	ck_assert_uint_eq(ev.line_end, n);
	ck_assert_uint_eq(p.messages, 1);
	ck_assert(!p.idle);
	used = otelp__h1_step(&p, s + n, 0, &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_MESSAGE_DONE);
	ck_assert(p.idle);

	/* Cut before its end: events one by one. */
	otelp__h1_init(&p, REQ);
	p.batch = true;
	used = otelp__h1_step(&p, s, n - 1, &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_START_LINE);
	ck_assert_uint_eq(p.messages, 1);

	/* Nine wanted fields: more than a HEAD carries. */
	for (int i = 0; i < 9; i++)
		strcat(many, "X-A: 1\r\n");
	strcat(many, "\r\n");
	otelp__h1_init(&p, REQ);
	p.batch = true;
	used = otelp__h1_step(&p, many, strlen(many), &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_START_LINE);
	ck_assert_uint_eq(used, 16);
	/* Eight wanted fields fit. */
	memmove(many + 16, many + 24, strlen(many + 24) + 1);
	otelp__h1_init(&p, REQ);
	p.batch = true;
	used = otelp__h1_step(&p, many, strlen(many), &ev);
	ck_assert_int_eq(ev.type, OTELP_H1_HEAD);
	ck_assert_uint_eq(ev.n_fields, 8);
}
END_TEST

START_TEST(classify_request)
{
	static const char pg[] = {0x00, 0x00, 0x00, 0x08, 0x04, (char)0xd2, 0x16, 0x2f};

	ck_assert_int_eq(CREQ("GET / HTTP/1.1\r\n"), 1);
	ck_assert_int_eq(CREQ("POST "), 1);
	ck_assert_int_eq(CREQ("M-SEARCH * HTTP/1.1"), 1);
	ck_assert_int_eq(CREQ("X_Y.Z! /"), 1);
	ck_assert_int_eq(CREQ("ABCDEFGHIJKLMNOPQRST /"), 1); /* 20 characters */
	ck_assert_int_eq(CREQ("ABCDEFGHIJKLMNOPQRSTU /"), 0);
	ck_assert_int_eq(CREQ("ABCDEFGHIJKLMNOPQRSTU"), 0);
	ck_assert_int_eq(CREQ("ABCDEFGHIJKLMNOPQRST"), -1);
	ck_assert_int_eq(CREQ(""), -1);
	ck_assert_int_eq(CREQ("G"), -1);
	ck_assert_int_eq(CREQ("GET"), -1);
	ck_assert_int_eq(CREQ("get / HTTP/1.1"), 0);
	ck_assert_int_eq(CREQ(" GET /"), 0);
	ck_assert_int_eq(CREQ("GE(T /"), 0);
	ck_assert_int_eq(CREQ("GET\t/"), 0);
	ck_assert_int_eq(CREQ("GET\r\n"), 0);
	ck_assert_int_eq(CREQ("\x16\x03\x01\x02\x00\x01"), 0); /* TLS ClientHello */
	ck_assert_int_eq(CREQ("*2\r\n$3\r\nGET\r\n"), 0);      /* Redis */
	ck_assert_int_eq(cls_req(pg, sizeof(pg)), 0);          /* Postgres startup */
	ck_assert_int_eq(CREQ("SSH-2.0-OpenSSH_9.6\r\n"), 0);
	/* The HTTP/2 preface, and what only starts like it. */
	ck_assert_int_eq(CREQ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0);
	ck_assert_int_eq(CREQ("PRI * HTTP/2.0"), 0);
	ck_assert_int_eq(CREQ("PRI * HTTP/2"), -1);
	ck_assert_int_eq(CREQ("PRI "), -1);
	ck_assert_int_eq(CREQ("PRI"), -1);
	ck_assert_int_eq(CREQ("PRI /x HTTP/1.1"), 1);
	ck_assert_int_eq(CREQ("PRI * HTTP/1.1"), 1);
	ck_assert_int_eq(CREQ("PRIX * HTTP/2.0"), 1);
}
END_TEST

START_TEST(classify_response)
{
	ck_assert_int_eq(CRES("HTTP/1.1 200 OK\r\n"), 1);
	ck_assert_int_eq(CRES("HTTP/1.0"), 1);
	ck_assert_int_eq(CRES("HTTP/1."), 1);
	ck_assert_int_eq(CRES("HTTP/1"), -1);
	ck_assert_int_eq(CRES("H"), -1);
	ck_assert_int_eq(CRES(""), -1);
	ck_assert_int_eq(CRES("HTTP/2 200"), 0);
	ck_assert_int_eq(CRES("http/1.1 200"), 0);
	ck_assert_int_eq(CRES("GET / HTTP/1.1"), 0);
	ck_assert_int_eq(CRES("SSH-2.0"), 0);
	ck_assert_int_eq(CRES("\x16\x03\x03"), 0);
	ck_assert_int_eq(otelp__h1_classify_response(NULL, 0), -1);
	ck_assert_int_eq(otelp__h1_classify_request(NULL, 0), -1);
}
END_TEST

/* The test cases that go through run_new(): once as they are, once with batch on. */
static void add_run_cases(Suite *s, bool batch)
{
	TCase *tc;

	tc = tcase_create(batch ? "requests-batch" : "requests");
	if (batch)
		tcase_add_checked_fixture(tc, batch_on, NULL);
	tcase_add_test(tc, req_simple_get);
	tcase_add_test(tc, req_content_length);
	tcase_add_test(tc, req_body_waits_for_bytes);
	tcase_add_test(tc, req_chunked_ext_trailers);
	tcase_add_test(tc, req_chunk_sizes);
	tcase_add_test(tc, req_chunked_errors);
	tcase_add_test(tc, req_http10_and_methods);
	tcase_add_test(tc, req_pipelined);
	tcase_add_test(tc, every_split_point);
	suite_add_tcase(s, tc);

	tc = tcase_create(batch ? "responses-batch" : "responses");
	if (batch)
		tcase_add_checked_fixture(tc, batch_on, NULL);
	tcase_add_test(tc, res_keep_alive_pair);
	tcase_add_test(tc, res_status_lines);
	tcase_add_test(tc, res_until_close);
	tcase_add_test(tc, res_interim_then_final);
	tcase_add_test(tc, res_no_body_statuses);
	tcase_add_test(tc, res_head_override);
	tcase_add_test(tc, set_body_overrides);
	tcase_add_test(tc, framing_choice);
	tcase_add_test(tc, content_length_values);
	suite_add_tcase(s, tc);

	tc = tcase_create(batch ? "lines-batch" : "lines");
	if (batch)
		tcase_add_checked_fixture(tc, batch_on, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bare_lf_offsets);
	tcase_add_test(tc, event_pointers);
	tcase_add_test(tc, value_trimming);
	tcase_add_test(tc, leading_empty_lines);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, header_line_64k);
	tcase_add_test(tc, truncation_boundary);
	tcase_add_test(tc, long_request_line);
	tcase_add_test(tc, many_headers);
	tcase_add_test(tc, head_limit);
	tcase_add_test(tc, bad_start_lines);
	tcase_add_test(tc, bad_header_lines);
	tcase_add_test(tc, truncated_framing_header);
	suite_add_tcase(s, tc);

	tc = tcase_create(batch ? "stream-batch" : "stream");
	if (batch)
		tcase_add_checked_fixture(tc, batch_on, NULL);
	tcase_add_test(tc, error_is_sticky);
	tcase_add_test(tc, eof_semantics);
	tcase_add_test(tc, opaque_length_body);
	tcase_add_test(tc, opaque_chunk_and_close);
	tcase_add_test(tc, huge_length_body);
	suite_add_tcase(s, tc);
}

static Suite *http1_suite(void)
{
	Suite *s = suite_create("http1");
	TCase *tc;

	add_run_cases(s, false);
	add_run_cases(s, true);

	tc = tcase_create("classify");
	tcase_add_test(tc, wanted_fields);
	tcase_add_test(tc, head_events);
	tcase_add_test(tc, classify_request);
	tcase_add_test(tc, classify_response);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return otelp_check_run(http1_suite(), false);
}
