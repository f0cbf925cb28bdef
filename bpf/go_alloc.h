/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What bpf/go_alloc.bpf.c shares with its loader and reader
 * (user/go/mt_go_alloc.c): a Go program's heap allocations, counted per
 * (stack, type) in the kernel, from a uprobe on runtime.mallocgc.
 *
 * Go 1.17+ passes arguments in registers (amd64 register ABI): mallocgc
 * (size uintptr, typ *_type, needzero bool) has size in RAX, typ in RBX,
 * needzero in CL. No record per call crosses to user space: the per-site
 * counters are the record, read once for the report, so the cost does not
 * grow with the allocation rate beyond the probe itself.
 * Fixed-width fields, sizes asserted. Includes nothing.
 */
#ifndef MT_BPF_GO_ALLOC_H
#define MT_BPF_GO_ALLOC_H

/* Return addresses kept per stack (the key). Go's frame pointers make the
 * walk two reads a frame; deeper stacks are cut and marked. */
#define MT_GO_DEPTH 32
/* (stack, type) pairs counted; past it calls are counted in totals only
 * (MT_GO_C_FULL says how many). */
#define MT_GO_MAX_SITES 16384

enum mt_go_end {
	MT_GO_END_ROOT = 1,   /* the frame-pointer chain ended (goexit, or the thread's base) */
	MT_GO_END_DEPTH,      /* MT_GO_DEPTH frames: cut */
	MT_GO_END_FAULT,      /* a frame could not be read, or the chain went down */
};

struct mt_go_key {
	__u64 type;           /* the *_type argument (RBX); 0 for untyped (noscan) memory */
	__u32 nframes;        /* pcs used; the rest are 0 */
	__u32 end;            /* enum mt_go_end */
	__u64 pcs[MT_GO_DEPTH];  /* [0]: mallocgc's return address (its caller), then up */
};

struct mt_go_val {
	__u64 allocs;         /* mallocgc calls */
	__u64 bytes;          /* their size arguments, summed */
	__u32 id;             /* the site's number in the samples: (CPU << 20) | n, never 0 */
	__u32 pad;
};

/* GC survival samples (issue 15 item 4): one mallocgc call in
 * sample_mask + 1 of each site (its 1st, then every (mask+1)-th) is
 * followed to its return, where RAX holds the object's address; the
 * entry leaves {ts, sp, site} keyed by the goroutine (R14, the register
 * ABI's g), a probe on each RET of mallocgc turns it into a record in the
 * samples ring buffer, which user space reads on its own schedule (no
 * wakeup) and checks against the runtime's mark bits after the next GC.
 * A RET probe costs a uprobe hit on every call, so user space attaches
 * the RET probes in windows (sampling_window != 0 while they are on, a
 * new number each window: a call begun in an earlier window is not
 * matched to a later return). */
#define MT_GO_SAMPLE_MASK 31
#define MT_GO_MAX_RETS 8      /* RET instructions of mallocgc probed */

struct mt_go_pending {
	__u64 ts_ns;          /* the sampled call's entry */
	__u64 sp;             /* SP at entry: the same at its RET */
	__u32 site;           /* mt_go_val.id */
	__u32 window;         /* the sampling window it began in */
};

struct mt_go_sample {
	__u64 addr;           /* the object (mallocgc's result) */
	__u64 ts_ns;          /* the call's entry (bpf_ktime_get_ns) */
	__u32 site;           /* mt_go_val.id */
	__u32 pad;
};

enum mt_go_counter {
	MT_GO_C_CALLS,        /* every mallocgc call seen */
	MT_GO_C_BYTES,        /* their sizes */
	MT_GO_C_FULL,         /* calls not counted per site: the site map was full */
	MT_GO_C_SAMPLES,      /* survival samples written */
	MT_GO_C_SAMPLE_DROPS, /* survival samples lost: ring buffer full, or a
			       * return not matched to its call (the stack
			       * moved, or the window ended in between) */
	MT_GO_C_RET_HITS,     /* RET probe hits (a trap each: the overhead
			       * budget counts them with the calls) */
	MT_GO_NCOUNTERS,
};

_Static_assert(sizeof(struct mt_go_key) == 16 + 8 * MT_GO_DEPTH, "mt_go_key layout");
_Static_assert(sizeof(struct mt_go_val) == 24, "mt_go_val layout");
_Static_assert(sizeof(struct mt_go_pending) == 24, "mt_go_pending layout");
_Static_assert(sizeof(struct mt_go_sample) == 24, "mt_go_sample layout");

#endif /* MT_BPF_GO_ALLOC_H */
