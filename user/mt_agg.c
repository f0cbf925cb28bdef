// SPDX-License-Identifier: BSD-2-Clause
/*
 * The aggregator. Two hash tables, both open addressing with power-of-two
 * capacities:
 *   - the live table: one 24-byte entry per live object, keyed by address,
 *     linear probing with backward-shift deletion (no tombstones, so a long
 *     run of alloc/free churn never degrades lookups);
 *   - the site index: site ids keyed by a hash of the frames, pointing into
 *     a growable array of struct mt_site (ids are array indexes, stable).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mt_agg.h"

/*
 * One live object. Addresses are never 0 for a live block (malloc returns
 * NULL only on failure), so addr == 0 marks an empty slot. The allocation
 * time is milliseconds since start, rounded up: 32 bits last 49 days and
 * ages need only 0.001 s. 8 + 8 + 4 + 4 = 24 bytes; sizes keep 64 bits.
 */
struct mt_live {
	uint64_t addr;
	uint64_t size;
	uint32_t ts_ms;
	uint32_t site;
};
_Static_assert(sizeof(struct mt_live) == 24, "mt_live must stay 24 bytes");

/* Grow past 13/16 (81%) full: linear probing then averages ~3 probes for a
 * hit and ~14 for a miss with a well-mixed hash; after doubling the table
 * is 41% full, so memory per live object is 24 / load = 30..59 bytes. */
#define LIVE_MIN_CAP 1024u
#define LIVE_LOAD_NUM 13u
#define LIVE_LOAD_DEN 16u
#define SITE_MIN_CAP 256u
#define MS 1000000ull

struct mt_agg {
	struct mt_live *live;
	size_t live_cap;           /* power of two */
	unsigned live_shift;       /* 64 - log2(live_cap) */
	size_t live_count;

	struct mt_site *sites;
	uint64_t *site_hash;       /* parallel to sites: hash of each frames[] */
	uint32_t nsites, sites_cap;
	uint32_t *site_index;      /* open addressing of site ids, UINT32_MAX = empty */
	uint32_t site_index_cap;   /* power of two, kept at most half full */

	struct mt_totals t;
	uint64_t start_ns;

	struct mt_agg_observer obs[MT_AGG_MAX_OBSERVERS];
	unsigned nobs;
	uint32_t tid;              /* thread of the current operation */

	/* Interval rates: totals at the start of the current interval. */
	uint64_t iv_ns, iv_allocs, iv_alloc_bytes, iv_frees;
};

/*
 * Fibonacci (multiply-shift) hashing on addr >> 4: glibc blocks are 16-byte
 * aligned, so the low 4 bits carry nothing, and the multiply spreads the
 * clustered middle bits into the top bits, which pick the slot. An xor-shift
 * first folds the high bits (mmap'd chunks differ there) into the product.
 * Two instructions plus a shift per lookup.
 */
uint64_t mt_agg_addr_hash(uint64_t addr)
{
	uint64_t x = addr >> 4;

	x ^= x >> 29;
	return x * 0x9e3779b97f4a7c15ull;
}

static inline size_t live_home(const struct mt_agg *a, uint64_t addr)
{
	return (size_t)(mt_agg_addr_hash(addr) >> a->live_shift);
}

static unsigned log2_pow2(size_t v)
{
	unsigned n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

static int live_alloc_table(struct mt_agg *a, size_t cap)
{
	struct mt_live *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	a->live = t;
	a->live_cap = cap;
	a->live_shift = 64 - log2_pow2(cap);
	return 0;
}

/* Slot holding addr, or the empty slot where it would go. */
static size_t live_find(const struct mt_agg *a, uint64_t addr)
{
	size_t mask = a->live_cap - 1, i = live_home(a, addr);

	while (a->live[i].addr && a->live[i].addr != addr)
		i = (i + 1) & mask;
	return i;
}

/* Doubling rehashes every entry once: amortized O(1) per insert. During the
 * rehash both tables exist (peak 1.5x the new table's size). */
static int live_grow(struct mt_agg *a)
{
	struct mt_live *old = a->live;
	size_t old_cap = a->live_cap, i;
	unsigned old_shift = a->live_shift;
	int err;

	err = live_alloc_table(a, old_cap * 2);
	if (err) {
		a->live = old;
		a->live_cap = old_cap;
		a->live_shift = old_shift;
		return err;
	}
	for (i = 0; i < old_cap; i++) {
		if (old[i].addr)
			a->live[live_find(a, old[i].addr)] = old[i];
	}
	free(old);
	return 0;
}

/*
 * Backward-shift deletion: after emptying slot i, walk the run that follows
 * and move back every entry whose home slot is not cyclically in (i, j], so
 * no lookup ever meets a hole before its key. Cost: the length of the run.
 */
static void live_delete(struct mt_agg *a, size_t i)
{
	size_t mask = a->live_cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (!a->live[j].addr)
			break;
		k = live_home(a, a->live[j].addr);
		/* Entry j may fill hole i when its home k is not in (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			a->live[i] = a->live[j];
			i = j;
		}
	}
	a->live[i].addr = 0;
	a->live_count--;
}

static uint64_t splitmix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t frames_hash(const uint64_t *frames, uint32_t n)
{
	uint64_t h = 0x6a09e667f3bcc909ull ^ n;
	uint32_t i;

	for (i = 0; i < n; i++)
		h = splitmix64(h ^ frames[i]) + i;
	return splitmix64(h);
}

struct mt_agg *mt_agg_new(uint64_t start_ns)
{
	struct mt_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->start_ns = start_ns;
	a->iv_ns = start_ns;
	a->site_index_cap = SITE_MIN_CAP;
	a->site_index = malloc(a->site_index_cap * sizeof(*a->site_index));
	if (!a->site_index || live_alloc_table(a, LIVE_MIN_CAP)) {
		mt_agg_free(a);
		return NULL;
	}
	memset(a->site_index, 0xff, a->site_index_cap * sizeof(*a->site_index));
	return a;
}

void mt_agg_free(struct mt_agg *a)
{
	if (!a)
		return;
	free(a->live);
	free(a->sites);
	free(a->site_hash);
	free(a->site_index);
	free(a);
}

static int site_index_grow(struct mt_agg *a)
{
	uint32_t cap = a->site_index_cap * 2, mask = cap - 1, id, i;
	uint32_t *idx = malloc(cap * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	memset(idx, 0xff, cap * sizeof(*idx));
	for (id = 0; id < a->nsites; id++) {
		i = (uint32_t)a->site_hash[id] & mask;
		while (idx[i] != UINT32_MAX)
			i = (i + 1) & mask;
		idx[i] = id;
	}
	free(a->site_index);
	a->site_index = idx;
	a->site_index_cap = cap;
	return 0;
}

static int sites_grow(struct mt_agg *a)
{
	uint32_t cap = a->sites_cap ? a->sites_cap * 2 : 64;
	struct mt_site *s;
	uint64_t *h;

	s = realloc(a->sites, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	a->sites = s;
	h = realloc(a->site_hash, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	a->site_hash = h;
	a->sites_cap = cap;
	return 0;
}

uint32_t mt_agg_site(struct mt_agg *a, const uint64_t *frames, uint32_t nframes)
{
	uint64_t h;
	uint32_t mask, i, id;
	struct mt_site *s;

	if (nframes > MT_AGG_MAX_FRAMES)
		nframes = MT_AGG_MAX_FRAMES;
	h = frames_hash(frames, nframes);
	mask = a->site_index_cap - 1;
	for (i = (uint32_t)h & mask; (id = a->site_index[i]) != UINT32_MAX; i = (i + 1) & mask) {
		s = &a->sites[id];
		if (a->site_hash[id] == h && s->nframes == nframes &&
		    !memcmp(s->frames, frames, nframes * sizeof(*frames)))
			return id;
	}
	/* Ids stop one short of MT_SITE_NONE. */
	if (a->nsites == MT_SITE_NONE - 1)
		return MT_SITE_NONE;
	if (a->nsites == a->sites_cap && sites_grow(a))
		return MT_SITE_NONE;
	id = a->nsites;
	s = &a->sites[id];
	memset(s, 0, sizeof(*s));
	s->nframes = nframes;
	memcpy(s->frames, frames, nframes * sizeof(*frames));
	a->site_hash[id] = h;
	a->site_index[i] = id;
	a->nsites++;
	/* Keep the index at most half full; on failure it is merely fuller. */
	if (a->nsites * 2 > a->site_index_cap)
		site_index_grow(a);
	return id;
}

static void counts_add(struct mt_counts *c, uint64_t size)
{
	c->allocs++;
	c->alloc_bytes += size;
	c->live_objects++;
	c->live_bytes += size;
	if (c->live_bytes > c->peak_live_bytes)
		c->peak_live_bytes = c->live_bytes;
}

static void counts_sub(struct mt_counts *c, uint64_t size)
{
	c->frees++;
	c->free_bytes += size;
	c->live_objects--;
	c->live_bytes -= size;
}

static uint64_t ms_to_ts(const struct mt_agg *a, uint32_t ms)
{
	return a->start_ns + (uint64_t)ms * MS;
}

static void notify_release(struct mt_agg *a, uint64_t ts_ns, const struct mt_live *e)
{
	for (unsigned k = 0; k < a->nobs; k++)
		if (a->obs[k].on_release)
			a->obs[k].on_release(a->obs[k].arg, ts_ns, a->tid, e->site, e->addr, e->size,
					     ms_to_ts(a, e->ts_ms));
}

/* Undo the live entry at slot i in every count it was added to. */
static void release_slot(struct mt_agg *a, uint64_t ts_ns, size_t i)
{
	const struct mt_live *e = &a->live[i];

	notify_release(a, ts_ns, e);
	counts_sub(&a->t.c, e->size);
	if (e->site != MT_SITE_NONE)
		counts_sub(&a->sites[e->site].c, e->size);
	live_delete(a, i);
}

static uint32_t ts_to_ms(const struct mt_agg *a, uint64_t ts_ns)
{
	uint64_t ms;

	if (ts_ns <= a->start_ns)
		return 0;
	ms = (ts_ns - a->start_ns + MS - 1) / MS;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

int mt_agg_alloc(struct mt_agg *a, uint64_t ts_ns, uint64_t addr, uint64_t size, uint32_t site)
{
	int stale = 0, err;
	size_t i;

	if (!addr || (site != MT_SITE_NONE && site >= a->nsites))
		return -EINVAL;
	i = live_find(a, addr);
	if (a->live[i].addr) {
		/* Its free was lost: the stale block counts as freed and the new
		 * one takes its slot, so this path cannot fail. */
		notify_release(a, ts_ns, &a->live[i]);
		counts_sub(&a->t.c, a->live[i].size);
		if (a->live[i].site != MT_SITE_NONE)
			counts_sub(&a->sites[a->live[i].site].c, a->live[i].size);
		a->t.stale_replaced++;
		stale = 1;
	} else {
		if ((a->live_count + 1) * LIVE_LOAD_DEN > a->live_cap * LIVE_LOAD_NUM) {
			err = live_grow(a);
			if (err)
				return err;
			i = live_find(a, addr);
		}
		a->live_count++;
	}
	a->live[i] = (struct mt_live){
		.addr = addr, .size = size, .ts_ms = ts_to_ms(a, ts_ns), .site = site,
	};
	counts_add(&a->t.c, size);
	if (site != MT_SITE_NONE)
		counts_add(&a->sites[site].c, size);
	for (unsigned k = 0; k < a->nobs; k++)
		if (a->obs[k].on_alloc)
			a->obs[k].on_alloc(a->obs[k].arg, ts_ns, a->tid, site, addr, size);
	return stale;
}

int mt_agg_release(struct mt_agg *a, uint64_t ts_ns, uint64_t addr)
{
	size_t i;

	if (addr) {
		i = live_find(a, addr);
		if (a->live[i].addr) {
			release_slot(a, ts_ns, i);
			return 1;
		}
	}
	a->t.untracked_frees++;
	return 0;
}

int mt_agg_add_observer(struct mt_agg *a, const struct mt_agg_observer *o)
{
	if (a->nobs >= MT_AGG_MAX_OBSERVERS)
		return -ENOSPC;
	a->obs[a->nobs++] = *o;
	return 0;
}

void mt_agg_set_tid(struct mt_agg *a, uint32_t tid)
{
	a->tid = tid;
}

int mt_agg_live_foreach(const struct mt_agg *a, mt_agg_live_fn fn, void *arg)
{
	for (size_t i = 0; i < a->live_cap; i++) {
		const struct mt_live *e = &a->live[i];
		int r;

		if (!e->addr)
			continue;
		r = fn(arg, e->addr, e->size, e->site, ms_to_ts(a, e->ts_ms));
		if (r)
			return r;
	}
	return 0;
}

void mt_agg_call(struct mt_agg *a, unsigned ep)
{
	if (ep < MT_AGG_MAX_EPS)
		a->t.calls[ep]++;
}

void mt_agg_failed(struct mt_agg *a)
{
	a->t.failed_allocs++;
}

void mt_agg_lost(struct mt_agg *a, uint64_t n)
{
	a->t.lost_events += n;
}

const struct mt_totals *mt_agg_totals(const struct mt_agg *a)
{
	return &a->t;
}

uint32_t mt_agg_nsites(const struct mt_agg *a)
{
	return a->nsites;
}

const struct mt_site *mt_agg_site_get(const struct mt_agg *a, uint32_t site)
{
	return site < a->nsites ? &a->sites[site] : NULL;
}

uint64_t mt_agg_start_ns(const struct mt_agg *a)
{
	return a->start_ns;
}

static void rates(struct mt_rates *r, uint64_t from_ns, uint64_t to_ns,
		  uint64_t allocs, uint64_t bytes, uint64_t frees)
{
	memset(r, 0, sizeof(*r));
	if (to_ns <= from_ns)
		return;
	r->seconds = (double)(to_ns - from_ns) / 1e9;
	r->allocs_per_s = (double)allocs / r->seconds;
	r->bytes_per_s = (double)bytes / r->seconds;
	r->frees_per_s = (double)frees / r->seconds;
}

void mt_agg_interval(struct mt_agg *a, uint64_t now_ns, struct mt_rates *interval)
{
	const struct mt_counts *c = &a->t.c;

	rates(interval, a->iv_ns, now_ns, c->allocs - a->iv_allocs,
	      c->alloc_bytes - a->iv_alloc_bytes, c->frees - a->iv_frees);
	a->iv_ns = now_ns;
	a->iv_allocs = c->allocs;
	a->iv_alloc_bytes = c->alloc_bytes;
	a->iv_frees = c->frees;
}

void mt_agg_run_rates(const struct mt_agg *a, uint64_t now_ns, struct mt_rates *run)
{
	const struct mt_counts *c = &a->t.c;

	rates(run, a->start_ns, now_ns, c->allocs, c->alloc_bytes, c->frees);
}

static int leak_cmp(const void *pa, const void *pb)
{
	const struct mt_leak *x = pa, *y = pb;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

int mt_agg_leaks(const struct mt_agg *a, uint64_t now_ns, uint64_t min_age_ns, struct mt_leak **out)
{
	/* One slot per site plus one for MT_SITE_NONE, compacted afterwards:
	 * 32 bytes per site, no hashing in the pass over the live table. */
	size_t nslots = (size_t)a->nsites + 1, i, n = 0;
	uint64_t cut_ms = UINT64_MAX;
	struct mt_leak *l;
	uint32_t slot;

	*out = NULL;
	if (min_age_ns) {
		if (now_ns < a->start_ns || now_ns - a->start_ns < min_age_ns)
			return 0;   /* nothing can be old enough yet */
		cut_ms = (now_ns - a->start_ns - min_age_ns) / MS;
	}
	l = calloc(nslots, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (i = 0; i < a->live_cap; i++) {
		const struct mt_live *e = &a->live[i];
		uint64_t ts = a->start_ns + e->ts_ms * MS;

		if (!e->addr || e->ts_ms > cut_ms)
			continue;
		slot = e->site == MT_SITE_NONE ? a->nsites : e->site;
		if (!l[slot].objects || ts < l[slot].oldest_ts_ns)
			l[slot].oldest_ts_ns = ts;
		l[slot].objects++;
		l[slot].bytes += e->size;
	}
	n = 0;
	for (i = 0; i < nslots; i++) {
		if (!l[i].objects)
			continue;
		l[n] = l[i];
		l[n].site = i == a->nsites ? MT_SITE_NONE : (uint32_t)i;
		n++;
	}
	qsort(l, n, sizeof(*l), leak_cmp);
	if (!n) {
		free(l);
		l = NULL;
	}
	*out = l;
	return (int)n;
}

size_t mt_agg_capacity(const struct mt_agg *a)
{
	return a->live_cap;
}

size_t mt_agg_mem_bytes(const struct mt_agg *a)
{
	return sizeof(*a) + a->live_cap * sizeof(struct mt_live) +
	       (size_t)a->sites_cap * (sizeof(struct mt_site) + sizeof(uint64_t)) +
	       (size_t)a->site_index_cap * sizeof(uint32_t);
}

int mt_agg_check(const struct mt_agg *a)
{
	struct mt_counts sum = {0};
	size_t mask = a->live_cap - 1, i, j, n = 0;

	for (i = 0; i < a->live_cap; i++) {
		if (!a->live[i].addr)
			continue;
		n++;
		sum.live_bytes += a->live[i].size;
		/* No hole between the home slot and the entry, and no duplicate
		 * of the key in between (the lookup would stop there). */
		for (j = live_home(a, a->live[i].addr); j != i; j = (j + 1) & mask) {
			if (!a->live[j].addr || a->live[j].addr == a->live[i].addr)
				return -EUCLEAN;
		}
	}
	if (n != a->live_count || n != a->t.c.live_objects ||
	    sum.live_bytes != a->t.c.live_bytes ||
	    a->t.c.allocs - a->t.c.frees != a->t.c.live_objects)
		return -EUCLEAN;
	return 0;
}
