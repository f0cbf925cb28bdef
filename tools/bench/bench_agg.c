// SPDX-License-Identifier: BSD-2-Clause
/*
 * Aggregator capacity without BPF: synthetic malloc/free events through
 * mt_rules_apply(), the same call the ring-buffer reader makes per record.
 * This is the consumer's ceiling on one core; the end-to-end rate is
 * measured by tools/bench/bench.py with real probes.
 *
 *   bench_agg [LIVE]
 *
 * Two streams, each timed over 4M events after a warm-up:
 *   churn:  malloc(64) + free of the same few addresses (glibc's tcache
 *           hands the same block back), the live table stays tiny;
 *   window: LIVE objects (default 1M) stay live, each pair allocates a new
 *           address and frees the oldest one: every lookup misses the cache.
 * Prints one line per stream: "agg_<stream>_events_per_s=R", then the
 * aggregator's own heap bytes per live object at LIVE objects.
 * Built and run by tools/bench.sh (linked with build/libmt.a).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <linux/types.h>

#include "heap.h"
#include "collect/mt_agg.h"
#include "collect/mt_rules.h"

#define TIMED_EVENTS (4u << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Addresses as glibc hands them out for 64-byte blocks: 80 bytes apart in
 * a heap; a multiplicative permutation keeps them from arriving sorted. */
static uint64_t addr_of(uint64_t i)
{
	return 0x55550000000ull + ((i * 0x9e3779b1ull) & 0xffffffull) * 80;
}

static int apply(struct mt_agg *a, uint64_t *ts, unsigned kind, uint64_t arg0, uint64_t ret,
		 uint32_t site)
{
	struct mt_heap_event ev = {
		.ts_ns = (*ts += 100),
		.arg0 = arg0,
		.ret = ret,
		.tid = 1,
		.ep = kind == MT_K_FREE ? 1 : 0,
		.kind = (__u16)kind,
	};

	return mt_rules_apply(a, &ev, site);
}

static int run(uint64_t live, const char *name, int *err)
{
	uint64_t frames[4] = { 0x401000, 0x401100, 0x401200, 0x401300 };
	uint64_t ts = 0, i, n = 0;
	struct mt_agg *a = mt_agg_new(0);
	uint32_t site;
	double t0, t1;

	if (!a)
		return -1;
	site = mt_agg_site(a, frames, 4);
	for (i = 0; i < live; i++)
		*err |= apply(a, &ts, MT_K_MALLOC, 64, addr_of(i), site);
	t0 = now_s();
	for (i = live; n < TIMED_EVENTS; i++, n += 2) {
		uint64_t addr = live ? addr_of(i & 0xffffff) : 0x5555000 + (i & 7) * 80;

		*err |= apply(a, &ts, MT_K_MALLOC, 64, addr, site);
		*err |= apply(a, &ts, MT_K_FREE, live ? addr_of((i - live) & 0xffffff) : addr, 0, 0);
	}
	t1 = now_s();
	printf("agg_%s_events_per_s=%.0f\n", name, (double)n / (t1 - t0));
	if (live)
		printf("agg_bytes_per_live=%.1f\n", (double)mt_agg_mem_bytes(a) / (double)live);
	if (mt_agg_totals(a)->c.live_objects != live)
		*err = 1;
	mt_agg_free(a);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t live = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int err = 0;

	if (live == 0 || live > 0xffffff) {
		fprintf(stderr, "bench_agg: LIVE must be 1..16777215\n");
		return 2;
	}
	if (run(0, "churn", &err) || run(live, "window", &err) || err) {
		fprintf(stderr, "bench_agg: the aggregator failed or miscounted\n");
		return 1;
	}
	return 0;
}
