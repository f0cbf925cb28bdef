// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pooled fast path under each pool tracing mode (tools/bench/pools.py):
 * one thread getting 16 objects of a libmtpool object pool and putting
 * them back, for SECONDS; every get is a thread-cache hit once warm. Built
 * twice: with the header's inline get/put (bench_pool_path) and calling
 * the library (-DMTPOOL_NO_INLINE, bench_pool_path_call). Prints
 *   pairs N seconds S ns_per_pair X
 * on stdout at the end.
 *   bench_pool_path [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mtpool.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct mtpool_opts o = { .name = "bench_path", .thread_cache = 64 };
	double secs = argc > 1 ? atof(argv[1]) : 3, t0, t = 0;
	mtpool *p = mtpool_create(64, &o);
	void *objs[16];
	unsigned long long pairs = 0;

	if (!p)
		return 1;
	for (int i = 0; i < 16; i++)   /* warm: the cache holds them after */
		objs[i] = mtpool_get(p);
	for (int i = 0; i < 16; i++)
		mtpool_put(p, objs[i]);
	t0 = now_s();
	do {
		for (int k = 0; k < 4096; k++) {
			for (int i = 0; i < 16; i++)
				objs[i] = mtpool_get(p);
			__asm__ volatile("" ::: "memory");
			for (int i = 15; i >= 0; i--)
				mtpool_put(p, objs[i]);
		}
		pairs += 4096 * 16;
		t = now_s() - t0;
	} while (t < secs);
	printf("pairs %llu seconds %.3f ns_per_pair %.3f\n", pairs, t, t * 1e9 / (double)pairs);
	mtpool_destroy(p);
	return 0;
}
