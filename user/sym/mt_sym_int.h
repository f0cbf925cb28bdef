/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the symbolizer: its state, shared by its three files.
 *   mt_sym.c        the target's mappings (regions), the address cache, the API
 *   mt_sym_mod.c    modules: opening a file, reporting it to libdwfl, where
 *                   its names come from (local debug files, debuginfod)
 *   mt_sym_frame.c  one address to frames: function table, demangled and
 *                   inlined names
 * Not part of the API: include only from user/sym/mt_sym*.c.
 */
#ifndef MT_SYM_INT_H
#define MT_SYM_INT_H

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sym/mt_sym.h"

#define MT_SYM_DELETED " (deleted)"
#define MT_SYM_CACHE_MIN 1024 /* entries; a power of two */

struct mt_debuginfod;
struct mt_inline_idx;

struct mt_sym_fn {
	uint64_t addr;   /* absolute, in the target's address space */
	uint64_t size;   /* 0: extends to the next function */
	const char *name; /* in the module's string table, owned by libdwfl */
};
struct mt_sym_mod {
	struct mt_sym *s;
	char *path;         /* as the target's maps show it, without " (deleted)" */
	char *file_name;    /* what libdwfl was given: /proc/PID/root + path */
	dev_t dev;          /* from maps, compared only with maps values */
	uint64_t ino;
	uint64_t bias;
	uint64_t low, high; /* address range libdwfl placed the module at */
	Dwfl_Module *dwmod; /* NULL: no symbols for this file */
	struct mt_sym_fn *fns;
	const char **dem;   /* demangled name per fns[] entry, built lazily */
	struct mt_inline_idx *inl;  /* inline chains, built per CU on use */
	size_t nfns;
	bool fns_built;
	/* naming */
	char build_id[2 * 64 + 1];
	bool has_symtab, has_debugdata;  /* sections of the file itself */
	dev_t file_dev;     /* stat of the opened file: never its own debug file */
	ino_t file_ino;
	enum mt_sym_src src, debug_src;
	bool has_dwarf;     /* the file itself has .debug_info */
	bool lines;         /* DWARF found (loaded or not yet) */
	bool dw_loaded;     /* DWARF loaded: on the first frame asking for it */
	char *debuglink;    /* the file's .gnu_debuglink name */
	GElf_Word debuglink_crc;
	char *debug_path;   /* separate debug file in use */
	int debug_fd;       /* debug file found at attach, for the callback; -1 */
	int alt_fd;         /* its dwz supplement, found at attach; -1 */
	char *alt_name;     /* the debug file's .gnu_debugaltlink */
	char *alt_path;
	/* debuginfod */
	int keep_fd;        /* the file again, to report it once more; -1 */
	int dinfod_fd;      /* the downloaded file, for the callback; -1 */
	char *dinfod_path;
	const char *dinfod_state;
	char dinfod_err[64];
};
struct mt_sym_region {
	uint64_t start, end, off;
	uint64_t ino;
	struct mt_sym_mod *mod;
};
struct mt_sym_cache_ent {
	bool used;
	int err;
	bool is_return;
	unsigned ninl;
	struct mt_frame *inl;  /* ninl inlined frames, innermost first */
	struct mt_frame f;     /* the real frame */
};
struct mt_sym {
	pid_t pid;
	int procfd;  /* /proc/PID: bound to this task, so a reused pid can't fool us */
	Dwfl *dwfl;
	struct mt_sym_mod **mods;
	size_t nmods, cap_mods;
	struct mt_sym_region *regions;
	size_t nregions, cap_regions;
	struct mt_sym_cache_ent *cache;
	size_t cache_cap, cache_used;
	char root[32];      /* /proc/PID/root */
	bool host_too;      /* the target has a root of its own: search both */
	struct mt_debuginfod *dinfod;
	Dwfl **xdwfl;       /* one per module re-reported with debuginfod's file */
	size_t nxdwfl;
	char **strs;
	size_t nstrs, cap_strs;
	struct mt_sym_cache_ent spare;  /* an answer the cache could not hold */
	size_t ndwarf;      /* modules whose DWARF was loaded */
};

/* libdwfl callbacks: every module is reported with an fd we opened;
 * separate debug info is found by mt_sym_find_debuginfo (mt_sym_mod.c). */
extern const Dwfl_Callbacks mt_sym_callbacks;

/* mt_sym.c */
void mt_sym_cache_clear(struct mt_sym *s);
const struct mt_sym_region *mt_sym_region_find(const struct mt_sym *s, uint64_t addr);

/* mt_sym_mod.c */
void mt_sym_mod_free(struct mt_sym_mod *m);
struct mt_sym_mod *mt_sym_mod_find(struct mt_sym *s, dev_t dev, const struct mt_sym_region *r,
				   const char *path);
int mt_sym_mod_create(struct mt_sym *s, const char *path, bool deleted, dev_t dev,
		      const struct mt_sym_region *r, struct mt_sym_mod **out);
/* m's DWARF, loaded on the first call that needs it: true when loaded. */
bool mt_sym_dwarf(struct mt_sym_mod *m);
/* Take in finished debuginfod lookups (cheap when there are none). */
void mt_sym_dinfod_take(struct mt_sym *s);

/* mt_sym_frame.c: fills e (its f, and inl/ninl); 0, -ENOENT (no name)
 * or -ENOMEM. */
int mt_sym_lookup(struct mt_sym *s, uint64_t addr, bool is_return, struct mt_sym_cache_ent *e);

#endif /* MT_SYM_INT_H */
