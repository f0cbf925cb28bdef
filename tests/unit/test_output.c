// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the file outputs (user/output/) on a hand-built report:
 * the pprof profile decoded back with protobuf-c (go tool pprof reads the
 * real ones in t80), folded stacks' escaping and order, --sort, the HTML
 * page's embedding of the JSON (the browser checks it in t84), the text
 * outline of a saved report's extension sections. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include "profile.pb-c.h"
#include "output/mt_out.h"
#include "util/mt_json_read.h"
#include "mt_test.h"

/* Two sites sharing their caller's frame; the second has a frame with no
 * name, and a name with the characters the folded format gives meaning. */
static struct mt_frame f1[] = {
	{ .addr = 0x1100, .func = "leaf;odd\nname", .module = "/bin/exe", .module_off = 0x100,
	  .file = "a.c", .line = 10 },
	{ .addr = 0x1200, .func = "main", .module = "/bin/exe", .module_off = 0x200,
	  .file = "a.c", .line = 20 },
};
static struct mt_frame f2[] = {
	{ .addr = 0x7000, .module = "/lib/libx.so", .module_off = 0x70 },
	{ .addr = 0x1200, .func = "main", .module = "/bin/exe", .module_off = 0x200,
	  .file = "a.c", .line = 20 },
};

static void make_report(struct mt_report *r, struct mt_report_site *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, 2 * sizeof(*s));
	snprintf(r->target.exe, sizeof(r->target.exe), "/bin/exe");
	s[0] = (struct mt_report_site){ .allocs = 5, .alloc_bytes = 500, .live_objects = 2,
		.live_bytes = 200, .site = 0, .stack = { .nframes = 2, .frames = f1 } };
	s[1] = (struct mt_report_site){ .allocs = 7, .alloc_bytes = 70, .live_objects = 0,
		.live_bytes = 0, .site = 1, .stack = { .nframes = 2, .frames = f2 } };
	r->sites = s;
	r->nsites = 2;
	r->totals.c = (struct mt_counts){ .allocs = 12, .alloc_bytes = 570, .live_objects = 2,
					  .live_bytes = 200 };
}

static Perftools__Profiles__Profile *read_profile(const char *path)
{
	static uint8_t buf[1 << 16];
	gzFile g = gzopen(path, "rb");
	int n;

	if (!g)
		return NULL;
	n = gzread(g, buf, sizeof(buf));
	gzclose(g);
	return n > 0 ? perftools__profiles__profile__unpack(NULL, (size_t)n, buf) : NULL;
}

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : NULL;
}

static int64_t value_sum(const Perftools__Profiles__Profile *p, size_t k)
{
	int64_t s = 0;

	for (size_t i = 0; i < p->n_sample; i++)
		s += p->sample[i]->value[k];
	return s;
}

static void test_pprof_shape(void)
{
	char path[] = "/tmp/mt_test_pprof_XXXXXX";
	struct mt_report_site s[2];
	struct mt_report r;
	Perftools__Profiles__Profile *p;
	int fd = mkstemp(path);

	MT_CHECK(fd >= 0);
	close(fd);
	make_report(&r, s);
	MT_CHECK_EQ_U64(mt_out_pprof(path, &r, "test", false), 0);
	p = read_profile(path);
	unlink(path);
	MT_CHECK(p);
	MT_CHECK_EQ_U64(p->n_sample_type, 4);
	MT_CHECK_STR(str(p, p->sample_type[0]->type), "alloc_objects");
	MT_CHECK_STR(str(p, p->sample_type[1]->unit), "bytes");
	MT_CHECK_STR(str(p, p->sample_type[3]->type), "inuse_space");
	MT_CHECK_STR(str(p, p->default_sample_type), "inuse_space");
	MT_CHECK_EQ_U64(p->n_sample, 2);           /* sums are whole: no [other sites] */
	MT_CHECK_EQ_U64(p->n_location, 3);         /* main's frame is shared */
	MT_CHECK_EQ_U64(p->n_function, 2);         /* the nameless frame has none */
	MT_CHECK_EQ_U64(p->n_mapping, 2);
	MT_CHECK_STR(str(p, p->mapping[0]->filename), "/bin/exe");
	MT_CHECK_EQ_U64(p->mapping[0]->memory_start, 0x1100);
	MT_CHECK_EQ_U64(p->mapping[0]->memory_limit, 0x1201);
	MT_CHECK_EQ_U64(p->mapping[0]->file_offset, 0x100);
	MT_CHECK(p->mapping[0]->has_functions && p->mapping[0]->has_line_numbers);
	/* leaf first: site 0's first location is leaf;odd, its line 10 */
	MT_CHECK_EQ_U64(p->sample[0]->n_location_id, 2);
	{
		const Perftools__Profiles__Location *l = p->location[p->sample[0]->location_id[0] - 1];

		MT_CHECK_EQ_U64(l->address, 0x1100);
		MT_CHECK_EQ_U64(l->n_line, 1);
		MT_CHECK_EQ_U64(l->line[0]->line, 10);
		MT_CHECK_STR(str(p, p->function[l->line[0]->function_id - 1]->name), "leaf;odd\nname");
		MT_CHECK_STR(str(p, p->function[l->line[0]->function_id - 1]->filename), "a.c");
		l = p->location[p->sample[1]->location_id[0] - 1];
		MT_CHECK_EQ_U64(l->n_line, 0);     /* no name: the address alone */
		MT_CHECK_EQ_U64(l->mapping_id, 2);
	}
	MT_CHECK_EQ_U64(p->sample[1]->value[0], 7);
	MT_CHECK_EQ_U64(value_sum(p, 1), 570);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Sampling: per-site estimates rounded on their own sum past the total;
 * a site missing from the list leaves a remainder. pprof's totals must be
 * the report's either way. */
static void test_pprof_totals(void)
{
	char path[] = "/tmp/mt_test_pprof_XXXXXX";
	struct mt_report_site s[2];
	struct mt_report r;
	Perftools__Profiles__Profile *p;
	int fd = mkstemp(path);

	MT_CHECK(fd >= 0);
	close(fd);
	make_report(&r, s);
	r.sample_bytes = 4096;
	r.totals.c.live_bytes = 198;   /* the sites say 200 */
	r.totals.c.allocs = 13;        /* the sites say 12 */
	MT_CHECK_EQ_U64(mt_out_pprof(path, &r, "test", false), 0);
	p = read_profile(path);
	unlink(path);
	MT_CHECK(p);
	MT_CHECK_EQ_U64(p->period, 4096);
	MT_CHECK_EQ_U64(value_sum(p, 3), 198);
	MT_CHECK_EQ_U64(value_sum(p, 0), 13);
	MT_CHECK_EQ_U64(p->n_sample, 3);
	for (size_t i = 0; i < p->n_sample; i++)
		for (size_t k = 0; k < 4; k++)
			MT_CHECK(p->sample[i]->value[k] >= 0);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_folded(void)
{
	char path[] = "/tmp/mt_test_folded_XXXXXX", buf[512] = "";
	struct mt_report_site s[2];
	struct mt_report r;
	FILE *f;
	int fd = mkstemp(path);
	size_t n;

	MT_CHECK(fd >= 0);
	close(fd);
	make_report(&r, s);
	MT_CHECK_EQ_U64(mt_out_folded(path, &r, MT_W_LIVE_BYTES), 0);
	f = fopen(path, "r");
	MT_CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	MT_CHECK_STR(buf, "main;leaf:odd?name 200\n");   /* site 1 has no live bytes */
	MT_CHECK_EQ_U64(mt_out_folded(path, &r, MT_W_ALLOCS), 0);
	f = fopen(path, "r");
	MT_CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	unlink(path);
	MT_CHECK_STR(buf, "main;leaf:odd?name 5\nmain;libx.so+0x70 7\n");
	MT_CHECK_EQ_U64(mt_out_folded("/dev/full", &r, MT_W_ALLOCS), (uint64_t)-ENOSPC);
	MT_CHECK_EQ_U64(mt_out_pprof("/dev/full", &r, "test", false), (uint64_t)-ENOSPC);
}

/* A name that would end the data's <script> element, open a comment
 * and a script, and hold every character HTML gives meaning to. */
#define EVIL "operator<< <x>(a&b, \"q'\") </script><!--<script></SCRIPT >"

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

static void test_html(void)
{
	char path[] = "/tmp/mt_test_html_XXXXXX", msg[128];
	static char buf[1 << 18];
	struct mt_frame evil[2];
	struct mt_report_site s[2];
	const struct mt_jv *sites, *st;
	struct mt_jv *doc = NULL;
	struct mt_report r;
	const char *data, *end, *mark = "id=\"mt-data\">";
	FILE *f;
	int fd = mkstemp(path);
	size_t n;

	MT_CHECK(fd >= 0);
	close(fd);
	make_report(&r, s);
	memcpy(evil, f1, sizeof(evil));
	evil[0].func = EVIL;
	s[0].stack.frames = evil;
	MT_CHECK_EQ_U64(mt_out_html(path, &r), 0);
	f = fopen(path, "r");
	MT_CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	buf[n] = '\0';
	MT_CHECK(n > 0 && n < sizeof(buf) - 1);
	/* the page's own two script elements end; nothing of the data does */
	MT_CHECK_EQ_U64(count(buf, "</script"), 2);
	MT_CHECK_EQ_U64(count(buf, "</SCRIPT"), 0);
	MT_CHECK(!strstr(buf, "http://") && !strstr(buf, "https://"));
	data = strstr(buf, mark);
	MT_CHECK(data);
	data += strlen(mark);
	end = strstr(data, "</script>");
	MT_CHECK(end);
	MT_CHECK(!memchr(data, '<', (size_t)(end - data)) && !memchr(data, '&', (size_t)(end - data)));
	/* and the JSON reads back to the very name */
	MT_CHECK_EQ_U64(mt_jv_parse(data, (size_t)(end - data), &doc, msg, sizeof(msg)), 0);
	sites = mt_jv_get(doc, "sites");
	MT_CHECK(sites && sites->type == MT_JV_ARR && sites->n == 2);
	st = mt_jv_get(&sites->items[0], "stack");
	MT_CHECK(st && st->type == MT_JV_ARR && st->n == 2);
	MT_CHECK_STR(mt_jv_str(&st->items[0], "func"), EVIL);
	mt_jv_free(doc);
	MT_CHECK_EQ_U64(mt_out_html("/dev/full", &r), (uint64_t)-ENOSPC);
}

static double score(void *arg, uint32_t site)
{
	return site == 0 ? 1.0 : 5.0;
}

static void test_sort(void)
{
	struct mt_report_site s[2];
	struct mt_report r;
	enum mt_report_sort k;

	make_report(&r, s);
	mt_report_sort_sites(s, 2, MT_SORT_ALLOCS, NULL, NULL);
	MT_CHECK_EQ_U64(s[0].site, 1);            /* 7 allocs before 5 */
	mt_report_sort_sites(s, 2, MT_SORT_LIVE_BYTES, NULL, NULL);
	MT_CHECK_EQ_U64(s[0].site, 0);
	mt_report_sort_sites(s, 2, MT_SORT_GROWTH, score, NULL);
	MT_CHECK_EQ_U64(s[0].site, 1);
	MT_CHECK_EQ_U64(mt_report_sort_parse("rate", &k), 0);
	MT_CHECK_EQ_U64(k, MT_SORT_RATE);
	MT_CHECK_STR(mt_report_sort_name(k), "rate");
	MT_CHECK_EQ_U64(mt_report_sort_parse("bytes", &k), (uint64_t)-EINVAL);
}

/* A saved report's extension sections as text: the core members left to
 * the text writer, units by key name with the exact number after, arrays
 * bounded by top, stacks (C's and Go's frames) by the frame limit, control
 * characters replaced, and shapes no writer makes rendered all the same. */
static void test_text_ext(void)
{
	const char *json =
		"{\"version\": 1, \"totals\": {\"allocs\": 3}, \"sites\": [],"
		" \"memory\": {\"rss_peak_bytes\": 2097152, \"efficiency\": 0.5, \"duration_s\": 1.5},"
		" \"pools\": [{\"name\": \"conn\", \"gets\": 12345, \"bytes_reserved\": 4096},"
		"   {\"name\": \"buf\", \"gets\": 7}, {\"name\": \"third\", \"gets\": 1}],"
		" \"go\": {\"gc\": {\"pause_total_ns\": 1500, \"pauses\": []},"
		"   \"sites\": [{\"function\": \"main.f\", \"stack\": [{\"pc\": \"0x1\", \"function\": \"main.f\","
		"     \"file\": \"/src/main.go\", \"line\": 7}]}]},"
		" \"advice\": [{\"reason\": \"x\", \"stack\": [{\"addr\": \"0x10\", \"func\": \"f\", \"func_off\": 16,"
		"   \"module\": \"/bin/exe\", \"file\": \"/s/a.c\", \"line\": 3}, {\"addr\": \"0x20\"},"
		"   {\"addr\": \"0x30\", \"func\": \"g\"}]}],"
		" \"odd\": [1, [2, {\"a\": null}], {}, \"s\", true], \"empty\": {}, \"none\": [],"
		" \"esc\": \"a\\u001b[31mb\", \"stack\": [1, \"x\"], \"deep\": [[[[{\"stack\": {\"k\": 1}}]]]],"
		" \"wide\": [{\"c0\": 0, \"c1\": 1, \"c2\": 2, \"c3\": 3, \"c4\": 4, \"c5\": 5, \"c6\": 6, \"c7\": 7,"
		"   \"c8\": 8, \"c9\": 9, \"c10\": 10, \"c11\": 11, \"c12\": 12, \"c13\": 13, \"c14\": 14,"
		"   \"c15\": 15, \"c16\": 16, \"c17\": 17, \"c18\": 18, \"c19\": 19, \"c20\": 20, \"c21\": 21,"
		"   \"c22\": 22, \"c23\": 23, \"c24\": 24, \"c25\": 25, \"c26\": 26, \"c27\": 27, \"c28\": 28,"
		"   \"c29\": 29, \"c30\": 30, \"c31\": 31, \"c32\": 32, \"c33\": 33}]}";
	struct mt_jv *doc = NULL;
	char msg[128], *out = NULL;
	size_t len = 0;
	FILE *f;

	MT_CHECK_EQ_U64(mt_jv_parse(json, strlen(json), &doc, msg, sizeof(msg)), 0);
	f = open_memstream(&out, &len);
	MT_CHECK(f);
	MT_CHECK_EQ_U64(mt_out_text_ext(f, doc, 2, 2), 0);
	fclose(f);
	MT_CHECK(!strstr(out, "totals") && !strstr(out, "version") && !strstr(out, "sites (0)"));
	MT_CHECK(strstr(out, "memory:\n  rss_peak_bytes: 2.0 MiB (2097152)\n  efficiency: 0.5\n"
			"  duration_s: 1.500 s\n"));
	MT_CHECK(strstr(out, "pools (3):\n"));
	MT_CHECK(strstr(out, "conn") && strstr(out, "12345") && strstr(out, "4.0 KiB"));
	MT_CHECK(strstr(out, "buf") && !strstr(out, "third"));   /* top 2 */
	MT_CHECK(strstr(out, "  ... 1 more\n"));
	MT_CHECK(strstr(out, "pause_total_ns: 1.5 us (1500)\n"));
	MT_CHECK(strstr(out, "pauses: none\n"));
	MT_CHECK(strstr(out, "        main.f main.go:7\n"));   /* Go's frame */
	MT_CHECK(strstr(out, "      stack:\n        f+0x10 (exe) a.c:3\n        0x20\n"
			"        ... 1 more frames\n"));
	MT_CHECK(strstr(out, "esc: a?[31mb\n"));
	MT_CHECK(strstr(out, "empty: none\n") && strstr(out, "none: none\n"));
	MT_CHECK(!strchr(out, '\033'));
	/* past the columns a row has room for, members are lines under it */
	MT_CHECK(strstr(out, "c31: 31") && strstr(out, "\n      c32: 32\n      c33: 33\n"));
	free(out);
	mt_jv_free(doc);
	/* no document, a document that is not an object: nothing to show */
	MT_CHECK_EQ_U64(mt_out_text_ext(stdout, NULL, 10, 8), 0);
	MT_CHECK_EQ_U64(mt_jv_parse("[1]", 3, &doc, msg, sizeof(msg)), 0);
	MT_CHECK_EQ_U64(mt_out_text_ext(stdout, doc, 10, 8), 0);
	mt_jv_free(doc);
}

int main(void)
{
	MT_RUN(test_pprof_shape);
	MT_RUN(test_pprof_totals);
	MT_RUN(test_folded);
	MT_RUN(test_sort);
	MT_RUN(test_html);
	MT_RUN(test_text_ext);
	return mt_test_done();
}
