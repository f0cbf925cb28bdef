/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to libmtpool: helpers every component uses.
 *
 * Symbol names. The public API is what mtpool.h declares MTPOOL_API, all
 * named mtpool_* (types and macros mtpool_/MTPOOL_). Every other function
 * or variable of pool/src/ with external linkage is internal and named
 * mtpool__NAME (two underscores: C++ reserves such names and C code does
 * not use them, so no user symbol collides) and declared MT_HIDDEN. Static
 * functions, types and macros keep the short mt_/MT_ prefix: they never
 * reach a symbol table that users link against. The USDT semaphores are
 * named by sys/sdt.h, mtpool_PROBE_semaphore; only get's and put's are API.
 *
 * Keeping internals out of the user's namespace: libmtpool.so is built with
 * -fvisibility=hidden, so only MTPOOL_API reaches its dynamic symbol table;
 * libmtpool.a is one object in which pool/pool.mk made every hidden symbol
 * local. tests/e2e/t05-pool-symbols.sh checks both libraries.
 */
#ifndef MTPOOL_INTERNAL_H
#define MTPOOL_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtpool.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define MT_HIDDEN   __attribute__((visibility("hidden")))
#define MT_NOINLINE __attribute__((noinline))
/* Slow paths with probes keep a frame pointer, so a tracer's frame-pointer
 * walk from their probes (memtrace's pool events, debug errors) reaches
 * the caller. The fast paths stay frameless: a frame there costs ~3 ns per
 * get+put (docs/BENCHMARKS.md); a walk from their probe starts at the
 * caller's frame, and the tracer takes the return address at the stack
 * pointer for the caller. */
#define MT_SLOW_FRAME __attribute__((optimize("no-omit-frame-pointer")))

/*
 * Counters owned by one thread but read by stats from any thread. Relaxed
 * atomics compile to plain moves on x86 (no lock prefix) and keep TSan and
 * the C memory model satisfied.
 */
#define MT_RD(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define MT_WR(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define MT_INC(x)   MT_WR(x, MT_RD(x) + 1)
/* Shared counters updated from several threads (slow paths only). */
#define MT_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

#define MT_NAME_MAX 48

/* AddressSanitizer annotations: pooled memory is poisoned while cached, so
 * ASan still reports use after put. Free in builds without ASan. */
#if defined(__SANITIZE_ADDRESS__)
#define MT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif
#ifdef MT_ASAN
#include <sanitizer/asan_interface.h>
#define mt_asan_poison(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define mt_asan_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define mt_asan_poison(p, n)   ((void)(p), (void)(n))
#define mt_asan_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* env.c: MTPOOL_DISABLE / MTPOOL_DEBUG, read once. */
#define MT_ENV_DISABLE 0x1
#define MT_ENV_DEBUG   0x2
MT_HIDDEN int mtpool__env(void);

/* debug.c */
#define MT_POISON_BYTE 0xdb
MT_HIDDEN void mtpool__report(const char *what, const char *pool, const void *addr);
MT_HIDDEN void mtpool__poison_fill(void *p, size_t n);
/* Offset of the first byte that is not the poison pattern, or n. */
MT_HIDDEN size_t mtpool__poison_check(const void *p, size_t n);
MT_HIDDEN void mtpool__copy_name(char *dst, const char *name, const char *dflt);

/* budget.c: bytes a pool reserved from the system, with an optional limit. */
struct mt_budget {
	size_t limit;
	mtpool_budget_fn *on_exceed;
	void *arg;
	const char *name;
	size_t used;      /* atomic */
	uint64_t denied;  /* atomic */
};
MT_HIDDEN void mtpool__budget_init(struct mt_budget *b, const struct mtpool_budget *cfg,
				   const char *name);
/* 0, or -ENOMEM when the limit refuses @n bytes. */
MT_HIDDEN int mtpool__budget_charge(struct mt_budget *b, size_t n);
MT_HIDDEN void mtpool__budget_uncharge(struct mt_budget *b, size_t n);

/* Unlink node from the doubly linked list whose first node is head (both
 * with prev/next fields). */
#define MT_DLIST_UNLINK(head, node) do { \
		if ((node)->prev) \
			(node)->prev->next = (node)->next; \
		else \
			(head) = (node)->next; \
		if ((node)->next) \
			(node)->next->prev = (node)->prev; \
	} while (0)

#endif /* MTPOOL_INTERNAL_H */
