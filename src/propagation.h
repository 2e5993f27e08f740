/*
 * This file is private to otelpreload.
 *
 * Context propagation formats: W3C traceparent / tracestate (Trace Context Level 2), W3C
 * baggage (passed through, with the W3C limits), B3 single and multiple headers.
 *
 * Pure functions over byte ranges (not NUL-terminated): no allocation, no globals, safe on
 * any input. They are fuzzed (tests/fuzz/fuzz-propagation.c).
 */
#ifndef OTELP_PROPAGATION_H
#define OTELP_PROPAGATION_H

#include <stdbool.h>
#include <stddef.h>

#include "span.h"

#define OTELP_TRACEPARENT_LEN    55
#define OTELP_BAGGAGE_MAX        8192
#define OTELP_BAGGAGE_MEMBERS    64
#define OTELP_TRACESTATE_MEMBERS 32

/* One HTTP header as found by a parser (name in any case). */
struct otelp_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* What extraction found. ctx.valid is false when no valid context was found. */
struct otelp_extracted {
	struct otelp_ctx ctx;
	char tracestate[OTELP_TRACESTATE_MAX + 1];
	size_t tracestate_len;
	char baggage[OTELP_BAGGAGE_MAX + 1];
	size_t baggage_len;
};

/* traceparent: 0 and *out filled (remote, valid) on success; -1 on any invalid form. */
int otelp__traceparent_parse(const char *v, size_t n, struct otelp_ctx *out);
/* Always version 00, lowercase, exactly OTELP_TRACEPARENT_LEN chars (no NUL written). */
void otelp__traceparent_format(const struct otelp_ctx *c, char out[OTELP_TRACEPARENT_LEN]);

/*
 * tracestate: validate the (already comma-combined) list and write the normalized form
 * (members joined by ",", empty members removed, truncated to OTELP_TRACESTATE_MAX by removing
 * whole members: first members longer than 128 chars, then from the right) into out, NUL
 * terminated. Returns its length, or -1 when the whole tracestate must be dropped (invalid
 * member, more than 32 members).
 */
int otelp__tracestate_parse(const char *v, size_t n, char *out, size_t cap);

/*
 * baggage: keep the valid members of the (comma-combined) header within the W3C limits
 * (64 members, 8192 bytes; whole members only), write them joined by "," into out (NUL
 * terminated). Returns the length (0: nothing to propagate).
 */
size_t otelp__baggage_parse(const char *v, size_t n, char *out, size_t cap);

/*
 * B3. Single: "{trace}-{span}[-{sampling}[-{parent}]]" or the deny-only "0". Trace ids of
 * 16 hex digits are left-padded to 32. 0 on success with *out valid (remote); a deny-only
 * header gives 1 (no ids: sampling decision "not sampled" only, out->valid false,
 * out->flags 0); -1 when malformed.
 */
int otelp__b3_single_parse(const char *v, size_t n, struct otelp_ctx *out);
/* B3 multi: any argument may be NULL (header absent). Same results as single. */
int otelp__b3_multi_parse(const char *trace_id, size_t trace_len, const char *span_id,
                          size_t span_len, const char *sampled, size_t sampled_len,
                          const char *flags, size_t flags_len, struct otelp_ctx *out);

/*
 * Extract with the configured propagators (OTELP_PROP_* bit set) from a request's headers.
 * W3C: two traceparent headers, or an invalid one, give no context (tracestate dropped);
 * several tracestate / baggage headers are combined in order. B3 (b3 or b3multi configured):
 * single takes precedence over multi; B3 is used only when W3C gave nothing.
 */
void otelp__extract(unsigned propagators, const struct otelp_header *h, size_t n,
                    struct otelp_extracted *out);

/*
 * Header lines to inject for ctx, for the configured propagators, each "name: value\r\n",
 * in this order: traceparent, tracestate (if non-empty), baggage (if non-empty), b3 or
 * X-B3-TraceId/X-B3-SpanId/X-B3-Sampled (or X-B3-Flags: 1 for debug). Returns the number of
 * bytes written, or 0 when ctx is invalid, no propagator is configured or cap is too small.
 */
size_t otelp__inject_headers(unsigned propagators, const struct otelp_ctx *ctx,
                             const char *tracestate, size_t tracestate_len, const char *baggage,
                             size_t baggage_len, char *out, size_t cap);

/* Case-insensitive ASCII comparison of a header name with a lowercase literal. */
bool otelp__header_name_is(const char *name, size_t len, const char *lower);

#endif
