// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analyze/mt_advice.h"
#include "collect/mt_agg.h"
#include "analyze/mt_analysis.h"
#include "analyze/mt_lifetime.h"
#include "util/mt_log.h"
#include "report/mt_report.h"
#include "analyze/mt_sizeclass.h"
#include "analyze/mt_trend.h"

struct mt_analysis {
	struct mt_agg *agg;
	struct mt_lifetime *lt;
	struct mt_sizeclass *sc;
	struct mt_trend *trend;
	bool analyzed;
	struct mt_advice *advice;
	struct mt_advice_set set;
};

struct mt_analysis *mt_analysis_new(struct mt_agg *a)
{
	struct mt_analysis *an = calloc(1, sizeof(*an));

	if (!an)
		goto fail;
	an->agg = a;
	an->lt = mt_lifetime_new(a);
	an->sc = an->lt ? mt_sizeclass_new(a) : NULL;
	an->trend = an->sc ? mt_trend_new(a) : NULL;
	if (!an->trend)
		goto fail;
	return an;
fail:
	mt_err("cannot set up the lifetime, size-class and trend analyses: %s", strerror(errno));
	mt_analysis_free(an);
	return NULL;
}

void mt_analysis_free(struct mt_analysis *an)
{
	if (!an)
		return;
	mt_trend_free(an->trend);
	mt_sizeclass_free(an->sc);
	mt_lifetime_free(an->lt);
	free(an->advice);
	free(an);
}

void mt_analysis_tick(struct mt_analysis *an, uint64_t now_ns)
{
	/* A skipped sample (out of memory) only thins the series. */
	mt_trend_sample(an->trend, now_ns);
}

/* --sort growth: the trend's live bytes per second; 0 for a site it did
 * not classify (nothing live, nothing sampled). */
static double growth_score(void *arg, uint32_t site)
{
	const struct mt_trend_site *ts = mt_trend_get(arg, site);

	return ts ? ts->slope_bytes_per_s : 0;
}

int mt_analysis_prepare(struct mt_analysis *an, uint64_t now_ns, struct mt_report_opts *o)
{
	int err = mt_trend_analyze(an->trend, now_ns);

	an->analyzed = !err;
	if (err) {
		mt_err("cannot analyze the growth trends: %s", strerror(-err));
		return err;
	}
	if (o->sort == MT_SORT_GROWTH) {
		o->score = growth_score;
		o->score_arg = an->trend;
	}
	if (!o->launch) {
		o->keep_leak = mt_trend_keep_leak;
		o->keep_leak_arg = an->trend;
	}
	return 0;
}

bool mt_analysis_growing(void *arg, uint32_t site)
{
	struct mt_analysis *an = arg;
	const struct mt_trend_site *ts = an && an->analyzed ? mt_trend_get(an->trend, site) : NULL;

	return ts && ts->cls == MT_TREND_GROWING;
}

int mt_analysis_add(struct mt_analysis *an, struct mt_report *r, struct mt_sym *sym)
{
	uint32_t nsites = mt_agg_nsites(an->agg);
	uint64_t *leaked = calloc(nsites + 1, sizeof(*leaked));
	int n, err = 0;

	free(an->advice);
	an->advice = NULL;
	/* The report's leaks by site (merged ones of other processes have
	 * other ids: left out), so advice does not size a pool to a leak;
	 * definitely lost ones when the reachability scan ran (a bounded
	 * cache still reachable at exit is no leak to fix). */
	for (size_t i = 0; leaked && i < r->nleaks; i++)
		if (!r->leaks[i].borrowed && r->leaks[i].site < nsites)
			leaked[r->leaks[i].site] += r->reach ? r->leaks[i].lost_objects :
							       r->leaks[i].objects;
	n = mt_advice_build(an->agg, an->lt, an->sc, r->duration_s, r->opts.top_sites,
			    leaked, leaked ? nsites : 0, &an->advice);
	free(leaked);
	an->set = (struct mt_advice_set){ an->advice, n > 0 ? (size_t)n : 0, an->agg, sym };
	mt_trend_set_report(an->trend, sym, r->opts.top_sites);
	if (an->analyzed) {
		err = mt_report_add_extra(r, "trend", mt_trend_write_json, mt_trend_write_text, an->trend);
		if (!err)
			err = mt_report_add_site_extra(r, mt_trend_site_json, an->trend);
	}
	if (!err)
		err = mt_report_add_extra(r, "lifetimes", mt_lifetime_write_json,
					  mt_lifetime_write_text, an->lt);
	if (!err)
		err = mt_report_add_extra(r, "size_classes", mt_sizeclass_write_json,
					  mt_sizeclass_write_text, an->sc);
	if (!err && n >= 0)
		err = mt_report_add_extra(r, "advice", mt_advice_write_json, mt_advice_write_text,
					  &an->set);
	if (!err)
		err = mt_report_add_site_extra(r, mt_lifetime_site_json, an->lt);
	if (!err)
		err = mt_report_add_site_extra(r, mt_sizeclass_site_json, an->sc);
	if (n < 0)
		err = n;
	if (err)
		mt_err("warning: analysis sections are missing from the report: %s", strerror(-err));
	return err;
}
