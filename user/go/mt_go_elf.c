// SPDX-License-Identifier: BSD-2-Clause
/*
 * ELF reads for the Go support (see mt_go_elf.h): libelf for the headers,
 * pread for the bytes, so a 100 MB Go binary is never read whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "go/mt_go_elf.h"
#include "util/mt_log.h"

int mt_go_elf_open(const char *path, struct mt_go_elf *e)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t shstrndx;
	int err = 0;

	memset(e, 0, sizeof(*e));
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0) {
		err = -errno;
		mt_err("cannot open '%s': %s", path, strerror(errno));
		return err;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(e->fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		mt_err("cannot read '%s' as ELF: %s", path, elf_errmsg(-1));
		err = -ENOEXEC;
		goto out;
	}
	e->etype = eh.e_type;
	e->min_load = UINT64_MAX;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < e->min_load)
			e->min_load = ph.p_vaddr & ~(uint64_t)0xfff;
	}
	if (e->min_load == UINT64_MAX)
		e->min_load = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		struct mt_go_sec *s, *n;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			e->has_symtab = true;
		if (sh.sh_type == SHT_DYNAMIC && sh.sh_entsize) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t k;

			for (k = 0; d && k < sh.sh_size / sh.sh_entsize; k++) {
				GElf_Dyn dyn;
				const char *lib;

				if (gelf_getdyn(d, (int)k, &dyn) && dyn.d_tag == DT_NEEDED &&
				    (lib = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val)) &&
				    !strncmp(lib, "libc.so", 7))
					e->needs_libc = true;
			}
		}
		n = realloc(e->secs, (e->nsecs + 1) * sizeof(*e->secs));
		if (!n) {
			err = -ENOMEM;
			goto out;
		}
		e->secs = n;
		s = &e->secs[e->nsecs++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->addr = sh.sh_addr;
		s->off = sh.sh_offset;
		s->size = sh.sh_size;
		s->type = sh.sh_type;
		s->flags = sh.sh_flags;
	}
out:
	if (elf)
		elf_end(elf);
	if (err)
		mt_go_elf_close(e);
	return err;
}

void mt_go_elf_close(struct mt_go_elf *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->secs);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

const struct mt_go_sec *mt_go_elf_sec(const struct mt_go_elf *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nsecs; i++)
		if (!strcmp(e->secs[i].name, name))
			return &e->secs[i];
	return NULL;
}

int mt_go_elf_read(const struct mt_go_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < e->nsecs; i++) {
		const struct mt_go_sec *s = &e->secs[i];
		ssize_t n;

		if (!(s->flags & SHF_ALLOC) || s->type == SHT_NOBITS || vaddr < s->addr ||
		    vaddr - s->addr >= s->size || len > s->size - (vaddr - s->addr))
			continue;
		n = pread(e->fd, buf, len, (off_t)(s->off + (vaddr - s->addr)));
		return n == (ssize_t)len ? 0 : -EIO;
	}
	return -EFAULT;
}

int mt_go_elf_file_off(const struct mt_go_elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t i;

	for (i = 0; i < e->nsecs; i++) {
		const struct mt_go_sec *s = &e->secs[i];

		if ((s->flags & SHF_ALLOC) && s->type != SHT_NOBITS && vaddr >= s->addr &&
		    vaddr - s->addr < s->size) {
			*off = s->off + (vaddr - s->addr);
			return 0;
		}
	}
	return -EFAULT;
}

int mt_go_elf_load(const struct mt_go_elf *e, const struct mt_go_sec *s, uint8_t **out)
{
	uint8_t *b = malloc(s->size ? s->size : 1);

	if (!b)
		return -ENOMEM;
	if (pread(e->fd, b, s->size, (off_t)s->off) != (ssize_t)s->size) {
		free(b);
		return -EIO;
	}
	*out = b;
	return 0;
}

int mt_go_elf_sym(const struct mt_go_elf *e, const char *name, uint64_t *val, uint64_t *size)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	int err = -ENOENT;

	if (!e->has_symtab)
		return -ENOENT;
	elf = elf_begin(e->fd, ELF_C_READ, NULL);
	if (!elf)
		return -EIO;
	while (err && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *nm;

			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !(nm = elf_strptr(elf, sh.sh_link, sym.st_name)) || strcmp(nm, name))
				continue;
			*val = sym.st_value;
			if (size)
				*size = sym.st_size;
			err = 0;
			break;
		}
	}
	elf_end(elf);
	return err;
}
