/*
 * OTLP/HTTP sink for the benchmark scripts (scripts/bench-http.sh, bench-pg.sh, bench-redis.sh).
 *
 * Answers every export (a POST, any path) with 200 at once and keeps its body as received, with
 * what its Content-Type and Content-Encoding say; GET /stats decodes and counts the spans of the
 * bodies kept since the previous /stats, forgets them, and answers a JSON object:
 *   requests, bytes   POSTs and their body bytes since the previous /stats
 *   sink_cpu_s        the sink's own CPU time (user + system, s) since the end of the previous
 *                     /stats (or of start-up): receiving only, the counting comes before the mark
 *   spans             {service.name: {kind: count}}, kinds unspecified, internal, server,
 *                     client, producer, consumer (another number as its decimal string)
 *   spans_total, undecodable   (an undecodable body counts no span)
 * Bodies: OTLP http/protobuf or http/json (ExportTraceServiceRequest), Content-Encoding gzip,
 * deflate or none. HTTP/1.1 with keep-alive and pipelining, bodies by Content-Length or chunked,
 * Expect: 100-continue; a header block is capped at 64 KiB, a body at 256 MiB.
 * It runs on the same CPUs as the programs measured, so receiving must cost as little as
 * possible: one thread, epoll, non-blocking sockets, bodies read straight into memory kept from
 * one /stats to the next (no page faults), one write per batch of responses, nothing decoded
 * before /stats.
 *
 * Usage: otlp-sink PORT_FILE   listens on 127.0.0.1 (a free port), then writes the port to
 *                              PORT_FILE (atomically: it appears complete or not at all)
 * Runs until SIGTERM or SIGINT (exit status 0). Built by bench/meson.build, or by hand:
 *   cc -std=gnu11 -O2 bench/otlp-sink.c -o otlp-sink -lz
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4() */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#define HEAD_MAX       65536u              /* request line + headers + blank line */
#define TRAILER_MAX    65536u              /* chunked trailer section */
#define CHUNK_LINE_MAX 8192u               /* chunk-size line, extensions included */
#define BODY_MAX       (256u << 20)        /* body, after de-chunking */
#define INBUF_SIZE     (HEAD_MAX + 16384u) /* per connection */
#define HEAD_READ      16384u              /* read at once for a request's head (see conn_read) */
#define OUT_PAUSE      (256u << 10)        /* stop reading while this much output is unsent */
#define DRAIN_MAX      (1u << 20)          /* read and dropped after an error, before closing */
#define INFLATE_MAX    ((size_t)1 << 30)   /* a decompressed body */
#define JSON_DEPTH     900                 /* nesting of a JSON body */
#define FIRST_BLOCK    (64u << 20)         /* memory for bodies, touched at start-up */
#define BLOCK_SIZE     (32u << 20)         /* ... more when needed (see block_alloc()) */
#define BLOCKS_KEPT    (512u << 20)        /* ... kept from one /stats to the next */

/* ---- small helpers ---------------------------------------------------------------------- */

static __attribute__((noreturn)) void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("otlp-sink: realloc");
	return p;
}

struct buf {
	char *p;
	size_t len, cap;
};

/* Room for n more bytes; 0, or -1 (nothing changed) if that would exceed max bytes or memory. */
static int buf_room(struct buf *b, size_t n, size_t max)
{
	if (b->cap - b->len >= n)
		return 0;
	if (n > max || b->len > max - n)
		return -1;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap = cap > max / 2 ? max : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
	if (buf_room(b, n, SIZE_MAX / 2) < 0)
		die("otlp-sink: out of memory");
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_u64(struct buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	buf_add(b, tmp, (size_t)n);
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* s[0..n) equals lit (lower case) ignoring ASCII case */
static int ci_eq(const char *s, size_t n, const char *lit)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!lit[i] || lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return 0;
	return lit[i] == 0;
}

/* s[0..n) contains lit (lower case) ignoring ASCII case */
static int ci_contains(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	for (size_t i = 0; i + m <= n; i++)
		if (ci_eq(s + i, m, lit))
			return 1;
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..n) (n > 0, s[0] >= 0x80), or minus the length of
 * its longest invalid prefix (the "maximal subpart" that one U+FFFD replaces, as Python does). */
static long utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return -1;
	}
	size_t k;
	for (k = 0; k < need; k++) {
		if (1 + k >= n)
			break;
		unsigned b = s[1 + k];
		if (b < (k == 0 ? lo : 0x80) || b > (k == 0 ? hi : 0xbf))
			break;
	}
	return k == need ? (long)(1 + k) : -(long)(1 + k);
}

/* s[0..n) as valid UTF-8, each invalid part replaced by U+FFFD (Python's 'replace') */
static void utf8_clean(struct buf *out, const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] < 0x80)
			j++;
		buf_add(out, s + i, j - i);
		i = j;
		if (i >= n)
			break;
		long l = utf8_seq(s + i, n - i);
		if (l > 0) {
			buf_add(out, s + i, (size_t)l);
			i += (size_t)l;
		} else {
			buf_add(out, "\xef\xbf\xbd", 3);
			i += (size_t)-l;
		}
	}
}

static void utf8_put(struct buf *out, uint32_t cp)
{
	char t[4];
	if (cp < 0x80) {
		t[0] = (char)cp;
		buf_add(out, t, 1);
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, t, 2);
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, t, 3);
	} else {
		t[0] = (char)(0xf0 | cp >> 18);
		t[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		t[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, t, 4);
	}
}

/* A JSON string of valid UTF-8 s[0..n), ASCII only (as Python's json.dumps) */
static void json_quote(struct buf *out, const unsigned char *s, size_t n)
{
	char t[16];
	buf_add(out, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			size_t j = i + 1;
			while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
				j++;
			buf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		if (c < 0x80) {
			const char *e = c == '"'    ? "\\\""
			                : c == '\\' ? "\\\\"
			                : c == '\n' ? "\\n"
			                : c == '\r' ? "\\r"
			                : c == '\t' ? "\\t"
			                : c == '\b' ? "\\b"
			                : c == '\f' ? "\\f"
			                            : NULL;
			if (e) {
				buf_str(out, e);
			} else {
				snprintf(t, sizeof t, "\\u%04x", c);
				buf_str(out, t);
			}
			i++;
			continue;
		}
		long l = utf8_seq(s + i, n - i);
		uint32_t cp = 0xfffd;
		if (l == 2)
			cp = (c & 0x1fu) << 6 | (s[i + 1] & 0x3fu);
		else if (l == 3)
			cp = (c & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3fu);
		else if (l == 4)
			cp = (c & 0x07u) << 18 | (s[i + 1] & 0x3fu) << 12 |
			     (s[i + 2] & 0x3fu) << 6 | (s[i + 3] & 0x3fu);
		i += (size_t)(l < 0 ? -l : l);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			snprintf(t, sizeof t, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
			         0xdc00 + (cp & 0x3ff));
		} else {
			snprintf(t, sizeof t, "\\u%04x", cp);
		}
		buf_str(out, t);
	}
	buf_add(out, "\"", 1);
}

/* ---- counting: spans by service and kind ------------------------------------------------ */

static const char *const kind_names[6] = {"unspecified", "internal", "server",
                                          "client",      "producer", "consumer"};

struct kindent {
	char *name;
	size_t len;
	uint64_t count;
	size_t svc;
	long next; /* the service's next kind, in order of appearance, or -1 */
};

struct service {
	char *name;
	size_t len;
	long first, last; /* its kinds, in order of appearance */
	long named[6];    /* the entry of each named kind, or -1 */
};

struct agg {
	struct service *svcs;
	size_t nsvcs, capsvcs;
	struct kindent *kinds;
	size_t nkinds, capkinds;
	size_t *svc_hash, *kind_hash; /* entry index + 1, or 0 if free */
	size_t svc_hcap, kind_hcap;
	uint64_t total;
};

static uint64_t fnv(const void *s, size_t n, uint64_t h)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

static uint64_t kind_key(size_t svc, const char *name, size_t len)
{
	return fnv(name, len, fnv(&svc, sizeof svc, FNV_INIT));
}

/* (Re)builds an open-addressing table of n entries whose hashes hash(i) gives. */
static void rehash(size_t **tab, size_t *cap, size_t n, struct agg *a,
                   uint64_t (*hash)(struct agg *, size_t))
{
	size_t c = *cap ? *cap : 64;
	while (c < 2 * (n + 1))
		c *= 2;
	free(*tab);
	*tab = calloc(c, sizeof **tab);
	if (!*tab)
		die("otlp-sink: calloc");
	*cap = c;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)hash(a, i) & (c - 1);
		while ((*tab)[h])
			h = (h + 1) & (c - 1);
		(*tab)[h] = i + 1;
	}
}

static uint64_t svc_hash_of(struct agg *a, size_t i)
{
	return fnv(a->svcs[i].name, a->svcs[i].len, FNV_INIT);
}

static uint64_t kind_hash_of(struct agg *a, size_t i)
{
	return kind_key(a->kinds[i].svc, a->kinds[i].name, a->kinds[i].len);
}

static char *dup_mem(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);
	if (n)
		memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* The service named s[0..n) (valid UTF-8), added if new. */
static size_t agg_service(struct agg *a, const char *s, size_t n)
{
	if (2 * (a->nsvcs + 1) > a->svc_hcap)
		rehash(&a->svc_hash, &a->svc_hcap, a->nsvcs, a, svc_hash_of);
	size_t h = (size_t)fnv(s, n, FNV_INIT) & (a->svc_hcap - 1);
	for (; a->svc_hash[h]; h = (h + 1) & (a->svc_hcap - 1)) {
		struct service *v = &a->svcs[a->svc_hash[h] - 1];
		if (v->len == n && memcmp(v->name, s, n) == 0)
			return a->svc_hash[h] - 1;
	}
	if (a->nsvcs == a->capsvcs) {
		a->capsvcs = a->capsvcs ? 2 * a->capsvcs : 16;
		a->svcs = xrealloc(a->svcs, a->capsvcs * sizeof *a->svcs);
	}
	struct service *v = &a->svcs[a->nsvcs];
	v->name = dup_mem(s, n);
	v->len = n;
	v->first = v->last = -1;
	for (int k = 0; k < 6; k++)
		v->named[k] = -1;
	a->svc_hash[h] = ++a->nsvcs;
	return a->nsvcs - 1;
}

static long agg_new_kind(struct agg *a, size_t svc, const char *name, size_t len)
{
	if (a->nkinds == a->capkinds) {
		a->capkinds = a->capkinds ? 2 * a->capkinds : 64;
		a->kinds = xrealloc(a->kinds, a->capkinds * sizeof *a->kinds);
	}
	long i = (long)a->nkinds++;
	struct kindent *k = &a->kinds[i];
	k->name = dup_mem(name, len);
	k->len = len;
	k->count = 0;
	k->svc = svc;
	k->next = -1;
	struct service *v = &a->svcs[svc];
	if (v->last >= 0)
		a->kinds[v->last].next = i;
	else
		v->first = i;
	v->last = i;
	return i;
}

/* One more span of service svc and kind name[0..len) */
static void agg_count_name(struct agg *a, size_t svc, const char *name, size_t len)
{
	for (int k = 0; k < 6; k++)
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0) {
			struct service *v = &a->svcs[svc];
			if (v->named[k] < 0)
				v->named[k] = agg_new_kind(a, svc, name, len);
			a->kinds[v->named[k]].count++;
			a->total++;
			return;
		}
	if (2 * (a->nkinds + 1) > a->kind_hcap)
		rehash(&a->kind_hash, &a->kind_hcap, a->nkinds, a, kind_hash_of);
	size_t h = (size_t)kind_key(svc, name, len) & (a->kind_hcap - 1);
	for (; a->kind_hash[h]; h = (h + 1) & (a->kind_hcap - 1)) {
		struct kindent *k = &a->kinds[a->kind_hash[h] - 1];
		if (k->svc == svc && k->len == len && memcmp(k->name, name, len) == 0) {
			k->count++;
			a->total++;
			return;
		}
	}
	long i = agg_new_kind(a, svc, name, len);
	a->kind_hash[h] = (size_t)i + 1;
	a->kinds[i].count++;
	a->total++;
}

static void agg_count_num(struct agg *a, size_t svc, uint64_t kind)
{
	if (kind < 6) {
		struct service *v = &a->svcs[svc];
		if (v->named[kind] < 0)
			v->named[kind] =
			    agg_new_kind(a, svc, kind_names[kind], strlen(kind_names[kind]));
		a->kinds[v->named[kind]].count++;
		a->total++;
		return;
	}
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)kind);
	agg_count_name(a, svc, tmp, (size_t)n);
}

static void agg_free(struct agg *a)
{
	for (size_t i = 0; i < a->nsvcs; i++)
		free(a->svcs[i].name);
	for (size_t i = 0; i < a->nkinds; i++)
		free(a->kinds[i].name);
	free(a->svcs);
	free(a->kinds);
	free(a->svc_hash);
	free(a->kind_hash);
	memset(a, 0, sizeof *a);
}

/* ---- protobuf: ExportTraceServiceRequest ------------------------------------------------ */

struct pbf {
	uint64_t field, v;
	int wt;
	const unsigned char *s; /* wire type 2: the bytes */
	size_t n;
};

static int pb_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;
	for (int shift = 0; shift <= 63; shift += 7) {
		if (p >= end)
			return -1;
		unsigned c = *p++;
		if (shift == 63 && c > 1)
			return -1; /* more than 64 bits */
		r |= (uint64_t)(c & 0x7f) << shift;
		if (c < 0x80) {
			*v = r;
			*pp = p;
			return 0;
		}
	}
	return -1;
}

/* The next field of [*pp, end): 1, 0 at the end, -1 if malformed (nothing may overrun end). */
static int pb_next(const unsigned char **pp, const unsigned char *end, struct pbf *f)
{
	const unsigned char *p = *pp;
	uint64_t key, len;

	if (p >= end)
		return 0;
	if (pb_varint(&p, end, &key) < 0)
		return -1;
	f->field = key >> 3;
	f->wt = (int)(key & 7);
	switch (f->wt) {
	case 0:
		if (pb_varint(&p, end, &f->v) < 0)
			return -1;
		break;
	case 1:
		if (end - p < 8)
			return -1;
		p += 8;
		break;
	case 2:
		if (pb_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
			return -1;
		f->s = p;
		f->n = (size_t)len;
		p += len;
		break;
	case 5:
		if (end - p < 4)
			return -1;
		p += 4;
		break;
	default:
		return -1; /* groups (3, 4) and unknown wire types */
	}
	*pp = p;
	return 1;
}

struct sname {
	int found, has_value;
	const unsigned char *s;
	size_t n;
};

/* A Resource: its service.name into sn unless found before (the first KeyValue with that key) */
static int pb_resource(const unsigned char *p, const unsigned char *end, struct sname *sn)
{
	struct pbf f, g, h;
	int r;

	while ((r = pb_next(&p, end, &f)) > 0) {
		if (f.field != 1 || f.wt != 2) /* attributes: KeyValue */
			continue;
		const unsigned char *q = f.s, *qe = f.s + f.n, *key = NULL;
		size_t keylen = 0;
		struct sname val = {0};
		while ((r = pb_next(&q, qe, &g)) > 0) {
			if (g.field == 1 && g.wt == 2) {
				key = g.s;
				keylen = g.n;
			} else if (g.field == 2 && g.wt == 2) { /* AnyValue */
				const unsigned char *x = g.s, *xe = g.s + g.n;
				while ((r = pb_next(&x, xe, &h)) > 0)
					if (h.field == 1 && h.wt == 2) { /* string_value */
						val.has_value = 1;
						val.s = h.s;
						val.n = h.n;
					}
				if (r < 0)
					return -1;
			}
		}
		if (r < 0)
			return -1;
		if (!sn->found && key && keylen == 12 && memcmp(key, "service.name", 12) == 0) {
			*sn = val;
			sn->found = 1;
		}
	}
	return r;
}

/* Counts the spans of body d[0..n) into a, or only checks the body if a is NULL. 0 or -1. */
static int pb_count(struct agg *a, const unsigned char *d, size_t n, struct buf *tmp)
{
	const unsigned char *p = d, *end = d + n;
	struct pbf f, g, h, k;
	int r;

	while ((r = pb_next(&p, end, &f)) > 0) {
		if (f.field != 1 || f.wt != 2) /* ResourceSpans */
			continue;
		const unsigned char *rs = f.s, *rse = f.s + f.n, *q = rs;
		struct sname sn = {0};
		while ((r = pb_next(&q, rse, &g)) > 0)
			if (g.field == 1 && g.wt == 2 && pb_resource(g.s, g.s + g.n, &sn) < 0)
				return -1;
		if (r < 0)
			return -1;
		size_t svc = 0;
		if (a) {
			tmp->len = 0;
			if (!sn.found)
				buf_str(tmp, "?");
			else if (!sn.has_value)
				buf_str(tmp, "null"); /* Python's None, a key in json.dumps */
			else
				utf8_clean(tmp, sn.s, sn.n);
			svc = agg_service(a, tmp->p, tmp->len);
		}
		for (q = rs; (r = pb_next(&q, rse, &g)) > 0;) {
			if (g.field != 2 || g.wt != 2) /* ScopeSpans */
				continue;
			const unsigned char *x = g.s, *xe = g.s + g.n;
			while ((r = pb_next(&x, xe, &h)) > 0) {
				if (h.field != 2 || h.wt != 2) /* Span */
					continue;
				const unsigned char *y = h.s, *ye = h.s + h.n;
				uint64_t kind = 0;
				int seen = 0;
				while ((r = pb_next(&y, ye, &k)) > 0)
					if (k.field == 6 && k.wt == 0 &&
					    !seen) { /* kind: the first */
						kind = k.v;
						seen = 1;
					}
				if (r < 0)
					return -1;
				if (a)
					agg_count_num(a, svc, kind);
			}
			if (r < 0)
				return -1;
		}
		if (r < 0)
			return -1;
	}
	return r;
}

/* ---- JSON (OTLP http/json) -------------------------------------------------------------- */

/* The JSON body is first checked whole (syntax as Python's json.loads: strict strings, UTF-8,
 * NaN and Infinity allowed), then walked with Python's count_json() semantics: a member is the
 * last of that name, a present member of the wrong type makes the body undecodable. */

static const char *js_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* p at '"': the end of the string (after the closing quote), or NULL if invalid */
static const char *js_string_end(const char *p, const char *e)
{
	for (p++; p < e;) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			if (e - p < 2)
				return NULL;
			if (p[1] == 'u') {
				if (e - p < 6 || hex4(p + 2) < 0)
					return NULL;
				p += 6;
			} else if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
				p += 2;
			} else {
				return NULL;
			}
		} else if (c < 0x20) {
			return NULL;
		} else if (c < 0x80) {
			p++;
		} else {
			long l = utf8_seq((const unsigned char *)p, (size_t)(e - p));
			if (l < 0)
				return NULL;
			p += l;
		}
	}
	return NULL;
}

/* Decodes the (valid) string at p into out as UTF-8 (a lone surrogate becomes U+FFFD). */
static void js_string(struct buf *out, const char *p, const char *e)
{
	out->len = 0;
	for (p++; p < e && *p != '"';) {
		if (*p != '\\') {
			const char *q = p;
			while (q < e && *q != '\\' && *q != '"')
				q++;
			buf_add(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		char c = p[1];
		if (c != 'u') {
			char t = c == 'b'   ? '\b'
			         : c == 'f' ? '\f'
			         : c == 'n' ? '\n'
			         : c == 'r' ? '\r'
			         : c == 't' ? '\t'
			                    : c;
			buf_add(out, &t, 1);
			p += 2;
			continue;
		}
		uint32_t cp = (uint32_t)hex4(p + 2);
		p += 6;
		if (cp >= 0xd800 && cp < 0xdc00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
			int lo = hex4(p + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
				p += 6;
			}
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd;
		utf8_put(out, cp);
	}
}

static const char *js_literal(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *js_digits(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && *q >= '0' && *q <= '9')
		q++;
	return q > p ? q : NULL;
}

static const char *js_number(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == 'I')
		return js_literal(p, e, "Infinity");
	if (p < e && *p == '0')
		p++;
	else if (!(p = js_digits(p, e)))
		return NULL;
	if (p < e && *p == '.' && !(p = js_digits(p + 1, e)))
		return NULL;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (!(p = js_digits(p, e)))
			return NULL;
	}
	return p;
}

/* The end of the value at p (after white space), or NULL if it is not valid JSON. */
static const char *js_skip(const char *p, const char *e, int depth)
{
	p = js_ws(p, e);
	if (p >= e)
		return NULL;
	switch (*p) {
	case '"':
		return js_string_end(p, e);
	case '{':
	case '[': {
		char close = *p == '{' ? '}' : ']';
		if (depth >= JSON_DEPTH)
			return NULL;
		p = js_ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (p >= e || *p != '"' || !(p = js_string_end(p, e)))
					return NULL;
				p = js_ws(p, e);
				if (p >= e || *p != ':')
					return NULL;
				p++;
			}
			if (!(p = js_skip(p, e, depth + 1)))
				return NULL;
			p = js_ws(p, e);
			if (p < e && *p == ',') {
				p = js_ws(p + 1, e);
				continue;
			}
			return p < e && *p == close ? p + 1 : NULL;
		}
	}
	case 't':
		return js_literal(p, e, "true");
	case 'f':
		return js_literal(p, e, "false");
	case 'n':
		return js_literal(p, e, "null");
	case 'N':
		return js_literal(p, e, "NaN");
	default:
		return js_number(p, e);
	}
}

/* The value of the last member named key of the (valid) object at p, or NULL. */
static const char *js_get(const char *p, const char *e, const char *key, struct buf *tmp)
{
	const char *found = NULL;
	size_t klen = strlen(key);

	p = js_ws(p + 1, e);
	while (p < e && *p == '"') {
		const char *k = p;
		p = js_string_end(p, e);
		int match;
		if (!memchr(k, '\\', (size_t)(p - k))) {
			match = (size_t)(p - k - 2) == klen && memcmp(k + 1, key, klen) == 0;
		} else {
			js_string(tmp, k, e);
			match = tmp->len == klen && memcmp(tmp->p, key, klen) == 0;
		}
		p = js_ws(js_ws(p, e) + 1, e); /* past ':' */
		if (match)
			found = p;
		p = js_ws(js_skip(p, e, 0), e);
		if (*p != ',')
			break;
		p = js_ws(p + 1, e);
	}
	return found;
}

/* Iterating the value at p as Python would, over a list's elements: 1 with it set for a list,
 * 0 for an empty object or string (no element), -1 for anything else (whose elements would be
 * strings, or that cannot be iterated: Python's loop body would fail). */
static int js_iter(const char *p, const char *e, const char **it)
{
	*it = NULL;
	if (*p == '[') {
		p = js_ws(p + 1, e);
		*it = *p == ']' ? NULL : p;
		return 1;
	}
	if (*p == '{')
		return *js_ws(p + 1, e) == '}' ? 0 : -1;
	if (*p == '"')
		return p[1] == '"' ? 0 : -1;
	return -1;
}

static const char *js_next(const char **it, const char *e)
{
	const char *v = *it;
	if (!v)
		return NULL;
	const char *q = js_ws(js_skip(v, e, 0), e);
	*it = *q == ',' ? js_ws(q + 1, e) : NULL;
	return v;
}

/* Python's repr() of a float (shortest round-trip digits, exponent outside [1e-4, 1e16)) */
static void py_float(char *out, size_t size, double d)
{
	if (d != d) {
		snprintf(out, size, "nan");
		return;
	}
	if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
		snprintf(out, size, d > 0 ? "inf" : "-inf");
		return;
	}
	char t[40];
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(t, sizeof t, "%.*e", prec - 1, d);
		if (strtod(t, NULL) == d)
			break;
	}
	snprintf(t, sizeof t, "%.*e", prec - 1, d);
	/* t: [-]D[.DDD]e[+-]XX */
	char digits[24];
	size_t nd = 0;
	const char *q = t;
	int neg = *q == '-';
	if (neg)
		q++;
	for (; *q != 'e'; q++)
		if (*q != '.')
			digits[nd++] = *q;
	int exp = atoi(q + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	size_t o = 0;
	char r[64];
	if (neg)
		r[o++] = '-';
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			r[o++] = '0';
			r[o++] = '.';
			for (int i = -1; i > exp; i--)
				r[o++] = '0';
			memcpy(r + o, digits, nd);
			o += nd;
		} else {
			for (int i = 0; i <= exp; i++)
				r[o++] = (size_t)i < nd ? digits[i] : '0';
			r[o++] = '.';
			if ((size_t)exp + 1 < nd) {
				memcpy(r + o, digits + exp + 1, nd - (size_t)exp - 1);
				o += nd - (size_t)exp - 1;
			} else {
				r[o++] = '0';
			}
		}
		r[o] = 0;
	} else {
		r[o++] = digits[0];
		if (nd > 1) {
			r[o++] = '.';
			memcpy(r + o, digits + 1, nd - 1);
			o += nd - 1;
		}
		snprintf(r + o, sizeof r - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
	snprintf(out, size, "%s", r);
}

/* The number at p (valid JSON) as Python's str() of what json.loads makes of it. Returns the
 * kind (0 to 5) it equals, or -1; the text goes to out. */
static int js_number_text(struct buf *out, const char *p, const char *e)
{
	const char *end = *p == 'N' ? p + 3 : js_number(p, e); /* NaN, or a valid number */
	size_t n = (size_t)(end - p);
	out->len = 0;
	if (*p != 'N' && !memchr(p, '.', n) && !memchr(p, 'e', n) && !memchr(p, 'E', n) &&
	    !memchr(p, 'I', n)) { /* an int */
		if (n == 2 && p[0] == '-' && p[1] == '0') {
			p++;
			n = 1;
		}
		buf_add(out, p, n);
		return n == 1 && *p <= '5' ? *p - '0' : -1;
	}
	char tmp[64];
	double d;
	if (*p == 'N') {
		d = NAN;
	} else if (memchr(p, 'I', n)) {
		d = *p == '-' ? -HUGE_VAL : HUGE_VAL;
	} else {
		char *num = dup_mem(p, n);
		d = strtod(num, NULL);
		free(num);
	}
	for (int k = 0; k < 6; k++)
		if (d == (double)k) {
			py_float(tmp, sizeof tmp, d);
			buf_str(out, tmp);
			return k;
		}
	py_float(tmp, sizeof tmp, d);
	buf_str(out, tmp);
	return -1;
}

/* Counts the spans of JSON body d[0..n) into a, or only checks them if a is NULL. 0 or -1. */
static int js_count(struct agg *a, const char *d, size_t n, struct buf *tmp)
{
	const char *e = d + n;
	const char *doc = js_ws(d, e), *rsl, *it, *rs;

	if (*doc != '{')
		return -1;
	if (!(rsl = js_get(doc, e, "resourceSpans", tmp)))
		return 0;
	if (js_iter(rsl, e, &it) < 0)
		return -1;
	while ((rs = js_next(&it, e))) {
		if (*rs != '{')
			return -1;
		const char *svc_val = NULL; /* NULL: '?' */
		const char *res = js_get(rs, e, "resource", tmp);
		if (res) {
			const char *attrs, *ait, *at;
			if (*res != '{')
				return -1;
			if ((attrs = js_get(res, e, "attributes", tmp))) {
				if (js_iter(attrs, e, &ait) < 0)
					return -1;
				while ((at = js_next(&ait, e))) {
					if (*at != '{')
						return -1;
					const char *key = js_get(at, e, "key", tmp);
					if (!key || *key != '"')
						continue;
					js_string(tmp, key, e);
					if (tmp->len != 12 ||
					    memcmp(tmp->p, "service.name", 12) != 0)
						continue;
					const char *v = js_get(at, e, "value", tmp);
					if (v && *v != '{')
						return -1;
					svc_val = v ? js_get(v, e, "stringValue", tmp) : NULL;
				}
			}
		}
		/* the service: a dictionary key in Python, so not a list or an object */
		if (svc_val && (*svc_val == '{' || *svc_val == '['))
			return -1;
		size_t svc = 0;
		if (a) {
			if (!svc_val) {
				tmp->len = 0;
				buf_str(tmp, "?");
			} else if (*svc_val == '"') {
				js_string(tmp, svc_val, e);
			} else if (*svc_val == 't' || *svc_val == 'f' || *svc_val == 'n') {
				tmp->len = 0;
				buf_str(tmp, *svc_val == 't'   ? "true"
				             : *svc_val == 'f' ? "false"
				                               : "null");
			} else {
				js_number_text(tmp, svc_val, e);
			}
			svc = agg_service(a, tmp->p, tmp->len);
		}
		const char *ssl = js_get(rs, e, "scopeSpans", tmp), *sit, *ss;
		if (!ssl)
			continue;
		if (js_iter(ssl, e, &sit) < 0)
			return -1;
		while ((ss = js_next(&sit, e))) {
			const char *spl, *pit, *sp;
			if (*ss != '{')
				return -1;
			if (!(spl = js_get(ss, e, "spans", tmp)))
				continue;
			if (js_iter(spl, e, &pit) < 0)
				return -1;
			while ((sp = js_next(&pit, e))) {
				if (*sp != '{')
					return -1;
				const char *k = js_get(sp, e, "kind", tmp);
				int kind = -1;
				if (!k) {
					kind = 0;
				} else if (*k == '{' || *k == '[') {
					return -1; /* unhashable */
				} else if (*k == '"') {
					js_string(tmp, k, e);
					kind = 0;
					for (int i = 0; i < 6; i++) {
						size_t l = strlen(kind_names[i]);
						if (tmp->len != 10 + l ||
						    memcmp(tmp->p, "SPAN_KIND_", 10))
							continue;
						int same = 1;
						for (size_t j = 0; j < l; j++)
							same &= tmp->p[10 + j] ==
							        (char)(kind_names[i][j] - 32);
						if (same)
							kind = i;
					}
				} else if (*k == 't' || *k == 'f') {
					kind = *k == 't'; /* True == 1 */
				} else if (*k == 'n') {
					tmp->len = 0;
					buf_str(tmp, "None");
				} else if (a) {
					kind = js_number_text(tmp, k, e);
				}
				if (!a)
					continue;
				if (kind >= 0)
					agg_count_num(a, svc, (uint64_t)kind);
				else
					agg_count_name(a, svc, tmp->p, tmp->len);
			}
		}
	}
	return 0;
}

/* ---- the bodies kept, and /stats -------------------------------------------------------- */

enum { ENC_NONE, ENC_GZIP, ENC_DEFLATE };

struct body {
	struct body *next;
	size_t len, cap;
	unsigned char json; /* its Content-Type contains "json" */
	unsigned char enc;  /* its Content-Encoding */
	unsigned char heap; /* from malloc(), else from block_alloc() */
	unsigned char data[];
};

/* Memory for the bodies of known size: large blocks, allocated from by a bump pointer, all
 * reused after /stats and kept (up to BLOCKS_KEPT): once their pages have been touched,
 * receiving a body costs no page fault (a fault per 4 KiB page made half of the sink's CPU
 * time). The first block is touched at start-up (MAP_POPULATE), before the CPU time counts;
 * the others page by page as they fill. (Huge pages were tried: they made the first touch
 * dearer, with little gain after.) */
struct block {
	struct block *next;
	size_t size, used; /* bytes of the mapping, and used from its start (header included) */
};

#define BLOCK_HEAD ((sizeof(struct block) + 63) & ~(size_t)63)

static struct block *blocks, *cur_block;

static struct block *block_new(size_t size, int populate)
{
	struct block *b, **tail = &blocks;

	b = mmap(NULL, size, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
	if (b == MAP_FAILED)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = BLOCK_HEAD;
	while (*tail)
		tail = &(*tail)->next;
	*tail = b;
	if (!cur_block)
		cur_block = b;
	return b;
}

static void *block_alloc(size_t n)
{
	struct block *b;

	n = (n + 63) & ~(size_t)63;
	for (b = cur_block; b; b = b->next)
		if (b->size - b->used >= n)
			break;
	if (!b) {
		size_t size = (BLOCK_HEAD + n + 4095) & ~(size_t)4095;
		if (!(b = block_new(size < BLOCK_SIZE ? BLOCK_SIZE : size, 0)))
			return NULL;
	}
	void *p = (char *)b + b->used;
	b->used += n;
	cur_block = b;
	return p;
}

/* All the blocks free again (no body may be left in them); those beyond BLOCKS_KEPT unmapped. */
static void blocks_reset(void)
{
	struct block **pb = &blocks;
	size_t kept = 0;

	while (*pb) {
		struct block *b = *pb;
		if (kept + b->size > BLOCKS_KEPT) {
			*pb = b->next;
			munmap(b, b->size);
			continue;
		}
		kept += b->size;
		b->used = BLOCK_HEAD;
		pb = &b->next;
	}
	cur_block = blocks;
}

static void body_free(struct body *b)
{
	if (b && b->heap)
		free(b);
}

static struct body *pending, **pending_tail = &pending;
static uint64_t n_requests, n_bytes;
static double cpu_mark; /* taken at the end of start-up, then at the end of each /stats */

/* Inflates in[0..n) into out (gzip: members one after the other, as gzip.decompress). */
static int inflate_body(struct buf *out, const unsigned char *in, size_t n, int gzip)
{
	z_stream z;
	int rc, ret = -1;

	out->len = 0;
	if (gzip && n == 0)
		return 0;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, gzip ? 15 + 16 : 15) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n; /* n <= BODY_MAX */
	for (;;) {
		if (out->cap - out->len < 65536 &&
		    buf_room(out, out->len > 65536 ? out->len : 65536, INFLATE_MAX) < 0 &&
		    buf_room(out, 1, INFLATE_MAX) < 0)
			break;
		size_t room = out->cap - out->len;
		if (room > (1u << 30))
			room = 1u << 30;
		z.next_out = (Bytef *)out->p + out->len;
		z.avail_out = (uInt)room;
		rc = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		if (rc == Z_STREAM_END) {
			if (!gzip || z.avail_in == 0) {
				ret = 0;
				break;
			}
			size_t i = 0; /* trailing zeros: padding */
			while (i < z.avail_in && z.next_in[i] == 0)
				i++;
			if (i == z.avail_in) {
				ret = 0;
				break;
			}
			if (inflateReset(&z) != Z_OK)
				break;
			continue;
		}
		if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0))
			continue;
		break; /* corrupt or truncated */
	}
	inflateEnd(&z);
	return ret;
}

static int count_body(struct agg *a, struct body *b, struct buf *scratch, struct buf *tmp)
{
	static const unsigned char none[1];
	const unsigned char *d = b->data;
	size_t n = b->len;

	if (b->enc != ENC_NONE) {
		if (inflate_body(scratch, d, n, b->enc == ENC_GZIP) < 0)
			return -1;
		d = scratch->p ? (const unsigned char *)scratch->p : none;
		n = scratch->len;
	}
	if (b->json) {
		const char *s = (const char *)d, *e = s + n;
		if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3; /* json.loads(bytes) skips a UTF-8 BOM */
		const char *end = js_skip(s, e, 0);
		if (!end || js_ws(end, e) != e || js_count(NULL, s, (size_t)(e - s), tmp) < 0)
			return -1;
		js_count(a, s, (size_t)(e - s), tmp);
		return 0;
	}
	if (pb_count(NULL, d, n, tmp) < 0)
		return -1;
	pb_count(a, d, n, tmp);
	return 0;
}

static void blocks_release(void);

/* The JSON answer of GET /stats */
static void stats(struct buf *out)
{
	struct agg a = {0};
	struct buf scratch = {0}, tmp = {0};
	uint64_t bad = 0, req = n_requests, bytes = n_bytes;
	double cpu = cpu_seconds() - cpu_mark;
	struct body *b = pending, *next;

	pending = NULL;
	pending_tail = &pending;
	n_requests = n_bytes = 0;
	buf_room(&tmp, 256, SIZE_MAX / 2); /* tmp.p is never NULL */
	for (; b; b = next) {
		next = b->next;
		if (count_body(&a, b, &scratch, &tmp) < 0)
			bad++;
		body_free(b);
	}
	buf_free(&scratch);
	blocks_release();

	char num[64];
	buf_str(out, "{\"requests\": ");
	buf_u64(out, req);
	buf_str(out, ", \"bytes\": ");
	buf_u64(out, bytes);
	/* round(x, 3), printed as Python prints a float */
	snprintf(num, sizeof num, "%.3f", cpu < 0 ? 0.0 : cpu);
	size_t l = strlen(num);
	while (l > 2 && num[l - 1] == '0' && num[l - 2] != '.')
		l--;
	num[l] = 0;
	buf_str(out, ", \"sink_cpu_s\": ");
	buf_str(out, num);
	buf_str(out, ", \"spans\": {");
	for (size_t i = 0; i < a.nsvcs; i++) {
		struct service *v = &a.svcs[i];
		if (i)
			buf_str(out, ", ");
		json_quote(out, (const unsigned char *)v->name, v->len);
		buf_str(out, ": {");
		for (long k = v->first; k >= 0; k = a.kinds[k].next) {
			if (k != v->first)
				buf_str(out, ", ");
			json_quote(out, (const unsigned char *)a.kinds[k].name, a.kinds[k].len);
			buf_str(out, ": ");
			buf_u64(out, a.kinds[k].count);
		}
		buf_str(out, "}");
	}
	buf_str(out, "}, \"spans_total\": ");
	buf_u64(out, a.total);
	buf_str(out, ", \"undecodable\": ");
	buf_u64(out, bad);
	buf_str(out, "}");
	agg_free(&a);
	buf_free(&tmp);
	cpu_mark = cpu_seconds(); /* the counting is not charged to the next phase */
}

/* ---- connections ------------------------------------------------------------------------ */

enum {
	ST_HEAD,       /* reading a request line and headers */
	ST_BODY,       /* Content-Length body: need bytes left */
	ST_CHUNK_SIZE, /* chunked: a chunk-size line */
	ST_CHUNK_DATA, /* chunked: need bytes of chunk left */
	ST_CHUNK_END,  /* chunked: the CRLF after the chunk's data */
	ST_TRAILER,    /* chunked: trailer lines up to an empty one */
	ST_DRAIN,      /* answered an error or the last request: reading and dropping until EOF */
};

enum { M_GET, M_POST, M_OTHER };

struct conn {
	struct conn *prev, *next; /* all of them */
	int fd;
	uint32_t events; /* registered with epoll */
	int state;
	int eof;     /* the peer will send no more */
	int closing; /* no more requests: close once the output is written */
	int drain;   /* ... after reading what the peer sends up to its EOF (after an error) */
	int paused;  /* requests left in c->in until the output (over OUT_PAUSE) is written */
	unsigned char *in;
	size_t in_start, in_end; /* unprocessed input */
	size_t scan;             /* ST_HEAD: bytes from in_start looked at for the blank line */
	struct buf out;
	size_t out_off; /* written */
	size_t drained;
	/* the request being read */
	int method, is_stats, keep_alive, json;
	unsigned char enc;
	struct body *body; /* a POST's body; NULL: the body is dropped */
	uint64_t need;     /* ST_BODY, ST_CHUNK_DATA: bytes left */
	uint64_t total;    /* chunked: body bytes so far */
	size_t trailer;    /* trailer bytes so far */
};

static int epfd;
static struct conn *conns;

/* After /stats: the blocks reused. The bodies being received that are in them move to the heap
 * first (rare: /stats comes between measurements). */
static void blocks_release(void)
{
	for (struct conn *c = conns; c; c = c->next) {
		struct body *b = c->body;
		if (!b || b->heap)
			continue;
		struct body *h = malloc(sizeof *b + b->cap);
		if (!h)
			return; /* the blocks stay as they are until the next /stats */
		memcpy(h, b, sizeof *b + b->len);
		h->heap = 1;
		c->body = h;
	}
	blocks_reset();
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static void respond(struct conn *c, int status, const char *ctype, const char *body, size_t len)
{
	static const char ok_pb[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
	                            "Content-Length: 0\r\n\r\n";
	static const char ok_json[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                              "Content-Length: 2\r\n\r\n{}";
	char head[256];

	if (status == 200 && !c->closing && len == 0 &&
	    strcmp(ctype, "application/x-protobuf") == 0) {
		buf_add(&c->out, ok_pb, sizeof ok_pb - 1);
		return;
	}
	if (status == 200 && !c->closing && len == 2 && strcmp(ctype, "application/json") == 0 &&
	    memcmp(body, "{}", 2) == 0) {
		buf_add(&c->out, ok_json, sizeof ok_json - 1);
		return;
	}
	int n =
	    snprintf(head, sizeof head,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
	             reason(status), ctype, len, c->closing ? "Connection: close\r\n" : "");
	buf_add(&c->out, head, (size_t)n);
	buf_add(&c->out, body, len);
}

/* Answers an error and stops reading requests. */
static void fail(struct conn *c, int status)
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "%s\n", reason(status));

	body_free(c->body);
	c->body = NULL;
	c->closing = 1;
	c->drain = 1;
	respond(c, status, "text/plain", msg, (size_t)n);
}

/* The request is complete: answer it. */
static void finish(struct conn *c)
{
	c->state = ST_HEAD;
	if (!c->keep_alive)
		c->closing = 1;
	if (c->method == M_POST) {
		struct body *b = c->body;
		c->body = NULL;
		b->next = NULL;
		*pending_tail = b;
		pending_tail = &b->next;
		n_requests++;
		n_bytes += b->len;
		if (b->json)
			respond(c, 200, "application/json", "{}", 2);
		else
			respond(c, 200, "application/x-protobuf", "", 0);
	} else if (c->is_stats) {
		struct buf s = {0};
		stats(&s);
		respond(c, 200, "application/json", s.p, s.len);
		buf_free(&s);
	} else {
		respond(c, 404, "text/plain", "not here\n", 9);
	}
}

/* A body of cap bytes; chunked ones (grown by realloc) from the heap. */
static struct body *body_new(size_t cap, int json, int enc, int chunked)
{
	struct body *b = chunked ? NULL : block_alloc(sizeof *b + cap);
	if (b) {
		b->heap = 0;
	} else {
		if (!(b = malloc(sizeof *b + cap)))
			return NULL;
		b->heap = 1;
	}
	b->next = NULL;
	b->len = 0;
	b->cap = cap;
	b->json = (unsigned char)json;
	b->enc = (unsigned char)enc;
	return b;
}

static const char *skip_sp(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *skip_token(const char *p, const char *e)
{
	while (p < e && *p != ' ' && *p != '\t')
		p++;
	return p;
}

/* Parses the header block h[0..n) (up to its blank line) and sets up reading the body: 0, or
 * an HTTP status to fail with. */
static int parse_head(struct conn *c, const char *h, size_t n)
{
	const char *e = h + n, *line = h, *nl = memchr(h, '\n', n);
	const char *le = nl > h && nl[-1] == '\r' ? nl - 1 : nl;

	/* request line: METHOD SP target SP HTTP/1.x */
	const char *m = skip_sp(line, le), *me = skip_token(m, le);
	const char *t = skip_sp(me, le), *te = skip_token(t, le);
	const char *v = skip_sp(te, le), *ve = skip_token(v, le);
	if (m == me || t == te || v == ve || skip_sp(ve, le) != le)
		return 400;
	if (ve - v < 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9')
		return 400;
	if (v[5] != '1' || v[6] != '.')
		return 505;
	int http11 = !(ve - v == 8 && memcmp(v, "HTTP/1.0", 8) == 0);
	c->method = me - m == 4 && memcmp(m, "POST", 4) == 0  ? M_POST
	            : me - m == 3 && memcmp(m, "GET", 3) == 0 ? M_GET
	                                                      : M_OTHER;
	c->is_stats = te - t == 6 && memcmp(t, "/stats", 6) == 0;
	c->keep_alive = http11;

	int chunked = 0, expect = 0, have_len = 0, have_ct = 0, have_ce = 0, json = 0,
	    enc = ENC_NONE;
	uint64_t len = 0;
	for (line = nl + 1; line < e; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(e - line));
		le = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == line)
			break; /* the blank line */
		if (*line == ' ' || *line == '\t')
			return 400; /* obsolete line folding */
		const char *colon = memchr(line, ':', (size_t)(le - line));
		if (!colon || colon == line)
			return 400;
		for (const char *q = line; q < colon; q++)
			if (*q == ' ' || *q == '\t')
				return 400;
		const char *val = skip_sp(colon + 1, le), *vend = le;
		while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		size_t nlen = (size_t)(colon - line), vlen = (size_t)(vend - val);
		switch (lower((unsigned char)*line)) {
		case 'c':
			if (ci_eq(line, nlen, "content-length")) {
				uint64_t x = 0;
				if (vlen == 0)
					return 400;
				for (const char *q = val; q < vend; q++) {
					if (*q < '0' || *q > '9')
						return 400;
					x = x > BODY_MAX ? x : x * 10 + (uint64_t)(*q - '0');
				}
				if (have_len && x != len)
					return 400;
				have_len = 1;
				len = x;
			} else if (ci_eq(line, nlen, "content-type")) {
				if (!have_ct)
					json = ci_contains(val, vlen, "json");
				have_ct = 1;
			} else if (ci_eq(line, nlen, "content-encoding")) {
				if (!have_ce)
					enc = ci_eq(val, vlen, "gzip")      ? ENC_GZIP
					      : ci_eq(val, vlen, "deflate") ? ENC_DEFLATE
					                                    : ENC_NONE;
				have_ce = 1;
			} else if (ci_eq(line, nlen, "connection")) {
				if (ci_contains(val, vlen, "close"))
					c->keep_alive = 0;
				else if (ci_contains(val, vlen, "keep-alive"))
					c->keep_alive = 1;
			}
			break;
		case 't':
			if (ci_eq(line, nlen, "transfer-encoding") &&
			    ci_contains(val, vlen, "chunked"))
				chunked = 1;
			break;
		case 'e':
			if (ci_eq(line, nlen, "expect") && ci_eq(val, vlen, "100-continue"))
				expect = http11;
			break;
		}
	}

	if (c->method == M_OTHER) {
		c->closing = 1; /* as Python's 501: the body is not read */
		c->drain = 1;
		respond(c, 501, "text/plain", "not implemented\n", 16);
		return 0;
	}
	if (!chunked && len > BODY_MAX)
		return 413;
	c->json = json;
	c->enc = (unsigned char)enc;
	c->total = 0;
	c->trailer = 0;
	c->need = chunked ? 0 : len;
	if (c->method == M_POST &&
	    !(c->body = body_new(chunked ? 0 : (size_t)len, json, enc, chunked)))
		return 413;
	if (expect && (chunked || len > 0))
		buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	c->state = chunked ? ST_CHUNK_SIZE : ST_BODY;
	return 0;
}

/* Bytes of the body: stores up to the need from p[0..avail) and returns how many it took. */
static size_t take_body(struct conn *c, const unsigned char *p, size_t avail)
{
	size_t take = c->need < avail ? (size_t)c->need : avail;
	if (c->body) {
		memcpy(c->body->data + c->body->len, p, take);
		c->body->len += take;
	}
	c->need -= take;
	return take;
}

/* Finds the blank line ending the header block at in_start: its length, or 0 if not there. */
static size_t head_end(struct conn *c)
{
	const unsigned char *p = c->in + c->in_start;
	size_t avail = c->in_end - c->in_start, i = c->scan;

	while (i < avail) {
		const unsigned char *lf = memchr(p + i, '\n', avail - i);
		if (!lf) {
			i = avail;
			break;
		}
		i = (size_t)(lf - p);
		if (i + 1 < avail && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < avail && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
		if (i + 2 >= avail && (i + 1 >= avail || p[i + 1] == '\r'))
			break; /* look at this LF again with more input */
		i++;
	}
	c->scan = i;
	return 0;
}

/* Handles the requests in the input, as far as they go. */
static void conn_process(struct conn *c)
{
	for (;;) {
		c->paused = 0;
		if (c->closing || c->state == ST_DRAIN)
			return;
		if (c->out.len - c->out_off > OUT_PAUSE) {
			c->paused = 1;
			return;
		}
		unsigned char *p = c->in + c->in_start;
		size_t avail = c->in_end - c->in_start;
		const unsigned char *lf;

		switch (c->state) {
		case ST_HEAD: {
			while (avail &&
			       (*p == '\r' || *p == '\n')) { /* blank lines before a request */
				p++;
				avail--;
				c->in_start++;
			}
			if (!avail) {
				c->scan = 0;
				return;
			}
			size_t n = head_end(c);
			if (!n || n > HEAD_MAX) {
				if (n > HEAD_MAX || avail > HEAD_MAX)
					fail(c, 431);
				return;
			}
			int status = parse_head(c, (const char *)p, n);
			c->in_start += n;
			c->scan = 0;
			if (status)
				fail(c, status);
			else if (c->state == ST_BODY && c->need == 0)
				finish(c);
			break;
		}
		case ST_BODY:
			c->in_start += take_body(c, p, avail);
			if (c->need)
				return;
			finish(c);
			break;
		case ST_CHUNK_SIZE: {
			if (!(lf = memchr(p, '\n', avail))) {
				if (avail > CHUNK_LINE_MAX)
					fail(c, 400);
				return;
			}
			const char *q = skip_sp((const char *)p, (const char *)lf), *d = q;
			uint64_t size = 0;
			int h;
			while (q < (const char *)lf && (h = hexval(*q)) >= 0) {
				size = size > BODY_MAX ? size : size * 16 + (uint64_t)h;
				q++;
			}
			q = skip_sp(q, (const char *)lf);
			if (q == d || !(*q == ';' || q == (const char *)lf ||
			                (*q == '\r' && q + 1 == (const char *)lf))) {
				fail(c, 400);
				return;
			}
			c->in_start += (size_t)(lf - p) + 1;
			if (size == 0) {
				c->state = ST_TRAILER;
				break;
			}
			if (size > BODY_MAX - c->total) {
				fail(c, 413);
				return;
			}
			c->total += size;
			c->need = size;
			if (c->body && c->body->cap < c->total) {
				size_t cap =
				    c->body->cap * 2 > c->total ? c->body->cap * 2 : c->total;
				cap = cap < 16384 ? 16384 : cap > BODY_MAX ? BODY_MAX : cap;
				struct body *b = realloc(c->body, sizeof *b + cap);
				if (!b) {
					fail(c, 413);
					return;
				}
				b->cap = cap;
				c->body = b;
			}
			c->state = ST_CHUNK_DATA;
			break;
		}
		case ST_CHUNK_DATA:
			c->in_start += take_body(c, p, avail);
			if (c->need)
				return;
			c->state = ST_CHUNK_END;
			break;
		case ST_CHUNK_END:
			if (!avail)
				return;
			if (*p == '\r') {
				if (avail < 2)
					return;
				if (p[1] != '\n') {
					fail(c, 400);
					return;
				}
				c->in_start += 2;
			} else if (*p == '\n') {
				c->in_start++;
			} else {
				fail(c, 400);
				return;
			}
			c->state = ST_CHUNK_SIZE;
			break;
		case ST_TRAILER:
			if (!(lf = memchr(p, '\n', avail))) {
				if (c->trailer + avail > TRAILER_MAX)
					fail(c, 431);
				return;
			}
			c->in_start += (size_t)(lf - p) + 1;
			if (lf == p || (lf == p + 1 && *p == '\r')) {
				finish(c);
				break;
			}
			c->trailer += (size_t)(lf - p) + 1;
			if (c->trailer > TRAILER_MAX) {
				fail(c, 431);
				return;
			}
			break;
		}
	}
}

static void conn_close(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	body_free(c->body);
	free(c->in);
	buf_free(&c->out);
	free(c);
}

/* Writes the pending output: 0 (all written, or the rest waits for EPOLLOUT) or -1. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	if (c->out.cap > (1u << 20))
		buf_free(&c->out); /* after a large /stats answer */
	return 0;
}

/* After reading or writing: writes, closes or drains when done, and sets the epoll interest.
 * Returns -1 if c is closed (freed). */
static int conn_after_io(struct conn *c)
{
	for (;;) {
		if (conn_flush(c) < 0) {
			conn_close(c);
			return -1;
		}
		if (!c->paused || c->out_off < c->out.len)
			break;
		conn_process(c); /* the requests that waited for the output */
	}
	if (c->eof && !c->paused)
		c->closing = 1; /* (a paused connection answers its requests first) */
	int unsent = c->out_off < c->out.len;
	if (c->closing && !unsent) {
		if (c->eof || !c->drain) {
			conn_close(c);
			return -1;
		}
		if (c->state != ST_DRAIN) { /* our FIN, then read until the peer's (no RST) */
			shutdown(c->fd, SHUT_WR);
			c->state = ST_DRAIN;
			c->in_start = c->in_end = 0;
			body_free(c->body);
			c->body = NULL;
		}
	}
	uint32_t want = unsent ? EPOLLOUT : 0;
	if (c->state == ST_DRAIN || (!c->closing && !c->paused && !c->eof))
		want |= EPOLLIN;
	if (want != c->events) {
		struct epoll_event ev = {.events = want, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(c);
			return -1;
		}
		c->events = want;
	}
	return 0;
}

/* One read: into the body being received (when the input buffer is empty) and the input
 * buffer. Returns what read() does; *asked: the room offered. */
static ssize_t conn_read(struct conn *c, size_t *asked)
{
	struct iovec iov[2];
	int n = 0, direct = 0;

	if (c->state == ST_DRAIN || c->in_start == c->in_end) {
		c->in_start = c->in_end = 0;
	} else if (c->in_start > 0 && INBUF_SIZE - c->in_end < INBUF_SIZE / 4) {
		memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
		c->in_end -= c->in_start;
		c->in_start = 0;
	}
	if (c->body && c->need > 0 && (c->state == ST_BODY || c->state == ST_CHUNK_DATA) &&
	    c->in_start == c->in_end) {
		iov[n].iov_base = c->body->data + c->body->len;
		iov[n++].iov_len = (size_t)c->need;
		direct = 1;
	}
	if (c->in_end < INBUF_SIZE) {
		/* A request's head is read by HEAD_READ bytes at most: the body that follows is
		 * better read straight into its buffer than copied there from c->in. */
		size_t room = INBUF_SIZE - c->in_end;
		if (c->state == ST_HEAD && c->in_start == c->in_end && room > HEAD_READ)
			room = HEAD_READ;
		iov[n].iov_base = c->in + c->in_end;
		iov[n++].iov_len = room;
	}
	*asked = 0;
	for (int i = 0; i < n; i++)
		*asked += iov[i].iov_len;
	if (!n) { /* cannot happen: the input is processed down to less than a header block */
		errno = EAGAIN;
		return -1;
	}
	ssize_t r = readv(c->fd, iov, n);
	if (r <= 0)
		return r;
	size_t rest = (size_t)r;
	if (direct) {
		size_t t = rest < c->need ? rest : (size_t)c->need;
		c->body->len += t;
		c->need -= t;
		rest -= t;
	}
	c->in_end += rest;
	return r;
}

static void conn_readable(struct conn *c)
{
	for (int round = 0; round < 16; round++) {
		size_t asked;
		ssize_t n = conn_read(c, &asked);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		if (n == 0) {
			c->eof = 1;
			break;
		}
		if (c->state == ST_DRAIN) {
			c->drained += (size_t)n;
			if (c->drained > DRAIN_MAX) {
				conn_close(c);
				return;
			}
		} else {
			conn_process(c);
		}
		if ((size_t)n < asked || c->closing || c->paused)
			break;
	}
	conn_after_io(c);
}

/* An epoll event: EPOLLOUT is handled by conn_after_io() (write, then resume). */
static void conn_event(struct conn *c, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_readable(c);
	else
		conn_after_io(c);
}

static int listen_fd, spare_fd = -1;

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
				/* out of descriptors: take the connection and close it at once */
				close(spare_fd);
				fd = accept(listen_fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				continue;
			}
			return; /* EAGAIN, or an error to retry at the next event */
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (c)
			c->in = malloc(INBUF_SIZE);
		if (!c || !c->in) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = ST_HEAD;
		c->events = EPOLLIN;
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(c);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: otlp-sink PORT_FILE\n");
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("otlp-sink: socket");
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t slen = sizeof sin;
	if (bind(listen_fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		die("otlp-sink: bind");
	if (listen(listen_fd, SOMAXCONN) < 0)
		die("otlp-sink: listen");
	if (getsockname(listen_fd, (struct sockaddr *)&sin, &slen) < 0)
		die("otlp-sink: getsockname");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("otlp-sink: epoll_create1");
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &lev) < 0)
		die("otlp-sink: epoll_ctl");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	size_t plen = strlen(argv[1]);
	char *tmp = xrealloc(NULL, plen + 5);
	memcpy(tmp, argv[1], plen);
	memcpy(tmp + plen, ".tmp", 5);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fprintf(f, "%d", ntohs(sin.sin_port));
	if (fclose(f) != 0)
		die(tmp);
	if (rename(tmp, argv[1]) < 0)
		die(argv[1]);
	free(tmp);

	block_new(FIRST_BLOCK, 1);
	cpu_mark = cpu_seconds(); /* start-up is not receiving */

	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("otlp-sink: epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				conn_event(evs[i].data.ptr, evs[i].events);
			else
				accept_all();
		}
	}
}
