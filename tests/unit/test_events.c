// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the event reader's per-record decode (mt_events_record),
 * fed ring-buffer records as heap.bpf.c writes them; no BPF is loaded: the
 * reader runs without a ring buffer and without a stack map. */
#include <errno.h>
#include <stdlib.h>
#include <linux/types.h>
#include "heap.h"
#include "collect/mt_events.h"
#include "mt_test.h"

#define START 1000000000ull
#define CALLSITE 0x401000ull

static struct mt_agg *agg;
static struct mt_events *ev_reader;

static void setup(void)
{
	mt_events_free(ev_reader);
	mt_agg_free(agg);
	ev_reader = NULL;
	agg = mt_agg_new(START);
	if (agg && mt_events_new(-1, -1, -1, agg, &ev_reader))
		ev_reader = NULL;
}

static struct mt_heap_event ev(unsigned kind, uint64_t a0, uint64_t a1, uint64_t ret)
{
	static uint64_t ts = START;
	struct mt_heap_event e = {
		.ts_ns = ts += 1000, .arg0 = a0, .arg1 = a1, .ret = ret,
		.callsite = kind == MT_K_FREE ? 0 : CALLSITE, .stack_id = -1, .tid = 7,
		.kind = (__u16)kind,
	};
	return e;
}

static int feed(const struct mt_heap_event *e)
{
	return mt_events_record(ev_reader, e, sizeof(*e));
}

/* The one site holding frames f[0..n), or MT_SITE_NONE. */
static uint32_t site_with(const uint64_t *f, uint32_t n)
{
	uint32_t s;

	for (s = 0; s < mt_agg_nsites(agg); s++) {
		const struct mt_site *st = mt_agg_site_get(agg, s);

		if (st->nframes == n && !memcmp(st->frames, f, n * sizeof(*f)))
			return s;
	}
	return MT_SITE_NONE;
}

#define T (mt_agg_totals(agg))

/* No stack: the call site alone names the site; a free finds the block. */
static void test_callsite_only(void)
{
	struct mt_heap_event m = ev(MT_K_MALLOC, 24, 0, 0x1000), f = ev(MT_K_FREE, 0x1000, 0, 0);
	uint64_t want[] = { CALLSITE };
	uint32_t s;

	setup();
	MT_CHECK(ev_reader);
	MT_CHECK_EQ_U64(feed(&m), 0);
	s = site_with(want, 1);
	MT_CHECK(s != MT_SITE_NONE);
	MT_CHECK_EQ_U64(mt_agg_site_get(agg, s)->c.live_bytes, 24);
	MT_CHECK_EQ_U64(feed(&f), 0);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->c.frees, 1);
	MT_CHECK_EQ_U64(T->untracked_frees, 0);
	MT_CHECK_EQ_U64(mt_agg_nsites(agg), 1);   /* the free made no site */
}

/* A stack that collided in the stack map travels in the record: its
 * frames are the site, interned by content, as the walk gave them. */
static void test_inline_stack(void)
{
	struct mt_heap_event_stack r = { .ev = ev(MT_K_CALLOC, 3, 8, 0x2000) };
	uint64_t want[] = { 0x402000, 0x403000, 0x404000 };
	uint32_t s;

	setup();
	MT_CHECK(ev_reader);
	r.ev.flags = MT_EV_F_INLINE_STACK;
	r.stack.nr = 3;
	r.stack.ip[0] = 0x402000;
	r.stack.ip[1] = 0x403000;
	r.stack.ip[2] = 0x404000;
	r.stack.ip[3] = 0x405000;   /* past nr: not a frame */
	MT_CHECK_EQ_U64(mt_events_record(ev_reader, &r, sizeof(r)), 0);
	s = site_with(want, 3);
	MT_CHECK(s != MT_SITE_NONE);
	MT_CHECK_EQ_U64(mt_agg_site_get(agg, s)->c.live_bytes, 24);

	r.ev.ret = 0x3000;
	MT_CHECK_EQ_U64(mt_events_record(ev_reader, &r, sizeof(r)), 0);
	MT_CHECK_EQ_U64(mt_agg_site_get(agg, s)->c.live_objects, 2);
	MT_CHECK_EQ_U64(mt_agg_nsites(agg), 1);
}

/* A record flagged inline but too short to hold the frames is read as a
 * plain event: its site is the call site, never bytes past the record. */
static void test_inline_flag_short_record(void)
{
	struct mt_heap_event m = ev(MT_K_MALLOC, 40, 0, 0x4000);
	uint64_t want[] = { CALLSITE };

	setup();
	MT_CHECK(ev_reader);
	m.flags = MT_EV_F_INLINE_STACK;
	MT_CHECK_EQ_U64(feed(&m), 0);
	MT_CHECK(site_with(want, 1) != MT_SITE_NONE);
	MT_CHECK_EQ_U64(T->c.live_bytes, 40);
}

/* Sampling: a realloc whose new block was not sampled releases the sampled
 * old block and records nothing new (and needs no site). */
static void test_unsampled_realloc(void)
{
	struct mt_heap_event m = ev(MT_K_MALLOC, 1000, 0, 0x5000);
	struct mt_heap_event r = ev(MT_K_REALLOC, 0x5000, 2000, 0x6000);

	setup();
	MT_CHECK(ev_reader);
	MT_CHECK_EQ_U64(feed(&m), 0);
	MT_CHECK_EQ_U64(mt_agg_nsites(agg), 1);
	r.flags = MT_EV_F_UNSAMPLED;
	r.callsite = 0x409000;   /* a site of its own, were one made */
	MT_CHECK_EQ_U64(feed(&r), 0);
	MT_CHECK_EQ_U64(T->c.live_objects, 0);
	MT_CHECK_EQ_U64(T->c.frees, 1);
	MT_CHECK_EQ_U64(mt_agg_nsites(agg), 1);
}

/* A record shorter than an event is skipped: nothing counted. */
static void test_short_record(void)
{
	struct mt_heap_event m = ev(MT_K_MALLOC, 8, 0, 0x7000);

	setup();
	MT_CHECK(ev_reader);
	MT_CHECK_EQ_U64(mt_events_record(ev_reader, &m, sizeof(m) - 1), 0);
	MT_CHECK_EQ_U64(T->c.allocs, 0);
	MT_CHECK_EQ_U64(T->calls[0], 0);
	MT_CHECK_EQ_U64(feed(&m), 0);
	MT_CHECK_EQ_U64(T->c.allocs, 1);
}

/* Every record is one call of its entry point; a failed malloc is counted,
 * not recorded. */
static void test_calls_and_failures(void)
{
	struct mt_heap_event m = ev(MT_K_MALLOC, 8, 0, 0);

	setup();
	MT_CHECK(ev_reader);
	m.ep = 3;
	MT_CHECK_EQ_U64(feed(&m), 0);
	MT_CHECK_EQ_U64(T->calls[3], 1);
	MT_CHECK_EQ_U64(T->failed_allocs, 1);
	MT_CHECK_EQ_U64(T->c.allocs, 0);
	MT_CHECK_EQ_U64(mt_events_consume(ev_reader), 0);   /* no ring: nothing */
}

int main(void)
{
	MT_RUN(test_callsite_only);
	MT_RUN(test_inline_stack);
	MT_RUN(test_inline_flag_short_record);
	MT_RUN(test_unsampled_realloc);
	MT_RUN(test_short_record);
	MT_RUN(test_calls_and_failures);
	mt_events_free(ev_reader);
	mt_agg_free(agg);
	return mt_test_done();
}
