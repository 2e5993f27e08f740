/*
 * Unit tests for src/config.c: every variable with valid and invalid values, the precedence
 * rules, the OTLP endpoint table of exporter.md, header and resource-attribute decoding, and
 * secure-execution mode.
 *
 * The environment is a NULL-terminated table of name/value pairs served by fake_getenv(),
 * which also counts and records its calls. Warnings are captured by pointing the log at a
 * temporary file (otelp__log_init) and reading back what each load appended to it; Check runs
 * each test in a forked child that inherits that file.
 */
#include <check.h>

#include "check-run.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define DEFAULT_URL "http://localhost:4318/v1/traces"

static struct otelp_config cfg, defaults;
static const char *const *fake_env;
static unsigned getenv_calls;
static const char *asked[256];
static unsigned n_asked;

static char warn_path[] = "/tmp/otelp-test-config-XXXXXX";
static char warnings[16384];

/* Long values, filled in main(). */
static char long300[301], long1100[1101], long2000[2001];

/* Every variable config.c reads. */
static const char *const all_vars[] = {
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_LOG_LEVEL",
    "OTEL_PRELOAD_LOG_FILE",
    "OTEL_PROPAGATORS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_TRACES_EXPORTER",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_PRELOAD_HTTP_ROUTE",
    "OTEL_PRELOAD_HTTP_IGNORE_PATHS",
    "OTEL_PRELOAD_HTTP_CAPTURE_REQUEST_HEADERS",
    "OTEL_PRELOAD_HTTP_CAPTURE_RESPONSE_HEADERS",
    "OTEL_PRELOAD_FILE",
    "OTEL_PRELOAD_DB_QUERY_TEXT",
    "OTEL_PRELOAD_STACKTRACE",
    "OTEL_PRELOAD_DB_SQLCOMMENTER",
    "OTEL_PRELOAD_DB_RETURNED_ROWS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    "OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS",
    "OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS",
    "OTEL_PRELOAD_SHUTDOWN_TIMEOUT",
};

static const char *fake_getenv(const char *name)
{
	getenv_calls++;
	if (n_asked < sizeof(asked) / sizeof(asked[0]))
		asked[n_asked++] = name;
	for (const char *const *p = fake_env; p && p[0]; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static off_t log_size(void)
{
	struct stat st;
	return stat(warn_path, &st) == 0 ? st.st_size : 0;
}

/* Whatever the log received since `start`, into `warnings`; returns the number of lines. */
static unsigned collect(off_t start)
{
	int fd = open(warn_path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, warnings, sizeof(warnings) - 1, start) : -1;
	unsigned lines = 0;

	if (fd >= 0)
		close(fd);
	warnings[n > 0 ? n : 0] = '\0';
	for (const char *p = warnings; (p = strchr(p, '\n')); p++)
		lines++;
	return lines;
}

/* Load cfg from the given pairs (NULL: empty environment); returns the number of warnings. */
static unsigned load_env(const char *const *pairs, bool secure)
{
	off_t start = log_size();

	fake_env = pairs;
	getenv_calls = 0;
	n_asked = 0;
	otelp__config_load(&cfg, fake_getenv, secure);
	return collect(start);
}

#define LOAD(...) load_env((const char *const[]){__VA_ARGS__, NULL}, false)

static bool was_asked(const char *name)
{
	for (unsigned i = 0; i < n_asked; i++)
		if (strcmp(asked[i], name) == 0)
			return true;
	return false;
}

static bool warned(const char *s)
{
	return strstr(warnings, s) != NULL;
}

/* Exactly one warning, and it starts with VAR=... */
#define ck_one_warning(nw, var)                                                             \
	do {                                                                                \
		unsigned nw_ = (nw);                                                        \
		ck_assert_msg(nw_ == 1, "expected one warning, got %u: %s", nw_, warnings); \
		ck_assert_msg(warned("config: " var), "warning does not name %s: %s", var,  \
		              warnings);                                                    \
	} while (0)

#define ck_no_warning(nw)                                                       \
	do {                                                                    \
		unsigned nw_ = (nw);                                            \
		ck_assert_msg(nw_ == 0, "unexpected warning(s): %s", warnings); \
	} while (0)

static const struct otelp_cfg_kv *header(const char *key)
{
	for (unsigned i = 0; i < cfg.n_otlp_headers; i++)
		if (strcmp(cfg.otlp_headers[i].key, key) == 0)
			return &cfg.otlp_headers[i];
	ck_abort_msg("no entry '%s'", key);
	return NULL;
}

static const struct otelp_cfg_kv *rattr(const char *key)
{
	for (unsigned i = 0; i < cfg.n_resource; i++)
		if (strcmp(cfg.resource[i].key, key) == 0)
			return &cfg.resource[i];
	ck_abort_msg("no entry '%s'", key);
	return NULL;
}

/* ---- Defaults, empty values, secure mode ------------------------------------------------ */

START_TEST(test_defaults)
{
	unsigned nw = load_env(NULL, false);

	ck_no_warning(nw);
	ck_assert(!cfg.disabled);
	ck_assert(!cfg.secure_mode);
	ck_assert_str_eq(cfg.service_name, "");
	ck_assert_uint_eq(cfg.n_resource, 0);
	ck_assert_int_eq(cfg.log_level, OTELP_LOG_INFO);
	ck_assert_str_eq(cfg.log_file, "");
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE);
	ck_assert_int_eq(cfg.sampler, OTELP_SAMPLER_PB_ALWAYS_ON);
	ck_assert(cfg.sampler_ratio == 1.0);
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
	ck_assert_uint_eq(cfg.bsp_schedule_delay_ms, 5000);
	ck_assert_uint_eq(cfg.bsp_export_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.bsp_max_queue_size, 2048);
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 512);
	ck_assert_uint_eq(cfg.limits.attr_value_length, UINT32_MAX);
	ck_assert_uint_eq(cfg.limits.attr_count, 128);
	ck_assert_uint_eq(cfg.limits.event_count, 128);
	ck_assert_uint_eq(cfg.limits.link_count, 128);
	ck_assert_uint_eq(cfg.limits.event_attr_count, 128);
	ck_assert_uint_eq(cfg.limits.link_attr_count, 128);
	ck_assert_str_eq(cfg.otlp_endpoint, DEFAULT_URL);
	ck_assert_uint_eq(cfg.n_otlp_headers, 0);
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 10000);
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_NONE);
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_PROTOBUF);
	ck_assert_str_eq(cfg.otlp_certificate, "");
	ck_assert_str_eq(cfg.otlp_client_key, "");
	ck_assert_str_eq(cfg.otlp_client_certificate, "");
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_ALL);
	ck_assert_uint_eq(cfg.shutdown_timeout_ms, 2000);
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_reads_every_variable)
{
	LOAD("OTEL_TRACES_SAMPLER", "traceidratio");
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		ck_assert_msg(was_asked(all_vars[i]), "%s never read", all_vars[i]);
	/* And nothing else (no OTEL_CONFIG_FILE, no deprecated names). */
	for (unsigned i = 0; i < n_asked; i++) {
		bool known = false;
		for (size_t j = 0; j < sizeof(all_vars) / sizeof(all_vars[0]); j++)
			known |= strcmp(asked[i], all_vars[j]) == 0;
		ck_assert_msg(known, "%s read but not documented in this test", asked[i]);
	}
}
END_TEST

START_TEST(test_empty_is_unset)
{
	static const char *pairs[2 * 64 + 1];
	size_t n = sizeof(all_vars) / sizeof(all_vars[0]);

	for (size_t i = 0; i < n; i++) {
		pairs[2 * i] = all_vars[i];
		pairs[2 * i + 1] = "";
	}
	pairs[2 * n] = NULL;
	ck_no_warning(load_env(pairs, false));
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_blank_enum_and_number_is_unset)
{
	unsigned nw = LOAD("OTEL_TRACES_SAMPLER", "  ", "OTEL_BSP_MAX_QUEUE_SIZE", "\t",
	                   "OTEL_PROPAGATORS", " , ", "OTEL_TRACES_EXPORTER", " ");
	ck_no_warning(nw);
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_secure_mode_reads_nothing)
{
	unsigned nw = LOAD("OTEL_SDK_DISABLED", "false", "OTEL_SERVICE_NAME", "svc",
	                   "OTEL_EXPORTER_OTLP_ENDPOINT", "http://evil:4318", "OTEL_LOG_LEVEL",
	                   "bogus", "OTEL_PRELOAD_LOG_FILE", "/etc/shadow");
	ck_assert_uint_gt(getenv_calls, 0);
	ck_assert_uint_eq(nw, 1); /* the bogus log level, when not secure */

	nw = load_env((const char *const[]){"OTEL_SDK_DISABLED", "false", "OTEL_SERVICE_NAME",
	                                    "svc", "OTEL_EXPORTER_OTLP_ENDPOINT",
	                                    "http://evil:4318", "OTEL_LOG_LEVEL", "bogus",
	                                    "OTEL_PRELOAD_LOG_FILE", "/etc/shadow", NULL},
	              true);
	ck_assert_uint_eq(getenv_calls, 0);
	ck_no_warning(nw);
	ck_assert(cfg.secure_mode);
	ck_assert(cfg.disabled);
	cfg.secure_mode = false;
	cfg.disabled = false;
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_global_and_null_getenv)
{
	fake_env = NULL;
	otelp__config_load(&otelp__cfg, fake_getenv, false);
	ck_assert(memcmp(&otelp__cfg, &defaults, sizeof(defaults)) == 0);
	otelp__config_load(&cfg, NULL, false);
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
}
END_TEST

/* ---- One warning per invalid value -------------------------------------------------------- */

enum {
	SHOWN = 0,
	HIDDEN = 1,  /* header values are never printed */
	PARTIAL = 2, /* part of the value is still used (lists, clamping) */
};

struct bad {
	const char *var;
	const char *value;
	unsigned flags;
};

static const struct bad bad_values[] = {
    {"OTEL_SDK_DISABLED", "yes", SHOWN},
    {"OTEL_SDK_DISABLED", "1", SHOWN},
    {"OTEL_SDK_DISABLED", " true", SHOWN},
    {"OTEL_SERVICE_NAME", long300, SHOWN},
    {"OTEL_RESOURCE_ATTRIBUTES", "a=1,b", SHOWN},
    {"OTEL_RESOURCE_ATTRIBUTES", "=1", SHOWN},
    {"OTEL_RESOURCE_ATTRIBUTES", "a=%zz", SHOWN},
    {"OTEL_RESOURCE_ATTRIBUTES", "a=1=2", SHOWN},
    {"OTEL_LOG_LEVEL", "loud", SHOWN},
    {"OTEL_LOG_LEVEL", "warning", SHOWN},
    {"OTEL_PRELOAD_LOG_FILE", long2000, SHOWN},
    {"OTEL_PROPAGATORS", "jaeger", SHOWN},
    {"OTEL_PROPAGATORS", "foo,tracecontext,xray", PARTIAL},
    {"OTEL_TRACES_SAMPLER", "sometimes", SHOWN},
    {"OTEL_TRACES_SAMPLER", "jaeger_remote", SHOWN},
    {"OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote", SHOWN},
    {"OTEL_TRACES_SAMPLER", "xray", SHOWN},
    {"OTEL_TRACES_EXPORTER", "zipkin", SHOWN},
    {"OTEL_TRACES_EXPORTER", "logging", SHOWN},
    {"OTEL_TRACES_EXPORTER", "otlp/stdout", SHOWN},
    {"OTEL_TRACES_EXPORTER", "jaeger", SHOWN},
    {"OTEL_TRACES_EXPORTER", "otlp,console", PARTIAL},
    {"OTEL_BSP_SCHEDULE_DELAY", "-1", SHOWN},
    {"OTEL_BSP_SCHEDULE_DELAY", "5s", SHOWN},
    {"OTEL_BSP_SCHEDULE_DELAY", "2147483648", SHOWN},
    {"OTEL_BSP_EXPORT_TIMEOUT", "-5", SHOWN},
    {"OTEL_BSP_EXPORT_TIMEOUT", "x", SHOWN},
    {"OTEL_BSP_MAX_QUEUE_SIZE", "0", SHOWN},
    {"OTEL_BSP_MAX_QUEUE_SIZE", "1.5", SHOWN},
    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0", SHOWN},
    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096", PARTIAL},
    {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1", SHOWN},
    {"OTEL_ATTRIBUTE_COUNT_LIMIT", "many", SHOWN},
    {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "+5", SHOWN},
    {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-128", SHOWN},
    {"OTEL_SPAN_EVENT_COUNT_LIMIT", "1e3", SHOWN},
    {"OTEL_SPAN_LINK_COUNT_LIMIT", "99999999999", SHOWN},
    {"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "0x10", SHOWN},
    {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "-", SHOWN},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", SHOWN},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector", SHOWN},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://", SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://collector:4317", SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://:4318/v1/traces", SHOWN},
    {"OTEL_EXPORTER_OTLP_HEADERS", "secret-token", HIDDEN},
    {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "=v", HIDDEN},
    {"OTEL_EXPORTER_OTLP_TIMEOUT", "-1", SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "ten", SHOWN},
    {"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "deflate", SHOWN},
    {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml", SHOWN},
    {"OTEL_EXPORTER_OTLP_CERTIFICATE", long2000, SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", long2000, SHOWN},
    {"OTEL_EXPORTER_OTLP_CLIENT_KEY", long2000, SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", long2000, SHOWN},
    {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", long2000, SHOWN},
    {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", long2000, SHOWN},
    {"OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "mysql", PARTIAL},
    {"OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "curl,http", PARTIAL},
    {"OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "-1", SHOWN},
    {"OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "soon", SHOWN},
};

START_TEST(test_bad_value_one_warning)
{
	const struct bad *b = &bad_values[_i];
	char expect[512];
	unsigned nw = load_env((const char *const[]){b->var, b->value, NULL}, false);

	ck_assert_msg(nw == 1, "%s=%.40s: %u warnings: %s", b->var, b->value, nw, warnings);
	/* The warning names the variable first, then (except for headers) the value. */
	if (!(b->flags & HIDDEN))
		snprintf(expect, sizeof(expect), "config: %s=%.200s", b->var, b->value);
	else
		snprintf(expect, sizeof(expect), "config: %s:", b->var);
	ck_assert_msg(warned(expect), "expected '%.80s' in: %s", expect, warnings);
	if (b->flags & HIDDEN)
		ck_assert_msg(!warned(b->value), "header value leaked: %s", warnings);
}
END_TEST

START_TEST(test_bad_value_same_as_the_fallback)
{
	/* An invalid value must leave the field exactly as an unset variable would. */
	const struct bad *b = &bad_values[_i];
	static struct otelp_config got;

	if (b->flags & PARTIAL)
		return;
	load_env((const char *const[]){b->var, b->value, NULL}, false);
	got = cfg;
	ck_assert_msg(memcmp(&got, &defaults, sizeof(got)) == 0, "%s=%.40s changed the config",
	              b->var, b->value);
}
END_TEST

/* ---- General ------------------------------------------------------------------------------ */

START_TEST(test_sdk_disabled)
{
	static const char *const yes[] = {"true", "TRUE", "True", "tRuE"};
	for (size_t i = 0; i < 4; i++) {
		ck_no_warning(LOAD("OTEL_SDK_DISABLED", yes[i]));
		ck_assert(cfg.disabled);
	}
	ck_no_warning(LOAD("OTEL_SDK_DISABLED", "false"));
	ck_assert(!cfg.disabled);
	ck_no_warning(LOAD("OTEL_SDK_DISABLED", "FALSE"));
	ck_assert(!cfg.disabled);
	ck_one_warning(LOAD("OTEL_SDK_DISABLED", "1"), "OTEL_SDK_DISABLED=1");
	ck_assert(!cfg.disabled);
	ck_one_warning(LOAD("OTEL_SDK_DISABLED", "on"), "OTEL_SDK_DISABLED=on");
	ck_assert(!cfg.disabled);
	/* Disabled still reads the rest: the propagators keep working. */
	ck_no_warning(LOAD("OTEL_SDK_DISABLED", "true", "OTEL_PROPAGATORS", "b3"));
	ck_assert(cfg.disabled);
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_B3);
}
END_TEST

START_TEST(test_service_name)
{
	char exact[256];

	ck_no_warning(LOAD("OTEL_SERVICE_NAME", "checkout"));
	ck_assert_str_eq(cfg.service_name, "checkout");
	ck_no_warning(LOAD("OTEL_SERVICE_NAME", " spaced name "));
	ck_assert_str_eq(cfg.service_name, " spaced name ");
	memset(exact, 'n', 255);
	exact[255] = '\0';
	ck_no_warning(LOAD("OTEL_SERVICE_NAME", exact));
	ck_assert_str_eq(cfg.service_name, exact);
	ck_one_warning(LOAD("OTEL_SERVICE_NAME", long300), "OTEL_SERVICE_NAME=nnnn");
	ck_assert_str_eq(cfg.service_name, "");
	ck_assert(warned("...")); /* the value is cut in the warning */
}
END_TEST

START_TEST(test_log_level)
{
	static const struct {
		const char *v;
		enum otelp_log_level l;
	} t[] = {
	    {"none", OTELP_LOG_NONE}, {"error", OTELP_LOG_ERROR}, {"warn", OTELP_LOG_WARN},
	    {"info", OTELP_LOG_INFO}, {"debug", OTELP_LOG_DEBUG}, {"verbose", OTELP_LOG_DEBUG},
	    {"all", OTELP_LOG_DEBUG}, {"DEBUG", OTELP_LOG_DEBUG}, {" Error ", OTELP_LOG_ERROR},
	    {"NoNe", OTELP_LOG_NONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_no_warning(LOAD("OTEL_LOG_LEVEL", t[i].v));
		ck_assert_int_eq(cfg.log_level, t[i].l);
	}
	ck_one_warning(LOAD("OTEL_LOG_LEVEL", "Trace"), "OTEL_LOG_LEVEL=Trace");
	ck_assert_int_eq(cfg.log_level, OTELP_LOG_INFO);
	ck_assert(warned("using default info"));
}
END_TEST

START_TEST(test_log_file)
{
	ck_no_warning(LOAD("OTEL_PRELOAD_LOG_FILE", "/var/log/otelp.log"));
	ck_assert_str_eq(cfg.log_file, "/var/log/otelp.log");
	ck_one_warning(LOAD("OTEL_PRELOAD_LOG_FILE", long2000), "OTEL_PRELOAD_LOG_FILE=");
	ck_assert_str_eq(cfg.log_file, "");
}
END_TEST

/* ---- OTEL_RESOURCE_ATTRIBUTES ------------------------------------------------------------- */

START_TEST(test_resource_valid)
{
	ck_no_warning(
	    LOAD("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc,deployment.environment.name=prod"));
	ck_assert_uint_eq(cfg.n_resource, 2);
	ck_assert_str_eq(cfg.resource[0].key, "service.name");
	ck_assert_str_eq(cfg.resource[0].value, "svc");
	ck_assert_str_eq(cfg.resource[1].key, "deployment.environment.name");
	ck_assert_str_eq(cfg.resource[1].value, "prod");

	/* Spaces around keys and values are trimmed, not inside. */
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", "  k = v w ,\tk2\t=v2  "));
	ck_assert_uint_eq(cfg.n_resource, 2);
	ck_assert_str_eq(rattr("k")->value, "v w");
	ck_assert_str_eq(rattr("k2")->value, "v2");

	/* Percent-decoding of keys and values; ',' and '=' must be encoded. */
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES",
	                   "list=a%2Cb%2cc,eq=x%3Dy,my%20key=caf%C3%A9,pct=100%25"));
	ck_assert_uint_eq(cfg.n_resource, 4);
	ck_assert_str_eq(rattr("list")->value, "a,b,c");
	ck_assert_str_eq(rattr("eq")->value, "x=y");
	ck_assert_str_eq(rattr("my key")->value, "caf\xc3\xa9");
	ck_assert_str_eq(rattr("pct")->value, "100%");

	/* Empty items are skipped; empty values are values; a repeated key keeps the last. */
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", "a=1,,b=,a=3,"));
	ck_assert_uint_eq(cfg.n_resource, 2);
	ck_assert_str_eq(rattr("a")->value, "3");
	ck_assert_str_eq(rattr("b")->value, "");
}
END_TEST

START_TEST(test_resource_limits)
{
	static char buf[64 * 12 + 16], key127[200], val511[600];
	size_t o = 0;

	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%d=v", i ? "," : "", i);
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", buf));
	ck_assert_uint_eq(cfg.n_resource, 64);
	snprintf(buf + o, sizeof(buf) - o, ",k64=v");
	ck_one_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", buf), "OTEL_RESOURCE_ATTRIBUTES=k0=v");
	ck_assert_uint_eq(cfg.n_resource, 0);

	memset(key127, 'k', 127);
	strcpy(key127 + 127, "=v");
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", key127));
	ck_assert_uint_eq(cfg.n_resource, 1);
	memset(key127, 'k', 128);
	strcpy(key127 + 128, "=v");
	ck_one_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", key127), "OTEL_RESOURCE_ATTRIBUTES=");
	ck_assert_uint_eq(cfg.n_resource, 0);

	strcpy(val511, "k=");
	memset(val511 + 2, 'v', 511);
	val511[513] = '\0';
	ck_no_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", val511));
	ck_assert_uint_eq(strlen(cfg.resource[0].value), 511);
	/* Encoded bytes count after decoding: 511 'v' + "%41" is 512 decoded bytes. */
	strcpy(val511 + 513, "%41");
	ck_one_warning(LOAD("OTEL_RESOURCE_ATTRIBUTES", val511), "OTEL_RESOURCE_ATTRIBUTES=");
	ck_assert_uint_eq(cfg.n_resource, 0);
}
END_TEST

static const char *const bad_resources[] = {
    "a=1,b",      /* entry without '=' */
    "a=1,=2",     /* empty key */
    " = 2",       /* empty key after trimming */
    "a=%zz",      /* not hex */
    "a=%4",       /* truncated escape */
    "a=x%",       /* lone '%' */
    "a%2=1",      /* bad escape in a key */
    "a=%00",      /* NUL */
    "a=1=2",      /* unencoded '=' in a value */
    "a=x,b=y,c",  /* error at the end still drops everything */
    "good=1,bad", /* */
};

START_TEST(test_resource_invalid_drops_all)
{
	unsigned nw = LOAD("OTEL_RESOURCE_ATTRIBUTES", bad_resources[_i]);
	ck_one_warning(nw, "OTEL_RESOURCE_ATTRIBUTES=");
	ck_assert_msg(warned(bad_resources[_i]), "value not shown: %s", warnings);
	ck_assert(warned("ignoring the whole variable"));
	ck_assert_uint_eq(cfg.n_resource, 0);
}
END_TEST

/* ---- Propagators, sampler, exporter ------------------------------------------------------- */

START_TEST(test_propagators)
{
	ck_no_warning(LOAD("OTEL_PROPAGATORS", "b3"));
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_B3);
	ck_no_warning(LOAD("OTEL_PROPAGATORS", " tracecontext , B3MULTI "));
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_TRACECONTEXT | OTELP_PROP_B3MULTI);
	ck_no_warning(LOAD("OTEL_PROPAGATORS", "baggage,baggage,Baggage"));
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_BAGGAGE);
	ck_no_warning(LOAD("OTEL_PROPAGATORS", "tracecontext,baggage,b3,b3multi"));
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE |
	                                       OTELP_PROP_B3 | OTELP_PROP_B3MULTI);
	ck_no_warning(LOAD("OTEL_PROPAGATORS", "none"));
	ck_assert_uint_eq(cfg.propagators, 0);
	ck_no_warning(LOAD("OTEL_PROPAGATORS", "tracecontext,NONE"));
	ck_assert_uint_eq(cfg.propagators, 0);

	/* Unknown and unsupported names are skipped in one warning. */
	ck_one_warning(LOAD("OTEL_PROPAGATORS", "tracecontext,xray,foo"),
	               "OTEL_PROPAGATORS=tracecontext,xray,foo");
	ck_assert(warned("xray (not supported)"));
	ck_assert(warned("foo (unknown)"));
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_TRACECONTEXT);
	/* Nothing usable left: the default. */
	ck_one_warning(LOAD("OTEL_PROPAGATORS", "jaeger,ottrace"), "OTEL_PROPAGATORS=jaeger");
	ck_assert_uint_eq(cfg.propagators, OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE);
	ck_assert(warned("using default tracecontext,baggage"));
}
END_TEST

START_TEST(test_sampler)
{
	static const struct {
		const char *v;
		enum otelp_sampler_kind k;
	} t[] = {
	    {"always_on", OTELP_SAMPLER_ALWAYS_ON},
	    {"always_off", OTELP_SAMPLER_ALWAYS_OFF},
	    {"traceidratio", OTELP_SAMPLER_TRACEIDRATIO},
	    {"parentbased_always_on", OTELP_SAMPLER_PB_ALWAYS_ON},
	    {"parentbased_always_off", OTELP_SAMPLER_PB_ALWAYS_OFF},
	    {"parentbased_traceidratio", OTELP_SAMPLER_PB_TRACEIDRATIO},
	    {"ALWAYS_OFF", OTELP_SAMPLER_ALWAYS_OFF},
	    {" ParentBased_TraceIdRatio ", OTELP_SAMPLER_PB_TRACEIDRATIO},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_no_warning(LOAD("OTEL_TRACES_SAMPLER", t[i].v));
		ck_assert_int_eq(cfg.sampler, t[i].k);
		ck_assert(cfg.sampler_ratio == 1.0);
	}
	ck_one_warning(LOAD("OTEL_TRACES_SAMPLER", "jaeger_remote"),
	               "OTEL_TRACES_SAMPLER=jaeger_remote");
	ck_assert(warned("not supported"));
	ck_assert(warned("using default parentbased_always_on"));
	ck_assert_int_eq(cfg.sampler, OTELP_SAMPLER_PB_ALWAYS_ON);
	ck_one_warning(LOAD("OTEL_TRACES_SAMPLER", "Rate"), "OTEL_TRACES_SAMPLER=Rate");
	ck_assert_int_eq(cfg.sampler, OTELP_SAMPLER_PB_ALWAYS_ON);
}
END_TEST

START_TEST(test_sampler_arg)
{
	static const struct {
		const char *v;
		double r;
	} ok[] = {
	    {"0.25", 0.25},
	    {"0", 0.0},
	    {"1", 1.0},
	    {"1.0", 1.0},
	    {".5", 0.5},
	    {"0.", 0.0},
	    {" 0.125 ", 0.125},
	    {"5e-1", 0.5},
	    {"25E-2", 0.25},
	    {"0.0001", 0.0001},
	    {"000.75", 0.75},
	    {"1e0", 1.0},
	    {"0.333333333333333333333", 0.333333333333333333},
	};
	static const char *const bad[] = {"abc", "1.5", "-0.1", "2",    "0.5x", ".",    "1e",
	                                  "0,5", "inf", "nan",  "+0.5", "1e1",  "0x0.8"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_no_warning(LOAD("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG",
		                   ok[i].v));
		ck_assert_msg(cfg.sampler_ratio > ok[i].r - 1e-12 &&
		                  cfg.sampler_ratio < ok[i].r + 1e-12,
		              "%s gave %g", ok[i].v, cfg.sampler_ratio);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned nw = LOAD("OTEL_TRACES_SAMPLER", "parentbased_traceidratio",
		                   "OTEL_TRACES_SAMPLER_ARG", bad[i]);
		ck_one_warning(nw, "OTEL_TRACES_SAMPLER_ARG=");
		ck_assert(warned(bad[i]));
		ck_assert(cfg.sampler_ratio == 1.0);
		ck_assert_int_eq(cfg.sampler, OTELP_SAMPLER_PB_TRACEIDRATIO);
	}
	/* Ignored (even when invalid) for the other samplers and when the sampler is unset. */
	ck_no_warning(LOAD("OTEL_TRACES_SAMPLER", "always_on", "OTEL_TRACES_SAMPLER_ARG", "0.5"));
	ck_assert(cfg.sampler_ratio == 1.0);
	ck_no_warning(LOAD("OTEL_TRACES_SAMPLER", "always_on", "OTEL_TRACES_SAMPLER_ARG", "bad"));
	ck_no_warning(LOAD("OTEL_TRACES_SAMPLER_ARG", "0.5"));
	ck_assert(cfg.sampler_ratio == 1.0);
	/* Ratio sampler without an argument: 1.0. */
	ck_no_warning(LOAD("OTEL_TRACES_SAMPLER", "traceidratio"));
	ck_assert(cfg.sampler_ratio == 1.0);
}
END_TEST

START_TEST(test_exporter)
{
	ck_no_warning(LOAD("OTEL_TRACES_EXPORTER", "otlp"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
	ck_no_warning(LOAD("OTEL_TRACES_EXPORTER", "console"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_CONSOLE);
	ck_no_warning(LOAD("OTEL_TRACES_EXPORTER", "NONE"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_NONE);
	ck_no_warning(LOAD("OTEL_TRACES_EXPORTER", " console , console "));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_CONSOLE);

	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "zipkin"), "OTEL_TRACES_EXPORTER=zipkin");
	ck_assert(warned("not supported, using default otlp"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "logging"), "OTEL_TRACES_EXPORTER=logging");
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "otlp/stdout"),
	               "OTEL_TRACES_EXPORTER=otlp/stdout");
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "kafka"), "OTEL_TRACES_EXPORTER=kafka");
	ck_assert(warned("unknown exporter"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);

	/* Several: the first supported one, with a warning. */
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "console,otlp"),
	               "OTEL_TRACES_EXPORTER=console,otlp");
	ck_assert(warned("only one exporter is supported, using console"));
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_CONSOLE);
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "zipkin,none,console"),
	               "OTEL_TRACES_EXPORTER=zipkin");
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_CONSOLE);
	ck_one_warning(LOAD("OTEL_TRACES_EXPORTER", "none,zipkin"), "OTEL_TRACES_EXPORTER=none");
	ck_assert_int_eq(cfg.exporter, OTELP_EXPORTER_OTLP);
}
END_TEST

/* ---- Batch span processor, limits ------------------------------------------------------ */

START_TEST(test_bsp)
{
	ck_no_warning(LOAD("OTEL_BSP_SCHEDULE_DELAY", "250", "OTEL_BSP_EXPORT_TIMEOUT", "1000",
	                   "OTEL_BSP_MAX_QUEUE_SIZE", "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	                   "10"));
	ck_assert_uint_eq(cfg.bsp_schedule_delay_ms, 250);
	ck_assert_uint_eq(cfg.bsp_export_timeout_ms, 1000);
	ck_assert_uint_eq(cfg.bsp_max_queue_size, 100);
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 10);

	/* Duration 0 is 0; Timeout 0 is "no limit". */
	ck_no_warning(LOAD("OTEL_BSP_SCHEDULE_DELAY", "0", "OTEL_BSP_EXPORT_TIMEOUT", "0"));
	ck_assert_uint_eq(cfg.bsp_schedule_delay_ms, 0);
	ck_assert_uint_eq(cfg.bsp_export_timeout_ms, UINT32_MAX);

	ck_no_warning(
	    LOAD("OTEL_BSP_SCHEDULE_DELAY", "2147483647", "OTEL_BSP_MAX_QUEUE_SIZE", " 4096 "));
	ck_assert_uint_eq(cfg.bsp_schedule_delay_ms, 2147483647u);
	ck_assert_uint_eq(cfg.bsp_max_queue_size, 4096);

	ck_one_warning(LOAD("OTEL_BSP_SCHEDULE_DELAY", "-1"), "OTEL_BSP_SCHEDULE_DELAY=-1");
	ck_assert(warned("using default 5000"));
	ck_assert_uint_eq(cfg.bsp_schedule_delay_ms, 5000);
	ck_one_warning(LOAD("OTEL_BSP_EXPORT_TIMEOUT", "-1"), "OTEL_BSP_EXPORT_TIMEOUT=-1");
	ck_assert_uint_eq(cfg.bsp_export_timeout_ms, 30000);
	ck_one_warning(LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "0"), "OTEL_BSP_MAX_QUEUE_SIZE=0");
	ck_assert(warned("must be positive"));
	ck_assert_uint_eq(cfg.bsp_max_queue_size, 2048);
	ck_one_warning(LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "2147483648"),
	               "OTEL_BSP_MAX_QUEUE_SIZE=2147483648");
	ck_assert_uint_eq(cfg.bsp_max_queue_size, 2048);

	/* Batch larger than the queue: clamped, warned when given explicitly. */
	ck_one_warning(
	    LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
	    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=200");
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 100);
	ck_no_warning(LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "100"));
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 100);
	ck_no_warning(
	    LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"));
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 100);
	/* An invalid batch size is one warning, then the default is clamped silently. */
	ck_one_warning(
	    LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "x"),
	    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=x");
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 100);
	/* An invalid queue size keeps 2048, so a batch of 1000 fits. */
	ck_one_warning(
	    LOAD("OTEL_BSP_MAX_QUEUE_SIZE", "-5", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1000"),
	    "OTEL_BSP_MAX_QUEUE_SIZE=-5");
	ck_assert_uint_eq(cfg.bsp_max_export_batch_size, 1000);
}
END_TEST

START_TEST(test_limits)
{
	/* General only: applies to span, event and link attributes. */
	ck_no_warning(
	    LOAD("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64", "OTEL_ATTRIBUTE_COUNT_LIMIT", "32"));
	ck_assert_uint_eq(cfg.limits.attr_value_length, 64);
	ck_assert_uint_eq(cfg.limits.attr_count, 32);
	ck_assert_uint_eq(cfg.limits.event_attr_count, 32);
	ck_assert_uint_eq(cfg.limits.link_attr_count, 32);
	ck_assert_uint_eq(cfg.limits.event_count, 128);
	ck_assert_uint_eq(cfg.limits.link_count, 128);

	/* Model-specific wins over general. */
	ck_no_warning(
	    LOAD("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64", "OTEL_ATTRIBUTE_COUNT_LIMIT", "32",
	         "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "16", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
	         "8", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "4", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
	         "2", "OTEL_SPAN_EVENT_COUNT_LIMIT", "7", "OTEL_SPAN_LINK_COUNT_LIMIT", "0"));
	ck_assert_uint_eq(cfg.limits.attr_value_length, 16);
	ck_assert_uint_eq(cfg.limits.attr_count, 8);
	ck_assert_uint_eq(cfg.limits.event_attr_count, 4);
	ck_assert_uint_eq(cfg.limits.link_attr_count, 2);
	ck_assert_uint_eq(cfg.limits.event_count, 7);
	ck_assert_uint_eq(cfg.limits.link_count, 0);

	/* Model-specific only. */
	ck_no_warning(LOAD("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0"));
	ck_assert_uint_eq(cfg.limits.attr_value_length, 0);
	ck_assert_uint_eq(cfg.limits.attr_count, 128);

	/* An invalid model-specific value falls back to the general one, then the default. */
	ck_one_warning(
	    LOAD("OTEL_ATTRIBUTE_COUNT_LIMIT", "32", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1"),
	    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=-1");
	ck_assert(warned("using 32 from OTEL_ATTRIBUTE_COUNT_LIMIT"));
	ck_assert_uint_eq(cfg.limits.attr_count, 32);
	ck_one_warning(LOAD("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "x"),
	               "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=x");
	ck_assert(warned("using default no limit"));
	ck_assert_uint_eq(cfg.limits.attr_value_length, UINT32_MAX);
	/* An invalid general value is ignored; a valid specific one still applies. */
	ck_one_warning(
	    LOAD("OTEL_ATTRIBUTE_COUNT_LIMIT", "lots", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "3"),
	    "OTEL_ATTRIBUTE_COUNT_LIMIT=lots");
	ck_assert_uint_eq(cfg.limits.attr_count, 128);
	ck_assert_uint_eq(cfg.limits.link_attr_count, 3);
}
END_TEST

/* ---- OTLP exporter ---------------------------------------------------------------------- */

struct url_case {
	const char *traces, *generic, *want;
	int rc;
};

static char long_base[1100];

static const struct url_case url_cases[] = {
    /* Neither set. */
    {NULL, NULL, DEFAULT_URL, 0},
    {"", "", DEFAULT_URL, 0},
    /* Generic: a base URL, "v1/traces" appended after exactly one '/'. */
    {NULL, "http://collector:4318", "http://collector:4318/v1/traces", 0},
    {NULL, "http://collector:4318/", "http://collector:4318/v1/traces", 0},
    {NULL, "http://collector:4318/mycollector/", "http://collector:4318/mycollector/v1/traces", 0},
    {NULL, "http://collector:4318/mycollector", "http://collector:4318/mycollector/v1/traces", 0},
    {NULL, "https://collector", "https://collector/v1/traces", 0},
    {NULL, "https://collector.example.com:443/a/b/",
     "https://collector.example.com:443/a/b/v1/traces", 0},
    {NULL, "HTTPS://Collector:4318", "HTTPS://Collector:4318/v1/traces", 0},
    {NULL, "http://10.0.0.1:4318", "http://10.0.0.1:4318/v1/traces", 0},
    {NULL, "http://[::1]:4318", "http://[::1]:4318/v1/traces", 0},
    {NULL, "http://[::1]", "http://[::1]/v1/traces", 0},
    {NULL, "http://user:pw@collector:4318", "http://user:pw@collector:4318/v1/traces", 0},
    {NULL, "http://collector:4318/base?tenant=a", "http://collector:4318/base/v1/traces?tenant=a",
     0},
    {NULL, "http://collector:4318/v1/traces", "http://collector:4318/v1/traces/v1/traces", 0},
    {NULL, "http://collector:", "http://collector:/v1/traces", 0},
    /* Per-signal: as-is, an empty path becomes "/". */
    {"http://collector:4318", NULL, "http://collector:4318/", 0},
    {"http://collector:4318/", NULL, "http://collector:4318/", 0},
    {"http://collector:4318/custom/path", NULL, "http://collector:4318/custom/path", 0},
    {"https://collector/v1/traces/", NULL, "https://collector/v1/traces/", 0},
    {"https://collector", NULL, "https://collector/", 0},
    {"http://collector:4318?x=1", NULL, "http://collector:4318/?x=1", 0},
    {"HTTP://C:1/v1/traces", NULL, "HTTP://C:1/v1/traces", 0},
    /* Per-signal wins over generic. */
    {"http://a:1/x", "http://b:2", "http://a:1/x", 0},
    {"http://a:1", "http://b:2/", "http://a:1/", 0},
    /* Invalid: the default, -1. */
    {NULL, "collector:4318", DEFAULT_URL, -1},
    {NULL, "ftp://collector", DEFAULT_URL, -1},
    {NULL, "http://", DEFAULT_URL, -1},
    {NULL, "http:///v1", DEFAULT_URL, -1},
    {NULL, "http://:4318", DEFAULT_URL, -1},
    {NULL, "http://h:port", DEFAULT_URL, -1},
    {NULL, "http://h:99999", DEFAULT_URL, -1},
    {NULL, "http://[]:1", DEFAULT_URL, -1},
    {NULL, "http://[::1", DEFAULT_URL, -1},
    {NULL, "http://[::1]x", DEFAULT_URL, -1},
    {NULL, "http://h /x", DEFAULT_URL, -1},
    {NULL, " http://h", DEFAULT_URL, -1},
    {NULL, "httpx://h", DEFAULT_URL, -1},
    {NULL, "http:/h", DEFAULT_URL, -1},
    {NULL, "//h:4318", DEFAULT_URL, -1},
    {NULL, "http://user@", DEFAULT_URL, -1},
    {"localhost:4318/v1/traces", NULL, DEFAULT_URL, -1},
    /* An invalid per-signal URL gives the default, not the generic one (contract). */
    {"grpc://x:4317", "http://b:2", DEFAULT_URL, -1},
    /* Too long once "v1/traces" is added. */
    {NULL, long_base, DEFAULT_URL, -1},
};

START_TEST(test_url_table)
{
	const struct url_case *c = &url_cases[_i];
	char out[OTELP_CFG_STR_MAX];
	int rc = otelp__otlp_traces_url(c->traces, c->generic, out, sizeof(out));

	ck_assert_msg(rc == c->rc, "(%s, %s): rc %d", c->traces, c->generic, rc);
	ck_assert_str_eq(out, c->want);

	/* The loader gives the same URL, with one warning exactly when rc is -1. */
	unsigned nw = load_env((const char *const[]){"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	                                             c->traces ? c->traces : "",
	                                             "OTEL_EXPORTER_OTLP_ENDPOINT",
	                                             c->generic ? c->generic : "", NULL},
	                       false);
	ck_assert_str_eq(cfg.otlp_endpoint, c->want);
	if (c->rc) {
		ck_assert_uint_eq(nw, 1);
		ck_assert(warned(c->traces && c->traces[0] ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="
		                                           : "OTEL_EXPORTER_OTLP_ENDPOINT="));
		ck_assert(warned("using default " DEFAULT_URL));
	} else {
		ck_no_warning(nw);
	}
}
END_TEST

START_TEST(test_url_small_buffer)
{
	char out[40];

	ck_assert_int_eq(
	    otelp__otlp_traces_url(NULL, "http://collector.example.com:4318", out, sizeof(out)),
	    -1);
	ck_assert_str_eq(out, DEFAULT_URL);
	ck_assert_int_eq(otelp__otlp_traces_url("http://c:1/x", NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://c:1/x");
}
END_TEST

START_TEST(test_headers)
{
	ck_no_warning(
	    LOAD("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret,other-config-value=value"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 2);
	ck_assert_str_eq(cfg.otlp_headers[0].key, "api-key");
	ck_assert_str_eq(cfg.otlp_headers[0].value, "secret");
	ck_assert_str_eq(cfg.otlp_headers[1].key, "other-config-value");
	ck_assert_str_eq(cfg.otlp_headers[1].value, "value");

	/* OWS trimmed around keys and values, kept inside. */
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", " k1 = v1 ,\tk2\t=\tv 2\t, k3=v3"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 3);
	ck_assert_str_eq(header("k1")->value, "v1");
	ck_assert_str_eq(header("k2")->value, "v 2");
	ck_assert_str_eq(header("k3")->value, "v3");

	/* Values percent-decoded leniently, keys never decoded, '=' allowed in values. */
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS",
	                   "Authorization=Basic%20dXNlcjpwYXNz,a=%zz,b=100%,c=%2,d=x%2Cy,"
	                   "my%2Dkey=v,e=abc==,f=%00"));
	ck_assert_str_eq(header("Authorization")->value, "Basic dXNlcjpwYXNz");
	ck_assert_str_eq(header("a")->value, "%zz");
	ck_assert_str_eq(header("b")->value, "100%");
	ck_assert_str_eq(header("c")->value, "%2");
	ck_assert_str_eq(header("d")->value, "x,y");
	ck_assert_str_eq(header("my%2Dkey")->value, "v");
	ck_assert_str_eq(header("e")->value, "abc==");
	ck_assert_str_eq(header("f")->value, "%00");

	/* Empty value kept; repeated key: the last wins, case-insensitively. */
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", "x-empty=,X-Dup=1,x-dup=2,,"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 2);
	ck_assert_str_eq(header("x-empty")->value, "");
	ck_assert_str_eq(header("X-Dup")->value, "2");
}
END_TEST

START_TEST(test_headers_malformed)
{
	unsigned nw;

	/* Entries without '=' or with an empty key are skipped; the rest is used. */
	nw = LOAD("OTEL_EXPORTER_OTLP_HEADERS", "Bearer hunter2,a=1, =x,b=2");
	ck_one_warning(nw, "OTEL_EXPORTER_OTLP_HEADERS:");
	ck_assert(warned("skipped 2 invalid entries"));
	ck_assert(warned("entry 1: no '='"));
	ck_assert(warned("entry 3: empty key"));
	ck_assert(!warned("hunter2"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 2);
	ck_assert_str_eq(header("a")->value, "1");
	ck_assert_str_eq(header("b")->value, "2");

	/* No header injection: CR/LF in a decoded value, or a non-token name. */
	nw = LOAD("OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	          "a=x%0D%0AEvil: 1,bad key=v,c:d=v,ok=1,t=x%09y");
	ck_one_warning(nw, "OTEL_EXPORTER_OTLP_TRACES_HEADERS:");
	ck_assert(warned("skipped 3 invalid entries"));
	ck_assert(!warned("Evil"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 2);
	ck_assert_str_eq(header("ok")->value, "1");
	ck_assert_str_eq(header("t")->value, "x\ty");
}
END_TEST

START_TEST(test_headers_limits)
{
	static char buf[80 * 12], key[200], val[700];
	size_t o = 0;

	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sh%d=v", i ? "," : "", i);
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", buf), "OTEL_EXPORTER_OTLP_HEADERS:");
	ck_assert(warned("entry 65: too many headers"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 64);

	memset(key, 'k', 128);
	strcpy(key + 128, "=v,ok=1");
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", key), "OTEL_EXPORTER_OTLP_HEADERS:");
	ck_assert_uint_eq(cfg.n_otlp_headers, 1);

	strcpy(val, "k=");
	memset(val + 2, 'v', 512);
	strcpy(val + 514, ",ok=1");
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", val), "OTEL_EXPORTER_OTLP_HEADERS:");
	ck_assert(warned("entry 1: value too long"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 1);
	val[513] = '\0'; /* 511 bytes fit */
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", val));
	ck_assert_uint_eq(strlen(header("k")->value), 511);
}
END_TEST

START_TEST(test_headers_merge)
{
	/* Merged key by key, the signal-specific value wins. */
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2",
	                   "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=3,c=4"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 3);
	ck_assert_str_eq(header("a")->value, "1");
	ck_assert_str_eq(header("b")->value, "3");
	ck_assert_str_eq(header("c")->value, "4");

	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=generic",
	                   "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=traces"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 1);
	ck_assert_str_eq(cfg.otlp_headers[0].value, "traces");

	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "only=traces"));
	ck_assert_uint_eq(cfg.n_otlp_headers, 1);
	ck_assert_str_eq(header("only")->value, "traces");
}
END_TEST

START_TEST(test_otlp_endpoint_precedence)
{
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:4318"));
	ck_assert_str_eq(cfg.otlp_endpoint, "http://g:4318/v1/traces");
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318"));
	ck_assert_str_eq(cfg.otlp_endpoint, "http://t:4318/");
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:4318",
	                   "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t/v1/traces"));
	ck_assert_str_eq(cfg.otlp_endpoint, "https://t/v1/traces");
}
END_TEST

START_TEST(test_otlp_timeout)
{
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "500"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 500);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 700);
	ck_no_warning(
	    LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 700);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "0"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, UINT32_MAX);
	ck_no_warning(
	    LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, UINT32_MAX);

	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"), "OTEL_EXPORTER_OTLP_TIMEOUT=-1");
	ck_assert(warned("using default 10000"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 10000);
	/* An invalid TRACES_ value falls back to the generic one. */
	ck_one_warning(
	    LOAD("OTEL_EXPORTER_OTLP_TIMEOUT", "500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1s"),
	    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=1s");
	ck_assert(warned("using 500 from OTEL_EXPORTER_OTLP_TIMEOUT"));
	ck_assert_uint_eq(cfg.otlp_timeout_ms, 500);
}
END_TEST

START_TEST(test_otlp_compression)
{
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"));
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_GZIP);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP",
	                   "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"));
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_NONE);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"));
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_GZIP);

	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_COMPRESSION", "br"),
	               "OTEL_EXPORTER_OTLP_COMPRESSION=br");
	ck_assert(warned("unknown compression, using default none"));
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_NONE);
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip",
	                    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
	               "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=zstd");
	ck_assert(warned("using gzip from OTEL_EXPORTER_OTLP_COMPRESSION"));
	ck_assert_int_eq(cfg.otlp_compression, OTELP_COMPRESSION_GZIP);
}
END_TEST

START_TEST(test_otlp_protocol)
{
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"));
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_JSON);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
	                   "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "HTTP/PROTOBUF"));
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_PROTOBUF);
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"));
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_JSON);

	/* grpc: one warning, http/protobuf, and the default endpoint keeps port 4318. */
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
	               "OTEL_EXPORTER_OTLP_PROTOCOL=grpc");
	ck_assert(warned("gRPC is not supported"));
	ck_assert(warned("http/protobuf"));
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_PROTOBUF);
	ck_assert_str_eq(cfg.otlp_endpoint, DEFAULT_URL);
	/* ... and an endpoint the user gave is used as given. */
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc",
	                    "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
	               "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc");
	ck_assert_str_eq(cfg.otlp_endpoint, "http://collector:4317/v1/traces");
	/* grpc for traces only: the generic http/json stays. */
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
	                    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
	               "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc");
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_JSON);

	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_PROTOCOL", "http"),
	               "OTEL_EXPORTER_OTLP_PROTOCOL=http");
	ck_assert(warned("unknown OTLP protocol, using default http/protobuf"));
	ck_assert_int_eq(cfg.otlp_protocol, OTELP_PROTO_HTTP_PROTOBUF);
}
END_TEST

START_TEST(test_otlp_tls_files)
{
	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_CERTIFICATE", "/g/ca.pem",
	                   "OTEL_EXPORTER_OTLP_CLIENT_KEY", "/g/key.pem",
	                   "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/g/cert.pem"));
	ck_assert_str_eq(cfg.otlp_certificate, "/g/ca.pem");
	ck_assert_str_eq(cfg.otlp_client_key, "/g/key.pem");
	ck_assert_str_eq(cfg.otlp_client_certificate, "/g/cert.pem");

	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_CERTIFICATE", "/g/ca.pem",
	                   "OTEL_EXPORTER_OTLP_CLIENT_KEY", "/g/key.pem",
	                   "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/g/cert.pem",
	                   "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/t/ca.pem",
	                   "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/t/key.pem",
	                   "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/t/cert.pem"));
	ck_assert_str_eq(cfg.otlp_certificate, "/t/ca.pem");
	ck_assert_str_eq(cfg.otlp_client_key, "/t/key.pem");
	ck_assert_str_eq(cfg.otlp_client_certificate, "/t/cert.pem");

	ck_no_warning(LOAD("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/t/key.pem"));
	ck_assert_str_eq(cfg.otlp_client_key, "/t/key.pem");
	ck_assert_str_eq(cfg.otlp_certificate, "");

	/* Too long: warned, the generic value stays. */
	ck_one_warning(LOAD("OTEL_EXPORTER_OTLP_CERTIFICATE", "/g/ca.pem",
	                    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", long1100),
	               "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE=");
	ck_assert(warned("using the value of OTEL_EXPORTER_OTLP_CERTIFICATE"));
	ck_assert_str_eq(cfg.otlp_certificate, "/g/ca.pem");
}
END_TEST

/* ---- Our own variables ---------------------------------------------------------------- */

START_TEST(test_instrumentations)
{
	ck_no_warning(LOAD("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "http"));
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_HTTP);
	ck_no_warning(LOAD("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", " LibPQ , hiredis "));
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_LIBPQ | OTELP_INST_HIREDIS);
	ck_no_warning(LOAD("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "hiredis"));
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_HTTP | OTELP_INST_LIBPQ);
	ck_no_warning(LOAD("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "http,libpq",
	                   "OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "libpq"));
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_HTTP);
	ck_no_warning(LOAD("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "http,libpq,hiredis"));
	ck_assert_uint_eq(cfg.instrumentations, 0);

	ck_one_warning(LOAD("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "http,mysql"),
	               "OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS=http,mysql");
	ck_assert(warned("mysql"));
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_HTTP);
	/* Only unknown names: the list was still given, so nothing is enabled. */
	ck_one_warning(LOAD("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", "grpc"),
	               "OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS=grpc");
	ck_assert_uint_eq(cfg.instrumentations, 0);
	ck_one_warning(LOAD("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", "redis"),
	               "OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=redis");
	ck_assert_uint_eq(cfg.instrumentations, OTELP_INST_ALL);
}
END_TEST

START_TEST(test_shutdown_timeout)
{
	ck_no_warning(LOAD("OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "500"));
	ck_assert_uint_eq(cfg.shutdown_timeout_ms, 500);
	ck_no_warning(LOAD("OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "0"));
	ck_assert_uint_eq(cfg.shutdown_timeout_ms, 0); /* do not wait, not "no limit" */
	ck_one_warning(LOAD("OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "-1"),
	               "OTEL_PRELOAD_SHUTDOWN_TIMEOUT=-1");
	ck_assert(warned("using default 2000"));
	ck_assert_uint_eq(cfg.shutdown_timeout_ms, 2000);
	ck_one_warning(LOAD("OTEL_PRELOAD_SHUTDOWN_TIMEOUT", "2s"),
	               "OTEL_PRELOAD_SHUTDOWN_TIMEOUT=2s");
	ck_assert_uint_eq(cfg.shutdown_timeout_ms, 2000);
}
END_TEST

/* ---- otelp__percent_decode -------------------------------------------------------------- */

START_TEST(test_percent_decode)
{
	char out[16];

	ck_assert_int_eq(otelp__percent_decode("a%20b", 5, out, sizeof(out), true), 3);
	ck_assert_str_eq(out, "a b");
	ck_assert_int_eq(otelp__percent_decode("%2c%2C%3d", 9, out, sizeof(out), true), 3);
	ck_assert_str_eq(out, ",,=");
	ck_assert_int_eq(otelp__percent_decode("", 0, out, sizeof(out), true), 0);
	ck_assert_str_eq(out, "");
	/* n bounds the input: the string need not be terminated there. */
	ck_assert_int_eq(otelp__percent_decode("abc%41XYZ", 6, out, sizeof(out), true), 4);
	ck_assert_str_eq(out, "abcA");
	/* An escape cut by n is malformed. */
	ck_assert_int_eq(otelp__percent_decode("ab%41", 4, out, sizeof(out), true), -1);
	ck_assert_int_eq(otelp__percent_decode("ab%41", 4, out, sizeof(out), false), 4);
	ck_assert_str_eq(out, "ab%4");

	/* Strict: malformed escapes are errors; lenient: kept literally. */
	static const char *const bad[] = {"%", "%4", "%zz", "%g1", "x%0", "%00", "%%41"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		    otelp__percent_decode(bad[i], strlen(bad[i]), out, sizeof(out), true), -1);
		ck_assert_int_eq(
		    otelp__percent_decode(bad[i], strlen(bad[i]), out, sizeof(out), false),
		    (int)strlen(bad[i]) - (strcmp(bad[i], "%%41") == 0 ? 2 : 0));
	}
	ck_assert_str_eq(out, "%A");

	/* Capacity counts the terminator. */
	ck_assert_int_eq(otelp__percent_decode("abcd", 4, out, 5, true), 4);
	ck_assert_int_eq(otelp__percent_decode("abcde", 5, out, 5, true), -1);
	ck_assert_int_eq(otelp__percent_decode("%41%42%43%44", 12, out, 5, true), 4);
	ck_assert_str_eq(out, "ABCD");
	ck_assert_int_eq(otelp__percent_decode("a", 1, out, 0, false), -1);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("general");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_reads_every_variable);
	tcase_add_test(tc, test_empty_is_unset);
	tcase_add_test(tc, test_blank_enum_and_number_is_unset);
	tcase_add_test(tc, test_secure_mode_reads_nothing);
	tcase_add_test(tc, test_global_and_null_getenv);
	tcase_add_test(tc, test_sdk_disabled);
	tcase_add_test(tc, test_service_name);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_log_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("warnings");
	tcase_add_loop_test(tc, test_bad_value_one_warning, 0,
	                    (int)(sizeof(bad_values) / sizeof(bad_values[0])));
	tcase_add_loop_test(tc, test_bad_value_same_as_the_fallback, 0,
	                    (int)(sizeof(bad_values) / sizeof(bad_values[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("resource");
	tcase_add_test(tc, test_resource_valid);
	tcase_add_test(tc, test_resource_limits);
	tcase_add_loop_test(tc, test_resource_invalid_drops_all, 0,
	                    (int)(sizeof(bad_resources) / sizeof(bad_resources[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("sdk");
	tcase_add_test(tc, test_propagators);
	tcase_add_test(tc, test_sampler);
	tcase_add_test(tc, test_sampler_arg);
	tcase_add_test(tc, test_exporter);
	tcase_add_test(tc, test_bsp);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("otlp");
	tcase_add_loop_test(tc, test_url_table, 0, (int)(sizeof(url_cases) / sizeof(url_cases[0])));
	tcase_add_test(tc, test_url_small_buffer);
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_headers_malformed);
	tcase_add_test(tc, test_headers_limits);
	tcase_add_test(tc, test_headers_merge);
	tcase_add_test(tc, test_otlp_endpoint_precedence);
	tcase_add_test(tc, test_otlp_timeout);
	tcase_add_test(tc, test_otlp_compression);
	tcase_add_test(tc, test_otlp_protocol);
	tcase_add_test(tc, test_otlp_tls_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("own");
	tcase_add_test(tc, test_instrumentations);
	tcase_add_test(tc, test_shutdown_timeout);
	tcase_add_test(tc, test_percent_decode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int fd = mkstemp(warn_path);

	if (fd < 0)
		return EXIT_FAILURE;
	close(fd);
	memset(long300, 'n', 300);
	memset(long1100, 'c', 1100);
	memset(long2000, 'p', 2000);
	snprintf(long_base, sizeof(long_base), "http://h/");
	memset(long_base + 9, 'b', 1024 - 9 - 9);
	otelp__config_defaults(&defaults);
	otelp__log_init(OTELP_LOG_WARN, warn_path);

	int rc = otelp_check_run(config_suite(), false);
	unlink(warn_path);
	return rc;
}
