/*
 * The per-thread current context: a small stack in initial-exec TLS (no allocation, no lock,
 * safe in any thread including ones created before our constructor ran).
 *
 * Hooks parent their spans on the top entry. A span pushed by a hook or by the public API is
 * removed when it ends; removal searches from the top so that a span ended out of order does
 * not leave a stale entry behind.
 */
#include <string.h>

#include "span.h"

static OTELP_TLS struct otelp_ctx stack[OTELP_CTX_DEPTH];
static OTELP_TLS unsigned depth;

static const struct otelp_ctx none;

const struct otelp_ctx *otelp__ctx_current(void)
{
	return depth ? &stack[depth - 1] : &none;
}

bool otelp__ctx_push(const struct otelp_ctx *c)
{
	if (depth >= OTELP_CTX_DEPTH)
		return false;
	stack[depth++] = *c;
	return true;
}

void otelp__ctx_remove_span(const struct otelp_span *s)
{
	for (unsigned i = depth; i-- > 0;) {
		if (stack[i].span == s) {
			memmove(&stack[i], &stack[i + 1], (depth - i - 1) * sizeof(stack[0]));
			depth--;
			return;
		}
	}
}

bool otelp__ctx_raise(const struct otelp_ctx *c)
{
	if (c->span)
		otelp__ctx_remove_span(c->span);
	if (depth >= OTELP_CTX_DEPTH) {
		/* Full: the oldest entry makes room (event loops with many open requests). */
		memmove(&stack[0], &stack[1], (depth - 1) * sizeof(stack[0]));
		depth--;
	}
	stack[depth++] = *c;
	return true;
}

void otelp__ctx_reset(const struct otelp_ctx *c)
{
	depth = 0;
	if (c && c->valid) {
		stack[0] = *c;
		stack[0].span = NULL; /* the creator's span is not ours to dereference */
		depth = 1;
	}
}

const char *otelp__ctx_tracestate(const struct otelp_ctx *c, size_t *len)
{
	*len = 0;
	if (!c->span || c->span->tracestate.len == 0)
		return NULL;
	*len = c->span->tracestate.len;
	return otelp__sref_ptr(c->span, c->span->tracestate);
}
