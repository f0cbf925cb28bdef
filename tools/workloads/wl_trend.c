// SPDX-License-Identifier: BSD-2-Clause
/*
 * A workload for memtrace's leak-by-trend analysis: four behaviours, each in
 * its own function so stacks tell them apart.
 *
 *   wl_trend [SECONDS]      (default 70)
 *
 *   wl_cache_put    a cache of CACHE_N entries of 512 B: filled at one insert
 *                   per 2 ms (2 s), then each insert evicts a random entry,
 *                   so its live bytes plateau;
 *   wl_slow_leak    one block of 256 B every 50 ms, never freed;
 *   wl_burst_alloc  BURST_N blocks of 4 KiB at t = 10 s, freed by
 *                   wl_burst_free at t = 30 s;
 *   wl_churn        10 short-lived blocks of 16..2047 B every millisecond.
 * Prints "ready" and waits for SIGUSR1 (so a tracer attached in between sees
 * the whole run), runs SECONDS, prints "done" and waits for SIGTERM.
 * Pointer arrays come from mmap so the heap probes see only the above.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define CACHE_N 1000
#define BURST_N 2000
#define LEAK_MAX 100000

static void *volatile sink;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		_exit(3);
}

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static void **ptr_array(size_t n)
{
	void *p = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE static void wl_cache_put(void **cache, unsigned *n)
{
	unsigned v = *n < CACHE_N ? (*n)++ : rnd() % CACHE_N;

	free(cache[v]);   /* NULL while filling */
	cache[v] = malloc(512);
	memset(cache[v], 1, 512);
}

NOINLINE static void wl_slow_leak(void **kept, unsigned *n)
{
	void *p = malloc(256);

	memset(p, 2, 256);
	if (*n < LEAK_MAX)
		kept[(*n)++] = p;
}

NOINLINE static void wl_burst_alloc(void **b)
{
	for (unsigned i = 0; i < BURST_N; i++) {
		b[i] = malloc(4096);
		memset(b[i], 3, 64);
	}
}

NOINLINE static void wl_burst_free(void **b)
{
	for (unsigned i = 0; i < BURST_N; i++)
		free(b[i]);
}

NOINLINE static void wl_churn(void)
{
	for (unsigned i = 0; i < 10; i++) {
		void *p = malloc(16 + rnd() % 2032);

		sink = p;
		free(p);
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 70, t0, t, next_cache, next_leak;
	void **cache = ptr_array(CACHE_N), **leak = ptr_array(LEAK_MAX), **burst = ptr_array(BURST_N);
	unsigned ncache = 0, nleak = 0, burst_state = 0;
	struct timespec ms = { 0, 1000000 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	say("ready\n");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigwait(&set, &sig);
	t0 = now_s();
	next_cache = next_leak = 0;
	while ((t = now_s() - t0) < seconds) {
		while (next_cache <= t) {
			wl_cache_put(cache, &ncache);
			next_cache += 0.002;
		}
		while (next_leak <= t) {
			wl_slow_leak(leak, &nleak);
			next_leak += 0.050;
		}
		if (burst_state == 0 && t >= 10) {
			wl_burst_alloc(burst);
			burst_state = 1;
		} else if (burst_state == 1 && t >= 30) {
			wl_burst_free(burst);
			burst_state = 2;
		}
		wl_churn();
		nanosleep(&ms, NULL);
	}
	say("done\n");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	return 0;
}
