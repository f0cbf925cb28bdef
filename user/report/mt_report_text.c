// SPDX-License-Identifier: BSD-2-Clause
/*
 * The text reporter: what a person reads at a terminal, under 80 columns
 * except for long paths and symbol names. The periodic report is the head
 * of the final one (totals, rates, top 5 sites, losses when there are any);
 * the final report adds calls, all top sites, the leak candidates and an
 * always-present lost-events line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "report/mt_report.h"
#include "util/mt_fmt.h"

static void print_frame(FILE *f, const struct mt_frame *fr)
{
	if (fr->func && fr->inlined)
		fprintf(f, "      %s [inline]", fr->func);
	else if (fr->func)
		fprintf(f, "      %s+0x%" PRIx64, fr->func, fr->func_off);
	else
		fprintf(f, "      0x%" PRIx64, fr->addr);
	if (fr->module)
		fprintf(f, fr->func ? " (%s)" : " (%s+0x%" PRIx64 ")",
			mt_basename(fr->module), fr->module_off);
	else if (!fr->func)
		fputs(" [unknown]", f);
	if (fr->file)
		fprintf(f, " %s:%d", mt_basename(fr->file), fr->line);
	fputc('\n', f);
}

/* The wrapper chain in one line, then the frames from the one the site is
 * attributed to: max frames are the program's, not its wrappers. */
static void print_stack(FILE *f, const struct mt_report_stack *st, unsigned max)
{
	uint32_t i, a = st->attr < st->nframes ? st->attr : 0;
	uint32_t n = st->nframes - a < max ? st->nframes - a : max;

	if (!st->nframes)
		fputs("      (no stack)\n", f);
	if (a) {
		fputs("      via", f);
		for (i = 0; i < a; i++)
			fprintf(f, "%s %s", i ? " <-" : "",
				st->frames[i].func ? st->frames[i].func : "?");
		fputc('\n', f);
	}
	for (i = a; i < a + n; i++)
		print_frame(f, &st->frames[i]);
	if (st->nframes > a + n)
		fprintf(f, "      ... %u more frames\n", st->nframes - a - n);
	if (st->nframes && mt_report_stack_cut_reason(st->end))
		fprintf(f, "      -- stack cut: %s\n", mt_report_stack_cut_reason(st->end));
}

void mt_report_text_stack(FILE *f, const struct mt_report_stack *st, unsigned max_frames)
{
	print_stack(f, st, max_frames);
}

static void print_rates(FILE *f, const char *name, const struct mt_rates *r)
{
	fprintf(f, "  %-8s %6.1f s: %10.1f allocs/s %9.2f MiB/s %10.1f frees/s\n",
		name, r->seconds, r->allocs_per_s, r->bytes_per_s / (1024.0 * 1024.0),
		r->frees_per_s);
}

static void print_calls(FILE *f, const struct mt_report *r, const char *title,
			const uint64_t *calls)
{
	int col = 8, w;
	unsigned i;

	fputs(title, f);
	for (i = 0; i < r->neps; i++) {
		char item[96];

		if (r->ep_names[i])
			w = snprintf(item, sizeof(item), " %s %" PRIu64, r->ep_names[i], calls[i]);
		else
			w = snprintf(item, sizeof(item), " ep%u %" PRIu64, i, calls[i]);
		if (col + w > 78 && col > 8) {
			fputs("\n       ", f);
			col = 8;
		}
		fputs(item, f);
		col += w;
	}
	fputc('\n', f);
}

static void print_site(FILE *f, unsigned rank, const struct mt_report_site *s, unsigned frames)
{
	char live[16], total[16], peak[16];

	fprintf(f, "  #%u %s live in %" PRIu64 " objects; %" PRIu64 " allocs, %s, peak %s",
		rank, mt_fmt_bytes(live, sizeof(live), s->live_bytes), s->live_objects,
		s->allocs, mt_fmt_bytes(total, sizeof(total), s->alloc_bytes),
		mt_fmt_bytes(peak, sizeof(peak), s->peak_live_bytes));
	if (s->uncertain)
		fputs(" [uncertain: events lost]", f);
	fputc('\n', f);
	print_stack(f, &s->stack, frames);
}

/* How the modules of the shown stacks were unwound and named: why a frame
 * has no name, or no file:line, at a glance. */
static void print_modules(FILE *f, const struct mt_report *r)
{
	bool any = false;

	for (size_t i = 0; i < r->nmodules; i++) {
		const struct mt_report_module *m = &r->modules[i];

		if (!m->in_stacks)
			continue;
		if (!any)
			fputs("modules in these stacks (unwind, names):\n", f);
		any = true;
		fprintf(f, "  %-24s %-3s %s%s", mt_basename(m->path), m->unwind,
			mt_sym_src_name(m->symbols), m->lines ? ", lines" : ", no lines");
		if (m->debuginfod && strcmp(m->debuginfod, "found"))
			fprintf(f, " (debuginfod: %s)", m->debuginfod);
		fputc('\n', f);
	}
}

static void print_leak(FILE *f, const struct mt_report *r, size_t rank,
		       const struct mt_report_site *l, uint64_t bytes, uint64_t objects)
{
	char b[16];

	fprintf(f, "  #%zu %s in %" PRIu64 " objects, oldest %.3f s", rank,
		mt_fmt_bytes(b, sizeof(b), bytes), objects, l->oldest_age_s);
	if (l->site == MT_SITE_NONE)
		fputs(", stack not recorded", f);
	if (l->uncertain)
		fputs(" [uncertain: a lost free may show as a leak]", f);
	fputc('\n', f);
	print_stack(f, &l->stack, r->opts.max_frames);
}

/* The stacks a list leaves out: where to find them (the JSON lists the
 * largest --json-leaks of them). */
static void more_stacks(FILE *f, const struct mt_report *r, size_t hidden)
{
	if (!hidden)
		return;
	if (r->opts.json_leaks && r->opts.json_leaks < r->nleaks)
		fprintf(f, "  ... %zu more stacks (the JSON report lists the largest %zu; "
			"--json-leaks all lists every one)\n", hidden, r->opts.json_leaks);
	else
		fprintf(f, "  ... %zu more stacks (see the JSON report)\n", hidden);
}

/* qsort: the leaks of one reachability class, most bytes first. */
static bool by_lost;
static int reach_cmp(const void *pa, const void *pb)
{
	const struct mt_report_site *a = *(const struct mt_report_site *const *)pa;
	const struct mt_report_site *b = *(const struct mt_report_site *const *)pb;
	uint64_t x = by_lost ? a->lost_bytes : a->reachable_bytes;
	uint64_t y = by_lost ? b->lost_bytes : b->reachable_bytes;

	if (x != y)
		return x > y ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

/* With --reachability, in valgrind's terms so the split reads familiar:
 * definitely lost, then still reachable, each its own list: a static cache
 * or stdout's buffer is not read as a leak. A site with both kinds of
 * blocks is in both lists, with its share in each. */
static int print_reach_leaks(FILE *f, const struct mt_report *r)
{
	const struct mt_report_site **v;
	char b[16];
	size_t i, n, shown;
	int pass;

	v = malloc((r->nleaks ? r->nleaks : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		bool lost = pass == 0;

		for (i = n = 0; i < r->nleaks; i++)
			if (lost ? r->leaks[i].lost_objects : r->leaks[i].reachable_objects)
				v[n++] = &r->leaks[i];
		by_lost = lost;
		qsort(v, n, sizeof(*v), reach_cmp);
		fprintf(f, "%s: %s in %" PRIu64 " objects at %zu stack%s%s\n",
			lost ? "definitely lost" : "still reachable",
			mt_fmt_bytes(b, sizeof(b), lost ? r->lost_bytes : r->reachable_bytes),
			lost ? r->lost_objects : r->reachable_objects, n, n == 1 ? "" : "s",
			lost ? " (no pointer to them anywhere)" :
			" (pointed to from globals, stacks or other live blocks)");
		shown = n < r->opts.top_sites ? n : r->opts.top_sites;
		for (i = 0; i < shown; i++)
			print_leak(f, r, i + 1, v[i], lost ? v[i]->lost_bytes : v[i]->reachable_bytes,
				   lost ? v[i]->lost_objects : v[i]->reachable_objects);
		more_stacks(f, r, n - shown);
	}
	free(v);
	return 0;
}

static int print_leaks(FILE *f, const struct mt_report *r)
{
	char b[16];
	size_t i, n = r->nleaks < r->opts.top_sites ? r->nleaks : r->opts.top_sites;

	fprintf(f, "%zu leak candidate%s, %s (%" PRIu64 " bytes) in %" PRIu64 " objects",
		r->nleaks, r->nleaks == 1 ? "" : "s", mt_fmt_bytes(b, sizeof(b), r->leak_bytes), r->leak_bytes,
		r->leak_objects);
	if (r->opts.launch)
		fputs(" (live at exit)\n", f);
	else
		fprintf(f, " (live, older than %.3f s)\n", (double)r->opts.min_age_ns / 1e9);
	if (r->reach)
		return print_reach_leaks(f, r);
	for (i = 0; i < n; i++)
		print_leak(f, r, i + 1, &r->leaks[i], r->leaks[i].bytes, r->leaks[i].objects);
	more_stacks(f, r, r->nleaks - n);
	return 0;
}

static void print_losses(FILE *f, const struct mt_report *r, bool final)
{
	const struct mt_drops *d = &r->drops;
	/* lost_events already holds ringbuf_full + state_full */
	uint64_t lost = r->totals.lost_events;

	if (!lost) {
		if (final)
			fputs("lost events: 0\n", f);
	} else {
		fprintf(f, "lost events: %" PRIu64 "\n", r->totals.lost_events);
		fprintf(f, "WARNING: %" PRIu64 " allocator calls were not seen: "
			"ring buffer full %" PRIu64 ",\n"
			"  no per-thread slot %" PRIu64 ".\n"
			"  A lost free shows as a false leak, a lost alloc as an untracked\n"
			"  free; the counts above are not exact.\n",
			lost, d->ringbuf_full, d->state_full);
		if (d->ringbuf_full)
			fputs("  A larger ring (--ringbuf-mb, default 2) or --sample-bytes "
			      "loses fewer.\n", f);
	}
	if (d->stack_fail)
		fprintf(f, "stack capture failed for %" PRIu64 " events (kept with the "
			"call site only)\n", d->stack_fail);
}

static const char *sort_title(enum mt_report_sort s)
{
	switch (s) {
	case MT_SORT_ALLOC_BYTES: return "bytes allocated";
	case MT_SORT_ALLOCS:      return "allocations";
	case MT_SORT_RATE:        return "allocation rate";
	case MT_SORT_GROWTH:      return "growth";
	default:                  return "live bytes";
	}
}

int mt_report_text(FILE *f, const struct mt_report *r, bool final)
{
	const struct mt_totals *t = &r->totals;
	const struct mt_counts *c = &t->c;
	char b1[16], b2[16], b3[16];
	unsigned i, nsites;
	int err = 0;

	fprintf(f, "memtrace: pid %d (%s) %s, %.3f s%s\n", r->target.pid,
		r->target.comm[0] ? r->target.comm : "?", r->target.exe,
		r->duration_s, final ? ", final report" : "");
	if (r->opts.no_heap)
		goto extras;  /* only the kernel-side view was traced */
	if (r->sample_bytes)
		fprintf(f, "(estimated) sampling 1 in ~%" PRIu64 " bytes: object and byte figures "
			"are estimates; calls are exact\n", r->sample_bytes);
	if (r->traced_fraction > 0)
		fprintf(f, "(estimated) overhead budget: allocator probes armed %.2f%% of the time: "
			"counts are estimates (x%.1f for totals); --max-overhead off traces every call\n",
			r->traced_fraction * 100, 1 / r->traced_fraction);
	fprintf(f, "allocs %" PRIu64 " (%s)  frees %" PRIu64 " (%s)\n",
		c->allocs, mt_fmt_bytes(b1, sizeof(b1), c->alloc_bytes),
		c->frees, mt_fmt_bytes(b2, sizeof(b2), c->free_bytes));
	fprintf(f, "live %" PRIu64 " objects, %s  peak %s\n", c->live_objects,
		mt_fmt_bytes(b1, sizeof(b1), c->live_bytes),
		mt_fmt_bytes(b3, sizeof(b3), c->peak_live_bytes));
	fprintf(f, "untracked frees %" PRIu64 "  failed allocs %" PRIu64,
		t->untracked_frees, t->failed_allocs);
	if (t->stale_replaced)
		fprintf(f, "  reused live addresses %" PRIu64, t->stale_replaced);
	fputc('\n', f);
	fputs("rates:\n", f);
	if (r->interval.seconds > 0)
		print_rates(f, "interval", &r->interval);
	print_rates(f, "run", &r->run);
	if (final) {
		uint64_t internal = 0;

		print_calls(f, r, "calls: ", r->totals.calls);
		for (i = 0; i < r->neps; i++)
			internal += r->totals.internal_calls[i];
		/* the allocator's own calls (glibc's thread exit): rarely any */
		if (internal)
			print_calls(f, r, "internal calls (the allocator's own, not the program's):\n       ",
				    r->totals.internal_calls);
	}
	if (final && r->nprocs) {
		fprintf(f, "processes (%zu images; the figures above are the whole tree's):\n", r->nprocs);
		for (i = 0; i < r->nprocs; i++) {
			const struct mt_report_proc *p = &r->procs[i];
			const struct mt_counts *pc = &p->r->totals.c;

			fprintf(f, "  pid %d (ppid %d) %s: allocs %" PRIu64 " frees %" PRIu64
				" live %" PRIu64 " (%s), ", p->pid, p->ppid, p->r->target.exe, pc->allocs,
				pc->frees, pc->live_objects, mt_fmt_bytes(b1, sizeof(b1), pc->live_bytes));
			if (strcmp(p->end, "exec") == 0)
				fprintf(f, "replaced by exec (%" PRIu64 " blocks released, not leaks)\n",
					p->released_objects);
			else if (p->exit_code >= 0)
				fprintf(f, "exited %d\n", p->exit_code);
			else
				fprintf(f, "%s\n", p->end);
		}
	}
	if (final && r->untraced_children > 0)
		fprintf(f, "%" PRId64 " child processes were created and not traced (-f follows them)\n",
			r->untraced_children);

	/* with all_sites the model holds every site: --top bounds the text */
	nsites = r->nsites < r->opts.top_sites ? (unsigned)r->nsites : r->opts.top_sites;
	if (!final && nsites > MT_REPORT_PERIODIC_SITES)
		nsites = MT_REPORT_PERIODIC_SITES;
	fprintf(f, "top %u sites by %s:\n", nsites, sort_title(r->opts.sort));
	for (i = 0; i < nsites; i++)
		print_site(f, i + 1, &r->sites[i], final ? r->opts.max_frames : 3);

	if (final && !err)
		err = print_leaks(f, r);
	if (final)
		print_modules(f, r);
extras:
	for (i = 0; i < r->nextras; i++) {
		if (r->extras[i].text) {
			err = r->extras[i].text(f, r, final, r->extras[i].arg);
			if (err)
				break;
		}
	}
	print_losses(f, r, final);
	if (final)
		fputc('\n', f);
	if (fflush(f) != 0 || ferror(f))
		err = err ? err : (errno ? -errno : -EIO);
	return err;
}
