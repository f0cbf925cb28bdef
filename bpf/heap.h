/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events shared by bpf/heap.bpf.c and user/: one record per outermost
 * allocator call the target makes. Fixed-width fields, largest first, size
 * asserted, so clang -target bpf and the host compiler agree on the layout.
 * Includes nothing: the includer provides __u64 and friends.
 */
#ifndef MT_HEAP_H
#define MT_HEAP_H

/* What an entry point does with its arguments; one per libc name. */
enum mt_kind {
	MT_K_MALLOC = 0,       /* malloc(size) */
	MT_K_CALLOC,           /* calloc(nmemb, size) */
	MT_K_REALLOC,          /* realloc(ptr, size) */
	MT_K_REALLOCARRAY,     /* reallocarray(ptr, nmemb, size) */
	MT_K_FREE,             /* free(ptr) */
	MT_K_POSIX_MEMALIGN,   /* posix_memalign(&ptr, align, size) */
	MT_K_MEMALIGN,         /* memalign(align, size) */
	MT_K_ALIGNED_ALLOC,    /* aligned_alloc(align, size) */
	MT_K_VALLOC,           /* valloc(size) */
	MT_K_PVALLOC,          /* pvalloc(size) */
	MT_K_COUNT,
};

/* Entry points actually probed: kinds sharing one address are one entry. */
#define MT_MAX_EPS 16
#define MT_MAX_STACK_DEPTH 32

/*
 * A uprobe's BPF cookie: which entry point fired, how to read its arguments,
 * and how many bytes the function pushed before the probed instruction (so
 * the return address is at sp + sp_off).
 */
#define MT_COOKIE(ep, kind, sp_off) \
	((__u64)(ep) | ((__u64)(kind) << 8) | ((__u64)(sp_off) << 16))
#define MT_COOKIE_EP(c)     ((__u32)((c) & 0xff))
#define MT_COOKIE_KIND(c)   ((__u32)(((c) >> 8) & 0xff))
#define MT_COOKIE_SP_OFF(c) ((__u32)(((c) >> 16) & 0xffff))

/* One outermost call, as the program made it. arg* are the raw arguments in
 * the order of the C prototype; ret is the returned pointer (for
 * posix_memalign: *memptr when it returned 0, else 0). */
struct mt_heap_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() at return (entry for free) */
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u64 ret;
	__u64 callsite;   /* return address read at entry: the immediate caller */
	__s32 stack_id;   /* user stack map id, < 0 when the capture failed */
	__u32 tid;
	__u16 ep;         /* entry point index, see MT_COOKIE */
	__u16 kind;       /* enum mt_kind */
	__u32 pad;
};

/* Drop and error counters, one per-CPU slot each: nothing is lost silently. */
enum mt_heap_counter {
	MT_C_RB_FULL = 0,     /* ring-buffer reservation failed: event lost */
	MT_C_STACK_FAIL,      /* stack capture failed: event kept, caller only */
	MT_C_STATE_FULL,      /* no per-thread slot for an entry: call lost */
	MT_C_DEPTH_OVERFLOW,  /* nesting deeper than tracked: call lost */
	MT_C_COUNT,
};

#ifndef __bpf__
_Static_assert(sizeof(struct mt_heap_event) == 64, "mt_heap_event layout");
#endif

#endif /* MT_HEAP_H */
