/*
 * This file is private to otelpreload.
 *
 * Summaries of SQL statements kept by shape, so that a statement run again (the same text,
 * or the same text with other literal values, as pgbench or an application building SQL with
 * literals does) costs a hash lookup instead of a summary.
 *
 * DESIGN
 * ------
 * A fixed table of OTELP_SQLCACHE_SLOTS entries, the slot chosen by the key (a statement's
 * shape from otelp__sql_sanitize_shape, or a hash of its raw text from otelp__sqlcache_key;
 * both seeded per process so keys cannot be predicted from outside). Each entry is guarded by
 * its own sequence number (a seqlock): a reader copies the entry and checks the number did
 * not change; a writer that finds the entry busy simply does not store. No lock, no malloc;
 * summaries longer than OTELP_SQLCACHE_SUMMARY_MAX bytes are not kept.
 */
#ifndef OTELP_SQLCACHE_H
#define OTELP_SQLCACHE_H

#include <stddef.h>
#include <stdint.h>

#define OTELP_SQLCACHE_SLOTS       512
#define OTELP_SQLCACHE_SUMMARY_MAX 111

/* The seed for shapes (otelp__sql_sanitize_shape). */
uint64_t otelp__sqlcache_seed(void);

/* A key for raw text (never 0). */
uint64_t otelp__sqlcache_key(const char *q, size_t n);

/*
 * The summary of q[0..n) into out (cap bytes), as otelp__sql_summary: taken from the table
 * when key is there, else computed and stored. key 0: computed, not stored.
 */
size_t otelp__sql_summary_cached(uint64_t key, const char *q, size_t n, char *out, size_t cap);

#endif
