// SPDX-License-Identifier: BSD-2-Clause
/* Trend classification on synthetic runs: a slow leak, a cache that fills
 * and plateaus, a burst freed later, a growing site that frees its oldest
 * objects; plus the statistics and the bounded series. */
#include <math.h>
#include <stdlib.h>
#include "collect/mt_agg.h"
#include "analyze/mt_trend.h"
#include "util/mt_stats.h"
#include "mt_test.h"

#define T0 1000000000ull
#define S 1000000000ull

static uint32_t mksite(struct mt_agg *a, uint64_t pc)
{
	return mt_agg_site(a, &pc, 1);
}

static void test_stats(void)
{
	double x[23], y[23], c[23], d[23];

	for (int i = 0; i < 23; i++) {
		x[i] = i;
		y[i] = 2 * i + 1;
		c[i] = 5;
		d[i] = 100 - i;
	}
	y[7] = 1000;   /* one outlier moves least squares, not Theil-Sen */
	MT_CHECK(fabs(mt_trend_theil_sen(x, y, 23) - 2.0) < 1e-9);
	MT_CHECK(mt_mann_kendall_z(y, 23) > 2.33);
	MT_CHECK(mt_mann_kendall_z(c, 23) == 0);
	MT_CHECK(mt_trend_theil_sen(x, c, 23) == 0);
	MT_CHECK(mt_mann_kendall_z(d, 23) < -2.33);
	/* 23 points: S = 253, var = 23*22*51/18 = 1433.67, z = 252/37.86 */
	MT_CHECK(fabs(mt_mann_kendall_z(x, 23) - 252 / sqrt(23.0 * 22 * 51 / 18)) < 1e-9);
}

struct run {
	struct mt_agg *a;
	struct mt_trend *t;
	uint32_t leak, cache, burst, fifo;
	uint64_t next_addr;
};

#define CACHE 500
#define BURST 1000

/* 60 s at 1 ms resolution of the events that matter, a sample a second:
 *   leak:  20 blocks of 256 B a second, never freed;
 *   cache: 100 inserts a second of 512 B; past CACHE entries each insert
 *          evicts a random one (a plateau after 5 s);
 *   burst: BURST blocks at 10 s, all freed at 30 s;
 *   fifo:  grows by 19 a second but frees its oldest block every second. */
static void run_60s(struct run *r, unsigned seconds)
{
	static uint64_t cache[CACHE], burst[BURST], fifo[4096];
	unsigned ncache = 0, fhead = 0, ftail = 0;
	uint64_t seed = 42;

	r->a = mt_agg_new(T0);
	r->t = mt_trend_new(r->a);
	r->leak = mksite(r->a, 0x100);
	r->cache = mksite(r->a, 0x200);
	r->burst = mksite(r->a, 0x300);
	r->fifo = mksite(r->a, 0x400);
	r->next_addr = 0x100000;
	for (unsigned sec = 0; sec < seconds; sec++) {
		for (unsigned ms = 0; ms < 1000; ms += 10) {
			uint64_t now = T0 + sec * S + ms * 1000000ull + 1;

			if (ms % 50 == 0)
				mt_agg_alloc(r->a, now, r->next_addr += 16, 256, r->leak);
			if (ncache == CACHE) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				unsigned v = (unsigned)(seed >> 33) % CACHE;

				mt_agg_release(r->a, now, cache[v]);
				cache[v] = r->next_addr += 16;
				mt_agg_alloc(r->a, now, cache[v], 512, r->cache);
			} else {
				cache[ncache] = r->next_addr += 16;
				mt_agg_alloc(r->a, now, cache[ncache++], 512, r->cache);
			}
			if (sec == 10 && ms == 0)
				for (unsigned i = 0; i < BURST; i++)
					mt_agg_alloc(r->a, now, burst[i] = r->next_addr += 16, 4096, r->burst);
			if (sec == 30 && ms == 0)
				for (unsigned i = 0; i < BURST; i++)
					mt_agg_release(r->a, now, burst[i]);
			if (ms % 50 == 0)
				mt_agg_alloc(r->a, now, fifo[fhead++ % 4096] = r->next_addr += 16, 64, r->fifo);
			if (ms == 500 && sec > 0)
				mt_agg_release(r->a, now, fifo[ftail++ % 4096]);
		}
		MT_CHECK(mt_trend_sample(r->t, T0 + (sec + 1) * S) == 0);
	}
}

static void test_classes(void)
{
	struct run r;
	const struct mt_trend_site *leak, *cache, *burst, *fifo, *res;

	run_60s(&r, 60);
	MT_CHECK_EQ_U64(mt_trend_nwindows(r.t), 60);
	MT_CHECK(mt_trend_analyze(r.t, T0 + 60 * S) == 0);
	leak = mt_trend_get(r.t, r.leak);
	cache = mt_trend_get(r.t, r.cache);
	burst = mt_trend_get(r.t, r.burst);
	fifo = mt_trend_get(r.t, r.fifo);
	MT_CHECK(leak && cache && burst && fifo);
	MT_CHECK_STR(mt_trend_class_name(leak->cls), "growing");
	MT_CHECK_STR(mt_trend_class_name(cache->cls), "plateau");
	MT_CHECK_STR(mt_trend_class_name(burst->cls), "freed");
	MT_CHECK_STR(mt_trend_class_name(fifo->cls), "churning");
	/* 20 x 256 B a second. */
	MT_CHECK(fabs(leak->slope_bytes_per_s - 5120) < 50);
	MT_CHECK(fabs(leak->slope_objects_per_s - 20) < 0.2);
	MT_CHECK_EQ_U64(leak->windows, 30);
	MT_CHECK(leak->growth_fraction > 0.99);
	MT_CHECK(leak->age_max_s > 59.9 && leak->age_max_s <= 60.0);
	MT_CHECK(fabs(leak->age_p50_s - 30) < 0.5);
	MT_CHECK(leak->first_seen_s < 0.01 && leak->last_seen_s > 59.9);
	MT_CHECK_EQ_U64(burst->peak_bytes, BURST * 4096);
	MT_CHECK_EQ_U64(burst->live_bytes, 0);
	/* Leak filter: the plateaued cache and the churning site drop out. */
	MT_CHECK(mt_trend_keep_leak(r.t, r.leak));
	MT_CHECK(!mt_trend_keep_leak(r.t, r.cache));
	MT_CHECK(!mt_trend_keep_leak(r.t, r.fifo));
	/* Growing first. */
	MT_CHECK(mt_trend_results(r.t, &res) == 4);
	MT_CHECK_EQ_U64(res[0].site, r.leak);
	mt_trend_free(r.t);
	mt_agg_free(r.a);
}

/* Before MT_TREND_MIN_WINDOWS no judgement, and every leak is kept. */
static void test_too_few(void)
{
	struct run r;

	run_60s(&r, 4);
	MT_CHECK(mt_trend_analyze(r.t, T0 + 4 * S) == 0);
	MT_CHECK_EQ_U64(mt_trend_get(r.t, r.leak)->cls, MT_TREND_UNKNOWN);
	MT_CHECK_EQ_U64(mt_trend_get(r.t, r.cache)->cls, MT_TREND_UNKNOWN);
	MT_CHECK(mt_trend_keep_leak(r.t, r.cache));
	mt_trend_free(r.t);
	mt_agg_free(r.a);
}

/* Windows taken before any site existed (an image that allocated nothing
 * in its first second, e.g. right after an exec), then a site is born and
 * the final analysis runs before another window: the site has no series,
 * its class is unknown, and nothing reads a series that was never made. */
static void test_site_after_windows(void)
{
	struct mt_agg *a = mt_agg_new(T0);
	struct mt_trend *t = mt_trend_new(a);
	uint32_t site;

	MT_CHECK(a && t);
	for (unsigned sec = 1; sec <= 6; sec++)
		MT_CHECK(mt_trend_sample(t, T0 + sec * S) == 0);
	site = mksite(a, 0x500);
	MT_CHECK(mt_agg_alloc(a, T0 + 6 * S + 1, 0x1000, 64, site) == 0);
	MT_CHECK(mt_trend_analyze(t, T0 + 7 * S) == 0);
	MT_CHECK_EQ_U64(mt_trend_get(t, site)->cls, MT_TREND_UNKNOWN);
	mt_trend_free(t);
	mt_agg_free(a);
}

/* A long run: the series stay bounded and the classes hold. */
static void test_downsampling(void)
{
	struct run r;

	run_60s(&r, 150);
	MT_CHECK(mt_trend_nwindows(r.t) <= MT_TREND_MAX_WINDOWS);
	MT_CHECK(mt_trend_nwindows(r.t) >= MT_TREND_MAX_WINDOWS / 2);
	MT_CHECK(mt_trend_analyze(r.t, T0 + 150 * S) == 0);
	MT_CHECK_EQ_U64(mt_trend_get(r.t, r.leak)->cls, MT_TREND_GROWING);
	MT_CHECK_EQ_U64(mt_trend_get(r.t, r.cache)->cls, MT_TREND_PLATEAU);
	MT_CHECK_EQ_U64(mt_trend_get(r.t, r.burst)->cls, MT_TREND_FREED);
	MT_CHECK(fabs(mt_trend_get(r.t, r.leak)->slope_bytes_per_s - 5120) < 100);
	mt_trend_free(r.t);
	mt_agg_free(r.a);
}

int main(void)
{
	MT_RUN(test_stats);
	MT_RUN(test_classes);
	MT_RUN(test_too_few);
	MT_RUN(test_site_after_windows);
	MT_RUN(test_downsampling);
	return mt_test_done();
}
