// SPDX-License-Identifier: BSD-2-Clause
/* memtrace's size classes (analyze/mt_sizeclass.c) are libmtpool's: the
 * analysis says "a request in class N is what mtpool_sc would serve from
 * class N". memtrace does not link libmtpool, so the formula is written
 * twice; this test links both and compares them at every size. */
#include <stdint.h>
#include "analyze/mt_sizeclass.h"
#include "mtpool.h"
#include "mt_test.h"

_Static_assert(MT_SC_MAX == MTPOOL_SC_MAX, "one largest class");

static void test_every_size(void)
{
	uint64_t size, last = 0;
	unsigned classes = 0;

	for (size = 1; size <= MTPOOL_SC_MAX; size++) {
		uint64_t mine = mt_sc_class_size(mt_sc_class(size));

		if (mine != mtpool_sc_class_size(size)) {
			fprintf(stderr, "  size %" PRIu64 ": memtrace %" PRIu64 ", libmtpool %zu\n",
				size, mine, mtpool_sc_class_size(size));
			MT_CHECK(0);
		}
		if (mine != last)
			classes++;
		last = mine;
	}
	MT_CHECK_EQ_U64(classes, MT_SC_NCLASSES);
}

/* Above the largest class both say "large": libmtpool maps the request
 * as it is, memtrace counts it in the large class. */
static void test_large(void)
{
	uint64_t sizes[] = { MTPOOL_SC_MAX + 1, 65536, 1ull << 30 };
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		MT_CHECK_EQ_U64(mt_sc_class(sizes[i]), MT_SC_LARGE);
		MT_CHECK_EQ_U64(mtpool_sc_class_size(sizes[i]), sizes[i]);
	}
	MT_CHECK_EQ_U64(mt_sc_class(MTPOOL_SC_MAX), MT_SC_LARGE - 1);
}

int main(void)
{
	MT_RUN(test_every_size);
	MT_RUN(test_large);
	return mt_test_done();
}
