// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <linux/types.h>

#include "heap.h"
#include "collect/mt_sample.h"

double mt_sample_weight(uint64_t size, uint64_t mean)
{
	double p;

	if (!mean || !size)
		return 1.0;
	/* expm1 keeps the precision of small size / mean ratios. */
	p = -expm1(-(double)size / (double)mean);
	return p > 0 ? 1.0 / p : 1.0;
}

double mt_sample_rel_error(uint64_t size, uint64_t mean, uint64_t n)
{
	double p = mean && size ? -expm1(-(double)size / (double)mean) : 1.0;

	return n && p > 0 ? sqrt((1 - p) / ((double)n * p)) : 0.0;
}

static uint32_t next_u32(struct mt_sampler *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 32);
}

void mt_sampler_init(struct mt_sampler *s, uint64_t mean, uint64_t seed)
{
	s->mean = mean;
	s->rng = seed ? seed : 88172645463325252ull;
	s->countdown = mt_sample_draw(mean, next_u32(s));
}

bool mt_sampler_take(struct mt_sampler *s, uint64_t size)
{
	__s64 cd = s->countdown;
	bool sampled = mt_sample_take(&cd, size);

	if (sampled)
		cd = mt_sample_draw(s->mean, next_u32(s));
	s->countdown = cd;
	return sampled;
}
