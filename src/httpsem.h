/*
 * This file is private to otelpreload.
 *
 * HTTP semantic conventions as pure functions over byte ranges (not NUL-terminated): method
 * normalization, url.full with credentials and signatures redacted, Host/target splitting, the
 * opt-in route heuristic, ignore-path and header-name lists, X-Forwarded-For.
 *
 * No allocation, no globals, safe on any input; output is always NUL-terminated within cap and
 * cut (never overflowed) when it does not fit. Fuzzed by tests/fuzz/fuzz-httpsem.c.
 */
#ifndef OTELP_HTTPSEM_H
#define OTELP_HTTPSEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The known methods of the semantic conventions (CONNECT DELETE GET HEAD OPTIONS PATCH POST PUT
 * TRACE QUERY), matched case-sensitively: the canonical literal, or NULL (the attribute is then
 * "_OTHER" and http.request.method_original carries the original). The literal has the same n
 * bytes as m: its length is n, no strlen needed.
 */
const char *otelp__http_method_known(const char *m, size_t n);

/*
 * Split "host[:port]" as found in a Host header or an authority ("[v6]:port" with brackets;
 * the brackets are not part of the returned host). *port is set only when a valid port
 * (1..65535) is present. false when the value is empty or malformed.
 */
bool otelp__http_host_port(const char *v, size_t n, const char **host, size_t *host_len, int *port);

/*
 * A request-target split into path and query (without '?'; *query NULL when there is none; a
 * fragment is dropped). Origin-form ("/a?b") as is; absolute-form ("http://h:1/a?b") gives the
 * path after the authority ("/" when empty) and, when authority is not NULL, the authority
 * without userinfo; asterisk-form ("*") gives path "*"; authority-form (CONNECT "h:443") gives
 * an empty path and the authority.
 */
void otelp__http_target_split(const char *t, size_t n, const char **path, size_t *path_len,
                              const char **query, size_t *query_len, const char **authority,
                              size_t *authority_len);

/*
 * url.full of a client request: scheme "://" host [":" port when not the default of the
 * scheme] path ["?" query]. host/port come from the Host header (or the absolute-form target,
 * which wins when present). Userinfo of an absolute-form target becomes "REDACTED:REDACTED@";
 * the values of the query parameters AWSAccessKeyId, Signature, sig, X-Amz-Credential,
 * X-Amz-Security-Token, X-Amz-Signature and X-Goog-Signature (names matched exactly) become
 * "REDACTED". Returns the length written (cut to cap - 1).
 */
size_t otelp__http_url_full(const char *scheme, const char *host_header, size_t host_len,
                            const char *target, size_t target_len, char *out, size_t cap);

/*
 * otelp__http_url_full and otelp__http_target_split of the same target, which is parsed once
 * (a client request needs both): returns what otelp__http_url_full returns and writes, and sets
 * what otelp__http_target_split sets (each pointer may be NULL).
 */
size_t otelp__http_url_full_split(const char *scheme, const char *host_header, size_t host_len,
                                  const char *target, size_t target_len, char *out, size_t cap,
                                  const char **path, size_t *path_len, const char **query,
                                  size_t *query_len, const char **authority, size_t *authority_len);

/*
 * url.query with the same redaction as url.full (signature parameters' values become
 * "REDACTED"; controls, spaces and non-ASCII bytes percent-encoded). Returns the length.
 */
size_t otelp__http_query_redact(const char *q, size_t n, char *out, size_t cap);

/*
 * The opt-in route heuristic (OTEL_PRELOAD_HTTP_ROUTE=heuristic): a low-cardinality template
 * of a path. The rule is documented in httpsem.c and docs/configuration.md; in short, a
 * segment that looks like an id (a number, a UUID, a hex string of 8+ chars, a segment with
 * digits mixed with letters of 16+ chars or other random-looking tokens) becomes "{id}"; at
 * most 10 segments are kept (the rest becomes "/..."); query and fragment are not part of it.
 * Returns the length written.
 */
size_t otelp__http_route(const char *path, size_t n, char *out, size_t cap);

/*
 * OTEL_PRELOAD_HTTP_IGNORE_PATHS matching: list is the normalized, comma-separated form
 * (e.g. "/healthz,/readyz"), NUL-terminated; an entry matches the whole path exactly, or as a
 * prefix when it ends in '*' (e.g. "/static/" then '*'). The query is not part of path.
 */
bool otelp__http_path_ignored(const char *list, const char *path, size_t n);

/*
 * Header-name lists (OTEL_PRELOAD_HTTP_CAPTURE_{REQUEST,RESPONSE}_HEADERS): list is the
 * normalized form (lowercase names separated by ','), NUL-terminated; matching is
 * case-insensitive on name.
 */
bool otelp__http_header_listed(const char *list, const char *name, size_t n);

/*
 * Names that are never recorded even when listed: Authorization, Proxy-Authorization, Cookie,
 * Set-Cookie, and other credential carriers (X-Api-Key, X-Auth-Token, X-Amz-Security-Token,
 * X-CSRF-Token...). Case-insensitive.
 */
bool otelp__http_header_sensitive(const char *name, size_t n);

/*
 * Normalize a comma-separated list from the environment into out (entries trimmed of spaces,
 * empty entries dropped, lowercased when lower is true; joined by ','). Returns the number
 * of entries kept, or -1 when an entry is invalid (a header name that is not a token; a path
 * not starting with '/' or '*') — the caller then warns and uses the empty list.
 */
int otelp__http_list_normalize(const char *in, char *out, size_t cap, bool lower, bool paths);

/*
 * client.address from X-Forwarded-For: the first (left-most) entry, trimmed; false when empty.
 * The result points into v.
 */
bool otelp__http_xff_first(const char *v, size_t n, const char **addr, size_t *addr_len);

#endif
