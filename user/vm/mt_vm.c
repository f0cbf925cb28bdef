// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory view's lifecycle and snapshots: open (load, read, seed from
 * /proc), the ~1/s timeline samples, and the final snapshot that relates
 * the heap's live bytes to its resident bytes. Loading is mt_vm_load.c,
 * reading the BPF side mt_vm_read.c, the report section mt_vm_report.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "target/mt_proc.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "vm/mt_vm_int.h"

int mt_vm_open(const struct mt_vm_opts *o, struct mt_vm **out)
{
	struct mt_vm *vm;
	int err;

	*out = NULL;
	if (!o || o->pid <= 0) {
		mt_err("memory view needs a target pid");
		return -EINVAL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		mt_err("memory view: out of memory");
		return -ENOMEM;
	}
	vm->o = *o;
	err = mt_vm_stat_init(&vm->st, mt_now_ns());
	if (err) {
		mt_err("memory view: out of memory");
		goto fail;
	}
	err = mt_vm_load(vm);
	if (!err)
		err = mt_vm_reader_open(vm);
	if (err)
		goto fail;
	/* Enable before reading the maps: a mapping made in between is seen
	 * both ways, and the traced record replaces the pre-existing one. */
	mt_vm_enable(vm);
	err = mt_proc_status(o->pid, &vm->status_open);
	if (!err)
		err = mt_vm_seed_maps(vm);
	if (err) {
		mt_err("cannot read '/proc/%d/maps': %s", (int)o->pid,
			strerror(-err));
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	mt_vm_free(vm);
	return err;
}

void mt_vm_set_sym(struct mt_vm *vm, struct mt_sym *sym)
{
	vm->sym = sym;
}

/* The heap's side of the newest timeline point: its running totals give
 * the allocation rate between points. */
static void point_heap(struct mt_vm *vm, const struct mt_counts *heap)
{
	struct mt_vm_point *p = &vm->st.timeline[vm->st.npoints - 1];

	p->allocs = heap->allocs;
	p->alloc_bytes = heap->alloc_bytes;
	p->frees = heap->frees;
}

void mt_vm_sample(struct mt_vm *vm, uint64_t now_ns, const struct mt_counts *heap)
{
	uint64_t rss[MT_VM_RSS_N];
	int err;

	/* consume hands back and clears a reader error: keep it for the
	 * caller's next mt_vm_consume rather than lose it here */
	err = mt_vm_consume(vm);
	if (err && !vm->err)
		vm->err = err;
	mt_vm_rss_now(vm, rss);
	if (mt_vm_stat_sample(&vm->st, now_ns, rss, heap->live_bytes))
		vm->err = vm->err ? vm->err : -ENOMEM;
	else
		point_heap(vm, heap);
}

bool mt_vm_alloc_func(const char *name)
{
	static const char *const exact[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
		"memalign", "aligned_alloc", "valloc", "pvalloc", "malloc_trim",
		"sysmalloc", "sysmalloc_mmap", "_int_malloc", "_int_realloc", "_int_free",
		"_mid_memalign", "new_heap", "alloc_new_heap", "arena_get2", "tcache_init",
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	};
	static const char *const prefix[] = {
		"__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__libc_free", "__malloc_",
		"je_", "mi_", "_mi_", "tc_", "tcmalloc", "_ZN8tcmalloc", "mtpool_",
	};
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(name, exact[i]))
			return true;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return true;
	return false;
}

/* With a symbolizer, tell allocator mappings from the program's own. */
static void classify_origins(struct mt_vm *vm)
{
	uint32_t i, k;

	if (!vm->sym)
		return;
	for (i = 0; i < vm->st.norigins; i++) {
		struct mt_vm_origin *o = &vm->st.origins[i];
		bool named = false;

		if (o->kind != MT_VM_O_MMAP || o->alloc != MT_VM_A_UNKNOWN)
			continue;
		for (k = 0; k < o->nframes; k++) {
			struct mt_frame fr;

			if (mt_sym_resolve(vm->sym, o->frames[k], true, &fr) == 0)
				named = true;
			if (mt_vm_alloc_func(fr.symbol)) {
				o->alloc = MT_VM_A_ALLOCATOR;
				break;
			}
		}
		if (o->alloc == MT_VM_A_UNKNOWN && named)
			o->alloc = MT_VM_A_OTHER;
	}
}

/* smaps callback: an anonymous mapping traced to non-allocator code. */
static bool is_other(void *arg, uint64_t start, uint64_t end)
{
	struct mt_vm *vm = arg;
	const struct mt_vm_area *a = mt_vm_map_find(&vm->st.map, start);

	return a && vm->st.origins[vm->st.recs[a->rec].origin].alloc == MT_VM_A_OTHER;
}

int mt_vm_finish(struct mt_vm *vm, uint64_t now_ns, const struct mt_totals *heap)
{
	int err, ret = 0;

	err = mt_vm_consume(vm);
	if (err)
		ret = err;
	vm->final_ns = now_ns;
	vm->heap_known = heap != NULL;
	if (heap) {
		vm->heap_live_bytes = heap->c.live_bytes;
		vm->heap_objects = heap->c.live_objects;
	}
	/* RSS first, /proc right after: the closest two readings can be. */
	mt_vm_rss_now(vm, vm->rss_final);
	err = mt_proc_status(vm->o.pid, &vm->status_final);
	vm->have_status = err == 0;
	if (err && !ret)
		ret = err;
	vm->rss_peak = mt_vm_rss_peak(vm);
	classify_origins(vm);
	err = mt_proc_heap(vm->o.pid, is_other, vm, &vm->heap_res);
	vm->have_heap_res = err == 0;
	if (err && !ret)
		ret = err;
	if (mt_vm_stat_sample(&vm->st, now_ns, vm->rss_final, vm->heap_live_bytes))
		ret = ret ? ret : -ENOMEM;
	else if (heap)
		point_heap(vm, &heap->c);
	vm->finished = true;
	return ret;
}

void mt_vm_free(struct mt_vm *vm)
{
	if (!vm)
		return;
	mt_vm_reader_close(vm);
	mt_vm_unload(vm);
	mt_vm_stat_release(&vm->st);
	free(vm);
}
