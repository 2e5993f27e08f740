/*
 * This file is private to otelpreload.
 *
 * Redis command text for database spans, from the three ways hiredis takes a command:
 * a printf-like format with its va_list (redisCommand, redisvCommand, redisAppendCommand,
 * redisAsyncCommand...), or argc/argv/argvlen (the *Argv variants).
 *
 * The format language is hiredis' own (redisvFormatCommand): the format is split into
 * arguments at spaces; "%s" takes a NUL-terminated char *, "%b" a pointer and a size_t
 * length, "%%" is a literal '%', and any other conversion is a printf conversion
 * (flags "#0-+ ", width and precision digits, length modifiers hh h l ll, conversions
 * diouxX and eEfFgGaA) that consumes its argument from the va_list the same way. A format
 * hiredis would reject is reported as invalid (returns false), and so is one hiredis cannot
 * handle safely (a spec running into the format's end, "GET %5"; a NULL %s). The va_list given
 * is a copy the caller owns (va_copy); it is never used past its arguments.
 *
 * The text (db.query.text) is the arguments joined by single spaces, each as its bytes (binary
 * and spaces included, not escaped), or `?` for a value in OTELP_REDISQ_SANITIZED mode; no NUL
 * is written after it. The rules of each mode are in redisq.c's opening comment.
 *
 * Pure functions: no allocation, no locks; they never read past the given lengths, write at
 * most the given capacities, and cut values that do not fit.
 */
#ifndef OTELP_REDISQ_H
#define OTELP_REDISQ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum otelp_redisq_mode {
	OTELP_REDISQ_SANITIZED, /* keys (and hash fields) kept, every value -> ? */
	OTELP_REDISQ_RAW,       /* every argument as sent */
	OTELP_REDISQ_NONE,      /* no text: only the command name and the facts below */
};

struct otelp_redisq {
	char name[64]; /* the command name as sent (first argument), cut to fit, NUL-terminated */
	size_t name_len;
	size_t text_len; /* bytes written to the caller's text buffer */
	int argc;        /* arguments including the command name */
	long select_db;  /* SELECT n: n (0..INT_MAX); -1 for any other command or a bad n */
	bool subscribe;  /* SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE or MONITOR (case-insensitive) */
};

/*
 * From a hiredis format and its arguments. text/cap: where db.query.text goes (text may be
 * NULL with cap 0 in OTELP_REDISQ_NONE mode). False when the format is invalid or empty (no
 * argument): then *out is cleared (argc 0, name "", text_len 0, select_db -1) and the bytes in
 * text are unspecified.
 */
bool otelp__redisq_fmt(const char *fmt, va_list ap, enum otelp_redisq_mode mode, char *text,
                       size_t cap, struct otelp_redisq *out);

/*
 * From argc/argv/argvlen (argvlen NULL: strlen of each argv[i]). False, *out cleared, when
 * argc < 1 or an argv[i] is NULL (with a length other than 0).
 */
bool otelp__redisq_argv(int argc, const char *const *argv, const size_t *argvlen,
                        enum otelp_redisq_mode mode, char *text, size_t cap,
                        struct otelp_redisq *out);

/*
 * The fast path, for the shapes nearly every program sends: at most OTELP_REDISQ_FAST_ARGS
 * arguments, each a whole literal word of the format (no '%' in it) or a whole "%s" or "%b"
 * (argv: every argv[i] non-NULL), the name 1 to 63 bytes long and not HELLO, EVAL, EVAL_RO,
 * EVALSHA, EVALSHA_RO, FCALL or FCALL_RO, the text at most cap bytes. In two steps, so that a
 * caller can put the text where it is kept (a span) once the name is known:
 *
 *	struct otelp_redisq_args a;
 *	if (otelp__redisq_fast_fmt(fmt, ap, mode, cap, &a)) {
 *		... a.arg[0], a.len[0]: the name; a.text_len bytes of room ...
 *		otelp__redisq_fast_text(&a, text);
 *	} else {
 *		otelp__redisq_fmt(fmt, ap, mode, text, cap, &q);
 *	}
 *
 * When a fast_* function returns true, the facts and the text are exactly what the general
 * function gives with the same mode and cap (argc, name, select_db, subscribe, text_len; the
 * name is a.arg[0], not cut). False: not one of these shapes (or the text longer than cap);
 * *a is then unspecified, and the caller uses the general function (which also tells a format
 * or argv that is invalid). Pure functions, like the general ones.
 * The argument pointers are the caller's (va_list or argv): valid as long as those are.
 */
#define OTELP_REDISQ_FAST_ARGS 8

struct otelp_redisq_args {
	const char *arg[OTELP_REDISQ_FAST_ARGS]; /* arg[0]: the command name */
	size_t len[OTELP_REDISQ_FAST_ARGS];      /* set for the name and every argument used */
	int argc;
	enum otelp_redisq_mode mode;
	uint32_t keep;   /* bit i: argument i is written as sent, else as `?` (i >= 1) */
	size_t text_len; /* the text's length; 0 in OTELP_REDISQ_NONE mode */
	long select_db;
	bool subscribe;
};

bool otelp__redisq_fast_fmt(const char *fmt, va_list ap, enum otelp_redisq_mode mode, size_t cap,
                            struct otelp_redisq_args *a);
bool otelp__redisq_fast_argv(int argc, const char *const *argv, const size_t *argvlen,
                             enum otelp_redisq_mode mode, size_t cap, struct otelp_redisq_args *a);
/* Write the text: a->text_len bytes at text. */
void otelp__redisq_fast_text(const struct otelp_redisq_args *a, char *text);

#endif
