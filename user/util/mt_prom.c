// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_prom.h"

void mt_prom_init(struct mt_prom *p)
{
	memset(p, 0, sizeof(*p));
}

void mt_prom_reset(struct mt_prom *p)
{
	p->len = 0;
	p->err = 0;
	if (p->buf)
		p->buf[0] = '\0';
}

void mt_prom_release(struct mt_prom *p)
{
	free(p->buf);
	mt_prom_init(p);
}

/* Room for n more bytes and a NUL; doubles, so appends are amortised O(1). */
static int reserve(struct mt_prom *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *b;

	if (p->err)
		return p->err;
	if (p->len + n + 1 <= p->cap)
		return 0;
	while (cap < p->len + n + 1)
		cap *= 2;
	b = realloc(p->buf, cap);
	if (!b)
		return p->err = -ENOMEM;
	p->buf = b;
	p->cap = cap;
	return 0;
}

static void put(struct mt_prom *p, const char *s, size_t n)
{
	if (reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct mt_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(struct mt_prom *p, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Help text: backslash and newline escaped. Label values: also '"'. */
static void escaped(struct mt_prom *p, const char *s, int label)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			puts_(p, "\\\\");
		else if (c == '\n')
			puts_(p, "\\n");
		else if (c == '"' && label)
			puts_(p, "\\\"");
		else if (c < 0x20 || c >= 0x7f)
			put(p, "?", 1);
		else
			put(p, (const char *)&c, 1);
	}
}

void mt_prom_header(struct mt_prom *p, const char *name, const char *type, const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	put(p, " ", 1);
	escaped(p, help, 0);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	put(p, " ", 1);
	puts_(p, type);
	put(p, "\n", 1);
}

static void name_labels(struct mt_prom *p, const char *name, const char *const *labels)
{
	puts_(p, name);
	if (!labels || !labels[0])
		return;
	put(p, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		if (i)
			put(p, ",", 1);
		puts_(p, labels[i]);
		puts_(p, "=\"");
		escaped(p, labels[i + 1], 1);
		put(p, "\"", 1);
	}
	put(p, "}", 1);
}

void mt_prom_u64(struct mt_prom *p, const char *name, const char *const *labels, uint64_t v)
{
	name_labels(p, name, labels);
	putf(p, " %" PRIu64 "\n", v);
}

void mt_prom_double(struct mt_prom *p, const char *name, const char *const *labels, double v)
{
	name_labels(p, name, labels);
	if (isnan(v))
		puts_(p, " NaN\n");
	else if (isinf(v))
		puts_(p, v > 0 ? " +Inf\n" : " -Inf\n");
	else {
		char tmp[40];

		/* the fewest digits that read back exactly: 0.1, not 0.10000000000000001 */
		snprintf(tmp, sizeof(tmp), "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof(tmp), "%.17g", v);
		putf(p, " %s\n", tmp);
	}
}

void mt_prom_counter(struct mt_prom *p, const char *name, const char *help, uint64_t v)
{
	mt_prom_header(p, name, "counter", help);
	mt_prom_u64(p, name, NULL, v);
}

void mt_prom_gauge(struct mt_prom *p, const char *name, const char *help, double v)
{
	mt_prom_header(p, name, "gauge", help);
	mt_prom_double(p, name, NULL, v);
}
