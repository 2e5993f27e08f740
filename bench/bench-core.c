/*
 * Core benchmarks (meson benchmark(); results in docs/benchmarks.md):
 *
 *   span   cost of one span start + 3 attributes + end + enqueue, as a hook pays it: median
 *          over batches of 1000 spans, in ns per span. The exporter thread runs and drains
 *          (its export step replaced by a no-op so the pool keeps recycling).
 *   export exporter throughput: spans/s encoded (protobuf) and sent over OTLP/HTTP from one
 *          thread to a minimal local HTTP sink on 127.0.0.1 (in-process, one thread). A fourth
 *          argument sets the batch size (default 512).
 *   encode the protobuf encoder alone, batches of 512 spans encoded again and again: "plain"
 *          spans (the export shape, keys copied into the span) and "http" spans (as the HTTP
 *          hooks make them: known keys, an interned set). Per span under callgrind:
 *          `--toggle-collect=otelp__otlp_encode_protobuf`, two iteration counts, difference.
 *   sql    otelp__sql_sanitize_shape() as the libpq hooks call it (a seed, a shape, a buffer of
 *          OTELP_DB_TEXT_MAX bytes) on a few typical statements: median ns per call. An index
 *          (third argument) runs one statement only, e.g. under
 *          `valgrind --tool=callgrind --toggle-collect=otelp__sql_sanitize_shape`.
 *
 * Usage: bench-core [span|export|encode|sql|all] [iterations] [sql statement index | batch size
 *        | plain|http]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attrset.h"
#include "bsp.h"
#include "config.h"
#include "db.h"
#include "otlp.h"
#include "resource.h"
#include "span.h"
#include "sql.h"
#include "transport.h"

#include "bench-util.h"

static void noop_export(struct otelp_span **spans, size_t n)
{
	(void)spans;
	(void)n;
}

static void bench_span(long iters, int nattrs)
{
	otelp__bsp_set_export_hook(noop_export);
	enum { BATCH = 1000 };
	long rounds = iters / BATCH;
	double *per = malloc(sizeof(double) * (size_t)rounds);
	struct otelp_ctx parent = {0};
	for (long r = 0; r < rounds; r++) {
		uint64_t t0 = mono_ns();
		for (int i = 0; i < BATCH; i++) {
			struct otelp_span *s =
			    otelp__span_start("GET", 3, OTELP_KIND_CLIENT, &parent, NULL, 0, 0);
			if (nattrs) {
				otelp__span_set_str(s, "http.request.method", "GET", 3);
				otelp__span_set_int(s, "http.response.status_code", 200);
				otelp__span_set_str(s, "server.address", "127.0.0.1", 9);
			}
			otelp__span_end(s, 0);
		}
		per[r] = (double)(mono_ns() - t0) / BATCH;
		/* Let the exporter drain: this measures the producer, not queue overflow. */
		otelp__bsp_flush(10000, false);
	}
	qsort(per, (size_t)rounds, sizeof(double), cmp_double);
	uint64_t dropped = atomic_load(&otelp__stats.spans_dropped_queue_full) +
	                   atomic_load(&otelp__stats.spans_dropped_no_slot);
	printf("span start+%d attrs+end+enqueue: median %.1f ns, p90 %.1f ns (%ld spans, %llu "
	       "dropped)\n",
	       nattrs, per[rounds / 2], per[rounds * 9 / 10], rounds * BATCH,
	       (unsigned long long)dropped);
	free(per);
}

/* A minimal HTTP/1.1 sink: reads requests (Content-Length bodies), answers 200, keep-alive. */
static void *sink(void *arg)
{
	int ls = *(int *)arg;
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			return NULL;
		static char buf[1 << 20];
		size_t have = 0;
		for (;;) {
			ssize_t n = read(c, buf + have, sizeof(buf) - have);
			if (n <= 0)
				break;
			have += (size_t)n;
			for (;;) {
				char *end = memmem(buf, have, "\r\n\r\n", 4);
				if (!end)
					break;
				size_t hlen = (size_t)(end - buf) + 4;
				char *cl = memmem(buf, hlen, "Content-Length:", 15);
				if (!cl)
					cl = memmem(buf, hlen, "content-length:", 15);
				size_t blen = cl ? strtoul(cl + 15, NULL, 10) : 0;
				if (have < hlen + blen) {
					if (hlen + blen > sizeof(buf))
						goto out;
					break;
				}
				static const char ok[] =
				    "HTTP/1.1 200 OK\r\nContent-Type: "
				    "application/x-protobuf\r\nContent-Length: "
				    "0\r\n\r\n";
				if (write(c, ok, sizeof(ok) - 1) < 0)
					goto out;
				memmove(buf, buf + hlen + blen, have - hlen - blen);
				have -= hlen + blen;
			}
		}
	out:
		close(c);
	}
}

static void bench_export(long total, int batch)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(ls, (struct sockaddr *)&a, sizeof(a));
	socklen_t al = sizeof(a);
	getsockname(ls, (struct sockaddr *)&a, &al);
	listen(ls, 4);
	pthread_t th;
	pthread_create(&th, NULL, sink, &ls);
	snprintf(otelp__cfg.otlp_endpoint, sizeof(otelp__cfg.otlp_endpoint),
	         "http://127.0.0.1:%d/v1/traces", ntohs(a.sin_port));

	struct otelp_resource *res = calloc(1, sizeof(*res));
	otelp__resource_build(res, &otelp__cfg);
	struct otelp_transport *t = otelp__transport_new(&otelp__cfg);
	int N = batch > 0 && batch <= 4096 ? batch : 512;
	struct otelp_span **spans = calloc((size_t)N, sizeof(*spans));
	struct otelp_ctx parent = {0};
	for (int i = 0; i < N; i++) {
		spans[i] = otelp__span_start("GET", 3, OTELP_KIND_CLIENT, &parent, NULL, 0, 0);
		otelp__span_set_str(spans[i], "http.request.method", "GET", 3);
		otelp__span_set_str(spans[i], "url.full", "http://127.0.0.1:8080/orders/42", 31);
		otelp__span_set_str(spans[i], "server.address", "127.0.0.1", 9);
		otelp__span_set_int(spans[i], "server.port", 8080);
		otelp__span_set_int(spans[i], "http.response.status_code", 200);
		spans[i]->end_ns = spans[i]->start_ns + 1000;
	}
	struct otelp_buf buf = {0};
	long batches = total / N;
	size_t bytes = 0;
	uint64_t t0 = mono_ns();
	for (long b = 0; b < batches; b++) {
		otelp__otlp_encode_protobuf(res, spans, N, &buf);
		bytes += buf.len;
		struct otelp_send_result r;
		if (otelp__transport_send(t, buf.data + buf.off, buf.len,
		                          mono_ns() + 10000000000ull, &r) != OTELP_SEND_OK) {
			printf("export failed: HTTP %ld %s\n", r.http_status, r.message);
			return;
		}
	}
	double s = (double)(mono_ns() - t0) / 1e9;
	printf("exporter: %.0f spans/s encoded and sent (%ld spans in %.2f s, %zu bytes/span "
	       "protobuf)\n",
	       (double)(batches * N) / s, batches * N, s, bytes / (size_t)(batches * N));
}

/* A CLIENT span as the HTTP hooks make it: known keys, the connection's interned set. */
static struct otelp_span *http_span(const struct otelp_ctx *parent)
{
	static const struct otelp_attrset *set;
	static uint8_t tries;
	const struct otelp_kv kv[] = {
	    otelp__kv_str("server.address", "127.0.0.1", 9),
	    otelp__kv_int("server.port", 43013),
	    otelp__kv_str("network.protocol.version", "1.1", 3),
	    otelp__kv_str("network.peer.address", "127.0.0.1", 9),
	    otelp__kv_int("network.peer.port", 43013),
	};
	struct otelp_span *s = otelp__span_start("GET", 3, OTELP_KIND_CLIENT, parent, NULL, 0, 0);

	otelp__span_add_str_k(s, OTELP_KEY(HTTP_REQUEST_METHOD), "GET", 3);
	otelp__span_add_str_k(s, OTELP_KEY(URL_FULL), "http://127.0.0.1:43013/ping", 27);
	otelp__span_add_conn_kvs(s, kv, OTELP_ARRAY_SIZE(kv), &set, &tries);
	otelp__span_add_str_k(s, OTELP_KEY(USER_AGENT_ORIGINAL), "otelp-pingpong/1", 16);
	otelp__span_add_int_k(s, OTELP_KEY(HTTP_RESPONSE_STATUS_CODE), 200);
	s->end_ns = s->start_ns + 1000;
	return s;
}

static void bench_encode(long total, const char *shape)
{
	enum { N = 512 };
	struct otelp_span *spans[N];
	struct otelp_ctx parent = {0};
	bool http = !strcmp(shape, "http");
	struct otelp_resource *res = calloc(1, sizeof(*res));

	otelp__resource_build(res, &otelp__cfg);
	for (int i = 0; i < N; i++) {
		if (http) {
			spans[i] = http_span(&parent);
			continue;
		}
		spans[i] = otelp__span_start("GET", 3, OTELP_KIND_CLIENT, &parent, NULL, 0, 0);
		otelp__span_set_str(spans[i], "http.request.method", "GET", 3);
		otelp__span_set_str(spans[i], "url.full", "http://127.0.0.1:8080/orders/42", 31);
		otelp__span_set_str(spans[i], "server.address", "127.0.0.1", 9);
		otelp__span_set_int(spans[i], "server.port", 8080);
		otelp__span_set_int(spans[i], "http.response.status_code", 200);
		spans[i]->end_ns = spans[i]->start_ns + 1000;
	}
	struct otelp_buf buf = {0};
	long batches = total / N > 0 ? total / N : 1;
	size_t bytes = 0;
	uint64_t t0 = mono_ns();
	for (long b = 0; b < batches; b++) {
		if (otelp__otlp_encode_protobuf(res, spans, N, &buf) != 0) {
			printf("encoding failed\n");
			return;
		}
		bytes += buf.len;
	}
	double s = (double)(mono_ns() - t0) / 1e9;
	printf("encode %s: %.1f ns/span (%ld spans, %zu bytes/span protobuf)\n", shape,
	       s * 1e9 / (double)(batches * N), batches * N, bytes / (size_t)(batches * N));
	otelp__buf_free(&buf);
}

static const char *const sql_statements[] = {
    /* pgbench -S */
    "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;",
    /* pgbench's TPC-B update, a unary sign */
    "UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 5678;",
    "INSERT INTO orders (id, customer_id, amount, currency, created_at, paid) VALUES (1042, 77, "
    "19.99, 'EUR', '2024-05-01 12:00:00', TRUE)",
    "UPDATE users SET email = 'alice@example.com', updated_at = now() WHERE id = 42",
    "SELECT \"users\".\"id\", \"users\".\"name\", \"users\".\"email\", \"orders\".\"id\" AS "
    "\"orders_id\", \"orders\".\"total\" FROM \"users\" INNER JOIN \"orders\" ON "
    "\"orders\".\"user_id\" = \"users\".\"id\" LEFT OUTER JOIN \"addresses\" ON "
    "\"addresses\".\"user_id\" = \"users\".\"id\" WHERE \"users\".\"active\" = true AND "
    "\"orders\".\"created_at\" > '2024-01-01' ORDER BY \"orders\".\"created_at\" DESC LIMIT 20 "
    "OFFSET 40",
    "/* app:checkout, controller:orders */ SELECT id, status -- current state\nFROM orders "
    "WHERE customer_id = 99 AND status IN ('new', 'paid') /* hint */ LIMIT 10",
};

static void bench_sql(long iters, long only)
{
	size_t count = sizeof(sql_statements) / sizeof(sql_statements[0]);
	char out[OTELP_DB_TEXT_MAX];
	enum { BATCH = 1000 };
	long rounds = iters / BATCH > 0 ? iters / BATCH : 1;
	double *per = malloc(sizeof(double) * (size_t)rounds);

	for (size_t k = 0; k < count; k++) {
		if (only >= 0 && (size_t)only != k)
			continue;
		const char *q = sql_statements[k];
		size_t n = strlen(q), len = 0;
		uint64_t shape = 0, acc = 0;

		for (long r = 0; r < rounds; r++) {
			uint64_t t0 = mono_ns();
			for (int i = 0; i < BATCH; i++) {
				len = otelp__sql_sanitize_shape(q, n, out, sizeof(out),
				                                0x5eed + (uint64_t)i, &shape);
				acc += shape;
				__asm__ volatile("" : : "r"(out) : "memory");
			}
			per[r] = (double)(mono_ns() - t0) / BATCH;
		}
		qsort(per, (size_t)rounds, sizeof(double), cmp_double);
		printf("sql %zu: median %.1f ns per call (%zu -> %zu bytes, %016llx): %.40s...\n",
		       k, per[rounds / 2], n, len, (unsigned long long)acc, q);
	}
	free(per);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	long iters = argc > 2 ? atol(argv[2]) : 0;
	if (!strcmp(what, "sql")) {
		bench_sql(iters ? iters : 1000000, argc > 3 ? atol(argv[3]) : -1);
		return 0;
	}
	otelp__config_defaults(&otelp__cfg);
	otelp__pid_refresh();
	otelp__pool_init(otelp__cfg.bsp_max_queue_size + 4096);
	otelp__bsp_init();
	if (!strcmp(what, "span") || !strcmp(what, "all")) {
		bench_span(iters ? iters : 2000000, 0);
		bench_span(iters ? iters : 2000000, 3);
	}
	if (!strcmp(what, "export") || !strcmp(what, "all"))
		bench_export(iters ? iters : 1000000, argc > 3 ? atoi(argv[3]) : 512);
	if (!strcmp(what, "encode")) {
		if (argc > 3) {
			bench_encode(iters ? iters : 1000000, argv[3]);
		} else {
			bench_encode(iters ? iters : 1000000, "plain");
			bench_encode(iters ? iters : 1000000, "http");
		}
	}
	if (!strcmp(what, "all"))
		bench_sql(iters ? iters : 1000000, -1);
	return 0;
}
