// SPDX-License-Identifier: BSD-2-Clause
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mt_grow.h"

#define MT_GROW_MIN 16

size_t mt_grow_cap(size_t cap, size_t nr, size_t max)
{
	size_t n = cap > max / 2 ? max : cap * 2;

	if (n < MT_GROW_MIN)
		n = MT_GROW_MIN < max ? MT_GROW_MIN : max;
	if (n < nr)
		n = nr;
	return n <= max ? n : 0;
}

void *mt_grow_realloc(void *arr, size_t elem, size_t old, size_t n)
{
	char *p;

	if (elem && n > SIZE_MAX / elem)
		return NULL;
	p = realloc(arr, n * elem);
	if (p && n > old)
		memset(p + old * elem, 0, (n - old) * elem);
	return p;
}
