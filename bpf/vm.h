/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by bpf/vm.bpf.c and user/mt_vm*.c: the target's memory
 * syscalls (mmap, munmap, mremap, brk, madvise), its page faults, and the
 * resident-set counters the kernel keeps for its mm.
 *
 * Two record types share one ring buffer; both start with a __u32 kind so
 * the reader can tell them apart. That first field is the one exception to
 * "largest first": the u32 that follows it fills the gap before the u64s.
 * Fixed-width fields, sizes asserted. Includes only its sibling contract
 * unwind.h (stacks): the includer provides __u64 and friends.
 */
#ifndef MT_BPF_VM_H
#define MT_BPF_VM_H

#include "unwind.h"

enum mt_vm_kind {
	MT_VM_MMAP = 1,     /* mmap(addr, len, prot, flags, fd, off) = ret */
	MT_VM_MUNMAP,       /* munmap(addr, len) = 0 */
	MT_VM_MREMAP,       /* mremap(addr, len, len2, flags) = ret */
	MT_VM_BRK,          /* brk: break moved from addr to ret */
	MT_VM_MADVISE,      /* madvise(addr, len, flags) = 0, releasing advice only */
	MT_VM_FAULT,        /* struct mt_vm_fault */
};

/* One successful memory syscall, recorded at its exit. The creating ones
 * (mmap, mremap, brk) carry the user stack, walked by bpf/unwind.bpf.h
 * from the registers the syscall saved (the heap's walker and tables);
 * the others have stack.nr 0. */
struct mt_vm_call {
	__u32 kind;       /* enum mt_vm_kind */
	__u32 tid;
	__u64 ts_ns;      /* bpf_ktime_get_ns() at exit */
	__u64 ret;        /* mmap/mremap: the mapping's address; brk: new break */
	__u64 addr;       /* mmap hint, munmap/madvise start, mremap old address,
			   * brk: the break before the call (mm->brk at entry) */
	__u64 len;        /* mmap/munmap/madvise length, mremap old length,
			   * brk: the break asked for */
	__u64 len2;       /* mremap new length */
	__u64 flags;      /* mmap/mremap flags, madvise advice */
	__u32 prot;       /* mmap prot */
	__s32 fd;         /* mmap fd, -1 for anonymous */
	struct mt_stack stack;  /* frame 0: the instruction after the syscall */
};

/* One page fault taken by a thread of the target. */
struct mt_vm_fault {
	__u32 kind;       /* MT_VM_FAULT */
	__u32 error_code; /* x86 PF error code; MT_VM_PF_KERNEL added by us */
	__u64 addr;       /* the faulting user address */
};

/* x86 page-fault error code bits, and ours. */
#define MT_VM_PF_PROT   0x1u         /* set: protection fault on a present page */
#define MT_VM_PF_WRITE  0x2u
#define MT_VM_PF_KERNEL 0x80000000u  /* taken in kernel mode (copy_to_user...) */

/* Resident-set counters of the target's mm, indexes as the kernel's
 * MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES. */
#define MT_VM_RSS_FILE   0
#define MT_VM_RSS_ANON   1
#define MT_VM_RSS_SWAP   2
#define MT_VM_RSS_SHMEM  3
#define MT_VM_RSS_N      4

/* Latest kmem:rss_stat values, in bytes, kept in BPF global data (read by
 * user space through the skeleton's mmap'ed .bss, no event per change). */
struct mt_vm_rss {
	__u64 bytes[MT_VM_RSS_N];
	__u64 ts_ns[MT_VM_RSS_N];   /* 0: no event seen for that counter yet */
	__u64 peak_bytes;           /* max of file + anon + shmem seen */
	__u64 target_mm;            /* raw_tp/tp_btf fallback: the mm pointer */
	__u32 mm_id;                /* tracepoint: the target's hashed mm id */
	__u32 mm_known;             /* mm_id/target_mm learned */
};

/* Drop and error counters, one per-CPU slot each. */
enum mt_vm_counter {
	MT_VM_C_RB_FULL_CALL = 0,  /* syscall record lost: the map view is off */
	MT_VM_C_RB_FULL_FAULT,     /* fault record lost: counts are low */
	MT_VM_C_STACK_FAIL,        /* stack walk impossible (no buffer or tables): record kept */
	MT_VM_C_STATE_FULL,        /* no per-thread slot at entry: call lost */
	MT_VM_C_COUNT,
};

#ifndef __bpf__
_Static_assert(sizeof(struct mt_vm_call) == 64 + sizeof(struct mt_stack), "mt_vm_call layout");
_Static_assert(sizeof(struct mt_vm_fault) == 16, "mt_vm_fault layout");
_Static_assert(sizeof(struct mt_vm_rss) == 88, "mt_vm_rss layout");
#endif

#endif /* MT_BPF_VM_H */
