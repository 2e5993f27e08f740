/*
 * PostgreSQL client spans from libpq: see pq.h for the design, docs/databases.md for the
 * spans themselves.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "pq.h"
#include "propagation.h"
#include "shim.h"
#include "sql.h"
#include "sqlcache.h"

/* ---- libpq's accessors, from the libpq the program loaded ---- */

static struct {
	ConnStatusType (*status)(const PGconn *);
	char *(*db)(const PGconn *);
	char *(*host)(const PGconn *);
	char *(*port)(const PGconn *);
	char *(*hostaddr)(const PGconn *); /* libpq >= 12; may be NULL */
	char *(*errmsg)(const PGconn *);
	ExecStatusType (*rstatus)(const PGresult *);
	char *(*rfield)(const PGresult *, int);
	int (*ntuples)(const PGresult *);
} api;

enum { API_UNKNOWN, API_RESOLVING, API_OK, API_MISSING };
static atomic_int api_state;

static bool api_resolve(void)
{
	int st = atomic_load_explicit(&api_state, memory_order_acquire);
	if (otelp_likely(st == API_OK))
		return true;
	if (st != API_UNKNOWN)
		return false;
	int expect = API_UNKNOWN;
	if (!atomic_compare_exchange_strong(&api_state, &expect, API_RESOLVING))
		return false; /* another thread is at it: this call is not traced */
#define R(field, name) (*(void **)&api.field = otelp__real_sym(name, NULL))
	R(status, "PQstatus");
	R(db, "PQdb");
	R(host, "PQhost");
	R(port, "PQport");
	R(hostaddr, "PQhostaddr");
	R(errmsg, "PQerrorMessage");
	R(rstatus, "PQresultStatus");
	R(rfield, "PQresultErrorField");
	R(ntuples, "PQntuples");
#undef R
	bool ok = api.status && api.db && api.host && api.port && api.errmsg && api.rstatus &&
	          api.rfield && api.ntuples;
	if (!ok)
		OTELP_WARN("libpq: accessor functions not found; PostgreSQL calls are not traced");
	atomic_store_explicit(&api_state, ok ? API_OK : API_MISSING, memory_order_release);
	return ok;
}

bool otelp__pq_on(void)
{
	return (otelp__cfg.instrumentations & OTELP_INST_LIBPQ) && api_resolve();
}

/* ---- per-connection state ---- */

#define PENDING_MAX 256 /* queries (and sync markers) sent and not yet answered */
#define STMTS_MAX   16  /* prepared statements remembered per connection */
#define STMT_NAME   64
#define STMT_TEXT   1024

struct pending {
	uint64_t span; /* span handle; 0: a query not traced */
	int64_t rows;
	bool sync; /* a PQpipelineSync marker, not a query */
	bool has_rows;
};

struct stmt {
	char name[STMT_NAME];
	char text[STMT_TEXT];
	uint16_t text_len;
	bool used;
};

/* Where a connection goes: its database and server attributes. */
struct pq_server {
	bool unix_sock;
	char addr[320];
	size_t addr_len;
	int port;
	char peer[64];
	size_t peer_len;
	char db[128];
	size_t db_len;
};

struct otelp_pq_conn {
	bool attrs_read;
	bool connect_reported;
	bool lost; /* the queue overflowed: results are not followed until it is empty again */
	struct pq_server srv;
	const struct otelp_attrset *set; /* srv's attributes, interned once read */
	uint8_t set_tries;
	uint64_t connect_start;
	unsigned head, n;
	struct pending q[PENDING_MAX];
	struct stmt stmts[STMTS_MAX];
	unsigned stmt_next;
};

/*
 * The table of connections, keyed by the PGconn's address: open addressing with linear
 * probing, no lock. libpq lets one thread at a time use a connection, so a key is only ever
 * added, looked up and removed by the thread using that connection; threads only race for
 * free slots, which they claim with a compare-and-swap. Removing a key leaves a tombstone that
 * a later key may claim; a slot never becomes empty again, so a lookup may stop at the first
 * empty slot. `reach` is one more than the farthest any key was ever put from its home slot:
 * lookups stop there too, so that absent keys stay cheap once every slot has been used.
 * At most half the slots hold a connection (`live`), which keeps probe sequences short; a
 * connection beyond that gets no state, and its spans only db.system.name.
 */
#define TAB_SIZE  4096 /* power of two */
#define LIVE_MAX  (TAB_SIZE / 2)
#define TOMBSTONE ((uintptr_t)1)

static struct {
	_Atomic uintptr_t key;
	struct otelp_pq_conn *_Atomic val;
} tab[TAB_SIZE];
static atomic_size_t reach;
static atomic_uint live;
static atomic_bool full_told;

static inline size_t slot_hash(uintptr_t k)
{
	k >>= 4;
	k *= 0x9E3779B97F4A7C15ull;
	return (size_t)(k >> 40) & (TAB_SIZE - 1);
}

/* The slot holding conn, or TAB_SIZE. */
static inline size_t slot_of(const PGconn *conn)
{
	uintptr_t k = (uintptr_t)conn;
	size_t i = slot_hash(k);
	size_t n = atomic_load_explicit(&reach, memory_order_acquire);
	for (size_t probes = 0; probes < n; probes++, i = (i + 1) & (TAB_SIZE - 1)) {
		uintptr_t have = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		if (have == k)
			return i;
		if (have == 0)
			break;
	}
	return TAB_SIZE;
}

static inline struct otelp_pq_conn *conn_find(const PGconn *conn)
{
	size_t i = slot_of(conn);
	return i < TAB_SIZE ? atomic_load_explicit(&tab[i].val, memory_order_acquire) : NULL;
}

static void reach_at_least(size_t n)
{
	size_t r = atomic_load_explicit(&reach, memory_order_relaxed);
	while (r < n && !atomic_compare_exchange_weak(&reach, &r, n))
		;
}

/* A new state for conn, which has none in the table. NULL: out of memory, or table full. */
static struct otelp_pq_conn *conn_add(const PGconn *conn)
{
	if (atomic_fetch_add_explicit(&live, 1, memory_order_relaxed) >= LIVE_MAX) {
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
		if (!atomic_exchange_explicit(&full_told, true, memory_order_relaxed))
			OTELP_DBG("libpq: more than %d connections at once: the spans of the "
			          "others lack their connection's attributes",
			          LIVE_MAX);
		return NULL;
	}
	struct otelp_pq_conn *st = calloc(1, sizeof(*st));
	if (!st) {
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
		return NULL;
	}
	uintptr_t k = (uintptr_t)conn;
	size_t i = slot_hash(k);
	for (size_t probes = 0; probes < TAB_SIZE; probes++, i = (i + 1) & (TAB_SIZE - 1)) {
		uintptr_t have = atomic_load_explicit(&tab[i].key, memory_order_relaxed);
		if ((have != 0 && have != TOMBSTONE) ||
		    !atomic_compare_exchange_strong(&tab[i].key, &have, k))
			continue;
		atomic_store_explicit(&tab[i].val, st, memory_order_release);
		reach_at_least(probes + 1);
		return st;
	}
	free(st); /* not reached: fewer than half the slots hold a key */
	atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	return NULL;
}

/* Remove conn's state from the table: the caller owns it now (NULL: there was none). */
static struct otelp_pq_conn *conn_take(const PGconn *conn)
{
	size_t i = slot_of(conn);
	if (i == TAB_SIZE)
		return NULL;
	/* The value first: once the key is a tombstone, another thread may claim the slot. */
	struct otelp_pq_conn *st = atomic_exchange(&tab[i].val, NULL);
	atomic_store_explicit(&tab[i].key, TOMBSTONE, memory_order_release);
	atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	return st;
}

static inline struct otelp_pq_conn *conn_get(PGconn *conn, bool create)
{
	if (!conn)
		return NULL;
	struct otelp_pq_conn *st = conn_find(conn);
	if (otelp_likely(st) || !create)
		return st;
	return conn_add(conn);
}

static size_t put_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strnlen(s, cap - 1) : 0;
	memcpy(dst, s ? s : "", n);
	dst[n] = 0;
	return n;
}

/* Where conn goes (libpq's accessors); true when the connection is up. */
static bool read_server(PGconn *conn, struct pq_server *sv)
{
	const char *host = api.host(conn), *port = api.port(conn);
	sv->port = port ? atoi(port) : 0;
	sv->db_len = put_str(sv->db, sizeof(sv->db), api.db(conn));
	sv->unix_sock = host && (host[0] == '/' || host[0] == '@');
	if (sv->unix_sock) {
		int n = snprintf(sv->addr, sizeof(sv->addr), "%s/.s.PGSQL.%d", host, sv->port);
		sv->addr_len = n < 0                           ? 0
		               : (size_t)n >= sizeof(sv->addr) ? sizeof(sv->addr) - 1
		                                               : (size_t)n;
	} else {
		sv->addr_len = put_str(sv->addr, sizeof(sv->addr), host);
	}
	sv->peer_len = 0;
	if (!sv->unix_sock && api.hostaddr)
		sv->peer_len = put_str(sv->peer, sizeof(sv->peer), api.hostaddr(conn));
	return api.status(conn) == CONNECTION_OK;
}

/* db.system.name, db.namespace and the server attributes; set/tries: see otelp__db_conn_attrs. */
static void server_attrs(struct otelp_span *s, const struct pq_server *sv,
                         const struct otelp_attrset **set, uint8_t *tries)
{
	struct otelp_db_conn c = {
	    .system = "postgresql",
	    .ns = sv->db,
	    .ns_len = sv->db_len,
	    .addr = sv->addr,
	    .addr_len = sv->addr_len,
	    .port = sv->port,
	    .default_port = 5432,
	    .unix_sock = sv->unix_sock,
	    .peer = sv->peer,
	    .peer_len = sv->peer_len,
	};
	otelp__db_conn_attrs(s, &c, set, tries);
}

static const struct stmt *stmt_find(const struct otelp_pq_conn *st, const char *name)
{
	for (unsigned i = 0; st && name && i < STMTS_MAX; i++)
		if (st->stmts[i].used && strcmp(st->stmts[i].name, name) == 0)
			return &st->stmts[i];
	return NULL;
}

static void stmt_remember(struct otelp_pq_conn *st, const char *name, const char *text)
{
	if (!st || !name || !text || strlen(name) >= STMT_NAME)
		return;
	struct stmt *s = (struct stmt *)stmt_find(st, name);
	if (!s) {
		s = &st->stmts[st->stmt_next];
		st->stmt_next = (st->stmt_next + 1) % STMTS_MAX;
	}
	put_str(s->name, sizeof(s->name), name);
	size_t n = strlen(text);
	s->text_len = (uint16_t)(n < STMT_TEXT ? n : STMT_TEXT);
	memcpy(s->text, text, s->text_len);
	s->used = true;
}

/* ---- results ---- */

static void set_error(struct otelp_span *s, const char *type, bool code, const char *msg)
{
	if (s->status == OTELP_STATUS_ERROR)
		return; /* the first error of a query is the one that matters */
	otelp__db_error(s, type, strlen(type), code, msg ? msg : "", msg ? strlen(msg) : 0);
}

/* What one result tells about its query. */
static void apply_result(struct otelp_span *s, PGconn *conn, const PGresult *res, struct pending *p)
{
	if (!res) {
		set_error(s, "_OTHER", false, api.errmsg(conn));
		return;
	}
	switch (api.rstatus(res)) {
	case PGRES_FATAL_ERROR: {
		const char *state = api.rfield(res, PG_DIAG_SQLSTATE);
		const char *msg = api.rfield(res, PG_DIAG_MESSAGE_PRIMARY);
		if (state && state[0])
			set_error(s, state, true, msg);
		else
			set_error(s, "_OTHER", false, msg ? msg : api.errmsg(conn));
		break;
	}
	case PGRES_BAD_RESPONSE:
		set_error(s, "_OTHER", false, api.errmsg(conn));
		break;
	case PGRES_PIPELINE_ABORTED:
		set_error(s, "pipeline_aborted", false,
		          "not executed: an earlier query of the pipeline failed");
		break;
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE:
		p->rows += api.ntuples(res);
		p->has_rows = true;
		break;
	default:
		break;
	}
}

static void finish(struct otelp_span *s, const struct pending *p)
{
	if (otelp__cfg.db_returned_rows && p->has_rows)
		otelp__span_add_int_k(s, OTELP_KEY(DB_RESPONSE_RETURNED_ROWS), p->rows);
	otelp__db_end(s);
}

/* End every span still waiting on this connection (closed or reset). */
static void drop_pending(struct otelp_pq_conn *st, const char *why)
{
	while (st->n) {
		struct pending *p = &st->q[st->head];
		struct otelp_span *s = p->span ? otelp__span_from_handle(p->span) : NULL;
		if (s) {
			set_error(s, why, false, "connection closed before the results arrived");
			finish(s, p);
		}
		st->head = (st->head + 1) % PENDING_MAX;
		st->n--;
	}
	st->lost = false;
}

/* conn's state leaves the table: the spans still waiting end with connection_closed. */
static void conn_drop(PGconn *conn)
{
	struct otelp_pq_conn *st = conn_take(conn);
	if (st) {
		drop_pending(st, "connection_closed");
		free(st);
	}
}

void otelp__pq_closing(PGconn *conn)
{
	if (conn)
		conn_drop(conn);
}

/* ---- spans ---- */

static size_t cat(char *dst, size_t cap, size_t at, const char *s, size_t n)
{
	if (at >= cap)
		return at;
	if (n > cap - at)
		n = cap - at;
	memcpy(dst + at, s, n);
	return at + n;
}

#define SQL_SCAN_MAX 16384 /* bytes of a statement read for its text and summary */

const char *otelp__pq_begin(struct otelp_pq_call *call, PGconn *conn, enum otelp_pq_op op,
                            const char *text, const char *name, int nparams)
{
	memset(call, 0, sizeof(*call));
	call->op = op;
	call->text = text;
	call->name = name;
	struct otelp_pq_conn *st = conn_get(conn, true);
	call->conn = st;
	if (st && !st->attrs_read)
		st->attrs_read = read_server(conn, &st->srv);

	/* The text that describes this call, and its summary. */
	const char *sql = NULL;
	size_t sql_len = 0;
	bool known = true;
	if (op == OTELP_PQ_QUERY || op == OTELP_PQ_PARAMS || op == OTELP_PQ_PREPARE) {
		sql = text;
		sql_len = text ? strnlen(text, SQL_SCAN_MAX) : 0;
	} else if (op == OTELP_PQ_EXEC_PREPARED) {
		const struct stmt *p = stmt_find(st, name);
		if (p) {
			sql = p->text;
			sql_len = p->text_len;
		} else {
			known = false;
		}
	}
	/*
	 * A plain-text query is sanitized first: its shape (the text without its literal values)
	 * finds the summary of an earlier query of the same shape. Other text (parameters,
	 * prepared statements, raw text) is looked up as it is.
	 */
	char clean[OTELP_DB_TEXT_MAX];
	size_t clean_len = 0;
	bool sanitize =
	    sql && op == OTELP_PQ_QUERY && otelp__cfg.db_query_text == OTELP_DB_TEXT_SANITIZED;
	uint64_t key = 0;
	if (sanitize)
		clean_len = otelp__sql_sanitize_shape(sql, sql_len, clean, sizeof(clean),
		                                      otelp__sqlcache_seed(), &key);
	else if (sql)
		key = otelp__sqlcache_key(sql, sql_len);
	char summary[OTELP_SQL_SUMMARY_MAX + 1];
	size_t sum_len =
	    sql ? otelp__sql_summary_cached(key, sql, sql_len, summary, sizeof(summary)) : 0;

	char span_name[OTELP_SQL_SUMMARY_MAX + 16];
	size_t nl = 0;
	const char *operation = NULL;
	switch (op) {
	case OTELP_PQ_PREPARE:
		operation = "PREPARE";
		nl = cat(span_name, sizeof(span_name), 0, "PREPARE", 7);
		if (sum_len) {
			nl = cat(span_name, sizeof(span_name), nl, " ", 1);
			nl = cat(span_name, sizeof(span_name), nl, summary, sum_len);
		}
		break;
	case OTELP_PQ_DESCRIBE_STMT:
	case OTELP_PQ_DESCRIBE_PORTAL:
		operation = "DESCRIBE";
		nl = cat(span_name, sizeof(span_name), 0, "DESCRIBE", 8);
		break;
	default:
		if (!known) {
			operation = "EXECUTE";
			nl = cat(span_name, sizeof(span_name), 0, "EXECUTE", 7);
		} else if (sum_len) {
			nl = cat(span_name, sizeof(span_name), 0, summary, sum_len);
		} else {
			nl = cat(span_name, sizeof(span_name), 0, "postgresql", 10);
		}
	}

	struct otelp_span *s = otelp__db_start(span_name, nl, 0);
	if (!s)
		return text;
	call->span = s;
	if (st)
		server_attrs(s, &st->srv, st->attrs_read ? &st->set : NULL, &st->set_tries);
	else
		otelp__span_add_str_k(s, OTELP_KEY(DB_SYSTEM_NAME), "postgresql", 10);
	if (operation)
		otelp__span_add_str_k(s, OTELP_KEY(DB_OPERATION_NAME), operation,
		                      strlen(operation));
	if (sanitize)
		otelp__db_text(s, clean, clean_len);
	else if (sql && otelp__cfg.db_query_text != OTELP_DB_TEXT_OFF)
		otelp__db_text(s, sql, sql_len);
	if (sum_len)
		otelp__span_add_str_k(s, OTELP_KEY(DB_QUERY_SUMMARY), summary, sum_len);
	if (name && name[0] && op != OTELP_PQ_QUERY && op != OTELP_PQ_PARAMS)
		otelp__span_add_str(s,
		                    op == OTELP_PQ_DESCRIBE_PORTAL
		                        ? "otelpreload.db.portal_name"
		                        : "otelpreload.db.statement_name",
		                    name, strlen(name));
	if (op == OTELP_PQ_PARAMS || op == OTELP_PQ_PREPARE || op == OTELP_PQ_EXEC_PREPARED)
		otelp__span_add_int_k(s, OTELP_KEY(OTELPRELOAD_DB_PARAMETER_COUNT), nparams);

	/* SQL commenter: the span's traceparent in a comment the server logs. */
	size_t at, full;
	bool in_line;
	if (op == OTELP_PQ_QUERY && otelp__cfg.db_sqlcommenter && text &&
	    (full = strnlen(text, 65537)) <= 65536 &&
	    otelp__sql_comment_at(text, full, &at, &in_line)) {
		char *q = malloc(full + OTELP_TRACEPARENT_LEN + 32);
		if (q) {
			struct otelp_ctx ctx;
			otelp__span_ctx(s, &ctx);
			size_t k = 0;
			memcpy(q, text, at);
			k = at;
			if (in_line)
				q[k++] = '\n';
			memcpy(q + k, "/*traceparent='", 15);
			k += 15;
			otelp__traceparent_format(&ctx, q + k);
			k += OTELP_TRACEPARENT_LEN;
			memcpy(q + k, "'*/", 3);
			k += 3;
			memcpy(q + k, text + at, full - at);
			k += full - at;
			q[k] = 0;
			call->commented = q;
			return q;
		}
	}
	return text;
}

void otelp__pq_end(struct otelp_pq_call *call, PGconn *conn, PGresult *res)
{
	free(call->commented);
	call->commented = NULL;
	if (call->op == OTELP_PQ_PREPARE && res && api.rstatus(res) == PGRES_COMMAND_OK)
		stmt_remember(call->conn, call->name, call->text);
	if (!call->span)
		return;
	struct pending p = {0};
	apply_result(call->span, conn, res, &p);
	finish(call->span, &p);
	call->span = NULL;
}

void otelp__pq_sent(struct otelp_pq_call *call, PGconn *conn, int ok)
{
	free(call->commented);
	call->commented = NULL;
	struct otelp_span *s = call->span;
	call->span = NULL;
	if (!ok) {
		if (s) {
			set_error(s, "_OTHER", false, api.errmsg(conn));
			otelp__db_end(s);
		}
		return;
	}
	struct otelp_pq_conn *st = call->conn;
	if (call->op == OTELP_PQ_PREPARE)
		stmt_remember(st, call->name, call->text);
	if (!st || st->lost || st->n == PENDING_MAX) {
		if (st && !st->lost && st->n == PENDING_MAX) {
			st->lost = true;
			OTELP_DBG("libpq: more than %d queries in flight on one connection: not "
			          "followed until they are answered",
			          PENDING_MAX);
		}
		if (s)
			otelp__db_discard(s); /* its results cannot be followed */
		return;
	}
	struct pending *p = &st->q[(st->head + st->n) % PENDING_MAX];
	memset(p, 0, sizeof(*p));
	p->span = s ? otelp__span_handle(s) : 0;
	st->n++;
}

void otelp__pq_sync_sent(PGconn *conn, int ok)
{
	struct otelp_pq_conn *st = conn_get(conn, false);
	if (!ok || !st || st->lost)
		return;
	if (st->n == PENDING_MAX) {
		st->lost = true;
		return;
	}
	struct pending *p = &st->q[(st->head + st->n) % PENDING_MAX];
	memset(p, 0, sizeof(*p));
	p->sync = true;
	st->n++;
}

static void pop(struct otelp_pq_conn *st)
{
	st->head = (st->head + 1) % PENDING_MAX;
	st->n--;
}

void otelp__pq_result(PGconn *conn, PGresult *res)
{
	struct otelp_pq_conn *st = conn_get(conn, false);
	if (!st || st->n == 0) {
		if (st && st->lost && !res)
			st->lost = false;
		return;
	}
	if (st->lost)
		return;
	if (res && api.rstatus(res) == PGRES_PIPELINE_SYNC) {
		/* Queries still queued before the marker got no results of their own. */
		while (st->n && !st->q[st->head].sync) {
			struct pending *p = &st->q[st->head];
			struct otelp_span *s = p->span ? otelp__span_from_handle(p->span) : NULL;
			if (s) {
				set_error(s, "pipeline_aborted", false,
				          "no result before the sync point");
				finish(s, p);
			}
			pop(st);
		}
		if (st->n)
			pop(st); /* the marker */
		return;
	}
	struct pending *p = &st->q[st->head];
	if (p->sync)
		return; /* a result with no query waiting for it: not ours to judge */
	struct otelp_span *s = p->span ? otelp__span_from_handle(p->span) : NULL;
	if (res) {
		if (s)
			apply_result(s, conn, res, p);
		return;
	}
	/* NULL: this query's results are complete. */
	if (s)
		finish(s, p);
	pop(st);
}

/* ---- connections ---- */

static void connect_failed(PGconn *conn, uint64_t start_ns)
{
	struct otelp_span *s = otelp__db_start("CONNECT", 7, start_ns);
	if (!s)
		return;
	if (conn) {
		struct pq_server sv;
		read_server(conn, &sv);
		sv.peer_len = 0; /* not connected: no peer */
		server_attrs(s, &sv, NULL, NULL);
	} else {
		otelp__span_add_str_k(s, OTELP_KEY(DB_SYSTEM_NAME), "postgresql", 10);
	}
	const char *msg = conn ? api.errmsg(conn) : "out of memory";
	/* libpq's message may span lines (one per address tried): keep the first. */
	size_t len = strcspn(msg, "\n");
	otelp__db_error(s, "connection_failed", 17, false, msg, len);
	otelp__db_end(s);
}

/*
 * conn was just made. State at its address belongs to a connection freed without our
 * PQfinish hook seeing it (the guard was held, or libpq freed it by a path we do not know):
 * it is not this connection's.
 */
static void conn_fresh(PGconn *conn)
{
	if (otelp_unlikely(slot_of(conn) < TAB_SIZE)) {
		OTELP_DBG("libpq: state left at %p by a connection not seen finishing: dropped",
		          (void *)conn);
		conn_drop(conn);
	}
}

void otelp__pq_connected(PGconn *conn, uint64_t start_ns)
{
	if (conn)
		conn_fresh(conn);
	if (!conn || api.status(conn) == CONNECTION_BAD)
		connect_failed(conn, start_ns);
}

void otelp__pq_connect_started(PGconn *conn, uint64_t start_ns)
{
	if (!conn)
		return;
	conn_fresh(conn);
	struct otelp_pq_conn *st = conn_get(conn, true);
	if (st)
		st->connect_start = start_ns;
	if (api.status(conn) == CONNECTION_BAD) {
		if (st)
			st->connect_reported = true;
		connect_failed(conn, start_ns);
	}
}

void otelp__pq_polled(PGconn *conn, PostgresPollingStatusType ps)
{
	if (ps != PGRES_POLLING_FAILED || !conn)
		return;
	struct otelp_pq_conn *st = conn_get(conn, false);
	if (st && st->connect_reported)
		return;
	if (st)
		st->connect_reported = true;
	connect_failed(conn, st ? st->connect_start : 0);
}
