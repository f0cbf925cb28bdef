// SPDX-License-Identifier: BSD-2-Clause
/*
 * Trend analysis. The series of all sites share one clock: sample w of
 * every site was taken at ts[w], so a site first seen late simply has zeros
 * (it had nothing live) before.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "collect/mt_agg.h"
#include "util/mt_json.h"
#include "report/mt_report.h"
#include "analyze/mt_trend.h"
#include "util/mt_stats.h"
#include "util/mt_grow.h"

#define W MT_TREND_MAX_WINDOWS
#define MS 1000000ull
#define MK_Z_MIN 2.33          /* one-sided p < 0.01 */
#define GROWTH_FRACTION_MIN 0.6
#define FREED_PEAK_DIV 10      /* live <= peak / 10: freed */
#define NO_RESULT UINT32_MAX

struct mt_trend {
	struct mt_agg *agg;
	unsigned nw;               /* samples held, <= W */
	unsigned stride;           /* ticks per sample, doubles on merge */
	uint64_t tick;
	double ts[W];              /* sample times, s since attach */
	uint32_t cap;              /* sites with series */
	uint64_t (*bytes)[W], (*objs)[W]; /* [site][w] */
	uint32_t (*fage)[W];       /* oldest freed age in window w, ms */
	uint32_t cur_cap;
	uint32_t *cur_fage;        /* oldest freed age since the last sample, ms */
	struct mt_trend_site *res;
	size_t nres;
	uint32_t *res_index;       /* site -> index in res, NO_RESULT */
	uint32_t res_cap;
	struct mt_sym *sym;        /* for the report's stacks */
	unsigned top;
};

const char *mt_trend_class_name(enum mt_trend_class c)
{
	static const char *const names[] = { "unknown", "growing", "churning", "freed", "plateau" };

	return c <= MT_TREND_PLATEAU ? names[c] : "?";
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return a < b ? -1 : a > b;
}

double mt_trend_theil_sen(const double *x, const double *y, unsigned n)
{
	double s[W * (W - 1) / 2];
	unsigned i, j, k = 0;

	if (n > W)
		n = W;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (x[j] > x[i])
				s[k++] = (y[j] - y[i]) / (x[j] - x[i]);
	if (!k)
		return 0;
	qsort(s, k, sizeof(*s), cmp_double);
	return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

static int grow_cur(struct mt_trend *t, uint32_t site)
{
	return MT_GROW(t->cur_fage, (size_t)site + 1, t->cur_cap);
}

static void on_alloc(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
		     uint64_t addr, uint64_t size)
{
	if (site != MT_SITE_NONE)
		grow_cur(arg, site);
}

static void on_release(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
		       uint64_t addr, uint64_t size, uint64_t alloc_ts_ns)
{
	struct mt_trend *t = arg;
	uint64_t ms;

	if (site == MT_SITE_NONE || site >= t->cur_cap || ts_ns <= alloc_ts_ns)
		return;
	ms = (ts_ns - alloc_ts_ns) / MS;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	if (ms > t->cur_fage[site])
		t->cur_fage[site] = (uint32_t)ms;
}

struct mt_trend *mt_trend_new(struct mt_agg *a)
{
	struct mt_trend *t = calloc(1, sizeof(*t));
	struct mt_agg_observer o = { .on_alloc = on_alloc, .on_release = on_release };
	int err;

	if (!t)
		return NULL;
	t->agg = a;
	t->stride = 1;
	o.arg = t;
	err = mt_agg_add_observer(a, &o);
	if (err) {
		free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

void mt_trend_free(struct mt_trend *t)
{
	if (!t)
		return;
	free(t->bytes);
	free(t->objs);
	free(t->fage);
	free(t->cur_fage);
	free(t->res);
	free(t->res_index);
	free(t);
}

/* Series for nsites sites: three columns sharing t->cap, each grown with
 * its own copy of it. */
static int grow_series(struct mt_trend *t, uint32_t nsites)
{
	uint32_t bcap = t->cap, ocap = t->cap, fcap = t->cap;

	if (MT_GROW(t->bytes, nsites, bcap) || MT_GROW(t->objs, nsites, ocap) ||
	    MT_GROW(t->fage, nsites, fcap))
		return -ENOMEM;
	t->cap = bcap;
	return 0;
}

/* Halve the resolution: keep the later sample of each pair. */
static void merge_windows(struct mt_trend *t)
{
	uint32_t s;
	unsigned i;

	for (i = 0; i < W / 2; i++)
		t->ts[i] = t->ts[2 * i + 1];
	for (s = 0; s < t->cap; s++) {
		uint64_t *b = t->bytes[s], *o = t->objs[s];
		uint32_t *f = t->fage[s];

		for (i = 0; i < W / 2; i++) {
			b[i] = b[2 * i + 1];
			o[i] = o[2 * i + 1];
			f[i] = f[2 * i] > f[2 * i + 1] ? f[2 * i] : f[2 * i + 1];
		}
	}
	t->nw = W / 2;
	t->stride *= 2;
}

int mt_trend_sample(struct mt_trend *t, uint64_t now_ns)
{
	uint32_t nsites = mt_agg_nsites(t->agg), s;
	uint64_t start = mt_agg_start_ns(t->agg);

	if (++t->tick % t->stride)
		return 0;
	if (grow_series(t, nsites))
		return -ENOMEM;
	if (t->nw == W)
		merge_windows(t);
	t->ts[t->nw] = now_ns > start ? (double)(now_ns - start) / 1e9 : 0;
	for (s = 0; s < nsites; s++) {
		const struct mt_site *site = mt_agg_site_get(t->agg, s);

		t->bytes[s][t->nw] = site->c.live_bytes;
		t->objs[s][t->nw] = site->c.live_objects;
		t->fage[s][t->nw] = s < t->cur_cap ? t->cur_fage[s] : 0;
		if (s < t->cur_cap)
			t->cur_fage[s] = 0;
	}
	t->nw++;
	return 0;
}

unsigned mt_trend_nwindows(const struct mt_trend *t)
{
	return t->nw;
}

/* Per-site view of the live table at analysis: oldest and newest
 * allocation, and (second pass) the ages of every live object. */
struct live_pass {
	uint64_t *oldest, *newest;   /* [site] */
	uint64_t *ages;              /* ns, grouped by site */
	size_t *fill, *off;          /* [site] */
	size_t nages;
	const struct mt_agg *agg;
	uint64_t now;
	uint32_t nsites;
};

static int live_span(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t ts)
{
	struct live_pass *p = arg;

	if (site >= p->nsites)
		return 0;
	if (!p->oldest[site] || ts < p->oldest[site])
		p->oldest[site] = ts;
	if (ts > p->newest[site])
		p->newest[site] = ts;
	return 0;
}

static int live_ages(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t ts)
{
	struct live_pass *p = arg;
	size_t i;

	if (site >= p->nsites || p->off[site] == SIZE_MAX ||
	    p->fill[site] >= mt_agg_site_get(p->agg, site)->c.live_objects)
		return 0;
	i = p->off[site] + p->fill[site];
	p->ages[i] = p->now > ts ? p->now - ts : 0;
	p->fill[site]++;
	return 0;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

static int cmp_result(const void *pa, const void *pb)
{
	const struct mt_trend_site *a = pa, *b = pb;
	int ga = a->cls == MT_TREND_GROWING, gb = b->cls == MT_TREND_GROWING;

	if (ga != gb)
		return gb - ga;
	if (ga && a->slope_bytes_per_s != b->slope_bytes_per_s)
		return a->slope_bytes_per_s > b->slope_bytes_per_s ? -1 : 1;
	if (a->live_bytes != b->live_bytes)
		return a->live_bytes > b->live_bytes ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

static void classify(struct mt_trend *t, struct mt_trend_site *r, uint64_t oldest_age_ms)
{
	/* a site born after the last window has no series (none at all when
	 * the windows so far were taken before any site existed) */
	bool has = r->site < t->cap;
	const uint64_t *b = has ? t->bytes[r->site] : NULL, *o = has ? t->objs[r->site] : NULL;
	const uint32_t *f = has ? t->fage[r->site] : NULL;
	unsigned n = has ? t->nw : 0, r0 = n >= 2 * MT_TREND_MIN_WINDOWS ? n / 2 : 0, m = n - r0, i, up = 0;
	double yb[W] = { 0 }, yo[W] = { 0 };
	uint64_t fmax = r->site < t->cur_cap ? t->cur_fage[r->site] : 0;

	for (i = 0; i < n; i++)
		if (b[i] > r->peak_bytes)
			r->peak_bytes = b[i];
	r->windows = m;
	if (n < MT_TREND_MIN_WINDOWS) {
		r->cls = MT_TREND_UNKNOWN;
		return;
	}
	for (i = 0; i < m; i++) {
		yb[i] = (double)b[r0 + i];
		yo[i] = (double)o[r0 + i];
		if (f[r0 + i] > fmax)
			fmax = f[r0 + i];
		if (i && b[r0 + i] > b[r0 + i - 1])
			up++;
	}
	r->slope_bytes_per_s = mt_trend_theil_sen(t->ts + r0, yb, m);
	r->slope_objects_per_s = mt_trend_theil_sen(t->ts + r0, yo, m);
	r->mk_z = mt_mann_kendall_z(yb, m);
	r->growth_fraction = m > 1 ? (double)up / (m - 1) : 0;
	r->max_freed_age_s = (double)fmax / 1e3;
	if (r->mk_z >= MK_Z_MIN && r->slope_bytes_per_s > 0 && r->growth_fraction >= GROWTH_FRACTION_MIN)
		r->cls = oldest_age_ms && fmax * 2 >= oldest_age_ms ? MT_TREND_CHURNING : MT_TREND_GROWING;
	else if (r->peak_bytes && r->live_bytes * FREED_PEAK_DIV <= r->peak_bytes)
		r->cls = MT_TREND_FREED;
	else
		r->cls = MT_TREND_PLATEAU;
}

static int has_samples(const struct mt_trend *t, uint32_t s)
{
	unsigned i;

	if (s >= t->cap)
		return 0;
	for (i = 0; i < t->nw; i++)
		if (t->bytes[s][i])
			return 1;
	return 0;
}

static double quantile_s(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return (double)v[i < n ? i : n - 1] / 1e9;
}

int mt_trend_analyze(struct mt_trend *t, uint64_t now_ns)
{
	uint32_t nsites = mt_agg_nsites(t->agg), s;
	uint64_t start = mt_agg_start_ns(t->agg);
	struct live_pass p = { .now = now_ns, .nsites = nsites, .agg = t->agg };
	size_t n = 0, i, total = 0;
	int err = -ENOMEM;

	free(t->res);
	free(t->res_index);
	t->res = NULL;
	t->res_index = NULL;
	t->nres = 0;
	t->res_cap = 0;
	p.oldest = calloc(nsites + 1, sizeof(*p.oldest));
	p.newest = calloc(nsites + 1, sizeof(*p.newest));
	p.fill = calloc(nsites + 1, sizeof(*p.fill));
	p.off = malloc((nsites + 1) * sizeof(*p.off));
	t->res = calloc(nsites + 1, sizeof(*t->res));
	t->res_index = malloc((nsites + 1) * sizeof(*t->res_index));
	if (!p.oldest || !p.newest || !p.fill || !p.off || !t->res || !t->res_index)
		goto out;
	t->res_cap = nsites;
	mt_agg_live_foreach(t->agg, live_span, &p);
	for (s = 0; s < nsites; s++) {
		const struct mt_site *site = mt_agg_site_get(t->agg, s);
		struct mt_trend_site *r;

		p.off[s] = SIZE_MAX;
		t->res_index[s] = NO_RESULT;
		if (!site->c.live_objects && !has_samples(t, s))
			continue;
		r = &t->res[n++];
		r->site = s;
		r->live_bytes = site->c.live_bytes;
		r->live_objects = site->c.live_objects;
		r->age_p50_s = r->age_p90_s = r->age_max_s = -1;
		r->first_seen_s = r->last_seen_s = -1;
		if (site->c.live_objects) {
			p.off[s] = total;
			total += site->c.live_objects;
			r->first_seen_s = p.oldest[s] > start ? (double)(p.oldest[s] - start) / 1e9 : 0;
			r->last_seen_s = p.newest[s] > start ? (double)(p.newest[s] - start) / 1e9 : 0;
		}
		classify(t, r, p.oldest[s] && now_ns > p.oldest[s] ? (now_ns - p.oldest[s]) / MS : 0);
	}
	/* Ages: one array for all sites, each sorted for its quantiles. */
	p.nages = total;
	p.ages = malloc((total ? total : 1) * sizeof(*p.ages));
	if (!p.ages)
		goto out;
	mt_agg_live_foreach(t->agg, live_ages, &p);
	for (i = 0; i < n; i++) {
		struct mt_trend_site *r = &t->res[i];
		size_t k = p.fill[r->site];
		uint64_t *a = p.ages + (p.off[r->site] == SIZE_MAX ? 0 : p.off[r->site]);

		if (!k)
			continue;
		qsort(a, k, sizeof(*a), cmp_u64);
		r->age_p50_s = quantile_s(a, k, 0.5);
		r->age_p90_s = quantile_s(a, k, 0.9);
		r->age_max_s = (double)a[k - 1] / 1e9;
	}
	qsort(t->res, n, sizeof(*t->res), cmp_result);
	for (i = 0; i < n; i++)
		t->res_index[t->res[i].site] = (uint32_t)i;
	t->nres = n;
	err = 0;
out:
	free(p.oldest);
	free(p.newest);
	free(p.fill);
	free(p.off);
	free(p.ages);
	return err;
}

size_t mt_trend_results(const struct mt_trend *t, const struct mt_trend_site **out)
{
	*out = t->res;
	return t->nres;
}

const struct mt_trend_site *mt_trend_get(const struct mt_trend *t, uint32_t site)
{
	if (!t->res_index || site >= t->res_cap || t->res_index[site] == NO_RESULT)
		return NULL;
	return &t->res[t->res_index[site]];
}

bool mt_trend_keep_leak(void *arg, uint32_t site)
{
	const struct mt_trend_site *r = mt_trend_get(arg, site);

	return !r || r->cls == MT_TREND_GROWING || r->cls == MT_TREND_UNKNOWN;
}

/* Seconds, or null when unknown (negative). */
static void key_seconds(struct mt_json *j, const char *k, double v)
{
	mt_json_key_double_or_null(j, k, v >= 0, v);
}

void mt_trend_write_site_json(struct mt_json *j, const struct mt_trend_site *r)
{
	mt_json_obj_begin(j);
	mt_json_key(j, "class");
	mt_json_str(j, mt_trend_class_name(r->cls));
	mt_json_key(j, "windows");
	mt_json_u64(j, r->windows);
	mt_json_key(j, "slope_bytes_per_s");
	mt_json_double(j, r->slope_bytes_per_s);
	mt_json_key(j, "slope_objects_per_s");
	mt_json_double(j, r->slope_objects_per_s);
	mt_json_key(j, "mk_z");
	mt_json_double(j, r->mk_z);
	mt_json_key(j, "growth_fraction");
	mt_json_double(j, r->growth_fraction);
	mt_json_key(j, "max_freed_age_s");
	mt_json_double(j, r->max_freed_age_s);
	mt_json_key(j, "peak_sampled_bytes");
	mt_json_u64(j, r->peak_bytes);
	key_seconds(j, "age_p50_s", r->age_p50_s);
	key_seconds(j, "age_p90_s", r->age_p90_s);
	key_seconds(j, "age_max_s", r->age_max_s);
	key_seconds(j, "first_seen_s", r->first_seen_s);
	key_seconds(j, "last_seen_s", r->last_seen_s);
	mt_json_obj_end(j);
}

void mt_trend_set_report(struct mt_trend *t, struct mt_sym *sym, unsigned top)
{
	t->sym = sym;
	t->top = top;
}

static double window_s(const struct mt_trend *t)
{
	return t->nw > 1 ? (t->ts[t->nw - 1] - t->ts[0]) / (t->nw - 1) : 0;
}

static size_t nshown(const struct mt_trend *t)
{
	size_t i, others = 0, limit = 2 * (size_t)(t->top ? t->top : 10);

	for (i = 0; i < t->nres; i++) {
		if (t->res[i].cls == MT_TREND_GROWING || t->res[i].cls == MT_TREND_CHURNING)
			continue;
		if (others++ == limit)
			break;
	}
	return i;
}

int mt_trend_write_json(struct mt_json *j, void *arg)
{
	const struct mt_trend *t = arg;
	size_t i, n = nshown(t);
	int err = 0;

	mt_json_obj_begin(j);
	mt_json_key(j, "windows");
	mt_json_u64(j, t->nw);
	mt_json_key(j, "window_s");
	mt_json_double(j, window_s(t));
	mt_json_key(j, "sites");
	mt_json_arr_begin(j);
	for (i = 0; i < t->nres; i++) {
		const struct mt_trend_site *r = &t->res[i];
		struct mt_report_stack st = { 0 };

		if (i >= n && r->cls != MT_TREND_GROWING && r->cls != MT_TREND_CHURNING)
			continue;
		mt_json_obj_begin(j);
		mt_json_key(j, "site");
		mt_json_u64(j, r->site);
		mt_json_key(j, "live_bytes");
		mt_json_u64(j, r->live_bytes);
		mt_json_key(j, "live_objects");
		mt_json_u64(j, r->live_objects);
		mt_json_key(j, "trend");
		mt_trend_write_site_json(j, r);
		mt_json_key(j, "stack");
		if (!err)
			err = mt_report_stack_get(&st, t->agg, t->sym, r->site);
		mt_report_json_stack(j, &st);
		mt_report_stack_release(&st);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_obj_end(j);
	return err;
}

void mt_trend_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg)
{
	const struct mt_trend_site *r = mt_trend_get(arg, site);

	mt_json_key(j, "trend");
	if (r)
		mt_trend_write_site_json(j, r);
	else
		mt_json_null(j);
}

int mt_trend_write_text(FILE *f, const struct mt_report *rep, bool final, void *arg)
{
	const struct mt_trend *t = arg;
	unsigned cnt[MT_TREND_PLATEAU + 1] = { 0 }, rank = 0;
	size_t i;
	int err = 0;

	if (!final)
		return 0;
	for (i = 0; i < t->nres; i++)
		cnt[t->res[i].cls]++;
	fprintf(f, "growing sites (%u windows of %.1f s): %u growing, %u churning, "
		"%u plateau, %u freed\n", t->nw, window_s(t), cnt[MT_TREND_GROWING],
		cnt[MT_TREND_CHURNING], cnt[MT_TREND_PLATEAU], cnt[MT_TREND_FREED]);
	if (t->nw < MT_TREND_MIN_WINDOWS)
		fprintf(f, "  too few windows to judge (%d needed)\n", MT_TREND_MIN_WINDOWS);
	for (i = 0; i < t->nres && !err; i++) {
		const struct mt_trend_site *r = &t->res[i];
		struct mt_report_stack st = { 0 };

		if (r->cls != MT_TREND_GROWING)
			continue;
		fprintf(f, "  #%u +%.1f B/s (+%.2f objects/s), z %.1f, %.0f%% of windows up; "
			"%llu B live in %llu objects\n", ++rank, r->slope_bytes_per_s,
			r->slope_objects_per_s, r->mk_z, 100 * r->growth_fraction,
			(unsigned long long)r->live_bytes, (unsigned long long)r->live_objects);
		if (r->age_max_s >= 0)
			fprintf(f, "     ages p50 %.1f s, p90 %.1f s, max %.1f s; first seen %.1f s, "
				"last %.1f s after attach\n", r->age_p50_s, r->age_p90_s,
				r->age_max_s, r->first_seen_s, r->last_seen_s);
		err = mt_report_stack_get(&st, t->agg, t->sym, r->site);
		mt_report_text_stack(f, &st, rep->opts.max_frames);
		mt_report_stack_release(&st);
	}
	return err;
}
