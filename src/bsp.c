/*
 * Batch span processor and exporter thread (see bsp.h for the design).
 *
 * The ring is Dmitry Vyukov's bounded MPMC queue used with many producers and one consumer
 * (the exporter thread): each cell carries a sequence number telling whether it is free for
 * the producer at position p (seq == p) or holds a span for the consumer (seq == p + 1). The
 * ring is sized to the next power of two; the configured queue size is enforced on top.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bsp.h"
#include "config.h"
#include "fdguard.h"
#include "log.h"
#include "otlp.h"
#include "resource.h"
#include "shim.h"
#include "transport.h"

struct cell {
	atomic_size_t seq;
	struct otelp_span *span;
};

static struct cell *ring;
static size_t ring_mask;
static size_t max_queue;
static size_t batch_size;

static _Alignas(64) atomic_size_t enq_pos;
static _Alignas(64) atomic_size_t deq_pos;

/* Exporter wake-up: producers bump wake_seq and futex-wake when the exporter waits. */
static _Alignas(64) atomic_uint wake_seq;
static atomic_int exporter_waiting;

/* Flush protocol: requesters bump flush_req; the exporter publishes flush_done. */
static atomic_uint flush_req;
static atomic_uint flush_done;

/* 0 not started, 1 starting/running, 2 stopped (after shutdown). */
static atomic_int state;
static atomic_int exporter_dead; /* thread failed to start: drop everything */
static pid_t exporter_tid;
static _Alignas(64) atomic_uint_fast64_t shutdown_deadline; /* mono ns, 0 = none */

/* The batch being exported, visible to the fork child handler. */
static struct otelp_span **inflight;
static atomic_size_t inflight_n;

static struct otelp_transport *transport;
static struct otelp_resource *resource;

static long futex(atomic_uint *addr, int op, unsigned val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

int otelp__bsp_init(void)
{
	if (ring)
		return 0;
	max_queue = otelp__cfg.bsp_max_queue_size ? otelp__cfg.bsp_max_queue_size : 2048;
	batch_size =
	    otelp__cfg.bsp_max_export_batch_size ? otelp__cfg.bsp_max_export_batch_size : 512;
	if (batch_size > max_queue)
		batch_size = max_queue;
	size_t cap = 1;
	while (cap < max_queue)
		cap <<= 1;
	void *p = mmap(NULL, cap * sizeof(struct cell), PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	struct cell *r = p;
	for (size_t i = 0; i < cap; i++)
		atomic_init(&r[i].seq, i);
	ring_mask = cap - 1;
	ring = r;
	return 0;
}

uint32_t otelp__bsp_queued(void)
{
	size_t e = atomic_load_explicit(&enq_pos, memory_order_relaxed);
	size_t d = atomic_load_explicit(&deq_pos, memory_order_relaxed);
	return e > d ? (uint32_t)(e - d) : 0;
}

bool otelp__bsp_is_exporter_thread(void)
{
	return exporter_tid && exporter_tid == (pid_t)syscall(SYS_gettid);
}

static void wake_exporter(void)
{
	if (atomic_exchange(&exporter_waiting, 0)) {
		atomic_fetch_add(&wake_seq, 1);
		futex(&wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

static void start_exporter(void);

void otelp__bsp_enqueue(struct otelp_span *s)
{
	if (otelp_unlikely(!ring || atomic_load_explicit(&exporter_dead, memory_order_relaxed) ||
	                   atomic_load_explicit(&state, memory_order_relaxed) == 2)) {
		OTELP_COUNT(spans_dropped_queue_full, 1);
		otelp__pool_put(s);
		return;
	}
	size_t pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);
	struct cell *c;
	for (;;) {
		if (pos - atomic_load_explicit(&deq_pos, memory_order_relaxed) >= max_queue)
			goto full;
		c = &ring[pos & ring_mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&enq_pos, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (dif < 0) {
			goto full;
		} else {
			pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);
		}
	}
	c->span = s;
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);

	if (otelp_unlikely(atomic_load_explicit(&state, memory_order_relaxed) == 0))
		start_exporter();
	if (pos + 1 - atomic_load_explicit(&deq_pos, memory_order_relaxed) >= batch_size)
		wake_exporter();
	return;
full:
	OTELP_COUNT(spans_dropped_queue_full, 1);
	otelp__pool_put(s);
	/* Nudge a sleeping exporter: the queue is full. */
	wake_exporter();
}

/*
 * Consumer side: up to max published spans, in order, into out; returns how many. Each cell is
 * handed back to the producers as soon as it is read; deq_pos, which only bounds the queue's
 * length, moves once for the lot.
 */
static size_t dequeue_batch(struct otelp_span **out, size_t max)
{
	size_t pos = atomic_load_explicit(&deq_pos, memory_order_relaxed), n = 0;

	while (n < max) {
		struct cell *c = &ring[(pos + n) & ring_mask];
		if (atomic_load_explicit(&c->seq, memory_order_acquire) != pos + n + 1)
			break;
		out[n] = c->span;
		atomic_store_explicit(&c->seq, pos + n + ring_mask + 1, memory_order_release);
		n++;
	}
	if (n)
		atomic_store_explicit(&deq_pos, pos + n, memory_order_release);
	return n;
}

/* Consumer side: the next published span, or NULL. */
static struct otelp_span *dequeue(void)
{
	struct otelp_span *s;

	return dequeue_batch(&s, 1) ? s : NULL;
}

static uint64_t export_deadline(void)
{
	uint64_t now = otelp__mono_ns();
	uint32_t t = otelp__cfg.bsp_export_timeout_ms;
	uint64_t d = t == UINT32_MAX ? UINT64_MAX : now + (uint64_t)t * 1000000u;
	uint64_t sd = atomic_load(&shutdown_deadline);
	if (sd && sd < d)
		d = sd;
	return d;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = syscall(SYS_write, fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The file exporter: one OTLP/JSON ExportTraceServiceRequest per line, appended to
 * OTEL_PRELOAD_FILE with one write(2) on an O_APPEND descriptor, so lines of several
 * processes appending to one file never interleave. The fd is ours (fdguard); a fork child
 * closes it with the other exporter fds and opens the file again on its first export.
 */
static int file_fd = -1;

static bool file_write(const struct otelp_buf *buf)
{
	if (file_fd >= 0 && otelp__fd_was_stolen(file_fd))
		file_fd = -1;
	if (file_fd < 0) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, otelp__cfg.file_path,
		                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			OTELP_WARN("file exporter: cannot open %s: %s", otelp__cfg.file_path,
			           strerror(errno));
			return false;
		}
		file_fd = otelp__fd_adopt(fd);
	}
	const char *p = (const char *)buf->data + buf->off;
	size_t n = buf->len;
	while (n > 0) {
		ssize_t w = syscall(SYS_write, file_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			OTELP_WARN("file exporter: write to %s failed: %s", otelp__cfg.file_path,
			           w < 0 ? strerror(errno) : "no progress");
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void ensure_resource(void)
{
	if (!resource) {
		resource = calloc(1, sizeof(*resource));
		if (!resource)
			return;
	}
	if (resource->pid != otelp__pid || resource->n == 0)
		otelp__resource_build(resource, &otelp__cfg);
}

static void (*_Atomic export_hook)(struct otelp_span **, size_t);

void otelp__bsp_set_export_hook(void (*fn)(struct otelp_span **spans, size_t n))
{
	atomic_store(&export_hook, fn);
}

static void export_batch(struct otelp_span **spans, size_t n, struct otelp_buf *buf)
{
	void (*hook)(struct otelp_span **, size_t) = atomic_load(&export_hook);
	if (hook) {
		hook(spans, n);
		return;
	}
	ensure_resource();
	if (!resource) {
		OTELP_COUNT(spans_dropped_export, n);
		return;
	}
	if (otelp__cfg.exporter == OTELP_EXPORTER_CONSOLE) {
		char line[4096];
		for (size_t i = 0; i < n; i++) {
			size_t len = otelp__console_format(spans[i], resource, line, sizeof(line));
			write_all(2, line, len);
		}
		OTELP_COUNT(spans_exported, n);
		return;
	}
	if (otelp__cfg.exporter == OTELP_EXPORTER_FILE) {
		if (otelp__otlp_encode_json(resource, spans, n, buf) == 0 &&
		    otelp__buf_append(buf, "\n", 1) == 0 && file_write(buf))
			OTELP_COUNT(spans_exported, n);
		else
			OTELP_COUNT(spans_dropped_export, n);
		return;
	}
	if (!transport) {
		transport = otelp__transport_new(&otelp__cfg);
		if (!transport) {
			OTELP_COUNT(spans_dropped_export, n);
			return;
		}
	}
	int rc = otelp__cfg.otlp_protocol == OTELP_PROTO_HTTP_JSON
	             ? otelp__otlp_encode_json(resource, spans, n, buf)
	             : otelp__otlp_encode_protobuf(resource, spans, n, buf);
	if (rc != 0) {
		OTELP_WARN("encoding %zu spans failed (%d)", n, rc);
		OTELP_COUNT(spans_dropped_export, n);
		return;
	}
	struct otelp_send_result res;
	memset(&res, 0, sizeof(res));
	enum otelp_send_status st = otelp__transport_send(transport, buf->data + buf->off, buf->len,
	                                                  export_deadline(), &res);
	if (st == OTELP_SEND_OK) {
		OTELP_COUNT(spans_exported, n);
		OTELP_DBG("exported %zu spans (HTTP %ld, %u attempt(s))", n, res.http_status,
		          res.attempts);
	} else {
		OTELP_COUNT(spans_dropped_export, n);
		OTELP_WARN("dropped %zu spans: export failed (HTTP %ld, %u attempt(s)): %s", n,
		           res.http_status, res.attempts, res.message);
	}
}

/* Take up to batch_size spans, export, give them back. Returns how many were taken. */
static size_t drain_once(struct otelp_buf *buf)
{
	size_t n = dequeue_batch(inflight, batch_size);
	if (n == 0)
		return 0;
	atomic_store(&inflight_n, n);
	export_batch(inflight, n, buf);
	otelp__pool_put_many(inflight, n);
	atomic_store(&inflight_n, 0);
	return n;
}

static void *exporter_main(void *arg)
{
	(void)arg;
	otelp__guard_suppress_thread();
	exporter_tid = (pid_t)syscall(SYS_gettid);
	struct otelp_buf buf = {0};
	if (otelp__cfg.exporter == OTELP_EXPORTER_OTLP && !atomic_load(&export_hook)) {
		transport = otelp__transport_new(&otelp__cfg);
		/*
		 * Registered again now that curl (and OpenSSL) registered theirs: atexit handlers
		 * run in reverse order, so this one flushes while they are still usable. The
		 * registration made by start_exporter() covers an exit before this point; the
		 * second call of the handler finds nothing left to do.
		 */
		atexit(otelp__shim_atexit);
	}
	uint64_t last_export = otelp__mono_ns();

	for (;;) {
		unsigned req = atomic_load(&flush_req);
		uint64_t delay_ns = (uint64_t)otelp__cfg.bsp_schedule_delay_ms * 1000000u;
		uint64_t now = otelp__mono_ns();
		bool due = now - last_export >= delay_ns;
		bool flushing = req != atomic_load(&flush_done);
		if (atomic_load(&state) == 2 && !flushing) {
			/* Stopped: park for good (the process is exiting). */
			unsigned seq = atomic_load(&wake_seq);
			futex(&wake_seq, FUTEX_WAIT_PRIVATE, seq, NULL);
			continue;
		}
		if (flushing || due || otelp__bsp_queued() >= batch_size) {
			/* Export full batches; on a flush or when due, everything. */
			for (;;) {
				size_t q = otelp__bsp_queued();
				if (q == 0 || (q < batch_size && !flushing && !due))
					break;
				drain_once(&buf);
			}
			last_export = otelp__mono_ns();
			if (flushing) {
				atomic_store(&flush_done, req);
				futex(&flush_done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
			}
			continue;
		}
		/* Sleep until the schedule delay passes or a producer/flusher wakes us. */
		unsigned seq = atomic_load(&wake_seq);
		atomic_store(&exporter_waiting, 1);
		if (otelp__bsp_queued() >= batch_size || atomic_load(&flush_req) != req) {
			atomic_store(&exporter_waiting, 0);
			continue;
		}
		uint64_t left = delay_ns - (now - last_export);
		struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u),
		                      .tv_nsec = (long)(left % 1000000000u)};
		futex(&wake_seq, FUTEX_WAIT_PRIVATE, seq, &ts);
		atomic_store(&exporter_waiting, 0);
	}
	return NULL;
}

static void start_exporter(void)
{
	int expect = 0;
	if (!atomic_compare_exchange_strong(&state, &expect, 1))
		return;
	int saved = errno;
	if (!inflight)
		inflight = calloc(batch_size, sizeof(*inflight));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Every signal blocked: the host's signals are never delivered to our thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	static atomic_int atexit_registered;
	if (!atomic_exchange(&atexit_registered, 1))
		atexit(otelp__shim_atexit); /* flush at exit, whatever the exporter reached */
	int rc = inflight ? otelp__libc_pthread_create(&th, &attr, exporter_main, NULL) : ENOMEM;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		atomic_store(&exporter_dead, 1);
		OTELP_ERR("cannot start the exporter thread (%d): spans will be dropped", rc);
	}
	errno = saved;
}

bool otelp__bsp_flush(uint32_t timeout_ms, bool from_signal)
{
	if (!ring || atomic_load(&state) == 0 || atomic_load(&exporter_dead))
		return otelp__bsp_queued() == 0;
	if (otelp__bsp_is_exporter_thread())
		return false;
	(void)from_signal; /* only futex and atomics below: async-signal-safe either way */
	unsigned my = atomic_fetch_add(&flush_req, 1) + 1;
	atomic_store(&exporter_waiting, 0);
	atomic_fetch_add(&wake_seq, 1);
	futex(&wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL);
	uint64_t deadline = otelp__mono_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		unsigned done = atomic_load(&flush_done);
		if ((int)(done - my) >= 0)
			return true;
		uint64_t now = otelp__mono_ns();
		if (now >= deadline)
			return false;
		uint64_t left = deadline - now;
		struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u),
		                      .tv_nsec = (long)(left % 1000000000u)};
		futex(&flush_done, FUTEX_WAIT_PRIVATE, done, &ts);
	}
}

void otelp__bsp_shutdown(uint32_t timeout_ms)
{
	if (!ring || atomic_load(&state) != 1)
		return;
	atomic_store(&shutdown_deadline, otelp__mono_ns() + (uint64_t)timeout_ms * 1000000u);
	bool ok = otelp__bsp_flush(timeout_ms, false);
	atomic_store(&state, 2);
	if (!ok)
		OTELP_WARN("exit: spans still queued after %u ms: %u dropped", timeout_ms,
		           otelp__bsp_queued());
}

void otelp__bsp_after_fork_child(void)
{
	if (!ring)
		return;
	/* Spans the parent still had to export are the parent's. */
	size_t n = 0;
	for (size_t i = 0; inflight && i < batch_size; i++) {
		struct otelp_span *s = __atomic_load_n(&inflight[i], __ATOMIC_ACQUIRE);
		if (s) {
			inflight[i] = NULL;
			otelp__pool_put(s);
			n++;
		}
	}
	atomic_store(&inflight_n, 0);
	struct otelp_span *s;
	while ((s = dequeue()) != NULL) {
		otelp__pool_put(s);
		n++;
	}
	/* Cells reserved by threads that do not exist here are abandoned: reset the ring. */
	for (size_t i = 0; i <= ring_mask; i++)
		atomic_store(&ring[i].seq, i);
	atomic_store(&enq_pos, 0);
	atomic_store(&deq_pos, 0);
	atomic_store(&flush_req, 0);
	atomic_store(&flush_done, 0);
	atomic_store(&exporter_waiting, 0);
	atomic_store(&shutdown_deadline, 0);
	exporter_tid = 0;
	if (transport) {
		otelp__transport_abandon(transport);
		transport = NULL;
	}
	otelp__fd_close_all(otelp__log_fd());
	file_fd = -1;
	OTELP_COUNT(spans_dropped_fork, n);
	atomic_store(&exporter_dead, 0);
	atomic_store(&state, 0);
}
