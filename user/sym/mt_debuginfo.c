// SPDX-License-Identifier: BSD-2-Clause
/*
 * Local separate-debuginfo search; the order and the checks are gdb's
 * (see mt_debuginfo.h). Cost: a handful of open() calls per module, and a
 * CRC over the candidate only for modules without a build-id.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sym/mt_debuginfo.h"

#define MT_DEBUG_DIR "/usr/lib/debug"

const char *mt_sym_src_name(enum mt_sym_src src)
{
	switch (src) {
	case MT_SYM_SRC_SYMTAB: return "symtab";
	case MT_SYM_SRC_MINIDEBUGINFO: return "minidebuginfo";
	case MT_SYM_SRC_DEBUGLINK: return "debuglink";
	case MT_SYM_SRC_BUILD_ID: return "build-id";
	case MT_SYM_SRC_DEBUGINFOD: return "debuginfod";
	default: return "none";
	}
}

void mt_debuginfo_hex(const unsigned char *id, size_t len, char *buf)
{
	for (size_t i = 0; i < len; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
	buf[2 * len] = '\0';
}

/* The .gnu_debuglink CRC is zlib's CRC-32 of the whole file. */
static bool mt_debuginfo_crc_ok(int fd, uint32_t want)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;
	off_t off = 0;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	return n == 0 && (uint32_t)crc == want;
}

/* fd's file belongs to the module q describes. */
static bool mt_debuginfo_matches(const struct mt_debuginfo_req *q, int fd, bool by_link)
{
	const void *id = NULL;
	ssize_t idlen = -1;
	struct stat st;
	Elf *elf;
	bool ok = false;

	if (fstat(fd, &st) || (st.st_dev == q->dev && st.st_ino == q->ino))
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	idlen = dwelf_elf_gnu_build_id(elf, &id);
	if (q->build_id_len && idlen > 0)
		ok = (size_t)idlen == q->build_id_len && !memcmp(id, q->build_id, q->build_id_len);
	else if (by_link)
		ok = mt_debuginfo_crc_ok(fd, q->crc);
out:
	if (elf)
		elf_end(elf);
	return ok;
}

/* Try prefix + path; on a match return its fd and set *found. */
static int mt_debuginfo_try(const struct mt_debuginfo_req *q, const char *prefix,
			    const char *path, bool by_link, char **found)
{
	char *p;
	int fd;

	if (asprintf(&p, "%s%s", prefix, path) < 0)
		return -ENOMEM;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && mt_debuginfo_matches(q, fd, by_link)) {
		*found = p;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return -ENOENT;
}

static int mt_debuginfo_by_id(const struct mt_debuginfo_req *q, const char *root, char **found)
{
	char hex[2 * 64 + 1], rel[sizeof(hex) + 64];

	if (!q->build_id_len || q->build_id_len > 64)
		return -ENOENT;
	mt_debuginfo_hex(q->build_id, q->build_id_len, hex);
	snprintf(rel, sizeof(rel), MT_DEBUG_DIR "/.build-id/%.2s/%s.debug", hex, hex + 2);
	return mt_debuginfo_try(q, root, rel, false, found);
}

static int mt_debuginfo_by_link(const struct mt_debuginfo_req *q, const char *root, char **found)
{
	const char *slash = strrchr(q->path, '/');
	int dirlen = slash ? (int)(slash - q->path) : 0;
	char *rel[3] = { NULL, NULL, NULL };
	int fd = -ENOENT;

	if (!q->debuglink || !q->debuglink[0] || strchr(q->debuglink, '/'))
		return -ENOENT;
	if (asprintf(&rel[0], "%.*s/%s", dirlen, q->path, q->debuglink) < 0 ||
	    asprintf(&rel[1], "%.*s/.debug/%s", dirlen, q->path, q->debuglink) < 0 ||
	    asprintf(&rel[2], MT_DEBUG_DIR "%.*s/%s", dirlen, q->path, q->debuglink) < 0) {
		fd = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < 3 && fd == -ENOENT; i++)
		fd = mt_debuginfo_try(q, root, rel[i], true, found);
out:
	for (int i = 0; i < 3; i++)
		free(rel[i]);
	return fd;
}

int mt_debuginfo_find(const struct mt_debuginfo_req *q, char **path, enum mt_sym_src *src)
{
	const char *roots[2] = { q->root, "" };
	int nroots = q->host_too && q->root[0] ? 2 : 1, fd;

	/* build-id first, in every root: it cannot name the wrong file */
	for (int i = 0; i < nroots; i++) {
		fd = mt_debuginfo_by_id(q, roots[i], path);
		if (fd != -ENOENT) {
			*src = MT_SYM_SRC_BUILD_ID;
			return fd;
		}
	}
	for (int i = 0; i < nroots; i++) {
		fd = mt_debuginfo_by_link(q, roots[i], path);
		if (fd != -ENOENT) {
			*src = MT_SYM_SRC_DEBUGLINK;
			return fd;
		}
	}
	return -ENOENT;
}

int mt_debuginfo_find_alt(const char *root, int host_too, const char *debug_path,
			  const char *alt, char **path)
{
	char *p = NULL;
	int fd = -ENOENT;

	if (!alt || !alt[0])
		return -ENOENT;
	if (alt[0] == '/') {
		/* in the target's root first: the path is its view */
		if (asprintf(&p, "%s%s", root, alt) < 0)
			p = NULL;
		fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0 && host_too && root[0]) {
			free(p);
			p = strdup(alt);
			fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		}
	} else {
		const char *slash = strrchr(debug_path, '/');
		int dirlen = slash ? (int)(slash - debug_path) : 0;

		if (asprintf(&p, "%.*s/%s", dirlen, debug_path, alt) < 0)
			p = NULL;
		fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	}
	if (fd < 0) {
		free(p);
		return -ENOENT;
	}
	*path = p;
	return fd;
}
