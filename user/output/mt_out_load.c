// SPDX-License-Identifier: BSD-2-Clause
/*
 * A saved JSON report read back into the report model (struct mt_report),
 * so `memtrace report A.json` writes pprof, folded stacks or text from a
 * trace taken elsewhere with the same writers a live run uses. Entries of
 * "sites" and "leaks" stream through take_entry (mt_jv_parse_keep): memory
 * is the model's sites and their frames, not the document's tree.
 * Reads version 1 (what this memtrace writes). Extension sections (memory,
 * analyses, pools, go, ...) are not part of the model: with MT_OUT_KEEP_EXT
 * the document's top level is kept as parsed (every member but the streamed
 * entries), for the text's outline of them (mt_out_text_ext.c). Not read
 * back: per-site extras.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_json_read.h"
#include "util/mt_log.h"
#include "output/mt_out.h"

/* A report larger than this is refused, not read (the JSON caps leaks). */
#define MAX_REPORT_BYTES (4ULL << 30)

struct load_ctx {
	struct mt_out_loaded *l;
	const char *path;
	int err;
	size_t site_cap, leak_cap;
};

static const char *keep_str(struct mt_out_loaded *l, const char *s, int *err)
{
	char *c;

	if (!s || *err)
		return NULL;
	if (l->nstrs == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		char **p = realloc(l->strs, ncap * sizeof(*p));

		if (!p) {
			*err = -ENOMEM;
			return NULL;
		}
		l->strs = p;
		l->cap = ncap;
	}
	c = strdup(s);
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	l->strs[l->nstrs++] = c;
	return c;
}

static uint64_t hex(const struct mt_jv *o, const char *key)
{
	const char *s = mt_jv_str(o, key);

	return s ? strtoull(s, NULL, 16) : 0;
}

static uint64_t u64(const struct mt_jv *o, const char *key)
{
	uint64_t v = 0;

	mt_jv_u64(o, key, &v);
	return v;
}

static int take_frames(struct load_ctx *c, struct mt_report_stack *st, const struct mt_jv *a)
{
	size_t i;
	int err = 0;

	if (!a || a->type != MT_JV_ARR || !a->n)
		return 0;
	st->frames = calloc(a->n, sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	for (i = 0; i < a->n && !err; i++) {
		const struct mt_jv *f = &a->items[i];
		struct mt_frame *fr = &st->frames[st->nframes++];
		double line = 0;

		fr->addr = hex(f, "addr");
		fr->func = keep_str(c->l, mt_jv_str(f, "func"), &err);
		fr->func_off = u64(f, "func_off");
		fr->module = keep_str(c->l, mt_jv_str(f, "module"), &err);
		fr->module_off = hex(f, "module_off");
		fr->file = keep_str(c->l, mt_jv_str(f, "file"), &err);
		mt_jv_num(f, "line", &line);
		fr->line = line > 0 && line < 1e9 ? (int)line : 0;
	}
	return err;
}

static int take_entry(void *arg, const struct mt_jv *e, bool leak)
{
	struct load_ctx *c = arg;
	struct mt_report *r = &c->l->r;
	struct mt_report_site **v = leak ? &r->leaks : &r->sites, *s;
	size_t *n = leak ? &r->nleaks : &r->nsites, *cap = leak ? &c->leak_cap : &c->site_cap;
	double age = -1;
	uint64_t id;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct mt_report_site *p = realloc(*v, ncap * sizeof(*p));

		if (!p)
			goto nomem;
		*v = p;
		*cap = ncap;
	}
	s = &(*v)[(*n)++];
	memset(s, 0, sizeof(*s));
	s->site = mt_jv_u64(e, "site", &id) && id < MT_SITE_NONE ? (uint32_t)id : MT_SITE_NONE;
	s->pid = (int)u64(e, "pid");     /* -f trees: the process of the site */
	s->objects = u64(e, "objects");
	s->bytes = u64(e, "bytes");
	s->allocs = u64(e, "allocs");
	s->frees = u64(e, "frees");
	s->alloc_bytes = u64(e, "alloc_bytes");
	s->free_bytes = u64(e, "free_bytes");
	s->live_objects = u64(e, "live_objects");
	s->live_bytes = u64(e, "live_bytes");
	s->peak_live_bytes = u64(e, "peak_live_bytes");
	s->lost_objects = u64(e, "lost_objects");
	s->lost_bytes = u64(e, "lost_bytes");
	s->reachable_objects = u64(e, "reachable_objects");
	s->reachable_bytes = u64(e, "reachable_bytes");
	s->oldest_age_s = mt_jv_num(e, "oldest_age_s", &age) ? age : -1;
	s->uncertain = mt_jv_get(e, "uncertain") && mt_jv_get(e, "uncertain")->b;
	if (take_frames(c, &s->stack, mt_jv_get(e, "stack")))
		goto nomem;
	if (mt_jv_str(e, "end")) {   /* how the walk ended; absent when not walked */
		unsigned k;

		for (k = 1; k < 32; k++)
			if (mt_report_stack_end_name((uint8_t)k) &&
			    !strcmp(mt_report_stack_end_name((uint8_t)k), mt_jv_str(e, "end")))
				s->stack.end = (uint8_t)k;
	}
	if (!leak) {
		const struct mt_jv *t = mt_jv_get(e, "trend");
		double g;

		/* --sort growth reads the trend's slope back (by site id) */
		if (s->site != MT_SITE_NONE && mt_jv_num(t, "slope_bytes_per_s", &g)) {
			struct mt_out_loaded *l = c->l;

			if (s->site >= l->ngrowth) {
				size_t ng = (size_t)s->site * 2 + 16, k;
				double *p = realloc(l->growth, ng * sizeof(*p));

				if (!p)
					goto nomem;
				for (k = l->ngrowth; k < ng; k++)
					p[k] = 0;
				l->growth = p;
				l->ngrowth = ng;
			}
			l->growth[s->site] = g;
		}
	}
	return 0;
nomem:
	mt_err("cannot read '%s': %s", c->path, strerror(ENOMEM));
	return c->err = -ENOMEM;
}

static int take_site(void *arg, const struct mt_jv *e, size_t i, const char *t, size_t len)
{
	return take_entry(arg, e, false);
}

static int take_leak(void *arg, const struct mt_jv *e, size_t i, const char *t, size_t len)
{
	return take_entry(arg, e, true);
}

static const struct mt_jv_keep keep_trend[] = { { .key = "slope_bytes_per_s" }, { 0 } };
static const struct mt_jv_keep keep_entry[] = {
	{ .key = "stack" }, { .key = "site" }, { .key = "pid" }, { .key = "objects" }, { .key = "bytes" },
	{ .key = "oldest_age_s" }, { .key = "uncertain" },
	{ .key = "allocs" }, { .key = "frees" }, { .key = "alloc_bytes" }, { .key = "free_bytes" },
	{ .key = "live_objects" }, { .key = "live_bytes" }, { .key = "peak_live_bytes" },
	{ .key = "lost_objects" }, { .key = "lost_bytes" }, { .key = "reachable_objects" },
	{ .key = "reachable_bytes" }, { .key = "trend", .sub = keep_trend }, { .key = "end" },
	{ 0 },
};
#define KEEP_REPORT \
	{ .key = "version" }, { .key = "target" }, { .key = "mode" }, { .key = "heap_traced" }, \
	{ .key = "duration_s" }, { .key = "min_age_s" }, { .key = "lost_events" }, \
	{ .key = "sampling" }, { .key = "drops" }, { .key = "totals" }, { .key = "calls" }, \
	{ .key = "internal_calls" }, { .key = "rates" }, { .key = "leak_summary" }, \
	{ .key = "sort" }, { .key = "untraced_children" }, \
	{ .key = "sites", .sub = keep_entry, .each = take_site }, \
	{ .key = "leaks", .sub = keep_entry, .each = take_leak }
static const struct mt_jv_keep keep_report[] = { KEEP_REPORT, { .key = "budget" }, { 0 } };
/* the same, and every other section whole */
static const struct mt_jv_keep keep_report_ext[] = { KEEP_REPORT, { .key = MT_JV_KEEP_REST }, { 0 } };

static char *slurp(const char *path, size_t *len, int *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *s = NULL, *g;
	size_t cap = 0, n = 0, got;

	*err = 0;
	if (!f) {
		*err = -errno;
		mt_err("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			g = cap <= MAX_REPORT_BYTES ? realloc(s, cap + 1) : NULL;
			if (!g) {
				*err = cap > MAX_REPORT_BYTES ? -EFBIG : -ENOMEM;
				break;
			}
			s = g;
		}
		errno = 0;
		got = fread(s + n, 1, cap - n, f);
		n += got;
		if (!got && ferror(f))
			*err = errno ? -errno : -EIO;   /* EISDIR for a directory */
	} while (got && !*err);
	if (f != stdin)
		fclose(f);
	if (*err) {
		mt_err("cannot read '%s': %s", path, strerror(-*err));
		free(s);
		return NULL;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

static void take_rates(struct mt_rates *out, const struct mt_jv *o)
{
	mt_jv_num(o, "seconds", &out->seconds);
	mt_jv_num(o, "allocs_per_s", &out->allocs_per_s);
	mt_jv_num(o, "bytes_per_s", &out->bytes_per_s);
	mt_jv_num(o, "frees_per_s", &out->frees_per_s);
}

/* The document's top level, after the entries streamed in. */
static int take_doc(struct load_ctx *c, const struct mt_jv *d)
{
	struct mt_out_loaded *l = c->l;
	struct mt_report *r = &l->r;
	const struct mt_jv *t = mt_jv_get(d, "totals"), *v, *calls, *icalls;
	double min_age = 0;
	uint64_t ver;
	size_t i;
	int err = 0;

	if (d->type != MT_JV_OBJ || !mt_jv_get(d, "version")) {
		mt_err("'%s' is not a memtrace report: no \"version\" key", c->path);
		return -EINVAL;
	}
	if (!mt_jv_u64(d, "version", &ver) || ver < 1 || ver > MT_REPORT_VERSION) {
		v = mt_jv_get(d, "version");
		mt_err("'%s' is a version %g report; this memtrace reads versions 1 to %d",
		       c->path, v->type == MT_JV_NUM ? v->d : -1.0, MT_REPORT_VERSION);
		return -EINVAL;
	}
	if (!t || t->type != MT_JV_OBJ) {
		mt_err("'%s' is not a memtrace report: no \"totals\" object", c->path);
		return -EINVAL;
	}
	l->version = (unsigned)ver;
	v = mt_jv_get(d, "target");
	mt_jv_num(v, "pid", &min_age);
	r->target.pid = (int)min_age;
	min_age = 0;
	snprintf(r->target.comm, sizeof(r->target.comm), "%s", mt_jv_str(v, "comm") ?: "");
	snprintf(r->target.exe, sizeof(r->target.exe), "%s", mt_jv_str(v, "exe") ?: "");
	snprintf(r->target.allocator, sizeof(r->target.allocator), "%s",
		 mt_jv_str(v, "allocator") ?: "");
	r->opts.launch = mt_jv_str(d, "mode") && !strcmp(mt_jv_str(d, "mode"), "launch");
	v = mt_jv_get(d, "heap_traced");
	r->opts.no_heap = v && v->type == MT_JV_BOOL && !v->b;
	mt_jv_num(d, "min_age_s", &min_age);
	r->opts.min_age_ns = (uint64_t)(min_age * 1e9);
	mt_jv_num(d, "duration_s", &r->duration_s);
	r->sample_bytes = u64(mt_jv_get(d, "sampling"), "mean_bytes");
	/* a budgeted trace's estimates stay labelled in the outputs made from it */
	v = mt_jv_get(mt_jv_get(d, "budget"), "estimated");
	if (v && v->type == MT_JV_BOOL && v->b && mt_jv_num(mt_jv_get(d, "budget"), "traced_fraction", &min_age) &&
	    min_age > 0 && min_age < 1)
		r->traced_fraction = min_age;
	min_age = 0;
	mt_report_sort_parse(mt_jv_str(d, "sort"), &r->opts.sort);   /* absent: live bytes */

	r->totals.c = (struct mt_counts){
		u64(t, "allocs"), u64(t, "frees"), u64(t, "alloc_bytes"), u64(t, "free_bytes"),
		u64(t, "live_objects"), u64(t, "live_bytes"), u64(t, "peak_live_bytes"),
	};
	r->totals.untracked_frees = u64(t, "untracked_frees");
	r->totals.failed_allocs = u64(t, "failed_allocs");
	r->totals.stale_replaced = u64(t, "stale_replaced");
	r->totals.lost_events = u64(d, "lost_events");
	/* null or absent: not counted (attach mode with --no-heap, older reports) */
	r->untraced_children = mt_jv_u64(d, "untraced_children", &ver) ? (int64_t)ver : -1;
	v = mt_jv_get(d, "drops");
	r->drops = (struct mt_drops){
		.ringbuf_full = u64(v, "ringbuf_full"), .stack_fail = u64(v, "stack_fail"),
		.state_full = u64(v, "state_full"), .free_unsampled = u64(v, "free_unsampled"),
		.sampled_full = u64(v, "sampled_full"),
	};
	calls = mt_jv_get(d, "calls");
	icalls = mt_jv_get(d, "internal_calls");
	for (i = 0; calls && calls->type == MT_JV_OBJ && i < calls->n && i < MT_AGG_MAX_EPS; i++) {
		l->ep_names[i] = strdup(calls->keys[i]);
		if (!l->ep_names[i]) {
			err = -ENOMEM;
			break;
		}
		r->ep_names[r->neps++] = l->ep_names[i];
		r->totals.calls[i] = calls->items[i].u;
		r->totals.internal_calls[i] = u64(icalls, calls->keys[i]);
	}
	v = mt_jv_get(d, "rates");
	take_rates(&r->interval, mt_jv_get(v, "interval"));
	take_rates(&r->run, mt_jv_get(v, "run"));
	v = mt_jv_get(d, "leak_summary");
	r->leak_objects = u64(v, "objects");
	r->leak_bytes = u64(v, "bytes");
	r->reach = mt_jv_get(v, "lost_bytes") != NULL;
	r->lost_objects = u64(v, "lost_objects");
	r->lost_bytes = u64(v, "lost_bytes");
	r->reachable_objects = u64(v, "reachable_objects");
	r->reachable_bytes = u64(v, "reachable_bytes");
	r->opts.top_sites = 10;
	r->opts.max_frames = 8;
	if (err)
		mt_err("cannot read '%s': %s", c->path, strerror(-err));
	return err;
}

int mt_out_load(const char *path, struct mt_out_loaded *l, unsigned keep)
{
	struct load_ctx c = { .l = l, .path = path };
	struct mt_jv *doc = NULL;
	char msg[160], *text;
	size_t len = 0;
	int err;

	memset(l, 0, sizeof(*l));
	text = slurp(path, &len, &err);
	if (!text)
		return err;
	err = mt_jv_parse_keep(text, len, keep & MT_OUT_KEEP_EXT ? keep_report_ext : keep_report, &c,
			       &doc, msg, sizeof(msg));
	if (err && !c.err)
		mt_err("cannot read '%s': %s", path,
		       err == -ENOMEM ? strerror(ENOMEM) : len ? msg : "the file is empty");
	if (!err)
		err = take_doc(&c, doc);
	if (!err && keep & MT_OUT_KEEP_EXT)
		l->doc = doc;   /* freed with l */
	else
		mt_jv_free(doc);
	if (!err && keep & MT_OUT_KEEP_TEXT) {
		l->text = text;   /* freed with l */
		l->text_len = len;
	} else {
		free(text);
	}
	if (err)
		mt_out_loaded_free(l);
	return err < 0 ? err : err ? -EINVAL : 0;
}

void mt_out_loaded_free(struct mt_out_loaded *l)
{
	size_t i;

	mt_report_release(&l->r);
	for (i = 0; i < l->nstrs; i++)
		free(l->strs[i]);
	free(l->strs);
	for (i = 0; i < MT_AGG_MAX_EPS; i++)
		free(l->ep_names[i]);
	free(l->growth);
	free(l->text);
	mt_jv_free(l->doc);
	memset(l, 0, sizeof(*l));
}
