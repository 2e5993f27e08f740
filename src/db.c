/*
 * Database spans: the parts libpq and hiredis spans share (db.h).
 */
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "stacktrace.h"

struct otelp_span *otelp__db_start(const char *name, size_t name_len, uint64_t start_ns)
{
	const struct otelp_ctx *parent = otelp__ctx_current();
	size_t ts_len = 0;
	const char *ts = parent->valid ? otelp__ctx_tracestate(parent, &ts_len) : NULL;
	return otelp__span_start(name, name_len, OTELP_KIND_CLIENT, parent->valid ? parent : NULL,
	                         ts, ts_len, start_ns);
}

void otelp__db_text(struct otelp_span *s, const char *text, size_t len)
{
	if (len > OTELP_DB_TEXT_MAX)
		len = otelp__utf8_cut(text, OTELP_DB_TEXT_MAX);
	otelp__span_add_str_k(s, OTELP_KEY(DB_QUERY_TEXT), text, len);
}

size_t otelp__db_conn_kvs(const struct otelp_db_conn *c, struct otelp_kv *kv)
{
	size_t n = 0;

	kv[n++] = otelp__kv_str("db.system.name", c->system, strlen(c->system));
	if (c->ns_len)
		kv[n++] = otelp__kv_str("db.namespace", c->ns, c->ns_len);
	if (c->addr_len)
		kv[n++] = otelp__kv_str("server.address", c->addr, c->addr_len);
	if (!c->unix_sock && c->addr_len && c->port > 0 && c->port != c->default_port)
		kv[n++] = otelp__kv_int("server.port", c->port);
	if (!c->unix_sock && c->peer_len) {
		kv[n++] = otelp__kv_str("network.peer.address", c->peer, c->peer_len);
		if (c->port > 0)
			kv[n++] = otelp__kv_int("network.peer.port", c->port);
	}
	return n;
}

void otelp__db_conn_attrs(struct otelp_span *s, const struct otelp_db_conn *c,
                          const struct otelp_attrset **set, uint8_t *tries)
{
	struct otelp_kv kv[OTELP_DB_CONN_KVS];
	size_t n;

	if (set && *set) {
		otelp__span_add_set(s, *set);
		return;
	}
	n = otelp__db_conn_kvs(c, kv);
	if (set)
		otelp__span_add_conn_kvs(s, kv, n, set, tries);
	else
		otelp__span_add_kvs(s, kv, n);
}

void otelp__db_error(struct otelp_span *s, const char *type, size_t type_len, bool code,
                     const char *msg, size_t msg_len)
{
	/* libpq's messages end with a newline: not part of the description. */
	while (msg_len && msg[msg_len - 1] == '\n')
		msg_len--;
	otelp__span_set_status(s, OTELP_STATUS_ERROR, msg, msg_len);
	otelp__span_set_str(s, "error.type", type, type_len);
	if (code)
		otelp__span_set_str(s, "db.response.status_code", type, type_len);
}

void otelp__db_discard(struct otelp_span *s)
{
	s->recording = false;
	otelp__span_end(s, 0);
	OTELP_COUNT(db_queries_untraced, 1);
}

void otelp__db_end(struct otelp_span *s)
{
	enum otelp_stacktrace_mode m = otelp__cfg.stacktrace;
	if (s->recording && (m == OTELP_STACKTRACE_ALL ||
	                     (m == OTELP_STACKTRACE_ERRORS && s->status == OTELP_STATUS_ERROR))) {
		/* What the arena still holds, less the key and some slack. */
		size_t room = OTELP_SPAN_ARENA - s->arena_used;
		room = room > 64 ? room - 64 : 0;
		char trace[OTELP_SPAN_ARENA];
		size_t len = otelp__stacktrace(trace, room, OTELP_STACKTRACE_DEPTH);
		if (len)
			otelp__span_set_str(s, "code.stacktrace", trace, len);
	}
	otelp__span_end(s, 0);
}
