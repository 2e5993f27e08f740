/*
 * Unit tests of the OTLP/HTTP transport.
 *
 * The pure helpers (retry classification, Retry-After, backoff, gzip, User-Agent) are tested
 * directly. The rest runs against a tiny scripted HTTP/1.1 server started by each test on
 * 127.0.0.1 (a thread, poll() over the listening socket and its connections): each request is
 * recorded (head and body) and answered with the next step of the script, the last step
 * repeating. Backoff delays are scaled down with OTEL_PRELOAD_TEST_BACKOFF_SCALE.
 */
#include <check.h>

#include "check-run.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "config.h"
#include "fdguard.h"
#include "log.h"
#include "otlp.h"
#include "transport.h"

/* ---- pure helpers ---- */

START_TEST(classify_statuses)
{
	static const long done[] = {200, 201, 202, 204, 206, 299};
	static const long again[] = {429, 502, 503, 504};
	static const long fail[] = {100, 199, 300, 301, 302, 304, 307, 308, 400, 401, 403,
	                            404, 405, 408, 409, 413, 415, 431, 500, 501, 505, 511};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(done); i++)
		ck_assert_int_eq(otelp__retry_classify(done[i], false), OTELP_RETRY_DONE);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(again); i++)
		ck_assert_int_eq(otelp__retry_classify(again[i], false), OTELP_RETRY_AGAIN);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(fail); i++)
		ck_assert_int_eq(otelp__retry_classify(fail[i], false), OTELP_RETRY_FAIL);
	/* No response at all: refused, reset, timed out. */
	ck_assert_int_eq(otelp__retry_classify(0, true), OTELP_RETRY_AGAIN);
	/* A failure after a status line (body cut short) is still a connection failure. */
	ck_assert_int_eq(otelp__retry_classify(200, true), OTELP_RETRY_AGAIN);
	ck_assert_int_eq(otelp__retry_classify(0, false), OTELP_RETRY_FAIL);
}
END_TEST

static int64_t ra(const char *s, time_t now)
{
	return otelp__retry_after_ms(s, strlen(s), now);
}

START_TEST(retry_after_values)
{
	/* 1994-11-06 08:49:37 UTC */
	const time_t now = 784111777;

	ck_assert_int_eq(ra("120", now), 120000);
	ck_assert_int_eq(ra("0", now), 0);
	ck_assert_int_eq(ra(" 5 ", now), 5000);
	ck_assert_int_eq(ra("\t7", now), 7000);
	ck_assert_int_eq(ra("-5", now), -1);
	ck_assert_int_eq(ra("", now), -1);
	ck_assert_int_eq(ra("   ", now), -1);
	ck_assert_int_eq(ra("5s", now), -1);
	ck_assert_int_eq(ra("1.5", now), -1);
	ck_assert_int_eq(ra("1 2", now), -1);
	ck_assert_int_eq(ra("garbage", now), -1);
	ck_assert_int_eq(ra("+5", now), -1);
	ck_assert_int_gt(ra("99999999999999999999999", now), 0); /* clamped, not wrapped */
	/* Not NUL-terminated: only n bytes count. */
	ck_assert_int_eq(otelp__retry_after_ms("12345", 2, now), 12000);
	ck_assert_int_eq(otelp__retry_after_ms(NULL, 0, now), -1);

	/* HTTP-date in its three forms, in the future ... */
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
	ck_assert_int_eq(ra("Sunday, 06-Nov-94 08:50:37 GMT", now), 60000);
	ck_assert_int_eq(ra("Sun Nov  6 08:50:37 1994", now), 60000);
	ck_assert_int_eq(ra("Mon, 07 Nov 1994 08:49:37 GMT", now), 86400000);
	ck_assert_int_eq(ra(" Sun, 06 Nov 1994 08:49:47 GMT ", now), 10000);
	/* ... now and in the past: retry at once. */
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
	ck_assert_int_eq(ra("Sat, 05 Nov 1994 08:49:37 GMT", now), 0);
	ck_assert_int_eq(ra("Thu, 01 Jan 1970 00:00:00 GMT", now), 0);
	/* Leap year and a date far ahead. */
	ck_assert_int_eq(ra("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 3), 3000);
	ck_assert_int_eq(ra("Wed, 01 Mar 2023 00:00:00 GMT", 1677628800 - 1), 1000);

	/* Malformed dates. */
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 08:49:37", now), -1);
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 08:49:37 UTC", now), -1);
	ck_assert_int_eq(ra("Sun, 06 Foo 1994 08:49:37 GMT", now), -1);
	ck_assert_int_eq(ra("Sun, 6 Nov 1994 08:49:37 GMT", now), -1);
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 25:49:37 GMT", now), -1);
	ck_assert_int_eq(ra("Sun, 32 Nov 1994 08:49:37 GMT", now), -1);
	ck_assert_int_eq(ra("Sun, 06 Nov 1994 08:49:37 GMT x", now), -1);
	ck_assert_int_eq(ra("Sun,", now), -1);
}
END_TEST

START_TEST(backoff_bounds)
{
	/* Base delays: 1 s x 1.5^(attempt-1), at most 5 s. */
	static const uint64_t base[] = {1000, 1500, 2250, 3375, 5000, 5000, 5000, 5000};
	uint64_t prev_lo = 0, prev_hi = 0;
	for (unsigned a = 1; a <= 8; a++) {
		uint64_t lo = otelp__backoff_ms(a, 0);
		uint64_t hi = otelp__backoff_ms(a, UINT64_MAX);
		uint64_t mid = otelp__backoff_ms(a, UINT64_MAX / 2);
		ck_assert_uint_eq(lo, (base[a - 1] * 8 + 5) / 10);
		ck_assert_uint_eq(hi, (base[a - 1] * 12 + 5) / 10);
		ck_assert_uint_ge(mid, lo);
		ck_assert_uint_le(mid, hi);
		ck_assert_uint_le(hi, 6000);
		ck_assert_uint_ge(lo, prev_lo);
		ck_assert_uint_ge(hi, prev_hi);
		prev_lo = lo;
		prev_hi = hi;
	}
	ck_assert_uint_eq(otelp__backoff_ms(100, UINT64_MAX), 6000);
	ck_assert_uint_eq(otelp__backoff_ms(UINT32_MAX, 0), 4000);
	/* Jitter covers the range. */
	uint64_t x = 88172645463325252u, lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < 10000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t d = otelp__backoff_ms(1, x);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ck_assert_uint_ge(lo, 800);
	ck_assert_uint_le(lo, 820);
	ck_assert_uint_le(hi, 1200);
	ck_assert_uint_ge(hi, 1180);
}
END_TEST

static uint8_t *inflate_all(const uint8_t *in, size_t n, size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK); /* gzip only */
	size_t cap = 1024 + n * 4, len = 0;
	uint8_t *out = malloc(cap);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	int rc;
	do {
		if (len == cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		zs.next_out = out + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		ck_assert(rc == Z_OK || rc == Z_STREAM_END);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(zs.avail_in, 0);
	inflateEnd(&zs);
	*out_len = len;
	return out;
}

static void gzip_roundtrip(const uint8_t *data, size_t n)
{
	struct otelp_buf out = {0};
	ck_assert_int_eq(otelp__gzip(data, n, &out), 0);
	ck_assert_uint_ge(out.len, 18); /* header + trailer */
	ck_assert_uint_eq(out.data[0], 0x1f);
	ck_assert_uint_eq(out.data[1], 0x8b);
	size_t m;
	uint8_t *back = inflate_all(out.data, out.len, &m);
	ck_assert_uint_eq(m, n);
	ck_assert(n == 0 || memcmp(back, data, n) == 0);
	free(back);
	/* The buffer is reset, not appended to. */
	ck_assert_int_eq(otelp__gzip(data, n, &out), 0);
	back = inflate_all(out.data, out.len, &m);
	ck_assert_uint_eq(m, n);
	free(back);
	otelp__buf_free(&out);
}

START_TEST(gzip_round_trip)
{
	gzip_roundtrip((const uint8_t *)"", 0);
	gzip_roundtrip((const uint8_t *)"hello", 5);
	size_t n = 300000;
	uint8_t *d = malloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		d[i] = i < n / 2 ? (uint8_t)(i % 7) : (uint8_t)(x >> 24); /* half compressible */
	}
	gzip_roundtrip(d, n);
	free(d);
}
END_TEST

START_TEST(user_agent_format)
{
	const char *ua = otelp__user_agent();
	ck_assert_str_eq(ua, "otelpreload/" OTELP_SDK_VERSION
	                     " OTel-OTLP-Exporter-C/" OTELP_SDK_VERSION);
	ck_assert_ptr_eq(strchr(ua, '\r'), NULL);
	ck_assert_ptr_eq(strchr(ua, '\n'), NULL);
}
END_TEST

/* ---- scripted HTTP server ---- */

#define MAX_STEPS 16
#define MAX_REQS  64
#define MAX_CONNS 8

struct step {
	int status;          /* 0: close the connection without answering */
	const char *headers; /* extra header lines, each ending in \r\n */
	const void *body;
	size_t body_len;
	unsigned delay_ms;
};

struct req {
	char *head; /* request line and headers, NUL-terminated */
	uint8_t *body;
	size_t body_len;
	int conn_id;
};

struct conn {
	int fd;
	int id;
	uint8_t *buf;
	size_t len, cap;
};

struct server {
	int lfd;
	int port;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t mu;
	struct step steps[MAX_STEPS];
	unsigned n_steps;
	struct req reqs[MAX_REQS];
	unsigned n_reqs;
	unsigned n_conns; /* accepted in total */
	struct conn conns[MAX_CONNS];
};

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static const char *find_crlf2(const uint8_t *p, size_t n)
{
	if (n > 65536) /* heads are small; do not rescan large bodies */
		n = 65536;
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return (const char *)p + i;
	return NULL;
}

/* Value of header name in a request head (case-insensitive), or false. */
static bool head_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t l = strlen(name);
	const char *p = strstr(head, "\r\n");
	while (p) {
		p += 2;
		if (strncasecmp(p, name, l) == 0 && p[l] == ':') {
			const char *v = p + l + 1;
			while (*v == ' ')
				v++;
			size_t vn = strcspn(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)vn, v);
			return true;
		}
		p = strstr(p, "\r\n");
	}
	return false;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Handle complete requests in c's buffer; false when the connection was closed. */
static bool conn_process(struct server *s, struct conn *c)
{
	for (;;) {
		const char *end = find_crlf2(c->buf, c->len);
		if (!end)
			return true;
		size_t head_len = (size_t)(end - (const char *)c->buf) + 4;
		char *head = strndup((const char *)c->buf, head_len - 2);
		char v[32];
		size_t cl =
		    head_header(head, "content-length", v, sizeof(v)) ? strtoul(v, 0, 10) : 0;
		if (c->len < head_len + cl) {
			free(head);
			return true;
		}
		struct req r = {
		    .head = head, .body = malloc(cl + 1), .body_len = cl, .conn_id = c->id};
		memcpy(r.body, c->buf + head_len, cl);
		memmove(c->buf, c->buf + head_len + cl, c->len - head_len - cl);
		c->len -= head_len + cl;

		pthread_mutex_lock(&s->mu);
		unsigned idx = s->n_reqs;
		if (s->n_reqs < MAX_REQS) {
			s->reqs[s->n_reqs++] = r;
		} else {
			free(r.head);
			free(r.body);
		}
		struct step st = {.status = 200};
		if (s->n_steps)
			st = s->steps[idx < s->n_steps ? idx : s->n_steps - 1];
		pthread_mutex_unlock(&s->mu);

		if (st.delay_ms)
			usleep(st.delay_ms * 1000u);
		if (st.status == 0) {
			conn_close(c);
			return false;
		}
		char rh[1024];
		int n = snprintf(rh, sizeof(rh),
		                 "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n%s\r\n", st.status,
		                 st.body_len, st.headers ? st.headers : "");
		send_all(c->fd, rh, (size_t)n);
		send_all(c->fd, st.body, st.body_len);
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		struct pollfd pfd[2 + MAX_CONNS];
		int map[2 + MAX_CONNS];
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++) {
			if (s->conns[i].fd >= 0) {
				map[n] = i;
				pfd[n++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
			}
		}
		if (poll(pfd, n, -1) < 0)
			continue;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);
			int i;
			for (i = 0; fd >= 0 && i < MAX_CONNS; i++) {
				if (s->conns[i].fd < 0) {
					pthread_mutex_lock(&s->mu);
					s->conns[i].fd = fd;
					s->conns[i].id = (int)++s->n_conns;
					pthread_mutex_unlock(&s->mu);
					break;
				}
			}
			if (fd >= 0 && i == MAX_CONNS)
				close(fd);
		}
		for (nfds_t k = 2; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			struct conn *c = &s->conns[map[k]];
			if (c->cap - c->len < 65536) {
				c->cap = c->cap * 2 + 65536;
				c->buf = realloc(c->buf, c->cap);
			}
			ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
			if (r <= 0) {
				conn_close(c);
				continue;
			}
			c->len += (size_t)r;
			conn_process(s, c);
		}
	}
	return NULL;
}

static struct server *server_start(const struct step *steps, unsigned n_steps)
{
	struct server *s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	for (int i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	ck_assert_uint_le(n_steps, MAX_STEPS);
	if (n_steps)
		memcpy(s->steps, steps, n_steps * sizeof(*steps));
	s->n_steps = n_steps;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->lfd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->lfd, 16), 0);
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pipe2(s->wake, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	ck_assert_int_eq(write(s->wake[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(&s->conns[i]);
	for (unsigned i = 0; i < s->n_reqs; i++) {
		free(s->reqs[i].head);
		free(s->reqs[i].body);
	}
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static unsigned server_nreqs(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	unsigned n = s->n_reqs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static unsigned server_nconns(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	unsigned n = s->n_conns;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Request i, once recorded (under the lock: the server thread wrote it). */
static const struct req *server_req(struct server *s, unsigned i)
{
	pthread_mutex_lock(&s->mu);
	ck_assert_uint_lt(i, s->n_reqs);
	const struct req *r = &s->reqs[i];
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* A port with nothing listening. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- transport fixtures ---- */

static struct otelp_config cfg;

static void cfg_init(int port)
{
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.otlp_endpoint, sizeof(cfg.otlp_endpoint), "http://127.0.0.1:%d/v1/traces",
	         port);
	cfg.otlp_timeout_ms = 10000;
	cfg.otlp_protocol = OTELP_PROTO_HTTP_PROTOBUF;
	cfg.otlp_compression = OTELP_COMPRESSION_NONE;
}

static struct otelp_transport *transport(const char *scale)
{
	if (scale)
		setenv("OTEL_PRELOAD_TEST_BACKOFF_SCALE", scale, 1);
	else
		unsetenv("OTEL_PRELOAD_TEST_BACKOFF_SCALE");
	struct otelp_transport *t = otelp__transport_new(&cfg);
	ck_assert_ptr_nonnull(t);
	return t;
}

static uint64_t in_ms(uint64_t ms)
{
	return otelp__mono_ns() + ms * 1000000u;
}

static uint64_t elapsed_ms(uint64_t start)
{
	return (otelp__mono_ns() - start) / 1000000u;
}

static const uint8_t body1[] = "\x0a\x05hello-otlp-body\x00\x01\x02\xff";
#define BODY1_LEN (sizeof(body1) - 1)

static uint64_t counter(atomic_uint_fast64_t *c)
{
	return atomic_load(c);
}

START_TEST(net_retry_503_503_200)
{
	const struct step steps[] = {{.status = 503}, {.status = 503}, {.status = 200}};
	struct server *s = server_start(steps, 3);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	uint64_t req0 = counter(&otelp__stats.export_requests);
	uint64_t ret0 = counter(&otelp__stats.export_retries);
	uint64_t fail0 = counter(&otelp__stats.export_failures);
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();

	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_lt(elapsed_ms(start), 1000); /* scaled backoff */
	ck_assert_uint_eq(res.attempts, 3);
	ck_assert_int_eq(res.http_status, 200);
	ck_assert_int_eq(res.rejected_spans, 0);
	ck_assert_str_eq(res.message, "");
	ck_assert_uint_eq(server_nreqs(s), 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert(strncmp(server_req(s, i)->head, "POST /v1/traces HTTP/1.1\r\n", 26) == 0);
		ck_assert_uint_eq(server_req(s, i)->body_len, BODY1_LEN);
		ck_assert_mem_eq(server_req(s, i)->body, body1, BODY1_LEN);
	}
	ck_assert_uint_eq(counter(&otelp__stats.export_requests) - req0, 3);
	ck_assert_uint_eq(counter(&otelp__stats.export_retries) - ret0, 2);
	ck_assert_uint_eq(counter(&otelp__stats.export_failures) - fail0, 0);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

static void expect_permanent(int status)
{
	/* google.rpc.Status{code: 3, message: "bad data"} */
	static const uint8_t st[] = "\x08\x03\x12\x08"
	                            "bad data";
	const struct step steps[] = {{.status = status,
	                              .headers = "Content-Type: application/x-protobuf\r\n",
	                              .body = st,
	                              .body_len = sizeof(st) - 1},
	                             {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	uint64_t fail0 = counter(&otelp__stats.export_failures);
	uint64_t ret0 = counter(&otelp__stats.export_retries);
	struct otelp_send_result res;

	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_eq(res.attempts, 1);
	ck_assert_int_eq(res.http_status, status);
	char want[64];
	snprintf(want, sizeof(want), "HTTP %d: bad data", status);
	ck_assert_str_eq(res.message, want);
	ck_assert_uint_eq(server_nreqs(s), 1);
	ck_assert_uint_eq(counter(&otelp__stats.export_failures) - fail0, 1);
	ck_assert_uint_eq(counter(&otelp__stats.export_retries) - ret0, 0);
	otelp__transport_free(t);
	server_stop(s);
}

START_TEST(net_400_not_retried)
{
	expect_permanent(400);
}
END_TEST

START_TEST(net_other_errors_not_retried)
{
	static const int codes[] = {401, 403, 404, 413, 500, 501, 301, 302, 307};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(codes); i++)
		expect_permanent(codes[i]);
}
END_TEST

START_TEST(net_text_error_body)
{
	const struct step steps[] = {{.status = 401,
	                              .headers = "Content-Type: text/plain\r\n",
	                              .body = "no\r\nkey",
	                              .body_len = 7}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_str_eq(res.message, "HTTP 401: no  key");
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_all_retryable_codes)
{
	const struct step steps[] = {
	    {.status = 429}, {.status = 502}, {.status = 504}, {.status = 503}, {.status = 204}};
	struct server *s = server_start(steps, 5);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(20000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 5);
	ck_assert_int_eq(res.http_status, 204);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_retries_exhausted)
{
	const struct step steps[] = {{.status = 503}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	uint64_t fail0 = counter(&otelp__stats.export_failures);
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(20000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_eq(res.attempts, 5);
	ck_assert_uint_eq(server_nreqs(s), 5);
	ck_assert_int_eq(res.http_status, 503);
	ck_assert_str_eq(res.message, "HTTP 503");
	ck_assert_uint_eq(counter(&otelp__stats.export_failures) - fail0, 1);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_429_retry_after)
{
	const struct step steps[] = {{.status = 429, .headers = "Retry-After: 1\r\n"},
	                             {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	/* The backoff is scaled down: only an honoured Retry-After explains a 1 s wait. */
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	uint64_t el = elapsed_ms(start);
	ck_assert_uint_ge(el, 990);
	ck_assert_uint_lt(el, 3000);
	ck_assert_uint_eq(res.attempts, 2);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_retry_after_past_deadline)
{
	const struct step steps[] = {{.status = 503, .headers = "Retry-After: 30\r\n"},
	                             {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(2000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_lt(elapsed_ms(start), 1000); /* gave up at once, did not sleep */
	ck_assert_uint_eq(res.attempts, 1);
	ck_assert_int_eq(res.http_status, 503);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_invalid_retry_after_uses_backoff)
{
	const struct step steps[] = {{.status = 503, .headers = "Retry-After: soon\r\n"},
	                             {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_lt(elapsed_ms(start), 800);
	ck_assert_uint_eq(res.attempts, 2);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_gzip)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	cfg.otlp_compression = OTELP_COMPRESSION_GZIP;
	struct otelp_transport *t = transport("0.01");
	size_t n = 100000;
	uint8_t *d = malloc(n);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 7 % 13);
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, d, n, in_ms(10000), &res), OTELP_SEND_OK);
	ck_assert_uint_eq(server_nreqs(s), 1);
	char v[128];
	ck_assert(head_header(server_req(s, 0)->head, "content-encoding", v, sizeof(v)));
	ck_assert_str_eq(v, "gzip");
	ck_assert(head_header(server_req(s, 0)->head, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/x-protobuf");
	ck_assert_uint_lt(server_req(s, 0)->body_len, n / 4);
	size_t m;
	uint8_t *back = inflate_all(server_req(s, 0)->body, server_req(s, 0)->body_len, &m);
	ck_assert_uint_eq(m, n);
	ck_assert_mem_eq(back, d, n);
	free(back);
	free(d);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_no_gzip_by_default)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	char v[128];
	ck_assert(!head_header(server_req(s, 0)->head, "content-encoding", v, sizeof(v)));
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_partial_success_protobuf)
{
	/* ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "dup"}} */
	static const uint8_t pb[] = "\x0a\x07\x08\x03\x12\x03"
	                            "dup";
	const struct step steps[] = {{.status = 200,
	                              .headers = "Content-Type: application/x-protobuf\r\n",
	                              .body = pb,
	                              .body_len = sizeof(pb) - 1}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	uint64_t rej0 = counter(&otelp__stats.spans_rejected);
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 1); /* not retried */
	ck_assert_int_eq(res.rejected_spans, 3);
	ck_assert_str_eq(res.message, "dup");
	ck_assert_uint_eq(counter(&otelp__stats.spans_rejected) - rej0, 3);
	ck_assert_uint_eq(server_nreqs(s), 1);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_partial_success_json)
{
	static const char js[] =
	    "{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":\"too old\"}}";
	const struct step steps[] = {{.status = 200,
	                              .headers = "Content-Type: application/json\r\n",
	                              .body = js,
	                              .body_len = sizeof(js) - 1}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	cfg.otlp_protocol = OTELP_PROTO_HTTP_JSON;
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	const char body[] = "{\"resourceSpans\":[]}";
	ck_assert_int_eq(
	    otelp__transport_send(t, (const uint8_t *)body, sizeof(body) - 1, in_ms(10000), &res),
	    OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 1);
	ck_assert_int_eq(res.rejected_spans, 2);
	ck_assert_str_eq(res.message, "too old");
	char v[128];
	ck_assert(head_header(server_req(s, 0)->head, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	ck_assert_mem_eq(server_req(s, 0)->body, body, sizeof(body) - 1);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_refused_gives_up_at_deadline)
{
	cfg_init(closed_port());
	/* Real backoff (>= 800 ms) does not fit in 500 ms: one attempt, then give up. */
	struct otelp_transport *t = transport(NULL);
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(500), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_le(elapsed_ms(start), 500);
	ck_assert_uint_eq(res.attempts, 1);
	ck_assert_int_eq(res.http_status, 0);
	ck_assert_ptr_nonnull(strstr(res.message, "connect"));
	otelp__transport_free(t);
}
END_TEST

START_TEST(net_refused_retried)
{
	cfg_init(closed_port());
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(3000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_lt(elapsed_ms(start), 3000);
	ck_assert_uint_eq(res.attempts, 5);
	otelp__transport_free(t);
}
END_TEST

START_TEST(net_deadline_already_passed)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, otelp__mono_ns() - 1, &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_eq(res.attempts, 0);
	ck_assert_uint_eq(server_nreqs(s), 0);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_slow_collector_times_out_then_retried)
{
	/* The server is single-threaded: it answers the second connection after the delay. */
	const struct step steps[] = {{.status = 200, .delay_ms = 300}, {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	cfg.otlp_timeout_ms = 200; /* per attempt */
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(5000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 2);
	ck_assert_uint_lt(elapsed_ms(start), 3000);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_slow_collector_bounded_by_deadline)
{
	const struct step steps[] = {{.status = 200, .delay_ms = 1500}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(300), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_lt(elapsed_ms(start), 600);
	ck_assert_uint_eq(res.attempts, 1);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_disconnect_without_answer)
{
	const struct step steps[] = {{.status = 0}, {.status = 200}};
	struct server *s = server_start(steps, 2);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(5000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 2);
	ck_assert_uint_eq(server_nreqs(s), 2);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_response_too_large)
{
	size_t n = (4u << 20) + 100;
	uint8_t *big = calloc(1, n);
	const struct step steps[] = {{.status = 200, .body = big, .body_len = n}};
	struct server *s = server_start(steps, 1);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_FAILED);
	ck_assert_uint_eq(res.attempts, 1);
	ck_assert_ptr_nonnull(strstr(res.message, "4 MiB"));
	otelp__transport_free(t);
	server_stop(s);
	free(big);
}
END_TEST

START_TEST(net_headers)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	static const struct {
		const char *k, *v;
	} hs[] = {
	    {"x-api-key", "s3cret value=1"},
	    {"Authorization", "Bearer abc"},
	    {"bad\r\nname", "v"},
	    {"x-inject", "a\r\nx-evil: 1"},
	    {"bad name", "v"},
	    {"x-ctl", "a\x01z"},
	    {"Content-Type", "text/plain"},
	    {"content-length", "1"},
	    {"x-empty", ""},
	};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(hs); i++) {
		snprintf(cfg.otlp_headers[i].key, OTELP_CFG_KEY_MAX, "%s", hs[i].k);
		snprintf(cfg.otlp_headers[i].value, OTELP_CFG_VAL_MAX, "%s", hs[i].v);
	}
	cfg.n_otlp_headers = OTELP_ARRAY_SIZE(hs);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	const char *h = server_req(s, 0)->head;
	char v[256];
	ck_assert(head_header(h, "x-api-key", v, sizeof(v)));
	ck_assert_str_eq(v, "s3cret value=1");
	ck_assert(head_header(h, "authorization", v, sizeof(v)));
	ck_assert_str_eq(v, "Bearer abc");
	ck_assert(head_header(h, "x-empty", v, sizeof(v)));
	ck_assert_str_eq(v, "");
	ck_assert(!head_header(h, "x-inject", v, sizeof(v)));
	ck_assert(!head_header(h, "x-evil", v, sizeof(v)));
	ck_assert(!head_header(h, "x-ctl", v, sizeof(v)));
	ck_assert_ptr_null(strstr(h, "bad"));
	ck_assert(head_header(h, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/x-protobuf");
	ck_assert(head_header(h, "content-length", v, sizeof(v)));
	ck_assert_uint_eq(strtoul(v, NULL, 10), BODY1_LEN);
	ck_assert(head_header(h, "user-agent", v, sizeof(v)));
	ck_assert_str_eq(v, otelp__user_agent());
	ck_assert(!head_header(h, "expect", v, sizeof(v)));
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

START_TEST(net_large_body_no_expect)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	size_t n = 3u << 20;
	uint8_t *d = malloc(n);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)i;
	struct otelp_send_result res;
	uint64_t start = otelp__mono_ns();
	ck_assert_int_eq(otelp__transport_send(t, d, n, in_ms(10000), &res), OTELP_SEND_OK);
	ck_assert_uint_lt(elapsed_ms(start), 900); /* no 1 s wait for 100-continue */
	char v[64];
	ck_assert(!head_header(server_req(s, 0)->head, "expect", v, sizeof(v)));
	ck_assert_uint_eq(server_req(s, 0)->body_len, n);
	ck_assert_mem_eq(server_req(s, 0)->body, d, n);
	free(d);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

/* The one fd registered with fdguard (only the transport registers fds in this test). */
static int our_fd(void)
{
	int found = -1;
	for (int fd = 0; fd < 65536; fd++) {
		if (otelp__fd_is_ours(fd)) {
			ck_assert_int_eq(found, -1);
			found = fd;
		}
	}
	return found;
}

START_TEST(net_keepalive_and_socket_protection)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
		                 OTELP_SEND_OK);
	ck_assert_uint_eq(server_nreqs(s), 3);
	ck_assert_uint_eq(server_nconns(s), 1); /* one connection, kept alive */
	ck_assert_int_eq(server_req(s, 2)->conn_id, 1);

	int fd = our_fd();
	ck_assert_int_ge(fd, 100); /* moved high */
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	otelp__transport_free(t);
	/* Released and closed. */
	ck_assert_int_eq(our_fd(), -1);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	server_stop(s);
}
END_TEST

START_TEST(net_stolen_socket)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	int fd = our_fd();
	ck_assert_int_ge(fd, 0);

	/* The host dup2()s its own socket onto ours (what the dup2 hook reports). */
	int sp[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(dup2(sp[0], fd), fd);
	otelp__fd_mark_stolen(fd);
	struct stat want, got;
	ck_assert_int_eq(fstat(sp[0], &want), 0);

	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(res.attempts, 1);
	/* Nothing of ours went into the host's socket. */
	char junk[16];
	ck_assert_int_eq(recv(sp[1], junk, sizeof(junk), MSG_DONTWAIT), -1);
	ck_assert_uint_eq(server_nreqs(s), 2);
	ck_assert_uint_eq(server_nconns(s), 2); /* a fresh connection */
	ck_assert_int_eq(server_req(s, 1)->conn_id, 2);
	int nfd = our_fd();
	ck_assert_int_ge(nfd, 0);
	ck_assert_int_ne(nfd, fd);

	otelp__transport_free(t);
	/* The host's fd is still open and still the host's file. */
	ck_assert_int_eq(fstat(fd, &got), 0);
	ck_assert(got.st_dev == want.st_dev && got.st_ino == want.st_ino);
	ck_assert_int_eq(our_fd(), -1);
	ck_assert_int_eq(recv(sp[1], junk, sizeof(junk), MSG_DONTWAIT), -1);
	close(fd);
	close(sp[0]);
	close(sp[1]);
	server_stop(s);
}
END_TEST

START_TEST(net_abandon_keeps_sockets)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	int fd = our_fd();
	ck_assert_int_ge(fd, 0);
	otelp__transport_abandon(t);
	/* Untouched: the fork child's owner closes it through fdguard. */
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(our_fd(), fd);
	otelp__fd_close_all(-1);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);

	/* A new transport works. */
	t = transport("0.01");
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	ck_assert_uint_eq(server_nreqs(s), 2);
	otelp__transport_free(t);
	server_stop(s);
}
END_TEST

/* Open fds in the high range where the transport's sockets live (the server's are low). */
static int count_high_fds(void)
{
	int n = 0;
	for (int fd = 100; fd < 65536; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

START_TEST(net_fdguard_full_sockets_still_closed)
{
	struct server *s = server_start(NULL, 0);
	cfg_init(s->port);
	/* Fill the registry: the transport's socket then works unprotected. */
	for (int i = 0; i < OTELP_FDGUARD_MAX; i++)
		otelp__fd_adopt(open("/dev/null", O_RDONLY));
	int before = count_high_fds();
	struct otelp_transport *t = transport("0.01");
	struct otelp_send_result res;
	ck_assert_int_eq(otelp__transport_send(t, body1, BODY1_LEN, in_ms(10000), &res),
	                 OTELP_SEND_OK);
	otelp__transport_free(t);
	ck_assert_int_eq(count_high_fds(), before); /* closed, not leaked */
	otelp__fd_close_all(-1);
	server_stop(s);
}
END_TEST

START_TEST(net_no_endpoint)
{
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_ptr_null(otelp__transport_new(&cfg));
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("helpers");
	tcase_add_test(tc, classify_statuses);
	tcase_add_test(tc, retry_after_values);
	tcase_add_test(tc, backoff_bounds);
	tcase_add_test(tc, gzip_round_trip);
	tcase_add_test(tc, user_agent_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("network");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, net_retry_503_503_200);
	tcase_add_test(tc, net_400_not_retried);
	tcase_add_test(tc, net_other_errors_not_retried);
	tcase_add_test(tc, net_text_error_body);
	tcase_add_test(tc, net_all_retryable_codes);
	tcase_add_test(tc, net_retries_exhausted);
	tcase_add_test(tc, net_429_retry_after);
	tcase_add_test(tc, net_retry_after_past_deadline);
	tcase_add_test(tc, net_invalid_retry_after_uses_backoff);
	tcase_add_test(tc, net_gzip);
	tcase_add_test(tc, net_no_gzip_by_default);
	tcase_add_test(tc, net_partial_success_protobuf);
	tcase_add_test(tc, net_partial_success_json);
	tcase_add_test(tc, net_refused_gives_up_at_deadline);
	tcase_add_test(tc, net_refused_retried);
	tcase_add_test(tc, net_deadline_already_passed);
	tcase_add_test(tc, net_slow_collector_times_out_then_retried);
	tcase_add_test(tc, net_slow_collector_bounded_by_deadline);
	tcase_add_test(tc, net_disconnect_without_answer);
	tcase_add_test(tc, net_response_too_large);
	tcase_add_test(tc, net_headers);
	tcase_add_test(tc, net_large_body_no_expect);
	tcase_add_test(tc, net_keepalive_and_socket_protection);
	tcase_add_test(tc, net_stolen_socket);
	tcase_add_test(tc, net_abandon_keeps_sockets);
	tcase_add_test(tc, net_fdguard_full_sockets_still_closed);
	tcase_add_test(tc, net_no_endpoint);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* The exporter thread runs with signals blocked; here the server may write to a closed
	 * connection. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("OTELP_TEST_DEBUG"))
		otelp__log_init(OTELP_LOG_DEBUG, NULL);
	return otelp_check_run(transport_suite(), false);
}
