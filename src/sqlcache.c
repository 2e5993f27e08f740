/*
 * Summaries of SQL statements kept by shape (see sqlcache.h for the design).
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "common.h"
#include "sql.h"
#include "sqlcache.h"

#define WORDS ((OTELP_SQLCACHE_SUMMARY_MAX + 1) / 8)

struct entry {
	atomic_uint_fast64_t seq; /* odd while being written */
	atomic_uint_fast64_t key;
	atomic_uint_fast64_t len;
	atomic_uint_fast64_t text[WORDS];
};

static struct entry table[OTELP_SQLCACHE_SLOTS];
static atomic_uint_fast64_t seed;

uint64_t otelp__sqlcache_seed(void)
{
	uint64_t s = atomic_load_explicit(&seed, memory_order_relaxed);

	if (otelp_unlikely(!s)) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
			s = otelp__mono_ns() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)&s;
		s |= 1;
		uint_fast64_t none = 0;
		if (!atomic_compare_exchange_strong(&seed, &none, s))
			s = none;
	}
	return s;
}

uint64_t otelp__sqlcache_key(const char *q, size_t n)
{
	/* Another starting point than shapes: a raw text and a shape never share a key. */
	return otelp__hash_bytes(otelp__sqlcache_seed() ^ 0x5bd1e9955bd1e995ull, q, n) | 1;
}

static struct entry *slot(uint64_t key)
{
	return &table[(key >> 17) & (OTELP_SQLCACHE_SLOTS - 1)];
}

/* Copy the entry's summary for key into out; its length, or -1 when it is not there. */
static long lookup(uint64_t key, char *out, size_t cap)
{
	struct entry *e = slot(key);
	uint64_t words[WORDS];
	uint_fast64_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire), len;

	if ((s1 & 1) || atomic_load_explicit(&e->key, memory_order_relaxed) != key)
		return -1;
	len = atomic_load_explicit(&e->len, memory_order_relaxed);
	if (len > OTELP_SQLCACHE_SUMMARY_MAX || len > cap)
		return -1;
	for (size_t i = 0; i < (len + 7) / 8; i++)
		words[i] = atomic_load_explicit(&e->text[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
		return -1;
	memcpy(out, words, len);
	return (long)len;
}

static void store(uint64_t key, const char *s, size_t len)
{
	struct entry *e = slot(key);
	uint64_t words[WORDS] = {0};
	uint_fast64_t s0 = atomic_load_explicit(&e->seq, memory_order_relaxed);

	if (len > OTELP_SQLCACHE_SUMMARY_MAX || (s0 & 1) ||
	    !atomic_compare_exchange_strong_explicit(&e->seq, &s0, s0 + 1, memory_order_acquire,
	                                             memory_order_relaxed))
		return; /* being written by another thread: let it */
	atomic_thread_fence(memory_order_release);
	memcpy(words, s, len);
	atomic_store_explicit(&e->key, key, memory_order_relaxed);
	atomic_store_explicit(&e->len, len, memory_order_relaxed);
	for (size_t i = 0; i < (len + 7) / 8; i++)
		atomic_store_explicit(&e->text[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&e->seq, s0 + 2, memory_order_release);
}

size_t otelp__sql_summary_cached(uint64_t key, const char *q, size_t n, char *out, size_t cap)
{
	long got;
	size_t len;

	if (key && (got = lookup(key, out, cap)) >= 0)
		return (size_t)got;
	len = otelp__sql_summary(q, n, out, cap);
	if (key && len < cap)
		store(key, out, len);
	return len;
}
