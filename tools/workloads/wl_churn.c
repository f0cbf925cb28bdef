// SPDX-License-Identifier: BSD-2-Clause
/*
 * Allocation churn for memtrace's load and cost measurements: T threads,
 * each doing N x (malloc(SIZE); free), optionally paced to a total rate,
 * and optionally holding LIVE objects at the end (for memtrace's memory per
 * live object).
 *
 *   wl_churn [-t T] [-n N] [-r PAIRS_PER_S] [-s SIZE] [-l LIVE] [-w]
 *
 * -r 0 (default) runs flat out. -s 0 draws sizes from 16..4096 (a
 * deterministic xorshift per thread) so sampling sees a mix. -w waits for
 * SIGTERM/SIGINT before exiting (after "holding" is printed); without it
 * SIGTERM/SIGINT end the churn early. The last
 * line, on stderr: "pairs P seconds S ns_per_pair X pairs_per_s Y", where
 * ns_per_pair is wall time per pair per thread.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define BATCH 256   /* pairs between pacing checks */

static long nthreads = 1, npairs = 1000000, rate, size = 64, nlive;
static void *volatile sink;
static volatile sig_atomic_t stop;
static long done_pairs;   /* summed at thread exit */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

NOINLINE static void churn_pair(size_t sz)
{
	void *p = malloc(sz);

	sink = p;
	free(p);
}

static void *churn_thread(void *arg)
{
	uint64_t x = 88172645463325252ull ^ (uintptr_t)arg, start = now_ns();
	/* Each thread's share of the rate: pairs due by time t. */
	double per_ns = rate ? (double)rate / (double)nthreads / 1e9 : 0;

	long i;

	for (i = 0; i < npairs && !stop; i++) {
		size_t sz = (size_t)size;

		if (!sz) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			sz = 16 + x % 4081;
		}
		churn_pair(sz);
		if (per_ns && i % BATCH == BATCH - 1) {
			uint64_t due = start + (uint64_t)((double)(i + 1) / per_ns);

			while (now_ns() < due)
				;
		}
	}
	__atomic_fetch_add(&done_pairs, i, __ATOMIC_RELAXED);
	return NULL;
}

NOINLINE static void hold_live(void **v, long n)
{
	for (long i = 0; i < n; i++)
		v[i] = malloc(64);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0) {
		fprintf(stderr, "wl_churn: invalid number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	pthread_t t[64];
	int wait = 0, c;
	uint64_t t0, t1;
	double secs;
	void **live;

	while ((c = getopt(argc, argv, "t:n:r:s:l:w")) != -1) {
		switch (c) {
		case 't': nthreads = num(optarg); break;
		case 'n': npairs = num(optarg); break;
		case 'r': rate = num(optarg); break;
		case 's': size = num(optarg); break;
		case 'l': nlive = num(optarg); break;
		case 'w': wait = 1; break;
		default:
			fprintf(stderr, "usage: wl_churn [-t T] [-n N] [-r PAIRS_PER_S] [-s SIZE] [-l LIVE] [-w]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "wl_churn: -t takes 1..64\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	t0 = now_ns();
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, churn_thread, (void *)(i + 1)))
			return 5;
	for (long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	t1 = now_ns();
	secs = (double)(t1 - t0) / 1e9;
	fprintf(stderr, "pairs %ld seconds %.3f ns_per_pair %.1f pairs_per_s %.0f\n",
		done_pairs, secs, (double)(t1 - t0) * nthreads / (double)(done_pairs ? done_pairs : 1),
		(double)done_pairs / (secs > 0 ? secs : 1));
	if (nlive) {
		live = calloc((size_t)nlive, sizeof(*live));
		if (!live)
			return 4;
		hold_live(live, nlive);
	}
	if (wait) {
		fprintf(stderr, "holding\n");
		while (!stop)
			pause();
	}
	return 0;
}
