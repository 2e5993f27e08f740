/*
 * Test host: a program that uses the public API (include/otelpreload.h). It runs unchanged
 * without the preload. Modes (argv[1]):
 *   basic      nested spans with attributes, an event and an error; prints the traceparent
 *   burst N    N spans as fast as possible (queue overflow), then exits
 *   fork       a span in the parent, then fork: the child makes its own span
 *   idle       finished spans, then waits for a signal (SIGTERM test)
 *   closefds   daemon-style: a span, closes every fd above 2 (close loop and close_range),
 *              then more spans
 *   threads    a span whose child thread makes a span (context inheritance)
 *   exit-fast  one span and exit() at once (the exit flush is bounded)
 * Prints only what the mode says, so stdout can be compared with and without the preload.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "otelpreload.h"

static void basic(void)
{
	uint64_t root = otelp_span_start("root-op", OTELP_SPAN_KIND_SERVER);
	otelp_span_set_string(root, "app.user", "alice");
	otelp_span_set_int(root, "app.items", 42);
	otelp_span_set_double(root, "app.ratio", 0.25);
	otelp_span_set_bool(root, "app.cached", 1);
	char tp[64] = "";
	otelp_current_traceparent(tp, sizeof(tp));
	uint64_t child = otelp_span_start("child-op", OTELP_SPAN_KIND_CLIENT);
	otelp_span_add_event(child, "retrying", "app.attempt", "2");
	otelp_span_record_error(child, "TimeoutError", "backend timed out");
	otelp_span_end(child);
	otelp_span_end(child); /* a second end is ignored */
	otelp_span_end(root);
	printf("traceparent=%s\n", tp);
}

static void burst(long n)
{
	for (long i = 0; i < n; i++) {
		uint64_t s = otelp_span_start("burst", OTELP_SPAN_KIND_INTERNAL);
		otelp_span_set_int(s, "i", i);
		otelp_span_end(s);
	}
	printf("burst done\n");
}

static void do_fork(void)
{
	uint64_t p = otelp_span_start("parent-before-fork", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t c = otelp_span_start("child-after-fork", OTELP_SPAN_KIND_INTERNAL);
		otelp_span_set_int(c, "child.pid", getpid());
		otelp_span_end(c);
		exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	uint64_t q = otelp_span_start("parent-after-fork", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(q);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void idle(void)
{
	for (int i = 0; i < 3; i++) {
		uint64_t s = otelp_span_start("before-signal", OTELP_SPAN_KIND_INTERNAL);
		otelp_span_end(s);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static void closefds(void)
{
	uint64_t s = otelp_span_start("before-close", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(s);
	otelp_flush(5000); /* the exporter now has a connection open */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int closed = 0;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
		if (close(fd) == 0)
			closed++;
	close_range(3, ~0u, 0);
	s = otelp_span_start("after-close", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(s);
	printf("closed %d\n", closed);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	uint64_t s = otelp_span_start("in-thread", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(s);
	return NULL;
}

static void threads(void)
{
	uint64_t s = otelp_span_start("spawner", OTELP_SPAN_KIND_INTERNAL);
	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);
	otelp_span_end(s);
	printf("joined\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	if (!strcmp(mode, "basic"))
		basic();
	else if (!strcmp(mode, "burst"))
		burst(argc > 2 ? atol(argv[2]) : 10000);
	else if (!strcmp(mode, "fork"))
		do_fork();
	else if (!strcmp(mode, "idle"))
		idle();
	else if (!strcmp(mode, "closefds"))
		closefds();
	else if (!strcmp(mode, "threads"))
		threads();
	else if (!strcmp(mode, "exit-fast")) {
		uint64_t s = otelp_span_start("quick", OTELP_SPAN_KIND_INTERNAL);
		otelp_span_end(s);
		exit(3);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
