// SPDX-License-Identifier: BSD-2-Clause
/*
 * Internal call sites of an allocator object; see mt_internal.h.
 * Cost at attach: one pass over the executable sections (~2 ms for glibc's
 * 1.5 MB) and a Capstone decode of the few functions holding a candidate.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "probe/mt_internal.h"
#include "util/mt_log.h"

/* What one object tells us: function starts (from .eh_frame_hdr, sorted)
 * and exported function ranges (from .dynsym); for an executable, the
 * ranges of the allocator's known internal functions (from .symtab). */
struct mt_obj_funcs {
	uint64_t *starts;
	size_t nstarts;
	uint64_t (*exported)[2];
	size_t nexported;
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

/* Function starts from the binary-search table of .eh_frame_hdr. Only the
 * encodings every x86-64 toolchain emits are read (4-byte eh_frame_ptr,
 * udata4 count, datarel sdata4 table); anything else gives no starts. */
static int read_starts(Elf_Data *d, uint64_t hdr_addr, struct mt_obj_funcs *f)
{
	const uint8_t *p = d->d_buf;
	uint32_t count, i;

	if (d->d_size < 12 || p[0] != 1 || (p[1] & 0x0f) != 0x0b || p[2] != 0x03 || p[3] != 0x3b)
		return 0;
	memcpy(&count, p + 8, sizeof(count));
	if (count == 0 || (uint64_t)count * 8 > d->d_size - 12)
		return 0;
	f->starts = malloc((size_t)count * sizeof(*f->starts));
	if (!f->starts)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		f->starts[i] = hdr_addr + (uint64_t)(int64_t)rd32(p + 12 + 8 * (size_t)i);
	f->nstarts = count;
	return 0;
}

static int read_exported(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct mt_obj_funcs *f)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;

	if (!d || sh->sh_entsize == 0)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	f->exported = calloc(n ? n : 1, sizeof(*f->exported));
	if (!f->exported)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		GElf_Sym s;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || s.st_size == 0)
			continue;
		if (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC)
			continue;
		f->exported[f->nexported][0] = s.st_value;
		f->exported[f->nexported++][1] = s.st_value + s.st_size;
	}
	(void)e;
	return 0;
}

static int read_known(Elf_Scn *scn, const GElf_Shdr *sh, struct mt_obj_funcs *f, Elf *e)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;

	if (!d || sh->sh_entsize == 0)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n && f->nknown < 8; i++) {
		const char *name;
		GElf_Sym s;

		if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    s.st_shndx == SHN_UNDEF || s.st_size == 0 ||
		    !(name = elf_strptr(e, sh->sh_link, s.st_name)))
			continue;
		for (int k = 0; known_internal[k]; k++) {
			if (strcmp(name, known_internal[k]) == 0) {
				f->known[f->nknown][0] = s.st_value;
				f->known[f->nknown++][1] = s.st_value + s.st_size;
			}
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

/* The function a candidate at a must be decoded from, 0 when a is not in
 * the allocator's own code. */
static uint64_t own_func_start(const struct mt_obj_funcs *f, uint64_t a);

static bool is_exported(const struct mt_obj_funcs *f, uint64_t a)
{
	for (size_t i = 0; i < f->nexported; i++)
		if (a >= f->exported[i][0] && a < f->exported[i][1])
			return true;
	return false;
}

/* The start of the function holding a: the last start <= a, 0 if none. */
static uint64_t func_start(const struct mt_obj_funcs *f, uint64_t a)
{
	size_t lo = 0, hi = f->nstarts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->starts[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? f->starts[lo - 1] : 0;
}

static uint64_t own_func_start(const struct mt_obj_funcs *f, uint64_t a)
{
	if (f->exe) {
		for (size_t i = 0; i < f->nknown; i++)
			if (a >= f->known[i][0] && a < f->known[i][1])
				return f->known[i][0];
		return 0;
	}
	return is_exported(f, a) ? 0 : func_start(f, a);
}

/* Does decoding from start (within the section bytes) reach an
 * instruction boundary at a? An undecodable byte on the way says no. */
static bool boundary(csh cs, cs_insn *in, const uint8_t *sec, uint64_t sec_addr, size_t sec_len,
		     uint64_t start, uint64_t a)
{
	const uint8_t *p;
	uint64_t addr = start;
	size_t left;

	if (start < sec_addr || a >= sec_addr + sec_len || start > a)
		return false;
	p = sec + (start - sec_addr);
	left = (size_t)(a - start) + 16;
	if (left > sec_len - (start - sec_addr))
		left = sec_len - (start - sec_addr);
	while (addr < a && cs_disasm_iter(cs, &p, &left, &addr, in))
		;
	return addr == a;
}

static bool is_target(uint64_t t, const uint64_t *eps, unsigned neps)
{
	for (unsigned i = 0; i < neps; i++)
		if (t == eps[i])
			return true;
	return false;
}

/* Scan one executable section for rel32 branches to an entry point. */
static int scan_section(csh cs, cs_insn *in, const GElf_Shdr *sh, Elf_Data *d,
			const struct mt_obj_funcs *f, const uint64_t *eps, unsigned neps,
			struct mt_internal_site *out, unsigned max, unsigned *n)
{
	const uint8_t *b = d->d_buf;
	size_t len = d->d_size, i;

	for (i = 0; i + 5 <= len; i++) {
		const size_t ilen = 5;
		uint64_t a = sh->sh_addr + i, t, start;

		/* Only calls: a tail jump (glibc's _mid_memalign into malloc)
		 * passes its own caller's call through, and that caller decides
		 * whose call it is (an entry point, so a nested one, there). */
		if (b[i] != 0xe8)
			continue;
		t = a + ilen + (uint64_t)(int64_t)rd32(b + i + ilen - 4);
		if (!is_target(t, eps, neps) || !(start = own_func_start(f, a)))
			continue;
		if (!boundary(cs, in, b, sh->sh_addr, len, start, a))
			continue;
		if (*n >= max) {
			mt_err("warning: more than %u internal allocator call sites; the rest count as the program's",
			       max);
			return 0;
		}
		out[*n].vaddr = a;
		out[*n].file_off = sh->sh_offset + i;
		out[*n].target = t;
		(*n)++;
	}
	return 0;
}

int mt_internal_sites_file(const char *path, const uint64_t *eps, unsigned neps,
			   struct mt_internal_site *out, unsigned max)
{
	struct mt_obj_funcs f = { 0 };
	Elf_Scn *scn = NULL;
	cs_insn *in = NULL;
	unsigned n = 0;
	size_t shstrndx;
	Elf *e = NULL;
	int fd, err = 0;
	csh cs = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	f.exe = is_executable(e);
	while (!err && (scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			err = read_exported(e, scn, &sh, &f);
		else if (sh.sh_type == SHT_SYMTAB && f.exe)
			err = read_known(scn, &sh, &f, e);
		else if (strcmp(name, ".eh_frame_hdr") == 0 && (d = elf_getdata(scn, NULL)))
			err = read_starts(d, sh.sh_addr, &f);
	}
	if (err || (f.exe ? f.nknown == 0 : f.nstarts == 0))
		goto cleanup;   /* nothing to confirm a candidate with: none */
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK || !(in = cs_malloc(cs))) {
		err = -ENOMEM;
		goto cleanup;
	}
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && strncmp(name, ".plt", 4) == 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf)
			scan_section(cs, in, &sh, d, &f, eps, neps, out, max, &n);
	}
cleanup:
	if (in)
		cs_free(in, 1);
	if (cs)
		cs_close(&cs);
	if (e)
		elf_end(e);
	close(fd);
	free(f.starts);
	free(f.exported);
	return err ? err : (int)n;
}
