// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analyze/mt_advice.h"
#include "collect/mt_agg.h"
#include "util/mt_json.h"
#include "analyze/mt_lifetime.h"
#include "report/mt_report.h"
#include "analyze/mt_sizeclass.h"

#define BUF_MIN 1024u
#define BUF_MAX 65536u

const char *mt_pool_kind_name(enum mt_pool_kind k)
{
	static const char *const names[] = { "none", "object_pool", "size_class", "buffer_pool" };

	return k <= MT_POOL_BUFFER ? names[k] : "?";
}

static const char *dur(char *b, size_t n, uint64_t ns)
{
	return mt_lt_label(b, (unsigned)n, ns);
}

void mt_advice_judge(const struct mt_advice_in *in, struct mt_advice *out)
{
	const struct mt_lt_stats *lt = in->lt;
	const struct mt_sc_stats *sc = in->sc;
	double rate = in->seconds > 0 ? (double)in->allocs / in->seconds : 0;
	double calls = in->seconds > 0 ? (double)(in->allocs + in->frees) / in->seconds : 0;
	uint64_t p50 = lt ? mt_lt_quantile(lt, 0.5) : 0, peak = lt ? lt->peak_live_objects : 0;
	char l50[16];
	bool leaky;

	out->pool = MT_POOL_NONE;
	out->capacity = 0;
	out->object_size = 0;
	out->calls_saved_per_s = 0;
	out->leaked = in->leaked;
	out->leak = false;
	dur(l50, sizeof(l50), p50);
	/* Leaked objects at least half the peak: the peak is the leak, and a
	 * pool sized to it would keep it. A smaller leak is left out of a
	 * pool's capacity. */
	leaky = in->leaked && in->leaked * 2 >= peak;
	if (!leaky)
		peak -= in->leaked;
	if (rate < MT_ADVICE_MIN_RATE) {
		snprintf(out->reason, sizeof(out->reason),
			 "rare: %.0f allocs/s, below %.0f/s malloc's cost is noise",
			 rate, MT_ADVICE_MIN_RATE);
	} else if (leaky) {
		out->leak = true;
		snprintf(out->reason, sizeof(out->reason),
			 "fix the leak: %llu of its objects were never freed (%.1f%% of %llu allocs), "
			 "not a pool sized to them", (unsigned long long)in->leaked,
			 in->allocs ? 100.0 * (double)in->leaked / (double)in->allocs : 0,
			 (unsigned long long)in->allocs);
	} else if (in->frees * 2 < in->allocs) {
		snprintf(out->reason, sizeof(out->reason),
			 "long-lived: %.0f%% of its blocks were not freed; a pool would only hold them",
			 100.0 - 100.0 * (double)in->frees / (double)in->allocs);
	} else if (lt && lt->freed && p50 > MT_ADVICE_LONG_NS) {
		snprintf(out->reason, sizeof(out->reason),
			 "long-lived: median lifetime %s; pooling saves little", l50);
	} else if (sc && sc->coarse[MT_SC_BIG] * 2 > sc->allocs) {
		snprintf(out->reason, sizeof(out->reason),
			 "large blocks (up to %llu B): the allocator maps them; no pool fits",
			 (unsigned long long)sc->max_size);
	} else if (sc && lt && lt->reallocs * 4 >= in->allocs && sc->min_size >= BUF_MIN &&
		   sc->max_size <= BUF_MAX) {
		out->pool = MT_POOL_BUFFER;
		out->capacity = peak;
		out->object_size = sc->max_size;
		out->calls_saved_per_s = calls;
		snprintf(out->reason, sizeof(out->reason),
			 "%.0f%% of %.0f allocs/s regrow a buffer by realloc (%llu..%llu B): "
			 "reuse grown buffers", 100.0 * (double)lt->reallocs / (double)in->allocs,
			 rate, (unsigned long long)sc->min_size, (unsigned long long)sc->max_size);
	} else if (sc && mt_sc_nclasses_used(sc) == 1 && sc->coarse[MT_SC_BIG] == 0) {
		out->pool = MT_POOL_OBJECT;
		out->capacity = peak;
		out->object_size = sc->max_size;
		out->calls_saved_per_s = calls;
		snprintf(out->reason, sizeof(out->reason),
			 "one size (%llu B) at %.0f allocs/s, median lifetime %s, at most %llu live: "
			 "a %llu-object pool", (unsigned long long)sc->max_size, rate, l50,
			 (unsigned long long)peak, (unsigned long long)peak);
	} else if (sc) {
		double small = sc->allocs ? (double)(sc->allocs - sc->coarse[MT_SC_BIG]) / (double)sc->allocs : 0;

		out->pool = MT_POOL_SIZE_CLASS;
		out->capacity = peak;
		out->calls_saved_per_s = calls * small;
		snprintf(out->reason, sizeof(out->reason),
			 "%u size classes (%llu..%llu B) at %.0f allocs/s, median lifetime %s: "
			 "thread-cached size classes", mt_sc_nclasses_used(sc),
			 (unsigned long long)sc->min_size, (unsigned long long)sc->max_size, rate, l50);
	} else {
		snprintf(out->reason, sizeof(out->reason), "no size statistics");
	}
}

struct key {
	uint64_t v;
	uint32_t site;
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;

	if (a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

static int advice_cmp(const void *pa, const void *pb)
{
	const struct mt_advice *a = pa, *b = pb;
	int pa_ = a->pool != MT_POOL_NONE, pb_ = b->pool != MT_POOL_NONE;

	if (pa_ != pb_)
		return pb_ - pa_;
	if (a->calls_saved_per_s != b->calls_saved_per_s)
		return a->calls_saved_per_s > b->calls_saved_per_s ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

int mt_advice_build(const struct mt_agg *a, const struct mt_lifetime *lt,
		    const struct mt_sizeclass *sc, double seconds, unsigned top,
		    const uint64_t *leaked, size_t nleaked, struct mt_advice **out)
{
	uint32_t nsites = mt_agg_nsites(a), s;
	struct key *calls = NULL, *live = NULL;
	struct mt_advice *v = NULL;
	unsigned char *chosen = NULL;
	size_t n = 0, i, nc = 0, nl = 0;
	int err = -ENOMEM;

	*out = NULL;
	calls = malloc((nsites + 1) * sizeof(*calls));
	live = malloc((nsites + 1) * sizeof(*live));
	chosen = calloc(nsites + 1, 1);
	v = calloc(2 * (size_t)top + 1, sizeof(*v));
	if (!calls || !live || !chosen || !v)
		goto out;
	for (s = 0; s < nsites; s++) {
		const struct mt_site *site = mt_agg_site_get(a, s);

		if (!site->c.allocs)
			continue;
		calls[nc++] = (struct key){ site->c.allocs + site->c.frees, s };
		if (site->c.live_bytes)
			live[nl++] = (struct key){ site->c.live_bytes, s };
	}
	qsort(calls, nc, sizeof(*calls), key_cmp);
	qsort(live, nl, sizeof(*live), key_cmp);
	for (i = 0; i < 2 * (size_t)top; i++) {
		const struct key *k = i < top ? (i < nc ? &calls[i] : NULL)
					      : (i - top < nl ? &live[i - top] : NULL);
		const struct mt_site *site;
		struct mt_advice_in in;

		if (!k || chosen[k->site])
			continue;
		chosen[k->site] = 1;
		site = mt_agg_site_get(a, k->site);
		in = (struct mt_advice_in){
			.allocs = site->c.allocs, .frees = site->c.frees, .seconds = seconds,
			.lt = lt ? mt_lifetime_get(lt, k->site) : NULL,
			.sc = sc ? mt_sizeclass_get(sc, k->site) : NULL,
			.leaked = leaked && k->site < nleaked ? leaked[k->site] : 0,
		};
		v[n].site = k->site;
		mt_advice_judge(&in, &v[n]);
		n++;
	}
	qsort(v, n, sizeof(*v), advice_cmp);
	*out = v;
	v = NULL;
	err = (int)n;
out:
	free(calls);
	free(live);
	free(chosen);
	free(v);
	return err;
}

int mt_advice_write_json(struct mt_json *j, void *arg)
{
	const struct mt_advice_set *set = arg;
	size_t i;
	int err = 0;

	mt_json_arr_begin(j);
	for (i = 0; i < set->n; i++) {
		const struct mt_advice *v = &set->v[i];
		struct mt_report_stack st = { 0 };

		mt_json_obj_begin(j);
		mt_json_key(j, "pool");
		mt_json_str(j, mt_pool_kind_name(v->pool));
		mt_json_key(j, "site");
		mt_json_u64(j, v->site);
		mt_json_key(j, "capacity");
		mt_json_u64(j, v->capacity);
		mt_json_key_u64_or_null(j, "object_size", v->object_size, v->object_size);
		mt_json_key(j, "calls_saved_per_s");
		mt_json_double(j, v->calls_saved_per_s);
		mt_json_key(j, "reason");
		mt_json_str(j, v->reason);
		mt_json_key(j, "leak");
		mt_json_bool(j, v->leak);
		mt_json_key(j, "leaked_objects");
		mt_json_u64(j, v->leaked);
		mt_json_key(j, "stack");
		if (!err)
			err = mt_report_stack_get(&st, set->agg, set->sym, v->site);
		mt_report_json_stack(j, &st);
		mt_report_stack_release(&st);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	return err;
}

int mt_advice_write_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_advice_set *set = arg;
	size_t i;
	int err = 0;

	if (!final || !set->n)
		return 0;
	fputs("pool advice:\n", f);
	for (i = 0; i < set->n && !err; i++) {
		const struct mt_advice *v = &set->v[i];
		struct mt_report_stack st = { 0 };

		/* A size-class pool has no one object size (object_size 0, null
		 * in JSON): its sizes are in the reason. */
		if (v->leak)
			fprintf(f, "  #%zu fix the leak (%llu objects)\n", i + 1,
				(unsigned long long)v->leaked);
		else if (v->pool == MT_POOL_NONE)
			fprintf(f, "  #%zu none\n", i + 1);
		else if (v->object_size)
			fprintf(f, "  #%zu %s, capacity %llu, %s %llu B: saves %.0f calls/s\n",
				i + 1, mt_pool_kind_name(v->pool), (unsigned long long)v->capacity,
				v->pool == MT_POOL_BUFFER ? "buffers up to" : "objects of",
				(unsigned long long)v->object_size, v->calls_saved_per_s);
		else
			fprintf(f, "  #%zu %s, capacity %llu: saves %.0f calls/s\n", i + 1,
				mt_pool_kind_name(v->pool), (unsigned long long)v->capacity,
				v->calls_saved_per_s);
		fprintf(f, "     %s\n", v->reason);
		err = mt_report_stack_get(&st, set->agg, set->sym, v->site);
		mt_report_text_stack(f, &st, 3);
		mt_report_stack_release(&st);
	}
	return err;
}
