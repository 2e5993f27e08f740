/*
 * This file is private to otelpreload.
 *
 * SQL text for database spans: the sanitized statement (every literal replaced by `?`) and
 * its summary (`SELECT orders`), as the semantic conventions define them (database spans,
 * "Sanitization of db.query.text" and "Generating a summary of the query"; their test vectors
 * are in tests/unit/test-sql.c).
 *
 * All three functions are pure: no allocation, no locks, no global state, linear time. They
 * read exactly the n bytes given (no NUL needed, NUL bytes are ordinary bytes), never past
 * them, whatever the input (unterminated quotes, comments, dollar quotes, garbage). They write
 * at most cap bytes and return the length written (no NUL is written; out may be NULL when cap
 * is 0); output that does not fit is cut: the sanitized text before an incomplete UTF-8
 * sequence, the summary only between tokens.
 */
#ifndef OTELP_SQL_H
#define OTELP_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * db.query.text for a statement sent as plain text: every literal -> ?, comments removed. The
 * result is never longer than the text, and sanitizing it again leaves it unchanged.
 */
size_t otelp__sql_sanitize(const char *q, size_t n, char *out, size_t cap);

/*
 * The same, also giving the statement's shape in *shape: a hash (starting from seed) of
 * every byte but the contents of its numeric, dollar-quoted and prefixed (E'', B'', X'', N'',
 * U&'') string literals, of which only the kind and first byte count. The summary reads none
 * of those (a plain '...' it may take as a target: its bytes count), so statements of one
 * shape have one summary (sqlcache.h keeps summaries by shape). *shape is never 0 for a
 * statement read to its end, and 0 when the output was cut (the end was not read).
 */
size_t otelp__sql_sanitize_shape(const char *q, size_t n, char *out, size_t cap, uint64_t seed,
                                 uint64_t *shape);

/*
 * db.query.summary (at most 255 bytes): `{operation} {target} ...`, e.g. `SELECT orders`; 0
 * when the text yields no operation.
 */
#define OTELP_SQL_SUMMARY_MAX 255
size_t otelp__sql_summary(const char *q, size_t n, char *out, size_t cap);

/*
 * Where a SQL commenter comment may be appended: the offset before a final `;` and the
 * whitespace around it (n when there is none). False when the statement ends inside a quoted
 * string, a quoted identifier, a dollar-quoted string or a block comment (nothing may be
 * appended); *in_line_comment tells that it ends inside a `--` comment (append a newline
 * first; the offset is then n). at and in_line_comment may be NULL.
 */
bool otelp__sql_comment_at(const char *q, size_t n, size_t *at, bool *in_line_comment);

#endif
