// SPDX-License-Identifier: BSD-2-Clause
/*
 * Slot churn: T threads, each owning 64 slots, each forever replacing one
 * slot (free(slot[i]); slot[i] = malloc(1 + rand() % 2048)). The program
 * never holds more than T * 64 blocks and never pauses, so a tracer that
 * detaches from it must cut its counts at one instant: any final report
 * with more live blocks than that, or with an address allocated twice
 * without a free between, counted events from either side of the cut.
 *
 *   wl_slots [-t T]
 *
 * Prints "capacity N" (the most blocks it can hold) once every thread has
 * filled its slots, then runs until killed.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SLOTS 64

static pthread_barrier_t filled;

static void *slot_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	void *slot[SLOTS] = { 0 };
	unsigned i;

	for (i = 0; i < SLOTS; i++)
		slot[i] = malloc(1 + rand_r(&seed) % 2048);
	pthread_barrier_wait(&filled);
	for (i = 0;; i = (i + 1) % SLOTS) {
		free(slot[i]);
		slot[i] = malloc(1 + rand_r(&seed) % 2048);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long nthreads = 1, t;
	pthread_t tid;
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't' || (nthreads = strtol(optarg, NULL, 10)) < 1 || nthreads > 256) {
			fprintf(stderr, "usage: wl_slots [-t THREADS (1..256)]\n");
			return 2;
		}
	}
	if (pthread_barrier_init(&filled, NULL, (unsigned)nthreads + 1))
		return 1;
	for (t = 0; t < nthreads; t++) {
		if (pthread_create(&tid, NULL, slot_thread, (void *)(uintptr_t)t)) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&filled);
	printf("capacity %ld\n", nthreads * SLOTS);
	fflush(stdout);
	for (;;)
		pause();
}
