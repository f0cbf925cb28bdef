/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A streaming JSON writer: it tracks nesting and commas, escapes strings,
 * and remembers the first write error so callers check once at the end.
 * Output is compact with one space after ':' and ','; keys are written in
 * the order given.
 */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MT_JSON_MAX_DEPTH 32

struct mt_json {
	FILE *f;
	int depth;
	bool need_comma[MT_JSON_MAX_DEPTH];
	int err;              /* first error as -errno, 0 if none */
};

void mt_json_init(struct mt_json *j, FILE *f);
void mt_json_obj_begin(struct mt_json *j);
void mt_json_obj_end(struct mt_json *j);
void mt_json_arr_begin(struct mt_json *j);
void mt_json_arr_end(struct mt_json *j);
void mt_json_key(struct mt_json *j, const char *key);   /* then one value */
/* Strings: '"' and '\\' escaped, bytes < 0x20 as \u00XX, valid UTF-8
 * passed through, each byte of invalid UTF-8 written as \ufffd. */
void mt_json_str(struct mt_json *j, const char *s);     /* NULL writes null */
void mt_json_u64(struct mt_json *j, uint64_t v);
void mt_json_i64(struct mt_json *j, int64_t v);
/* Integral values below 2^53 as integers ("3", not "3.0"); others with the
 * fewest of 15..17 significant digits that read back exactly (0.1 -> 0.1);
 * non-finite as null. Needs the "C" LC_NUMERIC (the default). */
void mt_json_double(struct mt_json *j, double v);
void mt_json_bool(struct mt_json *j, bool v);
void mt_json_null(struct mt_json *j);
void mt_json_hex(struct mt_json *j, uint64_t v);        /* "0x..." string */
/* A key and its value in one call. */
void mt_json_key_u64(struct mt_json *j, const char *key, uint64_t v);
void mt_json_key_double(struct mt_json *j, const char *key, double v);
void mt_json_key_str(struct mt_json *j, const char *key, const char *s);  /* NULL: null */
/* A key and its value when have, else null: a field a report always has,
 * unknown in this run. v is evaluated either way: pass 0 rather than
 * something unsafe to compute when !have. */
void mt_json_key_u64_or_null(struct mt_json *j, const char *key, bool have, uint64_t v);
void mt_json_key_double_or_null(struct mt_json *j, const char *key, bool have, double v);

/* Ends the document (newline, flush); returns j->err or the flush error.
 * Errors: -E2BIG nesting deeper than MT_JSON_MAX_DEPTH - 1, -EINVAL an
 * unbalanced end or an unfinished document, else the write's -errno. */
int mt_json_finish(struct mt_json *j);

#endif /* MT_JSON_H */
