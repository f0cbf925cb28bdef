// SPDX-License-Identifier: BSD-2-Clause
/*
 * Benchmark workload for the soak run (tools/bench/soak.py): T threads
 * (default 4) that never pause, each replacing one of 64 slots at a time
 * (free, then malloc of 1..2048 bytes) through one of 16 call chains, so
 * the set of live blocks and of distinct stacks is bounded while events
 * never stop; every 1,000th operation maps and unmaps a page too (the
 * memory view's records). Each thread sleeps 1 ms per 100 operations, so
 * the run costs a share of a core, not all of it, under trace.
 *
 *   bench_soak [T]
 *
 * Prints "ready pid=P threads=T" and runs until SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "../bench/bench_wl.h"

#define SLOTS 64
#define CHAINS 16
#define MAX_THREADS 64

static volatile int depth_sink;

/* A chain of d frames before the malloc: 16 distinct stacks per thread
 * function, the same ones for the whole run. */
NOINLINE static void *alloc_chain(int d, size_t n)
{
	void *p;

	if (d > 0) {
		p = alloc_chain(d - 1, n);
		depth_sink += d;   /* keeps the recursion a real call */
		return p;
	}
	return malloc(n);
}

NOINLINE static void *churn_thread(void *arg)
{
	void *slot[SLOTS] = { 0 };
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
	unsigned long ops;

	for (ops = 0;; ops++) {
		unsigned i = (unsigned)rand_r(&seed) % SLOTS;

		free(slot[i]);
		slot[i] = alloc_chain(rand_r(&seed) % CHAINS, 1 + (size_t)rand_r(&seed) % 2048);
		if (ops % 1000 == 0) {
			void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m != MAP_FAILED) {
				*(volatile char *)m = 1;
				munmap(m, 4096);
			}
		}
		if (ops % 100 == 0)
			usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? bench_arg(argv[0], "thread count", argv[1]) : 4, i;
	pthread_t t;

	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: bench_soak [1..%d]\n", MAX_THREADS);
		return 2;
	}
	bench_block_signals();
	for (i = 0; i < n; i++)
		if (pthread_create(&t, NULL, churn_thread, (void *)(uintptr_t)(i + 1)))
			return 1;
	bench_say("ready pid=%d threads=%ld\n", (int)getpid(), n);
	bench_wait_signal(SIGTERM, SIGINT, 0);
	return 0;
}
