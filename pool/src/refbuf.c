// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reference-counted zero-copy byte buffers.
 *
 * A root owns memory: its header and data share one allocation (a block
 * from a block pool, or malloc), so creating one is one pool get. A slice
 * is a small header pointing into a root's data; it holds a reference on
 * the root, so the memory outlives every view of it (the seed's Go slice
 * kept no such reference). Slice headers come from an internal object pool.
 * Counts are atomic: ref is a relaxed increment; unref is a release
 * decrement with acquire semantics too, so the thread that drops the last
 * reference sees every other thread's writes before it recycles the memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"

#define RB_LIVE 0x5242554cu
#define RB_DEAD 0x52424446u

struct mtpool_refbuf {
	unsigned long refs;
	uint32_t state;
	uint32_t is_slice;
	char *data;
	size_t len;
	struct mtpool_refbuf *root;   /* slices: the root they keep alive */
	mtpool_block *bp;             /* roots: where the memory goes back */
};
_Static_assert(sizeof(struct mtpool_refbuf) <= MTPOOL_REFBUF_HEADER, "header fits");

static mtpool *rb_slices;
static pthread_once_t rb_once = PTHREAD_ONCE_INIT;

static void rb_init(void)
{
	struct mtpool_opts o = { .name = "mtpool_refbuf_slice" };

	/* Lives for the process; a failure leaves NULL and slices use malloc. */
	rb_slices = mtpool_create(sizeof(struct mtpool_refbuf), &o);
}

static mtpool *slice_pool(void)
{
	pthread_once(&rb_once, rb_init);
	return rb_slices;
}

static int rb_check(const mtpool_refbuf *b, const char *what)
{
	if (likely(b->state == RB_LIVE && __atomic_load_n(&b->refs, __ATOMIC_RELAXED)))
		return 0;
	mtpool__report(what, b->is_slice ? "mtpool_refbuf_slice" : "mtpool_refbuf", b);
	return -EINVAL;
}

mtpool_refbuf *mtpool_refbuf_new(mtpool_block *bp, size_t len)
{
	mtpool_refbuf *b;

	if (bp) {
		if (len > mtpool_block_size(bp) ||
		    mtpool_block_size(bp) - len < MTPOOL_REFBUF_HEADER) {
			errno = EINVAL;
			return NULL;
		}
		b = mtpool_block_get(bp);
	} else {
		if (len > SIZE_MAX - MTPOOL_REFBUF_HEADER) {
			errno = ENOMEM;
			return NULL;
		}
		b = malloc(MTPOOL_REFBUF_HEADER + len);
	}
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->refs = 1;
	b->state = RB_LIVE;
	b->is_slice = 0;
	b->data = (char *)b + MTPOOL_REFBUF_HEADER;
	b->len = len;
	b->root = NULL;
	b->bp = bp;
	MT_PROBE2(buf_ref, b, 1);
	return b;
}

mtpool_refbuf *mtpool_refbuf_ref(mtpool_refbuf *b)
{
	unsigned long n;

	if (rb_check(b, "use of a released buffer"))
		return b;
	n = __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	MT_PROBE2(buf_ref, b, n);
	return b;
}

static void rb_free(mtpool_refbuf *b)
{
	b->state = RB_DEAD;
	if (b->is_slice) {
		mtpool_refbuf *root = b->root;
		mtpool *sp = slice_pool();

		if (sp)
			mtpool_put(sp, b);
		else
			free(b);
		mtpool_refbuf_unref(root);
	} else if (b->bp) {
		mtpool_block_put(b->bp, b);
	} else {
		free(b);
	}
}

void mtpool_refbuf_unref(mtpool_refbuf *b)
{
	unsigned long n;

	if (!b || rb_check(b, "double release"))
		return;
	/* acq_rel rather than release + acquire fence: the same code on x86
	 * (lock xadd), and TSan understands it. */
	n = __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	MT_PROBE2(buf_unref, b, n);
	if (n)
		return;
	rb_free(b);
}

mtpool_refbuf *mtpool_refbuf_slice(mtpool_refbuf *b, size_t off, size_t len)
{
	mtpool_refbuf *root, *s;
	mtpool *sp;

	if (rb_check(b, "use of a released buffer")) {
		errno = EINVAL;
		return NULL;
	}
	if (off > b->len || len > b->len - off) {
		errno = ERANGE;
		return NULL;
	}
	sp = slice_pool();
	s = sp ? mtpool_get(sp) : malloc(sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	/* Slices of slices point at the root: chains stay one level deep. */
	root = b->is_slice ? b->root : b;
	s->refs = 1;
	s->state = RB_LIVE;
	s->is_slice = 1;
	s->data = b->data + off;
	s->len = len;
	s->root = mtpool_refbuf_ref(root);
	s->bp = NULL;
	MT_PROBE2(buf_ref, s, 1);
	return s;
}

void *mtpool_refbuf_data(const mtpool_refbuf *b)
{
	return b->data;
}

size_t mtpool_refbuf_len(const mtpool_refbuf *b)
{
	return b->len;
}

unsigned long mtpool_refbuf_refcount(const mtpool_refbuf *b)
{
	return __atomic_load_n(&b->refs, __ATOMIC_RELAXED);
}
