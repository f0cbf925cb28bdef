/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The report model: one snapshot of what memtrace knows, built from the
 * aggregator and the symbolizer, and the only input of every reporter
 * (mt_report_text.c, mt_report_json.c), so text and JSON cannot disagree.
 */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "collect/mt_agg.h"
#include "collect/mt_events.h"
#include "sym/mt_sym.h"

#define MT_REPORT_VERSION 1
#define MT_REPORT_MAX_EXTRAS 16

struct mt_json;
struct mt_report;

/*
 * Extension points, for sections other modules own (e.g. "memory", the
 * kernel-side memory statistics). The JSON reporter writes "key": and then
 * calls json() to write exactly one value (an object, usually); the text
 * reporter calls text() after the sections it owns and before the lost-events
 * line. Either hook may be NULL to skip that format. Hooks run in the order
 * added and return 0 or -errno (which the reporter returns; JSON write errors
 * are tracked by the writer itself). arg is the hook's own, never freed.
 */
typedef int (*mt_report_json_fn)(struct mt_json *j, void *arg);
typedef int (*mt_report_text_fn)(FILE *f, const struct mt_report *r, bool final, void *arg);

struct mt_report_extra {
	const char *key;          /* JSON key; must not be one the reporter writes */
	mt_report_json_fn json;
	mt_report_text_fn text;
	void *arg;
};

struct mt_report_target {
	int pid;
	char comm[32];
	char exe[4096];         /* the path it was started as (a symlink's name) */
	char exe_file[4096];    /* the file that runs (symlinks resolved) */
	char allocator[4096];   /* the object whose entry points are probed */
};

/* Sites listed: in the final report unless --top says otherwise, and at
 * most in each periodic (-i) report, which is a glance, not the record. */
#define MT_REPORT_TOP_SITES 10
#define MT_REPORT_PERIODIC_SITES 5

/* How sites are ranked (--sort), in every output. */
enum mt_report_sort {
	MT_SORT_LIVE_BYTES,     /* live bytes, then allocated bytes (the default) */
	MT_SORT_ALLOC_BYTES,    /* bytes allocated over the run */
	MT_SORT_ALLOCS,         /* allocation calls over the run */
	MT_SORT_RATE,           /* allocation calls per second lately (opts.score) */
	MT_SORT_GROWTH,         /* live bytes per second, the trend (opts.score) */
};

struct mt_report_opts {
	bool launch;            /* launch mode: every live object is a leak */
	bool no_heap;           /* --no-heap: no allocator figures to show */
	uint64_t min_age_ns;    /* attach mode: leak age threshold */
	unsigned top_sites;     /* sites listed, 0 = MT_REPORT_TOP_SITES */
	/* Keep every site that allocated in r->sites (the file outputs and
	 * JSON want them all); the text still shows top_sites of them. */
	bool all_sites;
	enum mt_report_sort sort;
	/* MT_SORT_RATE and MT_SORT_GROWTH: the site's score, higher first
	 * (ties by live bytes). NULL: those sorts fall back to allocs and
	 * live bytes. */
	double (*score)(void *arg, uint32_t site);
	void *score_arg;
	unsigned max_frames;    /* frames per stack in text, 0 = default (8) */
	size_t json_leaks;      /* leak stacks listed in JSON, 0 = all */
	size_t json_sites;      /* sites listed in JSON (of r->sites), 0 = all */
	/* Attach mode: a second opinion on the age-based leak candidates (the
	 * growth trend, mt_trend_keep_leak): a site for which it returns false
	 * is not a leak. NULL keeps them all; launch mode ignores it. */
	bool (*keep_leak)(void *arg, uint32_t site);
	void *keep_leak_arg;
	/* Allocator wrappers of the user's own (--wrapper), fnmatch patterns
	 * added to the built-in list (sym/mt_wrap.h). */
	const char *const *wrappers;
	size_t nwrappers;
	/* How the stacks through a module were unwound, for "modules":
	 * "fp", "cfi" or "none" (--callsite-only). NULL, or a NULL answer:
	 * "fp". */
	const char *(*module_unwind)(void *arg, const char *path);
	void *module_unwind_arg;
};

/* Per-site extension: writes extra "key": value pairs into one entry of
 * "sites" (leak false) or "leaks" (leak true) of the JSON report. */
typedef void (*mt_report_site_json_fn)(struct mt_json *j, uint32_t site, bool leak, void *arg);
#define MT_REPORT_MAX_SITE_EXTRAS 4

struct mt_report_stack {
	uint32_t nframes;
	uint8_t end;              /* how the walk ended (enum mt_stack_end), 0: not walked */
	struct mt_frame *frames;  /* symbolized, strings owned by the mt_sym;
				   * inlined functions are frames of their own */
	/* The frame the site is attributed to: the first one outside the
	 * allocator's wrappers (built-in list, --wrapper, functions in the
	 * allocator's own module); frames before it are the wrapper chain. */
	uint32_t attr;
};

/* One module of the target, and how its frames were unwound and named. */
struct mt_report_module {
	const char *path, *build_id;
	const char *unwind;          /* "fp" | "cfi" | "none" */
	enum mt_sym_src symbols;
	bool lines;
	const char *debug_file;      /* separate debug file, NULL if none */
	const char *debuginfod;      /* see struct mt_sym_module */
	bool in_stacks;              /* a frame of a reported stack is in it */
};

/* The JSON name of a stack's end ("root", "depth", ...), NULL for 0. */
const char *mt_report_stack_end_name(uint8_t end);
/* Why a cut stack stopped, for the text report; NULL when whole or not walked. */
const char *mt_report_stack_cut_reason(uint8_t end);

struct mt_report_site {       /* one entry of "sites" or "leaks" */
	uint64_t objects;         /* leaks: leaked objects; sites: live objects */
	uint64_t bytes;           /* leaks: leaked bytes; sites: live bytes */
	uint64_t allocs, frees, alloc_bytes, free_bytes, peak_live_bytes;
	uint64_t live_objects, live_bytes;  /* the site's, in both lists */
	/* leaks, with --reachability (mt_reach_report): objects split */
	uint64_t lost_objects, lost_bytes, reachable_objects, reachable_bytes;
	double oldest_age_s;      /* oldest object counted in objects; < 0 if none */
	bool uncertain;           /* events were lost while it had live objects */
	uint32_t site;            /* aggregator site id, MT_SITE_NONE if unknown */
	struct mt_report_stack stack;
	/* Merged from another process's report (mt_report_merge): site is
	 * that process's id, pid names it, the stack is borrowed. */
	int pid;
	bool borrowed;
};

/* One process image of a traced tree (exec starts a new image of the same
 * pid, -f adds children): its own report, and how it ended. */
struct mt_report_proc {
	int pid, ppid;
	const char *end;          /* "exec", "exit", "running" */
	int exit_code;            /* end "exit": the status (128 + signal); else -1 */
	uint64_t released_objects, released_bytes;  /* live when exec replaced it: not leaks */
	struct mt_report *r;      /* target, totals, calls, leaks, sites */
};

struct mt_report {
	struct mt_report_target target;
	struct mt_report_opts opts;
	double duration_s;
	struct mt_totals totals;
	struct mt_drops drops;
	unsigned neps;
	const char *ep_names[MT_AGG_MAX_EPS]; /* "malloc", "memalign|aligned_alloc", ... */
	struct mt_rates interval, run;
	size_t nsites;
	struct mt_report_site *sites;  /* ranked by opts.sort */
	size_t nleaks;
	struct mt_report_site *leaks;  /* largest bytes first, all of them */
	uint64_t leak_objects, leak_bytes;  /* sums over leaks */
	uint64_t sample_bytes;    /* sampling mean, 0: exact; figures are estimates */
	/* (0, 1): the overhead budget's duty cycle: heap counts are from that
	 * fraction of the time, estimates (set after mt_report_build); 0: not
	 * budgeted */
	double traced_fraction;
	bool reach;                         /* leaks carry the lost/reachable split */
	uint64_t lost_objects, lost_bytes, reachable_objects, reachable_bytes;  /* sums */
	/* A process tree or exec chain (mt_report_merge): the images, each
	 * with its own report; totals, calls, sites and leaks above are then
	 * the whole tree's. nprocs 0: one image, nothing merged. */
	size_t nprocs;
	const struct mt_report_proc *procs;
	int64_t untraced_children;  /* created by traced processes, not traced; -1: not counted */
	unsigned nextras;
	struct mt_report_extra extras[MT_REPORT_MAX_EXTRAS];
	size_t nmodules;
	struct mt_report_module *modules;  /* one per path, in mapping order */
	unsigned nsite_extras;
	struct { mt_report_site_json_fn json; void *arg; } site_extras[MT_REPORT_MAX_SITE_EXTRAS];
};

/* Build a snapshot at now_ns. sym may be NULL (frames stay addresses).
 * ep_names[i] names entry point i (the strings must outlive r; NULL names
 * print as "epN"). The interval rates are taken with mt_agg_interval() when
 * take_interval is set, else left 0. t, drops and o may be NULL.
 * Leaks: in launch mode every live object at now_ns; in attach mode live
 * objects at least o->min_age_ns old (0: every live object); grouped by
 * stack, most bytes first, all of them. Sites: those that allocated,
 * ranked by o->sort (ties by live bytes, allocated bytes, id); the first
 * o->top_sites (default 10), or all of them with o->all_sites.
 * Cost: one or two passes over the live table, a sort of the sites, one
 * mt_sym_resolve per frame kept. On error r holds nothing. 0 or -errno. */
int mt_report_build(struct mt_report *r, struct mt_agg *a, struct mt_sym *sym,
		    const char *const *ep_names, unsigned neps,
		    const struct mt_report_target *t, const struct mt_drops *drops,
		    uint64_t now_ns, bool take_interval, const struct mt_report_opts *o);
void mt_report_release(struct mt_report *r);  /* frees what build allocated */

/* "live_bytes", "alloc_bytes", "allocs", "rate", "growth": 0 and *out
 * set, or -EINVAL. mt_report_sort_name is the inverse. */
int mt_report_sort_parse(const char *name, enum mt_report_sort *out);
const char *mt_report_sort_name(enum mt_report_sort s);
/* Rank n sites of a built (or loaded) report by sort, in place; score as
 * in struct mt_report_opts (NULL: the site's own counters only). */
void mt_report_sort_sites(struct mt_report_site *s, size_t n, enum mt_report_sort sort,
			  double (*score)(void *arg, uint32_t site), void *score_arg);
/* Make r (the report of procs[self]) the report of the whole tree: totals
 * summed, calls summed by entry point name, sites and leaks of every image
 * merged (each with its pid; others' stacks are borrowed, so procs must
 * outlive r), the top_sites kept (every site with opts.all_sites; ranked by opts.sort). procs are kept for the "processes"
 * section. 0 or -ENOMEM (r unchanged). */
int mt_report_merge(struct mt_report *r, const struct mt_report_proc *procs, size_t nprocs,
		    size_t self);

/* Add an extension section (see struct mt_report_extra) to a built report;
 * mt_report_build clears them. 0, -EINVAL (no key, or no hook), or -ENOSPC
 * when MT_REPORT_MAX_EXTRAS are already there. */
int mt_report_add_extra(struct mt_report *r, const char *key, mt_report_json_fn json,
			mt_report_text_fn text, void *arg);

/* Add a per-site extension (see mt_report_site_json_fn); cleared by
 * mt_report_build. 0, -EINVAL or -ENOSPC. */
int mt_report_add_site_extra(struct mt_report *r, mt_report_site_json_fn json, void *arg);

/* For extension sections that show a site of their own: its symbolized
 * stack (frames as in the report), released with mt_report_stack_release;
 * written as the JSON "stack" array or as the text report's frame lines.
 * Its attribution uses the built-in wrapper list only. 0 or -ENOMEM. */
int mt_report_stack_get(struct mt_report_stack *st, const struct mt_agg *a,
			struct mt_sym *sym, uint32_t site);
void mt_report_stack_release(struct mt_report_stack *st);   /* accepts NULL */
/* A stack of return addresses (innermost first) and how its walk ended,
 * symbolized as the heap's sites are: each frame expanded to the functions
 * inlined at it. Wrappers are not looked for (attr 0). st is set even on
 * error; release it with mt_report_stack_release. 0 or -ENOMEM. */
int mt_report_stack_from(struct mt_report_stack *st, const uint64_t *frames, uint32_t n,
			 uint8_t end, struct mt_sym *sym);
void mt_report_json_stack(struct mt_json *j, const struct mt_report_stack *st);
void mt_report_text_stack(FILE *f, const struct mt_report_stack *st, unsigned max_frames);

/* Reporters: 0 or -errno (write errors included; a failing extension hook's
 * error is returned, after the rest of the report is written). The text
 * report's layout and the JSON document are described in
 * docs/report-format.md. final: the full report rather than the periodic
 * one (totals, rates, top 5 sites). */
int mt_report_text(FILE *f, const struct mt_report *r, bool final);
int mt_report_json(FILE *f, const struct mt_report *r);

#endif /* MT_REPORT_H */
