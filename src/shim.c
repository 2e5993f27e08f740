/*
 * Process-level state of the shim (see shim.h).
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attrset.h"
#include "bsp.h"
#include "config.h"
#include "log.h"
#include "http.h"
#include "shim.h"
#include "span.h"
#include "transport.h"

OTELP_TLS unsigned otelp__guard_depth;

#define SUPPRESSED 0x40000000u

static atomic_int state = OTELP_STATE_NEW;
static atomic_int owned_sigs; /* bit per signal we handle on the program's behalf */

void otelp__guard_suppress_thread(void)
{
	otelp__guard_depth = SUPPRESSED;
}

bool otelp__guard_suppressed(void)
{
	return otelp__guard_depth >= SUPPRESSED;
}

/*
 * glibc's dlsym. dlvsym with RTLD_NEXT from here finds the definition after
 * libotelpreload's own (hooks/dl.c), i.e. libc's (GLIBC_2.34 since glibc moved libdl into
 * libc; GLIBC_2.2.5 before, on x86_64).
 */
void *(*_Atomic otelp__dlsym_real)(void *, const char *);

OTELP_NO_SANITIZE void *(*otelp__dlsym_resolve(void))(void *, const char *)
{
	void *(*f)(void *, const char *) = atomic_load(&otelp__dlsym_real);
	if (f)
		return f;
	static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17",
	                                       "GLIBC_2.0"};
	for (size_t i = 0; !f && i < sizeof(versions) / sizeof(versions[0]); i++)
		f = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", versions[i]);
	if (f)
		atomic_store(&otelp__dlsym_real, f);
	return f;
}

OTELP_NO_SANITIZE void *otelp__libc_dlsym(void *handle, const char *name)
{
	void *(*f)(void *, const char *) = otelp__dlsym_resolve();
	return f ? f(handle, name) : NULL;
}

/* Is p inside the object that holds this code (libotelpreload)? */
static bool in_ourselves(void *p)
{
	static void *our_base;
	Dl_info a, b;

	if (!our_base && dladdr((void *)otelp__real_sym, &a))
		our_base = a.dli_fbase;
	return our_base && dladdr(p, &b) && b.dli_fbase == our_base;
}

/*
 * A library loaded with RTLD_LOCAL (by dlopen, or as a dependency of such a library: a
 * Python extension linking libpq) is not in the global scope that RTLD_NEXT searches. Its
 * functions still bind to ours (we are in the global scope, which is searched first), so our
 * hook must find the real definition another way: walk the loaded objects and ask each one.
 * dlopen(RTLD_NOLOAD) only takes a reference on an object already loaded.
 */
static void *find_in_loaded(const char *name, void *self)
{
	void *main_h = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
	struct link_map *lm = NULL;
	void *found = NULL;

	if (!main_h)
		return NULL;
	if (dlinfo(main_h, RTLD_DI_LINKMAP, &lm) != 0)
		lm = NULL;
	for (; lm && !found; lm = lm->l_next) {
		if (!lm->l_name || !lm->l_name[0])
			continue;
		void *h = dlopen(lm->l_name, RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			continue;
		void *p = otelp__libc_dlsym(h, name);
		if (p && p != self && !in_ourselves(p))
			found = p;
		dlclose(h);
	}
	dlclose(main_h);
	return found;
}

void *otelp__real_sym(const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (p && (p == self || in_ourselves(p)))
		p = NULL; /* never resolve to ourselves: that would recurse forever */
	if (!p)
		p = find_in_loaded(name, self);
	return p;
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

int otelp__libc_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                               void *arg)
{
	static _Atomic(pthread_create_fn) real;
	pthread_create_fn f = atomic_load_explicit(&real, memory_order_acquire);
	if (!f) {
		f = (pthread_create_fn)otelp__real_sym("pthread_create", NULL);
		if (!f)
			return ENOSYS;
		atomic_store_explicit(&real, f, memory_order_release);
	}
	return f(th, attr, fn, arg);
}

int otelp__libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	static _Atomic(sigaction_fn) real;
	sigaction_fn f = atomic_load_explicit(&real, memory_order_acquire);
	if (!f) {
		f = (sigaction_fn)otelp__real_sym("sigaction", NULL);
		if (!f) {
			errno = ENOSYS;
			return -1;
		}
		atomic_store_explicit(&real, f, memory_order_release);
	}
	return f(sig, act, old);
}

/* ---- fatal signals ---- */

bool otelp__sig_owned(int sig)
{
	return sig > 0 && sig < 32 && (atomic_load(&owned_sigs) & (1 << sig));
}

void otelp__sig_disown(int sig)
{
	if (sig > 0 && sig < 32)
		atomic_fetch_and(&owned_sigs, ~(1 << sig));
}

static void on_fatal_signal(int sig)
{
	/* Async-signal-safe only: futex waits, sigaction, sigprocmask, raise. */
	int saved = errno;
	otelp__bsp_flush(otelp__cfg.shutdown_timeout_ms, true);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	otelp__libc_sigaction(sig, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	raise(sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* Not reached unless the signal is blocked elsewhere; then it stays pending. */
	errno = saved;
}

static void own_fatal_signals(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(sigs); i++) {
		struct sigaction cur;
		if (otelp__libc_sigaction(sigs[i], NULL, &cur) != 0)
			continue;
		if (cur.sa_handler != SIG_DFL || (cur.sa_flags & SA_SIGINFO))
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal_signal;
		sa.sa_flags = SA_RESTART;
		sigfillset(&sa.sa_mask);
		atomic_fetch_or(&owned_sigs, 1 << sigs[i]);
		if (otelp__libc_sigaction(sigs[i], &sa, NULL) != 0)
			otelp__sig_disown(sigs[i]);
	}
}

/* ---- fork ---- */

static void atfork_child(void)
{
	otelp__pid_refresh();
	otelp__ids_after_fork();
	otelp__bsp_after_fork_child();
	otelp__attrset_after_fork();
	otelp__http_after_fork();
}

/* ---- exit ---- */

void otelp__shim_atexit(void)
{
	/* Registered twice (see bsp.c); a fork child inherits the registrations and the flag. */
	static atomic_int done_pid;
	if (atomic_load(&state) != OTELP_STATE_ON ||
	    atomic_exchange(&done_pid, otelp__pid) == otelp__pid)
		return;
	otelp__bsp_shutdown(otelp__cfg.shutdown_timeout_ms);
	uint64_t lost = atomic_load(&otelp__stats.spans_dropped_queue_full) +
	                atomic_load(&otelp__stats.spans_dropped_no_slot) +
	                atomic_load(&otelp__stats.spans_dropped_export);
	if (lost)
		OTELP_WARN("spans lost: %llu (queue full %llu, no free span %llu, export failed "
		           "%llu); exported %llu",
		           (unsigned long long)lost,
		           (unsigned long long)atomic_load(&otelp__stats.spans_dropped_queue_full),
		           (unsigned long long)atomic_load(&otelp__stats.spans_dropped_no_slot),
		           (unsigned long long)atomic_load(&otelp__stats.spans_dropped_export),
		           (unsigned long long)atomic_load(&otelp__stats.spans_exported));
}

/* ---- init ---- */

static const char *env_get(const char *name)
{
	return getenv(name);
}

static enum otelp_log_level early_log_level(const char *v)
{
	if (!v)
		return OTELP_LOG_INFO;
	if (!strcasecmp(v, "debug") || !strcasecmp(v, "verbose") || !strcasecmp(v, "all"))
		return OTELP_LOG_DEBUG;
	if (!strcasecmp(v, "none"))
		return OTELP_LOG_NONE;
	if (!strcasecmp(v, "error"))
		return OTELP_LOG_ERROR;
	if (!strcasecmp(v, "warn"))
		return OTELP_LOG_WARN;
	return OTELP_LOG_INFO;
}

static bool do_init(void)
{
	bool secure = getauxval(AT_SECURE) != 0;
	otelp__pid_refresh();
	/* The log destination first, so configuration warnings reach it. */
	if (!secure)
		otelp__log_init(early_log_level(getenv("OTEL_LOG_LEVEL")),
		                getenv("OTEL_PRELOAD_LOG_FILE"));
	otelp__config_load(&otelp__cfg, env_get, secure);
	if (otelp__cfg.disabled)
		return false;
	otelp__log_level = otelp__log_level ? otelp__cfg.log_level : OTELP_LOG_NONE;
	/* Queue plus spans in flight on other threads; objects are touched only when used. */
	uint32_t pool = otelp__cfg.bsp_max_queue_size + otelp__cfg.bsp_max_export_batch_size + 4096;
	if (otelp__pool_init(pool) != 0 || otelp__bsp_init() != 0) {
		OTELP_ERR("cannot allocate span storage: tracing off");
		return false;
	}
	if (otelp__cfg.exporter == OTELP_EXPORTER_OTLP)
		otelp__transport_global_init();
	pthread_atfork(NULL, NULL, atfork_child);
	own_fatal_signals();
	OTELP_DBG("on: pid %d, exporter %d, endpoint %s", otelp__pid, otelp__cfg.exporter,
	          otelp__cfg.otlp_endpoint);
	return true;
}

bool otelp__ensure_init(void)
{
	int s = atomic_load_explicit(&state, memory_order_acquire);
	if (otelp_likely(s == OTELP_STATE_ON))
		return true;
	if (s != OTELP_STATE_NEW)
		return false;
	if (!atomic_compare_exchange_strong(&state, &s, OTELP_STATE_INITIALIZING))
		return false;
	unsigned saved_guard = otelp__guard_depth;
	otelp__guard_depth = 1; /* our own calls during init are never traced */
	int saved_errno = errno;
	bool on = do_init();
	errno = saved_errno;
	otelp__guard_depth = saved_guard;
	atomic_store_explicit(&state, on ? OTELP_STATE_ON : OTELP_STATE_OFF, memory_order_release);
	return on;
}

bool otelp__is_on(void)
{
	return atomic_load_explicit(&state, memory_order_acquire) == OTELP_STATE_ON;
}

void otelp__init_from_ctor(void)
{
	otelp__ensure_init();
}
