// SPDX-License-Identifier: BSD-2-Clause
/*
 * The aggregator. Three open-addressing hash tables:
 *   - the live table: one packed 16-byte entry per live object, keyed by
 *     address; Robin Hood linear probing up to 7/8 full, grown by 1.5x
 *     (capacities are not powers of two), backward-shift deletion (no
 *     tombstones, so a long run of alloc/free churn never degrades
 *     lookups). Details at struct mt_live and LIVE_MIN_CAP below;
 *   - the side table: the rare objects a 16-byte entry cannot hold, full
 *     records, power-of-two capacity, at most half full;
 *   - the site index: site ids keyed by a hash of the frames, power-of-two
 *     capacity, at most half full, pointing into the sites array (grown by
 *     MT_GROW; ids are array indexes, stable).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "collect/mt_agg.h"
#include "collect/mt_sample.h"
#include "util/mt_grow.h"

/*
 * One live object in 16 bytes (the 24 of a plain struct would be 50% more):
 *   w0:   address (48 bits: every user address of x86-64 and arm64 with
 *         4-level page tables) | site bits 0..15 << 48;
 *   ts_ms: allocation time in ms since start, rounded up (49 days);
 *   sz:   requested size (28 bits, < 256 MiB) | site bits 16..19 << 28.
 * A site id of 20 bits leaves 1M - 1 sites (2^20 - 1 is MT_SITE_NONE).
 * Objects that do not fit (a huge size, a site id past 2^20 - 2, an
 * address above 2^48) go to a small side table of full 24-byte records,
 * searched only while it holds something. Address 0 marks an empty slot.
 */
struct mt_live {
	uint64_t w0;
	uint32_t ts_ms;
	uint32_t sz;
};
_Static_assert(sizeof(struct mt_live) == 16, "mt_live must stay 16 bytes");

#define ADDR_BITS 48
#define ADDR_MASK ((1ull << ADDR_BITS) - 1)
#define SIZE_BITS 28
#define SIZE_MASK ((1u << SIZE_BITS) - 1)
#define SITE_PACK_NONE ((1u << 20) - 1)

/* An object unpacked: what the side table stores and observers see. */
struct mt_obj {
	uint64_t addr;
	uint64_t size;
	uint32_t ts_ms;
	uint32_t site;
};

/*
 * Robin Hood linear probing up to 7/8 full, grown by 1.5x (capacities are
 * not powers of two: the home slot is (hash * cap) >> 64). Robin Hood keeps
 * probe lengths short at that load (a miss stops at the first entry closer
 * to its home than the key would be), so the table runs between 58% and
 * 87.5% full: 18.3..27.4 bytes per live object, 2.5x that for the moment a
 * growth holds both tables. Deletion shifts the run back: no tombstones.
 */
#define LIVE_MIN_CAP 1024u
#define LIVE_LOAD_NUM 7u
#define LIVE_LOAD_DEN 8u
#define WIDE_MIN_CAP 16u
#define SITE_MIN_CAP 256u
#define MS 1000000ull
#define WQ_SHIFT 16       /* sampling weights in Q16 */

typedef unsigned __int128 u128;

/* Sampling: weighted sums behind a site's (or the totals') mt_counts, in
 * Q16 so a release subtracts exactly what its allocation added. */
struct mt_est {
	u128 allocs, frees, alloc_bytes, free_bytes;
};

struct mt_agg {
	struct mt_live *live;
	size_t live_cap;
	size_t live_count;         /* in live, not counting wide */

	struct mt_obj *wide;       /* side table, power-of-two linear probing */
	size_t wide_cap, wide_count;

	struct mt_site *sites;
	uint64_t *site_hash;       /* parallel to sites: hash of each frames[] */
	struct mt_est *site_est;   /* parallel to sites, sampling only */
	uint32_t nsites, sites_cap;
	uint32_t *site_index;      /* open addressing of site ids, UINT32_MAX = empty */
	uint32_t site_index_cap;   /* power of two, kept at most half full */

	struct mt_totals t;
	struct mt_est t_est;
	uint64_t start_ns;
	uint64_t sample_mean;      /* 0: exact counts */

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

static inline size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)(((u128)mt_agg_addr_hash(addr) * cap) >> 64);
}

static inline uint64_t e_addr(const struct mt_live *e)
{
	return e->w0 & ADDR_MASK;
}

static inline void e_unpack(const struct mt_live *e, struct mt_obj *o)
{
	uint32_t site = (uint32_t)(e->w0 >> ADDR_BITS) | ((e->sz >> SIZE_BITS) << 16);

	o->addr = e_addr(e);
	o->size = e->sz & SIZE_MASK;
	o->ts_ms = e->ts_ms;
	o->site = site == SITE_PACK_NONE ? MT_SITE_NONE : site;
}

static bool obj_fits(const struct mt_obj *o)
{
	return o->addr <= ADDR_MASK && o->size <= SIZE_MASK &&
	       (o->site == MT_SITE_NONE || o->site < SITE_PACK_NONE);
}

static inline struct mt_live e_pack(const struct mt_obj *o)
{
	uint32_t site = o->site == MT_SITE_NONE ? SITE_PACK_NONE : o->site;

	return (struct mt_live){
		.w0 = o->addr | ((uint64_t)(site & 0xffff) << ADDR_BITS),
		.ts_ms = o->ts_ms,
		.sz = (uint32_t)o->size | ((site >> 16) << SIZE_BITS),
	};
}

static inline size_t live_next(const struct mt_agg *a, size_t i)
{
	return i + 1 == a->live_cap ? 0 : i + 1;
}

/* How far slot i is from the home of the entry in it. */
static inline size_t live_dist(const struct mt_agg *a, size_t i, uint64_t addr)
{
	size_t h = slot_of(addr, a->live_cap);

	return i >= h ? i - h : i + a->live_cap - h;
}

/* Slot holding addr, or SIZE_MAX. */
static size_t live_find(const struct mt_agg *a, uint64_t addr)
{
	size_t i = slot_of(addr, a->live_cap), d = 0;
	uint64_t ea;

	for (;; i = live_next(a, i), d++) {
		ea = e_addr(&a->live[i]);
		if (ea == addr)
			return i;
		if (!ea || live_dist(a, i, ea) < d)
			return SIZE_MAX;
	}
}

/* Insert an entry known to be absent; the table has room. */
static void live_insert(struct mt_agg *a, struct mt_live e)
{
	size_t i = slot_of(e_addr(&e), a->live_cap), d = 0, ed;
	struct mt_live tmp;

	for (;; i = live_next(a, i), d++) {
		if (!e_addr(&a->live[i])) {
			a->live[i] = e;
			return;
		}
		ed = live_dist(a, i, e_addr(&a->live[i]));
		if (ed < d) {
			tmp = a->live[i];
			a->live[i] = e;
			e = tmp;
			d = ed;
		}
	}
}

/* Shift the run after slot i back by one: no tombstones, and every entry
 * stays as close to its home as before. Cost: the length of the run. */
static void live_delete(struct mt_agg *a, size_t i)
{
	size_t j;

	for (;; i = j) {
		j = live_next(a, i);
		if (!e_addr(&a->live[j]) || live_dist(a, j, e_addr(&a->live[j])) == 0)
			break;
		a->live[i] = a->live[j];
	}
	a->live[i] = (struct mt_live){ 0 };
	a->live_count--;
}

/* Grow by 1.5x; rehashes every entry once: amortized O(1) per insert. */
static int live_grow(struct mt_agg *a)
{
	struct mt_live *old = a->live, *t;
	size_t old_cap = a->live_cap, cap = old_cap + old_cap / 2, i;

	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	a->live = t;
	a->live_cap = cap;
	for (i = 0; i < old_cap; i++) {
		if (e_addr(&old[i]))
			live_insert(a, old[i]);
	}
	free(old);
	return 0;
}

/* The side table: rare objects, plain linear probing, at most half full. */
static size_t wide_find(const struct mt_agg *a, uint64_t addr)
{
	size_t mask = a->wide_cap - 1, i;

	if (!a->wide_count)
		return SIZE_MAX;
	for (i = mt_agg_addr_hash(addr) & mask; a->wide[i].addr; i = (i + 1) & mask)
		if (a->wide[i].addr == addr)
			return i;
	return SIZE_MAX;
}

static void wide_put(struct mt_obj *t, size_t cap, const struct mt_obj *o)
{
	size_t mask = cap - 1, i;

	for (i = mt_agg_addr_hash(o->addr) & mask; t[i].addr; i = (i + 1) & mask)
		;
	t[i] = *o;
}

static int wide_insert(struct mt_agg *a, const struct mt_obj *o)
{
	if ((a->wide_count + 1) * 2 > a->wide_cap) {
		size_t cap = a->wide_cap ? a->wide_cap * 2 : WIDE_MIN_CAP, i;
		struct mt_obj *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (i = 0; i < a->wide_cap; i++)
			if (a->wide[i].addr)
				wide_put(t, cap, &a->wide[i]);
		free(a->wide);
		a->wide = t;
		a->wide_cap = cap;
	}
	wide_put(a->wide, a->wide_cap, o);
	a->wide_count++;
	return 0;
}

static void wide_delete(struct mt_agg *a, size_t i)
{
	size_t mask = a->wide_cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (!a->wide[j].addr)
			break;
		k = mt_agg_addr_hash(a->wide[j].addr) & mask;
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			a->wide[i] = a->wide[j];
			i = j;
		}
	}
	a->wide[i].addr = 0;
	a->wide_count--;
}

/* Where addr lives: *slot in live (wide false) or in wide; false if absent. */
static bool obj_find(const struct mt_agg *a, uint64_t addr, size_t *slot, bool *wide)
{
	*slot = live_find(a, addr);
	*wide = false;
	if (*slot != SIZE_MAX)
		return true;
	*slot = wide_find(a, addr);
	*wide = true;
	return *slot != SIZE_MAX;
}

static void obj_get(const struct mt_agg *a, size_t slot, bool wide, struct mt_obj *o)
{
	if (wide)
		*o = a->wide[slot];
	else
		e_unpack(&a->live[slot], o);
}

static void obj_delete(struct mt_agg *a, size_t slot, bool wide)
{
	if (wide)
		wide_delete(a, slot);
	else
		live_delete(a, slot);
}

static int obj_insert(struct mt_agg *a, const struct mt_obj *o)
{
	int err;

	if (!obj_fits(o))
		return wide_insert(a, o);
	if ((a->live_count + 1) * LIVE_LOAD_DEN > a->live_cap * LIVE_LOAD_NUM) {
		err = live_grow(a);
		if (err)
			return err;
	}
	live_insert(a, e_pack(o));
	a->live_count++;
	return 0;
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

static uint64_t frames_hash(const uint64_t *frames, uint32_t n, uint8_t end)
{
	uint64_t h = 0x6a09e667f3bcc909ull ^ n ^ ((uint64_t)end << 40);
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
	a->live_cap = LIVE_MIN_CAP;
	a->live = calloc(a->live_cap, sizeof(*a->live));
	if (!a->site_index || !a->live) {
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
	free(a->wide);
	for (uint32_t i = 0; i < a->nsites; i++)
		free(a->sites[i].frames);
	free(a->sites);
	free(a->site_hash);
	free(a->site_est);
	free(a->site_index);
	free(a);
}

int mt_agg_set_sampling(struct mt_agg *a, uint64_t mean_bytes)
{
	if (a->t.c.allocs || a->t.c.frees || a->t.untracked_frees)
		return -EBUSY;
	a->sample_mean = mean_bytes;
	if (mean_bytes && a->sites_cap && !a->site_est) {
		a->site_est = calloc(a->sites_cap, sizeof(*a->site_est));
		if (!a->site_est)
			return -ENOMEM;
	}
	return 0;
}

uint64_t mt_agg_sampling(const struct mt_agg *a)
{
	return a->sample_mean;
}

double mt_agg_weight(const struct mt_agg *a, uint64_t size)
{
	return mt_sample_weight(size, a->sample_mean);
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

/* Room for one more site in the three columns sharing sites_cap (the
 * estimates only in sampling mode). */
static int sites_grow(struct mt_agg *a)
{
	uint32_t scap = a->sites_cap, hcap = a->sites_cap, ecap = a->sites_cap;

	if (MT_GROW(a->sites, a->nsites + 1, scap) || MT_GROW(a->site_hash, a->nsites + 1, hcap) ||
	    (a->sample_mean && MT_GROW(a->site_est, a->nsites + 1, ecap)))
		return -ENOMEM;
	a->sites_cap = scap;
	return 0;
}

uint32_t mt_agg_site(struct mt_agg *a, const uint64_t *frames, uint32_t nframes)
{
	return mt_agg_site_end(a, frames, nframes, 0);
}

uint32_t mt_agg_site_end(struct mt_agg *a, const uint64_t *frames, uint32_t nframes, uint8_t end)
{
	uint64_t h, *copy;
	uint32_t mask, i, id;
	struct mt_site *s;

	if (nframes > MT_AGG_MAX_FRAMES)
		nframes = MT_AGG_MAX_FRAMES;
	h = frames_hash(frames, nframes, end);
	mask = a->site_index_cap - 1;
	for (i = (uint32_t)h & mask; (id = a->site_index[i]) != UINT32_MAX; i = (i + 1) & mask) {
		s = &a->sites[id];
		if (a->site_hash[id] == h && s->nframes == nframes && s->end == end &&
		    !memcmp(s->frames, frames, nframes * sizeof(*frames)))
			return id;
	}
	/* Ids stop one short of MT_SITE_NONE. */
	if (a->nsites == MT_SITE_NONE - 1)
		return MT_SITE_NONE;
	if (a->nsites == a->sites_cap && sites_grow(a))
		return MT_SITE_NONE;
	/* Frames are stored at their length: a site costs 8 bytes a frame,
	 * not MT_AGG_MAX_FRAMES. */
	copy = malloc((nframes ? nframes : 1) * sizeof(*copy));
	if (!copy)
		return MT_SITE_NONE;
	id = a->nsites;
	s = &a->sites[id];
	memset(s, 0, sizeof(*s));
	s->nframes = nframes;
	s->end = end;
	s->frames = copy;
	memcpy(s->frames, frames, nframes * sizeof(*frames));
	a->site_hash[id] = h;
	if (a->site_est)
		memset(&a->site_est[id], 0, sizeof(a->site_est[id]));
	a->site_index[i] = id;
	a->nsites++;
	/* Keep the index at most half full; on failure it is merely fuller. */
	if (a->nsites * 2 > a->site_index_cap)
		site_index_grow(a);
	return id;
}

/* Q16 weight of a sampled object of size bytes: the same value for its
 * allocation and its release, so live sums return exactly to 0. */
static uint64_t weight_q(const struct mt_agg *a, uint64_t size)
{
	double w = mt_agg_weight(a, size) * (double)(1u << WQ_SHIFT) + 0.5;

	return w >= 1.8e19 ? UINT64_MAX : (uint64_t)w;
}

static uint64_t q_round(u128 v)
{
	v = (v + (1u << (WQ_SHIFT - 1))) >> WQ_SHIFT;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* Estimates from the weighted sums: live = allocs - frees, as exactly. */
static void est_publish(struct mt_counts *c, const struct mt_est *e)
{
	c->allocs = q_round(e->allocs);
	c->frees = q_round(e->frees);
	c->alloc_bytes = q_round(e->alloc_bytes);
	c->free_bytes = q_round(e->free_bytes);
	c->live_objects = c->allocs >= c->frees ? c->allocs - c->frees : 0;
	c->live_bytes = c->alloc_bytes >= c->free_bytes ? c->alloc_bytes - c->free_bytes : 0;
	if (c->live_bytes > c->peak_live_bytes)
		c->peak_live_bytes = c->live_bytes;
}

static void counts_add(const struct mt_agg *a, struct mt_counts *c, struct mt_est *e, uint64_t size)
{
	if (a->sample_mean) {
		uint64_t wq = weight_q(a, size);

		e->allocs += wq;
		e->alloc_bytes += (u128)wq * size;
		est_publish(c, e);
		return;
	}
	c->allocs++;
	c->alloc_bytes += size;
	c->live_objects++;
	c->live_bytes += size;
	if (c->live_bytes > c->peak_live_bytes)
		c->peak_live_bytes = c->live_bytes;
}

static void counts_sub(const struct mt_agg *a, struct mt_counts *c, struct mt_est *e, uint64_t size)
{
	if (a->sample_mean) {
		uint64_t wq = weight_q(a, size);

		e->frees += wq;
		e->free_bytes += (u128)wq * size;
		est_publish(c, e);
		return;
	}
	c->frees++;
	c->free_bytes += size;
	c->live_objects--;
	c->live_bytes -= size;
}

static void obj_count_add(struct mt_agg *a, const struct mt_obj *o)
{
	counts_add(a, &a->t.c, &a->t_est, o->size);
	if (o->site != MT_SITE_NONE)
		counts_add(a, &a->sites[o->site].c, a->site_est ? &a->site_est[o->site] : NULL, o->size);
}

static void obj_count_sub(struct mt_agg *a, const struct mt_obj *o)
{
	counts_sub(a, &a->t.c, &a->t_est, o->size);
	if (o->site != MT_SITE_NONE)
		counts_sub(a, &a->sites[o->site].c, a->site_est ? &a->site_est[o->site] : NULL, o->size);
}

static uint64_t ms_to_ts(const struct mt_agg *a, uint32_t ms)
{
	return a->start_ns + (uint64_t)ms * MS;
}

static void notify_release(struct mt_agg *a, uint64_t ts_ns, const struct mt_obj *o)
{
	for (unsigned k = 0; k < a->nobs; k++)
		if (a->obs[k].on_release)
			a->obs[k].on_release(a->obs[k].arg, ts_ns, a->tid, o->site, o->addr, o->size,
					     ms_to_ts(a, o->ts_ms));
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
	struct mt_obj o = { .addr = addr, .size = size, .ts_ms = ts_to_ms(a, ts_ns), .site = site };
	struct mt_obj old;
	int stale = 0, err;
	size_t slot;
	bool wide;

	if (!addr || (site != MT_SITE_NONE && site >= a->nsites))
		return -EINVAL;
	if (obj_find(a, addr, &slot, &wide)) {
		/* Its free was lost: the stale block counts as freed and the new
		 * one takes its place; room is made before anything changes. */
		obj_get(a, slot, wide, &old);
		if (!wide && obj_fits(&o)) {
			a->live[slot] = e_pack(&o);
		} else {
			obj_delete(a, slot, wide);
			err = obj_insert(a, &o);
			if (err) {
				obj_insert(a, &old);   /* back where it was: cannot fail */
				return err;
			}
		}
		notify_release(a, ts_ns, &old);
		obj_count_sub(a, &old);
		a->t.stale_replaced++;
		stale = 1;
	} else {
		err = obj_insert(a, &o);
		if (err)
			return err;
	}
	obj_count_add(a, &o);
	for (unsigned k = 0; k < a->nobs; k++)
		if (a->obs[k].on_alloc)
			a->obs[k].on_alloc(a->obs[k].arg, ts_ns, a->tid, site, addr, size);
	return stale;
}

static int release(struct mt_agg *a, uint64_t ts_ns, uint64_t addr)
{
	struct mt_obj o;
	size_t slot;
	bool wide;

	if (addr && obj_find(a, addr, &slot, &wide)) {
		obj_get(a, slot, wide, &o);
		notify_release(a, ts_ns, &o);
		obj_count_sub(a, &o);
		obj_delete(a, slot, wide);
		return 1;
	}
	return 0;
}

int mt_agg_release(struct mt_agg *a, uint64_t ts_ns, uint64_t addr)
{
	int r = release(a, ts_ns, addr);

	if (!r)
		a->t.untracked_frees++;
	return r;
}

int mt_agg_release_internal(struct mt_agg *a, uint64_t ts_ns, uint64_t addr)
{
	return release(a, ts_ns, addr);
}

int mt_agg_claim(struct mt_agg *a, uint64_t addr, uint64_t *size)
{
	struct mt_obj o;
	size_t slot;
	bool wide;

	if (a->sample_mean)
		return -EOPNOTSUPP;   /* a sampled object stands for others */
	if (!addr || !obj_find(a, addr, &slot, &wide))
		return 0;
	obj_get(a, slot, wide, &o);
	a->t.c.live_objects--;
	a->t.c.live_bytes -= o.size;
	if (o.site != MT_SITE_NONE) {
		a->sites[o.site].c.live_objects--;
		a->sites[o.site].c.live_bytes -= o.size;
	}
	a->t.claimed_objects++;
	a->t.claimed_bytes += o.size;
	obj_delete(a, slot, wide);
	if (size)
		*size = o.size;
	return 1;
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

/* Every live object, main table then side table; fn's non-zero stops. */
static int objs_foreach(const struct mt_agg *a, int (*fn)(void *, const struct mt_obj *), void *arg)
{
	struct mt_obj o;
	size_t i;
	int r;

	for (i = 0; i < a->live_cap; i++) {
		if (!e_addr(&a->live[i]))
			continue;
		e_unpack(&a->live[i], &o);
		r = fn(arg, &o);
		if (r)
			return r;
	}
	for (i = 0; i < a->wide_cap; i++) {
		if (!a->wide[i].addr)
			continue;
		r = fn(arg, &a->wide[i]);
		if (r)
			return r;
	}
	return 0;
}

struct live_fn_ctx {
	const struct mt_agg *a;
	mt_agg_live_fn fn;
	void *arg;
};

static int live_fn_call(void *arg, const struct mt_obj *o)
{
	struct live_fn_ctx *c = arg;

	return c->fn(c->arg, o->addr, o->size, o->site, ms_to_ts(c->a, o->ts_ms));
}

int mt_agg_live_foreach(const struct mt_agg *a, mt_agg_live_fn fn, void *arg)
{
	struct live_fn_ctx c = { a, fn, arg };

	return objs_foreach(a, live_fn_call, &c);
}

void mt_agg_call(struct mt_agg *a, unsigned ep)
{
	if (ep < MT_AGG_MAX_EPS)
		a->t.calls[ep]++;
}

void mt_agg_internal_call(struct mt_agg *a, unsigned ep)
{
	if (ep < MT_AGG_MAX_EPS)
		a->t.internal_calls[ep]++;
}

void mt_agg_set_internal_calls(struct mt_agg *a, unsigned ep, uint64_t n)
{
	if (ep < MT_AGG_MAX_EPS)
		a->t.internal_calls[ep] = n;
}

void mt_agg_set_calls(struct mt_agg *a, unsigned ep, uint64_t n)
{
	if (ep < MT_AGG_MAX_EPS)
		a->t.calls[ep] = n;
}

void mt_agg_failed(struct mt_agg *a)
{
	a->t.failed_allocs++;
}

void mt_agg_lost(struct mt_agg *a, uint64_t n)
{
	uint32_t i;

	if (!n)
		return;
	a->t.lost_events += n;
	/* Any live block may be one whose free was lost: its site's live and
	 * leak figures may be too high from now on. O(sites). */
	for (i = 0; i < a->nsites; i++)
		if (a->sites[i].c.live_objects)
			a->sites[i].uncertain = true;
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

struct leak_ctx {
	const struct mt_agg *a;
	struct mt_leak *l;
	struct mt_est *est;       /* sampling: weighted sums per slot */
	uint64_t cut_ms;
};

static int leak_add(void *arg, const struct mt_obj *o)
{
	struct leak_ctx *c = arg;
	const struct mt_agg *a = c->a;
	uint64_t ts = ms_to_ts(a, o->ts_ms);
	uint32_t slot;

	if (o->ts_ms > c->cut_ms)
		return 0;
	slot = o->site == MT_SITE_NONE ? a->nsites : o->site;
	if (!c->l[slot].objects || ts < c->l[slot].oldest_ts_ns)
		c->l[slot].oldest_ts_ns = ts;
	if (c->est) {
		uint64_t wq = weight_q(a, o->size);

		c->est[slot].allocs += wq;
		c->est[slot].alloc_bytes += (u128)wq * o->size;
		c->l[slot].objects = q_round(c->est[slot].allocs);
		c->l[slot].bytes = q_round(c->est[slot].alloc_bytes);
		if (!c->l[slot].objects)
			c->l[slot].objects = 1;   /* keeps "has objects" true */
		return 0;
	}
	c->l[slot].objects++;
	c->l[slot].bytes += o->size;
	return 0;
}

int mt_agg_leaks(const struct mt_agg *a, uint64_t now_ns, uint64_t min_age_ns, struct mt_leak **out)
{
	/* One slot per site plus one for MT_SITE_NONE, compacted afterwards:
	 * 32 bytes per site (96 when sampling), no hashing in the pass. */
	size_t nslots = (size_t)a->nsites + 1, i, n = 0;
	struct leak_ctx c = { .a = a, .cut_ms = UINT64_MAX };
	struct mt_leak *l;

	*out = NULL;
	if (min_age_ns) {
		if (now_ns < a->start_ns || now_ns - a->start_ns < min_age_ns)
			return 0;   /* nothing can be old enough yet */
		c.cut_ms = (now_ns - a->start_ns - min_age_ns) / MS;
	}
	l = calloc(nslots, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (a->sample_mean) {
		c.est = calloc(nslots, sizeof(*c.est));
		if (!c.est) {
			free(l);
			return -ENOMEM;
		}
	}
	c.l = l;
	objs_foreach(a, leak_add, &c);
	free(c.est);
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
	       a->wide_cap * sizeof(struct mt_obj) +
	       (size_t)a->sites_cap * (sizeof(struct mt_site) + sizeof(uint64_t) +
				       (a->site_est ? sizeof(struct mt_est) : 0)) +
	       (size_t)a->site_index_cap * sizeof(uint32_t);
}

struct check_ctx {
	size_t n;
	uint64_t bytes;
};

static int check_add(void *arg, const struct mt_obj *o)
{
	struct check_ctx *c = arg;

	c->n++;
	c->bytes += o->size;
	return 0;
}

int mt_agg_check(const struct mt_agg *a)
{
	struct check_ctx c = { 0 };
	size_t i, j, n = 0;
	uint64_t ea;

	for (i = 0; i < a->live_cap; i++) {
		ea = e_addr(&a->live[i]);
		if (!ea)
			continue;
		n++;
		/* No hole between the home slot and the entry, no duplicate of
		 * the key in between, and Robin Hood order: nothing on the way
		 * is closer to its home than the entry is at that point. */
		for (j = slot_of(ea, a->live_cap); j != i; j = live_next(a, j)) {
			uint64_t ja = e_addr(&a->live[j]);

			if (!ja || ja == ea)
				return -EUCLEAN;
		}
	}
	for (i = 0; i < a->wide_cap; i++) {
		size_t mask = a->wide_cap - 1;

		if (!a->wide[i].addr)
			continue;
		if (obj_fits(&a->wide[i]) && live_find(a, a->wide[i].addr) != SIZE_MAX)
			return -EUCLEAN;
		for (j = mt_agg_addr_hash(a->wide[i].addr) & mask; j != i; j = (j + 1) & mask)
			if (!a->wide[j].addr || a->wide[j].addr == a->wide[i].addr)
				return -EUCLEAN;
	}
	objs_foreach(a, check_add, &c);
	if (n != a->live_count || c.n != a->live_count + a->wide_count ||
	    a->t.c.allocs - a->t.c.frees - a->t.claimed_objects != a->t.c.live_objects)
		return -EUCLEAN;
	/* Under sampling the counts are estimates, not the entries' sums. */
	if (!a->sample_mean && (c.n != a->t.c.live_objects || c.bytes != a->t.c.live_bytes))
		return -EUCLEAN;
	return 0;
}
