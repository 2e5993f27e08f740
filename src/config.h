/*
 * This file is private to otelpreload.
 *
 * Configuration, read once from the environment when the shim loads (nginx and other daemons
 * clear the environment of their workers later, so it must be read early). The result is a
 * plain struct with fixed-size storage: no allocation, read-only after load, read directly on
 * hot paths through otelp__cfg.
 *
 * Every invalid value gives one diagnostic naming the variable and the value (OTELP_CFGWARN),
 * then the default applies. Loading never fails and never aborts.
 */
#ifndef OTELP_CONFIG_H
#define OTELP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define OTELP_CFG_STR_MAX  1024 /* paths, URLs */
#define OTELP_CFG_NAME_MAX 256  /* service name */
#define OTELP_CFG_KV_MAX   64   /* resource attributes, OTLP headers */
#define OTELP_CFG_KEY_MAX  128
#define OTELP_CFG_VAL_MAX  512

/* Propagators, OTEL_PROPAGATORS (bit set). */
enum {
	OTELP_PROP_TRACECONTEXT = 1u << 0,
	OTELP_PROP_BAGGAGE = 1u << 1,
	OTELP_PROP_B3 = 1u << 2,      /* B3 single header */
	OTELP_PROP_B3MULTI = 1u << 3, /* B3 multiple headers */
};

/* Instrumentations, OTEL_PRELOAD_{ENABLED,DISABLED}_INSTRUMENTATIONS (bit set). */
enum {
	OTELP_INST_HTTP = 1u << 0,
	OTELP_INST_LIBPQ = 1u << 1,
	OTELP_INST_HIREDIS = 1u << 2,
	OTELP_INST_ALL = OTELP_INST_HTTP | OTELP_INST_LIBPQ | OTELP_INST_HIREDIS,
};

enum otelp_sampler_kind {
	OTELP_SAMPLER_ALWAYS_ON,
	OTELP_SAMPLER_ALWAYS_OFF,
	OTELP_SAMPLER_TRACEIDRATIO,
	OTELP_SAMPLER_PB_ALWAYS_ON, /* default */
	OTELP_SAMPLER_PB_ALWAYS_OFF,
	OTELP_SAMPLER_PB_TRACEIDRATIO,
};

enum otelp_exporter_kind {
	OTELP_EXPORTER_OTLP, /* default */
	OTELP_EXPORTER_CONSOLE,
	OTELP_EXPORTER_NONE,
	OTELP_EXPORTER_FILE, /* OTLP JSON lines appended to OTEL_PRELOAD_FILE */
};

/* OTEL_PRELOAD_DB_QUERY_TEXT */
enum otelp_db_text {
	OTELP_DB_TEXT_SANITIZED, /* default */
	OTELP_DB_TEXT_RAW,
	OTELP_DB_TEXT_OFF,
};

/* OTEL_PRELOAD_STACKTRACE */
enum otelp_stacktrace_mode {
	OTELP_STACKTRACE_ERRORS, /* default */
	OTELP_STACKTRACE_ALL,
	OTELP_STACKTRACE_OFF,
};

#define OTELP_DEFAULT_FILE "otel-preload-traces.jsonl"

enum otelp_otlp_protocol {
	OTELP_PROTO_HTTP_PROTOBUF, /* default */
	OTELP_PROTO_HTTP_JSON,
};

enum otelp_compression {
	OTELP_COMPRESSION_NONE, /* default */
	OTELP_COMPRESSION_GZIP,
};

struct otelp_cfg_kv {
	char key[OTELP_CFG_KEY_MAX];
	char value[OTELP_CFG_VAL_MAX];
};

/* Limits; UINT32_MAX means "no limit". */
struct otelp_limits {
	uint32_t
	    attr_value_length; /* OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT > OTEL_ATTRIBUTE_... */
	uint32_t attr_count;   /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT > OTEL_ATTRIBUTE_COUNT_LIMIT */
	uint32_t event_count;  /* OTEL_SPAN_EVENT_COUNT_LIMIT */
	uint32_t link_count;   /* OTEL_SPAN_LINK_COUNT_LIMIT */
	uint32_t event_attr_count; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT */
	uint32_t link_attr_count;  /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT */
};

struct otelp_config {
	bool disabled;    /* OTEL_SDK_DISABLED=true, or secure-execution mode */
	bool secure_mode; /* AT_SECURE: environment ignored, shim off */
	char service_name[OTELP_CFG_NAME_MAX];          /* OTEL_SERVICE_NAME; "" = unset */
	struct otelp_cfg_kv resource[OTELP_CFG_KV_MAX]; /* OTEL_RESOURCE_ATTRIBUTES, decoded */
	unsigned n_resource;
	enum otelp_log_level log_level;    /* OTEL_LOG_LEVEL, default info */
	char log_file[OTELP_CFG_STR_MAX];  /* OTEL_PRELOAD_LOG_FILE */
	unsigned propagators;              /* OTEL_PROPAGATORS bit set; 0 = none */
	enum otelp_sampler_kind sampler;   /* OTEL_TRACES_SAMPLER */
	double sampler_ratio;              /* OTEL_TRACES_SAMPLER_ARG, default 1.0 */
	enum otelp_exporter_kind exporter; /* OTEL_TRACES_EXPORTER */
	/* Batch span processor. */
	uint32_t bsp_schedule_delay_ms;     /* 5000 */
	uint32_t bsp_export_timeout_ms;     /* 30000; 0 in env = no limit = UINT32_MAX here */
	uint32_t bsp_max_queue_size;        /* 2048 */
	uint32_t bsp_max_export_batch_size; /* 512, clamped to the queue size */
	struct otelp_limits limits;
	/* OTLP exporter, signal-specific variables win over generic ones. */
	char otlp_endpoint[OTELP_CFG_STR_MAX]; /* final URL, e.g. http://localhost:4318/v1/traces */
	struct otelp_cfg_kv otlp_headers[OTELP_CFG_KV_MAX]; /* merged, values percent-decoded */
	unsigned n_otlp_headers;
	uint32_t otlp_timeout_ms; /* 10000; 0 in env = no limit = UINT32_MAX here */
	enum otelp_compression otlp_compression;
	enum otelp_otlp_protocol otlp_protocol;
	char otlp_certificate[OTELP_CFG_STR_MAX];
	char otlp_client_key[OTELP_CFG_STR_MAX];
	char otlp_client_certificate[OTELP_CFG_STR_MAX];
	/* Our own. */
	unsigned instrumentations;    /* OTELP_INST_* enabled */
	uint32_t shutdown_timeout_ms; /* OTEL_PRELOAD_SHUTDOWN_TIMEOUT, 2000 */
	/* HTTP instrumentation. */
	bool http_route_heuristic;                 /* OTEL_PRELOAD_HTTP_ROUTE=heuristic */
	char http_ignore_paths[OTELP_CFG_STR_MAX]; /* normalized list, "" = none */
	char http_capture_req[OTELP_CFG_STR_MAX];  /* lowercase header names, "" = none */
	char http_capture_resp[OTELP_CFG_STR_MAX];
	/* File exporter. */
	char file_path[OTELP_CFG_STR_MAX]; /* OTEL_PRELOAD_FILE, default OTELP_DEFAULT_FILE */
	/* Database instrumentations (libpq, hiredis). */
	enum otelp_db_text db_query_text;      /* OTEL_PRELOAD_DB_QUERY_TEXT */
	enum otelp_stacktrace_mode stacktrace; /* OTEL_PRELOAD_STACKTRACE */
	bool db_sqlcommenter;                  /* OTEL_PRELOAD_DB_SQLCOMMENTER */
	bool db_returned_rows;                 /* OTEL_PRELOAD_DB_RETURNED_ROWS */
};

/* The configuration in force (filled by otelp__config_load at init). */
extern struct otelp_config otelp__cfg;

/*
 * Fill cfg from an environment. getenv_fn returns NULL for unset variables (tests pass their
 * own). secure: secure-execution mode (AT_SECURE): nothing is read, the shim is disabled.
 * Diagnostics for invalid values go through OTELP_CFGWARN.
 */
void otelp__config_load(struct otelp_config *cfg, const char *(*getenv_fn)(const char *name),
                        bool secure);

/* Defaults only (what an empty environment gives). */
void otelp__config_defaults(struct otelp_config *cfg);

/*
 * Helpers exposed for unit tests and for other parsers.
 * otelp__percent_decode: decodes %XX in place semantics into out (cap bytes incl. NUL);
 * strict: a malformed escape is an error (-1); lenient: kept literally. Returns length or -1.
 */
int otelp__percent_decode(const char *in, size_t n, char *out, size_t cap, bool strict);

/*
 * Build the OTLP/HTTP traces URL from the two endpoint variables (either may be NULL or empty).
 * Returns 0, or -1 when the chosen value is not an http:// or https:// URL (then the default
 * is written).
 */
int otelp__otlp_traces_url(const char *traces_endpoint, const char *generic_endpoint, char *out,
                           size_t cap);

#endif
