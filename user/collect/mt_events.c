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
#include "probe/mt_bpf_util.h"

_Static_assert(MT_AGG_MAX_EPS == MT_MAX_EPS, "entry point indexes fit the aggregator");

/* stack key -> site of one aggregator, open addressing (power of two, at
 * most half full): keys are 31-bit hashes, so no array can be indexed by
 * them */
struct stack_cache {
	uint32_t *key;           /* key + 1, 0: empty */
	uint32_t *site;
	uint32_t cap, n;
};

struct mt_events {
	struct ring_buffer *rb;
	struct mt_agg *agg;
	int stacks_fd;
	int counters_fd;
	int calls_fd;            /* sampling mode: calls per ep, else -1 */
	int err;                 /* first error met inside the callback */
	struct stack_cache cache;  /* of agg, when events are not routed */
	uint64_t lost_seen;      /* ring-full drops already given to agg */
	/* Several processes (-f) or images (exec): each event goes to the
	 * aggregator of its tgid, with a stack cache per aggregator (sites
	 * are the aggregator's; stack keys are shared by every process). */
	mt_events_route_fn route;
	void *route_arg;
	unsigned ncaches;
	struct stack_cache *caches;  /* per route slot */
	uint64_t unrouted;       /* events of no traced process */
	mt_events_proc_fn proc;
	void *proc_arg;
};

_Static_assert(MT_AGG_MAX_FRAMES >= MT_STACK_MAX, "the aggregator holds a whole stack");

static uint32_t *cache_slot(struct stack_cache *c, uint32_t key)
{
	uint32_t mask = c->cap - 1, i = (key * 2654435761u) & mask;

	while (c->key[i] && c->key[i] != key + 1)
		i = (i + 1) & mask;
	return &c->key[i];
}

static void cache_put(struct stack_cache *c, uint32_t key, uint32_t site)
{
	uint32_t *slot;

	if ((c->n + 1) * 2 > c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 1024, *ok = c->key, *os = c->site,
			 ocap = c->cap, i;

		c->key = calloc(cap, sizeof(*c->key));
		c->site = calloc(cap, sizeof(*c->site));
		if (!c->key || !c->site) {
			/* no cache: every event looks its stack up */
			free(c->key);
			free(c->site);
			c->key = ok;
			c->site = os;
			return;
		}
		c->cap = cap;
		c->n = 0;
		for (i = 0; i < ocap; i++)
			if (ok[i]) {
				slot = cache_slot(c, ok[i] - 1);
				*slot = ok[i];
				c->site[slot - c->key] = os[i];
				c->n++;
			}
		free(ok);
		free(os);
	}
	slot = cache_slot(c, key);
	if (!*slot)
		c->n++;
	*slot = key + 1;
	c->site[slot - c->key] = site;
}

static void cache_release(struct stack_cache *c)
{
	free(c->key);
	free(c->site);
}

/* The stack cache of route slot i, grown on first use; NULL on ENOMEM. */
static struct stack_cache *cache_of(struct mt_events *e, unsigned i)
{
	if (i >= e->ncaches) {
		unsigned n = i + 8;
		struct stack_cache *grown = realloc(e->caches, n * sizeof(*grown));

		if (!grown)
			return NULL;
		memset(grown + e->ncaches, 0, (n - e->ncaches) * sizeof(*grown));
		e->caches = grown;
		e->ncaches = n;
	}
	return &e->caches[i];
}

/* Site of a walked stack (bpf/unwind.h); frame 0 is the call site. */
static uint32_t site_of_stack(struct mt_agg *agg, const struct mt_stack *st)
{
	uint32_t n = st->nr < MT_STACK_MAX ? st->nr : MT_STACK_MAX, i;
	uint64_t frames[MT_STACK_MAX];

	for (i = 0; i < n; i++)
		frames[i] = st->ip[i];
	return mt_agg_site_end(agg, frames, n, (uint8_t)st->end);
}

/* A stack key always names the same frames (keys are never freed), so one
 * map lookup per distinct stack and aggregator is enough. A stack that
 * collided in the map comes inline; a failed capture still yields the
 * call site. */
static uint32_t site_of(struct mt_events *e, struct mt_agg *agg, struct stack_cache *c,
			const struct mt_heap_event *ev, const struct mt_stack *inline_stack)
{
	struct mt_stack st;
	uint32_t site, *slot;

	if (inline_stack)
		return site_of_stack(agg, inline_stack);   /* interned by content */
	if (ev->stack_id >= 0 && c->cap) {
		slot = cache_slot(c, (uint32_t)ev->stack_id);
		if (*slot)
			return c->site[slot - c->key];
	}
	if (ev->stack_id >= 0 && e->stacks_fd >= 0 &&
	    bpf_map_lookup_elem(e->stacks_fd, &ev->stack_id, &st) == 0 &&
	    st.nr > 0) {
		site = site_of_stack(agg, &st);
		if (site != MT_SITE_NONE)
			cache_put(c, (uint32_t)ev->stack_id, site);
		return site;
	}
	{
		uint64_t cs = ev->callsite;

		return mt_agg_site(agg, &cs, cs ? 1 : 0);
	}
}

int mt_events_record(struct mt_events *e, const void *data, size_t len)
{
	const struct mt_heap_event *ev = data;
	struct stack_cache *cache = &e->cache;
	struct mt_agg *agg = e->agg;
	uint32_t site = MT_SITE_NONE;
	unsigned slot;
	int err;

	if (len < sizeof(*ev))
		return 0;   /* never from heap.bpf.c, whose records are fixed */
	if (ev->flags & MT_EV_F_PROC) {
		if (e->proc)
			e->proc(e->proc_arg, ev->kind, ev->tgid, ev->arg0);
		return 0;
	}
	if (e->route) {
		agg = e->route(e->route_arg, ev->tgid, &slot);
		if (!agg) {
			e->unrouted++;
			return 0;
		}
		cache = cache_of(e, slot);
		if (!cache) {
			e->err = -ENOMEM;
			return 0;
		}
	}
	/* A sampled realloc whose new block was not sampled carries no stack:
	 * its block is not recorded, so it needs no site. */
	if (ev->kind != MT_K_FREE && ev->ret && !(ev->flags & MT_EV_F_UNSAMPLED)) {
		const struct mt_stack *inl = NULL;

		if ((ev->flags & MT_EV_F_INLINE_STACK) && len >= sizeof(struct mt_heap_event_stack))
			inl = &((const struct mt_heap_event_stack *)data)->stack;
		site = site_of(e, agg, cache, ev, inl);
	}
	/* Only running out of memory stops tracing; a malformed record
	 * (-EINVAL) is counted by the rules and skipped. */
	err = mt_rules_apply(agg, ev, site);
	if (err == -ENOMEM && !e->err)
		e->err = err;
	return err == -ENOMEM ? err : 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	mt_events_record(ctx, data, len);
	return 0;   /* keep draining: the first error is in e->err */
}

int mt_events_new(int ringbuf_fd, int stacks_fd, int counters_fd, struct mt_agg *agg,
		  struct mt_events **out)
{
	struct mt_events *e;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->agg = agg;
	e->stacks_fd = stacks_fd;
	e->counters_fd = counters_fd;
	e->calls_fd = -1;
	if (ringbuf_fd >= 0 && !(e->rb = ring_buffer__new(ringbuf_fd, on_event, e, NULL))) {
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
	return e->rb ? ring_buffer__epoll_fd(e->rb) : -EBADF;
}

int mt_events_set_sampling(struct mt_events *e, int calls_fd, uint64_t mean_bytes)
{
	int err = mt_agg_set_sampling(e->agg, mean_bytes);

	if (err)
		return err;
	e->calls_fd = mean_bytes ? calls_fd : -1;
	return 0;
}

void mt_events_set_route(struct mt_events *e, mt_events_route_fn fn, void *arg)
{
	e->route = fn;
	e->route_arg = arg;
}

void mt_events_set_agg(struct mt_events *e, struct mt_agg *agg)
{
	e->agg = agg;
}

void mt_events_set_proc(struct mt_events *e, mt_events_proc_fn fn, void *arg)
{
	e->proc = fn;
	e->proc_arg = arg;
}

uint64_t mt_events_unrouted(const struct mt_events *e)
{
	return e->unrouted;
}

/* Hand calls the kernel side could not deliver to the aggregator, which
 * marks the sites they may have touched. Called right after a drain, so
 * every event before the loss has been applied. Three map reads. */
static int sync_lost(struct mt_events *e, uint64_t *rb_full, uint64_t *state_full)
{
	uint64_t lost;
	int err;

	err = mt_bpf_percpu_sum(e->counters_fd, MT_C_RB_FULL, rb_full);
	if (!err)
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_STATE_FULL, state_full);
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
	int n = e->rb ? ring_buffer__consume(e->rb) : 0;

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
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_STACK_FAIL, &d->stack_fail);
	if (!err)
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_FREE_UNSAMPLED, &d->free_unsampled);
	if (!err)
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_SAMPLED_FULL, &d->sampled_full);
	if (!err)
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_CHILDREN, &d->children);
	if (!err)
		err = mt_bpf_percpu_sum(e->counters_fd, MT_C_EXEC_LOST, &d->exec_lost);
	/* Sampling: every call was counted in BPF, sampled or not. */
	for (ep = 0; !err && e->calls_fd >= 0 && ep < MT_MAX_EPS && ep < MT_AGG_MAX_EPS; ep++) {
		err = mt_bpf_percpu_sum(e->calls_fd, ep, &n);
		if (!err)
			mt_agg_set_calls(e->agg, ep, n);
		if (!err)
			err = mt_bpf_percpu_sum(e->calls_fd, MT_CALLS_INTERNAL + ep, &n);
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
	cache_release(&e->cache);
	for (unsigned i = 0; i < e->ncaches; i++)
		cache_release(&e->caches[i]);
	free(e->caches);
	free(e);
}
