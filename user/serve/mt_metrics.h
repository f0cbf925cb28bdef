/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memtrace's metrics (names, meaning and types in docs/metrics.md),
 * rendered in the session loop's thread once a tick for mt_serve:
 *   - the heap: totals as counters, live objects and bytes, rates over the
 *     last tick, live bytes of the top sites by label;
 *   - the target's RSS (/proc/PID/status) and sections other stages add
 *     (the kernel-side view adds page faults and mappings);
 *   - memtrace itself: CPU seconds, resident bytes, aggregator bytes.
 *
 * Site labels are "func@module" of the allocation's call site (C++'s
 * operator new skipped), "0xOFFSET@module" when the function has no name:
 * stable across scrapes and runs of the same binaries. Sites with the same
 * label are summed (one series per label), and only the --metrics-top
 * largest labels are exported, the rest summed in
 * memtrace_other_sites_live_bytes: cardinality stays bounded.
 *
 * Cost per tick: one pass over the sites (O(sites)), one over the labels
 * with live bytes keeping the top in a heap (O(labels log top)), reads of
 * /proc/PID/status and /proc/self/statm. A site's label is resolved once,
 * when it first has live objects, at most MT_METRICS_RESOLVE_PER_TICK per
 * tick (a burst of new sites is labelled over the next ticks, counted in
 * the "other" gauge meanwhile). Memory:
 * 4 bytes per site and one entry per distinct label.
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include <stdint.h>
#include <sys/types.h>
#include "collect/mt_agg.h"
#include "sym/mt_sym.h"
#include "util/mt_prom.h"

#define MT_METRICS_TOP_DEFAULT 20
#define MT_METRICS_RESOLVE_PER_TICK 2000
#define MT_METRICS_LABEL_MAX 200

struct mt_metrics;

struct mt_metrics_opts {
	pid_t pid;
	const char *comm;
	const char *allocator;     /* "" with --no-heap */
	unsigned top;              /* --metrics-top: site labels exported */
};

/* A section another stage writes (metrics of its own), and the events it
 * lost (exported as memtrace_lost_events_total{source=name}). */
struct mt_metrics_extra {
	const char *name;
	int (*write)(struct mt_prom *p, void *arg);
	uint64_t (*lost)(const void *arg);
	void *arg;
};

/* agg NULL: no heap metrics (--no-heap). agg and sym are borrowed and read
 * only from the caller's thread. NULL on out of memory. */
struct mt_metrics *mt_metrics_new(const struct mt_agg *agg, struct mt_sym *sym,
				  const struct mt_metrics_opts *o);
/* The main process exec'd: follow its new image's aggregator, symbolizer
 * and allocator (the old ones stay the caller's). Its counters start
 * again from 0, which Prometheus takes as a counter reset; site labels are
 * resolved anew. Children traced with -f are not in the metrics. */
void mt_metrics_retarget(struct mt_metrics *m, const struct mt_agg *agg, struct mt_sym *sym,
			 const char *comm, const char *allocator);
/* 0 or -ENOSPC (4 extras at most). */
int mt_metrics_add_extra(struct mt_metrics *m, const struct mt_metrics_extra *x);
/* Reset p and write every metric as of now_ns. Returns p->err. */
int mt_metrics_render(struct mt_metrics *m, uint64_t now_ns, struct mt_prom *p);
void mt_metrics_free(struct mt_metrics *m);   /* accepts NULL */

#endif /* MT_METRICS_H */
