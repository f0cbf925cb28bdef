// SPDX-License-Identifier: BSD-2-Clause
/*
 * One file's DWARF through libdwfl's offline reporting, with the
 * symbolizer's lookup callbacks (build-id, debuglink, debuginfod).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>
#include "util/mt_log.h"
#include "sym/mt_dwarf.h"

static char *debuginfo_path;  /* NULL: libdwfl's default search path */

static const Dwfl_Callbacks mt_dwarf_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

int mt_dwarf_open(const char *path, struct mt_dwarf *d)
{
	int fd, err = 0;

	memset(d, 0, sizeof(*d));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mt_err("cannot open '%s': %s", path, strerror(errno));
		return err;
	}
	d->dwfl = dwfl_begin(&mt_dwarf_callbacks);
	if (!d->dwfl) {
		close(fd);
		mt_err("cannot read '%s': %s", path, dwfl_errmsg(-1));
		return -ENOMEM;
	}
	dwfl_report_begin(d->dwfl);
	/* libdwfl owns fd from here, closed by dwfl_end. */
	d->mod = dwfl_report_offline(d->dwfl, path, path, fd);
	dwfl_report_end(d->dwfl, NULL, NULL);
	if (!d->mod) {
		mt_err("cannot read '%s': %s", path, dwfl_errmsg(-1));
		err = -EINVAL;
		goto out;
	}
	d->dw = dwfl_module_getdwarf(d->mod, &d->bias);
	if (!d->dw) {
		mt_err("no debug info for '%s' (in the file, by build-id or debuglink): %s",
		       path, dwfl_errmsg(-1));
		err = -ENOENT;
	}
out:
	if (err)
		mt_dwarf_close(d);
	return err;
}

void mt_dwarf_close(struct mt_dwarf *d)
{
	if (d->dwfl)
		dwfl_end(d->dwfl);
	memset(d, 0, sizeof(*d));
}

int mt_dwarf_off_to_addr(const struct mt_dwarf *d, uint64_t off, uint64_t *addr)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(d->mod, &bias);
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*addr = off - ph.p_offset + ph.p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}
