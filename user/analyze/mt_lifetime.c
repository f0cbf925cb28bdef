// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/mt_agg.h"
#include "util/mt_json.h"
#include "analyze/mt_lifetime.h"
#include "util/mt_grow.h"

#define THR_MIN_CAP 64u
#define THR_MAX 65536u
#define HALF_MS 500000ull

/* One thread: its last MT_LT_RING allocations with exact times, its most
 * recent allocation (for temporaries), and its last release (to recognise
 * the allocation half of a realloc). 64 * 16 + 40 bytes. */
struct thr {
	uint32_t tid;          /* 0: empty slot */
	uint32_t head;         /* next ring slot */
	uint64_t ring_addr[MT_LT_RING];
	uint64_t ring_ts[MT_LT_RING];
	uint64_t last_addr;    /* most recent allocation, 0 once freed */
	uint64_t rel_ts;       /* last release on this thread */
	uint32_t rel_site;
	uint32_t rel_temp;     /* it counted as a temporary */
};

struct mt_lifetime {
	struct mt_agg *agg;
	struct mt_lt_stats overall;
	struct mt_lt_stats *sites;
	uint32_t cap;
	struct thr *thr;
	uint32_t thr_cap, thr_n;   /* power of two, at most half full */
	struct thr none;           /* tid 0 or the map unavailable */
};

unsigned mt_lt_bucket(uint64_t ns)
{
	unsigned lg;

	if (ns < 1024)
		return 0;
	lg = 63 - (unsigned)__builtin_clzll(ns);
	return lg - 9 < MT_LT_NBUCKETS - 1 ? lg - 9 : MT_LT_NBUCKETS - 1;
}

uint64_t mt_lt_bucket_lo(unsigned b)
{
	return b ? 1ull << (9 + b) : 0;
}

uint64_t mt_lt_quantile(const struct mt_lt_stats *s, double q)
{
	uint64_t want, seen = 0;
	unsigned b;

	if (!s->freed)
		return 0;
	want = (uint64_t)(q * (double)s->freed);
	if (want >= s->freed)
		want = s->freed - 1;
	for (b = 0; b < MT_LT_NBUCKETS; b++) {
		seen += s->hist[b];
		if (seen > want)
			break;
	}
	return b + 1 < MT_LT_NBUCKETS ? mt_lt_bucket_lo(b + 1) : UINT64_MAX;
}

static uint32_t tid_hash(uint32_t tid)
{
	return tid * 0x9e3779b1u;
}

static struct thr *thr_slot(struct thr *t, uint32_t cap, uint32_t tid)
{
	uint32_t mask = cap - 1, i = tid_hash(tid) & mask;

	while (t[i].tid && t[i].tid != tid)
		i = (i + 1) & mask;
	return &t[i];
}

static int thr_grow(struct mt_lifetime *lt)
{
	uint32_t cap = lt->thr_cap ? lt->thr_cap * 2 : THR_MIN_CAP, i;
	struct thr *n;

	if (cap > 2 * THR_MAX) {
		/* Long-dead threads pile up: start over, losing only the
		 * exactness of blocks allocated before. */
		memset(lt->thr, 0, (size_t)lt->thr_cap * sizeof(*lt->thr));
		lt->thr_n = 0;
		return 0;
	}
	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < lt->thr_cap; i++)
		if (lt->thr[i].tid)
			*thr_slot(n, cap, lt->thr[i].tid) = lt->thr[i];
	free(lt->thr);
	lt->thr = n;
	lt->thr_cap = cap;
	return 0;
}

/* The thread's record; allocates only for a thread not seen before. */
static struct thr *thr_get(struct mt_lifetime *lt, uint32_t tid)
{
	struct thr *t;

	if (!tid)
		return &lt->none;
	if (lt->thr_cap) {
		t = thr_slot(lt->thr, lt->thr_cap, tid);
		if (t->tid)
			return t;
	}
	if ((lt->thr_n + 1) * 2 > lt->thr_cap && thr_grow(lt))
		return &lt->none;
	t = thr_slot(lt->thr, lt->thr_cap, tid);
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	lt->thr_n++;
	return t;
}

static int ensure(struct mt_lifetime *lt, uint32_t site)
{
	return MT_GROW(lt->sites, (size_t)site + 1, lt->cap);
}

static struct mt_lt_stats *site_stats(struct mt_lifetime *lt, uint32_t site)
{
	if (site == MT_SITE_NONE || ensure(lt, site))
		return NULL;
	return &lt->sites[site];
}

static void on_alloc(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
		     uint64_t addr, uint64_t size)
{
	struct mt_lifetime *lt = arg;
	struct thr *t = thr_get(lt, tid);
	struct mt_lt_stats *s = site_stats(lt, site);
	const struct mt_site *as;

	if (t->rel_ts == ts_ns && ts_ns) {
		/* The allocation half of a realloc: its release was no
		 * temporary, and the new block is a resized one. */
		if (t->rel_temp) {
			struct mt_lt_stats *rs = site_stats(lt, t->rel_site);

			lt->overall.temporaries--;
			if (rs)
				rs->temporaries--;
		}
		t->rel_temp = 0;
		lt->overall.reallocs++;
		if (s)
			s->reallocs++;
	}
	t->ring_addr[t->head] = addr;
	t->ring_ts[t->head] = ts_ns;
	t->head = (t->head + 1) % MT_LT_RING;
	t->last_addr = addr;
	if (s && (as = mt_agg_site_get(lt->agg, site)) && as->c.live_objects > s->peak_live_objects)
		s->peak_live_objects = as->c.live_objects;
	if (mt_agg_totals(lt->agg)->c.live_objects > lt->overall.peak_live_objects)
		lt->overall.peak_live_objects = mt_agg_totals(lt->agg)->c.live_objects;
}

static void add_lifetime(struct mt_lt_stats *s, uint64_t ns, int exact, int temp)
{
	s->hist[mt_lt_bucket(ns)]++;
	s->freed++;
	s->exact += exact;
	s->temporaries += temp;
	s->lifetime_sum_s += (double)ns / 1e9;
}

static void on_release(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
		       uint64_t addr, uint64_t size, uint64_t alloc_ts_ns)
{
	struct mt_lifetime *lt = arg;
	struct thr *t = thr_get(lt, tid);
	struct mt_lt_stats *s = site_stats(lt, site);
	int exact = 0, temp = 0;
	uint64_t ns = 0;
	unsigned i, k;

	for (k = 1; k <= MT_LT_RING; k++) {
		i = (t->head + MT_LT_RING - k) % MT_LT_RING;
		if (t->ring_addr[i] == addr && addr) {
			ns = ts_ns > t->ring_ts[i] ? ts_ns - t->ring_ts[i] : 0;
			t->ring_addr[i] = 0;
			exact = 1;
			break;
		}
	}
	if (!exact) {
		/* alloc_ts_ns is rounded up to the ms: the true lifetime lies
		 * in [d, d + 1 ms); take the middle. */
		int64_t d = (int64_t)(ts_ns - alloc_ts_ns) + (int64_t)HALF_MS;

		ns = d > 0 ? (uint64_t)d : 0;
	}
	if (t->last_addr == addr && addr) {
		temp = 1;
		t->last_addr = 0;
	}
	t->rel_ts = ts_ns;
	t->rel_site = site;
	t->rel_temp = (uint32_t)temp;
	add_lifetime(&lt->overall, ns, exact, temp);
	if (s)
		add_lifetime(s, ns, exact, temp);
}

struct mt_lifetime *mt_lifetime_new(struct mt_agg *a)
{
	struct mt_lifetime *lt = calloc(1, sizeof(*lt));
	struct mt_agg_observer o = { .on_alloc = on_alloc, .on_release = on_release };
	int err;

	if (!lt)
		return NULL;
	lt->agg = a;
	o.arg = lt;
	err = mt_agg_add_observer(a, &o);
	if (err) {
		free(lt);
		errno = -err;
		return NULL;
	}
	return lt;
}

void mt_lifetime_free(struct mt_lifetime *lt)
{
	if (!lt)
		return;
	free(lt->sites);
	free(lt->thr);
	free(lt);
}

const struct mt_lt_stats *mt_lifetime_get(const struct mt_lifetime *lt, uint32_t site)
{
	if (site == MT_SITE_NONE)
		return &lt->overall;
	return site < lt->cap ? &lt->sites[site] : NULL;
}

const char *mt_lt_label(char *buf, unsigned n, uint64_t ns)
{
	if (ns == UINT64_MAX)
		snprintf(buf, n, "inf");
	else if (ns < 1000)
		snprintf(buf, n, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, n, "%.0fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, n, "%.0fms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.0fs", (double)ns / 1e9);
	return buf;
}

static void quantile_s(struct mt_json *j, const char *k, uint64_t ns)
{
	mt_json_key_double_or_null(j, k, ns != UINT64_MAX, (double)ns / 1e9);
}

void mt_lt_write_json(struct mt_json *j, const struct mt_lt_stats *s)
{
	unsigned b;

	mt_json_obj_begin(j);
	mt_json_key(j, "freed");
	mt_json_u64(j, s->freed);
	mt_json_key(j, "exact");
	mt_json_u64(j, s->exact);
	mt_json_key(j, "temporaries");
	mt_json_u64(j, s->temporaries);
	mt_json_key(j, "reallocs");
	mt_json_u64(j, s->reallocs);
	mt_json_key(j, "peak_live_objects");
	mt_json_u64(j, s->peak_live_objects);
	mt_json_key_double_or_null(j, "mean_s", s->freed,
				   s->freed ? s->lifetime_sum_s / (double)s->freed : 0);
	if (s->freed) {
		quantile_s(j, "p50_s", mt_lt_quantile(s, 0.5));
		quantile_s(j, "p90_s", mt_lt_quantile(s, 0.9));
	} else {
		mt_json_key(j, "p50_s");
		mt_json_null(j);
		mt_json_key(j, "p90_s");
		mt_json_null(j);
	}
	mt_json_key(j, "hist");
	mt_json_arr_begin(j);
	for (b = 0; b < MT_LT_NBUCKETS; b++) {
		if (!s->hist[b])
			continue;
		mt_json_obj_begin(j);
		mt_json_key(j, "lo_ns");
		mt_json_u64(j, mt_lt_bucket_lo(b));
		mt_json_key(j, "count");
		mt_json_u64(j, s->hist[b]);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_obj_end(j);
}

int mt_lifetime_write_json(struct mt_json *j, void *arg)
{
	mt_lt_write_json(j, mt_lifetime_get(arg, MT_SITE_NONE));
	return 0;
}

void mt_lifetime_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg)
{
	const struct mt_lt_stats *s = mt_lifetime_get(arg, site);
	static const struct mt_lt_stats none;

	if (!s)
		s = &none;
	mt_json_key(j, "temporaries");
	mt_json_u64(j, s->temporaries);
	mt_json_key(j, "lifetime");
	mt_lt_write_json(j, s);
}

int mt_lifetime_write_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_lt_stats *s = mt_lifetime_get(arg, MT_SITE_NONE);
	char a[16], b[16];
	unsigned k, col = 0;

	if (!final)
		return 0;
	fprintf(f, "lifetimes of %llu freed objects: p50 < %s, p90 < %s, mean %.3f ms, "
		"%.0f%% exact\n", (unsigned long long)s->freed,
		mt_lt_label(a, sizeof(a), mt_lt_quantile(s, 0.5)),
		mt_lt_label(b, sizeof(b), mt_lt_quantile(s, 0.9)),
		s->freed ? 1e3 * s->lifetime_sum_s / (double)s->freed : 0.0,
		s->freed ? 100.0 * (double)s->exact / (double)s->freed : 0.0);
	fprintf(f, "  temporaries %llu (%.1f%% of frees), reallocs %llu, peak live %llu objects\n",
		(unsigned long long)s->temporaries,
		s->freed ? 100.0 * (double)s->temporaries / (double)s->freed : 0.0,
		(unsigned long long)s->reallocs, (unsigned long long)s->peak_live_objects);
	for (k = 0; k < MT_LT_NBUCKETS && s->freed; k++) {
		if (!s->hist[k])
			continue;
		if (col == 0)
			fputs("  ", f);
		fprintf(f, " >=%-6s %5.1f%%", mt_lt_label(a, sizeof(a), mt_lt_bucket_lo(k)),
			100.0 * (double)s->hist[k] / (double)s->freed);
		if (++col == 4) {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col)
		fputc('\n', f);
	return 0;
}
