// SPDX-License-Identifier: BSD-2-Clause
/*
 * Benchmark workload: T idle threads (default 8), for attach and detach
 * time. Every thread has made one malloc before "ready", so the allocator
 * has set up its per-thread state as in a real program.
 *
 *   bench_threads [T]
 *
 * Prints "ready pid=P threads=T" and waits for SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <stdlib.h>

#include "../bench/bench_wl.h"

#define MAX_THREADS 64

static void *volatile sink;
static pthread_barrier_t started;

NOINLINE static void *idle_thread(void *arg)
{
	sink = malloc(32);
	pthread_barrier_wait(&started);
	/* The signals stay blocked here (the mask is inherited), so only the
	 * main thread's sigwait takes them and pause() never returns. */
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;
	long n = argc > 1 ? bench_arg(argv[0], "thread count", argv[1]) : 8;

	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: bench_threads [1..%d]\n", MAX_THREADS);
		return 2;
	}
	bench_block_signals();
	pthread_barrier_init(&started, NULL, (unsigned)n + 1);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, NULL, idle_thread, NULL))
			return 4;
	pthread_barrier_wait(&started);
	bench_say("ready pid=%d threads=%ld\n", (int)getpid(), n);
	bench_wait_signal(SIGTERM, SIGINT, 0);
	return 0;
}
