// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: block pool and multi-level pool. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_block_get_put(void)
{
	struct mtpool_block_opts o = { .name = "blk" };
	mtpool_block *bp = mtpool_block_create(4096, &o);
	struct mtpool_stats st;
	void *a, *b;

	MT_CHECK(bp != NULL);
	MT_CHECK_EQ_U64(mtpool_block_size(bp), 4096);
	a = mtpool_block_get(bp);
	MT_CHECK(a != NULL);
	memset(a, 0xab, 4096);
	mtpool_block_put(bp, a);
	b = mtpool_block_get(bp);
	MT_CHECK(b == a);
	mtpool_block_stats(bp, &st);
	MT_CHECK_EQ_U64(st.gets, 2);
	MT_CHECK_EQ_U64(st.hits, 1);
	MT_CHECK_EQ_U64(st.bytes_reserved, 4096);
	mtpool_block_put(bp, b);
	mtpool_block_destroy(bp);
	mtpool_block_destroy(NULL);
}

static void test_block_zero_on_release(void)
{
	struct mtpool_block_opts o = { .flags = MTPOOL_F_ZERO_ON_RELEASE };
	mtpool_block *bp = mtpool_block_create(1000, &o);
	unsigned char *a, *b;

	MT_CHECK(bp != NULL);
	a = mtpool_block_get(bp);
	MT_CHECK(all_zero(a, 1000));
	memset(a, 0x77, 1000);
	mtpool_block_put(bp, a);
	b = mtpool_block_get(bp);
	MT_CHECK(b == a);
	MT_CHECK(all_zero(b, 1000));
	mtpool_block_put(bp, b);
	mtpool_block_destroy(bp);
}

static void test_block_without_zeroing_keeps_bytes(void)
{
	mtpool_block *bp = mtpool_block_create(64, NULL);
	unsigned char *a;

	MT_CHECK(bp != NULL);
	a = mtpool_block_get(bp);
	memset(a, 0x77, 64);
	mtpool_block_put(bp, a);
	a = mtpool_block_get(bp);
#if !defined(__SANITIZE_ADDRESS__)
	MT_CHECK(a[10] == 0x77);   /* proves the zeroing test can fail */
#endif
	mtpool_block_put(bp, a);
	mtpool_block_destroy(bp);
}

static void test_block_rejects_bad_size(void)
{
	errno = 0;
	MT_CHECK(mtpool_block_create(0, NULL) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
}

static void test_ml_picks_smallest_fitting_level(void)
{
	mtpool_ml *ml = mtpool_ml_create(NULL, 0, NULL);
	void *p;

	MT_CHECK(ml != NULL);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 1), 64);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 64), 64);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 65), 128);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 65536), 65536);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 65537), 0);
	p = mtpool_ml_get(ml, 3000);
	MT_CHECK(p != NULL);
	memset(p, 1, 3000);
	mtpool_ml_put(ml, p, 3000);
	MT_CHECK(mtpool_ml_get(ml, 2500) == p);   /* same 4 KiB level */
	mtpool_ml_put(ml, p, 2500);
	mtpool_ml_destroy(ml);
}

static void test_ml_custom_levels_and_big_sizes(void)
{
	static const size_t sizes[] = { 24, 100, 1000 };
	struct mtpool_stats st;
	mtpool_ml *ml = mtpool_ml_create(sizes, 3, NULL);
	void *a, *b, *c;

	MT_CHECK(ml != NULL);
	MT_CHECK_EQ_U64(mtpool_ml_level_size(ml, 25), 100);
	a = mtpool_ml_get(ml, 20);
	b = mtpool_ml_get(ml, 500);
	c = mtpool_ml_get(ml, 5000);   /* above the top level: malloc */
	MT_CHECK(a && b && c);
	memset(c, 2, 5000);
	mtpool_ml_stats(ml, &st);
	MT_CHECK_EQ_U64(st.gets, 3);
	MT_CHECK_EQ_U64(st.live, 3);
	MT_CHECK(st.bytes_reserved >= 24 + 1000 + 5000);
	mtpool_ml_put(ml, a, 20);
	mtpool_ml_put(ml, b, 500);
	mtpool_ml_put(ml, c, 5000);
	mtpool_ml_stats(ml, &st);
	MT_CHECK_EQ_U64(st.puts, 3);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, 2);
	mtpool_ml_destroy(ml);
}

static void test_ml_rejects_unsorted_levels(void)
{
	static const size_t bad[] = { 100, 100 };
	static const size_t zero[] = { 0 };

	errno = 0;
	MT_CHECK(mtpool_ml_create(bad, 2, NULL) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
	MT_CHECK(mtpool_ml_create(zero, 1, NULL) == NULL);
	MT_CHECK(mtpool_ml_create(bad, 0, NULL) == NULL);
	MT_CHECK(mtpool_ml_create(bad, 33, NULL) == NULL);
}

int main(void)
{
	MT_RUN(test_block_get_put);
	MT_RUN(test_block_zero_on_release);
	MT_RUN(test_block_without_zeroing_keeps_bytes);
	MT_RUN(test_block_rejects_bad_size);
	MT_RUN(test_ml_picks_smallest_fitting_level);
	MT_RUN(test_ml_custom_levels_and_big_sizes);
	MT_RUN(test_ml_rejects_unsorted_levels);
	return mt_test_done();
}
