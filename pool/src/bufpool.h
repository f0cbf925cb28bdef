/* SPDX-License-Identifier: BSD-2-Clause */
/* Private: the buffer pool's structs, which objpool.c's layout record
 * describes to a tracer (the data blocks and the budget of the buffers). */
#ifndef MTPOOL_BUFPOOL_H
#define MTPOOL_BUFPOOL_H

#include "internal.h"

#define BUF_LIVE     0x4255464cu
#define BUF_RELEASED 0x42554652u

struct mtpool_buf {
	uint32_t state;
	char *data;
	size_t len, cap;             /* cap excludes the NUL byte's slot */
	struct mtpool_bufpool *pool;
};

struct mtpool_bufpool {
	mtpool *bufs;
	size_t initial_cap, keep_cap;
	struct mt_budget budget;
	char name[MT_NAME_MAX];
};

#endif /* MTPOOL_BUFPOOL_H */
