/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocation rate per site, for --sort rate: calls per second since the
 * previous report (over the whole run for the first one). Cost: 16 bytes
 * per site, one pass over the sites per report.
 */
#ifndef MT_OUT_RATE_H
#define MT_OUT_RATE_H

#include <stdint.h>
#include "collect/mt_agg.h"

struct mt_out_rate {
	uint64_t *prev;           /* allocs per site at the previous update */
	double *rate;             /* calls/s per site over the last period */
	uint32_t n, cap;
	uint64_t prev_ns;
};

/* Take the rates since the previous update (or since a's start). 0 or
 * -ENOMEM (the rates then stay those of the previous update). */
int mt_out_rate_update(struct mt_out_rate *rt, const struct mt_agg *a, uint64_t now_ns);
/* struct mt_report_opts score for MT_SORT_RATE: arg is the mt_out_rate. */
double mt_out_rate_score(void *arg, uint32_t site);
void mt_out_rate_release(struct mt_out_rate *rt);

#endif /* MT_OUT_RATE_H */
