/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The analyses that observe the aggregator (lifetimes and temporaries, size
 * classes, growth trends, pool advice) behind one handle, so memtrace.c
 * wires them with a call per step: create at attach, sample once a second,
 * and at the final report set the leak filter and add the sections.
 * Report sections: "trend", "lifetimes", "size_classes", "advice"; per site
 * and leak entry: "trend", "temporaries", "lifetime", "size_classes".
 * See docs/analysis.md.
 */
#ifndef MT_ANALYSIS_H
#define MT_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

struct mt_agg;
struct mt_analysis;
struct mt_report;
struct mt_report_opts;
struct mt_sym;

/* Subscribes its observers to a. NULL with errno (a message printed). */
struct mt_analysis *mt_analysis_new(struct mt_agg *a);
void mt_analysis_free(struct mt_analysis *an);      /* accepts NULL */

/* Once a second: one trend sample (cheap: O(sites)). */
void mt_analysis_tick(struct mt_analysis *an, uint64_t now_ns);

/* Before mt_report_build of the final report: classify the trends and, in
 * attach mode, let them judge the age-based leak candidates (o->keep_leak).
 * 0 or -errno; on error the report goes without trend judgement. */
int mt_analysis_prepare(struct mt_analysis *an, uint64_t now_ns, struct mt_report_opts *o);
/* After mt_analysis_prepare: whether the trend judged the site growing
 * (the live view marks it). false before any analysis. */
bool mt_analysis_growing(void *an, uint32_t site);

/* After it: add the sections to r. sym names the stacks; top bounds the
 * advice list. The handle must outlive the report's writing. */
int mt_analysis_add(struct mt_analysis *an, struct mt_report *r, struct mt_sym *sym);

#endif /* MT_ANALYSIS_H */
