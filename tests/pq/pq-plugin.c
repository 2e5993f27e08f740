/*
 * pq-plugin: a shared module linked with libpq, loaded with dlopen(RTLD_LOCAL) by
 * pq-plugin-host (the pattern of a Python extension module): its libpq calls bind when the
 * host loads it. plugin_run(conninfo) connects and runs two queries, printing one line each;
 * returns 0 on success.
 */
#include <libpq-fe.h>
#include <stdio.h>

int plugin_run(const char *conninfo);

int plugin_run(const char *conninfo)
{
	const char *one[] = {"7"};
	int rc = 0;
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pq-plugin: connection failed: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	PGresult *r = PQexec(c, "SELECT 'plugin one' AS v");

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		printf("plugin query 1: %s\n", PQgetvalue(r, 0, 0));
	else
		rc = 1;
	PQclear(r);
	r = PQexecParams(c, "SELECT $1::int * 6 AS v", 1, NULL, one, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		printf("plugin query 2: %s\n", PQgetvalue(r, 0, 0));
	else
		rc = 1;
	PQclear(r);
	PQfinish(c);
	return rc;
}
