// SPDX-License-Identifier: BSD-2-Clause
/*
 * Workload for the memory view (issue 4): known mappings, faults, unmaps,
 * brk growth and releases, all from known noinline functions, so a test can
 * compute every expected count from the same arguments.
 *
 *   wl_vm [--delay S] [--hold S] NA SIZE_A NB SIZE_B TOUCH UNMAP BRK MADV
 *
 *   NA regions of SIZE_A bytes mapped by wl_vm_map_a, NB of SIZE_B by
 *   wl_vm_map_b (anonymous, private, MADV_NOHUGEPAGE so every touched page
 *   is one fault); the first TOUCH pages of each written once; the first
 *   UNMAP regions of A unmapped; the break grown by BRK bytes by
 *   wl_vm_grow_brk (sbrk) and every page of it written; MADV pages at the
 *   start of the first B region released with MADV_DONTNEED.
 * Expected, per creating function: A: NA mmaps, NA*SIZE_A mapped,
 * UNMAP munmaps, UNMAP*SIZE_A unmapped, NA*TOUCH faults; B: NB mmaps,
 * NB*SIZE_B mapped, MADV pages released, NB*TOUCH faults; brk: BRK bytes,
 * BRK/page faults.
 *
 * --delay S sleeps before starting (attach mode: time for the tracer);
 * --hold S sleeps after printing "wl_vm: done VmRSS_kB=N" to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wl_vm_util.h"

#define PAGE 4096UL

static void die(const char *what)
{
	fprintf(stderr, "wl_vm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void touch(char *p, unsigned long pages)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		((volatile char *)p)[i * PAGE] = 1;
}

/* Each calls mmap itself (no shared helper) so the creating stacks differ
 * in their first application frame. */
__attribute__((noinline)) char *wl_vm_map_a(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap a");
	return p;
}

__attribute__((noinline)) char *wl_vm_map_b(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap b");
	return p;
}

__attribute__((noinline)) char *wl_vm_grow_brk(size_t bytes)
{
	char *p = sbrk((intptr_t)bytes);

	if (p == (char *)-1)
		die("sbrk");
	return p;
}

static void prepare(char *p, size_t size, unsigned long pages)
{
	if (madvise(p, size, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	touch(p, pages);
}

int main(int argc, char **argv)
{
	unsigned long na, sa, nb, sb, tch, unmap, brk, madv, i, delay = 0, hold = 0;
	char **a, **b, *heap;

	while (argc > 2 && !strncmp(argv[1], "--", 2)) {
		if (!strcmp(argv[1], "--delay"))
			delay = wl_arg("wl_vm", argv[2]);
		else if (!strcmp(argv[1], "--hold"))
			hold = wl_arg("wl_vm", argv[2]);
		else
			break;
		argc -= 2;
		argv += 2;
	}
	if (argc != 9) {
		fprintf(stderr, "usage: wl_vm [--delay S] [--hold S] NA SIZE_A NB SIZE_B "
			"TOUCH UNMAP BRK MADV\n");
		return 2;
	}
	na = wl_arg("wl_vm", argv[1]);
	sa = wl_arg("wl_vm", argv[2]);
	nb = wl_arg("wl_vm", argv[3]);
	sb = wl_arg("wl_vm", argv[4]);
	tch = wl_arg("wl_vm", argv[5]);
	unmap = wl_arg("wl_vm", argv[6]);
	brk = wl_arg("wl_vm", argv[7]);
	madv = wl_arg("wl_vm", argv[8]);
	if (sa % PAGE || sb % PAGE || brk % PAGE || tch * PAGE > sa || tch * PAGE > sb ||
	    unmap > na || madv > tch || nb == 0) {
		fprintf(stderr, "wl_vm: sizes must be page multiples, TOUCH pages fit, "
			"UNMAP <= NA, MADV <= TOUCH, NB > 0\n");
		return 2;
	}
	a = calloc(na + 1, sizeof(*a));
	b = calloc(nb, sizeof(*b));
	if (!a || !b)
		die("calloc");
	sleep(delay);

	for (i = 0; i < na; i++) {
		a[i] = wl_vm_map_a(sa);
		prepare(a[i], sa, tch);
	}
	for (i = 0; i < nb; i++) {
		b[i] = wl_vm_map_b(sb);
		prepare(b[i], sb, tch);
	}
	for (i = 0; i < unmap; i++)
		if (munmap(a[i], sa))
			die("munmap");
	heap = wl_vm_grow_brk(brk);
	touch(heap, brk / PAGE);
	if (madv && madvise(b[0], madv * PAGE, MADV_DONTNEED))
		die("madvise(MADV_DONTNEED)");

	fprintf(stderr, "wl_vm: done VmRSS_kB=%ld\n", vmrss_kb());
	sleep(hold);
	return 0;
}
