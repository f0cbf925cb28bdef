// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the reachability core: a synthetic aggregator whose
 * blocks live in a fake address space (a host buffer at BASE), read
 * through the callback, so no process is needed. */
#include <errno.h>
#include <stdlib.h>
#include "reach/mt_reach.h"
#include "mt_test.h"

#define START 1000000000ull
#define MSEC 1000000ull
#define BASE 0x100000ull
#define MEM (64 * 1024)

static unsigned char mem[MEM];
static uint64_t unreadable_from = UINT64_MAX;   /* fake EFAULT at and above */

static ssize_t fake_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	if (addr < BASE || addr + len > BASE + MEM || addr >= unreadable_from)
		return -EFAULT;
	memcpy(buf, mem + (addr - BASE), len);
	return (ssize_t)len;
}

/* Set: floods read small blocks in batches through fake_readv. */
static int batched;

/* process_vm_readv's semantics: ranges in order, stop at the first
 * unreadable byte, return what was read. */
static unsigned readv_calls;

static ssize_t fake_readv(void *arg, const uint64_t *addr, const size_t *len, unsigned n, void *buf)
{
	size_t total = 0;
	unsigned i;

	readv_calls++;
	for (i = 0; i < n; i++) {
		ssize_t got = fake_read(arg, addr[i], (char *)buf + total, len[i]);

		if (got < (ssize_t)len[i])
			return total ? (ssize_t)total : -EFAULT;
		total += len[i];
	}
	return (ssize_t)total;
}

static void poke(uint64_t addr, uint64_t v)
{
	memcpy(mem + (addr - BASE), &v, 8);
}

/* Blocks (site: frames {site + 1}): */
enum { S_ROOTED, S_CHAIN, S_ORPHAN, S_CYCLE, S_INTERIOR, S_YOUNG, NSITES };
static uint32_t site[NSITES];

static struct mt_agg *make(void)
{
	struct mt_agg *a = mt_agg_new(START);
	uint64_t f;
	int i;

	if (!a)
		return NULL;
	for (i = 0; i < NSITES; i++) {
		f = 0x400000 + (uint64_t)i;
		site[i] = mt_agg_site(a, &f, 1);
	}
	memset(mem, 0, sizeof(mem));
	/* rooted (48 B at +0x000) -> chain 1 (+0x100) -> chain 2 (+0x200) */
	mt_agg_alloc(a, START + MSEC, BASE + 0x000, 48, site[S_ROOTED]);
	mt_agg_alloc(a, START + MSEC, BASE + 0x100, 64, site[S_CHAIN]);
	mt_agg_alloc(a, START + MSEC, BASE + 0x200, 64, site[S_CHAIN]);
	poke(BASE + 0x008, BASE + 0x100);
	poke(BASE + 0x130, BASE + 0x200 + 40);     /* interior, from a heap block */
	/* orphan (+0x300), pointing at the chain: that keeps nothing alive
	 * that is not already, and the orphan stays lost */
	mt_agg_alloc(a, START + MSEC, BASE + 0x300, 32, site[S_ORPHAN]);
	poke(BASE + 0x300, BASE + 0x100);
	/* a cycle (+0x400 <-> +0x500) nothing points to */
	mt_agg_alloc(a, START + MSEC, BASE + 0x400, 16, site[S_CYCLE]);
	mt_agg_alloc(a, START + MSEC, BASE + 0x500, 16, site[S_CYCLE]);
	poke(BASE + 0x400, BASE + 0x500);
	poke(BASE + 0x500, BASE + 0x400);
	/* held only through an interior pointer from the root */
	mt_agg_alloc(a, START + MSEC, BASE + 0x600, 100, site[S_INTERIOR]);
	/* allocated late (t = 5 s), lost */
	mt_agg_alloc(a, START + 5000 * MSEC, BASE + 0x700, 8, site[S_YOUNG]);
	return a;
}

static void test_find(void)
{
	struct mt_agg *a = make();
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;

	MT_CHECK(r);
	/* The index into the blocks sorted by address: make() put them at
	 * +0x000, +0x100, ... +0x700, so block k starts at BASE + k * 0x100. */
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x000), 0);
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x02f), 0);                   /* last byte */
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x100), 1);
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x200 + 40), 2);              /* interior */
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x500 + 15), 5);
	MT_CHECK(mt_reach_find(r, BASE + 0x030) == -1);                        /* one past */
	MT_CHECK(mt_reach_find(r, BASE - 8) == -1);
	MT_CHECK(mt_reach_find(r, BASE + 0x0ff) == -1);                        /* gap */
	MT_CHECK(mt_reach_find(r, BASE + 0x800) == -1);
	/* 100 B at a 16-aligned address: glibc's next chunk header is at +96 */
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x600 + 95), 6);
	MT_CHECK(mt_reach_find(r, BASE + 0x600 + 96) == -1);
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x600 + 97), 6);
	/* 8 B: the next header is past the block; its start always counts */
	MT_CHECK_EQ_U64(mt_reach_find(r, BASE + 0x700), 7);
	MT_CHECK(mt_reach_holds_block(r, BASE + 0x680, BASE + 0x701));
	MT_CHECK(!mt_reach_holds_block(r, BASE + 0x701, BASE + 0x1000));
	MT_CHECK(!mt_reach_holds_block(r, 0, BASE));
	mt_reach_free(r);
	mt_agg_free(a);
}

static void test_flood(void)
{
	struct mt_agg *a = make();
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;
	uint64_t root[4] = { 12345, BASE + 0x000, BASE + 0x600 + 50, 0 };
	struct mt_reach_counts c;
	struct mt_reach_stats *st;

	MT_CHECK(r);
	unreadable_from = UINT64_MAX;
	mt_reach_root(r, 0x7000, root, sizeof(root));
	MT_CHECK_EQ_U64(mt_reach_flood(r, fake_read, batched ? fake_readv : NULL, NULL), 0);
	MT_CHECK(mt_reach_marked(r, BASE + 0x000));
	MT_CHECK(mt_reach_marked(r, BASE + 0x100));
	MT_CHECK(mt_reach_marked(r, BASE + 0x200));
	MT_CHECK(mt_reach_marked(r, BASE + 0x600));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x300));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x400));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x500));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x700));
	st = mt_reach_stats(r);
	MT_CHECK_EQ_U64(st->blocks, 8);
	MT_CHECK_EQ_U64(st->blocks_scanned, 4);
	MT_CHECK_EQ_U64(st->heap_bytes_scanned, 48 + 64 + 64 + 100);
	MT_CHECK_EQ_U64(mt_reach_tally(r, UINT64_MAX), 0);
	c = mt_reach_site(r, site[S_CHAIN]);
	MT_CHECK_EQ_U64(c.reachable_objects, 2);
	MT_CHECK_EQ_U64(c.reachable_bytes, 128);
	MT_CHECK_EQ_U64(c.lost_objects, 0);
	c = mt_reach_site(r, site[S_CYCLE]);
	MT_CHECK_EQ_U64(c.lost_objects, 2);
	MT_CHECK_EQ_U64(c.lost_bytes, 32);
	MT_CHECK_EQ_U64(c.reachable_objects, 0);
	c = mt_reach_site(r, site[S_ORPHAN]);
	MT_CHECK_EQ_U64(c.lost_objects, 1);
	MT_CHECK_EQ_U64(st->all.lost_objects, 4);
	MT_CHECK_EQ_U64(st->all.reachable_objects, 4);
	MT_CHECK_EQ_U64(st->all.lost_bytes, 32 + 32 + 8);
	mt_reach_free(r);
	mt_agg_free(a);
}

/* Per-site counts keep only blocks old enough (the leak candidates). */
static void test_cut(void)
{
	struct mt_agg *a = make();
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;
	struct mt_reach_counts c;

	MT_CHECK(r);
	MT_CHECK_EQ_U64(mt_reach_flood(r, fake_read, batched ? fake_readv : NULL, NULL), 0);   /* no roots */
	mt_reach_tally(r, START + 2000 * MSEC);
	c = mt_reach_site(r, site[S_YOUNG]);
	MT_CHECK_EQ_U64(c.lost_objects + c.reachable_objects, 0);
	c = mt_reach_site(r, site[S_ROOTED]);
	MT_CHECK_EQ_U64(c.lost_objects, 1);
	MT_CHECK_EQ_U64(mt_reach_stats(r)->all.lost_objects, 8);
	c = mt_reach_site(r, 999);
	MT_CHECK_EQ_U64(c.lost_objects + c.reachable_objects, 0);
	mt_reach_free(r);
	mt_agg_free(a);
}

/* An unreadable block is counted, and what only it points to stays lost. */
static void test_unreadable(void)
{
	struct mt_agg *a = make();
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;
	uint64_t root = BASE;

	MT_CHECK(r);
	unreadable_from = BASE + 0x100;
	mt_reach_root(r, 0x7000, &root, sizeof(root));
	MT_CHECK_EQ_U64(mt_reach_flood(r, fake_read, batched ? fake_readv : NULL, NULL), 0);
	unreadable_from = UINT64_MAX;
	MT_CHECK(mt_reach_marked(r, BASE + 0x100));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x200));
	MT_CHECK_EQ_U64(mt_reach_stats(r)->unreadable_bytes, 64);
	mt_reach_free(r);
	mt_agg_free(a);
}

/* Only 8-byte aligned words of the root count, wherever the copy starts. */
static void test_alignment(void)
{
	struct mt_agg *a = make();
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;
	unsigned char buf[24] = { 0 };
	uint64_t p = BASE + 0x300;

	MT_CHECK(r);
	memcpy(buf + 4, &p, 8);              /* target address 0x7004: unaligned */
	mt_reach_root(r, 0x7000, buf, sizeof(buf));
	MT_CHECK(!mt_reach_marked(r, BASE + 0x300));
	mt_reach_root(r, 0x6ffc, buf, sizeof(buf));   /* now at 0x7000: aligned */
	MT_CHECK(mt_reach_marked(r, BASE + 0x300));
	mt_reach_free(r);
	mt_agg_free(a);
}

static void test_empty(void)
{
	struct mt_agg *a = mt_agg_new(START);
	struct mt_reach *r = a ? mt_reach_new(a) : NULL;
	uint64_t w = BASE;

	MT_CHECK(r);
	mt_reach_root(r, 0x7000, &w, 8);
	MT_CHECK_EQ_U64(mt_reach_flood(r, fake_read, batched ? fake_readv : NULL, NULL), 0);
	mt_reach_tally(r, UINT64_MAX);
	MT_CHECK_EQ_U64(mt_reach_stats(r)->blocks, 0);
	MT_CHECK_EQ_U64(mt_reach_site(r, MT_SITE_NONE).lost_objects, 0);
	mt_reach_free(r);
	mt_agg_free(a);
}

/* The same floods with batched reads: identical results, and the batches
 * really used (one read for many blocks). */
static void test_batched(void)
{
	unsigned before = readv_calls;

	batched = 1;
	test_flood();
	test_cut();
	test_unreadable();
	test_empty();
	batched = 0;
	MT_CHECK(readv_calls > before);
}

int main(void)
{
	MT_RUN(test_find);
	MT_RUN(test_flood);
	MT_RUN(test_cut);
	MT_RUN(test_unreadable);
	MT_RUN(test_alignment);
	MT_RUN(test_empty);
	MT_RUN(test_batched);
	return mt_test_done();
}
