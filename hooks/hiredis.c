/*
 * hiredis hooks: blocking, pipelined and asynchronous Redis commands, connects and frees.
 * Compiled against hiredis' headers only (Debian's 0.14; nothing here depends on a
 * structure's layout, see src/redis.h). The variadic entry points (redisCommand,
 * redisAppendCommand, redisAsyncCommand) call the real va_list variants.
 */
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>

#include "hook.h"
#include "redis.h"

OTELP_REAL_SLOT(redisvCommand);
OTELP_REAL_SLOT(redisvAppendCommand);
OTELP_REAL_SLOT(redisvAsyncCommand);

/* Enter a traced call: the real function is resolved and the guard taken. */
static inline int enter(void **slot, const char *name, void *self)
{
	if (otelp_unlikely(!otelp__resolve(slot, name, self))) {
		errno = ENOSYS;
		return -1;
	}
	if (!otelp__is_on() || !otelp__redis_on() || !otelp__guard_enter())
		return 0;
	return 1;
}

/*
 * A call to pass straight on, decided before anything else (no registers saved, a jump):
 * the real function is known and the guard is held (hiredis calling itself, our own calls).
 */
#define PASS_THROUGH(name)                                                        \
	(otelp_likely(__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE) != NULL) && \
	 otelp__guard_depth)

static __attribute__((noinline)) void *command_v(redisContext *c, const char *format, va_list ap)
{
	int e = enter(&real_redisvCommand, "redisvCommand", (void *)redisvCommand);
	if (e < 0)
		return NULL;
	if (e == 0)
		return OTELP_REAL(redisvCommand)(c, format, ap);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_fmt(&cmd, c, format, ap);
	void *r = OTELP_REAL(redisvCommand)(c, format, ap);
	OTELP_SAVE_ERRNO(otelp__redis_command_done(&cmd, c, r));
	otelp__guard_leave();
	return r;
}

OTELP_EXPORT void *redisvCommand(redisContext *c, const char *format, va_list ap)
{
	if (PASS_THROUGH(redisvCommand))
		return OTELP_REAL(redisvCommand)(c, format, ap);
	return command_v(c, format, ap);
}

OTELP_EXPORT void *redisCommand(redisContext *c, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	void *r = command_v(c, format, ap);
	va_end(ap);
	return r;
}

OTELP_HOOK(void *, redisCommandArgv, NULL,
           (redisContext * c, int argc, const char **argv, const size_t *argvlen),
           (c, argc, argv, argvlen))
{
	if (!otelp__redis_on())
		return OTELP_REAL(redisCommandArgv)(c, argc, argv, argvlen);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_argv(&cmd, c, argc, argv, argvlen);
	void *r = OTELP_REAL(redisCommandArgv)(c, argc, argv, argvlen);
	OTELP_SAVE_ERRNO(otelp__redis_command_done(&cmd, c, r));
	return r;
}

static __attribute__((noinline)) int append_v(redisContext *c, const char *format, va_list ap)
{
	int e =
	    enter(&real_redisvAppendCommand, "redisvAppendCommand", (void *)redisvAppendCommand);
	if (e < 0)
		return REDIS_ERR;
	if (e == 0)
		return OTELP_REAL(redisvAppendCommand)(c, format, ap);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_fmt(&cmd, c, format, ap);
	int rc = OTELP_REAL(redisvAppendCommand)(c, format, ap);
	OTELP_SAVE_ERRNO(otelp__redis_appended(&cmd, c, rc));
	otelp__guard_leave();
	return rc;
}

OTELP_EXPORT int redisvAppendCommand(redisContext *c, const char *format, va_list ap)
{
	if (PASS_THROUGH(redisvAppendCommand))
		return OTELP_REAL(redisvAppendCommand)(c, format, ap);
	return append_v(c, format, ap);
}

OTELP_EXPORT int redisAppendCommand(redisContext *c, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int rc = append_v(c, format, ap);
	va_end(ap);
	return rc;
}

OTELP_HOOK(int, redisAppendCommandArgv, REDIS_ERR,
           (redisContext * c, int argc, const char **argv, const size_t *argvlen),
           (c, argc, argv, argvlen))
{
	if (!otelp__redis_on())
		return OTELP_REAL(redisAppendCommandArgv)(c, argc, argv, argvlen);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_argv(&cmd, c, argc, argv, argvlen);
	int rc = OTELP_REAL(redisAppendCommandArgv)(c, argc, argv, argvlen);
	OTELP_SAVE_ERRNO(otelp__redis_appended(&cmd, c, rc));
	return rc;
}

/*
 * By hand: inside redisCommand, hiredis calls it with the guard held (passed straight on);
 * otherwise as OTELP_HOOK would (the real call made with the guard held).
 */
OTELP_REAL_SLOT(redisGetReply);
static __attribute__((noinline)) int get_reply(redisContext *c, void **reply)
{
	if (otelp_unlikely(
	        !otelp__resolve(&real_redisGetReply, "redisGetReply", (void *)redisGetReply))) {
		errno = ENOSYS;
		return REDIS_ERR;
	}
	if (!otelp__is_on() || !otelp__guard_enter())
		return OTELP_REAL(redisGetReply)(c, reply);
	int rc = OTELP_REAL(redisGetReply)(c, reply);
	if (otelp__redis_on())
		OTELP_SAVE_ERRNO(otelp__redis_got_reply(c, rc, reply ? *reply : NULL));
	otelp__guard_leave();
	return rc;
}

OTELP_EXPORT int redisGetReply(redisContext *c, void **reply)
{
	if (PASS_THROUGH(redisGetReply))
		return OTELP_REAL(redisGetReply)(c, reply);
	return get_reply(c, reply);
}

static int async_v(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, const char *format,
                   va_list ap)
{
	int e = enter(&real_redisvAsyncCommand, "redisvAsyncCommand", (void *)redisvAsyncCommand);
	if (e < 0)
		return REDIS_ERR;
	if (e == 0)
		return OTELP_REAL(redisvAsyncCommand)(ac, fn, privdata, format, ap);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_fmt(&cmd, ac, format, ap);
	otelp_redis_cb *f = (otelp_redis_cb *)fn;
	void *pd = privdata;
	otelp__redis_async_wrap(&cmd, ac, &f, &pd);
	int rc = OTELP_REAL(redisvAsyncCommand)(ac, (redisCallbackFn *)f, pd, format, ap);
	OTELP_SAVE_ERRNO(otelp__redis_async_sent(&cmd, pd, rc));
	otelp__guard_leave();
	return rc;
}

OTELP_EXPORT int redisvAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata,
                                    const char *format, va_list ap)
{
	return async_v(ac, fn, privdata, format, ap);
}

OTELP_EXPORT int redisAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata,
                                   const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	int rc = async_v(ac, fn, privdata, format, ap);
	va_end(ap);
	return rc;
}

OTELP_HOOK(int, redisAsyncCommandArgv, REDIS_ERR,
           (redisAsyncContext * ac, redisCallbackFn *fn, void *privdata, int argc,
            const char **argv, const size_t *argvlen),
           (ac, fn, privdata, argc, argv, argvlen))
{
	if (!otelp__redis_on())
		return OTELP_REAL(redisAsyncCommandArgv)(ac, fn, privdata, argc, argv, argvlen);
	struct otelp_redis_cmd cmd;
	otelp__redis_begin_argv(&cmd, ac, argc, argv, argvlen);
	otelp_redis_cb *f = (otelp_redis_cb *)fn;
	void *pd = privdata;
	otelp__redis_async_wrap(&cmd, ac, &f, &pd);
	int rc =
	    OTELP_REAL(redisAsyncCommandArgv)(ac, (redisCallbackFn *)f, pd, argc, argv, argvlen);
	OTELP_SAVE_ERRNO(otelp__redis_async_sent(&cmd, pd, rc));
	return rc;
}

/* Connects: remember the address; a failed one is an error span. */
#define REDIS_CONNECT(type, name, params, args, ip, port, path, async)                  \
	OTELP_HOOK(type *, name, NULL, params, args)                                    \
	{                                                                               \
		if (!otelp__redis_on())                                                 \
			return OTELP_REAL(name) args;                                   \
		uint64_t t0 = otelp__now_ns();                                          \
		type *c = OTELP_REAL(name) args;                                        \
		OTELP_SAVE_ERRNO(otelp__redis_connected(c, ip, port, path, t0, async)); \
		return c;                                                               \
	}

REDIS_CONNECT(redisContext, redisConnect, (const char *ip, int port), (ip, port), ip, port, NULL,
              false)
REDIS_CONNECT(redisContext, redisConnectWithTimeout,
              (const char *ip, int port, const struct timeval tv), (ip, port, tv), ip, port, NULL,
              false)
REDIS_CONNECT(redisContext, redisConnectNonBlock, (const char *ip, int port), (ip, port), ip, port,
              NULL, false)
REDIS_CONNECT(redisContext, redisConnectBindNonBlock,
              (const char *ip, int port, const char *source_addr), (ip, port, source_addr), ip,
              port, NULL, false)
REDIS_CONNECT(redisContext, redisConnectBindNonBlockWithReuse,
              (const char *ip, int port, const char *source_addr), (ip, port, source_addr), ip,
              port, NULL, false)
REDIS_CONNECT(redisContext, redisConnectUnix, (const char *path), (path), NULL, 0, path, false)
REDIS_CONNECT(redisContext, redisConnectUnixWithTimeout,
              (const char *path, const struct timeval tv), (path, tv), NULL, 0, path, false)
REDIS_CONNECT(redisContext, redisConnectUnixNonBlock, (const char *path), (path), NULL, 0, path,
              false)
REDIS_CONNECT(redisAsyncContext, redisAsyncConnect, (const char *ip, int port), (ip, port), ip,
              port, NULL, true)
REDIS_CONNECT(redisAsyncContext, redisAsyncConnectBind,
              (const char *ip, int port, const char *source_addr), (ip, port, source_addr), ip,
              port, NULL, true)
REDIS_CONNECT(redisAsyncContext, redisAsyncConnectBindWithReuse,
              (const char *ip, int port, const char *source_addr), (ip, port, source_addr), ip,
              port, NULL, true)
REDIS_CONNECT(redisAsyncContext, redisAsyncConnectUnix, (const char *path), (path), NULL, 0, path,
              true)

OTELP_HOOK(int, redisAsyncSetConnectCallback, REDIS_ERR,
           (redisAsyncContext * ac, redisConnectCallback *fn), (ac, fn))
{
	int rc;
	if (otelp__redis_on() && otelp__redis_set_connect_cb(ac, (void *)fn, &rc))
		return rc;
	return OTELP_REAL(redisAsyncSetConnectCallback)(ac, fn);
}

/* Frees: spans still waiting for a reply end with an error. */
OTELP_REAL_SLOT(redisFree);
OTELP_EXPORT void redisFree(redisContext *c)
{
	if (otelp_unlikely(!otelp__resolve(&real_redisFree, "redisFree", (void *)redisFree)))
		return;
	if (c && otelp__is_on() && otelp__redis_on() && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__redis_freeing(c));
		otelp__guard_leave();
	}
	OTELP_REAL(redisFree)(c);
}

OTELP_REAL_SLOT(redisAsyncFree);
OTELP_EXPORT void redisAsyncFree(redisAsyncContext *ac)
{
	if (otelp_unlikely(
	        !otelp__resolve(&real_redisAsyncFree, "redisAsyncFree", (void *)redisAsyncFree)))
		return;
	if (ac && otelp__is_on() && otelp__redis_on() && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__redis_freeing(ac));
		otelp__guard_leave();
	}
	/* hiredis calls the pending callbacks with a NULL reply: their spans end there. */
	OTELP_REAL(redisAsyncFree)(ac);
}

OTELP_REAL_SLOT(redisAsyncDisconnect);
OTELP_EXPORT void redisAsyncDisconnect(redisAsyncContext *ac)
{
	if (otelp_unlikely(!otelp__resolve(&real_redisAsyncDisconnect, "redisAsyncDisconnect",
	                                   (void *)redisAsyncDisconnect)))
		return;
	if (ac && otelp__is_on() && otelp__redis_on() && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__redis_freeing(ac));
		otelp__guard_leave();
	}
	OTELP_REAL(redisAsyncDisconnect)(ac);
}

/* For dlsym(handle, "redisCommand") (hooks/dl.c). The variadic entries have no slot of
 * their own: they call the va_list variants, which find their real function themselves. */
static void *unused_slot[3];
#define E(name)                                   \
	{                                         \
#name, (void *)name, &real_##name \
	}
const struct otelp_hook_entry otelp__hiredis_hooks[] = {
    {"redisCommand", (void *)redisCommand, &unused_slot[0]},
    {"redisAppendCommand", (void *)redisAppendCommand, &unused_slot[1]},
    {"redisAsyncCommand", (void *)redisAsyncCommand, &unused_slot[2]},
    E(redisvCommand),
    E(redisCommandArgv),
    E(redisvAppendCommand),
    E(redisAppendCommandArgv),
    E(redisGetReply),
    E(redisvAsyncCommand),
    E(redisAsyncCommandArgv),
    E(redisConnect),
    E(redisConnectWithTimeout),
    E(redisConnectNonBlock),
    E(redisConnectBindNonBlock),
    E(redisConnectBindNonBlockWithReuse),
    E(redisConnectUnix),
    E(redisConnectUnixWithTimeout),
    E(redisConnectUnixNonBlock),
    E(redisAsyncConnect),
    E(redisAsyncConnectBind),
    E(redisAsyncConnectBindWithReuse),
    E(redisAsyncConnectUnix),
    E(redisFree),
    E(redisAsyncFree),
    E(redisAsyncDisconnect),
    E(redisAsyncSetConnectCallback),
};
#undef E
const unsigned otelp__hiredis_nhooks =
    sizeof(otelp__hiredis_hooks) / sizeof(otelp__hiredis_hooks[0]);
