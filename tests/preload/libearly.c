/*
 * Test library whose constructor calls hooked functions (close, pthread_create, the public
 * API) — linked into host-early, its constructor may run before the shim's own.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "otelpreload.h"

static void *noop(void *arg)
{
	return arg;
}

__attribute__((constructor)) static void early(void)
{
	close(-1);
	pthread_t th;
	if (pthread_create(&th, NULL, noop, NULL) == 0)
		pthread_join(th, NULL);
	uint64_t s = otelp_span_start("from-early-constructor", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(s);
}

void early_marker(void);
void early_marker(void)
{
}
