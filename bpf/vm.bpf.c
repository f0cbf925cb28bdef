// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel-side memory view of one process: its memory syscalls, its page
 * faults and its resident-set counters.
 *
 * Each source has a preferred attach type and fallbacks; user space
 * (user/mt_vm.c) loads all of them and attaches the first that works:
 *   syscalls  uprobes on the target's own syscall sites (only the target
 *             traps, once per call) -> tracepoint syscalls:sys_{enter,exit}_X
 *             (every process's syscalls take the kernel's slow path) ->
 *             raw_tp sys_enter/sys_exit (every syscall of every process
 *             runs the tgid test); user space picks (--vm-source)
 *   faults    per-thread perf software events (PERF_COUNT_SW_PAGE_FAULTS,
 *             one per target thread, inherited by its new threads: only
 *             the target runs BPF) -> tp_btf page_fault_{user,kernel} ->
 *             raw_tp (both run on every fault of every process)
 *   rss       with the perf fault source: the target's own mm counters,
 *             read at its faults and memory syscalls (peak), user space
 *             reads /proc at each sample; else tracepoint kmem:rss_stat
 *             (exact sizes, hashed mm id) -> tp_btf/raw_tp rss_stat (mm
 *             pointer, the counter's global part only: off by up to 32
 *             pages per CPU)
 *
 * Costs: the tgid test is first everywhere. A syscall stores its arguments
 * in task storage at entry and emits one record at a successful exit; the
 * creating ones (mmap, mremap, brk) also walk the user stack with the heap
 * tracer's unwinder (unwind.bpf.h: frame pointers or CFI per module, the
 * same tables, shared maps) and carry it in the record. A fault is one
 * 16-byte record. rss_stat writes the
 * new value into global data that user space reads in place: no record.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vm.h"
#include "mt_common.bpf.h"

/* Records carry their stack: no stack map (rare calls, ~1 KiB each). */
#define MT_UW_INLINE_STACKS
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Syscall numbers, which differ per architecture: the raw_tp fallback sees
 * every syscall and tells them apart by number. Only x86-64's are here
 * (the Makefile builds for x86-64 only); another architecture needs its
 * own table, and its own user address limit below. */
#ifndef __TARGET_ARCH_x86
#error "bpf/vm.bpf.c knows x86-64 syscall numbers only"
#endif
#define NR_X86_64_MMAP    9
#define NR_X86_64_MUNMAP  11
#define NR_X86_64_BRK     12
#define NR_X86_64_MREMAP  25
#define NR_X86_64_MADVISE 28

#define PROT_EXEC            0x4

#define MADV_DONTNEED        4
#define MADV_FREE            8
#define MADV_REMOVE          9
#define MADV_DONTNEED_LOCKED 24

#define X86_64_USER_ADDR_END 0x00007ffffffff000ULL  /* TASK_SIZE, 4-level paging */
#define MAX_ERRNO 4095

/* Set by user space once everything is attached, so a syscall straddling
 * the attach is never half-seen. */
__u32 mt_vm_enabled = 0;

struct mt_vm_rss mt_vm_rss = {};

/* Set by user space with the per-target fault source: RSS is read from
 * the target's own mm at the events it causes (no kmem:rss_stat hook). */
__u32 mt_vm_rss_mm = 0;

/* Arguments of the memory syscall a thread is inside of. */
struct vm_thread {
	__u64 args[5];
	__u64 old_brk;
	__s32 nr;       /* -1: none */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vm_thread);
} mt_vm_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);   /* resized by user space before load */
} mt_vm_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_VM_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} mt_vm_counters SEC(".maps");

#define count(which)    mt_count(&mt_vm_counters, which)
#define is_target()     mt_is_target(&mt_vm_enabled)
#define wakeup_flags()  mt_wakeup_flags(&mt_vm_events)

static __always_inline bool releasing_advice(__u64 advice)
{
	return advice == MADV_DONTNEED || advice == MADV_FREE ||
	       advice == MADV_REMOVE || advice == MADV_DONTNEED_LOCKED;
}


/*
 * The target's resident counters read from its own mm, at an event it
 * causes (a fault, a memory syscall): five loads and no record. These are
 * the percpu counters' global parts (per-CPU deltas below the batch, 32
 * pages here, not folded in: the value lags by up to that per CPU), and a
 * fault reads them before it is handled. They feed the peak; the
 * timeline's values are /proc's, read at each sample (exact, folded).
 */
static __always_inline void rss_from_current(void)
{
	struct mm_struct *mm;
	__s64 v[MT_VM_RSS_N];
	__u64 sum = 0, now;
	int i;

	if (!mt_vm_rss_mm)
		return;
	/* Direct loads through BTF pointers (faults are caught by the JIT's
	 * exception table): no helper call per counter. */
	mm = bpf_get_current_task_btf()->mm;
	if (!mm)
		return;
	v[0] = mm->rss_stat[0].count;
	v[1] = mm->rss_stat[1].count;
	v[2] = mm->rss_stat[2].count;
	v[3] = mm->rss_stat[3].count;
	now = bpf_ktime_get_ns();
	for (i = 0; i < MT_VM_RSS_N; i++) {
		__u64 b = v[i] > 0 ? (__u64)v[i] << 12 : 0;

		mt_vm_rss.bytes[i] = b;
		mt_vm_rss.ts_ns[i] = now;
		if (i != MT_VM_RSS_SWAP)
			sum += b;
	}
	if (sum > mt_vm_rss.peak_bytes)
		mt_vm_rss.peak_bytes = sum;
}

static __always_inline int on_enter(long nr, __u64 a0, __u64 a1, __u64 a2,
				    __u64 a3, __u64 a4)
{
	struct task_struct *task;
	struct vm_thread *st;

	if (nr == NR_X86_64_MADVISE && !releasing_advice(a2))
		return 0;
	task = bpf_get_current_task_btf();
	st = bpf_task_storage_get(&mt_vm_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count(MT_VM_C_STATE_FULL);
		return 0;
	}
	st->nr = nr;
	st->args[0] = a0;
	st->args[1] = a1;
	st->args[2] = a2;
	st->args[3] = a3;
	st->args[4] = a4;
	st->old_brk = nr == NR_X86_64_BRK ? BPF_CORE_READ(task, mm, brk) : 0;
	return 0;
}

/* The user stack of a creating call, from the registers the syscall
 * saved: frame 0 is the instruction after the syscall, in libc. */
static __always_inline void user_stack(struct task_struct *task, struct mt_vm_call *ev)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct mt_stack *st = uw_walk(regs);

	if (!st) {
		count(MT_VM_C_STACK_FAIL);
		return;
	}
	/* one helper call: clang will not inline a copy this large here */
	if (bpf_probe_read_kernel(&ev->stack, sizeof(ev->stack), st)) {
		ev->stack.nr = 0;
		count(MT_VM_C_STACK_FAIL);
	}
}

static __always_inline int on_exit(void *ctx, long nr, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mt_vm_call *ev;
	struct vm_thread *st;
	__u32 kind;

	st = bpf_task_storage_get(&mt_vm_threads, task, 0, 0);
	if (!st || st->nr != nr)
		return 0;
	st->nr = -1;
	if ((__u64)ret >= (__u64)-MAX_ERRNO)
		return 0;
	switch (nr) {
	case NR_X86_64_MMAP: kind = MT_VM_MMAP; break;
	case NR_X86_64_MUNMAP: kind = MT_VM_MUNMAP; break;
	case NR_X86_64_MREMAP: kind = MT_VM_MREMAP; break;
	case NR_X86_64_MADVISE: kind = MT_VM_MADVISE; break;
	case NR_X86_64_BRK:
		/* brk(0) and refused requests leave the break where it was */
		if ((__u64)ret == st->old_brk)
			return 0;
		kind = MT_VM_BRK;
		break;
	default:
		return 0;
	}

	ev = bpf_ringbuf_reserve(&mt_vm_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_VM_C_RB_FULL_CALL);
		return 0;
	}
	ev->kind = kind;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ret = ret;
	ev->addr = kind == MT_VM_BRK ? st->old_brk : st->args[0];
	ev->len = kind == MT_VM_BRK ? st->args[0] : st->args[1];  /* brk: requested */
	ev->len2 = kind == MT_VM_MREMAP ? st->args[2] : 0;
	ev->flags = kind == MT_VM_MADVISE ? st->args[2] : st->args[3];
	ev->prot = kind == MT_VM_MMAP ? (__u32)st->args[2] : 0;
	ev->fd = kind == MT_VM_MMAP ? (__s32)st->args[4] : -1;
	ev->stack.nr = 0;
	ev->stack.end = MT_END_NONE;
	/* Only creating calls need a stack: removals are attributed to the
	 * stack that created the range. */
	if (kind == MT_VM_MMAP || kind == MT_VM_MREMAP || kind == MT_VM_BRK)
		user_stack(task, ev);
	/* A library's code was just mapped (dlopen): user space builds its
	 * unwind tables on this record, before the library runs much. */
	if (kind == MT_VM_MMAP && (ev->prot & PROT_EXEC) && ev->fd >= 0)
		bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	else
		bpf_ringbuf_submit(ev, wakeup_flags());
	/* munmap, madvise, brk and mremap shrink (or grow) the resident set */
	if (kind != MT_VM_MMAP)
		rss_from_current();
	return 0;
}

/* Preferred: one tracepoint per syscall, so other syscalls never run BPF. */
#define SYSCALL_TP(name, nr)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int mt_vm_enter_##name(struct syscall_trace_enter *ctx)			\
{									\
	if (!is_target())						\
		return 0;						\
	return on_enter(nr, ctx->args[0], ctx->args[1], ctx->args[2],	\
			ctx->args[3], ctx->args[4]);			\
}									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int mt_vm_exit_##name(struct syscall_trace_exit *ctx)			\
{									\
	if (!is_target())						\
		return 0;						\
	return on_exit(ctx, nr, ctx->ret);				\
}

SYSCALL_TP(mmap, NR_X86_64_MMAP)
SYSCALL_TP(munmap, NR_X86_64_MUNMAP)
SYSCALL_TP(mremap, NR_X86_64_MREMAP)
SYSCALL_TP(brk, NR_X86_64_BRK)
SYSCALL_TP(madvise, NR_X86_64_MADVISE)

static __always_inline bool vm_nr(long nr)
{
	return nr == NR_X86_64_MMAP || nr == NR_X86_64_MUNMAP || nr == NR_X86_64_MREMAP ||
	       nr == NR_X86_64_BRK || nr == NR_X86_64_MADVISE;
}

/* Fallback without tracefs or syscall tracepoints. regs are the user's. */
SEC("raw_tp/sys_enter")
int BPF_PROG(mt_vm_raw_enter, struct pt_regs *regs, long nr)
{
	if (!is_target() || !vm_nr(nr))
		return 0;
	return on_enter(nr, BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
			BPF_CORE_READ(regs, dx), BPF_CORE_READ(regs, r10),
			BPF_CORE_READ(regs, r8));
}

SEC("raw_tp/sys_exit")
int BPF_PROG(mt_vm_raw_exit, struct pt_regs *regs, long ret)
{
	long nr;

	if (!is_target())
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if (!vm_nr(nr))
		return 0;
	return on_exit(ctx, nr, ret);
}

/*
 * Per target: uprobes on the target's own syscall sites (user/probe/
 * mt_syscall_sites.h), so no other process runs BPF for its syscalls.
 * The cookie is the syscall number. "post" sits after the syscall (the
 * next instruction, or glibc's emulated jcc after its cmp): the arguments
 * are still in rdi, rsi, rdx, r10, r8 (a syscall clobbers only rax, rcx,
 * r11, a cmp only flags) and rax holds the result: one trap per call. brk also has "pre" on the mov before the syscall, for the
 * break before the call (mm->brk has moved by "post").
 */
SEC("uprobe.multi")
int mt_vm_site_pre(struct pt_regs *ctx)
{
	if (!is_target())
		return 0;
	return on_enter((long)bpf_get_attach_cookie(ctx), ctx->di, ctx->si, ctx->dx,
			ctx->r10, ctx->r8);
}

SEC("uprobe.multi")
int mt_vm_site_post(struct pt_regs *ctx)
{
	long nr = (long)bpf_get_attach_cookie(ctx);
	struct vm_thread *st;

	if (!is_target())
		return 0;
	if (nr == NR_X86_64_BRK) {
		/* The break asked for may be set after "pre": take it now. */
		st = bpf_task_storage_get(&mt_vm_threads, bpf_get_current_task_btf(), 0, 0);
		if (!st || st->nr != nr)
			return 0;
		st->args[0] = ctx->di;
	} else if (on_enter(nr, ctx->di, ctx->si, ctx->dx, ctx->r10, ctx->r8)) {
		return 0;
	}
	return on_exit(ctx, nr, (long)ctx->ax);
}

static __always_inline int on_fault(__u64 addr, __u64 error_code, __u32 extra)
{
	struct mt_vm_fault *ev;

	ev = bpf_ringbuf_reserve(&mt_vm_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_VM_C_RB_FULL_FAULT);
		return 0;
	}
	ev->kind = MT_VM_FAULT;
	ev->error_code = (__u32)error_code | extra;
	ev->addr = addr;
	bpf_ringbuf_submit(ev, wakeup_flags());
	return 0;
}

/*
 * Per target: a perf software event PERF_COUNT_SW_PAGE_FAULTS on each of
 * the target's threads (sample_period 1, inherited by the threads they
 * create), so only the target's faults run this. The kernel counts it in
 * do_user_addr_fault() after the checks the tracepoint path repeats here:
 * only user addresses, and not with page faults disabled (nofault reads).
 * regs are the faulting context's: kernel mode for copy_to_user and
 * friends. The x86 error code is not given to perf: every fault counts as
 * not present (a write to a present read-only page, copy-on-write or the
 * zero page, counts as filling one page too; docs/memory-stats.md).
 */
#define UAPI_PT_REGS_CS_WORD 17
#define MT_VM_RSS_EVERY 16   /* a power of two */
__u32 mt_vm_fault_n = 0;

SEC("perf_event")
int mt_vm_fault_perf(struct bpf_perf_event_data *ctx)
{
	if (!is_target())
		return 0;
	/* The context allows only whole-word loads of regs: cs is the 18th
	 * word of the UAPI struct pt_regs (a stable ABI); its low two bits
	 * are the privilege level, 0 in the kernel. */
	__u64 cs = ((const __u64 *)&ctx->regs)[UAPI_PT_REGS_CS_WORD];

	on_fault(ctx->addr, 0, (cs & 3) ? 0 : MT_VM_PF_KERNEL);
	/* The counters lag by up to a percpu batch (32 pages) per CPU anyway:
	 * reading them every 16th fault loses little and keeps the stores
	 * off most faults. The count is shared by the target's threads,
	 * unlocked: a lost increment only moves the next read. */
	if ((++mt_vm_fault_n & (MT_VM_RSS_EVERY - 1)) == 0)
		rss_from_current();
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(mt_vm_fault_user_btf, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (!is_target())
		return 0;
	return on_fault(address, error_code, 0);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(mt_vm_fault_user_raw, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (!is_target())
		return 0;
	return on_fault(address, error_code, 0);
}

/* The kernel touching the target's memory for it (read() into a fresh
 * buffer, copy_to_user) also faults pages in. Kernel addresses are not ours,
 * and neither are faults with page faults disabled: those are nofault reads
 * (tracers' user stack walks, ours included, following a stale frame
 * pointer) that never fault anything in. */
static __always_inline bool kernel_fault_counts(unsigned long address)
{
	return address < X86_64_USER_ADDR_END &&
	       !BPF_CORE_READ(bpf_get_current_task_btf(), pagefault_disabled);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(mt_vm_fault_kernel_btf, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (!is_target() || !kernel_fault_counts(address))
		return 0;
	return on_fault(address, error_code, MT_VM_PF_KERNEL);
}

SEC("raw_tp/page_fault_kernel")
int BPF_PROG(mt_vm_fault_kernel_raw, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (!is_target() || !kernel_fault_counts(address))
		return 0;
	return on_fault(address, error_code, MT_VM_PF_KERNEL);
}

static __always_inline void rss_store(int member, __s64 bytes)
{
	__u64 sum;

	if (member < 0 || member >= MT_VM_RSS_N)
		return;
	if (bytes < 0)
		bytes = 0;
	mt_vm_rss.bytes[member] = bytes;
	mt_vm_rss.ts_ns[member] = bpf_ktime_get_ns();
	sum = mt_vm_rss.bytes[MT_VM_RSS_FILE] + mt_vm_rss.bytes[MT_VM_RSS_ANON] +
	      mt_vm_rss.bytes[MT_VM_RSS_SHMEM];
	if (sum > mt_vm_rss.peak_bytes)
		mt_vm_rss.peak_bytes = sum;
}

/*
 * kmem:rss_stat carries mm_id, a 32-bit hash of the mm pointer, and curr,
 * whether the mm is current's. An event from a target thread about its own
 * mm (curr) teaches us the target's mm_id; from then on events from other
 * tasks about that mm (kswapd reclaiming it, a ptracer writing into it)
 * count too. A hash collision with another mm would mix in its counters;
 * with 32 bits and the sizes being absolute values that is harmless and rare.
 */
SEC("tracepoint/kmem/rss_stat")
int mt_vm_rss_tp(struct trace_event_raw_rss_stat *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!mt_vm_enabled)
		return 0;
	if (tgid == target_tgid && ctx->curr) {
		mt_vm_rss.mm_id = ctx->mm_id;
		mt_vm_rss.mm_known = 1;
	} else if (!mt_vm_rss.mm_known || ctx->mm_id != mt_vm_rss.mm_id) {
		return 0;
	}
	rss_store(ctx->member, ctx->size);
	return 0;
}

/* Fallback: the mm pointer itself, and the percpu counter's global count
 * (per-CPU deltas below the batch are not yet folded in). */
static __always_inline int rss_from_mm(struct mm_struct *mm, int member)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__s64 pages;

	if (!mt_vm_enabled)
		return 0;
	if (tgid == target_tgid &&
	    (__u64)mm == (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm)) {
		mt_vm_rss.target_mm = (__u64)mm;
		mt_vm_rss.mm_known = 1;
	} else if (!mt_vm_rss.mm_known || (__u64)mm != mt_vm_rss.target_mm) {
		return 0;
	}
	switch (member) {
	case 0: pages = BPF_CORE_READ(mm, rss_stat[0].count); break;
	case 1: pages = BPF_CORE_READ(mm, rss_stat[1].count); break;
	case 2: pages = BPF_CORE_READ(mm, rss_stat[2].count); break;
	case 3: pages = BPF_CORE_READ(mm, rss_stat[3].count); break;
	default: return 0;
	}
	rss_store(member, pages << 12);
	return 0;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(mt_vm_rss_btf, struct mm_struct *mm, int member)
{
	return rss_from_mm(mm, member);
}

SEC("raw_tp/rss_stat")
int BPF_PROG(mt_vm_rss_raw, struct mm_struct *mm, int member)
{
	return rss_from_mm(mm, member);
}
