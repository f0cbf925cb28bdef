// SPDX-License-Identifier: BSD-2-Clause
/*
 * A workload for the overhead budget (tests/e2e/t65-budget.sh, make bench):
 * T worker threads that each "serve requests": a request allocates from
 * ten sites of different weights (wl_site0 most often, wl_site9 least),
 * frees most blocks at once and keeps some in a per-thread ring of RING
 * entries (lifetimes of many requests, so many frees fall outside any
 * duty-cycle window: churn that must not become a leak). One thread leaks
 * a 256-byte block from wl_planted_leak every 10 ms.
 *
 *   wl_budget [-t T] [-r REQ_PER_S] [-s SECONDS]
 *
 * -r 0 (default) runs flat out; otherwise requests are paced to that total
 * rate until SIGUSR1 (a server whose load comes after the attach), then
 * flat out. Prints "ready" once running; at the end (SECONDS, or SIGTERM /
 * SIGINT) prints "requests N seconds S per_s X" on stderr.
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
#define RING 512
#define NSITES 10

static long nthreads = 2, rate;
static double seconds = 1e9;
static volatile sig_atomic_t stop, unpaced;
static long total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *volatile sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Ten distinct call sites: the stack tells them apart. */
#define SITE(n) NOINLINE static void *wl_site##n(size_t sz) { void *p = malloc(sz); sink = p; return p; }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9)
static void *(*const sites[NSITES])(size_t) = {
	wl_site0, wl_site1, wl_site2, wl_site3, wl_site4,
	wl_site5, wl_site6, wl_site7, wl_site8, wl_site9,
};

NOINLINE static void *wl_planted_leak(void)
{
	void *p = malloc(256);

	if (p)
		memset(p, 0xab, 256);
	return p;
}

/* One request: site k is called 10 - k times (55 calls); one block in
 * eight goes into the ring, whose oldest is then freed. */
NOINLINE static void wl_request(void **ring, unsigned *pos, uint64_t *x)
{
	for (int k = 0; k < NSITES; k++)
		for (int i = 0; i < NSITES - k; i++) {
			size_t sz;
			void *p;

			*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
			sz = 16 + (*x % 480);
			p = sites[k](sz);
			if ((*x >> 32) % 8 == 0) {
				free(ring[*pos]);
				ring[*pos] = p;
				*pos = (*pos + 1) % RING;
			} else {
				free(p);
			}
		}
}

static void *worker(void *arg)
{
	void **ring = calloc(RING, sizeof(*ring));
	uint64_t x = 88172645463325252ull ^ ((uintptr_t)arg * 0x9e3779b97f4a7c15ull);
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
	double per_ns = rate ? (double)rate / (double)nthreads / 1e9 : 0;
	unsigned pos = 0;
	long n = 0;

	if (!ring)
		return NULL;
	while (!stop) {
		uint64_t t;

		wl_request(ring, &pos, &x);
		n++;
		if ((n & 15) == 0 || per_ns) {
			t = now_ns();
			if (t >= end)
				break;
			if (per_ns && !unpaced && (double)n > (double)(t - start) * per_ns) {
				uint64_t due = start + (uint64_t)((double)n / per_ns);

				if (due > t)
					usleep((useconds_t)((due - t) / 1000));
			}
		}
	}
	for (unsigned i = 0; i < RING; i++)
		free(ring[i]);
	free(ring);
	pthread_mutex_lock(&mu);
	total += n;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *leaker(void *arg)
{
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);

	(void)arg;
	while (!stop && now_ns() < end) {
		sink = wl_planted_leak();
		usleep(10000);
	}
	return NULL;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_unpace(int sig)
{
	(void)sig;
	unpaced = 1;
}

int main(int argc, char **argv)
{
	pthread_t th[64], lk;
	uint64_t t0;
	double s;
	int c;

	while ((c = getopt(argc, argv, "t:r:s:")) != -1) {
		switch (c) {
		case 't': nthreads = atol(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 's': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: wl_budget [-t T] [-r REQ_PER_S] [-s SECONDS]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64 || rate < 0 || seconds <= 0) {
		fprintf(stderr, "wl_budget: bad arguments\n");
		return 2;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGUSR1, on_unpace);
	t0 = now_ns();
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(i + 1))) {
			fprintf(stderr, "wl_budget: cannot create a thread\n");
			return 1;
		}
	if (pthread_create(&lk, NULL, leaker, NULL)) {
		fprintf(stderr, "wl_budget: cannot create a thread\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	stop = 1;
	pthread_join(lk, NULL);
	s = (double)(now_ns() - t0) / 1e9;
	fprintf(stderr, "requests %ld seconds %.3f per_s %.1f\n", total, s, (double)total / s);
	return 0;
}
