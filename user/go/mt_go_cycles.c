// SPDX-License-Identifier: BSD-2-Clause
/*
 * The bounded record of a Go target's GC cycles (see mt_go_cycles.h).
 * Nothing here grows with the run: a ring of the last cycles, counters,
 * and a heap timeline whose resolution halves each time it fills.
 */
#include "util/mt_json.h"
#include "go/mt_go_cycles.h"

static unsigned bucket(uint64_t ns)
{
	return ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;
}

static void runtime_pause(struct mt_go_cycles *cy, uint64_t ns)
{
	cy->rt_count++;
	cy->rt_pause_ns += ns;
	if (ns > cy->rt_max_ns)
		cy->rt_max_ns = ns;
}

static struct mt_go_heap_point heap_point(const struct mt_go_gc_cycle *c)
{
	return (struct mt_go_heap_point){ .n = c->n, .end_ns = c->end_ns,
		.heap_start = c->heap_start, .heap_end = c->heap_end,
		.heap_marked = c->heap_marked, .goal = c->goal };
}

/* Cycle i of the run (from 0) is a point when i is a multiple of the
 * stride. Full: every other point goes and the stride doubles, so the
 * points stay evenly spread over the whole run (cycle i, a multiple of
 * the old stride times MT_GO_HEAP_POINTS, is one of the new stride's). */
static void heap_add(struct mt_go_cycles *cy, uint64_t i, const struct mt_go_gc_cycle *c)
{
	size_t k;

	cy->last = heap_point(c);
	if (i & ((1ull << cy->heap_shift) - 1))
		return;
	if (cy->nheap == MT_GO_HEAP_POINTS) {
		for (k = 1; k < MT_GO_HEAP_POINTS / 2; k++)
			cy->heap[k] = cy->heap[2 * k];
		cy->nheap = MT_GO_HEAP_POINTS / 2;
		cy->heap_shift++;
	}
	cy->heap[cy->nheap++] = cy->last;
}

void mt_go_cycles_add(struct mt_go_cycles *cy, const struct mt_go_gc_cycle *c)
{
	uint64_t pause = c->stw1_ns + c->stw2_ns;

	cy->ring[cy->count % MT_GO_CYCLES_KEEP] = *c;
	heap_add(cy, cy->count, c);
	cy->count++;
	cy->pause_ns += pause;
	if (pause > cy->pause_max_ns)
		cy->pause_max_ns = pause;
	cy->hist[bucket(pause)]++;
	if (c->pause_ns)
		runtime_pause(cy, c->pause_ns);
}

size_t mt_go_cycles_kept(const struct mt_go_cycles *cy)
{
	return cy->count < MT_GO_CYCLES_KEEP ? (size_t)cy->count : MT_GO_CYCLES_KEEP;
}

static size_t slot(const struct mt_go_cycles *cy, size_t i)
{
	return (size_t)((cy->count - mt_go_cycles_kept(cy) + i) % MT_GO_CYCLES_KEEP);
}

const struct mt_go_gc_cycle *mt_go_cycles_at(const struct mt_go_cycles *cy, size_t i)
{
	return &cy->ring[slot(cy, i)];
}

void mt_go_cycles_runtime_pauses(struct mt_go_cycles *cy, const struct mt_go_memstats *ms)
{
	size_t i;

	for (i = mt_go_cycles_kept(cy); i-- > 0;) {
		struct mt_go_gc_cycle *c = &cy->ring[slot(cy, i)];

		if (c->n > ms->num_gc)
			continue;   /* ended after this reading */
		if (ms->num_gc - c->n >= MT_GO_PAUSE_RING)
			break;      /* overwritten in the runtime's ring, and all before it */
		if (c->pause_ns)
			continue;
		c->pause_ns = ms->pause_ns[(c->n + MT_GO_PAUSE_RING - 1) % MT_GO_PAUSE_RING];
		if (c->pause_ns)
			runtime_pause(cy, c->pause_ns);
	}
}

static void json_heap_point(struct mt_json *j, const struct mt_go_heap_point *p)
{
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "n", p->n);
	mt_json_key_u64(j, "end_ns", p->end_ns);
	mt_json_key_u64(j, "heap_start", p->heap_start);
	mt_json_key_u64(j, "heap_end", p->heap_end);
	mt_json_key_u64(j, "heap_marked", p->heap_marked);
	mt_json_key_u64(j, "goal", p->goal);
	mt_json_obj_end(j);
}

static void json_cycle(struct mt_json *j, const struct mt_go_gc_cycle *c)
{
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "n", c->n);
	mt_json_key(j, "whole");
	mt_json_bool(j, c->whole);
	mt_json_key_u64(j, "start_ns", c->start_ns);
	mt_json_key_u64(j, "end_ns", c->end_ns);
	mt_json_key_u64(j, "sweep_term_ns", c->stw1_ns);
	mt_json_key_u64(j, "mark_ns", c->mark_ns);
	mt_json_key_u64(j, "mark_term_ns", c->stw2_ns);
	mt_json_key_u64_or_null(j, "runtime_pause_ns", c->pause_ns, c->pause_ns);
	mt_json_key_u64(j, "heap_start", c->heap_start);
	mt_json_key_u64(j, "heap_end", c->heap_end);
	mt_json_key_u64(j, "heap_marked", c->heap_marked);
	mt_json_key_u64(j, "goal", c->goal);
	mt_json_obj_end(j);
}

void mt_go_cycles_json(struct mt_json *j, const struct mt_go_cycles *cy)
{
	size_t i, kept = mt_go_cycles_kept(cy);

	mt_json_key_u64(j, "pause_max_ns", cy->pause_max_ns);
	mt_json_key(j, "pause_hist");
	mt_json_arr_begin(j);
	for (i = 0; i < MT_GO_PAUSE_BUCKETS; i++) {
		if (!cy->hist[i])
			continue;
		mt_json_obj_begin(j);
		mt_json_key_u64(j, "lo_ns", i ? 1ull << i : 0);
		mt_json_key_u64(j, "count", cy->hist[i]);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key_u64(j, "runtime_pauses", cy->rt_count);
	mt_json_key_u64(j, "runtime_pause_total_ns", cy->rt_pause_ns);
	mt_json_key_u64(j, "runtime_pause_max_ns", cy->rt_max_ns);
	mt_json_key_u64(j, "pauses_omitted", cy->count - kept);
	mt_json_key(j, "pauses");
	mt_json_arr_begin(j);
	for (i = 0; i < kept; i++)
		json_cycle(j, mt_go_cycles_at(cy, i));
	mt_json_arr_end(j);
	mt_json_key_u64(j, "heap_timeline_stride", 1ull << cy->heap_shift);
	mt_json_key(j, "heap_timeline");
	mt_json_arr_begin(j);
	for (i = 0; i < cy->nheap; i++)
		json_heap_point(j, &cy->heap[i]);
	/* the newest cycle too, when it fell between two points */
	if ((cy->count - 1) & ((1ull << cy->heap_shift) - 1))
		json_heap_point(j, &cy->last);
	mt_json_arr_end(j);
}
