// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace diff of two Go reports' "go" sections (docs/diff.md): the
 * mallocgc totals, the types and the sites paired by name — sites by
 * (function, type), the way a change such as adding a sync.Pool shows:
 * the same function allocating less of the same type. Entries of one
 * report with equal keys are summed. Either report without a "go"
 * section counts as zero; neither: nothing is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff/mt_diff.h"
#include "util/mt_grow.h"
#include "util/mt_json.h"

struct pair {
	char *key;               /* type, or "function\ttype" */
	uint64_t a[2], b[2];     /* allocs, bytes */
	bool in_a, in_b;
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static const struct mt_jv *go_of(const struct mt_diff_input *in)
{
	const struct mt_jv *g = mt_jv_get(mt_diff_input_doc(in), "go");

	return g && g->type == MT_JV_OBJ ? g : NULL;
}

static const char *str_or(const struct mt_jv *e, const char *key, const char *dflt)
{
	const char *s = mt_jv_str(e, key);

	return s ? s : dflt;
}

static int add(struct pairs *p, const struct mt_jv *list, bool sites, int side)
{
	size_t i;

	if (!list || list->type != MT_JV_ARR)
		return 0;
	for (i = 0; i < list->n; i++) {
		const struct mt_jv *e = &list->items[i];
		struct pair *x;
		uint64_t *v;
		int n;

		if (MT_GROW(p->v, p->n + 1, p->cap))
			return -ENOMEM;
		x = &p->v[p->n];
		memset(x, 0, sizeof(*x));
		if (sites)
			n = asprintf(&x->key, "%s\t%s", str_or(e, "function", "?"),
				     str_or(e, "type", "(untyped)"));
		else
			n = asprintf(&x->key, "%s", str_or(e, "type", "(untyped)"));
		if (n < 0)
			return -ENOMEM;
		p->n++;
		v = side ? x->b : x->a;
		mt_jv_u64(e, "allocs", &v[0]);
		mt_jv_u64(e, "bytes", &v[1]);
		if (side)
			x->in_b = true;
		else
			x->in_a = true;
	}
	return 0;
}

static int by_key(const void *pa, const void *pb)
{
	return strcmp(((const struct pair *)pa)->key, ((const struct pair *)pb)->key);
}

static uint64_t absd(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int by_change(const void *pa, const void *pb)
{
	const struct pair *x = pa, *y = pb;
	uint64_t dx = absd(x->a[1], x->b[1]), dy = absd(y->a[1], y->b[1]);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	dx = absd(x->a[0], x->b[0]);
	dy = absd(y->a[0], y->b[0]);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* Pair the lists named key of both sections: summed by key, largest
 * byte change first. */
static int pair_up(const struct mt_diff *d, const char *key, bool sites, struct pairs *p)
{
	size_t i, out = 0;
	int err;

	memset(p, 0, sizeof(*p));
	err = add(p, mt_jv_get(go_of(d->a), key), sites, 0);
	if (!err)
		err = add(p, mt_jv_get(go_of(d->b), key), sites, 1);
	if (err)
		return err;
	if (!p->n)
		return 0;
	qsort(p->v, p->n, sizeof(*p->v), by_key);
	for (i = 0; i < p->n; i++) {
		struct pair *x = &p->v[i];

		if (out && !strcmp(p->v[out - 1].key, x->key)) {
			struct pair *y = &p->v[out - 1];

			y->a[0] += x->a[0], y->a[1] += x->a[1];
			y->b[0] += x->b[0], y->b[1] += x->b[1];
			y->in_a |= x->in_a, y->in_b |= x->in_b;
			free(x->key);
		} else {
			p->v[out++] = *x;
		}
	}
	p->n = out;
	qsort(p->v, p->n, sizeof(*p->v), by_change);
	return 0;
}

static void release(struct pairs *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
}

static int64_t dl(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static void total(const struct mt_diff *d, const char *key, uint64_t *a, uint64_t *b)
{
	*a = *b = 0;
	mt_jv_u64(go_of(d->a), key, a);
	mt_jv_u64(go_of(d->b), key, b);
}

static void text_list(FILE *f, const char *what, const struct pairs *p, unsigned top)
{
	size_t i, shown = 0;

	fprintf(f, "  %s (%zu), largest change in bytes first:\n", what, p->n);
	for (i = 0; i < p->n && shown < top; i++) {
		const struct pair *x = &p->v[i];
		char *tab = strchr(x->key, '\t');

		/* ordered by change: the first unchanged one ends the changes
		 * (entries in one report only are changes) */
		if (x->a[0] == x->b[0] && x->a[1] == x->b[1] && x->in_a == x->in_b)
			break;
		shown++;

		fprintf(f, "    bytes %+15" PRId64 " allocs %+12" PRId64 "  ", dl(x->a[1], x->b[1]),
			dl(x->a[0], x->b[0]));
		if (tab)
			fprintf(f, "%.*s  %s", (int)(tab - x->key), x->key, tab + 1);
		else
			fputs(x->key, f);
		fputs(!x->in_a ? " (new in B)\n" : !x->in_b ? " (gone in B)\n" : "\n", f);
	}
}

int mt_diff_go_text(FILE *f, const struct mt_diff *d, unsigned top)
{
	const struct mt_jv *ga = go_of(d->a), *gb = go_of(d->b);
	struct pairs types, sites;
	uint64_t a, b;
	int err;

	if (!ga && !gb)
		return 0;
	fprintf(f, "Go heap (runtime.mallocgc): A %s, B %s\n", str_or(ga, "version", "-"),
		str_or(gb, "version", "-"));
	total(d, "allocs", &a, &b);
	fprintf(f, "  %-16s %14" PRIu64 " %14" PRIu64 " %+15" PRId64 "\n", "allocs", a, b, dl(a, b));
	total(d, "bytes", &a, &b);
	fprintf(f, "  %-16s %14" PRIu64 " %14" PRIu64 " %+15" PRId64 "\n", "bytes", a, b, dl(a, b));
	err = pair_up(d, "types", false, &types);
	if (!err) {
		text_list(f, "types", &types, top);
		err = pair_up(d, "sites", true, &sites);
		if (!err)
			text_list(f, "sites (function, type)", &sites, top);
		release(&sites);
	}
	release(&types);
	return err;
}

static void json_side(struct mt_json *j, bool in, const uint64_t *v)
{
	if (!in) {
		mt_json_null(j);
		return;
	}
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "allocs", v[0]);
	mt_json_key_u64(j, "bytes", v[1]);
	mt_json_obj_end(j);
}

static void json_list(struct mt_json *j, const char *key, const struct pairs *p)
{
	size_t i;

	mt_json_key(j, key);
	mt_json_arr_begin(j);
	for (i = 0; i < p->n; i++) {
		const struct pair *x = &p->v[i];
		char *tab = strchr(x->key, '\t');

		mt_json_obj_begin(j);
		if (tab) {
			*tab = 0;
			mt_json_key_str(j, "function", x->key);
			mt_json_key_str(j, "type", tab + 1);
			*tab = '\t';
		} else {
			mt_json_key_str(j, "type", x->key);
		}
		mt_json_key(j, "a");
		json_side(j, x->in_a, x->a);
		mt_json_key(j, "b");
		json_side(j, x->in_b, x->b);
		mt_json_key(j, "delta");
		mt_json_obj_begin(j);
		mt_json_key(j, "allocs");
		mt_json_i64(j, dl(x->a[0], x->b[0]));
		mt_json_key(j, "bytes");
		mt_json_i64(j, dl(x->a[1], x->b[1]));
		mt_json_obj_end(j);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
}

int mt_diff_go_json(struct mt_json *j, const struct mt_diff *d)
{
	const char *keys[] = { "allocs", "bytes" };
	struct pairs types, sites;
	uint64_t a, b;
	unsigned k;
	int err;

	if (!go_of(d->a) && !go_of(d->b))
		return 0;
	err = pair_up(d, "types", false, &types);
	if (!err)
		err = pair_up(d, "sites", true, &sites);
	if (err) {
		release(&types);
		return err;
	}
	mt_json_key(j, "go");
	mt_json_obj_begin(j);
	for (k = 0; k < 2; k++) {
		total(d, keys[k], &a, &b);
		mt_json_key(j, keys[k]);
		mt_json_obj_begin(j);
		mt_json_key_u64(j, "a", a);
		mt_json_key_u64(j, "b", b);
		mt_json_key(j, "delta");
		mt_json_i64(j, dl(a, b));
		mt_json_obj_end(j);
	}
	json_list(j, "types", &types);
	json_list(j, "sites", &sites);
	mt_json_obj_end(j);
	release(&types);
	release(&sites);
	return 0;
}
