/*
 * OTLP/HTTP transport over libcurl (see transport.h).
 *
 * DESIGN
 * ------
 * One libcurl easy handle lives as long as the transport, so its connection cache keeps the
 * connection to the collector alive between exports. Everything that does not change between
 * exports (URL, header list, User-Agent, TLS files, callbacks) is set once when the handle is
 * made; a send sets the body and the timeouts and runs curl_easy_perform(), in a retry loop.
 *
 * Retries follow the OTLP/HTTP rules: 2xx is success, 429/502/503/504 and failures to reach
 * the collector (refused, reset, timed out, empty reply...) are retried, every other answer is
 * final and the batch is dropped. The delay is the server's Retry-After when it sent a valid
 * one, else an exponential backoff with jitter (the common SDK values: 1 s initial, x1.5, 5 s
 * maximum, jitter x[0.8, 1.2], 5 attempts). Nothing runs past the caller's deadline: each
 * attempt's curl timeout is the time left (capped by OTEL_EXPORTER_OTLP_TIMEOUT), and we give
 * up instead of sleeping past the deadline.
 *
 * Sockets. libcurl creates its sockets through our CURLOPT_OPENSOCKETFUNCTION, which moves them
 * to high fd numbers, close-on-exec, and registers them with fdguard, so a host that closes fds
 * it did not open gets EBADF instead of breaking the exporter. When the host dup2()s onto one
 * of them the fd becomes the host's ("stolen"): fdguard marks it, our close callback then
 * leaves it alone, and before the next request the whole easy handle is retired without
 * curl_easy_cleanup(), because cleaning up (or merely evicting the cached connection) could
 * read from or write to the host's fd: a TLS close_notify, for one. Retired handles, like
 * handles abandoned in a fork child, are parked in a small static array and never touched
 * again: a bounded, deliberate leak for a rare event, kept reachable so that leak checkers
 * stay quiet.
 *
 * libcurl runs with CURLOPT_NOSIGNAL, which also means it does not ignore SIGPIPE for us: the
 * exporter thread is expected to run with signals blocked (it is created that way).
 *
 * Runs on the exporter thread only; no locking besides that.
 */
#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "fdguard.h"
#include "log.h"
#include "otlp.h"
#include "transport.h"

#define MAX_ATTEMPTS      5
#define BACKOFF_INITIAL   1000.0 /* ms */
#define BACKOFF_FACTOR    1.5
#define BACKOFF_MAX       5000.0 /* ms, before jitter */
#define JITTER_MIN        0.8
#define JITTER_MAX        1.2
#define MAX_REQUEST_SIZE  (64u << 20) /* before compression (OTLP exporter spec) */
#define MAX_RESPONSE_SIZE (4u << 20)
#define MAX_SOCKS         8 /* sockets of one handle tracked for theft (happy eyeballs: 2) */
#define MAX_RETIRED       16
#define MAX_DELAY_MS      60000 /* a longer Retry-After is taken as "not now": give up */

/*
 * Test knob, not a user setting: OTEL_PRELOAD_TEST_BACKOFF_SCALE multiplies the computed
 * backoff delays (not a server's Retry-After) so that retry tests run in milliseconds. Read
 * once when a transport is made.
 */
#define BACKOFF_SCALE_ENV "OTEL_PRELOAD_TEST_BACKOFF_SCALE"

#define USER_AGENT OTELP_SDK_NAME "/" OTELP_SDK_VERSION " OTel-OTLP-Exporter-C/" OTELP_SDK_VERSION

struct otelp_transport {
	const struct otelp_config *cfg;
	CURL *curl;
	struct curl_slist *headers;
	int socks[MAX_SOCKS]; /* -1: free */
	struct otelp_buf gz;
	struct otelp_buf resp;
	bool resp_too_big;
	bool resp_oom;
	char retry_after[64];
	bool have_retry_after; /* header seen and it fitted in retry_after */
	char content_type[64]; /* of the response */
	char errbuf[CURL_ERROR_SIZE];
	char where[OTELP_CFG_STR_MAX]; /* the endpoint for logs, without user:password@ */
	double backoff_scale;
	uint64_t rng;
};

/* ---- pure helpers ---- */

enum otelp_retry_decision otelp__retry_classify(long http_status, bool connection_failed)
{
	if (connection_failed)
		return OTELP_RETRY_AGAIN;
	if (http_status >= 200 && http_status <= 299)
		return OTELP_RETRY_DONE;
	switch (http_status) {
	case 429:
	case 502:
	case 503:
	case 504:
		return OTELP_RETRY_AGAIN;
	default:
		return OTELP_RETRY_FAIL;
	}
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII only: <ctype.h> follows the host's locale. */
static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A small cursor for the date parser: every step checks the end. */
struct cursor {
	const char *p;
	const char *end;
};

static bool take_char(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* Exactly min..max digits. */
static bool take_num(struct cursor *c, int min, int max, int *out)
{
	int v = 0, n = 0;
	while (n < max && c->p < c->end && is_digit((unsigned char)*c->p)) {
		v = v * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	if (n < min)
		return false;
	*out = v;
	return true;
}

static bool take_alpha(struct cursor *c, size_t *len)
{
	const char *s = c->p;
	while (c->p < c->end && is_alpha((unsigned char)*c->p))
		c->p++;
	*len = (size_t)(c->p - s);
	return *len > 0;
}

static bool take_month(struct cursor *c, int *mon)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	if (c->end - c->p < 3)
		return false;
	char m[3];
	for (int i = 0; i < 3; i++)
		m[i] = (char)(c->p[i] | 0x20);
	for (int i = 0; i < 12; i++) {
		if (memcmp(names + 3 * i, m, 3) == 0) {
			*mon = i + 1;
			c->p += 3;
			return true;
		}
	}
	return false;
}

static bool take_time(struct cursor *c, int *h, int *mi, int *s)
{
	return take_num(c, 2, 2, h) && take_char(c, ':') && take_num(c, 2, 2, mi) &&
	       take_char(c, ':') && take_num(c, 2, 2, s);
}

static bool take_gmt(struct cursor *c)
{
	return take_char(c, ' ') && take_char(c, 'G') && take_char(c, 'M') && take_char(c, 'T');
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone, no libc state). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * HTTP-date (RFC 9110 5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete
 * forms recipients must still accept, RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994". Parsed by hand: strptime() depends on the host's locale.
 */
static bool parse_http_date(const char *s, size_t n, int64_t *epoch)
{
	struct cursor c = {s, s + n};
	int year, mon, day, h, mi, sec;
	size_t wlen;

	if (!take_alpha(&c, &wlen))
		return false;
	if (take_char(&c, ',')) {
		if (!take_char(&c, ' ') || !take_num(&c, 2, 2, &day))
			return false;
		if (take_char(&c, ' ')) { /* IMF-fixdate */
			if (wlen != 3 || !take_month(&c, &mon) || !take_char(&c, ' ') ||
			    !take_num(&c, 4, 4, &year))
				return false;
		} else { /* RFC 850, two-digit year */
			if (!take_char(&c, '-') || !take_month(&c, &mon) || !take_char(&c, '-') ||
			    !take_num(&c, 2, 2, &year))
				return false;
			year += year < 70 ? 2000 : 1900;
		}
		if (!take_char(&c, ' ') || !take_time(&c, &h, &mi, &sec) || !take_gmt(&c))
			return false;
	} else { /* asctime */
		if (wlen != 3 || !take_char(&c, ' ') || !take_month(&c, &mon) ||
		    !take_char(&c, ' '))
			return false;
		take_char(&c, ' '); /* day padded with a space */
		if (!take_num(&c, 1, 2, &day) || !take_char(&c, ' ') ||
		    !take_time(&c, &h, &mi, &sec) || !take_char(&c, ' ') ||
		    !take_num(&c, 4, 4, &year))
			return false;
	}
	if (c.p != c.end || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	*epoch = days_from_civil(year, mon, day) * 86400 + h * 3600 + mi * 60 + sec;
	return true;
}

int64_t otelp__retry_after_ms(const char *v, size_t n, time_t now)
{
	if (!v)
		return -1;
	while (n > 0 && is_ows(v[0])) {
		v++;
		n--;
	}
	while (n > 0 && is_ows(v[n - 1]))
		n--;
	if (n == 0)
		return -1;

	if (is_digit((unsigned char)v[0])) {
		/* delay-seconds = 1*DIGIT; absurd values are clamped, the deadline decides. */
		int64_t secs = 0;
		for (size_t i = 0; i < n; i++) {
			if (!is_digit((unsigned char)v[i]))
				return -1;
			if (secs < 1000000000000)
				secs = secs * 10 + (v[i] - '0');
		}
		return secs * 1000;
	}

	int64_t when;
	if (!parse_http_date(v, n, &when))
		return -1;
	if (when <= (int64_t)now)
		return 0;
	int64_t secs = when - (int64_t)now;
	return secs < 1000000000000 ? secs * 1000 : 1000000000000 * 1000;
}

uint64_t otelp__backoff_ms(unsigned attempt, uint64_t rnd)
{
	double base = BACKOFF_INITIAL;
	for (unsigned i = 1; i < attempt && base < BACKOFF_MAX; i++)
		base *= BACKOFF_FACTOR;
	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	/* The top 53 bits give a uniform double in [0, 1). */
	double u = (double)(rnd >> 11) / 9007199254740992.0;
	double ms = base * (JITTER_MIN + (JITTER_MAX - JITTER_MIN) * u);
	return (uint64_t)(ms + 0.5);
}

int otelp__gzip(const uint8_t *in, size_t n, struct otelp_buf *out)
{
	z_stream zs;
	int rc = -1;

	out->off = 0;
	out->len = 0;
	if (n > UINT_MAX / 2)
		return -1;
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	uLong bound = deflateBound(&zs, (uLong)n);
	if (otelp__buf_reserve(out, bound) < 0)
		goto out;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out->data;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		goto out;
	out->len = zs.total_out;
	rc = 0;
out:
	deflateEnd(&zs);
	return rc;
}

const char *otelp__user_agent(void)
{
	return USER_AGENT;
}

/* ---- libcurl plumbing ---- */

/* volatile: never read, and the stores must not be optimised away. */
static CURL *volatile retired[MAX_RETIRED];
static unsigned n_retired;

/* Forget a handle for good without letting libcurl touch its connections. */
static void retire(CURL *c)
{
	if (c && n_retired < MAX_RETIRED)
		retired[n_retired++] = c;
}

static bool global_done;
static CURLcode global_rc;

static bool global_init(void)
{
	/* Exporter thread only, so a plain flag is enough (and is safe in a fork child). */
	if (global_done)
		return global_rc == CURLE_OK;
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
#ifdef CURL_VERSION_THREADSAFE
	if (!(vi->features & CURL_VERSION_THREADSAFE))
#endif
		OTELP_DBG("libcurl %s: curl_global_init is not thread-safe; the host must not "
		          "initialise libcurl concurrently",
		          vi->version);
	/* Reference counted: harmless when the host initialises too. Never cleaned up. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	global_done = true;
	if (global_rc != CURLE_OK)
		OTELP_WARN("curl_global_init: %s", curl_easy_strerror(global_rc));
	return global_rc == CURLE_OK;
}

bool otelp__transport_global_init(void)
{
	return global_init();
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct otelp_transport *t = clientp;
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	fd = otelp__fd_adopt(fd);
	for (int i = 0; i < MAX_SOCKS; i++) {
		if (t->socks[i] < 0) {
			t->socks[i] = fd;
			break;
		}
	}
	return fd;
}

/*
 * Forget one of our sockets and close it, unless the host took it over: then the number is
 * the host's now. An fd that fdguard could not register (registry full) is closed as usual.
 */
static void drop_socket(int fd)
{
	bool registered = otelp__fd_is_ours(fd) || otelp__fd_was_stolen(fd);
	if (otelp__fd_release(fd) || !registered)
		otelp__sys_close(fd);
}

static int close_socket(void *clientp, curl_socket_t fd)
{
	struct otelp_transport *t = clientp;
	for (int i = 0; i < MAX_SOCKS; i++)
		if (t->socks[i] == fd)
			t->socks[i] = -1;
	drop_socket(fd);
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct otelp_transport *t = ud;
	size_t n = size * nmemb;
	if (t->resp.len + n > MAX_RESPONSE_SIZE) {
		t->resp_too_big = true;
		return 0;
	}
	if (otelp__buf_append(&t->resp, p, n) < 0) {
		t->resp_oom = true;
		return 0;
	}
	return n;
}

/* Copy a header value (CRLF and surrounding OWS removed); false when it does not fit. */
static bool copy_value(const char *v, size_t n, char *out, size_t cap)
{
	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r' || is_ows(v[n - 1])))
		n--;
	while (n > 0 && is_ows(v[0])) {
		v++;
		n--;
	}
	if (n >= cap) {
		out[0] = '\0';
		return false;
	}
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

static bool header_is(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name);
	return n > l && p[l] == ':' && strncasecmp(p, name, l) == 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct otelp_transport *t = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (an interim 1xx may come first): forget the previous one. */
		t->have_retry_after = false;
		t->content_type[0] = '\0';
		t->resp.len = 0;
	} else if (header_is(p, n, "retry-after")) {
		size_t l = sizeof("retry-after:") - 1;
		t->have_retry_after =
		    copy_value(p + l, n - l, t->retry_after, sizeof(t->retry_after));
	} else if (header_is(p, n, "content-type")) {
		size_t l = sizeof("content-type:") - 1;
		copy_value(p + l, n - l, t->content_type, sizeof(t->content_type));
	}
	return n;
}

/* Printable copy for logs and messages (bodies come from the network). */
static void sanitize_copy(char *out, size_t cap, const uint8_t *in, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < cap; i++)
		out[j++] = (in[i] < 0x20 || in[i] == 0x7f) ? ' ' : (char)in[i];
	out[j] = '\0';
}

/* Headers we set ourselves or that would break the request's framing. */
static bool is_reserved(const char *name)
{
	static const char *const reserved[] = {
	    "content-type", "content-encoding", "content-length", "transfer-encoding", "expect",
	};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return true;
	return false;
}

/* Field name = token; value = visible characters, spaces, tabs, obs-text; no CR, LF, CTLs. */
static bool header_ok(const struct otelp_cfg_kv *kv)
{
	size_t kn = strnlen(kv->key, sizeof(kv->key));
	size_t vn = strnlen(kv->value, sizeof(kv->value));
	if (kn == 0 || kn == sizeof(kv->key) || vn == sizeof(kv->value))
		return false;
	for (size_t i = 0; i < kn; i++)
		if (!otelp__is_tchar((unsigned char)kv->key[i]))
			return false;
	for (size_t i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)kv->value[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static struct curl_slist *build_headers(const struct otelp_config *cfg)
{
	struct curl_slist *l = NULL, *nl;
	char line[OTELP_CFG_KEY_MAX + OTELP_CFG_VAL_MAX + 4];

#define ADD(s)                                  \
	do {                                    \
		nl = curl_slist_append(l, (s)); \
		if (!nl)                        \
			goto fail;              \
		l = nl;                         \
	} while (0)

	ADD(cfg->otlp_protocol == OTELP_PROTO_HTTP_JSON ? "Content-Type: application/json"
	                                                : "Content-Type: application/x-protobuf");
	if (cfg->otlp_compression == OTELP_COMPRESSION_GZIP)
		ADD("Content-Encoding: gzip");
	/* No "Expect: 100-continue" round trip for large bodies. */
	ADD("Expect:");
	for (unsigned i = 0; i < cfg->n_otlp_headers && i < OTELP_CFG_KV_MAX; i++) {
		const struct otelp_cfg_kv *kv = &cfg->otlp_headers[i];
		/* Never log the value: headers carry API keys. */
		if (!header_ok(kv)) {
			char name[OTELP_CFG_KEY_MAX];
			sanitize_copy(name, sizeof(name), (const uint8_t *)kv->key,
			              strnlen(kv->key, sizeof(kv->key)));
			OTELP_WARN("OTLP header #%u (%s): invalid name or value, not sent", i + 1,
			           name);
			continue;
		}
		if (is_reserved(kv->key)) {
			OTELP_WARN("OTLP header %s is set by the exporter itself, not sent",
			           kv->key);
			continue;
		}
		/* "Name;" is libcurl's way to send an empty value ("Name:" would remove it). */
		if (kv->value[0])
			snprintf(line, sizeof(line), "%s: %s", kv->key, kv->value);
		else
			snprintf(line, sizeof(line), "%s;", kv->key);
		ADD(line);
	}
	return l;
#undef ADD
fail:
	curl_slist_free_all(l);
	return NULL;
}

#define SETOPT(c, opt, val)                                                                    \
	do {                                                                                   \
		CURLcode rc_ = curl_easy_setopt((c), (opt), (val));                            \
		if (rc_ != CURLE_OK) {                                                         \
			OTELP_WARN("curl_easy_setopt(%s): %s", #opt, curl_easy_strerror(rc_)); \
			goto fail;                                                             \
		}                                                                              \
	} while (0)

/* A configured easy handle in t->curl; 0 or -1. */
static int make_handle(struct otelp_transport *t)
{
	const struct otelp_config *cfg = t->cfg;
	CURL *c = curl_easy_init();
	if (!c) {
		OTELP_WARN("curl_easy_init failed");
		return -1;
	}
	for (int i = 0; i < MAX_SOCKS; i++)
		t->socks[i] = -1;
	SETOPT(c, CURLOPT_NOSIGNAL, 1L);
	SETOPT(c, CURLOPT_URL, cfg->otlp_endpoint);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(c, CURLOPT_POST, 1L);
	SETOPT(c, CURLOPT_HTTPHEADER, t->headers);
	SETOPT(c, CURLOPT_USERAGENT, USER_AGENT);
	SETOPT(c, CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SETOPT(c, CURLOPT_OPENSOCKETDATA, t);
	SETOPT(c, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
	SETOPT(c, CURLOPT_CLOSESOCKETDATA, t);
	SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(c, CURLOPT_WRITEDATA, t);
	SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(c, CURLOPT_HEADERDATA, t);
	if (cfg->otlp_certificate[0])
		SETOPT(c, CURLOPT_CAINFO, cfg->otlp_certificate);
	if (cfg->otlp_client_certificate[0])
		SETOPT(c, CURLOPT_SSLCERT, cfg->otlp_client_certificate);
	if (cfg->otlp_client_key[0])
		SETOPT(c, CURLOPT_SSLKEY, cfg->otlp_client_key);
	t->curl = c;
	return 0;
fail:
	curl_easy_cleanup(c); /* no connection was made yet */
	return -1;
}

/* scheme://[userinfo@]host... -> scheme://host... (userinfo may hold a password). */
static void redact_endpoint(const char *url, char *out, size_t cap)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	const char *at = memchr(host, '@', strcspn(host, "/?#"));
	size_t head = at ? (size_t)(host - url) : 0;
	const char *rest = at ? at + 1 : url;
	size_t n = strlen(rest);
	if (head > cap - 1)
		head = cap - 1;
	if (n > cap - 1 - head)
		n = cap - 1 - head;
	memcpy(out, url, head);
	memcpy(out + head, rest, n);
	out[head + n] = '\0';
}

static uint64_t next_random(struct otelp_transport *t)
{
	/* splitmix64: only for jitter. */
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double read_backoff_scale(void)
{
	const char *v = getenv(BACKOFF_SCALE_ENV);
	if (!v || !v[0])
		return 1.0;
	char *end;
	double d = strtod(v, &end);
	if (*end || !(d >= 0.0 && d <= 1000.0))
		return 1.0;
	return d;
}

struct otelp_transport *otelp__transport_new(const struct otelp_config *cfg)
{
	if (!cfg->otlp_endpoint[0]) {
		OTELP_WARN("no OTLP endpoint");
		return NULL;
	}
	if (!global_init())
		return NULL;
	struct otelp_transport *t = calloc(1, sizeof(*t));
	if (!t) {
		OTELP_WARN("out of memory");
		return NULL;
	}
	t->cfg = cfg;
	redact_endpoint(cfg->otlp_endpoint, t->where, sizeof(t->where));
	t->backoff_scale = read_backoff_scale();
	t->rng = otelp__mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)t;
	t->headers = build_headers(cfg);
	if (!t->headers || make_handle(t) < 0) {
		curl_slist_free_all(t->headers);
		free(t);
		return NULL;
	}
	OTELP_DBG("OTLP/HTTP transport to %s (%s%s)", t->where,
	          cfg->otlp_protocol == OTELP_PROTO_HTTP_JSON ? "json" : "protobuf",
	          cfg->otlp_compression == OTELP_COMPRESSION_GZIP ? ", gzip" : "");
	return t;
}

static void free_memory(struct otelp_transport *t)
{
	curl_slist_free_all(t->headers);
	otelp__buf_free(&t->gz);
	otelp__buf_free(&t->resp);
	free(t);
}

void otelp__transport_free(struct otelp_transport *t)
{
	if (!t)
		return;
	if (t->curl)
		curl_easy_cleanup(t->curl); /* closes through close_socket: needs t */
	free_memory(t);
}

void otelp__transport_abandon(struct otelp_transport *t)
{
	if (!t)
		return;
	/* The sockets are the parent's connection: the caller closes them through fdguard. */
	retire(t->curl);
	free_memory(t);
}

/*
 * The host took over one of our sockets: retire the handle (see the top of the file), close
 * the sockets that are still ours, and start over with a fresh handle and connection.
 */
static int check_stolen(struct otelp_transport *t)
{
	if (!t->curl) /* a previous attempt to replace it failed */
		return make_handle(t);
	bool stolen = false;
	for (int i = 0; i < MAX_SOCKS; i++)
		if (t->socks[i] >= 0 && otelp__fd_was_stolen(t->socks[i]))
			stolen = true;
	if (!stolen)
		return 0;
	OTELP_DBG("an exporter socket was taken over by the host: new connection");
	for (int i = 0; i < MAX_SOCKS; i++) {
		if (t->socks[i] >= 0)
			drop_socket(t->socks[i]);
		t->socks[i] = -1;
	}
	retire(t->curl);
	t->curl = NULL;
	return make_handle(t);
}

static bool is_connection_failure(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* google.rpc.Status.message (field 2) of a protobuf error body, or false. */
static bool status_message(const uint8_t *p, size_t n, const uint8_t **msg, size_t *len)
{
	const uint8_t *end = p + n;
	uint64_t key, v;
	while (p < end) {
		if (!read_varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!read_varint(&p, end, &v))
				return false;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 2:
			if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			if (key >> 3 == 2) {
				*msg = p;
				*len = (size_t)v;
				return true;
			}
			p += v;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		default:
			return false;
		}
	}
	return false;
}

static bool response_is_json(const struct otelp_transport *t)
{
	if (strncasecmp(t->content_type, "application/json", 16) == 0)
		return true;
	if (strncasecmp(t->content_type, "application/x-protobuf", 22) == 0)
		return false;
	return t->cfg->otlp_protocol == OTELP_PROTO_HTTP_JSON;
}

/* "HTTP <status>[: <message from the body>]" into res->message. */
static void describe_http_error(const struct otelp_transport *t, long status,
                                struct otelp_send_result *res)
{
	char detail[200] = "";
	const uint8_t *m = NULL;
	size_t ml = 0;
	if (t->resp.len > 0) {
		if (!response_is_json(t) && strncasecmp(t->content_type, "text/", 5) != 0 &&
		    status_message(t->resp.data, t->resp.len, &m, &ml))
			sanitize_copy(detail, sizeof(detail), m, ml);
		else
			sanitize_copy(detail, sizeof(detail), t->resp.data, t->resp.len);
	}
	snprintf(res->message, sizeof(res->message), "HTTP %ld%s%s", status, detail[0] ? ": " : "",
	         detail);
}

/* 2xx: read partial_success. Delivered in any case. */
static void handle_success(struct otelp_transport *t, struct otelp_send_result *res)
{
	int64_t rejected = 0;
	char msg[sizeof(res->message)] = "";
	static const uint8_t empty[1];
	const uint8_t *body = t->resp.data ? t->resp.data : empty;
	if (otelp__otlp_decode_response(body, t->resp.len, response_is_json(t), &rejected, msg,
	                                sizeof(msg)) < 0) {
		OTELP_DBG("HTTP %ld: undecodable response body (%zu bytes) ignored",
		          res->http_status, t->resp.len);
		return;
	}
	sanitize_copy(res->message, sizeof(res->message), (const uint8_t *)msg,
	              strnlen(msg, sizeof(msg)));
	res->rejected_spans = rejected;
	if (rejected > 0) {
		/* Rejected for good: the collector will not take them on a retry either. */
		OTELP_COUNT(spans_rejected, (uint_fast64_t)rejected);
		OTELP_WARN("collector rejected %lld span(s): %s", (long long)rejected,
		           res->message);
	} else if (res->message[0]) {
		OTELP_WARN("collector warning: %s", res->message);
	}
}

static void sleep_ms(uint64_t ms)
{
	uint64_t until = otelp__mono_ns() + ms * 1000000u;
	struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
	                      .tv_nsec = (long)(until % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Curl timeout for the next attempt in ms: 0 = none; UINT64_MAX = the deadline has passed. */
static uint64_t attempt_timeout_ms(const struct otelp_transport *t, uint64_t deadline)
{
	uint64_t ms = UINT64_MAX - 1; /* unlimited */
	if (deadline != UINT64_MAX) {
		uint64_t now = otelp__mono_ns();
		if (now >= deadline)
			return UINT64_MAX;
		ms = (deadline - now + 999999u) / 1000000u;
	}
	uint32_t cap = t->cfg->otlp_timeout_ms;
	if (cap != 0 && cap != UINT32_MAX && ms > cap)
		ms = cap;
	if (ms == UINT64_MAX - 1)
		return 0;
	if (ms > LONG_MAX)
		ms = LONG_MAX;
	return ms;
}

enum otelp_send_status otelp__transport_send(struct otelp_transport *t, const uint8_t *body,
                                             size_t len, uint64_t deadline_mono_ns,
                                             struct otelp_send_result *res)
{
	memset(res, 0, sizeof(*res));
	if (len > MAX_REQUEST_SIZE) {
		snprintf(res->message, sizeof(res->message),
		         "request of %zu bytes exceeds the %u byte limit, not sent", len,
		         MAX_REQUEST_SIZE);
		goto failed;
	}
	if (t->cfg->otlp_compression == OTELP_COMPRESSION_GZIP) {
		if (otelp__gzip(body, len, &t->gz) < 0) {
			snprintf(res->message, sizeof(res->message), "gzip failed");
			goto failed;
		}
		body = t->gz.data;
		len = t->gz.len;
	}

	for (unsigned attempt = 1;; attempt++) {
		if (check_stolen(t) < 0) {
			snprintf(res->message, sizeof(res->message), "cannot make a curl handle");
			goto failed;
		}
		uint64_t tmo = attempt_timeout_ms(t, deadline_mono_ns);
		if (tmo == UINT64_MAX) {
			if (!res->message[0])
				snprintf(res->message, sizeof(res->message), "deadline passed");
			goto failed;
		}
		CURL *c = t->curl;
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)tmo);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)tmo);
		t->resp.len = 0;
		t->resp_too_big = t->resp_oom = false;
		t->have_retry_after = false;
		t->content_type[0] = '\0';
		t->errbuf[0] = '\0';

		OTELP_COUNT(export_requests, 1);
		res->attempts = attempt;
		CURLcode rc = curl_easy_perform(c);
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		res->http_status = status;

		enum otelp_retry_decision d;
		if (rc == CURLE_OK) {
			d = otelp__retry_classify(status, false);
			if (d != OTELP_RETRY_DONE)
				describe_http_error(t, status, res);
		} else if (t->resp_too_big || t->resp_oom) {
			d = OTELP_RETRY_FAIL;
			snprintf(res->message, sizeof(res->message), "HTTP %ld: response %s",
			         status,
			         t->resp_too_big ? "larger than 4 MiB" : "too large for memory");
		} else {
			d = is_connection_failure(rc) ? otelp__retry_classify(0, true)
			                              : OTELP_RETRY_FAIL;
			snprintf(res->message, sizeof(res->message), "%s",
			         t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
		}

		if (d == OTELP_RETRY_DONE) {
			res->message[0] = '\0';
			handle_success(t, res);
			return OTELP_SEND_OK;
		}
		if (d == OTELP_RETRY_FAIL)
			goto failed;
		if (attempt >= MAX_ATTEMPTS) {
			OTELP_DBG("giving up after %u attempts", attempt);
			goto failed;
		}

		int64_t ra =
		    t->have_retry_after
		        ? otelp__retry_after_ms(t->retry_after, strlen(t->retry_after), time(NULL))
		        : -1;
		uint64_t delay;
		if (ra >= 0) {
			delay = (uint64_t)ra;
		} else {
			delay = otelp__backoff_ms(attempt, next_random(t));
			delay = (uint64_t)((double)delay * t->backoff_scale);
		}
		uint64_t now = otelp__mono_ns();
		if (delay > MAX_DELAY_MS ||
		    (deadline_mono_ns != UINT64_MAX &&
		     (now >= deadline_mono_ns || delay >= (deadline_mono_ns - now) / 1000000u))) {
			OTELP_DBG("attempt %u: %s; a retry in %llu ms would pass the deadline",
			          attempt, res->message, (unsigned long long)delay);
			goto failed;
		}
		OTELP_DBG("attempt %u: %s; retrying in %llu ms%s", attempt, res->message,
		          (unsigned long long)delay, ra >= 0 ? " (Retry-After)" : "");
		OTELP_COUNT(export_retries, 1);
		sleep_ms(delay);
	}

failed:
	OTELP_COUNT(export_failures, 1);
	OTELP_WARN("OTLP export to %s failed after %u attempt(s): %s", t->where, res->attempts,
	           res->message);
	return OTELP_SEND_FAILED;
}
