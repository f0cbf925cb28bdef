// SPDX-License-Identifier: BSD-2-Clause
/* Storage for the USDT semaphores, in the ".probes" section where
 * systemtap, bpftrace and libbpf expect them. */
#include "probes.h"

#define MT_DEFINE_SEM(n) \
	unsigned short mtpool_##n##_semaphore __attribute__((section(".probes"), used));
MT_PROBE_SEMS(MT_DEFINE_SEM)
