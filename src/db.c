/*
 * Database spans: the parts libpq and hiredis spans share (db.h).
 */
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "stacktrace.h"

struct otelp_span *otelp__db_start(const char *name, size_t name_len, const char *system,
                                   uint64_t start_ns)
{
	const struct otelp_ctx *parent = otelp__ctx_current();
	size_t ts_len = 0;
	const char *ts = parent->valid ? otelp__ctx_tracestate(parent, &ts_len) : NULL;
	struct otelp_span *s = otelp__span_start(
	    name, name_len, OTELP_KIND_CLIENT, parent->valid ? parent : NULL, ts, ts_len, start_ns);
	if (s)
		otelp__span_add_str(s, "db.system.name", system, strlen(system));
	return s;
}

void otelp__db_text(struct otelp_span *s, const char *text, size_t len)
{
	if (len > OTELP_DB_TEXT_MAX) {
		/* Cut on a UTF-8 character boundary. */
		len = OTELP_DB_TEXT_MAX;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	otelp__span_add_str(s, "db.query.text", text, len);
}

void otelp__db_server(struct otelp_span *s, const char *addr, size_t addr_len, int port,
                      int default_port, bool unix_sock, const char *peer, size_t peer_len)
{
	if (addr_len)
		otelp__span_add_str(s, "server.address", addr, addr_len);
	if (!unix_sock && addr_len && port > 0 && port != default_port)
		otelp__span_add_int(s, "server.port", port);
	if (!unix_sock && peer_len) {
		otelp__span_add_str(s, "network.peer.address", peer, peer_len);
		if (port > 0)
			otelp__span_add_int(s, "network.peer.port", port);
	}
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
