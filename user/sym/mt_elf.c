// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sym/mt_elf.h"

static Elf *elf_open_fd(const char *path, int *fd)
{
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		*fd = -1;
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

/* The uprobe wants a file offset: find the loadable segment holding vaddr. */
static int vaddr_to_off(Elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static void scan_symtab(Elf *e, Elf_Scn *scn, GElf_Shdr *sh, struct mt_elf_func *funcs,
			size_t n, int *found)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, j, count;

	if (!data || sh->sh_entsize == 0)
		return;
	count = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		for (j = 0; j < n; j++) {
			if (funcs[j].found || strcmp(name, funcs[j].name) != 0)
				continue;
			if (vaddr_to_off(e, sym.st_value, &funcs[j].file_off))
				continue;
			funcs[j].found = true;
			funcs[j].vaddr = sym.st_value;
			funcs[j].size = sym.st_size;
			(*found)++;
		}
	}
}

int mt_elf_find_funcs(const char *path, struct mt_elf_func *funcs, size_t n)
{
	Elf_Scn *scn = NULL;
	int fd, found = 0;
	size_t i;
	Elf *e;

	for (i = 0; i < n; i++)
		funcs[i].found = false;
	e = elf_open_fd(path, &fd);
	if (!e)
		return -errno;
	/* .dynsym first: it names what other objects can call; .symtab (when
	 * not stripped) adds a statically linked executable's functions. */
	for (int pass = 0; pass < 2; pass++) {
		while ((scn = elf_nextscn(e, scn)) != NULL) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh))
				continue;
			if (sh.sh_type == (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB))
				scan_symtab(e, scn, &sh, funcs, n, &found);
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

int mt_elf_interp(const char *path, char *buf, size_t len)
{
	int fd, err = -ENOENT;
	size_t i, n;
	GElf_Phdr ph;
	Elf *e;

	e = elf_open_fd(path, &fd);
	if (!e)
		return -errno;
	if (elf_getphdrnum(e, &n)) {
		err = -ENOEXEC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		size_t raw_len;
		char *raw;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_INTERP)
			continue;
		raw = elf_rawfile(e, &raw_len);
		if (!raw || ph.p_offset + ph.p_filesz > raw_len || ph.p_filesz == 0 ||
		    ph.p_filesz > len) {
			err = -ENOEXEC;
			goto out;
		}
		memcpy(buf, raw + ph.p_offset, ph.p_filesz);
		buf[ph.p_filesz - 1] = '\0';
		err = 0;
		break;
	}
out:
	elf_end(e);
	close(fd);
	return err;
}

int mt_elf_plt_ranges(const char *path, uint64_t (*ranges)[2], unsigned max)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	unsigned n = 0;
	int fd;
	Elf *e;

	e = elf_open_fd(path, &fd);
	if (!e)
		return -errno;
	if (elf_getshdrstrndx(e, &shstrndx) == 0) {
		while ((scn = elf_nextscn(e, scn)) != NULL && n < max) {
			const char *name;
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
				continue;
			if (strcmp(name, ".plt") && strcmp(name, ".plt.sec") && strcmp(name, ".plt.got"))
				continue;
			ranges[n][0] = sh.sh_addr;
			ranges[n][1] = sh.sh_addr + sh.sh_size;
			n++;
		}
	}
	elf_end(e);
	close(fd);
	return (int)n;
}

int mt_elf_build_id(const char *path, char *buf, size_t len)
{
	const unsigned char *id;
	ssize_t n, i;
	int fd = -1, err = 0;
	Elf *e = elf_open_fd(path, &fd);

	if (!e)
		return -(errno ? errno : ENOEXEC);
	n = dwelf_elf_gnu_build_id(e, (const void **)&id);
	if (n <= 0)
		err = -ENOENT;
	else if ((size_t)n * 2 + 1 > len)
		err = -ENOSPC;
	for (i = 0; !err && i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	elf_end(e);
	close(fd);
	return err;
}
