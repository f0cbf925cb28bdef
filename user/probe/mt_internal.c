// SPDX-License-Identifier: BSD-2-Clause
/*
 * Internal call sites of an allocator object; see mt_internal.h.
 * Cost at attach: one pass over the executable sections (~2 ms for glibc's
 * 1.5 MB) and a Capstone decode of the few functions holding a candidate.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "probe/mt_internal.h"
#include "probe/mt_obj_code.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"

/* What one object tells us beyond its code (function starts from
 * .eh_frame_hdr): exported function ranges (from .dynsym); for an
 * executable, the ranges of the allocator's known internal functions
 * (from .symtab). */
struct mt_obj_funcs {
	const struct mt_obj_code *code;
	uint64_t (*exported)[2];
	size_t nexported, cap;
	bool exe;
	uint64_t known[8][2];
	size_t nknown;
};

/* In an executable the program's own code is in the same object and
 * calls the allocator directly too, so no structural rule holds there:
 * only these functions, by name, are the allocator's own (glibc's thread
 * teardown; the name depends on inlining). Their names are in .symtab of a
 * static glibc program unless it was stripped. */
static const char *const known_internal[] = {
	"__malloc_arena_thread_freeres", "tcache_thread_shutdown", NULL,
};

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int add_exported(const GElf_Sym *s, const char *name, void *arg)
{
	struct mt_obj_funcs *f = arg;
	int err;

	if (s->st_size == 0)
		return 0;
	err = MT_GROW(f->exported, f->nexported + 1, f->cap);
	if (!err) {
		f->exported[f->nexported][0] = s->st_value;
		f->exported[f->nexported++][1] = s->st_value + s->st_size;
	}
	return err;
}

static int add_known(const GElf_Sym *s, const char *name, void *arg)
{
	struct mt_obj_funcs *f = arg;

	if (f->nknown >= 8 || GELF_ST_TYPE(s->st_info) != STT_FUNC || s->st_size == 0 || !name)
		return 0;
	for (int k = 0; known_internal[k]; k++) {
		if (strcmp(name, known_internal[k]) == 0) {
			f->known[f->nknown][0] = s->st_value;
			f->known[f->nknown++][1] = s->st_value + s->st_size;
		}
	}
	return 0;
}

/* An executable: ET_EXEC, or a PIE (DF_1_PIE in DT_FLAGS_1). */
static bool is_executable(Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	if (!gelf_getehdr(e, &eh))
		return false;
	if (eh.e_type == ET_EXEC)
		return true;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		Elf_Data *d;
		GElf_Shdr sh;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(d = elf_getdata(scn, NULL)))
			continue;
		for (int i = 0; sh.sh_entsize && (size_t)i < sh.sh_size / sh.sh_entsize; i++)
			if (gelf_getdyn(d, i, &dyn) && dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
				return true;
	}
	return false;
}

static bool is_exported(const struct mt_obj_funcs *f, uint64_t a)
{
	for (size_t i = 0; i < f->nexported; i++)
		if (a >= f->exported[i][0] && a < f->exported[i][1])
			return true;
	return false;
}

/* The function a candidate at a must be decoded from, 0 when a is not in
 * the allocator's own code. */
static uint64_t own_func_start(const struct mt_obj_funcs *f, uint64_t a)
{
	if (f->exe) {
		for (size_t i = 0; i < f->nknown; i++)
			if (a >= f->known[i][0] && a < f->known[i][1])
				return f->known[i][0];
		return 0;
	}
	return is_exported(f, a) ? 0 : mt_code_func_start(f->code, a);
}

/* Does decoding from start (within the section) reach an instruction
 * boundary at a? An undecodable byte on the way says no. */
static bool boundary(csh cs, cs_insn *in, const struct mt_code_sec *sec, uint64_t start, uint64_t a)
{
	uint64_t addr = start;

	return mt_code_sweep(cs, in, sec, &addr, a, NULL, NULL) == 0 && addr == a;
}

static bool is_target(uint64_t t, const uint64_t *eps, unsigned neps)
{
	for (unsigned i = 0; i < neps; i++)
		if (t == eps[i])
			return true;
	return false;
}

/* Scan one executable section for rel32 branches to an entry point. */
static int scan_section(csh cs, cs_insn *in, const struct mt_code_sec *sec,
			const struct mt_obj_funcs *f, const uint64_t *eps, unsigned neps,
			struct mt_internal_site *out, unsigned max, unsigned *n)
{
	const uint8_t *b = sec->b;
	size_t len = sec->len, i;

	for (i = 0; i + 5 <= len; i++) {
		const size_t ilen = 5;
		uint64_t a = sec->addr + i, t, start;

		/* Only calls: a tail jump (glibc's _mid_memalign into malloc)
		 * passes its own caller's call through, and that caller decides
		 * whose call it is (an entry point, so a nested one, there). */
		if (b[i] != 0xe8)
			continue;
		t = a + ilen + (uint64_t)(int64_t)rd32(b + i + ilen - 4);
		if (!is_target(t, eps, neps) || !(start = own_func_start(f, a)))
			continue;
		if (!boundary(cs, in, sec, start, a))
			continue;
		if (*n >= max) {
			mt_err("warning: more than %u internal allocator call sites; the rest count as the program's",
			       max);
			return 0;
		}
		out[*n].vaddr = a;
		out[*n].file_off = sec->off + i;
		out[*n].target = t;
		(*n)++;
	}
	return 0;
}

int mt_internal_sites_file(const char *path, const uint64_t *eps, unsigned neps,
			   struct mt_internal_site *out, unsigned max)
{
	struct mt_obj_code oc;
	struct mt_obj_funcs f = { .code = &oc };
	struct mt_code_sec sec;
	Elf_Scn *scn = NULL;
	cs_insn *in = NULL;
	unsigned n = 0;
	csh cs = 0;
	int err;

	err = mt_obj_code_open(&oc, path);
	if (err)
		return err;
	f.exe = is_executable(oc.elf);
	err = mt_obj_code_read_starts(&oc, MT_STARTS_EH_FRAME);
	if (!err)
		err = mt_obj_code_func_syms(&oc, SHT_DYNSYM, add_exported, &f);
	if (!err && f.exe)
		err = mt_obj_code_func_syms(&oc, SHT_SYMTAB, add_known, &f);
	if (err || (f.exe ? f.nknown == 0 : oc.nstarts == 0))
		goto cleanup;   /* nothing to confirm a candidate with: none */
	if (mt_code_cs_open(&cs, false) || !(in = cs_malloc(cs))) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (mt_obj_code_next_sec(&oc, &scn, &sec))
		scan_section(cs, in, &sec, &f, eps, neps, out, max, &n);
cleanup:
	if (in)
		cs_free(in, 1);
	if (cs)
		cs_close(&cs);
	mt_obj_code_close(&oc);
	free(f.exported);
	return err ? err : (int)n;
}
