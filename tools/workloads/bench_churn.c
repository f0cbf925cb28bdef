// SPDX-License-Identifier: BSD-2-Clause
/*
 * Benchmark workload: malloc+free pairs, the worst case for a heap tracer
 * (every call is an event, nothing else dilutes the probe cost).
 *
 *   bench_churn [--wait] [--threads T] [--size BYTES] [--rate PAIRS_PER_S] N
 *
 * Runs N pairs in total, split over T threads (default 1), each pair
 * malloc(BYTES) (default 64) then free. With --rate the threads together
 * aim at that many pairs per second: each thread sleeps to an absolute
 * deadline after every batch of 256 pairs, so a slow stretch is caught up
 * and the achieved rate is reported, not assumed. Prints one line:
 *   pairs=N seconds=S ns_per_pair=X pairs_per_s=R
 * where ns_per_pair is wall time / N per thread (T=1: the cost of one pair).
 * --wait: see tools/bench/bench_wl.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/bench_wl.h"

#define BATCH 256
#define MAX_THREADS 64

static void *volatile sink;
static long pairs_per_thread;
static size_t block_size = 64;
static double thread_rate;  /* pairs per second per thread, 0 = flat out */

NOINLINE static void churn_batch(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(block_size);

		sink = p;
		free(p);
	}
}

NOINLINE static void *churn_thread(void *arg)
{
	double start = bench_now();
	long done = 0;

	while (done < pairs_per_thread) {
		long n = pairs_per_thread - done < BATCH ? pairs_per_thread - done : BATCH;

		churn_batch(n);
		done += n;
		if (thread_rate > 0) {
			double due = start + (double)done / thread_rate;
			double wait = due - bench_now();

			if (wait > 0) {
				struct timespec ts = {
					.tv_sec = (time_t)wait,
					.tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9),
				};
				nanosleep(&ts, NULL);
			}
		}
	}
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	long nthreads = 1, total, i;
	double rate = 0, t0, t1;
	int wait = 0, a = 1;

	bench_block_signals();
	for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
		if (!strcmp(argv[a], "--wait"))
			wait = 1;
		else if (!strcmp(argv[a], "--threads") && a + 1 < argc)
			nthreads = bench_arg(argv[0], "thread count", argv[++a]);
		else if (!strcmp(argv[a], "--size") && a + 1 < argc)
			block_size = (size_t)bench_arg(argv[0], "size", argv[++a]);
		else if (!strcmp(argv[a], "--rate") && a + 1 < argc)
			rate = (double)bench_arg(argv[0], "rate", argv[++a]);
		else
			break;
	}
	if (a != argc - 1 || nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "usage: bench_churn [--wait] [--threads 1..%d] [--size BYTES] "
			"[--rate PAIRS_PER_S] N\n", MAX_THREADS);
		return 2;
	}
	total = bench_arg(argv[0], "pair count", argv[a]);
	pairs_per_thread = total / nthreads;
	thread_rate = rate / (double)nthreads;

	if (wait) {
		bench_say("ready pid=%d\n", (int)getpid());
		bench_wait_signal(SIGUSR1, 0);
	}
	t0 = bench_now();
	if (nthreads == 1) {
		churn_thread(NULL);
	} else {
		for (i = 0; i < nthreads; i++)
			if (pthread_create(&t[i], NULL, churn_thread, NULL))
				return 4;
		for (i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
	}
	t1 = bench_now();
	total = pairs_per_thread * nthreads;
	bench_say("pairs=%ld seconds=%.6f ns_per_pair=%.2f pairs_per_s=%.0f\n", total, t1 - t0,
		  (t1 - t0) * 1e9 / (double)pairs_per_thread, (double)total / (t1 - t0));
	if (wait)
		bench_wait_signal(SIGTERM, SIGINT, 0);
	return 0;
}
