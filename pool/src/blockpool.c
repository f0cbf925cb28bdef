// SPDX-License-Identifier: BSD-2-Clause
/*
 * Block pool and multi-level pool.
 *
 * A block pool is an object pool without callbacks, plus optional zeroing:
 * it reuses the object pool's thread caches and depot, so it has the same
 * fast path. The multi-level pool is an immutable, sorted array of block
 * pools chosen by size, so picking a level takes no lock (the Go sketch in
 * the seed read its map of levels without one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objpool.h"

struct mtpool_block {
	mtpool *pool;
	size_t size;
};

#define ML_MAX_LEVELS 32

struct mtpool_ml {
	unsigned n;
	size_t sizes[ML_MAX_LEVELS];
	mtpool_block *levels[ML_MAX_LEVELS];
	uint64_t big_gets, big_puts, big_bytes;   /* MT_ADD: above the top level */
};

mtpool_block *mtpool_block_create(size_t block_size, const struct mtpool_block_opts *opts)
{
	struct mtpool_opts o = { 0 };
	mtpool_block *bp;

	if (opts) {
		o.name = opts->name;
		o.align = opts->align;
		o.max_cached = opts->max_cached;
		o.thread_cache = opts->thread_cache;
		o.flags = opts->flags & MTPOOL_F_DEBUG;
		o.budget = opts->budget;
	}
	if (!o.name)
		o.name = "mtpool_block";
	bp = malloc(sizeof(*bp));
	if (!bp)
		return NULL;
	bp->size = block_size;
	bp->pool = mtpool__objpool_create(block_size, &o,
					  opts && (opts->flags & MTPOOL_F_ZERO_ON_RELEASE) ?
					  MT_OBJ_ZERO | MT_OBJ_BLOCK : MT_OBJ_BLOCK);
	if (!bp->pool) {
		int err = errno;

		free(bp);
		errno = err;
		return NULL;
	}
	return bp;
}

void *mtpool_block_get(mtpool_block *bp)
{
	return mtpool_get(bp->pool);
}

void mtpool_block_put(mtpool_block *bp, void *block)
{
	mtpool_put(bp->pool, block);
}

size_t mtpool_block_size(const mtpool_block *bp)
{
	return bp->size;
}

void mtpool_block_destroy(mtpool_block *bp)
{
	if (!bp)
		return;
	mtpool_destroy(bp->pool);
	free(bp);
}

void mtpool_block_stats(mtpool_block *bp, struct mtpool_stats *st)
{
	mtpool_stats(bp->pool, st);
}

/* ----------------------------------------------------------- multi-level */

mtpool_ml *mtpool_ml_create(const size_t *sizes, unsigned nlevels,
			    const struct mtpool_block_opts *opts)
{
	static const size_t dflt[] = { 64, 128, 256, 512, 1024, 2048, 4096, 8192,
				       16384, 32768, 65536 };
	struct mtpool_block_opts o = { 0 };
	char name[MT_NAME_MAX];
	mtpool_ml *ml;
	unsigned i;

	if (!sizes) {
		sizes = dflt;
		nlevels = sizeof(dflt) / sizeof(dflt[0]);
	}
	if (!nlevels || nlevels > ML_MAX_LEVELS)
		goto einval;
	for (i = 0; i < nlevels; i++)
		if (!sizes[i] || (i && sizes[i] <= sizes[i - 1]))
			goto einval;
	ml = calloc(1, sizeof(*ml));
	if (!ml)
		return NULL;
	if (opts)
		o = *opts;
	for (i = 0; i < nlevels; i++) {
		snprintf(name, sizeof(name), "%.30s/%zu", o.name ? o.name : "mtpool_ml", sizes[i]);
		o.name = name;
		ml->sizes[i] = sizes[i];
		ml->levels[i] = mtpool_block_create(sizes[i], &o);
		o.name = opts ? opts->name : NULL;
		if (!ml->levels[i]) {
			int err = errno;

			ml->n = i;
			mtpool_ml_destroy(ml);
			errno = err;
			return NULL;
		}
	}
	ml->n = nlevels;
	return ml;
einval:
	errno = EINVAL;
	return NULL;
}

/* Levels are few (<= 32) and sorted: a linear scan over one or two cache
 * lines beats a binary search's unpredictable branches. */
static int ml_level(const mtpool_ml *ml, size_t size)
{
	unsigned i;

	for (i = 0; i < ml->n; i++)
		if (size <= ml->sizes[i])
			return (int)i;
	return -1;
}

void *mtpool_ml_get(mtpool_ml *ml, size_t size)
{
	int l = ml_level(ml, size);
	void *p;

	if (l >= 0)
		return mtpool_block_get(ml->levels[l]);
	p = malloc(size);
	if (p) {
		MT_ADD(ml->big_gets, 1);
		MT_ADD(ml->big_bytes, size);
	}
	return p;
}

void mtpool_ml_put(mtpool_ml *ml, void *block, size_t size)
{
	int l;

	if (!block)
		return;
	l = ml_level(ml, size);
	if (l >= 0) {
		mtpool_block_put(ml->levels[l], block);
		return;
	}
	free(block);
	MT_ADD(ml->big_puts, 1);
	__atomic_fetch_sub(&ml->big_bytes, size, __ATOMIC_RELAXED);
}

size_t mtpool_ml_level_size(const mtpool_ml *ml, size_t size)
{
	int l = ml_level(ml, size);

	return l >= 0 ? ml->sizes[l] : 0;
}

void mtpool_ml_destroy(mtpool_ml *ml)
{
	unsigned i;

	if (!ml)
		return;
	for (i = 0; i < ml->n; i++)
		mtpool_block_destroy(ml->levels[i]);
	free(ml);
}

void mtpool_ml_stats(mtpool_ml *ml, struct mtpool_stats *st)
{
	struct mtpool_stats l;
	uint64_t bg = MT_RD(ml->big_gets), bp = MT_RD(ml->big_puts);
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < ml->n; i++) {
		mtpool_block_stats(ml->levels[i], &l);
		st->gets += l.gets;
		st->puts += l.puts;
		st->hits += l.hits;
		st->misses += l.misses;
		st->live += l.live;
		st->cached += l.cached;
		st->bytes_reserved += l.bytes_reserved;
		st->budget_denied += l.budget_denied;
	}
	st->gets += bg;
	st->puts += bp;
	st->misses += bg;
	st->live += bg > bp ? bg - bp : 0;
	st->bytes_reserved += MT_RD(ml->big_bytes);
}
