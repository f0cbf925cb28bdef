// SPDX-License-Identifier: BSD-2-Clause
/*
 * Benchmark workload: allocations from 2^D distinct call stacks, for the
 * symbolizer's cost per stack.
 *
 *   bench_stacks [--wait] D
 *
 * A binary tree of calls D levels deep: at level i descend() calls
 * path_a() or path_b() by bit i of the leaf number, from two different
 * call sites, so each of the 2^D leaves is reached by its own stack. Each
 * leaf allocates one 24-byte block and keeps it, so every stack is still
 * live (a leak candidate) when the report is built. D <= 16; the stacks are
 * D*2 + 4 frames deep, inside the tracer's 32.
 * Prints "stacks=N seconds=S", then (with --wait) waits for SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/bench_wl.h"

static void *volatile sink;

static void descend(int level, unsigned long leaf, int depth);

NOINLINE static void path_a(int level, unsigned long leaf, int depth)
{
	descend(level + 1, leaf, depth);
}

NOINLINE static void path_b(int level, unsigned long leaf, int depth)
{
	descend(level + 1, leaf, depth);
}

NOINLINE static void descend(int level, unsigned long leaf, int depth)
{
	if (level == depth)
		sink = malloc(24);
	else if (leaf >> level & 1)
		path_b(level, leaf, depth);
	else
		path_a(level, leaf, depth);
}

int main(int argc, char **argv)
{
	int wait = 0, a = 1;
	unsigned long n;
	double t0;
	long d;

	bench_block_signals();
	if (a < argc && !strcmp(argv[a], "--wait")) {
		wait = 1;
		a++;
	}
	if (a != argc - 1) {
		fprintf(stderr, "usage: bench_stacks [--wait] D\n");
		return 2;
	}
	d = bench_arg(argv[0], "depth", argv[a]);
	if (d > 16) {
		fprintf(stderr, "bench_stacks: depth %ld > 16\n", d);
		return 2;
	}
	if (wait) {
		bench_say("ready pid=%d\n", (int)getpid());
		bench_wait_signal(SIGUSR1, 0);
	}
	n = 1ul << d;
	t0 = bench_now();
	for (unsigned long leaf = 0; leaf < n; leaf++)
		descend(0, leaf, (int)d);
	bench_say("stacks=%lu seconds=%.6f\n", n, bench_now() - t0);
	if (wait)
		bench_wait_signal(SIGTERM, SIGINT, 0);
	return 0;
}
