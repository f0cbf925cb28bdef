// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: reference-counted zero-copy buffers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

static char what_buf[64];
static int nreports;

static void record(void *arg, const char *what, const char *pool, const void *addr)
{
	(void)arg;
	(void)pool;
	(void)addr;
	snprintf(what_buf, sizeof(what_buf), "%s", what);
	nreports++;
}

static void test_new_ref_unref(void)
{
	mtpool_refbuf *b = mtpool_refbuf_new(NULL, 100);

	MT_CHECK(b != NULL);
	MT_CHECK_EQ_U64(mtpool_refbuf_len(b), 100);
	MT_CHECK_EQ_U64(mtpool_refbuf_refcount(b), 1);
	memset(mtpool_refbuf_data(b), 'a', 100);
	MT_CHECK(mtpool_refbuf_ref(b) == b);
	MT_CHECK_EQ_U64(mtpool_refbuf_refcount(b), 2);
	mtpool_refbuf_unref(b);
	MT_CHECK_EQ_U64(mtpool_refbuf_refcount(b), 1);
	mtpool_refbuf_unref(b);
	mtpool_refbuf_unref(NULL);
}

static void test_slice_shares_memory_and_keeps_parent_alive(void)
{
	mtpool_refbuf *b = mtpool_refbuf_new(NULL, 26), *s, *ss;
	char *d;
	int i;

	MT_CHECK(b != NULL);
	d = mtpool_refbuf_data(b);
	for (i = 0; i < 26; i++)
		d[i] = (char)('a' + i);
	s = mtpool_refbuf_slice(b, 10, 5);
	MT_CHECK(s != NULL);
	MT_CHECK(mtpool_refbuf_data(s) == d + 10);   /* zero copy */
	MT_CHECK_EQ_U64(mtpool_refbuf_len(s), 5);
	MT_CHECK_EQ_U64(mtpool_refbuf_refcount(b), 2);
	ss = mtpool_refbuf_slice(s, 1, 3);           /* "lmn" */
	MT_CHECK(ss != NULL);
	MT_CHECK_EQ_U64(mtpool_refbuf_refcount(b), 3);
	mtpool_refbuf_unref(b);
	mtpool_refbuf_unref(s);
	/* Parent and middle slice released: the bytes must still be there
	 * (ASan would flag a read of freed memory). */
	MT_CHECK(memcmp(mtpool_refbuf_data(ss), "lmn", 3) == 0);
	mtpool_refbuf_unref(ss);
}

static void test_slice_bounds(void)
{
	mtpool_refbuf *b = mtpool_refbuf_new(NULL, 10), *s;

	MT_CHECK(b != NULL);
	errno = 0;
	MT_CHECK(mtpool_refbuf_slice(b, 11, 0) == NULL);
	MT_CHECK_EQ_U64(errno, ERANGE);
	MT_CHECK(mtpool_refbuf_slice(b, 5, 6) == NULL);
	MT_CHECK(mtpool_refbuf_slice(b, 1, (size_t)-1) == NULL);
	s = mtpool_refbuf_slice(b, 10, 0);
	MT_CHECK(s != NULL);
	MT_CHECK_EQ_U64(mtpool_refbuf_len(s), 0);
	mtpool_refbuf_unref(s);
	s = mtpool_refbuf_slice(b, 0, 10);
	MT_CHECK(s != NULL);
	mtpool_refbuf_unref(s);
	mtpool_refbuf_unref(b);
}

static void test_last_release_returns_block_to_pool(void)
{
	mtpool_block *bp = mtpool_block_create(1024, NULL);
	struct mtpool_stats st;
	mtpool_refbuf *b, *s, *b2;

	MT_CHECK(bp != NULL);
	errno = 0;
	MT_CHECK(mtpool_refbuf_new(bp, 1024 - MTPOOL_REFBUF_HEADER + 1) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
	b = mtpool_refbuf_new(bp, 1024 - MTPOOL_REFBUF_HEADER);
	MT_CHECK(b != NULL);
	s = mtpool_refbuf_slice(b, 100, 50);
	mtpool_refbuf_unref(b);
	mtpool_block_stats(bp, &st);
	MT_CHECK_EQ_U64(st.live, 1);    /* the slice holds it */
	mtpool_refbuf_unref(s);
	mtpool_block_stats(bp, &st);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, 1);
	b2 = mtpool_refbuf_new(bp, 10);
	MT_CHECK(b2 == b);              /* the same block, reused */
	mtpool_refbuf_unref(b2);
	mtpool_block_destroy(bp);
}

static void test_double_release_is_reported(void)
{
	mtpool_block *bp;
	mtpool_refbuf *b;

#if defined(__SANITIZE_ADDRESS__)
	return;  /* the cached block is ASan-poisoned: ASan reports instead */
#endif
	bp = mtpool_block_create(256, NULL);
	MT_CHECK(bp != NULL);
	b = mtpool_refbuf_new(bp, 16);
	mtpool_refbuf_unref(b);
	nreports = 0;
	mtpool_refbuf_unref(b);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(what_buf, "double release");
	mtpool_block_destroy(bp);
}

int main(void)
{
	mtpool_set_error_handler(record, NULL);
	MT_RUN(test_new_ref_unref);
	MT_RUN(test_slice_shares_memory_and_keeps_parent_alive);
	MT_RUN(test_slice_bounds);
	MT_RUN(test_last_release_returns_block_to_pool);
	MT_RUN(test_double_release_is_reported);
	return mt_test_done();
}
