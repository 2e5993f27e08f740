/*
 * Configuration from the environment (contract: config.h; user documentation:
 * docs/configuration.md).
 *
 * DESIGN
 * ------
 * otelp__config_load() starts from the defaults and reads each variable exactly through the
 * getenv function it is given, so tests can pass a table and the shim can pass secure_getenv.
 * Nothing allocates and nothing is kept between calls: every parser works on the caller's
 * string and writes into the fixed-size fields of struct otelp_config. The only global is
 * otelp__cfg itself, which this file defines but never touches.
 *
 * Error policy. An invalid value never stops loading: it is reported by exactly one
 * OTELP_CFGWARN call that names the variable, shows the value (cut at SHOWN_MAX bytes) and says
 * what is used instead, then the fallback applies. For list variables the one warning covers
 * every skipped item. OTLP header values may hold credentials, so the header warnings name the
 * variable and the entry numbers but never print the value.
 *
 * Precedence. A signal-specific (_TRACES_) OTLP variable and a span-specific limit only replace
 * the generic value when they are valid; an invalid one is reported and the generic value (or
 * the default) stays. The endpoint is the exception required by otelp__otlp_traces_url(): an
 * invalid chosen URL gives the default URL.
 *
 * Decisions the spec leaves open (documented in docs/configuration.md):
 *  - Enum and number values are trimmed of spaces and tabs; a value made only of blanks is
 *    treated as unset. Booleans are not trimmed: only "true"/"false" (any case) are accepted.
 *  - Empty items in comma lists ("a,,b", a trailing comma) are skipped silently.
 *  - OTEL_PROPAGATORS that names nothing usable keeps the default; "none" anywhere wins.
 *  - OTEL_RESOURCE_ATTRIBUTES: an unencoded '=' inside a value is an error (the spec says '='
 *    MUST be encoded); a repeated key keeps its last value; %00 is an error.
 *  - OTLP headers: names must be HTTP tokens and decoded values must not contain control
 *    characters (CR/LF would inject headers); such entries are skipped. Keys are compared
 *    case-insensitively when merging (HTTP header names are case-insensitive).
 *  - OTEL_BSP_MAX_EXPORT_BATCH_SIZE larger than the queue: clamped, with a warning only when
 *    the batch size was given explicitly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "config.h"
#include "httpsem.h"

struct otelp_config otelp__cfg;

#define DEFAULT_ENDPOINT    "http://localhost:4318/v1/traces"
#define DEFAULT_PROPAGATORS (OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE)
#define INT31_MAX           2147483647u
#define SHOWN_MAX           200 /* bytes of a bad value repeated in a warning */
#define ITEM_SHOWN_MAX      64  /* bytes of one list item repeated in a warning */

#define OTLP_VAR(opt)   "OTEL_EXPORTER_OTLP_" opt
#define TRACES_VAR(opt) "OTEL_EXPORTER_OTLP_TRACES_" opt

/* The one diagnostic for a bad value: "VAR=value: <reason>, using <fallback>". */
#define WARN_VALUE(var, val, fmt, ...)                            \
	OTELP_CFGWARN("%s=%.*s%s: " fmt, (var), SHOWN_MAX, (val), \
	              strlen(val) > SHOWN_MAX ? "..." : "", ##__VA_ARGS__)

struct loader {
	const char *(*getenv_fn)(const char *name);
	struct otelp_config *cfg;
};

/* A byte range of a value, not NUL-terminated. */
struct tok {
	const char *p;
	size_t n;
};

/* One warning's worth of skipped list items: "a (unknown), b (not supported)". */
struct note {
	char buf[256];
	size_t len;
	unsigned count;
};

struct name_val {
	const char *name;
	int val;         /* < 0: a known name that we do not support */
	const char *why; /* shown for unsupported names */
};

/* Empty means unset (spec, "Parsing empty value"). */
static const char *env(const struct loader *ld, const char *name)
{
	const char *v = ld->getenv_fn(name);
	return v && v[0] ? v : NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct tok trim(const char *p, size_t n)
{
	while (n && is_ows(p[0])) {
		p++;
		n--;
	}
	while (n && is_ows(p[n - 1]))
		n--;
	return (struct tok){p, n};
}

static struct tok trim_str(const char *s)
{
	return trim(s, strlen(s));
}

static bool tok_is(struct tok t, const char *lit)
{
	size_t n = strlen(lit);
	return t.n == n && strncasecmp(t.p, lit, n) == 0;
}

/* Next comma-separated item of *cur, trimmed (possibly empty); false when there is none. */
static bool next_item(const char **cur, struct tok *item)
{
	const char *p = *cur;
	if (!p)
		return false;
	const char *comma = strchr(p, ',');
	size_t n = comma ? (size_t)(comma - p) : strlen(p);
	*item = trim(p, n);
	*cur = comma ? comma + 1 : NULL;
	return true;
}

static void note_add(struct note *nt, struct tok t, const char *tag)
{
	int shown = (int)(t.n > ITEM_SHOWN_MAX ? ITEM_SHOWN_MAX : t.n);
	size_t room = sizeof(nt->buf) - nt->len;
	int w =
	    snprintf(nt->buf + nt->len, room, "%s%.*s%s", nt->count ? ", " : "", shown, t.p, tag);
	if (w > 0)
		nt->len += (size_t)w < room ? (size_t)w : room - 1;
	nt->count++;
}

static void note_add_entry(struct note *nt, unsigned idx, const char *why)
{
	size_t room = sizeof(nt->buf) - nt->len;
	int w =
	    snprintf(nt->buf + nt->len, room, "%sentry %u: %s", nt->count ? "; " : "", idx, why);
	if (w > 0)
		nt->len += (size_t)w < room ? (size_t)w : room - 1;
	nt->count++;
}

static const struct name_val *lookup(const struct name_val *tab, size_t n, struct tok t)
{
	for (size_t i = 0; i < n; i++)
		if (tok_is(t, tab[i].name))
			return &tab[i];
	return NULL;
}

static const char *name_of(const struct name_val *tab, size_t n, int val)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].val == val)
			return tab[i].name;
	return "?";
}

/* Copy a NUL-terminated string if it fits; false (dst untouched) if it does not. */
static bool copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* ---- Scalars ---------------------------------------------------------------------------- */

static void read_bool(const struct loader *ld, const char *var, bool *val)
{
	const char *v = env(ld, var);
	if (!v)
		return;
	if (strcasecmp(v, "true") == 0)
		*val = true;
	else if (strcasecmp(v, "false") == 0)
		*val = false;
	else {
		WARN_VALUE(var, v, "not a boolean (true or false), using default false");
		*val = false;
	}
}

/*
 * A string kept as-is. fb_var names where the current value of dst came from (NULL: the
 * default, which is "unset" for every string variable). Returns true when dst was replaced.
 */
static bool read_string(const struct loader *ld, const char *var, char *dst, size_t cap,
                        const char *fb_var)
{
	const char *v = env(ld, var);
	if (!v)
		return false;
	if (copy_str(dst, cap, v))
		return true;
	if (fb_var)
		WARN_VALUE(var, v, "longer than %zu bytes, using the value of %s", cap - 1, fb_var);
	else
		WARN_VALUE(var, v, "longer than %zu bytes, using default (unset)", cap - 1);
	return false;
}

enum num_status {
	NUM_OK,
	NUM_SYNTAX,
	NUM_NEGATIVE,
	NUM_RANGE,
};

/* A decimal integer 0..2^31-1 (common.md#integer), blanks around it allowed. */
static enum num_status parse_int31(const char *s, uint32_t *out)
{
	struct tok t = trim_str(s);
	size_t i = 0;
	bool neg = t.n && t.p[0] == '-';
	uint64_t v = 0;

	if (neg)
		i++;
	if (i == t.n)
		return NUM_SYNTAX;
	for (; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return NUM_SYNTAX;
		if (v <= INT31_MAX)
			v = v * 10 + (uint64_t)(t.p[i] - '0');
	}
	if (neg)
		return NUM_NEGATIVE;
	if (v > INT31_MAX)
		return NUM_RANGE;
	*out = (uint32_t)v;
	return NUM_OK;
}

enum num_kind {
	NUM_INTEGER,  /* Integer or Duration: 0..2^31-1 */
	NUM_POSITIVE, /* 1..2^31-1 (queue and batch sizes) */
	NUM_TIMEOUT,  /* Timeout: 0 means no limit, stored as UINT32_MAX */
};

/*
 * A numeric variable. *val holds the fallback on entry and is replaced only by a valid value;
 * fb_var names where the fallback came from (NULL: the default). Returns the raw value when it
 * was used, NULL when the variable is unset or invalid (then after one warning).
 */
static const char *read_number(const struct loader *ld, const char *var, enum num_kind kind,
                               const char *fb_var, uint32_t *val)
{
	const char *v = env(ld, var);
	const char *why = NULL;
	uint32_t x = 0;
	char fb[24];

	if (!v || trim_str(v).n == 0)
		return NULL;
	switch (parse_int31(v, &x)) {
	case NUM_OK:
		if (kind == NUM_POSITIVE && x == 0)
			why = "must be positive";
		break;
	case NUM_SYNTAX:
		why = "not a non-negative decimal integer";
		break;
	case NUM_NEGATIVE:
		why = "negative values are not allowed";
		break;
	case NUM_RANGE:
		why = "larger than 2147483647";
		break;
	}
	if (!why) {
		*val = kind == NUM_TIMEOUT && x == 0 ? UINT32_MAX : x;
		return v;
	}
	if (*val == UINT32_MAX)
		snprintf(fb, sizeof(fb), "no limit");
	else
		snprintf(fb, sizeof(fb), "%" PRIu32, *val);
	if (fb_var)
		WARN_VALUE(var, v, "%s, using %s from %s", why, fb, fb_var);
	else
		WARN_VALUE(var, v, "%s, using default %s", why, fb);
	return NULL;
}

/*
 * An enum variable, case-insensitive. Same fallback rules as read_number(). Returns true when
 * *val was replaced.
 */
static bool read_enum(const struct loader *ld, const char *var, const struct name_val *tab,
                      size_t n, const char *what, const char *fb_var, int *val)
{
	const char *v = env(ld, var);
	const struct name_val *e;
	const char *fb;
	char why[96];

	if (!v)
		return false;
	struct tok t = trim_str(v);
	if (!t.n)
		return false;
	e = lookup(tab, n, t);
	if (e && e->val >= 0) {
		*val = e->val;
		return true;
	}
	if (e)
		snprintf(why, sizeof(why), "%s", e->why);
	else
		snprintf(why, sizeof(why), "unknown %s", what);
	fb = name_of(tab, n, *val);
	if (fb_var)
		WARN_VALUE(var, v, "%s, using %s from %s", why, fb, fb_var);
	else
		WARN_VALUE(var, v, "%s, using default %s", why, fb);
	return false;
}

/*
 * A probability: decimal digits with an optional fraction and exponent ("0.25", ".5", "1e-3").
 * Parsed by hand because strtod() depends on the host's locale.
 */
static bool parse_ratio(const char *s, double *out)
{
	struct tok t = trim_str(s);
	uint64_t mant = 0;
	unsigned sig = 0, digits = 0;
	long exp10 = 0;
	size_t i = 0;
	bool frac = false;

	for (; i < t.n; i++) {
		char c = t.p[i];
		if (c == '.' && !frac) {
			frac = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		digits++;
		if (sig < 18) {
			mant = mant * 10 + (uint64_t)(c - '0');
			if (mant)
				sig++;
			if (frac)
				exp10--;
		} else if (!frac) {
			exp10++;
		}
	}
	if (!digits)
		return false;
	if (i < t.n && (t.p[i] == 'e' || t.p[i] == 'E')) {
		bool neg = false;
		long e = 0;
		size_t start;
		i++;
		if (i < t.n && (t.p[i] == '+' || t.p[i] == '-'))
			neg = t.p[i++] == '-';
		start = i;
		for (; i < t.n && t.p[i] >= '0' && t.p[i] <= '9'; i++)
			if (e < 100000)
				e = e * 10 + (t.p[i] - '0');
		if (i == start)
			return false;
		exp10 += neg ? -e : e;
	}
	if (i != t.n)
		return false;

	double v = (double)mant;
	if (mant && exp10 > 0) {
		if (exp10 > 30)
			return false; /* > 1 */
		while (exp10--)
			v *= 10;
	} else if (mant && exp10 < 0) {
		double p = 1;
		if (exp10 < -400)
			v = 0;
		else
			while (exp10++)
				p *= 10;
		v /= p;
	}
	if (!(v >= 0.0 && v <= 1.0))
		return false;
	*out = v;
	return true;
}

/* ---- Percent-encoding ------------------------------------------------------------------- */

/*
 * %XX with two hex digits decodes to that byte, except %00: a NUL cannot live in our C strings,
 * so it counts as malformed. Anything else after '%' is malformed too.
 */
static int escape_at(const char *in, size_t n, size_t i)
{
	if (n - i < 3)
		return -1;
	int hi = otelp__hex_digit(in[i + 1]), lo = otelp__hex_digit(in[i + 2]);
	if (hi < 0 || lo < 0 || (hi | lo) == 0)
		return -1;
	return hi << 4 | lo;
}

int otelp__percent_decode(const char *in, size_t n, char *out, size_t cap, bool strict)
{
	size_t o = 0;

	if (!cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '\0')
			return -1;
		if (c == '%') {
			int b = escape_at(in, n, i);
			if (b >= 0) {
				c = (char)b;
				i += 2;
			} else if (strict) {
				return -1;
			}
		}
		if (o + 1 >= cap || o >= INT31_MAX)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

static bool escapes_ok(struct tok t)
{
	for (size_t i = 0; i < t.n; i++)
		if (t.p[i] == '%' && escape_at(t.p, t.n, i) < 0)
			return false;
	return true;
}

/* ---- Key/value lists -------------------------------------------------------------------- */

/* Replace the value of key, or append it; false when the list is full. */
static bool kv_put(struct otelp_cfg_kv *kv, unsigned *n, const char *key, const char *value,
                   bool nocase)
{
	for (unsigned i = 0; i < *n; i++) {
		if ((nocase ? strcasecmp(kv[i].key, key) : strcmp(kv[i].key, key)) == 0)
			return copy_str(kv[i].value, sizeof(kv[i].value), value);
	}
	if (*n >= OTELP_CFG_KV_MAX)
		return false;
	if (!copy_str(kv[*n].key, sizeof(kv[*n].key), key) ||
	    !copy_str(kv[*n].value, sizeof(kv[*n].value), value))
		return false;
	(*n)++;
	return true;
}

/*
 * OTEL_RESOURCE_ATTRIBUTES (resource/sdk.md): strict. Returns true, or false with why[] telling
 * why the whole variable must be dropped.
 */
static bool parse_resource(const char *v, struct otelp_cfg_kv *kv, unsigned *n, char *why,
                           size_t why_cap)
{
	char key[OTELP_CFG_KEY_MAX], value[OTELP_CFG_VAL_MAX];
	const char *cur = v;
	unsigned entry = 0;
	struct tok item;

#define FAIL(...)                                                              \
	do {                                                                   \
		int w_ = snprintf(why, why_cap, "entry %u: ", entry);          \
		if (w_ > 0 && (size_t)w_ < why_cap)                            \
			snprintf(why + w_, why_cap - (size_t)w_, __VA_ARGS__); \
		return false;                                                  \
	} while (0)

	*n = 0;
	while (next_item(&cur, &item)) {
		++entry;
		if (!item.n)
			continue;
		const char *eq = memchr(item.p, '=', item.n);
		if (!eq)
			FAIL("no '='");
		struct tok k = trim(item.p, (size_t)(eq - item.p));
		struct tok val = trim(eq + 1, item.n - (size_t)(eq - item.p) - 1);
		if (!k.n)
			FAIL("empty key");
		if (memchr(val.p, '=', val.n))
			FAIL("'=' in a value must be percent-encoded as %%3D");
		if (!escapes_ok(k) || !escapes_ok(val))
			FAIL("malformed percent-encoding");
		if (otelp__percent_decode(k.p, k.n, key, sizeof(key), true) < 0)
			FAIL("key longer than %u bytes", OTELP_CFG_KEY_MAX - 1);
		if (otelp__percent_decode(val.p, val.n, value, sizeof(value), true) < 0)
			FAIL("value longer than %u bytes", OTELP_CFG_VAL_MAX - 1);
		if (!kv_put(kv, n, key, value, false))
			FAIL("more than %u attributes", OTELP_CFG_KV_MAX);
	}
	return true;
#undef FAIL
}

static void read_resource(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	const char *v = env(ld, "OTEL_RESOURCE_ATTRIBUTES");
	char why[96];

	if (!v || parse_resource(v, cfg->resource, &cfg->n_resource, why, sizeof(why)))
		return;
	memset(cfg->resource, 0, sizeof(cfg->resource));
	cfg->n_resource = 0;
	WARN_VALUE("OTEL_RESOURCE_ATTRIBUTES", v, "%s, ignoring the whole variable", why);
}

static bool is_token(struct tok t)
{
	for (size_t i = 0; i < t.n; i++)
		if (!otelp__is_tchar((unsigned char)t.p[i]))
			return false;
	return t.n > 0;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

/*
 * OTEL_EXPORTER_OTLP_{,TRACES_}HEADERS (exporter.md, W3C-baggage-like): merged into
 * cfg->otlp_headers, a later key replacing an earlier one. Values are decoded leniently.
 */
static void read_headers(const struct loader *ld, const char *var)
{
	struct otelp_config *cfg = ld->cfg;
	const char *v = env(ld, var);
	char key[OTELP_CFG_KEY_MAX], value[OTELP_CFG_VAL_MAX];
	struct note bad = {.count = 0};
	unsigned idx = 0;
	struct tok item;

	if (!v)
		return;
	while (next_item(&v, &item)) {
		const char *why = NULL;
		idx++;
		if (!item.n)
			continue;
		const char *eq = memchr(item.p, '=', item.n);
		if (!eq) {
			why = "no '='";
		} else {
			struct tok k = trim(item.p, (size_t)(eq - item.p));
			struct tok val = trim(eq + 1, item.n - (size_t)(eq - item.p) - 1);
			if (!k.n)
				why = "empty key";
			else if (!is_token(k))
				why = "key is not a valid HTTP header name";
			else if (k.n >= sizeof(key))
				why = "key too long";
			else if (otelp__percent_decode(val.p, val.n, value, sizeof(value), false) <
			         0)
				why = "value too long";
			else if (has_ctl(value))
				why = "control character in the value";
			else {
				memcpy(key, k.p, k.n);
				key[k.n] = '\0';
				if (!kv_put(cfg->otlp_headers, &cfg->n_otlp_headers, key, value,
				            true))
					why = "too many headers";
			}
		}
		if (why)
			note_add_entry(&bad, idx, why);
	}
	if (bad.count)
		OTELP_CFGWARN("%s: skipped %u invalid entr%s (%s), other entries used; header "
		              "values are not shown",
		              var, bad.count, bad.count == 1 ? "y" : "ies", bad.buf);
}

/* ---- OTLP endpoint ---------------------------------------------------------------------- */

enum url_status {
	URL_OK,
	URL_BAD_CHAR,
	URL_BAD_SCHEME,
	URL_BAD_HOST,
	URL_TOO_LONG,
};

static const char *const url_why[] = {
    [URL_OK] = "",
    [URL_BAD_CHAR] = "spaces and control characters are not allowed in a URL",
    [URL_BAD_SCHEME] = "not an http:// or https:// URL",
    [URL_BAD_HOST] = "missing host or invalid port",
    [URL_TOO_LONG] = "URL too long",
};

/* userinfo@host:port, IPv6 literals in brackets; the host must not be empty. */
static bool authority_ok(const char *a, size_t n)
{
	const char *end = a + n;
	const char *at = memrchr(a, '@', n);
	const char *host = at ? at + 1 : a;
	const char *port;

	if (host < end && host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close || close == host + 1)
			return false;
		port = close + 1;
		if (port < end && *port != ':')
			return false;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		port = colon ? colon : end;
		if (port == host)
			return false;
	}
	if (port < end) {
		uint32_t p = 0;
		for (port++; port < end; port++) {
			if (*port < '0' || *port > '9')
				return false;
			p = p * 10 + (uint32_t)(*port - '0');
			if (p > 65535)
				return false;
		}
	}
	return true;
}

/*
 * exporter.md#endpoint-urls-for-otlphttp. per_signal: the URL is used as-is, except that an
 * empty path becomes "/". Otherwise it is a base URL: its path gets a trailing '/' if it has
 * none, then "v1/traces". The query, if any, stays after the path. Nothing else is touched
 * (no port is ever added).
 */
static enum url_status build_url(const char *v, bool per_signal, char *out, size_t cap)
{
	size_t skip;

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return URL_BAD_CHAR;
	if (strncasecmp(v, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return URL_BAD_SCHEME;

	const char *auth = v + skip;
	size_t alen = strcspn(auth, "/?#");
	if (!authority_ok(auth, alen))
		return URL_BAD_HOST;
	const char *path = auth + alen;
	size_t plen = strcspn(path, "?#");
	const char *tail = path + plen;
	const char *slash = "", *suffix = "";
	if (per_signal) {
		if (!plen)
			slash = "/";
	} else {
		if (!plen || path[plen - 1] != '/')
			slash = "/";
		suffix = "v1/traces";
	}
	if (strlen(v) >= cap)
		return URL_TOO_LONG;
	int w = snprintf(out, cap, "%.*s%s%s%s", (int)(tail - v), v, slash, suffix, tail);
	if (w < 0 || (size_t)w >= cap)
		return URL_TOO_LONG;
	return URL_OK;
}

int otelp__otlp_traces_url(const char *traces_endpoint, const char *generic_endpoint, char *out,
                           size_t cap)
{
	enum url_status st;

	if (traces_endpoint && traces_endpoint[0]) {
		st = build_url(traces_endpoint, true, out, cap);
	} else if (generic_endpoint && generic_endpoint[0]) {
		st = build_url(generic_endpoint, false, out, cap);
	} else {
		snprintf(out, cap, "%s", DEFAULT_ENDPOINT);
		return 0;
	}
	if (st == URL_OK)
		return 0;
	snprintf(out, cap, "%s", DEFAULT_ENDPOINT);
	return -1;
}

/* ---- Variables -------------------------------------------------------------------------- */

static const struct name_val log_levels[] = {
    {"none", OTELP_LOG_NONE, NULL},   {"error", OTELP_LOG_ERROR, NULL},
    {"warn", OTELP_LOG_WARN, NULL},   {"info", OTELP_LOG_INFO, NULL},
    {"debug", OTELP_LOG_DEBUG, NULL}, {"verbose", OTELP_LOG_DEBUG, NULL},
    {"all", OTELP_LOG_DEBUG, NULL},
};

static const struct name_val propagators[] = {
    {"tracecontext", OTELP_PROP_TRACECONTEXT, NULL},
    {"baggage", OTELP_PROP_BAGGAGE, NULL},
    {"b3", OTELP_PROP_B3, NULL},
    {"b3multi", OTELP_PROP_B3MULTI, NULL},
    {"none", 0, NULL},
    {"jaeger", -1, "not supported"},
    {"xray", -1, "not supported"},
    {"ottrace", -1, "not supported"},
};

static const struct name_val samplers[] = {
    {"always_on", OTELP_SAMPLER_ALWAYS_ON, NULL},
    {"always_off", OTELP_SAMPLER_ALWAYS_OFF, NULL},
    {"traceidratio", OTELP_SAMPLER_TRACEIDRATIO, NULL},
    {"parentbased_always_on", OTELP_SAMPLER_PB_ALWAYS_ON, NULL},
    {"parentbased_always_off", OTELP_SAMPLER_PB_ALWAYS_OFF, NULL},
    {"parentbased_traceidratio", OTELP_SAMPLER_PB_TRACEIDRATIO, NULL},
    {"jaeger_remote", -1, "sampler not supported"},
    {"parentbased_jaeger_remote", -1, "sampler not supported"},
    {"xray", -1, "sampler not supported"},
};

static const struct name_val exporters[] = {
    {"otlp", OTELP_EXPORTER_OTLP, NULL},           {"console", OTELP_EXPORTER_CONSOLE, NULL},
    {"none", OTELP_EXPORTER_NONE, NULL},           {"file", OTELP_EXPORTER_FILE, NULL},
    {"zipkin", -1, "exporter not supported"},      {"logging", -1, "exporter not supported"},
    {"otlp/stdout", -1, "exporter not supported"},
};

static const struct name_val compressions[] = {
    {"none", OTELP_COMPRESSION_NONE, NULL},
    {"gzip", OTELP_COMPRESSION_GZIP, NULL},
};

static const struct name_val protocols[] = {
    {"http/protobuf", OTELP_PROTO_HTTP_PROTOBUF, NULL},
    {"http/json", OTELP_PROTO_HTTP_JSON, NULL},
    {"grpc", -1, "gRPC is not supported (OTLP/HTTP only)"},
};

static const struct name_val db_texts[] = {
    {"sanitized", OTELP_DB_TEXT_SANITIZED, NULL},
    {"raw", OTELP_DB_TEXT_RAW, NULL},
    {"off", OTELP_DB_TEXT_OFF, NULL},
};

static const struct name_val stacktraces[] = {
    {"errors", OTELP_STACKTRACE_ERRORS, NULL},
    {"all", OTELP_STACKTRACE_ALL, NULL},
    {"off", OTELP_STACKTRACE_OFF, NULL},
};

static const struct name_val instrumentations[] = {
    {"http", OTELP_INST_HTTP, NULL},
    {"libpq", OTELP_INST_LIBPQ, NULL},
    {"hiredis", OTELP_INST_HIREDIS, NULL},
};

static void read_general(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	int level = (int)cfg->log_level;

	read_bool(ld, "OTEL_SDK_DISABLED", &cfg->disabled);
	read_string(ld, "OTEL_SERVICE_NAME", cfg->service_name, sizeof(cfg->service_name), NULL);
	read_resource(ld);
	read_enum(ld, "OTEL_LOG_LEVEL", log_levels, OTELP_ARRAY_SIZE(log_levels), "log level", NULL,
	          &level);
	cfg->log_level = (enum otelp_log_level)level;
	read_string(ld, "OTEL_PRELOAD_LOG_FILE", cfg->log_file, sizeof(cfg->log_file), NULL);
}

static void read_propagators(const struct loader *ld)
{
	const char *v = env(ld, "OTEL_PROPAGATORS");
	const char *cur = v;
	struct note skipped = {.count = 0};
	unsigned set = 0;
	bool none = false, any = false;
	struct tok t;

	while (next_item(&cur, &t)) {
		if (!t.n)
			continue;
		const struct name_val *e = lookup(propagators, OTELP_ARRAY_SIZE(propagators), t);
		if (!e) {
			note_add(&skipped, t, " (unknown)");
			continue;
		}
		if (e->val < 0) {
			note_add(&skipped, t, " (not supported)");
			continue;
		}
		any = true;
		if (e->val == 0)
			none = true;
		set |= (unsigned)e->val;
	}
	if (!any) {
		if (skipped.count)
			WARN_VALUE("OTEL_PROPAGATORS", v,
			           "skipped %s, using default tracecontext,baggage", skipped.buf);
		return;
	}
	if (skipped.count)
		WARN_VALUE("OTEL_PROPAGATORS", v, "skipped %s, using the others", skipped.buf);
	ld->cfg->propagators = none ? 0 : set;
}

static void read_sampler(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	int s = (int)cfg->sampler;

	read_enum(ld, "OTEL_TRACES_SAMPLER", samplers, OTELP_ARRAY_SIZE(samplers), "sampler", NULL,
	          &s);
	cfg->sampler = (enum otelp_sampler_kind)s;
	if (cfg->sampler != OTELP_SAMPLER_TRACEIDRATIO &&
	    cfg->sampler != OTELP_SAMPLER_PB_TRACEIDRATIO)
		return;
	const char *a = env(ld, "OTEL_TRACES_SAMPLER_ARG");
	if (a && !parse_ratio(a, &cfg->sampler_ratio))
		WARN_VALUE("OTEL_TRACES_SAMPLER_ARG", a,
		           "not a decimal number between 0 and 1, using default 1.0");
}

/* Only one exporter is supported: a list keeps its first usable entry. */
static void read_exporter(const struct loader *ld)
{
	const char *v = env(ld, "OTEL_TRACES_EXPORTER");
	const char *cur = v;
	const struct name_val *single = NULL;
	struct note skipped = {.count = 0};
	unsigned kinds = 0, items = 0;
	int first = -1;
	struct tok t;

	while (next_item(&cur, &t)) {
		if (!t.n)
			continue;
		items++;
		const struct name_val *e = lookup(exporters, OTELP_ARRAY_SIZE(exporters), t);
		single = e;
		if (!e) {
			note_add(&skipped, t, " (unknown)");
		} else if (e->val < 0) {
			note_add(&skipped, t, " (not supported)");
		} else {
			kinds |= 1u << e->val;
			if (first < 0 && e->val != OTELP_EXPORTER_NONE)
				first = e->val;
		}
	}
	if (!items)
		return;
	if (!skipped.count && (kinds & (kinds - 1)) == 0) {
		/* One name, possibly repeated. */
		ld->cfg->exporter = (enum otelp_exporter_kind)__builtin_ctz(kinds);
		return;
	}
	if (items == 1) {
		WARN_VALUE("OTEL_TRACES_EXPORTER", v, "%s, using default otlp",
		           single ? single->why : "unknown exporter");
		return;
	}
	if (first >= 0) {
		ld->cfg->exporter = (enum otelp_exporter_kind)first;
		WARN_VALUE("OTEL_TRACES_EXPORTER", v, "only one exporter is supported, using %s",
		           name_of(exporters, OTELP_ARRAY_SIZE(exporters), first));
	} else {
		WARN_VALUE("OTEL_TRACES_EXPORTER", v,
		           "only one exporter is supported and none of these is usable, using "
		           "default otlp");
	}
}

static void read_bsp(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	const char *batch;

	read_number(ld, "OTEL_BSP_SCHEDULE_DELAY", NUM_INTEGER, NULL, &cfg->bsp_schedule_delay_ms);
	read_number(ld, "OTEL_BSP_EXPORT_TIMEOUT", NUM_TIMEOUT, NULL, &cfg->bsp_export_timeout_ms);
	read_number(ld, "OTEL_BSP_MAX_QUEUE_SIZE", NUM_POSITIVE, NULL, &cfg->bsp_max_queue_size);
	batch = read_number(ld, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", NUM_POSITIVE, NULL,
	                    &cfg->bsp_max_export_batch_size);
	if (cfg->bsp_max_export_batch_size <= cfg->bsp_max_queue_size)
		return;
	if (batch)
		WARN_VALUE("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", batch,
		           "larger than the queue size, using %" PRIu32
		           " (OTEL_BSP_MAX_QUEUE_SIZE)",
		           cfg->bsp_max_queue_size);
	cfg->bsp_max_export_batch_size = cfg->bsp_max_queue_size;
}

/* Precedence: model-specific limit, then the general one, then the default (common/README). */
static void read_limits(const struct loader *ld)
{
	struct otelp_limits *l = &ld->cfg->limits;
	uint32_t len = l->attr_value_length, count = l->attr_count;
	const char *glen, *gcount;

	glen = read_number(ld, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", NUM_INTEGER, NULL, &len);
	gcount = read_number(ld, "OTEL_ATTRIBUTE_COUNT_LIMIT", NUM_INTEGER, NULL, &count);
	const char *len_src = glen ? "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT" : NULL;
	const char *count_src = gcount ? "OTEL_ATTRIBUTE_COUNT_LIMIT" : NULL;

	l->attr_value_length = len;
	l->attr_count = l->event_attr_count = l->link_attr_count = count;
	read_number(ld, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", NUM_INTEGER, len_src,
	            &l->attr_value_length);
	read_number(ld, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", NUM_INTEGER, count_src, &l->attr_count);
	read_number(ld, "OTEL_SPAN_EVENT_COUNT_LIMIT", NUM_INTEGER, NULL, &l->event_count);
	read_number(ld, "OTEL_SPAN_LINK_COUNT_LIMIT", NUM_INTEGER, NULL, &l->link_count);
	read_number(ld, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", NUM_INTEGER, count_src,
	            &l->event_attr_count);
	read_number(ld, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", NUM_INTEGER, count_src,
	            &l->link_attr_count);
}

/* A generic/TRACES_ pair of string variables: the TRACES_ one wins when it is usable. */
static void read_string_pair(const struct loader *ld, const char *generic, const char *traces,
                             char *dst, size_t cap)
{
	bool g = read_string(ld, generic, dst, cap, NULL);
	read_string(ld, traces, dst, cap, g ? generic : NULL);
}

static void read_enum_pair(const struct loader *ld, const char *generic, const char *traces,
                           const struct name_val *tab, size_t n, const char *what, int *val)
{
	bool g = read_enum(ld, generic, tab, n, what, NULL, val);
	read_enum(ld, traces, tab, n, what, g ? generic : NULL, val);
}

static void read_otlp(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	const char *te = env(ld, TRACES_VAR("ENDPOINT"));
	const char *ge = env(ld, OTLP_VAR("ENDPOINT"));
	int e;

	if (te || ge) {
		const char *var = te ? TRACES_VAR("ENDPOINT") : OTLP_VAR("ENDPOINT");
		const char *val = te ? te : ge;
		enum url_status st =
		    build_url(val, te != NULL, cfg->otlp_endpoint, sizeof(cfg->otlp_endpoint));
		if (st != URL_OK) {
			WARN_VALUE(var, val, "%s, using default " DEFAULT_ENDPOINT, url_why[st]);
			snprintf(cfg->otlp_endpoint, sizeof(cfg->otlp_endpoint), "%s",
			         DEFAULT_ENDPOINT);
		}
	}

	read_headers(ld, OTLP_VAR("HEADERS"));
	read_headers(ld, TRACES_VAR("HEADERS"));

	const char *gt =
	    read_number(ld, OTLP_VAR("TIMEOUT"), NUM_TIMEOUT, NULL, &cfg->otlp_timeout_ms);
	read_number(ld, TRACES_VAR("TIMEOUT"), NUM_TIMEOUT, gt ? OTLP_VAR("TIMEOUT") : NULL,
	            &cfg->otlp_timeout_ms);

	e = (int)cfg->otlp_compression;
	read_enum_pair(ld, OTLP_VAR("COMPRESSION"), TRACES_VAR("COMPRESSION"), compressions,
	               OTELP_ARRAY_SIZE(compressions), "compression", &e);
	cfg->otlp_compression = (enum otelp_compression)e;

	/*
	 * grpc falls back to http/protobuf; the endpoint is left alone: the default stays
	 * port 4318 and a URL the user gave is used as given.
	 */
	e = (int)cfg->otlp_protocol;
	read_enum_pair(ld, OTLP_VAR("PROTOCOL"), TRACES_VAR("PROTOCOL"), protocols,
	               OTELP_ARRAY_SIZE(protocols), "OTLP protocol", &e);
	cfg->otlp_protocol = (enum otelp_otlp_protocol)e;

	read_string_pair(ld, OTLP_VAR("CERTIFICATE"), TRACES_VAR("CERTIFICATE"),
	                 cfg->otlp_certificate, sizeof(cfg->otlp_certificate));
	read_string_pair(ld, OTLP_VAR("CLIENT_KEY"), TRACES_VAR("CLIENT_KEY"), cfg->otlp_client_key,
	                 sizeof(cfg->otlp_client_key));
	read_string_pair(ld, OTLP_VAR("CLIENT_CERTIFICATE"), TRACES_VAR("CLIENT_CERTIFICATE"),
	                 cfg->otlp_client_certificate, sizeof(cfg->otlp_client_certificate));
}

/* A list of instrumentation names; false when unset or blank. */
static bool read_instrumentations(const struct loader *ld, const char *var, unsigned *mask)
{
	const char *v = env(ld, var);
	const char *cur = v;
	struct note skipped = {.count = 0};
	unsigned items = 0;
	struct tok t;

	*mask = 0;
	while (next_item(&cur, &t)) {
		if (!t.n)
			continue;
		items++;
		const struct name_val *e =
		    lookup(instrumentations, OTELP_ARRAY_SIZE(instrumentations), t);
		if (e)
			*mask |= (unsigned)e->val;
		else
			note_add(&skipped, t, "");
	}
	if (skipped.count)
		WARN_VALUE(var, v,
		           "skipped unknown instrumentation%s %s (known: http, libpq, "
		           "hiredis), using the others",
		           skipped.count == 1 ? "" : "s", skipped.buf);
	return items > 0;
}

static const struct name_val http_routes[] = {
    {"off", 0, NULL},
    {"heuristic", 1, NULL},
};

/* A comma-separated list of header names or paths, normalized; invalid: warning, empty list. */
static void read_list(const struct loader *ld, const char *var, char *dst, size_t cap, bool lower,
                      bool paths)
{
	const char *v = env(ld, var);

	dst[0] = 0;
	if (!v)
		return;
	if (otelp__http_list_normalize(v, dst, cap, lower, paths) < 0) {
		dst[0] = 0;
		WARN_VALUE(var, v, "%s, using default (none)",
		           paths ? "an entry is not a path starting with '/' or '*' (or too long)"
		                 : "an entry is not a header name (or too long)");
	}
}

static void read_own(const struct loader *ld)
{
	struct otelp_config *cfg = ld->cfg;
	unsigned mask;

	if (read_instrumentations(ld, "OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", &mask))
		cfg->instrumentations = mask;
	if (read_instrumentations(ld, "OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", &mask))
		cfg->instrumentations &= ~mask;
	/* Not a Timeout: 0 means "do not wait for the last export at exit". */
	read_number(ld, "OTEL_PRELOAD_SHUTDOWN_TIMEOUT", NUM_INTEGER, NULL,
	            &cfg->shutdown_timeout_ms);
	int route = 0;
	read_enum(ld, "OTEL_PRELOAD_HTTP_ROUTE", http_routes, OTELP_ARRAY_SIZE(http_routes),
	          "route mode", NULL, &route);
	cfg->http_route_heuristic = route == 1;
	read_list(ld, "OTEL_PRELOAD_HTTP_IGNORE_PATHS", cfg->http_ignore_paths,
	          sizeof(cfg->http_ignore_paths), false, true);
	read_list(ld, "OTEL_PRELOAD_HTTP_CAPTURE_REQUEST_HEADERS", cfg->http_capture_req,
	          sizeof(cfg->http_capture_req), true, false);
	read_list(ld, "OTEL_PRELOAD_HTTP_CAPTURE_RESPONSE_HEADERS", cfg->http_capture_resp,
	          sizeof(cfg->http_capture_resp), true, false);
	read_string(ld, "OTEL_PRELOAD_FILE", cfg->file_path, sizeof(cfg->file_path), NULL);
	if (!cfg->file_path[0])
		snprintf(cfg->file_path, sizeof(cfg->file_path), "%s", OTELP_DEFAULT_FILE);
	int mode = OTELP_DB_TEXT_SANITIZED;
	read_enum(ld, "OTEL_PRELOAD_DB_QUERY_TEXT", db_texts, OTELP_ARRAY_SIZE(db_texts),
	          "query text mode", NULL, &mode);
	cfg->db_query_text = (enum otelp_db_text)mode;
	mode = OTELP_STACKTRACE_ERRORS;
	read_enum(ld, "OTEL_PRELOAD_STACKTRACE", stacktraces, OTELP_ARRAY_SIZE(stacktraces),
	          "stack trace mode", NULL, &mode);
	cfg->stacktrace = (enum otelp_stacktrace_mode)mode;
	read_bool(ld, "OTEL_PRELOAD_DB_SQLCOMMENTER", &cfg->db_sqlcommenter);
	read_bool(ld, "OTEL_PRELOAD_DB_RETURNED_ROWS", &cfg->db_returned_rows);
}

void otelp__config_defaults(struct otelp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = OTELP_LOG_INFO;
	cfg->propagators = DEFAULT_PROPAGATORS;
	cfg->sampler = OTELP_SAMPLER_PB_ALWAYS_ON;
	cfg->sampler_ratio = 1.0;
	cfg->exporter = OTELP_EXPORTER_OTLP;
	cfg->bsp_schedule_delay_ms = 5000;
	cfg->bsp_export_timeout_ms = 30000;
	cfg->bsp_max_queue_size = 2048;
	cfg->bsp_max_export_batch_size = 512;
	cfg->limits.attr_value_length = UINT32_MAX;
	cfg->limits.attr_count = 128;
	cfg->limits.event_count = 128;
	cfg->limits.link_count = 128;
	cfg->limits.event_attr_count = 128;
	cfg->limits.link_attr_count = 128;
	snprintf(cfg->otlp_endpoint, sizeof(cfg->otlp_endpoint), "%s", DEFAULT_ENDPOINT);
	cfg->otlp_timeout_ms = 10000;
	cfg->otlp_compression = OTELP_COMPRESSION_NONE;
	cfg->otlp_protocol = OTELP_PROTO_HTTP_PROTOBUF;
	cfg->instrumentations = OTELP_INST_ALL;
	cfg->shutdown_timeout_ms = 2000;
	snprintf(cfg->file_path, sizeof(cfg->file_path), "%s", OTELP_DEFAULT_FILE);
}

void otelp__config_load(struct otelp_config *cfg, const char *(*getenv_fn)(const char *name),
                        bool secure)
{
	struct loader ld = {getenv_fn, cfg};

	otelp__config_defaults(cfg);
	if (secure) {
		/* AT_SECURE: the environment is not ours to trust; read nothing. */
		cfg->secure_mode = true;
		cfg->disabled = true;
		return;
	}
	if (!getenv_fn)
		return;
	read_general(&ld);
	read_propagators(&ld);
	read_sampler(&ld);
	read_exporter(&ld);
	read_bsp(&ld);
	read_limits(&ld);
	read_otlp(&ld);
	read_own(&ld);
}
