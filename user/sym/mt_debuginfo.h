/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding a module's separate debug information on disk, in gdb's order:
 *   1. build-id:  ROOT/usr/lib/debug/.build-id/xx/rest.debug
 *   2. .gnu_debuglink: DIR/LINK, DIR/.debug/LINK, ROOT/usr/lib/debug/DIR/LINK
 * where DIR is the module's folder as the target sees it, ROOT the
 * target's root (/proc/PID/root: containers keep their own debug files),
 * then the host's root when that differs. A candidate is taken only when
 * it belongs to the module: same build-id when both have one, else the
 * debuglink CRC. debuginfod is asked elsewhere (mt_debuginfod), never here:
 * this search only touches local files.
 */
#ifndef MT_DEBUGINFO_H
#define MT_DEBUGINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where a module's names come from, best last. */
enum mt_sym_src {
	MT_SYM_SRC_NONE,          /* no symbol table at all */
	MT_SYM_SRC_SYMTAB,        /* the module's own .symtab or .dynsym */
	MT_SYM_SRC_MINIDEBUGINFO, /* .gnu_debugdata (xz-compressed .symtab) */
	MT_SYM_SRC_DEBUGLINK,     /* separate file named by .gnu_debuglink */
	MT_SYM_SRC_BUILD_ID,      /* separate file under .build-id/ */
	MT_SYM_SRC_DEBUGINFOD,    /* separate file from a debuginfod server */
};

/* "none", "symtab", "minidebuginfo", "debuglink", "build-id", "debuginfod" */
const char *mt_sym_src_name(enum mt_sym_src src);

struct mt_debuginfo_req {
	const char *root;          /* "/proc/PID/root", or "" for the host */
	int host_too;              /* then also search the host's / */
	const char *path;          /* module path as the target sees it */
	const unsigned char *build_id;
	size_t build_id_len;       /* 0: no build-id */
	const char *debuglink;     /* NULL: no .gnu_debuglink */
	uint32_t crc;
	dev_t dev;                 /* the module file itself, never its own */
	ino_t ino;                 /* debug file (a debuglink to itself) */
};

/* Open the first matching file: fd >= 0, *path malloc'd, *src set; or
 * -ENOENT when none matches (-ENOMEM). */
int mt_debuginfo_find(const struct mt_debuginfo_req *q, char **path, enum mt_sym_src *src);

/* The dwz supplementary file (.gnu_debugaltlink) of debug file debug_path:
 * alt absolute (under ROOT, then the host) or relative to debug_path's
 * folder. fd or -ENOENT; *path malloc'd. */
int mt_debuginfo_find_alt(const char *root, int host_too, const char *debug_path,
			  const char *alt, char **path);

/* The hex string of a build-id, into buf (2 * len + 1 bytes). */
void mt_debuginfo_hex(const unsigned char *id, size_t len, char *buf);

#endif /* MT_DEBUGINFO_H */
