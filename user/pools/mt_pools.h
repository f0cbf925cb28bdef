/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pools seen from inside (docs/pools.md): the pool libraries of the target
 * found by their USDT notes (libmtpool, provider "mtpool"; the table of
 * providers is mt_pools_prov.c), shared or linked into the executable.
 *
 * Default mode, no trap on a pool's fast path: the create probe gives each
 * pool's address and the library's layout record, and the counters the
 * pool keeps are read from the target's memory (process_vm_readv) each
 * second, at each report and at the end (refills and flushes included:
 * libmtpool counts them on its slow path); destroy gives the last
 * counters; debug-mode errors are records with their stacks. A provider
 * whose pools do not count the slow paths gets miss/refill/flush probes
 * counted in BPF instead. --pool-events also traces every
 * get (with its stack) and put: objects still checked out at the end are
 * pool leaks by get site. The library's inline fast path tests the get/put
 * semaphores, so it is off only then.
 *
 * At the end, the objects a pool holds idle are claimed from the heap's
 * live table (mt_agg_claim): they are the pool's memory, reported in the
 * "pools" section, not the program's live objects or leak candidates.
 *
 * Limitations: libraries loaded later by dlopen are not seen; pools
 * created before attach are unknown (their counters unread); stacks are
 * frame-pointer walks (bpf_get_stack); the timeline and the peak of
 * checked-out objects are sampled (1 s and each report), exact only with
 * --pool-events.
 */
#ifndef MT_POOLS_H
#define MT_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "collect/mt_agg.h"
#include "sym/mt_sym.h"
#include "util/mt_json.h"
#include "util/mt_prom.h"

struct mt_pools;

struct mt_pools_opts {
	pid_t pid;
	const char *const *files;  /* objects to look in: the executable, libraries */
	size_t nfiles;
	bool events;               /* --pool-events: every get/put, with stacks */
	bool existing;             /* attach mode: also the pools created before */
};

/**
 * mt_pools_open() - find the pool providers' USDT probes in o->files and
 * attach them for o->pid (their semaphores go on while attached).
 * Return: 0; -ENOENT when no file has a known provider's probes (nothing
 * to do, nothing printed); other -errno after one "memtrace: ..." line.
 */
int mt_pools_open(const struct mt_pools_opts *o, struct mt_pools **out);

/* Files to look in, read from /proc/PID/maps (attach mode): the
 * executable mappings' paths, malloc'd (free with mt_pools_free_files). */
int mt_pools_maps_files(pid_t pid, char ***files, size_t *n);
void mt_pools_free_files(char **files, size_t n);

/* The records' ring buffer fd, for poll(), and the drain. 0 or -errno. */
int mt_pools_poll_fd(struct mt_pools *p);
int mt_pools_consume(struct mt_pools *p);
/* Symbolizer of the event stacks (borrowed). */
void mt_pools_set_sym(struct mt_pools *p, struct mt_sym *sym);

/* A timeline point: every live pool's counters read from memory now. */
void mt_pools_sample(struct mt_pools *p, uint64_t now_ns);
/* The last read, with the idle objects' addresses, while the target still
 * exists (its exit stop, or after the detach in attach mode). */
void mt_pools_finish(struct mt_pools *p, uint64_t now_ns);
/* Detach the probes (the semaphores go off); records stay readable. */
void mt_pools_detach(struct mt_pools *p);
/* Hand the idle objects found by mt_pools_finish to the pools: out of
 * the heap's live table (mt_agg_claim). Call after the last heap drain
 * and before a reachability scan (so its split counts no idle object);
 * later calls do nothing. */
void mt_pools_claim(struct mt_pools *p, struct mt_agg *heap);

/* Records lost (ring buffer full) and slow-path counts lost (map full). */
uint64_t mt_pools_lost(const struct mt_pools *p);
uint64_t mt_pools_lost_arg(const void *p);
/* Kernel memory of the pool tracer's BPF maps (memlock), its rings in
 * *ring_bytes; 0 when not loaded. */
uint64_t mt_pools_map_bytes(const struct mt_pools *p, uint64_t *ring_bytes);

/* Report sections: "pools" (an array), "pool_errors" (an array). */
int mt_pools_write_json(struct mt_json *j, void *p);
int mt_pools_write_errors_json(struct mt_json *j, void *p);
int mt_pools_write_text(FILE *f, void *p);
/* Metrics for --listen (mtpool_* gauges and counters per pool). */
int mt_pools_write_metrics(struct mt_prom *pr, void *p);

void mt_pools_free(struct mt_pools *p);   /* detaches; accepts NULL */

#endif /* MT_POOLS_H */
