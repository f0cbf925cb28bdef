// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "heap.h"
#include "collect/mt_events.h"
#include "util/mt_log.h"
#include "collect/mt_rules.h"

_Static_assert(MT_AGG_MAX_EPS == MT_MAX_EPS, "entry point indexes fit the aggregator");

struct mt_events {
	struct ring_buffer *rb;
	struct mt_agg *agg;
	int stacks_fd;
	int counters_fd;
	int calls_fd;            /* sampling mode: calls per ep, else -1 */
	int err;                 /* first error met inside the callback */
	uint32_t nstack_ids;     /* capacity of site_of_stack */
	uint32_t *site_of_stack; /* stack id -> site + 1 (0: not seen yet) */
	uint64_t lost_seen;      /* ring-full drops already given to agg */
};

/* A stack id always names the same frames (ids are never freed), so one
 * map lookup per distinct stack is enough. Frame 0 is the call site: the
 * return probe captures the stack where the ip is the return address. A
 * stack that collided in the map comes inline (inline_frames); a failed
 * capture still yields the call site. */
static uint32_t site_of(struct mt_events *e, const struct mt_heap_event *ev,
			const __u64 *inline_frames)
{
	uint64_t frames[MT_AGG_MAX_FRAMES];
	__u64 raw[MT_MAX_STACK_DEPTH] = { 0 };
	uint32_t n = 0, i, site;

	if (inline_frames) {
		/* interned by content: no id to cache it under */
		if (inline_frames[0] != ev->callsite && ev->callsite)
			frames[n++] = ev->callsite;
		for (i = 0; i < MT_MAX_STACK_DEPTH && inline_frames[i] && n < MT_AGG_MAX_FRAMES; i++)
			frames[n++] = inline_frames[i];
		return mt_agg_site(e->agg, frames, n);
	}
	if (ev->stack_id >= 0 && (uint32_t)ev->stack_id < e->nstack_ids &&
	    e->site_of_stack[ev->stack_id])
		return e->site_of_stack[ev->stack_id] - 1;

	if (ev->stack_id >= 0 && bpf_map_lookup_elem(e->stacks_fd, &ev->stack_id, raw) == 0) {
		if (raw[0] != ev->callsite && ev->callsite)
			frames[n++] = ev->callsite;
		for (i = 0; i < MT_MAX_STACK_DEPTH && raw[i] && n < MT_AGG_MAX_FRAMES; i++)
			frames[n++] = raw[i];
	} else if (ev->callsite) {
		frames[n++] = ev->callsite;
	}
	site = mt_agg_site(e->agg, frames, n);
	/* Cache only when the stack alone names the site (its frame 0 is the
	 * call site), so a differing call site can never borrow another's. */
	if (site != MT_SITE_NONE && ev->stack_id >= 0 && (uint32_t)ev->stack_id < e->nstack_ids &&
	    n > 0 && frames[0] == raw[0])
		e->site_of_stack[ev->stack_id] = site + 1;
	return site;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct mt_events *e = ctx;
	const struct mt_heap_event *ev = data;
	uint32_t site = MT_SITE_NONE;
	int err;

	if (len < sizeof(*ev))
		return 0;
	/* A sampled realloc whose new block was not sampled carries no stack:
	 * its block is not recorded, so it needs no site. */
	if (ev->kind != MT_K_FREE && ev->ret && !(ev->flags & MT_EV_F_UNSAMPLED)) {
		const __u64 *frames = NULL;

		if ((ev->flags & MT_EV_F_INLINE_STACK) && len >= sizeof(struct mt_heap_event_stack))
			frames = ((const struct mt_heap_event_stack *)data)->frames;
		site = site_of(e, ev, frames);
	}
	/* Only running out of memory stops tracing; a malformed record
	 * (-EINVAL) is counted by the rules and skipped. */
	err = mt_rules_apply(e->agg, ev, site);
	if (err == -ENOMEM && !e->err)
		e->err = err;
	return 0;
}

int mt_events_new(int ringbuf_fd, int stacks_fd, int counters_fd, struct mt_agg *agg,
		  struct mt_events **out)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct mt_events *e;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->agg = agg;
	e->stacks_fd = stacks_fd;
	e->counters_fd = counters_fd;
	e->calls_fd = -1;
	err = bpf_obj_get_info_by_fd(stacks_fd, &info, &info_len);
	if (err) {
		mt_err("cannot read the stack map's size: %s", strerror(-err));
		goto fail;
	}
	e->nstack_ids = info.max_entries;
	e->site_of_stack = calloc(e->nstack_ids, sizeof(*e->site_of_stack));
	if (!e->site_of_stack) {
		err = -ENOMEM;
		goto fail;
	}
	e->rb = ring_buffer__new(ringbuf_fd, on_event, e, NULL);
	if (!e->rb) {
		err = -errno;
		mt_err("cannot open the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	*out = e;
	return 0;
fail:
	mt_events_free(e);
	return err;
}

int mt_events_poll_fd(const struct mt_events *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int mt_events_set_sampling(struct mt_events *e, int calls_fd, uint64_t mean_bytes)
{
	int err = mt_agg_set_sampling(e->agg, mean_bytes);

	if (err)
		return err;
	e->calls_fd = mean_bytes ? calls_fd : -1;
	return 0;
}

/* Sum the per-CPU slot key of map fd into *sum: 0 or -errno. */
static int percpu_sum(int fd, __u32 key, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	__u64 *vals;

	*sum = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals))
		err = -errno;
	for (c = 0; !err && c < ncpu; c++)
		*sum += vals[c];
	free(vals);
	return err;
}

/* Hand calls the kernel side could not deliver to the aggregator, which
 * marks the sites they may have touched. Called right after a drain, so
 * every event before the loss has been applied. Three map reads. */
static int sync_lost(struct mt_events *e, uint64_t *rb_full, uint64_t *state_full)
{
	uint64_t lost;
	int err;

	err = percpu_sum(e->counters_fd, MT_C_RB_FULL, rb_full);
	if (!err)
		err = percpu_sum(e->counters_fd, MT_C_STATE_FULL, state_full);
	if (err)
		return err;
	lost = *rb_full + *state_full;
	if (lost > e->lost_seen) {
		mt_agg_lost(e->agg, lost - e->lost_seen);
		e->lost_seen = lost;
	}
	return 0;
}

int mt_events_consume(struct mt_events *e)
{
	uint64_t rb_full, state_full;
	int n = ring_buffer__consume(e->rb);

	if (n < 0 && n != -EINTR) {
		mt_err("cannot read events: %s", strerror(-n));
		return n;
	}
	if (e->err) {
		mt_err("cannot record events: %s", strerror(-e->err));
		return e->err;
	}
	if (sync_lost(e, &rb_full, &state_full))
		mt_debug("cannot read the drop counters");
	return n < 0 ? 0 : n;
}

int mt_events_drops(struct mt_events *e, struct mt_drops *d)
{
	uint64_t n;
	__u32 ep;
	int err;

	err = sync_lost(e, &d->ringbuf_full, &d->state_full);
	if (!err)
		err = percpu_sum(e->counters_fd, MT_C_STACK_FAIL, &d->stack_fail);
	if (!err)
		err = percpu_sum(e->counters_fd, MT_C_FREE_UNSAMPLED, &d->free_unsampled);
	if (!err)
		err = percpu_sum(e->counters_fd, MT_C_SAMPLED_FULL, &d->sampled_full);
	/* Sampling: every call was counted in BPF, sampled or not. */
	for (ep = 0; !err && e->calls_fd >= 0 && ep < MT_MAX_EPS && ep < MT_AGG_MAX_EPS; ep++) {
		err = percpu_sum(e->calls_fd, ep, &n);
		if (!err)
			mt_agg_set_calls(e->agg, ep, n);
		if (!err)
			err = percpu_sum(e->calls_fd, MT_CALLS_INTERNAL + ep, &n);
		if (!err)
			mt_agg_set_internal_calls(e->agg, ep, n);
	}
	return err;
}

void mt_events_free(struct mt_events *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	free(e->site_of_stack);
	free(e);
}
