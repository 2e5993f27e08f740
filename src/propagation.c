/*
 * Context propagation formats: W3C traceparent / tracestate, W3C baggage, B3.
 *
 * DESIGN
 * ------
 * Every function here is a pure function over byte ranges that are NOT NUL-terminated: the
 * headers come straight out of a host's socket buffers. Nothing allocates, nothing keeps state,
 * nothing prints; the only memory written is the caller's output. Each parser is a single
 * forward scan with explicit length checks before every access, so it is safe on any input
 * (it is fuzzed under ASan/UBSan, tests/fuzz/fuzz-propagation.c). The per-request paths work
 * on many bytes at once; tests/fuzz/fuzz-prop-diff.c checks them, portable build included,
 * against this file as it was before (tests/fuzz/prop-ref.c), byte for byte.
 *
 * Comma-separated lists (tracestate, baggage) may arrive as several header lines that HTTP
 * says must be combined with ",". Instead of copying them into a scratch buffer (whose size we
 * could not bound), the list parsers walk a member iterator that visits the members of every
 * matching header in order, which is the same thing as walking the combined value: a member
 * never spans two header lines.
 *
 * Decisions (OTel spec checklist, section 5):
 *  - traceparent: reserved trace-flags bits are cleared at parse time, so every consumer of
 *    the context (sampler, links, OTLP flags) only ever sees the defined bits (0x01 sampled,
 *    0x02 random); format masks again because a context may also come from elsewhere.
 *  - tracestate: the 32-member limit counts non-empty members; empty and OWS-only members are
 *    allowed and dropped. A duplicate key keeps its first occurrence. Truncation first removes
 *    members longer than 128 characters, right-most first, then members from the right, and
 *    stops as soon as the list fits.
 *  - baggage: members are kept in order while they fit the limits; the first member that would
 *    exceed one ends the list (whole members dropped from the right). Malformed members are
 *    dropped one by one. Values are passed through still percent-encoded.
 *  - B3: an absent sampling state ("defer") gives trace-flags 0, as the OpenTelemetry JS and
 *    Go B3 propagators do; our context cannot carry "deferred", so injection then says "0".
 *    Only the deny-only "0" form is accepted without ids ("1" or "d" alone carry nothing we
 *    can use and are rejected). Malformed values never fall back to guesses.
 *  - Extraction: for every B3 header the first value wins; a b3 single header that is invalid
 *    or deny-only falls back to the X-B3-* headers (as OTel Go does). A header whose value
 *    pointer is NULL is treated as absent.
 *  - Output buffers smaller than the W3C limits lower the limits (whole members still).
 *  - Injection never writes a tracestate or baggage value holding control or non-ASCII bytes
 *    (it could end the header line); such a line is left out, the others are still written.
 */
#include <string.h>

/*
 * x86-64 always has SSE2: hex is decoded and encoded 16 digits at a time there. Elsewhere (and
 * when OTELP_PROP_PORTABLE is defined, which the differential fuzz target does to test it), the
 * same results come from 64-bit words and a table.
 */
#if defined(__SSE2__) && !defined(OTELP_PROP_PORTABLE)
#include <emmintrin.h>
#define PROP_SSE2 1
#else
#define PROP_SSE2 0
#endif

#include "common.h"
#include "config.h"
#include "propagation.h"

#define TS_MEMBER_TRUNC 128 /* tracestate members longer than this are truncated away first */
#define TS_KEY_MAX      256
#define TS_VALUE_MAX    256

/* ---- character classes ---- */

/*
 * The classes the list parsers test, one byte per character (one load and one test per byte),
 * computed by the compiler from the definitions below.
 */
enum {
	P_OWS = 1 << 0,     /* space, tab */
	P_TS_KEY0 = 1 << 1, /* first char of a tracestate key: lcalpha / DIGIT */
	P_TS_KEY = 1 << 2,  /* tracestate keychar (Level 2): lcalpha / DIGIT / "_-*" "/" "@" */
	P_TS_VAL = 1 << 3,  /* tracestate value: nblk-chr (%x21-2B / %x2D-3C / %x3E-7E) or space */
	P_BAGGAGE = 1 << 4, /* W3C baggage octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
	P_TCHAR = 1 << 5,   /* RFC 9110 tchar (otelp__is_tchar) */
	P_PRINT = 1 << 6,   /* %x21-7E */
	P_SAFE = 1 << 7     /* may go into a header value we write: %x20-7E and tab */
};

#define PC_LCALPHA(c) ((c) >= 'a' && (c) <= 'z')
#define PC_DIGIT(c)   ((c) >= '0' && (c) <= '9')
#define PC_PRINT(c)   ((c) >= 0x21 && (c) <= 0x7E)
#define PC(c)                                                                                     \
	(((c) == ' ' || (c) == '\t' ? P_OWS : 0) |                                                \
	 (PC_LCALPHA(c) || PC_DIGIT(c) ? P_TS_KEY0 : 0) |                                         \
	 (PC_LCALPHA(c) || PC_DIGIT(c) || (c) == '_' || (c) == '-' || (c) == '*' || (c) == '/' || \
	          (c) == '@'                                                                      \
	      ? P_TS_KEY                                                                          \
	      : 0) |                                                                              \
	 ((c) == ' ' || (PC_PRINT(c) && (c) != ',' && (c) != '=') ? P_TS_VAL : 0) |               \
	 ((c) == 0x21 || ((c) >= 0x23 && (c) <= 0x2B) || ((c) >= 0x2D && (c) <= 0x3A) ||          \
	          ((c) >= 0x3C && (c) <= 0x5B) || ((c) >= 0x5D && (c) <= 0x7E)                    \
	      ? P_BAGGAGE                                                                         \
	      : 0) |                                                                              \
	 ((((c) < 64    ? 0x03ff6cfa00000000ull >> ((c)&63)                                       \
	    : (c) < 128 ? 0x57ffffffc7fffffeull >> ((c)&63)                                       \
	                : 0) &                                                                    \
	   1)                                                                                     \
	      ? P_TCHAR                                                                           \
	      : 0) |                                                                              \
	 (PC_PRINT(c) ? P_PRINT : 0) | (((c) >= 0x20 && (c) <= 0x7E) || (c) == '\t' ? P_SAFE : 0))
#define PC4(c)  PC(c), PC((c) + 1), PC((c) + 2), PC((c) + 3)
#define PC16(c) PC4(c), PC4((c) + 4), PC4((c) + 8), PC4((c) + 12)
#define PC64(c) PC16(c), PC16((c) + 16), PC16((c) + 32), PC16((c) + 48)
static const uint8_t pcls[256] = {PC64(0), PC64(64), PC64(128), PC64(192)};

static inline bool is_ows(unsigned char c)
{
	return pcls[c] & P_OWS;
}

static inline bool is_ts_key0(unsigned char c)
{
	return pcls[c] & P_TS_KEY0;
}

static inline bool is_ts_keychar(unsigned char c)
{
	return pcls[c] & P_TS_KEY;
}

static inline bool is_ts_value(unsigned char c)
{
	return pcls[c] & P_TS_VAL;
}

static inline bool is_baggage_octet(unsigned char c)
{
	return pcls[c] & P_BAGGAGE;
}

static inline bool is_tchar(unsigned char c)
{
	return pcls[c] & P_TCHAR;
}

static inline bool is_print(unsigned char c)
{
	return pcls[c] & P_PRINT;
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Strip OWS (spaces and tabs) on both ends of [*p, *p + *n). */
static void trim_ows(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;

	while (len > 0 && is_ows((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_ows((unsigned char)s[len - 1]))
		len--;
	*p = s;
	*n = len;
}

/* ---- words ---- */

#define BYTES(b) (0x0101010101010101ull * (uint8_t)(b))

/* Bytes s[0..8) as a word whose lowest byte is s[0], whatever the host's byte order. */
static inline uint64_t load_le64(const char *s)
{
	uint64_t x;

	memcpy(&x, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

static inline uint32_t load_le32(const char *s)
{
	uint32_t x;

	memcpy(&x, s, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap32(x);
#endif
	return x;
}

static inline uint16_t load_le16(const char *s)
{
	uint16_t x;

	memcpy(&x, s, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap16(x);
#endif
	return x;
}

/* ---- hex ---- */

/*
 * What the parsers accept as hex is lower case only (W3C trace context and B3 alike): '0'-'9'
 * and 'a'-'f'. Decoding checks every digit and decides once for the whole value: any failure
 * gives the same result, whichever byte it was.
 */

/* "000102...ff": the two lower-case hex digits of byte value b at 2 * b, for encoding. */
#define HEX_ROW(h)                                                                            \
	h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h \
	  "e" h "f"
static const char hex_pairs[513] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3") HEX_ROW("4")
    HEX_ROW("5") HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b")
        HEX_ROW("c") HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");

#if PROP_SSE2

/*
 * Sixteen lower-case hex digits to eight byte values, each in the low byte of its 16-bit lane
 * (what _mm_packus_epi16 packs). *ok keeps 0xff only in the bytes that are such digits. The
 * compares are signed: bytes from 0x80 up are negative and fall in neither range.
 */
static inline __m128i lchex16(__m128i x, __m128i *ok)
{
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
	                              _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)),
	                               _mm_cmplt_epi8(x, _mm_set1_epi8('f' + 1)));
	/* A digit's value is its low nibble, plus 9 for 'a'-'f'. */
	__m128i v = _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0f)),
	                         _mm_and_si128(letter, _mm_set1_epi8(9)));

	*ok = _mm_and_si128(*ok, _mm_or_si128(digit, letter));
	/* Lane k holds digits 2k (high nibble) and 2k + 1 (low nibble). */
	return _mm_and_si128(_mm_or_si128(_mm_slli_epi16(v, 4), _mm_srli_epi16(v, 8)),
	                     _mm_set1_epi16(0xff));
}

static inline bool all_ok(__m128i ok)
{
	return _mm_movemask_epi8(ok) == 0xffff;
}

/* Decode 2 * nbytes lowercase hex digits, nbytes a multiple of 8; false on anything else. */
static bool lchex_decode(const char *s, size_t nbytes, uint8_t *out)
{
	__m128i ok = _mm_set1_epi8(-1);

	for (size_t i = 0; i < nbytes; i += 8) {
		__m128i b = lchex16(_mm_loadu_si128((const __m128i *)(s + 2 * i)), &ok);

		_mm_storel_epi64((__m128i *)(out + i), _mm_packus_epi16(b, b));
	}
	return all_ok(ok);
}

/* '0'-'9' / 'a'-'f' for the values 0..15 of every byte of n. */
static inline __m128i hex_chars(__m128i n)
{
	__m128i letter =
	    _mm_and_si128(_mm_cmpgt_epi8(n, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));

	return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')), letter);
}

/* Lower-case hex of the 8 bytes at in (16 chars, no terminator). */
static inline void hex8(char *out, const uint8_t *in)
{
	__m128i x = _mm_loadl_epi64((const __m128i *)in);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(0x0f));
	__m128i lo = _mm_and_si128(x, _mm_set1_epi8(0x0f));

	_mm_storeu_si128((__m128i *)out, hex_chars(_mm_unpacklo_epi8(hi, lo)));
}

/* Lower-case hex of the 16 bytes at in (32 chars, no terminator). */
static inline void hex16(char *out, const uint8_t *in)
{
	__m128i x = _mm_loadu_si128((const __m128i *)in);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(0x0f));
	__m128i lo = _mm_and_si128(x, _mm_set1_epi8(0x0f));

	_mm_storeu_si128((__m128i *)out, hex_chars(_mm_unpacklo_epi8(hi, lo)));
	_mm_storeu_si128((__m128i *)(out + 16), hex_chars(_mm_unpackhi_epi8(hi, lo)));
}

/*
 * The digits of a traceparent v[0..55): version, trace id, span id, flags (raw), whether all
 * of them are lower-case hex. The dashes are the caller's.
 */
static inline bool traceparent_digits(const char *v, uint8_t trace[16], uint8_t span[8],
                                      uint8_t *version, uint8_t *flags)
{
	__m128i ok = _mm_set1_epi8(-1);
	__m128i t = _mm_packus_epi16(lchex16(_mm_loadu_si128((const __m128i *)(v + 3)), &ok),
	                             lchex16(_mm_loadu_si128((const __m128i *)(v + 19)), &ok));
	__m128i s = lchex16(_mm_loadu_si128((const __m128i *)(v + 36)), &ok);
	/* Version and flags: their four digits, then twelve '0' that decode to nothing. */
	uint32_t vf4 = (uint32_t)load_le16(v) | (uint32_t)load_le16(v + 53) << 16;
	__m128i vf = lchex16(_mm_or_si128(_mm_cvtsi32_si128((int)vf4),
	                                  _mm_set_epi32(0x30303030, 0x30303030, 0x30303030, 0)),
	                     &ok);
	uint32_t lanes = (uint32_t)_mm_cvtsi128_si32(vf);

	_mm_storeu_si128((__m128i *)trace, t);
	_mm_storel_epi64((__m128i *)span, _mm_packus_epi16(s, s));
	*version = (uint8_t)lanes;
	*flags = (uint8_t)(lanes >> 16);
	return all_ok(ok);
}

#else /* !PROP_SSE2 */

/* The inverse of load_le32: the lowest byte of x goes to out[0]. */
static inline void store_le32(uint8_t *out, uint32_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap32(x);
#endif
	memcpy(out, &x, 4);
}

/*
 * Eight lower-case hex digits (x, first digit in the lowest byte) to four bytes (the first in
 * the lowest byte of the result), all at once. Every byte of x that is not '0'-'9' or 'a'-'f'
 * (upper case included) sets bit 7 of its byte in *bad; the result is then garbage.
 *
 * Range test of a byte b below 0x80: b + (0x80 - lo) has bit 7 set exactly when b >= lo, and
 * b + (0x7f - hi) has it clear exactly when b <= hi; neither sum carries into the next byte.
 * A byte from 0x80 up is flagged by its own bit 7 (its sums may carry, but the whole value is
 * rejected then).
 */
static inline uint32_t lchex8(uint64_t x, uint64_t *bad)
{
	uint64_t digit = (x + BYTES(0x80 - '0')) & ~(x + BYTES(0x7f - '9'));
	uint64_t letter = (x + BYTES(0x80 - 'a')) & ~(x + BYTES(0x7f - 'f'));
	uint64_t v;

	*bad |= (x | ~(digit | letter)) & BYTES(0x80);
	/* A digit's value is its low nibble, plus 9 for 'a'-'f' (the only ones with bit 6 set). */
	v = (x & BYTES(0x0f)) + ((x >> 6) & BYTES(0x01)) * 9;
	/* Each pair of nibbles into the low byte of its 16-bit lane, then the four lanes packed. */
	v = (v << 4 | v >> 8) & 0x00ff00ff00ff00ffull;
	v = (v | v >> 8) & 0x0000ffff0000ffffull;
	return (uint32_t)(v | v >> 16);
}

/* Decode 2 * nbytes lowercase hex digits, nbytes a multiple of 8; false on anything else. */
static bool lchex_decode(const char *s, size_t nbytes, uint8_t *out)
{
	uint64_t bad = 0;

	for (size_t i = 0; i < nbytes; i += 4)
		store_le32(out + i, lchex8(load_le64(s + 2 * i), &bad));
	return bad == 0;
}

/* Lower-case hex of the 8 bytes at in (16 chars, no terminator). */
static inline void hex8(char *out, const uint8_t *in)
{
#pragma GCC unroll 8
	for (size_t i = 0; i < 8; i++)
		memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
}

static inline void hex16(char *out, const uint8_t *in)
{
	hex8(out, in);
	hex8(out + 16, in + 8);
}

static inline bool traceparent_digits(const char *v, uint8_t trace[16], uint8_t span[8],
                                      uint8_t *version, uint8_t *flags)
{
	uint64_t bad = 0;
	/* Version and flags decoded together: their four digits, padded with '0'. */
	uint32_t vf = lchex8(
	    (uint64_t)load_le16(v) | (uint64_t)load_le16(v + 53) << 16 | BYTES('0') << 32, &bad);

	store_le32(trace, lchex8(load_le64(v + 3), &bad));
	store_le32(trace + 4, lchex8(load_le64(v + 11), &bad));
	store_le32(trace + 8, lchex8(load_le64(v + 19), &bad));
	store_le32(trace + 12, lchex8(load_le64(v + 27), &bad));
	store_le32(span, lchex8(load_le64(v + 36), &bad));
	store_le32(span + 4, lchex8(load_le64(v + 44), &bad));
	*version = (uint8_t)vf;
	*flags = (uint8_t)(vf >> 8);
	return bad == 0;
}

#endif /* PROP_SSE2 */

static inline bool ids_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;

	for (size_t i = 0; i < n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	return acc == 0;
}

/* ---- header names ---- */

/*
 * name[0..n) equals lit (lit_len bytes, 2 to 16, ASCII; lower case and a compile-time
 * constant where this is inlined), the name's upper-case letters matching lit's lower-case
 * ones: what otelp__header_name_is says, with the lengths compared first and the bytes compared
 * a word at a time (two overlapping words cover any length up to twice theirs). Only a byte of
 * lit that is a letter lets bit 5 of the name's byte differ.
 */
static inline __attribute__((always_inline)) bool name_eq(const char *name, size_t n,
                                                          const char *lit, size_t lit_len)
{
	uint64_t a, b, la, lb, fa, fb;

	if (n != lit_len || !name)
		return false;
	if (lit_len >= 8) {
		a = load_le64(name);
		b = load_le64(name + n - 8);
		la = load_le64(lit);
		lb = load_le64(lit + lit_len - 8);
	} else if (lit_len >= 4) {
		a = load_le32(name);
		b = load_le32(name + n - 4);
		la = load_le32(lit);
		lb = load_le32(lit + lit_len - 4);
	} else {
		a = load_le16(name);
		b = load_le16(name + n - 2);
		la = load_le16(lit);
		lb = load_le16(lit + lit_len - 2);
	}
	/* Bit 5 of each byte of lit that is 'a'-'z' (the range test of lchex8). */
	fa = ((la + BYTES(0x80 - 'a')) & ~(la + BYTES(0x7f - 'z')) & BYTES(0x80)) >> 2;
	fb = ((lb + BYTES(0x80 - 'a')) & ~(lb + BYTES(0x7f - 'z')) & BYTES(0x80)) >> 2;
	return (((a | fa) ^ la) | ((b | fb) ^ lb)) == 0;
}

/* name_eq with a string literal. */
#define NAME_IS(name, n, lit) name_eq(name, n, lit, sizeof(lit) - 1)

bool otelp__header_name_is(const char *name, size_t len, const char *lower)
{
	size_t i;

	if (!lower || (!name && len))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i], l = (unsigned char)lower[i];

		/* l == '\0' means the literal is shorter than name: no match. */
		if (l == '\0' || (c != l && ascii_lower(c) != l))
			return false;
	}
	return lower[i] == '\0';
}

/* ---- member iterator over one or several comma-combined header values ---- */

/* Which headers an iterator visits. */
enum member_names {
	NAMES_ALL,        /* every one (the value of one header, handed over directly) */
	NAMES_TRACESTATE, /* "tracestate", any case */
	NAMES_BAGGAGE,    /* "baggage", any case */
};

struct member_iter {
	const struct otelp_header *h;
	size_t nh;
	enum member_names names;
	size_t hi;  /* current header */
	size_t off; /* next member starts here; > value_len: header exhausted */
};

static void member_iter_init(struct member_iter *it, const struct otelp_header *h, size_t nh,
                             enum member_names names)
{
	it->h = h;
	it->nh = nh;
	it->names = names;
	it->hi = 0;
	it->off = 0;
}

static bool member_iter_wants(const struct member_iter *it, const struct otelp_header *h)
{
	switch (it->names) {
	case NAMES_TRACESTATE:
		return NAME_IS(h->name, h->name_len, "tracestate");
	case NAMES_BAGGAGE:
		return NAME_IS(h->name, h->name_len, "baggage");
	default:
		return true;
	}
}

/* Next raw (untrimmed, possibly empty) member; false at the end of the combined list. */
static bool member_next(struct member_iter *it, const char **p, size_t *len)
{
	while (it->hi < it->nh) {
		const struct otelp_header *h = &it->h[it->hi];

		/*
		 * A NULL value is skipped rather than offset: NULL + 0 is already undefined. The
		 * name is checked when the header is reached (off 0): later members are of a header
		 * that passed.
		 */
		if (!h->value || it->off > h->value_len ||
		    (it->off == 0 && !member_iter_wants(it, h))) {
			it->hi++;
			it->off = 0;
			continue;
		}
		const char *start = h->value + it->off;
		size_t rest = h->value_len - it->off;
		const char *comma = memchr(start, ',', rest);
		size_t mlen = comma ? (size_t)(comma - start) : rest;

		*p = start;
		*len = mlen;
		it->off += mlen + 1; /* past the comma, or past the end: exhausted */
		return true;
	}
	return false;
}

/* ---- traceparent ---- */

int otelp__traceparent_parse(const char *v, size_t n, struct otelp_ctx *out)
{
	uint8_t version, flags;

	/* Decoded straight into *out, which every failure clears (as it always was). */
	if (!v)
		goto invalid;
	if (n > 0 && (is_ows((unsigned char)v[0]) || is_ows((unsigned char)v[n - 1])))
		trim_ows(&v, &n);
	if (n < OTELP_TRACEPARENT_LEN)
		goto invalid;
	if (!traceparent_digits(v, out->trace_id, out->span_id, &version, &flags) ||
	    version == 0xff || v[2] != '-' || v[35] != '-' || v[52] != '-')
		goto invalid;
	/*
	 * Version 00 is exactly 55 chars. A later version may append fields, but only after a
	 * "-": the part we understand must still be a well-formed prefix.
	 */
	if (version == 0 && n != OTELP_TRACEPARENT_LEN)
		goto invalid;
	if (n > OTELP_TRACEPARENT_LEN && v[OTELP_TRACEPARENT_LEN] != '-')
		goto invalid;
	if (ids_zero(out->trace_id, 16) || ids_zero(out->span_id, 8))
		goto invalid;
	out->flags = flags & (OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM);
	out->remote = true;
	out->valid = true;
	out->b3_debug = false;
	out->span = NULL;
	return 0;

invalid:
	memset(out, 0, sizeof(*out));
	return -1;
}

static inline void format_traceparent(const struct otelp_ctx *c, char *out)
{
	uint8_t flags = c->flags & (OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM);

	memcpy(out, "00-", 3);
	hex16(out + 3, c->trace_id);
	out[35] = '-';
	hex8(out + 36, c->span_id);
	out[52] = '-';
	memcpy(out + 53, hex_pairs + 2 * flags, 2);
}

void otelp__traceparent_format(const struct otelp_ctx *c, char out[OTELP_TRACEPARENT_LEN])
{
	format_traceparent(c, out);
}

/* ---- tracestate ---- */

struct ts_member {
	const char *p;
	size_t len;
	size_t key_len;
	bool dropped;
};

static bool ts_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > TS_KEY_MAX)
		return false;
	if (!is_ts_key0((unsigned char)k[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_ts_keychar((unsigned char)k[i]))
			return false;
	return true;
}

/* The member was trimmed of OWS, so the value never ends in a space (nblk-chr) here. */
static bool ts_value_ok(const char *v, size_t n)
{
	if (n == 0 || n > TS_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!is_ts_value(c))
			return false;
	}
	return true;
}

/* Length of the kept members joined by ",". */
static size_t ts_joined_len(const struct ts_member *m, size_t k)
{
	size_t total = 0, kept = 0;

	for (size_t i = 0; i < k; i++) {
		if (m[i].dropped)
			continue;
		total += m[i].len;
		kept++;
	}
	return total + (kept ? kept - 1 : 0);
}

static int tracestate_parse_iter(struct member_iter *it, char *out, size_t cap)
{
	struct ts_member m[OTELP_TRACESTATE_MEMBERS];
	size_t k = 0, members = 0, limit, total, pos = 0;
	const char *p;
	size_t len;

	if (!out || cap == 0)
		return -1;
	out[0] = '\0';

	while (member_next(it, &p, &len)) {
		const char *eq;
		size_t key_len;
		bool dup = false;

		trim_ows(&p, &len);
		if (len == 0)
			continue; /* empty and OWS-only members are allowed, and removed */
		if (++members > OTELP_TRACESTATE_MEMBERS)
			return -1;
		eq = memchr(p, '=', len);
		if (!eq)
			return -1;
		key_len = (size_t)(eq - p);
		if (!ts_key_ok(p, key_len) || !ts_value_ok(eq + 1, len - key_len - 1))
			return -1;
		for (size_t i = 0; i < k && !dup; i++)
			dup = m[i].key_len == key_len && memcmp(m[i].p, p, key_len) == 0;
		if (dup)
			continue;
		m[k].p = p;
		m[k].len = len;
		m[k].key_len = key_len;
		m[k].dropped = false;
		k++;
	}

	limit = cap - 1 < OTELP_TRACESTATE_MAX ? cap - 1 : OTELP_TRACESTATE_MAX;
	total = ts_joined_len(m, k);
	/* First the right-most members longer than 128 characters, while still too long... */
	for (size_t i = k; i-- > 0 && total > limit;) {
		if (m[i].len > TS_MEMBER_TRUNC) {
			m[i].dropped = true;
			total = ts_joined_len(m, k);
		}
	}
	/* ...then any member, from the right. */
	for (size_t i = k; i-- > 0 && total > limit;) {
		if (!m[i].dropped) {
			m[i].dropped = true;
			total = ts_joined_len(m, k);
		}
	}

	for (size_t i = 0; i < k; i++) {
		if (m[i].dropped)
			continue;
		if (pos)
			out[pos++] = ',';
		memcpy(out + pos, m[i].p, m[i].len);
		pos += m[i].len;
	}
	out[pos] = '\0';
	return (int)pos;
}

int otelp__tracestate_parse(const char *v, size_t n, char *out, size_t cap)
{
	struct otelp_header h = {.name = NULL, .name_len = 0, .value = v, .value_len = n};
	struct member_iter it;

	member_iter_init(&it, &h, 1, NAMES_ALL);
	return tracestate_parse_iter(&it, out, cap);
}

/* ---- baggage ---- */

/*
 * Properties ("; prop[=value]" ...) are kept as written but validated loosely: each one is
 * empty or a token key, optionally followed by OWS "=" OWS and printable characters (not
 * ";"), with OWS around. Everything else (control characters, non-ASCII, quotes inside a key)
 * makes the member malformed.
 */
static bool baggage_props_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		/* s[i] is ';' here. */
		i++;
		while (i < n && is_ows((unsigned char)s[i]))
			i++;
		while (i < n && is_tchar((unsigned char)s[i]))
			i++;
		while (i < n && is_ows((unsigned char)s[i]))
			i++;
		if (i < n && s[i] == '=') {
			i++;
			while (i < n && is_ows((unsigned char)s[i]))
				i++;
			while (i < n && s[i] != ';' && is_print((unsigned char)s[i]))
				i++;
			while (i < n && is_ows((unsigned char)s[i]))
				i++;
		}
		if (i < n && s[i] != ';')
			return false;
	}
	return true;
}

/*
 * Parse one trimmed member "key OWS = OWS value *(OWS ; property)". On success gives the key,
 * the value and the properties part (starting at its ';', or empty).
 */
static bool baggage_member(const char *p, size_t n, size_t *key_len, const char **val,
                           size_t *val_len, const char **props, size_t *props_len)
{
	size_t i = 0, vs;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0)
		return false;
	*key_len = i;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	if (i == n || p[i] != '=')
		return false;
	i++;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	vs = i;
	while (i < n && is_baggage_octet((unsigned char)p[i]))
		i++;
	*val = p + vs;
	*val_len = i - vs;
	while (i < n && is_ows((unsigned char)p[i]))
		i++;
	if (i < n && p[i] != ';')
		return false;
	*props = p + i;
	*props_len = n - i;
	return baggage_props_ok(*props, *props_len);
}

static size_t baggage_parse_iter(struct member_iter *it, char *out, size_t cap)
{
	size_t limit, pos = 0, count = 0;
	const char *p;
	size_t len;

	if (!out || cap == 0)
		return 0;
	out[0] = '\0';
	limit = cap - 1 < OTELP_BAGGAGE_MAX ? cap - 1 : OTELP_BAGGAGE_MAX;

	while (member_next(it, &p, &len)) {
		const char *val, *props;
		size_t key_len, val_len, props_len, mlen;

		trim_ows(&p, &len);
		if (len == 0)
			continue;
		if (!baggage_member(p, len, &key_len, &val, &val_len, &props, &props_len))
			continue; /* malformed: drop this member only */
		mlen = key_len + 1 + val_len + props_len + (pos ? 1 : 0);
		/* Whole members only: the first one that does not fit ends the list. */
		if (count == OTELP_BAGGAGE_MEMBERS || mlen > limit - pos)
			break;
		if (pos)
			out[pos++] = ',';
		memcpy(out + pos, p, key_len);
		pos += key_len;
		out[pos++] = '=';
		memcpy(out + pos, val, val_len);
		pos += val_len;
		memcpy(out + pos, props, props_len);
		pos += props_len;
		count++;
	}
	out[pos] = '\0';
	return pos;
}

size_t otelp__baggage_parse(const char *v, size_t n, char *out, size_t cap)
{
	struct otelp_header h = {.name = NULL, .name_len = 0, .value = v, .value_len = n};
	struct member_iter it;

	member_iter_init(&it, &h, 1, NAMES_ALL);
	return baggage_parse_iter(&it, out, cap);
}

/* ---- B3 ---- */

/* A B3 trace id: 32 lowercase hex digits, or 16 left-padded with zeros. */
static bool b3_trace_id(const char *s, size_t n, uint8_t out[16])
{
	if (n == 32)
		return lchex_decode(s, 16, out);
	if (n == 16) {
		memset(out, 0, 8);
		return lchex_decode(s, 8, out + 8);
	}
	return false;
}

static int b3_finish(struct otelp_ctx *c, bool sampled, bool debug)
{
	if (ids_zero(c->trace_id, 16) || ids_zero(c->span_id, 8)) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	/* Debug implies an accept decision. */
	c->flags = (sampled || debug) ? OTELP_TRACE_FLAG_SAMPLED : 0;
	c->b3_debug = debug;
	c->remote = true;
	c->valid = true;
	return 0;
}

int otelp__b3_single_parse(const char *v, size_t n, struct otelp_ctx *out)
{
	struct otelp_ctx c;
	size_t tlen, pos;
	bool sampled = false, debug = false;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -1;
	trim_ows(&v, &n);
	if (n == 1 && v[0] == '0')
		return 1; /* deny-only */

	/* A 16-digit trace id has its "-" at 16; a 32-digit one has a hex digit there. */
	if (n > 16 && v[16] == '-')
		tlen = 16;
	else if (n > 32 && v[32] == '-')
		tlen = 32;
	else
		return -1;

	memset(&c, 0, sizeof(c));
	if (!b3_trace_id(v, tlen, c.trace_id))
		return -1;
	pos = tlen + 1;
	if (n - pos < 16 || !lchex_decode(v + pos, 8, c.span_id))
		return -1;
	pos += 16;
	if (pos < n) {
		if (v[pos] != '-' || n - pos < 2)
			return -1;
		pos++;
		switch (v[pos]) {
		case '1':
			sampled = true;
			break;
		case '0':
			break;
		case 'd':
			debug = true;
			break;
		default:
			return -1;
		}
		pos++;
		if (pos < n) {
			uint8_t parent[8];

			/* Only "-" and a valid parent span id may follow; it is not used. */
			if (v[pos] != '-' || n - pos - 1 != 16 ||
			    !lchex_decode(v + pos + 1, 8, parent) || ids_zero(parent, 8))
				return -1;
		}
	}
	/* Absent sampling state ("defer"): flags 0, like the OpenTelemetry JS/Go propagators. */
	if (b3_finish(&c, sampled, debug) < 0)
		return -1;
	*out = c;
	return 0;
}

/* X-B3-Sampled: "1"/"0", and leniently "true"/"false" in any case. */
static int b3_sampled_value(const char *s, size_t n)
{
	static const char t[] = "true", f[] = "false";

	if (n == 1 && s[0] == '1')
		return 1;
	if (n == 1 && s[0] == '0')
		return 0;
	if (otelp__header_name_is(s, n, t))
		return 1;
	if (otelp__header_name_is(s, n, f))
		return 0;
	return -1;
}

int otelp__b3_multi_parse(const char *trace_id, size_t trace_len, const char *span_id,
                          size_t span_len, const char *sampled, size_t sampled_len,
                          const char *flags, size_t flags_len, struct otelp_ctx *out)
{
	struct otelp_ctx c;
	int s = -1; /* -1: absent */
	bool debug = false;

	memset(out, 0, sizeof(*out));
	if (sampled) {
		trim_ows(&sampled, &sampled_len);
		s = b3_sampled_value(sampled, sampled_len);
		if (s < 0)
			return -1; /* present but empty or nonsense */
	}
	if (flags) {
		/* Only "1" means debug; any other value is ignored (B3 spec). */
		trim_ows(&flags, &flags_len);
		debug = flags_len == 1 && flags[0] == '1';
	}
	if (!trace_id && !span_id)
		return (s == 0 && !debug) ? 1 : -1;
	if (!trace_id || !span_id)
		return -1;
	trim_ows(&trace_id, &trace_len);
	trim_ows(&span_id, &span_len);

	memset(&c, 0, sizeof(c));
	if (!b3_trace_id(trace_id, trace_len, c.trace_id))
		return -1;
	if (span_len != 16 || !lchex_decode(span_id, 8, c.span_id))
		return -1;
	if (b3_finish(&c, s == 1, debug) < 0)
		return -1;
	*out = c;
	return 0;
}

/* ---- extract ---- */

/*
 * The headers extraction reads, found in one pass over the list: a name is compared only with
 * the names of its length, a word at a time.
 */
struct found {
	const struct otelp_header *tp; /* the first "traceparent", with or without a value */
	bool tp_twice;                 /* a second one */
	bool tracestate;               /* some "tracestate" with a value */
	bool baggage;                  /* some "baggage" with a value */
	/* The first of each B3 header with a value: the first value wins. */
	const struct otelp_header *b3, *tid, *sid, *smp, *flg;
};

static void find_headers(const struct otelp_header *h, size_t n, struct found *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		const struct otelp_header *x = &h[i];
		const char *name = x->name;
		bool v = x->value != NULL;

		switch (x->name_len) {
		case 2:
			if (v && !f->b3 && NAME_IS(name, 2, "b3"))
				f->b3 = x;
			break;
		case 7:
			if (v && NAME_IS(name, 7, "baggage"))
				f->baggage = true;
			break;
		case 10:
			if (v && NAME_IS(name, 10, "tracestate"))
				f->tracestate = true;
			else if (v && !f->flg && NAME_IS(name, 10, "x-b3-flags"))
				f->flg = x;
			break;
		case 11:
			if (NAME_IS(name, 11, "traceparent")) {
				if (f->tp)
					f->tp_twice = true;
				else
					f->tp = x;
			} else if (v && !f->sid && NAME_IS(name, 11, "x-b3-spanid")) {
				f->sid = x;
			}
			break;
		case 12:
			if (v && !f->tid && NAME_IS(name, 12, "x-b3-traceid"))
				f->tid = x;
			else if (v && !f->smp && NAME_IS(name, 12, "x-b3-sampled"))
				f->smp = x;
			break;
		default:
			break;
		}
	}
}

static void extract_w3c(const struct otelp_header *h, size_t n, const struct found *f,
                        struct otelp_extracted *out)
{
	struct member_iter it;
	int len;

	/* Two traceparent headers: invalid, restart the trace. */
	if (!f->tp || f->tp_twice)
		return;
	if (otelp__traceparent_parse(f->tp->value, f->tp->value_len, &out->ctx) < 0)
		return; /* tracestate is discarded without a valid traceparent */
	if (!f->tracestate)
		return; /* none: the empty list already there */

	member_iter_init(&it, h, n, NAMES_TRACESTATE);
	len = tracestate_parse_iter(&it, out->tracestate, sizeof(out->tracestate));
	if (len < 0) {
		out->tracestate[0] = '\0';
		out->tracestate_len = 0;
	} else {
		out->tracestate_len = (size_t)len;
	}
}

/* Value of a header found, or NULL (absent). */
static const char *found_value(const struct otelp_header *h, size_t *len)
{
	*len = h ? h->value_len : 0;
	return h ? h->value : NULL;
}

static void extract_b3(const struct found *f, struct otelp_extracted *out)
{
	const char *tid, *sid, *smp, *flg;
	size_t tl, sl, ml, fl;

	/* A valid single header wins; an invalid or deny-only one falls back to multi. */
	if (f->b3 && otelp__b3_single_parse(f->b3->value, f->b3->value_len, &out->ctx) == 0)
		return;
	tid = found_value(f->tid, &tl);
	sid = found_value(f->sid, &sl);
	smp = found_value(f->smp, &ml);
	flg = found_value(f->flg, &fl);
	if (otelp__b3_multi_parse(tid, tl, sid, sl, smp, ml, flg, fl, &out->ctx) != 0)
		memset(&out->ctx, 0, sizeof(out->ctx));
}

void otelp__extract(unsigned propagators, const struct otelp_header *h, size_t n,
                    struct otelp_extracted *out)
{
	struct found f;

	/* Not the whole struct: its buffers are 8.7 KiB, and only their lengths say what is set. */
	memset(&out->ctx, 0, sizeof(out->ctx));
	out->tracestate[0] = 0;
	out->tracestate_len = 0;
	out->baggage[0] = 0;
	out->baggage_len = 0;
	if (!h)
		n = 0;
	find_headers(h, n, &f);

	if (propagators & OTELP_PROP_TRACECONTEXT)
		extract_w3c(h, n, &f, out);
	/* Without a baggage header the list is empty, as it already is. */
	if ((propagators & OTELP_PROP_BAGGAGE) && f.baggage) {
		struct member_iter it;

		member_iter_init(&it, h, n, NAMES_BAGGAGE);
		out->baggage_len = baggage_parse_iter(&it, out->baggage, sizeof(out->baggage));
	}
	if ((propagators & (OTELP_PROP_B3 | OTELP_PROP_B3MULTI)) && !out->ctx.valid)
		extract_b3(&f, out);
}

/* ---- inject ---- */

struct wbuf {
	char *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

/*
 * A value we are about to write into a request must not be able to end the header line or
 * smuggle another one: printable ASCII and tabs only. Our parsers never produce anything
 * else, but the tracestate of a context may have been set through the API.
 */
static bool header_value_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(pcls[(unsigned char)s[i]] & P_SAFE))
			return false;
	return true;
}

size_t otelp__inject_headers(unsigned propagators, const struct otelp_ctx *ctx,
                             const char *tracestate, size_t tracestate_len, const char *baggage,
                             size_t baggage_len, char *out, size_t cap)
{
	struct wbuf w = {.p = out, .cap = out ? cap : 0, .len = 0, .overflow = false};
	char trace_hex[32], span_hex[16];

	if (!ctx || !ctx->valid || ids_zero(ctx->trace_id, 16) || ids_zero(ctx->span_id, 8))
		return 0;
	if (propagators & (OTELP_PROP_B3 | OTELP_PROP_B3MULTI)) {
		hex16(trace_hex, ctx->trace_id);
		hex8(span_hex, ctx->span_id);
	}

	if (propagators & OTELP_PROP_TRACECONTEXT) {
		/* The whole line written in place: it is in nearly every injection. */
		static const char name[] = "traceparent: ";
		size_t line = sizeof(name) - 1 + OTELP_TRACEPARENT_LEN + 2;

		if (line <= w.cap - w.len) {
			char *p = w.p + w.len;

			memcpy(p, name, sizeof(name) - 1);
			format_traceparent(ctx, p + sizeof(name) - 1);
			memcpy(p + line - 2, "\r\n", 2);
			w.len += line;
		} else {
			w.overflow = true;
		}
		if (tracestate && tracestate_len && header_value_safe(tracestate, tracestate_len)) {
			put_str(&w, "tracestate: ");
			put(&w, tracestate, tracestate_len);
			put_str(&w, "\r\n");
		}
	}
	if ((propagators & OTELP_PROP_BAGGAGE) && baggage && baggage_len &&
	    header_value_safe(baggage, baggage_len)) {
		put_str(&w, "baggage: ");
		put(&w, baggage, baggage_len);
		put_str(&w, "\r\n");
	}
	if (propagators & OTELP_PROP_B3) {
		put_str(&w, "b3: ");
		put(&w, trace_hex, sizeof(trace_hex));
		put_str(&w, "-");
		put(&w, span_hex, sizeof(span_hex));
		if (ctx->b3_debug)
			put_str(&w, "-d\r\n");
		else if (ctx->flags & OTELP_TRACE_FLAG_SAMPLED)
			put_str(&w, "-1\r\n");
		else
			put_str(&w, "-0\r\n");
	}
	if (propagators & OTELP_PROP_B3MULTI) {
		put_str(&w, "X-B3-TraceId: ");
		put(&w, trace_hex, sizeof(trace_hex));
		put_str(&w, "\r\nX-B3-SpanId: ");
		put(&w, span_hex, sizeof(span_hex));
		put_str(&w, "\r\n");
		/* Debug implies accept: X-B3-Sampled is not sent with it (B3 spec). */
		if (ctx->b3_debug)
			put_str(&w, "X-B3-Flags: 1\r\n");
		else if (ctx->flags & OTELP_TRACE_FLAG_SAMPLED)
			put_str(&w, "X-B3-Sampled: 1\r\n");
		else
			put_str(&w, "X-B3-Sampled: 0\r\n");
	}
	return w.overflow ? 0 : w.len;
}
