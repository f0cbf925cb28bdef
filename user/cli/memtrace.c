// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace: where a process's memory goes. Attaches BPF uprobes to the
 * allocator of one process (-p PID) or of a program it launches (-- CMD),
 * aggregates every allocation and free, and reports live memory per call
 * stack, rates and leak candidates.
 *
 * Life cycle: validate the target -> find its allocator -> load and attach
 * (all or nothing) -> "attached" line -> event loop -> final report ->
 * detach. Every exit path detaches: the target runs on unharmed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "collect/mt_agg.h"
#include "probe/mt_alloc_lib.h"
#include "analyze/mt_analysis.h"
#include "diff/mt_diff.h"
#include "collect/mt_events.h"
#include "probe/mt_heap.h"
#include "target/mt_launch.h"
#include "util/mt_exit.h"
#include "util/mt_log.h"
#include "util/mt_outfile.h"
#include "util/mt_time.h"
#include "cli/mt_opts.h"
#include "reach/mt_reach.h"
#include "report/mt_report.h"
#include "sym/mt_sym.h"
#include "target/mt_target.h"
#include "vm/mt_vm.h"

/* Ring-buffer wakeups are batched (BPF_RB_NO_WAKEUP), so the consumer
 * drains on this timer: 20 ms of events at 1M events/s is 1.3 MB, well
 * inside the default 16 MB ring. */
#define DRAIN_MS 20


struct mt_session {
	struct mt_opts opts;
	struct mt_target target;
	struct mt_launch launch;
	bool launched;
	struct mt_alloc_lib lib;
	struct mt_heap *heap;
	struct mt_events *events;
	struct mt_agg *agg;
	struct mt_sym *sym;
	struct mt_vm *vm;          /* kernel-side memory view, NULL with --no-vm */
	struct mt_analysis *analysis; /* lifetimes, size classes, trends, advice */
	struct mt_outfile json;    /* --json: f is NULL without it, and once written */
	bool write_failed;         /* a report could not be written: MT_EXIT_WRITE */
	int sigfd;
	uint64_t start_ns;
	uint64_t end_ns;           /* when the target's last event could occur */
	unsigned stop_signals;     /* SIGINT/SIGTERM received (launch mode) */
	bool vm_finished;
	struct mt_reach *reach;    /* --reachability result, NULL until scanned */
	bool leak_known;           /* the final report ran: leak_check is set */
	uint64_t leak_check;       /* bytes --fail-on-leak compares */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !mt_verbose)
		return 0;
	if (level == LIBBPF_INFO && !mt_verbose)
		return 0;
	/* Warnings are shown only with -v: memtrace prints its own one-line
	 * error for every failure, with the context libbpf lacks. */
	if (level == LIBBPF_WARN && !mt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Opened before anything is attached, so an unwritable path fails early;
 * an existing file is replaced only by a complete report (util/mt_outfile). */
static int open_json(struct mt_session *s)
{
	return s->opts.json_path ? mt_outfile_open(&s->json, s->opts.json_path) : 0;
}

/* With --json - the JSON owns stdout and the text report goes to stderr. */
static FILE *text_out(const struct mt_session *s)
{
	return s->opts.json_path && strcmp(s->opts.json_path, "-") == 0 ? stderr : stdout;
}

static int setup_signals(struct mt_session *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	/* A closed stdout (memtrace ... | head) must end in a write error and a
	 * clean detach, not a SIGPIPE death that takes a launched program with
	 * it (PTRACE_O_EXITKILL). The child gets the default back before exec. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || sigprocmask(SIG_BLOCK, &mask, NULL)) {
		int err = -errno;

		mt_err("cannot set up signals: %s", strerror(-err));
		return err;
	}
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0) {
		int err = -errno;

		mt_err("cannot create a signalfd: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int find_allocator(struct mt_session *s)
{
	char **order = NULL;
	size_t n = 0;
	int err;

	if (s->launched && !s->opts.lib) {
		err = mt_launch_load_order(&s->launch, &order, &n);
		if (err)
			return err;
	}
	err = mt_alloc_lib_find(s->target.pid, s->opts.lib, (const char *const *)order, n, &s->lib);
	mt_launch_free_order(order, n);
	if (!err)
		mt_debug("allocator: '%s' (%u entry points)", s->lib.path, s->lib.neps);
	return err;
}

static int attach_heap(struct mt_session *s)
{
	struct mt_heap_opts ho = {
		.pid = s->target.pid,
		.ringbuf_bytes = s->opts.ringbuf_bytes,
		.sample_bytes = s->opts.sample_bytes,
		.callsite_only = s->opts.callsite_only,
		.btf_path = s->opts.btf_path,
	};
	int err;

	err = find_allocator(s);
	if (err)
		return err;
	err = mt_heap_open(&ho, &s->heap);
	if (err)
		return err;
	err = mt_heap_attach(s->heap, &s->lib);
	if (err)
		return err;
	err = mt_events_new(mt_heap_events_fd(s->heap), mt_heap_stacks_fd(s->heap),
			    mt_heap_counters_fd(s->heap), s->agg, &s->events);
	if (!err && s->opts.sample_bytes)
		err = mt_events_set_sampling(s->events, mt_heap_calls_fd(s->heap), s->opts.sample_bytes);
	return err;
}

static int attach(struct mt_session *s)
{
	int err;

	s->agg = mt_agg_new(mt_now_ns());
	if (!s->agg)
		return -ENOMEM;
	if (!s->opts.no_heap && !(s->analysis = mt_analysis_new(s->agg)))
		return -ENOMEM;
	s->sym = mt_sym_new(s->target.pid);
	if (!s->sym) {
		err = -errno;
		if (err == -ESRCH)
			mt_err("PID %d exited during attach", (int)s->target.pid);
		else
			mt_err("cannot read the mappings of PID %d: %s", (int)s->target.pid, strerror(errno));
		return err;
	}
	if (!s->opts.no_heap) {
		err = attach_heap(s);
		if (err)
			return err;
	}
	if (!s->opts.no_vm) {
		struct mt_vm_opts vo = { .pid = s->target.pid };

		err = mt_vm_open(&vo, &s->vm);
		if (err)
			return err;
		mt_vm_set_sym(s->vm, s->sym);
	}
	/* The process may have died while we attached; then say so rather
	 * than report an empty trace. */
	if (!s->launched && !mt_target_alive(&s->target)) {
		mt_err("PID %d exited during attach", (int)s->target.pid);
		return -ESRCH;
	}
	s->start_ns = mt_now_ns();
	if (s->heap)
		mt_heap_enable(s->heap);
	return 0;
}

/* Drain every event source; 0 or -errno. */
static int consume(struct mt_session *s)
{
	if (s->events && mt_events_consume(s->events) < 0)
		return -EIO;
	if (s->vm && mt_vm_consume(s->vm) < 0)
		return -EIO;
	return 0;
}

/* The final kernel-side snapshot must be taken while the target lives. */
static void finish_vm(struct mt_session *s, uint64_t now)
{
	if (s->vm && !s->vm_finished) {
		mt_vm_finish(s->vm, now, s->heap ? mt_agg_totals(s->agg) : NULL);
		s->vm_finished = true;
	}
}

static int vm_text(FILE *f, const struct mt_report *r, bool final, void *vm)
{
	return final ? mt_vm_write_text(f, vm) : 0;
}

static void report(struct mt_session *s, FILE *f, uint64_t now, bool final)
{
	const char *names[MT_AGG_MAX_EPS];
	struct mt_report_opts ro = {
		.launch = s->launched,
		.no_heap = s->opts.no_heap,
		.min_age_ns = (uint64_t)(s->opts.min_age_s * MT_NS_PER_S),
		.top_sites = final ? s->opts.top : (s->opts.top < 5 ? s->opts.top : 5),
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
	snprintf(rt.exe, sizeof(rt.exe), "%s", s->target.exe);
	snprintf(rt.allocator, sizeof(rt.allocator), "%s", s->lib.path);
	if (s->events && mt_events_drops(s->events, &drops))
		mt_err("warning: cannot read the drop counters: lost events may be undercounted");
	if (final && s->analysis)
		mt_analysis_prepare(s->analysis, now, &ro);  /* the trend judges leaks */
	t_build = mt_now_ns();
	err = mt_report_build(&r, s->agg, s->sym, names, s->lib.neps, &rt, &drops, now, !final, &ro);
	t_write = mt_now_ns();
	if (err) {
		mt_err("cannot build the report: %s", strerror(-err));
		return;
	}
	if (final && s->reach && mt_reach_report(s->reach, &r))
		mt_err("warning: the reachability section is missing from the report");
	if (final) {
		s->leak_known = true;
		s->leak_check = r.reach ? r.lost_bytes : r.leak_bytes;
	}
	if (final && s->vm && mt_report_add_extra(&r, "memory", mt_vm_write_json, vm_text, s->vm))
		mt_err("warning: the memory section is missing from the report");
	if (final && s->analysis)
		mt_analysis_add(s->analysis, &r, s->sym);
	/* A report that cannot be written is an error once, not every
	 * interval, and the exit status says so. */
	err = mt_report_text(f, &r, final);
	if (err && !s->write_failed)
		mt_err("cannot write the text report: %s", strerror(-err));
	if (err)
		s->write_failed = true;
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
	mt_debug("report: built in %.3f ms, written in %.3f ms", (double)(t_write - t_build) / 1e6,
		 (double)(mt_now_ns() - t_write) / 1e6);
	mt_report_release(&r);
}

enum stop_reason { STOP_NONE, STOP_SIGNAL, STOP_DURATION, STOP_EXITED, STOP_ERROR };

/* The reachability scan calls this once every thread of the target is
 * stopped: no probe is running then, so stopping the count and draining
 * makes the live table match the memory scanned, and the final report
 * that instant (counting stays off after the target resumes). */
static int cut_paused(void *arg)
{
	struct mt_session *s = arg;

	mt_heap_stop(s->heap);
	return consume(s);
}

/* Launch mode: the child sits in its exit stop (its own threads are being
 * torn down); attach mode: every thread is stopped for the scan. Leak
 * candidates are the objects old enough at end_ns, as in the report. */
static void scan_reach(struct mt_session *s)
{
	uint64_t start = mt_agg_start_ns(s->agg), cut = UINT64_MAX;
	uint64_t min_age = (uint64_t)(s->opts.min_age_s * MT_NS_PER_S);

	if (!s->launched && min_age)
		cut = s->end_ns < start + min_age ? 0 :
			start + (s->end_ns - start - min_age) / 1000000 * 1000000;
	if (mt_reach_pid(s->target.pid, s->launched ? s->launch.pid : 0, s->agg, cut,
			 cut_paused, s, &s->reach))
		return;
	mt_debug("reachability: paused %.3f ms", mt_reach_stats(s->reach)->pause_ms);
}

/* Returns a stop reason once tracing should end. */
static enum stop_reason handle_signals(struct mt_session *s)
{
	struct signalfd_siginfo si;
	enum stop_reason stop = STOP_NONE;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;  /* handled by the launch poll below */
		if (!s->launched) {
			stop = STOP_SIGNAL;
			continue;
		}
		/* Launch mode: the program decides when tracing ends. A signal
		 * from kill(2) is passed on (a terminal's Ctrl-C reached it
		 * already); a second one ends tracing and leaves it running. */
		if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE)
			kill(s->target.pid, (int)si.ssi_signo);
		if (++s->stop_signals > 1)
			stop = STOP_SIGNAL;
	}
	if (s->launched) {
		enum mt_launch_state st = mt_launch_poll(&s->launch, false);

		/* The main thread in its exit stop: exit_group kills the other
		 * threads at once, so give them 100 ms (draining meanwhile); if they
		 * still run, only the main thread left (pthread_exit) and tracing
		 * goes on until the last one exits, an exit that is not stopped. */
		for (int i = 0; st == MT_LAUNCH_EXITING && mt_launch_threads(&s->launch) > 1; i++) {
			if (i == 100) {
				mt_launch_resume(&s->launch);
				st = MT_LAUNCH_RUNNING;
				break;
			}
			if (consume(s))
				stop = STOP_ERROR;
			usleep(1000);
		}
		if (st == MT_LAUNCH_EXITING) {
			/* Last look while its mappings still exist, then let it go. */
			if (consume(s))
				stop = STOP_ERROR;
			mt_sym_refresh(s->sym);
			s->end_ns = mt_now_ns();
			finish_vm(s, s->end_ns);
			if (s->opts.reachability && !s->opts.no_heap)
				scan_reach(s);
			mt_launch_resume(&s->launch);
			st = mt_launch_poll(&s->launch, true);
		}
		/* an error during the last look stays an error */
		if (st == MT_LAUNCH_EXITED && stop != STOP_ERROR)
			stop = STOP_EXITED;
	}
	return stop;
}

static enum stop_reason run(struct mt_session *s)
{
	uint64_t deadline = s->opts.duration_s > 0 ? s->start_ns + (uint64_t)(s->opts.duration_s * MT_NS_PER_S) : 0;
	uint64_t interval = (uint64_t)(s->opts.interval_s * MT_NS_PER_S);
	uint64_t next_report = interval ? s->start_ns + interval : 0;
	uint64_t next_refresh = s->start_ns + MT_NS_PER_S;
	FILE *text = text_out(s);
	struct pollfd pfd[4] = {
		{ .fd = s->sigfd, .events = POLLIN },
		{ .fd = s->launched ? -1 : s->target.pidfd, .events = POLLIN },
		{ .fd = s->events ? mt_events_poll_fd(s->events) : -1, .events = POLLIN },
		{ .fd = s->vm ? mt_vm_poll_fd(s->vm) : -1, .events = POLLIN },
	};

	for (;;) {
		enum stop_reason stop;
		uint64_t now;

		if (poll(pfd, 4, DRAIN_MS) < 0 && errno != EINTR) {
			mt_err("poll failed: %s", strerror(errno));
			return STOP_ERROR;
		}
		if (consume(s))
			return STOP_ERROR;
		stop = handle_signals(s);
		if (stop)
			return stop;
		if (pfd[1].fd >= 0 && (pfd[1].revents & POLLIN)) {
			s->end_ns = mt_now_ns();
			return STOP_EXITED;
		}
		now = mt_now_ns();
		if (now >= next_refresh) {
			/* Pick up libraries mapped since (dlopen) while they exist,
			 * and add a point to the memory timeline. */
			mt_sym_refresh(s->sym);
			if (s->vm)
				mt_vm_sample(s->vm, now, mt_agg_totals(s->agg)->c.live_bytes);
			if (s->analysis)
				mt_analysis_tick(s->analysis, now);
			next_refresh = now + MT_NS_PER_S;
		}
		if (next_report && now >= next_report) {
			report(s, text, now, false);
			next_report += interval;
		}
		if (deadline && now >= deadline)
			return STOP_DURATION;
	}
}

static int start_target(struct mt_session *s)
{
	int err;

	if (s->opts.pid)
		return mt_target_open(s->opts.pid, &s->target);
	err = mt_launch_start(s->opts.cmd, &s->launch);
	if (err)
		return err;
	s->launched = true;
	err = mt_target_open(s->launch.pid, &s->target);
	if (err)
		mt_launch_kill(&s->launch);
	return err;
}

int main(int argc, char **argv)
{
	struct mt_session s = { .sigfd = -1 };
	enum stop_reason stop = STOP_ERROR;
	int err, exit_code = MT_EXIT_ERROR;

	setlinebuf(stdout);
	if (argc > 1 && strcmp(argv[1], "diff") == 0)
		return mt_diff_main(argc - 1, argv + 1);
	err = mt_opts_parse(argc, argv, &s.opts);
	if (err)
		return err == 1 ? 0 : MT_EXIT_USAGE;
	mt_verbose = s.opts.verbose;
	libbpf_set_print(libbpf_print);
	s.target.pidfd = -1;

	if (open_json(&s)) {
		exit_code = MT_EXIT_WRITE;
		goto cleanup;
	}
	if (setup_signals(&s) || start_target(&s))
		goto cleanup;
	if (attach(&s))
		goto cleanup;

	if (s.launched) {
		mt_info("attached to PID %d (%s), tracing until it exits", (int)s.target.pid,
			s.target.comm);
		if (mt_launch_resume(&s.launch))
			goto cleanup;
	} else {
		mt_info("attached to PID %d (%s), Ctrl-C to end", (int)s.target.pid, s.target.comm);
	}

	stop = run(&s);
	if (stop == STOP_ERROR || consume(&s))
		goto cleanup;
	if (stop != STOP_EXITED) {
		s.end_ns = mt_now_ns();
		if (s.opts.reachability && !s.launched)
			scan_reach(&s);   /* makes the cut while the target is paused */
	}
	/* The cut (unless made already), then the detach, which waits for the
	 * probes in flight; then drain what was emitted before the cut. The
	 * target stops paying for probes before the report is built (the maps
	 * stay, so the counters can still be read). */
	mt_heap_detach(s.heap);
	if (consume(&s))
		goto cleanup;
	if (stop != STOP_EXITED) {
		mt_sym_refresh(s.sym);
		finish_vm(&s, s.end_ns);
	}
	if (s.opts.reachability && !s.reach)
		mt_err("warning: no reachability scan (%s): leaks are not split",
		       s.launched ? "the program did not exit while traced" :
		       stop == STOP_EXITED ? "the target exited" : "the scan failed");
	report(&s, text_out(&s), s.end_ns ? s.end_ns : mt_now_ns(), true);
	exit_code = 0;
	if (stop == STOP_EXITED && s.launched)
		exit_code = s.launch.exit_code;
	else if (stop == STOP_EXITED)
		mt_info("PID %d exited", (int)s.target.pid);
	if (s.opts.fail_on_leak && s.leak_known && s.leak_check > s.opts.fail_leak_bytes) {
		mt_err("%llu %s bytes exceed --fail-on-leak=%llu: exit status 3",
		       (unsigned long long)s.leak_check, s.reach ? "definitely lost" : "leaked",
		       s.opts.fail_leak_bytes);
		exit_code = MT_EXIT_LEAK;
	}
	if (s.write_failed)
		exit_code = MT_EXIT_WRITE;

cleanup:
	/* Probes first: the target must never run with a stale consumer. */
	mt_heap_free(s.heap);
	mt_vm_free(s.vm);
	if (s.launched && s.launch.state != MT_LAUNCH_EXITED) {
		if (stop == STOP_ERROR)
			mt_launch_kill(&s.launch);
		else
			mt_launch_detach(&s.launch);
	}
	mt_events_free(s.events);
	mt_sym_free(s.sym);
	mt_reach_free(s.reach);
	mt_analysis_free(s.analysis);
	mt_agg_free(s.agg);
	mt_target_close(&s.target);
	mt_outfile_abort(&s.json);   /* a failed run leaves an existing file as it was */
	if (s.sigfd >= 0)
		close(s.sigfd);
	return exit_code;
}
