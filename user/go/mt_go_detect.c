// SPDX-License-Identifier: BSD-2-Clause
/*
 * Go detection (see mt_go_detect.h). The version comes from .go.buildinfo,
 * the section the go command writes for `go version -m`: since Go 1.18 the
 * version string is inline after a 32-byte header (flag bit 2), before
 * that the header holds pointers to a Go string. Without the section the
 * symbol runtime.buildVersion (a Go string) is tried; without both the
 * version is unknown and said to be.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>

#include "go/mt_go_detect.h"
#include "go/mt_go_elf.h"
#include "go/mt_go_pclntab.h"

#define BUILDINFO_MAGIC "\xff Go buildinf:"

int mt_go_parse_version(const char *v, int *major, int *minor, int *patch)
{
	const char *p = strstr(v, "go1.");
	char *end;
	long mi, pa = 0;

	if (!p)
		return -EINVAL;
	mi = strtol(p + 4, &end, 10);
	if (end == p + 4 || mi < 0 || mi > 1000)
		return -EINVAL;
	if (*end == '.' && end[1] >= '0' && end[1] <= '9')
		pa = strtol(end + 1, NULL, 10);
	*major = 1;
	*minor = (int)mi;
	*patch = (int)pa;
	return 0;
}

/* A Go string header {ptr, len} at vaddr, into buf. */
static int read_gostring(const struct mt_go_elf *e, uint64_t vaddr, char *buf, size_t size)
{
	uint64_t hdr[2];

	if (mt_go_elf_read(e, vaddr, hdr, sizeof(hdr)) || hdr[1] == 0 || hdr[1] >= size)
		return -EINVAL;
	if (mt_go_elf_read(e, hdr[0], buf, hdr[1]))
		return -EINVAL;
	buf[hdr[1]] = 0;
	return 0;
}

static uint64_t uvarint(const uint8_t *p, size_t n, size_t *used)
{
	uint64_t v = 0;
	unsigned shift = 0;
	size_t i;

	for (i = 0; i < n && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if (!(p[i] & 0x80)) {
			*used = i + 1;
			return v;
		}
	}
	*used = 0;
	return 0;
}

static void read_buildinfo(const struct mt_go_elf *e, const struct mt_go_sec *s, struct mt_go_info *gi)
{
	uint8_t h[32 + 10 + 64];
	size_t n = s->size < sizeof(h) ? s->size : sizeof(h), used;
	uint64_t len;

	if (n < 32 || mt_go_elf_read(e, s->addr, h, n) || memcmp(h, BUILDINFO_MAGIC, 14))
		return;
	if (h[15] & 2) {   /* 1.18+: inline, varint length then bytes */
		len = uvarint(h + 32, n - 32, &used);
		if (used && len < sizeof(gi->version) && 32 + used + len <= n) {
			memcpy(gi->version, h + 32 + used, len);
			gi->version[len] = 0;
		}
	} else if (h[14] == 8 && !(h[15] & 1)) {   /* older, little-endian 64-bit */
		uint64_t p;

		memcpy(&p, h + 16, 8);
		read_gostring(e, p, gi->version, sizeof(gi->version));
	}
}

/* Decide what memtrace can do with this Go, and say why not. */
static void judge(struct mt_go_info *gi, uint32_t pcln_magic)
{
	gi->regabi = gi->minor >= 17;
	if (gi->minor < 0) {
		snprintf(gi->why, sizeof(gi->why), "the binary does not say which Go built it");
		return;
	}
	if (!gi->regabi) {
		snprintf(gi->why, sizeof(gi->why),
			 "%s predates the register ABI (Go 1.17): mallocgc's arguments are on the stack",
			 gi->version);
		return;
	}
	if (gi->minor < MT_GO_MIN_MINOR || gi->minor > MT_GO_MAX_MINOR) {
		snprintf(gi->why, sizeof(gi->why),
			 "%s: memtrace knows the runtime layouts of Go 1.%d to 1.%d only", gi->version,
			 MT_GO_MIN_MINOR, MT_GO_MAX_MINOR);
		return;
	}
	if (!pcln_magic) {
		snprintf(gi->why, sizeof(gi->why), "no Go function table (.gopclntab) found");
		return;
	}
	if (!mt_go_pcln_magic_known(pcln_magic)) {
		snprintf(gi->why, sizeof(gi->why), "unknown function table format 0x%08x", pcln_magic);
		return;
	}
	gi->known = true;
}

int mt_go_detect(const char *path, struct mt_go_info *gi)
{
	struct mt_go_elf e;
	const struct mt_go_sec *bi;
	uint64_t v, sz;
	uint32_t magic = 0;
	int err;

	memset(gi, 0, sizeof(*gi));
	gi->major = gi->minor = gi->patch = -1;
	err = mt_go_elf_open(path, &e);
	if (err)
		return err;
	gi->pie = e.etype == ET_DYN;
	gi->has_symtab = e.has_symtab;
	bi = mt_go_elf_sec(&e, ".go.buildinfo");
	if (bi)
		read_buildinfo(&e, bi, gi);
	if (!gi->version[0] && !mt_go_elf_sym(&e, "runtime.buildVersion", &v, NULL))
		read_gostring(&e, v, gi->version, sizeof(gi->version));
	if (!mt_go_pcln_find(&e, &gi->pclntab_vaddr, &gi->pclntab_size))
		mt_go_elf_read(&e, gi->pclntab_vaddr, &magic, sizeof(magic));
	gi->is_go = bi || gi->version[0] || magic || mt_go_elf_sec(&e, ".note.go.buildid") ||
		    !mt_go_elf_sym(&e, "runtime.mallocgc", &v, &sz);
	/* a Go program that links libc uses cgo (pure Go needs none, even
	 * as a PIE with an interpreter) */
	gi->cgo = e.needs_libc;
	if (gi->is_go) {
		if (gi->version[0])
			mt_go_parse_version(gi->version, &gi->major, &gi->minor, &gi->patch);
		judge(gi, magic);
	}
	mt_go_elf_close(&e);
	return 0;
}
