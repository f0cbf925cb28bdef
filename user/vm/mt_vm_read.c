// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory view's reader: the only code that reads bpf/vm.bpf.c's maps.
 * Turns ring-buffer records into calls on the memory-view aggregator
 * (mt_vm_stat), resolving mapping stacks; reads the RSS counters and the
 * per-CPU drop counters. The twin of collect/mt_events.c for the heap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "util/mt_log.h"
#include "vm/mt_vm_int.h"   /* before the skeleton: it names struct mt_vm_rss */
#include "vm.skel.h"
#include "probe/mt_bpf_util.h"
#include "target/mt_proc.h"

static int seed_map(void *arg, const struct mt_maps_ent *e)
{
	return mt_vm_stat_add_pre(arg, e->start, e->end, e->prot, e->name);
}

int mt_vm_seed_maps(struct mt_vm *vm)
{
	return mt_proc_maps(vm->o.pid, seed_map, &vm->st);
}

static void on_call(struct mt_vm *vm, const struct mt_vm_call *ev)
{
	enum mt_vm_origin_kind kind = ev->kind == MT_VM_BRK ? MT_VM_O_BRK : MT_VM_O_MMAP;
	uint32_t n = ev->stack.nr < MT_VM_MAX_FRAMES ? ev->stack.nr : MT_VM_MAX_FRAMES;
	int64_t origin = 0;
	int err;

	if (ev->kind == MT_VM_MMAP || ev->kind == MT_VM_MREMAP || ev->kind == MT_VM_BRK)
		origin = mt_vm_stat_origin(&vm->st, kind, (const uint64_t *)ev->stack.ip, n, ev->stack.end);
	/* A library mapped (dlopen): its unwind tables are wanted before its
	 * code allocates, so the heap's walker reaches through it. */
	if (ev->kind == MT_VM_MMAP && (ev->prot & PROT_EXEC) && ev->fd >= 0)
		vm->exec_mapped = true;
	err = origin < 0 ? (int)origin : mt_vm_stat_call(&vm->st, ev, (uint32_t)origin);
	if (err && !vm->err)
		vm->err = err;
}

/* A fault nothing explains: the stack grew, or the kernel mapped something
 * (vdso, exec) we did not see. Re-read the maps once per drain. */
static void on_fault(struct mt_vm *vm, const struct mt_vm_fault *ev)
{
	if (mt_vm_stat_fault(&vm->st, ev->addr, ev->error_code, false))
		return;
	if (!vm->refreshed) {
		vm->refreshed = true;
		mt_vm_seed_maps(vm);
	}
	mt_vm_stat_fault(&vm->st, ev->addr, ev->error_code, true);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct mt_vm *vm = ctx;
	__u32 kind;

	if (size < sizeof(kind))
		return 0;
	memcpy(&kind, data, sizeof(kind));
	if (kind == MT_VM_FAULT && size >= sizeof(struct mt_vm_fault))
		on_fault(vm, data);
	else if (kind != MT_VM_FAULT && size >= sizeof(struct mt_vm_call))
		on_call(vm, data);
	return 0;
}

int mt_vm_reader_open(struct mt_vm *vm)
{
	int err;

	vm->rb = ring_buffer__new(bpf_map__fd(vm->skel->maps.mt_vm_events), on_record, vm, NULL);
	if (!vm->rb) {
		err = -errno;
		mt_err("cannot create the memory-view ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

void mt_vm_reader_close(struct mt_vm *vm)
{
	ring_buffer__free(vm->rb);
	vm->rb = NULL;
}

void mt_vm_enable(struct mt_vm *vm)
{
	vm->skel->bss->mt_vm_enabled = 1;
}

uint64_t mt_vm_rss_peak(const struct mt_vm *vm)
{
	uint64_t traced = vm->skel->bss->mt_vm_rss.peak_bytes;

	return traced > vm->rss_peak_sampled ? traced : vm->rss_peak_sampled;
}

int mt_vm_poll_fd(struct mt_vm *vm)
{
	return ring_buffer__epoll_fd(vm->rb);
}

int mt_vm_consume(struct mt_vm *vm)
{
	int n, err;

	vm->refreshed = false;
	vm->exec_mapped = false;
	n = ring_buffer__consume(vm->rb);
	if (n < 0 && n != -EINTR)
		return n;
	mt_unwind_poll(vm->uw, vm->sink, vm->exec_mapped);
	err = vm->err;
	vm->err = 0;
	return err;
}

void mt_vm_rss_now(struct mt_vm *vm, uint64_t rss[MT_VM_RSS_N])
{
	const struct mt_vm_rss *r = &vm->skel->bss->mt_vm_rss;
	struct mt_proc_status st = vm->status_open;
	int m;

	/* "mm": the BPF side reads the target's counters at its own events
	 * for the peak only; the point's values are /proc's (folded, exact). */
	bool traced = vm->att_rss && strcmp(vm->att_rss, "mm") != 0;

	if (!traced && mt_proc_status(vm->o.pid, &st) != 0)
		st = vm->status_open;
	rss[MT_VM_RSS_FILE] = st.rss_file;
	rss[MT_VM_RSS_ANON] = st.rss_anon;
	rss[MT_VM_RSS_SWAP] = st.vm_swap;
	rss[MT_VM_RSS_SHMEM] = st.rss_shmem;
	for (m = 0; m < MT_VM_RSS_N; m++)
		if (traced && r->ts_ns[m])
			rss[m] = r->bytes[m];
	if (rss[MT_VM_RSS_FILE] + rss[MT_VM_RSS_ANON] + rss[MT_VM_RSS_SHMEM] > vm->rss_peak_sampled)
		vm->rss_peak_sampled = rss[MT_VM_RSS_FILE] + rss[MT_VM_RSS_ANON] + rss[MT_VM_RSS_SHMEM];
}

void mt_vm_counters(const struct mt_vm *vm, uint64_t out[MT_VM_C_COUNT])
{
	uint32_t k;
	int fd;

	memset(out, 0, MT_VM_C_COUNT * sizeof(out[0]));
	if (!vm || !vm->skel)
		return;
	fd = bpf_map__fd(vm->skel->maps.mt_vm_counters);
	for (k = 0; k < MT_VM_C_COUNT; k++)
		mt_bpf_percpu_sum(fd, k, &out[k]);  /* 0 when unreadable */
}

uint64_t mt_vm_lost(const struct mt_vm *vm)
{
	uint64_t c[MT_VM_C_COUNT];

	mt_vm_counters(vm, c);
	return c[MT_VM_C_RB_FULL_CALL] + c[MT_VM_C_RB_FULL_FAULT];
}


uint64_t mt_vm_map_bytes(const struct mt_vm *vm, uint64_t *ring_bytes)
{
	uint64_t sum = mt_bpf_obj_map_bytes(vm && vm->skel ? vm->skel->obj : NULL, ring_bytes);

	/* the unwind tables borrowed from the heap tracer are counted there */
	if (vm && vm->skel && vm->o.uw_sink)
		sum -= mt_bpf_map_memlock(vm->skel->maps.mt_uw_rows) +
		       mt_bpf_map_memlock(vm->skel->maps.mt_uw_maps) +
		       mt_bpf_map_memlock(vm->skel->maps.mt_uw_mods) +
		       mt_bpf_map_memlock(vm->skel->maps.mt_uw_state);
	return sum;
}
