/*
 * The process resource (contract: resource.h; attribute rules: semantic conventions
 * docs/resource/{service,process,host}.md and docs/resource/README.md#telemetry-sdk).
 *
 * DESIGN
 * ------
 * otelp__resource_build() fills the caller's struct in three layers, each one replacing a key
 * of the layer below or appending a new key, so keys stay unique:
 *   1. what we detect: service.name = unknown_service:<executable>, telemetry.sdk.*,
 *      process.pid, process.executable.{name,path}, process.command, host.name;
 *   2. OTEL_RESOURCE_ATTRIBUTES, already decoded by config.c (every value is a string, even
 *      for a key we detected as an int, e.g. process.pid);
 *   3. OTEL_SERVICE_NAME for service.name.
 *
 * Everything is read from /proc with raw syscalls (never stdio, never our own read/close
 * hooks: the fd is closed with otelp__sys_close), into stack buffers: no allocation. It runs
 * off the hot path and again in a fork child, where process.pid changes. errno is preserved.
 *
 * Decisions:
 *  - telemetry.sdk.name is "otelpreload" (OTELP_SDK_NAME): the semantic conventions reserve
 *    "opentelemetry" for the OpenTelemetry SDKs. telemetry.sdk.language is "c", which is not
 *    a well-known value but the conventions allow custom ones.
 *  - The " (deleted)" suffix the kernel adds to /proc/self/exe for a replaced binary is
 *    removed: service.name should not change because the package was upgraded under us.
 *  - An attribute whose value would not fit our fixed storage (a path of 1 KiB or more) is
 *    left out rather than truncated: a cut path is worse than none.
 *  - process.command_args is not collected: it is Opt-In and may hold secrets.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common.h"
#include "fdguard.h"
#include "resource.h"

#define DELETED_SUFFIX " (deleted)"

/* The attribute for key, appended when absent; NULL when full or the key does not fit. */
static struct otelp_resource_attr *slot(struct otelp_resource *r, const char *key)
{
	struct otelp_resource_attr *a = (struct otelp_resource_attr *)otelp__resource_get(r, key);
	size_t n = strlen(key);

	if (a)
		return a;
	if (r->n >= OTELP_RESOURCE_MAX || n >= sizeof(a->key))
		return NULL;
	a = &r->attrs[r->n++];
	memcpy(a->key, key, n + 1);
	a->is_int = false;
	a->ival = 0;
	a->value[0] = '\0';
	return a;
}

static void set_str(struct otelp_resource *r, const char *key, const char *value)
{
	size_t n = strlen(value);
	struct otelp_resource_attr *a;

	if (n >= sizeof(a->value))
		return;
	a = slot(r, key);
	if (!a)
		return;
	a->is_int = false;
	a->ival = 0;
	memcpy(a->value, value, n + 1);
}

static void set_int(struct otelp_resource *r, const char *key, int64_t v)
{
	struct otelp_resource_attr *a = slot(r, key);

	if (!a)
		return;
	a->is_int = true;
	a->ival = v;
	a->value[0] = '\0';
}

/* Target of /proc/self/exe, without " (deleted)"; false when unknown. */
static bool exe_path(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	size_t sl = sizeof(DELETED_SUFFIX) - 1;

	if (n <= 0 || (size_t)n >= cap - 1)
		return false;
	buf[n] = '\0';
	if ((size_t)n > sl && strcmp(buf + n - sl, DELETED_SUFFIX) == 0)
		buf[n - sl] = '\0';
	return buf[0] != '\0';
}

/*
 * argv[0]: the first NUL-terminated string of /proc/self/cmdline (a program that rewrote its
 * argv may leave no NUL; then the whole content is the string). False when empty or too long.
 */
static bool command(char *buf, size_t cap)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	bool eof = false;

	if (fd < 0)
		return false;
	while (len < cap - 1) {
		ssize_t got = syscall(SYS_read, fd, buf + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			eof = got == 0;
			break;
		}
		len += (size_t)got;
		if (memchr(buf, '\0', len))
			break;
	}
	otelp__sys_close(fd);
	buf[len] = '\0';
	/* No NUL in a full buffer: argv[0] is longer than we can keep. */
	if (!memchr(buf, '\0', len) && !eof)
		return false;
	return buf[0] != '\0';
}

static bool host_name(char *buf, size_t cap)
{
	struct utsname u;

	if (gethostname(buf, cap - 1) == 0) {
		buf[cap - 1] = '\0';
		if (buf[0])
			return true;
	}
	if (uname(&u) == 0 && u.nodename[0] && strlen(u.nodename) < cap) {
		memcpy(buf, u.nodename, strlen(u.nodename) + 1);
		return true;
	}
	return false;
}

void otelp__resource_build(struct otelp_resource *r, const struct otelp_config *cfg)
{
	char path[PATH_MAX], buf[OTELP_CFG_STR_MAX];
	const char *exe_name = NULL;
	int saved_errno = errno;
	bool have_path;

	r->n = 0;
	r->pid = (int)getpid();
	have_path = exe_path(path, sizeof(path));
	if (have_path) {
		const char *slash = strrchr(path, '/');
		exe_name = slash ? slash + 1 : path;
		if (!exe_name[0])
			exe_name = NULL;
	}

	/* 1. Detected. */
	if (exe_name) /* a file name is at most NAME_MAX bytes */
		snprintf(buf, sizeof(buf), "unknown_service:%.*s", NAME_MAX, exe_name);
	else
		snprintf(buf, sizeof(buf), "unknown_service");
	set_str(r, "service.name", buf);
	set_str(r, "telemetry.sdk.name", OTELP_SDK_NAME);
	set_str(r, "telemetry.sdk.language", "c");
	set_str(r, "telemetry.sdk.version", OTELP_SDK_VERSION);
	set_int(r, "process.pid", r->pid);
	if (exe_name)
		set_str(r, "process.executable.name", exe_name);
	if (have_path)
		set_str(r, "process.executable.path", path);
	if (command(buf, sizeof(buf)))
		set_str(r, "process.command", buf);
	if (host_name(buf, sizeof(buf)))
		set_str(r, "host.name", buf);

	if (cfg) {
		/* 2. OTEL_RESOURCE_ATTRIBUTES: the user's value wins, even when empty. */
		for (unsigned i = 0; i < cfg->n_resource && i < OTELP_CFG_KV_MAX; i++)
			set_str(r, cfg->resource[i].key, cfg->resource[i].value);
		/* 3. OTEL_SERVICE_NAME wins over both. */
		if (cfg->service_name[0])
			set_str(r, "service.name", cfg->service_name);
	}
	errno = saved_errno;
}

const struct otelp_resource_attr *otelp__resource_get(const struct otelp_resource *r,
                                                      const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->attrs[i].key, key) == 0)
			return &r->attrs[i];
	return NULL;
}
