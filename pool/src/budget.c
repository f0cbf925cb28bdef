// SPDX-License-Identifier: BSD-2-Clause
/*
 * Memory budgets. Charged only when a pool takes memory from the system,
 * never on cache hits; an unlimited budget is one relaxed atomic add.
 */
#include "internal.h"

void mtpool__budget_init(struct mt_budget *b, const struct mtpool_budget *cfg, const char *name)
{
	b->limit = cfg ? cfg->limit : 0;
	b->on_exceed = cfg ? cfg->on_exceed : NULL;
	b->arg = cfg ? cfg->arg : NULL;
	b->name = name;
	b->used = 0;
	b->denied = 0;
}

int mtpool__budget_charge(struct mt_budget *b, size_t n)
{
	size_t used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);

	if (!b->limit) {
		MT_ADD(b->used, n);
		return 0;
	}
	for (;;) {
		if (used + n > b->limit || used + n < used) {
			/* The callback may free memory or raise its own limit;
			 * its answer decides this one request. */
			if (b->on_exceed && b->on_exceed(b->arg, b->name, used, n, b->limit)) {
				MT_ADD(b->used, n);
				return 0;
			}
			MT_ADD(b->denied, 1);
			return -ENOMEM;
		}
		if (__atomic_compare_exchange_n(&b->used, &used, used + n, true,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return 0;
	}
}

void mtpool__budget_uncharge(struct mt_budget *b, size_t n)
{
	__atomic_fetch_sub(&b->used, n, __ATOMIC_RELAXED);
}
