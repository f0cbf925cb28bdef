/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Object lifetimes and temporary allocations, overall and per site, as an
 * aggregator observer (it never changes the aggregator).
 *
 * Lifetime histogram: log2 buckets of nanoseconds; bucket 0 is < 1.02 us
 * (2^10 ns), bucket k (1..27) is [2^(9+k), 2^(10+k)) ns, the last is
 * >= 137 s (2^37 ns). Exact when the block is freed on the thread that
 * allocated it within its next MT_LT_RING allocations (a per-thread ring of
 * exact allocation times); otherwise taken from the aggregator's allocation
 * time, which has 1 ms resolution, as the expected value (+0.5 ms).
 *
 * Temporary (heaptrack's definition): a free of the block that was its
 * thread's most recent allocation, with no other allocation on that thread
 * in between. A realloc (its release and allocation carry one timestamp and
 * one thread) is not a temporary; it is counted in reallocs of the new
 * block's site, the signal of growing buffers.
 *
 * Cost per event: a tid lookup (open addressing), a scan of up to 64 slots on a
 * free (newest first: most frees hit early), a few increments. Memory:
 * ~270 bytes per site, ~1 KiB per thread
 * seen (the thread map is dropped and restarted past 65536 threads).
 */
#ifndef MT_LIFETIME_H
#define MT_LIFETIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MT_LT_NBUCKETS 29
#define MT_LT_RING 64

struct mt_agg;
struct mt_json;
struct mt_lifetime;

struct mt_lt_stats {
	uint64_t hist[MT_LT_NBUCKETS]; /* freed objects by lifetime */
	uint64_t freed;                /* sum of hist */
	uint64_t exact;                /* of freed: lifetime measured exactly */
	uint64_t temporaries;
	uint64_t reallocs;             /* allocations made by a realloc of a live block */
	uint64_t peak_live_objects;    /* most live objects at once while observed */
	double lifetime_sum_s;         /* for the mean */
};

/* Bucket of a lifetime, and the lower bound of bucket b in ns. */
unsigned mt_lt_bucket(uint64_t ns);
uint64_t mt_lt_bucket_lo(unsigned b);
/* Lifetime at quantile q (0..1) of s's freed objects: the upper bound of
 * the bucket holding it (ns; UINT64_MAX for the last); 0 when none freed. */
uint64_t mt_lt_quantile(const struct mt_lt_stats *s, double q);

/* Subscribes to a (which must outlive it). NULL with errno on failure. */
struct mt_lifetime *mt_lifetime_new(struct mt_agg *a);
void mt_lifetime_free(struct mt_lifetime *lt);     /* accepts NULL */

/* Stats of one site, or overall for MT_SITE_NONE. NULL for a site never
 * seen. */
const struct mt_lt_stats *mt_lifetime_get(const struct mt_lifetime *lt, uint32_t site);

/* JSON value: {"freed": n, "exact": n, "temporaries": n, "reallocs": n,
 * "peak_live_objects": n, "mean_s": x, "p50_s": x, "p90_s": x,
 * "hist": [{"lo_ns": n, "count": n}, ...]} with non-empty buckets only. */
void mt_lt_write_json(struct mt_json *j, const struct mt_lt_stats *s);
/* "<1us", "16ms", ">=137s": short label of bucket b's lower bound. */
const char *mt_lt_label(char *buf, unsigned n, uint64_t ns);

/* Report glue (arg: the struct mt_lifetime). "lifetimes" section: the
 * overall stats as mt_lt_write_json; text: a histogram line per bucket
 * group. Per site entry: "lifetime": {...} and "temporaries": n. */
struct mt_report;
int mt_lifetime_write_json(struct mt_json *j, void *arg);
int mt_lifetime_write_text(FILE *f, const struct mt_report *r, bool final, void *arg);
void mt_lifetime_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg);

#endif /* MT_LIFETIME_H */
