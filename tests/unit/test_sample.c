// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for byte-based sampling: the integer log and exponential draw
 * the BPF side runs (bpf/heap.h), the weights, and the whole estimator
 * (BPF decision twin + aggregator weighting) on synthetic sequences with
 * fixed seeds. Deterministic: no timing, no kernel.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <linux/types.h>
#include "heap.h"
#include "collect/mt_agg.h"
#include "collect/mt_sample.h"
#include "mt_test.h"

#define START 1000000000ull

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Q16 -log2 within 2^-15 of libm's over the whole 32-bit range. */
static void test_neg_log2(void)
{
	static const uint32_t fixed[] = { 0, 1, 2, 3, 255, 256, 65535, 65536, 1u << 31,
					  0xfffffffe, 0xffffffff };
	double worst = 0;
	unsigned i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 100000; i++) {
		uint32_t r = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : (uint32_t)rng();
		double want = -log2(((double)r + 1) / 4294967296.0);
		double got = (double)mt_neg_log2_q16(r) / 65536.0;

		if (fabs(got - want) > worst)
			worst = fabs(got - want);
	}
	printf("# worst |error| of -log2 in Q16: %.2e\n", worst);
	MT_CHECK(worst < 1.0 / 32768);
	MT_CHECK_EQ_U64(mt_neg_log2_q16(0xffffffff), 0);
	MT_CHECK_EQ_U64(mt_neg_log2_q16(0), 32u << 16);
}

/* Draws are exponential with the requested mean: mean and P(X > mean). */
static void test_draw_distribution(void)
{
	const uint64_t mean = 524288;
	const unsigned n = 1000003;
	double sum = 0;
	unsigned above = 0, i;

	for (i = 0; i < n; i++) {
		__s64 d = mt_sample_draw(mean, (uint32_t)(rng() >> 32));

		MT_CHECK(d >= 0);
		sum += (double)d;
		above += (uint64_t)d > mean;
	}
	printf("# draw mean %.0f (want %llu), P(> mean) %.4f (want %.4f)\n", sum / n,
	       (unsigned long long)mean, (double)above / n, exp(-1));
	/* Standard error of the mean: mean / sqrt(n) = 0.1%; allow 1%. */
	MT_CHECK(fabs(sum / n / (double)mean - 1) < 0.01);
	MT_CHECK(fabs((double)above / n - exp(-1)) < 0.005);
	/* The largest mean accepted does not overflow. */
	MT_CHECK(mt_sample_draw(MT_SAMPLE_MAX_MEAN, 0) > 0);
	MT_CHECK(mt_sample_draw(MT_SAMPLE_MAX_MEAN, 0) < (__s64)(MT_SAMPLE_MAX_MEAN * 23));
}

static void test_weights(void)
{
	MT_CHECK(mt_sample_weight(100, 0) == 1.0);
	MT_CHECK(mt_sample_weight(0, 4096) == 1.0);
	MT_CHECK(fabs(mt_sample_weight(4096, 4096) - 1 / (1 - exp(-1))) < 1e-12);
	MT_CHECK(fabs(mt_sample_weight(1u << 30, 4096) - 1) < 1e-12);
	/* Small sizes: weight ~ mean / size + 1/2. */
	MT_CHECK(fabs(mt_sample_weight(1, 1u << 20) - (1048576.5)) < 1e-3);
}

/* Sampling probability of a size matches 1 - exp(-size / mean). */
static void test_sampling_probability(void)
{
	struct mt_sampler s;
	const uint64_t mean = 65536, size = 4096;
	const unsigned n = 2000003;
	unsigned hits = 0, i;
	double p = 1 - exp(-(double)size / mean), sd = sqrt(p * (1 - p) / n);

	mt_sampler_init(&s, mean, 42);
	for (i = 0; i < n; i++)
		hits += mt_sampler_take(&s, size);
	printf("# P(sample %llu B) = %.5f, want %.5f +- %.5f\n", (unsigned long long)size,
	       (double)hits / n, p, sd);
	MT_CHECK(fabs((double)hits / n - p) < 4 * sd);
	/* size 0 is never sampled */
	for (i = 0; i < 1000; i++)
		MT_CHECK(!mt_sampler_take(&s, 0));
}

/*
 * The estimator end to end: a mix of sizes through the BPF decision twin
 * into a sampling aggregator; estimated totals vs the truth. Sizes: 80%
 * small (16..1024), 19% medium (1 KiB..64 KiB), 1% large (64 KiB..4 MiB).
 * Expected relative error of the byte estimate here is ~0.5%; allow 3%.
 */
static void test_estimates(void)
{
	const uint64_t mean = 65536;
	const unsigned n = 2000003;
	struct mt_agg *a = mt_agg_new(START);
	struct mt_sampler s;
	uint64_t true_bytes = 0, true_live_bytes = 0, true_live = 0, f = 0x401000;
	uint64_t sampled = 0, addr;
	uint32_t site;
	const struct mt_totals *t;
	double eb, el, ec;
	unsigned i;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_agg_set_sampling(a, mean), 0);
	site = mt_agg_site(a, &f, 1);
	mt_sampler_init(&s, mean, 7);
	for (i = 0; i < n; i++) {
		uint64_t r = rng(), size;
		bool keep = i % 10 == 0;   /* 10% stay live */

		if (r % 100 < 80)
			size = 16 + (r >> 8) % 1009;
		else if (r % 100 < 99)
			size = 1024 + (r >> 8) % 64512;
		else
			size = 65536 + (r >> 8) % (4u << 20);
		true_bytes += size;
		if (keep) {
			true_live++;
			true_live_bytes += size;
		}
		if (!mt_sampler_take(&s, size))
			continue;
		sampled++;
		addr = 0x7f0000000000ull + (uint64_t)i * 16;
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START + i, addr, size, site), 0);
		if (!keep)
			MT_CHECK_EQ_U64(mt_agg_release(a, START + i, addr), 1);
	}
	t = mt_agg_totals(a);
	eb = (double)t->c.alloc_bytes / (double)true_bytes - 1;
	el = (double)t->c.live_bytes / (double)true_live_bytes - 1;
	ec = (double)t->c.allocs / (double)n - 1;
	printf("# %llu of %u sampled; alloc_bytes %+.2f%%, allocs %+.2f%%, live_bytes %+.2f%% (live %llu est %llu)\n",
	       (unsigned long long)sampled, n, 100 * eb, 100 * ec, 100 * el,
	       (unsigned long long)true_live, (unsigned long long)t->c.live_objects);
	MT_CHECK(fabs(eb) < 0.03);
	MT_CHECK(fabs(ec) < 0.05);
	MT_CHECK(fabs(el) < 0.10);
	/* Sites carry the same estimates (one site here). */
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.alloc_bytes, t->c.alloc_bytes);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* Far fewer samples than allocations, or sampling saved nothing. */
	MT_CHECK(sampled * 10 < n);
	mt_agg_free(a);
}

/* Freeing every sampled block brings the estimates back to exactly 0, and
 * leaks are weighted like the totals. */
static void test_weighted_release_exact_zero(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_leak *l = NULL;
	uint64_t f = 0x401000;
	uint32_t site, i;
	int nl;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_agg_set_sampling(a, 1000), 0);
	site = mt_agg_site(a, &f, 1);
	for (i = 1; i <= 23; i++)
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, i * 64, i * 37, site), 0);
	nl = mt_agg_leaks(a, START, 0, &l);
	MT_CHECK_EQ_U64(nl, 1);
	MT_CHECK_EQ_U64(l[0].objects, mt_agg_totals(a)->c.live_objects);
	MT_CHECK_EQ_U64(l[0].bytes, mt_agg_totals(a)->c.live_bytes);
	free(l);
	/* 23 objects of weight > 1 each: more than 23 estimated */
	MT_CHECK(mt_agg_totals(a)->c.allocs > 23);
	for (i = 1; i <= 23; i++)
		MT_CHECK_EQ_U64(mt_agg_release(a, START, i * 64), 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.live_bytes, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.alloc_bytes, mt_agg_totals(a)->c.free_bytes);
	/* Too late to switch modes. */
	MT_CHECK_EQ_U64(mt_agg_set_sampling(a, 0), (uint64_t)-EBUSY);
	mt_agg_free(a);
}

int main(void)
{
	MT_RUN(test_neg_log2);
	MT_RUN(test_draw_distribution);
	MT_RUN(test_weights);
	MT_RUN(test_sampling_probability);
	MT_RUN(test_estimates);
	MT_RUN(test_weighted_release_exact_zero);
	return mt_test_done();
}
