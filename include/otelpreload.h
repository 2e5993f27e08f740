/*
 * otelpreload public API: manual spans that nest with the automatic ones.
 *
 * A program may include this header and call these functions whether or not it runs under
 * the preload: the real entry points (otelp_abi_*) are declared weak, and each inline
 * function below checks that the preload is there. Without it, the calls do nothing and
 * return 0 / "no span"; the program needs no link-time dependency on otelpreload.
 *
 *	uint64_t s = otelp_span_start("load-config", OTELP_SPAN_KIND_INTERNAL);
 *	otelp_span_set_int(s, "config.entries", 42);
 *	...
 *	otelp_span_end(s);
 *
 * A started span becomes the current context of the calling thread until it ends: automatic
 * spans (HTTP calls, database queries) made meanwhile on that thread become its children.
 * Span handles are plain integers (0 = no span); a stale or foreign handle is ignored.
 * All functions are thread-safe. Strings are copied.
 */
#ifndef OTELPRELOAD_H
#define OTELPRELOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTELP_API_VERSION 1

enum otelp_span_kind_public {
	OTELP_SPAN_KIND_INTERNAL = 1,
	OTELP_SPAN_KIND_SERVER = 2,
	OTELP_SPAN_KIND_CLIENT = 3,
	OTELP_SPAN_KIND_PRODUCER = 4,
	OTELP_SPAN_KIND_CONSUMER = 5,
};

#define OTELP_WEAK __attribute__((weak))

/* The ABI, provided by libotelpreload.so. Prefer the inline functions below. */
extern int otelp_abi_version(void) OTELP_WEAK;
extern uint64_t otelp_abi_span_start(const char *name, int kind) OTELP_WEAK;
extern void otelp_abi_span_end(uint64_t span) OTELP_WEAK;
extern void otelp_abi_span_set_string(uint64_t span, const char *key, const char *value) OTELP_WEAK;
extern void otelp_abi_span_set_int(uint64_t span, const char *key, int64_t value) OTELP_WEAK;
extern void otelp_abi_span_set_double(uint64_t span, const char *key, double value) OTELP_WEAK;
extern void otelp_abi_span_set_bool(uint64_t span, const char *key, int value) OTELP_WEAK;
extern void otelp_abi_span_add_event(uint64_t span, const char *name, const char *key,
                                     const char *value) OTELP_WEAK;
extern void otelp_abi_span_record_error(uint64_t span, const char *type,
                                        const char *message) OTELP_WEAK;
extern size_t otelp_abi_current_traceparent(char *buf, size_t cap) OTELP_WEAK;
extern int otelp_abi_flush(unsigned timeout_ms) OTELP_WEAK;

/* 1 when the preload is loaded and tracing, else 0. */
static inline int otelp_available(void)
{
	return otelp_abi_version ? otelp_abi_version() > 0 : 0;
}

/*
 * Start a span, child of the thread's current context, and make it current. name: the span
 * name; kind: OTELP_SPAN_KIND_*. Returns a handle, or 0 (no preload, tracing off, or no
 * storage left: the call is then a no-op and the functions below ignore 0).
 */
static inline uint64_t otelp_span_start(const char *name, int kind)
{
	return otelp_abi_span_start ? otelp_abi_span_start(name, kind) : 0;
}

/* End a span: it stops being current and is queued for export. */
static inline void otelp_span_end(uint64_t span)
{
	if (otelp_abi_span_end)
		otelp_abi_span_end(span);
}

static inline void otelp_span_set_string(uint64_t span, const char *key, const char *value)
{
	if (otelp_abi_span_set_string)
		otelp_abi_span_set_string(span, key, value);
}

static inline void otelp_span_set_int(uint64_t span, const char *key, int64_t value)
{
	if (otelp_abi_span_set_int)
		otelp_abi_span_set_int(span, key, value);
}

static inline void otelp_span_set_double(uint64_t span, const char *key, double value)
{
	if (otelp_abi_span_set_double)
		otelp_abi_span_set_double(span, key, value);
}

static inline void otelp_span_set_bool(uint64_t span, const char *key, int value)
{
	if (otelp_abi_span_set_bool)
		otelp_abi_span_set_bool(span, key, value);
}

/* Add an event, optionally with one string attribute (key and value may be NULL). */
static inline void otelp_span_add_event(uint64_t span, const char *name, const char *key,
                                        const char *value)
{
	if (otelp_abi_span_add_event)
		otelp_abi_span_add_event(span, name, key, value);
}

/*
 * Record a failure: status ERROR with message as its description, error.type = type, and an
 * "exception" event with exception.type / exception.message. type or message may be NULL.
 */
static inline void otelp_span_record_error(uint64_t span, const char *type, const char *message)
{
	if (otelp_abi_span_record_error)
		otelp_abi_span_record_error(span, type, message);
}

/*
 * Write the W3C traceparent of the current context ("00-<trace>-<span>-<flags>", 55
 * characters plus a NUL) into buf. Returns 55, or 0 when there is no current context, no
 * preload, or cap < 56.
 */
static inline size_t otelp_current_traceparent(char *buf, size_t cap)
{
	return otelp_abi_current_traceparent ? otelp_abi_current_traceparent(buf, cap) : 0;
}

/* Export every finished span now; wait at most timeout_ms. 0 when done in time, else -1. */
static inline int otelp_flush(unsigned timeout_ms)
{
	return otelp_abi_flush ? otelp_abi_flush(timeout_ms) : 0;
}

#ifdef __cplusplus
}
#endif

#endif
