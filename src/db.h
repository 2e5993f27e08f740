/*
 * This file is private to otelpreload.
 *
 * What the database instrumentations (pq.c for libpq, redis.c for hiredis) share: starting
 * a database CLIENT span under the thread's current context, the server attributes, errors,
 * and ending a span with the program's stack trace when OTEL_PRELOAD_STACKTRACE asks for it.
 * docs/databases.md is the specification of the spans.
 */
#ifndef OTELP_DB_H
#define OTELP_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrset.h"
#include "span.h"

/* db.query.text is cut to this many bytes (the semantic conventions allow truncation): the
 * span's inline arena must keep room for a stack trace. */
#define OTELP_DB_TEXT_MAX 1536

/*
 * Start a CLIENT span named name, child of the thread's current context, started at start_ns
 * (0: now). NULL when no span could be made (pool empty: counted).
 */
struct otelp_span *otelp__db_start(const char *name, size_t name_len, uint64_t start_ns);

/* db.query.text, cut to OTELP_DB_TEXT_MAX. */
void otelp__db_text(struct otelp_span *s, const char *text, size_t len);

/* Where a connection goes: what every span of it carries. */
struct otelp_db_conn {
	const char *system; /* db.system.name */
	const char *ns;     /* db.namespace, ns_len bytes; none when ns_len is 0 */
	size_t ns_len;
	const char *addr; /* server.address: host, IP or Unix socket path */
	size_t addr_len;
	int port; /* server.port when TCP and not default_port; network.peer.port */
	int default_port;
	bool unix_sock;
	const char *peer; /* network.peer.address when known (TCP) */
	size_t peer_len;
};

#define OTELP_DB_CONN_KVS 6

/* Those attributes, in order; returns how many (at most OTELP_DB_CONN_KVS). */
size_t otelp__db_conn_kvs(const struct otelp_db_conn *c, struct otelp_kv *kv);

/*
 * Add the connection's attributes to s. With set non-NULL they come as an interned attribute
 * set kept in *set by the caller for the connection (made on first use; reset *set and *tries
 * to 0 when the attributes change): a few stores per span instead of six attribute copies.
 * When no set can be made (table full), they are added one by one; *tries bounds how often
 * making one is attempted.
 */
void otelp__db_conn_attrs(struct otelp_span *s, const struct otelp_db_conn *c,
                          const struct otelp_attrset **set, uint8_t *tries);

/*
 * The operation failed: status ERROR with description msg; error.type = type; when code is
 * true, type is the database's own code and is also db.response.status_code.
 */
void otelp__db_error(struct otelp_span *s, const char *type, size_t type_len, bool code,
                     const char *msg, size_t msg_len);

/*
 * Drop s unexported, counted as an untraced query: what it describes cannot be followed (its
 * results or reply cannot be matched to it, or no record was free).
 */
void otelp__db_discard(struct otelp_span *s);

/* End s now, adding code.stacktrace when OTEL_PRELOAD_STACKTRACE asks for it. */
void otelp__db_end(struct otelp_span *s);

#endif
