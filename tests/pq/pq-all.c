/*
 * pq-all: exercises every libpq entry point of docs/databases.md against a real server, for
 * tests/pq/test_libpq.py. Linked with libpq; run with and without the preload, its output must
 * be the same.
 *
 * Usage: pq-all SUBCOMMAND [ARG]
 *   setup                  (re)create the table otelp_items: (1 one) (2 two) (3 three)
 *   exec                   PQexec: SELECT/INSERT/UPDATE/DELETE with literals, SELECT 1
 *   params                 PQexecParams
 *   prepared               PQprepare (named, unnamed) + PQexecPrepared
 *   prepared-sql           PREPARE by SQL (text unknown to libpq) + PQexecPrepared, also
 *                          when another connection PQprepare'd the name, and on a new
 *                          connection after one that had prepared the name was finished
 *   describe               PQdescribePrepared, PQdescribePortal (cursor in a transaction),
 *                          PQsendDescribePrepared, PQsendDescribePortal
 *   async                  PQsendQuery / PQsendQueryParams / PQsendPrepare /
 *                          PQsendQueryPrepared + PQgetResult until NULL, "SELECT 1; SELECT 2",
 *                          two connections interleaved, "SELECT 1; SELECT 1/0"
 *   pipeline               pipeline mode: 2 PQsendQueryParams, PQsendPrepare,
 *                          PQsendQueryPrepared, PQpipelineSync; a second batch (one query,
 *                          PQpipelineSync) sent before reading
 *   pipeline-abort         pipeline: ok, division by zero, aborted; sync; a second batch
 *   connect                PQconnectdb, PQconnectdbParams, PQsetdbLogin, PQconnectStart and
 *                          PQconnectStartParams + PQconnectPoll; one query on each
 *   connect-fail PORT      PQconnectdbParams to 127.0.0.1:PORT (nothing listening)
 *   connect-fail-async PORT  PQconnectStartParams + PQconnectPoll to 127.0.0.1:PORT
 *   unix                   a connection on the Unix socket in $PGSOCKDIR, one query
 *   errors                 syntax error (42601), unique violation (23505), division by zero
 *                          with parameters (22012), then one successful query
 *   finish-pending         PQsendQuery then PQfinish without reading the result
 *   reset                  PQsendQuery then PQreset without reading the result, a query;
 *                          the same with PQresetStart + PQresetPoll
 *   reset-fail             PQreset of a connection whose database was dropped meanwhile
 *                          (DROP DATABASE otelp_gone WITH (FORCE)), with a query in flight
 *   createdb NAME          create the database NAME unless it exists
 *   cycles N [T]           N connections (on each of T threads, default 1), each
 *                          connected, queried and finished in turn, alternately to
 *                          $PGDATABASE and to otelp_other (made by createdb), by PQconnectdb /
 *                          PQconnectdbParams / PQconnectStartParams; every tenth finished
 *                          with a query in flight. With PQALL_ADDRESSES set, also prints how
 *                          many distinct PGconn addresses there were
 *   send-fail              a PQsendQuery that fails (another query in progress)
 *   lost                   the server ends the session: a failed query, then PQexec on the
 *                          dead connection (no result)
 *   manual                 queries inside a manual span of the public API (otelpreload.h)
 *   commenter              statements for the SQL commenter (final ';', quotes, comment,
 *                          > 64 KiB, parameterized)
 *   rows                   SELECTs returning 0, 1 and 3 rows, several results, single-row
 *                          mode
 *   nulls                  NULL connection, NULL statement text and names (libpq refuses
 *                          them), then one query
 *   threads N M            N threads, each on its own connection, M queries each
 *                          (PQexecParams and PQsendQuery alternately)
 *   loop N                 N times PQexecParams "SELECT $1::int"
 *
 * The connection: PQconnectdb($PQALL_CONNINFO, default ""), i.e. the PG* environment
 * variables of scripts/pg.sh's DIR/env. Every query prints one line: what was called, the
 * result status, the rows (or the SQLSTATE and the primary error message). Notices are not
 * printed. Exit status 0 unless something unexpected happened (then a message on stderr).
 */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otelpreload.h"

static const char *conninfo;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pq-all: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void no_notice(void *arg, const char *message)
{
}

/* The error message on one line. */
static void print_oneline(const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\n') {
			if (s[1])
				fputs(" | ", stdout);
		} else {
			putchar(*s);
		}
	}
}

static PGconn *checked(PGconn *c, const char *how)
{
	if (!c)
		die("%s: out of memory", how);
	if (PQstatus(c) != CONNECTION_OK)
		die("%s: %s", how, PQerrorMessage(c));
	PQsetNoticeProcessor(c, no_notice, NULL);
	return c;
}

static PGconn *connect_default(void)
{
	return checked(PQconnectdb(conninfo), "PQconnectdb");
}

/* One line for a result: "<label>: <status> rows=<n> [v,v|v,v]" or "... <sqlstate> <msg>". */
static void print_result(const char *label, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	printf("%s: %s", label, PQresStatus(st));
	if (st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) {
		printf(" rows=%d [", PQntuples(r));
		for (int i = 0; i < PQntuples(r); i++) {
			for (int j = 0; j < PQnfields(r); j++) {
				printf("%s%s", j ? "," : (i ? "|" : ""),
				       PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
			}
		}
		putchar(']');
	} else if (st == PGRES_COMMAND_OK) {
		printf(" %s", PQcmdStatus(r));
	} else if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) {
		const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		printf(" %s ", code ? code : "-");
		if (msg)
			fputs(msg, stdout);
		else /* made by libpq (connection lost...): no fields, only the whole message */
			print_oneline(PQresultErrorMessage(r));
	}
	putchar('\n');
}

/* print_result, then PQclear. */
static void done(const char *label, PGresult *r)
{
	if (!r) {
		printf("%s: no result\n", label);
		return;
	}
	print_result(label, r);
	PQclear(r);
}

/* Results of an asynchronous query until PQgetResult gives NULL: "<label> #i: ...". */
static void drain(PGconn *c, const char *label)
{
	PGresult *r;
	char l[256];
	int i = 0;

	while ((r = PQgetResult(c)) != NULL) {
		snprintf(l, sizeof(l), "%s #%d", label, ++i);
		done(l, r);
	}
	printf("%s: end after %d result(s)\n", label, i);
}

static void must_send(int ok, PGconn *c, const char *what)
{
	if (!ok)
		die("%s failed: %s", what, PQerrorMessage(c));
}

/* ---- subcommands ---- */

static void cmd_setup(void)
{
	PGconn *c = connect_default();

	done("setup",
	     PQexec(c, "DROP TABLE IF EXISTS otelp_items; "
	               "CREATE TABLE otelp_items (id int PRIMARY KEY, name text NOT NULL); "
	               "INSERT INTO otelp_items (id, name) VALUES "
	               "(1, 'one'), (2, 'two'), (3, 'three')"));
	PQfinish(c);
}

static void cmd_exec(void)
{
	PGconn *c = connect_default();

	done("exec select", PQexec(c, "SELECT id, name FROM otelp_items WHERE id = 1 AND "
	                              "name = 'one'"));
	done("exec insert", PQexec(c, "INSERT INTO otelp_items (id, name) VALUES (10, 'ten')"));
	done("exec update", PQexec(c, "UPDATE otelp_items SET name = 'TEN' WHERE id = 10"));
	done("exec delete", PQexec(c, "DELETE FROM otelp_items WHERE id = 10"));
	done("exec select 1", PQexec(c, "SELECT 1"));
	PQfinish(c);
}

static void cmd_params(void)
{
	PGconn *c = connect_default();
	const char *p1[] = {"1", "one"};
	const char *p2[] = {"11", "eleven"};
	const char *p3[] = {"11"};

	done("params select",
	     PQexecParams(c, "SELECT id, name FROM otelp_items WHERE id = $1 AND name = $2", 2,
	                  NULL, p1, NULL, NULL, 0));
	done("params insert", PQexecParams(c, "INSERT INTO otelp_items (id, name) VALUES ($1, $2)",
	                                   2, NULL, p2, NULL, NULL, 0));
	done("params delete",
	     PQexecParams(c, "DELETE FROM otelp_items WHERE id = $1", 1, NULL, p3, NULL, NULL, 0));
	PQfinish(c);
}

static void cmd_prepared(void)
{
	PGconn *c = connect_default();
	const char *two[] = {"2"};
	const char *three[] = {"3"};
	const char *one[] = {"one"};

	done("prepare get_item",
	     PQprepare(c, "get_item", "SELECT name FROM otelp_items WHERE id = $1", 1, NULL));
	done("execute get_item 2", PQexecPrepared(c, "get_item", 1, two, NULL, NULL, 0));
	done("execute get_item 3", PQexecPrepared(c, "get_item", 1, three, NULL, NULL, 0));
	done("prepare unnamed",
	     PQprepare(c, "", "SELECT id FROM otelp_items WHERE name = $1", 1, NULL));
	done("execute unnamed", PQexecPrepared(c, "", 1, one, NULL, NULL, 0));
	PQfinish(c);
}

/*
 * Statements libpq did not prepare on this connection: PREPARE sent as SQL, while another
 * connection prepared the same name with PQprepare; then, after PQfinish of a connection
 * that had prepared a name, a new connection (often at the same address) PREPAREs it by SQL.
 */
static void cmd_prepared_sql(void)
{
	PGconn *c = connect_default();
	PGconn *other = connect_default();
	const char *one[] = {"1"};

	done("other prepare sql_prep",
	     PQprepare(other, "sql_prep", "SELECT id FROM otelp_items WHERE id = $1", 1, NULL));
	done("sql prepare",
	     PQexec(c, "PREPARE sql_prep (int) AS SELECT name FROM otelp_items WHERE id = $1"));
	done("execute sql_prep", PQexecPrepared(c, "sql_prep", 1, one, NULL, NULL, 0));
	done("other execute sql_prep", PQexecPrepared(other, "sql_prep", 1, one, NULL, NULL, 0));
	PQfinish(other);
	PQfinish(c);

	c = connect_default();
	done("prepare reused",
	     PQprepare(c, "reused", "SELECT id FROM otelp_items WHERE id = $1", 1, NULL));
	PQfinish(c);
	c = connect_default();
	done("sql prepare reused",
	     PQexec(c, "PREPARE reused (int) AS SELECT name FROM otelp_items WHERE id = $1"));
	done("execute reused", PQexecPrepared(c, "reused", 1, one, NULL, NULL, 0));
	PQfinish(c);
}

static void print_description(const char *label, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		done(label, r);
		return;
	}
	printf("%s: %s nparams=%d nfields=%d", label, PQresStatus(PQresultStatus(r)), PQnparams(r),
	       PQnfields(r));
	for (int i = 0; i < PQnfields(r); i++)
		printf(" %s", PQfname(r, i));
	putchar('\n');
	PQclear(r);
}

static void cmd_describe(void)
{
	PGconn *c = connect_default();

	done("prepare desc_stmt",
	     PQprepare(c, "desc_stmt", "SELECT id, name FROM otelp_items WHERE id = $1", 1, NULL));
	print_description("describe desc_stmt", PQdescribePrepared(c, "desc_stmt"));
	done("begin", PQexec(c, "BEGIN"));
	done("declare", PQexec(c, "DECLARE otelp_cur CURSOR FOR SELECT id, name FROM otelp_items "
	                          "ORDER BY id"));
	print_description("describe otelp_cur", PQdescribePortal(c, "otelp_cur"));
	must_send(PQsendDescribePrepared(c, "desc_stmt"), c, "PQsendDescribePrepared");
	print_description("send describe desc_stmt", PQgetResult(c));
	if (PQgetResult(c))
		die("PQsendDescribePrepared: more than one result");
	must_send(PQsendDescribePortal(c, "otelp_cur"), c, "PQsendDescribePortal");
	print_description("send describe otelp_cur", PQgetResult(c));
	if (PQgetResult(c))
		die("PQsendDescribePortal: more than one result");
	done("commit", PQexec(c, "COMMIT"));
	PQfinish(c);
}

/* PQsendQuery read the event-loop way: PQconsumeInput + PQisBusy on poll(). */
static void drain_nonblocking(PGconn *c, const char *label)
{
	PGresult *r;
	char l[256];
	int i = 0;

	for (;;) {
		while (PQisBusy(c)) {
			struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};

			if (poll(&p, 1, 10000) <= 0)
				die("%s: poll timed out", label);
			if (!PQconsumeInput(c))
				die("%s: %s", label, PQerrorMessage(c));
		}
		r = PQgetResult(c);
		if (!r)
			break;
		snprintf(l, sizeof(l), "%s #%d", label, ++i);
		done(l, r);
	}
	printf("%s: end after %d result(s)\n", label, i);
}

/* A query whose second result fails; the results are read here (frame #0 of the trace). */
__attribute__((noinline)) void run_async_division(PGconn *c);
__attribute__((noinline)) void run_async_division(PGconn *c)
{
	PGresult *r;
	int i = 0;

	must_send(PQsendQuery(c, "SELECT 1; SELECT 1/0"), c, "PQsendQuery");
	while ((r = PQgetResult(c)) != NULL) {
		char l[64];

		snprintf(l, sizeof(l), "async division #%d", ++i);
		done(l, r);
	}
	printf("async division: end after %d result(s)\n", i);
}

static void cmd_async(void)
{
	PGconn *c = connect_default();
	const char *one[] = {"1"};
	const char *two[] = {"two"};

	must_send(PQsendQuery(c, "SELECT name FROM otelp_items WHERE id = 3"), c, "PQsendQuery");
	drain_nonblocking(c, "async query");
	must_send(PQsendQueryParams(c, "SELECT name FROM otelp_items WHERE id = $1", 1, NULL, one,
	                            NULL, NULL, 0),
	          c, "PQsendQueryParams");
	drain(c, "async params");
	must_send(
	    PQsendPrepare(c, "async_stmt", "SELECT id FROM otelp_items WHERE name = $1", 1, NULL),
	    c, "PQsendPrepare");
	drain(c, "async prepare");
	must_send(PQsendQueryPrepared(c, "async_stmt", 1, two, NULL, NULL, 0), c,
	          "PQsendQueryPrepared");
	drain(c, "async prepared");
	must_send(PQsendQuery(c, "SELECT 1; SELECT 2"), c, "PQsendQuery");
	drain(c, "async multi");

	/* Two connections, each with a query in flight; read in the reverse order. */
	PGconn *d = connect_default();

	must_send(PQsendQuery(c, "SELECT 'first' AS conn"), c, "PQsendQuery");
	must_send(PQsendQuery(d, "SELECT 'second' AS conn"), d, "PQsendQuery");
	drain(d, "async second");
	drain(c, "async first");
	PQfinish(d);

	run_async_division(c);
	PQfinish(c);
}

/* Read a pipeline's results: n queries (each until NULL), then the sync. */
__attribute__((noinline)) void read_pipeline_results(PGconn *c, const char *label, int n);
__attribute__((noinline)) void read_pipeline_results(PGconn *c, const char *label, int n)
{
	char l[128];

	for (int q = 1; q <= n; q++) {
		snprintf(l, sizeof(l), "%s query %d", label, q);
		drain(c, l);
	}
	PGresult *r = PQgetResult(c);

	snprintf(l, sizeof(l), "%s sync", label);
	if (!r)
		die("%s: no PGRES_PIPELINE_SYNC", l);
	done(l, r);
}

static void cmd_pipeline(void)
{
	PGconn *c = connect_default();
	const char *one[] = {"1"};
	const char *two[] = {"2"};
	const char *three[] = {"three"};

	if (!PQenterPipelineMode(c))
		die("PQenterPipelineMode: %s", PQerrorMessage(c));
	must_send(PQsendQueryParams(c, "SELECT $1::int + 1 AS n", 1, NULL, one, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	must_send(PQsendQueryParams(c, "SELECT name FROM otelp_items WHERE id = $1", 1, NULL, two,
	                            NULL, NULL, 0),
	          c, "PQsendQueryParams");
	must_send(
	    PQsendPrepare(c, "pipe_stmt", "SELECT id FROM otelp_items WHERE name = $1", 1, NULL), c,
	    "PQsendPrepare");
	must_send(PQsendQueryPrepared(c, "pipe_stmt", 1, three, NULL, NULL, 0), c,
	          "PQsendQueryPrepared");
	if (!PQpipelineSync(c))
		die("PQpipelineSync: %s", PQerrorMessage(c));
	/* A second batch sent before anything of the first is read. */
	must_send(PQsendQueryParams(c, "SELECT $1::int * 10 AS n", 1, NULL, two, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	if (!PQpipelineSync(c))
		die("PQpipelineSync: %s", PQerrorMessage(c));
	read_pipeline_results(c, "pipeline", 4);
	read_pipeline_results(c, "pipeline batch 2", 1);
	if (!PQexitPipelineMode(c))
		die("PQexitPipelineMode: %s", PQerrorMessage(c));
	printf("pipeline: exited\n");
	PQfinish(c);
}

static void cmd_pipeline_abort(void)
{
	PGconn *c = connect_default();
	const char *one[] = {"1"};
	const char *zero[] = {"0"};
	const char *three[] = {"3"};

	if (!PQenterPipelineMode(c))
		die("PQenterPipelineMode: %s", PQerrorMessage(c));
	must_send(PQsendQueryParams(c, "SELECT $1::int AS n", 1, NULL, one, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	must_send(PQsendQueryParams(c, "SELECT 10 / $1::int AS n", 1, NULL, zero, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	must_send(PQsendQueryParams(c, "SELECT $1::int + 2 AS n", 1, NULL, three, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	if (!PQpipelineSync(c))
		die("PQpipelineSync: %s", PQerrorMessage(c));
	/* After the sync, a new batch runs again. */
	must_send(PQsendQueryParams(c, "SELECT $1::int AS n", 1, NULL, three, NULL, NULL, 0), c,
	          "PQsendQueryParams");
	if (!PQpipelineSync(c))
		die("PQpipelineSync: %s", PQerrorMessage(c));
	read_pipeline_results(c, "pipeline-abort", 3);
	read_pipeline_results(c, "pipeline-abort batch 2", 1);
	if (!PQexitPipelineMode(c))
		die("PQexitPipelineMode: %s", PQerrorMessage(c));
	printf("pipeline-abort: exited\n");
	PQfinish(c);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Finish an asynchronous connection with PQconnectPoll on poll(); the final status. */
static ConnStatusType poll_connection(PGconn *c)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (!c)
		die("PQconnectStart: out of memory");
	if (PQstatus(c) == CONNECTION_BAD)
		return CONNECTION_BAD;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd p = {.fd = PQsocket(c),
		                   .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};

		if (poll(&p, 1, 10000) <= 0)
			die("PQconnectPoll: poll timed out");
		st = PQconnectPoll(c);
	}
	return PQstatus(c);
}

static void cmd_connect(void)
{
	const char *host = env_or("PGHOST", "127.0.0.1");
	const char *port = env_or("PGPORT", "5432");
	const char *db = env_or("PGDATABASE", "postgres");
	const char *user = env_or("PGUSER", "postgres");
	const char *keys[] = {"host", "port", "dbname", "user", NULL};
	const char *values[] = {host, port, db, user, NULL};
	PGconn *c;

	c = checked(PQconnectdb(conninfo), "PQconnectdb");
	done("PQconnectdb", PQexec(c, "SELECT current_user"));
	PQfinish(c);

	c = checked(PQconnectdbParams(keys, values, 0), "PQconnectdbParams");
	done("PQconnectdbParams", PQexec(c, "SELECT current_database()"));
	PQfinish(c);

	c = checked(PQsetdbLogin(host, port, NULL, NULL, db, user, NULL), "PQsetdbLogin");
	done("PQsetdbLogin", PQexec(c, "SELECT session_user"));
	PQfinish(c);

	c = PQconnectStart(conninfo);
	if (poll_connection(c) != CONNECTION_OK)
		die("PQconnectStart: %s", PQerrorMessage(c));
	checked(c, "PQconnectStart");
	done("PQconnectStart", PQexec(c, "SELECT current_schema()"));
	PQfinish(c);

	c = PQconnectStartParams(keys, values, 0);
	if (poll_connection(c) != CONNECTION_OK)
		die("PQconnectStartParams: %s", PQerrorMessage(c));
	checked(c, "PQconnectStartParams");
	done("PQconnectStartParams", PQexec(c, "SELECT pg_backend_pid() > 0"));
	PQfinish(c);
}

static void cmd_connect_fail(const char *port, int async)
{
	const char *keys[] = {"host", "port", "dbname", "user", "connect_timeout", NULL};
	const char *values[] = {"127.0.0.1", port, "postgres", "postgres", "5", NULL};
	const char *label = async ? "connect-fail-async" : "connect-fail";
	PGconn *c;
	ConnStatusType st;

	if (async) {
		c = PQconnectStartParams(keys, values, 0);
		st = poll_connection(c);
	} else {
		c = PQconnectdbParams(keys, values, 0);
		if (!c)
			die("PQconnectdbParams: out of memory");
		st = PQstatus(c);
	}
	printf("%s: %s: ", label, st == CONNECTION_BAD ? "CONNECTION_BAD" : "connected?!");
	print_oneline(PQerrorMessage(c));
	putchar('\n');
	PQfinish(c);
}

static void cmd_unix(void)
{
	const char *keys[] = {"host", "dbname", "user", NULL};
	const char *values[] = {getenv("PGSOCKDIR"), env_or("PGDATABASE", "postgres"),
	                        env_or("PGUSER", "postgres"), NULL};

	if (!values[0])
		die("PGSOCKDIR is not set");
	PGconn *c = checked(PQconnectdbParams(keys, values, 0), "PQconnectdbParams (socket)");

	done("unix", PQexec(c, "SELECT current_user"));
	PQfinish(c);
}

__attribute__((noinline)) void run_bad_syntax(PGconn *c);
__attribute__((noinline)) void run_bad_syntax(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT * FROM otelp_items WHERE");

	done("bad syntax", r);
}

__attribute__((noinline)) void run_duplicate_insert(PGconn *c);
__attribute__((noinline)) void run_duplicate_insert(PGconn *c)
{
	PGresult *r = PQexec(c, "INSERT INTO otelp_items (id, name) VALUES (1, 'dup')");

	done("duplicate insert", r);
}

__attribute__((noinline)) void run_params_division(PGconn *c);
__attribute__((noinline)) void run_params_division(PGconn *c)
{
	const char *zero[] = {"0"};
	PGresult *r = PQexecParams(c, "SELECT 10 / $1::int", 1, NULL, zero, NULL, NULL, 0);

	done("params division", r);
}

__attribute__((noinline)) void run_good_query(PGconn *c);
__attribute__((noinline)) void run_good_query(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT name FROM otelp_items WHERE id = 2");

	done("good query", r);
}

static void cmd_errors(void)
{
	PGconn *c = connect_default();

	run_bad_syntax(c);
	run_duplicate_insert(c);
	run_params_division(c);
	run_good_query(c);
	PQfinish(c);
}

static void cmd_finish_pending(void)
{
	PGconn *c = connect_default();

	must_send(PQsendQuery(c, "SELECT pg_sleep(0.2)"), c, "PQsendQuery");
	PQfinish(c);
	printf("finish-pending: finished with the query in flight\n");
}

/* Finish a reset started with PQresetStart, with PQresetPoll on poll(). */
static PostgresPollingStatusType poll_reset(PGconn *c)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd p = {.fd = PQsocket(c),
		                   .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};

		if (poll(&p, 1, 10000) <= 0)
			die("PQresetPoll: poll timed out");
		st = PQresetPoll(c);
	}
	return st;
}

static void cmd_reset(void)
{
	PGconn *c = connect_default();

	must_send(PQsendQuery(c, "SELECT pg_sleep(0.2) AS before_reset"), c, "PQsendQuery");
	PQreset(c);
	if (PQstatus(c) != CONNECTION_OK)
		die("PQreset: %s", PQerrorMessage(c));
	done("reset: after PQreset", PQexec(c, "SELECT current_database() AS after_reset"));
	must_send(PQsendQuery(c, "SELECT pg_sleep(0.2) AS before_reset_start"), c, "PQsendQuery");
	if (!PQresetStart(c))
		die("PQresetStart: %s", PQerrorMessage(c));
	if (poll_reset(c) != PGRES_POLLING_OK)
		die("PQresetPoll: %s", PQerrorMessage(c));
	done("reset: after PQresetStart",
	     PQexec(c, "SELECT current_database() AS after_reset_start"));
	PQfinish(c);
}

static void cmd_reset_fail(void)
{
	PGconn *admin = connect_default();
	const char *keys[] = {"dbname", NULL};
	const char *values[] = {"otelp_gone", NULL};

	done("reset-fail: drop", PQexec(admin, "DROP DATABASE IF EXISTS otelp_gone"));
	done("reset-fail: create", PQexec(admin, "CREATE DATABASE otelp_gone"));
	PGconn *c = checked(PQconnectdbParams(keys, values, 0), "PQconnectdbParams (otelp_gone)");

	must_send(PQsendQuery(c, "SELECT pg_sleep(30) AS doomed"), c, "PQsendQuery");
	done("reset-fail: drop (force)", PQexec(admin, "DROP DATABASE otelp_gone WITH (FORCE)"));
	PQreset(c);
	printf("reset-fail: after PQreset: %s\n",
	       PQstatus(c) == CONNECTION_BAD ? "CONNECTION_BAD" : "connected?!");
	PQfinish(c);
	PQfinish(admin);
}

static void cmd_createdb(const char *name)
{
	PGconn *c = connect_default();
	const char *v[] = {name};
	PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, v,
	                           NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("createdb: %s", PQerrorMessage(c));
	if (PQntuples(r) == 0) {
		char *id = PQescapeIdentifier(c, name, strlen(name));
		char q[256];

		if (!id)
			die("createdb: %s", PQerrorMessage(c));
		snprintf(q, sizeof(q), "CREATE DATABASE %s", id);
		PQfreemem(id);
		PGresult *cr = PQexec(c, q);

		if (PQresultStatus(cr) != PGRES_COMMAND_OK)
			die("createdb: %s", PQerrorMessage(c));
		PQclear(cr);
	}
	PQclear(r);
	printf("createdb: %s\n", name);
	PQfinish(c);
}

struct cycler {
	pthread_t tid;
	int first, n; /* connections first .. first + n - 1 */
	void **addrs; /* n of them */
};

/* Connection g: made, queried, finished; to otelp_other when g is odd. */
static void cycle(int g, void **addr)
{
	const char *keys[] = {"dbname", NULL};
	const char *other[] = {"otelp_other", NULL};
	const char *mine[] = {env_or("PGDATABASE", "postgres"), NULL};
	const char *const *values = g & 1 ? other : mine;
	PGconn *c;

	/* By turns: PQconnectdb, PQconnectdbParams, PQconnectStartParams. */
	if ((g / 2) % 3 == 0)
		c = g & 1 ? PQconnectdbParams(keys, values, 0) : PQconnectdb(conninfo);
	else if ((g / 2) % 3 == 1)
		c = PQconnectdbParams(keys, values, 0);
	else if (poll_connection(c = PQconnectStartParams(keys, values, 0)) != CONNECTION_OK)
		die("cycle %d: PQconnectStartParams: %s", g, PQerrorMessage(c));
	checked(c, "cycle");
	*addr = c;

	char q[96];

	snprintf(q, sizeof(q), "SELECT current_database() AS cycle_%d", g);
	PGresult *r = PQexec(c, q);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("cycle %d: %s", g, PQerrorMessage(c));
	if (strcmp(PQgetvalue(r, 0, 0), values[0]) != 0)
		die("cycle %d: connected to %s", g, PQgetvalue(r, 0, 0));
	PQclear(r);
	if (g % 10 == 9) {
		snprintf(q, sizeof(q), "SELECT 1 AS pending_%d", g);
		must_send(PQsendQuery(c, q), c, "PQsendQuery");
	}
	PQfinish(c);
}

static void *cycler_main(void *arg)
{
	struct cycler *w = arg;

	for (int i = 0; i < w->n; i++)
		cycle(w->first + i, &w->addrs[i]);
	return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
	const void *const *pa = a, *const *pb = b;
	uintptr_t x = (uintptr_t)pa[0], y = (uintptr_t)pb[0];

	return x < y ? -1 : x > y;
}

static void cmd_cycles(int n, int threads)
{
	struct cycler w[64];

	if (n < 1 || threads < 1 || threads > 64)
		die("cycles: at least 1 connection, 1..64 threads");

	int total = n * threads;
	void **addrs = calloc((size_t)total, sizeof(*addrs));

	if (!addrs)
		die("out of memory");
	for (int t = 0; t < threads; t++) {
		w[t] = (struct cycler){.first = t * n, .n = n, .addrs = addrs + (size_t)t * n};
		if (threads == 1)
			cycler_main(&w[t]);
		else if (pthread_create(&w[t].tid, NULL, cycler_main, &w[t]) != 0)
			die("pthread_create failed");
	}
	for (int t = 0; threads > 1 && t < threads; t++)
		pthread_join(w[t].tid, NULL);
	printf("cycles: %d connections, each in its database\n", total);
	if (getenv("PQALL_ADDRESSES")) {
		int distinct = 0;

		qsort(addrs, (size_t)total, sizeof(*addrs), cmp_ptr);
		for (int i = 0; i < total; i++)
			distinct += i == 0 || addrs[i] != addrs[i - 1];
		printf("cycles: %d distinct connection addresses\n", distinct);
	}
	free(addrs);
}

/* A send that fails (another query in progress): returns 0. */
__attribute__((noinline)) void run_send_while_busy(PGconn *c);
__attribute__((noinline)) void run_send_while_busy(PGconn *c)
{
	int ok = PQsendQuery(c, "SELECT 2 AS second");

	printf("send while busy: %d ", ok);
	print_oneline(PQerrorMessage(c));
	putchar('\n');
}

static void cmd_send_fail(void)
{
	PGconn *c = connect_default();

	must_send(PQsendQuery(c, "SELECT 1 AS first"), c, "PQsendQuery");
	run_send_while_busy(c);
	drain(c, "send-fail first");
	done("send-fail after", PQexec(c, "SELECT 3 AS third"));
	PQfinish(c);
}

/* The server ends the session (pg_terminate_backend): the next query fails, and the one after
 * that, on a dead connection, gets no result at all. */
__attribute__((noinline)) void run_on_dead_connection(PGconn *c);
__attribute__((noinline)) void run_on_dead_connection(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT 2");

	if (r) {
		done("lost second", r);
	} else {
		printf("lost second: no result: ");
		print_oneline(PQerrorMessage(c));
		putchar('\n');
	}
}

static void cmd_lost(void)
{
	PGconn *c = connect_default();
	PGconn *killer = connect_default();
	char pid[16];
	const char *p[] = {pid};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c));
	PGresult *r = PQexecParams(killer, "SELECT pg_terminate_backend($1::int, 10000)", 1, NULL,
	                           p, NULL, NULL, 0);

	done("lost terminate", r);
	PQfinish(killer);
	done("lost first", PQexec(c, "SELECT 1"));
	printf("lost status: %s\n", PQstatus(c) == CONNECTION_BAD ? "CONNECTION_BAD" : "OK?!");
	run_on_dead_connection(c);
	PQfinish(c);
}

/* Queries inside a manual span of the public API (no-ops without the preload), then one
 * after it. */
static void cmd_manual(void)
{
	PGconn *c = connect_default();
	uint64_t span = otelp_span_start("manual-operation", OTELP_SPAN_KIND_INTERNAL);

	done("manual exec", PQexec(c, "SELECT name FROM otelp_items WHERE id = 1"));
	must_send(PQsendQuery(c, "SELECT 2"), c, "PQsendQuery");
	drain(c, "manual send");
	otelp_span_end(span);
	done("manual after", PQexec(c, "SELECT 3"));
	PQfinish(c);
}

/* What a call returned, for cmd_nulls: the status, or "NULL" and the connection's error. */
static void null_result(const char *label, PGconn *c, PGresult *r)
{
	if (r) {
		done(label, r);
		return;
	}
	printf("%s: NULL ", label);
	print_oneline(c ? PQerrorMessage(c) : "");
	putchar('\n');
}

static void null_sent(const char *label, PGconn *c, int ok)
{
	printf("%s: %d ", label, ok);
	print_oneline(c ? PQerrorMessage(c) : "");
	putchar('\n');
	if (ok)
		drain(c, label);
}

/* NULL connections, NULL statements and names: libpq's own checks answer; then a query. */
static void cmd_nulls(void)
{
	const char *one[] = {"1"};

	null_result("exec null conn", NULL, PQexec(NULL, "SELECT 1"));
	null_result("params null conn", NULL,
	            PQexecParams(NULL, "SELECT $1::int", 1, NULL, one, NULL, NULL, 0));
	null_result("prepare null conn", NULL, PQprepare(NULL, "s", "SELECT 1", 0, NULL));
	null_result("prepared null conn", NULL, PQexecPrepared(NULL, "s", 0, NULL, NULL, NULL, 0));
	null_result("describe null conn", NULL, PQdescribePrepared(NULL, "s"));
	null_sent("send null conn", NULL, PQsendQuery(NULL, "SELECT 1"));
	null_result("getresult null conn", NULL, PQgetResult(NULL));
	PQfinish(NULL);

	PGconn *c = connect_default();

	null_result("exec null query", c, PQexec(c, NULL));
	null_result("params null query", c, PQexecParams(c, NULL, 0, NULL, NULL, NULL, NULL, 0));
	null_result("prepare null query", c, PQprepare(c, "nq", NULL, 0, NULL));
	null_result("prepared null name", c, PQexecPrepared(c, NULL, 0, NULL, NULL, NULL, 0));
	null_result("describe null name", c, PQdescribePrepared(c, NULL));
	null_result("describe portal null name", c, PQdescribePortal(c, NULL));
	null_sent("send null query", c, PQsendQuery(c, NULL));
	null_sent("send params null query", c,
	          PQsendQueryParams(c, NULL, 0, NULL, NULL, NULL, NULL, 0));
	null_sent("send prepare null query", c, PQsendPrepare(c, "nq", NULL, 0, NULL));
	null_sent("send prepared null name", c,
	          PQsendQueryPrepared(c, NULL, 0, NULL, NULL, NULL, 0));
	null_result("getresult idle", c, PQgetResult(c));
	done("nulls after", PQexec(c, "SELECT 'still fine' AS v"));
	PQfinish(c);
}

struct worker {
	pthread_t tid;
	int index;
	int queries;
	long sum;
	int failed;
};

/* One connection per thread; queries alternate PQexecParams and PQsendQuery + PQgetResult. */
static void *thread_main(void *arg)
{
	struct worker *w = arg;
	PGconn *c = PQconnectdb(conninfo);
	char q[64], v[16];
	const char *p[] = {v};

	if (PQstatus(c) != CONNECTION_OK) {
		w->failed = 1;
		PQfinish(c);
		return NULL;
	}
	for (int i = 0; i < w->queries; i++) {
		PGresult *r;

		if (i % 2 == 0) {
			snprintf(v, sizeof(v), "%d", w->index * 1000 + i);
			r = PQexecParams(c, "SELECT $1::int AS n", 1, NULL, p, NULL, NULL, 0);
		} else {
			snprintf(q, sizeof(q), "SELECT %d AS n", w->index * 1000 + i);
			if (!PQsendQuery(c, q)) {
				w->failed = 1;
				break;
			}
			r = PQgetResult(c);
			PGresult *end = PQgetResult(c);

			if (end) {
				PQclear(end);
				w->failed = 1;
			}
		}
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			w->sum += atol(PQgetvalue(r, 0, 0));
		else
			w->failed = 1;
		PQclear(r);
	}
	PQfinish(c);
	return NULL;
}

static void cmd_threads(int n, int m)
{
	struct worker w[64];
	long sum = 0;
	int failed = 0;

	if (n < 1 || n > 64 || m < 1)
		die("threads: 1..64 threads, at least 1 query each");
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.index = i + 1, .queries = m};
		if (pthread_create(&w[i].tid, NULL, thread_main, &w[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		sum += w[i].sum;
		failed += w[i].failed;
	}
	printf("threads: %d x %d queries, sum %ld, %d failed\n", n, m, sum, failed);
}

static void cmd_commenter(void)
{
	PGconn *c = connect_default();
	static char big[70 * 1024 + 64];
	size_t n;

	done("commenter plain", PQexec(c, "SELECT name FROM otelp_items WHERE id = 1"));
	done("commenter semicolon", PQexec(c, "SELECT 'a;b' AS x;"));
	done("commenter quote", PQexec(c, "SELECT 'it''s' AS x"));
	done("commenter unterminated", PQexec(c, "SELECT 1 /* unterminated"));
	done("commenter open quote", PQexec(c, "SELECT 'open"));
	n = (size_t)snprintf(big, sizeof(big), "SELECT length('");
	memset(big + n, 'x', 70 * 1024);
	n += 70 * 1024;
	snprintf(big + n, sizeof(big) - n, "') AS n");
	done("commenter big", PQexec(c, big));
	must_send(PQsendQuery(c, "SELECT 2 AS two"), c, "PQsendQuery");
	drain(c, "commenter send");
	const char *one[] = {"1"};

	done("commenter params", PQexecParams(c, "SELECT name FROM otelp_items WHERE id = $1", 1,
	                                      NULL, one, NULL, NULL, 0));
	PQfinish(c);
}

static void cmd_rows(void)
{
	PGconn *c = connect_default();
	const char *zero[] = {"0"};

	done("rows 3", PQexec(c, "SELECT id FROM otelp_items ORDER BY id"));
	done("rows 0", PQexecParams(c, "SELECT id FROM otelp_items WHERE id = $1", 1, NULL, zero,
	                            NULL, NULL, 0));
	done("rows 1", PQexec(c, "SELECT name FROM otelp_items WHERE id = 1"));
	must_send(PQsendQuery(c, "SELECT 1; SELECT 2 UNION ALL SELECT 3"), c, "PQsendQuery");
	drain(c, "rows multi");
	must_send(PQsendQuery(c, "SELECT id FROM otelp_items ORDER BY id"), c, "PQsendQuery");
	if (!PQsetSingleRowMode(c))
		die("PQsetSingleRowMode failed");
	drain(c, "rows single");
	done("rows insert", PQexec(c, "INSERT INTO otelp_items (id, name) VALUES (20, 'twenty')"));
	done("rows delete", PQexec(c, "DELETE FROM otelp_items WHERE id = 20"));
	PQfinish(c);
}

static void cmd_loop(int n)
{
	PGconn *c = connect_default();
	char v[16];
	const char *p[] = {v};
	long sum = 0;

	for (int i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%d", i);
		PGresult *r = PQexecParams(c, "SELECT $1::int", 1, NULL, p, NULL, NULL, 0);

		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			die("loop: %s", PQerrorMessage(c));
		sum += atol(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	printf("loop: %d queries, sum %ld\n", n, sum);
	PQfinish(c);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	conninfo = env_or("PQALL_CONNINFO", "");
	if (argc < 2)
		die("usage: pq-all SUBCOMMAND [ARG] (see the source)");

	const char *cmd = argv[1];

	if (!strcmp(cmd, "setup"))
		cmd_setup();
	else if (!strcmp(cmd, "exec"))
		cmd_exec();
	else if (!strcmp(cmd, "params"))
		cmd_params();
	else if (!strcmp(cmd, "prepared"))
		cmd_prepared();
	else if (!strcmp(cmd, "prepared-sql"))
		cmd_prepared_sql();
	else if (!strcmp(cmd, "describe"))
		cmd_describe();
	else if (!strcmp(cmd, "async"))
		cmd_async();
	else if (!strcmp(cmd, "pipeline"))
		cmd_pipeline();
	else if (!strcmp(cmd, "pipeline-abort"))
		cmd_pipeline_abort();
	else if (!strcmp(cmd, "connect"))
		cmd_connect();
	else if (!strcmp(cmd, "connect-fail") && argc > 2)
		cmd_connect_fail(argv[2], 0);
	else if (!strcmp(cmd, "connect-fail-async") && argc > 2)
		cmd_connect_fail(argv[2], 1);
	else if (!strcmp(cmd, "unix"))
		cmd_unix();
	else if (!strcmp(cmd, "errors"))
		cmd_errors();
	else if (!strcmp(cmd, "finish-pending"))
		cmd_finish_pending();
	else if (!strcmp(cmd, "reset"))
		cmd_reset();
	else if (!strcmp(cmd, "reset-fail"))
		cmd_reset_fail();
	else if (!strcmp(cmd, "createdb") && argc > 2)
		cmd_createdb(argv[2]);
	else if (!strcmp(cmd, "cycles") && argc > 2)
		cmd_cycles(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 1);
	else if (!strcmp(cmd, "send-fail"))
		cmd_send_fail();
	else if (!strcmp(cmd, "lost"))
		cmd_lost();
	else if (!strcmp(cmd, "manual"))
		cmd_manual();
	else if (!strcmp(cmd, "nulls"))
		cmd_nulls();
	else if (!strcmp(cmd, "threads") && argc > 3)
		cmd_threads(atoi(argv[2]), atoi(argv[3]));
	else if (!strcmp(cmd, "commenter"))
		cmd_commenter();
	else if (!strcmp(cmd, "rows"))
		cmd_rows();
	else if (!strcmp(cmd, "loop") && argc > 2)
		cmd_loop(atoi(argv[2]));
	else
		die("unknown subcommand or missing argument: %s", cmd);
	return 0;
}
