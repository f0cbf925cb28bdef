/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Go allocation tracer's loader and reader: bpf/go_alloc.bpf.c loaded
 * for one process, its uprobe on runtime.mallocgc attached for that PID
 * only, and the per-(stack, type) counters read back.
 */
#ifndef MT_GO_ALLOC_H
#define MT_GO_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "go_alloc.h"

struct mt_go_alloc;

/* Load and attach at file offset off of path (the executable as the
 * target maps it), counting from mt_go_alloc_enable; with nrets RET
 * places (file offsets, every one of mallocgc's), survival samples too.
 * 0 or -errno (printed). */
int mt_go_alloc_open(int pid, const char *path, uint64_t off, const uint64_t *rets,
		     size_t nrets, struct mt_go_alloc **out);
/* Survival samples can be taken (RET places known). */
bool mt_go_alloc_sampling(const struct mt_go_alloc *a);
/* Attach (on) or remove the RET probes, sampling while they are on: a
 * RET probe is a second uprobe hit per mallocgc call, so they are on in
 * windows only. Nothing after mt_go_alloc_detach. 0 or -errno (printed). */
int mt_go_alloc_sample_window(struct mt_go_alloc *a, bool on);
/* Every sample written since the last call: fn(sample, arg) each. 0 or
 * -errno. */
int mt_go_alloc_samples(struct mt_go_alloc *a, int (*fn)(void *arg, void *data, size_t len),
			void *arg);
void mt_go_alloc_enable(struct mt_go_alloc *a);
/* The overhead budget's duty cycle (wired by the session): attach (on)
 * or remove the entry probe, and with it the RET probes of a survival
 * window (they wait while it is off: a RET hit is a trap too). Removal
 * is done by a thread, off the caller's path (each uprobe's unregister
 * waits for a grace period); mt_go_alloc_disarming is true until it is
 * done. 0 or -errno (printed). Nothing after mt_go_alloc_detach. */
int mt_go_alloc_arm(struct mt_go_alloc *a, bool on);
bool mt_go_alloc_disarming(const struct mt_go_alloc *a);
/* Probe hits so far: mallocgc calls seen plus RET probe hits (0 when the
 * counters cannot be read). */
uint64_t mt_go_alloc_hits(const struct mt_go_alloc *a);
/* Its programs' run time and runs (the kernel's BPF statistics, counted
 * while they are enabled). 0 or -errno. */
int mt_go_alloc_prog_stats(const struct mt_go_alloc *a, uint64_t *run_ns, uint64_t *runs);
/* Stop counting and remove the probe (the maps stay readable). */
void mt_go_alloc_detach(struct mt_go_alloc *a);
void mt_go_alloc_free(struct mt_go_alloc *a);   /* accepts NULL */
/* Kernel memory of its BPF maps (memlock), rings in *ring_bytes; accepts NULL. */
uint64_t mt_go_alloc_map_bytes(const struct mt_go_alloc *a, uint64_t *ring_bytes);

/* Every counted (stack, type): fn(key, value, arg) once each; then the
 * totals (enum mt_go_counter, summed over CPUs) into counters. 0 or -errno. */
int mt_go_alloc_read(struct mt_go_alloc *a,
		     void (*fn)(const struct mt_go_key *k, const struct mt_go_val *v, void *arg),
		     void *arg, uint64_t counters[MT_GO_NCOUNTERS]);

#endif /* MT_GO_ALLOC_H */
