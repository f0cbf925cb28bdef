// SPDX-License-Identifier: BSD-2-Clause
/* Debug-mode reports and poisoning shared by every pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"

static mtpool_error_fn *mt_err_fn;
static void *mt_err_arg;

void mtpool_set_error_handler(mtpool_error_fn *fn, void *arg)
{
	__atomic_store_n(&mt_err_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&mt_err_fn, fn, __ATOMIC_RELEASE);
}

MT_SLOW_FRAME void mtpool__report(const char *what, const char *pool, const void *addr)
{
	mtpool_error_fn *fn = __atomic_load_n(&mt_err_fn, __ATOMIC_ACQUIRE);

	MT_PROBE3(debug_error, what, pool, addr);
	if (fn) {
		fn(__atomic_load_n(&mt_err_arg, __ATOMIC_RELAXED), what, pool, addr);
		return;
	}
	fprintf(stderr, "mtpool: %s of %p in pool '%s'\n", what, addr, pool);
	abort();
}

void mtpool__poison_fill(void *p, size_t n)
{
	memset(p, MT_POISON_BYTE, n);
}

size_t mtpool__poison_check(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != MT_POISON_BYTE)
			return i;
	return n;
}

void mtpool__copy_name(char *dst, const char *name, const char *dflt)
{
	snprintf(dst, MT_NAME_MAX, "%s", name && *name ? name : dflt);
}
