/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The DWARF of one object file, found the way the symbolizer (mt_sym)
 * finds it: in the file itself, else in separate debug info by the
 * symbolizer's search (mt_debuginfo.h: build-id under /usr/lib/debug/
 * .build-id, what Debian's -dbg and -dbgsym packages install, then
 * .gnu_debuglink in gdb's order), else by libdwfl's standard lookup,
 * which asks debuginfod when DEBUGINFOD_URLS is set.
 * For readers of types and scopes (memtrace layout); addresses are the
 * file's own (link-time) addresses plus the returned bias.
 */
#ifndef MT_DWARF_H
#define MT_DWARF_H

#include <stdint.h>
#include <elfutils/libdwfl.h>

struct mt_dwarf {
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf *dw;          /* owned by dwfl */
	Dwarf_Addr bias;    /* DWARF address = file address + bias */
	const char *debug_file;  /* the separate debug file read (owned by
				  * dwfl), NULL: the file's own DWARF */
	const char *debug_how;   /* how it was found: "build-id", "debuglink"
				  * (mt_sym_src_name), "libdwfl" (its standard
				  * lookup: debuginfod), NULL without one */
};

/* Open path's DWARF. 0, -ENOENT when the file has none and no separate
 * debug info was found (one line printed naming the file), or -errno. */
int mt_dwarf_open(const char *path, struct mt_dwarf *d);
void mt_dwarf_close(struct mt_dwarf *d);  /* accepts a zeroed d */

/* The link-time address of a file offset inside a PT_LOAD segment (what a
 * report's module_off is); 0 with *addr set, -ENOENT outside every one. */
int mt_dwarf_off_to_addr(const struct mt_dwarf *d, uint64_t off, uint64_t *addr);

#endif /* MT_DWARF_H */
