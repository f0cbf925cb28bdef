/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libmtpool: pools for the hot, short-lived, same-sized allocations that
 * memtrace finds. One header, one prefix (mtpool_ / MTPOOL_), opaque types.
 *
 * Components:
 *   mtpool          fixed-size object pool with constructor/reset/destructor
 *   mtpool_sc       size-class allocator, 8 B .. 32 KiB, larger to the system
 *   mtpool_block    fixed blocks, optionally zeroed on release
 *   mtpool_ml       multi-level pool: picks a block pool by size
 *   mtpool_bufpool  growable byte buffers (string builders) kept for reuse
 *   mtpool_refbuf   reference-counted zero-copy byte buffers and slices
 *   mtpool_mmap     memory-mapped files with bounds-checked views
 *   mtpool_res      bounded pool of handles (sockets, fds, connections)
 * Every pool reports struct mtpool_stats and accepts a byte budget.
 *
 * Environment (read once, at the first call into the library):
 *   MTPOOL_DISABLE=1  every pool and the size-class allocator pass straight
 *                     through to malloc/free, so one binary can be compared
 *                     pooled and unpooled under memtrace.
 *   MTPOOL_DEBUG=1    every pool runs in debug mode (see MTPOOL_F_DEBUG).
 *
 * Limitations:
 *   - Thread caches are per (thread, pool). At most 127 pools and size-class
 *     allocators with thread caches can be alive at once; further ones work
 *     but take the pool's mutex on every call (about 15-90 ns).
 *   - A thread cache is flushed when its thread exits (pthread TLS
 *     destructor), not when the thread stops using the pool; objects cached
 *     by a blocked thread stay there.
 *   - Memory the size-class allocator took from the system is reused within
 *     its size class and returned only by mtpool_sc_destroy(). Objects of the
 *     object and block pools are freed when the cache bound is exceeded.
 *   - Destroying a pool while another thread still uses it, or with objects
 *     not yet put back, is undefined (debug mode reports live objects).
 *   - Pointers are 8-byte aligned for size classes that are not multiples
 *     of 16 (like mimalloc); ask for 16 B or more to get 16-byte alignment.
 *   - Not fork-safe: in a child of a multi-threaded parent, do not use pools
 *     that the parent used concurrently with the fork.
 *   - The library must be loaded at program start (it uses initial-exec TLS,
 *     like mimalloc); dlopen() works only while static TLS space remains.
 *   - mtpool_get()/mtpool_put() inline their hit path into the caller (see
 *     "Inline fast path" below): struct mtpool_abi, struct
 *     mtpool_tcache_abi, mtpool_tls_caches and the get/put probe
 *     semaphores are ABI, and changing them needs a new soname. Build with
 *     -DMTPOOL_NO_INLINE to depend on the function symbols only.
 *
 * Conventions: functions returning int return 0 or a negative errno.
 * Destroy/free/release functions accept NULL. "Thread-safe" means any number
 * of threads may call it on the same pool at once.
 */
#ifndef MTPOOL_H
#define MTPOOL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTPOOL_VERSION_MAJOR 0
#define MTPOOL_VERSION_MINOR 1

#define MTPOOL_API __attribute__((visibility("default")))
#define MTPOOL_MALLOC __attribute__((malloc, warn_unused_result))
#define MTPOOL_ALLOC_SIZE(...) __attribute__((alloc_size(__VA_ARGS__)))
#define MTPOOL_WUR __attribute__((warn_unused_result))

/* Pool flags (opts.flags). */
#define MTPOOL_F_DEBUG           0x1u /* debug checks for this pool only */
#define MTPOOL_F_ZERO_ON_RELEASE 0x2u /* block pools: memset 0 on put */

/* ---------------------------------------------------------------- common */

/**
 * struct mtpool_stats - counters of one pool, read by the mtpool_*_stats()
 * functions. Counters are summed over threads without stopping them, so a
 * snapshot taken while others run is approximate (each field is exact once
 * the pool is quiescent).
 * @gets:           objects handed out (get, alloc, acquire)
 * @puts:           objects returned (put, free, release)
 * @hits:           gets served from a cache
 * @misses:         gets that had to create an object (system allocation)
 * @live:           objects currently handed out
 * @cached:         objects held in caches, ready for reuse
 * @bytes_reserved: bytes currently taken from the system by this pool
 * @budget_denied:  allocations refused by the memory budget
 */
struct mtpool_stats {
	uint64_t gets;
	uint64_t puts;
	uint64_t hits;
	uint64_t misses;
	uint64_t live;
	uint64_t cached;
	uint64_t bytes_reserved;
	uint64_t budget_denied;
};

/**
 * mtpool_budget_fn - called when an allocation would exceed a budget.
 * @arg:     struct mtpool_budget.arg
 * @name:    the pool's name
 * @used:    bytes reserved now
 * @request: bytes the pool wants to reserve
 * @limit:   the budget
 *
 * Return nonzero to let this allocation exceed the budget, 0 to refuse it
 * (the get/alloc then returns NULL or -ENOMEM). May run with one of the
 * pool's internal locks held (the size-class allocator's class lock) and
 * from several threads at once, so it must not call back into the pool.
 */
typedef int mtpool_budget_fn(void *arg, const char *name, size_t used,
			     size_t request, size_t limit);

/**
 * struct mtpool_budget - optional byte limit on what a pool reserves from
 * the system (the bytes_reserved stat). Zero limit means unlimited. Checked
 * only when the pool takes memory from the system, so it costs nothing on
 * cache hits.
 */
struct mtpool_budget {
	size_t limit;
	mtpool_budget_fn *on_exceed; /* NULL: refuse silently */
	void *arg;
};

/**
 * mtpool_error_fn - receives debug-mode reports (and, in every build, the
 * misuse of a released mtpool_buf or mtpool_refbuf).
 * @arg:  the argument given to mtpool_set_error_handler()
 * @what: object and block pools: "double put", "put into the wrong pool",
 *        "put of a foreign object", "write after put", "destroyed with
 *        live objects"; size-class allocator: "double free", "free of a
 *        pointer from another allocator", "free of a pointer inside a
 *        block", "write after free"; buffers and refbufs: "use of a
 *        released buffer", "double release"
 * @pool: name of the pool involved
 * @addr: address of the object, block or buffer
 *
 * The default handler prints "mtpool: double put of 0x... in pool 'name'"
 * to stderr and aborts. If a handler returns, what happens depends on the
 * report: a bad put, free or release is ignored (the object is not put or
 * freed twice, a foreign pointer is left alone); a call on a released
 * buffer does nothing and returns -EINVAL (or NULL with errno EINVAL);
 * "write after put" and "write after free" are found when the object is
 * reused, and the get or malloc still returns it; "destroyed with live
 * objects" is reported before the destroy completes, which it still does.
 */
typedef void mtpool_error_fn(void *arg, const char *what, const char *pool,
			     const void *addr);

/**
 * mtpool_set_error_handler() - replace the debug-mode report handler.
 * @fn:  the new handler, or NULL for the default (print and abort)
 * @arg: passed to @fn
 *
 * Process-wide. Thread-safe, but meant to be called once at start-up.
 */
MTPOOL_API void mtpool_set_error_handler(mtpool_error_fn *fn, void *arg);

/** mtpool_disabled() - nonzero when MTPOOL_DISABLE=1 made pools pass-through. */
MTPOOL_API int mtpool_disabled(void);

/** mtpool_debug_default() - nonzero when MTPOOL_DEBUG=1 (or the build flag
 * -DMTPOOL_DEBUG_DEFAULT=1) puts every pool in debug mode. */
MTPOOL_API int mtpool_debug_default(void);

/* ------------------------------------------------------- 1. object pool */

typedef struct mtpool mtpool;

/**
 * struct mtpool_opts - options of an object pool; zero means default.
 * @name:         for stats, probes and debug reports (copied; default "mtpool")
 * @align:        object alignment, a power of two (default 16)
 * @max_cached:   bound on objects in the shared cache (default: unbounded);
 *                excess objects are destroyed. Thread caches add at most
 *                @thread_cache objects per thread on top.
 * @thread_cache: objects per thread cache (default 64, 0 = default, max 1024;
 *                more fails with EINVAL)
 * @flags:        MTPOOL_F_DEBUG
 * @ctor:         called once when an object is created; nonzero return
 *                means failure and the get returns NULL. May be NULL.
 * @reset:        called on every put, before the object is cached, to bring
 *                it back to its just-constructed state. May be NULL.
 * @dtor:         called when the pool frees an object. May be NULL.
 * @cb_arg:       passed to the callbacks
 * @budget:       byte budget on object memory
 *
 * In debug mode objects are destroyed on put and constructed again when
 * reused, so a constructor must not count on running once per address.
 *
 * Where callbacks run: @ctor in the thread calling mtpool_get(); @reset in
 * the thread calling mtpool_put(); @dtor in the thread calling
 * mtpool_put() or mtpool_get() when the shared cache is over @max_cached,
 * in mtpool_put() in debug and pass-through modes, or in mtpool_destroy().
 * None runs with a library lock held, so a callback may use any libmtpool
 * function, including creating and destroying pools. None runs at thread
 * exit: an exiting thread's cache is parked whole (it may briefly exceed
 * @max_cached) and the next slow get or put, in any thread, or
 * mtpool_destroy() trims it, running @dtor there.
 */
struct mtpool_opts {
	const char *name;
	size_t align;
	size_t max_cached;
	unsigned thread_cache;
	unsigned flags;
	int (*ctor)(void *obj, void *arg);
	void (*reset)(void *obj, void *arg);
	void (*dtor)(void *obj, void *arg);
	void *cb_arg;
	struct mtpool_budget budget;
};

/**
 * mtpool_create() - create a pool of @obj_size-byte objects.
 * @obj_size: object size in bytes, 1 .. 1 GiB
 * @opts:     options, may be NULL
 *
 * Return: the pool, or NULL with errno EINVAL (bad size or alignment) or
 * ENOMEM. The caller owns the pool and frees it with mtpool_destroy().
 * Thread-safe.
 */
MTPOOL_API mtpool *mtpool_create(size_t obj_size, const struct mtpool_opts *opts) MTPOOL_WUR;

/**
 * mtpool_get() - take an object from the pool.
 * @p: the pool
 *
 * Fast path (object in this thread's cache): about 10 instructions inlined
 * at the call site (13 in the library), no lock and no atomic
 * read-modify-write. Otherwise refills a batch from the shared
 * cache under the pool's mutex, or creates an object (malloc + ctor).
 *
 * Return: an object that the caller owns until mtpool_put(), or NULL when
 * out of memory, over budget, or the constructor failed.
 * Thread-safe; the object may be put back from any thread.
 */
MTPOOL_API void *mtpool_get(mtpool *p) MTPOOL_MALLOC;

/**
 * mtpool_put() - give an object back to the pool it came from.
 * @p:   the pool that returned @obj
 * @obj: the object, or NULL (ignored)
 *
 * Calls reset, then caches the object; the caller must not touch it again.
 * Under ASan the object is poisoned until the next get. Thread-safe.
 */
MTPOOL_API void mtpool_put(mtpool *p, void *obj);

/**
 * mtpool_destroy() - destroy the pool and every cached object (dtor runs).
 * @p: the pool, or NULL
 *
 * Objects still handed out are not destroyed; using them or putting them
 * back afterwards is undefined. Not thread-safe against other calls on @p.
 */
MTPOOL_API void mtpool_destroy(mtpool *p);

/** mtpool_stats() - fill @st with @p's counters. Thread-safe. */
MTPOOL_API void mtpool_stats(mtpool *p, struct mtpool_stats *st);

/** mtpool_name() - the pool's name; valid until mtpool_destroy(). */
MTPOOL_API const char *mtpool_name(const mtpool *p);

/** mtpool_obj_size() - the object size given to mtpool_create(). */
MTPOOL_API size_t mtpool_obj_size(const mtpool *p);

/*
 * Inline fast path (mimalloc's split: a small inline for the hit, the
 * library for everything else). By default mtpool_get(p) and
 * mtpool_put(p, obj) expand to mtpool_get_inline() / mtpool_put_inline():
 * on a hit that is 3 dependent loads to find this thread's cache (TLS
 * table, the pool's slot index, the slot), the count test, the USDT
 * semaphore test and the pop or push: about 10 instructions and no call,
 * against about 15 plus a call and return out of line. Misses, pools with
 * a reset callback, debug and MTPOOL_DISABLE pools, and enabled probes
 * always go out of line, so behaviour is the same either way.
 *
 * The price is ABI: the structures below are compiled into the caller, so
 * a library that changes them must change its soname. Define
 * MTPOOL_NO_INLINE before including this header to always call the
 * library (only the function symbols are then ABI); (mtpool_get)(p) does
 * the same at one call site. Translation units built with ASan never
 * inline (the library poisons cached objects), nor does an ASan-built
 * library let them (its pools publish slot index 0).
 */

/* First bytes of every struct mtpool. */
struct mtpool_abi {
	uint32_t inline_idx;  /* slot in mtpool_tls_caches; 0: always call out */
	uint32_t reserved;
};

/* An object pool's cache for one thread, written only by that thread
 * (relaxed atomic stores: mtpool_stats() reads them from others). */
struct mtpool_tcache_abi {
	uint32_t count;       /* objects in items[] */
	uint32_t put_cap;     /* inline put pushes while count < put_cap */
	uint64_t gets;        /* gets served here, for mtpool_stats() */
	void *reserved[4];    /* library-private */
	void *items[];
};

/* This thread's table of cache pointers; an empty slot points at an
 * all-zero cache (count 0, put_cap 0), so lookups need no NULL test. */
extern MTPOOL_API __thread void **mtpool_tls_caches
	__attribute__((tls_model("initial-exec")));
/* USDT semaphores of the get and put probes (nonzero while traced). */
extern MTPOOL_API unsigned short mtpool_get_semaphore, mtpool_put_semaphore;

#if defined(__SANITIZE_ADDRESS__)
#define MTPOOL_INLINE_OFF_ 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MTPOOL_INLINE_OFF_ 1
#endif
#endif
#ifndef MTPOOL_INLINE_OFF_
#define MTPOOL_INLINE_OFF_ 0
#endif

static inline __attribute__((always_inline, malloc, warn_unused_result))
void *mtpool_get_inline(mtpool *p)
{
	struct mtpool_tcache_abi *c = (struct mtpool_tcache_abi *)__atomic_load_n(
		&mtpool_tls_caches[((const struct mtpool_abi *)p)->inline_idx],
		__ATOMIC_RELAXED);
	uint32_t n = c->count;

	if (__builtin_expect(!MTPOOL_INLINE_OFF_ && n != 0 &&
			     !__atomic_load_n(&mtpool_get_semaphore, __ATOMIC_RELAXED), 1)) {
		void *obj = c->items[n - 1];

		__atomic_store_n(&c->count, n - 1, __ATOMIC_RELAXED);
		__atomic_store_n(&c->gets, c->gets + 1, __ATOMIC_RELAXED);
		return obj;
	}
	return (mtpool_get)(p);
}

static inline __attribute__((always_inline))
void mtpool_put_inline(mtpool *p, void *obj)
{
	struct mtpool_tcache_abi *c = (struct mtpool_tcache_abi *)__atomic_load_n(
		&mtpool_tls_caches[((const struct mtpool_abi *)p)->inline_idx],
		__ATOMIC_RELAXED);
	uint32_t n = c->count;

	if (__builtin_expect(!MTPOOL_INLINE_OFF_ && n < c->put_cap && obj != NULL &&
			     !__atomic_load_n(&mtpool_put_semaphore, __ATOMIC_RELAXED), 1)) {
		c->items[n] = obj;
		__atomic_store_n(&c->count, n + 1, __ATOMIC_RELAXED);
		return;
	}
	(mtpool_put)(p, obj);
}

#ifndef MTPOOL_NO_INLINE
#define mtpool_get(p) mtpool_get_inline(p)
#define mtpool_put(p, obj) mtpool_put_inline((p), (obj))
#endif

/* ------------------------------------------- 2. size-class allocator */

typedef struct mtpool_sc mtpool_sc;

/*
 * Size classes: 8 B steps up to 128 B, then 8 classes per power of two up
 * to 32 KiB (the top 4 bits of the size, as mimalloc uses the top 3). A
 * request rounds up by less than 1/8 of itself, so internal fragmentation
 * stays under 12.5% from 64 B on; below 64 B the 8-byte granularity costs
 * at most 7 bytes. Finer classes would cut that waste but spread objects
 * over more half-empty pages; coarser ones (jemalloc's 4 per doubling,
 * up to 25%) cost more RSS than they save in pages.
 */
#define MTPOOL_SC_MAX 32768u   /* larger requests are mmap()ed directly */

/**
 * struct mtpool_sc_opts - options; zero means default.
 * @name:   for stats, probes and reports (default "mtpool_sc")
 * @flags:  MTPOOL_F_DEBUG: checks the owner on free, detects double free
 *          and writes after free (for sizes >= 16) by poisoning
 * @budget: byte budget on pages and large blocks taken from the system
 */
struct mtpool_sc_opts {
	const char *name;
	unsigned flags;
	struct mtpool_budget budget;
};

/**
 * mtpool_sc_create() - create a size-class allocator with its own memory.
 * @opts: options, may be NULL
 *
 * Return: the allocator or NULL (errno ENOMEM). Thread-safe.
 */
MTPOOL_API mtpool_sc *mtpool_sc_create(const struct mtpool_sc_opts *opts) MTPOOL_WUR;

/**
 * mtpool_sc_destroy() - unmap all memory of @sc, including blocks not freed.
 * @sc: the allocator, or NULL. Not thread-safe against other calls on @sc.
 */
MTPOOL_API void mtpool_sc_destroy(mtpool_sc *sc);

/**
 * mtpool_sc_malloc() - allocate @size bytes (0 gives a minimal block).
 *
 * Return: 8-byte aligned memory (16-byte for classes that are multiples of
 * 16 and above MTPOOL_SC_MAX), owned by the caller until
 * mtpool_sc_free(); NULL when out of memory or over budget. Thread-safe.
 */
MTPOOL_API void *mtpool_sc_malloc(mtpool_sc *sc, size_t size)
	MTPOOL_MALLOC MTPOOL_ALLOC_SIZE(2);

/** mtpool_sc_calloc() - zeroed @n * @size bytes; NULL on overflow or OOM. */
MTPOOL_API void *mtpool_sc_calloc(mtpool_sc *sc, size_t n, size_t size)
	MTPOOL_MALLOC MTPOOL_ALLOC_SIZE(2, 3);

/**
 * mtpool_sc_realloc() - resize a block, keeping its contents.
 * @ptr:  block from @sc, or NULL (then like mtpool_sc_malloc())
 * @size: new size; 0 frees @ptr and returns NULL
 *
 * Return: the block (possibly moved) or NULL, in which case @ptr is still
 * valid and owned by the caller. Thread-safe.
 */
MTPOOL_API void *mtpool_sc_realloc(mtpool_sc *sc, void *ptr, size_t size)
	MTPOOL_WUR MTPOOL_ALLOC_SIZE(3);

/**
 * mtpool_sc_free() - free a block from mtpool_sc_malloc/calloc/realloc.
 * @sc:  the allocator that returned @ptr (checked in debug mode only)
 * @ptr: the block, or NULL
 *
 * Any thread may free any block; it goes to the freeing thread's cache.
 */
MTPOOL_API void mtpool_sc_free(mtpool_sc *sc, void *ptr);

/** mtpool_sc_usable_size() - bytes usable at @ptr (its class size). */
MTPOOL_API size_t mtpool_sc_usable_size(mtpool_sc *sc, const void *ptr);

/** mtpool_sc_class_size() - the size a request of @size rounds up to;
 * @size itself above MTPOOL_SC_MAX. Pure function. */
MTPOOL_API size_t mtpool_sc_class_size(size_t size);

/** mtpool_sc_stats() - fill @st. misses count blocks carved from fresh
 * pages (a batch at a time) and large mappings; hits = gets - misses. */
MTPOOL_API void mtpool_sc_stats(mtpool_sc *sc, struct mtpool_stats *st);

/* ---------------------------------------- 3. block and multi-level pools */

typedef struct mtpool_block mtpool_block;

/**
 * struct mtpool_block_opts - options; zero means default.
 * @name, @align, @max_cached, @thread_cache, @budget: as in mtpool_opts
 * @flags: MTPOOL_F_ZERO_ON_RELEASE makes every block handed out all zero
 *         (new blocks are calloc()ed, released ones memset, costing about
 *         1 ns per 64 bytes on put); MTPOOL_F_DEBUG
 */
struct mtpool_block_opts {
	const char *name;
	size_t align;
	size_t max_cached;
	unsigned thread_cache;
	unsigned flags;
	struct mtpool_budget budget;
};

/**
 * mtpool_block_create() - pool of @block_size-byte blocks.
 * Return: the pool or NULL (errno EINVAL or ENOMEM). Thread-safe.
 */
MTPOOL_API mtpool_block *mtpool_block_create(size_t block_size,
					     const struct mtpool_block_opts *opts) MTPOOL_WUR;
/** mtpool_block_get() - a block or NULL when out of memory. Thread-safe. */
MTPOOL_API void *mtpool_block_get(mtpool_block *bp) MTPOOL_MALLOC;
/** mtpool_block_put() - return a block (NULL ignored). Thread-safe. */
MTPOOL_API void mtpool_block_put(mtpool_block *bp, void *block);
/** mtpool_block_size() - the block size. */
MTPOOL_API size_t mtpool_block_size(const mtpool_block *bp);
/** mtpool_block_destroy() - free the pool and its cached blocks. */
MTPOOL_API void mtpool_block_destroy(mtpool_block *bp);
/** mtpool_block_stats() - fill @st. Thread-safe. */
MTPOOL_API void mtpool_block_stats(mtpool_block *bp, struct mtpool_stats *st);

typedef struct mtpool_ml mtpool_ml;

/**
 * mtpool_ml_create() - a set of block pools, one per level size.
 * @sizes:   strictly increasing block sizes, or NULL for 64 B .. 64 KiB in
 *           powers of two
 * @nlevels: entries in @sizes (1..32), ignored when @sizes is NULL
 * @opts:    options applied to every level (name gets a "/SIZE" suffix;
 *           the budget applies to each level separately)
 *
 * The levels never change after creation, so picking one takes no lock.
 * Return: the pool or NULL (errno EINVAL or ENOMEM). Thread-safe.
 */
MTPOOL_API mtpool_ml *mtpool_ml_create(const size_t *sizes, unsigned nlevels,
				       const struct mtpool_block_opts *opts) MTPOOL_WUR;
/**
 * mtpool_ml_get() - a block of at least @size bytes from the smallest level
 * that fits; sizes above the largest level come from malloc().
 * Return: the block or NULL when out of memory. Thread-safe.
 */
MTPOOL_API void *mtpool_ml_get(mtpool_ml *ml, size_t size) MTPOOL_MALLOC MTPOOL_ALLOC_SIZE(2);
/** mtpool_ml_put() - return a block; @size must be the size asked for. */
MTPOOL_API void mtpool_ml_put(mtpool_ml *ml, void *block, size_t size);
/** mtpool_ml_level_size() - block size serving @size, or 0 if none. */
MTPOOL_API size_t mtpool_ml_level_size(const mtpool_ml *ml, size_t size);
/** mtpool_ml_destroy() - destroy all levels. */
MTPOOL_API void mtpool_ml_destroy(mtpool_ml *ml);
/** mtpool_ml_stats() - counters summed over levels and malloc()ed blocks. */
MTPOOL_API void mtpool_ml_stats(mtpool_ml *ml, struct mtpool_stats *st);

/* ------------------------------------------------------ 4. buffer pool */

typedef struct mtpool_bufpool mtpool_bufpool;
typedef struct mtpool_buf mtpool_buf;

/**
 * struct mtpool_bufpool_opts - options; zero means default.
 * @name:         as in mtpool_opts (default "mtpool_buf")
 * @initial_cap:  capacity of a buffer's first allocation (default 256)
 * @max_keep_cap: released buffers keep at most this capacity (default
 *                64 KiB); bigger ones are shrunk so one huge message does
 *                not pin memory in the cache forever
 * @max_cached:   bound on cached buffers (default unbounded)
 * @flags:        MTPOOL_F_DEBUG
 * @budget:       byte budget on buffer capacity
 */
struct mtpool_bufpool_opts {
	const char *name;
	size_t initial_cap;
	size_t max_keep_cap;
	size_t max_cached;
	unsigned flags;
	struct mtpool_budget budget;
};

/** mtpool_bufpool_create() - Return: the pool or NULL (errno). Thread-safe. */
MTPOOL_API mtpool_bufpool *mtpool_bufpool_create(const struct mtpool_bufpool_opts *opts) MTPOOL_WUR;
/** mtpool_bufpool_destroy() - free the pool and cached buffers. */
MTPOOL_API void mtpool_bufpool_destroy(mtpool_bufpool *bp);
/** mtpool_bufpool_stats() - fill @st; bytes_reserved is total capacity. */
MTPOOL_API void mtpool_bufpool_stats(mtpool_bufpool *bp, struct mtpool_stats *st);

/**
 * mtpool_buf_acquire() - an empty buffer (len 0), with the capacity it had
 * when last released. The caller owns it until mtpool_buf_release().
 * Return: the buffer or NULL when out of memory. Thread-safe.
 */
MTPOOL_API mtpool_buf *mtpool_buf_acquire(mtpool_bufpool *bp) MTPOOL_WUR;
/**
 * mtpool_buf_release() - give the buffer back to its pool (NULL ignored).
 * Pointers from mtpool_buf_data() become invalid. Thread-safe.
 */
MTPOOL_API void mtpool_buf_release(mtpool_buf *b);
/**
 * mtpool_buf_append() - append @n bytes, growing by doubling.
 * Return: 0 or -ENOMEM (buffer unchanged). Calling this or any other
 * mtpool_buf_* function on a released buffer is a bug that every build
 * (not only debug mode) reports as "use of a released buffer" to the error
 * handler: the default handler aborts; only if a handler set with
 * mtpool_set_error_handler() returns does the call do nothing and return
 * -EINVAL (as the other int-returning mtpool_buf_* functions do).
 * A buffer is used by one thread at a time (no internal locking).
 */
MTPOOL_API int mtpool_buf_append(mtpool_buf *b, const void *data, size_t n);
/** mtpool_buf_appendf() - append printf-formatted text; 0 or -errno. */
MTPOOL_API int mtpool_buf_appendf(mtpool_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** mtpool_buf_vappendf() - va_list form of mtpool_buf_appendf(). */
MTPOOL_API int mtpool_buf_vappendf(mtpool_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/** mtpool_buf_reserve() - make room for @n more bytes; 0 or -errno. */
MTPOOL_API int mtpool_buf_reserve(mtpool_buf *b, size_t n);
/** mtpool_buf_reset() - set the length to 0, keeping the capacity. */
MTPOOL_API void mtpool_buf_reset(mtpool_buf *b);
/** mtpool_buf_data() - the bytes, always NUL-terminated (the terminator is
 * written here, not by each append); valid until the next
 * append/reserve/release. Never NULL for an acquired buffer. */
MTPOOL_API char *mtpool_buf_data(const mtpool_buf *b);
/** mtpool_buf_len() - bytes appended since acquire or reset. */
MTPOOL_API size_t mtpool_buf_len(const mtpool_buf *b);
/** mtpool_buf_cap() - bytes that fit without growing. */
MTPOOL_API size_t mtpool_buf_cap(const mtpool_buf *b);

/* ---------------------------------- 5. reference-counted zero-copy buffers */

typedef struct mtpool_refbuf mtpool_refbuf;

/** Bytes of a block that mtpool_refbuf_new() uses for its header. */
#define MTPOOL_REFBUF_HEADER 64u

/**
 * mtpool_refbuf_new() - a buffer of @len bytes with one reference.
 * @bp:  block pool to take the memory from (header and data share one
 *       block, so @len must be <= block size - MTPOOL_REFBUF_HEADER), or
 *       NULL for malloc()
 * @len: data length
 *
 * Return: the buffer (contents undefined; zero if @bp zeroes on release),
 * or NULL with errno EINVAL (@len too big for @bp) or ENOMEM. Thread-safe.
 */
MTPOOL_API mtpool_refbuf *mtpool_refbuf_new(mtpool_block *bp, size_t len) MTPOOL_WUR;
/**
 * mtpool_refbuf_slice() - a view of @len bytes at @off inside @b, sharing
 * its memory (no copy). The slice holds a reference on the memory, so it
 * stays valid after @b is released.
 * Return: the slice with one reference, or NULL with errno ERANGE (out of
 * bounds), EINVAL (@b released: reported as "use of a released buffer",
 * so with the default error handler this aborts) or ENOMEM. Thread-safe.
 */
MTPOOL_API mtpool_refbuf *mtpool_refbuf_slice(mtpool_refbuf *b, size_t off, size_t len) MTPOOL_WUR;
/** mtpool_refbuf_ref() - take one more reference (atomic); returns @b. */
MTPOOL_API mtpool_refbuf *mtpool_refbuf_ref(mtpool_refbuf *b);
/**
 * mtpool_refbuf_unref() - drop one reference (NULL ignored). The last
 * reference to the memory returns it to its block pool or frees it.
 * Thread-safe; a release barrier orders this thread's writes before the
 * memory is reused.
 */
MTPOOL_API void mtpool_refbuf_unref(mtpool_refbuf *b);
/** mtpool_refbuf_data() - the bytes of @b (a slice points into its parent). */
MTPOOL_API void *mtpool_refbuf_data(const mtpool_refbuf *b);
/** mtpool_refbuf_len() - length of @b. */
MTPOOL_API size_t mtpool_refbuf_len(const mtpool_refbuf *b);
/** mtpool_refbuf_refcount() - references to @b itself (racy snapshot). */
MTPOOL_API unsigned long mtpool_refbuf_refcount(const mtpool_refbuf *b);

/* --------------------------------------------- 6. memory-mapped files */

typedef struct mtpool_mmap mtpool_mmap;

#define MTPOOL_MMAP_RDONLY 0x0u
#define MTPOOL_MMAP_RDWR   0x1u
#define MTPOOL_MMAP_CREATE 0x2u /* with RDWR: create if missing (mode 0644) */

/**
 * mtpool_mmap_open() - map @path shared.
 * @path:  file to map
 * @flags: MTPOOL_MMAP_RDONLY or MTPOOL_MMAP_RDWR, optionally | CREATE
 * @size:  with RDWR, grow the file to at least this size (0: keep)
 * @out:   receives the mapping, owned by the caller
 *
 * Return: 0, -EINVAL, or the errno of open/fstat/ftruncate/mmap.
 * An empty file maps to no memory; every read_at of length > 0 fails.
 */
MTPOOL_API int mtpool_mmap_open(const char *path, unsigned flags, size_t size,
				mtpool_mmap **out) MTPOOL_WUR;
/**
 * mtpool_mmap_read_at() - a zero-copy view of @len bytes at @off.
 * @view: receives a pointer into the mapping, valid until grow or close
 * Return: 0, or -ERANGE when [@off, @off + @len) is outside the file.
 * Thread-safe against other read_at/write_at, not against grow/close.
 */
MTPOOL_API int mtpool_mmap_read_at(const mtpool_mmap *m, size_t off, size_t len,
				   const void **view) MTPOOL_WUR;
/**
 * mtpool_mmap_write_at() - copy @len bytes to @off.
 * Return: 0, -EROFS on a read-only mapping, -ERANGE when the range is
 * outside the file (grow it first). Same thread safety as read_at.
 */
MTPOOL_API int mtpool_mmap_write_at(mtpool_mmap *m, size_t off, const void *data,
				    size_t len) MTPOOL_WUR;
/** mtpool_mmap_sync() - msync() the whole mapping; 0, -EROFS or -errno. */
MTPOOL_API int mtpool_mmap_sync(mtpool_mmap *m);
/**
 * mtpool_mmap_grow() - extend the file and the mapping to @new_size (a
 * smaller size is a no-op). The mapping may move: earlier views are invalid.
 * Return: 0, -EROFS, or the errno of ftruncate/mremap. Not thread-safe.
 */
MTPOOL_API int mtpool_mmap_grow(mtpool_mmap *m, size_t new_size) MTPOOL_WUR;
/** mtpool_mmap_size() - current size in bytes. */
MTPOOL_API size_t mtpool_mmap_size(const mtpool_mmap *m);
/** mtpool_mmap_close() - unmap and close (NULL ignored); no implicit sync. */
MTPOOL_API void mtpool_mmap_close(mtpool_mmap *m);

/* --------------------------------------------------- 7. resource pool */

typedef struct mtpool_res mtpool_res;

/**
 * struct mtpool_res_ops - how to make, check and drop a handle. Called
 * without the pool's lock held, possibly from several threads at once.
 * @create:   store a new handle in *@res; return 0 or -errno. Required.
 * @validate: return 0 if an idle handle is still usable (e.g. the socket
 *            is not closed by the peer); nonzero destroys it. May be NULL.
 * @destroy:  release a handle. May be NULL.
 * @arg:      passed to every callback
 */
struct mtpool_res_ops {
	int (*create)(void *arg, void **res);
	int (*validate)(void *arg, void *res);
	void (*destroy)(void *arg, void *res);
	void *arg;
};

/**
 * struct mtpool_res_opts - options; zero means default.
 * @name:     as in mtpool_opts (default "mtpool_res")
 * @max_open: bound on handles in use plus idle (default unbounded)
 * @max_idle: idle handles kept (default 8); extra released ones are destroyed
 */
struct mtpool_res_opts {
	const char *name;
	unsigned max_open;
	unsigned max_idle;
};

/** mtpool_res_create() - Return: the pool or NULL (errno EINVAL, ENOMEM). */
MTPOOL_API mtpool_res *mtpool_res_create(const struct mtpool_res_ops *ops,
					 const struct mtpool_res_opts *opts) MTPOOL_WUR;
/**
 * mtpool_res_acquire() - an idle valid handle, or a new one.
 * @res:        receives the handle, owned by the caller until release
 * @timeout_ms: how long to wait when max_open handles are in use: 0 fails
 *              at once, < 0 waits forever
 * Return: 0, -EAGAIN (at the bound, @timeout_ms 0), -ETIMEDOUT, or the
 * error create returned. Thread-safe.
 */
MTPOOL_API int mtpool_res_acquire(mtpool_res *rp, void **res, int timeout_ms) MTPOOL_WUR;
/**
 * mtpool_res_release() - give a handle back.
 * @broken: nonzero destroys the handle instead of keeping it idle
 * Thread-safe; wakes one waiter.
 */
MTPOOL_API void mtpool_res_release(mtpool_res *rp, void *res, int broken);
/** mtpool_res_destroy() - destroy idle handles and the pool. Handles still
 * in use must have been released; not thread-safe against other calls. */
MTPOOL_API void mtpool_res_destroy(mtpool_res *rp);
/** mtpool_res_stats() - fill @st; hits are idle reuses, misses creations. */
MTPOOL_API void mtpool_res_stats(mtpool_res *rp, struct mtpool_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* MTPOOL_H */
