/*
 * The reference for fuzz-prop-diff.c: src/httpsem.c as it was before its per-request paths
 * were rewritten for speed (commit af4ee0e), verbatim below the renames. It is compiled as a
 * translation unit of its own, with every function that other files see renamed ref__*, and
 * the rewritten src/httpsem.c must give the same results as this one on every input: the same
 * return values, the same output bytes, the same lengths, the same pointers into the input.
 * Not to be edited, but replaced when the results are meant to change.
 */
#define otelp__http_method_known     ref__http_method_known
#define otelp__http_host_port        ref__http_host_port
#define otelp__http_target_split     ref__http_target_split
#define otelp__http_url_full         ref__http_url_full
#define otelp__http_query_redact     ref__http_query_redact
#define otelp__http_route            ref__http_route
#define otelp__http_path_ignored     ref__http_path_ignored
#define otelp__http_header_listed    ref__http_header_listed
#define otelp__http_header_sensitive ref__http_header_sensitive
#define otelp__http_list_normalize   ref__http_list_normalize
#define otelp__http_xff_first        ref__http_xff_first

/*
 * HTTP semantic conventions: pure helpers over byte ranges.
 *
 * DESIGN
 * ------
 * Everything here works on (pointer, length) pairs that are not NUL-terminated, as they come
 * out of the HTTP/1 parser; only the configuration lists (already normalized, kept by us) are
 * C strings. Nothing allocates, keeps state or calls the system; the only memory written is
 * the caller's output, through a writer that stops at cap - 1 and always terminates. Every
 * scan checks its bound before reading (fuzzed under ASan/UBSan: tests/fuzz/fuzz-httpsem.c).
 *
 * Decisions beyond httpsem.h:
 *  - Host / authority: a port that is not 1..65535 or not all digits makes the value malformed
 *    (false); an empty port ("h:") is allowed and means no port. A reg-name host may hold only
 *    unreserved, sub-delims and '%'; a bracketed host only letters, digits and ":.%_~-". So a
 *    userinfo ("u:p@h") in a Host header is malformed and never reaches an attribute.
 *  - url.full: the authority of an absolute-form or authority-form target wins over the Host
 *    header (RFC 9112 §3.3); when it is malformed, the Host header is used. The scheme of an
 *    absolute-form target (lowercased) wins over the caller's, since it is the URL that was
 *    requested (through a proxy). Asterisk-form and authority-form have no path in the URL.
 *    Without any usable host the result is empty (0): there is no absolute URL to give.
 *    When the host comes from the target, a userinfo there (an '@' in the authority, even
 *    empty or user-only, even in authority-form) is written as "REDACTED:REDACTED@".
 *    Query parameters are split on '&' and ';' (more splitting only redacts more); a listed
 *    parameter with '=' gets "REDACTED" as value, even an empty one; one without '=' has no
 *    value and stays. Bytes of path and query that are controls, space, DEL or non-ASCII are
 *    percent-encoded, so the result is printable ASCII and never holds a NUL.
 *  - Ignore paths: only a final '*' is a wildcard: "/static/" followed by '*' matches
 *    "/static/" and every path below it, not "/static". A query or fragment given with the
 *    path is not compared.
 *  - List normalization: a path entry is invalid when it does not start with '/' or '*', holds
 *    a control, space, '?' or '#', or a '*' before its last character; a header entry when it
 *    is not an RFC 9110 token. A list that does not fit out is invalid too (never cut).
 *  - Sensitive headers: a fixed list of names plus any name containing "authorization",
 *    "cookie", "token", "secret", "passw", "api-key", "apikey", "api_key", "session",
 *    "credential" or "signature", or starting with "x-auth". Generous on purpose: a header we
 *    refuse costs a missing attribute, one we record may leak a credential.
 *  - X-Forwarded-For: the first entry must hold only letters, digits and ".:[]%_-" (an IPv4
 *    or IPv6 address, with or without port or brackets, or "unknown"); anything else is false.
 *
 * ROUTE HEURISTIC (OTEL_PRELOAD_HTTP_ROUTE=heuristic)
 * ---------------------------------------------------
 * The route is built from the request path alone; the query ("?...") and the fragment
 * ("#...") are never part of it. The path is cut into segments at every "/", and each
 * segment is kept as written or replaced by "{id}":
 *
 *  1. Path parameters are dropped first: a segment ends at its first ";"
 *     ("/login;jsessionid=X1" is "/login").
 *  2. A segment is replaced by "{id}" when it
 *     a. holds a character other than letters, digits and "-._~" (percent-encoded text,
 *        e-mail addresses, "+", "@", ":", "=", ",", non-ASCII...): "/users/a%40b.com";
 *     b. has digits and no letters (numbers, dates, IP addresses): "42", "2024-01-31",
 *        "10.0.0.1";
 *     c. has a run of 4 or more digits: "user12345", "INV-000123", "IMG_20240131.jpg";
 *     d. is a UUID (8-4-4-4-12 hex digits, either case);
 *     e. is made of 8 or more hex digits, at least one of them a decimal digit (hashes,
 *        object ids): "5f2b9c1e", "507f1f77bcf86cd799439011". Words like "deadbeef" stay;
 *     f. is 16 characters or longer and mixes letters and digits (tokens, ULIDs, base64url
 *        ids, content-hashed file names): "01HF3Z7Q9X8K2M4N6P", "main.3f2a9c1b.js".
 *  3. Everything else stays: "/api/v2/orders", "/static/app.js", "/healthz", "/en-US/docs",
 *     "/oauth2/token".
 *  4. Empty segments ("//") are kept as they are; a trailing "/" is kept.
 *  5. At most 10 segments are kept; if there are more, "/..." replaces all the rest
 *     (a trailing "/" right after the 10th segment is still kept).
 *  6. An empty path is "/"; the path "*" (OPTIONS *) is "*"; a path that does not start with
 *     "/" is read as if it did.
 *
 * Examples: "/orders/12345" -> "/orders/{id}";
 * "/users/550e8400-e29b-41d4-a716-446655440000/items/7" -> "/users/{id}/items/{id}";
 * "/api/v1/orders/" -> "/api/v1/orders/"; "/a/b/c/d/e/f/g/h/i/j/k/l" -> "/a/b/c/d/e/f/g/h/i/j/...".
 */
#include <string.h>

#include "common.h"
#include "httpsem.h"

#define ROUTE_MAX_SEGMENTS 10
#define REDACTED           "REDACTED"

/* ---- character classes ---- */

/* Bit c of lo (c < 64) or of hi (64 <= c < 128): one test per byte in the loops of hooks. */
static inline bool in_set(unsigned char c, uint64_t lo, uint64_t hi)
{
	return c < 64 ? (lo >> c) & 1 : c < 128 ? (hi >> (c - 64)) & 1 : false;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26;
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (unsigned char)((c | 0x20) - 'a') < 6;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 3986 unreserved: ALPHA DIGIT - . _ ~ */
static bool is_unreserved(unsigned char c)
{
	return in_set(c, 0x03ff600000000000ull, 0x47fffffe87fffffeull);
}

/* A reg-name byte of RFC 3986: unreserved, sub-delims (! $ & ' ( ) * + , ; =) or '%'. */
static bool is_regname(unsigned char c)
{
	return in_set(c, 0x2bff7ff200000000ull, 0x47fffffe87fffffeull);
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Byte comparisons that accept a NULL pointer with length 0 (memcmp does not). */
static bool bytes_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static bool bytes_eq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* Does [s, s + n) contain the lowercase NUL-terminated needle, in any case? */
static bool contains_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (bytes_eq_ci(s + i, needle, m))
			return true;
	return false;
}

/* Length of the part of [p, p + n) before the first '?' or '#'. */
static size_t before_query(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '?' && p[i] != '#')
		i++;
	return i;
}

/* ---- bounded writer ---- */

struct wbuf {
	char *p;
	size_t cap;
	size_t len;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n && w->len + 1 < w->cap; i++)
		w->p[w->len++] = s[i];
}

static void put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Copy, percent-encoding controls, space, DEL and non-ASCII bytes. */
static void put_escaped(struct wbuf *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f) {
			put(w, s + i, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			put(w, e, sizeof(e));
		}
	}
}

static void put_uint(struct wbuf *w, unsigned v)
{
	char d[10];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(w, d + i, sizeof(d) - i);
}

static size_t finish(struct wbuf *w)
{
	if (w->cap > 0)
		w->p[w->len] = '\0';
	return w->len;
}

/* ---- methods ---- */

const char *otelp__http_method_known(const char *m, size_t n)
{
	static const char *const known[] = {"CONNECT", "DELETE", "GET", "HEAD",  "OPTIONS",
	                                    "PATCH",   "POST",   "PUT", "TRACE", "QUERY"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && bytes_eq(m, known[i], n))
			return known[i];
	return NULL;
}

/* ---- host and port ---- */

static bool is_ip_literal_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == ':' || c == '.' || c == '%' || c == '_' ||
	       c == '~' || c == '-';
}

bool otelp__http_host_port(const char *v, size_t n, const char **host, size_t *host_len, int *port)
{
	const char *h;
	size_t hl, i;
	long p = -1;

	if (host)
		*host = NULL;
	if (host_len)
		*host_len = 0;
	if (!v || n == 0)
		return false;

	if (v[0] == '[') {
		const char *close = memchr(v, ']', n);

		if (!close)
			return false;
		h = v + 1;
		hl = (size_t)(close - h);
		if (hl == 0)
			return false;
		for (i = 0; i < hl; i++)
			if (!is_ip_literal_char((unsigned char)h[i]))
				return false;
		i = (size_t)(close - v) + 1;
	} else {
		for (i = 0; i < n && v[i] != ':'; i++) {
			unsigned char c = (unsigned char)v[i];

			if (!is_regname(c))
				return false;
		}
		h = v;
		hl = i;
		if (hl == 0)
			return false;
	}

	if (i < n) {
		if (v[i] != ':')
			return false;
		for (i++; i < n; i++) {
			if (!is_digit((unsigned char)v[i]))
				return false;
			p = (p < 0 ? 0 : p * 10) + (v[i] - '0');
			if (p > 65535)
				return false;
		}
		if (p == 0)
			return false;
	}

	if (host)
		*host = h;
	if (host_len)
		*host_len = hl;
	if (p > 0 && port)
		*port = (int)p;
	return true;
}

/* ---- request target ---- */

enum target_form {
	TARGET_EMPTY,
	TARGET_ORIGIN,
	TARGET_ASTERISK,
	TARGET_ABSOLUTE,
	TARGET_AUTHORITY,
};

struct target {
	enum target_form form;
	const char *scheme; /* absolute-form only */
	size_t scheme_len;
	const char *auth; /* NULL for origin, asterisk and empty forms; without userinfo */
	size_t auth_len;
	bool userinfo; /* the authority had an '@' */
	const char *path;
	size_t path_len;
	const char *query; /* NULL without '?' */
	size_t query_len;
};

/* Length of a scheme followed by "://" at the start of t (RFC 3986 scheme), or 0. */
static size_t scheme_prefix(const char *t, size_t n)
{
	size_t i = 1;

	if (n == 0 || !is_alpha((unsigned char)t[0]))
		return 0;
	while (i < n && (is_alpha((unsigned char)t[i]) || is_digit((unsigned char)t[i]) ||
	                 t[i] == '+' || t[i] == '-' || t[i] == '.'))
		i++;
	if (n - i >= 3 && t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/')
		return i;
	return 0;
}

/* Path up to '?' or '#', then the query up to '#'. */
static void split_path_query(const char *s, size_t n, struct target *tg)
{
	size_t i = before_query(s, n);

	tg->path = s;
	tg->path_len = i;
	if (i < n && s[i] == '?') {
		size_t q = ++i;

		while (i < n && s[i] != '#')
			i++;
		tg->query = s + q;
		tg->query_len = i - q;
	}
}

/* Authority [a, a + n) without its userinfo (up to the last '@'). */
static void set_authority(const char *a, size_t n, struct target *tg)
{
	size_t at = n;

	while (at > 0 && a[at - 1] != '@')
		at--;
	tg->userinfo = at > 0;
	tg->auth = a + at;
	tg->auth_len = n - at;
}

static void parse_target(const char *t, size_t n, struct target *tg)
{
	size_t sl;

	memset(tg, 0, sizeof(*tg));
	tg->path = "";
	if (!t || n == 0) {
		tg->form = TARGET_EMPTY;
	} else if (t[0] == '/') {
		tg->form = TARGET_ORIGIN;
		split_path_query(t, n, tg);
	} else if (n == 1 && t[0] == '*') {
		tg->form = TARGET_ASTERISK;
		tg->path = t;
		tg->path_len = 1;
	} else if ((sl = scheme_prefix(t, n)) > 0) {
		size_t a = sl + 3, e = a;

		tg->form = TARGET_ABSOLUTE;
		tg->scheme = t;
		tg->scheme_len = sl;
		while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#')
			e++;
		set_authority(t + a, e - a, tg);
		split_path_query(t + e, n - e, tg);
		if (tg->path_len == 0) {
			tg->path = "/";
			tg->path_len = 1;
		}
	} else {
		tg->form = TARGET_AUTHORITY;
		set_authority(t, n, tg);
	}
}

void otelp__http_target_split(const char *t, size_t n, const char **path, size_t *path_len,
                              const char **query, size_t *query_len, const char **authority,
                              size_t *authority_len)
{
	struct target tg;

	parse_target(t, n, &tg);
	if (path)
		*path = tg.path;
	if (path_len)
		*path_len = tg.path_len;
	if (query)
		*query = tg.query;
	if (query_len)
		*query_len = tg.query_len;
	if (authority)
		*authority = tg.auth;
	if (authority_len)
		*authority_len = tg.auth_len;
}

/* ---- url.full ---- */

static bool redacted_param(const char *name, size_t n)
{
	static const char *const names[] = {
	    "AWSAccessKeyId",  "Signature",       "sig", "X-Amz-Credential", "X-Amz-Security-Token",
	    "X-Amz-Signature", "X-Goog-Signature"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && bytes_eq(name, names[i], n))
			return true;
	return false;
}

static void put_query(struct wbuf *w, const char *q, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t s = i, eq;

		while (i < n && q[i] != '&' && q[i] != ';')
			i++;
		for (eq = s; eq < i && q[eq] != '='; eq++)
			;
		if (eq < i && redacted_param(q + s, eq - s)) {
			put_escaped(w, q + s, eq - s + 1);
			put_str(w, REDACTED);
		} else {
			put_escaped(w, q + s, i - s);
		}
		if (i >= n)
			break;
		put(w, q + i, 1);
		i++;
	}
}

size_t otelp__http_query_redact(const char *q, size_t n, char *out, size_t cap)
{
	struct wbuf w = {out, cap, 0};

	put_query(&w, q, n);
	if (cap)
		out[w.len] = 0;
	return w.len;
}

static unsigned default_port(const char *scheme, size_t n)
{
	if ((n == 4 && bytes_eq_ci(scheme, "http", 4)) || (n == 2 && bytes_eq_ci(scheme, "ws", 2)))
		return 80;
	if ((n == 5 && bytes_eq_ci(scheme, "https", 5)) ||
	    (n == 3 && bytes_eq_ci(scheme, "wss", 3)))
		return 443;
	return 0;
}

size_t otelp__http_url_full(const char *scheme, const char *host_header, size_t host_len,
                            const char *target, size_t target_len, char *out, size_t cap)
{
	struct wbuf w = {out, cap, 0};
	struct target tg;
	const char *host = NULL;
	size_t hl = 0;
	int port = 0;
	bool from_target = false;

	parse_target(target, target_len, &tg);
	if (tg.auth && otelp__http_host_port(tg.auth, tg.auth_len, &host, &hl, &port))
		from_target = true;
	else if (!host_header || !otelp__http_host_port(host_header, host_len, &host, &hl, &port))
		return finish(&w);

	if (tg.form == TARGET_ABSOLUTE) {
		for (size_t i = 0; i < tg.scheme_len; i++) {
			char c = (char)ascii_lower((unsigned char)tg.scheme[i]);

			put(&w, &c, 1);
		}
		if (port && (unsigned)port == default_port(tg.scheme, tg.scheme_len))
			port = 0;
	} else {
		if (!scheme || !*scheme)
			scheme = "http";
		put_str(&w, scheme);
		if (port && (unsigned)port == default_port(scheme, strlen(scheme)))
			port = 0;
	}
	put_str(&w, "://");
	if (from_target && tg.userinfo)
		put_str(&w, REDACTED ":" REDACTED "@");
	if (memchr(host, ':', hl)) {
		put_str(&w, "[");
		put(&w, host, hl);
		put_str(&w, "]");
	} else {
		put(&w, host, hl);
	}
	if (port) {
		put_str(&w, ":");
		put_uint(&w, (unsigned)port);
	}
	if (tg.form == TARGET_ORIGIN || tg.form == TARGET_ABSOLUTE) {
		put_escaped(&w, tg.path, tg.path_len);
		if (tg.query) {
			put_str(&w, "?");
			put_query(&w, tg.query, tg.query_len);
		}
	}
	return finish(&w);
}

/* ---- route heuristic (the rule is documented at the top of this file) ---- */

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool segment_is_id(const char *s, size_t n)
{
	size_t digits = 0, letters = 0, hex = 0, run = 0, max_run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_digit(c)) {
			digits++;
			hex++;
			if (++run > max_run)
				max_run = run;
			continue;
		}
		run = 0;
		if (is_alpha(c)) {
			letters++;
			if (is_hex(c))
				hex++;
		} else if (!is_unreserved(c)) {
			return true; /* rule 2a */
		}
	}
	if (digits > 0 && letters == 0) /* 2b */
		return true;
	if (max_run >= 4) /* 2c */
		return true;
	if (is_uuid(s, n)) /* 2d */
		return true;
	if (n >= 8 && hex == n && digits > 0) /* 2e */
		return true;
	return n >= 16 && letters > 0 && digits > 0; /* 2f */
}

size_t otelp__http_route(const char *path, size_t n, char *out, size_t cap)
{
	struct wbuf w = {out, cap, 0};
	size_t i = 0, segments = 0;

	n = path ? before_query(path, n) : 0;
	if (n == 0) {
		put_str(&w, "/");
		return finish(&w);
	}
	if (n == 1 && path[0] == '*') {
		put_str(&w, "*");
		return finish(&w);
	}
	if (path[0] == '/')
		i = 1;
	for (;;) {
		size_t start = i, end;

		while (i < n && path[i] != '/')
			i++;
		if (segments == ROUTE_MAX_SEGMENTS) {
			put_str(&w, "/...");
			break;
		}
		for (end = start; end < i && path[end] != ';'; end++)
			;
		put_str(&w, "/");
		if (segment_is_id(path + start, end - start))
			put_str(&w, "{id}");
		else
			put(&w, path + start, end - start);
		segments++;
		if (i >= n)
			break;
		if (++i == n) {
			put_str(&w, "/"); /* trailing slash */
			break;
		}
	}
	return finish(&w);
}

/* ---- configured lists ---- */

/* Next entry of a normalized comma-separated list; false at the end. */
static bool next_entry(const char **list, const char **e, size_t *len)
{
	const char *s = *list, *c;

	if (!s || !*s)
		return false;
	c = strchr(s, ',');
	*e = s;
	*len = c ? (size_t)(c - s) : strlen(s);
	*list = c ? c + 1 : s + *len;
	return true;
}

bool otelp__http_path_ignored(const char *list, const char *path, size_t n)
{
	const char *e;
	size_t len;

	n = path ? before_query(path, n) : 0;
	while (next_entry(&list, &e, &len)) {
		if (len > 0 && e[len - 1] == '*') {
			if (n >= len - 1 && bytes_eq(path, e, len - 1))
				return true;
		} else if (len == n && bytes_eq(path, e, n)) {
			return true;
		}
	}
	return false;
}

bool otelp__http_header_listed(const char *list, const char *name, size_t n)
{
	const char *e;
	size_t len;

	if (!name || n == 0)
		return false;
	while (next_entry(&list, &e, &len))
		if (len == n && bytes_eq_ci(name, e, n))
			return true;
	return false;
}

bool otelp__http_header_sensitive(const char *name, size_t n)
{
	static const char *const exact[] = {"cookie2", "set-cookie2", "x-functions-key",
	                                    "ocp-apim-subscription-key",
	                                    "x-goog-iap-jwt-assertion"};
	static const char *const parts[] = {"authorization", "cookie",     "token",    "secret",
	                                    "passw",         "api-key",    "apikey",   "api_key",
	                                    "session",       "credential", "signature"};

	if (!name || n == 0)
		return false;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == n && bytes_eq_ci(name, exact[i], n))
			return true;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (contains_ci(name, n, parts[i]))
			return true;
	return n >= 6 && bytes_eq_ci(name, "x-auth", 6);
}

static bool path_entry_valid(const char *e, size_t n)
{
	if (e[0] != '/' && e[0] != '*')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e[i];

		if (c <= 0x20 || c == 0x7f || c == '?' || c == '#' || (c == '*' && i + 1 < n))
			return false;
	}
	return true;
}

static bool header_entry_valid(const char *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!otelp__is_tchar((unsigned char)e[i]))
			return false;
	return true;
}

int otelp__http_list_normalize(const char *in, char *out, size_t cap, bool lower, bool paths)
{
	size_t len = 0;
	int count = 0;

	while (in && *in) {
		const char *e = in, *c = strchr(in, ',');
		size_t n = c ? (size_t)(c - in) : strlen(in);

		in = c ? c + 1 : in + n;
		while (n > 0 && is_ows((unsigned char)e[0])) {
			e++;
			n--;
		}
		while (n > 0 && is_ows((unsigned char)e[n - 1]))
			n--;
		if (n == 0)
			continue;
		if (paths ? !path_entry_valid(e, n) : !header_entry_valid(e, n))
			goto invalid;
		/* The entry, its separator and the final NUL must fit. */
		if (len + (count > 0) + n + 1 > cap)
			goto invalid;
		if (count > 0)
			out[len++] = ',';
		for (size_t i = 0; i < n; i++)
			out[len++] = lower ? (char)ascii_lower((unsigned char)e[i]) : e[i];
		count++;
	}
	if (cap > 0)
		out[len] = '\0';
	return count;

invalid:
	if (cap > 0)
		out[0] = '\0';
	return -1;
}

/* ---- X-Forwarded-For ---- */

bool otelp__http_xff_first(const char *v, size_t n, const char **addr, size_t *addr_len)
{
	size_t s = 0, e;

	if (!v)
		return false;
	while (s < n && is_ows((unsigned char)v[s]))
		s++;
	for (e = s; e < n && v[e] != ','; e++)
		;
	while (e > s && is_ows((unsigned char)v[e - 1]))
		e--;
	if (e == s)
		return false;
	for (size_t i = s; i < e; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!is_alpha(c) && !is_digit(c) && c != '.' && c != ':' && c != '[' && c != ']' &&
		    c != '%' && c != '_' && c != '-')
			return false;
	}
	if (addr)
		*addr = v + s;
	if (addr_len)
		*addr_len = e - s;
	return true;
}
