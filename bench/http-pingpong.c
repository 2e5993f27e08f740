/*
 * HTTP/1.1 ping-pong over loopback TCP: what the preload adds to one request and its response.
 *
 * The process listens on 127.0.0.1 (a port the kernel picks), forks a server child and then acts
 * as the client. The client sends N small GET requests; the server answers each with a small
 * 200 response that carries a Content-Length. Both sides use plain blocking read() and write(),
 * which is what the HTTP hooks watch. By default every request goes over one keep-alive
 * connection; --new-connection opens a connection per request (and sends "Connection: close").
 *
 * Run under LD_PRELOAD, both ends are traced: the server is a fork of the preloaded client, so it
 * inherits the library (the shim restarts its exporter thread in the child). Each side reports
 * whether it sees the preload (preload_client, preload_server).
 *
 * CPU time is user + system from getrusage(): for the client, RUSAGE_SELF over the request loop
 * (all threads, so the exporter thread too); for the server, its whole life (RUSAGE_CHILDREN
 * once it has been reaped), with the context switches of both. Each side asks the preload to
 * export its finished spans before it stops counting, so the export cost is included. Wall time
 * is the request loop only.
 *
 * Usage: http-pingpong [--requests N] [--new-connection]
 * Output: one line of key=value pairs, for scripts (scripts/bench-http.sh reads it).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otelpreload.h"

#include "bench-util.h"

#define BUF_SIZE 4096

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 13\r\n"
                               "\r\n"
                               "hello, world\n";

/* What the server child sends back to the client through a pipe before it exits. */
struct server_report {
	long served;
	int preload;
	int error;
};

struct usage {
	uint64_t cpu_ns; /* user + system */
	long ctxsw;      /* voluntary + involuntary context switches */
};

static struct usage usage(int who)
{
	struct rusage ru;
	struct usage u;

	if (getrusage(who, &ru) != 0)
		die("getrusage");
	u.cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
	u.ctxsw = ru.ru_nvcsw + ru.ru_nivcsw;
	return u;
}

static struct usage usage_since(int who, struct usage before)
{
	struct usage now = usage(who);

	now.cpu_ns -= before.cpu_ns;
	now.ctxsw -= before.ctxsw;
	return now;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Length of the header block ending with an empty line, or 0 while it is incomplete. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Case-insensitive search for a header line "name: value" inside a header block. */
static int has_header(const char *hdr, size_t len, const char *line)
{
	size_t n = strlen(line);

	for (size_t i = 0; i + n <= len; i++)
		if ((i == 0 || hdr[i - 1] == '\n') && strncasecmp(hdr + i, line, n) == 0)
			return 1;
	return 0;
}

static long content_length(const char *hdr, size_t len)
{
	static const char name[] = "content-length:";
	size_t n = sizeof(name) - 1;

	for (size_t i = 0; i + n <= len; i++)
		if ((i == 0 || hdr[i - 1] == '\n') && strncasecmp(hdr + i, name, n) == 0)
			return strtol(hdr + i + n, NULL, 10);
	return -1;
}

/* Serve one connection until the peer closes it or asks to; returns the requests answered. */
static long serve_connection(int fd)
{
	char buf[BUF_SIZE];
	size_t have = 0;
	long served = 0;

	for (;;) {
		size_t end = header_end(buf, have);

		if (end == 0) {
			if (have == sizeof(buf))
				break; /* a request this large is not ours */
			ssize_t n = read(fd, buf + have, sizeof(buf) - have);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			have += (size_t)n;
			continue;
		}
		/* GET requests only: no body to skip. */
		int close_after = has_header(buf, end, "connection: close");

		if (write_all(fd, response, sizeof(response) - 1) != 0)
			break;
		served++;
		memmove(buf, buf + end, have - end);
		have -= end;
		if (close_after)
			break;
	}
	close(fd);
	return served;
}

static void run_server(int lfd, long requests, int report_fd)
{
	struct server_report rep = {0, otelp_available(), 0};

	while (rep.served < requests) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("server: accept");
			rep.error = 1;
			break;
		}
		set_nodelay(fd);
		rep.served += serve_connection(fd);
	}
	close(lfd);
	otelp_flush(10000);
	if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		perror("server: report");
	close(report_fd);
	exit(rep.error ? 2 : 0); /* exit(), not _exit(): the preload flushes at exit as usual */
}

static int client_connect(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("client: socket");
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0)
		die("client: connect");
	set_nodelay(fd);
	return fd;
}

/* Read one response (headers and a Content-Length body) from fd. 0 on success. */
static int read_response(int fd)
{
	char buf[BUF_SIZE];
	size_t have = 0, end = 0;
	long body = -1;

	for (;;) {
		if (end == 0) {
			end = header_end(buf, have);
			if (end != 0) {
				if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
					return -1;
				body = content_length(buf, end);
				if (body < 0)
					return -1;
			}
		}
		if (end != 0 && have >= end + (size_t)body)
			return have == end + (size_t)body ? 0 : -1;
		if (have == sizeof(buf))
			return -1;
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
}

static void usage_exit(const char *prog)
{
	fprintf(stderr, "usage: %s [--requests N] [--new-connection]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	long requests = 20000;
	int new_conn = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
			char *end;

			requests = strtol(argv[++i], &end, 10);
			if (*end != '\0' || requests <= 0)
				usage_exit(argv[0]);
		} else if (strcmp(argv[i], "--new-connection") == 0) {
			new_conn = 1;
		} else {
			usage_exit(argv[0]);
		}
	}

	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	int one = 1;

	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 128) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
		die("listen");

	int report[2];

	if (pipe(report) != 0)
		die("pipe");
	struct usage children0 = usage(RUSAGE_CHILDREN);
	pid_t server_pid = fork();

	if (server_pid < 0)
		die("fork");
	if (server_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(report[0]);
		run_server(lfd, requests, report[1]);
	}
	close(lfd);
	close(report[1]);

	char req[256];
	int port = ntohs(addr.sin_port);
	int req_len = snprintf(req, sizeof(req),
	                       "GET /ping HTTP/1.1\r\n"
	                       "Host: 127.0.0.1:%d\r\n"
	                       "User-Agent: otelp-pingpong/1\r\n"
	                       "Accept: */*\r\n"
	                       "%s"
	                       "\r\n",
	                       port, new_conn ? "Connection: close\r\n" : "");
	int fd = -1;
	int failed = 0;
	struct usage self0 = usage(RUSAGE_SELF);
	uint64_t t0 = mono_ns();

	for (long i = 0; i < requests; i++) {
		if (fd < 0)
			fd = client_connect(&addr);
		if (write_all(fd, req, (size_t)req_len) != 0 || read_response(fd) != 0) {
			fprintf(stderr, "client: request %ld failed\n", i);
			failed = 1;
			break;
		}
		if (new_conn) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	uint64_t wall = mono_ns() - t0;

	otelp_flush(10000);
	struct usage client = usage_since(RUSAGE_SELF, self0);
	struct server_report rep = {0, 0, 1};
	int status;

	if (failed)
		kill(server_pid, SIGTERM);
	if (read(report[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		rep.error = 1;
	while (waitpid(server_pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	struct usage server = usage_since(RUSAGE_CHILDREN, children0);

	if (failed || rep.error || rep.served != requests || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pingpong: failed (server served %ld of %ld)\n", rep.served,
		        requests);
		return 1;
	}

	double n = (double)requests;

	printf("pingpong mode=%s requests=%ld wall_ns=%llu client_cpu_ns=%llu server_cpu_ns=%llu "
	       "wall_us_per_req=%.3f cpu_us_per_req=%.3f client_cpu_us_per_req=%.3f "
	       "server_cpu_us_per_req=%.3f ctxsw_per_req=%.2f preload_client=%d preload_server=%d "
	       "client_pid=%d server_pid=%d\n",
	       new_conn ? "new-connection" : "keep-alive", requests, (unsigned long long)wall,
	       (unsigned long long)client.cpu_ns, (unsigned long long)server.cpu_ns, wall / n / 1e3,
	       (double)(client.cpu_ns + server.cpu_ns) / n / 1e3, client.cpu_ns / n / 1e3,
	       server.cpu_ns / n / 1e3, (double)(client.ctxsw + server.ctxsw) / n,
	       otelp_available(), rep.preload, (int)getpid(), (int)server_pid);
	return 0;
}
