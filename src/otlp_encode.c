/*
 * OTLP protobuf encoding, the growable byte buffer, the Span.flags layout and the decoding of
 * the export response.
 *
 * DESIGN
 * ------
 * Export uses a hand-written protobuf writer (otelp__otlp_encode_protobuf, see "direct
 * writer" below): it walks the spans once, writing from the end of the buffer, and costs a
 * small fraction of protobuf-c's pack (which recomputes nested sizes at every level). The
 * protobuf-c path described next is kept as otelp__otlp_encode_protobuf_reference: the unit
 * tests require both to produce the same bytes, so it defines what the writer must emit.
 *
 * protobuf-c packs a tree of message structs that point at each other and at NUL-terminated
 * strings. A span keeps its strings unterminated in its arena, so a batch is encoded in three
 * steps:
 *   1. measure: count the messages (spans, events, links, key-values, string arrays and
 *      their elements) and the bytes every string needs once it is made valid UTF-8 and
 *      NUL-terminated;
 *   2. build: one malloc'ed block holds every message struct, every pointer array and the
 *      string scratch area; the tree is filled from the spans and the resource;
 *   3. pack: get_packed_size, reserve that much in out, pack, free the block.
 * A batch therefore costs one allocation (plus the growth of out) whatever its size, and
 * nothing can leak: the block owns everything. Constant strings (scope, schema URL) are
 * pointed at directly; protobuf-c only reads them.
 *
 * Strings are made valid UTF-8 (one U+FFFD per byte of an ill-formed sequence) because proto3
 * string fields must be UTF-8 and strict decoders (Google's Python and Go runtimes) reject the
 * whole request otherwise. A NUL byte inside a value ends that string on the wire: protobuf-c
 * strings are char *. Enum values (kind, status code) are passed through unchanged. A string
 * array becomes AnyValue.array_value: one ArrayValue whose values are string AnyValues, all of
 * them carved from the same block.
 *
 * Proto3 defaults are not written by protobuf-c, so an empty trace_state, the empty
 * parent_span_id of a root and zero dropped counts are simply absent. The status message is
 * set only when the code is ERROR.
 *
 * The response decoder takes protobuf (protobuf-c unpack) or JSON. The JSON side is a small
 * structural scanner, not a JSON library: it walks the top-level object, skips (depth-limited)
 * what it does not need, and reads partialSuccess.rejectedSpans (number or decimal string) and
 * partialSuccess.errorMessage (escapes decoded). The proto field names (partial_success,
 * rejected_spans, error_message) are accepted too, as proto3 JSON parsers do.
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "trace_service.pb-c.h"

#include "attrset.h"
#include "otlp.h"

/* The generated type names are long; these are plain aliases, one per message used. */
#define PB_REQ    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
#define PB_RESP   Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
#define PB_RSPANS Opentelemetry__Proto__Trace__V1__ResourceSpans
#define PB_SSPANS Opentelemetry__Proto__Trace__V1__ScopeSpans
#define PB_SPAN   Opentelemetry__Proto__Trace__V1__Span
#define PB_EVENT  Opentelemetry__Proto__Trace__V1__Span__Event
#define PB_LINK   Opentelemetry__Proto__Trace__V1__Span__Link
#define PB_STATUS Opentelemetry__Proto__Trace__V1__Status
#define PB_KV     Opentelemetry__Proto__Common__V1__KeyValue
#define PB_ANY    Opentelemetry__Proto__Common__V1__AnyValue
#define PB_ARRAY  Opentelemetry__Proto__Common__V1__ArrayValue
#define PB_SCOPE  Opentelemetry__Proto__Common__V1__InstrumentationScope
#define PB_RES    Opentelemetry__Proto__Resource__V1__Resource

#define BLOCK_ALIGN _Alignof(max_align_t)

static const char utf8_replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ---- byte buffer ---- */

int otelp__buf_reserve(struct otelp_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (b->off) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap && b->data)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int otelp__buf_append(struct otelp_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = otelp__buf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void otelp__buf_free(struct otelp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = 0;
	b->len = 0;
	b->cap = 0;
}

/* ---- flags, UTF-8 ---- */

uint32_t otelp__otlp_span_flags(const struct otelp_span *s)
{
	/* A root has no parent to be remote: only HAS_IS_REMOTE is set (0x100). */
	return (uint32_t)s->flags | 0x100u | (s->has_parent && s->parent_remote ? 0x200u : 0);
}

uint32_t otelp__otlp_link_flags(const struct otelp_link *l)
{
	return (uint32_t)l->flags | 0x100u | (l->remote ? 0x200u : 0);
}

static bool utf8_cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}

size_t otelp__utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* a continuation byte, or the lead of an overlong 2-byte form */
		return 0;
	if (c < 0xe0)
		return n >= 2 && utf8_cont(p[1]) ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || !utf8_cont(p[1]) || !utf8_cont(p[2]))
			return 0;
		if (c == 0xe0 && p[1] < 0xa0) /* overlong */
			return 0;
		if (c == 0xed && p[1] >= 0xa0) /* UTF-16 surrogate */
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || !utf8_cont(p[1]) || !utf8_cont(p[2]) || !utf8_cont(p[3]))
			return 0;
		if (c == 0xf0 && p[1] < 0x90) /* overlong */
			return 0;
		if (c == 0xf4 && p[1] >= 0x90) /* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Copy n bytes of src into dst as valid UTF-8, not terminated; returns the bytes written.
 * dst NULL: only measure.
 */
static size_t utf8_copy(char *dst, const char *src, size_t n)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t i = 0, w = 0;

	while (i < n) {
		size_t run = i;

		/* Copy the longest well-formed run at once; plain ASCII goes 8 bytes a step. */
		while (run < n) {
			uint64_t x;

			if (n - run >= 8) {
				memcpy(&x, p + run, 8);
				if (!(x & 0x8080808080808080ull)) {
					run += 8;
					continue;
				}
			}
			size_t l = otelp__utf8_seq_len(p + run, n - run);
			if (!l)
				break;
			run += l;
		}
		if (dst)
			memcpy(dst + w, p + i, run - i);
		w += run - i;
		i = run;
		if (i < n) {
			if (dst)
				memcpy(dst + w, utf8_replacement, 3);
			w += 3;
			i++;
		}
	}
	return w;
}

/* ---- protobuf encoding ---- */

static bool attr_type_ok(const struct otelp_attr *a)
{
	return a->type <= OTELP_ATTR_STRING_ARRAY;
}

/* What a batch needs: message counts and string scratch bytes (terminators included). */
struct batch_size {
	size_t spans;
	size_t events;
	size_t links;
	size_t kvs;
	size_t arrays; /* ArrayValue messages, one per string-array attribute */
	size_t elems;  /* AnyValue messages inside them */
	size_t str;
};

static size_t str_cost(const char *p, size_t n)
{
	return utf8_copy(NULL, p, n) + 1;
}

static size_t sref_cost(const struct otelp_span *s, struct otelp_sref r)
{
	const char *p;
	size_t n = otelp__sref_get(s, r, &p);

	return str_cost(p, n);
}

static void measure_span(const struct otelp_span *s, struct batch_size *z)
{
	size_t na = otelp__span_n_attrs(s);

	z->spans++;
	z->events += otelp__span_n_events(s);
	z->links += otelp__span_n_links(s);
	z->str += sref_cost(s, s->name) + sref_cost(s, s->tracestate);
	if (s->status == OTELP_STATUS_ERROR)
		z->str += sref_cost(s, s->status_msg);
	/* Every attribute is counted, whatever its owner: an upper bound is enough. */
	for (size_t i = 0; i < na; i++) {
		const struct otelp_attr *a = &s->attrs[i];

		z->kvs++;
		z->str += sref_cost(s, a->key);
		if (a->type == OTELP_ATTR_STRING) {
			z->str += sref_cost(s, a->v.s);
		} else if (a->type == OTELP_ATTR_STRING_ARRAY) {
			struct otelp_strarr_iter it;
			const char *p;
			size_t len;

			z->arrays++;
			otelp__strarr_begin(s, a, &it);
			while (otelp__strarr_next(&it, &p, &len)) {
				z->elems++;
				z->str += str_cost(p, len);
			}
		}
	}
	for (size_t i = 0; i < otelp__span_n_events(s); i++)
		z->str += sref_cost(s, s->events[i].name);
	for (size_t i = 0; i < otelp__span_n_links(s); i++)
		z->str += sref_cost(s, s->links[i].tracestate);
}

static size_t rattr_len(const char *p, size_t max)
{
	return strnlen(p, max);
}

static void measure_resource(const struct otelp_resource *r, struct batch_size *z)
{
	unsigned n = r->n < OTELP_RESOURCE_MAX ? r->n : OTELP_RESOURCE_MAX;

	for (unsigned i = 0; i < n; i++) {
		const struct otelp_resource_attr *a = &r->attrs[i];

		z->kvs++;
		z->str += str_cost(a->key, rattr_len(a->key, sizeof(a->key)));
		if (!a->is_int)
			z->str += str_cost(a->value, rattr_len(a->value, sizeof(a->value)));
	}
}

/* Add count elements of size bytes (plus alignment slack) to *total; false on overflow. */
static bool block_add(size_t *total, size_t count, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(count, size, &bytes))
		return false;
	if (__builtin_add_overflow(bytes, BLOCK_ALIGN, &bytes))
		return false;
	return !__builtin_add_overflow(*total, bytes, total);
}

struct block {
	char *base;
	size_t used;
};

static void *block_take(struct block *b, size_t count, size_t size)
{
	size_t at = (b->used + BLOCK_ALIGN - 1) & ~(BLOCK_ALIGN - 1);

	b->used = at + count * size;
	return b->base + at;
}

/* The arrays of one batch, carved from the block, and how much of each is used. */
struct builder {
	PB_KV *kv;
	PB_ANY *any;
	PB_KV **kvp;
	size_t n_kv;
	PB_ARRAY *arr;
	size_t n_arr;
	PB_ANY *elem;
	PB_ANY **elemp;
	size_t n_elem;
	PB_EVENT *ev;
	PB_EVENT **evp;
	size_t n_ev;
	PB_LINK *ln;
	PB_LINK **lnp;
	size_t n_ln;
	char *str;
	size_t n_str;
};

static char *put_str(struct builder *b, const char *p, size_t n)
{
	char *dst = b->str + b->n_str;
	size_t w = utf8_copy(dst, p, n);

	dst[w] = '\0';
	b->n_str += w + 1;
	return dst;
}

static char *put_sref(struct builder *b, const struct otelp_span *s, struct otelp_sref r)
{
	const char *p;
	size_t n = otelp__sref_get(s, r, &p);

	return put_str(b, p, n);
}

/* A new KeyValue with its key; returns its value, to be filled. */
static PB_ANY *new_kv(struct builder *b, char *key)
{
	size_t i = b->n_kv++;
	PB_KV *kv = &b->kv[i];
	PB_ANY *v = &b->any[i];

	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = key;
	kv->value = v;
	b->kvp[i] = kv;
	return v;
}

/* v becomes an ArrayValue of the string elements of a; its messages come from the block. */
static void build_str_array(struct builder *b, const struct otelp_span *s,
                            const struct otelp_attr *a, PB_ANY *v)
{
	PB_ARRAY *arr = &b->arr[b->n_arr++];
	struct otelp_strarr_iter it;
	const char *p;
	size_t len;

	opentelemetry__proto__common__v1__array_value__init(arr);
	arr->values = b->elemp + b->n_elem;
	otelp__strarr_begin(s, a, &it);
	while (otelp__strarr_next(&it, &p, &len)) {
		PB_ANY *e = &b->elem[b->n_elem];

		opentelemetry__proto__common__v1__any_value__init(e);
		e->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		e->string_value = put_str(b, p, len);
		b->elemp[b->n_elem++] = e;
		arr->n_values++;
	}
	if (!arr->n_values)
		arr->values = NULL;
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
	v->array_value = arr;
}

/* The attributes of one owner (span, event i, link j), in order; *n set to their count. */
static PB_KV **build_attrs(struct builder *b, const struct otelp_span *s, unsigned owner, size_t *n)
{
	size_t start = b->n_kv;

	for (size_t i = 0; i < otelp__span_n_attrs(s); i++) {
		const struct otelp_attr *a = &s->attrs[i];
		PB_ANY *v;

		if (a->owner != owner || !attr_type_ok(a))
			continue;
		v = new_kv(b, put_sref(b, s, a->key));
		switch (a->type) {
		case OTELP_ATTR_STRING:
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			v->string_value = put_sref(b, s, a->v.s);
			break;
		case OTELP_ATTR_BOOL:
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
			v->bool_value = a->v.b;
			break;
		case OTELP_ATTR_INT:
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			v->int_value = a->v.i;
			break;
		case OTELP_ATTR_DOUBLE:
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
			v->double_value = a->v.d;
			break;
		case OTELP_ATTR_STRING_ARRAY:
			build_str_array(b, s, a, v);
			break;
		}
	}
	*n = b->n_kv - start;
	return *n ? b->kvp + start : NULL;
}

static void build_resource(struct builder *b, const struct otelp_resource *r, PB_RES *m)
{
	unsigned n = r->n < OTELP_RESOURCE_MAX ? r->n : OTELP_RESOURCE_MAX;
	size_t start = b->n_kv;

	for (unsigned i = 0; i < n; i++) {
		const struct otelp_resource_attr *a = &r->attrs[i];
		PB_ANY *v = new_kv(b, put_str(b, a->key, rattr_len(a->key, sizeof(a->key))));

		if (a->is_int) {
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			v->int_value = a->ival;
		} else {
			v->value_case =
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			v->string_value =
			    put_str(b, a->value, rattr_len(a->value, sizeof(a->value)));
		}
	}
	m->n_attributes = b->n_kv - start;
	m->attributes = m->n_attributes ? b->kvp + start : NULL;
}

static void build_span(struct builder *b, const struct otelp_span *s, PB_SPAN *m, PB_STATUS *st)
{
	size_t ne = otelp__span_n_events(s), nl = otelp__span_n_links(s);

	opentelemetry__proto__trace__v1__span__init(m);
	opentelemetry__proto__trace__v1__status__init(st);

	/* protobuf-c only reads through these pointers while packing. */
	m->trace_id.data = (uint8_t *)s->trace_id;
	m->trace_id.len = sizeof(s->trace_id);
	m->span_id.data = (uint8_t *)s->span_id;
	m->span_id.len = sizeof(s->span_id);
	m->trace_state = put_sref(b, s, s->tracestate);
	if (s->has_parent) {
		m->parent_span_id.data = (uint8_t *)s->parent_span_id;
		m->parent_span_id.len = sizeof(s->parent_span_id);
	}
	m->flags = otelp__otlp_span_flags(s);
	m->name = put_sref(b, s, s->name);
	m->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
	m->start_time_unix_nano = s->start_ns;
	m->end_time_unix_nano = s->end_ns;
	m->attributes = build_attrs(b, s, OTELP_OWNER_SPAN, &m->n_attributes);
	m->dropped_attributes_count = s->dropped_attrs;

	m->n_events = ne;
	m->events = ne ? b->evp + b->n_ev : NULL;
	for (size_t i = 0; i < ne; i++) {
		const struct otelp_event *e = &s->events[i];
		PB_EVENT *em = &b->ev[b->n_ev];

		opentelemetry__proto__trace__v1__span__event__init(em);
		em->time_unix_nano = e->time_ns;
		em->name = put_sref(b, s, e->name);
		em->attributes = build_attrs(b, s, OTELP_OWNER_EVENT(i), &em->n_attributes);
		em->dropped_attributes_count = e->dropped_attrs;
		b->evp[b->n_ev++] = em;
	}
	m->dropped_events_count = s->dropped_events;

	m->n_links = nl;
	m->links = nl ? b->lnp + b->n_ln : NULL;
	for (size_t i = 0; i < nl; i++) {
		const struct otelp_link *l = &s->links[i];
		PB_LINK *lm = &b->ln[b->n_ln];

		opentelemetry__proto__trace__v1__span__link__init(lm);
		lm->trace_id.data = (uint8_t *)l->trace_id;
		lm->trace_id.len = sizeof(l->trace_id);
		lm->span_id.data = (uint8_t *)l->span_id;
		lm->span_id.len = sizeof(l->span_id);
		lm->trace_state = put_sref(b, s, l->tracestate);
		lm->attributes = build_attrs(b, s, OTELP_OWNER_LINK(i), &lm->n_attributes);
		lm->dropped_attributes_count = l->dropped_attrs;
		lm->flags = otelp__otlp_link_flags(l);
		b->lnp[b->n_ln++] = lm;
	}
	m->dropped_links_count = s->dropped_links;

	st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
	if (s->status == OTELP_STATUS_ERROR)
		st->message = put_sref(b, s, s->status_msg);
	m->status = st;
}

int otelp__otlp_encode_protobuf_reference(const struct otelp_resource *r,
                                          struct otelp_span *const *spans, size_t n,
                                          struct otelp_buf *out)
{
	struct batch_size z = {0};
	struct builder b = {0};
	struct block blk = {0};
	size_t total = 0, packed, k = 0;
	PB_SPAN *span_m, **span_p;
	PB_STATUS *status_m;
	PB_SCOPE scope;
	PB_SSPANS sspans, *sspans_p = &sspans;
	PB_RES res;
	PB_RSPANS rspans, *rspans_p = &rspans;
	PB_REQ req;
	int rc;

	out->off = 0;
	out->len = 0;
	if (n && !spans)
		return -EINVAL;

	if (r)
		measure_resource(r, &z);
	for (size_t i = 0; i < n; i++)
		if (spans[i])
			measure_span(spans[i], &z);

	if (!block_add(&total, z.spans, sizeof(PB_SPAN) + sizeof(PB_SPAN *) + sizeof(PB_STATUS)) ||
	    !block_add(&total, z.events, sizeof(PB_EVENT) + sizeof(PB_EVENT *)) ||
	    !block_add(&total, z.links, sizeof(PB_LINK) + sizeof(PB_LINK *)) ||
	    !block_add(&total, z.kvs, sizeof(PB_KV) + sizeof(PB_ANY) + sizeof(PB_KV *)) ||
	    !block_add(&total, z.arrays, sizeof(PB_ARRAY)) ||
	    !block_add(&total, z.elems, sizeof(PB_ANY) + sizeof(PB_ANY *)) ||
	    !block_add(&total, z.str, 1))
		return -ENOMEM;
	blk.base = malloc(total);
	if (!blk.base)
		return -ENOMEM;

	span_m = block_take(&blk, z.spans, sizeof(*span_m));
	span_p = block_take(&blk, z.spans, sizeof(*span_p));
	status_m = block_take(&blk, z.spans, sizeof(*status_m));
	b.ev = block_take(&blk, z.events, sizeof(*b.ev));
	b.evp = block_take(&blk, z.events, sizeof(*b.evp));
	b.ln = block_take(&blk, z.links, sizeof(*b.ln));
	b.lnp = block_take(&blk, z.links, sizeof(*b.lnp));
	b.kv = block_take(&blk, z.kvs, sizeof(*b.kv));
	b.any = block_take(&blk, z.kvs, sizeof(*b.any));
	b.kvp = block_take(&blk, z.kvs, sizeof(*b.kvp));
	b.arr = block_take(&blk, z.arrays, sizeof(*b.arr));
	b.elem = block_take(&blk, z.elems, sizeof(*b.elem));
	b.elemp = block_take(&blk, z.elems, sizeof(*b.elemp));
	b.str = block_take(&blk, z.str, 1);
	OTELP_DEBUG_ASSERT(blk.used <= total);

	opentelemetry__proto__resource__v1__resource__init(&res);
	if (r)
		build_resource(&b, r, &res);
	for (size_t i = 0; i < n; i++) {
		if (!spans[i])
			continue;
		build_span(&b, spans[i], &span_m[k], &status_m[k]);
		span_p[k] = &span_m[k];
		k++;
	}
	OTELP_DEBUG_ASSERT(b.n_kv <= z.kvs && b.n_str <= z.str);
	OTELP_DEBUG_ASSERT(b.n_arr <= z.arrays && b.n_elem <= z.elems);

	opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
	scope.name = (char *)OTELP_SCOPE_NAME;
	scope.version = (char *)OTELP_SDK_VERSION;

	opentelemetry__proto__trace__v1__scope_spans__init(&sspans);
	sspans.scope = &scope;
	sspans.n_spans = k;
	sspans.spans = k ? span_p : NULL;
	sspans.schema_url = (char *)OTELP_SCHEMA_URL;

	opentelemetry__proto__trace__v1__resource_spans__init(&rspans);
	rspans.resource = &res;
	rspans.n_scope_spans = 1;
	rspans.scope_spans = &sspans_p;
	rspans.schema_url = (char *)OTELP_SCHEMA_URL;

	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
	req.n_resource_spans = 1;
	req.resource_spans = &rspans_p;

	packed =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
	        &req);
	rc = otelp__buf_reserve(out, packed);
	if (rc == 0)
		out->len =
		    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
		        &req, out->data);
	OTELP_DEBUG_ASSERT(rc || out->len == packed);
	free(blk.base);
	return rc;
}

/*
 * The direct writer. It fills the buffer from its end toward its start, so every nested
 * message is complete before its length is needed: the length prefix and the tag are written
 * just in front of it, and no size has to be computed ahead. Fields are therefore emitted in
 * reverse field-number order and repeated elements from last to first, which leaves the
 * bytes in the order protobuf-c packs them (field-number order, elements in order). The
 * omission rules copy what protobuf-c does with the structs the reference builds: proto3
 * scalars, strings and bytes that are zero or empty are absent, a oneof member and a set
 * message field are always present (an empty string value or an empty Status included).
 *
 * When the buffer is too small it grows and what was already written moves to the new end;
 * positions are kept as distances from the end, which survive that move. The batch stays at
 * the end of out (out->off).
 *
 * Two paths. What nearly every span holds (ids, times, kind, a short name, no status, no
 * events or links, attributes with short plain-ASCII keys and values) takes the fast path:
 * a local write pointer, tags and one-byte lengths stored as constants, no room check, a known
 * key (span.h) copied whole with its header bytes. Anything else (a long or non-ASCII string,
 * a string array, an unset or odd field) takes the general path, which writes through the
 * struct and checks room for its own worst case. A fast path that meets something it does not
 * handle gives up before it moves the write pointer: what it wrote so far lies in free space
 * and the general path writes the item again.
 *
 * Room. Before a span is written, SPAN_ROOM bytes plus ATTR_ROOM per attribute are reserved
 * (w->room): the most the fast paths can write for it. The general path reserves its own
 * worst case plus w->room, so whatever the span still has to write by the fast path stays
 * covered. There is no pass over the span to size it.
 */
struct pbw {
	uint8_t *buf;
	uint8_t *p;   /* first written byte */
	uint8_t *end; /* buf + capacity */
	size_t room;  /* what the span being written reserved for its fast paths */
	bool fixed;   /* buf is the caller's: it cannot grow */
	bool oom;
};

/*
 * Fast path limits: a string of up to FAST_STR bytes has a one-byte length, and so has the
 * AnyValue around it; a key has up to FAST_KEY bytes.
 */
#define FAST_STR  125
#define FAST_KEY  64
#define ATTR_ROOM 256 /* >= 3 + (2 + FAST_KEY) + (4 + FAST_STR) */
#define SPAN_ROOM 512 /* the fixed fields, a name and a tracestate of FAST_STR bytes */

#define KEY_LEN_CHECK(id, str)                                              \
	_Static_assert(sizeof(str) - 1 >= 6 && sizeof(str) - 1 <= FAST_KEY, \
	               "known keys are copied in blocks of 8 or 16 bytes, header included: " str);
OTELP_KEYS(KEY_LEN_CHECK)
#undef KEY_LEN_CHECK

/* Make room for n more bytes in front of p; false (and oom set) when that fails. */
static __attribute__((noinline)) bool pbw_grow(struct pbw *w, size_t n)
{
	size_t used = (size_t)(w->end - w->p), cap = (size_t)(w->end - w->buf), ncap;
	uint8_t *nb;

	if (w->oom || w->fixed) {
		w->oom = true;
		return false;
	}
	ncap = cap ? cap : 4096;
	while (ncap - used < n) {
		if (ncap > SIZE_MAX / 2) {
			w->oom = true;
			return false;
		}
		ncap *= 2;
	}
	nb = realloc(w->buf, ncap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	memmove(nb + ncap - used, nb + cap - used, used);
	w->buf = nb;
	w->end = nb + ncap;
	w->p = w->end - used;
	return true;
}

static inline bool pbw_need(struct pbw *w, size_t n)
{
	if (__builtin_expect((size_t)(w->p - w->buf) >= n, 1))
		return true;
	return pbw_grow(w, n);
}

/* The general path's room check: its own n bytes, and what the span reserved. */
static inline bool pbw_need_more(struct pbw *w, size_t n)
{
	return pbw_need(w, n + w->room);
}

static inline size_t pbw_len(const struct pbw *w)
{
	return (size_t)(w->end - w->p);
}

static inline size_t varint_len(uint64_t v)
{
	return (size_t)(63 - __builtin_clzll(v | 1)) / 7 + 1;
}

/* v as a varint at q (varint_len(v) bytes). */
static inline void varint_put(uint8_t *q, uint64_t v)
{
	while (v >= 0x80) {
		*q++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*q = (uint8_t)v;
}

/* v as a varint in front of p: the new start. */
static inline uint8_t *varint_before(uint8_t *p, uint64_t v)
{
	size_t n;

	if (v < 0x80) {
		p[-1] = (uint8_t)v;
		return p - 1;
	}
	if (v < 0x4000) {
		p[-2] = (uint8_t)(v | 0x80);
		p[-1] = (uint8_t)(v >> 7);
		return p - 2;
	}
	if (v < 0x200000) {
		p[-3] = (uint8_t)(v | 0x80);
		p[-2] = (uint8_t)(v >> 7 | 0x80);
		p[-1] = (uint8_t)(v >> 14);
		return p - 3;
	}
	n = varint_len(v);
	varint_put(p - n, v);
	return p - n;
}

/* Little-endian stores, whatever the host's byte order. */
static inline void put_le32(uint8_t *q, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(q, &v, 4);
}

static inline void put_le64(uint8_t *q, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(q, &v, 8);
}

/*
 * The primitives below do not check for room: whoever calls them has reserved enough with
 * pbw_need() first.
 */
static inline void pbw_varint(struct pbw *w, uint64_t v)
{
	if (v < 0x80) {
		*--w->p = (uint8_t)v;
		return;
	}
	w->p -= varint_len(v);
	varint_put(w->p, v);
}

static inline void pbw_raw(struct pbw *w, const void *src, size_t n)
{
	w->p -= n;
	memcpy(w->p, src, n);
}

static inline void pbw_fixed64(struct pbw *w, uint64_t v)
{
	w->p -= 8;
	put_le64(w->p, v);
}

static inline void pbw_fixed32(struct pbw *w, uint32_t v)
{
	w->p -= 4;
	put_le32(w->p, v);
}

/* Wire types. */
#define WT_VARINT 0
#define WT_I64    1
#define WT_LEN    2
#define WT_I32    5

#define TAG(field, wt) ((uint32_t)(field) << 3 | (wt))

/* Close a length-delimited field whose content starts mark bytes from the end. */
static inline void pbw_close(struct pbw *w, size_t mark, uint32_t tag)
{
	pbw_varint(w, pbw_len(w) - mark);
	pbw_varint(w, tag);
}

/* Bytes 1..0x7f in every byte of x (no NUL, no high bit). */
static inline bool word_plain_ascii(uint64_t x)
{
	return (((x - 0x0101010101010101ull) | x) & 0x8080808080808080ull) == 0;
}

/*
 * 16 bytes at a time where the compiler has vectors (SSE2 on x86-64, NEON...); the loads and
 * stores go through memcpy, so they may be unaligned.
 */
typedef uint8_t v16 __attribute__((vector_size(16)));

/* A byte of x that is 0 or has its high bit set (not plain ASCII). */
static inline bool v16_not_plain(v16 x)
{
	v16 t = (x - 1) | x;
#if defined(__SSE2__)
	return _mm_movemask_epi8((__m128i)t) != 0;
#else
	uint64_t a, b;

	memcpy(&a, &t, 8);
	memcpy(&b, (const char *)&t + 8, 8);
	return ((a | b) & 0x8080808080808080ull) != 0;
#endif
}

/*
 * Copy src[0..n) to dst[0..n) when every byte is plain ASCII (1..0x7f: nearly every key and
 * value), checked on the way; false otherwise, with dst[0..n) undefined. Blocks may overlap at
 * the end; nothing outside src[0..n) and dst[0..n) is read or written.
 */
static inline __attribute__((always_inline)) bool copy_plain(uint8_t *dst, const char *src,
                                                             size_t n)
{
	if (n >= 16) {
		v16 x, y, t;

		memcpy(&x, src, 16);
		memcpy(&y, src + n - 16, 16);
		memcpy(dst, &x, 16);
		memcpy(dst + n - 16, &y, 16);
		t = (x - 1) | x | (y - 1) | y;
		for (size_t i = 16; i + 16 < n; i += 16) {
			memcpy(&x, src + i, 16);
			memcpy(dst + i, &x, 16);
			t |= (x - 1) | x;
		}
		return !v16_not_plain(t);
	}
	if (n >= 8) {
		uint64_t a, b;

		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
		return !(((a - 0x0101010101010101ull) | a | (b - 0x0101010101010101ull) | b) &
		         0x8080808080808080ull);
	}
	if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, src, 4);
		memcpy(&b, src + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
		return !(((a - 0x01010101u) | a | (b - 0x01010101u) | b) & 0x80808080u);
	}
	if (n) {
		/* First, middle and last byte: all of them for n <= 3. */
		unsigned a = (uint8_t)src[0], b = (uint8_t)src[n / 2], c = (uint8_t)src[n - 1];

		dst[0] = (uint8_t)a;
		dst[n / 2] = (uint8_t)b;
		dst[n - 1] = (uint8_t)c;
		return !(((a - 1) | a | (b - 1) | b | (c - 1) | c) & 0x80);
	}
	return true;
}

/* Copy n >= 8 bytes in blocks (the last block may overlap the one before). */
static inline __attribute__((always_inline)) void copy_blocks(uint8_t *dst, const void *src,
                                                              size_t n)
{
	const char *sp = src;

	if (n >= 16) {
		v16 x, y;

		memcpy(&x, sp, 16);
		memcpy(&y, sp + n - 16, 16);
		memcpy(dst, &x, 16);
		memcpy(dst + n - 16, &y, 16);
		for (size_t i = 16; i + 16 < n; i += 16) {
			memcpy(&x, sp + i, 16);
			memcpy(dst + i, &x, 16);
		}
	} else {
		uint64_t a, b;

		memcpy(&a, sp, 8);
		memcpy(&b, sp + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	}
}

/* Length of the leading run of bytes 1..0x7f of p[0..n). */
static size_t plain_ascii_prefix(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, p + i, 8);
		if (!word_plain_ascii(x))
			break;
	}
	while (i < n && p[i] && p[i] < 0x80)
		i++;
	return i;
}

/*
 * The n bytes of src as the reference writes them: valid UTF-8, ended by the first NUL (a
 * protobuf-c string is a C string). Returns the length written. Needs 3n bytes of room.
 */
static __attribute__((noinline)) size_t pbw_utf8_slow(struct pbw *w, const char *src, size_t n)
{
	size_t m, len;
	const char *nul;
	char *dst;

	m = plain_ascii_prefix((const uint8_t *)src, n);
	if (m == n) {
		pbw_raw(w, src, n);
		return n;
	}
	nul = memchr(src + m, '\0', n - m);
	if (nul)
		n = (size_t)(nul - src);
	/* Convert into the free space, then slide the result up against p. */
	dst = (char *)w->p - 3 * n;
	len = utf8_copy(dst, src, n);
	w->p -= len;
	memmove(w->p, dst, len);
	return len;
}

static inline size_t pbw_utf8(struct pbw *w, const char *src, size_t n)
{
	if (otelp_likely(copy_plain(w->p - n, src, n))) {
		w->p -= n;
		return n;
	}
	return pbw_utf8_slow(w, src, n);
}

/* A string field; absent when empty unless always (a oneof member). Needs 3n + 11 bytes. */
static inline void pbw_str(struct pbw *w, uint32_t tag, const char *src, size_t n, bool always)
{
	size_t len = pbw_utf8(w, src, n);

	if (!len && !always)
		return;
	pbw_varint(w, len);
	pbw_varint(w, tag);
}

static inline void pbw_sref(struct pbw *w, uint32_t tag, const struct otelp_span *s,
                            struct otelp_sref r, bool always)
{
	const char *p;
	size_t n = otelp__sref_get(s, r, &p);

	pbw_str(w, tag, p, n, always);
}

/* The same with its own room check (a string field of the general path). */
static __attribute__((noinline)) void pbw_sref_checked(struct pbw *w, uint32_t tag,
                                                       const struct otelp_span *s,
                                                       struct otelp_sref r, bool always)
{
	if (pbw_need_more(w, 3 * (size_t)r.len + 16))
		pbw_sref(w, tag, s, r, always);
}

/* A string we own (constant, ASCII, no NUL): absent when empty. */
static void pbw_cstr(struct pbw *w, uint32_t tag, const char *s)
{
	size_t n = strlen(s);

	if (!n)
		return;
	pbw_raw(w, s, n);
	pbw_varint(w, n);
	pbw_varint(w, tag);
}

/*
 * The bytes of r when they lie inside their store, else NULL: the fast paths take no
 * reference that otelp__sref_get() would clamp. s may be NULL when r is global.
 */
static inline const char *sref_in(const struct otelp_span *s, struct otelp_sref r)
{
	size_t off = r.off & ~(size_t)OTELP_SREF_GLOBAL;

	if (r.off & OTELP_SREF_GLOBAL)
		return off + r.len <= OTELP_ATTRSET_BYTES ? otelp__attrset_bytes + off : NULL;
	return off + r.len <= sizeof(s->arena) ? s->arena + off : NULL;
}

/*
 * Fast path of a string field of up to FAST_STR plain ASCII bytes in front of p (absent when
 * empty): the new start, or NULL when it is not that simple.
 */
static inline __attribute__((always_inline)) uint8_t *
str_fast(uint8_t *p, uint8_t tag, const struct otelp_span *s, struct otelp_sref r)
{
	const char *src = sref_in(s, r);
	size_t n = r.len;

	if (!src || n > FAST_STR || !copy_plain(p - n, src, n))
		return NULL;
	if (!n)
		return p;
	p -= n + 2;
	p[0] = tag;
	p[1] = (uint8_t)n;
	return p;
}

/* AnyValue.array_value of the elements of a, written last to first. */
static void pbw_str_array(struct pbw *w, const struct otelp_span *s, const struct otelp_attr *a)
{
	size_t mark = pbw_len(w), end, len;
	const char *p;

	len = otelp__sref_get(s, a->v.arr.s, &p);
	if (a->v.arr.n) {
		/* The elements are what lies between NULs; walk them from the back. */
		end = len;
		for (;;) {
			const char *nul = memrchr(p, '\0', end);
			size_t start = nul ? (size_t)(nul - p) + 1 : 0;
			size_t emark = pbw_len(w);

			pbw_str(w, TAG(1, WT_LEN), p + start, end - start, true);
			pbw_close(w, emark, TAG(1, WT_LEN));
			if (!nul)
				break;
			end = start - 1;
		}
	}
	pbw_close(w, mark, TAG(5, WT_LEN));
}

/*
 * The fast path of one KeyValue (a field of tag kvtag in its message) in front of p: the new
 * start, or NULL when some part of it needs the general path.
 */
static inline __attribute__((always_inline)) uint8_t *
kv_fast(uint8_t *p, const struct otelp_span *s, const struct otelp_attr *a, uint8_t kvtag)
{
	uint8_t *q;
	size_t n;

	/* The AnyValue (field 2 of KeyValue) and its content. */
	if (otelp_likely(a->type == OTELP_ATTR_STRING)) {
		const char *src = sref_in(s, a->v.s);

		n = a->v.s.len;
		if (!src || n > FAST_STR || !copy_plain(p - n, src, n))
			return NULL;
		q = p - n - 4;
		q[0] = TAG(2, WT_LEN);
		q[1] = (uint8_t)(n + 2);
		q[2] = TAG(1, WT_LEN);
		q[3] = (uint8_t)n;
	} else if (a->type == OTELP_ATTR_INT) {
		q = varint_before(p, (uint64_t)a->v.i);
		n = (size_t)(p - q);
		q -= 3;
		q[0] = TAG(2, WT_LEN);
		q[1] = (uint8_t)(n + 1);
		q[2] = TAG(3, WT_VARINT);
	} else if (a->type == OTELP_ATTR_BOOL) {
		q = p - 4;
		q[0] = TAG(2, WT_LEN);
		q[1] = 2;
		q[2] = TAG(2, WT_VARINT);
		q[3] = a->v.b ? 1 : 0;
	} else if (a->type == OTELP_ATTR_DOUBLE) {
		uint64_t bits;

		memcpy(&bits, &a->v.d, 8);
		q = p - 11;
		q[0] = TAG(2, WT_LEN);
		q[1] = 9;
		q[2] = TAG(4, WT_I64);
		put_le64(q + 3, bits);
	} else {
		return NULL;
	}

	/* The key (field 1): a known key with its two header bytes, else a short plain one. */
	if (otelp__sref_is_known_key(a->key)) {
		n = (size_t)a->key.len + 2;
		if (n - 8 > FAST_KEY - 6) /* only a reference made up by hand */
			return NULL;
		q -= n;
		copy_blocks(q, otelp__attrset_bytes + (a->key.off & ~OTELP_SREF_GLOBAL) - 2, n);
	} else {
		const char *src = sref_in(s, a->key);

		n = a->key.len;
		if (!src || n - 1 >= FAST_KEY || !copy_plain(q - n, src, n))
			return NULL;
		q -= n + 2;
		q[0] = TAG(1, WT_LEN);
		q[1] = (uint8_t)n;
	}

	/* The KeyValue's own tag and length (less than 2^14). */
	n = (size_t)(p - q);
	if (n < 0x80) {
		q -= 2;
		q[0] = kvtag;
		q[1] = (uint8_t)n;
	} else {
		q -= 3;
		q[0] = kvtag;
		q[1] = (uint8_t)(n | 0x80);
		q[2] = (uint8_t)(n >> 7);
	}
	return q;
}

/* The general path of one KeyValue, as field field of its message. */
static __attribute__((noinline)) void kv_slow(struct pbw *w, const struct otelp_span *s,
                                              const struct otelp_attr *a, uint32_t field)
{
	size_t kv, av, need = 48 + 3 * (size_t)a->key.len;
	union {
		double d;
		uint64_t u;
	} dv;

	if (!attr_type_ok(a))
		return;
	if (a->type == OTELP_ATTR_STRING)
		need += 3 * (size_t)a->v.s.len;
	else if (a->type == OTELP_ATTR_STRING_ARRAY)
		/* Up to len + 1 elements, 8 bytes of framing each. */
		need += 11 * (size_t)a->v.arr.s.len + 16;
	if (!pbw_need_more(w, need))
		return;
	kv = pbw_len(w);
	av = kv;
	switch (a->type) {
	case OTELP_ATTR_STRING:
		pbw_sref(w, TAG(1, WT_LEN), s, a->v.s, true);
		break;
	case OTELP_ATTR_BOOL:
		pbw_varint(w, a->v.b ? 1 : 0);
		pbw_varint(w, TAG(2, WT_VARINT));
		break;
	case OTELP_ATTR_INT:
		pbw_varint(w, (uint64_t)a->v.i);
		pbw_varint(w, TAG(3, WT_VARINT));
		break;
	case OTELP_ATTR_DOUBLE:
		dv.d = a->v.d;
		pbw_fixed64(w, dv.u);
		pbw_varint(w, TAG(4, WT_I64));
		break;
	case OTELP_ATTR_STRING_ARRAY:
		pbw_str_array(w, s, a);
		break;
	}
	pbw_close(w, av, TAG(2, WT_LEN));
	if (otelp__sref_is_known_key(a->key))
		pbw_raw(w, otelp__attrset_bytes + (a->key.off & ~OTELP_SREF_GLOBAL) - 2,
		        (size_t)a->key.len + 2);
	else
		pbw_sref(w, TAG(1, WT_LEN), s, a->key, false);
	pbw_close(w, kv, TAG(field, WT_LEN));
}

/* One KeyValue in front of p, as field field of its message: the new start. */
static inline __attribute__((always_inline)) uint8_t *pbw_kv(struct pbw *w, uint8_t *p,
                                                             const struct otelp_span *s,
                                                             const struct otelp_attr *a,
                                                             uint32_t field)
{
	uint8_t *q = kv_fast(p, s, a, (uint8_t)TAG(field, WT_LEN));

	if (otelp_likely(q != NULL))
		return q;
	w->p = p;
	kv_slow(w, s, a, field);
	return w->p;
}

/*
 * The KeyValues of owner among attrs[0..n), as field field of the enclosing message, last to
 * first. s may be NULL when every reference is global.
 */
static void pbw_attr_list(struct pbw *w, const struct otelp_span *s, const struct otelp_attr *attrs,
                          size_t n, unsigned owner, uint32_t field)
{
	uint8_t *p = w->p;

	for (size_t i = n; i-- > 0;)
		if (attrs[i].owner == owner)
			p = pbw_kv(w, p, s, &attrs[i], field);
	w->p = p;
}

/*
 * The attributes of one owner of s. An interned set (attrset.h) still attached to the span is
 * written as the bytes encoded when the set was made: the same bytes, once per set instead of
 * once per span.
 */
static inline __attribute__((always_inline)) void
pbw_attrs(struct pbw *w, const struct otelp_span *s, unsigned owner, uint32_t field)
{
	const struct otelp_attr *a = s->attrs + otelp__span_n_attrs(s), *set_last = NULL;
	const struct otelp_attrset *set = s->set;
	uint8_t *p;

	if (owner == OTELP_OWNER_SPAN && set && set->n && s->attrs + s->set_at + set->n <= a)
		set_last = s->attrs + s->set_at + set->n - 1;
	p = w->p;
	while (a != s->attrs) {
		a--;
		if (otelp_unlikely(a == set_last)) {
			const char *pb;
			size_t len = otelp__sref_get(s, set->pb, &pb);

			/* Room: ATTR_ROOM for each of the set's attributes, or more. */
			if (len > (size_t)set->n * ATTR_ROOM) {
				w->p = p;
				if (!pbw_need_more(w, len))
					len = 0;
				p = w->p;
			}
			p -= len;
			if (len >= 8)
				copy_blocks(p, pb, len);
			else
				memcpy(p, pb, len);
			a = s->attrs + s->set_at;
			continue;
		}
		if (a->owner == owner)
			p = pbw_kv(w, p, s, a, field);
	}
	w->p = p;
}

size_t otelp__otlp_encode_span_attrs(const struct otelp_attr *attrs, size_t n, uint8_t *out,
                                     size_t cap)
{
	struct pbw w = {.buf = out, .p = out + cap, .end = out + cap, .fixed = true};
	size_t len;

	for (size_t i = 0; i < n; i++) {
		const struct otelp_attr *a = &attrs[i];
		bool str = a->type == OTELP_ATTR_STRING;

		if (a->owner != OTELP_OWNER_SPAN || (!str && a->type != OTELP_ATTR_INT) ||
		    !(a->key.off & OTELP_SREF_GLOBAL) || (str && !(a->v.s.off & OTELP_SREF_GLOBAL)))
			return 0;
	}
	/* out cannot grow: what does not fit makes no set. */
	w.room = n * ATTR_ROOM;
	if (!pbw_need(&w, w.room))
		return 0;
	pbw_attr_list(&w, NULL, attrs, n, OTELP_OWNER_SPAN, 9);
	if (w.oom)
		return 0;
	len = pbw_len(&w);
	memmove(out, w.p, len);
	return len;
}

/* A varint field, absent when zero. */
static inline void pbw_uint(struct pbw *w, uint32_t tag, uint64_t v)
{
	if (!v)
		return;
	pbw_varint(w, v);
	pbw_varint(w, tag);
}

static inline void pbw_fixed64_field(struct pbw *w, uint32_t tag, uint64_t v)
{
	if (!v)
		return;
	pbw_fixed64(w, v);
	pbw_varint(w, tag);
}

static inline void pbw_bytes(struct pbw *w, uint32_t tag, const uint8_t *p, size_t n)
{
	pbw_raw(w, p, n);
	pbw_varint(w, n);
	pbw_varint(w, tag);
}

/* Status (field 15) with a code: its message when the code is ERROR. */
static __attribute__((noinline)) void pbw_status(struct pbw *w, const struct otelp_span *s)
{
	size_t sub;

	if (!pbw_need_more(w, 3 * (size_t)s->status_msg.len + 32))
		return;
	sub = pbw_len(w);
	pbw_uint(w, TAG(3, WT_VARINT), s->status);
	if (s->status == OTELP_STATUS_ERROR)
		pbw_sref(w, TAG(2, WT_LEN), s, s->status_msg, false);
	pbw_close(w, sub, TAG(15, WT_LEN));
}

/* Fields 14 down to 10 of a span: links, events and the dropped counts. */
static __attribute__((noinline)) void pbw_span_rare(struct pbw *w, const struct otelp_span *s)
{
	size_t sub, need = 64;

	/* Their attributes have their ATTR_ROOM each. */
	for (size_t i = 0; i < otelp__span_n_events(s); i++)
		need += 48 + 3 * (size_t)s->events[i].name.len;
	for (size_t i = 0; i < otelp__span_n_links(s); i++)
		need += 64 + 3 * (size_t)s->links[i].tracestate.len;
	if (!pbw_need_more(w, need))
		return;

	pbw_uint(w, TAG(14, WT_VARINT), s->dropped_links);
	for (size_t i = otelp__span_n_links(s); i-- > 0;) {
		const struct otelp_link *l = &s->links[i];

		sub = pbw_len(w);
		pbw_fixed32(w, otelp__otlp_link_flags(l));
		pbw_varint(w, TAG(6, WT_I32));
		pbw_uint(w, TAG(5, WT_VARINT), l->dropped_attrs);
		pbw_attrs(w, s, OTELP_OWNER_LINK(i), 4);
		pbw_sref(w, TAG(3, WT_LEN), s, l->tracestate, false);
		pbw_bytes(w, TAG(2, WT_LEN), l->span_id, sizeof(l->span_id));
		pbw_bytes(w, TAG(1, WT_LEN), l->trace_id, sizeof(l->trace_id));
		pbw_close(w, sub, TAG(13, WT_LEN));
	}

	pbw_uint(w, TAG(12, WT_VARINT), s->dropped_events);
	for (size_t i = otelp__span_n_events(s); i-- > 0;) {
		const struct otelp_event *e = &s->events[i];

		sub = pbw_len(w);
		pbw_uint(w, TAG(4, WT_VARINT), e->dropped_attrs);
		pbw_attrs(w, s, OTELP_OWNER_EVENT(i), 3);
		pbw_sref(w, TAG(2, WT_LEN), s, e->name, false);
		pbw_fixed64_field(w, TAG(1, WT_I64), e->time_ns);
		pbw_close(w, sub, TAG(11, WT_LEN));
	}

	pbw_uint(w, TAG(10, WT_VARINT), s->dropped_attrs);
}

/* Span (field 2 of ScopeSpans), fields 16 down to 1. */
static void pbw_span(struct pbw *w, const struct otelp_span *s)
{
	size_t mark;
	uint8_t *p, *q;

	w->room = SPAN_ROOM + ATTR_ROOM * otelp__span_n_attrs(s);
	if (!pbw_need(w, w->room))
		return;
	mark = pbw_len(w);
	p = w->p;

	/* flags (16), then status (15): empty unless a code is set. */
	p -= 6;
	p[0] = (uint8_t)(TAG(16, WT_I32) | 0x80);
	p[1] = (uint8_t)(TAG(16, WT_I32) >> 7);
	put_le32(p + 2, otelp__otlp_span_flags(s));
	if (otelp_likely(s->status == OTELP_STATUS_UNSET)) {
		p -= 2;
		p[0] = (uint8_t)TAG(15, WT_LEN);
		p[1] = 0;
	} else {
		w->p = p;
		pbw_status(w, s);
		p = w->p;
	}

	if (otelp_unlikely(s->n_events | s->n_links | s->dropped_attrs | s->dropped_events |
	                   s->dropped_links)) {
		w->p = p;
		pbw_span_rare(w, s);
		p = w->p;
	}

	w->p = p;
	pbw_attrs(w, s, OTELP_OWNER_SPAN, 9);
	p = w->p;

	/* end (8), start (7), kind (6) */
	if (s->end_ns) {
		p -= 9;
		p[0] = (uint8_t)TAG(8, WT_I64);
		put_le64(p + 1, s->end_ns);
	}
	if (s->start_ns) {
		p -= 9;
		p[0] = (uint8_t)TAG(7, WT_I64);
		put_le64(p + 1, s->start_ns);
	}
	if (s->kind) {
		if (s->kind < 0x80) {
			p -= 2;
			p[1] = s->kind;
		} else {
			p -= 3;
			p[1] = (uint8_t)(s->kind | 0x80);
			p[2] = 1;
		}
		p[0] = (uint8_t)TAG(6, WT_VARINT);
	}

	/* name (5) */
	q = str_fast(p, (uint8_t)TAG(5, WT_LEN), s, s->name);
	if (otelp_likely(q != NULL)) {
		p = q;
	} else {
		w->p = p;
		pbw_sref_checked(w, TAG(5, WT_LEN), s, s->name, false);
		p = w->p;
	}

	/* parent_span_id (4) */
	if (s->has_parent) {
		p -= 2 + sizeof(s->parent_span_id);
		p[0] = (uint8_t)TAG(4, WT_LEN);
		p[1] = sizeof(s->parent_span_id);
		memcpy(p + 2, s->parent_span_id, sizeof(s->parent_span_id));
	}

	/* trace_state (3) */
	if (s->tracestate.len) {
		q = str_fast(p, (uint8_t)TAG(3, WT_LEN), s, s->tracestate);
		if (q) {
			p = q;
		} else {
			w->p = p;
			pbw_sref_checked(w, TAG(3, WT_LEN), s, s->tracestate, false);
			p = w->p;
		}
	}

	/* span_id (2), trace_id (1) */
	p -= 4 + sizeof(s->trace_id) + sizeof(s->span_id);
	p[0] = (uint8_t)TAG(1, WT_LEN);
	p[1] = sizeof(s->trace_id);
	memcpy(p + 2, s->trace_id, sizeof(s->trace_id));
	p[2 + sizeof(s->trace_id)] = (uint8_t)TAG(2, WT_LEN);
	p[3 + sizeof(s->trace_id)] = sizeof(s->span_id);
	memcpy(p + 4 + sizeof(s->trace_id), s->span_id, sizeof(s->span_id));

	/* The Span's own length and tag. */
	q = varint_before(p, (size_t)(w->end - p) - mark);
	*--q = (uint8_t)TAG(2, WT_LEN);
	w->p = q;
}

/* Resource (field 1 of ResourceSpans): its attributes, last to first. */
static void pbw_resource(struct pbw *w, const struct otelp_resource *r)
{
	size_t mark = pbw_len(w);
	unsigned n = 0;

	if (r)
		n = r->n < OTELP_RESOURCE_MAX ? r->n : OTELP_RESOURCE_MAX;
	for (unsigned i = n; i-- > 0;) {
		const struct otelp_resource_attr *a = &r->attrs[i];
		size_t kv, av;

		if (!pbw_need(w, 64 + 3 * (sizeof(a->key) + sizeof(a->value))))
			return;
		kv = pbw_len(w);
		av = kv;

		if (a->is_int) {
			pbw_varint(w, (uint64_t)a->ival);
			pbw_varint(w, TAG(3, WT_VARINT));
		} else {
			pbw_str(w, TAG(1, WT_LEN), a->value, rattr_len(a->value, sizeof(a->value)),
			        true);
		}
		pbw_close(w, av, TAG(2, WT_LEN));
		pbw_str(w, TAG(1, WT_LEN), a->key, rattr_len(a->key, sizeof(a->key)), false);
		pbw_close(w, kv, TAG(1, WT_LEN));
	}
	if (pbw_need(w, 16))
		pbw_close(w, mark, TAG(1, WT_LEN));
}

int otelp__otlp_encode_protobuf(const struct otelp_resource *r, struct otelp_span *const *spans,
                                size_t n, struct otelp_buf *out)
{
	struct pbw w;
	size_t rs, ss, sc, len;

	out->off = 0;
	out->len = 0;
	if (n && !spans)
		return -EINVAL;

	/* Write into out's own storage, from its end. */
	w.buf = out->data;
	w.end = out->data ? out->data + out->cap : NULL;
	w.p = w.end;
	w.room = 0;
	w.fixed = false;
	w.oom = false;

	if (!pbw_need(&w, 128 + 2 * sizeof(OTELP_SCHEMA_URL)))
		goto out;
	rs = pbw_len(&w);
	pbw_cstr(&w, TAG(3, WT_LEN), OTELP_SCHEMA_URL);

	ss = pbw_len(&w);
	pbw_cstr(&w, TAG(3, WT_LEN), OTELP_SCHEMA_URL);
	for (size_t i = n; i-- > 0;)
		if (spans[i])
			pbw_span(&w, spans[i]);
	w.room = 0;
	if (!pbw_need(&w, 64 + sizeof(OTELP_SDK_VERSION) + sizeof(OTELP_SCOPE_NAME)))
		goto out;
	sc = pbw_len(&w);
	pbw_cstr(&w, TAG(2, WT_LEN), OTELP_SDK_VERSION);
	pbw_cstr(&w, TAG(1, WT_LEN), OTELP_SCOPE_NAME);
	pbw_close(&w, sc, TAG(1, WT_LEN));
	pbw_close(&w, ss, TAG(2, WT_LEN));

	pbw_resource(&w, r);
	if (pbw_need(&w, 16))
		pbw_close(&w, rs, TAG(1, WT_LEN));
out:
	out->data = w.buf;
	out->cap = (size_t)(w.end - w.buf);
	if (w.oom)
		return -ENOMEM;
	/* The batch stays where it was written, at the end of the buffer. */
	len = pbw_len(&w);
	out->off = len ? (size_t)(w.p - w.buf) : 0;
	out->len = len;
	return 0;
}

/* ---- response decoding ---- */

/* Copy the n bytes of s into msg, NUL-terminated, cut at a character boundary to fit cap. */
static void copy_msg(char *msg, size_t cap, const char *s, size_t n)
{
	if (!msg || cap == 0)
		return;
	if (n >= cap) {
		n = cap - 1;
		/* s[n] is the first byte left out: do not keep the head of its sequence. */
		while (n > 0 && utf8_cont((uint8_t)s[n]))
			n--;
	}
	memcpy(msg, s, n);
	msg[n] = '\0';
}

static int decode_protobuf(const uint8_t *body, size_t n, int64_t *rejected, char *msg, size_t cap)
{
	PB_RESP *resp;

	resp = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
	    NULL, n, body);
	if (!resp)
		return -1;
	if (resp->partial_success) {
		const char *m = resp->partial_success->error_message;

		*rejected = resp->partial_success->rejected_spans;
		if (m)
			copy_msg(msg, cap, m, strlen(m));
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
	    resp, NULL);
	return 0;
}

/* The JSON scanner: a cursor over the body. Every function returns 0 or -1 (malformed). */
struct jscan {
	const char *p;
	const char *end;
};

#define JSON_MAX_DEPTH 32

static void js_ws(struct jscan *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Skip whitespace, then consume c if it is next. */
static bool js_eat(struct jscan *j, char c)
{
	js_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

/* Four hex digits of a \u escape. */
static int js_u16(struct jscan *j, uint32_t *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = otelp__hex_digit(j->p[i]);
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	j->p += 4;
	return 0;
}

static size_t utf8_put(char out[4], uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Where a decoded string goes: out (may be NULL) holds what fits, whole characters only. */
struct jstr {
	char *out;
	size_t cap;
	size_t len;  /* bytes stored in out */
	size_t full; /* bytes of the whole decoded string */
};

static void jstr_add(struct jstr *s, const char *p, size_t n)
{
	/* Once a character did not fit, nothing after it is stored either. */
	if (s->out && s->len == s->full && s->len + n < s->cap) {
		memcpy(s->out + s->len, p, n);
		s->len += n;
	}
	s->full += n;
}

/* A string value at the cursor (after whitespace), decoded into s. */
static int js_string(struct jscan *j, struct jstr *s)
{
	if (!js_eat(j, '"'))
		return -1;
	while (j->p < j->end) {
		char c = *j->p++;
		char u[4];
		uint32_t cp, lo;

		if (c == '"') {
			if (s->out && s->cap)
				s->out[s->len] = '\0';
			return 0;
		}
		if (c != '\\') {
			jstr_add(s, &c, 1);
			continue;
		}
		if (j->p >= j->end)
			return -1;
		c = *j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (js_u16(j, &cp))
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u') {
				struct jscan peek = {j->p + 2, j->end};

				if (js_u16(&peek, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p = peek.p;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000) /* a lone surrogate */
				cp = 0xfffd;
			jstr_add(s, u, utf8_put(u, cp));
			continue;
		default:
			return -1;
		}
		jstr_add(s, &c, 1);
	}
	return -1;
}

/* A number token at the cursor: its text, not interpreted. */
static int js_number(struct jscan *j, const char **p, size_t *n)
{
	js_ws(j);
	*p = j->p;
	while (j->p < j->end && strchr("+-0123456789.eE", *j->p) && *j->p)
		j->p++;
	*n = (size_t)(j->p - *p);
	return *n ? 0 : -1;
}

static int js_skip(struct jscan *j, int depth);

/*
 * The members of an object at the cursor: member() is called with the cursor on each value
 * and must consume it.
 */
static int js_object(struct jscan *j, int depth,
                     int (*member)(struct jscan *j, const char *key, int depth, void *ctx),
                     void *ctx)
{
	if (depth > JSON_MAX_DEPTH || !js_eat(j, '{'))
		return -1;
	if (js_eat(j, '}'))
		return 0;
	for (;;) {
		char key[32];
		struct jstr ks = {key, sizeof(key), 0, 0};

		if (js_string(j, &ks) || !js_eat(j, ':'))
			return -1;
		/* A key too long for key[] matches nothing ("" is never looked for). */
		if (ks.full != ks.len)
			key[0] = '\0';
		if (member(j, key, depth, ctx))
			return -1;
		if (js_eat(j, '}'))
			return 0;
		if (!js_eat(j, ','))
			return -1;
	}
}

static int skip_member(struct jscan *j, const char *key, int depth, void *ctx)
{
	(void)key;
	(void)ctx;
	return js_skip(j, depth + 1);
}

static int js_literal(struct jscan *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int js_skip(struct jscan *j, int depth)
{
	const char *p;
	size_t n;

	js_ws(j);
	if (j->p >= j->end || depth > JSON_MAX_DEPTH)
		return -1;
	switch (*j->p) {
	case '{':
		return js_object(j, depth, skip_member, NULL);
	case '[':
		j->p++;
		if (js_eat(j, ']'))
			return 0;
		do {
			if (js_skip(j, depth + 1))
				return -1;
		} while (js_eat(j, ','));
		return js_eat(j, ']') ? 0 : -1;
	case '"': {
		struct jstr s = {0};
		return js_string(j, &s);
	}
	case 't':
		return js_literal(j, "true");
	case 'f':
		return js_literal(j, "false");
	case 'n':
		return js_literal(j, "null");
	default:
		return js_number(j, &p, &n);
	}
}

/*
 * An integer written as a JSON number: -?digits, optional fraction and exponent (value
 * truncated toward zero, saturated). No strtod: the host's locale must not matter.
 */
static int parse_int64(const char *p, size_t n, int64_t *v)
{
	const char *end = p + n;
	bool neg = false, any = false;
	uint64_t m = 0;
	long exp = 0;
	const uint64_t lim = (uint64_t)INT64_MAX;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, any = true) {
		if (m <= (lim - 9) / 10)
			m = m * 10 + (uint64_t)(*p - '0');
		else
			exp++; /* keep the magnitude, drop precision */
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, any = true) {
			if (m <= (lim - 9) / 10) {
				m = m * 10 + (uint64_t)(*p - '0');
				exp--;
			}
		}
	}
	if (!any)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;
		long e = 0;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end)
			return -1;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (e < 100000)
				e = e * 10 + (*p - '0');
		exp += eneg ? -e : e;
	}
	if (p != end)
		return -1;
	for (; exp < 0 && m; exp++)
		m /= 10;
	for (; exp > 0 && m; exp--)
		m = m > lim / 10 ? lim : m * 10;
	*v = neg ? -(int64_t)m : (int64_t)m;
	return 0;
}

struct resp_ctx {
	int64_t *rejected;
	char *msg;
	size_t cap;
};

static bool key_is(const char *key, const char *camel, const char *snake)
{
	return strcmp(key, camel) == 0 || strcmp(key, snake) == 0;
}

static int partial_member(struct jscan *j, const char *key, int depth, void *ctx)
{
	struct resp_ctx *rc = ctx;

	if (key_is(key, "rejectedSpans", "rejected_spans")) {
		const char *p;
		size_t n;

		js_ws(j);
		if (j->p < j->end && *j->p == '"') {
			char num[32];
			struct jstr s = {num, sizeof(num), 0, 0};

			if (js_string(j, &s) || s.full != s.len)
				return -1;
			return parse_int64(num, s.len, rc->rejected);
		}
		if (js_eat(j, 'n')) /* null: absent */
			return js_literal(j, "ull");
		if (js_number(j, &p, &n))
			return -1;
		return parse_int64(p, n, rc->rejected);
	}
	if (key_is(key, "errorMessage", "error_message")) {
		struct jstr s = {rc->msg, rc->cap, 0, 0};

		js_ws(j);
		if (js_eat(j, 'n'))
			return js_literal(j, "ull");
		return js_string(j, &s);
	}
	return js_skip(j, depth + 1);
}

static int top_member(struct jscan *j, const char *key, int depth, void *ctx)
{
	if (key_is(key, "partialSuccess", "partial_success")) {
		js_ws(j);
		if (j->p < j->end && *j->p == '{')
			return js_object(j, depth + 1, partial_member, ctx);
	}
	return js_skip(j, depth + 1);
}

static int decode_json(const uint8_t *body, size_t n, int64_t *rejected, char *msg, size_t cap)
{
	struct jscan j = {(const char *)body, (const char *)body + n};
	struct resp_ctx ctx = {rejected, msg, cap};

	js_ws(&j);
	if (j.p == j.end) /* only whitespace: an empty response */
		return 0;
	/* Whatever follows the object is ignored. */
	return js_object(&j, 0, top_member, &ctx);
}

int otelp__otlp_decode_response(const uint8_t *body, size_t n, bool json, int64_t *rejected,
                                char *msg, size_t cap)
{
	int64_t dummy;
	int rc;

	if (!rejected)
		rejected = &dummy;
	*rejected = 0;
	if (msg && cap)
		msg[0] = '\0';
	if (n == 0 || !body)
		return 0;
	rc = json ? decode_json(body, n, rejected, msg, cap)
	          : decode_protobuf(body, n, rejected, msg, cap);
	if (rc) {
		*rejected = 0;
		if (msg && cap)
			msg[0] = '\0';
	}
	return rc;
}
