/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Byte-based Poisson sampling (--sample-bytes, docs/sampling.md), user
 * side: the weight of a sampled allocation, and a twin of the BPF decision
 * (bpf/heap.h: mt_sample_draw, mt_sample_take) driven by a seeded generator
 * so the estimator can be tested on synthetic sequences without a kernel.
 */
#ifndef MT_SAMPLE_H
#define MT_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

/* Objects one sampled allocation of size bytes stands for, 1/p with
 * p = 1 - exp(-size / mean); 1 when mean is 0 (exact) or size is 0. */
double mt_sample_weight(uint64_t size, uint64_t mean);

/* Relative standard error of the estimated bytes of n allocations of size
 * bytes each: sqrt((1 - p) / (n * p)). For planning a test's tolerance. */
double mt_sample_rel_error(uint64_t size, uint64_t mean, uint64_t n);

/* One thread's sampler, as the BPF side keeps it in task storage. */
struct mt_sampler {
	uint64_t mean;
	int64_t countdown;
	uint64_t rng;          /* xorshift64 state, never 0 */
};

void mt_sampler_init(struct mt_sampler *s, uint64_t mean, uint64_t seed);
/* The decision for one allocation of size bytes, exactly as BPF makes it. */
bool mt_sampler_take(struct mt_sampler *s, uint64_t size);

#endif /* MT_SAMPLE_H */
