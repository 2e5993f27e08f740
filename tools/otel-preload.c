/*
 * otel-preload: run an unmodified program with libotelpreload.so preloaded.
 *
 *   otel-preload [options] [--] PROGRAM [ARGS...]
 *   otel-preload doctor PROGRAM        can the preload work for PROGRAM? (doctor.c)
 *   otel-preload view FILE...          show the traces of a file exporter's output (view.c)
 *
 * Design:
 *
 * - Options only set the environment variables the library reads (docs/configuration.md); the
 *   rest of the environment passes through untouched. The last occurrence of an option wins.
 *   `--endpoint` and `--protocol` also remove the traces-specific variables
 *   (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/_PROTOCOL) that would otherwise win over them, and
 *   `--endpoint` selects the otlp exporter unless `--exporter` says otherwise: an option given on
 *   the command line beats the inherited environment.
 *
 * - The library is found, in this order: $OTEL_PRELOAD_LIBRARY (used as given, no fallback when
 *   it is wrong); <directory of /proc/self/exe>/../hooks/libotelpreload.so (the build tree);
 *   OTELP_LIBDIR/libotelpreload.so (the installed copy). The path is made absolute: the program
 *   may change directory, and its children inherit LD_PRELOAD. Not found: exit 127.
 *
 * - LD_PRELOAD: our library goes first, before an inherited LD_PRELOAD. The loader binds each
 *   symbol to the first preloaded object that defines it, so we see the program's calls as it
 *   makes them, and our hooks reach any other preloaded wrapper through RTLD_NEXT. The one
 *   exception is a sanitizer runtime (libasan, libtsan, libclang_rt.asan...): it refuses to run
 *   unless it is the first object in the link map, so when the inherited list holds one, our
 *   library is appended instead. A libotelpreload.so already in the list (any copy) is dropped:
 *   two copies would hook every call twice.
 *
 * - Exporter: when no exporter and no endpoint is chosen (by option or environment), spans go to
 *   a file (OTEL_TRACES_EXPORTER=file, OTEL_PRELOAD_FILE=otel-preload-<pid>.jsonl in
 *   $XDG_RUNTIME_DIR, else the current directory, else $TMPDIR or /tmp), and the launcher shows
 *   the waterfall of that file on stderr once the program has exited. The file is kept; its path
 *   is printed so that `otel-preload view` can show it again.
 *
 * - Running: with a waterfall to show, the launcher forks, execs the program in the child and
 *   waits. Its exit status is the program's, or 128+N when the program died of signal N (nothing
 *   is re-raised). SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the launcher by another process
 *   are forwarded to the program; the ones the terminal sends (si_code SI_KERNEL) already went
 *   to the whole foreground process group, program included, so they are not sent twice. They
 *   are forwarded even when the launcher inherited them as ignored (the program inherits that
 *   too, and decides for itself, as it would without the launcher). The original dispositions
 *   are back once the program has ended: ^C during the waterfall stops the launcher. Without a
 *   waterfall (exporters otlp, console, none, or --no-view with an explicit file), the launcher
 *   execs the program directly and disappears.
 *
 * - Output: the launcher writes nothing to stdout while running a program (the program's stdout
 *   stays byte-identical); the waterfall, the file's path and errors go to stderr. Command not
 *   found: 127; found but not executable: 126; usage errors: 2.
 *
 * - The waterfall is the viewer's (view.c) output: otelp_view_main(argc, argv, stderr, stderr)
 *   with argv {"view", FILE}, so colour follows isatty(stderr).
 */
#include "tools.h"
#include "view.h"
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OTELP_LIBDIR
#define OTELP_LIBDIR "/usr/local/lib"
#endif

#define LIB_NAME "libotelpreload.so"

static const char *prog_name = "otel-preload";

static void verr(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void verr(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(fmt, ap);
	va_end(ap);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		err("out of memory");
		exit(1);
	}
	return s;
}

/* ---- finding the library ---- */

static bool readable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

char *otelp_tool_find_library(char **why)
{
	*why = NULL;
	const char *env = getenv("OTEL_PRELOAD_LIBRARY");
	if (env && *env) {
		char *abs = realpath(env, NULL);
		if (!abs || !readable_file(abs)) {
			*why = xasprintf("OTEL_PRELOAD_LIBRARY=%s: %s", env,
			                 abs ? "not a readable file" : strerror(errno));
			free(abs);
			return NULL;
		}
		return abs;
	}
	char *exe = realpath("/proc/self/exe", NULL);
	if (exe) {
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char *cand = xasprintf("%s/../hooks/" LIB_NAME, exe);
			char *abs = realpath(cand, NULL);
			free(cand);
			if (abs && readable_file(abs)) {
				free(exe);
				return abs;
			}
			free(abs);
		}
		free(exe);
	}
	char *abs = realpath(OTELP_LIBDIR "/" LIB_NAME, NULL);
	if (abs && readable_file(abs))
		return abs;
	free(abs);
	*why = xasprintf(LIB_NAME " not found: not in the build tree next to this program, nor "
	                          "installed as " OTELP_LIBDIR "/" LIB_NAME
	                          "; set OTEL_PRELOAD_LIBRARY to "
	                          "its path");
	return NULL;
}

/* ---- LD_PRELOAD ---- */

/* The file name part of a list item of length len (its length in *blen). */
static const char *item_base(const char *item, size_t len, size_t *blen)
{
	const char *base = item;
	for (size_t i = 0; i < len; i++)
		if (item[i] == '/')
			base = item + i + 1;
	*blen = len - (size_t)(base - item);
	return base;
}

static bool is_sanitizer_runtime(const char *item, size_t len)
{
	static const char *const names[] = {"libasan",          "libtsan",
	                                    "libmsan",          "libhwasan",
	                                    "liblsan",          "libubsan",
	                                    "libclang_rt.asan", "libclang_rt.tsan",
	                                    "libclang_rt.msan", "libclang_rt.hwasan",
	                                    "libclang_rt.lsan", "libclang_rt.ubsan"};
	size_t blen;
	const char *base = item_base(item, len, &blen);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if (blen >= n && memcmp(base, names[i], n) == 0)
			return true;
	}
	return false;
}

/* The new LD_PRELOAD value (malloc'd). glibc splits the list on spaces and colons; the result
 * uses colons. Any libotelpreload.so already in the list (this one or another copy) is dropped:
 * two copies would hook every call twice. */
static char *build_ld_preload(const char *lib, const char *old)
{
	char *rest = xasprintf("%s", "");
	bool sanitizer = false;
	for (const char *p = old ? old : ""; *p;) {
		p += strspn(p, " :");
		size_t n = strcspn(p, " :");
		if (n == 0)
			break;
		size_t blen;
		const char *base = item_base(p, n, &blen);
		if (blen != strlen(LIB_NAME) || memcmp(base, LIB_NAME, blen) != 0) {
			if (is_sanitizer_runtime(p, n))
				sanitizer = true;
			char *next = xasprintf("%s%s%.*s", rest, rest[0] ? ":" : "", (int)n, p);
			free(rest);
			rest = next;
		}
		p += n;
	}
	char *r = !rest[0]    ? xasprintf("%s", lib)
	          : sanitizer ? xasprintf("%s:%s", rest, lib)
	                      : xasprintf("%s:%s", lib, rest);
	free(rest);
	return r;
}

/* ---- options ---- */

enum opt_id {
	OPT_SERVICE_NAME,
	OPT_ENDPOINT,
	OPT_PROTOCOL,
	OPT_SAMPLER,
	OPT_SAMPLER_ARG,
	OPT_ENABLE,
	OPT_DISABLE,
	OPT_EXPORTER,
	OPT_FILE,
	OPT_NO_VIEW,
	OPT_KEEP,
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT
};

struct opt {
	const char *name;
	const char *var; /* the variable it sets, NULL for flags and special cases */
	bool has_arg;
};

static const struct opt opts[OPT_COUNT] = {
    [OPT_SERVICE_NAME] = {"service-name", "OTEL_SERVICE_NAME", true},
    [OPT_ENDPOINT] = {"endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", true},
    [OPT_PROTOCOL] = {"protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", true},
    [OPT_SAMPLER] = {"sampler", "OTEL_TRACES_SAMPLER", true},
    [OPT_SAMPLER_ARG] = {"sampler-arg", "OTEL_TRACES_SAMPLER_ARG", true},
    [OPT_ENABLE] = {"enable", "OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS", true},
    [OPT_DISABLE] = {"disable", "OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS", true},
    [OPT_EXPORTER] = {"exporter", "OTEL_TRACES_EXPORTER", true},
    [OPT_FILE] = {"file", "OTEL_PRELOAD_FILE", true},
    [OPT_NO_VIEW] = {"no-view", NULL, false},
    [OPT_KEEP] = {"keep", NULL, false},
    [OPT_HELP] = {"help", NULL, false},
    [OPT_VERSION] = {"version", NULL, false},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: otel-preload [OPTIONS] [--] PROGRAM [ARGS...]\n"
	    "       otel-preload doctor PROGRAM\n"
	    "       otel-preload view FILE...\n"
	    "\n"
	    "Runs PROGRAM with libotelpreload.so preloaded, so that its HTTP/1.x requests,\n"
	    "PostgreSQL (libpq) queries and Redis (hiredis) commands become OpenTelemetry spans.\n"
	    "\n"
	    "Options (--opt VALUE or --opt=VALUE):\n"
	    "  --service-name NAME     OTEL_SERVICE_NAME\n"
	    "  --endpoint URL          OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL\n"
	    "                          (/v1/traces is appended); implies --exporter otlp\n"
	    "  --protocol P            OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf or http/json\n"
	    "  --sampler NAME          OTEL_TRACES_SAMPLER (always_on, traceidratio, ...)\n"
	    "  --sampler-arg X         OTEL_TRACES_SAMPLER_ARG\n"
	    "  --enable LIST           OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS (http,libpq,hiredis)\n"
	    "  --disable LIST          OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS\n"
	    "  --exporter E            OTEL_TRACES_EXPORTER: otlp, console, file or none\n"
	    "  --file PATH             OTEL_PRELOAD_FILE: write spans to PATH (implies\n"
	    "                          --exporter file)\n"
	    "  --no-view               do not show the waterfall of the file after the run\n"
	    "  --keep                  keep the file (the default; it is never deleted)\n"
	    "  --help, --version\n"
	    "\n"
	    "Without --endpoint, --exporter or an OTEL_EXPORTER_OTLP_*ENDPOINT or\n"
	    "OTEL_TRACES_EXPORTER variable, spans are written to otel-preload-<pid>.jsonl (in\n"
	    "$XDG_RUNTIME_DIR, else the current directory) and shown on stderr after the run.\n"
	    "Other OTEL_* variables of the environment are passed on unchanged.\n"
	    "The library is $OTEL_PRELOAD_LIBRARY, else the one of the build tree, else\n" OTELP_LIBDIR
	    "/" LIB_NAME ".\n"
	    "A program named doctor or view is run with: otel-preload -- doctor ...\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'otel-preload --help'.\n");
	return 2;
}

/* Case-insensitive comparison of a value, ignoring blanks around it (as the library does). */
static bool value_is(const char *v, const char *want)
{
	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

/* Set: the variable is set to something other than blanks (the library treats the rest as
 * unset). */
static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && v[strspn(v, " \t")] != '\0';
}

static void xsetenv(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0) {
		err("cannot set %s: %s", name, strerror(errno));
		exit(1);
	}
}

static void xunsetenv(const char *name)
{
	if (unsetenv(name) != 0) {
		err("cannot unset %s: %s", name, strerror(errno));
		exit(1);
	}
}

/* An absolute version of path (malloc'd), without resolving symbolic links or requiring it to
 * exist. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xasprintf("%s", path);
	char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		err("cannot get the current directory: %s", strerror(errno));
		exit(1);
	}
	if (strcmp(path, ".") == 0)
		return cwd;
	char *r = xasprintf("%s/%s", cwd, path);
	free(cwd);
	return r;
}

/* ---- the embedded file ---- */

static bool writable_dir(const char *dir)
{
	struct stat st;
	return dir && dir[0] && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	       access(dir, W_OK | X_OK) == 0;
}

/* Creates a new, empty otel-preload-<pid>[-N].jsonl in dir. Returns its path or NULL. */
static char *create_file_in(const char *dir)
{
	char *abs = absolute(dir);
	for (int i = 0; i < 100; i++) {
		char *path =
		    i == 0 ? xasprintf("%s/otel-preload-%ld.jsonl", abs, (long)getpid())
		           : xasprintf("%s/otel-preload-%ld-%d.jsonl", abs, (long)getpid(), i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			free(abs);
			return path;
		}
		free(path);
		if (errno != EEXIST)
			break;
	}
	free(abs);
	return NULL;
}

static char *create_default_file(void)
{
	const char *dirs[] = {getenv("XDG_RUNTIME_DIR"), ".", getenv("TMPDIR"), "/tmp"};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(dirs); i++) {
		if (!writable_dir(dirs[i]))
			continue;
		char *path = create_file_in(dirs[i]);
		if (path)
			return path;
	}
	err("cannot create a file for the spans in $XDG_RUNTIME_DIR, the current directory or "
	    "/tmp; choose one with --file PATH or an exporter with --exporter");
	exit(1);
}

/* The waterfall, on stderr: the viewer with stderr as its output (colour when stderr is a
 * terminal). */
static void show_waterfall(const char *path)
{
	char *av[] = {(char *)"view", (char *)path, NULL};
	fflush(stdout);
	otelp_view_main(2, av, stderr, stderr);
	fflush(stderr);
}

/* ---- running the program ---- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	pid_t pid = child_pid;
	/* The terminal's signals went to the whole process group: the program has it already. */
	if (pid > 0 && si->si_code != SI_KERNEL) {
		int saved = errno;
		kill(pid, sig);
		errno = saved;
	}
}

static int exec_failure_status(const char *program, int e)
{
	if (e == ENOENT && !strchr(program, '/'))
		err("%s: command not found", program);
	else
		err("%s: %s", program, strerror(e));
	return e == ENOENT ? 127 : 126;
}

static int status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* Forks and execs the program; returns its status, or -(126/127) when it could not be run. */
static int run_child(char **argv)
{
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(forwarded); i++)
		sigaddset(&block, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &block, &old) != 0) {
		err("sigprocmask: %s", strerror(errno));
		return -126;
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		err("pipe: %s", strerror(errno));
		return -126;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		err("fork: %s", strerror(errno));
		return -126;
	}
	if (pid == 0) {
		close(pfd[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t w;
		do
			w = write(pfd[1], &e, sizeof e);
		while (w < 0 && errno == EINTR);
		_exit(127);
	}
	close(pfd[1]);
	child_pid = pid;
	struct sigaction saved[OTELP_ARRAY_SIZE(forwarded)];
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(forwarded); i++) {
		struct sigaction sa = {.sa_sigaction = forward,
		                       .sa_flags = SA_SIGINFO | SA_RESTART};
		sigemptyset(&sa.sa_mask);
		if (sigaction(forwarded[i], &sa, &saved[i]) != 0) {
			err("cannot forward signal %d: %s", forwarded[i], strerror(errno));
			saved[i].sa_handler = SIG_DFL;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* The pipe closes on a successful exec; an errno arrives if it failed. */
	int e = 0;
	ssize_t n;
	do
		n = read(pfd[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	bool exec_failed = n == (ssize_t)sizeof e;

	/* Wait without reaping, so that a forwarded signal never reaches a recycled pid. */
	siginfo_t si;
	int r;
	do
		r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		err("waitid: %s", strerror(errno));
	sigprocmask(SIG_BLOCK, &block, NULL);
	child_pid = 0;
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &saved[i], NULL);
	int wstatus = 0;
	pid_t w;
	do
		w = waitpid(pid, &wstatus, 0);
	while (w < 0 && errno == EINTR);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (w < 0) {
		err("waitpid: %s", strerror(errno));
		return 1;
	}
	if (exec_failed)
		return -exec_failure_status(argv[0], e);
	return status_of(wstatus);
}

static int version(void)
{
	printf("otel-preload %s\n", OTELP_SDK_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "doctor") == 0)
		return otelp_tool_doctor(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "view") == 0)
		return otelp_tool_view(argc - 1, argv + 1);

	const char *val[OPT_COUNT] = {0};
	bool flag[OPT_COUNT] = {0};
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (a[1] != '-' || a[2] == '\0')
			return usage_error("unknown option '%s'", a);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		int id = -1;
		for (int k = 0; k < OPT_COUNT; k++)
			if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0)
				id = k;
		if (id < 0)
			return usage_error("unknown option '--%.*s'", (int)nlen, name);
		if (!opts[id].has_arg) {
			if (eq)
				return usage_error("option '--%s' takes no value", opts[id].name);
			flag[id] = true;
			continue;
		}
		if (eq) {
			val[id] = eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error("option '--%s' needs a value", opts[id].name);
			val[id] = argv[++i];
		}
	}
	if (flag[OPT_HELP]) {
		usage(stdout);
		return 0;
	}
	if (flag[OPT_VERSION])
		return version();
	if (i >= argc)
		return usage_error("no program to run");
	char **cmd = argv + i;

	if (val[OPT_PROTOCOL] && !value_is(val[OPT_PROTOCOL], "http/protobuf") &&
	    !value_is(val[OPT_PROTOCOL], "http/json"))
		return usage_error("--protocol: '%s' is not http/protobuf or http/json",
		                   val[OPT_PROTOCOL]);
	const char *exporter = val[OPT_EXPORTER];
	if (exporter && !value_is(exporter, "otlp") && !value_is(exporter, "console") &&
	    !value_is(exporter, "file") && !value_is(exporter, "none"))
		return usage_error("--exporter: '%s' is not otlp, console, file or none", exporter);
	if (val[OPT_FILE]) {
		if (exporter && !value_is(exporter, "file"))
			return usage_error("--file writes spans to a file: it cannot be used with "
			                   "--exporter %s",
			                   exporter);
		if (!val[OPT_FILE][0])
			return usage_error("--file needs a path");
		exporter = "file";
	}
	if (!exporter && val[OPT_ENDPOINT])
		exporter = "otlp";

	char *why;
	char *lib = otelp_tool_find_library(&why);
	if (!lib) {
		err("%s", why);
		free(why);
		return 127;
	}
	if (strpbrk(lib, " :")) {
		err("%s: a path with a space or a colon cannot be put in LD_PRELOAD; copy the "
		    "library to another directory and set OTEL_PRELOAD_LIBRARY to it",
		    lib);
		free(lib);
		return 127;
	}

	/* The embedded default: spans to a file, shown after the run. */
	bool file_mode;
	if (exporter)
		file_mode = value_is(exporter, "file");
	else if (env_set("OTEL_TRACES_EXPORTER"))
		file_mode = value_is(getenv("OTEL_TRACES_EXPORTER"), "file");
	else
		file_mode = !env_set("OTEL_EXPORTER_OTLP_ENDPOINT") &&
		            !env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	char *file = NULL;
	bool created = false;
	if (file_mode) {
		if (val[OPT_FILE]) {
			file = absolute(val[OPT_FILE]);
		} else if (env_set("OTEL_PRELOAD_FILE")) {
			file = absolute(getenv("OTEL_PRELOAD_FILE"));
		} else {
			file = create_default_file();
			created = true;
		}
		xsetenv("OTEL_TRACES_EXPORTER", "file");
		xsetenv("OTEL_PRELOAD_FILE", file);
	} else if (exporter) {
		xsetenv("OTEL_TRACES_EXPORTER", exporter);
	}

	for (int k = 0; k < OPT_COUNT; k++)
		if (val[k] && opts[k].var && k != OPT_EXPORTER && k != OPT_FILE)
			xsetenv(opts[k].var, val[k]);
	if (val[OPT_ENDPOINT])
		xunsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	if (val[OPT_PROTOCOL])
		xunsetenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");

	char *preload = build_ld_preload(lib, getenv("LD_PRELOAD"));
	xsetenv("LD_PRELOAD", preload);
	free(preload);
	free(lib);

	if (!file_mode || (flag[OPT_NO_VIEW] && !created)) {
		fflush(NULL);
		execvp(cmd[0], cmd);
		return exec_failure_status(cmd[0], errno);
	}

	struct stat st;
	off_t before = stat(file, &st) == 0 ? st.st_size : 0;
	int status = run_child(cmd);
	if (status < 0) {
		if (created)
			unlink(file);
		free(file);
		return -status;
	}
	if (stat(file, &st) != 0 || st.st_size == 0 || st.st_size == before) {
		err("no spans were recorded: the program made no traced calls, or the preload "
		    "cannot work for it (`otel-preload doctor %s` tells)",
		    cmd[0]);
		if (created)
			unlink(file);
	} else {
		if (!flag[OPT_NO_VIEW])
			show_waterfall(file);
		err("spans saved in %s (show them again with: otel-preload view %s)", file, file);
	}
	free(file);
	return status;
}
