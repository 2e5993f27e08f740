/*
 * Incremental HTTP/1.x parser (see http1.h for the contract).
 *
 * DESIGN
 * ------
 * The parser runs inside write()/read() hooks, so the common case must cost little more than a
 * memchr per line: a line that lies whole in the caller's buffer is parsed in place and the
 * event points into that buffer. Only a line split across calls is copied, into p->line, and
 * only its first OTELP_H1_LINE_MAX bytes (plus its last few bytes in p->tail, so that the
 * HTTP version at the end of a long request line can still be checked).
 *
 * The same stream must give the same events with the same offsets however it is cut into
 * calls (the fuzzer checks this). So every decision is a function of the stream alone, never
 * of where a call boundary fell: a line longer than OTELP_H1_LINE_MAX is cut to the same
 * length in both paths, a bare CR is reported when its line ends in both paths, and the head
 * size limit is exactly "more than OTELP_H1_HEAD_MAX bytes" in both paths.
 *
 * Decisions beyond the header's contract:
 *  - Empty lines before a start line are skipped (RFC 9112 §2.2 asks servers to; clients that
 *    add a CRLF after a body exist), for responses too. They count toward the next head's size
 *    and the parser stays idle while skipping them.
 *  - A CR anywhere in a head, chunk-size or trailer line other than right before its LF is an
 *    error: some implementations end lines there, we cannot know which rule the peer follows.
 *  - Header values may hold any other byte (NUL included): events carry lengths, and the
 *    bytes do not affect framing. The request target must not hold SP, controls or DEL.
 *  - Content-Length must be 1*DIGIT; a list ("5, 5") is an error like any other non-digit.
 *  - Transfer-Encoding whose last coding is not chunked: error in a request; in a response it
 *    means until-close (RFC 9112 §6.3 rule 4). Empty list elements are ignored. Trailer fields
 *    never change the framing.
 *  - A truncated Content-Length or Transfer-Encoding line, or a truncated header line without
 *    ':' in its kept part, is an error (the part that matters was not kept).
 *  - Chunk-size lines and the trailer section each get their own OTELP_H1_HEAD_MAX budget, so
 *    an endless chunk extension ends in an error instead of an endless scan. Whitespace after
 *    the chunk size is accepted, with or without an extension after it.
 *  - Opaque (buf == NULL) bytes running past the end of a chunk's data are an error as soon as
 *    the chunk's data has been consumed: the chunk framing after it cannot be seen.
 *  - otelp__h1_set_body() only acts between OTELP_H1_HEADERS_DONE and the next step; an
 *    unknown framing value is an error at that step.
 *  - otelp__h1_eof() also completes a message whose head was reported but whose empty body's
 *    MESSAGE_DONE was not yet stepped to.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common.h"
#include "http1.h"

#define TAIL_RAW  sizeof(((struct otelp_h1 *)0)->tail)
#define TAIL_KEEP (TAIL_RAW - 1) /* content bytes, the raw tail may end with the CR */

enum state {
	S_START,       /* waiting for a start line (skipping empty lines) */
	S_HEADERS,     /* header lines until the empty line */
	S_BODY_START,  /* HEADERS_DONE reported; the framing is read at the next step */
	S_BODY,        /* Content-Length body, p->remaining bytes left */
	S_CHUNK_SIZE,  /* chunk-size line */
	S_CHUNK_DATA,  /* chunk data, p->remaining bytes left */
	S_CHUNK_CR,    /* the CRLF (or bare LF) after chunk data */
	S_CHUNK_LF,    /* its LF */
	S_TRAILERS,    /* trailer lines until the empty line */
	S_UNTIL_CLOSE, /* response body up to the end of the stream */
	S_DEAD,
};

enum flag {
	F_LAST_CR = 1 << 0,    /* the last byte stored of the current line is a CR */
	F_BAD_CR = 1 << 1,     /* the current line holds a CR not followed by its LF */
	F_TE_SEEN = 1 << 2,    /* Transfer-Encoding present */
	F_TE_CHUNKED = 1 << 3, /* its last coding so far is chunked */
};

/* A complete line: its content excludes the LF and the CR before it. */
struct line {
	const char *s;    /* first len bytes of the content */
	size_t len;       /* min(total, OTELP_H1_LINE_MAX) */
	size_t total;     /* length of the whole content */
	const char *tail; /* last tail_len bytes of the content, beyond the first len ones */
	size_t tail_len;
	uint64_t start; /* stream offset of the line's first byte */
	uint64_t end;   /* stream offset after its LF */
};

/*
 * tchar (RFC 9110 §5.6.2) as a table: one load per byte in the loops over field names, made
 * at compile time from the bit words of otelp__is_tchar.
 */
#define TC_LO 0x03ff6cfa00000000ull
#define TC_HI 0x57ffffffc7fffffeull
#define TC(c) \
	(uint8_t)((c) < 64 ? (TC_LO >> ((c)&63)) & 1 : (c) < 128 ? (TC_HI >> ((c)&63)) & 1 : 0)
#define TC4(c)  TC(c), TC((c) + 1), TC((c) + 2), TC((c) + 3)
#define TC16(c) TC4(c), TC4((c) + 4), TC4((c) + 8), TC4((c) + 12)
#define TC64(c) TC16(c), TC16((c) + 16), TC16((c) + 32), TC16((c) + 48)
static const uint8_t tchar[256] = {TC64(0), TC64(64), TC64(128), TC64(192)};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- line reading ---- */

static bool is_crlf(unsigned char c)
{
	return c <= '\r' && ((1u << c) & (1u << '\n' | 1u << '\r'));
}

/*
 * Offset of the first CR or LF in s[0..n), or n: sixteen bytes at a time where SSE2 exists,
 * never reading outside s[0..n) (the last block overlaps the one before, whose bytes are
 * known to hold neither).
 */
static inline size_t find_crlf(const char *s, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	if (n >= 16) {
		const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
		unsigned m;

		for (;; i += 16) {
			if (i + 16 > n)
				i = n - 16;
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			m = (unsigned)_mm_movemask_epi8(
			    _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
			if (m)
				return i + (size_t)__builtin_ctz(m);
			if (i + 16 == n)
				return n;
		}
	}
#endif
	while (i < n && !is_crlf((unsigned char)s[i]))
		i++;
	return i;
}

/* Keep the last bytes of the part of a split line that does not fit line[]. */
static void tail_push(struct otelp_h1 *p, const char *s, size_t n)
{
	if (n >= TAIL_RAW) {
		memcpy(p->tail, s + n - TAIL_RAW, TAIL_RAW);
		return;
	}
	memmove(p->tail, p->tail + n, TAIL_RAW - n);
	memcpy(p->tail + TAIL_RAW - n, s, n);
}

/* Add bytes (no LF among them) to the split line being collected. */
static void line_append(struct otelp_h1 *p, const char *s, size_t n)
{
	size_t room = OTELP_H1_LINE_MAX - p->line_len;
	size_t keep = n < room ? n : room;

	if (n == 0)
		return;
	/* A CR is fine only right before the LF, which is not in s. */
	if ((p->flags & F_LAST_CR) || (n > 1 && memchr(s, '\r', n - 1)))
		p->flags |= F_BAD_CR;
	if (s[n - 1] == '\r')
		p->flags |= F_LAST_CR;
	else
		p->flags &= ~F_LAST_CR;
	memcpy(p->line + p->line_len, s, keep);
	p->line_len += (uint32_t)keep;
	if (n > keep)
		tail_push(p, s + keep, n - keep);
	p->line_total += (uint32_t)n;
}

/*
 * Read up to the end of a line from buf[0..len), at stream offset at. Returns 1 with *ln set
 * when a line is complete, 0 when all of buf was taken and the line goes on, -1 on error.
 * *used is the number of bytes taken.
 */
static int read_line(struct otelp_h1 *p, const char *buf, size_t len, uint64_t at, size_t *used,
                     struct line *ln, const char **err)
{
	size_t budget = OTELP_H1_HEAD_MAX - p->head_bytes;
	size_t lim = len < budget ? len : budget;
	size_t n, total, over;
	const char *lf;
	bool bad;

	if (otelp_likely(p->line_total == 0)) {
		/*
		 * The common case: a line that starts in this buffer, ending in LF or CRLF with no
		 * other CR before it. Anything else takes the general path below.
		 */
		n = find_crlf(buf, lim);
		if (n < lim && (buf[n] == '\n' || (n + 1 < lim && buf[n + 1] == '\n'))) {
			total = n;
			n += buf[n] == '\r';
			*used = n + 1;
			p->head_bytes += (uint32_t)(n + 1);
			ln->end = at + n + 1;
			ln->s = buf;
			ln->start = at;
			ln->total = total;
			if (otelp_likely(total <= OTELP_H1_LINE_MAX)) {
				ln->len = total;
				ln->tail_len = 0;
				ln->tail = buf + total;
			} else {
				ln->len = OTELP_H1_LINE_MAX;
				over = total - ln->len;
				ln->tail_len = over < TAIL_KEEP ? over : TAIL_KEEP;
				ln->tail = buf + total - ln->tail_len;
			}
			return 1;
		}
	}
	lf = memchr(buf, '\n', lim);
	if (!lf) {
		if (len > budget) {
			*used = 0;
			*err = "head too large";
			return -1;
		}
		if (p->line_total == 0)
			p->line_start = at;
		line_append(p, buf, len);
		p->head_bytes += (uint32_t)len;
		*used = len;
		return 0;
	}
	n = (size_t)(lf - buf);
	*used = n + 1;
	p->head_bytes += (uint32_t)(n + 1);
	ln->end = at + n + 1;
	if (otelp_likely(p->line_total == 0)) {
		/* The whole line is in the caller's buffer: use it in place. */
		total = n;
		if (total && buf[total - 1] == '\r')
			total--;
		bad = total && memchr(buf, '\r', total);
		ln->s = buf;
		ln->start = at;
		ln->total = total;
		ln->len = total < OTELP_H1_LINE_MAX ? total : OTELP_H1_LINE_MAX;
		over = total - ln->len;
		ln->tail_len = over < TAIL_KEEP ? over : TAIL_KEEP;
		ln->tail = buf + total - ln->tail_len;
	} else {
		line_append(p, buf, n);
		bad = p->flags & F_BAD_CR;
		total = p->line_total - ((p->flags & F_LAST_CR) ? 1 : 0);
		ln->s = p->line;
		ln->start = p->line_start;
		ln->total = total;
		ln->len = total < OTELP_H1_LINE_MAX ? total : OTELP_H1_LINE_MAX;
		over = total - ln->len;
		ln->tail_len = over < TAIL_KEEP ? over : TAIL_KEEP;
		/* The raw tail ends with the CR when there is one (the line then is over). */
		ln->tail = p->tail + TAIL_RAW - ((p->flags & F_LAST_CR) ? 1 : 0) - ln->tail_len;
		p->line_total = 0;
		p->line_len = 0;
		p->flags &= ~(F_LAST_CR | F_BAD_CR);
	}
	if (bad) {
		*err = "bare CR";
		return -1;
	}
	return 1;
}

/* The last n (<= TAIL_KEEP, <= total) content bytes of a line, into out. */
static void line_last(const struct line *ln, size_t n, char *out)
{
	size_t after = ln->total - ln->len; /* content bytes beyond s[0..len) */

	if (after == 0) {
		memcpy(out, ln->s + ln->len - n, n);
	} else if (after >= n) {
		memcpy(out, ln->tail + ln->tail_len - n, n);
	} else {
		/* after < n <= TAIL_KEEP, so the tail holds all of them. */
		memcpy(out, ln->s + ln->len - (n - after), n - after);
		memcpy(out + n - after, ln->tail, after);
	}
}

/* ---- start lines ---- */

static bool version_ok(const char *v, int *minor)
{
	if (memcmp(v, "HTTP/1.", 7) != 0 || (v[7] != '0' && v[7] != '1'))
		return false;
	*minor = v[7] - '0';
	return true;
}

/* A 16-byte block's mask of SP, controls and DEL (0x00..0x20: signed above -1, below 0x21). */
#if defined(__SSE2__)
static inline unsigned target_bad(const char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-1)),
	                            _mm_cmpgt_epi8(_mm_set1_epi8(' ' + 1), v));

	return (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(ctl, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
}
#endif

/*
 * No SP, control or DEL in s[0..n), where avail >= n bytes from s may be read: sixteen bytes
 * at a time where SSE2 exists (a short target is checked in one block that reads on into the
 * rest of the line, its bits beyond n ignored).
 */
static bool target_ok(const char *s, size_t n, size_t avail)
{
	size_t i = 0;

#if defined(__SSE2__)
	if (n >= 16) {
		for (;; i += 16) {
			if (i + 16 > n)
				i = n - 16;
			if (target_bad(s + i))
				return false;
			if (i + 16 == n)
				return true;
		}
	}
	if (avail >= 16)
		return (target_bad(s) & ((1u << n) - 1)) == 0;
#endif
	(void)avail;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

static const char *request_line(const struct line *ln, struct otelp_h1_event *ev)
{
	const char *s = ln->s;
	size_t i = 0, t, tend;
	char v[9];

	while (i < ln->len && tchar[(unsigned char)s[i]])
		i++;
	if (i == 0 || i == ln->len || s[i] != ' ')
		return "bad method";
	/* method SP target SP HTTP/1.x, the target at least one byte */
	if (ln->total < i + 11)
		return "bad request line";
	line_last(ln, sizeof(v), v);
	if (v[0] != ' ')
		return "bad request line";
	if (!version_ok(v + 1, &ev->version_minor))
		return memcmp(v + 1, "HTTP/", 5) == 0 ? "unsupported version" : "bad request line";
	t = i + 1;
	tend = ln->total - sizeof(v);
	if (tend > ln->len)
		tend = ln->len;
	if (tend <= t)
		return "bad request line";
	if (!target_ok(s + t, tend - t, ln->len - t))
		return "bad request target";
	ev->method = s;
	ev->method_len = i;
	ev->target = s + t;
	ev->target_len = tend - t;
	ev->status = 0;
	return NULL;
}

static const char *status_line(const struct line *ln, struct otelp_h1_event *ev)
{
	const char *s = ln->s;
	int status = 0;

	if (ln->total < 12 || s[8] != ' ' || !version_ok(s, &ev->version_minor))
		return ln->total >= 5 && memcmp(s, "HTTP/", 5) == 0 ? "unsupported version"
		                                                    : "bad status line";
	for (int i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "bad status code";
		status = status * 10 + (s[i] - '0');
	}
	if (status < 100)
		return "bad status code";
	if (ln->total > 12 && s[12] != ' ')
		return "bad status line";
	ev->method = ev->target = NULL;
	ev->method_len = ev->target_len = 0;
	ev->status = status;
	return NULL;
}

/* ---- header fields ---- */

struct field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

static const char *field_parse(const struct line *ln, struct field *f)
{
	const char *s = ln->s;
	size_t i = 0, j, end = ln->len;

	if (is_ows(s[0]))
		return "obsolete line folding";
	while (i < ln->len && tchar[(unsigned char)s[i]])
		i++;
	if (i == 0 || i == ln->len || s[i] != ':')
		return "bad header name";
	j = i + 1;
	while (j < end && is_ows(s[j]))
		j++;
	/* A cut value keeps its kept part: trimming it still gives a prefix of the real one. */
	while (end > j && is_ows(s[end - 1]))
		end--;
	f->name = s;
	f->name_len = i;
	f->value = s + j;
	f->value_len = end - j;
	return NULL;
}

static const char *content_length(struct otelp_h1 *p, const struct line *ln, const struct field *f)
{
	uint64_t v = 0;

	if (f->value_len == 0 || ln->total > ln->len)
		return "bad content-length";
	for (size_t i = 0; i < f->value_len; i++) {
		unsigned d = (unsigned char)f->value[i] - '0';

		if (d > 9)
			return "bad content-length";
		/* 19 digits never overflow: only longer values need the check. */
		if (i >= 19 && v > (UINT64_MAX - d) / 10)
			return "content-length overflow";
		v = v * 10 + d;
	}
	if (p->cl_seen && v != p->content_length)
		return "conflicting content-length";
	p->cl_seen = 1;
	p->content_length = v;
	return NULL;
}

/* Only the last coding matters: chunked or not. */
static const char *transfer_encoding(struct otelp_h1 *p, const struct line *ln,
                                     const struct field *f)
{
	const char *v = f->value;
	size_t end = f->value_len, start;

	if (ln->total > ln->len)
		return "transfer-encoding too long";
	p->flags |= F_TE_SEEN;
	/* Skip empty trailing list elements. */
	while (end > 0 && (is_ows(v[end - 1]) || v[end - 1] == ','))
		end--;
	if (end == 0)
		return NULL;
	start = end;
	while (start > 0 && v[start - 1] != ',')
		start--;
	while (is_ows(v[start]))
		start++;
	if (otelp__h1_name_is(v + start, end - start, "chunked", 7))
		p->flags |= F_TE_CHUNKED;
	else
		p->flags &= ~F_TE_CHUNKED;
	return NULL;
}

/* The framing chosen at the end of the head (see otelp__h1_set_body in http1.h). */
static const char *choose_body(struct otelp_h1 *p)
{
	bool response = p->kind == OTELP_H1_RESPONSE;

	if (response && (p->status < 200 || p->status == 204 || p->status == 304)) {
		p->body = OTELP_H1_BODY_NONE;
	} else if (p->flags & F_TE_SEEN) {
		if (p->flags & F_TE_CHUNKED)
			p->body = OTELP_H1_BODY_CHUNKED;
		else if (response)
			p->body = OTELP_H1_BODY_UNTIL_CLOSE;
		else
			return "transfer-encoding not ending in chunked";
	} else if (p->cl_seen) {
		p->body = OTELP_H1_BODY_LENGTH;
	} else {
		p->body = response ? OTELP_H1_BODY_UNTIL_CLOSE : OTELP_H1_BODY_NONE;
	}
	return NULL;
}

/* ---- chunks ---- */

static const char *chunk_size(struct otelp_h1 *p, const struct line *ln)
{
	const char *s = ln->s;
	uint64_t v = 0;
	size_t i = 0;
	int d;

	while (i < ln->len && (d = otelp__hex_digit(s[i])) >= 0) {
		if (v >> 60)
			return "chunk size overflow";
		v = v << 4 | (uint64_t)d;
		i++;
	}
	if (i == 0)
		return "bad chunk size";
	while (i < ln->len && is_ows(s[i]))
		i++;
	/* Anything after ';' is an extension, ignored. */
	if (i < ln->len ? s[i] != ';' : ln->total > ln->len)
		return "bad chunk size";
	p->head_bytes = 0;
	if (v == 0) {
		p->state = S_TRAILERS;
	} else {
		p->remaining = v;
		p->state = S_CHUNK_DATA;
	}
	return NULL;
}

/* A start line was read: the new message's framing state, before its header fields. */
static void message_start(struct otelp_h1 *p, int status)
{
	p->status = status;
	p->body = OTELP_H1_BODY_NONE;
	p->content_length = 0;
	p->cl_seen = 0;
	p->flags &= ~(F_TE_SEEN | F_TE_CHUNKED);
}

/* ---- header lines: the fast path ---- */

/*
 * The length of the run of tchars at the start of s[0..n). Field names are nearly always
 * letters, digits and '-': where SSE2 exists, sixteen bytes are checked for those at once, and
 * the table takes over at the first other byte (the ':' after a name of up to 16 bytes).
 */
static inline size_t name_len(const char *s, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	if (n >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
		__m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
		__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
		                               _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), l));
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
		                              _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
		__m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
		unsigned m =
		    (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));

		i = (size_t)__builtin_ctz(~m); /* bit 16 of ~m is set: i <= 16 */
	}
#endif
	while (i < n && tchar[(unsigned char)s[i]])
		i++;
	return i;
}

/*
 * The fast path of S_HEADERS: lines that lie whole in buf[0..len) (stream offset at), parsed
 * in one loop until a wanted field or the blank line gives an event (1), or a line needs the
 * general path (0: a line cut by the end of buf, a CR not before its LF, a line longer than
 * OTELP_H1_LINE_MAX, anything malformed). Either way *used bytes were consumed. It takes
 * exactly the decisions on_line() takes for such lines; where that would be an error it leaves
 * the line to the general path, which reports it. Values are trimmed only for the fields that
 * need them: wanted ones and the framing ones.
 *
 * With fields (a HEAD being gathered), wanted fields are added to fields[*nf] instead of
 * giving an event, and only the blank line ends the loop with 1; a wanted field beyond
 * OTELP_H1_HEAD_FIELDS stops it with 0.
 */
static int lines_fast(struct otelp_h1 *p, const char *buf, size_t len, uint64_t at, size_t *used,
                      struct otelp_h1_event *ev, struct otelp_h1_field *fields, size_t *nf)
{
	size_t budget = OTELP_H1_HEAD_MAX - p->head_bytes;
	size_t lim = len < budget ? len : budget;
	size_t off = 0, n_fields = fields ? *nf : 0;
	/* The fields whose value is read: the wanted ones and the framing ones. */
	uint32_t read_value = p->want | otelp__h1_want_bit(14) | otelp__h1_want_bit(17);
	int r = 0;

	while (off < lim) {
		const char *s = buf + off;
		size_t rem = lim - off, i, eol, next, j, e;
		uint32_t bit;

		i = name_len(s, rem);
		if (i == 0) {
			/* The blank line ending the head (a bare CR: the general path). */
			next = s[0] == '\n' ? 1 : s[0] == '\r' && rem > 1 && s[1] == '\n' ? 2 : 0;
			if (!next || choose_body(p))
				break;
			off += next;
			p->state = S_BODY_START;
			ev->type = OTELP_H1_HEADERS_DONE;
			ev->line_start = at + (off - next);
			ev->line_end = at + off;
			r = 1;
			break;
		}
		if (i == rem || s[i] != ':')
			break;
		eol = i + 1 + find_crlf(s + i + 1, rem - i - 1);
		if (eol + 1 >= rem || eol > OTELP_H1_LINE_MAX)
			break; /* the line or the byte after its CR is not here, or it is long */
		if (s[eol] == '\n')
			next = eol + 1;
		else if (s[eol + 1] == '\n')
			next = eol + 2;
		else
			break;
		bit = otelp__h1_want_bit(i);
		if (!(read_value & bit)) {
			off += next;
			continue;
		}
		bool wanted = p->want & bit;
		if (wanted && fields && n_fields == OTELP_H1_HEAD_FIELDS)
			break;
		j = i + 1;
		while (j < eol && is_ows(s[j]))
			j++;
		e = eol;
		while (e > j && is_ows(s[e - 1]))
			e--;
		if (i == 14 || i == 17) {
			struct line ln = {.s = s, .len = eol, .total = eol};
			struct field f = {s, i, s + j, e - j};
			const char *err = NULL;

			if (otelp__h1_name_is(s, i, "content-length", 14))
				err = content_length(p, &ln, &f);
			else if (otelp__h1_name_is(s, i, "transfer-encoding", 17))
				err = transfer_encoding(p, &ln, &f);
			if (err)
				break; /* the general path reads the line again and reports it */
		}
		off += next;
		if (wanted && fields) {
			struct otelp_h1_field *f = &fields[n_fields++];

			f->name = s;
			f->name_len = i;
			f->value = s + j;
			f->value_len = e - j;
			f->line_start = at + (off - next);
			f->line_end = at + off;
			f->value_start = f->line_start + j;
		} else if (wanted) {
			ev->type = OTELP_H1_HEADER;
			ev->name = s;
			ev->name_len = i;
			ev->value = s + j;
			ev->value_len = e - j;
			ev->truncated = false;
			ev->line_start = at + (off - next);
			ev->line_end = at + off;
			ev->value_start = ev->line_start + j;
			r = 1;
			break;
		}
	}
	p->head_bytes += (uint32_t)off;
	if (fields)
		*nf = n_fields;
	*used = off;
	return r;
}

/*
 * A whole head in buf[0..len), as one OTELP_H1_HEAD event (1, *used bytes consumed), or 0 with
 * nothing consumed and the parser as it was, when any part of it needs the general path.
 */
static int head_fast(struct otelp_h1 *p, const char *buf, size_t len, uint64_t at, size_t *used,
                     struct otelp_h1_event *ev)
{
	size_t budget = OTELP_H1_HEAD_MAX - p->head_bytes;
	size_t lim = len < budget ? len : budget;
	size_t n = find_crlf(buf, lim), next, rest, nf = 0;
	/* What the head changes, to put back when it leaves the fast path. */
	uint32_t head_bytes = p->head_bytes;
	uint8_t flags = p->flags, cl_seen = p->cl_seen;
	uint64_t content_length = p->content_length;
	int status = p->status;
	enum otelp_h1_body body = p->body;

	if (n == 0 || n >= lim || n > OTELP_H1_LINE_MAX)
		return 0;
	if (buf[n] == '\n')
		next = n + 1;
	else if (n + 1 < lim && buf[n + 1] == '\n')
		next = n + 2;
	else
		return 0;
	struct line ln = {
	    .s = buf, .len = n, .total = n, .tail = buf + n, .start = at, .end = at + next};
	if ((p->kind == OTELP_H1_RESPONSE ? status_line(&ln, ev) : request_line(&ln, ev)) != NULL)
		return 0;
	message_start(p, ev->status); /* messages++ only on success */
	p->head_bytes += (uint32_t)next;
	if (lines_fast(p, buf + next, len - next, at + next, &rest, ev, p->fields, &nf) != 1) {
		p->head_bytes = head_bytes;
		p->flags = flags;
		p->cl_seen = cl_seen;
		p->content_length = content_length;
		p->status = status;
		p->body = body;
		return 0;
	}
	p->messages++;
	ev->type = OTELP_H1_HEAD;
	ev->truncated = false;
	ev->start_line_start = at;
	ev->start_line_end = at + next;
	ev->fields = p->fields;
	ev->n_fields = nf;
	*used = next + rest;
	return 1;
}

/* ---- the step function ---- */

/* The message is complete: wait for the next start line. */
static void message_done(struct otelp_h1 *p, struct otelp_h1_event *ev)
{
	p->state = S_START;
	p->head_bytes = 0;
	p->remaining = 0;
	ev->type = OTELP_H1_MESSAGE_DONE;
}

/* Handle a complete line; ev->type stays NEED_MORE when the line gives no event. */
static const char *on_line(struct otelp_h1 *p, const struct line *ln, struct otelp_h1_event *ev)
{
	struct field f;
	const char *err;

	switch (p->state) {
	case S_START:
		if (ln->total == 0)
			return NULL;
		err = p->kind == OTELP_H1_RESPONSE ? status_line(ln, ev) : request_line(ln, ev);
		if (err)
			return err;
		p->messages++;
		p->state = S_HEADERS;
		message_start(p, ev->status);
		ev->type = OTELP_H1_START_LINE;
		break;
	case S_HEADERS:
		if (ln->total == 0) {
			err = choose_body(p);
			if (err)
				return err;
			p->state = S_BODY_START;
			ev->type = OTELP_H1_HEADERS_DONE;
			ev->line_start = ln->start;
			ev->line_end = ln->end;
			return NULL;
		}
		err = field_parse(ln, &f);
		if (err)
			return err;
		if (otelp__h1_name_is(f.name, f.name_len, "content-length", 14))
			err = content_length(p, ln, &f);
		else if (otelp__h1_name_is(f.name, f.name_len, "transfer-encoding", 17))
			err = transfer_encoding(p, ln, &f);
		if (err)
			return err;
		if (!(p->want & otelp__h1_want_bit(f.name_len)))
			return NULL; /* not wanted: no event, the next line follows */
		ev->type = OTELP_H1_HEADER;
		ev->name = f.name;
		ev->name_len = f.name_len;
		ev->value = f.value;
		ev->value_len = f.value_len;
		ev->value_start = ln->start + (uint64_t)(f.value - ln->s);
		break;
	case S_CHUNK_SIZE:
		return chunk_size(p, ln);
	case S_TRAILERS:
		if (ln->total == 0) {
			message_done(p, ev);
			return NULL;
		}
		return field_parse(ln, &f);
	default:
		return "internal state";
	}
	ev->truncated = ln->total > ln->len;
	ev->line_start = ln->start;
	ev->line_end = ln->end;
	return NULL;
}

void otelp__h1_init(struct otelp_h1 *p, enum otelp_h1_kind kind)
{
	memset(p, 0, offsetof(struct otelp_h1, line));
	p->kind = (uint8_t)kind;
	p->state = S_START;
	p->idle = true;
	p->body = OTELP_H1_BODY_NONE;
	p->want = UINT32_MAX;
}

static void die(struct otelp_h1 *p, const char *why)
{
	p->dead = true;
	p->idle = false;
	p->state = S_DEAD;
	p->error = why;
}

/* Only the type: each event sets the fields it carries (see http1.h). */
static void ev_clear(struct otelp_h1_event *ev)
{
	ev->type = OTELP_H1_NEED_MORE;
}

static size_t step(struct otelp_h1 *p, const char *buf, size_t len, struct otelp_h1_event *ev)
{
	const char *err = NULL;
	struct line ln;
	size_t off = 0, n;
	int r;

	ev_clear(ev);
	if (p->dead) {
		ev->type = OTELP_H1_ERROR;
		return 0;
	}
	for (;;) {
		switch (p->state) {
		case S_START:
			if (p->batch && p->line_total == 0 && buf && off < len &&
			    head_fast(p, buf + off, len - off, p->pos + off, &n, ev)) {
				off += n;
				goto out;
			}
			goto general;
		case S_HEADERS:
			if (p->line_total == 0 && buf && off < len) {
				r = lines_fast(p, buf + off, len - off, p->pos + off, &n, ev, NULL,
				               NULL);
				off += n;
				if (r)
					goto out;
			}
			/* fall through */
		case S_CHUNK_SIZE:
		case S_TRAILERS:
		general:
			if (off == len)
				goto out;
			if (!buf) {
				err = "opaque bytes outside a body";
				goto fail;
			}
			r = read_line(p, buf + off, len - off, p->pos + off, &n, &ln, &err);
			off += n;
			if (r < 0)
				goto fail;
			if (r == 0)
				goto out;
			err = on_line(p, &ln, ev);
			if (err)
				goto fail;
			if (ev->type != OTELP_H1_NEED_MORE)
				goto out;
			break;
		case S_BODY_START:
			switch (p->body) {
			case OTELP_H1_BODY_NONE:
				message_done(p, ev);
				goto out;
			case OTELP_H1_BODY_LENGTH:
				if (p->content_length == 0) {
					message_done(p, ev);
					goto out;
				}
				p->remaining = p->content_length;
				p->state = S_BODY;
				break;
			case OTELP_H1_BODY_CHUNKED:
				p->head_bytes = 0;
				p->state = S_CHUNK_SIZE;
				break;
			case OTELP_H1_BODY_UNTIL_CLOSE:
				p->state = S_UNTIL_CLOSE;
				break;
			default:
				err = "bad body framing";
				goto fail;
			}
			break;
		case S_BODY:
		case S_CHUNK_DATA:
			if (off == len)
				goto out;
			n = len - off < p->remaining ? len - off : (size_t)p->remaining;
			off += n;
			p->remaining -= n;
			if (p->remaining)
				goto out;
			if (p->state == S_BODY) {
				message_done(p, ev);
				goto out;
			}
			p->state = S_CHUNK_CR;
			break;
		case S_CHUNK_CR:
		case S_CHUNK_LF:
			if (off == len)
				goto out;
			if (!buf) {
				err = "opaque bytes outside a body";
				goto fail;
			}
			if (buf[off] == '\r' && p->state == S_CHUNK_CR) {
				p->state = S_CHUNK_LF;
			} else if (buf[off] == '\n') {
				p->head_bytes = 0;
				p->state = S_CHUNK_SIZE;
			} else {
				err = "bad chunk end";
				goto fail;
			}
			off++;
			break;
		case S_UNTIL_CLOSE:
			off = len;
			goto out;
		default:
			err = "internal state";
			goto fail;
		}
	}
fail:
	die(p, err);
	ev_clear(ev);
	ev->type = OTELP_H1_ERROR;
	p->pos += off;
	return off;
out:
	p->pos += off;
	p->idle = p->state == S_START && p->line_total == 0;
	return off;
}

/*
 * Most steps are the one after a head (its body starts, or the message is complete) and the
 * bytes of a body of known length: taken here, with the same effects as step() has for them,
 * without its general machinery. Everything else goes to step().
 */
size_t otelp__h1_step(struct otelp_h1 *p, const char *buf, size_t len, struct otelp_h1_event *ev)
{
	size_t off = 0;

	if (p->dead || (p->state != S_BODY_START && p->state != S_BODY)) {
		if (len == 0 && !p->dead && p->state == S_START) {
			ev_clear(ev); /* between messages, nothing to read */
			goto out;
		}
		return step(p, buf, len, ev);
	}
	if (p->state == S_BODY_START) {
		if (p->body != OTELP_H1_BODY_NONE && p->body != OTELP_H1_BODY_LENGTH)
			return step(p, buf, len, ev);
		ev_clear(ev);
		if (p->body == OTELP_H1_BODY_NONE || p->content_length == 0) {
			message_done(p, ev);
			goto out;
		}
		p->remaining = p->content_length;
		p->state = S_BODY;
	} else {
		ev_clear(ev);
	}
	if (len) {
		off = len < p->remaining ? len : (size_t)p->remaining;
		p->remaining -= off;
		if (!p->remaining)
			message_done(p, ev);
	}
out:
	p->pos += off;
	p->idle = p->state == S_START && p->line_total == 0;
	return off;
}

bool otelp__h1_head_ending(const struct otelp_h1 *p, uint64_t *blank_line)
{
	if (p->state != S_HEADERS || p->line_total != 1 || !(p->flags & F_LAST_CR))
		return false;
	*blank_line = p->line_start;
	return true;
}

void otelp__h1_set_body(struct otelp_h1 *p, enum otelp_h1_body body)
{
	if (p->state == S_BODY_START)
		p->body = body;
}

enum otelp_h1_ev otelp__h1_eof(struct otelp_h1 *p)
{
	if (p->dead)
		return OTELP_H1_ERROR;
	switch (p->state) {
	case S_START:
		if (p->line_total == 0)
			return OTELP_H1_NEED_MORE;
		break;
	case S_BODY_START:
		if (p->body == OTELP_H1_BODY_NONE || p->body == OTELP_H1_BODY_UNTIL_CLOSE ||
		    (p->body == OTELP_H1_BODY_LENGTH && p->content_length == 0))
			goto done;
		break;
	case S_UNTIL_CLOSE:
		goto done;
	default:
		break;
	}
	die(p, "stream ended inside a message");
	return OTELP_H1_ERROR;
done:
	p->state = S_START;
	p->head_bytes = 0;
	p->idle = true;
	return OTELP_H1_MESSAGE_DONE;
}

/* ---- classification of a connection's first bytes ---- */

int otelp__h1_classify_request(const char *buf, size_t len)
{
	static const char preface[] = "PRI * HTTP/2.0";
	size_t i, n;

	if (len == 0)
		return -1;
	if (buf[0] < 'A' || buf[0] > 'Z')
		return 0;
	for (i = 1; i < len && i <= 20; i++) {
		if (buf[i] == ' ')
			break;
		if (!otelp__is_tchar((unsigned char)buf[i]))
			return 0;
	}
	if (i > 20)
		return 0;
	if (i == len)
		return -1;
	if (i != 3 || memcmp(buf, "PRI", 3) != 0)
		return 1;
	/* "PRI " is the HTTP/2 preface only if the rest of it follows. */
	n = len < sizeof(preface) - 1 ? len : sizeof(preface) - 1;
	if (memcmp(buf, preface, n) != 0)
		return 1;
	return n == sizeof(preface) - 1 ? 0 : -1;
}

int otelp__h1_classify_response(const char *buf, size_t len)
{
	static const char prefix[] = "HTTP/1.";
	size_t n = len < sizeof(prefix) - 1 ? len : sizeof(prefix) - 1;

	if (len == 0)
		return -1;
	if (memcmp(buf, prefix, n) != 0)
		return 0;
	return n == sizeof(prefix) - 1 ? 1 : -1;
}
