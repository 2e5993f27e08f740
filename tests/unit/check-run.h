/*
 * The one way our Check executables run their suite: CK_ENV verbosity (CK_FORK from the
 * environment unless a suite needs its own process per test), exit status for meson.
 */
#ifndef OTELP_CHECK_RUN_H
#define OTELP_CHECK_RUN_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

/* Run s; fork_each: always run each test in its own process (process-global state). */
static inline int otelp_check_run(Suite *s, bool fork_each)
{
	SRunner *sr = srunner_create(s);
	if (fork_each)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
