/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal unit-test helper. Each test binary has a main() that calls
 * MT_RUN(test_fn) for each test and returns mt_test_done(). A failed check
 * prints file:line and the expression, marks the test failed and returns
 * from it. The last line is "N passed, N failed" as tests/run.sh expects.
 */
#ifndef MT_TEST_H
#define MT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int mt_test_passed, mt_test_failed, mt_test_cur_failed;

#define MT_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		mt_test_cur_failed = 1; \
		return; \
	} } while (0)

#define MT_CHECK_EQ_U64(a, b) do { \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "  FAIL %s:%d: %s == %s (%" PRIu64 " != %" PRIu64 ")\n", \
			__FILE__, __LINE__, #a, #b, a_, b_); \
		mt_test_cur_failed = 1; \
		return; \
	} } while (0)

#define MT_CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
		fprintf(stderr, "  FAIL %s:%d: %s == \"%s\" (got \"%s\")\n", \
			__FILE__, __LINE__, #a, b_ ? b_ : "(null)", a_ ? a_ : "(null)"); \
		mt_test_cur_failed = 1; \
		return; \
	} } while (0)

#define MT_RUN(fn) do { \
	mt_test_cur_failed = 0; \
	fn(); \
	if (mt_test_cur_failed) { mt_test_failed++; printf("not ok %s\n", #fn); } \
	else { mt_test_passed++; printf("ok %s\n", #fn); } \
	fflush(stdout); \
	} while (0)

static inline int mt_test_done(void)
{
	printf("%d passed, %d failed\n", mt_test_passed, mt_test_failed);
	return mt_test_failed != 0;
}

#endif /* MT_TEST_H */
