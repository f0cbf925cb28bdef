// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pools seen from inside: USDT probes of a pool library (libmtpool's
 * provider "mtpool", or another provider's probes of the same roles; the
 * table is user/pools/mt_pools_prov.c). libbpf attaches them per process
 * and enables their semaphores only while attached.
 *
 * Costs, paid by the target only on the paths these probes sit on:
 * create/destroy/debug_error: one record (~600 bytes) each, rare. miss,
 * refill, flush (only for a provider that does not count them in memory;
 * libmtpool does): a hash lookup and an add. get/put (--pool-events only): a record each,
 * with a frame-pointer stack walk for get; the library's inline fast path
 * is then off, since it tests the get/put semaphores.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "pools.h"
#include "mt_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space once every probe is attached. */
__u32 mt_pool_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} mt_pool_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mt_pool_slow);
} mt_pool_slow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_POOL_C_N);
	__type(key, __u32);
	__type(value, __u64);
} mt_pool_counters SEC(".maps");

static __always_inline struct mt_pool_event *event(__u32 role, __u64 pool, __u64 obj)
{
	struct mt_pool_event *ev = bpf_ringbuf_reserve(&mt_pool_events, sizeof(*ev), 0);

	if (!ev) {
		mt_count(&mt_pool_counters, MT_POOL_C_LOST);
		return NULL;
	}
	ev->role = role;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pool = pool;
	ev->obj = obj;
	ev->layout = 0;
	ev->nframes = 0;
	ev->provider = 0;
	ev->sp0 = 0;
	__builtin_memset(&ev->st, 0, sizeof(ev->st));
	ev->name[0] = 0;
	ev->what[0] = 0;
	return ev;
}

static __always_inline void stack(struct pt_regs *ctx, struct mt_pool_event *ev)
{
	long n = bpf_get_stack(ctx, ev->frames, sizeof(ev->frames), BPF_F_USER_STACK);

	ev->nframes = n > 0 ? (__u32)((__u64)n / 8) : 0;
	if (bpf_probe_read_user(&ev->sp0, sizeof(ev->sp0), (void *)PT_REGS_SP(ctx)))
		ev->sp0 = 0;
}

static __always_inline void submit(struct mt_pool_event *ev)
{
	bpf_ringbuf_submit(ev, mt_wakeup_flags(&mt_pool_events));
}

static __always_inline struct mt_pool_slow *slow(__u64 pool)
{
	struct mt_pool_slow *s = bpf_map_lookup_elem(&mt_pool_slow, &pool), zero = {};

	if (s)
		return s;
	if (bpf_map_update_elem(&mt_pool_slow, &pool, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&mt_pool_slow, &pool)) {
		mt_count(&mt_pool_counters, MT_POOL_C_NOSLOW);
		return NULL;
	}
	return bpf_map_lookup_elem(&mt_pool_slow, &pool);
}

SEC("usdt")
int BPF_USDT(mt_pool_create, __u64 pool, const char *kind, const char *name, __u64 size,
	     __u64 layout)
{
	struct mt_pool_event *ev;

	if (!mt_is_target(&mt_pool_enabled) || !(ev = event(MT_POOL_CREATE, pool, size)))
		return 0;
	ev->provider = (__u32)bpf_usdt_cookie(ctx);
	ev->layout = layout;
	bpf_probe_read_user_str(ev->name, sizeof(ev->name), name);
	bpf_probe_read_user_str(ev->what, sizeof(ev->what), kind);
	submit(ev);
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_destroy, __u64 pool, const void *stats)
{
	struct mt_pool_event *ev;

	if (!mt_is_target(&mt_pool_enabled) || !(ev = event(MT_POOL_DESTROY, pool, 0)))
		return 0;
	if (bpf_probe_read_user(&ev->st, sizeof(ev->st), stats))
		ev->layout = 1;   /* unreadable: the reader keeps its own last counters */
	submit(ev);
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_debug_error, const char *what, const char *name, __u64 addr)
{
	struct mt_pool_event *ev;

	if (!mt_is_target(&mt_pool_enabled) || !(ev = event(MT_POOL_DEBUG_ERROR, 0, addr)))
		return 0;
	bpf_probe_read_user_str(ev->what, sizeof(ev->what), what);
	bpf_probe_read_user_str(ev->name, sizeof(ev->name), name);
	stack(ctx, ev);
	submit(ev);
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_miss, __u64 pool, __u64 obj)
{
	struct mt_pool_slow *s;

	if (mt_is_target(&mt_pool_enabled) && (s = slow(pool)))
		__sync_fetch_and_add(&s->misses, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_refill, __u64 pool, __u64 n)
{
	struct mt_pool_slow *s;

	if (mt_is_target(&mt_pool_enabled) && (s = slow(pool))) {
		__sync_fetch_and_add(&s->refills, 1);
		__sync_fetch_and_add(&s->refill_objs, n);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_flush, __u64 pool, __u64 n)
{
	struct mt_pool_slow *s;

	if (mt_is_target(&mt_pool_enabled) && (s = slow(pool))) {
		__sync_fetch_and_add(&s->flushes, 1);
		__sync_fetch_and_add(&s->flush_objs, n);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_get, __u64 pool, __u64 obj)
{
	struct mt_pool_event *ev;

	if (!mt_is_target(&mt_pool_enabled) || !(ev = event(MT_POOL_GET, pool, obj)))
		return 0;
	stack(ctx, ev);
	submit(ev);
	return 0;
}

SEC("usdt")
int BPF_USDT(mt_pool_put, __u64 pool, __u64 obj)
{
	struct mt_pool_event *ev;

	if (!mt_is_target(&mt_pool_enabled) || !(ev = event(MT_POOL_PUT, pool, obj)))
		return 0;
	submit(ev);
	return 0;
}
