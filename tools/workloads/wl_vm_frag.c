// SPDX-License-Identifier: BSD-2-Clause
/*
 * Workload for the memory view's efficiency figure: a heap of N objects of
 * SIZE bytes from malloc (below the mmap threshold, so all in [heap]), every
 * byte written; in "sparse" mode every other object is then freed. Freed
 * chunks between live ones cannot be returned to the system, so the heap's
 * resident bytes stay while live bytes halve.
 *
 *   wl_vm_frag [--delay S] [--hold S] compact|sparse N SIZE
 *
 * Prints "wl_vm_frag: done live_bytes=L VmRSS_kB=R" to stderr, then holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wl_vm_util.h"

__attribute__((noinline)) void **wl_vm_frag_fill(unsigned long n, size_t size)
{
	void **v = calloc(n, sizeof(*v));
	unsigned long i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = malloc(size);
		if (!v[i])
			return NULL;
		memset(v[i], 0x5a, size);
	}
	return v;
}

__attribute__((noinline)) void wl_vm_frag_thin(void **v, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i += 2) {
		free(v[i]);
		v[i] = NULL;
	}
}

int main(int argc, char **argv)
{
	unsigned long n, size, delay = 0, hold = 0, live;
	int sparse;
	void **v;

	while (argc > 2 && !strncmp(argv[1], "--", 2)) {
		if (!strcmp(argv[1], "--delay"))
			delay = wl_arg("wl_vm_frag", argv[2]);
		else if (!strcmp(argv[1], "--hold"))
			hold = wl_arg("wl_vm_frag", argv[2]);
		else
			break;
		argc -= 2;
		argv += 2;
	}
	if (argc != 4 || (strcmp(argv[1], "compact") && strcmp(argv[1], "sparse"))) {
		fprintf(stderr, "usage: wl_vm_frag [--delay S] [--hold S] compact|sparse N SIZE\n");
		return 2;
	}
	sparse = !strcmp(argv[1], "sparse");
	n = wl_arg("wl_vm_frag", argv[2]);
	size = wl_arg("wl_vm_frag", argv[3]);
	sleep(delay);
	v = wl_vm_frag_fill(n, size);
	if (!v) {
		fprintf(stderr, "wl_vm_frag: out of memory\n");
		return 1;
	}
	live = n * size;
	if (sparse) {
		wl_vm_frag_thin(v, n);
		live -= ((n + 1) / 2) * size;
	}
	fprintf(stderr, "wl_vm_frag: done live_bytes=%lu VmRSS_kB=%ld\n", live, vmrss_kb());
	sleep(hold);
	return 0;
}
