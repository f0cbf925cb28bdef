// SPDX-License-Identifier: BSD-2-Clause
/*
 * A workload for memtrace's pool advice: one site that clearly wants an
 * object pool and one that clearly does not.
 *
 *   wl_advice [SECONDS [BATCH]]     (defaults 4 and 37)
 *
 *   wl_hot_objects  batches of BATCH blocks of 64 B, all allocated then all
 *                   freed, paced to 250000 blocks/s: a fixed size, short
 *                   lives, and at most BATCH live at once (the pool's
 *                   capacity memtrace should advise);
 *   wl_long_lived   one block of a pseudo-random size (1..100 KiB) every
 *                   250 ms, never freed.
 * Runs SECONDS and exits 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define MAX_BATCH 4096
#define RATE 250000.0

static uint64_t rng = 88172645463325252ull;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE static void wl_hot_objects(void **v, unsigned batch)
{
	unsigned i;

	for (i = 0; i < batch; i++) {
		v[i] = malloc(64);
		*(volatile char *)v[i] = (char)i;
	}
	for (i = 0; i < batch; i++)
		free(v[i]);
}

NOINLINE static void *wl_long_lived(void)
{
	size_t size;
	void *p;

	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	size = 1024 + (size_t)(rng % (99 * 1024));
	p = malloc(size);
	memset(p, 1, 16);
	return p;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 4, t0, t, next_long = 0;
	unsigned batch = argc > 2 ? (unsigned)atoi(argv[2]) : 37;
	void **v = mmap(NULL, MAX_BATCH * sizeof(void *), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *volatile keep;
	uint64_t done = 0;

	if (v == MAP_FAILED || batch == 0 || batch > MAX_BATCH)
		return 2;
	t0 = now_s();
	while ((t = now_s() - t0) < seconds) {
		if (t >= next_long) {
			keep = wl_long_lived();
			(void)keep;
			next_long += 0.25;
		}
		/* Pace: never more than RATE blocks/s on average. */
		if ((double)done > t * RATE) {
			struct timespec ns = { 0, 200000 };

			nanosleep(&ns, NULL);
			continue;
		}
		wl_hot_objects(v, batch);
		done += batch;
	}
	return 0;
}
