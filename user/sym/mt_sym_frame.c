// SPDX-License-Identifier: BSD-2-Clause
/*
 * One address to frames (see mt_sym_int.h): the function from the
 * module's symbol table (a sorted copy, built on first use), demangled;
 * file:line from DWARF; and the functions inlined at the address, from the
 * module's per-CU index (mt_inline), each a frame of its own.
 */
#include <errno.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "sym/mt_demangle.h"
#include "sym/mt_inline.h"
#include "sym/mt_sym_int.h"

/* Keep str (malloc'd) until mt_sym_free; NULL stays NULL. */
static const char *mt_sym_keep(struct mt_sym *s, char *str)
{
	if (!str)
		return NULL;
	if (s->nstrs == s->cap_strs) {
		size_t cap = s->cap_strs ? s->cap_strs * 2 : 256;
		char **p = realloc(s->strs, cap * sizeof(*p));

		if (!p) {
			free(str);
			return NULL;
		}
		s->strs = p;
		s->cap_strs = cap;
	}
	s->strs[s->nstrs++] = str;
	return str;
}

/* The readable form of sym: demangled and kept, or sym itself. */
static const char *mt_sym_readable(struct mt_sym *s, const char *sym)
{
	const char *at = sym ? strchr(sym, '@') : NULL, *d;

	/* a versioned name in a .symtab ("__libc_start_main@@GLIBC_2.34"):
	 * the version is not part of the function's name */
	if (at && at != sym) {
		char *base = strndup(sym, (size_t)(at - sym));

		d = base ? mt_sym_keep(s, mt_demangle(base)) : NULL;
		if (d) {
			free(base);
			return d;
		}
		d = mt_sym_keep(s, base);
		return d ? d : sym;
	}
	d = mt_sym_keep(s, mt_demangle(sym));
	return d ? d : sym;
}

/* Of symbols at one address, the name a user calls: fewer leading
 * underscores first (malloc, not __libc_malloc; gettimeofday, a weak alias
 * of the global __gettimeofday; malloc, not ASan's __interceptor_malloc),
 * then global before weak before local, then the shorter (crypt, not
 * xcrypt; open, not open64), then by name for a stable order. */
static int mt_sym_fn_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int r = bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 0 : bind == STB_WEAK ? 1 : 2;
	int us = 0;

	while (name[us] == '_' && us < 64)
		us++;
	return us * 4 + r;
}

struct mt_sym_fn_sort {
	struct mt_sym_fn fn;
	int rank;
};

static int mt_sym_fn_cmp(const void *a, const void *b)
{
	const struct mt_sym_fn_sort *x = a, *y = b;
	size_t lx, ly;

	if (x->fn.addr != y->fn.addr)
		return x->fn.addr < y->fn.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	lx = strlen(x->fn.name);
	ly = strlen(y->fn.name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->fn.name, y->fn.name);
}

/* libdwfl's address lookup scans the whole symbol table per call; a sorted
 * table makes each lookup O(log n), which matters for large binaries
 * (libLLVM has ~100k symbols). Built on the first lookup in the module. */
static int mt_sym_fns_build(struct mt_sym_mod *m)
{
	struct mt_sym_fn_sort *tmp = NULL;
	size_t n = 0, k = 0;
	int cnt, err = 0;

	m->fns_built = true;
	cnt = dwfl_module_getsymtab(m->dwmod);
	if (cnt <= 0)
		goto cleanup;
	tmp = malloc((size_t)cnt * sizeof(*tmp));
	if (!tmp) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int i = 1; i < cnt; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name;
		int type;

		name = dwfl_module_getsym_info(m->dwmod, i, &sym, &addr, &shndx, NULL, NULL);
		if (!name || !name[0] || shndx == SHN_UNDEF || !addr)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		/* assembler entry points are often untyped but sized */
		if (type != STT_FUNC && type != STT_GNU_IFUNC &&
		    !(type == STT_NOTYPE && sym.st_size > 0 && shndx != SHN_ABS))
			continue;
		tmp[n].fn = (struct mt_sym_fn){ addr, sym.st_size, name };
		tmp[n].rank = mt_sym_fn_rank(&sym, name);
		n++;
	}
	if (!n)
		goto cleanup;
	qsort(tmp, n, sizeof(*tmp), mt_sym_fn_cmp);
	m->fns = malloc(n * sizeof(*m->fns));
	m->dem = calloc(n, sizeof(*m->dem));
	if (!m->fns || !m->dem) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* one entry per address, the best-ranked name; keep the largest size
	 * so an unsized alias does not shorten the function */
	for (size_t i = 0; i < n; i++) {
		if (k && m->fns[k - 1].addr == tmp[i].fn.addr) {
			if (tmp[i].fn.size > m->fns[k - 1].size)
				m->fns[k - 1].size = tmp[i].fn.size;
			continue;
		}
		m->fns[k++] = tmp[i].fn;
	}
	m->nfns = k;
cleanup:
	free(tmp);
	return err;
}

/* The function containing addr: the last one starting at or below it, or,
 * when addr is past its size, one of a few before it that encloses it
 * (nested symbols). Unsized symbols extend to the next one. */
static const struct mt_sym_fn *mt_sym_fn_find(const struct mt_sym_mod *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nfns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->fns[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i-- > 0 && tries < 8; tries++) {
		const struct mt_sym_fn *fn = &m->fns[i];

		if (fn->size == 0 ? i + 1 == lo : addr - fn->addr < fn->size)
			return fn;
	}
	return NULL;
}

/* The name of a DWARF function DIE (a concrete inlined instance points to
 * its abstract origin): the linkage name when there is one, so C++ names
 * come out qualified once demangled. */
static const char *mt_sym_die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n;

	n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return n;
}

/* Where inlined instance die was called from. */
static void mt_sym_call_site(Dwarf_Die *die, Dwarf_Files *files, size_t nfiles,
			     const char **file, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;

	*file = NULL;
	*line = 0;
	if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) == 0 && v < nfiles)
		*file = dwarf_filesrc(files, v, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0)
		*line = (int)v;
	if (!*file || *line <= 0) {
		*file = NULL;
		*line = 0;
	}
}

/* The functions inlined at look (innermost first) into e->inl; the real
 * frame's file:line becomes the call site of the outermost one. */
static int mt_sym_inline(struct mt_sym *s, struct mt_sym_mod *m, uint64_t look,
			 struct mt_sym_cache_ent *e)
{
	Dwarf_Die *cu, chain[MT_SYM_MAX_INLINE];
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	size_t nfiles = 0;
	unsigned k;
	int n, err = 0;

	cu = dwfl_module_addrdie(m->dwmod, look, &bias);
	if (!cu)
		return 0;
	if (!m->inl && !(m->inl = mt_inline_new()))
		return -ENOMEM;
	/* deeper than MT_SYM_MAX_INLINE is rare: the outer ones go */
	n = mt_inline_chain(m->inl, cu, look - bias, chain, MT_SYM_MAX_INLINE);
	if (n <= 0)
		return n;
	k = (unsigned)n;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
		files = NULL;
	e->inl = calloc(k, sizeof(*e->inl));
	if (!e->inl) {
		err = -ENOMEM;
		goto out;
	}
	e->ninl = k;
	for (unsigned j = 0; j < k; j++) {
		struct mt_frame *fr = &e->inl[j];
		Dwarf_Die origin, *d = &chain[j];
		Dwarf_Attribute a;

		if (dwarf_formref_die(dwarf_attr(d, DW_AT_abstract_origin, &a), &origin))
			d = &origin;
		fr->addr = e->f.addr;
		fr->module = e->f.module;
		fr->module_off = e->f.module_off;
		fr->inlined = true;
		fr->symbol = mt_sym_die_name(d);
		fr->func = fr->symbol ? mt_sym_readable(s, fr->symbol) : NULL;
		if (j == 0) {
			fr->file = e->f.file;   /* the address's own line */
			fr->line = e->f.line;
		} else {
			mt_sym_call_site(&chain[j - 1], files, nfiles, &fr->file, &fr->line);
		}
	}
	mt_sym_call_site(&chain[k - 1], files, nfiles, &e->f.file, &e->f.line);
out:
	return err;
}

int mt_sym_lookup(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_sym_cache_ent *e)
{
	uint64_t look = is_return && addr ? addr - 1 : addr;
	struct mt_frame *f = &e->f;
	const struct mt_sym_region *r;
	const struct mt_sym_fn *fn;
	struct mt_sym_mod *m;
	Dwfl_Line *dl;
	size_t idx;
	int err;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	r = mt_sym_region_find(s, look);
	if (!r)
		return -ENOENT;
	m = r->mod;
	f->module = m->path;
	f->module_off = addr - r->start + r->off;
	if (!m->dwmod)
		return -ENOENT;
	if (!m->fns_built) {
		err = mt_sym_fns_build(m);
		if (err)
			return err;
	}
	dl = mt_sym_dwarf(m) ? dwfl_module_getsrc(m->dwmod, look) : NULL;
	if (dl) {
		int line = 0;
		const char *file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

		if (file && line > 0) {
			f->file = file;
			f->line = line;
		}
	}
	fn = mt_sym_fn_find(m, look);
	if (fn) {
		idx = (size_t)(fn - m->fns);
		if (!m->dem[idx])
			m->dem[idx] = mt_sym_readable(s, fn->name);
		f->symbol = fn->name;
		f->func = m->dem[idx];
		f->func_off = addr - fn->addr;
	}
	if (m->dw_loaded) {
		err = mt_sym_inline(s, m, look, e);
		if (err)
			return err;
	}
	return fn ? 0 : -ENOENT;
}
