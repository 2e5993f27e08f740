/*
 * This file is private to otelpreload.
 *
 * Diagnostics. Nothing is printed unless the user asked for it: messages go to
 * OTEL_PRELOAD_LOG_FILE when it is set, otherwise to stderr only when OTEL_LOG_LEVEL=debug, or
 * for warnings about invalid configuration (OTELP_CFGWARN). Never to stdout, never through stdio:
 * each message is formatted into a stack buffer and written with one raw write(2) syscall, so a
 * message is never torn and never passes through our own hooks.
 *
 * Silent counters (struct otelp_stats) record what was dropped or failed; they are reported at
 * debug level and once at exit when anything was lost.
 */
#ifndef OTELP_LOG_H
#define OTELP_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum otelp_log_level {
	OTELP_LOG_NONE = 0,
	OTELP_LOG_ERROR = 1,
	OTELP_LOG_WARN = 2,
	OTELP_LOG_INFO = 3,
	OTELP_LOG_DEBUG = 4,
};

/* Level in force; set by otelp__log_init() from the configuration. */
extern enum otelp_log_level otelp__log_level;

/*
 * Open the destination (path may be NULL or empty: stderr rules apply). The log fd is moved
 * high, close-on-exec, and protected from hosts that close fds they did not open.
 */
void otelp__log_init(enum otelp_log_level level, const char *path);
/* Forget the destination without closing it (fork child keeps the inherited fd). */
int otelp__log_fd(void);

void otelp__log(enum otelp_log_level level, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A warning about an invalid configuration value: shown on stderr even without a log file. */
void otelp__log_cfgwarn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define OTELP_LOG_(lvl, ...)                                                \
	do {                                                                \
		if (otelp_unlikely(otelp__log_level >= (lvl)))              \
			otelp__log((lvl), __func__, __LINE__, __VA_ARGS__); \
	} while (0)
#define OTELP_ERR(...)     OTELP_LOG_(OTELP_LOG_ERROR, __VA_ARGS__)
#define OTELP_WARN(...)    OTELP_LOG_(OTELP_LOG_WARN, __VA_ARGS__)
#define OTELP_INFO(...)    OTELP_LOG_(OTELP_LOG_INFO, __VA_ARGS__)
#define OTELP_DBG(...)     OTELP_LOG_(OTELP_LOG_DEBUG, __VA_ARGS__)
#define OTELP_CFGWARN(...) otelp__log_cfgwarn(__VA_ARGS__)

/* What was lost or failed, counted without printing. Relaxed atomics. */
struct otelp_stats {
	atomic_uint_fast64_t spans_dropped_queue_full; /* BSP queue full */
	atomic_uint_fast64_t spans_dropped_no_slot;    /* span pool exhausted */
	atomic_uint_fast64_t spans_dropped_export;     /* export failed for good */
	atomic_uint_fast64_t spans_dropped_fork; /* queued in the parent, dropped in the child */
	atomic_uint_fast64_t spans_exported;
	atomic_uint_fast64_t spans_rejected; /* partial_success.rejected_spans */
	atomic_uint_fast64_t export_requests;
	atomic_uint_fast64_t export_retries;
	atomic_uint_fast64_t export_failures;
	atomic_uint_fast64_t http_conns_untracked;   /* no connection object free: not traced */
	atomic_uint_fast64_t http_requests_untraced; /* no room to inject: request not traced */
	atomic_uint_fast64_t http_conns_stopped;  /* malformed or unfollowable: tracking stopped */
	atomic_uint_fast64_t db_queries_untraced; /* too many in flight on one connection */
	atomic_uint_fast64_t attrsets_full;       /* attribute set not interned: added per span */
};
extern struct otelp_stats otelp__stats;

#define OTELP_COUNT(field, n) \
	atomic_fetch_add_explicit(&otelp__stats.field, (n), memory_order_relaxed)

#endif
