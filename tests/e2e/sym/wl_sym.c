// SPDX-License-Identifier: BSD-2-Clause
/* Workload of the symbolizer tests (t95-t98): an allocator wrapper of the
 * program's own, static functions (named only by .symtab or debug info),
 * and a function inlined into its caller. Built by the tests, -O2 -g with
 * frame pointers; noipa keeps the names free of GCC's clone suffixes.
 * "wl_sym loop" repeats the work until killed, for attach mode. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile wl_sink[4096];

__attribute__((noipa)) void *my_xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

static inline __attribute__((always_inline)) char *make_copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);          /* WL_INLINE_MALLOC */

	if (p)
		memcpy(p, s, n);
	return p;
}

__attribute__((noipa)) static void via_wrapper(int i)
{
	free(wl_sink[i]);
	wl_sink[i] = my_xmalloc(100 + (size_t)(i % 3));
}

__attribute__((noipa)) static void dup_names(int i, const char *s)
{
	free(wl_sink[2048 + i]);
	wl_sink[2048 + i] = make_copy(s);   /* WL_INLINE_CALL */
}

int main(int argc, char **argv)
{
	int loop = argc > 1 && !strcmp(argv[1], "loop");

	do {
		for (int i = 0; i < 2000; i++) {
			via_wrapper(i);
			dup_names(i, argc > 5 ? argv[1] : "some name");
		}
		if (loop)
			usleep(20000);
	} while (loop);
	return 0;
}
