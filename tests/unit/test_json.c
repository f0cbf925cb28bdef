// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the JSON writer: escaping, nesting, numbers, errors. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "util/mt_json.h"
#include "mt_test.h"

static char *buf;
static size_t len;
static FILE *mem;
static struct mt_json J;

static void open_mem(void)
{
	free(buf);
	buf = NULL;
	mem = open_memstream(&buf, &len);
	mt_json_init(&J, mem);
}

/* Finish the document and return its text (without the final newline). */
static const char *done(int *err)
{
	*err = mt_json_finish(&J);
	fclose(mem);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

static void test_escaping(void)
{
	int err;

	open_mem();
	mt_json_arr_begin(&J);
	mt_json_str(&J, "a\"b\\c/d");
	mt_json_str(&J, "\n\t\r\x01\x1f ");
	mt_json_str(&J, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  /* é € 😀 */
	mt_json_str(&J, "bad\xff|\xc3|\xed\xa0\x80|\xc0\xaf");   /* invalid UTF-8 */
	mt_json_str(&J, "\x7f");
	mt_json_str(&J, NULL);
	mt_json_str(&J, "");
	mt_json_arr_end(&J);
	MT_CHECK_STR(done(&err),
		"[\"a\\\"b\\\\c/d\", \"\\u000a\\u0009\\u000d\\u0001\\u001f \", "
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", "
		"\"bad\\ufffd|\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\", "
		"\"\x7f\", null, \"\"]");
	MT_CHECK_EQ_U64(err, 0);
}

static void test_nesting_commas(void)
{
	int err;

	open_mem();
	mt_json_obj_begin(&J);
	mt_json_key(&J, "a");
	mt_json_u64(&J, 1);
	mt_json_key(&J, "b");
	mt_json_arr_begin(&J);
	mt_json_obj_begin(&J);
	mt_json_obj_end(&J);
	mt_json_arr_begin(&J);
	mt_json_arr_end(&J);
	mt_json_obj_begin(&J);
	mt_json_key(&J, "k\"");
	mt_json_null(&J);
	mt_json_key(&J, "t");
	mt_json_bool(&J, true);
	mt_json_key(&J, "f");
	mt_json_bool(&J, false);
	mt_json_obj_end(&J);
	mt_json_arr_end(&J);
	mt_json_key(&J, "c");
	mt_json_hex(&J, 0x7f00dead0010ull);
	mt_json_key(&J, "d");
	mt_json_obj_begin(&J);
	mt_json_obj_end(&J);
	mt_json_obj_end(&J);
	MT_CHECK_STR(done(&err),
		"{\"a\": 1, \"b\": [{}, [], {\"k\\\"\": null, \"t\": true, \"f\": false}], "
		"\"c\": \"0x7f00dead0010\", \"d\": {}}");
	MT_CHECK_EQ_U64(err, 0);
}

static void test_numbers(void)
{
	int err;

	open_mem();
	mt_json_arr_begin(&J);
	mt_json_u64(&J, UINT64_MAX);
	mt_json_i64(&J, INT64_MIN);
	mt_json_i64(&J, -23);
	mt_json_double(&J, 0.1);
	mt_json_double(&J, 3.0);
	mt_json_double(&J, 1e6);
	mt_json_double(&J, 123456789012.5);       /* %.6g would lose this */
	mt_json_double(&J, 1.0 / 3.0);
	mt_json_double(&J, -2.5e-7);
	mt_json_double(&J, 1e300);
	mt_json_double(&J, NAN);
	mt_json_double(&J, INFINITY);
	mt_json_double(&J, 9007199254740991.0);    /* 2^53 - 1 */
	mt_json_arr_end(&J);
	MT_CHECK_STR(done(&err),
		"[18446744073709551615, -9223372036854775808, -23, 0.1, 3, 1000000, "
		"123456789012.5, 0.3333333333333333, -2.5e-07, 1e+300, null, null, "
		"9007199254740991]");
	MT_CHECK_EQ_U64(err, 0);
}

/* The _or_null helpers write what a key, then a value or null, write
 * by hand (the form they replaced): same bytes, commas included. */
static void test_key_or_null(void)
{
	char by_hand[256];
	int err;

	open_mem();
	mt_json_obj_begin(&J);
	mt_json_key(&J, "a");
	mt_json_u64(&J, 7);
	mt_json_key(&J, "b");
	mt_json_null(&J);
	mt_json_key(&J, "c");
	mt_json_double(&J, 0.25);
	mt_json_key(&J, "d");
	mt_json_null(&J);
	mt_json_obj_end(&J);
	snprintf(by_hand, sizeof(by_hand), "%s", done(&err));
	MT_CHECK_EQ_U64(err, 0);

	open_mem();
	mt_json_obj_begin(&J);
	mt_json_key_u64_or_null(&J, "a", true, 7);
	mt_json_key_u64_or_null(&J, "b", false, 7);
	mt_json_key_double_or_null(&J, "c", true, 0.25);
	mt_json_key_double_or_null(&J, "d", false, 0.25);
	mt_json_obj_end(&J);
	MT_CHECK_STR(done(&err), by_hand);
	MT_CHECK_STR(by_hand, "{\"a\": 7, \"b\": null, \"c\": 0.25, \"d\": null}");
	MT_CHECK_EQ_U64(err, 0);
}

/* Every double written reads back exactly. */
static void test_double_roundtrip(void)
{
	static const double v[] = { 0.1, 0.2, 0.3, 2.0 / 3.0, 1e-300, 5e-324,
				    1.7976931348623157e308, 4.35, 1234.5678, 1e21, 9.2 };
	char *s, *end;
	size_t i;
	int err;

	open_mem();
	mt_json_arr_begin(&J);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		mt_json_double(&J, v[i]);
	mt_json_arr_end(&J);
	s = (char *)done(&err) + 1;
	MT_CHECK_EQ_U64(err, 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		MT_CHECK(strtod(s, &end) == v[i]);
		MT_CHECK(end != s);
		s = end + 2;   /* ", " */
	}
}

static void test_write_error(void)
{
	FILE *f = fopen("/dev/full", "w");
	struct mt_json j;
	int i;

	MT_CHECK(f);
	mt_json_init(&j, f);
	mt_json_arr_begin(&j);
	for (i = 0; i < 23; i++)
		mt_json_str(&j, "some text that will not fit");
	mt_json_arr_end(&j);
	MT_CHECK_EQ_U64(mt_json_finish(&j), (uint64_t)-ENOSPC);
	fclose(f);
}

/* A large document on /dev/full fails before finish, and stays failed. */
static void test_write_error_sticky(void)
{
	FILE *f = fopen("/dev/full", "w");
	struct mt_json j;
	int i;

	MT_CHECK(f);
	setvbuf(f, NULL, _IONBF, 0);
	mt_json_init(&j, f);
	mt_json_arr_begin(&j);
	MT_CHECK_EQ_U64(j.err, (uint64_t)-ENOSPC);
	for (i = 0; i < 23; i++)
		mt_json_u64(&j, i);
	mt_json_arr_end(&j);
	MT_CHECK_EQ_U64(mt_json_finish(&j), (uint64_t)-ENOSPC);
	fclose(f);
}

static void test_misuse(void)
{
	int err, i;

	open_mem();
	mt_json_obj_end(&J);                 /* unbalanced */
	MT_CHECK_EQ_U64(J.err, (uint64_t)-EINVAL);
	done(&err);
	MT_CHECK_EQ_U64(err, (uint64_t)-EINVAL);

	open_mem();
	mt_json_arr_begin(&J);               /* never closed */
	done(&err);
	MT_CHECK_EQ_U64(err, (uint64_t)-EINVAL);

	open_mem();
	for (i = 0; i < MT_JSON_MAX_DEPTH + 3; i++)
		mt_json_arr_begin(&J);
	MT_CHECK_EQ_U64(J.err, (uint64_t)-E2BIG);
	MT_CHECK(J.depth < MT_JSON_MAX_DEPTH);
	done(&err);
	MT_CHECK_EQ_U64(err, (uint64_t)-E2BIG);
}

int main(void)
{
	MT_RUN(test_escaping);
	MT_RUN(test_nesting_commas);
	MT_RUN(test_numbers);
	MT_RUN(test_key_or_null);
	MT_RUN(test_double_roundtrip);
	MT_RUN(test_write_error);
	MT_RUN(test_write_error_sticky);
	MT_RUN(test_misuse);
	free(buf);
	return mt_test_done();
}
