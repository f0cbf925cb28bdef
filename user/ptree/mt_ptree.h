/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The traced process tree: one image per process and per exec. An exec
 * ends an image (its live blocks are released, not leaks: the kernel took
 * the whole address space) and starts a new one, whose allocator is found
 * and probed while the process is still stopped after execve; with -f a
 * child is attached at its fork stop, before it runs its own code. Each
 * image has its own aggregator and symbolizer (addresses mean different
 * things in each), events are routed to the current image of their tgid,
 * and the final report is the whole tree's with one entry per image
 * ("processes", docs/report-format.md).
 *
 * Launch mode: ptrace's stops are where images change (mt_ptree_hook).
 * Attach mode: the heap tracer stops the target after execve and sends a
 * process-life record (mt_heap_watch); mt_ptree_proc probes the new image
 * and continues it with SIGCONT; with -f a new child is held the same way
 * until its probes are in.
 */
#ifndef MT_PTREE_H
#define MT_PTREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/mt_agg.h"
#include "collect/mt_events.h"
#include "probe/mt_alloc_lib.h"
#include "probe/mt_heap.h"
#include "report/mt_report.h"
#include "sym/mt_sym.h"
#include "target/mt_launch.h"

struct mt_ptree;

struct mt_ptree_opts {
	bool follow;                /* -f */
	bool attach;                /* attach mode: execs come as records */
	const char *lib;            /* --lib: the allocator of every image */
	uint64_t sample_bytes;      /* --sample-bytes, 0: exact */
	/* Drain the event ring (every event before a stop is then applied). */
	int (*drain)(void *arg);
	/* The first process exec'd: agg, sym and lib are its new image's
	 * (lib->neps 0 when no allocator was found), for the session's
	 * analyses and memory view. */
	void (*main_exec)(void *arg, struct mt_agg *agg, struct mt_sym *sym,
			  const struct mt_alloc_lib *lib);
	void *arg;
};

/* The tree of the launched process pid, whose first image is traced with
 * agg, sym and lib (the tree owns agg and sym from now on). heap and events
 * are the session's, used to attach new images and route their events. */
int mt_ptree_new(const struct mt_ptree_opts *o, struct mt_heap *heap, struct mt_events *events,
		 pid_t pid, struct mt_agg *agg, struct mt_sym *sym, const struct mt_alloc_lib *lib,
		 struct mt_ptree **out);

/* The mt_launch hook (mt_launch_follow): exec, fork, a child's exit. */
int mt_ptree_hook(void *tree, const struct mt_launch_ev *ev);

/* The mt_events process-life callback (attach mode). */
void mt_ptree_proc(void *tree, unsigned kind, uint32_t tgid, uint64_t arg0);

/* Once a second: pick up libraries the running children mapped since. */
void mt_ptree_tick(struct mt_ptree *t);

/* Number of images so far (1 until an exec or a traced child). */
unsigned mt_ptree_images(const struct mt_ptree *t);

/* Make r, the final report of the first process's current image, the
 * whole tree's (mt_report_merge) when there is more than one image or -f
 * was given; ro as for r; main_exit: the first process's exit status, -1
 * while it runs, MT_PTREE_EXITED when it exited with a status unknown
 * (attach mode). The per-image reports live until
 * mt_ptree_report_release. 0 or -errno. */
#define MT_PTREE_EXITED (-2)
int mt_ptree_report(struct mt_ptree *t, struct mt_report *r, uint64_t now_ns,
		    const struct mt_report_opts *ro, int main_exit);
void mt_ptree_report_release(struct mt_ptree *t);

/* Frees every image's aggregator and symbolizer; accepts NULL. */
void mt_ptree_free(struct mt_ptree *t);

#endif /* MT_PTREE_H */
