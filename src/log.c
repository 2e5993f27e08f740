/*
 * Diagnostics: see log.h for the rules. Messages are formatted into a stack buffer with
 * vsnprintf (no stdio stream, no allocation for the formats we use) and written with one raw
 * write(2), bypassing our own hooks.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "fdguard.h"
#include "log.h"

enum otelp_log_level otelp__log_level = OTELP_LOG_NONE;
struct otelp_stats otelp__stats;

/* -1: no file; messages go to stderr (debug level, config warnings). */
static int log_fd = -1;
static bool stderr_debug;

int otelp__log_fd(void)
{
	return log_fd;
}

void otelp__log_init(enum otelp_log_level level, const char *path)
{
	otelp__log_level = level;
	stderr_debug = level >= OTELP_LOG_DEBUG;
	if (path && path[0]) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path,
		                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			log_fd = otelp__fd_adopt(fd);
		else
			otelp__log_cfgwarn("OTEL_PRELOAD_LOG_FILE=%s: cannot open (errno %d), "
			                   "logging to stderr at debug level only",
			                   path, errno);
	}
	/* With a file, a level of "none" still means none; without one, only debug prints. */
	if (log_fd < 0 && !stderr_debug)
		otelp__log_level = OTELP_LOG_NONE;
}

static void emit(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = syscall(SYS_write, fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

static const char *level_name(enum otelp_log_level l)
{
	switch (l) {
	case OTELP_LOG_ERROR:
		return "error";
	case OTELP_LOG_WARN:
		return "warn";
	case OTELP_LOG_INFO:
		return "info";
	case OTELP_LOG_DEBUG:
		return "debug";
	default:
		return "?";
	}
}

static void vlog(int fd, const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "otelpreload[%d]: %s", (int)getpid(), prefix);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	emit(fd, buf, len);
}

void otelp__log(enum otelp_log_level level, const char *func, int line, const char *fmt, ...)
{
	int saved = errno;
	int fd = log_fd >= 0 ? log_fd : (stderr_debug ? 2 : -1);
	if (fd >= 0) {
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "%s: %s:%d: ", level_name(level), func, line);
		va_list ap;
		va_start(ap, fmt);
		vlog(fd, prefix, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void otelp__log_cfgwarn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(log_fd >= 0 ? log_fd : 2, "warn: config: ", fmt, ap);
	va_end(ap);
	errno = saved;
}
