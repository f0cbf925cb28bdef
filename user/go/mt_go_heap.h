/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A Go program's heap allocations as the report shows them: sites (one per
 * stack and type), named from Go's function table; per-type sums; rates
 * over the traced time; the share of allocated bytes (what drives the GC:
 * a cycle starts every GOGC% of live heap allocated) and advice.
 */
#ifndef MT_GO_HEAP_H
#define MT_GO_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_go_alloc;
struct mt_go_pcln;
struct mt_go_types;

struct mt_go_frame {
	uint64_t pc;               /* as walked (return addresses) */
	const char *func, *file;   /* from the function table, NULL if none */
	int line;                  /* 0 if unknown */
};

struct mt_go_site {
	uint64_t allocs, bytes;    /* mallocgc calls and their sizes (estimated
				    * when the heap's traced_fraction > 0) */
	uint64_t counted_allocs, counted_bytes;   /* as the probe counted them */
	uint64_t type_size;        /* the type's size, 0 when unnamed */
	char type[160];            /* as the program gets it: "*main.Session",
				    * "[]uint8"; "" when untyped or unknown */
	const char *via;           /* the runtime function that called mallocgc */
	uint32_t attr;             /* frames[attr]: the first outside the runtime */
	uint32_t nframes;
	uint8_t end;               /* enum mt_go_end */
	struct mt_go_frame *frames;
	const char *advice;        /* NULL, or one line (static) */
	/* GC survival (mt_go_surv.h): sampled objects decided, and those
	 * still marked after their first GC; surv false when none decided */
	bool surv;
	uint64_t surv_sampled, surv_survived;
};

struct mt_go_type_sum {
	char type[160];
	uint64_t allocs, bytes;
	uint64_t counted_allocs;
	uint64_t surv_sampled, surv_survived;   /* its sites' (0 sampled: none) */
};

struct mt_go_heap {
	uint64_t calls, bytes;     /* every mallocgc call (exact, or estimated) */
	uint64_t unsited;          /* calls not counted per site (the map was full) */
	/* The overhead budget armed the probe traced_fraction of the time
	 * (0: every call seen, exact): calls, bytes and every site's and
	 * type's figures are the counted ones over it, estimates; the
	 * counted_ ones are what the probe saw. */
	double traced_fraction;
	uint64_t counted_calls, counted_bytes;
	double duration_s;         /* traced time, for the rates */
	size_t nsites;
	struct mt_go_site *sites;  /* most bytes first */
	size_t ntypes;
	struct mt_go_type_sum *types;  /* most bytes first; "" = untyped */
	bool surv;                 /* survival estimated (sv given to the build) */
	uint64_t sample_drops;     /* samples lost in the probe's ring buffer */
};

/* Read the tracer's counters and build h: frames named by p (link-time
 * PCs: bias is subtracted first), types by t (may be NULL), survival by
 * sv (may be NULL); with traced_fraction in (0, 1) the counts are scaled
 * to estimates (0: exact). 0 or -errno. */
struct mt_go_surv;
int mt_go_heap_build(struct mt_go_heap *h, struct mt_go_alloc *a, const struct mt_go_pcln *p,
		     const struct mt_go_types *t, const struct mt_go_surv *sv, uint64_t bias,
		     double duration_s, double traced_fraction);
/* The share of a site's (or type's) sampled objects that died before
 * their first GC; < 0 when none was sampled. */
double mt_go_short_lived(uint64_t sampled, uint64_t survived);
void mt_go_heap_release(struct mt_go_heap *h);

/* The site's frame function is the runtime's (skipped for attribution). */
bool mt_go_runtime_func(const char *func);

#endif /* MT_GO_HEAP_H */
