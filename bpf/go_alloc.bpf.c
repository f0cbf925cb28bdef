// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go program's heap allocations: a uprobe on runtime.mallocgc's first
 * instruction (never a uretprobe: Go moves goroutine stacks, and a
 * rewritten return address makes the runtime throw), the stack by Go's
 * frame pointers, counted per (stack, type) in a hash map. Contract:
 * bpf/go_alloc.h. Cost per call: the frame walk (two user reads a
 * frame), one hash of the 272-byte key, one atomic add.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "go_alloc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;
const volatile __u32 sample_mask = MT_GO_SAMPLE_MASK;  /* 0 with no survival probes */
__u32 enabled = 0;     /* set once attached: no call is half-seen */
__u32 sampling_window = 0;  /* 0: the RET probes are off, no sampling */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_GO_MAX_SITES);
	__type(key, struct mt_go_key);
	__type(value, struct mt_go_val);
} mt_go_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_GO_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} mt_go_counters SEC(".maps");

/* The sampled calls in flight, by goroutine (LRU: a call that never
 * returns, a panic, leaves nothing behind for long). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mt_go_pending);
} mt_go_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} mt_go_samples SEC(".maps");

/* Per-CPU site numbers: unique without an atomic that returns a value. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mt_go_next_id SEC(".maps");

/* The key is built here: 272 bytes do not fit the BPF stack with room to spare. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_go_key);
} mt_go_scratch SEC(".maps");

static __always_inline void count(__u32 which, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&mt_go_counters, &which);

	if (c)
		*c += n;
}

SEC("uprobe")
int mt_go_mallocgc(struct pt_regs *ctx)
{
	__u64 size = ctx->ax, bp = ctx->bp, frame[2];
	struct mt_go_val one = { 1, size, 0, 0 }, *v;
	struct mt_go_key *k;
	__u32 zero = 0, i, n = 1;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || !enabled)
		return 0;
	count(MT_GO_C_CALLS, 1);
	count(MT_GO_C_BYTES, size);
	k = bpf_map_lookup_elem(&mt_go_scratch, &zero);
	if (!k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	k->type = ctx->bx;
	/* At the first instruction mallocgc has not pushed its frame: its
	 * return address is at SP, and BP is still its caller's frame. */
	if (bpf_probe_read_user(&k->pcs[0], 8, (void *)ctx->sp)) {
		k->end = MT_GO_END_FAULT;
		goto counted;
	}
	k->end = MT_GO_END_DEPTH;
	for (i = 1; i < MT_GO_DEPTH; i++) {
		if (!bp) {
			k->end = MT_GO_END_ROOT;
			break;
		}
		if (bpf_probe_read_user(frame, sizeof(frame), (void *)bp)) {
			k->end = MT_GO_END_FAULT;
			break;
		}
		if (!frame[1]) {
			k->end = MT_GO_END_ROOT;
			break;
		}
		k->pcs[i] = frame[1];
		n = i + 1;
		if (frame[0] && frame[0] <= bp) {   /* stacks grow down: callers are above */
			k->end = MT_GO_END_FAULT;
			break;
		}
		bp = frame[0];
	}
counted:
	k->nframes = n;
	v = bpf_map_lookup_elem(&mt_go_sites, k);
	if (v) {
		__sync_fetch_and_add(&v->allocs, 1);
		__sync_fetch_and_add(&v->bytes, size);
		goto sample;
	}
	{
		__u32 *next = bpf_map_lookup_elem(&mt_go_next_id, &zero);

		if (!next)
			return 0;
		*next += 1;
		one.id = (bpf_get_smp_processor_id() << 20) | (*next & 0xfffff);
	}
	if (!bpf_map_update_elem(&mt_go_sites, k, &one, BPF_NOEXIST)) {
		v = &one;
		goto sample;
	}
	v = bpf_map_lookup_elem(&mt_go_sites, k);   /* another CPU added it meanwhile */
	if (v) {
		__sync_fetch_and_add(&v->allocs, 1);
		__sync_fetch_and_add(&v->bytes, size);
		goto sample;
	}
	count(MT_GO_C_FULL, 1);
	return 0;
sample:
	/* the site's 1st call, then one in sample_mask + 1 (a racy read of
	 * the count: under contention a sample more or less) */
	if (sample_mask && sampling_window && !((v->allocs - 1) & sample_mask)) {
		struct mt_go_pending p = { .ts_ns = bpf_ktime_get_ns(), .sp = ctx->sp, .site = v->id,
					   .window = sampling_window };
		__u64 g = ctx->r14;

		bpf_map_update_elem(&mt_go_pending, &g, &p, BPF_ANY);
	}
	return 0;
}

/* On each RET of mallocgc: the sampled call of this goroutine, if any,
 * returns its object in RAX. Cost for the others: a counter (the trap
 * is what the budget accounts) and one hash lookup. */
SEC("uprobe")
int mt_go_mallocgc_ret(struct pt_regs *ctx)
{
	struct mt_go_pending *p;
	struct mt_go_sample *s;
	__u64 g = ctx->r14;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || !enabled)
		return 0;
	count(MT_GO_C_RET_HITS, 1);
	p = bpf_map_lookup_elem(&mt_go_pending, &g);
	if (!p)
		return 0;
	/* else a call whose RET was missed, or begun in an earlier window */
	if (p->sp == ctx->sp && p->window == sampling_window) {
		s = bpf_ringbuf_reserve(&mt_go_samples, sizeof(*s), 0);
		if (s) {
			s->addr = ctx->ax;
			s->ts_ns = p->ts_ns;
			s->site = p->site;
			s->pad = 0;
			bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
			count(MT_GO_C_SAMPLES, 1);
		} else {
			count(MT_GO_C_SAMPLE_DROPS, 1);
		}
	} else {
		count(MT_GO_C_SAMPLE_DROPS, 1);
	}
	bpf_map_delete_elem(&mt_go_pending, &g);
	return 0;
}
