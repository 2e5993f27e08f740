/*
 * Unit tests for src/stacktrace.c: frame names (static functions included) and offsets, no stray
 * names from stripped objects, names too long for libunwind's buffer, the line format (every line
 * parsed back), the depth and step bounds, cutting at line boundaries with guard bytes, cap 0 and
 * NULL, other threads (one and several at once).
 *
 * The core is linked statically into this test, so the object holding otelp__stacktrace is the
 * main executable and only otelp__stacktrace's own frame is skipped: frame #0 is inner(). The
 * skipping of leading frames inside a shared object is checked by the preload integration tests.
 *
 * inner / middle / outer are noinline and noclone (no "inner.constprop.0" names) and do work
 * after their call (no tail calls, so every one keeps its frame).
 */
#include <check.h>

#include "check-run.h"
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacktrace.h"

#define BARRIER() __asm__ volatile("" ::: "memory")
#define NOINLINE  __attribute__((noinline, noclone))

/* ---- the call chain ---- */

struct cap {
	char *buf;
	size_t cap;
	unsigned depth;
	size_t ret;
};

static NOINLINE void inner(struct cap *c)
{
	c->ret = otelp__stacktrace(c->buf, c->cap, c->depth);
	BARRIER();
}

static NOINLINE void middle(struct cap *c)
{
	inner(c);
	BARRIER();
}

static NOINLINE void outer(struct cap *c)
{
	middle(c);
	BARRIER();
}

/* n more frames of recurse() above the capture. */
static NOINLINE void recurse(struct cap *c, unsigned n)
{
	if (n == 0)
		c->ret = otelp__stacktrace(c->buf, c->cap, c->depth);
	else
		recurse(c, n - 1);
	BARRIER();
}

/* A static function whose name (310 characters) does not fit libunwind's name buffer. */
#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define STR_(x)    #x
#define STR(x)     STR_(x)
#define X10        xxxxxxxxxx
#define X50        CAT(X10, CAT(X10, CAT(X10, CAT(X10, X10))))
#define X100       CAT(X50, X50)
#define LONG_NAME  CAT(long_named_, CAT(X100, CAT(X100, X100)))

static NOINLINE void LONG_NAME(struct cap *c)
{
	c->ret = otelp__stacktrace(c->buf, c->cap, c->depth);
	BARRIER();
}

static size_t capture(char *buf, size_t cap, unsigned depth)
{
	struct cap c = {buf, cap, depth, 0};

	outer(&c);
	return c.ret;
}

/* ---- parsing the text back ---- */

struct frame {
	unsigned long n;
	unsigned long ip;
	bool has_sym;
	char sym[256];
	unsigned long off;
	char mod[512];
};

static bool hexval(const char *s, size_t n, unsigned long *v)
{
	*v = 0;
	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return false;
		*v = *v << 4 | d;
	}
	return true;
}

/* Parse one line [s, s + n) "#N 0x%016lx symbol+0xOFF (module)" or "#N 0x%016lx ?? (module)". */
static bool parse_line(const char *s, size_t n, struct frame *f)
{
	const char *e = s + n, *p = s;

	memset(f, 0, sizeof(*f));
	if (p == e || *p++ != '#')
		return false;
	if (p == e || *p < '0' || *p > '9' || (*p == '0' && p + 1 < e && p[1] != ' '))
		return false;
	while (p < e && *p >= '0' && *p <= '9')
		f->n = f->n * 10 + (unsigned long)(*p++ - '0');
	if (e - p < 3 + 16 + 1 || memcmp(p, " 0x", 3) != 0)
		return false;
	if (!hexval(p + 3, 16, &f->ip) || p[3 + 16] != ' ')
		return false;
	p += 3 + 16 + 1;

	/* symbol field up to the first " (", module up to the final ')' */
	const char *q = NULL;

	for (const char *t = p; t + 1 < e; t++) {
		if (t[0] == ' ' && t[1] == '(') {
			q = t;
			break;
		}
	}
	if (!q || e[-1] != ')' || q + 2 > e - 1)
		return false;
	size_t modlen = (size_t)(e - 1 - (q + 2));

	if (modlen == 0 || modlen >= sizeof(f->mod))
		return false;
	memcpy(f->mod, q + 2, modlen);

	size_t symlen = (size_t)(q - p);

	if (symlen == 2 && memcmp(p, "??", 2) == 0)
		return true;
	/* name+0xOFF: the last "+0x" in the field */
	const char *plus = NULL;

	for (const char *t = p; t + 3 <= q; t++)
		if (memcmp(t, "+0x", 3) == 0)
			plus = t;
	if (!plus || plus == p || (size_t)(plus - p) >= sizeof(f->sym))
		return false;
	if (!hexval(plus + 3, (size_t)(q - (plus + 3)), &f->off))
		return false;
	/* minimal hex digits: no leading zero unless the offset is 0 */
	if (plus[3] == '0' && q - (plus + 3) > 1)
		return false;
	memcpy(f->sym, p, (size_t)(plus - p));
	f->has_sym = true;
	for (size_t i = 0; f->sym[i]; i++)
		if (f->sym[i] == ' ' || f->sym[i] == '\n')
			return false;
	return true;
}

/*
 * Parse the whole text (length len, as returned) into at most max frames; checks numbering from
 * 0, the '\n' separators and no final newline. Returns the number of lines.
 */
static size_t parse_all(const char *buf, size_t len, struct frame *fr, size_t max)
{
	size_t count = 0, start = 0;

	if (len == 0)
		return 0;
	ck_assert_msg(buf[len - 1] != '\n', "final newline");
	while (start <= len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct frame tmp;
		struct frame *f = count < max ? &fr[count] : &tmp;

		ck_assert_msg(parse_line(buf + start, end - start, f), "bad line %zu: '%.*s'",
		              count, (int)(end - start), buf + start);
		ck_assert_uint_eq(f->n, count);
		count++;
		start = end + 1;
	}
	return count;
}

static const char *main_module(void)
{
	Dl_info d;

	ck_assert(dladdr((void *)(uintptr_t)&inner, &d));
	ck_assert_ptr_nonnull(d.dli_fname);
	return d.dli_fname;
}

/* The first three frames are inner, middle, outer of this executable, offsets consistent. */
static bool chain_ok(const struct frame *fr, size_t n, const char *mod)
{
	static const char *const names[] = {"inner", "middle", "outer"};
	const uintptr_t addrs[] = {(uintptr_t)&inner, (uintptr_t)&middle, (uintptr_t)&outer};

	if (n < 3)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (!fr[i].has_sym || strcmp(fr[i].sym, names[i]) != 0)
			return false;
		/* printed IP == symbol address + offset, and the IP is a return address inside */
		if (addrs[i] + fr[i].off != fr[i].ip || fr[i].off == 0)
			return false;
		if (strcmp(fr[i].mod, mod) != 0)
			return false;
	}
	return true;
}

/* ---- tests ---- */

START_TEST(names_and_offsets)
{
	char buf[8192];
	struct frame fr[64];
	size_t len = capture(buf, sizeof(buf), OTELP_STACKTRACE_DEPTH);

	ck_assert_uint_gt(len, 0);
	ck_assert_uint_lt(len, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), len);
	size_t n = parse_all(buf, len, fr, 64);

	ck_assert_uint_ge(n, 4);
	ck_assert_uint_le(n, OTELP_STACKTRACE_DEPTH);
	ck_assert_msg(chain_ok(fr, n, main_module()), "unexpected chain:\n%s", buf);
	/* frame #3 is this test function (static too: it is named from .symtab) */
	ck_assert_str_eq(fr[3].sym, "names_and_offsets_fn");
	ck_assert_ptr_null(strstr(buf, "otelp__stacktrace"));

	/*
	 * No frame carries the name of a dynamic symbol that ends before its address (libunwind
	 * 1.6 names static functions of stripped objects after the exported function before them;
	 * here: __libc_start_call_main in Debian's libc).
	 */
	for (size_t i = 0; i < n; i++) {
		Dl_info at;
		const ElfW(Sym) *sym = NULL;
		uintptr_t start = fr[i].ip - fr[i].off;

		if (!fr[i].has_sym)
			continue;
		if (dladdr1((void *)start, &at, (void **)&sym, RTLD_DL_SYMENT) && sym &&
		    at.dli_sname && (uintptr_t)at.dli_saddr == start && sym->st_size)
			ck_assert_msg(fr[i].ip - 1 - start < sym->st_size, "frame %zu: %s+0x%lx", i,
			              fr[i].sym, fr[i].off);
	}
}
END_TEST

START_TEST(format_exact)
{
	char buf[8192];
	struct frame fr[1];
	size_t len = capture(buf, sizeof(buf), 1);
	char want[256];

	ck_assert_uint_eq(parse_all(buf, len, fr, 1), 1);
	snprintf(want, sizeof(want), "#0 0x%016lx inner+0x%lx (%s)", fr[0].ip, fr[0].off,
	         main_module());
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(depth_bound)
{
	char buf[8192];
	struct frame fr[8];

	for (unsigned d = 1; d <= 6; d++) {
		size_t len = capture(buf, sizeof(buf), d);

		ck_assert_uint_eq(parse_all(buf, len, fr, 8), d);
		ck_assert_str_eq(fr[0].sym, "inner");
	}
	/* max_depth 0: nothing, but a C string */
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(capture(buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(buf[0], '\0');
}
END_TEST

START_TEST(step_bound)
{
	static char buf[64 * 1024];
	struct frame fr[1];
	struct cap c = {buf, sizeof(buf), 1000, 0};

	recurse(&c, 300);
	ck_assert_uint_eq(parse_all(buf, c.ret, fr, 1), 128);
	ck_assert_str_eq(fr[0].sym, "recurse");

	c.depth = 40;
	recurse(&c, 300);
	ck_assert_uint_eq(parse_all(buf, c.ret, fr, 1), 40);
}
END_TEST

START_TEST(long_name_cut)
{
	char buf[8192];
	struct frame fr[2];
	struct cap c = {buf, sizeof(buf), 2, 0};
	const char *full = STR(LONG_NAME);

	LONG_NAME(&c);
	ck_assert_uint_eq(parse_all(buf, c.ret, fr, 2), 2);
	/* cut, but a prefix; the offset still relative to the printed IP */
	ck_assert_uint_ge(strlen(fr[0].sym), 64);
	ck_assert_uint_lt(strlen(fr[0].sym), strlen(full));
	ck_assert(strncmp(fr[0].sym, full, strlen(fr[0].sym)) == 0);
	ck_assert_uint_eq((uintptr_t)&LONG_NAME + fr[0].off, fr[0].ip);
	ck_assert_str_eq(fr[1].sym, "long_name_cut_fn");
}
END_TEST

#define GUARD 32

START_TEST(small_cap_cuts_at_lines)
{
	/* Depth 3 (inner, middle, outer): the same text from any call site of capture(). */
	char full[1024];
	size_t flen = capture(full, sizeof(full), 3);

	ck_assert_uint_gt(flen, 0);
	ck_assert_uint_eq(parse_all(full, flen, NULL, 0), 3);

	for (size_t cap = 0; cap <= flen + 2; cap++) {
		unsigned char *b = malloc(cap + GUARD);

		ck_assert_ptr_nonnull(b);
		memset(b, 0xa5, cap + GUARD);
		size_t r = capture((char *)b, cap, 3);

		for (size_t i = cap; i < cap + GUARD; i++)
			ck_assert_msg(b[i] == 0xa5, "cap %zu: byte %zu overwritten", cap, i);
		ck_assert_uint_le(r, cap);
		/* a prefix of the full text ending at a line boundary ... */
		ck_assert(memcmp(b, full, r) == 0);
		ck_assert(r == 0 || r == flen || full[r] == '\n');
		/* ... and the longest one that fits: the next line would end past cap */
		if (r < flen) {
			size_t from = r == 0 ? 0 : r + 1;
			const char *nl = memchr(full + from, '\n', flen - from);
			size_t next_end = nl ? (size_t)(nl - full) : flen;

			ck_assert_msg(next_end > cap, "cap %zu: stopped at %zu, %zu fits", cap, r,
			              next_end);
		}
		if (r < cap)
			ck_assert_int_eq(b[r], '\0');
		if (r > 0) {
			size_t lines = 1;

			for (size_t i = 0; i < r; i++)
				lines += full[i] == '\n';
			ck_assert_uint_eq(parse_all((char *)b, r, NULL, 0), lines);
		}
		free(b);
	}
}
END_TEST

START_TEST(cap_zero_and_null)
{
	unsigned char b[GUARD];

	memset(b, 0xa5, sizeof(b));
	ck_assert_uint_eq(capture((char *)b, 0, OTELP_STACKTRACE_DEPTH), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		ck_assert_uint_eq(b[i], 0xa5);
	ck_assert_uint_eq(capture(NULL, 0, OTELP_STACKTRACE_DEPTH), 0);
	ck_assert_uint_eq(capture(NULL, 100, OTELP_STACKTRACE_DEPTH), 0);
	/* cap 1: no line fits; only the NUL */
	ck_assert_uint_eq(capture((char *)b, 1, OTELP_STACKTRACE_DEPTH), 0);
	ck_assert_int_eq(b[0], '\0');
	ck_assert_uint_eq(b[1], 0xa5);
}
END_TEST

/* ---- threads ---- */

struct thr {
	int rounds;
	bool ok;
	char first[512];
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	char buf[4096];
	struct frame fr[8];
	const char *mod = main_module();

	t->ok = true;
	for (int i = 0; i < t->rounds && t->ok; i++) {
		size_t len = capture(buf, sizeof(buf), 8);
		/* parse without Check asserts: they are for the test's main thread */
		size_t n = 0, start = 0;

		while (len && start <= len && n < 8) {
			const char *nl = memchr(buf + start, '\n', len - start);
			size_t end = nl ? (size_t)(nl - buf) : len;

			if (!parse_line(buf + start, end - start, &fr[n]) || fr[n].n != n) {
				t->ok = false;
				break;
			}
			n++;
			start = end + 1;
		}
		if (!chain_ok(fr, n, mod))
			t->ok = false;
		if (i == 0)
			snprintf(t->first, sizeof(t->first), "%.500s", buf);
	}
	return NULL;
}

START_TEST(second_thread)
{
	pthread_t th;
	struct thr t = {.rounds = 1};

	ck_assert_int_eq(pthread_create(&th, NULL, thread_main, &t), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(t.ok, "thread trace:\n%s", t.first);
	ck_assert_ptr_nonnull(strstr(t.first, "#3 "));
	ck_assert_ptr_nonnull(strstr(t.first, " thread_main+0x"));
}
END_TEST

START_TEST(threads_at_once)
{
	enum { N = 4 };
	pthread_t th[N];
	struct thr t[N];

	for (int i = 0; i < N; i++) {
		t[i] = (struct thr){.rounds = 50};
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(t[i].ok, "thread %d trace:\n%s", i, t[i].first);
	}
}
END_TEST

static Suite *stacktrace_suite(void)
{
	Suite *s = suite_create("stacktrace");
	TCase *tc = tcase_create("frames");

	tcase_add_test(tc, names_and_offsets);
	tcase_add_test(tc, format_exact);
	tcase_add_test(tc, depth_bound);
	tcase_add_test(tc, step_bound);
	tcase_add_test(tc, long_name_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("buffer");
	tcase_add_test(tc, small_cap_cuts_at_lines);
	tcase_add_test(tc, cap_zero_and_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_test(tc, second_thread);
	tcase_add_test(tc, threads_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return otelp_check_run(stacktrace_suite(), false);
}
