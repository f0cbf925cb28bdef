/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The target's address space as memtrace saw it built: sorted,
 * non-overlapping [start, end) areas, each naming the mapping record it is
 * part of (a record being one mmap, brk growth, or pre-existing mapping;
 * munmap and mremap split and move its areas).
 *
 * A sorted array: lookups (one per page fault) are a binary search;
 * inserts and removals move the tail, O(areas), which is fine at the rate
 * programs map (and vm.max_map_count bounds areas at 65530 by default).
 * Not thread-safe.
 */
#ifndef MT_VM_MAP_H
#define MT_VM_MAP_H

#include <stddef.h>
#include <stdint.h>

struct mt_vm_area {
	uint64_t start;
	uint64_t end;
	uint32_t rec;      /* mapping record index, owned by the caller */
	uint32_t prot;     /* PROT_* as mapped */
};

struct mt_vm_map {
	struct mt_vm_area *a;
	size_t n, cap;
};

/* Called for each piece taken out by a removal, clipped to the range. */
typedef void (*mt_vm_piece_fn)(void *arg, const struct mt_vm_area *piece);

void mt_vm_map_init(struct mt_vm_map *m);
void mt_vm_map_release(struct mt_vm_map *m);

/* Remove [start, end), splitting areas that straddle its ends; fn (may be
 * NULL) sees each removed piece. 0 or -ENOMEM (a split needs a slot). */
int mt_vm_map_remove(struct mt_vm_map *m, uint64_t start, uint64_t end,
		     mt_vm_piece_fn fn, void *arg);

/* Insert [start, end) after removing whatever overlaps it. 0 or -ENOMEM. */
int mt_vm_map_insert(struct mt_vm_map *m, uint64_t start, uint64_t end,
		     uint32_t rec, uint32_t prot);

/* The area holding addr, or NULL. */
const struct mt_vm_area *mt_vm_map_find(const struct mt_vm_map *m, uint64_t addr);

/* Visit the pieces of [start, end) that are mapped, clipped, in order;
 * returns the bytes visited. */
uint64_t mt_vm_map_visit(const struct mt_vm_map *m, uint64_t start, uint64_t end,
			 mt_vm_piece_fn fn, void *arg);

#endif /* MT_VM_MAP_H */
