/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small JSON reader (RFC 8259) for memtrace's own reports: a recursive-
 * descent parser building a tree. Strict: no comments, no trailing commas,
 * no leading zeros, control characters must be escaped, one value per
 * document (whitespace after it only). Errors carry line:column.
 *
 * Numbers keep both readings: a non-negative integer that fits 64 bits is
 * exact in u (is_u64); every number is also in d (a double). So counts
 * above 2^53 survive, as memtrace's writer promises.
 *
 * Limits: nesting deeper than MT_JV_MAX_DEPTH is an error (the parser
 * recurses); strings may not contain NUL (\u0000 is rejected, a C string
 * could not hold it); object keys are looked up linearly (reports have
 * ~20 keys per object). Memory: ~64 bytes per kept value plus the
 * strings; with a keep spec (mt_jv_parse_keep) only what the caller needs
 * is kept, so reading a report of a million sites costs what is kept, not
 * what the file holds.
 */
#ifndef MT_JSON_READ_H
#define MT_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_JV_MAX_DEPTH 64

enum mt_jv_type { MT_JV_NULL, MT_JV_BOOL, MT_JV_NUM, MT_JV_STR, MT_JV_ARR, MT_JV_OBJ };

struct mt_jv {
	enum mt_jv_type type;
	bool b;                 /* MT_JV_BOOL */
	bool is_u64;            /* MT_JV_NUM: u holds the exact value */
	uint64_t u;
	double d;               /* MT_JV_NUM */
	char *s;                /* MT_JV_STR, UTF-8, NUL-terminated */
	size_t n;               /* MT_JV_ARR / MT_JV_OBJ: items */
	struct mt_jv *items;
	char **keys;            /* MT_JV_OBJ: keys[i] names items[i] */
};

/* Parse len bytes of text. On success *out is the root (free with
 * mt_jv_free) and 0 is returned; on error -EINVAL (syntax: err holds
 * "line L, column C: what"), -E2BIG (nesting; err says so too) or -ENOMEM. */
int mt_jv_parse(const char *text, size_t len, struct mt_jv **out, char *err, size_t errlen);
void mt_jv_free(struct mt_jv *v);       /* accepts NULL */

/*
 * Which members of objects to keep: an array of entries ended by
 * { 0 }. An entry's sub spec applies to its value (to each element when
 * the value is an array); sub NULL keeps the whole value. Members not
 * named are parsed (syntax errors still fail the parse) and dropped,
 * unless the spec has an entry of key MT_JV_KEEP_REST: it stands for every
 * member no other entry names (a report's sections not known to the
 * reader). A NULL spec keeps everything (that is mt_jv_parse).
 *   static const struct mt_jv_keep frame[] = { { .key = "func" }, { 0 } };
 *   static const struct mt_jv_keep doc[] = { { .key = "stack", .sub = frame }, { 0 } };
 *
 * Streaming: when the member's value is an array and the entry has each,
 * every element is handed to each() as soon as it is parsed (with its
 * index and its JSON text, a slice of the input) and then released; the
 * array is kept empty. So a list of a million entries costs what each()
 * keeps of them. A non-zero return from each() ends the parse with that
 * value (each() reports its own error; err is left empty).
 */
typedef int (*mt_jv_each_fn)(void *arg, const struct mt_jv *elem, size_t index,
			     const char *text, size_t len);
#define MT_JV_KEEP_REST "*"
struct mt_jv_keep {
	const char *key;
	const struct mt_jv_keep *sub;
	mt_jv_each_fn each;
};
/* arg is passed to every each(). */
int mt_jv_parse_keep(const char *text, size_t len, const struct mt_jv_keep *keep, void *arg,
		     struct mt_jv **out, char *err, size_t errlen);

/* Object member by key (the first when repeated); NULL when v is not an
 * object or has no such key. */
const struct mt_jv *mt_jv_get(const struct mt_jv *v, const char *key);
/* Shorthands: false when absent or of another type. */
bool mt_jv_u64(const struct mt_jv *v, const char *key, uint64_t *out);
bool mt_jv_num(const struct mt_jv *v, const char *key, double *out);
const char *mt_jv_str(const struct mt_jv *v, const char *key);  /* NULL if not a string */

#endif /* MT_JSON_READ_H */
