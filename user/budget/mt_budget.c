// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "heap.h"
#include "budget/mt_budget.h"
#include "budget/mt_budget_cal.h"
#include "budget/mt_budget_meter.h"
#include "collect/mt_agg.h"
#include "probe/mt_alloc_lib.h"
#include "probe/mt_heap.h"
#include "report/mt_report.h"
#include "util/mt_stats.h"
#include "util/mt_json.h"
#include "util/mt_log.h"
#include "util/mt_prom.h"
#include "util/mt_time.h"

#define MS 1000000ull
/* The rate window: long enough for a few thousand calls on a busy target,
 * short enough that its full-trace cost is a blip; it ends early once
 * RATE_HITS calls were seen (after RATE_MIN_MS). */
#define RATE_MS 200
#define RATE_MIN_MS 50
#define RATE_HITS 20000
/* A window is at least WIN_MIN_MS (and 4x the measured arm + disarm), a
 * period at least PERIOD_MIN_MS: enough windows for a trend in seconds. */
#define WIN_MIN_MS 10.0
#define WIN_MAX_MS 500.0
#define PERIOD_MIN_MS 200.0
#define PERIOD_MAX_MS 1000.0
#define WIN_HARD_MIN_MS 4.0
/* The probes (window, tail, disarm) armed for at most this share of a
 * period, whatever the cost: the rest is the meter's reference. */
#define MAX_ARMED_SHARE 0.8
/* Cycling assumes the worst slowdown until the meter measured it, for at
 * most this many windows. */
#define PENDING_WINDOWS 8
/* Traced exactly, the rate is checked this often: a server idle at attach
 * and busy later pays a full trace for at most about this long. */
#define EXACT_CHECK_MS 250
/* The free probe's tail after a window: objects younger than this when
 * the window closes are matched to their free. Capped, because the free
 * probe alone lets the target run fast and free a lot. */
#define TAIL_MAX_MS 20.0
/* Windows kept for the survivor trend; when full, every other is dropped. */
#define MAX_WINDOWS 128
/* A site needs this many judged windows (the recent half) for a verdict. */
#define MIN_JUDGED 6
#define MK_Z_GROWING 2.33   /* one-sided p < 0.01 */
#define MIN_GREW 3          /* objects gained, and windows that gained */
/* A rise is a leak's only when its site's objects from earlier windows are
 * seen to die at less than 1/CLEANED_RATIO of it: a leaked object is never
 * released (0 for a pure leak), a churn site's stale survivors are, but
 * with an allocator that merges freed blocks slowly (glibc, random sizes:
 * t65 saw rises of 77 against 70 cleaned, 5 against 2). */
#define CLEANED_RATIO 4
/* Without a measured slowdown (a target making few read/write calls, or
 * idle when memtrace attached), every call stays traced only while the
 * trap model says it costs under this share of the budget: the model can
 * be an order of magnitude low (mt_budget_meter.h). */
#define UNVERIFIED_SHARE 0.25

/* Calls seen: the allocator's allocation and free calls, the extra
 * probe's hits. */
struct cnt {
	uint64_t alloc, fr, x;
};

enum phase { PH_RATE, PH_EXACT, PH_WINDOW, PH_TAIL, PH_OFF, PH_FAILED };

struct site_verdict {
	int cls;             /* 0 unknown, 1 growing, 2 stable */
	unsigned windows;
	double z;
	uint64_t grew, replaced, cleaned;  /* grew: over the judged windows */
};

struct mt_budget {
	struct mt_budget_opts o;
	struct mt_heap *h;
	const struct mt_alloc_lib *lib;
	struct mt_agg *a;
	struct mt_budget_cal cal;
	enum mt_budget_mode mode;
	enum phase ph;
	uint64_t start_ns, end_ns, ph_start, next_ns, cpu0, disarm_start;
	uint64_t win_start;   /* the last window's arm began: its objects are not survivors yet */
	bool tail_started;
	uint64_t tail_start, tail_cpu0;
	uint64_t exact_cpu0;   /* the target's CPU at the last exact check */
	/* rate window */
	double rate_s, alloc_per_s, free_per_s, cpu_cores, ref_cores, prog_ns;
	double full_cost_ns_per_s;   /* trap time per second of a full trace */
	double free_cost_ns_per_s;   /* of the free probe alone */
	/* cycle */
	double win_ms, tail_ms, period_ms;
	uint64_t armed_ns, free_armed_ns; /* allocation (free) side armed, summed */
	struct cnt hits;                   /* calls (hits of the extra probe) seen */
	struct cnt last;                   /* counters at the last phase change */
	/* the extra probe set (mt_budget_probe), x.arm NULL when none */
	struct mt_budget_probe x;
	bool x_on;
	double x_per_s, x_prog_ns;         /* its hits/s in the rate window, run time */
	/* its hit as the target paid it in the rate window: system time per
	 * hit (a trap is kernel time of the thread that hits it); 0 unknown */
	double x_meas_ns;
	uint64_t stime0;
	/* summed over the windows (the rate window first): the target's
	 * system time and the extra probe's hits, x_meas_ns their ratio */
	double win_stime_ns, win_x_hits;
	double trap_ns;                    /* estimated time the target spent trapping */
	/* the target's throughput (mt_budget_meter.h): the share lost in the
	 * rate window against before the attach (-1 unknown), and k: the
	 * target pays k times the trap model's cost (1 until measured) */
	struct mt_meter meter;
	double slow_before, k;
	bool k_known;
	unsigned nwindows;
	double arm_ms_sum, arm_ms_max, arm_ms_min, disarm_ms_sum, disarm_ms_max, disarm_ms_min;
	unsigned narm, ndisarm;
	int arm_err;
	/* survivors: live objects per site after each tail */
	uint32_t *series[MAX_WINDOWS];
	uint32_t *replaced_at[MAX_WINDOWS];   /* replaced[] at the same moments */
	uint32_t series_n[MAX_WINDOWS];
	/* Per site: objects whose address a later allocation reused while they
	 * were live (stale_replaced): proof they were freed unseen. A leaked
	 * object is never replaced, as its address is never free. */
	uint32_t *replaced;
	uint32_t nreplaced;
	/* Per site: objects released (freed, or replaced) while cycling that
	 * were allocated before the current window: survivors seen to die. A
	 * churn site's stale survivors are cleaned so as their addresses come
	 * back (a free of the block now there releases them too); a leaked
	 * object is never released. */
	uint32_t *cleaned;
	uint32_t ncleaned;
	uint64_t rel_ts, rel_addr;            /* the last release the observer saw */
	uint32_t rel_site;
	unsigned nseries;
	struct site_verdict *verdicts;
	uint32_t nverdicts;
};

static const char *const mode_names[] = { "off", "measuring", "exact", "budgeted" };

/* Allocation and free calls the aggregator has seen so far, and the
 * extra probe's hits. */
static void calls(const struct mt_budget *b, struct cnt *c)
{
	const struct mt_totals *t = mt_agg_totals(b->a);
	unsigned i;

	memset(c, 0, sizeof(*c));
	for (i = 0; b->lib && i < b->lib->neps && i < MT_AGG_MAX_EPS; i++) {
		uint64_t n = t->calls[i] + t->internal_calls[i];

		if (b->lib->eps[i].kind == MT_K_FREE)
			c->fr += n;
		else
			c->alloc += n;
	}
	if (b->x.hits)
		c->x = b->x.hits(b->x.arg);
}

/* CPU time of every thread of the target so far (ns), 0 when unreadable. */
static uint64_t target_cpu_ns(pid_t pid)
{
	char path[320];
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long long ns;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* System CPU time of the target so far (ns), 0 when unreadable. */
static uint64_t target_stime_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');   /* the name may hold spaces */
	if (!p || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return st * (1000000000ull / (unsigned long long)hz);
}

static double alloc_hit_ns(const struct mt_budget *b)
{
	return 2 * b->prog_ns + b->cal.entry_ns + b->cal.ret_ns;
}

static double free_hit_ns(const struct mt_budget *b)
{
	return b->prog_ns + b->cal.entry_ns;
}

/* One hit of the extra probe: an entry trap and its program, or what the
 * target was seen to pay if more. The self-test's trap (a uprobe_multi
 * link on an emulated push in memtrace) can be far cheaper than the
 * extra probe's (a perf-event uprobe; a RET probe is single-stepped):
 * 0.7 us self-tested against 1.7 us paid per mallocgc call here. */
static double x_hit_ns(const struct mt_budget *b)
{
	return fmax(b->x_prog_ns + b->cal.entry_ns, b->x_meas_ns);
}

/* The extra probe's hit as the target pays it: its system time over the
 * windows per hit (traps, and any syscalls it made: an upper bound),
 * where the extra probe's hits are most of them; the calls from..to of
 * the window that just closed, its system time since stime0. */
static void measure_x(struct mt_budget *b, const struct cnt *to, const struct cnt *from)
{
	struct cnt z = { 0 };
	uint64_t st = target_stime_ns(b->o.pid), hits;

	if (!from)
		from = &z;
	hits = to->x - from->x + to->alloc - from->alloc + to->fr - from->fr;
	if (!b->x.arm || to->x - from->x <= 2 * (hits - (to->x - from->x)) || st < b->stime0)
		return;
	b->win_stime_ns += (double)(st - b->stime0);
	b->win_x_hits += (double)hits;
	if (b->win_x_hits >= 1000)
		b->x_meas_ns = b->win_stime_ns / b->win_x_hits;
}

/* The trap time of the calls between from and to (from NULL: all). */
static double traps_of(const struct mt_budget *b, const struct cnt *to, const struct cnt *from)
{
	struct cnt z = { 0 };

	if (!from)
		from = &z;
	return (double)(to->alloc - from->alloc) * alloc_hit_ns(b) +
	       (double)(to->fr - from->fr) * free_hit_ns(b) +
	       (double)(to->x - from->x) * x_hit_ns(b);
}

static void add_hits(struct cnt *sum, const struct cnt *to, const struct cnt *from)
{
	sum->alloc += to->alloc - from->alloc;
	sum->fr += to->fr - from->fr;
	sum->x += to->x - from->x;
}

/* A stale replacement is reported as a release at the very timestamp of
 * the allocation that replaces it (mt_agg.h); a real free and a later
 * allocation never share one. */
/* Counter s of a per-site array, grown as sites appear; 0 or -ENOMEM
 * (the count is then missed: a verdict leans to growing). */
static int bump(uint32_t **arr, uint32_t *n, uint32_t s)
{
	if (s >= *n) {
		uint32_t m = s + 1024;
		uint32_t *r = realloc(*arr, m * sizeof(*r));

		if (!r)
			return -ENOMEM;
		memset(r + *n, 0, (m - *n) * sizeof(*r));
		*arr = r;
		*n = m;
	}
	(*arr)[s]++;
	return 0;
}

static void on_release(void *arg, uint64_t ts, uint32_t tid, uint32_t site, uint64_t addr,
		       uint64_t size, uint64_t alloc_ts)
{
	struct mt_budget *b = arg;

	(void)tid, (void)size;
	b->rel_ts = ts;
	b->rel_addr = addr;
	b->rel_site = site;
	if (b->mode == MT_BUDGET_CYCLING && alloc_ts < b->win_start && site != MT_SITE_NONE)
		bump(&b->cleaned, &b->ncleaned, site);
}

static void on_alloc(void *arg, uint64_t ts, uint32_t tid, uint32_t site, uint64_t addr,
		     uint64_t size)
{
	struct mt_budget *b = arg;
	uint32_t s = b->rel_site;

	(void)tid, (void)site, (void)size;
	if (ts != b->rel_ts || addr != b->rel_addr || s == MT_SITE_NONE)
		return;
	b->rel_ts = 0;
	bump(&b->replaced, &b->nreplaced, s);
}

struct mt_budget *mt_budget_new(const struct mt_budget_opts *o, struct mt_heap *h,
				const struct mt_alloc_lib *lib, struct mt_agg *a,
				const struct mt_budget_probe *extra)
{
	struct mt_budget *b;
	int err;

	if (h ? !mt_heap_can_arm(h) : !extra) {
		mt_err("--max-overhead needs uprobe_multi links (kernel 6.6+); use --max-overhead off");
		errno = EOPNOTSUPP;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->o = *o;
	b->h = h;
	b->lib = lib;
	b->a = a;
	if (extra) {
		b->x = *extra;
		b->x_on = true;
	}
	b->mode = MT_BUDGET_MEASURING;
	if (o->before)
		b->meter = *o->before;
	b->slow_before = -1;
	b->k = 1;
	b->arm_ms_min = b->disarm_ms_min = 1e12;
	b->rel_site = MT_SITE_NONE;
	err = mt_agg_add_observer(a, &(struct mt_agg_observer){ .on_alloc = on_alloc,
								.on_release = on_release, .arg = b });
	err = err ?: mt_budget_calibrate(&b->cal);
	if (err) {
		free(b);
		errno = -err;
		return NULL;
	}
	mt_debug("budget: a probe hit costs %.0f ns (entry) + %.0f ns (return); self-test %.1f ms",
		 b->cal.entry_ns, b->cal.ret_ns, b->cal.took_ms);
	return b;
}

void mt_budget_free(struct mt_budget *b)
{
	unsigned i;

	if (!b)
		return;
	for (i = 0; i < b->nseries; i++)
		free(b->series[i]), free(b->replaced_at[i]);
	free(b->replaced);
	free(b->cleaned);
	free(b->verdicts);
	free(b);
}

/* The kernel's BPF run-time statistics, held only during the rate window:
 * they cost every BPF program on the machine two clock reads per run. */
static int stats_fd = -1;

void mt_budget_start(struct mt_budget *b, uint64_t now_ns)
{
	b->start_ns = b->ph_start = b->win_start = now_ns;
	b->next_ns = now_ns + RATE_MS * MS;
	b->ph = PH_RATE;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	b->cpu0 = target_cpu_ns(b->o.pid);
	b->stime0 = target_stime_ns(b->o.pid);
	mt_meter_start(&b->meter, b->o.pid, now_ns);
}

/* The measured share of the target's throughput lost while the probes
 * are armed: against the off periods once cycling has both, else the rate
 * window's against before the attach; -1 unknown. */
static double slowdown(const struct mt_budget *b)
{
	double f = b->mode == MT_BUDGET_CYCLING ? mt_meter_slowdown(&b->meter, MT_METER_OFF) : -1;

	return f >= 0 ? f : b->slow_before;
}

/* The slowdown the plan assumes: as measured; while cycling has not
 * measured it yet (its first PENDING_WINDOWS), the worst, so that a
 * target the trap model underrates does not pay for its windows until
 * the meter speaks; after them, nothing: a target making too few
 * read/write calls to measure has the model alone. */
static double slowdown_to_plan(const struct mt_budget *b)
{
	double f = slowdown(b);

	if (f < 0 && b->mode == MT_BUDGET_CYCLING && b->meter.ok && b->nwindows < PENDING_WINDOWS)
		return 1;
	return f;
}

/* What the target paid (slowdown f) against what the model says armed
 * probes cost it (c ns per second): k, at least 1. */
static void learn(struct mt_budget *b, double f, double c)
{
	if (f < 0)
		return;
	b->k_known = true;
	if (c > 0)
		b->k = fmax(1.0, f * b->ref_cores * 1e9 / c);
}

/* Whether tracing every call at the model's cost of c ns per second (of a
 * target using ref_cores) keeps the budget: measured, or by the model
 * with its learned factor, under UNVERIFIED_SHARE of it while never
 * measured. */
static bool fits(const struct mt_budget *b, double c, double ref_cores)
{
	double budget = b->o.max_overhead_pct / 100 * ref_cores * 1e9;
	double f = slowdown(b);

	if (f > b->o.max_overhead_pct / 100)
		return false;
	return c * b->k <= (b->k_known ? 1 : UNVERIFIED_SHARE) * budget;
}

/* What the lines call the probes the budget arms. */
static const char *probes_name(const struct mt_budget *b)
{
	if (!b->x.arm)
		return "allocator probes";
	return b->h ? "allocator and runtime.mallocgc probes" : "runtime.mallocgc probe";
}

static void arm(struct mt_budget *b, unsigned want)
{
	uint64_t t = mt_now_ns();
	bool x_want = b->x.arm && (want & MT_ARM_ALLOC);
	unsigned had = (b->h ? mt_heap_armed(b->h) : 0) | (b->x_on ? MT_ARM_ALLOC : 0);
	int err = b->h ? mt_heap_arm(b->h, want) : 0;
	double ms;

	if (!err && b->x.arm && x_want != b->x_on && !(err = b->x.arm(b->x.arg, x_want)))
		b->x_on = x_want;
	ms = (double)(mt_now_ns() - t) / 1e6;
	if (err && !b->arm_err) {
		b->arm_err = err;
		mt_err("warning: cannot arm the %s: %s; allocation tracing stops",
		       probes_name(b), strerror(-err));
		if (b->h)
			mt_heap_arm(b->h, 0);
		if (b->x.arm && !b->x.arm(b->x.arg, false))
			b->x_on = false;
		b->ph = PH_FAILED;
		return;
	}
	if ((want & ~had) && !(had & ~want)) {
		b->arm_ms_sum += ms;
		b->narm++;
		b->arm_ms_max = fmax(b->arm_ms_max, ms);
		b->arm_ms_min = fmin(b->arm_ms_min, ms);
	}
}

/* Window and period for a full-trace cost of c ns per second armed and a
 * free-only cost of cf: the window's and the tail's trap time together
 * stay within the budget of the period. */
static void plan(struct mt_budget *b, double c, double cf)
{
	/* ns per s; aimed at 80% of the budget, as the hit costs are a noisy
	 * self-test and the rate window and the arms come on top */
	double budget = 0.8 * b->o.max_overhead_pct / 100 * b->ref_cores * 1e9;
	/* The target pays for arming (breakpoints written into its pages);
	 * the disarm's grace-period wait is memtrace's own time. */
	double arm_ms = b->narm ? b->arm_ms_sum / b->narm : b->cal.arm_ms;
	double floor_ms = fmax(WIN_MIN_MS, 2 * arm_ms);
	/* no free probe (a Go target): no tail */
	double tail_max = b->h ? TAIL_MAX_MS : 0;
	double w, t, p = 500.0, f = slowdown_to_plan(b);

	/* What the target was seen to lose while armed, where more than the
	 * model: (w + t + d) * f <= 0.8 * PCT% of the period */
	if (f > 0) {
		c = fmax(c, f * b->ref_cores * 1e9);
		cf = fmax(cf, f * b->ref_cores * 1e9);
	}
	if (c <= 0)
		c = 1;
	/* The free probe stays while the allocation side is disarmed (its
	 * grace period): that time is tail too. */
	double d = b->ndisarm ? b->disarm_ms_sum / b->ndisarm : b->cal.disarm_ms;

	/* the arm at the window's cost (the target traps on the probes
	 * already in), the disarm at the tail's */
	double fixed = arm_ms * c + d * cf;

	/* per period: w * c + t * cf + fixed <= budget * p, t = min(w, TAIL_MAX) */
	w = (budget * p - fixed) / (c + cf);
	if (w > tail_max)
		w = (budget * p - tail_max * cf - fixed) / c;
	if (w < floor_ms) {
		w = floor_ms;
		t = fmin(w, tail_max);
		p = (w * c + t * cf + fixed) / budget;
	}
	if (w > WIN_MAX_MS) {
		w = WIN_MAX_MS;
		t = fmin(w, tail_max);
		p = (w * c + t * cf + fixed) / budget;
	}
	/* Enough windows for the survivor trend within seconds: a period
	 * over PERIOD_MAX_MS gets a shorter window first (down to
	 * WIN_HARD_MIN_MS, under the arm floor: still measured) */
	if (p > PERIOD_MAX_MS) {
		double w2 = (budget * PERIOD_MAX_MS - fmin(w, tail_max) * cf - fixed) / c;

		if (w2 >= WIN_HARD_MIN_MS) {
			w = fmin(w, w2);
			p = PERIOD_MAX_MS;
		} else {
			w = WIN_HARD_MIN_MS;
			t = fmin(w, tail_max);
			p = (w * c + t * cf + fixed) / budget;
		}
	}
	if (p < PERIOD_MIN_MS)
		p = PERIOD_MIN_MS;
	t = fmin(w, tail_max);
	/* off for a part of every period at least: cycling is what measures
	 * the target's pace off against armed (mt_budget_meter.h) */
	if (p < (arm_ms + w + t + d) / MAX_ARMED_SHARE)
		p = (arm_ms + w + t + d) / MAX_ARMED_SHARE;
	mt_debug("budget: window %.1f ms + tail %.1f ms every %.0f ms (armed cost %.0f us/s, "
		 "measured slowdown %.3f)", w, t, p, c / 1e3, f);
	b->win_ms = w;
	b->tail_ms = t;
	b->period_ms = p;
}

static void start_cycling(struct mt_budget *b);

static void decide(struct mt_budget *b, uint64_t now)
{
	uint64_t run_ns = 0, runs = 0;
	double w_s = (double)(now - b->ph_start) / 1e9, cpu, traps;
	struct cnt c;

	calls(b, &c);
	if (stats_fd >= 0 && b->h && !mt_heap_prog_stats(b->h, &run_ns, &runs) && runs)
		b->prog_ns = (double)run_ns / (double)runs;
	if (stats_fd >= 0 && b->x.prog_stats && !b->x.prog_stats(b->x.arg, &run_ns, &runs) && runs)
		b->x_prog_ns = (double)run_ns / (double)runs;
	/* the target's system time per hit: the traps, and any syscalls it
	 * made (an upper bound); only where the extra probe's hits are most */
	measure_x(b, &c, NULL);
	if (stats_fd >= 0)
		close(stats_fd);
	stats_fd = -1;
	cpu = target_cpu_ns(b->o.pid);
	/* a target gone in the window reads 0: its CPU is unknown, not negative */
	cpu = cpu > (double)b->cpu0 ? cpu - (double)b->cpu0 : 0;
	b->rate_s = w_s;
	b->alloc_per_s = (double)c.alloc / w_s;
	b->free_per_s = (double)c.fr / w_s;
	b->x_per_s = (double)c.x / w_s;
	traps = traps_of(b, &c, NULL);
	/* the traps ran on the target's CPU: never more than it used */
	if (cpu > 0 && traps > cpu)
		traps = cpu;
	b->trap_ns += traps;
	b->hits = c;
	b->armed_ns += now - b->ph_start;
	b->free_armed_ns += now - b->ph_start;
	b->cpu_cores = cpu / (w_s * 1e9);
	/* Untraced, the target would have used its CPU less the traps. */
	b->ref_cores = fmax(1.0, (cpu - traps) / (w_s * 1e9));
	b->full_cost_ns_per_s = traps / w_s;
	b->free_cost_ns_per_s = (double)c.fr * free_hit_ns(b) / w_s;
	b->last = c;
	mt_meter_mark(&b->meter, now, MT_METER_ARMED);
	b->slow_before = mt_meter_slowdown(&b->meter, MT_METER_BEFORE);
	learn(b, b->slow_before, b->full_cost_ns_per_s);
	if (fits(b, b->full_cost_ns_per_s, b->ref_cores)) {
		b->mode = MT_BUDGET_EXACT;
		b->ph = PH_EXACT;
		b->ph_start = now;
		b->exact_cpu0 = b->cpu0 + (uint64_t)cpu;
		b->next_ns = now + EXACT_CHECK_MS * MS;
		return;
	}
	start_cycling(b);
}

/* The rate does not fit (any more): the window that just ended (the rate
 * window, or a second of exact tracing) was the first; its tail begins. */
static void start_cycling(struct mt_budget *b)
{
	b->mode = MT_BUDGET_CYCLING;
	/* armed against off from here on, interleaved: a load that changes
	 * changes both */
	mt_meter_reset(&b->meter, MT_METER_ARMED);
	mt_meter_reset(&b->meter, MT_METER_OFF);
	mt_meter_mark(&b->meter, mt_now_ns(), MT_METER_IGNORE);
	plan(b, b->full_cost_ns_per_s, b->free_cost_ns_per_s);
	b->nwindows = 1;
	arm(b, MT_ARM_FREE);
	b->ph = PH_TAIL;
	b->ph_start = b->disarm_start = mt_now_ns();
	b->tail_started = false;
	b->next_ns = b->ph_start;
}

struct count_ctx {
	uint32_t *v, n;
	uint64_t before;
};

static int count_old(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t alloc_ts)
{
	struct count_ctx *c = arg;

	(void)addr, (void)size;
	if (site < c->n && alloc_ts < c->before && c->v[site] < UINT32_MAX)
		c->v[site]++;
	return 0;
}

/* Survivors per site now: one point of every site's survivor series. Only
 * objects from before the window just closed count: a churn site's blocks
 * of that window still alive (a ring of requests outliving the tail) are
 * as many as the window was long, and windows change length (the plan
 * follows each one's cost, an arm takes 1-200 ms here): their number would
 * rise with the window, a trend no leak made. A leaked block counts from
 * the next snapshot on, forever; a stale one (freed unseen) until a later
 * window sees its address again. One pass over the live table per
 * period, in memtrace's time, with the probes disarmed. */
static void snapshot(struct mt_budget *b)
{
	uint32_t n = mt_agg_nsites(b->a), i;
	uint32_t *v, *r;

	if (b->nseries == MAX_WINDOWS) {
		/* keep every other window: the series halves, its span stays */
		for (i = 0; i < MAX_WINDOWS; i++) {
			if (i % 2 == 0) {
				free(b->series[i]);
				free(b->replaced_at[i]);
				continue;
			}
			b->series[i / 2] = b->series[i];
			b->replaced_at[i / 2] = b->replaced_at[i];
			b->series_n[i / 2] = b->series_n[i];
		}
		b->nseries = MAX_WINDOWS / 2;
	}
	v = calloc(n ? n : 1, sizeof(*v));
	r = calloc(n ? n : 1, sizeof(*r));
	if (!v || !r) {
		free(v);
		free(r);
		return;   /* a missing point only weakens the trend */
	}
	mt_agg_live_foreach(b->a, count_old, &(struct count_ctx){ v, n, b->win_start });
	for (i = 0; i < n; i++)
		r[i] = i < b->nreplaced ? b->replaced[i] : 0;
	b->series[b->nseries] = v;
	b->replaced_at[b->nseries] = r;
	b->series_n[b->nseries++] = n;
}

/* Cost of the phase that just ended, from the calls it saw. */
static void account(struct mt_budget *b, uint64_t now, bool alloc_side)
{
	struct cnt n;

	calls(b, &n);
	b->trap_ns += traps_of(b, &n, &b->last);
	add_hits(&b->hits, &n, &b->last);
	if (alloc_side && now > b->ph_start) {
		double c = traps_of(b, &n, &b->last) / ((double)(now - b->ph_start) / 1e9);

		/* the next window follows what this one cost */
		b->full_cost_ns_per_s = 0.5 * b->full_cost_ns_per_s + 0.5 * c;
		plan(b, b->full_cost_ns_per_s, b->free_cost_ns_per_s);
	} else if (now > b->ph_start) {
		double c = (double)(n.fr - b->last.fr) * free_hit_ns(b) /
			   ((double)(now - b->ph_start) / 1e9);

		/* the free probe alone: the target runs (and frees) faster */
		b->free_cost_ns_per_s = 0.5 * b->free_cost_ns_per_s + 0.5 * c;
		plan(b, b->full_cost_ns_per_s, b->free_cost_ns_per_s);
	}
	if (alloc_side)
		b->armed_ns += now - b->ph_start;
	b->free_armed_ns += now - b->ph_start;
	b->last = n;
}

int mt_budget_tick(struct mt_budget *b, uint64_t now, int (*drain)(void *), void *arg)
{
	if (!b || now < b->next_ns)
		return 0;
	switch (b->ph) {
	case PH_RATE: {
		struct cnt c;

		calls(b, &c);
		if (now - b->ph_start < RATE_MS * MS &&
		    (now - b->ph_start < RATE_MIN_MS * MS || c.alloc + c.fr + c.x < RATE_HITS)) {
			b->next_ns = now + 10 * MS;
			return 0;
		}
		decide(b, now);
		mt_budget_announce(b);
		break;
	}
	case PH_EXACT: {
		/* Exact until the target's rate no longer fits: a server
		 * attached while idle gets busy later. The last second's calls
		 * at the calibrated costs against the budget of its CPU. */
		uint64_t cpu_now = target_cpu_ns(b->o.pid);
		double dt = (double)(now - b->ph_start) / 1e9, traps, cpu;
		struct cnt c;

		calls(b, &c);
		traps = traps_of(b, &c, &b->last);
		cpu = cpu_now > b->exact_cpu0 ? (double)(cpu_now - b->exact_cpu0) : 0;
		if (cpu > 0 && traps > cpu)
			traps = cpu;
		mt_meter_mark(&b->meter, now, MT_METER_ARMED);
		if (dt <= 0 || fits(b, traps / dt, fmax(1.0, (cpu - traps) / (dt * 1e9)))) {
			account(b, now, true);
			b->ph_start = now;
			b->exact_cpu0 = cpu_now;
			b->next_ns = now + EXACT_CHECK_MS * MS;
			break;
		}
		b->rate_s = dt;
		b->alloc_per_s = (double)(c.alloc - b->last.alloc) / dt;
		b->free_per_s = (double)(c.fr - b->last.fr) / dt;
		b->x_per_s = (double)(c.x - b->last.x) / dt;
		b->cpu_cores = cpu / (dt * 1e9);
		b->ref_cores = fmax(1.0, (cpu - traps) / (dt * 1e9));
		b->free_cost_ns_per_s = (double)(c.fr - b->last.fr) * free_hit_ns(b) / dt;
		account(b, now, true);
		b->full_cost_ns_per_s = traps / dt;
		start_cycling(b);
		mt_budget_announce(b);
		break;
	}
	case PH_WINDOW: {
		uint64_t end = mt_now_ns();   /* the allocation side goes now */

		arm(b, MT_ARM_FREE);
		if (drain)
			drain(arg);
		if (b->x.arm) {
			struct cnt n;

			calls(b, &n);
			measure_x(b, &n, &b->last);
		}
		account(b, end, true);
		b->ph = PH_TAIL;
		b->ph_start = b->disarm_start = mt_now_ns();
		b->tail_started = false;
		b->next_ns = b->ph_start;
		break;
	}
	case PH_TAIL:
		/* The tail counts from when the allocation probes are gone for
		 * good (their grace period): before, a thread caught inside the
		 * allocator ignores its frees. */
		if (!b->tail_started) {
			if ((b->h && mt_heap_disarming(b->h)) ||
			    (b->x.disarming && b->x.disarming(b->x.arg))) {
				b->next_ns = now + 2 * MS;
				return 0;
			}
			double ms = (double)(now - b->disarm_start) / 1e6;

			b->disarm_ms_sum += ms;
			b->ndisarm++;
			b->disarm_ms_max = fmax(b->disarm_ms_max, ms);
			b->disarm_ms_min = fmin(b->disarm_ms_min, ms);
			b->tail_started = true;
			b->tail_start = now;
			b->tail_cpu0 = target_cpu_ns(b->o.pid);
			b->next_ns = now + (uint64_t)(b->tail_ms * MS);
			return 0;
		}
		/* The tail is the target's time, not the clock's: on a busy
		 * machine its threads may not run in tail_ms, and a block they
		 * would have freed then becomes a stale survivor. Wait until it
		 * used its usual CPU share of the tail, at most 4 tails. */
		if (now - b->tail_start < (uint64_t)(4 * b->tail_ms * MS) &&
		    (double)(target_cpu_ns(b->o.pid) - b->tail_cpu0) <
			    b->tail_ms * MS * fmin(b->cpu_cores, 2.0) * 0.9) {
			b->next_ns = now + 2 * MS;
			return 0;
		}
		arm(b, 0);
		/* arm, window, tail and disarm: the target's time with probes */
		mt_meter_mark(&b->meter, mt_now_ns(), MT_METER_ARMED);
		if (drain)
			drain(arg);
		account(b, mt_now_ns(), false);
		snapshot(b);
		b->ph = PH_OFF;
		b->ph_start = mt_now_ns();
		b->next_ns = b->ph_start +
			     (uint64_t)(fmax(0, b->period_ms - b->win_ms - b->tail_ms) * MS);
		break;
	case PH_OFF: {
		if (drain)
			drain(arg);
		calls(b, &b->last);
		uint64_t t0 = mt_now_ns();

		b->win_start = t0;
		b->stime0 = target_stime_ns(b->o.pid);
		mt_meter_mark(&b->meter, t0, MT_METER_OFF);
		arm(b, MT_ARM_ALLOC | MT_ARM_FREE);
		if (b->ph == PH_FAILED)
			break;
		uint64_t t1 = mt_now_ns();

		/* The probes appear one by one during the arm (milliseconds
		 * here): it counts half as traced time, and the window is
		 * win_ms of every probe armed after it, so a site calling
		 * every few milliseconds is caught in every window however
		 * slow the arm is. */
		b->ph_start = t0 + (t1 - t0) / 2;
		b->nwindows++;
		b->ph = PH_WINDOW;
		b->next_ns = t1 + (uint64_t)(b->win_ms * MS);
		break;
	}
	default:
		b->next_ns = UINT64_MAX;
		break;
	}
	return b->arm_err;
}

int mt_budget_timeout_ms(const struct mt_budget *b, uint64_t now, int max_ms)
{
	uint64_t d;

	if (!b || b->next_ns == UINT64_MAX || b->ph == PH_FAILED)
		return max_ms;
	if (b->next_ns <= now)
		return 0;
	d = (b->next_ns - now + MS - 1) / MS;
	return d < (uint64_t)max_ms ? (int)d : max_ms;
}

enum mt_budget_mode mt_budget_mode(const struct mt_budget *b)
{
	return b ? b->mode : MT_BUDGET_OFF;
}

/* "N allocator calls/s", "N runtime.mallocgc calls/s", or both. */
static void rate_words(const struct mt_budget *b, char *buf, size_t len)
{
	if (!b->x.arm)
		snprintf(buf, len, "%.0f allocator calls/s", b->alloc_per_s + b->free_per_s);
	else if (!b->h)
		snprintf(buf, len, "%.0f %s calls/s", b->x_per_s, b->x.name);
	else
		snprintf(buf, len, "%.0f allocator calls/s and %.0f %s calls/s",
			 b->alloc_per_s + b->free_per_s, b->x_per_s, b->x.name);
}

void mt_budget_announce(const struct mt_budget *b)
{
	double pct = b->full_cost_ns_per_s * b->k / (b->ref_cores * 1e9) * 100, f = slowdown(b);
	char rate[200];

	rate_words(b, rate, sizeof(rate));
	/* what the target was seen to lose, where it was measured */
	if (f >= 0) {
		size_t n = strlen(rate);

		snprintf(rate + n, sizeof(rate) - n, " (%.0f%% of its read/write pace lost while traced)",
			 f * 100);
		pct = fmax(pct, f * 100);
	}
	/* under the default, a target that fits is no news (-v says it) */
	if (b->mode == MT_BUDGET_EXACT)
		(b->o.asked ? mt_info : mt_debug)("budget: %s would cost ~%.2f%% "
						  "(budget %g%%): tracing every call",
						  rate, pct, b->o.max_overhead_pct);
	else if (b->mode == MT_BUDGET_CYCLING)
		mt_info("budget: %s would cost ~%.0f%% (budget %g%%%s): %s "
			"armed %.0f ms every %.0f ms (%.1f%% of the time), counts are estimates; "
			"--max-overhead off traces every call",
			rate, pct, b->o.max_overhead_pct,
			b->o.asked ? "" : ", the default", probes_name(b), b->win_ms,
			b->period_ms, b->win_ms / b->period_ms * 100);
}

void mt_budget_stop(struct mt_budget *b, uint64_t now)
{
	if (!b || b->end_ns)
		return;
	if (b->ph == PH_RATE)
		decide(b, now);
	else if (b->ph == PH_WINDOW)
		account(b, now, true);
	else if (b->ph == PH_TAIL)
		account(b, now, false);
	else if (b->ph == PH_EXACT)
		account(b, now, true);
	b->end_ns = now;
}

static void judge(struct mt_budget *b)
{
	uint32_t n = mt_agg_nsites(b->a), site;
	unsigned k, from = b->nseries / 4, m, ups;
	double *y;

	free(b->verdicts);
	b->nverdicts = 0;
	b->verdicts = calloc(n ? n : 1, sizeof(*b->verdicts));
	y = calloc(b->nseries ? b->nseries : 1, sizeof(*y));
	if (!b->verdicts || !y) {
		free(y);
		return;
	}
	b->nverdicts = n;
	for (site = 0; site < n; site++) {
		struct site_verdict *v = &b->verdicts[site];

		for (m = 0, k = from; k < b->nseries; k++)
			y[m++] = site < b->series_n[k] ? b->series[k][site] : 0;
		v->windows = m;
		if (m < MIN_JUDGED)
			continue;
		v->z = mt_mann_kendall_z(y, m);
		v->grew = y[m - 1] > y[0] ? (uint64_t)(y[m - 1] - y[0]) : 0;
		v->replaced = site < b->nreplaced ? b->replaced[site] : 0;
		v->cleaned = site < b->ncleaned ? b->cleaned[site] : 0;
		/* growing: a significant rise, CLEANED_RATIO times larger than
		 * the site's objects from earlier windows seen to die in the
		 * whole run (a churn site's stale survivors are released as its
		 * addresses come back: replaced, or freed as the block now
		 * there; a leak's never are) */
		/* and a rise of one or two objects is no trend, however tied
		 * the rest of the series (Mann-Kendall's z alone would say so);
		 * a leak rises in many windows, a window whose frees were missed
		 * (the target descheduled through its tail) is one step */
		for (ups = 0, k = 1; k < m; k++)
			ups += y[k] > y[k - 1];
		v->cls = v->z >= MK_Z_GROWING && v->grew > CLEANED_RATIO * v->cleaned && v->grew >= MIN_GREW &&
			 ups >= MIN_GREW && 3 * ups >= m ? 1 : 2;
	}
	free(y);
}

static bool keep_leak(void *arg, uint32_t site)
{
	struct mt_budget *b = arg;

	/* The per-second trend (the filter this one replaces) samples a live
	 * table that only moves in windows: the survivors across windows
	 * judge instead. */
	/* Unknown (too few windows) is no leak either: a window's survivor may
	 * just be an object whose free fell between windows. */
	return site < b->nverdicts && b->verdicts[site].cls == 1;
}

void mt_budget_prepare(struct mt_budget *b, struct mt_report_opts *o)
{
	if (!b || b->mode != MT_BUDGET_CYCLING || o->launch)
		return;
	judge(b);
	o->keep_leak = keep_leak;
	o->keep_leak_arg = b;
}

static double traced_fraction(const struct mt_budget *b)
{
	uint64_t end = b->end_ns ? b->end_ns : mt_now_ns();

	if (b->mode != MT_BUDGET_CYCLING || end <= b->start_ns)
		return 1.0;
	return fmin(1.0, (double)b->armed_ns / (double)(end - b->start_ns));
}

double mt_budget_estimated_fraction(const struct mt_budget *b)
{
	double f;

	if (!b || b->mode != MT_BUDGET_CYCLING)
		return 0;
	f = traced_fraction(b);
	return f > 0 ? f : 1e-9;
}

int mt_budget_write_metrics(struct mt_prom *p, void *arg)
{
	const struct mt_budget *b = arg;
	double f = b->mode == MT_BUDGET_CYCLING ? traced_fraction(b) : 1.0;

	mt_prom_gauge(p, "memtrace_budget_max_overhead_percent",
		      "The overhead budget (--max-overhead): percent of the target's CPU its "
		      "allocator probes may take", b->o.max_overhead_pct);
	mt_prom_gauge(p, "memtrace_budget_estimated",
		      "1: budgeted (duty cycling), heap figures are estimates from "
		      "memtrace_budget_traced_fraction of the time; 0: every call traced", b->mode == MT_BUDGET_CYCLING);
	mt_prom_gauge(p, "memtrace_budget_traced_fraction",
		      "Fraction of the time the allocation probes were armed (1: exact)", f);
	return 0;
}

static double duration_s(const struct mt_budget *b)
{
	uint64_t end = b->end_ns ? b->end_ns : mt_now_ns();

	return end > b->start_ns ? (double)(end - b->start_ns) / 1e9 : 0;
}

/* The trap model's cost, times what the target was seen to pay beyond
 * it; or the measured slowdown over the time anything was armed, if more. */
static double est_cost_pct(const struct mt_budget *b)
{
	double d = duration_s(b), pct, f = slowdown(b);

	if (d <= 0)
		return 0;
	pct = b->trap_ns * b->k / (d * 1e9 * b->ref_cores) * 100;
	if (f > 0)
		pct = fmax(pct, f * b->meter.total_ns[MT_METER_ARMED] / (d * 1e9) * 100);
	return pct;
}

static double confidence(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));   /* one-sided: 1 - p */
}

static const char *verdict_name(int cls)
{
	return cls == 1 ? "growing" : cls == 2 ? "stable" : "unknown";
}

/* "throughput": the target's read/write calls per second before the
 * attach, while armed and while off; the share lost while armed; the
 * factor the model's trap cost was scaled by. */
static void write_throughput(struct mt_json *j, const struct mt_budget *b)
{
	const struct mt_meter *m = &b->meter;
	double before = mt_meter_rate(m, MT_METER_BEFORE), on = mt_meter_rate(m, MT_METER_ARMED);
	double off = mt_meter_rate(m, MT_METER_OFF), f = slowdown(b);

	mt_json_key(j, "throughput");
	mt_json_obj_begin(j);
	mt_json_key_str(j, "meter", "read and write system calls (/proc/PID/io syscr + syscw)");
	mt_json_key_double_or_null(j, "before_per_s", before >= 0, before);
	mt_json_key_double_or_null(j, "armed_per_s", on >= 0, on);
	mt_json_key_double_or_null(j, "off_per_s", off >= 0, off);
	mt_json_key_double_or_null(j, "slowdown_armed", f >= 0, f);
	mt_json_key_double(j, "trap_cost_factor", b->k);
	mt_json_obj_end(j);
}

static int write_json(struct mt_json *j, void *arg)
{
	struct mt_budget *b = arg;
	double f = traced_fraction(b);

	mt_json_obj_begin(j);
	mt_json_key_str(j, "mode", mode_names[b->mode]);
	mt_json_key_double(j, "max_overhead_pct", b->o.max_overhead_pct);
	mt_json_key(j, "probe_hit_ns");
	mt_json_obj_begin(j);
	mt_json_key_double(j, "entry", b->cal.entry_ns);
	mt_json_key_double(j, "return", b->cal.ret_ns);
	mt_json_key_double(j, "program", b->prog_ns);
	mt_json_key_double(j, "self_test_ms", b->cal.took_ms);
	if (b->x.arm) {
		mt_json_key_double(j, "extra_program", b->x_prog_ns);
		mt_json_key_double(j, "extra_measured", b->x_meas_ns);
	}
	mt_json_obj_end(j);
	mt_json_key(j, "rate");
	mt_json_obj_begin(j);
	mt_json_key_double(j, "window_s", b->rate_s);
	mt_json_key_double(j, "alloc_calls_per_s", b->alloc_per_s);
	mt_json_key_double(j, "free_calls_per_s", b->free_per_s);
	mt_json_key_double(j, "target_cpu_cores", b->cpu_cores);
	mt_json_key_double(j, "reference_cores", b->ref_cores);
	mt_json_key_double(j, "full_trace_cost_pct",
			   b->full_cost_ns_per_s / (b->ref_cores * 1e9) * 100);
	mt_json_obj_end(j);
	mt_json_key_double(j, "duty_cycle", f);
	mt_json_key_double(j, "traced_fraction", f);
	mt_json_key(j, "estimated");
	mt_json_bool(j, b->mode == MT_BUDGET_CYCLING);
	mt_json_key_u64(j, "windows", b->nwindows);
	mt_json_key_double(j, "window_ms", b->win_ms);
	mt_json_key_double(j, "tail_ms", b->tail_ms);
	mt_json_key_double(j, "period_ms", b->period_ms);
	mt_json_key_u64(j, "alloc_hits", b->hits.alloc);
	mt_json_key_u64(j, "free_hits", b->hits.fr);
	mt_json_key_double(j, "estimated_cost_pct", est_cost_pct(b));
	write_throughput(j, b);
	mt_json_key_double(j, "estimated_alloc_calls",
			   f > 0 ? (double)b->hits.alloc / f : 0);
	/* the other probe set under the budget (a Go target's mallocgc) */
	mt_json_key(j, "extra");
	if (b->x.arm) {
		mt_json_obj_begin(j);
		mt_json_key_str(j, "probe", b->x.name);
		mt_json_key_double(j, "hits_per_s", b->x_per_s);
		mt_json_key_u64(j, "hits", b->hits.x);
		mt_json_key_double(j, "estimated_hits", f > 0 ? (double)b->hits.x / f : 0);
		mt_json_obj_end(j);
	} else {
		mt_json_null(j);
	}
	mt_json_key(j, "arm_ms");
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "count", b->narm);
	mt_json_key_double(j, "mean", b->narm ? b->arm_ms_sum / b->narm : 0);
	mt_json_key_double(j, "min", b->narm ? b->arm_ms_min : 0);
	mt_json_key_double(j, "max", b->arm_ms_max);
	mt_json_key_double(j, "self_test", b->cal.arm_ms);
	mt_json_obj_end(j);
	mt_json_key(j, "disarm_ms");
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "count", b->ndisarm);
	mt_json_key_double(j, "mean", b->ndisarm ? b->disarm_ms_sum / b->ndisarm : 0);
	mt_json_key_double(j, "min", b->ndisarm ? b->disarm_ms_min : 0);
	mt_json_key_double(j, "max", b->disarm_ms_max);
	mt_json_key_double(j, "self_test", b->cal.disarm_ms);
	mt_json_obj_end(j);
	mt_json_key_u64(j, "trend_windows", b->nseries);
	mt_json_obj_end(j);
	return 0;
}

static void write_throughput_text(FILE *f, const struct mt_budget *b)
{
	double before = mt_meter_rate(&b->meter, MT_METER_BEFORE);
	double on = mt_meter_rate(&b->meter, MT_METER_ARMED);
	double off = mt_meter_rate(&b->meter, MT_METER_OFF), sd = slowdown(b);

	if (sd < 0) {
		fprintf(f, "  throughput: not measured (too few read/write calls); the trap model "
			"alone%s\n", b->k_known ? "" : ", trusted to a quarter of the budget");
		return;
	}
	fprintf(f, "  throughput (read/write calls/s):");
	if (before >= 0)
		fprintf(f, " %.0f before attach,", before);
	if (on >= 0)
		fprintf(f, " %.0f armed,", on);
	if (off >= 0)
		fprintf(f, " %.0f off,", off);
	fprintf(f, " %.1f%% lost while armed (trap model x%.1f)\n", sd * 100, b->k);
}

static int write_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	struct mt_budget *b = arg;
	double fr = traced_fraction(b);

	(void)r;
	if (!final)
		return 0;
	fprintf(f, "\nbudget: %s, max overhead %g%%\n", mode_names[b->mode], b->o.max_overhead_pct);
	fprintf(f, "  probe hit: %.0f ns entry + %.0f ns return + %.0f ns program (self-test %.1f ms)\n",
		b->cal.entry_ns, b->cal.ret_ns, b->prog_ns, b->cal.took_ms);
	if (b->x.arm)
		fprintf(f, "  %s: %.0f ns program a hit, %.0f ns paid by the target (its system "
			"time per hit), %.0f hits/s in the rate window\n",
			b->x.name, b->x_prog_ns, b->x_meas_ns, b->x_per_s);
	fprintf(f, "  rate: %.0f alloc + %.0f free calls/s, target %.2f cores; full trace ~%.1f%% "
		"by the trap model\n",
		b->alloc_per_s, b->free_per_s, b->cpu_cores,
		b->full_cost_ns_per_s / (b->ref_cores * 1e9) * 100);
	if (b->mode == MT_BUDGET_CYCLING) {
		fprintf(f, "  duty cycle %.4f: %u windows of %.1f ms (+%.1f ms free tail) every %.0f ms\n",
			fr, b->nwindows, b->win_ms, b->tail_ms, b->period_ms);
		fprintf(f, "  ESTIMATES: counts above are from %.2f%% of the time (x%.1f for totals);"
			" leaks need a rise across %d+ windows\n", fr * 100, fr > 0 ? 1 / fr : 0,
			MIN_JUDGED);
		fprintf(f, "  arm %.2f ms (min %.2f, max %.2f), disarm %.2f ms (min %.2f, max %.2f)\n",
			b->narm ? b->arm_ms_sum / b->narm : 0, b->narm ? b->arm_ms_min : 0,
			b->arm_ms_max, b->ndisarm ? b->disarm_ms_sum / b->ndisarm : 0,
			b->ndisarm ? b->disarm_ms_min : 0, b->disarm_ms_max);
	}
	write_throughput_text(f, b);
	fprintf(f, "  hits taken: %llu alloc, %llu free", (unsigned long long)b->hits.alloc,
		(unsigned long long)b->hits.fr);
	if (b->x.arm)
		fprintf(f, ", %llu %s", (unsigned long long)b->hits.x, b->x.name);
	fprintf(f, "; estimated cost %.2f%%\n", est_cost_pct(b));
	return 0;
}

/* Per site and leak: the survivor verdict, and what the count stands for. */
static void site_json(struct mt_json *j, uint32_t site, bool leak, void *arg)
{
	struct mt_budget *b = arg;
	const struct mt_site *s = site == MT_SITE_NONE ? NULL : mt_agg_site_get(b->a, site);
	double f = traced_fraction(b);

	mt_json_key(j, "budget");
	mt_json_obj_begin(j);
	mt_json_key(j, "estimated");
	mt_json_bool(j, true);
	mt_json_key_double(j, "traced_fraction", f);
	if (s)
		mt_json_key_double(j, "estimated_allocs", f > 0 ? (double)s->c.allocs / f : 0);
	if (site < b->nverdicts) {
		const struct site_verdict *v = &b->verdicts[site];

		mt_json_key_str(j, "survivors", verdict_name(v->cls));
		mt_json_key_u64(j, "windows", v->windows);
		mt_json_key_double(j, "mk_z", v->z);
		mt_json_key_u64(j, "grew", v->grew);
		mt_json_key_u64(j, "replaced", v->replaced);
		mt_json_key_u64(j, "cleaned", v->cleaned);
		mt_json_key_double(j, "confidence", v->cls ? confidence(v->z) : 0);
	}
	(void)leak;
	mt_json_obj_end(j);
}

int mt_budget_add(struct mt_budget *b, struct mt_report *r)
{
	int err;

	if (!b)
		return 0;
	err = mt_report_add_extra(r, "budget", write_json, write_text, b);
	if (!err && b->mode == MT_BUDGET_CYCLING)
		err = mt_report_add_site_extra(r, site_json, b);
	return err;
}
