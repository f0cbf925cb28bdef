// SPDX-License-Identifier: BSD-2-Clause
/*
 * The bystander of tools/bench/vmtax.py: a process memtrace does not trace,
 * timing its own syscalls and page faults while memtrace watches another
 * process. "getppid N": N getppid() calls in batches of 10,000, ns per
 * call of the fastest batch (a tax is added to every call; the other
 * engineers' load on this shared machine only ever slows a batch down, so
 * the fastest one shows the tax best). "fault N": N rounds of mmap 4 MiB,
 * touch each page, munmap; ns per page of the fastest round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0, i;
	const size_t len = 4u << 20;
	double t0;

	if (argc != 3 || n <= 0 || (strcmp(argv[1], "getppid") && strcmp(argv[1], "fault"))) {
		fprintf(stderr, "usage: syscall_tax getppid|fault N\n");
		return 2;
	}
	if (strcmp(argv[1], "getppid") == 0) {
		const long batch = 10000;
		double best = 1e30;

		for (i = 0; i < n; i += batch) {
			t0 = now_ns();
			for (long j = 0; j < batch; j++)
				syscall(SYS_getppid);   /* no libc caching, a real syscall */
			if ((now_ns() - t0) / batch < best)
				best = (now_ns() - t0) / batch;
		}
		printf("%.1f\n", best);
		return 0;
	}
	double best = 1e30;

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		munmap(p, len);
		if ((now_ns() - t0) / (len / 4096) < best)
			best = (now_ns() - t0) / (len / 4096);
	}
	printf("%.1f\n", best);
	return 0;
}
