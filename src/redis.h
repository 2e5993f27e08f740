/*
 * This file is private to otelpreload.
 *
 * Redis client spans from hiredis (docs/databases.md is their specification). The hooks in
 * hooks/hiredis.c call in here around each real hiredis call.
 *
 * DESIGN
 * ------
 * hiredis is never linked, and its structures differ between 0.14 (what Debian ships) and
 * 1.x, so nothing here depends on their layout but two facts read through version-aware
 * accessors: a context's error (err, errstr) and an error reply's text. The version is told
 * at first use by a symbol only 1.x has (redisConnectWithOptions).
 *
 * Contexts are found in a lock-free open-addressing table keyed by the context pointer,
 * filled by the connect hooks (address, Unix path) and emptied by redisFree/redisAsyncFree/
 * redisAsyncDisconnect; a context we never saw connect gets an entry on its first command.
 * A context is used by one thread at a time (hiredis' rule), so an entry needs no lock.
 *
 * Blocking contexts keep a FIFO of spans whose replies have not been read: redisAppend*
 * queues a span, redisCommand* queues one and takes the reply of the oldest, redisGetReply
 * ends the oldest with the reply it returns. Asynchronous commands carry their span in a
 * small record that replaces the callback's private data; our callback ends the span and
 * calls the program's callback with the program's own private data.
 *
 * The usual commands (a name and a few whole %s/%b or literal arguments, see redisq.h) take a
 * fast path: the arguments are read once, the span is started with the name, and the two
 * attributes are written straight into the span (db.operation.name shares the span name's
 * bytes, db.query.text is written in place, no copy). A synchronous command with no appended
 * command before it ends its span with its reply directly, without the FIFO. The rest goes
 * through redisq's general builder and the span API, with the same result.
 */
#ifndef OTELP_REDIS_H
#define OTELP_REDIS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "span.h"

/* hiredis' version: told once, at first use (redis.c). */
#define OTELP_REDIS_V_UNKNOWN 0
#define OTELP_REDIS_V_014     2 /* this or above: known */
extern atomic_int otelp__redis_version;
bool otelp__redis_version_known(void);

/* Is the hiredis instrumentation on (configuration, hiredis' version understood)? */
static inline bool otelp__redis_on(void)
{
	return (otelp__cfg.instrumentations & OTELP_INST_HIREDIS) &&
	       (otelp_likely(atomic_load_explicit(&otelp__redis_version, memory_order_acquire) >=
	                     OTELP_REDIS_V_014) ||
	        otelp__redis_version_known());
}

/* One command being sent (on the hook's stack). */
struct otelp_redis_cmd {
	struct otelp_span *span; /* NULL: not traced */
	struct rconn *conn;      /* the context's entry when begin found it, else NULL */
	long select_db;          /* SELECT n: n, else -1 */
	bool subscribe;          /* subscribe-mode command: passes through untraced */
};

/* Before sending: the span of a command given as format + arguments, or as argv. */
void otelp__redis_begin_fmt(struct otelp_redis_cmd *cmd, void *ctx, const char *fmt, va_list ap);
void otelp__redis_begin_argv(struct otelp_redis_cmd *cmd, void *ctx, int argc, const char **argv,
                             const size_t *argvlen);

/* Blocking context: redisCommand* returned reply; redisAppend* returned rc. */
void otelp__redis_command_done(struct otelp_redis_cmd *cmd, void *c, void *reply);
void otelp__redis_appended(struct otelp_redis_cmd *cmd, void *c, int rc);
/* redisGetReply returned rc and *reply. */
void otelp__redis_got_reply(void *c, int rc, void *reply);

/*
 * Asynchronous context: replace *fn and *privdata with ours before the real call (false:
 * leave them, the command is not traced); then tell the real call's rc.
 */
typedef void otelp_redis_cb(void *ac, void *reply, void *privdata);
bool otelp__redis_async_wrap(struct otelp_redis_cmd *cmd, void *ac, otelp_redis_cb **fn,
                             void **privdata);
void otelp__redis_async_sent(struct otelp_redis_cmd *cmd, void *privdata, int rc);

/*
 * A connect call returned ctx (NULL: out of memory), started at t0: TCP ip/port or Unix
 * path. A failed connection is an error span.
 */
void otelp__redis_connected(void *ctx, const char *ip, int port, const char *path, uint64_t t0,
                            bool async);
/*
 * redisAsyncSetConnectCallback(ac, fn): true when ac's connect callback is ours, then fn is
 * kept as the program's (called after ours) and *rc is what hiredis would have returned.
 */
bool otelp__redis_set_connect_cb(void *ac, void *fn, int *rc);
/* The context is being freed (or disconnected): spans still waiting end with an error. */
void otelp__redis_freeing(void *ctx);

#endif
