/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * USDT probes, provider "mtpool". Each probe has a semaphore that a tracer
 * (memtrace, bpftrace, perf) increments when it attaches; untraced, a probe
 * costs one load of a cached 2-byte counter and a not-taken branch, and the
 * probe site itself is a nop. Probe list and arguments: docs/libmtpool.md.
 */
#ifndef MTPOOL_PROBES_H
#define MTPOOL_PROBES_H

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "internal.h"

#define MT_PROBE_SEMS(X) X(get) X(put) X(miss) X(refill) X(flush) \
	X(sc_alloc) X(sc_free) X(buf_ref) X(buf_unref) X(debug_error) \
	X(create) X(destroy)
/* Hidden by -fvisibility=hidden, except get and put: mtpool.h exports
 * those two for the inline fast path. */
#define MT_DECLARE_SEM(n) extern unsigned short mtpool_##n##_semaphore;
MT_PROBE_SEMS(MT_DECLARE_SEM)
#undef MT_DECLARE_SEM

#define MT_PROBE_ON(n) unlikely(__atomic_load_n(&mtpool_##n##_semaphore, __ATOMIC_RELAXED))
#define MT_PROBE2(n, a, b) do { if (MT_PROBE_ON(n)) STAP_PROBE2(mtpool, n, a, b); } while (0)
#define MT_PROBE3(n, a, b, c) do { if (MT_PROBE_ON(n)) STAP_PROBE3(mtpool, n, a, b, c); } while (0)
#define MT_PROBE5(n, a, b, c, d, e) \
	do { if (MT_PROBE_ON(n)) STAP_PROBE5(mtpool, n, a, b, c, d, e); } while (0)

#endif /* MTPOOL_PROBES_H */
