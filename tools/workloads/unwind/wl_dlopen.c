// SPDX-License-Identifier: BSD-2-Clause
/*
 * A library mapped after memtrace attached: dlopen()s libwl_dlopen.so
 * (next to this program; built -O2 -fomit-frame-pointer, so only its CFI
 * unwinds it), waits GAP_MS (the time a program takes between loading a
 * library and using it, kept well above memtrace's reaction time), then
 * makes COUNT allocations of 12360 bytes in one burst from inside it:
 * main -> wl_dl_alloc -> dl2 .. dl5 -> malloc.
 * Usage: wl_dlopen [GAP_MS [COUNT]]   (defaults 200, 100)
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void (*alloc_fn)(size_t, unsigned);

int main(int argc, char **argv)
{
	long gap_ms = argc > 1 ? atol(argv[1]) : 200;
	unsigned count = argc > 2 ? (unsigned)atol(argv[2]) : 100;
	struct timespec gap = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };
	char path[PATH_MAX], *slash;
	ssize_t n;
	alloc_fn fn;
	void *h;

	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 1;
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "libwl_dlopen.so");
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "wl_dlopen: %s\n", dlerror());
		return 1;
	}
	fn = (alloc_fn)dlsym(h, "wl_dl_alloc");
	if (!fn)
		return 1;
	nanosleep(&gap, NULL);
	fn(12360, count);
	printf("done %u\n", count);
	return 0;
}
