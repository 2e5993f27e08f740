/*
 * Hooks of the core: thread creation (context inheritance), fd hygiene (close, close_range,
 * dup2, dup3 never break the shim's own fds) and signal dispositions (the program keeps
 * seeing SIG_DFL where the shim flushes on a fatal signal).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdguard.h"
#include "hook.h"
#include "http.h"
#include "span.h"

/* ---- pthread_create: new threads inherit the creator's current context ---- */

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	struct otelp_ctx ctx;
	bool suppressed;
};

static void *thread_trampoline(void *p)
{
	struct thread_start st = *(struct thread_start *)p;
	free(p);
	if (st.suppressed)
		otelp__guard_suppress_thread(); /* helpers of the exporter (curl's resolver) */
	else
		otelp__ctx_reset(&st.ctx);
	return st.fn(st.arg);
}

OTELP_REAL_SLOT(pthread_create);

OTELP_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                                void *arg)
{
	if (otelp_unlikely(
	        !otelp__resolve(&real_pthread_create, "pthread_create", (void *)pthread_create)))
		return ENOSYS;
	bool suppressed = otelp__guard_suppressed();
	const struct otelp_ctx *c = otelp__ctx_current();
	/* Nothing to hand over: no wrapper, no allocation. */
	if (!otelp__is_on() || (!suppressed && !c->valid))
		return OTELP_REAL(pthread_create)(th, attr, fn, arg);
	struct thread_start *st = malloc(sizeof(*st));
	if (!st)
		return OTELP_REAL(pthread_create)(th, attr, fn, arg);
	st->fn = fn;
	st->arg = arg;
	st->ctx = *c;
	st->suppressed = suppressed;
	int rc = OTELP_REAL(pthread_create)(th, attr, thread_trampoline, st);
	if (rc != 0)
		free(st);
	return rc;
}

/* ---- fd hygiene ---- */

static bool foreign_touch(int fd)
{
	return otelp__fd_is_ours(fd) && !otelp__guard_suppressed();
}

/* A tracked connection's fd is about to be closed (or replaced): end and forget it. */
static void forget_fd(int fd)
{
	if (otelp_unlikely(otelp__conn_of(fd) != NULL) && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__http_forget(fd));
		otelp__guard_leave();
	}
}

OTELP_REAL_SLOT(close);

OTELP_EXPORT int close(int fd)
{
	if (otelp_unlikely(!otelp__resolve(&real_close, "close", (void *)close))) {
		errno = ENOSYS;
		return -1;
	}
	if (otelp_unlikely(foreign_touch(fd))) {
		/* Not the program's fd: as if it were not open. */
		errno = EBADF;
		return -1;
	}
	forget_fd(fd);
	return OTELP_REAL(close)(fd);
}

OTELP_REAL_SLOT(close_range);

OTELP_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (otelp_unlikely(
	        !otelp__resolve(&real_close_range, "close_range", (void *)close_range))) {
		errno = ENOSYS;
		return -1;
	}
	int (*real)(unsigned int, unsigned int, int) = OTELP_REAL(close_range);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__http_forget_range(first, last));
		otelp__guard_leave();
	}
	if (otelp__guard_suppressed() || (flags & CLOSE_RANGE_CLOEXEC))
		return real(first, last, flags); /* ours are close-on-exec already */
	/* Close the range around our fds, in pieces. */
	unsigned int from = first;
	for (int fd = 0; fd < 65536 + 64 && (unsigned int)fd <= last; fd++) {
		if ((unsigned int)fd < from || !otelp__fd_is_ours(fd))
			continue;
		if ((unsigned int)fd > from && real(from, (unsigned int)fd - 1, flags) != 0)
			return -1;
		from = (unsigned int)fd + 1;
	}
	if (from > last || from < first) /* wrapped past UINT_MAX */
		return 0;
	return real(from, last, flags);
}

/* dup2/dup3: newfd's connection ends; oldfd's stream now has two writers. */
static void dup_onto(int oldfd, int newfd)
{
	forget_fd(newfd);
	if (otelp_unlikely(otelp__conn_of(oldfd) != NULL) && otelp__guard_enter()) {
		OTELP_SAVE_ERRNO(otelp__http_on_dup(oldfd));
		otelp__guard_leave();
	}
}

OTELP_REAL_SLOT(dup2);

OTELP_EXPORT int dup2(int oldfd, int newfd)
{
	if (otelp_unlikely(!otelp__resolve(&real_dup2, "dup2", (void *)dup2))) {
		errno = ENOSYS;
		return -1;
	}
	/* The program chose that number: it wins; we never touch that fd again. */
	if (otelp_unlikely(foreign_touch(newfd)) && oldfd != newfd)
		otelp__fd_mark_stolen(newfd);
	if (oldfd != newfd)
		dup_onto(oldfd, newfd);
	return OTELP_REAL(dup2)(oldfd, newfd);
}

OTELP_REAL_SLOT(dup3);

OTELP_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (otelp_unlikely(!otelp__resolve(&real_dup3, "dup3", (void *)dup3))) {
		errno = ENOSYS;
		return -1;
	}
	if (otelp_unlikely(foreign_touch(newfd)) && oldfd != newfd)
		otelp__fd_mark_stolen(newfd);
	if (oldfd != newfd)
		dup_onto(oldfd, newfd);
	return OTELP_REAL(dup3)(oldfd, newfd, flags);
}

/* ---- signal dispositions ---- */

OTELP_REAL_SLOT(sigaction);

static void as_default(struct sigaction *old)
{
	if (old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
}

OTELP_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (otelp_unlikely(!otelp__resolve(&real_sigaction, "sigaction", (void *)sigaction))) {
		errno = ENOSYS;
		return -1;
	}
	int (*real)(int, const struct sigaction *, struct sigaction *) = OTELP_REAL(sigaction);
	if (otelp_likely(!otelp__sig_owned(sig)))
		return real(sig, act, old);
	if (!act || (act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO))) {
		/* A query, or "default" again: ours stays, the program sees the default. */
		as_default(old);
		return 0;
	}
	int rc = real(sig, act, NULL);
	if (rc == 0) {
		otelp__sig_disown(sig);
		as_default(old);
	}
	return rc;
}

OTELP_REAL_SLOT(signal);

OTELP_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	if (otelp_unlikely(!otelp__resolve(&real_signal, "signal", (void *)signal))) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	if (otelp_likely(!otelp__sig_owned(sig)))
		return OTELP_REAL(signal)(sig, handler);
	if (handler == SIG_DFL)
		return SIG_DFL;
	sighandler_t prev = OTELP_REAL(signal)(sig, handler);
	if (prev == SIG_ERR)
		return SIG_ERR;
	otelp__sig_disown(sig);
	return SIG_DFL;
}
