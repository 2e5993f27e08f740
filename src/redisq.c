/*
 * Redis command text and facts (see redisq.h).
 *
 * Design. Both entry points drive one streaming builder: arguments are announced one at a time
 * (begin, their bytes in any number of pieces, end), so a hiredis format is read once, left to
 * right, consuming the va_list as it goes, with no argument array and no allocation. When an
 * argument begins, everything the sanitizing rules look at is already known (the command
 * name, HELLO's AUTH token, EVAL's numkeys), so its fate is decided then: written as sent
 * (OUT_TEXT), replaced by `?` (OUT_HIDE), or held back until it ends (OUT_DEFER, only for
 * EVAL's numkeys: written if it is a number, else `?`). Kept bytes go straight to the caller's
 * buffer, cut at cap. Only short prefixes are remembered: the name in out->name and the first
 * PRE bytes of an argument some rule looks at (snap). Bytes nobody needs are not even produced
 * (no strlen, no snprintf for a hidden value), but every va_list argument is still consumed.
 *
 * The fast path (the end of this file) takes the usual shapes without the builder: whole
 * arguments only (a literal word, %s or %b), so each is a pointer and a length, kept in a
 * small array; the sanitizing rules of the classes it takes are a bit mask per class
 * (fast_keep). The tests and the fuzzer hold it to the builder's results.
 *
 * Format language, as hiredis 0.14 redisvFormatCommand reads it:
 *  - a space ends the current argument if one was started ("touched"); runs of spaces, leading
 *    and trailing spaces make no empty argument;
 *  - any other byte, and a '%' that is the format's last byte, is literal;
 *  - %s (char *, strlen), %b (pointer, size_t) and %% start an argument even when they add no
 *    byte ("%s" with "" is an empty argument);
 *  - any other '%': flags from "#0-+ ", width digits, '.' and precision digits, then a
 *    conversion from diouxX (int), hh/h + diouxX (int), ll + diouxX (long long), l + diouxX
 *    (long) or eEfFgGaA (double). Anything else is rejected (false). The conversion is printed
 *    with snprintf on the spec as written (hiredis does the same with vsnprintf), except when
 *    the spec, '%' and conversion included, is 14 bytes or longer: then hiredis consumes the
 *    argument, appends nothing and goes on reading at the spec's second byte as text; so do we.
 *    A spec that reaches the end of the format without a conversion ("GET %5") makes hiredis
 *    read past the format's end; we reject it (false). A NULL %s, or a NULL %b with a length,
 *    would crash hiredis; we reject it too.
 *
 * Text: arguments joined by single spaces, each as its exact bytes (spaces, NUL and other
 * binary bytes included, unescaped), so the text is ambiguous where arguments contain spaces;
 * it is a span attribute, not a command to replay. No NUL is written after it. The cut at cap
 * is a plain byte cut (possibly inside an argument or a UTF-8 sequence). One exception: a
 * single printf conversion longer than OUT_TMP - 1 bytes (only with width or precision in the
 * hundreds) that reaches cap is cut one byte short of cap.
 *
 * Sanitized mode (docs/databases.md, Redis): the command name is always kept; then, by command
 * (matched case-insensitively in a sorted table):
 *  - C_ALL (GET, MGET, DEL, HGET, HMGET, SELECT, PING, INCR, SUBSCRIBE...): every argument;
 *  - C_PAIRS (MSET, MSETNX): keys kept, values `?`;
 *  - C_HASH (HSET, HMSET, HSETNX, HINCRBY, HINCRBYFLOAT): the key and field names kept;
 *  - C_AUTH (AUTH): every argument `?`;
 *  - C_HELLO (HELLO): every argument kept but the two after each AUTH token;
 *  - C_SCRIPT (EVAL, EVAL_RO): the script `?`, numkeys kept if it is a decimal number, then
 *    numkeys keys kept, every other argument `?` (`EVAL ? 1 k ?`);
 *  - C_FUNC (EVALSHA, EVALSHA_RO, FCALL, FCALL_RO): the same, but the SHA1 or function name
 *    is kept (`EVALSHA 1a2b 1 k ?`);
 *  - anything else: the first argument (the key) kept, the rest `?`.
 */
#include "redisq.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

#define PRE     24  /* bytes remembered of an argument a rule looks at */
#define OUT_TMP 512 /* buffer for one printf conversion */

enum out_how {
	OUT_NONE,  /* mode NONE: nothing is written */
	OUT_TEXT,  /* the argument as sent */
	OUT_HIDE,  /* `?` */
	OUT_DEFER, /* decided when the argument ends (kept bytes in pre) */
};

enum cmd_class {
	C_DEFAULT,
	C_ALL,
	C_SELECT, /* C_ALL, and the index is remembered */
	C_PAIRS,
	C_HASH,
	C_AUTH,
	C_HELLO,
	C_SCRIPT,
	C_FUNC,
	C_COUNT, /* how many */
};

struct cmd {
	union {
		char name[16]; /* zero-padded */
		uint64_t w[2]; /* the same bytes, compared a word at a time */
	} u;
	unsigned char len;
	unsigned char cls;
	bool subscribe;
};

#define CMD(s, cls, sub)                             \
	{                                            \
		{.name = s}, sizeof(s) - 1, cls, sub \
	}

/* Sorted (by_letter below depends on it). */
/* clang-format off */
static const struct cmd cmds[] = {
	CMD("AUTH", C_AUTH, false),
	CMD("BLPOP", C_ALL, false),
	CMD("BRPOP", C_ALL, false),
	CMD("DBSIZE", C_ALL, false),
	CMD("DECR", C_ALL, false),
	CMD("DEL", C_ALL, false),
	CMD("DISCARD", C_ALL, false),
	CMD("EVAL", C_SCRIPT, false),
	CMD("EVALSHA", C_FUNC, false),
	CMD("EVALSHA_RO", C_FUNC, false),
	CMD("EVAL_RO", C_SCRIPT, false),
	CMD("EXEC", C_ALL, false),
	CMD("EXISTS", C_ALL, false),
	CMD("FCALL", C_FUNC, false),
	CMD("FCALL_RO", C_FUNC, false),
	CMD("FLUSHALL", C_ALL, false),
	CMD("FLUSHDB", C_ALL, false),
	CMD("GET", C_ALL, false),
	CMD("GETDEL", C_ALL, false),
	CMD("HDEL", C_ALL, false),
	CMD("HELLO", C_HELLO, false),
	CMD("HEXISTS", C_ALL, false),
	CMD("HGET", C_ALL, false),
	CMD("HGETALL", C_ALL, false),
	CMD("HINCRBY", C_HASH, false),
	CMD("HINCRBYFLOAT", C_HASH, false),
	CMD("HKEYS", C_ALL, false),
	CMD("HLEN", C_ALL, false),
	CMD("HMGET", C_ALL, false),
	CMD("HMSET", C_HASH, false),
	CMD("HSET", C_HASH, false),
	CMD("HSETNX", C_HASH, false),
	CMD("HSTRLEN", C_ALL, false),
	CMD("HVALS", C_ALL, false),
	CMD("INCR", C_ALL, false),
	CMD("INFO", C_ALL, false),
	CMD("KEYS", C_ALL, false),
	CMD("LLEN", C_ALL, false),
	CMD("MGET", C_ALL, false),
	CMD("MONITOR", C_ALL, true),
	CMD("MSET", C_PAIRS, false),
	CMD("MSETNX", C_PAIRS, false),
	CMD("MULTI", C_ALL, false),
	CMD("PERSIST", C_ALL, false),
	CMD("PFCOUNT", C_ALL, false),
	CMD("PING", C_ALL, false),
	CMD("PSUBSCRIBE", C_ALL, true),
	CMD("PTTL", C_ALL, false),
	CMD("PUNSUBSCRIBE", C_ALL, false),
	CMD("QUIT", C_ALL, false),
	CMD("RANDOMKEY", C_ALL, false),
	CMD("RENAME", C_ALL, false),
	CMD("RENAMENX", C_ALL, false),
	CMD("ROLE", C_ALL, false),
	CMD("SCAN", C_ALL, false),
	CMD("SCARD", C_ALL, false),
	CMD("SDIFF", C_ALL, false),
	CMD("SELECT", C_SELECT, false),
	CMD("SINTER", C_ALL, false),
	CMD("SMEMBERS", C_ALL, false),
	CMD("SSUBSCRIBE", C_ALL, true),
	CMD("STRLEN", C_ALL, false),
	CMD("SUBSCRIBE", C_ALL, true),
	CMD("SUNION", C_ALL, false),
	CMD("SUNSUBSCRIBE", C_ALL, false),
	CMD("TIME", C_ALL, false),
	CMD("TOUCH", C_ALL, false),
	CMD("TTL", C_ALL, false),
	CMD("TYPE", C_ALL, false),
	CMD("UNLINK", C_ALL, false),
	CMD("UNSUBSCRIBE", C_ALL, false),
	CMD("UNWATCH", C_ALL, false),
	CMD("WATCH", C_ALL, false),
	CMD("ZCARD", C_ALL, false),
};
/* clang-format on */

/* cmds[by_letter[c - 'A']] .. cmds[by_letter[c - 'A' + 1] - 1]: the names starting with c. */
static const unsigned char by_letter[27] = {
    0,  1,  3,  3,  7,  13, 17, 19, 34, 36, 36, 37, 38, 43,
    43, 43, 49, 50, 54, 65, 69, 72, 72, 73, 73, 73, 74,
};

#define CMD_MAX 12 /* the longest name in cmds (at most 16) */

struct rq {
	struct otelp_redisq *out;
	char *text;
	size_t cap;
	size_t len;
	enum otelp_redisq_mode mode;
	int argc;           /* arguments begun */
	enum cmd_class cls; /* known once the name has ended */
	/* the current argument */
	enum out_how how;
	bool snap;   /* its first bytes are remembered (out->name for the name, else pre) */
	size_t alen; /* its length so far */
	char pre[PRE];
	/* rule state */
	long keys; /* C_SCRIPT, C_FUNC: keys still to keep */
	int hide;  /* C_HELLO: arguments still to hide after AUTH */
	long db;   /* C_SELECT: the index, -1 when not a valid one */
};

static inline unsigned char upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

static bool caseeq(const char *a, size_t n, const char *upper_lit)
{
	for (size_t i = 0; i < n; i++)
		if (upper((unsigned char)a[i]) != (unsigned char)upper_lit[i])
			return false;
	return upper_lit[n] == '\0';
}

/* p[0..n), n <= 8, as the first n bytes of a word (in memory order), the others zero. */
static inline uint64_t load_word(const char *p, size_t n)
{
	uint64_t w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4); /* overlaps lo when n < 8: the same bytes */
		return (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
	}
	if (n) {
		w = (unsigned char)p[0];
		w |= (uint64_t)(unsigned char)p[n / 2] << (8 * (n / 2));
		w |= (uint64_t)(unsigned char)p[n - 1] << (8 * (n - 1));
	}
#else
	unsigned char b[8] = {0};
	memcpy(b, p, n);
	memcpy(&w, b, 8);
#endif
	return w;
}

/* upper() on each byte of a word. */
static inline uint64_t upper_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low7 = w & (0x7f * ones);
	uint64_t ge_a = low7 + (0x80 - 'a') * ones; /* bit 7: low7 >= 'a' (no carry out) */
	uint64_t gt_z = low7 + (0x7f - 'z') * ones; /* bit 7: low7 > 'z' */
	uint64_t lower = ge_a & ~gt_z & ~w & (0x80 * ones);
	return w - (lower >> 2); /* 'a'..'z' - 0x20 */
}

/* The command named name[0..n), case-insensitively; NULL when not in cmds. */
static const struct cmd *lookup(const char *name, size_t n)
{
	uint64_t w0, w1 = 0;
	unsigned char first_byte;
	unsigned first;

	if (n == 0 || n > CMD_MAX)
		return NULL;
	if (n > 8) {
		w0 = load_word(name, 8);
		w1 = upper_word(load_word(name + 8, n - 8));
	} else {
		w0 = load_word(name, n);
	}
	w0 = upper_word(w0);
	memcpy(&first_byte, &w0, 1); /* the first byte in memory order */
	first = first_byte;
	if (first < 'A' || first > 'Z')
		return NULL;
	for (unsigned i = by_letter[first - 'A']; i < by_letter[first - 'A' + 1]; i++)
		if (cmds[i].u.w[0] == w0 && cmds[i].u.w[1] == w1 && cmds[i].len == n)
			return &cmds[i];
	return NULL;
}

/* A decimal as Redis' string2ll takes it ("0" or no leading zero, no sign), at most max. */
static long decimal(const char *p, size_t n, long max)
{
	long v = 0;

	if (n == 0 || n > 10 || (p[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= max ? v : -1;
}

static void put(struct rq *r, const char *p, size_t n)
{
	size_t room = r->cap - r->len;

	if (n > room)
		n = room;
	if (n) {
		memcpy(r->text + r->len, p, n);
		r->len += n;
	}
}

static inline void put1(struct rq *r, char c)
{
	if (r->len < r->cap)
		r->text[r->len++] = c;
}

static void clear(struct otelp_redisq *out)
{
	out->name[0] = '\0';
	out->name_len = 0;
	out->text_len = 0;
	out->argc = 0;
	out->select_db = -1;
	out->subscribe = false;
}

static void init(struct rq *r, enum otelp_redisq_mode mode, char *text, size_t cap,
                 struct otelp_redisq *out)
{
	r->out = out;
	r->mode = mode;
	r->text = text;
	r->cap = text && mode != OTELP_REDISQ_NONE ? cap : 0;
	r->len = 0;
	r->argc = 0;
	r->cls = C_DEFAULT;
	r->how = OUT_NONE;
	r->snap = false;
	r->alen = 0;
	r->keys = 0;
	r->hide = 0;
	r->db = -1;
	clear(out);
}

static bool fail(struct rq *r)
{
	clear(r->out);
	return false;
}

/* Sanitized mode: what becomes of argument i >= 1; sets r->snap when a rule reads it. */
static enum out_how sanitize_plan(struct rq *r, int i)
{
	switch (r->cls) {
	case C_ALL:
		return OUT_TEXT;
	case C_SELECT:
		r->snap = i == 1;
		return OUT_TEXT;
	case C_PAIRS:
		return i % 2 ? OUT_TEXT : OUT_HIDE;
	case C_HASH:
		return i == 1 || i % 2 == 0 ? OUT_TEXT : OUT_HIDE;
	case C_AUTH:
		return OUT_HIDE;
	case C_HELLO:
		if (r->hide > 0) {
			r->hide--;
			return OUT_HIDE;
		}
		r->snap = true;
		return OUT_TEXT;
	case C_SCRIPT:
	case C_FUNC:
		if (i == 1)
			return r->cls == C_FUNC ? OUT_TEXT : OUT_HIDE;
		if (i == 2) {
			r->snap = true;
			return OUT_DEFER;
		}
		if (r->keys > 0) {
			r->keys--;
			return OUT_TEXT;
		}
		return OUT_HIDE;
	case C_DEFAULT:
	default:
		return i == 1 ? OUT_TEXT : OUT_HIDE;
	}
}

static void arg_begin(struct rq *r)
{
	int i = r->argc++;

	r->alen = 0;
	r->snap = i == 0;
	if (r->mode == OTELP_REDISQ_NONE) {
		r->how = OUT_NONE;
		r->snap = i == 0 || (r->cls == C_SELECT && i == 1);
		return;
	}
	if (i == 0) {
		r->how = OUT_TEXT;
		return;
	}
	put1(r, ' ');
	r->how = sanitize_plan(r, i);
	if (r->mode == OTELP_REDISQ_RAW)
		r->how = OUT_TEXT;
	else if (r->how == OUT_HIDE)
		put1(r, '?');
}

/* How many bytes of the current argument are remembered when r->snap. */
static inline size_t snap_max(const struct rq *r)
{
	return r->argc == 1 ? sizeof(r->out->name) - 1 : PRE;
}

/*
 * Whether the current argument's next bytes are needed at all. Once a remembered argument is
 * known to be longer than what is remembered (alen > snap_max), its length no longer matters.
 */
static inline bool wanted(const struct rq *r)
{
	return r->how == OUT_TEXT || (r->snap && r->alen <= snap_max(r));
}

static void arg_bytes(struct rq *r, const char *p, size_t n)
{
	if (r->how == OUT_TEXT)
		put(r, p, n);
	if (r->snap) {
		char *dst = r->argc == 1 ? r->out->name : r->pre;
		size_t max = snap_max(r);
		if (r->alen < max) {
			size_t k = max - r->alen < n ? max - r->alen : n;
			memcpy(dst + r->alen, p, k);
		}
	}
	r->alen += n;
}

static void arg_end(struct rq *r)
{
	int i = r->argc - 1;

	if (i == 0) {
		size_t n = r->alen < sizeof(r->out->name) - 1 ? r->alen : sizeof(r->out->name) - 1;
		r->out->name[n] = '\0';
		r->out->name_len = n;
		const struct cmd *c = r->alen == n ? lookup(r->out->name, n) : NULL;
		if (c) {
			r->cls = (enum cmd_class)c->cls;
			r->out->subscribe = c->subscribe;
		}
		return;
	}
	if (!r->snap)
		return;
	switch (r->cls) {
	case C_SELECT:
		if (i == 1)
			r->db = r->alen <= PRE ? decimal(r->pre, r->alen, INT_MAX) : -1;
		break;
	case C_HELLO:
		if (r->alen == 4 && caseeq(r->pre, 4, "AUTH"))
			r->hide = 2;
		break;
	case C_SCRIPT:
	case C_FUNC:
		if (i == 2) {
			long k = r->alen <= PRE ? decimal(r->pre, r->alen, INT_MAX) : -1;
			r->keys = k > 0 ? k : 0;
			if (r->how == OUT_DEFER) {
				if (k >= 0)
					put(r, r->pre, r->alen);
				else
					put1(r, '?');
			}
		}
		break;
	default:
		break;
	}
}

static bool finish(struct rq *r)
{
	if (r->argc < 1)
		return fail(r);
	r->out->argc = r->argc;
	r->out->text_len = r->len;
	if (r->cls == C_SELECT && r->argc == 2)
		r->out->select_db = r->db;
	return true;
}

/* ---- the format path ---- */

enum conv_type {
	T_BAD,
	T_INT, /* none, hh, h */
	T_LONG,
	T_LLONG,
	T_DOUBLE,
};

static inline bool is_int_conv(char c)
{
	return c == 'd' || c == 'i' || c == 'o' || c == 'u' || c == 'x' || c == 'X';
}

static inline bool is_dbl_conv(char c)
{
	return c == 'e' || c == 'E' || c == 'f' || c == 'F' || c == 'g' || c == 'G' || c == 'a' ||
	       c == 'A';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The printf spec at c ('%' then neither 's', 'b', '%' nor NUL): its type and where its
 * conversion byte is (*end; the format's NUL when there is none).
 */
static enum conv_type parse_spec(const char *c, const char **end)
{
	const char *p = c + 1;

	while (*p == '#' || *p == '0' || *p == '-' || *p == '+' || *p == ' ')
		p++;
	while (is_digit(*p))
		p++;
	if (*p == '.') {
		p++;
		while (is_digit(*p))
			p++;
	}
	*end = p;
	if (*p == '\0' || is_int_conv(*p)) /* hiredis: strchr("diouxX", *p) matches the NUL */
		return T_INT;
	if (is_dbl_conv(*p))
		return T_DOUBLE;
	enum conv_type t;
	if (p[0] == 'h' && p[1] == 'h') {
		p += 2;
		t = T_INT;
	} else if (p[0] == 'h') {
		p += 1;
		t = T_INT;
	} else if (p[0] == 'l' && p[1] == 'l') {
		p += 2;
		t = T_LLONG;
	} else if (p[0] == 'l') {
		p += 1;
		t = T_LONG;
	} else {
		return T_BAD;
	}
	*end = p;
	return is_int_conv(*p) ? t : T_BAD;
}

union conv_val {
	int i;
	long l;
	long long ll;
	double d;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* spec is a single validated conversion (no '*', no %n), as hiredis passes it to vsnprintf. */
static int print_conv(char *buf, size_t n, const char *spec, enum conv_type t,
                      const union conv_val *v)
{
	switch (t) {
	case T_INT:
		return snprintf(buf, n, spec, v->i);
	case T_LONG:
		return snprintf(buf, n, spec, v->l);
	case T_LLONG:
		return snprintf(buf, n, spec, v->ll);
	case T_DOUBLE:
		return snprintf(buf, n, spec, v->d);
	case T_BAD:
	default:
		return -1;
	}
}
#pragma GCC diagnostic pop

static void conv_bytes(struct rq *r, const char *spec, enum conv_type t, const union conv_val *v)
{
	char tmp[OUT_TMP];
	int n = print_conv(tmp, sizeof(tmp), spec, t, v);

	if (n <= 0)
		return; /* glibc fails before writing anything (width > INT_MAX): hiredis adds "" */
	if ((size_t)n < sizeof(tmp)) {
		arg_bytes(r, tmp, (size_t)n);
		return;
	}
	/* Longer than tmp: the remembered prefixes come from tmp, the text is printed in place. */
	enum out_how how = r->how;
	r->how = OUT_NONE;
	arg_bytes(r, tmp, sizeof(tmp) - 1);
	r->how = how;
	r->alen += (size_t)n - (sizeof(tmp) - 1);
	if (how == OUT_TEXT && r->len < r->cap) {
		size_t room = r->cap - r->len;
		print_conv(r->text + r->len, room, spec, t, v);
		if ((size_t)n < room) {
			r->len += (size_t)n;
		} else {
			/* snprintf kept the last byte for its NUL: stop here so the text stays a
			 * prefix */
			r->len += room - 1;
			r->cap = r->len;
		}
	}
}

bool otelp__redisq_fmt(const char *fmt, va_list ap, enum otelp_redisq_mode mode, char *text,
                       size_t cap, struct otelp_redisq *out)
{
	struct rq r;
	va_list aq;
	bool touched = false, ok = true;

	if (!out)
		return false;
	init(&r, mode, text, cap, out);
	if (!fmt)
		return fail(&r);
	va_copy(aq, ap);
	const char *c = fmt;
	while (*c) {
		if (*c != '%' || c[1] == '\0') {
			if (*c == ' ') {
				if (touched) {
					arg_end(&r);
					touched = false;
				}
				c++;
				continue;
			}
			const char *e = c + 1;
			while (*e && *e != ' ' && !(*e == '%' && e[1]))
				e++;
			if (!touched) {
				arg_begin(&r);
				touched = true;
			}
			arg_bytes(&r, c, (size_t)(e - c));
			c = e;
			continue;
		}
		if (!touched) {
			arg_begin(&r);
			touched = true;
		}
		if (c[1] == 's') {
			const char *s = va_arg(aq, const char *);
			if (!s) {
				ok = false;
				break;
			}
			if (wanted(&r))
				arg_bytes(&r, s, strlen(s));
			c += 2;
		} else if (c[1] == 'b') {
			const char *b = va_arg(aq, const char *);
			size_t n = va_arg(aq, size_t);
			if (!b && n) {
				ok = false;
				break;
			}
			if (n && wanted(&r))
				arg_bytes(&r, b, n);
			c += 2;
		} else if (c[1] == '%') {
			arg_bytes(&r, "%", 1);
			c += 2;
		} else {
			const char *end;
			enum conv_type t = parse_spec(c, &end);
			union conv_val v;
			size_t l = (size_t)(end + 1 - c);
			if (t == T_BAD || (*end == '\0' && l < 14)) {
				ok = false;
				break;
			}
			switch (t) {
			case T_INT:
				v.i = va_arg(aq, int);
				break;
			case T_LONG:
				v.l = va_arg(aq, long);
				break;
			case T_LLONG:
				v.ll = va_arg(aq, long long);
				break;
			case T_DOUBLE:
			case T_BAD:
			default:
				v.d = va_arg(aq, double);
				break;
			}
			if (l >= 14) {
				/* hiredis: too long for its 16-byte copy; nothing added, reads on
				 * at c + 2 */
				c += 2;
				continue;
			}
			if (wanted(&r)) {
				char spec[16];
				memcpy(spec, c, l);
				spec[l] = '\0';
				conv_bytes(&r, spec, t, &v);
			}
			c = end + 1;
		}
	}
	va_end(aq);
	if (!ok)
		return fail(&r);
	if (touched)
		arg_end(&r);
	return finish(&r);
}

/* ---- the argv path ---- */

bool otelp__redisq_argv(int argc, const char *const *argv, const size_t *argvlen,
                        enum otelp_redisq_mode mode, char *text, size_t cap,
                        struct otelp_redisq *out)
{
	struct rq r;

	if (!out)
		return false;
	init(&r, mode, text, cap, out);
	if (argc < 1 || !argv)
		return fail(&r);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!a && (!argvlen || argvlen[i]))
			return fail(&r);
		arg_begin(&r);
		if (wanted(&r)) {
			size_t n = argvlen ? argvlen[i] : strlen(a);
			if (n)
				arg_bytes(&r, a, n);
		}
		arg_end(&r);
	}
	return finish(&r);
}

/* ---- the fast path ---- */

/*
 * Sanitized mode: bit i set when argument i of a command of class cls is kept as sent (the
 * rules of sanitize_plan for the classes the fast path takes; bit 0, the name, always is).
 * 0 (C_HELLO, C_SCRIPT, C_FUNC): a class the fast path leaves to the general one.
 */
#define FAST_ALL ((uint32_t)-1)
static const uint32_t fast_keep[C_COUNT] = {
    [C_DEFAULT] = 0x3u,      /* the first argument (the key) */
    [C_ALL] = FAST_ALL,      /* every argument */
    [C_SELECT] = FAST_ALL,   /* the same */
    [C_PAIRS] = 0xAAAAAAABu, /* the keys: 1, 3, 5 ... */
    [C_HASH] = 0x55555557u,  /* the key and the fields: 1, 2, 4, 6 ... */
    [C_AUTH] = 0x1u,         /* no argument */
};

/* What the name tells about the arguments after it, and the text so far. */
struct fast_plan {
	uint32_t keep;   /* written as sent */
	uint32_t need;   /* their length is needed (kept, or SELECT's index) */
	size_t hidden;   /* the text an argument not kept takes: " ?" (sanitized) or nothing */
	size_t text_len; /* so far */
	bool select;
};

/* The name is a->arg[0], a->len[0]; false for the classes the fast path does not take. */
static inline __attribute__((always_inline)) bool
fast_name(struct otelp_redisq_args *a, enum otelp_redisq_mode mode, struct fast_plan *p)
{
	size_t n = a->len[0];
	const struct cmd *c;
	enum cmd_class cls;

	if (n == 0 || n > sizeof(((struct otelp_redisq *)0)->name) - 1)
		return false;
	c = lookup(a->arg[0], n);
	cls = c ? (enum cmd_class)c->cls : C_DEFAULT;
	if (!fast_keep[cls])
		return false;
	a->subscribe = c && c->subscribe;
	p->select = cls == C_SELECT;
	switch (mode) {
	case OTELP_REDISQ_RAW:
		p->keep = p->need = FAST_ALL;
		p->hidden = 0;
		p->text_len = n;
		break;
	case OTELP_REDISQ_NONE:
		p->keep = 0;
		p->need = p->select ? 1u << 1 : 0;
		p->hidden = 0;
		p->text_len = 0;
		break;
	case OTELP_REDISQ_SANITIZED:
	default:
		p->keep = p->need = fast_keep[cls];
		p->hidden = 2;
		p->text_len = n;
		break;
	}
	return true;
}

/* Argument i >= 1 is in: its share of the text. */
static inline void fast_arg(const struct otelp_redisq_args *a, struct fast_plan *p, int i)
{
	p->text_len += p->keep & (1u << i) ? 1 + a->len[i] : p->hidden;
}

/* All the arguments are in (argc of them): false when the text would not fit in cap. */
static inline __attribute__((always_inline)) bool
fast_done(struct otelp_redisq_args *a, const struct fast_plan *p, int argc, size_t cap)
{
	if (p->text_len > cap)
		return false;
	a->argc = argc;
	a->keep = p->keep;
	a->text_len = p->text_len;
	a->select_db = p->select && argc == 2 ? decimal(a->arg[1], a->len[1], INT_MAX) : -1;
	return true;
}

bool otelp__redisq_fast_fmt(const char *fmt, va_list ap, enum otelp_redisq_mode mode, size_t cap,
                            struct otelp_redisq_args *a)
{
	struct fast_plan p = {.need = 1};
	const char *c = fmt;
	int argc = 0;
	va_list aq;
	bool ok = false;

	if (!fmt || !a)
		return false;
	a->mode = mode;
	va_copy(aq, ap);
	for (;;) {
		while (*c == ' ')
			c++;
		if (!*c) {
			ok = argc > 0 && fast_done(a, &p, argc, cap);
			break;
		}
		if (argc == OTELP_REDISQ_FAST_ARGS)
			break;
		if (*c == '%') {
			/* a whole %s or %b */
			if (c[1] == 's' && (c[2] == ' ' || !c[2])) {
				const char *s = va_arg(aq, const char *);
				if (!s)
					break;
				a->arg[argc] = s;
				a->len[argc] = p.need & (1u << argc) ? strlen(s) : 0;
			} else if (c[1] == 'b' && (c[2] == ' ' || !c[2])) {
				const char *b = va_arg(aq, const char *);
				size_t n = va_arg(aq, size_t);
				if (!b && n)
					break;
				a->arg[argc] = b ? b : "";
				a->len[argc] = n;
			} else {
				break;
			}
			c += 2;
		} else {
			/* a whole literal word */
			const char *e = c;
			while (*e && *e != ' ' && *e != '%')
				e++;
			if (*e == '%')
				break;
			a->arg[argc] = c;
			a->len[argc] = (size_t)(e - c);
			c = e;
		}
		if (argc == 0) {
			if (!fast_name(a, mode, &p))
				break;
		} else {
			fast_arg(a, &p, argc);
		}
		argc++;
	}
	va_end(aq);
	return ok;
}

bool otelp__redisq_fast_argv(int argc, const char *const *argv, const size_t *argvlen,
                             enum otelp_redisq_mode mode, size_t cap, struct otelp_redisq_args *a)
{
	struct fast_plan p = {.need = 1};

	if (!a || !argv || argc < 1 || argc > OTELP_REDISQ_FAST_ARGS)
		return false;
	a->mode = mode;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!s)
			return false;
		a->arg[i] = s;
		a->len[i] = argvlen ? argvlen[i] : p.need & (1u << i) ? strlen(s) : 0;
		if (i == 0) {
			if (!fast_name(a, mode, &p))
				return false;
		} else {
			fast_arg(a, &p, i);
		}
	}
	return fast_done(a, &p, argc, cap);
}

void otelp__redisq_fast_text(const struct otelp_redisq_args *a, char *text)
{
	char *t = text;

	if (a->mode == OTELP_REDISQ_NONE)
		return;
	otelp__copy_short(t, a->arg[0], a->len[0]);
	t += a->len[0];
	for (int i = 1; i < a->argc; i++) {
		*t++ = ' ';
		if (a->keep & (1u << i)) {
			otelp__copy_short(t, a->arg[i], a->len[i]);
			t += a->len[i];
		} else {
			*t++ = '?';
		}
	}
}
