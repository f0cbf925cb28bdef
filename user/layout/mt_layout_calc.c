// SPDX-License-Identifier: BSD-2-Clause
/*
 * Holes, padding and a better member order.
 *
 * Holes are counted the way pahole counts them, so the two agree (tests/
 * e2e/t70-layout-pahole.sh): walking the members in declaration order, a
 * gap before a non-bit-field member is a byte hole of the previous member
 * (whole bytes: start / 8 - end_so_far / 8); inside the storage unit of a
 * run of bit-fields a gap is a bit hole; tail padding is size minus the
 * last byte used, after the bit-field run's trailing bits (bit padding).
 *
 * The better order places "atoms" (a member; a run of bit-fields with the
 * members sharing their storage units, moved as one block; a group pinned
 * with --keep-together) by decreasing alignment, then size, each at the
 * first offset aligned for it that is free (first fit, so a small member
 * fills a hole left by an earlier one). Base classes and the vtable
 * pointer stay where they are; zero-size members (a flexible array) go
 * last, in declaration order. When every
 * member's size is a multiple of its alignment (all of C but aligned(N)
 * members) this reaches round_up(sum of sizes, alignment), the least any
 * order can. An order no smaller than the original is not proposed.
 */
#include <stdlib.h>
#include <string.h>
#include "layout/mt_layout.h"

const char *mt_lay_kind_name(enum mt_lay_kind k)
{
	return k == MT_LAY_CLASS ? "class" : k == MT_LAY_UNION ? "union" : "struct";
}

const char *mt_lay_member_name(const struct mt_lay_struct *s, size_t i, char *buf, size_t len)
{
	if (s->m[i].name)
		return s->m[i].name;
	snprintf(buf, len, "(anonymous#%zu)", i);
	return buf;
}

static bool in_header(const char *file)
{
	size_t n = file ? strlen(file) : 0;

	if (!n)
		return false;
	if (strncmp(file, "/usr/include/", 13) == 0)
		return true;
	return (n > 2 && strcmp(file + n - 2, ".h") == 0) ||
	       (n > 3 && strcmp(file + n - 3, ".hh") == 0) ||
	       (n > 4 && (strcmp(file + n - 4, ".hpp") == 0 || strcmp(file + n - 4, ".hxx") == 0));
}

static void find_holes(struct mt_lay_struct *s)
{
	uint64_t end = 0, unit_end = s->size * 8, unit_size = 0;
	struct mt_lay_member *prev = NULL;
	bool in_bf = false;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct mt_lay_member *m = &s->m[i];
		uint64_t start = m->bit_off, mend;
		int64_t bh = 0, byh = 0;

		if (m->flags & MT_LAYM_VIRTUAL)
			continue;
		mend = m->bit_size ? start + m->bit_size : start + m->size * 8;
		if (in_bf) {
			uint64_t e = start < unit_end ? start : unit_end;

			bh = (int64_t)e - (int64_t)end;
			end = e;
		}
		if (m->bit_size) {
			uint64_t ustart = m->offset * 8;

			if (end < ustart && ustart <= start) {
				byh = (int64_t)m->offset - (int64_t)(end / 8);
				end = ustart;
			}
			bh += (int64_t)start - (int64_t)end;
		} else {
			byh = (int64_t)(start / 8) - (int64_t)(end / 8);
		}
		end = mend;
		if (m->bit_size) {
			in_bf = true;
			if (mend > unit_end || m->size * 8 > unit_size) {
				unit_size = m->size * 8;
				unit_end = m->offset * 8 + unit_size;
				if (mend > unit_end)
					unit_end += unit_size;
			}
		} else {
			in_bf = false;
			unit_size = 0;
			unit_end = mend;
		}
		if (bh < 0)
			bh = 0;
		if (byh < 0)
			byh = 0;
		if (prev) {
			prev->hole = (uint64_t)byh;
			prev->bit_hole = (uint32_t)bh;
		}
		s->nr_holes += byh > 0;
		s->sum_holes += (uint64_t)byh;
		s->nr_bit_holes += bh > 0;
		s->sum_bit_holes += (uint64_t)bh;
		prev = m;
	}
	if (in_bf) {
		uint64_t e = unit_end < s->size * 8 ? unit_end : s->size * 8;

		s->bit_padding = e > end ? e - end : 0;
		end = e;
	}
	s->padding = s->size > end / 8 ? s->size - end / 8 : 0;
}

/* A block of members moved together: members[k] at rel[k] from its start. */
struct atom {
	size_t *idx;
	uint64_t *rel;
	size_t n;
	uint64_t size, align;
	size_t first;        /* smallest member index, for stable ties */
	int pin;             /* 0, 1: fixed prefix, 2: keep-first */
	int pin_rank;        /* order among keep-first atoms */
	uint64_t at;         /* placed offset */
};

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return a > 1 ? (x + a - 1) / a * a : x;
}

static int atom_push(struct atom *a, size_t i, uint64_t rel)
{
	size_t *idx = realloc(a->idx, (a->n + 1) * sizeof(*idx));
	uint64_t *r;

	if (!idx)
		return -1;
	a->idx = idx;
	r = realloc(a->rel, (a->n + 1) * sizeof(*r));
	if (!r)
		return -1;
	a->rel = r;
	a->idx[a->n] = i;
	a->rel[a->n] = rel;
	a->n++;
	return 0;
}

static ssize_t find_member(const struct mt_lay_struct *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->m[i].name && strcmp(s->m[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static int cmp_atoms(const void *pa, const void *pb)
{
	const struct atom *a = pa, *b = pb;

	/* Placing order: fixed prefix (1), keep-first (2), the rest (0). */
	static const int rank[] = { 2, 0, 1 };

	if (a->pin != b->pin)
		return rank[a->pin] < rank[b->pin] ? -1 : 1;
	if (a->pin == 2 && a->pin_rank != b->pin_rank)
		return a->pin_rank < b->pin_rank ? -1 : 1;
	if (a->pin == 0) {
		if (a->align != b->align)
			return a->align > b->align ? -1 : 1;
		if (a->size != b->size)
			return a->size > b->size ? -1 : 1;
	}
	return a->first < b->first ? -1 : a->first > b->first;
}

/* Merge atom b into a, b laid after a at b's alignment. */
static int atom_append(struct atom *a, struct atom *b)
{
	uint64_t at = round_up(a->size, b->align);
	size_t k;

	for (k = 0; k < b->n; k++)
		if (atom_push(a, b->idx[k], at + b->rel[k]))
			return -1;
	a->size = at + b->size;
	if (b->align > a->align)
		a->align = b->align;
	if (b->first < a->first)
		a->first = b->first;
	if (b->pin > a->pin)
		a->pin = b->pin;
	free(b->idx);
	free(b->rel);
	memset(b, 0, sizeof(*b));
	return 0;
}

static bool overlaps(const struct atom *at, size_t n, uint64_t o, uint64_t size)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!at[i].n || !at[i].size || !size)
			continue;
		if (o < at[i].at + at[i].size && at[i].at < o + size)
			return true;
	}
	return false;
}

/* Zero-size atoms (a flexible array member), after end in order. */
static uint64_t place_tail(struct atom *at, size_t na, uint64_t end)
{
	size_t i;

	for (i = 0; i < na; i++) {
		if (at[i].n && (at[i].pin == 0 && !at[i].size)) {
			at[i].at = round_up(end, at[i].align);
			end = at[i].at + at[i].size;
		}
	}
	return end;
}

static uint64_t free_sum(const struct atom *at, const size_t *ix, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += at[ix[i]].size;
	return sum;
}

static bool next_perm(size_t *p, size_t n)
{
	size_t i = n - 1, j = n - 1, t;

	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	while (p[j] <= p[i - 1])
		j--;
	t = p[i - 1], p[i - 1] = p[j], p[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = p[i], p[i] = p[j], p[j] = t;
	return true;
}

#define MAX_EXHAUSTIVE 7   /* 5040 orders */

/* Every order of the free atoms laid out one after the other from start;
 * keeps (in at[].at) the smallest if it beats best. Returns the size. */
static uint64_t exhaustive(struct atom *at, size_t na, const size_t *ix, size_t n,
			   uint64_t start, uint64_t best, uint64_t align)
{
	size_t p[MAX_EXHAUSTIVE], keep[MAX_EXHAUSTIVE], i;
	bool better = false;

	for (i = 0; i < n; i++)
		p[i] = i;
	do {
		uint64_t off = start, size;

		for (i = 0; i < n; i++) {
			const struct atom *a = &at[ix[p[i]]];

			off = round_up(off, a->align) + a->size;
		}
		/* The tail after it, as place_tail would put it. */
		for (i = 0; i < na; i++)
			if (at[i].n && (at[i].pin == 0 && !at[i].size))
				off = round_up(off, at[i].align) + at[i].size;
		size = round_up(off, align);
		if (size < best) {
			best = size;
			memcpy(keep, p, n * sizeof(*p));
			better = true;
		}
	} while (next_perm(p, n));
	if (better) {
		uint64_t off = start;

		for (i = 0; i < n; i++) {
			struct atom *a = &at[ix[keep[i]]];

			a->at = round_up(off, a->align);
			off = a->at + a->size;
		}
		place_tail(at, na, off);
	}
	return best;
}

struct placed {
	size_t idx;
	uint64_t off;
};

static int cmp_placed(const void *pa, const void *pb)
{
	const struct placed *a = pa, *b = pb;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

uint64_t mt_lay_best(const struct mt_lay_struct *s, const struct mt_lay_pins *pins, size_t *order)
{
	struct atom *at = calloc(s->n ? s->n : 1, sizeof(*at));
	struct placed *pl = calloc(s->n ? s->n : 1, sizeof(*pl));
	size_t i, j, k, na = 0, np = 0, nf = 0, *atom_of = calloc(s->n ? s->n : 1, sizeof(size_t));
	size_t *free_ix = calloc(s->n ? s->n : 1, sizeof(size_t));
	uint64_t best = s->size, end = 0, prefix_end = 0, first_end;
	bool ok = at && pl && atom_of && free_ix && s->kind != MT_LAY_UNION && s->n > 1;

	for (i = 0; i < s->n; i++)
		order[i] = i;
	for (i = 0; ok && i < s->n; i++)
		if (s->m[i].flags & MT_LAYM_VIRTUAL)
			ok = false;
	/* Atoms: members, bit-field runs with what shares their units. */
	for (i = 0; ok && i < s->n;) {
		const struct mt_lay_member *m = &s->m[i];
		struct atom *a = &at[na];
		uint64_t start = m->offset, uend = m->offset + m->size, cend;

		a->first = i;
		a->align = m->align ? m->align : 1;
		if (m->flags & (MT_LAYM_BASE | MT_LAYM_VPTR))
			a->pin = 1;
		cend = m->bit_size ? (m->bit_off + m->bit_size + 7) / 8 : m->offset + m->size;
		atom_of[i] = na;
		for (j = i + 1; m->bit_size && j < s->n && s->m[j].offset < uend; j++) {
			const struct mt_lay_member *x = &s->m[j];
			uint64_t xe = x->bit_size ? (x->bit_off + x->bit_size + 7) / 8 : x->offset + x->size;

			if (x->offset < start)
				start = x->offset;
			if (x->offset + x->size > uend && x->bit_size)
				uend = x->offset + x->size;
			if (xe > cend)
				cend = xe;
			if (x->align > a->align)
				a->align = x->align;
			atom_of[j] = na;
		}
		for (k = i; k < j || k == i; k++) {
			if (atom_push(a, k, s->m[k].offset - start)) {
				ok = false;
				break;
			}
			if ((s->m[k].offset - start) % (s->m[k].align ? s->m[k].align : 1))
				ok = false;   /* the block would not keep its shape */
		}
		a->size = cend - start;
		if (start % a->align)
			ok = false;
		na++;
		i = j > i + 1 ? j : i + 1;
	}
	/* Pins: keep-first atoms in the given order, keep-together groups. */
	for (k = 0; ok && pins && k < pins->nkeep_first; k++) {
		ssize_t mi = find_member(s, pins->keep_first[k]);

		if (mi >= 0 && at[atom_of[mi]].pin == 0) {
			at[atom_of[mi]].pin = 2;
			at[atom_of[mi]].pin_rank = (int)k;
		}
	}
	for (k = 0; ok && pins && k < pins->ngroups; k++) {
		ssize_t lead = -1;

		for (j = 0; ok && j < pins->ntogether[k]; j++) {
			ssize_t mi = find_member(s, pins->together[k][j]);
			size_t ai;

			if (mi < 0)
				continue;
			ai = atom_of[mi];
			if (lead < 0) {
				lead = (ssize_t)ai;
			} else if ((size_t)lead != ai && at[ai].n) {
				for (i = 0; i < at[ai].n; i++)
					atom_of[at[ai].idx[i]] = (size_t)lead;
				if (atom_append(&at[lead], &at[ai]))
					ok = false;
			}
		}
	}
	if (!ok)
		goto out;
	qsort(at, na, sizeof(*at), cmp_atoms);
	/* The prefix where it is, keep-first atoms after it, in order. */
	for (i = 0; i < na; i++) {
		if (at[i].n && at[i].pin == 1) {
			at[i].at = s->m[at[i].idx[0]].offset - at[i].rel[0];
			if (at[i].at + at[i].size > prefix_end)
				prefix_end = at[i].at + at[i].size;
		}
	}
	first_end = prefix_end;
	for (i = 0; i < na; i++) {
		if (at[i].n && at[i].pin == 2) {
			at[i].at = round_up(first_end, at[i].align);
			first_end = at[i].at + at[i].size;
		}
	}
	/* The free atoms, first fit in the sorted order. */
	for (i = 0; i < na; i++) {
		if (at[i].n && at[i].pin == 0 && at[i].size) {
			uint64_t o = round_up(first_end, at[i].align);

			while (overlaps(at, i, o, at[i].size))
				o = round_up(o + 1, at[i].align);
			at[i].at = o;
			free_ix[nf++] = i;
		}
	}
	end = first_end;
	for (i = 0; i < na; i++)
		if (at[i].n && at[i].size && at[i].at + at[i].size > end)
			end = at[i].at + at[i].size;
	end = place_tail(at, na, end);
	best = round_up(end, s->align ? s->align : 1);
	/* First fit can miss the optimum when a member is smaller than its
	 * alignment (aligned(N)): few atoms are cheap to try in every order. */
	if (nf > 1 && nf <= MAX_EXHAUSTIVE && best > round_up(first_end + free_sum(at, free_ix, nf),
							       s->align ? s->align : 1))
		best = exhaustive(at, na, free_ix, nf, first_end, best, s->align ? s->align : 1);
	for (i = 0; i < na; i++)
		for (k = 0; k < at[i].n; k++) {
			pl[np].idx = at[i].idx[k];
			pl[np].off = at[i].at + at[i].rel[k];
			np++;
		}
	if (best >= s->size) {
		best = s->size;
		goto out;
	}
	qsort(pl, np, sizeof(*pl), cmp_placed);
	for (i = 0; i < np; i++)
		order[i] = pl[i].idx;
out:
	for (i = 0; at && i < na; i++) {
		free(at[i].idx);
		free(at[i].rel);
	}
	free(at);
	free(pl);
	free(atom_of);
	free(free_ix);
	return best;
}

void mt_lay_analyze(struct mt_lay_struct *s, const struct mt_lay_pins *pins)
{
	size_t i;

	s->sum_members = s->nr_holes = s->sum_holes = 0;
	s->nr_bit_holes = s->sum_bit_holes = s->padding = s->bit_padding = 0;
	s->straddles = 0;
	for (i = 0; i < s->n; i++) {
		struct mt_lay_member *m = &s->m[i];

		m->hole = 0;
		m->bit_hole = 0;
		if (m->flags & MT_LAYM_VIRTUAL)
			continue;   /* no fixed place in this struct */
		if (!m->bit_size)
			s->sum_members += m->size;
		if (!m->bit_size && m->size &&
		    m->offset / MT_LAY_CACHELINE != (m->offset + m->size - 1) / MT_LAY_CACHELINE)
			s->straddles++;
	}
	s->cachelines = mt_lay_lines(s->size);
	if (s->kind == MT_LAY_UNION) {
		uint64_t max = 0;

		for (i = 0; i < s->n; i++)
			if (s->m[i].size > max)
				max = s->m[i].size;
		s->padding = s->size > max ? s->size - max : 0;
	} else {
		find_holes(s);
	}
	free(s->best_order);
	s->best_order = malloc((s->n ? s->n : 1) * sizeof(size_t));
	if (!s->best_order) {
		s->best_size = s->size;
		return;
	}
	s->best_size = mt_lay_best(s, pins, s->best_order);
	s->abi_locked = pins && pins->abi_stable && in_header(s->decl_file);
}
