/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pool advice: from a site's sizes, lifetimes, rates and peak live count,
 * whether a libmtpool component fits, with the allocator calls per second
 * it would save and the reason in one line. Rules, first match wins:
 *
 *   fix the leak the report's leak candidates of the site (never freed) are
 *                at least half its peak live count: a pool would be sized
 *                to the leak and hold it (pool none, leak set); a smaller
 *                leak is left out of a pool's capacity;
 *   none         fewer than MT_ADVICE_MIN_RATE allocations/s (malloc's cost
 *                is noise there), fewer than half its blocks freed, a
 *                median lifetime over 10 s (long-lived), or mostly blocks
 *                over 32 KiB (the allocator maps them itself);
 *   buffer_pool  >= 25% of its allocations are reallocs of a live block,
 *                all sizes 1..64 KiB: growing byte buffers, reuse them;
 *   object_pool  one exact size class: a fixed-size pool with capacity =
 *                the peak live count, object_size = the largest request;
 *   size_class   several sizes, all <= 32 KiB.
 *
 * calls_saved_per_s is (allocs + frees) / s of the site: a pool hit avoids
 * both calls (for size_class, only the share of requests <= 32 KiB).
 * Sites judged: the top N by allocator calls, and the top N by live bytes
 * (so long-lived memory gets its "none" with the reason).
 */
#ifndef MT_ADVICE_H
#define MT_ADVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MT_ADVICE_MIN_RATE 5000.0   /* allocations per second */
#define MT_ADVICE_LONG_NS 10000000000ull

struct mt_agg;
struct mt_json;
struct mt_lifetime;
struct mt_lt_stats;
struct mt_report;
struct mt_sc_stats;
struct mt_sizeclass;
struct mt_sym;

enum mt_pool_kind { MT_POOL_NONE, MT_POOL_OBJECT, MT_POOL_SIZE_CLASS, MT_POOL_BUFFER };

struct mt_advice {
	uint32_t site;
	enum mt_pool_kind pool;
	uint64_t capacity;          /* objects; 0 for none */
	uint64_t object_size;       /* bytes; 0 when not one size */
	double calls_saved_per_s;
	uint64_t leaked;            /* the site's leak candidates (objects) */
	bool leak;                  /* the advice is to fix the leak */
	char reason[160];
};

/* What one site's judgement needs: pure data, so tests feed it directly. */
struct mt_advice_in {
	uint64_t allocs, frees;
	double seconds;
	const struct mt_lt_stats *lt;   /* may be NULL: no lifetime rules */
	const struct mt_sc_stats *sc;   /* may be NULL: no size rules */
	uint64_t leaked;                /* objects the report calls leaked */
};

const char *mt_pool_kind_name(enum mt_pool_kind k); /* "object_pool", ..., "none" */
void mt_advice_judge(const struct mt_advice_in *in, struct mt_advice *out);

/* Advice for the sites described above, pools first by calls saved, then
 * none by calls. leaked: the report's leaked objects by site id (nleaked
 * entries; NULL: none known). *out malloc'd (caller frees); returns the
 * count or -ENOMEM. */
int mt_advice_build(const struct mt_agg *a, const struct mt_lifetime *lt,
		    const struct mt_sizeclass *sc, double seconds, unsigned top,
		    const uint64_t *leaked, size_t nleaked, struct mt_advice **out);

/* Report section "advice": the JSON array and the text lines. arg is a
 * struct mt_advice_set. */
struct mt_advice_set {
	const struct mt_advice *v;
	size_t n;
	const struct mt_agg *agg;
	struct mt_sym *sym;
};
int mt_advice_write_json(struct mt_json *j, void *arg);
int mt_advice_write_text(FILE *f, const struct mt_report *r, bool final, void *arg);

#endif /* MT_ADVICE_H */
