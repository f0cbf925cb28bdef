// SPDX-License-Identifier: BSD-2-Clause
/* Pool advice: each rule on hand-made statistics, then end to end from an
 * event sequence through the aggregator and its observers. */
#include <stdlib.h>
#include <string.h>
#include "analyze/mt_advice.h"
#include "collect/mt_agg.h"
#include "analyze/mt_lifetime.h"
#include "analyze/mt_sizeclass.h"
#include "mt_test.h"

#define T0 1000000000ull

static void sizes(struct mt_sc_stats *sc, const uint64_t *v, unsigned n, uint64_t each)
{
	memset(sc, 0, sizeof(*sc));
	for (unsigned i = 0; i < n; i++) {
		sc->exact[mt_sc_class(v[i])] += each;
		sc->coarse[mt_sc_coarse_of(v[i])] += each;
		if (!sc->allocs || v[i] < sc->min_size)
			sc->min_size = v[i];
		if (v[i] > sc->max_size)
			sc->max_size = v[i];
		sc->allocs += each;
	}
}

static void short_lived(struct mt_lt_stats *lt, uint64_t freed, uint64_t peak)
{
	memset(lt, 0, sizeof(*lt));
	lt->hist[mt_lt_bucket(10000)] = freed;
	lt->freed = freed;
	lt->peak_live_objects = peak;
}

static void test_object_pool(void)
{
	static const uint64_t sz[] = { 64 };
	struct mt_sc_stats sc;
	struct mt_lt_stats lt;
	struct mt_advice v;
	struct mt_advice_in in = { .allocs = 1000000, .frees = 999990, .seconds = 5, .lt = &lt, .sc = &sc };

	sizes(&sc, sz, 1, 1000000);
	short_lived(&lt, 999990, 37);
	mt_advice_judge(&in, &v);
	MT_CHECK_STR(mt_pool_kind_name(v.pool), "object_pool");
	MT_CHECK_EQ_U64(v.capacity, 37);
	MT_CHECK_EQ_U64(v.object_size, 64);
	MT_CHECK(v.calls_saved_per_s > 399997 && v.calls_saved_per_s < 399999);
	MT_CHECK(strstr(v.reason, "one size (64 B)"));
}

/* The demo's format_headers: one size, fast, 90% freed, but the peak is
 * the leak: fix it, do not pool it. A small leak is left out of the
 * capacity instead. */
static void test_leak(void)
{
	static const uint64_t sz[] = { 64 };
	struct mt_sc_stats sc;
	struct mt_lt_stats lt;
	struct mt_advice v;
	struct mt_advice_in in = { .allocs = 29060, .frees = 26154, .seconds = 4, .lt = &lt, .sc = &sc,
				   .leaked = 2906 };

	sizes(&sc, sz, 1, 29060);
	short_lived(&lt, 26154, 2906);
	mt_advice_judge(&in, &v);
	MT_CHECK_STR(mt_pool_kind_name(v.pool), "none");
	MT_CHECK(v.leak);
	MT_CHECK_EQ_U64(v.leaked, 2906);
	MT_CHECK_EQ_U64(v.capacity, 0);
	MT_CHECK(strstr(v.reason, "fix the leak: 2906 of its objects"));
	in.leaked = 3;
	short_lived(&lt, 26154, 40);
	mt_advice_judge(&in, &v);
	MT_CHECK_STR(mt_pool_kind_name(v.pool), "object_pool");
	MT_CHECK(!v.leak);
	MT_CHECK_EQ_U64(v.capacity, 37);
}

static void test_none(void)
{
	static const uint64_t sz[] = { 64 }, big[] = { 40000, 100000 };
	struct mt_sc_stats sc;
	struct mt_lt_stats lt;
	struct mt_advice v;
	struct mt_advice_in in = { .allocs = 23, .frees = 23, .seconds = 5, .lt = &lt, .sc = &sc };

	sizes(&sc, sz, 1, 23);
	short_lived(&lt, 23, 1);
	mt_advice_judge(&in, &v);                     /* rare */
	MT_CHECK_EQ_U64(v.pool, MT_POOL_NONE);
	MT_CHECK(strncmp(v.reason, "rare", 4) == 0);
	MT_CHECK(v.calls_saved_per_s == 0);

	in.allocs = 100000;                           /* never freed */
	in.frees = 0;
	mt_advice_judge(&in, &v);
	MT_CHECK_EQ_U64(v.pool, MT_POOL_NONE);
	MT_CHECK(strncmp(v.reason, "long-lived", 10) == 0);

	in.frees = 100000;                            /* freed after a minute */
	memset(&lt, 0, sizeof(lt));
	lt.hist[mt_lt_bucket(60 * 1000000000ull)] = lt.freed = 100000;
	mt_advice_judge(&in, &v);
	MT_CHECK_EQ_U64(v.pool, MT_POOL_NONE);
	MT_CHECK(strstr(v.reason, "median lifetime"));

	short_lived(&lt, 100000, 5);                  /* large blocks */
	sizes(&sc, big, 2, 50000);
	mt_advice_judge(&in, &v);
	MT_CHECK_EQ_U64(v.pool, MT_POOL_NONE);
	MT_CHECK(strncmp(v.reason, "large blocks", 12) == 0);
}

static void test_size_class_and_buffer(void)
{
	static const uint64_t mixed[] = { 24, 100, 700, 3000 }, bufs[] = { 1024, 4096, 16384, 65536 };
	struct mt_sc_stats sc;
	struct mt_lt_stats lt;
	struct mt_advice v;
	struct mt_advice_in in = { .allocs = 400000, .frees = 400000, .seconds = 2, .lt = &lt, .sc = &sc };

	sizes(&sc, mixed, 4, 100000);
	short_lived(&lt, 400000, 11);
	mt_advice_judge(&in, &v);
	MT_CHECK_STR(mt_pool_kind_name(v.pool), "size_class");
	MT_CHECK_EQ_U64(v.capacity, 11);
	MT_CHECK(v.calls_saved_per_s == 400000);

	/* Growing buffers: half the allocations are reallocs. Sizes up to
	 * 64 KiB are beyond size classes, so only this rule fits. */
	sizes(&sc, bufs, 4, 100000);
	lt.reallocs = 200000;
	mt_advice_judge(&in, &v);
	MT_CHECK_STR(mt_pool_kind_name(v.pool), "buffer_pool");
	MT_CHECK_EQ_U64(v.object_size, 65536);
	MT_CHECK(strstr(v.reason, "realloc"));
	lt.reallocs = 50000;                          /* 12.5%: not buffers */
	mt_advice_judge(&in, &v);
	MT_CHECK(v.pool != MT_POOL_BUFFER);
}

/* From events: a hot site cycling 37 blocks of 64 B, a cold one holding
 * a few blocks of assorted sizes. */
static void test_build(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_lifetime *lt = mt_lifetime_new(a);
	struct mt_sizeclass *sc = mt_sizeclass_new(a);
	uint64_t pc1 = 0x100, pc2 = 0x200, t = T0 + 1;
	uint32_t hot = mt_agg_site(a, &pc1, 1), cold = mt_agg_site(a, &pc2, 1);
	struct mt_advice *v = NULL;
	int n;

	mt_agg_set_tid(a, 3);
	for (uint64_t i = 0; i < 7; i++)
		mt_agg_alloc(a, t++, 0x900000 + i * 0x1000, 1000 + i * 3001, cold);
	for (unsigned round = 0; round < 2000; round++) {
		for (uint64_t i = 0; i < 37; i++)
			mt_agg_alloc(a, t += 100, 0x10000 + i * 64, 64, hot);
		for (uint64_t i = 0; i < 37; i++)
			mt_agg_release(a, t += 100, 0x10000 + i * 64);
	}
	/* 148000 calls in 2 s. */
	n = mt_advice_build(a, lt, sc, 2.0, 10, NULL, 0, &v);
	MT_CHECK_EQ_U64(n, 2);
	MT_CHECK_EQ_U64(v[0].site, hot);
	MT_CHECK_EQ_U64(v[0].pool, MT_POOL_OBJECT);
	MT_CHECK_EQ_U64(v[0].capacity, 37);
	MT_CHECK_EQ_U64(v[0].object_size, 64);
	MT_CHECK(v[0].calls_saved_per_s == 74000);
	MT_CHECK_EQ_U64(v[1].site, cold);
	MT_CHECK_EQ_U64(v[1].pool, MT_POOL_NONE);
	free(v);
	/* top 1: the busiest site only, plus the one with most live bytes. */
	n = mt_advice_build(a, lt, sc, 2.0, 1, NULL, 0, &v);
	MT_CHECK_EQ_U64(n, 2);
	free(v);
	mt_sizeclass_free(sc);
	mt_lifetime_free(lt);
	mt_agg_free(a);
}

/* The text names an object size only where the pool has one: never
 * "0 B objects" for a size-class pool. */
static void test_text_sizes(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	uint64_t pc = 0x100;
	uint32_t site = mt_agg_site(a, &pc, 1);
	struct mt_advice v[3] = {
		{ .site = site, .pool = MT_POOL_SIZE_CLASS, .capacity = 74, .calls_saved_per_s = 10,
		  .reason = "3 size classes (8..200 B)" },
		{ .site = site, .pool = MT_POOL_OBJECT, .capacity = 37, .object_size = 64,
		  .calls_saved_per_s = 5, .reason = "one size" },
		{ .site = site, .pool = MT_POOL_BUFFER, .capacity = 2, .object_size = 4096,
		  .calls_saved_per_s = 1, .reason = "regrown" },
	};
	struct mt_advice_set set = { .v = v, .n = 3, .agg = a };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	MT_CHECK(mt_advice_write_text(f, NULL, true, &set) == 0);
	fclose(f);
	MT_CHECK(strstr(buf, "#1 size_class, capacity 74: saves 10 calls/s") != NULL);
	MT_CHECK(strstr(buf, "#2 object_pool, capacity 37, objects of 64 B") != NULL);
	MT_CHECK(strstr(buf, "#3 buffer_pool, capacity 2, buffers up to 4096 B") != NULL);
	MT_CHECK(strstr(buf, " 0 B") == NULL);
	free(buf);
	mt_agg_free(a);
}

int main(void)
{
	MT_RUN(test_object_pool);
	MT_RUN(test_none);
	MT_RUN(test_leak);
	MT_RUN(test_size_class_and_buffer);
	MT_RUN(test_build);
	MT_RUN(test_text_sizes);
	return mt_test_done();
}
