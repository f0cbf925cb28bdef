// SPDX-License-Identifier: BSD-2-Clause
/*
 * The planted slow leak of tools/bench/redis.py, preloaded into
 * redis-server: a thread of its own that allocates 256 bytes from
 * mt_bench_planted_leak every 20 ms and never frees them (12.8 KB/s),
 * through the process's malloc (redis's jemalloc). Everything else in the
 * process is redis's own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile keep;

__attribute__((noinline)) void *mt_bench_planted_leak(void)
{
	void *p = malloc(256);

	if (p)
		memset(p, 0x5a, 256);
	return p;
}

static void *leaker(void *arg)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		keep = mt_bench_planted_leak();   /* overwritten: lost */
		nanosleep(&tick, NULL);
	}
	return NULL;
}

__attribute__((constructor)) static void start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, leaker, NULL) == 0)
		pthread_detach(t);
}
