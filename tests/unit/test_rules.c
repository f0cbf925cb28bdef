// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the exactness rules, fed recorded event sequences. */
#include <errno.h>
#include <stdlib.h>
#include "collect/mt_rules.h"
#include "mt_test.h"

#define START 1000000000ull
#define N 23   /* prime: a doubled or dropped event shows */

/* Entry points as a loader would number them; aliases share one. */
enum { EP_MALLOC, EP_CALLOC, EP_REALLOC, EP_REALLOCARRAY, EP_FREE,
       EP_POSIX_MEMALIGN, EP_MEMALIGN, EP_VALLOC, EP_PVALLOC };

static struct mt_heap_event ev(unsigned kind, unsigned ep, uint64_t a0, uint64_t a1,
			       uint64_t a2, uint64_t ret)
{
	static uint64_t ts = START;
	struct mt_heap_event e = {
		.ts_ns = ts += 1000, .arg0 = a0, .arg1 = a1, .arg2 = a2, .ret = ret,
		.callsite = 0x401000, .stack_id = -1, .tid = 42, .ep = (__u16)ep,
		.kind = (__u16)kind,
	};
	return e;
}

#define MALLOC(sz, r)        ev(MT_K_MALLOC, EP_MALLOC, sz, 0, 0, r)
#define CALLOC(n, sz, r)     ev(MT_K_CALLOC, EP_CALLOC, n, sz, 0, r)
#define REALLOC(p, sz, r)    ev(MT_K_REALLOC, EP_REALLOC, p, sz, 0, r)
#define REALLOCARRAY(p, n, sz, r) ev(MT_K_REALLOCARRAY, EP_REALLOCARRAY, p, n, sz, r)
#define FREE(p)              ev(MT_K_FREE, EP_FREE, p, 0, 0, 0)
#define POSIX_MEMALIGN(mp, al, sz, r) ev(MT_K_POSIX_MEMALIGN, EP_POSIX_MEMALIGN, mp, al, sz, r)
#define MEMALIGN(al, sz, r)  ev(MT_K_MEMALIGN, EP_MEMALIGN, al, sz, 0, r)
#define ALIGNED_ALLOC(al, sz, r) ev(MT_K_ALIGNED_ALLOC, EP_MEMALIGN, al, sz, 0, r)
#define VALLOC(sz, r)        ev(MT_K_VALLOC, EP_VALLOC, sz, 0, 0, r)
#define PVALLOC(sz, r)       ev(MT_K_PVALLOC, EP_PVALLOC, sz, 0, 0, r)

static struct mt_agg *agg;
static uint32_t site;

static void setup(void)
{
	uint64_t f = 0x401000;

	mt_agg_free(agg);
	agg = mt_agg_new(START);
	site = mt_agg_site(agg, &f, 1);
}

static int apply_all(const struct mt_heap_event *e, size_t n)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = mt_rules_apply(agg, &e[i], site);
		if (err)
			return err;
	}
	return 0;
}

#define T (mt_agg_totals(agg))

static void test_malloc_free(void)
{
	struct mt_heap_event e[2 * N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++) {
		e[i] = MALLOC(i + 1, 0x1000 + i * 16);
		e[N + i] = FREE(0x1000 + i * 16);
	}
	MT_CHECK_EQ_U64(apply_all(e, N), 0);
	MT_CHECK_EQ_U64(T->c.allocs, N);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, N * (N + 1) / 2);
	MT_CHECK_EQ_U64(T->c.live_objects, N);
	MT_CHECK_EQ_U64(apply_all(e + N, N), 0);
	MT_CHECK_EQ_U64(T->c.frees, N);
	MT_CHECK_EQ_U64(T->c.free_bytes, N * (N + 1) / 2);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC], N);
	MT_CHECK_EQ_U64(T->calls[EP_FREE], N);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(agg, site)->c.allocs, N);
}

static void test_calloc(void)
{
	struct mt_heap_event e[N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++)
		e[i] = CALLOC(i + 1, 24, 0x2000 + i * 16);
	MT_CHECK_EQ_U64(apply_all(e, N), 0);
	MT_CHECK_EQ_U64(T->c.allocs, N);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, 24 * N * (N + 1) / 2);
	MT_CHECK_EQ_U64(T->calls[EP_CALLOC], N);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC], 0);
	MT_CHECK_EQ_U64(mt_rules_size(&e[2]), 72);
}

static void test_calloc_overflow(void)
{
	struct mt_heap_event e = CALLOC(1ull << 33, 1ull << 33, 0);

	setup();
	MT_CHECK_EQ_U64(mt_rules_size(&e), UINT64_MAX);
	MT_CHECK_EQ_U64(mt_rules_apply(agg, &e, site), 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->c.allocs, 0);
	MT_CHECK_EQ_U64(T->calls[EP_CALLOC], 1);
	e = REALLOCARRAY(0, UINT64_MAX, 2, 0);
	MT_CHECK_EQ_U64(mt_rules_size(&e), UINT64_MAX);
	/* Exactly 2^64 - 1 fits; one more does not. */
	e = CALLOC(UINT64_MAX, 1, 0);
	MT_CHECK_EQ_U64(mt_rules_size(&e), UINT64_MAX);
	e = CALLOC(3, 5, 0);
	MT_CHECK_EQ_U64(mt_rules_size(&e), 15);
}

/* realloc grow in place and moving: the old block is freed, the new one
 * allocated with the new size, 23 times over one chain. */
static void test_realloc_chain(void)
{
	struct mt_heap_event e[N + 2];
	uint64_t p = 0x3000, q;
	unsigned i;

	setup();
	e[0] = MALLOC(10, p);
	for (i = 1; i <= N; i++) {
		q = i % 2 ? p : 0x3000 + i * 0x100;   /* odd: in place; even: moved */
		e[i] = REALLOC(p, 10 + i, q);
		p = q;
	}
	e[N + 1] = FREE(p);
	MT_CHECK_EQ_U64(apply_all(e, N + 1), 0);
	MT_CHECK_EQ_U64(T->c.allocs, N + 1);
	MT_CHECK_EQ_U64(T->c.frees, N);
	MT_CHECK_EQ_U64(T->c.live_objects, 1);
	MT_CHECK_EQ_U64(T->c.live_bytes, 10 + N);
	MT_CHECK_EQ_U64(T->c.free_bytes, 10 * N + N * (N - 1) / 2);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], N);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC], 1);
	MT_CHECK_EQ_U64(T->stale_replaced, 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(apply_all(e + N + 1, 1), 0);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
}

static void test_realloc_null_is_alloc(void)
{
	struct mt_heap_event e[N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++)
		e[i] = REALLOC(0, 100, 0x4000 + i * 16);
	MT_CHECK_EQ_U64(apply_all(e, N), 0);
	MT_CHECK_EQ_U64(T->c.allocs, N);
	MT_CHECK_EQ_U64(T->c.frees, 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);   /* NULL is not a free */
	MT_CHECK_EQ_U64(T->c.live_bytes, 100 * N);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], N);
}

static void test_realloc_zero_frees(void)
{
	struct mt_heap_event e[2 * N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++) {
		e[i] = MALLOC(50, 0x5000 + i * 16);
		e[N + i] = i % 2 ? REALLOC(0x5000 + i * 16, 0, 0)
				 : REALLOCARRAY(0x5000 + i * 16, 0, 8, 0);
	}
	MT_CHECK_EQ_U64(apply_all(e, 2 * N), 0);
	MT_CHECK_EQ_U64(T->c.frees, N);
	MT_CHECK_EQ_U64(T->c.free_bytes, 50 * N);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 0);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], N / 2);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOCARRAY], N - N / 2);
	/* realloc(NULL, 0) returning NULL: a call, nothing else. */
	e[0] = REALLOC(0, 0, 0);
	MT_CHECK_EQ_U64(apply_all(e, 1), 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], N / 2 + 1);
}

static void test_realloc_failed_keeps_old(void)
{
	struct mt_heap_event e[N + 1];
	unsigned i;

	setup();
	e[0] = MALLOC(64, 0x6000);
	for (i = 1; i <= N; i++)
		e[i] = REALLOC(0x6000, 1ull << 40, 0);
	MT_CHECK_EQ_U64(apply_all(e, N + 1), 0);
	MT_CHECK_EQ_U64(T->failed_allocs, N);
	MT_CHECK_EQ_U64(T->c.live_objects, 1);
	MT_CHECK_EQ_U64(T->c.live_bytes, 64);
	MT_CHECK_EQ_U64(T->c.frees, 0);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], N);
	/* The old block is still the live one. */
	e[0] = FREE(0x6000);
	MT_CHECK_EQ_U64(apply_all(e, 1), 0);
	MT_CHECK_EQ_U64(T->c.frees, 1);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
}

static void test_reallocarray(void)
{
	struct mt_heap_event e[] = {
		REALLOCARRAY(0, 23, 8, 0x7000),        /* = malloc(184) */
		REALLOCARRAY(0x7000, 46, 8, 0x7800),   /* moved, 368 */
		REALLOCARRAY(0x7800, 1ull << 62, 8, 0),/* overflow: fails */
	};

	setup();
	MT_CHECK_EQ_U64(apply_all(e, 3), 0);
	MT_CHECK_EQ_U64(T->c.allocs, 2);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, 184 + 368);
	MT_CHECK_EQ_U64(T->c.frees, 1);
	MT_CHECK_EQ_U64(T->c.free_bytes, 184);
	MT_CHECK_EQ_U64(T->c.live_bytes, 368);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOCARRAY], 3);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], 0);
}

static void test_posix_memalign(void)
{
	struct mt_heap_event e[N + 2];
	unsigned i;

	setup();
	for (i = 0; i < N; i++)
		e[i] = POSIX_MEMALIGN(0x7ffd0000, 64, 100, 0x8000 + i * 128);
	e[N] = POSIX_MEMALIGN(0x7ffd0000, 64, 1ull << 50, 0);  /* ENOMEM */
	e[N + 1] = POSIX_MEMALIGN(0x7ffd0000, 64, 0, 0);        /* size 0 */
	MT_CHECK_EQ_U64(apply_all(e, N + 2), 0);
	MT_CHECK_EQ_U64(T->c.allocs, N);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, 100 * N);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->calls[EP_POSIX_MEMALIGN], N + 2);
	MT_CHECK_EQ_U64(mt_rules_size(&e[0]), 100);
}

static void test_memalign_aligned_alloc_one_ep(void)
{
	struct mt_heap_event e[N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++)
		e[i] = i % 3 ? MEMALIGN(4096, 10, 0x10000 + i * 4096)
			     : ALIGNED_ALLOC(4096, 4096, 0x10000 + i * 4096);
	MT_CHECK_EQ_U64(apply_all(e, N), 0);
	MT_CHECK_EQ_U64(T->calls[EP_MEMALIGN], N);
	MT_CHECK_EQ_U64(T->c.allocs, N);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, 8 * 4096 + 15 * 10);  /* 8 of 23 aligned_alloc */
}

static void test_valloc_pvalloc(void)
{
	struct mt_heap_event e[] = {
		VALLOC(100, 0x20000), VALLOC(5000, 0x22000),
		PVALLOC(100, 0x24000), PVALLOC(0, 0x25000),   /* pvalloc(0): a page, 0 requested */
		VALLOC(1ull << 50, 0),
	};

	setup();
	MT_CHECK_EQ_U64(apply_all(e, 5), 0);
	MT_CHECK_EQ_U64(T->calls[EP_VALLOC], 3);
	MT_CHECK_EQ_U64(T->calls[EP_PVALLOC], 2);
	MT_CHECK_EQ_U64(T->c.allocs, 4);
	MT_CHECK_EQ_U64(T->c.alloc_bytes, 5200);   /* requested, not rounded */
	MT_CHECK_EQ_U64(T->c.live_objects, 4);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
}

static void test_free_null_and_untracked(void)
{
	struct mt_heap_event e[2 * N];
	unsigned i;

	setup();
	for (i = 0; i < N; i++) {
		e[i] = FREE(0);
		e[N + i] = FREE(0x90000 + i * 16);   /* allocated before attach */
	}
	MT_CHECK_EQ_U64(apply_all(e, 2 * N), 0);
	MT_CHECK_EQ_U64(T->calls[EP_FREE], 2 * N);
	MT_CHECK_EQ_U64(T->untracked_frees, N);
	MT_CHECK_EQ_U64(T->c.frees, 0);
	MT_CHECK_EQ_U64(T->c.free_bytes, 0);
	/* realloc of an unknown block: its free is untracked, the new block is. */
	e[0] = REALLOC(0x91000, 10, 0x92000);
	MT_CHECK_EQ_U64(apply_all(e, 1), 0);
	MT_CHECK_EQ_U64(T->untracked_frees, N + 1);
	MT_CHECK_EQ_U64(T->c.allocs, 1);
	MT_CHECK_EQ_U64(T->c.live_bytes, 10);
}

static void test_zero_size_null_not_failed(void)
{
	struct mt_heap_event e[] = {
		MALLOC(0, 0), CALLOC(0, 8, 0), CALLOC(8, 0, 0), MEMALIGN(16, 0, 0),
		ALIGNED_ALLOC(16, 0, 0), VALLOC(0, 0),
		MALLOC(0, 0xa000),        /* glibc: a unique pointer, 0 bytes */
		MALLOC(1, 0),             /* a real failure */
	};

	setup();
	MT_CHECK_EQ_U64(apply_all(e, 8), 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->c.allocs, 1);
	MT_CHECK_EQ_U64(T->c.live_objects, 1);
	MT_CHECK_EQ_U64(T->c.live_bytes, 0);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC], 3);
	MT_CHECK_EQ_U64(T->calls[EP_CALLOC], 2);
	MT_CHECK_EQ_U64(T->calls[EP_MEMALIGN], 2);
	MT_CHECK_EQ_U64(T->calls[EP_VALLOC], 1);
}

/* A lost free, then the address is reused: replaced, not doubled. */
static void test_lost_free_reuse(void)
{
	struct mt_heap_event e[] = { MALLOC(100, 0xb000), MALLOC(30, 0xb000), FREE(0xb000) };

	setup();
	MT_CHECK_EQ_U64(apply_all(e, 2), 0);
	MT_CHECK_EQ_U64(T->stale_replaced, 1);
	MT_CHECK_EQ_U64(T->c.live_objects, 1);
	MT_CHECK_EQ_U64(T->c.live_bytes, 30);
	MT_CHECK_EQ_U64(apply_all(e + 2, 1), 0);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
}

/* Sampling-mode events: calls are not counted from events (BPF counts
 * them); a realloc whose new block was not sampled releases the sampled
 * old block and allocates nothing; a failed call is still a failure. */
static void test_sampling_flags(void)
{
	struct mt_heap_event e[] = {
		MALLOC(4096, 0xd000), REALLOC(0xd000, 64, 0xe000), MALLOC(1u << 20, 0),
		REALLOC(0, 8192, 0xf000), FREE(0xf000),
	};
	size_t i;

	setup();
	MT_CHECK_EQ_U64(mt_agg_set_sampling(agg, 65536), 0);
	for (i = 0; i < 5; i++)
		e[i].flags = MT_EV_F_SAMPLING;
	e[1].flags |= MT_EV_F_UNSAMPLED;
	MT_CHECK_EQ_U64(apply_all(e, 2), 0);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->c.live_bytes, 0);
	MT_CHECK(T->c.allocs > 1);                    /* weighted: 1 / p > 1 */
	MT_CHECK_EQ_U64(T->c.allocs, T->c.frees);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(apply_all(e + 2, 3), 0);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC] + T->calls[EP_REALLOC] + T->calls[EP_FREE], 0);
	/* The same realloc without the flag would have allocated. */
	e[1].flags = MT_EV_F_SAMPLING;
	MT_CHECK_EQ_U64(apply_all(e, 2), 0);
	MT_CHECK(T->c.live_objects > 0);
}

static void test_unknown_kind(void)
{
	struct mt_heap_event e = ev(MT_K_COUNT, 9, 1, 2, 3, 0xc000);

	setup();
	MT_CHECK_EQ_U64(mt_rules_apply(agg, &e, site), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(T->calls[9], 1);
	MT_CHECK_EQ_U64(T->c.allocs, 0);
	MT_CHECK_EQ_U64(mt_rules_size(&e), 0);
	e = FREE(0x1000);
	MT_CHECK_EQ_U64(mt_rules_size(&e), 0);
	/* Allocation without an interned site still counts in the totals. */
	e = MALLOC(8, 0xd000);
	MT_CHECK_EQ_U64(mt_rules_apply(agg, &e, MT_SITE_NONE), 0);
	MT_CHECK_EQ_U64(T->c.allocs, 1);
}

/* The allocator's own calls (MT_EV_F_INTERNAL): counted apart, never an
 * untracked free, and a tracked block they free is released. */
static void test_internal_calls(void)
{
	struct mt_heap_event e[2 * N + 1];
	unsigned i;

	setup();
	for (i = 0; i < N; i++) {
		e[i] = MALLOC(40, 0x7000 + i * 64);
		/* the first is a tracked block, the rest glibc's own cache */
		e[N + i] = FREE(i == 0 ? 0x7000 : 0x9000 + i * 64);
		e[N + i].flags |= MT_EV_F_INTERNAL;
	}
	e[2 * N] = MALLOC(8, 0xa000);
	e[2 * N].flags |= MT_EV_F_INTERNAL;
	MT_CHECK_EQ_U64(apply_all(e, 2 * N + 1), 0);
	MT_CHECK_EQ_U64(T->calls[EP_MALLOC], N);
	MT_CHECK_EQ_U64(T->calls[EP_FREE], 0);
	MT_CHECK_EQ_U64(T->internal_calls[EP_FREE], N);
	MT_CHECK_EQ_U64(T->internal_calls[EP_MALLOC], 1);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(T->c.frees, 1);
	MT_CHECK_EQ_U64(T->c.live_objects, N);   /* N - 1 + the internal malloc */
	/* A program's free of an unknown address is still untracked. */
	e[0] = FREE(0xb000);
	MT_CHECK_EQ_U64(apply_all(e, 1), 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 1);
	MT_CHECK_EQ_U64(T->calls[EP_FREE], 1);
	/* An internal realloc of an unknown block: no untracked free either. */
	e[0] = REALLOC(0xc000, 80, 0xc100);
	e[0].flags |= MT_EV_F_INTERNAL;
	MT_CHECK_EQ_U64(apply_all(e, 1), 0);
	MT_CHECK_EQ_U64(T->untracked_frees, 1);
	MT_CHECK_EQ_U64(T->internal_calls[EP_REALLOC], 1);
	MT_CHECK_EQ_U64(T->calls[EP_REALLOC], 0);
}

int main(void)
{
	MT_RUN(test_malloc_free);
	MT_RUN(test_calloc);
	MT_RUN(test_calloc_overflow);
	MT_RUN(test_realloc_chain);
	MT_RUN(test_realloc_null_is_alloc);
	MT_RUN(test_realloc_zero_frees);
	MT_RUN(test_realloc_failed_keeps_old);
	MT_RUN(test_reallocarray);
	MT_RUN(test_posix_memalign);
	MT_RUN(test_memalign_aligned_alloc_one_ep);
	MT_RUN(test_valloc_pvalloc);
	MT_RUN(test_free_null_and_untracked);
	MT_RUN(test_zero_size_null_not_failed);
	MT_RUN(test_lost_free_reuse);
	MT_RUN(test_sampling_flags);
	MT_RUN(test_unknown_kind);
	MT_RUN(test_internal_calls);
	mt_agg_free(agg);
	return mt_test_done();
}
