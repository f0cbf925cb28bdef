// SPDX-License-Identifier: BSD-2-Clause
/*
 * JSON reader; see mt_json_read.h. One pass, recursion depth bounded by
 * MT_JV_MAX_DEPTH, arrays and objects grown by doubling.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_json_read.h"
#include "util/mt_grow.h"

struct parser {
	const char *p, *end, *start;
	char *err;
	size_t errlen;
	int rc;                  /* first error */
	void *arg;               /* for mt_jv_keep.each */
};

static int fail(struct parser *ps, int rc, const char *fmt, ...)
{
	const char *q;
	int line = 1, col = 1;
	size_t n;
	va_list ap;

	if (ps->rc)
		return ps->rc;
	for (q = ps->start; q < ps->p; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*q & 0xc0) != 0x80) {
			col++;   /* columns count characters, not UTF-8 bytes */
		}
	}
	ps->rc = rc;
	if (!ps->errlen)
		return rc;
	snprintf(ps->err, ps->errlen, "line %d, column %d: ", line, col);
	n = strlen(ps->err);
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	return rc;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int expect_more(struct parser *ps, const char *what)
{
	if (ps->p < ps->end)
		return 0;
	return fail(ps, -EINVAL, "unexpected end of input (truncated?), expected %s", what);
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n) {
		if (memcmp(ps->p, word, (size_t)(ps->end - ps->p)) == 0)
			return fail(ps, -EINVAL, "unexpected end of input (truncated?) in '%s'", word);
		return fail(ps, -EINVAL, "invalid literal");
	}
	if (memcmp(ps->p, word, n))
		return fail(ps, -EINVAL, "invalid literal");
	ps->p += n;
	return 0;
}

static int hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return fail(ps, -EINVAL, "unexpected end of input (truncated?) in a \\u escape");
	for (i = 0; i < 4; i++) {
		char c = ps->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, -EINVAL, "invalid \\u escape");
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At the opening quote. The decoded string is never longer than its
 * source, so one allocation of the source length suffices. */
static int string(struct parser *ps, char **out)
{
	const char *q = ++ps->p;
	char *s, *o;

	while (q < ps->end && *q != '"')
		q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
	s = malloc((size_t)(q - ps->p) + 1);
	if (!s)
		return fail(ps, -ENOMEM, "out of memory");
	o = s;
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end) {
			free(s);
			return fail(ps, -EINVAL, "unexpected end of input (truncated?) in a string");
		}
		c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c < 0x20) {
			free(s);
			return fail(ps, -EINVAL, "control character in a string");
		}
		if (c != '\\') {
			*o++ = (char)c;
			ps->p++;
			continue;
		}
		if (++ps->p >= ps->end) {
			free(s);
			return fail(ps, -EINVAL, "unexpected end of input (truncated?) in a string");
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': case '\\': case '/': *o++ = (char)c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;

			if (hex4(ps, &cp))
				break;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
					fail(ps, -EINVAL, "unpaired surrogate in a \\u escape");
					break;
				}
				ps->p += 2;
				if (hex4(ps, &lo))
					break;
				if (lo < 0xdc00 || lo >= 0xe000) {
					fail(ps, -EINVAL, "unpaired surrogate in a \\u escape");
					break;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				fail(ps, -EINVAL, "unpaired surrogate in a \\u escape");
				break;
			} else if (cp == 0) {
				fail(ps, -EINVAL, "\\u0000 is not supported");
				break;
			}
			o += put_utf8(o, cp);
			break;
		}
		default:
			ps->p--;
			fail(ps, -EINVAL, "invalid escape '\\%c'", c);
		}
		if (ps->rc) {
			free(s);
			return ps->rc;
		}
	}
	ps->p++;
	*o = '\0';
	*out = s;
	return 0;
}

static int number(struct parser *ps, struct mt_jv *v)
{
	const char *q = ps->p, *digits;
	bool integer = true, neg = false, overflow = false;
	uint64_t u = 0;
	char buf[64], *copy = buf;

	if (q < ps->end && *q == '-') {
		neg = true;
		q++;
	}
	digits = q;
	if (q >= ps->end)
		return fail(ps, -EINVAL, "unexpected end of input (truncated?) in a number");
	if (*q == '0') {
		q++;
		if (q < ps->end && *q >= '0' && *q <= '9')
			return fail(ps, -EINVAL, "leading zero in a number");
	} else if (*q >= '1' && *q <= '9') {
		while (q < ps->end && *q >= '0' && *q <= '9') {
			unsigned dgt = (unsigned)(*q - '0');

			if (u > (UINT64_MAX - dgt) / 10)
				overflow = true;
			u = u * 10 + dgt;
			q++;
		}
	} else {
		return fail(ps, -EINVAL, "invalid number");
	}
	if (q < ps->end && *q == '.') {
		integer = false;
		if (++q >= ps->end || *q < '0' || *q > '9')
			return fail(ps, -EINVAL, q >= ps->end ? "unexpected end of input (truncated?) in a number" : "digit expected after '.'");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		integer = false;
		if (++q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || *q < '0' || *q > '9')
			return fail(ps, -EINVAL, q >= ps->end ? "unexpected end of input (truncated?) in a number" : "digit expected in an exponent");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	(void)digits;
	/* strtod needs a terminated copy; numbers are short. */
	if ((size_t)(q - ps->p) >= sizeof(buf)) {
		copy = malloc((size_t)(q - ps->p) + 1);
		if (!copy)
			return fail(ps, -ENOMEM, "out of memory");
	}
	memcpy(copy, ps->p, (size_t)(q - ps->p));
	copy[q - ps->p] = '\0';
	v->type = MT_JV_NUM;
	v->d = strtod(copy, NULL);
	if (copy != buf)
		free(copy);
	v->is_u64 = integer && !neg && !overflow;
	v->u = v->is_u64 ? u : 0;
	if (integer && neg && u == 0 && !overflow)
		v->is_u64 = true;   /* -0 */
	ps->p = q;
	return 0;
}

static int value(struct parser *ps, struct mt_jv *v, int depth, const struct mt_jv_keep *keep,
		 mt_jv_each_fn each);
static void release(struct mt_jv *v);

/* The spec entry for key (a named one before MT_JV_KEEP_REST's); NULL when
 * the key is not kept. */
static const struct mt_jv_keep *kept(const struct mt_jv_keep *keep, const char *key)
{
	const struct mt_jv_keep *rest = NULL;

	for (; keep->key; keep++) {
		if (strcmp(keep->key, key) == 0)
			return keep;
		if (!rest && strcmp(keep->key, MT_JV_KEEP_REST) == 0)
			rest = keep;
	}
	return rest;
}

/* A value the spec drops: parsed (so syntax errors still count) into a
 * scratch tree that is released at once. */
static int skip(struct parser *ps, int depth)
{
	struct mt_jv scratch = { 0 };
	int rc = value(ps, &scratch, depth, NULL, NULL);

	release(&scratch);
	return rc;
}

/* A finished container gives back its doubling slack: a kept array of a
 * million sites then costs what it holds. */
static void shrink(struct mt_jv *v, size_t cap)
{
	struct mt_jv *items;
	char **keys;

	if (v->n == cap || v->n == 0)
		return;
	if ((items = realloc(v->items, v->n * sizeof(*items))))
		v->items = items;
	if (v->keys && (keys = realloc(v->keys, v->n * sizeof(*keys))))
		v->keys = keys;
}

/* Room for one more item (and key): items and keys share one capacity,
 * each grown with its own copy of it. */
static int grow(struct parser *ps, struct mt_jv *v, size_t *cap, bool keys)
{
	size_t icap = *cap, kcap = *cap;

	if (MT_GROW(v->items, v->n + 1, icap) || (keys && MT_GROW(v->keys, v->n + 1, kcap)))
		return fail(ps, -ENOMEM, "out of memory");
	*cap = icap;
	return 0;
}

/* An element of a streamed array: parsed, handed to each(), released. */
static int stream(struct parser *ps, int depth, const struct mt_jv_keep *keep,
		  mt_jv_each_fn each, size_t index)
{
	struct mt_jv elem = { 0 };
	const char *start;
	int rc;

	skip_ws(ps);
	start = ps->p;
	if (!value(ps, &elem, depth, keep, NULL)) {
		rc = each(ps->arg, &elem, index, start, (size_t)(ps->p - start));
		if (rc && !ps->rc)
			ps->rc = rc;
	}
	release(&elem);
	return ps->rc;
}

/* At '[' or '{'. keep applies to an object's members, and to each element
 * of an array (arrays are transparent to the spec); each, for an array,
 * streams its elements (see mt_jv_keep). */
static int container(struct parser *ps, struct mt_jv *v, int depth, const struct mt_jv_keep *keep,
		     mt_jv_each_fn each)
{
	size_t index = 0;
	bool obj = *ps->p == '{';
	char close = obj ? '}' : ']';
	size_t cap = 0;

	if (depth >= MT_JV_MAX_DEPTH)
		return fail(ps, -E2BIG, "nesting deeper than %d levels", MT_JV_MAX_DEPTH);
	v->type = obj ? MT_JV_OBJ : MT_JV_ARR;
	ps->p++;
	skip_ws(ps);
	if (expect_more(ps, obj ? "a key or '}'" : "a value or ']'"))
		return ps->rc;
	if (*ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		const struct mt_jv_keep *sub = keep;
		mt_jv_each_fn sub_each = NULL;
		char *key = NULL;

		if (!obj && each) {
			if (stream(ps, depth + 1, keep, each, index++))
				return ps->rc;
			goto next;
		}
		if (v->n == cap && grow(ps, v, &cap, obj))
			return ps->rc;
		if (obj) {
			skip_ws(ps);
			if (expect_more(ps, "a key"))
				return ps->rc;
			if (*ps->p != '"')
				return fail(ps, -EINVAL, "expected a string key");
			if (string(ps, &key))
				return ps->rc;
			skip_ws(ps);
			if (expect_more(ps, "':'")) {
				free(key);
				return ps->rc;
			}
			if (*ps->p != ':') {
				free(key);
				return fail(ps, -EINVAL, "expected ':' after a key");
			}
			ps->p++;
			if (keep) {
				const struct mt_jv_keep *k = kept(keep, key);

				if (!k) {
					free(key);
					if (skip(ps, depth + 1))
						return ps->rc;
					goto next;
				}
				sub = k->sub;
				sub_each = k->each;
			}
			v->keys[v->n] = key;
		}
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		v->n++;   /* counted first, so mt_jv_free releases a partial value */
		if (value(ps, &v->items[v->n - 1], depth + 1, sub, sub_each))
			return ps->rc;
next:
		skip_ws(ps);
		if (expect_more(ps, obj ? "',' or '}'" : "',' or ']'"))
			return ps->rc;
		if (*ps->p == close) {
			ps->p++;
			shrink(v, cap);
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, -EINVAL, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		ps->p++;
	}
}

static int value(struct parser *ps, struct mt_jv *v, int depth, const struct mt_jv_keep *keep,
		 mt_jv_each_fn each)
{
	skip_ws(ps);
	if (expect_more(ps, "a value"))
		return ps->rc;
	switch (*ps->p) {
	case '{':
	case '[':
		return container(ps, v, depth, keep, each);
	case '"':
		v->type = MT_JV_STR;
		return string(ps, &v->s);
	case 't':
		v->type = MT_JV_BOOL;
		v->b = true;
		return literal(ps, "true");
	case 'f':
		v->type = MT_JV_BOOL;
		return literal(ps, "false");
	case 'n':
		v->type = MT_JV_NULL;
		return literal(ps, "null");
	default:
		return number(ps, v);
	}
}

static void release(struct mt_jv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		release(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
}

void mt_jv_free(struct mt_jv *v)
{
	if (!v)
		return;
	release(v);
	free(v);
}

int mt_jv_parse(const char *text, size_t len, struct mt_jv **out, char *err, size_t errlen)
{
	return mt_jv_parse_keep(text, len, NULL, NULL, out, err, errlen);
}

int mt_jv_parse_keep(const char *text, size_t len, const struct mt_jv_keep *keep, void *arg,
		     struct mt_jv **out, char *err, size_t errlen)
{
	struct parser ps = { .p = text, .end = text + len, .start = text, .err = err,
			     .errlen = errlen, .arg = arg };
	struct mt_jv *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!v)
		return -ENOMEM;
	if (!value(&ps, v, 0, keep, NULL)) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			fail(&ps, -EINVAL, "unexpected data after the document");
	}
	if (ps.rc) {
		mt_jv_free(v);
		return ps.rc;
	}
	*out = v;
	return 0;
}

const struct mt_jv *mt_jv_get(const struct mt_jv *v, const char *key)
{
	size_t i;

	if (!v || v->type != MT_JV_OBJ)
		return NULL;
	for (i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

bool mt_jv_u64(const struct mt_jv *v, const char *key, uint64_t *out)
{
	const struct mt_jv *m = mt_jv_get(v, key);

	if (!m || m->type != MT_JV_NUM || !m->is_u64)
		return false;
	*out = m->u;
	return true;
}

bool mt_jv_num(const struct mt_jv *v, const char *key, double *out)
{
	const struct mt_jv *m = mt_jv_get(v, key);

	if (!m || m->type != MT_JV_NUM)
		return false;
	*out = m->d;
	return true;
}

const char *mt_jv_str(const struct mt_jv *v, const char *key)
{
	const struct mt_jv *m = mt_jv_get(v, key);

	return m && m->type == MT_JV_STR ? m->s : NULL;
}
