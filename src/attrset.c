/*
 * Interned attribute sets (see attrset.h for the design).
 */
#include <stdatomic.h>
#include <string.h>

#include "attrset.h"
#include "config.h"
#include "log.h"
#include "otlp.h"

#define KEY_INIT(id, str) .id##_pb_ = {0x0a, sizeof(str) - 1}, .id = str,
union otelp_store otelp__store = {.keys = {OTELP_KEYS(KEY_INIT)}};
#undef KEY_INIT
#define KEY_CHECK(id, str) _Static_assert(sizeof(str) - 1 < 128, "a one-byte length: " str);
OTELP_KEYS(KEY_CHECK)
#undef KEY_CHECK
_Static_assert(sizeof(struct otelp_keyblob) < OTELP_ATTRSET_BYTES / 8, "keys fill the store");

static struct otelp_attrset sets[OTELP_ATTRSET_MAX];
static atomic_uint n_sets; /* published sets: sets[0 .. n_sets) never change again */
static size_t bytes_used = sizeof(struct otelp_keyblob); /* under the lock */
static atomic_flag lock = ATOMIC_FLAG_INIT;

/* A value as stored: cut to the configured value length limit. */
static size_t value_len(const struct otelp_kv *kv)
{
	uint32_t lim = otelp__cfg.limits.attr_value_length;

	if (kv->is_int || !kv->str)
		return 0;
	return lim == UINT32_MAX ? kv->len : otelp__utf8_prefix(kv->str, kv->len, lim);
}

static uint64_t kv_hash(const struct otelp_kv *kv, size_t n)
{
	uint64_t h = 0;

	for (size_t i = 0; i < n; i++) {
		h = otelp__hash_bytes(h, kv[i].key, strlen(kv[i].key));
		if (kv[i].is_int)
			h = otelp__hash_mix(h, (uint64_t)kv[i].i);
		else
			h = otelp__hash_bytes(h, kv[i].str, value_len(&kv[i]));
		h = otelp__hash_mix(h, kv[i].is_int);
	}
	return h;
}

static bool ref_eq(struct otelp_sref r, const char *p, size_t n)
{
	return r.len == n && memcmp(otelp__attrset_bytes + (r.off & ~OTELP_SREF_GLOBAL), p, n) == 0;
}

static bool set_eq(const struct otelp_attrset *set, uint64_t h, const struct otelp_kv *kv, size_t n)
{
	if (set->hash != h || set->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct otelp_attr *a = &set->attrs[i];

		if (!ref_eq(a->key, kv[i].key, strlen(kv[i].key)))
			return false;
		if (kv[i].is_int ? a->type != OTELP_ATTR_INT || a->v.i != kv[i].i
		                 : a->type != OTELP_ATTR_STRING ||
		                       !ref_eq(a->v.s, kv[i].str, value_len(&kv[i])))
			return false;
	}
	return true;
}

static const struct otelp_attrset *find(unsigned from, unsigned to, uint64_t h,
                                        const struct otelp_kv *kv, size_t n)
{
	for (unsigned i = from; i < to; i++)
		if (set_eq(&sets[i], h, kv, n))
			return &sets[i];
	return NULL;
}

/* A known key (span.h) is referenced where it already is: sets do not copy it again. */
static bool known_key(const char *k, size_t n, struct otelp_sref *out)
{
#define KEY_REF(id, str) \
	{(uint16_t)(OTELP_SREF_GLOBAL | offsetof(struct otelp_keyblob, id)), sizeof(str) - 1},
	static const struct otelp_sref known[] = {OTELP_KEYS(KEY_REF)};
#undef KEY_REF
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(known); i++) {
		if (known[i].len == n &&
		    memcmp(otelp__attrset_bytes + (known[i].off & ~OTELP_SREF_GLOBAL), k, n) == 0) {
			*out = known[i];
			return true;
		}
	}
	return false;
}

/* Copy p[0..n) into the store (under the lock); false when it is full. */
static bool put(const void *p, size_t n, struct otelp_sref *out)
{
	if (n > OTELP_ATTRSET_BYTES - bytes_used)
		return false;
	if (n)
		memcpy(otelp__attrset_bytes + bytes_used, p, n);
	out->off = (uint16_t)(bytes_used | OTELP_SREF_GLOBAL);
	out->len = (uint16_t)n;
	bytes_used += n;
	return true;
}

/* Make the set (under the lock) in the next free entry; NULL when something is full. */
static const struct otelp_attrset *make(unsigned idx, uint64_t h, const struct otelp_kv *kv,
                                        size_t n)
{
	struct otelp_attrset *set = &sets[idx];
	/* Room for the encoder's worst case (every byte replaced by U+FFFD); under the lock. */
	static uint8_t pb[OTELP_ATTRSET_KV_MAX * 48 + 3 * OTELP_ATTRSET_BYTES];
	size_t mark = bytes_used;
	size_t pb_len;

	memset(set, 0, sizeof(*set));
	set->hash = h;
	set->n = (uint16_t)n;
	for (size_t i = 0; i < n; i++) {
		struct otelp_attr *a = &set->attrs[i];

		a->owner = OTELP_OWNER_SPAN;
		size_t klen = strlen(kv[i].key);
		if (!known_key(kv[i].key, klen, &a->key) && !put(kv[i].key, klen, &a->key))
			goto full;
		if (kv[i].is_int) {
			a->type = OTELP_ATTR_INT;
			a->v.i = kv[i].i;
		} else {
			a->type = OTELP_ATTR_STRING;
			if (!put(kv[i].str, value_len(&kv[i]), &a->v.s))
				goto full;
		}
	}
	pb_len = otelp__otlp_encode_span_attrs(set->attrs, n, pb, sizeof(pb));
	if (!pb_len || !put(pb, pb_len, &set->pb))
		goto full;
	set->pb_len = (uint16_t)pb_len;
	return set;
full:
	bytes_used = mark;
	return NULL;
}

const struct otelp_attrset *otelp__attrset_get(const struct otelp_kv *kv, size_t n)
{
	const struct otelp_attrset *set;
	unsigned have;
	uint64_t h;

	if (!n || n > OTELP_ATTRSET_KV_MAX)
		return NULL;
	h = kv_hash(kv, n);
	have = atomic_load_explicit(&n_sets, memory_order_acquire);
	set = find(0, have, h, kv, n);
	if (set)
		return set;
	if (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
		OTELP_COUNT(attrsets_full, 1); /* another thread is adding one: try next time */
		return NULL;
	}
	/* Another thread may have added it meanwhile. */
	unsigned now = atomic_load_explicit(&n_sets, memory_order_relaxed);
	set = find(have, now, h, kv, n);
	if (!set && now < OTELP_ATTRSET_MAX) {
		set = make(now, h, kv, n);
		if (set)
			atomic_store_explicit(&n_sets, now + 1, memory_order_release);
	}
	atomic_flag_clear_explicit(&lock, memory_order_release);
	if (!set)
		OTELP_COUNT(attrsets_full, 1);
	return set;
}

void otelp__span_add_kvs(struct otelp_span *s, const struct otelp_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kv[i].is_int)
			otelp__span_add_int(s, kv[i].key, kv[i].i);
		else
			otelp__span_add_str(s, kv[i].key, kv[i].str, kv[i].len);
	}
}

void otelp__span_add_conn_kvs(struct otelp_span *s, const struct otelp_kv *kv, size_t n,
                              const struct otelp_attrset **set, uint8_t *tries)
{
	if (!*set && *tries < OTELP_ATTRSET_TRIES) {
		*set = otelp__attrset_get(kv, n);
		if (!*set)
			(*tries)++;
	}
	if (*set)
		otelp__span_add_set(s, *set);
	else
		otelp__span_add_kvs(s, kv, n);
}

unsigned otelp__attrset_count(void)
{
	return atomic_load(&n_sets);
}

void otelp__attrset_after_fork(void)
{
	/*
	 * Only the forking thread runs in the child: a lock another thread held is free. A set
	 * that thread was making was not published; the store bytes it took are left unused.
	 */
	atomic_flag_clear(&lock);
}
