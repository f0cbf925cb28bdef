// SPDX-License-Identifier: BSD-2-Clause
/*
 * Size classes: a lookup by (size + 7) / 8 below 1 KiB and by
 * (size + 127) / 128 up to 32 KiB, as libmtpool does it, so classifying a
 * request is two compares and one load.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "collect/mt_agg.h"
#include "util/mt_json.h"
#include "analyze/mt_sizeclass.h"
#include "util/mt_grow.h"

struct mt_sizeclass {
	struct mt_agg *agg;
	struct mt_sc_stats overall;
	struct mt_sc_stats *sites;   /* indexed by site id */
	uint32_t cap;
};

static uint32_t class_size[MT_SC_NCLASSES];
static uint8_t cls_small[1024 / 8 + 1];
static uint8_t cls_large[MT_SC_MAX / 128 + 1];
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

static void init_classes(void)
{
	unsigned c = 0, s, i;

	for (s = 8; s <= 128; s += 8)
		class_size[c++] = s;
	for (s = 128; s < MT_SC_MAX; s *= 2)
		for (i = 1; i <= 8; i++)
			class_size[c++] = s + i * (s / 8);
	for (i = 0, c = 0; i <= 1024 / 8; i++) {
		while (class_size[c] < i * 8)
			c++;
		cls_small[i] = (uint8_t)c;
	}
	for (i = 0, c = 0; i <= MT_SC_MAX / 128; i++) {
		while (class_size[c] < i * 128)
			c++;
		cls_large[i] = (uint8_t)c;
	}
}

unsigned mt_sc_class(uint64_t size)
{
	pthread_once(&classes_once, init_classes);
	if (size > MT_SC_MAX)
		return MT_SC_LARGE;
	if (size <= 1024)
		return cls_small[(size + 7) >> 3];
	return cls_large[(size + 127) >> 7];
}

uint32_t mt_sc_class_size(unsigned c)
{
	pthread_once(&classes_once, init_classes);
	return c < MT_SC_NCLASSES ? class_size[c] : 0;
}

enum mt_sc_coarse mt_sc_coarse_of(uint64_t size)
{
	if (size <= MT_SC_TINY_MAX)
		return MT_SC_TINY;
	return size <= MT_SC_MAX ? MT_SC_SMALL : MT_SC_BIG;
}

const char *mt_sc_coarse_name(enum mt_sc_coarse c)
{
	static const char *const names[] = { "tiny", "small", "large" };

	return c < MT_SC_NCOARSE ? names[c] : "?";
}

static void stats_add(struct mt_sc_stats *s, unsigned cls, enum mt_sc_coarse co, uint64_t size)
{
	s->exact[cls]++;
	s->coarse[co]++;
	if (!s->allocs++ || size < s->min_size)
		s->min_size = size;
	if (size > s->max_size)
		s->max_size = size;
}

/* Grown only when a new site shows up: amortized O(1), no allocation in
 * the steady state. */
static int ensure(struct mt_sizeclass *sc, uint32_t site)
{
	return MT_GROW(sc->sites, (size_t)site + 1, sc->cap);
}

static void on_alloc(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
		     uint64_t addr, uint64_t size)
{
	struct mt_sizeclass *sc = arg;
	unsigned cls = mt_sc_class(size);
	enum mt_sc_coarse co = mt_sc_coarse_of(size);

	stats_add(&sc->overall, cls, co, size);
	/* Out of memory: the site's stats stay short, the overall ones not. */
	if (site != MT_SITE_NONE && !ensure(sc, site))
		stats_add(&sc->sites[site], cls, co, size);
}

struct mt_sizeclass *mt_sizeclass_new(struct mt_agg *a)
{
	struct mt_sizeclass *sc = calloc(1, sizeof(*sc));
	struct mt_agg_observer o = { .on_alloc = on_alloc };
	int err;

	if (!sc)
		return NULL;
	pthread_once(&classes_once, init_classes);
	sc->agg = a;
	o.arg = sc;
	err = mt_agg_add_observer(a, &o);
	if (err) {
		free(sc);
		errno = -err;
		return NULL;
	}
	return sc;
}

void mt_sizeclass_free(struct mt_sizeclass *sc)
{
	if (!sc)
		return;
	free(sc->sites);
	free(sc);
}

const struct mt_sc_stats *mt_sizeclass_get(const struct mt_sizeclass *sc, uint32_t site)
{
	const struct mt_sc_stats *s;

	if (site == MT_SITE_NONE)
		s = &sc->overall;
	else if (site < sc->cap)
		s = &sc->sites[site];
	else
		return NULL;
	return s->allocs ? s : NULL;
}

unsigned mt_sc_nclasses_used(const struct mt_sc_stats *s)
{
	unsigned c, n = 0;

	for (c = 0; c <= MT_SC_LARGE; c++)
		n += s->exact[c] != 0;
	return n;
}

void mt_sc_write_json(struct mt_json *j, const struct mt_sc_stats *s)
{
	unsigned c;

	mt_json_obj_begin(j);
	for (c = 0; c < MT_SC_NCOARSE; c++) {
		mt_json_key(j, mt_sc_coarse_name(c));
		mt_json_u64(j, s->coarse[c]);
	}
	mt_json_key(j, "classes");
	mt_json_arr_begin(j);
	for (c = 0; c <= MT_SC_LARGE; c++) {
		if (!s->exact[c])
			continue;
		mt_json_obj_begin(j);
		mt_json_key_u64_or_null(j, "size", c != MT_SC_LARGE,
					c != MT_SC_LARGE ? class_size[c] : 0);
		mt_json_key(j, "allocs");
		mt_json_u64(j, s->exact[c]);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_obj_end(j);
}

static const struct mt_sc_stats no_stats;

int mt_sizeclass_write_json(struct mt_json *j, void *arg)
{
	const struct mt_sc_stats *s = mt_sizeclass_get(arg, MT_SITE_NONE);

	mt_sc_write_json(j, s ? s : &no_stats);
	return 0;
}

void mt_sizeclass_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg)
{
	const struct mt_sc_stats *s = mt_sizeclass_get(arg, site);

	mt_json_key(j, "size_classes");
	mt_sc_write_json(j, s ? s : &no_stats);
}

int mt_sizeclass_write_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_sc_stats *s = mt_sizeclass_get(arg, MT_SITE_NONE);
	unsigned char done[MT_SC_LARGE + 1] = { 0 };
	unsigned c, k;
	double n;

	if (!final || !s)
		return 0;
	n = (double)s->allocs;
	fprintf(f, "size classes of %llu allocations: tiny %.1f%%, small %.1f%%, large %.1f%%\n",
		(unsigned long long)s->allocs, 100 * (double)s->coarse[MT_SC_TINY] / n,
		100 * (double)s->coarse[MT_SC_SMALL] / n, 100 * (double)s->coarse[MT_SC_BIG] / n);
	fputs("  top classes:", f);
	/* The 5 busiest classes: selection over 81 counters, each printed
	 * once (done[] marks it). */
	for (k = 0; k < 5; k++) {
		unsigned best = MT_SC_LARGE + 1;

		for (c = 0; c <= MT_SC_LARGE; c++)
			if (s->exact[c] && !done[c] && (best > MT_SC_LARGE || s->exact[c] > s->exact[best]))
				best = c;
		if (best > MT_SC_LARGE)
			break;
		done[best] = 1;
		if (best == MT_SC_LARGE)
			fprintf(f, "%s >32 KiB %.1f%%", k ? "," : "", 100 * (double)s->exact[best] / n);
		else
			fprintf(f, "%s %u B %.1f%%", k ? "," : "", class_size[best],
				100 * (double)s->exact[best] / n);
	}
	fputc('\n', f);
	return 0;
}
