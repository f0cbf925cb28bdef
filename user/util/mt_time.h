/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one clock: CLOCK_MONOTONIC in nanoseconds, the time base of every
 * timestamp memtrace keeps (BPF's bpf_ktime_get_ns() reads the same clock,
 * so kernel-side and user-side times compare directly).
 */
#ifndef MT_TIME_H
#define MT_TIME_H

#include <stdint.h>
#include <time.h>

#define MT_NS_PER_S 1000000000ull

static inline uint64_t mt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MT_NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif /* MT_TIME_H */
