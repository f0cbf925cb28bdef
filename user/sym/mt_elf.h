/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The few ELF facts the loader needs, read with libelf: where a function
 * lives (as a file offset, which is what a uprobe takes) and which dynamic
 * loader an executable asks for.
 */
#ifndef MT_ELF_H
#define MT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_elf_func {
	const char *name;     /* in: the symbol to find */
	bool found;           /* out: a defined function of that name exists */
	uint64_t vaddr;       /* out: st_value */
	uint64_t size;        /* out: st_size */
	uint64_t file_off;    /* out: offset of the first byte in the file */
};

/* Fill every funcs[i] whose name is defined as a function (or ifunc) in
 * .dynsym or .symtab. Returns the number found, or -errno when the file
 * cannot be read as ELF. */
int mt_elf_find_funcs(const char *path, struct mt_elf_func *funcs, size_t n);

/* Copy the PT_INTERP path of an executable into buf. Returns 0, -ENOENT
 * for a static executable, or -errno. */
int mt_elf_interp(const char *path, char *buf, size_t len);

/* The [start, end) addresses of the PLT sections (.plt, .plt.sec,
 * .plt.got), at most max. Returns how many, or -errno. */
int mt_elf_plt_ranges(const char *path, uint64_t (*ranges)[2], unsigned max);

/* The GNU build-id of path as lowercase hex into buf (2 chars a byte and
 * a NUL). 0, -ENOENT when the file has none, -ENOSPC when buf is too
 * small, or -errno when it cannot be read as ELF. */
int mt_elf_build_id(const char *path, char *buf, size_t len);

#endif /* MT_ELF_H */
