/*
 * libpq hooks: PostgreSQL queries, asynchronous and pipelined ones included, and failed
 * connections. Compiled against libpq's headers only; the real functions are found in the
 * libpq the program loaded (hook.h). Everything but the call itself is in src/pq.c.
 *
 * PQfinish, PQreset, PQresetStart and PQresetPoll are hooked too: src/pq.c keeps its state per
 * connection itself and must hear when a connection goes away or restarts its session.
 */
#include <libpq-fe.h>

#include "hook.h"
#include "pq.h"

/* A synchronous call returning a result: one span around it. */
#define PQ_SYNC(name, op, text, stmt, nparams, params, args, real_args)                 \
	OTELP_HOOK(PGresult *, name, NULL, params, args)                                \
	{                                                                               \
		if (!otelp__pq_on())                                                    \
			return OTELP_REAL(name) args;                                   \
		struct otelp_pq_call call;                                              \
		const char *q_ = otelp__pq_begin(&call, conn, op, text, stmt, nparams); \
		(void)q_;                                                               \
		PGresult *r = OTELP_REAL(name) real_args;                               \
		OTELP_SAVE_ERRNO(otelp__pq_end(&call, conn, r));                        \
		return r;                                                               \
	}

/* An asynchronous send: the span waits for its results (PQgetResult). */
#define PQ_SEND(name, op, text, stmt, nparams, params, args, real_args)                 \
	OTELP_HOOK(int, name, 0, params, args)                                          \
	{                                                                               \
		if (!otelp__pq_on())                                                    \
			return OTELP_REAL(name) args;                                   \
		struct otelp_pq_call call;                                              \
		const char *q_ = otelp__pq_begin(&call, conn, op, text, stmt, nparams); \
		(void)q_;                                                               \
		int ok = OTELP_REAL(name) real_args;                                    \
		OTELP_SAVE_ERRNO(otelp__pq_sent(&call, conn, ok));                      \
		return ok;                                                              \
	}

PQ_SYNC(PQexec, OTELP_PQ_QUERY, query, NULL, 0, (PGconn * conn, const char *query), (conn, query),
        (conn, q_))
PQ_SYNC(PQexecParams, OTELP_PQ_PARAMS, command, NULL, nParams,
        (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
         const char *const *paramValues, const int *paramLengths, const int *paramFormats,
         int resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
PQ_SYNC(PQprepare, OTELP_PQ_PREPARE, query, stmtName, nParams,
        (PGconn * conn, const char *stmtName, const char *query, int nParams,
         const Oid *paramTypes),
        (conn, stmtName, query, nParams, paramTypes), (conn, stmtName, query, nParams, paramTypes))
PQ_SYNC(PQexecPrepared, OTELP_PQ_EXEC_PREPARED, NULL, stmtName, nParams,
        (PGconn * conn, const char *stmtName, int nParams, const char *const *paramValues,
         const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
PQ_SYNC(PQdescribePrepared, OTELP_PQ_DESCRIBE_STMT, NULL, stmt, 0,
        (PGconn * conn, const char *stmt), (conn, stmt), (conn, stmt))
PQ_SYNC(PQdescribePortal, OTELP_PQ_DESCRIBE_PORTAL, NULL, portal, 0,
        (PGconn * conn, const char *portal), (conn, portal), (conn, portal))

PQ_SEND(PQsendQuery, OTELP_PQ_QUERY, query, NULL, 0, (PGconn * conn, const char *query),
        (conn, query), (conn, q_))
PQ_SEND(PQsendQueryParams, OTELP_PQ_PARAMS, command, NULL, nParams,
        (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
         const char *const *paramValues, const int *paramLengths, const int *paramFormats,
         int resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
PQ_SEND(PQsendPrepare, OTELP_PQ_PREPARE, query, stmtName, nParams,
        (PGconn * conn, const char *stmtName, const char *query, int nParams,
         const Oid *paramTypes),
        (conn, stmtName, query, nParams, paramTypes), (conn, stmtName, query, nParams, paramTypes))
PQ_SEND(PQsendQueryPrepared, OTELP_PQ_EXEC_PREPARED, NULL, stmtName, nParams,
        (PGconn * conn, const char *stmtName, int nParams, const char *const *paramValues,
         const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
PQ_SEND(PQsendDescribePrepared, OTELP_PQ_DESCRIBE_STMT, NULL, stmt, 0,
        (PGconn * conn, const char *stmt), (conn, stmt), (conn, stmt))
PQ_SEND(PQsendDescribePortal, OTELP_PQ_DESCRIBE_PORTAL, NULL, portal, 0,
        (PGconn * conn, const char *portal), (conn, portal), (conn, portal))

OTELP_HOOK(PGresult *, PQgetResult, NULL, (PGconn * conn), (conn))
{
	PGresult *r = OTELP_REAL(PQgetResult)(conn);
	if (otelp__pq_on())
		OTELP_SAVE_ERRNO(otelp__pq_result(conn, r));
	return r;
}

OTELP_HOOK(int, PQpipelineSync, 0, (PGconn * conn), (conn))
{
	int ok = OTELP_REAL(PQpipelineSync)(conn);
	if (otelp__pq_on())
		OTELP_SAVE_ERRNO(otelp__pq_sync_sent(conn, ok));
	return ok;
}

/* Blocking connects: a failed one is an error span. */
#define PQ_CONNECT(name, params, args)                           \
	OTELP_HOOK(PGconn *, name, NULL, params, args)           \
	{                                                        \
		if (!otelp__pq_on())                             \
			return OTELP_REAL(name) args;            \
		uint64_t t0 = otelp__now_ns();                   \
		PGconn *conn = OTELP_REAL(name) args;            \
		OTELP_SAVE_ERRNO(otelp__pq_connected(conn, t0)); \
		return conn;                                     \
	}

PQ_CONNECT(PQconnectdb, (const char *conninfo), (conninfo))
PQ_CONNECT(PQconnectdbParams,
           (const char *const *keywords, const char *const *values, int expand_dbname),
           (keywords, values, expand_dbname))
PQ_CONNECT(PQsetdbLogin,
           (const char *pghost, const char *pgport, const char *pgoptions, const char *pgtty,
            const char *dbName, const char *login, const char *pwd),
           (pghost, pgport, pgoptions, pgtty, dbName, login, pwd))

/* Non-blocking connects: the span (on failure) covers PQconnectStart to the last poll. */
#define PQ_CONNECT_START(name, params, args)                           \
	OTELP_HOOK(PGconn *, name, NULL, params, args)                 \
	{                                                              \
		if (!otelp__pq_on())                                   \
			return OTELP_REAL(name) args;                  \
		uint64_t t0 = otelp__now_ns();                         \
		PGconn *conn = OTELP_REAL(name) args;                  \
		OTELP_SAVE_ERRNO(otelp__pq_connect_started(conn, t0)); \
		return conn;                                           \
	}

PQ_CONNECT_START(PQconnectStart, (const char *conninfo), (conninfo))
PQ_CONNECT_START(PQconnectStartParams,
                 (const char *const *keywords, const char *const *values, int expand_dbname),
                 (keywords, values, expand_dbname))

OTELP_HOOK(PostgresPollingStatusType, PQconnectPoll, PGRES_POLLING_FAILED, (PGconn * conn), (conn))
{
	PostgresPollingStatusType st = OTELP_REAL(PQconnectPoll)(conn);
	if (otelp__pq_on())
		OTELP_SAVE_ERRNO(otelp__pq_polled(conn, st));
	return st;
}

/*
 * The end of a connection: its waiting spans end and its state goes before libpq frees the
 * PGconn, whose address the next connection may get at once. The real call runs outside the
 * guard, as it would without us (it closes the socket: our close hook must see that).
 */
OTELP_REAL_SLOT(PQfinish);
OTELP_EXPORT void PQfinish(PGconn *conn)
{
	if (otelp_unlikely(!otelp__resolve(&real_PQfinish, "PQfinish", (void *)PQfinish)))
		return;
	if (conn && otelp__is_on() && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__pq_closing(conn));
		otelp__guard_leave();
	}
	OTELP_REAL(PQfinish)(conn);
}

/*
 * A reset closes the session and connects again on the same PGconn: what waited on the old
 * session ends as on PQfinish, and a reconnection that fails is a failed connection. The
 * guard is held through the real call, as for the connect calls, so that libpq's own
 * PQconnectPoll inside it passes through.
 */
OTELP_REAL_SLOT(PQreset);
OTELP_EXPORT void PQreset(PGconn *conn)
{
	if (otelp_unlikely(!otelp__resolve(&real_PQreset, "PQreset", (void *)PQreset)))
		return;
	if (!conn || !otelp__is_on() || !otelp__guard_enter()) {
		OTELP_REAL(PQreset)(conn);
		return;
	}
	OTELP_SAVE_ERRNO(otelp__pq_closing(conn));
	if (!otelp__pq_on()) {
		OTELP_REAL(PQreset)(conn);
	} else {
		uint64_t t0 = otelp__now_ns();
		OTELP_REAL(PQreset)(conn);
		OTELP_SAVE_ERRNO(otelp__pq_connected(conn, t0));
	}
	otelp__guard_leave();
}

OTELP_HOOK(int, PQresetStart, 0, (PGconn * conn), (conn))
{
	if (conn)
		OTELP_SAVE_ERRNO(otelp__pq_closing(conn));
	if (!conn || !otelp__pq_on())
		return OTELP_REAL(PQresetStart)(conn);
	uint64_t t0 = otelp__now_ns();
	int ok = OTELP_REAL(PQresetStart)(conn);
	OTELP_SAVE_ERRNO(otelp__pq_connect_started(conn, t0));
	return ok;
}

OTELP_HOOK(PostgresPollingStatusType, PQresetPoll, PGRES_POLLING_FAILED, (PGconn * conn), (conn))
{
	PostgresPollingStatusType st = OTELP_REAL(PQresetPoll)(conn);
	if (otelp__pq_on())
		OTELP_SAVE_ERRNO(otelp__pq_polled(conn, st));
	return st;
}

/* For dlsym(handle, "PQexec") (hooks/dl.c). */
#define E(name)                                   \
	{                                         \
#name, (void *)name, &real_##name \
	}
const struct otelp_hook_entry otelp__libpq_hooks[] = {
    E(PQexec),
    E(PQexecParams),
    E(PQprepare),
    E(PQexecPrepared),
    E(PQdescribePrepared),
    E(PQdescribePortal),
    E(PQsendQuery),
    E(PQsendQueryParams),
    E(PQsendPrepare),
    E(PQsendQueryPrepared),
    E(PQsendDescribePrepared),
    E(PQsendDescribePortal),
    E(PQgetResult),
    E(PQpipelineSync),
    E(PQconnectdb),
    E(PQconnectdbParams),
    E(PQsetdbLogin),
    E(PQconnectStart),
    E(PQconnectStartParams),
    E(PQconnectPoll),
    E(PQfinish),
    E(PQreset),
    E(PQresetStart),
    E(PQresetPoll),
};
#undef E
const unsigned otelp__libpq_nhooks = sizeof(otelp__libpq_hooks) / sizeof(otelp__libpq_hooks[0]);
