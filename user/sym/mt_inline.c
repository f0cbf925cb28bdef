// SPDX-License-Identifier: BSD-2-Clause
/*
 * Per compile unit, the address ranges of its concrete functions (top
 * level, or inside namespaces, where GCC puts C++ definitions), sorted.
 */
#include <errno.h>
#include <dwarf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sym/mt_inline.h"

struct mt_inline_fn {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

struct mt_inline_cu {
	Dwarf_Off off;          /* of the CU DIE */
	struct mt_inline_fn *fns;
	size_t n, cap;
};

struct mt_inline_idx {
	struct mt_inline_cu *cus;
	size_t n, cap;
};

struct mt_inline_idx *mt_inline_new(void)
{
	return calloc(1, sizeof(struct mt_inline_idx));
}

void mt_inline_free(struct mt_inline_idx *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->cus[i].fns);
	free(x->cus);
	free(x);
}

static int mt_inline_add(struct mt_inline_cu *c, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t o = 0;

	while ((o = dwarf_ranges(die, o, &base, &lo, &hi)) > 0) {
		if (lo >= hi)
			continue;
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 64;
			struct mt_inline_fn *p = realloc(c->fns, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			c->fns = p;
			c->cap = cap;
		}
		c->fns[c->n++] = (struct mt_inline_fn){ lo, hi, *die };
	}
	return 0;
}

static int mt_inline_walk(struct mt_inline_cu *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;
	int err = 0;

	if (depth > 16 || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram)
			err = mt_inline_add(c, &child);
		else if (tag == DW_TAG_namespace || tag == DW_TAG_module)
			err = mt_inline_walk(c, &child, depth + 1);
	} while (!err && dwarf_siblingof(&child, &child) == 0);
	return err;
}

static int mt_inline_fn_cmp(const void *a, const void *b)
{
	const struct mt_inline_fn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static struct mt_inline_cu *mt_inline_cu_get(struct mt_inline_idx *x, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct mt_inline_cu *c;

	for (size_t i = 0; i < x->n; i++)
		if (x->cus[i].off == off)
			return &x->cus[i];
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct mt_inline_cu *p = realloc(x->cus, cap * sizeof(*p));

		if (!p)
			return NULL;
		x->cus = p;
		x->cap = cap;
	}
	c = &x->cus[x->n];
	memset(c, 0, sizeof(*c));
	c->off = off;
	if (mt_inline_walk(c, cu, 0)) {
		free(c->fns);
		return NULL;
	}
	qsort(c->fns, c->n, sizeof(*c->fns), mt_inline_fn_cmp);
	x->n++;
	return c;
}

/* Descend from parent into the scope holding pc, recording inlined
 * instances outermost first. Lexical blocks without addresses are
 * transparent. */
static void mt_inline_descend(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out,
			      unsigned *k, unsigned max, int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child), has;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
			continue;
		has = dwarf_haspc(&child, pc);
		if (has == 1) {
			if (tag == DW_TAG_inlined_subroutine && *k < max)
				out[(*k)++] = child;
			mt_inline_descend(&child, pc, out, k, max, depth + 1);
			return;
		}
		if (has == 0 && tag == DW_TAG_lexical_block &&
		    !dwarf_hasattr(&child, DW_AT_low_pc) && !dwarf_hasattr(&child, DW_AT_ranges)) {
			unsigned before = *k;
			Dwarf_Die probe[1];
			unsigned pk = 0;

			/* only enter it when something inside holds pc */
			mt_inline_descend(&child, pc, probe, &pk, 1, depth + 1);
			if (pk) {
				mt_inline_descend(&child, pc, out, k, max, depth + 1);
				if (*k > before)
					return;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

int mt_inline_chain(struct mt_inline_idx *x, Dwarf_Die *cu, Dwarf_Addr pc,
		    Dwarf_Die *out, unsigned max)
{
	struct mt_inline_cu *c = mt_inline_cu_get(x, cu);
	size_t lo = 0, hi;
	unsigned k = 0;

	if (!c)
		return -ENOMEM;
	hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->fns[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest few that start at or below pc; ranges rarely nest */
	for (size_t i = lo, tries = 0; i-- > 0 && tries < 4; tries++) {
		if (pc < c->fns[i].hi) {
			mt_inline_descend(&c->fns[i].die, pc, out, &k, max, 0);
			break;
		}
	}
	/* innermost first */
	for (unsigned i = 0; i < k / 2; i++) {
		Dwarf_Die t = out[i];

		out[i] = out[k - 1 - i];
		out[k - 1 - i] = t;
	}
	return (int)k;
}
