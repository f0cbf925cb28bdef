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

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/mt_alloc_lib.h"
#include "unwind/mt_unwind.h"

struct mt_heap;

struct mt_heap_opts {
	pid_t pid;
	size_t ringbuf_bytes;   /* power of two, >= 4096 */
	uint64_t sample_bytes;  /* mean bytes between samples; 0: every call */
	bool callsite_only;     /* no stack walk: sites are the immediate caller */
	enum mt_unwind_mode unwind;  /* how stacks are walked per module */
	unsigned max_depth;     /* frames per stack, 1..MT_STACK_MAX */
	const char *const *preload;  /* launch mode: files the loader will map */
	size_t npreload;
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

/* Tables for mappings that appeared since the last look (dlopen): cheap
 * when the walker met no unknown return address since the last call. */
void mt_heap_unwind_poll(struct mt_heap *h);

/* The unwind tables (for the report's modules and -v); NULL with
 * --callsite-only. */
const struct mt_unwind *mt_heap_unwind(const struct mt_heap *h);

/* The cut: stop counting at once in every probe (one flag each tests
 * first), so the final report is one instant. Events emitted before it may
 * still be in flight until mt_heap_detach() returns; with every thread of
 * the target stopped there are none. Accepts NULL. */
void mt_heap_stop(struct mt_heap *h);

/* Stop counting, then detach every probe but keep the maps (counters stay
 * readable). Detaching waits for the probes running, so on return every
 * event from before the cut is in the ring buffer, and a call in flight at
 * the cut is not counted, as at attach. Accepts NULL. */
void mt_heap_detach(struct mt_heap *h);

/* Detach every probe and unload; accepts NULL. */
void mt_heap_free(struct mt_heap *h);

#endif /* MT_HEAP_LOADER_H */
