/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbolizer: turns return addresses of a target process into function,
 * module, and file:line (where DWARF exists), with elfutils libdw.
 * It opens each executable mapping's file while the target lives (through
 * /proc/PID/root, or /proc/PID/map_files for deleted files) and keeps the
 * descriptors, so stacks still symbolize after the target exits. Results are
 * cached per address. Not thread-safe.
 *
 * Limitations: [vdso] and anonymous executable memory (JIT code) have no
 * module; names are not demangled; function names come from .symtab or,
 * in stripped files, .dynsym (hidden and static functions then resolve to
 * nothing, or to a neighbour when the table has unsized symbols), unless
 * separate debuginfo is found (build-id or .gnu_debuglink, searched when the
 * module is added); file:line needs DWARF. A mapping that replaced one seen
 * earlier wins; earlier addresses of an unmapped library still resolve. The
 * deleted-file fallback, /proc/PID/map_files, needs CAP_SYS_ADMIN.
 */
#ifndef MT_SYM_H
#define MT_SYM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_sym;

struct mt_frame {
	uint64_t addr;
	const char *func;    /* symbol name, NULL when unknown; owned by mt_sym */
	uint64_t func_off;   /* addr - symbol start, when func != NULL */
	const char *module;  /* path of the mapped file as the target sees it, NULL if unmapped */
	uint64_t module_off; /* file offset of addr in module */
	const char *file;    /* source file, NULL without DWARF */
	int line;            /* 0 without DWARF */
};

/* Reads /proc/PID/maps and reports every executable file mapping.
 * Returns NULL with errno set on failure: ESRCH when pid does not exist or
 * has exited, EINVAL for pid <= 0, EACCES without ptrace access. */
struct mt_sym *mt_sym_new(pid_t pid);
void mt_sym_free(struct mt_sym *s);  /* accepts NULL */

/* Re-read /proc/PID/maps and add mappings not yet known (dlopen, or the
 * libraries the dynamic loader mapped since mt_sym_new). 0 or -errno; a
 * target that has exited gives -ESRCH and leaves what is known intact. */
int mt_sym_refresh(struct mt_sym *s);

/* Resolve addr. Return addresses point after the call, so their function
 * and line are looked up at addr - 1 (is_return = true). Always fills out
 * (unknown parts NULL/0); returns 0 when a function name was found, else
 * -ENOENT (or -ENOMEM, not cached). Strings stay valid until mt_sym_free. */
int mt_sym_resolve(struct mt_sym *s, uint64_t addr, bool is_return, struct mt_frame *out);

#endif /* MT_SYM_H */
