/*
 * Unit tests for src/resource.c: the detected attributes (checked against what the test reads
 * itself from /proc, getpid and gethostname), the merge of OTEL_RESOURCE_ATTRIBUTES over
 * them, OTEL_SERVICE_NAME precedence, unique keys, and a rebuild in a fork child.
 */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "resource.h"

static struct otelp_config cfg;
static struct otelp_resource res;

static const char *str_attr(const char *key)
{
	const struct otelp_resource_attr *a = otelp__resource_get(&res, key);

	ck_assert_msg(a != NULL, "no attribute %s", key);
	ck_assert_msg(!a->is_int, "%s is an int", key);
	return a->value;
}

static void self_exe(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void add_env_attr(const char *key, const char *value)
{
	ck_assert_uint_lt(cfg.n_resource, OTELP_CFG_KV_MAX);
	snprintf(cfg.resource[cfg.n_resource].key, OTELP_CFG_KEY_MAX, "%s", key);
	snprintf(cfg.resource[cfg.n_resource].value, OTELP_CFG_VAL_MAX, "%s", value);
	cfg.n_resource++;
}

static void ck_keys_unique(void)
{
	for (unsigned i = 0; i < res.n; i++)
		for (unsigned j = i + 1; j < res.n; j++)
			ck_assert_msg(strcmp(res.attrs[i].key, res.attrs[j].key) != 0,
			              "key %s twice", res.attrs[i].key);
}

static void setup(void)
{
	otelp__config_defaults(&cfg);
	memset(&res, 0xa5, sizeof(res)); /* the build must not rely on a zeroed struct */
}

START_TEST(test_detected_defaults)
{
	char exe[PATH_MAX], want[PATH_MAX + 32], host[256] = "";
	const struct otelp_resource_attr *pid;

	otelp__resource_build(&res, &cfg);
	self_exe(exe, sizeof(exe));

	ck_assert_int_eq(res.pid, getpid());
	pid = otelp__resource_get(&res, "process.pid");
	ck_assert_ptr_nonnull(pid);
	ck_assert(pid->is_int);
	ck_assert_int_eq(pid->ival, getpid());

	ck_assert_str_eq(str_attr("telemetry.sdk.name"), OTELP_SDK_NAME);
	ck_assert_str_eq(str_attr("telemetry.sdk.name"), "otelpreload");
	ck_assert_str_ne(str_attr("telemetry.sdk.name"), "opentelemetry");
	ck_assert_str_eq(str_attr("telemetry.sdk.language"), "c");
	ck_assert_str_eq(str_attr("telemetry.sdk.version"), OTELP_SDK_VERSION);

	ck_assert_str_eq(str_attr("process.executable.path"), exe);
	ck_assert_str_eq(str_attr("process.executable.name"), base_name(exe));
	/* The executable is this test binary (argv[0] names it too). */
	ck_assert_str_eq(str_attr("process.executable.name"), base_name(program_invocation_name));
	ck_assert_ptr_nonnull(strstr(str_attr("process.executable.name"), "test-resource"));
	ck_assert_str_eq(str_attr("process.command"), program_invocation_name);

	snprintf(want, sizeof(want), "unknown_service:%s", base_name(exe));
	ck_assert_str_eq(str_attr("service.name"), want);

	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	ck_assert_str_eq(str_attr("host.name"), host);

	ck_assert_uint_eq(res.n, 9);
	ck_keys_unique();
	ck_assert_ptr_null(otelp__resource_get(&res, "process.command_args"));
	ck_assert_ptr_null(otelp__resource_get(&res, "no.such.key"));
	ck_assert_ptr_null(otelp__resource_get(&res, ""));
}
END_TEST

START_TEST(test_env_overrides_and_appends)
{
	add_env_attr("host.name", "override-host");
	add_env_attr("deployment.environment.name", "prod");
	add_env_attr("process.pid", "not-a-number");
	add_env_attr("telemetry.sdk.language", "");
	otelp__resource_build(&res, &cfg);

	ck_assert_str_eq(str_attr("host.name"), "override-host");
	ck_assert_str_eq(str_attr("deployment.environment.name"), "prod");
	/* Environment values are strings, even over a detected int; empty values win too. */
	ck_assert_str_eq(str_attr("process.pid"), "not-a-number");
	ck_assert_str_eq(str_attr("telemetry.sdk.language"), "");
	ck_assert_int_eq(res.pid, getpid());
	ck_assert_uint_eq(res.n, 10);
	ck_keys_unique();
	/* Untouched detected attributes stay. */
	ck_assert_str_eq(str_attr("telemetry.sdk.name"), OTELP_SDK_NAME);
}
END_TEST

START_TEST(test_service_name_precedence)
{
	/* From OTEL_RESOURCE_ATTRIBUTES. */
	add_env_attr("service.name", "from-attributes");
	otelp__resource_build(&res, &cfg);
	ck_assert_str_eq(str_attr("service.name"), "from-attributes");
	ck_keys_unique();

	/* OTEL_SERVICE_NAME wins over it. */
	snprintf(cfg.service_name, sizeof(cfg.service_name), "from-variable");
	otelp__resource_build(&res, &cfg);
	ck_assert_str_eq(str_attr("service.name"), "from-variable");
	ck_assert_uint_eq(res.n, 9);
	ck_keys_unique();

	/* OTEL_SERVICE_NAME alone. */
	otelp__config_defaults(&cfg);
	snprintf(cfg.service_name, sizeof(cfg.service_name), "only-variable");
	otelp__resource_build(&res, &cfg);
	ck_assert_str_eq(str_attr("service.name"), "only-variable");

	/* An empty service.name from the attributes is still the user's value. */
	otelp__config_defaults(&cfg);
	add_env_attr("service.name", "");
	otelp__resource_build(&res, &cfg);
	ck_assert_str_eq(str_attr("service.name"), "");
}
END_TEST

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	for (const char *const *p = fake_env; p && p[0]; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

START_TEST(test_from_environment)
{
	static const char *const env[] = {
	    "OTEL_RESOURCE_ATTRIBUTES",
	    "service.name=attr,service.namespace=shop,k8s.pod.name=a%2Cb,host.name=h1",
	    "OTEL_SERVICE_NAME",
	    "checkout",
	    NULL,
	};

	fake_env = env;
	otelp__config_load(&cfg, fake_getenv, false);
	otelp__resource_build(&res, &cfg);
	ck_assert_str_eq(str_attr("service.name"), "checkout");
	ck_assert_str_eq(str_attr("service.namespace"), "shop");
	ck_assert_str_eq(str_attr("k8s.pod.name"), "a,b");
	ck_assert_str_eq(str_attr("host.name"), "h1");
	ck_assert_uint_eq(res.n, 11);
	ck_keys_unique();
}
END_TEST

START_TEST(test_capacity)
{
	char key[32];

	for (int i = 0; i < OTELP_CFG_KV_MAX; i++) {
		snprintf(key, sizeof(key), "custom.%d", i);
		add_env_attr(key, "v");
	}
	otelp__resource_build(&res, &cfg);
	ck_assert_uint_eq(res.n, 9 + OTELP_CFG_KV_MAX);
	ck_assert_uint_le(res.n, OTELP_RESOURCE_MAX);
	ck_assert_str_eq(str_attr("custom.63"), "v");
	ck_keys_unique();
}
END_TEST

START_TEST(test_no_config_and_errno)
{
	errno = 4242;
	otelp__resource_build(&res, NULL);
	ck_assert_int_eq(errno, 4242);
	ck_assert_uint_eq(res.n, 9);
	ck_assert_ptr_nonnull(otelp__resource_get(&res, "service.name"));

	/* Rebuilding the same struct starts over. */
	add_env_attr("extra", "1");
	otelp__resource_build(&res, &cfg);
	otelp__resource_build(&res, &cfg);
	ck_assert_uint_eq(res.n, 10);
	ck_keys_unique();
}
END_TEST

START_TEST(test_rebuilt_in_fork_child)
{
	int parent = getpid(), status = 0;
	pid_t child;

	otelp__resource_build(&res, &cfg);
	ck_assert_int_eq(res.pid, parent);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		otelp__resource_build(&res, &cfg);
		const struct otelp_resource_attr *a = otelp__resource_get(&res, "process.pid");
		_exit(res.pid == getpid() && res.pid != parent && a && a->is_int &&
		              a->ival == getpid()
		          ? 0
		          : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *resource_suite(void)
{
	Suite *s = suite_create("resource");
	TCase *tc = tcase_create("build");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_detected_defaults);
	tcase_add_test(tc, test_env_overrides_and_appends);
	tcase_add_test(tc, test_service_name_precedence);
	tcase_add_test(tc, test_from_environment);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_no_config_and_errno);
	tcase_add_test(tc, test_rebuilt_in_fork_child);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return otelp_check_run(resource_suite(), false);
}
