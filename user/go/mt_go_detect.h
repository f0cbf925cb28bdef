/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Is this ELF a Go program, which Go built it, and does memtrace know that
 * Go's runtime well enough to trace it? Read from the file only (the
 * build-info section, the function table, the symbol table), never from a
 * guess: a binary memtrace does not know is said to be so, with the reason.
 */
#ifndef MT_GO_DETECT_H
#define MT_GO_DETECT_H

#include <stdbool.h>
#include <stdint.h>

/* The Go releases whose runtime layouts memtrace knows: the function table
 * (.gopclntab, 1.18+ layout) and the type descriptor (runtime._type /
 * internal/abi.Type: str at +40 on amd64). */
#define MT_GO_MIN_MINOR 18
#define MT_GO_MAX_MINOR 23

struct mt_go_info {
	bool is_go;             /* build info, a Go function table or Go runtime symbols */
	char version[64];       /* "go1.19.8"; "" when the binary does not say */
	int major, minor, patch;  /* parsed from version; -1 when unknown */
	bool regabi;            /* Go 1.17+: arguments in registers (mallocgc's size in RAX) */
	bool known;             /* a release whose layouts memtrace knows (see above) */
	char why[160];          /* !known: why, one line for the user */
	bool pie;               /* ET_DYN: load bias applies */
	bool has_symtab;        /* .symtab present (not built with -s) */
	bool cgo;               /* links the C library (DT_NEEDED libc.so.*): cgo */
	uint64_t pclntab_vaddr; /* the function table: 0 if not found */
	uint64_t pclntab_size;
};

/* Inspect the ELF file at path. 0 with gi filled (gi->is_go false for a
 * program that is not Go), or -errno when the file cannot be read as ELF
 * (printed). Cost: one pass over the section headers, a read of the
 * build-info section. */
int mt_go_detect(const char *path, struct mt_go_info *gi);

/* Parse "go1.21.3", "go1.22rc1", "devel go1.23-abcdef": 0 with major and
 * minor set (patch 0 when absent), -EINVAL otherwise. */
int mt_go_parse_version(const char *v, int *major, int *minor, int *patch);

#endif /* MT_GO_DETECT_H */
