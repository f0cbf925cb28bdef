// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output/mt_out_rate.h"

int mt_out_rate_update(struct mt_out_rate *rt, const struct mt_agg *a, uint64_t now_ns)
{
	uint32_t n = mt_agg_nsites(a), i;
	uint64_t since = rt->prev_ns ? rt->prev_ns : mt_agg_start_ns(a);
	double secs = now_ns > since ? (double)(now_ns - since) / 1e9 : 0;

	if (n > rt->cap) {
		uint64_t *p = realloc(rt->prev, n * sizeof(*p));
		double *q = p ? realloc(rt->rate, n * sizeof(*q)) : NULL;

		if (p)
			rt->prev = p;
		if (!q)
			return -ENOMEM;
		rt->rate = q;
		memset(rt->prev + rt->cap, 0, (n - rt->cap) * sizeof(*p));
		rt->cap = n;
	}
	for (i = 0; i < n; i++) {
		uint64_t allocs = mt_agg_site_get(a, i)->c.allocs;

		rt->rate[i] = secs > 0 ? (double)(allocs - rt->prev[i]) / secs : 0;
		rt->prev[i] = allocs;
	}
	rt->n = n;
	rt->prev_ns = now_ns;
	return 0;
}

double mt_out_rate_score(void *arg, uint32_t site)
{
	const struct mt_out_rate *rt = arg;

	return site < rt->n ? rt->rate[site] : 0;
}

void mt_out_rate_release(struct mt_out_rate *rt)
{
	free(rt->prev);
	free(rt->rate);
	memset(rt, 0, sizeof(*rt));
}
