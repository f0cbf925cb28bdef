/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the memory view shared by its files: mt_vm_load.c (loader),
 * mt_vm_read.c (BPF reader), mt_vm.c (lifecycle, snapshots) and
 * mt_vm_report.c (text and JSON). Nothing outside vm/ includes it.
 */
#ifndef MT_VM_INT_H
#define MT_VM_INT_H

#include "target/mt_proc.h"
#include "vm/mt_vm.h"
#include "vm/mt_vm_stat.h"

#define MT_VM_MAX_LINKS 160   /* two per object with syscall sites */
#define MT_VM_RING_BYTES (1u << 20)

struct vm_bpf;
struct ring_buffer;
struct bpf_link;

struct mt_vm {
	struct mt_vm_opts o;
	struct vm_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MT_VM_MAX_LINKS];
	int nlinks;
	struct mt_sym *sym;
	struct mt_vm_stat st;
	/* the unwind tables the walker reads: o.uw/o.uw_sink, or the view's own */
	struct mt_unwind *uw;
	const struct mt_unwind_sink *sink;
	struct mt_unwind *uw_own;
	struct mt_unwind_sink sink_own;
	bool exec_mapped;                 /* a new executable file mapping in this drain */
	/* the per-thread page-fault events (mt_vm_perf.c) */
	struct bpf_link **perf_links;
	int nperf, perf_cap;
	/* attach type used per source, NULL when none */
	const char *att_sys, *att_fault, *att_kfault, *att_rss;
	struct {
		unsigned sites, objects;  /* syscall-site uprobes, objects with some */
		unsigned dynamic;         /* syscall instructions with a run-time number */
	} sites;
	bool refreshed;                   /* maps re-read during this consume */
	int err;                          /* first reader error, reported once */
	struct mt_proc_status status_open;  /* seeds RSS counters not yet traced */
	/* final snapshot */
	bool finished, have_status, have_heap_res, heap_known;
	uint64_t final_ns;
	struct mt_proc_status status_final;
	struct mt_proc_heap_res heap_res;
	uint64_t rss_final[MT_VM_RSS_N];
	uint64_t rss_peak;
	uint64_t rss_peak_sampled;        /* max RSS seen by mt_vm_rss_now() */
	uint64_t heap_live_bytes, heap_objects;
};

/* mt_vm_load.c: open, load and attach every source (0 or -errno, after one
 * line); unload detaches and destroys the skeleton (safe when not loaded). */
int mt_vm_load(struct mt_vm *vm);
void mt_vm_unload(struct mt_vm *vm);

/* mt_vm_sites.c: uprobes on the target's own memory syscall sites, the
 * per-target syscall source. 0, or -errno (-ENOENT: no mmap or no munmap
 * site found; -ESRCH: the process is gone or exiting) with nothing
 * attached and nothing printed. */
int mt_vm_attach_sites(struct mt_vm *vm);

/* mt_vm_perf.c: the per-target fault source, a PERF_COUNT_SW_PAGE_FAULTS
 * event per thread of the target running mt_vm_fault_perf. 0, or -errno
 * with nothing attached and nothing printed; detach accepts none. */
int mt_vm_attach_perf(struct mt_vm *vm);
void mt_vm_detach_perf(struct mt_vm *vm);

/* mt_vm_read.c: the ring-buffer reader (0 or -errno after one line; close
 * accepts a never-opened reader), switching the BPF side on, seeding the
 * interval map from /proc/PID/maps, and the kernel's RSS peak. */
int mt_vm_reader_open(struct mt_vm *vm);
void mt_vm_reader_close(struct mt_vm *vm);
void mt_vm_enable(struct mt_vm *vm);
int mt_vm_seed_maps(struct mt_vm *vm);
uint64_t mt_vm_rss_peak(const struct mt_vm *vm);

/* Current RSS counters in bytes: traced values, /proc for the rest. */
void mt_vm_rss_now(struct mt_vm *vm, uint64_t rss[MT_VM_RSS_N]);

/* Kernel-side counters summed over CPUs (enum mt_vm_counter). */
void mt_vm_counters(const struct mt_vm *vm, uint64_t out[MT_VM_C_COUNT]);

/* Whether a symbolized function name belongs to an allocator. */
bool mt_vm_alloc_func(const char *name);

#endif /* MT_VM_INT_H */
