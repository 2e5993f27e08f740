/*
 * src/propagation.c built without its SSE2 paths (OTELP_PROP_PORTABLE), its functions renamed
 * port__*: on x86-64, where the SSE2 paths are the ones in the library, fuzz-prop-diff.c
 * compares this portable code (64-bit words and a table) with the reference as well.
 */
#define OTELP_PROP_PORTABLE 1

#define otelp__traceparent_parse  port__traceparent_parse
#define otelp__traceparent_format port__traceparent_format
#define otelp__tracestate_parse   port__tracestate_parse
#define otelp__baggage_parse      port__baggage_parse
#define otelp__b3_single_parse    port__b3_single_parse
#define otelp__b3_multi_parse     port__b3_multi_parse
#define otelp__extract            port__extract
#define otelp__inject_headers     port__inject_headers
#define otelp__header_name_is     port__header_name_is

#include "../../src/propagation.c"
