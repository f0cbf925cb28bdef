/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events shared by bpf/heap.bpf.c and user/: one record per outermost
 * allocator call the target makes. Fixed-width fields, largest first, size
 * asserted, so clang -target bpf and the host compiler agree on the layout.
 * Includes only its sibling contract unwind.h (stacks): the includer
 * provides __u64 and friends.
 */
#ifndef MT_HEAP_H
#define MT_HEAP_H

#include "unwind.h"

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

/* A uprobe's BPF cookie: which entry point fired and how to read its
 * arguments. No probe reads the target's stack (the call site is the ip at
 * the return), so where a probe sits within its function does not matter. */
#define MT_COOKIE(ep, kind) ((__u64)(ep) | ((__u64)(kind) << 8))
#define MT_COOKIE_EP(c)     ((__u32)((c) & 0xff))
#define MT_COOKIE_KIND(c)   ((__u32)(((c) >> 8) & 0xff))
/* Set when the function may call another entry point (mt_probe_may_nest):
 * sampling must then see its return even when the call is not sampled. */
#define MT_COOKIE_NEST      (1ull << 16)

/* One outermost call, as the program made it. arg* are the raw arguments in
 * the order of the C prototype; ret is the returned pointer (for
 * posix_memalign: *memptr when it returned 0, else 0). */
struct mt_heap_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() at return (entry for free) */
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u64 ret;
	__u64 callsite;   /* the return address: the immediate caller (0 for frees) */
	__s32 stack_id;   /* key in the stack map (mt_stacks), < 0 when none */
	__u32 tid;
	__u32 tgid;       /* the process (-f traces several; an exec keeps it) */
	__u8 ep;          /* entry point index, see MT_COOKIE (< MT_MAX_EPS) */
	__u8 kind;        /* enum mt_kind */
	__u16 flags;      /* MT_EV_F_* */
};

/* Event flags. Sampling mode (--sample-bytes): calls are counted in BPF
 * (mt_calls), so an event is not a call; a realloc whose new block was not
 * sampled still reports the release of a sampled old block (arg0 is 0 when
 * the old block was not sampled). */
#define MT_EV_F_SAMPLING  0x1   /* emitted in sampling mode */
#define MT_EV_F_UNSAMPLED 0x2   /* the returned block was not sampled: no alloc */
#define MT_EV_F_INLINE_STACK 0x4 /* the record is an mt_heap_event_stack */
/* The allocator's own call (mt_internal.h): its code called the entry point
 * directly, not the program. Counted apart; a free still releases. */
#define MT_EV_F_INTERNAL  0x8

/* Sampling mode: mt_calls holds the program's calls of entry point ep at
 * ep, the allocator's internal ones at MT_CALLS_INTERNAL + ep. */
#define MT_CALLS_INTERNAL MT_MAX_EPS

/* Attach mode: not a call but process life (kind is enum mt_proc_kind),
 * tgid the process it is about. */
#define MT_EV_F_PROC      0x10

enum mt_proc_kind {
	MT_P_EXEC = 1,   /* tgid exec'd (arg0: the thread that did); it is held
	                  * (SIGSTOP) until user space has probed the new image and
	                  * sends SIGCONT */
	MT_P_FORK,       /* -f: tgid is a new child of process arg0, held the same way */
	MT_P_EXIT,       /* -f: a traced child's last thread exited; arg0: its
	                  * status (128 + signal when killed) */
};

/* An allocation whose stack could not enter the stack map (its hash
 * bucket holds another stack, or the map is full): the stack travels in
 * the record instead. */
struct mt_heap_event_stack {
	struct mt_heap_event ev;   /* ev.flags has MT_EV_F_INLINE_STACK */
	struct mt_stack stack;
};

/* Drop and error counters, one per-CPU slot each: nothing is lost silently. */
enum mt_heap_counter {
	MT_C_RB_FULL = 0,     /* ring-buffer reservation failed: event lost */
	MT_C_STACK_FAIL,      /* stack capture failed: event kept, caller only */
	MT_C_STATE_FULL,      /* no per-thread slot for an entry: call lost */
	MT_C_FREE_UNSAMPLED,  /* sampling: free of an address not sampled */
	MT_C_SAMPLED_FULL,    /* sampling: sampled-address map full: its free
	                       * will not be seen (a false live object) */
	MT_C_CHILDREN,        /* attach mode: processes the target created */
	MT_C_EXEC_LOST,       /* attach mode: an exec not reported (ring full):
	                       * the new image runs with the old probes */
	MT_C_COUNT,
};

/*
 * Byte-based Poisson sampling, shared by bpf/heap.bpf.c and the unit tests
 * (so the tests prove the code the kernel runs). Each thread counts down a
 * byte budget drawn from an exponential distribution of mean N; an
 * allocation is sampled when it takes the budget to 0 or below, and a fresh
 * budget is drawn. The exponential is memoryless, so an allocation of s
 * bytes is sampled with p = 1 - exp(-s / N) whatever came before, and 1/p is
 * the unbiased weight of a sample (tcmalloc's estimator).
 *
 * The draw is -ln(U) * N with U uniform in (0, 1] from one 32-bit random
 * number, in integers (BPF has no floating point): log2 by the bit-by-bit
 * squaring method, 16 fractional bits (error < 2^-16 in log2, i.e. the
 * sampling probability is off by < 1e-5 relative), 16 multiplies, paid once
 * per sample, never per allocation.
 */
#define MT_SAMPLE_MAX_MEAN (1ull << 40)   /* keeps N * -log2(U) in 64 bits */
#define MT_LN2_Q16 45426ull               /* ln(2) * 2^16 */

/* -log2((x + 1) / 2^32) in Q16: 0 .. 32 << 16. */
static inline __u64 mt_neg_log2_q16(__u32 r)
{
	__u64 x = (__u64)r + 1, m;
	__u32 k = 0, frac = 0, i;

	if (x >> 32)
		return 0;
	if (x >> 16) { k += 16; }
	if (x >> (k + 8)) { k += 8; }
	if (x >> (k + 4)) { k += 4; }
	if (x >> (k + 2)) { k += 2; }
	if (x >> (k + 1)) { k += 1; }
	/* mantissa in [1, 2) as Q30 */
	m = k <= 30 ? x << (30 - k) : x >> (k - 30);
	for (i = 0; i < 16; i++) {
		m = (m * m) >> 30;
		frac <<= 1;
		if (m >= (2ull << 30)) {
			m >>= 1;
			frac |= 1;
		}
	}
	return (32ull << 16) - (((__u64)k << 16) | frac);
}

/* A byte budget drawn from Exp(mean): what the next sample waits for. */
static inline __s64 mt_sample_draw(__u64 mean, __u32 r)
{
	return (__s64)((((mean * mt_neg_log2_q16(r)) >> 16) * MT_LN2_Q16) >> 16);
}

/* a * b, or ~0 when it does not fit (such a call fails anyway). The
 * barrier keeps clang from turning the test into a 128-bit multiply,
 * which BPF lacks. */
static inline __u64 mt_mul_sat(__u64 a, __u64 b)
{
	__u64 q;

	if (!a)
		return 0;
	q = ~0ull / a;
	asm volatile("" : "+r"(q));
	return b > q ? ~0ull : a * b;
}

/* Requested bytes of a call of kind k with arguments a0..a2, as both sides
 * count them: calloc(n, s) is n * s; 0 for free. */
static inline __u64 mt_req_size(__u32 k, __u64 a0, __u64 a1, __u64 a2)
{
	switch (k) {
	case MT_K_MALLOC:
	case MT_K_VALLOC:
	case MT_K_PVALLOC:
		return a0;
	case MT_K_CALLOC:
		return mt_mul_sat(a0, a1);
	case MT_K_REALLOC:
	case MT_K_MEMALIGN:
	case MT_K_ALIGNED_ALLOC:
		return a1;
	case MT_K_REALLOCARRAY:
		return mt_mul_sat(a1, a2);
	case MT_K_POSIX_MEMALIGN:
		return a2;
	default:
		return 0;
	}
}

/* Take size bytes off the countdown: true when this allocation is sampled
 * (the caller then draws a fresh countdown). Size 0 is never sampled. */
static inline int mt_sample_take(__s64 *countdown, __u64 size)
{
	*countdown -= (__s64)(size > (1ull << 62) ? (1ull << 62) : size);
	return size && *countdown <= 0;
}

#ifndef __bpf__
_Static_assert(sizeof(struct mt_heap_event) == 64, "mt_heap_event layout");
_Static_assert(sizeof(struct mt_heap_event_stack) == 64 + sizeof(struct mt_stack),
	       "mt_heap_event_stack layout");
#endif

#endif /* MT_HEAP_H */
