/* SPDX-License-Identifier: BSD-2-Clause */
/* Private: the object pool as the block pool and buffer pool reuse it. */
#ifndef MTPOOL_OBJPOOL_H
#define MTPOOL_OBJPOOL_H

#include "internal.h"

/* Internal flag: objects are all-zero when handed out (block pools). */
#define MT_OBJ_ZERO 0x100u
/* Internal flag: the pool is a block pool's (the create probe's kind). */
#define MT_OBJ_BLOCK 0x200u
/* Internal flag: the pool holds a buffer pool's headers; opts->cb_arg is
 * the buffer pool (the layout record's buf_pool, for a tracer). */
#define MT_OBJ_BUF 0x400u

MT_HIDDEN mtpool *mtpool__objpool_create(size_t obj_size, const struct mtpool_opts *opts,
					 unsigned iflags);
/* Links of the lists of every pool a late tracer walks (objpool.c,
 * struct mt_trace_root): next and prev point at the pools themselves. */
struct mt_trace_link {
	void *next, *prev;
};
/* Add @obj (whose link is at @link_off) to the list of @kind (0 object
 * pools, 1 size-class allocators), or remove it. Create/destroy only. */
MT_HIDDEN void mtpool__trace_list(unsigned kind, void *obj, size_t link_off, bool add);
/* What the destroy probe passes: the last counters, and the batches moved
 * between thread caches and the shared cache. */
struct mtpool__trace_final {
	struct mtpool_stats st;
	uint64_t refills, flushes;
};

/* The size-class allocator's layout record (sizeclass.c), for the root. */
extern const struct mt_sc_trace_layout mtpool__sc_trace_layout MT_HIDDEN;

/* Debug pools only: name of the pool @obj belongs to, or "?". */
MT_HIDDEN const char *mtpool__objpool_owner_name(const void *obj);

#endif /* MTPOOL_OBJPOOL_H */
