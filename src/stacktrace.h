/*
 * This file is private to otelpreload.
 *
 * Native stack traces for error spans (code.stacktrace), captured with libunwind's local
 * unwinder on the calling thread.
 *
 * Text format, one frame per line, numbered from 0 = the innermost frame of the program:
 *
 *	#0 0x000055d0c1a2b3c4 run_query+0x2c (/usr/local/bin/app)
 *	#1 0x00007f3a1b2c3d4e __libc_start_call_main+0x7a (/lib/x86_64-linux-gnu/libc.so.6)
 *
 * the symbol is "??" when unknown and "+0x.." is left out then; the module is the path of
 * the object holding the address (dladdr), "??" when unknown. Frames inside libotelpreload
 * itself (the object that holds this code) are skipped, so frame #0 is the caller of the
 * hooked function. Lines are separated by '\n' (no final newline).
 */
#ifndef OTELP_STACKTRACE_H
#define OTELP_STACKTRACE_H

#include <stddef.h>

#define OTELP_STACKTRACE_DEPTH 32

/*
 * Write the calling thread's stack (at most max_depth frames after skipping ours) into out
 * (cap bytes; cut at a line boundary when too small); returns the length, 0 on failure. No
 * malloc of its own, no locks of its own; safe to call from any thread that is not in a
 * signal handler. Cost: about 30 us per frame printed (10 frames: ~0.35 ms), nearly all of it
 * in naming: libunwind reads /proc/self/maps and maps the object's file for every frame, with
 * open / read / mmap / close calls that go through our interposed libc functions. Meant for
 * error spans only.
 */
size_t otelp__stacktrace(char *out, size_t cap, unsigned max_depth);

#endif
