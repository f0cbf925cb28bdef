// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for memtrace compare: which of B's sites reach an advised
 * site of A through a pool (compare/mt_compare.c), and the function part
 * of a stack key. */
#include "compare/mt_compare.h"
#include "mt_test.h"

#define A_SITE "format_headers@srv:srv.c:120\nhandle_request@srv:srv.c:200\nmain@srv:srv.c:300"

static void test_key_func(void)
{
	size_t n;
	const char *f = mt_cmp_key_func("format_headers@srv:srv.c:120\nmain@srv:srv.c:3", &n);

	MT_CHECK(n == strlen("format_headers") && strncmp(f, "format_headers", n) == 0);
	f = mt_cmp_key_func("get_slow+0x1c@libmtpool.so.0\nx", &n);
	MT_CHECK(n == strlen("get_slow") && strncmp(f, "get_slow", n) == 0);
	/* no symbol: "module+off" is the whole frame */
	f = mt_cmp_key_func("libx.so+0x10\nx", &n);
	MT_CHECK(n == strlen("libx.so+0x10"));
}

static void test_through_pool(void)
{
	/* the site itself */
	MT_CHECK(mt_cmp_key_through(A_SITE, A_SITE));
	/* a pool's miss: pool frames, then the advised function on another
	 * line (the pool call replaced the malloc), then the same callers */
	MT_CHECK(mt_cmp_key_through("obj_create@srv:objpool.c:155\nget_slow@srv:objpool.c:400\n"
				    "format_headers@srv:srv.c:118\nhandle_request@srv:srv.c:200\n"
				    "main@srv:srv.c:300", A_SITE));
	MT_CHECK(mt_cmp_key_through("get_slow+0x1c@libmtpool.so.0\n"
				    "format_headers@srv:srv.c:118\nhandle_request@srv:srv.c:200\n"
				    "main@srv:srv.c:300", A_SITE));
}

static void test_not_through(void)
{
	/* another direct malloc in the same function is another site */
	MT_CHECK(!mt_cmp_key_through("format_headers@srv:srv.c:125\nhandle_request@srv:srv.c:200\n"
				     "main@srv:srv.c:300", A_SITE));
	/* other callers */
	MT_CHECK(!mt_cmp_key_through("get_slow@srv:objpool.c:400\nformat_headers@srv:srv.c:118\n"
				     "handle_request@srv:srv.c:210\nmain@srv:srv.c:300", A_SITE));
	/* a deeper stack is not the same callers */
	MT_CHECK(!mt_cmp_key_through("get_slow@srv:objpool.c:400\nformat_headers@srv:srv.c:118\n"
				     "handle_request@srv:srv.c:200\nmain@srv:srv.c:300\n_start+0x21@srv",
				     A_SITE));
	/* a function whose name only starts like the advised one */
	MT_CHECK(!mt_cmp_key_through("get_slow@srv:objpool.c:400\nformat_headers_v2@srv:srv.c:118\n"
				     "handle_request@srv:srv.c:200\nmain@srv:srv.c:300", A_SITE));
	/* a one-frame site is only itself */
	MT_CHECK(!mt_cmp_key_through("format_headers@srv:srv.c:118", "format_headers@srv:srv.c:120"));
	MT_CHECK(mt_cmp_key_through("get_slow@srv:objpool.c:4\nformat_headers@srv:srv.c:118",
				    "format_headers@srv:srv.c:120"));
}

int main(void)
{
	MT_RUN(test_key_func);
	MT_RUN(test_through_pool);
	MT_RUN(test_not_through);
	return mt_test_done();
}
