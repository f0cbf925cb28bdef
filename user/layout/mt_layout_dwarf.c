// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reading struct layouts out of DWARF with libdw: every named struct,
 * class and union (or anonymous one named by a typedef) of every unit, in
 * unit order, the first definition of each name (pahole's choice too).
 * Alignment is DW_AT_alignment where the compiler wrote one (aligned(N)),
 * else the natural one, computed from the members; a struct with a member
 * off its natural alignment, or a size that is not a multiple of it, is
 * packed (alignment 1), the way pahole infers __packed__.
 * Cost: one pass over the DIEs; ~200 bytes per member kept.
 */
#include <dwarf.h>
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include "util/mt_log.h"
#include "layout/mt_layout.h"

#define MAX_DEPTH 16   /* type nesting followed for names and alignment */

static uint64_t attr_u(Dwarf_Die *d, unsigned name, uint64_t dflt)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (!dwarf_attr_integrate(d, name, &a) || dwarf_formudata(&a, &w))
		return dflt;
	return w;
}

static bool has_attr(Dwarf_Die *d, unsigned name)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(d, name, &a) != NULL;
}

static bool type_of(Dwarf_Die *d, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(d, DW_AT_type, &a) && dwarf_formref_die(&a, out);
}

static bool is_qualifier(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type ||
	       tag == DW_TAG_volatile_type || tag == DW_TAG_restrict_type ||
	       tag == DW_TAG_atomic_type;
}

static bool is_record(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_class_type ||
	       tag == DW_TAG_union_type;
}

/* Size in bytes of a type; unbounded arrays (flexible members) are 0. */
static uint64_t type_size(Dwarf_Die *t, int depth)
{
	Dwarf_Word sz;
	Dwarf_Die in;
	int tag = dwarf_tag(t);

	if (depth > MAX_DEPTH)
		return 0;
	if (is_qualifier(tag))
		return type_of(t, &in) ? type_size(&in, depth + 1) : 0;
	if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type ||
	    tag == DW_TAG_rvalue_reference_type)
		return attr_u(t, DW_AT_byte_size, 8);
	if (dwarf_aggregate_size(t, &sz) == 0)
		return sz;
	return 0;
}

static uint64_t record_align(Dwarf_Die *t, int depth);

/* Alignment of a type: the first DW_AT_alignment met while peeling
 * typedefs and qualifiers, else the natural one. */
static uint64_t type_align(Dwarf_Die *t, int depth)
{
	Dwarf_Die in;
	int tag = dwarf_tag(t);
	uint64_t a = attr_u(t, DW_AT_alignment, 0);

	if (a)
		return a;
	if (depth > MAX_DEPTH)
		return 1;
	if (is_qualifier(tag) || tag == DW_TAG_array_type)
		return type_of(t, &in) ? type_align(&in, depth + 1) : 1;
	switch (tag) {
	case DW_TAG_base_type:
		a = attr_u(t, DW_AT_byte_size, 1);
		if (attr_u(t, DW_AT_encoding, 0) == DW_ATE_complex_float)
			a /= 2;
		return a ? a : 1;
	case DW_TAG_enumeration_type:
		a = attr_u(t, DW_AT_byte_size, 0);
		if (!a && type_of(t, &in))
			return type_align(&in, depth + 1);
		return a ? a : 1;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
	case DW_TAG_ptr_to_member_type:
		return attr_u(t, DW_AT_byte_size, 8);
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		return record_align(t, depth + 1);
	}
	return 1;
}

/* A data member's first bit, bit size (0: not a bit-field) and byte
 * offset; false for a static member or a virtual base. */
static bool member_place(Dwarf_Die *m, bool in_union, uint64_t *bit, uint32_t *bits)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	*bits = (uint32_t)attr_u(m, DW_AT_bit_size, 0);
	if (has_attr(m, DW_AT_data_bit_offset)) {
		*bit = attr_u(m, DW_AT_data_bit_offset, 0);
		return true;
	}
	if (!dwarf_attr_integrate(m, DW_AT_data_member_location, &a)) {
		if (!in_union || has_attr(m, DW_AT_external) || has_attr(m, DW_AT_declaration))
			return false;
		w = 0;
	} else if (dwarf_formudata(&a, &w)) {
		return false;  /* an expression: a virtual base */
	}
	*bit = w * 8;
	if (*bits && has_attr(m, DW_AT_bit_offset)) {
		/* DWARF 2-4, little-endian: counted from the storage unit's
		 * most significant bit. */
		uint64_t unit = attr_u(m, DW_AT_byte_size, 0) * 8;

		*bit += unit - attr_u(m, DW_AT_bit_offset, 0) - *bits;
	}
	return true;
}

/* A record's natural alignment (the largest of its members'), and whether
 * it is packed: a member off its natural alignment, or a size that is not
 * a multiple of it. */
static uint64_t record_natural(Dwarf_Die *t, int depth, bool *packed)
{
	Dwarf_Die c, mt;
	uint64_t max = 1, size;
	bool in_union = dwarf_tag(t) == DW_TAG_union_type;

	*packed = false;
	if (dwarf_child(t, &c) != 0)
		return 1;
	do {
		uint64_t bit, ma;
		uint32_t bits;
		int tag = dwarf_tag(&c);

		if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
			continue;
		if (!member_place(&c, in_union, &bit, &bits) || !type_of(&c, &mt))
			continue;
		ma = attr_u(&c, DW_AT_alignment, 0);
		if (!ma)
			ma = type_align(&mt, depth + 1);
		if (ma > max)
			max = ma;
		if (!bits && (bit / 8) % ma)
			*packed = true;
	} while (dwarf_siblingof(&c, &c) == 0);
	size = attr_u(t, DW_AT_byte_size, 0);
	if (size && size % max)
		*packed = true;
	return max;
}

static uint64_t record_align(Dwarf_Die *t, int depth)
{
	uint64_t a = attr_u(t, DW_AT_alignment, 0), max;
	bool packed;

	if (a)
		return a;
	max = record_natural(t, depth, &packed);
	return packed ? 1 : max;
}

/* The C spelling of a type, into a malloc'd string. */
struct sb {
	char buf[256];
	size_t len;
};

static void sb_add(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n >= sizeof(b->buf))
		n = sizeof(b->buf) - 1 - b->len;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void spell(Dwarf_Die *t, struct sb *b, int depth)
{
	Dwarf_Die in;
	const char *name = dwarf_diename(t);
	int tag = dwarf_tag(t);

	if (depth > MAX_DEPTH) {
		sb_add(b, "...");
		return;
	}
	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		sb_add(b, tag == DW_TAG_structure_type ? "struct " : tag == DW_TAG_class_type ?
		       "class " : tag == DW_TAG_union_type ? "union " : "enum ");
		sb_add(b, name ? name : "{...}");
		return;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_atomic_type:
		sb_add(b, tag == DW_TAG_const_type ? "const " : tag == DW_TAG_volatile_type ?
		       "volatile " : "_Atomic ");
		if (type_of(t, &in))
			spell(&in, b, depth + 1);
		else
			sb_add(b, "void");
		return;
	case DW_TAG_restrict_type:
		if (type_of(t, &in))
			spell(&in, b, depth + 1);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		if (!type_of(t, &in)) {
			sb_add(b, "void *");
		} else if (dwarf_tag(&in) == DW_TAG_subroutine_type) {
			Dwarf_Die r;

			if (type_of(&in, &r))
				spell(&r, b, depth + 1);
			else
				sb_add(b, "void");
			sb_add(b, " (*)()");
		} else {
			spell(&in, b, depth + 1);
			sb_add(b, tag == DW_TAG_pointer_type ? " *" : " &");
		}
		return;
	case DW_TAG_array_type: {
		Dwarf_Die c;

		if (type_of(t, &in))
			spell(&in, b, depth + 1);
		if (dwarf_child(t, &c) == 0) {
			do {
				char dim[32];
				Dwarf_Word n;
				Dwarf_Attribute a;

				if (dwarf_tag(&c) != DW_TAG_subrange_type)
					continue;
				if (dwarf_attr(&c, DW_AT_count, &a) && !dwarf_formudata(&a, &n))
					snprintf(dim, sizeof(dim), "[%llu]", (unsigned long long)n);
				else if (dwarf_attr(&c, DW_AT_upper_bound, &a) && !dwarf_formudata(&a, &n))
					snprintf(dim, sizeof(dim), "[%llu]", (unsigned long long)n + 1);
				else
					snprintf(dim, sizeof(dim), "[]");
				sb_add(b, dim);
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		return;
	}
	case DW_TAG_subroutine_type:
		sb_add(b, "fn()");
		return;
	}
	sb_add(b, name ? name : "?");
}

static bool is_flexible(Dwarf_Die *t)
{
	Dwarf_Die in, c;
	int tag;

	while ((tag = dwarf_tag(t)) != DW_TAG_array_type) {
		if (!is_qualifier(tag) || !type_of(t, &in))
			return false;
		*t = in;
	}
	if (dwarf_child(t, &c) != 0)
		return true;
	do {
		if (dwarf_tag(&c) == DW_TAG_subrange_type) {
			if (!has_attr(&c, DW_AT_count) && !has_attr(&c, DW_AT_upper_bound))
				return true;
			return attr_u(&c, DW_AT_count, 1) == 0;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

/* Tail padding of a struct-typed member's type, 0 for others. */
static uint64_t inner_padding(Dwarf_Die *t)
{
	Dwarf_Die in, c;
	uint64_t end = 0, size;

	while (is_qualifier(dwarf_tag(t)) && type_of(t, &in))
		*t = in;
	if (dwarf_tag(t) != DW_TAG_structure_type && dwarf_tag(t) != DW_TAG_class_type)
		return 0;
	size = attr_u(t, DW_AT_byte_size, 0);
	if (dwarf_child(t, &c) != 0)
		return 0;
	do {
		uint64_t bit, e;
		uint32_t bits;
		Dwarf_Die mt;

		if (dwarf_tag(&c) != DW_TAG_member && dwarf_tag(&c) != DW_TAG_inheritance)
			continue;
		if (!member_place(&c, false, &bit, &bits) || !type_of(&c, &mt))
			continue;
		e = bits ? (bit + bits + 7) / 8 : bit / 8 + type_size(&mt, 0);
		if (e > end)
			end = e;
	} while (dwarf_siblingof(&c, &c) == 0);
	return size > end ? size - end : 0;
}

static int fill_record(struct mt_lay_struct *s, Dwarf_Die *t, int depth);

static int add_member(struct mt_lay_struct *s, Dwarf_Die *m, bool in_union, bool packed, int depth)
{
	struct mt_lay_member *x;
	Dwarf_Die t, t2;
	struct sb b = { .len = 0 };
	const char *name = dwarf_diename(m);
	uint64_t bit;
	uint32_t bits;
	bool base = dwarf_tag(m) == DW_TAG_inheritance;
	int err;

	if (!type_of(m, &t))
		return 0;
	if (!member_place(m, in_union, &bit, &bits)) {
		if (!base)
			return 0;   /* static member */
		bit = 0;
		bits = 0;
	}
	x = realloc(s->m, (s->n + 1) * sizeof(*x));
	if (!x)
		return -ENOMEM;
	s->m = x;
	x = &s->m[s->n++];   /* counted at once: freed with s on any error */
	memset(x, 0, sizeof(*x));
	if (base) {
		x->flags |= MT_LAYM_BASE;
		if (attr_u(m, DW_AT_virtuality, 0))
			x->flags |= MT_LAYM_VIRTUAL;
	}
	if (has_attr(m, DW_AT_artificial) && name && strncmp(name, "_vptr", 5) == 0)
		x->flags |= MT_LAYM_VPTR;
	t2 = t;
	if (is_flexible(&t2))
		x->flags |= MT_LAYM_FLEX;
	t2 = t;
	x->inner_padding = inner_padding(&t2);
	spell(&t, &b, 0);
	x->name = name ? strdup(name) : base ? strdup(b.buf) : NULL;
	x->type = strdup(b.buf);
	if (((name || base) && !x->name) || !x->type)
		return -ENOMEM;
	if (!base) {
		Dwarf_Die p = t;

		while (is_qualifier(dwarf_tag(&p)) && type_of(&p, &p))
			;
		if (is_record(dwarf_tag(&p)) && !dwarf_diename(&p) && depth < MAX_DEPTH) {
			/* A type defined in place: its members, for the text
			 * (offsets within it). */
			if (!name)
				x->flags |= MT_LAYM_ANON;
			x->inner = calloc(1, sizeof(*x->inner));
			if (!x->inner)
				return -ENOMEM;
			err = fill_record(x->inner, &p, depth + 1);
			if (err)
				return err;
		}
	}
	x->size = type_size(&t, 0);
	x->align = attr_u(m, DW_AT_alignment, 0);
	if (!x->align)
		x->align = packed ? 1 : type_align(&t, 0);
	x->bit_off = bit;
	x->bit_size = bits;
	x->offset = bit / 8;
	if (bits) {
		/* The storage unit: the naturally aligned unit of the declared
		 * type holding the first bit, or, straddling one (packed), the
		 * byte holding it. */
		uint64_t unit = x->size ? x->size : 1;

		x->offset = bit / (unit * 8) * unit;
		if (bit + bits > (x->offset + unit) * 8)
			x->offset = bit / 8;
	}
	return 0;
}

/* A record's facts and members into s (zeroed, name set by the caller). */
static int fill_record(struct mt_lay_struct *s, Dwarf_Die *t, int depth)
{
	Dwarf_Die c;
	int tag = dwarf_tag(t), err = 0;
	bool in_union = tag == DW_TAG_union_type;
	const char *file;

	s->kind = tag == DW_TAG_class_type ? MT_LAY_CLASS : in_union ? MT_LAY_UNION : MT_LAY_STRUCT;
	s->size = attr_u(t, DW_AT_byte_size, 0);
	s->explicit_align = has_attr(t, DW_AT_alignment);
	s->align = record_align(t, 0);
	/* Packed: members align to 1 in the better order. */
	record_natural(t, 0, &s->packed);
	s->packed = s->packed && !in_union;
	file = dwarf_decl_file(t);
	if (file && !(s->decl_file = strdup(file)))
		return -ENOMEM;
	s->decl_line = (unsigned)attr_u(t, DW_AT_decl_line, 0);
	if (dwarf_child(t, &c) != 0)
		return 0;
	do {
		int ct = dwarf_tag(&c);

		if (ct == DW_TAG_member || ct == DW_TAG_inheritance)
			err = add_member(s, &c, in_union, s->packed, depth);
	} while (!err && dwarf_siblingof(&c, &c) == 0);
	return err;
}

static int add_struct(struct mt_layout *l, Dwarf_Die *t, const char *name)
{
	struct mt_lay_struct *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		s = realloc(l->s, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		l->s = s;
		l->cap = cap;
	}
	s = &l->s[l->n];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (!s->name)
		return -ENOMEM;
	l->n++;
	return fill_record(s, t, 0);
}

struct walk {
	struct mt_layout *l;
	void *seen;          /* tsearch tree of the names taken (struct names) */
	char **types;
	size_t ntypes;
};

static bool wanted(struct walk *w, const char *name)
{
	size_t i;

	if (!w->ntypes)
		return true;
	for (i = 0; i < w->ntypes; i++)
		if (strcmp(w->types[i], name) == 0)
			return true;
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void keep_key(void *key)
{
	(void)key;   /* the struct's own name string, freed with l */
}

/* Take the record t under name, once. via: the typedef naming it, when
 * the user asked for that name (FILE for struct _IO_FILE). */
static int consider(struct walk *w, Dwarf_Die *t, const char *name, const char *via)
{
	struct mt_lay_struct *s = NULL;
	size_t i;
	int err;

	if (!name || !*name || has_attr(t, DW_AT_declaration) || !has_attr(t, DW_AT_byte_size))
		return 0;
	if (!via && !wanted(w, name))
		return 0;
	if (tfind(name, &w->seen, cmp_name)) {
		for (i = 0; via && i < w->l->n && !s; i++)
			if (strcmp(w->l->s[i].name, name) == 0)
				s = &w->l->s[i];
	} else {
		err = add_struct(w->l, t, name);
		if (err)
			return err;
		s = &w->l->s[w->l->n - 1];
		/* The key is the struct's own name string: it lives as long as l. */
		if (!tsearch(s->name, &w->seen, cmp_name))
			return -ENOMEM;
	}
	if (s && via && !s->alias && !(s->alias = strdup(via)))
		return -ENOMEM;
	return 0;
}

static int walk_die(struct walk *w, Dwarf_Die *parent, int depth)
{
	Dwarf_Die c;
	int err = 0;

	if (depth > MAX_DEPTH || dwarf_child(parent, &c) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&c);
		Dwarf_Die t;

		if (is_record(tag)) {
			err = consider(w, &c, dwarf_diename(&c), NULL);
			if (!err)
				err = walk_die(w, &c, depth + 1);   /* C++ nested types */
		} else if (tag == DW_TAG_typedef && type_of(&c, &t) && is_record(dwarf_tag(&t))) {
			const char *tn = dwarf_diename(&c);

			if (!dwarf_diename(&t))
				err = consider(w, &t, tn, NULL);
			else if (w->ntypes && tn && wanted(w, tn))
				err = consider(w, &t, dwarf_diename(&t), tn);
		} else if (tag == DW_TAG_namespace) {
			err = walk_die(w, &c, depth + 1);
		}
	} while (!err && dwarf_siblingof(&c, &c) == 0);
	return err;
}

int mt_layout_load(struct mt_layout *l, const char *path, char **types, size_t ntypes)
{
	struct walk w = { .l = l, .types = types, .ntypes = ntypes };
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	int err;

	memset(l, 0, sizeof(*l));
	l->module = strdup(path);
	if (!l->module)
		return -ENOMEM;
	err = mt_dwarf_open(path, &l->dw);
	if (err)
		return err;
	while (!err && dwarf_get_units(l->dw.dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0)
		err = walk_die(&w, &cudie, 0);
	tdestroy(w.seen, keep_key);
	if (err == -ENOMEM)
		mt_err("cannot read the types of '%s': %s", path, strerror(ENOMEM));
	return err;
}

static void free_record(struct mt_lay_struct *s)
{
	size_t j;

	for (j = 0; j < s->n; j++) {
		free(s->m[j].name);
		free(s->m[j].type);
		if (s->m[j].inner) {
			free_record(s->m[j].inner);
			free(s->m[j].inner);
		}
	}
	free(s->m);
	free(s->name);
	free(s->alias);
	free(s->decl_file);
	free(s->best_order);
}

void mt_layout_free(struct mt_layout *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free_record(&l->s[i]);
	free(l->s);
	free(l->module);
	mt_dwarf_close(&l->dw);
	memset(l, 0, sizeof(*l));
}
