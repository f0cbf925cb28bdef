// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Go heap figures (see mt_go_heap.h): the kernel's per-(stack, type)
 * counters named, decorated and ranked, once per report. Cost: one
 * function-table lookup per frame of each counted stack.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/mt_go_alloc.h"
#include "go/mt_go_heap.h"
#include "go/mt_go_pclntab.h"
#include "go/mt_go_surv.h"
#include "go/mt_go_types.h"
#include "util/mt_grow.h"

/* Advice thresholds: a site is worth a line when it allocates often
 * enough to matter for the GC. */
#define ADVICE_MIN_ALLOCS 100
#define ADVICE_MIN_SHARE 0.05      /* of all bytes allocated */
#define ADVICE_MIN_RATE 1000.0     /* calls per second */
/* Survival: enough decided samples to trust the fraction, and the
 * fractions that make a site short-lived or kept. */
#define SURV_MIN_SAMPLES 10
#define SURV_SHORT 0.7
#define SURV_KEPT 0.3

bool mt_go_runtime_func(const char *func)
{
	return func && !strncmp(func, "runtime.", 8);
}

struct build {
	struct mt_go_heap *h;
	size_t cap;
	const struct mt_go_pcln *p;
	const struct mt_go_types *t;
	const struct mt_go_surv *sv;
	uint64_t bias;
	double f;                  /* traced fraction, 0: exact */
	int err;
};

/* A counted figure as an estimate over the whole time (f: the fraction
 * traced, 0 when exact). */
static uint64_t scale(uint64_t n, double f)
{
	return f > 0 && f < 1 ? (uint64_t)llround((double)n / f) : n;
}

static bool is(const char *f, const char *name)
{
	return f && !strcmp(f, name);
}

/* The type as the program receives it, from the function that called
 * mallocgc: new(T) is a *T, make/append a []T; untyped (pointer-free)
 * memory is named where its caller says what it is. */
static void decorate(struct mt_go_site *s, const char *name)
{
	const char *v = s->via;

	if (!name[0]) {
		if (is(v, "runtime.rawstring") || is(v, "runtime.rawstringtmp") ||
		    is(v, "runtime.concatstrings"))
			snprintf(s->type, sizeof(s->type), "string");
		else if (is(v, "runtime.rawbyteslice"))
			snprintf(s->type, sizeof(s->type), "[]uint8");
		else if (is(v, "runtime.rawruneslice"))
			snprintf(s->type, sizeof(s->type), "[]int32");
		return;
	}
	if (is(v, "runtime.newobject"))
		snprintf(s->type, sizeof(s->type), "*%s", name);
	else if (is(v, "runtime.makeslice") || is(v, "runtime.growslice") ||
		 is(v, "runtime.makeslicecopy"))
		snprintf(s->type, sizeof(s->type), "[]%s", name);
	else
		snprintf(s->type, sizeof(s->type), "%s", name);
}

static bool in_stack(const struct mt_go_site *s, const char *prefix)
{
	uint32_t i;

	for (i = 0; i < s->nframes; i++)
		if (s->frames[i].func && !strncmp(s->frames[i].func, prefix, strlen(prefix)))
			return true;
	return false;
}

static void one(const struct mt_go_key *k, const struct mt_go_val *v, void *arg)
{
	struct build *b = arg;
	struct mt_go_site *s;
	char name[160];
	uint32_t i, n = k->nframes > MT_GO_DEPTH ? MT_GO_DEPTH : k->nframes;

	if (b->err || (b->err = MT_GROW(b->h->sites, b->h->nsites + 1, b->cap)))
		return;
	s = &b->h->sites[b->h->nsites];
	memset(s, 0, sizeof(*s));
	s->frames = calloc(n ? n : 1, sizeof(*s->frames));
	if (!s->frames) {
		b->err = -ENOMEM;
		return;
	}
	b->h->nsites++;
	s->counted_allocs = v->allocs;
	s->counted_bytes = v->bytes;
	s->allocs = scale(v->allocs, b->f);
	s->bytes = scale(v->bytes, b->f);
	s->surv = mt_go_surv_site(b->sv, v->id, &s->surv_sampled, &s->surv_survived);
	s->end = (uint8_t)k->end;
	s->nframes = n;
	s->attr = UINT32_MAX;
	for (i = 0; i < n; i++) {
		struct mt_go_frame *f = &s->frames[i];

		f->pc = k->pcs[i];
		/* return addresses: the call is the byte before */
		f->func = mt_go_pcln_lookup(b->p, k->pcs[i] - b->bias - 1, NULL, &f->file, &f->line);
		if (s->attr == UINT32_MAX && f->func && !mt_go_runtime_func(f->func))
			s->attr = i;
	}
	if (s->attr == UINT32_MAX)
		s->attr = 0;   /* the runtime's own allocation */
	s->via = n && mt_go_runtime_func(s->frames[0].func) ? s->frames[0].func : NULL;
	name[0] = 0;
	if (k->type && b->t)
		mt_go_type_name(b->t, k->type - b->bias, name, sizeof(name), &s->type_size);
	decorate(s, name);
}

static int by_bytes(const void *a, const void *b)
{
	const struct mt_go_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->allocs < y->allocs ? 1 : x->allocs > y->allocs ? -1 : 0;
}

static int type_by_bytes(const void *a, const void *b)
{
	const struct mt_go_type_sum *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->type, y->type);
}

static const char *advise(const struct mt_go_heap *h, const struct mt_go_site *s)
{
	double share = h->bytes ? (double)s->bytes / (double)h->bytes : 0;
	double rate = h->duration_s > 0 ? (double)s->allocs / h->duration_s : 0;

	if (s->allocs < ADVICE_MIN_ALLOCS || (share < ADVICE_MIN_SHARE && rate < ADVICE_MIN_RATE))
		return NULL;
	if (in_stack(s, "runtime.mapassign") || in_stack(s, "runtime.hashGrow") ||
	    in_stack(s, "runtime.makeBucketArray"))
		return "map grows while filled: give make(map[K]V, n) a size hint";
	if (is(s->via, "runtime.growslice"))
		return "slice grown by append: pre-allocate it (make([]T, 0, n))";
	if (in_stack(s, "sync.(*Pool).Get"))
		return "sync.Pool misses: Pool.New runs this often; Put objects back, "
		       "the GC empties pools every cycle";
	if (is(s->via, "runtime.newobject") || is(s->via, "runtime.makeslice")) {
		/* With survival measured, a pool only pays for objects that
		 * die young (a kept object is never Put back). */
		if (s->surv && s->surv_sampled >= SURV_MIN_SAMPLES) {
			double dead = mt_go_short_lived(s->surv_sampled, s->surv_survived);

			if (dead >= SURV_SHORT)
				return "sync.Pool candidate: most of these objects die before "
				       "the next GC; reuse them (sync.Pool Get/Put) instead of "
				       "allocating each";
			if (dead <= SURV_KEPT)
				return NULL;   /* kept: pooling would not reuse them */
		}
		return "sync.Pool candidate: reuse these objects (sync.Pool Get/Put) "
		       "instead of allocating each";
	}
	return NULL;
}

static int sum_types(struct mt_go_heap *h)
{
	size_t i, j, cap = 0;

	for (i = 0; i < h->nsites; i++) {
		const struct mt_go_site *s = &h->sites[i];

		for (j = 0; j < h->ntypes && strcmp(h->types[j].type, s->type); j++)
			;
		if (j == h->ntypes) {
			if (MT_GROW(h->types, h->ntypes + 1, cap))
				return -ENOMEM;
			memset(&h->types[j], 0, sizeof(h->types[j]));
			snprintf(h->types[j].type, sizeof(h->types[j].type), "%s", s->type);
			h->ntypes++;
		}
		h->types[j].allocs += s->allocs;
		h->types[j].counted_allocs += s->counted_allocs;
		h->types[j].bytes += s->bytes;
		h->types[j].surv_sampled += s->surv_sampled;
		h->types[j].surv_survived += s->surv_survived;
	}
	if (h->ntypes)
		qsort(h->types, h->ntypes, sizeof(*h->types), type_by_bytes);
	return 0;
}

double mt_go_short_lived(uint64_t sampled, uint64_t survived)
{
	return sampled ? (double)(sampled - survived) / (double)sampled : -1;
}

int mt_go_heap_build(struct mt_go_heap *h, struct mt_go_alloc *a, const struct mt_go_pcln *p,
		     const struct mt_go_types *t, const struct mt_go_surv *sv, uint64_t bias,
		     double duration_s, double traced_fraction)
{
	double f = traced_fraction > 0 && traced_fraction < 1 ? traced_fraction : 0;
	struct build b = { .h = h, .p = p, .t = t, .sv = sv, .bias = bias, .f = f };
	uint64_t c[MT_GO_NCOUNTERS] = { 0 };
	size_t i;
	int err;

	memset(h, 0, sizeof(*h));
	h->duration_s = duration_s;
	err = mt_go_alloc_read(a, one, &b, c);
	if (!err)
		err = b.err;
	if (!err) {
		h->traced_fraction = f;
		h->counted_calls = c[MT_GO_C_CALLS];
		h->counted_bytes = c[MT_GO_C_BYTES];
		h->calls = scale(c[MT_GO_C_CALLS], f);
		h->bytes = scale(c[MT_GO_C_BYTES], f);
		h->unsited = scale(c[MT_GO_C_FULL], f);
		h->surv = sv != NULL;
		h->sample_drops = c[MT_GO_C_SAMPLE_DROPS];
		if (h->nsites)
			qsort(h->sites, h->nsites, sizeof(*h->sites), by_bytes);
		for (i = 0; i < h->nsites; i++)
			h->sites[i].advice = advise(h, &h->sites[i]);
		err = sum_types(h);
	}
	if (err)
		mt_go_heap_release(h);
	return err;
}

void mt_go_heap_release(struct mt_go_heap *h)
{
	size_t i;

	for (i = 0; i < h->nsites; i++)
		free(h->sites[i].frames);
	free(h->sites);
	free(h->types);
	memset(h, 0, sizeof(*h));
}
