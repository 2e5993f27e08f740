/*
 * libFuzzer target for the write path of src/http.c: header injection into the request stream
 * of a client connection.
 *
 * The input is read front to back as a script. It first builds a program's outgoing stream
 * (well-formed requests with random methods, targets, headers, sometimes a traceparent of the
 * program's own in any letter case, Content-Length or chunked bodies, pipelining; raw bytes and
 * risky fragments in between), then plays a program writing that stream on a tracked socket:
 * write, writev, send or sendmsg calls of fuzz-chosen sizes and iovec splits (1-byte writes,
 * 1-byte iovecs, empty iovecs), resending the rest after a short count and the same bytes after
 * EAGAIN or EINTR, like a real program. Between calls, responses (well-formed or not, EOF,
 * read errors) are fed to otelp__http_on_read. The "kernel" is a fake op->sendmsg / op->orig
 * that accepts a fuzz-chosen count per call (all, part, 1 byte, -1 with EAGAIN or EINTR, rarely
 * a fatal EPIPE) and records every accepted byte with its origin: a program byte at a known
 * stream offset, or a byte of the shim's own.
 *
 * In proxy mode a server connection first reads a request with a traceparent (and tracestate,
 * baggage), so that client requests carry its trace, and a request forwarding that exact
 * traceparent may have its value replaced, length for length.
 *
 * Checked (violations trap):
 *  (a) every call returns -1 (with the kernel's errno, only when the kernel refused) or a count
 *      in [1, bytes offered] (0 only for an empty offer); outside proxy mode the program bytes
 *      the kernel took equal, after every call, exactly the sum of the counts returned;
 *  (b) what the kernel took is the program's stream, each byte once and in order, plus blocks of
 *      complete "name: value\r\n" lines of the propagators' fields (the first a valid
 *      traceparent when tracecontext is on) inserted right before the blank line (its CR or
 *      bare LF) ending a request head, as found by running the request parser over the stream
 *      one byte at a time; and, in proxy mode only, 55 value bytes of a forwarded traceparent
 *      replaced by a valid one of the same trace;
 *  (c) no insertion in a head that has a traceparent of its own;
 *  (d) at most one insertion per request; injected span ids are unique;
 *  and, for a clean run (at most four well-formed requests, no response before the end, no
 *  fatal error, no call of more than 120 iovecs), every request without a traceparent got its
 *  insertion. At the end the fd is
 *  forgotten: the connection must leave the fd table and go back to its pool (the next
 *  iteration must get the same object back), every span must be back in the span pool and
 *  the thread's context stack empty.
 *
 * Every iovec the program passes is a heap copy of exactly its length, so that ASan reports a
 * read past the end of any of the program's buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "config.h"
#include "http.h"
#include "http1.h"
#include "propagation.h"
#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

#define STREAM_MAX  (48 * 1024)
#define CALLS_MAX   20000
#define PIECES_MAX  1024 /* iovecs of one program call (IOV_MAX) */
#define OURS_MAX    3072 /* bytes of header lines the shim may have pending (INJECT_MAX) */
#define TP_LEN      OTELP_TRACEPARENT_LEN
#define INBOUND_TP  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define INBOUND_TID "4bf92f3577b34da6a3ce929d0e0e4736"

/* ---- the script ---- */

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned u16(struct in *in)
{
	unsigned lo = u8(in);

	return lo | u8(in) << 8;
}

/* ---- growable byte buffers ---- */

struct buf {
	char *p;
	size_t n, cap;
};

static void buf_put(struct buf *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_chr(struct buf *b, char ch)
{
	buf_put(b, &ch, 1);
}

/* ---- the program's stream ---- */

struct gen {
	struct in *in;
	struct buf s;
	bool proxy;
	bool clean; /* only well-formed requests so far */
	unsigned requests;
};

static const char *const methods[] = {
    "GET",   "POST",  "HEAD",    "PUT",      "DELETE",   "OPTIONS",
    "PATCH", "TRACE", "CONNECT", "PROPFIND", "M-SEARCH", "X-VERY-LONG-METHOD-NAME",
};

static const char *const tp_names[] = {"traceparent", "TraceParent", "TRACEPARENT", "Traceparent"};

/* Characters of a path, a header value: visible ASCII and (values) spaces. */
static const char path_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/?=&+";
static const char value_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 -_.,;=/:*\"()";

static void gen_chars(struct gen *g, const char *set, size_t n)
{
	size_t k = strlen(set);

	for (size_t i = 0; i < n; i++)
		buf_chr(&g->s, set[u8(g->in) % k]);
}

static void gen_hex(struct gen *g, size_t n)
{
	gen_chars(g, "0123456789abcdef", n);
}

static void gen_header(struct gen *g, const char *eol)
{
	struct in *in = g->in;
	unsigned kind = u8(in) % 14, v;

	switch (kind) {
	case 0:
		buf_str(&g->s, "Host: example.com");
		break;
	case 1:
		buf_str(&g->s, "User-Agent: fuzz/1.0");
		break;
	case 2:
		buf_str(&g->s, "Accept: */*");
		break;
	case 3:
	case 4:
		/* A traceparent of the program's own. */
		buf_str(&g->s, tp_names[u8(in) % 4]);
		buf_str(&g->s, (u8(in) & 1) ? ":" : ":  ");
		v = u8(in) % 5;
		if (v == 0 || (v == 1 && !g->proxy)) {
			buf_str(&g->s, "00-");
			gen_hex(g, 32);
			buf_chr(&g->s, '-');
			gen_hex(g, 16);
			buf_str(&g->s, "-01");
		} else if (v == 1 || v == 4) {
			buf_str(&g->s, INBOUND_TP);
		} else if (v == 2) {
			gen_chars(g, value_chars, u8(in) % 80);
		} /* 3: empty */
		if (u8(in) & 1)
			buf_str(&g->s, " ");
		break;
	case 5:
		buf_str(&g->s, "tracestate: vendor=");
		gen_chars(g, "abcdef0123", 1 + u8(in) % 16);
		break;
	case 6:
		buf_str(&g->s, "baggage: k=");
		gen_chars(g, "abcdef0123", 1 + u8(in) % 16);
		break;
	case 7:
		buf_str(&g->s, "b3: ");
		gen_hex(g, 32);
		buf_chr(&g->s, '-');
		gen_hex(g, 16);
		buf_str(&g->s, "-1");
		break;
	case 8:
		buf_str(&g->s, "Expect: 100-continue");
		break;
	case 9:
		/* A line longer than the parser keeps. */
		buf_str(&g->s, "X-Long: ");
		v = 1000 + u16(in) % 4000;
		for (unsigned i = 0; i < v; i++)
			buf_chr(&g->s, 'a' + i % 26);
		break;
	case 10:
		buf_str(&g->s, "Connection: ");
		buf_str(&g->s, (u8(in) & 1) ? "keep-alive" : "close");
		break;
	default:
		buf_str(&g->s, "X-");
		gen_chars(g, "abcdefghijklmnopqrstuvwxyz-", 1 + u8(in) % 12);
		buf_str(&g->s, (u8(in) & 1) ? ": " : ":");
		gen_chars(g, value_chars, u8(in) % 40);
		break;
	}
	buf_str(&g->s, eol);
}

/* Opaque body bytes, straight from the script. */
static void gen_body(struct gen *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_chr(&g->s, (char)u8(g->in));
}

static void gen_request(struct gen *g)
{
	struct in *in = g->in;
	const char *method = methods[u8(in) % (sizeof(methods) / sizeof(methods[0]))];
	unsigned t = u8(in), vf = u8(in);
	const char *eol = (vf & 6) == 6 ? "\n" : "\r\n";
	char num[32];

	if (g->s.n == 0 && !otelp__h1_classify_request(method, strlen(method)))
		g->clean = false; /* not taken for HTTP: never traced */
	buf_str(&g->s, method);
	buf_chr(&g->s, ' ');
	if (strcmp(method, "CONNECT") == 0) {
		buf_str(&g->s, "example.com:443");
	} else if (t % 4 == 0) {
		buf_chr(&g->s, '/');
	} else if (t % 4 == 1) {
		buf_chr(&g->s, '/');
		gen_chars(g, path_chars, u8(in) % 40);
	} else if (t % 4 == 2) {
		buf_str(&g->s, "http://example.com:8080/a/b?x=1");
	} else {
		buf_chr(&g->s, '*');
	}
	buf_str(&g->s, (vf & 1) ? " HTTP/1.0" : " HTTP/1.1");
	buf_str(&g->s, eol);

	unsigned nh = u8(in) % 9;
	for (unsigned i = 0; i < nh; i++)
		gen_header(g, eol);

	unsigned body = u8(in) % 4, len;
	switch (body) {
	case 1:
		len = u8(in) % 80;
		snprintf(num, sizeof(num), "Content-Length: %u", len);
		buf_str(&g->s, num);
		buf_str(&g->s, eol);
		buf_str(&g->s, eol);
		gen_body(g, len);
		break;
	case 2:
		buf_str(&g->s, "Transfer-Encoding: chunked");
		buf_str(&g->s, eol);
		buf_str(&g->s, eol);
		for (unsigned k = u8(in) % 4; k > 0; k--) {
			len = 1 + u8(in) % 40;
			snprintf(num, sizeof(num), "%x%s\r\n", len, (u8(in) & 3) ? "" : ";ext=1");
			buf_str(&g->s, num);
			gen_body(g, len);
			buf_str(&g->s, "\r\n");
		}
		buf_str(&g->s, "0\r\n");
		if (u8(in) & 1)
			buf_str(&g->s, "X-Trailer: 1\r\n");
		buf_str(&g->s, "\r\n");
		break;
	case 3:
		buf_str(&g->s, "Content-Length: 0");
		buf_str(&g->s, eol);
		buf_str(&g->s, eol);
		break;
	default:
		buf_str(&g->s, eol);
		break;
	}
	g->requests++;
}

static const char *const fragments[] = {
    "\r",
    "\n",
    "\r\n",
    "\r\n\r\n",
    "GET / HTTP/1.1",
    "traceparent: " INBOUND_TP "\r\n",
    ": ",
    "HTTP/1.1 200 OK\r\n",
    "0\r\n\r\n",
    "\x16\x03\x01",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "Host: x\r\n",
};

static void gen_stream(struct gen *g)
{
	while (g->s.n < STREAM_MAX) {
		unsigned op = u8(g->in) % 8;

		if (op == 0)
			break;
		if (op <= 5) {
			gen_request(g);
		} else if (op == 6) {
			gen_body(g, u8(g->in) % 64);
			g->clean = false;
		} else {
			buf_str(&g->s,
			        fragments[u8(g->in) % (sizeof(fragments) / sizeof(fragments[0]))]);
			g->clean = false;
		}
	}
	if (g->requests > 4)
		g->clean = false;
}

/* ---- the fake kernel ---- */

struct piece {
	const char *p; /* the program's heap copy */
	size_t len;
	size_t off; /* stream offset of p[0] */
};

static struct run {
	struct in *in;
	int fd;
	const char *stream;
	size_t n;
	/* What the kernel took: the bytes, and for each the stream offset it came from or -1. */
	struct buf out;
	int32_t *tag;
	size_t tag_cap;
	size_t prog_cnt; /* program bytes taken */
	size_t prog_hi;  /* 1 + the highest stream offset taken */
	bool fatal;      /* the kernel returned a hard error */
	/* The call in progress. */
	struct piece pieces[PIECES_MAX];
	int n_pieces;
	int flags;
	const struct msghdr *msg;
	unsigned kernel_calls;
	int last_err; /* of the last refusal in this call, 0: none */
	unsigned calls;
	bool no_fatal; /* a clean run: the kernel never fails hard */
	bool proxy;
	char tid[33]; /* proxy mode: the trace of the server request, in hex */
	unsigned props;
} R;

static void record(const char *p, size_t len)
{
	if (R.out.n + len > R.tag_cap) {
		size_t cap = R.tag_cap ? R.tag_cap : 1024;

		while (cap < R.out.n + len)
			cap *= 2;
		R.tag = realloc(R.tag, cap * sizeof(*R.tag));
		if (!R.tag)
			abort();
		R.tag_cap = cap;
	}
	/* Program bytes are found by address: every iovec of the program is its own copy. */
	int32_t base = -1;
	for (int i = 0; i < R.n_pieces; i++) {
		const struct piece *pc = &R.pieces[i];
		uintptr_t a = (uintptr_t)pc->p, x = (uintptr_t)p;

		if (pc->len && x >= a && x < a + pc->len) {
			/* Never across two of the program's iovecs. */
			CHECK(x + len <= a + pc->len);
			base = (int32_t)(pc->off + (x - a));
			break;
		}
	}
	for (size_t i = 0; i < len; i++) {
		R.tag[R.out.n + i] = base < 0 ? -1 : base + (int32_t)i;
		if (base >= 0)
			CHECK(p[i] == R.stream[base + i]);
	}
	buf_put(&R.out, p, len);
	if (base >= 0) {
		R.prog_cnt += len;
		if ((size_t)base + len > R.prog_hi)
			R.prog_hi = (size_t)base + len;
	}
}

/* How many of offered bytes the kernel takes, or -1 with errno. */
static ssize_t kernel_take(size_t offered)
{
	unsigned d = R.calls > CALLS_MAX ? 0 : u8(R.in);
	size_t k = offered;

	/* The shim calls again only while none of the program's bytes went: once per byte of ours.
	 */
	R.kernel_calls++;
	CHECK(R.kernel_calls <= OURS_MAX + 1);
	switch (d % 8) {
	case 1:
		R.last_err = EAGAIN;
		errno = EAGAIN;
		return -1;
	case 2:
		R.last_err = EINTR;
		errno = EINTR;
		return -1;
	case 3:
		k = 1;
		break;
	case 4:
	case 5:
		k = 1 + u8(R.in) % offered;
		break;
	case 6:
		k = 1 + u16(R.in) % offered;
		break;
	case 7:
		if (d >= 0xf8 && !R.no_fatal) {
			R.fatal = true;
			R.last_err = EPIPE;
			errno = EPIPE;
			return -1;
		}
		break;
	default:
		break;
	}
	return (ssize_t)k;
}

static ssize_t take_iov(const struct iovec *iov, size_t iovcnt)
{
	size_t offered = 0;

	for (size_t i = 0; i < iovcnt; i++)
		offered += iov[i].iov_len;
	if (offered == 0)
		return 0;
	ssize_t r = kernel_take(offered);
	if (r <= 0)
		return r;
	size_t left = (size_t)r;
	for (size_t i = 0; i < iovcnt && left; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;

		if (k)
			record(iov[i].iov_base, k);
		left -= k;
	}
	return r;
}

static ssize_t fake_sendmsg(int fd, const struct msghdr *m, int flags)
{
	CHECK(fd == R.fd);
	CHECK(flags == R.flags);
	CHECK(m && m->msg_iovlen >= 1 && m->msg_iovlen <= PIECES_MAX);
	if (R.msg) {
		CHECK(m->msg_name == R.msg->msg_name && m->msg_namelen == R.msg->msg_namelen);
	} else {
		CHECK(!m->msg_name && !m->msg_control);
	}
	return take_iov(m->msg_iov, m->msg_iovlen);
}

static ssize_t fake_orig(const struct otelp_wop *op)
{
	CHECK(op->fd == R.fd && op->flags == R.flags && op->msg == R.msg);
	if (op->arg)
		CHECK(op->iovcnt == 1 && op->arg == op->iov[0].iov_base &&
		      op->arg_len == op->iov[0].iov_len);
	return take_iov(op->iov, (size_t)op->iovcnt);
}

/* ---- responses ---- */

static void feed_response(int fd, bool at_end)
{
	struct in *in = R.in;
	struct otelp_conn *c = otelp__conn_of(fd);
	struct buf b = {0};
	unsigned r = u8(in), len;
	char num[64];

	if (!c)
		return;
	switch (r % 8) {
	case 0:
		buf_str(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		break;
	case 1:
		len = u8(in) % 32;
		snprintf(num, sizeof(num), "HTTP/1.1 %d X\r\nContent-Length: %u\r\n\r\n",
		         (r & 0x80) ? 500 : 200, len);
		buf_str(&b, num);
		for (; len; len--)
			buf_chr(&b, 'x');
		break;
	case 2:
		buf_str(
		    &b,
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
		break;
	case 3:
		buf_str(&b, "HTTP/1.1 100 Continue\r\n\r\n");
		break;
	case 4:
		buf_str(&b, (r & 0x80) ? "HTTP/1.1 204 No Content\r\n\r\n"
		                       : "HTTP/1.1 304 Not Modified\r\n\r\n");
		break;
	case 5:
		if (r == 0xfd) {
			buf_str(&b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n");
		} else {
			for (unsigned k = u8(in) % 32; k; k--)
				buf_chr(&b, (char)u8(in));
		}
		break;
	case 6:
		if (r >= 0xf0 && !at_end) {
			otelp__http_on_read(c, fd, NULL, 0, 0, 0); /* EOF */
			return;
		}
		buf_str(&b, "HTTP/1.0 404 Not Found\r\n\r\n");
		break;
	default:
		otelp__http_on_read(c, fd, NULL, 0, -1, r >= 0xf0 ? ECONNRESET : EAGAIN);
		return;
	}
	/* In up to three reads, each of up to two iovecs; n may be less than the iovecs hold. */
	size_t at = 0;
	for (int i = 0; i < 3 && at < b.n; i++) {
		size_t n = i == 2 ? b.n - at : 1 + u8(in) % (b.n - at);
		size_t cut = u8(in) % (n + 1);
		char *x = malloc(cut ? cut : 1), *y = malloc(n - cut + 7);
		struct iovec iov[2] = {{x, cut}, {y, n - cut + 7}};

		if (!x || !y)
			abort();
		memcpy(x, b.p + at, cut);
		memcpy(y, b.p + at + cut, n - cut);
		c = otelp__conn_of(fd);
		if (c)
			otelp__http_on_read(c, fd, iov, 2, (ssize_t)n, 0);
		free(x);
		free(y);
		at += n;
	}
	free(b.p);
}

/* ---- the program ---- */

/* Split [from, from + len) of the stream into the call's iovecs. */
static int split(size_t from, size_t len, unsigned mode)
{
	struct in *in = R.in;
	int n = 0;
	size_t at = 0;

	while (at < len && n < PIECES_MAX - 2) {
		size_t k;

		switch (mode) {
		case 0:
			k = len - at;
			break;
		case 1:
			k = 1 + u8(in) % (len - at);
			break;
		case 2:
			k = 1;
			break;
		default:
			k = (u8(in) & 3) ? 1 + u8(in) % 8 : 0; /* empty iovecs in between */
			break;
		}
		if (k > len - at)
			k = len - at;
		if (n == PIECES_MAX - 3)
			k = len - at;
		R.pieces[n++] = (struct piece){NULL, k, from + at};
		at += k;
	}
	if (mode >= 3 && (u8(in) & 1))
		R.pieces[n++] = (struct piece){NULL, 0, from + len};
	for (int i = 0; i < n; i++) {
		char *p = malloc(R.pieces[i].len ? R.pieces[i].len : 1);

		if (!p)
			abort();
		memcpy(p, R.stream + R.pieces[i].off, R.pieces[i].len);
		R.pieces[i].p = p;
	}
	return n;
}

struct outcome {
	size_t sent;    /* the sum of the counts the program was given */
	bool responses; /* some were fed before the end */
	bool capped;    /* the call budget ran out: the kernel took everything since */
	int max_iov;
};

static void play(int fd, struct outcome *o)
{
	static struct iovec iov[PIECES_MAX];
	struct in *in = R.in;
	struct sockaddr_storage peer = {0};

	while (o->sent < R.n && !R.fatal) {
		if (++R.calls > CALLS_MAX)
			o->capped = true;
		unsigned how = o->capped ? 0 : u8(in);
		size_t rem = R.n - o->sent, len;

		if (how & 0x10) {
			feed_response(fd, false);
			o->responses = true;
		}
		switch ((how >> 2) & 3) {
		case 0:
			len = rem;
			break;
		case 1:
			len = 1;
			break;
		case 2:
			len = 1 + u8(in);
			break;
		default:
			len = 1 + u16(in);
			break;
		}
		if (len > rem)
			len = rem;
		/* Sometimes an empty write; the kind: write, writev, send, sendmsg. */
		if (how == 0xfc)
			len = 0;
		unsigned kind = how & 3;
		unsigned mode = kind == 1 || kind == 3 ? (how >> 5) % 4 : 0;
		R.n_pieces = split(o->sent, len, mode);
		if (R.n_pieces > o->max_iov)
			o->max_iov = R.n_pieces;
		for (int i = 0; i < R.n_pieces; i++)
			iov[i] = (struct iovec){(void *)R.pieces[i].p, R.pieces[i].len};

		struct msghdr mh = {0};
		struct otelp_wop op = {.fd = fd, .orig = fake_orig, .sendmsg = fake_sendmsg};
		op.iov = iov;
		op.iovcnt = R.n_pieces;
		if (kind == 0 || kind == 2) {
			CHECK(R.n_pieces == (len != 0));
			if (len == 0)
				iov[0] = (struct iovec){(void *)"", 0};
			op.iovcnt = 1;
			op.arg = iov[0].iov_base;
			op.arg_len = iov[0].iov_len;
		}
		if (kind == 2)
			op.flags = MSG_NOSIGNAL | ((how & 0x80) ? MSG_MORE : 0);
		if (kind == 3) {
			mh.msg_iov = iov;
			mh.msg_iovlen = (size_t)R.n_pieces;
			if (how & 0x80) {
				mh.msg_name = &peer;
				mh.msg_namelen = sizeof(sa_family_t);
			}
			op.msg = &mh;
			op.flags = MSG_NOSIGNAL;
		}
		R.flags = op.flags;
		R.msg = op.msg;
		R.kernel_calls = 0;
		R.last_err = 0;

		size_t before = R.prog_cnt;
		struct otelp_conn *c = otelp__conn_of(fd);
		errno = 0;
		ssize_t r = c ? otelp__http_write(c, &op) : fake_orig(&op);
		int err = errno;

		/* (a) */
		if (len == 0) {
			CHECK(r == 0);
		} else if (r < 0) {
			CHECK(r == -1 && R.last_err != 0 && err == R.last_err);
			CHECK(R.prog_cnt == before);
		} else {
			CHECK(r >= 1 && (size_t)r <= len);
			o->sent += (size_t)r;
		}
		/* With no replacement, the kernel took exactly what the program was told. */
		if (!R.proxy)
			CHECK(R.prog_cnt == o->sent && R.prog_hi == o->sent);
		else
			CHECK(R.prog_hi <= o->sent && o->sent - R.prog_hi <= TP_LEN);
		for (int i = 0; i < R.n_pieces; i++)
			free((void *)R.pieces[i].p);
		R.n_pieces = 0;
	}
}

/* ---- the expected stream: where insertions may go ---- */

struct omsg {
	int n_tp;
	size_t tp_at; /* value offset of its traceparent */
	bool tp_inbound;
	bool head_done;
	bool inserted;
	bool replaced;
	bool b3; /* a B3 header: the program's own context, nothing is inserted */
};

static struct oracle {
	struct omsg *m;
	size_t n_m, cap_m;
	int32_t *at; /* per stream offset: 1 + the message whose insertion may go right there */
	size_t cap_at;
	uint64_t *sids; /* span ids injected so far */
	size_t n_sids, cap_sids;
} O;

static struct omsg *new_msg(void)
{
	if (O.n_m == O.cap_m) {
		O.cap_m = O.cap_m ? 2 * O.cap_m : 64;
		O.m = realloc(O.m, O.cap_m * sizeof(*O.m));
		if (!O.m)
			abort();
	}
	O.m[O.n_m] = (struct omsg){0};
	return &O.m[O.n_m++];
}

/* The B3 fields whose presence means the program propagates its own context. */
static bool is_b3_field(const char *name, size_t n)
{
	static const char *const b3[] = {"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled",
	                                 "x-b3-flags"};

	for (size_t i = 0; i < sizeof(b3) / sizeof(b3[0]); i++)
		if (n == strlen(b3[i]) && strncasecmp(name, b3[i], n) == 0)
			return true;
	return false;
}

/*
 * Run the request parser over the stream one byte at a time. An insertion may go at the
 * blank line of a head (HEADERS_DONE), or at a CR that may begin it (the shim must decide
 * before the LF is written).
 */
static void build_oracle(const char *s, size_t n)
{
	struct otelp_h1 *h = malloc(sizeof(*h));
	struct otelp_h1_event ev;
	struct omsg *cur = NULL;

	if (!h)
		abort();
	O.n_m = 0;
	O.n_sids = 0;
	if (n > O.cap_at) {
		O.at = realloc(O.at, n * sizeof(*O.at));
		if (!O.at)
			abort();
		O.cap_at = n;
	}
	if (n)
		memset(O.at, 0, n * sizeof(*O.at));
	otelp__h1_init(h, OTELP_H1_REQUEST);
	for (size_t i = 0; i < n && !h->dead; i++) {
		const char *p = s + i;
		size_t k = 1;
		uint64_t blank;

		for (;;) {
			size_t used = otelp__h1_step(h, p, k, &ev);

			p += used;
			k -= used;
			if (ev.type == OTELP_H1_NEED_MORE || ev.type == OTELP_H1_ERROR)
				break;
			if (ev.type == OTELP_H1_START_LINE) {
				cur = new_msg();
			} else if (ev.type == OTELP_H1_HEADER && cur && ev.name_len == 11 &&
			           strncasecmp(ev.name, "traceparent", 11) == 0) {
				cur->n_tp++;
				cur->tp_at = ev.value_start;
				cur->tp_inbound = ev.value_len == TP_LEN && !ev.truncated &&
				                  memcmp(ev.value, INBOUND_TP, TP_LEN) == 0;
			} else if (ev.type == OTELP_H1_HEADER && cur &&
			           is_b3_field(ev.name, ev.name_len)) {
				cur->b3 = true;
			} else if (ev.type == OTELP_H1_HEADERS_DONE && cur) {
				cur->head_done = true;
				CHECK(ev.line_start < n);
				O.at[ev.line_start] = (int32_t)(cur - O.m) + 1;
			}
		}
		if (!h->dead && cur && otelp__h1_head_ending(h, &blank)) {
			CHECK(blank == i);
			O.at[blank] = (int32_t)(cur - O.m) + 1;
		}
	}
	free(h);
}

/* ---- checking what the kernel took ---- */

static bool is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static void note_span_id(const char *hex16)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 4 | (uint64_t)(hex16[i] <= '9' ? hex16[i] - '0' : hex16[i] - 'a' + 10);
	for (size_t i = 0; i < O.n_sids; i++)
		CHECK(O.sids[i] != v); /* (d): one span, one injection */
	if (O.n_sids == O.cap_sids) {
		O.cap_sids = O.cap_sids ? 2 * O.cap_sids : 64;
		O.sids = realloc(O.sids, O.cap_sids * sizeof(*O.sids));
		if (!O.sids)
			abort();
	}
	O.sids[O.n_sids++] = v;
}

/* A traceparent value of ours: valid, version 00, of the inbound trace in proxy mode. */
static void check_tp(const char *v, size_t n)
{
	struct otelp_ctx ctx;

	CHECK(n == TP_LEN && otelp__traceparent_parse(v, n, &ctx) == 0);
	CHECK(memcmp(v, "00-", 3) == 0 && is_hex(v + 3, 32) && is_hex(v + 36, 16));
	if (R.proxy)
		CHECK(memcmp(v + 3, R.tid, 32) == 0);
}

/* The fields we may inject, in the order we inject them. */
static const char *const field_names[] = {
    "traceparent",  "tracestate",  "baggage",      "b3",
    "X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled", "X-B3-Flags",
};

/* (b), (c), (d): an insertion of len bytes at stream offset off; whole or cut short. */
static void check_insertion(size_t off, const char *p, size_t len, bool whole)
{
	CHECK(off < R.n);
	int32_t mi = O.at[off];
	CHECK(mi > 0);
	struct omsg *m = &O.m[mi - 1];
	CHECK(m->n_tp == 0 && !m->inserted && !m->replaced);
	m->inserted = true;

	const char *tid = NULL, *sid = NULL;
	size_t tid_len = 0;
	unsigned seen = 0;
	int last = -1;
	size_t i = 0;
	while (i < len) {
		const char *line = p + i;
		const char *end = memmem(line, len - i, "\r\n", 2);

		if (!end) {
			/* The cut end of a partial block: visible characters only. */
			CHECK(!whole);
			for (size_t k = 0; k < len - i; k++)
				CHECK(line[k] == '\r' || (line[k] >= ' ' && line[k] < 0x7f));
			break;
		}
		size_t ll = (size_t)(end - line);
		const char *colon = memchr(line, ':', ll);
		CHECK(colon && colon + 1 < end && colon[1] == ' ');
		size_t nl = (size_t)(colon - line), vl = ll - nl - 2;
		const char *v = colon + 2;
		int f = -1;
		for (int k = 0; k < 8; k++)
			if (strlen(field_names[k]) == nl && memcmp(field_names[k], line, nl) == 0)
				f = k;
		CHECK(f > last); /* a known field, each once, in order */
		last = f;
		seen |= 1u << f;
		CHECK(vl > 0);
		for (size_t k = 0; k < vl; k++)
			CHECK(v[k] >= ' ' && v[k] < 0x7f);
		if (f == 0) {
			CHECK(i == 0);
			check_tp(v, vl);
			tid = v + 3;
			tid_len = 32;
			sid = v + 36;
		} else if (f == 3) {
			CHECK(vl >= 51 && is_hex(v, 32) && v[32] == '-' && is_hex(v + 33, 16));
			CHECK(!tid || memcmp(tid, v, 32) == 0);
			CHECK(!sid || memcmp(sid, v + 33, 16) == 0);
			tid = v, tid_len = 32, sid = v + 33;
		} else if (f == 4) {
			CHECK(vl == 32 && is_hex(v, 32) && (!tid || memcmp(tid, v, 32) == 0));
			tid = v, tid_len = 32;
		} else if (f == 5) {
			CHECK(vl == 16 && is_hex(v, 16) && (!sid || memcmp(sid, v, 16) == 0));
			sid = v;
		}
		i += ll + 2;
	}
	if (R.proxy && tid)
		CHECK(tid_len == 32 && memcmp(tid, R.tid, 32) == 0);
	if (!whole)
		return;
	/* Exactly the configured fields. */
	bool tc = R.props & OTELP_PROP_TRACECONTEXT;
	CHECK(!!(seen & 1) == tc);
	CHECK(!(seen & 2) || tc);
	CHECK(!(seen & 4) || (R.props & OTELP_PROP_BAGGAGE));
	CHECK(!!(seen & 8) == !!(R.props & OTELP_PROP_B3));
	CHECK(!!(seen & 0x10) == !!(R.props & OTELP_PROP_B3MULTI));
	CHECK(seen != 0);
	if (sid)
		note_span_id(sid);
}

/* Proxy mode: the program's 55 value bytes at off replaced by ours (len of them taken). */
static void check_replacement(size_t off, const char *p, size_t len, bool whole)
{
	struct omsg *m = NULL;

	CHECK(R.proxy);
	for (size_t i = 0; i < O.n_m; i++)
		if (O.m[i].n_tp == 1 && O.m[i].tp_inbound && O.m[i].tp_at == off)
			m = &O.m[i];
	CHECK(m && !m->inserted && !m->replaced);
	m->replaced = true;
	if (whole) {
		CHECK(len == TP_LEN);
		check_tp(p, len);
		note_span_id(p + 36);
	} else {
		CHECK(len < TP_LEN);
		for (size_t i = 0; i < len; i++)
			CHECK(p[i] == '-' || is_hex(p + i, 1));
	}
}

static void verify(const struct outcome *o)
{
	const char *out = R.out.p;
	size_t e = 0, run = 0;

	for (size_t j = 0; j < R.out.n; j++) {
		if (R.tag[j] < 0)
			continue;
		size_t t = (size_t)R.tag[j];
		CHECK(t >= e);
		if (t > e) {
			CHECK(t - e == j - run);
			check_replacement(e, out + run, j - run, true);
		} else if (j > run) {
			check_insertion(e, out + run, j - run, true);
		}
		e = t + 1;
		run = j + 1;
	}
	size_t tail = R.out.n - run;
	CHECK(o->sent >= e);
	if (o->sent > e) {
		/* The program was told its bytes went: a replacement, whole or not yet. */
		CHECK(o->sent - e == tail);
		check_replacement(e, out + run, tail, tail == TP_LEN);
	} else if (tail) {
		/* Ours, cut short: only when the program stopped before its next byte. */
		CHECK(R.fatal && e < R.n);
		check_insertion(e, out + run, tail, false);
	}
}

/* ---- setup ---- */

static int fds[2] = {-1, -1}, sfds[2] = {-1, -1};
static struct otelp_conn *first_obj[2];

static void init_once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	otelp__config_defaults(&otelp__cfg);
	otelp__cfg.exporter = OTELP_EXPORTER_NONE; /* ended spans go back to the pool */
	otelp__cfg.instrumentations = OTELP_INST_ALL;
	otelp__pid_refresh();
	if (otelp__pool_init(4096) != 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sfds) != 0)
		abort();
}

/* The n-th connection of an iteration must be the same object each time: none leaked. */
static void check_reuse(int i, struct otelp_conn *c)
{
	CHECK(c);
	if (!first_obj[i])
		first_obj[i] = c;
	CHECK(first_obj[i] == c);
}

/* Proxy mode: a server request whose traceparent client requests may forward. */
static void inbound_request(unsigned v)
{
	struct buf b = {0};
	struct otelp_conn *c;

	otelp__http_on_accept(sfds[0], NULL, 0);
	c = otelp__conn_of(sfds[0]);
	check_reuse(0, c);
	buf_str(&b, "GET /in HTTP/1.1\r\nHost: a\r\ntraceparent: " INBOUND_TP "\r\n");
	if (v & 1)
		buf_str(&b, "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7\r\n");
	if (v & 2)
		buf_str(&b, "baggage: user=alice,tenant=t1;prop\r\n");
	buf_str(&b, "\r\n");
	struct iovec iov = {b.p, b.n};
	otelp__http_on_read(c, sfds[0], &iov, 1, (ssize_t)b.n, 0);
	free(b.p);
	/* The server span is current; it continues the trace when tracecontext is on. */
	const struct otelp_ctx *cur = otelp__ctx_current();
	CHECK(cur->valid);
	for (int i = 0; i < 16; i++)
		snprintf(R.tid + 2 * i, 3, "%02x", cur->trace_id[i]);
	if (R.props & OTELP_PROP_TRACECONTEXT)
		CHECK(memcmp(R.tid, INBOUND_TID, 32) == 0);
}

static bool injects(unsigned props)
{
	return props & (OTELP_PROP_TRACECONTEXT | OTELP_PROP_B3 | OTELP_PROP_B3MULTI);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct gen g = {.in = &in, .clean = true};
	struct outcome o = {0};
	static const enum otelp_sampler_kind samplers[] = {
	    OTELP_SAMPLER_PB_ALWAYS_ON, OTELP_SAMPLER_ALWAYS_OFF, OTELP_SAMPLER_ALWAYS_ON,
	    OTELP_SAMPLER_TRACEIDRATIO};

	init_once();
	uint32_t spans0 = otelp__pool_in_use();
	unsigned cfg = u8(&in), cfg2 = u8(&in);
	R.props = (cfg & 0x0f) ^ (OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE);
	R.proxy = cfg & 0x40;
	otelp__cfg.propagators = R.props;
	otelp__cfg.sampler = samplers[(cfg >> 4) & 3];
	otelp__cfg.sampler_ratio = 0.5;
	strcpy(otelp__cfg.http_capture_req, (cfg & 0x80) ? "content-type,traceparent,x-a" : "");
	strcpy(otelp__cfg.http_capture_resp, (cfg & 0x80) ? "content-length" : "");

	g.proxy = R.proxy;
	gen_stream(&g);
	R.in = &in;
	R.fd = fds[0];
	R.stream = g.s.p ? g.s.p : "";
	R.n = g.s.n;
	R.out.n = 0;
	R.prog_cnt = R.prog_hi = 0;
	R.fatal = false;
	R.calls = 0;
	R.no_fatal = g.clean;
	build_oracle(R.stream, R.n);

	if (R.proxy)
		inbound_request(cfg2);
	/* The peer's address only names the peer in spans; the socket is what getsockopt sees. */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
	struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/run/app.sock"};
	sin.sin_addr.s_addr = htonl(0x7f000001);
	sin6.sin6_addr.s6_addr[15] = 1;
	switch ((cfg2 >> 2) % 3) {
	case 0:
		otelp__http_on_connect(fds[0], (struct sockaddr *)&sin, sizeof(sin));
		break;
	case 1:
		otelp__http_on_connect(fds[0], (struct sockaddr *)&sin6, sizeof(sin6));
		break;
	default:
		otelp__http_on_connect(fds[0], (struct sockaddr *)&sun, sizeof(sun));
		break;
	}
	check_reuse(R.proxy ? 1 : 0, otelp__conn_of(fds[0]));

	play(fds[0], &o);
	verify(&o);
	/*
	 * Clean runs: every request head without a traceparent or B3 header got its lines (the shim
	 * gives up on a write of more iovecs than it can splice into: 128 with ours).
	 */
	if (g.clean && !o.responses && !o.capped && !R.fatal && injects(R.props) &&
	    o.max_iov <= 120)
		for (size_t i = 0; i < O.n_m; i++)
			CHECK(!O.m[i].head_done || O.m[i].n_tp || O.m[i].b3 || O.m[i].inserted);

	/* Responses, the end of the stream, then close. */
	for (unsigned k = u8(&in) % 6; k > 0; k--)
		feed_response(fds[0], true);
	if (u8(&in) & 1) {
		struct otelp_conn *c = otelp__conn_of(fds[0]);
		if (c)
			otelp__http_on_read(c, fds[0], NULL, 0, 0, 0);
	}
	otelp__http_forget(fds[0]);
	CHECK(otelp__conn_of(fds[0]) == NULL);
	if (R.proxy) {
		otelp__http_forget(sfds[0]);
		CHECK(otelp__conn_of(sfds[0]) == NULL);
	}
	CHECK(otelp__pool_in_use() == spans0);
	CHECK(!otelp__ctx_current()->valid);
	free(g.s.p);
	return 0;
}
