/*
 * Registry of the shim's own file descriptors (see fdguard.h).
 *
 * A fixed array of atomic ints: -1 is a free slot. Lookups are lock-free and
 * async-signal-safe, so the close() hook may consult the registry from a signal handler. The
 * common case, nothing registered, costs one relaxed load of `count`.
 *
 * Our fds are moved to high numbers: many daemons close "every fd above 2" by looping up to a
 * limit, and programs that dup2() onto fixed numbers pick low ones. High numbers keep us out of
 * their way; the hooks catch the rest.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "fdguard.h"

#define STOLEN_BIT (1 << 30)

static atomic_int slots[OTELP_FDGUARD_MAX] = {
    [0 ... OTELP_FDGUARD_MAX - 1] = -1,
};
static atomic_int count;
/*
 * No registered fd is below this (it only ever goes down): the program's own fds are low
 * numbers, ours high ones, so most lookups end here without scanning the slots.
 */
static atomic_int low = INT_MAX;

int otelp__sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static int high_fd_base(void)
{
	struct rlimit rl;
	long lim = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		lim = (long)rl.rlim_cur;
	if (lim > 65536)
		lim = 65536;
	/* Leave some room above us; never below 100. */
	long base = lim - 64;
	return base < 100 ? 100 : (int)base;
}

static void add(int fd)
{
	int cur = atomic_load(&low);
	while (fd < cur && !atomic_compare_exchange_weak(&low, &cur, fd))
		;
	for (int i = 0; i < OTELP_FDGUARD_MAX; i++) {
		int expect = -1;
		if (atomic_compare_exchange_strong(&slots[i], &expect, fd)) {
			atomic_fetch_add(&count, 1);
			return;
		}
	}
	/* Full: the fd works, unprotected. */
}

int otelp__fd_adopt(int fd)
{
	if (fd < 0)
		return -1;
	int saved = errno;
	int nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high_fd_base());
	if (nfd >= 0) {
		otelp__sys_close(fd);
		fd = nfd;
	} else {
		syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
	}
	add(fd);
	errno = saved;
	return fd;
}

static int find(int value)
{
	for (int i = 0; i < OTELP_FDGUARD_MAX; i++)
		if (atomic_load_explicit(&slots[i], memory_order_acquire) == value)
			return i;
	return -1;
}

bool otelp__fd_is_ours(int fd)
{
	if (otelp_likely(atomic_load_explicit(&count, memory_order_relaxed) == 0) || fd < 0 ||
	    fd < atomic_load_explicit(&low, memory_order_relaxed))
		return false;
	return find(fd) >= 0;
}

bool otelp__fd_release(int fd)
{
	if (fd < 0)
		return false;
	int i = find(fd);
	if (i < 0)
		i = find(fd | STOLEN_BIT);
	if (i < 0)
		return false;
	int v = atomic_exchange(&slots[i], -1);
	atomic_fetch_sub(&count, 1);
	return !(v & STOLEN_BIT);
}

void otelp__fd_mark_stolen(int fd)
{
	int i = find(fd);
	if (i >= 0) {
		int expect = fd;
		atomic_compare_exchange_strong(&slots[i], &expect, fd | STOLEN_BIT);
	}
}

bool otelp__fd_was_stolen(int fd)
{
	return fd >= 0 && find(fd | STOLEN_BIT) >= 0;
}

void otelp__fd_close_all(int keep)
{
	for (int i = 0; i < OTELP_FDGUARD_MAX; i++) {
		int v = atomic_load(&slots[i]);
		if (v < 0 || (keep >= 0 && v == keep))
			continue;
		v = atomic_exchange(&slots[i], -1);
		if (v < 0)
			continue;
		atomic_fetch_sub(&count, 1);
		if (!(v & STOLEN_BIT))
			otelp__sys_close(v);
	}
}
