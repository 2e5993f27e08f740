/*
 * HTTP/1.1 stress program for the HTTP tests: randomized exchanges over a few keep-alive
 * connections on 127.0.0.1, every byte checked. It runs unchanged without the preload.
 *
 *   stress server PORT                       serve until SIGTERM/SIGINT
 *   stress client PORT N SEED [options]      N exchanges against a server
 *   stress run N SEED [options]              both: forks a server on an ephemeral port
 * Options: --conns K (default 4)  --nonblock (O_NONBLOCK sockets, poll(), non-blocking
 * connect; implies --sndbuf 4096)  --sndbuf BYTES (SO_SNDBUF of the client sockets).
 *
 * The client writes requests with random methods (a few unknown ones), targets, headers
 * (names, casing, spacing, long values), HTTP/1.0 and 1.1, bodies of 0..64 KiB framed by
 * Content-Length or chunked (extensions, trailers), Expect: 100-continue, Connection: close,
 * pipelined groups of up to 3 requests. Bytes go out through write (sometimes one byte per
 * call), writev and sendmsg with random iovec splits (empty iovecs included), send and sendto;
 * responses come back through read, readv, recv, recvfrom and recvmsg with random sizes.
 *
 * The server strips what a tracing preload may add to a request head: at most one
 * "traceparent" line (checked: valid W3C version 00, non-zero ids; a second one is an error),
 * at most one "tracestate" and one "baggage" line. It answers with the FNV-1a 64 checksum and
 * length of the request bytes as they remain, i.e. as the client program wrote them
 * (X-Sum), what it stripped (X-Stripped: traceparent tracestate baggage), and a body derived
 * from the checksum, framed by Content-Length or chunked; 204 and 304 for targets starting
 * with /s204 and /s304. The client checks every response byte.
 *
 * Any mismatch: a diagnostic on stderr and exit status 1. On success the client prints one
 * summary line on stdout, "stress: ok exchanges=N ...", with counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 20000
#define HEAD_MAX      (256 * 1024)
#define BODY_MAX      (64 * 1024)
#define MAX_CONNS     16
#define MAX_GROUP     3

/* ---- small utilities ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	r->s = (z ^ (z >> 31)) | 1;
}

/* Uniform in [lo, hi]. */
static size_t range(struct rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(rnd(r) % (hi - lo + 1));
}

/* True with probability pct/100. */
static int chance(struct rng *r, unsigned pct)
{
	return rnd(r) % 100 < pct;
}

#define FNV_INIT 0xCBF29CE484222325ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001B3ull;
	}
	return h;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "stress: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

__attribute__((format(printf, 2, 3))) static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n < sizeof(tmp)) {
		buf_put(b, tmp, (size_t)n);
		return;
	}
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = {.fd = fd, .events = ev};
	for (;;) {
		int n = poll(&p, 1, IO_TIMEOUT_MS);
		if (n > 0)
			return 0;
		if (n == 0)
			return -1;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- byte transfer with varied calls ---- */

enum { W_WRITE, W_BYTES, W_WRITEV, W_SEND, W_SENDTO, W_SENDMSG, W_MODES };

/* Random split of [p, p+len) into at most max iovecs, sometimes with empty ones. */
static int split_iov(struct rng *r, const char *p, size_t len, struct iovec *iov, int max)
{
	int n = (int)range(r, 1, (size_t)max);
	int k = 0;
	size_t off = 0;
	for (int i = 0; i < n - 1 && off < len; i++) {
		size_t piece = chance(r, 10) ? 0 : range(r, 1, len - off);
		if (chance(r, 50) && piece > 16)
			piece = range(r, 1, 16);
		iov[k].iov_base = (void *)(p + off);
		iov[k].iov_len = piece;
		off += piece;
		k++;
	}
	iov[k].iov_base = (void *)(p + off);
	iov[k].iov_len = len - off;
	return k + 1;
}

/*
 * Write all of p[0..len) with one randomly chosen kind of call (mode < 0: pick one), handling
 * short writes, EINTR and EAGAIN. Returns 0, or -1 with errno.
 */
static int send_all(int fd, const char *p, size_t len, struct rng *r, int mode, int *used)
{
	if (mode < 0) {
		mode = (int)range(r, 0, W_MODES - 2);
		if (mode >= W_BYTES)
			mode++;
		if (chance(r, 3))
			mode = W_BYTES;
	}
	if (used)
		*used = mode;
	size_t off = 0;
	while (off < len) {
		size_t left = len - off;
		ssize_t n;
		struct iovec iov[20];
		struct msghdr m;
		switch (mode) {
		case W_BYTES:
			/* One byte per call for the first 400 bytes, then the rest at once. */
			n = write(fd, p + off, off < 400 ? 1 : left);
			break;
		case W_WRITEV:
			n = writev(fd, iov, split_iov(r, p + off, left, iov, 16));
			break;
		case W_SEND:
			n = send(fd, p + off, chance(r, 50) ? left : range(r, 1, left),
			         MSG_NOSIGNAL);
			break;
		case W_SENDTO:
			n = sendto(fd, p + off, left, MSG_NOSIGNAL, NULL, 0);
			break;
		case W_SENDMSG:
			memset(&m, 0, sizeof(m));
			m.msg_iov = iov;
			m.msg_iovlen = (size_t)split_iov(r, p + off, left, iov, 16);
			n = sendmsg(fd, &m, MSG_NOSIGNAL);
			break;
		default:
			n = write(fd, p + off, left);
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(fd, POLLOUT) < 0) {
					errno = ETIMEDOUT;
					return -1;
				}
				continue;
			}
			return -1;
		}
		if ((size_t)n > left) {
			fprintf(stderr, "stress: FAIL: a write call reported %zd bytes of %zu\n", n,
			        left);
			exit(1);
		}
		off += (size_t)n;
	}
	return 0;
}

struct reader {
	int fd;
	struct buf b;
	size_t pos; /* first unconsumed byte of b */
	struct rng *r;
	const char *who;
};

/* Read more bytes with a random kind of call and size. 1: got some, 0: EOF, -1: error. */
static int fill(struct reader *rd)
{
	if (rd->pos > 0 && rd->pos == rd->b.len) {
		rd->pos = rd->b.len = 0;
	} else if (rd->pos > (1u << 20)) {
		memmove(rd->b.p, rd->b.p + rd->pos, rd->b.len - rd->pos);
		rd->b.len -= rd->pos;
		rd->pos = 0;
	}
	buf_reserve(&rd->b, 65536);
	char *dst = rd->b.p + rd->b.len;
	size_t want;
	uint64_t x = rnd(rd->r);
	if (x % 20 == 0)
		want = 1;
	else if (x % 20 < 6)
		want = range(rd->r, 1, 64);
	else
		want = 65536;
	for (;;) {
		ssize_t n;
		struct iovec iov[2];
		struct msghdr m;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		switch ((x >> 8) % 5) {
		case 0:
			n = read(rd->fd, dst, want);
			break;
		case 1:
			n = recv(rd->fd, dst, want, 0);
			break;
		case 2:
			n = recvfrom(rd->fd, dst, want, 0, (struct sockaddr *)&ss, &sl);
			break;
		case 3:
			iov[0].iov_base = dst;
			iov[0].iov_len = want / 2;
			iov[1].iov_base = dst + want / 2;
			iov[1].iov_len = want - want / 2;
			n = readv(rd->fd, iov, 2);
			break;
		default:
			memset(&m, 0, sizeof(m));
			iov[0].iov_base = dst;
			iov[0].iov_len = want;
			m.msg_iov = iov;
			m.msg_iovlen = 1;
			n = recvmsg(rd->fd, &m, 0);
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(rd->fd, POLLIN) < 0) {
					errno = ETIMEDOUT;
					return -1;
				}
				continue;
			}
			return -1;
		}
		if ((size_t)n > want)
			die("%s: a read call reported %zd bytes of %zu", rd->who, n, want);
		rd->b.len += (size_t)n;
		return n > 0;
	}
}

static size_t avail(const struct reader *rd)
{
	return rd->b.len - rd->pos;
}

/* Ensure n unconsumed bytes. 0, or -1 (EOF or error). */
static int need(struct reader *rd, size_t n)
{
	while (avail(rd) < n)
		if (fill(rd) <= 0)
			return -1;
	return 0;
}

/* Length of the next line including its CRLF (waits for it); 0 on EOF/error/too long. */
static size_t line_len(struct reader *rd, size_t max)
{
	size_t scanned = 0;
	for (;;) {
		const char *s = rd->b.p + rd->pos;
		for (; scanned + 1 < avail(rd); scanned++)
			if (s[scanned] == '\r' && s[scanned + 1] == '\n')
				return scanned + 2;
		if (avail(rd) > max)
			return 0;
		if (fill(rd) <= 0)
			return 0;
	}
}

/* Length of the head (up to and including the blank line), waiting for it; 0 on failure. */
static size_t head_len(struct reader *rd)
{
	size_t scanned = 0;
	for (;;) {
		const char *s = rd->b.p + rd->pos;
		for (; scanned + 3 < avail(rd); scanned++)
			if (memcmp(s + scanned, "\r\n\r\n", 4) == 0)
				return scanned + 4;
		if (avail(rd) > HEAD_MAX)
			return 0;
		if (fill(rd) <= 0)
			return 0;
	}
}

/* Value of header `name` in a head (CRLF lines), trimmed; NULL if absent. */
static const char *header(const char *head, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end = head + n;
	const char *l = memchr(head, '\n', n);
	while (l && l + 1 < end) {
		const char *s = l + 1;
		const char *e = memchr(s, '\n', (size_t)(end - s));
		if (!e)
			break;
		if ((size_t)(e - s) > nl && s[nl] == ':' && strncasecmp(s, name, nl) == 0) {
			const char *v = s + nl + 1;
			const char *ve = e;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		l = e;
	}
	return NULL;
}

static int header_has(const char *head, size_t n, const char *name, const char *token)
{
	size_t vl;
	const char *v = header(head, n, name, &vl);
	size_t tl = strlen(token);
	for (size_t i = 0; v && i + tl <= vl; i++)
		if (strncasecmp(v + i, token, tl) == 0)
			return 1;
	return 0;
}

/*
 * A chunked body from rd: consumes it through the trailers, hashes every raw byte into *h and
 * counts them in *raw, appends the decoded data to out (if not NULL). 0, or -1 with a reason
 * in *why.
 */
static int read_chunked(struct reader *rd, uint64_t *h, size_t *raw, struct buf *out,
                        const char **why)
{
	for (;;) {
		size_t ll = line_len(rd, 4096);
		if (!ll) {
			*why = "chunk size line missing";
			return -1;
		}
		const char *s = rd->b.p + rd->pos;
		char *end;
		errno = 0;
		unsigned long long size = strtoull(s, &end, 16);
		if (end == s || errno || size > (1ull << 30) || (*end != ';' && *end != '\r')) {
			*why = "bad chunk size";
			return -1;
		}
		*h = fnv(*h, s, ll);
		*raw += ll;
		rd->pos += ll;
		if (size == 0)
			break;
		if (need(rd, (size_t)size + 2) < 0) {
			*why = "chunk data cut";
			return -1;
		}
		s = rd->b.p + rd->pos;
		if (memcmp(s + size, "\r\n", 2) != 0) {
			*why = "chunk data not followed by CRLF";
			return -1;
		}
		*h = fnv(*h, s, (size_t)size + 2);
		*raw += (size_t)size + 2;
		if (out)
			buf_put(out, s, (size_t)size);
		rd->pos += (size_t)size + 2;
	}
	for (;;) { /* trailers, then the blank line */
		size_t ll = line_len(rd, 65536);
		if (!ll) {
			*why = "trailer section cut";
			return -1;
		}
		*h = fnv(*h, rd->b.p + rd->pos, ll);
		*raw += ll;
		rd->pos += ll;
		if (ll == 2)
			return 0;
	}
}

/* ---- the response a request gets, derived from its checksum ---- */

static size_t filler_len(uint64_t sum)
{
	return (size_t)(sum % 4097);
}

static void expected_body(struct buf *b, uint64_t sum, size_t len)
{
	b->len = 0;
	buf_printf(b, "sum=%016" PRIx64 " len=%zu\n", sum, len);
	size_t f = filler_len(sum);
	buf_reserve(b, f);
	for (size_t i = 0; i < f; i++)
		b->p[b->len + i] = (char)('a' + (i + sum) % 26);
	b->len += f;
}

static int response_chunked(uint64_t sum)
{
	return ((sum >> 20) & 3) == 0;
}

/* ---- server ---- */

static atomic_int server_errors;
static atomic_ulong server_requests;

static int valid_traceparent(const char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (n != 55 || memcmp(v, "00-", 3) != 0 || v[35] != '-' || v[52] != '-')
		return 0;
	int trace_nz = 0, span_nz = 0;
	for (size_t i = 3; i < 55; i++) {
		if (i == 35 || i == 52)
			continue;
		if (!memchr(hex, v[i], 16))
			return 0;
		if (v[i] != '0') {
			if (i < 35)
				trace_nz = 1;
			else if (i < 52)
				span_nz = 1;
		}
	}
	return trace_nz && span_nz;
}

struct sconn {
	int fd;
	unsigned id;
};

__attribute__((format(printf, 3, 4))) static void server_fail(int fd, struct rng *r,
                                                              const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	fprintf(stderr, "stress-server: FAIL: %s\n", msg);
	atomic_fetch_add(&server_errors, 1);
	struct buf b = {0};
	buf_printf(&b,
	           "HTTP/1.1 400 Bad Request\r\nX-Error: %s\r\nContent-Length: 0\r\n"
	           "Connection: close\r\n\r\n",
	           msg);
	send_all(fd, b.p, b.len, r, W_WRITE, NULL);
	free(b.p);
}

/* One request from rd, answered. 1: go on, 0: connection done. */
static int serve_one(struct reader *rd, struct rng *r)
{
	int fd = rd->fd;
	if (avail(rd) == 0) {
		int f = fill(rd);
		if (f == 0)
			return 0; /* clean EOF between requests */
		if (f < 0)
			return 0; /* a reset by the client is allowed between requests */
	}
	size_t hl = head_len(rd);
	if (!hl) {
		if (avail(rd) > HEAD_MAX)
			server_fail(fd, r, "request head over %d bytes", HEAD_MAX);
		else
			server_fail(fd, r, "connection ended inside a request head (%zu bytes)",
			            avail(rd));
		return 0;
	}
	const char *head = rd->b.p + rd->pos;
	/* Checksum of the head without the lines a tracing preload may add. */
	uint64_t h = FNV_INIT;
	size_t kept = 0;
	int tp = 0, ts = 0, bg = 0;
	const char *s = head;
	const char *end = head + hl;
	int first = 1;
	while (s < end) {
		const char *e = (const char *)memchr(s, '\n', (size_t)(end - s)) + 1;
		size_t n = (size_t)(e - s);
		int strip = 0;
		if (!first && n > 2) {
			const char *colon = memchr(s, ':', n);
			size_t nl = colon ? (size_t)(colon - s) : 0;
			if (nl == 11 && strncasecmp(s, "traceparent", 11) == 0) {
				size_t vl;
				const char *v = colon + 1;
				const char *ve = e - 2;
				while (v < ve && (*v == ' ' || *v == '\t'))
					v++;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				vl = (size_t)(ve - v);
				if (!valid_traceparent(v, vl)) {
					server_fail(fd, r, "invalid traceparent line: %.*s",
					            (int)n - 2, s);
					return 0;
				}
				if (++tp > 1) {
					server_fail(fd, r, "more than one traceparent line");
					return 0;
				}
				strip = 1;
			} else if (nl == 10 && strncasecmp(s, "tracestate", 10) == 0) {
				if (++ts > 1) {
					server_fail(fd, r, "more than one tracestate line");
					return 0;
				}
				strip = 1;
			} else if (nl == 7 && strncasecmp(s, "baggage", 7) == 0) {
				if (++bg > 1) {
					server_fail(fd, r, "more than one baggage line");
					return 0;
				}
				strip = 1;
			}
		}
		if (!strip) {
			h = fnv(h, s, n);
			kept += n;
		}
		first = 0;
		s = e;
	}
	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	const char *sp1 = memchr(head, ' ', hl);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || (size_t)(end - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		server_fail(fd, r, "bad request line");
		return 0;
	}
	int is_head = sp1 - head == 4 && memcmp(head, "HEAD", 4) == 0;
	int http10 = sp2[8] == '0';
	const char *target = sp1 + 1;
	size_t target_len = (size_t)(sp2 - target);
	int status = 200;
	if (target_len >= 5 && memcmp(target, "/s204", 5) == 0)
		status = 204;
	else if (target_len >= 5 && memcmp(target, "/s304", 5) == 0)
		status = 304;
	int close_after = header_has(head, hl, "Connection", "close") ||
	                  (http10 && !header_has(head, hl, "Connection", "keep-alive"));
	int chunked = header_has(head, hl, "Transfer-Encoding", "chunked");
	int expect = header_has(head, hl, "Expect", "100-continue");
	size_t cl_len;
	const char *cl = header(head, hl, "Content-Length", &cl_len);
	unsigned long long body_len = 0;
	if (cl) {
		char tmp[32];
		if (cl_len == 0 || cl_len >= sizeof(tmp)) {
			server_fail(fd, r, "bad Content-Length");
			return 0;
		}
		memcpy(tmp, cl, cl_len);
		tmp[cl_len] = 0;
		body_len = strtoull(tmp, NULL, 10);
	}
	rd->pos += hl;
	if (expect && send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, r, -1, NULL) < 0)
		return 0;
	size_t total = kept;
	if (chunked) {
		const char *why = NULL;
		size_t raw = 0;
		if (read_chunked(rd, &h, &raw, NULL, &why) < 0) {
			server_fail(fd, r, "request body: %s", why);
			return 0;
		}
		total += raw;
	} else if (body_len) {
		if (need(rd, (size_t)body_len) < 0) {
			server_fail(fd, r, "request body cut (%llu announced)", body_len);
			return 0;
		}
		h = fnv(h, rd->b.p + rd->pos, (size_t)body_len);
		rd->pos += (size_t)body_len;
		total += (size_t)body_len;
	}
	atomic_fetch_add(&server_requests, 1);

	/* The response. */
	struct buf out = {0}, body = {0};
	expected_body(&body, h, total);
	int resp_chunked = !http10 && status == 200 && !is_head && response_chunked(h);
	buf_printf(&out, "HTTP/1.1 %d %s\r\nX-Sum: %016" PRIx64 " %zu\r\nX-Stripped: %d %d %d\r\n",
	           status,
	           status == 200   ? "OK"
	           : status == 204 ? "No Content"
	                           : "Not Modified",
	           h, total, tp, ts, bg);
	if (status != 204) {
		if (resp_chunked)
			buf_printf(&out, "Transfer-Encoding: chunked\r\n");
		else
			buf_printf(&out, "Content-Length: %zu\r\n", body.len);
	}
	if (close_after)
		buf_printf(&out, "Connection: close\r\n");
	else if (http10)
		buf_printf(&out, "Connection: keep-alive\r\n");
	buf_printf(&out, "\r\n");
	if (status == 200 && !is_head) {
		if (resp_chunked) {
			size_t off = 0;
			while (off < body.len) {
				size_t c = range(r, 1, body.len - off);
				buf_printf(&out, "%zx\r\n", c);
				buf_put(&out, body.p + off, c);
				buf_printf(&out, "\r\n");
				off += c;
			}
			buf_printf(&out, "0\r\n\r\n");
		} else {
			buf_put(&out, body.p, body.len);
		}
	}
	int rc = send_all(fd, out.p, out.len, r, -1, NULL);
	free(out.p);
	free(body.p);
	if (rc < 0)
		return 0;
	return !close_after;
}

static void *server_conn(void *arg)
{
	struct sconn *c = arg;
	struct rng r;
	rng_seed(&r, 0x5e1f000 + c->id);
	struct reader rd = {.fd = c->fd, .r = &r, .who = "server"};
	while (serve_one(&rd, &r))
		;
	close(c->fd);
	free(rd.b.p);
	free(c);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;
	unsigned id = 0;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "stress-server: accept: %s\n", strerror(errno));
			return NULL;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct sconn *c = malloc(sizeof(*c));
		if (!c)
			die("out of memory");
		c->fd = fd;
		c->id = id++;
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, server_conn, c) != 0)
			die("pthread_create");
		pthread_attr_destroy(&a);
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
		die("bind/listen on port %d: %s", port, strerror(errno));
	return fd;
}

/*
 * Serve on lfd. Ends when ctl (a pipe) reaches EOF, or on SIGTERM/SIGINT when ctl < 0; exits
 * through exit() so that atexit handlers (a preload's flush) run. Status 1 if any request
 * failed.
 */
static void __attribute__((noreturn)) serve(int lfd, int ctl)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every server thread */
	pthread_t t;
	static int lfd_s;
	lfd_s = lfd;
	if (pthread_create(&t, NULL, acceptor, &lfd_s) != 0)
		die("pthread_create");
	if (ctl >= 0) {
		char c;
		for (;;) {
			ssize_t n = read(ctl, &c, 1);
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			break;
		}
	} else {
		int sig;
		sigwait(&set, &sig);
	}
	int errs = atomic_load(&server_errors);
	if (errs)
		fprintf(stderr, "stress-server: %d failed request(s) of %lu\n", errs,
		        atomic_load(&server_requests));
	fflush(stderr);
	exit(errs ? 1 : 0);
}

/* ---- client ---- */

struct opts {
	int port;
	long n;
	uint64_t seed;
	int conns;
	int nonblock;
	int sndbuf;
};

struct req {
	struct buf bytes;
	size_t head_len;
	uint64_t sum;
	int is_head, expect, close, http10, status, chunked;
};

struct cconn {
	int fd; /* -1: not connected */
	struct reader rd;
};

static struct {
	long exchanges, connects, requests_chunked, responses_chunked, head, expect, pipelined,
	    http10, s204, s304, closes, bytes_out, tp, ts, bg, other_method, wmodes[W_MODES];
} st;

static const char *const methods[] = {"GET",   "GET",     "GET",  "POST", "POST",
                                      "POST",  "PUT",     "HEAD", "HEAD", "DELETE",
                                      "PATCH", "OPTIONS", "GET",  "POST", "GET"};
static const char *const other_methods[] = {"PROPFIND", "FOO", "MKCOL"};

static void rand_token(struct rng *r, struct buf *b, size_t n, const char *alphabet)
{
	size_t al = strlen(alphabet);
	for (size_t i = 0; i < n; i++) {
		char c = alphabet[rnd(r) % al];
		buf_put(b, &c, 1);
	}
}

static const char lower[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
static const char qchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%";

static void rand_case(struct rng *r, struct buf *b, const char *name)
{
	int mode = (int)range(r, 0, 3);
	for (const char *c = name; *c; c++) {
		char x = *c;
		if (mode == 1 || (mode == 3 && chance(r, 50)))
			x = (char)(x >= 'A' && x <= 'Z' ? x + 32 : x);
		else if (mode == 2)
			x = (char)(x >= 'a' && x <= 'z' ? x - 32 : x);
		buf_put(b, &x, 1);
	}
}

/* "Name: value" with random spacing. */
static void put_header(struct rng *r, struct buf *b, const char *name, const char *value)
{
	rand_case(r, b, name);
	buf_printf(b, ":%s%s%s\r\n",
	           chance(r, 80)   ? " "
	           : chance(r, 50) ? ""
	                           : "   ",
	           value, chance(r, 90) ? "" : "  ");
}

static void build_request(struct rng *r, const struct opts *o, struct req *q, int first_on_conn,
                          int last_in_group, int allow_expect)
{
	struct buf keep = q->bytes;
	memset(q, 0, sizeof(*q));
	q->bytes = keep;
	q->bytes.len = 0;
	struct buf *b = &q->bytes;
	const char *method = methods[rnd(r) % (sizeof(methods) / sizeof(methods[0]))];
	if (!first_on_conn && chance(r, 2)) {
		method = other_methods[rnd(r) % 3];
		st.other_method++;
	}
	q->is_head = strcmp(method, "HEAD") == 0;
	int body_method = !strcmp(method, "POST") || !strcmp(method, "PUT") ||
	                  !strcmp(method, "PATCH") || (!q->is_head && chance(r, 5));
	q->http10 = chance(r, 5);
	/* Target. */
	buf_printf(b, "%s ", method);
	q->status = 200;
	uint64_t t = rnd(r) % 100;
	if (t < 3) {
		buf_printf(b, "/s204");
		q->status = 204;
	} else if (t < 6) {
		buf_printf(b, "/s304");
		q->status = 304;
	}
	int segs = (int)range(r, 0, 5);
	if (segs == 0 && q->status == 200)
		buf_printf(b, "/");
	for (int i = 0; i < segs; i++) {
		buf_printf(b, "/");
		rand_token(r, b, range(r, 1, 12), lower);
	}
	if (chance(r, 50)) {
		buf_printf(b, "?");
		int k = (int)range(r, 1, 6);
		for (int i = 0; i < k; i++) {
			if (i)
				buf_printf(b, "&");
			rand_token(r, b, range(r, 1, 8), lower);
			buf_printf(b, "=");
			rand_token(r, b, range(r, 0, chance(r, 1) ? 3000 : 20), qchar);
		}
	}
	buf_printf(b, " HTTP/1.%d\r\n", q->http10 ? 0 : 1);
	/* Headers. */
	char hostv[64];
	snprintf(hostv, sizeof(hostv), "127.0.0.1:%d", o->port);
	int nh = (int)range(r, 0, chance(r, 5) ? 60 : 12);
	int host_at = (int)range(r, 0, (size_t)nh);
	struct buf v = {0};
	for (int i = 0; i <= nh; i++) {
		if (i == host_at)
			put_header(r, b, "Host", hostv);
		if (i == nh)
			break;
		struct buf name = {0};
		buf_printf(&name, "X-");
		rand_token(r, &name, range(r, 1, 20), tchar);
		buf_put(&name, "", 1);
		v.len = 0;
		size_t vl = chance(r, 1) ? range(r, 2048, 8000) : range(r, 0, 80);
		for (size_t k = 0; k < vl; k++) {
			char c = (char)range(r, 0x21, 0x7e);
			if (k > 0 && k + 1 < vl && chance(r, 10))
				c = ' ';
			buf_put(&v, &c, 1);
		}
		buf_put(&v, "", 1);
		put_header(r, b, name.p, v.p);
		free(name.p);
	}
	if (chance(r, 30))
		put_header(r, b, "User-Agent", "stress/1");
	if (chance(r, 20))
		put_header(r, b, "Accept", "*/*");
	/* Body. */
	size_t body_len = 0;
	if (body_method) {
		uint64_t c = rnd(r) % 100;
		body_len = c < 40   ? range(r, 0, 100)
		           : c < 70 ? range(r, 101, 4096)
		           : c < 90 ? range(r, 4097, 32768)
		                    : range(r, 32769, BODY_MAX);
		q->chunked = !q->http10 && chance(r, 30);
		q->expect = allow_expect && !q->http10 && body_len > 0 && chance(r, 5);
	}
	if (q->expect)
		put_header(r, b, "Expect", "100-continue");
	q->close = last_in_group && chance(r, 2);
	if (q->close)
		put_header(r, b, "Connection", "close");
	else if (q->http10)
		put_header(r, b, "Connection", "keep-alive");
	else if (chance(r, 10))
		put_header(r, b, "Connection", "keep-alive");
	char lenv[32];
	if (q->chunked) {
		put_header(r, b, "Transfer-Encoding", "chunked");
	} else if (body_method || chance(r, 5)) {
		snprintf(lenv, sizeof(lenv), "%zu", body_len);
		put_header(r, b, "Content-Length", lenv);
	}
	buf_printf(b, "\r\n");
	q->head_len = b->len;
	/* Body bytes: random binary, sometimes with an HTTP request inside to tempt parsers. */
	v.len = 0;
	for (size_t k = 0; k < body_len; k++) {
		char c = (char)rnd(r);
		buf_put(&v, &c, 1);
	}
	static const char bait[] = "GET /bait HTTP/1.1\r\nHost: x\r\ntraceparent: 00-\r\n\r\n";
	if (body_len > sizeof(bait) && chance(r, 20))
		memcpy(v.p + range(r, 0, body_len - sizeof(bait)), bait, sizeof(bait) - 1);
	if (q->chunked) {
		size_t off = 0;
		while (off < body_len) {
			size_t cs = range(r, 1, body_len - off);
			if (chance(r, 50) && cs > 300)
				cs = range(r, 1, 300);
			if (chance(r, 10))
				buf_printf(b, "%0*zX", (int)range(r, 1, 6), cs);
			else
				buf_printf(b, "%zx", cs);
			if (chance(r, 10))
				buf_printf(b, ";ext=%d", (int)range(r, 0, 99));
			buf_printf(b, "\r\n");
			buf_put(b, v.p + off, cs);
			buf_printf(b, "\r\n");
			off += cs;
		}
		buf_printf(b, "0\r\n");
		if (chance(r, 20))
			buf_printf(b, "X-Trailer: t%d\r\n", (int)range(r, 0, 9));
		buf_printf(b, "\r\n");
		st.requests_chunked++;
	} else {
		buf_put(b, v.p, body_len);
	}
	free(v.p);
	q->sum = fnv(FNV_INIT, b->p, b->len);
	st.head += q->is_head;
	st.expect += q->expect;
	st.http10 += q->http10;
	st.s204 += q->status == 204;
	st.s304 += q->status == 304;
}

static void client_connect(const struct opts *o, struct cconn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (o->sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	/* Split writes meet delayed ACKs otherwise: 40 ms stalls, not what is tested here. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (wait_fd(fd, POLLOUT) < 0)
				die("connect: timeout");
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err)
				die("connect: %s", strerror(err));
			break;
		}
		die("connect to port %d: %s", o->port, strerror(errno));
	}
	c->fd = fd;
	c->rd.fd = fd;
	c->rd.pos = c->rd.b.len = 0;
	st.connects++;
}

static void client_close(struct cconn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Read and check the response to q. */
static void check_response(struct cconn *c, const struct req *q, long no)
{
	struct reader *rd = &c->rd;
	size_t hl = head_len(rd);
	if (!hl)
		die("exchange %ld: no response head (%s)", no, errno ? strerror(errno) : "EOF");
	const char *head = rd->b.p + rd->pos;
	int status = 0;
	if (hl < 12 || sscanf(head, "HTTP/1.1 %d ", &status) != 1)
		die("exchange %ld: bad status line: %.40s", no, head);
	if (status != q->status) {
		size_t el;
		const char *e = header(head, hl, "X-Error", &el);
		die("exchange %ld: status %d, expected %d%s%.*s", no, status, q->status,
		    e ? "; server said: " : "", e ? (int)el : 0, e ? e : "");
	}
	size_t vl;
	const char *v = header(head, hl, "X-Sum", &vl);
	char want[64];
	int wl = snprintf(want, sizeof(want), "%016" PRIx64 " %zu", q->sum, q->bytes.len);
	if (!v || vl != (size_t)wl || memcmp(v, want, vl) != 0)
		die("exchange %ld: the server saw other bytes: X-Sum %.*s, wrote %s", no,
		    v ? (int)vl : 0, v ? v : "", want);
	v = header(head, hl, "X-Stripped", &vl);
	int tp, ts, bg;
	char tmp[64];
	if (!v || vl >= sizeof(tmp))
		die("exchange %ld: no X-Stripped", no);
	memcpy(tmp, v, vl);
	tmp[vl] = 0;
	if (sscanf(tmp, "%d %d %d", &tp, &ts, &bg) != 3)
		die("exchange %ld: bad X-Stripped", no);
	st.tp += tp;
	st.ts += ts;
	st.bg += bg;
	int chunked = header_has(head, hl, "Transfer-Encoding", "chunked");
	int server_closes = header_has(head, hl, "Connection", "close");
	const char *cl = header(head, hl, "Content-Length", &vl);
	size_t clen = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
	rd->pos += hl;
	struct buf exp = {0};
	expected_body(&exp, q->sum, q->bytes.len);
	if (status == 200 && !q->is_head) {
		struct buf got = {0};
		if (chunked) {
			uint64_t h = 0;
			size_t raw = 0;
			const char *why = NULL;
			if (read_chunked(rd, &h, &raw, &got, &why) < 0)
				die("exchange %ld: response body: %s", no, why);
			st.responses_chunked++;
		} else {
			if (!cl)
				die("exchange %ld: response without framing", no);
			if (need(rd, clen) < 0)
				die("exchange %ld: response body cut", no);
			buf_put(&got, rd->b.p + rd->pos, clen);
			rd->pos += clen;
		}
		if (got.len != exp.len || memcmp(got.p, exp.p, exp.len) != 0)
			die("exchange %ld: response body differs (%zu bytes, expected %zu)", no,
			    got.len, exp.len);
		free(got.p);
	} else if (status == 304 || (q->is_head && status == 200)) {
		if (!cl || clen != exp.len)
			die("exchange %ld: Content-Length of a %s answer: %zu, expected %zu", no,
			    q->is_head ? "HEAD" : "304", clen, exp.len);
	}
	free(exp.p);
	if (server_closes != q->close)
		die("exchange %ld: Connection: close %s", no,
		    server_closes ? "unexpected" : "missing");
	if (server_closes) {
		/* Nothing may follow the response. */
		if (avail(rd) != 0 || fill(rd) != 0)
			die("exchange %ld: bytes after a closing response", no);
		client_close(c);
		st.closes++;
	}
}

static void run_client(const struct opts *o)
{
	struct rng r;
	rng_seed(&r, o->seed);
	struct cconn conns[MAX_CONNS];
	for (int i = 0; i < o->conns; i++) {
		conns[i].fd = -1;
		memset(&conns[i].rd, 0, sizeof(conns[i].rd));
		conns[i].rd.r = &r;
		conns[i].rd.who = "client";
	}
	struct req group[MAX_GROUP];
	memset(group, 0, sizeof(group));
	struct buf out = {0};
	long done = 0;
	while (done < o->n) {
		struct cconn *c = &conns[rnd(&r) % (uint64_t)o->conns];
		int first = c->fd < 0;
		if (first)
			client_connect(o, c);
		long left = o->n - done;
		int g = chance(&r, 15) ? (int)range(&r, 2, MAX_GROUP) : 1;
		if (g > left)
			g = (int)left;
		int k = 0;
		out.len = 0;
		for (; k < g; k++) {
			struct req *q = &group[k];
			build_request(&r, o, q, first && k == 0, k == g - 1, g == 1);
			buf_put(&out, q->bytes.p, q->bytes.len);
			if (q->close) {
				k++;
				break;
			}
		}
		g = k;
		if (g > 1)
			st.pipelined += g;
		int mode;
		if (group[0].expect) {
			/* Head, the interim 100, then the body. */
			struct req *q = &group[0];
			if (send_all(c->fd, q->bytes.p, q->head_len, &r, -1, &mode) < 0)
				die("exchange %ld: write: %s", done, strerror(errno));
			size_t hl = head_len(&c->rd);
			if (!hl || hl != 25 ||
			    memcmp(c->rd.b.p + c->rd.pos, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
				die("exchange %ld: no 100 Continue", done);
			c->rd.pos += hl;
			if (send_all(c->fd, q->bytes.p + q->head_len, q->bytes.len - q->head_len,
			             &r, -1, NULL) < 0)
				die("exchange %ld: write: %s", done, strerror(errno));
		} else if (send_all(c->fd, out.p, out.len, &r, -1, &mode) < 0) {
			die("exchange %ld: write: %s", done, strerror(errno));
		}
		st.wmodes[mode]++;
		st.bytes_out += (long)out.len;
		for (int i = 0; i < g; i++)
			check_response(c, &group[i], done + i);
		done += g;
		if (c->fd >= 0 && chance(&r, 1))
			client_close(c); /* the client hangs up between requests */
	}
	for (int i = 0; i < o->conns; i++) {
		if (conns[i].fd >= 0)
			client_close(&conns[i]);
		free(conns[i].rd.b.p);
	}
	for (int i = 0; i < MAX_GROUP; i++)
		free(group[i].bytes.p);
	free(out.p);
	st.exchanges = done;
	printf("stress: ok exchanges=%ld connects=%ld bytes_out=%ld traceparent=%ld tracestate=%ld "
	       "baggage=%ld chunked_requests=%ld chunked_responses=%ld head=%ld expect=%ld "
	       "pipelined=%ld http10=%ld s204=%ld s304=%ld closes=%ld other_methods=%ld "
	       "bytewise=%ld writev=%ld sendmsg=%ld\n",
	       st.exchanges, st.connects, st.bytes_out, st.tp, st.ts, st.bg, st.requests_chunked,
	       st.responses_chunked, st.head, st.expect, st.pipelined, st.http10, st.s204, st.s304,
	       st.closes, st.other_method, st.wmodes[W_BYTES], st.wmodes[W_WRITEV],
	       st.wmodes[W_SENDMSG]);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: stress server PORT | stress client PORT N SEED [options] | "
	                "stress run N SEED [options]\n"
	                "options: --conns K  --nonblock  --sndbuf BYTES\n");
	exit(2);
}

static void parse_opts(struct opts *o, int argc, char **argv, int i)
{
	o->conns = 4;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--nonblock")) {
			o->nonblock = 1;
			if (!o->sndbuf)
				o->sndbuf = 4096;
		} else if (!strcmp(argv[i], "--conns") && i + 1 < argc) {
			o->conns = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--sndbuf") && i + 1 < argc) {
			o->sndbuf = atoi(argv[++i]);
		} else {
			usage();
		}
	}
	if (o->conns < 1 || o->conns > MAX_CONNS)
		usage();
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(600); /* never hang a test run */
	if (argc == 3 && !strcmp(argv[1], "server"))
		serve(listen_on(atoi(argv[2])), -1);
	struct opts o = {0};
	if (argc >= 5 && !strcmp(argv[1], "client")) {
		o.port = atoi(argv[2]);
		o.n = atol(argv[3]);
		o.seed = strtoull(argv[4], NULL, 0);
		parse_opts(&o, argc, argv, 5);
		run_client(&o);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "run")) {
		o.n = atol(argv[2]);
		o.seed = strtoull(argv[3], NULL, 0);
		parse_opts(&o, argc, argv, 4);
		int lfd = listen_on(0);
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		getsockname(lfd, (struct sockaddr *)&sa, &sl);
		o.port = ntohs(sa.sin_port);
		int ctl[2];
		if (pipe2(ctl, O_CLOEXEC) < 0)
			die("pipe: %s", strerror(errno));
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			close(ctl[1]);
			serve(lfd, ctl[0]);
		}
		close(ctl[0]);
		close(lfd);
		run_client(&o);
		close(ctl[1]); /* the server ends */
		int ws;
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
			fprintf(stderr, "stress: FAIL: the server ended with status 0x%x\n", ws);
			return 1;
		}
		return 0;
	}
	usage();
}
