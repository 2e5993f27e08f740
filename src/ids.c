/*
 * Trace and span ids.
 *
 * Each thread has its own xoshiro256** generator (32 bytes of initial-exec TLS), seeded from
 * getrandom(2) on first use. Ids need to be unpredictable enough not to collide across hosts
 * and processes, and cheap: a few ns per id, no syscall, no lock.
 *
 * After fork the child must not produce the parent's next ids: otelp__ids_after_fork() bumps
 * a global generation, and a thread whose seed is from an older generation reseeds.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "span.h"

static atomic_uint generation = 1;

static OTELP_TLS uint64_t rng_s[4];
static OTELP_TLS unsigned rng_gen;

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void seed(unsigned gen)
{
	uint64_t buf[4] = {0};
	ssize_t n = getrandom(buf, sizeof(buf), GRND_NONBLOCK);
	if (n != (ssize_t)sizeof(buf)) {
		/* No entropy yet (early boot): mix what differs between threads and processes. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		             ((uint64_t)getpid() << 16) ^ (uint64_t)syscall(SYS_gettid) ^
		             (uint64_t)(uintptr_t)&rng_s;
		for (int i = 0; i < 4; i++)
			buf[i] ^= splitmix(&x);
	}
	if ((buf[0] | buf[1] | buf[2] | buf[3]) == 0)
		buf[0] = 1;
	memcpy(rng_s, buf, sizeof(rng_s));
	rng_gen = gen;
}

/*
 * n words of the generator, the state kept in registers for all of them (a span needs three
 * for a root, one otherwise: through memory for each, they cost twice as much).
 */
static inline void next_words(uint64_t *out, unsigned n)
{
	unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed);
	if (otelp_unlikely(rng_gen != gen))
		seed(gen);
	uint64_t s0 = rng_s[0], s1 = rng_s[1], s2 = rng_s[2], s3 = rng_s[3];
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = s1 << 17;

		out[i] = rotl(s1 * 5, 7) * 9;
		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = rotl(s3, 45);
	}
	rng_s[0] = s0;
	rng_s[1] = s1;
	rng_s[2] = s2;
	rng_s[3] = s3;
}

void otelp__ids_trace(uint8_t out[16])
{
	uint64_t w[2];

	do
		next_words(w, 2);
	while (otelp_unlikely((w[0] | w[1]) == 0));
	memcpy(out, w, 16);
}

void otelp__ids_span(uint8_t out[8])
{
	uint64_t w;

	do
		next_words(&w, 1);
	while (otelp_unlikely(w == 0));
	memcpy(out, &w, 8);
}

void otelp__ids_after_fork(void)
{
	atomic_fetch_add(&generation, 1);
}
