/*
 * This file is private to otelpreload.
 *
 * Small helpers shared by every file of src/ and hooks/. Naming rules of the project:
 *   otelp_*   public API (include/otelpreload.h), exported;
 *   otelp__*  internal, shared between files, never exported (-fvisibility=hidden);
 *   anything else is static.
 */
#ifndef OTELP_COMMON_H
#define OTELP_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTELP_EXPORT __attribute__((visibility("default")))
#define OTELP_TLS    __thread __attribute__((tls_model("initial-exec")))
/* Code that may run before a sanitizer runtime is ready (our dlsym is called by its start-up). */
#define OTELP_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))

#define otelp_likely(x)   __builtin_expect(!!(x), 1)
#define otelp_unlikely(x) __builtin_expect(!!(x), 0)

#define OTELP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Run a block without letting it change the caller's errno. */
#define OTELP_SAVE_ERRNO(block)                 \
	do {                                    \
		int otelp_saved_errno_ = errno; \
		do {                            \
			block;                  \
		} while (0);                    \
		errno = otelp_saved_errno_;     \
	} while (0)

#ifdef OTELP_DEBUG
#include <stdlib.h>
#define OTELP_DEBUG_ASSERT(x)    \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)
#else
#define OTELP_DEBUG_ASSERT(x) ((void)0)
#endif

#define OTELP_SDK_NAME    "otelpreload"
#define OTELP_SDK_VERSION "0.1.0"
#define OTELP_SCOPE_NAME  "otelpreload"
#define OTELP_SCHEMA_URL  "https://opentelemetry.io/schemas/1.44.0"

/*
 * Lower-case hex of n bytes into out (2n chars, no terminator). Four bytes at a time in one
 * 64-bit word (a trace id is 16 bytes, and this runs for every injected header): each byte is
 * spread to a 16-bit lane, its nibbles swapped into reading order, and 0..15 turned into
 * '0'..'9' / 'a'..'f' for all eight at once.
 */
static inline uint64_t otelp__hex4(uint32_t v)
{
	uint64_t x = v;

	x = (x | x << 16) & 0x0000ffff0000ffffull;
	x = (x | x << 8) & 0x00ff00ff00ff00ffull;
	x = (x & 0x00f000f000f000f0ull) >> 4 | (x & 0x000f000f000f000full) << 8;
	/* 1 in each byte whose nibble is 10 or more. */
	uint64_t letter = ((x + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
	return x + 0x3030303030303030ull + letter * ('a' - '0' - 10);
}

static inline void otelp__hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t done = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	done = n & ~(size_t)3;
	for (size_t i = 0; i < done; i += 4) {
		uint32_t v;
		uint64_t h;

		__builtin_memcpy(&v, in + i, 4);
		h = otelp__hex4(v);
		__builtin_memcpy(out + 2 * i, &h, 8);
	}
#endif
	for (size_t i = done; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
}

/* Value of one hex digit (either case), or -1. */
static inline int otelp__hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 9110 token character (tchar): the bytes of a method, a field name, a media type... */
static inline bool otelp__is_tchar(unsigned char c)
{
	/* Bit c (c < 64) and bit c - 64 (c < 128) of these words. */
	static const uint64_t lo = 0x03ff6cfa00000000u, hi = 0x57ffffffc7fffffeu;

	return c < 64 ? (lo >> c) & 1 : c < 128 ? (hi >> (c - 64)) & 1 : false;
}

static inline bool otelp__all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * Cut p[0..len) so that it does not end inside a UTF-8 sequence: a lead byte whose sequence
 * the cut left incomplete is dropped with its continuation bytes (at most 3 bytes go).
 */
static inline size_t otelp__utf8_cut(const char *p, size_t len)
{
	size_t i = len, cont = 0;

	while (i > 0 && cont < 3 && ((unsigned char)p[i - 1] & 0xC0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return len;
	unsigned char lead = (unsigned char)p[i - 1];
	size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;

	return need > cont ? i - 1 : len;
}

/* A fast, seeded, non-cryptographic hash: mix one word in, or n bytes (with their count). */
static inline uint64_t otelp__hash_mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

static inline uint64_t otelp__hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		__builtin_memcpy(&v, c + i, 8);
		h = otelp__hash_mix(h, v);
	}
	if (i < n) {
		uint64_t v = 0;

		__builtin_memcpy(&v, c + i, n - i);
		h = otelp__hash_mix(h, v);
	}
	return otelp__hash_mix(h, n);
}

/*
 * otelp__hash_bytes(h, s + a, b - a), for a <= b <= n, when all of s[0..n) may be read: the
 * same words mixed in the same order, but the last bytes (fewer than 8) are read as one word of
 * s and masked instead of being copied by a call. (The summary cache's shapes are defined by
 * otelp__hash_bytes: the two must stay equal, which test-sql checks.)
 */
static inline __attribute__((always_inline)) uint64_t
otelp__hash_bytes_within(uint64_t h, const void *p, size_t n, size_t a, size_t b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned char *s = p;
	size_t i = a;
	uint64_t v, w;

	if (n < 8)
		return otelp__hash_bytes(h, s + a, b - a);
	for (; b - i >= 16; i += 16) {
		__builtin_memcpy(&v, s + i, 8);
		__builtin_memcpy(&w, s + i + 8, 8);
		h = otelp__hash_mix(otelp__hash_mix(h, v), w);
	}
	if (b - i >= 8) {
		__builtin_memcpy(&v, s + i, 8);
		h = otelp__hash_mix(h, v);
		i += 8;
	}
	if (i < b) {
		unsigned r = (unsigned)(b - i);

		if (n - i >= 8) {
			__builtin_memcpy(&v, s + i, 8);
		} else { /* s[i] is byte i - (n - 8) of the last 8 */
			__builtin_memcpy(&v, s + n - 8, 8);
			v >>= 8 * (i + 8 - n);
		}
		h = otelp__hash_mix(h, v & (~(uint64_t)0 >> (64 - 8 * r)));
	}
	return otelp__hash_mix(h, b - a);
#else
	(void)n;
	return otelp__hash_bytes(h, (const unsigned char *)p + a, b - a);
#endif
}

/* Copy n bytes; the short ones (most strings of a span) without a call to memcpy. */
static inline void otelp__copy_short(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	if (n > 16) {
		__builtin_memcpy(d, s, n);
	} else if (n >= 8) { /* two words, overlapping when n < 16 */
		uint64_t x, y;

		__builtin_memcpy(&x, s, 8);
		__builtin_memcpy(&y, s + n - 8, 8);
		__builtin_memcpy(d, &x, 8);
		__builtin_memcpy(d + n - 8, &y, 8);
	} else if (n >= 4) {
		uint32_t x, y;

		__builtin_memcpy(&x, s, 4);
		__builtin_memcpy(&y, s + n - 4, 4);
		__builtin_memcpy(d, &x, 4);
		__builtin_memcpy(d + n - 4, &y, 4);
	} else if (n) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* Wall clock in nanoseconds since the epoch (vDSO, no syscall). */
uint64_t otelp__now_ns(void);
/* Monotonic clock in nanoseconds, for deadlines. */
uint64_t otelp__mono_ns(void);

#endif
