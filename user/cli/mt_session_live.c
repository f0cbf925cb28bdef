// SPDX-License-Identifier: BSD-2-Clause
/*
 * The session's terminal: whether stderr is one (progress lines, the live
 * view), and the live view's frames (output/mt_live): a report of the main
 * image built like the periodic one, ranked by the view's own sort, with
 * per-site rates of its own (so a periodic text report to a file keeps
 * its own intervals) and the trend's growing sites.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/mt_analysis.h"
#include "cli/mt_session.h"
#include "collect/mt_agg.h"
#include "collect/mt_events.h"
#include "output/mt_live.h"
#include "output/mt_out_rate.h"
#include "target/mt_proc.h"
#include "util/mt_log.h"
#include "util/mt_progress.h"
#include "util/mt_time.h"
#include "vm/mt_vm.h"

struct mt_session_live {
	struct mt_live *view;
	struct mt_out_rate rate;    /* per site, since the previous frame */
	struct mt_counts prev;      /* totals at the previous frame */
	uint64_t prev_ns;
	struct mt_rates interval;   /* of the last tick, kept for key redraws */
};

void mt_session_tty_setup(struct mt_session *s)
{
	mt_progress_enable(!s->opts.no_tty && isatty(STDERR_FILENO));
}

void mt_session_live_start(struct mt_session *s)
{
	struct mt_session_live *l;
	int err;

	if (!s->opts.interval_s || !mt_progress_enabled() || s->live)
		return;
	l = calloc(1, sizeof(*l));
	if (!l) {
		mt_err("warning: no live view: %s", strerror(ENOMEM));
		return;
	}
	err = mt_live_open(STDERR_FILENO, true, s->opts.sort, &l->view);
	if (err) {
		mt_err("warning: no live view: %s", strerror(-err));
		free(l);
		return;
	}
	/* the screen is the view's now: a progress line would tear it, and
	 * a message would flash for one frame: held until the view ends */
	mt_progress_enable(false);
	mt_log_hold_all();
	l->prev_ns = s->start_ns;
	s->live = l;
	mt_session_live_frame(s, mt_now_ns(), true);
}

/* The text output is the terminal the view draws on (stderr, or stdout
 * on the same screen): its periodic reports would scroll the view away. */
bool mt_session_live_owns(const struct mt_session *s, FILE *text)
{
	return s->live && isatty(fileno(text));
}

static double site_rate(void *arg, uint32_t site)
{
	struct mt_session *s = arg;

	return mt_out_rate_score(&s->live->rate, site);
}

static bool site_growing(void *arg, uint32_t site)
{
	struct mt_session *s = arg;

	return mt_analysis_growing(s->analysis, site);
}

static void take_interval(struct mt_session_live *l, const struct mt_agg *agg, uint64_t now)
{
	const struct mt_counts *c = &mt_agg_totals(agg)->c;
	double secs = now > l->prev_ns ? (double)(now - l->prev_ns) / 1e9 : 0;

	l->interval.seconds = secs;
	if (secs > 0) {
		l->interval.allocs_per_s = (double)(c->allocs - l->prev.allocs) / secs;
		l->interval.frees_per_s = (double)(c->frees - l->prev.frees) / secs;
		l->interval.bytes_per_s = (double)(c->alloc_bytes - l->prev.alloc_bytes) / secs;
	}
	l->prev = *c;
	l->prev_ns = now;
}

static void frame(struct mt_session *s, struct mt_session_live *l, uint64_t now, bool tick)
{
	const char *names[MT_AGG_MAX_EPS];
	struct mt_report_opts ro = {
		/* The view lists no leaks: none are gathered or symbolized (with
		 * 16384 live stacks that is ~70 ms a frame, to draw 30 rows). */
		.launch = false,
		.min_age_ns = UINT64_MAX,
		.no_heap = s->opts.no_heap,
		.top_sites = mt_live_rows(l->view),
		.wrappers = s->opts.wrappers,
		.nwrappers = s->opts.nwrappers,
		.sort = mt_live_sort(l->view),
	};
	struct mt_report_target rt = { .pid = s->target.pid };
	struct mt_live_frame f = { .rate = site_rate, .growing = NULL, .arg = s };
	struct mt_proc_status ps;
	struct mt_drops drops = { 0 };
	struct mt_report r;
	char note[160] = "";
	uint64_t t0 = mt_now_ns();   /* for -v: what a frame costs */
	unsigned i;
	int err;

	for (i = 0; i < s->lib.neps; i++)
		names[i] = s->lib.eps[i].name;
	snprintf(rt.comm, sizeof(rt.comm), "%s", s->target.comm);
	snprintf(rt.exe, sizeof(rt.exe), "%s", s->target.path);
	if (s->events)
		mt_events_drops(s->events, &drops);
	if (tick) {
		take_interval(l, s->agg, now);
		mt_out_rate_update(&l->rate, s->agg, now);   /* ENOMEM: last rates stay */
	}
	if (s->analysis && mt_analysis_prepare(s->analysis, now, &ro) == 0)
		f.growing = site_growing;
	if (ro.sort == MT_SORT_GROWTH && !f.growing)
		snprintf(note, sizeof(note), "(no trend yet: ranked by live bytes)");
	/* prepare points the score at the trend for growth; rate is the view's */
	if (ro.sort != MT_SORT_GROWTH) {
		ro.score = site_rate;
		ro.score_arg = s;
	}
	err = mt_report_build(&r, s->agg, s->sym, names, s->lib.neps, &rt, &drops, now, false, &ro);
	if (err) {
		mt_err("cannot build the live view: %s", strerror(-err));
		return;
	}
	f.r = &r;
	f.interval = l->interval;
	f.vm_lost = s->vm ? mt_vm_lost(s->vm) : 0;
	if (mt_proc_status(s->target.pid, &ps) == 0)
		f.rss_bytes = ps.vm_rss;
	if (note[0])
		f.note = note;
	mt_live_draw(l->view, &f);
	mt_report_release(&r);
	mt_debug("live view: frame in %.3f ms", (double)(mt_now_ns() - t0) / 1e6);
}

void mt_session_live_frame(struct mt_session *s, uint64_t now, bool tick)
{
	if (s->live)
		frame(s, s->live, now, tick);
}

/* 'q' is Ctrl-C: attach mode ends tracing; launch mode passes SIGINT to
 * the program and traces on until it exits, and a second 'q' (or Ctrl-C)
 * ends tracing and leaves it running, as signals do (read_signals). */
enum mt_stop mt_session_live_key(struct mt_session *s)
{
	switch (s->live ? mt_live_read_key(s->live->view) : MT_LIVE_KEY_NONE) {
	case MT_LIVE_KEY_SORT:
		mt_session_live_frame(s, mt_now_ns(), false);
		return MT_STOP_NONE;
	case MT_LIVE_KEY_QUIT:
		if (!s->launched)
			return MT_STOP_SIGNAL;
		kill(s->target.pid, SIGINT);
		return ++s->stop_signals > 1 ? MT_STOP_SIGNAL : MT_STOP_NONE;
	default:
		return MT_STOP_NONE;
	}
}

void mt_session_live_end(struct mt_session *s)
{
	if (!s->live)
		return;
	mt_live_close(s->live->view);
	mt_log_release(true);
	mt_out_rate_release(&s->live->rate);
	free(s->live);
	s->live = NULL;
	mt_session_tty_setup(s);   /* progress lines again, for the final steps */
}
