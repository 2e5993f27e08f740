/* Spans: ids, attributes and limits, events, links, status, pool, handles, context stack. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrset.h"
#include "bsp.h"
#include "config.h"
#include "log.h"
#include "span.h"

static void setup(void)
{
	otelp__config_defaults(&otelp__cfg);
	otelp__cfg.exporter = OTELP_EXPORTER_NONE; /* ended spans go back to the pool */
	otelp__pid_refresh();
	ck_assert_int_eq(otelp__pool_init(64), 0);
}

static struct otelp_span *start(const char *name, const struct otelp_ctx *parent)
{
	return otelp__span_start(name, strlen(name), OTELP_KIND_INTERNAL, parent, NULL, 0, 0);
}

static const struct otelp_attr *find_attr(const struct otelp_span *s, uint8_t owner,
                                          const char *key)
{
	for (unsigned i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].owner == owner && s->attrs[i].key.len == strlen(key) &&
		    !memcmp(otelp__sref_ptr(s, s->attrs[i].key), key, strlen(key)))
			return &s->attrs[i];
	return NULL;
}

static bool sref_is(const struct otelp_span *s, struct otelp_sref r, const char *want)
{
	return r.len == strlen(want) && !memcmp(otelp__sref_ptr(s, r), want, r.len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(ids_unique_and_valid)
{
	enum { N = 100000 };
	uint64_t *ids = malloc(N * sizeof(*ids));
	for (int i = 0; i < N; i++) {
		uint8_t b[8];
		otelp__ids_span(b);
		ck_assert(!otelp__all_zero(b, 8));
		memcpy(&ids[i], b, 8);
	}
	qsort(ids, N, sizeof(*ids), cmp_u64);
	for (int i = 1; i < N; i++)
		ck_assert(ids[i] != ids[i - 1]);
	free(ids);
	uint8_t t1[16], t2[16];
	otelp__ids_trace(t1);
	otelp__ids_trace(t2);
	ck_assert(memcmp(t1, t2, 16) != 0);
}
END_TEST

START_TEST(ids_differ_after_fork)
{
	/* The child's generator must not replay the parent's sequence. */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	uint8_t first[8];
	otelp__ids_span(first); /* seed this thread */
	pid_t pid = fork();
	if (pid == 0) {
		otelp__ids_after_fork();
		uint8_t c[8];
		otelp__ids_span(c);
		ck_assert_int_eq(write(p[1], c, 8), 8);
		_exit(0);
	}
	uint8_t mine[8], theirs[8];
	otelp__ids_span(mine);
	ck_assert_int_eq(read(p[0], theirs, 8), 8);
	ck_assert(memcmp(mine, theirs, 8) != 0);
}
END_TEST

START_TEST(root_and_child)
{
	struct otelp_span *root = start("root", NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert(!root->has_parent);
	ck_assert(root->recording);
	ck_assert_int_eq(root->flags, OTELP_TRACE_FLAG_SAMPLED | OTELP_TRACE_FLAG_RANDOM);
	ck_assert(sref_is(root, root->name, "root"));
	struct otelp_ctx c;
	otelp__span_ctx(root, &c);
	struct otelp_span *child = start("child", &c);
	ck_assert(child->has_parent);
	ck_assert(!child->parent_remote);
	ck_assert(!memcmp(child->trace_id, root->trace_id, 16));
	ck_assert(!memcmp(child->parent_span_id, root->span_id, 8));
	ck_assert(memcmp(child->span_id, root->span_id, 8) != 0);
	ck_assert_uint_ge(child->start_ns, root->start_ns);
	otelp__span_end(child, 0);
	otelp__span_end(root, 0);
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
}
END_TEST

/* A batch given back at once: the array is cleared, every span is free again, in order. */
START_TEST(pool_put_many)
{
	struct otelp_span *v[5], *keep[5];
	uint32_t used = otelp__pool_in_use();

	for (int i = 0; i < 5; i++) {
		v[i] = keep[i] = otelp__pool_get();
		ck_assert_ptr_nonnull(v[i]);
	}
	ck_assert_uint_eq(otelp__pool_in_use(), used + 5);
	otelp__pool_put_many(v, 0);
	ck_assert_ptr_eq(v[0], keep[0]);
	otelp__pool_put_many(v, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_null(v[i]);
	ck_assert_uint_eq(otelp__pool_in_use(), used);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(otelp__pool_get(), keep[i]);
	for (int i = 0; i < 5; i++)
		otelp__pool_put(keep[i]);
	ck_assert_uint_eq(otelp__pool_in_use(), used);
}
END_TEST

START_TEST(remote_parent_keeps_random_flag)
{
	struct otelp_ctx p;
	memset(&p, 0, sizeof(p));
	p.valid = p.remote = true;
	memset(p.trace_id, 0xab, 16);
	memset(p.span_id, 0xcd, 8);
	p.flags = OTELP_TRACE_FLAG_SAMPLED; /* no random flag: it must stay unset */
	const char ts[] = "vendor=value";
	struct otelp_span *s =
	    otelp__span_start("srv", 3, OTELP_KIND_SERVER, &p, ts, strlen(ts), 0);
	ck_assert(s->parent_remote);
	ck_assert_int_eq(s->flags, OTELP_TRACE_FLAG_SAMPLED);
	ck_assert(sref_is(s, s->tracestate, ts));
	otelp__span_end(s, 0);
	/* Unsampled remote parent: parent-based default drops, context still valid. */
	p.flags = 0;
	s = otelp__span_start("srv", 3, OTELP_KIND_SERVER, &p, NULL, 0, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert(!s->recording);
	ck_assert_int_eq(s->flags & OTELP_TRACE_FLAG_SAMPLED, 0);
	otelp__span_set_int(s, "ignored", 1);
	ck_assert_int_eq(s->n_attrs, 0);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(attributes_replace_and_types)
{
	struct otelp_span *s = start("a", NULL);
	otelp__span_set_str(s, "k", "v1", 2);
	otelp__span_set_str(s, "k", "value2", 6); /* keys unique: replaced */
	otelp__span_set_int(s, "i", -5);
	otelp__span_set_double(s, "d", 2.5);
	otelp__span_set_bool(s, "b", true);
	ck_assert_int_eq(s->n_span_attrs, 4);
	const struct otelp_attr *a = find_attr(s, OTELP_OWNER_SPAN, "k");
	ck_assert_int_eq(a->type, OTELP_ATTR_STRING);
	ck_assert(sref_is(s, a->v.s, "value2"));
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "i")->v.i, -5);
	ck_assert(find_attr(s, OTELP_OWNER_SPAN, "d")->v.d == 2.5);
	ck_assert(find_attr(s, OTELP_OWNER_SPAN, "b")->v.b);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(attribute_count_limit)
{
	otelp__cfg.limits.attr_count = 3;
	struct otelp_span *s = start("a", NULL);
	char key[16];
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		otelp__span_set_int(s, key, i);
	}
	ck_assert_int_eq(s->n_span_attrs, 3);
	ck_assert_uint_eq(s->dropped_attrs, 7);
	/* The first ones are kept; replacing a kept key is not a drop. */
	ck_assert_ptr_nonnull(find_attr(s, OTELP_OWNER_SPAN, "k0"));
	otelp__span_set_int(s, "k0", 100);
	ck_assert_uint_eq(s->dropped_attrs, 7);
	otelp__span_end(s, 0);
	/* Inline capacity bounds an unlimited configuration. */
	otelp__cfg.limits.attr_count = UINT32_MAX;
	s = start("b", NULL);
	for (int i = 0; i < OTELP_SPAN_ATTRS_MAX + 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		otelp__span_set_int(s, key, i);
	}
	ck_assert_int_eq(s->n_span_attrs, OTELP_SPAN_ATTRS_MAX);
	ck_assert_uint_eq(s->dropped_attrs, 5);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(value_length_limit_utf8)
{
	otelp__cfg.limits.attr_value_length = 3;
	struct otelp_span *s = start("a", NULL);
	otelp__span_set_str(s, "ascii", "abcdef", 6);
	otelp__span_set_str(s, "utf8", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8); /* 4 x e-acute */
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "ascii")->v.s, "abc"));
	ck_assert(
	    sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "utf8")->v.s, "\xc3\xa9\xc3\xa9\xc3\xa9"));
	otelp__span_set_int(s, "n", 123456789); /* other types are never truncated */
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "n")->v.i, 123456789);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(arena_full_truncates_on_char_boundary)
{
	struct otelp_span *s = start("a", NULL);
	char big[OTELP_SPAN_ARENA + 100];
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	otelp__span_set_str(s, "big", big, sizeof(big));
	const struct otelp_attr *a = find_attr(s, OTELP_OWNER_SPAN, "big");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->v.s.len % 2, 0); /* never half a character */
	ck_assert_uint_le(s->arena_used, OTELP_SPAN_ARENA);
	otelp__span_set_str(s, "more", "x", 1); /* no room for the key: dropped, counted */
	ck_assert_uint_eq(s->dropped_attrs, 1);
	otelp__span_end(s, 0);
}
END_TEST

/* The elements of a string-array attribute joined with '|' into out (for comparisons). */
static const char *arr_str(const struct otelp_span *s, const struct otelp_attr *a, char *out,
                           size_t cap)
{
	struct otelp_strarr_iter it;
	const char *p;
	size_t len, n = 0, count = 0;

	ck_assert_int_eq(a->type, OTELP_ATTR_STRING_ARRAY);
	out[0] = '\0';
	otelp__strarr_begin(s, a, &it);
	while (otelp__strarr_next(&it, &p, &len)) {
		ck_assert_ptr_null(memchr(p, '\0', len));
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", count ? "|" : "", (int)len, p);
		ck_assert_uint_lt(n, cap);
		count++;
	}
	ck_assert_uint_eq(count, a->v.arr.n);
	return out;
}

static const char *span_arr(const struct otelp_span *s, const char *key, char *out, size_t cap)
{
	const struct otelp_attr *a = find_attr(s, OTELP_OWNER_SPAN, key);

	ck_assert_ptr_nonnull(a);
	return arr_str(s, a, out, cap);
}

START_TEST(string_array_basics)
{
	static const char *const three[] = {"text/html", "", "application/json"};
	static const size_t three_len[] = {9, 0, 16};
	static const char *const with_nul[] = {"ab\0cd", NULL, "x"};
	static const size_t with_nul_len[] = {5, 3, 1};
	static const char *const one_empty[] = {""};
	char buf[256];
	struct otelp_span *s = start("a", NULL);
	const struct otelp_attr *a;

	otelp__span_set_str_array(s, "http.request.header.accept", three, three_len, 3);
	a = find_attr(s, OTELP_OWNER_SPAN, "http.request.header.accept");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->v.arr.n, 3);
	ck_assert_uint_eq(a->v.arr.s.len, 27);
	ck_assert(!memcmp(otelp__sref_ptr(s, a->v.arr.s), "text/html\0\0application/json", 27));
	ck_assert_str_eq(arr_str(s, a, buf, sizeof(buf)), "text/html||application/json");

	/* An element ends at its first NUL; a NULL element is ""; lens NULL: strlen. */
	otelp__span_set_str_array(s, "nul", with_nul, with_nul_len, 3);
	ck_assert_str_eq(span_arr(s, "nul", buf, sizeof(buf)), "ab||x");
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "nul")->v.arr.n, 3);
	otelp__span_set_str_array(s, "strlen", three, NULL, 3);
	ck_assert_str_eq(span_arr(s, "strlen", buf, sizeof(buf)), "text/html||application/json");

	/* [] and [""] are different values with the same (empty) bytes. */
	otelp__span_set_str_array(s, "none", three, three_len, 0);
	a = find_attr(s, OTELP_OWNER_SPAN, "none");
	ck_assert_int_eq(a->type, OTELP_ATTR_STRING_ARRAY);
	ck_assert_int_eq(a->v.arr.n, 0);
	ck_assert_uint_eq(a->v.arr.s.len, 0);
	ck_assert_str_eq(arr_str(s, a, buf, sizeof(buf)), "");
	otelp__span_set_str_array(s, "null-vals", NULL, NULL, 5);
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "null-vals")->v.arr.n, 0);
	otelp__span_set_str_array(s, "one-empty", one_empty, NULL, 1);
	a = find_attr(s, OTELP_OWNER_SPAN, "one-empty");
	ck_assert_int_eq(a->v.arr.n, 1);
	ck_assert_uint_eq(a->v.arr.s.len, 0);
	ck_assert_str_eq(arr_str(s, a, buf, sizeof(buf)), "");
	ck_assert_int_eq(s->n_span_attrs, 6);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(string_array_replace_and_limits)
{
	static const char *const vals[] = {"abcdef", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "xy"};
	static const char *const one[] = {"v"};
	char buf[256];
	struct otelp_span *s;

	otelp__cfg.limits.attr_count = 2;
	otelp__cfg.limits.attr_value_length = 3;
	s = start("a", NULL);
	/* The value-length limit applies to each element, in characters. */
	otelp__span_set_str_array(s, "k", vals, NULL, 3);
	ck_assert_str_eq(span_arr(s, "k", buf, sizeof(buf)), "abc|\xc3\xa9\xc3\xa9\xc3\xa9|xy");
	/* Replacing, whatever the old type, is not a new attribute. */
	otelp__span_set_str(s, "j", "str", 3);
	otelp__span_set_str_array(s, "j", one, NULL, 1);
	ck_assert_str_eq(span_arr(s, "j", buf, sizeof(buf)), "v");
	otelp__span_set_str_array(s, "k", one, NULL, 1);
	ck_assert_str_eq(span_arr(s, "k", buf, sizeof(buf)), "v");
	otelp__span_set_int(s, "k", 7);
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "k")->type, OTELP_ATTR_INT);
	ck_assert_int_eq(s->n_span_attrs, 2);
	ck_assert_uint_eq(s->dropped_attrs, 0);
	/* Over the count limit: dropped and counted like any attribute. */
	otelp__span_set_str_array(s, "third", one, NULL, 1);
	ck_assert_ptr_null(find_attr(s, OTELP_OWNER_SPAN, "third"));
	ck_assert_uint_eq(s->dropped_attrs, 1);
	otelp__span_end(s, 0);

	/* A span that is not recording, or has ended, takes nothing. */
	otelp__cfg.limits.attr_count = 128;
	s = start("b", NULL);
	s->recording = false;
	otelp__span_set_str_array(s, "k", one, NULL, 1);
	ck_assert_int_eq(s->n_attrs, 0);
	s->recording = true;
	otelp__span_end(s, 0); /* back in the pool, marked ended */
	otelp__span_set_str_array(s, "k", one, NULL, 1);
	ck_assert_int_eq(s->n_attrs, 0);
}
END_TEST

START_TEST(string_array_arena_full)
{
	enum { N = 400 };
	static char elem[16];
	const char *vals[N];
	struct otelp_span *s = start("a", NULL);
	const struct otelp_attr *a;
	struct otelp_strarr_iter it;
	const char *p;
	size_t len, count = 0;

	/* 400 elements of 12 bytes (4 x 3-byte characters) cannot fit in the arena. */
	for (int i = 0; i < 4; i++)
		memcpy(elem + 3 * i, "\xe2\x82\xac", 3);
	for (int i = 0; i < N; i++)
		vals[i] = elem;
	otelp__span_set_str_array(s, "big", vals, NULL, N);
	a = find_attr(s, OTELP_OWNER_SPAN, "big");
	ck_assert_ptr_nonnull(a);
	/* Full, but for less than one 3-byte character (the cut is on a character boundary). */
	ck_assert_uint_le(s->arena_used, OTELP_SPAN_ARENA);
	ck_assert_uint_ge(s->arena_used, OTELP_SPAN_ARENA - 2);
	ck_assert_uint_gt(a->v.arr.n, 1);
	ck_assert_uint_lt(a->v.arr.n, N);
	/* Whole elements, then at most one cut on a character boundary. */
	otelp__strarr_begin(s, a, &it);
	while (otelp__strarr_next(&it, &p, &len)) {
		count++;
		if (count < a->v.arr.n)
			ck_assert_uint_eq(len, 12);
		else
			ck_assert_uint_eq(len % 3, 0);
	}
	ck_assert_uint_eq(count, a->v.arr.n);
	ck_assert_uint_le((size_t)a->v.arr.s.off + a->v.arr.s.len, OTELP_SPAN_ARENA);
	otelp__span_end(s, 0);

	/* An element that exactly fills the arena leaves no room for the next one. */
	s = start("b", NULL);
	otelp__span_set_str(s, "k", "", 0);
	{
		char fill[OTELP_SPAN_ARENA];
		const char *two[2] = {fill, "next"};
		size_t lens[2] = {OTELP_SPAN_ARENA - s->arena_used - 1, 4};

		memset(fill, 'f', sizeof(fill));
		otelp__span_set_str_array(s, "a", two, lens, 2);
		a = find_attr(s, OTELP_OWNER_SPAN, "a");
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->v.arr.n, 1);
		ck_assert_uint_eq(a->v.arr.s.len, lens[0]);
		ck_assert_uint_eq(s->arena_used, OTELP_SPAN_ARENA);
	}
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(events_and_links)
{
	otelp__cfg.limits.event_count = 2;
	otelp__cfg.limits.event_attr_count = 1;
	otelp__cfg.limits.link_count = 1;
	struct otelp_span *s = start("a", NULL);
	int e0 = otelp__span_add_event(s, "e0", 123);
	ck_assert_int_eq(e0, 0);
	otelp__event_set_str(s, e0, "x", "1", 1);
	otelp__event_set_int(s, e0, "y", 2); /* over the per-event limit */
	ck_assert_int_eq(s->events[0].n_attrs, 1);
	ck_assert_uint_eq(s->events[0].dropped_attrs, 1);
	ck_assert_uint_eq(s->events[0].time_ns, 123);
	ck_assert_int_eq(otelp__span_add_event(s, "e1", 0), 1);
	ck_assert_int_eq(otelp__span_add_event(s, "e2", 0), -1);
	ck_assert_uint_eq(s->dropped_events, 1);
	/* Event attributes are not span attributes. */
	ck_assert_ptr_null(find_attr(s, OTELP_OWNER_SPAN, "x"));
	ck_assert_ptr_nonnull(find_attr(s, OTELP_OWNER_EVENT(0), "x"));
	struct otelp_ctx to;
	otelp__span_ctx(s, &to);
	to.remote = true;
	ck_assert_int_eq(otelp__span_add_link(s, &to, "a=b", 3), 0);
	ck_assert_int_eq(otelp__span_add_link(s, &to, NULL, 0), -1);
	ck_assert_uint_eq(s->dropped_links, 1);
	ck_assert(s->links[0].remote);
	ck_assert(sref_is(s, s->links[0].tracestate, "a=b"));
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(status_rules)
{
	struct otelp_span *s = start("a", NULL);
	otelp__span_set_status(s, OTELP_STATUS_ERROR, "boom", 4);
	ck_assert_int_eq(s->status, OTELP_STATUS_ERROR);
	ck_assert(sref_is(s, s->status_msg, "boom"));
	otelp__span_set_status(s, OTELP_STATUS_UNSET, NULL, 0); /* ignored */
	ck_assert_int_eq(s->status, OTELP_STATUS_ERROR);
	otelp__span_set_status(s, OTELP_STATUS_OK, "ignored", 7);
	ck_assert_int_eq(s->status, OTELP_STATUS_OK);
	ck_assert_int_eq(s->status_msg.len, 0);                   /* description only with Error */
	otelp__span_set_status(s, OTELP_STATUS_ERROR, "late", 4); /* Ok is final */
	ck_assert_int_eq(s->status, OTELP_STATUS_OK);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(pool_exhaustion_counts)
{
	struct otelp_span *held[64];
	for (int i = 0; i < 64; i++) {
		held[i] = start("x", NULL);
		ck_assert_ptr_nonnull(held[i]);
	}
	uint64_t before = atomic_load(&otelp__stats.spans_dropped_no_slot);
	ck_assert_ptr_null(start("y", NULL));
	ck_assert_uint_eq(atomic_load(&otelp__stats.spans_dropped_no_slot), before + 1);
	for (int i = 0; i < 64; i++)
		otelp__span_end(held[i], 0);
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
	/* LIFO reuse: the last one given back is taken first. */
	struct otelp_span *again = start("z", NULL);
	ck_assert_ptr_eq(again, held[63]);
	otelp__span_end(again, 0);
}
END_TEST

START_TEST(handles_reject_stale)
{
	struct otelp_span *s = start("x", NULL);
	uint64_t h = otelp__span_handle(s);
	ck_assert_ptr_eq(otelp__span_from_handle(h), s);
	otelp__span_end(s, 0);
	ck_assert_ptr_null(otelp__span_from_handle(h)); /* ended */
	struct otelp_span *t = start("y", NULL);        /* same object, new generation */
	ck_assert_ptr_eq(t, s);
	ck_assert_ptr_null(otelp__span_from_handle(h));
	ck_assert_ptr_eq(otelp__span_from_handle(otelp__span_handle(t)), t);
	ck_assert_ptr_null(otelp__span_from_handle(0));
	ck_assert_ptr_null(otelp__span_from_handle(0xffffffffull));
	otelp__span_end(t, 0);
}
END_TEST

START_TEST(context_stack)
{
	ck_assert(!otelp__ctx_current()->valid);
	struct otelp_span *a = start("a", NULL);
	struct otelp_ctx ca;
	otelp__span_ctx(a, &ca);
	ck_assert(otelp__ctx_push(&ca));
	struct otelp_span *b = start("b", otelp__ctx_current());
	struct otelp_ctx cb;
	otelp__span_ctx(b, &cb);
	otelp__ctx_push(&cb);
	ck_assert_ptr_eq(otelp__ctx_current()->span, b);
	/* Ending out of order removes the right entry. */
	otelp__span_end(a, 0);
	ck_assert_ptr_eq(otelp__ctx_current()->span, b);
	otelp__span_end(b, 0);
	ck_assert(!otelp__ctx_current()->valid);
	for (int i = 0; i < OTELP_CTX_DEPTH; i++)
		ck_assert(otelp__ctx_push(&ca));
	ck_assert(!otelp__ctx_push(&ca)); /* full: refused, never overflows */
	otelp__ctx_reset(NULL);
	ck_assert(!otelp__ctx_current()->valid);
	otelp__ctx_reset(&ca);
	ck_assert(otelp__ctx_current()->valid);
	ck_assert_ptr_null(otelp__ctx_current()->span);
	otelp__ctx_reset(NULL);
}
END_TEST

START_TEST(span_from_other_process_not_exported)
{
	otelp__cfg.exporter = OTELP_EXPORTER_OTLP;
	ck_assert_int_eq(otelp__bsp_init(), 0);
	struct otelp_span *s = start("before-fork", NULL);
	otelp__pid = getpid() + 1; /* as in a fork child */
	uint32_t queued = otelp__bsp_queued();
	otelp__span_end(s, 0);
	ck_assert_uint_eq(otelp__bsp_queued(), queued);
	ck_assert_uint_eq(otelp__pool_in_use(), 0);
	otelp__pid_refresh();
}
END_TEST

/* ---- interned attribute sets (attrset.h) ---- */

static size_t conn_kvs(struct otelp_kv *kv, const char *host, int port)
{
	kv[0] = (struct otelp_kv){.key = "db.system.name", .str = "redis", .len = 5};
	kv[1] = (struct otelp_kv){.key = "server.address", .str = host, .len = strlen(host)};
	kv[2] = (struct otelp_kv){.key = "server.port", .i = port, .is_int = true};
	return 3;
}

START_TEST(attrset_interned_once)
{
	struct otelp_kv kv[3];
	unsigned before = otelp__attrset_count();
	const struct otelp_attrset *a = otelp__attrset_get(kv, conn_kvs(kv, "cache-1", 7001));
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(otelp__attrset_count(), before + 1);
	/* The same attributes from other storage: the same set, nothing new made. */
	char host[] = "cache-1";
	ck_assert_ptr_eq(otelp__attrset_get(kv, conn_kvs(kv, host, 7001)), a);
	ck_assert_uint_eq(otelp__attrset_count(), before + 1);
	/* Any difference (value, type, count): another set. */
	const struct otelp_attrset *b = otelp__attrset_get(kv, conn_kvs(kv, "cache-1", 7002));
	const struct otelp_attrset *c = otelp__attrset_get(kv, conn_kvs(kv, "cache-2", 7001));
	const struct otelp_attrset *d = otelp__attrset_get(kv, 2);
	ck_assert(b && c && d && b != a && c != a && d != a && c != b);
	ck_assert_uint_eq(otelp__attrset_count(), before + 4);
	ck_assert_ptr_null(otelp__attrset_get(kv, 0));
	ck_assert_ptr_null(otelp__attrset_get(kv, OTELP_ATTRSET_KV_MAX + 1));
}
END_TEST

START_TEST(attrset_on_span)
{
	struct otelp_kv kv[3];
	const struct otelp_attrset *set = otelp__attrset_get(kv, conn_kvs(kv, "db-7", 6380));
	ck_assert_ptr_nonnull(set);
	struct otelp_span *s = start("GET", NULL);
	otelp__span_add_str(s, "first", "x", 1);
	otelp__span_add_set(s, set);
	otelp__span_add_str(s, "db.operation.name", "GET", 3);
	ck_assert_ptr_eq(s->set, set);
	ck_assert_uint_eq(s->set_at, 1);
	ck_assert_uint_eq(s->n_span_attrs, 5);
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "server.address")->v.s, "db-7"));
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "server.port")->v.i, 6380);
	/* No string was copied into the span for the set. */
	ck_assert_uint_eq(s->arena_used,
	                  strlen("GET") + strlen("first") + 1 + strlen("db.operation.name") + 3);
	/* A second set on the same span comes attribute by attribute. */
	const struct otelp_attrset *other = otelp__attrset_get(kv, conn_kvs(kv, "db-8", 6381));
	otelp__span_add_set(s, other);
	ck_assert_ptr_eq(s->set, set);
	ck_assert_uint_eq(s->n_span_attrs, 8);
	/* Changing one of the set's attributes detaches the set; the value is the new one. */
	otelp__span_set_str(s, "server.address", "elsewhere", 9);
	ck_assert_ptr_null(s->set);
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "server.address")->v.s, "elsewhere"));
	ck_assert_uint_eq(s->n_span_attrs, 8);
	otelp__span_end(s, 0);
	/* The next user of the pooled object starts without a set. */
	s = start("b", NULL);
	ck_assert_ptr_null(s->set);
	ck_assert_uint_eq(s->n_attrs, 0);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(attrset_limits)
{
	struct otelp_kv kv[3];
	/* The value length limit applies when the set is made. */
	otelp__cfg.limits.attr_value_length = 4;
	const struct otelp_attrset *set = otelp__attrset_get(kv, conn_kvs(kv, "long-host-name", 1));
	ck_assert_ptr_nonnull(set);
	struct otelp_span *s = start("a", NULL);
	otelp__span_add_set(s, set);
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "server.address")->v.s, "long"));
	otelp__span_end(s, 0);
	/* The count limit: what does not fit is dropped and counted, as one by one. */
	otelp__cfg.limits.attr_count = 2;
	s = start("b", NULL);
	otelp__span_add_set(s, set);
	ck_assert_ptr_null(s->set);
	ck_assert_uint_eq(s->n_span_attrs, 2);
	ck_assert_uint_eq(s->dropped_attrs, 1);
	ck_assert_ptr_nonnull(find_attr(s, OTELP_OWNER_SPAN, "db.system.name"));
	otelp__span_end(s, 0);
}
END_TEST

/* Known keys: referenced, never copied; the limits apply as to any other key. */
START_TEST(known_keys)
{
	struct otelp_span *s = start("a", NULL);
	uint16_t arena0 = s->arena_used;

	otelp__span_add_str_k(s, OTELP_KEY(URL_FULL), "http://x/", 9);
	otelp__span_add_int_k(s, OTELP_KEY(SERVER_PORT), 8080);
	ck_assert_uint_eq(s->arena_used, arena0 + 9); /* the value only */
	const struct otelp_attr *a = find_attr(s, OTELP_OWNER_SPAN, "url.full");
	ck_assert_ptr_nonnull(a);
	ck_assert(otelp__sref_is_known_key(a->key));
	ck_assert(sref_is(s, a->v.s, "http://x/"));
	a = find_attr(s, OTELP_OWNER_SPAN, "server.port");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->v.i, 8080);
	/* The two bytes before a key begin its protobuf encoding. */
	const char *k = otelp__attrset_bytes + (a->key.off & ~OTELP_SREF_GLOBAL);
	ck_assert_int_eq(k[-2], 0x0a);
	ck_assert_int_eq(k[-1], 11);
	ck_assert_mem_eq(k, "server.port", 11);
	otelp__span_end(s, 0);

	otelp__cfg.limits.attr_count = 1;
	s = start("b", NULL);
	otelp__span_add_int_k(s, OTELP_KEY(SERVER_PORT), 1);
	otelp__span_add_str_k(s, OTELP_KEY(URL_FULL), "u", 1);
	ck_assert_uint_eq(s->n_span_attrs, 1);
	ck_assert_uint_eq(s->dropped_attrs, 1);
	ck_assert_ptr_null(find_attr(s, OTELP_OWNER_SPAN, "url.full"));
	otelp__span_end(s, 0);
	/* A key made by an interned set that is a known key is the known one. */
	otelp__cfg.limits.attr_count = 128;
	struct otelp_kv kv = {.key = "server.address", .str = "known-key-host", .len = 14};
	const struct otelp_attrset *set = otelp__attrset_get(&kv, 1);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(set->attrs[0].key.off, OTELP_KEY(SERVER_ADDRESS).off);
}
END_TEST

/* Values written in place or referenced: the same rules as a copied value. */
START_TEST(room_and_ref)
{
	struct otelp_span *s = start("GET", NULL);
	char *p = otelp__span_str_room(s, 5);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "GET k", 5);
	otelp__span_add_room_k(s, OTELP_KEY(DB_QUERY_TEXT), 5);
	otelp__span_add_ref_k(s, OTELP_KEY(DB_OPERATION_NAME), s->name);
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "db.query.text")->v.s, "GET k"));
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "db.operation.name")->v.s, "GET"));
	/* No room for more than the storage has. */
	ck_assert_ptr_null(otelp__span_str_room(s, OTELP_SPAN_ARENA));
	otelp__span_end(s, 0);

	/* The value-length limit: no room over it, a reference is cut to it. */
	otelp__cfg.limits.attr_value_length = 2;
	s = start("GET", NULL);
	ck_assert_ptr_null(otelp__span_str_room(s, 3));
	ck_assert_ptr_nonnull(otelp__span_str_room(s, 2));
	otelp__span_add_ref_k(s, OTELP_KEY(DB_OPERATION_NAME), s->name);
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "db.operation.name")->v.s, "GE"));
	otelp__span_end(s, 0);

	/* The count limit: no room, and a reference is dropped and counted. */
	otelp__cfg.limits.attr_value_length = UINT32_MAX;
	otelp__cfg.limits.attr_count = 1;
	s = start("GET", NULL);
	otelp__span_add_ref_k(s, OTELP_KEY(DB_OPERATION_NAME), s->name);
	ck_assert_ptr_null(otelp__span_str_room(s, 1));
	otelp__span_add_ref_k(s, OTELP_KEY(URL_FULL), s->name);
	ck_assert_uint_eq(s->n_span_attrs, 1);
	ck_assert_uint_eq(s->dropped_attrs, 1);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(attrset_table_full)
{
	struct otelp_kv kv[3];
	char host[32];
	const struct otelp_attrset *first = NULL;
	unsigned made = otelp__attrset_count();
	uint64_t full0 = atomic_load(&otelp__stats.attrsets_full);
	for (int i = 0; made < OTELP_ATTRSET_MAX; i++) {
		snprintf(host, sizeof(host), "host-%d", i);
		const struct otelp_attrset *set = otelp__attrset_get(kv, conn_kvs(kv, host, i));
		ck_assert_ptr_nonnull(set);
		if (!first)
			first = set;
		made++;
	}
	ck_assert_uint_eq(otelp__attrset_count(), OTELP_ATTRSET_MAX);
	/* Full: a new one is refused and counted, an existing one is still found. */
	ck_assert_ptr_null(otelp__attrset_get(kv, conn_kvs(kv, "one-more", 1)));
	ck_assert_uint_eq(atomic_load(&otelp__stats.attrsets_full), full0 + 1);
	snprintf(host, sizeof(host), "host-%d", 0);
	ck_assert_ptr_eq(otelp__attrset_get(kv, conn_kvs(kv, host, 0)), first);
	/* The caller's fallback: the same attributes, copied into the span. */
	struct otelp_span *s = start("a", NULL);
	otelp__span_add_kvs(s, kv, conn_kvs(kv, "one-more", 1));
	ck_assert(sref_is(s, find_attr(s, OTELP_OWNER_SPAN, "server.address")->v.s, "one-more"));
	ck_assert_int_eq(find_attr(s, OTELP_OWNER_SPAN, "server.port")->v.i, 1);
	otelp__span_end(s, 0);
}
END_TEST

START_TEST(attrset_store_full)
{
	/* Values big enough to fill the byte store before the table. */
	static char big[3000];
	struct otelp_kv kv = {.key = "k", .str = big, .len = sizeof(big)};
	unsigned ok = 0;
	memset(big, 'v', sizeof(big));
	for (int i = 0; i < 64; i++) {
		big[0] = (char)('A' + i);
		if (otelp__attrset_get(&kv, 1))
			ok++;
	}
	ck_assert_uint_gt(ok, 2);
	ck_assert_uint_lt(ok, 64);
	/* What was made is intact. */
	big[0] = 'A';
	const struct otelp_attrset *set = otelp__attrset_get(&kv, 1);
	ck_assert_ptr_nonnull(set);
	const char *p;
	ck_assert_uint_eq(otelp__sref_get(NULL, set->attrs[0].v.s, &p), sizeof(big));
	ck_assert_int_eq(memcmp(p, big, sizeof(big)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("span");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, ids_unique_and_valid);
	tcase_add_test(tc, ids_differ_after_fork);
	tcase_add_test(tc, root_and_child);
	tcase_add_test(tc, remote_parent_keeps_random_flag);
	tcase_add_test(tc, pool_put_many);
	tcase_add_test(tc, attributes_replace_and_types);
	tcase_add_test(tc, attribute_count_limit);
	tcase_add_test(tc, value_length_limit_utf8);
	tcase_add_test(tc, arena_full_truncates_on_char_boundary);
	tcase_add_test(tc, string_array_basics);
	tcase_add_test(tc, string_array_replace_and_limits);
	tcase_add_test(tc, string_array_arena_full);
	tcase_add_test(tc, events_and_links);
	tcase_add_test(tc, status_rules);
	tcase_add_test(tc, pool_exhaustion_counts);
	tcase_add_test(tc, handles_reject_stale);
	tcase_add_test(tc, context_stack);
	tcase_add_test(tc, span_from_other_process_not_exported);
	tcase_add_test(tc, attrset_interned_once);
	tcase_add_test(tc, attrset_on_span);
	tcase_add_test(tc, attrset_limits);
	tcase_add_test(tc, attrset_table_full);
	tcase_add_test(tc, attrset_store_full);
	tcase_add_test(tc, known_keys);
	tcase_add_test(tc, room_and_ref);
	suite_add_tcase(s, tc);
	/* The attribute set table is process-wide: every test in its own process. */
	return otelp_check_run(s, true);
}
