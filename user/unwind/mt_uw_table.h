/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unwind rows of one module, read from its CFI with libdw (.eh_frame, or
 * .debug_frame where that is all there is): for every address range, the
 * rule of bpf/unwind.h. libdw runs the CFI programs; this file only sorts
 * the resulting rules into rows and says which ones the BPF walker cannot
 * follow (MT_UW_NONE: the stack ends there, "no_cfi").
 */
#ifndef MT_UW_TABLE_H
#define MT_UW_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "unwind.h"

#define MT_UW_MAX_LOADS 8

enum mt_uw_src { MT_UW_SRC_NONE = 0, MT_UW_SRC_EH_FRAME, MT_UW_SRC_DEBUG_FRAME };

struct mt_uw_table {
	struct mt_uw_row *rows;   /* sorted by pc; malloc'd */
	uint32_t nrows;
	uint32_t nfde;            /* functions (FDEs) seen */
	uint32_t nfde_fp;         /* of which keep a frame pointer (CFA = rbp + 16) */
	uint32_t nrows_none;      /* rows the walker cannot follow */
	enum mt_uw_src src;
	bool fp;                  /* the module keeps frame pointers (most FDEs rbp-based) */
	uint64_t text_bytes;      /* executable PT_LOAD bytes */
	unsigned nloads;          /* PT_LOAD segments: module address <-> file offset */
	struct { uint64_t off, vaddr, filesz; } loads[MT_UW_MAX_LOADS];
};

/* Build the rows of the ELF file at path. A file without CFI is not an
 * error: src is MT_UW_SRC_NONE and nrows 0. Returns 0 or -errno. */
int mt_uw_table_build(const char *path, struct mt_uw_table *t);
void mt_uw_table_free(struct mt_uw_table *t);

/* Bias (address - module address) of a mapping of the file at file offset
 * off starting at start; 0 or -ENOENT when no segment holds off. */
int mt_uw_table_bias(const struct mt_uw_table *t, uint64_t start, uint64_t off, uint64_t *bias);

/* The row for module address pc (the last row at or below it), or NULL. */
const struct mt_uw_row *mt_uw_table_find(const struct mt_uw_table *t, uint64_t pc);

#endif /* MT_UW_TABLE_H */
