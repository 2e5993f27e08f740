/*
 * libFuzzer target for src/httpsem.c.
 *
 * The input is used two ways:
 *  - as a whole, handed to every function that takes a byte range (method, Host, target,
 *    url.full as target and as Host, route, X-Forwarded-For, sensitive header names);
 *  - as up to four '\n'-separated fields: a Host header, a request target, a configuration
 *    list and a path or header name. The list is normalized in both modes and then used to
 *    match the fourth field and the list's own entries.
 * The first byte also picks the scheme and the size of a short output buffer.
 *
 * Every range is copied into its own heap buffer of exactly its length, so that ASan reports
 * a read past the end of any field. Invariants of the contract (httpsem.h) and of the
 * documented rules (httpsem.c) are checked and abort on violation: outputs terminated within
 * cap, short buffers give a prefix of the full result, url.full and route are fixed points,
 * listed query parameters never keep a value, normalized lists match their own entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpsem.h"

#define FIELDS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static char *copy_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	if (n)
		memcpy(p, s, n);
	return p;
}

static char *xmalloc(size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static bool within(const char *p, size_t n, const char *base, size_t size)
{
	return p >= base && n <= size && (size_t)(p - base) <= size - n;
}

static bool is_unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static void check_method(const char *m, size_t n)
{
	const char *r = otelp__http_method_known(m, n);

	if (r) {
		CHECK(strlen(r) == n && memcmp(r, m, n) == 0);
		for (size_t i = 0; i < n; i++)
			CHECK(r[i] >= 'A' && r[i] <= 'Z');
	}
}

static void check_host_port(const char *v, size_t n)
{
	const char *h = v;
	size_t hl = 99;
	int port = -1;
	bool ok = otelp__http_host_port(v, n, &h, &hl, &port);

	if (!ok) {
		CHECK(h == NULL && hl == 0 && port == -1);
		return;
	}
	CHECK(hl > 0 && within(h, hl, v, n));
	CHECK(port == -1 || (port >= 1 && port <= 65535));
	CHECK(memchr(h, '@', hl) == NULL && memchr(h, '/', hl) == NULL);
	CHECK(memchr(h, ' ', hl) == NULL && memchr(h, '[', hl) == NULL);
	if (v[0] == '[')
		CHECK(h == v + 1 && h[hl] == ']');
	else
		CHECK(h == v && memchr(h, ':', hl) == NULL);
}

static void check_target(const char *t, size_t n)
{
	const char *p = NULL, *q = t, *a = t;
	size_t pl = 99, ql = 99, al = 99;

	otelp__http_target_split(t, n, &p, &pl, &q, &ql, &a, &al);
	CHECK(p != NULL);
	if (!within(p, pl, t, n))
		CHECK((pl == 1 && p[0] == '/') || pl == 0);
	CHECK(memchr(p, '?', pl) == NULL && memchr(p, '#', pl) == NULL);
	if (q)
		CHECK(within(q, ql, t, n) && q > t && q[-1] == '?' && memchr(q, '#', ql) == NULL);
	else
		CHECK(ql == 0);
	if (a)
		CHECK(within(a, al, t, n) && memchr(a, '@', al) == NULL);
	else
		CHECK(al == 0);
	if (n > 0 && t[0] == '/')
		CHECK(p == t && a == NULL);
}

static bool listed_param(const char *s, size_t n)
{
	static const char *const names[] = {
	    "AWSAccessKeyId",  "Signature",       "sig", "X-Amz-Credential", "X-Amz-Security-Token",
	    "X-Amz-Signature", "X-Goog-Signature"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return true;
	return false;
}

/* Every listed parameter with a value in the query of u has the value "REDACTED". */
static void check_redacted(const char *u, size_t n)
{
	const char *q = memchr(u, '?', n);
	size_t i, qn;

	if (!q)
		return;
	q++;
	qn = n - (size_t)(q - u);
	i = 0;
	while (i <= qn) {
		size_t s = i, eq;

		while (i < qn && q[i] != '&' && q[i] != ';')
			i++;
		for (eq = s; eq < i && q[eq] != '='; eq++)
			;
		if (eq < i && listed_param(q + s, eq - s))
			CHECK(i - eq - 1 == 8 && memcmp(q + eq + 1, "REDACTED", 8) == 0);
		i++;
	}
}

static size_t url_full(const char *scheme, const char *h, size_t hn, const char *t, size_t tn,
                       char **out)
{
	/* Large enough for anything: escaping triples a byte, redaction adds 8 per parameter. */
	size_t cap = 4 * (hn + tn) + 128;
	size_t r;

	*out = xmalloc(cap);
	r = otelp__http_url_full(scheme, h, hn, t, tn, *out, cap);
	CHECK(r + 1 < cap); /* never cut */
	CHECK(strlen(*out) == r);
	for (size_t i = 0; i < r; i++)
		CHECK((*out)[i] > 0x20 && (*out)[i] < 0x7f);
	return r;
}

static void check_url(const char *scheme, const char *h, size_t hn, const char *t, size_t tn,
                      size_t small)
{
	char *out, *again, *third;
	size_t r, r2, r3;

	r = url_full(scheme, h, hn, t, tn, &out);
	if (r > 0) {
		CHECK(strstr(out, "://") != NULL);
		check_redacted(out, r);
	}

	/* A short buffer: the same bytes, cut. */
	if (small) {
		char *s = xmalloc(small);
		size_t rs = otelp__http_url_full(scheme, h, hn, t, tn, s, small);

		CHECK(rs < small && strlen(s) == rs);
		CHECK(rs == (r < small - 1 ? r : small - 1) && memcmp(s, out, rs) == 0);
		free(s);
	}

	/*
	 * The result read back as an absolute-form target gives itself, except that a URL
	 * without a path (asterisk- and authority-form) gains "/".
	 */
	if (r > 0) {
		char *copy = copy_exact(out, r);

		r2 = url_full("http", NULL, 0, copy, r, &again);
		CHECK(r2 == r || (r2 == r + 1 && again[r] == '/'));
		CHECK(memcmp(again, out, r) == 0);
		free(copy);
		copy = copy_exact(again, r2);
		r3 = url_full("https", NULL, 0, copy, r2, &third);
		CHECK(r3 == r2 && memcmp(third, again, r2) == 0);
		free(copy);
		free(third);
		free(again);
	}
	free(out);
}

static size_t route(const char *p, size_t n, char **out)
{
	size_t cap = 4 * n + 16, r;

	*out = xmalloc(cap);
	r = otelp__http_route(p, n, *out, cap);
	CHECK(r + 1 < cap && strlen(*out) == r && r >= 1);
	return r;
}

static void check_route(const char *p, size_t n, size_t small)
{
	char *out, *again, *copy;
	size_t r, r2, slashes = 0;

	r = route(p, n, &out);
	if (!(r == 1 && out[0] == '*')) {
		CHECK(out[0] == '/');
		for (size_t i = 0; i < r; i++) {
			char c = out[i];

			CHECK(is_unreserved(c) || c == '/' || c == '{' || c == '}');
			slashes += c == '/';
		}
		/* 10 segments, then "/..." or a trailing slash. */
		CHECK(slashes <= 11);
	}

	copy = copy_exact(out, r);
	r2 = route(copy, r, &again);
	CHECK(r2 == r && memcmp(again, out, r) == 0);
	free(again);
	free(copy);

	if (small) {
		char *s = xmalloc(small);
		size_t rs = otelp__http_route(p, n, s, small);

		CHECK(rs < small && strlen(s) == rs);
		CHECK(rs == (r < small - 1 ? r : small - 1) && memcmp(s, out, rs) == 0);
		free(s);
	}
	free(out);
}

static void check_xff(const char *v, size_t n)
{
	const char *a = NULL;
	size_t al = 0;

	if (!otelp__http_xff_first(v, n, &a, &al))
		return;
	CHECK(al > 0 && within(a, al, v, n));
	CHECK(memchr(a, ',', al) == NULL && memchr(a, ' ', al) == NULL);
	CHECK(memchr(a, '\t', al) == NULL);
	for (const char *c = v; c < a; c++)
		CHECK(*c == ' ' || *c == '\t');
}

static void check_sensitive(const char *name, size_t n)
{
	char *up = copy_exact(name, n);
	bool s = otelp__http_header_sensitive(name, n);

	for (size_t i = 0; i < n; i++)
		if (up[i] >= 'a' && up[i] <= 'z')
			up[i] = (char)(up[i] - 'a' + 'A');
	CHECK(otelp__http_header_sensitive(up, n) == s);
	free(up);
}

/* Normalize in (a C string) and check the result against its own entries. */
static void check_list(const char *in, bool lower, bool paths, const char *probe, size_t pn,
                       size_t small)
{
	char out[512], again[512];
	int r = otelp__http_list_normalize(in, out, sizeof(out), lower, paths);
	const char *e = out;
	int entries = 0;

	CHECK(r >= -1);
	if (r < 0) {
		CHECK(out[0] == '\0');
	} else {
		size_t len = strlen(out);

		CHECK(len < sizeof(out));
		CHECK(otelp__http_list_normalize(out, again, sizeof(again), lower, paths) == r);
		CHECK(strcmp(out, again) == 0);
		while (*e) {
			const char *c = strchr(e, ',');
			size_t n = c ? (size_t)(c - e) : strlen(e);
			char *copy = copy_exact(e, n), *alone = xmalloc(n + 1);

			CHECK(n > 0 && e[0] != ' ' && e[n - 1] != ' ');
			entries++;
			if (paths) {
				CHECK(e[0] == '/' || e[0] == '*');
				if (e[n - 1] == '*') {
					CHECK(otelp__http_path_ignored(out, copy, n - 1));
				} else {
					CHECK(otelp__http_path_ignored(out, copy, n));
					/* Alone, an exact entry does not match its prefix. */
					memcpy(alone, e, n);
					alone[n] = '\0';
					CHECK(!otelp__http_path_ignored(alone, copy, n - 1));
				}
			} else {
				CHECK(otelp__http_header_listed(out, copy, n));
				if (lower)
					for (size_t i = 0; i < n; i++)
						CHECK(!(e[i] >= 'A' && e[i] <= 'Z'));
			}
			free(alone);
			free(copy);
			e = c ? c + 1 : e + n;
		}
		CHECK(entries == r);
	}

	(void)otelp__http_path_ignored(out, probe, pn);
	(void)otelp__http_header_listed(out, probe, pn);
	(void)otelp__http_path_ignored(in, probe, pn);
	(void)otelp__http_header_listed(in, probe, pn);

	if (small) {
		char *s = xmalloc(small);
		int rs = otelp__http_list_normalize(in, s, small, lower, paths);

		CHECK(rs == -1 || rs == r);
		if (rs >= 0)
			CHECK(strcmp(s, out) == 0);
		else
			CHECK(s[0] == '\0');
		free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const schemes[] = {"http", "https", "ws", NULL};
	const char *in = (const char *)data;
	char *whole = copy_exact(in, size);
	char *field[FIELDS] = {NULL};
	size_t len[FIELDS] = {0}, nf = 0, i = 0, small = size ? data[0] % 48 : 0;
	const char *scheme = schemes[size ? (data[0] >> 6) : 0];
	char *list;

	while (nf < FIELDS && i <= size) {
		const char *nl = i < size ? memchr(in + i, '\n', size - i) : NULL;
		size_t n = nl ? (size_t)(nl - (in + i)) : size - i;

		field[nf] = copy_exact(in + i, n);
		len[nf++] = n;
		i += n + 1;
	}
	for (; nf < FIELDS; nf++)
		field[nf] = copy_exact("", 0);

	check_method(whole, size);
	check_host_port(whole, size);
	check_host_port(field[0], len[0]);
	check_target(whole, size);
	check_target(field[1], len[1]);
	check_url(scheme, field[0], len[0], field[1], len[1], small);
	check_url(scheme, whole, size, whole, size, small);
	check_url(scheme, NULL, 0, whole, size, small);
	check_route(whole, size, small);
	check_route(field[1], len[1], small);
	check_xff(whole, size);
	check_sensitive(whole, size);
	check_sensitive(field[3], len[3]);
	(void)otelp__http_header_listed("authorization,content-type", field[3], len[3]);

	/* The list as the C string it is in the environment (up to a NUL). */
	list = xmalloc(len[2] + 1);
	memcpy(list, field[2], len[2]);
	list[len[2]] = '\0';
	check_list(list, true, false, field[3], len[3], small);
	check_list(list, false, true, field[3], len[3], small);
	check_list(list, small & 1, small & 2, field[3], len[3], small);

	free(list);
	for (i = 0; i < FIELDS; i++)
		free(field[i]);
	free(whole);
	return 0;
}
