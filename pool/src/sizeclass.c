// SPDX-License-Identifier: BSD-2-Clause
/*
 * Size-class allocator.
 *
 * Memory comes in 4 MiB segments aligned to 4 MiB, cut into 64 KiB pages;
 * each page serves one size class. The segment header (page 0) holds one
 * class byte per page, so free() finds a block's class with a mask, a shift
 * and one load from a line that is hot for any busy segment: no per-block
 * header, which is what lets small classes beat malloc on RSS.
 *
 * Free blocks are intrusive singly linked lists. Each thread has one list
 * per class (tcmalloc's design): malloc pops, free pushes, no lock and no
 * atomic RMW. The thread cache is found as the object pool's is (tcache.h:
 * three loads, no compare), so malloc is about 16 instructions on a hit
 * and free about 16. A thread list exchanges whole batches (up to 16 KiB, at most
 * 64 blocks) with the class's central list under a per-class mutex, so two
 * threads contend only when they refill or flush the same class at the same
 * moment. Central lists keep batches as {head, n} pairs, so moving a batch
 * costs O(1) under the lock.
 *
 * Pages are carved lazily (bump pointer), so untouched memory of a segment
 * never becomes resident. Pages are not returned to the system before
 * mtpool_sc_destroy() (see the header's limitations).
 *
 * Requests above MTPOOL_SC_MAX are mmap()ed, each in its own 4 MiB-aligned
 * region with the header in front, so free() finds them the same way.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>

#include "objpool.h"
#include "probes.h"
#include "tcache.h"

#define SC_SEG_SHIFT  22
#define SC_SEG_SIZE   ((size_t)1 << SC_SEG_SHIFT)
#define SC_PAGE_SHIFT 16
#define SC_PAGE_SIZE  ((size_t)1 << SC_PAGE_SHIFT)
#define SC_PAGES      (SC_SEG_SIZE >> SC_PAGE_SHIFT)
#define SC_NCLS       80
#define SC_CLS_FREE   0xff    /* page not yet given to a class */
#define SC_CLS_LARGE  0xfe
#define SC_LARGE_OFF  128     /* user data offset in a large mapping */
#define SC_MAGIC      0x6d7470736567ull
#define SC_FREE_MARK  0x6672656564626c6bull  /* debug: word 1 of a free block */
#define SC_BATCH_BYTES 16384u
#define SC_LARGE_FREED 64
#define SC_CLS_PASS   0xfd    /* sc_free probe class of a pass-through free */

struct sc_seg {
	uint8_t page_cls[SC_PAGES];  /* first line: all that free() reads */
	uint64_t magic;
	struct mtpool_sc *owner;
	size_t map_size;
	unsigned next_page;
	struct sc_seg *next, *prev;
};
_Static_assert(sizeof(struct sc_seg) <= SC_LARGE_OFF, "large header fits");

struct sc_batch {
	void *head;
	uint32_t n;
};

struct sc_central {
	pthread_mutex_t lock;
	struct sc_batch *batches;
	uint32_t nb, capb;
	void *loose;                 /* single blocks (no thread cache) */
	uint32_t nloose;
	char *bump, *bump_end;       /* page being carved */
	uint64_t cached;             /* blocks in batches + loose */
} __attribute__((aligned(64)));

struct sc_tlist {
	void *head;
	uint32_t count;              /* MT_RD/MT_WR */
	uint32_t max;
};

struct sc_tcache {
	struct sc_tlist lists[SC_NCLS];
	uint64_t allocs, frees;      /* MT_RD/MT_WR */
	struct sc_tcache *next, *prev;
};
_Static_assert(sizeof(struct sc_tcache) <= MT_ZERO_CACHE_SIZE, "zero cache fits");

enum sc_mode { SC_CACHED, SC_PASS, SC_DEBUG };

struct mtpool_sc {
	struct mt_owner owner;       /* hot: read by both fast paths */
	int mode;
	pthread_mutex_t seg_lock;    /* segments, large list, tcaches list */
	struct sc_seg *segs, *cur_seg, *large;
	struct sc_tcache *tcaches;
	/* Debug mode: recently unmapped large blocks, so that freeing one
	 * again reports a double free rather than a foreign pointer. */
	const void *large_freed[SC_LARGE_FREED];     /* under seg_lock */
	unsigned large_freed_next;
	uint64_t exited_allocs, exited_frees;        /* under seg_lock */
	uint64_t slow_allocs, slow_frees, carved;    /* MT_ADD */
	uint64_t refills, flushes;   /* MT_ADD: batches to and from central lists */
	struct mt_budget budget;
	char name[MT_NAME_MAX];
	struct mt_trace_link all;    /* every allocator, for a late tracer */
	struct sc_central central[SC_NCLS];
};

/*
 * Where a tracer finds what mtpool_sc_stats() sums (docs/libmtpool.md,
 * "Reading a pool from outside"): passed by the create probe and in the
 * root of objpool.c. Version 1; offsets of 64-bit fields unless _u32.
 */
struct mt_sc_trace_layout {
	uint32_t magic;              /* "MTSC" */
	uint16_t version, size;
	uint16_t tcaches, exited_allocs, exited_frees, slow_allocs, slow_frees, carved;
	uint16_t mode_u32, budget_used, name, all_next;
	uint16_t central, central_stride, central_cached, ncls;
	uint16_t tc_next, tc_allocs, tc_frees, tc_lists, tlist_stride, tlist_count_u32;
	uint32_t mode_pass;
	uint16_t refills, flushes, pad[2];
};
#define SC_OFF(f) (uint16_t)offsetof(struct mtpool_sc, f)
const struct mt_sc_trace_layout mtpool__sc_trace_layout = {
	.magic = 0x4353544du, .version = 1, .size = sizeof(struct mt_sc_trace_layout),
	.tcaches = SC_OFF(tcaches), .exited_allocs = SC_OFF(exited_allocs),
	.exited_frees = SC_OFF(exited_frees), .slow_allocs = SC_OFF(slow_allocs),
	.slow_frees = SC_OFF(slow_frees), .carved = SC_OFF(carved), .mode_u32 = SC_OFF(mode),
	.budget_used = SC_OFF(budget) + (uint16_t)offsetof(struct mt_budget, used),
	.name = SC_OFF(name), .all_next = SC_OFF(all) + (uint16_t)offsetof(struct mt_trace_link, next),
	.central = SC_OFF(central), .central_stride = sizeof(struct sc_central),
	.central_cached = (uint16_t)offsetof(struct sc_central, cached), .ncls = SC_NCLS,
	.tc_next = (uint16_t)offsetof(struct sc_tcache, next),
	.tc_allocs = (uint16_t)offsetof(struct sc_tcache, allocs),
	.tc_frees = (uint16_t)offsetof(struct sc_tcache, frees),
	.tc_lists = (uint16_t)offsetof(struct sc_tcache, lists),
	.tlist_stride = sizeof(struct sc_tlist),
	.tlist_count_u32 = (uint16_t)offsetof(struct sc_tlist, count), .mode_pass = SC_PASS,
	.refills = SC_OFF(refills), .flushes = SC_OFF(flushes),
};
_Static_assert(sizeof(struct mtpool_sc) < 65536 && sizeof(((struct mtpool_sc *)0)->mode) == 4,
	       "mt_sc_trace_layout offsets and widths");

/* ------------------------------------------------------------ classes */

static uint32_t sc_size[SC_NCLS];
static uint32_t sc_batch[SC_NCLS];
/* Class by size: [0, 128] by (size + 7) / 8 for size <= 1024, then
 * [129, 376] by 120 + (size + 127) / 128 up to MTPOOL_SC_MAX. 377 bytes,
 * 6 cache lines, hot in any busy allocator. */
#define SC_CLS_BIG_BASE 120
static uint8_t sc_cls_tab[SC_CLS_BIG_BASE + MTPOOL_SC_MAX / 128 + 1];
static pthread_once_t sc_once = PTHREAD_ONCE_INIT;

static void sc_init_classes(void)
{
	unsigned c = 0, s, i;

	for (s = 8; s <= 128; s += 8)
		sc_size[c++] = s;
	for (s = 128; s < MTPOOL_SC_MAX; s *= 2)
		for (i = 1; i <= 8; i++)
			sc_size[c++] = s + i * (s / 8);
	for (c = 0; c < SC_NCLS; c++) {
		unsigned b = SC_BATCH_BYTES / sc_size[c];

		sc_batch[c] = b < 2 ? 2 : b > 64 ? 64 : b;
	}
	for (i = 0, c = 0; i <= 1024 / 8; i++) {
		while (sc_size[c] < i * 8)
			c++;
		sc_cls_tab[i] = c;
	}
	for (i = 1024 / 128 + 1, c = 0; i <= MTPOOL_SC_MAX / 128; i++) {
		while (sc_size[c] < i * 128)
			c++;
		sc_cls_tab[SC_CLS_BIG_BASE + i] = c;
	}
}

/* Size <= MTPOOL_SC_MAX. The index select compiles to a cmov: with mixed
 * sizes a branch on size <= 1024 mispredicted about 1 in 5 in scenario (c). */
static inline unsigned sc_class_of(size_t size)
{
	size_t small = (size + 7) >> 3, big = SC_CLS_BIG_BASE + ((size + 127) >> 7);

	return sc_cls_tab[size <= 1024 ? small : big];
}

size_t mtpool_sc_class_size(size_t size)
{
	pthread_once(&sc_once, sc_init_classes);
	if (size > MTPOOL_SC_MAX)
		return size;
	return sc_size[sc_class_of(size)];
}

static inline struct sc_seg *seg_of(const void *p)
{
	return (struct sc_seg *)((uintptr_t)p & ~(SC_SEG_SIZE - 1));
}

static inline unsigned page_cls_of(const struct sc_seg *seg, const void *p)
{
	return seg->page_cls[((uintptr_t)p >> SC_PAGE_SHIFT) & (SC_PAGES - 1)];
}

/* ------------------------------------------------------ system memory */

/* @len bytes at a SC_SEG_SIZE-aligned address: over-map, trim both ends. */
static void *map_aligned(size_t len)
{
	size_t total = len + SC_SEG_SIZE;
	char *raw, *aligned;

	raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)raw + SC_SEG_SIZE - 1) & ~(SC_SEG_SIZE - 1));
	if (aligned > raw)
		munmap(raw, aligned - raw);
	if (raw + total > aligned + len)
		munmap(aligned + len, raw + total - (aligned + len));
	/* ASan keeps shadow state across munmap; a recycled address range
	 * must not inherit the poison of a destroyed allocator. */
	mt_asan_unpoison(aligned, len);
	return aligned;
}

/* A fresh page for class @cls, or NULL. Takes seg_lock (after a central
 * lock: order central -> seg_lock). */
static char *sc_page_alloc(mtpool_sc *sc, unsigned cls)
{
	struct sc_seg *seg;
	char *page = NULL;

	if (mtpool__budget_charge(&sc->budget, SC_PAGE_SIZE))
		return NULL;
	pthread_mutex_lock(&sc->seg_lock);
	seg = sc->cur_seg;
	if (!seg || seg->next_page == SC_PAGES) {
		seg = map_aligned(SC_SEG_SIZE);
		if (!seg)
			goto out;
		memset(seg->page_cls, SC_CLS_FREE, sizeof(seg->page_cls));
		seg->magic = SC_MAGIC;
		seg->owner = sc;
		seg->map_size = SC_SEG_SIZE;
		seg->next_page = 1;
		seg->next = sc->segs;
		sc->segs = seg;
		sc->cur_seg = seg;
	}
	page = (char *)seg + seg->next_page * SC_PAGE_SIZE;
	/* Published before any block of the page escapes this thread. */
	seg->page_cls[seg->next_page++] = cls;
out:
	pthread_mutex_unlock(&sc->seg_lock);
	if (!page)
		mtpool__budget_uncharge(&sc->budget, SC_PAGE_SIZE);
	return page;
}

static void *large_alloc(mtpool_sc *sc, size_t size)
{
	size_t len = (SC_LARGE_OFF + size + 4095) & ~(size_t)4095;
	struct sc_seg *seg;

	if (len < size || mtpool__budget_charge(&sc->budget, len))
		return NULL;
	seg = map_aligned(len);
	if (!seg) {
		mtpool__budget_uncharge(&sc->budget, len);
		return NULL;
	}
	seg->page_cls[0] = SC_CLS_LARGE;
	seg->magic = SC_MAGIC;
	seg->owner = sc;
	seg->map_size = len;
	pthread_mutex_lock(&sc->seg_lock);
	seg->prev = NULL;
	seg->next = sc->large;
	if (sc->large)
		sc->large->prev = seg;
	sc->large = seg;
	pthread_mutex_unlock(&sc->seg_lock);
	MT_ADD(sc->carved, 1);
	MT_ADD(sc->slow_allocs, 1);
	return (char *)seg + SC_LARGE_OFF;
}

static void large_free(mtpool_sc *sc, struct sc_seg *seg)
{
	size_t len = seg->map_size;

	pthread_mutex_lock(&sc->seg_lock);
	if (sc->mode == SC_DEBUG) {
		sc->large_freed[sc->large_freed_next] = (char *)seg + SC_LARGE_OFF;
		sc->large_freed_next = (sc->large_freed_next + 1) % SC_LARGE_FREED;
	}
	MT_DLIST_UNLINK(sc->large, seg);
	pthread_mutex_unlock(&sc->seg_lock);
	munmap(seg, len);
	mtpool__budget_uncharge(&sc->budget, len);
	MT_ADD(sc->slow_frees, 1);
}

/* ----------------------------------------------------- central lists */

/* Carve up to sc_batch[cls] blocks; called with the central lock held. */
static unsigned carve(mtpool_sc *sc, struct sc_central *ce, unsigned cls, void **head)
{
	size_t sz = sc_size[cls];
	unsigned n = 0, want = sc_batch[cls];
	void *first = NULL, **link = &first;

	while (n < want) {
		if ((size_t)(ce->bump_end - ce->bump) < sz) {
			char *page;

			if (n)
				break;
			page = sc_page_alloc(sc, cls);
			if (!page)
				break;
			ce->bump = page;
			ce->bump_end = page + SC_PAGE_SIZE;
		}
		*link = ce->bump;
		link = (void **)ce->bump;
		ce->bump += sz;
		n++;
	}
	*link = NULL;
	*head = first;
	MT_ADD(sc->carved, n);
	return n;
}

/* A list of up to one batch for a thread cache; 0 when out of memory. */
static unsigned central_take_batch(mtpool_sc *sc, unsigned cls, void **head)
{
	struct sc_central *ce = &sc->central[cls];
	unsigned n = 0;

	pthread_mutex_lock(&ce->lock);
	if (ce->nb) {
		struct sc_batch *b = &ce->batches[--ce->nb];

		*head = b->head;
		n = b->n;
		ce->cached -= n;
	} else if (ce->nloose) {
		void *first = ce->loose, *p = first;

		for (n = 1; n < sc_batch[cls] && n < ce->nloose; n++)
			p = *(void **)p;
		ce->loose = *(void **)p;
		*(void **)p = NULL;
		ce->nloose -= n;
		ce->cached -= n;
		*head = first;
	} else {
		n = carve(sc, ce, cls, head);
	}
	pthread_mutex_unlock(&ce->lock);
	return n;
}

static void central_put_batch(mtpool_sc *sc, unsigned cls, void *head, void *tail, uint32_t n)
{
	struct sc_central *ce = &sc->central[cls];

	pthread_mutex_lock(&ce->lock);
	if (ce->nb == ce->capb) {
		uint32_t cap = ce->capb ? ce->capb * 2 : 16;
		struct sc_batch *b = realloc(ce->batches, cap * sizeof(*b));

		if (!b) {
			/* No room to track the batch: splice it into loose. */
			*(void **)tail = ce->loose;
			ce->loose = head;
			ce->nloose += n;
			goto out;
		}
		ce->batches = b;
		ce->capb = cap;
	}
	ce->batches[ce->nb].head = head;
	ce->batches[ce->nb].n = n;
	ce->nb++;
out:
	ce->cached += n;
	pthread_mutex_unlock(&ce->lock);
}

static void *central_take_one(mtpool_sc *sc, unsigned cls)
{
	struct sc_central *ce = &sc->central[cls];
	void *p = NULL;

	pthread_mutex_lock(&ce->lock);
	if (ce->nloose) {
		p = ce->loose;
		ce->loose = *(void **)p;
		ce->nloose--;
		ce->cached--;
	} else if (ce->nb) {
		struct sc_batch *b = &ce->batches[ce->nb - 1];

		p = b->head;
		b->head = *(void **)p;
		if (--b->n == 0)
			ce->nb--;
		ce->cached--;
	} else if (carve(sc, ce, cls, &p) > 0) {
		/* Keep the rest of the carved list as loose blocks. */
		void *rest = *(void **)p, *q;
		uint32_t k = 0;

		for (q = rest; q; q = *(void **)q)
			k++;
		if (k) {
			void *tail = rest;

			while (*(void **)tail)
				tail = *(void **)tail;
			*(void **)tail = ce->loose;
			ce->loose = rest;
			ce->nloose += k;
			ce->cached += k;
		}
	}
	pthread_mutex_unlock(&ce->lock);
	return p;
}

static void central_put_one(mtpool_sc *sc, unsigned cls, void *p)
{
	struct sc_central *ce = &sc->central[cls];

	pthread_mutex_lock(&ce->lock);
	*(void **)p = ce->loose;
	ce->loose = p;
	ce->nloose++;
	ce->cached++;
	pthread_mutex_unlock(&ce->lock);
}

/* ------------------------------------------------------ thread caches */

static struct sc_tcache *tcache_attach(mtpool_sc *sc)
{
	struct sc_tcache *tc;
	unsigned c;

	if (!sc->owner.idx)
		return NULL;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	for (c = 0; c < SC_NCLS; c++)
		tc->lists[c].max = 2 * sc_batch[c];
	pthread_mutex_lock(&sc->seg_lock);
	tc->next = sc->tcaches;
	if (sc->tcaches)
		sc->tcaches->prev = tc;
	sc->tcaches = tc;
	pthread_mutex_unlock(&sc->seg_lock);
	if (mtpool__tcache_attach(&sc->owner, tc) == 0)
		return tc;
	pthread_mutex_lock(&sc->seg_lock);
	MT_DLIST_UNLINK(sc->tcaches, tc);
	pthread_mutex_unlock(&sc->seg_lock);
	free(tc);
	return NULL;
}

static void sc_thread_exit(struct mt_owner *o, void *cache)
{
	mtpool_sc *sc = (mtpool_sc *)((char *)o - offsetof(struct mtpool_sc, owner));
	struct sc_tcache *tc = cache;
	unsigned c;

	for (c = 0; c < SC_NCLS; c++) {
		struct sc_tlist *l = &tc->lists[c];
		void *tail = l->head;

		if (!l->count)
			continue;
		while (*(void **)tail)
			tail = *(void **)tail;
		central_put_batch(sc, c, l->head, tail, l->count);
	}
	pthread_mutex_lock(&sc->seg_lock);
	sc->exited_allocs += tc->allocs;
	sc->exited_frees += tc->frees;
	MT_DLIST_UNLINK(sc->tcaches, tc);
	pthread_mutex_unlock(&sc->seg_lock);
	free(tc);
}

/* ----------------------------------------------------------- debug mode */

/* Is @p inside memory of @sc? Walks the segment lists: debug mode only. */
static int sc_owns(mtpool_sc *sc, const void *p)
{
	const struct sc_seg *s, *seg = seg_of(p);
	int found = 0;

	pthread_mutex_lock(&sc->seg_lock);
	for (s = sc->segs; s && !found; s = s->next)
		found = s == seg;
	for (s = sc->large; s && !found; s = s->next)
		found = s == seg;
	pthread_mutex_unlock(&sc->seg_lock);
	return found;
}

/* Was @p one of the last SC_LARGE_FREED large blocks freed? Debug only. */
static int sc_large_freed(mtpool_sc *sc, const void *p)
{
	int found = 0;
	unsigned i;

	pthread_mutex_lock(&sc->seg_lock);
	for (i = 0; i < SC_LARGE_FREED && !found; i++)
		found = sc->large_freed[i] == p;
	pthread_mutex_unlock(&sc->seg_lock);
	return found;
}

static void *debug_alloc(mtpool_sc *sc, unsigned cls)
{
	size_t sz = sc_size[cls];
	uint64_t *w = central_take_one(sc, cls);

	if (!w)
		return NULL;
	mt_asan_unpoison(w, sz);
	if (sz >= 16 && w[1] == SC_FREE_MARK) {
		if (mtpool__poison_check(w + 2, sz - 16) != sz - 16)
			mtpool__report("write after free", sc->name, w);
		w[1] = 0;
	}
	MT_ADD(sc->slow_allocs, 1);
	return w;
}

static void debug_free(mtpool_sc *sc, void *ptr)
{
	struct sc_seg *seg = seg_of(ptr);
	unsigned cls;
	uint64_t *w = ptr;
	size_t sz;

	if (!sc_owns(sc, ptr)) {
		/* A freed large block is unmapped: only the record tells. */
		mtpool__report(sc_large_freed(sc, ptr) ? "double free" :
			       "free of a pointer from another allocator", sc->name, ptr);
		return;
	}
	cls = page_cls_of(seg, ptr);
	if (cls == SC_CLS_LARGE) {
		if (ptr != (char *)seg + SC_LARGE_OFF) {
			mtpool__report("free of a pointer inside a block", sc->name, ptr);
			return;
		}
		MT_PROBE2(sc_free, ptr, cls);
		large_free(sc, seg);
		return;
	}
	sz = cls < SC_NCLS ? sc_size[cls] : 0;
	if (!sz || ((uintptr_t)ptr - (uintptr_t)seg) % SC_PAGE_SIZE % sz) {
		mtpool__report("free of a pointer inside a block", sc->name, ptr);
		return;
	}
	if (sz >= 16 && w[1] == SC_FREE_MARK &&
	    mtpool__poison_check(w + 2, sz - 16) == sz - 16) {
		mtpool__report("double free", sc->name, ptr);
		return;
	}
	if (sz >= 16) {
		w[1] = SC_FREE_MARK;
		mtpool__poison_fill(w + 2, sz - 16);
	}
	MT_PROBE2(sc_free, ptr, cls);
	mt_asan_poison((char *)ptr + 8, sz - 8);
	central_put_one(sc, cls, ptr);
	MT_ADD(sc->slow_frees, 1);
}

/* ---------------------------------------------------------- slow paths */

MT_NOINLINE static void *sc_malloc_slow(mtpool_sc *sc, struct sc_tcache *tc, size_t size)
{
	unsigned cls, n;
	void *p, *head;

	if (sc->mode == SC_PASS) {
		p = malloc(size ? size : 1);
		if (p) {
			MT_ADD(sc->slow_allocs, 1);
			MT_PROBE2(sc_alloc, p, size);
		}
		return p;
	}
	if (size > MTPOOL_SC_MAX) {
		p = large_alloc(sc, size);
		goto out;
	}
	cls = sc_class_of(size);
	if (sc->mode == SC_DEBUG) {
		p = debug_alloc(sc, cls);
		goto out;
	}
	if (tc == MT_ZERO_CACHE)
		tc = tcache_attach(sc);
	if (!tc) {
		p = central_take_one(sc, cls);
		if (p)
			MT_ADD(sc->slow_allocs, 1);
		goto out;
	}
	n = central_take_batch(sc, cls, &head);
	if (!n)
		return NULL;
	MT_ADD(sc->refills, 1);
	MT_PROBE2(refill, sc, n);
	p = head;
	tc->lists[cls].head = *(void **)p;
	MT_WR(tc->lists[cls].count, n - 1);
	MT_INC(tc->allocs);
out:
	if (p) {
		mt_asan_unpoison(p, size);
		MT_PROBE2(sc_alloc, p, size);
	}
	return p;
}

MT_NOINLINE static void sc_free_slow(mtpool_sc *sc, struct sc_tcache *tc, void *ptr)
{
	struct sc_seg *seg;
	struct sc_tlist *l;
	unsigned cls;

	if (!ptr)
		return;
	if (sc->mode == SC_PASS) {
		MT_PROBE2(sc_free, ptr, SC_CLS_PASS);
		free(ptr);
		MT_ADD(sc->slow_frees, 1);
		return;
	}
	if (sc->mode == SC_DEBUG) {
		debug_free(sc, ptr);
		return;
	}
	seg = seg_of(ptr);
	cls = page_cls_of(seg, ptr);
	if (cls >= SC_NCLS && cls != SC_CLS_LARGE)
		return;  /* not ours; only debug mode can say so safely */
	MT_PROBE2(sc_free, ptr, cls);
	if (cls == SC_CLS_LARGE) {
		large_free(sc, seg);
		return;
	}
	mt_asan_poison((char *)ptr + 8, sc_size[cls] - 8);
	if (tc == MT_ZERO_CACHE)
		tc = tcache_attach(sc);
	if (!tc) {
		central_put_one(sc, cls, ptr);
		MT_ADD(sc->slow_frees, 1);
		return;
	}
	l = &tc->lists[cls];
	if (l->count >= l->max) {
		/* Full: hand the first batch to the central list. The walk
		 * touches blocks freed moments ago, so it stays in cache. */
		uint32_t i, n = sc_batch[cls];
		void *head = l->head, *tail = head;

		for (i = 1; i < n; i++)
			tail = *(void **)tail;
		l->head = *(void **)tail;
		*(void **)tail = NULL;
		MT_WR(l->count, l->count - n);
		central_put_batch(sc, cls, head, tail, n);
		MT_ADD(sc->flushes, 1);
		MT_PROBE2(flush, sc, n);
	}
	*(void **)ptr = l->head;
	l->head = ptr;
	MT_WR(l->count, l->count + 1);
	MT_INC(tc->frees);
}

/* ----------------------------------------------------------- fast paths */

void *mtpool_sc_malloc(mtpool_sc *sc, size_t size)
{
	struct sc_tcache *tc = mt_tcache_find(&sc->owner);

	if (likely(size <= MTPOOL_SC_MAX)) {
		struct sc_tlist *l = &tc->lists[sc_class_of(size)];
		void *p = l->head;

		if (likely(p != NULL)) {
			l->head = *(void **)p;
			MT_WR(l->count, l->count - 1);
			MT_INC(tc->allocs);
			mt_asan_unpoison(p, size);
			MT_PROBE2(sc_alloc, p, size);
			return p;
		}
	}
	return sc_malloc_slow(sc, tc, size);
}

/*
 * Only a thread cache proves that @sc is a caching allocator whose pointers
 * all sit in its segments: pass-through blocks come from malloc() and debug
 * mode must check ownership before it reads a segment header, so without a
 * cache (MT_ZERO_CACHE) the segment is not touched here. The test costs one
 * compare with a constant and a not-taken branch.
 */
void mtpool_sc_free(mtpool_sc *sc, void *ptr)
{
	struct sc_tcache *tc = mt_tcache_find(&sc->owner);

	if (likely(ptr != NULL && tc != MT_ZERO_CACHE)) {
		const struct sc_seg *seg = seg_of(ptr);
		unsigned cls = page_cls_of(seg, ptr);

		if (likely(cls < SC_NCLS)) {
			struct sc_tlist *l = &tc->lists[cls];

			if (likely(l->count < l->max)) {
				MT_PROBE2(sc_free, ptr, cls);
				*(void **)ptr = l->head;
				mt_asan_poison((char *)ptr + 8, sc_size[cls] - 8);
				l->head = ptr;
				MT_WR(l->count, l->count + 1);
				MT_INC(tc->frees);
				return;
			}
		}
	}
	sc_free_slow(sc, tc, ptr);
}

void *mtpool_sc_calloc(mtpool_sc *sc, size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = mtpool_sc_malloc(sc, total);
	if (p)
		memset(p, 0, total);
	return p;
}

size_t mtpool_sc_usable_size(mtpool_sc *sc, const void *ptr)
{
	const struct sc_seg *seg;
	unsigned cls;

	if (!ptr)
		return 0;
	if (sc->mode == SC_PASS)
		return malloc_usable_size((void *)ptr);
	/* Debug mode promises to survive foreign pointers: check first. */
	if (sc->mode == SC_DEBUG && !sc_owns(sc, ptr))
		return 0;
	seg = seg_of(ptr);
	cls = page_cls_of(seg, ptr);
	if (cls == SC_CLS_LARGE)
		return seg->map_size - SC_LARGE_OFF;
	return cls < SC_NCLS ? sc_size[cls] : 0;
}

void *mtpool_sc_realloc(mtpool_sc *sc, void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (!ptr)
		return mtpool_sc_malloc(sc, size);
	if (!size) {
		mtpool_sc_free(sc, ptr);
		return NULL;
	}
	if (sc->mode == SC_PASS)
		return realloc(ptr, size);
	old = mtpool_sc_usable_size(sc, ptr);
	if (!old) {
		/* Debug mode, foreign or freed pointer: report it as the free
		 * would, and leave the block alone. */
		mtpool_sc_free(sc, ptr);
		errno = EINVAL;
		return NULL;
	}
	/* Stay in place unless shrinking to under half would waste memory. */
	if (size <= old && size > old / 2) {
		mt_asan_unpoison(ptr, size);
		return ptr;
	}
	p = mtpool_sc_malloc(sc, size);
	if (!p)
		return NULL;
	mt_asan_unpoison(ptr, old);
	memcpy(p, ptr, old < size ? old : size);
	mtpool_sc_free(sc, ptr);
	return p;
}

/* ------------------------------------------------------------ lifecycle */

mtpool_sc *mtpool_sc_create(const struct mtpool_sc_opts *opts)
{
	int env = mtpool__env();
	mtpool_sc *sc;
	unsigned c;

	pthread_once(&sc_once, sc_init_classes);
	if (posix_memalign((void **)&sc, 64, sizeof(*sc))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(sc, 0, sizeof(*sc));
	mtpool__copy_name(sc->name, opts ? opts->name : NULL, "mtpool_sc");
	mtpool__budget_init(&sc->budget, opts ? &opts->budget : NULL, sc->name);
	pthread_mutex_init(&sc->seg_lock, NULL);
	for (c = 0; c < SC_NCLS; c++)
		pthread_mutex_init(&sc->central[c].lock, NULL);
	sc->owner.thread_exit = sc_thread_exit;
	if (env & MT_ENV_DISABLE) {
		sc->mode = SC_PASS;
	} else if ((env & MT_ENV_DEBUG) || (opts && (opts->flags & MTPOOL_F_DEBUG))) {
		sc->mode = SC_DEBUG;
	} else {
		sc->mode = SC_CACHED;
		mtpool__owner_register(&sc->owner);
	}
	mtpool__trace_list(1, sc, offsetof(struct mtpool_sc, all), true);
	MT_PROBE5(create, sc, "size_class", sc->name, (size_t)0, &mtpool__sc_trace_layout);
	return sc;
}

void mtpool_sc_destroy(mtpool_sc *sc)
{
	struct sc_tcache *tc, *tnext;
	struct sc_seg *s, *snext;
	unsigned c;

	if (!sc)
		return;
	if (MT_PROBE_ON(destroy)) {   /* the last counters, only while traced */
		struct mtpool__trace_final f = { .refills = MT_RD(sc->refills),
						 .flushes = MT_RD(sc->flushes) };

		mtpool_sc_stats(sc, &f.st);
		STAP_PROBE2(mtpool, destroy, sc, &f);
	}
	mtpool__trace_list(1, sc, offsetof(struct mtpool_sc, all), false);
	mtpool__owner_unregister(&sc->owner);
	for (tc = sc->tcaches; tc; tc = tnext) {
		tnext = tc->next;
		free(tc);
	}
	for (s = sc->segs; s; s = snext) {
		snext = s->next;
		munmap(s, s->map_size);
	}
	for (s = sc->large; s; s = snext) {
		snext = s->next;
		munmap(s, s->map_size);
	}
	for (c = 0; c < SC_NCLS; c++) {
		pthread_mutex_destroy(&sc->central[c].lock);
		free(sc->central[c].batches);
	}
	pthread_mutex_destroy(&sc->seg_lock);
	free(sc);
}

void mtpool_sc_stats(mtpool_sc *sc, struct mtpool_stats *st)
{
	struct sc_tcache *tc;
	uint64_t gets, puts, cached = 0;
	unsigned c;

	for (c = 0; c < SC_NCLS; c++) {
		pthread_mutex_lock(&sc->central[c].lock);
		cached += sc->central[c].cached;
		pthread_mutex_unlock(&sc->central[c].lock);
	}
	pthread_mutex_lock(&sc->seg_lock);
	gets = sc->exited_allocs + MT_RD(sc->slow_allocs);
	puts = sc->exited_frees + MT_RD(sc->slow_frees);
	for (tc = sc->tcaches; tc; tc = tc->next) {
		gets += MT_RD(tc->allocs);
		puts += MT_RD(tc->frees);
		for (c = 0; c < SC_NCLS; c++)
			cached += MT_RD(tc->lists[c].count);
	}
	pthread_mutex_unlock(&sc->seg_lock);

	memset(st, 0, sizeof(*st));
	st->gets = gets;
	st->puts = puts;
	st->misses = sc->mode == SC_PASS ? gets : MT_RD(sc->carved);
	st->hits = gets > st->misses ? gets - st->misses : 0;
	st->live = gets > puts ? gets - puts : 0;
	st->cached = cached;
	st->bytes_reserved = MT_RD(sc->budget.used);
	st->budget_denied = MT_RD(sc->budget.denied);
}
