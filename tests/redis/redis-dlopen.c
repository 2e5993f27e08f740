/*
 * A program that is not linked with hiredis: it loads libhiredis.so.0.14 with
 * dlopen(RTLD_NOW | RTLD_LOCAL) and calls it through dlsym pointers (SET then GET), as
 * plugins and language runtimes do. Under the preload its commands must still make spans.
 *
 * Usage: redis-dlopen PORT [LIBRARY]   (LIBRARY default libhiredis.so.0.14)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parts of hiredis 0.14's ABI used here (no hiredis header: nothing links it). */
struct reply {
	int type;
	long long integer;
	size_t len;
	char *str;
	size_t elements;
	struct reply **element;
};

struct context {
	int err;
	char errstr[128];
};

typedef struct context *(*connect_fn)(const char *, int);
typedef void *(*command_fn)(struct context *, const char *, ...);
typedef void (*free_reply_fn)(void *);
typedef void (*free_fn)(struct context *);

static void *must_sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "redis-dlopen: dlsym %s: %s\n", name, dlerror());
		exit(2);
	}
	return p;
}

static int show(const char *label, struct reply *r, int type, const char *expect)
{
	int ok =
	    r && r->type == type && r->len == strlen(expect) && memcmp(r->str, expect, r->len) == 0;

	if (r)
		printf("%s: type %d \"%.*s\"%s\n", label, r->type, (int)r->len,
		       r->str ? r->str : "", ok ? "" : "  UNEXPECTED");
	else
		printf("%s: no reply  UNEXPECTED\n", label);
	return ok;
}

int main(int argc, char **argv)
{
	const char *lib = argc > 2 ? argv[2] : "libhiredis.so.0.14";
	int port, ok = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: redis-dlopen PORT [LIBRARY]\n");
		return 2;
	}
	port = atoi(argv[1]);
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "redis-dlopen: dlopen %s: %s\n", lib, dlerror());
		return 2;
	}
	connect_fn connect = (connect_fn)must_sym(h, "redisConnect");
	command_fn command = (command_fn)must_sym(h, "redisCommand");
	free_reply_fn free_reply = (free_reply_fn)must_sym(h, "freeReplyObject");
	free_fn free_ctx = (free_fn)must_sym(h, "redisFree");

	struct context *c = connect("127.0.0.1", port);
	if (!c || c->err) {
		fprintf(stderr, "redis-dlopen: connect: %s\n", c ? c->errstr : "out of memory");
		return 2;
	}
	struct reply *r = command(c, "SET %s %s", "dl:key", "dl-value");
	ok &= show("SET dl:key", r, 5 /* REDIS_REPLY_STATUS */, "OK");
	if (r)
		free_reply(r);
	r = command(c, "GET %s", "dl:key");
	ok &= show("GET dl:key", r, 1 /* REDIS_REPLY_STRING */, "dl-value");
	if (r)
		free_reply(r);
	free_ctx(c);
	dlclose(h);
	return ok ? 0 : 1;
}
