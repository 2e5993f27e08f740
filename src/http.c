/*
 * HTTP/1.x over sockets: connection table, classification, request/response tracking, client
 * and server spans, header injection. See http.h for the design.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>

#include "attrset.h"
#include "config.h"
#include "http.h"
#include "http1.h"
#include "httpsem.h"
#include "log.h"
#include "propagation.h"
#include "span.h"

struct otelp_conn **otelp__fdtab[OTELP_FDTAB_L1];

/* ---- limits of one connection ---- */

#define FIFO_MAX     16   /* requests in flight (pipelining) */
#define EDITS_MAX    16   /* pending rewrites of the outgoing stream */
#define INJECT_MAX   4096 /* bytes of header lines we may have pending */
#define CLS_MAX      24   /* first bytes kept to classify a connection */
#define HDR_CAPTURE  8    /* captured headers per message */
#define IOV_STACK    128  /* iovecs of one rewritten write */
#define INBOUND_MAX  8    /* per thread: recent server requests (see struct inbound) */
#define BAGGAGE_KEEP 256  /* per server request: baggage forwarded on its client calls */

enum conn_state {
	ST_UNKNOWN, /* no byte seen yet */
	ST_HTTP,
	ST_DEAD, /* stopped: waits for its pending edits, then leaves the table */
};

enum conn_role {
	ROLE_CLIENT, /* connect()ed: we write requests */
	ROLE_SERVER, /* accept()ed: we read requests */
};

struct inflight {
	uint64_t span; /* handle; 0: not traced */
	bool head;
	bool connect;
};

struct edit {
	uint64_t at;  /* stream offset of the program's bytes */
	uint16_t off; /* text in conn->inj */
	uint16_t len;
	uint16_t sent; /* insertion: bytes already sent */
	bool replace;  /* replace len program bytes at 'at' instead of inserting */
};

struct hdr {
	char name[64];
	char val[256];
	uint8_t name_len;
	uint16_t val_len;
};

/* The request head being read (server) or written (client). */
struct reqcap {
	uint64_t start_ns;
	char method[32];
	uint8_t method_len;
	bool method_cut;
	int version_minor;
	char target[1024];
	uint16_t target_len;
	char host[256];
	uint16_t host_len;
	char ua[256];
	uint16_t ua_len;
	char xff[128];
	uint16_t xff_len;
	char xfproto[16];
	uint8_t xfproto_len;
	char tp[64];
	uint8_t tp_len;
	uint8_t n_tp;
	bool tp_cut;
	uint64_t tp_value_start;
	char ts[OTELP_TRACESTATE_MAX + 1];
	uint16_t ts_len;
	uint8_t n_ts;
	char bag[1024];
	uint16_t bag_len;
	char b3[80];
	uint8_t b3_len;
	char b3_tid[40], b3_sid[24], b3_smp[8], b3_flg[8];
	uint8_t b3_tid_len, b3_sid_len, b3_smp_len, b3_flg_len;
	bool has_b3, has_b3m;
	struct hdr hdr[HDR_CAPTURE];
	uint8_t n_hdr;
};

/* The response head being read (client) or written (server). */
struct respcap {
	int status;
	struct hdr hdr[HDR_CAPTURE];
	uint8_t n_hdr;
};

#define SET_KEY_MAX 96 /* request fields a connection's set is made from (conn_attrs) */

struct otelp_conn {
	uint32_t next_free; /* pool link (index + 1) */
	uint32_t idx;
	uint32_t gen; /* bumped at each release: a writer that let go of the lock checks it */
	int lock;
	int fd;
	uint8_t role;
	uint8_t state;
	bool in_use;
	bool writing; /* a write is in flight without the lock: release later */
	bool unix_sock;
	bool first_req_done;
	char peer[INET6_ADDRSTRLEN + 8];
	uint8_t peer_len;
	int peer_port;
	/* Classification. */
	char cls[CLS_MAX];
	uint8_t cls_len;
	/* Parsers: the request direction and the response direction. */
	struct otelp_h1 req;
	struct otelp_h1 resp;
	/* Outgoing stream of a client: program bytes accepted by the kernel, and parsed. */
	uint64_t out_sent;
	uint64_t out_seen;
	uint64_t call_start; /* out_sent when the current write began */
	struct edit edits[EDITS_MAX];
	uint8_t n_edits;
	uint16_t inj_used;
	char inj[INJECT_MAX];
	/* Requests in flight, oldest first. */
	struct inflight fifo[FIFO_MAX];
	uint8_t fifo_head;
	uint8_t fifo_n;
	uint32_t begun_msg; /* client: the request (parser message number) whose span began */
	/* Context at connect(): the parent of the connection's first request. */
	struct otelp_ctx connect_ctx;
	uint64_t connect_span;
	struct reqcap rq;
	struct respcap rs;
	/* The interned set of the attributes its requests share, and what it was made from. */
	const struct otelp_attrset *set;
	uint8_t set_tries;
	uint8_t set_key_len;
	char set_key[SET_KEY_MAX];
};

/* ---- connection pool: chunks, lock-free free list ---- */

#define CHUNK_CONNS 64
#define MAX_CHUNKS  1024

static struct otelp_conn *chunks[MAX_CHUNKS];
static uint32_t n_chunks;
static int growing;
static uint64_t free_head; /* (tag << 32) | (index + 1) */

static struct otelp_conn *conn_at(uint32_t idx)
{
	return &chunks[idx / CHUNK_CONNS][idx % CHUNK_CONNS];
}

static void pool_push(struct otelp_conn *c)
{
	uint64_t old = __atomic_load_n(&free_head, __ATOMIC_RELAXED), nw;
	do {
		c->next_free = (uint32_t)old;
		nw = ((old >> 32) + 1) << 32 | (c->idx + 1);
	} while (!__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_RELEASE,
	                                      __ATOMIC_RELAXED));
}

static bool pool_grow(void)
{
	if (__atomic_exchange_n(&growing, 1, __ATOMIC_ACQUIRE))
		return false; /* another thread grows it: this connection goes untraced */
	uint32_t n = __atomic_load_n(&n_chunks, __ATOMIC_RELAXED);
	bool ok = false;
	if (n < MAX_CHUNKS) {
		void *p =
		    mmap(NULL, CHUNK_CONNS * sizeof(struct otelp_conn), PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			chunks[n] = p;
			__atomic_store_n(&n_chunks, n + 1, __ATOMIC_RELEASE);
			for (uint32_t i = CHUNK_CONNS; i-- > 0;) {
				struct otelp_conn *c = &chunks[n][i];
				c->idx = n * CHUNK_CONNS + i;
				pool_push(c);
			}
			ok = true;
		}
	}
	__atomic_store_n(&growing, 0, __ATOMIC_RELEASE);
	return ok;
}

static struct otelp_conn *pool_pop(void)
{
	for (int tries = 0; tries < 2; tries++) {
		uint64_t old = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE), nw;
		while ((uint32_t)old) {
			struct otelp_conn *c = conn_at((uint32_t)old - 1);
			nw = ((old >> 32) + 1) << 32 |
			     __atomic_load_n(&c->next_free, __ATOMIC_RELAXED);
			if (__atomic_compare_exchange_n(&free_head, &old, nw, true,
			                                __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
				return c;
		}
		if (!pool_grow())
			break;
	}
	return NULL;
}

/* ---- fd table ---- */

static struct otelp_conn **slot_of(int fd, bool create)
{
	unsigned u = (unsigned)fd;
	if (u >= OTELP_FDTAB_MAX)
		return NULL;
	struct otelp_conn **l2 =
	    __atomic_load_n(&otelp__fdtab[u / OTELP_FDTAB_L2], __ATOMIC_ACQUIRE);
	if (!l2 && create) {
		void *p = mmap(NULL, OTELP_FDTAB_L2 * sizeof(*l2), PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		struct otelp_conn **expect = NULL;
		if (__atomic_compare_exchange_n(&otelp__fdtab[u / OTELP_FDTAB_L2], &expect, p,
		                                false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			l2 = p;
		} else {
			munmap(p, OTELP_FDTAB_L2 * sizeof(*l2));
			l2 = expect;
		}
	}
	return l2 ? &l2[u % OTELP_FDTAB_L2] : NULL;
}

static void conn_lock(struct otelp_conn *c)
{
	for (unsigned spins = 0; __atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE); spins++) {
		if (spins > 64)
			sched_yield();
		else
			__builtin_ia32_pause();
	}
}

static void conn_unlock(struct otelp_conn *c)
{
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
}

/* Lock c as the connection of fd; false when it is not (any more). */
static bool conn_lock_fd(struct otelp_conn *c, int fd)
{
	conn_lock(c);
	if (c->in_use && c->fd == fd && otelp__conn_of(fd) == c)
		return true;
	conn_unlock(c);
	return false;
}

/* Leave the table and go back to the pool. Called with the lock held; unlocks. */
static void conn_release(struct otelp_conn *c)
{
	struct otelp_conn **slot = slot_of(c->fd, false);
	struct otelp_conn *expect = c;
	if (slot)
		__atomic_compare_exchange_n(slot, &expect, NULL, false, __ATOMIC_ACQ_REL,
		                            __ATOMIC_RELAXED);
	c->in_use = false;
	c->gen++;
	conn_unlock(c);
	pool_push(c);
}

/* The name lengths of the fields reqcap_header() looks at (a parser's want mask). */
#define REQ_FIELD_LENGTHS                                                           \
	(otelp__h1_want_bit(2) | otelp__h1_want_bit(4) | otelp__h1_want_bit(7) |    \
	 otelp__h1_want_bit(10) | otelp__h1_want_bit(11) | otelp__h1_want_bit(12) | \
	 otelp__h1_want_bit(15) | otelp__h1_want_bit(17))

static struct otelp_conn *conn_new(int fd, enum conn_role role)
{
	struct otelp_conn **slot = slot_of(fd, true);
	if (!slot)
		return NULL;
	struct otelp_conn *c = pool_pop();
	if (!c) {
		OTELP_COUNT(http_conns_untracked, 1);
		return NULL;
	}
	conn_lock(c);
	/* Reset everything before the parsers' big buffers; they are initialised below. */
	c->fd = fd;
	c->role = (uint8_t)role;
	c->state = ST_UNKNOWN;
	c->in_use = true;
	c->writing = false;
	c->unix_sock = false;
	c->first_req_done = false;
	c->peer_len = 0;
	c->peer[0] = 0;
	c->peer_port = 0;
	c->cls_len = 0;
	c->out_sent = c->out_seen = c->call_start = 0;
	c->n_edits = 0;
	c->inj_used = 0;
	c->fifo_head = c->fifo_n = 0;
	c->begun_msg = 0;
	c->connect_ctx.valid = false;
	c->connect_span = 0;
	c->set = NULL;
	c->set_tries = 0;
	c->set_key_len = 0;
	otelp__h1_init(&c->req, OTELP_H1_REQUEST);
	otelp__h1_init(&c->resp, OTELP_H1_RESPONSE);
	/* Header events only for the fields reqcap_header() or a capture list may keep. */
	if (!otelp__cfg.http_capture_req[0])
		c->req.want = REQ_FIELD_LENGTHS;
	if (!otelp__cfg.http_capture_resp[0])
		c->resp.want = 0;
	c->req.batch = c->resp.batch = true;
	/* A stale entry (an fd closed behind our back, e.g. by a raw syscall) is replaced. */
	struct otelp_conn *old = __atomic_exchange_n(slot, c, __ATOMIC_ACQ_REL);
	(void)old;
	return c;
}

/* ---- peer addresses ---- */

static void set_peer(struct otelp_conn *c, const struct sockaddr *sa, socklen_t len)
{
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		if (inet_ntop(AF_INET, &in->sin_addr, c->peer, sizeof(c->peer)))
			c->peer_len = (uint8_t)strlen(c->peer);
		c->peer_port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (inet_ntop(AF_INET6, &in6->sin6_addr, c->peer, sizeof(c->peer)))
			c->peer_len = (uint8_t)strlen(c->peer);
		c->peer_port = ntohs(in6->sin6_port);
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		c->unix_sock = true;
		if (n > sizeof(un->sun_path))
			n = sizeof(un->sun_path);
		n = strnlen(un->sun_path, n);
		if (n >= sizeof(c->peer))
			n = sizeof(c->peer) - 1;
		memcpy(c->peer, un->sun_path, n);
		c->peer[n] = 0;
		c->peer_len = (uint8_t)n;
	}
}

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6 || family == AF_UNIX;
}

/* ---- per-thread record of recent server requests ---- */

/*
 * What a client request made while handling a server request needs from it: the traceparent
 * it came in with (to recognise a proxy forwarding it) and its baggage (to forward). Kept per
 * thread, keyed by the server span's id, the last INBOUND_MAX requests.
 */
struct inbound {
	uint8_t span_id[8];
	bool used;
	uint8_t tp_len;
	char tp[OTELP_TRACEPARENT_LEN];
	uint16_t bag_len;
	char bag[BAGGAGE_KEEP];
};

static OTELP_TLS struct inbound inbound[INBOUND_MAX];
static OTELP_TLS unsigned inbound_next;

static void inbound_note(const uint8_t span_id[8], const struct reqcap *rq, const char *bag,
                         size_t bag_len)
{
	struct inbound *e = &inbound[inbound_next++ % INBOUND_MAX];
	memcpy(e->span_id, span_id, 8);
	e->used = true;
	e->tp_len = 0;
	if (rq->n_tp == 1 && rq->tp_len == OTELP_TRACEPARENT_LEN) {
		memcpy(e->tp, rq->tp, OTELP_TRACEPARENT_LEN);
		e->tp_len = OTELP_TRACEPARENT_LEN;
	}
	e->bag_len = 0;
	if (bag_len && bag_len <= BAGGAGE_KEEP) {
		memcpy(e->bag, bag, bag_len);
		e->bag_len = (uint16_t)bag_len;
	}
}

static const struct inbound *inbound_find(const uint8_t span_id[8])
{
	for (unsigned i = 0; i < INBOUND_MAX; i++)
		if (inbound[i].used && memcmp(inbound[i].span_id, span_id, 8) == 0)
			return &inbound[i];
	return NULL;
}

/* ---- small helpers ---- */

static size_t put_cut(char *dst, size_t cap, const char *src, size_t n)
{
	if (n > cap)
		n = cap;
	memcpy(dst, src, n);
	return n;
}

/* Append ", value" (header fields combined as a list) to dst of cap bytes. */
static uint16_t append_list(char *dst, size_t cap, uint16_t used, const char *v, size_t n)
{
	if (used && (size_t)used + 1 < cap)
		dst[used++] = ',';
	return (uint16_t)(used + put_cut(dst + used, cap - used, v, n));
}

static const char *errno_name(int err)
{
	switch (err) {
	case ECONNRESET:
		return "ECONNRESET";
	case EPIPE:
		return "EPIPE";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ECONNABORTED:
		return "ECONNABORTED";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ENETDOWN:
		return "ENETDOWN";
	default:
		return "_OTHER";
	}
}

static void capture_hdr(struct hdr *tab, uint8_t *n, const char *list,
                        const struct otelp_h1_field *ev)
{
	if (!list[0] || *n >= HDR_CAPTURE || ev->name_len >= sizeof(tab->name) ||
	    !otelp__http_header_listed(list, ev->name, ev->name_len) ||
	    otelp__http_header_sensitive(ev->name, ev->name_len))
		return;
	/* A repeated field joins the first one as a list. */
	for (unsigned i = 0; i < *n; i++) {
		if (tab[i].name_len == ev->name_len &&
		    strncasecmp(tab[i].name, ev->name, ev->name_len) == 0) {
			tab[i].val_len = append_list(tab[i].val, sizeof(tab[i].val), tab[i].val_len,
			                             ev->value, ev->value_len);
			return;
		}
	}
	struct hdr *h = &tab[(*n)++];
	for (size_t i = 0; i < ev->name_len; i++) {
		char ch = ev->name[i];
		h->name[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	h->name_len = (uint8_t)ev->name_len;
	h->val_len = (uint16_t)put_cut(h->val, sizeof(h->val), ev->value, ev->value_len);
}

static void set_captured(struct otelp_span *s, const char *prefix, const struct hdr *tab,
                         unsigned n)
{
	char key[128];
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(key, sizeof(key), "%s%.*s", prefix, tab[i].name_len, tab[i].name);
		if (k <= 0 || (size_t)k >= sizeof(key))
			continue;
		const char *v = tab[i].val;
		size_t len = tab[i].val_len;
		otelp__span_set_str_array(s, key, &v, &len, 1);
	}
}

/* ---- request heads ---- */

static void reqcap_start(struct reqcap *rq, const struct otelp_h1_event *ev)
{
	rq->start_ns = otelp__now_ns();
	rq->method_cut = ev->method_len > sizeof(rq->method);
	rq->method_len =
	    (uint8_t)put_cut(rq->method, sizeof(rq->method), ev->method, ev->method_len);
	rq->version_minor = ev->version_minor;
	rq->target_len =
	    (uint16_t)put_cut(rq->target, sizeof(rq->target), ev->target, ev->target_len);
	rq->host_len = rq->ua_len = rq->xff_len = rq->ts_len = rq->bag_len = 0;
	rq->xfproto_len = rq->tp_len = rq->n_tp = rq->n_ts = rq->b3_len = 0;
	rq->b3_tid_len = rq->b3_sid_len = rq->b3_smp_len = rq->b3_flg_len = 0;
	rq->has_b3 = rq->has_b3m = rq->tp_cut = false;
	rq->n_hdr = 0;
}

#define NAME_IS(ev, lit) otelp__h1_name_is((ev)->name, (ev)->name_len, lit, sizeof(lit) - 1)
#define KEEP(dst, ev)    ((uint8_t)put_cut((dst), sizeof(dst), (ev)->value, (ev)->value_len))

static void reqcap_header(struct reqcap *rq, const struct otelp_h1_field *ev)
{
	switch (ev->name_len) {
	case 2:
		if (NAME_IS(ev, "b3")) {
			rq->b3_len = KEEP(rq->b3, ev);
			rq->has_b3 = true;
		}
		break;
	case 4:
		if (NAME_IS(ev, "host") && !rq->host_len)
			rq->host_len =
			    (uint16_t)put_cut(rq->host, sizeof(rq->host), ev->value, ev->value_len);
		break;
	case 7:
		if (NAME_IS(ev, "baggage"))
			rq->bag_len = append_list(rq->bag, sizeof(rq->bag), rq->bag_len, ev->value,
			                          ev->value_len);
		break;
	case 10:
		if (NAME_IS(ev, "user-agent"))
			rq->ua_len =
			    (uint16_t)put_cut(rq->ua, sizeof(rq->ua), ev->value, ev->value_len);
		else if (NAME_IS(ev, "tracestate")) {
			rq->ts_len = append_list(rq->ts, sizeof(rq->ts) - 1, rq->ts_len, ev->value,
			                         ev->value_len);
			rq->n_ts++;
		} else if (NAME_IS(ev, "x-b3-flags")) {
			rq->b3_flg_len = KEEP(rq->b3_flg, ev);
			rq->has_b3m = true;
		}
		break;
	case 11:
		if (NAME_IS(ev, "traceparent")) {
			if (rq->n_tp < 255)
				rq->n_tp++;
			rq->tp_cut = ev->value_len > sizeof(rq->tp);
			rq->tp_len = KEEP(rq->tp, ev);
			rq->tp_value_start = ev->value_start;
		} else if (NAME_IS(ev, "x-b3-spanid")) {
			rq->b3_sid_len = KEEP(rq->b3_sid, ev);
			rq->has_b3m = true;
		}
		break;
	case 12:
		if (NAME_IS(ev, "x-b3-traceid")) {
			rq->b3_tid_len = KEEP(rq->b3_tid, ev);
			rq->has_b3m = true;
		} else if (NAME_IS(ev, "x-b3-sampled")) {
			rq->b3_smp_len = KEEP(rq->b3_smp, ev);
			rq->has_b3m = true;
		}
		break;
	case 15:
		if (NAME_IS(ev, "x-forwarded-for") && !rq->xff_len)
			rq->xff_len =
			    (uint16_t)put_cut(rq->xff, sizeof(rq->xff), ev->value, ev->value_len);
		break;
	case 17:
		if (NAME_IS(ev, "x-forwarded-proto"))
			rq->xfproto_len = KEEP(rq->xfproto, ev);
		break;
	}
	capture_hdr(rq->hdr, &rq->n_hdr, otelp__cfg.http_capture_req, ev);
}

static void set_method(struct otelp_span *s, const struct reqcap *rq, char *name, size_t cap,
                       size_t *name_len)
{
	const char *known =
	    rq->method_cut ? NULL : otelp__http_method_known(rq->method, rq->method_len);
	if (!known) {
		otelp__span_add_str_k(s, OTELP_KEY(HTTP_REQUEST_METHOD), "_OTHER", 6);
		otelp__span_add_str_k(s, OTELP_KEY(HTTP_REQUEST_METHOD_ORIGINAL), rq->method,
		                      rq->method_len);
		known = "HTTP"; /* the span name of an unknown method */
	} else {
		otelp__span_add_str_k(s, OTELP_KEY(HTTP_REQUEST_METHOD), known, strlen(known));
	}
	*name_len = strlen(known);
	if (*name_len >= cap)
		*name_len = cap - 1;
	memcpy(name, known, *name_len);
	name[*name_len] = 0;
}

static void set_common(struct otelp_conn *c, struct otelp_span *s, const struct reqcap *rq)
{
	if (rq->ua_len)
		otelp__span_add_str_k(s, OTELP_KEY(USER_AGENT_ORIGINAL), rq->ua, rq->ua_len);
	/* A client's peer is in its connection's set (conn_attrs); a server's differs by
	 * connection, so it is not. */
	if (c->role == ROLE_SERVER && c->peer_len) {
		otelp__span_add_str_k(s, OTELP_KEY(NETWORK_PEER_ADDRESS), c->peer, c->peer_len);
		if (!c->unix_sock)
			otelp__span_add_int_k(s, OTELP_KEY(NETWORK_PEER_PORT), c->peer_port);
	}
	set_captured(s, "http.request.header.", rq->hdr, rq->n_hdr);
}

/*
 * The attributes that every request of a connection usually shares, added as one interned set
 * (attrset.h): server: url.scheme, server.address, server.port, network.protocol.version;
 * client: server.address, server.port, network.protocol.version and the peer (a server's peer
 * port differs by connection and is left out, so its sets stay few). network.transport for
 * Unix sockets. The connection keeps its set with the request fields it came from (scheme,
 * host, version): while they are the same, nothing is parsed or looked up again.
 */
static void conn_attrs(struct otelp_conn *c, struct otelp_span *s, const char *scheme,
                       size_t scheme_len, const char *host, size_t host_len, int minor)
{
	bool server = c->role == ROLE_SERVER;
	char key[SET_KEY_MAX];
	size_t key_len = 2 + scheme_len + host_len;

	if (key_len <= sizeof(key)) {
		key[0] = (char)minor;
		key[1] = (char)scheme_len;
		memcpy(key + 2, scheme, scheme_len);
		memcpy(key + 2 + scheme_len, host, host_len);
		if (c->set && c->set_key_len == key_len && memcmp(c->set_key, key, key_len) == 0) {
			otelp__span_add_set(s, c->set);
			return;
		}
	}

	struct otelp_kv kv[OTELP_ATTRSET_KV_MAX];
	size_t n = 0;
	const char *hh;
	size_t hl;
	int port = server ? 0 : 80;
	if (server)
		kv[n++] = otelp__kv_str("url.scheme", scheme, scheme_len);
	if (host_len && otelp__http_host_port(host, host_len, &hh, &hl, &port)) {
		kv[n++] = otelp__kv_str("server.address", hh, hl);
		if (port)
			kv[n++] = otelp__kv_int("server.port", port);
	} else if (!server && c->peer_len && !c->unix_sock) {
		kv[n++] = otelp__kv_str("server.address", c->peer, c->peer_len);
		kv[n++] = otelp__kv_int("server.port", c->peer_port);
	}
	kv[n++] = otelp__kv_str("network.protocol.version", minor ? "1.1" : "1.0", 3);
	if (!server && c->peer_len) {
		kv[n++] = otelp__kv_str("network.peer.address", c->peer, c->peer_len);
		if (!c->unix_sock)
			kv[n++] = otelp__kv_int("network.peer.port", c->peer_port);
	}
	if (c->unix_sock)
		kv[n++] = otelp__kv_str("network.transport", "unix", 4);
	if (key_len > sizeof(key)) {
		otelp__span_add_kvs(s, kv, n); /* fields too long to keep: no set */
		return;
	}
	c->set = NULL;
	otelp__span_add_conn_kvs(s, kv, n, &c->set, &c->set_tries);
	if (c->set) {
		memcpy(c->set_key, key, key_len);
		c->set_key_len = (uint8_t)key_len;
	}
}

/* ---- in-flight requests ---- */

static bool fifo_push(struct otelp_conn *c, struct inflight f)
{
	if (c->fifo_n >= FIFO_MAX)
		return false;
	c->fifo[(c->fifo_head + c->fifo_n++) % FIFO_MAX] = f;
	return true;
}

static struct inflight *fifo_front(struct otelp_conn *c)
{
	return c->fifo_n ? &c->fifo[c->fifo_head] : NULL;
}

static struct inflight *fifo_back(struct otelp_conn *c)
{
	return c->fifo_n ? &c->fifo[(c->fifo_head + c->fifo_n - 1) % FIFO_MAX] : NULL;
}

static void fifo_pop(struct otelp_conn *c)
{
	if (c->fifo_n) {
		c->fifo_head = (uint8_t)((c->fifo_head + 1) % FIFO_MAX);
		c->fifo_n--;
	}
}

/* End a request's span: with a status code (> 0), or with a transport error (error_type). */
static void finish(struct otelp_conn *c, struct inflight *f, int status, const char *error_type)
{
	struct otelp_span *s = f->span ? otelp__span_from_handle(f->span) : NULL;
	f->span = 0;
	if (!s)
		return;
	bool server = c->role == ROLE_SERVER;
	if (status > 0) {
		otelp__span_add_int_k(s, OTELP_KEY(HTTP_RESPONSE_STATUS_CODE), status);
		set_captured(s, "http.response.header.", c->rs.hdr, c->rs.n_hdr);
		if (status >= (server ? 500 : 400)) {
			char code[8];
			int n = snprintf(code, sizeof(code), "%d", status);
			otelp__span_add_str_k(s, OTELP_KEY(ERROR_TYPE), code, (size_t)n);
			otelp__span_set_status(s, OTELP_STATUS_ERROR, NULL, 0);
		}
	} else if (error_type) {
		otelp__span_add_str_k(s, OTELP_KEY(ERROR_TYPE), error_type, strlen(error_type));
		otelp__span_set_status(s, OTELP_STATUS_ERROR, NULL, 0);
	}
	if (server)
		otelp__ctx_remove_span(s);
	otelp__span_end(s, 0);
}

/* Stop following the connection: end what is in flight with error_type (NULL: no error). */
static void stop(struct otelp_conn *c, const char *error_type)
{
	if (c->state != ST_DEAD && c->state != ST_UNKNOWN)
		OTELP_COUNT(http_conns_stopped, error_type ? 1 : 0);
	while (c->fifo_n) {
		finish(c, fifo_front(c), 0, error_type);
		fifo_pop(c);
	}
	c->state = ST_DEAD;
}

/* Released when nothing of ours is pending and no write is in flight. Unlocks. */
static void done(struct otelp_conn *c)
{
	if (c->state == ST_DEAD && c->n_edits == 0 && !c->writing)
		conn_release(c);
	else
		conn_unlock(c);
}

/* ---- server side ---- */

static void server_request(struct otelp_conn *c)
{
	struct reqcap *rq = &c->rq;
	struct inflight f = {0};
	const char *path, *query, *auth;
	size_t path_len, query_len, auth_len;

	f.head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
	f.connect = rq->method_len == 7 && memcmp(rq->method, "CONNECT", 7) == 0;
	otelp__http_target_split(rq->target, rq->target_len, &path, &path_len, &query, &query_len,
	                         &auth, &auth_len);
	if (otelp__cfg.http_ignore_paths[0] &&
	    otelp__http_path_ignored(otelp__cfg.http_ignore_paths, path, path_len)) {
		fifo_push(c, f);
		return;
	}

	/* Extraction from what was captured. */
	struct otelp_header h[12];
	size_t n = 0;
#define ADD(nm, v, l)                           \
	do {                                    \
		h[n].name = nm;                 \
		h[n].name_len = sizeof(nm) - 1; \
		h[n].value = v;                 \
		h[n].value_len = l;             \
		n++;                            \
	} while (0)
	if (rq->n_tp) {
		/* Two traceparent fields invalidate both: hand both over. */
		ADD("traceparent", rq->tp, rq->tp_cut ? sizeof(rq->tp) + 1 : rq->tp_len);
		if (rq->n_tp > 1)
			ADD("traceparent", rq->tp, rq->tp_len);
		if (rq->tp_cut)
			n = 0; /* an over-long value is invalid anyway */
	}
	if (rq->ts_len)
		ADD("tracestate", rq->ts, rq->ts_len);
	if (rq->bag_len)
		ADD("baggage", rq->bag, rq->bag_len);
	if (rq->has_b3)
		ADD("b3", rq->b3, rq->b3_len);
	if (rq->has_b3m) {
		ADD("x-b3-traceid", rq->b3_tid, rq->b3_tid_len);
		ADD("x-b3-spanid", rq->b3_sid, rq->b3_sid_len);
		ADD("x-b3-sampled", rq->b3_smp, rq->b3_smp_len);
		ADD("x-b3-flags", rq->b3_flg, rq->b3_flg_len);
	}
#undef ADD
	static OTELP_TLS struct otelp_extracted ex;
	otelp__extract(otelp__cfg.propagators, h, n, &ex);

	char name[256];
	size_t name_len = 0;
	struct otelp_span *s =
	    otelp__span_start("HTTP", 4, OTELP_KIND_SERVER, ex.ctx.valid ? &ex.ctx : NULL,
	                      ex.tracestate, ex.ctx.valid ? ex.tracestate_len : 0, rq->start_ns);
	if (!s) {
		fifo_push(c, f);
		return;
	}
	set_method(s, rq, name, sizeof(name), &name_len);
	if (name_len >= sizeof(name))
		name_len = sizeof(name) - 1;
	otelp__span_add_str_k(s, OTELP_KEY(URL_PATH), path, path_len);
	if (query) {
		char qbuf[1024];
		size_t ql = otelp__http_query_redact(query, query_len, qbuf, sizeof(qbuf));
		otelp__span_add_str_k(s, OTELP_KEY(URL_QUERY), qbuf, ql);
	}
	if (rq->xfproto_len)
		conn_attrs(c, s, rq->xfproto, rq->xfproto_len, auth_len ? auth : rq->host,
		           auth_len ? auth_len : rq->host_len, rq->version_minor);
	else
		conn_attrs(c, s, "http", 4, auth_len ? auth : rq->host,
		           auth_len ? auth_len : rq->host_len, rq->version_minor);
	const char *ca;
	size_t ca_len;
	if (rq->xff_len && otelp__http_xff_first(rq->xff, rq->xff_len, &ca, &ca_len))
		otelp__span_add_str_k(s, OTELP_KEY(CLIENT_ADDRESS), ca, ca_len);
	else if (c->peer_len && !c->unix_sock)
		otelp__span_add_str_k(s, OTELP_KEY(CLIENT_ADDRESS), c->peer, c->peer_len);
	set_common(c, s, rq);
	if (otelp__cfg.http_route_heuristic) {
		char route[512];
		size_t rl = otelp__http_route(path, path_len, route, sizeof(route));
		otelp__span_add_str_k(s, OTELP_KEY(HTTP_ROUTE), route, rl);
		name_len += (size_t)snprintf(name + name_len, sizeof(name) - name_len, " %.*s",
		                             (int)rl, route);
		if (name_len >= sizeof(name))
			name_len = sizeof(name) - 1;
	}
	otelp__span_set_name(s, name, name_len);

	f.span = otelp__span_handle(s);
	if (!fifo_push(c, f)) {
		otelp__span_end(s, 0);
		return;
	}
	struct otelp_ctx ctx;
	otelp__span_ctx(s, &ctx);
	otelp__ctx_raise(&ctx);
	inbound_note(s->span_id, rq, ex.baggage, ex.baggage_len);
}

/* ---- client side ---- */

static bool add_edit(struct otelp_conn *c, uint64_t at, const char *text, size_t len, bool replace)
{
	if (c->n_edits >= EDITS_MAX || len == 0 || len > (size_t)(INJECT_MAX - c->inj_used))
		return false;
	struct edit *e = &c->edits[c->n_edits++];
	e->at = at;
	e->off = c->inj_used;
	e->len = (uint16_t)len;
	e->sent = 0;
	e->replace = replace;
	memcpy(c->inj + c->inj_used, text, len);
	c->inj_used = (uint16_t)(c->inj_used + len);
	return true;
}

/* The parent of a client request: see docs/architecture.md, "Which request is the parent". */
static void client_parent(struct otelp_conn *c, struct otelp_ctx *out)
{
	if (!c->first_req_done && c->connect_ctx.valid) {
		c->first_req_done = true;
		if (!c->connect_span || otelp__span_from_handle(c->connect_span)) {
			*out = c->connect_ctx;
			if (c->connect_span)
				out->span = otelp__span_from_handle(c->connect_span);
			return;
		}
	}
	c->first_req_done = true;
	*out = *otelp__ctx_current();
}

static void client_request(struct otelp_conn *c, uint64_t blank_line)
{
	struct reqcap *rq = &c->rq;
	struct inflight f = {0};
	struct otelp_ctx parent;

	c->begun_msg = c->req.messages;

	f.head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
	f.connect = rq->method_len == 7 && memcmp(rq->method, "CONNECT", 7) == 0;
	client_parent(c, &parent);

	/* A traceparent of the program's own: leave it alone, unless it is forwarded (§5.2). */
	bool replace = false;
	const struct inbound *in = parent.valid ? inbound_find(parent.span_id) : NULL;
	if (rq->has_b3 || rq->has_b3m) {
		fifo_push(c, f); /* B3 of the program's own SDK: its context, not ours */
		return;
	}
	if (rq->n_tp) {
		replace = (otelp__cfg.propagators & OTELP_PROP_TRACECONTEXT) && rq->n_tp == 1 &&
		          !rq->tp_cut && rq->tp_len == OTELP_TRACEPARENT_LEN &&
		          rq->tp_value_start >= c->call_start && in &&
		          in->tp_len == OTELP_TRACEPARENT_LEN &&
		          memcmp(in->tp, rq->tp, OTELP_TRACEPARENT_LEN) == 0;
		if (!replace) {
			fifo_push(c, f);
			return;
		}
	}
	if (c->fifo_n >= FIFO_MAX) {
		OTELP_COUNT(http_requests_untraced, 1);
		return;
	}

	size_t ts_len = 0;
	const char *ts = parent.valid ? otelp__ctx_tracestate(&parent, &ts_len) : NULL;
	struct otelp_span *s = otelp__span_start(
	    "HTTP", 4, OTELP_KIND_CLIENT, parent.valid ? &parent : NULL, ts, ts_len, rq->start_ns);
	if (!s) {
		fifo_push(c, f);
		return;
	}
	struct otelp_ctx ctx;
	otelp__span_ctx(s, &ctx);
	char text[INJECT_MAX];
	size_t text_len;
	bool ok;
	if (replace) {
		otelp__traceparent_format(&ctx, text);
		ok = add_edit(c, rq->tp_value_start, text, OTELP_TRACEPARENT_LEN, true);
	} else {
		size_t sts_len = 0;
		const char *sts = otelp__ctx_tracestate(&ctx, &sts_len);
		text_len = otelp__inject_headers(otelp__cfg.propagators, &ctx, sts, sts_len,
		                                 in ? in->bag : NULL, in ? in->bag_len : 0, text,
		                                 sizeof(text));
		ok = text_len && add_edit(c, blank_line, text, text_len, false);
	}
	if (!ok) {
		/* No room for our header: the request goes out as written, untraced. */
		OTELP_COUNT(http_requests_untraced, 1);
		s->recording = false;
		otelp__span_end(s, 0);
		fifo_push(c, f);
		return;
	}

	char name[64];
	size_t name_len;
	set_method(s, rq, name, sizeof(name), &name_len);
	otelp__span_set_name(s, name, name_len);
	char url[2048];
	size_t url_len = otelp__http_url_full("http", rq->host, rq->host_len, rq->target,
	                                      rq->target_len, url, sizeof(url));
	if (url_len)
		otelp__span_add_str_k(s, OTELP_KEY(URL_FULL), url, url_len);
	const char *path, *query, *auth;
	size_t path_len, query_len, auth_len = 0;
	otelp__http_target_split(rq->target, rq->target_len, &path, &path_len, &query, &query_len,
	                         &auth, &auth_len);
	conn_attrs(c, s, "", 0, auth_len ? auth : rq->host, auth_len ? auth_len : rq->host_len,
	           rq->version_minor);
	set_common(c, s, rq);
	f.span = otelp__span_handle(s);
	fifo_push(c, f);
}

/* ---- message events ---- */

/* A HEADER event's field, as a HEAD event carries it. */
static struct otelp_h1_field field_of(const struct otelp_h1_event *ev)
{
	return (struct otelp_h1_field){.name = ev->name,
	                               .name_len = ev->name_len,
	                               .value = ev->value,
	                               .value_len = ev->value_len,
	                               .value_start = ev->value_start};
}

static void on_request_event(struct otelp_conn *c, const struct otelp_h1_event *ev)
{
	struct otelp_h1_field f;

	switch (ev->type) {
	case OTELP_H1_START_LINE:
		reqcap_start(&c->rq, ev);
		break;
	case OTELP_H1_HEADER:
		f = field_of(ev);
		reqcap_header(&c->rq, &f);
		break;
	case OTELP_H1_HEAD:
		reqcap_start(&c->rq, ev);
		for (size_t i = 0; i < ev->n_fields; i++)
			reqcap_header(&c->rq, &ev->fields[i]);
		/* The head is done: */
		/* fall through */
	case OTELP_H1_HEADERS_DONE:
		if (c->role == ROLE_SERVER)
			server_request(c);
		else if (c->begun_msg != c->req.messages)
			client_request(c, ev->line_start);
		break;
	case OTELP_H1_ERROR:
		stop(c, "malformed_request");
		break;
	default:
		break;
	}
}

static void on_response_event(struct otelp_conn *c, const struct otelp_h1_event *ev)
{
	struct inflight *f;

	struct otelp_h1_field hf;

	switch (ev->type) {
	case OTELP_H1_START_LINE:
		c->rs.status = ev->status;
		c->rs.n_hdr = 0;
		break;
	case OTELP_H1_HEADER:
		hf = field_of(ev);
		capture_hdr(c->rs.hdr, &c->rs.n_hdr, otelp__cfg.http_capture_resp, &hf);
		break;
	case OTELP_H1_HEAD:
		c->rs.status = ev->status;
		c->rs.n_hdr = 0;
		for (size_t i = 0; i < ev->n_fields; i++)
			capture_hdr(c->rs.hdr, &c->rs.n_hdr, otelp__cfg.http_capture_resp,
			            &ev->fields[i]);
		/* The head is done: */
		/* fall through */
	case OTELP_H1_HEADERS_DONE:
		f = fifo_front(c);
		if (!f) {
			/* A response without a request: we lost the thread. */
			stop(c, NULL);
			break;
		}
		if (c->rs.status == 101 || (f->connect && c->rs.status / 100 == 2)) {
			/* The connection is no longer HTTP. */
			finish(c, f, c->rs.status, NULL);
			fifo_pop(c);
			stop(c, NULL);
			break;
		}
		if (f->head && c->rs.status >= 200)
			otelp__h1_set_body(&c->resp, OTELP_H1_BODY_NONE);
		break;
	case OTELP_H1_MESSAGE_DONE:
		if (c->rs.status < 200)
			break; /* interim */
		f = fifo_front(c);
		if (f) {
			finish(c, f, c->rs.status, NULL);
			fifo_pop(c);
		}
		break;
	case OTELP_H1_ERROR:
		stop(c, "malformed_response");
		break;
	default:
		break;
	}
}

/* Feed bytes (or opaque body bytes when p is NULL) to one parser. */
static void feed(struct otelp_conn *c, bool request_dir, const char *p, size_t n)
{
	struct otelp_h1 *h = request_dir ? &c->req : &c->resp;
	struct otelp_h1_event ev;

	/* Until NEED_MORE: a message without a body completes with a step of no bytes. */
	while (c->state == ST_HTTP) {
		size_t used = otelp__h1_step(h, n || p ? p : "", n, &ev);
		if (p)
			p += used;
		n -= used;
		if (ev.type == OTELP_H1_NEED_MORE)
			break;
		if (request_dir)
			on_request_event(c, &ev);
		else
			on_response_event(c, &ev);
		if (ev.type == OTELP_H1_ERROR)
			break;
		/* Between messages with nothing left: another step would only say NEED_MORE. */
		if (ev.type == OTELP_H1_MESSAGE_DONE && n == 0)
			break;
	}
}

/*
 * Bytes of the direction that opens a connection (the client's writes, the server's reads):
 * classify first, then parse.
 */
static void opening_bytes(struct otelp_conn *c, const char *p, size_t n)
{
	if (c->state == ST_UNKNOWN) {
		size_t take = CLS_MAX - c->cls_len;
		if (take > n)
			take = n;
		memcpy(c->cls + c->cls_len, p, take);
		c->cls_len = (uint8_t)(c->cls_len + take);
		int k = otelp__h1_classify_request(c->cls, c->cls_len);
		if (k < 0 && c->cls_len < CLS_MAX)
			return;
		if (k <= 0) {
			c->state = ST_DEAD;
			return;
		}
		c->state = ST_HTTP;
		feed(c, true, c->cls, c->cls_len);
		p += take;
		n -= take;
	}
	feed(c, true, p, n);
}

/* ---- reads ---- */

static void in_bytes(struct otelp_conn *c, const char *p, size_t n)
{
	if (c->role == ROLE_SERVER) {
		opening_bytes(c, p, n);
		/* Event loops: the request whose bytes arrive last is the thread's current one. */
		struct inflight *b = fifo_back(c);
		if (b && b->span) {
			struct otelp_span *s = otelp__span_from_handle(b->span);
			const struct otelp_ctx *cur = otelp__ctx_current();
			if (s && (!cur->valid || memcmp(cur->span_id, s->span_id, 8) != 0)) {
				struct otelp_ctx ctx;
				otelp__span_ctx(s, &ctx);
				otelp__ctx_raise(&ctx);
			}
		}
	} else if (c->state == ST_UNKNOWN) {
		c->state = ST_DEAD; /* the server speaks first: not HTTP */
	} else {
		feed(c, false, p, n);
	}
}

void otelp__http_on_read(struct otelp_conn *c, int fd, const struct iovec *iov, int iovcnt,
                         ssize_t n, int err)
{
	if (!conn_lock_fd(c, fd))
		return;
	if (c->state == ST_DEAD) {
		done(c);
		return;
	}
	if (n > 0) {
		size_t left = (size_t)n;
		for (int i = 0; i < iovcnt && left && c->state != ST_DEAD; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
			if (k)
				in_bytes(c, iov[i].iov_base, k);
			left -= k;
		}
	} else if (n == 0) {
		if (c->role == ROLE_CLIENT) {
			struct otelp_h1_event ev = {.type = otelp__h1_eof(&c->resp)};
			if (c->state == ST_HTTP && ev.type == OTELP_H1_MESSAGE_DONE)
				on_response_event(c, &ev);
			if (c->fifo_n)
				stop(c, "connection_closed");
		} else if (c->state == ST_HTTP && !c->req.idle) {
			stop(c, "connection_closed");
		}
	} else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
		stop(c, errno_name(err));
	}
	done(c);
}

/* ---- writes ---- */

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SSIZE_MAX - t)
			return SSIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

/*
 * Parse the program bytes [from, to) of this write (offsets within it). When the write ends
 * right after the CR of the blank line, the head is known to end there: the request begins
 * now, so that our lines go out before that CR.
 */
static void out_parse(struct otelp_conn *c, const struct iovec *iov, int iovcnt, size_t from,
                      size_t to)
{
	size_t base = 0;
	uint64_t blank;
	for (int i = 0; i < iovcnt && base < to && c->state != ST_DEAD; i++) {
		size_t len = iov[i].iov_len, a = from > base ? from - base : 0;
		size_t b = to - base < len ? to - base : len;
		if (a < b)
			opening_bytes(c, (const char *)iov[i].iov_base + a, b - a);
		base += len;
	}
	if (c->state == ST_HTTP && c->begun_msg != c->req.messages &&
	    otelp__h1_head_ending(&c->req, &blank))
		client_request(c, blank);
}

/* Server responses: parsed after the fact, from what the kernel took. */
static void out_response(struct otelp_conn *c, const struct iovec *iov, int iovcnt, size_t n)
{
	for (int i = 0; i < iovcnt && n && c->state == ST_HTTP; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (k)
			feed(c, false, iov[i].iov_base, k);
		n -= k;
	}
}

/* Does an edit touch the program bytes [s0, s0 + total)? */
static bool edit_applies(const struct edit *e, uint64_t s0, size_t total)
{
	return e->at >= s0 && e->at < s0 + total;
}

struct piece {
	const char *p;
	size_t len;
	int8_t edit; /* insertion: index of the edit; -1: program bytes */
};

/*
 * Lay out one write: the program's bytes [s0, s0 + total) with the edits that fall in it.
 * An insertion at offset X goes right before the program's byte X (a partly sent one first of
 * all, when X == s0); a replacement gives our bytes in place of the program's, length for
 * length. Returns the number of pieces, or -1 when they do not fit.
 */
static int plan(struct otelp_conn *c, const struct iovec *iov, int iovcnt, uint64_t s0,
                struct piece *out, int cap)
{
	bool emitted[EDITS_MAX] = {false};
	uint64_t pos = s0;
	int n = 0;

	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		while (len) {
			const struct edit *rep = NULL;
			uint64_t next = pos + len;

			for (int e = 0; e < c->n_edits; e++) {
				const struct edit *ed = &c->edits[e];
				if (!ed->replace && ed->at == pos && !emitted[e]) {
					if (n >= cap)
						return -1;
					out[n++] =
					    (struct piece){c->inj + ed->off + ed->sent,
					                   (size_t)(ed->len - ed->sent), (int8_t)e};
					emitted[e] = true;
				}
			}
			for (int e = 0; e < c->n_edits; e++) {
				const struct edit *ed = &c->edits[e];
				if (ed->at > pos && ed->at < next)
					next = ed->at;
				if (ed->replace && ed->at <= pos && pos < ed->at + ed->len) {
					rep = ed;
					if (ed->at + ed->len < next)
						next = ed->at + ed->len;
				}
			}
			size_t k = (size_t)(next - pos);
			if (n >= cap)
				return -1;
			if (rep)
				out[n++] =
				    (struct piece){c->inj + rep->off + (pos - rep->at), k, -1};
			else
				out[n++] = (struct piece){p, k, -1};
			p += k;
			len -= k;
			pos += k;
		}
	}
	return n;
}

/* Part of an edit is on the wire already: its rest must go before more program bytes. */
static bool edit_started(const struct otelp_conn *c, uint64_t s0)
{
	for (int e = 0; e < c->n_edits; e++) {
		const struct edit *ed = &c->edits[e];
		if (ed->replace ? ed->at < s0 && s0 < ed->at + ed->len : ed->sent > 0)
			return true;
	}
	return false;
}

/* Retire the edits that are behind us. */
static void retire_edits(struct otelp_conn *c)
{
	int k = 0;
	for (int e = 0; e < c->n_edits; e++) {
		struct edit *ed = &c->edits[e];
		/*
		 * An insertion whose offset the program's bytes have passed without it can never
		 * go out whole any more: it is dropped (it cannot happen by construction).
		 */
		bool gone = ed->replace ? ed->at + ed->len <= c->out_sent
		                        : (ed->sent >= ed->len && ed->at <= c->out_sent) ||
		                              (ed->sent == 0 && ed->at < c->out_sent);
		if (!gone)
			c->edits[k++] = *ed;
	}
	c->n_edits = (uint8_t)k;
	/*
	 * Move the text of those left to the front of inj (it is in the order of the edits), so
	 * that a stream that always has one pending never runs out of room for the next.
	 */
	uint16_t used = 0;
	for (int e = 0; e < k; e++) {
		struct edit *ed = &c->edits[e];
		if (ed->off != used)
			memmove(c->inj + used, c->inj + ed->off, ed->len);
		ed->off = used;
		used = (uint16_t)(used + ed->len);
	}
	c->inj_used = used;
}

/*
 * Take the lock again after a call made without it. false (and not locked) when the connection
 * was closed and released meanwhile (a program closing an fd another thread writes to): then
 * nothing of it may be touched.
 */
static bool relock(struct otelp_conn *c, uint32_t gen)
{
	conn_lock(c);
	if (c->gen == gen)
		return true;
	conn_unlock(c);
	return false;
}

ssize_t otelp__http_write(struct otelp_conn *c, const struct otelp_wop *op)
{
	size_t total = iov_total(op->iov, op->iovcnt);
	ssize_t r;
	int err;

	if (total == 0 || total == SSIZE_MAX || !conn_lock_fd(c, op->fd))
		return op->orig(op);
	if (c->state == ST_DEAD && c->n_edits == 0) {
		done(c);
		return op->orig(op);
	}

	uint32_t gen = c->gen;
	if (c->role == ROLE_SERVER) {
		c->writing = true;
		conn_unlock(c);
		r = op->orig(op);
		err = errno;
		if (!relock(c, gen))
			goto out;
		c->writing = false;
		if (r > 0 && c->state == ST_HTTP)
			out_response(c, op->iov, op->iovcnt, (size_t)r);
		else if (r < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR &&
		         c->state == ST_HTTP)
			stop(c, errno_name(err));
		done(c);
		errno = err;
		return r;
	}

	/* A client: parse ahead what this write adds to the stream. */
	uint64_t s0 = c->out_sent;
	c->call_start = s0;
	if (c->state != ST_DEAD && s0 + total > c->out_seen) {
		size_t from = (size_t)(c->out_seen - s0);
		out_parse(c, op->iov, op->iovcnt, from, total);
		c->out_seen = s0 + total;
	}
	bool edited = false;
	for (int e = 0; e < c->n_edits; e++)
		edited |= edit_applies(&c->edits[e], s0, total) ||
		          (c->edits[e].replace && c->edits[e].at < s0 + total &&
		           c->edits[e].at + c->edits[e].len > s0);
	if (!edited) {
		c->writing = true;
		conn_unlock(c);
		r = op->orig(op);
		err = errno;
		if (!relock(c, gen))
			goto out;
		c->writing = false;
		if (r > 0)
			c->out_sent += (uint64_t)r;
		else if (r < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
			stop(c, errno_name(err));
		retire_edits(c);
		done(c);
		errno = err;
		return r;
	}

	struct piece pieces[IOV_STACK];
	struct iovec vec[IOV_STACK];
	int np = plan(c, op->iov, op->iovcnt, s0, pieces, IOV_STACK);
	if (np < 0 && edit_started(c, s0)) {
		/*
		 * Ours cannot be dropped half sent: take fewer of the program's iovecs (a short
		 * write). Each edit adds at most two pieces to the non-empty iovecs: these fit.
		 */
		int k = 0;
		for (int full = 0; k < op->iovcnt && full < IOV_STACK - 2 * EDITS_MAX; k++)
			full += op->iov[k].iov_len != 0;
		np = plan(c, op->iov, k, s0, pieces, IOV_STACK);
	}
	if (np < 0) {
		/* Too many iovecs to splice ours in: give up on this connection's edits. */
		c->n_edits = 0;
		stop(c, NULL);
		done(c);
		return op->orig(op);
	}
	for (int i = 0; i < np; i++)
		vec[i] = (struct iovec){(void *)pieces[i].p, pieces[i].len};

	struct msghdr mh = {0};
	if (op->msg) {
		mh.msg_name = op->msg->msg_name;
		mh.msg_namelen = op->msg->msg_namelen;
		mh.msg_control = op->msg->msg_control;
		mh.msg_controllen = op->msg->msg_controllen;
	}
	size_t app_done = 0;
	size_t ours_sent[EDITS_MAX] = {0};
	int first = 0; /* first piece not yet fully sent */
	c->writing = true;
	conn_unlock(c);
	for (;;) {
		mh.msg_iov = vec + first;
		mh.msg_iovlen = (size_t)(np - first);
		r = op->sendmsg(op->fd, &mh, op->flags);
		err = errno;
		if (r <= 0)
			break;
		/* Account what the kernel took, piece by piece. */
		size_t left = (size_t)r;
		while (left && first < np) {
			struct piece *pc = &pieces[first];
			size_t k = pc->len < left ? pc->len : left;
			if (pc->edit < 0)
				app_done += k;
			else
				ours_sent[pc->edit] += k;
			pc->p += k;
			pc->len -= k;
			vec[first] = (struct iovec){(void *)pc->p, pc->len};
			left -= k;
			if (pc->len == 0)
				first++;
		}
		/* Report as soon as some of the program's bytes went; else only ours went: again.
		 */
		if (app_done || first >= np)
			break;
		mh.msg_control = NULL; /* ancillary data goes with the first bytes only */
		mh.msg_controllen = 0;
	}
	if (!relock(c, gen)) {
		if (app_done)
			r = (ssize_t)app_done;
		goto out;
	}
	for (int e = 0; e < c->n_edits; e++)
		c->edits[e].sent = (uint16_t)(c->edits[e].sent + ours_sent[e]);
	c->writing = false;
	c->out_sent += app_done;
	/* An insertion cut short stays at its offset; the program's bytes after it wait too. */
	retire_edits(c);
	if (app_done) {
		done(c);
		errno = err;
		return (ssize_t)app_done;
	}
	if (r < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
		c->n_edits = 0;
		stop(c, errno_name(err));
	}
	done(c);
	r = r < 0 ? -1 : 0;
out:
	errno = err;
	return r;
}

/* ---- sendfile, shutdown, connect, accept, close ---- */

void otelp__http_on_sendfile(struct otelp_conn *c, int fd, ssize_t n)
{
	if (n <= 0 || !conn_lock_fd(c, fd))
		return;
	if (c->role == ROLE_SERVER && c->state == ST_HTTP)
		feed(c, false, NULL, (size_t)n);
	else if (c->state != ST_DEAD)
		stop(c, NULL); /* a client sending a file body: we cannot follow it, step aside */
	done(c);
}

void otelp__http_on_shutdown(struct otelp_conn *c, int fd, int how)
{
	if (!conn_lock_fd(c, fd))
		return;
	if (c->role == ROLE_SERVER && c->state == ST_HTTP && how != SHUT_RD) {
		struct otelp_h1_event ev = {.type = otelp__h1_eof(&c->resp)};
		if (ev.type == OTELP_H1_MESSAGE_DONE)
			on_response_event(c, &ev);
	}
	done(c);
}

void otelp__http_on_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!(otelp__cfg.instrumentations & OTELP_INST_HTTP) || !sa ||
	    len < (socklen_t)sizeof(sa_family_t) || !family_ok(sa->sa_family))
		return;
	int type = 0;
	socklen_t tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
		return;
	struct otelp_conn *c = conn_new(fd, ROLE_CLIENT);
	if (!c)
		return;
	set_peer(c, sa, len);
	const struct otelp_ctx *cur = otelp__ctx_current();
	if (cur->valid) {
		c->connect_ctx = *cur;
		c->connect_ctx.span = NULL;
		c->connect_span = cur->span ? otelp__span_handle(cur->span) : 0;
	}
	conn_unlock(c);
}

void otelp__http_on_accept(int fd, const struct sockaddr *peer, socklen_t len)
{
	if (!(otelp__cfg.instrumentations & OTELP_INST_HTTP))
		return;
	struct sockaddr_storage ss;
	if (!peer || len < (socklen_t)sizeof(sa_family_t)) {
		socklen_t sl = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
			return;
		peer = (struct sockaddr *)&ss;
		len = sl;
	}
	if (!family_ok(peer->sa_family))
		return;
	struct otelp_conn *c = conn_new(fd, ROLE_SERVER);
	if (!c)
		return;
	set_peer(c, peer, len);
	if (peer->sa_family == AF_UNIX)
		c->unix_sock = true;
	conn_unlock(c);
}

static void forget_conn(struct otelp_conn *c, int fd)
{
	if (!conn_lock_fd(c, fd))
		return;
	if (c->state == ST_HTTP) {
		if (c->role == ROLE_SERVER) {
			struct otelp_h1_event ev = {.type = otelp__h1_eof(&c->resp)};
			if (ev.type == OTELP_H1_MESSAGE_DONE)
				on_response_event(c, &ev);
			stop(c, c->fifo_n ? "connection_closed" : NULL);
		} else {
			/* The program gave up on what is still in flight: not an error of HTTP. */
			stop(c, NULL);
		}
	}
	c->state = ST_DEAD;
	c->n_edits = 0;
	c->writing = false;
	conn_release(c);
}

void otelp__http_forget(int fd)
{
	struct otelp_conn *c = otelp__conn_of(fd);
	if (c)
		forget_conn(c, fd);
}

void otelp__http_forget_range(unsigned first, unsigned last)
{
	for (unsigned top = first / OTELP_FDTAB_L2; top < OTELP_FDTAB_L1; top++) {
		struct otelp_conn **l2 = __atomic_load_n(&otelp__fdtab[top], __ATOMIC_ACQUIRE);
		unsigned base = top * OTELP_FDTAB_L2;
		if (base > last)
			break;
		if (!l2)
			continue;
		for (unsigned i = 0; i < OTELP_FDTAB_L2; i++) {
			unsigned fd = base + i;
			if (fd < first || fd > last)
				continue;
			struct otelp_conn *c = __atomic_load_n(&l2[i], __ATOMIC_ACQUIRE);
			if (c)
				forget_conn(c, (int)fd);
		}
	}
}

void otelp__http_on_dup(int oldfd)
{
	struct otelp_conn *c = otelp__conn_of(oldfd);
	if (!c || !conn_lock_fd(c, oldfd))
		return;
	/* Two fds write one stream now: we cannot follow it. */
	if (c->state != ST_DEAD)
		stop(c, NULL);
	done(c);
}

void otelp__http_after_fork(void)
{
	/*
	 * The child shares the parent's sockets but not its spans (never exported here). Keep
	 * the connections (a pre-fork server's children serve them), but forget what is in
	 * flight: its spans are the parent's.
	 */
	for (unsigned top = 0; top < OTELP_FDTAB_L1; top++) {
		struct otelp_conn **l2 = otelp__fdtab[top];
		if (!l2)
			continue;
		for (unsigned i = 0; i < OTELP_FDTAB_L2; i++) {
			struct otelp_conn *c = l2[i];
			if (!c)
				continue;
			c->lock = 0;
			c->writing = false;
			c->fifo_n = 0;
		}
	}
}
