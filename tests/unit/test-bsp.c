/*
 * Batch span processor: batching, schedule delay, queue overflow (drop and count, never
 * block), flush bounds, fork reset. The export step is observed through the test hook; the
 * real encode-and-send path is covered by the preload tests against a real receiver.
 * Each test runs in its own process (Check forks), since the processor is process-global.
 */
#include <check.h>

#include "check-run.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bsp.h"
#include "config.h"
#include "log.h"
#include "shim.h"
#include "span.h"

static atomic_int exported;
static atomic_int batches;
static int batch_sizes[256];
static atomic_int block_export; /* while set, the exporter sits in its export step */

static void hook(struct otelp_span **spans, size_t n)
{
	(void)spans;
	while (atomic_load(&block_export))
		usleep(1000);
	int b = atomic_fetch_add(&batches, 1);
	if (b < 256)
		batch_sizes[b] = (int)n;
	atomic_fetch_add(&exported, (int)n);
}

static void init(uint32_t queue, uint32_t batch, uint32_t delay_ms)
{
	otelp__config_defaults(&otelp__cfg);
	otelp__cfg.bsp_max_queue_size = queue;
	otelp__cfg.bsp_max_export_batch_size = batch;
	otelp__cfg.bsp_schedule_delay_ms = delay_ms;
	otelp__pid_refresh();
	ck_assert_int_eq(otelp__pool_init(queue + batch + 64), 0);
	ck_assert_int_eq(otelp__bsp_init(), 0);
	otelp__bsp_set_export_hook(hook);
}

static void end_spans(int n)
{
	for (int i = 0; i < n; i++) {
		struct otelp_span *s =
		    otelp__span_start("s", 1, OTELP_KIND_INTERNAL, NULL, NULL, 0, 0);
		ck_assert_ptr_nonnull(s);
		otelp__span_end(s, 0);
	}
}

static void wait_exported(int n)
{
	for (int i = 0; i < 10000 && atomic_load(&exported) < n; i++)
		usleep(1000);
}

START_TEST(full_batches_then_flush)
{
	init(64, 4, 3600 * 1000); /* the schedule delay never fires here */
	end_spans(10);
	wait_exported(8);
	ck_assert_int_eq(atomic_load(&exported), 8);
	ck_assert(otelp__bsp_flush(5000, false));
	ck_assert_int_eq(atomic_load(&exported), 10);
	ck_assert_int_eq(atomic_load(&batches), 3);
	ck_assert_int_eq(batch_sizes[0], 4);
	ck_assert_int_eq(batch_sizes[1], 4);
	ck_assert_int_eq(batch_sizes[2], 2);
	/* Every span object went back to the pool. */
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
}
END_TEST

START_TEST(schedule_delay_exports_partial_batch)
{
	init(64, 32, 50);
	end_spans(3);
	wait_exported(3);
	ck_assert_int_eq(atomic_load(&exported), 3);
	ck_assert_int_eq(batch_sizes[0], 3);
}
END_TEST

START_TEST(overflow_drops_and_counts)
{
	init(8, 4, 3600 * 1000);
	atomic_store(&block_export, 1);
	uint64_t before = atomic_load(&otelp__stats.spans_dropped_queue_full);
	end_spans(4); /* the exporter takes these and blocks in export */
	for (int i = 0; i < 1000 && otelp__bsp_queued() > 0; i++)
		usleep(1000);
	end_spans(100); /* 8 fit in the queue, 92 are dropped: the producer never waits */
	uint64_t dropped = atomic_load(&otelp__stats.spans_dropped_queue_full) - before;
	ck_assert_uint_eq(otelp__bsp_queued(), 8);
	ck_assert_uint_eq(dropped, 92);
	atomic_store(&block_export, 0);
	ck_assert(otelp__bsp_flush(5000, false));
	ck_assert_int_eq(atomic_load(&exported), 12);
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
}
END_TEST

START_TEST(flush_is_bounded)
{
	init(64, 4, 3600 * 1000);
	atomic_store(&block_export, 1);
	end_spans(4);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert(!otelp__bsp_flush(200, false));
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* Returns false at the bound (generous upper margin: this is about not hanging). */
	ck_assert(s >= 0.19 && s < 30);
	atomic_store(&block_export, 0);
	ck_assert(otelp__bsp_flush(5000, false));
}
END_TEST

START_TEST(flush_without_spans_returns_at_once)
{
	init(64, 4, 3600 * 1000);
	ck_assert(otelp__bsp_flush(0, false));
	ck_assert(otelp__bsp_flush(0, true));
}
END_TEST

START_TEST(fork_child_drops_parent_queue)
{
	init(64, 32, 3600 * 1000);
	end_spans(5); /* below the batch size: queued, not exported */
	ck_assert_uint_eq(otelp__bsp_queued(), 5);
	/*
	 * Let the exporter thread finish starting before fork: LLVM 14's ASan runtime is not
	 * fork-safe while a thread is being created (glibc is).
	 */
	usleep(200 * 1000);
	pid_t pid = fork();
	if (pid == 0) {
		otelp__pid_refresh();
		otelp__bsp_after_fork_child();
		if (otelp__bsp_queued() != 0)
			_exit(1);
		if (atomic_load(&otelp__stats.spans_dropped_fork) != 5)
			_exit(2);
		if (otelp__pool_in_use() != 0)
			_exit(3);
		/* The child restarts its own exporter lazily and exports only its spans. */
		atomic_store(&exported, 0);
		end_spans(2);
		if (!otelp__bsp_flush(5000, false))
			_exit(4);
		_exit(atomic_load(&exported) == 2 ? 0 : 5);
	}
	int st;
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(otelp__bsp_flush(5000, false));
	ck_assert_int_eq(atomic_load(&exported), 5);
}
END_TEST

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		struct otelp_span *s =
		    otelp__span_start("p", 1, OTELP_KIND_INTERNAL, NULL, NULL, 0, 0);
		if (s)
			otelp__span_end(s, 0);
		else
			sched_yield();
	}
	return NULL;
}

START_TEST(many_producers)
{
	init(4096, 512, 20);
	enum { THREADS = 8, EACH = 20000 };
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, producer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert(otelp__bsp_flush(10000, false));
	uint64_t dropped = atomic_load(&otelp__stats.spans_dropped_queue_full) +
	                   atomic_load(&otelp__stats.spans_dropped_no_slot);
	/* Every span is either exported or counted as dropped: none lost silently. */
	ck_assert_uint_eq((uint64_t)atomic_load(&exported) + dropped, THREADS * EACH);
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bsp");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_batches_then_flush);
	tcase_add_test(tc, schedule_delay_exports_partial_batch);
	tcase_add_test(tc, overflow_drops_and_counts);
	tcase_add_test(tc, flush_is_bounded);
	tcase_add_test(tc, flush_without_spans_returns_at_once);
	tcase_add_test(tc, fork_child_drops_parent_queue);
	tcase_add_test(tc, many_producers);
	suite_add_tcase(s, tc);
	/* The processor is process-global: each test needs its own process. */
	return otelp_check_run(s, true);
}
