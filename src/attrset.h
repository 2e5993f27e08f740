/*
 * This file is private to otelpreload.
 *
 * Interned attribute sets: the attributes that every span of one connection carries (the
 * database system, the server's address and port, the peer, the namespace) stored once for
 * the process instead of once per span.
 *
 * DESIGN
 * ------
 * A set is built when a hook first needs it (a connection is made, a Redis SELECT changes its
 * database) and never changes or goes away after. Its keys and values live in one global
 * byte store (otelp__attrset_bytes) that span attributes can reference directly
 * (OTELP_SREF_GLOBAL), and it keeps its attributes also as protobuf bytes, encoded once.
 * Attaching a set to a span copies a few 16-byte attribute records; the protobuf encoder
 * copies the set's bytes instead of encoding each attribute again. Every other reader (OTLP
 * JSON, console, the reference encoder, the tests) sees ordinary attributes.
 *
 * Looking a set up (otelp__attrset_get) hashes the attributes and scans the published sets
 * without a lock; hooks keep the result per connection, so this runs once per connection.
 * Adding a set takes a try-lock: when another thread holds it, when the store or the table is
 * full (OTELP_ATTRSET_MAX sets), the caller gets NULL and adds its attributes to each span
 * itself (counted: attrsets_full). The value length limit is applied when the set is made.
 */
#ifndef OTELP_ATTRSET_H
#define OTELP_ATTRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define OTELP_ATTRSET_MAX    256 /* sets per process */
#define OTELP_ATTRSET_KV_MAX 8   /* attributes per set */

/* One attribute to intern: a string (str, len) or, when is_int, the integer i. */
struct otelp_kv {
	const char *key;
	const char *str;
	size_t len;
	int64_t i;
	bool is_int;
};

struct otelp_attrset {
	uint64_t hash;
	uint16_t n;
	uint16_t pb_len;                               /* the protobuf bytes ... */
	struct otelp_sref pb;                          /* ... in the global store */
	struct otelp_attr attrs[OTELP_ATTRSET_KV_MAX]; /* owner SPAN, references global */
};

/*
 * The interned set of kv[0..n) (n <= OTELP_ATTRSET_KV_MAX), made on first use; NULL when it
 * cannot be made now (see DESIGN): then add the attributes to the span yourself, e.g. with
 * otelp__span_add_kvs.
 */
const struct otelp_attrset *otelp__attrset_get(const struct otelp_kv *kv, size_t n);

/* Add kv[0..n) to a span one by one (the fallback when a set could not be made). */
void otelp__span_add_kvs(struct otelp_span *s, const struct otelp_kv *kv, size_t n);

static inline struct otelp_kv otelp__kv_str(const char *key, const char *str, size_t len)
{
	return (struct otelp_kv){.key = key, .str = str, .len = len};
}

static inline struct otelp_kv otelp__kv_int(const char *key, int64_t i)
{
	return (struct otelp_kv){.key = key, .i = i, .is_int = true};
}

#define OTELP_ATTRSET_TRIES 4 /* a connection gives up on a set after this many failures */

/*
 * A connection's attributes kv[0..n) added to s through the set the caller keeps for the
 * connection in *set (NULL until made): made here on first use; after OTELP_ATTRSET_TRIES
 * failures (counted in *tries) the connection adds them one by one. A caller that already holds
 * a set for the same attributes adds it with otelp__span_add_set instead of calling this.
 */
void otelp__span_add_conn_kvs(struct otelp_span *s, const struct otelp_kv *kv, size_t n,
                              const struct otelp_attrset **set, uint8_t *tries);

/* Sets made so far (diagnostics and tests). */
unsigned otelp__attrset_count(void);

/* fork child: a lock held by another thread of the parent is released. */
void otelp__attrset_after_fork(void);

#endif
