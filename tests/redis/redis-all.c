/*
 * A hiredis client exercising what the Redis instrumentation must handle, one scenario per
 * subcommand, for tests/redis/test_hiredis.py. It knows nothing of the preload: the test runs
 * it with and without LD_PRELOAD and compares the outputs (they must be byte-identical), then
 * checks the spans.
 *
 * Usage: redis-all MODE PORT [SOCKET]
 *   sync               redisCommand with %s %b %d, redisvCommand (through a variadic
 *                      wrapper), redisCommandArgv (with and without argvlen), lowercase names
 *   shapes             the usual command shapes with unusual arguments: keys with spaces,
 *                      control bytes, NUL, long keys around the text's 1536-byte cut, the
 *                      name as %s, empty and many arguments, commands outside the sanitizing
 *                      table, AUTH, SELECT, MULTI/EXEC, appended and argv forms
 *   pipeline           redisAppendCommand x100, then redisGetReply x100
 *   pipeline-variants  redisAppendCommandArgv x10 and redisvAppendCommand x10, then 20 replies
 *   async              libevent: redisAsyncCommand x20 with private data, redisvAsyncCommand,
 *                      redisAsyncCommandArgv, a command with a NULL callback, disconnect
 *   async-errors       WRONGTYPE and an unknown command, asynchronously
 *   async-free         3 commands then redisAsyncFree before any reply
 *   errors             WRONGTYPE, unknown command (ERR), AUTH (WRONGPASS)
 *   select             SELECT 3, SELECT 99 (fails), a second connection (stays on 0)
 *   unix               redisConnectUnix(SOCKET)
 *   refused            redisConnect to PORT (nothing listening), redisConnectUnix(SOCKET)
 *                      (no such file): both fail
 *   pending-at-free    3 commands appended and flushed, redisFree without reading
 *   multi              MULTI / SET / INCR / EXEC, then MULTI / unknown / EXEC (EXECABORT)
 *   pipeline-errors    4 appended commands, the 2nd and the 4th answered with errors
 *   closed             QUIT, then GET: no reply (EOF)
 *   subscribe          async SUBSCRIBE (untraced), its callback called once per message;
 *                      3 PUBLISH from a blocking context; disconnect
 *   async-refused      redisAsyncConnect to PORT (nothing listening)
 *
 * Every command result is one line on stdout. With REDIS_ALL_STAMPS=FILE, CLOCK_REALTIME
 * stamps around the calls (pipeline, pipeline-variants, async) go to FILE as lines
 * "LABEL INDEX NANOSECONDS" (stdout does not change). Exit status 0 when every result was
 * the expected one, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#define NOINLINE static __attribute__((noinline, noclone))

static int port;
static const char *sock_path;
static FILE *stamps;
static int failures;

/* ---- output ---- */

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stamp(const char *label, int i)
{
	if (stamps)
		fprintf(stamps, "%s %d %" PRIu64 "\n", label, i, real_ns());
}

static void put_escaped(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_reply(FILE *f, const redisReply *r)
{
	if (!r) {
		fputs("(no reply)", f);
		return;
	}
	switch (r->type) {
	case REDIS_REPLY_STRING:
		put_escaped(f, r->str, r->len);
		break;
	case REDIS_REPLY_STATUS:
		fprintf(f, "status %.*s", (int)r->len, r->str);
		break;
	case REDIS_REPLY_ERROR:
		fprintf(f, "error %.*s", (int)r->len, r->str);
		break;
	case REDIS_REPLY_INTEGER:
		fprintf(f, "(integer) %lld", r->integer);
		break;
	case REDIS_REPLY_NIL:
		fputs("(nil)", f);
		break;
	case REDIS_REPLY_ARRAY:
		fputc('[', f);
		for (size_t i = 0; i < r->elements; i++) {
			if (i)
				fputs(", ", f);
			put_reply(f, r->element[i]);
		}
		fputc(']', f);
		break;
	default:
		fprintf(f, "(type %d)", r->type);
	}
}

/* A reply rendered as one line of text (static buffer), to print and compare. */
static const char *reply_text(const redisReply *r)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		abort();
	put_reply(f, r);
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	return buf;
}

/* One line per result: "LABEL: REPLY", checked against the expected rendering. */
static void show(const char *label, redisReply *r, const char *expect)
{
	const char *got = reply_text(r);

	printf("%s: %s", label, got);
	if (expect && strcmp(got, expect) != 0) {
		printf("  UNEXPECTED (wanted %s)", expect);
		failures++;
	}
	putchar('\n');
	fflush(stdout);
}

static void show_free(const char *label, void *reply, const char *expect)
{
	show(label, reply, expect);
	if (reply)
		freeReplyObject(reply);
}

static redisContext *connect_tcp(void)
{
	redisContext *c = redisConnect("127.0.0.1", port);

	if (!c || c->err) {
		fprintf(stderr, "redis-all: connect 127.0.0.1:%d: %s\n", port,
		        c ? c->errstr : "out of memory");
		exit(2);
	}
	return c;
}

/* ---- sync ---- */

static void *my_command(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	void *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	return r;
}

static int my_append(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = redisvAppendCommand(c, fmt, ap);
	va_end(ap);
	return rc;
}

static int my_async(redisAsyncContext *ac, redisCallbackFn *fn, void *priv, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = redisvAsyncCommand(ac, fn, priv, fmt, ap);
	va_end(ap);
	return rc;
}

static int mode_sync(void)
{
	redisContext *c = connect_tcp();
	static const char bin[] = {'a', '\0', 'b'};

	show_free("SET k v", redisCommand(c, "SET %s %s", "k", "v"), "status OK");
	show_free("GET k", redisCommand(c, "GET %s", "k"), "\"v\"");
	show_free("SET bin %b", redisCommand(c, "SET %b %b", "bin", (size_t)3, bin, sizeof(bin)),
	          "status OK");
	show_free("STRLEN bin", redisCommand(c, "STRLEN bin"), "(integer) 3");
	/* Not UTF-8: the exported text must still be valid (src/otlp.h: U+FFFD per bad byte). */
	show_free("SET bin2 %b", redisCommand(c, "SET bin2 %b", "\xff\xfeok", (size_t)4),
	          "status OK");
	show_free("SET n %d", redisCommand(c, "SET n %d", 41), "status OK");
	show_free("INCR n", redisCommand(c, "INCR n"), "(integer) 42");
	show_free("SET k v EX 10", redisCommand(c, "SET k %s EX %d", "v2", 10), "status OK");
	show_free("HSET (redisvCommand)",
	          my_command(c, "HSET %s %s %s %s %s", "h", "f1", "v1", "f2", "v2"), "(integer) 2");
	show_free("HGET h f1", redisCommand(c, "HGET h f1"), "\"v1\"");
	{
		const char *argv[] = {"MSET", "k1", "v1", "k2", "v2"};
		const size_t len[] = {4, 2, 2, 2, 2};
		show_free("MSET (argv)", redisCommandArgv(c, 5, argv, len), "status OK");
	}
	{
		const char *argv[] = {"MGET", "k1", "k2", "nokey"};
		show_free("MGET (argv, no lengths)", redisCommandArgv(c, 4, argv, NULL),
		          "[\"v1\", \"v2\", (nil)]");
	}
	show_free("get k (lowercase)", redisCommand(c, "get %s", "k"), "\"v2\"");
	show_free("EXPIRE k 100", redisCommand(c, "EXPIRE k 100"), "(integer) 1");
	show_free("PING", redisCommand(c, "PING"), "status PONG");
	show_free("DEL k k1 k2", redisCommand(c, "DEL k k1 k2"), "(integer) 3");
	redisFree(c);
	return 0;
}

/*
 * Long keys: the text "GET " + key is cut at 1536 bytes (sanitized), raw escaping stops at
 * 1533; these lengths sit on both sides of both cuts.
 */
static const size_t long_keys[] = {1529, 1530, 1532, 1533, 1600};

static int mode_shapes(void)
{
	redisContext *c = connect_tcp();
	static const char ctl[] = {'k', '\x01', '\x7f', 'z'};
	static const char nul[] = {'n', '\0', 'l'};
	static char key[2000];
	char label[64];

	show_free("SET (key with spaces)", redisCommand(c, "SET %s %s", "key with spaces", "v"),
	          "status OK");
	show_free("GET (key with spaces)", redisCommand(c, "GET %s", "key with spaces"), "\"v\"");
	show_free("SET (control bytes)", redisCommand(c, "SET %b %s", ctl, sizeof(ctl), "w"),
	          "status OK");
	show_free("GET (control bytes)", redisCommand(c, "GET %b", ctl, sizeof(ctl)), "\"w\"");
	show_free("GET (NUL)", redisCommand(c, "GET %b", nul, sizeof(nul)), "(nil)");
	show_free("GET (empty key)", redisCommand(c, "GET %s", ""), "(nil)");
	show_free("GET (name as %s, two spaces)", redisCommand(c, "%s  %s", "GET", "k"), "(nil)");
	for (size_t i = 0; i < sizeof(long_keys) / sizeof(long_keys[0]); i++) {
		memset(key, 'a' + (int)i, long_keys[i]);
		key[long_keys[i]] = '\0';
		snprintf(label, sizeof(label), "GET (key of %zu bytes)", long_keys[i]);
		show_free(label, redisCommand(c, "GET %s", key), "(nil)");
	}
	show_free("hset (lowercase)", redisCommand(c, "hset %s %s %s", "h", "f", "v"),
	          "(integer) 1");
	show_free("APPEND (not in the table)", redisCommand(c, "APPEND %s %s", "ap", "xyz"),
	          "(integer) 3");
	show_free("MSET (pairs)", redisCommand(c, "MSET %s %s %s %s", "m1", "1", "m2", "2"),
	          "status OK");
	show_free(
	    "DEL (8 arguments)",
	    redisCommand(c, "DEL %s %s %s %s %s %s %s", "d1", "d2", "d3", "d4", "d5", "d6", "d7"),
	    "(integer) 0");
	show_free("DEL (9 arguments)", redisCommand(c, "DEL d1 d2 d3 d4 d5 d6 d7 d8"),
	          "(integer) 0");
	show_free("AUTH (no password set)", redisCommand(c, "AUTH %s", "secret"), NULL);
	show_free("SELECT 2", redisCommand(c, "SELECT %s", "2"), "status OK");
	show_free("GET (db 2)", redisCommand(c, "GET %s", "k"), "(nil)");
	show_free("select 0 (lowercase)", redisCommand(c, "select 0"), "status OK");
	show_free("MULTI", redisCommand(c, "MULTI"), "status OK");
	show_free("INCR (queued)", redisCommand(c, "INCR %s", "cnt"), "status QUEUED");
	show_free("EXEC", redisCommand(c, "EXEC"), "[(integer) 1]");
	{
		const char *argv[] = {"SET", "argv key", "argv value"};
		show_free("SET (argv, no lengths)", redisCommandArgv(c, 3, argv, NULL),
		          "status OK");
	}
	if (redisAppendCommand(c, "GET %s", "key with spaces") != REDIS_OK ||
	    redisAppendCommand(c, "HGET %s %s", "h", "f") != REDIS_OK)
		return 2;
	for (int i = 0; i < 2; i++) {
		void *r = NULL;
		snprintf(label, sizeof(label), "appended reply %d (rc %d)", i,
		         redisGetReply(c, &r));
		show_free(label, r, i == 0 ? "\"v\"" : "\"v\"");
	}
	show_free("DEL (clean up)",
	          redisCommand(c, "DEL %s %b %s %s %s %s %s", "key with spaces", ctl, sizeof(ctl),
	                       "h", "ap", "m1", "m2", "cnt"),
	          NULL);
	redisFree(c);
	return 0;
}

/* ---- pipelines ---- */

#define PIPE_N 100

static int mode_pipeline(void)
{
	redisContext *c = connect_tcp();
	char label[64], expect[64];

	for (int i = 0; i < PIPE_N; i++) {
		stamp("append-before", i);
		if (redisAppendCommand(c, "SET pipe:%d %d", i, i * 7) != REDIS_OK) {
			fprintf(stderr, "redis-all: append %d: %s\n", i, c->errstr);
			return 2;
		}
		stamp("append-after", i);
	}
	printf("appended %d commands\n", PIPE_N);
	for (int i = 0; i < PIPE_N; i++) {
		void *r = NULL;
		stamp("reply-before", i);
		int rc = redisGetReply(c, &r);
		stamp("reply-after", i);
		snprintf(label, sizeof(label), "reply %d (rc %d)", i, rc);
		show_free(label, r, "status OK");
		usleep(1000); /* keep the replies apart in time: each span ends with its own */
	}
	/* One more round trip: the values are right. */
	show_free("GET pipe:42", redisCommand(c, "GET pipe:42"), "\"294\"");
	snprintf(expect, sizeof(expect), "\"%d\"", 99 * 7);
	show_free("GET pipe:99", redisCommand(c, "GET pipe:99"), expect);
	redisFree(c);
	return 0;
}

static int mode_pipeline_variants(void)
{
	redisContext *c = connect_tcp();
	char key[32], label[64], expect[64];

	show_free("SET pv:0..9",
	          redisCommand(c, "MSET pv:0 0 pv:1 10 pv:2 20 pv:3 30 pv:4 40 "
	                          "pv:5 50 pv:6 60 pv:7 70 pv:8 80 pv:9 90"),
	          "status OK");
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "pv:%d", i);
		const char *argv[] = {"GET", key};
		const size_t len[] = {3, strlen(key)};
		stamp("append-before", i);
		if (redisAppendCommandArgv(c, 2, argv, len) != REDIS_OK)
			return 2;
		stamp("append-after", i);
	}
	for (int i = 0; i < 10; i++) {
		stamp("append-before", 10 + i);
		if (my_append(c, "INCR pv:%d", i) != REDIS_OK)
			return 2;
		stamp("append-after", 10 + i);
	}
	for (int i = 0; i < 20; i++) {
		void *r = NULL;
		stamp("reply-before", i);
		int rc = redisGetReply(c, &r);
		stamp("reply-after", i);
		snprintf(label, sizeof(label), "reply %d (rc %d)", i, rc);
		if (i < 10)
			snprintf(expect, sizeof(expect), "\"%d\"", i * 10);
		else
			snprintf(expect, sizeof(expect), "(integer) %d", (i - 10) * 10 + 1);
		show_free(label, r, expect);
		usleep(1000);
	}
	redisFree(c);
	return 0;
}

/* ---- async ---- */

#define ASYNC_N 10

struct slot {
	int index;
	char expect[64];
};

static struct slot slots[2 * ASYNC_N + 3];
static int next_slot;   /* the slot whose reply must come next */
static int async_calls; /* callbacks run */

static void on_connect(const redisAsyncContext *ac, int status)
{
	printf("async connect: status %d\n", status);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	printf("async disconnect: status %d\n", status);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct slot *s = priv;
	char label[96];
	int i = async_calls++;

	stamp("cb-enter", s ? s->index : -1);
	/* Its own private data, in command order (replies come in the order sent). */
	const char *priv_ok = s == &slots[next_slot] ? "own privdata" : "WRONG privdata";
	if (s != &slots[next_slot])
		failures++;
	snprintf(label, sizeof(label), "async callback %d, slot %d, %s", i, s ? s->index : -1,
	         priv_ok);
	show(label, reply, s ? s->expect : NULL);
	next_slot++;
	stamp("cb-exit", s ? s->index : -1);
	usleep(1000);
}

static void on_last_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	on_reply(ac, reply, priv);
	redisAsyncDisconnect(ac);
}

static redisAsyncContext *async_connect(struct event_base *base)
{
	redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", port);

	if (!ac || ac->err) {
		fprintf(stderr, "redis-all: async connect: %s\n",
		        ac ? ac->errstr : "out of memory");
		exit(2);
	}
	redisLibeventAttach(ac, base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

static void set_slot(int i, const char *fmt, ...)
{
	va_list ap;

	slots[i].index = i;
	va_start(ap, fmt);
	vsnprintf(slots[i].expect, sizeof(slots[i].expect), fmt, ap);
	va_end(ap);
}

static int mode_async(void)
{
	struct event_base *base = event_base_new();
	redisAsyncContext *ac = async_connect(base);
	int n = 0, rc = 0;

	for (int i = 0; i < ASYNC_N; i++, n++) {
		set_slot(n, "status OK");
		stamp("send", n);
		rc |= redisAsyncCommand(ac, on_reply, &slots[n], "SET async:%d v%d", i, i);
		stamp("sent", n);
	}
	for (int i = 0; i < ASYNC_N; i++, n++) {
		set_slot(n, "\"v%d\"", i);
		stamp("send", n);
		rc |= redisAsyncCommand(ac, on_reply, &slots[n], "GET async:%d", i);
		stamp("sent", n);
	}
	set_slot(n, "(integer) 1");
	stamp("send", n);
	rc |= my_async(ac, on_reply, &slots[n], "INCR %s", "async:counter");
	stamp("sent", n);
	n++;
	{
		const char *argv[] = {"GET", "async:3"};
		set_slot(n, "\"v3\"");
		stamp("send", n);
		rc |= redisAsyncCommandArgv(ac, on_reply, &slots[n], 2, argv, NULL);
		stamp("sent", n);
		n++;
	}
	/* No callback: the reply is dropped by hiredis; the command still runs. */
	stamp("send-null", n);
	rc |= redisAsyncCommand(ac, NULL, NULL, "SET async:null %s", "set-without-callback");
	stamp("sent-null", n);
	set_slot(n, "\"set-without-callback\"");
	stamp("send", n);
	rc |= redisAsyncCommand(ac, on_last_reply, &slots[n], "GET async:null");
	stamp("sent", n);
	n++;
	if (rc != REDIS_OK) {
		fprintf(stderr, "redis-all: an async command was refused: %s\n", ac->errstr);
		return 2;
	}
	event_base_dispatch(base);
	stamp("loop-end", 0);
	event_base_free(base);
	printf("async: %d callbacks for %d commands with a callback\n", async_calls, n);
	if (async_calls != n)
		failures++;
	return 0;
}

static void on_error_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	show(priv, reply, NULL);
	if (strcmp(priv, "async unknown") == 0)
		redisAsyncDisconnect(ac);
}

NOINLINE int run_async_wrongtype(struct event_base *base, redisAsyncContext *ac)
{
	redisAsyncCommand(ac, on_error_reply, "async SET aw", "SET aw %s", "a-string");
	redisAsyncCommand(ac, on_error_reply, "async LPUSH aw (WRONGTYPE)", "LPUSH aw %s", "x");
	redisAsyncCommand(ac, on_error_reply, "async unknown", "NOSUCHCOMMAND %s", "arg");
	int rc = event_base_dispatch(base); /* not a tail call: this frame stays on the stack */
	printf("async-errors: event loop done (%d)\n", rc);
	return rc;
}

static int mode_async_errors(void)
{
	struct event_base *base = event_base_new();
	redisAsyncContext *ac = async_connect(base);

	run_async_wrongtype(base, ac);
	event_base_free(base);
	return 0;
}

static void on_freed_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct slot *s = priv;
	printf("async-free callback slot %d: %s, %s\n", s->index,
	       s == &slots[next_slot] ? "own privdata" : "WRONG privdata",
	       reply ? "a reply" : "no reply");
	if (s != &slots[next_slot] || reply)
		failures++;
	next_slot++;
}

static int mode_async_free(void)
{
	struct event_base *base = event_base_new();
	redisAsyncContext *ac = async_connect(base);

	for (int i = 0; i < 3; i++) {
		set_slot(i, "-");
		redisAsyncCommand(ac, on_freed_reply, &slots[i], "GET af:%d", i);
	}
	printf("async-free: 3 commands queued, freeing the context\n");
	redisAsyncFree(ac);
	event_base_free(base);
	printf("async-free: %d callbacks\n", next_slot);
	return 0;
}

/* ---- errors ---- */

NOINLINE int run_wrongtype(redisContext *c)
{
	show_free("SET wt", redisCommand(c, "SET wt %s", "a-string"), "status OK");
	show_free("LPUSH wt (WRONGTYPE)", redisCommand(c, "LPUSH wt %s", "x"),
	          "error WRONGTYPE Operation against a key holding the wrong kind of value");
	return 0;
}

NOINLINE int run_unknown_command(redisContext *c)
{
	redisReply *r = redisCommand(c, "NOSUCHCOMMAND %s %s", "a", "b");
	/* The message lists the arguments: print only its start. */
	int ok =
	    r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ERR unknown command", 19) == 0;
	printf("NOSUCHCOMMAND a b: %s\n", ok ? "error ERR unknown command..." : "UNEXPECTED");
	if (!ok)
		failures++;
	if (r)
		freeReplyObject(r);
	return 0;
}

NOINLINE int run_bad_auth(redisContext *c)
{
	show_free("AUTH user pass (WRONGPASS)", redisCommand(c, "AUTH %s %s", "someone", "secret"),
	          "error WRONGPASS invalid username-password pair or user is disabled.");
	return 0;
}

static int mode_errors(void)
{
	redisContext *c = connect_tcp();

	run_wrongtype(c);
	run_unknown_command(c);
	run_bad_auth(c);
	show_free("GET wt (after the errors)", redisCommand(c, "GET wt"), "\"a-string\"");
	redisFree(c);
	return 0;
}

/* ---- SELECT ---- */

static int mode_select(void)
{
	redisContext *c = connect_tcp(), *other = connect_tcp();

	show_free("SET s0 (db 0)", redisCommand(c, "SET s0 zero"), "status OK");
	show_free("SELECT 3", redisCommand(c, "SELECT 3"), "status OK");
	show_free("SET s3 (db 3)", redisCommand(c, "SET s3 three"), "status OK");
	show_free("GET s3 (db 3)", redisCommand(c, "GET s3"), "\"three\"");
	show_free("GET s0 (db 3)", redisCommand(c, "GET s0"), "(nil)");
	show_free("SELECT 99 (fails)", redisCommand(c, "SELECT 99"),
	          "error ERR DB index is out of range");
	show_free("GET s3 (still db 3)", redisCommand(c, "GET s3"), "\"three\"");
	show_free("other connection: GET s0 (db 0)", redisCommand(other, "GET s0"), "\"zero\"");
	redisFree(other);
	redisFree(c);
	return 0;
}

/* ---- Unix socket ---- */

static int mode_unix(void)
{
	redisContext *c = redisConnectUnix(sock_path);

	if (!c || c->err) {
		fprintf(stderr, "redis-all: connect %s: %s\n", sock_path, c ? c->errstr : "oom");
		return 2;
	}
	show_free("SET u (unix)", redisCommand(c, "SET u %s", "over-unix"), "status OK");
	show_free("GET u (unix)", redisCommand(c, "GET u"), "\"over-unix\"");
	redisFree(c);
	return 0;
}

/* ---- failed connections ---- */

NOINLINE int run_refused(void)
{
	redisContext *c = redisConnect("127.0.0.1", port);

	if (!c) {
		printf("connect 127.0.0.1: out of memory\n");
		return 1;
	}
	printf("connect 127.0.0.1 (nothing listening): err %d, %s\n", c->err, c->errstr);
	if (!c->err)
		failures++;
	redisFree(c);
	return 0;
}

NOINLINE int run_no_socket(void)
{
	redisContext *c = redisConnectUnix(sock_path);

	if (!c) {
		printf("connect unix: out of memory\n");
		return 1;
	}
	printf("connect unix (no such socket): err %d, %s\n", c->err, c->errstr);
	if (!c->err)
		failures++;
	redisFree(c);
	return 0;
}

static int mode_refused(void)
{
	run_refused();
	if (sock_path)
		run_no_socket();
	return 0;
}

/* ---- redisFree with replies pending ---- */

static int mode_pending_at_free(void)
{
	redisContext *c = connect_tcp();
	int done = 0;

	redisAppendCommand(c, "SET pf:1 %s", "a");
	redisAppendCommand(c, "GET pf:1");
	redisAppendCommand(c, "INCR pf:n");
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK) {
			fprintf(stderr, "redis-all: write: %s\n", c->errstr);
			return 2;
		}
	printf("pending-at-free: 3 commands sent, freeing the context without reading\n");
	redisFree(c);
	/* The commands ran: check on a fresh connection (one more span, a GET). */
	usleep(50000);
	c = connect_tcp();
	show_free("GET pf:1 (new connection)", redisCommand(c, "GET pf:1"), "\"a\"");
	redisFree(c);
	return 0;
}

/* ---- MULTI / EXEC ---- */

static int mode_multi(void)
{
	redisContext *c = connect_tcp();

	show_free("MULTI", redisCommand(c, "MULTI"), "status OK");
	show_free("SET m1 (queued)", redisCommand(c, "SET m1 %s", "one"), "status QUEUED");
	show_free("INCR m2 (queued)", redisCommand(c, "INCR m2"), "status QUEUED");
	show_free("EXEC", redisCommand(c, "EXEC"), "[status OK, (integer) 1]");
	show_free("MULTI", redisCommand(c, "MULTI"), "status OK");
	redisReply *r = redisCommand(c, "NOSUCHCOMMAND");
	int ok =
	    r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ERR unknown command", 19) == 0;
	printf("NOSUCHCOMMAND (in MULTI): %s\n",
	       ok ? "error ERR unknown command..." : "UNEXPECTED");
	if (!ok)
		failures++;
	if (r)
		freeReplyObject(r);
	show_free("EXEC (EXECABORT)", redisCommand(c, "EXEC"),
	          "error EXECABORT Transaction discarded because of previous errors.");
	redisFree(c);
	return 0;
}

/* ---- errors in a pipeline ---- */

NOINLINE int run_pipeline_errors(redisContext *c)
{
	static const char *const expect[] = {
	    "status OK",
	    "error WRONGTYPE Operation against a key holding the wrong kind of value",
	    "\"a-string\"",
	    "error ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ",
	};
	char label[64];

	redisAppendCommand(c, "SET pe %s", "a-string");
	redisAppendCommand(c, "LPUSH pe %s", "x");
	redisAppendCommand(c, "GET pe");
	redisAppendCommand(c, "NOSUCHCOMMAND");
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		int rc = redisGetReply(c, &r);
		snprintf(label, sizeof(label), "pipelined reply %d (rc %d)", i, rc);
		show_free(label, r, expect[i]);
	}
	return 0;
}

static int mode_pipeline_errors(void)
{
	redisContext *c = connect_tcp();

	run_pipeline_errors(c);
	redisFree(c);
	return 0;
}

/* ---- the server closes the connection ---- */

NOINLINE int run_after_quit(redisContext *c)
{
	redisReply *r = redisCommand(c, "GET %s", "after-quit");

	printf("GET after QUIT: %s, err %d, %s\n", r ? "a reply" : "no reply", c->err, c->errstr);
	if (r || c->err != REDIS_ERR_EOF)
		failures++;
	if (r)
		freeReplyObject(r);
	return 0;
}

static int mode_closed(void)
{
	redisContext *c = connect_tcp();

	show_free("QUIT", redisCommand(c, "QUIT"), "status OK");
	usleep(100000); /* the server's FIN is in: the next read sees EOF */
	run_after_quit(c);
	redisFree(c);
	return 0;
}

/* ---- subscribe mode (untraced) ---- */

static redisContext *publisher;
static int sub_calls, published;

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
	char label[64];

	snprintf(label, sizeof(label), "subscriber callback %d, %s", sub_calls++,
	         priv == &slots[0] ? "own privdata" : "WRONG privdata");
	if (priv != &slots[0])
		failures++;
	show(label, reply, NULL);
	if (!reply)
		return; /* the context is going away */
	if (published < 3) {
		char msg[16];
		snprintf(msg, sizeof(msg), "m%d", ++published);
		show_free("PUBLISH", redisCommand(publisher, "PUBLISH %s %s", "chan", msg),
		          "(integer) 1");
	} else {
		redisAsyncDisconnect(ac);
	}
}

static int mode_subscribe(void)
{
	struct event_base *base = event_base_new();
	redisAsyncContext *ac = async_connect(base);

	publisher = connect_tcp();
	set_slot(0, "-");
	redisAsyncCommand(ac, on_message, &slots[0], "SUBSCRIBE %s", "chan");
	event_base_dispatch(base);
	event_base_free(base);
	redisFree(publisher);
	printf("subscribe: %d callbacks, %d published\n", sub_calls, published);
	return 0;
}

/* ---- asynchronous connect to nothing ---- */

static void on_failed_connect(const redisAsyncContext *ac, int status)
{
	printf("async connect: status %d, %s\n", status, ac->errstr ? ac->errstr : "");
}

NOINLINE int run_async_refused(struct event_base *base)
{
	redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", port);

	if (!ac) {
		printf("async connect: out of memory\n");
		return 1;
	}
	if (ac->err) {
		/* Loopback: the refusal is known at once. */
		printf("async connect (nothing listening): err %d, %s\n", ac->err, ac->errstr);
		redisAsyncFree(ac);
		return 0;
	}
	redisLibeventAttach(ac, base);
	redisAsyncSetConnectCallback(ac, on_failed_connect);
	int rc = event_base_dispatch(base);
	printf("async connect: event loop done (%d)\n", rc);
	return rc;
}

static int mode_async_refused(void)
{
	struct event_base *base = event_base_new();

	run_async_refused(base);
	event_base_free(base);
	return 0;
}

/* ---- main ---- */

static const struct {
	const char *name;
	int (*fn)(void);
} modes[] = {
    {"sync", mode_sync},
    {"shapes", mode_shapes},
    {"pipeline", mode_pipeline},
    {"pipeline-variants", mode_pipeline_variants},
    {"async", mode_async},
    {"async-errors", mode_async_errors},
    {"async-free", mode_async_free},
    {"errors", mode_errors},
    {"select", mode_select},
    {"unix", mode_unix},
    {"refused", mode_refused},
    {"pending-at-free", mode_pending_at_free},
    {"multi", mode_multi},
    {"pipeline-errors", mode_pipeline_errors},
    {"closed", mode_closed},
    {"subscribe", mode_subscribe},
    {"async-refused", mode_async_refused},
};

int main(int argc, char **argv)
{
	const char *st = getenv("REDIS_ALL_STAMPS");
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: redis-all MODE PORT [SOCKET]\n");
		return 2;
	}
	port = atoi(argv[2]);
	sock_path = argc > 3 ? argv[3] : NULL;
	if (st && *st && !(stamps = fopen(st, "w"))) {
		perror(st);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(argv[1], modes[i].name) == 0) {
			rc = modes[i].fn();
			if (stamps)
				fclose(stamps);
			if (rc)
				return rc;
			if (failures)
				printf("%d unexpected result(s)\n", failures);
			return failures ? 1 : 0;
		}
	}
	fprintf(stderr, "redis-all: unknown mode %s\n", argv[1]);
	return 2;
}
