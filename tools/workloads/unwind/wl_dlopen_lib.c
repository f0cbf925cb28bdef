// SPDX-License-Identifier: BSD-2-Clause
/* Built -O2 -fomit-frame-pointer as libwl_dlopen.so, and only dlopen()ed
 * (tools/workloads/unwind/wl_dlopen.c): its code is mapped after memtrace
 * attached, so its unwind tables are built while the program runs. */
#include <stdlib.h>

#define NI __attribute__((noinline))
/* an empty asm after each call: no tail call folds a frame away */
#define KEEP() __asm__ volatile("" ::: "memory")

void *wl_dl_keep[1024];

NI static void dl5(size_t n, unsigned i) { wl_dl_keep[i % 1024] = malloc(n); KEEP(); }
NI static void dl4(size_t n, unsigned i) { dl5(n, i); KEEP(); }
NI static void dl3(size_t n, unsigned i) { dl4(n, i); KEEP(); }
NI static void dl2(size_t n, unsigned i) { dl3(n, i); KEEP(); }

/* n-byte blocks, count of them, each through dl1 .. dl5: kept live */
void wl_dl_alloc(size_t n, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		dl2(n, i);
	KEEP();
}
