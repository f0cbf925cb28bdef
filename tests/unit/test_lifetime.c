// SPDX-License-Identifier: BSD-2-Clause
/* Lifetimes, temporaries and size classes, fed synthetic event sequences
 * through the aggregator's observer interface. */
#include <stdlib.h>
#include "collect/mt_agg.h"
#include "analyze/mt_lifetime.h"
#include "analyze/mt_sizeclass.h"
#include "mt_test.h"

#define T0 1000000000ull

static uint32_t mksite(struct mt_agg *a, uint64_t pc)
{
	return mt_agg_site(a, &pc, 1);
}

static void test_class_edges(void)
{
	/* libmtpool's classes: 8 B steps to 128, then 8 per power of two. */
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(0)), 8);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(1)), 8);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(8)), 8);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(9)), 16);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(128)), 128);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(129)), 144);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(1024)), 1024);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(1025)), 1152);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(32767)), 32768);
	MT_CHECK_EQ_U64(mt_sc_class_size(mt_sc_class(32768)), 32768);
	MT_CHECK_EQ_U64(mt_sc_class(32769), MT_SC_LARGE);
	MT_CHECK_EQ_U64(mt_sc_class(32768), MT_SC_NCLASSES - 1);
	/* Every size up to 32 KiB fits its class and not the one below. */
	for (uint64_t sz = 1; sz <= MT_SC_MAX; sz++) {
		unsigned c = mt_sc_class(sz);

		MT_CHECK(mt_sc_class_size(c) >= sz);
		MT_CHECK(c == 0 || mt_sc_class_size(c - 1) < sz);
	}
	MT_CHECK_EQ_U64(mt_sc_coarse_of(15), MT_SC_TINY);
	MT_CHECK_EQ_U64(mt_sc_coarse_of(16), MT_SC_SMALL);
	MT_CHECK_EQ_U64(mt_sc_coarse_of(32768), MT_SC_SMALL);
	MT_CHECK_EQ_U64(mt_sc_coarse_of(32769), MT_SC_BIG);
}

static void test_size_stats(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_sizeclass *sc = mt_sizeclass_new(a);
	uint32_t s0 = mksite(a, 0x100), s1 = mksite(a, 0x200);
	const struct mt_sc_stats *st;

	MT_CHECK(sc);
	mt_agg_alloc(a, T0 + 1, 0x1000, 64, s0);
	mt_agg_alloc(a, T0 + 2, 0x1010, 64, s0);
	mt_agg_alloc(a, T0 + 3, 0x1020, 100, s0);
	mt_agg_alloc(a, T0 + 4, 0x1030, 7, s1);
	mt_agg_alloc(a, T0 + 5, 0x1040, 40000, s1);
	st = mt_sizeclass_get(sc, s0);
	MT_CHECK(st);
	MT_CHECK_EQ_U64(st->allocs, 3);
	MT_CHECK_EQ_U64(st->min_size, 64);
	MT_CHECK_EQ_U64(st->max_size, 100);
	MT_CHECK_EQ_U64(mt_sc_nclasses_used(st), 2);
	MT_CHECK_EQ_U64(st->exact[mt_sc_class(64)], 2);
	MT_CHECK_EQ_U64(st->exact[mt_sc_class(104)], 1);
	st = mt_sizeclass_get(sc, s1);
	MT_CHECK_EQ_U64(st->coarse[MT_SC_TINY], 1);
	MT_CHECK_EQ_U64(st->coarse[MT_SC_BIG], 1);
	MT_CHECK_EQ_U64(st->exact[MT_SC_LARGE], 1);
	st = mt_sizeclass_get(sc, MT_SITE_NONE);
	MT_CHECK_EQ_U64(st->allocs, 5);
	MT_CHECK_EQ_U64(st->coarse[MT_SC_SMALL], 3);
	mt_sizeclass_free(sc);
	mt_agg_free(a);
}

static void test_buckets(void)
{
	MT_CHECK_EQ_U64(mt_lt_bucket(0), 0);
	MT_CHECK_EQ_U64(mt_lt_bucket(1023), 0);
	MT_CHECK_EQ_U64(mt_lt_bucket(1024), 1);
	MT_CHECK_EQ_U64(mt_lt_bucket(5000), 3);       /* [4096, 8192) */
	MT_CHECK_EQ_U64(mt_lt_bucket_lo(3), 4096);
	MT_CHECK_EQ_U64(mt_lt_bucket(1ull << 37), MT_LT_NBUCKETS - 1);
	MT_CHECK_EQ_U64(mt_lt_bucket(UINT64_MAX), MT_LT_NBUCKETS - 1);
	for (unsigned b = 1; b < MT_LT_NBUCKETS; b++) {
		MT_CHECK_EQ_U64(mt_lt_bucket(mt_lt_bucket_lo(b)), b);
		MT_CHECK_EQ_U64(mt_lt_bucket(mt_lt_bucket_lo(b) - 1), b - 1);
	}
}

/* Exact lifetimes from the per-thread ring; a block freed after more than
 * MT_LT_RING other allocations falls back to the 1 ms clock. */
static void test_lifetimes(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_lifetime *lt = mt_lifetime_new(a);
	uint32_t s0 = mksite(a, 0x100), s1 = mksite(a, 0x200);
	const struct mt_lt_stats *st;
	uint64_t t = T0 + 100;

	MT_CHECK(lt);
	mt_agg_set_tid(a, 7);
	mt_agg_alloc(a, t, 0x1000, 64, s0);
	mt_agg_release(a, t + 5000, 0x1000);
	st = mt_lifetime_get(lt, s0);
	MT_CHECK_EQ_U64(st->freed, 1);
	MT_CHECK_EQ_U64(st->exact, 1);
	MT_CHECK_EQ_U64(st->hist[3], 1);
	MT_CHECK_EQ_U64(mt_lt_quantile(st, 0.5), 8192);

	/* 0x2000 then MT_LT_RING + 7 more allocations: out of the ring. */
	mt_agg_alloc(a, t + 10000, 0x2000, 32, s1);
	for (uint64_t i = 0; i < MT_LT_RING + 7; i++)
		mt_agg_alloc(a, t + 20000 + i, 0x10000 + i * 16, 16, s0);
	mt_agg_release(a, t + 10000 + 2500000000ull, 0x2000);
	st = mt_lifetime_get(lt, s1);
	MT_CHECK_EQ_U64(st->freed, 1);
	MT_CHECK_EQ_U64(st->exact, 0);
	MT_CHECK_EQ_U64(st->hist[mt_lt_bucket(2500000000ull)], 1);
	MT_CHECK(st->lifetime_sum_s > 2.4989 && st->lifetime_sum_s < 2.5011);
	/* Peak live objects of s0: all of them at once. */
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s0)->peak_live_objects, MT_LT_RING + 7);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, MT_SITE_NONE)->peak_live_objects, MT_LT_RING + 8);
	mt_lifetime_free(lt);
	mt_agg_free(a);
}

/* heaptrack's temporaries: freed with no allocation in between on that
 * thread; other threads' allocations do not count; reallocs are not. */
static void test_temporaries(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_lifetime *lt = mt_lifetime_new(a);
	uint32_t s0 = mksite(a, 0x100), s1 = mksite(a, 0x200);
	const struct mt_lt_stats *all;
	uint64_t t = T0 + 1000;

	mt_agg_set_tid(a, 1);
	mt_agg_alloc(a, t++, 0xa0, 10, s0);      /* A */
	mt_agg_alloc(a, t++, 0xb0, 10, s0);      /* B */
	mt_agg_release(a, t++, 0xa0);            /* A: B came between */
	mt_agg_release(a, t++, 0xb0);            /* B: temporary */
	mt_agg_alloc(a, t++, 0xc0, 10, s1);      /* C on thread 1 */
	mt_agg_set_tid(a, 2);
	mt_agg_alloc(a, t++, 0xd0, 10, s1);      /* D on thread 2 */
	mt_agg_set_tid(a, 1);
	mt_agg_release(a, t++, 0xc0);            /* C: temporary on thread 1 */
	mt_agg_set_tid(a, 2);
	mt_agg_release(a, t++, 0xd0);            /* D: temporary on thread 2 */
	all = mt_lifetime_get(lt, MT_SITE_NONE);
	MT_CHECK_EQ_U64(all->temporaries, 3);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s0)->temporaries, 1);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s1)->temporaries, 2);
	MT_CHECK_EQ_U64(all->freed, 4);
	/* A double-free-like untracked release changes nothing. */
	mt_agg_release(a, t++, 0xd0);
	MT_CHECK_EQ_U64(all->freed, 4);

	/* realloc: release and allocation with one timestamp on one thread. */
	mt_agg_alloc(a, t++, 0xe0, 1000, s0);
	mt_agg_release(a, t, 0xe0);
	mt_agg_alloc(a, t++, 0xf0, 2000, s1);
	MT_CHECK_EQ_U64(all->temporaries, 3);
	MT_CHECK_EQ_U64(all->reallocs, 1);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s1)->reallocs, 1);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s0)->temporaries, 1);
	/* The realloc'd block is the newest: freeing it is a temporary. */
	mt_agg_release(a, t++, 0xf0);
	MT_CHECK_EQ_U64(all->temporaries, 4);
	mt_lifetime_free(lt);
	mt_agg_free(a);
}

/* Many threads: the thread map grows and keeps each thread's record. */
static void test_many_threads(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_lifetime *lt = mt_lifetime_new(a);
	uint32_t s0 = mksite(a, 0x100);
	uint64_t t = T0 + 1000;

	for (uint32_t tid = 1; tid <= 1009; tid++) {
		mt_agg_set_tid(a, tid);
		mt_agg_alloc(a, t++, 0x100000 + tid * 16, 24, s0);
	}
	for (uint32_t tid = 1009; tid >= 1; tid--) {
		mt_agg_set_tid(a, tid);
		mt_agg_release(a, t++, 0x100000 + tid * 16);
	}
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s0)->temporaries, 1009);
	MT_CHECK_EQ_U64(mt_lifetime_get(lt, s0)->exact, 1009);
	mt_lifetime_free(lt);
	mt_agg_free(a);
}

int main(void)
{
	MT_RUN(test_class_edges);
	MT_RUN(test_size_stats);
	MT_RUN(test_buckets);
	MT_RUN(test_lifetimes);
	MT_RUN(test_temporaries);
	MT_RUN(test_many_threads);
	return mt_test_done();
}
