/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The few ELF reads the Go support needs: a section by name, and bytes at
 * a link-time address (what a Go binary's pointers hold). One open file,
 * its section headers cached.
 */
#ifndef MT_GO_ELF_H
#define MT_GO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_go_sec {
	char name[32];
	uint64_t addr, off, size;
	uint32_t type;          /* SHT_* */
	uint64_t flags;         /* SHF_* */
};

struct mt_go_elf {
	int fd;
	uint16_t etype;         /* ET_EXEC, ET_DYN */
	size_t nsecs;
	struct mt_go_sec *secs;
	bool has_symtab;
	bool needs_libc;        /* a DT_NEEDED libc.so.*: the C library is linked */
	uint64_t min_load;       /* lowest PT_LOAD address, page-aligned: a PIE's link base */
};

/* 0, or -errno (printed, with the path) */
int mt_go_elf_open(const char *path, struct mt_go_elf *e);
void mt_go_elf_close(struct mt_go_elf *e);
/* NULL when absent */
const struct mt_go_sec *mt_go_elf_sec(const struct mt_go_elf *e, const char *name);
/* Read len bytes at link-time address vaddr (from an allocated section
 * with file contents): 0, or -EFAULT when not in one, -EIO. */
int mt_go_elf_read(const struct mt_go_elf *e, uint64_t vaddr, void *buf, size_t len);
/* The file offset of link-time address vaddr (in a section with file
 * contents): 0 with *off, -EFAULT. What a uprobe is placed by. */
int mt_go_elf_file_off(const struct mt_go_elf *e, uint64_t vaddr, uint64_t *off);
/* Read a whole section into a malloc'd buffer: 0 or -errno. */
int mt_go_elf_load(const struct mt_go_elf *e, const struct mt_go_sec *s, uint8_t **out);
/* Value of a defined symbol in .symtab: 0 with *val, -ENOENT. */
int mt_go_elf_sym(const struct mt_go_elf *e, const char *name, uint64_t *val, uint64_t *size);

#endif /* MT_GO_ELF_H */
