/*
 * Redis GET benchmark client for scripts/bench-redis.sh: N GETs of one key, synchronous
 * (redisCommand per GET) and pipelined (batches of B redisAppendCommand then B redisGetReply),
 * timed inside the program with CLOCK_MONOTONIC. It does not know the preload: the script runs
 * it with and without LD_PRELOAD.
 *
 * Usage: redis-get [--port P | --sock PATH] [--count N] [--mode sync|pipeline|both]
 *                  [--batch B] [--warmup W]
 *   defaults: --port 6379, --count 100000, --mode both, --batch 100, --warmup 1000
 * Prints one line per mode:
 *   mode=sync count=N batch=1 ns_per_cmd=X cpu_ns_per_cmd=C total_ms=Y
 * ns_per_cmd: wall time (CLOCK_MONOTONIC); cpu_ns_per_cmd: CPU time of the whole process, all
 * threads (CLOCK_PROCESS_CPUTIME_ID: a preload's exporter thread included), less noisy.
 * Every reply is checked (a 32-byte string); exit status 1 on a wrong reply, 2 on a usage or
 * connection error. Built by tests/redis/meson.build (and bench/meson.build), or by hand:
 *   cc -std=gnu11 -O2 bench/redis-get.c -o redis-get -lhiredis
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bench-util.h"

#define KEY       "bench:key"
#define VALUE     "0123456789abcdef0123456789abcdef"
#define VALUE_LEN 32

static void check(redisContext *c, redisReply *r)
{
	if (!r) {
		fprintf(stderr, "redis-get: no reply: %s\n", c->errstr);
		exit(1);
	}
	if (r->type != REDIS_REPLY_STRING || r->len != VALUE_LEN ||
	    memcmp(r->str, VALUE, VALUE_LEN) != 0) {
		fprintf(stderr, "redis-get: unexpected reply (type %d)\n", r->type);
		exit(1);
	}
	freeReplyObject(r);
}

static void run_sync(redisContext *c, long n)
{
	for (long i = 0; i < n; i++)
		check(c, redisCommand(c, "GET %s", KEY));
}

static void run_pipeline(redisContext *c, long n, long batch)
{
	for (long done = 0; done < n; done += batch) {
		long b = n - done < batch ? n - done : batch;
		for (long i = 0; i < b; i++)
			if (redisAppendCommand(c, "GET %s", KEY) != REDIS_OK) {
				fprintf(stderr, "redis-get: append: %s\n", c->errstr);
				exit(1);
			}
		for (long i = 0; i < b; i++) {
			void *r = NULL;
			if (redisGetReply(c, &r) != REDIS_OK) {
				fprintf(stderr, "redis-get: reply: %s\n", c->errstr);
				exit(1);
			}
			check(c, r);
		}
	}
}

static long number(const char *opt, const char *v)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;

	if (!v || *end || n <= 0) {
		fprintf(stderr, "redis-get: %s needs a positive number\n", opt);
		exit(2);
	}
	return n;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(const char *mode, long n, long batch, uint64_t ns, uint64_t cpu)
{
	printf("mode=%s count=%ld batch=%ld ns_per_cmd=%.1f cpu_ns_per_cmd=%.1f total_ms=%.1f\n",
	       mode, n, batch, (double)ns / (double)n, (double)cpu / (double)n, (double)ns / 1e6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long port = 6379, count = 100000, batch = 100, warmup = 1000;
	const char *sock = NULL, *mode = "both";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--port") == 0)
			port = number(a, v), i++;
		else if (strcmp(a, "--sock") == 0 && v)
			sock = v, i++;
		else if (strcmp(a, "--count") == 0)
			count = number(a, v), i++;
		else if (strcmp(a, "--batch") == 0)
			batch = number(a, v), i++;
		else if (strcmp(a, "--warmup") == 0 && v)
			warmup = atol(v), i++;
		else if (strcmp(a, "--mode") == 0 && v)
			mode = v, i++;
		else {
			fprintf(stderr, "usage: redis-get [--port P | --sock PATH] [--count N] "
			                "[--mode sync|pipeline|both] [--batch B] [--warmup W]\n");
			return 2;
		}
	}
	int do_sync = strcmp(mode, "sync") == 0 || strcmp(mode, "both") == 0;
	int do_pipe = strcmp(mode, "pipeline") == 0 || strcmp(mode, "both") == 0;
	if (!do_sync && !do_pipe) {
		fprintf(stderr, "redis-get: --mode sync, pipeline or both\n");
		return 2;
	}

	redisContext *c = sock ? redisConnectUnix(sock) : redisConnect("127.0.0.1", (int)port);
	if (!c || c->err) {
		fprintf(stderr, "redis-get: connect: %s\n", c ? c->errstr : "out of memory");
		return 2;
	}
	redisReply *r = redisCommand(c, "SET %s %s", KEY, VALUE);
	if (!r || r->type != REDIS_REPLY_STATUS) {
		fprintf(stderr, "redis-get: SET failed: %s\n", r ? r->str : c->errstr);
		return 2;
	}
	freeReplyObject(r);
	if (warmup > 0)
		run_sync(c, warmup);

	if (do_sync) {
		uint64_t t0 = mono_ns(), c0 = cpu_ns();
		run_sync(c, count);
		report("sync", count, 1, mono_ns() - t0, cpu_ns() - c0);
	}
	if (do_pipe) {
		uint64_t t0 = mono_ns(), c0 = cpu_ns();
		run_pipeline(c, count, batch);
		report("pipeline", count, batch, mono_ns() - t0, cpu_ns() - c0);
	}
	redisFree(c);
	return 0;
}
