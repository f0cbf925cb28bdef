// SPDX-License-Identifier: BSD-2-Clause
/*
 * An object's executable code; see mt_obj_code.h.
 * Cost: the object is mapped, not read (ELF_C_READ_MMAP); the start table
 * is one 8-byte entry a function (~3,000 for glibc's .eh_frame_hdr) and
 * one sort.
 */
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/mt_obj_code.h"
#include "util/mt_grow.h"

int mt_obj_code_open(struct mt_obj_code *oc, const char *path)
{
	*oc = (struct mt_obj_code){ .fd = -1 };
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	oc->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (oc->fd < 0)
		return -errno;
	oc->elf = elf_begin(oc->fd, ELF_C_READ_MMAP, NULL);
	if (!oc->elf || elf_kind(oc->elf) != ELF_K_ELF || elf_getshdrstrndx(oc->elf, &oc->shstrndx)) {
		mt_obj_code_close(oc);
		return -ENOEXEC;
	}
	return 0;
}

void mt_obj_code_close(struct mt_obj_code *oc)
{
	if (oc->elf)
		elf_end(oc->elf);
	if (oc->fd >= 0)
		close(oc->fd);
	free(oc->starts);
	*oc = (struct mt_obj_code){ .fd = -1 };
}

/* The next section after *scn whose header and name read; its name. */
static const char *next_named(const struct mt_obj_code *oc, Elf_Scn **scn, GElf_Shdr *sh)
{
	const char *name;

	while ((*scn = elf_nextscn(oc->elf, *scn)) != NULL)
		if (gelf_getshdr(*scn, sh) && (name = elf_strptr(oc->elf, oc->shstrndx, sh->sh_name)))
			return name;
	return NULL;
}

static int add_start(struct mt_obj_code *oc, uint64_t a)
{
	int err = MT_GROW(oc->starts, oc->nstarts + 1, oc->cap);

	if (!err)
		oc->starts[oc->nstarts++] = a;
	return err;
}

/* The binary-search table of .eh_frame_hdr: version 1, a 4-byte
 * eh_frame_ptr, a udata4 count and a datarel sdata4 table. */
static int read_eh_starts(struct mt_obj_code *oc, Elf_Data *d, uint64_t hdr_addr)
{
	const uint8_t *p = d->d_buf;
	uint32_t count, i;
	int err = 0;

	if (d->d_size < 12 || p[0] != 1 || (p[1] & 0x0f) != 0x0b || p[2] != 0x03 || p[3] != 0x3b)
		return 0;
	memcpy(&count, p + 8, sizeof(count));
	if ((uint64_t)count * 8 > d->d_size - 12)
		return 0;
	for (i = 0; i < count && !err; i++) {
		int32_t rel;

		memcpy(&rel, p + 12 + 8 * (size_t)i, sizeof(rel));
		err = add_start(oc, hdr_addr + (uint64_t)(int64_t)rel);
	}
	return err;
}

static int add_sym_start(const GElf_Sym *sym, const char *name, void *arg)
{
	return sym->st_value ? add_start(arg, sym->st_value) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int mt_obj_code_read_starts(struct mt_obj_code *oc, unsigned from)
{
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr sh;
	Elf_Data *d;
	int err = 0;

	if (from & MT_STARTS_SYMBOLS) {
		err = mt_obj_code_func_syms(oc, SHT_DYNSYM, add_sym_start, oc);
		if (!err)
			err = mt_obj_code_func_syms(oc, SHT_SYMTAB, add_sym_start, oc);
	}
	while (!err && (from & MT_STARTS_EH_FRAME) && (name = next_named(oc, &scn, &sh)) != NULL)
		if (strcmp(name, ".eh_frame_hdr") == 0 && (d = elf_getdata(scn, NULL)))
			err = read_eh_starts(oc, d, sh.sh_addr);
	if (!err && oc->nstarts)
		qsort(oc->starts, oc->nstarts, sizeof(*oc->starts), cmp_u64);
	return err;
}

/* How many starts are <= a. */
static size_t starts_upto(const struct mt_obj_code *oc, uint64_t a)
{
	size_t lo = 0, hi = oc->nstarts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (oc->starts[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t mt_code_func_start(const struct mt_obj_code *oc, uint64_t a)
{
	size_t n = starts_upto(oc, a);

	return n ? oc->starts[n - 1] : 0;
}

uint64_t mt_code_func_end(const struct mt_obj_code *oc, uint64_t start, uint64_t limit)
{
	size_t n = starts_upto(oc, start);

	return n < oc->nstarts && oc->starts[n] < limit ? oc->starts[n] : limit;
}

int mt_obj_code_func_syms(const struct mt_obj_code *oc, uint32_t sh_type,
			  int (*each)(const GElf_Sym *sym, const char *name, void *arg), void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err = 0;

	while (!err && next_named(oc, &scn, &sh)) {
		Elf_Data *d;
		size_t i, n;

		if (sh.sh_type != sh_type || sh.sh_entsize == 0 || !(d = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n && !err; i++) {
			GElf_Sym sym;

			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC))
				continue;
			err = each(&sym, elf_strptr(oc->elf, sh.sh_link, sym.st_name), arg);
		}
	}
	return err;
}

bool mt_obj_code_next_sec(const struct mt_obj_code *oc, Elf_Scn **scn, struct mt_code_sec *sec)
{
	while ((*scn = elf_nextscn(oc->elf, *scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(*scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		/* PLT stubs are jumps through the GOT, no function's code */
		name = elf_strptr(oc->elf, oc->shstrndx, sh.sh_name);
		if (name && strncmp(name, ".plt", 4) == 0)
			continue;
		d = elf_getdata(*scn, NULL);
		if (!d || !d->d_buf)
			continue;
		*sec = (struct mt_code_sec){ .b = d->d_buf, .len = d->d_size, .addr = sh.sh_addr,
					     .off = sh.sh_offset };
		return true;
	}
	return false;
}

int mt_code_cs_open(csh *cs, bool detail)
{
	*cs = 0;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		goto fail;
	if (detail && cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK)
		goto fail;
	return 0;
fail:
	if (*cs)
		cs_close(cs);
	*cs = 0;
	return -ENOMEM;
}

int mt_code_sweep(csh cs, cs_insn *in, const struct mt_code_sec *sec, uint64_t *addr, uint64_t to,
		  int (*each)(csh cs, const cs_insn *in, uint64_t at, void *arg), void *arg)
{
	const uint8_t *p;
	size_t left;

	if (*addr < sec->addr || *addr - sec->addr > sec->len)
		return -ERANGE;
	p = sec->b + (*addr - sec->addr);
	left = sec->len - (size_t)(*addr - sec->addr);
	while (*addr < to) {
		uint64_t at = *addr;
		int r;

		if (!cs_disasm_iter(cs, &p, &left, addr, in))
			return -EILSEQ;   /* cs_disasm_iter leaves *addr on the byte */
		if (each && (r = each(cs, in, at, arg)) != 0)
			return r;
	}
	return 0;
}
