/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The chain of functions inlined at an address, from a module's DWARF.
 * libdw's dwarf_getscopes does this too, but walks the whole compile unit
 * on every call (twice when the address is inlined): 50 us per address in
 * libc's malloc.c. Here each compile unit is walked once, into a sorted
 * table of its functions' address ranges; an address then costs a binary
 * search and a descent through one function's nested scopes.
 */
#ifndef MT_INLINE_H
#define MT_INLINE_H

#include <elfutils/libdw.h>

struct mt_inline_idx;   /* one per module (one Dwarf) */

struct mt_inline_idx *mt_inline_new(void);
void mt_inline_free(struct mt_inline_idx *x);   /* accepts NULL */

/* DW_TAG_inlined_subroutine DIEs containing pc (a DWARF address) in cu,
 * innermost first, at most max, into out. Returns their number (0: pc is
 * not inlined code), or -ENOMEM. */
int mt_inline_chain(struct mt_inline_idx *x, Dwarf_Die *cu, Dwarf_Addr pc,
		    Dwarf_Die *out, unsigned max);

#endif /* MT_INLINE_H */
