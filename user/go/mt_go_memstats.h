/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MemStats of a running, unmodified Go program, read from its memory.
 *
 * runtime.ReadMemStats stops the world, flushes every P's mcache and sums
 * the runtime's consistent heap statistics. memtrace cannot stop the
 * world, so it reads the same sources (runtime.memstats, runtime.
 * gcController, each P's mcache) with process_vm_readv and applies the
 * flush arithmetically: the objects a cached span has handed out since it
 * was cached (allocCount - allocCountBeforeCache) are what the flush would
 * add. While the program runs, the values are as consistent as one
 * unsynchronised read can be; with its goroutines parked (blocked in a
 * syscall) they equal what ReadMemStats would return then.
 *
 * Every address and field offset comes from the binary's DWARF (runtime
 * variables and types), never from a table of offsets per Go version: a
 * binary without DWARF (-ldflags=-w) gets no MemStats, and a runtime whose
 * types lack a field this reader needs is refused naming that field.
 * Written for the layout of Go 1.19 and later (heapStats, gcController's
 * heapInUse/heapFree/heapReleased, the memory limit).
 */
#ifndef MT_GO_MEMSTATS_H
#define MT_GO_MEMSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MT_GO_PAUSE_RING 256   /* memstats.pause_ns: the runtime's ring */

struct mt_go_memstats {
	uint64_t heap_alloc;       /* HeapAlloc (= Alloc) */
	uint64_t heap_sys;         /* HeapSys */
	uint64_t heap_idle;        /* HeapIdle */
	uint64_t heap_inuse;       /* HeapInuse */
	uint64_t heap_released;    /* HeapReleased */
	uint64_t heap_objects;     /* HeapObjects */
	uint64_t total_alloc;      /* TotalAlloc */
	uint64_t mallocs, frees;   /* Mallocs, Frees */
	uint64_t next_gc;          /* NextGC: the heap goal */
	uint64_t last_gc_unix_ns;  /* LastGC */
	uint64_t pause_total_ns;   /* PauseTotalNs */
	uint32_t num_gc;           /* NumGC */
	uint32_t num_forced_gc;    /* NumForcedGC */
	double gc_cpu_fraction;    /* GCCPUFraction */
	int32_t gogc;              /* GOGC in force; < 0: off */
	int64_t memory_limit;      /* GOMEMLIMIT in force; INT64_MAX: none */
	uint64_t pause_ns[MT_GO_PAUSE_RING];   /* PauseNs: pause of cycle n
						* at [(n + 255) % 256] */
	uint64_t pause_end[MT_GO_PAUSE_RING];  /* PauseEnd, unix ns */
	uint64_t heap_live;        /* gcController.heapLive: the pacer's view */
	uint64_t heap_marked;      /* gcController.heapMarked: live after the last mark */
	uint64_t read_ns;          /* CLOCK_MONOTONIC when read */
};

/* Where a watched word the GC probes read lives (see mt_go_rt_addr). */
enum mt_go_rt_word {
	MT_GO_W_NUMGC,         /* memstats.numgc (u32) */
	MT_GO_W_GCPHASE,       /* runtime.gcphase (u32) */
	MT_GO_W_HEAP0,         /* work.heap0: heapLive when the cycle started */
	MT_GO_W_HEAP1,         /* work.heap1: heapLive at mark termination */
	MT_GO_W_HEAP2,         /* work.heap2: heapMarked, live after the cycle */
	MT_GO_W_GOAL,          /* gcController.lastHeapGoal: the cycle's goal */
	MT_GO_W_COUNT
};

struct mt_go_rt;

/* Where the runtime finds the span of a heap address (see
 * mt_go_rt_spans): mheap_.arenas[0][(addr - arena_base) >> arena_shift]
 * -> heapArena + spans_off + 8 * page-in-arena -> mspan and its fields.
 * Addresses are run-time ones. */
struct mt_go_spans {
	uint64_t arenas_addr;      /* &mheap_.arenas (the L1 array: one pointer) */
	uint64_t sweepgen_addr;    /* &mheap_.sweepgen (u32) */
	uint64_t n_l2;             /* entries of the L2 array */
	uint64_t arena_base;       /* arenaBaseOffset */
	unsigned arena_shift, page_shift;
	uint64_t spans_off;        /* heapArena.spans */
	uint64_t mspan_size;
	uint64_t off_start, off_npages, off_elemsize, off_alloc, off_mark;  /* in mspan */
	uint64_t off_sweepgen, off_state;
};

/* Locate the runtime of process pid (executable exe, as /proc/PID/exe):
 * variables, field offsets, load bias. 0; -ENOENT when the binary has no
 * DWARF; -ENOTSUP when its runtime lacks something this reader needs; or
 * -errno. Each failure printed once, as info (the rest of memtrace still
 * works): why the MemStats are unavailable. */
int mt_go_rt_open(pid_t pid, const char *exe, struct mt_go_rt **out);
void mt_go_rt_close(struct mt_go_rt *rt);   /* accepts NULL */

/* The runtime address of a watched word, 0 when not located. */
uint64_t mt_go_rt_addr(const struct mt_go_rt *rt, enum mt_go_rt_word w);

/* The span lookup's layout, NULL with *why (one phrase) when the binary's
 * DWARF does not describe the one memtrace reads. */
const struct mt_go_spans *mt_go_rt_spans(const struct mt_go_rt *rt, const char **why);
/* Read len bytes of the target at addr: 0 or -errno (no message). */
int mt_go_rt_peek(const struct mt_go_rt *rt, uint64_t addr, void *buf, size_t len);

/* One reading. 0, or -errno (-ESRCH: the process is gone) without a
 * message: the caller decides whether a failed read matters. */
int mt_go_memstats_read(struct mt_go_rt *rt, struct mt_go_memstats *ms);

#endif /* MT_GO_MEMSTATS_H */
