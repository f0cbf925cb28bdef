// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for memtrace diff: stack keys, matching by symbolized stack
 * (not address), summing, the leaks/sites overlap, and input checks. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "diff/mt_diff.h"
#include "mt_test.h"

static struct mt_jv *jv(const char *s)
{
	struct mt_jv *v = NULL;
	char err[128];

	if (mt_jv_parse(s, strlen(s), &v, err, sizeof(err)))
		fprintf(stderr, "  test document: %s\n", err);
	return v;
}

#define FRAME(addr, func, line) \
	"{\"addr\": \"" addr "\", \"func\": \"" func "\", \"func_off\": 12, " \
	"\"module\": \"/usr/bin/demo\", \"module_off\": \"0x1100\", \"file\": \"/src/demo.c\", \"line\": " #line "}"

static void test_stack_key(void)
{
	struct mt_jv *a = jv("[" FRAME("0x401100", "make_node", 40) ", " FRAME("0x401200", "main", 9) "]");
	struct mt_jv *b = jv("[" FRAME("0x7f0001100", "make_node", 40) ", " FRAME("0x7f0001200", "main", 9) "]");
	struct mt_jv *c = jv("[{\"addr\": \"0x10\", \"func\": null, \"func_off\": null, \"module\": \"/lib/x.so\","
			     " \"module_off\": \"0x10\", \"file\": null, \"line\": null},"
			     " {\"addr\": \"0x20\", \"func\": \"f\", \"func_off\": 32, \"module\": \"/lib/x.so\","
			     " \"module_off\": \"0x20\", \"file\": null, \"line\": null},"
			     " {\"addr\": \"0x30\", \"func\": null, \"func_off\": null, \"module\": null,"
			     " \"module_off\": null, \"file\": null, \"line\": null}]");
	struct mt_jv *e = jv("[]");
	char *ka = NULL, *kb = NULL, *kc = NULL, *ke = NULL;

	MT_CHECK(a && b && c && e);
	MT_CHECK_EQ_U64(mt_diff_stack_key(a, &ka), 0);
	MT_CHECK_EQ_U64(mt_diff_stack_key(b, &kb), 0);
	MT_CHECK_EQ_U64(mt_diff_stack_key(c, &kc), 0);
	MT_CHECK_EQ_U64(mt_diff_stack_key(e, &ke), 0);
	MT_CHECK_STR(ka, "make_node@demo:demo.c:40\nmain@demo:demo.c:9");
	MT_CHECK_STR(ka, kb);                      /* addresses do not matter */
	MT_CHECK_STR(kc, "x.so+0x10\nf+0x20@x.so\n0x30");
	MT_CHECK_STR(ke, "(no stack)");
	free(ka);
	free(kb);
	free(kc);
	free(ke);
	mt_jv_free(a);
	mt_jv_free(b);
	mt_jv_free(c);
	mt_jv_free(e);
}

/* A minimal version-1 report; ENTRIES are the "leaks" and "sites" arrays. */
static char *report(const char *leaks, const char *sites, unsigned allocs)
{
	char *s = NULL;

	if (asprintf(&s, "{\"version\": 1, \"target\": {\"pid\": 7, \"comm\": \"demo\"}, \"mode\": \"launch\","
		     " \"duration_s\": 1.5, \"lost_events\": 0,"
		     " \"totals\": {\"allocs\": %u, \"frees\": 2, \"alloc_bytes\": 300, \"free_bytes\": 20,"
		     " \"live_objects\": 1, \"live_bytes\": 280, \"peak_live_bytes\": 290,"
		     " \"untracked_frees\": 0, \"failed_allocs\": 0, \"stale_replaced\": 0},"
		     " \"rates\": {\"run\": {\"seconds\": 1.5, \"allocs_per_s\": 2, \"bytes_per_s\": 200,"
		     " \"frees_per_s\": 1.25}},"
		     " \"leak_summary\": {\"stacks\": 1, \"objects\": 1, \"bytes\": 280},"
		     " \"leaks\": [%s], \"sites\": [%s]}", allocs, leaks, sites) < 0)
		return NULL;
	return s;
}

#define ENTRY(id, objs, bytes, allocs, live, stack) \
	"{\"site\": " #id ", \"objects\": " #objs ", \"bytes\": " #bytes ", \"oldest_age_s\": 1," \
	" \"allocs\": " #allocs ", \"frees\": 0, \"alloc_bytes\": " #bytes ", \"free_bytes\": 0," \
	" \"live_objects\": " #live ", \"live_bytes\": " #bytes ", \"peak_live_bytes\": " #bytes "," \
	" \"stack\": [" stack "]}"

static void test_match(void)
{
	/* A: site 3 (make_node) leaks 2 objects and is also in sites; site 4
	 * (parse) only in sites. B: the same make_node stack at other
	 * addresses as two sites (ids 0 and 1, same line: summed), a new
	 * site (grow), parse gone. */
	char *ta = report(ENTRY(3, 2, 200, 5, 2, FRAME("0x401100", "make_node", 40)),
			  ENTRY(3, 2, 200, 5, 2, FRAME("0x401100", "make_node", 40)) ", "
			  ENTRY(4, 0, 64, 9, 0, FRAME("0x401300", "parse", 77)), 14);
	char *tb = report(ENTRY(0, 3, 300, 7, 3, FRAME("0x5500100", "make_node", 40)) ", "
			  ENTRY(1, 4, 400, 4, 4, FRAME("0x5500108", "make_node", 40)),
			  ENTRY(2, 0, 1000, 1, 1, FRAME("0x5500400", "grow", 5)), 20);
	struct mt_diff_input *a = NULL, *b = NULL;
	const struct mt_diff_site *mk = NULL, *parse = NULL, *grow = NULL;
	struct mt_jv *entry = NULL;
	struct mt_diff d;
	size_t i;

	MT_CHECK(ta && tb);
	MT_CHECK_EQ_U64(mt_diff_load_buf("a.json", ta, strlen(ta), &a), 0);
	MT_CHECK_EQ_U64(mt_diff_load_buf("b.json", tb, strlen(tb), &b), 0);
	MT_CHECK_EQ_U64(mt_diff_build(&d, a, b, "a.json", "b.json"), 0);
	MT_CHECK_EQ_U64(d.ta[MT_DIFF_T_ALLOCS], 14);
	MT_CHECK_EQ_U64(d.tb[MT_DIFF_T_ALLOCS], 20);
	MT_CHECK(d.ra[MT_DIFF_R_ALLOCS_PER_S] == 2 && d.rb[MT_DIFF_R_FREES_PER_S] == 1.25);
	MT_CHECK_EQ_U64(d.nsites, 3);
	for (i = 0; i < d.nsites; i++) {
		if (strncmp(d.sites[i].key, "make_node", 9) == 0)
			mk = &d.sites[i];
		else if (strncmp(d.sites[i].key, "parse", 5) == 0)
			parse = &d.sites[i];
		else if (strncmp(d.sites[i].key, "grow", 4) == 0)
			grow = &d.sites[i];
	}
	MT_CHECK(mk && parse && grow);
	MT_CHECK(mk->in_a && mk->in_b);
	MT_CHECK_EQ_U64(mk->a[MT_DIFF_S_ALLOCS], 5);   /* once, though listed twice */
	MT_CHECK_EQ_U64(mk->a[MT_DIFF_S_LEAK_OBJECTS], 2);
	MT_CHECK_EQ_U64(mk->b[MT_DIFF_S_ALLOCS], 11);  /* 7 + 4: summed */
	MT_CHECK_EQ_U64(mk->b[MT_DIFF_S_LEAK_OBJECTS], 7);
	MT_CHECK_EQ_U64(mk->b[MT_DIFF_S_LEAK_BYTES], 700);
	MT_CHECK(parse->in_a && !parse->in_b);
	MT_CHECK_EQ_U64(parse->a[MT_DIFF_S_ALLOCS], 9);
	MT_CHECK_EQ_U64(parse->b[MT_DIFF_S_ALLOCS], 0);
	MT_CHECK(grow->in_b && !grow->in_a);
	/* sorted by |delta live bytes|: grow +1000, make_node +500, parse -64 */
	MT_CHECK(&d.sites[0] == grow && &d.sites[1] == mk && &d.sites[2] == parse);
	/* the stack shown is A's when A has the site, parsed again from A */
	MT_CHECK_EQ_U64(mt_diff_site_stack(mk, &entry), 0);
	MT_CHECK(mt_jv_get(entry, "stack") && mt_jv_get(entry, "stack")->n == 1);
	MT_CHECK_STR(mt_jv_str(&mt_jv_get(entry, "stack")->items[0], "addr"), "0x401100");
	MT_CHECK(!mt_jv_get(entry, "allocs"));   /* only the stack is kept */
	mt_jv_free(entry);
	mt_diff_release(&d);
	free(ta);
	free(tb);
}

static int load_text(const char *text, struct mt_diff_input **out)
{
	char path[] = "/tmp/mt_test_diff_XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	rc = mt_diff_load(path, out);
	unlink(path);
	return rc;
}

static void test_load_checks(void)
{
	char *ok = report("", "", 1), *v2 = NULL, *p;
	struct mt_diff_input *v = NULL;

	MT_CHECK(ok);
	MT_CHECK_EQ_U64(load_text(ok, &v), 0);
	MT_CHECK(v);
	mt_diff_input_free(v);
	v = NULL;
	/* truncated */
	ok[strlen(ok) / 2] = '\0';
	MT_CHECK_EQ_U64(load_text(ok, &v), -EINVAL);
	MT_CHECK(!v);
	free(ok);
	/* another version */
	ok = report("", "", 1);
	MT_CHECK(ok);
	v2 = strdup(ok);
	MT_CHECK(v2);
	p = strstr(v2, "\"version\": 1");
	p[11] = '2';
	MT_CHECK_EQ_U64(load_text(v2, &v), -EPROTO);
	/* a missing key */
	p = strstr(ok, "\"failed_allocs\"");
	memcpy(p, "\"failed_alloxx\"", 15);
	MT_CHECK_EQ_U64(load_text(ok, &v), -EINVAL);
	MT_CHECK_EQ_U64(load_text("[1, 2]", &v), -EINVAL);
	MT_CHECK_EQ_U64(load_text("", &v), -EINVAL);
	MT_CHECK_EQ_U64(load_text("{\"version\": 1}", &v), -EINVAL);
	/* an incomplete entry is refused while it streams by */
	free(v2);
	v2 = report("{\"site\": 1, \"objects\": 1, \"bytes\": 8, \"stack\": []}", "", 1);
	MT_CHECK(v2);
	MT_CHECK_EQ_U64(load_text(v2, &v), -EINVAL);
	MT_CHECK(!v);
	MT_CHECK(mt_diff_load("/nonexistent/report.json", &v) == -ENOENT);
	free(ok);
	free(v2);
}

int main(void)
{
	MT_RUN(test_stack_key);
	MT_RUN(test_match);
	MT_RUN(test_load_checks);
	return mt_test_done();
}
