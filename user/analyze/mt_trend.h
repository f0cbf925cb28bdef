/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Leak candidates by growth trend. memtrace samples every site's live bytes
 * and objects once a second (mt_trend_sample, independent of -i); at report
 * time each site is classified from its series:
 *
 *   growing   the recent half of the windows (all of them below 10) rises
 *             significantly: Mann-Kendall z >= 2.33 (one-sided p < 0.01),
 *             a positive Theil-Sen slope, and at least 60% of the steps up;
 *             and the site does not free objects nearly as old as its oldest
 *             live one. These are the trend-based leak candidates.
 *   churning  rises like that, but the site freed (in the recent half) an
 *             object at least half as old as its oldest live object: it
 *             recycles its oldest objects (a cache still filling, a TTL).
 *   freed     live bytes fell to at most 10% of their sampled peak (a burst
 *             freed later, or short-lived churn).
 *   plateau   anything else: stable or not significantly growing.
 *   unknown   fewer than MT_TREND_MIN_WINDOWS windows: no judgement.
 *
 * Memory is bounded: at most MT_TREND_MAX_WINDOWS samples per site; when
 * full, pairs of windows merge (the later sample is kept, freed ages take
 * the max) and the sampling period doubles. Cost: 20 bytes per site per
 * window (~1.3 KB per site), O(sites) per sample, one O(1) update per
 * free; the analysis is O(sites * windows^2) plus two passes over the live
 * table.
 */
#ifndef MT_TREND_H
#define MT_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MT_TREND_MAX_WINDOWS 64
#define MT_TREND_MIN_WINDOWS 5

struct mt_agg;
struct mt_json;
struct mt_trend;

enum mt_trend_class {
	MT_TREND_UNKNOWN, MT_TREND_GROWING, MT_TREND_CHURNING, MT_TREND_FREED, MT_TREND_PLATEAU,
};

struct mt_trend_site {
	uint32_t site;
	enum mt_trend_class cls;
	unsigned windows;            /* samples judged (the recent half) */
	double slope_bytes_per_s;    /* Theil-Sen, over the judged samples */
	double slope_objects_per_s;
	double mk_z;                 /* Mann-Kendall z of live bytes */
	double growth_fraction;      /* steps where live bytes rose */
	double max_freed_age_s;      /* oldest object freed in those windows */
	uint64_t peak_bytes;         /* highest sampled live bytes */
	uint64_t live_bytes, live_objects; /* at analysis */
	/* Ages of the site's live objects at analysis (s); -1 when none. */
	double age_p50_s, age_p90_s, age_max_s;
	double first_seen_s, last_seen_s;  /* their allocation times since attach */
};

/* Subscribes to a (which must outlive it). NULL with errno on failure. */
struct mt_trend *mt_trend_new(struct mt_agg *a);
void mt_trend_free(struct mt_trend *t);           /* accepts NULL */

/* Take one sample of every site at now_ns. 0 or -ENOMEM (the sample is
 * then skipped). */
int mt_trend_sample(struct mt_trend *t, uint64_t now_ns);
unsigned mt_trend_nwindows(const struct mt_trend *t);

/* Classify the sites that have live objects or a non-zero sample. Results
 * are kept in t until the next call: growing first by bytes/s, then by live
 * bytes. 0 or -ENOMEM. */
int mt_trend_analyze(struct mt_trend *t, uint64_t now_ns);
size_t mt_trend_results(const struct mt_trend *t, const struct mt_trend_site **out);
/* The result of one site, NULL when it was not classified. */
const struct mt_trend_site *mt_trend_get(const struct mt_trend *t, uint32_t site);
const char *mt_trend_class_name(enum mt_trend_class c);

/* Leak filter for struct mt_report_opts: false (drop) for a site the
 * analysis judged plateau, freed or churning; true otherwise (growing,
 * unknown, or too few windows). arg is the struct mt_trend. */
bool mt_trend_keep_leak(void *arg, uint32_t site);

/* The trend fields of one site as a JSON object. */
void mt_trend_write_site_json(struct mt_json *j, const struct mt_trend_site *ts);

/* Report glue. The symbolizer (may be NULL) names the stacks shown.
 * mt_trend_write_json writes the "trend" section: {"windows": n,
 * "window_s": x, "sites": [...]} with every growing and churning site and
 * the 2 * top others with the most live bytes, each {"site", trend fields,
 * "stack"}. mt_trend_write_text prints the "growing sites" section.
 * mt_trend_site_json adds "trend": {...} to a site or leak entry. */
struct mt_report;
struct mt_sym;
void mt_trend_set_report(struct mt_trend *t, struct mt_sym *sym, unsigned top);
int mt_trend_write_json(struct mt_json *j, void *arg);
int mt_trend_write_text(FILE *f, const struct mt_report *r, bool final, void *arg);
void mt_trend_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg);

/* Statistics, exposed for the unit tests. y has n values at times x. */
double mt_trend_theil_sen(const double *x, const double *y, unsigned n);

#endif /* MT_TREND_H */
