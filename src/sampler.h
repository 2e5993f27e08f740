/*
 * This file is private to otelpreload.
 *
 * Samplers (OTEL_TRACES_SAMPLER): always_on, always_off, traceidratio and the parentbased_*
 * variants, with the parent-based delegation table of the SDK specification.
 *
 * Ratio algorithm (the specification leaves it open): the rule of the ProbabilitySampler,
 * which uses the random low bits of the trace id: R = the last 7 bytes of the trace id as a
 * 56-bit big-endian integer, T = round((1 - ratio) * 2^56); sample iff R >= T. Deterministic
 * in the trace id; a higher ratio samples a superset of a lower one; ratio 0 never samples,
 * ratio 1 always does.
 */
#ifndef OTELP_SAMPLER_H
#define OTELP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "span.h"

enum otelp_decision {
	OTELP_DROP,
	OTELP_RECORD_ONLY,
	OTELP_RECORD_AND_SAMPLE,
};

enum otelp_decision otelp__sample(enum otelp_sampler_kind kind, double ratio,
                                  const struct otelp_ctx *parent, const uint8_t trace_id[16]);
/* The ratio sampler alone (also the root delegate of parentbased_traceidratio). */
bool otelp__ratio_sampled(double ratio, const uint8_t trace_id[16]);
/* Description, e.g. "ParentBased{root=TraceIdRatioBased{0.250000}}". */
size_t otelp__sampler_description(enum otelp_sampler_kind kind, double ratio, char *out,
                                  size_t cap);

#endif
