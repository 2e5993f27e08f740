/*
 * dlsym, interposed so that a program which loads libpq or hiredis itself and looks its
 * functions up (dlopen + dlsym, Python's ctypes) gets our hooks, as a program linked with
 * the library does.
 *
 * glibc's dlsym depends on its caller for RTLD_NEXT ("the next object after the one that
 * calls"): forwarded from a C function here, RTLD_NEXT would be relative to libotelpreload,
 * and another preload library asking for the next `write` would get its own back. So the
 * entry point is a few instructions of assembly: RTLD_NEXT jumps straight into glibc's dlsym
 * with the caller's return address untouched; every other handle goes to dlsym_c() below,
 * which asks glibc and then swaps a libpq/hiredis function for our hook of it. Where this
 * assembly is not written (architectures other than x86-64 and AArch64) dlsym is not
 * interposed and such programs are simply not traced through dlsym.
 */
#include <dlfcn.h>
#include <string.h>

#include "hook.h"

#if defined(__x86_64__) || defined(__aarch64__)

void *otelp__dlsym_c(void *handle, const char *name);

OTELP_NO_SANITIZE void *otelp__dlsym_c(void *handle, const char *name)
{
	void *p = otelp__libc_dlsym(handle, name);
	if (p && name && handle != RTLD_DEFAULT) {
		void *ours = otelp__hook_for(name, p);
		if (ours)
			return ours;
	}
	return p;
}

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, @function\n"
        "dlsym:\n"
        "	cmpq $-1, %rdi\n" /* RTLD_NEXT */
        "	je 1f\n"
        "	jmp otelp__dlsym_c\n"
        "1:	movq otelp__dlsym_real(%rip), %rax\n"
        "	testq %rax, %rax\n"
        "	jz 2f\n"
        "	jmp *%rax\n"
        /* First call (possibly before our constructor): resolve, keeping the arguments. */
        "2:	pushq %rdi\n"
        "	pushq %rsi\n"
        "	subq $8, %rsp\n"
        "	call otelp__dlsym_resolve\n"
        "	addq $8, %rsp\n"
        "	popq %rsi\n"
        "	popq %rdi\n"
        "	testq %rax, %rax\n"
        "	jz 3f\n"
        "	jmp *%rax\n"
        "3:	ret\n"
        ".size dlsym, .-dlsym\n");
#else
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, %function\n"
        "dlsym:\n"
        "	cmn x0, #1\n" /* RTLD_NEXT */
        "	b.eq 1f\n"
        "	b otelp__dlsym_c\n"
        "1:	adrp x16, otelp__dlsym_real\n"
        "	ldr x16, [x16, :lo12:otelp__dlsym_real]\n"
        "	cbz x16, 2f\n"
        "	br x16\n"
        "2:	stp x0, x1, [sp, #-32]!\n"
        "	str x30, [sp, #16]\n"
        "	bl otelp__dlsym_resolve\n"
        "	mov x16, x0\n"
        "	ldr x30, [sp, #16]\n"
        "	ldp x0, x1, [sp], #32\n"
        "	cbz x16, 3f\n"
        "	br x16\n"
        "3:	mov x0, #0\n"
        "	ret\n"
        ".size dlsym, .-dlsym\n");
#endif

#endif

OTELP_NO_SANITIZE void *otelp__hook_for(const char *name, void *real)
{
	const struct otelp_hook_entry *tab;
	unsigned n;

	if (name[0] == 'P') {
		tab = otelp__libpq_hooks;
		n = otelp__libpq_nhooks;
	} else if (name[0] == 'r') {
		tab = otelp__hiredis_hooks;
		n = otelp__hiredis_nhooks;
	} else {
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(tab[i].name, name) != 0)
			continue;
		if (real == tab[i].fn)
			return NULL;
		void *none = NULL;
		__atomic_compare_exchange_n(tab[i].slot, &none, real, false, __ATOMIC_ACQ_REL,
		                            __ATOMIC_ACQUIRE);
		return tab[i].fn;
	}
	return NULL;
}
