/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading BPF maps the same way for both tracers (collect/mt_events for the
 * heap, vm/mt_vm_read for the kernel-side view): here, at the lowest layer
 * that knows libbpf, so neither reader keeps its own copy.
 */
#ifndef MT_BPF_UTIL_H
#define MT_BPF_UTIL_H

#include <stdint.h>

/* The sum over possible CPUs of slot key of the per-CPU array map fd
 * (the drop and call counters: one u64 per CPU, summed here because the
 * probes never share a cache line). One map lookup. 0 or -errno; *sum is
 * 0 on error. */
int mt_bpf_percpu_sum(int fd, uint32_t key, uint64_t *sum);

struct bpf_object;
/* Run time and run count summed over obj's loaded programs (the kernel
 * counts them while kernel.bpf_stats_enabled is on). 0 or -errno. */
int mt_bpf_obj_prog_stats(const struct bpf_object *obj, uint64_t *run_ns, uint64_t *runs);

struct bpf_object;

/* Kernel memory of the maps of obj, in bytes: the sum of each map's
 * "memlock" in /proc/self/fdinfo (what the kernel charges for it; a ring
 * buffer is mapped twice into our address space, so memtrace's RSS grows
 * by twice its size). *ring_bytes, when given, gets the ring buffers'
 * share. 0 when nothing is readable. */
uint64_t mt_bpf_obj_map_bytes(const struct bpf_object *obj, uint64_t *ring_bytes);
/* One map's memlock bytes (0 without an fd or when unreadable). */
struct bpf_map;
uint64_t mt_bpf_map_memlock(const struct bpf_map *m);

#endif /* MT_BPF_UTIL_H */
