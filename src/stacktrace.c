/*
 * Native stack traces for error spans (code.stacktrace): see stacktrace.h for the format.
 *
 * Design choices:
 *
 * - libunwind's local unwinder (UNW_LOCAL_ONLY) rather than glibc's backtrace(): it unwinds with
 *   the DWARF CFI in .eh_frame (no frame pointers needed), has no lazy dlopen of libgcc_s on
 *   first use, and unw_get_proc_name reads the object's full symbol table (.symtab, from the
 *   file on disk) so static functions get names, which dladdr (.dynsym only) cannot give. When
 *   unw_get_proc_name finds nothing (stripped object, JIT code) we fall back to dladdr's
 *   dli_sname / dli_saddr, and print "??" when both fail. libunwind 1.6 names an address after
 *   the nearest symbol below it without checking that symbol's size, so in stripped objects
 *   (Debian's libc, libpq) static functions would show the previous exported function's name
 *   with a large offset; such names are recognised with dladdr1 and dropped (stray_name). The
 *   module is always dladdr's dli_fname (glibc gives argv[0] for the main program).
 *
 * - IP - 1: every frame but an innermost or signal-interrupted one holds a return address,
 *   which points just after the call and may already belong to the next function (a call to a
 *   noreturn function at the very end of its caller) or to another object. So symbol and
 *   module lookups use IP - 1 for those frames, exactly like unw_get_proc_name does internally
 *   (its use_prev_instr rule: not for the frame just above a signal frame). The printed
 *   address is the real IP, and the printed offset is relative to that real IP (printed IP ==
 *   symbol address + offset), as libunwind and glibc's backtrace_symbols print it.
 *
 * - Skipping our own frames. The frame of otelp__stacktrace itself (the context is captured in
 *   it) is always skipped. Then the leading frames, counted from the innermost, whose lookup
 *   address lies in the same loaded object as otelp__stacktrace (same dladdr dli_fbase) are
 *   skipped as well: in the preload, libotelpreload.so, that removes the span/hook machinery so
 *   that frame #0 is the program's function that called the hooked libpq / hiredis function.
 *   Only leading frames are skipped: once a foreign frame is seen, later frames in our object
 *   (e.g. a callback through us) are kept. This second rule is off when our object is the main
 *   executable (the unit tests link the core statically): there every frame of the program is
 *   "ours" and everything would be skipped. The main executable's base is dladdr's dli_fbase of
 *   its program headers (getauxval(AT_PHDR)); this works for PIE and non-PIE alike (dli_fbase is
 *   the start of the mapping, not the load bias). When any of this cannot be determined the
 *   rule is off too: showing a few of our frames is better than showing none.
 *
 * - Cost and safety: no malloc, locks or stdio of our own; lines are formatted by a small local
 *   formatter directly into the caller's buffer. libunwind may allocate (mmap) and take its own
 *   locks internally (its caches, with signals blocked), dladdr takes the loader's lock, and
 *   unw_get_proc_name reads /proc/<pid>/maps and opens and maps the ELF file of the frame's
 *   object, for every frame (two short-lived file descriptors; in the preload these libc calls
 *   go through our own interposed read / close). That is ~30 us per frame against ~0.4 us for
 *   the unwinding and dladdr, so this is for error paths only, never for signal handlers. The
 *   work is bounded: at most max_depth printed frames and at most STEP_LIMIT unw_step calls in
 *   all (skipped frames included). Per-process facts (our object's base, whether it is the main
 *   program) are computed once and published with atomics (idempotent, so racing threads at
 *   most compute them twice).
 *
 * - Buffer: lines are joined by '\n' without a final one; a line that does not fit whole is
 *   dropped with everything after it, so the text always ends at a line boundary. The returned
 *   length never counts a NUL, and the text may fill all cap bytes; a NUL is written after it
 *   only if there is room (length < cap; so with cap > 0 and nothing printed, out[0] is NUL).
 *   A caller wanting a C string passes cap - 1 and terminates at the returned length, or just
 *   uses the length.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, dladdr1 (meson passes it for the whole project) */
#endif
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/auxv.h>

#include "stacktrace.h"

/* Hard bound on unw_step calls per capture, skipped frames included. */
#define STEP_LIMIT 128

/* Room for one symbol name from unw_get_proc_name; longer names are cut. */
#define SYMBOL_MAX 256

/* ---- per-process facts ---- */

enum { OWN_UNKNOWN = 0, OWN_SKIP = 1, OWN_NOSKIP = 2 };

static int own_state;      /* OWN_*: acquire / release atomics */
static uintptr_t own_base; /* dli_fbase of our object; valid when own_state == OWN_SKIP */

/*
 * The base of the object holding this code when leading frames in it are to be skipped, 0 when
 * not (our object is the main executable, or unknown).
 */
static uintptr_t own_skip_base(void)
{
	int st = __atomic_load_n(&own_state, __ATOMIC_ACQUIRE);

	if (st == OWN_SKIP)
		return __atomic_load_n(&own_base, __ATOMIC_RELAXED);
	if (st == OWN_NOSKIP)
		return 0;

	Dl_info self, prog;
	uintptr_t base = 0;
	unsigned long phdr = getauxval(AT_PHDR);

	if (dladdr((void *)(uintptr_t)&otelp__stacktrace, &self) && self.dli_fbase && phdr &&
	    dladdr((void *)phdr, &prog) && prog.dli_fbase && prog.dli_fbase != self.dli_fbase)
		base = (uintptr_t)self.dli_fbase;
	__atomic_store_n(&own_base, base, __ATOMIC_RELAXED);
	__atomic_store_n(&own_state, base ? OWN_SKIP : OWN_NOSKIP, __ATOMIC_RELEASE);
	return base;
}

/* ---- a bounded writer into the caller's buffer ---- */

struct wbuf {
	char *p;
	size_t cap;
	size_t len;
	bool over; /* something did not fit */
};

static void put_mem(struct wbuf *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->len + i] = s[i];
	w->len += n;
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	put_mem(w, s, n);
}

static void put_dec(struct wbuf *w, unsigned long v)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_mem(w, t + i, sizeof(t) - i);
}

/* "0x" and v in hex: at least min_digits digits (zero padded). */
static void put_hex(struct wbuf *w, unsigned long v, unsigned min_digits)
{
	static const char digits[] = "0123456789abcdef";
	char t[2 + 16];
	size_t i = sizeof(t);
	unsigned n = 0;

	do {
		t[--i] = digits[v & 0xf];
		v >>= 4;
		n++;
	} while (v || n < min_digits);
	t[--i] = 'x';
	t[--i] = '0';
	put_mem(w, t + i, sizeof(t) - i);
}

/* ---- one frame ---- */

/*
 * Whether a name that unw_get_proc_name gave for a symbol starting at start is wrong for the
 * lookup address. libunwind 1.6 takes the nearest symbol at or below the address without
 * checking its size, so in a stripped object (no .symtab; Debian's libc, libpq) a static
 * function gets the name of the exported function before it (__libc_start_call_main shows as
 * "__libc_init_first+0x8a"). dladdr does check sizes: when it did not answer with that symbol,
 * but a dynamic symbol with a size starts exactly there and ends at or below the address, the
 * name is the stray one. (A name from .symtab of a static function has no dynamic symbol at its
 * start and is kept.)
 */
static bool stray_name(uintptr_t start, unw_word_t lookup, const Dl_info *dli, bool have_dli)
{
	Dl_info at;
	const ElfW(Sym) *sym = NULL;

	if (have_dli && dli->dli_sname && (uintptr_t)dli->dli_saddr == start)
		return false;
	if (!dladdr1((void *)start, &at, (void **)&sym, RTLD_DL_SYMENT) || !sym || !at.dli_sname)
		return false;
	return (uintptr_t)at.dli_saddr == start && sym->st_size != 0 &&
	       lookup - start >= sym->st_size;
}

/*
 * Append frame number n: "#n 0x<ip> symbol+0xOFF (module)". cur is at the frame; lookup is
 * the address used for lookups (ip or ip - 1), dli its dladdr result when have_dli.
 */
static void put_frame(struct wbuf *w, unsigned n, unw_cursor_t *cur, unw_word_t ip,
                      unw_word_t lookup, const Dl_info *dli, bool have_dli)
{
	char sym[SYMBOL_MAX];
	const char *name = NULL;
	unw_word_t off = 0;
	int r = unw_get_proc_name(cur, sym, sizeof(sym), &off);

	if (r == -UNW_ENOMEM && sym[0]) {
		/* Cut name; libunwind then leaves the offset relative to its lookup address. */
		off += ip - lookup;
		r = 0;
	}
	if (r == 0 && sym[0] && off <= ip && !stray_name(ip - off, lookup, dli, have_dli)) {
		name = sym;
	} else if (have_dli && dli->dli_sname && dli->dli_sname[0] && dli->dli_saddr &&
	           (uintptr_t)dli->dli_saddr <= lookup) {
		name = dli->dli_sname;
		off = ip - (uintptr_t)dli->dli_saddr;
	}

	put_mem(w, "#", 1);
	put_dec(w, n);
	put_mem(w, " ", 1);
	put_hex(w, ip, 16);
	put_mem(w, " ", 1);
	if (name) {
		put_str(w, name);
		put_mem(w, "+", 1);
		put_hex(w, off, 1);
	} else {
		put_mem(w, "??", 2);
	}
	put_mem(w, " (", 2);
	put_str(w, have_dli && dli->dli_fname && dli->dli_fname[0] ? dli->dli_fname : "??");
	put_mem(w, ")", 1);
}

/* ---- the capture ---- */

/* noinline: the captured context must be this function's own frame, which is skipped. */
__attribute__((noinline)) size_t otelp__stacktrace(char *out, size_t cap, unsigned max_depth)
{
	unw_context_t uc;
	unw_cursor_t cur;
	struct wbuf w = {.p = out, .cap = out ? cap : 0, .len = 0, .over = false};

	if (!out || cap == 0)
		return 0;
	out[0] = '\0';
	if (max_depth == 0)
		return 0;
	if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
		return 0;

	uintptr_t skip_base = own_skip_base();
	bool skipping = skip_base != 0;
	/* Whether the frame the cursor is on is a signal frame (this function's: no). */
	bool signal_frame = false;
	unsigned n = 0;

	for (unsigned steps = 0; steps < STEP_LIMIT && n < max_depth; steps++) {
		/* Step first: the initial frame is otelp__stacktrace itself, always skipped. */
		if (unw_step(&cur) <= 0)
			break;

		unw_word_t ip;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
			break;

		/* A return address unless the frame below was interrupted by a signal. */
		unw_word_t lookup = signal_frame ? ip : ip - 1;
		Dl_info dli;
		bool have_dli = dladdr((void *)(uintptr_t)lookup, &dli) != 0;

		signal_frame = unw_is_signal_frame(&cur) > 0;
		if (skipping) {
			if (have_dli && (uintptr_t)dli.dli_fbase == skip_base)
				continue;
			skipping = false;
		}

		size_t mark = w.len;

		if (n > 0)
			put_mem(&w, "\n", 1);
		put_frame(&w, n, &cur, ip, lookup, &dli, have_dli);
		if (w.over) {
			w.len = mark; /* drop the partial line: cut at a line boundary */
			break;
		}
		n++;
	}
	if (w.len < cap)
		out[w.len] = '\0';
	return w.len;
}
