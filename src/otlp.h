/*
 * This file is private to otelpreload.
 *
 * OTLP encoding of a batch of finished spans: protobuf (protobuf-c, from our own .proto files
 * under proto/, official package names and field numbers) and the OTLP/JSON form (hex ids,
 * integer enums, 64-bit integers as decimal strings, lowerCamelCase keys). Also the console
 * exporter's one-line form and the decoding of the export response (partial_success).
 *
 * Runs on the exporter thread only: it may allocate.
 */
#ifndef OTELP_OTLP_H
#define OTELP_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "resource.h"
#include "span.h"

/*
 * A growable byte buffer (malloc'ed; exporter thread only). The content is data[off ..
 * off + len): the protobuf encoder writes from the end and leaves it where it ends (off > 0);
 * everything else writes from data[0] (off 0), and reserving room moves the content there.
 */
struct otelp_buf {
	uint8_t *data;
	size_t off;
	size_t len;
	size_t cap;
};
int otelp__buf_reserve(struct otelp_buf *b, size_t extra); /* 0 or -ENOMEM */
int otelp__buf_append(struct otelp_buf *b, const void *p, size_t n);
void otelp__buf_free(struct otelp_buf *b);

/*
 * One ExportTraceServiceRequest with one ResourceSpans (resource) and one ScopeSpans
 * (scope otelpreload, schema 1.44.0) holding the n spans. out->len is set (out is reset
 * first). Returns 0 or -errno.
 */
int otelp__otlp_encode_protobuf(const struct otelp_resource *r, struct otelp_span *const *spans,
                                size_t n, struct otelp_buf *out);
/*
 * The same request built as protobuf-c structs and packed by protobuf-c: slower, kept as the
 * reference the direct writer above must match byte for byte (unit tests).
 */
/*
 * The protobuf bytes of span attributes attrs[0..n) (owner SPAN, string or int, every string
 * referenced in the global store), each a Span.attributes field, as the encoder writes them
 * within a span. Returns their length, 0 when they do not fit in cap or an attribute is not of
 * that kind. For interned attribute sets (attrset.c).
 */
size_t otelp__otlp_encode_span_attrs(const struct otelp_attr *attrs, size_t n, uint8_t *out,
                                     size_t cap);
int otelp__otlp_encode_protobuf_reference(const struct otelp_resource *r,
                                          struct otelp_span *const *spans, size_t n,
                                          struct otelp_buf *out);
int otelp__otlp_encode_json(const struct otelp_resource *r, struct otelp_span *const *spans,
                            size_t n, struct otelp_buf *out);

/* Entries used in a span's inline arrays, clamped to their capacity (defensive). */
static inline size_t otelp__span_n_attrs(const struct otelp_span *s)
{
	return s->n_attrs < OTELP_SPAN_ATTRS_MAX ? s->n_attrs : OTELP_SPAN_ATTRS_MAX;
}

static inline size_t otelp__span_n_events(const struct otelp_span *s)
{
	return s->n_events < OTELP_SPAN_EVENTS_MAX ? s->n_events : OTELP_SPAN_EVENTS_MAX;
}

static inline size_t otelp__span_n_links(const struct otelp_span *s)
{
	return s->n_links < OTELP_SPAN_LINKS_MAX ? s->n_links : OTELP_SPAN_LINKS_MAX;
}

/* Span.flags on the wire: trace flags | HAS_IS_REMOTE | (parent remote ? IS_REMOTE : 0). */
uint32_t otelp__otlp_span_flags(const struct otelp_span *s);
/* Span.Link.flags on the wire, same layout: trace flags | HAS_IS_REMOTE | IS_REMOTE. */
uint32_t otelp__otlp_link_flags(const struct otelp_link *l);

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at the start of p (n > 0 bytes readable),
 * 0 when it is ill-formed (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence). Both encoders replace each byte of an ill-formed sequence
 * by U+FFFD, so what they emit is always valid UTF-8.
 */
size_t otelp__utf8_seq_len(const uint8_t *p, size_t n);

/*
 * Console exporter line for one span, '\n' terminated, NUL terminated in out; returns its
 * length (truncated to cap - 1).
 */
size_t otelp__console_format(const struct otelp_span *s, const struct otelp_resource *r, char *out,
                             size_t cap);

/*
 * Decode an ExportTraceServiceResponse body (json: OTLP/JSON, else protobuf). Sets
 * *rejected (0 when absent) and msg (NUL-terminated, "" when absent). Returns 0, or -1 when
 * the body cannot be decoded (an empty body is a valid empty response).
 */
int otelp__otlp_decode_response(const uint8_t *body, size_t n, bool json, int64_t *rejected,
                                char *msg, size_t cap);

#endif
