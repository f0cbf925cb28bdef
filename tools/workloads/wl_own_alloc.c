// SPDX-License-Identifier: BSD-2-Clause
/*
 * A program with its own allocator, whose calloc calls its malloc (as
 * musl's does): the executable is the allocator memtrace probes, and a
 * calloc must count as one calloc call, never also as a malloc, in exact
 * and in sampling mode alike.
 *
 *   wl_own_alloc N      N x calloc(3, 40) and N x malloc(24), all leaked
 *
 * A bump allocator over one mapping; free does nothing (sizes sit in a
 * header for realloc). Enough for the C runtime and this program.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define ARENA (256u << 20)

static char *arena, *next;

NOINLINE void *malloc(size_t n)
{
	size_t *h;

	if (!arena) {
		arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (arena == MAP_FAILED)
			_exit(4);
		next = arena;
	}
	n = (n + 15) & ~(size_t)15;
	if (n > ARENA - 16 || (size_t)(next - arena) > ARENA - 16 - n)
		return NULL;
	h = (size_t *)next;
	*h = n;
	next += 16 + n;
	return h + 2;
}

NOINLINE void free(void *p)
{
	(void)p;
}

NOINLINE void *calloc(size_t n, size_t s)
{
	void *p;

	if (s && n > SIZE_MAX / s)
		return NULL;
	p = malloc(n * s);   /* the nesting under test */
	if (p)
		memset(p, 0, n * s);
	return p;
}

NOINLINE void *realloc(void *old, size_t n)
{
	void *p = malloc(n);
	size_t was = old ? ((size_t *)old)[-2] : 0;

	if (p && old)
		memcpy(p, old, was < n ? was : n);
	return p;
}

static void *volatile sink;

NOINLINE static void wl_own_callocs(long n)
{
	for (long i = 0; i < n; i++)
		sink = calloc(3, 40);
}

NOINLINE static void wl_own_mallocs(long n)
{
	for (long i = 0; i < n; i++)
		sink = malloc(24);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;

	wl_own_callocs(n);
	wl_own_mallocs(n);
	return 0;
}
