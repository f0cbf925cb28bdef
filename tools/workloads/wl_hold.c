// SPDX-License-Identifier: BSD-2-Clause
/*
 * A service that holds a known amount of memory, for the metrics test:
 * hold_big keeps BIG_N blocks of BIG_SZ bytes, hold_small SMALL_N of
 * SMALL_SZ, then it allocates nothing more until SIGTERM or SIGINT.
 *
 *   wl_hold [now]
 *
 * Without "now" it prints "ready" and waits for SIGUSR1 first (so a tracer
 * attached in between sees every allocation). Then it prints
 * "holding BYTES big BYTES small BYTES" and waits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define BIG_N 100
#define BIG_SZ 10000
#define SMALL_N 1000
#define SMALL_SZ 48

static void *big[BIG_N], *small[SMALL_N];

NOINLINE static void hold_big(void)
{
	for (int i = 0; i < BIG_N; i++)
		memset(big[i] = malloc(BIG_SZ), 1, BIG_SZ);
}

NOINLINE static void hold_small(void)
{
	for (int i = 0; i < SMALL_N; i++)
		memset(small[i] = malloc(SMALL_SZ), 2, SMALL_SZ);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer allocated later */
	if (!(argc > 1 && strcmp(argv[1], "now") == 0)) {
		printf("ready\n");
		do
			sigwait(&set, &sig);
		while (sig != SIGUSR1);
	}
	hold_big();
	hold_small();
	printf("holding %d big %d small %d\n", BIG_N * BIG_SZ + SMALL_N * SMALL_SZ,
	       BIG_N * BIG_SZ, SMALL_N * SMALL_SZ);
	do
		sigwait(&set, &sig);
	while (sig == SIGUSR1);
	return 0;
}
