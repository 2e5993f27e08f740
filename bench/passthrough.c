/*
 * Cost of write() + read() on file descriptors the HTTP hooks must leave alone.
 *
 *   tcp   a loopback TCP connection (connected and accepted in this process) whose first bytes
 *         are not HTTP: a TLS record header (0x16 0x03 0x01, --first tls, the default) or a RESP
 *         command ("*1\r\n$4\r\nPING\r\n", --first resp). The hooks see the connect() and the
 *         accept(), then have to recognise the traffic as foreign and step aside.
 *   pipe  a pipe, which the hooks never track.
 *
 * One measured call is a write() of 64 bytes on one end followed by a read() of them on the
 * other. For TCP the calls alternate direction (client to server, then server to client), so
 * reads and writes are made on both the connected and the accepted socket. The first calls are a
 * warm-up (they carry the protocol's first bytes); then calls are timed in batches of 1000.
 *
 * Batches alternate between two ways of calling: through the write and read symbols (which the
 * preload interposes, when it is loaded) and straight into libc's own write and read (looked up
 * in libc.so.6 with dlsym, which bypasses any interposer). Outputs, in ns per call:
 *   ns_per_call         median of the batch means through the symbols (what a program pays)
 *   libc_ns_per_call    the same, straight into libc
 *   hook_ns_per_call    median of the differences between neighbouring batches of the two
 *                       kinds: the hook's own cost, measured in one process, so much less noisy
 *                       than comparing two runs (without the preload it measures the noise: ~0)
 *
 * --symbols-only drops the libc batches (and hook_ns_per_call): for instruction counts, where a
 * run with N calls and one with 3N calls give the exact instructions per call by difference.
 *
 * Usage: passthrough [--calls N] [--fd tcp|pipe|all] [--first tls|resp] [--symbols-only]
 * Output: one line of key=value pairs per kind of descriptor.
 */
#include <dlfcn.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otelpreload.h"

#include "bench-util.h"

#define MSG    64
#define BATCH  1000
#define WARMUP 2000

static int symbols_only;

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*read_fn)(int, void *, size_t);

struct calls {
	write_fn wr;
	read_fn rd;
};

/* One call: MSG bytes written to wfd, then read back from rfd. */
static inline void one_call(const struct calls *c, int wfd, int rfd, char *buf)
{
	if (c->wr(wfd, buf, MSG) != MSG)
		die("write");
	size_t got = 0;

	while (got < MSG) {
		ssize_t n = c->rd(rfd, buf + got, MSG - got);

		if (n <= 0)
			die("read");
		got += (size_t)n;
	}
}

/* BATCH calls, alternating direction when both ends are used; returns ns per call. */
static double batch(const struct calls *c, const int fds[2], int both, char *buf)
{
	int w2 = both ? fds[1] : fds[0], r2 = both ? fds[0] : fds[1];
	uint64_t t0 = mono_ns();

	for (int i = 0; i < BATCH; i += 2) {
		one_call(c, fds[0], fds[1], buf);
		one_call(c, w2, r2, buf);
	}
	return (double)(mono_ns() - t0) / BATCH;
}

static double median(double *v, long n)
{
	if (n <= 0)
		return 0.0;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* fds[0] and fds[1] are the two ends; both directions are used when both = 1. */
static void measure(const char *kind, const char *first, const int fds[2], int both, long calls,
                    const struct calls *libc, const char *hello, size_t hello_len)
{
	const struct calls sym = {write, read};
	char buf[MSG];

	/* The first bytes of each direction carry the protocol's opening, through the hooks. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, hello, hello_len < MSG ? hello_len : MSG);
	one_call(&sym, fds[0], fds[1], buf);
	memcpy(buf, hello, hello_len < MSG ? hello_len : MSG);
	one_call(&sym, both ? fds[1] : fds[0], both ? fds[0] : fds[1], buf);
	for (int i = 0; i < WARMUP / BATCH; i++) {
		batch(&sym, fds, both, buf);
		if (!symbols_only)
			batch(libc, fds, both, buf);
	}

	long pairs = calls / BATCH;
	double *hooked = malloc(sizeof(double) * (size_t)pairs * 3);

	if (!hooked || pairs < 1)
		die("measure");
	double *direct = hooked + pairs, *diff = direct + pairs;

	for (long b = 0; b < pairs; b++) {
		/* Alternate which kind goes first, so neither always follows the other. */
		if (symbols_only) {
			hooked[b] = batch(&sym, fds, both, buf);
			direct[b] = 0.0;
		} else if (b % 2) {
			direct[b] = batch(libc, fds, both, buf);
			hooked[b] = batch(&sym, fds, both, buf);
		} else {
			hooked[b] = batch(&sym, fds, both, buf);
			direct[b] = batch(libc, fds, both, buf);
		}
		diff[b] = hooked[b] - direct[b];
	}

	printf("passthrough fd=%s first=%s calls=%ld ns_per_call=%.2f", kind, first, pairs * BATCH,
	       median(hooked, pairs));
	if (!symbols_only)
		printf(" libc_ns_per_call=%.2f hook_ns_per_call=%.2f", median(direct, pairs),
		       median(diff, pairs));
	printf(" preload=%d\n", otelp_available());
	fflush(stdout);
	free(hooked);
}

static void tcp_pair(int fds[2])
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);

	if (lfd < 0)
		die("socket");
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
		die("listen");
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0)
		die("socket");
	/* Loopback: the handshake completes into the backlog, so a blocking connect returns. */
	if (connect(fds[0], (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("connect");
	fds[1] = accept(lfd, NULL, NULL);
	if (fds[1] < 0)
		die("accept");
	close(lfd);
}

static void usage(const char *prog)
{
	fprintf(stderr,
	        "usage: %s [--calls N] [--fd tcp|pipe|all] [--first tls|resp] [--symbols-only]\n",
	        prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const char tls[] = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03";
	static const char resp[] = "*1\r\n$4\r\nPING\r\n";
	long calls = 2000000;
	const char *which = "all", *first = "tls";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
			char *end;

			calls = strtol(argv[++i], &end, 10);
			if (*end != '\0' || calls < BATCH)
				usage(argv[0]);
		} else if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
			which = argv[++i];
		} else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc) {
			first = argv[++i];
		} else if (strcmp(argv[i], "--symbols-only") == 0) {
			symbols_only = 1;
		} else {
			usage(argv[0]);
		}
	}
	int do_tcp = !strcmp(which, "tcp") || !strcmp(which, "all");
	int do_pipe = !strcmp(which, "pipe") || !strcmp(which, "all");
	int is_tls = !strcmp(first, "tls");

	if ((!do_tcp && !do_pipe) || (!is_tls && strcmp(first, "resp") != 0))
		usage(argv[0]);

	void *libc_so = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	struct calls libc;

	if (!libc_so)
		die("dlopen libc.so.6");
	libc.wr = (write_fn)dlsym(libc_so, "write");
	libc.rd = (read_fn)dlsym(libc_so, "read");
	if (!libc.wr || !libc.rd)
		die("dlsym");

	if (do_tcp) {
		int fds[2];

		tcp_pair(fds);
		if (is_tls)
			measure("tcp", first, fds, 1, calls, &libc, tls, sizeof(tls) - 1);
		else
			measure("tcp", first, fds, 1, calls, &libc, resp, sizeof(resp) - 1);
		close(fds[0]);
		close(fds[1]);
	}
	if (do_pipe) {
		int p[2], fds[2];

		if (pipe(p) != 0)
			die("pipe");
		fds[0] = p[1];
		fds[1] = p[0];
		measure("pipe", "-", fds, 0, calls, &libc, "", 0);
		close(p[0]);
		close(p[1]);
	}
	otelp_flush(5000);
	return 0;
}
