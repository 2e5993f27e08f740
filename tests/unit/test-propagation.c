/*
 * Unit tests for src/propagation.c: W3C traceparent / tracestate (including the cases of the
 * W3C trace-context test suite), W3C baggage, B3 single and multi, extraction with the
 * configured propagators and injection.
 *
 * Every parser input is first copied into a heap buffer of exactly its length, without a
 * terminating NUL, so that under ASan any read past the end of a header value fails the test.
 */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "propagation.h"

#define TRACE     "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN      "00f067aa0ba902b7"
#define TRACE16   "a3ce929d0e0e4736"
#define PARENT    "05e3ac9a4f6e3b90"
#define ZTRACE    "00000000000000000000000000000000"
#define ZSPAN     "0000000000000000"
#define TP(flags) "00-" TRACE "-" SPAN "-" flags

static const uint8_t trace_bin[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t span_bin[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t trace16_bin[16] = {0,    0,    0,    0,    0,    0,    0,    0,
                                        0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};

#define ALL_PROPS \
	(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE | OTELP_PROP_B3 | OTELP_PROP_B3MULTI)

/* ---- helpers: exact-length, unterminated copies ---- */

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

static int tp_parse_n(const char *s, size_t n, struct otelp_ctx *c)
{
	char *p = exact(s, n);
	int r;

	memset(c, 0xaa, sizeof(*c)); /* the parser must initialise everything */
	r = otelp__traceparent_parse(p, n, c);
	free(p);
	return r;
}

static int tp_parse(const char *s, struct otelp_ctx *c)
{
	return tp_parse_n(s, strlen(s), c);
}

static int ts_parse_cap(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = otelp__tracestate_parse(p, n, out, cap);

	free(p);
	return r;
}

static char ts_out[OTELP_TRACESTATE_MAX + 1];

static int ts_parse(const char *s)
{
	return ts_parse_cap(s, ts_out, sizeof(ts_out));
}

static char bg_out[OTELP_BAGGAGE_MAX + 1];

static size_t bg_parse_cap(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	size_t r = otelp__baggage_parse(p, n, out, cap);

	free(p);
	return r;
}

static size_t bg_parse(const char *s)
{
	return bg_parse_cap(s, bg_out, sizeof(bg_out));
}

static int b3s_parse_n(const char *s, size_t n, struct otelp_ctx *c)
{
	char *p = exact(s, n);
	int r;

	memset(c, 0xaa, sizeof(*c));
	r = otelp__b3_single_parse(p, n, c);
	free(p);
	return r;
}

static int b3s_parse(const char *s, struct otelp_ctx *c)
{
	return b3s_parse_n(s, strlen(s), c);
}

/* NULL arguments are absent headers. */
static int b3m_parse(const char *t, const char *s, const char *smp, const char *f,
                     struct otelp_ctx *c)
{
	size_t tl = t ? strlen(t) : 0, sl = s ? strlen(s) : 0;
	size_t ml = smp ? strlen(smp) : 0, fl = f ? strlen(f) : 0;
	char *tp = t ? exact(t, tl) : NULL, *sp = s ? exact(s, sl) : NULL;
	char *mp = smp ? exact(smp, ml) : NULL, *fp = f ? exact(f, fl) : NULL;
	int r;

	memset(c, 0xaa, sizeof(*c));
	r = otelp__b3_multi_parse(tp, tl, sp, sl, mp, ml, fp, fl, c);
	free(tp);
	free(sp);
	free(mp);
	free(fp);
	return r;
}

static void assert_ctx_zero(const struct otelp_ctx *c)
{
	struct otelp_ctx z;

	memset(&z, 0, sizeof(z));
	ck_assert(!c->valid);
	ck_assert_mem_eq(c->trace_id, z.trace_id, 16);
	ck_assert_mem_eq(c->span_id, z.span_id, 8);
	ck_assert_uint_eq(c->flags, 0);
	ck_assert(!c->remote);
	ck_assert(!c->b3_debug);
	ck_assert_ptr_null(c->span);
}

static void assert_ctx(const struct otelp_ctx *c, const uint8_t *trace, uint8_t flags, bool debug)
{
	ck_assert(c->valid);
	ck_assert(c->remote);
	ck_assert_ptr_null(c->span);
	ck_assert_mem_eq(c->trace_id, trace, 16);
	ck_assert_mem_eq(c->span_id, span_bin, 8);
	ck_assert_uint_eq(c->flags, flags);
	ck_assert_int_eq(c->b3_debug, debug);
}

/* A list of headers whose names and values are exact-length heap copies. */
struct hdrs {
	struct otelp_header h[16];
	size_t n;
};

static void hdr_add(struct hdrs *hs, const char *name, const char *value)
{
	struct otelp_header *h = &hs->h[hs->n++];

	ck_assert_uint_le(hs->n, OTELP_ARRAY_SIZE(hs->h));
	h->name_len = strlen(name);
	h->name = exact(name, h->name_len);
	h->value_len = strlen(value);
	h->value = exact(value, h->value_len);
}

static void hdrs_free(struct hdrs *hs)
{
	for (size_t i = 0; i < hs->n; i++) {
		free((void *)hs->h[i].name);
		free((void *)hs->h[i].value);
	}
	hs->n = 0;
}

static struct otelp_extracted ex;

static void extract(unsigned props, struct hdrs *hs)
{
	memset(&ex, 0xaa, sizeof(ex));
	otelp__extract(props, hs->h, hs->n, &ex);
	hdrs_free(hs);
}

/* "k<i>=<pad>" members of an exact total length each. */
static size_t member(char *out, const char *key, size_t len, char fill)
{
	size_t kl = strlen(key);

	memcpy(out, key, kl);
	out[kl] = '=';
	memset(out + kl + 1, fill, len - kl - 1);
	out[len] = '\0';
	return len;
}

/* ================================================================ traceparent */

START_TEST(tp_valid_v00)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse(TP("01"), &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(tp_parse(TP("00"), &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(tp_parse(TP("02"), &c), 0);
	assert_ctx(&c, trace_bin, 0x02, false);
	ck_assert_int_eq(tp_parse(TP("03"), &c), 0);
	assert_ctx(&c, trace_bin, 0x03, false);
}
END_TEST

START_TEST(tp_reserved_flags_masked)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse(TP("ff"), &c), 0);
	ck_assert_uint_eq(c.flags, 0x03);
	ck_assert_int_eq(tp_parse(TP("09"), &c), 0);
	ck_assert_uint_eq(c.flags, 0x01);
	ck_assert_int_eq(tp_parse(TP("fc"), &c), 0);
	ck_assert_uint_eq(c.flags, 0x00);
	ck_assert_int_eq(tp_parse(TP("06"), &c), 0);
	ck_assert_uint_eq(c.flags, 0x02);
}
END_TEST

START_TEST(tp_v00_exact_length)
{
	struct otelp_ctx c;

	ck_assert_uint_eq(strlen(TP("01")), OTELP_TRACEPARENT_LEN);
	/* Trailing data of any kind after a version 00 header. */
	ck_assert_int_eq(tp_parse(TP("01") ".", &c), -1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(tp_parse(TP("01") "-", &c), -1);
	ck_assert_int_eq(tp_parse(TP("01") "-extra", &c), -1);
	ck_assert_int_eq(tp_parse(TP("01") "0", &c), -1);
	ck_assert_int_eq(tp_parse(TP("01") "-what-the-future-will-be-like", &c), -1);
	/* Too short. */
	ck_assert_int_eq(tp_parse(TP("0"), &c), -1);
	ck_assert_int_eq(tp_parse(TP(""), &c), -1);
	ck_assert_int_eq(tp_parse("", &c), -1);
	ck_assert_int_eq(tp_parse("00", &c), -1);
	/* Every prefix of a valid header is invalid. */
	for (size_t n = 0; n < OTELP_TRACEPARENT_LEN; n++)
		ck_assert_int_eq(tp_parse_n(TP("01"), n, &c), -1);
}
END_TEST

START_TEST(tp_null_input)
{
	struct otelp_ctx c;

	memset(&c, 0xaa, sizeof(c));
	ck_assert_int_eq(otelp__traceparent_parse(NULL, 0, &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

START_TEST(tp_version_ff)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse("ff-" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("ff-" TRACE "-" SPAN "-01-extra", &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

START_TEST(tp_higher_versions)
{
	struct otelp_ctx c;

	/* Exactly 55 chars: fine. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(tp_parse("01-" TRACE "-" SPAN "-00", &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(tp_parse("fe-" TRACE "-" SPAN "-01", &c), 0);
	/* Future fields after a "-": fine. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01-what-the-future-will-be-like", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01-", &c), 0);
	/* Unknown flags of a future version are cleared too. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-ff-x", &c), 0);
	ck_assert_uint_eq(c.flags, 0x03);
	/* Anything but "-" after the flags: invalid. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01.what-the-future-will-be-like", &c), -1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01what", &c), -1);
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-011", &c), -1);
	/* Shorter than 55: invalid. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-0", &c), -1);
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN, &c), -1);
	/* Higher versions still need the v00 layout for the part we read. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "0-01", &c), -1);
}
END_TEST

START_TEST(tp_bad_version)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse("0-" TRACE "-" SPAN "-01x", &c), -1);
	ck_assert_int_eq(tp_parse("000" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("0g-" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("0A-" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("CC-" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("FF-" TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("-00" TRACE "-" SPAN "-01", &c), -1);
}
END_TEST

START_TEST(tp_uppercase_hex)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-4bf92f3577b34da6a3ce929d0e0e473A-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-00F067AA0BA902B7-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-00f067aa0ba902bB-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN "-0A", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN "-FF", &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

/* Each single character of a valid header, replaced by something illegal there, invalidates it. */
START_TEST(tp_each_position)
{
	static const char bad_hex[] = "gGA.-_ \t\x7f\x80z";
	static const char bad_dash[] = "0a_ .+\t";
	char buf[OTELP_TRACEPARENT_LEN + 1];
	struct otelp_ctx c;

	for (size_t i = 0; i < OTELP_TRACEPARENT_LEN; i++) {
		bool dash = i == 2 || i == 35 || i == 52;
		const char *bad = dash ? bad_dash : bad_hex;

		for (size_t j = 0; bad[j]; j++) {
			memcpy(buf, TP("01"), sizeof(buf));
			buf[i] = bad[j];
			ck_assert_msg(tp_parse(buf, &c) == -1, "position %zu char 0x%02x accepted",
			              i, (unsigned char)bad[j]);
		}
	}
}
END_TEST

START_TEST(tp_all_zero)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse("00-" ZTRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" ZSPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" ZTRACE "-" ZSPAN "-00", &c), -1);
	ck_assert_int_eq(tp_parse("cc-" ZTRACE "-" SPAN "-01-x", &c), -1);
	assert_ctx_zero(&c);
	/* Almost zero is fine. */
	ck_assert_int_eq(tp_parse("00-00000000000000000000000000000001-0000000000000001-01", &c),
	                 0);
}
END_TEST

START_TEST(tp_ows)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse(" " TP("01"), &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(tp_parse(TP("01") " ", &c), 0);
	ck_assert_int_eq(tp_parse("\t" TP("01") "\t", &c), 0);
	ck_assert_int_eq(tp_parse(" \t  " TP("01") "\t \t ", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	/* Inside the value, whitespace is not OWS. */
	ck_assert_int_eq(tp_parse("00- " TRACE "-" SPAN "-01", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN " -01", &c), -1);
	/* Other whitespace is not OWS. */
	ck_assert_int_eq(tp_parse("\n" TP("01"), &c), -1);
	ck_assert_int_eq(tp_parse(TP("01") "\r", &c), -1);
	ck_assert_int_eq(tp_parse("   ", &c), -1);
}
END_TEST

START_TEST(tp_wrong_lengths)
{
	struct otelp_ctx c;

	ck_assert_int_eq(tp_parse("00-4bf92f3577b34da6a3ce929d0e0e473-" SPAN "-01x", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "0-" SPAN "-0", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-00f067aa0ba902b-01x", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN "0-1", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN "-1", &c), -1);
	ck_assert_int_eq(tp_parse("00-" TRACE "-" SPAN "-001", &c), -1);
}
END_TEST

START_TEST(tp_format)
{
	struct otelp_ctx c, back;
	char out[OTELP_TRACEPARENT_LEN + 1];

	memset(&c, 0, sizeof(c));
	memcpy(c.trace_id, trace_bin, 16);
	memcpy(c.span_id, span_bin, 8);
	c.valid = true;
	c.flags = 0x01;
	memset(out, 'X', sizeof(out));
	otelp__traceparent_format(&c, out);
	ck_assert_int_eq(out[OTELP_TRACEPARENT_LEN], 'X'); /* no NUL written */
	out[OTELP_TRACEPARENT_LEN] = '\0';
	ck_assert_str_eq(out, TP("01"));

	c.flags = 0x00;
	otelp__traceparent_format(&c, out);
	ck_assert_str_eq(out, TP("00"));
	c.flags = 0x03;
	otelp__traceparent_format(&c, out);
	ck_assert_str_eq(out, TP("03"));
	/* Reserved bits never go out. */
	c.flags = 0xff;
	otelp__traceparent_format(&c, out);
	ck_assert_str_eq(out, TP("03"));
	c.flags = 0xfc;
	otelp__traceparent_format(&c, out);
	ck_assert_str_eq(out, TP("00"));

	/* A higher version comes out as 00. */
	ck_assert_int_eq(tp_parse("cc-" TRACE "-" SPAN "-01-what-the-future-will-be-like", &c), 0);
	otelp__traceparent_format(&c, out);
	ck_assert_str_eq(out, TP("01"));

	/* Round trip. */
	for (unsigned f = 0; f < 4; f++) {
		c.flags = (uint8_t)f;
		otelp__traceparent_format(&c, out);
		ck_assert_int_eq(tp_parse_n(out, OTELP_TRACEPARENT_LEN, &back), 0);
		ck_assert_mem_eq(back.trace_id, c.trace_id, 16);
		ck_assert_mem_eq(back.span_id, c.span_id, 8);
		ck_assert_uint_eq(back.flags, f);
	}
}
END_TEST

/*
 * The decoders work on many digits at once (SSE2 on x86-64, 64-bit words elsewhere): every
 * byte value at every position must still be judged alone. A plain reference decoder here.
 */
static int lc_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void ref_decode(const char *s, size_t nbytes, uint8_t *out)
{
	for (size_t i = 0; i < nbytes; i++)
		out[i] = (uint8_t)(lc_hex((unsigned char)s[2 * i]) << 4 |
		                   lc_hex((unsigned char)s[2 * i + 1]));
}

/* Every byte value at every digit position: accepted exactly when it is a lower-case digit. */
START_TEST(tp_every_byte_every_digit)
{
	char buf[OTELP_TRACEPARENT_LEN];
	uint8_t trace[16], span[8], flags;
	struct otelp_ctx c;

	for (size_t i = 0; i < OTELP_TRACEPARENT_LEN; i++) {
		if (i == 2 || i == 35 || i == 52)
			continue;
		for (unsigned b = 0; b < 256; b++) {
			/* Version 01: "0f" and "f1" are versions too, and 55 chars are enough. */
			memcpy(buf, "01-" TRACE "-" SPAN "-01", sizeof(buf));
			buf[i] = (char)b;
			int r = tp_parse_n(buf, sizeof(buf), &c);

			if (lc_hex((unsigned char)b) < 0) {
				ck_assert_msg(r == -1, "position %zu byte 0x%02x accepted", i, b);
				assert_ctx_zero(&c);
				continue;
			}
			ck_assert_msg(r == 0, "position %zu byte 0x%02x refused", i, b);
			ref_decode(buf + 3, 16, trace);
			ref_decode(buf + 36, 8, span);
			ref_decode(buf + 53, 1, &flags);
			ck_assert_mem_eq(c.trace_id, trace, 16);
			ck_assert_mem_eq(c.span_id, span, 8);
			ck_assert_uint_eq(c.flags, flags & 0x03);
		}
	}
}
END_TEST

/* Only '-' separates the fields, and only '-' may follow the 55 chars of a later version. */
START_TEST(tp_every_byte_separators)
{
	static const size_t seps[] = {2, 35, 52, 55};
	char buf[OTELP_TRACEPARENT_LEN + 8];
	struct otelp_ctx c;

	for (size_t k = 0; k < OTELP_ARRAY_SIZE(seps); k++) {
		for (unsigned b = 0; b < 256; b++) {
			/* 60 chars: a later version with a field after the flags. */
			memcpy(buf, "01-" TRACE "-" SPAN "-01-abcd", 60);
			buf[seps[k]] = (char)b;
			ck_assert_int_eq(tp_parse_n(buf, 60, &c), b == '-' ? 0 : -1);
			/* Version 00: never more than 55, whatever follows. */
			buf[0] = '0';
			buf[1] = '0';
			ck_assert_int_eq(tp_parse_n(buf, 60, &c), -1);
			/* (unless the 56th is OWS, which is trimmed) */
			ck_assert_int_eq(tp_parse_n(buf, 56, &c),
			                 seps[k] == 55 && (b == ' ' || b == '\t') ? 0 : -1);
			ck_assert_int_eq(tp_parse_n(buf, 55, &c),
			                 b == '-' || seps[k] == 55 ? 0 : -1);
		}
	}
}
END_TEST

/* Every byte value through traceparent_format and inject: the hex of each is its own. */
START_TEST(tp_format_every_byte)
{
	char out[OTELP_TRACEPARENT_LEN + 1], want[8];
	char buf[256];
	struct otelp_ctx c;
	size_t n;

	memset(&c, 0, sizeof(c));
	c.valid = true;
	for (unsigned b = 0; b < 256; b++) {
		for (size_t i = 0; i < 16; i++)
			c.trace_id[i] = (uint8_t)(b + 17 * i);
		for (size_t i = 0; i < 8; i++)
			c.span_id[i] = (uint8_t)(b + 31 * i + 1);
		c.flags = (uint8_t)b;
		otelp__traceparent_format(&c, out);
		out[OTELP_TRACEPARENT_LEN] = '\0';
		ck_assert(memcmp(out, "00-", 3) == 0 && out[35] == '-' && out[52] == '-');
		for (size_t i = 0; i < 16; i++) {
			snprintf(want, sizeof(want), "%02x", c.trace_id[i]);
			ck_assert(memcmp(out + 3 + 2 * i, want, 2) == 0);
		}
		for (size_t i = 0; i < 8; i++) {
			snprintf(want, sizeof(want), "%02x", c.span_id[i]);
			ck_assert(memcmp(out + 36 + 2 * i, want, 2) == 0);
		}
		snprintf(want, sizeof(want), "%02x", b & 0x03);
		ck_assert(memcmp(out + 53, want, 2) == 0);

		/* B3 writes the same ids. */
		n = otelp__inject_headers(OTELP_PROP_B3, &c, NULL, 0, NULL, 0, buf, sizeof(buf));
		ck_assert_uint_gt(n, 0);
		ck_assert(memcmp(buf, "b3: ", 4) == 0);
		ck_assert(memcmp(buf + 4, out + 3, 32) == 0 && buf[36] == '-');
		ck_assert(memcmp(buf + 37, out + 36, 16) == 0);
	}
}
END_TEST

/* ================================================================ tracestate */

START_TEST(ts_simple)
{
	ck_assert_int_eq(ts_parse("foo=1"), 5);
	ck_assert_str_eq(ts_out, "foo=1");
	ck_assert_int_eq(ts_parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), 39);
	ck_assert_str_eq(ts_out, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}
END_TEST

START_TEST(ts_empty_and_ows_members)
{
	ck_assert_int_eq(ts_parse(""), 0);
	ck_assert_str_eq(ts_out, "");
	ck_assert_int_eq(ts_parse("   \t "), 0);
	ck_assert_str_eq(ts_out, "");
	ck_assert_int_eq(ts_parse(",,,"), 0);
	ck_assert_int_eq(ts_parse("foo=1 , bar=2"), 11);
	ck_assert_str_eq(ts_out, "foo=1,bar=2");
	ck_assert_int_eq(ts_parse(" ,\t, foo=1 ,, \t,bar=2,, "), 11);
	ck_assert_str_eq(ts_out, "foo=1,bar=2");
	ck_assert_int_eq(ts_parse("\tfoo=1\t"), 5);
	ck_assert_str_eq(ts_out, "foo=1");
}
END_TEST

static void ts_list(char *buf, unsigned members, const char *sep)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < members; i++) {
		char m[48];

		snprintf(m, sizeof(m), "%sk%u=%u", i ? sep : "", i, i);
		strcat(buf, m);
	}
}

START_TEST(ts_member_count)
{
	char in[2048], want[2048];

	ts_list(in, 32, ",");
	ck_assert_int_eq(ts_parse(in), (int)strlen(in));
	ck_assert_str_eq(ts_out, in);
	ts_list(in, 33, ",");
	ck_assert_int_eq(ts_parse(in), -1);
	ck_assert_str_eq(ts_out, "");
	/* Empty members do not count. */
	ts_list(want, 32, ",");
	ts_list(in, 32, ",,");
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);
	ts_list(in, 32, ", \t,");
	strcat(in, ", ,");
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);
	/* 33 only through duplicates still counts as 33 input members. */
	ts_list(in, 32, ",");
	strcat(in, ",k0=9");
	ck_assert_int_eq(ts_parse(in), -1);
	/* A thousand members: dropped, and fast. */
	ts_list(in, 200, ",");
	ck_assert_int_eq(ts_parse(in), -1);
}
END_TEST

START_TEST(ts_key_grammar)
{
	char in[600];

	/* Level 2 keys. */
	ck_assert_int_eq(ts_parse("foo@=1"), 6);
	ck_assert_int_eq(ts_parse("foo@@bar=1"), 10);
	ck_assert_int_eq(ts_parse("1foo=1"), 6);
	ck_assert_int_eq(ts_parse("0=1"), 3);
	ck_assert_int_eq(ts_parse("a_-*/@b=1"), 9);
	ck_assert_int_eq(ts_parse("tenant@system=1"), 15);
	ck_assert_int_eq(ts_parse("foo*=1"), 6);
	/* 256-character key: fine; 257: not. */
	memset(in, 'k', 256);
	strcpy(in + 256, "=1");
	ck_assert_int_eq(ts_parse(in), 258);
	memset(in, 'k', 257);
	strcpy(in + 257, "=1");
	ck_assert_int_eq(ts_parse(in), -1);
	/* Invalid keys. */
	ck_assert_int_eq(ts_parse("@foo=1"), -1);
	ck_assert_int_eq(ts_parse("FOO=1"), -1);
	ck_assert_int_eq(ts_parse("fooBar=1"), -1);
	ck_assert_int_eq(ts_parse("foo.bar=1"), -1);
	ck_assert_int_eq(ts_parse("foo =1"), -1);
	ck_assert_int_eq(ts_parse("fo o=1"), -1);
	ck_assert_int_eq(ts_parse("=1"), -1);
	ck_assert_int_eq(ts_parse("_foo=1"), -1);
	ck_assert_int_eq(ts_parse("-foo=1"), -1);
	ck_assert_int_eq(ts_parse("*foo=1"), -1);
	ck_assert_int_eq(ts_parse("/foo=1"), -1);
	ck_assert_int_eq(ts_parse("foo!=1"), -1);
	ck_assert_int_eq(ts_parse("f\xc3\xa9=1"), -1);
	/* One invalid member drops the whole tracestate. */
	ck_assert_int_eq(ts_parse("foo=1,BAR=2,baz=3"), -1);
	ck_assert_str_eq(ts_out, "");
}
END_TEST

START_TEST(ts_value_grammar)
{
	char in[600];

	ck_assert_int_eq(ts_parse("foo=bar baz"), 11);
	ck_assert_str_eq(ts_out, "foo=bar baz");
	ck_assert_int_eq(ts_parse("foo= bar"), 8); /* chr includes SP, only the last must not be */
	ck_assert_int_eq(ts_parse("foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~"), 34);
	ck_assert_int_eq(ts_parse("foo=1 "), 5); /* trailing OWS is list syntax */
	/* 256-character value: fine; 257: not. */
	strcpy(in, "k=");
	memset(in + 2, 'v', 256);
	in[258] = '\0';
	ck_assert_int_eq(ts_parse(in), 258);
	memset(in + 2, 'v', 257);
	in[259] = '\0';
	ck_assert_int_eq(ts_parse(in), -1);
	/* Invalid values. */
	ck_assert_int_eq(ts_parse("foo="), -1);
	ck_assert_int_eq(ts_parse("foo= "), -1);
	ck_assert_int_eq(ts_parse("foo"), -1);
	ck_assert_int_eq(ts_parse("foo=a=b"), -1);
	ck_assert_int_eq(ts_parse("foo==b"), -1);
	ck_assert_int_eq(ts_parse("foo=a\tb"), -1);
	ck_assert_int_eq(ts_parse("foo=a\x7f"), -1);
	ck_assert_int_eq(ts_parse("foo=\x01"), -1);
	ck_assert_int_eq(ts_parse("foo=caf\xc3\xa9"), -1);
	ck_assert_int_eq(ts_parse("foo=1,bar"), -1);
}
END_TEST

START_TEST(ts_duplicate_keys)
{
	ck_assert_int_eq(ts_parse("foo=1,bar=2,foo=3"), 11);
	ck_assert_str_eq(ts_out, "foo=1,bar=2");
	ck_assert_int_eq(ts_parse("foo=1,foo=1,foo=2"), 5);
	ck_assert_str_eq(ts_out, "foo=1");
	/* Keys that are prefixes of each other are different keys. */
	ck_assert_int_eq(ts_parse("foo=1,fo=2,foox=3"), 17);
	ck_assert_str_eq(ts_out, "foo=1,fo=2,foox=3");
}
END_TEST

START_TEST(ts_truncation)
{
	char in[2048], m1[256], m2[256], m3[256], m4[256], want[2048];

	/* Exactly 512: unchanged (8 x 63 + 7 commas + 1 = 512). */
	in[0] = '\0';
	for (int i = 0; i < 8; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		member(m1, k, i == 7 ? 64 : 63, 'v');
		if (i)
			strcat(in, ",");
		strcat(in, m1);
	}
	ck_assert_uint_eq(strlen(in), 512);
	ck_assert_int_eq(ts_parse(in), 512);
	ck_assert_str_eq(ts_out, in);

	/* Too long: the member longer than 128 goes first, and only as many as needed. */
	member(m1, "a", 102, '1');
	member(m2, "b", 202, '2');
	member(m3, "c", 102, '3');
	member(m4, "d", 152, '4');
	snprintf(in, sizeof(in), "%s,%s,%s,%s", m1, m2, m3, m4); /* 561 */
	snprintf(want, sizeof(want), "%s,%s,%s", m1, m2, m3);    /* 408: the 202 stays */
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);

	/* Long members removed even when they are on the left, before any short one. */
	member(m1, "a", 250, '1');
	member(m2, "b", 100, '2');
	member(m3, "c", 250, '3');
	member(m4, "d", 100, '4');
	snprintf(in, sizeof(in), "%s,%s,%s,%s", m1, m2, m3, m4); /* 703 */
	snprintf(want, sizeof(want), "%s,%s,%s", m1, m2, m4);    /* c (right-most long) goes */
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);

	member(m1, "a", 250, '1');
	member(m2, "b", 200, '2');
	member(m3, "c", 250, '3');
	member(m4, "d", 100, '4');
	snprintf(in, sizeof(in), "%s,%s,%s,%s", m2, m1, m4, m3); /* 803 */
	snprintf(want, sizeof(want), "%s,%s", m2, m4);           /* c, then a: 301 fits */
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);

	/* Short members only: removed from the right. */
	in[0] = '\0';
	for (int i = 0; i < 10; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		member(m1, k, 60, 'v');
		if (i)
			strcat(in, ",");
		strcat(in, m1);
	}
	ck_assert_uint_eq(strlen(in), 609);
	memcpy(want, in, 8 * 61 - 1);
	want[8 * 61 - 1] = '\0';
	ck_assert_int_eq(ts_parse(in), 8 * 61 - 1);
	ck_assert_str_eq(ts_out, want);

	/* Long members all removed, then short ones from the right. */
	in[0] = '\0';
	for (int i = 0; i < 6; i++) {
		char k[16];

		snprintf(k, sizeof(k), "s%d", i);
		member(m1, k, 100, 's');
		if (i)
			strcat(in, ",");
		strcat(in, m1);
		snprintf(k, sizeof(k), "l%d", i);
		member(m1, k, 129, 'l');
		strcat(in, ",");
		strcat(in, m1);
	}
	/* 6 x 100 + 5 commas = 605 still too long without the long ones: 5 short ones remain. */
	want[0] = '\0';
	for (int i = 0; i < 5; i++) {
		char k[16];

		snprintf(k, sizeof(k), "s%d", i);
		member(m1, k, 100, 's');
		if (i)
			strcat(want, ",");
		strcat(want, m1);
	}
	ck_assert_int_eq(ts_parse(in), (int)strlen(want));
	ck_assert_str_eq(ts_out, want);
}
END_TEST

START_TEST(ts_small_cap)
{
	char out[32];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(ts_parse_cap("foo=1,bar=2,baz=3", out, 12), 11);
	ck_assert_str_eq(out, "foo=1,bar=2");
	ck_assert_int_eq(ts_parse_cap("foo=1,bar=2,baz=3", out, 11), 5);
	ck_assert_str_eq(out, "foo=1");
	ck_assert_int_eq(ts_parse_cap("foo=1", out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(ts_parse_cap("foo=1", out, 0), -1);
	ck_assert_int_eq(ts_parse_cap("foo=1", NULL, 10), -1);
	/* Invalid stays invalid whatever the cap. */
	ck_assert_int_eq(ts_parse_cap("FOO=1", out, sizeof(out)), -1);
}
END_TEST

/* ================================================================ baggage */

START_TEST(bg_simple)
{
	ck_assert_uint_eq(bg_parse("k=v"), 3);
	ck_assert_str_eq(bg_out, "k=v");
	ck_assert_uint_eq(bg_parse("userId=alice,serverNode=DF%2028,isProduction=false"), 50);
	ck_assert_str_eq(bg_out, "userId=alice,serverNode=DF%2028,isProduction=false");
	ck_assert_uint_eq(bg_parse(""), 0);
	ck_assert_str_eq(bg_out, "");
	ck_assert_uint_eq(bg_parse(" , ,\t,"), 0);
	ck_assert_str_eq(bg_out, "");
}
END_TEST

START_TEST(bg_ows)
{
	ck_assert_uint_eq(bg_parse(" k = v , k2\t=\tv2 "), 9);
	ck_assert_str_eq(bg_out, "k=v,k2=v2");
	ck_assert_uint_eq(bg_parse(",,k=v,, ,"), 3);
	ck_assert_str_eq(bg_out, "k=v");
}
END_TEST

START_TEST(bg_values)
{
	ck_assert_uint_eq(bg_parse("k="), 2); /* empty value */
	ck_assert_str_eq(bg_out, "k=");
	ck_assert_uint_eq(bg_parse("k=a=b"), 5); /* "=" is a baggage-octet */
	ck_assert_str_eq(bg_out, "k=a=b");
	ck_assert_uint_eq(bg_parse("k=a%20b%2C"), 10); /* kept percent-encoded */
	ck_assert_str_eq(bg_out, "k=a%20b%2C");
	ck_assert_uint_eq(bg_parse("k!#$&'*+-.^_`|~=v"), 17); /* token key */
}
END_TEST

START_TEST(bg_properties)
{
	ck_assert_uint_eq(bg_parse("k=v;p=1"), 7);
	ck_assert_str_eq(bg_out, "k=v;p=1");
	ck_assert_uint_eq(bg_parse("k=v;flag"), 8);
	ck_assert_str_eq(bg_out, "k=v;flag");
	/* OWS around key and value stripped; properties kept as written. */
	ck_assert_uint_eq(bg_parse(" k = v ; p = 1;q , k2=v2"), 18);
	ck_assert_str_eq(bg_out, "k=v; p = 1;q,k2=v2");
	ck_assert_uint_eq(bg_parse("k=;p"), 4);
	ck_assert_str_eq(bg_out, "k=;p");
	/* Malformed properties drop the member. */
	ck_assert_uint_eq(bg_parse("k=v;p=\x01,k2=v2"), 5);
	ck_assert_str_eq(bg_out, "k2=v2");
	ck_assert_uint_eq(bg_parse("k=v;p q,k2=v2"), 5);
	ck_assert_str_eq(bg_out, "k2=v2");
	ck_assert_uint_eq(bg_parse("k=v;\"p\"=1,k2=v2"), 5);
	ck_assert_uint_eq(bg_parse("k=v;p=caf\xc3\xa9,k2=v2"), 5);
}
END_TEST

START_TEST(bg_malformed_dropped)
{
	static const char *const bad[] = {
	    "bad",    "=v",    "k v=1", "k=v v", "k=\"v\"", "k=v\\",   "k=caf\xc3\xa9", "k=\x01",
	    "k=a\tb", "k;p=v", "(k)=v", "k:=v",  "k@=v",    "k\x7f=v", "k=v\x7f",       "k==",
	};

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(bad); i++) {
		char in[64];

		if (strcmp(bad[i], "k==") == 0)
			continue; /* "=" is a valid value octet: "k==" is k with value "=" */
		snprintf(in, sizeof(in), "a=1,%s,b=2", bad[i]);
		ck_assert_msg(bg_parse(in) == 7 && strcmp(bg_out, "a=1,b=2") == 0, "%s kept: %s",
		              bad[i], bg_out);
	}
	ck_assert_uint_eq(bg_parse("k=="), 3);
	ck_assert_uint_eq(bg_parse("bad"), 0);
	ck_assert_str_eq(bg_out, "");
}
END_TEST

START_TEST(bg_member_limit)
{
	char in[8192], want[8192];

	in[0] = '\0';
	for (int i = 0; i < 70; i++) {
		char m[48];

		snprintf(m, sizeof(m), "%sk%d=%d", i ? "," : "", i, i);
		strcat(in, m);
		if (i == 63)
			strcpy(want, in);
	}
	ck_assert_uint_eq(bg_parse(in), strlen(want));
	ck_assert_str_eq(bg_out, want);

	/* Invalid and empty members do not count. */
	in[0] = '\0';
	for (int i = 0; i < 64; i++) {
		char m[64];

		snprintf(m, sizeof(m), "%sbad%d,,k%d=%d", i ? "," : "", i, i, i);
		strcat(in, m);
	}
	ck_assert_uint_eq(bg_parse(in), strlen(want));
	ck_assert_str_eq(bg_out, want);
}
END_TEST

START_TEST(bg_byte_limit)
{
	static char in[3 * OTELP_BAGGAGE_MAX], want[OTELP_BAGGAGE_MAX + 1];
	char m[4200];

	/* Two members of 4096 bytes: 8193 with the comma, the second does not fit. */
	member(m, "a", 4096, 'x');
	strcpy(in, m);
	strcpy(want, m);
	member(m, "b", 4096, 'y');
	strcat(in, ",");
	strcat(in, m);
	ck_assert_uint_eq(bg_parse(in), 4096);
	ck_assert_str_eq(bg_out, want);

	/* 4096 + 1 + 4095 = 8192: both fit exactly. */
	member(m, "b", 4095, 'y');
	strcpy(in, want);
	strcat(in, ",");
	strcat(in, m);
	ck_assert_uint_eq(bg_parse(in), 8192);
	ck_assert_str_eq(bg_out, in);

	/* Whole members dropped from the right: once one does not fit, the rest go too. */
	strcat(in, ",c=1");
	ck_assert_uint_eq(bg_parse(in), 8192);
	ck_assert_uint_eq(strlen(bg_out), 8192);
	ck_assert_ptr_null(strstr(bg_out, "c=1"));

	/* The list ends at the first member that does not fit, even if a later one would. */
	member(m, "a", 4096, 'x');
	strcpy(in, m);
	member(m, "b", 4096, 'y');
	strcat(in, ",");
	strcat(in, m);
	strcat(in, ",c=1");
	ck_assert_uint_eq(bg_parse(in), 4096);
	ck_assert_int_eq(bg_out[0], 'a');
	ck_assert_ptr_null(strstr(bg_out, "c=1"));

	/* A single member larger than the limit: nothing. */
	member(in, "a", 8193, 'x');
	ck_assert_uint_eq(bg_parse(in), 0);
	ck_assert_str_eq(bg_out, "");
	member(in, "a", 8192, 'x');
	ck_assert_uint_eq(bg_parse(in), 8192);

	/* A larger output buffer does not raise the limit. */
	{
		static char big[2 * OTELP_BAGGAGE_MAX];

		member(in, "a", 8193, 'x');
		ck_assert_uint_eq(bg_parse_cap(in, big, sizeof(big)), 0);
		member(in, "a", 8000, 'x');
		strcat(in,
		       ",b=123456789012345678901234567890123456789012345678901234567890"
		       "1234567890123456789012345678901234567890123456789012345678901234567890"
		       "1234567890123456789012345678901234567890123456789012345678901234567890");
		ck_assert_uint_eq(bg_parse_cap(in, big, sizeof(big)), 8000);
	}
}
END_TEST

START_TEST(bg_small_cap)
{
	char out[16];

	ck_assert_uint_eq(bg_parse_cap("a=1,b=2,c=3", out, 8), 7);
	ck_assert_str_eq(out, "a=1,b=2");
	ck_assert_uint_eq(bg_parse_cap("a=1,b=2,c=3", out, 7), 3);
	ck_assert_str_eq(out, "a=1");
	ck_assert_uint_eq(bg_parse_cap("a=1", out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(bg_parse_cap("a=1", out, 0), 0);
	ck_assert_uint_eq(bg_parse_cap("a=1", NULL, 8), 0);
	ck_assert_uint_eq(otelp__baggage_parse(NULL, 0, out, sizeof(out)), 0);
}
END_TEST

/* ================================================================ B3 single */

START_TEST(b3s_valid)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-1", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-0", &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-d", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, true);
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-1-" PARENT, &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-0-" PARENT, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN "-d-" PARENT, &c), 0);
	assert_ctx(&c, trace_bin, 0x01, true);
	/* Absent sampling state (defer): not sampled, as in OTel JS and Go. */
	ck_assert_int_eq(b3s_parse(TRACE "-" SPAN, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	/* OWS around the value. */
	ck_assert_int_eq(b3s_parse(" \t" TRACE "-" SPAN "-1\t ", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
}
END_TEST

START_TEST(b3s_trace16)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3s_parse(TRACE16 "-" SPAN "-1", &c), 0);
	assert_ctx(&c, trace16_bin, 0x01, false);
	ck_assert_int_eq(b3s_parse(TRACE16 "-" SPAN, &c), 0);
	assert_ctx(&c, trace16_bin, 0x00, false);
	ck_assert_int_eq(b3s_parse(TRACE16 "-" SPAN "-d-" PARENT, &c), 0);
	assert_ctx(&c, trace16_bin, 0x01, true);
	ck_assert_int_eq(b3s_parse(ZSPAN "-" SPAN "-1", &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

START_TEST(b3s_deny_only)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3s_parse("0", &c), 1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(b3s_parse(" 0\t", &c), 1);
	assert_ctx_zero(&c);
	/* Only the deny decision is meaningful without ids. */
	ck_assert_int_eq(b3s_parse("1", &c), -1);
	ck_assert_int_eq(b3s_parse("d", &c), -1);
	ck_assert_int_eq(b3s_parse("00", &c), -1);
	ck_assert_int_eq(b3s_parse("0-", &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

/* B3 ids are decoded many digits at once too: every byte value at every position. */
START_TEST(b3s_every_byte_every_digit)
{
	static const char *const forms[] = {TRACE "-" SPAN "-1", TRACE16 "-" SPAN "-0",
	                                    TRACE "-" SPAN "-1-" PARENT};
	char buf[128];
	uint8_t trace[16], span[8];
	struct otelp_ctx c;

	for (size_t f = 0; f < OTELP_ARRAY_SIZE(forms); f++) {
		size_t n = strlen(forms[f]), tl = f == 1 ? 16 : 32;

		for (size_t i = 0; i < n; i++) {
			if (forms[f][i] == '-' || (i > tl + 17 && i < tl + 20))
				continue; /* separators and the sampling state */
			for (unsigned b = 0; b < 256; b++) {
				memcpy(buf, forms[f], n);
				buf[i] = (char)b;
				int r = b3s_parse_n(buf, n, &c);

				if (lc_hex((unsigned char)b) < 0) {
					ck_assert_msg(r == -1, "form %zu position %zu byte 0x%02x",
					              f, i, b);
					continue;
				}
				ck_assert_int_eq(r, 0);
				memset(trace, 0, sizeof(trace));
				ref_decode(buf, tl / 2, trace + 16 - tl / 2);
				ref_decode(buf + tl + 1, 8, span);
				ck_assert_mem_eq(c.trace_id, trace, 16);
				ck_assert_mem_eq(c.span_id, span, 8);
			}
		}
	}
}
END_TEST

START_TEST(b3s_invalid)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    TRACE,
	    TRACE16,
	    TRACE "-",
	    TRACE "-" SPAN "-",
	    TRACE "-" SPAN "-1-",
	    TRACE "-" SPAN "-2",
	    TRACE "-" SPAN "-D",
	    TRACE "-" SPAN "-true",
	    TRACE "-" SPAN "-10",
	    TRACE "-" SPAN "-" PARENT,  /* parent without sampling state */
	    TRACE "-" SPAN "-1-" ZSPAN, /* all-zero parent */
	    TRACE "-" SPAN "-1-05E3AC9A4F6E3B90",
	    TRACE "-" SPAN "-1-" PARENT "0",
	    TRACE "-" SPAN "-1-" PARENT "-",
	    TRACE "-" SPAN "-1-" PARENT "-x",
	    TRACE "-" SPAN "-1-05e3ac9a4f6e3b9",
	    TRACE "-" SPAN "1",
	    TRACE "-00f067aa0ba902b",
	    TRACE "-" SPAN "0",
	    TRACE "0-" SPAN "-1",                         /* 33 */
	    "4bf92f3577b34da6a3ce929d0e0e473-" SPAN "-1", /* 31 */
	    "a3ce929d0e0e473-" SPAN "-1",                 /* 15 */
	    "a3ce929d0e0e47360-" SPAN "-1",               /* 17 */
	    "4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-1",
	    TRACE "-00F067AA0BA902B7-1",
	    "A3CE929D0E0E4736-" SPAN "-1",
	    ZTRACE "-" SPAN "-1",
	    TRACE "-" ZSPAN "-1",
	    TRACE "_" SPAN "-1",
	    TRACE "-" SPAN "_1",
	    TRACE " -" SPAN "-1",
	    TRACE "-" SPAN " -1",
	    "g" TRACE16 "-" SPAN,
	    TRACE16 "-" SPAN "-g",
	    "-" TRACE "-" SPAN "-1",
	};
	struct otelp_ctx c;

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(b3s_parse(bad[i], &c) == -1, "accepted: \"%s\"", bad[i]);
		assert_ctx_zero(&c);
	}
	memset(&c, 0xaa, sizeof(c));
	ck_assert_int_eq(otelp__b3_single_parse(NULL, 0, &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

/* ================================================================ B3 multi */

START_TEST(b3m_valid)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "1", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "0", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	/* Absent: defer, not sampled. */
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, NULL, NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	/* Lenient true / false. */
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "true", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "True", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "false", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "FALSE", NULL, &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	/* 16-digit trace id. */
	ck_assert_int_eq(b3m_parse(TRACE16, SPAN, "1", NULL, &c), 0);
	assert_ctx(&c, trace16_bin, 0x01, false);
	/* OWS. */
	ck_assert_int_eq(b3m_parse(" " TRACE "\t", "\t" SPAN " ", " 1 ", " 0 ", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
}
END_TEST

START_TEST(b3m_debug)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3m_parse(TRACE, SPAN, NULL, "1", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, true);
	/* Debug implies accept, whatever Sampled says. */
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "0", "1", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, true);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "1", "1", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, true);
	/* Other flag values are ignored. */
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "0", "0", &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "1", "2", &c), 0);
	assert_ctx(&c, trace_bin, 0x01, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, NULL, "", &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, NULL, "11", &c), 0);
	assert_ctx(&c, trace_bin, 0x00, false);
}
END_TEST

START_TEST(b3m_deny_only)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3m_parse(NULL, NULL, "0", NULL, &c), 1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(b3m_parse(NULL, NULL, "false", NULL, &c), 1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(b3m_parse(NULL, NULL, "0", "0", &c), 1);
	/* Not a deny. */
	ck_assert_int_eq(b3m_parse(NULL, NULL, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(NULL, NULL, "0", "1", &c), -1);
	ck_assert_int_eq(b3m_parse(NULL, NULL, NULL, "1", &c), -1);
	ck_assert_int_eq(b3m_parse(NULL, NULL, NULL, NULL, &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

START_TEST(b3m_invalid)
{
	struct otelp_ctx c;

	ck_assert_int_eq(b3m_parse(TRACE, NULL, "1", NULL, &c), -1);
	assert_ctx_zero(&c);
	ck_assert_int_eq(b3m_parse(NULL, SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "yes", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "d", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "2", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN, "truex", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse("", SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, "", "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse("4BF92F3577B34DA6A3CE929D0E0E4736", SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, "00F067AA0BA902B7", "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE "0", SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse("a3ce929d0e0e473", SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse("a3ce929d0e0e47360", SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, SPAN "0", "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, "00f067aa0ba902b", "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(ZTRACE, SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(ZSPAN, SPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, ZSPAN, "1", NULL, &c), -1);
	ck_assert_int_eq(b3m_parse(TRACE, "00f067aa-ba902b7", "1", NULL, &c), -1);
	assert_ctx_zero(&c);
}
END_TEST

/* ================================================================ extract */

/* Nothing found: an empty context, empty strings (the buffers past them are not read). */
static void assert_nothing(const struct otelp_extracted *e)
{
	struct otelp_ctx zero;

	memset(&zero, 0, sizeof(zero));
	ck_assert_mem_eq(&e->ctx, &zero, sizeof(zero));
	ck_assert_uint_eq(e->tracestate_len, 0);
	ck_assert_str_eq(e->tracestate, "");
	ck_assert_uint_eq(e->baggage_len, 0);
	ck_assert_str_eq(e->baggage, "");
}

START_TEST(ex_nothing)
{
	struct hdrs hs = {.n = 0};

	extract(ALL_PROPS, &hs);
	assert_nothing(&ex);

	hdr_add(&hs, "content-type", "text/plain");
	hdr_add(&hs, "traceparentx", TP("01"));
	hdr_add(&hs, "b3x", TRACE "-" SPAN "-1");
	extract(ALL_PROPS, &hs);
	assert_nothing(&ex);

	memset(&ex, 0xaa, sizeof(ex));
	otelp__extract(ALL_PROPS, NULL, 3, &ex);
	assert_nothing(&ex);
}
END_TEST

START_TEST(ex_w3c)
{
	struct hdrs hs = {.n = 0};

	hdr_add(&hs, "Host", "example");
	hdr_add(&hs, "TraceParent", TP("01"));
	hdr_add(&hs, "TRACESTATE", "foo=1, bar=2");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, false);
	ck_assert_uint_eq(ex.tracestate_len, 11);
	ck_assert_str_eq(ex.tracestate, "foo=1,bar=2");
	ck_assert_uint_eq(ex.baggage_len, 0);
	ck_assert_str_eq(ex.baggage, "");

	/* Not configured: ignored. */
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "tracestate", "foo=1");
	extract(OTELP_PROP_BAGGAGE, &hs);
	assert_ctx_zero(&ex.ctx);
	ck_assert_uint_eq(ex.tracestate_len, 0);
	ck_assert_str_eq(ex.tracestate, "");
}
END_TEST

START_TEST(ex_w3c_duplicated_traceparent)
{
	struct hdrs hs = {.n = 0};

	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "tracestate", "foo=1");
	hdr_add(&hs, "traceparent", TP("01"));
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx_zero(&ex.ctx);
	ck_assert_uint_eq(ex.tracestate_len, 0);
	ck_assert_str_eq(ex.tracestate, "");

	/* Even when the second one is different or invalid. */
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "Traceparent", "garbage");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx_zero(&ex.ctx);
}
END_TEST

START_TEST(ex_w3c_invalid_drops_tracestate)
{
	struct hdrs hs = {.n = 0};

	hdr_add(&hs, "traceparent", "00-" ZTRACE "-" SPAN "-01");
	hdr_add(&hs, "tracestate", "foo=1");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx_zero(&ex.ctx);
	ck_assert_uint_eq(ex.tracestate_len, 0);

	/* tracestate without traceparent: discarded. */
	hdr_add(&hs, "tracestate", "foo=1");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx_zero(&ex.ctx);
	ck_assert_uint_eq(ex.tracestate_len, 0);
	ck_assert_str_eq(ex.tracestate, "");

	/* An invalid tracestate does not invalidate the traceparent. */
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "tracestate", "FOO=1");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, false);
	ck_assert_uint_eq(ex.tracestate_len, 0);
	ck_assert_str_eq(ex.tracestate, "");
}
END_TEST

START_TEST(ex_tracestate_combined)
{
	struct hdrs hs = {.n = 0};
	char a[1024], b[1024];

	hdr_add(&hs, "tracestate", "foo=1");
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "x-other", "zzz=9");
	hdr_add(&hs, "tracestate", " bar=2 ,baz=3");
	hdr_add(&hs, "tracestate", "");
	hdr_add(&hs, "Tracestate", "foo=4,qux=5");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	ck_assert_str_eq(ex.tracestate, "foo=1,bar=2,baz=3,qux=5");
	ck_assert_uint_eq(ex.tracestate_len, strlen("foo=1,bar=2,baz=3,qux=5"));

	/* 20 + 12 = 32 members across headers: kept; 20 + 13 = 33: dropped. */
	ts_list(a, 20, ",");
	for (int extra = 12; extra <= 13; extra++) {
		b[0] = '\0';
		for (int i = 0; i < extra; i++) {
			char m[48];

			snprintf(m, sizeof(m), "%sx%d=%d", i ? "," : "", i, i);
			strcat(b, m);
		}
		hdr_add(&hs, "traceparent", TP("01"));
		hdr_add(&hs, "tracestate", a);
		hdr_add(&hs, "tracestate", b);
		extract(OTELP_PROP_TRACECONTEXT, &hs);
		assert_ctx(&ex.ctx, trace_bin, 0x01, false);
		if (extra == 12)
			ck_assert_uint_eq(ex.tracestate_len, strlen(a) + 1 + strlen(b));
		else
			ck_assert_uint_eq(ex.tracestate_len, 0);
	}

	/* An invalid member in any of the headers drops all of them. */
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "tracestate", "foo=1");
	hdr_add(&hs, "tracestate", "Bar=2");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	ck_assert_uint_eq(ex.tracestate_len, 0);
}
END_TEST

START_TEST(ex_baggage)
{
	struct hdrs hs = {.n = 0};
	char m[8200];

	hdr_add(&hs, "Baggage", "a=1, bad ,b=2");
	hdr_add(&hs, "baggage", "c = 3;p");
	extract(OTELP_PROP_BAGGAGE, &hs);
	ck_assert_str_eq(ex.baggage, "a=1,b=2,c=3;p");
	ck_assert_uint_eq(ex.baggage_len, 13);
	assert_ctx_zero(&ex.ctx);

	/* Only when configured. */
	hdr_add(&hs, "baggage", "a=1");
	extract(OTELP_PROP_TRACECONTEXT, &hs);
	ck_assert_uint_eq(ex.baggage_len, 0);
	ck_assert_str_eq(ex.baggage, "");

	/* Independent of the trace context. */
	hdr_add(&hs, "traceparent", "invalid");
	hdr_add(&hs, "baggage", "a=1");
	extract(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &hs);
	assert_ctx_zero(&ex.ctx);
	ck_assert_str_eq(ex.baggage, "a=1");

	/* Limits apply across combined headers. */
	for (int i = 0; i < 10; i++) {
		char v[128] = "";

		for (int j = 0; j < 7; j++) {
			char one[48];

			snprintf(one, sizeof(one), "%sk%d=%d", j ? "," : "", i * 7 + j, j);
			strcat(v, one);
		}
		hdr_add(&hs, "baggage", v);
	}
	extract(OTELP_PROP_BAGGAGE, &hs);
	ck_assert_ptr_nonnull(strstr(ex.baggage, "k63=0"));
	ck_assert_ptr_null(strstr(ex.baggage, "k64="));

	member(m, "a", 5000, 'x');
	hdr_add(&hs, "baggage", m);
	member(m, "b", 5000, 'y');
	hdr_add(&hs, "baggage", m);
	extract(OTELP_PROP_BAGGAGE, &hs);
	ck_assert_uint_eq(ex.baggage_len, 5000);
	ck_assert_int_eq(ex.baggage[0], 'a');
}
END_TEST

START_TEST(ex_b3)
{
	struct hdrs hs = {.n = 0};

	/* Single with either B3 propagator. */
	hdr_add(&hs, "B3", TRACE "-" SPAN "-d");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, true);
	hdr_add(&hs, "b3", TRACE "-" SPAN "-1");
	extract(OTELP_PROP_B3MULTI, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, false);

	/* Multi with either B3 propagator. */
	for (unsigned p = OTELP_PROP_B3; p <= OTELP_PROP_B3MULTI; p <<= 1) {
		hdr_add(&hs, "X-B3-TraceId", TRACE16);
		hdr_add(&hs, "X-B3-SpanId", SPAN);
		hdr_add(&hs, "X-B3-ParentSpanId", PARENT);
		hdr_add(&hs, "X-B3-Sampled", "1");
		extract(p, &hs);
		assert_ctx(&ex.ctx, trace16_bin, 0x01, false);
	}
	hdr_add(&hs, "x-b3-traceid", TRACE);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	hdr_add(&hs, "x-b3-flags", "1");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, true);

	/* Not configured: ignored. */
	hdr_add(&hs, "b3", TRACE "-" SPAN "-1");
	extract(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &hs);
	assert_ctx_zero(&ex.ctx);

	/* First value wins. */
	hdr_add(&hs, "b3", TRACE16 "-" SPAN "-1");
	hdr_add(&hs, "b3", TRACE "-" SPAN "-0");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx(&ex.ctx, trace16_bin, 0x01, false);
	hdr_add(&hs, "x-b3-traceid", TRACE);
	hdr_add(&hs, "x-b3-traceid", TRACE16);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	hdr_add(&hs, "x-b3-sampled", "0");
	hdr_add(&hs, "x-b3-sampled", "1");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x00, false);

	/* Deny-only alone: no context. */
	hdr_add(&hs, "b3", "0");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx_zero(&ex.ctx);
	/* Malformed multi: no context. */
	hdr_add(&hs, "x-b3-traceid", TRACE);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	hdr_add(&hs, "x-b3-sampled", "maybe");
	extract(OTELP_PROP_B3, &hs);
	assert_ctx_zero(&ex.ctx);
}
END_TEST

START_TEST(ex_b3_single_over_multi)
{
	struct hdrs hs = {.n = 0};

	hdr_add(&hs, "x-b3-traceid", TRACE16);
	hdr_add(&hs, "x-b3-spanid", PARENT);
	hdr_add(&hs, "x-b3-sampled", "0");
	hdr_add(&hs, "b3", TRACE "-" SPAN "-1");
	extract(OTELP_PROP_B3 | OTELP_PROP_B3MULTI, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, false);

	/* An invalid or deny-only single header falls back to multi. */
	hdr_add(&hs, "b3", "garbage");
	hdr_add(&hs, "x-b3-traceid", TRACE);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	hdr_add(&hs, "x-b3-sampled", "1");
	extract(OTELP_PROP_B3MULTI, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x01, false);
	hdr_add(&hs, "b3", "0");
	hdr_add(&hs, "x-b3-traceid", TRACE);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	extract(OTELP_PROP_B3MULTI, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x00, false);
}
END_TEST

START_TEST(ex_w3c_over_b3)
{
	struct hdrs hs = {.n = 0};

	hdr_add(&hs, "b3", TRACE16 "-" SPAN "-d");
	hdr_add(&hs, "traceparent", TP("00"));
	hdr_add(&hs, "tracestate", "foo=1");
	extract(ALL_PROPS, &hs);
	assert_ctx(&ex.ctx, trace_bin, 0x00, false);
	ck_assert_str_eq(ex.tracestate, "foo=1");

	/* W3C not configured: B3 is used. */
	hdr_add(&hs, "b3", TRACE16 "-" SPAN "-d");
	hdr_add(&hs, "traceparent", TP("00"));
	extract(OTELP_PROP_B3, &hs);
	assert_ctx(&ex.ctx, trace16_bin, 0x01, true);

	/* Invalid traceparent: B3 is used, and the tracestate is dropped. */
	hdr_add(&hs, "traceparent", "00-" TRACE "-" SPAN "-01-x");
	hdr_add(&hs, "tracestate", "foo=1");
	hdr_add(&hs, "x-b3-traceid", TRACE16);
	hdr_add(&hs, "x-b3-spanid", SPAN);
	hdr_add(&hs, "x-b3-sampled", "true");
	extract(ALL_PROPS, &hs);
	assert_ctx(&ex.ctx, trace16_bin, 0x01, false);
	ck_assert_uint_eq(ex.tracestate_len, 0);

	/* Duplicated traceparent: B3 too. */
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "traceparent", TP("01"));
	hdr_add(&hs, "b3", TRACE16 "-" SPAN "-0");
	extract(ALL_PROPS, &hs);
	assert_ctx(&ex.ctx, trace16_bin, 0x00, false);
}
END_TEST

START_TEST(ex_null_values)
{
	struct otelp_header h[4] = {
	    {.name = "traceparent", .name_len = 11, .value = NULL, .value_len = 0},
	    {.name = "tracestate", .name_len = 10, .value = NULL, .value_len = 5},
	    {.name = "baggage", .name_len = 7, .value = NULL, .value_len = 3},
	    {.name = "b3", .name_len = 2, .value = NULL, .value_len = 0},
	};

	struct otelp_header m[3] = {
	    {.name = "x-b3-traceid", .name_len = 12, .value = NULL, .value_len = 0},
	    {.name = "x-b3-traceid", .name_len = 12, .value = TRACE, .value_len = 32},
	    {.name = "x-b3-spanid", .name_len = 11, .value = SPAN, .value_len = 16},
	};

	memset(&ex, 0xaa, sizeof(ex));
	otelp__extract(ALL_PROPS, h, 4, &ex);
	assert_ctx_zero(&ex.ctx);
	ck_assert_uint_eq(ex.baggage_len, 0);
	ck_assert_uint_eq(ex.tracestate_len, 0);

	/* A header without a value is no header: the next one is the first value. */
	memset(&ex, 0xaa, sizeof(ex));
	otelp__extract(ALL_PROPS, m, 3, &ex);
	assert_ctx(&ex.ctx, trace_bin, 0x00, false);
}
END_TEST

/* ================================================================ inject */

static struct otelp_ctx mkctx(uint8_t flags, bool debug)
{
	struct otelp_ctx c;

	memset(&c, 0, sizeof(c));
	memcpy(c.trace_id, trace_bin, 16);
	memcpy(c.span_id, span_bin, 8);
	c.flags = flags;
	c.valid = true;
	c.b3_debug = debug;
	return c;
}

static char inj[4096];

static size_t inject(unsigned props, const struct otelp_ctx *c, const char *ts, const char *bg)
{
	size_t n;

	memset(inj, 'X', sizeof(inj));
	n = otelp__inject_headers(props, c, ts, ts ? strlen(ts) : 0, bg, bg ? strlen(bg) : 0, inj,
	                          sizeof(inj) - 1);
	ck_assert_uint_lt(n, sizeof(inj));
	inj[n] = '\0';
	return n;
}

#define TPL(flags) "traceparent: " TP(flags) "\r\n"

START_TEST(inj_tracecontext)
{
	struct otelp_ctx c = mkctx(0x01, false);

	ck_assert_uint_eq(inject(OTELP_PROP_TRACECONTEXT, &c, NULL, NULL), 57 + 13);
	ck_assert_str_eq(inj, TPL("01"));
	inject(OTELP_PROP_TRACECONTEXT, &c, "foo=1,bar=2", "a=1");
	ck_assert_str_eq(inj, TPL("01") "tracestate: foo=1,bar=2\r\n");
	inject(OTELP_PROP_TRACECONTEXT, &c, "", "");
	ck_assert_str_eq(inj, TPL("01"));
	c = mkctx(0x00, false);
	inject(OTELP_PROP_TRACECONTEXT, &c, NULL, NULL);
	ck_assert_str_eq(inj, TPL("00"));
	c = mkctx(0x02, false);
	inject(OTELP_PROP_TRACECONTEXT, &c, NULL, NULL);
	ck_assert_str_eq(inj, TPL("02"));
	/* Reserved bits never go out. */
	c = mkctx(0xff, false);
	inject(OTELP_PROP_TRACECONTEXT, &c, NULL, NULL);
	ck_assert_str_eq(inj, TPL("03"));
	/* Debug is a B3 notion only. */
	c = mkctx(0x01, true);
	inject(OTELP_PROP_TRACECONTEXT, &c, NULL, NULL);
	ck_assert_str_eq(inj, TPL("01"));
}
END_TEST

START_TEST(inj_baggage)
{
	struct otelp_ctx c = mkctx(0x01, false);

	inject(OTELP_PROP_BAGGAGE, &c, "foo=1", "a=1,b=2;p");
	ck_assert_str_eq(inj, "baggage: a=1,b=2;p\r\n");
	ck_assert_uint_eq(inject(OTELP_PROP_BAGGAGE, &c, "foo=1", ""), 0);
	ck_assert_uint_eq(inject(OTELP_PROP_BAGGAGE, &c, "foo=1", NULL), 0);
	inject(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj, TPL("01") "tracestate: foo=1\r\nbaggage: a=1\r\n");
	inject(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &c, NULL, "a=1");
	ck_assert_str_eq(inj, TPL("01") "baggage: a=1\r\n");
}
END_TEST

START_TEST(inj_b3_single)
{
	struct otelp_ctx c = mkctx(0x01, false);

	inject(OTELP_PROP_B3, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj, "b3: " TRACE "-" SPAN "-1\r\n");
	c = mkctx(0x00, false);
	inject(OTELP_PROP_B3, &c, NULL, NULL);
	ck_assert_str_eq(inj, "b3: " TRACE "-" SPAN "-0\r\n");
	c = mkctx(0x02, false);
	inject(OTELP_PROP_B3, &c, NULL, NULL);
	ck_assert_str_eq(inj, "b3: " TRACE "-" SPAN "-0\r\n");
	c = mkctx(0x01, true);
	inject(OTELP_PROP_B3, &c, NULL, NULL);
	ck_assert_str_eq(inj, "b3: " TRACE "-" SPAN "-d\r\n");
	/* A padded 64-bit trace id goes out with its 128 bits. */
	c = mkctx(0x01, false);
	memcpy(c.trace_id, trace16_bin, 16);
	inject(OTELP_PROP_B3, &c, NULL, NULL);
	ck_assert_str_eq(inj, "b3: 0000000000000000" TRACE16 "-" SPAN "-1\r\n");
}
END_TEST

START_TEST(inj_b3_multi)
{
	struct otelp_ctx c = mkctx(0x01, false);

	inject(OTELP_PROP_B3MULTI, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj,
	                 "X-B3-TraceId: " TRACE "\r\nX-B3-SpanId: " SPAN "\r\nX-B3-Sampled: 1\r\n");
	c = mkctx(0x00, false);
	inject(OTELP_PROP_B3MULTI, &c, NULL, NULL);
	ck_assert_str_eq(inj,
	                 "X-B3-TraceId: " TRACE "\r\nX-B3-SpanId: " SPAN "\r\nX-B3-Sampled: 0\r\n");
	c = mkctx(0x01, true);
	inject(OTELP_PROP_B3MULTI, &c, NULL, NULL);
	ck_assert_str_eq(inj,
	                 "X-B3-TraceId: " TRACE "\r\nX-B3-SpanId: " SPAN "\r\nX-B3-Flags: 1\r\n");
	ck_assert_ptr_null(strstr(inj, "ParentSpanId"));
	ck_assert_ptr_null(strstr(inj, "Sampled"));
}
END_TEST

START_TEST(inj_all)
{
	struct otelp_ctx c = mkctx(0x03, false);
	static const char want[] = TPL("03") "tracestate: foo=1\r\n"
	                                     "baggage: a=1\r\n"
	                                     "b3: " TRACE "-" SPAN "-1\r\n"
	                                     "X-B3-TraceId: " TRACE "\r\n"
	                                     "X-B3-SpanId: " SPAN "\r\n"
	                                     "X-B3-Sampled: 1\r\n";

	ck_assert_uint_eq(inject(ALL_PROPS, &c, "foo=1", "a=1"), sizeof(want) - 1);
	ck_assert_str_eq(inj, want);
	inject(OTELP_PROP_TRACECONTEXT | OTELP_PROP_B3, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj, TPL("03") "tracestate: foo=1\r\nb3: " TRACE "-" SPAN "-1\r\n");
	inject(OTELP_PROP_B3 | OTELP_PROP_B3MULTI, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj, "b3: " TRACE "-" SPAN "-1\r\nX-B3-TraceId: " TRACE
	                      "\r\nX-B3-SpanId: " SPAN "\r\nX-B3-Sampled: 1\r\n");
	c = mkctx(0x01, true);
	inject(OTELP_PROP_BAGGAGE | OTELP_PROP_B3 | OTELP_PROP_B3MULTI, &c, "foo=1", "a=1");
	ck_assert_str_eq(inj, "baggage: a=1\r\nb3: " TRACE "-" SPAN "-d\r\nX-B3-TraceId: " TRACE
	                      "\r\nX-B3-SpanId: " SPAN "\r\nX-B3-Flags: 1\r\n");
}
END_TEST

START_TEST(inj_refused)
{
	struct otelp_ctx c = mkctx(0x01, false);
	char small[512];
	size_t full;

	ck_assert_uint_eq(inject(0, &c, "foo=1", "a=1"), 0);
	ck_assert_uint_eq(inject(1u << 10, &c, "foo=1", "a=1"), 0);
	ck_assert_uint_eq(otelp__inject_headers(ALL_PROPS, NULL, NULL, 0, NULL, 0, inj, 100), 0);
	c.valid = false;
	ck_assert_uint_eq(inject(ALL_PROPS, &c, "foo=1", "a=1"), 0);
	c = mkctx(0x01, false);
	memset(c.trace_id, 0, 16);
	ck_assert_uint_eq(inject(ALL_PROPS, &c, NULL, NULL), 0);
	c = mkctx(0x01, false);
	memset(c.span_id, 0, 8);
	ck_assert_uint_eq(inject(ALL_PROPS, &c, NULL, NULL), 0);

	/* Every cap short of the full size gives 0, and nothing is written past cap. */
	c = mkctx(0x01, false);
	full = inject(ALL_PROPS, &c, "foo=1", "a=1");
	ck_assert_uint_lt(full, sizeof(small) - 1);
	for (size_t cap = 0; cap < full; cap++) {
		memset(small, 'Z', sizeof(small));
		ck_assert_uint_eq(
		    otelp__inject_headers(ALL_PROPS, &c, "foo=1", 5, "a=1", 3, small, cap), 0);
		for (size_t i = cap; i < sizeof(small); i++)
			ck_assert_int_eq(small[i], 'Z');
	}
	ck_assert_uint_eq(otelp__inject_headers(ALL_PROPS, &c, "foo=1", 5, "a=1", 3, small, full),
	                  full);
	ck_assert_mem_eq(small, inj, full);
	ck_assert_uint_eq(otelp__inject_headers(ALL_PROPS, &c, "foo=1", 5, "a=1", 3, NULL, 1000),
	                  0);
}
END_TEST

START_TEST(inj_unsafe_values_skipped)
{
	struct otelp_ctx c = mkctx(0x01, false);

	inject(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &c, "foo=1\r\nx-evil: 1", "a=1\nb");
	ck_assert_str_eq(inj, TPL("01"));
	inject(OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE, &c, "foo=\x80", "a=1;p=\x01");
	ck_assert_str_eq(inj, TPL("01"));
	/* Not NUL-terminated: only the given length is used. */
	ck_assert_uint_gt(otelp__inject_headers(OTELP_PROP_TRACECONTEXT, &c, "foo=1\r\n", 5, NULL,
	                                        0, inj, sizeof(inj)),
	                  0);
	ck_assert_ptr_nonnull(strstr(inj, "tracestate: foo=1\r\n"));
}
END_TEST

/* Parse injected "name: value\r\n" lines back into headers. */
static size_t lines_to_headers(const char *s, size_t n, struct otelp_header *h, size_t max)
{
	size_t count = 0, i = 0;

	while (i < n && count < max) {
		const char *line = s + i;
		const char *end = memmem(line, n - i, "\r\n", 2);
		const char *colon;

		ck_assert_ptr_nonnull(end);
		colon = memchr(line, ':', (size_t)(end - line));
		ck_assert_ptr_nonnull(colon);
		ck_assert_int_eq(colon[1], ' ');
		h[count].name = line;
		h[count].name_len = (size_t)(colon - line);
		h[count].value = colon + 2;
		h[count].value_len = (size_t)(end - colon - 2);
		count++;
		i = (size_t)(end - s) + 2;
	}
	return count;
}

START_TEST(round_trip)
{
	static const unsigned props[] = {
	    OTELP_PROP_TRACECONTEXT,
	    OTELP_PROP_TRACECONTEXT | OTELP_PROP_BAGGAGE,
	    OTELP_PROP_B3,
	    OTELP_PROP_B3MULTI,
	    OTELP_PROP_B3 | OTELP_PROP_B3MULTI,
	    OTELP_PROP_BAGGAGE | OTELP_PROP_B3,
	    ALL_PROPS,
	};
	static const uint8_t flags[] = {0x00, 0x01, 0x02, 0x03};
	static const char ts[] = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
	static const char bg[] = "userId=alice,serverNode=DF%2028;p=1";

	for (size_t p = 0; p < OTELP_ARRAY_SIZE(props); p++) {
		for (size_t f = 0; f < OTELP_ARRAY_SIZE(flags); f++) {
			for (int debug = 0; debug < 2; debug++) {
				struct otelp_ctx c = mkctx(flags[f], debug);
				struct otelp_header h[16];
				bool w3c = props[p] & OTELP_PROP_TRACECONTEXT;
				size_t n, nh;

				if (debug && w3c)
					continue; /* W3C has no debug flag */
				if (debug)
					c.flags |= OTELP_TRACE_FLAG_SAMPLED;
				/* Vary the ids too. */
				c.trace_id[0] = (uint8_t)(p * 16 + f);
				c.span_id[7] = (uint8_t)(f * 3 + (unsigned)debug);
				n = otelp__inject_headers(props[p], &c, ts, strlen(ts), bg,
				                          strlen(bg), inj, sizeof(inj));
				ck_assert_uint_gt(n, 0);
				nh = lines_to_headers(inj, n, h, OTELP_ARRAY_SIZE(h));
				memset(&ex, 0xaa, sizeof(ex));
				otelp__extract(props[p], h, nh, &ex);

				ck_assert(ex.ctx.valid);
				ck_assert(ex.ctx.remote);
				ck_assert_mem_eq(ex.ctx.trace_id, c.trace_id, 16);
				ck_assert_mem_eq(ex.ctx.span_id, c.span_id, 8);
				ck_assert_int_eq(ex.ctx.b3_debug, debug);
				if (w3c) {
					ck_assert_uint_eq(ex.ctx.flags, c.flags);
					ck_assert_str_eq(ex.tracestate, ts);
				} else {
					/* B3 carries the sampled bit only. */
					ck_assert_uint_eq(ex.ctx.flags,
					                  c.flags & OTELP_TRACE_FLAG_SAMPLED);
					ck_assert_str_eq(ex.tracestate, "");
				}
				if (props[p] & OTELP_PROP_BAGGAGE)
					ck_assert_str_eq(ex.baggage, bg);
				else
					ck_assert_str_eq(ex.baggage, "");
			}
		}
	}
}
END_TEST

/* ================================================================ header names */

START_TEST(header_names)
{
	ck_assert(otelp__header_name_is("traceparent", 11, "traceparent"));
	ck_assert(otelp__header_name_is("TraceParent", 11, "traceparent"));
	ck_assert(otelp__header_name_is("TRACEPARENT", 11, "traceparent"));
	ck_assert(otelp__header_name_is("X-B3-TraceId", 12, "x-b3-traceid"));
	ck_assert(otelp__header_name_is("", 0, ""));
	ck_assert(otelp__header_name_is(NULL, 0, ""));
	ck_assert(!otelp__header_name_is("traceparent", 10, "traceparent"));
	ck_assert(!otelp__header_name_is("traceparentx", 12, "traceparent"));
	ck_assert(!otelp__header_name_is("tracepar", 8, "traceparent"));
	ck_assert(!otelp__header_name_is("b3", 2, "b"));
	ck_assert(!otelp__header_name_is("b", 1, "b3"));
	ck_assert(!otelp__header_name_is("", 0, "b3"));
	ck_assert(!otelp__header_name_is(NULL, 2, "b3"));
	/* No locale games: only ASCII letters fold. */
	ck_assert(!otelp__header_name_is("b\x13", 2, "b3"));
	ck_assert(!otelp__header_name_is("x_b3", 4, "x-b3"));
	ck_assert(!otelp__header_name_is("\xc2\x33", 2, "b3"));
	/* Length-bounded: the name need not be NUL-terminated. */
	ck_assert(otelp__header_name_is("b3: xyz", 2, "b3"));
	ck_assert(!otelp__header_name_is("b3\0", 3, "b3"));
}
END_TEST

/*
 * Extraction compares header names a word at a time, letting only the letters of the known
 * name differ in case (bit 5). Each byte of each name with bit 5 flipped: a match exactly when
 * that byte is a letter ('-' and '\r', '3' and 0x13 differ only in bit 5 too).
 */
static bool extract_sees(const char *name, size_t k, char flip)
{
	char n[16];
	struct hdrs hs = {.n = 0};
	size_t len = strlen(name);

	memcpy(n, name, len + 1);
	n[k] = flip;
	if (strcmp(name, "traceparent") == 0) {
		hdr_add(&hs, n, TP("01"));
		extract(ALL_PROPS, &hs);
		return ex.ctx.valid;
	}
	if (strcmp(name, "tracestate") == 0 || strcmp(name, "baggage") == 0) {
		hdr_add(&hs, "traceparent", TP("01"));
		hdr_add(&hs, n, "k=v");
		extract(ALL_PROPS, &hs);
		return name[1] == 'r' ? ex.tracestate_len == 3 : ex.baggage_len == 3;
	}
	if (strcmp(name, "b3") == 0) {
		hdr_add(&hs, n, TRACE "-" SPAN "-1");
		extract(ALL_PROPS, &hs);
		return ex.ctx.valid;
	}
	/* The X-B3 headers: all four, one of them renamed. */
	hdr_add(&hs, strcmp(name, "x-b3-traceid") == 0 ? n : "x-b3-traceid", TRACE);
	hdr_add(&hs, strcmp(name, "x-b3-spanid") == 0 ? n : "x-b3-spanid", SPAN);
	hdr_add(&hs, strcmp(name, "x-b3-sampled") == 0 ? n : "x-b3-sampled", "1");
	hdr_add(&hs, strcmp(name, "x-b3-flags") == 0 ? n : "x-b3-flags", "0");
	extract(ALL_PROPS, &hs);
	if (strcmp(name, "x-b3-sampled") == 0)
		return ex.ctx.valid && ex.ctx.flags == 0x01;
	if (strcmp(name, "x-b3-flags") == 0)
		return ex.ctx.valid; /* "0" is not debug: the header is read, and harmless */
	return ex.ctx.valid;
}

START_TEST(ex_name_bytes)
{
	static const char *const names[] = {"traceparent",  "tracestate",   "baggage",
	                                    "b3",           "x-b3-traceid", "x-b3-spanid",
	                                    "x-b3-sampled", "x-b3-flags"};

	for (size_t i = 0; i < OTELP_ARRAY_SIZE(names); i++) {
		const char *name = names[i];

		ck_assert_msg(extract_sees(name, 0, name[0]), "%s", name);
		for (size_t k = 0; name[k]; k++) {
			bool letter = name[k] >= 'a' && name[k] <= 'z';
			bool seen = extract_sees(name, k, (char)(name[k] ^ 0x20));

			/* x-b3-flags is optional: a renamed one leaves a valid context. */
			if (strcmp(name, "x-b3-flags") == 0)
				continue;
			ck_assert_msg(seen == letter, "%s byte %zu", name, k);
		}
	}
	/* The flags header, through its effect (debug). */
	for (size_t k = 0; k < 10; k++) {
		char n[16] = "x-b3-flags";
		struct hdrs hs = {.n = 0};
		bool letter = n[k] >= 'a' && n[k] <= 'z';

		n[k] = (char)(n[k] ^ 0x20);
		hdr_add(&hs, "x-b3-traceid", TRACE);
		hdr_add(&hs, "x-b3-spanid", SPAN);
		hdr_add(&hs, n, "1");
		extract(ALL_PROPS, &hs);
		ck_assert(ex.ctx.valid);
		ck_assert_msg(ex.ctx.b3_debug == letter, "x-b3-flags byte %zu", k);
	}
	/* A header without a name (NULL, whatever its length) is nobody's. */
	{
		struct otelp_header h = {.name = NULL,
		                         .name_len = 11,
		                         .value = TP("01"),
		                         .value_len = OTELP_TRACEPARENT_LEN};

		memset(&ex, 0xaa, sizeof(ex));
		otelp__extract(ALL_PROPS, &h, 1, &ex);
		ck_assert(!ex.ctx.valid);
	}
}
END_TEST

static Suite *propagation_suite(void)
{
	Suite *s = suite_create("propagation");
	TCase *tc;

	tc = tcase_create("traceparent");
	tcase_add_test(tc, tp_valid_v00);
	tcase_add_test(tc, tp_reserved_flags_masked);
	tcase_add_test(tc, tp_v00_exact_length);
	tcase_add_test(tc, tp_null_input);
	tcase_add_test(tc, tp_version_ff);
	tcase_add_test(tc, tp_higher_versions);
	tcase_add_test(tc, tp_bad_version);
	tcase_add_test(tc, tp_uppercase_hex);
	tcase_add_test(tc, tp_each_position);
	tcase_add_test(tc, tp_all_zero);
	tcase_add_test(tc, tp_ows);
	tcase_add_test(tc, tp_wrong_lengths);
	tcase_add_test(tc, tp_format);
	tcase_add_test(tc, tp_every_byte_every_digit);
	tcase_add_test(tc, tp_every_byte_separators);
	tcase_add_test(tc, tp_format_every_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("tracestate");
	tcase_add_test(tc, ts_simple);
	tcase_add_test(tc, ts_empty_and_ows_members);
	tcase_add_test(tc, ts_member_count);
	tcase_add_test(tc, ts_key_grammar);
	tcase_add_test(tc, ts_value_grammar);
	tcase_add_test(tc, ts_duplicate_keys);
	tcase_add_test(tc, ts_truncation);
	tcase_add_test(tc, ts_small_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("baggage");
	tcase_add_test(tc, bg_simple);
	tcase_add_test(tc, bg_ows);
	tcase_add_test(tc, bg_values);
	tcase_add_test(tc, bg_properties);
	tcase_add_test(tc, bg_malformed_dropped);
	tcase_add_test(tc, bg_member_limit);
	tcase_add_test(tc, bg_byte_limit);
	tcase_add_test(tc, bg_small_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("b3");
	tcase_add_test(tc, b3s_valid);
	tcase_add_test(tc, b3s_trace16);
	tcase_add_test(tc, b3s_deny_only);
	tcase_add_test(tc, b3s_invalid);
	tcase_add_test(tc, b3s_every_byte_every_digit);
	tcase_add_test(tc, b3m_valid);
	tcase_add_test(tc, b3m_debug);
	tcase_add_test(tc, b3m_deny_only);
	tcase_add_test(tc, b3m_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("extract");
	tcase_add_test(tc, ex_nothing);
	tcase_add_test(tc, ex_w3c);
	tcase_add_test(tc, ex_w3c_duplicated_traceparent);
	tcase_add_test(tc, ex_w3c_invalid_drops_tracestate);
	tcase_add_test(tc, ex_tracestate_combined);
	tcase_add_test(tc, ex_baggage);
	tcase_add_test(tc, ex_b3);
	tcase_add_test(tc, ex_b3_single_over_multi);
	tcase_add_test(tc, ex_w3c_over_b3);
	tcase_add_test(tc, ex_null_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("inject");
	tcase_add_test(tc, inj_tracecontext);
	tcase_add_test(tc, inj_baggage);
	tcase_add_test(tc, inj_b3_single);
	tcase_add_test(tc, inj_b3_multi);
	tcase_add_test(tc, inj_all);
	tcase_add_test(tc, inj_refused);
	tcase_add_test(tc, inj_unsafe_values_skipped);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, header_names);
	tcase_add_test(tc, ex_name_bytes);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return otelp_check_run(propagation_suite(), false);
}
