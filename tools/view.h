/*
 * otel-preload view: the model shared by the terminal renderer (view.c) and the HTML page
 * (html.c). view.c reads the file into spans, groups them into traces and lays each trace out
 * as rows in tree order; html.c only writes what it is given.
 */
#ifndef OTELP_VIEW_H
#define OTELP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json.h>

/* Writes "out of memory" to stderr and exits with status 1. */
__attribute__((noreturn)) void otelp_view_oom(void);

/* A growable string; p is always NUL-terminated once anything was put (or NULL). */
struct otelp_sbuf {
	char *p;
	size_t len;
	size_t cap;
};

void otelp_sbuf_put(struct otelp_sbuf *b, const char *s, size_t n);
void otelp_sbuf_puts(struct otelp_sbuf *b, const char *s); /* NULL: nothing */
void otelp_sbuf_printf(struct otelp_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void otelp_sbuf_free(struct otelp_sbuf *b);
/* The contents ("" when nothing was put). */
const char *otelp_sbuf_str(const struct otelp_sbuf *b);

/* Span kinds and status codes as OTLP numbers them. */
enum { OTELP_VSTATUS_UNSET = 0, OTELP_VSTATUS_OK = 1, OTELP_VSTATUS_ERROR = 2 };

struct otelp_vspan {
	char trace_id[33];  /* lowercase hex */
	char span_id[17];   /* lowercase hex */
	char parent_id[17]; /* lowercase hex, "" for a root */
	const char *name;   /* these strings belong to the json objects below */
	const char *service;
	const char *status_msg; /* "" when none */
	int kind;               /* 0..5 as OTLP; anything else is shown as "?" */
	int status;             /* OTELP_VSTATUS_* (others kept as given) */
	uint64_t start_ns;
	uint64_t end_ns;              /* never before start_ns */
	struct json_object *span;     /* the span object: attributes, events, links */
	struct json_object *resource; /* NULL when the line had none */
	struct json_object *scope;    /* NULL when the line had none */
	size_t line;                  /* 1-based line of the file */
};

/* One span in display order. */
struct otelp_vrow {
	struct otelp_vspan *s;
	size_t depth;
	bool orphan; /* has a parent id, but that span is not in the file */
	bool cycle;  /* its ancestors loop back to it: shown as a root */
	bool has_children;
	char *prefix; /* tree drawing before the name (UTF-8) */
	char *cont;   /* tree drawing before the row's detail lines */
};

struct otelp_vtrace {
	char trace_id[33];
	struct otelp_vspan **spans; /* by start time */
	size_t n;
	struct otelp_vrow *rows; /* tree order (depth first, children by start time) */
	uint64_t start_ns;       /* earliest start */
	uint64_t end_ns;         /* latest end */
	size_t n_services;
	size_t n_errors;
	const struct otelp_vspan *root; /* earliest span without a parent; else earliest span */
	bool root_missing;              /* no span of the trace lacks a parent */
};

const char *otelp_view_kind_name(int kind);
const char *otelp_view_status_name(int status);
/* "1.23ms", "456µs", "12.3s"... into buf (at least 32 bytes). */
const char *otelp_view_fmt_dur(char *buf, size_t size, uint64_t ns);
/* "2023-11-14T22:13:20.123456789Z" into buf (at least 48 bytes). */
const char *otelp_view_fmt_time(char *buf, size_t size, uint64_t unix_ns);
/* An OTLP AnyValue ({"stringValue":...} etc.) as display text, appended to b. */
void otelp_view_value_text(struct otelp_sbuf *b, struct json_object *value);
/* The attributes array of obj ("attributes" member), or NULL. */
struct json_object *otelp_view_attrs(struct json_object *obj);
/* The key and value of one KeyValue; false when it is not one. */
bool otelp_view_kv(struct json_object *kv, const char **key, struct json_object **value);
/* A uint64 given as a JSON number or a decimal string; 0 when neither. */
uint64_t otelp_view_u64(struct json_object *o);

/*
 * Writes the page for traces[0..n) to f (source names the file shown in the title).
 * Returns 0, or -1 on a write error.
 */
int otelp_view_html(FILE *f, const char *source, struct otelp_vtrace *const *traces, size_t n);

/*
 * otel-preload view with its output streams as parameters: argv[0] is "view"; out gets the
 * traces (colour decided by isatty(fileno(out)) unless --color says otherwise), err the
 * warnings and errors. Returns the exit status.
 */
int otelp_view_main(int argc, char **argv, FILE *out, FILE *err);

#endif
