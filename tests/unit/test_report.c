// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the report model and the text and JSON reporters, built
 * from a synthetic aggregator (no symbolizer: frames are addresses). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_json.h"
#include "report/mt_report.h"
#include "collect/mt_rules.h"
#include "mt_test.h"

#define START 1000000000ull
#define SEC 1000000000ull
#define MSEC 1000000ull

static const char *const ep_names[] = {
	"malloc", "calloc", "realloc", "free", "memalign|aligned_alloc",
};
enum { EP_MALLOC, EP_CALLOC, EP_REALLOC, EP_FREE, EP_MEMALIGN, NEPS };

static const struct mt_report_target target = { .pid = 4242, .comm = "demo", .exe = "/usr/bin/demo" };
static const struct mt_drops no_drops;

/*
 * Site L ("leaky", 2 frames): 23 x 1000 B at t = 1 s, 3 freed (20 live).
 * Site Y ("young", 1 frame): 5 x 4000 B at t = 9.5 s, all live.
 * Site C ("churn", 3 frames): 29 x 64 B allocated and freed.
 * One untracked free, one failed malloc.
 */
static uint32_t L, Y, C;

static struct mt_agg *make_agg(void)
{
	static const uint64_t fl[] = { 0x401100, 0x401200 }, fy[] = { 0x402100 },
		fc[] = { 0x403100, 0x403200, 0x403300 };
	struct mt_agg *a = mt_agg_new(START);
	struct mt_heap_event e = { .ep = EP_MALLOC, .kind = MT_K_MALLOC };
	unsigned i;

	if (!a)
		return NULL;
	L = mt_agg_site(a, fl, 2);
	Y = mt_agg_site(a, fy, 1);
	C = mt_agg_site(a, fc, 3);
	for (i = 0; i < 23; i++) {
		e = (struct mt_heap_event){ .ts_ns = START + SEC, .kind = MT_K_MALLOC,
			.ep = EP_MALLOC, .arg0 = 1000, .ret = 0x10000 + i * 0x400 };
		mt_rules_apply(a, &e, L);
	}
	for (i = 0; i < 3; i++) {
		e = (struct mt_heap_event){ .ts_ns = START + 2 * SEC, .kind = MT_K_FREE,
			.ep = EP_FREE, .arg0 = 0x10000 + i * 0x400 };
		mt_rules_apply(a, &e, MT_SITE_NONE);
	}
	for (i = 0; i < 5; i++) {
		e = (struct mt_heap_event){ .ts_ns = START + 9500 * MSEC, .kind = MT_K_MEMALIGN,
			.ep = EP_MEMALIGN, .arg0 = 64, .arg1 = 4000, .ret = 0x80000 + i * 0x1000 };
		mt_rules_apply(a, &e, Y);
	}
	for (i = 0; i < 29; i++) {
		e = (struct mt_heap_event){ .ts_ns = START + 3 * SEC, .kind = MT_K_CALLOC,
			.ep = EP_CALLOC, .arg0 = 8, .arg1 = 8, .ret = 0x90000 };
		mt_rules_apply(a, &e, C);
		e = (struct mt_heap_event){ .ts_ns = START + 3 * SEC, .kind = MT_K_FREE,
			.ep = EP_FREE, .arg0 = 0x90000 };
		mt_rules_apply(a, &e, MT_SITE_NONE);
	}
	e = (struct mt_heap_event){ .ts_ns = START + 4 * SEC, .kind = MT_K_FREE,
		.ep = EP_FREE, .arg0 = 0xdead0 };
	mt_rules_apply(a, &e, MT_SITE_NONE);
	e = (struct mt_heap_event){ .ts_ns = START + 4 * SEC, .kind = MT_K_MALLOC,
		.ep = EP_MALLOC, .arg0 = 1ull << 45 };
	mt_rules_apply(a, &e, L);
	return a;
}

static char *render(const struct mt_report *r, int json, bool final, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		*err = -errno;
		return NULL;
	}
	*err = json ? mt_report_json(f, r) : mt_report_text(f, r, final);
	fclose(f);
	return buf;
}

#define HAS(s, sub) MT_CHECK(strstr((s), (sub)) != NULL)
#define HASNT(s, sub) MT_CHECK(strstr((s), (sub)) == NULL)

static void test_model_attach(void)
{
	struct mt_report_opts o = { .min_age_ns = 5 * SEC };
	struct mt_agg *a = make_agg();
	struct mt_report r;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, &no_drops,
					 START + 10 * SEC, true, &o), 0);
	MT_CHECK(r.duration_s == 10.0);
	MT_CHECK_EQ_U64(r.opts.top_sites, 10);
	MT_CHECK_EQ_U64(r.totals.c.allocs, 23 + 5 + 29);
	MT_CHECK_EQ_U64(r.totals.untracked_frees, 1);
	MT_CHECK_EQ_U64(r.totals.failed_allocs, 1);
	/* Sites: Y (20000 live) > L (20000 live, less allocated) > C (0 live). */
	MT_CHECK_EQ_U64(r.nsites, 3);
	MT_CHECK_EQ_U64(r.sites[0].site, L);   /* 20000 live, 23000 allocated */
	MT_CHECK_EQ_U64(r.sites[1].site, Y);   /* 20000 live, 20000 allocated */
	MT_CHECK_EQ_U64(r.sites[2].site, C);
	MT_CHECK_EQ_U64(r.sites[0].objects, 20);
	MT_CHECK_EQ_U64(r.sites[0].bytes, 20000);
	MT_CHECK_EQ_U64(r.sites[0].allocs, 23);
	MT_CHECK_EQ_U64(r.sites[0].frees, 3);
	MT_CHECK_EQ_U64(r.sites[0].stack.nframes, 2);
	MT_CHECK_EQ_U64(r.sites[0].stack.frames[1].addr, 0x401200);
	MT_CHECK(r.sites[0].stack.frames[0].func == NULL);
	MT_CHECK(r.sites[0].oldest_age_s == 9.0);
	MT_CHECK(r.sites[2].oldest_age_s < 0);   /* nothing live */
	/* Attach mode, older than 5 s: only L's 20 objects. */
	MT_CHECK_EQ_U64(r.nleaks, 1);
	MT_CHECK_EQ_U64(r.leaks[0].site, L);
	MT_CHECK_EQ_U64(r.leaks[0].objects, 20);
	MT_CHECK_EQ_U64(r.leaks[0].bytes, 20000);
	MT_CHECK(r.leaks[0].oldest_age_s == 9.0);
	MT_CHECK_EQ_U64(r.leak_objects, 20);
	MT_CHECK_EQ_U64(r.leak_bytes, 20000);
	/* Interval rates were taken: 57 allocs in 10 s. */
	MT_CHECK(r.interval.seconds == 10.0);
	MT_CHECK(r.interval.allocs_per_s == 5.7);
	MT_CHECK(r.run.allocs_per_s == 5.7);
	mt_report_release(&r);
	mt_report_release(&r);   /* idempotent */
	mt_report_release(NULL);
	mt_agg_free(a);
}

static void test_model_launch_and_top(void)
{
	struct mt_report_opts o = { .launch = true, .min_age_ns = 5 * SEC, .top_sites = 2 };
	struct mt_agg *a = make_agg();
	struct mt_report r;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, false, &o), 0);
	/* Launch mode: every live object, min_age ignored; Y is 0.5 s old. */
	MT_CHECK_EQ_U64(r.nleaks, 2);
	MT_CHECK_EQ_U64(r.leaks[0].site, L);   /* 20000 B, tie: lower id first */
	MT_CHECK_EQ_U64(r.leaks[1].site, Y);
	MT_CHECK_EQ_U64(r.leaks[1].objects, 5);
	MT_CHECK(r.leaks[1].oldest_age_s == 0.5);
	MT_CHECK_EQ_U64(r.leak_objects, 25);
	MT_CHECK_EQ_U64(r.leak_bytes, 40000);
	MT_CHECK_EQ_U64(r.nsites, 2);          /* top_sites = 2 */
	MT_CHECK(r.interval.seconds == 0.0);   /* not taken */
	mt_report_release(&r);
	mt_agg_free(a);
}

static void test_json_report(void)
{
	struct mt_report_opts o = { .min_age_ns = 5 * SEC };
	struct mt_drops d = { .ringbuf_full = 7, .stack_fail = 2 };
	struct mt_agg *a = make_agg();
	struct mt_report r;
	char *s;
	int err;

	MT_CHECK(a);
	mt_agg_lost(a, 7);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, &d,
					 START + 10 * SEC, true, &o), 0);
	s = render(&r, 1, true, &err);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(err, 0);
	MT_CHECK(strncmp(s, "{\"version\": 1, \"target\": {\"pid\": 4242, \"comm\": \"demo\", "
			 "\"exe\": \"/usr/bin/demo\"}", 70) == 0);
	HAS(s, "\"duration_s\": 10, ");
	HAS(s, "\"mode\": \"attach\", ");
	HAS(s, "\"min_age_s\": 5, ");
	HAS(s, "\"lost_events\": 7, ");
	HAS(s, "\"drops\": {\"ringbuf_full\": 7, \"stack_fail\": 2, \"state_full\": 0}");
	HAS(s, "\"totals\": {\"allocs\": 57, \"frees\": 32, \"alloc_bytes\": 44856, "
	       "\"free_bytes\": 4856, \"live_objects\": 25, \"live_bytes\": 40000, "
	       "\"peak_live_bytes\": 40064, \"untracked_frees\": 1, \"failed_allocs\": 1, ");
	HAS(s, "\"calls\": {\"malloc\": 24, \"calloc\": 29, \"realloc\": 0, \"free\": 33, "
	       "\"memalign|aligned_alloc\": 5}");
	HAS(s, "\"rates\": {\"interval\": {\"seconds\": 10, \"allocs_per_s\": 5.7, ");
	HAS(s, "\"run\": {\"seconds\": 10, ");
	HAS(s, "\"leak_summary\": {\"stacks\": 1, \"objects\": 20, \"bytes\": 20000, "
	       "\"listed\": 1, \"omitted_objects\": 0, \"omitted_bytes\": 0}");
	HAS(s, "\"leaks\": [{\"site\": 0, \"objects\": 20, \"bytes\": 20000, "
	       "\"oldest_age_s\": 9, \"allocs\": 23, \"frees\": 3, ");
	HAS(s, "\"stack\": [{\"addr\": \"0x401100\", \"func\": null, \"inline\": false, \"func_off\": null, "
	       "\"module\": null, \"module_off\": null, \"file\": null, \"line\": null}, "
	       "{\"addr\": \"0x401200\"");
	HAS(s, "\"sites\": [{\"site\": 0, ");
	HAS(s, "{\"site\": 2, \"objects\": 0, \"bytes\": 0, \"oldest_age_s\": null, "
	       "\"allocs\": 29, \"frees\": 29, \"alloc_bytes\": 1856, \"free_bytes\": 1856, "
	       "\"live_objects\": 0, \"live_bytes\": 0, \"peak_live_bytes\": 64, ");
	MT_CHECK(strcmp(s + strlen(s) - 3, "]}\n") == 0);
	free(s);
	mt_report_release(&r);
	mt_agg_free(a);
}

static int memory_json(struct mt_json *j, void *arg)
{
	mt_json_obj_begin(j);
	mt_json_key(j, "rss_bytes");
	mt_json_u64(j, *(uint64_t *)arg);
	mt_json_obj_end(j);
	return 0;
}

static int memory_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	(void)r;
	fprintf(f, "memory: rss %llu%s\n", (unsigned long long)*(uint64_t *)arg,
		final ? " (final)" : "");
	return 0;
}

static int failing_json(struct mt_json *j, void *arg)
{
	(void)arg;
	mt_json_null(j);
	return -EIO;
}

static void test_extras(void)
{
	struct mt_agg *a = make_agg();
	struct mt_report r;
	uint64_t rss = 12345;
	const char *tail;
	char *s;
	int err, i;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, false, NULL), 0);
	MT_CHECK_EQ_U64(mt_report_add_extra(&r, "memory", memory_json, memory_text, &rss), 0);
	MT_CHECK_EQ_U64(mt_report_add_extra(&r, NULL, memory_json, NULL, &rss), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_report_add_extra(&r, "x", NULL, NULL, &rss), (uint64_t)-EINVAL);
	s = render(&r, 1, true, &err);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(err, 0);
	tail = "], \"memory\": {\"rss_bytes\": 12345}}\n";
	MT_CHECK(strlen(s) > strlen(tail));
	MT_CHECK_STR(s + strlen(s) - strlen(tail), tail);
	free(s);
	s = render(&r, 0, true, &err);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(err, 0);
	HAS(s, "memory: rss 12345 (final)\nlost events: 0\n");
	free(s);
	for (i = 1; i < MT_REPORT_MAX_EXTRAS; i++)
		MT_CHECK_EQ_U64(mt_report_add_extra(&r, "f", failing_json, NULL, NULL), 0);
	MT_CHECK_EQ_U64(mt_report_add_extra(&r, "g", failing_json, NULL, NULL), (uint64_t)-ENOSPC);
	s = render(&r, 1, true, &err);
	MT_CHECK_EQ_U64(err, (uint64_t)-EIO);
	free(s);
	mt_report_release(&r);
	mt_agg_free(a);
}

static void test_text_final(void)
{
	struct mt_report_opts o = { .launch = true };
	struct mt_agg *a = make_agg();
	struct mt_report r;
	char *s, *line;
	int err;

	MT_CHECK(a);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, true, &o), 0);
	s = render(&r, 0, true, &err);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(err, 0);
	HAS(s, "memtrace: pid 4242 (demo) /usr/bin/demo, 10.000 s, final report\n");
	HAS(s, "allocs 57 (43.8 KiB)  frees 32 (4.7 KiB)\n");
	HAS(s, "live 25 objects, 39.1 KiB  peak 39.1 KiB\n");
	HAS(s, "untracked frees 1  failed allocs 1\n");
	HAS(s, "allocs/s");
	HAS(s, "calls:  malloc 24 calloc 29 realloc 0 free 33 memalign|aligned_alloc 5\n");
	HAS(s, "top 3 sites by live bytes:\n");
	HAS(s, "      0x401100 [unknown]\n      0x401200 [unknown]\n");
	HAS(s, "2 leak candidates, 39.1 KiB (40000 bytes) in 25 objects (live at exit)\n");
	HAS(s, "  #1 19.5 KiB in 20 objects, oldest 9.000 s\n");
	HAS(s, "lost events: 0\n");
	HASNT(s, "WARNING");
	/* Under 80 columns. */
	for (line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *nl = strchr(line, '\n');

		MT_CHECK((nl ? (size_t)(nl - line) : strlen(line)) < 80);
	}
	free(s);
	mt_report_release(&r);
	mt_agg_free(a);
}

static void test_text_periodic_and_lost(void)
{
	struct mt_drops d = { .ringbuf_full = 11, .state_full = 2 };
	struct mt_agg *a = make_agg();
	struct mt_report r;
	char *s;
	int err;

	MT_CHECK(a);
	/* the event reader hands the aggregator ringbuf_full + state_full */
	mt_agg_lost(a, 13);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, &d,
					 START + 10 * SEC, true, NULL), 0);
	s = render(&r, 0, false, &err);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(err, 0);
	HASNT(s, "final report");
	HASNT(s, "leak candidates");
	HASNT(s, "calls:");
	HAS(s, "top 3 sites by live bytes:\n");
	HAS(s, "lost events: 13\n");
	HAS(s, "WARNING: 13 allocator calls were not seen: ring buffer full 11,\n");
	HAS(s, "  no per-thread slot 2.\n");
	HAS(s, "false leak");
	free(s);
	mt_report_release(&r);
	mt_agg_free(a);
}

static void test_write_error(void)
{
	struct mt_agg *a = make_agg();
	struct mt_report r;
	FILE *f = fopen("/dev/full", "w");

	MT_CHECK(a && f);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, false, NULL), 0);
	MT_CHECK_EQ_U64(mt_report_json(f, &r), (uint64_t)-ENOSPC);
	MT_CHECK_EQ_U64(mt_report_text(f, &r, true), (uint64_t)-ENOSPC);
	fclose(f);
	mt_report_release(&r);
	mt_agg_free(a);
}

/* A second image (another process, or the image after an exec): its own
 * entry points (no calloc), one site of 7 x 500 B, all live. */
static struct mt_agg *make_other(uint32_t *site)
{
	static const uint64_t f[] = { 0x501100 };
	struct mt_agg *a = mt_agg_new(START);
	struct mt_heap_event e;
	unsigned i;

	if (!a)
		return NULL;
	*site = mt_agg_site(a, f, 1);
	for (i = 0; i < 7; i++) {
		e = (struct mt_heap_event){ .ts_ns = START + SEC, .kind = MT_K_MALLOC, .ep = 1,
			.arg0 = 500, .ret = 0x20000 + i * 0x400 };
		mt_rules_apply(a, &e, *site);
	}
	return a;
}

static void test_merge(void)
{
	static const char *const other_names[] = { "free", "malloc" };  /* another order */
	struct mt_report_opts o = { .launch = true, .top_sites = 3 };
	struct mt_report_target t2 = { .pid = 4343, .exe = "/usr/bin/child" };
	struct mt_agg *a = make_agg(), *b;
	struct mt_report r, own, other;
	struct mt_report_proc procs[2];
	uint64_t a_allocs, a_malloc;
	uint32_t bs;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	MT_CHECK(a);
	b = make_other(&bs);
	MT_CHECK(b);
	MT_CHECK_EQ_U64(mt_report_build(&r, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, false, &o), 0);
	MT_CHECK_EQ_U64(mt_report_build(&own, a, NULL, ep_names, NEPS, &target, NULL,
					 START + 10 * SEC, false, &o), 0);
	MT_CHECK_EQ_U64(mt_report_build(&other, b, NULL, other_names, 2, &t2, NULL,
					 START + 10 * SEC, false, &o), 0);
	a_allocs = r.totals.c.allocs;
	a_malloc = r.totals.calls[EP_MALLOC];
	procs[0] = (struct mt_report_proc){ .pid = 4242, .ppid = 1, .end = "exit", .exit_code = 0, .r = &own };
	procs[1] = (struct mt_report_proc){ .pid = 4343, .ppid = 4242, .end = "exit", .exit_code = 3, .r = &other };
	MT_CHECK_EQ_U64(mt_report_merge(&r, procs, 2, 0), 0);
	MT_CHECK_EQ_U64(r.totals.c.allocs, a_allocs + 7);
	MT_CHECK_EQ_U64(r.totals.c.live_bytes, 40000 + 3500);
	/* calls by name: "malloc" is entry 0 of the tree, summed from both */
	MT_CHECK_STR(r.ep_names[0], "malloc");
	MT_CHECK_EQ_U64(r.totals.calls[0], a_malloc + 7);
	MT_CHECK_EQ_U64(r.neps, NEPS);   /* "free" and "malloc" were known */
	/* leaks: A's two and B's one, most bytes first, each with its pid */
	MT_CHECK_EQ_U64(r.nleaks, 3);
	MT_CHECK_EQ_U64(r.leak_objects, 25 + 7);
	MT_CHECK_EQ_U64(r.leaks[2].pid, 4343);
	MT_CHECK_EQ_U64(r.leaks[2].site, bs);
	MT_CHECK(r.leaks[2].borrowed && !r.leaks[0].borrowed);
	/* sites: top 3 of both by live bytes: L, Y (20000 B each), then B's */
	MT_CHECK_EQ_U64(r.nsites, 3);
	MT_CHECK_EQ_U64(r.sites[0].site, L);
	MT_CHECK_EQ_U64(r.sites[2].pid, 4343);
	MT_CHECK_EQ_U64(r.sites[2].live_bytes, 3500);
	f = open_memstream(&buf, &len);
	MT_CHECK(f);
	MT_CHECK_EQ_U64(mt_report_json(f, &r), 0);
	fclose(f);
	MT_CHECK(strstr(buf, "\"processes\": [{\"pid\": 4242, \"ppid\": 1"));
	MT_CHECK(strstr(buf, "{\"pid\": 4343, \"ppid\": 4242, \"comm\": null, \"exe\": \"/usr/bin/child\""));
	MT_CHECK(strstr(buf, "\"exit_code\": 3"));
	MT_CHECK(strstr(buf, "\"leaks\": [{\"pid\": 4242, \"site\""));
	free(buf);
	mt_report_release(&r);     /* frees r's own entries, not the borrowed */
	mt_report_release(&own);
	mt_report_release(&other);
	mt_agg_free(a);
	mt_agg_free(b);
}

int main(void)
{
	MT_RUN(test_model_attach);
	MT_RUN(test_model_launch_and_top);
	MT_RUN(test_json_report);
	MT_RUN(test_extras);
	MT_RUN(test_text_final);
	MT_RUN(test_text_periodic_and_lost);
	MT_RUN(test_write_error);
	MT_RUN(test_merge);
	return mt_test_done();
}
