/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What /proc says about a process's memory: /proc/PID/status counters,
 * /proc/PID/maps entries, and the heap's resident bytes from
 * /proc/PID/smaps. Each call reads the file once; smaps costs the kernel a
 * page-table walk of the whole process (milliseconds per GB mapped), so it
 * is read once, at the final snapshot.
 */
#ifndef MT_PROC_H
#define MT_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "util/mt_maps.h"

struct mt_proc_status {          /* bytes */
	uint64_t vm_rss, rss_anon, rss_file, rss_shmem, vm_swap, vm_size;
	uint64_t vm_hwm;             /* peak RSS of this image (its mm) */
};

/* 0, or -errno (-ENOENT/-ESRCH when the process is gone). */
int mt_proc_status(pid_t pid, struct mt_proc_status *out);

/* The path the process was started as: execve's filename (AT_EXECFN), so
 * a program run through a symlink is named by the link, not its target.
 * Only an absolute path that still names the running executable is
 * returned (a relative one says nothing later; a moved or overwritten
 * one would mislead). 0, or -errno (-ENOENT: none such). */
int mt_proc_execfn(pid_t pid, char *buf, size_t size);

/* A process id field of /proc/PID/status ("Tgid", "PPid"); 0 when the
 * file or the field cannot be read. */
pid_t mt_proc_status_pid(pid_t pid, const char *field);

/* fn sees each mapping of /proc/PID/maps (util/mt_maps.h: prot as PROT_*
 * bits, name "" for anonymous). A non-zero return from fn stops the walk
 * and is returned; else 0 or -errno. */
int mt_proc_maps(pid_t pid, mt_maps_fn fn, void *arg);

/*
 * Heap resident bytes, from smaps Rss (see docs/memory-stats.md):
 *   [heap]                                    -> brk_heap
 *   anonymous, private, writable, and not a stack:
 *     is_other(range) true (traced to non-allocator code) -> anon_other
 *     else (arenas, large-chunk mmaps, pre-existing)      -> anon_heap
 *   [stack], and a writable anonymous mapping right after a small
 *   PROT_NONE anonymous one (a thread stack above its guard) -> stacks
 * heap resident = brk_heap + anon_heap.
 */
struct mt_proc_heap_res {
	uint64_t brk_heap, anon_heap, anon_other, stacks;
	uint64_t mappings_heap;        /* how many mappings were counted as heap */
};
typedef bool (*mt_proc_other_fn)(void *arg, uint64_t start, uint64_t end);
int mt_proc_heap(pid_t pid, mt_proc_other_fn is_other, void *arg, struct mt_proc_heap_res *out);

/* The same classification over smaps text already read (for unit tests). */
int mt_proc_heap_parse(FILE *f, mt_proc_other_fn is_other, void *arg,
			  struct mt_proc_heap_res *out);

#endif /* MT_PROC_H */
