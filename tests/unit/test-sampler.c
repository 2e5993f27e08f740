/* Samplers: the parent-based table, the ratio algorithm's statistics and properties. */
#include <check.h>

#include "check-run.h"
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

static void random_id(uint8_t id[16])
{
	otelp__ids_trace(id);
}

static struct otelp_ctx parent(bool remote, bool sampled)
{
	struct otelp_ctx c;
	memset(&c, 0, sizeof(c));
	c.valid = true;
	c.remote = remote;
	c.flags = sampled ? OTELP_TRACE_FLAG_SAMPLED : 0;
	memset(c.trace_id, 0x11, 16);
	memset(c.span_id, 0x22, 8);
	return c;
}

START_TEST(always_on_off)
{
	uint8_t id[16];
	random_id(id);
	struct otelp_ctx unsampled = parent(true, false);
	ck_assert_int_eq(otelp__sample(OTELP_SAMPLER_ALWAYS_ON, 1, NULL, id),
	                 OTELP_RECORD_AND_SAMPLE);
	/* Not parent-based: the parent's flag is ignored. */
	ck_assert_int_eq(otelp__sample(OTELP_SAMPLER_ALWAYS_ON, 1, &unsampled, id),
	                 OTELP_RECORD_AND_SAMPLE);
	struct otelp_ctx sampled = parent(true, true);
	ck_assert_int_eq(otelp__sample(OTELP_SAMPLER_ALWAYS_OFF, 1, &sampled, id), OTELP_DROP);
}
END_TEST

START_TEST(parent_based_table)
{
	static const enum otelp_sampler_kind kinds[] = {
	    OTELP_SAMPLER_PB_ALWAYS_ON, OTELP_SAMPLER_PB_ALWAYS_OFF, OTELP_SAMPLER_PB_TRACEIDRATIO};
	uint8_t id[16];
	memset(id, 0xff, 16); /* R = max: sampled by any ratio > 0 */
	for (unsigned k = 0; k < 3; k++) {
		for (int remote = 0; remote < 2; remote++) {
			struct otelp_ctx s = parent(remote, true), u = parent(remote, false);
			ck_assert_int_eq(otelp__sample(kinds[k], 0.5, &s, id),
			                 OTELP_RECORD_AND_SAMPLE);
			ck_assert_int_eq(otelp__sample(kinds[k], 0.5, &u, id), OTELP_DROP);
		}
		/* No parent, or an invalid one: the root sampler decides. */
		struct otelp_ctx invalid;
		memset(&invalid, 0, sizeof(invalid));
		enum otelp_decision want =
		    kinds[k] == OTELP_SAMPLER_PB_ALWAYS_OFF ? OTELP_DROP : OTELP_RECORD_AND_SAMPLE;
		ck_assert_int_eq(otelp__sample(kinds[k], 0.5, NULL, id), want);
		ck_assert_int_eq(otelp__sample(kinds[k], 0.5, &invalid, id), want);
	}
	memset(id, 0, 16);
	id[0] = 1; /* R = 0: never sampled by a ratio < 1 */
	ck_assert_int_eq(otelp__sample(OTELP_SAMPLER_PB_TRACEIDRATIO, 0.5, NULL, id), OTELP_DROP);
	struct otelp_ctx s = parent(false, true);
	ck_assert_int_eq(otelp__sample(OTELP_SAMPLER_PB_TRACEIDRATIO, 0.5, &s, id),
	                 OTELP_RECORD_AND_SAMPLE);
}
END_TEST

START_TEST(ratio_statistics)
{
	static const double ratios[] = {0.01, 0.1, 0.25, 0.5, 0.9};
	enum { N = 100000 };
	uint8_t(*ids)[16] = malloc(N * 16);
	ck_assert_ptr_nonnull(ids);
	for (int i = 0; i < N; i++)
		random_id(ids[i]);
	for (unsigned r = 0; r < OTELP_ARRAY_SIZE(ratios); r++) {
		int n = 0;
		for (int i = 0; i < N; i++)
			n += otelp__ratio_sampled(ratios[r], ids[i]);
		double got = (double)n / N;
		/* 5 standard deviations of a binomial: never flaky, still tight. */
		double sd = __builtin_sqrt(ratios[r] * (1 - ratios[r]) / N);
		ck_assert_msg(got > ratios[r] - 5 * sd && got < ratios[r] + 5 * sd,
		              "ratio %f sampled %f", ratios[r], got);
	}
	/* A higher ratio samples a superset of a lower one; deterministic. */
	for (int i = 0; i < N; i++) {
		bool lo = otelp__ratio_sampled(0.2, ids[i]);
		bool hi = otelp__ratio_sampled(0.3, ids[i]);
		ck_assert(!lo || hi);
		ck_assert_int_eq(lo, otelp__ratio_sampled(0.2, ids[i]));
		ck_assert(!otelp__ratio_sampled(0.0, ids[i]));
		ck_assert(otelp__ratio_sampled(1.0, ids[i]));
	}
	free(ids);
}
END_TEST

START_TEST(ratio_uses_low_bytes)
{
	uint8_t id[16];
	memset(id, 0, 16);
	memset(id + 9, 0xff, 7); /* high bytes zero, low 56 bits max */
	ck_assert(otelp__ratio_sampled(0.001, id));
	memset(id, 0xff, 9);
	memset(id + 9, 0, 7);
	ck_assert(!otelp__ratio_sampled(0.999, id));
}
END_TEST

START_TEST(descriptions)
{
	char buf[128];
	otelp__sampler_description(OTELP_SAMPLER_ALWAYS_ON, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "AlwaysOnSampler");
	otelp__sampler_description(OTELP_SAMPLER_ALWAYS_OFF, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "AlwaysOffSampler");
	otelp__sampler_description(OTELP_SAMPLER_TRACEIDRATIO, 0.0001, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TraceIdRatioBased{0.000100}");
	otelp__sampler_description(OTELP_SAMPLER_PB_TRACEIDRATIO, 0.25, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ParentBased{root=TraceIdRatioBased{0.250000}}");
	otelp__sampler_description(OTELP_SAMPLER_PB_ALWAYS_ON, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ParentBased{root=AlwaysOnSampler}");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sampler");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, always_on_off);
	tcase_add_test(tc, parent_based_table);
	tcase_add_test(tc, ratio_statistics);
	tcase_add_test(tc, ratio_uses_low_bytes);
	tcase_add_test(tc, descriptions);
	suite_add_tcase(s, tc);
	return otelp_check_run(s, false);
}
