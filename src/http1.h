/*
 * This file is private to otelpreload.
 *
 * Incremental HTTP/1.x message parser (RFC 9112), one instance per direction of a connection.
 *
 * Pure: no allocation, no globals, no system calls; fixed-size state; safe on any input (it is
 * fuzzed: tests/fuzz/fuzz-http1.c). It never needs to see a byte twice and never looks back.
 *
 * It is a step function: otelp__h1_step() consumes input up to and including the next event
 * and returns how many bytes it consumed; the caller handles the event (and may adjust the
 * body framing at OTELP_H1_HEADERS_DONE) and calls again with the rest. Pointers in an event
 * point either into the caller's buffer or into the parser's line buffer (when the line was
 * split across calls); they are valid until the next call.
 *
 * Every byte consumed advances p->pos, the offset in the stream: events carry stream offsets so
 * that a caller writing the stream knows where a header line or the end of the header block
 * lies in its own buffer.
 *
 * Leniency: a bare LF ends a line like CRLF (RFC 9112 §2.2). Anything the parser cannot follow
 * with certainty (obs-fold, a bad Content-Length, a version other than HTTP/1.0 or 1.1, an
 * over-long head, a bad chunk size, ...) is OTELP_H1_ERROR: the caller then stops tracking the
 * connection, it never guesses.
 */
#ifndef OTELP_HTTP1_H
#define OTELP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTELP_H1_LINE_MAX 2048         /* bytes of one line kept; the rest is cut (truncated) */
#define OTELP_H1_HEAD_MAX (256 * 1024) /* start line + headers; more is an error */

enum otelp_h1_kind {
	OTELP_H1_REQUEST,
	OTELP_H1_RESPONSE,
};

enum otelp_h1_ev {
	OTELP_H1_NEED_MORE,    /* all input consumed without an event */
	OTELP_H1_START_LINE,   /* request line or status line complete */
	OTELP_H1_HEADER,       /* one header field complete (trailers are skipped silently) */
	OTELP_H1_HEADERS_DONE, /* the blank line ending the head was consumed */
	OTELP_H1_MESSAGE_DONE, /* body complete; the parser waits for the next message */
	OTELP_H1_ERROR,        /* malformed: the parser stays dead (p->dead) */
	/*
	 * Only when the caller sets otelp_h1.batch: a whole head at once, the same as START_LINE,
	 * then HEADER for each of fields[0..n_fields), then HEADERS_DONE. Given when the whole
	 * head lies in one call's buffer, with short lines and at most OTELP_H1_HEAD_FIELDS wanted
	 * fields; any other head gives the events one by one, as without batch.
	 */
	OTELP_H1_HEAD,
};

#define OTELP_H1_HEAD_FIELDS 8

/* A wanted header field of an OTELP_H1_HEAD event: what its HEADER event would carry. */
struct otelp_h1_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	uint64_t line_start;
	uint64_t line_end;
	uint64_t value_start;
};

enum otelp_h1_body {
	OTELP_H1_BODY_NONE,        /* message complete at the end of the head */
	OTELP_H1_BODY_LENGTH,      /* Content-Length bytes */
	OTELP_H1_BODY_CHUNKED,     /* chunked transfer coding, then trailers */
	OTELP_H1_BODY_UNTIL_CLOSE, /* response without framing: ends at end of stream */
};

/* An event: its type, and the fields listed for that type (the others are left as they were). */
struct otelp_h1_event {
	enum otelp_h1_ev type;
	/* START_LINE: of a request; NULL and 0 for a response. */
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	/* START_LINE: of a response (100..999); 0 for a request. */
	int status;
	/* START_LINE: 0 for HTTP/1.0, 1 for HTTP/1.1. */
	int version_minor;
	/* HEADER: name as written (any case), value without leading/trailing spaces and tabs. */
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	/* START_LINE / HEADER: the line was longer than OTELP_H1_LINE_MAX; what is given is cut. */
	bool truncated;
	/*
	 * Stream offsets. START_LINE / HEADER: line_start = first byte of the line, line_end = the
	 * byte after its LF; HEADER: value_start = first byte of the (trimmed) value.
	 * HEADERS_DONE: line_start = first byte of the blank line (its CR, or its LF when bare),
	 * line_end = the byte after its LF.
	 */
	uint64_t line_start;
	uint64_t line_end;
	uint64_t value_start;
	/*
	 * HEAD: the start line's fields as in START_LINE (never truncated), its offsets in
	 * start_line_start and start_line_end, the wanted fields (pointing into the caller's
	 * buffer, valid until the next step), and line_start / line_end as in HEADERS_DONE.
	 */
	uint64_t start_line_start;
	uint64_t start_line_end;
	const struct otelp_h1_field *fields;
	size_t n_fields;
};

/* Parser state. Treat as opaque except for the documented read-only fields. */
struct otelp_h1 {
	/* Read-only for callers. */
	uint64_t pos;      /* bytes consumed so far */
	uint32_t messages; /* messages started (a START_LINE seen) */
	bool dead;         /* an error was reported */
	bool idle;         /* between messages: no byte of the next message consumed yet */
	enum otelp_h1_body body;
	uint64_t content_length; /* BODY_LENGTH: the declared length */
	int status;              /* response: status of the current message */
	const char *error;       /* a short static reason when dead */
	/*
	 * Set by the caller: which header fields give an OTELP_H1_HEADER event, by the length
	 * of their name (bit n for a name of n bytes, n < 31; bit 31 for longer ones). The
	 * others are still parsed and checked (framing fields act as always), but consumed
	 * without an event. otelp__h1_init sets every bit.
	 */
	uint32_t want;
	/* Set by the caller: whole heads may come as one OTELP_H1_HEAD event. */
	bool batch;

	/* Internal. */
	uint8_t kind; /* enum otelp_h1_kind */
	uint8_t state;
	uint8_t flags;
	uint8_t cl_seen;
	uint32_t head_bytes;
	uint64_t remaining; /* body or chunk bytes left */
	uint64_t line_start;
	uint32_t line_len;   /* bytes in line[] (at most OTELP_H1_LINE_MAX) */
	uint32_t line_total; /* bytes of the current line seen, line[] holds the first ones */
	char tail[16];       /* last bytes of a split line longer than line[] (its version) */
	struct otelp_h1_field fields[OTELP_H1_HEAD_FIELDS]; /* of the HEAD event */
	char line[OTELP_H1_LINE_MAX];
};

void otelp__h1_init(struct otelp_h1 *p, enum otelp_h1_kind kind);

/*
 * A field name from the parser (tchars only) against a lower-case literal, case-insensitively.
 * Among tchars only letters change with bit 5, and every byte of a field name literal (letters,
 * digits, '-') has it set, so OR-ing 0x20 in is exact (for a literal of letters only, such as
 * "chunked", it is exact on any bytes): eight bytes at a time, the last word overlapping the
 * one before.
 */
static inline bool otelp__h1_name_is(const char *s, size_t n, const char *lower, size_t lower_len)
{
	uint64_t a, b, diff = 0;

	if (n != lower_len)
		return false;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			diff |= (uint8_t)((s[i] | 0x20) ^ lower[i]);
		return diff == 0;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		__builtin_memcpy(&a, s + i, 8);
		__builtin_memcpy(&b, lower + i, 8);
		diff |= (a | 0x2020202020202020ull) ^ b;
	}
	__builtin_memcpy(&a, s + n - 8, 8);
	__builtin_memcpy(&b, lower + n - 8, 8);
	return (diff | ((a | 0x2020202020202020ull) ^ b)) == 0;
}

/* The bit of otelp_h1.want for a field name of n bytes. */
static inline uint32_t otelp__h1_want_bit(size_t n)
{
	return (uint32_t)1 << (n < 31 ? n : 31);
}

/*
 * Consume buf[0..len) up to and including the next event; returns the bytes consumed (all of
 * them with OTELP_H1_NEED_MORE; 0 with OTELP_H1_ERROR once dead). ev is always filled.
 *
 * buf == NULL means len opaque bytes that are known to be body data (a file sent with
 * sendfile): allowed only inside a Content-Length body, a chunk's data or an until-close body,
 * where they are consumed like data (at most to the end of that body or chunk); anywhere else
 * it is an OTELP_H1_ERROR.
 */
size_t otelp__h1_step(struct otelp_h1 *p, const char *buf, size_t len, struct otelp_h1_event *ev);

/*
 * At OTELP_H1_HEADERS_DONE the parser has chosen the framing from the headers (p->body):
 * requests: chunked if Transfer-Encoding ends in chunked, else Content-Length, else none
 * (Transfer-Encoding without chunked last: error); responses: 1xx, 204 and 304 have none,
 * then as requests, except that no framing means until-close. Transfer-Encoding wins over
 * Content-Length. The caller may override it before the next step, e.g. NONE for the response
 * to a HEAD request. An interim (1xx) response is a complete message of its own.
 */
void otelp__h1_set_body(struct otelp_h1 *p, enum otelp_h1_body body);

/*
 * The head is ending: the last byte consumed is the CR of its blank line (whose LF has not
 * been seen yet). Then *blank_line is the stream offset of that CR: a writer that must insert
 * header lines before the blank line learns where before the LF arrives.
 */
bool otelp__h1_head_ending(const struct otelp_h1 *p, uint64_t *blank_line);

/*
 * The stream ended (the peer closed, or the writer shut down). Returns MESSAGE_DONE when this
 * completes an until-close body, NEED_MORE when the parser was idle between messages, ERROR
 * when a message was cut.
 */
enum otelp_h1_ev otelp__h1_eof(struct otelp_h1 *p);

/*
 * Cheap classification of a connection's first bytes as an HTTP/1.x request: 1 yes, 0 no,
 * -1 not enough bytes to tell. Yes means a method token (tchar, at most 20 chars, starting
 * with an upper-case letter) followed by a space, and not the HTTP/2 connection preface
 * ("PRI * HTTP/2.0"); the request line is still validated by the parser afterwards.
 */
int otelp__h1_classify_request(const char *buf, size_t len);

/* The same for a response: "HTTP/1." (1), a prefix of it (-1), anything else (0). */
int otelp__h1_classify_response(const char *buf, size_t len);

#endif
