// SPDX-License-Identifier: BSD-2-Clause
/*
 * The JSON reporter: one document per report, shape documented in
 * docs/report-format.md. Keys other tools rely on never change meaning
 * without a "version" bump; new keys may appear at any time.
 */
#include <errno.h>
#include "util/mt_json.h"
#include "report/mt_report.h"

static void write_target(struct mt_json *j, const struct mt_report_target *t)
{
	mt_json_obj_begin(j);
	mt_json_key(j, "pid");
	mt_json_i64(j, t->pid);
	mt_json_key_str(j, "comm", t->comm[0] ? t->comm : NULL);
	mt_json_key_str(j, "exe", t->exe[0] ? t->exe : NULL);
	mt_json_key_str(j, "exe_file", t->exe_file[0] ? t->exe_file : NULL);
	mt_json_key_str(j, "allocator", t->allocator[0] ? t->allocator : NULL);
	mt_json_obj_end(j);
}

static void write_totals(struct mt_json *j, const struct mt_totals *t)
{
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "allocs", t->c.allocs);
	mt_json_key_u64(j, "frees", t->c.frees);
	mt_json_key_u64(j, "alloc_bytes", t->c.alloc_bytes);
	mt_json_key_u64(j, "free_bytes", t->c.free_bytes);
	mt_json_key_u64(j, "live_objects", t->c.live_objects);
	mt_json_key_u64(j, "live_bytes", t->c.live_bytes);
	mt_json_key_u64(j, "peak_live_bytes", t->c.peak_live_bytes);
	mt_json_key_u64(j, "untracked_frees", t->untracked_frees);
	mt_json_key_u64(j, "failed_allocs", t->failed_allocs);
	mt_json_key_u64(j, "stale_replaced", t->stale_replaced);
	mt_json_key_u64(j, "pool_idle_objects", t->claimed_objects);
	mt_json_key_u64(j, "pool_idle_bytes", t->claimed_bytes);
	mt_json_obj_end(j);
}

static void write_drops(struct mt_json *j, const struct mt_drops *d)
{
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "ringbuf_full", d->ringbuf_full);
	mt_json_key_u64(j, "stack_fail", d->stack_fail);
	mt_json_key_u64(j, "state_full", d->state_full);
	if (d->free_unsampled || d->sampled_full) {   /* sampling only */
		mt_json_key_u64(j, "free_unsampled", d->free_unsampled);
		mt_json_key_u64(j, "sampled_full", d->sampled_full);
	}
	mt_json_obj_end(j);
}

static void write_calls(struct mt_json *j, const struct mt_report *r, const uint64_t *calls)
{
	char name[16];
	unsigned i;

	mt_json_obj_begin(j);
	for (i = 0; i < r->neps; i++) {
		if (!r->ep_names[i])
			snprintf(name, sizeof(name), "ep%u", i);
		mt_json_key(j, r->ep_names[i] ? r->ep_names[i] : name);
		mt_json_u64(j, calls[i]);
	}
	mt_json_obj_end(j);
}

static void write_rates(struct mt_json *j, const struct mt_rates *r)
{
	mt_json_obj_begin(j);
	mt_json_key_double(j, "seconds", r->seconds);
	mt_json_key_double(j, "allocs_per_s", r->allocs_per_s);
	mt_json_key_double(j, "bytes_per_s", r->bytes_per_s);
	mt_json_key_double(j, "frees_per_s", r->frees_per_s);
	mt_json_obj_end(j);
}

static void write_frame(struct mt_json *j, const struct mt_frame *f)
{
	mt_json_obj_begin(j);
	mt_json_key(j, "addr");
	mt_json_hex(j, f->addr);
	mt_json_key_str(j, "func", f->func);
	mt_json_key(j, "inline");
	mt_json_bool(j, f->inlined);
	mt_json_key_u64_or_null(j, "func_off", f->func && !f->inlined, f->func_off);
	mt_json_key_str(j, "module", f->module);
	mt_json_key(j, "module_off");
	if (f->module)
		mt_json_hex(j, f->module_off);
	else
		mt_json_null(j);
	mt_json_key_str(j, "file", f->file);
	mt_json_key(j, "line");
	if (f->line > 0)
		mt_json_i64(j, f->line);
	else
		mt_json_null(j);
	mt_json_obj_end(j);
}

void mt_report_json_stack(struct mt_json *j, const struct mt_report_stack *st)
{
	uint32_t i;

	mt_json_arr_begin(j);
	for (i = 0; i < st->nframes; i++)
		write_frame(j, &st->frames[i]);
	mt_json_arr_end(j);
}

/* One entry of "leaks" or "sites": both lists share this shape. */
static void write_site(struct mt_json *j, const struct mt_report_site *s, bool reach,
		       const struct mt_report *r, bool leak)
{
	uint32_t i;

	mt_json_obj_begin(j);
	if (r->nprocs) {
		mt_json_key(j, "pid");
		mt_json_i64(j, s->pid);
	}
	mt_json_key_u64_or_null(j, "site", s->site != MT_SITE_NONE, s->site);
	mt_json_key_u64(j, "objects", s->objects);
	mt_json_key_u64(j, "bytes", s->bytes);
	mt_json_key_double_or_null(j, "oldest_age_s", s->oldest_age_s >= 0, s->oldest_age_s);
	mt_json_key_u64(j, "allocs", s->allocs);
	mt_json_key_u64(j, "frees", s->frees);
	mt_json_key_u64(j, "alloc_bytes", s->alloc_bytes);
	mt_json_key_u64(j, "free_bytes", s->free_bytes);
	mt_json_key_u64(j, "live_objects", s->live_objects);
	mt_json_key_u64(j, "live_bytes", s->live_bytes);
	mt_json_key_u64(j, "peak_live_bytes", s->peak_live_bytes);
	if (s->uncertain) {
		mt_json_key(j, "uncertain");
		mt_json_bool(j, true);
	}
	/* a borrowed entry's site id is another aggregator's */
	for (i = 0; i < r->nsite_extras && s->site != MT_SITE_NONE && !s->borrowed; i++)
		r->site_extras[i].json(j, s->site, leak, r->site_extras[i].arg);
	if (reach) {
		mt_json_key_u64(j, "lost_objects", s->lost_objects);
		mt_json_key_u64(j, "lost_bytes", s->lost_bytes);
		mt_json_key_u64(j, "reachable_objects", s->reachable_objects);
		mt_json_key_u64(j, "reachable_bytes", s->reachable_bytes);
	}
	mt_json_key_u64_or_null(j, "attributed_frame", s->stack.nframes, s->stack.attr);
	mt_json_key(j, "stack");
	mt_json_arr_begin(j);
	for (i = 0; i < s->stack.nframes; i++)
		write_frame(j, &s->stack.frames[i]);
	mt_json_arr_end(j);
	if (mt_report_stack_end_name(s->stack.end))
		mt_json_key_str(j, "end", mt_report_stack_end_name(s->stack.end));
	mt_json_obj_end(j);
}

static void write_modules(struct mt_json *j, const struct mt_report *r)
{
	mt_json_arr_begin(j);
	for (size_t i = 0; i < r->nmodules; i++) {
		const struct mt_report_module *m = &r->modules[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "path", m->path);
		mt_json_key_str(j, "build_id", m->build_id);
		mt_json_key_str(j, "unwind", m->unwind);
		mt_json_key_str(j, "symbols", mt_sym_src_name(m->symbols));
		mt_json_key(j, "lines");
		mt_json_bool(j, m->lines);
		mt_json_key_str(j, "debug_file", m->debug_file);
		if (m->debuginfod)
			mt_json_key_str(j, "debuginfod", m->debuginfod);
		mt_json_key(j, "in_stacks");
		mt_json_bool(j, m->in_stacks);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
}

static void write_sites(struct mt_json *j, const struct mt_report_site *s, size_t n, bool reach,
			const struct mt_report *r, bool leak)
{
	size_t i;

	mt_json_arr_begin(j);
	for (i = 0; i < n; i++)
		write_site(j, &s[i], reach, r, leak);
	mt_json_arr_end(j);
}

/* One image of the tree: what it is, how it ended, and its own figures. */
static void write_proc(struct mt_json *j, const struct mt_report_proc *p)
{
	const struct mt_report *r = p->r;

	mt_json_obj_begin(j);
	mt_json_key(j, "pid");
	mt_json_i64(j, p->pid);
	mt_json_key(j, "ppid");
	mt_json_i64(j, p->ppid);
	mt_json_key_str(j, "comm", r->target.comm[0] ? r->target.comm : NULL);
	mt_json_key_str(j, "exe", r->target.exe[0] ? r->target.exe : NULL);
	mt_json_key_str(j, "allocator", r->target.allocator[0] ? r->target.allocator : NULL);
	mt_json_key_str(j, "end", p->end);
	mt_json_key(j, "exit_code");
	if (p->exit_code >= 0)
		mt_json_i64(j, p->exit_code);
	else
		mt_json_null(j);
	mt_json_key_double(j, "duration_s", r->duration_s);
	mt_json_key(j, "released_at_exec");
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "objects", p->released_objects);
	mt_json_key_u64(j, "bytes", p->released_bytes);
	mt_json_obj_end(j);
	mt_json_key(j, "totals");
	write_totals(j, &r->totals);
	mt_json_key(j, "calls");
	write_calls(j, r, r->totals.calls);
	mt_json_key(j, "internal_calls");
	write_calls(j, r, r->totals.internal_calls);
	mt_json_key(j, "leaks");
	write_sites(j, r->leaks, r->nleaks, false, r, true);
	mt_json_key(j, "sites");
	write_sites(j, r->sites, r->nsites, false, r, false);
	mt_json_obj_end(j);
}

int mt_report_json(FILE *f, const struct mt_report *r)
{
	size_t nlisted = r->opts.json_leaks && r->opts.json_leaks < r->nleaks ?
			 r->opts.json_leaks : r->nleaks;
	uint64_t listed_objects = 0, listed_bytes = 0;
	struct mt_json j;
	int err = 0, ferr;
	size_t i;

	mt_json_init(&j, f);
	mt_json_obj_begin(&j);
	mt_json_key_u64(&j, "version", MT_REPORT_VERSION);
	mt_json_key(&j, "target");
	write_target(&j, &r->target);
	mt_json_key_str(&j, "mode", r->opts.launch ? "launch" : "attach");
	mt_json_key(&j, "heap_traced");
	mt_json_bool(&j, !r->opts.no_heap);
	mt_json_key_double(&j, "duration_s", r->duration_s);
	mt_json_key_double(&j, "min_age_s", r->opts.launch ? 0.0 : (double)r->opts.min_age_ns / 1e9);
	mt_json_key_u64(&j, "lost_events", r->totals.lost_events);
	if (r->sample_bytes) {
		mt_json_key(&j, "sampling");
		mt_json_obj_begin(&j);
		mt_json_key_u64(&j, "mean_bytes", r->sample_bytes);
		mt_json_key(&j, "estimated");
		mt_json_bool(&j, true);
		mt_json_obj_end(&j);
	}
	mt_json_key(&j, "drops");
	write_drops(&j, &r->drops);
	mt_json_key(&j, "totals");
	write_totals(&j, &r->totals);
	mt_json_key(&j, "calls");
	write_calls(&j, r, r->totals.calls);
	mt_json_key(&j, "internal_calls");
	write_calls(&j, r, r->totals.internal_calls);
	mt_json_key(&j, "rates");
	mt_json_obj_begin(&j);
	mt_json_key(&j, "interval");
	write_rates(&j, &r->interval);
	mt_json_key(&j, "run");
	write_rates(&j, &r->run);
	mt_json_obj_end(&j);
	mt_json_key_u64_or_null(&j, "untraced_children", r->untraced_children >= 0,
				(uint64_t)r->untraced_children);
	mt_json_key(&j, "leak_summary");
	mt_json_obj_begin(&j);
	mt_json_key_u64(&j, "stacks", r->nleaks);
	mt_json_key_u64(&j, "objects", r->leak_objects);
	mt_json_key_u64(&j, "bytes", r->leak_bytes);
	/* "leaks" lists the largest first; what it leaves out is summed here,
	 * so the totals stay whole without a line per stack */
	for (i = 0; i < nlisted; i++) {
		listed_objects += r->leaks[i].objects;
		listed_bytes += r->leaks[i].bytes;
	}
	mt_json_key_u64(&j, "listed", nlisted);
	mt_json_key_u64(&j, "omitted_objects", r->leak_objects - listed_objects);
	mt_json_key_u64(&j, "omitted_bytes", r->leak_bytes - listed_bytes);
	if (r->reach) {
		mt_json_key_u64(&j, "lost_objects", r->lost_objects);
		mt_json_key_u64(&j, "lost_bytes", r->lost_bytes);
		mt_json_key_u64(&j, "reachable_objects", r->reachable_objects);
		mt_json_key_u64(&j, "reachable_bytes", r->reachable_bytes);
	}
	mt_json_obj_end(&j);
	mt_json_key(&j, "leaks");
	write_sites(&j, r->leaks, nlisted, r->reach, r, true);
	mt_json_key_str(&j, "sort", mt_report_sort_name(r->opts.sort));
	mt_json_key(&j, "sites");
	write_sites(&j, r->sites, r->opts.json_sites && r->opts.json_sites < r->nsites ?
		    r->opts.json_sites : r->nsites, false, r, false);
	mt_json_key(&j, "modules");
	write_modules(&j, r);
	if (r->nprocs) {
		size_t k;

		mt_json_key(&j, "processes");
		mt_json_arr_begin(&j);
		for (k = 0; k < r->nprocs; k++)
			write_proc(&j, &r->procs[k]);
		mt_json_arr_end(&j);
	}
	for (i = 0; i < r->nextras && !err; i++) {
		if (!r->extras[i].json)
			continue;
		mt_json_key(&j, r->extras[i].key);
		err = r->extras[i].json(&j, r->extras[i].arg);
	}
	mt_json_obj_end(&j);
	ferr = mt_json_finish(&j);
	return err ? err : ferr;
}
