/* SPDX-License-Identifier: BSD-2-Clause */
/* Private: the object pool as the block pool and buffer pool reuse it. */
#ifndef MTPOOL_OBJPOOL_H
#define MTPOOL_OBJPOOL_H

#include "internal.h"

/* Internal flag: objects are all-zero when handed out (block pools). */
#define MT_OBJ_ZERO 0x100u
/* Internal flag: the pool is a block pool's (the create probe's kind). */
#define MT_OBJ_BLOCK 0x200u

MT_HIDDEN mtpool *mtpool__objpool_create(size_t obj_size, const struct mtpool_opts *opts,
					 unsigned iflags);
/* Debug pools only: name of the pool @obj belongs to, or "?". */
MT_HIDDEN const char *mtpool__objpool_owner_name(const void *obj);

#endif /* MTPOOL_OBJPOOL_H */
