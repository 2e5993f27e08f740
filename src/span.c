/*
 * Span pool and span lifecycle (see span.h for the design).
 *
 * The pool is one mmap'ed array. Objects never used yet are handed out by a bump index, so
 * the memory of a pool that never fills is never touched; given-back objects go on a
 * lock-free LIFO whose head packs (tag << 32 | index + 1), the tag defeating ABA.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attrset.h"
#include "bsp.h"
#include "config.h"
#include "log.h"
#include "sampler.h"
#include "span.h"

int otelp__pid;

static struct otelp_span *pool;
static uint32_t pool_cap;
static atomic_uint_fast32_t pool_bump;
static _Alignas(64) atomic_uint_fast64_t pool_head;

void otelp__pid_refresh(void)
{
	otelp__pid = getpid();
}

int otelp__pool_init(uint32_t capacity)
{
	if (pool)
		return 0;
	size_t sz = (size_t)capacity * sizeof(struct otelp_span);
	void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	pool = p;
	pool_cap = capacity;
	return 0;
}

uint32_t otelp__pool_capacity(void)
{
	return pool_cap;
}

uint32_t otelp__pool_in_use(void)
{
	/*
	 * Objects handed out minus those on the free list. Walks the list: for diagnostics and
	 * tests on a quiet pool, never on a hot path (which keeps a counter off the hot path).
	 */
	uint32_t handed = (uint32_t)atomic_load(&pool_bump);
	uint32_t free_n = 0;
	uint32_t i = (uint32_t)atomic_load(&pool_head);
	while (i != 0 && free_n <= pool_cap) {
		free_n++;
		i = __atomic_load_n(&pool[i - 1].pool_next, __ATOMIC_RELAXED);
	}
	return handed > free_n ? handed - free_n : 0;
}

struct otelp_span *otelp__pool_get(void)
{
	if (otelp_unlikely(!pool))
		return NULL;
	struct otelp_span *s = NULL;
	uint_fast64_t old = atomic_load_explicit(&pool_head, memory_order_acquire);
	while ((uint32_t)old != 0) {
		struct otelp_span *cand = &pool[(uint32_t)old - 1];
		uint32_t next = __atomic_load_n(&cand->pool_next, __ATOMIC_RELAXED);
		uint_fast64_t nw = (((old >> 32) + 1) << 32) | next;
		if (atomic_compare_exchange_weak_explicit(
		        &pool_head, &old, nw, memory_order_acquire, memory_order_acquire)) {
			s = cand;
			break;
		}
	}
	if (!s) {
		uint_fast32_t i = atomic_load_explicit(&pool_bump, memory_order_relaxed);
		do {
			if (i >= pool_cap)
				return NULL;
		} while (!atomic_compare_exchange_weak_explicit(
		    &pool_bump, &i, i + 1, memory_order_relaxed, memory_order_relaxed));
		s = &pool[i];
	}
	return s;
}

void otelp__pool_put(struct otelp_span *s)
{
	uint32_t idx = (uint32_t)(s - pool) + 1;
	uint_fast64_t old = atomic_load_explicit(&pool_head, memory_order_relaxed);
	uint_fast64_t nw;
	do {
		__atomic_store_n(&s->pool_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = (((old >> 32) + 1) << 32) | idx;
	} while (!atomic_compare_exchange_weak_explicit(&pool_head, &old, nw, memory_order_release,
	                                                memory_order_relaxed));
}

void otelp__pool_put_many(struct otelp_span **v, size_t n)
{
	if (n == 0)
		return;
	/* Chain them while they are still v's alone, then clear v, then one push of the chain. */
	for (size_t i = 0; i + 1 < n; i++)
		__atomic_store_n(&v[i]->pool_next, (uint32_t)(v[i + 1] - pool) + 1,
		                 __ATOMIC_RELAXED);
	struct otelp_span *last = v[n - 1];
	uint32_t first = (uint32_t)(v[0] - pool) + 1;
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&v[i], NULL, __ATOMIC_RELEASE);
	uint_fast64_t old = atomic_load_explicit(&pool_head, memory_order_relaxed);
	uint_fast64_t nw;
	do {
		__atomic_store_n(&last->pool_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = (((old >> 32) + 1) << 32) | first;
	} while (!atomic_compare_exchange_weak_explicit(&pool_head, &old, nw, memory_order_release,
	                                                memory_order_relaxed));
}

uint64_t otelp__span_handle(const struct otelp_span *s)
{
	if (!s)
		return 0;
	return ((uint64_t)__atomic_load_n(&s->gen, __ATOMIC_RELAXED) << 32) |
	       ((uint64_t)(s - pool) + 1);
}

struct otelp_span *otelp__span_from_handle(uint64_t h)
{
	uint32_t idx = (uint32_t)h;
	if (idx == 0 || idx > pool_cap || !pool)
		return NULL;
	struct otelp_span *s = &pool[idx - 1];
	if (__atomic_load_n(&s->gen, __ATOMIC_RELAXED) != (uint32_t)(h >> 32) ||
	    __atomic_load_n(&s->ended, __ATOMIC_RELAXED))
		return NULL;
	return s;
}

/* ---- arena ---- */

size_t otelp__utf8_prefix(const char *p, size_t n, uint32_t max_chars)
{
	size_t i = 0;
	uint32_t chars = 0;
	while (i < n && chars < max_chars) {
		unsigned char c = (unsigned char)p[i];
		size_t len = c < 0x80         ? 1
		             : (c >> 5) == 6  ? 2
		             : (c >> 4) == 14 ? 3
		             : (c >> 3) == 30 ? 4
		                              : 1;
		if (i + len > n)
			break;
		i += len;
		chars++;
	}
	return i;
}

static bool arena_put(struct otelp_span *s, const char *p, size_t n, bool may_truncate,
                      struct otelp_sref *out)
{
	size_t room = OTELP_SPAN_ARENA - s->arena_used;
	if (n > room) {
		if (!may_truncate || room == 0)
			return false;
		n = otelp__utf8_cut(p, room);
		if (!s->truncated_logged) {
			s->truncated_logged = true;
			OTELP_DBG("span storage full: value truncated to %zu bytes", n);
		}
	}
	memcpy(s->arena + s->arena_used, p, n);
	out->off = s->arena_used;
	out->len = (uint16_t)n;
	s->arena_used = (uint16_t)(s->arena_used + n);
	return true;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* ---- lifecycle ---- */

struct otelp_span *otelp__span_start(const char *name, size_t name_len, enum otelp_span_kind kind,
                                     const struct otelp_ctx *parent, const char *tracestate,
                                     size_t tracestate_len, uint64_t now_ns)
{
	struct otelp_span *s = otelp__pool_get();
	if (otelp_unlikely(!s)) {
		OTELP_COUNT(spans_dropped_no_slot, 1);
		return NULL;
	}
	uint32_t gen = s->gen + 1;
	/* Reset the header only: attrs, events and arena are reused as counted. */
	memset(s, 0, offsetof(struct otelp_span, attrs));
	__atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
	s->pid = otelp__pid;
	s->kind = (uint8_t)kind;
	s->start_ns = now_ns ? now_ns : otelp__now_ns();

	bool have_parent = parent && parent->valid;
	if (have_parent) {
		memcpy(s->trace_id, parent->trace_id, 16);
		memcpy(s->parent_span_id, parent->span_id, 8);
		s->has_parent = true;
		s->parent_remote = parent->remote;
		s->b3_debug = parent->b3_debug;
	} else {
		otelp__ids_trace(s->trace_id);
	}
	enum otelp_decision d =
	    otelp__sample(otelp__cfg.sampler, otelp__cfg.sampler_ratio, parent, s->trace_id);
	otelp__ids_span(s->span_id);
	s->recording = d != OTELP_DROP;
	/* Random-trace-id flag: ours are random; a parent's is kept as it came. */
	uint8_t random =
	    have_parent ? (parent->flags & OTELP_TRACE_FLAG_RANDOM) : OTELP_TRACE_FLAG_RANDOM;
	s->flags = random | (d == OTELP_RECORD_AND_SAMPLE ? OTELP_TRACE_FLAG_SAMPLED : 0);
	if (tracestate_len > OTELP_TRACESTATE_MAX)
		tracestate_len = 0; /* never a partial list */
	if (tracestate_len)
		arena_put(s, tracestate, tracestate_len, false, &s->tracestate);
	arena_put(s, name, name_len, true, &s->name);
	return s;
}

void otelp__span_set_name(struct otelp_span *s, const char *name, size_t len)
{
	if (!s || !s->recording)
		return;
	arena_put(s, name, len, true, &s->name);
}

static bool key_eq(const struct otelp_span *s, const struct otelp_attr *a, const char *key,
                   size_t klen)
{
	return a->key.len == klen && memcmp(otelp__sref_ptr(s, a->key), key, klen) == 0;
}

/* A new slot when the owner's count limit and the inline capacity allow; NULL: dropped. */
static struct otelp_attr *new_slot(struct otelp_span *s, uint32_t *count, uint32_t limit,
                                   uint32_t *dropped)
{
	if (*count >= limit || s->n_attrs >= OTELP_SPAN_ATTRS_MAX) {
		(*dropped)++;
		return NULL;
	}
	return &s->attrs[s->n_attrs];
}

/*
 * Find the slot for key under owner: the existing attribute with that key, or a new slot
 * when the owner's count limit and the inline capacity allow; NULL when dropped (counted in
 * *dropped).
 */
static struct otelp_attr *attr_slot_(struct otelp_span *s, uint8_t owner, const char *key,
                                     uint32_t *count, uint32_t limit, uint32_t *dropped, bool fresh)
{
	size_t klen = strlen(key);
	for (unsigned i = 0; !fresh && i < s->n_attrs; i++)
		if (s->attrs[i].owner == owner && key_eq(s, &s->attrs[i], key, klen)) {
			/* Changing an attribute of an interned set: the set's bytes no longer say
			 * what the span holds, the encoder takes the attributes one by one. */
			if (s->set && i >= s->set_at && i < (unsigned)s->set_at + s->set->n)
				s->set = NULL;
			return &s->attrs[i];
		}
	struct otelp_attr *a = new_slot(s, count, limit, dropped);
	if (!a)
		return NULL;
	if (!arena_put(s, key, klen, false, &a->key)) {
		(*dropped)++;
		return NULL;
	}
	a->owner = owner;
	s->n_attrs++;
	(*count)++;
	return a;
}

static struct otelp_attr *attr_slot(struct otelp_span *s, uint8_t owner, const char *key,
                                    uint32_t *count, uint32_t limit, uint32_t *dropped)
{
	return attr_slot_(s, owner, key, count, limit, dropped, false);
}

static struct otelp_attr *span_attr_(struct otelp_span *s, const char *key, bool fresh)
{
	if (!s || !s->recording || s->ended)
		return NULL;
	uint32_t count = s->n_span_attrs;
	struct otelp_attr *a = attr_slot_(s, OTELP_OWNER_SPAN, key, &count,
	                                  otelp__cfg.limits.attr_count, &s->dropped_attrs, fresh);
	s->n_span_attrs = (uint16_t)count;
	return a;
}

static struct otelp_attr *span_attr(struct otelp_span *s, const char *key)
{
	return span_attr_(s, key, false);
}

static void set_str(struct otelp_span *s, struct otelp_attr *a, const char *val, size_t len)
{
	if (!a)
		return;
	uint32_t lim = otelp__cfg.limits.attr_value_length;
	if (lim != UINT32_MAX)
		len = otelp__utf8_prefix(val, len, lim);
	a->type = OTELP_ATTR_STRING;
	if (!arena_put(s, val, len, true, &a->v.s))
		a->v.s.len = 0;
}

void otelp__span_set_str(struct otelp_span *s, const char *key, const char *val, size_t len)
{
	set_str(s, span_attr(s, key), val, len);
}

void otelp__span_add_str(struct otelp_span *s, const char *key, const char *val, size_t len)
{
	set_str(s, span_attr_(s, key, true), val, len);
}

void otelp__span_add_int(struct otelp_span *s, const char *key, int64_t v)
{
	struct otelp_attr *a = span_attr_(s, key, true);
	if (a) {
		a->type = OTELP_ATTR_INT;
		a->v.i = v;
	}
}

/* A new span attribute whose key is a known key's reference (no search, no copy). */
static struct otelp_attr *span_attr_k(struct otelp_span *s, struct otelp_sref key)
{
	if (!s || !s->recording || s->ended)
		return NULL;
	uint32_t count = s->n_span_attrs;
	struct otelp_attr *a = new_slot(s, &count, otelp__cfg.limits.attr_count, &s->dropped_attrs);
	if (!a)
		return NULL;
	s->n_attrs++;
	s->n_span_attrs++;
	a->key = key;
	a->owner = OTELP_OWNER_SPAN;
	return a;
}

void otelp__span_add_str_k(struct otelp_span *s, struct otelp_sref key, const char *val, size_t len)
{
	set_str(s, span_attr_k(s, key), val, len);
}

void otelp__span_add_ref_k(struct otelp_span *s, struct otelp_sref key, struct otelp_sref val)
{
	struct otelp_attr *a = span_attr_k(s, key);
	uint32_t lim = otelp__cfg.limits.attr_value_length;
	if (!a)
		return;
	if (lim != UINT32_MAX && val.len > lim)
		val.len = (uint16_t)otelp__utf8_prefix(otelp__sref_ptr(s, val), val.len, lim);
	a->type = OTELP_ATTR_STRING;
	a->v.s = val;
}

char *otelp__span_str_room(struct otelp_span *s, size_t len)
{
	if (!s || !s->recording || s->ended ||
	    (otelp__cfg.limits.attr_value_length != UINT32_MAX &&
	     len > otelp__cfg.limits.attr_value_length) ||
	    s->n_span_attrs >= otelp__cfg.limits.attr_count || s->n_attrs >= OTELP_SPAN_ATTRS_MAX ||
	    len > (size_t)(OTELP_SPAN_ARENA - s->arena_used))
		return NULL;
	return s->arena + s->arena_used;
}

void otelp__span_add_room_k(struct otelp_span *s, struct otelp_sref key, size_t n)
{
	if (!otelp__span_str_room(s, n))
		return;
	struct otelp_attr *a = span_attr_k(s, key);
	a->type = OTELP_ATTR_STRING;
	a->v.s = (struct otelp_sref){s->arena_used, (uint16_t)n};
	s->arena_used = (uint16_t)(s->arena_used + n);
}

void otelp__span_add_int_k(struct otelp_span *s, struct otelp_sref key, int64_t v)
{
	struct otelp_attr *a = span_attr_k(s, key);
	if (a) {
		a->type = OTELP_ATTR_INT;
		a->v.i = v;
	}
}

void otelp__span_add_set(struct otelp_span *s, const struct otelp_attrset *set)
{
	if (!set || !s || !s->recording || s->ended)
		return;
	if (s->set || s->n_span_attrs + set->n > otelp__cfg.limits.attr_count ||
	    s->n_attrs + set->n > OTELP_SPAN_ATTRS_MAX) {
		/*
		 * One set per span, within the limits: otherwise attribute by attribute, each
		 * still referencing the set's strings (they never change or go away).
		 */
		uint32_t count = s->n_span_attrs;
		for (unsigned i = 0; i < set->n; i++) {
			struct otelp_attr *a =
			    new_slot(s, &count, otelp__cfg.limits.attr_count, &s->dropped_attrs);
			if (a) {
				*a = set->attrs[i];
				s->n_attrs++;
				count++;
			}
		}
		s->n_span_attrs = (uint16_t)count;
		return;
	}
	s->set = set;
	s->set_at = s->n_attrs;
	memcpy(&s->attrs[s->n_attrs], set->attrs, set->n * sizeof(set->attrs[0]));
	s->n_attrs = (uint16_t)(s->n_attrs + set->n);
	s->n_span_attrs = (uint16_t)(s->n_span_attrs + set->n);
}

void otelp__span_set_str_array(struct otelp_span *s, const char *key, const char *const *vals,
                               const size_t *lens, size_t n)
{
	struct otelp_attr *a = span_attr(s, key);
	uint32_t lim = otelp__cfg.limits.attr_value_length;
	size_t start, count = 0;
	bool full = false;

	if (!a)
		return;
	if (!vals)
		n = 0;
	/* The elements are copied straight into the arena, a NUL between two of them. */
	start = s->arena_used;
	for (size_t i = 0; i < n && !full; i++) {
		const char *p = vals[i] ? vals[i] : "";
		size_t len = lens && vals[i] ? lens[i] : strlen(p);
		const char *nul = memchr(p, '\0', len);
		size_t room = OTELP_SPAN_ARENA - s->arena_used;

		if (nul)
			len = (size_t)(nul - p);
		if (lim != UINT32_MAX)
			len = otelp__utf8_prefix(p, len, lim);
		if (i > 0) {
			if (room == 0) {
				full = true;
				break;
			}
			s->arena[s->arena_used++] = '\0';
			room--;
		}
		if (len > room) {
			len = otelp__utf8_cut(p, room);
			full = true; /* this element is the last one, cut */
		}
		memcpy(s->arena + s->arena_used, p, len);
		s->arena_used = (uint16_t)(s->arena_used + len);
		count++;
	}
	if (full && !s->truncated_logged) {
		s->truncated_logged = true;
		OTELP_DBG("span storage full: array cut to %zu of %zu elements", count, n);
	}
	a->type = OTELP_ATTR_STRING_ARRAY;
	a->v.arr.s.off = (uint16_t)start;
	a->v.arr.s.len = (uint16_t)(s->arena_used - start);
	a->v.arr.n = (uint16_t)count;
}

void otelp__span_set_int(struct otelp_span *s, const char *key, int64_t v)
{
	struct otelp_attr *a = span_attr(s, key);
	if (a) {
		a->type = OTELP_ATTR_INT;
		a->v.i = v;
	}
}

void otelp__span_set_double(struct otelp_span *s, const char *key, double v)
{
	struct otelp_attr *a = span_attr(s, key);
	if (a) {
		a->type = OTELP_ATTR_DOUBLE;
		a->v.d = v;
	}
}

void otelp__span_set_bool(struct otelp_span *s, const char *key, bool v)
{
	struct otelp_attr *a = span_attr(s, key);
	if (a) {
		a->type = OTELP_ATTR_BOOL;
		a->v.b = v;
	}
}

int otelp__span_add_event(struct otelp_span *s, const char *name, uint64_t time_ns)
{
	if (!s || !s->recording || s->ended)
		return -1;
	uint32_t lim = min_u32(otelp__cfg.limits.event_count, OTELP_SPAN_EVENTS_MAX);
	if (s->n_events >= lim) {
		s->dropped_events++;
		return -1;
	}
	struct otelp_event *e = &s->events[s->n_events];
	memset(e, 0, sizeof(*e));
	if (!arena_put(s, name, strlen(name), true, &e->name)) {
		s->dropped_events++;
		return -1;
	}
	e->time_ns = time_ns ? time_ns : otelp__now_ns();
	return s->n_events++;
}

static struct otelp_attr *event_attr(struct otelp_span *s, int ev, const char *key)
{
	if (!s || !s->recording || s->ended || ev < 0 || ev >= s->n_events)
		return NULL;
	struct otelp_event *e = &s->events[ev];
	uint32_t count = e->n_attrs;
	struct otelp_attr *a = attr_slot(s, OTELP_OWNER_EVENT(ev), key, &count,
	                                 otelp__cfg.limits.event_attr_count, &e->dropped_attrs);
	e->n_attrs = (uint16_t)count;
	return a;
}

void otelp__event_set_str(struct otelp_span *s, int ev, const char *key, const char *val,
                          size_t len)
{
	set_str(s, event_attr(s, ev, key), val, len);
}

void otelp__event_set_int(struct otelp_span *s, int ev, const char *key, int64_t v)
{
	struct otelp_attr *a = event_attr(s, ev, key);
	if (a) {
		a->type = OTELP_ATTR_INT;
		a->v.i = v;
	}
}

int otelp__span_add_link(struct otelp_span *s, const struct otelp_ctx *to, const char *tracestate,
                         size_t tracestate_len)
{
	if (!s || !s->recording || s->ended || !to || !to->valid)
		return -1;
	uint32_t lim = min_u32(otelp__cfg.limits.link_count, OTELP_SPAN_LINKS_MAX);
	if (s->n_links >= lim) {
		s->dropped_links++;
		return -1;
	}
	struct otelp_link *l = &s->links[s->n_links];
	memset(l, 0, sizeof(*l));
	memcpy(l->trace_id, to->trace_id, 16);
	memcpy(l->span_id, to->span_id, 8);
	l->flags = to->flags;
	l->remote = to->remote;
	if (tracestate_len && tracestate_len <= OTELP_TRACESTATE_MAX)
		arena_put(s, tracestate, tracestate_len, false, &l->tracestate);
	return s->n_links++;
}

void otelp__span_set_status(struct otelp_span *s, enum otelp_status_code code, const char *msg,
                            size_t len)
{
	if (!s || !s->recording || s->ended || code == OTELP_STATUS_UNSET ||
	    s->status == OTELP_STATUS_OK)
		return;
	s->status = (uint8_t)code;
	s->status_msg.len = 0;
	if (code == OTELP_STATUS_ERROR && msg && len)
		arena_put(s, msg, len, true, &s->status_msg);
}

void otelp__span_ctx(const struct otelp_span *s, struct otelp_ctx *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->trace_id, s->trace_id, 16);
	memcpy(out->span_id, s->span_id, 8);
	out->flags = s->flags;
	out->valid = true;
	out->b3_debug = s->b3_debug;
	out->span = (struct otelp_span *)s;
}

void otelp__span_end(struct otelp_span *s, uint64_t end_ns)
{
	if (!s || s->ended)
		return;
	s->end_ns = end_ns ? end_ns : otelp__now_ns();
	if (s->end_ns < s->start_ns)
		s->end_ns = s->start_ns;
	__atomic_store_n(&s->ended, true, __ATOMIC_RELAXED);
	otelp__ctx_remove_span(s);
	/* A span started before fork is exported by the parent only. */
	if (s->recording && (s->flags & OTELP_TRACE_FLAG_SAMPLED) && s->pid == otelp__pid &&
	    otelp__cfg.exporter != OTELP_EXPORTER_NONE)
		otelp__bsp_enqueue(s);
	else
		otelp__pool_put(s);
}
