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
 * ~20 keys per object). Memory: ~80 bytes per value plus the strings.
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

/* Object member by key (the first when repeated); NULL when v is not an
 * object or has no such key. */
const struct mt_jv *mt_jv_get(const struct mt_jv *v, const char *key);
/* Shorthands: false when absent or of another type. */
bool mt_jv_u64(const struct mt_jv *v, const char *key, uint64_t *out);
bool mt_jv_num(const struct mt_jv *v, const char *key, double *out);
const char *mt_jv_str(const struct mt_jv *v, const char *key);  /* NULL if not a string */

#endif /* MT_JSON_READ_H */
