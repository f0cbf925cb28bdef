// SPDX-License-Identifier: BSD-2-Clause
/* The "go" report section, JSON and text (see mt_go_report.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "go/mt_go_detect.h"
#include "go/mt_go_heap.h"
#include "go/mt_go_report.h"
#include "go/mt_go_gc.h"
#include "go/mt_go_surv.h"
#include "util/mt_fmt.h"
#include "util/mt_json.h"

#include <linux/types.h>
#include "go_alloc.h"

static const char *end_name(uint8_t end)
{
	switch (end) {
	case MT_GO_END_ROOT: return "root";
	case MT_GO_END_DEPTH: return "depth";
	case MT_GO_END_FAULT: return "fault";
	default: return NULL;
	}
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

void mt_go_report_json_version(struct mt_json *j, const struct mt_go_info *gi)
{
	mt_json_key_str(j, "version", gi->version[0] ? gi->version : NULL);
	mt_json_key(j, "version_known");
	mt_json_bool(j, gi->known);
	mt_json_key_str(j, "note", gi->known ? NULL : gi->why);
	mt_json_key(j, "cgo");
	mt_json_bool(j, gi->cgo);
}

static void json_frame(struct mt_json *j, const struct mt_go_frame *f)
{
	mt_json_obj_begin(j);
	mt_json_key(j, "pc");
	mt_json_hex(j, f->pc);
	mt_json_key_str(j, "function", f->func);
	mt_json_key_str(j, "file", f->file);
	mt_json_key_u64(j, "line", (uint64_t)(f->line > 0 ? f->line : 0));
	mt_json_obj_end(j);
}

/* A site's or type's survival: absent when none of its samples was
 * decided (or survival is not estimated). */
static void json_surv(struct mt_json *j, uint64_t sampled, uint64_t survived)
{
	if (!sampled)
		return;
	mt_json_key(j, "survival");
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "sampled", sampled);
	mt_json_key_u64(j, "survived_one_gc", survived);
	mt_json_key_double(j, "fraction", mt_go_short_lived(sampled, survived));
	mt_json_obj_end(j);
}

static void json_site(struct mt_json *j, const struct mt_go_heap *h, const struct mt_go_site *s)
{
	const struct mt_go_frame *a = s->nframes ? &s->frames[s->attr] : NULL;
	uint32_t i;

	mt_json_obj_begin(j);
	mt_json_key_str(j, "function", a ? a->func : NULL);
	mt_json_key_str(j, "file", a ? a->file : NULL);
	mt_json_key_u64(j, "line", a && a->line > 0 ? (uint64_t)a->line : 0);
	mt_json_key_str(j, "type", s->type[0] ? s->type : NULL);
	mt_json_key_u64(j, "type_size", s->type_size);
	mt_json_key_str(j, "via", s->via);
	mt_json_key_u64(j, "allocs", s->allocs);
	mt_json_key_u64(j, "bytes", s->bytes);
	if (h->traced_fraction > 0)
		mt_json_key_u64(j, "counted_allocs", s->counted_allocs);
	mt_json_key_double(j, "allocs_per_s", per_s(s->allocs, h->duration_s));
	mt_json_key_double(j, "bytes_per_s", per_s(s->bytes, h->duration_s));
	mt_json_key_double(j, "gc_share", h->bytes ? (double)s->bytes / (double)h->bytes : 0);
	mt_json_key_str(j, "advice", s->advice);
	json_surv(j, s->surv ? s->surv_sampled : 0, s->surv_survived);
	mt_json_key_u64(j, "attr", s->attr);
	mt_json_key_str(j, "end", end_name(s->end));
	mt_json_key(j, "stack");
	mt_json_arr_begin(j);
	for (i = 0; i < s->nframes; i++)
		json_frame(j, &s->frames[i]);
	mt_json_arr_end(j);
	mt_json_obj_end(j);
}

void mt_go_report_json_heap(struct mt_json *j, const struct mt_go_heap *h, const char *off)
{
	size_t i;

	mt_json_key(j, "heap_traced");
	mt_json_bool(j, h != NULL);
	if (!h) {
		mt_json_key_str(j, "heap_note", off);
		return;
	}
	mt_json_key_u64(j, "allocs", h->calls);
	mt_json_key_u64(j, "bytes", h->bytes);
	/* the overhead budget's label, as on the C allocator's figures */
	mt_json_key(j, "estimated");
	mt_json_bool(j, h->traced_fraction > 0);
	mt_json_key_double(j, "traced_fraction", h->traced_fraction > 0 ? h->traced_fraction : 1);
	mt_json_key_u64(j, "counted_allocs", h->counted_calls);
	mt_json_key_u64(j, "counted_bytes", h->counted_bytes);
	mt_json_key_double(j, "duration_s", h->duration_s);
	mt_json_key_double(j, "allocs_per_s", per_s(h->calls, h->duration_s));
	mt_json_key_double(j, "bytes_per_s", per_s(h->bytes, h->duration_s));
	mt_json_key_u64(j, "unsited", h->unsited);
	mt_json_key(j, "types");
	mt_json_arr_begin(j);
	for (i = 0; i < h->ntypes; i++) {
		const struct mt_go_type_sum *t = &h->types[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "type", t->type[0] ? t->type : NULL);
		mt_json_key_u64(j, "allocs", t->allocs);
		mt_json_key_u64(j, "bytes", t->bytes);
		if (h->traced_fraction > 0)
			mt_json_key_u64(j, "counted_allocs", t->counted_allocs);
		mt_json_key_double(j, "allocs_per_s", per_s(t->allocs, h->duration_s));
		mt_json_key_double(j, "bytes_per_s", per_s(t->bytes, h->duration_s));
		mt_json_key_double(j, "gc_share", h->bytes ? (double)t->bytes / (double)h->bytes : 0);
		json_surv(j, t->surv_sampled, t->surv_survived);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key(j, "sites");
	mt_json_arr_begin(j);
	for (i = 0; i < h->nsites; i++)
		json_site(j, h, &h->sites[i]);
	mt_json_arr_end(j);
}

/* "survival": how the samples went, or null with "survival_note". */
static void json_survival(struct mt_json *j, const struct mt_go_report *gr)
{
	const char *why = "the Go heap is not traced";
	const struct mt_go_surv *sv = gr->heap ? mt_go_gc_surv(gr->gc, &why) : NULL;
	struct mt_go_surv_stats st;

	mt_json_key(j, "survival");
	if (!sv) {
		mt_json_null(j);
		mt_json_key_str(j, "survival_note", why);
		return;
	}
	mt_go_surv_stats(sv, &st);
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "sample_every", MT_GO_SAMPLE_MASK + 1);
	mt_json_key_u64(j, "samples", st.samples + gr->heap->sample_drops);   /* taken */
	mt_json_key_u64(j, "decided", st.decided);
	mt_json_key_u64(j, "survived_one_gc", st.survived);
	mt_json_key_u64(j, "expired", st.expired);
	mt_json_key_u64(j, "not_heap", st.not_heap);
	mt_json_key_u64(j, "pending", st.pending);
	mt_json_key_u64(j, "lost", st.dropped + gr->heap->sample_drops);
	mt_json_obj_end(j);
}

int mt_go_report_json(struct mt_json *j, void *arg)
{
	const struct mt_go_report *gr = arg;

	mt_json_obj_begin(j);
	mt_go_report_json_version(j, gr->info);
	mt_go_report_json_heap(j, gr->heap, gr->heap_off);
	json_survival(j, gr);
	if (gr->gc)
		mt_go_gc_json_members(j, gr->gc);   /* "gc", "memstats" */
	mt_json_obj_end(j);
	return 0;
}

static void text_frame(FILE *f, const struct mt_go_frame *fr, bool attr)
{
	fprintf(f, "      %s %s", attr ? "=>" : "  ", fr->func ? fr->func : "?");
	if (fr->file)
		fprintf(f, " (%s:%d)", fr->file, fr->line);
	else
		fprintf(f, " [0x%llx]", (unsigned long long)fr->pc);
	fputc('\n', f);
}

void mt_go_report_text_heap(FILE *f, const struct mt_go_report *gr)
{
	const struct mt_go_heap *h = gr->heap;
	unsigned top = gr->top ? gr->top : 10, maxf = gr->max_frames ? gr->max_frames : 8;
	char b1[32], b2[32];
	size_t i;

	if (!h) {
		fprintf(f, "  heap: not traced%s%s\n", gr->heap_off ? ": " : "",
			gr->heap_off ? gr->heap_off : "");
		return;
	}
	mt_fmt_bytes(b1, sizeof(b1), h->bytes);
	mt_fmt_bytes(b2, sizeof(b2), (uint64_t)per_s(h->bytes, h->duration_s));
	if (h->traced_fraction > 0)
		fprintf(f, "  (estimated) overhead budget: runtime.mallocgc probed %.2f%% of the time, "
			"%llu calls counted: figures below are estimates (x%.1f); --max-overhead off "
			"traces every call\n", h->traced_fraction * 100,
			(unsigned long long)h->counted_calls, 1 / h->traced_fraction);
	fprintf(f, "  heap (runtime.mallocgc): %s%llu allocations, %s, %.0f/s, %s/s\n",
		h->traced_fraction > 0 ? "~" : "",
		(unsigned long long)h->calls, b1, per_s(h->calls, h->duration_s), b2);
	if (h->unsited)
		fprintf(f, "  warning: %llu allocations not counted per site (site table full)\n",
			(unsigned long long)h->unsited);
	{
		const char *why;
		const struct mt_go_surv *sv = mt_go_gc_surv(gr->gc, &why);
		struct mt_go_surv_stats st;

		if (!sv) {
			fprintf(f, "  GC survival not estimated: %s\n", why);
		} else {
			mt_go_surv_stats(sv, &st);
			fprintf(f, "  GC survival: %llu sampled objects (1 call in %u per site) read "
				"after their first GC, %llu expired before, %llu waiting at the end\n",
				(unsigned long long)st.decided, MT_GO_SAMPLE_MASK + 1,
				(unsigned long long)st.expired, (unsigned long long)st.pending);
		}
	}
	if (h->ntypes)
		fprintf(f, "  types by bytes allocated:\n");
	for (i = 0; i < h->ntypes && i < top; i++) {
		mt_fmt_bytes(b1, sizeof(b1), h->types[i].bytes);
		fprintf(f, "    %10s %5.1f%% %10llu allocs  %s\n", b1,
			h->bytes ? 100.0 * (double)h->types[i].bytes / (double)h->bytes : 0.0,
			(unsigned long long)h->types[i].allocs,
			h->types[i].type[0] ? h->types[i].type : "(untyped)");
	}
	if (h->nsites)
		fprintf(f, "  sites by bytes allocated (share of the GC's work):\n");
	for (i = 0; i < h->nsites && i < top; i++) {
		const struct mt_go_site *s = &h->sites[i];
		const struct mt_go_frame *a = s->nframes ? &s->frames[s->attr] : NULL;
		uint32_t k;

		mt_fmt_bytes(b1, sizeof(b1), s->bytes);
		fprintf(f, "    %10s %5.1f%% %10llu allocs %8.0f/s  %s  %s\n", b1,
			h->bytes ? 100.0 * (double)s->bytes / (double)h->bytes : 0.0,
			(unsigned long long)s->allocs, per_s(s->allocs, h->duration_s),
			s->type[0] ? s->type : "(untyped)", a && a->func ? a->func : "?");
		if (s->surv)
			fprintf(f, "      GC survival: %.0f%% of %llu sampled objects died before "
				"their first GC\n",
				100 * mt_go_short_lived(s->surv_sampled, s->surv_survived),
				(unsigned long long)s->surv_sampled);
		if (s->advice)
			fprintf(f, "      advice: %s\n", s->advice);
		for (k = 0; k < s->nframes && k < maxf; k++)
			text_frame(f, &s->frames[k], k == s->attr);
		if (s->nframes > maxf)
			fprintf(f, "         ... %u more\n", s->nframes - maxf);
	}
}

int mt_go_report_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_go_report *gr = arg;
	const struct mt_go_info *gi = gr->info;

	if (!final)
		return 0;
	fprintf(f, "\nGo (%s%s%s):\n", gi->version[0] ? gi->version : "version unknown",
		gi->known ? "" : "; ", gi->known ? "" : gi->why);
	mt_go_report_text_heap(f, gr);
	if (gr->gc && mt_go_gc_text(f, gr->gc))
		return -EIO;
	return ferror(f) ? -EIO : 0;
}
