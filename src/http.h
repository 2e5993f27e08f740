/*
 * This file is private to otelpreload.
 *
 * HTTP/1.x over sockets: per-connection tracking, client and server spans, traceparent
 * injection and extraction. The hooks in hooks/net.c only find the connection of an fd and
 * call in here; everything else (classification, parsing, rewriting a write, spans) is here.
 *
 * DESIGN
 * ------
 * fd table. Connections the shim tracks are found from the fd through a two-level table of
 * atomic pointers (1024 x 1024 entries; second-level pages mmap'd on first use). An fd we do
 * not track is one NULL load away from its real call: that is the whole cost of reading a
 * file, a pipe or a UDP socket. Entries are set by connect/accept on TCP (IPv4, IPv6) and Unix
 * stream sockets when the http instrumentation is on, and cleared by close, close_range, and
 * dup2/dup3 onto the fd.
 *
 * Connection objects come from a lock-free pool grown in chunks (mmap); they are never freed,
 * so a pointer loaded from the table always points to a connection object. A per-connection
 * spin lock serializes the threads that use one socket (a reader and a writer); a signal
 * handler that writes on the same thread never gets here (the hook guard lets it through).
 *
 * Classification. The first bytes the program writes (a connect()ed socket) or reads (an
 * accepted one) decide: an HTTP/1.x request line makes the connection HTTP; anything else
 * makes it passthrough for good and the connection is dropped from the table.
 *
 * Writes of a client (requests). The request parser runs ahead of the kernel: the bytes of a
 * write are parsed before they are sent, so that the end of a header block is known before
 * its bytes leave. There the shim schedules an insertion of its header lines (an "edit" at a
 * stream offset). A write that meets an edit is sent as one sendmsg() of the program's
 * iovecs with ours spliced in; the count returned to the program is only ever its own bytes
 * (preload-pitfalls §5.1): a header cut by a short write stays as an edit at the same
 * offset, sent first by the next write; a program's byte cut by a short write is sent again
 * by the program, and the parser, already past it, does not see it twice. A request that
 * already has a traceparent is left alone (its program has its own SDK), unless it is the
 * very header the thread's current server request came in with (a proxy forwarding headers):
 * then its 55 value bytes are replaced, length for length, by ours.
 *
 * Everything else (reads, and the responses a server writes) is parsed after the real call,
 * from the bytes it actually moved.
 */
#ifndef OTELP_HTTP_H
#define OTELP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common.h"

struct otelp_conn;

#define OTELP_FDTAB_L1  1024
#define OTELP_FDTAB_L2  1024
#define OTELP_FDTAB_MAX (OTELP_FDTAB_L1 * OTELP_FDTAB_L2)

extern struct otelp_conn **otelp__fdtab[OTELP_FDTAB_L1];

/* The tracked connection of fd, or NULL: the fast path of every socket hook. */
static inline struct otelp_conn *otelp__conn_of(int fd)
{
	unsigned u = (unsigned)fd;

	if (otelp_unlikely(u >= OTELP_FDTAB_MAX))
		return NULL;
	struct otelp_conn **l2 =
	    __atomic_load_n(&otelp__fdtab[u / OTELP_FDTAB_L2], __ATOMIC_ACQUIRE);
	if (otelp_likely(!l2))
		return NULL;
	return __atomic_load_n(&l2[u % OTELP_FDTAB_L2], __ATOMIC_ACQUIRE);
}

/* connect() returned rc (0, or -1 with EINPROGRESS for a non-blocking socket). */
void otelp__http_on_connect(int fd, const struct sockaddr *sa, socklen_t len);
/* accept/accept4 returned fd; peer as filled by the kernel (may be NULL). */
void otelp__http_on_accept(int fd, const struct sockaddr *peer, socklen_t len);
/* fd is about to be closed (close, dup2/dup3 target): end its spans, forget it. */
void otelp__http_forget(int fd);
/* The range [first, last] is about to be closed. */
void otelp__http_forget_range(unsigned first, unsigned last);
/* oldfd is duplicated: the two fds now share the stream; stop tracking it. */
void otelp__http_on_dup(int oldfd);
/* shutdown(fd, how) succeeded. */
void otelp__http_on_shutdown(struct otelp_conn *c, int fd, int how);

/*
 * A read-like call on fd returned n (> 0: bytes in iov; 0: end of stream; < 0: error err).
 * peek: MSG_PEEK, the bytes stay queued and are not parsed.
 */
void otelp__http_on_read(struct otelp_conn *c, int fd, const struct iovec *iov, int iovcnt,
                         ssize_t n, int err);

/* sendfile/splice moved n (> 0) opaque bytes from a file or pipe onto fd. */
void otelp__http_on_sendfile(struct otelp_conn *c, int fd, ssize_t n);

/*
 * A write-like call. The original call is described by an otelp_wop; otelp__http_write does
 * it (or a sendmsg with our bytes spliced in) and returns what the program must see, with
 * errno set accordingly.
 */
struct otelp_wop {
	int fd;
	const struct iovec *iov; /* the program's bytes */
	int iovcnt;
	int flags;                /* send flags (0 for write/writev) */
	const struct msghdr *msg; /* sendmsg/sendto: name and control to keep; or NULL */
	ssize_t (*orig)(const struct otelp_wop *op); /* the program's own call, unchanged */
	const void *arg;                             /* for orig: e.g. the original buffer */
	size_t arg_len;
	ssize_t (*sendmsg)(int fd, const struct msghdr *msg, int flags); /* the real one */
};
ssize_t otelp__http_write(struct otelp_conn *c, const struct otelp_wop *op);

/* Fork child: every tracked connection's spans belong to the parent; forget them. */
void otelp__http_after_fork(void);

#endif
