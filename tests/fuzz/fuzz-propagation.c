/*
 * libFuzzer target for src/propagation.c.
 *
 * The input is read two ways:
 *  - as a whole, handed to every parser directly (traceparent, tracestate with a full and a
 *    short buffer, baggage, B3 single, and B3 multi over its first four lines);
 *  - as a header block, one "name: value" per '\n'-separated line, handed to otelp__extract
 *    with every propagator and with a propagator set taken from the first byte. Whatever is
 *    extracted is injected again, and the injected lines are extracted once more.
 *
 * Every name and value is copied into its own heap buffer of exactly its length, so that
 * ASan reports a read past the end of any single header, not only past the end of the input.
 * Invariants of the contract (propagation.h) are checked and abort on violation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz-headers.h"
#include "propagation.h"

#define ALL_PROPS \
	(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE | OTELP_PROP_B3 | OTELP_PROP_B3MULTI)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void check_ctx(const struct otelp_ctx *c)
{
	if (!c->valid)
		return;
	CHECK(c->remote);
	CHECK(c->span == NULL);
	CHECK(!otelp__all_zero(c->trace_id, 16));
	CHECK(!otelp__all_zero(c->span_id, 8));
	CHECK((c->flags & ~(OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM)) == 0);
}

static void check_extracted(const struct otelp_extracted *e)
{
	check_ctx(&e->ctx);
	CHECK(e->tracestate_len <= OTELP_TRACESTATE_MAX);
	CHECK(strlen(e->tracestate) == e->tracestate_len);
	CHECK(e->baggage_len <= OTELP_BAGGAGE_MAX);
	CHECK(strlen(e->baggage) == e->baggage_len);
	if (!e->ctx.valid)
		CHECK(e->tracestate_len == 0);
}

static void direct_parsers(const char *in, size_t size)
{
	static char ts[OTELP_TRACESTATE_MAX + 1], ts2[OTELP_TRACESTATE_MAX + 1];
	static char bg[OTELP_BAGGAGE_MAX + 1], bg2[OTELP_BAGGAGE_MAX + 1];
	char tp[OTELP_TRACEPARENT_LEN];
	struct otelp_ctx c, back;
	size_t small = size % 64;
	int r;

	if (otelp__traceparent_parse(in, size, &c) == 0) {
		check_ctx(&c);
		CHECK(c.valid);
		otelp__traceparent_format(&c, tp);
		CHECK(otelp__traceparent_parse(tp, sizeof(tp), &back) == 0);
		CHECK(memcmp(back.trace_id, c.trace_id, 16) == 0);
		CHECK(memcmp(back.span_id, c.span_id, 8) == 0);
		CHECK(back.flags == c.flags && back.valid && back.remote && !back.b3_debug);
	} else {
		CHECK(!c.valid);
	}

	r = otelp__tracestate_parse(in, size, ts, sizeof(ts));
	CHECK(r >= -1 && r <= OTELP_TRACESTATE_MAX);
	if (r >= 0) {
		/* Normalized output is a fixed point. */
		CHECK(strlen(ts) == (size_t)r);
		CHECK(otelp__tracestate_parse(ts, (size_t)r, ts2, sizeof(ts2)) == r);
		CHECK(memcmp(ts, ts2, (size_t)r) == 0);
	}
	/* A short output buffer: the result must fit it, NUL included. */
	if (small) {
		char *out = malloc(small);

		if (!out)
			abort();
		r = otelp__tracestate_parse(in, size, out, small);
		CHECK(r < (int)small);
		if (r >= 0)
			CHECK(strlen(out) == (size_t)r);
		CHECK(otelp__baggage_parse(in, size, out, small) < small);
		free(out);
	}

	size_t bl = otelp__baggage_parse(in, size, bg, sizeof(bg));
	CHECK(bl <= OTELP_BAGGAGE_MAX && strlen(bg) == bl);
	CHECK(otelp__baggage_parse(bg, bl, bg2, sizeof(bg2)) == bl);
	CHECK(memcmp(bg, bg2, bl) == 0);

	r = otelp__b3_single_parse(in, size, &c);
	CHECK(r >= -1 && r <= 1);
	CHECK((r == 0) == c.valid);
	check_ctx(&c);
}

static void b3_multi_lines(const struct lines *l)
{
	const struct otelp_header *h = l->h;
	struct otelp_ctx c;
	int r;

	/* The first four lines, whole, as the four B3 headers (absent when missing). */
	r = otelp__b3_multi_parse(l->n > 0 ? h[0].name : NULL, l->n > 0 ? h[0].name_len : 0,
	                          l->n > 1 ? h[1].name : NULL, l->n > 1 ? h[1].name_len : 0,
	                          l->n > 2 ? h[2].value : NULL, l->n > 2 ? h[2].value_len : 0,
	                          l->n > 3 ? h[3].value : NULL, l->n > 3 ? h[3].value_len : 0, &c);
	CHECK(r >= -1 && r <= 1);
	CHECK((r == 0) == c.valid);
	check_ctx(&c);
}

/* Inject what was extracted, parse the lines back, extract again: same context. */
static void reinject(unsigned props, const struct otelp_extracted *e)
{
	static char buf[OTELP_TRACESTATE_MAX + OTELP_BAGGAGE_MAX + 1024];
	static struct otelp_extracted again;
	struct otelp_header h[MAX_HEADERS];
	size_t n, nh = 0, i = 0;

	n = otelp__inject_headers(props, &e->ctx, e->tracestate, e->tracestate_len, e->baggage,
	                          e->baggage_len, buf, sizeof(buf));
	if (!e->ctx.valid || !(props & ALL_PROPS)) {
		CHECK(n == 0);
		return;
	}
	if (!(props & (ALL_PROPS & ~OTELP_PROP_BAGGAGE)) && e->baggage_len == 0) {
		CHECK(n == 0);
		return;
	}
	CHECK(n > 0);
	/* Too small by one byte: refused. */
	CHECK(otelp__inject_headers(props, &e->ctx, e->tracestate, e->tracestate_len, e->baggage,
	                            e->baggage_len, buf, n - 1) == 0);
	n = otelp__inject_headers(props, &e->ctx, e->tracestate, e->tracestate_len, e->baggage,
	                          e->baggage_len, buf, n);
	while (i < n && nh < MAX_HEADERS) {
		const char *line = buf + i;
		const char *end = memmem(line, n - i, "\r\n", 2);
		const char *colon;

		CHECK(end != NULL);
		colon = memchr(line, ':', (size_t)(end - line));
		CHECK(colon != NULL && colon[1] == ' ');
		h[nh].name = line;
		h[nh].name_len = (size_t)(colon - line);
		h[nh].value = colon + 2;
		h[nh].value_len = (size_t)(end - colon - 2);
		nh++;
		i = (size_t)(end - buf) + 2;
	}
	CHECK(i == n);
	otelp__extract(props, h, nh, &again);
	check_extracted(&again);
	if (props & (ALL_PROPS & ~OTELP_PROP_BAGGAGE)) {
		CHECK(again.ctx.valid);
		CHECK(memcmp(again.ctx.trace_id, e->ctx.trace_id, 16) == 0);
		CHECK(memcmp(again.ctx.span_id, e->ctx.span_id, 8) == 0);
		if (props & OTELP_PROP_TRACECONTEXT) {
			CHECK(again.ctx.flags == e->ctx.flags);
			CHECK(again.tracestate_len == e->tracestate_len);
			CHECK(memcmp(again.tracestate, e->tracestate, e->tracestate_len) == 0);
		} else {
			CHECK(again.ctx.flags == (e->ctx.flags & OTELP_TRACE_FLAG_SAMPLED));
			CHECK(again.ctx.b3_debug == e->ctx.b3_debug);
		}
	}
	if (props & OTELP_PROP_BAGGAGE) {
		CHECK(again.baggage_len == e->baggage_len);
		CHECK(memcmp(again.baggage, e->baggage, e->baggage_len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct otelp_extracted ex;
	char *in = copy_exact((const char *)data, size);
	unsigned props = size ? data[0] & 0x0f : 0;
	struct lines l;

	direct_parsers(in, size);

	split_headers(in, size, &l, false);
	b3_multi_lines(&l);

	otelp__extract(ALL_PROPS, l.h, l.n, &ex);
	check_extracted(&ex);
	reinject(ALL_PROPS, &ex);

	otelp__extract(props, l.h, l.n, &ex);
	check_extracted(&ex);
	reinject(props, &ex);

	(void)otelp__header_name_is(in, size, "traceparent");

	free_headers(&l);
	free(in);
	return 0;
}
