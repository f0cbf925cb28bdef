/* SPDX-License-Identifier: BSD-2-Clause */
/* The library half of wl_unwind: calls back into the program. */
#ifndef WL_UNWIND_LIB_H
#define WL_UNWIND_LIB_H

#include <stddef.h>

typedef void (*wl_cb)(size_t n);

/* wl_lib_walk -> wl_lib_inner -> wl_lib_deep -> cb(n) */
void wl_lib_walk(wl_cb cb, size_t n);

#endif
