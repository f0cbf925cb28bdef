// SPDX-License-Identifier: BSD-2-Clause
/*
 * The text of a saved report's extension sections (memory, pools, go,
 * budget, the analyses, ...): `memtrace report A.json --text` reads them
 * back as JSON, not into the modules that wrote them (those live in layers
 * this one may not use, and a report may hold sections newer than this
 * reader), so they are drawn as a generic outline of the document: what
 * the JSON holds, with the JSON's names, in a form a person reads at a
 * terminal. The live run's own text of a section says more; this says
 * every number the file keeps.
 *
 * Shapes are never trusted: any value under any key renders (a string
 * where a number was expected is printed as a string), strings are shown
 * with control characters replaced, arrays are bounded by --top and
 * stacks by the frame limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_fmt.h"
#include "util/mt_json_read.h"
#include "output/mt_out.h"

/* The members the text writer prints from the loaded model. */
static const char *const core_keys[] = {
	"version", "target", "mode", "heap_traced", "duration_s", "min_age_s", "lost_events",
	"drops", "totals", "calls", "internal_calls", "rates", "untraced_children",
	"leak_summary", "leaks", "sites", "sort", "sampling", NULL,
};

#define CELL 256          /* a cell's text; longer strings are cut */
#define MAX_COLS 32       /* scalar members shown as columns */
#define TABLE_WIDTH 100   /* wider rows are written as records */
#define LONG_CELL 40      /* a string this long is a line under its row */
#define WRAP 78

struct ctx {
	FILE *f;
	unsigned top, frames;
};

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool scalar(const struct mt_jv *v)
{
	return v->type != MT_JV_ARR && v->type != MT_JV_OBJ;
}

/* A string as text: control characters (a terminal's escapes) as '?'. */
static void clean(char *buf, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
}

static void fmt_ns(char *buf, size_t n, double ns)
{
	double a = fabs(ns);

	if (a < 1e3)
		snprintf(buf, n, "%.0f ns", ns);
	else if (a < 1e6)
		snprintf(buf, n, "%.1f us", ns / 1e3);
	else if (a < 1e9)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.3f s", ns / 1e9);
}

/* The number as the JSON has it: exact for integers. */
static void fmt_num(char *buf, size_t n, const struct mt_jv *v)
{
	if (v->is_u64)
		snprintf(buf, n, "%" PRIu64, v->u);
	else if (v->d == floor(v->d) && fabs(v->d) < 1e15)
		snprintf(buf, n, "%.0f", v->d);
	else
		snprintf(buf, n, "%.6g", v->d);
}

/*
 * A scalar for people, its unit read from its key: "*bytes*" and "*size"
 * are bytes (per second with "_per_s"), "_ns" nanoseconds (not a Unix
 * time), "_ms", "_s" seconds, "_pct" percent. full (a line of its own):
 * the exact number follows a humanized one; a cell keeps it short.
 */
static void fmt_scalar(char *buf, size_t n, const char *key, const struct mt_jv *v, bool full)
{
	char num[64], h[64];
	bool whole;

	switch (v->type) {
	case MT_JV_NULL:
		snprintf(buf, n, "-");
		return;
	case MT_JV_BOOL:
		snprintf(buf, n, "%s", v->b ? "yes" : "no");
		return;
	case MT_JV_STR:
		clean(buf, n, v->s);
		return;
	case MT_JV_NUM:
		break;
	default:
		snprintf(buf, n, "%s", v->type == MT_JV_ARR ? "[...]" : "{...}");
		return;
	}
	fmt_num(num, sizeof(num), v);
	whole = v->is_u64;
	key = key ? key : "";
	if ((strstr(key, "bytes") || ends(key, "_size") || !strcmp(key, "size")) &&
	    !ends(key, "_per_s") && whole) {
		mt_fmt_bytes(h, sizeof(h), v->u);
		if (full && v->u >= 1024)
			snprintf(buf, n, "%s (%s)", h, num);
		else
			snprintf(buf, n, "%s", h);
	} else if (strstr(key, "bytes") && ends(key, "_per_s") && v->d >= 0 && v->d < 1.8e19) {
		snprintf(buf, n, "%s/s", mt_fmt_bytes(h, sizeof(h), (uint64_t)v->d));
	} else if (ends(key, "_ns") && !strstr(key, "unix")) {
		fmt_ns(h, sizeof(h), v->d);
		if (full && fabs(v->d) >= 1e3)
			snprintf(buf, n, "%s (%s)", h, num);
		else
			snprintf(buf, n, "%s", h);
	} else if (ends(key, "_ms")) {
		snprintf(buf, n, "%.3f ms", v->d);
	} else if (ends(key, "_per_s")) {
		snprintf(buf, n, "%.1f/s", v->d);
	} else if (ends(key, "_s")) {
		fmt_ns(buf, n, v->d * 1e9);
	} else if (ends(key, "_pct")) {
		snprintf(buf, n, "%.2f%%", v->d);
	} else {
		snprintf(buf, n, "%s", num);
	}
}

static const char *str_of(const struct mt_jv *o, const char *a, const char *b)
{
	const char *s = mt_jv_str(o, a);

	return s ? s : b ? mt_jv_str(o, b) : NULL;
}

/* A frame as the text report writes one: func+0xoff (module) file:line.
 * Go's frames name their members function and pc. */
static void frame(struct ctx *c, const struct mt_jv *fr, int ind)
{
	const char *name = str_of(fr, "func", "function"), *s;
	const struct mt_jv *inl = mt_jv_get(fr, "inline");
	char b[CELL];
	double d;

	fprintf(c->f, "%*s", ind, "");
	if (fr->type != MT_JV_OBJ) {
		fmt_scalar(b, sizeof(b), NULL, fr, false);
		fprintf(c->f, "%s\n", b);
		return;
	}
	clean(b, sizeof(b), name ? name : (s = str_of(fr, "addr", "pc")) ? s : "?");
	fputs(b, c->f);
	if (inl && inl->type == MT_JV_BOOL && inl->b)
		fputs(" [inline]", c->f);
	else if (name && mt_jv_num(fr, "func_off", &d) && d >= 0)
		fprintf(c->f, "+0x%" PRIx64, (uint64_t)d);
	if ((s = mt_jv_str(fr, "module"))) {
		clean(b, sizeof(b), mt_basename(s));
		fprintf(c->f, " (%s)", b);
	}
	if ((s = mt_jv_str(fr, "file"))) {
		clean(b, sizeof(b), mt_basename(s));
		fprintf(c->f, " %s", b);
		if (mt_jv_num(fr, "line", &d) && d > 0)
			fprintf(c->f, ":%.0f", d);
	}
	fputc('\n', c->f);
}

static void frames(struct ctx *c, const struct mt_jv *st, int ind)
{
	size_t i, n = st->n < c->frames ? st->n : c->frames;

	if (!st->n)
		fprintf(c->f, "%*s(no stack)\n", ind, "");
	for (i = 0; i < n; i++)
		frame(c, &st->items[i], ind);
	if (st->n > n)
		fprintf(c->f, "%*s... %zu more frames\n", ind, "", st->n - n);
}

static void value(struct ctx *c, const char *key, const struct mt_jv *v, int ind);

/* An object's members: scalars first as "key: value" lines, then the
 * nested ones, each under its key. */
static void members(struct ctx *c, const struct mt_jv *o, int ind)
{
	char b[CELL];
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < o->n; i++) {
			const struct mt_jv *v = &o->items[i];
			char k[CELL];

			if (scalar(v) != (pass == 0))
				continue;
			clean(k, sizeof(k), o->keys[i]);
			if (pass == 0) {
				fmt_scalar(b, sizeof(b), o->keys[i], v, true);
				fprintf(c->f, "%*s%s: %s\n", ind, "", k, b);
			} else {
				value(c, o->keys[i], v, ind);
			}
		}
	}
}

/* The scalar members of the rows as columns, in first-seen order; past
 * MAX_COLS they are lines under their row. */
static size_t columns(const struct mt_jv *a, size_t rows, const char **cols)
{
	size_t i, j, k, n = 0;

	for (i = 0; i < rows; i++) {
		const struct mt_jv *e = &a->items[i];

		for (j = 0; e->type == MT_JV_OBJ && j < e->n; j++) {
			if (!scalar(&e->items[j]))
				continue;
			for (k = 0; k < n && strcmp(cols[k], e->keys[j]); k++)
				;
			if (k == n && n < MAX_COLS)
				cols[n++] = e->keys[j];
		}
	}
	return n;
}

/* A record: its scalar columns as "key: value" pairs wrapped at WRAP. */
static void record(struct ctx *c, const struct mt_jv *e, size_t rank, const char **cols,
		   size_t ncols, int ind)
{
	int col = fprintf(c->f, "%*s#%zu", ind, "", rank);
	bool first = true;
	char b[CELL], k[CELL], item[2 * CELL + 4];
	size_t j;

	for (j = 0; j < ncols; j++) {
		const struct mt_jv *v = mt_jv_get(e, cols[j]);
		int w;

		if (!v)
			continue;
		fmt_scalar(b, sizeof(b), cols[j], v, false);
		clean(k, sizeof(k), cols[j]);
		w = snprintf(item, sizeof(item), "%s: %s", k, b);
		if (col + 2 + w > WRAP && !first) {   /* the pair on the next line */
			fprintf(c->f, ",\n%*s", ind + 3, "");
			col = ind + 3 + fprintf(c->f, "%s", item);
		} else {
			col += fprintf(c->f, "%s%s", first ? " " : ", ", item);
		}
		first = false;
	}
	fputc('\n', c->f);
}

/* What a row's columns leave out, under it: scalars past MAX_COLS
 * columns, then the nested members. */
static void row_rest(struct ctx *c, const struct mt_jv *e, const char **cols, size_t ncols, int ind)
{
	size_t j, k;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (j = 0; e->type == MT_JV_OBJ && j < e->n; j++) {
			if (scalar(&e->items[j]) != (pass == 0))
				continue;
			for (k = 0; pass == 0 && k < ncols && strcmp(cols[k], e->keys[j]); k++)
				;
			if (pass == 1 || k == ncols)
				value(c, e->keys[j], &e->items[j], ind);
		}
}

/*
 * Objects as rows: a table of their scalar members when it fits
 * TABLE_WIDTH (long strings, a path or an advice, as lines under their
 * row), else one record each. Their nested members follow each row.
 */
static int rows(struct ctx *c, const struct mt_jv *a, size_t n, int ind)
{
	const char *cols[MAX_COLS];
	size_t ncols = columns(a, n, cols), i, j, width = (size_t)ind + 4;   /* "#N  " */
	size_t w[MAX_COLS];
	bool num[MAX_COLS], lng[MAX_COLS];
	size_t last = 0;   /* the last column in the table: not padded */
	bool any = false;  /* a column in the table */
	char *cells = calloc(n * (ncols ? ncols : 1), CELL);

	if (!cells)
		return -ENOMEM;
	for (j = 0; j < ncols; j++) {
		w[j] = strlen(cols[j]);
		num[j] = true;
		lng[j] = false;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < ncols; j++) {
			const struct mt_jv *v = mt_jv_get(&a->items[i], cols[j]);
			char *cell = cells + (i * ncols + j) * CELL;

			if (!v)
				continue;
			fmt_scalar(cell, CELL, cols[j], v, false);
			if (v->type == MT_JV_STR || v->type == MT_JV_BOOL)
				num[j] = false;
			if (strlen(cell) >= LONG_CELL)
				lng[j] = true;
			if (strlen(cell) > w[j])
				w[j] = strlen(cell);
		}
	for (j = 0; j < ncols; j++)
		if (!lng[j]) {
			width += w[j] + 2;
			last = j;
			any = true;
		}
	for (i = 0; i < n; i++) {
		const struct mt_jv *e = &a->items[i];

		if (width > TABLE_WIDTH) {
			record(c, e, i + 1, cols, ncols, ind);
		} else {
			if (i == 0 && any) {   /* the header */
				fprintf(c->f, "%*s    ", ind, "");
				for (j = 0; j < ncols; j++)
					if (!lng[j])
						fprintf(c->f, num[j] ? "  %*s" : "  %-*s",
							num[j] || j < last ? (int)w[j] : 0, cols[j]);
				fputc('\n', c->f);
			}
			fprintf(c->f, any ? "%*s#%-3zu" : "%*s#%zu", ind, "", i + 1);
			for (j = 0; j < ncols; j++)
				if (!lng[j])
					fprintf(c->f, num[j] ? "  %*s" : "  %-*s",
						num[j] || j < last ? (int)w[j] : 0, cells + (i * ncols + j) * CELL);
			fputc('\n', c->f);
			for (j = 0; j < ncols; j++) {
				const char *cell = cells + (i * ncols + j) * CELL;

				if (lng[j] && mt_jv_get(e, cols[j]))
					fprintf(c->f, "%*s%s: %s\n", ind + 4, "", cols[j], cell);
			}
		}
		row_rest(c, e, cols, ncols, ind + 4);
	}
	free(cells);
	return 0;
}

/* An array under key: scalars on one line, objects as rows, anything else
 * element by element; at most top elements. */
static void array(struct ctx *c, const char *key, const struct mt_jv *a, int ind)
{
	size_t i, n = a->n < c->top ? a->n : c->top, nobj = 0, nscalar = 0;
	char k[CELL], b[CELL];

	clean(k, sizeof(k), key);
	for (i = 0; i < n; i++) {
		nobj += a->items[i].type == MT_JV_OBJ;
		nscalar += scalar(&a->items[i]);
	}
	if (!a->n) {
		fprintf(c->f, "%*s%s: none\n", ind, "", k);
		return;
	}
	if (nscalar == n) {
		int col = fprintf(c->f, "%*s%s:", ind, "", k);

		for (i = 0; i < n; i++) {
			fmt_scalar(b, sizeof(b), key, &a->items[i], false);
			if (i && col + 2 + (int)strlen(b) > WRAP) {
				fprintf(c->f, ",\n%*s", ind + 2, "");
				col = ind + 2 + fprintf(c->f, "%s", b);
			} else {
				col += fprintf(c->f, "%s%s", i ? ", " : " ", b);
			}
		}
		fputc('\n', c->f);
	} else {
		fprintf(c->f, "%*s%s (%zu):\n", ind, "", k, a->n);
		/* rows fails only for want of memory: then one element after the other */
		if (nobj != n || rows(c, a, n, ind + 2))
			for (i = 0; i < n; i++) {
				snprintf(b, sizeof(b), "#%zu", i + 1);
				value(c, b, &a->items[i], ind + 2);
			}
	}
	if (a->n > n)
		fprintf(c->f, "%*s... %zu more\n", ind + 2, "", a->n - n);
}

static void value(struct ctx *c, const char *key, const struct mt_jv *v, int ind)
{
	char k[CELL], b[CELL];

	clean(k, sizeof(k), key);
	if (v->type == MT_JV_ARR && !strcmp(key, "stack")) {
		fprintf(c->f, "%*s%s:\n", ind, "", k);
		frames(c, v, ind + 2);
	} else if (v->type == MT_JV_ARR) {
		array(c, key, v, ind);
	} else if (v->type == MT_JV_OBJ) {
		fprintf(c->f, "%*s%s:%s\n", ind, "", k, v->n ? "" : " none");
		members(c, v, ind + 2);
	} else {
		fmt_scalar(b, sizeof(b), key, v, true);
		fprintf(c->f, "%*s%s: %s\n", ind, "", k, b);
	}
}

int mt_out_text_ext(FILE *f, const struct mt_jv *doc, unsigned top, unsigned max_frames)
{
	struct ctx c = { f, top ? top : 10, max_frames ? max_frames : 8 };
	size_t i, k;

	for (i = 0; doc && doc->type == MT_JV_OBJ && i < doc->n; i++) {
		for (k = 0; core_keys[k] && strcmp(core_keys[k], doc->keys[i]); k++)
			;
		if (!core_keys[k])
			value(&c, doc->keys[i], &doc->items[i], 0);
	}
	return ferror(f) ? -EIO : 0;
}
