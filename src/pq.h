/*
 * This file is private to otelpreload.
 *
 * PostgreSQL client spans from libpq (docs/databases.md is their specification). The hooks
 * in hooks/libpq.c call in here around each real libpq call; this file holds everything
 * else: the per-connection state, the span of each query, the queue of asynchronous and
 * pipelined queries waiting for their results, and the SQL commenter.
 *
 * DESIGN
 * ------
 * libpq is never linked: its headers give the types, and the few accessors we need
 * (PQdb, PQhost, PQresultStatus...) are resolved at first use from the libpq the program
 * loaded, wherever it is (shim.h, otelp__real_sym).
 *
 * Per-connection state (made at the connection's first traced call) sits in a lock-free
 * table keyed by the PGconn's address, as hiredis contexts do in redis.c; libpq allows one
 * thread at a time on a connection, so only that thread touches its entry. libpq is told
 * nothing: an event procedure (PQregisterEventProc) would have libpq copy its registration
 * into every PGresult it makes (a malloc, a strdup and their frees per result). Instead the
 * hooks of PQfinish, PQreset and PQresetStart end the spans still waiting on the connection
 * and drop its state before libpq frees the PGconn or restarts its session (the address may
 * be reused by the next connection at once); the connect hooks drop any state still found at
 * a new connection's address.
 *
 * Synchronous calls (PQexec...) make one span around the real call. Asynchronous ones
 * (PQsend*) start a span and queue it on the connection; PQgetResult hands each result to
 * the query at the head of the queue and ends its span at the NULL that closes its results.
 * A PQpipelineSync queues a marker that its PGRES_PIPELINE_SYNC result removes.
 */
#ifndef OTELP_PQ_H
#define OTELP_PQ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "span.h"

enum otelp_pq_op {
	OTELP_PQ_QUERY,           /* PQexec, PQsendQuery: plain text */
	OTELP_PQ_PARAMS,          /* PQexecParams, PQsendQueryParams */
	OTELP_PQ_PREPARE,         /* PQprepare, PQsendPrepare */
	OTELP_PQ_EXEC_PREPARED,   /* PQexecPrepared, PQsendQueryPrepared */
	OTELP_PQ_DESCRIBE_STMT,   /* PQdescribePrepared, PQsendDescribePrepared */
	OTELP_PQ_DESCRIBE_PORTAL, /* PQdescribePortal, PQsendDescribePortal */
};

struct otelp_pq_conn; /* a connection's state (pq.c) */

/* One call being traced (on the hook's stack). */
struct otelp_pq_call {
	struct otelp_span *span; /* NULL: not traced */
	enum otelp_pq_op op;
	const char *text;           /* statement text (QUERY, PARAMS, PREPARE) */
	const char *name;           /* statement or portal name */
	char *commented;            /* the statement with its SQL comment (malloc'ed), or NULL */
	struct otelp_pq_conn *conn; /* the connection's state, or NULL */
};

/* Is the libpq instrumentation on (configuration, and libpq's accessors found)? */
bool otelp__pq_on(void);

/*
 * Before the real call: start the span. Returns the statement to send: text, or, with
 * OTEL_PRELOAD_DB_SQLCOMMENTER, a copy carrying the span's traceparent comment.
 */
const char *otelp__pq_begin(struct otelp_pq_call *call, PGconn *conn, enum otelp_pq_op op,
                            const char *text, const char *name, int nparams);
/* After a synchronous call: its result (NULL: failed without a result). */
void otelp__pq_end(struct otelp_pq_call *call, PGconn *conn, PGresult *res);
/* After a PQsend* call: ok is its return value; on success the span waits for its results. */
void otelp__pq_sent(struct otelp_pq_call *call, PGconn *conn, int ok);
/* After PQgetResult returned res. */
void otelp__pq_result(PGconn *conn, PGresult *res);
/* After PQpipelineSync returned ok. */
void otelp__pq_sync_sent(PGconn *conn, int ok);

/*
 * Connections: a blocking connect call (or PQreset) returned conn, started at start_ns; a
 * failed one is an error span.
 */
void otelp__pq_connected(PGconn *conn, uint64_t start_ns);
/* PQconnectStart* (or PQresetStart): conn started at start_ns. */
void otelp__pq_connect_started(PGconn *conn, uint64_t start_ns);
/* PQconnectPoll (or PQresetPoll) returned st. */
void otelp__pq_polled(PGconn *conn, PostgresPollingStatusType st);
/*
 * Before PQfinish frees conn, or PQreset/PQresetStart restart its session: the spans still
 * waiting for results end with error.type connection_closed, and its state is dropped.
 * Needs nothing of libpq's (works before the accessors are resolved).
 */
void otelp__pq_closing(PGconn *conn);

#endif
