/*
 * libFuzzer target for src/http1.c.
 *
 * The input is one direction of a connection. It is parsed as a stream of requests and as a
 * stream of responses, each time three ways:
 *  - whole, in one call;
 *  - cut into pieces of sizes drawn from a generator seeded by a hash of the input (empty
 *    calls included), with the bytes of bodies whose length is known handed over as opaque
 *    (buf == NULL) bytes, as sendfile() would;
 *  - one byte per call.
 * The three must give the same events: same types, strings, stream offsets, framing and
 * errors. That is the parser's main promise (a caller must not see a different stream because
 * the kernel split a write differently). At some HEADERS_DONE events the framing is overridden,
 * the same way in every run; for half of the inputs only some header fields are wanted (the
 * same ones in every run), and no other gives an event.
 *
 * For half of the inputs the parser may give a whole head as one HEAD event: it is checked
 * and hashed as the events it stands for. A fourth run, whole, goes through the reference
 * (http1-ref.c: the parser before its fast path) and must give the same events.
 *
 * Each piece is copied into its own heap buffer of exactly its length, so that ASan reports a
 * read past the end of any call's buffer. Every event is also checked against the input at its
 * stream offsets, and the step contract (consumed <= len, NEED_MORE consumes all, p->pos is the
 * sum of what was consumed, ERROR is final) is checked at every call. Violations trap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

/* The reference (the parser before its fast path), as ref__h1_*: same results on every input. */
void ref__h1_init(struct otelp_h1 *p, enum otelp_h1_kind kind);
size_t ref__h1_step(struct otelp_h1 *p, const char *buf, size_t len, struct otelp_h1_event *ev);
void ref__h1_set_body(struct otelp_h1 *p, enum otelp_h1_body body);
bool ref__h1_head_ending(const struct otelp_h1 *p, uint64_t *blank_line);
enum otelp_h1_ev ref__h1_eof(struct otelp_h1 *p);
int ref__h1_classify_request(const char *buf, size_t len);
int ref__h1_classify_response(const char *buf, size_t len);
#define otelp__h1_init              ref__h1_init
#define otelp__h1_step              ref__h1_step
#define otelp__h1_set_body          ref__h1_set_body
#define otelp__h1_head_ending       ref__h1_head_ending
#define otelp__h1_eof               ref__h1_eof
#define otelp__h1_classify_request  ref__h1_classify_request
#define otelp__h1_classify_response ref__h1_classify_response
#include "http1-ref.c"
#undef otelp__h1_init
#undef otelp__h1_step
#undef otelp__h1_set_body
#undef otelp__h1_head_ending
#undef otelp__h1_eof
#undef otelp__h1_classify_request
#undef otelp__h1_classify_response

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

enum mode {
	WHOLE,
	PIECES,
	BYTES,
	REF, /* whole, through the reference */
};

/* The parser a run uses: the one under test, or the reference. */
static bool use_ref;

static size_t step(struct otelp_h1 *p, const char *buf, size_t len, struct otelp_h1_event *ev)
{
	return use_ref ? ref__h1_step(p, buf, len, ev) : otelp__h1_step(p, buf, len, ev);
}

struct result {
	uint64_t hash; /* of every event and what it carries */
	uint32_t events;
	bool dead;
	enum otelp_h1_ev eof;
	uint64_t pos;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	return mix(h, &v, sizeof(v));
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* The framing override at the HEADERS_DONE of message number msg, or -1 for none. */
static int override_for(uint64_t seed, uint32_t msg)
{
	uint64_t h = mix_u64(seed, msg);

	if ((h & 7) != 0)
		return -1;
	return (int)((h >> 3) % 4);
}

static bool within(const char *p, size_t n, const char *base, size_t base_len)
{
	return p >= base && p <= base + base_len && n <= (size_t)(base + base_len - p);
}

/* The line [start, end) of the input: its content length, without LF and the CR before it. */
static size_t content_len(const uint8_t *data, uint64_t start, uint64_t end)
{
	size_t n = (size_t)(end - start - 1);

	if (n && data[end - 2] == '\r')
		n--;
	return n;
}

/* Check one event against the input, then fold it into the hash. */
static void check_event(const struct otelp_h1 *p, const struct otelp_h1_event *ev,
                        const uint8_t *data, size_t size, const char *buf, size_t len,
                        struct result *res)
{
	uint64_t h = res->hash;

	/* Strings point into the caller's buffer or the parser's line buffer. */
	if (ev->type == OTELP_H1_START_LINE || ev->type == OTELP_H1_HEADER) {
		const char *a = ev->type == OTELP_H1_HEADER ? ev->name : ev->method;
		const char *b = ev->type == OTELP_H1_HEADER ? ev->value : ev->target;
		size_t al = ev->type == OTELP_H1_HEADER ? ev->name_len : ev->method_len;
		size_t bl = ev->type == OTELP_H1_HEADER ? ev->value_len : ev->target_len;
		size_t cl;

		CHECK(ev->line_start < ev->line_end && ev->line_end <= p->pos && p->pos <= size);
		CHECK(data[ev->line_end - 1] == '\n');
		cl = content_len(data, ev->line_start, ev->line_end);
		CHECK(ev->truncated == (cl > OTELP_H1_LINE_MAX));
		if (a) {
			CHECK((buf && within(a, al, buf, len)) ||
			      within(a, al, p->line, OTELP_H1_LINE_MAX));
			CHECK((buf && within(b, bl, buf, len)) ||
			      within(b, bl, p->line, OTELP_H1_LINE_MAX));
			CHECK(al > 0 && al <= OTELP_H1_LINE_MAX && bl <= OTELP_H1_LINE_MAX);
			CHECK(memcmp(a, data + ev->line_start, al) == 0);
		}
		if (ev->type == OTELP_H1_HEADER) {
			CHECK(data[ev->line_start + al] == ':');
			CHECK(ev->value_start > ev->line_start + al);
			CHECK(ev->value_start + bl <= ev->line_start + cl);
			CHECK(memcmp(b, data + ev->value_start, bl) == 0);
			if (bl) {
				CHECK(b[0] != ' ' && b[0] != '\t');
				CHECK(b[bl - 1] != ' ' && b[bl - 1] != '\t');
			}
			if (!ev->truncated) {
				/* Only spaces and tabs around the value. */
				for (uint64_t i = ev->line_start + al + 1; i < ev->value_start; i++)
					CHECK(data[i] == ' ' || data[i] == '\t');
				for (uint64_t i = ev->value_start + bl; i < ev->line_start + cl;
				     i++)
					CHECK(data[i] == ' ' || data[i] == '\t');
			}
		} else if (p->kind == OTELP_H1_REQUEST) {
			CHECK(ev->method && ev->target && bl > 0);
			CHECK(data[ev->line_start + al] == ' ');
			CHECK(memcmp(b, data + ev->line_start + al + 1, bl) == 0);
			CHECK(memchr(b, ' ', bl) == NULL);
			if (!ev->truncated)
				CHECK(al + 1 + bl + 9 == cl);
		} else {
			CHECK(ev->status >= 100 && ev->status <= 999 && ev->status == p->status);
			CHECK(memcmp(data + ev->line_start, "HTTP/1.", 7) == 0);
		}
		CHECK(ev->version_minor == 0 || ev->version_minor == 1);
		h = mix(h, a, al);
		h = mix(h, b, bl);
		h = mix_u64(h, al);
		h = mix_u64(h, bl);
	}
	if (ev->type == OTELP_H1_HEADER)
		CHECK(p->want & otelp__h1_want_bit(ev->name_len));
	if (ev->type == OTELP_H1_HEADERS_DONE) {
		CHECK(ev->line_start < ev->line_end && ev->line_end <= p->pos);
		CHECK(data[ev->line_end - 1] == '\n');
		CHECK(ev->line_end - ev->line_start == 1 ||
		      (ev->line_end - ev->line_start == 2 && data[ev->line_start] == '\r'));
		h = mix_u64(h, p->body);
		h = mix_u64(h, p->content_length);
	}
	if (ev->type == OTELP_H1_ERROR) {
		CHECK(p->dead && p->error);
		h = mix(h, p->error, strlen(p->error));
	}
	/* Only the fields the event's type carries (http1.h); the others are unspecified. */
	h = mix_u64(h, ev->type);
	if (ev->type == OTELP_H1_START_LINE) {
		h = mix_u64(h, (uint64_t)ev->status);
		h = mix_u64(h, (uint64_t)ev->version_minor);
	}
	if (ev->type == OTELP_H1_START_LINE || ev->type == OTELP_H1_HEADER)
		h = mix_u64(h, ev->truncated);
	if (ev->type == OTELP_H1_START_LINE || ev->type == OTELP_H1_HEADER ||
	    ev->type == OTELP_H1_HEADERS_DONE) {
		h = mix_u64(h, ev->line_start);
		h = mix_u64(h, ev->line_end);
	}
	if (ev->type == OTELP_H1_HEADER)
		h = mix_u64(h, ev->value_start);
	h = mix_u64(h, p->messages);
	res->hash = h;
	res->events++;
}

/* A HEAD event, checked and hashed as the START_LINE, HEADER and HEADERS_DONE it stands for. */
static void check_head(const struct otelp_h1 *p, const struct otelp_h1_event *ev,
                       const uint8_t *data, size_t size, const char *buf, size_t len,
                       struct result *res)
{
	struct otelp_h1_event e = *ev;

	CHECK(p->batch && !use_ref && ev->fields == p->fields);
	CHECK(ev->n_fields <= OTELP_H1_HEAD_FIELDS && !ev->truncated);
	CHECK(ev->start_line_start < ev->start_line_end && ev->start_line_end <= ev->line_start);
	e.type = OTELP_H1_START_LINE;
	e.line_start = ev->start_line_start;
	e.line_end = ev->start_line_end;
	check_event(p, &e, data, size, buf, len, res);
	for (size_t i = 0; i < ev->n_fields; i++) {
		const struct otelp_h1_field *f = &ev->fields[i];

		CHECK(f->line_start >= (i ? ev->fields[i - 1].line_end : ev->start_line_end));
		CHECK(f->line_end <= ev->line_start);
		e.type = OTELP_H1_HEADER;
		e.name = f->name;
		e.name_len = f->name_len;
		e.value = f->value;
		e.value_len = f->value_len;
		e.line_start = f->line_start;
		e.line_end = f->line_end;
		e.value_start = f->value_start;
		check_event(p, &e, data, size, buf, len, res);
	}
	e = *ev;
	e.type = OTELP_H1_HEADERS_DONE;
	check_event(p, &e, data, size, buf, len, res);
}

struct feeder {
	struct otelp_h1 p;
	const uint8_t *data;
	size_t size;
	uint64_t seed;
	bool opaque;   /* hand known body bytes over as buf == NULL */
	uint64_t body; /* known body bytes ahead (UINT64_MAX: up to the end) */
	char *one;     /* a reused 1-byte buffer: byte-per-call runs are the slow part */
	struct result res;
};

/* One call's bytes, from data[off], NULL for opaque. Returns false once dead. */
static bool feed(struct feeder *f, size_t off, size_t len, bool opaque)
{
	char *copy = NULL;
	size_t done = 0;

	if (!opaque && len == 1) {
		copy = f->one;
		copy[0] = (char)f->data[off];
	} else if (!opaque) {
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		if (len)
			memcpy(copy, f->data + off, len);
	}
	for (;;) {
		struct otelp_h1_event ev;
		uint64_t pos = f->p.pos;
		const char *buf = copy ? copy + done : NULL;
		size_t n = step(&f->p, buf, len - done, &ev);

		CHECK(n <= len - done);
		CHECK(f->p.pos == pos + n);
		done += n;
		if (f->body != UINT64_MAX)
			f->body -= n < f->body ? n : f->body;
		if (ev.type == OTELP_H1_NEED_MORE) {
			CHECK(done == len);
			break;
		}
		if (ev.type == OTELP_H1_HEAD)
			check_head(&f->p, &ev, f->data, f->size, buf, len - (done - n), &f->res);
		else
			check_event(&f->p, &ev, f->data, f->size, buf, len - (done - n), &f->res);
		if (ev.type == OTELP_H1_ERROR) {
			/* Final: nothing consumed any more, whatever the input. */
			CHECK(step(&f->p, buf, len - done, &ev) == 0);
			CHECK(ev.type == OTELP_H1_ERROR && f->p.dead && !f->p.idle);
			CHECK(step(&f->p, NULL, 1, &ev) == 0 && ev.type == OTELP_H1_ERROR);
			if (copy != f->one)
				free(copy);
			return false;
		}
		CHECK(!f->p.dead);
		if (ev.type == OTELP_H1_MESSAGE_DONE) {
			CHECK(f->p.idle);
			f->body = 0;
		}
		if (ev.type == OTELP_H1_HEADERS_DONE || ev.type == OTELP_H1_HEAD) {
			int o = override_for(f->seed, f->p.messages);

			if (o >= 0 && use_ref)
				ref__h1_set_body(&f->p, (enum otelp_h1_body)o);
			else if (o >= 0)
				otelp__h1_set_body(&f->p, (enum otelp_h1_body)o);
			if (f->p.body == OTELP_H1_BODY_LENGTH)
				f->body = f->p.content_length;
			else if (f->p.body == OTELP_H1_BODY_UNTIL_CLOSE)
				f->body = UINT64_MAX;
			else
				f->body = 0;
		}
	}
	if (copy != f->one)
		free(copy);
	return true;
}

static void run(enum otelp_h1_kind kind, const uint8_t *data, size_t size, uint64_t seed,
                enum mode mode, struct result *out)
{
	static struct feeder f;
	uint64_t rnd = seed | 1;
	size_t off = 0;

	memset(&f, 0, sizeof(f));
	use_ref = mode == REF;
	if (use_ref)
		ref__h1_init(&f.p, kind);
	else
		otelp__h1_init(&f.p, kind);
	CHECK(f.p.idle && !f.p.dead && f.p.pos == 0 && f.p.want == UINT32_MAX);
	/* Half of the inputs: header events only for some name lengths, the same in each run. */
	if (seed & 0x200)
		f.p.want = (uint32_t)(seed >> 32);
	/* Half of the inputs: whole heads as HEAD events (never in the reference). */
	f.p.batch = (seed & 0x400) && mode != REF;
	f.data = data;
	f.size = size;
	f.seed = seed;
	f.opaque = mode == PIECES && (seed & 0x100);
	f.one = malloc(1);
	if (!f.one)
		abort();
	while (off < size || (mode == PIECES && off == 0)) {
		size_t n = size - off;
		bool opaque = false;

		if (mode == BYTES) {
			n = 1;
		} else if (mode == PIECES) {
			uint64_t r = next_rand(&rnd);

			switch (r & 3) {
			case 0:
				n = (r >> 8) % 2; /* empty calls, single bytes */
				break;
			case 1:
				n = 1 + (r >> 8) % 16;
				break;
			case 2:
				n = 1 + (r >> 8) % 512;
				break;
			default:
				break;
			}
			if (n > size - off)
				n = size - off;
			if (f.opaque && f.body && n) {
				if (n > f.body)
					n = (size_t)f.body;
				opaque = true;
			}
		}
		if (!feed(&f, off, n, opaque))
			break;
		off += n;
		if (mode == PIECES && size == 0)
			break;
	}
	free(f.one);
	out->events = f.res.events;
	out->hash = f.res.hash;
	out->dead = f.p.dead;
	out->pos = f.p.pos;
	if (!f.p.dead) {
		bool idle = f.p.idle;

		CHECK(f.p.pos == size);
		out->eof = use_ref ? ref__h1_eof(&f.p) : otelp__h1_eof(&f.p);
		CHECK((out->eof == OTELP_H1_NEED_MORE) == idle);
		CHECK((out->eof == OTELP_H1_ERROR) == f.p.dead);
	}
}

/* Once a prefix decides, longer prefixes decide the same. */
static void check_classify(const uint8_t *data, size_t size)
{
	size_t max = size < 32 ? size : 32;
	int last_req = -1, last_res = -1;

	for (size_t k = 0; k <= max; k++) {
		char *copy = malloc(k ? k : 1);
		int rq, rs;

		if (!copy)
			abort();
		memcpy(copy, data, k);
		rq = otelp__h1_classify_request(copy, k);
		rs = otelp__h1_classify_response(copy, k);
		free(copy);
		CHECK(rq >= -1 && rq <= 1 && rs >= -1 && rs <= 1);
		CHECK(last_req == -1 || rq == last_req);
		CHECK(last_res == -1 || rs == last_res);
		CHECK(!(rq == 1 && rs == 1));
		last_req = rq;
		last_res = rs;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = mix(0xcbf29ce484222325ull, data, size);

	for (int k = 0; k < 2; k++) {
		enum otelp_h1_kind kind = k ? OTELP_H1_RESPONSE : OTELP_H1_REQUEST;
		struct result whole = {0}, pieces = {0}, bytes = {0}, ref = {0};

		run(kind, data, size, seed, WHOLE, &whole);
		run(kind, data, size, seed, PIECES, &pieces);
		run(kind, data, size, seed, BYTES, &bytes);
		run(kind, data, size, seed, REF, &ref);
		CHECK(whole.events == pieces.events && whole.events == bytes.events);
		CHECK(whole.hash == pieces.hash && whole.hash == bytes.hash);
		CHECK(whole.dead == pieces.dead && whole.dead == bytes.dead);
		CHECK(whole.events == ref.events && whole.hash == ref.hash);
		CHECK(whole.dead == ref.dead && whole.pos == ref.pos);
		if (!whole.dead) {
			CHECK(whole.eof == pieces.eof && whole.eof == bytes.eof &&
			      whole.eof == ref.eof);
			CHECK(whole.pos == size && pieces.pos == size && bytes.pos == size);
		}
	}
	check_classify(data, size);
	return 0;
}
