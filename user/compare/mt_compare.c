// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace compare: the comparison of two sides' rounds (mt_compare.h).
 * Reports are read twice: once for the members compared here (totals,
 * calls, leak summary, advice, pools: small), once by diff/ for the sites
 * of the two median rounds, keyed by stack as `memtrace diff` keys them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compare/mt_compare.h"
#include "diff/mt_diff.h"
#include "util/mt_json_read.h"
#include "util/mt_log.h"

const char *const mt_cmp_metric_names[MT_CMP_METRICS] = {
	[MT_CMP_CALLS] = "allocator_calls", [MT_CMP_CALLS_PER_S] = "calls_per_s",
	[MT_CMP_ALLOCS_FREES] = "allocs_frees", [MT_CMP_ALLOC_BYTES] = "alloc_bytes",
	[MT_CMP_PEAK_LIVE] = "peak_live_bytes", [MT_CMP_LEAK_BYTES] = "leak_bytes",
	[MT_CMP_PEAK_RSS] = "peak_rss_bytes", [MT_CMP_FAULTS] = "page_faults",
	[MT_CMP_CPU_S] = "cpu_s", [MT_CMP_WALL_S] = "wall_s",
	[MT_CMP_CPU_UNTRACED_S] = "cpu_untraced_s", [MT_CMP_WALL_UNTRACED_S] = "wall_untraced_s",
	[MT_CMP_PEAK_RSS_UNTRACED] = "peak_rss_untraced_bytes",
};

static const struct mt_jv_keep keep_report[] = {
	{ .key = "version" }, { .key = "duration_s" }, { .key = "totals" }, { .key = "calls" },
	{ .key = "leak_summary" }, { .key = "advice" }, { .key = "pools" }, { .key = "lost_events" },
	{ 0 },
};

/* The whole file; NULL with the error printed. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	struct stat st;
	int e;

	if (!f || fstat(fileno(f), &st))
		goto fail;
	s = malloc((size_t)st.st_size + 1);
	if (!s) {
		errno = ENOMEM;
		goto fail;
	}
	*len = fread(s, 1, (size_t)st.st_size, f);
	if (ferror(f))
		goto fail;
	s[*len] = 0;
	fclose(f);
	return s;
fail:
	e = errno;
	mt_err("cannot read '%s': %s", path, strerror(e));
	free(s);
	if (f)
		fclose(f);
	return NULL;
}

static int load(const char *path, struct mt_jv **out)
{
	char err[128] = "", *text;
	size_t len = 0;
	int rc;

	text = slurp(path, &len);
	if (!text)
		return -EIO;
	rc = mt_jv_parse_keep(text, len, keep_report, NULL, out, err, sizeof(err));
	free(text);
	if (rc) {
		mt_err("cannot parse '%s': %s", path, err[0] ? err : strerror(-rc));
		return rc;
	}
	if (!mt_jv_get(*out, "totals") || !mt_jv_get(*out, "duration_s")) {
		mt_err("'%s' is not a memtrace report with the heap traced", path);
		mt_jv_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* A round's metrics from its report and rusage. */
static void metrics(const struct mt_jv *doc, const struct mt_cmp_round *r, double *m, bool *known)
{
	const struct mt_jv *calls = mt_jv_get(doc, "calls"), *t = mt_jv_get(doc, "totals");
	uint64_t u = 0, v = 0;
	double d = 0, sum = 0;
	size_t i;

	for (i = 0; i < MT_CMP_METRICS; i++)
		known[i] = true;
	for (i = 0; calls && calls->type == MT_JV_OBJ && i < calls->n; i++)
		sum += calls->items[i].d;
	known[MT_CMP_CALLS] = calls && calls->type == MT_JV_OBJ;
	m[MT_CMP_CALLS] = sum;
	mt_jv_num(doc, "duration_s", &d);
	m[MT_CMP_CALLS_PER_S] = d > 0 ? sum / d : 0;
	known[MT_CMP_CALLS_PER_S] = known[MT_CMP_CALLS] && d > 0;
	known[MT_CMP_ALLOCS_FREES] = mt_jv_u64(t, "allocs", &u) && mt_jv_u64(t, "frees", &v);
	m[MT_CMP_ALLOCS_FREES] = (double)u + (double)v;
	known[MT_CMP_ALLOC_BYTES] = mt_jv_u64(t, "alloc_bytes", &u);
	m[MT_CMP_ALLOC_BYTES] = (double)u;
	known[MT_CMP_PEAK_LIVE] = mt_jv_u64(t, "peak_live_bytes", &u);
	m[MT_CMP_PEAK_LIVE] = (double)u;
	known[MT_CMP_LEAK_BYTES] = mt_jv_u64(mt_jv_get(doc, "leak_summary"), "bytes", &u);
	m[MT_CMP_LEAK_BYTES] = (double)u;
	known[MT_CMP_PEAK_RSS] = known[MT_CMP_FAULTS] = known[MT_CMP_CPU_S] = r->has_rusage;
	m[MT_CMP_PEAK_RSS] = (double)r->maxrss_bytes;
	m[MT_CMP_FAULTS] = (double)(r->minflt + r->majflt);
	m[MT_CMP_CPU_S] = r->user_s + r->sys_s;
	m[MT_CMP_WALL_S] = r->wall_s;
	known[MT_CMP_CPU_UNTRACED_S] = known[MT_CMP_WALL_UNTRACED_S] =
		known[MT_CMP_PEAK_RSS_UNTRACED] = r->untraced.ran;
	m[MT_CMP_CPU_UNTRACED_S] = r->untraced.user_s + r->untraced.sys_s;
	m[MT_CMP_WALL_UNTRACED_S] = r->untraced.wall_s;
	m[MT_CMP_PEAK_RSS_UNTRACED] = (double)r->untraced.maxrss_bytes;
}

static int dbl_cmp(const void *pa, const void *pb)
{
	double x = *(const double *)pa, y = *(const double *)pb;

	return x < y ? -1 : x > y;
}

/* The median of n values (the mean of the middle two for even n). */
static void stat_of(const double *v, size_t n, struct mt_cmp_stat *st)
{
	double s[n];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), dbl_cmp);
	st->min = s[0];
	st->max = s[n - 1];
	st->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Every round of one side: stats, the median round (by allocator calls:
 * the lower middle for even n, a round that happened), its document. */
static int side_stats(struct mt_cmp *c, int side, const struct mt_cmp_side *sd)
{
	size_t n = sd->nrounds, i, k, best = 0;
	double (*m)[MT_CMP_METRICS] = calloc(n, sizeof(*m));
	bool known[MT_CMP_METRICS];
	double col[n];
	int err = 0;

	if (!m)
		return -ENOMEM;
	for (k = 0; k < MT_CMP_METRICS; k++)
		c->stat[side][k].known = true;
	for (i = 0; i < n && !err; i++) {
		struct mt_jv *doc = NULL;

		err = load(sd->rounds[i].json_path, &doc);
		if (err)
			break;
		metrics(doc, &sd->rounds[i], m[i], known);
		for (k = 0; k < MT_CMP_METRICS; k++)
			c->stat[side][k].known &= known[k];
		mt_jv_free(doc);
	}
	if (!err) {
		for (k = 0; k < MT_CMP_METRICS; k++) {
			for (i = 0; i < n; i++)
				col[i] = m[i][k];
			stat_of(col, n, &c->stat[side][k]);
		}
		/* the median round: the one at rank (n-1)/2 by allocator calls */
		for (i = 0; i < n; i++) {
			size_t below = 0;

			for (k = 0; k < n; k++)
				below += m[k][MT_CMP_CALLS] < m[i][MT_CMP_CALLS] ||
					 (m[k][MT_CMP_CALLS] == m[i][MT_CMP_CALLS] && k < i);
			if (below == (n - 1) / 2)
				best = i;
		}
		c->med[side] = best;
		err = load(sd->rounds[best].json_path, &c->docs[side]);
	}
	if (!err)
		mt_jv_num(c->docs[side], "duration_s", &c->dur[side]);
	free(m);
	return err;
}

const char *mt_cmp_key_func(const char *frame, size_t *len)
{
	size_t n = strcspn(frame, "@\n");
	const char *plus = memchr(frame, '+', n);

	/* "f+0x10@mod": the offset is not the function; "mod+0x10" (no '@')
	 * has no function and names the module */
	if (plus && frame[n] == '@')
		n = (size_t)(plus - frame);
	*len = n;
	return frame;
}

bool mt_cmp_key_through(const char *b, const char *a)
{
	const char *a_rest = strchr(a, '\n');
	size_t alen, blen;
	const char *af = mt_cmp_key_func(a, &alen);

	if (strcmp(a, b) == 0)
		return true;
	/* frame 0 of b is the allocator's caller: there only the exact site */
	b = strchr(b, '\n');
	if (!b)
		return false;
	b++;
	for (;;) {
		const char *bf = mt_cmp_key_func(b, &blen);
		const char *b_rest = strchr(b, '\n');

		if (blen == alen && memcmp(af, bf, alen) == 0 &&
		    (a_rest ? b_rest && strcmp(a_rest, b_rest) == 0 : !b_rest))
			return true;
		if (!b_rest)
			return false;
		b = b_rest + 1;
	}
}

static uint64_t calls_of(const uint64_t *v)
{
	return v[MT_DIFF_S_ALLOCS] + v[MT_DIFF_S_FREES];
}

static char *func_of_key(const char *key)
{
	size_t n;
	const char *f = mt_cmp_key_func(key, &n);

	return strndup(f, n);
}

/* A's advice (pools only) against B's sites through the pool. */
static int advice(struct mt_cmp *c, const struct mt_diff *d)
{
	const struct mt_jv *adv = mt_jv_get(c->docs[0], "advice");
	size_t i, j;

	if (!adv || adv->type != MT_JV_ARR)
		return 0;
	c->advice = calloc(adv->n ? adv->n : 1, sizeof(*c->advice));
	if (!c->advice)
		return -ENOMEM;
	for (i = 0; i < adv->n; i++) {
		const struct mt_jv *e = &adv->items[i];
		const char *pool = mt_jv_str(e, "pool");
		struct mt_cmp_advice *x;
		char *key = NULL;
		double pred = 0;

		if (!pool || strcmp(pool, "none") == 0)
			continue;
		if (mt_diff_stack_key(mt_jv_get(e, "stack"), &key))
			return -ENOMEM;
		x = &c->advice[c->nadvice++];
		x->key = key;
		x->pool = strdup(pool);
		x->where = func_of_key(key);
		if (!x->pool || !x->where)
			return -ENOMEM;
		mt_jv_num(e, "calls_saved_per_s", &pred);
		x->predicted_per_s = pred;
		x->predicted_calls = pred * c->dur[0];
		for (j = 0; j < d->nsites; j++) {
			const struct mt_diff_site *s = &d->sites[j];

			if (s->in_a && strcmp(s->key, key) == 0)
				x->calls_a += calls_of(s->a);
			if (s->in_b && mt_cmp_key_through(s->key, key))
				x->calls_b += calls_of(s->b);
		}
		x->achieved_calls = (int64_t)x->calls_a - (int64_t)x->calls_b;
		x->achieved_per_s = (c->dur[0] > 0 ? x->calls_a / c->dur[0] : 0) -
				    (c->dur[1] > 0 ? x->calls_b / c->dur[1] : 0);
	}
	return 0;
}

/* Calls per second saved at each advised site in one pair of rounds. */
static void pair_achieved(const struct mt_diff *d, const struct mt_cmp_advice *x, double *out)
{
	double da = d->ra[MT_DIFF_R_DURATION_S], db = d->rb[MT_DIFF_R_DURATION_S];
	uint64_t ca = 0, cb = 0;
	size_t j;

	for (j = 0; j < d->nsites; j++) {
		const struct mt_diff_site *s = &d->sites[j];

		if (s->in_a && strcmp(s->key, x->key) == 0)
			ca += calls_of(s->a);
		if (s->in_b && mt_cmp_key_through(s->key, x->key))
			cb += calls_of(s->b);
	}
	*out = (da > 0 ? ca / da : 0) - (db > 0 ? cb / db : 0);
}

/* The range of what B achieved at each advised site over the round
 * pairs (A round i against B round i). */
static int advice_ranges(struct mt_cmp *c)
{
	size_t n = c->a->nrounds < c->b->nrounds ? c->a->nrounds : c->b->nrounds, i, k;

	for (k = 0; k < c->nadvice; k++)
		c->advice[k].achieved_min = c->advice[k].achieved_max = c->advice[k].achieved_per_s;
	for (i = 0; i < n && c->nadvice; i++) {
		const char *pa = c->a->rounds[i].json_path, *pb = c->b->rounds[i].json_path;
		struct mt_diff_input *ia = NULL, *ib = NULL;
		struct mt_diff d = { 0 };
		int err;

		if (mt_diff_load(pa, &ia) || mt_diff_load(pb, &ib)) {
			mt_diff_input_free(ia);
			return -EINVAL;
		}
		err = mt_diff_build(&d, ia, ib, pa, pb);
		if (err) {
			mt_err("cannot compare '%s' and '%s': %s", pa, pb, strerror(-err));
			return err;
		}
		for (k = 0; k < c->nadvice; k++) {
			struct mt_cmp_advice *x = &c->advice[k];
			double v;

			pair_achieved(&d, x, &v);
			if (v < x->achieved_min)
				x->achieved_min = v;
			if (v > x->achieved_max)
				x->achieved_max = v;
		}
		mt_diff_release(&d);
	}
	return 0;
}

static int64_t site_delta(const struct mt_cmp_site *s)
{
	return (int64_t)(s->b[0] + s->b[1]) - (int64_t)(s->a[0] + s->a[1]);
}

static int site_cmp(const void *pa, const void *pb)
{
	const struct mt_cmp_site *x = pa, *y = pb;
	int64_t dx = site_delta(x), dy = site_delta(y);
	uint64_t ax = dx < 0 ? (uint64_t)-dx : (uint64_t)dx, ay = dy < 0 ? (uint64_t)-dy : (uint64_t)dy;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int sites(struct mt_cmp *c, struct mt_diff *d)
{
	static const int fields[4] = { MT_DIFF_S_ALLOCS, MT_DIFF_S_FREES, MT_DIFF_S_ALLOC_BYTES,
				       MT_DIFF_S_PEAK_LIVE_BYTES };
	size_t i, k;

	c->sites = calloc(d->nsites ? d->nsites : 1, sizeof(*c->sites));
	if (!c->sites)
		return -ENOMEM;
	for (i = 0; i < d->nsites; i++) {
		struct mt_cmp_site *s = &c->sites[c->nsites];

		s->key = d->sites[i].key;   /* taken over: diff's release skips NULL */
		d->sites[i].key = NULL;
		s->in_a = d->sites[i].in_a;
		s->in_b = d->sites[i].in_b;
		for (k = 0; k < 4; k++) {
			s->a[k] = d->sites[i].a[fields[k]];
			s->b[k] = d->sites[i].b[fields[k]];
		}
		c->nsites++;
	}
	qsort(c->sites, c->nsites, sizeof(*c->sites), site_cmp);
	return 0;
}

int mt_cmp_build(struct mt_cmp *c, const struct mt_cmp_side *a, const struct mt_cmp_side *b,
		 char **cmd)
{
	struct mt_diff_input *ia = NULL, *ib = NULL;
	struct mt_diff d = { 0 };
	const char *pa, *pb;
	int err;

	memset(c, 0, sizeof(*c));
	c->a = a;
	c->b = b;
	c->cmd = cmd;
	if (!a->nrounds || !b->nrounds)
		return -EINVAL;
	err = side_stats(c, 0, a);
	if (!err)
		err = side_stats(c, 1, b);
	if (err)
		return err;
	pa = a->rounds[c->med[0]].json_path;
	pb = b->rounds[c->med[1]].json_path;
	if (mt_diff_load(pa, &ia) || mt_diff_load(pb, &ib)) {
		mt_diff_input_free(ia);
		return -EINVAL;
	}
	err = mt_diff_build(&d, ia, ib, pa, pb);
	if (err) {
		mt_err("cannot compare '%s' and '%s': %s", pa, pb, strerror(-err));
		return err;
	}
	err = advice(c, &d);
	if (!err)
		err = sites(c, &d);
	if (err)
		mt_err("cannot compare '%s' and '%s': %s", pa, pb, strerror(-err));
	mt_diff_release(&d);
	if (!err)
		err = advice_ranges(c);
	return err;
}

void mt_cmp_release(struct mt_cmp *c)
{
	size_t i;

	for (i = 0; i < c->nadvice; i++) {
		free(c->advice[i].pool);
		free(c->advice[i].where);
		free(c->advice[i].key);
	}
	free(c->advice);
	for (i = 0; i < c->nsites; i++)
		free(c->sites[i].key);
	free(c->sites);
	mt_jv_free(c->docs[0]);
	mt_jv_free(c->docs[1]);
	memset(c, 0, sizeof(*c));
}
