/*
 * Unit tests for the write path of src/http.c: header injection into a client connection's
 * request stream, driven in process.
 *
 * The connection is a real AF_UNIX socket (so that otelp__http_on_connect sees SOCK_STREAM) but
 * nothing is ever sent on it: op->sendmsg and op->orig are fakes that play a kernel following a
 * script (take at most n bytes, or fail with EAGAIN or EINTR) and record what they took. The
 * tests check the exact counts the program gets back, the exact bytes the peer would receive
 * (with our traceparent line where the request head ends), which of the two calls sent them,
 * that spans end with their responses, and that connections that are not HTTP/1.x are let go.
 */
#include <check.h>

#include "check-run.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "propagation.h"
#include "span.h"

#define REQ     "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
#define REQ_LEN (sizeof(REQ) - 1)
#define BLANK   (REQ_LEN - 2) /* offset of the blank line */
#define TP_LINE (sizeof("traceparent: \r\n") - 1 + OTELP_TRACEPARENT_LEN)
#define OWN_TP  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
/* In an expected stream: our traceparent line goes here. */
#define INJ "\x01"

static const char req[] = REQ;

/* ---- the fake kernel ---- */

#define SCRIPT_MAX 64
#define AGAIN      (-EAGAIN)
#define INTR       (-EINTR)

static struct {
	int fd;
	int script[SCRIPT_MAX]; /* > 0: take at most that many; AGAIN, INTR: fail */
	int n_script, next;
	char out[65536];
	size_t n_out;
	int sendmsg_calls, orig_calls;
	size_t max_iovlen;
} K;

static int fds[2] = {-1, -1};
static uint32_t spans0;

static void script(int n, ...)
{
	va_list ap;

	va_start(ap, n);
	K.n_script = n;
	K.next = 0;
	for (int i = 0; i < n; i++)
		K.script[i] = va_arg(ap, int);
	va_end(ap);
}

static ssize_t take(const struct iovec *iov, size_t iovcnt)
{
	size_t offered = 0;

	for (size_t i = 0; i < iovcnt; i++)
		offered += iov[i].iov_len;
	if (offered == 0)
		return 0;
	size_t k = offered;
	if (K.next < K.n_script) {
		int s = K.script[K.next++];
		if (s < 0) {
			errno = -s;
			return -1;
		}
		if ((size_t)s < k)
			k = (size_t)s;
	}
	size_t left = k;
	for (size_t i = 0; i < iovcnt && left; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
		ck_assert_uint_le(K.n_out + n, sizeof(K.out));
		memcpy(K.out + K.n_out, iov[i].iov_base, n);
		K.n_out += n;
		left -= n;
	}
	return (ssize_t)k;
}

static ssize_t fake_sendmsg(int fd, const struct msghdr *m, int flags)
{
	(void)flags;
	ck_assert_int_eq(fd, K.fd);
	ck_assert_uint_ge(m->msg_iovlen, 1);
	if (m->msg_iovlen > K.max_iovlen)
		K.max_iovlen = m->msg_iovlen;
	K.sendmsg_calls++;
	return take(m->msg_iov, m->msg_iovlen);
}

static ssize_t fake_orig(const struct otelp_wop *op)
{
	ck_assert_int_eq(op->fd, K.fd);
	K.orig_calls++;
	return take(op->iov, (size_t)op->iovcnt);
}

/* ---- the program ---- */

/* One writev-like call of the program, through the shim when the fd is tracked. */
static ssize_t prog_writev(const struct iovec *iov, int n)
{
	struct otelp_wop op = {
	    .fd = K.fd, .iov = iov, .iovcnt = n, .orig = fake_orig, .sendmsg = fake_sendmsg};
	struct otelp_conn *c = otelp__conn_of(K.fd);

	return c ? otelp__http_write(c, &op) : fake_orig(&op);
}

/* One write() of the program; buf is copied to a heap buffer of exactly n bytes. */
static ssize_t prog_write(const void *buf, size_t n)
{
	char *p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, buf, n);
	struct iovec v = {p, n};
	struct otelp_wop op = {.fd = K.fd,
	                       .iov = &v,
	                       .iovcnt = 1,
	                       .orig = fake_orig,
	                       .arg = p,
	                       .arg_len = n,
	                       .sendmsg = fake_sendmsg};
	struct otelp_conn *c = otelp__conn_of(K.fd);
	ssize_t r = c ? otelp__http_write(c, &op) : fake_orig(&op);
	int err = errno;
	free(p);
	errno = err;
	return r;
}

/* The program's loop: pieces of at most chunk bytes, the rest again after a short count. */
static void write_all(const char *s, size_t n, size_t chunk)
{
	size_t done = 0;
	int guard = 0;

	while (done < n) {
		size_t k = n - done < chunk ? n - done : chunk;
		ssize_t r = prog_write(s + done, k);
		if (r < 0) {
			ck_assert(errno == EAGAIN || errno == EINTR);
		} else {
			ck_assert_int_ge(r, 1);
			ck_assert_int_le(r, (ssize_t)k);
			done += (size_t)r;
		}
		ck_assert_int_lt(++guard, 100000);
	}
}

/* ---- checking what the peer got ---- */

static bool tp_line_at(const char *p, size_t avail)
{
	struct otelp_ctx ctx;

	return avail >= TP_LINE && memcmp(p, "traceparent: ", 13) == 0 &&
	       otelp__traceparent_parse(p + 13, OTELP_TRACEPARENT_LEN, &ctx) == 0 &&
	       memcmp(p + 13 + OTELP_TRACEPARENT_LEN, "\r\n", 2) == 0;
}

/* The peer got exactly want, each INJ being one traceparent line of ours. */
static void assert_out(const char *want)
{
	size_t i = 0, n = strlen(want);

	for (size_t w = 0; w < n; w++) {
		if (want[w] == INJ[0]) {
			ck_assert_msg(tp_line_at(K.out + i, K.n_out - i),
			              "no traceparent at %zu: %.*s", i, (int)(K.n_out - i),
			              K.out + i);
			i += TP_LINE;
			continue;
		}
		ck_assert_msg(i < K.n_out && K.out[i] == want[w], "differs at %zu: got \"%.*s\"", i,
		              (int)K.n_out, K.out);
		i++;
	}
	ck_assert_msg(i == K.n_out, "%zu extra bytes: \"%.*s\"", K.n_out - i, (int)K.n_out, K.out);
}

/* ---- fixture ---- */

static void connect_fd(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};

	sin.sin_addr.s_addr = htonl(0x7f000001);
	otelp__http_on_connect(K.fd, (struct sockaddr *)&sin, sizeof(sin));
	ck_assert_ptr_nonnull(otelp__conn_of(K.fd));
}

static void setup(void)
{
	otelp__config_defaults(&otelp__cfg);
	otelp__cfg.exporter = OTELP_EXPORTER_NONE; /* ended spans go back to the pool */
	otelp__cfg.instrumentations = OTELP_INST_ALL;
	otelp__cfg.propagators = OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE;
	otelp__pid_refresh();
	ck_assert_int_eq(otelp__pool_init(256), 0);
	if (fds[0] < 0)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	memset(&K, 0, sizeof(K));
	K.fd = fds[0];
	spans0 = otelp__pool_in_use();
	connect_fd();
}

static void teardown(void)
{
	otelp__http_forget(K.fd);
	ck_assert_ptr_null(otelp__conn_of(K.fd));
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
}

/* ---- whole writes ---- */

START_TEST(whole_request_one_write)
{
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	ck_assert_int_eq(K.sendmsg_calls, 1);
	ck_assert_int_eq(K.orig_calls, 0);
	/* The request is in flight: its span is out of the pool. */
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 1);
}
END_TEST

START_TEST(one_byte_per_call)
{
	for (size_t i = 0; i < REQ_LEN; i++)
		ck_assert_int_eq(prog_write(req + i, 1), 1);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	/* Only the write that carries the blank line's CR carries ours. */
	ck_assert_int_eq(K.sendmsg_calls, 1);
	ck_assert_int_eq(K.orig_calls, (int)REQ_LEN - 1);
}
END_TEST

START_TEST(blank_line_cr_and_lf_apart)
{
	ck_assert_int_eq(prog_write(req, BLANK + 1), BLANK + 1); /* ends with the CR */
	ck_assert_int_eq(prog_write("\n", 1), 1);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	ck_assert_int_eq(K.sendmsg_calls, 1);
}
END_TEST

START_TEST(blank_line_in_its_own_write)
{
	ck_assert_int_eq(prog_write(req, BLANK), BLANK);
	ck_assert_int_eq(prog_write("\r\n", 2), 2);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	ck_assert_int_eq(K.orig_calls, 1);
	ck_assert_int_eq(K.sendmsg_calls, 1);
}
END_TEST

START_TEST(bare_lf_blank_line)
{
	static const char text[] = "GET / HTTP/1.1\nHost: x\n\n";

	ck_assert_int_eq(prog_write(text, sizeof(text) - 1), sizeof(text) - 1);
	assert_out("GET / HTTP/1.1\nHost: x\n" INJ "\n");
}
END_TEST

/* ---- short counts and errors ---- */

START_TEST(kernel_takes_part_of_our_header)
{
	/* The program's bytes up to the blank line and 10 bytes of ours. */
	script(1, (int)BLANK + 10);
	ck_assert_int_eq(prog_write(req, REQ_LEN), BLANK);
	ck_assert_uint_eq(K.n_out, BLANK + 10);
	/* The program sends the rest: the rest of ours goes first, in the same call. */
	ck_assert_int_eq(prog_write(req + BLANK, 2), 2);
	ck_assert_int_eq(K.sendmsg_calls, 2);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(kernel_takes_only_ours_then_eagain)
{
	/* 10 of ours, then the shim tries again for the program's bytes: EAGAIN. */
	script(3, (int)BLANK, 10, AGAIN);
	ck_assert_int_eq(prog_write(req, REQ_LEN), BLANK);
	errno = 0;
	ck_assert_int_eq(prog_write(req + BLANK, 2), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(K.n_out, BLANK + 10);
	/* Again: the rest of ours, then one of the program's two bytes. */
	script(1, (int)(TP_LINE - 10) + 1);
	ck_assert_int_eq(prog_write(req + BLANK, 2), 1);
	ck_assert_uint_eq(K.n_out, BLANK + TP_LINE + 1);
	ck_assert_int_eq(prog_write(req + BLANK + 1, 1), 1);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(kernel_takes_all_of_ours_then_eagain)
{
	script(2, (int)(BLANK + TP_LINE), AGAIN);
	ck_assert_int_eq(prog_write(req, REQ_LEN), BLANK);
	/* Ours went whole: it is not sent again, before or after an EAGAIN. */
	errno = 0;
	ck_assert_int_eq(prog_write(req + BLANK, 2), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(prog_write(req + BLANK, 2), 2);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(eagain_before_anything)
{
	script(1, AGAIN);
	errno = 0;
	ck_assert_int_eq(prog_write(req, REQ_LEN), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(K.n_out, 0);
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 1); /* one request, one span */
}
END_TEST

START_TEST(eintr_before_anything)
{
	script(2, INTR, INTR);
	errno = 0;
	ck_assert_int_eq(prog_write(req, REQ_LEN), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(prog_write(req, REQ_LEN), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(partial_program_bytes_before_insertion)
{
	script(2, 5, 7);
	ck_assert_int_eq(prog_write(req, REQ_LEN), 5);
	ck_assert_int_eq(prog_write(req + 5, REQ_LEN - 5), 7);
	ck_assert_uint_eq(K.n_out, 12);
	ck_assert_int_eq(prog_write(req + 12, REQ_LEN - 12), REQ_LEN - 12);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(every_split_and_cut)
{
	/* All first-call sizes, and every count the kernel may take from the first call. */
	for (size_t first = 1; first <= REQ_LEN; first++) {
		for (size_t cut = 1; cut <= first + TP_LINE; cut++) {
			teardown();
			memset(&K, 0, sizeof(K));
			K.fd = fds[0];
			connect_fd();
			script(1, (int)cut);
			ssize_t r = prog_write(req, first);
			/* Only the program's own bytes count. */
			size_t mine = first > BLANK && cut > BLANK
			                  ? (cut >= BLANK + TP_LINE ? cut - TP_LINE : BLANK)
			                  : (cut < first ? cut : first);
			if (mine > first)
				mine = first;
			ck_assert_int_eq(r, (ssize_t)mine);
			write_all(req + r, REQ_LEN - (size_t)r, REQ_LEN);
			assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
		}
	}
}
END_TEST

/* ---- iovecs ---- */

START_TEST(writev_one_byte_iovecs)
{
	struct iovec iov[REQ_LEN];

	for (size_t i = 0; i < REQ_LEN; i++)
		iov[i] = (struct iovec){(char *)req + i, 1};
	ck_assert_int_eq(prog_writev(iov, REQ_LEN), REQ_LEN);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
	ck_assert_uint_eq(K.max_iovlen, REQ_LEN + 1);
}
END_TEST

START_TEST(writev_many_iovecs_with_empty_ones)
{
	struct iovec iov[3 * REQ_LEN];
	int n = 0;

	for (size_t i = 0; i < REQ_LEN; i++) {
		iov[n++] = (struct iovec){(char *)req + i, 1};
		iov[n++] = (struct iovec){(char *)"", 0};
	}
	/* Cut inside ours: 3 bytes after the blank line's offset. */
	script(1, (int)BLANK + 3);
	ck_assert_int_eq(prog_writev(iov, n), BLANK);
	ck_assert_int_eq(prog_writev(iov + 2 * BLANK, n - 2 * (int)BLANK), 2);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(writev_too_many_iovecs_passes_through)
{
	/* More iovecs than the shim splices into: sent as written, untraced. */
	enum { N = 200 };
	static char body[N];
	struct iovec iov[N + 1];
	char head[128];
	int hl = snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Length: %d\r\n", N - 2);

	memset(body, 'b', sizeof(body));
	memcpy(body, "\r\n", 2);
	iov[0] = (struct iovec){head, (size_t)hl};
	for (int i = 0; i < N; i++)
		iov[i + 1] = (struct iovec){body + i, 1};
	ck_assert_int_eq(prog_writev(iov, N + 1), hl + N);
	ck_assert_uint_eq(K.n_out, (size_t)hl + N);
	ck_assert(memcmp(K.out, head, (size_t)hl) == 0);
	ck_assert(memcmp(K.out + hl, body, N) == 0);
}
END_TEST

START_TEST(writev_too_many_iovecs_after_part_of_ours)
{
	/*
	 * Part of our header is on the wire when the program sends the rest with more iovecs
	 * than the shim splices into: the rest of our header must still come first.
	 */
	enum { N = 200 };
	static const char head[] = "POST / HTTP/1.1\r\nContent-Length: 200\r\n";
	static char tail[N + 2];
	struct iovec iov[N + 2];
	const size_t hl = sizeof(head) - 1;

	/* The head and the blank line's CR; the kernel takes the head and 10 bytes of ours. */
	memset(tail, 'z', sizeof(tail));
	memcpy(tail, "\r\n", 2);
	char first[sizeof(head)];
	memcpy(first, head, hl);
	first[hl] = '\r';
	script(1, (int)hl + 10);
	ck_assert_int_eq(prog_write(first, hl + 1), hl);
	/* The program sends the blank line and the body, one byte per iovec. */
	for (int i = 0; i < N + 2; i++)
		iov[i] = (struct iovec){tail + i, 1};
	size_t done = 0;
	while (done < sizeof(tail)) {
		ssize_t r = prog_writev(iov + done, N + 2 - (int)done);
		ck_assert_int_gt(r, 0);
		done += (size_t)r;
	}
	ck_assert_msg(K.n_out == hl + TP_LINE + sizeof(tail), "got \"%.*s\"", (int)K.n_out, K.out);
	ck_assert(memcmp(K.out, head, hl) == 0);
	ck_assert_msg(tp_line_at(K.out + hl, K.n_out - hl), "got \"%.*s\"", (int)K.n_out, K.out);
	ck_assert(memcmp(K.out + hl + TP_LINE, tail, sizeof(tail)) == 0);
}
END_TEST

/* ---- pipelining, own traceparent ---- */

START_TEST(pipelined_three_in_one_write)
{
	static const char reqs[] = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
	                           "POST /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n"
	                           "PUT /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                           "2\r\n\r\n\r\n0\r\n\r\n";

	ck_assert_int_eq(prog_write(reqs, sizeof(reqs) - 1), sizeof(reqs) - 1);
	assert_out("GET /1 HTTP/1.1\r\nHost: x\r\n" INJ "\r\n"
	           "POST /2 HTTP/1.1\r\nContent-Length: 4\r\n" INJ "\r\n\r\n\r\n"
	           "PUT /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" INJ "\r\n"
	           "2\r\n\r\n\r\n0\r\n\r\n");
	ck_assert_int_eq(K.sendmsg_calls, 1);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 3);
	/* Three different spans. */
	const char *a = memmem(K.out, K.n_out, "traceparent: ", 13);
	const char *b = memmem(a + 1, K.n_out - (size_t)(a + 1 - K.out), "traceparent: ", 13);
	const char *c = memmem(b + 1, K.n_out - (size_t)(b + 1 - K.out), "traceparent: ", 13);
	ck_assert(a && b && c);
	ck_assert(memcmp(a + 49, b + 49, 16) != 0 && memcmp(b + 49, c + 49, 16) != 0);
}
END_TEST

START_TEST(own_traceparent_any_case)
{
	static const char *const names[] = {"traceparent", "TraceParent", "TRACEPARENT"};
	char text[256];

	for (int i = 0; i < 3; i++) {
		int n = snprintf(text, sizeof(text), "GET / HTTP/1.1\r\n%s: %s\r\nHost: x\r\n\r\n",
		                 names[i], OWN_TP);
		K.n_out = 0;
		K.sendmsg_calls = K.orig_calls = 0;
		ck_assert_int_eq(prog_write(text, (size_t)n), n);
		ck_assert_int_eq(K.sendmsg_calls, 0);
		ck_assert_int_eq(K.orig_calls, 1);
		ck_assert_uint_eq(K.n_out, (size_t)n);
		ck_assert(memcmp(K.out, text, (size_t)n) == 0);
	}
	/* No span of ours for them. */
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
}
END_TEST

START_TEST(own_traceparent_then_none)
{
	static const char reqs[] = "GET /1 HTTP/1.1\r\nTraceParent: " OWN_TP "\r\n\r\n"
	                           "GET /2 HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(prog_write(reqs, sizeof(reqs) - 1), sizeof(reqs) - 1);
	assert_out("GET /1 HTTP/1.1\r\nTraceParent: " OWN_TP "\r\n\r\n"
	           "GET /2 HTTP/1.1\r\n" INJ "\r\n");
}
END_TEST

START_TEST(traceparent_in_body_is_not_a_header)
{
	static const char text[] = "POST / HTTP/1.1\r\nContent-Length: 70\r\n\r\n"
	                           "traceparent: " OWN_TP "\r\n";

	ck_assert_int_eq(prog_write(text, sizeof(text) - 1), sizeof(text) - 1);
	assert_out("POST / HTTP/1.1\r\nContent-Length: 70\r\n" INJ "\r\n"
	           "traceparent: " OWN_TP "\r\n");
}
END_TEST

/* ---- responses end spans ---- */

static void feed(const char *s)
{
	struct otelp_conn *c = otelp__conn_of(K.fd);
	size_t n = strlen(s);
	char *p = malloc(n);
	struct iovec iov = {p, n};

	ck_assert_ptr_nonnull(c);
	memcpy(p, s, n);
	otelp__http_on_read(c, K.fd, &iov, 1, (ssize_t)n, 0);
	free(p);
}

START_TEST(pipelining_under_backpressure)
{
	/*
	 * A slow peer: every call offers the rest of the stream up to the end of the next request,
	 * the kernel takes the program's bytes up to just before that request's blank line. One
	 * insertion is always pending; every request must still get its own.
	 */
	enum { N = 120 };
	static char stream[N * 64];
	static size_t blank[N];
	size_t n = 0, sent = 0;

	for (int i = 0; i < N; i++) {
		n += (size_t)sprintf(stream + n, "GET /%d HTTP/1.1\r\nHost: x\r\n", i);
		blank[i] = n;
		n += (size_t)sprintf(stream + n, "\r\n");
	}
	for (int i = 0; i + 1 < N; i++) {
		script(1, (int)(blank[i + 1] - sent + TP_LINE));
		ssize_t r = prog_write(stream + sent, blank[i + 1] + 2 - sent);
		ck_assert_int_eq(r, (ssize_t)(blank[i + 1] - sent));
		sent += (size_t)r;
		feed("HTTP/1.1 204 No Content\r\n\r\n"); /* keeps the requests in flight few */
	}
	write_all(stream + sent, n - sent, n);
	size_t lines = 0;
	for (const char *p = K.out;
	     (p = memmem(p, K.n_out - (size_t)(p - K.out), "traceparent: ", 13)) != NULL; p++)
		lines++;
	ck_assert_uint_eq(lines, N);
	ck_assert_uint_eq(K.n_out, n + N * TP_LINE);
}
END_TEST

START_TEST(response_ends_span)
{
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 1);
	feed("HTTP/1.1 100 Continue\r\n\r\n"); /* interim */
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 1);
	feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 1); /* the body is still to come */
	feed("ok");
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
	/* The connection is still followed: the next request is traced too. */
	K.n_out = 0;
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	assert_out("GET /a HTTP/1.1\r\nHost: x\r\n" INJ "\r\n");
}
END_TEST

START_TEST(pipelined_responses_end_spans_in_order)
{
	static const char reqs[] = "HEAD /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"
	                           "GET /3 HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(prog_write(reqs, sizeof(reqs) - 1), sizeof(reqs) - 1);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 3);
	/* The response to HEAD has no body whatever its Content-Length says. */
	feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 2);
	feed("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked"
	     "\r\n\r\n1\r\nx\r\n0\r\n\r\n");
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
}
END_TEST

START_TEST(eof_ends_spans_and_releases)
{
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	otelp__http_on_read(otelp__conn_of(K.fd), K.fd, NULL, 0, 0, 0);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
	ck_assert_ptr_null(otelp__conn_of(K.fd));
}
END_TEST

START_TEST(close_ends_spans)
{
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0 + 2);
	otelp__http_forget(K.fd);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
	ck_assert_ptr_null(otelp__conn_of(K.fd));
}
END_TEST

START_TEST(connection_objects_are_reused)
{
	struct otelp_conn *c = otelp__conn_of(K.fd);

	for (int i = 0; i < 1000; i++) {
		K.n_out = 0;
		ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
		otelp__http_forget(K.fd);
		connect_fd();
		/* The pool is LIFO: a connection given back is the next one taken. */
		ck_assert_ptr_eq(otelp__conn_of(K.fd), c);
	}
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
}
END_TEST

/* ---- not HTTP/1.x ---- */

static void passthrough(const char *s, size_t n)
{
	ck_assert_int_eq(prog_write(s, n), n);
	ck_assert_int_eq(K.orig_calls, 1);
	ck_assert_int_eq(K.sendmsg_calls, 0);
	ck_assert_uint_eq(K.n_out, n);
	ck_assert(memcmp(K.out, s, n) == 0);
	ck_assert_ptr_null(otelp__conn_of(K.fd));
	/* Later writes go straight through, whatever they hold. */
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	ck_assert_uint_eq(K.n_out, n + REQ_LEN);
	ck_assert(memcmp(K.out + n, req, REQ_LEN) == 0);
	ck_assert_uint_eq(otelp__pool_in_use(), spans0);
}

START_TEST(tls_client_hello)
{
	static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	passthrough(hello, sizeof(hello) - 1);
}
END_TEST

START_TEST(http2_preface)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	passthrough(preface, sizeof(preface) - 1);
}
END_TEST

START_TEST(http2_preface_in_pieces)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	/* "PRI " might still be a method: the shim waits for more before it lets go. */
	ck_assert_int_eq(prog_write(preface, 4), 4);
	ck_assert_ptr_nonnull(otelp__conn_of(K.fd));
	ck_assert_int_eq(prog_write(preface + 4, sizeof(preface) - 5), sizeof(preface) - 5);
	ck_assert_ptr_null(otelp__conn_of(K.fd));
	ck_assert_uint_eq(K.n_out, sizeof(preface) - 1);
	ck_assert(memcmp(K.out, preface, sizeof(preface) - 1) == 0);
}
END_TEST

START_TEST(redis_protocol)
{
	static const char cmd[] = "*1\r\n$4\r\nPING\r\n";

	passthrough(cmd, sizeof(cmd) - 1);
}
END_TEST

START_TEST(server_speaks_first)
{
	/* The peer writes first (SMTP, MySQL...): not HTTP. */
	feed("220 mail.example.com ESMTP\r\n");
	ck_assert_ptr_null(otelp__conn_of(K.fd));
	ck_assert_int_eq(prog_write(req, REQ_LEN), REQ_LEN);
	ck_assert_uint_eq(K.n_out, REQ_LEN);
	ck_assert(memcmp(K.out, req, REQ_LEN) == 0);
}
END_TEST

static Suite *http_write_suite(void)
{
	Suite *s = suite_create("http-write");
	TCase *tc;

	tc = tcase_create("writes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_request_one_write);
	tcase_add_test(tc, one_byte_per_call);
	tcase_add_test(tc, blank_line_cr_and_lf_apart);
	tcase_add_test(tc, blank_line_in_its_own_write);
	tcase_add_test(tc, bare_lf_blank_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("short");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kernel_takes_part_of_our_header);
	tcase_add_test(tc, kernel_takes_only_ours_then_eagain);
	tcase_add_test(tc, kernel_takes_all_of_ours_then_eagain);
	tcase_add_test(tc, eagain_before_anything);
	tcase_add_test(tc, eintr_before_anything);
	tcase_add_test(tc, partial_program_bytes_before_insertion);
	tcase_add_test(tc, every_split_and_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("iovecs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, writev_one_byte_iovecs);
	tcase_add_test(tc, writev_many_iovecs_with_empty_ones);
	tcase_add_test(tc, writev_too_many_iovecs_passes_through);
	tcase_add_test(tc, writev_too_many_iovecs_after_part_of_ours);
	suite_add_tcase(s, tc);

	tc = tcase_create("requests");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pipelined_three_in_one_write);
	tcase_add_test(tc, own_traceparent_any_case);
	tcase_add_test(tc, own_traceparent_then_none);
	tcase_add_test(tc, traceparent_in_body_is_not_a_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, response_ends_span);
	tcase_add_test(tc, pipelined_responses_end_spans_in_order);
	tcase_add_test(tc, eof_ends_spans_and_releases);
	tcase_add_test(tc, pipelining_under_backpressure);
	tcase_add_test(tc, close_ends_spans);
	tcase_add_test(tc, connection_objects_are_reused);
	suite_add_tcase(s, tc);

	tc = tcase_create("not-http");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tls_client_hello);
	tcase_add_test(tc, http2_preface);
	tcase_add_test(tc, http2_preface_in_pieces);
	tcase_add_test(tc, redis_protocol);
	tcase_add_test(tc, server_speaks_first);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return otelp_check_run(http_write_suite(), false);
}
