// SPDX-License-Identifier: BSD-2-Clause
/* MTPOOL_DISABLE and MTPOOL_DEBUG: read once, then a cached int. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef MTPOOL_DEBUG_DEFAULT
#define MTPOOL_DEBUG_DEFAULT 0
#endif

static int mt_env_flags = -1;

static int env_true(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

/* Races between first callers are harmless: all compute the same value. */
int mtpool__env(void)
{
	int f = __atomic_load_n(&mt_env_flags, __ATOMIC_RELAXED);

	if (likely(f >= 0))
		return f;
	f = 0;
	if (env_true("MTPOOL_DISABLE"))
		f |= MT_ENV_DISABLE;
	if (MTPOOL_DEBUG_DEFAULT || env_true("MTPOOL_DEBUG"))
		f |= MT_ENV_DEBUG;
	__atomic_store_n(&mt_env_flags, f, __ATOMIC_RELAXED);
	return f;
}

int mtpool_disabled(void)
{
	return !!(mtpool__env() & MT_ENV_DISABLE);
}

int mtpool_debug_default(void)
{
	return !!(mtpool__env() & MT_ENV_DEBUG);
}

/* Read the environment before main(), while the process is single-threaded. */
__attribute__((constructor)) static void mt_env_init(void)
{
	(void)mtpool__env();
}
