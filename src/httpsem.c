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
 * The per-request paths (url.full, Host, target) have fast paths for the usual shapes;
 * tests/fuzz/fuzz-prop-diff.c checks them against this file as it was before
 * (tests/fuzz/httpsem-ref.c), byte for byte.
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

/*
 * The classes the per-request scans test, one byte per character: one load and one test per
 * byte. The table is computed by the compiler from the definitions below.
 */
enum {
	C_REGNAME = 1 << 0,   /* RFC 3986 reg-name: unreserved, sub-delims (!$&'()*+,;=), '%' */
	C_IPLIT = 1 << 1,     /* inside "[...]": letters, digits and ":.%_~-" */
	C_PLAIN = 1 << 2,     /* copied into url.full as is: 0x21..0x7e */
	C_PATH_STOP = 1 << 3, /* ends a path that needs no escaping: not plain, '?' or '#' */
	C_SCHEME = 1 << 4,    /* after a scheme's first letter: letters, digits, "+-." */
	C_PARAM_STOP = 1 << 5 /* ends a query parameter's name: '&', ';', '=' */
};

#define CL_BIT(c, lo, hi) (((c) < 64 ? (lo) >> ((c)&63) : (c) < 128 ? (hi) >> ((c)&63) : 0) & 1)
#define CL_ALPHA(c)       (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define CL_DIGIT(c)       ((c) >= '0' && (c) <= '9')
#define CL_PLAIN(c)       ((c) > 0x20 && (c) < 0x7f)
#define CL(c)                                                                                    \
	((CL_BIT(c, 0x2bff7ff200000000ull, 0x47fffffe87fffffeull) ? C_REGNAME : 0) |             \
	 (CL_ALPHA(c) || CL_DIGIT(c) || (c) == ':' || (c) == '.' || (c) == '%' || (c) == '_' ||  \
	          (c) == '~' || (c) == '-'                                                       \
	      ? C_IPLIT                                                                          \
	      : 0) |                                                                             \
	 (CL_PLAIN(c) ? C_PLAIN : 0) |                                                           \
	 (!CL_PLAIN(c) || (c) == '?' || (c) == '#' ? C_PATH_STOP : 0) |                          \
	 (CL_ALPHA(c) || CL_DIGIT(c) || (c) == '+' || (c) == '-' || (c) == '.' ? C_SCHEME : 0) | \
	 ((c) == '&' || (c) == ';' || (c) == '=' ? C_PARAM_STOP : 0))
#define CL4(c)  CL(c), CL((c) + 1), CL((c) + 2), CL((c) + 3)
#define CL16(c) CL4(c), CL4((c) + 4), CL4((c) + 8), CL4((c) + 12)
#define CL64(c) CL16(c), CL16((c) + 16), CL16((c) + 32), CL16((c) + 48)
static const uint8_t cls[256] = {CL64(0), CL64(64), CL64(128), CL64(192)};

static inline bool cls_is(char c, unsigned bits)
{
	return cls[(unsigned char)c] & bits;
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

/* What fits of s[0..n) (room is kept for the terminator): the bytes a byte-wise copy writes. */
static inline void put(struct wbuf *w, const char *s, size_t n)
{
	size_t room = w->cap > w->len ? w->cap - w->len - 1 : 0;

	if (n > room)
		n = room;
	if (n) {
		otelp__copy_short(w->p + w->len, s, n);
		w->len += n;
	}
}

static inline void put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Copy, percent-encoding controls, space, DEL and non-ASCII bytes; runs of the others at once. */
static void put_escaped(struct wbuf *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < n) {
		size_t start = i;

		while (i < n && cls_is(s[i], C_PLAIN))
			i++;
		put(w, s + start, i - start);
		if (i < n) {
			unsigned char c = (unsigned char)s[i++];
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			put(w, e, sizeof(e));
		}
	}
}

/* The decimal digits of v, right-aligned in d[0..10); returns how many. */
static size_t uint_digits(unsigned v, char d[10])
{
	size_t i = 10;

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	return 10 - i;
}

static size_t finish(struct wbuf *w)
{
	if (w->cap > 0)
		w->p[w->len] = '\0';
	return w->len;
}

/* ---- methods ---- */

/* Return the literal lit when m[0..n) is it (n is already known to be its length). */
#define METHOD(lit)                                       \
	do {                                              \
		if (memcmp(m, lit, sizeof(lit) - 1) == 0) \
			return lit;                       \
	} while (0)

const char *otelp__http_method_known(const char *m, size_t n)
{
	switch (n) {
	case 3:
		METHOD("GET");
		METHOD("PUT");
		break;
	case 4:
		METHOD("POST");
		METHOD("HEAD");
		break;
	case 5:
		METHOD("PATCH");
		METHOD("TRACE");
		METHOD("QUERY");
		break;
	case 6:
		METHOD("DELETE");
		break;
	case 7:
		METHOD("OPTIONS");
		METHOD("CONNECT");
		break;
	default:
		break;
	}
	return NULL;
}

#undef METHOD

/* ---- host and port ---- */

/* A Host header or an authority, split. */
struct hostport {
	const char *host; /* without the brackets of an IP literal */
	size_t len;
	unsigned port;         /* 0: none */
	const char *port_text; /* its digits as written, when they are its decimal form; or NULL */
	size_t port_len;
	bool colon; /* the host holds a ':' (only an IP literal can) */
};

static bool host_port(const char *v, size_t n, struct hostport *hp)
{
	size_t i;

	hp->colon = false;
	hp->port = 0;
	hp->port_text = NULL;
	hp->port_len = 0;
	if (!v || n == 0)
		return false;

	if (v[0] == '[') {
		const char *close = memchr(v, ']', n);
		bool colon = false;

		if (!close)
			return false;
		hp->host = v + 1;
		hp->len = (size_t)(close - hp->host);
		if (hp->len == 0)
			return false;
		for (i = 0; i < hp->len; i++) {
			if (!cls_is(hp->host[i], C_IPLIT))
				return false;
			colon |= hp->host[i] == ':';
		}
		hp->colon = colon;
		i = (size_t)(close - v) + 1;
	} else {
		/* ':' is not a reg-name byte: the scan stops there or at anything else. */
		for (i = 0; i < n && cls_is(v[i], C_REGNAME); i++)
			;
		hp->host = v;
		hp->len = i;
		if (i == 0)
			return false;
	}

	if (i < n) {
		unsigned p = 0;
		size_t start;

		if (v[i] != ':')
			return false;
		if (++i == n)
			return true; /* "h:": no port */
		start = i;
		for (; i < n; i++) {
			unsigned d = (unsigned)(unsigned char)v[i] - '0';

			if (d > 9)
				return false;
			p = p * 10 + d;
			if (p > 65535)
				return false;
		}
		if (p == 0)
			return false;
		hp->port = p;
		if (v[start] != '0') {
			hp->port_text = v + start;
			hp->port_len = n - start;
		}
	}
	return true;
}

bool otelp__http_host_port(const char *v, size_t n, const char **host, size_t *host_len, int *port)
{
	struct hostport hp;

	if (host)
		*host = NULL;
	if (host_len)
		*host_len = 0;
	if (!host_port(v, n, &hp))
		return false;
	if (host)
		*host = hp.host;
	if (host_len)
		*host_len = hp.len;
	if (hp.port && port)
		*port = (int)hp.port;
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
	bool path_plain;   /* the path holds no byte that url.full escapes */
	const char *query; /* NULL without '?' */
	size_t query_len;
};

/* Length of a scheme followed by "://" at the start of t (RFC 3986 scheme), or 0. */
static size_t scheme_prefix(const char *t, size_t n)
{
	size_t i = 1;

	if (n == 0 || !is_alpha((unsigned char)t[0]))
		return 0;
	while (i < n && cls_is(t[i], C_SCHEME))
		i++;
	if (n - i >= 3 && t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/')
		return i;
	return 0;
}

/*
 * The rest of split_path_query, from i: the path's bytes before i are plain, none of them '?'
 * or '#'. Stops at '?', '#' or the first byte to escape, whichever comes first.
 */
static inline void split_from(const char *s, size_t n, size_t i, struct target *tg)
{
	while (i < n && !cls_is(s[i], C_PATH_STOP))
		i++;
	tg->path_plain = i == n || s[i] == '?' || s[i] == '#';
	if (!tg->path_plain)
		i += before_query(s + i, n - i);
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

#define BYTES(b) (0x0101010101010101ull * (uint8_t)(b))

/*
 * split_path_query of a target of 16 bytes or more: first whole words, as long as none holds a
 * C_PATH_STOP byte (below 0x21, from 0x7f up, '?' or '#'). Each test is exact for the word as
 * a whole: x - 0x21 borrows into bit 7 first in a byte below 0x21, x + 1 carries into it first
 * in a byte from 0x7f up (bytes with bit 7 set show it in x itself), and y - 1 & ~y has bit 7
 * first in a zero byte of y = x ^ b. Out of line: its constants take registers that a short
 * target does not need.
 */
static __attribute__((noinline)) void split_long(const char *s, size_t n, struct target *tg)
{
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t x, q, h;

		memcpy(&x, s + i, 8);
		q = x ^ BYTES('?');
		h = x ^ BYTES('#');
		if (((x - BYTES(0x21)) | (x + BYTES(0x01)) | x | ((q - BYTES(0x01)) & ~q) |
		     ((h - BYTES(0x01)) & ~h)) &
		    BYTES(0x80))
			break;
	}
	split_from(s, n, i, tg);
}

/* Path up to '?' or '#', then the query up to '#'. */
static void split_path_query(const char *s, size_t n, struct target *tg)
{
	if (n >= 16)
		split_long(s, n, tg);
	else
		split_from(s, n, 0, tg);
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

	tg->scheme = NULL;
	tg->scheme_len = 0;
	tg->auth = NULL;
	tg->auth_len = 0;
	tg->userinfo = false;
	tg->path = "";
	tg->path_len = 0;
	tg->path_plain = true;
	tg->query = NULL;
	tg->query_len = 0;
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

static void target_out(const struct target *tg, const char **path, size_t *path_len,
                       const char **query, size_t *query_len, const char **authority,
                       size_t *authority_len)
{
	if (path)
		*path = tg->path;
	if (path_len)
		*path_len = tg->path_len;
	if (query)
		*query = tg->query;
	if (query_len)
		*query_len = tg->query_len;
	if (authority)
		*authority = tg->auth;
	if (authority_len)
		*authority_len = tg->auth_len;
}

void otelp__http_target_split(const char *t, size_t n, const char **path, size_t *path_len,
                              const char **query, size_t *query_len, const char **authority,
                              size_t *authority_len)
{
	struct target tg;

	parse_target(t, n, &tg);
	target_out(&tg, path, path_len, query, query_len, authority, authority_len);
}

/* ---- url.full ---- */

/* Is name[0..n) the name of a parameter whose value is redacted? (n is its length.) */
#define PARAM(lit) (memcmp(name, lit, sizeof(lit) - 1) == 0)

static bool redacted_param(const char *name, size_t n)
{
	switch (n) {
	case 3:
		return PARAM("sig");
	case 9:
		return PARAM("Signature");
	case 14:
		return PARAM("AWSAccessKeyId");
	case 15:
		return PARAM("X-Amz-Signature");
	case 16:
		return PARAM("X-Amz-Credential") || PARAM("X-Goog-Signature");
	case 20:
		return PARAM("X-Amz-Security-Token");
	default:
		return false;
	}
}

#undef PARAM

static void put_query(struct wbuf *w, const char *q, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t s = i, eq;

		/* The name ends at the first '=' of the parameter, which ends at '&' or ';'. */
		while (i < n && !cls_is(q[i], C_PARAM_STOP))
			i++;
		eq = i;
		if (i < n && q[i] == '=')
			while (i < n && q[i] != '&' && q[i] != ';')
				i++;
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

/* Bytes as they lie in memory, as one word (both sides of a compare are read alike). */
static inline uint16_t word2(const char *s)
{
	uint16_t w;

	memcpy(&w, s, 2);
	return w;
}

static inline uint32_t word4(const char *s)
{
	uint32_t w;

	memcpy(&w, s, 4);
	return w;
}

/*
 * The default port of the scheme s[0..n) (any case), or 0. Every byte of the four names is a
 * letter, so setting bit 5 of every byte of s lowers exactly its upper-case letters: one word
 * compare per name, and the last byte of "wss" and "https".
 */
static unsigned default_port(const char *s, size_t n)
{
	switch (n) {
	case 2:
		return (word2(s) | 0x2020u) == word2("ws") ? 80 : 0;
	case 3:
		return (word2(s) | 0x2020u) == word2("ws") && (s[2] | 0x20) == 's' ? 443 : 0;
	case 4:
		return (word4(s) | 0x20202020u) == word4("http") ? 80 : 0;
	case 5:
		return (word4(s) | 0x20202020u) == word4("http") && (s[4] | 0x20) == 's' ? 443 : 0;
	default:
		return 0;
	}
}

/* url.full of a parsed target. */
static inline __attribute__((always_inline)) size_t
url_full(const char *scheme, const char *host_header, size_t host_len, const struct target *tg,
         char *out, size_t cap)
{
	struct wbuf w = {out, cap, 0};
	struct hostport hp;
	bool from_target = false;
	unsigned port;
	size_t sl = 0, pl = 0;
	const char *pt = NULL;
	char digits[10];

	if (tg->auth && host_port(tg->auth, tg->auth_len, &hp))
		from_target = true;
	else if (!host_header || !host_port(host_header, host_len, &hp))
		return finish(&w);
	port = hp.port;
	if (tg->form == TARGET_ABSOLUTE) {
		if (port && port == default_port(tg->scheme, tg->scheme_len))
			port = 0;
	} else {
		if (!scheme || !*scheme)
			scheme = "http";
		sl = strlen(scheme);
		if (port && port == default_port(scheme, sl))
			port = 0;
	}
	if (port) {
		pt = hp.port_text;
		pl = hp.port_len;
		if (!pt) {
			pl = uint_digits(port, digits);
			pt = digits + sizeof(digits) - pl;
		}
	}

	/*
	 * The usual request: origin-form, no query, nothing to escape, and room for it all. The
	 * same bytes as below, written without a check each.
	 */
	if (tg->form == TARGET_ORIGIN && !tg->query && tg->path_plain) {
		size_t need = sl + 3 + hp.len + 2 * hp.colon + (port ? 1 + pl : 0) + tg->path_len;

		if (need < cap) {
			char *p = out;

			/*
			 * "[" and "]" are written either way and kept only around an IP
			 * literal; otherwise the next bytes overwrite them (a host is never
			 * empty, an origin-form path starts with '/').
			 */
			otelp__copy_short(p, scheme, sl);
			p += sl;
			memcpy(p, "://[", 4);
			p += 3 + hp.colon;
			otelp__copy_short(p, hp.host, hp.len);
			p += hp.len;
			*p = ']';
			p += hp.colon;
			if (port) {
				*p++ = ':';
				otelp__copy_short(p, pt, pl);
				p += pl;
			}
			otelp__copy_short(p, tg->path, tg->path_len);
			out[need] = '\0';
			return need;
		}
	}

	if (tg->form == TARGET_ABSOLUTE) {
		for (size_t i = 0; i < tg->scheme_len; i++) {
			char c = (char)ascii_lower((unsigned char)tg->scheme[i]);

			put(&w, &c, 1);
		}
	} else {
		put(&w, scheme, sl);
	}
	put_str(&w, "://");
	if (from_target && tg->userinfo)
		put_str(&w, REDACTED ":" REDACTED "@");
	if (hp.colon) {
		put_str(&w, "[");
		put(&w, hp.host, hp.len);
		put_str(&w, "]");
	} else {
		put(&w, hp.host, hp.len);
	}
	if (port) {
		put_str(&w, ":");
		put(&w, pt, pl);
	}
	if (tg->form == TARGET_ORIGIN || tg->form == TARGET_ABSOLUTE) {
		if (tg->path_plain)
			put(&w, tg->path, tg->path_len);
		else
			put_escaped(&w, tg->path, tg->path_len);
		if (tg->query) {
			put_str(&w, "?");
			put_query(&w, tg->query, tg->query_len);
		}
	}
	return finish(&w);
}

size_t otelp__http_url_full(const char *scheme, const char *host_header, size_t host_len,
                            const char *target, size_t target_len, char *out, size_t cap)
{
	struct target tg;

	parse_target(target, target_len, &tg);
	return url_full(scheme, host_header, host_len, &tg, out, cap);
}

size_t otelp__http_url_full_split(const char *scheme, const char *host_header, size_t host_len,
                                  const char *target, size_t target_len, char *out, size_t cap,
                                  const char **path, size_t *path_len, const char **query,
                                  size_t *query_len, const char **authority, size_t *authority_len)
{
	struct target tg;

	parse_target(target, target_len, &tg);
	target_out(&tg, path, path_len, query, query_len, authority, authority_len);
	return url_full(scheme, host_header, host_len, &tg, out, cap);
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
