/*
 * The reference for fuzz-prop-diff.c: src/propagation.c as it was before its per-request paths
 * were rewritten for speed (commit af4ee0e), verbatim below the renames. It is compiled as a
 * translation unit of its own, with every function that other files see renamed ref__*, and
 * the rewritten src/propagation.c must give the same results as this one on every input: the
 * same return values, the same output bytes, the same lengths. Not to be edited, but replaced
 * when the results are meant to change.
 */
#define otelp__traceparent_parse  ref__traceparent_parse
#define otelp__traceparent_format ref__traceparent_format
#define otelp__tracestate_parse   ref__tracestate_parse
#define otelp__baggage_parse      ref__baggage_parse
#define otelp__b3_single_parse    ref__b3_single_parse
#define otelp__b3_multi_parse     ref__b3_multi_parse
#define otelp__extract            ref__extract
#define otelp__inject_headers     ref__inject_headers
#define otelp__header_name_is     ref__header_name_is

/*
 * Context propagation formats: W3C traceparent / tracestate, W3C baggage, B3.
 *
 * DESIGN
 * ------
 * Every function here is a pure function over byte ranges that are NOT NUL-terminated: the
 * headers come straight out of a host's socket buffers. Nothing allocates, nothing keeps state,
 * nothing prints; the only memory written is the caller's output. Each parser is a single
 * forward scan with explicit length checks before every access, so it is safe on any input
 * (it is fuzzed under ASan/UBSan, tests/fuzz/fuzz-propagation.c).
 *
 * Comma-separated lists (tracestate, baggage) may arrive as several header lines that HTTP
 * says must be combined with ",". Instead of copying them into a scratch buffer (whose size we
 * could not bound), the list parsers walk a member iterator that visits the members of every
 * matching header in order, which is the same thing as walking the combined value: a member
 * never spans two header lines.
 *
 * Decisions (OTel spec checklist, section 5):
 *  - traceparent: reserved trace-flags bits are cleared at parse time, so every consumer of
 *    the context (sampler, links, OTLP flags) only ever sees the defined bits (0x01 sampled,
 *    0x02 random); format masks again because a context may also come from elsewhere.
 *  - tracestate: the 32-member limit counts non-empty members; empty and OWS-only members are
 *    allowed and dropped. A duplicate key keeps its first occurrence. Truncation first removes
 *    members longer than 128 characters, right-most first, then members from the right, and
 *    stops as soon as the list fits.
 *  - baggage: members are kept in order while they fit the limits; the first member that would
 *    exceed one ends the list (whole members dropped from the right). Malformed members are
 *    dropped one by one. Values are passed through still percent-encoded.
 *  - B3: an absent sampling state ("defer") gives trace-flags 0, as the OpenTelemetry JS and
 *    Go B3 propagators do; our context cannot carry "deferred", so injection then says "0".
 *    Only the deny-only "0" form is accepted without ids ("1" or "d" alone carry nothing we
 *    can use and are rejected). Malformed values never fall back to guesses.
 *  - Extraction: for every B3 header the first value wins; a b3 single header that is invalid
 *    or deny-only falls back to the X-B3-* headers (as OTel Go does). A header whose value
 *    pointer is NULL is treated as absent.
 *  - Output buffers smaller than the W3C limits lower the limits (whole members still).
 *  - Injection never writes a tracestate or baggage value holding control or non-ASCII bytes
 *    (it could end the header line); such a line is left out, the others are still written.
 */
#include <string.h>

#include "common.h"
#include "config.h"
#include "propagation.h"

#define TS_MEMBER_TRUNC 128 /* tracestate members longer than this are truncated away first */
#define TS_KEY_MAX      256
#define TS_VALUE_MAX    256

/* ---- character classes ---- */

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_lcalpha(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* W3C baggage: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
static bool is_baggage_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
	       (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* tracestate keychar (Level 2): lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@". */
static bool is_ts_keychar(unsigned char c)
{
	return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/' ||
	       c == '@';
}

/* tracestate nblk-chr: %x21-2B / %x2D-3C / %x3E-7E (printable, no "," and no "="). */
static bool is_ts_nblk(unsigned char c)
{
	return c >= 0x21 && c <= 0x7E && c != ',' && c != '=';
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Strip OWS (spaces and tabs) on both ends of [*p, *p + *n). */
static void trim_ows(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;

	while (len > 0 && is_ows((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_ows((unsigned char)s[len - 1]))
		len--;
	*p = s;
	*n = len;
}

/* One more than the value of a lowercase hex digit; 0 for every other byte (uppercase too). */
static const uint8_t lchex1[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Decode 2 * nbytes lowercase hex digits; false on anything else (uppercase included). */
static bool lchex_decode(const char *s, size_t nbytes, uint8_t *out)
{
	int bad = 0;

	for (size_t i = 0; i < nbytes; i++) {
		int hi = lchex1[(unsigned char)s[2 * i]] - 1;
		int lo = lchex1[(unsigned char)s[2 * i + 1]] - 1;

		bad |= hi | lo;
		out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo); /* garbage when bad */
	}
	return bad >= 0;
}

bool otelp__header_name_is(const char *name, size_t len, const char *lower)
{
	size_t i;

	if (!lower || (!name && len))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i], l = (unsigned char)lower[i];

		/* l == '\0' means the literal is shorter than name: no match. */
		if (l == '\0' || (c != l && ascii_lower(c) != l))
			return false;
	}
	return lower[i] == '\0';
}

/* ---- member iterator over one or several comma-combined header values ---- */

struct member_iter {
	const struct otelp_header *h;
	size_t nh;
	const char *name; /* only headers with this (lowercase) name; NULL: all of them */
	size_t hi;        /* current header */
	size_t off;       /* next member starts here; > value_len: header exhausted */
};

static void member_iter_init(struct member_iter *it, const struct otelp_header *h, size_t nh,
                             const char *name)
{
	it->h = h;
	it->nh = nh;
	it->name = name;
	it->hi = 0;
	it->off = 0;
}

/* Next raw (untrimmed, possibly empty) member; false at the end of the combined list. */
static bool member_next(struct member_iter *it, const char **p, size_t *len)
{
	while (it->hi < it->nh) {
		const struct otelp_header *h = &it->h[it->hi];

		/* A NULL value is skipped rather than offset: NULL + 0 is already undefined. */
		if (!h->value || it->off > h->value_len ||
		    (it->name && !otelp__header_name_is(h->name, h->name_len, it->name))) {
			it->hi++;
			it->off = 0;
			continue;
		}
		const char *start = h->value + it->off;
		size_t rest = h->value_len - it->off;
		const char *comma = memchr(start, ',', rest);
		size_t mlen = comma ? (size_t)(comma - start) : rest;

		*p = start;
		*len = mlen;
		it->off += mlen + 1; /* past the comma, or past the end: exhausted */
		return true;
	}
	return false;
}

/* ---- traceparent ---- */

int otelp__traceparent_parse(const char *v, size_t n, struct otelp_ctx *out)
{
	struct otelp_ctx c;
	uint8_t version, flags;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -1;
	trim_ows(&v, &n);
	if (n < OTELP_TRACEPARENT_LEN)
		return -1;
	if (!lchex_decode(v, 1, &version) || version == 0xff || v[2] != '-')
		return -1;
	/*
	 * Version 00 is exactly 55 chars. A later version may append fields, but only after a
	 * "-": the part we understand must still be a well-formed prefix.
	 */
	if (version == 0 && n != OTELP_TRACEPARENT_LEN)
		return -1;
	if (n > OTELP_TRACEPARENT_LEN && v[OTELP_TRACEPARENT_LEN] != '-')
		return -1;

	memset(&c, 0, sizeof(c));
	if (!lchex_decode(v + 3, 16, c.trace_id) || v[35] != '-')
		return -1;
	if (!lchex_decode(v + 36, 8, c.span_id) || v[52] != '-')
		return -1;
	if (!lchex_decode(v + 53, 1, &flags))
		return -1;
	if (otelp__all_zero(c.trace_id, 16) || otelp__all_zero(c.span_id, 8))
		return -1;
	c.flags = flags & (OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM);
	c.remote = true;
	c.valid = true;
	*out = c;
	return 0;
}

void otelp__traceparent_format(const struct otelp_ctx *c, char out[OTELP_TRACEPARENT_LEN])
{
	uint8_t flags = c->flags & (OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM);

	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	otelp__hex_encode(out + 3, c->trace_id, 16);
	out[35] = '-';
	otelp__hex_encode(out + 36, c->span_id, 8);
	out[52] = '-';
	otelp__hex_encode(out + 53, &flags, 1);
}

/* ---- tracestate ---- */

struct ts_member {
	const char *p;
	size_t len;
	size_t key_len;
	bool dropped;
};

static bool ts_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > TS_KEY_MAX)
		return false;
	if (!is_lcalpha((unsigned char)k[0]) && !is_digit((unsigned char)k[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_ts_keychar((unsigned char)k[i]))
			return false;
	return true;
}

/* The member was trimmed of OWS, so the value never ends in a space (nblk-chr) here. */
static bool ts_value_ok(const char *v, size_t n)
{
	if (n == 0 || n > TS_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c != ' ' && !is_ts_nblk(c))
			return false;
	}
	return true;
}

/* Length of the kept members joined by ",". */
static size_t ts_joined_len(const struct ts_member *m, size_t k)
{
	size_t total = 0, kept = 0;

	for (size_t i = 0; i < k; i++) {
		if (m[i].dropped)
			continue;
		total += m[i].len;
		kept++;
	}
	return total + (kept ? kept - 1 : 0);
}

static int tracestate_parse_iter(struct member_iter *it, char *out, size_t cap)
{
	struct ts_member m[OTELP_TRACESTATE_MEMBERS];
	size_t k = 0, members = 0, limit, total, pos = 0;
	const char *p;
	size_t len;

	if (!out || cap == 0)
		return -1;
	out[0] = '\0';

	while (member_next(it, &p, &len)) {
		const char *eq;
		size_t key_len;
		bool dup = false;

		trim_ows(&p, &len);
		if (len == 0)
			continue; /* empty and OWS-only members are allowed, and removed */
		if (++members > OTELP_TRACESTATE_MEMBERS)
			return -1;
		eq = memchr(p, '=', len);
		if (!eq)
			return -1;
		key_len = (size_t)(eq - p);
		if (!ts_key_ok(p, key_len) || !ts_value_ok(eq + 1, len - key_len - 1))
			return -1;
		for (size_t i = 0; i < k && !dup; i++)
			dup = m[i].key_len == key_len && memcmp(m[i].p, p, key_len) == 0;
		if (dup)
			continue;
		m[k].p = p;
		m[k].len = len;
		m[k].key_len = key_len;
		m[k].dropped = false;
		k++;
	}

	limit = cap - 1 < OTELP_TRACESTATE_MAX ? cap - 1 : OTELP_TRACESTATE_MAX;
	total = ts_joined_len(m, k);
	/* First the right-most members longer than 128 characters, while still too long... */
	for (size_t i = k; i-- > 0 && total > limit;) {
		if (m[i].len > TS_MEMBER_TRUNC) {
			m[i].dropped = true;
			total = ts_joined_len(m, k);
		}
	}
	/* ...then any member, from the right. */
	for (size_t i = k; i-- > 0 && total > limit;) {
		if (!m[i].dropped) {
			m[i].dropped = true;
			total = ts_joined_len(m, k);
		}
	}

	for (size_t i = 0; i < k; i++) {
		if (m[i].dropped)
			continue;
		if (pos)
			out[pos++] = ',';
		memcpy(out + pos, m[i].p, m[i].len);
		pos += m[i].len;
	}
	out[pos] = '\0';
	return (int)pos;
}

int otelp__tracestate_parse(const char *v, size_t n, char *out, size_t cap)
{
	struct otelp_header h = {.name = NULL, .name_len = 0, .value = v, .value_len = n};
	struct member_iter it;

	member_iter_init(&it, &h, 1, NULL);
	return tracestate_parse_iter(&it, out, cap);
}

/* ---- baggage ---- */

/*
 * Properties ("; prop[=value]" ...) are kept as written but validated loosely: each one is
 * empty or a token key, optionally followed by OWS "=" OWS and printable characters (not
 * ";"), with OWS around. Everything else (control characters, non-ASCII, quotes inside a key)
 * makes the member malformed.
 */
static bool baggage_props_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		/* s[i] is ';' here. */
		i++;
		while (i < n && is_ows((unsigned char)s[i]))
			i++;
		while (i < n && otelp__is_tchar((unsigned char)s[i]))
			i++;
		while (i < n && is_ows((unsigned char)s[i]))
			i++;
		if (i < n && s[i] == '=') {
			i++;
			while (i < n && is_ows((unsigned char)s[i]))
				i++;
			while (i < n && s[i] != ';' && (unsigned char)s[i] >= 0x21 &&
			       (unsigned char)s[i] <= 0x7E)
				i++;
			while (i < n && is_ows((unsigned char)s[i]))
				i++;
		}
		if (i < n && s[i] != ';')
			return false;
	}
	return true;
}

/*
 * Parse one trimmed member "key OWS = OWS value *(OWS ; property)". On success gives the key,
 * the value and the properties part (starting at its ';', or empty).
 */
static bool baggage_member(const char *p, size_t n, size_t *key_len, const char **val,
                           size_t *val_len, const char **props, size_t *props_len)
{
	size_t i = 0, vs;

	while (i < n && otelp__is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0)
		return false;
	*key_len = i;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	if (i == n || p[i] != '=')
		return false;
	i++;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	vs = i;
	while (i < n && is_baggage_octet((unsigned char)p[i]))
		i++;
	*val = p + vs;
	*val_len = i - vs;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	if (i < n && p[i] != ';')
		return false;
	*props = p + i;
	*props_len = n - i;
	return baggage_props_ok(*props, *props_len);
}

static size_t baggage_parse_iter(struct member_iter *it, char *out, size_t cap)
{
	size_t limit, pos = 0, count = 0;
	const char *p;
	size_t len;

	if (!out || cap == 0)
		return 0;
	out[0] = '\0';
	limit = cap - 1 < OTELP_BAGGAGE_MAX ? cap - 1 : OTELP_BAGGAGE_MAX;

	while (member_next(it, &p, &len)) {
		const char *val, *props;
		size_t key_len, val_len, props_len, mlen;

		trim_ows(&p, &len);
		if (len == 0)
			continue;
		if (!baggage_member(p, len, &key_len, &val, &val_len, &props, &props_len))
			continue; /* malformed: drop this member only */
		mlen = key_len + 1 + val_len + props_len + (pos ? 1 : 0);
		/* Whole members only: the first one that does not fit ends the list. */
		if (count == OTELP_BAGGAGE_MEMBERS || mlen > limit - pos)
			break;
		if (pos)
			out[pos++] = ',';
		memcpy(out + pos, p, key_len);
		pos += key_len;
		out[pos++] = '=';
		memcpy(out + pos, val, val_len);
		pos += val_len;
		memcpy(out + pos, props, props_len);
		pos += props_len;
		count++;
	}
	out[pos] = '\0';
	return pos;
}

size_t otelp__baggage_parse(const char *v, size_t n, char *out, size_t cap)
{
	struct otelp_header h = {.name = NULL, .name_len = 0, .value = v, .value_len = n};
	struct member_iter it;

	member_iter_init(&it, &h, 1, NULL);
	return baggage_parse_iter(&it, out, cap);
}

/* ---- B3 ---- */

/* A B3 trace id: 32 lowercase hex digits, or 16 left-padded with zeros. */
static bool b3_trace_id(const char *s, size_t n, uint8_t out[16])
{
	if (n == 32)
		return lchex_decode(s, 16, out);
	if (n == 16) {
		memset(out, 0, 8);
		return lchex_decode(s, 8, out + 8);
	}
	return false;
}

static int b3_finish(struct otelp_ctx *c, bool sampled, bool debug)
{
	if (otelp__all_zero(c->trace_id, 16) || otelp__all_zero(c->span_id, 8)) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	/* Debug implies an accept decision. */
	c->flags = (sampled || debug) ? OTELP_TRACE_FLAG_SAMPLED : 0;
	c->b3_debug = debug;
	c->remote = true;
	c->valid = true;
	return 0;
}

int otelp__b3_single_parse(const char *v, size_t n, struct otelp_ctx *out)
{
	struct otelp_ctx c;
	size_t tlen, pos;
	bool sampled = false, debug = false;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -1;
	trim_ows(&v, &n);
	if (n == 1 && v[0] == '0')
		return 1; /* deny-only */

	/* A 16-digit trace id has its "-" at 16; a 32-digit one has a hex digit there. */
	if (n > 16 && v[16] == '-')
		tlen = 16;
	else if (n > 32 && v[32] == '-')
		tlen = 32;
	else
		return -1;

	memset(&c, 0, sizeof(c));
	if (!b3_trace_id(v, tlen, c.trace_id))
		return -1;
	pos = tlen + 1;
	if (n - pos < 16 || !lchex_decode(v + pos, 8, c.span_id))
		return -1;
	pos += 16;
	if (pos < n) {
		if (v[pos] != '-' || n - pos < 2)
			return -1;
		pos++;
		switch (v[pos]) {
		case '1':
			sampled = true;
			break;
		case '0':
			break;
		case 'd':
			debug = true;
			break;
		default:
			return -1;
		}
		pos++;
		if (pos < n) {
			uint8_t parent[8];

			/* Only "-" and a valid parent span id may follow; it is not used. */
			if (v[pos] != '-' || n - pos - 1 != 16 ||
			    !lchex_decode(v + pos + 1, 8, parent) || otelp__all_zero(parent, 8))
				return -1;
		}
	}
	/* Absent sampling state ("defer"): flags 0, like the OpenTelemetry JS/Go propagators. */
	if (b3_finish(&c, sampled, debug) < 0)
		return -1;
	*out = c;
	return 0;
}

/* X-B3-Sampled: "1"/"0", and leniently "true"/"false" in any case. */
static int b3_sampled_value(const char *s, size_t n)
{
	static const char t[] = "true", f[] = "false";

	if (n == 1 && s[0] == '1')
		return 1;
	if (n == 1 && s[0] == '0')
		return 0;
	if (otelp__header_name_is(s, n, t))
		return 1;
	if (otelp__header_name_is(s, n, f))
		return 0;
	return -1;
}

int otelp__b3_multi_parse(const char *trace_id, size_t trace_len, const char *span_id,
                          size_t span_len, const char *sampled, size_t sampled_len,
                          const char *flags, size_t flags_len, struct otelp_ctx *out)
{
	struct otelp_ctx c;
	int s = -1; /* -1: absent */
	bool debug = false;

	memset(out, 0, sizeof(*out));
	if (sampled) {
		trim_ows(&sampled, &sampled_len);
		s = b3_sampled_value(sampled, sampled_len);
		if (s < 0)
			return -1; /* present but empty or nonsense */
	}
	if (flags) {
		/* Only "1" means debug; any other value is ignored (B3 spec). */
		trim_ows(&flags, &flags_len);
		debug = flags_len == 1 && flags[0] == '1';
	}
	if (!trace_id && !span_id)
		return (s == 0 && !debug) ? 1 : -1;
	if (!trace_id || !span_id)
		return -1;
	trim_ows(&trace_id, &trace_len);
	trim_ows(&span_id, &span_len);

	memset(&c, 0, sizeof(c));
	if (!b3_trace_id(trace_id, trace_len, c.trace_id))
		return -1;
	if (span_len != 16 || !lchex_decode(span_id, 8, c.span_id))
		return -1;
	if (b3_finish(&c, s == 1, debug) < 0)
		return -1;
	*out = c;
	return 0;
}

/* ---- extract ---- */

static const struct otelp_header *first_header(const struct otelp_header *h, size_t n,
                                               const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].value && otelp__header_name_is(h[i].name, h[i].name_len, name))
			return &h[i];
	return NULL;
}

static void extract_w3c(const struct otelp_header *h, size_t n, struct otelp_extracted *out)
{
	const struct otelp_header *tp = NULL;
	struct member_iter it;
	int len;

	for (size_t i = 0; i < n; i++) {
		if (!otelp__header_name_is(h[i].name, h[i].name_len, "traceparent"))
			continue;
		if (tp)
			return; /* two traceparent headers: invalid, restart the trace */
		tp = &h[i];
	}
	if (!tp || otelp__traceparent_parse(tp->value, tp->value_len, &out->ctx) < 0)
		return; /* tracestate is discarded without a valid traceparent */

	member_iter_init(&it, h, n, "tracestate");
	len = tracestate_parse_iter(&it, out->tracestate, sizeof(out->tracestate));
	if (len < 0) {
		out->tracestate[0] = '\0';
		out->tracestate_len = 0;
	} else {
		out->tracestate_len = (size_t)len;
	}
}

/* Value of the first header with that name, or NULL (absent): the first value wins. */
static const char *first_value(const struct otelp_header *h, size_t n, const char *name,
                               size_t *len)
{
	const struct otelp_header *f = first_header(h, n, name);

	*len = f ? f->value_len : 0;
	return f ? f->value : NULL;
}

static void extract_b3(const struct otelp_header *h, size_t n, struct otelp_extracted *out)
{
	const char *tid, *sid, *smp, *flg;
	size_t tl, sl, ml, fl;
	const struct otelp_header *single = first_header(h, n, "b3");

	/* A valid single header wins; an invalid or deny-only one falls back to multi. */
	if (single && otelp__b3_single_parse(single->value, single->value_len, &out->ctx) == 0)
		return;
	tid = first_value(h, n, "x-b3-traceid", &tl);
	sid = first_value(h, n, "x-b3-spanid", &sl);
	smp = first_value(h, n, "x-b3-sampled", &ml);
	flg = first_value(h, n, "x-b3-flags", &fl);
	if (otelp__b3_multi_parse(tid, tl, sid, sl, smp, ml, flg, fl, &out->ctx) != 0)
		memset(&out->ctx, 0, sizeof(out->ctx));
}

void otelp__extract(unsigned propagators, const struct otelp_header *h, size_t n,
                    struct otelp_extracted *out)
{
	/* Not the whole struct: its buffers are 8.7 KiB, and only their lengths say what is set. */
	memset(&out->ctx, 0, sizeof(out->ctx));
	out->tracestate[0] = 0;
	out->tracestate_len = 0;
	out->baggage[0] = 0;
	out->baggage_len = 0;
	if (!h)
		n = 0;

	if (propagators & OTELP_PROP_TRACECONTEXT)
		extract_w3c(h, n, out);
	if (propagators & OTELP_PROP_BAGGAGE) {
		struct member_iter it;

		member_iter_init(&it, h, n, "baggage");
		out->baggage_len = baggage_parse_iter(&it, out->baggage, sizeof(out->baggage));
	}
	if ((propagators & (OTELP_PROP_B3 | OTELP_PROP_B3MULTI)) && !out->ctx.valid)
		extract_b3(h, n, out);
}

/* ---- inject ---- */

struct wbuf {
	char *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

/*
 * A value we are about to write into a request must not be able to end the header line or
 * smuggle another one: printable ASCII and tabs only. Our parsers never produce anything
 * else, but the tracestate of a context may have been set through the API.
 */
static bool header_value_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c > 0x7E)
			return false;
	}
	return true;
}

size_t otelp__inject_headers(unsigned propagators, const struct otelp_ctx *ctx,
                             const char *tracestate, size_t tracestate_len, const char *baggage,
                             size_t baggage_len, char *out, size_t cap)
{
	struct wbuf w = {.p = out, .cap = out ? cap : 0, .len = 0, .overflow = false};
	char trace_hex[32], span_hex[16];

	if (!ctx || !ctx->valid || otelp__all_zero(ctx->trace_id, 16) ||
	    otelp__all_zero(ctx->span_id, 8))
		return 0;
	if (propagators & (OTELP_PROP_B3 | OTELP_PROP_B3MULTI)) {
		otelp__hex_encode(trace_hex, ctx->trace_id, 16);
		otelp__hex_encode(span_hex, ctx->span_id, 8);
	}

	if (propagators & OTELP_PROP_TRACECONTEXT) {
		/* The whole line written in place: it is in nearly every injection. */
		static const char name[] = "traceparent: ";
		size_t line = sizeof(name) - 1 + OTELP_TRACEPARENT_LEN + 2;

		if (line <= w.cap - w.len) {
			char *p = w.p + w.len;

			memcpy(p, name, sizeof(name) - 1);
			otelp__traceparent_format(ctx, p + sizeof(name) - 1);
			memcpy(p + line - 2, "\r\n", 2);
			w.len += line;
		} else {
			w.overflow = true;
		}
		if (tracestate && tracestate_len && header_value_safe(tracestate, tracestate_len)) {
			put_str(&w, "tracestate: ");
			put(&w, tracestate, tracestate_len);
			put_str(&w, "\r\n");
		}
	}
	if ((propagators & OTELP_PROP_BAGGAGE) && baggage && baggage_len &&
	    header_value_safe(baggage, baggage_len)) {
		put_str(&w, "baggage: ");
		put(&w, baggage, baggage_len);
		put_str(&w, "\r\n");
	}
	if (propagators & OTELP_PROP_B3) {
		put_str(&w, "b3: ");
		put(&w, trace_hex, sizeof(trace_hex));
		put_str(&w, "-");
		put(&w, span_hex, sizeof(span_hex));
		if (ctx->b3_debug)
			put_str(&w, "-d\r\n");
		else if (ctx->flags & OTELP_TRACE_FLAG_SAMPLED)
			put_str(&w, "-1\r\n");
		else
			put_str(&w, "-0\r\n");
	}
	if (propagators & OTELP_PROP_B3MULTI) {
		put_str(&w, "X-B3-TraceId: ");
		put(&w, trace_hex, sizeof(trace_hex));
		put_str(&w, "\r\nX-B3-SpanId: ");
		put(&w, span_hex, sizeof(span_hex));
		put_str(&w, "\r\n");
		/* Debug implies accept: X-B3-Sampled is not sent with it (B3 spec). */
		if (ctx->b3_debug)
			put_str(&w, "X-B3-Flags: 1\r\n");
		else if (ctx->flags & OTELP_TRACE_FLAG_SAMPLED)
			put_str(&w, "X-B3-Sampled: 1\r\n");
		else
			put_str(&w, "X-B3-Sampled: 0\r\n");
	}
	return w.overflow ? 0 : w.len;
}
