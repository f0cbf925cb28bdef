// SPDX-License-Identifier: BSD-2-Clause
/*
 * Benchmark workload: holds M live objects, for the tracer's memory per
 * live object.
 *
 *   bench_live [--wait] [--size BYTES] M
 *
 * Allocates M blocks of BYTES (default 16) and keeps them; the pointer
 * array comes from mmap so the tracer sees exactly M allocations. Prints
 * "live=M seconds=S", then (with --wait) holds them until SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../bench/bench_wl.h"

NOINLINE static void live_fill(void **v, long m, size_t size)
{
	for (long i = 0; i < m; i++)
		v[i] = malloc(size);
}

int main(int argc, char **argv)
{
	size_t size = 16;
	int wait = 0, a = 1;
	double t0;
	void **v;
	long m;

	bench_block_signals();
	for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
		if (!strcmp(argv[a], "--wait"))
			wait = 1;
		else if (!strcmp(argv[a], "--size") && a + 1 < argc)
			size = (size_t)bench_arg(argv[0], "size", argv[++a]);
		else
			break;
	}
	if (a != argc - 1) {
		fprintf(stderr, "usage: bench_live [--wait] [--size BYTES] M\n");
		return 2;
	}
	m = bench_arg(argv[0], "object count", argv[a]);
	v = mmap(NULL, (size_t)(m > 0 ? m : 1) * sizeof(*v), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return 4;
	if (wait) {
		bench_say("ready pid=%d\n", (int)getpid());
		bench_wait_signal(SIGUSR1, 0);
	}
	t0 = bench_now();
	live_fill(v, m, size);
	bench_say("live=%ld seconds=%.6f\n", m, bench_now() - t0);
	if (wait)
		bench_wait_signal(SIGTERM, SIGINT, 0);
	return 0;
}
