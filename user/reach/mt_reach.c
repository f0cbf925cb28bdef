// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reachability core: the mark phase over a snapshot of the live blocks;
 * see mt_reach.h. Memory: 32 bytes per live block plus 4 for the worklist
 * and 32 per site. Time: O(root words * log blocks) plus the same per word
 * of every reachable block; each block is read once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "reach/mt_reach.h"
#include "util/mt_progress.h"

#define CHUNK (1u << 20)   /* bytes read at a time from one block */

struct blk {
	uint64_t addr, size, ts_ns;
	uint32_t site;
	uint32_t marked;
};

struct mt_reach {
	struct blk *b;
	size_t n, cap;
	uint64_t lo, hi;          /* [lowest start, highest end) */
	uint32_t *work;           /* marked blocks not yet scanned */
	size_t nwork;
	struct mt_reach_counts *sites;  /* index nsites = MT_SITE_NONE */
	uint32_t nsites;
	struct mt_reach_stats st;
};

static int collect(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t ts)
{
	struct mt_reach *r = arg;

	if (r->n == r->cap)
		return -ENOSPC;  /* the table changed under us: cannot happen */
	r->b[r->n++] = (struct blk){ .addr = addr, .size = size, .ts_ns = ts, .site = site };
	return 0;
}

static int blk_cmp(const void *pa, const void *pb)
{
	const struct blk *x = pa, *y = pb;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct mt_reach *mt_reach_new(const struct mt_agg *a)
{
	const struct mt_totals *t = mt_agg_totals(a);
	struct mt_reach *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r)
		return NULL;
	r->cap = t->c.live_objects;
	r->nsites = mt_agg_nsites(a);
	r->b = malloc((r->cap ? r->cap : 1) * sizeof(*r->b));
	r->work = malloc((r->cap ? r->cap : 1) * sizeof(*r->work));
	r->sites = calloc((size_t)r->nsites + 1, sizeof(*r->sites));
	if (!r->b || !r->work || !r->sites || mt_agg_live_foreach(a, collect, r)) {
		mt_reach_free(r);
		return NULL;
	}
	qsort(r->b, r->n, sizeof(*r->b), blk_cmp);
	r->lo = UINT64_MAX;
	for (i = 0; i < r->n; i++) {
		uint64_t end = r->b[i].addr + (r->b[i].size ? r->b[i].size : 1);

		if (r->b[i].addr < r->lo)
			r->lo = r->b[i].addr;
		if (end > r->hi)
			r->hi = end;
	}
	r->st.blocks = r->n;
	return r;
}

void mt_reach_free(struct mt_reach *r)
{
	if (!r)
		return;
	free(r->b);
	free(r->work);
	free(r->sites);
	free(r);
}

long mt_reach_find(const struct mt_reach *r, uint64_t p)
{
	size_t lo = 0, hi = r->n;
	const struct blk *b;
	uint64_t off, tail;

	if (p < r->lo || p >= r->hi)
		return -1;
	/* The last block starting at or before p. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->b[mid].addr <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	b = &r->b[lo - 1];
	off = p - b->addr;
	if (off >= (b->size ? b->size : 1))
		return -1;
	/* glibc: the next chunk's header starts roundup(size + 8, 16) - 16
	 * bytes into a 16-aligned block; free lists and top point there. */
	tail = ((b->size + 8 + 15) & ~15ull) - 16;
	if (!(b->addr & 15) && off && off == tail)
		return -1;
	return (long)(lo - 1);
}

static void mark(struct mt_reach *r, uint64_t p)
{
	long i = mt_reach_find(r, p);

	if (i < 0 || r->b[i].marked)
		return;
	r->b[i].marked = 1;
	r->work[r->nwork++] = (uint32_t)i;
}

void mt_reach_root(struct mt_reach *r, uint64_t addr, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t skip = (8 - (addr & 7)) & 7, i;

	if (len <= skip)
		return;
	p += skip;
	len -= skip;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w >= r->lo && w < r->hi)
			mark(r, w);
	}
}

/* Read one block through rd, CHUNK bytes at a time, and scan it. */
static void flood_one(struct mt_reach *r, const struct blk *b, mt_reach_read_fn rd, void *arg,
		      unsigned char *buf)
{
	uint64_t off = 0;

	while (off < b->size) {
		size_t len = b->size - off > CHUNK ? CHUNK : (size_t)(b->size - off);
		ssize_t got = rd(arg, b->addr + off, buf, len);

		if (got < (ssize_t)len) {
			r->st.unreadable_bytes += len - (got > 0 ? (size_t)got : 0);
			if (got > 0)
				mt_reach_root(r, b->addr + off, buf, (size_t)got);
			return;
		}
		/* Block contents are scanned like roots; the copy in buf stays
		 * valid while mark() appends to the worklist. */
		mt_reach_root(r, b->addr + off, buf, len);
		r->st.heap_bytes_scanned += len;
		off += len;
	}
}

/* Live blocks from which the scan shows a progress line on a terminal. */
#define PROGRESS_MIN_BLOCKS 10000

int mt_reach_flood(struct mt_reach *r, mt_reach_read_fn rd, mt_reach_readv_fn rdv, void *arg)
{
	_Static_assert(CHUNK >= MT_REACH_BATCH_BYTES, "a batch fits the buffer");
	/* the batch in the first half, a block read alone in the second */
	unsigned char *buf = malloc(2 * (size_t)CHUNK);
	uint64_t addr[MT_REACH_BATCH];
	size_t len[MT_REACH_BATCH];
	uint32_t idx[MT_REACH_BATCH];
	struct mt_progress prog = { 0 };
	uint64_t shown = 0;

	if (!buf)
		return -ENOMEM;
	/* the target is paused: a terminal says why it takes a while (a
	 * small heap scans in a blink, with no line) */
	if (r->n >= PROGRESS_MIN_BLOCKS && mt_progress_enabled())
		mt_progress_begin(&prog, "reachability scan", "live blocks", r->n);
	while (r->nwork) {
		size_t total = 0, at = 0;
		ssize_t got = -1;
		unsigned n = 0, i;

		/* Pop small blocks while they fit one batch; a block too big
		 * for it is read alone, in chunks. */
		while (rdv && r->nwork && n < MT_REACH_BATCH) {
			const struct blk *b = &r->b[r->work[r->nwork - 1]];

			if (b->size > MT_REACH_BATCH_BYTES - total)
				break;
			idx[n] = r->work[--r->nwork];
			addr[n] = b->addr;
			len[n] = (size_t)b->size;
			total += len[n++];
		}
		if (n == 0) {
			const struct blk *b = &r->b[r->work[--r->nwork]];

			r->st.blocks_scanned++;
			flood_one(r, b, rd, arg, buf);
			continue;
		}
		got = rdv(arg, addr, len, n, buf);
		for (i = 0; i < n; i++) {
			r->st.blocks_scanned++;
			if (got >= 0 && at + len[i] <= (size_t)got) {
				mt_reach_root(r, addr[i], buf + at, len[i]);
				r->st.heap_bytes_scanned += len[i];
			} else {
				/* past where the batch stopped: this block alone */
				flood_one(r, &r->b[idx[i]], rd, arg, buf + CHUNK);
			}
			at += len[i];
		}
		mt_progress_step(&prog, r->st.blocks_scanned - shown);
		shown = r->st.blocks_scanned;
	}
	mt_progress_end(&prog);
	free(buf);
	return 0;
}

bool mt_reach_marked(const struct mt_reach *r, uint64_t addr)
{
	long i = mt_reach_find(r, addr);

	return i >= 0 && r->b[i].addr == addr && r->b[i].marked;
}

bool mt_reach_holds_block(const struct mt_reach *r, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {   /* the first block starting at or after start */
		size_t mid = lo + (hi - lo) / 2;

		if (r->b[mid].addr < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->b[lo].addr < end;
}

static void count(struct mt_reach_counts *c, const struct blk *b)
{
	if (b->marked) {
		c->reachable_objects++;
		c->reachable_bytes += b->size;
	} else {
		c->lost_objects++;
		c->lost_bytes += b->size;
	}
}

int mt_reach_tally(struct mt_reach *r, uint64_t cut_ns)
{
	size_t i;

	memset(r->sites, 0, ((size_t)r->nsites + 1) * sizeof(*r->sites));
	memset(&r->st.all, 0, sizeof(r->st.all));
	for (i = 0; i < r->n; i++) {
		const struct blk *b = &r->b[i];
		uint32_t s = b->site < r->nsites ? b->site : r->nsites;

		count(&r->st.all, b);
		if (b->ts_ns <= cut_ns)
			count(&r->sites[s], b);
	}
	return 0;
}

struct mt_reach_counts mt_reach_site(const struct mt_reach *r, uint32_t site)
{
	struct mt_reach_counts none = { 0 };

	if (site == MT_SITE_NONE)
		return r->sites[r->nsites];
	return site < r->nsites ? r->sites[site] : none;
}

struct mt_reach_stats *mt_reach_stats(struct mt_reach *r)
{
	return &r->st;
}
