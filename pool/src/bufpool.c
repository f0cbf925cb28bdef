// SPDX-License-Identifier: BSD-2-Clause
/*
 * Buffer pool: growable byte buffers kept with their capacity.
 *
 * The buffer headers live in an object pool (so acquire/release have its
 * lock-free thread-cache fast path); the destructor frees the data. A
 * released buffer keeps its allocation up to max_keep_cap, so the steady
 * state of "build a message, send it, release" does no malloc at all and
 * costs the memcpy of the appends plus a few nanoseconds.
 *
 * Each header carries a state word: functions called on a released buffer
 * report "use of a released buffer" instead of writing into memory another
 * thread may own. In debug mode the header is also poisoned on release.
 *
 * The NUL terminator is written lazily, by mtpool_buf_data() (the only way
 * to see the bytes), not by every append: an append that fits is one
 * compare-and-branch (state, room and n == 0 folded together), a memcpy
 * and a store of len, so appending a large chunk costs the memcpy plus
 * about 2 ns of call and checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "objpool.h"
#include "probes.h"


/* Data of a buffer that never grew: "" without an allocation. Never
 * written (several threads share it), hence buf_terminate(). */
static char mt_empty[1];

static void buf_terminate(struct mtpool_buf *b)
{
	if (b->cap)
		b->data[b->len] = '\0';
}

static void buf_dtor(void *obj, void *arg)
{
	struct mtpool_buf *b = obj;
	struct mtpool_bufpool *bp = arg;

	if (b->cap)
		mtpool__budget_uncharge(&bp->budget, b->cap + 1);
	if (b->data != mt_empty)
		free(b->data);
	b->data = mt_empty;
	b->cap = 0;
}

static int buf_ctor(void *obj, void *arg)
{
	struct mtpool_buf *b = obj;

	b->data = mt_empty;
	b->len = b->cap = 0;
	b->pool = arg;
	b->state = BUF_RELEASED;
	return 0;
}

mtpool_bufpool *mtpool_bufpool_create(const struct mtpool_bufpool_opts *opts)
{
	struct mtpool_opts o = { 0 };
	mtpool_bufpool *bp = calloc(1, sizeof(*bp));

	if (!bp)
		return NULL;
	mtpool__copy_name(bp->name, opts ? opts->name : NULL, "mtpool_buf");
	bp->initial_cap = opts && opts->initial_cap ? opts->initial_cap : 256;
	bp->keep_cap = opts && opts->max_keep_cap ? opts->max_keep_cap : 65536;
	mtpool__budget_init(&bp->budget, opts ? &opts->budget : NULL, bp->name);
	o.name = bp->name;
	o.max_cached = opts ? opts->max_cached : 0;
	o.flags = opts ? opts->flags & MTPOOL_F_DEBUG : 0;
	o.ctor = buf_ctor;
	o.dtor = buf_dtor;
	o.cb_arg = bp;
	bp->bufs = mtpool__objpool_create(sizeof(struct mtpool_buf), &o, MT_OBJ_BUF);
	if (!bp->bufs) {
		int err = errno;

		free(bp);
		errno = err;
		return NULL;
	}
	return bp;
}

void mtpool_bufpool_destroy(mtpool_bufpool *bp)
{
	if (!bp)
		return;
	mtpool_destroy(bp->bufs);
	free(bp);
}

void mtpool_bufpool_stats(mtpool_bufpool *bp, struct mtpool_stats *st)
{
	mtpool_stats(bp->bufs, st);
	st->bytes_reserved += MT_RD(bp->budget.used);
	st->budget_denied += MT_RD(bp->budget.denied);
}

mtpool_buf *mtpool_buf_acquire(mtpool_bufpool *bp)
{
	struct mtpool_buf *b = mtpool_get(bp->bufs);

	if (!b)
		return NULL;
	b->state = BUF_LIVE;
	b->len = 0;
	return b;
}

static int buf_check(const struct mtpool_buf *b)
{
	if (likely(b->state == BUF_LIVE))
		return 0;
	/* A debug pool poisoned the whole header; its owner is still known. */
	mtpool__report("use of a released buffer",
		       b->state == BUF_RELEASED ? b->pool->name : mtpool__objpool_owner_name(b), b);
	return -EINVAL;
}

void mtpool_buf_release(mtpool_buf *b)
{
	struct mtpool_bufpool *bp;

	if (!b || buf_check(b))
		return;
	bp = b->pool;
	b->state = BUF_RELEASED;
	if (b->cap > bp->keep_cap) {
		/* Shrinking in place is cheap in every malloc we measured; if it
		 * fails the buffer simply keeps its size until next time. */
		char *d = realloc(b->data, bp->keep_cap + 1);

		if (d) {
			mtpool__budget_uncharge(&bp->budget, b->cap - bp->keep_cap);
			b->data = d;
			b->cap = bp->keep_cap;
		}
	}
	mtpool_put(bp->bufs, b);
}

MT_NOINLINE static int buf_grow(struct mtpool_buf *b, size_t need)
{
	struct mtpool_bufpool *bp = b->pool;
	size_t cap = b->cap ? b->cap : bp->initial_cap;
	char *d;

	while (cap < need) {
		if (cap > SIZE_MAX / 4)
			return -ENOMEM;
		cap *= 2;
	}
	if (mtpool__budget_charge(&bp->budget, cap - b->cap + (b->cap ? 0 : 1)))
		return -ENOMEM;
	d = realloc(b->data == mt_empty ? NULL : b->data, cap + 1);
	if (!d) {
		mtpool__budget_uncharge(&bp->budget, cap - b->cap + (b->cap ? 0 : 1));
		return -ENOMEM;
	}
	if (!b->cap)
		d[0] = '\0';
	b->data = d;
	b->cap = cap;
	return 0;
}

int mtpool_buf_reserve(mtpool_buf *b, size_t n)
{
	int err = buf_check(b);

	if (err)
		return err;
	if (n > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	if (b->len + n <= b->cap)
		return 0;
	return buf_grow(b, b->len + n);
}

MT_NOINLINE static int buf_append_slow(struct mtpool_buf *b, const void *data, size_t n)
{
	int err;

	if (unlikely(b->state != BUF_LIVE))
		return buf_check(b);
	if (!n)
		return 0;
	err = mtpool_buf_reserve(b, n);
	if (err)
		return err;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

__attribute__((hot)) int mtpool_buf_append(mtpool_buf *b, const void *data, size_t n)
{
	size_t len = b->len;

	/* n - 1 wraps for n == 0, so one unsigned compare also sends empty
	 * appends (and their possibly NULL @data) to the slow path. */
	if (likely(b->state == BUF_LIVE && n - 1 < b->cap - len)) {
		/* len first: nothing of *b is live across the call, so no
		 * callee-saved registers to push and pop. */
		b->len = len + n;
		memcpy(b->data + len, data, n);
		return 0;
	}
	return buf_append_slow(b, data, n);
}

int mtpool_buf_vappendf(mtpool_buf *b, const char *fmt, va_list ap)
{
	size_t room;
	va_list ap2;
	int n, err = buf_check(b);

	if (err)
		return err;
	room = b->cap - b->len;   /* vsnprintf terminates: no lazy NUL needed */
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap ? room + 1 : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > room) {
		err = buf_grow(b, b->len + (size_t)n);
		if (err) {
			buf_terminate(b);
			return err;
		}
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
	return 0;
}

int mtpool_buf_appendf(mtpool_buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = mtpool_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return err;
}

void mtpool_buf_reset(mtpool_buf *b)
{
	if (buf_check(b))
		return;
	b->len = 0;
	buf_terminate(b);
}

/* Writes the terminator appends leave out: one store, into memory this
 * thread owns (b->data is not const even though *b is). */
char *mtpool_buf_data(const mtpool_buf *b)
{
	if (likely(b->state == BUF_LIVE))
		buf_terminate((struct mtpool_buf *)b);
	return b->data;
}

size_t mtpool_buf_len(const mtpool_buf *b)
{
	return b->len;
}

size_t mtpool_buf_cap(const mtpool_buf *b)
{
	return b->cap;
}
