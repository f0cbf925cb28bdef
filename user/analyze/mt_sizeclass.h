/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Size classes of allocation requests, overall and per site, as an
 * aggregator observer (it never changes the aggregator).
 *
 * Two views of one request size:
 *   - coarse: tiny (< 16 B), small (16 B .. 32 KiB: libmtpool's size
 *     classes serve these), large (> 32 KiB: libmtpool maps them directly);
 *   - exact: libmtpool's size classes (pool/include/mtpool.h,
 *     mtpool_sc_class_size): 8 B steps up to 128 B, then 8 classes per power
 *     of two up to 32 KiB, 80 classes; larger requests form one "large"
 *     class. memtrace does not link libmtpool, so the formula is repeated
 *     here (tests/unit/test_sizeclass_pool.c checks that the two agree at
 *     every size); a request that fits
 *     class N is what mtpool_sc would serve from class N.
 *
 * Cost: one table lookup and three increments per allocation; 8 bytes per
 * class per site (~700 bytes per site), grown when a new site appears.
 */
#ifndef MT_SIZECLASS_H
#define MT_SIZECLASS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MT_SC_NCLASSES 80        /* exact classes up to MT_SC_MAX */
#define MT_SC_LARGE MT_SC_NCLASSES /* index of the "large" class */
#define MT_SC_MAX 32768u
#define MT_SC_TINY_MAX 15u       /* tiny: < 16 B */

enum mt_sc_coarse { MT_SC_TINY, MT_SC_SMALL, MT_SC_BIG, MT_SC_NCOARSE };

struct mt_agg;
struct mt_json;
struct mt_sizeclass;

struct mt_sc_stats {
	uint64_t exact[MT_SC_NCLASSES + 1]; /* allocations per exact class + large */
	uint64_t coarse[MT_SC_NCOARSE];
	uint64_t allocs;
	uint64_t min_size, max_size;        /* 0, 0 before the first allocation */
};

/* Class index of a request (0 .. MT_SC_LARGE); size 0 is class 0. */
unsigned mt_sc_class(uint64_t size);
/* Upper bound of class c (its block size); 0 for MT_SC_LARGE. */
uint32_t mt_sc_class_size(unsigned c);
enum mt_sc_coarse mt_sc_coarse_of(uint64_t size);
const char *mt_sc_coarse_name(enum mt_sc_coarse c);  /* "tiny", "small", "large" */

/* Subscribes to a (which must outlive it). NULL with errno on failure. */
struct mt_sizeclass *mt_sizeclass_new(struct mt_agg *a);
void mt_sizeclass_free(struct mt_sizeclass *sc);      /* accepts NULL */

/* Stats of one site, or of every allocation with site == MT_SITE_NONE.
 * NULL for a site that never allocated while observed. */
const struct mt_sc_stats *mt_sizeclass_get(const struct mt_sizeclass *sc, uint32_t site);
/* Number of exact classes s used. */
unsigned mt_sc_nclasses_used(const struct mt_sc_stats *s);

/* JSON value: {"tiny": n, "small": n, "large": n, "classes": [{"size": B,
 * "allocs": n}, ...]} (non-empty classes only; "size" null for large). */
void mt_sc_write_json(struct mt_json *j, const struct mt_sc_stats *s);

/* Report glue (arg: the struct mt_sizeclass): the "size_classes" section
 * (overall, as mt_sc_write_json), its text lines, and "size_classes" in
 * each site entry. */
struct mt_report;
int mt_sizeclass_write_json(struct mt_json *j, void *arg);
int mt_sizeclass_write_text(FILE *f, const struct mt_report *r, bool final, void *arg);
void mt_sizeclass_site_json(struct mt_json *j, uint32_t site, bool leak, void *arg);

#endif /* MT_SIZECLASS_H */
