// SPDX-License-Identifier: BSD-2-Clause
/*
 * Threads that exit with a full allocator cache, for memtrace's test of
 * allocator-internal calls (tests/e2e/t17-internal-calls.sh).
 *
 *   wl_thread_exit THREADS ROUNDS
 *
 * Each thread, ROUNDS times: 64 blocks of 64 sizes (8, 24, ... 1016 B)
 * allocated, then all freed (wl_fill); then it returns. Its frees leave
 * up to 7 chunks per size in glibc's per-thread cache, which glibc frees
 * when the thread exits: calls of free that the program never made.
 * The program's own calls: THREADS * ROUNDS * 64 mallocs and as many frees.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static long rounds;

NOINLINE static void wl_fill(void)
{
	void *v[64];
	int i;

	for (i = 0; i < 64; i++)
		v[i] = malloc(16 * (size_t)i + 8);
	for (i = 0; i < 64; i++)
		free(v[i]);
}

static void *body(void *arg)
{
	for (long r = 0; r < rounds; r++)
		wl_fill();
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[64];
	long n, i;

	if (argc != 3 || (n = atol(argv[1])) < 1 || n > 64 || (rounds = atol(argv[2])) < 0) {
		static const char usage[] = "usage: wl_thread_exit THREADS(1-64) ROUNDS\n";

		if (write(2, usage, strlen(usage)) < 0)
			return 2;
		return 2;
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, body, NULL))
			return 3;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
