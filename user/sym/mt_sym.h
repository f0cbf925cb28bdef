/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbolizer: turns return addresses of a target process into function,
 * module, and file:line (where DWARF exists), with elfutils libdw.
 * It opens each executable mapping's file while the target lives (through
 * /proc/PID/root, or /proc/PID/map_files for deleted files) and keeps the
 * descriptors, so stacks still symbolize after the target exits. Results are
 * cached per address. Not thread-safe.
 *
 * Names come from, best first: separate debug info found on disk the way
 * gdb finds it (build-id path, then .gnu_debuglink; sym/mt_debuginfo.h),
 * searched when the module is added; a debuginfod server when
 * $DEBUGINFOD_URLS is set, asked in the background (sym/mt_debuginfod.h);
 * the module's MiniDebugInfo (.gnu_debugdata, read by libdwfl); its own
 * .symtab, or in stripped files .dynsym (hidden and static functions then
 * resolve to nothing, or to a neighbour when the table has unsized
 * symbols). mt_sym_module_get says which one each module got. C++ and Rust
 * names are demangled (sym/mt_demangle.h); with DWARF, functions inlined
 * at an address are frames of their own (mt_sym_resolve_chain).
 *
 * Limitations: [vdso] and anonymous executable memory (JIT code) have no
 * module; file:line needs DWARF. A mapping that replaced one seen earlier
 * wins; earlier addresses of an unmapped library still resolve. The
 * deleted-file fallback, /proc/PID/map_files, needs CAP_SYS_ADMIN.
 */
#ifndef MT_SYM_H
#define MT_SYM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "sym/mt_debuginfo.h"

struct mt_sym;

struct mt_frame {
	uint64_t addr;
	const char *func;    /* function name, demangled; NULL when unknown; owned by mt_sym */
	const char *symbol;  /* the name as the symbol table has it (mangled) */
	uint64_t func_off;   /* addr - symbol start, when func != NULL and !inlined */
	bool inlined;        /* a function inlined at addr, not a real frame */
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

#define MT_SYM_MAX_INLINE 16  /* inlined frames kept per address */

/* All frames of addr, innermost first: the functions inlined at addr
 * (inlined = true, each with the file:line it is at), then the function
 * that holds addr, whose line is where the outermost inlined one was
 * called; that last frame is what mt_sym_resolve returns. Copies at most
 * max frames (the innermost are dropped first; the real frame is always
 * out[n-1]) and returns their number (>= 1), or -errno; names as above. */
int mt_sym_resolve_chain(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_frame *out, unsigned max);

/* One module (a file mapped executable), and how it is named. */
struct mt_sym_module {
	const char *path;        /* as the target sees it */
	const char *build_id;    /* hex, NULL when the file has none */
	enum mt_sym_src symbols; /* where its names come from */
	bool lines;              /* DWARF line information found */
	const char *debug_file;  /* the separate debug file used, NULL if none */
	/* debuginfod: NULL when not asked (not enabled, or not needed),
	 * "pending", "found", "not found", or "error: ..." */
	const char *debuginfod;
};

size_t mt_sym_nmodules(const struct mt_sym *s);
/* Modules whose DWARF was loaded (on first use: a frame asking for a line
 * or an inlined function); accepts NULL. */
size_t mt_sym_dwarf_loaded(const struct mt_sym *s);
/* Module i < mt_sym_nmodules; strings valid until mt_sym_free. The same
 * path can appear twice when it was mapped again at another address. */
void mt_sym_module_get(const struct mt_sym *s, size_t i, struct mt_sym_module *out);

/* Wait up to timeout_ms for debuginfod lookups still running and take in
 * what arrived. Returns how many modules are still waiting (0 when
 * debuginfod is not enabled). */
size_t mt_sym_debuginfod_wait(struct mt_sym *s, unsigned timeout_ms);

#endif /* MT_SYM_H */
