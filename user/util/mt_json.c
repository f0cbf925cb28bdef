// SPDX-License-Identifier: BSD-2-Clause
/*
 * The streaming JSON writer. need_comma[d] says whether the next item at
 * depth d needs a ", " first; a key clears it so its value does not.
 * Errors are sticky: after the first one nothing more is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_json.h"

void mt_json_init(struct mt_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void set_err(struct mt_json *j, int err)
{
	if (!j->err)
		j->err = err;
}

static void put(struct mt_json *j, const char *s, size_t n)
{
	if (j->err)
		return;
	if (n && fwrite(s, 1, n, j->f) != n)
		set_err(j, errno ? -errno : -EIO);
}

static void puts_(struct mt_json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Before any value, key, or container: the separator it needs. */
static void sep(struct mt_json *j)
{
	if (j->need_comma[j->depth])
		puts_(j, ", ");
	j->need_comma[j->depth] = true;
}

static void begin(struct mt_json *j, const char *open)
{
	sep(j);
	if (j->depth + 1 >= MT_JSON_MAX_DEPTH) {
		set_err(j, -E2BIG);
		return;
	}
	puts_(j, open);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void end(struct mt_json *j, const char *close)
{
	if (j->depth == 0) {
		set_err(j, -EINVAL);
		return;
	}
	j->depth--;
	puts_(j, close);
}

void mt_json_obj_begin(struct mt_json *j) { begin(j, "{"); }
void mt_json_obj_end(struct mt_json *j) { end(j, "}"); }
void mt_json_arr_begin(struct mt_json *j) { begin(j, "["); }
void mt_json_arr_end(struct mt_json *j) { end(j, "]"); }

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are not. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Quotes and backslashes are escaped, control characters (< 0x20) become
 * \u00XX, valid UTF-8 passes through, and each byte that is not part of a
 * valid sequence becomes U+FFFD so the document stays valid JSON whatever a
 * path or symbol contains. The NUL terminator stops utf8_len's look-ahead.
 */
static void write_string(struct mt_json *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	char esc[8];
	size_t n;

	puts_(j, "\"");
	while (*s) {
		if (*s >= 0x20 && *s != '"' && *s != '\\' && (n = utf8_len(s))) {
			s += n;
			continue;
		}
		put(j, (const char *)run, (size_t)(s - run));
		if (*s == '"')
			puts_(j, "\\\"");
		else if (*s == '\\')
			puts_(j, "\\\\");
		else if (*s < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			puts_(j, esc);
		} else {
			puts_(j, "\\ufffd");
		}
		run = ++s;
	}
	put(j, (const char *)run, (size_t)(s - run));
	puts_(j, "\"");
}

void mt_json_key(struct mt_json *j, const char *key)
{
	sep(j);
	write_string(j, key);
	puts_(j, ": ");
	j->need_comma[j->depth] = false;
}

void mt_json_str(struct mt_json *j, const char *s)
{
	if (!s) {
		mt_json_null(j);
		return;
	}
	sep(j);
	write_string(j, s);
}

void mt_json_u64(struct mt_json *j, uint64_t v)
{
	char b[24];

	sep(j);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts_(j, b);
}

void mt_json_i64(struct mt_json *j, int64_t v)
{
	char b[24];

	sep(j);
	snprintf(b, sizeof(b), "%" PRId64, v);
	puts_(j, b);
}

/*
 * The shortest of %.15g, %.16g, %.17g that reads back as the same double:
 * 0.1 prints as 0.1, 1e6 as 1000000, and nothing is lost (%.17g always
 * round-trips). Integral values below 2^53 print without exponent or point.
 * Up to three snprintf/strtod pairs per number; reports hold few of them.
 * Assumes the "C" numeric locale (the decimal point must be '.').
 */
void mt_json_double(struct mt_json *j, double v)
{
	char b[40];
	int prec;

	if (!isfinite(v)) {
		mt_json_null(j);
		return;
	}
	sep(j);
	if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
		snprintf(b, sizeof(b), "%.0f", v);
	} else {
		for (prec = 15; prec < 17; prec++) {
			snprintf(b, sizeof(b), "%.*g", prec, v);
			if (strtod(b, NULL) == v)
				break;
		}
		if (prec == 17)
			snprintf(b, sizeof(b), "%.17g", v);
	}
	puts_(j, b);
}

void mt_json_bool(struct mt_json *j, bool v)
{
	sep(j);
	puts_(j, v ? "true" : "false");
}

void mt_json_null(struct mt_json *j)
{
	sep(j);
	puts_(j, "null");
}

void mt_json_hex(struct mt_json *j, uint64_t v)
{
	char b[24];

	sep(j);
	snprintf(b, sizeof(b), "\"0x%" PRIx64 "\"", v);
	puts_(j, b);
}

int mt_json_finish(struct mt_json *j)
{
	if (j->depth != 0)
		set_err(j, -EINVAL);
	puts_(j, "\n");
	errno = 0;
	if (fflush(j->f) != 0 || ferror(j->f))
		set_err(j, errno ? -errno : -EIO);
	return j->err;
}

void mt_json_key_u64(struct mt_json *j, const char *key, uint64_t v)
{
	mt_json_key(j, key);
	mt_json_u64(j, v);
}

void mt_json_key_double(struct mt_json *j, const char *key, double v)
{
	mt_json_key(j, key);
	mt_json_double(j, v);
}

void mt_json_key_str(struct mt_json *j, const char *key, const char *s)
{
	mt_json_key(j, key);
	mt_json_str(j, s);
}

void mt_json_key_u64_or_null(struct mt_json *j, const char *key, bool have, uint64_t v)
{
	mt_json_key(j, key);
	if (have)
		mt_json_u64(j, v);
	else
		mt_json_null(j);
}

void mt_json_key_double_or_null(struct mt_json *j, const char *key, bool have, double v)
{
	mt_json_key(j, key);
	if (have)
		mt_json_double(j, v);
	else
		mt_json_null(j);
}
