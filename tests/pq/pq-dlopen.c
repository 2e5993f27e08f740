/*
 * pq-dlopen: a program NOT linked with libpq. It loads libpq.so.5 with dlopen(RTLD_LOCAL), takes
 * the functions it needs with dlsym(handle, ...) (as Python's ctypes does) and runs two
 * queries; then sends a third and resets the connection (PQreset) before reading its result,
 * runs a fourth, and sends a fifth that PQfinish abandons. The connection:
 * PQconnectdb($PQALL_CONNINFO, default ""), i.e. the PG* variables. Prints one line per
 * query; exit status 0 on success.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* libpq's types, opaque here: this program does not include libpq-fe.h. */
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

#define CONNECTION_OK   0
#define PGRES_TUPLES_OK 2

typedef PGconn *(*connectdb_fn)(const char *);
typedef int (*status_fn)(const PGconn *);
typedef char *(*errmsg_fn)(const PGconn *);
typedef PGresult *(*exec_fn)(PGconn *, const char *);
typedef int (*result_status_fn)(const PGresult *);
typedef char *(*getvalue_fn)(const PGresult *, int, int);
typedef void (*clear_fn)(PGresult *);
typedef void (*finish_fn)(PGconn *);
typedef void (*reset_fn)(PGconn *);
typedef int (*send_fn)(PGconn *, const char *);

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "pq-dlopen: dlsym %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static status_fn status;
static errmsg_fn errmsg;
static exec_fn exec;
static result_status_fn result_status;
static getvalue_fn getvalue;
static clear_fn clear;
static send_fn send_query;
static int rc;

/* Query n: its one value, or its failure. */
static void query(PGconn *c, int n, const char *text)
{
	PGresult *r = exec(c, text);

	if (result_status(r) == PGRES_TUPLES_OK) {
		printf("dlopen query %d: %s\n", n, getvalue(r, 0, 0));
	} else {
		printf("dlopen query %d: failed: %s", n, errmsg(c));
		rc = 1;
	}
	clear(r);
}

/* Query n sent, its result never read. */
static void send_only(PGconn *c, int n, const char *text)
{
	if (!send_query(c, text)) {
		printf("dlopen query %d: send failed: %s", n, errmsg(c));
		rc = 1;
	}
}

int main(void)
{
	const char *conninfo = getenv("PQALL_CONNINFO");
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "pq-dlopen: dlopen libpq.so.5: %s\n", dlerror());
		return 1;
	}
	connectdb_fn connectdb = (connectdb_fn)sym(h, "PQconnectdb");
	reset_fn reset = (reset_fn)sym(h, "PQreset");
	finish_fn finish = (finish_fn)sym(h, "PQfinish");

	status = (status_fn)sym(h, "PQstatus");
	errmsg = (errmsg_fn)sym(h, "PQerrorMessage");
	exec = (exec_fn)sym(h, "PQexec");
	result_status = (result_status_fn)sym(h, "PQresultStatus");
	getvalue = (getvalue_fn)sym(h, "PQgetvalue");
	clear = (clear_fn)sym(h, "PQclear");
	send_query = (send_fn)sym(h, "PQsendQuery");

	PGconn *c = connectdb(conninfo ? conninfo : "");

	if (status(c) != CONNECTION_OK) {
		fprintf(stderr, "pq-dlopen: connection failed: %s", errmsg(c));
		return 1;
	}
	query(c, 1, "SELECT 'dlopen one' AS v");
	query(c, 2, "SELECT 40 + 2 AS v");
	send_only(c, 3, "SELECT 3 AS v");
	reset(c);
	printf("dlopen query 3: reset before its result\n");
	query(c, 4, "SELECT 'after reset' AS v");
	send_only(c, 5, "SELECT 5 AS v");
	finish(c);
	printf("dlopen query 5: finished before its result\n");
	dlclose(h);
	return rc;
}
