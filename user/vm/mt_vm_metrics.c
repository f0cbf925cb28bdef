// SPDX-License-Identifier: BSD-2-Clause
/* The memory view's metrics for --listen (docs/metrics.md): counters and
 * gauges already kept by the aggregator, O(1) each but the traced mapped
 * bytes (O(origins)). */
#include "vm/mt_vm_int.h"

int mt_vm_write_metrics(struct mt_prom *p, void *arg)
{
	struct mt_vm *vm = arg;
	const struct mt_vm_totals *t = &vm->st.t;

	mt_prom_counter(p, "memtrace_page_faults_total", "Page faults of the target since attach",
			t->page_faults);
	mt_prom_counter(p, "memtrace_faulted_bytes_total",
			"Bytes faulted in (not-present faults x page size) since attach",
			t->faults_not_present * MT_VM_PAGE);
	mt_prom_gauge(p, "memtrace_mappings", "Memory mappings of the target (address-space areas)",
		      (double)vm->st.map.n);
	mt_prom_gauge(p, "memtrace_mmap_live_bytes", "Bytes mapped by traced mmap calls and still mapped",
		      (double)mt_vm_stat_mapped_now(&vm->st));
	mt_prom_counter(p, "memtrace_mmaps_total", "mmap calls of the target since attach", t->mmaps);
	mt_prom_counter(p, "memtrace_munmaps_total", "munmap calls of the target since attach",
			t->munmaps);
	mt_prom_counter(p, "memtrace_brk_growth_bytes_total", "Bytes the heap grew by brk since attach",
			t->brk_growth_bytes);
	mt_prom_counter(p, "memtrace_released_bytes_total",
			"Bytes released with madvise (DONTNEED, FREE, REMOVE) since attach",
			t->released_bytes);
	return p->err;
}

uint64_t mt_vm_lost_arg(const void *vm)
{
	return mt_vm_lost(vm);
}
