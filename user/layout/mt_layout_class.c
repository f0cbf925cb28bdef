// SPDX-License-Identifier: BSD-2-Clause
/*
 * Allocator size classes: what a request of n bytes really occupies.
 *  - glibc malloc (x86-64): chunks of max(32, round_up(n + 8, 16)) bytes,
 *    n + 8 because a chunk's size word precedes the user block; the block
 *    is usable up to the chunk minus 8 (malloc_usable_size).
 *  - jemalloc 5 (x86-64, 16-byte quantum): 8, 16, then multiples of 16 up
 *    to 128, then four classes per doubling (160, 192, 224, 256, 320, ...).
 *  - libmtpool (pool/src/sizeclass.c): 8-byte steps up to 128, then eight
 *    classes per doubling up to 32 KiB; larger requests are not pooled.
 * Checked against malloc_usable_size of the real glibc and jemalloc and
 * against analyze/mt_sizeclass.c by tests/unit/test_layout.c.
 */
#include "layout/mt_layout.h"

const char *mt_lay_alloc_name(enum mt_lay_alloc a)
{
	return a == MT_LAY_GLIBC ? "glibc" : a == MT_LAY_JEMALLOC ? "jemalloc" : "libmtpool";
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

static unsigned lg_floor(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

uint64_t mt_lay_class(enum mt_lay_alloc a, uint64_t size)
{
	uint64_t chunk, step;

	switch (a) {
	case MT_LAY_GLIBC:
		chunk = round_up(size + 8, 16);
		return (chunk < 32 ? 32 : chunk) - 8;
	case MT_LAY_JEMALLOC:
		if (size <= 8)
			return 8;
		if (size <= 128)
			return round_up(size, 16);
		step = 1ull << (lg_floor(size - 1) - 2);
		return round_up(size, step);
	case MT_LAY_MTPOOL:
		if (size > 32768)
			return 0;
		if (size <= 128)
			return size ? round_up(size, 8) : 8;
		step = 1ull << (lg_floor(size - 1) - 3);
		return round_up(size, step);
	case MT_LAY_NALLOC:
		break;
	}
	return 0;
}

uint64_t mt_lay_class_below(enum mt_lay_alloc a, uint64_t size)
{
	uint64_t c = mt_lay_class(a, size), lo;

	if (c == 0)
		return 0;
	/* The classes are increasing in the request: the class below is the
	 * class of the largest request that does not reach c. Search down
	 * from c - 1 by class steps (at most one doubling's worth). */
	for (lo = c - 1; lo > 0; lo--) {
		uint64_t b = mt_lay_class(a, lo);

		if (b < c)
			return b;
		if (a == MT_LAY_GLIBC && b == 24)
			break;
	}
	return 0;
}
