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
 *
 * Sampling mode (sample_mean > 0, --sample-bytes): the entry decides with a
 * per-thread byte countdown (see mt_sample_draw in heap.h). An unsampled
 * call costs the entry trap, a subtraction and the return trap, which
 * returns after one task-storage lookup: no stack, no event, no map update.
 * Calls are counted per entry point in a per-CPU array, so they stay exact.
 * Sampled addresses live in a hash so frees of sampled blocks are reported
 * and every other free costs one failed hash delete. libbpf 1.4.6 has no
 * uprobe-session API, so the return probe still fires for unsampled calls.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "heap.h"
#include "mt_common.bpf.h"

#define MT_EEXIST 17   /* the stack map's bucket holds another stack */
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* -f: more processes than target_tgid are traced; their tgids are the keys
 * of mt_tgids. Without -f the hash is never looked up, so following costs
 * nothing unless asked for. */
const volatile bool follow = false;
const volatile __u64 sample_mean = 0;   /* bytes; 0: every call (exact mode) */
const volatile bool use_session = false; /* allocations probed by mt_alloc_session */
/* false (--callsite-only): sites are the call site (the return address), with no
 * stack walk, which is ~75% of an allocation's probe cost (~0.77 us). */
const volatile bool capture_stack = true;

/* Set by user space once every probe is attached, so a call that straddles
 * the attach (entry seen, return not, or the reverse) is never half-counted;
 * cleared before any probe detaches (the cut): every probe tests it first,
 * so the final report is one instant of the program, not frees cut off
 * while allocations still count. */
__u32 mt_enabled = 0;

/* Per-thread call state. depth counts the entry points the thread is inside
 * of: only depth 0 -> 1 (the outermost call) is recorded, so realloc(NULL, n)
 * jumping into malloc or realloc(p, 0) calling free is one call. */
struct mt_thread_state {
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u64 size;       /* sampling: requested bytes of the current call */
	__s64 countdown;  /* sampling: bytes until the next sample */
	__u32 depth;
	__u16 ep;
	__u16 kind;
	__u8 sampled;     /* sampling: the current call's block is sampled */
	__u8 old_sampled; /* sampling: realloc's old block is a sampled one */
	__u8 drawn;       /* sampling: countdown holds a draw */
	__u8 internal;    /* the current call is the allocator's own */
	__u8 pad[4];
	/* An internal call site was just passed: the stack pointer its callee
	 * enters with (0: none). Matching it, not just a flag, keeps a signal
	 * handler's calls in between from taking the mark. */
	__u64 internal_sp;
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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} mt_counters SEC(".maps");

/* Sampling mode: addresses of sampled live blocks (value unused). Sized by
 * user space; no preallocation, so memory follows the sampled live set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u8);
} mt_sampled SEC(".maps");

/* Sampling mode: calls per entry point (events are not calls there);
 * internal calls from MT_CALLS_INTERNAL on. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * MT_MAX_EPS);
	__type(key, __u32);
	__type(value, __u64);
} mt_calls SEC(".maps");

#define count_call(ep)  mt_count(&mt_calls, ep)
#define count(which)    mt_count(&mt_counters, which)
#define wakeup_flags()  mt_wakeup_flags(&mt_events)

/* -f: the traced processes other than target_tgid (value unused). The
 * uprobes themselves are attached per PID, so this only guards against a
 * process that shares a traced one's memory (vfork) before it is known. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);        /* sized by user space with -f */
	__type(key, __u32);
	__type(value, __u8);
} mt_tgids SEC(".maps");

static __always_inline bool is_target(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!mt_enabled)
		return false;
	if (tgid == target_tgid)
		return true;
	return follow && bpf_map_lookup_elem(&mt_tgids, &tgid);
}

static __always_inline struct mt_thread_state *thread_state(bool create)
{
	return bpf_task_storage_get(&mt_threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}



/* Requested bytes, by the one rule user space uses too (heap.h). */
static __always_inline __u64 req_size(const struct mt_thread_state *st)
{
	return mt_req_size(st->kind, st->arg0, st->arg1, st->arg2);
}

/* Sampling decision at entry: one subtraction per call, one random draw
 * per sample. A realloc also notes whether its old block was sampled (its
 * release must be reported even when the new block is not sampled). */
static __always_inline void sample_enter(struct mt_thread_state *st)
{
	__u64 old = st->arg0;

	count_call(st->ep + (st->internal ? MT_CALLS_INTERNAL : 0));
	if (!st->drawn) {
		st->countdown = mt_sample_draw(sample_mean, bpf_get_prandom_u32());
		st->drawn = 1;
	}
	st->size = req_size(st);
	st->sampled = mt_sample_take(&st->countdown, st->size);
	if (st->sampled)
		st->countdown = mt_sample_draw(sample_mean, bpf_get_prandom_u32());
	st->old_sampled = 0;
	if ((st->kind == MT_K_REALLOC || st->kind == MT_K_REALLOCARRAY) && old)
		st->old_sampled = bpf_map_lookup_elem(&mt_sampled, &old) != NULL;
}

/* Sampling decision at return. Returns false when nothing is emitted:
 * unsampled and not failed, with no sampled old block. Updates the
 * sampled-address map; *flags gets the event flags. */
static __always_inline bool sample_exit(struct mt_thread_state *st, __u64 ret, __u32 *flags)
{
	bool is_realloc = st->kind == MT_K_REALLOC || st->kind == MT_K_REALLOCARRAY;
	bool failed = !ret && st->size;
	__u8 one = 1;

	if (!st->sampled && !st->old_sampled && !failed)
		return false;
	*flags = MT_EV_F_SAMPLING | (st->sampled ? 0 : MT_EV_F_UNSAMPLED);
	if (is_realloc) {
		__u64 old = st->arg0;

		/* The old block is gone when realloc succeeded or freed it. */
		if (st->old_sampled && (ret || !st->size))
			bpf_map_delete_elem(&mt_sampled, &old);
		if (!st->old_sampled)
			st->arg0 = 0;   /* not ours: its release is not reported */
	}
	if (st->sampled && ret && bpf_map_update_elem(&mt_sampled, &ret, &one, BPF_ANY))
		count(MT_C_SAMPLED_FULL);
	return true;
}

/* Is the call entering now the one an internal call site announced? Its
 * stack pointer tells (entry probes sit where it is the entry's: the
 * loader keeps them there). Program calls pay one compare. */
static __always_inline bool is_internal(struct mt_thread_state *st, struct pt_regs *ctx)
{
	if (!st->internal_sp || st->internal_sp != PT_REGS_SP(ctx))
		return false;
	st->internal_sp = 0;
	return true;
}

/* Entry of an allocating call. Returns whether its return must be seen:
 * always without sessions; with them (use_session), not for nested calls
 * (ignored) nor for unsampled calls that cannot nest (not realloc kinds),
 * whose return probe is then skipped entirely. */
static __always_inline bool alloc_enter(struct pt_regs *ctx)
{
	struct mt_thread_state *st;
	__u64 cookie;

	if (!is_target())
		return false;
	st = thread_state(true);
	if (!st) {
		count(MT_C_STATE_FULL);
		return false;
	}
	if (st->depth > 0) {
		if (use_session)
			return false;
		st->depth++;
		return true;
	}
	st->depth = 1;
	cookie = bpf_get_attach_cookie(ctx);
	st->ep = MT_COOKIE_EP(cookie);
	st->kind = MT_COOKIE_KIND(cookie);
	st->arg0 = PT_REGS_PARM1(ctx);
	st->arg1 = PT_REGS_PARM2(ctx);
	st->arg2 = PT_REGS_PARM3(ctx);
	st->internal = is_internal(st, ctx);
	if (sample_mean) {
		sample_enter(st);
		/* Skipping the return of an unsampled call also skips the
		 * nesting count: only for functions that cannot reach another
		 * entry point, and never for realloc (its old block). */
		if (!st->sampled && use_session && !st->old_sampled && st->kind != MT_K_REALLOC &&
		    st->kind != MT_K_REALLOCARRAY && !(cookie & MT_COOKIE_NEST)) {
			st->depth = 0;
			return false;
		}
	}
	return true;
}

SEC("uprobe")
int mt_alloc_enter(struct pt_regs *ctx)
{
	alloc_enter(ctx);
	return 0;
}

/* Everything of an allocation's record but the stack. */
static __always_inline void fill_event(struct mt_heap_event *ev, const struct mt_thread_state *st,
				       struct pt_regs *ctx, __u64 ret, __u32 flags, long sid)
{
	ev->ts_ns = bpf_ktime_get_ns();
	ev->arg0 = st->arg0;
	ev->arg1 = st->arg1;
	ev->arg2 = st->arg2;
	ev->ret = ret;
	/* The return probe runs with the ip at the return address: the call
	 * site, with no read of the target's stack. */
	ev->callsite = PT_REGS_IP(ctx);
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->tgid = bpf_get_current_pid_tgid() >> 32;
	ev->ep = st->ep;
	ev->kind = st->kind;
	ev->flags = flags;
	ev->stack_id = (__s32)sid;
}

static __always_inline void alloc_exit(struct pt_regs *ctx)
{
	struct mt_heap_event_stack *big;
	struct mt_stack *stack = NULL;
	struct mt_thread_state *st;
	struct mt_heap_event *ev;
	bool want_stack;
	__u32 flags = 0;
	long sid = -1;
	__u64 ret;

	if (!is_target())
		return;
	st = thread_state(false);
	/* depth 0: the entry ran before mt_enabled was set */
	if (!st || st->depth == 0)
		return;
	if (--st->depth > 0)
		return;

	ret = PT_REGS_RC(ctx);
	if (st->kind == MT_K_POSIX_MEMALIGN) {
		/* int posix_memalign(void **memptr, ...): 0 means *memptr is set */
		__u64 ptr = 0;

		if ((int)ret == 0)
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)st->arg0);
		ret = ptr;
	}
	if (sample_mean && !sample_exit(st, ret, &flags))
		return;
	if (st->internal)
		flags |= MT_EV_F_INTERNAL;

	/* At the return the ip is the call site and the registers are the
	 * caller's, so the whole stack unwinds from here (unwind.bpf.h). Only
	 * a block that will be recorded needs one. */
	want_stack = ret && !(flags & MT_EV_F_UNSAMPLED);
	if (want_stack && capture_stack)
		sid = uw_stack_id(ctx, &stack);
	if (sid == -MT_EEXIST && stack) {
		/* Another stack holds this one's bucket: rather than lose it,
		 * carry it in a larger record (rare: a hash collision). */
		big = bpf_ringbuf_reserve(&mt_events, sizeof(*big), 0);
		if (!big) {
			count(MT_C_RB_FULL);
			return;
		}
		fill_event(&big->ev, st, ctx, ret, flags | MT_EV_F_INLINE_STACK, -1);
		/* a helper copy: clang will not inline one this large here */
		if (bpf_probe_read_kernel(&big->stack, sizeof(big->stack), stack)) {
			big->stack.nr = 0;
			count(MT_C_STACK_FAIL);
		}
		bpf_ringbuf_submit(big, wakeup_flags());
		return;
	}
	if (want_stack && capture_stack && sid < 0)
		count(MT_C_STACK_FAIL);
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_RB_FULL);
		return;
	}
	fill_event(ev, st, ctx, ret, flags, want_stack ? sid : -1);
	if (!want_stack)
		ev->callsite = 0;
	bpf_ringbuf_submit(ev, wakeup_flags());
}

SEC("uretprobe")
int mt_alloc_exit(struct pt_regs *ctx)
{
	alloc_exit(ctx);
	return 0;
}

/* Sampling with uprobe sessions (kernel 6.12+): one program for entry and
 * return; returning 1 from the entry skips the return probe. Loaded only
 * when user space attaches sessions (BPF_TRACE_UPROBE_SESSION). */
SEC("uprobe.multi")
int mt_alloc_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		alloc_exit(ctx);
		return 0;
	}
	return alloc_enter(ctx) ? 0 : 1;
}

static __always_inline void free_enter(struct pt_regs *ctx)
{
	struct mt_thread_state *st;
	struct mt_heap_event *ev;
	__u64 cookie, addr;
	__u32 internal = 0;

	if (!is_target())
		return;
	/* Inside another entry point (realloc(p, 0) calling free): not a call
	 * of the program's. No state is created for a thread that only frees. */
	st = thread_state(false);
	if (st) {
		if (st->depth > 0)
			return;
		internal = is_internal(st, ctx);
	}

	cookie = bpf_get_attach_cookie(ctx);
	addr = PT_REGS_PARM1(ctx);
	if (sample_mean) {
		/* One delete both tests and retires a sampled address. */
		count_call(MT_COOKIE_EP(cookie) + (internal ? MT_CALLS_INTERNAL : 0));
		if (!addr)
			return;
		if (bpf_map_delete_elem(&mt_sampled, &addr)) {
			if (!internal)
				count(MT_C_FREE_UNSAMPLED);
			return;
		}
	}
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_RB_FULL);
		return;
	}
	/* No call site: frees are not attributed to stacks, and reading the
	 * target's stack would be a user-memory access per free. */
	ev->ts_ns = bpf_ktime_get_ns();
	ev->arg0 = addr;
	ev->arg1 = 0;
	ev->arg2 = 0;
	ev->ret = 0;
	ev->callsite = 0;
	ev->stack_id = -1;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->tgid = bpf_get_current_pid_tgid() >> 32;
	ev->ep = MT_COOKIE_EP(cookie);
	ev->kind = MT_K_FREE;
	ev->flags = (sample_mean ? MT_EV_F_SAMPLING : 0) | (internal ? MT_EV_F_INTERNAL : 0);
	bpf_ringbuf_submit(ev, wakeup_flags());
}

SEC("uprobe")
int mt_free_enter(struct pt_regs *ctx)
{
	free_enter(ctx);
	return 0;
}

/* On a call instruction of the allocator's own code that calls an entry
 * point directly (user/probe/mt_internal.h): the call about to start is
 * internal. Only the outermost level matters; nested calls are not the
 * program's anyway. The kernel emulates the call, and only internal calls
 * (thread exit, for glibc) pay this probe: the program's calls pay one
 * compare on the state they load anyway. */
static __always_inline void internal_site(struct pt_regs *ctx)
{
	struct mt_thread_state *st;

	if (!is_target())
		return;
	st = thread_state(true);
	if (st && st->depth == 0)
		st->internal_sp = PT_REGS_SP(ctx) - 8;   /* the call pushes the return address */
}

SEC("uprobe")
int mt_internal_site(struct pt_regs *ctx)
{
	internal_site(ctx);
	return 0;
}

SEC("uprobe.multi")
int mt_internal_site_multi(struct pt_regs *ctx)
{
	internal_site(ctx);
	return 0;
}

/*
 * The same programs as uprobe_multi links (kernel 6.6+): one link for all
 * allocation entries, one for their returns, one for free. Detaching a
 * link waits for in-flight probes once per link, so three links detach in
 * ~0.1 s where one perf link per probe took ~0.1 s each (17 with glibc).
 * user/mt_heap.c loads either these or the per-probe ones, never both.
 */
SEC("uprobe.multi")
int mt_alloc_enter_multi(struct pt_regs *ctx)
{
	alloc_enter(ctx);
	return 0;
}

SEC("uretprobe.multi")
int mt_alloc_exit_multi(struct pt_regs *ctx)
{
	alloc_exit(ctx);
	return 0;
}

SEC("uprobe.multi")
int mt_free_enter_multi(struct pt_regs *ctx)
{
	free_enter(ctx);
	return 0;
}

/*
 * Process life in attach mode (launch mode has ptrace's stops instead).
 * Both tracepoints fire for every process of the machine: the price for
 * the others is the tgid test, once per exec or fork, never per syscall.
 */
#define MT_SIGSTOP 19

static __always_inline bool traced_tgid(__u32 tgid)
{
	return mt_enabled && (tgid == target_tgid || (follow && bpf_map_lookup_elem(&mt_tgids, &tgid)));
}

/* The traced process exec'd: it is stopped before the new image's first
 * instruction (the signal is taken on the way back to user space), and the
 * event, ordered after every call of the old image in the ring, tells user
 * space to probe the new image and continue it. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(mt_proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct mt_heap_event *ev;

	if (!traced_tgid(tgid))
		return 0;
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_EXEC_LOST);   /* not stopped: nobody would continue it */
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->stack_id = -1;
	ev->arg0 = old_pid;   /* the thread that exec'd */
	ev->tid = p->pid;
	ev->tgid = tgid;
	ev->kind = MT_P_EXEC;
	ev->flags = MT_EV_F_PROC;
	bpf_send_signal(MT_SIGSTOP);
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* A process (not a thread) created by a traced one. Without -f it is
 * counted (the report's untraced_children); with -f it is held before its
 * first instruction (a SIGSTOP queued to it before it is first woken) and
 * user space attaches its probes, then continues it. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(mt_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = parent->tgid;
	struct mt_heap_event *ev;

	if (!traced_tgid(tgid) || child->tgid == tgid)
		return 0;
	/* bpf_send_signal_task: kernel 6.13+ */
	if (!follow || !bpf_ksym_exists(bpf_send_signal_task)) {
		count(MT_C_CHILDREN);
		return 0;
	}
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_CHILDREN);   /* runs untraced */
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->stack_id = -1;
	ev->arg0 = tgid;
	ev->tid = child->pid;
	ev->tgid = child->tgid;
	ev->kind = MT_P_FORK;
	ev->flags = MT_EV_F_PROC;
	bpf_send_signal_task(child, MT_SIGSTOP, PIDTYPE_TGID, 0);
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* -f: a traced child ended (its last thread): its probes can go. Fires for
 * every thread exit of the machine: the test is one compare unless a
 * process group just died. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(mt_proc_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid;
	struct mt_heap_event *ev;
	int code;

	if (!group_dead || !follow || tgid == target_tgid || !traced_tgid(tgid))
		return 0;
	ev = bpf_ringbuf_reserve(&mt_events, sizeof(*ev), 0);
	if (!ev) {
		count(MT_C_RB_FULL);
		return 0;
	}
	code = p->signal->group_exit_code ? p->signal->group_exit_code : p->exit_code;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->stack_id = -1;
	ev->arg0 = (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff;
	ev->tid = p->pid;
	ev->tgid = tgid;
	ev->kind = MT_P_EXIT;
	ev->flags = MT_EV_F_PROC;
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}
