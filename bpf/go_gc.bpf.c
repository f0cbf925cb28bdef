// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Entry probes on the Go runtime's GC functions of one process (contract:
 * bpf/go_gc.h). Each hit costs the target one ring-buffer record and a few
 * bpf_probe_read_user calls of words user space located through DWARF; a
 * GC cycle has about six hits, so the cost is per cycle, not per
 * allocation.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "mt_common.bpf.h"
#include "go_gc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Addresses in the target, set by user space (0: not read). */
const volatile __u64 numgc_addr = 0;
const volatile __u64 gcphase_addr = 0;
const volatile __u64 watch_addr[MT_GO_GC_WATCH] = {};

__u32 mt_go_gc_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mt_go_gc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_GO_GC_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} mt_go_gc_counters SEC(".maps");

static __always_inline void read_u32(__u64 addr, __u32 *out)
{
	if (addr && bpf_probe_read_user(out, sizeof(*out), (const void *)addr))
		mt_count(&mt_go_gc_counters, MT_GO_GC_C_FAULTS);
}

static __always_inline int record(__u32 kind)
{
	struct mt_go_gc_ev *e;
	int i;

	if (!mt_is_target(&mt_go_gc_enabled))
		return 0;
	e = bpf_ringbuf_reserve(&mt_go_gc_events, sizeof(*e), 0);
	if (!e) {
		mt_count(&mt_go_gc_counters, MT_GO_GC_C_DROPS);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->numgc = 0;
	e->gcphase = 0;
	read_u32(numgc_addr, &e->numgc);
	read_u32(gcphase_addr, &e->gcphase);
	for (i = 0; i < MT_GO_GC_WATCH; i++) {
		e->watch[i] = 0;
		if (watch_addr[i] && bpf_probe_read_user(&e->watch[i], sizeof(__u64),
							 (const void *)watch_addr[i]))
			mt_count(&mt_go_gc_counters, MT_GO_GC_C_FAULTS);
	}
	bpf_ringbuf_submit(e, mt_wakeup_flags(&mt_go_gc_events));
	mt_count(&mt_go_gc_counters, MT_GO_GC_C_EVENTS);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(mt_go_gc_start) { return record(MT_GO_GC_START); }

SEC("uprobe")
int BPF_UPROBE(mt_go_stw_stop) { return record(MT_GO_GC_STW_STOP); }

SEC("uprobe")
int BPF_UPROBE(mt_go_stw_start) { return record(MT_GO_GC_STW_START); }

SEC("uprobe")
int BPF_UPROBE(mt_go_gc_mark_done) { return record(MT_GO_GC_MARK_DONE); }

SEC("uprobe")
int BPF_UPROBE(mt_go_gc_mark_term) { return record(MT_GO_GC_MARK_TERM); }
