/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the memory view shared by mt_vm.c (loader, reader,
 * snapshots) and mt_vm_report.c (text and JSON). Nothing else includes it.
 */
#ifndef MT_VM_INT_H
#define MT_VM_INT_H

#include "mt_vm.h"
#include "mt_vm_proc.h"
#include "mt_vm_stat.h"

#define MT_VM_MAX_LINKS 16

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
	/* attach type used per source, NULL when none */
	const char *att_sys, *att_fault, *att_kfault, *att_rss;
	bool refreshed;                   /* maps re-read during this consume */
	int err;                          /* first reader error, reported once */
	struct mt_vm_status status_open;  /* seeds RSS counters not yet traced */
	/* final snapshot */
	bool finished, have_status, have_heap_res, heap_known;
	uint64_t final_ns;
	struct mt_vm_status status_final;
	struct mt_vm_heap_res heap_res;
	uint64_t rss_final[MT_VM_RSS_N];
	uint64_t rss_peak;
	uint64_t heap_live_bytes, heap_objects;
};

/* Current RSS counters in bytes: traced values, /proc for the rest. */
void mt_vm_rss_now(struct mt_vm *vm, uint64_t rss[MT_VM_RSS_N]);

/* Kernel-side counters summed over CPUs (enum mt_vm_counter). */
void mt_vm_counters(const struct mt_vm *vm, uint64_t out[MT_VM_C_COUNT]);

/* Whether a symbolized function name belongs to an allocator. */
bool mt_vm_alloc_func(const char *name);

#endif /* MT_VM_INT_H */
