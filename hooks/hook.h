/*
 * The one hook mechanism of otelpreload. Every interposed function is defined with
 * OTELP_HOOK (or written by hand on the same pattern for variadic ones):
 *
 *   - the real function is resolved lazily and thread-safely (dlsym RTLD_NEXT, published with
 *     an atomic store), so a hook works even when it runs before our constructor; resolving
 *     to ourselves is refused; an unresolvable function fails with ENOSYS, never aborts;
 *   - the per-thread reentrancy guard (initial-exec TLS) makes nested calls, our own calls and
 *     the exporter thread's calls pass straight through;
 *   - the body runs with the guard held; it must return the real result and leave errno as
 *     the real call left it (OTELP_SAVE_ERRNO around any work after the real call).
 *
 * A hook holds no protocol logic: it calls into src/.
 */
#ifndef OTELP_HOOK_H
#define OTELP_HOOK_H

#include <errno.h>

#include "common.h"
#include "shim.h"

/* Resolve *slot once; true when the real function is known. */
static inline bool otelp__resolve(void **slot, const char *name, void *self)
{
	if (otelp_likely(__atomic_load_n(slot, __ATOMIC_ACQUIRE) != NULL))
		return true;
	void *p = otelp__real_sym(name, self);
	if (!p)
		return false;
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return true;
}

/* The real function, once otelp__resolve() succeeded. */
#define OTELP_REAL(name) ((__typeof__(&name))__atomic_load_n(&real_##name, __ATOMIC_RELAXED))
/* Its slot. */
#define OTELP_REAL_SLOT(name) static void *real_##name

/*
 * OTELP_HOOK(ret, name, fail, params, args) { body }
 * defines the exported `name`; the body is the traced path, entered with the guard held and
 * the shim on. OTELP_REAL(name) calls the real function.
 */
#define OTELP_HOOK(ret, name, fail, params, args)                                         \
	OTELP_REAL_SLOT(name);                                                            \
	static ret otelp__hook_##name params;                                             \
	OTELP_EXPORT ret name params                                                      \
	{                                                                                 \
		if (otelp_unlikely(!otelp__resolve(&real_##name, #name, (void *)name))) { \
			errno = ENOSYS;                                                   \
			return fail;                                                      \
		}                                                                         \
		if (!otelp__is_on() || !otelp__guard_enter())                             \
			return OTELP_REAL(name) args;                                     \
		ret r_ = otelp__hook_##name args;                                         \
		otelp__guard_leave();                                                     \
		return r_;                                                                \
	}                                                                                 \
	static ret otelp__hook_##name params

/*
 * Hooks of library functions a program may also reach through dlsym(handle, name)
 * (libpq, hiredis): each hook file lists its own in a table. otelp__hook_for(name, real)
 * returns our hook for name, first recording real as the function it calls when it does not
 * know one yet; NULL when name is not one of them or real is already ours.
 */
struct otelp_hook_entry {
	const char *name;
	void *fn;    /* our definition */
	void **slot; /* its real function */
};
void *otelp__hook_for(const char *name, void *real);
extern const struct otelp_hook_entry otelp__libpq_hooks[];
extern const unsigned otelp__libpq_nhooks;
extern const struct otelp_hook_entry otelp__hiredis_hooks[];
extern const unsigned otelp__hiredis_nhooks;

#endif
