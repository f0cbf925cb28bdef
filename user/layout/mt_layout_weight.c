// SPDX-License-Identifier: BSD-2-Clause
/*
 * Live objects per type, from a saved report (docs/layout.md).
 *
 * A site (one allocation stack) whose live blocks all have one size S
 * (live_bytes a multiple of live_objects) is attributed through its first
 * frame in the module (frames before it must be allocation wrappers of
 * other modules: operator new, *alloc*, *strdup*, *_new), in this order:
 *   "dwarf":  the scopes at the call (libdw) show a variable declared on
 *             the call's line, or the calling function's return value,
 *             of type T * with S a multiple of sizeof(T);
 *   "size":   exactly one type of the module has sizeof(T) == S.
 * An array (S a multiple of sizeof(T)) needs DWARF: by size alone, an
 * array of pointers would be claimed by every 8-byte struct. Anything else
 * stays unattributed, with the reason. A block of S bytes holds
 * S / sizeof(T) objects of T.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <elfutils/libdw.h>
#include "util/mt_json_read.h"
#include "util/mt_log.h"
#include "layout/mt_layout.h"
#include "util/mt_fmt.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL, *nb;
	size_t cap = 0, n;

	*len = 0;
	if (!f) {
		mt_err("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - *len < 65536) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				mt_err("cannot read '%s': %s", path, strerror(ENOMEM));
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0) {
			if (ferror(f)) {
				mt_err("cannot read '%s': %s", path, strerror(errno));
				free(buf);
				buf = NULL;
			} else {
				buf[*len] = '\0';
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b)
		return false;
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(mt_basename(a), mt_basename(b)) == 0;
}

static const struct mt_lay_struct *by_name(const struct mt_layout *l, const char *name,
					   Dwarf_Word size)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->s[i].name, name) == 0 && l->s[i].size == size)
			return &l->s[i];
	return NULL;
}

/* The struct a pointer type points to, by name and size. */
static const struct mt_lay_struct *pointee(const struct mt_layout *l, Dwarf_Die *var)
{
	Dwarf_Attribute a;
	Dwarf_Die t, p;
	Dwarf_Word size;
	const char *name;

	if (!dwarf_attr_integrate(var, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
		return NULL;
	if (dwarf_peel_type(&t, &t) || dwarf_tag(&t) != DW_TAG_pointer_type)
		return NULL;
	if (!dwarf_attr_integrate(&t, DW_AT_type, &a) || !dwarf_formref_die(&a, &p))
		return NULL;
	name = dwarf_diename(&p);      /* a typedef's name names it too */
	if (dwarf_peel_type(&p, &p) != 0)
		return NULL;
	if (dwarf_tag(&p) != DW_TAG_structure_type && dwarf_tag(&p) != DW_TAG_class_type &&
	    dwarf_tag(&p) != DW_TAG_union_type)
		return NULL;
	if (dwarf_diename(&p))
		name = dwarf_diename(&p);
	if (!name || dwarf_aggregate_size(&p, &size))
		return NULL;
	return by_name(l, name, size);
}

const struct mt_lay_struct *mt_lay_confirm(const struct mt_layout *l, uint64_t pc, unsigned line)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu, *scopes = NULL, c;
	const struct mt_lay_struct *found = NULL;
	int n, i;

	cu = dwfl_module_addrdie(l->dw.mod, pc + l->dw.bias, &bias);
	if (!cu)
		return NULL;
	n = dwarf_getscopes(cu, pc, &scopes);
	for (i = 0; i < n && !found && line; i++) {
		if (dwarf_child(&scopes[i], &c) != 0)
			continue;
		do {
			Dwarf_Attribute a;
			Dwarf_Word dl;
			int tag = dwarf_tag(&c);

			if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
				continue;
			if (!dwarf_attr_integrate(&c, DW_AT_decl_line, &a) || dwarf_formudata(&a, &dl) ||
			    dl != line)
				continue;
			found = pointee(l, &c);
		} while (!found && dwarf_siblingof(&c, &c) == 0);
	}
	/* The innermost function returning T *: a constructor's result. */
	for (i = 0; i < n && !found; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			found = pointee(l, &scopes[i]);
			break;
		}
	}
	free(scopes);
	return found;
}

static uint64_t hexval(const char *s)
{
	return s ? strtoull(s, NULL, 16) : 0;
}

static void attribute(struct mt_layout *l, struct mt_lay_site *st, const struct mt_jv *stack)
{
	const struct mt_jv *fr = NULL;
	const struct mt_lay_struct *t = NULL;
	size_t i, exact = 0, multi = 0, ie = 0;
	uint64_t addr, line = 0;

	for (i = 0; stack && stack->type == MT_JV_ARR && i < stack->n; i++) {
		const char *fn = mt_jv_str(&stack->items[i], "func");

		if (same_file(mt_jv_str(&stack->items[i], "module"), l->module)) {
			fr = &stack->items[i];
			break;
		}
		/* Another module's allocation wrapper (operator new, g_malloc,
		 * xmalloc, strdup) allocates for its caller; any other function
		 * allocates for itself (stdio's buffers for printf). */
		if (!fn || !(strncmp(fn, "_Zn", 3) == 0 || strstr(fn, "alloc") ||
			     strstr(fn, "strdup") || strstr(fn, "_new"))) {
			st->why = "allocated by another module's code";
			return;
		}
	}
	if (!fr) {
		st->why = "no frame in the module";
		return;
	}
	st->func = mt_jv_str(fr, "func");
	st->file = mt_jv_str(fr, "file");
	mt_jv_u64(fr, "line", &line);
	st->line = (unsigned)line;
	for (i = 0; i < l->n; i++) {
		uint64_t sz = l->s[i].size;

		if (!sz || st->object_size % sz)
			continue;
		st->ncandidates++;
		if (sz == st->object_size) {
			exact++;
			ie = i;
		} else {
			multi++;
		}
	}
	if (mt_dwarf_off_to_addr(&l->dw, hexval(mt_jv_str(fr, "module_off")), &addr) == 0 && addr)
		t = mt_lay_confirm(l, addr - 1, st->line);
	if (t && t->size && st->object_size % t->size == 0) {
		st->confidence = "dwarf";
	} else if (exact == 1) {
		t = &l->s[ie];
		st->confidence = "size";
	} else {
		/* A multiple alone is not enough: every buffer of 8 x k bytes
		 * (an array of pointers) is a multiple of each 8-byte struct. */
		t = NULL;
		st->why = exact > 1 ? "more than one type of that size" :
			  multi ? "a multiple of a type's size, not confirmed by DWARF" :
			  "no type of that size";
		return;
	}
	st->type = t->name;
	{
		struct mt_lay_struct *s = &l->s[t - l->s];
		uint64_t objs = st->live_objects * (st->object_size / t->size);
		static const char *const rank[] = { "size", "dwarf" };
		int have = -1, mine = 0, k;

		for (k = 0; k < 2; k++) {
			if (s->confidence && strcmp(s->confidence, rank[k]) == 0)
				have = k;
			if (strcmp(st->confidence, rank[k]) == 0)
				mine = k;
		}
		/* A type's confidence is that of its weakest site. */
		if (!s->has_live || mine < have)
			s->confidence = rank[mine];
		s->has_live = true;
		s->live_objects += objs;
		s->live_sites++;
	}
}

int mt_lay_weigh(struct mt_layout *l, const char *path, struct mt_lay_weights *w)
{
	static const char *const lists[] = { "sites", "leaks" };
	char msg[160];
	size_t len, i, k, cap = 0;
	char *text;
	uint64_t version = 0;
	int err;

	memset(w, 0, sizeof(*w));
	w->path = path;
	text = slurp(path, &len);
	if (!text)
		return -EIO;
	err = mt_jv_parse(text, len, &w->report, msg, sizeof(msg));
	free(text);
	if (err) {
		mt_err("cannot read '%s': %s", path, err == -ENOMEM ? strerror(ENOMEM) :
		       len ? msg : "the file is empty");
		return err == -ENOMEM ? err : -EINVAL;
	}
	if (!mt_jv_u64(w->report, "version", &version) || version != 1 ||
	    !mt_jv_get(w->report, "sites")) {
		mt_err("cannot read '%s': not a memtrace report of version 1", path);
		return -EINVAL;
	}
	/* sites (the top ones) first, then leak entries of sites not listed. */
	for (k = 0; k < 2; k++) {
		const struct mt_jv *arr = mt_jv_get(w->report, lists[k]);

		for (i = 0; arr && arr->type == MT_JV_ARR && i < arr->n; i++) {
			const struct mt_jv *e = &arr->items[i];
			struct mt_lay_site *st;
			uint64_t id = UINT64_MAX, objs = 0, bytes = 0;
			size_t j;
			bool dup = false;

			mt_jv_u64(e, "site", &id);
			for (j = 0; j < w->nsites && id != UINT64_MAX; j++)
				dup |= w->sites[j].site == id;
			if (dup)
				continue;
			if (!mt_jv_u64(e, k ? "objects" : "live_objects", &objs) ||
			    !mt_jv_u64(e, k ? "bytes" : "live_bytes", &bytes) || !objs)
				continue;
			if (w->nsites == cap) {
				cap = cap ? cap * 2 : 32;
				st = realloc(w->sites, cap * sizeof(*st));
				if (!st) {
					mt_err("cannot read '%s': %s", path, strerror(ENOMEM));
					return -ENOMEM;
				}
				w->sites = st;
			}
			st = &w->sites[w->nsites++];
			memset(st, 0, sizeof(*st));
			st->site = id;
			st->live_objects = objs;
			if (bytes % objs) {
				st->why = "live blocks of different sizes";
				continue;
			}
			st->object_size = bytes / objs;
			attribute(l, st, mt_jv_get(e, "stack"));
		}
	}
	return 0;
}

void mt_lay_weights_free(struct mt_lay_weights *w)
{
	mt_jv_free(w->report);
	free(w->sites);
	memset(w, 0, sizeof(*w));
}
