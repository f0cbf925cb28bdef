/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go's own function table, .gopclntab: function names, entry points and
 * file:line for any PC, the table the runtime itself uses for tracebacks,
 * so it survives `-ldflags=-s -w` (no .symtab, no DWARF). The 1.18 layout
 * (magic 0xfffffff0) and the 1.20 one (0xfffffff1, same header; _func
 * gained startLine) are read; older tables are refused by magic.
 */
#ifndef MT_GO_PCLNTAB_H
#define MT_GO_PCLNTAB_H

#include <stdbool.h>
#include <stdint.h>

struct mt_go_elf;
struct mt_go_pcln;

#define MT_GO_PCLN_118 0xfffffff0u
#define MT_GO_PCLN_120 0xfffffff1u

bool mt_go_pcln_magic_known(uint32_t magic);

/* Where the table is: the .gopclntab section (.data.rel.ro.gopclntab in
 * a PIE), or the header found by its magic and shape in a read-only data
 * section. 0 with *vaddr and *size (to the section's end), -ENOENT. */
int mt_go_pcln_find(const struct mt_go_elf *e, uint64_t *vaddr, uint64_t *size);

/* Read the table of the Go binary at path into memory. 0, -ENOENT (not
 * found), -ENOTSUP (a format not listed above), -EINVAL (malformed) or
 * another -errno; printed with the path. */
int mt_go_pcln_open(const char *path, struct mt_go_pcln **out);
void mt_go_pcln_free(struct mt_go_pcln *p);

/* The function containing link-time address pc: its name (owned by p) and
 * entry; *file and *line from the PC tables when asked (NULL / 0 when the
 * table has none). NULL when pc is in no Go function. Cost: a binary
 * search over the functions, a linear decode of two PC tables. */
const char *mt_go_pcln_lookup(const struct mt_go_pcln *p, uint64_t pc, uint64_t *entry,
			      const char **file, int *line);

/* A function by name (the first one): 0 with its link-time entry and end,
 * -ENOENT. Linear in the number of functions. */
int mt_go_pcln_func(const struct mt_go_pcln *p, const char *name, uint64_t *entry, uint64_t *end);

/* The PC ranges of the function entered at link-time entry where its
 * stack pointer is back at the entry's (the pcsp table says 0), past
 * the prologue: its returns, and the call of morestack at its end. At
 * most max into ranges; the count, -ENOENT (no such function), -E2BIG
 * or -EINVAL. */
int mt_go_pcln_sp_zero(const struct mt_go_pcln *p, uint64_t entry, uint64_t (*ranges)[2],
		       size_t max);

/* The RET instructions of the function entered at entry (link-time
 * addresses into at, at most max): the pcsp ranges above that hold only a
 * RET (0xc3) after NOPs; the morestack call's range is told apart by its
 * bytes. The count, -E2BIG (more than max: use none), or -errno. */
int mt_go_pcln_rets(const struct mt_go_pcln *p, const struct mt_go_elf *e, uint64_t entry,
		    uint64_t *at, size_t max);

/* Number of functions, the table's magic. */
uint64_t mt_go_pcln_nfunc(const struct mt_go_pcln *p);
uint32_t mt_go_pcln_magic(const struct mt_go_pcln *p);

#endif /* MT_GO_PCLNTAB_H */
