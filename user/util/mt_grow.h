/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one way an array grows (git's ALLOC_GROW, returning an error instead
 * of dying). MT_GROW(arr, nr, cap) makes room for nr elements in arr, whose
 * capacity (in elements) is the unsigned lvalue cap: when nr > cap it
 * reallocates to max(nr, 2 * cap, 16) elements, zeroes the new tail and
 * updates arr and cap. Evaluates to 0, or -ENOMEM with arr and cap
 * unchanged (the old array stays valid and owned by the caller).
 *
 *   struct mt_site *sites = NULL;
 *   uint32_t n = 0, cap = 0;
 *
 *   if (MT_GROW(sites, n + 1, cap))
 *           return -ENOMEM;
 *   sites[n++] = site;
 *
 * Doubling makes appends amortized O(1): each element is copied about once
 * more by later growth, and the tail is zeroed once. Arrays that share one
 * capacity (parallel columns) each grow with their own copy of it: the
 * policy is a function of (cap, nr), so the copies stay equal.
 * arr, nr and cap are evaluated more than once: pass plain lvalues.
 */
#ifndef MT_GROW_H
#define MT_GROW_H

#include <errno.h>
#include <stddef.h>

/* The capacity, in elements, MT_GROW grows cap to for nr elements (at most
 * max, the largest the caller's cap type holds); 0 when that is too few. */
size_t mt_grow_cap(size_t cap, size_t nr, size_t max);
/* arr resized from old to n elements of elem bytes, elements from old on
 * zeroed; NULL (arr untouched) on overflow or out of memory. */
void *mt_grow_realloc(void *arr, size_t elem, size_t old, size_t n);

#define MT_GROW(arr, nr, cap) __extension__ ({                                  \
	_Static_assert((__typeof__(cap))-1 > 0, "MT_GROW: cap must be unsigned"); \
	int mt_grow_err_ = 0;                                                   \
	if ((size_t)(nr) > (size_t)(cap)) {                                     \
		size_t mt_grow_n_ = mt_grow_cap((cap), (nr), (__typeof__(cap))-1); \
		void *mt_grow_p_ = mt_grow_n_ ? mt_grow_realloc((arr), sizeof(*(arr)), \
								(cap), mt_grow_n_) : NULL; \
		if (mt_grow_p_) {                                               \
			(arr) = mt_grow_p_;                                     \
			(cap) = (__typeof__(cap))mt_grow_n_;                    \
		} else {                                                        \
			mt_grow_err_ = -ENOMEM;                                 \
		}                                                               \
	}                                                                       \
	mt_grow_err_; })

#endif /* MT_GROW_H */
