/*
 * The public API (include/otelpreload.h): thin, checked entry points over span.c. Every call
 * holds the reentrancy guard, so whatever the shim does inside is never traced itself.
 */
#include <string.h>

#include "../include/otelpreload.h"
#include "bsp.h"
#include "config.h"
#include "propagation.h"
#include "shim.h"
#include "span.h"

#define API_ENTER(fail)                                     \
	if (!otelp__ensure_init() || !otelp__guard_enter()) \
		return fail;
#define API_LEAVE otelp__guard_leave()

OTELP_EXPORT int otelp_abi_version(void)
{
	return otelp__ensure_init() ? OTELP_API_VERSION : 0;
}

OTELP_EXPORT uint64_t otelp_abi_span_start(const char *name, int kind)
{
	API_ENTER(0);
	if (kind < OTELP_SPAN_KIND_INTERNAL || kind > OTELP_SPAN_KIND_CONSUMER)
		kind = OTELP_SPAN_KIND_INTERNAL;
	if (!name || !name[0])
		name = "span";
	const struct otelp_ctx *parent = otelp__ctx_current();
	size_t tslen = 0;
	const char *ts = otelp__ctx_tracestate(parent, &tslen);
	struct otelp_span *s =
	    otelp__span_start(name, strlen(name), (enum otelp_span_kind)kind, parent, ts, tslen, 0);
	uint64_t h = 0;
	if (s) {
		struct otelp_ctx c;
		otelp__span_ctx(s, &c);
		otelp__ctx_push(&c);
		h = otelp__span_handle(s);
	}
	API_LEAVE;
	return h;
}

OTELP_EXPORT void otelp_abi_span_end(uint64_t span)
{
	API_ENTER();
	otelp__span_end(otelp__span_from_handle(span), 0);
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_set_string(uint64_t span, const char *key, const char *value)
{
	API_ENTER();
	if (key && value)
		otelp__span_set_str(otelp__span_from_handle(span), key, value, strlen(value));
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_set_int(uint64_t span, const char *key, int64_t value)
{
	API_ENTER();
	if (key)
		otelp__span_set_int(otelp__span_from_handle(span), key, value);
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_set_double(uint64_t span, const char *key, double value)
{
	API_ENTER();
	if (key)
		otelp__span_set_double(otelp__span_from_handle(span), key, value);
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_set_bool(uint64_t span, const char *key, int value)
{
	API_ENTER();
	if (key)
		otelp__span_set_bool(otelp__span_from_handle(span), key, value != 0);
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_add_event(uint64_t span, const char *name, const char *key,
                                           const char *value)
{
	API_ENTER();
	struct otelp_span *s = otelp__span_from_handle(span);
	int ev = otelp__span_add_event(s, name && name[0] ? name : "event", 0);
	if (ev >= 0 && key && value)
		otelp__event_set_str(s, ev, key, value, strlen(value));
	API_LEAVE;
}

OTELP_EXPORT void otelp_abi_span_record_error(uint64_t span, const char *type, const char *message)
{
	API_ENTER();
	struct otelp_span *s = otelp__span_from_handle(span);
	if (s) {
		const char *t = type && type[0] ? type : "_OTHER";
		otelp__span_set_str(s, "error.type", t, strlen(t));
		int ev = otelp__span_add_event(s, "exception", 0);
		otelp__event_set_str(s, ev, "exception.type", t, strlen(t));
		if (message) {
			otelp__event_set_str(s, ev, "exception.message", message, strlen(message));
			otelp__span_set_status(s, OTELP_STATUS_ERROR, message, strlen(message));
		} else {
			otelp__span_set_status(s, OTELP_STATUS_ERROR, NULL, 0);
		}
	}
	API_LEAVE;
}

OTELP_EXPORT size_t otelp_abi_current_traceparent(char *buf, size_t cap)
{
	API_ENTER(0);
	size_t n = 0;
	const struct otelp_ctx *c = otelp__ctx_current();
	if (buf && cap > OTELP_TRACEPARENT_LEN && c->valid) {
		otelp__traceparent_format(c, buf);
		buf[OTELP_TRACEPARENT_LEN] = '\0';
		n = OTELP_TRACEPARENT_LEN;
	}
	API_LEAVE;
	return n;
}

OTELP_EXPORT int otelp_abi_flush(unsigned timeout_ms)
{
	API_ENTER(0);
	bool ok = otelp__bsp_flush(timeout_ms, false);
	API_LEAVE;
	return ok ? 0 : -1;
}
