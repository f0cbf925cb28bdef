/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loader of the heap tracer (bpf/heap.bpf.c): opens and loads the skeleton
 * for one process, attaches a probe to every allocator entry point (in
 * each object of mt_alloc_lib that provides some) and to the allocator's
 * internal call sites (mt_internal.h), all or nothing, and detaches them
 * all on free. Uprobes are attached for the
 * target PID only, so no other process ever traps.
 */
#ifndef MT_HEAP_LOADER_H
#define MT_HEAP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/mt_alloc_lib.h"
#include "unwind/mt_unwind.h"

struct mt_heap;

enum mt_heap_watch {
	MT_WATCH_NONE = 0,
	MT_WATCH_FORKS,         /* count the children the target creates */
	MT_WATCH_LIFE,          /* attach mode: execs, children (with follow: held), ends */
};

struct mt_heap_opts {
	pid_t pid;
	size_t ringbuf_bytes;   /* power of two, >= 4096 */
	uint64_t sample_bytes;  /* mean bytes between samples; 0: every call */
	bool callsite_only;     /* no stack walk: sites are the immediate caller */
	enum mt_unwind_mode unwind;  /* how stacks are walked per module */
	unsigned max_depth;     /* frames per stack, 1..MT_STACK_MAX */
	const char *const *preload;  /* launch mode: files the loader will map */
	size_t npreload;
	const char *btf_path;   /* kernel BTF, NULL for /sys/kernel/btf/vmlinux */
	bool follow;            /* -f: more processes than pid may be attached */
	enum mt_heap_watch watch; /* process-life tracepoints to load (mt_heap_watch) */
};

/* -f: processes traced at once (the BPF hash of their tgids). */
#define MT_HEAP_MAX_PROCS 1024

/* Open and load. Prints one line and returns -errno on failure. */
int mt_heap_open(const struct mt_heap_opts *o, struct mt_heap **out);

/* Attach every entry point of lib; on failure nothing stays attached. */
int mt_heap_attach(struct mt_heap *h, const struct mt_alloc_lib *lib);

/* The same for another process (-f: a child; mt_heap_opts.follow must be
 * set), or again for pid after its exec (after mt_heap_detach_pid). */
int mt_heap_attach_pid(struct mt_heap *h, pid_t pid, const struct mt_alloc_lib *lib);

/* Detach pid's probes (an exec replaced its image: at once), or (forget:
 * it exited) stop accepting its events at once and destroy its links on a
 * thread of their own (each unregistration waits ~0.1 s for probes in
 * flight). Accepts NULL. */
void mt_heap_detach_pid(struct mt_heap *h, pid_t pid, bool forget);

/* pid has probes attached. */
bool mt_heap_attached(struct mt_heap *h, pid_t pid);

/* Attach the process-life tracepoints opts.watch asked for. MT_WATCH_LIFE
 * (attach mode): follow the target's execs (it is stopped after execve and
 * an MT_EV_F_PROC record is sent; user space continues it) and its new
 * processes: counted (MT_C_CHILDREN), or with follow held and reported the
 * same way, and their ends reported. MT_WATCH_FORKS: only count the
 * children. Tracepoints on exec and fork (with follow, exit) whose cost for
 * other processes is one tgid test per exec, fork (or thread exit).
 * 0, -EOPNOTSUPP when they could not be loaded, or -errno. */
int mt_heap_watch(struct mt_heap *h);

/* Start recording: calls entered from now on are traced. */
void mt_heap_enable(struct mt_heap *h);

/* Map descriptors for the event reader. */
int mt_heap_events_fd(const struct mt_heap *h);
int mt_heap_stacks_fd(const struct mt_heap *h);
int mt_heap_counters_fd(const struct mt_heap *h);
int mt_heap_calls_fd(const struct mt_heap *h);   /* sampling mode: calls per ep */

/* Duty cycling (user/budget/): arm or disarm the allocation side
 * (entry, return, internal call sites) and the free side separately;
 * an unarmed probe costs the target nothing. Only with uprobe_multi links
 * (mt_heap_can_arm). mt_heap_arm makes the armed set equal to want; a
 * disarm of the allocation side forgets every thread's in-flight call.
 * 0 or -errno (a message printed); on error the armed set is as far as it
 * got (mt_heap_armed). */
#define MT_ARM_ALLOC 1u
#define MT_ARM_FREE 2u
bool mt_heap_can_arm(const struct mt_heap *h);
int mt_heap_arm(struct mt_heap *h, unsigned want);
unsigned mt_heap_armed(const struct mt_heap *h);
/* The allocation side's links are still being destroyed (their grace
 * period, tens of ms here): until then a thread caught inside the
 * allocator may ignore its frees. */
bool mt_heap_disarming(const struct mt_heap *h);

/* Run time and runs of every heap program so far (counted only while
 * the kernel's BPF statistics are enabled, bpf_enable_stats). 0 or -errno. */
/* Kernel memory of the heap tracer's BPF maps (probe/mt_bpf_util.h). */
uint64_t mt_heap_map_bytes(const struct mt_heap *h, uint64_t *ring_bytes);

int mt_heap_prog_stats(const struct mt_heap *h, uint64_t *run_ns, uint64_t *runs);

/* Tables for mappings that appeared since the last look (dlopen): cheap
 * when the walker met no unknown return address since the last call;
 * with now, at once (see mt_unwind_poll). */
void mt_heap_unwind_poll(struct mt_heap *h, bool now);

/* The unwind tables (for the report's modules and -v) and the maps they
 * are in, which the memory view's walker reuses; NULL with
 * --callsite-only. */
struct mt_unwind *mt_heap_unwind(const struct mt_heap *h);
const struct mt_unwind_sink *mt_heap_unwind_sink(const struct mt_heap *h);

/* The cut: stop counting at once in every probe (one flag each tests
 * first), so the final report is one instant. Events emitted before it may
 * still be in flight until mt_heap_detach() returns; with every thread of
 * the target stopped there are none. Accepts NULL. */
void mt_heap_stop(struct mt_heap *h);

/* Stop counting, then detach every probe but keep the maps (counters stay
 * readable). Detaching waits for the probes running, so on return every
 * event from before the cut is in the ring buffer, and a call in flight at
 * the cut is not counted, as at attach. Accepts NULL. */
void mt_heap_detach(struct mt_heap *h);

/* Detach every probe and unload; accepts NULL. */
void mt_heap_free(struct mt_heap *h);

#endif /* MT_HEAP_LOADER_H */
