/*
 * Fault-injecting preload for the HTTP tests: loaded AFTER otelpreload in LD_PRELOAD
 * ("$OTELP_LIB:$FAULT_LIB"), so that otelpreload's hooks reach it through RTLD_NEXT and have
 * to cope with what the kernel may legally do to socket I/O:
 *   - short writes   write/writev/send/sendto/sendmsg move fewer bytes than asked (the length
 *                    is capped, iovecs are trimmed);
 *   - short reads    read/readv/recv/recvfrom/recvmsg return fewer bytes than asked (not with
 *                    MSG_WAITALL);
 *   - EINTR          -1/EINTR before anything is transferred;
 *   - EAGAIN         -1/EAGAIN before anything is transferred, only on O_NONBLOCK sockets or
 *                    with MSG_DONTWAIT (an edge-triggered epoll user would wait forever for an
 *                    edge that never comes: use it with poll or level-triggered loops).
 * Only sockets are touched (S_ISSOCK, cached per fd and checked again before each fault); every
 * other call goes straight to the next definition. The library never loses or invents bytes:
 * a fault either transfers nothing (EINTR, EAGAIN) or transfers a prefix and reports exactly
 * that prefix.
 *
 * Environment (read once, at load):
 *   FAULT_SEED   PRNG seed (default 1); each thread draws from its own stream
 *   FAULT_RATE   probability of a fault per call, 0..1 (default 0.1; 0 disables)
 *   FAULT_STATS  a file: at exit, one line "fault pid=P calls=N short_writes=N ..." is appended
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

#define FD_CACHE 4096
#define IOV_CAP  1024 /* IOV_MAX on Linux; more is EINVAL in the kernel anyway */

enum { FD_UNKNOWN, FD_SOCKET, FD_OTHER };

static uint64_t seed = 1;
static double rate = 0.1;
static _Atomic unsigned char fdkind[FD_CACHE];
static atomic_ulong threads;
static atomic_ulong n_calls, n_short_w, n_short_r, n_eintr, n_eagain;
static __thread uint64_t rng;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_socket)(int, int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "fault: a symbol is missing\n";
		ssize_t r = write(2, msg, sizeof(msg) - 1);
		(void)r;
		abort();
	}
	return p;
}

/* Resolve lazily too: another library's constructor may do I/O before ours ran. */
#define REAL(name)                                                                   \
	(__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)                             \
	     ? real_##name                                                           \
	     : (__atomic_store_n(&real_##name, (__typeof__(real_##name))next(#name), \
	                         __ATOMIC_RELEASE),                                  \
	        real_##name))

__attribute__((constructor)) static void fault_init(void)
{
	const char *s = getenv("FAULT_SEED");
	if (s && *s)
		seed = strtoull(s, NULL, 0);
	s = getenv("FAULT_RATE");
	if (s && *s)
		rate = strtod(s, NULL);
	if (!(rate >= 0))
		rate = 0;
}

__attribute__((destructor)) static void fault_stats(void)
{
	const char *path = getenv("FAULT_STATS");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[256];
	int n = snprintf(line, sizeof(line),
	                 "fault pid=%d calls=%lu short_writes=%lu short_reads=%lu eintr=%lu "
	                 "eagain=%lu\n",
	                 (int)getpid(), atomic_load(&n_calls), atomic_load(&n_short_w),
	                 atomic_load(&n_short_r), atomic_load(&n_eintr), atomic_load(&n_eagain));
	if (n > 0) {
		ssize_t r = REAL(write)(fd, line, (size_t)n);
		(void)r;
	}
	close(fd);
}

static uint64_t next_rand(void)
{
	if (!rng) {
		/* splitmix64 of the seed and a thread number: one stream per thread. */
		uint64_t z = seed + (atomic_fetch_add(&threads, 1) + 1) * 0x9E3779B97F4A7C15ull;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		rng = (z ^ (z >> 31)) | 1;
	}
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static int kind_now(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return FD_UNKNOWN; /* not cached: EBADF and friends come from the real call */
	return S_ISSOCK(st.st_mode) ? FD_SOCKET : FD_OTHER;
}

static void remember(int fd, int kind)
{
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store(&fdkind[fd], (unsigned char)kind);
}

static int is_socket(int fd)
{
	if (fd < 0)
		return 0;
	if (fd >= FD_CACHE)
		return kind_now(fd) == FD_SOCKET;
	int k = atomic_load(&fdkind[fd]);
	if (k == FD_UNKNOWN) {
		k = kind_now(fd);
		if (k != FD_UNKNOWN)
			remember(fd, k);
	}
	return k == FD_SOCKET;
}

enum fault { F_NONE, F_SHORT, F_EINTR, F_EAGAIN };

/*
 * Which fault, if any, for this call on fd moving len bytes. can_short: a shorter transfer is
 * allowed (len > 1 and no MSG_WAITALL). nonblock: the call cannot block (MSG_DONTWAIT).
 */
static enum fault pick(int fd, size_t len, int can_short, int nonblock)
{
	int saved = errno;
	enum fault f = F_NONE;
	if (rate <= 0 || len == 0 || !is_socket(fd))
		goto out;
	atomic_fetch_add(&n_calls, 1);
	uint64_t r = next_rand();
	if ((double)(r >> 11) * (1.0 / 9007199254740992.0) >= rate)
		goto out;
	/* The cached verdict may be stale (fd closed and reused): check before faulting. */
	if (fd < FD_CACHE && kind_now(fd) != FD_SOCKET) {
		remember(fd, FD_OTHER);
		goto out;
	}
	if (!nonblock) {
		int fl = fcntl(fd, F_GETFL);
		nonblock = fl >= 0 && (fl & O_NONBLOCK);
	}
	switch (next_rand() % 8) {
	case 0:
	case 1:
		f = F_EINTR;
		break;
	case 2:
	case 3:
		f = nonblock ? F_EAGAIN : F_EINTR;
		break;
	default:
		f = can_short && len > 1 ? F_SHORT : F_EINTR;
		break;
	}
out:
	errno = saved;
	return f;
}

/* A length in 1..len-1, often tiny. */
static size_t short_len(size_t len)
{
	uint64_t r = next_rand();
	if (r % 4 == 0)
		return 1;
	return 1 + (size_t)((r >> 8) % (len - 1));
}

static ssize_t fail(enum fault f)
{
	atomic_fetch_add(f == F_EINTR ? &n_eintr : &n_eagain, 1);
	errno = f == F_EINTR ? EINTR : EAGAIN;
	return -1;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy at most cap bytes' worth of iovecs into out; returns the new count. */
static int iov_trim(const struct iovec *iov, int n, size_t cap, struct iovec *out)
{
	int k = 0;
	for (int i = 0; i < n && cap > 0; i++) {
		out[k] = iov[i];
		if (out[k].iov_len > cap)
			out[k].iov_len = cap;
		cap -= out[k].iov_len;
		k++;
	}
	return k;
}

static int iov_ok(int n)
{
	return n > 0 && n <= IOV_CAP;
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	enum fault f = pick(fd, len, 1, 0);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_w, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(write)(fd, buf, len);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	enum fault f = pick(fd, len, 1, flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_w, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(send)(fd, buf, len, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                      socklen_t salen)
{
	enum fault f = pick(fd, len, 1, flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_w, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(sendto)(fd, buf, len, flags, sa, salen);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (!iov_ok(n))
		return REAL(writev)(fd, iov, n);
	size_t total = iov_total(iov, n);
	enum fault f = pick(fd, total, 1, 0);
	if (f == F_SHORT) {
		struct iovec cut[IOV_CAP];
		atomic_fetch_add(&n_short_w, 1);
		int k = iov_trim(iov, n, short_len(total), cut);
		return REAL(writev)(fd, cut, k);
	}
	if (f != F_NONE)
		return fail(f);
	return REAL(writev)(fd, iov, n);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!msg || !iov_ok((int)msg->msg_iovlen) || msg->msg_iovlen > IOV_CAP)
		return REAL(sendmsg)(fd, msg, flags);
	size_t total = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	enum fault f = pick(fd, total, 1, flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		struct iovec cut[IOV_CAP];
		struct msghdr m = *msg;
		atomic_fetch_add(&n_short_w, 1);
		m.msg_iov = cut;
		m.msg_iovlen =
		    (size_t)iov_trim(msg->msg_iov, (int)msg->msg_iovlen, short_len(total), cut);
		return REAL(sendmsg)(fd, &m, flags);
	}
	if (f != F_NONE)
		return fail(f);
	return REAL(sendmsg)(fd, msg, flags);
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	enum fault f = pick(fd, len, 1, 0);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_r, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(read)(fd, buf, len);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	enum fault f = pick(fd, len, !(flags & MSG_WAITALL), flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_r, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(recv)(fd, buf, len, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
                        socklen_t *salen)
{
	enum fault f = pick(fd, len, !(flags & MSG_WAITALL), flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		atomic_fetch_add(&n_short_r, 1);
		len = short_len(len);
	} else if (f != F_NONE) {
		return fail(f);
	}
	return REAL(recvfrom)(fd, buf, len, flags, sa, salen);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	if (!iov_ok(n))
		return REAL(readv)(fd, iov, n);
	size_t total = iov_total(iov, n);
	enum fault f = pick(fd, total, 1, 0);
	if (f == F_SHORT) {
		struct iovec cut[IOV_CAP];
		atomic_fetch_add(&n_short_r, 1);
		int k = iov_trim(iov, n, short_len(total), cut);
		return REAL(readv)(fd, cut, k);
	}
	if (f != F_NONE)
		return fail(f);
	return REAL(readv)(fd, iov, n);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!msg || !iov_ok((int)msg->msg_iovlen) || msg->msg_iovlen > IOV_CAP)
		return REAL(recvmsg)(fd, msg, flags);
	size_t total = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	enum fault f = pick(fd, total, !(flags & MSG_WAITALL), flags & MSG_DONTWAIT);
	if (f == F_SHORT) {
		struct iovec cut[IOV_CAP];
		struct msghdr m = *msg;
		atomic_fetch_add(&n_short_r, 1);
		m.msg_iov = cut;
		m.msg_iovlen =
		    (size_t)iov_trim(msg->msg_iov, (int)msg->msg_iovlen, short_len(total), cut);
		ssize_t r = REAL(recvmsg)(fd, &m, flags);
		/* The kernel's answers live in the copy: hand them back. */
		msg->msg_namelen = m.msg_namelen;
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags;
		return r;
	}
	if (f != F_NONE)
		return fail(f);
	return REAL(recvmsg)(fd, msg, flags);
}

/* New sockets are known at once (their fd number may be cached as something else). */
EXPORT int socket(int domain, int type, int protocol)
{
	int fd = REAL(socket)(domain, type, protocol);
	remember(fd, FD_SOCKET);
	return fd;
}

EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *salen)
{
	int c = REAL(accept)(fd, sa, salen);
	remember(c, FD_SOCKET);
	return c;
}

EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *salen, int flags)
{
	int c = REAL(accept4)(fd, sa, salen, flags);
	remember(c, FD_SOCKET);
	return c;
}
