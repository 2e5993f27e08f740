/*
 * Socket hooks of the HTTP instrumentation. Each one is the same few lines: resolve the real
 * function, look the fd up in the connection table (a NULL load for every fd we do not track:
 * files, pipes, UDP, sockets of other protocols), and only for a tracked connection enter the
 * guard and hand the call to src/http.c. errno is what the real call left.
 */
/* sendfile and sendfile64 are two symbols here: no redirection of one to the other. */
#undef _FILE_OFFSET_BITS
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>

#include "hook.h"
#include "http.h"

/* Resolve the real name or fail the call with ENOSYS. */
#define NET_RESOLVE(name, fail)                                                           \
	do {                                                                              \
		if (otelp_unlikely(!otelp__resolve(&real_##name, #name, (void *)name))) { \
			errno = ENOSYS;                                                   \
			return fail;                                                      \
		}                                                                         \
	} while (0)

/* The connection of fd when this call is ours to follow (guard taken), else NULL. */
static inline struct otelp_conn *tracked(int fd)
{
	struct otelp_conn *c = otelp__conn_of(fd);
	if (otelp_likely(!c) || !otelp__guard_enter())
		return NULL;
	return c;
}

/* After the real read-like call: parse, keep errno, leave the guard. */
static ssize_t after_read(struct otelp_conn *c, int fd, void *buf, ssize_t r)
{
	int err = errno;
	struct iovec v = {buf, r > 0 ? (size_t)r : 0};
	otelp__http_on_read(c, fd, &v, 1, r, err);
	otelp__guard_leave();
	errno = err;
	return r;
}

static ssize_t after_readv(struct otelp_conn *c, int fd, const struct iovec *iov, int n, ssize_t r)
{
	int err = errno;
	otelp__http_on_read(c, fd, iov, n, r, err);
	otelp__guard_leave();
	errno = err;
	return r;
}

/* Bytes we cannot see (MSG_TRUNC discards them): stop following the connection. */
static ssize_t after_blind(int fd, ssize_t r)
{
	int err = errno;
	otelp__http_on_dup(fd);
	otelp__guard_leave();
	errno = err;
	return r;
}

/* recv-like calls: MSG_TRUNC discarded bytes we cannot see, MSG_PEEK left them queued. */
static ssize_t after_recv(struct otelp_conn *c, int fd, void *buf, ssize_t r, int flags)
{
	if (flags & MSG_TRUNC)
		return after_blind(fd, r);
	if (flags & MSG_PEEK) {
		otelp__guard_leave();
		return r;
	}
	return after_read(c, fd, buf, r);
}

/* ---- reads ---- */

OTELP_REAL_SLOT(read);
OTELP_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	NET_RESOLVE(read, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(read)(fd, buf, n);
	return after_read(c, fd, buf, OTELP_REAL(read)(fd, buf, n));
}

OTELP_REAL_SLOT(__read_chk);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
OTELP_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	NET_RESOLVE(__read_chk, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(__read_chk)(fd, buf, n, buflen);
	return after_read(c, fd, buf, OTELP_REAL(__read_chk)(fd, buf, n, buflen));
}

OTELP_REAL_SLOT(readv);
OTELP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	NET_RESOLVE(readv, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(readv)(fd, iov, n);
	return after_readv(c, fd, iov, n, OTELP_REAL(readv)(fd, iov, n));
}

OTELP_REAL_SLOT(recv);
OTELP_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	NET_RESOLVE(recv, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(recv)(fd, buf, n, flags);
	return after_recv(c, fd, buf, OTELP_REAL(recv)(fd, buf, n, flags), flags);
}

OTELP_REAL_SLOT(__recv_chk);
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
OTELP_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	NET_RESOLVE(__recv_chk, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(__recv_chk)(fd, buf, n, buflen, flags);
	return after_recv(c, fd, buf, OTELP_REAL(__recv_chk)(fd, buf, n, buflen, flags), flags);
}

OTELP_REAL_SLOT(recvfrom);
OTELP_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                              socklen_t *alen)
{
	NET_RESOLVE(recvfrom, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	return after_recv(c, fd, buf, OTELP_REAL(recvfrom)(fd, buf, n, flags, addr, alen), flags);
}

OTELP_REAL_SLOT(__recvfrom_chk);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                              struct sockaddr *addr, socklen_t *alen);
OTELP_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                    struct sockaddr *addr, socklen_t *alen)
{
	NET_RESOLVE(__recvfrom_chk, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
	return after_recv(c, fd, buf,
	                  OTELP_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen), flags);
}

OTELP_REAL_SLOT(recvmsg);
OTELP_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	NET_RESOLVE(recvmsg, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(recvmsg)(fd, msg, flags);
	ssize_t r = OTELP_REAL(recvmsg)(fd, msg, flags);
	if (flags & MSG_TRUNC)
		return after_blind(fd, r);
	if (flags & MSG_PEEK) {
		otelp__guard_leave();
		return r;
	}
	return after_readv(c, fd, msg->msg_iov, (int)msg->msg_iovlen, r);
}

/* ---- writes ---- */

OTELP_REAL_SLOT(sendmsg);

static ssize_t (*real_sendmsg_fn(void))(int, const struct msghdr *, int)
{
	if (!otelp__resolve(&real_sendmsg, "sendmsg", (void *)sendmsg))
		return NULL;
	return OTELP_REAL(sendmsg);
}

/* Hand a write to the tracker; falls back to the program's call when sendmsg is missing. */
static ssize_t do_write(struct otelp_conn *c, struct otelp_wop *op)
{
	op->sendmsg = real_sendmsg_fn();
	ssize_t r = op->sendmsg ? otelp__http_write(c, op) : op->orig(op);
	int err = errno;
	otelp__guard_leave();
	errno = err;
	return r;
}

OTELP_REAL_SLOT(write);

static ssize_t orig_write(const struct otelp_wop *op)
{
	return OTELP_REAL(write)(op->fd, op->arg, op->arg_len);
}

OTELP_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	NET_RESOLVE(write, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(write)(fd, buf, n);
	struct iovec v = {(void *)buf, n};
	struct otelp_wop op = {
	    .fd = fd, .iov = &v, .iovcnt = 1, .orig = orig_write, .arg = buf, .arg_len = n};
	return do_write(c, &op);
}

OTELP_REAL_SLOT(writev);

static ssize_t orig_writev(const struct otelp_wop *op)
{
	return OTELP_REAL(writev)(op->fd, op->iov, op->iovcnt);
}

OTELP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	NET_RESOLVE(writev, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c) || n < 0) {
		if (c)
			otelp__guard_leave();
		return OTELP_REAL(writev)(fd, iov, n);
	}
	struct otelp_wop op = {.fd = fd, .iov = iov, .iovcnt = n, .orig = orig_writev};
	return do_write(c, &op);
}

OTELP_REAL_SLOT(send);

static ssize_t orig_send(const struct otelp_wop *op)
{
	return OTELP_REAL(send)(op->fd, op->arg, op->arg_len, op->flags);
}

OTELP_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	NET_RESOLVE(send, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(send)(fd, buf, n, flags);
	struct iovec v = {(void *)buf, n};
	struct otelp_wop op = {.fd = fd,
	                       .iov = &v,
	                       .iovcnt = 1,
	                       .flags = flags,
	                       .orig = orig_send,
	                       .arg = buf,
	                       .arg_len = n};
	return do_write(c, &op);
}

OTELP_REAL_SLOT(sendto);

static ssize_t orig_sendto(const struct otelp_wop *op)
{
	return OTELP_REAL(sendto)(op->fd, op->arg, op->arg_len, op->flags, op->msg->msg_name,
	                          op->msg->msg_namelen);
}

OTELP_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                            const struct sockaddr *addr, socklen_t alen)
{
	NET_RESOLVE(sendto, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(sendto)(fd, buf, n, flags, addr, alen);
	struct iovec v = {(void *)buf, n};
	struct msghdr mh = {.msg_name = (void *)addr, .msg_namelen = addr ? alen : 0};
	struct otelp_wop op = {.fd = fd,
	                       .iov = &v,
	                       .iovcnt = 1,
	                       .flags = flags,
	                       .msg = &mh,
	                       .orig = orig_sendto,
	                       .arg = buf,
	                       .arg_len = n};
	return do_write(c, &op);
}

static ssize_t orig_sendmsg(const struct otelp_wop *op)
{
	return OTELP_REAL(sendmsg)(op->fd, op->msg, op->flags);
}

OTELP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	NET_RESOLVE(sendmsg, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(sendmsg)(fd, msg, flags);
	if (!msg || msg->msg_iovlen > INT32_MAX) {
		otelp__guard_leave();
		return OTELP_REAL(sendmsg)(fd, msg, flags);
	}
	struct otelp_wop op = {.fd = fd,
	                       .iov = msg->msg_iov,
	                       .iovcnt = (int)msg->msg_iovlen,
	                       .flags = flags,
	                       .msg = msg,
	                       .orig = orig_sendmsg};
	return do_write(c, &op);
}

/* ---- bodies that bypass the write calls ---- */

static ssize_t after_sendfile(struct otelp_conn *c, int fd, ssize_t r)
{
	int err = errno;
	otelp__http_on_sendfile(c, fd, r);
	otelp__guard_leave();
	errno = err;
	return r;
}

OTELP_REAL_SLOT(sendfile);
OTELP_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t count)
{
	NET_RESOLVE(sendfile, -1);
	struct otelp_conn *c = tracked(out_fd);
	if (otelp_likely(!c))
		return OTELP_REAL(sendfile)(out_fd, in_fd, off, count);
	return after_sendfile(c, out_fd, OTELP_REAL(sendfile)(out_fd, in_fd, off, count));
}

OTELP_REAL_SLOT(sendfile64);
OTELP_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *off, size_t count)
{
	NET_RESOLVE(sendfile64, -1);
	struct otelp_conn *c = tracked(out_fd);
	if (otelp_likely(!c))
		return OTELP_REAL(sendfile64)(out_fd, in_fd, off, count);
	return after_sendfile(c, out_fd, OTELP_REAL(sendfile64)(out_fd, in_fd, off, count));
}

OTELP_REAL_SLOT(splice);
OTELP_EXPORT ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
                            unsigned int flags)
{
	NET_RESOLVE(splice, -1);
	if (otelp_likely(!otelp__conn_of(fd_in) && !otelp__conn_of(fd_out)))
		return OTELP_REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	if (!otelp__guard_enter())
		return OTELP_REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	ssize_t r = OTELP_REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	int err = errno;
	struct otelp_conn *c = otelp__conn_of(fd_out);
	if (c)
		otelp__http_on_sendfile(c, fd_out, r);
	if (r > 0 && otelp__conn_of(fd_in))
		otelp__http_on_dup(fd_in); /* bytes read into a pipe: we cannot see them */
	otelp__guard_leave();
	errno = err;
	return r;
}

/* ---- connection life ---- */

OTELP_HOOK(int, connect, -1, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len))
{
	int r = OTELP_REAL(connect)(fd, addr, len);
	if (r == 0 || errno == EINPROGRESS)
		OTELP_SAVE_ERRNO(otelp__http_on_connect(fd, addr, len));
	return r;
}

static void accepted(int fd, const struct sockaddr *addr, socklen_t cap, const socklen_t *alen)
{
	socklen_t len = 0;
	if (addr && alen)
		len = *alen < cap ? *alen : cap;
	otelp__http_on_accept(fd, addr && alen ? addr : NULL, len);
}

OTELP_HOOK(int, accept, -1, (int fd, struct sockaddr *addr, socklen_t *alen), (fd, addr, alen))
{
	socklen_t cap = alen ? *alen : 0;
	int r = OTELP_REAL(accept)(fd, addr, alen);
	if (r >= 0)
		OTELP_SAVE_ERRNO(accepted(r, addr, cap, alen));
	return r;
}

OTELP_HOOK(int, accept4, -1, (int fd, struct sockaddr *addr, socklen_t *alen, int flags),
           (fd, addr, alen, flags))
{
	socklen_t cap = alen ? *alen : 0;
	int r = OTELP_REAL(accept4)(fd, addr, alen, flags);
	if (r >= 0)
		OTELP_SAVE_ERRNO(accepted(r, addr, cap, alen));
	return r;
}

OTELP_REAL_SLOT(shutdown);
OTELP_EXPORT int shutdown(int fd, int how)
{
	NET_RESOLVE(shutdown, -1);
	struct otelp_conn *c = tracked(fd);
	if (otelp_likely(!c))
		return OTELP_REAL(shutdown)(fd, how);
	int r = OTELP_REAL(shutdown)(fd, how);
	int err = errno;
	if (r == 0)
		otelp__http_on_shutdown(c, fd, how);
	otelp__guard_leave();
	errno = err;
	return r;
}
