/*
 * Load-time entry point of libotelpreload.so.
 */
#include <dlfcn.h>

#include "../include/otelpreload.h"
#include "hook.h"

__attribute__((constructor)) static void otelp_ctor(void)
{
	/*
	 * Loaded twice (LD_PRELOAD and /etc/ld.so.preload, or two paths)? The first copy in the
	 * global scope owns every hook; this one stands down.
	 */
	void *first = dlsym(RTLD_DEFAULT, "otelp_abi_version");
	if (first && first != (void *)otelp_abi_version)
		return;
	otelp__init_from_ctor();
}
