// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the JSON reader: valid documents, corrupt and truncated
 * ones (with line:column), deep nesting, big numbers, and a round trip
 * through memtrace's own writer. */
#include <errno.h>
#include <stdlib.h>
#include "util/mt_json.h"
#include "util/mt_json_read.h"
#include "mt_test.h"

static char err[160];

static struct mt_jv *parse(const char *s)
{
	struct mt_jv *v = NULL;

	if (mt_jv_parse(s, strlen(s), &v, err, sizeof(err)))
		return NULL;
	return v;
}

static int parse_err(const char *s)
{
	struct mt_jv *v = NULL;
	int rc = mt_jv_parse(s, strlen(s), &v, err, sizeof(err));

	mt_jv_free(v);
	return rc;
}

static void test_valid(void)
{
	struct mt_jv *v = parse(" {\"a\": [1, 2.5, -3, true, false, null, \"x\\ty\"],\n"
				"  \"b\": {}, \"c\": [], \"e\": 1e3, \"a\": 7} ");
	const struct mt_jv *a;
	uint64_t u = 0;
	double d = 0;

	MT_CHECK(v);
	MT_CHECK(v->type == MT_JV_OBJ);
	MT_CHECK_EQ_U64(v->n, 5);
	a = mt_jv_get(v, "a");                 /* the first of a repeated key */
	MT_CHECK(a && a->type == MT_JV_ARR && a->n == 7);
	MT_CHECK(a->items[0].is_u64 && a->items[0].u == 1);
	MT_CHECK(!a->items[1].is_u64 && a->items[1].d == 2.5);
	MT_CHECK(!a->items[2].is_u64 && a->items[2].d == -3);
	MT_CHECK(a->items[3].type == MT_JV_BOOL && a->items[3].b);
	MT_CHECK(a->items[4].type == MT_JV_BOOL && !a->items[4].b);
	MT_CHECK(a->items[5].type == MT_JV_NULL);
	MT_CHECK_STR(a->items[6].s, "x\ty");
	MT_CHECK(mt_jv_get(v, "b")->type == MT_JV_OBJ && mt_jv_get(v, "b")->n == 0);
	MT_CHECK(mt_jv_get(v, "c")->type == MT_JV_ARR && mt_jv_get(v, "c")->n == 0);
	MT_CHECK(!mt_jv_u64(v, "e", &u));      /* 1e3 is not an integer literal */
	MT_CHECK(mt_jv_num(v, "e", &d) && d == 1000);
	MT_CHECK(!mt_jv_get(v, "zz"));
	MT_CHECK(!mt_jv_str(v, "a"));
	mt_jv_free(v);
}

static void test_strings(void)
{
	struct mt_jv *v = parse("[\"\\u00e9\\u20ac\\ud83d\\ude00\", \"\\\"\\\\\\/\\b\\f\\n\\r\", \"\xc3\xa9\"]");

	MT_CHECK(v);
	MT_CHECK_STR(v->items[0].s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	MT_CHECK_STR(v->items[1].s, "\"\\/\b\f\n\r");
	MT_CHECK_STR(v->items[2].s, "\xc3\xa9");
	mt_jv_free(v);
	MT_CHECK_EQ_U64(parse_err("[\"\\ud83d\"]"), -EINVAL);    /* lone surrogate */
	MT_CHECK(strstr(err, "surrogate"));
	MT_CHECK_EQ_U64(parse_err("[\"\\u0000\"]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[\"a\nb\"]"), -EINVAL);       /* raw control char */
	MT_CHECK_EQ_U64(parse_err("[\"\\q\"]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[\"\\u12g4\"]"), -EINVAL);
}

static void test_big_numbers(void)
{
	struct mt_jv *v = parse("[18446744073709551615, 18446744073709551616, 9007199254740993, 0, -0]");

	MT_CHECK(v);
	MT_CHECK(v->items[0].is_u64);
	MT_CHECK(v->items[0].u == UINT64_MAX);
	MT_CHECK(!v->items[1].is_u64);                 /* 2^64: only a double */
	MT_CHECK(v->items[1].d == 18446744073709551616.0);
	MT_CHECK(v->items[2].is_u64 && v->items[2].u == 9007199254740993ull);  /* 2^53 + 1, exact */
	MT_CHECK(v->items[3].is_u64 && v->items[3].u == 0);
	mt_jv_free(v);
	MT_CHECK_EQ_U64(parse_err("[01]"), -EINVAL);
	MT_CHECK(strstr(err, "leading zero"));
	MT_CHECK_EQ_U64(parse_err("[1.]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[1e]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[-]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[+1]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[.5]"), -EINVAL);
}

static void test_corrupt(void)
{
	MT_CHECK_EQ_U64(parse_err("{\"a\": 1,\n  \"b\" 2}"), -EINVAL);
	MT_CHECK_STR(err, "line 2, column 7: expected ':' after a key");
	MT_CHECK_EQ_U64(parse_err("[1, 2,]"), -EINVAL);             /* trailing comma */
	MT_CHECK(strstr(err, "line 1, column 7"));
	MT_CHECK_EQ_U64(parse_err("{\"a\": 1} x"), -EINVAL);
	MT_CHECK(strstr(err, "after the document"));
	MT_CHECK_EQ_U64(parse_err("{a: 1}"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[tru]"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[nul"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("// c\n{}"), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("[1 2]"), -EINVAL);
	MT_CHECK(strstr(err, "expected ',' or ']'"));
	MT_CHECK_EQ_U64(parse_err(""), -EINVAL);
	MT_CHECK_EQ_U64(parse_err("   "), -EINVAL);
}

/* Every proper prefix of a document is rejected as truncated, without a
 * leak or a crash (valgrind/ASan builds check the former). */
static void test_truncated(void)
{
	static const char doc[] = "{\"version\": 1, \"s\": \"a\\u00e9\", \"n\": [1.5e-3, true, null],"
				  " \"o\": {\"k\": -12}}";
	struct mt_jv *v = NULL;
	size_t i;

	for (i = 0; i < sizeof(doc) - 1; i++) {
		int rc = mt_jv_parse(doc, i, &v, err, sizeof(err));

		MT_CHECK(rc == -EINVAL);
		MT_CHECK(v == NULL);
		MT_CHECK(strstr(err, "line 1, column "));
	}
	MT_CHECK_EQ_U64(parse_err("{\"a\": [1, 2"), -EINVAL);
	MT_CHECK(strstr(err, "end of input"));
	MT_CHECK_EQ_U64(mt_jv_parse(doc, sizeof(doc) - 1, &v, err, sizeof(err)), 0);
	mt_jv_free(v);
}

static void test_deep(void)
{
	char deep[2 * MT_JV_MAX_DEPTH + 8];
	int i, n = MT_JV_MAX_DEPTH;
	struct mt_jv *v;

	for (i = 0; i < n; i++)
		deep[i] = '[';
	for (i = 0; i < n; i++)
		deep[n + i] = ']';
	deep[2 * n] = '\0';
	v = parse(deep);
	MT_CHECK(v);
	mt_jv_free(v);
	deep[0] = '[';
	memmove(deep + 1, deep, (size_t)2 * n + 1);   /* one level more */
	deep[2 * n + 1] = ']';
	deep[2 * n + 2] = '\0';
	MT_CHECK_EQ_U64(parse_err(deep), -E2BIG);
	MT_CHECK(strstr(err, "nesting deeper than"));
	{
		/* far deeper than any stack would take unbounded */
		size_t big = 1u << 20;
		char *s = malloc(big + 1);

		MT_CHECK(s);
		memset(s, '[', big);
		s[big] = '\0';
		MT_CHECK_EQ_U64(parse_err(s), -E2BIG);
		free(s);
	}
}

/* What memtrace's writer produces, the reader reads back exactly. */
static void test_round_trip(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct mt_json j;
	struct mt_jv *v;
	uint64_t u = 0;
	double d = 0;

	MT_CHECK(f);
	mt_json_init(&j, f);
	mt_json_obj_begin(&j);
	mt_json_key(&j, "big");
	mt_json_u64(&j, UINT64_MAX - 1);
	mt_json_key(&j, "tenth");
	mt_json_double(&j, 0.1);
	mt_json_key(&j, "path");
	mt_json_str(&j, "/tmp/a \"b\"\x01");
	mt_json_key(&j, "addr");
	mt_json_hex(&j, 0x7fff1234);
	mt_json_obj_end(&j);
	MT_CHECK_EQ_U64(mt_json_finish(&j), 0);
	fclose(f);
	v = parse(buf);
	free(buf);
	MT_CHECK(v);
	MT_CHECK(mt_jv_u64(v, "big", &u) && u == UINT64_MAX - 1);
	MT_CHECK(mt_jv_num(v, "tenth", &d) && d == 0.1);
	MT_CHECK_STR(mt_jv_str(v, "path"), "/tmp/a \"b\"\x01");
	MT_CHECK_STR(mt_jv_str(v, "addr"), "0x7fff1234");
	mt_jv_free(v);
}

/* A keep spec keeps what it names (whole, or by its sub spec, applied to
 * every element of an array) and drops the rest, which must still parse. */
static void test_keep(void)
{
	static const struct mt_jv_keep frame[] = { { .key = "func" }, { 0 } };
	static const struct mt_jv_keep site[] = {
		{ .key = "bytes" }, { .key = "stack", .sub = frame }, { 0 },
	};
	static const struct mt_jv_keep doc[] = {
		{ .key = "version" }, { .key = "totals" }, { .key = "sites", .sub = site }, { 0 },
	};
	const char *text =
		"{\"version\": 1, \"trend\": {\"growing\": [1, 2, {\"x\": [3]}]},\n"
		" \"totals\": {\"allocs\": 5, \"frees\": 2},\n"
		" \"sites\": [{\"bytes\": 16, \"lifetime\": [1, 2, 3],\n"
		"            \"stack\": [{\"func\": \"f\", \"addr\": \"0x1\"}, {\"func\": \"main\"}]},\n"
		"           {\"bytes\": 32, \"stack\": []}]}";
	const struct mt_jv *sites, *st, *t;
	struct mt_jv *v = NULL;
	uint64_t u = 0;

	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, NULL, &v, err, sizeof(err)) == 0);
	MT_CHECK_EQ_U64(v->n, 3);                   /* "trend" dropped */
	MT_CHECK(!mt_jv_get(v, "trend"));
	MT_CHECK(mt_jv_u64(v, "version", &u) && u == 1);
	t = mt_jv_get(v, "totals");                 /* sub NULL: kept whole */
	MT_CHECK(mt_jv_u64(t, "allocs", &u) && u == 5);
	MT_CHECK(mt_jv_u64(t, "frees", &u) && u == 2);
	sites = mt_jv_get(v, "sites");
	MT_CHECK(sites && sites->type == MT_JV_ARR && sites->n == 2);
	MT_CHECK_EQ_U64(sites->items[0].n, 2);      /* "lifetime" dropped */
	MT_CHECK(!mt_jv_get(&sites->items[0], "lifetime"));
	MT_CHECK(mt_jv_u64(&sites->items[1], "bytes", &u) && u == 32);
	st = mt_jv_get(&sites->items[0], "stack");
	MT_CHECK(st && st->n == 2);
	MT_CHECK_STR(mt_jv_str(&st->items[0], "func"), "f");
	MT_CHECK(!mt_jv_get(&st->items[0], "addr"));
	MT_CHECK_STR(mt_jv_str(&st->items[1], "func"), "main");
	mt_jv_free(v);
	v = NULL;

	/* a syntax error inside a dropped member still fails, with its place */
	text = "{\"version\": 1,\n \"trend\": [1, 2,, 3]}";
	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, NULL, &v, err, sizeof(err)) == -EINVAL);
	MT_CHECK(!v);
	MT_CHECK(strstr(err, "line 2, column 17") != NULL);
	text = "{\"trend\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	       "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}";
	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, NULL, &v, err, sizeof(err)) == -E2BIG);
}

/* MT_JV_KEEP_REST keeps every member the spec does not name, by its own
 * sub spec; named members keep theirs, wherever the rest entry stands. */
static void test_keep_rest(void)
{
	static const struct mt_jv_keep frame[] = { { .key = "func" }, { 0 } };
	static const struct mt_jv_keep doc[] = {
		{ .key = MT_JV_KEEP_REST }, { .key = "stack", .sub = frame }, { 0 },
	};
	const char *text = "{\"version\": 1, \"pools\": [{\"name\": \"p\", \"gets\": 7}],\n"
			   " \"stack\": [{\"func\": \"f\", \"addr\": \"0x1\"}], \"go\": null}";
	const struct mt_jv *p, *st;
	struct mt_jv *v = NULL;
	uint64_t u = 0;

	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, NULL, &v, err, sizeof(err)) == 0);
	MT_CHECK_EQ_U64(v->n, 4);
	MT_CHECK(mt_jv_u64(v, "version", &u) && u == 1);
	p = mt_jv_get(v, "pools");                  /* the rest: kept whole */
	MT_CHECK(p && p->type == MT_JV_ARR && p->n == 1);
	MT_CHECK(mt_jv_u64(&p->items[0], "gets", &u) && u == 7);
	MT_CHECK(mt_jv_get(v, "go") && mt_jv_get(v, "go")->type == MT_JV_NULL);
	st = mt_jv_get(v, "stack");                 /* named: by its own spec */
	MT_CHECK(st && st->n == 1 && !mt_jv_get(&st->items[0], "addr"));
	MT_CHECK_STR(mt_jv_str(&st->items[0], "func"), "f");
	mt_jv_free(v);
}

struct seen {
	size_t n, bytes_sum;
	char last[64];
	int stop_at;         /* index whose each() fails, -1 for none */
};

static int each_elem(void *arg, const struct mt_jv *e, size_t index, const char *text, size_t len)
{
	struct seen *sn = arg;
	uint64_t b = 0;

	if ((int)index == sn->stop_at)
		return -ECANCELED;
	if (index != sn->n || !mt_jv_u64(e, "bytes", &b) || mt_jv_get(e, "junk"))
		return -EBADMSG;
	sn->n++;
	sn->bytes_sum += b;
	snprintf(sn->last, sizeof(sn->last), "%.*s", (int)len, text);
	return 0;
}

/* A streamed array hands each element, parsed by the sub spec, with its
 * index and its own text, and keeps nothing of it. */
static void test_each(void)
{
	static const struct mt_jv_keep site[] = { { .key = "bytes" }, { 0 } };
	static const struct mt_jv_keep doc[] = {
		{ .key = "n" }, { .key = "sites", .sub = site, .each = each_elem }, { 0 },
	};
	const char *text = "{\"n\": 3, \"sites\": [{\"bytes\": 1, \"junk\": [1]}, {\"bytes\": 2},\n"
			   "  {\"junk\": 0, \"bytes\": 4} ]}";
	struct seen sn = { .stop_at = -1 };
	struct mt_jv *v = NULL;

	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, &sn, &v, err, sizeof(err)) == 0);
	MT_CHECK_EQ_U64(sn.n, 3);
	MT_CHECK_EQ_U64(sn.bytes_sum, 7);
	MT_CHECK_STR(sn.last, "{\"junk\": 0, \"bytes\": 4}");
	MT_CHECK(mt_jv_get(v, "sites") && mt_jv_get(v, "sites")->type == MT_JV_ARR);
	MT_CHECK_EQ_U64(mt_jv_get(v, "sites")->n, 0);   /* streamed, not kept */
	mt_jv_free(v);
	v = NULL;
	/* each()'s error ends the parse with its value */
	sn = (struct seen){ .stop_at = 1 };
	MT_CHECK(mt_jv_parse_keep(text, strlen(text), doc, &sn, &v, err, sizeof(err)) == -ECANCELED);
	MT_CHECK(!v);
	MT_CHECK_EQ_U64(sn.n, 1);
}

int main(void)
{
	MT_RUN(test_valid);
	MT_RUN(test_strings);
	MT_RUN(test_big_numbers);
	MT_RUN(test_corrupt);
	MT_RUN(test_truncated);
	MT_RUN(test_deep);
	MT_RUN(test_round_trip);
	MT_RUN(test_keep);
	MT_RUN(test_keep_rest);
	MT_RUN(test_each);
	return mt_test_done();
}
