/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What bpf/heap.bpf.c and bpf/vm.bpf.c share: the target filter, the
 * per-CPU drop counters and the batched ring-buffer wakeup. Included after
 * vmlinux.h and bpf_helpers.h; each program passes its own maps, so the
 * skeletons keep their names (mt_counters, mt_vm_counters, ...).
 * Everything is always_inline: the programs compile to what they were
 * when each had its own copy.
 */
#ifndef MT_COMMON_BPF_H
#define MT_COMMON_BPF_H

/* Set by user space before load (the skeleton's rodata). */
const volatile __u32 target_tgid = 0;
const volatile __u64 wakeup_bytes = 0;  /* force a wakeup past this much data */

/* The target filter, first in every program: one helper call and a
 * compare for the other processes. *enabled is the program's flag, set
 * once every probe is attached so a call straddling the attach is never
 * half-seen; read only for the target. */
static __always_inline bool mt_is_target(const __u32 *enabled)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid && *enabled;
}

/* One more in slot which of a BPF_MAP_TYPE_PERCPU_ARRAY of __u64: per
 * CPU, so no atomic; user space sums the CPUs (probe/mt_bpf_util.h). */
static __always_inline void mt_count(void *percpu_counters, __u32 which)
{
	__u64 *c = bpf_map_lookup_elem(percpu_counters, &which);

	if (c)
		(*c)++;
}

/* Flags for bpf_ringbuf_submit: the consumer polls on a timer, so a
 * wakeup (an IPI and a syscall return for the reader) is forced only once
 * wakeup_bytes wait in the ring. */
static __always_inline __u64 mt_wakeup_flags(void *ringbuf)
{
	if (bpf_ringbuf_query(ringbuf, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

#endif /* MT_COMMON_BPF_H */
