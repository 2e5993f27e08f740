/* Test host linked with libearly (whose constructor calls hooked functions early). */
#include <stdio.h>

#include "otelpreload.h"

void early_marker(void);

int main(void)
{
	early_marker();
	uint64_t s = otelp_span_start("from-main", OTELP_SPAN_KIND_INTERNAL);
	otelp_span_end(s);
	printf("ok\n");
	return 0;
}
