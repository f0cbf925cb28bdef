// SPDX-License-Identifier: BSD-2-Clause
/* Built -O2 -fomit-frame-pointer as a shared library (libwl_unwind.so). */
#include "wl_unwind_lib.h"

#define NI __attribute__((noinline))
/* an empty asm after each call: no tail call folds a frame away */
#define KEEP() __asm__ volatile("" ::: "memory")

NI static void wl_lib_deep(wl_cb cb, size_t n)
{
	cb(n);
	KEEP();
}

NI static void wl_lib_inner(wl_cb cb, size_t n)
{
	wl_lib_deep(cb, n);
	KEEP();
}

void wl_lib_walk(wl_cb cb, size_t n)
{
	wl_lib_inner(cb, n);
	KEEP();
}
