// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: buffer pool (string builder). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

static char what_buf[64], pool_buf[64];
static int nreports;

static void record(void *arg, const char *what, const char *pool, const void *addr)
{
	(void)arg;
	(void)addr;
	snprintf(what_buf, sizeof(what_buf), "%s", what);
	snprintf(pool_buf, sizeof(pool_buf), "%s", pool);
	nreports++;
}

static void test_append_and_printf(void)
{
	mtpool_bufpool *bp = mtpool_bufpool_create(NULL);
	mtpool_buf *b;

	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	MT_CHECK(b != NULL);
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 0);
	MT_CHECK_STR(mtpool_buf_data(b), "");
	MT_CHECK_EQ_U64(mtpool_buf_append(b, "hello", 5), 0);
	MT_CHECK_EQ_U64(mtpool_buf_appendf(b, ", %s %d", "world", 42), 0);
	MT_CHECK_STR(mtpool_buf_data(b), "hello, world 42");
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 15);
	MT_CHECK_EQ_U64(mtpool_buf_append(b, NULL, 0), 0);
	mtpool_buf_reset(b);
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 0);
	MT_CHECK_STR(mtpool_buf_data(b), "");
	mtpool_buf_release(b);
	mtpool_buf_release(NULL);
	mtpool_bufpool_destroy(bp);
	mtpool_bufpool_destroy(NULL);
}

static void test_growth_through_large_appends(void)
{
	struct mtpool_bufpool_opts o = { .initial_cap = 16 };
	mtpool_bufpool *bp = mtpool_bufpool_create(&o);
	static char chunk[10000];
	mtpool_buf *b;
	size_t i;

	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	for (i = 0; i < 10; i++)
		MT_CHECK_EQ_U64(mtpool_buf_append(b, chunk, sizeof(chunk)), 0);
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 100000);
	MT_CHECK(mtpool_buf_cap(b) >= 100000);
	MT_CHECK(memcmp(mtpool_buf_data(b) + 90000, chunk, sizeof(chunk)) == 0);
	MT_CHECK_EQ_U64(mtpool_buf_data(b)[100000], '\0');
	/* A long printf result grows the buffer too. */
	mtpool_buf_reset(b);
	MT_CHECK_EQ_U64(mtpool_buf_appendf(b, "%0200000d", 7), 0);
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 200000);
	MT_CHECK_EQ_U64(mtpool_buf_data(b)[199999], '7');
	mtpool_buf_release(b);
	mtpool_bufpool_destroy(bp);
}

static void test_release_keeps_capacity_up_to_cap(void)
{
	struct mtpool_bufpool_opts o = { .initial_cap = 64, .max_keep_cap = 4096 };
	mtpool_bufpool *bp = mtpool_bufpool_create(&o);
	static char big[20000];
	struct mtpool_stats st;
	mtpool_buf *b, *c;
	size_t cap;

	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	MT_CHECK_EQ_U64(mtpool_buf_append(b, big, 1000), 0);
	cap = mtpool_buf_cap(b);
	MT_CHECK(cap >= 1000 && cap <= 4096);
	mtpool_buf_release(b);
	c = mtpool_buf_acquire(bp);
	MT_CHECK(c == b);
	MT_CHECK_EQ_U64(mtpool_buf_cap(c), cap);   /* kept: no malloc next time */
	MT_CHECK_EQ_U64(mtpool_buf_append(c, big, sizeof(big)), 0);
	MT_CHECK(mtpool_buf_cap(c) > 4096);
	mtpool_buf_release(c);
	c = mtpool_buf_acquire(bp);
	MT_CHECK_EQ_U64(mtpool_buf_cap(c), 4096);  /* shrunk to the cap */
	mtpool_bufpool_stats(bp, &st);
	MT_CHECK_EQ_U64(st.gets, 3);
	MT_CHECK_EQ_U64(st.hits, 2);
	MT_CHECK(st.bytes_reserved >= 4096);
	mtpool_buf_release(c);
	mtpool_bufpool_destroy(bp);
}

static void test_budget_limits_capacity(void)
{
	struct mtpool_bufpool_opts o = { .initial_cap = 64, .budget = { .limit = 1000 } };
	mtpool_bufpool *bp = mtpool_bufpool_create(&o);
	static char big[2000];
	struct mtpool_stats st;
	mtpool_buf *b;

	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	MT_CHECK_EQ_U64(mtpool_buf_append(b, big, 500), 0);
	MT_CHECK_EQ_U64(mtpool_buf_append(b, big, 1500), (uint64_t)-ENOMEM);
	MT_CHECK_EQ_U64(mtpool_buf_len(b), 500);   /* unchanged on failure */
	mtpool_bufpool_stats(bp, &st);
	MT_CHECK_EQ_U64(st.budget_denied, 1);
	mtpool_buf_release(b);
	mtpool_bufpool_destroy(bp);
}

static void test_use_of_released_buffer_is_reported(void)
{
	struct mtpool_bufpool_opts o = { .name = "msgs" };
	mtpool_bufpool *bp;
	mtpool_buf *b;

#if defined(__SANITIZE_ADDRESS__)
	return;  /* the header is ASan-poisoned: ASan reports it instead */
#endif
	bp = mtpool_bufpool_create(&o);
	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	mtpool_buf_release(b);
	nreports = 0;
	MT_CHECK_EQ_U64(mtpool_buf_append(b, "x", 1), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "use of a released buffer");
	MT_CHECK_STR(pool_buf, "msgs");
	mtpool_buf_release(b);   /* double release: reported, ignored */
	MT_CHECK_EQ_U64(nreports, 2);
	mtpool_bufpool_destroy(bp);
}

static void test_debug_mode_poisons_released_buffer(void)
{
	struct mtpool_bufpool_opts o = { .name = "dbgbuf", .flags = MTPOOL_F_DEBUG };
	mtpool_bufpool *bp;
	mtpool_buf *b;

#if defined(__SANITIZE_ADDRESS__)
	return;
#endif
	bp = mtpool_bufpool_create(&o);
	MT_CHECK(bp != NULL);
	b = mtpool_buf_acquire(bp);
	MT_CHECK_EQ_U64(mtpool_buf_appendf(b, "%d", 12345), 0);
	mtpool_buf_release(b);
	nreports = 0;
	MT_CHECK_EQ_U64(mtpool_buf_appendf(b, "%d", 1), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "use of a released buffer");
	MT_CHECK_STR(pool_buf, "dbgbuf");
	mtpool_bufpool_destroy(bp);
}

int main(void)
{
	mtpool_set_error_handler(record, NULL);
	MT_RUN(test_append_and_printf);
	MT_RUN(test_growth_through_large_appends);
	MT_RUN(test_release_keeps_capacity_up_to_cap);
	MT_RUN(test_budget_limits_capacity);
	MT_RUN(test_use_of_released_buffer_is_reported);
	MT_RUN(test_debug_mode_poisons_released_buffer);
	return mt_test_done();
}
