/*
 * This file is private to otelpreload.
 *
 * The resource describing this process (service.name, telemetry.sdk.*, process.*, host.name),
 * merged with OTEL_RESOURCE_ATTRIBUTES. Built off the hot path (by the exporter thread), and
 * rebuilt after fork because process.pid changes.
 *
 * Precedence, lowest first: detected defaults (telemetry.sdk.*, process.*, host.name,
 * service.name=unknown_service:<executable>), then OTEL_RESOURCE_ATTRIBUTES, then
 * OTEL_SERVICE_NAME for service.name.
 */
#ifndef OTELP_RESOURCE_H
#define OTELP_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define OTELP_RESOURCE_MAX (OTELP_CFG_KV_MAX + 16)

struct otelp_resource_attr {
	char key[OTELP_CFG_KEY_MAX];
	bool is_int;
	int64_t ival;
	char value[OTELP_CFG_STR_MAX]; /* when !is_int */
};

struct otelp_resource {
	struct otelp_resource_attr attrs[OTELP_RESOURCE_MAX];
	unsigned n;
	int pid; /* the pid it was built for */
};

/* Build from the running process and cfg. */
void otelp__resource_build(struct otelp_resource *r, const struct otelp_config *cfg);

/* Find an attribute by key, NULL if absent. */
const struct otelp_resource_attr *otelp__resource_get(const struct otelp_resource *r,
                                                      const char *key);

#endif
