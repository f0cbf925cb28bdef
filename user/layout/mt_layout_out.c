// SPDX-License-Identifier: BSD-2-Clause
/*
 * The writers of memtrace layout: text like pahole's (members with
 * offset and size, XXX hole lines, a summary comment), the better order
 * beside the old one, and the live-heap ranking; JSON as documented in
 * docs/report-format.md ("memtrace layout --json").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_json.h"
#include "layout/mt_layout.h"

static uint64_t saved_live(const struct mt_lay_struct *s)
{
	return s->has_live ? s->live_objects * mt_lay_saved(s) : 0;
}

static uint64_t best_lines(const struct mt_lay_struct *s)
{
	return mt_lay_lines(mt_lay_saved(s) ? s->best_size : s->size);
}

static const struct mt_layout *sort_l;

static int cmp_rank(const void *pa, const void *pb)
{
	const struct mt_lay_struct *a = &sort_l->s[*(const size_t *)pa];
	const struct mt_lay_struct *b = &sort_l->s[*(const size_t *)pb];
	uint64_t x, y;

	if (a->has_live != b->has_live)
		return a->has_live ? -1 : 1;
	x = saved_live(a), y = saved_live(b);
	if (x != y)
		return x > y ? -1 : 1;
	x = a->live_objects * a->cachelines, y = b->live_objects * b->cachelines;
	if (x != y)
		return x > y ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Struct indices: ranked by live bytes saved when weighted, else in DWARF
 * order. malloc'd; NULL on ENOMEM. */
static size_t *ranked(const struct mt_layout *l, const struct mt_lay_weights *w)
{
	size_t *ix = malloc((l->n ? l->n : 1) * sizeof(*ix)), i;

	if (!ix)
		return NULL;
	for (i = 0; i < l->n; i++)
		ix[i] = i;
	if (w) {
		sort_l = l;
		qsort(ix, l->n, sizeof(*ix), cmp_rank);
	}
	return ix;
}

/* One member at depth d (1: the struct's own), base bytes into the struct:
 * a type defined in place (struct { ... } or union { ... }) is expanded,
 * its members at their offsets in the outer struct, as pahole does. */
static void text_member(FILE *f, const struct mt_lay_struct *s, size_t i, uint64_t base, int d)
{
	const struct mt_lay_member *m = &s->m[i];
	char decl[192], buf[48], ind[16];
	const char *name = m->name ? m->name : "";
	const char *dims = strchr(m->type, '[');
	int tl = dims ? (int)(dims - m->type) : (int)strlen(m->type);
	int tw = 26 - 8 * (d - 1), dw = 48 - 8 * (d - 1);
	uint64_t off = base + m->offset;
	size_t k;

	if (tw < 1)
		tw = 1;
	if (dw < 1)
		dw = 1;
	snprintf(ind, sizeof(ind), "%.*s", d < 15 ? d : 15, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t");
	if (m->flags & MT_LAYM_VIRTUAL) {
		/* Placed by the vtable at run time: no fixed offset. */
		snprintf(decl, sizeof(decl), "%-*s <virtual ancestor>;", tw, m->type);
		fprintf(f, "%s%-*s /*     ? %5" PRIu64 " */\n", ind, dw, decl, m->size);
		return;
	}
	if (m->bit_size)
		snprintf(buf, sizeof(buf), "%5" PRIu64 ":%2" PRIu64 " %4" PRIu64,
			 off, m->bit_off - m->offset * 8, m->size);
	else
		snprintf(buf, sizeof(buf), "%5" PRIu64 " %5" PRIu64, off, m->size);
	if (m->inner) {
		fprintf(f, "%s%s {\n", ind, mt_lay_kind_name(m->inner->kind));
		for (k = 0; k < m->inner->n; k++)
			text_member(f, m->inner, k, off, d + 1);
		snprintf(decl, sizeof(decl), "}%s%s%s;", *name ? " " : "", name, dims ? dims : "");
	} else if (m->flags & MT_LAYM_BASE) {
		snprintf(decl, sizeof(decl), "%-*s <ancestor>;", tw, m->type);
	} else if (m->bit_size) {
		snprintf(decl, sizeof(decl), "%-*.*s %s:%u;", tw, tl, m->type, name, m->bit_size);
	} else {
		snprintf(decl, sizeof(decl), "%-*.*s %s%s;", tw, tl, m->type, name, dims ? dims : "");
	}
	fprintf(f, "%s%-*s /* %s */\n", ind, dw, decl, buf);
	if (d > 1)
		return;   /* holes and notes of the struct's own members only */
	if (m->inner_padding)
		fprintf(f, "\n\t/* XXX last struct has %" PRIu64 " bytes of padding */\n", m->inner_padding);
	if (!m->bit_size && m->size &&
	    m->offset / MT_LAY_CACHELINE != (m->offset + m->size - 1) / MT_LAY_CACHELINE)
		fprintf(f, "\t/* XXX straddles cacheline %" PRIu64 " */\n",
			(m->offset + m->size - 1) / MT_LAY_CACHELINE);
	if (m->bit_hole)
		fprintf(f, "\n\t/* XXX %u bit%s hole, try to pack */\n", m->bit_hole,
			m->bit_hole == 1 ? "" : "s");
	if (m->hole)
		fprintf(f, "\n\t/* XXX %" PRIu64 " byte%s hole, try to pack */\n\n", m->hole,
			m->hole == 1 ? "" : "s");
}

static void text_struct(FILE *f, const struct mt_lay_struct *s)
{
	uint64_t line = 0, saved = mt_lay_saved(s);
	char nb[2][40];
	size_t i;

	fprintf(f, "%s %s {\n", mt_lay_kind_name(s->kind), s->name);
	for (i = 0; i < s->n; i++) {
		const struct mt_lay_member *m = &s->m[i];

		if (s->kind != MT_LAY_UNION && m->offset / MT_LAY_CACHELINE > line && !m->bit_size) {
			line = m->offset / MT_LAY_CACHELINE;
			fprintf(f, "\t/* --- cacheline %" PRIu64 " boundary (%" PRIu64 " bytes) --- */\n",
				line, line * MT_LAY_CACHELINE);
		}
		text_member(f, s, i, 0, 1);
	}
	fprintf(f, "\n\t/* size: %" PRIu64 ", align: %" PRIu64 ", cachelines: %" PRIu64
		", members: %zu */\n", s->size, s->align, s->cachelines, s->n);
	if (s->nr_holes)
		fprintf(f, "\t/* sum members: %" PRIu64 ", holes: %" PRIu64 ", sum holes: %" PRIu64 " */\n",
			s->sum_members, s->nr_holes, s->sum_holes);
	if (s->nr_bit_holes)
		fprintf(f, "\t/* bit holes: %" PRIu64 ", sum bit holes: %" PRIu64 " bits */\n",
			s->nr_bit_holes, s->sum_bit_holes);
	if (s->padding)
		fprintf(f, "\t/* padding: %" PRIu64 " */\n", s->padding);
	if (s->bit_padding)
		fprintf(f, "\t/* bit_padding: %" PRIu64 " bits */\n", s->bit_padding);
	if (s->straddles)
		fprintf(f, "\t/* members straddling a cache line: %" PRIu64 " */\n", s->straddles);
	if (s->abi_locked && s->best_size < s->size)
		fprintf(f, "\t/* a better order would take %" PRIu64 " bytes, but %s declares it"
			" (ABI, --abi-stable): not proposed */\n", s->best_size, s->decl_file);
	if (saved) {
		fprintf(f, "\t/* better order: %" PRIu64 " bytes, %" PRIu64 " cacheline%s, saves %"
			PRIu64 " per object */\n", s->best_size, best_lines(s),
			best_lines(s) == 1 ? "" : "s", saved);
		fprintf(f, "\t/*   %-30s   %s */\n", "old order", "new order");
		for (i = 0; i < s->n; i++) {
			const struct mt_lay_member *a = &s->m[i], *b = &s->m[s->best_order[i]];
			char l[48], r[48];

			snprintf(l, sizeof(l), "%-22s %3" PRIu64,
				 mt_lay_member_name(s, i, nb[0], sizeof(nb[0])), a->size);
			snprintf(r, sizeof(r), "%-22s %3" PRIu64,
				 mt_lay_member_name(s, s->best_order[i], nb[1], sizeof(nb[1])), b->size);
			fprintf(f, "\t/*   %-30s   %-30s */\n", l, r);
		}
	}
	if (s->has_live)
		fprintf(f, "\t/* live: %" PRIu64 " objects (confidence: %s), %" PRIu64
			" cachelines; the better order saves %" PRIu64 " bytes */\n",
			s->live_objects, s->confidence, s->live_objects * s->cachelines, saved_live(s));
	fprintf(f, "}%s;\n", s->packed && s->kind != MT_LAY_UNION ? " __attribute__((__packed__))" : "");
}

static void text_ranking(FILE *f, const struct mt_layout *l, const struct mt_lay_weights *w,
			 const size_t *ix)
{
	size_t i, n = 0, k;

	fprintf(f, "live objects by type (report %s, module %s):\n", w->path, l->module);
	fprintf(f, "  %14s %12s %11s %10s  %-14s %s\n", "bytes saved", "live objects",
		"size->best", "lines", "confidence", "type");
	for (i = 0; i < l->n && l->s[ix[i]].has_live; i++, n++) {
		const struct mt_lay_struct *s = &l->s[ix[i]];
		char sz[32];

		snprintf(sz, sizeof(sz), "%" PRIu64 "->%" PRIu64, s->size,
			 mt_lay_saved(s) ? s->best_size : s->size);
		fprintf(f, "  %14" PRIu64 " %12" PRIu64 " %11s %10" PRIu64 "  %-14s %s %s\n",
			saved_live(s), s->live_objects, sz, s->live_objects * s->cachelines,
			s->confidence, mt_lay_kind_name(s->kind), s->name);
	}
	if (!n)
		fprintf(f, "  (no live objects attributed to a type of this module)\n");
	if (n) {
		fprintf(f, "\nsize classes of the live types (bytes lost to the allocator's class;"
			" below: the class under it):\n");
		for (i = 0; i < n; i++) {
			const struct mt_lay_struct *s = &l->s[ix[i]];

			fprintf(f, "  %s %s (%" PRIu64 " bytes):", mt_lay_kind_name(s->kind), s->name, s->size);
			for (k = 0; k < MT_LAY_NALLOC; k++) {
				uint64_t c = mt_lay_class(k, s->size), b = mt_lay_class_below(k, s->size);

				if (!c) {
					fprintf(f, " %s -", mt_lay_alloc_name(k));
					continue;
				}
				fprintf(f, " %s %" PRIu64 " (lost %" PRIu64 " x %" PRIu64 " = %" PRIu64
					", below %" PRIu64 "%s)%s", mt_lay_alloc_name(k), c, c - s->size,
					s->live_objects, (c - s->size) * s->live_objects, b,
					b && mt_lay_saved(s) && s->best_size <= b ? ", reached by the better order" : "",
					k + 1 < MT_LAY_NALLOC ? ";" : "");
			}
			fputc('\n', f);
		}
	}
	for (i = 0, k = 0; i < w->nsites; i++) {
		const struct mt_lay_site *st = &w->sites[i];

		if (st->type)
			continue;
		if (!k++)
			fprintf(f, "\nsites not attributed:\n");
		fprintf(f, "  site %" PRIu64 ": %" PRIu64 " live objects of %" PRIu64 " bytes at %s (%s:%u): %s\n",
			st->site, st->live_objects, st->object_size, st->func ? st->func : "?",
			st->file ? st->file : "?", st->line, st->why);
	}
	fputc('\n', f);
}

int mt_lay_text(FILE *f, const struct mt_layout *l, const struct mt_lay_weights *w)
{
	size_t *ix = ranked(l, w), i;

	if (!ix)
		return -ENOMEM;
	if (w)
		text_ranking(f, l, w, ix);
	for (i = 0; i < l->n; i++)
		text_struct(f, &l->s[ix[i]]);
	free(ix);
	return fflush(f) ? -errno : 0;
}

static void json_struct(struct mt_json *j, const struct mt_lay_struct *s, bool weighted)
{
	char nb[40];
	size_t i, k;

	mt_json_obj_begin(j);
	mt_json_key_str(j, "name", s->name);
	mt_json_key_str(j, "kind", mt_lay_kind_name(s->kind));
	mt_json_key_u64(j, "size", s->size);
	mt_json_key_u64(j, "align", s->align);
	mt_json_key(j, "packed");
	mt_json_bool(j, s->packed);
	mt_json_key_str(j, "decl_file", s->decl_file);
	mt_json_key_u64(j, "decl_line", s->decl_line);
	mt_json_key(j, "members");
	mt_json_arr_begin(j);
	for (i = 0; i < s->n; i++) {
		const struct mt_lay_member *m = &s->m[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "name", m->name);
		mt_json_key_str(j, "type", m->type);
		mt_json_key_u64(j, "offset", m->offset);
		mt_json_key_u64(j, "size", m->size);
		mt_json_key_u64(j, "align", m->align);
		mt_json_key_u64_or_null(j, "bit_offset", m->bit_size, m->bit_off);
		mt_json_key_u64_or_null(j, "bit_size", m->bit_size, m->bit_size);
		mt_json_key(j, "role");
		mt_json_str(j, m->flags & MT_LAYM_VPTR ? "vptr" : m->flags & MT_LAYM_VIRTUAL ?
			    "virtual_base" : m->flags & MT_LAYM_BASE ? "base" : m->flags & MT_LAYM_FLEX ?
			    "flexible_array" : m->flags & MT_LAYM_ANON ? "anonymous" : NULL);
		mt_json_key(j, "straddles_cacheline");
		mt_json_bool(j, !m->bit_size && m->size &&
			     m->offset / MT_LAY_CACHELINE != (m->offset + m->size - 1) / MT_LAY_CACHELINE);
		mt_json_key_u64(j, "inner_padding", m->inner_padding);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key(j, "holes");
	mt_json_arr_begin(j);
	for (i = 0; i < s->n; i++) {
		if (!s->m[i].hole)
			continue;
		mt_json_obj_begin(j);
		mt_json_key_str(j, "after", mt_lay_member_name(s, i, nb, sizeof(nb)));
		mt_json_key_u64(j, "bytes", s->m[i].hole);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key(j, "bit_holes");
	mt_json_arr_begin(j);
	for (i = 0; i < s->n; i++) {
		if (!s->m[i].bit_hole)
			continue;
		mt_json_obj_begin(j);
		mt_json_key_str(j, "after", mt_lay_member_name(s, i, nb, sizeof(nb)));
		mt_json_key_u64(j, "bits", s->m[i].bit_hole);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key_u64(j, "padding", s->padding);
	mt_json_key_u64(j, "bit_padding", s->bit_padding);
	mt_json_key_u64(j, "cachelines", s->cachelines);
	mt_json_key_u64(j, "straddles", s->straddles);
	mt_json_key_u64(j, "best_size", mt_lay_saved(s) || s->abi_locked ? s->best_size : s->size);
	mt_json_key_u64(j, "bytes_saved", mt_lay_saved(s));
	mt_json_key_u64(j, "best_cachelines", best_lines(s));
	mt_json_key(j, "best_order");
	mt_json_arr_begin(j);
	for (i = 0; i < s->n; i++) {
		k = mt_lay_saved(s) ? s->best_order[i] : i;
		mt_json_str(j, mt_lay_member_name(s, k, nb, sizeof(nb)));
	}
	mt_json_arr_end(j);
	mt_json_key(j, "abi_locked");
	mt_json_bool(j, s->abi_locked);
	mt_json_key_u64_or_null(j, "live_objects", s->has_live, s->live_objects);
	mt_json_key_u64_or_null(j, "bytes_saved_live", s->has_live, saved_live(s));
	mt_json_key_u64_or_null(j, "cachelines_live", s->has_live, s->live_objects * s->cachelines);
	mt_json_key_str(j, "confidence", s->has_live ? s->confidence : NULL);
	mt_json_key(j, "size_classes");
	if (!weighted || !s->has_live) {
		mt_json_null(j);
	} else {
		mt_json_obj_begin(j);
		for (k = 0; k < MT_LAY_NALLOC; k++) {
			uint64_t c = mt_lay_class(k, s->size);

			mt_json_key(j, mt_lay_alloc_name(k));
			if (!c) {
				mt_json_null(j);
				continue;
			}
			mt_json_obj_begin(j);
			mt_json_key_u64(j, "class", c);
			mt_json_key_u64(j, "lost_per_object", c - s->size);
			mt_json_key_u64(j, "lost_live", (c - s->size) * s->live_objects);
			mt_json_key_u64(j, "class_below", mt_lay_class_below(k, s->size));
			mt_json_key_u64(j, "best_class", mt_lay_class(k, mt_lay_saved(s) ? s->best_size : s->size));
			mt_json_obj_end(j);
		}
		mt_json_obj_end(j);
	}
	mt_json_obj_end(j);
}

int mt_lay_json(FILE *f, const struct mt_layout *l, const struct mt_lay_weights *w)
{
	struct mt_json j;
	size_t *ix = ranked(l, w), i;

	if (!ix)
		return -ENOMEM;
	mt_json_init(&j, f);
	mt_json_obj_begin(&j);
	mt_json_key_u64(&j, "version", 1);
	mt_json_key_str(&j, "module", l->module);
	mt_json_key_str(&j, "debug_file", l->dw.debug_file);
	mt_json_key_str(&j, "debug_found_by", l->dw.debug_how);
	mt_json_key_str(&j, "report", w ? w->path : NULL);
	mt_json_key(&j, "structs");
	mt_json_arr_begin(&j);
	for (i = 0; i < l->n; i++)
		json_struct(&j, &l->s[ix[i]], w != NULL);
	mt_json_arr_end(&j);
	mt_json_key(&j, "sites");
	if (!w) {
		mt_json_null(&j);
	} else {
		mt_json_arr_begin(&j);
		for (i = 0; i < w->nsites; i++) {
			const struct mt_lay_site *st = &w->sites[i];

			mt_json_obj_begin(&j);
			mt_json_key_u64_or_null(&j, "site", st->site != UINT64_MAX, st->site);
			mt_json_key_u64(&j, "live_objects", st->live_objects);
			mt_json_key_u64(&j, "object_size", st->object_size);
			mt_json_key_str(&j, "func", st->func);
			mt_json_key_str(&j, "file", st->file);
			mt_json_key_u64(&j, "line", st->line);
			mt_json_key_str(&j, "type", st->type);
			mt_json_key_str(&j, "confidence", st->confidence);
			mt_json_key_u64(&j, "candidates", st->ncandidates);
			mt_json_key_str(&j, "unattributed", st->type ? NULL : st->why);
			mt_json_obj_end(&j);
		}
		mt_json_arr_end(&j);
	}
	mt_json_obj_end(&j);
	free(ix);
	return mt_json_finish(&j);
}
