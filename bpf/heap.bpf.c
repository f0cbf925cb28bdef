// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Heap tracer, kernel side: uprobes on the allocator's entry points of one
 * process. Entry probes stash the arguments per thread; the return probe of
 * the outermost call emits one mt_heap_event. free has no return probe: its
 * entry emits directly.
 *
 * Cost per traced call is what the target pays, so: the tgid test comes
 * first, per-thread state lives in task storage (a pointer in the task, no
 * hash lookup, no entry to clean up), the stack is captured only for
 * allocations, and ring-buffer wakeups are batched (the consumer polls on a
 * timer; a wakeup is forced only when the ring is a quarter full).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "heap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;
const volatile __u64 wakeup_bytes = 0;  /* force a wakeup past this much data */

/* Set by user space once every probe is attached, so a call that straddles
 * the attach (entry seen, return not, or the reverse) is never half-counted. */
__u32 mt_enabled = 0;

/* Per-thread call state. depth counts the entry points the thread is inside
 * of: only depth 0 -> 1 (the outermost call) is recorded, so realloc(NULL, n)
 * jumping into malloc or realloc(p, 0) calling free is one call. */
struct mt_thread_state {
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u64 callsite;
	__u32 depth;
	__u16 ep;
	__u16 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mt_thread_state);
} mt_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);   /* resized by user space before load */
} mt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 1 << 16);
} mt_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} mt_counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&mt_counters, &which);

	if (c)
		(*c)++;
}

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid && mt_enabled;
}

static __always_inline struct mt_thread_state *thread_state(bool create)
{
	return bpf_task_storage_get(&mt_threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline __u64 wakeup_flags(void)
{
	if (bpf_ringbuf_query(&mt_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 read_callsite(struct pt_regs *ctx, __u64 cookie)
{
	__u64 ra = 0;

	bpf_probe_read_user(&ra, sizeof(ra),
			    (void *)(PT_REGS_SP(ctx) + MT_COOKIE_SP_OFF(cookie)));
	return ra;
}

SEC("uprobe")
int mt_alloc_enter(struct pt_regs *ctx)
{
	struct mt_thread_state *st;
	__u64 cookie;

	if (!is_target())
		return 0;
	st = thread_state(true);
	if (!st) {
		count(MT_C_STATE_FULL);
		return 0;
	}
	if (st->depth++ > 0)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	st->ep = MT_COOKIE_EP(cookie);
	st->kind = MT_COOKIE_KIND(cookie);
	st->arg0 = PT_REGS_PARM1(ctx);
	st->arg1 = PT_REGS_PARM2(ctx);
	st->arg2 = PT_REGS_PARM3(ctx);
	st->callsite = read_callsite(ctx, cookie);
	return 0;
}

SEC("uretprobe")
int mt_alloc_exit(struct pt_regs *ctx)
{
	struct mt_thread_state *st;
	struct mt_heap_event *ev;
	__u64 ret;

	if (!is_target())
		return 0;
	st = thread_state(false);
	/* depth 0: the entry ran before mt_enabled was set */
	if (!st || st->depth == 0)
		return 0;
	if (--st->depth > 0)
		return 0;

	ret = PT_REGS_RC(ctx);
	if (st->kind == MT_K_POSIX_MEMALIGN) {
		/* int posix_memalign(void **memptr, ...): 0 means *memptr is set */
		__u64 ptr = 0;

		if ((int)ret == 0)
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)st->arg0);
		ret = ptr;
	}

	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_RB_FULL);
		return 0;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->arg0 = st->arg0;
	ev->arg1 = st->arg1;
	ev->arg2 = st->arg2;
	ev->ret = ret;
	ev->callsite = st->callsite;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->ep = st->ep;
	ev->kind = st->kind;
	ev->pad = 0;
	/* At the return the ip is the call site and the frame pointers are the
	 * caller's, so the whole stack unwinds from here. */
	ev->stack_id = bpf_get_stackid(ctx, &mt_stacks, BPF_F_USER_STACK);
	if (ev->stack_id < 0)
		count(MT_C_STACK_FAIL);
	bpf_ringbuf_submit(ev, wakeup_flags());
	return 0;
}

SEC("uprobe")
int mt_free_enter(struct pt_regs *ctx)
{
	struct mt_thread_state *st;
	struct mt_heap_event *ev;
	__u64 cookie;

	if (!is_target())
		return 0;
	/* Inside another entry point (realloc(p, 0) calling free): not a call
	 * of the program's. No state is created for a thread that only frees. */
	st = thread_state(false);
	if (st && st->depth > 0)
		return 0;

	cookie = bpf_get_attach_cookie(ctx);
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_RB_FULL);
		return 0;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->arg0 = PT_REGS_PARM1(ctx);
	ev->arg1 = 0;
	ev->arg2 = 0;
	ev->ret = 0;
	ev->callsite = read_callsite(ctx, cookie);
	ev->stack_id = -1;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->ep = MT_COOKIE_EP(cookie);
	ev->kind = MT_K_FREE;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, wakeup_flags());
	return 0;
}
