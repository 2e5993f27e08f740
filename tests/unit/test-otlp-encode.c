/*
 * Tests of src/otlp_encode.c and src/otlp_json.c.
 *
 * Spans are built by hand (fields and arena filled directly, strings NOT NUL-terminated and
 * followed by junk), so these tests do not depend on span.c. The protobuf output is decoded
 * back with protobuf-c and compared field by field with the input spans; the JSON output is
 * compared with golden text and checked by Python's strict json module (decoding the bytes as
 * strict UTF-8); the console line is compared with golden text and checked for its one-line,
 * truncation and UTF-8 properties.
 */
#include <check.h>

#include "check-run.h"
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace_service.pb-c.h"

#include "attrset.h"
#include "config.h"
#include "otlp.h"

#define PB_REQ     Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
#define PB_RESP    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
#define PB_PARTIAL Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess
#define PB_SPAN    Opentelemetry__Proto__Trace__V1__Span
#define PB_KV      Opentelemetry__Proto__Common__V1__KeyValue
#define PB_ANY     Opentelemetry__Proto__Common__V1__AnyValue
#define PB_ARRAY   Opentelemetry__Proto__Common__V1__ArrayValue

#define SCHEMA "https://opentelemetry.io/schemas/1.44.0"

/* ---- hand-built spans ---- */

static struct otelp_sref tputn(struct otelp_span *s, const char *p, size_t n)
{
	struct otelp_sref r = {s->arena_used, (uint16_t)n};

	ck_assert_uint_le(s->arena_used + n + 1, sizeof(s->arena));
	memcpy(s->arena + s->arena_used, p, n);
	/* Junk after every string: the encoders must use the length, not a terminator. */
	s->arena[s->arena_used + n] = '#';
	s->arena_used += n + 1;
	return r;
}

static struct otelp_sref tput(struct otelp_span *s, const char *p)
{
	return tputn(s, p, strlen(p));
}

static struct otelp_span *tspan(const char *name, uint8_t kind, uint8_t span_byte)
{
	struct otelp_span *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	memset(s->arena, 'Z', sizeof(s->arena));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(0x01 + i);
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)(span_byte + i);
	s->flags = OTELP_TRACE_FLAG_SAMPLED;
	s->kind = kind;
	s->name = tput(s, name);
	s->recording = true;
	s->ended = true;
	return s;
}

static void tparent(struct otelp_span *s, uint8_t span_byte, bool remote)
{
	for (int i = 0; i < 8; i++)
		s->parent_span_id[i] = (uint8_t)(span_byte + i);
	s->has_parent = true;
	s->parent_remote = remote;
}

static struct otelp_attr *tattr(struct otelp_span *s, unsigned owner, const char *key, uint8_t type)
{
	struct otelp_attr *a;

	ck_assert_uint_lt(s->n_attrs, OTELP_SPAN_ATTRS_MAX);
	a = &s->attrs[s->n_attrs++];
	a->key = tput(s, key);
	a->type = type;
	a->owner = (uint8_t)owner;
	if (owner == OTELP_OWNER_SPAN)
		s->n_span_attrs++;
	else if (owner & 0x80)
		s->links[owner & 0x7f].n_attrs++;
	else
		s->events[owner - 1].n_attrs++;
	return a;
}

static void tattr_strn(struct otelp_span *s, unsigned owner, const char *key, const char *v,
                       size_t n)
{
	tattr(s, owner, key, OTELP_ATTR_STRING)->v.s = tputn(s, v, n);
}

static void tattr_str(struct otelp_span *s, unsigned owner, const char *key, const char *v)
{
	tattr_strn(s, owner, key, v, strlen(v));
}

static void tattr_int(struct otelp_span *s, unsigned owner, const char *key, int64_t v)
{
	tattr(s, owner, key, OTELP_ATTR_INT)->v.i = v;
}

static void tattr_bool(struct otelp_span *s, unsigned owner, const char *key, bool v)
{
	tattr(s, owner, key, OTELP_ATTR_BOOL)->v.b = v;
}

static void tattr_double(struct otelp_span *s, unsigned owner, const char *key, double v)
{
	tattr(s, owner, key, OTELP_ATTR_DOUBLE)->v.d = v;
}

/* A string array given as its arena form: n elements joined by NUL bytes (len bytes). */
static void tattr_arr(struct otelp_span *s, unsigned owner, const char *key, const char *joined,
                      size_t len, uint16_t n)
{
	struct otelp_attr *a = tattr(s, owner, key, OTELP_ATTR_STRING_ARRAY);

	a->v.arr.s = tputn(s, joined, len);
	a->v.arr.n = n;
}

static int tevent(struct otelp_span *s, const char *name, uint64_t t)
{
	struct otelp_event *e = &s->events[s->n_events];

	e->name = tput(s, name);
	e->time_ns = t;
	return s->n_events++;
}

static int tlink(struct otelp_span *s, uint8_t trace_byte, uint8_t span_byte, uint8_t flags,
                 bool remote, const char *tracestate)
{
	struct otelp_link *l = &s->links[s->n_links];

	for (int i = 0; i < 16; i++)
		l->trace_id[i] = (uint8_t)(trace_byte + i);
	for (int i = 0; i < 8; i++)
		l->span_id[i] = (uint8_t)(span_byte + i);
	l->flags = flags;
	l->remote = remote;
	if (tracestate)
		l->tracestate = tput(s, tracestate);
	return s->n_links++;
}

static void tstatus(struct otelp_span *s, uint8_t code, const char *msg)
{
	s->status = code;
	if (msg)
		s->status_msg = tput(s, msg);
}

static struct otelp_resource *tresource(void)
{
	struct otelp_resource *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	return r;
}

static void tres_str(struct otelp_resource *r, const char *key, const char *v)
{
	struct otelp_resource_attr *a = &r->attrs[r->n++];

	snprintf(a->key, sizeof(a->key), "%s", key);
	snprintf(a->value, sizeof(a->value), "%s", v);
}

static void tres_int(struct otelp_resource *r, const char *key, int64_t v)
{
	struct otelp_resource_attr *a = &r->attrs[r->n++];

	snprintf(a->key, sizeof(a->key), "%s", key);
	a->is_int = true;
	a->ival = v;
}

/*
 * A root SERVER span using everything: all attribute types, span/event/link attributes
 * interleaved in attrs[], events, links, tracestate, ERROR status, dropped counts.
 */
static struct otelp_span *rich_root(void)
{
	struct otelp_span *s = tspan("GET /users/:id", OTELP_KIND_SERVER, 0x11);
	int e0, e1, l0, l1;

	s->start_ns = 1700000000000000000ull;
	s->end_ns = 1700000000001234567ull;
	s->tracestate = tput(s, "vendor=abc,other=1");
	e0 = tevent(s, "exception", 1700000000000500000ull);
	e1 = tevent(s, "retry", 1700000000000600000ull);
	l0 = tlink(s, 0x21, 0x31, OTELP_TRACE_FLAG_SAMPLED, true, "x=y");
	l1 = tlink(s, 0x41, 0x51, 0, false, NULL);
	tattr_str(s, OTELP_OWNER_SPAN, "http.request.method", "GET");
	tattr_str(s, OTELP_OWNER_EVENT(e0), "exception.type", "Err");
	tattr_int(s, OTELP_OWNER_SPAN, "http.response.status_code", 500);
	tattr_str(s, OTELP_OWNER_LINK(l0), "link.kind", "follows");
	tattr_bool(s, OTELP_OWNER_SPAN, "retry", true);
	tattr_str(s, OTELP_OWNER_EVENT(e0), "exception.message", "bad \"thing\"");
	tattr_double(s, OTELP_OWNER_SPAN, "ratio", 0.25);
	tattr_int(s, OTELP_OWNER_LINK(l0), "link.n", -3);
	tattr_int(s, OTELP_OWNER_SPAN, "big", INT64_MIN);
	tattr_bool(s, OTELP_OWNER_SPAN, "no", false);
	tattr_double(s, OTELP_OWNER_SPAN, "neg", -1e300);
	tattr_str(s, OTELP_OWNER_SPAN, "empty", "");
	s->events[e1].dropped_attrs = 2;
	s->links[l1].dropped_attrs = 6;
	s->dropped_attrs = 3;
	s->dropped_events = 4;
	s->dropped_links = 5;
	tstatus(s, OTELP_STATUS_ERROR, "boom");
	return s;
}

/* A CLIENT child of a remote, sampled parent; OK status whose message must not be sent. */
static struct otelp_span *remote_child(void)
{
	struct otelp_span *s = tspan("SELECT", OTELP_KIND_CLIENT, 0x61);

	tparent(s, 0x71, true);
	s->start_ns = 1700000000000000100ull;
	s->end_ns = 1700000000000000200ull;
	tattr_str(s, OTELP_OWNER_SPAN, "db.system.name", "postgresql");
	tstatus(s, OTELP_STATUS_OK, "ignored");
	return s;
}

/* An INTERNAL, unsampled child of a local parent, status unset. */
static struct otelp_span *local_child(void)
{
	struct otelp_span *s = tspan("work", OTELP_KIND_INTERNAL, 0x81);

	tparent(s, 0x11, false);
	s->flags = 0;
	s->start_ns = 5;
	s->end_ns = 6;
	return s;
}

/* ---- protobuf comparison ---- */

static void check_str(const struct otelp_span *s, struct otelp_sref r, const char *got)
{
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strlen(got) == r.len && memcmp(got, otelp__sref_ptr(s, r), r.len) == 0,
	              "string \"%s\" != \"%.*s\"", got, (int)r.len, otelp__sref_ptr(s, r));
}

/* The elements of a string-array attribute against a decoded ArrayValue. */
static void check_str_array(const struct otelp_span *s, const struct otelp_attr *a,
                            const PB_ARRAY *arr)
{
	struct otelp_strarr_iter it;
	const char *p;
	size_t len, j = 0;

	otelp__strarr_begin(s, a, &it);
	while (otelp__strarr_next(&it, &p, &len)) {
		const PB_ANY *e;

		ck_assert_uint_lt(j, arr->n_values);
		e = arr->values[j++];
		ck_assert_int_eq(e->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
		ck_assert_msg(
		    strlen(e->string_value) == len && memcmp(e->string_value, p, len) == 0,
		    "element %zu \"%s\" != \"%.*s\"", j - 1, e->string_value, (int)len, p);
	}
	ck_assert_uint_eq(j, arr->n_values);
	ck_assert_uint_eq(j, a->v.arr.n);
}

static void check_kv(const struct otelp_span *s, const struct otelp_attr *a, const PB_KV *kv)
{
	const Opentelemetry__Proto__Common__V1__AnyValue *v = kv->value;

	check_str(s, a->key, kv->key);
	ck_assert_ptr_nonnull(v);
	switch (a->type) {
	case OTELP_ATTR_STRING:
		ck_assert_int_eq(v->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
		check_str(s, a->v.s, v->string_value);
		break;
	case OTELP_ATTR_BOOL:
		ck_assert_int_eq(v->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
		ck_assert_int_eq(!!v->bool_value, a->v.b);
		break;
	case OTELP_ATTR_INT:
		ck_assert_int_eq(v->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
		ck_assert_int_eq(v->int_value, a->v.i);
		break;
	case OTELP_ATTR_DOUBLE:
		ck_assert_int_eq(v->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
		ck_assert(memcmp(&v->double_value, &a->v.d, sizeof(double)) == 0);
		break;
	case OTELP_ATTR_STRING_ARRAY:
		ck_assert_int_eq(v->value_case,
		                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
		ck_assert_ptr_nonnull(v->array_value);
		check_str_array(s, a, v->array_value);
		break;
	default:
		ck_abort_msg("bad type");
	}
}

/* The attributes of one owner, in attrs[] order, against a decoded list. */
static void check_attrs(const struct otelp_span *s, unsigned owner, PB_KV **kvs, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_attrs; i++) {
		if (s->attrs[i].owner != owner)
			continue;
		ck_assert_uint_lt(j, n);
		check_kv(s, &s->attrs[i], kvs[j++]);
	}
	ck_assert_uint_eq(j, n);
}

static void check_span(const struct otelp_span *s, const PB_SPAN *m)
{
	uint32_t flags = s->flags | 0x100u | (s->has_parent && s->parent_remote ? 0x200u : 0);

	ck_assert_uint_eq(m->trace_id.len, 16);
	ck_assert(memcmp(m->trace_id.data, s->trace_id, 16) == 0);
	ck_assert_uint_eq(m->span_id.len, 8);
	ck_assert(memcmp(m->span_id.data, s->span_id, 8) == 0);
	if (s->has_parent) {
		ck_assert_uint_eq(m->parent_span_id.len, 8);
		ck_assert(memcmp(m->parent_span_id.data, s->parent_span_id, 8) == 0);
	} else {
		ck_assert_uint_eq(m->parent_span_id.len, 0);
	}
	check_str(s, s->tracestate, m->trace_state);
	ck_assert_uint_eq(m->flags, flags);
	check_str(s, s->name, m->name);
	ck_assert_int_eq(m->kind, s->kind);
	ck_assert_uint_eq(m->start_time_unix_nano, s->start_ns);
	ck_assert_uint_eq(m->end_time_unix_nano, s->end_ns);
	check_attrs(s, OTELP_OWNER_SPAN, m->attributes, m->n_attributes);
	ck_assert_uint_eq(m->n_attributes, s->n_span_attrs);
	ck_assert_uint_eq(m->dropped_attributes_count, s->dropped_attrs);

	ck_assert_uint_eq(m->n_events, s->n_events);
	for (size_t i = 0; i < s->n_events; i++) {
		const struct otelp_event *e = &s->events[i];
		const Opentelemetry__Proto__Trace__V1__Span__Event *em = m->events[i];

		ck_assert_uint_eq(em->time_unix_nano, e->time_ns);
		check_str(s, e->name, em->name);
		check_attrs(s, OTELP_OWNER_EVENT(i), em->attributes, em->n_attributes);
		ck_assert_uint_eq(em->n_attributes, e->n_attrs);
		ck_assert_uint_eq(em->dropped_attributes_count, e->dropped_attrs);
	}
	ck_assert_uint_eq(m->dropped_events_count, s->dropped_events);

	ck_assert_uint_eq(m->n_links, s->n_links);
	for (size_t i = 0; i < s->n_links; i++) {
		const struct otelp_link *l = &s->links[i];
		const Opentelemetry__Proto__Trace__V1__Span__Link *lm = m->links[i];

		ck_assert_uint_eq(lm->trace_id.len, 16);
		ck_assert(memcmp(lm->trace_id.data, l->trace_id, 16) == 0);
		ck_assert_uint_eq(lm->span_id.len, 8);
		ck_assert(memcmp(lm->span_id.data, l->span_id, 8) == 0);
		check_str(s, l->tracestate, lm->trace_state);
		check_attrs(s, OTELP_OWNER_LINK(i), lm->attributes, lm->n_attributes);
		ck_assert_uint_eq(lm->n_attributes, l->n_attrs);
		ck_assert_uint_eq(lm->dropped_attributes_count, l->dropped_attrs);
		ck_assert_uint_eq(lm->flags, l->flags | 0x100u | (l->remote ? 0x200u : 0));
	}
	ck_assert_uint_eq(m->dropped_links_count, s->dropped_links);

	ck_assert_ptr_nonnull(m->status);
	ck_assert_int_eq(m->status->code, s->status);
	if (s->status == OTELP_STATUS_ERROR)
		check_str(s, s->status_msg, m->status->message);
	else
		ck_assert_str_eq(m->status->message, "");
}

static void check_resource(const struct otelp_resource *r,
                           const Opentelemetry__Proto__Resource__V1__Resource *m)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n_attributes, r->n);
	for (unsigned i = 0; i < r->n; i++) {
		const PB_KV *kv = m->attributes[i];

		ck_assert_str_eq(kv->key, r->attrs[i].key);
		if (r->attrs[i].is_int) {
			ck_assert_int_eq(
			    kv->value->value_case,
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
			ck_assert_int_eq(kv->value->int_value, r->attrs[i].ival);
		} else {
			ck_assert_int_eq(
			    kv->value->value_case,
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
			ck_assert_str_eq(kv->value->string_value, r->attrs[i].value);
		}
	}
	ck_assert_uint_eq(m->dropped_attributes_count, 0);
}

/* Encode, decode, check the envelope; returns the decoded request (caller frees). */
static PB_REQ *roundtrip(const struct otelp_resource *r, struct otelp_span *const *spans, size_t n,
                         size_t expect_spans)
{
	struct otelp_buf out = {0};
	PB_REQ *req;
	const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss;

	/* out holds junk first: the encoder must reset it. */
	ck_assert_int_eq(otelp__buf_append(&out, "junk", 4), 0);
	ck_assert_int_eq(otelp__otlp_encode_protobuf(r, spans, n, &out), 0);
	ck_assert_uint_gt(out.len, 0);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
	    NULL, out.len, out.data + out.off);
	otelp__buf_free(&out);
	ck_assert_ptr_nonnull(req);

	ck_assert_uint_eq(req->n_resource_spans, 1);
	ck_assert_str_eq(req->resource_spans[0]->schema_url, SCHEMA);
	ck_assert_uint_eq(req->resource_spans[0]->n_scope_spans, 1);
	ss = req->resource_spans[0]->scope_spans[0];
	ck_assert_ptr_nonnull(ss->scope);
	ck_assert_str_eq(ss->scope->name, "otelpreload");
	ck_assert_str_eq(ss->scope->version, OTELP_SDK_VERSION);
	ck_assert_uint_eq(ss->scope->n_attributes, 0);
	ck_assert_str_eq(ss->schema_url, SCHEMA);
	ck_assert_uint_eq(ss->n_spans, expect_spans);
	return req;
}

static void free_req(PB_REQ *req)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    req, NULL);
}

static PB_SPAN *req_span(PB_REQ *req, size_t i)
{
	return req->resource_spans[0]->scope_spans[0]->spans[i];
}

/* ---- buffer, flags ---- */

START_TEST(test_buf)
{
	struct otelp_buf b = {0};
	char big[5000];

	ck_assert_int_eq(otelp__buf_append(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(otelp__buf_append(&b, "abc", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_uint_ge(b.cap, 3);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(otelp__buf_append(&b, big, sizeof(big)), 0);
	ck_assert_uint_eq(b.len, 3 + sizeof(big));
	ck_assert(memcmp(b.data, "abcxxx", 6) == 0);
	ck_assert_int_eq(otelp__buf_reserve(&b, 100000), 0);
	ck_assert_uint_ge(b.cap, b.len + 100000);
	ck_assert_int_eq(otelp__buf_reserve(&b, SIZE_MAX), -ENOMEM);
	otelp__buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	otelp__buf_free(&b);
}
END_TEST

START_TEST(test_span_flags)
{
	struct otelp_span *root = tspan("r", OTELP_KIND_SERVER, 1);
	struct otelp_span *rc = remote_child();
	struct otelp_span *lc = local_child();
	struct otelp_link l = {.flags = 1, .remote = true};

	ck_assert_uint_eq(otelp__otlp_span_flags(root), 0x101);
	ck_assert_uint_eq(otelp__otlp_span_flags(rc), 0x301);
	ck_assert_uint_eq(otelp__otlp_span_flags(lc), 0x100);
	lc->flags = OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM;
	ck_assert_uint_eq(otelp__otlp_span_flags(lc), 0x103);
	rc->flags = 0;
	ck_assert_uint_eq(otelp__otlp_span_flags(rc), 0x300);
	ck_assert_uint_eq(otelp__otlp_link_flags(&l), 0x301);
	l.remote = false;
	ck_assert_uint_eq(otelp__otlp_link_flags(&l), 0x101);
	free(root);
	free(rc);
	free(lc);
}
END_TEST

START_TEST(test_utf8_seq_len)
{
	static const struct {
		const char *s;
		size_t n, want;
	} cases[] = {
	    {"A", 1, 1},
	    {"\xc3\xa9", 2, 2},
	    {"\xc3", 1, 0},
	    {"\303A", 2, 0},
	    {"\xc0\xaf", 2, 0},
	    {"\xc1\xbf", 2, 0},
	    {"\xe2\x82\xac", 3, 3},
	    {"\xe2\x82", 2, 0},
	    {"\xe0\x80\xaf", 3, 0},
	    {"\xed\xa0\x80", 3, 0},
	    {"\xed\x9f\xbf", 3, 3},
	    {"\xf0\x9f\x98\x80", 4, 4},
	    {"\xf0\x8f\xbf\xbf", 4, 0},
	    {"\xf4\x8f\xbf\xbf", 4, 4},
	    {"\xf4\x90\x80\x80", 4, 0},
	    {"\xf5\x80\x80\x80", 4, 0},
	    {"\x80", 1, 0},
	    {"\xff", 1, 0},
	};

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(cases); i++)
		ck_assert_msg(otelp__utf8_seq_len((const uint8_t *)cases[i].s, cases[i].n) ==
		                  cases[i].want,
		              "case %zu", i);
}
END_TEST

/* ---- protobuf ---- */

START_TEST(test_pb_roundtrip)
{
	struct otelp_resource *r = tresource();
	struct otelp_span *spans[3] = {rich_root(), remote_child(), local_child()};
	PB_REQ *req;
	PB_SPAN *m;

	tres_str(r, "service.name", "checkout");
	tres_int(r, "process.pid", 4242);
	tres_str(r, "telemetry.sdk.language", "c");
	tres_int(r, "negative", -1);

	req = roundtrip(r, spans, 3, 3);
	check_resource(r, req->resource_spans[0]->resource);
	for (size_t i = 0; i < 3; i++)
		check_span(spans[i], req_span(req, i));

	/* The same facts again as literals, not derived from the input. */
	m = req_span(req, 0);
	ck_assert_uint_eq(m->flags, 0x101);
	ck_assert_uint_eq(m->parent_span_id.len, 0);
	ck_assert_int_eq(m->kind,
	                 OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
	ck_assert_str_eq(m->name, "GET /users/:id");
	ck_assert_str_eq(m->trace_state, "vendor=abc,other=1");
	ck_assert_uint_eq(m->start_time_unix_nano, 1700000000000000000ull);
	ck_assert_uint_eq(m->end_time_unix_nano, 1700000000001234567ull);
	ck_assert_uint_eq(m->n_attributes, 8);
	ck_assert_str_eq(m->attributes[0]->key, "http.request.method");
	ck_assert_str_eq(m->attributes[0]->value->string_value, "GET");
	ck_assert_str_eq(m->attributes[1]->key, "http.response.status_code");
	ck_assert_int_eq(m->attributes[1]->value->int_value, 500);
	ck_assert(m->attributes[2]->value->bool_value);
	ck_assert(m->attributes[3]->value->double_value == 0.25);
	ck_assert_int_eq(m->attributes[4]->value->int_value, INT64_MIN);
	ck_assert_str_eq(m->attributes[7]->value->string_value, "");
	ck_assert_uint_eq(m->dropped_attributes_count, 3);
	ck_assert_uint_eq(m->n_events, 2);
	ck_assert_str_eq(m->events[0]->name, "exception");
	ck_assert_uint_eq(m->events[0]->n_attributes, 2);
	ck_assert_str_eq(m->events[0]->attributes[1]->value->string_value, "bad \"thing\"");
	ck_assert_uint_eq(m->events[1]->n_attributes, 0);
	ck_assert_uint_eq(m->events[1]->dropped_attributes_count, 2);
	ck_assert_uint_eq(m->dropped_events_count, 4);
	ck_assert_uint_eq(m->n_links, 2);
	ck_assert_uint_eq(m->links[0]->flags, 0x301);
	ck_assert_str_eq(m->links[0]->trace_state, "x=y");
	ck_assert_uint_eq(m->links[0]->n_attributes, 2);
	ck_assert_int_eq(m->links[0]->attributes[1]->value->int_value, -3);
	ck_assert_uint_eq(m->links[1]->flags, 0x100);
	ck_assert_str_eq(m->links[1]->trace_state, "");
	ck_assert_uint_eq(m->links[1]->dropped_attributes_count, 6);
	ck_assert_uint_eq(m->dropped_links_count, 5);
	ck_assert_int_eq(m->status->code,
	                 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
	ck_assert_str_eq(m->status->message, "boom");

	m = req_span(req, 1);
	ck_assert_uint_eq(m->flags, 0x301);
	ck_assert_uint_eq(m->parent_span_id.len, 8);
	ck_assert_uint_eq(m->parent_span_id.data[0], 0x71);
	ck_assert_str_eq(m->trace_state, "");
	ck_assert_int_eq(m->status->code,
	                 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
	ck_assert_str_eq(m->status->message, "");

	m = req_span(req, 2);
	ck_assert_uint_eq(m->flags, 0x100);
	ck_assert_int_eq(m->status->code, 0);
	ck_assert_uint_eq(m->n_events + m->n_links + m->n_attributes, 0);

	free_req(req);
	for (size_t i = 0; i < 3; i++)
		free(spans[i]);
	free(r);
}
END_TEST

START_TEST(test_pb_empty_and_null)
{
	struct otelp_resource *r = tresource();
	struct otelp_span *spans[3] = {NULL, local_child(), NULL};
	struct otelp_buf out = {0};
	PB_REQ *req;

	/* No spans, no resource attributes: still a well-formed envelope. */
	req = roundtrip(r, NULL, 0, 0);
	ck_assert_uint_eq(req->resource_spans[0]->resource->n_attributes, 0);
	free_req(req);

	/* No resource at all; NULL entries skipped. */
	req = roundtrip(NULL, spans, 3, 1);
	check_span(spans[1], req_span(req, 0));
	free_req(req);

	ck_assert_int_eq(otelp__otlp_encode_protobuf(r, NULL, 1, &out), -EINVAL);
	otelp__buf_free(&out);
	free(spans[1]);
	free(r);
}
END_TEST

/* A span with string arrays of every shape, on the span, an event and a link. */
static struct otelp_span *array_span(void)
{
	struct otelp_span *s = tspan("arrays", OTELP_KIND_SERVER, 0x91);
	int e = tevent(s, "ev", 7), l = tlink(s, 0x21, 0x31, 1, false, NULL);

	s->start_ns = 10;
	s->end_ns = 20;
	tattr_arr(s, OTELP_OWNER_SPAN, "http.request.header.accept", "text/html\0application/json",
	          26, 2);
	tattr_arr(s, OTELP_OWNER_SPAN, "none", "", 0, 0);
	tattr_arr(s, OTELP_OWNER_EVENT(e), "ev.arr", "x", 1, 1);
	tattr_arr(s, OTELP_OWNER_SPAN, "one-empty", "", 0, 1);
	tattr_str(s, OTELP_OWNER_SPAN, "after", "s");
	tattr_arr(s, OTELP_OWNER_LINK(l), "link.arr", "y\0z", 3, 2);
	tattr_arr(s, OTELP_OWNER_SPAN, "gaps", "a\0\0b\0", 5, 4);
	return s;
}

START_TEST(test_pb_str_array)
{
	struct otelp_span *spans[3] = {array_span(), rich_root(),
	                               tspan("nasty", OTELP_KIND_INTERNAL, 0xa1)};
	PB_REQ *req;
	PB_SPAN *m;
	const PB_ARRAY *arr;

	/* Not valid UTF-8, so not comparable with the input: checked as literals only. */
	tattr_arr(spans[2], OTELP_OWNER_SPAN, "nasty", "q\"\\\n\0\xff|\xc3\xa9", 9, 2);
	req = roundtrip(NULL, spans, 3, 3);
	check_span(spans[0], req_span(req, 0));
	check_span(spans[1], req_span(req, 1));

	/* The same facts as literals. */
	m = req_span(req, 0);
	ck_assert_uint_eq(m->n_attributes, 5);
	ck_assert_str_eq(m->attributes[0]->key, "http.request.header.accept");
	arr = m->attributes[0]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 2);
	ck_assert_str_eq(arr->values[0]->string_value, "text/html");
	ck_assert_str_eq(arr->values[1]->string_value, "application/json");
	ck_assert_int_eq(m->attributes[1]->value->value_case,
	                 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
	ck_assert_uint_eq(m->attributes[1]->value->array_value->n_values, 0);
	arr = m->attributes[2]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 1);
	ck_assert_str_eq(arr->values[0]->string_value, "");
	ck_assert_str_eq(m->attributes[3]->value->string_value, "s");
	arr = m->attributes[4]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 4);
	ck_assert_str_eq(arr->values[0]->string_value, "a");
	ck_assert_str_eq(arr->values[1]->string_value, "");
	ck_assert_str_eq(arr->values[2]->string_value, "b");
	ck_assert_str_eq(arr->values[3]->string_value, "");
	arr = m->events[0]->attributes[0]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 1);
	ck_assert_str_eq(arr->values[0]->string_value, "x");
	arr = m->links[0]->attributes[0]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 2);
	ck_assert_str_eq(arr->values[1]->string_value, "z");
	arr = req_span(req, 2)->attributes[0]->value->array_value;
	ck_assert_uint_eq(arr->n_values, 2);
	ck_assert_str_eq(arr->values[0]->string_value, "q\"\\\n");
	ck_assert_str_eq(arr->values[1]->string_value, "\xef\xbf\xbd|\xc3\xa9");

	free_req(req);
	for (size_t i = 0; i < 3; i++)
		free(spans[i]);
}
END_TEST

/* Ill-formed UTF-8 becomes U+FFFD per byte; a Python decoder would reject the request. */
START_TEST(test_pb_invalid_utf8)
{
	struct otelp_span *s = tspan("a\377b", OTELP_KIND_INTERNAL, 1);
	struct otelp_resource *r = tresource();
	PB_REQ *req;
	PB_SPAN *m;

	tattr_strn(s, OTELP_OWNER_SPAN, "k\xc0\xaf", "\xe2\x82\xac\xe2\x82", 5);
	tres_str(r, "service.name", "s\xed\xa0\x80");
	req = roundtrip(r, &s, 1, 1);
	m = req_span(req, 0);
	ck_assert_str_eq(m->name, "a\357\277\275b");
	ck_assert_str_eq(m->attributes[0]->key, "k\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(m->attributes[0]->value->string_value,
	                 "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(req->resource_spans[0]->resource->attributes[0]->value->string_value,
	                 "s\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free_req(req);
	free(s);
	free(r);
}
END_TEST

/* Many full spans: every capacity used, buffer growth, field-by-field check of all. */
START_TEST(test_pb_big_batch)
{
	enum { N = 150 };
	struct otelp_span *spans[N];
	struct otelp_resource *r = tresource();
	PB_REQ *req;
	char key[32], val[64 + 3];

	for (int i = 0; i < OTELP_RESOURCE_MAX; i++) {
		snprintf(key, sizeof(key), "res.%d", i);
		if (i % 2)
			tres_int(r, key, i);
		else
			tres_str(r, key, "value");
	}
	for (int i = 0; i < N; i++) {
		struct otelp_span *s = tspan("span", (uint8_t)(1 + i % 5), (uint8_t)i);

		if (i % 3)
			tparent(s, (uint8_t)(i + 1), i % 2);
		s->start_ns = (uint64_t)i * 1000;
		s->end_ns = s->start_ns + 999;
		for (int e = 0; e < OTELP_SPAN_EVENTS_MAX; e++)
			tevent(s, "ev", (uint64_t)e);
		for (int l = 0; l < OTELP_SPAN_LINKS_MAX; l++)
			tlink(s, (uint8_t)l, (uint8_t)(l + 1), (uint8_t)(l & 1), l & 1,
			      l ? "a=b" : NULL);
		for (int a = 0; a < OTELP_SPAN_ATTRS_MAX; a++) {
			unsigned owner = a % 3 == 0   ? OTELP_OWNER_SPAN
			                 : a % 3 == 1 ? OTELP_OWNER_EVENT(a % OTELP_SPAN_EVENTS_MAX)
			                              : OTELP_OWNER_LINK(a % OTELP_SPAN_LINKS_MAX);

			snprintf(key, sizeof(key), "attr.%d", a);
			snprintf(val, sizeof(val), "value-%d-%d", i, a);
			switch (a % 5) {
			case 0:
				tattr_str(s, owner, key, val);
				break;
			case 1:
				tattr_int(s, owner, key, (int64_t)i * a - 1000);
				break;
			case 2:
				tattr_bool(s, owner, key, a & 1);
				break;
			case 3:
				tattr_double(s, owner, key, i / 7.0);
				break;
			default:
				/* [val, "", "x"], or [] now and then */
				if (a % 10 == 9) {
					tattr_arr(s, owner, key, "", 0, 0);
				} else {
					size_t m = strlen(val);

					memcpy(val + m, "\0\0x", 3);
					tattr_arr(s, owner, key, val, m + 3, 3);
				}
				break;
			}
		}
		tstatus(s, (uint8_t)(i % 3), "status message");
		spans[i] = s;
	}
	req = roundtrip(r, spans, N, N);
	check_resource(r, req->resource_spans[0]->resource);
	for (int i = 0; i < N; i++)
		check_span(spans[i], req_span(req, (size_t)i));
	free_req(req);
	for (int i = 0; i < N; i++)
		free(spans[i]);
	free(r);
}
END_TEST

/* ---- direct protobuf writer against the protobuf-c reference ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/*
 * n random bytes into p: mostly ASCII, now and then a NUL (unless no_nul), a valid
 * multi-byte character, or bytes that are not UTF-8 (stray continuation, overlong, surrogate,
 * truncated sequence, 0xff).
 */
static void rnd_bytes(char *p, size_t n, bool no_nul)
{
	static const char *const bits[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	                                   "\x80",     "\xc0\xaf",     "\xed\xa0\x80",
	                                   "\xe2\x82", "\xff",         "\xf4\x90\x80\x80"};
	unsigned mode = rnd_below(4);
	size_t i = 0;

	while (i < n) {
		unsigned k = rnd_below(100);

		if (mode == 0 || k < 85) {
			p[i++] = (char)(0x20 + rnd_below(0x5f));
		} else if (k < 88 && !no_nul) {
			p[i++] = '\0';
		} else if (k < 90) {
			p[i++] = (char)(1 + rnd_below(0x7f));
		} else {
			const char *b = bits[rnd_below(sizeof(bits) / sizeof(bits[0]))];
			size_t m = strlen(b);

			if (m > n - i)
				m = n - i;
			memcpy(p + i, b, m);
			i += m;
		}
	}
}

/* A random length: mostly short, sometimes empty, now and then long. */
static size_t rnd_len(size_t max)
{
	unsigned k = rnd_below(20);
	size_t n;

	if (k == 0)
		n = 0;
	else if (k < 16)
		n = 1 + rnd_below(24);
	else if (k < 19)
		n = rnd_below(200);
	else
		n = rnd_below(1200);
	return n < max ? n : max;
}

/* A random string in the arena of s (empty when the arena is full). */
static struct otelp_sref rnd_sref(struct otelp_span *s)
{
	char tmp[OTELP_SPAN_ARENA];
	size_t room = sizeof(s->arena) - s->arena_used;
	size_t n = rnd_len(room > 1 ? room - 1 : 0);

	if (room == 0)
		return (struct otelp_sref){0, 0};
	rnd_bytes(tmp, n, false);
	return tputn(s, tmp, n);
}

/* A random string array (its arena form, elements joined by NULs). */
static void rnd_arr(struct otelp_span *s, struct otelp_attr *a)
{
	char tmp[OTELP_SPAN_ARENA];
	size_t room = sizeof(s->arena) - s->arena_used, len = 0;
	unsigned n = rnd_below(8);

	a->v.arr.n = (uint16_t)n;
	for (unsigned i = 0; i < n && room > 2; i++) {
		size_t m = rnd_below(3) ? rnd_below(12) : 0;

		if (i && len < room - 2)
			tmp[len++] = '\0';
		if (m > room - 2 - len)
			m = room - 2 - len;
		rnd_bytes(tmp + len, m, true);
		len += m;
	}
	a->v.arr.s = room ? tputn(s, tmp, len < room ? len : room - 1) : (struct otelp_sref){0, 0};
}

static const double rnd_doubles[] = {0.0, -0.0, 1.5, -3.25e300, 1e-310, INFINITY, -INFINITY, NAN};

static const int64_t rnd_ints[] = {0, 1, -1, 127, 128, 300, INT64_MAX, INT64_MIN, 1ll << 35};

static uint32_t rnd_u32(void)
{
	switch (rnd_below(4)) {
	case 0:
	case 1:
		return 0;
	case 2:
		return rnd_below(300);
	default:
		return rnd_below(2) ? UINT32_MAX : (uint32_t)rnd();
	}
}

static uint64_t rnd_u64(void)
{
	switch (rnd_below(4)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	default:
		return rnd();
	}
}

static const struct otelp_attrset *rnd_sets[24];
static unsigned n_rnd_sets;

/* Random interned sets: random keys and values (invalid UTF-8 and NULs in values included). */
static void make_rnd_sets(void)
{
	char keys[OTELP_ATTRSET_KV_MAX][24], vals[OTELP_ATTRSET_KV_MAX][64];

	otelp__config_defaults(&otelp__cfg); /* no value length limit */

	for (unsigned k = 0; k < OTELP_ARRAY_SIZE(rnd_sets); k++) {
		struct otelp_kv kv[OTELP_ATTRSET_KV_MAX];
		size_t n = 1 + rnd_below(OTELP_ATTRSET_KV_MAX);

		for (size_t i = 0; i < n; i++) {
			size_t kl = rnd_below(sizeof(keys[i]));

			rnd_bytes(keys[i], kl, true);
			keys[i][kl] = '\0';
			kv[i] = (struct otelp_kv){.key = keys[i]};
			if (rnd_below(3) == 0) {
				kv[i].is_int = true;
				kv[i].i = rnd_ints[rnd_below(9)];
			} else {
				kv[i].len = rnd_below(sizeof(vals[i]));
				rnd_bytes(vals[i], kv[i].len, false);
				kv[i].str = vals[i];
			}
		}
		const struct otelp_attrset *set = otelp__attrset_get(kv, n);
		ck_assert_ptr_nonnull(set);
		ck_assert_ptr_eq(otelp__attrset_get(kv, n), set);
		rnd_sets[n_rnd_sets++] = set;
	}
}

#define KEY_REF(id, str) OTELP_KEY(id),
static const struct otelp_sref known_keys[] = {OTELP_KEYS(KEY_REF)};
#undef KEY_REF

static struct otelp_span *rnd_span(void)
{
	struct otelp_span *s = calloc(1, sizeof(*s));
	unsigned na, owners;

	ck_assert_ptr_nonnull(s);
	memset(s->arena, 'Z', sizeof(s->arena));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)rnd();
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)rnd();
	if (rnd_below(2))
		tparent(s, (uint8_t)rnd(), rnd_below(2));
	s->flags = (uint8_t)rnd();
	s->kind = (uint8_t)rnd_below(7);
	s->start_ns = rnd_u64();
	s->end_ns = rnd_u64();
	s->name = rnd_sref(s);
	if (rnd_below(2))
		s->tracestate = rnd_sref(s);
	s->status = (uint8_t)rnd_below(4);
	if (rnd_below(2))
		s->status_msg = rnd_sref(s);
	s->dropped_attrs = rnd_u32();
	s->dropped_events = rnd_u32();
	s->dropped_links = rnd_u32();
	if (rnd_below(2)) {
		unsigned ne = rnd_below(OTELP_SPAN_EVENTS_MAX + 1);

		for (unsigned i = 0; i < ne; i++) {
			s->events[i].name = rnd_sref(s);
			s->events[i].time_ns = rnd_u64();
			s->events[i].dropped_attrs = rnd_u32();
		}
		s->n_events = (uint16_t)ne;
	}
	if (rnd_below(2)) {
		unsigned nl = rnd_below(OTELP_SPAN_LINKS_MAX + 1);

		for (unsigned i = 0; i < nl; i++) {
			struct otelp_link *l = &s->links[i];

			for (int k = 0; k < 16; k++)
				l->trace_id[k] = (uint8_t)rnd();
			for (int k = 0; k < 8; k++)
				l->span_id[k] = (uint8_t)rnd();
			l->flags = (uint8_t)rnd();
			l->remote = rnd_below(2);
			if (rnd_below(2))
				l->tracestate = rnd_sref(s);
			l->dropped_attrs = rnd_u32();
		}
		s->n_links = (uint16_t)nl;
	}
	owners = 1 + s->n_events + s->n_links;
	na = rnd_below(4) ? rnd_below(16) : rnd_below(OTELP_SPAN_ATTRS_MAX + 1);
	for (unsigned i = 0; i < na; i++) {
		struct otelp_attr *a = &s->attrs[s->n_attrs++];
		unsigned o = rnd_below(owners);

		a->owner = o == 0             ? OTELP_OWNER_SPAN
		           : o <= s->n_events ? (uint8_t)OTELP_OWNER_EVENT(o - 1)
		                              : (uint8_t)OTELP_OWNER_LINK(o - 1 - s->n_events);
		/* Often a known key (span.h), which the writer copies with its header bytes. */
		a->key = rnd_below(3) ? rnd_sref(s)
		                      : known_keys[rnd_below(OTELP_ARRAY_SIZE(known_keys))];
		/* Now and then a type no encoder knows: it must be skipped. */
		a->type = (uint8_t)rnd_below(rnd_below(20) ? 5 : 7);
		switch (a->type) {
		case OTELP_ATTR_STRING:
			a->v.s = rnd_sref(s);
			break;
		case OTELP_ATTR_BOOL:
			a->v.b = rnd_below(2);
			break;
		case OTELP_ATTR_INT:
			a->v.i = rnd_below(2) ? rnd_ints[rnd_below(9)] : (int64_t)rnd();
			break;
		case OTELP_ATTR_DOUBLE:
			a->v.d = rnd_doubles[rnd_below(8)];
			break;
		case OTELP_ATTR_STRING_ARRAY:
			rnd_arr(s, a);
			break;
		}
	}
	/* Often an interned attribute set somewhere among the attributes (attrset.h). */
	if (n_rnd_sets && rnd_below(3) == 0) {
		const struct otelp_attrset *set = rnd_sets[rnd_below(n_rnd_sets)];
		unsigned at = rnd_below(s->n_attrs + 1u);

		if (s->n_attrs + set->n <= OTELP_SPAN_ATTRS_MAX) {
			memmove(&s->attrs[at + set->n], &s->attrs[at],
			        (s->n_attrs - at) * sizeof(s->attrs[0]));
			memcpy(&s->attrs[at], set->attrs, set->n * sizeof(set->attrs[0]));
			s->n_attrs = (uint16_t)(s->n_attrs + set->n);
			s->set = set;
			s->set_at = (uint16_t)at;
		}
	}
	/* Rarely, references and counts out of range: both encoders clamp them alike. */
	if (rnd_below(50) == 0)
		s->name = (struct otelp_sref){(uint16_t)(sizeof(s->arena) - 5), 400};
	if (rnd_below(50) == 0)
		s->n_events = 0xffff;
	return s;
}

static struct otelp_resource *rnd_resource(void)
{
	struct otelp_resource *r = tresource();
	unsigned n = rnd_below(4) ? rnd_below(12) : OTELP_RESOURCE_MAX + 3;

	r->n = n;
	if (n > OTELP_RESOURCE_MAX)
		n = OTELP_RESOURCE_MAX;
	for (unsigned i = 0; i < n; i++) {
		struct otelp_resource_attr *a = &r->attrs[i];
		size_t k = rnd_below(10) ? rnd_below(30) : sizeof(a->key);

		/* A full-size field has no terminator: its length is the field size. */
		rnd_bytes(a->key, k, false);
		if (k < sizeof(a->key))
			a->key[k] = '\0';
		a->is_int = rnd_below(3) == 0;
		if (a->is_int) {
			a->ival = rnd_ints[rnd_below(9)];
		} else {
			size_t v = rnd_below(10) ? rnd_below(60) : sizeof(a->value);

			rnd_bytes(a->value, v, false);
			if (v < sizeof(a->value))
				a->value[v] = '\0';
		}
	}
	return r;
}

/* Encode with both encoders; the bytes must be the same. out is reused, as the exporter does. */
static void same_bytes(const struct otelp_resource *r, struct otelp_span *const *spans, size_t n,
                       struct otelp_buf *out)
{
	struct otelp_buf ref = {0};

	ck_assert_int_eq(otelp__otlp_encode_protobuf_reference(r, spans, n, &ref), 0);
	ck_assert_int_eq(otelp__otlp_encode_protobuf(r, spans, n, out), 0);
	ck_assert_uint_eq(out->len, ref.len);
	ck_assert_int_eq(memcmp(out->data + out->off, ref.data + ref.off, ref.len), 0);
	otelp__buf_free(&ref);
}

START_TEST(test_pb_same_bytes_random)
{
	static const size_t sizes[] = {1, 2, 3, 7, 16, 100, 511, 512};
	struct otelp_buf out = {0};
	size_t total = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	make_rnd_sets();
	for (unsigned round = 0; round < 120; round++) {
		size_t n = round < 8 ? sizes[round] : 1 + rnd_below(rnd_below(4) ? 64 : 512);
		struct otelp_span **spans = calloc(n, sizeof(*spans));
		struct otelp_resource *r = rnd_below(4) ? rnd_resource() : NULL;

		ck_assert_ptr_nonnull(spans);
		for (size_t i = 0; i < n; i++)
			spans[i] = rnd_below(40) ? rnd_span() : NULL;
		/* A small buffer with stale bytes: the writer must grow it. */
		if (round % 5 == 0) {
			otelp__buf_free(&out);
			ck_assert_int_eq(otelp__buf_append(&out, "stale", 5), 0);
		}
		same_bytes(r, spans, n, &out);
		for (size_t i = 0; i < n; i++)
			same_bytes(r, &spans[i], 1, &out);
		total += n;
		for (size_t i = 0; i < n; i++)
			free(spans[i]);
		free(spans);
		free(r);
	}
	ck_assert_uint_gt(total, 5000);
	otelp__buf_free(&out);
}
END_TEST

/* Fixed edge cases: empty batch, empty span, a span at every limit, the hand-built spans. */
START_TEST(test_pb_same_bytes_edges)
{
	struct otelp_buf out = {0};
	struct otelp_resource *r = tresource();
	struct otelp_span *empty = calloc(1, sizeof(*empty));
	struct otelp_span *full = tspan("", 0, 0);
	struct otelp_span *hand[] = {rich_root(), remote_child(), local_child(), array_span()};
	char key[16];

	ck_assert_ptr_nonnull(empty);
	same_bytes(NULL, NULL, 0, &out);
	same_bytes(r, NULL, 0, &out);
	same_bytes(NULL, &empty, 1, &out);
	same_bytes(r, hand, 4, &out);

	tres_str(r, "service.name", "svc");
	tres_str(r, "", "");
	tres_int(r, "pid", -42);
	same_bytes(r, &empty, 1, &out);

	/* Every event, link and attribute used, the arena filled to the last byte. */
	for (int e = 0; e < OTELP_SPAN_EVENTS_MAX; e++)
		tevent(full, "", UINT64_MAX);
	for (int l = 0; l < OTELP_SPAN_LINKS_MAX; l++)
		tlink(full, 0, 0, 0xff, true, "");
	for (int a = 0; a < OTELP_SPAN_ATTRS_MAX; a++) {
		snprintf(key, sizeof(key), "k%d", a);
		tattr_int(full, a % 2 ? OTELP_OWNER_SPAN : OTELP_OWNER_LINK(a % 4), key, INT64_MIN);
	}
	full->dropped_attrs = full->dropped_events = full->dropped_links = UINT32_MAX;
	full->start_ns = full->end_ns = UINT64_MAX;
	tstatus(full, OTELP_STATUS_ERROR, "");
	{
		size_t room = sizeof(full->arena) - full->arena_used - 1;
		char *big = malloc(room);

		ck_assert_ptr_nonnull(big);
		memset(big, 'x', room);
		big[room / 2] = '\xe2'; /* one truncated sequence in the middle */
		full->name = tputn(full, big, room);
		free(big);
	}
	same_bytes(r, &full, 1, &out);

	for (size_t i = 0; i < 4; i++)
		free(hand[i]);
	free(full);
	free(empty);
	free(r);
	otelp__buf_free(&out);
}
END_TEST

/*
 * Strings of every length around the writer's thresholds (blocks of 4, 8 and 16 bytes, the
 * one-byte lengths up to 125 and 127, two-byte lengths), plain or with a byte its fast path
 * does not take (NUL, invalid UTF-8, a valid multi-byte character) first, in the middle or
 * last, used as name, tracestate, key, value, event name, link tracestate, status message and
 * array element; integers at every varint length, negative ones; every kind, and kinds no
 * enum has. Byte for byte against the reference.
 */
START_TEST(test_pb_same_bytes_lengths)
{
	static const size_t lens[] = {0,   1,   2,   3,   4,   5,   6,   7,   8,    9,
	                              15,  16,  17,  24,  31,  32,  33,  48,  63,   64,
	                              65,  66,  100, 119, 120, 121, 122, 123, 124,  125,
	                              126, 127, 128, 129, 200, 255, 256, 257, 1000, 1300};
	static const char *const odd[] = {"\0", "\x80", "\xc3\xa9", "\xff", "\xe2\x82", "~"};
	static const int64_t ints[] = {0,         1,       127,       128,       16383,
	                               16384,     2097151, 2097152,   268435455, 268435456,
	                               INT64_MAX, -1,      INT64_MIN, -128,      (int64_t)1 << 35};
	static const uint8_t kinds[] = {0, 1, 2, 3, 4, 5, 6, 127, 128, 200, 255};
	struct otelp_span *spans[OTELP_ARRAY_SIZE(lens) * (1 + 3 * OTELP_ARRAY_SIZE(odd))];
	struct otelp_resource *r = tresource();
	struct otelp_buf out = {0};
	char str[1300];
	size_t n = 0;

	tres_str(r, "service.name", "svc");
	for (size_t li = 0; li < OTELP_ARRAY_SIZE(lens); li++) {
		size_t len = lens[li];

		for (size_t v = 0; v <= OTELP_ARRAY_SIZE(odd); v++) {
			for (size_t pos = 0; pos < (v ? 3 : 1); pos++) {
				size_t at = pos == 0 ? 0 : pos == 1 ? len / 2 : len ? len - 1 : 0;
				struct otelp_sref ref;
				struct otelp_attr *a;
				struct otelp_span *s;

				if (v && !len)
					continue;
				s = tspan("", (uint8_t)(1 + n % 5), (uint8_t)n);
				for (size_t i = 0; i < len; i++)
					str[i] = (char)('a' + i % 26);
				if (v) {
					size_t m = strlen(odd[v - 1]) ? strlen(odd[v - 1]) : 1;

					memcpy(str + at, odd[v - 1], m < len - at ? m : len - at);
				}
				ref = tputn(s, str, len);
				/* Every field that takes a string, all of them these bytes. */
				s->name = ref;
				if (n % 2)
					s->tracestate = ref;
				tattr(s, OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING)->v.s = ref;
				a = tattr(s, OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING);
				a->key = ref;
				a->v.s = ref;
				a = tattr(s, OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING);
				a->key = OTELP_KEY(URL_FULL);
				a->v.s = ref;
				a = tattr(s, OTELP_OWNER_SPAN, "k", OTELP_ATTR_INT);
				a->key = ref;
				a->v.i = ints[n % OTELP_ARRAY_SIZE(ints)];
				if (n % 3 == 0) {
					tattr_arr(s, OTELP_OWNER_SPAN, "arr", "x", 1, 1);
					s->attrs[s->n_attrs - 1].v.arr.s = ref;
					s->attrs[s->n_attrs - 1].v.arr.n = 2;
				}
				if (n % 4 == 1) {
					s->events[tevent(s, "e", 7)].name = ref;
					tattr(s, OTELP_OWNER_EVENT(0), "k", OTELP_ATTR_STRING)
					    ->v.s = ref;
				}
				if (n % 4 == 2) {
					s->links[tlink(s, 1, 2, 1, true, NULL)].tracestate = ref;
					tattr(s, OTELP_OWNER_LINK(0), "k", OTELP_ATTR_INT)->v.i =
					    -1;
				}
				if (n % 5 == 3) {
					s->status = OTELP_STATUS_ERROR;
					s->status_msg = ref;
				}
				ck_assert_uint_lt(n, OTELP_ARRAY_SIZE(spans));
				spans[n++] = s;
				same_bytes(r, &s, 1, &out);
			}
		}
	}
	same_bytes(r, spans, n, &out);
	for (size_t i = 0; i < n; i++)
		free(spans[i]);

	/* Integers: every varint length, with a known key and a key of the span's. */
	spans[0] = tspan("ints", OTELP_KIND_INTERNAL, 1);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(ints); i++) {
		tattr_int(spans[0], OTELP_OWNER_SPAN, "i", ints[i]);
		tattr(spans[0], OTELP_OWNER_SPAN, "k", OTELP_ATTR_INT)->v.i = ints[i];
		spans[0]->attrs[spans[0]->n_attrs - 1].key = OTELP_KEY(SERVER_PORT);
	}
	same_bytes(r, spans, 1, &out);
	free(spans[0]);

	/* Kinds, times and dropped counts absent or at their widest. */
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(kinds); i++) {
		struct otelp_span *s = tspan("k", kinds[i], (uint8_t)i);

		s->start_ns = i % 2 ? UINT64_MAX : 0;
		s->end_ns = i % 3 ? 1 : 0;
		s->dropped_attrs = i % 2 ? UINT32_MAX : 0;
		s->dropped_links = i % 3 == 2 ? 300 : 0;
		spans[i] = s;
		same_bytes(r, &s, 1, &out);
	}
	same_bytes(r, spans, OTELP_ARRAY_SIZE(kinds), &out);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(kinds); i++)
		free(spans[i]);
	free(r);
	otelp__buf_free(&out);
}
END_TEST

/*
 * Strings longer than a span's arena, referenced in the global store (attrset.h): values of
 * 20000 bytes (three-byte lengths), and a span of more than 2 MiB once every byte of its
 * invalid UTF-8 has become U+FFFD (a four-byte length). Against the reference, and decoded.
 */
START_TEST(test_pb_long_global_strings)
{
	enum { AT = 12000, LONG = 20000 };
	struct otelp_sref plain = {(uint16_t)(OTELP_SREF_GLOBAL | AT), LONG};
	struct otelp_sref bad = {(uint16_t)(OTELP_SREF_GLOBAL | (AT + 100)), 17000};
	char *saved = malloc(OTELP_ATTRSET_BYTES - AT);
	struct otelp_resource *r = tresource();
	struct otelp_buf out = {0};
	struct otelp_span *s[2];
	PB_REQ *req;

	ck_assert_ptr_nonnull(saved);
	memcpy(saved, otelp__attrset_bytes + AT, OTELP_ATTRSET_BYTES - AT);
	memset(otelp__attrset_bytes + AT, 'x', OTELP_ATTRSET_BYTES - AT);

	s[0] = tspan("long", OTELP_KIND_CLIENT, 1);
	tattr(s[0], OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING)->v.s = plain;
	tattr(s[0], OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING)->key = plain;
	s[0]->attrs[1].v.s = plain;
	s[0]->attrs[1].key = OTELP_KEY(DB_QUERY_TEXT);
	same_bytes(r, s, 1, &out);
	req = roundtrip(r, s, 1, 1);
	check_span(s[0], req_span(req, 0));
	ck_assert_uint_eq(strlen(req_span(req, 0)->attributes[0]->value->string_value), LONG);
	free_req(req);

	/* 48 attributes of 2 x 17000 bytes, three bytes out for each: about 4.9 MB. */
	memset(otelp__attrset_bytes + AT + 100, 0xff, 17000);
	s[1] = tspan("huge", OTELP_KIND_SERVER, 2);
	for (int i = 0; i < OTELP_SPAN_ATTRS_MAX; i++) {
		struct otelp_attr *a = tattr(s[1], OTELP_OWNER_SPAN, "k", OTELP_ATTR_STRING);

		a->key = bad;
		a->v.s = bad;
	}
	same_bytes(r, s, 2, &out);
	ck_assert_uint_gt(out.len, 1u << 21);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
	    NULL, out.len, out.data + out.off);
	ck_assert_ptr_nonnull(req);
	ck_assert_uint_eq(req_span(req, 1)->n_attributes, OTELP_SPAN_ATTRS_MAX);
	ck_assert_uint_eq(strlen(req_span(req, 1)->attributes[47]->key), 3 * 17000);
	free_req(req);

	memcpy(otelp__attrset_bytes + AT, saved, OTELP_ATTRSET_BYTES - AT);
	free(saved);
	free(s[0]);
	free(s[1]);
	free(r);
	otelp__buf_free(&out);
}
END_TEST

/* ---- response decoding ---- */

static void pack_response(struct otelp_buf *b, bool partial, int64_t rejected, const char *msg)
{
	PB_RESP resp =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	PB_PARTIAL ps =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	size_t n;

	if (partial) {
		ps.rejected_spans = rejected;
		if (msg)
			ps.error_message = (char *)msg;
		resp.partial_success = &ps;
	}
	n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
	    &resp);
	b->len = 0;
	ck_assert_int_eq(otelp__buf_reserve(b, n + 1), 0);
	b->len = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
	    &resp, b->data);
}

START_TEST(test_decode_protobuf)
{
	struct otelp_buf b = {0};
	int64_t rej = -5;
	char msg[64];

	pack_response(&b, true, 3, "too many spans");
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 3);
	ck_assert_str_eq(msg, "too many spans");

	/* Truncated to cap, never in the middle of a character. */
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, 4), 0);
	ck_assert_str_eq(msg, "too");
	pack_response(&b, true, 0, "a\xc3\xa9z");
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, 3), 0);
	ck_assert_str_eq(msg, "a");
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, 4), 0);
	ck_assert_str_eq(msg, "a\xc3\xa9");
	ck_assert_int_eq(rej, 0);
	/* NULL outputs are allowed. */
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, NULL, NULL, 0), 0);

	/* Warning only: rejected 0, message set. */
	pack_response(&b, true, 0, "heads up");
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "heads up");

	/* Full success: no partial_success. */
	pack_response(&b, false, 0, NULL);
	strcpy(msg, "stale");
	rej = 9;
	ck_assert_int_eq(otelp__otlp_decode_response(b.data, b.len, false, &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "");

	/* Empty body. */
	strcpy(msg, "stale");
	rej = 9;
	ck_assert_int_eq(
	    otelp__otlp_decode_response((const uint8_t *)"", 0, false, &rej, msg, sizeof(msg)), 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "");

	/* Garbage: a length running past the end, a bad wire type. */
	ck_assert_int_eq(otelp__otlp_decode_response((const uint8_t *)"\n\020abc", 5, false, &rej,
	                                             msg, sizeof(msg)),
	                 -1);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(otelp__otlp_decode_response((const uint8_t *)"\x0f\x01", 2, false, &rej,
	                                             msg, sizeof(msg)),
	                 -1);
	otelp__buf_free(&b);
}
END_TEST

static int json_resp(const char *body, int64_t *rej, char *msg, size_t cap)
{
	return otelp__otlp_decode_response((const uint8_t *)body, strlen(body), true, rej, msg,
	                                   cap);
}

START_TEST(test_decode_json)
{
	int64_t rej;
	char msg[128];

	ck_assert_int_eq(json_resp("{\"partialSuccess\":{\"rejectedSpans\":\"5\","
	                           "\"errorMessage\":\"a \\\"q\\\" \\\\ \\/ \\n\\t \\u00e9 "
	                           "\\ud83d\\ude00 \\ud800x\"}}",
	                           &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 5);
	ck_assert_str_eq(msg, "a \"q\" \\ / \n\t \xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbdx");

	ck_assert_int_eq(json_resp(" {\"partialSuccess\" : { \"rejectedSpans\" : 7 } } \n", &rej,
	                           msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 7);
	ck_assert_str_eq(msg, "");

	/* proto names, unknown members at every level, exponent form. */
	ck_assert_int_eq(json_resp("{\"foo\":[1,{\"a\":null,\"b\":[true,false]},\"x\",-2.5e3],"
	                           "\"partial_success\":{\"other\":{\"rejectedSpans\":99},"
	                           "\"error_message\":\"m\",\"rejected_spans\":2.0e1}}",
	                           &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 20);
	ck_assert_str_eq(msg, "m");

	/* A key inside a string is not a key. */
	ck_assert_int_eq(json_resp("{\"partialSuccess\":{\"errorMessage\":"
	                           "\"\\\"rejectedSpans\\\":9\"}}",
	                           &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "\"rejectedSpans\":9");

	ck_assert_int_eq(json_resp("{\"partialSuccess\":{\"rejectedSpans\":\"12345678901\"}}", &rej,
	                           msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 12345678901ll);

	/* Truncation keeps whole characters. */
	ck_assert_int_eq(
	    json_resp("{\"partialSuccess\":{\"errorMessage\":\"ab\\u00e9cd\"}}", &rej, msg, 4), 0);
	ck_assert_str_eq(msg, "ab");

	/* Empty and absent. */
	ck_assert_int_eq(json_resp("{}", &rej, msg, sizeof(msg)), 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(json_resp("{\"partialSuccess\":{}}", &rej, msg, sizeof(msg)), 0);
	ck_assert_int_eq(json_resp("{\"partialSuccess\":null}", &rej, msg, sizeof(msg)), 0);
	ck_assert_int_eq(json_resp("{\"partialSuccess\":{\"rejectedSpans\":null,"
	                           "\"errorMessage\":null}}",
	                           &rej, msg, sizeof(msg)),
	                 0);
	ck_assert_int_eq(rej, 0);
	ck_assert_str_eq(msg, "");
	strcpy(msg, "stale");
	ck_assert_int_eq(json_resp("", &rej, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(json_resp(" \r\n\t", &rej, msg, sizeof(msg)), 0);

	/* Garbage. */
	ck_assert_int_eq(json_resp("not json", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(json_resp("[1,2]", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(json_resp("{\"partialSuccess\":", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(
	    json_resp("{\"partialSuccess\":{\"errorMessage\":\"abc", &rej, msg, sizeof(msg)), -1);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(
	    json_resp("{\"partialSuccess\":{\"rejectedSpans\":\"abc\"}}", &rej, msg, sizeof(msg)),
	    -1);
	ck_assert_int_eq(rej, 0);
	ck_assert_int_eq(json_resp("{\"a\":tru}", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(json_resp("{\"a\":\"\\x\"}", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(json_resp("{\"a\" 1}", &rej, msg, sizeof(msg)), -1);
	ck_assert_int_eq(json_resp("{\"a\":1,}", &rej, msg, sizeof(msg)), -1);
}
END_TEST

START_TEST(test_decode_json_deep)
{
	char body[400];
	int64_t rej;
	char msg[8];
	size_t n = 0;

	/* Nesting beyond the limit is refused, not followed. */
	n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"a\":");
	for (int i = 0; i < 100; i++)
		body[n++] = '[';
	for (int i = 0; i < 100; i++)
		body[n++] = ']';
	body[n++] = '}';
	body[n] = '\0';
	ck_assert_int_eq(json_resp(body, &rej, msg, sizeof(msg)), -1);
}
END_TEST

/* ---- JSON ---- */

static struct otelp_resource *golden_resource(void)
{
	struct otelp_resource *r = tresource();

	tres_str(r, "service.name", "svc");
	tres_int(r, "process.pid", 42);
	return r;
}

static struct otelp_span *golden_root(void)
{
	struct otelp_span *s = tspan("op", OTELP_KIND_INTERNAL, 0x11);
	int e, l;

	s->start_ns = 1000000000000000001ull;
	s->end_ns = 1000000000002000000ull;
	tattr_str(s, OTELP_OWNER_SPAN, "s", "v");
	tattr_int(s, OTELP_OWNER_SPAN, "i", -7);
	e = tevent(s, "ev", 1000000000001000000ull);
	tattr_int(s, OTELP_OWNER_EVENT(e), "n", 1);
	tattr_bool(s, OTELP_OWNER_SPAN, "b", false);
	tattr_double(s, OTELP_OWNER_SPAN, "d", 1.5);
	l = tlink(s, 0x21, 0x31, OTELP_TRACE_FLAG_SAMPLED, true, "k=v");
	ck_assert_int_eq(l, 0);
	tstatus(s, OTELP_STATUS_ERROR, "bad");
	return s;
}

static struct otelp_span *golden_child(void)
{
	struct otelp_span *s = tspan("child", OTELP_KIND_CLIENT, 0x41);

	tparent(s, 0x11, false);
	s->tracestate = tput(s, "a=b");
	s->start_ns = 1000000000000500000ull;
	s->end_ns = 1000000000000600000ull;
	s->dropped_attrs = 2;
	s->dropped_events = 1;
	s->dropped_links = 1;
	tstatus(s, OTELP_STATUS_OK, "not sent");
	return s;
}

static const char golden_json[] =
    "{\"resourceSpans\":[{"
    "\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}},"
    "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"42\"}}]},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"otelpreload\",\"version\":\"" OTELP_SDK_VERSION "\"},"
    "\"spans\":["
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"flags\":257,\"name\":\"op\",\"kind\":1,"
    "\"startTimeUnixNano\":\"1000000000000000001\",\"endTimeUnixNano\":\"1000000000002000000\","
    "\"attributes\":["
    "{\"key\":\"s\",\"value\":{\"stringValue\":\"v\"}},"
    "{\"key\":\"i\",\"value\":{\"intValue\":\"-7\"}},"
    "{\"key\":\"b\",\"value\":{\"boolValue\":false}},"
    "{\"key\":\"d\",\"value\":{\"doubleValue\":1.5}}],"
    "\"events\":[{\"timeUnixNano\":\"1000000000001000000\",\"name\":\"ev\","
    "\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":\"1\"}}]}],"
    "\"links\":[{\"traceId\":\"2122232425262728292a2b2c2d2e2f30\",\"spanId\":\"3132333435363738\","
    "\"traceState\":\"k=v\",\"flags\":769}],"
    "\"status\":{\"code\":2,\"message\":\"bad\"}},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"4142434445464748\","
    "\"traceState\":\"a=b\",\"parentSpanId\":\"1112131415161718\","
    "\"flags\":257,\"name\":\"child\",\"kind\":3,"
    "\"startTimeUnixNano\":\"1000000000000500000\",\"endTimeUnixNano\":\"1000000000000600000\","
    "\"droppedAttributesCount\":2,\"droppedEventsCount\":1,\"droppedLinksCount\":1,"
    "\"status\":{\"code\":1}}"
    "],\"schemaUrl\":\"" SCHEMA "\"}],"
    "\"schemaUrl\":\"" SCHEMA "\"}]}";

static void encode_json(const struct otelp_resource *r, struct otelp_span *const *spans, size_t n,
                        struct otelp_buf *out)
{
	ck_assert_int_eq(otelp__buf_append(out, "junk", 4), 0);
	ck_assert_int_eq(otelp__otlp_encode_json(r, spans, n, out), 0);
}

static bool buf_eq(const struct otelp_buf *b, const char *want)
{
	return b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

START_TEST(test_json_golden)
{
	struct otelp_resource *r = golden_resource();
	struct otelp_span *spans[2] = {golden_root(), golden_child()};
	struct otelp_buf out = {0};

	encode_json(r, spans, 2, &out);
	ck_assert_msg(buf_eq(&out, golden_json), "got:\n%.*s\nwant:\n%s", (int)out.len, out.data,
	              golden_json);

	/* Empty batch, no resource. */
	encode_json(NULL, NULL, 0, &out);
	ck_assert_msg(buf_eq(&out,
	                     "{\"resourceSpans\":[{\"resource\":{},\"scopeSpans\":[{\"scope\":"
	                     "{\"name\":\"otelpreload\",\"version\":\"" OTELP_SDK_VERSION
	                     "\"},\"spans\":[],\"schemaUrl\":\"" SCHEMA
	                     "\"}],\"schemaUrl\":\"" SCHEMA "\"}]}"),
	              "got %.*s", (int)out.len, out.data);
	ck_assert_int_eq(otelp__otlp_encode_json(r, NULL, 1, &out), -EINVAL);
	otelp__buf_free(&out);
	free(spans[0]);
	free(spans[1]);
	free(r);
}
END_TEST

START_TEST(test_json_doubles)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
	    {0.1, "0.1"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1.0 / 3, "0.3333333333333333"},
	    {1e300, "1e+300"},
	    {-0.0, "-0"},
	    {3.0, "3"},
	    {-2.5, "-2.5"},
	    {5e-324, "4.94065645841247e-324"},
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {NAN, "\"NaN\""},
	    {INFINITY, "\"Infinity\""},
	    {-INFINITY, "\"-Infinity\""},
	};
	struct otelp_buf out = {0};

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(cases); i++) {
		struct otelp_span *s = tspan("d", OTELP_KIND_INTERNAL, 1);
		char want[128];

		tattr_double(s, OTELP_OWNER_SPAN, "x", cases[i].d);
		encode_json(NULL, &s, 1, &out);
		snprintf(want, sizeof(want), "{\"key\":\"x\",\"value\":{\"doubleValue\":%s}}",
		         cases[i].want);
		ck_assert_msg(memmem(out.data, out.len, want, strlen(want)), "case %zu: %.*s", i,
		              (int)out.len, out.data);
		free(s);
	}
	otelp__buf_free(&out);
}
END_TEST

/* With a decimal-comma locale, numbers must still use '.' (only when such a locale exists). */
START_TEST(test_json_locale)
{
	static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
	                                      "fr_FR.utf8"};
	struct otelp_span *s = tspan("d", OTELP_KIND_INTERNAL, 1);
	struct otelp_buf out = {0};
	char line[512];
	bool set = false;

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(locales) && !set; i++)
		set = setlocale(LC_ALL, locales[i]) != NULL;
	tattr_double(s, OTELP_OWNER_SPAN, "x", 1.5);
	encode_json(NULL, &s, 1, &out);
	otelp__console_format(s, NULL, line, sizeof(line));
	setlocale(LC_ALL, "C");
	ck_assert(memmem(out.data, out.len, "\"doubleValue\":1.5}", 18) != NULL);
	ck_assert_ptr_nonnull(strstr(line, "x=1.5}"));
	otelp__buf_free(&out);
	free(s);
}
END_TEST

/*
 * Run Python on a JSON document (given on stdin as bytes, decoded as strict UTF-8, parsed by
 * the strict json module); its stdout goes to out. Returns its exit status, or 77 when
 * python3 is missing.
 */
static int run_python(const char *code, const struct otelp_buf *json, char *out, size_t cap)
{
	char path[] = "/tmp/otelp-json-XXXXXX";
	char cmd[2048];
	FILE *f;
	size_t got;
	int fd, st;

	if (access("/usr/bin/python3", X_OK) != 0)
		return 77;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, json->data, json->len), (ssize_t)json->len);
	close(fd);
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 -c 'import json,sys; "
	         "d=json.loads(sys.stdin.buffer.read().decode(\"utf-8\")); %s' < %s",
	         code, path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	got = fread(out, 1, cap - 1, f);
	out[got] = '\0';
	st = pclose(f);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_json_golden_python)
{
	struct otelp_resource *r = golden_resource();
	struct otelp_span *spans[2] = {golden_root(), golden_child()};
	struct otelp_buf out = {0};
	char res[256];
	int rc;

	encode_json(r, spans, 2, &out);
	rc = run_python("s=d[\"resourceSpans\"][0][\"scopeSpans\"][0][\"spans\"]; "
	                "print(len(s), s[0][\"attributes\"][3][\"value\"][\"doubleValue\"], "
	                "s[1][\"parentSpanId\"], \"parentSpanId\" in s[0])",
	                &out, res, sizeof(res));
	if (rc != 77) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(res, "2 1.5 1112131415161718 False\n");
	}
	otelp__buf_free(&out);
	free(spans[0]);
	free(spans[1]);
	free(r);
}
END_TEST

/* Quotes, backslash, controls, DEL, ill-formed and well-formed UTF-8, everywhere strings go. */
static const char nasty[] = "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f|\xff|\xc0\xaf|\xed\xa0\x80|"
                            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xe2\x82";
/* The same, as Python prints json.dumps() of it (ASCII, every escape standard). */
static const char nasty_py[] = "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f|\\ufffd|"
                               "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\u00e9\\u20ac\\ud83d\\ude00|"
                               "\\ufffd\\ufffd\"";

START_TEST(test_json_nasty)
{
	struct otelp_resource *r = tresource();
	struct otelp_span *s = tspan(nasty, OTELP_KIND_SERVER, 1);
	struct otelp_buf out = {0};
	char res[1024];
	int rc, e, l;

	tparent(s, 9, true);
	s->tracestate = tput(s, nasty);
	tattr_str(s, OTELP_OWNER_SPAN, nasty, nasty);
	e = tevent(s, nasty, 1);
	tattr_str(s, OTELP_OWNER_EVENT(e), nasty, nasty);
	l = tlink(s, 1, 2, 1, false, nasty);
	tattr_str(s, OTELP_OWNER_LINK(l), nasty, nasty);
	tattr_strn(s, OTELP_OWNER_SPAN, "nul", "a\0b", 3);
	tstatus(s, OTELP_STATUS_ERROR, nasty);
	tres_str(r, nasty, nasty);

	encode_json(r, &s, 1, &out);
	/* Raw control bytes never appear; the escapes do. */
	for (size_t i = 0; i < out.len; i++)
		ck_assert_msg(out.data[i] >= 0x20 && out.data[i] != 0x7f, "raw byte %#x at %zu",
		              out.data[i], i);
	ck_assert(memmem(out.data, out.len, "\\u0001\\u001f\\u007f|", 19) != NULL);
	ck_assert(memmem(out.data, out.len, "a\\u0000b", 8) != NULL);

	rc = run_python("s=d[\"resourceSpans\"][0][\"scopeSpans\"][0][\"spans\"][0]; "
	                "print(json.dumps(s[\"name\"])); "
	                "print(json.dumps(s[\"attributes\"][0][\"value\"][\"stringValue\"])); "
	                "print(json.dumps(s[\"events\"][0][\"attributes\"][0][\"key\"])); "
	                "print(json.dumps(s[\"links\"][0][\"traceState\"])); "
	                "print(json.dumps(s[\"status\"][\"message\"])); "
	                "print(json.dumps(d[\"resourceSpans\"][0][\"resource\"][\"attributes\"][0]"
	                "[\"value\"][\"stringValue\"]))",
	                &out, res, sizeof(res));
	if (rc != 77) {
		char want[1024];

		ck_assert_int_eq(rc, 0);
		snprintf(want, sizeof(want), "%s\n%s\n%s\n%s\n%s\n%s\n", nasty_py, nasty_py,
		         nasty_py, nasty_py, nasty_py, nasty_py);
		ck_assert_str_eq(res, want);
	}
	otelp__buf_free(&out);
	free(s);
	free(r);
}
END_TEST

/* The big batch as JSON: valid, and every span present. */
START_TEST(test_json_big_python)
{
	enum { N = 50 };
	struct otelp_span *spans[N];
	struct otelp_buf out = {0};
	char res[64];
	int rc;

	for (int i = 0; i < N; i++)
		spans[i] = rich_root();
	encode_json(NULL, spans, N, &out);
	rc = run_python("print(len(d[\"resourceSpans\"][0][\"scopeSpans\"][0][\"spans\"]))", &out,
	                res, sizeof(res));
	if (rc != 77) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(res, "50\n");
	}
	otelp__buf_free(&out);
	for (int i = 0; i < N; i++)
		free(spans[i]);
}
END_TEST

/* array_span() plus an element needing escapes and one that is not valid UTF-8. */
static struct otelp_span *array_span_nasty(void)
{
	struct otelp_span *s = array_span();

	tattr_arr(s, OTELP_OWNER_SPAN, "nasty", "q\"\\\n\0\xff|\xc3\xa9", 9, 2);
	return s;
}

START_TEST(test_json_str_array)
{
	static const char *const want[] = {
	    ",\"attributes\":["
	    "{\"key\":\"http.request.header.accept\",\"value\":{\"arrayValue\":{\"values\":["
	    "{\"stringValue\":\"text/html\"},{\"stringValue\":\"application/json\"}]}}},"
	    "{\"key\":\"none\",\"value\":{\"arrayValue\":{}}},"
	    "{\"key\":\"one-empty\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"\"}]}}},"
	    "{\"key\":\"after\",\"value\":{\"stringValue\":\"s\"}},"
	    "{\"key\":\"gaps\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},"
	    "{\"stringValue\":\"\"},{\"stringValue\":\"b\"},{\"stringValue\":\"\"}]}}},"
	    "{\"key\":\"nasty\",\"value\":{\"arrayValue\":{\"values\":["
	    "{\"stringValue\":\"q\\\"\\\\\\n\"},{\"stringValue\":\"\xef\xbf\xbd|\xc3\xa9\"}]}}}],",
	    "\"name\":\"ev\",\"attributes\":[{\"key\":\"ev.arr\",\"value\":{\"arrayValue\":"
	    "{\"values\":[{\"stringValue\":\"x\"}]}}}]}]",
	    "\"attributes\":[{\"key\":\"link.arr\",\"value\":{\"arrayValue\":{\"values\":["
	    "{\"stringValue\":\"y\"},{\"stringValue\":\"z\"}]}}}],",
	};
	struct otelp_span *s = array_span_nasty();
	struct otelp_buf out = {0};
	char res[512];
	int rc;

	encode_json(NULL, &s, 1, &out);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(want); i++)
		ck_assert_msg(memmem(out.data, out.len, want[i], strlen(want[i])) != NULL,
		              "missing %s\nin %.*s", want[i], (int)out.len, out.data);

	/* What a strict decoder makes of it: lists of strings, [] and [""] apart. */
	rc = run_python("av=lambda v: [av(x) for x in v[\"arrayValue\"].get(\"values\", [])] "
	                "if \"arrayValue\" in v else v[\"stringValue\"]; "
	                "s=d[\"resourceSpans\"][0][\"scopeSpans\"][0][\"spans\"][0]; "
	                "print(json.dumps([[a[\"key\"], av(a[\"value\"])] for a in "
	                "s[\"attributes\"] + s[\"events\"][0][\"attributes\"] + "
	                "s[\"links\"][0][\"attributes\"]]))",
	                &out, res, sizeof(res));
	if (rc != 77) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(res,
		                 "[[\"http.request.header.accept\", [\"text/html\", "
		                 "\"application/json\"]], [\"none\", []], [\"one-empty\", [\"\"]], "
		                 "[\"after\", \"s\"], [\"gaps\", [\"a\", \"\", \"b\", \"\"]], "
		                 "[\"nasty\", [\"q\\\"\\\\\\n\", \"\\ufffd|\\u00e9\"]], "
		                 "[\"ev.arr\", [\"x\"]], [\"link.arr\", [\"y\", \"z\"]]]\n");
	}
	otelp__buf_free(&out);
	free(s);
}
END_TEST

/* ---- console ---- */

START_TEST(test_console_golden)
{
	struct otelp_resource *r = golden_resource();
	struct otelp_span *root = golden_root(), *child = golden_child(), *rc = remote_child();
	char line[1024];
	size_t n;

	n = otelp__console_format(root, r, line, sizeof(line));
	ck_assert_str_eq(line, "otelpreload span trace=0102030405060708090a0b0c0d0e0f10 "
	                       "span=1112131415161718 parent=- kind=internal name=\"op\" "
	                       "start=1000000000000000001 dur=1.999ms status=error(\"bad\") "
	                       "service=\"svc\" attrs={s=\"v\", i=-7, b=false, d=1.5} "
	                       "events=[\"ev\"] links=1\n");
	ck_assert_uint_eq(n, strlen(line));

	n = otelp__console_format(child, r, line, sizeof(line));
	ck_assert_str_eq(line, "otelpreload span trace=0102030405060708090a0b0c0d0e0f10 "
	                       "span=4142434445464748 parent=1112131415161718 kind=client "
	                       "name=\"child\" start=1000000000000500000 dur=0.100ms status=ok "
	                       "service=\"svc\" attrs={} dropped_attrs=2 dropped_events=1 "
	                       "dropped_links=1\n");
	ck_assert_uint_eq(n, strlen(line));

	n = otelp__console_format(rc, NULL, line, sizeof(line));
	ck_assert_str_eq(line, "otelpreload span trace=0102030405060708090a0b0c0d0e0f10 "
	                       "span=6162636465666768 parent=7172737475767778(remote) kind=client "
	                       "name=\"SELECT\" start=1700000000000000100 dur=0.000ms status=ok "
	                       "service=- attrs={db.system.name=\"postgresql\"}\n");
	ck_assert_uint_eq(n, strlen(line));
	free(root);
	free(child);
	free(rc);
	free(r);
}
END_TEST

START_TEST(test_console_str_array)
{
	struct otelp_span *s = array_span_nasty();
	char line[1024];

	otelp__console_format(s, NULL, line, sizeof(line));
	ck_assert_msg(strstr(line, " attrs={http.request.header.accept=[\"text/html\","
	                           "\"application/json\"], none=[], one-empty=[\"\"], after=\"s\", "
	                           "gaps=[\"a\",\"\",\"b\",\"\"], "
	                           "nasty=[\"q\\\"\\\\\\n\",\"\xef\xbf\xbd|\xc3\xa9\"]} "
	                           "events=[\"ev\"] links=1\n") != NULL,
	              "got %s", line);
	free(s);
}
END_TEST

static bool valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = otelp__utf8_seq_len((const uint8_t *)s + i, n - i);

		if (!l)
			return false;
		i += l;
	}
	return true;
}

START_TEST(test_console_one_line_and_truncation)
{
	struct otelp_resource *r = tresource();
	struct otelp_span *s =
	    tspan("multi\nline\r\"name\" \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", OTELP_KIND_SERVER, 1);
	char full[2048], line[2048];
	size_t n, total;

	tres_str(r, "service.name", "a\nb");
	tattr_str(s, OTELP_OWNER_SPAN, "k\ney", "v\nal\xff");
	tattr_double(s, OTELP_OWNER_SPAN, "nan", NAN);
	tattr_double(s, OTELP_OWNER_SPAN, "inf", -INFINITY);
	tstatus(s, OTELP_STATUS_ERROR, "x\ny");
	s->end_ns = 3;
	s->start_ns = 5; /* negative duration shows as 0 */

	total = otelp__console_format(s, r, full, sizeof(full));
	ck_assert_uint_eq(total, strlen(full));
	ck_assert_ptr_eq(strchr(full, '\n'), full + total - 1);
	ck_assert_ptr_nonnull(strstr(full, "name=\"multi\\nline\\r\\\"name\\\" "));
	ck_assert_ptr_nonnull(strstr(full, " dur=0.000ms status=error(\"x\\ny\") service=\"a\\nb\" "
	                                   "attrs={k\\ney=\"v\\nal\xef\xbf\xbd\", nan=NaN, "
	                                   "inf=-Infinity}\n"));
	ck_assert(valid_utf8(full, total));

	/* Every cap: NUL-terminated, one line, valid UTF-8, a prefix of the full line. */
	for (size_t cap = 2; cap <= total + 3; cap++) {
		memset(line, 'Q', sizeof(line));
		n = otelp__console_format(s, r, line, cap);
		ck_assert_uint_lt(n, cap);
		ck_assert_uint_eq(n, strlen(line));
		ck_assert_int_eq(line[n - 1], '\n');
		ck_assert_ptr_eq(strchr(line, '\n'), line + n - 1);
		ck_assert_int_eq(line[cap], 'Q');
		ck_assert(valid_utf8(line, n));
		if (cap > total) {
			ck_assert_str_eq(line, full);
		} else {
			size_t keep = n >= 4 ? n - 4 : 0;

			ck_assert(memcmp(line, full, keep) == 0);
			if (cap >= 5)
				ck_assert(memcmp(line + n - 4, "...\n", 4) == 0);
		}
	}
	ck_assert_uint_eq(otelp__console_format(s, r, line, 2), 1);
	ck_assert_str_eq(line, "\n");
	line[0] = 'Q';
	ck_assert_uint_eq(otelp__console_format(s, r, line, 1), 0);
	ck_assert_int_eq(line[0], '\0');
	ck_assert_uint_eq(otelp__console_format(s, r, line, 0), 0);
	free(s);
	free(r);
}
END_TEST

static Suite *otlp_suite(void)
{
	Suite *s = suite_create("otlp-encode");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, test_buf);
	tcase_add_test(tc, test_span_flags);
	tcase_add_test(tc, test_utf8_seq_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("protobuf");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pb_roundtrip);
	tcase_add_test(tc, test_pb_empty_and_null);
	tcase_add_test(tc, test_pb_invalid_utf8);
	tcase_add_test(tc, test_pb_str_array);
	tcase_add_test(tc, test_pb_big_batch);
	tcase_add_test(tc, test_pb_same_bytes_random);
	tcase_add_test(tc, test_pb_same_bytes_edges);
	tcase_add_test(tc, test_pb_same_bytes_lengths);
	tcase_add_test(tc, test_pb_long_global_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_decode_protobuf);
	tcase_add_test(tc, test_decode_json);
	tcase_add_test(tc, test_decode_json_deep);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_json_golden);
	tcase_add_test(tc, test_json_doubles);
	tcase_add_test(tc, test_json_locale);
	tcase_add_test(tc, test_json_golden_python);
	tcase_add_test(tc, test_json_nasty);
	tcase_add_test(tc, test_json_big_python);
	tcase_add_test(tc, test_json_str_array);
	suite_add_tcase(s, tc);

	tc = tcase_create("console");
	tcase_add_test(tc, test_console_golden);
	tcase_add_test(tc, test_console_str_array);
	tcase_add_test(tc, test_console_one_line_and_truncation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return otelp_check_run(otlp_suite(), false);
}
