/*
 * What the propagation fuzz targets share: exact-size copies (so that ASan reports a read past
 * the end of any value) and the split of an input into header fields.
 */
#ifndef OTELP_FUZZ_HEADERS_H
#define OTELP_FUZZ_HEADERS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "propagation.h"

#define MAX_HEADERS 24

static char *copy_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	if (n)
		memcpy(p, s, n);
	return p;
}

struct lines {
	struct otelp_header h[MAX_HEADERS];
	size_t n;
};

/*
 * Split "name: value\n..." into exact-size copies; a line without ':' is a name alone. With
 * empty_absent, an empty line's value is NULL (an absent value) instead of an empty copy.
 */
static void split_headers(const char *s, size_t size, struct lines *out, bool empty_absent)
{
	size_t i = 0;

	out->n = 0;
	while (i < size && out->n < MAX_HEADERS) {
		const char *line = s + i;
		const char *nl = memchr(line, '\n', size - i);
		size_t len = nl ? (size_t)(nl - line) : size - i;
		const char *colon = memchr(line, ':', len);
		size_t name_len = colon ? (size_t)(colon - line) : len;
		struct otelp_header *h = &out->h[out->n++];

		h->name = copy_exact(line, name_len);
		h->name_len = name_len;
		h->value_len = colon ? len - name_len - 1 : 0;
		h->value = (colon || len || !empty_absent)
		               ? copy_exact(colon ? colon + 1 : line, h->value_len)
		               : NULL;
		i += len + 1;
	}
}

static void free_headers(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((void *)l->h[i].name);
		free((void *)l->h[i].value);
	}
	l->n = 0;
}

#endif
