// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for memtrace compare: which of B's sites reach an advised
 * site of A through a pool (compare/mt_compare.c), the function part of a
 * stack key, and a whole comparison of synthetic reports: medians and
 * ranges (odd and even counts), the median round, advice achieved. */
#include <stdlib.h>
#include <unistd.h>
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

#define FR(func, file, line) "{\"addr\": \"0x10\", \"func\": \"" func "\", \"module\": \"/srv\", " \
	"\"file\": \"/src/" file "\", \"line\": " #line "}"
#define SITE(stack, allocs) "{\"site\": 1, \"objects\": 0, \"bytes\": 0, \"allocs\": " #allocs \
	", \"frees\": " #allocs ", \"alloc_bytes\": 0, \"free_bytes\": 0, \"live_objects\": 0, " \
	"\"live_bytes\": 0, \"peak_live_bytes\": 0, \"stack\": [" stack "]}"
#define A_STACK FR("fmt", "srv.c", 10) ", " FR("main", "srv.c", 20)

/* A report file: calls (malloc = free = n), duration, sites, advice. */
static char *report(const char *dir, const char *name, unsigned n, double secs, const char *sites,
		    const char *advice)
{
	char *path = NULL;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || !(f = fopen(path, "we")))
		return NULL;
	fprintf(f, "{\"version\": 1, \"target\": {\"pid\": 1, \"comm\": \"srv\"}, \"mode\": \"launch\", "
		"\"duration_s\": %g, \"lost_events\": 0, \"totals\": {\"allocs\": %u, \"frees\": %u, "
		"\"alloc_bytes\": %u, \"free_bytes\": 0, \"live_objects\": 0, \"live_bytes\": 0, "
		"\"peak_live_bytes\": 64, \"untracked_frees\": 0, \"failed_allocs\": 0, \"stale_replaced\": 0}, "
		"\"leak_summary\": {\"objects\": 0, \"bytes\": 0}, \"rates\": {\"run\": {\"allocs_per_s\": 1, "
		"\"bytes_per_s\": 1, \"frees_per_s\": 1}}, \"calls\": {\"malloc\": %u, \"free\": %u}, "
		"\"leaks\": [], \"sites\": [%s], \"advice\": [%s]%s}\n",
		secs, n, n, n * 8, n, n, sites, advice,
		n == 10 ? ", \"pools\": [{\"name\": \"hdrs\", \"kind\": \"object\", \"object_size\": 256, "
			  "\"gets\": 1000, \"hits\": 990, \"idle\": 3, \"bytes_reserved\": 2560, "
			  "\"hit_rate\": 0.99}]" : "");
	fclose(f);
	return path;
}

static void test_build(void)
{
	char dir[] = "/tmp/mt-test-compare-XXXXXX";
	struct mt_cmp_round ra[3] = { { 0 } }, rb[2] = { { 0 } };
	struct mt_cmp_side a = { .label = "A", .rounds = ra, .nrounds = 3 };
	struct mt_cmp_side b = { .label = "B", .rounds = rb, .nrounds = 2 };
	char *cmd[] = { "srv", NULL };
	struct mt_cmp c;
	const struct mt_cmp_stat *st;
	int err;

	MT_CHECK(mkdtemp(dir));
	ra[0].json_path = report(dir, "a1", 100, 1, "", "");
	ra[1].json_path = report(dir, "a2", 300, 1, "", "");
	/* the median round of A: its site and advice are compared */
	ra[2].json_path = report(dir, "a3", 200, 2, SITE(A_STACK, 200),
				 "{\"pool\": \"none\", \"calls_saved_per_s\": 0, \"stack\": [" A_STACK "]}, "
				 "{\"pool\": \"object_pool\", \"calls_saved_per_s\": 200, \"stack\": [" A_STACK "]}");
	/* B's median round (the lower middle of two): the pool's misses
	 * reach fmt (10 + 10 calls), another malloc in fmt does not (5 + 5) */
	rb[0].json_path = report(dir, "b1", 10, 1,
				 SITE(FR("get_slow", "pool.c", 5) ", " FR("fmt", "srv.c", 11) ", "
				      FR("main", "srv.c", 20), 10) ", "
				 SITE(FR("fmt", "srv.c", 12) ", " FR("main", "srv.c", 20), 5), "");
	rb[1].json_path = report(dir, "b2", 30, 1, "", "");
	ra[0].has_rusage = ra[1].has_rusage = ra[2].has_rusage = rb[0].has_rusage = rb[1].has_rusage = true;
	ra[0].user_s = 1, ra[1].user_s = 3, ra[2].user_s = 2;
	rb[0].user_s = 1, rb[1].user_s = 2;
	MT_CHECK(ra[0].json_path && ra[1].json_path && ra[2].json_path && rb[0].json_path && rb[1].json_path);
	err = mt_cmp_build(&c, &a, &b, cmd);
	MT_CHECK(err == 0);
	MT_CHECK_EQ_U64(c.med[0], 2);
	MT_CHECK_EQ_U64(c.med[1], 0);
	st = &c.stat[0][MT_CMP_CALLS];
	MT_CHECK(st->known && st->median == 400 && st->min == 200 && st->max == 600);
	st = &c.stat[1][MT_CMP_CALLS];        /* even: the mean of the middle two */
	MT_CHECK(st->median == 40 && st->min == 20 && st->max == 60);
	st = &c.stat[0][MT_CMP_CALLS_PER_S];  /* 200/1, 600/1, 400/2 */
	MT_CHECK(st->median == 200 && st->max == 600);
	MT_CHECK(c.stat[0][MT_CMP_CPU_S].median == 2 && c.stat[1][MT_CMP_CPU_S].median == 1.5);
	MT_CHECK(!c.stat[0][MT_CMP_CPU_UNTRACED_S].known);
	MT_CHECK_EQ_U64(c.nadvice, 1);       /* "none" is not a prediction */
	MT_CHECK_STR(c.advice[0].where, "fmt");
	MT_CHECK_EQ_U64(c.advice[0].calls_a, 400);
	MT_CHECK_EQ_U64(c.advice[0].calls_b, 20);
	MT_CHECK(c.advice[0].achieved_calls == 380);
	MT_CHECK(c.advice[0].predicted_calls == 400);
	MT_CHECK(c.advice[0].achieved_per_s == 400 / 2.0 - 20 / 1.0);
	MT_CHECK_EQ_U64(c.nsites, 3);        /* by |delta|: A's site gone first */
	MT_CHECK(c.sites[0].in_a && !c.sites[0].in_b);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		MT_CHECK(f && mt_cmp_text(f, &c, 10) == 0);
		fclose(f);
		/* pairs: a1-b1 saved 0 - 20/1, a2-b2 nothing; the median rounds a3-b1 180 */
		MT_CHECK(strstr(text, "object_pool at fmt: predicted 200 calls/s saved, achieved 180 "
				      "[-20 .. 180] (380 of 400 calls in the run, 95.0%)"));
		/* B's median round has the pools section, A's none */
		MT_CHECK(strstr(text, "pools in B:") && !strstr(text, "pools in A:"));
		MT_CHECK(strstr(text, "hdrs") && strstr(text, "99.0%") && strstr(text, "768 B"));
		free(text);
	}
	mt_cmp_release(&c);
	for (int i = 0; i < 3; i++) {
		unlink(ra[i].json_path);
		free(ra[i].json_path);
	}
	for (int i = 0; i < 2; i++) {
		unlink(rb[i].json_path);
		free(rb[i].json_path);
	}
	rmdir(dir);
}

int main(void)
{
	MT_RUN(test_key_func);
	MT_RUN(test_through_pool);
	MT_RUN(test_not_through);
	MT_RUN(test_build);
	return mt_test_done();
}
