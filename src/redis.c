/*
 * Redis client spans from hiredis: see redis.h for the design, docs/databases.md for the
 * spans themselves.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "redis.h"
#include "redisq.h"
#include "shim.h"

/* ---- hiredis' version and the two layouts we read ---- */

#define REPLY_ERROR 6 /* REDIS_REPLY_ERROR, the same in 0.14 and 1.x */

enum { V_UNKNOWN = OTELP_REDIS_V_UNKNOWN, V_RESOLVING, V_014 = OTELP_REDIS_V_014, V_1X };
atomic_int otelp__redis_version;

bool otelp__redis_version_known(void)
{
	int v = atomic_load_explicit(&otelp__redis_version, memory_order_acquire);
	if (otelp_likely(v >= V_014))
		return true;
	if (v != V_UNKNOWN)
		return false;
	int expect = V_UNKNOWN;
	if (!atomic_compare_exchange_strong(&otelp__redis_version, &expect, V_RESOLVING))
		return false;
	v = otelp__real_sym("redisConnectWithOptions", NULL) ? V_1X : V_014;
	atomic_store_explicit(&otelp__redis_version, v, memory_order_release);
	return true;
}

/*
 * redisContext starts with { int err; char errstr[128]; ... } in 0.14 and with
 * { const redisContextFuncs *funcs; int err; char errstr[128]; ... } in 1.x. An async
 * context embeds its redisContext first in both.
 */
static int ctx_err(const void *c, const char **errstr)
{
	const char *p = c;
	size_t off = atomic_load_explicit(&otelp__redis_version, memory_order_relaxed) == V_1X
	                 ? sizeof(void *)
	                 : 0;
	int err;
	memcpy(&err, p + off, sizeof(err));
	*errstr = p + off + sizeof(int);
	return err;
}

/*
 * redisReply: { int type; long long integer; size_t len; char *str; ... } in 0.14,
 * { int type; long long integer; double dval; size_t len; char *str; ... } in 1.x.
 */
static int reply_type(const void *r)
{
	int t;
	memcpy(&t, r, sizeof(t));
	return t;
}

static const char *reply_str(const void *r, size_t *len)
{
	const char *p = r;
	size_t off =
	    atomic_load_explicit(&otelp__redis_version, memory_order_relaxed) == V_1X ? 24 : 16;
	const char *s;
	memcpy(len, p + off, sizeof(*len));
	memcpy(&s, p + off + sizeof(size_t), sizeof(s));
	if (!s)
		*len = 0;
	return s ? s : "";
}

static const char *err_word(int err)
{
	switch (err) {
	case 1:
		return "io_error";
	case 3:
		return "eof";
	case 4:
		return "protocol_error";
	case 5:
		return "oom";
	case 6:
		return "timeout";
	default:
		return "other";
	}
}

/* ---- contexts ---- */

#define PENDING_MAX 512

struct rconn {
	char addr[256];
	size_t addr_len;
	int port;
	bool unix_sock;
	char peer[64];
	size_t peer_len;
	long db_sent;                    /* the database commands sent now run in (SELECT seen) */
	long db_ok;                      /* the last one the server confirmed */
	const struct otelp_attrset *set; /* the connection's attributes for database set_db */
	long set_db;
	uint8_t set_tries;
	bool lost; /* the FIFO overflowed: replies are not followed until it is empty */
	/* Asynchronous contexts: our connect callback stands in front of the program's. */
	bool our_connect_cb;
	bool user_connect_cb_set;
	bool connect_done;
	void (*user_connect_cb)(const void *ac, int status);
	uint64_t connect_t0;
	unsigned head, n;
	struct {
		uint64_t span;
		long select_db;
	} q[PENDING_MAX];
};

#define TAB_SIZE  4096 /* power of two */
#define TOMBSTONE ((uintptr_t)1)

static struct {
	_Atomic uintptr_t key;
	struct rconn *_Atomic val;
} tab[TAB_SIZE];

static size_t slot_hash(uintptr_t k)
{
	k >>= 4;
	k *= 0x9E3779B97F4A7C15ull;
	return (size_t)(k >> 40) & (TAB_SIZE - 1);
}

static struct rconn *conn_find(void *ctx)
{
	uintptr_t k = (uintptr_t)ctx;
	size_t i = slot_hash(k);
	for (size_t probes = 0; probes < TAB_SIZE; probes++, i = (i + 1) & (TAB_SIZE - 1)) {
		uintptr_t have = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		if (have == k)
			return atomic_load_explicit(&tab[i].val, memory_order_acquire);
		if (have == 0)
			return NULL;
	}
	return NULL;
}

static struct rconn *conn_add(void *ctx)
{
	struct rconn *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	uintptr_t k = (uintptr_t)ctx;
	size_t i = slot_hash(k);
	for (size_t probes = 0; probes < TAB_SIZE; probes++, i = (i + 1) & (TAB_SIZE - 1)) {
		uintptr_t have = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		if (have == k) {
			/* A context at an address we still had (freed without our knowing). */
			free(atomic_exchange(&tab[i].val, rc));
			return rc;
		}
		if ((have == 0 || have == TOMBSTONE) &&
		    atomic_compare_exchange_strong(&tab[i].key, &have, k)) {
			atomic_store_explicit(&tab[i].val, rc, memory_order_release);
			return rc;
		}
	}
	free(rc);
	return NULL; /* table full: this context's spans lack its address */
}

static struct rconn *conn_take(void *ctx)
{
	uintptr_t k = (uintptr_t)ctx;
	size_t i = slot_hash(k);
	for (size_t probes = 0; probes < TAB_SIZE; probes++, i = (i + 1) & (TAB_SIZE - 1)) {
		uintptr_t have = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		if (have == k) {
			struct rconn *rc = atomic_exchange(&tab[i].val, NULL);
			atomic_store_explicit(&tab[i].key, TOMBSTONE, memory_order_release);
			return rc;
		}
		if (have == 0)
			return NULL;
	}
	return NULL;
}

static struct rconn *conn_get(void *ctx)
{
	struct rconn *rc = conn_find(ctx);
	return rc ? rc : conn_add(ctx);
}

/* ---- spans ---- */

/* The database index as a string, without snprintf (hundreds of instructions). */
static size_t db_index(char db[24], long index)
{
	size_t n = 24;
	unsigned long v = index > 0 ? (unsigned long)index : 0;
	do {
		db[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memmove(db, db + n, 24 - n);
	return 24 - n;
}

/* The connection's attributes when it has no set for its database yet (or cannot have one). */
static void conn_attrs_slow(struct otelp_span *s, struct rconn *rc)
{
	char db[24];
	struct otelp_db_conn c = {.system = "redis", .ns = db, .default_port = 6379};

	c.ns_len = db_index(db, rc ? rc->db_sent : 0);
	if (rc) {
		c.addr = rc->addr;
		c.addr_len = rc->addr_len;
		c.port = rc->port;
		c.unix_sock = rc->unix_sock;
		c.peer = rc->peer;
		c.peer_len = rc->peer_len;
		if (rc->set_db != rc->db_sent) {
			/* SELECT changed db.namespace: another set. */
			rc->set = NULL;
			rc->set_tries = 0;
			rc->set_db = rc->db_sent;
		}
	}
	otelp__db_conn_attrs(s, &c, rc ? &rc->set : NULL, rc ? &rc->set_tries : NULL);
}

/* The connection's attributes: its interned set when it has one for its database. */
static inline void conn_attrs(struct otelp_span *s, struct rconn *rc)
{
	if (otelp_likely(rc && rc->set && rc->set_db == rc->db_sent))
		otelp__span_add_set(s, rc->set);
	else
		conn_attrs_slow(s, rc);
}

static enum otelp_redisq_mode text_mode(void)
{
	switch (otelp__cfg.db_query_text) {
	case OTELP_DB_TEXT_RAW:
		return OTELP_REDISQ_RAW;
	case OTELP_DB_TEXT_OFF:
		return OTELP_REDISQ_NONE;
	default:
		return OTELP_REDISQ_SANITIZED;
	}
}

/*
 * Raw arguments may be binary: control bytes (NUL included, which protobuf-c's strings cannot
 * hold) are written \xNN, as long as four more bytes fit in OTELP_DB_TEXT_MAX.
 */
#define RAW_PLAIN_MAX (OTELP_DB_TEXT_MAX - 3) /* a raw text this long or shorter is not cut */

static inline bool is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* db.query.text from the text redisq wrote (mode RAW: escaped here). */
static void add_text(struct otelp_span *s, enum otelp_redisq_mode mode, const char *text,
                     size_t len)
{
	if (!len)
		return;
	if (mode == OTELP_REDISQ_RAW) {
		char esc[OTELP_DB_TEXT_MAX];
		size_t n = 0;
		for (size_t i = 0; i < len && n + 4 <= sizeof(esc); i++) {
			unsigned char ch = (unsigned char)text[i];
			if (is_ctl(ch)) {
				static const char hex[] = "0123456789abcdef";
				esc[n++] = '\\';
				esc[n++] = 'x';
				esc[n++] = hex[ch >> 4];
				esc[n++] = hex[ch & 15];
			} else {
				esc[n++] = (char)ch;
			}
		}
		otelp__db_text(s, esc, n);
	} else {
		otelp__db_text(s, text, len);
	}
}

/*
 * What every command's span starts with: the command's SELECT and SUBSCRIBE facts, its span
 * (named name) with the connection's attributes. NULL when there is no span to fill.
 */
static struct otelp_span *begin_span(struct otelp_redis_cmd *cmd, void *ctx, long select_db,
                                     bool subscribe, const char *name, size_t name_len)
{
	cmd->select_db = select_db;
	cmd->subscribe = subscribe;
	if (subscribe)
		return NULL;
	struct rconn *rc = conn_get(ctx);
	cmd->conn = rc;
	struct otelp_span *s = otelp__db_start(name, name_len, 0);
	if (!s)
		return NULL;
	conn_attrs(s, rc);
	cmd->span = s;
	if (rc && select_db >= 0)
		rc->db_sent = select_db; /* the commands sent after it run there */
	return s;
}

static void begin(struct otelp_redis_cmd *cmd, void *ctx, const struct otelp_redisq *q,
                  const char *text)
{
	struct otelp_span *s =
	    begin_span(cmd, ctx, q->select_db, q->subscribe, q->name_len ? q->name : "redis",
	               q->name_len ? q->name_len : 5);
	if (!s)
		return;
	otelp__span_add_str_k(s, OTELP_KEY(DB_OPERATION_NAME), q->name, q->name_len);
	add_text(s, text_mode(), text, q->text_len);
}

static void begin_fast(struct otelp_redis_cmd *cmd, void *ctx, const struct otelp_redisq_args *a)
{
	struct otelp_span *s =
	    begin_span(cmd, ctx, a->select_db, a->subscribe, a->arg[0], a->len[0]);
	if (!s)
		return;
	/* db.operation.name: the bytes of the span's name, which is the same command name. */
	if (s->name.len == a->len[0])
		otelp__span_add_ref_k(s, OTELP_KEY(DB_OPERATION_NAME), s->name);
	else
		otelp__span_add_str_k(s, OTELP_KEY(DB_OPERATION_NAME), a->arg[0], a->len[0]);
	/* db.query.text written once, where the span keeps it, when nothing would change it
	 * there (no cut, and in raw mode no control byte to escape). */
	if (a->text_len) {
		char *p = a->mode == OTELP_REDISQ_RAW && a->text_len > RAW_PLAIN_MAX
		              ? NULL
		              : otelp__span_str_room(s, a->text_len);
		if (p) {
			otelp__redisq_fast_text(a, p);
			for (size_t i = 0; a->mode == OTELP_REDISQ_RAW && p && i < a->text_len; i++)
				if (is_ctl((unsigned char)p[i]))
					p = NULL;
		}
		if (p) {
			otelp__span_add_room_k(s, OTELP_KEY(DB_QUERY_TEXT), a->text_len);
		} else {
			char text[OTELP_DB_TEXT_MAX];
			otelp__redisq_fast_text(a, text);
			add_text(s, a->mode, text, a->text_len);
		}
	}
}

static void cmd_init(struct otelp_redis_cmd *cmd)
{
	cmd->span = NULL;
	cmd->conn = NULL;
	cmd->select_db = -1;
	cmd->subscribe = false;
}

void otelp__redis_begin_fmt(struct otelp_redis_cmd *cmd, void *ctx, const char *fmt, va_list ap)
{
	enum otelp_redisq_mode mode = text_mode();
	va_list copy;

	cmd_init(cmd);
	{
		struct otelp_redisq_args a;
		va_copy(copy, ap);
		bool fast = otelp__redisq_fast_fmt(fmt, copy, mode, OTELP_DB_TEXT_MAX, &a);
		va_end(copy);
		if (fast) {
			begin_fast(cmd, ctx, &a);
			return;
		}
	}
	struct otelp_redisq q;
	char text[OTELP_DB_TEXT_MAX];
	va_copy(copy, ap);
	bool ok = otelp__redisq_fmt(fmt, copy, mode, text, sizeof(text), &q);
	va_end(copy);
	if (ok)
		begin(cmd, ctx, &q, text);
}

void otelp__redis_begin_argv(struct otelp_redis_cmd *cmd, void *ctx, int argc, const char **argv,
                             const size_t *argvlen)
{
	enum otelp_redisq_mode mode = text_mode();

	cmd_init(cmd);
	{
		struct otelp_redisq_args a;
		if (otelp__redisq_fast_argv(argc, argv, argvlen, mode, OTELP_DB_TEXT_MAX, &a)) {
			begin_fast(cmd, ctx, &a);
			return;
		}
	}
	struct otelp_redisq q;
	char text[OTELP_DB_TEXT_MAX];
	if (otelp__redisq_argv(argc, argv, argvlen, mode, text, sizeof(text), &q))
		begin(cmd, ctx, &q, text);
}

/* End s with the reply (NULL: the context's error, or why when there is none). */
static void end_with(struct otelp_span *s, struct rconn *rc, long select_db, const void *ctx,
                     const void *reply, const char *why)
{
	if (reply && reply_type(reply) == REPLY_ERROR) {
		size_t len;
		const char *str = reply_str(reply, &len);
		size_t plen = 0;
		while (plen < len && str[plen] != ' ')
			plen++;
		otelp__db_error(s, plen ? str : "_OTHER", plen ? plen : 6, plen != 0, str, len);
		if (rc && select_db >= 0)
			rc->db_sent = rc->db_ok; /* the SELECT failed */
	} else if (!reply) {
		const char *errstr = "";
		int err = ctx ? ctx_err(ctx, &errstr) : 0;
		if (err) {
			const char *w = err_word(err);
			otelp__db_error(s, w, strlen(w), false, errstr, strnlen(errstr, 128));
		} else {
			const char *w = why ? why : "connection_closed";
			otelp__db_error(s, w, strlen(w), false, "no reply", 8);
		}
	} else if (rc && select_db >= 0) {
		rc->db_ok = select_db;
	}
	otelp__db_end(s);
}

static void push(struct rconn *rc, struct otelp_redis_cmd *cmd)
{
	if (!cmd->span)
		return;
	if (!rc || rc->lost || rc->n == PENDING_MAX) {
		if (rc && !rc->lost)
			rc->lost = rc->n == PENDING_MAX;
		otelp__db_discard(cmd->span); /* its reply cannot be matched */
		cmd->span = NULL;
		return;
	}
	unsigned at = (rc->head + rc->n) % PENDING_MAX;
	rc->q[at].span = otelp__span_handle(cmd->span);
	rc->q[at].select_db = cmd->select_db;
	rc->n++;
	cmd->span = NULL;
}

/* The oldest command waiting on c gets reply. */
static void pop_with(struct rconn *rc, const void *c, const void *reply, const char *why)
{
	if (!rc || !rc->n)
		return;
	uint64_t h = rc->q[rc->head].span;
	long sel = rc->q[rc->head].select_db;
	rc->head = (rc->head + 1) % PENDING_MAX;
	rc->n--;
	struct otelp_span *s = otelp__span_from_handle(h);
	if (s)
		end_with(s, rc, sel, c, reply, why);
}

static void fail_all(struct rconn *rc, const void *c, const char *why)
{
	while (rc && rc->n)
		pop_with(rc, c, NULL, why);
	if (rc)
		rc->lost = false;
}

void otelp__redis_command_done(struct otelp_redis_cmd *cmd, void *c, void *reply)
{
	const char *errstr;
	if (!cmd->span && !reply)
		return;
	struct rconn *rc = cmd->conn ? cmd->conn : conn_find(c);
	if (rc && rc->lost) {
		if (cmd->span)
			otelp__db_discard(cmd->span);
		return;
	}
	if (reply) {
		if (otelp_likely(rc && !rc->n && cmd->span)) {
			/* Nothing appended before it: the reply is its own (push + pop in one). */
			end_with(cmd->span, rc, cmd->select_db, c, reply, NULL);
			return;
		}
		/* Queued behind any appended command: the reply is the oldest one's. */
		push(rc, cmd);
		pop_with(rc, c, reply, NULL);
	} else if (ctx_err(c, &errstr)) {
		push(rc, cmd);
		fail_all(rc, c, NULL);
	} else {
		push(rc, cmd); /* non-blocking context: appended, its reply comes later */
	}
	if (cmd->span) /* no context entry */
		end_with(cmd->span, NULL, -1, c, reply, NULL);
}

void otelp__redis_appended(struct otelp_redis_cmd *cmd, void *c, int rc_)
{
	if (!cmd->span)
		return;
	if (rc_ != 0) {
		end_with(cmd->span, NULL, -1, c, NULL, "other");
		return;
	}
	push(cmd->conn ? cmd->conn : conn_get(c), cmd);
	if (cmd->span) /* no context entry: no reply will find it */
		end_with(cmd->span, NULL, -1, c, NULL, "other");
}

void otelp__redis_got_reply(void *c, int rc_, void *reply)
{
	struct rconn *rc = conn_find(c);
	if (!rc || !rc->n) {
		if (rc && rc->lost && !rc->n)
			rc->lost = false;
		return;
	}
	if (rc_ != 0)
		fail_all(rc, c, NULL);
	else if (reply)
		pop_with(rc, c, reply, NULL);
}

/* ---- asynchronous commands ---- */

/*
 * What replaces the program's private data: its callback, its data and our span. Records
 * come from a lock-free pool (a tagged Treiber stack over one mmap'ed array), not malloc.
 */
struct arec {
	otelp_redis_cb *fn;
	void *privdata;
	uint64_t span;
	long select_db;
	uint32_t next; /* free-list link: index + 1 */
};

#define AREC_MAX 65536
static struct arec *arecs;
static _Atomic uint64_t arec_free; /* (tag << 32) | (index + 1) */
static atomic_uint arec_bump;
static atomic_int arec_init; /* 0 no, 1 mapping, 2 yes, 3 failed */

static bool arec_ready(void)
{
	int st = atomic_load_explicit(&arec_init, memory_order_acquire);
	if (otelp_likely(st == 2))
		return true;
	int expect = 0;
	if (st != 0 || !atomic_compare_exchange_strong(&arec_init, &expect, 1))
		return false;
	void *p = mmap(NULL, sizeof(struct arec) * AREC_MAX, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		atomic_store(&arec_init, 3);
		return false;
	}
	arecs = p;
	atomic_store_explicit(&arec_init, 2, memory_order_release);
	return true;
}

static struct arec *arec_get(void)
{
	if (!arec_ready())
		return NULL;
	uint64_t head = atomic_load_explicit(&arec_free, memory_order_acquire);
	while ((uint32_t)head) {
		struct arec *a = &arecs[(uint32_t)head - 1];
		uint64_t next = ((head >> 32) + 1) << 32 | a->next;
		if (atomic_compare_exchange_weak(&arec_free, &head, next))
			return a;
	}
	unsigned i = atomic_fetch_add(&arec_bump, 1);
	if (i >= AREC_MAX) {
		atomic_store(&arec_bump, AREC_MAX);
		return NULL;
	}
	return &arecs[i];
}

static void arec_put(struct arec *a)
{
	uint32_t idx = (uint32_t)(a - arecs) + 1;
	uint64_t head = atomic_load_explicit(&arec_free, memory_order_acquire);
	do {
		a->next = (uint32_t)head;
	} while (!atomic_compare_exchange_weak(&arec_free, &head, ((head >> 32) + 1) << 32 | idx));
}

static void async_cb(void *ac, void *reply, void *privdata)
{
	struct arec *a = privdata;
	otelp_redis_cb *fn = a->fn;
	void *pd = a->privdata;
	bool mine = otelp__guard_enter();
	struct otelp_span *s = otelp__span_from_handle(a->span);
	if (s)
		end_with(s, conn_find(ac), a->select_db, ac, reply, NULL);
	arec_put(a);
	if (mine)
		otelp__guard_leave();
	if (fn)
		fn(ac, reply, pd);
}

bool otelp__redis_async_wrap(struct otelp_redis_cmd *cmd, void *ac, otelp_redis_cb **fn,
                             void **privdata)
{
	if (!cmd->span)
		return false;
	struct arec *a = arec_get();
	if (!a) {
		otelp__db_discard(cmd->span);
		cmd->span = NULL;
		return false;
	}
	a->fn = *fn;
	a->privdata = *privdata;
	a->span = otelp__span_handle(cmd->span);
	a->select_db = cmd->select_db;
	*fn = async_cb;
	*privdata = a;
	return true;
}

void otelp__redis_async_sent(struct otelp_redis_cmd *cmd, void *privdata, int rc_)
{
	if (!cmd->span)
		return;
	if (rc_ != 0) {
		/* Not queued: hiredis will never call us back for it. */
		end_with(cmd->span, NULL, -1, NULL, NULL, "other");
		arec_put(privdata);
	}
	cmd->span = NULL; /* the callback ends it */
}

/* ---- connections ---- */

static void connect_failed(const char *addr, size_t addr_len, int port, bool unix_sock, uint64_t t0,
                           int err, const char *errstr)
{
	struct otelp_span *s = otelp__db_start("CONNECT", 7, t0);
	if (!s)
		return;
	struct otelp_db_conn c = {.system = "redis",
	                          .addr = addr,
	                          .addr_len = addr_len,
	                          .port = port,
	                          .default_port = 6379,
	                          .unix_sock = unix_sock};
	otelp__db_conn_attrs(s, &c, NULL, NULL);
	const char *w = err_word(err);
	otelp__db_error(s, w, strlen(w), false, errstr, strnlen(errstr, 128));
	otelp__db_end(s);
}

/*
 * An asynchronous connect fails later, in the event loop: hiredis tells the connect
 * callback, then frees the context itself. So ours is installed at connect time; the
 * program's, set with redisAsyncSetConnectCallback, is kept in the context's entry and
 * called after ours exactly as hiredis would call it.
 */
static void connect_cb(const void *ac, int status)
{
	struct rconn *rc = conn_find((void *)ac);
	void (*fn)(const void *, int) = rc ? rc->user_connect_cb : NULL;
	bool mine = otelp__guard_enter();
	if (rc && !rc->connect_done) {
		rc->connect_done = true;
		const char *errstr = "";
		int err = status != 0 ? ctx_err(ac, &errstr) : 0;
		if (status != 0)
			connect_failed(rc->addr, rc->addr_len, rc->port, rc->unix_sock,
			               rc->connect_t0, err ? err : 2, errstr);
	}
	if (mine)
		otelp__guard_leave();
	if (fn)
		fn(ac, status);
}

bool otelp__redis_set_connect_cb(void *ac, void *fn, int *rc_out)
{
	struct rconn *rc = conn_find(ac);
	if (!rc || !rc->our_connect_cb)
		return false;
	if (rc->user_connect_cb_set) {
		*rc_out = -1; /* REDIS_ERR: hiredis refuses a second connect callback */
		return true;
	}
	rc->user_connect_cb = (void (*)(const void *, int))fn;
	rc->user_connect_cb_set = true;
	*rc_out = 0;
	return true;
}

void otelp__redis_connected(void *ctx, const char *ip, int port, const char *path, uint64_t t0,
                            bool async)
{
	const char *errstr = "out of memory";
	int err = ctx ? ctx_err(ctx, &errstr) : 5;
	if (err) {
		const char *a = path ? path : ip ? ip : "";
		connect_failed(a, strlen(a), path ? 0 : port, path != NULL, t0, err, errstr);
		return;
	}
	struct rconn *rc = conn_add(ctx);
	if (!rc)
		return;
	const char *a = path ? path : ip ? ip : "";
	size_t n = strnlen(a, sizeof(rc->addr) - 1);
	memcpy(rc->addr, a, n);
	rc->addr_len = n;
	rc->port = path ? 0 : port;
	rc->unix_sock = path != NULL;
	rc->connect_t0 = t0;
	if (!path && ip) {
		/* The peer address is known when the program gave an IP rather than a name. */
		unsigned char buf[sizeof(struct in6_addr)];
		if ((inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1) &&
		    n < sizeof(rc->peer)) {
			memcpy(rc->peer, ip, n);
			rc->peer_len = n;
		}
	}
	if (async) {
		static void *real_set_cb;
		void *p = __atomic_load_n(&real_set_cb, __ATOMIC_ACQUIRE);
		if (!p) {
			p = otelp__real_sym("redisAsyncSetConnectCallback", NULL);
			__atomic_store_n(&real_set_cb, p, __ATOMIC_RELEASE);
		}
		int (*set_cb)(void *, void (*)(const void *, int)) = p;
		rc->our_connect_cb = set_cb && set_cb(ctx, connect_cb) == 0;
	}
}

void otelp__redis_freeing(void *ctx)
{
	struct rconn *rc = conn_find(ctx);
	if (!rc)
		return;
	fail_all(rc, NULL, "connection_closed");
	if (rc->our_connect_cb && !rc->connect_done)
		return; /* its connect callback may still run: keep what that needs */
	free(conn_take(ctx));
}
