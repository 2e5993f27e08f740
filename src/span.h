/*
 * This file is private to otelpreload.
 *
 * Spans, their ids and the per-thread current context.
 *
 * DESIGN
 * ------
 * A span is a fixed-size object (struct otelp_span) taken from a preallocated pool and given
 * back after export. Attributes, events and links live inline in it; their strings are copied
 * into an inline arena. Starting, filling, ending and enqueuing a span therefore never calls
 * malloc and never takes a lock: the pool is a lock-free LIFO (tagged Treiber stack over array
 * indices, so it is ABA-safe and keeps recently used, cache-hot objects in use), the queue of
 * finished spans is a bounded lock-free ring (bsp.h).
 *
 * What does not fit inline is dropped and counted (dropped_*_count in OTLP), exactly like a
 * configured limit: the effective limits are min(configured limit, inline capacity).
 *
 * Ids come from a per-thread xoshiro256** generator seeded from getrandom(2), reseeded in a
 * fork child. The current context is a small per-thread stack (initial-exec TLS).
 */
#ifndef OTELP_SPAN_H
#define OTELP_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/* Inline capacity of one span. */
#define OTELP_SPAN_ATTRS_MAX  48 /* span + event + link attributes together */
#define OTELP_SPAN_EVENTS_MAX 8
#define OTELP_SPAN_LINKS_MAX  4
#define OTELP_SPAN_ARENA      4096 /* bytes for names, keys, string values, tracestate */
#define OTELP_TRACESTATE_MAX  512

enum otelp_span_kind {
	OTELP_KIND_INTERNAL = 1,
	OTELP_KIND_SERVER = 2,
	OTELP_KIND_CLIENT = 3,
	OTELP_KIND_PRODUCER = 4,
	OTELP_KIND_CONSUMER = 5,
};

enum otelp_status_code {
	OTELP_STATUS_UNSET = 0,
	OTELP_STATUS_OK = 1,
	OTELP_STATUS_ERROR = 2,
};

enum otelp_attr_type {
	OTELP_ATTR_STRING,
	OTELP_ATTR_BOOL,
	OTELP_ATTR_INT,
	OTELP_ATTR_DOUBLE,
	OTELP_ATTR_STRING_ARRAY, /* v.arr; keep last: encoders skip types above it */
};

#define OTELP_TRACE_FLAG_SAMPLED 0x01
#define OTELP_TRACE_FLAG_RANDOM  0x02

/*
 * A reference to bytes inside a span's arena or, when off has OTELP_SREF_GLOBAL set, inside
 * the process-wide store of interned attribute sets (otelp__attrset_bytes, attrset.h), which
 * only ever grows and is never changed: such a reference stays valid for the process.
 */
struct otelp_sref {
	uint16_t off;
	uint16_t len;
};

#define OTELP_SREF_GLOBAL   0x8000u
#define OTELP_ATTRSET_BYTES 32767u

/*
 * The attribute keys the hooks use, known when we are built. They sit at the start of the
 * global store, each after the two bytes that begin its protobuf encoding as a KeyValue key
 * (field 1, length), so a span references them without copying and the encoder copies them
 * whole (OTELP_KEY(ID), otelp__span_add_str_k).
 */
#define OTELP_KEYS(X)                                                       \
	X(CLIENT_ADDRESS, "client.address")                                 \
	X(DB_NAMESPACE, "db.namespace")                                     \
	X(DB_OPERATION_NAME, "db.operation.name")                           \
	X(DB_QUERY_SUMMARY, "db.query.summary")                             \
	X(DB_QUERY_TEXT, "db.query.text")                                   \
	X(DB_RESPONSE_RETURNED_ROWS, "db.response.returned_rows")           \
	X(DB_RESPONSE_STATUS_CODE, "db.response.status_code")               \
	X(DB_SYSTEM_NAME, "db.system.name")                                 \
	X(ERROR_TYPE, "error.type")                                         \
	X(HTTP_REQUEST_METHOD, "http.request.method")                       \
	X(HTTP_REQUEST_METHOD_ORIGINAL, "http.request.method_original")     \
	X(HTTP_RESPONSE_STATUS_CODE, "http.response.status_code")           \
	X(HTTP_ROUTE, "http.route")                                         \
	X(NETWORK_PEER_ADDRESS, "network.peer.address")                     \
	X(NETWORK_PEER_PORT, "network.peer.port")                           \
	X(NETWORK_PROTOCOL_VERSION, "network.protocol.version")             \
	X(NETWORK_TRANSPORT, "network.transport")                           \
	X(OTELPRELOAD_DB_PARAMETER_COUNT, "otelpreload.db.parameter_count") \
	X(SERVER_ADDRESS, "server.address")                                 \
	X(SERVER_PORT, "server.port")                                       \
	X(URL_FULL, "url.full")                                             \
	X(URL_PATH, "url.path")                                             \
	X(URL_QUERY, "url.query")                                           \
	X(URL_SCHEME, "url.scheme")                                         \
	X(USER_AGENT_ORIGINAL, "user_agent.original")

#define OTELP_KEY_FIELDS_(id, str) \
	char id##_pb_[2];          \
	char id[sizeof(str) - 1];
struct otelp_keyblob {
	OTELP_KEYS(OTELP_KEY_FIELDS_)
};
#undef OTELP_KEY_FIELDS_

/* The global store: the keys above, then what attribute sets add (attrset.c). */
union otelp_store {
	char bytes[OTELP_ATTRSET_BYTES];
	struct otelp_keyblob keys;
};
extern union otelp_store otelp__store;
#define otelp__attrset_bytes (otelp__store.bytes)

/* The reference of a known key, a constant: OTELP_KEY(URL_FULL). */
#define OTELP_KEY(id)                                                                            \
	((struct otelp_sref){(uint16_t)(OTELP_SREF_GLOBAL | offsetof(struct otelp_keyblob, id)), \
	                     (uint16_t)sizeof(((struct otelp_keyblob *)0)->id)})

/* r is a known key: the two bytes before it are its protobuf field header. */
static inline bool otelp__sref_is_known_key(struct otelp_sref r)
{
	return (r.off & OTELP_SREF_GLOBAL) &&
	       (size_t)(r.off & ~OTELP_SREF_GLOBAL) < sizeof(struct otelp_keyblob);
}

/* owner: OTELP_OWNER_SPAN, or OTELP_OWNER_EVENT(i), or OTELP_OWNER_LINK(j). */
#define OTELP_OWNER_SPAN     0
#define OTELP_OWNER_EVENT(i) (1 + (i))
#define OTELP_OWNER_LINK(j)  (0x80 | (j))

struct otelp_attr {
	struct otelp_sref key;
	uint8_t type;  /* enum otelp_attr_type */
	uint8_t owner; /* OTELP_OWNER_* */
	union {
		struct otelp_sref s;
		int64_t i;
		double d;
		bool b;
		/*
		 * A string array: the elements one after the other with a NUL byte between
		 * two of them (never inside one), so n elements hold n - 1 NULs. n is kept
		 * because [] and [""] have the same (empty) bytes.
		 */
		struct {
			struct otelp_sref s;
			uint16_t n;
		} arr;
	} v;
};

struct otelp_event {
	uint64_t time_ns;
	struct otelp_sref name;
	uint32_t dropped_attrs;
	uint16_t n_attrs;
};

struct otelp_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;
	bool remote;
	struct otelp_sref tracestate;
	uint32_t dropped_attrs;
	uint16_t n_attrs;
};

/* A span context: what a hook needs to parent a new span or to inject headers. */
struct otelp_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags; /* W3C trace-flags */
	bool remote;   /* extracted from a carrier */
	bool valid;    /* false: no parent */
	bool b3_debug; /* B3 debug flag seen on extraction: preserved on injection */
	/*
	 * The local span this context belongs to, or NULL (remote or inherited context). Only
	 * used to reach the span's tracestate while the span is alive on this thread.
	 */
	struct otelp_span *span;
};

struct otelp_attrset;

struct otelp_span {
	uint32_t pool_next; /* pool free-list link (index + 1; 0 = end) */
	uint32_t gen;       /* bumped each time the object is taken: public handles check it */
	int pid;            /* process that started it; another process never exports it */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	bool has_parent;
	bool parent_remote;
	uint8_t flags;  /* W3C trace-flags of this span */
	uint8_t kind;   /* enum otelp_span_kind */
	uint8_t status; /* enum otelp_status_code */
	bool recording; /* sampler said RECORD_* */
	bool b3_debug;  /* inherited from the parent context */
	bool ended;
	uint64_t start_ns;
	uint64_t end_ns;
	struct otelp_sref name;
	struct otelp_sref status_msg;
	struct otelp_sref tracestate;
	uint16_t n_attrs; /* entries used in attrs[] (all owners) */
	uint16_t n_span_attrs;
	uint16_t n_events;
	uint16_t n_links;
	uint16_t arena_used;
	uint32_t dropped_attrs;
	uint32_t dropped_events;
	uint32_t dropped_links;
	bool truncated_logged;
	/*
	 * Interned attributes (attrset.h): attrs[set_at .. set_at + set->n) are the set's, and
	 * the protobuf encoder writes them as the set's pre-encoded bytes. NULL: none, or the
	 * span changed one of them since.
	 */
	const struct otelp_attrset *set;
	uint16_t set_at;
	struct otelp_attr attrs[OTELP_SPAN_ATTRS_MAX];
	struct otelp_event events[OTELP_SPAN_EVENTS_MAX];
	struct otelp_link links[OTELP_SPAN_LINKS_MAX];
	char arena[OTELP_SPAN_ARENA];
};

static inline const char *otelp__sref_ptr(const struct otelp_span *s, struct otelp_sref r)
{
	if (r.off & OTELP_SREF_GLOBAL)
		return otelp__attrset_bytes + (r.off & ~OTELP_SREF_GLOBAL);
	return s->arena + r.off;
}

/*
 * The bytes of a reference, clamped to the arena (or the global store) so a bad reference
 * cannot read past it.
 */
static inline size_t otelp__sref_get(const struct otelp_span *s, struct otelp_sref r,
                                     const char **p)
{
	size_t off = r.off, len = r.len;

	if (otelp_unlikely(off & OTELP_SREF_GLOBAL)) {
		off &= ~(size_t)OTELP_SREF_GLOBAL;
		if (off > OTELP_ATTRSET_BYTES)
			off = OTELP_ATTRSET_BYTES;
		if (len > OTELP_ATTRSET_BYTES - off)
			len = OTELP_ATTRSET_BYTES - off;
		*p = otelp__attrset_bytes + off;
		return len;
	}
	if (off > sizeof(s->arena))
		off = sizeof(s->arena);
	if (len > sizeof(s->arena) - off)
		len = sizeof(s->arena) - off;
	*p = s->arena + off;
	return len;
}

/*
 * Walk the elements of a string-array attribute:
 *
 *	struct otelp_strarr_iter it;
 *	const char *p;
 *	size_t len;
 *	otelp__strarr_begin(s, a, &it);
 *	while (otelp__strarr_next(&it, &p, &len))
 *		...
 *
 * The elements come from the NUL separators, so every consumer sees the same list.
 */
struct otelp_strarr_iter {
	const char *p;
	size_t len;
	size_t at; /* start of the next element; len + 1 once past the last one */
};

static inline void otelp__strarr_begin(const struct otelp_span *s, const struct otelp_attr *a,
                                       struct otelp_strarr_iter *it)
{
	it->len = otelp__sref_get(s, a->v.arr.s, &it->p);
	it->at = a->v.arr.n ? 0 : it->len + 1;
}

static inline bool otelp__strarr_next(struct otelp_strarr_iter *it, const char **p, size_t *len)
{
	const char *start, *nul;
	size_t n;

	if (it->at > it->len)
		return false;
	start = it->p + it->at;
	nul = memchr(start, '\0', it->len - it->at);
	n = nul ? (size_t)(nul - start) : it->len - it->at;
	*p = start;
	*len = n;
	it->at += n + 1;
	return true;
}

/* ---- ids (ids.c) ---- */

/* Random, valid (never all-zero) ids. */
void otelp__ids_trace(uint8_t out[16]);
void otelp__ids_span(uint8_t out[8]);
/* Call in a fork child: every thread's generator is reseeded before its next id. */
void otelp__ids_after_fork(void);

/* ---- span pool and lifecycle (span.c) ---- */

/* Length of the longest prefix of p[0..n) with at most max_chars UTF-8 characters. */
size_t otelp__utf8_prefix(const char *p, size_t n, uint32_t max_chars);

/*
 * Allocate the pool: capacity spans (mmap, touched lazily). Called once at init; returns 0
 * or -errno. Without a pool, span_start returns NULL.
 */
int otelp__pool_init(uint32_t capacity);
struct otelp_span *otelp__pool_get(void);
void otelp__pool_put(struct otelp_span *s);
/*
 * Give back v[0..n) at once (one atomic push for the lot), setting each v[i] to NULL before
 * they become free: an array that tracks spans in flight (the exporter's, which a forked child
 * gives back) never names a free span.
 */
void otelp__pool_put_many(struct otelp_span **v, size_t n);
uint32_t otelp__pool_capacity(void);
/* Spans currently taken from the pool (approximate, for diagnostics and tests). */
uint32_t otelp__pool_in_use(void);
/* Public API handles: index and generation of a live span; 0 is "no span". */
uint64_t otelp__span_handle(const struct otelp_span *s);
struct otelp_span *otelp__span_from_handle(uint64_t h);

/* Process id cached at init and refreshed in a fork child (getpid is a syscall). */
extern int otelp__pid;
void otelp__pid_refresh(void);

/*
 * Start a span as a child of parent (NULL or !valid: a root). Runs the sampler. Returns NULL
 * when the shim is off or no span object is free (counted). A non-recording span is still
 * returned: its context propagates (flags without sampled).
 * now_ns = 0 means "now". name is copied.
 */
struct otelp_span *otelp__span_start(const char *name, size_t name_len, enum otelp_span_kind kind,
                                     const struct otelp_ctx *parent, const char *tracestate,
                                     size_t tracestate_len, uint64_t now_ns);

/* Attributes on the span itself. Setting an existing key replaces its value. */
void otelp__span_set_str(struct otelp_span *s, const char *key, const char *val, size_t len);
void otelp__span_set_int(struct otelp_span *s, const char *key, int64_t v);
void otelp__span_set_double(struct otelp_span *s, const char *key, double v);
void otelp__span_set_bool(struct otelp_span *s, const char *key, bool v);
/*
 * A string[] attribute (e.g. http.request.header.<key>): n elements vals[i] of lens[i] bytes
 * (lens NULL: NUL-terminated; a NULL vals[i] is ""). An element ends at its first NUL byte;
 * the value-length limit applies to each element; n == 0 sets an empty array. When the
 * span's storage runs out, the element that does not fit is cut and the ones after it are
 * left out.
 */
void otelp__span_set_str_array(struct otelp_span *s, const char *key, const char *const *vals,
                               const size_t *lens, size_t n);
void otelp__span_set_name(struct otelp_span *s, const char *name, size_t len);
/*
 * The same for a key the span does not have yet (the caller knows: hooks set each key once):
 * no search of the existing attributes.
 */
void otelp__span_add_str(struct otelp_span *s, const char *key, const char *val, size_t len);
void otelp__span_add_int(struct otelp_span *s, const char *key, int64_t v);
/* The same with a known key (OTELP_KEY(ID)): the key is referenced, not copied. */
void otelp__span_add_str_k(struct otelp_span *s, struct otelp_sref key, const char *val,
                           size_t len);
void otelp__span_add_int_k(struct otelp_span *s, struct otelp_sref key, int64_t v);
/* A string attribute whose value is bytes the span already holds (its name, say). */
void otelp__span_add_ref_k(struct otelp_span *s, struct otelp_sref key, struct otelp_sref val);
/*
 * A string value written straight into the span's storage, in two steps: where a value of
 * len bytes would go, or NULL when add_str would not store it whole (not recording, over the
 * value-length limit, no room, attribute count reached: then call otelp__span_add_str_k,
 * which applies the rules); the caller writes there, then adds the attribute with the
 * n <= len bytes written. Nothing is kept until the second step.
 */
char *otelp__span_str_room(struct otelp_span *s, size_t len);
void otelp__span_add_room_k(struct otelp_span *s, struct otelp_sref key, size_t n);

/*
 * Add the attributes of an interned set (attrset.h) that the span does not have yet: a copy
 * of the set's references, no string copied. When the span's attribute limit or capacity
 * leaves no room for all of them, they are added one by one as the other functions would
 * (the limit applies, drops are counted). set NULL: nothing.
 */
void otelp__span_add_set(struct otelp_span *s, const struct otelp_attrset *set);

/* Add an event (name copied); returns its index or -1 (dropped, counted). */
int otelp__span_add_event(struct otelp_span *s, const char *name, uint64_t time_ns);
/* Attribute of an event returned by otelp__span_add_event. */
void otelp__event_set_str(struct otelp_span *s, int ev, const char *key, const char *val,
                          size_t len);
void otelp__event_set_int(struct otelp_span *s, int ev, const char *key, int64_t v);

/* Add a link; returns its index or -1 (dropped, counted). */
int otelp__span_add_link(struct otelp_span *s, const struct otelp_ctx *to, const char *tracestate,
                         size_t tracestate_len);

/*
 * Status rules: Ok is final; Error may be replaced by Ok; Unset is ignored; a description is
 * kept only with Error.
 */
void otelp__span_set_status(struct otelp_span *s, enum otelp_status_code code, const char *msg,
                            size_t len);

/*
 * End the span (end_ns = 0: now) and hand it to the batch processor if it is sampled and was
 * started in this process; otherwise give it back to the pool. s must not be used after.
 */
void otelp__span_end(struct otelp_span *s, uint64_t end_ns);

/* The span's own context (valid, local). */
void otelp__span_ctx(const struct otelp_span *s, struct otelp_ctx *out);

/* ---- per-thread current context (context.c) ---- */

#define OTELP_CTX_DEPTH 16

/* The innermost current context of this thread; ->valid false when there is none. */
const struct otelp_ctx *otelp__ctx_current(void);
/* Push a context; returns false when the stack is full (the context is then not current). */
bool otelp__ctx_push(const struct otelp_ctx *c);
/* Remove the entry of span s (normally the top); no-op when not found. */
void otelp__ctx_remove_span(const struct otelp_span *s);
/*
 * Make c the current context: an entry of the same span moves to the top; when the stack is
 * full the oldest entry is dropped. For event-loop servers, where the request whose bytes
 * arrived last is the one being handled.
 */
bool otelp__ctx_raise(const struct otelp_ctx *c);
/* Replace the whole stack by one context (used when a new thread inherits its creator's). */
void otelp__ctx_reset(const struct otelp_ctx *c);
/* The tracestate of a context when known (its span is alive on this thread), else NULL. */
const char *otelp__ctx_tracestate(const struct otelp_ctx *c, size_t *len);

#endif
