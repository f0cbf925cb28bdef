/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel-side memory view of one process: where its resident memory
 * comes from, independent of the allocator. bpf/vm.bpf.c traces the
 * target's mmap, munmap, mremap, brk and releasing madvise calls (with the
 * user stack of the creating ones), its page faults (a perf event per
 * thread, else the machine-wide tracepoints) and its mm's resident
 * counters (read at its own events, else kmem:rss_stat); this module keeps an interval map of the
 * target's mappings, attributes faults to the mapping and the stack that
 * created it, samples an RSS timeline, and at the end relates the heap's
 * live bytes to its resident bytes (docs/memory-stats.md).
 *
 * Cost to the target: one BPF program run per memory syscall (two records'
 * worth of work: arguments at entry, a record at exit with a stack walk for
 * the creating ones), a perf event and a 16-byte record per page fault
 * (about +360 ns here; the tracepoint fallback +210 ns), and the mm's RSS
 * counters read into BPF global data every 16th fault and at each
 * munmap/madvise/brk/mremap. Much cheaper than allocator probes:
 * malloc/free that reuse memory make no syscalls and take no faults.
 *
 * Limitations: x86_64 only (syscall numbers, fault error code). Faults
 * before attach are not seen. A fault is a fault: zero-page read faults
 * and copy-on-write faults count in page_faults; only not-present faults
 * count as bytes faulted in, and file fault-around maps more than the one
 * page counted. madvise and munmap bytes are the ranges given, not the
 * resident bytes they dropped (RSS shows that). The event reader runs in
 * the caller's thread: if it is not called, the ring buffer (8 MiB, about
 * 350k faults) fills and records are dropped (mt_vm_lost() counts them).
 */
#ifndef MT_VM_H
#define MT_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "collect/mt_agg.h"
#include "util/mt_json.h"
#include "util/mt_prom.h"
#include "sym/mt_sym.h"
#include "unwind/mt_unwind.h"

struct mt_vm;

/* Where the memory syscalls are seen (--vm-source). */
enum mt_vm_source {
	MT_VM_SRC_AUTO = 0,   /* uprobe, else tracepoint, else raw_tp */
	MT_VM_SRC_UPROBE,     /* the target's own syscall sites: per target */
	MT_VM_SRC_TRACEPOINT, /* syscalls:sys_*_X: slows every process's syscalls */
	MT_VM_SRC_RAW_TP,     /* sys_enter/sys_exit: BPF on every syscall */
};

/* Where the page faults are seen (--fault-source). */
enum mt_vm_fault_source {
	MT_VM_FSRC_AUTO = 0,     /* perf, else tracepoint */
	MT_VM_FSRC_PERF,         /* per-thread perf software events: per target */
	MT_VM_FSRC_TRACEPOINT,   /* exceptions:page_fault_*: BPF on every fault */
};

struct mt_vm_opts {
	pid_t pid;        /* the target (thread group id) */
	/* Stacks of mmap, mremap and brk: walked like the heap's (bpf/
	 * unwind.bpf.h). With uw and uw_sink (the heap tracer's, borrowed:
	 * they must outlive the view) the view's walker reads the same tables
	 * in the same maps; without, the view builds its own in mode unwind. */
	struct mt_unwind *uw;
	const struct mt_unwind_sink *uw_sink;
	enum mt_unwind_mode unwind;
	uint32_t max_depth;   /* frames, <= MT_STACK_MAX; 0: 64 */
	/* own tables, launch mode: the files the loader is about to map */
	const char *const *preload;
	size_t npreload;
	bool launched;    /* stopped after exec: its libraries are not mapped yet */
	enum mt_vm_source source;
	enum mt_vm_fault_source fault_source;
};

/* "auto", "uprobe", "tracepoint", "raw_tp" -> source; -EINVAL otherwise. */
int mt_vm_source_parse(const char *s, enum mt_vm_source *out);

/* "auto", "perf", "tracepoint" -> fault source; -EINVAL otherwise. */
int mt_vm_fault_source_parse(const char *s, enum mt_vm_fault_source *out);

/**
 * mt_vm_open() - open, load (tgid filter in rodata) and attach every
 * kernel-side program for o->pid, then read /proc/PID/maps and status as
 * the starting point.
 * @o:   options; o->pid must be > 0.
 * @out: set to the new view on success (free with mt_vm_free()).
 *
 * Mounts tracefs at /sys/kernel/tracing when it is not mounted. For each
 * source the first attach type that works is used; a fallback prints one
 * line naming it and its cost. Only the syscall probes are required.
 *
 * Return: 0, or -errno after printing one "memtrace: ..." line.
 */
int mt_vm_open(const struct mt_vm_opts *o, struct mt_vm **out);

/* Kernel memory of the view's BPF maps (probe/mt_bpf_util.h). */
uint64_t mt_vm_map_bytes(const struct mt_vm *vm, uint64_t *ring_bytes);

/* The ring buffer's epoll fd: poll() it for readability, then call
 * mt_vm_consume(). Wakeups are batched (a quarter of the ring), so poll
 * with a timeout too (the caller's interval tick is fine). */
int mt_vm_poll_fd(struct mt_vm *vm);

/* Drain every pending record without blocking. 0 or -errno (-ENOMEM when
 * the aggregator could not grow; the records are then lost). */
int mt_vm_consume(struct mt_vm *vm);

/* Symbolizer for mapping stacks and for telling allocator mappings from
 * others when computing heap resident bytes. Borrowed: must outlive vm. */
void mt_vm_set_sym(struct mt_vm *vm, struct mt_sym *sym);

/* Append a timeline point: RSS counters now, the page faults since the
 * previous point, the heap's live bytes and running totals (the timeline's
 * allocation rate) from heap. Called ~1/s and at each -i
 * report; consumes pending records first. now_ns: CLOCK_MONOTONIC. */
void mt_vm_sample(struct mt_vm *vm, uint64_t now_ns, const struct mt_counts *heap);

/**
 * mt_vm_finish() - the final snapshot, while the target is still alive:
 * drains records, reads /proc/PID/status and /proc/PID/smaps, computes
 * heap resident bytes and efficiency, appends a last timeline point.
 * @heap: the heap tracer's totals, or NULL (--no-heap): the heap-derived
 *        figures are then reported as null.
 * Return: 0, or -errno (-ESRCH: the target was gone; the traced figures
 * are kept and the /proc ones are missing).
 */
int mt_vm_finish(struct mt_vm *vm, uint64_t now_ns, const struct mt_totals *heap);

/* Records lost kernel-side (ring buffer full), syscalls and faults. */
uint64_t mt_vm_lost(const struct mt_vm *vm);

/* Writes the value of "memory" (an object; the caller writes the key).
 * vm is a struct mt_vm *. Returns j->err. */
int mt_vm_write_json(struct mt_json *j, void *vm);

/* The text report section, under 80 columns. 0 or -errno on write error. */
int mt_vm_write_text(FILE *f, void *vm);

/* Metrics for --listen (page faults, mappings, mmap'd bytes), rendered in
 * the consumer's thread; vm is a struct mt_vm *. Returns p->err.
 * mt_vm_lost_arg is mt_vm_lost for a void pointer. */
int mt_vm_write_metrics(struct mt_prom *p, void *vm);
uint64_t mt_vm_lost_arg(const void *vm);

/* Detaches everything and frees vm; accepts NULL. */
void mt_vm_free(struct mt_vm *vm);

#endif /* MT_VM_H */
