// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the aggregator: live table, sites, totals, rates, leaks. */
#include <errno.h>
#include <stdlib.h>
#include "collect/mt_agg.h"
#include "mt_test.h"

#define START 1000000000ull   /* 1 s: the clock does not start at 0 */
#define MSEC 1000000ull
#define NOBJ 100003u          /* prime, so doubling or dropping shows */

/* Deterministic xorshift so failures reproduce. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Clustered, 16-byte aligned, as a heap's addresses are. */
static uint64_t addr_of(uint32_t i)
{
	return 0x55550000a000ull + (uint64_t)i * 32;
}

static void test_many_random_release(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint32_t *order = malloc(NOBJ * sizeof(*order)), i, j, tmp;
	uint32_t site;
	uint64_t f = 0x401000;
	uint64_t bytes = 0;

	MT_CHECK(a && order);
	site = mt_agg_site(a, &f, 1);
	for (i = 0; i < NOBJ; i++) {
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START + i, addr_of(i), i % 97 + 1, site), 0);
		bytes += i % 97 + 1;
	}
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, NOBJ);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, bytes);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.peak_live_bytes, bytes);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* The table grew by 1.5x steps and stays between 7/12 and 7/8 full. */
	MT_CHECK(mt_agg_capacity(a) * 7 / 8 >= NOBJ);
	MT_CHECK(mt_agg_capacity(a) * 7 / 12 <= NOBJ + 1);

	for (i = 0; i < NOBJ; i++)
		order[i] = i;
	for (i = NOBJ - 1; i > 0; i--) {
		j = (uint32_t)(rng() % (i + 1));
		tmp = order[i], order[i] = order[j], order[j] = tmp;
	}
	for (i = 0; i < NOBJ; i++) {
		MT_CHECK_EQ_U64(mt_agg_release(a, START, addr_of(order[i])), 1);
		bytes -= order[i] % 97 + 1;
		if (i % 9973 == 0) {
			MT_CHECK_EQ_U64(mt_agg_check(a), 0);
			MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, NOBJ - i - 1);
			MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, bytes);
		}
	}
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.frees, NOBJ);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.allocs, NOBJ);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* Every address is gone: releasing again is untracked. */
	MT_CHECK_EQ_U64(mt_agg_release(a, START, addr_of(7)), 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 1);

	printf("# live table: %zu slots x 16 B, %zu heap bytes for the aggregator\n",
	       mt_agg_capacity(a), mt_agg_mem_bytes(a));
	free(order);
	mt_agg_free(a);
}

/* Peak memory per live object, printed for the record. */
static void test_memory_per_object(void)
{
	struct mt_agg *a = mt_agg_new(START);
	size_t base, worst = 0, n, per;
	uint32_t i;

	MT_CHECK(a);
	base = mt_agg_mem_bytes(a);
	for (i = 0; i < 1000003; i++) {
		MT_CHECK(mt_agg_alloc(a, START, addr_of(i), 64, MT_SITE_NONE) == 0);
		n = i + 1;
		if (n >= 100000) {
			per = (mt_agg_mem_bytes(a) - base) / n;
			if (per > worst)
				worst = per;
		}
	}
	printf("# %u live objects: %zu bytes each now, worst %zu (n >= 1e5)\n",
	       i, (mt_agg_mem_bytes(a) - base) / i, worst);
	/* 16-byte slots at least 7/12 full: at most 27.4 bytes per object. */
	MT_CHECK(worst <= 28);
	mt_agg_free(a);
}

static void test_reinsert_after_delete(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint32_t i;

	MT_CHECK(a);
	for (i = 0; i < 23; i++) {
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x1000, 8 + i, MT_SITE_NONE), 0);
		MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x1000), 1);
	}
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x1000, 5, MT_SITE_NONE), 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.allocs, 24);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.frees, 23);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 5);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* Address 0 is never a live block. */
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0, 5, MT_SITE_NONE), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x2000, 5, 3), (uint64_t)-EINVAL);
	mt_agg_free(a);
}

/*
 * Collisions: addresses chosen so that they all share one home slot, or
 * neighbouring home slots, of the initial table; deleting from the middle
 * and the start of the run must keep every other one findable. Also a run
 * that wraps around the end of the table.
 */
static void test_backward_shift_collisions(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t same[23], near[23], wrap[23];
	unsigned shift, ns = 0, nn = 0, nw = 0, i;
	size_t cap, h;
	uint64_t addr;

	MT_CHECK(a);
	cap = mt_agg_capacity(a);
	for (shift = 0; (1ull << shift) < cap; shift++)
		;
	for (addr = 0x10000; ns < 23 || nn < 23 || nw < 23; addr += 16) {
		h = (size_t)(mt_agg_addr_hash(addr) >> (64 - shift));
		if (h == 17 && ns < 23)
			same[ns++] = addr;
		else if (h >= 300 && h < 303 && nn < 23)
			near[nn++] = addr;
		else if (h >= cap - 2 && nw < 23)
			wrap[nw++] = addr;
	}
	for (i = 0; i < 23; i++) {
		MT_CHECK(mt_agg_alloc(a, START, same[i], 1, MT_SITE_NONE) == 0);
		MT_CHECK(mt_agg_alloc(a, START, near[i], 2, MT_SITE_NONE) == 0);
		MT_CHECK(mt_agg_alloc(a, START, wrap[i], 4, MT_SITE_NONE) == 0);
	}
	MT_CHECK_EQ_U64(mt_agg_capacity(a), cap);   /* no rehash hid anything */
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* Delete every third of each run, starting inside and at the head. */
	for (i = 0; i < 23; i += 3) {
		MT_CHECK_EQ_U64(mt_agg_release(a, START, same[(i + 11) % 23]), 1);
		MT_CHECK_EQ_U64(mt_agg_release(a, START, near[i]), 1);
		MT_CHECK_EQ_U64(mt_agg_release(a, START, wrap[i]), 1);
		MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	}
	/* Everything else is still there (a second alloc would be stale). */
	for (i = 0; i < 23; i++) {
		if (i % 3)
			MT_CHECK_EQ_U64(mt_agg_release(a, START, near[i]), 1);
		if (i % 3)
			MT_CHECK_EQ_U64(mt_agg_release(a, START, wrap[i]), 1);
		if ((i + 12) % 23 % 3)  /* not deleted above */
			MT_CHECK_EQ_U64(mt_agg_release(a, START, same[i]), 1);
		MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	}
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 0);
	mt_agg_free(a);
}

static void test_sites_interned(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t f1[3] = { 0x401000, 0x402000, 0x403000 };
	uint64_t f2[3] = { 0x401000, 0x402000, 0x403001 };
	uint64_t f[MT_AGG_MAX_FRAMES];
	uint32_t s1, s2, i;

	MT_CHECK(a);
	s1 = mt_agg_site(a, f1, 3);
	s2 = mt_agg_site(a, f2, 3);
	MT_CHECK_EQ_U64(s1, 0);
	MT_CHECK_EQ_U64(s2, 1);
	MT_CHECK_EQ_U64(mt_agg_site(a, f1, 3), s1);
	MT_CHECK_EQ_U64(mt_agg_site(a, f1, 2), 2);  /* prefix is another stack */
	MT_CHECK_EQ_U64(mt_agg_site(a, f1, 0), 3);
	MT_CHECK_EQ_U64(mt_agg_site(a, f2, 3), s2);
	/* Many sites: ids stay dense and stable across index growth. */
	for (i = 0; i < 5003; i++) {
		f[0] = 0x500000 + i;
		f[1] = i * 7;
		MT_CHECK_EQ_U64(mt_agg_site(a, f, 2), 4 + i);
	}
	for (i = 0; i < 5003; i++) {
		f[0] = 0x500000 + i;
		f[1] = i * 7;
		MT_CHECK_EQ_U64(mt_agg_site(a, f, 2), 4 + i);
	}
	MT_CHECK_EQ_U64(mt_agg_nsites(a), 5007);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, s1)->nframes, 3);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, s1)->frames[2], 0x403000);
	MT_CHECK(mt_agg_site_get(a, 5007) == NULL);
	mt_agg_free(a);
}

static void test_site_counts_and_peaks(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t fa = 0xa, fb = 0xb;
	const struct mt_site *sa, *sb;
	uint32_t A, B, i;

	MT_CHECK(a);
	A = mt_agg_site(a, &fa, 1);
	B = mt_agg_site(a, &fb, 1);
	/* A: 23 x 100 bytes live at once, then 22 freed. B: 1 byte at a time. */
	for (i = 0; i < 23; i++)
		MT_CHECK(mt_agg_alloc(a, START, 0x10000 + i * 16, 100, A) == 0);
	for (i = 0; i < 23; i++) {
		MT_CHECK(mt_agg_alloc(a, START, 0x90000, 1, B) == 0);
		MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x90000), 1);
	}
	for (i = 1; i < 23; i++)
		MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x10000 + i * 16), 1);
	sa = mt_agg_site_get(a, A);
	sb = mt_agg_site_get(a, B);
	MT_CHECK_EQ_U64(sa->c.allocs, 23);
	MT_CHECK_EQ_U64(sa->c.frees, 22);
	MT_CHECK_EQ_U64(sa->c.alloc_bytes, 2300);
	MT_CHECK_EQ_U64(sa->c.free_bytes, 2200);
	MT_CHECK_EQ_U64(sa->c.live_objects, 1);
	MT_CHECK_EQ_U64(sa->c.live_bytes, 100);
	MT_CHECK_EQ_U64(sa->c.peak_live_bytes, 2300);
	MT_CHECK_EQ_U64(sb->c.allocs, 23);
	MT_CHECK_EQ_U64(sb->c.live_bytes, 0);
	MT_CHECK_EQ_U64(sb->c.peak_live_bytes, 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.peak_live_bytes, 2301);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.allocs, 46);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 100);
	mt_agg_free(a);
}

static void test_large_sizes(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t big = 5ull << 32;   /* 20 GiB: more than 32 bits */

	MT_CHECK(a);
	MT_CHECK(mt_agg_alloc(a, START, 0x7f0000000000, big, MT_SITE_NONE) == 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, big);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x7f0000000000), 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.free_bytes, big);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 0);
	mt_agg_free(a);
}

static void test_stale_replaced(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t fa = 0xa, fb = 0xb;
	uint32_t A, B;

	MT_CHECK(a);
	A = mt_agg_site(a, &fa, 1);
	B = mt_agg_site(a, &fb, 1);
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x5000, 40, A), 0);
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START + MSEC, 0x5000, 7, B), 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->stale_replaced, 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.allocs, 2);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.frees, 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 7);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, A)->c.frees, 1);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, A)->c.live_bytes, 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, B)->c.live_bytes, 7);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	/* The release now retires the new block, with the new size. */
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x5000), 1);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, B)->c.free_bytes, 7);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	mt_agg_free(a);
}

static void test_calls_failed_lost(void)
{
	struct mt_agg *a = mt_agg_new(START);
	unsigned i;

	MT_CHECK(a);
	for (i = 0; i < 23; i++)
		mt_agg_call(a, 3);
	mt_agg_call(a, MT_AGG_MAX_EPS);  /* out of range: ignored, no overflow */
	mt_agg_failed(a);
	mt_agg_failed(a);
	mt_agg_lost(a, 17);
	mt_agg_lost(a, 6);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->calls[3], 23);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->calls[0], 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->failed_allocs, 2);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->lost_events, 23);
	/* Untracked: unknown address, and an address 16 bytes off a live one. */
	MT_CHECK(mt_agg_alloc(a, START, 0x8000, 1, MT_SITE_NONE) == 0);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x8010), 0);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x9000), 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 2);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.frees, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 1);
	mt_agg_free(a);
}

static void test_rates(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_rates iv, run;
	uint32_t i;

	MT_CHECK(a);
	for (i = 0; i < 23; i++)
		MT_CHECK(mt_agg_alloc(a, START + i, 0x1000 + i * 16, 1000, MT_SITE_NONE) == 0);
	mt_agg_interval(a, START + 2000 * MSEC, &iv);   /* 2 s */
	MT_CHECK(iv.seconds == 2.0);
	MT_CHECK(iv.allocs_per_s == 11.5);
	MT_CHECK(iv.bytes_per_s == 11500.0);
	MT_CHECK(iv.frees_per_s == 0.0);
	for (i = 0; i < 5; i++)
		MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x1000 + i * 16), 1);
	mt_agg_interval(a, START + 2500 * MSEC, &iv);   /* next 0.5 s */
	MT_CHECK(iv.seconds == 0.5);
	MT_CHECK(iv.allocs_per_s == 0.0);
	MT_CHECK(iv.frees_per_s == 10.0);
	mt_agg_run_rates(a, START + 2500 * MSEC, &run);
	MT_CHECK(run.seconds == 2.5);
	MT_CHECK(run.allocs_per_s == 9.2);
	MT_CHECK(run.bytes_per_s == 9200.0);
	MT_CHECK(run.frees_per_s == 2.0);
	/* A zero-length interval gives zeros, not NaN. */
	mt_agg_interval(a, START + 2500 * MSEC, &iv);
	MT_CHECK(iv.seconds == 0.0 && iv.allocs_per_s == 0.0);
	mt_agg_free(a);
}

static void test_leaks_grouping_age_order(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t fa = 0xa, fb = 0xb, fc = 0xc;
	struct mt_leak *l = NULL;
	uint32_t A, B, C, i;
	int n;

	MT_CHECK(a);
	A = mt_agg_site(a, &fa, 1);
	B = mt_agg_site(a, &fb, 1);
	C = mt_agg_site(a, &fc, 1);
	/* t = 1 s..: A 23 x 10 B old; B 3 x 100 B young; C 2 x 150 B old,
	 * tied with B in bytes; one object without a site. */
	for (i = 0; i < 23; i++)
		MT_CHECK(mt_agg_alloc(a, START + (1000 + i) * MSEC, 0x1000 + i * 16, 10, A) == 0);
	for (i = 0; i < 3; i++)
		MT_CHECK(mt_agg_alloc(a, START + 9000 * MSEC, 0x9000 + i * 16, 100, B) == 0);
	MT_CHECK(mt_agg_alloc(a, START + 1500 * MSEC, 0xc000, 150, C) == 0);
	MT_CHECK(mt_agg_alloc(a, START + 2000 * MSEC, 0xc010, 150, C) == 0);
	MT_CHECK(mt_agg_alloc(a, START + 1000 * MSEC, 0xe000, 5, MT_SITE_NONE) == 0);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x1000), 1);   /* A: 22 left */

	/* min_age 0: everything live, bytes desc, ties by site id. */
	n = mt_agg_leaks(a, START + 10000 * MSEC, 0, &l);
	MT_CHECK_EQ_U64(n, 4);
	MT_CHECK_EQ_U64(l[0].site, B);      /* 300, tie with C, lower id first */
	MT_CHECK_EQ_U64(l[0].bytes, 300);
	MT_CHECK_EQ_U64(l[0].objects, 3);
	MT_CHECK_EQ_U64(l[1].site, C);
	MT_CHECK_EQ_U64(l[1].oldest_ts_ns, START + 1500 * MSEC);
	MT_CHECK_EQ_U64(l[2].site, A);
	MT_CHECK_EQ_U64(l[2].objects, 22);
	MT_CHECK_EQ_U64(l[2].bytes, 220);
	MT_CHECK_EQ_U64(l[2].oldest_ts_ns, START + 1001 * MSEC);
	MT_CHECK_EQ_U64(l[3].site, MT_SITE_NONE);
	MT_CHECK_EQ_U64(l[3].bytes, 5);
	free(l);

	/* At 10 s, older than 5 s: B (allocated at 9 s) is too young. */
	n = mt_agg_leaks(a, START + 10000 * MSEC, 5000 * MSEC, &l);
	MT_CHECK_EQ_U64(n, 3);
	MT_CHECK_EQ_U64(l[0].site, C);
	MT_CHECK_EQ_U64(l[1].site, A);
	MT_CHECK_EQ_U64(l[2].site, MT_SITE_NONE);
	free(l);

	/* Cut-off exactly at C's second object (2 s): included ("at or before"). */
	n = mt_agg_leaks(a, START + 10000 * MSEC, 8000 * MSEC, &l);
	MT_CHECK_EQ_U64(n, 3);
	MT_CHECK_EQ_U64(l[0].site, C);
	MT_CHECK_EQ_U64(l[0].objects, 2);
	free(l);
	/* 1 ms later it is out, and C (150 B left) falls behind A (220 B). */
	n = mt_agg_leaks(a, START + 10000 * MSEC, 8001 * MSEC, &l);
	MT_CHECK_EQ_U64(n, 3);
	MT_CHECK_EQ_U64(l[0].site, A);
	MT_CHECK_EQ_U64(l[1].site, C);
	MT_CHECK_EQ_U64(l[1].objects, 1);
	MT_CHECK_EQ_U64(l[1].bytes, 150);
	free(l);

	/* Nothing is older than the whole run. */
	n = mt_agg_leaks(a, START + 10000 * MSEC, 20000 * MSEC, &l);
	MT_CHECK_EQ_U64(n, 0);
	MT_CHECK(l == NULL);
	mt_agg_free(a);
}

/* Timestamps are kept to 1 ms, rounded up: never counted too old. */
static void test_leaks_sub_ms(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_leak *l = NULL;
	int n;

	MT_CHECK(a);
	MT_CHECK(mt_agg_alloc(a, START + 1000 * MSEC + 1, 0x1000, 1, MT_SITE_NONE) == 0);
	/* Cut-off at 1.0000005 s: the object (1.000000001 s) is younger by a
	 * hair less than 1 ms. Rounding down would call it old. */
	n = mt_agg_leaks(a, START + 2000 * MSEC, 999 * MSEC + 999500, &l);
	MT_CHECK_EQ_U64(n, 0);
	n = mt_agg_leaks(a, START + 2000 * MSEC, 999 * MSEC, &l);
	MT_CHECK_EQ_U64(n, 1);
	free(l);
	mt_agg_free(a);
}

/* free(NULL) reaching the aggregator: address 0 is never a live block
 * (mt_agg_alloc refuses it, and 0 marks an empty slot of the live table),
 * so releasing it is an untracked free and changes nothing else: no
 * empty slot is taken for a block, the live blocks stay as they were.
 * (mt_rules does not even pass a free(NULL) on: see test_rules.) */
/* A pool's idle object claimed: out of the live table and the live counts
 * (site and totals), not a free, not a leak; claimed once. */
static void test_claim(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_leak *lk = NULL;
	uint64_t f = 0x401000, size = 0;
	uint32_t site;
	int n;

	MT_CHECK(a);
	site = mt_agg_site(a, &f, 1);
	for (unsigned i = 0; i < 3; i++)
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(i), 100 + i, site), 0);
	MT_CHECK_EQ_U64(mt_agg_claim(a, addr_of(1), &size), 1);
	MT_CHECK_EQ_U64(size, 101);
	MT_CHECK_EQ_U64(mt_agg_claim(a, addr_of(1), NULL), 0);    /* once */
	MT_CHECK_EQ_U64(mt_agg_claim(a, addr_of(7), NULL), 0);    /* never live */
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 2);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 200 + 2);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.frees, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->claimed_objects, 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->claimed_bytes, 101);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.live_objects, 2);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.frees, 0);
	n = mt_agg_leaks(a, START + MSEC, 0, &lk);
	MT_CHECK_EQ_U64(n, 1);
	if (n == 1)
		MT_CHECK_EQ_U64(lk[0].objects, 2);
	free(lk);
	/* its address can be allocated again and freed as usual */
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(1), 50, site), 0);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, addr_of(1)), 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 0);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	MT_CHECK(mt_agg_set_sampling(a, 4096) != 0);   /* busy: events seen */
	mt_agg_free(a);
}

static void test_free_null(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_counts before;
	uint64_t f = 0x401000;
	uint32_t site;
	unsigned i;

	MT_CHECK(a);
	site = mt_agg_site(a, &f, 1);
	for (i = 0; i < 23; i++)
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(i), 40 + i, site), 0);
	before = mt_agg_totals(a)->c;
	for (i = 1; i <= 5; i++) {
		MT_CHECK_EQ_U64(mt_agg_release(a, START + MSEC, 0), 0);
		MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, i);
	}
	MT_CHECK(memcmp(&mt_agg_totals(a)->c, &before, sizeof(before)) == 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.frees, 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(a, site)->c.live_objects, 23);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	for (i = 0; i < 23; i++)
		MT_CHECK_EQ_U64(mt_agg_release(a, START + MSEC, addr_of(i)), 1);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->untracked_frees, 5);
	mt_agg_free(a);
	mt_agg_free(NULL);   /* the destructor takes NULL, as free() does */
}


/* Observers see every operation with its thread, site and the block's
 * allocation time; a stale replacement is a release then an alloc. */
struct obs_log {
	unsigned allocs, releases;
	uint64_t alloc_bytes, release_bytes, last_age_ns;
	uint32_t last_tid, last_site;
};

static void obs_alloc(void *arg, uint64_t ts, uint32_t tid, uint32_t site, uint64_t addr, uint64_t size)
{
	struct obs_log *l = arg;

	(void)ts; (void)addr;
	l->allocs++;
	l->alloc_bytes += size;
	l->last_tid = tid;
	l->last_site = site;
}

static void obs_release(void *arg, uint64_t ts, uint32_t tid, uint32_t site, uint64_t addr,
			uint64_t size, uint64_t alloc_ts)
{
	struct obs_log *l = arg;

	(void)addr;
	l->releases++;
	l->release_bytes += size;
	l->last_age_ns = ts - alloc_ts;
	l->last_tid = tid;
	l->last_site = site;
}

static int count_live(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t ts)
{
	uint64_t *sum = arg;

	(void)addr; (void)site; (void)ts;
	*sum += size;
	return 0;
}

static void test_observers_and_foreach(void)
{
	const uint64_t start = 1000000000ull;
	struct mt_agg *a = mt_agg_new(start);
	struct obs_log l = { 0 };
	struct mt_agg_observer o = { .on_alloc = obs_alloc, .on_release = obs_release, .arg = &l };
	uint64_t f1[] = { 0x1000 }, sum = 0;
	uint32_t s1;
	int i;

	MT_CHECK(a);
	MT_CHECK(mt_agg_add_observer(a, &o) == 0);
	s1 = mt_agg_site(a, f1, 1);
	mt_agg_set_tid(a, 42);
	for (i = 0; i < 23; i++)
		MT_CHECK(mt_agg_alloc(a, start + 5000000, 0x10000 + 16 * (uint64_t)i, 10, s1) == 0);
	MT_CHECK_EQ_U64(l.allocs, 23);
	MT_CHECK_EQ_U64(l.alloc_bytes, 230);
	MT_CHECK_EQ_U64(l.last_tid, 42);
	MT_CHECK_EQ_U64(l.last_site, s1);
	mt_agg_set_tid(a, 7);
	MT_CHECK(mt_agg_release(a, start + 25000000, 0x10000) == 1);
	MT_CHECK_EQ_U64(l.releases, 1);
	MT_CHECK_EQ_U64(l.last_tid, 7);
	MT_CHECK_EQ_U64(l.last_age_ns, 20000000);
	/* untracked: no observer call */
	MT_CHECK(mt_agg_release(a, start + 26000000, 0x999990) == 0);
	MT_CHECK_EQ_U64(l.releases, 1);
	/* stale replacement: one release, one alloc */
	MT_CHECK(mt_agg_alloc(a, start + 27000000, 0x10010, 99, s1) == 1);
	MT_CHECK_EQ_U64(l.releases, 2);
	MT_CHECK_EQ_U64(l.allocs, 24);
	MT_CHECK(mt_agg_live_foreach(a, count_live, &sum) == 0);
	MT_CHECK_EQ_U64(sum, 21 * 10 + 99);
	MT_CHECK_EQ_U64(sum, mt_agg_totals(a)->c.live_bytes);
	mt_agg_free(a);
}

/* Objects that do not fit a 16-byte slot (size >= 256 MiB, address past
 * 2^48) live in the side table: found, released, iterated, replaced. */
static void test_wide_objects(void)
{
	struct mt_agg *a = mt_agg_new(START);
	const uint64_t big = 1ull << 33, high = 0x1000000000010ull;
	uint32_t i;

	MT_CHECK(a);
	for (i = 0; i < 23; i++) {
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(i), i % 2 ? big + i : 64, MT_SITE_NONE), 0);
		MT_CHECK_EQ_U64(mt_agg_alloc(a, START, high + i * 16, 8, MT_SITE_NONE), 0);
	}
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 46);
	/* a wide block replaced by a small one at the same address (lost free) */
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(1), 32, MT_SITE_NONE), 1);
	/* and a small one by a wide one */
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, addr_of(2), big, MT_SITE_NONE), 1);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	for (i = 0; i < 23; i++) {
		MT_CHECK_EQ_U64(mt_agg_release(a, START, addr_of(i)), 1);
		MT_CHECK_EQ_U64(mt_agg_release(a, START, high + i * 16), 1);
	}
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_objects, 0);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->c.live_bytes, 0);
	MT_CHECK_EQ_U64(mt_agg_check(a), 0);
	mt_agg_free(a);
}

/* A loss marks the sites with live objects then, and only those. */
static void test_lost_marks_uncertain(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t f1 = 0x401000, f2 = 0x402000, f3 = 0x403000;
	uint32_t s1, s2, s3;

	MT_CHECK(a);
	s1 = mt_agg_site(a, &f1, 1);
	s2 = mt_agg_site(a, &f2, 1);
	s3 = mt_agg_site(a, &f3, 1);
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x1000, 8, s1), 0);
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x2000, 8, s2), 0);
	MT_CHECK_EQ_U64(mt_agg_release(a, START, 0x2000), 1);
	mt_agg_lost(a, 0);
	MT_CHECK(!mt_agg_site_get(a, s1)->uncertain);
	mt_agg_lost(a, 3);
	MT_CHECK_EQ_U64(mt_agg_totals(a)->lost_events, 3);
	MT_CHECK(mt_agg_site_get(a, s1)->uncertain);
	MT_CHECK(!mt_agg_site_get(a, s2)->uncertain);   /* nothing live */
	MT_CHECK_EQ_U64(mt_agg_alloc(a, START, 0x3000, 8, s3), 0);
	MT_CHECK(!mt_agg_site_get(a, s3)->uncertain);   /* after the loss */
	mt_agg_free(a);
}

int main(void)
{
	MT_RUN(test_many_random_release);
	MT_RUN(test_memory_per_object);
	MT_RUN(test_reinsert_after_delete);
	MT_RUN(test_backward_shift_collisions);
	MT_RUN(test_sites_interned);
	MT_RUN(test_site_counts_and_peaks);
	MT_RUN(test_large_sizes);
	MT_RUN(test_stale_replaced);
	MT_RUN(test_calls_failed_lost);
	MT_RUN(test_rates);
	MT_RUN(test_leaks_grouping_age_order);
	MT_RUN(test_leaks_sub_ms);
	MT_RUN(test_free_null);
	MT_RUN(test_claim);
	MT_RUN(test_observers_and_foreach);
	MT_RUN(test_wide_objects);
	MT_RUN(test_lost_marks_uncertain);
	return mt_test_done();
}
