// SPDX-License-Identifier: BSD-2-Clause
/*
 * The bounded record of a Go target's GC cycles (go/mt_go_cycles.h): a
 * run of far more cycles than it keeps lists the last 256 whole, counts
 * every cycle's pause exactly (total, maximum, histogram, the runtime's
 * pauses read once each), and keeps a heap timeline of at most 1024
 * points evenly spread over the run; the JSON says the same.
 */
#include <stdlib.h>
#include "go/mt_go_cycles.h"
#include "util/mt_json.h"
#include "util/mt_json_read.h"
#include "mt_test.h"

/* Cycle n (from 1) of a made-up run: pauses vary, n at the heap. */
static struct mt_go_gc_cycle cycle(uint32_t n)
{
	return (struct mt_go_gc_cycle){ .n = n, .whole = true, .start_ns = 1000ull * n,
		.stw1_ns = 100 + n % 7, .mark_ns = 500, .stw2_ns = 200 + 3ull * (n % 11),
		.end_ns = 1000ull * n + 900, .heap_start = n, .heap_end = 2ull * n,
		.heap_marked = n, .goal = 4ull * n };
}

static uint64_t pause_of(uint32_t n)
{
	return 100 + n % 7 + 200 + 3ull * (n % 11);
}

static struct mt_go_cycles *run(uint32_t ncycles)
{
	struct mt_go_cycles *cy = calloc(1, sizeof(*cy));
	uint32_t n;

	for (n = 1; cy && n <= ncycles; n++) {
		struct mt_go_gc_cycle c = cycle(n);

		mt_go_cycles_add(cy, &c);
	}
	return cy;
}

static void test_few_cycles(void)
{
	struct mt_go_cycles *cy = run(10);
	uint64_t sum = 0;
	size_t i;

	MT_CHECK(cy);
	MT_CHECK_EQ_U64(mt_go_cycles_kept(cy), 10);
	for (i = 0; i < 10; i++) {
		MT_CHECK_EQ_U64(mt_go_cycles_at(cy, i)->n, i + 1);
		sum += pause_of((uint32_t)i + 1);
	}
	MT_CHECK_EQ_U64(cy->pause_ns, sum);
	MT_CHECK_EQ_U64(cy->nheap, 10);
	free(cy);
}

static void test_bounded(void)
{
	const uint32_t total = 3000;
	struct mt_go_cycles *cy = run(total);
	uint64_t sum = 0, max = 0, hist = 0, stride;
	uint32_t n;
	size_t i;

	MT_CHECK(cy);
	for (n = 1; n <= total; n++) {
		sum += pause_of(n);
		max = pause_of(n) > max ? pause_of(n) : max;
	}
	MT_CHECK_EQ_U64(cy->count, total);
	MT_CHECK_EQ_U64(cy->pause_ns, sum);
	MT_CHECK_EQ_U64(cy->pause_max_ns, max);
	for (i = 0; i < MT_GO_PAUSE_BUCKETS; i++)
		hist += cy->hist[i];
	MT_CHECK_EQ_U64(hist, total);
	/* the last 256, oldest first */
	MT_CHECK_EQ_U64(mt_go_cycles_kept(cy), MT_GO_CYCLES_KEEP);
	for (i = 0; i < MT_GO_CYCLES_KEEP; i++)
		MT_CHECK_EQ_U64(mt_go_cycles_at(cy, i)->n, total - MT_GO_CYCLES_KEEP + 1 + i);
	/* the heap: 3000 cycles, halved at 1024 and 2048 points seen: every
	 * 4th cycle from the first */
	stride = 1ull << cy->heap_shift;
	MT_CHECK_EQ_U64(stride, 4);
	MT_CHECK(cy->nheap <= MT_GO_HEAP_POINTS);
	MT_CHECK_EQ_U64(cy->nheap, (total + stride - 1) / stride);
	for (i = 0; i < cy->nheap; i++) {
		MT_CHECK_EQ_U64(cy->heap[i].n, 1 + i * stride);
		MT_CHECK_EQ_U64(cy->heap[i].heap_end, 2 * (1 + i * stride));
	}
	free(cy);
}

/* The runtime's ring holds cycles NumGC-255..NumGC: each read once. */
static void test_runtime_pauses(void)
{
	struct mt_go_cycles *cy = run(600);
	struct mt_go_memstats *ms = calloc(1, sizeof(*ms));
	uint64_t sum = 0;
	uint32_t n;

	MT_CHECK(cy && ms);
	ms->num_gc = 300;   /* read while cycle 300 was the last one ended */
	for (n = 45; n <= 300; n++)
		ms->pause_ns[(n + MT_GO_PAUSE_RING - 1) % MT_GO_PAUSE_RING] = 1000 + n;
	/* kept: 345..600, all ended after that reading */
	mt_go_cycles_runtime_pauses(cy, ms);
	MT_CHECK_EQ_U64(cy->rt_count, 0);
	ms->num_gc = 600;
	for (n = 345; n <= 600; n++) {
		ms->pause_ns[(n + MT_GO_PAUSE_RING - 1) % MT_GO_PAUSE_RING] = 1000 + n;
		sum += 1000 + n;
	}
	mt_go_cycles_runtime_pauses(cy, ms);
	mt_go_cycles_runtime_pauses(cy, ms);
	MT_CHECK_EQ_U64(cy->rt_count, 256);
	MT_CHECK_EQ_U64(cy->rt_pause_ns, sum);
	MT_CHECK_EQ_U64(cy->rt_max_ns, 1600);
	MT_CHECK_EQ_U64(mt_go_cycles_at(cy, 0)->pause_ns, 1345);
	free(ms);
	free(cy);
}

static const struct mt_jv *json_of(const struct mt_go_cycles *cy, struct mt_jv **root)
{
	char *buf = NULL, err[128];
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct mt_json j;
	int rc;

	*root = NULL;
	if (!mem)
		return NULL;
	mt_json_init(&j, mem);
	mt_json_obj_begin(&j);
	mt_go_cycles_json(&j, cy);
	mt_json_obj_end(&j);
	rc = mt_json_finish(&j);
	fclose(mem);
	if (!rc && mt_jv_parse(buf, len, root, err, sizeof(err)))
		fprintf(stderr, "  %s\n", err);
	free(buf);
	return *root;
}

static void test_json(void)
{
	struct mt_go_cycles *cy = run(3001);
	const struct mt_jv *o, *p, *h, *hist;
	struct mt_jv *root;
	uint64_t v, count = 0;
	size_t i;

	MT_CHECK(cy);
	o = json_of(cy, &root);
	MT_CHECK(o);
	p = mt_jv_get(o, "pauses");
	MT_CHECK(p && p->type == MT_JV_ARR);
	MT_CHECK_EQ_U64(p->n, MT_GO_CYCLES_KEEP);
	MT_CHECK(mt_jv_u64(&p->items[p->n - 1], "n", &v) && v == 3001);
	MT_CHECK(mt_jv_u64(o, "pauses_omitted", &v) && v == 3001 - MT_GO_CYCLES_KEEP);
	MT_CHECK(mt_jv_u64(o, "pause_max_ns", &v) && v == cy->pause_max_ns);
	hist = mt_jv_get(o, "pause_hist");
	MT_CHECK(hist && hist->type == MT_JV_ARR && hist->n);
	for (i = 0; i < hist->n; i++)
		MT_CHECK(mt_jv_u64(&hist->items[i], "count", &v) && (count += v));
	MT_CHECK_EQ_U64(count, 3001);
	/* every 4th cycle from the first (751 points), and the last one */
	MT_CHECK(mt_jv_u64(o, "heap_timeline_stride", &v) && v == 4);
	h = mt_jv_get(o, "heap_timeline");
	MT_CHECK(h && h->type == MT_JV_ARR);
	MT_CHECK_EQ_U64(h->n, 751);
	MT_CHECK(mt_jv_u64(&h->items[h->n - 1], "n", &v) && v == 3001);
	mt_jv_free(root);
	/* one more: 3002 falls between two points, and is added at the end */
	{
		struct mt_go_gc_cycle c = cycle(3002);

		mt_go_cycles_add(cy, &c);
	}
	o = json_of(cy, &root);
	MT_CHECK(o);
	h = mt_jv_get(o, "heap_timeline");
	MT_CHECK(h && h->n == 752);
	MT_CHECK(mt_jv_u64(&h->items[750], "n", &v) && v == 3001);
	MT_CHECK(mt_jv_u64(&h->items[751], "n", &v) && v == 3002);
	mt_jv_free(root);
	free(cy);
}

int main(void)
{
	MT_RUN(test_few_cycles);
	MT_RUN(test_bounded);
	MT_RUN(test_runtime_pauses);
	MT_RUN(test_json);
	return mt_test_done();
}
