/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The overhead budget (--max-overhead PCT, attach mode): memtrace keeps
 * the time the target spends in allocator probes under PCT% of its CPU
 * (at least PCT% of one core: an idle target may spend that much).
 *
 *   1. calibrate: the cost of one probe hit here (mt_budget_cal.h);
 *   2. rate window: every probe armed for RATE_MS (the first traced window,
 *      kept): allocator calls per second and the target's CPU
 *      (schedstat of every thread) give the projected cost of a full
 *      trace;
 *   3. when it fits: exact, nothing changes. Otherwise duty cycling: the
 *      allocation probes are armed for a window, the free probe for a tail
 *      after it (objects that die within the tail are matched), then
 *      nothing until the next period. Window and period follow the cost
 *      measured in the previous window; the kernel-side view runs on.
 *
 * No false leaks from windows: an object allocated in a window whose free
 * fell outside every tail stays in the live table until a later window's
 * allocation reuses its address (the aggregator's stale_replaced). A
 * site's live objects from before the last window, counted after each
 * tail, form a series; only a
 * significant rise (Mann-Kendall, one-sided) larger than the site's
 * objects replaced meanwhile (a leaked object's address is never reused)
 * makes its age-based leak candidates leaks, with the confidence 1 - p
 * stated. Counts are from the
 * traced fraction of time: estimates, labelled with that fraction.
 *
 * Another allocation probe can be put under the same budget (struct
 * mt_budget_probe: the Go heap's runtime.mallocgc probe, wired by the
 * session, as budget/ and go/ do not know each other): its hits are
 * costed at one entry hit plus its programs' run time, it is armed and
 * disarmed with the allocation side, and it has no frees (no tail, no
 * survivor trend). A pure Go target has only it.
 */
#ifndef MT_BUDGET_H
#define MT_BUDGET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct mt_agg;
struct mt_heap;
struct mt_report;
struct mt_report_opts;
struct mt_alloc_lib;
struct mt_budget;

enum mt_budget_mode {
	MT_BUDGET_OFF,       /* --max-overhead off (or launch mode): exact, not measured */
	MT_BUDGET_MEASURING, /* in the rate window */
	MT_BUDGET_EXACT,     /* the rate fits: every probe stays armed */
	MT_BUDGET_CYCLING,   /* duty cycling */
};

struct mt_meter;

/* How long the session measures the target's throughput before the
 * first allocation probe goes in (mt_meter_before). */
#define MT_BUDGET_BEFORE_MS 250

struct mt_budget_opts {
	pid_t pid;
	double max_overhead_pct;   /* > 0 */
	/* the target's throughput before any probe (NULL: unknown) */
	const struct mt_meter *before;
	/* --max-overhead given: a target that fits is also worth a line
	 * (under the default, only a budgeted one is) */
	bool asked;
};

/* An allocation probe set other than the allocator's, attached (armed)
 * when the budget is made. Each function gets arg. */
struct mt_budget_probe {
	const char *name;     /* what it probes, for the lines: "runtime.mallocgc" */
	/* attach (on) or remove its probes; 0 or -errno (printed) */
	int (*arm)(void *arg, bool on);
	/* a removal is still in progress (its uprobes' grace period) */
	bool (*disarming)(void *arg);
	/* probe hits so far (each one trap) */
	uint64_t (*hits)(void *arg);
	/* its programs' run time and runs (BPF statistics); 0 or -errno */
	int (*prog_stats)(void *arg, uint64_t *run_ns, uint64_t *runs);
	void *arg;
};

/* Calibrates (prints one line and returns NULL with errno on failure). h
 * must be attached with every probe armed; lib and a must outlive b. h
 * and lib may be NULL when extra is given (a target with no C allocator
 * probed); extra may be NULL, and is copied. */
struct mt_budget *mt_budget_new(const struct mt_budget_opts *o, struct mt_heap *h,
				const struct mt_alloc_lib *lib, struct mt_agg *a,
				const struct mt_budget_probe *extra);
void mt_budget_free(struct mt_budget *b);          /* accepts NULL */

/* The rate window starts now (tracing was just enabled). */
void mt_budget_start(struct mt_budget *b, uint64_t now_ns);

/* Drive the cycle; call after the events so far were consumed. drain
 * consumes the events (before a window's snapshot). 0 or -errno (arm
 * failed: the probes are then off and the report says so). */
int mt_budget_tick(struct mt_budget *b, uint64_t now_ns, int (*drain)(void *), void *arg);
/* Milliseconds until the next tick is due (for poll), at most max_ms. */
int mt_budget_timeout_ms(const struct mt_budget *b, uint64_t now_ns, int max_ms);
enum mt_budget_mode mt_budget_mode(const struct mt_budget *b);

/* Duty cycling: the fraction of the time the allocation probes were
 * armed, in (0, 1]: counts are estimates. 0 when not cycling (or NULL). */
double mt_budget_estimated_fraction(const struct mt_budget *b);

/* /metrics (--listen): the budget's gauges (a struct mt_metrics_extra's
 * write; arg is the budget). */
struct mt_prom;
int mt_budget_write_metrics(struct mt_prom *p, void *arg);

/* Once decided, the one line for the user (mt_info). */
void mt_budget_announce(const struct mt_budget *b);

/* End of tracing: closes the open window at now_ns. */
void mt_budget_stop(struct mt_budget *b, uint64_t now_ns);

/* Before mt_report_build of the final report, after the trend analysis set
 * its filter: when cycling, a leak must also rise across windows. */
void mt_budget_prepare(struct mt_budget *b, struct mt_report_opts *o);
/* After it: the "budget" section (JSON and text). */
int mt_budget_add(struct mt_budget *b, struct mt_report *r);

#endif /* MT_BUDGET_H */
