// SPDX-License-Identifier: BSD-2-Clause
/*
 * The tracing session: start (target, probes), the event loop, and the
 * end — see cli/mt_session.h for the life cycle. The order at the end is
 * what keeps the final report exact: the cut (counting stops in every
 * probe at once), then the detach (which waits for the probes in flight),
 * then the drain; a reachability scan makes the cut while the target is
 * paused, so memory and report are one instant.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "analyze/mt_analysis.h"
#include "budget/mt_budget.h"
#include "cli/mt_session.h"
#include "collect/mt_agg.h"
#include "collect/mt_events.h"
#include "pools/mt_pools.h"
#include "go/mt_go_gc.h"
#include "probe/mt_heap.h"
#include "ptree/mt_ptree.h"
#include "reach/mt_reach.h"
#include "serve/mt_metrics.h"
#include "serve/mt_serve.h"
#include "sym/mt_elf.h"
#include "sym/mt_sym.h"
#include "util/mt_exit.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "go/mt_go.h"
#include "vm/mt_vm.h"

/* Ring-buffer wakeups are batched (BPF_RB_NO_WAKEUP), so the consumer
 * drains on this timer: 20 ms of events at 1M events/s is 1.3 MB, inside
 * the default 2 MiB ring (docs/sampling.md "Ring size"). */
#define DRAIN_MS 20

/* How long the other threads of a program in its exit stop get to finish
 * (exit_group kills them at once; a pthread_exit of main does not). */
#define EXIT_THREADS_MS 100

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
	/* An ignored signal is dropped when sent and never reaches a signalfd;
	 * a shell starts background jobs with SIGINT ignored, yet SIGINT is how
	 * memtrace is ended (`memtrace -p PID & ... kill -INT`). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGINT, SIG_DFL) == SIG_ERR ||
	    signal(SIGTERM, SIG_DFL) == SIG_ERR || sigprocmask(SIG_BLOCK, &mask, NULL)) {
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

/* --listen: bound before the target is touched, so a port in use fails
 * early; its thread starts after the signals are blocked. */
static int start_serve(struct mt_session *s)
{
	int err;

	if (!s->opts.listen)
		return 0;
	err = mt_serve_start(s->opts.listen, &s->serve);
	if (!err)
		mt_info("serving metrics at %s", mt_serve_url(s->serve));
	return err;
}

/* Render in this thread (the aggregator's), publish by a buffer swap. */
static void publish_metrics(struct mt_session *s, uint64_t now)
{
	if (s->metrics && mt_metrics_render(s->metrics, now, &s->prom) == 0)
		mt_serve_publish(s->serve, &s->prom);
}

static int open_metrics(struct mt_session *s)
{
	struct mt_metrics_opts mo = {
		.pid = s->target.pid, .comm = s->target.comm,
		.allocator = s->lib.path, .top = s->opts.metrics_top,
	};
	struct mt_metrics_extra vm = {
		.name = "vm", .write = mt_vm_write_metrics, .lost = mt_vm_lost_arg, .arg = s->vm,
	};
	struct mt_metrics_extra pools = {
		.name = "pools", .write = mt_pools_write_metrics, .lost = mt_pools_lost_arg,
		.arg = s->pools,
	};
	struct mt_metrics_extra budget = {
		.name = "budget", .write = mt_budget_write_metrics, .arg = s->budget,
	};

	if (!s->serve)
		return 0;
	s->metrics = mt_metrics_new(s->opts.no_heap ? NULL : s->agg, s->sym, &mo);
	if (!s->metrics || (s->vm && mt_metrics_add_extra(s->metrics, &vm)) ||
	    (s->pools && mt_metrics_add_extra(s->metrics, &pools)) ||
	    (s->budget && mt_metrics_add_extra(s->metrics, &budget))) {
		mt_err("cannot set up the metrics: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	publish_metrics(s, mt_now_ns());
	return 0;
}

/* order: launch mode, the files the dynamic loader will map (freed by
 * the caller with mt_launch_free_order). */
static int find_allocator(struct mt_session *s, char ***order, size_t *n)
{
	int err;

	if (s->launched) {
		err = mt_launch_load_order(&s->launch, order, n);
		if (err && !s->opts.lib)
			return err;   /* with --lib the order only helps the unwinder */
	}
	err = mt_alloc_lib_find(s->target.pid, s->opts.lib, (const char *const *)*order, s->opts.lib ? 0 : *n,
				&s->lib);
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
		.unwind = (enum mt_unwind_mode)s->opts.unwind,
		.max_depth = s->opts.max_depth,
		.btf_path = s->opts.btf_path,
		.follow = s->opts.follow,
		/* launch mode has ptrace's exec and fork stops; without -f a
		 * filtered tracepoint counts the children, no stop needed */
		.watch = !s->launched ? MT_WATCH_LIFE : s->opts.follow ? MT_WATCH_NONE : MT_WATCH_FORKS,
	};
	char **order = NULL;
	size_t n = 0;
	int err;

	err = find_allocator(s, &order, &n);
	if (!err) {
		ho.preload = (const char *const *)order;
		ho.npreload = n;
		err = mt_heap_open(&ho, &s->heap);
	}
	mt_launch_free_order(order, n);
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

static int drain_events(void *s)
{
	return mt_session_consume(s);
}

/* The launched program exec'd: its new image is what the session's
 * analyses, memory view and report header follow from now on. */
static void main_exec(void *arg, struct mt_agg *agg, struct mt_sym *sym,
		      const struct mt_alloc_lib *lib)
{
	struct mt_session *s = arg;

	s->agg = agg;
	s->sym = sym;
	s->lib = *lib;
	mt_target_reload(&s->target);
	if (s->vm)
		mt_vm_set_sym(s->vm, sym);
	mt_pools_set_sym(s->pools, sym);
	if (s->analysis) {
		mt_analysis_free(s->analysis);
		s->analysis = mt_analysis_new(agg);
	}
	mt_metrics_retarget(s->metrics, agg, sym, s->target.comm, lib->path);
}

/* exec and (launch mode, -f) fork are followed (user/ptree): at their
 * ptrace stops in launch mode, at a stop the BPF side makes after an exec
 * in attach mode. The tree owns the aggregators and symbolizers from here. */
static int follow_tree(struct mt_session *s)
{
	struct mt_ptree_opts po = {
		.follow = s->opts.follow, .attach = !s->launched, .lib = s->opts.lib,
		.sample_bytes = s->opts.sample_bytes, .drain = drain_events, .main_exec = main_exec,
		.arg = s,
	};
	int err;

	if (s->heap) {
		err = mt_ptree_new(&po, s->heap, s->events, s->target.pid, s->agg, s->sym, &s->lib,
				   &s->tree);
		if (err)
			return err;
	}
	/* attach mode: execs are stopped by the BPF side, then probed; both
	 * modes without -f: children are counted by the BPF side */
	err = s->heap ? mt_heap_watch(s->heap) : -EOPNOTSUPP;
	if (err && err != -EOPNOTSUPP)
		return err;
	s->bpf_children = !err;
	if (!s->launched) {
		if (s->heap)
			mt_events_set_proc(s->events, mt_ptree_proc, s->tree);
		return 0;
	}
	s->launch.count_forks = !s->bpf_children;
	return mt_launch_follow(&s->launch, s->opts.follow, s->tree ? mt_ptree_hook : NULL, s->tree);
}

/* Pool libraries (user/pools): found by their USDT notes in the
 * executable and the libraries it loads; none found is no error. */
static int attach_pools(struct mt_session *s)
{
	struct mt_pools_opts po = { .pid = s->target.pid, .events = s->opts.pool_events,
				    .existing = !s->launched };
	char **files = NULL;
	size_t n = 0;
	int err;

	if (s->launched)
		err = mt_launch_load_order(&s->launch, &files, &n);
	else
		err = mt_pools_maps_files(s->target.pid, &files, &n);
	if (err) {
		mt_err("cannot list the objects of PID %d for pool probes: %s", (int)s->target.pid,
		       strerror(-err));
		return err;
	}
	po.files = (const char *const *)files;
	po.nfiles = n;
	err = mt_pools_open(&po, &s->pools);
	if (s->launched)
		mt_launch_free_order(files, n);
	else
		mt_pools_free_files(files, n);
	if (err == -ENOENT) {
		if (s->opts.pool_events)
			mt_info("--pool-events: no pool library with USDT probes in the target");
		return 0;
	}
	if (!err)
		mt_pools_set_sym(s->pools, s->sym);
	else if (!s->opts.pool_events) {
		/* the heap and memory views go on; what failed was said */
		mt_err("warning: the pools are not traced (--no-pools to leave them out)");
		err = 0;
	}
	return err;
}

/* A Go target: its heap is runtime.mallocgc's (user/go). A pure Go
 * program has no C allocator, so the allocator probes are left out;
 * a cgo program gets both views. */
static int open_go(struct mt_session *s)
{
	struct mt_go_opts go = { .pid = s->target.pid, .exe = s->target.exe,
				 .mode = (enum mt_go_mode)s->opts.go, .top = s->opts.top };
	int err = mt_go_open(&go, &s->go);

	if (err)
		return err;
	if (s->go && mt_go_pure(s->go) && !s->opts.no_heap) {
		mt_debug("go: no cgo, no C allocator: allocator probes left out");
		s->opts.no_heap = true;
		s->opts.reachability = false;
	}
	s->is_go = s->go != NULL;
	return 0;
}

static int attach_all(struct mt_session *s)
{
	int err;

	/* the peak RSS comes while the BPF objects load (libbpf parses the
	 * kernel's BTF for each, ~5 MiB); the libraries' relocations, read
	 * at start and never again, need not be resident then */
	mt_session_self_trim();
	s->agg = mt_agg_new(mt_now_ns());
	if (!s->agg)
		return -ENOMEM;
	/* the budget's reference: the target's pace before any probe */
	if (!s->launched && s->opts.max_overhead_pct > 0 && !s->opts.no_heap)
		mt_meter_before(&s->before, s->target.pid, MT_BUDGET_BEFORE_MS);
	err = open_go(s);
	if (err)
		return err;
	if (!s->opts.no_heap && !(s->analysis = mt_analysis_new(s->agg)))
		return -ENOMEM;
	s->sym = mt_sym_new(s->target.pid);
	if (!s->sym) {
		err = -errno;
		mt_err("cannot read the mappings of PID %d: %s", (int)s->target.pid, strerror(errno));
		return err;
	}
	if (!s->opts.no_heap) {
		err = attach_heap(s);
		if (err)
			return err;
		mt_session_self_trim();  /* capstone's tables, read placing probes */
	}
	err = mt_session_open_budget(s);
	if (err)
		return err;
	if (!s->opts.no_vm) {
		/* the view's walker reads the heap tracer's tables */
		struct mt_vm_opts vo = { .pid = s->target.pid,
					 .launched = s->launched,
					 .source = (enum mt_vm_source)s->opts.vm_source,
					 .fault_source = (enum mt_vm_fault_source)s->opts.fault_source,
					 .uw = mt_heap_unwind(s->heap),
					 .uw_sink = mt_heap_unwind_sink(s->heap),
					 .unwind = (enum mt_unwind_mode)s->opts.unwind,
					 .max_depth = (uint32_t)s->opts.max_depth };
		char **order = NULL;
		size_t n = 0;

		/* without the heap tracer the view builds its tables, and in
		 * launch mode wants the libraries about to be loaded */
		if (!vo.uw_sink && s->launched && mt_launch_load_order(&s->launch, &order, &n))
			mt_debug("unwind: the libraries to be loaded are unknown");
		vo.preload = (const char *const *)order;
		vo.npreload = n;
		err = mt_vm_open(&vo, &s->vm);
		mt_launch_free_order(order, n);
		if (err)
			return err;
		mt_vm_set_sym(s->vm, s->sym);
	}
	if (!s->opts.no_pools) {
		err = attach_pools(s);
		if (err)
			return err;
	}
	/* -ENOENT: neither symbols nor DWARF, both said already */
	if (s->is_go && (err = mt_go_gc_open(s->target.pid, s->target.exe, &s->go_gc)) &&
	    err != -ENOENT)
		mt_err("warning: the Go garbage collector is not traced: %s", strerror(-err));
	if (s->go_gc)
		mt_go_link_gc(s->go, s->go_gc);
	/* The process may have died while we attached; then say so rather
	 * than report an empty trace. */
	if (!s->launched && !mt_target_alive(&s->target))
		return -ESRCH;
	err = follow_tree(s);
	if (err)
		return err;
	/* Attaching parsed the kernel's BTF twice and the target's unwind
	 * and debug info: ~10 MiB freed by now that glibc keeps; give it back
	 * (a few ms, once). */
	malloc_trim(0);
	mt_session_self_trim();
	mt_session_self_debug(s);
	s->start_ns = mt_now_ns();
	if (s->heap)
		mt_heap_enable(s->heap);
	mt_go_enable(s->go, s->start_ns);
	mt_go_gc_enable(s->go_gc);
	if (s->budget)
		mt_budget_start(s->budget, s->start_ns);
	return 0;
}

/* A target that exits while memtrace attaches fails whichever step runs
 * then (reading its maps, its executable, attaching uprobes), each with
 * its own message: the steps' lines are held and replaced by the one
 * cause when the target is gone. */
static int attach(struct mt_session *s)
{
	int err;

	mt_log_hold();
	err = attach_all(s);
	if (err && !mt_target_alive_after_error(&s->target, 200)) {
		mt_log_release(false);
		mt_err("PID %d exited during attach", (int)s->target.pid);
		return -ESRCH;
	}
	mt_log_release(true);
	return err;
}

int mt_session_start(struct mt_session *s)
{
	mt_session_tty_setup(s);
	if (s->opts.json_path && mt_outfile_open(&s->json, s->opts.json_path))
		return MT_EXIT_WRITE;
	if (s->opts.text_path && strcmp(s->opts.text_path, "-") &&
	    mt_outfile_open(&s->text, s->opts.text_path))
		return MT_EXIT_WRITE;
	if (setup_signals(s) || start_serve(s) || start_target(s) || attach(s) || open_metrics(s))
		return MT_EXIT_ERROR;
	if (s->launched) {
		mt_info("attached to PID %d (%s), tracing until it exits", (int)s->target.pid,
			s->target.comm);
		if (mt_launch_resume(&s->launch))
			return MT_EXIT_ERROR;
	} else {
		mt_info("attached to PID %d (%s), Ctrl-C to end", (int)s->target.pid, s->target.comm);
	}
	return 0;
}

int mt_session_consume(struct mt_session *s)
{
	/* The memory view first: a library it saw mapped gets its unwind
	 * tables now, before the heap's backlog is read (the heap's stacks
	 * are walked already; the library's next ones need the tables). */
	if (s->vm && mt_vm_consume(s->vm) < 0)
		return -EIO;
	if (s->events && mt_events_consume(s->events) < 0)
		return -EIO;
	mt_heap_unwind_poll(s->heap, false);   /* tables for modules mapped since */
	if (mt_pools_consume(s->pools) < 0)
		return -EIO;
	if (mt_go_gc_consume(s->go_gc) < 0)
		return -EIO;
	return 0;
}

void mt_session_finish_vm(struct mt_session *s, uint64_t now)
{
	if (s->vm && !s->vm_finished) {
		mt_vm_finish(s->vm, now, s->heap ? mt_agg_totals(s->agg) : NULL);
		s->vm_finished = true;
	}
}

/* The reachability scan calls this once every thread of the target is
 * stopped: no probe is running then, so stopping the count and draining
 * makes the live table match the memory scanned, and the final report
 * that instant (counting stays off after the target resumes). */
static int cut_paused(void *arg)
{
	struct mt_session *s = arg;

	int err;

	mt_heap_stop(s->heap);
	err = mt_session_consume(s);
	/* the pools' idle objects leave the live table before the scan */
	mt_pools_finish(s->pools, mt_now_ns());
	mt_pools_claim(s->pools, s->agg);
	return err;
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

/* SIGINT/SIGTERM: MT_STOP_SIGNAL once tracing should end. In launch mode
 * the program decides when tracing ends: a signal from kill(2) is passed
 * on (a terminal's Ctrl-C reached it already); a second one ends tracing
 * and leaves it running. SIGCHLD only wakes the poll. */
static enum mt_stop read_signals(struct mt_session *s)
{
	struct signalfd_siginfo si;
	enum mt_stop stop = MT_STOP_NONE;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		if (!s->launched) {
			stop = MT_STOP_SIGNAL;
			continue;
		}
		if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE)
			kill(s->target.pid, (int)si.ssi_signo);
		if (++s->stop_signals > 1)
			stop = MT_STOP_SIGNAL;
	}
	return stop;
}

/* Launch mode, the main thread in its exit stop: wait for the other
 * threads (draining meanwhile), take the last look while the mappings
 * still exist (symbols, the final memory snapshot, the reachability
 * scan), then let it exit. If the other threads still run after
 * EXIT_THREADS_MS, only the main thread left (pthread_exit): it is
 * released and tracing goes on until the last one exits, an exit that is
 * not stopped. Returns the launch state after, MT_STOP_ERROR on a failed
 * drain in *stop. */
static enum mt_launch_state last_look_at_exit(struct mt_session *s, enum mt_stop *stop)
{
	int i;

	for (i = 0; mt_launch_threads(&s->launch) > 1; i++) {
		if (i == EXIT_THREADS_MS) {
			mt_launch_resume(&s->launch);
			return MT_LAUNCH_RUNNING;
		}
		if (mt_session_consume(s))
			*stop = MT_STOP_ERROR;
		usleep(1000);
	}
	if (mt_session_consume(s))
		*stop = MT_STOP_ERROR;
	mt_sym_refresh(s->sym);
	s->end_ns = mt_now_ns();
	mt_session_finish_vm(s, s->end_ns);
	mt_pools_finish(s->pools, s->end_ns);   /* its memory is still there */
	if (s->heap)
		mt_pools_claim(s->pools, s->agg);   /* before the scan */
	mt_go_gc_finish(s->go_gc, true);   /* its memory is still there */
	if (s->opts.reachability && !s->opts.no_heap)
		scan_reach(s);
	mt_launch_resume(&s->launch);
	return mt_launch_poll(&s->launch, true);
}

/* Launch mode: MT_STOP_EXITED once the program has exited. */
static enum mt_stop poll_program(struct mt_session *s, enum mt_stop stop)
{
	enum mt_launch_state st = mt_launch_poll(&s->launch, false);

	if (st == MT_LAUNCH_EXITING)
		st = last_look_at_exit(s, &stop);
	/* an error during the last look stays an error */
	if (st == MT_LAUNCH_EXITED && stop != MT_STOP_ERROR)
		stop = MT_STOP_EXITED;
	return stop;
}

enum mt_stop mt_session_run(struct mt_session *s)
{
	uint64_t deadline = s->opts.duration_s > 0 ? s->start_ns + (uint64_t)(s->opts.duration_s * MT_NS_PER_S) : 0;
	uint64_t interval = (uint64_t)(s->opts.interval_s * MT_NS_PER_S);
	uint64_t next_report = interval ? s->start_ns + interval : 0;
	uint64_t next_refresh = s->start_ns + MT_NS_PER_S;
	FILE *text = mt_session_text_out(s);
	struct pollfd pfd[5] = {
		{ .fd = s->sigfd, .events = POLLIN },
		{ .fd = s->launched ? -1 : s->target.pidfd, .events = POLLIN },
		{ .fd = s->events ? mt_events_poll_fd(s->events) : -1, .events = POLLIN },
		{ .fd = s->vm ? mt_vm_poll_fd(s->vm) : -1, .events = POLLIN },
		{ .fd = mt_pools_poll_fd(s->pools), .events = POLLIN },
	};

	if (interval)
		mt_session_live_start(s);
	for (;;) {
		enum mt_stop stop;
		uint64_t now;

		if (poll(pfd, 5, mt_budget_timeout_ms(s->budget, mt_now_ns(), DRAIN_MS)) < 0 &&
		    errno != EINTR) {
			mt_err("poll failed: %s", strerror(errno));
			return MT_STOP_ERROR;
		}
		if (mt_session_consume(s))
			return MT_STOP_ERROR;
		stop = read_signals(s);
		if (!stop)   /* keys: at most DRAIN_MS late, one ioctl a wakeup */
			stop = mt_session_live_key(s);
		if (s->launched)
			stop = poll_program(s, stop);
		if (stop)
			return stop;
		if (pfd[1].fd >= 0 && (pfd[1].revents & POLLIN)) {
			s->end_ns = mt_now_ns();
			return MT_STOP_EXITED;
		}
		now = mt_now_ns();
		mt_budget_tick(s->budget, now, drain_events, s);  /* a failed arm is reported */
		if (now >= next_refresh) {
			/* Pick up libraries mapped since (dlopen) while they exist,
			 * and add a point to the memory timeline. */
			mt_sym_refresh(s->sym);
			mt_ptree_tick(s->tree);
			if (s->vm)
				mt_vm_sample(s->vm, now, &mt_agg_totals(s->agg)->c);
			mt_pools_sample(s->pools, now);
			mt_go_gc_sample(s->go_gc);
			if (s->analysis)
				mt_analysis_tick(s->analysis, now);
			publish_metrics(s, now);
			mt_session_guide(s, now);
			next_refresh = now + MT_NS_PER_S;
		}
		if (next_report && now >= next_report) {
			mt_session_live_frame(s, now, true);
			if (!mt_session_live_owns(s, text))
				mt_session_report(s, text, now, false);
			next_report += interval;
		}
		if (deadline && now >= deadline)
			return MT_STOP_DURATION;
	}
}

/* Debug files still downloading from debuginfod get a bounded wait before
 * the final report (the probes are detached by then, so the target does
 * not pay for it); the modules left without names are named. */
static void debuginfod_wait(struct mt_session *s)
{
	size_t left = mt_sym_debuginfod_wait(s->sym, (unsigned)(s->opts.debuginfod_timeout_s * 1000));

	if (!left)
		return;
	mt_err("warning: debuginfod: %zu debug file%s still downloading after %.0f s "
	       "(--debuginfod-timeout); these modules keep the names they had:", left,
	       left == 1 ? "" : "s", s->opts.debuginfod_timeout_s);
	for (size_t i = 0; i < mt_sym_nmodules(s->sym); i++) {
		struct mt_sym_module m;

		mt_sym_module_get(s->sym, i, &m);
		if (m.debuginfod && !strcmp(m.debuginfod, "pending"))
			mt_err("  %s (names: %s)", m.path, mt_sym_src_name(m.symbols));
	}
}

int mt_session_finish(struct mt_session *s)
{
	int exit_code = 0;

	mt_session_live_end(s);   /* the terminal as it was, for what follows */
	if (s->stop == MT_STOP_ERROR || mt_session_consume(s))
		return MT_EXIT_ERROR;
	if (s->stop != MT_STOP_EXITED) {
		s->end_ns = mt_now_ns();
		if (s->opts.reachability && !s->launched)
			scan_reach(s);   /* makes the cut while the target is paused */
	}
	/* The cut (unless made already), then the detach, which waits for the
	 * probes in flight; then drain what was emitted before the cut. The
	 * target stops paying for probes before the report is built (the maps
	 * stay, so the counters can still be read). */
	mt_heap_detach(s->heap);
	mt_pools_detach(s->pools);
	mt_go_stop(s->go, s->end_ns ? s->end_ns : mt_now_ns());
	/* the final MemStats: read while the target is still there */
	mt_go_gc_finish(s->go_gc, s->stop != MT_STOP_EXITED && mt_target_alive(&s->target));
	if (mt_session_consume(s))
		return MT_EXIT_ERROR;
	if (s->stop != MT_STOP_EXITED) {
		mt_sym_refresh(s->sym);
		mt_session_finish_vm(s, s->end_ns);
		mt_pools_finish(s->pools, s->end_ns);
	}
	/* What the pools hold idle is theirs, not the program's live objects */
	if (s->heap)
		mt_pools_claim(s->pools, s->agg);
	if (s->opts.reachability_asked && !s->reach)
		mt_err("warning: no reachability scan (%s): leaks are not split",
		       s->launched ? "the program did not exit while traced" :
		       s->stop == MT_STOP_EXITED ? "the target exited" : "the scan failed");
	mt_budget_stop(s->budget, s->end_ns ? s->end_ns : mt_now_ns());
	debuginfod_wait(s);
	mt_session_report(s, mt_session_text_out(s), s->end_ns ? s->end_ns : mt_now_ns(), true);
	if (s->stop == MT_STOP_EXITED && s->launched)
		exit_code = s->launch.exit_code;
	else if (s->stop == MT_STOP_EXITED)
		mt_info("PID %d exited", (int)s->target.pid);
	if (s->opts.fail_on_leak && s->leak_known && s->leak_check > s->opts.fail_leak_bytes) {
		mt_err("%llu %s bytes exceed --fail-on-leak=%llu: exit status %d",
		       (unsigned long long)s->leak_check, s->reach ? "definitely lost" : "leaked",
		       s->opts.fail_leak_bytes, MT_EXIT_LEAK);
		exit_code = MT_EXIT_LEAK;
	}
	if (s->write_failed)
		exit_code = MT_EXIT_WRITE;
	return exit_code;
}

void mt_session_close(struct mt_session *s)
{
	mt_session_live_end(s);
	/* Probes first: the target must never run with a stale consumer. */
	mt_heap_free(s->heap);
	mt_go_free(s->go);
	mt_vm_free(s->vm);
	mt_pools_free(s->pools);
	mt_go_gc_free(s->go_gc);
	/* -f: children still traced when the program exited run on too */
	if (s->launched && (s->launch.state != MT_LAUNCH_EXITED || s->launch.tracees)) {
		if (s->stop == MT_STOP_ERROR)
			mt_launch_kill(&s->launch);
		else
			mt_launch_detach(&s->launch);
	}
	mt_serve_stop(s->serve);    /* its thread reads only its own snapshot */
	mt_metrics_free(s->metrics);
	mt_prom_release(&s->prom);
	mt_events_free(s->events);
	mt_reach_free(s->reach);
	mt_analysis_free(s->analysis);
	mt_budget_free(s->budget);
	if (s->tree) {
		mt_ptree_free(s->tree);   /* every image's aggregator and symbolizer */
	} else {
		mt_sym_free(s->sym);
		mt_agg_free(s->agg);
	}
	mt_target_close(&s->target);
	mt_outfile_abort(&s->json);   /* a failed run leaves an existing file as it was */
	mt_outfile_abort(&s->text);
	mt_out_rate_release(&s->rate);
	if (s->sigfd >= 0)
		close(s->sigfd);
}
