/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by bpf/go_gc.bpf.c and user/go/mt_go_gc.c: one record per
 * hit of an entry probe on the Go runtime's garbage-collector functions.
 * Go code gets no return probes (a rewritten return address on a goroutine
 * stack that the runtime moves makes it throw), so the phases are cut by
 * the entries of the functions that follow each other in a cycle:
 *
 *   gcStart -> stopTheWorldWithSema -> startTheWorldWithSema (sweep
 *   termination pause; mark begins) -> gcMarkDone -> stopTheWorldWithSema
 *   -> gcMarkTermination -> startTheWorldWithSema (mark termination pause)
 *
 * Every record carries the runtime's own state read at that instant
 * (memstats.numgc, gcphase and up to MT_GO_GC_WATCH u64 words such as
 * work.heap0..2 and gcController.lastHeapGoal), so user space tells a GC
 * pause from another stop of the world (ReadMemStats, GOMAXPROCS) by what
 * the runtime itself says, not by guessing from order alone.
 * Fixed-width fields, sizes asserted. Includes nothing.
 */
#ifndef MT_BPF_GO_GC_H
#define MT_BPF_GO_GC_H

enum mt_go_gc_kind {
	MT_GO_GC_START = 1,     /* runtime.gcStart entry (may return early) */
	MT_GO_GC_STW_STOP,      /* runtime.stopTheWorldWithSema entry */
	MT_GO_GC_STW_START,     /* runtime.startTheWorldWithSema entry */
	MT_GO_GC_MARK_DONE,     /* runtime.gcMarkDone entry (may return early) */
	MT_GO_GC_MARK_TERM,     /* runtime.gcMarkTermination entry */
	MT_GO_GC_KINDS
};

/* Watched words, read at every hit; an address of 0 is not read. */
#define MT_GO_GC_WATCH 4

/* Per-CPU counters (index into mt_go_gc_counters). */
enum mt_go_gc_counter {
	MT_GO_GC_C_EVENTS,      /* records written */
	MT_GO_GC_C_DROPS,       /* records lost: ring buffer full */
	MT_GO_GC_C_FAULTS,      /* a read of the target's memory failed */
	MT_GO_GC_C_COUNT
};

struct mt_go_gc_ev {
	__u64 ts_ns;                    /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 watch[MT_GO_GC_WATCH];    /* the watched words, 0 when unread */
	__u32 kind;                     /* enum mt_go_gc_kind */
	__u32 tid;
	__u32 numgc;                    /* memstats.numgc at the hit */
	__u32 gcphase;                  /* runtime.gcphase: 0 off, 1 mark, 2 mark termination */
};

_Static_assert(sizeof(struct mt_go_gc_ev) == 56, "struct mt_go_gc_ev layout");

#endif /* MT_BPF_GO_GC_H */
