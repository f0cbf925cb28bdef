// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: size-class allocator. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static char what_buf[64], pool_buf[64];
static const void *last_addr;
static int nreports;

static void record(void *arg, const char *what, const char *pool, const void *addr)
{
	(void)arg;
	snprintf(what_buf, sizeof(what_buf), "%s", what);
	snprintf(pool_buf, sizeof(pool_buf), "%s", pool);
	last_addr = addr;
	nreports++;
}

static void test_classes_cover_range_with_bounded_waste(void)
{
	size_t s, c, prev = 0, nclasses = 0;

	for (s = 1; s <= MTPOOL_SC_MAX; s++) {
		c = mtpool_sc_class_size(s);
		MT_CHECK(c >= s);
		MT_CHECK(c % 8 == 0);
		/* The documented bound: under 12.5% from 64 B, 7 bytes below. */
		if (s >= 64)
			MT_CHECK((c - s) * 8 < s);
		else
			MT_CHECK(c - s <= 7);
		if (c != prev)
			nclasses++;
		prev = c;
	}
	MT_CHECK_EQ_U64(mtpool_sc_class_size(0), 8);
	MT_CHECK_EQ_U64(mtpool_sc_class_size(MTPOOL_SC_MAX), MTPOOL_SC_MAX);
	MT_CHECK_EQ_U64(mtpool_sc_class_size(MTPOOL_SC_MAX + 1), MTPOOL_SC_MAX + 1);
	MT_CHECK_EQ_U64(nclasses, 80);
}

static void test_malloc_free_every_size(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	static void *v[MTPOOL_SC_MAX / 7 + 1];
	size_t s, n = 0, i;

	MT_CHECK(sc != NULL);
	for (s = 0; s <= MTPOOL_SC_MAX; s += 7) {
		unsigned char *p = mtpool_sc_malloc(sc, s);

		MT_CHECK(p != NULL);
		MT_CHECK(mtpool_sc_usable_size(sc, p) >= s);
		MT_CHECK_EQ_U64((uintptr_t)p % 8, 0);
		if (mtpool_sc_class_size(s) % 16 == 0)
			MT_CHECK_EQ_U64((uintptr_t)p % 16, 0);
		memset(p, (int)(s & 0xff), s);
		v[n++] = p;
	}
	for (i = 0, s = 0; i < n; i++, s += 7) {
		unsigned char *p = v[i];

		if (s)
			MT_CHECK(p[0] == (s & 0xff) && p[s - 1] == (s & 0xff));
		mtpool_sc_free(sc, p);
	}
	mtpool_sc_free(sc, NULL);
	mtpool_sc_destroy(sc);
	mtpool_sc_destroy(NULL);
}

static void test_free_then_malloc_reuses(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	struct mtpool_stats st;
	void *a, *b;

	MT_CHECK(sc != NULL);
	a = mtpool_sc_malloc(sc, 100);
	mtpool_sc_free(sc, a);
	b = mtpool_sc_malloc(sc, 104);   /* same class: 104 */
	MT_CHECK(a == b);
	mtpool_sc_stats(sc, &st);
	MT_CHECK_EQ_U64(st.gets, 2);
	MT_CHECK_EQ_U64(st.puts, 1);
	MT_CHECK_EQ_U64(st.live, 1);
	MT_CHECK(st.bytes_reserved >= 65536);
	mtpool_sc_free(sc, b);
	mtpool_sc_destroy(sc);
}

static void test_large_allocations_go_to_the_system(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	struct mtpool_stats st;
	size_t big = 5u << 20;
	char *p;

	MT_CHECK(sc != NULL);
	p = mtpool_sc_malloc(sc, big);
	MT_CHECK(p != NULL);
	MT_CHECK(mtpool_sc_usable_size(sc, p) >= big);
	p[0] = 1;
	p[big - 1] = 2;
	mtpool_sc_stats(sc, &st);
	MT_CHECK(st.bytes_reserved >= big);
	mtpool_sc_free(sc, p);
	mtpool_sc_stats(sc, &st);
	MT_CHECK_EQ_U64(st.bytes_reserved, 0);
	MT_CHECK_EQ_U64(st.live, 0);
	mtpool_sc_destroy(sc);
}

static void test_calloc_zeroes_and_checks_overflow(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	unsigned char *p;
	size_t i;

	MT_CHECK(sc != NULL);
	p = mtpool_sc_malloc(sc, 256);
	memset(p, 0xff, 256);
	mtpool_sc_free(sc, p);
	p = mtpool_sc_calloc(sc, 16, 16);
	MT_CHECK(p != NULL);
	for (i = 0; i < 256; i++)
		MT_CHECK(p[i] == 0);
	mtpool_sc_free(sc, p);
	volatile size_t huge = SIZE_MAX / 2;

	errno = 0;
	MT_CHECK(mtpool_sc_calloc(sc, huge, 3) == NULL);
	MT_CHECK_EQ_U64(errno, ENOMEM);
	mtpool_sc_destroy(sc);
}

static void test_realloc_keeps_contents(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	unsigned char *p, *q;
	size_t i, sz;

	MT_CHECK(sc != NULL);
	p = mtpool_sc_realloc(sc, NULL, 10);
	MT_CHECK(p != NULL);
	for (i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	for (sz = 20; sz < 200000; sz = sz * 3 + 1) {
		q = mtpool_sc_realloc(sc, p, sz);
		MT_CHECK(q != NULL);
		for (i = 0; i < 10; i++)
			MT_CHECK(q[i] == i);
		p = q;
	}
	q = mtpool_sc_realloc(sc, p, 12);   /* shrinking far moves */
	MT_CHECK(q != NULL);
	for (i = 0; i < 10; i++)
		MT_CHECK(q[i] == i);
	/* Growing inside the class stays in place. */
	p = mtpool_sc_realloc(sc, q, 16);
	MT_CHECK(p == q);
	MT_CHECK(mtpool_sc_realloc(sc, p, 0) == NULL);
	mtpool_sc_destroy(sc);
}

static void test_many_objects_stay_distinct(void)
{
	enum { N = 20000 };
	mtpool_sc *sc = mtpool_sc_create(NULL);
	static uint32_t *v[N];
	struct mtpool_stats st;
	int i, round;

	MT_CHECK(sc != NULL);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			v[i] = mtpool_sc_malloc(sc, 4 + (size_t)(i % 97) * 8);
			MT_CHECK(v[i] != NULL);
			v[i][0] = (uint32_t)i;
		}
		for (i = 0; i < N; i++)
			MT_CHECK_EQ_U64(v[i][0], (uint32_t)i);
		for (i = 0; i < N; i++)
			mtpool_sc_free(sc, v[(i * 7919) % N]);
	}
	mtpool_sc_stats(sc, &st);
	MT_CHECK_EQ_U64(st.gets, 3 * N);
	MT_CHECK_EQ_U64(st.puts, 3 * N);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK(st.misses <= N + 97 * 64);   /* later rounds reuse */
	MT_CHECK(st.hits >= 2 * N - 97 * 64);
	mtpool_sc_destroy(sc);
}

static void test_budget_limits_pages(void)
{
	struct mtpool_sc_opts o = { .budget = { .limit = 2 * 65536 } };
	mtpool_sc *sc = mtpool_sc_create(&o);
	struct mtpool_stats st;
	void *v[64];
	int i, got = 0;

	MT_CHECK(sc != NULL);
	/* 32 KiB class: two per 64 KiB page, so two pages give four blocks. */
	for (i = 0; i < 8; i++) {
		v[i] = mtpool_sc_malloc(sc, 32768);
		got += v[i] != NULL;
	}
	MT_CHECK_EQ_U64(got, 4);
	mtpool_sc_stats(sc, &st);
	MT_CHECK(st.budget_denied >= 1);
	MT_CHECK_EQ_U64(st.bytes_reserved, 2 * 65536);
	MT_CHECK(mtpool_sc_malloc(sc, 1 << 20) == NULL);
	for (i = 0; i < 8; i++)
		mtpool_sc_free(sc, v[i]);
	mtpool_sc_destroy(sc);
}

static void test_debug_double_free_and_wrong_allocator(void)
{
	struct mtpool_sc_opts o = { .name = "scdbg", .flags = MTPOOL_F_DEBUG };
	mtpool_sc *a = mtpool_sc_create(&o), *b = mtpool_sc_create(&o);
	void *p, *q;

	MT_CHECK(a && b);
	nreports = 0;
	p = mtpool_sc_malloc(a, 40);
	q = mtpool_sc_malloc(a, 40);
	memset(p, 1, 40);
	mtpool_sc_free(a, p);
	MT_CHECK_EQ_U64(nreports, 0);
	if (!UNDER_ASAN) {
		mtpool_sc_free(a, p);
		MT_CHECK_EQ_U64(nreports, 1);
		MT_CHECK_STR(what_buf, "double free");
		MT_CHECK_STR(pool_buf, "scdbg");
		MT_CHECK(last_addr == p);
	}
	nreports = 0;
	mtpool_sc_free(b, q);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "free of a pointer from another allocator");
	mtpool_sc_free(a, q);
	mtpool_sc_destroy(a);
	mtpool_sc_destroy(b);
}

/* Debug mode must report, not crash, whatever pointer it is given: the
 * free fast path used to read the "segment header" of any pointer. */
static void test_debug_survives_foreign_and_large_double_free(void)
{
	struct mtpool_sc_opts o = { .name = "scdbg", .flags = MTPOOL_F_DEBUG };
	mtpool_sc *sc = mtpool_sc_create(&o);
	char *m = malloc(300000), *big, *small;

	MT_CHECK(sc && m);
	nreports = 0;
	mtpool_sc_free(sc, m);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "free of a pointer from another allocator");
	MT_CHECK(last_addr == m);
	MT_CHECK_EQ_U64(mtpool_sc_usable_size(sc, m), 0);
	MT_CHECK(mtpool_sc_realloc(sc, m, 10) == NULL);
	MT_CHECK_EQ_U64(nreports, 2);
	MT_CHECK_STR(what_buf, "free of a pointer from another allocator");
	free(m);

	nreports = 0;
	big = mtpool_sc_malloc(sc, 100000);
	MT_CHECK(big != NULL);
	MT_CHECK(mtpool_sc_usable_size(sc, big) >= 100000);
	mtpool_sc_free(sc, big + 64);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "free of a pointer inside a block");
	mtpool_sc_free(sc, big);
	MT_CHECK_EQ_U64(nreports, 1);
	mtpool_sc_free(sc, big);   /* unmapped by now */
	MT_CHECK_EQ_U64(nreports, 2);
	MT_CHECK_STR(what_buf, "double free");
	MT_CHECK(last_addr == big);

	small = mtpool_sc_malloc(sc, 40);
	MT_CHECK(small != NULL);
	mtpool_sc_free(sc, small + 8);
	MT_CHECK_EQ_U64(nreports, 3);
	MT_CHECK_STR(what_buf, "free of a pointer inside a block");
	mtpool_sc_free(sc, small);
	MT_CHECK_EQ_U64(nreports, 3);
	mtpool_sc_destroy(sc);
}

static void test_debug_write_after_free(void)
{
	struct mtpool_sc_opts o = { .name = "scpoison", .flags = MTPOOL_F_DEBUG };
	mtpool_sc *sc;
	char *p, *q;

	if (UNDER_ASAN)
		return;  /* ASan reports the stale write itself */
	sc = mtpool_sc_create(&o);
	MT_CHECK(sc != NULL);
	nreports = 0;
	p = mtpool_sc_malloc(sc, 64);
	mtpool_sc_free(sc, p);
	p[40] = 'x';   /* the bug under test */
	q = mtpool_sc_malloc(sc, 64);
	MT_CHECK(q == p);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "write after free");
	mtpool_sc_free(sc, q);
	mtpool_sc_destroy(sc);
}

int main(void)
{
	mtpool_set_error_handler(record, NULL);
	MT_RUN(test_classes_cover_range_with_bounded_waste);
	MT_RUN(test_malloc_free_every_size);
	MT_RUN(test_free_then_malloc_reuses);
	MT_RUN(test_large_allocations_go_to_the_system);
	MT_RUN(test_calloc_zeroes_and_checks_overflow);
	MT_RUN(test_realloc_keeps_contents);
	MT_RUN(test_many_objects_stay_distinct);
	MT_RUN(test_budget_limits_pages);
	MT_RUN(test_debug_double_free_and_wrong_allocator);
	MT_RUN(test_debug_survives_foreign_and_large_double_free);
	MT_RUN(test_debug_write_after_free);
	return mt_test_done();
}
