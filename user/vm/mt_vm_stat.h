/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The memory-view aggregator: plain C, no BPF, fed with the records of
 * bpf/vm.bpf.c in ring-buffer order. It keeps
 *   - origins: who created memory. A traced origin is one (kind, user stack)
 *     of mmap/mremap/brk calls; a pre-existing origin is one /proc/PID/maps
 *     name for mappings that existed before attach; one "unknown" origin
 *     takes faults and releases at addresses nothing explains;
 *   - records: one per mapping as created (an mmap, a brk growth, a
 *     pre-existing mapping), with its own fault and release counts;
 *   - the address space (mt_vm_map) linking addresses to records;
 *   - totals and the timeline.
 * Definitions (what each count means) are in docs/memory-stats.md.
 * Not thread-safe: one consumer feeds it.
 */
#ifndef MT_VM_STAT_H
#define MT_VM_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "vm.h"
#include "vm/mt_vm_map.h"

#define MT_VM_PAGE 4096ULL
#define MT_VM_MAX_FRAMES MT_STACK_MAX   /* --max-depth's upper bound */
#define MT_VM_TOP_DEAD 16       /* removed mappings kept for "top mappings" */

enum mt_vm_origin_kind {
	MT_VM_O_MMAP = 0,   /* traced mmap (and mremap of an unknown range) */
	MT_VM_O_BRK,        /* traced brk growth */
	MT_VM_O_PRE,        /* mapped before attach, or by the kernel */
	MT_VM_O_UNKNOWN,    /* addresses no mapping explains */
};

enum mt_vm_alloc_class {
	MT_VM_A_UNKNOWN = 0, /* stack not symbolized: counted as heap */
	MT_VM_A_ALLOCATOR,   /* an allocator function is on the stack */
	MT_VM_A_OTHER,       /* symbolized, no allocator function */
};

struct mt_vm_counts {
	uint64_t mmaps;          /* creating calls: mmap, brk growth */
	uint64_t mremaps;
	uint64_t munmaps;        /* removing calls that took bytes from it */
	uint64_t bytes_mapped;   /* mmap length + mremap growth (+ brk growth) */
	uint64_t bytes_unmapped; /* munmap, mremap shrink, brk shrink */
	uint64_t bytes_released; /* madvise DONTNEED/FREE/REMOVE ranges */
	uint64_t page_faults;    /* all faults, user and kernel mode */
	uint64_t bytes_faulted;  /* not-present faults x page size */
};

struct mt_vm_origin {
	enum mt_vm_origin_kind kind;
	enum mt_vm_alloc_class alloc;  /* set by the owner once symbolized */
	char *name;                    /* pre-existing: maps name; else NULL */
	uint32_t nframes;
	uint32_t end;                  /* how the walk ended (enum mt_stack_end) */
	uint64_t frames[MT_VM_MAX_FRAMES];   /* innermost first */
	struct mt_vm_counts c;
	uint64_t hash;
	uint32_t next;                 /* hash chain */
	uint64_t last_call;            /* call serial, so a call counts once */
};

struct mt_vm_rec {
	uint64_t start, end;           /* extent as last created or moved */
	uint64_t ts_ns;                /* creation (0 for pre-existing) */
	uint64_t live_bytes;           /* bytes still mapped */
	uint64_t page_faults, bytes_faulted, bytes_released;
	uint32_t origin;
	uint32_t prot;
	uint32_t next_free;
	bool alive;
};

struct mt_vm_point {
	uint64_t t_ns;                 /* since start */
	uint64_t rss[MT_VM_RSS_N];     /* bytes, see MT_VM_RSS_* */
	uint64_t live_bytes;           /* heap live bytes (requested) */
	uint64_t allocs, alloc_bytes, frees;  /* heap totals so far (mt_vm.c sets them) */
	uint64_t page_faults;          /* in the interval ending here */
	uint64_t brk_bytes;            /* traced brk growth minus shrink so far */
	uint64_t mapped_bytes;         /* traced mmap bytes still mapped */
};

struct mt_vm_totals {
	uint64_t mmaps, munmaps, mremaps, brks, madvises;
	uint64_t mapped_bytes;         /* mmap length + mremap growth */
	uint64_t unmapped_bytes;       /* munmap + mremap shrink (known ranges) */
	uint64_t released_bytes;       /* madvise releasing ranges */
	uint64_t brk_growth_bytes, brk_shrink_bytes;
	uint64_t page_faults, faults_not_present, faults_kernel, faults_unknown;
};

struct mt_vm_stat {
	uint64_t start_ns;
	struct mt_vm_map map;
	struct mt_vm_origin *origins;
	uint32_t norigins, origins_cap;
	uint32_t *buckets;             /* MT_VM_BUCKETS heads, UINT32_MAX empty */
	struct mt_vm_rec *recs;
	uint32_t nrecs, recs_cap, free_rec;
	struct mt_vm_rec dead[MT_VM_TOP_DEAD];   /* largest bytes_faulted first */
	uint32_t ndead;
	struct mt_vm_point *timeline;
	size_t npoints, points_cap;
	uint64_t faults_at_last_point;
	uint64_t call_serial;
	uint32_t unknown;              /* the unknown origin */
	struct mt_vm_totals t;
};

int mt_vm_stat_init(struct mt_vm_stat *s, uint64_t start_ns);
void mt_vm_stat_release(struct mt_vm_stat *s);

/* Intern the origin of a traced call (MT_VM_O_MMAP/BRK, its frames and how
 * their walk ended: a cut stack is another origin than a whole one) or of
 * a pre-existing name. Returns the index or -ENOMEM. */
int64_t mt_vm_stat_origin(struct mt_vm_stat *s, enum mt_vm_origin_kind kind,
			  const uint64_t *frames, uint32_t nframes, uint32_t end);
int64_t mt_vm_stat_pre_origin(struct mt_vm_stat *s, const char *name);

/* A mapping found in /proc/PID/maps. Ranges already known are kept (the
 * traced view wins); only the gaps are added. 0 or -ENOMEM. */
int mt_vm_stat_add_pre(struct mt_vm_stat *s, uint64_t start, uint64_t end,
		       uint32_t prot, const char *name);

/* One syscall record; origin is the interned origin of its stack (used by
 * mmap, brk growth, and mremap of a range not known). 0 or -ENOMEM. */
int mt_vm_stat_call(struct mt_vm_stat *s, const struct mt_vm_call *ev, uint32_t origin);

/* One fault. Returns 1 when attributed; 0 when no mapping holds addr and
 * !force (nothing counted, the caller may refresh the maps and retry); with
 * force an unexplained fault goes to the unknown origin. */
int mt_vm_stat_fault(struct mt_vm_stat *s, uint64_t addr, uint32_t error_code, bool force);

/* Append a timeline point at now_ns (absolute, same clock as start_ns). */
int mt_vm_stat_sample(struct mt_vm_stat *s, uint64_t now_ns, const uint64_t rss[MT_VM_RSS_N],
		      uint64_t live_bytes);

/* Traced mmap bytes still mapped, summed over mmap origins. */
uint64_t mt_vm_stat_mapped_now(const struct mt_vm_stat *s);

/* Records ordered for "top mappings": the live ones and the kept dead ones,
 * largest bytes_faulted first. *out is malloc'd; returns the count or -ENOMEM. */
int mt_vm_stat_top_recs(const struct mt_vm_stat *s, size_t max, struct mt_vm_rec **out);

/* Origin indexes with any activity, largest bytes_faulted then bytes_mapped
 * first. *out is malloc'd; returns the count or -ENOMEM. */
int mt_vm_stat_sorted_origins(const struct mt_vm_stat *s, uint32_t **out);

#endif /* MT_VM_STAT_H */
