/*
 * This file is private to otelpreload.
 *
 * Batch span processor and the exporter thread.
 *
 * DESIGN
 * ------
 * Producers (any thread ending a sampled span) push a span pointer into a bounded lock-free
 * multi-producer ring (Vyukov). A full queue drops the span and counts it: the producer never
 * blocks. When the queue reaches the export batch size, the producer wakes the exporter with a
 * futex (one syscall, only when the exporter sleeps). The exporter thread starts lazily at the
 * first finished span, with every signal blocked and our reentrancy guard held for good (its
 * own traffic is never traced). It wakes at least every OTEL_BSP_SCHEDULE_DELAY, takes up to
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans, encodes them, exports them (one export at a time) and
 * gives the span objects back to the pool.
 *
 * Flush requests (public API, exit, fatal signal) are sequence numbers: the requester bumps
 * flush_req and waits (bounded) until the exporter publishes flush_done >= its number.
 */
#ifndef OTELP_BSP_H
#define OTELP_BSP_H

#include <stdbool.h>
#include <stdint.h>

#include "span.h"

/* Size the queue from the configuration; 0 or -errno. Called once at init. */
int otelp__bsp_init(void);
/* Hand a finished, sampled span over. Never blocks; drops and counts when full. */
void otelp__bsp_enqueue(struct otelp_span *s);
/*
 * Export everything queued so far; wait at most timeout_ms. Returns true when done in time.
 * Safe to call from any thread but the exporter's; async-signal-safe (futex only) when
 * from_signal is true (then it never starts the thread).
 */
bool otelp__bsp_flush(uint32_t timeout_ms, bool from_signal);
/* Exit: final flush bounded by timeout_ms, then the exporter stops exporting. */
void otelp__bsp_shutdown(uint32_t timeout_ms);
/* fork child: drop the queue (counted) and the exporter state; restart lazily. */
void otelp__bsp_after_fork_child(void);
/* Spans currently queued (approximate). */
uint32_t otelp__bsp_queued(void);
/*
 * Unit tests only: replace the export step (encode + send) by fn, to observe batching.
 * fn runs on the exporter thread. NULL restores the real exporter.
 */
void otelp__bsp_set_export_hook(void (*fn)(struct otelp_span **spans, size_t n));

/* Is the calling thread the exporter? */
bool otelp__bsp_is_exporter_thread(void);

#endif
