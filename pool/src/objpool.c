// SPDX-License-Identifier: BSD-2-Clause
/*
 * Fixed-size object pool.
 *
 * Three layers, from fast to slow:
 *   1. a per-thread cache: an array stack of up to tc_cap object pointers,
 *      touched only by its thread. get/put here cost three dependent loads
 *      (TLS table, slot index, slot) and an array access: no lock, no
 *      compare besides the count, no atomic RMW. The hit path is inlined
 *      into callers from mtpool.h (struct mtpool_tcache_abi is this
 *      cache's public head); the out-of-line mtpool_get/put below are the
 *      same code for callers built with MTPOOL_NO_INLINE.
 *   2. the shared depot: an array of pointers under the pool mutex. Thread
 *      caches exchange half their capacity (a batch) with it, so the mutex
 *      is taken once per batch/2 operations at worst, and a producer and a
 *      consumer thread meet there without sharing a cache line per object.
 *   3. the system: malloc + ctor on a miss, dtor + free when the depot is
 *      at max_cached.
 * Objects are whole malloc() blocks, one per object, so the cache bound can
 * really return memory; an array stack (not an intrusive list) keeps
 * constructed objects intact while they are cached.
 *
 * Pass-through (MTPOOL_DISABLE) and debug pools have no thread caches and
 * take the slow path on every call, so the fast path never tests a mode.
 * Pools with a reset callback (or zeroing) set their caches' put_cap to 0,
 * so every put reaches put_slow, which calls it: the fast put tests no
 * flag either.
 *
 * An array stack (not an intrusive list) keeps constructed objects intact
 * and means neither get nor put touches the object: in scenario (b) of
 * docs/BENCHMARKS.md, a random 100,000-object window, an intrusive list
 * would add a store miss on put (the link) to the miss every allocator
 * pays when the caller first writes the object.
 */
#define MTPOOL_NO_INLINE 1   /* this file defines mtpool_get/mtpool_put */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "objpool.h"
#include "probes.h"
#include "tcache.h"

enum mt_mode { MT_MODE_CACHED, MT_MODE_PASS, MT_MODE_DEBUG };

#define MT_TC_DEFAULT 64u
#define MT_TC_MAX     1024u
#define MT_QUARANTINE 256u

/*
 * Only gets are counted on the fast path; puts follow from
 * count = moved_in - moved_out + puts - gets, and the moves happen on the
 * slow path. That keeps put to two stores.
 */
struct mt_objcache {
	/* struct mtpool_tcache_abi: the inline fast path reads these. */
	uint32_t count;          /* MT_RD/MT_WR: stats read it */
	uint32_t put_cap;        /* tc_cap, or 0 to send every put to put_slow */
	uint64_t gets;           /* MT_RD/MT_WR */
	uint64_t moved_in, moved_out;  /* MT_RD/MT_WR, slow path only */
	struct mt_objcache *next, *prev;  /* pool->caches, under pool->lock */
	void *items[];
};
#define MT_ABI_SAME(f) _Static_assert(offsetof(struct mt_objcache, f) == \
	offsetof(struct mtpool_tcache_abi, f), "mtpool_tcache_abi." #f);
MT_ABI_SAME(count) MT_ABI_SAME(put_cap) MT_ABI_SAME(gets) MT_ABI_SAME(items)
_Static_assert(sizeof(struct mt_objcache) <= MT_ZERO_CACHE_SIZE, "zero cache fits");

/* Debug mode puts this right before each object. */
#define MT_DBG_MAGIC 0x6d74706f6f6c4442ull
#define MT_DBG_LIVE  0x4c495645u
#define MT_DBG_FREE  0x46524545u
struct mt_dbg_hdr {
	uint64_t magic;
	struct mtpool *pool;
	uint32_t state;
	uint32_t pad;
	uint64_t pad2;
};

struct mtpool {
	/* First cache line: everything the fast paths read. */
	struct mtpool_abi abi;   /* must stay first: mtpool.h reads it */
	struct mt_owner owner;
	void (*on_put)(void *obj, void *arg);
	void *cb_arg;
	size_t obj_size;

	int mode;
	bool zero;
	unsigned tc_cap, batch;
	size_t align, hdr_size;
	int (*ctor)(void *obj, void *arg);
	void (*dtor)(void *obj, void *arg);
	void (*user_reset)(void *obj, void *arg);

	pthread_mutex_t lock;
	void **depot;            /* under lock */
	size_t depot_n, depot_cap, max_cached;
	struct mt_objcache *caches;
	/* Caches of exited threads, still full: their thread could not run
	 * dtors (it held the registry lock), so the next slow get or put, or
	 * mtpool_destroy(), moves them to the depot. Written under lock;
	 * read without it (atomically) to skip the lock when empty. */
	struct mt_objcache *orphans;
	void **quar;             /* debug quarantine ring, under lock */
	unsigned quar_head, quar_n;
	uint64_t exited_gets, exited_puts;  /* under lock */

	uint64_t gets_slow, puts_slow, created, destroyed;  /* MT_ADD */
	/* Batches thread caches took from and gave to the depot, for a
	 * tracer (docs/libmtpool.md); under lock, read without it. */
	uint64_t refills, flushes;
	struct mt_budget budget;
	char name[MT_NAME_MAX];
	/* Every pool, for a tracer that attaches after they were created
	 * (mtpool__trace_root); under mt_all_lock. */
	struct mt_trace_link all;
	uint32_t kind;           /* 0 object pool, 1 a block pool's */
	/* The buffer pool whose headers this pool holds, or NULL: for a
	 * tracer, which adds the buffers' data (budget, idle blocks). */
	struct mtpool_bufpool *bufpool;
};

/*
 * Where a tracer finds the counters mtpool_stats() sums, passed by the
 * create probe (docs/libmtpool.md, "Reading a pool from outside"): memtrace
 * reads them from the process's memory instead of trapping every get and
 * put, so tracing leaves the fast path as it is. Version 1; a layout change
 * bumps the version and an old reader then says it cannot read the pool.
 * Every offset is of a 64-bit field unless named _u32; the pool fields
 * are struct mtpool's, c_* a thread cache's (struct mt_objcache).
 */
struct mt_trace_layout {
	uint32_t magic;           /* MT_TRACE_MAGIC */
	uint16_t version, size;   /* 1, sizeof */
	uint16_t caches, orphans, exited_gets, exited_puts, gets_slow, puts_slow;
	uint16_t created, depot, depot_n, quar_n_u32, mode_u32, budget_used;
	uint16_t hdr_size, obj_size;
	uint16_t c_next, c_count_u32, c_gets, c_moved_in, c_moved_out, c_items;
	uint32_t mode_pass;       /* mode value of a pass-through pool */
	uint16_t quar, quar_head_u32;  /* debug quarantine: ring of quar_cap */
	uint32_t quar_cap;
	uint16_t all_next, name, kind_u32, pad;  /* the list of every pool */
	uint16_t refills, flushes, pad2[2];
	/* Buffer pools (size >= this far): buf_pool is the offset of a
	 * pointer to the buffer pool (NULL for other pools), whose budget's
	 * used (buf_budget_used) mtpool_bufpool_stats() adds to
	 * bytes_reserved; each idle header (struct mtpool_buf) owns the
	 * malloc'd block at buf_data when its buf_cap is not 0. */
	uint16_t buf_pool, buf_budget_used, buf_data, buf_cap;
};
#define MT_TRACE_MAGIC 0x4c50544du   /* "MTPL" */
#define MT_OFF(f) (uint16_t)offsetof(struct mtpool, f)
#define MT_COFF(f) (uint16_t)offsetof(struct mt_objcache, f)
static const struct mt_trace_layout mt_trace_layout = {
	.magic = MT_TRACE_MAGIC, .version = 1, .size = sizeof(struct mt_trace_layout),
	.caches = MT_OFF(caches), .orphans = MT_OFF(orphans),
	.exited_gets = MT_OFF(exited_gets), .exited_puts = MT_OFF(exited_puts),
	.gets_slow = MT_OFF(gets_slow), .puts_slow = MT_OFF(puts_slow),
	.created = MT_OFF(created), .depot = MT_OFF(depot), .depot_n = MT_OFF(depot_n),
	.quar_n_u32 = MT_OFF(quar_n), .mode_u32 = MT_OFF(mode),
	.budget_used = MT_OFF(budget) + (uint16_t)offsetof(struct mt_budget, used),
	.hdr_size = MT_OFF(hdr_size), .obj_size = MT_OFF(obj_size),
	.c_next = MT_COFF(next), .c_count_u32 = MT_COFF(count), .c_gets = MT_COFF(gets),
	.c_moved_in = MT_COFF(moved_in), .c_moved_out = MT_COFF(moved_out),
	.c_items = MT_COFF(items), .mode_pass = MT_MODE_PASS,
	.quar = MT_OFF(quar), .quar_head_u32 = MT_OFF(quar_head), .quar_cap = MT_QUARANTINE,
	.all_next = MT_OFF(all) + (uint16_t)offsetof(struct mt_trace_link, next),
	.name = MT_OFF(name), .kind_u32 = MT_OFF(kind),
	.refills = MT_OFF(refills), .flushes = MT_OFF(flushes),
	.buf_pool = MT_OFF(bufpool),
	.buf_budget_used = (uint16_t)(offsetof(struct mtpool_bufpool, budget) +
				      offsetof(struct mt_budget, used)),
	.buf_data = (uint16_t)offsetof(struct mtpool_buf, data),
	.buf_cap = (uint16_t)offsetof(struct mtpool_buf, cap),
};

/*
 * Where a tracer that attaches late finds the pools created before: a
 * section of its own, found by name in the ELF file (strip keeps it),
 * holding the layout record and the list of every pool. Insert and
 * remove are at create and destroy, under their own lock: no cost to the
 * gets and puts. A tracer walks the list without the lock (bounded).
 */
struct mt_trace_root {
	uint32_t magic;           /* MT_ROOT_MAGIC */
	uint16_t version, size;   /* 1, sizeof */
	const struct mt_trace_layout *layout;
	void *pools;              /* object pools, newest first */
	const struct mt_sc_trace_layout *sc_layout;
	void *scs;                /* size-class allocators, newest first */
};
#define MT_ROOT_MAGIC 0x52505444u   /* "DTPR" */
MT_HIDDEN struct mt_trace_root mtpool__trace_root __attribute__((section(".mtpool_trace"), used)) = {
	.magic = MT_ROOT_MAGIC, .version = 1, .size = sizeof(struct mt_trace_root),
	.layout = &mt_trace_layout, .sc_layout = &mtpool__sc_trace_layout,
};
static pthread_mutex_t mt_all_lock = PTHREAD_MUTEX_INITIALIZER;

#define MT_LINK(obj, off) ((struct mt_trace_link *)((char *)(obj) + (off)))

void mtpool__trace_list(unsigned kind, void *obj, size_t off, bool add)
{
	void **head = kind ? &mtpool__trace_root.scs : &mtpool__trace_root.pools;
	struct mt_trace_link *l = MT_LINK(obj, off);

	pthread_mutex_lock(&mt_all_lock);
	if (add) {
		l->prev = NULL;
		l->next = *head;
		if (l->next)
			MT_LINK(l->next, off)->prev = obj;
		__atomic_store_n(head, obj, __ATOMIC_RELEASE);
	} else {
		if (l->prev)
			MT_LINK(l->prev, off)->next = l->next;
		else
			__atomic_store_n(head, l->next, __ATOMIC_RELEASE);
		if (l->next)
			MT_LINK(l->next, off)->prev = l->prev;
	}
	pthread_mutex_unlock(&mt_all_lock);
}
_Static_assert(sizeof(((struct mtpool *)0)->quar_n) == 4 && sizeof(((struct mtpool *)0)->mode) == 4 &&
	       sizeof(((struct mtpool *)0)->quar_head) == 4 &&
	       sizeof(((struct mtpool *)0)->depot_n) == 8 && sizeof(((struct mtpool *)0)->hdr_size) == 8 &&
	       sizeof(((struct mt_budget *)0)->used) == 8 &&
	       sizeof(((struct mtpool_buf *)0)->data) == 8 && sizeof(((struct mtpool_buf *)0)->cap) == 8,
	       "mt_trace_layout field widths");

static void zero_obj(void *obj, void *arg)
{
	memset(obj, 0, ((struct mtpool *)arg)->obj_size);
}

static struct mt_dbg_hdr *dbg_hdr(void *obj)
{
	return (struct mt_dbg_hdr *)obj - 1;
}

static void *raw_of(const mtpool *p, void *obj)
{
	return (char *)obj - p->hdr_size;
}

/* Memory only: no dtor, no counters beyond the budget. */
static void obj_free_mem(mtpool *p, void *obj)
{
	mt_asan_unpoison(obj, p->obj_size);
	free(raw_of(p, obj));
	mtpool__budget_uncharge(&p->budget, p->hdr_size + p->obj_size);
	MT_ADD(p->destroyed, 1);
}

static void obj_destroy(mtpool *p, void *obj)
{
	mt_asan_unpoison(obj, p->obj_size);
	if (p->dtor)
		p->dtor(obj, p->cb_arg);
	obj_free_mem(p, obj);
}

static void *obj_create(mtpool *p)
{
	size_t total = p->hdr_size + p->obj_size;
	void *raw = NULL, *obj;

	if (mtpool__budget_charge(&p->budget, total))
		return NULL;
	if (p->align <= 16) {
		raw = p->zero ? calloc(1, total) : malloc(total);
	} else if (posix_memalign(&raw, p->align, total) == 0 && p->zero) {
		memset(raw, 0, total);
	}
	if (!raw)
		goto fail_budget;
	obj = (char *)raw + p->hdr_size;
	if (p->mode == MT_MODE_DEBUG) {
		struct mt_dbg_hdr *h = dbg_hdr(obj);

		h->magic = MT_DBG_MAGIC;
		h->pool = p;
		h->state = MT_DBG_LIVE;
	}
	if (p->ctor && p->ctor(obj, p->cb_arg))
		goto fail_free;
	MT_ADD(p->created, 1);
	MT_PROBE2(miss, p, obj);
	return obj;

fail_free:
	free(raw);
fail_budget:
	mtpool__budget_uncharge(&p->budget, total);
	return NULL;
}

/*
 * Move up to @n objects into the depot. Returns how many fit; the caller
 * destroys the rest outside the lock (a dtor may be slow). Called locked.
 */
static size_t depot_push(mtpool *p, void *const *objs, size_t n)
{
	size_t room;

	if (p->max_cached) {
		room = p->max_cached > p->depot_n ? p->max_cached - p->depot_n : 0;
		if (n > room)
			n = room;
	}
	if (p->depot_n + n > p->depot_cap) {
		size_t cap = p->depot_cap ? p->depot_cap * 2 : 256;
		void **d;

		while (cap < p->depot_n + n)
			cap *= 2;
		if (p->max_cached && cap > p->max_cached)
			cap = p->max_cached;
		d = realloc(p->depot, cap * sizeof(*d));
		if (!d)
			return 0;
		p->depot = d;
		p->depot_cap = cap;
	}
	if (n)
		memcpy(p->depot + p->depot_n, objs, n * sizeof(*objs));
	p->depot_n += n;
	return n;
}

static struct mt_objcache *cache_attach(mtpool *p)
{
	struct mt_objcache *c;

	if (!p->owner.idx)
		return NULL;
	c = calloc(1, sizeof(*c) + p->tc_cap * sizeof(void *));
	if (!c)
		return NULL;
	c->put_cap = p->on_put ? 0 : p->tc_cap;
	pthread_mutex_lock(&p->lock);
	c->next = p->caches;
	if (p->caches)
		p->caches->prev = c;
	p->caches = c;
	pthread_mutex_unlock(&p->lock);
	if (mtpool__tcache_attach(&p->owner, c) == 0)
		return c;
	pthread_mutex_lock(&p->lock);
	MT_DLIST_UNLINK(p->caches, c);
	pthread_mutex_unlock(&p->lock);
	free(c);
	return NULL;
}

/*
 * Registry lock held; runs on the exiting thread that owns @cache. A dtor
 * must not run here: it may create or destroy a pool, which takes the
 * registry lock (self-deadlock), and the user did not call us. So the cache
 * only moves, whole, to the orphan list: no callback, no allocation.
 */
static void objpool_thread_exit(struct mt_owner *o, void *cache)
{
	mtpool *p = (mtpool *)((char *)o - offsetof(struct mtpool, owner));
	struct mt_objcache *c = cache;

	pthread_mutex_lock(&p->lock);
	p->exited_gets += c->gets;
	p->exited_puts += c->count - c->moved_in + c->moved_out + c->gets;
	MT_DLIST_UNLINK(p->caches, c);
	c->prev = NULL;
	c->next = p->orphans;
	__atomic_store_n(&p->orphans, c, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->lock);
}

/* Move the orphaned caches' objects to the depot; destroy what is over
 * max_cached. No lock held on entry: the dtors run unlocked. */
static void orphans_adopt(mtpool *p)
{
	struct mt_objcache *c, *next;
	size_t kept, i;

	pthread_mutex_lock(&p->lock);
	c = p->orphans;
	__atomic_store_n(&p->orphans, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->lock);
	for (; c; c = next) {
		next = c->next;
		pthread_mutex_lock(&p->lock);
		kept = depot_push(p, c->items, c->count);
		pthread_mutex_unlock(&p->lock);
		for (i = kept; i < c->count; i++)
			obj_destroy(p, c->items[i]);
		free(c);
	}
}

static inline void orphans_check(mtpool *p)
{
	if (unlikely(__atomic_load_n(&p->orphans, __ATOMIC_RELAXED) != NULL))
		orphans_adopt(p);
}

/* ---------------------------------------------------------- debug mode */

const char *mtpool__objpool_owner_name(const void *obj)
{
	const struct mt_dbg_hdr *h = (const struct mt_dbg_hdr *)obj - 1;

	return h->magic == MT_DBG_MAGIC ? h->pool->name : "?";
}

MT_SLOW_FRAME static void *debug_get(mtpool *p)
{
	void *obj = NULL;
	size_t bad;

	/* Reuse only from the older half of the quarantine, so a stale
	 * pointer's writes have time to show in the poison. */
	pthread_mutex_lock(&p->lock);
	if (p->quar_n > MT_QUARANTINE / 2) {
		obj = p->quar[p->quar_head];
		p->quar_head = (p->quar_head + 1) % MT_QUARANTINE;
		p->quar_n--;
		dbg_hdr(obj)->state = MT_DBG_LIVE;
	}
	pthread_mutex_unlock(&p->lock);
	if (!obj) {
		obj = obj_create(p);
		if (obj)
			MT_ADD(p->gets_slow, 1);
		return obj;
	}
	mt_asan_unpoison(obj, p->obj_size);
	bad = mtpool__poison_check(obj, p->obj_size);
	if (bad != p->obj_size)
		mtpool__report("write after put", p->name, obj);
	if (p->zero)
		memset(obj, 0, p->obj_size);
	if (p->ctor && p->ctor(obj, p->cb_arg)) {
		obj_free_mem(p, obj);
		return NULL;
	}
	MT_ADD(p->gets_slow, 1);
	return obj;
}

MT_SLOW_FRAME static void debug_put(mtpool *p, void *obj)
{
	struct mt_dbg_hdr *h = dbg_hdr(obj);
	const char *err = NULL;
	void *evict = NULL;

	pthread_mutex_lock(&p->lock);
	if (h->magic != MT_DBG_MAGIC)
		err = "put of a foreign object";
	else if (h->pool != p)
		err = "put into the wrong pool";
	else if (h->state != MT_DBG_LIVE)
		err = "double put";
	else
		h->state = MT_DBG_FREE;
	pthread_mutex_unlock(&p->lock);
	if (err) {
		mtpool__report(err, p->name, obj);
		return;
	}
	if (p->user_reset)
		p->user_reset(obj, p->cb_arg);
	if (p->dtor)
		p->dtor(obj, p->cb_arg);
	mtpool__poison_fill(obj, p->obj_size);
	mt_asan_poison(obj, p->obj_size);

	pthread_mutex_lock(&p->lock);
	if (p->quar_n == MT_QUARANTINE) {
		evict = p->quar[p->quar_head];
		p->quar_head = (p->quar_head + 1) % MT_QUARANTINE;
		p->quar_n--;
	}
	p->quar[(p->quar_head + p->quar_n) % MT_QUARANTINE] = obj;
	p->quar_n++;
	pthread_mutex_unlock(&p->lock);
	MT_ADD(p->puts_slow, 1);
	if (evict) {
		mt_asan_unpoison(evict, p->obj_size);
		if (mtpool__poison_check(evict, p->obj_size) != p->obj_size)
			mtpool__report("write after put", p->name, evict);
		obj_free_mem(p, evict);
	}
}

/* ---------------------------------------------------------- slow paths */

MT_NOINLINE MT_SLOW_FRAME static void *get_slow(mtpool *p, struct mt_objcache *c)
{
	void *obj = NULL;
	size_t n = 0;

	if (c == MT_ZERO_CACHE)
		c = NULL;
	if (p->mode == MT_MODE_PASS) {
		obj = obj_create(p);
		if (obj)
			MT_ADD(p->gets_slow, 1);
		return obj;
	}
	if (p->mode == MT_MODE_DEBUG)
		return debug_get(p);
	orphans_check(p);
	if (!c)
		c = cache_attach(p);

	pthread_mutex_lock(&p->lock);
	if (c) {
		n = p->depot_n < p->batch ? p->depot_n : p->batch;
		p->depot_n -= n;
		if (n)
			MT_WR(p->refills, p->refills + 1);
		if (n)
			memcpy(c->items, p->depot + p->depot_n, n * sizeof(void *));
	} else if (p->depot_n) {
		obj = p->depot[--p->depot_n];
	}
	pthread_mutex_unlock(&p->lock);

	if (n) {
		MT_WR(c->moved_in, c->moved_in + n);
		MT_PROBE2(refill, p, n);
		obj = c->items[n - 1];
		MT_WR(c->count, (unsigned)n - 1);
	} else if (!obj) {
		obj = obj_create(p);
		if (!obj)
			return NULL;
		if (c)   /* as if it passed through the cache: keeps puts exact */
			MT_INC(c->moved_in);
	}
	if (c)
		MT_INC(c->gets);
	else
		MT_ADD(p->gets_slow, 1);
	mt_asan_unpoison(obj, p->obj_size);
	MT_PROBE2(get, p, obj);
	return obj;
}

MT_NOINLINE MT_SLOW_FRAME static void put_slow(mtpool *p, struct mt_objcache *c, void *obj)
{
	size_t i, kept;

	if (!obj)
		return;
	if (c == MT_ZERO_CACHE)
		c = NULL;
	if (p->mode == MT_MODE_PASS) {
		obj_destroy(p, obj);
		MT_ADD(p->puts_slow, 1);
		return;
	}
	if (p->mode == MT_MODE_DEBUG) {
		debug_put(p, obj);
		return;
	}
	MT_PROBE2(put, p, obj);
	orphans_check(p);
	if (p->on_put)
		p->on_put(obj, p->cb_arg);
	mt_asan_poison(obj, p->obj_size);
	if (!c)
		c = cache_attach(p);
	if (!c) {
		pthread_mutex_lock(&p->lock);
		kept = depot_push(p, &obj, 1);
		pthread_mutex_unlock(&p->lock);
		if (!kept)
			obj_destroy(p, obj);
		MT_ADD(p->puts_slow, 1);
		return;
	}
	if (c->count >= p->tc_cap) {
		/* Full: the oldest batch (bottom of the stack, coldest in cache)
		 * goes to the depot; the hot top stays. */
		unsigned n = p->batch;

		pthread_mutex_lock(&p->lock);
		kept = depot_push(p, c->items, n);
		MT_WR(p->flushes, p->flushes + 1);
		pthread_mutex_unlock(&p->lock);
		for (i = kept; i < n; i++)
			obj_destroy(p, c->items[i]);
		memmove(c->items, c->items + n, (c->count - n) * sizeof(void *));
		MT_WR(c->count, c->count - n);
		MT_WR(c->moved_out, c->moved_out + n);
		MT_PROBE2(flush, p, n);
	}
	c->items[c->count] = obj;
	MT_WR(c->count, c->count + 1);
}

/* ----------------------------------------------------------- fast paths */

/*
 * Out-of-line forms of mtpool_get_inline/mtpool_put_inline (mtpool.h),
 * plus the ASan annotations and probe sites the inline forms leave to the
 * library. With probes off: get is 13 instructions, put 12, no stack frame.
 */
__attribute__((hot)) void *mtpool_get(mtpool *p)
{
	struct mt_objcache *c = mt_tcache_find(&p->owner);
	unsigned n = c->count;

	if (likely(n != 0)) {
		void *obj = c->items[n - 1];

		MT_WR(c->count, n - 1);
		MT_INC(c->gets);
		mt_asan_unpoison(obj, p->obj_size);
		MT_PROBE2(get, p, obj);
		return obj;
	}
	return get_slow(p, c);
}

__attribute__((hot)) void mtpool_put(mtpool *p, void *obj)
{
	struct mt_objcache *c = mt_tcache_find(&p->owner);
	unsigned n = c->count;

	if (likely(n < c->put_cap && obj != NULL)) {
		MT_PROBE2(put, p, obj);
		mt_asan_poison(obj, p->obj_size);
		c->items[n] = obj;
		MT_WR(c->count, n + 1);
		return;
	}
	put_slow(p, c, obj);
}

/* ------------------------------------------------------------ lifecycle */

mtpool *mtpool__objpool_create(size_t obj_size, const struct mtpool_opts *opts, unsigned iflags)
{
	static const struct mtpool_opts none;
	int env = mtpool__env();
	size_t align;
	mtpool *p;

	if (!opts)
		opts = &none;
	align = opts->align ? opts->align : 16;
	if (!obj_size || obj_size > (1u << 30) || (align & (align - 1)) ||
	    align > 4096 || opts->thread_cache > MT_TC_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	mtpool__copy_name(p->name, opts->name, "mtpool");
	p->obj_size = obj_size;
	p->align = align < sizeof(void *) ? sizeof(void *) : align;
	p->ctor = opts->ctor;
	p->dtor = opts->dtor;
	p->user_reset = opts->reset;
	p->cb_arg = opts->cb_arg;
	p->zero = !!(iflags & MT_OBJ_ZERO);
	p->on_put = p->user_reset;
	if (p->zero) {
		p->on_put = zero_obj;
		p->cb_arg = p;
	}
	p->max_cached = opts->max_cached;
	p->tc_cap = opts->thread_cache ? opts->thread_cache : MT_TC_DEFAULT;
	if (p->tc_cap < 2)
		p->tc_cap = 2;
	p->batch = p->tc_cap / 2;
	p->owner.thread_exit = objpool_thread_exit;
	mtpool__budget_init(&p->budget, &opts->budget, p->name);
	pthread_mutex_init(&p->lock, NULL);

	if (env & MT_ENV_DISABLE) {
		p->mode = MT_MODE_PASS;
	} else if ((env & MT_ENV_DEBUG) || (opts->flags & MTPOOL_F_DEBUG)) {
		p->mode = MT_MODE_DEBUG;
		p->hdr_size = p->align > sizeof(struct mt_dbg_hdr) ?
			p->align : sizeof(struct mt_dbg_hdr);
		p->quar = calloc(MT_QUARANTINE, sizeof(void *));
		if (!p->quar) {
			pthread_mutex_destroy(&p->lock);
			free(p);
			return NULL;
		}
	} else {
		p->mode = MT_MODE_CACHED;
		mtpool__owner_register(&p->owner);
#ifndef MT_ASAN
		/* An ASan library keeps inline callers out: they would hand out
		 * objects still poisoned. */
		p->abi.inline_idx = p->owner.idx;
#endif
	}
	p->kind = (iflags & MT_OBJ_BLOCK) ? 1 : 0;
	if (iflags & MT_OBJ_BUF)
		p->bufpool = opts->cb_arg;
	mtpool__trace_list(0, p, offsetof(struct mtpool, all), true);
	MT_PROBE5(create, p, p->kind ? "block" : "object", p->name, p->obj_size, &mt_trace_layout);
	return p;
}

mtpool *mtpool_create(size_t obj_size, const struct mtpool_opts *opts)
{
	return mtpool__objpool_create(obj_size, opts, 0);
}

void mtpool_destroy(mtpool *p)
{
	struct mt_objcache *c, *next;
	uint64_t created, destroyed;
	size_t i;

	if (!p)
		return;
	if (MT_PROBE_ON(destroy)) {
		/* The last counters, for a tracer that reads them from memory:
		 * the pool is gone after this. Costs only while traced. */
		struct mtpool__trace_final f = { .refills = MT_RD(p->refills),
						 .flushes = MT_RD(p->flushes) };

		mtpool_stats(p, &f.st);
		STAP_PROBE2(mtpool, destroy, p, &f);
	}
	mtpool__trace_list(0, p, offsetof(struct mtpool, all), false);
	mtpool__owner_unregister(&p->owner);
	orphans_adopt(p);
	for (c = p->caches; c; c = next) {
		next = c->next;
		for (i = 0; i < c->count; i++)
			obj_destroy(p, c->items[i]);
		free(c);
	}
	for (i = 0; i < p->depot_n; i++)
		obj_destroy(p, p->depot[i]);
	for (i = 0; i < p->quar_n; i++)
		obj_free_mem(p, p->quar[(p->quar_head + i) % MT_QUARANTINE]);
	created = MT_RD(p->created);
	destroyed = MT_RD(p->destroyed);
	if (p->mode == MT_MODE_DEBUG && created != destroyed)
		mtpool__report("destroyed with live objects", p->name, p);
	pthread_mutex_destroy(&p->lock);
	free(p->quar);
	free(p->depot);
	free(p);
}

void mtpool_stats(mtpool *p, struct mtpool_stats *st)
{
	struct mt_objcache *c;
	uint64_t gets, puts, cached;

	pthread_mutex_lock(&p->lock);
	gets = p->exited_gets + MT_RD(p->gets_slow);
	puts = p->exited_puts + MT_RD(p->puts_slow);
	cached = p->depot_n + p->quar_n;
	for (c = p->orphans; c; c = c->next)
		cached += c->count;
	for (c = p->caches; c; c = c->next) {
		uint64_t g = MT_RD(c->gets), n = MT_RD(c->count);

		gets += g;
		puts += n + MT_RD(c->moved_out) + g - MT_RD(c->moved_in);
		cached += n;
	}
	pthread_mutex_unlock(&p->lock);

	memset(st, 0, sizeof(*st));
	st->gets = gets;
	st->puts = puts;
	st->misses = p->mode == MT_MODE_PASS ? gets : MT_RD(p->created);
	st->hits = st->gets > st->misses ? st->gets - st->misses : 0;
	st->live = gets > puts ? gets - puts : 0;
	st->cached = cached;
	st->bytes_reserved = MT_RD(p->budget.used);
	st->budget_denied = MT_RD(p->budget.denied);
}

const char *mtpool_name(const mtpool *p)
{
	return p->name;
}

size_t mtpool_obj_size(const mtpool *p)
{
	return p->obj_size;
}
