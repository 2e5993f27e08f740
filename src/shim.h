/*
 * This file is private to otelpreload.
 *
 * Process-level state of the shim: initialisation, the per-thread reentrancy guard, the real
 * libc functions we also call ourselves, fork, exit and fatal-signal handling.
 *
 * Initialisation runs once, from our constructor or from the first hook or API call that
 * needs it, whichever comes first (another library's constructor may call us before ours
 * ran). It never waits: a thread that finds initialisation in progress elsewhere steps aside
 * (passes its call through untraced), so no hook can deadlock on it.
 */
#ifndef OTELP_SHIM_H
#define OTELP_SHIM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "common.h"

enum otelp_state {
	OTELP_STATE_NEW = 0,
	OTELP_STATE_INITIALIZING = 1,
	OTELP_STATE_ON = 2,
	OTELP_STATE_OFF = 3, /* disabled by configuration, secure mode, or a failed init */
};

/* Initialise if needed; true when the shim is on (tracing). Cheap once initialised. */
bool otelp__ensure_init(void);
/* Is the shim on? (no initialisation attempt) */
bool otelp__is_on(void);

/*
 * Reentrancy guard: a per-thread depth counter in initial-exec TLS. A hook enters before
 * doing any work of its own; calls made while the guard is held (by our own code, by libcurl
 * on the exporter thread, by libpq calling itself) pass straight through.
 */
extern OTELP_TLS unsigned otelp__guard_depth;
static inline bool otelp__guard_enter(void)
{
	if (otelp__guard_depth)
		return false;
	otelp__guard_depth = 1;
	return true;
}
static inline void otelp__guard_leave(void)
{
	otelp__guard_depth = 0;
}
/* The calling thread is never traced again (exporter thread and its helpers). */
void otelp__guard_suppress_thread(void);
bool otelp__guard_suppressed(void);

/*
 * Resolve the next definition of name after ours (dlsym RTLD_NEXT), else the definition in
 * a loaded object outside the global scope (RTLD_LOCAL); never returns self or anything else
 * inside libotelpreload, never aborts. NULL when not found.
 */
void *otelp__real_sym(const char *name, void *self);

/*
 * glibc's dlsym, bypassing our own interposed dlsym (hooks/dl.c). Not for RTLD_NEXT: that
 * one depends on who calls, and here the caller would be libotelpreload.
 */
void *otelp__libc_dlsym(void *handle, const char *name);
/* The pointer behind it (NULL until resolved) and its resolver, for hooks/dl.c. */
extern void *(*_Atomic otelp__dlsym_real)(void *, const char *);
void *(*otelp__dlsym_resolve(void))(void *, const char *);

/* Real libc functions the core itself needs (the hooks have their own pointers). */
int otelp__libc_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                               void *arg);
int otelp__libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* atexit handler: bounded final flush (registered by the exporter thread, see bsp.c). */
void otelp__shim_atexit(void);

/*
 * Fatal-signal flush. At init, for SIGTERM, SIGINT and SIGHUP left at the default action, we
 * install a handler that flushes (bounded) and then dies of the same signal. The program
 * still sees SIG_DFL through sigaction()/signal(); a handler it installs replaces ours.
 */
bool otelp__sig_owned(int sig);
void otelp__sig_disown(int sig);

/* Called by the constructor in hooks/. */
void otelp__init_from_ctor(void);

#endif
