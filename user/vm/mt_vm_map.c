// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sorted interval array of the target's mappings; see mt_vm_map.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vm/mt_vm_map.h"
#include "util/mt_grow.h"

void mt_vm_map_init(struct mt_vm_map *m)
{
	memset(m, 0, sizeof(*m));
}

void mt_vm_map_release(struct mt_vm_map *m)
{
	free(m->a);
	mt_vm_map_init(m);
}

static int reserve(struct mt_vm_map *m, size_t extra)
{
	return MT_GROW(m->a, m->n + extra, m->cap);
}

/* Index of the first area with end > addr (m->n when none). */
static size_t first_after(const struct mt_vm_map *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->a[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int mt_vm_map_remove(struct mt_vm_map *m, uint64_t start, uint64_t end,
		     mt_vm_piece_fn fn, void *arg)
{
	size_t i, j;

	if (start >= end)
		return 0;
	i = first_after(m, start);
	if (i < m->n && m->a[i].start < start && m->a[i].end > end) {
		/* One area straddles both ends: split it in three, drop the middle. */
		struct mt_vm_area piece = m->a[i];

		if (reserve(m, 1))
			return -ENOMEM;
		memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof(m->a[0]));
		m->n++;
		m->a[i].end = start;
		m->a[i + 1].start = end;
		piece.start = start;
		piece.end = end;
		if (fn)
			fn(arg, &piece);
		return 0;
	}
	if (i < m->n && m->a[i].start < start) {
		struct mt_vm_area piece = m->a[i];

		piece.start = start;
		m->a[i].end = start;
		if (fn)
			fn(arg, &piece);
		i++;
	}
	for (j = i; j < m->n && m->a[j].end <= end; j++)
		if (fn)
			fn(arg, &m->a[j]);
	if (j < m->n && m->a[j].start < end) {
		struct mt_vm_area piece = m->a[j];

		piece.end = end;
		m->a[j].start = end;
		if (fn)
			fn(arg, &piece);
	}
	if (j > i) {   /* nothing removed: m->a may still be NULL */
		memmove(&m->a[i], &m->a[j], (m->n - j) * sizeof(m->a[0]));
		m->n -= j - i;
	}
	return 0;
}

int mt_vm_map_insert(struct mt_vm_map *m, uint64_t start, uint64_t end,
		     uint32_t rec, uint32_t prot)
{
	size_t i;
	int err;

	if (start >= end)
		return 0;
	err = mt_vm_map_remove(m, start, end, NULL, NULL);
	if (err)
		return err;
	if (reserve(m, 1))
		return -ENOMEM;
	i = first_after(m, start);
	memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof(m->a[0]));
	m->a[i] = (struct mt_vm_area){ .start = start, .end = end, .rec = rec, .prot = prot };
	m->n++;
	return 0;
}

const struct mt_vm_area *mt_vm_map_find(const struct mt_vm_map *m, uint64_t addr)
{
	size_t i = first_after(m, addr);

	if (i < m->n && m->a[i].start <= addr)
		return &m->a[i];
	return NULL;
}

uint64_t mt_vm_map_visit(const struct mt_vm_map *m, uint64_t start, uint64_t end,
			 mt_vm_piece_fn fn, void *arg)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = first_after(m, start); i < m->n && m->a[i].start < end; i++) {
		struct mt_vm_area piece = m->a[i];

		if (piece.start < start)
			piece.start = start;
		if (piece.end > end)
			piece.end = end;
		bytes += piece.end - piece.start;
		if (fn)
			fn(arg, &piece);
	}
	return bytes;
}
