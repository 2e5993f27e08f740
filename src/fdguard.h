/*
 * This file is private to otelpreload.
 *
 * The shim's own file descriptors (exporter sockets, log file) are moved to high numbers,
 * made close-on-exec, and registered here. The close/close_range/dup2/dup3 hooks consult this
 * registry: a host that closes an fd it did not open gets EBADF, as if it were not open;
 * a host that dup2()s onto one of ours wins, and the fd is marked stolen so that we never
 * close or write it again.
 *
 * Lock-free and async-signal-safe: a small array of atomic ints.
 */
#ifndef OTELP_FDGUARD_H
#define OTELP_FDGUARD_H

#include <stdbool.h>

#define OTELP_FDGUARD_MAX 16

/*
 * Move fd to a high number (close-on-exec), close the original and register the new one.
 * Returns the new fd, or fd itself (registered) when it could not be moved, or -1 if fd < 0.
 */
int otelp__fd_adopt(int fd);
/* Is fd one of ours? Fast: one load when nothing is registered. */
bool otelp__fd_is_ours(int fd);
/* Forget fd; returns true when it was still ours (caller may close it), false if stolen. */
bool otelp__fd_release(int fd);
/* The host dup2()ed onto fd: it is not ours any more. */
void otelp__fd_mark_stolen(int fd);
/* Was this fd of ours taken over by the host? */
bool otelp__fd_was_stolen(int fd);
/* Close every registered fd but keep (-1: none) with the raw syscall and forget them
 * (fork child: the log fd stays, the exporter's sockets go). */
void otelp__fd_close_all(int keep);
/* Raw close(2), bypassing our hooks. */
int otelp__sys_close(int fd);

#endif
