/*
 * otel-preload view FILE: the spans of an OTLP JSON lines file as trace trees in the terminal,
 * or as one self-contained HTML page (html.c).
 *
 * DESIGN
 * ------
 * Input: one ExportTraceServiceRequest in OTLP/JSON per line, as the file exporter writes
 * it; many processes may append to one file, so spans are grouped by traceId across all
 * lines. Each line is parsed on its own with json-c (a line that does not parse, e.g. the
 * partial last line of a file still being written, is skipped and counted: one warning at
 * the end). The proto3 JSON variants are accepted: 64-bit integers as strings or numbers,
 * enums as integers or names, ids as hex (OTLP) or base64 (plain proto3 JSON).
 *
 * Model: every line's json tree is kept until the end and a struct otelp_vspan points into
 * it (name, attributes, events, links, resource, scope), so nothing is copied twice and the
 * HTML page can show everything. Spans are sorted by (traceId, start): each run is a trace.
 * A trace is laid out once (layout()): parents are found by spanId (sorted index, binary
 * search); children are linked in start order; spans whose parent is not in the file become
 * roots marked "orphan"; a parent chain that loops is cut at a span of the loop, marked. The
 * walk is iterative (no recursion on the file's depth) and drawn depth is bounded, so a
 * hostile file can make the output long but not crash the tool. Both renderers use the same
 * rows (tree order, depth, tree drawing).
 *
 * Terminal: traces most recent first (by their earliest start), --limit of them (default
 * 10, 0 for all). One header line per trace, then one row per span: error marker, tree and
 * name, service, kind, start offset, duration and a bar on a 40-column timeline; under it
 * the key attributes, the error (status message, error.type, db.response.status_code, an
 * exception event) and the orphan note. Text from the file is sanitised (control characters
 * become '?') so a span name cannot drive the terminal. Colour (ANSI) only when the output
 * is a terminal and NO_COLOR is unset, or with --color=always; errors are also marked with
 * '!' and "ERROR" so they show without colour.
 *
 * Memory: all arrays grow as needed; allocation failure ends the tool with a message (this
 * is a command-line tool, not the preload's hot path).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools.h"
#include "view.h"

#define PROG            "otel-preload view"
#define DEFAULT_LIMIT   10
#define TIMELINE_COLS   40
#define NAME_COL_MAX    56 /* columns for tree + span name */
#define SERVICE_COL_MAX 20
#define DRAW_DEPTH_MAX  12 /* deeper levels are summarised in the tree drawing: "[depth]" */
#define NAME_MIN        16 /* a deep row overflows its column rather than lose its name */
#define JSON_DEPTH_MAX  256
#define QUERY_TEXT_MAX  80
#define URL_MAX         100
#define NONE            ((size_t)-1)

/* ---- memory ---- */

void otelp_view_oom(void)
{
	fputs(PROG ": out of memory\n", stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		otelp_view_oom();
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		otelp_view_oom();
	return p;
}

/* Grows *p (elements of size) so that it holds at least need elements. */
static void grow(void *pp, size_t *cap, size_t need, size_t size)
{
	void **p = pp;
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			otelp_view_oom();
		c *= 2;
	}
	*p = xrealloc(*p, c * size);
	*cap = c;
}

void otelp_sbuf_put(struct otelp_sbuf *b, const char *s, size_t n)
{
	grow(&b->p, &b->cap, b->len + n + 1, 1);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void otelp_sbuf_puts(struct otelp_sbuf *b, const char *s)
{
	if (s)
		otelp_sbuf_put(b, s, strlen(s));
}

void otelp_sbuf_printf(struct otelp_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	grow(&b->p, &b->cap, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void otelp_sbuf_free(struct otelp_sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *otelp_sbuf_str(const struct otelp_sbuf *b)
{
	return b->p ? b->p : "";
}

/* ---- formatting shared with html.c ---- */

const char *otelp_view_kind_name(int kind)
{
	static const char *const names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
	                                    "CLIENT",      "PRODUCER", "CONSUMER"};

	return kind >= 0 && kind <= 5 ? names[kind] : "?";
}

const char *otelp_view_status_name(int status)
{
	switch (status) {
	case OTELP_VSTATUS_UNSET:
		return "UNSET";
	case OTELP_VSTATUS_OK:
		return "OK";
	case OTELP_VSTATUS_ERROR:
		return "ERROR";
	}
	return "?";
}

/* Three significant digits: 1.23ms, 12.3ms, 123ms; whole nanoseconds below 1µs. */
const char *otelp_view_fmt_dur(char *buf, size_t size, uint64_t ns)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}};
	double v;
	size_t i;

	if (ns < 1000) {
		snprintf(buf, size, "%" PRIu64 "ns", ns);
		return buf;
	}
	for (i = 0; i < 2 && (double)ns < units[i].scale; i++)
		;
	v = (double)ns / units[i].scale;
	/* Rounding may carry into the next unit: 999.6µs prints as 1.00ms. */
	if (i > 0 && v >= 999.5) {
		i--;
		v = (double)ns / units[i].scale;
	}
	if (v < 9.995)
		snprintf(buf, size, "%.2f%s", v, units[i].unit);
	else if (v < 99.95)
		snprintf(buf, size, "%.1f%s", v, units[i].unit);
	else
		snprintf(buf, size, "%.0f%s", v, units[i].unit);
	return buf;
}

const char *otelp_view_fmt_time(char *buf, size_t size, uint64_t unix_ns)
{
	time_t sec = (time_t)(unix_ns / 1000000000u);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, size, "%" PRIu64 "ns", unix_ns);
		return buf;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         unix_ns % 1000000000u);
	return buf;
}

/* ---- json helpers ---- */

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static struct json_object *member_type(struct json_object *o, const char *key, json_type t)
{
	struct json_object *v = member(o, key);

	return v && json_object_is_type(v, t) ? v : NULL;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member_type(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

uint64_t otelp_view_u64(struct json_object *o)
{
	const char *s;
	char *end;
	unsigned long long v;

	if (!o)
		return 0;
	switch (json_object_get_type(o)) {
	case json_type_int:
		return json_object_get_uint64(o);
	case json_type_double: {
		double d = json_object_get_double(o);

		return d > 0 && d < 18446744073709551615.0 ? (uint64_t)d : 0;
	}
	case json_type_string:
		s = json_object_get_string(o);
		if (!s || !isdigit((unsigned char)*s))
			return 0;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end)
			return 0;
		return v;
	default:
		return 0;
	}
}

struct json_object *otelp_view_attrs(struct json_object *obj)
{
	return member_type(obj, "attributes", json_type_array);
}

bool otelp_view_kv(struct json_object *kv, const char **key, struct json_object **value)
{
	const char *k = member_str(kv, "key");

	if (!k)
		return false;
	*key = k;
	*value = member(kv, "value");
	return true;
}

/* The AnyValue of attribute key in the attributes of obj, or NULL. */
static struct json_object *attr_value(struct json_object *obj, const char *key)
{
	struct json_object *a = otelp_view_attrs(obj);
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *k;
		struct json_object *v;

		if (otelp_view_kv(json_object_array_get_idx(a, i), &k, &v) && !strcmp(k, key))
			return v;
	}
	return NULL;
}

static void quoted(struct otelp_sbuf *b, const char *s)
{
	otelp_sbuf_put(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			otelp_sbuf_put(b, "\\", 1);
		otelp_sbuf_put(b, s, 1);
	}
	otelp_sbuf_put(b, "\"", 1);
}

/* An AnyValue; inside an array or kvlist (nested), strings are quoted. */
static void value_text(struct otelp_sbuf *b, struct json_object *value, bool nested)
{
	struct json_object *v;

	if ((v = member(value, "stringValue"))) {
		const char *s = json_object_get_string(v);

		if (nested)
			quoted(b, s ? s : "");
		else
			otelp_sbuf_puts(b, s ? s : "");
	} else if ((v = member(value, "boolValue"))) {
		otelp_sbuf_puts(b, json_object_get_boolean(v) ? "true" : "false");
	} else if ((v = member(value, "intValue"))) {
		const char *s = json_object_get_string(v);

		otelp_sbuf_puts(b, s ? s : "0");
	} else if ((v = member(value, "doubleValue"))) {
		/* json-c keeps a parsed number's text: 0.1 stays "0.1". */
		otelp_sbuf_puts(b, json_object_get_string(v));
	} else if ((v = member(value, "bytesValue"))) {
		otelp_sbuf_puts(b, "base64:");
		otelp_sbuf_puts(b, json_object_get_string(v));
	} else if ((v = member(value, "arrayValue"))) {
		struct json_object *a = member_type(v, "values", json_type_array);
		size_t n = a ? json_object_array_length(a) : 0;

		otelp_sbuf_put(b, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				otelp_sbuf_put(b, ", ", 2);
			value_text(b, json_object_array_get_idx(a, i), true);
		}
		otelp_sbuf_put(b, "]", 1);
	} else if ((v = member(value, "kvlistValue"))) {
		struct json_object *a = member_type(v, "values", json_type_array);
		size_t n = a ? json_object_array_length(a) : 0;
		bool first = true;

		otelp_sbuf_put(b, "{", 1);
		for (size_t i = 0; i < n; i++) {
			const char *k;
			struct json_object *kv;

			if (!otelp_view_kv(json_object_array_get_idx(a, i), &k, &kv))
				continue;
			if (!first)
				otelp_sbuf_put(b, ", ", 2);
			first = false;
			otelp_sbuf_puts(b, k);
			otelp_sbuf_put(b, ": ", 2);
			value_text(b, kv, true);
		}
		otelp_sbuf_put(b, "}", 1);
	} else {
		otelp_sbuf_puts(b, nested ? "null" : "");
	}
}

void otelp_view_value_text(struct otelp_sbuf *b, struct json_object *value)
{
	value_text(b, value, false);
}

/* ---- ids ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * An id of n bytes (8 or 16) as hex (OTLP/JSON) or base64 (proto3 JSON bytes) into out
 * (2n+1 bytes, lowercase hex). False when it is neither or all zero.
 */
static bool parse_id(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t bytes[16];
	size_t len = s ? strlen(s) : 0, got = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool nonzero = false;

	if (len == 2 * n && strspn(s, "0123456789abcdefABCDEF") == len) {
		for (size_t i = 0; i < len; i++) {
			out[i] = (char)tolower((unsigned char)s[i]);
			nonzero |= out[i] != '0';
		}
		out[len] = '\0';
		return nonzero;
	}
	while (len && s[len - 1] == '=')
		len--;
	if (len != (4 * n + 2) / 3)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (got == n)
				return false;
			bytes[got++] = (uint8_t)(acc >> bits);
		}
	}
	if (got != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
		nonzero |= bytes[i] != 0;
	}
	out[2 * n] = '\0';
	return nonzero;
}

/* An enum given as an integer or by name (prefix + suffix names, suffix alone also taken). */
static int parse_enum(struct json_object *o, const char *prefix, const char *const *names, int n)
{
	const char *s;
	size_t pl = strlen(prefix);

	if (!o)
		return 0;
	if (json_object_is_type(o, json_type_int))
		return json_object_get_int(o);
	if (!json_object_is_type(o, json_type_string))
		return 0;
	s = json_object_get_string(o);
	if (!strncasecmp(s, prefix, pl))
		s += pl;
	for (int i = 0; i < n; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	if (isdigit((unsigned char)*s))
		return atoi(s);
	return 0;
}

/* ---- loading ---- */

struct model {
	struct json_object **lines; /* parsed lines, kept until the end */
	size_t n_lines, cap_lines;
	struct otelp_vspan *spans;
	size_t n_spans, cap_spans;
	size_t bad_lines, first_bad_line;
	bool last_line_partial; /* the file does not end with a newline and that line failed */
	size_t bad_spans, first_bad_span_line;
	struct otelp_vspan **order; /* spans by trace id, then start */
	struct otelp_vtrace *traces;
	size_t n_traces;
};

static void bad_span(struct model *m, size_t line)
{
	if (!m->bad_spans++)
		m->first_bad_span_line = line;
}

static void add_span(struct model *m, struct json_object *sp, struct json_object *resource,
                     struct json_object *scope, const char *service, size_t line)
{
	static const char *const kinds[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
	                                    "CLIENT",      "PRODUCER", "CONSUMER"};
	static const char *const codes[] = {"UNSET", "OK", "ERROR"};
	struct otelp_vspan *s;
	struct json_object *status;
	const char *parent;

	if (!json_object_is_type(sp, json_type_object)) {
		bad_span(m, line);
		return;
	}
	grow(&m->spans, &m->cap_spans, m->n_spans + 1, sizeof(*m->spans));
	s = &m->spans[m->n_spans];
	memset(s, 0, sizeof(*s));
	if (!parse_id(member_str(sp, "traceId"), 16, s->trace_id) ||
	    !parse_id(member_str(sp, "spanId"), 8, s->span_id)) {
		bad_span(m, line);
		return;
	}
	parent = member_str(sp, "parentSpanId");
	if (!parent || !parse_id(parent, 8, s->parent_id))
		s->parent_id[0] = '\0';
	s->name = member_str(sp, "name");
	if (!s->name)
		s->name = "";
	s->service = service;
	s->kind = parse_enum(member(sp, "kind"), "SPAN_KIND_", kinds, 6);
	s->start_ns = otelp_view_u64(member(sp, "startTimeUnixNano"));
	s->end_ns = otelp_view_u64(member(sp, "endTimeUnixNano"));
	if (s->end_ns < s->start_ns)
		s->end_ns = s->start_ns;
	status = member_type(sp, "status", json_type_object);
	s->status = parse_enum(member(status, "code"), "STATUS_CODE_", codes, 3);
	s->status_msg = member_str(status, "message");
	if (!s->status_msg)
		s->status_msg = "";
	s->span = sp;
	s->resource = resource;
	s->scope = scope;
	s->line = line;
	m->n_spans++;
}

/* One ExportTraceServiceRequest. False when it is not one. */
static bool add_request(struct model *m, struct json_object *req, size_t line)
{
	struct json_object *rss;
	size_t n;

	if (!json_object_is_type(req, json_type_object))
		return false;
	rss = member(req, "resourceSpans");
	if (!rss)
		return true; /* an empty request */
	if (!json_object_is_type(rss, json_type_array))
		return false;
	n = json_object_array_length(rss);
	for (size_t i = 0; i < n; i++) {
		struct json_object *rs = json_object_array_get_idx(rss, i);
		struct json_object *res = member_type(rs, "resource", json_type_object);
		struct json_object *sss = member_type(rs, "scopeSpans", json_type_array);
		struct json_object *svc = attr_value(res, "service.name");
		const char *service =
		    svc ? json_object_get_string(member(svc, "stringValue")) : NULL;
		size_t nss;

		if (!sss) /* the name before OTLP 1.0 */
			sss = member_type(rs, "instrumentationLibrarySpans", json_type_array);
		if (!service || !*service)
			service = "unknown_service";
		nss = sss ? json_object_array_length(sss) : 0;
		for (size_t j = 0; j < nss; j++) {
			struct json_object *ss = json_object_array_get_idx(sss, j);
			struct json_object *scope = member_type(ss, "scope", json_type_object);
			struct json_object *spans = member_type(ss, "spans", json_type_array);
			size_t nsp = spans ? json_object_array_length(spans) : 0;

			if (!scope)
				scope = member_type(ss, "instrumentationLibrary", json_type_object);
			for (size_t k = 0; k < nsp; k++)
				add_span(m, json_object_array_get_idx(spans, k), res, scope,
				         service, line);
		}
	}
	return true;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* Reads every line of f. Returns 0, or -1 on a read error (errno set). */
static int load(struct model *m, FILE *f)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t got;
	int rc = 0;

	if (!tok)
		otelp_view_oom();
	while ((got = getline(&line, &cap, f)) >= 0) {
		size_t n = (size_t)got;
		bool newline = n && line[n - 1] == '\n';
		struct json_object *o;
		size_t end;

		lineno++;
		if (blank(line, n))
			continue;
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, line, (int)(n > INT32_MAX ? INT32_MAX : n));
		end = json_tokener_get_parse_end(tok);
		if (!o || json_tokener_get_error(tok) != json_tokener_success || n > INT32_MAX ||
		    !blank(line + end, n - end) || !add_request(m, o, lineno)) {
			json_object_put(o);
			if (!m->bad_lines++)
				m->first_bad_line = lineno;
			m->last_line_partial = !newline;
			continue;
		}
		grow(&m->lines, &m->cap_lines, m->n_lines + 1, sizeof(*m->lines));
		m->lines[m->n_lines++] = o;
	}
	if (ferror(f))
		rc = -1;
	free(line);
	json_tokener_free(tok);
	return rc;
}

/* ---- traces ---- */

static int cmp_span(const void *a, const void *b)
{
	const struct otelp_vspan *x = *(struct otelp_vspan *const *)a;
	const struct otelp_vspan *y = *(struct otelp_vspan *const *)b;
	int c = strcmp(x->trace_id, y->trace_id);

	if (c)
		return c;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->end_ns != y->end_ns) /* the enclosing span first */
		return x->end_ns > y->end_ns ? -1 : 1;
	c = strcmp(x->span_id, y->span_id);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Most recent first; ties by id so the order is stable. */
static int cmp_trace(const void *a, const void *b)
{
	const struct otelp_vtrace *x = *(struct otelp_vtrace *const *)a;
	const struct otelp_vtrace *y = *(struct otelp_vtrace *const *)b;

	if (x->start_ns != y->start_ns)
		return x->start_ns > y->start_ns ? -1 : 1;
	return strcmp(x->trace_id, y->trace_id);
}

struct byid {
	const char *id;
	size_t idx;
};

static int cmp_byid(const void *a, const void *b)
{
	const struct byid *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first span (lowest index) with id, or NONE. */
static size_t find_id(const struct byid *ix, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp(ix[lo].id, id) ? ix[lo].idx : NONE;
}

/* The tree drawing of a row: levels 1..depth of last[] ("is the last child"). */
static char *draw(const bool *last, size_t depth, bool own, bool has_children)
{
	struct otelp_sbuf b = {0};
	size_t from = 1;

	if (depth > DRAW_DEPTH_MAX) {
		from = depth - DRAW_DEPTH_MAX + 1;
		otelp_sbuf_printf(&b, "[%zu]", depth);
	}
	for (size_t l = from; l <= depth; l++) {
		if (own && l == depth)
			otelp_sbuf_puts(&b, last[l] ? "└─ " : "├─ ");
		else
			otelp_sbuf_puts(&b, last[l] ? "   " : "│  ");
	}
	if (!own)
		otelp_sbuf_puts(&b, has_children ? "│  " : "   ");
	else if (!b.p)
		otelp_sbuf_puts(&b, "");
	return b.p;
}

/* The links of one trace's spans, by index in t->spans; NONE for none. */
struct tree {
	struct otelp_vtrace *t;
	size_t *parent, *first, *lastc, *next;
	size_t *node; /* the walk's path from the root */
	bool *visited, *orphan, *cycle;
	bool *last; /* per level of the path: that node is the last of its siblings */
	size_t nrows;
};

/* Appends the rows of the subtree of r, depth first, without recursion. */
static void walk(struct tree *k, size_t r)
{
	size_t d = 0;

	k->node[0] = r;
	k->last[0] = true;
	for (;;) {
		size_t cur = k->node[d];
		struct otelp_vrow *row = &k->t->rows[k->nrows++];

		k->visited[cur] = true;
		row->s = k->t->spans[cur];
		row->depth = d;
		row->orphan = k->orphan[cur];
		row->cycle = k->cycle[cur];
		row->has_children = k->first[cur] != NONE;
		row->prefix = draw(k->last, d, true, false);
		row->cont = draw(k->last, d, false, row->has_children);
		if (k->first[cur] != NONE) {
			k->node[++d] = k->first[cur];
			k->last[d] = k->next[k->node[d]] == NONE;
			continue;
		}
		while (d > 0 && k->next[k->node[d]] == NONE)
			d--;
		if (d == 0)
			return;
		k->node[d] = k->next[k->node[d]];
		k->last[d] = k->next[k->node[d]] == NONE;
	}
}

/*
 * r is unreachable from any root: its ancestors loop. Cuts the loop at the span n steps up
 * from r (by then on the loop), which becomes a root marked "cycle". Returns it.
 */
static size_t cut_loop(struct tree *k, size_t r)
{
	size_t c = r, p, *link;

	for (size_t i = 0; i < k->t->n; i++)
		c = k->parent[c];
	p = k->parent[c];
	for (link = &k->first[p]; *link != c; link = &k->next[*link])
		;
	*link = k->next[c];
	k->lastc[p] = NONE;
	for (size_t i = k->first[p]; i != NONE; i = k->next[i])
		k->lastc[p] = i;
	k->next[c] = NONE;
	k->parent[c] = NONE;
	k->cycle[c] = true;
	return c;
}

/* Links the spans of t into a tree and fills t->rows in display order. */
static void layout(struct otelp_vtrace *t)
{
	size_t n = t->n;
	struct byid *ix = xcalloc(n, sizeof(*ix));
	struct tree k = {
	    .t = t,
	    .parent = xcalloc(n, sizeof(size_t)),
	    .first = xcalloc(n, sizeof(size_t)),
	    .lastc = xcalloc(n, sizeof(size_t)),
	    .next = xcalloc(n, sizeof(size_t)),
	    .node = xcalloc(n + 1, sizeof(size_t)),
	    .visited = xcalloc(n, sizeof(bool)),
	    .orphan = xcalloc(n, sizeof(bool)),
	    .cycle = xcalloc(n, sizeof(bool)),
	    .last = xcalloc(n + 1, sizeof(bool)),
	};

	t->rows = xcalloc(n, sizeof(*t->rows));
	for (size_t i = 0; i < n; i++) {
		ix[i].id = t->spans[i]->span_id;
		ix[i].idx = i;
		k.first[i] = k.lastc[i] = k.next[i] = k.parent[i] = NONE;
	}
	qsort(ix, n, sizeof(*ix), cmp_byid);
	/* Children are linked in start order, the order of t->spans. */
	for (size_t i = 0; i < n; i++) {
		size_t p;

		if (!t->spans[i]->parent_id[0])
			continue;
		p = find_id(ix, n, t->spans[i]->parent_id);
		if (p == NONE || p == i) {
			k.orphan[i] = p == NONE;
			k.cycle[i] = p == i;
			continue;
		}
		k.parent[i] = p;
		if (k.lastc[p] == NONE)
			k.first[p] = i;
		else
			k.next[k.lastc[p]] = i;
		k.lastc[p] = i;
	}
	for (size_t r = 0; r < n; r++)
		if (k.parent[r] == NONE)
			walk(&k, r);
	for (size_t r = 0; r < n; r++)
		while (!k.visited[r])
			walk(&k, cut_loop(&k, r));
	free(ix);
	free(k.parent);
	free(k.first);
	free(k.lastc);
	free(k.next);
	free(k.node);
	free(k.visited);
	free(k.orphan);
	free(k.cycle);
	free(k.last);
}

static void build_traces(struct model *m)
{
	size_t n = m->n_spans, cap = 0;

	m->order = xcalloc(n, sizeof(*m->order));
	for (size_t i = 0; i < n; i++)
		m->order[i] = &m->spans[i];
	qsort(m->order, n, sizeof(*m->order), cmp_span);
	for (size_t i = 0; i < n;) {
		struct otelp_vtrace *t;
		size_t j = i;
		const char **svc;
		size_t nsvc = 0;

		while (j < n && !strcmp(m->order[j]->trace_id, m->order[i]->trace_id))
			j++;
		grow(&m->traces, &cap, m->n_traces + 1, sizeof(*m->traces));
		t = &m->traces[m->n_traces++];
		memset(t, 0, sizeof(*t));
		memcpy(t->trace_id, m->order[i]->trace_id, sizeof(t->trace_id));
		t->spans = &m->order[i];
		t->n = j - i;
		t->start_ns = t->spans[0]->start_ns;
		svc = xcalloc(t->n, sizeof(*svc));
		for (size_t k = 0; k < t->n; k++) {
			const struct otelp_vspan *s = t->spans[k];
			size_t v;

			if (s->end_ns > t->end_ns)
				t->end_ns = s->end_ns;
			if (s->status == OTELP_VSTATUS_ERROR)
				t->n_errors++;
			if (!s->parent_id[0] && !t->root)
				t->root = s;
			for (v = 0; v < nsvc && strcmp(svc[v], s->service); v++)
				;
			if (v == nsvc)
				svc[nsvc++] = s->service;
		}
		free(svc);
		t->n_services = nsvc;
		t->root_missing = !t->root;
		if (!t->root)
			t->root = t->spans[0];
		layout(t);
		i = j;
	}
}

static void free_model(struct model *m)
{
	for (size_t i = 0; i < m->n_traces; i++) {
		for (size_t k = 0; k < m->traces[i].n; k++) {
			free(m->traces[i].rows[k].prefix);
			free(m->traces[i].rows[k].cont);
		}
		free(m->traces[i].rows);
	}
	free(m->traces);
	free(m->order);
	free(m->spans);
	for (size_t i = 0; i < m->n_lines; i++)
		json_object_put(m->lines[i]);
	free(m->lines);
}

/* ---- terminal ---- */

struct term {
	FILE *out;
	bool color;
};

#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_DIM    "\033[2m"
#define C_RED    "\033[31m"
#define C_YELLOW "\033[33m"
#define C_BRED   "\033[1;31m"

/* Bars and service names take one of these colours, by the service's place in the trace. */
static const char *const service_colors[] = {"\033[36m", "\033[32m", "\033[35m",
                                             "\033[34m", "\033[33m", "\033[96m"};

static void color(struct term *t, const char *code)
{
	if (t->color)
		fputs(code, t->out);
}

/* Length of the UTF-8 sequence at p (1..4), 0 when ill-formed. */
static size_t utf8_len(const unsigned char *p)
{
	size_t l;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		l = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		l = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		l = 4, c = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((l == 3 && c < 0x800) || (l == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (c >= 0x80 && c <= 0x9f) /* C1 controls */
		return 0;
	return l;
}

/* Display columns of s (one per code point: good enough for names and ids). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/*
 * s made safe for a terminal, cut to max columns (with "…"; 0: no limit): control
 * characters and ill-formed UTF-8 become '?'. Appended to b; returns the columns used.
 */
static size_t safe(struct otelp_sbuf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, total = 0;

	/* The columns s takes once made safe, to know whether it must be cut. */
	for (const unsigned char *q = p; *q;) {
		size_t l = utf8_len(q);

		q += l ? l : 1;
		total++;
	}
	for (; *p;) {
		size_t l = utf8_len(p);

		if (max && total > max && w == max - 1) {
			otelp_sbuf_puts(b, "…");
			return max;
		}
		if (!l || (l == 1 && (*p < 0x20 || *p == 0x7f)))
			otelp_sbuf_put(b, "?", 1);
		else
			otelp_sbuf_put(b, (const char *)p, l);
		p += l ? l : 1;
		w++;
	}
	return w;
}

static void pad(struct term *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc(' ', t->out);
}

/* Writes s made safe and cut to max columns, padded to width cols (0: no padding). */
static void field(struct term *t, const char *s, size_t max, size_t cols)
{
	struct otelp_sbuf b = {0};
	size_t w = safe(&b, s, max);

	fputs(otelp_sbuf_str(&b), t->out);
	if (cols > w)
		pad(t, cols - w);
	otelp_sbuf_free(&b);
}

/* key=value, the value quoted when it has spaces or quotes or is empty; cut to max columns. */
static void kv_text(struct otelp_sbuf *line, const char *key, const char *value, size_t max)
{
	struct otelp_sbuf v = {0};

	if (line->len)
		otelp_sbuf_put(line, "  ", 2);
	otelp_sbuf_puts(line, key);
	otelp_sbuf_put(line, "=", 1);
	safe(&v, value, max);
	if (!v.len || strpbrk(v.p, " \"\\"))
		quoted(line, otelp_sbuf_str(&v));
	else
		otelp_sbuf_puts(line, v.p);
	otelp_sbuf_free(&v);
}

/* Appends key=value for attribute key of s when present. */
static bool key_attr(struct otelp_sbuf *line, const struct otelp_vspan *s, const char *key,
                     size_t max)
{
	struct json_object *v = attr_value(s->span, key);
	struct otelp_sbuf text = {0};

	if (!v)
		return false;
	otelp_view_value_text(&text, v);
	kv_text(line, key, otelp_sbuf_str(&text), max);
	otelp_sbuf_free(&text);
	return true;
}

static void key_attrs(struct otelp_sbuf *line, const struct otelp_vspan *s)
{
	struct json_object *addr = attr_value(s->span, "server.address");
	struct json_object *port = attr_value(s->span, "server.port");

	key_attr(line, s, "http.request.method", 0);
	if (!key_attr(line, s, "url.full", URL_MAX))
		key_attr(line, s, "url.path", URL_MAX);
	key_attr(line, s, "http.route", 0);
	key_attr(line, s, "http.response.status_code", 0);
	if (!key_attr(line, s, "db.system.name", 0))
		key_attr(line, s, "db.system", 0);
	key_attr(line, s, "db.operation.name", 0);
	key_attr(line, s, "db.query.text", QUERY_TEXT_MAX);
	if (addr) {
		struct otelp_sbuf v = {0};

		otelp_view_value_text(&v, addr);
		if (port) {
			otelp_sbuf_put(&v, ":", 1);
			otelp_view_value_text(&v, port);
		}
		kv_text(line, port ? "server.address:port" : "server.address", otelp_sbuf_str(&v),
		        0);
		otelp_sbuf_free(&v);
	}
}

/* The error line: status message, error.type, db.response.status_code, an exception event. */
static void error_text(struct otelp_sbuf *line, const struct otelp_vspan *s)
{
	struct json_object *events = member_type(s->span, "events", json_type_array);
	size_t n = events ? json_object_array_length(events) : 0;

	if (s->status == OTELP_VSTATUS_ERROR) {
		otelp_sbuf_puts(line, "ERROR");
		if (*s->status_msg) {
			otelp_sbuf_puts(line, ": ");
			safe(line, s->status_msg, 0);
		}
	}
	key_attr(line, s, "error.type", 0);
	key_attr(line, s, "db.response.status_code", 0);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(events, i);
		const char *name = member_str(e, "name");

		if (!name || strcmp(name, "exception"))
			continue;
		if (attr_value(e, "exception.type")) {
			struct otelp_sbuf v = {0};

			otelp_view_value_text(&v, attr_value(e, "exception.type"));
			kv_text(line, "exception.type", otelp_sbuf_str(&v), 0);
			otelp_sbuf_free(&v);
		}
		if (attr_value(e, "exception.message")) {
			struct otelp_sbuf v = {0};

			otelp_view_value_text(&v, attr_value(e, "exception.message"));
			kv_text(line, "exception.message", otelp_sbuf_str(&v), URL_MAX);
			otelp_sbuf_free(&v);
		}
		break;
	}
}

/* The index of service in svc[0..*n), added when missing. */
static size_t service_index(const char **svc, size_t *n, const char *service)
{
	size_t i;

	for (i = 0; i < *n && strcmp(svc[i], service); i++)
		;
	if (i == *n)
		svc[(*n)++] = service;
	return i;
}

static void bar(struct term *t, const struct otelp_vtrace *tr, const struct otelp_vspan *s,
                const char *col)
{
	double total = (double)(tr->end_ns - tr->start_ns);
	size_t from = 0, to = TIMELINE_COLS;

	if (total > 0) {
		double a = (double)(s->start_ns - tr->start_ns) * TIMELINE_COLS / total;
		double b = (double)(s->end_ns - tr->start_ns) * TIMELINE_COLS / total;

		from = (size_t)a;
		to = (size_t)b;
		if ((double)to < b)
			to++;
	} else {
		to = 1;
	}
	if (from >= TIMELINE_COLS)
		from = TIMELINE_COLS - 1;
	if (to > TIMELINE_COLS)
		to = TIMELINE_COLS;
	if (to <= from)
		to = from + 1;
	fputc('|', t->out);
	pad(t, from);
	color(t, col);
	for (size_t i = from; i < to; i++)
		fputs("█", t->out);
	color(t, C_RESET);
	pad(t, TIMELINE_COLS - to);
	fputc('|', t->out);
}

static void detail(struct term *t, const struct otelp_vrow *row, const char *code, const char *text)
{
	fputs("  ", t->out);
	color(t, C_DIM);
	fputs(row->cont, t->out);
	color(t, C_RESET);
	color(t, code);
	fputs(text, t->out);
	color(t, C_RESET);
	fputc('\n', t->out);
}

static void print_trace(struct term *t, const struct otelp_vtrace *tr)
{
	char dur[32], off[40], ts[48];
	size_t name_w = 4, svc_w = 7, nsvc = 0;
	const char **svc = xcalloc(tr->n, sizeof(*svc)); /* services in row order: colours */
	time_t sec = (time_t)(tr->start_ns / 1000000000u);
	struct tm tm;

	for (size_t i = 0; i < tr->n; i++) {
		const struct otelp_vrow *row = &tr->rows[i];
		struct otelp_sbuf b = {0};
		size_t w = width(row->prefix) + (row->orphan || row->cycle ? 2 : 0) +
		           safe(&b, row->s->name, 0);
		size_t sw = width(row->s->service);

		otelp_sbuf_free(&b);
		if (w > name_w)
			name_w = w;
		if (sw > svc_w)
			svc_w = sw;
	}
	if (name_w > NAME_COL_MAX)
		name_w = NAME_COL_MAX;
	if (svc_w > SERVICE_COL_MAX)
		svc_w = SERVICE_COL_MAX;

	/* Header: id, root name, counts, duration, start (UTC). */
	color(t, C_BOLD);
	fprintf(t->out, "Trace %s  ", tr->trace_id);
	if (tr->root_missing)
		fputs("(root not in file) ", t->out);
	field(t, tr->root->name, NAME_COL_MAX, 0);
	color(t, C_RESET);
	fprintf(t->out, "  %zu service%s  %zu span%s", tr->n_services,
	        tr->n_services == 1 ? "" : "s", tr->n, tr->n == 1 ? "" : "s");
	if (tr->n_errors) {
		color(t, C_BRED);
		fprintf(t->out, "  %zu error%s", tr->n_errors, tr->n_errors == 1 ? "" : "s");
		color(t, C_RESET);
	}
	fprintf(t->out, "  %s", otelp_view_fmt_dur(dur, sizeof(dur), tr->end_ns - tr->start_ns));
	if (gmtime_r(&sec, &tm) && strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm))
		fprintf(t->out, "  %s.%03u UTC", ts,
		        (unsigned)(tr->start_ns % 1000000000u / 1000000u));
	fputc('\n', t->out);

	color(t, C_DIM);
	fputs("  ", t->out);
	field(t, "SPAN", 0, name_w + 2);
	field(t, "SERVICE", 0, svc_w + 2);
	fprintf(t->out, "%-8s  %9s  %9s  %s", "KIND", "START", "DURATION", "TIMELINE");
	color(t, C_RESET);
	fputc('\n', t->out);

	for (size_t i = 0; i < tr->n; i++) {
		const struct otelp_vrow *row = &tr->rows[i];
		const struct otelp_vspan *s = row->s;
		bool err = s->status == OTELP_VSTATUS_ERROR;
		const char *scol =
		    service_colors[service_index(svc, &nsvc, s->service) %
		                   (sizeof(service_colors) / sizeof(*service_colors))];
		size_t pw = width(row->prefix);
		struct otelp_sbuf line = {0};

		if (err) {
			color(t, C_BRED);
			fputs("! ", t->out);
		} else {
			fputs("  ", t->out);
		}
		if (*row->prefix) {
			color(t, C_DIM);
			fputs(row->prefix, t->out);
			color(t, C_RESET);
		}
		if (row->orphan || row->cycle) {
			color(t, C_YELLOW);
			fputs(row->orphan ? "⋯ " : "↻ ", t->out);
			color(t, C_RESET);
			pw += 2;
		}
		color(t, err ? C_BRED : C_BOLD);
		field(t, s->name, name_w > pw + NAME_MIN ? name_w - pw : NAME_MIN,
		      name_w > pw ? name_w - pw : 0);
		color(t, C_RESET);
		fputs("  ", t->out);
		color(t, scol);
		field(t, s->service, svc_w, svc_w);
		color(t, C_RESET);
		fputs("  ", t->out);
		color(t, err ? C_BRED : C_DIM);
		fprintf(t->out, "%-8s", s->kind ? otelp_view_kind_name(s->kind) : "-");
		color(t, C_RESET);
		snprintf(off, sizeof(off), "+%s",
		         otelp_view_fmt_dur(dur, sizeof(dur), s->start_ns - tr->start_ns));
		fprintf(t->out, "  %9s", off);
		fprintf(t->out, "  %9s  ",
		        otelp_view_fmt_dur(dur, sizeof(dur), s->end_ns - s->start_ns));
		bar(t, tr, s, err ? C_RED : scol);
		fputc('\n', t->out);

		/* Key attributes, error, orphan note. */
		key_attrs(&line, s);
		if (line.len)
			detail(t, row, C_DIM, line.p);
		otelp_sbuf_free(&line);
		error_text(&line, s);
		if (line.len)
			detail(t, row, C_RED, line.p);
		otelp_sbuf_free(&line);
		if (row->orphan)
			otelp_sbuf_printf(&line, "parent span %s is not in the file", s->parent_id);
		else if (row->cycle)
			otelp_sbuf_printf(&line,
			                  "parent span %s loops back to this span: shown as a root",
			                  s->parent_id);
		if (line.len)
			detail(t, row, C_YELLOW, line.p);
		otelp_sbuf_free(&line);
	}
	free(svc);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fputs("usage: otel-preload view FILE [--trace ID] [--limit N] [--color[=WHEN]]\n"
	      "                              [--html OUT.html]\n"
	      "\n"
	      "Shows the spans of an OTLP JSON lines file (OTEL_TRACES_EXPORTER=file) as trace\n"
	      "trees, most recent trace first. FILE '-' reads standard input.\n"
	      "\n"
	      "  -t, --trace ID     only the traces whose id starts with ID (hex)\n"
	      "  -n, --limit N      at most N traces (default 10; 0: all; with --html or\n"
	      "                     --trace the default is all)\n"
	      "      --color[=WHEN] colour: auto (default: when the output is a terminal and\n"
	      "                     NO_COLOR is unset), always or never\n"
	      "      --html OUT     write one self-contained interactive HTML page to OUT\n"
	      "                     instead ('-': standard output)\n"
	      "  -h, --help         this help\n"
	      "\n"
	      "Exit status: 0 success, 1 unreadable file or no traces matched, 2 usage error.\n",
	      f);
}

__attribute__((format(printf, 2, 3))) static int usage_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputs("\n", err);
	fputs("Try 'otel-preload view --help'.\n", err);
	return 2;
}

/* Case-insensitive prefix match of a hex id. */
static bool id_matches(const char *id, const char *prefix)
{
	for (; *prefix; prefix++, id++)
		if (tolower((unsigned char)*prefix) != *id)
			return false;
	return true;
}

static void warn_skipped(FILE *err, const char *path, const struct model *m)
{
	if (m->bad_lines) {
		fprintf(err,
		        PROG
		        ": warning: %s: skipped %zu line%s that %s not OTLP JSON (first: line %zu)",
		        path, m->bad_lines, m->bad_lines == 1 ? "" : "s",
		        m->bad_lines == 1 ? "is" : "are", m->first_bad_line);
		if (m->last_line_partial)
			fputs("; the last line is incomplete (still being written?)", err);
		fputc('\n', err);
	}
	if (m->bad_spans)
		fprintf(err,
		        PROG ": warning: %s: skipped %zu span%s without a valid traceId and spanId "
		             "(first: line %zu)\n",
		        path, m->bad_spans, m->bad_spans == 1 ? "" : "s", m->first_bad_span_line);
}

static int write_html(FILE *out, FILE *err, const char *html, const char *source,
                      struct otelp_vtrace *const *sel, size_t n)
{
	FILE *f = strcmp(html, "-") ? fopen(html, "w") : out;
	int rc;

	if (!f) {
		fprintf(err, PROG ": %s: %s\n", html, strerror(errno));
		return 1;
	}
	rc = otelp_view_html(f, source, sel, n);
	if (f != out) {
		if (fclose(f))
			rc = -1;
	} else if (fflush(f)) {
		rc = -1;
	}
	if (rc) {
		fprintf(err, PROG ": %s: write error: %s\n", html, strerror(errno));
		return 1;
	}
	if (f != out) {
		size_t spans = 0;

		for (size_t i = 0; i < n; i++)
			spans += sel[i]->n;
		fprintf(out, "wrote %s: %zu trace%s, %zu span%s\n", html, n, n == 1 ? "" : "s",
		        spans, spans == 1 ? "" : "s");
	}
	return 0;
}

int otelp_view_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
	    {"trace", required_argument, NULL, 't'},
	    {"limit", required_argument, NULL, 'n'},
	    {"color", optional_argument, NULL, 'c'},
	    {"colour", optional_argument, NULL, 'c'},
	    {"html", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *trace = NULL, *html = NULL, *path;
	const char *when = "auto";
	long limit = -1;
	struct model m = {0};
	struct otelp_vtrace **sel;
	size_t nsel = 0, matched;
	struct term t = {.out = out};
	FILE *f;
	int c, rc = 0;

	optind = 0; /* GNU: full reinitialisation, the launcher may have used getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:n:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 't':
			trace = optarg;
			if (!*trace || strlen(trace) > 32 ||
			    strspn(trace, "0123456789abcdefABCDEF") != strlen(trace))
				return usage_error(
				    err, "--trace: '%s' is not a hex trace id (prefix)", trace);
			break;
		case 'n':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || limit < 0)
				return usage_error(err, "--limit: '%s' is not a number >= 0",
				                   optarg);
			break;
		case 'c':
			when = optarg ? optarg : "always";
			if (strcmp(when, "auto") && strcmp(when, "always") && strcmp(when, "never"))
				return usage_error(
				    err, "--color: '%s' is not auto, always or never", when);
			break;
		case 'H':
			html = optarg;
			break;
		case 'h':
			usage(out);
			return 0;
		case ':':
			return usage_error(err, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error(err, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error(err, "%s",
		                   optind >= argc ? "missing FILE" : "more than one FILE");
	path = argv[optind];

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(err, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (load(&m, f)) {
		fprintf(err, PROG ": %s: %s\n", path, strerror(errno));
		rc = 1;
	}
	if (f != stdin)
		fclose(f);
	if (rc) {
		free_model(&m);
		return rc;
	}
	warn_skipped(err, path, &m);
	build_traces(&m);

	sel = xcalloc(m.n_traces, sizeof(*sel));
	for (size_t i = 0; i < m.n_traces; i++)
		if (!trace || id_matches(m.traces[i].trace_id, trace))
			sel[nsel++] = &m.traces[i];
	qsort(sel, nsel, sizeof(*sel), cmp_trace);
	matched = nsel;
	if (limit < 0)
		limit = trace || html ? 0 : DEFAULT_LIMIT;
	if (limit > 0 && (size_t)limit < nsel)
		nsel = (size_t)limit;

	if (!matched) {
		if (trace)
			fprintf(err, PROG ": %s: no trace id starts with %s\n", path, trace);
		else
			fprintf(err, PROG ": %s: no spans\n", path);
		rc = 1;
	} else if (html) {
		rc = write_html(out, err, html, path, sel, nsel);
	} else {
		if (!strcmp(when, "always"))
			t.color = true;
		else if (!strcmp(when, "auto"))
			t.color =
			    isatty(fileno(out)) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
		for (size_t i = 0; i < nsel; i++) {
			if (i)
				fputc('\n', out);
			print_trace(&t, sel[i]);
		}
		if (nsel < matched)
			fprintf(
			    out,
			    "\n(%zu of %zu traces shown, most recent first; --limit 0 shows all)\n",
			    nsel, matched);
		if (fflush(out)) {
			fprintf(err, PROG ": write error: %s\n", strerror(errno));
			rc = 1;
		}
	}
	free(sel);
	free_model(&m);
	return rc;
}

int otelp_tool_view(int argc, char **argv)
{
	return otelp_view_main(argc, argv, stdout, stderr);
}
