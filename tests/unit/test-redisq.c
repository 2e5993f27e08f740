/*
 * Unit tests for src/redisq.c: hiredis format parsing against the real libhiredis 0.14
 * (loaded with dlopen: redisvFormatCommand builds the RESP command, whose arguments must equal
 * our raw-mode arguments), the sanitizing table of docs/databases.md, the facts (name, argc,
 * SELECT index, subscribe), cutting at every small capacity with guard bytes, invalid input.
 *
 * Argument bytes given to the argv path and to %b are heap copies of exactly their length,
 * without a terminating NUL, so that under ASan a read past their end fails the test.
 */
#include <check.h>

#include "check-run.h"
#include <dlfcn.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redisq.h"

#define TEXT_CAP 8192
#define MAXARGS  64

/* ---- helpers ---- */

static char *exact(const void *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

struct args {
	int argc;
	const char *ptr[MAXARGS];
	size_t len[MAXARGS];
};

/* Arguments joined by single spaces (the raw text), cut at cap; returns the full length. */
static size_t join(const struct args *a, char *buf, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < a->argc; i++) {
		if (i) {
			if (n < cap)
				buf[n] = ' ';
			n++;
		}
		for (size_t j = 0; j < a->len[i]; j++, n++)
			if (n < cap)
				buf[n] = a->ptr[i][j];
	}
	return n;
}

/* Split at spaces as hiredis does for a format without '%' (no empty arguments). */
static void split(const char *s, struct args *a)
{
	a->argc = 0;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, ' ');
		if (!e)
			e = s + strlen(s);
		ck_assert_int_lt(a->argc, MAXARGS);
		a->ptr[a->argc] = s;
		a->len[a->argc] = (size_t)(e - s);
		a->argc++;
		s = e;
	}
}

/* ---- the fast path against the general one ---- */

static int fast_taken; /* how many times the fast path took a command and was compared */

/*
 * The fast path's result, when it takes the command, must be the general path's: ok, q and
 * text (cap: the capacity both were given). The text goes to an exact heap buffer.
 */
static void check_fast(bool fast, const struct otelp_redisq_args *a, bool ok,
                       const struct otelp_redisq *q, const char *text, size_t cap)
{
	if (!fast)
		return;
	fast_taken++;
	ck_assert_msg(ok, "the fast path took a command the general one rejects");
	ck_assert_int_eq(a->argc, q->argc);
	ck_assert_uint_ge(a->len[0], 1);
	ck_assert_uint_le(a->len[0], 63);
	ck_assert_uint_eq(a->len[0], q->name_len);
	ck_assert(memcmp(a->arg[0], q->name, q->name_len) == 0);
	ck_assert_int_eq(a->select_db, q->select_db);
	ck_assert_int_eq(a->subscribe, q->subscribe);
	ck_assert_uint_le(a->text_len, cap);
	ck_assert_msg(a->text_len == q->text_len, "fast text_len %zu, general %zu", a->text_len,
	              q->text_len);
	char *t = malloc(a->text_len ? a->text_len : 1);
	ck_assert_ptr_nonnull(t);
	otelp__redisq_fast_text(a, t);
	ck_assert_msg(a->text_len == 0 || memcmp(t, text, a->text_len) == 0,
	              "fast text \"%.*s\", general \"%.*s\"", (int)a->text_len, t, (int)q->text_len,
	              text);
	free(t);
}

static void check_fast_fmt(const char *fmt, va_list ap, enum otelp_redisq_mode mode, size_t cap,
                           bool ok, const struct otelp_redisq *q, const char *text)
{
	struct otelp_redisq_args a;
	va_list aq;

	va_copy(aq, ap);
	bool fast = otelp__redisq_fast_fmt(fmt, aq, mode, cap, &a);
	va_end(aq);
	check_fast(fast, &a, ok, q, text, cap);
}

static void check_fast_argv(int argc, const char *const *argv, const size_t *argvlen,
                            enum otelp_redisq_mode mode, size_t cap, bool ok,
                            const struct otelp_redisq *q, const char *text)
{
	struct otelp_redisq_args a;
	bool fast = otelp__redisq_fast_argv(argc, argv, argvlen, mode, cap, &a);

	check_fast(fast, &a, ok, q, text, cap);
}

/* The argv path on exact copies of a's arguments. */
static bool run_argv(const struct args *a, enum otelp_redisq_mode mode, char *text, size_t cap,
                     struct otelp_redisq *q)
{
	char *copy[MAXARGS];
	bool ok;

	for (int i = 0; i < a->argc; i++)
		copy[i] = exact(a->ptr[i], a->len[i]);
	ok = otelp__redisq_argv(a->argc, (const char *const *)copy, a->len, mode, text, cap, q);
	check_fast_argv(a->argc, (const char *const *)copy, a->len, mode, cap, ok, q, text);
	for (int i = 0; i < a->argc; i++)
		free(copy[i]);
	return ok;
}

static bool run_fmt(enum otelp_redisq_mode mode, char *text, size_t cap, struct otelp_redisq *q,
                    const char *fmt, ...)
{
	va_list ap, aq;
	bool ok;

	va_start(ap, fmt);
	va_copy(aq, ap);
	ok = otelp__redisq_fmt(fmt, ap, mode, text, cap, q);
	check_fast_fmt(fmt, aq, mode, cap, ok, q, text);
	va_end(aq);
	va_end(ap);
	return ok;
}

static void assert_zeroed(const struct otelp_redisq *q)
{
	ck_assert_uint_eq(q->name_len, 0);
	ck_assert_int_eq(q->name[0], '\0');
	ck_assert_uint_eq(q->text_len, 0);
	ck_assert_int_eq(q->argc, 0);
	ck_assert_int_eq(q->select_db, -1);
	ck_assert(!q->subscribe);
}

static void assert_same_facts(const struct otelp_redisq *a, const struct otelp_redisq *b)
{
	ck_assert_int_eq(a->argc, b->argc);
	ck_assert_uint_eq(a->name_len, b->name_len);
	ck_assert(memcmp(a->name, b->name, a->name_len + 1) == 0);
	ck_assert_int_eq(a->select_db, b->select_db);
	ck_assert_int_eq(a->subscribe, b->subscribe);
}

/* ---- the oracle: libhiredis 0.14 ---- */

typedef int (*vformat_fn)(char **target, const char *format, va_list ap);
typedef void (*free_fn)(char *cmd);

static vformat_fn h_vformat;
static free_fn h_free;

static void oracle_load(void)
{
	if (h_vformat)
		return;
	void *h = dlopen("libhiredis.so.0.14", RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL,
	              "the oracle libhiredis.so.0.14 (Debian libhiredis0.14) is missing: %s",
	              dlerror());
	h_vformat = (vformat_fn)dlsym(h, "redisvFormatCommand");
	h_free = (free_fn)dlsym(h, "redisFreeCommand");
	ck_assert_ptr_nonnull(h_vformat);
	ck_assert_ptr_nonnull(h_free);
}

static size_t resp_num(const char *cmd, size_t n, size_t *pos, char lead)
{
	size_t v = 0, p = *pos;

	ck_assert_uint_lt(p, n);
	ck_assert_int_eq(cmd[p], lead);
	p++;
	ck_assert(p < n && cmd[p] >= '0' && cmd[p] <= '9');
	while (p < n && cmd[p] >= '0' && cmd[p] <= '9')
		v = v * 10 + (size_t)(cmd[p++] - '0');
	ck_assert(p + 1 < n && cmd[p] == '\r' && cmd[p + 1] == '\n');
	*pos = p + 2;
	return v;
}

/* The arguments of a RESP command (pointers into cmd). */
static void resp_parse(const char *cmd, size_t n, struct args *a)
{
	size_t pos = 0;
	size_t argc = resp_num(cmd, n, &pos, '*');

	ck_assert_uint_le(argc, MAXARGS);
	a->argc = (int)argc;
	for (size_t i = 0; i < argc; i++) {
		size_t l = resp_num(cmd, n, &pos, '$');
		ck_assert_uint_le(pos + l + 2, n);
		a->ptr[i] = cmd + pos;
		a->len[i] = l;
		ck_assert(cmd[pos + l] == '\r' && cmd[pos + l + 1] == '\n');
		pos += l + 2;
	}
	ck_assert_uint_eq(pos, n);
}

static int oracle_cases;

/*
 * fmt and its arguments through hiredis and through us: same validity, and in raw mode the same
 * arguments (argc, name, text = hiredis' arguments joined by spaces). Then every mode through
 * the format path equals the argv path on hiredis' arguments.
 */
static void oracle(const char *fmt, ...)
{
	va_list ap, a_h, a_raw, a_san, a_none, f_raw, f_san, f_none;
	char *cmd = NULL;
	char *text = malloc(TEXT_CAP), *text2 = malloc(TEXT_CAP), *want = malloc(TEXT_CAP);
	struct otelp_redisq q, q2;
	struct args a;

	oracle_load();
	oracle_cases++;
	va_start(ap, fmt);
	va_copy(a_h, ap);
	va_copy(a_raw, ap);
	va_copy(a_san, ap);
	va_copy(a_none, ap);
	va_copy(f_raw, ap);
	va_copy(f_san, ap);
	va_copy(f_none, ap);
	int n = h_vformat(&cmd, fmt, a_h);
	bool ok = otelp__redisq_fmt(fmt, a_raw, OTELP_REDISQ_RAW, text, TEXT_CAP, &q);
	check_fast_fmt(fmt, f_raw, OTELP_REDISQ_RAW, TEXT_CAP, ok, &q, text);
	if (n < 0) {
		ck_assert_msg(!ok, "\"%s\": hiredis rejects it, we accept it", fmt);
		assert_zeroed(&q);
		goto done;
	}
	resp_parse(cmd, (size_t)n, &a);
	if (a.argc == 0) {
		ck_assert_msg(!ok, "\"%s\": no argument, but true", fmt);
		assert_zeroed(&q);
		goto done;
	}
	ck_assert_msg(ok, "\"%s\": hiredis accepts it, we reject it", fmt);
	ck_assert_msg(q.argc == a.argc, "\"%s\": argc %d, hiredis %d", fmt, q.argc, a.argc);
	size_t full = join(&a, want, TEXT_CAP);
	size_t wl = full < TEXT_CAP ? full : TEXT_CAP;
	ck_assert_msg(q.text_len == wl && memcmp(text, want, wl) == 0,
	              "\"%s\": text \"%.*s\" (%zu), hiredis \"%.*s\" (%zu)", fmt, (int)q.text_len,
	              text, q.text_len, (int)wl, want, wl);
	size_t nl = a.len[0] < 63 ? a.len[0] : 63;
	ck_assert_uint_eq(q.name_len, nl);
	ck_assert(memcmp(q.name, a.ptr[0], nl) == 0 && q.name[nl] == '\0');

	/* The argv path on the same arguments, in every mode. */
	ck_assert(run_argv(&a, OTELP_REDISQ_RAW, text2, TEXT_CAP, &q2));
	assert_same_facts(&q, &q2);
	ck_assert(q2.text_len == q.text_len && memcmp(text, text2, q.text_len) == 0);

	ck_assert(otelp__redisq_fmt(fmt, a_san, OTELP_REDISQ_SANITIZED, text, TEXT_CAP, &q));
	check_fast_fmt(fmt, f_san, OTELP_REDISQ_SANITIZED, TEXT_CAP, true, &q, text);
	ck_assert(run_argv(&a, OTELP_REDISQ_SANITIZED, text2, TEXT_CAP, &q2));
	assert_same_facts(&q, &q2);
	ck_assert_msg(q2.text_len == q.text_len && memcmp(text, text2, q.text_len) == 0,
	              "\"%s\": sanitized \"%.*s\" vs argv \"%.*s\"", fmt, (int)q.text_len, text,
	              (int)q2.text_len, text2);

	ck_assert(otelp__redisq_fmt(fmt, a_none, OTELP_REDISQ_NONE, NULL, 0, &q));
	check_fast_fmt(fmt, f_none, OTELP_REDISQ_NONE, 0, true, &q, NULL);
	ck_assert(run_argv(&a, OTELP_REDISQ_NONE, NULL, 0, &q2));
	assert_same_facts(&q, &q2);
	ck_assert_uint_eq(q.text_len, 0);
	ck_assert_uint_eq(q2.text_len, 0);
done:
	va_end(a_h);
	va_end(a_raw);
	va_end(a_san);
	va_end(a_none);
	va_end(f_raw);
	va_end(f_san);
	va_end(f_none);
	va_end(ap);
	if (cmd)
		h_free(cmd);
	free(text);
	free(text2);
	free(want);
}

START_TEST(oracle_text)
{
	oracle("GET key");
	oracle("GET %s", "key");
	oracle("  GET   key  ");
	oracle("SET %s %s", "k", "");
	oracle("%s", "");
	oracle("%s %s %s", "", "", "x");
	oracle("GET key%");
	oracle("GET key %");
	oracle("%");
	oracle("a%sb%sc", "X", "");
	oracle("SET %s %s", "a key with spaces", "  ");
	oracle("APPEND k %s%s%s end", "a", "b", "c");
}
END_TEST

START_TEST(oracle_binary)
{
	static const char bin[] = {'a', '\0', ' ', 'b', '\r', '\n', (char)0xff, '%', 's', ' '};
	char *b = exact(bin, sizeof(bin));
	char *empty = exact("", 0);

	oracle("SET %b %b", "key", (size_t)3, b, sizeof(bin));
	oracle("SET k:%b:x %s", b, sizeof(bin), "end");
	oracle("%b", b, (size_t)1);
	oracle("%b", empty, (size_t)0);
	oracle("SET k %b", (void *)NULL, (size_t)0);
	oracle("SET %b%b %s", empty, (size_t)0, b + 1, (size_t)2, "end");
	oracle("%b%b", b + 2, (size_t)1, b + 9, (size_t)1);
	free(b);
	free(empty);
}
END_TEST

START_TEST(oracle_percent)
{
	oracle("%%");
	oracle("SET k 100%%");
	oracle("SET k %%%d%% %s", 5, "end");
	oracle("%%s %s", "x");
	oracle("%% %% %%");
}
END_TEST

START_TEST(oracle_int)
{
	oracle("SET key:%d %s", 42, "end");
	oracle("%d %i %u %s", -1, INT_MIN, 4000000000u, "end");
	oracle("%d%i%u%s", 1, 2, 3u, "glued");
	oracle("%lld %llu %lli %s", LLONG_MIN, ULLONG_MAX, 7LL, "end");
	oracle("%ld %lu %lx %lo %lX %s", LONG_MIN, ULONG_MAX, 0xabcdefL, 8L, 0xffL, "end");
	oracle("%hhd %hhu %hhx %hd %hu %hi %s", 300, 255, 0x1ff, 70000, 65535, -3, "end");
	oracle("%x %X %o %#x %#o %#X %s", 0xdeadbeefu, 0xabcu, 8, 255, 8, 0, "end");
	oracle("%5d|%-5d|%05d|%+d|% d|%.3d|%.d %s", 1, 2, 3, 4, 5, 6, 0, "end");
	oracle("%-+ #0d %s", 9, "end");
	oracle("SET %d %d", 0, -0);
	oracle("%600d %s", 7, "end"); /* longer than redisq's 512-byte conversion buffer */
	oracle("%.700x %s", 1u, "end");
	oracle("%00000000000d %s", 5, "end");  /* 13 bytes: printed */
	oracle("%000000000000d %s", 5, "end"); /* 14 bytes: hiredis adds nothing, reads "00..d" */
	oracle("A%-------------5d %s", 5, "end"); /* long flags */
	oracle("%0000000000000 %s", 5, "end");    /* long, up to a space */
	oracle("%llx%hhx %s", 1LL, 2, "end");
	oracle("SET k %000000000000", 5); /* 14 bytes with the NUL: consumed, "00000000000" */
}
END_TEST

START_TEST(oracle_double)
{
	oracle("%5.2f %s", 3.14159, "end");
	oracle("%e %E %s", 12345.678, -0.000123, "end");
	oracle("%g %G %s", 1e-10, 1e20, "end");
	oracle("%a %A %F %s", 1.0, -2.5, 1e300, "end");
	oracle("%f %s", DBL_MAX, "end");
	oracle("%f %f %f %s", INFINITY, -INFINITY, NAN, "end");
	oracle("ZADD z %f m %d %s", 1.5, 3, "end");
	oracle("%.600f %s", 0.1, "end");
	oracle("%+010.3e|%-12g| %s", 2.0, 3.0, "end");
	oracle("%d %f %lld %g %s %b %hd", 1, 2.0, 3LL, 4.0, "five", "six", (size_t)3, 7);
}
END_TEST

START_TEST(oracle_width_overflow)
{
	/* glibc fails on a width above INT_MAX before writing: hiredis appends nothing. */
	oracle("SET k x%99999999999d %s", 1, "end");
}
END_TEST

START_TEST(oracle_long_s)
{
	size_t n = 10000;
	char *s = malloc(n + 1);

	memset(s, 'v', n);
	s[n] = '\0';
	oracle("SET key %s", s);
	oracle("%s", s);
	free(s);
}
END_TEST

START_TEST(oracle_invalid)
{
	static const char *const bad[] = {
	    "%5s", "%c",   "%p",    "%zu",    "%lf",  "%Lf",  "%hf",   "%llf",
	    "%n",  "%j",   "%*d",   "%l d",   "%hs",  "%-s",  "%hhq",  "%q",
	    "%ls", "%lls", "%hhhd", "%lllld", "%.*d", "%1$d", "%'d",   "%I",
	    "%S",  "%B",   "%5%",   "GET %k", "%qd",  "%hl",  "%lh d", "%.5.3f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		oracle(bad[i], 1, 2, 3);
	/* The invalid spec comes after valid ones: those are consumed first. */
	oracle("SET %s %d %y", "k", 5);
	oracle("SET %s %f %5.3s", "k", 1.0, "v");
	oracle("");
	oracle("    ");
}
END_TEST

/* Formats hiredis itself mishandles (reads past the format's end): we reject them. */
START_TEST(invalid_at_end)
{
	static const char *const bad[] = {"GET %5", "GET %-", "GET % ",
	                                  "GET %.", "%#",     "%0.",
	                                  "%+5.3",  "x%  ",   "SET k %00000000000"};
	struct otelp_redisq q;
	char text[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, bad[i], 1, 2),
		              "%s", bad[i]);
		assert_zeroed(&q);
	}
}
END_TEST

START_TEST(invalid_other)
{
	struct otelp_redisq q;
	char text[64];
	const char *argv[] = {"GET", NULL};
	size_t lens[] = {3, 2};

	ck_assert(!run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, "GET %s", (char *)NULL));
	assert_zeroed(&q);
	ck_assert(
	    !run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, "GET %b", (char *)NULL, (size_t)2));
	assert_zeroed(&q);
	ck_assert(!run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, ""));
	assert_zeroed(&q);
	ck_assert(!run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, NULL));
	assert_zeroed(&q);
	ck_assert(!otelp__redisq_argv(0, argv, NULL, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	assert_zeroed(&q);
	ck_assert(!otelp__redisq_argv(-1, argv, NULL, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	assert_zeroed(&q);
	ck_assert(!otelp__redisq_argv(1, NULL, NULL, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	assert_zeroed(&q);
	ck_assert(!otelp__redisq_argv(2, argv, NULL, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	assert_zeroed(&q);
	ck_assert(!otelp__redisq_argv(2, argv, lens, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	assert_zeroed(&q);
	/* A NULL argument of length 0 is an empty argument. */
	lens[1] = 0;
	ck_assert(otelp__redisq_argv(2, argv, lens, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	ck_assert_int_eq(q.argc, 2);
	ck_assert_uint_eq(q.text_len, 4);
	ck_assert(memcmp(text, "GET ", 4) == 0);
}
END_TEST

/* ---- sanitizing ---- */

static char san_out[TEXT_CAP + 1];

/* cmdline split at spaces, through the argv path and (as a format) the format path. */
static const char *san(const char *cmdline)
{
	struct args a;
	struct otelp_redisq q, q2;
	char other[TEXT_CAP];

	ck_assert(strchr(cmdline, '%') == NULL);
	split(cmdline, &a);
	ck_assert(run_argv(&a, OTELP_REDISQ_SANITIZED, san_out, TEXT_CAP, &q));
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, other, TEXT_CAP, &q2, cmdline));
	assert_same_facts(&q, &q2);
	ck_assert(q.text_len == q2.text_len && memcmp(san_out, other, q.text_len) == 0);
	san_out[q.text_len] = '\0';
	return san_out;
}

START_TEST(sanitize_table)
{
	static const char *const cases[][2] = {
	    {"SET k v EX 10", "SET k ? ? ?"},
	    {"GET k", "GET k"},
	    {"get k", "get k"},
	    {"HSET h f1 v1 f2 v2", "HSET h f1 ? f2 ?"},
	    {"HMSET h f1 v1 f2 v2", "HMSET h f1 ? f2 ?"},
	    {"hmset h f1 v1 f2", "hmset h f1 ? f2"},
	    {"HSETNX h f v", "HSETNX h f ?"},
	    {"HINCRBY h f 5", "HINCRBY h f ?"},
	    {"HINCRBYFLOAT h f 0.5", "HINCRBYFLOAT h f ?"},
	    {"MSET k1 v1 k2 v2", "MSET k1 ? k2 ?"},
	    {"msetnx k1 v1 k2", "msetnx k1 ? k2"},
	    {"MGET a b c", "MGET a b c"},
	    {"DEL a b c", "DEL a b c"},
	    {"EXISTS a b", "EXISTS a b"},
	    {"UNLINK a b", "UNLINK a b"},
	    {"TOUCH a b", "TOUCH a b"},
	    {"WATCH a b", "WATCH a b"},
	    {"HGET h f", "HGET h f"},
	    {"HMGET h f g", "HMGET h f g"},
	    {"HDEL h f g", "HDEL h f g"},
	    {"SELECT 3", "SELECT 3"},
	    {"PING", "PING"},
	    {"ping hello", "ping hello"},
	    {"INCR k", "INCR k"},
	    {"AUTH user pass", "AUTH ? ?"},
	    {"AUTH pass", "AUTH ?"},
	    {"auth", "auth"},
	    {"HELLO 3 AUTH u p", "HELLO 3 AUTH ? ?"},
	    {"hello 3 auth u p SETNAME app", "hello 3 auth ? ? SETNAME app"},
	    {"HELLO 3 AUTH AUTH AUTH SETNAME x", "HELLO 3 AUTH ? ? SETNAME x"},
	    {"HELLO 3 AUTH u", "HELLO 3 AUTH ?"},
	    {"HELLO", "HELLO"},
	    {"HELLO 3 AUTHX u p", "HELLO 3 AUTHX u p"},
	    {"EVAL script 1 k a", "EVAL ? 1 k ?"},
	    {"EVAL s 2 k1 k2 a1 a2", "EVAL ? 2 k1 k2 ? ?"},
	    {"EVAL s 0 a b", "EVAL ? 0 ? ?"},
	    {"EVAL s 5 k", "EVAL ? 5 k"},
	    {"EVAL s x k", "EVAL ? ? ?"},
	    {"EVAL s -1 k", "EVAL ? ? ?"},
	    {"EVAL s 01 k", "EVAL ? ? ?"},
	    {"EVAL s 99999999999 k", "EVAL ? ? ?"},
	    {"EVAL", "EVAL"},
	    {"EVAL s", "EVAL ?"},
	    {"eval_ro s 1 k a", "eval_ro ? 1 k ?"},
	    {"EVALSHA abc 1 k a", "EVALSHA abc 1 k ?"},
	    {"EVALSHA_RO abc 2 k l a", "EVALSHA_RO abc 2 k l ?"},
	    {"FCALL f 1 k a", "FCALL f 1 k ?"},
	    {"fcall_ro f 0 a", "fcall_ro f 0 ?"},
	    {"LPUSH l a b", "LPUSH l ? ?"},
	    {"CONFIG SET requirepass x", "CONFIG SET ? ?"},
	    {"ZADD z 1 m", "ZADD z ? ?"},
	    {"PUBLISH ch msg", "PUBLISH ch ?"},
	    {"FOO", "FOO"},
	    {"SET k", "SET k"},
	    {"  SET   k   v  ", "SET k ?"},
	    {"HSETX h f v", "HSETX h ? ?"},
	    {"GETX a b", "GETX a ?"},
	    {"GE a b", "GE a ?"},
	    {"HINCRBYFLOATX h f v", "HINCRBYFLOATX h ? ?"},
	    {"SUBSCRIBE a b", "SUBSCRIBE a b"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = san(cases[i][0]);
		ck_assert_msg(strcmp(got, cases[i][1]) == 0, "\"%s\" -> \"%s\", want \"%s\"",
		              cases[i][0], got, cases[i][1]);
	}
}
END_TEST

/* Every command of the keep-every-argument list, in any case; they must all be found. */
START_TEST(sanitize_keep_all)
{
	static const char *const all[] = {
	    "BLPOP",  "BRPOP",        "DBSIZE",   "DECR",         "DEL",     "DISCARD",
	    "EXEC",   "EXISTS",       "FLUSHALL", "FLUSHDB",      "GET",     "GETDEL",
	    "HDEL",   "HEXISTS",      "HGET",     "HGETALL",      "HKEYS",   "HLEN",
	    "HMGET",  "HSTRLEN",      "HVALS",    "INCR",         "INFO",    "KEYS",
	    "LLEN",   "MGET",         "MONITOR",  "MULTI",        "PERSIST", "PFCOUNT",
	    "PING",   "PSUBSCRIBE",   "PTTL",     "PUNSUBSCRIBE", "QUIT",    "RANDOMKEY",
	    "RENAME", "RENAMENX",     "ROLE",     "SCAN",         "SCARD",   "SDIFF",
	    "SELECT", "SINTER",       "SMEMBERS", "SSUBSCRIBE",   "STRLEN",  "SUBSCRIBE",
	    "SUNION", "SUNSUBSCRIBE", "TIME",     "TOUCH",        "TTL",     "TYPE",
	    "UNLINK", "UNSUBSCRIBE",  "UNWATCH",  "WATCH",        "ZCARD",
	};
	char line[64], want[64];

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(line, sizeof(line), "%s a b c", all[i]);
		ck_assert_str_eq(san(line), line);
		/* lower case */
		for (char *p = line; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		ck_assert_str_eq(san(line), line);
		/* one byte more or less: not in the list */
		snprintf(line, sizeof(line), "%sQ a b c", all[i]);
		snprintf(want, sizeof(want), "%sQ a ? ?", all[i]);
		ck_assert_str_eq(san(line), want);
	}
	/* The other classes are found too (first and last entries of the sorted table). */
	ck_assert_str_eq(san("AUTH a b"), "AUTH ? ?");
	ck_assert_str_eq(san("ZCARD a b"), "ZCARD a b");
	ck_assert_str_eq(san("A a b"), "A a ?");
	ck_assert_str_eq(san("ZZZZ a b"), "ZZZZ a ?");
}
END_TEST

START_TEST(sanitize_fmt)
{
	struct otelp_redisq q;
	char text[256];
	static const char secret[] = "s3cr3t pass";

	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "SET %s %b EX %d", "k",
	                  secret, sizeof(secret) - 1, 10));
	ck_assert_int_eq(q.argc, 5);
	ck_assert_uint_eq(q.text_len, 11);
	ck_assert(memcmp(text, "SET k ? ? ?", 11) == 0);
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "%s %s %s", "AUTH", "u",
	                  secret));
	ck_assert(memcmp(text, "AUTH ? ?", q.text_len) == 0 && q.text_len == 8);
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "EVAL %s %d %s%d %f",
	                  "return 1", 1, "key:", 7, 2.5));
	ck_assert(memcmp(text, "EVAL ? 1 key:7 ?", q.text_len) == 0 && q.text_len == 16);
	/* numkeys built from pieces, and a numkeys too long to be a number */
	ck_assert(
	    run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "EVALSHA x %d%d k v", 1, 0));
	ck_assert(memcmp(text, "EVALSHA x 10 k v", q.text_len) == 0 && q.text_len == 16);
	ck_assert(
	    run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "EVALSHA x %d%d k v", 0, 1));
	ck_assert(memcmp(text, "EVALSHA x ? ? ?", q.text_len) == 0 && q.text_len == 15);
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "EVAL x %030d k", 1));
	ck_assert(memcmp(text, "EVAL ? ? ?", q.text_len) == 0 && q.text_len == 10);
	/* the name built from pieces */
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "H%sT%% h f v", "SE"));
	ck_assert(memcmp(text, "HSET% h ? ?", q.text_len) == 0 && q.text_len == 11);
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "H%sT h f v", "SE"));
	ck_assert(memcmp(text, "HSET h f ?", q.text_len) == 0 && q.text_len == 10);
	/* empty arguments */
	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "SET %s %s", "", ""));
	ck_assert(memcmp(text, "SET  ?", q.text_len) == 0 && q.text_len == 6);
	ck_assert(run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, "SET %s %s", "", ""));
	ck_assert(memcmp(text, "SET  ", q.text_len) == 0 && q.text_len == 5);
}
END_TEST

/* ---- facts ---- */

START_TEST(facts_name)
{
	struct otelp_redisq q;
	char text[256];
	char longname[101];
	static const char bin[] = {'G', '\0', 'T', (char)0xff};

	memset(longname, 'A', 100);
	longname[100] = '\0';
	ck_assert(run_fmt(OTELP_REDISQ_RAW, text, sizeof(text), &q, "%s k", longname));
	ck_assert_uint_eq(q.name_len, 63);
	ck_assert_uint_eq(strlen(q.name), 63);
	ck_assert_uint_eq(q.text_len, 102);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "%s%s k", longname, longname));
	ck_assert_uint_eq(q.name_len, 63);
	ck_assert_uint_eq(q.text_len, 0);
	ck_assert_int_eq(q.argc, 2);

	struct args a = {.argc = 2, .ptr = {bin, "k"}, .len = {sizeof(bin), 1}};
	ck_assert(run_argv(&a, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	ck_assert_uint_eq(q.name_len, 4);
	ck_assert(memcmp(q.name, bin, 4) == 0 && q.name[4] == '\0');
	ck_assert_uint_eq(q.text_len, 6);
	ck_assert(memcmp(text, "G\0T\xff k", 6) == 0);

	ck_assert(run_fmt(OTELP_REDISQ_SANITIZED, text, sizeof(text), &q, "get k"));
	ck_assert_str_eq(q.name, "get");
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "%s%d%s k", "H", 1, "x"));
	ck_assert_str_eq(q.name, "H1x");
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "%0000000000000d k", 5));
	ck_assert_str_eq(q.name, "000000000000d"); /* hiredis reads on at "%0" + 2 */

	/* name exactly 63 and 64 bytes */
	longname[63] = '\0';
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "%s", longname));
	ck_assert_uint_eq(q.name_len, 63);
	longname[63] = 'A';
	longname[64] = '\0';
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "%s", longname));
	ck_assert_uint_eq(q.name_len, 63);
}
END_TEST

static long db_of(const char *cmdline)
{
	struct args a;
	struct otelp_redisq q, q2;
	char text[256];

	split(cmdline, &a);
	ck_assert(run_argv(&a, OTELP_REDISQ_NONE, NULL, 0, &q));
	for (int m = OTELP_REDISQ_SANITIZED; m <= OTELP_REDISQ_NONE; m++) {
		ck_assert(run_argv(&a, (enum otelp_redisq_mode)m, text, sizeof(text), &q2));
		assert_same_facts(&q, &q2);
		ck_assert(run_fmt((enum otelp_redisq_mode)m, text, sizeof(text), &q2, cmdline));
		assert_same_facts(&q, &q2);
	}
	ck_assert_int_eq(q.argc, a.argc);
	return q.select_db;
}

START_TEST(facts_select)
{
	struct otelp_redisq q;

	ck_assert_int_eq(db_of("SELECT 0"), 0);
	ck_assert_int_eq(db_of("SELECT 15"), 15);
	ck_assert_int_eq(db_of("select 3"), 3);
	ck_assert_int_eq(db_of("SeLeCt 7"), 7);
	ck_assert_int_eq(db_of("SELECT 2147483647"), INT_MAX);
	ck_assert_int_eq(db_of("SELECT 2147483648"), -1);
	ck_assert_int_eq(db_of("SELECT 99999999999"), -1);
	ck_assert_int_eq(db_of("SELECT -1"), -1);
	ck_assert_int_eq(db_of("SELECT 01"), -1);
	ck_assert_int_eq(db_of("SELECT 00"), -1);
	ck_assert_int_eq(db_of("SELECT +1"), -1);
	ck_assert_int_eq(db_of("SELECT 1a"), -1);
	ck_assert_int_eq(db_of("SELECT a"), -1);
	ck_assert_int_eq(db_of("SELECT"), -1);
	ck_assert_int_eq(db_of("SELECT 1 2"), -1);
	ck_assert_int_eq(db_of("SELECTX 1"), -1);
	ck_assert_int_eq(db_of("GET 1"), -1);
	ck_assert_int_eq(db_of("MSET 1 2"), -1);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT %d", 5));
	ck_assert_int_eq(q.select_db, 5);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT %s", ""));
	ck_assert_int_eq(q.select_db, -1);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT 1%d", 2));
	ck_assert_int_eq(q.select_db, 12);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT %s%b", "1", "2", (size_t)1));
	ck_assert_int_eq(q.select_db, 12);
	ck_assert(run_fmt(OTELP_REDISQ_RAW, NULL, 0, &q, "SELECT %b", "3\0", (size_t)2));
	ck_assert_int_eq(q.select_db, -1);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT %30d", 1));
	ck_assert_int_eq(q.select_db, -1);
	ck_assert(run_fmt(OTELP_REDISQ_NONE, NULL, 0, &q, "SELECT 1%s", "00000000000000000000000"));
	ck_assert_int_eq(q.select_db, -1);
}
END_TEST

START_TEST(facts_subscribe)
{
	static const char *const yes[] = {"SUBSCRIBE a", "psubscribe a*", "SSubscribe s", "MONITOR",
	                                  "monitor"};
	static const char *const no[] = {"UNSUBSCRIBE a", "PUNSUBSCRIBE", "SUBSCRIBEX a",
	                                 "GET a",         "SUBSCRIB a",   "PUBLISH a b"};
	struct args a;
	struct otelp_redisq q;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		split(yes[i], &a);
		ck_assert(run_argv(&a, OTELP_REDISQ_NONE, NULL, 0, &q));
		ck_assert_msg(q.subscribe, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		split(no[i], &a);
		ck_assert(run_argv(&a, OTELP_REDISQ_NONE, NULL, 0, &q));
		ck_assert_msg(!q.subscribe, "%s", no[i]);
	}
}
END_TEST

START_TEST(facts_argv_strlen)
{
	const char *argv[] = {"SET", "key", "value with spaces"};
	struct otelp_redisq q;
	char text[64];

	ck_assert(otelp__redisq_argv(3, argv, NULL, OTELP_REDISQ_RAW, text, sizeof(text), &q));
	ck_assert_int_eq(q.argc, 3);
	ck_assert_uint_eq(q.text_len, 25);
	ck_assert(memcmp(text, "SET key value with spaces", 25) == 0);
	ck_assert(
	    otelp__redisq_argv(3, argv, NULL, OTELP_REDISQ_SANITIZED, text, sizeof(text), &q));
	ck_assert(memcmp(text, "SET key ?", 9) == 0 && q.text_len == 9);
	/* text NULL: nothing written whatever cap says */
	ck_assert(otelp__redisq_argv(3, argv, NULL, OTELP_REDISQ_RAW, NULL, 100, &q));
	ck_assert_uint_eq(q.text_len, 0);
	ck_assert_int_eq(q.argc, 3);
}
END_TEST

/* ---- the fast path ---- */

/* fmt in every mode through both paths, the fast one at several capacities: taken or not. */
static bool fast_fmt_case(bool want_taken, const char *fmt, ...)
{
	char *text = malloc(TEXT_CAP);
	bool taken_any = false;

	for (int m = OTELP_REDISQ_SANITIZED; m <= OTELP_REDISQ_NONE; m++) {
		enum otelp_redisq_mode mode = (enum otelp_redisq_mode)m;
		struct otelp_redisq q;
		struct otelp_redisq_args a;
		va_list ap, aq;

		va_start(ap, fmt);
		va_copy(aq, ap);
		bool ok = otelp__redisq_fmt(fmt, aq, mode, text, TEXT_CAP, &q);
		va_end(aq);
		va_copy(aq, ap);
		bool fast = otelp__redisq_fast_fmt(fmt, aq, mode, TEXT_CAP, &a);
		va_end(aq);
		ck_assert_msg(fast == want_taken, "\"%s\" (mode %d): fast path %s", fmt, m,
		              fast ? "taken" : "not taken");
		taken_any |= fast;
		check_fast(fast, &a, ok, &q, text, TEXT_CAP);
		/* a capacity the text does not fit in: the fast path declines */
		size_t full = q.text_len;
		for (size_t cap = full > 2 ? full - 2 : 0; cap <= full + 1; cap++) {
			va_copy(aq, ap);
			fast = otelp__redisq_fast_fmt(fmt, aq, mode, cap, &a);
			va_end(aq);
			ck_assert(!fast ||
			          (want_taken && (cap >= full || mode == OTELP_REDISQ_NONE)));
			va_copy(aq, ap);
			ok = otelp__redisq_fmt(fmt, aq, mode, text, cap, &q);
			va_end(aq);
			check_fast(fast, &a, ok, &q, text, cap);
		}
		va_end(ap);
	}
	free(text);
	return taken_any;
}

START_TEST(fast_taken_shapes)
{
	static const char ctl[] = {'k', '\x01', '\0', 'z'};
	char longkey[1600], name63[64], name64[65];

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	memset(name63, 'N', 63);
	name63[63] = '\0';
	memset(name64, 'N', 64);
	name64[64] = '\0';

	fast_fmt_case(true, "GET %s", "key");
	fast_fmt_case(true, "get %s", "key");
	fast_fmt_case(true, "GET %s", "key with spaces");
	fast_fmt_case(true, "GET %s", "");
	fast_fmt_case(true, "GET %b", ctl, sizeof(ctl));
	fast_fmt_case(true, "GET %b", (const char *)NULL, (size_t)0);
	fast_fmt_case(true, "SET %s %s", "k", "v");
	fast_fmt_case(true, "SET %b %b", "k", (size_t)1, ctl, sizeof(ctl));
	fast_fmt_case(true, "  SET   %s   %s  ", "k", "v");
	fast_fmt_case(true, "%s %s", "GET", "k");
	fast_fmt_case(true, "%s %s %s", "AUTH", "user", "pass");
	fast_fmt_case(true, "%b %s", "HGET", (size_t)4, "h");
	fast_fmt_case(true, "GET key");
	fast_fmt_case(true, "PING");
	fast_fmt_case(true, "MULTI");
	fast_fmt_case(true, "EXEC");
	fast_fmt_case(true, "SELECT %s", "3");
	fast_fmt_case(true, "select 07");
	fast_fmt_case(true, "SELECT %s %s", "3", "4");
	fast_fmt_case(true, "SELECT 99999999999");
	fast_fmt_case(true, "HSET %s %s %s %s %s", "h", "f1", "v1", "f2", "v2");
	fast_fmt_case(true, "hmset %s %s %s %s", "h", "f1", "v1", "f2");
	fast_fmt_case(true, "MSET %s %s %s %s", "k1", "v1", "k2", "v2");
	fast_fmt_case(true, "MGET a b c d e f g");
	fast_fmt_case(true, "SUBSCRIBE %s", "ch");
	fast_fmt_case(true, "monitor");
	fast_fmt_case(true, "NOSUCHCOMMAND %s %s", "a", "b");
	fast_fmt_case(true, "APPEND %s %s", "k", "v");
	fast_fmt_case(true, "GET %s", longkey);
	fast_fmt_case(true, "%s k", name63);
	fast_fmt_case(true, "G\x80T %s", "k");

	fast_fmt_case(false, "GET %s %s %s %s %s %s %s %s", "1", "2", "3", "4", "5", "6", "7", "8");
	fast_fmt_case(false, "%s k", name64);
	fast_fmt_case(false, "%s k", "");
	fast_fmt_case(false, "GET %d", 5);
	fast_fmt_case(false, "GET k:%s", "x");
	fast_fmt_case(false, "GET %s:x", "x");
	fast_fmt_case(false, "GET %s%s", "a", "b");
	fast_fmt_case(false, "GET 100%%");
	fast_fmt_case(false, "GET 100%");
	fast_fmt_case(false, "GET %5");
	fast_fmt_case(false, "GET %s", (const char *)NULL);
	fast_fmt_case(false, "GET %b", (const char *)NULL, (size_t)3);
	fast_fmt_case(false, "EVAL %s %s %s", "return 1", "1", "k");
	fast_fmt_case(false, "evalsha %s 0", "abc");
	fast_fmt_case(false, "FCALL_RO f 0");
	fast_fmt_case(false, "HELLO 3 AUTH %s %s", "u", "p");
	fast_fmt_case(false, "");
	fast_fmt_case(false, "   ");
}
END_TEST

/* The argv path: every mode, with and without lengths, against the general path. */
START_TEST(fast_argv)
{
	static const struct {
		int argc;
		const char *argv[10];
		bool taken;
	} cases[] = {
	    {2, {"GET", "k"}, true},
	    {3, {"set", "k", "v"}, true},
	    {5, {"HSET", "h", "f", "v", "g"}, true},
	    {2, {"SELECT", "12"}, true},
	    {2, {"SUBSCRIBE", "c"}, true},
	    {8, {"DEL", "a", "b", "c", "d", "e", "f", "g"}, true},
	    {9, {"DEL", "a", "b", "c", "d", "e", "f", "g", "h"}, false},
	    {4, {"EVAL", "s", "1", "k"}, false},
	    {1, {""}, false},
	    {0, {NULL}, false},
	};
	char *text = malloc(TEXT_CAP);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len[10];
		for (int k = 0; k < cases[i].argc; k++)
			len[k] = strlen(cases[i].argv[k]);
		for (int m = OTELP_REDISQ_SANITIZED; m <= OTELP_REDISQ_NONE; m++) {
			for (int with_len = 0; with_len < 2; with_len++) {
				struct otelp_redisq q;
				struct otelp_redisq_args a;
				const size_t *lp = with_len ? len : NULL;
				enum otelp_redisq_mode mode = (enum otelp_redisq_mode)m;
				bool ok = otelp__redisq_argv(cases[i].argc, cases[i].argv, lp, mode,
				                             text, TEXT_CAP, &q);
				bool fast = otelp__redisq_fast_argv(cases[i].argc, cases[i].argv,
				                                    lp, mode, TEXT_CAP, &a);
				ck_assert_msg(fast == cases[i].taken, "case %zu mode %d", i, m);
				check_fast(fast, &a, ok, &q, text, TEXT_CAP);
			}
		}
	}
	/* A NULL argument (with a zero length: an empty one) goes to the general path. */
	{
		const char *argv[] = {"GET", NULL};
		const size_t len[] = {3, 0};
		struct otelp_redisq_args a;
		ck_assert(
		    !otelp__redisq_fast_argv(2, argv, len, OTELP_REDISQ_SANITIZED, TEXT_CAP, &a));
	}
	free(text);
}
END_TEST

/* run_fmt and run_argv (and so every other test) compare the fast path when it is taken. */
START_TEST(fast_compared_everywhere)
{
	int before = fast_taken;

	ck_assert_str_eq(san("GET k"), "GET k");
	ck_assert_int_eq(fast_taken, before + 2); /* argv and format */
	ck_assert_str_eq(san("EVAL s 1 k v"), "EVAL ? 1 k ?");
	ck_assert_int_eq(fast_taken, before + 2); /* not taken */
}
END_TEST

/* ---- capacities ---- */

#define GUARD 16

/* Every cap from 0 to past the full length: a prefix, nothing written outside. */
static void caps_argv(const char *cmdline, enum otelp_redisq_mode mode)
{
	struct args a;
	struct otelp_redisq q;
	char full[TEXT_CAP];

	split(cmdline, &a);
	ck_assert(run_argv(&a, mode, full, sizeof(full), &q));
	size_t fl = q.text_len;
	for (size_t cap = 0; cap <= fl + 2; cap++) {
		char buf[GUARD + 256 + GUARD];
		ck_assert_uint_le(cap, 256);
		memset(buf, 0x5a, sizeof(buf));
		ck_assert(run_argv(&a, mode, buf + GUARD, cap, &q));
		ck_assert_uint_eq(q.text_len, cap < fl ? cap : fl);
		ck_assert(memcmp(buf + GUARD, full, q.text_len) == 0);
		for (size_t i = 0; i < sizeof(buf); i++)
			if (i < GUARD || i >= GUARD + q.text_len)
				ck_assert_int_eq((unsigned char)buf[i], 0x5a);
		/* exact heap buffer */
		char *h = malloc(cap ? cap : 1);
		ck_assert(run_argv(&a, mode, h, cap, &q));
		ck_assert(memcmp(h, full, q.text_len) == 0);
		free(h);
	}
}

START_TEST(caps)
{
	static const char *const lines[] = {
	    "GET key",        "SET key value EX 10",   "HSET h f1 v1 f2 v2",
	    "AUTH user pass", "EVAL script 2 k1 k2 a", "x"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		for (int m = OTELP_REDISQ_SANITIZED; m <= OTELP_REDISQ_NONE; m++)
			caps_argv(lines[i], (enum otelp_redisq_mode)m);
}
END_TEST

START_TEST(caps_fmt)
{
	struct otelp_redisq q;
	char full[TEXT_CAP];
	static const char bin[] = {'v', '\0', 'w'};
	char *b = exact(bin, sizeof(bin));

	for (int m = OTELP_REDISQ_SANITIZED; m <= OTELP_REDISQ_RAW; m++) {
		enum otelp_redisq_mode mode = (enum otelp_redisq_mode)m;
		ck_assert(run_fmt(mode, full, sizeof(full), &q, "HSET h:%d %s %b f %.2f", 12, "f1",
		                  b, sizeof(bin), 1.5));
		size_t fl = q.text_len;
		for (size_t cap = 0; cap <= fl + 2; cap++) {
			char buf[GUARD + 64 + GUARD];
			memset(buf, 0x5a, sizeof(buf));
			ck_assert(run_fmt(mode, buf + GUARD, cap, &q, "HSET h:%d %s %b f %.2f", 12,
			                  "f1", b, sizeof(bin), 1.5));
			ck_assert_int_eq(q.argc, 6);
			ck_assert_uint_eq(q.text_len, cap < fl ? cap : fl);
			ck_assert(memcmp(buf + GUARD, full, q.text_len) == 0);
			for (size_t i = 0; i < sizeof(buf); i++)
				if (i < GUARD || i >= GUARD + q.text_len)
					ck_assert_int_eq((unsigned char)buf[i], 0x5a);
		}
	}
	free(b);
}
END_TEST

/* A printf conversion longer than redisq's conversion buffer, cut inside: cap or cap - 1. */
START_TEST(caps_long_conversion)
{
	struct otelp_redisq q;
	char full[TEXT_CAP];

	ck_assert(run_fmt(OTELP_REDISQ_RAW, full, sizeof(full), &q, "SET %600d x", 7));
	ck_assert_uint_eq(q.text_len, 606);
	size_t fl = q.text_len;
	for (size_t cap = 0; cap <= fl + 2; cap += (cap < 8 || cap > 596) ? 1 : 37) {
		char *h = malloc(cap + 2 * GUARD);
		memset(h, 0x5a, cap + 2 * GUARD);
		ck_assert(run_fmt(OTELP_REDISQ_RAW, h + GUARD, cap, &q, "SET %600d x", 7));
		size_t want = cap < fl ? cap : fl;
		ck_assert_uint_le(q.text_len, want);
		ck_assert_uint_ge(q.text_len + 1, want);
		if (cap <= 4 || cap >= 605)
			ck_assert_uint_eq(q.text_len, want);
		ck_assert(memcmp(h + GUARD, full, q.text_len) == 0);
		for (size_t i = 0; i < cap + 2 * GUARD; i++)
			if (i < GUARD || i >= GUARD + cap)
				ck_assert_int_eq((unsigned char)h[i], 0x5a);
		free(h);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redisq");
	TCase *tc = tcase_create("oracle");
	tcase_add_test(tc, oracle_text);
	tcase_add_test(tc, oracle_binary);
	tcase_add_test(tc, oracle_percent);
	tcase_add_test(tc, oracle_int);
	tcase_add_test(tc, oracle_double);
	tcase_add_test(tc, oracle_width_overflow);
	tcase_add_test(tc, oracle_long_s);
	tcase_add_test(tc, oracle_invalid);
	tcase_add_test(tc, invalid_at_end);
	tcase_add_test(tc, invalid_other);
	suite_add_tcase(s, tc);
	tc = tcase_create("sanitize");
	tcase_add_test(tc, sanitize_table);
	tcase_add_test(tc, sanitize_keep_all);
	tcase_add_test(tc, sanitize_fmt);
	suite_add_tcase(s, tc);
	tc = tcase_create("facts");
	tcase_add_test(tc, facts_name);
	tcase_add_test(tc, facts_select);
	tcase_add_test(tc, facts_subscribe);
	tcase_add_test(tc, facts_argv_strlen);
	suite_add_tcase(s, tc);
	tc = tcase_create("fast");
	tcase_add_test(tc, fast_taken_shapes);
	tcase_add_test(tc, fast_argv);
	tcase_add_test(tc, fast_compared_everywhere);
	suite_add_tcase(s, tc);
	tc = tcase_create("caps");
	tcase_add_test(tc, caps);
	tcase_add_test(tc, caps_fmt);
	tcase_add_test(tc, caps_long_conversion);
	suite_add_tcase(s, tc);
	return otelp_check_run(s, false);
}
