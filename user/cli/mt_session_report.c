// SPDX-License-Identifier: BSD-2-Clause
/*
 * The session's reports: one snapshot of the aggregator, symbolized, with
 * the sections of the analyses, the reachability scan and the kernel-side
 * view added at the end; written as text and, at the end, as JSON through
 * the safe writer (util/mt_outfile).
 */
#include <stdio.h>
#include <string.h>

#include "analyze/mt_analysis.h"
#include "budget/mt_budget.h"
#include "cli/mt_session.h"
#include "collect/mt_agg.h"
#include "collect/mt_events.h"
#include "output/mt_out.h"
#include "probe/mt_heap.h"
#include "ptree/mt_ptree.h"
#include "reach/mt_reach.h"
#include "report/mt_report.h"
#include "unwind/mt_unwind.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "pools/mt_pools.h"
#include "go/mt_go.h"
#include "vm/mt_vm.h"

/* A file output on stdout ('-'): the text then goes to stderr, never
 * into the file. */
static bool is_stdout(const char *path)
{
	return path && !strcmp(path, "-");
}

FILE *mt_session_text_out(const struct mt_session *s)
{
	if (s->text.f)
		return s->text.f;
	if (s->opts.text_path)   /* "-" */
		return stdout;
	return s->opts.cmd || s->json.to_stdout || is_stdout(s->opts.pprof_path) ||
	       is_stdout(s->opts.folded_path) || is_stdout(s->opts.html_path) ? stderr : stdout;
}

/* The file outputs of the final report: every site of it. A write error
 * is printed by the writer and makes the exit status say so. */
static void write_outputs(struct mt_session *s, const struct mt_report *r)
{
	if (s->opts.pprof_path && mt_out_pprof(s->opts.pprof_path, r, MT_VERSION, true))
		s->write_failed = true;
	if (s->opts.folded_path && mt_out_folded(s->opts.folded_path, r, s->opts.weight))
		s->write_failed = true;
	if (s->opts.html_path && mt_out_html(s->opts.html_path, r))
		s->write_failed = true;
}

static int pools_text(FILE *f, const struct mt_report *r, bool final, void *pools)
{
	return final ? mt_pools_write_text(f, pools) : 0;
}

static int vm_text(FILE *f, const struct mt_report *r, bool final, void *vm)
{
	return final ? mt_vm_write_text(f, vm) : 0;
}

/* For the report's "modules": how the walker handles stacks through path;
 * "none" with --callsite-only (no walk), "fp" for a module without tables. */
static const char *module_unwind(void *arg, const char *path)
{
	struct mt_session *s = arg;

	if (s->opts.callsite_only)
		return "none";
	return s->heap ? mt_unwind_module_kind(mt_heap_unwind(s->heap), path) : NULL;
}

void mt_session_report(struct mt_session *s, FILE *f, uint64_t now, bool final)
{
	const char *names[MT_AGG_MAX_EPS];
	struct mt_report_opts ro = {
		.launch = s->launched,
		.no_heap = s->opts.no_heap,
		.min_age_ns = (uint64_t)(s->opts.min_age_s * MT_NS_PER_S),
		.top_sites = final || s->opts.top < MT_REPORT_PERIODIC_SITES ? s->opts.top :
			     MT_REPORT_PERIODIC_SITES,
		.wrappers = s->opts.wrappers,
		.nwrappers = s->opts.nwrappers,
		.module_unwind = module_unwind,
		.module_unwind_arg = s,
		.json_leaks = s->opts.json_leaks,
		.json_sites = s->opts.json_sites,
		/* files and JSON carry every site; --top bounds the text */
		.all_sites = final && (s->json.f || s->opts.pprof_path || s->opts.folded_path ||
				       s->opts.html_path),
		.sort = s->opts.sort,
	};
	struct mt_report_target rt = { .pid = s->target.pid };
	struct mt_drops drops = { 0 };
	struct mt_report r;
	uint64_t t_build, t_write;  /* for -v: symbolization happens in the build */
	unsigned i;
	int err;

	for (i = 0; i < s->lib.neps; i++)
		names[i] = s->lib.eps[i].name;
	snprintf(rt.comm, sizeof(rt.comm), "%s", s->target.comm);
	snprintf(rt.exe, sizeof(rt.exe), "%s", s->target.path);
	snprintf(rt.exe_file, sizeof(rt.exe_file), "%s", s->target.exe);
	snprintf(rt.allocator, sizeof(rt.allocator), "%s", s->lib.path);
	if (s->events && mt_events_drops(s->events, &drops))
		mt_err("warning: cannot read the drop counters: lost events may be undercounted");
	if (s->opts.sort == MT_SORT_RATE && !mt_out_rate_update(&s->rate, s->agg, now)) {
		ro.score = mt_out_rate_score;
		ro.score_arg = &s->rate;
	}
	if (final && s->analysis)
		mt_analysis_prepare(s->analysis, now, &ro);  /* the trend judges leaks */
	if (final)
		mt_budget_prepare(s->budget, &ro);  /* duty cycling: survivors must rise */
	t_build = mt_now_ns();
	err = mt_report_build(&r, s->agg, s->sym, names, s->lib.neps, &rt, &drops, now, !final, &ro);
	t_write = mt_now_ns();
	if (err) {
		mt_err("cannot build the report: %s", strerror(-err));
		s->write_failed = true;
		return;
	}
	r.traced_fraction = mt_budget_estimated_fraction(s->budget);  /* labels the estimates */
	if (final && s->reach && mt_reach_report(s->reach, &r))
		mt_err("warning: the reachability section is missing from the report");
	if (final) {
		s->leak_known = true;
		s->leak_check = r.reach ? r.lost_bytes : r.leak_bytes;
	}
	if (final && s->vm && mt_report_add_extra(&r, "memory", mt_vm_write_json, vm_text, s->vm))
		mt_err("warning: the memory section is missing from the report");
	if (final)
		mt_session_self_take(s);
	if (final && mt_report_add_extra(&r, "memtrace", mt_session_self_json, mt_session_self_text, s))
		mt_err("warning: memtrace's own footprint is missing from the report");
	if (final && s->pools &&
	    (mt_report_add_extra(&r, "pools", mt_pools_write_json, pools_text, s->pools) ||
	     mt_report_add_extra(&r, "pool_events", mt_pools_write_errors_json, NULL, s->pools)))
		mt_err("warning: the pools section is missing from the report");
	if (s->go)
		mt_go_set_gc(s->go, s->go_gc);   /* its "gc", "memstats" in the "go" section */
	if (final && s->analysis)
		mt_analysis_add(s->analysis, &r, s->sym);
	if (final && s->bpf_children)
		r.untraced_children = (int64_t)drops.children + s->launch.untraced_children;
	else if (final && s->launched)
		r.untraced_children = s->launch.untraced_children;
	if (final && s->tree && (err = mt_ptree_report(s->tree, &r, now, &ro,
			s->launched ? (s->launch.state == MT_LAUNCH_EXITED ? s->launch.exit_code : -1) :
			mt_target_alive(&s->target) ? -1 : MT_PTREE_EXITED)))
		mt_err("warning: the per-process figures are missing from the report: %s", strerror(-err));
	/* the budget's duty cycle armed mallocgc too: its counts are estimates */
	mt_go_set_estimate(s->go, mt_budget_estimated_fraction(s->budget));
	if (final && s->go && mt_go_report(s->go, &r, now))
		mt_err("warning: the Go section is missing from the report");
	if (final && mt_budget_add(s->budget, &r))
		mt_err("warning: the budget section is missing from the report");
	/* A report that cannot be written is an error once, not every
	 * interval, and the exit status says so. */
	err = mt_report_text(f, &r, final);
	if (err && !s->write_failed)
		mt_err("cannot write the text report: %s", strerror(-err));
	if (err)
		s->write_failed = true;
	if (final && s->text.f) {   /* -o FILE: in place only when all of it was written */
		if (err)
			mt_outfile_abort(&s->text);
		else if (mt_outfile_commit(&s->text))
			s->write_failed = true;
	}
	if (final && s->json.f) {
		err = mt_report_json(s->json.f, &r);
		if (err) {
			mt_err("cannot write '%s': %s", s->opts.json_path, strerror(-err));
			mt_outfile_abort(&s->json);
		} else {
			err = mt_outfile_commit(&s->json);
		}
		if (err)
			s->write_failed = true;
	}
	if (final)
		write_outputs(s, &r);
	mt_debug("report: built in %.3f ms, written in %.3f ms", (double)(t_write - t_build) / 1e6,
		 (double)(mt_now_ns() - t_write) / 1e6);
	mt_report_release(&r);
	mt_ptree_report_release(s->tree);
}
