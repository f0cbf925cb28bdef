// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pooled fast path under each pool tracing mode (tools/bench/pools.py):
 * one thread getting BURST objects (default 16) of a libmtpool object pool
 * and putting them back, for SECONDS. With 16 every get is a thread-cache
 * hit once warm; with a burst over the cache (64) the thread cache
 * refills and flushes a batch of 32 every 32 gets (the slow paths). Built
 * twice: with the header's inline get/put (bench_pool_path) and calling
 * the library (-DMTPOOL_NO_INLINE, bench_pool_path_call). Prints
 *   pairs N seconds S ns_per_pair X
 * on stdout at the end.
 *   bench_pool_path [SECONDS [BURST]]
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
	unsigned burst = argc > 2 ? (unsigned)atoi(argv[2]) : 16;
	void *objs[1024];
	unsigned long long pairs = 0;

	if (!p || burst < 1 || burst > 1024)
		return 1;
	for (unsigned i = 0; i < burst; i++)   /* warm: the pool holds them after */
		objs[i] = mtpool_get(p);
	for (unsigned i = 0; i < burst; i++)
		mtpool_put(p, objs[i]);
	t0 = now_s();
	do {
		for (int k = 0; k < 4096; k++) {
			for (unsigned i = 0; i < burst; i++)
				objs[i] = mtpool_get(p);
			__asm__ volatile("" ::: "memory");
			for (unsigned i = burst; i-- > 0;)
				mtpool_put(p, objs[i]);
		}
		pairs += 4096ull * burst;
		t = now_s() - t0;
	} while (t < secs);
	printf("pairs %llu seconds %.3f ns_per_pair %.3f\n", pairs, t, t * 1e9 / (double)pairs);
	mtpool_destroy(p);
	return 0;
}
