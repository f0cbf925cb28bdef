// SPDX-License-Identifier: BSD-2-Clause
/*
 * The exactness rules of mt_rules.h, as code. Each event costs one or two
 * live-table operations; nothing here allocates except through mt_agg.
 */
#include <errno.h>
#include "collect/mt_rules.h"

uint64_t mt_rules_size(const struct mt_heap_event *ev)
{
	return mt_req_size(ev->kind, ev->arg0, ev->arg1, ev->arg2);
}

/* realloc and reallocarray: arg0 is the old block. The old block is
 * retired only once the call is known to have succeeded (or, for size 0,
 * to have freed it); a failed realloc leaves it live. */
static int release(struct mt_agg *a, const struct mt_heap_event *ev)
{
	if (ev->flags & MT_EV_F_INTERNAL)
		return mt_agg_release_internal(a, ev->ts_ns, ev->arg0);
	return mt_agg_release(a, ev->ts_ns, ev->arg0);
}

static int apply_realloc(struct mt_agg *a, const struct mt_heap_event *ev,
			 uint64_t size, uint32_t site)
{
	int err;

	if (!ev->ret) {
		if (size == 0) {
			if (ev->arg0)  /* glibc: realloc(p, 0) frees p, returns NULL */
				release(a, ev);
		} else {
			mt_agg_failed(a);
		}
		return 0;
	}
	if (ev->arg0)
		release(a, ev);
	if (ev->flags & MT_EV_F_UNSAMPLED)
		return 0;
	err = mt_agg_alloc(a, ev->ts_ns, ev->ret, size, site);
	return err < 0 ? err : 0;
}

int mt_rules_apply(struct mt_agg *a, const struct mt_heap_event *ev, uint32_t site)
{
	uint64_t size;
	int err;

	mt_agg_set_tid(a, ev->tid);
	if (ev->flags & MT_EV_F_SAMPLING)
		;   /* counted in BPF */
	else if (ev->flags & MT_EV_F_INTERNAL)
		mt_agg_internal_call(a, ev->ep);
	else
		mt_agg_call(a, ev->ep);
	switch (ev->kind) {
	case MT_K_FREE:
		if (ev->arg0)
			release(a, ev);
		return 0;
	case MT_K_REALLOC:
	case MT_K_REALLOCARRAY:
		return apply_realloc(a, ev, mt_rules_size(ev), site);
	case MT_K_MALLOC:
	case MT_K_CALLOC:
	case MT_K_POSIX_MEMALIGN:
	case MT_K_MEMALIGN:
	case MT_K_ALIGNED_ALLOC:
	case MT_K_VALLOC:
	case MT_K_PVALLOC:
		size = mt_rules_size(ev);
		if (!ev->ret) {
			/* malloc(0) may return NULL: not a failure. */
			if (size)
				mt_agg_failed(a);
			return 0;
		}
		if (ev->flags & MT_EV_F_UNSAMPLED)
			return 0;
		err = mt_agg_alloc(a, ev->ts_ns, ev->ret, size, site);
		return err < 0 ? err : 0;
	default:
		return -EINVAL;  /* counted as a call, otherwise ignored */
	}
}
