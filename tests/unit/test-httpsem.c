/*
 * Unit tests for src/httpsem.c: method names, Host / authority splitting, request-target forms,
 * url.full (credentials and signatures redacted, default ports, escaping, cutting), the route
 * heuristic, ignore-path and header-name lists, sensitive headers, X-Forwarded-For.
 *
 * Every input byte range is first copied into a heap buffer of exactly its length, without a
 * terminating NUL, so that under ASan a read past its end fails the test. Results that point
 * into the input are turned into C strings before the copy is freed.
 */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpsem.h"

#define UUID "550e8400-e29b-41d4-a716-446655440000"

/* ---- helpers: exact-length, unterminated copies ---- */

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

/* [p, p + n) as a C string in buf (the tests only use short values). */
static const char *str(char *buf, size_t cap, const char *p, size_t n)
{
	ck_assert_uint_lt(n, cap);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static const char *method(const char *s)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	const char *r = otelp__http_method_known(p, n);

	free(p);
	return r;
}

static char hp_host[256];

/* Host in hp_host ("" when false), port in *port (left alone when absent). */
static bool hp(const char *s, int *port)
{
	size_t n = strlen(s), hl = 12345;
	char *p = exact(s, n);
	const char *h = (const char *)1;
	bool ok = otelp__http_host_port(p, n, &h, &hl, port);

	if (ok) {
		ck_assert(h >= p && h + hl <= p + n);
		str(hp_host, sizeof(hp_host), h, hl);
	} else {
		ck_assert_ptr_null(h);
		ck_assert_uint_eq(hl, 0);
		hp_host[0] = '\0';
	}
	free(p);
	return ok;
}

struct split {
	char path[256];
	char query[256];
	char auth[256];
	bool has_query;
	bool has_auth;
};

static void split(const char *s, struct split *r)
{
	size_t n = strlen(s), pl, ql, al;
	char *p = exact(s, n);
	const char *path, *query, *auth;

	memset(r, 0, sizeof(*r));
	otelp__http_target_split(p, n, &path, &pl, &query, &ql, &auth, &al);
	ck_assert_ptr_nonnull(path);
	str(r->path, sizeof(r->path), path, pl);
	r->has_query = query != NULL;
	if (query) {
		ck_assert(query >= p && query + ql <= p + n);
		str(r->query, sizeof(r->query), query, ql);
	}
	r->has_auth = auth != NULL;
	if (auth) {
		ck_assert(auth >= p && auth + al <= p + n);
		str(r->auth, sizeof(r->auth), auth, al);
	}
	free(p);
}

static char url_out[1024];

/* host NULL: no Host header. */
static const char *url_cap(const char *scheme, const char *host, const char *target, size_t cap)
{
	size_t hn = host ? strlen(host) : 0, tn = strlen(target);
	char *hc = host ? exact(host, hn) : NULL, *tc = exact(target, tn);
	size_t r;

	ck_assert_uint_le(cap, sizeof(url_out));
	memset(url_out, 'Z', sizeof(url_out));
	r = otelp__http_url_full(scheme, hc, hn, tc, tn, url_out, cap);
	if (cap > 0) {
		ck_assert_uint_lt(r, cap);
		ck_assert_uint_eq(strlen(url_out), r);
	} else {
		ck_assert_uint_eq(r, 0);
	}
	/* Nothing written past what was used. */
	for (size_t i = cap ? r + 1 : 0; i < sizeof(url_out); i++)
		ck_assert_int_eq(url_out[i], 'Z');
	free(hc);
	free(tc);
	return url_out;
}

static const char *url(const char *scheme, const char *host, const char *target)
{
	return url_cap(scheme, host, target, sizeof(url_out));
}

static char route_out[512];

static const char *route_cap(const char *s, size_t cap)
{
	size_t n = strlen(s), r;
	char *p = exact(s, n);

	ck_assert_uint_le(cap, sizeof(route_out));
	memset(route_out, 'Z', sizeof(route_out));
	r = otelp__http_route(p, n, route_out, cap);
	if (cap > 0) {
		ck_assert_uint_lt(r, cap);
		ck_assert_uint_eq(strlen(route_out), r);
	}
	for (size_t i = cap ? r + 1 : 0; i < sizeof(route_out); i++)
		ck_assert_int_eq(route_out[i], 'Z');
	free(p);
	return route_out;
}

static const char *route(const char *s)
{
	return route_cap(s, sizeof(route_out));
}

static bool ignored(const char *list, const char *path)
{
	size_t n = strlen(path);
	char *p = exact(path, n);
	bool r = otelp__http_path_ignored(list, p, n);

	free(p);
	return r;
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	char *p = exact(name, n);
	bool r = otelp__http_header_listed(list, p, n);

	free(p);
	return r;
}

static bool sensitive(const char *name)
{
	size_t n = strlen(name);
	char *p = exact(name, n);
	bool r = otelp__http_header_sensitive(p, n);

	free(p);
	return r;
}

static char norm_out[256];

static int norm(const char *in, bool lower, bool paths)
{
	memset(norm_out, 'Z', sizeof(norm_out));
	return otelp__http_list_normalize(in, norm_out, sizeof(norm_out), lower, paths);
}

static char xff_out[256];

/* The first address as a C string, or NULL. */
static const char *xff(const char *s)
{
	size_t n = strlen(s), al = 0;
	char *p = exact(s, n);
	const char *a = NULL, *r = NULL;

	if (otelp__http_xff_first(p, n, &a, &al)) {
		ck_assert(a >= p && a + al <= p + n);
		r = str(xff_out, sizeof(xff_out), a, al);
	}
	free(p);
	return r;
}

/* ================================================================ methods */

START_TEST(method_known_all)
{
	static const char *const all[] = {"CONNECT", "DELETE", "GET", "HEAD",  "OPTIONS",
	                                  "PATCH",   "POST",   "PUT", "TRACE", "QUERY"};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *r = method(all[i]);

		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r, all[i]);
		/* A canonical literal: the same pointer every time. */
		ck_assert_ptr_eq(r, method(all[i]));
	}
}
END_TEST

START_TEST(method_case_sensitive)
{
	ck_assert_ptr_null(method("get"));
	ck_assert_ptr_null(method("Get"));
	ck_assert_ptr_null(method("post"));
	ck_assert_ptr_null(method("Query"));
	ck_assert_ptr_null(method("connect"));
}
END_TEST

START_TEST(method_unknown)
{
	ck_assert_ptr_null(method(""));
	ck_assert_ptr_null(method("PROPFIND"));
	ck_assert_ptr_null(method("GE"));
	ck_assert_ptr_null(method("GETS"));
	ck_assert_ptr_null(method("GET "));
	ck_assert_ptr_null(method(" GET"));
	ck_assert_ptr_null(method("_OTHER"));
	ck_assert_ptr_null(otelp__http_method_known(NULL, 0));
	ck_assert_ptr_null(otelp__http_method_known("GET\0", 4));
}
END_TEST

/* ================================================================ host / port */

START_TEST(host_plain)
{
	int port = -7;

	ck_assert(hp("example.com", &port));
	ck_assert_str_eq(hp_host, "example.com");
	ck_assert_int_eq(port, -7); /* untouched without a port */
	ck_assert(hp("localhost:8080", &port));
	ck_assert_str_eq(hp_host, "localhost");
	ck_assert_int_eq(port, 8080);
	ck_assert(hp("10.0.0.1:1", &port));
	ck_assert_str_eq(hp_host, "10.0.0.1");
	ck_assert_int_eq(port, 1);
	ck_assert(hp("h:65535", &port));
	ck_assert_int_eq(port, 65535);
	ck_assert(hp("h:00080", &port));
	ck_assert_int_eq(port, 80);
	/* Percent-encoded and sub-delims are allowed in a reg-name. */
	ck_assert(hp("my%2Dhost_x~y", NULL));
	ck_assert_str_eq(hp_host, "my%2Dhost_x~y");
}
END_TEST

START_TEST(host_empty_port)
{
	int port = -7;

	/* RFC 3986: an empty port is allowed and means none. */
	ck_assert(hp("example.com:", &port));
	ck_assert_str_eq(hp_host, "example.com");
	ck_assert_int_eq(port, -7);
	ck_assert(hp("[::1]:", &port));
	ck_assert_str_eq(hp_host, "::1");
	ck_assert_int_eq(port, -7);
}
END_TEST

START_TEST(host_ipv6)
{
	int port = -7;

	ck_assert(hp("[::1]:8080", &port));
	ck_assert_str_eq(hp_host, "::1");
	ck_assert_int_eq(port, 8080);
	port = -7;
	ck_assert(hp("[2001:db8::1]", &port));
	ck_assert_str_eq(hp_host, "2001:db8::1");
	ck_assert_int_eq(port, -7);
	ck_assert(hp("[fe80::1%25eth0]:443", &port));
	ck_assert_str_eq(hp_host, "fe80::1%25eth0");
	ck_assert_int_eq(port, 443);
	ck_assert(hp("[::ffff:10.0.0.1]", NULL));
	ck_assert_str_eq(hp_host, "::ffff:10.0.0.1");
	/* Malformed literals. */
	ck_assert(!hp("[::1", &port));
	ck_assert(!hp("[]", &port));
	ck_assert(!hp("[]:80", &port));
	ck_assert(!hp("[::1]x", &port));
	ck_assert(!hp("[::1]8080", &port));
	ck_assert(!hp("[::1]:80:80", &port));
	ck_assert(!hp("[::1 ]", &port));
	ck_assert(!hp("[::1]]", &port));
	/* Without brackets an IPv6 address cannot be told from a port. */
	ck_assert(!hp("::1", &port));
	ck_assert(!hp("2001:db8::1", &port));
	ck_assert_int_eq(port, 443);
}
END_TEST

START_TEST(host_bad_ports)
{
	int port = -7;

	ck_assert(!hp("h:0", &port));
	ck_assert(!hp("h:00", &port));
	ck_assert(!hp("h:65536", &port));
	ck_assert(!hp("h:99999999999999999999999", &port));
	ck_assert(!hp("h:-1", &port));
	ck_assert(!hp("h:+80", &port));
	ck_assert(!hp("h: 80", &port));
	ck_assert(!hp("h:80 ", &port));
	ck_assert(!hp("h:8o", &port));
	ck_assert(!hp("h:0x50", &port));
	ck_assert(!hp("h:80:81", &port));
	ck_assert_int_eq(port, -7);
}
END_TEST

START_TEST(host_malformed)
{
	int port = -7;

	ck_assert(!hp("", &port));
	ck_assert(!hp(":80", &port));
	ck_assert(!hp(":", &port));
	ck_assert(!hp(" example.com", &port));
	ck_assert(!hp("exa mple.com", &port));
	ck_assert(!hp("example.com/", &port));
	ck_assert(!hp("example.com?x", &port));
	ck_assert(!hp("exa\tmple", &port));
	ck_assert(!hp("caf\xc3\xa9.fr", &port));
	/* Userinfo never belongs in a Host header. */
	ck_assert(!hp("user:pass@example.com", &port));
	ck_assert(!hp("user@example.com:80", &port));
	ck_assert_int_eq(port, -7);
	ck_assert(!otelp__http_host_port(NULL, 0, NULL, NULL, NULL));
	ck_assert(otelp__http_host_port("h:1", 3, NULL, NULL, NULL));
}
END_TEST

START_TEST(host_port_edges)
{
	int port = -7;

	ck_assert(hp("h:1", &port));
	ck_assert_int_eq(port, 1);
	ck_assert(hp("h:0000000000080", &port));
	ck_assert_int_eq(port, 80);
	ck_assert(hp("h:065535", &port));
	ck_assert_int_eq(port, 65535);
	port = -7;
	ck_assert(!hp("h:000", &port));
	ck_assert(!hp("h:065536", &port));
	ck_assert(!hp("h:100000", &port));
	ck_assert(!hp("[::1]:0", &port));
	ck_assert(!hp("[::1]:65536", &port));
	ck_assert_int_eq(port, -7);
	ck_assert(hp("[::1]:65535", &port));
	ck_assert_int_eq(port, 65535);
	/* Every byte after "h:8": a digit keeps a valid port (80..89 or 800..899), nothing else. */
	for (unsigned b = 0; b < 256; b++) {
		char v[5] = {'h', ':', '8', (char)b, '\0'};
		char *p = exact(v, 4);
		int pt = -7;
		bool ok = otelp__http_host_port(p, 4, NULL, NULL, &pt);

		ck_assert_int_eq(ok, b >= '0' && b <= '9');
		if (ok)
			ck_assert_int_eq(pt, 80 + (int)(b - '0'));
		free(p);
	}
}
END_TEST

/* ================================================================ request target */

START_TEST(target_origin)
{
	struct split r;

	split("/a/b?x=1&y=2", &r);
	ck_assert_str_eq(r.path, "/a/b");
	ck_assert(r.has_query);
	ck_assert_str_eq(r.query, "x=1&y=2");
	ck_assert(!r.has_auth);

	split("/", &r);
	ck_assert_str_eq(r.path, "/");
	ck_assert(!r.has_query);

	/* "?" alone: a query, empty. */
	split("/a?", &r);
	ck_assert_str_eq(r.path, "/a");
	ck_assert(r.has_query);
	ck_assert_str_eq(r.query, "");

	/* "//x" is an absolute-path, not a network-path reference. */
	split("//x/y", &r);
	ck_assert_str_eq(r.path, "//x/y");
	ck_assert(!r.has_auth);
}
END_TEST

START_TEST(target_fragment)
{
	struct split r;

	split("/a?q=1#frag", &r);
	ck_assert_str_eq(r.path, "/a");
	ck_assert_str_eq(r.query, "q=1");
	split("/a#frag?notquery", &r);
	ck_assert_str_eq(r.path, "/a");
	ck_assert(!r.has_query);
	split("/a?#", &r);
	ck_assert(r.has_query);
	ck_assert_str_eq(r.query, "");
}
END_TEST

START_TEST(target_absolute)
{
	struct split r;

	split("http://example.com:8080/a/b?c=d", &r);
	ck_assert_str_eq(r.path, "/a/b");
	ck_assert_str_eq(r.query, "c=d");
	ck_assert(r.has_auth);
	ck_assert_str_eq(r.auth, "example.com:8080");

	/* Userinfo is not part of the authority given back. */
	split("http://u:p@h/x", &r);
	ck_assert_str_eq(r.auth, "h");
	ck_assert_str_eq(r.path, "/x");
	ck_assert(!r.has_query);
	split("http://a@b:c@h:1/x", &r);
	ck_assert_str_eq(r.auth, "h:1");

	/* An '@' after the authority is path, not userinfo. */
	split("http://h/a@b", &r);
	ck_assert_str_eq(r.auth, "h");
	ck_assert_str_eq(r.path, "/a@b");

	/* Empty path is "/". */
	split("https://h", &r);
	ck_assert_str_eq(r.path, "/");
	ck_assert_str_eq(r.auth, "h");
	split("HTTP://h?q", &r);
	ck_assert_str_eq(r.path, "/");
	ck_assert_str_eq(r.query, "q");
	ck_assert_str_eq(r.auth, "h");
	split("http://[::1]:80#f", &r);
	ck_assert_str_eq(r.auth, "[::1]:80");
	ck_assert_str_eq(r.path, "/");
	ck_assert(!r.has_query);
}
END_TEST

START_TEST(target_asterisk_authority)
{
	struct split r;

	split("*", &r);
	ck_assert_str_eq(r.path, "*");
	ck_assert(!r.has_query);
	ck_assert(!r.has_auth);

	split("example.com:443", &r);
	ck_assert_str_eq(r.path, "");
	ck_assert(!r.has_query);
	ck_assert(r.has_auth);
	ck_assert_str_eq(r.auth, "example.com:443");

	split("u:p@example.com:443", &r);
	ck_assert_str_eq(r.auth, "example.com:443");

	split("", &r);
	ck_assert_str_eq(r.path, "");
	ck_assert(!r.has_query);
	ck_assert(!r.has_auth);

	/* Every output may be NULL. */
	otelp__http_target_split("/a?b", 4, NULL, NULL, NULL, NULL, NULL, NULL);
	otelp__http_target_split(NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL);
}
END_TEST

/* ================================================================ url.full */

START_TEST(url_basic)
{
	ck_assert_str_eq(url("http", "example.com", "/a/b?c=d"), "http://example.com/a/b?c=d");
	ck_assert_str_eq(url("https", "example.com", "/"), "https://example.com/");
	ck_assert_str_eq(url(NULL, "h", "/x"), "http://h/x");
	ck_assert_str_eq(url("", "h", "/x"), "http://h/x");
	/* Fragments are never sent, and never recorded. */
	ck_assert_str_eq(url("http", "h", "/x?y#z"), "http://h/x?y");
	ck_assert_str_eq(url("http", "h", "/x?"), "http://h/x?");
}
END_TEST

START_TEST(url_default_ports)
{
	ck_assert_str_eq(url("http", "h:80", "/"), "http://h/");
	ck_assert_str_eq(url("https", "h:443", "/"), "https://h/");
	ck_assert_str_eq(url("http", "h:443", "/"), "http://h:443/");
	ck_assert_str_eq(url("https", "h:80", "/"), "https://h:80/");
	ck_assert_str_eq(url("http", "h:8080", "/"), "http://h:8080/");
	ck_assert_str_eq(url("http", "h:0080", "/"), "http://h/");
	ck_assert_str_eq(url("http", "h:", "/"), "http://h/");
}
END_TEST

START_TEST(url_ipv6)
{
	ck_assert_str_eq(url("http", "[::1]:8080", "/x"), "http://[::1]:8080/x");
	ck_assert_str_eq(url("https", "[2001:db8::1]:443", "/"), "https://[2001:db8::1]/");
	ck_assert_str_eq(url("http", "[::1]", "/"), "http://[::1]/");
	ck_assert_str_eq(url("http", "h", "http://[::1]:9/x"), "http://[::1]:9/x");
}
END_TEST

START_TEST(url_no_host)
{
	ck_assert_str_eq(url("http", NULL, "/x"), "");
	ck_assert_str_eq(url("http", "", "/x"), "");
	ck_assert_str_eq(url("http", "bad host", "/x"), "");
	ck_assert_str_eq(url("http", "h:99999", "/x"), "");
	ck_assert_str_eq(url("http", "u:p@h", "/x"), "");
}
END_TEST

START_TEST(url_absolute_form)
{
	/* The absolute-form target wins over Host, scheme included (proxy requests). */
	ck_assert_str_eq(url("http", "proxy:3128", "http://example.com/a?b"),
	                 "http://example.com/a?b");
	ck_assert_str_eq(url("http", "proxy", "https://example.com:443/a"),
	                 "https://example.com/a");
	ck_assert_str_eq(url("https", "proxy", "HTTP://Example.com:80"), "http://Example.com/");
	ck_assert_str_eq(url("http", NULL, "http://h:8080"), "http://h:8080/");
	/* A malformed authority falls back to the Host header. */
	ck_assert_str_eq(url("http", "h", "http://bad host/x"), "http://h/x");
	ck_assert_str_eq(url("http", NULL, "http://h:0/x"), "");
}
END_TEST

START_TEST(url_userinfo_redacted)
{
	ck_assert_str_eq(url("http", "ignored", "http://u:p@h/x"), "http://REDACTED:REDACTED@h/x");
	ck_assert_str_eq(url("http", NULL, "http://user@h:81/x"),
	                 "http://REDACTED:REDACTED@h:81/x");
	ck_assert_str_eq(url("http", NULL, "http://@h/"), "http://REDACTED:REDACTED@h/");
	ck_assert_str_eq(url("http", NULL, "http://a@b:c%40d@h/"), "http://REDACTED:REDACTED@h/");
	ck_assert_str_eq(url("http", NULL, "https://u:p@[::1]:443?q=1"),
	                 "https://REDACTED:REDACTED@[::1]/?q=1");
	/* Nothing of the credentials survives anywhere. */
	ck_assert_ptr_null(strstr(url("http", NULL, "http://alice:s3cret@h/x"), "s3cret"));
	ck_assert_ptr_null(strstr(url("http", NULL, "http://alice:s3cret@h/x"), "alice"));
	/* A malformed authority with userinfo: Host is used, no userinfo at all. */
	ck_assert_str_eq(url("http", "h", "http://u:p@bad host/x"), "http://h/x");
	/* CONNECT targets, with userinfo too (not valid there, still never shown). */
	ck_assert_str_eq(url("http", "ignored", "u:p@h:443"), "http://REDACTED:REDACTED@h:443");
}
END_TEST

START_TEST(url_query_redacted)
{
	ck_assert_str_eq(url("https", "s3.amazonaws.com",
	                     "/b/k?AWSAccessKeyId=AKIA&Expires=1&Signature=abc%2Bdef"),
	                 "https://s3.amazonaws.com/b/k?AWSAccessKeyId=REDACTED&Expires=1&"
	                 "Signature=REDACTED");
	ck_assert_str_eq(url("https", "h",
	                     "/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F20240101&"
	                     "X-Amz-Security-Token=tok&X-Amz-Signature=f00&X-Amz-Expires=60"),
	                 "https://h/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&"
	                 "X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=60");
	ck_assert_str_eq(url("https", "h", "/o?X-Goog-Signature=1a2b&X-Goog-Date=x"),
	                 "https://h/o?X-Goog-Signature=REDACTED&X-Goog-Date=x");
	ck_assert_str_eq(url("https", "h", "/blob?sv=2020&sig=secret%3D&se=2024"),
	                 "https://h/blob?sv=2020&sig=REDACTED&se=2024");
	/* Repeated, first and last. */
	ck_assert_str_eq(url("http", "h", "/?sig=a&sig=b"), "http://h/?sig=REDACTED&sig=REDACTED");
	/* Absolute-form keeps the rules. */
	ck_assert_str_eq(url("http", NULL, "http://u:p@h/?sig=a#frag"),
	                 "http://REDACTED:REDACTED@h/?sig=REDACTED");
}
END_TEST

START_TEST(url_query_no_value)
{
	/* No '=': no value to hide. */
	ck_assert_str_eq(url("http", "h", "/x?sig&Signature&a"), "http://h/x?sig&Signature&a");
	/* An empty value is replaced all the same. */
	ck_assert_str_eq(url("http", "h", "/x?sig=&a="), "http://h/x?sig=REDACTED&a=");
	/* Only the first '=' splits name and value. */
	ck_assert_str_eq(url("http", "h", "/x?sig==a=b"), "http://h/x?sig=REDACTED");
	ck_assert_str_eq(url("http", "h", "/x?&&sig=1&&"), "http://h/x?&&sig=REDACTED&&");
	ck_assert_str_eq(url("http", "h", "/x?=sig"), "http://h/x?=sig");
}
END_TEST

START_TEST(url_query_exact_names)
{
	/* Names are matched exactly: case and length. */
	ck_assert_str_eq(url("http", "h", "/x?signature=1&SIG=2&Sig=3&sigs=4&xsig=5"),
	                 "http://h/x?signature=1&SIG=2&Sig=3&sigs=4&xsig=5");
	ck_assert_str_eq(url("http", "h", "/x?x-amz-signature=1&X-Amz-Signature2=2"),
	                 "http://h/x?x-amz-signature=1&X-Amz-Signature2=2");
	ck_assert_str_eq(url("http", "h", "/x?signature=1&Signature=2&sig=3"),
	                 "http://h/x?signature=1&Signature=REDACTED&sig=REDACTED");
	/* A listed name in the path is not a parameter. */
	ck_assert_str_eq(url("http", "h", "/sig=1/x"), "http://h/sig=1/x");
	/* ';' separates parameters too. */
	ck_assert_str_eq(url("http", "h", "/x?a=1;sig=2"), "http://h/x?a=1;sig=REDACTED");
}
END_TEST

START_TEST(url_escaping)
{
	ck_assert_str_eq(url("http", "h", "/a b?c d"), "http://h/a%20b?c%20d");
	ck_assert_str_eq(url("http", "h", "/\x01\x7f\xff?\t"), "http://h/%01%7F%FF?%09");
	ck_assert_str_eq(url("http", "h", "/caf\xc3\xa9"), "http://h/caf%C3%A9");
	/* Already encoded bytes stay as they are. */
	ck_assert_str_eq(url("http", "h", "/a%20b"), "http://h/a%20b");
	/* A NUL in the target cannot end the output early. */
	{
		char t[] = "/a\0b";
		char *tc = exact(t, 4), out[64];
		size_t r = otelp__http_url_full("http", "h", 1, tc, 4, out, sizeof(out));

		ck_assert_str_eq(out, "http://h/a%00b");
		ck_assert_uint_eq(r, strlen(out));
		free(tc);
	}
}
END_TEST

START_TEST(url_other_forms)
{
	/* RFC 9112 §3.3: asterisk-form and authority-form have no path in the target URI. */
	ck_assert_str_eq(url("http", "h:8080", "*"), "http://h:8080");
	ck_assert_str_eq(url("http", "proxy", "example.com:443"), "http://example.com:443");
	ck_assert_str_eq(url("https", "h", ""), "https://h");
	/* A CONNECT target that is not an authority: Host is used. */
	ck_assert_str_eq(url("http", "h", "not an authority"), "http://h");
}
END_TEST

START_TEST(url_cut)
{
	const char *target = "/path?sig=abcdef&x=1";
	char full[256];
	size_t n;

	strcpy(full, url("https", "h:8443", target));
	ck_assert_str_eq(full, "https://h:8443/path?sig=REDACTED&x=1");
	n = strlen(full);
	for (size_t cap = 1; cap <= n + 1; cap++) {
		const char *r = url_cap("https", "h:8443", target, cap);

		ck_assert_uint_eq(strlen(r), cap - 1);
		ck_assert(strncmp(r, full, cap - 1) == 0);
	}
	/* Cutting never shows the redacted secret. */
	for (size_t cap = 1; cap <= n + 1; cap++)
		ck_assert_ptr_null(strstr(url_cap("https", "h:8443", target, cap), "abc"));
	/* cap 0: nothing written at all. */
	url_cap("https", "h", target, 0);
	ck_assert_int_eq(url_out[0], 'Z');
	ck_assert_uint_eq(otelp__http_url_full("http", "h", 1, "/", 1, NULL, 0), 0);
}
END_TEST

/* The port as the URL writes it: decimal, no leading zero, no default port. */
START_TEST(url_port_forms)
{
	ck_assert_str_eq(url("http", "h:08080", "/x"), "http://h:8080/x");
	ck_assert_str_eq(url("http", "h:0000000000081", "/x"), "http://h:81/x");
	ck_assert_str_eq(url("https", "h:00443", "/x"), "https://h/x");
	ck_assert_str_eq(url("http", "h:65535", "/x"), "http://h:65535/x");
	ck_assert_str_eq(url("http", "h:1", "/x"), "http://h:1/x");
	ck_assert_str_eq(url("http", "h:65536", "/x"), "");
	ck_assert_str_eq(url("http", "h:0", "/x"), "");
	/* The caller's scheme is written as given; its default port is found in any case. */
	ck_assert_str_eq(url("HTTP", "h:80", "/x"), "HTTP://h/x");
	ck_assert_str_eq(url("Https", "h:443", "/x"), "Https://h/x");
	ck_assert_str_eq(url("WS", "h:80", "/x"), "WS://h/x");
	ck_assert_str_eq(url("wsS", "h:443", "/x"), "wsS://h/x");
	ck_assert_str_eq(url("ws", "h:443", "/x"), "ws://h:443/x");
	ck_assert_str_eq(url("httpx", "h:80", "/x"), "httpx://h:80/x");
	ck_assert_str_eq(url("htt", "h:80", "/x"), "htt://h:80/x");
	ck_assert_str_eq(url("hTtP", "h:443", "/x"), "hTtP://h:443/x");
	ck_assert_str_eq(url("http ", "h:80", "/x"), "http ://h:80/x");
}
END_TEST

/* An IP literal keeps its brackets only when it holds a ':'. */
START_TEST(url_ip_literals)
{
	ck_assert_str_eq(url("http", "[::1]:8080", "/ping"), "http://[::1]:8080/ping");
	ck_assert_str_eq(url("http", "[fe80::1%25eth0]", "/p"), "http://[fe80::1%25eth0]/p");
	ck_assert_str_eq(url("http", "[v1.abc]:81", "/p"), "http://v1.abc:81/p");
	ck_assert_str_eq(url("http", "[abc]", "/p"), "http://abc/p");
	ck_assert_str_eq(url("http", "[::1]x", "/p"), "");
	ck_assert_str_eq(url("http", "[]", "/p"), "");
	ck_assert_str_eq(url("http", "[::1", "/p"), "");
}
END_TEST

/* The usual request (origin-form, no query, nothing to escape) cut at every size. */
START_TEST(url_cut_usual)
{
	static const char *const hosts[] = {"h:8080", "[::1]:8080", "127.0.0.1:45678", "h",
	                                    "h:080"};
	static const char *const targets[] = {"/ping", "/", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"};
	char full[256];

	for (size_t i = 0; i < (sizeof(hosts) / sizeof(hosts[0])); i++) {
		for (size_t j = 0; j < (sizeof(targets) / sizeof(targets[0])); j++) {
			size_t n;

			strcpy(full, url("http", hosts[i], targets[j]));
			n = strlen(full);
			ck_assert_uint_gt(n, 0);
			for (size_t cap = 1; cap <= n + 2; cap++) {
				const char *r = url_cap("http", hosts[i], targets[j], cap);
				size_t want = cap - 1 < n ? cap - 1 : n;

				ck_assert_uint_eq(strlen(r), want);
				ck_assert(strncmp(r, full, want) == 0);
			}
		}
	}
	ck_assert_str_eq(url("http", "[::1]:8080", "/"), "http://[::1]:8080/");
	ck_assert_str_eq(url("http", "h:080", "/"), "http://h/");
}
END_TEST

/*
 * Long paths are scanned eight bytes at a time: a byte that ends the plain part (to escape, or
 * '?' or '#') at every position, against what the rules say byte by byte.
 */
START_TEST(url_long_path_each_position)
{
	static const unsigned char stops[] = {' ', '?', '#', 0x7f, 0x80, 0x1f, 0x00, 0xff, '\t'};
	static const unsigned char plain[] = {'!', '~', '%', '@', '/', '>', '"', '`'};
	char path[48], want[256];

	for (size_t i = 1; i < 40; i++) {
		for (size_t k = 0; k < sizeof(stops) + sizeof(plain); k++) {
			unsigned char b = k < sizeof(stops) ? stops[k] : plain[k - sizeof(stops)];
			size_t w = 0;
			struct split sp;

			memset(path, 'a', 40);
			path[0] = '/';
			path[i] = (char)b;
			/* What url.full must be: the path up to '?' or '#', escaped; a query. */
			w = (size_t)snprintf(want, sizeof(want), "http://h");
			for (size_t j = 0; j < 40; j++) {
				unsigned char c = (unsigned char)path[j];

				if (c == '#')
					break;
				if (c == '?' || (c > 0x20 && c < 0x7f))
					want[w++] = (char)c;
				else
					w += (size_t)snprintf(want + w, sizeof(want) - w, "%%%02X",
					                      c);
			}
			want[w] = '\0';

			char *t = exact(path, 40);
			char out[256];
			size_t r = otelp__http_url_full("http", "h", 1, t, 40, out, sizeof(out));

			ck_assert_msg(strcmp(out, want) == 0, "byte 0x%02x at %zu: %s", b, i, out);
			ck_assert_uint_eq(r, strlen(want));
			free(t);

			/* The path of target_split: up to '?' or '#', as written. */
			char p40[48];

			memcpy(p40, path, 40);
			p40[40] = '\0';
			if (b != 0) { /* (split takes a C string) */
				split(p40, &sp);
				size_t pl = strcspn(p40, "?#");

				ck_assert_uint_eq(strlen(sp.path), pl);
				ck_assert(strncmp(sp.path, path, pl) == 0);
				ck_assert_int_eq(sp.has_query, b == '?');
			}
		}
	}
}
END_TEST

/* url_full_split gives what url_full and target_split give. */
START_TEST(url_full_split_same)
{
	static const char *const targets[] = {
	    "/ping", "/a b?c=d&sig=s#f", "http://u:p@h:81/x?y", "*", "h:443", "", "/?",
	    "//x",   "https://[::1]/",   "/a/b/c/d/e/f/g/h/i?j"};

	for (size_t i = 0; i < (sizeof(targets) / sizeof(targets[0])); i++) {
		const char *tgt = targets[i];
		size_t tn = strlen(tgt);
		char *t = exact(tgt, tn);
		char a[256], b[256];
		const char *p1, *q1, *a1, *p2, *q2, *a2;
		size_t pl1, ql1, al1, pl2, ql2, al2;
		size_t ra = otelp__http_url_full_split("http", "host:8080", 9, t, tn, a, sizeof(a),
		                                       &p1, &pl1, &q1, &ql1, &a1, &al1);
		size_t rb = otelp__http_url_full("http", "host:8080", 9, t, tn, b, sizeof(b));

		otelp__http_target_split(t, tn, &p2, &pl2, &q2, &ql2, &a2, &al2);
		ck_assert_uint_eq(ra, rb);
		ck_assert_str_eq(a, b);
		ck_assert(p1 == p2 && pl1 == pl2 && q1 == q2 && ql1 == ql2 && a1 == a2 &&
		          al1 == al2);
		ck_assert_uint_eq(otelp__http_url_full_split("http", "host:8080", 9, t, tn, a, 5,
		                                             NULL, NULL, NULL, NULL, NULL, NULL),
		                  4);
		free(t);
	}
}
END_TEST

/* ================================================================ route */

START_TEST(route_numbers)
{
	ck_assert_str_eq(route("/orders/12345"), "/orders/{id}");
	ck_assert_str_eq(route("/orders/0"), "/orders/{id}");
	ck_assert_str_eq(route("/users/42/items/7"), "/users/{id}/items/{id}");
	ck_assert_str_eq(route("/42"), "/{id}");
	/* Digits without letters: dates, addresses, decimals. */
	ck_assert_str_eq(route("/reports/2024-01-31"), "/reports/{id}");
	ck_assert_str_eq(route("/hosts/10.0.0.1/status"), "/hosts/{id}/status");
	ck_assert_str_eq(route("/p/-1"), "/p/{id}");
	/* A run of 4+ digits inside a word. */
	ck_assert_str_eq(route("/u/user12345"), "/u/{id}");
	ck_assert_str_eq(route("/inv/INV-000123"), "/inv/{id}");
	ck_assert_str_eq(route("/img/IMG_20240131.jpg"), "/img/{id}");
}
END_TEST

START_TEST(route_uuid)
{
	ck_assert_str_eq(route("/users/" UUID "/items/7"), "/users/{id}/items/{id}");
	ck_assert_str_eq(route("/u/550E8400-E29B-41D4-A716-446655440000"), "/u/{id}");
	/* A UUID made only of hex letters is an id too. */
	ck_assert_str_eq(route("/u/abcdefab-abcd-abcd-abcd-abcdefabcdef"), "/u/{id}");
	/* Not quite a UUID but still random: caught by the other rules. */
	ck_assert_str_eq(route("/u/550e8400e29b41d4a716446655440000"), "/u/{id}");
}
END_TEST

START_TEST(route_hex)
{
	ck_assert_str_eq(route("/commits/5f2b9c1e"), "/commits/{id}");
	ck_assert_str_eq(route("/obj/507f1f77bcf86cd799439011"), "/obj/{id}");
	ck_assert_str_eq(route("/sha/DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"), "/sha/{id}");
	/* Hex letters only, or fewer than 8: words. */
	ck_assert_str_eq(route("/deadbeef"), "/deadbeef");
	ck_assert_str_eq(route("/facade/added"), "/facade/added");
	ck_assert_str_eq(route("/a1b2c3"), "/a1b2c3");
}
END_TEST

START_TEST(route_words_stay)
{
	ck_assert_str_eq(route("/api/v2/orders"), "/api/v2/orders");
	ck_assert_str_eq(route("/api/v1"), "/api/v1");
	ck_assert_str_eq(route("/api/v10/x"), "/api/v10/x");
	ck_assert_str_eq(route("/v1.2.3/x"), "/v1.2.3/x");
	ck_assert_str_eq(route("/static/app.js"), "/static/app.js");
	ck_assert_str_eq(route("/static/bootstrap.min.css"), "/static/bootstrap.min.css");
	ck_assert_str_eq(route("/healthz"), "/healthz");
	ck_assert_str_eq(route("/en-US/docs"), "/en-US/docs");
	ck_assert_str_eq(route("/oauth2/token"), "/oauth2/token");
	ck_assert_str_eq(route("/.well-known/openid-configuration"),
	                 "/.well-known/openid-configuration");
	ck_assert_str_eq(route("/getUserProfileById"), "/getUserProfileById");
	ck_assert_str_eq(route("/s3/x86_64/sha256"), "/s3/x86_64/sha256");
	ck_assert_str_eq(route("/a/./b/../c"), "/a/./b/../c");
}
END_TEST

START_TEST(route_tokens)
{
	/* 16+ characters mixing letters and digits. */
	ck_assert_str_eq(route("/s/01HF3Z7Q9X8K2M4N6P"), "/s/{id}");
	ck_assert_str_eq(route("/t/aZ3kQ9xPm2LwB7tR"), "/t/{id}");
	ck_assert_str_eq(route("/t/dGhpcyBpcyBh_c2VjcmV0-dA"), "/t/{id}");
	ck_assert_str_eq(route("/assets/main.3f2a9c1b.js"), "/assets/{id}");
	ck_assert_str_eq(route("/t/abcdefghijklmn1x"), "/t/{id}");
	/* 15 characters: a word still. */
	ck_assert_str_eq(route("/t/abcdefghijklm1x"), "/t/abcdefghijklm1x");
}
END_TEST

START_TEST(route_other_chars)
{
	ck_assert_str_eq(route("/users/a%40b.com/x"), "/users/{id}/x");
	ck_assert_str_eq(route("/users/john@example.com"), "/users/{id}");
	ck_assert_str_eq(route("/search/a+b"), "/search/{id}");
	ck_assert_str_eq(route("/x/caf\xc3\xa9"), "/x/{id}");
	ck_assert_str_eq(route("/x/a b"), "/x/{id}");
	ck_assert_str_eq(route("/x/a\x01"), "/x/{id}");
	ck_assert_str_eq(route("/x/{id}"), "/x/{id}");
	/* Path parameters are dropped before looking at a segment. */
	ck_assert_str_eq(route("/login;jsessionid=AB12"), "/login");
	ck_assert_str_eq(route("/a;x=1/b;y/c"), "/a/b/c");
	ck_assert_str_eq(route("/;x/b"), "//b");
}
END_TEST

START_TEST(route_structure)
{
	ck_assert_str_eq(route(""), "/");
	ck_assert_str_eq(route("/"), "/");
	ck_assert_str_eq(route("*"), "*");
	ck_assert_str_eq(route("//"), "//");
	ck_assert_str_eq(route("/a//b"), "/a//b");
	ck_assert_str_eq(route("/orders/"), "/orders/");
	ck_assert_str_eq(route("/orders/12/"), "/orders/{id}/");
	ck_assert_str_eq(route("orders/12"), "/orders/{id}");
	ck_assert_str_eq(route("**"), "/{id}");
	/* Query and fragment are not part of it. */
	ck_assert_str_eq(route("/orders/12?x=1/2"), "/orders/{id}");
	ck_assert_str_eq(route("/orders#12"), "/orders");
	ck_assert_str_eq(route("?x"), "/");
	ck_assert_uint_eq(otelp__http_route(NULL, 0, route_out, sizeof(route_out)), 1);
	ck_assert_str_eq(route_out, "/");
}
END_TEST

START_TEST(route_long)
{
	ck_assert_str_eq(route("/a/b/c/d/e/f/g/h/i/j"), "/a/b/c/d/e/f/g/h/i/j");
	ck_assert_str_eq(route("/a/b/c/d/e/f/g/h/i/j/"), "/a/b/c/d/e/f/g/h/i/j/");
	ck_assert_str_eq(route("/a/b/c/d/e/f/g/h/i/j/k"), "/a/b/c/d/e/f/g/h/i/j/...");
	ck_assert_str_eq(route("/a/b/c/d/e/f/g/h/i/j/k/l/m/"), "/a/b/c/d/e/f/g/h/i/j/...");
	ck_assert_str_eq(route("/1/2/3/4/5/6/7/8/9/10/11"),
	                 "/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/...");
	ck_assert_str_eq(route("///////////////"), "//////////"
	                                           "/...");
}
END_TEST

START_TEST(route_cut_and_fixed_point)
{
	static const char *const paths[] = {"/users/" UUID "/items/7/",
	                                    "/a/b/c/d/e/f/g/h/i/j/k",
	                                    "/api/v2/orders;x=1",
	                                    "",
	                                    "*",
	                                    "//x//",
	                                    "/x/a%20b/12"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char full[256], again[256];
		size_t n;

		strcpy(full, route(paths[i]));
		n = strlen(full);
		/* A route is its own route. */
		ck_assert_str_eq(route(full), full);
		strcpy(again, route_out);
		ck_assert_str_eq(again, full);
		for (size_t cap = 1; cap <= n + 1; cap++) {
			const char *r = route_cap(paths[i], cap);

			ck_assert_uint_eq(strlen(r), cap - 1);
			ck_assert(strncmp(r, full, cap - 1) == 0);
		}
	}
	route_cap("/x", 0);
	ck_assert_int_eq(route_out[0], 'Z');
}
END_TEST

/* ================================================================ ignore paths */

START_TEST(ignore_exact)
{
	const char *list = "/healthz,/readyz,/metrics";

	ck_assert(ignored(list, "/healthz"));
	ck_assert(ignored(list, "/readyz"));
	ck_assert(ignored(list, "/metrics"));
	ck_assert(!ignored(list, "/healthz/"));
	ck_assert(!ignored(list, "/healthzx"));
	ck_assert(!ignored(list, "/health"));
	ck_assert(!ignored(list, "/Healthz"));
	ck_assert(!ignored(list, ""));
	ck_assert(!ignored(list, "/"));
	/* The query is not compared. */
	ck_assert(ignored(list, "/healthz?verbose=1"));
	ck_assert(ignored(list, "/readyz#x"));
}
END_TEST

START_TEST(ignore_prefix)
{
	const char *list = "/static/*,/healthz";

	ck_assert(ignored(list, "/static/"));
	ck_assert(ignored(list, "/static/app.js"));
	ck_assert(ignored(list, "/static/a/b/c"));
	ck_assert(!ignored(list, "/static"));
	ck_assert(!ignored(list, "/staticx/a"));
	ck_assert(!ignored(list, "/stat"));
	ck_assert(ignored("/api*", "/api"));
	ck_assert(ignored("/api*", "/apix"));
	ck_assert(ignored("*", "/anything"));
	ck_assert(ignored("*", ""));
	ck_assert(ignored("/", "/"));
	ck_assert(!ignored("/", "/x"));
}
END_TEST

START_TEST(ignore_empty_lists)
{
	ck_assert(!ignored("", "/healthz"));
	ck_assert(!ignored("", ""));
	ck_assert(!otelp__http_path_ignored(NULL, "/x", 2));
	ck_assert(!otelp__http_path_ignored("/x", NULL, 0));
	ck_assert(otelp__http_path_ignored("*", NULL, 0));
}
END_TEST

/* ================================================================ header lists */

START_TEST(header_listed_any_case)
{
	const char *list = "content-type,x-request-id,accept";

	ck_assert(listed(list, "content-type"));
	ck_assert(listed(list, "Content-Type"));
	ck_assert(listed(list, "X-REQUEST-ID"));
	ck_assert(listed(list, "accept"));
	ck_assert(!listed(list, "accept-encoding"));
	ck_assert(!listed(list, "content"));
	ck_assert(!listed(list, "x-request-i"));
	ck_assert(!listed(list, ""));
	ck_assert(!listed("", "accept"));
	ck_assert(!otelp__http_header_listed(NULL, "accept", 6));
	ck_assert(!otelp__http_header_listed(list, NULL, 0));
}
END_TEST

START_TEST(header_sensitive_names)
{
	static const char *const yes[] = {
	    "Authorization",
	    "authorization",
	    "AUTHORIZATION",
	    "Proxy-Authorization",
	    "Cookie",
	    "cookie",
	    "Set-Cookie",
	    "SET-COOKIE",
	    "X-Api-Key",
	    "x-api-key",
	    "X-Auth-Token",
	    "X-Amz-Security-Token",
	    "x-amz-security-token",
	    "X-CSRF-Token",
	    "X-XSRF-TOKEN",
	    "X-Auth-Key",
	    "X-Auth-Email",
	    "Private-Token",
	    "X-Vault-Token",
	    "X-Goog-Api-Key",
	    "apikey",
	    "X-Client-Secret",
	    "X-Password",
	    "X-Session-Id",
	    "X-Amz-Credential",
	    "X-Hub-Signature-256",
	    "Ocp-Apim-Subscription-Key",
	    "x-functions-key",
	    "X-Goog-IAP-JWT-Assertion",
	    "Cookie2",
	};
	static const char *const no[] = {"Content-Type",
	                                 "User-Agent",
	                                 "Accept",
	                                 "X-Request-Id",
	                                 "Traceparent",
	                                 "Host",
	                                 "X-Forwarded-For",
	                                 "WWW-Authenticate",
	                                 "Sec-WebSocket-Key",
	                                 "Author",
	                                 "X-Au",
	                                 "Content-Length",
	                                 "Keep-Alive",
	                                 "X-Idempotency-Key"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(sensitive(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!sensitive(no[i]), "%s", no[i]);
	ck_assert(!sensitive(""));
	ck_assert(!otelp__http_header_sensitive(NULL, 0));
}
END_TEST

/* ================================================================ list normalization */

START_TEST(norm_headers)
{
	ck_assert_int_eq(norm("Content-Type, X-Request-ID ,accept", true, false), 3);
	ck_assert_str_eq(norm_out, "content-type,x-request-id,accept");
	ck_assert_int_eq(norm(" ,, a ,\t,b,", true, false), 2);
	ck_assert_str_eq(norm_out, "a,b");
	ck_assert_int_eq(norm("Keep-Case", false, false), 1);
	ck_assert_str_eq(norm_out, "Keep-Case");
	ck_assert_int_eq(norm("", true, false), 0);
	ck_assert_str_eq(norm_out, "");
	ck_assert_int_eq(norm(" , ,", true, false), 0);
	ck_assert_str_eq(norm_out, "");
	ck_assert_int_eq(norm(NULL, true, false), 0);
	ck_assert_str_eq(norm_out, "");
	/* Normalized output is a fixed point, and it matches what it lists. */
	ck_assert_int_eq(norm("A,B", true, false), 2);
	ck_assert(listed(norm_out, "b"));
	ck_assert(listed(norm_out, "A"));
}
END_TEST

START_TEST(norm_headers_invalid)
{
	ck_assert_int_eq(norm("content-type,x request", true, false), -1);
	ck_assert_str_eq(norm_out, "");
	ck_assert_int_eq(norm("a,b:c", true, false), -1);
	ck_assert_int_eq(norm("a,b@c", true, false), -1);
	ck_assert_int_eq(norm("a,\"b\"", true, false), -1);
	ck_assert_int_eq(norm("a,b\x01", true, false), -1);
	ck_assert_int_eq(norm("caf\xc3\xa9", true, false), -1);
	ck_assert_int_eq(norm("/healthz", true, false), -1);
	ck_assert_str_eq(norm_out, "");
}
END_TEST

START_TEST(norm_paths)
{
	ck_assert_int_eq(norm(" /healthz , /static/*,,*", false, true), 3);
	ck_assert_str_eq(norm_out, "/healthz,/static/*,*");
	ck_assert_int_eq(norm("/Api/*", true, true), 1);
	ck_assert_str_eq(norm_out, "/api/*");
	ck_assert_int_eq(norm("/a%20b", false, true), 1);
	ck_assert_str_eq(norm_out, "/a%20b");
}
END_TEST

START_TEST(norm_paths_invalid)
{
	ck_assert_int_eq(norm("/ok,healthz", false, true), -1);
	ck_assert_str_eq(norm_out, "");
	ck_assert_int_eq(norm("/a b", false, true), -1);
	ck_assert_int_eq(norm("/a?x=1", false, true), -1);
	ck_assert_int_eq(norm("/a#x", false, true), -1);
	ck_assert_int_eq(norm("/api/*/health", false, true), -1);
	ck_assert_int_eq(norm("**", false, true), -1);
	ck_assert_int_eq(norm("/a\tb", false, true), -1);
	ck_assert_int_eq(norm("/a\x7f", false, true), -1);
	ck_assert_str_eq(norm_out, "");
}
END_TEST

START_TEST(norm_cap)
{
	char out[8];

	memset(out, 'Z', sizeof(out));
	/* "abc,def" + NUL is exactly 8 bytes. */
	ck_assert_int_eq(otelp__http_list_normalize("abc , def", out, sizeof(out), true, false), 2);
	ck_assert_str_eq(out, "abc,def");
	/* One more byte does not fit: the list is refused, never cut. */
	ck_assert_int_eq(otelp__http_list_normalize("abc,defg", out, sizeof(out), true, false), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(otelp__http_list_normalize("abcdefgh", out, sizeof(out), true, false), -1);
	ck_assert_int_eq(otelp__http_list_normalize("abcdefg", out, sizeof(out), true, false), 1);
	ck_assert_int_eq(otelp__http_list_normalize("", out, 1, true, false), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(otelp__http_list_normalize("", NULL, 0, true, false), 0);
	ck_assert_int_eq(otelp__http_list_normalize("a", NULL, 0, true, false), -1);
}
END_TEST

/* ================================================================ X-Forwarded-For */

START_TEST(xff_entries)
{
	ck_assert_str_eq(xff("203.0.113.195"), "203.0.113.195");
	ck_assert_str_eq(xff("203.0.113.195, 70.41.3.18, 150.172.238.178"), "203.0.113.195");
	ck_assert_str_eq(xff("  203.0.113.195  ,70.41.3.18"), "203.0.113.195");
	ck_assert_str_eq(xff("\t2001:db8:85a3::8a2e:370:7334\t"), "2001:db8:85a3::8a2e:370:7334");
	ck_assert_str_eq(xff("[2001:db8::1]:4711"), "[2001:db8::1]:4711");
	ck_assert_str_eq(xff("fe80::1%eth0"), "fe80::1%eth0");
	ck_assert_str_eq(xff("unknown, 10.0.0.1"), "unknown");
}
END_TEST

START_TEST(xff_empty_or_bad)
{
	ck_assert_ptr_null(xff(""));
	ck_assert_ptr_null(xff("   "));
	ck_assert_ptr_null(xff(","));
	ck_assert_ptr_null(xff(" , 10.0.0.1"));
	ck_assert_ptr_null(xff("10.0.0.1 10.0.0.2"));
	ck_assert_ptr_null(xff("<script>"));
	ck_assert_ptr_null(xff("\"10.0.0.1\""));
	ck_assert_ptr_null(xff("10.0.0.1\x01"));
	ck_assert(!otelp__http_xff_first(NULL, 0, NULL, NULL));
	ck_assert(otelp__http_xff_first("1.2.3.4", 7, NULL, NULL));
}
END_TEST

static Suite *httpsem_suite(void)
{
	Suite *s = suite_create("httpsem");
	TCase *tc;

	tc = tcase_create("method");
	tcase_add_test(tc, method_known_all);
	tcase_add_test(tc, method_case_sensitive);
	tcase_add_test(tc, method_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("host");
	tcase_add_test(tc, host_plain);
	tcase_add_test(tc, host_empty_port);
	tcase_add_test(tc, host_ipv6);
	tcase_add_test(tc, host_bad_ports);
	tcase_add_test(tc, host_malformed);
	tcase_add_test(tc, host_port_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_test(tc, target_origin);
	tcase_add_test(tc, target_fragment);
	tcase_add_test(tc, target_absolute);
	tcase_add_test(tc, target_asterisk_authority);
	suite_add_tcase(s, tc);

	tc = tcase_create("url");
	tcase_add_test(tc, url_basic);
	tcase_add_test(tc, url_default_ports);
	tcase_add_test(tc, url_ipv6);
	tcase_add_test(tc, url_no_host);
	tcase_add_test(tc, url_absolute_form);
	tcase_add_test(tc, url_userinfo_redacted);
	tcase_add_test(tc, url_query_redacted);
	tcase_add_test(tc, url_query_no_value);
	tcase_add_test(tc, url_query_exact_names);
	tcase_add_test(tc, url_escaping);
	tcase_add_test(tc, url_other_forms);
	tcase_add_test(tc, url_cut);
	tcase_add_test(tc, url_port_forms);
	tcase_add_test(tc, url_ip_literals);
	tcase_add_test(tc, url_cut_usual);
	tcase_add_test(tc, url_long_path_each_position);
	tcase_add_test(tc, url_full_split_same);
	suite_add_tcase(s, tc);

	tc = tcase_create("route");
	tcase_add_test(tc, route_numbers);
	tcase_add_test(tc, route_uuid);
	tcase_add_test(tc, route_hex);
	tcase_add_test(tc, route_words_stay);
	tcase_add_test(tc, route_tokens);
	tcase_add_test(tc, route_other_chars);
	tcase_add_test(tc, route_structure);
	tcase_add_test(tc, route_long);
	tcase_add_test(tc, route_cut_and_fixed_point);
	suite_add_tcase(s, tc);

	tc = tcase_create("lists");
	tcase_add_test(tc, ignore_exact);
	tcase_add_test(tc, ignore_prefix);
	tcase_add_test(tc, ignore_empty_lists);
	tcase_add_test(tc, header_listed_any_case);
	tcase_add_test(tc, header_sensitive_names);
	tcase_add_test(tc, norm_headers);
	tcase_add_test(tc, norm_headers_invalid);
	tcase_add_test(tc, norm_paths);
	tcase_add_test(tc, norm_paths_invalid);
	tcase_add_test(tc, norm_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("xff");
	tcase_add_test(tc, xff_entries);
	tcase_add_test(tc, xff_empty_or_bad);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return otelp_check_run(httpsem_suite(), false);
}
