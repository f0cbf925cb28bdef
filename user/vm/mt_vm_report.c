// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory view's text section and "memory" JSON object. Both read the
 * same figures through vm_figures(), so they cannot disagree. Field
 * meanings: docs/memory-stats.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "report/mt_report.h"
#include "util/mt_fmt.h"
#include "vm/mt_vm_int.h"

#define TOP_MAPPINGS 10
#define TEXT_ORIGINS 5
#define TEXT_FRAMES 6
#define TEXT_POINTS 12

struct figures {
	uint64_t rss[MT_VM_RSS_N], rss_total, rss_status;
	bool have_rss_status;
	uint64_t heap_resident;
	bool have_heap_resident, have_ratio;
	double efficiency, fragmentation, duration_s, fault_rate;
	int64_t overhead;
	uint64_t drops[MT_VM_C_COUNT];
};

static void vm_figures(struct mt_vm *vm, struct figures *f)
{
	uint64_t end_ns;

	memset(f, 0, sizeof(*f));
	if (vm->finished)
		memcpy(f->rss, vm->rss_final, sizeof(f->rss));
	else
		mt_vm_rss_now(vm, f->rss);
	f->rss_total = f->rss[MT_VM_RSS_ANON] + f->rss[MT_VM_RSS_FILE] + f->rss[MT_VM_RSS_SHMEM];
	f->have_rss_status = vm->finished && vm->have_status;
	f->rss_status = vm->status_final.vm_rss;
	f->have_heap_resident = vm->finished && vm->have_heap_res;
	f->heap_resident = vm->heap_res.brk_heap + vm->heap_res.anon_heap;
	f->have_ratio = f->have_heap_resident && vm->heap_known && f->heap_resident > 0;
	if (f->have_ratio) {
		f->efficiency = (double)vm->heap_live_bytes / (double)f->heap_resident;
		f->fragmentation = 1.0 - f->efficiency;
		f->overhead = (int64_t)f->heap_resident - (int64_t)vm->heap_live_bytes;
	}
	end_ns = vm->finished ? vm->final_ns : vm->st.start_ns;
	f->duration_s = end_ns > vm->st.start_ns ? (end_ns - vm->st.start_ns) / 1e9 : 0;
	f->fault_rate = f->duration_s > 0 ? vm->st.t.page_faults / f->duration_s : 0;
	mt_vm_counters(vm, f->drops);
}

static const char *origin_kind(enum mt_vm_origin_kind k)
{
	switch (k) {
	case MT_VM_O_MMAP: return "mmap";
	case MT_VM_O_BRK: return "brk";
	case MT_VM_O_PRE: return "pre-existing";
	default: return "unknown";
	}
}

static const char *alloc_class(enum mt_vm_alloc_class a)
{
	return a == MT_VM_A_ALLOCATOR ? "allocator" : a == MT_VM_A_OTHER ? "program" : NULL;
}

/* ---- JSON ---- */

/* An origin's frames as a report stack, so they read exactly like the
 * heap's in text and JSON: inline frames, names, how the walk ended.
 * Out of memory leaves the frames out (the end stays). */
static void origin_stack(struct mt_vm *vm, const struct mt_vm_origin *o, struct mt_report_stack *st)
{
	if (mt_report_stack_from(st, o->frames, o->nframes, (uint8_t)o->end, vm->sym))
		mt_report_stack_release(st);
}

/* END_KEY names how the walk ended: "end" as beside every other stack,
 * but a single mapping's "end" is its end address, so there the walk's
 * end is "stack_end" (an object with one key twice is invalid JSON for
 * most readers, and the last one wins in the rest). */
static void json_stack(struct mt_json *j, struct mt_vm *vm, const struct mt_vm_origin *o,
		       const char *end_key)
{
	struct mt_report_stack st;

	origin_stack(vm, o, &st);
	mt_json_key(j, "stack");
	mt_report_json_stack(j, &st);
	if (mt_report_stack_end_name(st.end))
		mt_json_key_str(j, end_key, mt_report_stack_end_name(st.end));
	mt_report_stack_release(&st);
}

static void json_counts(struct mt_json *j, const struct mt_vm_counts *c)
{
	mt_json_key_u64(j, "mmaps", c->mmaps);
	mt_json_key_u64(j, "mremaps", c->mremaps);
	mt_json_key_u64(j, "munmaps", c->munmaps);
	mt_json_key_u64(j, "bytes_mapped", c->bytes_mapped);
	mt_json_key_u64(j, "bytes_unmapped", c->bytes_unmapped);
	mt_json_key_u64(j, "bytes_released", c->bytes_released);
	mt_json_key_u64(j, "page_faults", c->page_faults);
	mt_json_key_u64(j, "bytes_faulted", c->bytes_faulted);
}

static void json_origin_head(struct mt_json *j, const struct mt_vm_origin *o)
{
	mt_json_key(j, "kind");
	mt_json_str(j, origin_kind(o->kind));
	mt_json_key(j, "name");
	mt_json_str(j, o->name);
	mt_json_key(j, "class");
	mt_json_str(j, alloc_class(o->alloc));
}

static void json_ratio(struct mt_json *j, const char *key, bool have, double v)
{
	mt_json_key(j, key);
	if (have)
		mt_json_double(j, v);
	else
		mt_json_null(j);
}

static void json_opt_u64(struct mt_json *j, const char *key, bool have, uint64_t v)
{
	mt_json_key(j, key);
	if (have)
		mt_json_u64(j, v);
	else
		mt_json_null(j);
}

static int json_lists(struct mt_json *j, struct mt_vm *vm)
{
	struct mt_vm_rec *recs = NULL;
	uint32_t *order = NULL;
	int n, i;

	n = mt_vm_stat_sorted_origins(&vm->st, &order);
	if (n < 0)
		return n;
	mt_json_key(j, "mappings");
	mt_json_arr_begin(j);
	for (i = 0; i < n; i++) {
		const struct mt_vm_origin *o = &vm->st.origins[order[i]];

		mt_json_obj_begin(j);
		json_origin_head(j, o);
		json_counts(j, &o->c);
		json_stack(j, vm, o, "end");
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	free(order);

	n = mt_vm_stat_top_recs(&vm->st, TOP_MAPPINGS, &recs);
	if (n < 0)
		return n;
	mt_json_key(j, "top_mappings");
	mt_json_arr_begin(j);
	for (i = 0; i < n; i++) {
		const struct mt_vm_rec *r = &recs[i];
		const struct mt_vm_origin *o = &vm->st.origins[r->origin];

		mt_json_obj_begin(j);
		mt_json_key(j, "start");
		mt_json_hex(j, r->start);
		mt_json_key(j, "end");
		mt_json_hex(j, r->end);
		json_origin_head(j, o);
		mt_json_key(j, "alive");
		mt_json_bool(j, r->alive);
		mt_json_key_u64(j, "live_bytes", r->alive ? r->live_bytes : 0);
		mt_json_key_u64(j, "page_faults", r->page_faults);
		mt_json_key_u64(j, "bytes_faulted", r->bytes_faulted);
		mt_json_key_u64(j, "bytes_released", r->bytes_released);
		json_stack(j, vm, o, "stack_end");
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	free(recs);
	return 0;
}

int mt_vm_write_json(struct mt_json *j, void *arg)
{
	struct mt_vm *vm = arg;
	const struct mt_vm_totals *t = &vm->st.t;
	struct figures f;
	size_t i;
	int err;

	vm_figures(vm, &f);
	mt_json_obj_begin(j);
	mt_json_key(j, "attach");
	mt_json_obj_begin(j);
	mt_json_key(j, "syscalls");
	mt_json_str(j, vm->att_sys);
	mt_json_key_u64(j, "syscall_sites", vm->sites.sites);
	mt_json_key_u64(j, "syscall_site_objects", vm->sites.objects);
	mt_json_key_u64(j, "dynamic_syscall_sites", vm->sites.dynamic);
	mt_json_key(j, "page_faults");
	mt_json_str(j, vm->att_fault);
	mt_json_key(j, "kernel_page_faults");
	mt_json_str(j, vm->att_kfault);
	mt_json_key(j, "rss");
	mt_json_str(j, vm->att_rss ? vm->att_rss : "procfs");
	mt_json_obj_end(j);
	mt_json_key(j, "duration_s");
	mt_json_double(j, f.duration_s);
	mt_json_key_u64(j, "rss_bytes", f.rss_total);
	mt_json_key_u64(j, "rss_anon_bytes", f.rss[MT_VM_RSS_ANON]);
	mt_json_key_u64(j, "rss_file_bytes", f.rss[MT_VM_RSS_FILE]);
	mt_json_key_u64(j, "rss_shmem_bytes", f.rss[MT_VM_RSS_SHMEM]);
	mt_json_key_u64(j, "swap_bytes", f.rss[MT_VM_RSS_SWAP]);
	mt_json_key_u64(j, "rss_peak_bytes", vm->rss_peak > f.rss_total ? vm->rss_peak : f.rss_total);
	json_opt_u64(j, "vm_rss_bytes", f.have_rss_status, f.rss_status);
	json_opt_u64(j, "heap_live_bytes", vm->heap_known, vm->heap_live_bytes);
	json_opt_u64(j, "heap_objects", vm->heap_known, vm->heap_objects);
	json_opt_u64(j, "heap_resident_bytes", f.have_heap_resident, f.heap_resident);
	json_opt_u64(j, "heap_brk_resident_bytes", f.have_heap_resident, vm->heap_res.brk_heap);
	json_opt_u64(j, "heap_anon_resident_bytes", f.have_heap_resident, vm->heap_res.anon_heap);
	json_ratio(j, "efficiency", f.have_ratio, f.efficiency);
	json_ratio(j, "fragmentation", f.have_ratio, f.fragmentation);
	mt_json_key(j, "allocator_overhead_bytes");
	if (f.have_ratio)
		mt_json_i64(j, f.overhead);
	else
		mt_json_null(j);
	mt_json_key_u64(j, "mapped_bytes", t->mapped_bytes);
	mt_json_key_u64(j, "unmapped_bytes", t->unmapped_bytes);
	mt_json_key_u64(j, "released_bytes", t->released_bytes);
	mt_json_key_u64(j, "brk_growth_bytes", t->brk_growth_bytes);
	mt_json_key_u64(j, "brk_shrink_bytes", t->brk_shrink_bytes);
	mt_json_key_u64(j, "mmaps", t->mmaps);
	mt_json_key_u64(j, "munmaps", t->munmaps);
	mt_json_key_u64(j, "mremaps", t->mremaps);
	mt_json_key_u64(j, "brks", t->brks);
	mt_json_key_u64(j, "madvises", t->madvises);
	mt_json_key_u64(j, "page_faults", t->page_faults);
	mt_json_key_u64(j, "page_faults_not_present", t->faults_not_present);
	mt_json_key_u64(j, "page_faults_kernel", t->faults_kernel);
	mt_json_key_u64(j, "page_faults_unattributed", t->faults_unknown);
	mt_json_key_u64(j, "bytes_faulted", t->faults_not_present * MT_VM_PAGE);
	mt_json_key(j, "page_fault_rate_per_s");
	mt_json_double(j, f.fault_rate);
	mt_json_key_u64(j, "lost_events", f.drops[MT_VM_C_RB_FULL_CALL] + f.drops[MT_VM_C_RB_FULL_FAULT]);
	mt_json_key(j, "drops");
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "ringbuf_full_calls", f.drops[MT_VM_C_RB_FULL_CALL]);
	mt_json_key_u64(j, "ringbuf_full_faults", f.drops[MT_VM_C_RB_FULL_FAULT]);
	mt_json_key_u64(j, "stack_fail", f.drops[MT_VM_C_STACK_FAIL]);
	mt_json_key_u64(j, "state_full", f.drops[MT_VM_C_STATE_FULL]);
	mt_json_obj_end(j);
	err = json_lists(j, vm);
	if (err && !j->err)
		j->err = err;
	mt_json_key(j, "timeline");
	mt_json_arr_begin(j);
	for (i = 0; i < vm->st.npoints; i++) {
		const struct mt_vm_point *p = &vm->st.timeline[i];

		mt_json_obj_begin(j);
		mt_json_key(j, "t_s");
		mt_json_double(j, p->t_ns / 1e9);
		mt_json_key_u64(j, "rss_anon_bytes", p->rss[MT_VM_RSS_ANON]);
		mt_json_key_u64(j, "rss_file_bytes", p->rss[MT_VM_RSS_FILE]);
		mt_json_key_u64(j, "rss_shmem_bytes", p->rss[MT_VM_RSS_SHMEM]);
		json_opt_u64(j, "live_bytes", vm->heap_known || !vm->finished, p->live_bytes);
		json_opt_u64(j, "allocs", vm->heap_known || !vm->finished, p->allocs);
		json_opt_u64(j, "alloc_bytes", vm->heap_known || !vm->finished, p->alloc_bytes);
		json_opt_u64(j, "frees", vm->heap_known || !vm->finished, p->frees);
		mt_json_key_u64(j, "page_faults", p->page_faults);
		mt_json_key_u64(j, "brk_bytes", p->brk_bytes);
		mt_json_key_u64(j, "mapped_bytes", p->mapped_bytes);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_obj_end(j);
	return j->err;
}

/* ---- text ---- */

static void text_stack(FILE *out, struct mt_vm *vm, const struct mt_vm_origin *o)
{
	struct mt_report_stack st;

	if (o->kind == MT_VM_O_PRE || o->kind == MT_VM_O_UNKNOWN) {
		fprintf(out, "      %s\n", o->name ? o->name : "(no mapping)");
		return;
	}
	origin_stack(vm, o, &st);
	mt_report_text_stack(out, &st, TEXT_FRAMES);
	mt_report_stack_release(&st);
}

int mt_vm_write_text(FILE *out, void *arg)
{
	struct mt_vm *vm = arg;
	const struct mt_vm_totals *t = &vm->st.t;
	char a[32], b[32], c[32], d[32];
	uint32_t *order = NULL;
	struct figures f;
	size_t i, from;
	int n, k;

	vm_figures(vm, &f);
	fprintf(out, "Memory, kernel view (pid %d, %.1f s)\n", (int)vm->o.pid, f.duration_s);
	/* Where the syscalls came from, and what that costs other processes. */
	if (vm->att_sys && strcmp(vm->att_sys, "uprobe") == 0)
		fprintf(out, "  syscalls seen at %u sites in %u objects of the target (uprobe)%s\n",
			vm->sites.sites, vm->sites.objects,
			vm->sites.dynamic ? "; calls through syscall() are not seen" : "");
	else if (vm->att_sys)
		fprintf(out, "  syscalls seen through %s: every process's syscalls pay for it\n",
			vm->att_sys);
	if (vm->att_fault && strcmp(vm->att_fault, "perf") == 0)
		fprintf(out, "  page faults seen through perf events on the target's threads\n");
	else if (vm->att_fault)
		fprintf(out, "  page faults seen through %s page_fault_user: every process's "
			"faults pay for it\n", vm->att_fault);
	fprintf(out, "  RSS %s: anon %s, file %s, shmem %s\n", mt_fmt_bytes(a, 32, f.rss_total),
		mt_fmt_bytes(b, 32, f.rss[MT_VM_RSS_ANON]), mt_fmt_bytes(c, 32, f.rss[MT_VM_RSS_FILE]),
		mt_fmt_bytes(d, 32, f.rss[MT_VM_RSS_SHMEM]));
	if (f.have_heap_resident)
		fprintf(out, "  heap resident %s ([heap] %s, anonymous %s)\n",
			mt_fmt_bytes(a, 32, f.heap_resident), mt_fmt_bytes(b, 32, vm->heap_res.brk_heap),
			mt_fmt_bytes(c, 32, vm->heap_res.anon_heap));
	if (f.have_ratio)
		fprintf(out, "  heap live %s: efficiency %.2f, fragmentation %.2f, "
			"overhead %s\n", mt_fmt_bytes(a, 32, vm->heap_live_bytes), f.efficiency,
			f.fragmentation, mt_fmt_bytes(b, 32, f.overhead > 0 ? (uint64_t)f.overhead : 0));
	fprintf(out, "  mmap %" PRIu64 " calls %s; munmap %" PRIu64 " calls %s\n", t->mmaps,
		mt_fmt_bytes(a, 32, t->mapped_bytes), t->munmaps, mt_fmt_bytes(b, 32, t->unmapped_bytes));
	fprintf(out, "  madvise released %s; brk +%s -%s\n", mt_fmt_bytes(a, 32, t->released_bytes),
		mt_fmt_bytes(b, 32, t->brk_growth_bytes), mt_fmt_bytes(c, 32, t->brk_shrink_bytes));
	fprintf(out, "  page faults %" PRIu64 " (%.0f/s), %s faulted in\n", t->page_faults,
		f.fault_rate, mt_fmt_bytes(a, 32, t->faults_not_present * MT_VM_PAGE));
	if (f.drops[MT_VM_C_RB_FULL_CALL] + f.drops[MT_VM_C_RB_FULL_FAULT])
		fprintf(out, "  LOST %" PRIu64 " syscall and %" PRIu64 " fault records\n",
			f.drops[MT_VM_C_RB_FULL_CALL], f.drops[MT_VM_C_RB_FULL_FAULT]);

	n = mt_vm_stat_sorted_origins(&vm->st, &order);
	if (n < 0)
		return n;
	if (n > 0)
		fprintf(out, "  Top memory creators (by bytes faulted in):\n");
	for (k = 0; k < n && k < TEXT_ORIGINS; k++) {
		const struct mt_vm_origin *o = &vm->st.origins[order[k]];

		fprintf(out, "    %s: %s faulted in, %" PRIu64 " faults\n", origin_kind(o->kind),
			mt_fmt_bytes(a, 32, o->c.bytes_faulted), o->c.page_faults);
		fprintf(out, "      %" PRIu64 " maps %s, unmapped %s, released %s\n", o->c.mmaps,
			mt_fmt_bytes(a, 32, o->c.bytes_mapped), mt_fmt_bytes(b, 32, o->c.bytes_unmapped),
			mt_fmt_bytes(c, 32, o->c.bytes_released));
		text_stack(out, vm, o);
	}
	free(order);

	if (vm->st.npoints) {
		fprintf(out, "  %8s %10s %10s %10s %8s\n", "t_s", "anon", "file", "live", "faults");
		from = vm->st.npoints > TEXT_POINTS ? vm->st.npoints - TEXT_POINTS : 0;
		for (i = from; i < vm->st.npoints; i++) {
			const struct mt_vm_point *p = &vm->st.timeline[i];

			fprintf(out, "  %8.1f %10s %10s %10s %8" PRIu64 "\n", p->t_ns / 1e9,
				mt_fmt_bytes(a, 32, p->rss[MT_VM_RSS_ANON]),
				mt_fmt_bytes(b, 32, p->rss[MT_VM_RSS_FILE]),
				vm->heap_known || !vm->finished ? mt_fmt_bytes(c, 32, p->live_bytes) : "-",
				p->page_faults);
		}
	}
	return ferror(out) ? -EIO : 0;
}
