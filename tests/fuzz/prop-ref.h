/*
 * The functions of the references prop-ref.c and httpsem-ref.c (src/propagation.c and
 * src/httpsem.c before their rewrite for speed), under their ref__* names, and of the portable
 * build of the current src/propagation.c (prop-portable.c), as port__*. fuzz-prop-diff.c
 * compares them with the current ones.
 */
#ifndef OTELP_PROP_REF_H
#define OTELP_PROP_REF_H

#include "httpsem.h"
#include "propagation.h"

int ref__traceparent_parse(const char *v, size_t n, struct otelp_ctx *out);
void ref__traceparent_format(const struct otelp_ctx *c, char out[OTELP_TRACEPARENT_LEN]);
int ref__tracestate_parse(const char *v, size_t n, char *out, size_t cap);
size_t ref__baggage_parse(const char *v, size_t n, char *out, size_t cap);
int ref__b3_single_parse(const char *v, size_t n, struct otelp_ctx *out);
int ref__b3_multi_parse(const char *trace_id, size_t trace_len, const char *span_id,
                        size_t span_len, const char *sampled, size_t sampled_len, const char *flags,
                        size_t flags_len, struct otelp_ctx *out);
void ref__extract(unsigned propagators, const struct otelp_header *h, size_t n,
                  struct otelp_extracted *out);
size_t ref__inject_headers(unsigned propagators, const struct otelp_ctx *ctx,
                           const char *tracestate, size_t tracestate_len, const char *baggage,
                           size_t baggage_len, char *out, size_t cap);
bool ref__header_name_is(const char *name, size_t len, const char *lower);

const char *ref__http_method_known(const char *m, size_t n);
bool ref__http_host_port(const char *v, size_t n, const char **host, size_t *host_len, int *port);
void ref__http_target_split(const char *t, size_t n, const char **path, size_t *path_len,
                            const char **query, size_t *query_len, const char **authority,
                            size_t *authority_len);
size_t ref__http_url_full(const char *scheme, const char *host_header, size_t host_len,
                          const char *target, size_t target_len, char *out, size_t cap);
size_t ref__http_query_redact(const char *q, size_t n, char *out, size_t cap);
size_t ref__http_route(const char *path, size_t n, char *out, size_t cap);
bool ref__http_path_ignored(const char *list, const char *path, size_t n);
bool ref__http_header_listed(const char *list, const char *name, size_t n);
bool ref__http_header_sensitive(const char *name, size_t n);
int ref__http_list_normalize(const char *in, char *out, size_t cap, bool lower, bool paths);
bool ref__http_xff_first(const char *v, size_t n, const char **addr, size_t *addr_len);

/* src/propagation.c without its SSE2 paths (prop-portable.c). */
int port__traceparent_parse(const char *v, size_t n, struct otelp_ctx *out);
void port__traceparent_format(const struct otelp_ctx *c, char out[OTELP_TRACEPARENT_LEN]);
int port__tracestate_parse(const char *v, size_t n, char *out, size_t cap);
size_t port__baggage_parse(const char *v, size_t n, char *out, size_t cap);
int port__b3_single_parse(const char *v, size_t n, struct otelp_ctx *out);
int port__b3_multi_parse(const char *trace_id, size_t trace_len, const char *span_id,
                         size_t span_len, const char *sampled, size_t sampled_len,
                         const char *flags, size_t flags_len, struct otelp_ctx *out);
void port__extract(unsigned propagators, const struct otelp_header *h, size_t n,
                   struct otelp_extracted *out);
size_t port__inject_headers(unsigned propagators, const struct otelp_ctx *ctx,
                            const char *tracestate, size_t tracestate_len, const char *baggage,
                            size_t baggage_len, char *out, size_t cap);
bool port__header_name_is(const char *name, size_t len, const char *lower);

#endif
