// SPDX-License-Identifier: BSD-2-Clause
/* The interval map of the target's mappings: splits, overlaps, lookups. */
#include <stdlib.h>
#include "mt_test.h"
#include "vm/mt_vm_map.h"

struct sum { uint64_t bytes; unsigned pieces; };

static void add(void *arg, const struct mt_vm_area *p)
{
	struct sum *s = arg;

	s->bytes += p->end - p->start;
	s->pieces++;
}

static void test_insert_find(void)
{
	struct mt_vm_map m;

	mt_vm_map_init(&m);
	MT_CHECK(mt_vm_map_insert(&m, 0x3000, 0x5000, 3, 0) == 0);
	MT_CHECK(mt_vm_map_insert(&m, 0x1000, 0x2000, 1, 0) == 0);
	MT_CHECK(mt_vm_map_insert(&m, 0x7000, 0x9000, 7, 0) == 0);
	MT_CHECK_EQ_U64(m.n, 3);
	MT_CHECK(mt_vm_map_find(&m, 0x0fff) == NULL);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x1000)->rec, 1);
	MT_CHECK(mt_vm_map_find(&m, 0x2000) == NULL);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x4fff)->rec, 3);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x8000)->rec, 7);
	MT_CHECK(mt_vm_map_find(&m, 0x9000) == NULL);
	mt_vm_map_release(&m);
}

static void test_remove_middle_splits(void)
{
	struct mt_vm_map m;
	struct sum s = { 0 };

	mt_vm_map_init(&m);
	MT_CHECK(mt_vm_map_insert(&m, 0x10000, 0x20000, 5, 0) == 0);
	MT_CHECK(mt_vm_map_remove(&m, 0x14000, 0x15000, add, &s) == 0);
	MT_CHECK_EQ_U64(s.bytes, 0x1000);
	MT_CHECK_EQ_U64(s.pieces, 1);
	MT_CHECK_EQ_U64(m.n, 2);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x13fff)->rec, 5);
	MT_CHECK(mt_vm_map_find(&m, 0x14000) == NULL);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x15000)->rec, 5);
	mt_vm_map_release(&m);
}

static void test_remove_across(void)
{
	struct mt_vm_map m;
	struct sum s = { 0 };

	mt_vm_map_init(&m);
	MT_CHECK(mt_vm_map_insert(&m, 0x1000, 0x3000, 1, 0) == 0);
	MT_CHECK(mt_vm_map_insert(&m, 0x3000, 0x4000, 2, 0) == 0);
	MT_CHECK(mt_vm_map_insert(&m, 0x6000, 0x8000, 3, 0) == 0);
	/* clips 1, removes 2, nothing mapped in the gap, clips 3 */
	MT_CHECK(mt_vm_map_remove(&m, 0x2000, 0x7000, add, &s) == 0);
	MT_CHECK_EQ_U64(s.bytes, 0x1000 + 0x1000 + 0x1000);
	MT_CHECK_EQ_U64(s.pieces, 3);
	MT_CHECK_EQ_U64(m.n, 2);
	MT_CHECK_EQ_U64(m.a[0].end, 0x2000);
	MT_CHECK_EQ_U64(m.a[1].start, 0x7000);
	mt_vm_map_release(&m);
}

static void test_insert_replaces_overlap(void)
{
	struct mt_vm_map m;
	struct sum s = { 0 };

	mt_vm_map_init(&m);
	MT_CHECK(mt_vm_map_insert(&m, 0x1000, 0x9000, 1, 0) == 0);
	MT_CHECK(mt_vm_map_insert(&m, 0x3000, 0x5000, 2, 0) == 0);   /* MAP_FIXED */
	MT_CHECK_EQ_U64(m.n, 3);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 0x4000)->rec, 2);
	MT_CHECK_EQ_U64(mt_vm_map_visit(&m, 0, 0x10000, add, &s), 0x8000);
	MT_CHECK_EQ_U64(s.pieces, 3);
	mt_vm_map_release(&m);
}

static void test_many(void)
{
	struct mt_vm_map m;
	uint64_t i;

	mt_vm_map_init(&m);
	/* 1009 areas inserted in a scrambled order stay sorted */
	for (i = 0; i < 1009; i++) {
		uint64_t k = (i * 617) % 1009;

		MT_CHECK(mt_vm_map_insert(&m, k * 0x2000, k * 0x2000 + 0x1000, (uint32_t)k, 0) == 0);
	}
	MT_CHECK_EQ_U64(m.n, 1009);
	for (i = 1; i < m.n; i++)
		MT_CHECK(m.a[i - 1].end <= m.a[i].start);
	MT_CHECK_EQ_U64(mt_vm_map_find(&m, 500 * 0x2000 + 5)->rec, 500);
	MT_CHECK(mt_vm_map_find(&m, 500 * 0x2000 + 0x1000) == NULL);
	mt_vm_map_release(&m);
}

int main(void)
{
	MT_RUN(test_insert_find);
	MT_RUN(test_remove_middle_splits);
	MT_RUN(test_remove_across);
	MT_RUN(test_insert_replaces_overlap);
	MT_RUN(test_many);
	return mt_test_done();
}
