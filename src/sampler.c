/*
 * Samplers; the algorithm of the ratio sampler is described in sampler.h.
 */
#include <math.h>
#include <stdio.h>

#include "sampler.h"

bool otelp__ratio_sampled(double ratio, const uint8_t trace_id[16])
{
	if (!(ratio > 0.0)) /* also NaN */
		return false;
	if (ratio >= 1.0)
		return true;
	/* R: the 56 low bits (bytes 9..15), which W3C Level 2 makes random. */
	uint64_t r = 0;
	for (int i = 9; i < 16; i++)
		r = (r << 8) | trace_id[i];
	const double two56 = 72057594037927936.0;
	uint64_t t = (uint64_t)llround((1.0 - ratio) * two56);
	return r >= t;
}

static enum otelp_decision root_decision(enum otelp_sampler_kind kind, double ratio,
                                         const uint8_t trace_id[16])
{
	switch (kind) {
	case OTELP_SAMPLER_ALWAYS_OFF:
	case OTELP_SAMPLER_PB_ALWAYS_OFF:
		return OTELP_DROP;
	case OTELP_SAMPLER_TRACEIDRATIO:
	case OTELP_SAMPLER_PB_TRACEIDRATIO:
		return otelp__ratio_sampled(ratio, trace_id) ? OTELP_RECORD_AND_SAMPLE : OTELP_DROP;
	case OTELP_SAMPLER_ALWAYS_ON:
	case OTELP_SAMPLER_PB_ALWAYS_ON:
	default:
		return OTELP_RECORD_AND_SAMPLE;
	}
}

enum otelp_decision otelp__sample(enum otelp_sampler_kind kind, double ratio,
                                  const struct otelp_ctx *parent, const uint8_t trace_id[16])
{
	switch (kind) {
	case OTELP_SAMPLER_PB_ALWAYS_ON:
	case OTELP_SAMPLER_PB_ALWAYS_OFF:
	case OTELP_SAMPLER_PB_TRACEIDRATIO:
		/*
		 * ParentBased with the default delegates: a sampled parent (remote or local)
		 * is followed with AlwaysOn, an unsampled one with AlwaysOff; no parent: root.
		 */
		if (parent && parent->valid)
			return (parent->flags & OTELP_TRACE_FLAG_SAMPLED) ? OTELP_RECORD_AND_SAMPLE
			                                                  : OTELP_DROP;
		return root_decision(kind, ratio, trace_id);
	default:
		/* Not parent-based: the parent's flag is ignored. */
		return root_decision(kind, ratio, trace_id);
	}
}

size_t otelp__sampler_description(enum otelp_sampler_kind kind, double ratio, char *out, size_t cap)
{
	char ratio_desc[64];
	snprintf(ratio_desc, sizeof(ratio_desc), "TraceIdRatioBased{%f}", ratio);
	const char *root;
	bool pb = false;
	switch (kind) {
	case OTELP_SAMPLER_ALWAYS_ON:
		root = "AlwaysOnSampler";
		break;
	case OTELP_SAMPLER_ALWAYS_OFF:
		root = "AlwaysOffSampler";
		break;
	case OTELP_SAMPLER_TRACEIDRATIO:
		root = ratio_desc;
		break;
	case OTELP_SAMPLER_PB_ALWAYS_OFF:
		root = "AlwaysOffSampler";
		pb = true;
		break;
	case OTELP_SAMPLER_PB_TRACEIDRATIO:
		root = ratio_desc;
		pb = true;
		break;
	case OTELP_SAMPLER_PB_ALWAYS_ON:
	default:
		root = "AlwaysOnSampler";
		pb = true;
		break;
	}
	int n =
	    pb ? snprintf(out, cap, "ParentBased{root=%s}", root) : snprintf(out, cap, "%s", root);
	return n < 0 ? 0 : (size_t)n;
}
