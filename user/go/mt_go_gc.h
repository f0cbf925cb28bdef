/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The garbage collector of a Go target: GC cycles, their stop-the-world
 * pauses and mark phases from entry probes on the runtime's GC functions
 * (bpf/go_gc.bpf.c), and the MemStats read from the target's memory
 * (go/mt_go_memstats.h) at each tick and at the end. Both halves work
 * alone: a binary without DWARF still gets its cycles and pauses, one
 * without a symbol table (-ldflags=-s) still gets its MemStats.
 */
#ifndef MT_GO_GC_H
#define MT_GO_GC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "go/mt_go_memstats.h"

struct mt_json;
struct mt_go_gc;

/* One GC cycle seen by the probes. Times are CLOCK_MONOTONIC ns. */
struct mt_go_gc_cycle {
	uint32_t n;             /* its number: NumGC once it ended */
	bool whole;             /* its start was seen (not begun before attach) */
	uint64_t start_ns;      /* the world stopped for sweep termination */
	uint64_t stw1_ns;       /* sweep-termination pause, probe to probe */
	uint64_t mark_ns;       /* concurrent mark: world started to world stopped */
	uint64_t stw2_ns;       /* mark-termination pause, probe to probe */
	uint64_t end_ns;        /* the world started again */
	uint64_t pause_ns;      /* the runtime's own PauseNs of this cycle, 0 unread */
	/* The runtime's view, read by the probe when the cycle ended (what
	 * GODEBUG=gctrace=1 prints: heap0->heap1->heap2 MB, goal MB goal). */
	uint64_t heap_start;    /* heap live when it started (work.heap0) */
	uint64_t heap_end;      /* heap live at mark termination (work.heap1) */
	uint64_t heap_marked;   /* live after it (work.heap2) */
	uint64_t goal;          /* the heap goal of the cycle (lastHeapGoal) */
};

struct mt_go_gc_stats {
	uint64_t cycles;            /* cycles ended while traced */
	uint64_t pause_ns;          /* their pauses, probe to probe */
	uint64_t other_stw, other_stw_ns;  /* stops of the world that are not GC */
	uint64_t events, drops, faults;    /* probe records, lost, unreadable words */
};


/* Open the GC view of pid (exe: its executable file). 0 with *out when
 * at least one half is available, else -errno after one line. */
int mt_go_gc_open(pid_t pid, const char *exe, struct mt_go_gc **out);
/* Estimate GC survival from a's samples (mt_go_surv.h); without it, one
 * line says why. Call before mt_go_gc_enable. */
struct mt_go_alloc;
struct mt_go_surv;
void mt_go_gc_survival(struct mt_go_gc *gc, struct mt_go_alloc *a);
/* The estimator, NULL with *why when there is none. */
const struct mt_go_surv *mt_go_gc_surv(const struct mt_go_gc *gc, const char **why);
/* The probes count from now (call once everything else is attached). */
void mt_go_gc_enable(struct mt_go_gc *gc);
int mt_go_gc_poll_fd(const struct mt_go_gc *gc);  /* -1 without probes */
int mt_go_gc_consume(struct mt_go_gc *gc);        /* 0 or -errno */
/* A tick: read the MemStats (for the pauses of the cycles just ended). */
void mt_go_gc_sample(struct mt_go_gc *gc);
/* The end: detach the probes, drain, and the final MemStats reading
 * (skipped when the target is gone). Safe to call twice. */
void mt_go_gc_finish(struct mt_go_gc *gc, bool target_alive);
void mt_go_gc_free(struct mt_go_gc *gc);          /* accepts NULL */
/* Kernel memory of its BPF maps (memlock), rings in *ring_bytes; accepts NULL. */
uint64_t mt_go_gc_map_bytes(const struct mt_go_gc *gc, uint64_t *ring_bytes);

void mt_go_gc_stats(const struct mt_go_gc *gc, struct mt_go_gc_stats *st);
/* The last MemStats reading, NULL when none. */
const struct mt_go_memstats *mt_go_gc_memstats(const struct mt_go_gc *gc);

/* The "gc" and "memstats" members of the report's "go" object (written
 * into an object the caller has begun). 0 or -errno. */
int mt_go_gc_json_members(struct mt_json *j, const struct mt_go_gc *gc);
/* The whole "go" object with only those members: a mt_report_json_fn. */
int mt_go_gc_json(struct mt_json *j, void *gc);
/* The text report's part: GC cycles, pauses, MemStats. */
int mt_go_gc_text(FILE *f, const struct mt_go_gc *gc);

#endif /* MT_GO_GC_H */
