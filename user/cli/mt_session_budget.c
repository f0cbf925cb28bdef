// SPDX-License-Identifier: BSD-2-Clause
/*
 * The session's overhead budget (--max-overhead, attach mode): made over
 * the C allocator's probes (probe/mt_heap) and, for a Go target, the
 * runtime.mallocgc probe (go/mt_go_alloc) as the budget's extra probe
 * set. budget/ and go/ are siblings that do not know each other: the
 * callbacks here join them.
 */
#include <errno.h>
#include <string.h>

#include "budget/mt_budget.h"
#include "cli/mt_session.h"
#include "go/mt_go.h"
#include "go/mt_go_alloc.h"
#include "probe/mt_heap.h"
#include "util/mt_log.h"

static int go_arm(void *arg, bool on)
{
	return mt_go_alloc_arm(arg, on);
}

static bool go_disarming(void *arg)
{
	return mt_go_alloc_disarming(arg);
}

static uint64_t go_hits(void *arg)
{
	return mt_go_alloc_hits(arg);
}

static int go_prog_stats(void *arg, uint64_t *run_ns, uint64_t *runs)
{
	return mt_go_alloc_prog_stats(arg, run_ns, runs);
}

int mt_session_open_budget(struct mt_session *s)
{
	struct mt_budget_opts bo = { .pid = s->target.pid,
				     .max_overhead_pct = s->opts.max_overhead_pct,
				     .asked = s->opts.max_overhead_asked,
				     .before = &s->before };
	struct mt_go_alloc *ga = mt_go_allocator(s->go);
	struct mt_budget_probe go = { .name = "runtime.mallocgc", .arm = go_arm,
				      .disarming = go_disarming, .hits = go_hits,
				      .prog_stats = go_prog_stats, .arg = ga };

	if ((!s->heap && !ga) || s->opts.max_overhead_pct <= 0 || s->launched)
		return 0;
	/* The default budget where it cannot be kept (no uprobe_multi for
	 * the allocator's probes, a failed self-test): every call traced, as
	 * before it was one. */
	if (!bo.asked && s->heap && !mt_heap_can_arm(s->heap)) {
		mt_debug("budget: the probes cannot be armed in windows here: tracing every call");
		return 0;
	}
	s->budget = mt_budget_new(&bo, s->heap, s->heap ? &s->lib : NULL, s->agg, ga ? &go : NULL);
	if (s->budget)
		return 0;
	if (bo.asked)
		return -errno;
	mt_err("warning: no overhead budget (%s): tracing every call", strerror(errno));
	return 0;
}
