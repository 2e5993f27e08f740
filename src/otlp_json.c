/*
 * OTLP/JSON encoding of a batch and the console exporter's one-line form of a span.
 *
 * DESIGN
 * ------
 * Both are written by hand into a "sink": a growable struct otelp_buf for JSON, a fixed
 * caller buffer for the console line (which then truncates instead of growing). No JSON
 * library, no intermediate tree: the span object is walked once.
 *
 * JSON follows the OTLP mapping of proto3 JSON (OTLP specification, "JSON Protobuf
 * Encoding"): lowerCamelCase keys, trace and span ids as lowercase hex strings, enums (kind,
 * status.code) as integers, 64-bit integers (times, intValue) as decimal strings, flags and
 * dropped counts as numbers, doubles as the shortest of %.15g/%.16g/%.17g that reads back
 * to the same value (non-finite ones as the strings "NaN", "Infinity", "-Infinity"). The
 * output is compact (no whitespace) and keys are written in .proto field order.
 *
 * Omitted (proto3 defaults, one rule everywhere): an empty traceState, the parentSpanId of a
 * root, zero dropped*Count, empty attributes/events/links/values arrays (so an empty string
 * array is {"arrayValue":{}}), and status.message unless the code is ERROR and the message is
 * not empty. Always written: ids, flags, name, kind, both times, status with its code (even
 * 0), and the resource (possibly "{}").
 *
 * Strings are escaped per RFC 8259: '"' and '\' with a backslash, \b \f \n \r \t by name,
 * other C0 controls and DEL as \u00XX; each byte of an ill-formed UTF-8 sequence becomes
 * U+FFFD, so the output is always valid JSON and valid UTF-8. Numbers are formatted under
 * the "C" locale (uselocale), whatever locale the host set.
 */
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"

/*
 * Output: buf (growable) when set; otherwise fixed[0..cap), where output past cap is cut
 * and truncated is set.
 */
struct sink {
	struct otelp_buf *buf;
	char *fixed;
	size_t len;
	size_t cap;
	bool truncated;
	int err;
};

static void put(struct sink *k, const void *p, size_t n)
{
	if (k->buf) {
		if (!k->err && otelp__buf_append(k->buf, p, n))
			k->err = -ENOMEM;
		return;
	}
	if (k->truncated)
		return;
	if (n > k->cap - k->len) {
		n = k->cap - k->len;
		k->truncated = true;
	}
	memcpy(k->fixed + k->len, p, n);
	k->len += n;
}

static void put_lit(struct sink *k, const char *s)
{
	put(k, s, strlen(s));
}

static void put_u64(struct sink *k, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	put(k, tmp, (size_t)n);
}

static void put_i64(struct sink *k, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

	put(k, tmp, (size_t)n);
}

/* A 64-bit integer the proto3 JSON way: a decimal string. */
static void put_u64_str(struct sink *k, uint64_t v)
{
	put(k, "\"", 1);
	put_u64(k, v);
	put(k, "\"", 1);
}

static void put_i64_str(struct sink *k, int64_t v)
{
	put(k, "\"", 1);
	put_i64(k, v);
	put(k, "\"", 1);
}

static void put_hex(struct sink *k, const uint8_t *p, size_t n)
{
	char tmp[32];

	otelp__hex_encode(tmp, p, n);
	put(k, tmp, 2 * n);
}

/* The contents of a JSON string (no quotes): escaped, made valid UTF-8. */
static void put_escaped(struct sink *k, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)str;
	size_t run = 0; /* start of the bytes not written yet */

	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		char esc[6];
		size_t l;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			l = otelp__utf8_seq_len(p + i, n - i);
			if (l) {
				i += l;
				continue;
			}
		}
		put(k, p + run, i - run);
		switch (c) {
		case '"':
			put_lit(k, "\\\"");
			break;
		case '\\':
			put_lit(k, "\\\\");
			break;
		case '\b':
			put_lit(k, "\\b");
			break;
		case '\f':
			put_lit(k, "\\f");
			break;
		case '\n':
			put_lit(k, "\\n");
			break;
		case '\r':
			put_lit(k, "\\r");
			break;
		case '\t':
			put_lit(k, "\\t");
			break;
		default:
			if (c >= 0x80) {
				put_lit(k, "\xef\xbf\xbd"); /* U+FFFD */
				break;
			}
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			put(k, esc, sizeof(esc));
			break;
		}
		i++;
		run = i;
	}
	put(k, p + run, n - run);
}

static void put_qstr(struct sink *k, const char *p, size_t n)
{
	put(k, "\"", 1);
	put_escaped(k, p, n);
	put(k, "\"", 1);
}

static void put_qsref(struct sink *k, const struct otelp_span *s, struct otelp_sref r)
{
	const char *p;
	size_t n = otelp__sref_get(s, r, &p);

	put_qstr(k, p, n);
}

/*
 * A finite double, shortest form that reads back to d, under the "C" locale. glibc returns
 * its static C locale object for this newlocale() call, so it costs no allocation there.
 */
static void put_finite_double(struct sink *k, double d)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	locale_t old = c ? uselocale(c) : (locale_t)0;
	char tmp[40];
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (c) {
		uselocale(old);
		freelocale(c);
	} else {
		/* No C locale object: at least undo a decimal comma. */
		char *comma = strchr(tmp, ',');
		if (comma)
			*comma = '.';
	}
	put(k, tmp, (size_t)n);
}

/* A double; non-finite values as proto3 JSON strings (quoted) or bare words (console). */
static void put_double(struct sink *k, double d, bool quote_special)
{
	const char *special = NULL;

	if (isnan(d))
		special = "NaN";
	else if (isinf(d))
		special = d > 0 ? "Infinity" : "-Infinity";
	if (!special) {
		put_finite_double(k, d);
		return;
	}
	if (quote_special)
		put(k, "\"", 1);
	put_lit(k, special);
	if (quote_special)
		put(k, "\"", 1);
}

/*
 * The elements of a string-array attribute as quoted strings between before and after,
 * separated by sep.
 */
static void put_str_array(struct sink *k, const struct otelp_span *s, const struct otelp_attr *a,
                          const char *before, const char *sep, const char *after)
{
	struct otelp_strarr_iter it;
	const char *p;
	size_t len;
	bool first = true;

	otelp__strarr_begin(s, a, &it);
	while (otelp__strarr_next(&it, &p, &len)) {
		put_lit(k, first ? before : sep);
		first = false;
		put_qstr(k, p, len);
	}
	if (!first)
		put_lit(k, after);
}

/* ---- OTLP/JSON ---- */

/* {"key":...,"value":{"<type>Value":...}} for one span, event or link attribute. */
static void json_attr(struct sink *k, const struct otelp_span *s, const struct otelp_attr *a)
{
	put_lit(k, "{\"key\":");
	put_qsref(k, s, a->key);
	switch (a->type) {
	case OTELP_ATTR_STRING:
		put_lit(k, ",\"value\":{\"stringValue\":");
		put_qsref(k, s, a->v.s);
		break;
	case OTELP_ATTR_BOOL:
		put_lit(k, a->v.b ? ",\"value\":{\"boolValue\":true"
		                  : ",\"value\":{\"boolValue\":false");
		break;
	case OTELP_ATTR_INT:
		put_lit(k, ",\"value\":{\"intValue\":");
		put_i64_str(k, a->v.i);
		break;
	case OTELP_ATTR_DOUBLE:
		put_lit(k, ",\"value\":{\"doubleValue\":");
		put_double(k, a->v.d, true);
		break;
	case OTELP_ATTR_STRING_ARRAY:
		/* An empty array has no "values" (a proto3 default), as in ArrayValue{}. */
		put_lit(k, ",\"value\":{\"arrayValue\":{");
		put_str_array(k, s, a,
		              "\"values\":[{\"stringValue\":", "},{\"stringValue\":", "}]");
		put(k, "}", 1);
		break;
	}
	put_lit(k, "}}");
}

/*
 * ,"attributes":[...] with the attributes of one owner, in order; nothing when it has none.
 * Never the first member of its object, hence the leading comma.
 */
static void json_attrs(struct sink *k, const struct otelp_span *s, unsigned owner)
{
	bool first = true;

	for (size_t i = 0; i < otelp__span_n_attrs(s); i++) {
		const struct otelp_attr *a = &s->attrs[i];

		if (a->owner != owner || a->type > OTELP_ATTR_STRING_ARRAY)
			continue;
		put_lit(k, first ? ",\"attributes\":[" : ",");
		first = false;
		json_attr(k, s, a);
	}
	if (!first)
		put(k, "]", 1);
}

static void json_count(struct sink *k, const char *member, uint32_t v)
{
	if (!v)
		return;
	put_lit(k, member);
	put_u64(k, v);
}

static void json_resource(struct sink *k, const struct otelp_resource *r)
{
	unsigned n = r ? (r->n < OTELP_RESOURCE_MAX ? r->n : OTELP_RESOURCE_MAX) : 0;

	put_lit(k, "\"resource\":{");
	for (unsigned i = 0; i < n; i++) {
		const struct otelp_resource_attr *a = &r->attrs[i];

		put_lit(k, i ? "," : "\"attributes\":[");
		put_lit(k, "{\"key\":");
		put_qstr(k, a->key, strnlen(a->key, sizeof(a->key)));
		if (a->is_int) {
			put_lit(k, ",\"value\":{\"intValue\":");
			put_i64_str(k, a->ival);
		} else {
			put_lit(k, ",\"value\":{\"stringValue\":");
			put_qstr(k, a->value, strnlen(a->value, sizeof(a->value)));
		}
		put_lit(k, "}}");
	}
	if (n)
		put(k, "]", 1);
	put(k, "}", 1);
}

static void json_span(struct sink *k, const struct otelp_span *s)
{
	const char *ts;

	put_lit(k, "{\"traceId\":\"");
	put_hex(k, s->trace_id, sizeof(s->trace_id));
	put_lit(k, "\",\"spanId\":\"");
	put_hex(k, s->span_id, sizeof(s->span_id));
	put(k, "\"", 1);
	if (otelp__sref_get(s, s->tracestate, &ts)) {
		put_lit(k, ",\"traceState\":");
		put_qsref(k, s, s->tracestate);
	}
	if (s->has_parent) {
		put_lit(k, ",\"parentSpanId\":\"");
		put_hex(k, s->parent_span_id, sizeof(s->parent_span_id));
		put(k, "\"", 1);
	}
	put_lit(k, ",\"flags\":");
	put_u64(k, otelp__otlp_span_flags(s));
	put_lit(k, ",\"name\":");
	put_qsref(k, s, s->name);
	put_lit(k, ",\"kind\":");
	put_u64(k, s->kind);
	put_lit(k, ",\"startTimeUnixNano\":");
	put_u64_str(k, s->start_ns);
	put_lit(k, ",\"endTimeUnixNano\":");
	put_u64_str(k, s->end_ns);
	json_attrs(k, s, OTELP_OWNER_SPAN);
	json_count(k, ",\"droppedAttributesCount\":", s->dropped_attrs);

	for (size_t i = 0; i < otelp__span_n_events(s); i++) {
		const struct otelp_event *e = &s->events[i];

		put_lit(k, i ? ",{\"timeUnixNano\":" : ",\"events\":[{\"timeUnixNano\":");
		put_u64_str(k, e->time_ns);
		put_lit(k, ",\"name\":");
		put_qsref(k, s, e->name);
		json_attrs(k, s, OTELP_OWNER_EVENT(i));
		json_count(k, ",\"droppedAttributesCount\":", e->dropped_attrs);
		put(k, "}", 1);
	}
	if (otelp__span_n_events(s))
		put(k, "]", 1);
	json_count(k, ",\"droppedEventsCount\":", s->dropped_events);

	for (size_t i = 0; i < otelp__span_n_links(s); i++) {
		const struct otelp_link *l = &s->links[i];

		put_lit(k, i ? ",{\"traceId\":\"" : ",\"links\":[{\"traceId\":\"");
		put_hex(k, l->trace_id, sizeof(l->trace_id));
		put_lit(k, "\",\"spanId\":\"");
		put_hex(k, l->span_id, sizeof(l->span_id));
		put(k, "\"", 1);
		if (otelp__sref_get(s, l->tracestate, &ts)) {
			put_lit(k, ",\"traceState\":");
			put_qsref(k, s, l->tracestate);
		}
		json_attrs(k, s, OTELP_OWNER_LINK(i));
		json_count(k, ",\"droppedAttributesCount\":", l->dropped_attrs);
		put_lit(k, ",\"flags\":");
		put_u64(k, otelp__otlp_link_flags(l));
		put(k, "}", 1);
	}
	if (otelp__span_n_links(s))
		put(k, "]", 1);
	json_count(k, ",\"droppedLinksCount\":", s->dropped_links);

	put_lit(k, ",\"status\":{\"code\":");
	put_u64(k, s->status);
	if (s->status == OTELP_STATUS_ERROR && otelp__sref_get(s, s->status_msg, &ts)) {
		put_lit(k, ",\"message\":");
		put_qsref(k, s, s->status_msg);
	}
	put_lit(k, "}}");
}

int otelp__otlp_encode_json(const struct otelp_resource *r, struct otelp_span *const *spans,
                            size_t n, struct otelp_buf *out)
{
	struct sink k = {.buf = out};
	bool first = true;

	out->off = 0;
	out->len = 0;
	if (n && !spans)
		return -EINVAL;
	put_lit(&k, "{\"resourceSpans\":[{");
	json_resource(&k, r);
	put_lit(&k, ",\"scopeSpans\":[{\"scope\":{\"name\":");
	put_qstr(&k, OTELP_SCOPE_NAME, strlen(OTELP_SCOPE_NAME));
	put_lit(&k, ",\"version\":");
	put_qstr(&k, OTELP_SDK_VERSION, strlen(OTELP_SDK_VERSION));
	put_lit(&k, "},\"spans\":[");
	for (size_t i = 0; i < n; i++) {
		if (!spans[i])
			continue;
		if (!first)
			put(&k, ",", 1);
		first = false;
		json_span(&k, spans[i]);
	}
	put_lit(&k, "],\"schemaUrl\":");
	put_qstr(&k, OTELP_SCHEMA_URL, strlen(OTELP_SCHEMA_URL));
	put_lit(&k, "}],\"schemaUrl\":");
	put_qstr(&k, OTELP_SCHEMA_URL, strlen(OTELP_SCHEMA_URL));
	put_lit(&k, "}]}");
	if (k.err)
		out->len = 0;
	return k.err;
}

/* ---- console exporter ---- */

/*
 * The console line, one per span and always exactly one line:
 *
 *   otelpreload span trace=<32 hex> span=<16 hex> parent=<16 hex>[(remote)]|- kind=<kind>
 *   name="<name>" start=<unix ns> dur=<ms>.<3 digits>ms status=unset|ok|error[("<message>")]
 *   service="<service.name>"|- attrs={<key>=<value>, ...}[ events=["<name>", ...]]
 *   [ links=<n>][ dropped_attrs=<n>][ dropped_events=<n>][ dropped_links=<n>]\n
 *
 * (wrapped here; one space between fields). kind is internal, server, client, producer or
 * consumer (the number when unknown). Attribute values: strings quoted, integers in decimal,
 * true/false, doubles in their shortest exact form (NaN, Infinity, -Infinity bare), string
 * arrays as ["a","b"] (no spaces). Keys and strings are escaped as in JSON, so a newline in a
 * value shows as \n and never breaks the line. dur is end - start, 0 when negative. A line
 * that does not fit in cap is cut at a character boundary and ends with "...\n".
 */

static const char *const kind_names[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};

static void console_value(struct sink *k, const struct otelp_span *s, const struct otelp_attr *a)
{
	switch (a->type) {
	case OTELP_ATTR_STRING:
		put_qsref(k, s, a->v.s);
		break;
	case OTELP_ATTR_BOOL:
		put_lit(k, a->v.b ? "true" : "false");
		break;
	case OTELP_ATTR_INT:
		put_i64(k, a->v.i);
		break;
	case OTELP_ATTR_DOUBLE:
		put_double(k, a->v.d, false);
		break;
	case OTELP_ATTR_STRING_ARRAY:
		put(k, "[", 1);
		put_str_array(k, s, a, "", ",", "");
		put(k, "]", 1);
		break;
	}
}

static void console_service(struct sink *k, const struct otelp_resource *r)
{
	unsigned n = r ? (r->n < OTELP_RESOURCE_MAX ? r->n : OTELP_RESOURCE_MAX) : 0;

	for (unsigned i = 0; i < n; i++) {
		const struct otelp_resource_attr *a = &r->attrs[i];

		if (strncmp(a->key, "service.name", sizeof(a->key)) != 0)
			continue;
		if (a->is_int)
			put_i64(k, a->ival);
		else
			put_qstr(k, a->value, strnlen(a->value, sizeof(a->value)));
		return;
	}
	put(k, "-", 1);
}

static void console_count(struct sink *k, const char *field, uint32_t v)
{
	if (!v)
		return;
	put_lit(k, field);
	put_u64(k, v);
}

size_t otelp__console_format(const struct otelp_span *s, const struct otelp_resource *r, char *out,
                             size_t cap)
{
	struct sink k = {0};
	uint64_t dur = s->end_ns >= s->start_ns ? s->end_ns - s->start_ns : 0;
	char tmp[48];
	bool first = true;
	int n;

	if (!out || cap == 0)
		return 0;
	if (cap < 2) {
		out[0] = '\0';
		return 0;
	}
	k.fixed = out;
	k.cap = cap - 2; /* room for '\n' and NUL */

	put_lit(&k, "otelpreload span trace=");
	put_hex(&k, s->trace_id, sizeof(s->trace_id));
	put_lit(&k, " span=");
	put_hex(&k, s->span_id, sizeof(s->span_id));
	put_lit(&k, " parent=");
	if (s->has_parent) {
		put_hex(&k, s->parent_span_id, sizeof(s->parent_span_id));
		if (s->parent_remote)
			put_lit(&k, "(remote)");
	} else {
		put(&k, "-", 1);
	}
	put_lit(&k, " kind=");
	if (s->kind < OTELP_ARRAY_SIZE(kind_names))
		put_lit(&k, kind_names[s->kind]);
	else
		put_u64(&k, s->kind);
	put_lit(&k, " name=");
	put_qsref(&k, s, s->name);
	put_lit(&k, " start=");
	put_u64(&k, s->start_ns);
	n = snprintf(tmp, sizeof(tmp), " dur=%" PRIu64 ".%03" PRIu64 "ms", dur / 1000000,
	             dur / 1000 % 1000);
	put(&k, tmp, (size_t)n);
	switch (s->status) {
	case OTELP_STATUS_UNSET:
		put_lit(&k, " status=unset");
		break;
	case OTELP_STATUS_OK:
		put_lit(&k, " status=ok");
		break;
	case OTELP_STATUS_ERROR:
		put_lit(&k, " status=error");
		if (s->status_msg.len) {
			put(&k, "(", 1);
			put_qsref(&k, s, s->status_msg);
			put(&k, ")", 1);
		}
		break;
	default:
		put_lit(&k, " status=");
		put_u64(&k, s->status);
		break;
	}
	put_lit(&k, " service=");
	console_service(&k, r);

	put_lit(&k, " attrs={");
	for (size_t i = 0; i < otelp__span_n_attrs(s); i++) {
		const struct otelp_attr *a = &s->attrs[i];
		const char *p;
		size_t len;

		if (a->owner != OTELP_OWNER_SPAN || a->type > OTELP_ATTR_STRING_ARRAY)
			continue;
		if (!first)
			put_lit(&k, ", ");
		first = false;
		len = otelp__sref_get(s, a->key, &p);
		put_escaped(&k, p, len);
		put(&k, "=", 1);
		console_value(&k, s, a);
	}
	put(&k, "}", 1);

	for (size_t i = 0; i < otelp__span_n_events(s); i++) {
		put_lit(&k, i ? ", " : " events=[");
		put_qsref(&k, s, s->events[i].name);
	}
	if (otelp__span_n_events(s))
		put(&k, "]", 1);
	console_count(&k, " links=", (uint32_t)otelp__span_n_links(s));
	console_count(&k, " dropped_attrs=", s->dropped_attrs);
	console_count(&k, " dropped_events=", s->dropped_events);
	console_count(&k, " dropped_links=", s->dropped_links);

	if (k.truncated) {
		size_t cut = k.len > 3 ? k.len - 3 : 0;
		size_t dots = k.cap - cut < 3 ? k.cap - cut : 3;

		/* out[cut] is the first byte given up: do not keep the head of its sequence. */
		while (cut > 0 && (out[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(out + cut, "...", dots);
		k.len = cut + dots;
	}
	out[k.len++] = '\n';
	out[k.len] = '\0';
	return k.len;
}
