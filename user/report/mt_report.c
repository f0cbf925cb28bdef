// SPDX-License-Identifier: BSD-2-Clause
/*
 * The report model: copies what the reporters need out of the aggregator and
 * symbolizes the stacks of the sites and leaks shown. Cost: two passes over
 * the live table (oldest live object per site, then the leaks; one in launch
 * mode), a sort of the sites, and one mt_sym_resolve per frame shown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sym/mt_wrap.h"
#include "report/mt_report.h"
#include "util/mt_progress.h"
#include <linux/types.h>
#include "unwind.h"

#define DEFAULT_MAX_FRAMES 8

struct site_key {
	double score;             /* MT_SORT_RATE, MT_SORT_GROWTH */
	uint64_t k1, live_bytes, alloc_bytes;
	uint32_t id;
	size_t index;             /* mt_report_sort_sites: the entry */
};

/* The sort key, then live bytes, then allocated bytes, descending; ties by
 * id for stable output. */
static int site_key_cmp(const void *pa, const void *pb)
{
	const struct site_key *x = pa, *y = pb;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->k1 != y->k1)
		return x->k1 > y->k1 ? -1 : 1;
	if (x->live_bytes != y->live_bytes)
		return x->live_bytes > y->live_bytes ? -1 : 1;
	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes > y->alloc_bytes ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct site_key make_key(const struct mt_counts *c, uint32_t id, enum mt_report_sort sort,
				double (*score)(void *, uint32_t), void *score_arg)
{
	struct site_key k = { .live_bytes = c->live_bytes, .alloc_bytes = c->alloc_bytes, .id = id };

	switch (sort) {
	case MT_SORT_ALLOC_BYTES:
		k.k1 = c->alloc_bytes;
		break;
	case MT_SORT_ALLOCS:
		k.k1 = c->allocs;
		break;
	case MT_SORT_RATE:
	case MT_SORT_GROWTH:
		if (score && id != MT_SITE_NONE)
			k.score = score(score_arg, id);
		/* without a score: calls for rate, live bytes for growth */
		if (sort == MT_SORT_RATE)
			k.k1 = c->allocs;
		if (k.score != k.score)   /* NaN ranks last */
			k.score = -1e300;
		break;
	case MT_SORT_LIVE_BYTES:
		break;
	}
	return k;
}

static const char *const sort_names[] = {
	[MT_SORT_LIVE_BYTES] = "live_bytes", [MT_SORT_ALLOC_BYTES] = "alloc_bytes",
	[MT_SORT_ALLOCS] = "allocs", [MT_SORT_RATE] = "rate", [MT_SORT_GROWTH] = "growth",
};

int mt_report_sort_parse(const char *name, enum mt_report_sort *out)
{
	size_t i;

	for (i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++) {
		if (name && !strcmp(name, sort_names[i])) {
			*out = (enum mt_report_sort)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mt_report_sort_name(enum mt_report_sort s)
{
	return (size_t)s < sizeof(sort_names) / sizeof(sort_names[0]) ? sort_names[s] : "?";
}

void mt_report_sort_sites(struct mt_report_site *s, size_t n, enum mt_report_sort sort,
			  double (*score)(void *arg, uint32_t site), void *score_arg)
{
	struct site_key *keys = malloc((n ? n : 1) * sizeof(*keys));
	struct mt_report_site *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	size_t i;

	if (!keys || !tmp)   /* the order stays; nothing is lost */
		goto out;
	for (i = 0; i < n; i++) {
		struct mt_counts c = { .allocs = s[i].allocs, .alloc_bytes = s[i].alloc_bytes,
				       .live_bytes = s[i].live_bytes };

		keys[i] = make_key(&c, s[i].site, sort, score, score_arg);
		keys[i].index = i;
	}
	qsort(keys, n, sizeof(*keys), site_key_cmp);
	for (i = 0; i < n; i++)
		tmp[i] = s[keys[i].index];
	memcpy(s, tmp, n * sizeof(*s));
out:
	free(keys);
	free(tmp);
}

static double age_s(uint64_t now_ns, uint64_t ts_ns)
{
	return now_ns > ts_ns ? (double)(now_ns - ts_ns) / 1e9 : 0.0;
}

/* The first frame outside the allocator's wrappers: the built-in list,
 * the user's (o), and functions of the allocator's own module (libc's
 * strdup, fopen) unless that module is the program itself. All wrappers:
 * the last frame. */
static uint32_t attribute(const struct mt_report_stack *st, const struct mt_report_opts *o,
			  const char *allocator, const char *exe)
{
	bool own = allocator && allocator[0] && (!exe || strcmp(allocator, exe));
	uint32_t i;

	for (i = 0; i < st->nframes; i++) {
		const struct mt_frame *f = &st->frames[i];

		if (mt_wrap_match(f->symbol, o ? o->wrappers : NULL, o ? o->nwrappers : 0))
			continue;
		if (own && f->module && !strcmp(f->module, allocator))
			continue;
		return i;
	}
	return st->nframes ? st->nframes - 1 : 0;
}

/* The frames of the aggregator's stack, each expanded to the functions
 * inlined at it. */
static int symbolize(struct mt_report_stack *st, const uint64_t *frames, uint32_t nframes,
		     struct mt_sym *sym)
{
	struct mt_frame chain[MT_SYM_MAX_INLINE + 1];
	size_t cap = nframes ? nframes : 1, n = 0;
	uint32_t i;

	st->frames = calloc(cap, sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	for (i = 0; i < nframes; i++) {
		int k = 1;

		memset(chain, 0, sizeof(chain));
		chain[0].addr = frames[i];
		/* Always fills the frames; -ENOENT just means no name found. */
		if (sym) {
			k = mt_sym_resolve_chain(sym, frames[i], true, chain,
						 MT_SYM_MAX_INLINE + 1);
			if (k < 0)
				return k;
		}
		if (n + (size_t)k > cap) {
			size_t ncap = cap * 2 + (size_t)k;
			struct mt_frame *p = realloc(st->frames, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			st->frames = p;
			cap = ncap;
		}
		memcpy(&st->frames[n], chain, (size_t)k * sizeof(*chain));
		n += (size_t)k;
		st->nframes = (uint32_t)n;
	}
	return 0;
}

/* Counters and symbolized stack of site id (MT_SITE_NONE: no stack). */
static int fill_site(struct mt_report_site *rs, const struct mt_agg *a,
		     struct mt_sym *sym, uint32_t id, const struct mt_report *r)
{
	const struct mt_site *s = mt_agg_site_get(a, id);
	int err;

	rs->site = id;
	rs->oldest_age_s = -1;
	if (!s)
		return 0;
	rs->allocs = s->c.allocs;
	rs->frees = s->c.frees;
	rs->alloc_bytes = s->c.alloc_bytes;
	rs->free_bytes = s->c.free_bytes;
	rs->live_objects = s->c.live_objects;
	rs->live_bytes = s->c.live_bytes;
	rs->peak_live_bytes = s->c.peak_live_bytes;
	rs->uncertain = s->uncertain;
	rs->stack.end = s->end;
	if (!s->nframes)
		return 0;
	err = symbolize(&rs->stack, s->frames, s->nframes, sym);
	if (err)
		return err;
	rs->stack.attr = attribute(&rs->stack, r ? &r->opts : NULL,
				   r ? r->target.allocator : NULL, r ? r->target.exe : NULL);
	return 0;
}

/* Stacks symbolized before a terminal shows a progress line: a few
 * hundred take a blink; thousands (a final report with every site for
 * --json) take seconds with DWARF to read. */
#define PROGRESS_MIN_STACKS 1000

static void progress_begin(struct mt_progress *p, size_t n)
{
	if (n >= PROGRESS_MIN_STACKS && mt_progress_enabled())
		mt_progress_begin(p, "symbolizing stacks", "stacks", n);
}

static int build_sites(struct mt_report *r, const struct mt_agg *a, struct mt_sym *sym,
		       const struct mt_leak *live, int nlive, uint64_t now_ns, struct mt_progress *prog)
{
	uint32_t nsites = mt_agg_nsites(a), id;
	struct site_key *keys = NULL;
	int *oldest = NULL;       /* site id -> index in live[], -1: none */
	size_t n = 0, i;
	int err = 0, k;

	keys = malloc((nsites ? nsites : 1) * sizeof(*keys));
	oldest = malloc((nsites ? nsites : 1) * sizeof(*oldest));
	if (!keys || !oldest) {
		err = -ENOMEM;
		goto out;
	}
	for (id = 0; id < nsites; id++)
		oldest[id] = -1;
	for (k = 0; k < nlive; k++)
		if (live[k].site < nsites)
			oldest[live[k].site] = k;
	for (id = 0; id < nsites; id++) {
		const struct mt_site *s = mt_agg_site_get(a, id);

		if (s->c.allocs)
			keys[n++] = make_key(&s->c, id, r->opts.sort, r->opts.score,
					     r->opts.score_arg);
	}
	qsort(keys, n, sizeof(*keys), site_key_cmp);
	if (n > r->opts.top_sites && !r->opts.all_sites)
		n = r->opts.top_sites;
	progress_begin(prog, n);
	r->sites = calloc(n ? n : 1, sizeof(*r->sites));
	if (!r->sites) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct mt_report_site *rs = &r->sites[i];

		r->nsites++;
		err = fill_site(rs, a, sym, keys[i].id, r);
		if (err)
			goto out;
		mt_progress_step(prog, 1);
		rs->objects = rs->live_objects;
		rs->bytes = rs->live_bytes;
		k = oldest[rs->site];
		if (k >= 0)
			rs->oldest_age_s = age_s(now_ns, live[k].oldest_ts_ns);
	}
out:
	free(oldest);
	free(keys);
	return err;
}

static int build_leaks(struct mt_report *r, const struct mt_agg *a, struct mt_sym *sym,
		       const struct mt_leak *l, int nl, uint64_t now_ns, struct mt_progress *prog)
{
	int i, err;

	if (prog->active)
		mt_progress_add_total(prog, (uint64_t)nl);
	else
		progress_begin(prog, (size_t)nl);

	r->leaks = calloc(nl ? (size_t)nl : 1, sizeof(*r->leaks));
	if (!r->leaks)
		return -ENOMEM;
	for (i = 0; i < nl; i++) {
		struct mt_report_site *rs = &r->leaks[r->nleaks];

		/* The trend (or another judge) says this site is not leaking. */
		if (!r->opts.launch && r->opts.keep_leak && l[i].site != MT_SITE_NONE &&
		    !r->opts.keep_leak(r->opts.keep_leak_arg, l[i].site))
			continue;
		r->nleaks++;
		err = fill_site(rs, a, sym, l[i].site, r);
		if (err)
			return err;
		mt_progress_step(prog, 1);
		rs->objects = l[i].objects;
		rs->bytes = l[i].bytes;
		rs->oldest_age_s = age_s(now_ns, l[i].oldest_ts_ns);
		r->leak_objects += l[i].objects;
		r->leak_bytes += l[i].bytes;
	}
	return 0;
}

static void mark_in_stacks(struct mt_report *r, const struct mt_report_site *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < s[i].stack.nframes; k++)
			for (size_t m = 0; m < r->nmodules; m++)
				if (s[i].stack.frames[k].module &&
				    !strcmp(s[i].stack.frames[k].module, r->modules[m].path))
					r->modules[m].in_stacks = true;
}

/* One entry per module path (a file mapped again at another address is
 * the same module to a reader), the latest mapping's facts. */
static int build_modules(struct mt_report *r, struct mt_sym *sym)
{
	size_t n = mt_sym_nmodules(sym), i, k;

	r->modules = calloc(n ? n : 1, sizeof(*r->modules));
	if (!r->modules)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct mt_report_module *rm = NULL;
		struct mt_sym_module sm;
		const char *uw = NULL;

		mt_sym_module_get(sym, i, &sm);
		for (k = 0; k < r->nmodules && !rm; k++)
			if (!strcmp(r->modules[k].path, sm.path))
				rm = &r->modules[k];
		if (!rm)
			rm = &r->modules[r->nmodules++];
		if (r->opts.module_unwind)
			uw = r->opts.module_unwind(r->opts.module_unwind_arg, sm.path);
		*rm = (struct mt_report_module){
			.path = sm.path, .build_id = sm.build_id, .unwind = uw ? uw : "fp",
			.symbols = sm.symbols, .lines = sm.lines, .debug_file = sm.debug_file,
			.debuginfod = sm.debuginfod,
		};
	}
	mark_in_stacks(r, r->sites, r->nsites);
	mark_in_stacks(r, r->leaks, r->nleaks);
	return 0;
}

int mt_report_build(struct mt_report *r, struct mt_agg *a, struct mt_sym *sym,
		    const char *const *ep_names, unsigned neps,
		    const struct mt_report_target *t, const struct mt_drops *drops,
		    uint64_t now_ns, bool take_interval, const struct mt_report_opts *o)
{
	struct mt_leak *live = NULL, *leaks = NULL;
	struct mt_progress prog = { 0 };   /* thousands of stacks: a terminal shows it */
	int nlive, nleaks, err;
	uint64_t start;
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->untraced_children = -1;
	if (!a)
		return -EINVAL;
	if (o)
		r->opts = *o;
	if (!r->opts.top_sites)
		r->opts.top_sites = MT_REPORT_TOP_SITES;
	if (!r->opts.max_frames)
		r->opts.max_frames = DEFAULT_MAX_FRAMES;
	if (t)
		r->target = *t;
	if (drops)
		r->drops = *drops;
	start = mt_agg_start_ns(a);
	r->duration_s = now_ns > start ? (double)(now_ns - start) / 1e9 : 0.0;
	r->totals = *mt_agg_totals(a);
	r->sample_bytes = mt_agg_sampling(a);
	r->neps = neps < MT_AGG_MAX_EPS ? neps : MT_AGG_MAX_EPS;
	for (i = 0; ep_names && i < r->neps; i++)
		r->ep_names[i] = ep_names[i];
	if (take_interval)
		mt_agg_interval(a, now_ns, &r->interval);
	mt_agg_run_rates(a, now_ns, &r->run);

	/* Every live object, grouped: the oldest per site, and the leaks in
	 * launch mode. */
	nlive = mt_agg_leaks(a, now_ns, 0, &live);
	if (nlive < 0) {
		err = nlive;
		goto out;
	}
	if (r->opts.launch || !r->opts.min_age_ns) {
		leaks = live;
		nleaks = nlive;
	} else {
		nleaks = mt_agg_leaks(a, now_ns, r->opts.min_age_ns, &leaks);
		if (nleaks < 0) {
			err = nleaks;
			goto out;
		}
	}
	err = build_sites(r, a, sym, live, nlive, now_ns, &prog);
	if (!err)
		err = build_leaks(r, a, sym, leaks, nleaks, now_ns, &prog);
	mt_progress_end(&prog);
	if (!err)
		err = build_modules(r, sym);
out:
	if (leaks != live)
		free(leaks);
	free(live);
	if (err)
		mt_report_release(r);
	return err;
}

static void release_sites(struct mt_report_site *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!s[i].borrowed)
			free(s[i].stack.frames);
	free(s);
}

void mt_report_release(struct mt_report *r)
{
	if (!r)
		return;
	release_sites(r->sites, r->nsites);
	release_sites(r->leaks, r->nleaks);
	r->sites = r->leaks = NULL;
	r->nsites = r->nleaks = 0;
	free(r->modules);
	r->modules = NULL;
	r->nmodules = 0;
	r->nextras = 0;
}

int mt_report_add_extra(struct mt_report *r, const char *key, mt_report_json_fn json,
			mt_report_text_fn text, void *arg)
{
	if (!key || (!json && !text))
		return -EINVAL;
	if (r->nextras >= MT_REPORT_MAX_EXTRAS)
		return -ENOSPC;
	r->extras[r->nextras++] = (struct mt_report_extra){ key, json, text, arg };
	return 0;
}

int mt_report_add_site_extra(struct mt_report *r, mt_report_site_json_fn json, void *arg)
{
	if (!json)
		return -EINVAL;
	if (r->nsite_extras >= MT_REPORT_MAX_SITE_EXTRAS)
		return -ENOSPC;
	r->site_extras[r->nsite_extras].json = json;
	r->site_extras[r->nsite_extras++].arg = arg;
	return 0;
}

int mt_report_stack_from(struct mt_report_stack *st, const uint64_t *frames, uint32_t n,
			 uint8_t end, struct mt_sym *sym)
{
	memset(st, 0, sizeof(*st));
	st->end = end;
	return n ? symbolize(st, frames, n, sym) : 0;
}

int mt_report_stack_get(struct mt_report_stack *st, const struct mt_agg *a,
			struct mt_sym *sym, uint32_t site)
{
	struct mt_report_site rs = { 0 };
	int err = fill_site(&rs, a, sym, site, NULL);

	*st = rs.stack;
	return err;
}

const char *mt_report_stack_end_name(uint8_t end)
{
	static const char *const names[MT_END_COUNT] = {
		[MT_END_ROOT] = "root", [MT_END_DEPTH] = "depth", [MT_END_NO_CFI] = "no_cfi",
		[MT_END_FAULT] = "fault", [MT_END_UNKNOWN_CODE] = "unknown_code",
	};

	return end < MT_END_COUNT ? names[end] : NULL;
}

const char *mt_report_stack_cut_reason(uint8_t end)
{
	switch (end) {
	case MT_END_DEPTH:
		return "depth limit (--max-depth)";
	case MT_END_NO_CFI:
		return "no unwind info for the last frame";
	case MT_END_FAULT:
		return "stack unreadable or inconsistent";
	case MT_END_UNKNOWN_CODE:
		return "return address outside known code (JIT or corrupt stack)";
	default:
		return NULL;
	}
}

void mt_report_stack_release(struct mt_report_stack *st)
{
	if (!st)
		return;
	free(st->frames);
	st->frames = NULL;
	st->nframes = 0;
}

static int cmp_merged_site(const void *a, const void *b)
{
	const struct mt_report_site *x = a, *y = b;

	if (x->live_bytes != y->live_bytes)
		return x->live_bytes > y->live_bytes ? -1 : 1;
	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes > y->alloc_bytes ? -1 : 1;
	return x->pid != y->pid ? (x->pid < y->pid ? -1 : 1) : (x->site > y->site) - (x->site < y->site);
}

static int cmp_merged_leak(const void *a, const void *b)
{
	const struct mt_report_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return cmp_merged_site(a, b);
}

/* Every image's entries of one list: r's own (kept as they are) and the
 * others' (borrowed). */
static struct mt_report_site *merge_list(const struct mt_report *r, const struct mt_report_proc *procs,
					 size_t nprocs, size_t self, bool leaks, size_t *n)
{
	struct mt_report_site *out, *p;
	size_t total = 0, i, k;

	for (i = 0; i < nprocs; i++) {
		const struct mt_report *pr = i == self ? r : procs[i].r;

		total += leaks ? pr->nleaks : pr->nsites;
	}
	out = calloc(total ? total : 1, sizeof(*out));
	if (!out)
		return NULL;
	p = out;
	for (i = 0; i < nprocs; i++) {
		const struct mt_report *pr = i == self ? r : procs[i].r;
		const struct mt_report_site *src = leaks ? pr->leaks : pr->sites;
		size_t m = leaks ? pr->nleaks : pr->nsites;

		for (k = 0; k < m; k++, p++) {
			*p = src[k];
			p->pid = procs[i].pid;
			p->borrowed = i != self || src[k].borrowed;
		}
	}
	*n = total;
	return out;
}

int mt_report_merge(struct mt_report *r, const struct mt_report_proc *procs, size_t nprocs,
		    size_t self)
{
	struct mt_report_site *sites, *leaks;
	struct mt_totals t = { 0 };
	size_t nsites, nleaks, i, k;
	unsigned e, neps = 0;
	const char *names[MT_AGG_MAX_EPS];

	if (!nprocs)
		return 0;
	sites = merge_list(r, procs, nprocs, self, false, &nsites);
	leaks = merge_list(r, procs, nprocs, self, true, &nleaks);
	if (!sites || !leaks) {
		free(sites);
		free(leaks);
		return -ENOMEM;
	}
	for (i = 0; i < nprocs; i++) {
		const struct mt_report *pr = i == self ? r : procs[i].r;
		const struct mt_totals *pt = &pr->totals;

		t.c.allocs += pt->c.allocs;
		t.c.frees += pt->c.frees;
		t.c.alloc_bytes += pt->c.alloc_bytes;
		t.c.free_bytes += pt->c.free_bytes;
		t.c.live_objects += pt->c.live_objects;
		t.c.live_bytes += pt->c.live_bytes;
		/* images' peaks need not coincide: their sum bounds the tree's */
		t.c.peak_live_bytes += pt->c.peak_live_bytes;
		t.untracked_frees += pt->untracked_frees;
		t.failed_allocs += pt->failed_allocs;
		t.lost_events += pt->lost_events;
		t.stale_replaced += pt->stale_replaced;
		t.claimed_objects += pt->claimed_objects;
		t.claimed_bytes += pt->claimed_bytes;
		/* calls by name: images may have different entry points */
		for (e = 0; e < pr->neps; e++) {
			const char *name = pr->ep_names[e] ? pr->ep_names[e] : "?";

			for (k = 0; k < neps && strcmp(names[k], name); k++)
				;
			if (k == neps) {
				if (neps == MT_AGG_MAX_EPS)
					continue;
				names[neps++] = name;
			}
			t.calls[k] += pt->calls[e];
			t.internal_calls[k] += pt->internal_calls[e];
		}
	}
	/* r's own entries that fall out of the top are freed here */
	qsort(sites, nsites, sizeof(*sites), cmp_merged_site);
	qsort(leaks, nleaks, sizeof(*leaks), cmp_merged_leak);
	/* --sort other than live bytes: by the counters (a score is one
	 * aggregator's, by its site ids: not the tree's) */
	if (r->opts.sort != MT_SORT_LIVE_BYTES)
		mt_report_sort_sites(sites, nsites, r->opts.sort, NULL, NULL);
	for (i = r->opts.top_sites; i < nsites && !r->opts.all_sites; i++)
		if (!sites[i].borrowed)
			free(sites[i].stack.frames);
	if (nsites > r->opts.top_sites && !r->opts.all_sites)
		nsites = r->opts.top_sites;
	free(r->sites);
	free(r->leaks);
	r->sites = sites;
	r->nsites = nsites;
	r->leaks = leaks;
	r->nleaks = nleaks;
	r->leak_objects = r->leak_bytes = 0;
	for (i = 0; i < nleaks; i++) {
		r->leak_objects += leaks[i].objects;
		r->leak_bytes += leaks[i].bytes;
	}
	r->totals = t;
	r->neps = neps;
	for (e = 0; e < neps; e++)
		r->ep_names[e] = names[e];
	r->procs = procs;
	r->nprocs = nprocs;
	return 0;
}
