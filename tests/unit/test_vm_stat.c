// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory-view aggregator fed synthetic records: attribution of faults,
 * unmaps and releases to the creating stack, mremap, brk, pre-existing
 * mappings, the stack rebuild, and the smaps heap classification.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include "mt_test.h"
#include "target/mt_proc.h"
#include "vm/mt_vm_stat.h"

#define P MT_VM_PAGE

static struct mt_vm_call call(uint32_t kind, uint64_t ret, uint64_t addr, uint64_t len)
{
	struct mt_vm_call ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.ret = ret;
	ev.addr = addr;
	ev.len = len;
	ev.prot = PROT_READ | PROT_WRITE;
	ev.fd = -1;
	return ev;
}

static uint32_t origin(struct mt_vm_stat *s, enum mt_vm_origin_kind k, uint64_t f)
{
	uint64_t frames[2] = { 0x1000, f };

	return (uint32_t)mt_vm_stat_origin(s, k, frames, 2, MT_END_ROOT);
}

static void test_mmap_faults_unmap(void)
{
	struct mt_vm_stat s;
	struct mt_vm_call ev;
	uint32_t a, b;
	uint64_t i;

	MT_CHECK(mt_vm_stat_init(&s, 0) == 0);
	a = origin(&s, MT_VM_O_MMAP, 0xa);
	b = origin(&s, MT_VM_O_MMAP, 0xb);
	MT_CHECK(a != b);
	MT_CHECK_EQ_U64(origin(&s, MT_VM_O_MMAP, 0xa), a);   /* interned */
	for (i = 0; i < 3; i++) {
		ev = call(MT_VM_MMAP, 0x100000 + i * 0x10000, 0, 0x10000);
		MT_CHECK(mt_vm_stat_call(&s, &ev, a) == 0);
	}
	ev = call(MT_VM_MMAP, 0x200000, 0, 0x8000);
	MT_CHECK(mt_vm_stat_call(&s, &ev, b) == 0);
	for (i = 0; i < 5; i++)
		MT_CHECK(mt_vm_stat_fault(&s, 0x110000 + i * P, MT_VM_PF_WRITE, false) == 1);
	/* a copy-on-write fault counts as a fault, not as a page filled */
	MT_CHECK(mt_vm_stat_fault(&s, 0x200000, MT_VM_PF_PROT | MT_VM_PF_WRITE, false) == 1);
	MT_CHECK(mt_vm_stat_fault(&s, 0x900000, 0, false) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x900000, 0, true) == 0);
	/* one munmap spanning two of a's mappings: one call for the origin */
	ev = call(MT_VM_MUNMAP, 0, 0x100000, 0x20000);
	MT_CHECK(mt_vm_stat_call(&s, &ev, 0) == 0);
	ev = call(MT_VM_MADVISE, 0, 0x200000, 0x3000);
	MT_CHECK(mt_vm_stat_call(&s, &ev, 0) == 0);

	MT_CHECK_EQ_U64(s.origins[a].c.mmaps, 3);
	MT_CHECK_EQ_U64(s.origins[a].c.bytes_mapped, 0x30000);
	MT_CHECK_EQ_U64(s.origins[a].c.munmaps, 1);
	MT_CHECK_EQ_U64(s.origins[a].c.bytes_unmapped, 0x20000);
	MT_CHECK_EQ_U64(s.origins[a].c.page_faults, 5);
	MT_CHECK_EQ_U64(s.origins[a].c.bytes_faulted, 5 * P);
	MT_CHECK_EQ_U64(s.origins[b].c.page_faults, 1);
	MT_CHECK_EQ_U64(s.origins[b].c.bytes_faulted, 0);
	MT_CHECK_EQ_U64(s.origins[b].c.bytes_released, 0x3000);
	MT_CHECK_EQ_U64(s.origins[s.unknown].c.page_faults, 1);
	MT_CHECK_EQ_U64(s.t.page_faults, 7);
	MT_CHECK_EQ_U64(s.t.faults_unknown, 1);
	MT_CHECK_EQ_U64(s.t.mapped_bytes, 0x38000);
	MT_CHECK_EQ_U64(s.t.unmapped_bytes, 0x20000);
	MT_CHECK_EQ_U64(s.t.released_bytes, 0x3000);
	MT_CHECK_EQ_U64(mt_vm_stat_mapped_now(&s), 0x18000);
	mt_vm_stat_release(&s);
}

static void test_mremap_keeps_origin(void)
{
	struct mt_vm_stat s;
	struct mt_vm_call ev;
	uint32_t a, other;

	MT_CHECK(mt_vm_stat_init(&s, 0) == 0);
	a = origin(&s, MT_VM_O_MMAP, 0xa);
	other = origin(&s, MT_VM_O_MMAP, 0xc);
	ev = call(MT_VM_MMAP, 0x100000, 0, 0x4000);
	MT_CHECK(mt_vm_stat_call(&s, &ev, a) == 0);
	ev = call(MT_VM_MREMAP, 0x500000, 0x100000, 0x4000);
	ev.len2 = 0x10000;
	MT_CHECK(mt_vm_stat_call(&s, &ev, other) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x100000, 0, false) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x50f000, 0, false) == 1);
	MT_CHECK_EQ_U64(s.origins[a].c.mremaps, 1);
	MT_CHECK_EQ_U64(s.origins[a].c.bytes_mapped, 0x10000);
	MT_CHECK_EQ_U64(s.origins[a].c.page_faults, 1);
	MT_CHECK_EQ_U64(s.origins[other].c.mremaps, 0);
	mt_vm_stat_release(&s);
}

static void test_brk_and_pre(void)
{
	struct mt_vm_stat s;
	struct mt_vm_call ev;
	uint32_t k;

	MT_CHECK(mt_vm_stat_init(&s, 0) == 0);
	MT_CHECK(mt_vm_stat_add_pre(&s, 0x400000, 0x402000, PROT_READ | PROT_EXEC, "/bin/x") == 0);
	MT_CHECK(mt_vm_stat_add_pre(&s, 0x600000, 0x621000, PROT_READ | PROT_WRITE, "[heap]") == 0);
	k = origin(&s, MT_VM_O_BRK, 0xb);
	ev = call(MT_VM_BRK, 0x621000 + 0x5000, 0x621000, 0);
	MT_CHECK(mt_vm_stat_call(&s, &ev, k) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x621000, MT_VM_PF_WRITE, false) == 1);
	MT_CHECK(mt_vm_stat_fault(&s, 0x600000, MT_VM_PF_WRITE, false) == 1);
	/* a known range is kept when the maps are read again */
	MT_CHECK(mt_vm_stat_add_pre(&s, 0x600000, 0x626000, PROT_READ | PROT_WRITE, "[heap]") == 0);
	MT_CHECK_EQ_U64(s.origins[k].c.bytes_mapped, 0x5000);
	MT_CHECK_EQ_U64(s.origins[k].c.page_faults, 1);
	MT_CHECK_EQ_U64(s.t.brk_growth_bytes, 0x5000);
	MT_CHECK_STR(s.origins[s.recs[mt_vm_map_find(&s.map, 0x600000)->rec].origin].name, "[heap]");
	MT_CHECK_EQ_U64(s.origins[s.recs[mt_vm_map_find(&s.map, 0x600000)->rec].origin].c.page_faults, 1);
	/* shrink */
	ev = call(MT_VM_BRK, 0x621000 + 0x2000, 0x621000 + 0x5000, 0);
	MT_CHECK(mt_vm_stat_call(&s, &ev, k) == 0);
	MT_CHECK_EQ_U64(s.origins[k].c.bytes_unmapped, 0x3000);
	MT_CHECK_EQ_U64(s.t.brk_shrink_bytes, 0x3000);
	mt_vm_stat_release(&s);
}

/* The frame-pointer walk gives [ip, caller of the fp function, ...]; the
 * scan puts back the return addresses between sp and fp. */
/* A cut stack is another origin than a whole one with the same frames,
 * as the heap's sites are: its frames are not the whole story. */
static void test_origin_end(void)
{
	struct mt_vm_stat s;
	uint64_t frames[2] = { 0x1000, 0x2000 };
	int64_t whole, cut;

	MT_CHECK(mt_vm_stat_init(&s, 0) == 0);
	whole = mt_vm_stat_origin(&s, MT_VM_O_MMAP, frames, 2, MT_END_ROOT);
	cut = mt_vm_stat_origin(&s, MT_VM_O_MMAP, frames, 2, MT_END_UNKNOWN_CODE);
	MT_CHECK(whole >= 0 && cut >= 0 && whole != cut);
	MT_CHECK_EQ_U64(mt_vm_stat_origin(&s, MT_VM_O_MMAP, frames, 2, MT_END_ROOT), (uint64_t)whole);
	MT_CHECK_EQ_U64(s.origins[cut].end, MT_END_UNKNOWN_CODE);
	mt_vm_stat_release(&s);
}

static void test_timeline(void)
{
	struct mt_vm_stat s;
	uint64_t rss[MT_VM_RSS_N] = { 1, 2, 0, 3 };

	MT_CHECK(mt_vm_stat_init(&s, 1000) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x1, 0, true) == 0);
	MT_CHECK(mt_vm_stat_sample(&s, 1000 + 1000000000ull, rss, 42) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x1, 0, true) == 0);
	MT_CHECK(mt_vm_stat_fault(&s, 0x1, 0, true) == 0);
	MT_CHECK(mt_vm_stat_sample(&s, 1000 + 2000000000ull, rss, 43) == 0);
	MT_CHECK_EQ_U64(s.npoints, 2);
	MT_CHECK_EQ_U64(s.timeline[0].t_ns, 1000000000ull);
	MT_CHECK_EQ_U64(s.timeline[0].page_faults, 1);
	MT_CHECK_EQ_U64(s.timeline[1].page_faults, 2);
	MT_CHECK_EQ_U64(s.timeline[1].live_bytes, 43);
	MT_CHECK_EQ_U64(s.timeline[1].rss[MT_VM_RSS_SHMEM], 3);
	mt_vm_stat_release(&s);
}

static const char smaps[] =
	"55d000000000-55d000021000 rw-p 00000000 00:00 0                          [heap]\n"
	"Rss:                 100 kB\n"
	"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
	"Rss:                  40 kB\n"
	"7f0000021000-7f0004000000 ---p 00000000 00:00 0 \n"
	"Rss:                   0 kB\n"
	"7f1000000000-7f1000001000 ---p 00000000 00:00 0 \n"
	"Rss:                   0 kB\n"
	"7f1000001000-7f1000801000 rw-p 00000000 00:00 0 \n"
	"Rss:                  16 kB\n"
	"7f2000000000-7f2000100000 rw-p 00000000 00:00 0 \n"
	"Rss:                 200 kB\n"
	"7f3000000000-7f3000100000 r--p 00000000 08:01 42                         /usr/lib/libc.so.6\n"
	"Rss:                 300 kB\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"Rss:                  12 kB\n";

static bool other_is_7f2(void *arg, uint64_t start, uint64_t end)
{
	return start == 0x7f2000000000ULL;
}

static void test_smaps_heap(void)
{
	struct mt_proc_heap_res r;
	FILE *f = fmemopen((void *)smaps, sizeof(smaps) - 1, "r");

	MT_CHECK(f != NULL);
	MT_CHECK(mt_proc_heap_parse(f, other_is_7f2, NULL, &r) == 0);
	fclose(f);
	MT_CHECK_EQ_U64(r.brk_heap, 100 * 1024);
	MT_CHECK_EQ_U64(r.anon_heap, 40 * 1024);     /* the arena, not its reserve */
	MT_CHECK_EQ_U64(r.stacks, (16 + 12) * 1024);  /* thread stack over its guard */
	MT_CHECK_EQ_U64(r.anon_other, 200 * 1024);
	MT_CHECK_EQ_U64(r.mappings_heap, 2);
}

int main(void)
{
	MT_RUN(test_mmap_faults_unmap);
	MT_RUN(test_mremap_keeps_origin);
	MT_RUN(test_brk_and_pre);
	MT_RUN(test_origin_end);
	MT_RUN(test_timeline);
	MT_RUN(test_smaps_heap);
	return mt_test_done();
}
