/*
 * pq-dlopen: a program NOT linked with libpq. It loads libpq.so.5 with dlopen(RTLD_LOCAL), takes
 * the functions it needs with dlsym(handle, ...) (as Python's ctypes does) and runs two
 * queries. The connection: PQconnectdb($PQALL_CONNINFO, default ""), i.e. the PG* variables.
 * Prints one line per query; exit status 0 on success.
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

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "pq-dlopen: dlsym %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
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
	status_fn status = (status_fn)sym(h, "PQstatus");
	errmsg_fn errmsg = (errmsg_fn)sym(h, "PQerrorMessage");
	exec_fn exec = (exec_fn)sym(h, "PQexec");
	result_status_fn result_status = (result_status_fn)sym(h, "PQresultStatus");
	getvalue_fn getvalue = (getvalue_fn)sym(h, "PQgetvalue");
	clear_fn clear = (clear_fn)sym(h, "PQclear");
	finish_fn finish = (finish_fn)sym(h, "PQfinish");
	const char *queries[] = {"SELECT 'dlopen one' AS v", "SELECT 40 + 2 AS v"};
	int rc = 0;

	PGconn *c = connectdb(conninfo ? conninfo : "");

	if (status(c) != CONNECTION_OK) {
		fprintf(stderr, "pq-dlopen: connection failed: %s", errmsg(c));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		PGresult *r = exec(c, queries[i]);

		if (result_status(r) == PGRES_TUPLES_OK) {
			printf("dlopen query %d: %s\n", i + 1, getvalue(r, 0, 0));
		} else {
			printf("dlopen query %d: failed: %s", i + 1, errmsg(c));
			rc = 1;
		}
		clear(r);
	}
	finish(c);
	dlclose(h);
	return rc;
}
