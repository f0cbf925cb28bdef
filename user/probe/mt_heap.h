/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loader of the heap tracer (bpf/heap.bpf.c): opens and loads the skeleton
 * for one process, attaches a probe to every allocator entry point (in
 * each object of mt_alloc_lib that provides some) and to the allocator's
 * internal call sites (mt_internal.h), all or nothing, and detaches them
 * all on free. Uprobes are attached for the
 * target PID only, so no other process ever traps.
 */
#ifndef MT_HEAP_LOADER_H
#define MT_HEAP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/mt_alloc_lib.h"

struct mt_heap;

struct mt_heap_opts {
	pid_t pid;
	size_t ringbuf_bytes;   /* power of two, >= 4096 */
	uint64_t sample_bytes;  /* mean bytes between samples; 0: every call */
	bool callsite_only;     /* no stack walk: sites are the immediate caller */
	const char *btf_path;   /* kernel BTF, NULL for /sys/kernel/btf/vmlinux */
};

/* Open and load. Prints one line and returns -errno on failure. */
int mt_heap_open(const struct mt_heap_opts *o, struct mt_heap **out);

/* Attach every entry point of lib; on failure nothing stays attached. */
int mt_heap_attach(struct mt_heap *h, const struct mt_alloc_lib *lib);

/* Start recording: calls entered from now on are traced. */
void mt_heap_enable(struct mt_heap *h);

/* Map descriptors for the event reader. */
int mt_heap_events_fd(const struct mt_heap *h);
int mt_heap_stacks_fd(const struct mt_heap *h);
int mt_heap_counters_fd(const struct mt_heap *h);
int mt_heap_calls_fd(const struct mt_heap *h);   /* sampling mode: calls per ep */

/* Duty cycling (user/budget/): arm or disarm the allocation side
 * (entry, return, internal call sites) and the free side separately;
 * an unarmed probe costs the target nothing. Only with uprobe_multi links
 * (mt_heap_can_arm). mt_heap_arm makes the armed set equal to want; a
 * disarm of the allocation side forgets every thread's in-flight call.
 * 0 or -errno (a message printed); on error the armed set is as far as it
 * got (mt_heap_armed). */
#define MT_ARM_ALLOC 1u
#define MT_ARM_FREE 2u
bool mt_heap_can_arm(const struct mt_heap *h);
int mt_heap_arm(struct mt_heap *h, unsigned want);
unsigned mt_heap_armed(const struct mt_heap *h);
/* The allocation side's links are still being destroyed (their grace
 * period, tens of ms here): until then a thread caught inside the
 * allocator may ignore its frees. */
bool mt_heap_disarming(const struct mt_heap *h);

/* Run time and runs of every heap program so far (counted only while
 * the kernel's BPF statistics are enabled, bpf_enable_stats). 0 or -errno. */
int mt_heap_prog_stats(const struct mt_heap *h, uint64_t *run_ns, uint64_t *runs);

/* Detach every probe but keep the maps (counters stay readable); accepts
 * NULL. Calls in flight then are not counted, as at attach. */
void mt_heap_detach(struct mt_heap *h);

/* Detach every probe and unload; accepts NULL. */
void mt_heap_free(struct mt_heap *h);

#endif /* MT_HEAP_LOADER_H */
