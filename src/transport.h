/*
 * This file is private to otelpreload.
 *
 * OTLP/HTTP transport over libcurl: one POST per batch, keep-alive, our User-Agent, the
 * configured headers, optional gzip, TLS options, a per-export deadline. Retries only 429,
 * 502, 503, 504 and connection failures, with exponential backoff and jitter, honouring
 * Retry-After, all within the deadline. Runs on the exporter thread only.
 *
 * Its sockets are created through CURLOPT_OPENSOCKETFUNCTION, moved to high fd numbers and
 * protected (fdguard.h), so a host that closes fds it did not open cannot break them.
 */
#ifndef OTELP_TRANSPORT_H
#define OTELP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct otelp_transport;

struct otelp_send_result {
	long http_status;       /* last status seen, 0 when none */
	unsigned attempts;      /* requests made */
	int64_t rejected_spans; /* from partial_success */
	char message[256];      /* error or partial_success message, "" when none */
};

enum otelp_send_status {
	OTELP_SEND_OK,     /* delivered (possibly partially rejected: see result) */
	OTELP_SEND_FAILED, /* given up: permanent error, or retries exhausted, or deadline */
};

/*
 * libcurl's process-wide initialisation (OpenSSL included). Called at shim init, before any
 * thread of ours exists, so that a fork can never catch it half done. Idempotent.
 */
bool otelp__transport_global_init(void);

/* NULL on failure (logged). cfg must stay valid while the transport lives. */
struct otelp_transport *otelp__transport_new(const struct otelp_config *cfg);
void otelp__transport_free(struct otelp_transport *t);
/* Fork child: forget the inherited handle and connection without touching them. */
void otelp__transport_abandon(struct otelp_transport *t);

/*
 * POST body (already encoded, content type from cfg->otlp_protocol); compresses when
 * configured. deadline_mono_ns bounds everything (otelp__mono_ns() clock).
 */
enum otelp_send_status otelp__transport_send(struct otelp_transport *t, const uint8_t *body,
                                             size_t len, uint64_t deadline_mono_ns,
                                             struct otelp_send_result *res);

/* ---- pure helpers (unit-tested) ---- */

enum otelp_retry_decision {
	OTELP_RETRY_DONE,  /* success: stop */
	OTELP_RETRY_AGAIN, /* transient: retry if time allows */
	OTELP_RETRY_FAIL,  /* permanent: stop, drop */
};
/* http_status 0 with connection_failed = no response (refused, reset, timeout). */
enum otelp_retry_decision otelp__retry_classify(long http_status, bool connection_failed);
/* Retry-After value (seconds or HTTP-date) in ms from now; -1 when invalid. */
int64_t otelp__retry_after_ms(const char *v, size_t n, time_t now);
/* Delay before retry number attempt (1-based): 1 s * 1.5^(attempt-1), max 5 s, jitter
 * x[0.8, 1.2] from rnd (any 64-bit random value). */
uint64_t otelp__backoff_ms(unsigned attempt, uint64_t rnd);
/* gzip (RFC 1952) of in into out (reset first). 0 or -1. */
struct otelp_buf;
int otelp__gzip(const uint8_t *in, size_t n, struct otelp_buf *out);
/* User-Agent: "otelpreload/<ver> OTel-OTLP-Exporter-C/<ver>" (distribution token first). */
const char *otelp__user_agent(void);

#endif
